"""Checks made before a study exists or a run starts, so that mistakes surface
as one clear message instead of as a storage full of failed trials."""

from __future__ import annotations


def grid_coverage(size: int | None, n_trials: int) -> str | None:
    """A note when a budget of ``n_trials`` visits only part of a finite grid of
    ``size`` points (None when the whole grid is covered or there is no grid)."""
    if size is None or n_trials >= size:
        return None
    return (f"grid: {n_trials} of {size} grid points will be visited (a seeded random "
            f"sample); raise --trials to {size} to cover the grid")
