"""Row and column sums of minibatch-sized matrices as one BLAS call each.

``a.sum(axis=0)`` on a (128, 100) float32 batch costs about 6 µs and
``a.sum(axis=1)`` on (128, 10) logits about 5 µs, mostly numpy's reduction
machinery; a matrix-vector product with a vector of ones does the same sums
in 1–2 µs. The training step takes several such sums per batch.
"""

from __future__ import annotations

import functools

import numpy as np


@functools.lru_cache(maxsize=32)
def _ones(n: int, dtype: np.dtype) -> np.ndarray:
    vector = np.ones(n, dtype=dtype)
    vector.flags.writeable = False  # shared between callers
    return vector


def column_sums(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``a.sum(axis=0)`` of a 2-D array, into ``out`` when given."""
    return np.matmul(_ones(a.shape[0], a.dtype), a, out=out)


def row_sums(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``a.sum(axis=1)`` of a 2-D array, into ``out`` when given."""
    return np.matmul(a, _ones(a.shape[1], a.dtype), out=out)
