"""Population-based training (Jaderberg et al. 2017), asynchronous, on resumable jobs.

A population of ``population`` members trains in jobs of ``interval`` epochs
(the last one shorter when ``interval`` does not divide the study's
``epochs``). Each trial of the study is one job: it continues the member's
checkpoint (``netcore.fit(resume=...)``: weights, optimizer state, random
generators, History) and pauses again, saving its own. The study's
``n_trials`` counts jobs: a population trained to the end takes at most
``population * ceil(epochs / interval)`` of them (fewer after exploits that
skip ahead); the search ends when every member has reached ``epochs``, and
the epochs trained in all are at most ``population * epochs``.

Whenever a member's job has finished, its next job is decided against the
population's latest results, without waiting for a generation: the members
are ranked by the study's metric at the last epoch of their latest job; a
member in the bottom ``quantile`` *exploits* one of the top ``quantile`` that
has trained at least as many epochs (drawn at random): its next job continues
that member's latest checkpoint, from that member's epoch, with its
parameters, whose ``mutable`` hyperparameters it *explores*: each is resampled
from its dimension with ``resample_probability``, else multiplied by one of
the ``perturb`` factors (a choice moves to a neighbouring value). Any other
member continues its own checkpoint with its own parameters. A failed job (a
diverged learning rate) ends its member's own line: its next job exploits a
top member when one has a checkpoint; a member whose job stops early
(``patience``) or reaches ``epochs`` is done.

Each job is recorded with its fidelity (member, last epoch, generation, the
slot of the checkpoint it continues), created under the storage lock before it
trains: the member counts as busy from that moment, in every driver sharing
the study. A member's checkpoint stays until no job needs it: every job that
continues it has finished and the member has a later finished job (so no
exploit can choose it any more). ``hpsearch.results.pbt`` reads each member's
lineage back from these records.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from hpsearch.metrics import sign
from hpsearch.strategies.base import Strategy
from hpsearch.strategies.pbt_explore import check_perturb, explore, mutable_names
from hpsearch.trial import COMPLETE, Fidelity, TrialResult, slot_rng
from netcore.validation import check_int

PAUSED, FINAL, FAILED, PENDING = "paused", "final", "failed", "pending"


@dataclass
class _Job:
    member: int
    until: int
    generation: int
    resume_from: int | None
    params: dict
    state: str = PENDING
    score: float | None = None


class PBTStrategy(Strategy):
    """Asynchronous population-based training (see the module docstring).

    Args:
        population: the number of members (default 8).
        interval: the epochs of a job, between two exploit/explore decisions (default 2).
        quantile: the fraction of the ranked members that exploits (bottom) and is
            exploited (top), at most half (default 0.25).
        perturb: the factors a mutable hyperparameter is multiplied by (default [0.8, 1.2]).
        resample_probability: the chance that one is drawn afresh instead (default 0.25).
        mutable: the hyperparameters explored (default: those of the space that a resumed
            training may change: lr, momentum, l2, dropout, batch_size, ...).
    """

    name = "pbt"
    multi_fidelity = True
    # Decisions read the population's latest results: the run loop reads every trial
    # before a claim, also when no trial was added since the last one.
    fresh_view = True

    def __init__(self, space, *, seed=0, direction="minimize", population: int = 8,
                 interval: int = 2, quantile: float = 0.25, perturb: Sequence[float] = (0.8, 1.2),
                 resample_probability: float = 0.25, mutable: Sequence[str] | None = None):
        super().__init__(space, seed=seed, direction=direction)
        self.population = check_int(population, "population", minimum=2)
        self.interval = check_int(interval, "interval", minimum=1)
        if isinstance(quantile, bool) or not isinstance(quantile, int | float) \
                or not 0 < quantile <= 0.5:
            raise ValueError(f"quantile must be a number in (0, 0.5], got {quantile!r}")
        self.quantile = float(quantile)
        self.perturb, self.resample_probability = check_perturb(perturb, resample_probability)
        self.mutable = mutable_names(self.space, mutable)
        self.epochs: int | None = None  # set by configure, from the study's epochs
        self.jobs: dict[int, _Job] = {}
        self.held: dict[int, Fidelity] = {}  # member -> a job claimed elsewhere, not finished

    def configure(self, objective):
        """Learn the study's ``epochs``; the space and objective stay as they are.

        Raises:
            ValueError: for a cross-validated metric, ``epochs`` set per trial, an
                ``interval`` above the epochs, or no mutable hyperparameter.
        """
        if objective.cross_validated:
            raise ValueError(f"strategy 'pbt' needs a holdout metric (val_*), got {objective.metric!r}")
        if "epochs" in objective.fixed or "epochs" in self.space.dimensions:
            raise ValueError("strategy 'pbt' sets each job's epochs: remove 'epochs' from the "
                             "space and fixed settings (use the study's epochs)")
        if self.interval > objective.epochs:
            raise ValueError(f"interval must be <= the study's epochs ({objective.epochs}), "
                             f"got {self.interval}")
        if not self.mutable:
            raise ValueError("strategy 'pbt' needs a mutable hyperparameter searched in the "
                             "space: one of lr, momentum, l2, l1, dropout, batch_size, ... "
                             "(strategy option 'mutable')")
        self.epochs = objective.epochs
        return self.space, objective

    @property
    def exhausted(self) -> bool:
        """True when no job can start now: the population is complete and every member is
        busy or done (a running job may make one ready: the run loop asks again after it)."""
        return len(self._members()) >= self.population and self._next_ready() is None

    def fidelity(self, slot: int) -> Fidelity:
        job = self.jobs[slot]
        return Fidelity(job.member, job.until, job.generation, job.resume_from)

    def hold(self, jobs: Sequence[tuple[Fidelity, dict]]) -> None:
        """The jobs claimed and not finished (any driver, or re-queued): their members are busy."""
        self.held = {fidelity.config_id: fidelity for fidelity, _ in jobs}

    def _observe(self, result: TrialResult) -> None:
        f = result.fidelity
        job = self.jobs.get(result.slot) if f is None else _Job(
            f.config_id, f.until_epoch, f.rung, f.resume_from, dict(result.params))
        if job is None:  # not a job of this strategy (e.g. a trial added by hand)
            return
        self.jobs[result.slot] = job
        self.held.pop(job.member, None)
        if result.state != COMPLETE:
            job.state = FAILED
            return
        score = result.record.get("last_value", result.value)
        job.score = float(score) if score is not None and math.isfinite(score) else None
        paused = result.record.get("stop_reason", "paused") == "paused"
        job.state = PAUSED if paused and (self.epochs is None or job.until < self.epochs) else FINAL

    # The population as the jobs show it.
    def _members(self) -> dict[int, list[int]]:
        """Each member's job slots, oldest first (a member held elsewhere may have none)."""
        members: dict[int, list[int]] = {m: [] for m in self.held}
        for slot in sorted(self.jobs):
            members.setdefault(self.jobs[slot].member, []).append(slot)
        return members

    def _latest_finished(self, slots: list[int]) -> int | None:
        done = [s for s in slots if self.jobs[s].state != PENDING]
        return done[-1] if done else None

    def _busy(self, member: int, slots: list[int]) -> bool:
        return member in self.held or any(self.jobs[s].state == PENDING for s in slots)

    def _ranked(self) -> list[int]:
        """The members with a score, best first (ties: the older member)."""
        better = sign(self.direction)
        scored = []
        for member, slots in self._members().items():
            latest = self._latest_finished(slots)
            if latest is not None and self.jobs[latest].score is not None:
                scored.append((better * self.jobs[latest].score, member))
        return [member for _, member in sorted(scored)]

    def _donors(self, member: int) -> tuple[list[int], list[int]]:
        """(the top members' checkpoints a member may copy, the bottom members). A member
        copies none that is behind it in epochs: it would train epochs over again."""
        ranked = self._ranked()
        k = min(math.ceil(len(ranked) * self.quantile), len(ranked) // 2)
        members = self._members()
        own = self._latest_finished(members[member])
        reached = self.jobs[own].until if own is not None else 0
        top = [self._latest_finished(members[m]) for m in ranked[:k] if m != member]
        return ([s for s in top if self.jobs[s].state == PAUSED and self.jobs[s].until >= reached],
                ranked[len(ranked) - k:])

    def _next_ready(self) -> int | None:
        """The ready member whose latest job ended at the earliest epoch (then slot)."""
        ready = []
        for member, slots in self._members().items():
            latest = self._latest_finished(slots)
            if latest is None or self._busy(member, slots):
                continue
            state = self.jobs[latest].state
            if state == PAUSED or (state == FAILED and self._donors(member)[0]):
                ready.append((self.jobs[latest].until, latest, member))
        return min(ready)[2] if ready else None

    # Proposals.
    def _propose(self, slot: int) -> dict:
        members = self._members()
        if len(members) < self.population:
            params = self.space.sample(slot_rng(self.seed, len(members)))
            return self._add(slot, _Job(slot, self._until(0), 0, None, params))
        member = self._next_ready()
        latest = self._latest_finished(members[member])
        donors, bottom = self._donors(member)
        if donors and (self.jobs[latest].state == FAILED or member in bottom):
            rng = slot_rng(self.seed, slot, purpose=3)
            source = donors[int(rng.integers(len(donors)))]
            params = explore(self.space, self.jobs[source].params, self.mutable, self.perturb,
                             self.resample_probability, rng)
        else:
            source, params = latest, dict(self.jobs[latest].params)
        donor = self.jobs[source]
        return self._add(slot, _Job(member, self._until(donor.until), donor.generation + 1,
                                    source, params))

    def _add(self, slot: int, job: _Job) -> dict:
        self.jobs[slot] = job
        return dict(job.params)

    def _until(self, start: int) -> int:
        until = start + self.interval
        return until if self.epochs is None else min(until, self.epochs)
