"""Checks at the public boundary: clear errors before any training starts."""

from __future__ import annotations

import numbers

import numpy as np


def check_features(X, n_features: int, dtype, argument: str = "X") -> np.ndarray:
    """Return ``X`` as a C-contiguous 2-D array of ``dtype``, or raise.

    Raises:
        TypeError: if ``X`` is not numeric.
        ValueError: if it is not 2-D, is empty, has the wrong number of
            features, or holds NaN or infinite values.
    """
    try:
        X = np.asarray(X)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{argument} must be a numeric array: {exc}") from None
    if X.dtype == object or not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise TypeError(f"{argument} must be a numeric array, got dtype {X.dtype}")
    if X.ndim != 2:
        hint = " (reshape a single feature with X.reshape(-1, 1))" if X.ndim == 1 else ""
        raise ValueError(f"{argument} must be 2-D (n_samples, n_features), got shape {X.shape}{hint}")
    if X.shape[0] == 0:
        raise ValueError(f"{argument} has 0 samples; at least 1 is required")
    if X.shape[1] == 0:
        raise ValueError(f"{argument} has 0 features; at least 1 is required")
    if X.shape[1] != n_features:
        raise ValueError(
            f"{argument} has {X.shape[1]} features but the model's input layer expects {n_features}"
        )
    X = np.ascontiguousarray(X, dtype=dtype)
    if not all_finite(X):
        raise ValueError(f"{argument} contains NaN or infinite values")
    return X


def all_finite(X: np.ndarray) -> bool:
    """True when the float array ``X`` holds no NaN or infinity.

    Its sum is one pass without a temporary array, and any NaN or infinity
    makes it non-finite; only when it is not finite (a bad value, or finite
    values that overflow the sum) is every value checked.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        total = X.sum()
    return bool(np.isfinite(total) or np.isfinite(X).all())


def check_positive_int(value, argument: str) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{argument} must be a positive integer, got {value!r}")
    return int(value)


def check_non_negative(value, argument: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0 \
            or not np.isfinite(value):
        raise ValueError(f"{argument} must be a finite number >= 0, got {value!r}")
    return float(value)


def check_positive(value, argument: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0 \
            or not np.isfinite(value):
        raise ValueError(f"{argument} must be a finite number > 0, got {value!r}")
    return float(value)
