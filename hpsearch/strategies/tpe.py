"""TPE through Optuna's TPESampler, driven by ask/tell in batches."""

from __future__ import annotations

import optuna

from hpsearch.strategies.optuna_sampler import OptunaSamplerStrategy, quiet_optuna

__all__ = ["TPEStrategy", "quiet_optuna", "tpe_sampler"]


class TPEStrategy(OptunaSamplerStrategy):
    """Optuna's Tree-structured Parzen Estimator.

    With ``constant_liar`` (the default) the trials of a batch that are still
    running keep its proposals apart. The same seed and the same sequence of
    ask/tell batches give the same proposals.

    Args:
        n_startup_trials: random proposals before TPE takes over.
        multivariate: model parameters jointly (Optuna's ``multivariate=True``).
        constant_liar: treat running trials as bad results while proposing.
    """

    name = "tpe"

    def make_sampler(self, n_startup_trials: int = 10, multivariate: bool = True,
                     constant_liar: bool = True) -> optuna.samplers.BaseSampler:
        return tpe_sampler(self.space, seed=self.seed, n_startup_trials=n_startup_trials,
                           multivariate=multivariate, constant_liar=constant_liar)


def tpe_sampler(space, *, seed: int, n_startup_trials: int, multivariate: bool = True,
                constant_liar: bool = False) -> optuna.samplers.TPESampler:
    """Optuna's TPESampler as hpsearch uses it: a multivariate model groups the
    parameters of a conditional space (``when``) by the branches they live on."""
    conditional = any(dim.when for dim in space.dimensions.values())
    return optuna.samplers.TPESampler(
        seed=seed, n_startup_trials=n_startup_trials, multivariate=multivariate,
        group=multivariate and conditional, constant_liar=constant_liar)
