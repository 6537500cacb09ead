"""Pareto dominance: which points of a multi-objective study no other point beats.

A point dominates another when it is at least as good in every objective and
strictly better in one (good meaning lower for "minimize", higher for
"maximize"). The Pareto set is the points that no point dominates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hpsearch.metrics import sign


def _as_minimized(values, directions: Sequence[str]) -> np.ndarray:
    points = np.asarray(values, dtype=float).reshape(-1, len(directions))
    signs = np.array([sign(d) for d in directions])
    return points * signs


def dominates(a: Sequence[float], b: Sequence[float], directions: Sequence[str]) -> bool:
    """True when point ``a`` dominates point ``b``."""
    x, y = _as_minimized([a, b], directions)
    return bool(np.all(x <= y) and np.any(x < y))


def pareto_mask(values, directions: Sequence[str]) -> np.ndarray:
    """A boolean per row of ``values`` (one row per point, one column per objective):
    True for the points that no other point dominates. Equal points are all kept."""
    points = _as_minimized(values, directions)
    mask = np.ones(len(points), dtype=bool)
    for i, point in enumerate(points):
        beaten = np.all(points <= point, axis=1) & np.any(points < point, axis=1)
        mask[i] = not beaten.any()
    return mask
