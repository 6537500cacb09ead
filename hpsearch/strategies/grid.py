"""Grid search: every combination, each exactly once, in a seeded random order."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from hpsearch.space.searchspace import DEFAULT_GRID_LIMIT, DEFAULT_GRID_POINTS
from hpsearch.strategies.base import Strategy

# Third entry of the grid's SeedSequence, apart from the per-slot draws of trial.slot_rng.
_GRID_PURPOSE = 7


def grid_order(size: int, seed: int) -> np.ndarray:
    """The order in which a study with ``seed`` visits a grid of ``size`` points.

    A permutation, so that a budget below the grid size samples the whole grid
    rather than one corner of it (as Optuna's GridSampler shuffles); it depends
    only on ``seed`` and ``size``, so slot ``i`` is the same point at any worker count.
    """
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), size, _GRID_PURPOSE]))
    return rng.permutation(size)


class GridStrategy(Strategy):
    """Proposes each point of ``space.grid(points)`` once, in a seeded random order.

    Args:
        points: values per numeric parameter (or a mapping name -> points).
        limit: refuse grids larger than this unless ``allow_large``.
    """

    name = "grid"
    multi_objective = True  # it ignores results

    def __init__(self, space, *, seed=0, direction="minimize",
                 points: int | Mapping[str, int] = DEFAULT_GRID_POINTS,
                 limit: int = DEFAULT_GRID_LIMIT, allow_large: bool = False):
        super().__init__(space, seed=seed, direction=direction)
        self.points = points
        self.grid = self.space.grid(points, limit=limit, allow_large=allow_large)
        self.order = grid_order(len(self.grid), self.seed)

    @property
    def exhausted(self) -> bool:
        return self.next_slot >= len(self.grid)

    @property
    def size(self) -> int:
        return len(self.grid)

    def _propose(self, slot: int) -> dict:
        return dict(self.grid[self.order[slot]])
