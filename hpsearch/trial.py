"""What a trial is to the search layer: its slot, parameters, seed, time limit and outcome."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from hpsearch.errors import TrialTimeoutError

COMPLETE, FAIL, PRUNED = "COMPLETE", "FAIL", "PRUNED"


@dataclass
class TrialResult:
    """The outcome of one evaluated parameter set.

    ``slot`` is the trial's place in the study's sequence (0, 1, 2, ...): it
    fixes the trial's seed and, for grid and random search, its parameters, so a
    re-run of the same slot is the same trial. ``record`` holds the metrics,
    curves and timings the objective returned.
    """

    slot: int
    params: dict
    seed: int
    state: str
    value: float | None = None
    record: dict = field(default_factory=dict)
    error: str | None = None
    duration: float = 0.0
    values: list[float] | None = None
    fidelity: Fidelity | None = None
    # The trial failed because a write found the disk full: a fault of the machine, not
    # of the trial, so the run stops and re-queues it instead of recording it.
    disk_full: bool = False
    # The trial's curve (epoch -> monitored value): the driver writes the epochs not
    # written yet with the result (``storages.curves``).
    curve_steps: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.state == COMPLETE

    @property
    def objective_values(self) -> list[float] | None:
        """Every objective value (``[value]`` for a single objective), or None."""
        if self.values is not None:
            return list(self.values)
        return None if self.value is None else [self.value]


@dataclass(frozen=True)
class Fidelity:
    """A job that trains a configuration for part of its epochs (multi-fidelity strategies).

    Strategies that train every trial to the end propose none. ``config_id`` is
    the slot of the configuration's first job: all its jobs train with that
    slot's seed, so a job can continue another. The job trains until epoch
    ``until_epoch`` of a run configured for the study's ``epochs``, continuing
    the checkpoint the job in slot ``resume_from`` saved (None: from scratch),
    and saves its own checkpoint when it pauses before the last epoch.
    """

    config_id: int
    until_epoch: int
    rung: int = 0
    resume_from: int | None = None

    def to_dict(self) -> dict:
        return {"config_id": self.config_id, "until_epoch": self.until_epoch,
                "rung": self.rung, "resume_from": self.resume_from}

    @classmethod
    def from_dict(cls, data) -> Fidelity | None:
        """The fidelity stored as ``to_dict()``; None for anything else (a damaged record)."""
        try:
            return cls(int(data["config_id"]), int(data["until_epoch"]), int(data["rung"]),
                       None if data["resume_from"] is None else int(data["resume_from"]))
        except (KeyError, TypeError, ValueError):
            return None


def trial_seed(study_seed: int, slot: int) -> int:
    """The training seed of a slot: independent of worker count and timing."""
    return int(np.random.SeedSequence([study_seed, slot]).generate_state(1)[0])


def slot_rng(study_seed: int, slot: int, purpose: int = 1) -> np.random.Generator:
    """A Generator for a slot's own draws (e.g. random-search parameters)."""
    return np.random.default_rng(np.random.SeedSequence([study_seed, slot, purpose]))


@dataclass(frozen=True)
class Deadline:
    """The moment (``time.monotonic``) a trial of ``seconds`` must have ended by."""

    seconds: float
    at: float

    @classmethod
    def start(cls, seconds: float | None) -> Deadline | None:
        """The deadline of a trial starting now, or ``None`` without a limit."""
        return None if seconds is None else cls(float(seconds), time.monotonic() + seconds)

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def error(self, detail: str = "") -> TrialTimeoutError:
        suffix = f" ({detail})" if detail else ""
        return TrialTimeoutError(f"the trial exceeded its time limit of {self.seconds:g} s{suffix}")

    def check(self, detail: str = "") -> None:
        """Raise ``TrialTimeoutError`` once the deadline has passed."""
        if self.remaining() < 0:
            raise self.error(detail)
