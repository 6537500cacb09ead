"""TPE through Optuna's TPESampler, driven by ask/tell in batches."""

from __future__ import annotations

import contextlib
import logging

import optuna
from optuna.trial import TrialState

from hpsearch.strategies.base import Strategy
from hpsearch.trial import COMPLETE, PRUNED, TrialResult

_STATES = {COMPLETE: TrialState.COMPLETE, PRUNED: TrialState.PRUNED}


@contextlib.contextmanager
def quiet_optuna():
    """Silence Optuna's per-trial INFO lines for the strategy's private study."""
    logger = logging.getLogger("optuna")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


class TPEStrategy(Strategy):
    """Optuna's Tree-structured Parzen Estimator.

    The sampler works on a private in-memory study that mirrors the results
    told to it. Trials asked but not yet told are "running" to the sampler,
    which with ``constant_liar`` (the default) keeps a batch of proposals
    apart. The same seed and the same sequence of ask/tell batches give the
    same proposals.

    Args:
        n_startup_trials: random proposals before TPE takes over.
        multivariate: model parameters jointly (Optuna's ``multivariate=True``).
    """

    name = "tpe"

    def __init__(self, space, *, seed=0, direction="minimize", n_startup_trials: int = 10,
                 multivariate: bool = True, constant_liar: bool = True):
        super().__init__(space, seed=seed, direction=direction)
        conditional = any(dim.when for dim in self.space.dimensions.values())
        with quiet_optuna(), _no_experimental_warnings():
            sampler = optuna.samplers.TPESampler(
                seed=self.seed, n_startup_trials=n_startup_trials, multivariate=multivariate,
                group=multivariate and conditional, constant_liar=constant_liar)
            self.study = optuna.create_study(direction=direction, sampler=sampler)
        self.pending: dict[int, optuna.Trial] = {}

    def _propose(self, slot: int) -> dict:
        with quiet_optuna(), _no_experimental_warnings():
            trial = self.study.ask()
            params = self.space.suggest(trial)
        self.pending[slot] = trial
        return params

    def _observe(self, result: TrialResult) -> None:
        state = _STATES.get(result.state, TrialState.FAIL)
        value = result.value if state == TrialState.COMPLETE else None
        with quiet_optuna():
            trial = self.pending.pop(result.slot, None)
            if trial is not None:
                self.study.tell(trial, value, state=state)
                return
            self.study.add_trial(optuna.trial.create_trial(
                params=self.space.encode(result.params),
                distributions=self.space.distributions(result.params),
                value=value, state=state))


@contextlib.contextmanager
def _no_experimental_warnings():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        yield
