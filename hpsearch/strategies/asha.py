"""ASHA and BOHB: multi-fidelity search whose promoted configurations resume training.

Rungs sit at ``min_epochs * eta**k`` epochs, capped at the study's ``epochs``
(the top rung). Each trial of the study is one *job*: it trains one
configuration from one rung to the next. A job that ends below the top rung
pauses its training (``netcore.fit(pause_after=...)``) and saves the state in
the study's ``checkpoints/`` folder; when the configuration is promoted, the
next job continues that state (weights, optimizer, random generators,
History, early stopping) and trains only the extra epochs, bit-identically to
an uninterrupted training. The study's ``n_trials`` counts jobs.

Promotion is asynchronous (Li et al. 2020; Syne Tune's ``type="promotion"``):
whenever a job is asked for, the best configuration not yet promoted from the
highest rung where it ranks in the top ``1/eta`` of that rung's results is
promoted; if there is none, a new configuration starts at rung 0 (random for
"asha", TPE for "bohb"). Decisions therefore depend on the order in which jobs
finish: with ``n_jobs=1`` a seed gives the same search, with more workers it
may not.

A job's value is the trial value of any study: the metric's best epoch so
far, over all the configuration's epochs up to its rung. Early stopping
(``patience``) runs across the jobs of a configuration (its state is in the
checkpoint); a job that stops early is final: its configuration is not
promoted again. A failed job ends its configuration too.

With ``max_configs`` the search starts at most that many configurations,
then only promotes, and ends (the strategy is exhausted) when nothing is left
to promote: every configuration got as far as successive halving takes it.

Each promotion happens once, whatever the drivers sharing the study and
whenever they die. A promotion is claimed by the job that trains it: its trial
record, created under the storage lock with its fidelity (configuration, rung),
is the claim, and a re-queued job re-runs the same claim. Before every ask the
run loop tells the strategy the finished jobs (``tell``) and holds the claimed
ones that are not finished (``hold``: running in any driver, or re-queued), so
a configuration counts as started and a promotion as taken from the moment its
job is recorded, not when it finishes.

The checkpoint a job continued is deleted once that job is recorded and no other
job that continues it is still running or queued; a top-rung job saves none.
Checkpoints of configurations never promoted stay until the study is deleted: a
later run of the study may still promote them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import optuna

from hpsearch.metrics import sign
from hpsearch.strategies.base import Strategy
from hpsearch.strategies.optuna_sampler import add_result, no_experimental_warnings, quiet_optuna
from hpsearch.strategies.tpe import tpe_sampler
from hpsearch.trial import COMPLETE, Fidelity, TrialResult, slot_rng
from netcore.validation import check_int


def rung_epochs(min_epochs: int, eta: int, epochs: int) -> list[int]:
    """The epochs at which the rungs end: ``min_epochs * eta**k`` below ``epochs``, then ``epochs``.

    Raises:
        ValueError: for ``min_epochs`` < 1 or > ``epochs``, or ``eta`` < 2.

    >>> rung_epochs(1, 3, 27)
    [1, 3, 9, 27]
    >>> rung_epochs(2, 3, 20)
    [2, 6, 18, 20]
    """
    min_epochs = check_int(min_epochs, "min_epochs", minimum=1)
    eta = check_int(eta, "eta", minimum=2)
    if min_epochs > epochs:
        raise ValueError(f"min_epochs must be <= the study's epochs ({epochs}), got {min_epochs}")
    rungs, epoch = [], min_epochs
    while epoch < epochs:
        rungs.append(epoch)
        epoch *= eta
    return [*rungs, epochs]


class _Job(NamedTuple):
    config_id: int
    rung: int
    resume_from: int | None


@dataclass
class _Config:
    params: dict
    paused: dict[int, int] = field(default_factory=dict)  # rung -> slot of the job paused there
    promoted: set[int] = field(default_factory=set)  # rungs it was promoted from


class SuccessiveHalvingStrategy(Strategy):
    """Promotion-based asynchronous successive halving; subclasses propose new configurations.

    Args:
        min_epochs: the epochs of the first rung (default 1).
        eta: the reduction factor: a rung promotes its top ``1/eta`` and the next
            rung trains ``eta`` times as many epochs (default 3).
        max_configs: start at most this many configurations (default: no limit,
            the study's ``n_trials`` ends the search).
    """

    name = "successive-halving"
    multi_fidelity = True

    def __init__(self, space, *, seed=0, direction="minimize", min_epochs: int = 1, eta: int = 3,
                 max_configs: int | None = None):
        super().__init__(space, seed=seed, direction=direction)
        self.min_epochs = check_int(min_epochs, "min_epochs", minimum=1)
        self.eta = check_int(eta, "eta", minimum=2)
        self.max_configs = check_int(max_configs, "max_configs", minimum=1, optional=True)
        self.rungs: list[int] | None = None  # set by configure, from the study's epochs
        self.configs: dict[int, _Config] = {}
        self.results: dict[int, list[tuple[float, int]]] = {}  # rung -> (value, config id)
        self.jobs: dict[int, _Job] = {}

    @property
    def exhausted(self) -> bool:
        """True once ``max_configs`` configurations started and none is waiting for promotion
        (a job still running may make one promotable: the run loop asks again after it)."""
        return self.max_configs is not None and len(self.configs) >= self.max_configs \
            and self._promotion() is None

    def configure(self, objective):
        """Learn the study's ``epochs`` (the top rung); the space and objective stay as they are.

        Raises:
            ValueError: for a cross-validated metric, ``epochs`` set per trial, or
                ``min_epochs`` above the study's epochs.
        """
        if objective.cross_validated:
            raise ValueError(f"strategy {self.name!r} needs a holdout metric (val_*), "
                             f"got {objective.metric!r}")
        if "epochs" in objective.fixed or "epochs" in self.space.dimensions:
            raise ValueError(f"strategy {self.name!r} sets each job's epochs: remove 'epochs' "
                             "from the space and fixed settings (use the study's epochs)")
        self.rungs = rung_epochs(self.min_epochs, self.eta, objective.epochs)
        return self.space, objective

    def fidelity(self, slot: int) -> Fidelity:
        if self.rungs is None:
            raise RuntimeError(f"strategy {self.name!r}: configure(objective) sets the rungs first")
        job = self.jobs[slot]
        return Fidelity(job.config_id, self.rungs[job.rung], job.rung, job.resume_from)

    def _propose(self, slot: int) -> dict:
        promotion = self._promotion()
        if promotion is None:
            params = self._new_params(slot, len(self.configs))
            self.configs[slot] = _Config(dict(params))
            self.jobs[slot] = _Job(slot, 0, None)
            return params
        config_id, rung = promotion
        config = self.configs[config_id]
        config.promoted.add(rung)
        self.jobs[slot] = _Job(config_id, rung + 1, config.paused[rung])
        return dict(config.params)

    def _promotion(self) -> tuple[int, int] | None:
        """(config id, rung) of the configuration to promote, or None."""
        for rung in sorted(self.results, reverse=True):
            for _, config_id in self._top(rung):
                config = self.configs[config_id]
                if rung in config.paused and rung not in config.promoted:
                    return config_id, rung
        return None

    def _top(self, rung: int) -> list[tuple[float, int]]:
        """The top ``1/eta`` of a rung's results, best first (ties: the older configuration)."""
        better = sign(self.direction)
        ranked = sorted(self.results[rung], key=lambda r: (better * r[0], r[1]))
        return ranked[:len(ranked) // self.eta]

    def hold(self, jobs: Sequence[tuple[Fidelity, dict]]) -> None:
        """Count the configurations of running or re-queued jobs as started and their
        promotions as taken (they may run in another driver, or be re-run later)."""
        for fidelity, params in jobs:
            self._claim(fidelity.config_id, fidelity.rung, params)

    def _claim(self, config_id: int, rung: int, params: dict) -> _Config:
        """The configuration of a job at ``rung``, which took its promotion to that rung."""
        config = self.configs.setdefault(config_id, _Config(dict(params)))
        if rung > 0:
            config.promoted.add(rung - 1)
        return config

    def _observe(self, result: TrialResult) -> None:
        job = self._job_of(result)
        if job is None:  # not a job of this strategy (e.g. a trial added by hand)
            return
        config = self._claim(job.config_id, job.rung, result.params)
        if result.state != COMPLETE or result.value is None or not math.isfinite(result.value):
            return
        self.results.setdefault(job.rung, []).append((float(result.value), job.config_id))
        if result.record.get("stop_reason") == "paused":
            config.paused[job.rung] = result.slot

    def _job_of(self, result: TrialResult) -> _Job | None:
        if result.fidelity is not None:
            f = result.fidelity
            return _Job(f.config_id, f.rung, f.resume_from)
        return self.jobs.get(result.slot)

    def _new_params(self, slot: int, index: int) -> dict:
        """The parameters of a new configuration: the ``index``-th (from 0) the search starts,
        proposed in ``slot``."""
        raise NotImplementedError


class AshaStrategy(SuccessiveHalvingStrategy):
    """ASHA: new configurations are random draws.

    The ``k``-th configuration is random search's draw for slot ``k`` with the
    same seed: ASHA tries the configurations random search tries, in the same
    order, whatever slots its promotions take (a paired comparison), whatever
    drivers share the study or die: a configuration counts as started from the
    moment its first job is claimed.
    """

    name = "asha"

    def _new_params(self, slot: int, index: int) -> dict:
        return self.space.sample(slot_rng(self.seed, index))


class BohbStrategy(SuccessiveHalvingStrategy):
    """BOHB's proposals on ASHA's rungs: TPE fit on the highest rung with enough results.

    Each new configuration comes from an Optuna TPE sampler fit afresh on the
    results of the highest rung holding at least ``n_startup_trials`` of them
    (one value per configuration that reached it: results of different rungs
    are not mixed); before any rung has that many, from random draws.

    Args:
        n_startup_trials: results a rung needs before TPE models it (default 10).
    """

    name = "bohb"

    def __init__(self, space, *, seed=0, direction="minimize", min_epochs: int = 1, eta: int = 3,
                 max_configs: int | None = None, n_startup_trials: int = 10):
        super().__init__(space, seed=seed, direction=direction, min_epochs=min_epochs, eta=eta,
                         max_configs=max_configs)
        self.n_startup_trials = check_int(n_startup_trials, "n_startup_trials", minimum=1)

    def _new_params(self, slot: int, index: int) -> dict:
        modeled = [rung for rung, results in self.results.items()
                   if len(results) >= self.n_startup_trials]
        if not modeled:
            return self.space.sample(slot_rng(self.seed, index))
        seed = int(np.random.SeedSequence([self.seed, slot, 2]).generate_state(1)[0])
        with quiet_optuna(), no_experimental_warnings():
            sampler = tpe_sampler(self.space, seed=seed, n_startup_trials=self.n_startup_trials)
            study = optuna.create_study(direction=self.direction, sampler=sampler)
            for value, config_id in self.results[max(modeled)]:
                add_result(study, self.space, self.configs[config_id].params, [value])
            return self.space.suggest(study.ask())
