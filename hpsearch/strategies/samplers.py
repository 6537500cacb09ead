"""More Optuna samplers as strategies: CMA-ES, Gaussian-process BO and Sobol sequences.

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
