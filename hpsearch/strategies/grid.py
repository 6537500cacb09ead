"""Grid search: every combination, in a fixed order, each exactly once."""

from __future__ import annotations

from collections.abc import Mapping

from hpsearch.searchspace import DEFAULT_GRID_LIMIT, DEFAULT_GRID_POINTS
from hpsearch.strategies.base import Strategy


class GridStrategy(Strategy):
    """Proposes the points of ``space.grid(points)`` in order.

    Args:
        points: values per numeric parameter (or a mapping name -> points).
        limit: refuse grids larger than this unless ``allow_large``.
    """

    name = "grid"

    def __init__(self, space, *, seed=0, direction="minimize",
                 points: int | Mapping[str, int] = DEFAULT_GRID_POINTS,
                 limit: int = DEFAULT_GRID_LIMIT, allow_large: bool = False):
        super().__init__(space, seed=seed, direction=direction)
        self.points = points
        self.grid = self.space.grid(points, limit=limit, allow_large=allow_large)

    @property
    def exhausted(self) -> bool:
        return self.next_slot >= len(self.grid)

    @property
    def size(self) -> int:
        return len(self.grid)

    def _propose(self, slot: int) -> dict:
        return dict(self.grid[slot])
