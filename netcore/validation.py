"""Checks at the public boundary: clear errors before any training starts."""

from __future__ import annotations

import difflib
import numbers
from collections.abc import Iterable

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


def did_you_mean(name, choices: Iterable) -> str:
    """``" (did you mean 'n_trials'?)"`` for the choice closest to a mistyped ``name``,
    else ``""``: the one place a suggestion is written.

    >>> did_you_mean("n_trails", ["n_trials", "n_jobs"])
    " (did you mean 'n_trials'?)"
    """
    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_options(options: Iterable[str], allowed: Iterable[str], *, what: str,
                  allows: str = "allowed:", prefix: str = "",
                  error: type[Exception] = ValueError) -> None:
    """Refuse the keys of ``options`` that ``allowed`` does not hold.

    The one place an "unknown options" error is written. Its message is
    ``f"{what} {unknown}{hint}; {allows} {sorted(allowed)}"``, the unknown keys
    sorted and each shown with ``prefix`` (e.g. ``"study."`` for a table's keys),
    ``hint`` suggesting the closest allowed name for the first of them.

    Raises:
        error: (``ValueError`` unless told) naming the unknown keys and the allowed ones.

    >>> check_options({"lr": 0.1, "epoch": 1}, ["lr", "epochs"], what="unknown option(s)")
    Traceback (most recent call last):
    ValueError: unknown option(s) ['epoch'] (did you mean 'epochs'?); allowed: ['epochs', 'lr']
    """
    allowed = set(allowed)
    unknown = sorted(set(options) - allowed, key=str)
    if unknown:
        hint = did_you_mean(unknown[0], allowed)
        if hint and prefix:
            hint = hint.replace("'", f"'{prefix}", 1)
        raise error(f"{what} {[prefix + str(k) for k in unknown]}{hint}; "
                    f"{allows} {sorted(allowed)}")


def check_choice(value, choices: Iterable, argument: str, *, optional: bool = False,
                 error: type[Exception] = ValueError):
    """``value`` when ``choices`` holds it (``None`` passes when ``optional``), else raise.

    The one place a "must be one of" error is written: ``The 'optimizer' parameter must
    be one of ['adam', 'sgd']. Got 'adan'. (did you mean 'adam'?)``. ``choices`` is
    shown in its own order (pass a sorted list to show it sorted). A bare ``argument``
    that is an identifier (``"optimizer"``) is shown as a parameter; any other text
    (``"spec: x.type"``, ``"environment variable NETCORE_KERNELS"``) is shown as given.

    Raises:
        error: (``ValueError`` unless told) naming the allowed values and the closest one.

    >>> check_choice("adan", ["adam", "sgd"], "optimizer")
    Traceback (most recent call last):
    ValueError: The 'optimizer' parameter must be one of ['adam', 'sgd']. Got 'adan'. (did you mean 'adam'?)
    """
    choices = list(choices)
    if (optional and value is None) or _holds(choices, value):
        return value
    what = f"The {argument!r} parameter" if argument.isidentifier() else argument
    raise error(f"{what} must be one of {choices}{_or_none(optional)}. Got {value!r}."
                f"{did_you_mean(value, choices) if isinstance(value, str) else ''}")


def _holds(choices: list, value) -> bool:
    try:
        return value in choices
    except TypeError:  # an unhashable or incomparable value is no choice
        return False


def _or_none(optional: bool) -> str:
    return " or None" if optional else ""


def check_int(value, argument: str, *, minimum: int, optional: bool = False) -> int | None:
    """``value`` as an int >= ``minimum`` (``None`` passes when ``optional``); bools are refused."""
    if optional and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{argument} must be an integer >= {minimum}{_or_none(optional)}, "
                         f"got {value!r}")
    return int(value)


def check_positive_int(value, argument: str, *, optional: bool = False) -> int | None:
    """``value`` as an int >= 1 (``None`` passes when ``optional``)."""
    if optional and value is None:
        return None
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{argument} must be a positive integer{_or_none(optional)}, got {value!r}")
    return int(value)


def _real(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, numbers.Real) and bool(np.isfinite(value))


def check_finite(value, argument: str) -> float:
    """``value`` as a finite float; bools, strings, NaN and infinities are refused."""
    if not _real(value):
        raise ValueError(f"{argument} must be a finite number, got {value!r}")
    return float(value)


def check_non_negative(value, argument: str) -> float:
    if not _real(value) or not value >= 0:
        raise ValueError(f"{argument} must be a finite number >= 0, got {value!r}")
    return float(value)


def check_positive(value, argument: str, *, optional: bool = False) -> float | None:
    """``value`` as a finite float > 0 (``None`` passes when ``optional``)."""
    if optional and value is None:
        return None
    if not _real(value) or not value > 0:
        raise ValueError(f"{argument} must be a finite number > 0{_or_none(optional)}, got {value!r}")
    return float(value)
