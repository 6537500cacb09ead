"""More Optuna samplers as strategies: CMA-ES, Gaussian-process BO, Sobol sequences, NSGA-II.

Each is its sampler and nothing else; ``OptunaSamplerStrategy`` does the
asking, telling and replaying. Parameters a sampler cannot model (CMA-ES and
QMC: choices and conditional parameters) are drawn by Optuna's independent
sampler, seeded like the rest.
"""

from __future__ import annotations

import importlib.util

import optuna

from hpsearch.strategies.optuna_sampler import OptunaSamplerStrategy


def _require(module: str, extra: str, strategy: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise ValueError(f"strategy {strategy!r} needs {module}: pip install 'hpsearch[{extra}]'")


class CmaEsStrategy(OptunaSamplerStrategy):
    """Optuna's CMA-ES sampler (needs the ``cmaes`` package: the ``cmaes`` extra).

    Args:
        n_startup_trials: independent proposals before CMA-ES starts.
        sigma0: initial step size (default: a sixth of each range).
    """

    name = "cmaes"
    multi_objective = False  # Optuna's CmaEsSampler optimises one objective

    def make_sampler(self, n_startup_trials: int = 1, sigma0: float | None = None):
        _require("cmaes", "cmaes", self.name)
        return optuna.samplers.CmaEsSampler(seed=self.seed, n_startup_trials=n_startup_trials,
                                            sigma0=sigma0, warn_independent_sampling=False)


class GPStrategy(OptunaSamplerStrategy):
    """Optuna's Gaussian-process Bayesian optimization (needs PyTorch: the ``gp`` extra).

    Args:
        n_startup_trials: random proposals before the GP model takes over.
    """

    name = "gp"

    def make_sampler(self, n_startup_trials: int = 10):
        _require("torch", "gp", self.name)
        return optuna.samplers.GPSampler(seed=self.seed, n_startup_trials=n_startup_trials)


class QMCStrategy(OptunaSamplerStrategy):
    """Quasi-random (scrambled Sobol) proposals: a space-filling random search.

    Args:
        qmc_type: ``"sobol"`` (default), ``"halton"`` or another scipy QMC engine name.
    """

    name = "qmc"
    batched = False  # it learns nothing from results

    def make_sampler(self, qmc_type: str = "sobol", scramble: bool = True):
        return optuna.samplers.QMCSampler(qmc_type=qmc_type, scramble=scramble, seed=self.seed,
                                          warn_independent_sampling=False,
                                          warn_asynchronous_seeding=False)


class NSGA2Strategy(OptunaSamplerStrategy):
    """Optuna's NSGA-II genetic algorithm, made for several objectives (it also takes one).

    Each generation of ``population_size`` trials is bred from the Pareto ranks
    and crowding distances of the trials before it; the first generation is random.
    A resumed study starts again from a random generation: the told history has
    no generation numbers.

    Args:
        population_size: trials per generation (>= 2).
        mutation_prob: probability of mutating each parameter (default 1 / number of parameters).
        crossover_prob: probability that a child is a crossover of two parents.
        swapping_prob: probability of taking each parameter from the other parent.
    """

    name = "nsga2"

    def make_sampler(self, population_size: int = 50, mutation_prob: float | None = None,
                     crossover_prob: float = 0.9, swapping_prob: float = 0.5):
        return optuna.samplers.NSGAIISampler(
            seed=self.seed, population_size=population_size, mutation_prob=mutation_prob,
            crossover_prob=crossover_prob, swapping_prob=swapping_prob)
