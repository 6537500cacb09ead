"""Any Optuna sampler as a strategy: the base of the Optuna-backed strategies.

The sampler works on a private in-memory study that mirrors the results told
to it. Trials asked but not yet told are "running" to the sampler. A subclass
only builds its sampler (``make_sampler``); asking, telling and replaying
results from an earlier run of the study are done here, so a new Optuna
sampler is a few lines.
"""

from __future__ import annotations

import contextlib
import logging
import warnings

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


@contextlib.contextmanager
def no_experimental_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        yield


class OptunaSamplerStrategy(Strategy):
    """Proposals of an Optuna sampler, asked and told in batches (``batched``)."""

    name = "optuna-sampler"
    batched = True
    multi_objective = True  # subclasses whose sampler cannot say False

    def __init__(self, space, *, seed=0, direction="minimize", **sampler_options):
        super().__init__(space, seed=seed, direction=direction)
        with quiet_optuna(), no_experimental_warnings():
            sampler = self.make_sampler(**sampler_options)
            self.study = optuna.create_study(directions=list(self.directions), sampler=sampler)
        self.pending: dict[int, optuna.Trial] = {}

    def make_sampler(self, **options) -> optuna.samplers.BaseSampler:
        """The sampler, seeded from ``self.seed``; subclasses define their options."""
        raise NotImplementedError

    def _propose(self, slot: int) -> dict:
        with quiet_optuna(), no_experimental_warnings():
            trial = self.study.ask()
            params = self.space.suggest(trial)
        self.pending[slot] = trial
        return params

    def _observe(self, result: TrialResult) -> None:
        state = _STATES.get(result.state, TrialState.FAIL)
        values = result.objective_values if state == TrialState.COMPLETE else None
        with quiet_optuna(), no_experimental_warnings():
            trial = self.pending.pop(result.slot, None)
            if trial is not None:
                self.study.tell(trial, values, state=state)
                return
            add_result(self.study, self.space, result.params, values, state)


def add_result(study: optuna.Study, space, params: dict, values, state=TrialState.COMPLETE) -> None:
    """Add a finished trial that the sampler did not propose (an earlier run's, or
    one modeled afresh) to ``study``, with its parameters encoded for ``space``."""
    study.add_trial(optuna.trial.create_trial(
        params=space.encode(params), distributions=space.distributions(params),
        values=values, state=state))
