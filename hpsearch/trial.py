"""What a trial is to the search layer: its slot, parameters, seed and outcome."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

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

    @property
    def ok(self) -> bool:
        return self.state == COMPLETE

    @property
    def objective_values(self) -> list[float] | None:
        """Every objective value (``[value]`` for a single objective), or None."""
        if self.values is not None:
            return list(self.values)
        return None if self.value is None else [self.value]


def trial_seed(study_seed: int, slot: int) -> int:
    """The training seed of a slot: independent of worker count and timing."""
    return int(np.random.SeedSequence([study_seed, slot]).generate_state(1)[0])


def slot_rng(study_seed: int, slot: int, purpose: int = 1) -> np.random.Generator:
    """A Generator for a slot's own draws (e.g. random-search parameters)."""
    return np.random.default_rng(np.random.SeedSequence([study_seed, slot, purpose]))
