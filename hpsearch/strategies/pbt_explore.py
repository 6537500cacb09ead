"""PBT's *explore* step: which hyperparameters may change mid-training, and how they change.

Only settings that a resumed ``netcore.fit`` may take anew are mutable
(``netcore.resume.RESUME_CHANGEABLE`` and the net's dropout rates): the
learning rate, momentum, penalties, batch size, clipping, dropout. Sizes,
activations, the optimizer kind or the schedule would change the net or the
meaning of its optimizer state, and are copied from the member exploited.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from hpsearch.space.dimensions import Choice, Dimension, Float, Int
from hpsearch.space.searchspace import SearchSpace
from netcore.resume import RESUME_CHANGEABLE, RESUME_CHANGEABLE_NET
from netcore.validation import check_choice

MUTABLE = tuple(sorted((*RESUME_CHANGEABLE, *RESUME_CHANGEABLE_NET)))
_DROPOUTS = RESUME_CHANGEABLE_NET


def mutable_names(space: SearchSpace, mutable: Sequence[str] | None) -> list[str]:
    """The mutable hyperparameters: ``mutable``, checked, or by default every
    dimension of ``space`` named in ``MUTABLE`` (possibly none: ``configure`` refuses that).

    Raises:
        ValueError: for a name not in ``MUTABLE``, not in the space, or a dimension that
            cannot be perturbed (a fixed value; a dropout rate that may be 0).
    """
    if mutable is None:
        names = [name for name in space if name in MUTABLE and not _fixed(space[name])]
    else:
        if isinstance(mutable, str) or not isinstance(mutable, Sequence):
            raise ValueError(f"mutable must be a list of hyperparameter names, got {mutable!r}")
        names = list(mutable)
        for name in names:
            check_choice(name, MUTABLE, "mutable")
            if name not in space.dimensions or _fixed(space[name]):
                raise ValueError(f"mutable hyperparameter {name!r} must be searched in the space "
                                 f"(a float, int or choice); the space has {sorted(space)}")
    for name in names:
        if name in _DROPOUTS and not _never_zero(space[name]):
            raise ValueError(f"mutable {name!r} must be above 0 everywhere in its range (a rate "
                             "of 0 has no dropout layer, which a resumed net cannot add)")
    return names


def _fixed(dim: Dimension) -> bool:
    return not isinstance(dim, Float | Int | Choice)


def _never_zero(dim: Dimension) -> bool:
    if isinstance(dim, Choice):
        return all(isinstance(v, int | float) and v > 0 for v in dim.values)
    return dim.low > 0


def check_perturb(perturb, resample_probability) -> tuple[tuple[float, ...], float]:
    """The perturbation factors (positive numbers, at least one) and the resample probability.

    Raises:
        ValueError: naming ``perturb`` or ``resample_probability`` and what they must be.
    """
    if isinstance(perturb, int | float):
        perturb = [perturb]
    factors = list(perturb) if isinstance(perturb, Sequence) else []
    if not factors or not all(isinstance(f, int | float) and not isinstance(f, bool)
                              and math.isfinite(f) and f > 0 for f in factors):
        raise ValueError(f"perturb must be a list of positive factors, e.g. [0.8, 1.2], "
                         f"got {perturb!r}")
    p = resample_probability
    if isinstance(p, bool) or not isinstance(p, int | float) or not 0.0 <= p <= 1.0:
        raise ValueError(f"resample_probability must be a number in [0, 1], got {p!r}")
    return tuple(float(f) for f in factors), float(p)


def explore(space: SearchSpace, params: dict, names: Sequence[str], factors: Sequence[float],
            resample_probability: float, rng: np.random.Generator) -> dict:
    """``params`` with each active mutable hyperparameter resampled from its dimension
    (with ``resample_probability``) or else multiplied by one of ``factors``, kept in range."""
    new = dict(params)
    for name in names:
        if name not in params:  # a conditional hyperparameter, inactive here
            continue
        dim = space[name]
        if rng.random() < resample_probability:
            new[name] = dim.sample(rng)
        else:
            new[name] = perturb(dim, params[name], factors[int(rng.integers(len(factors)))])
    return new


def perturb(dim: Dimension, value, factor: float):
    """``value`` moved by ``factor`` within ``dim``: a float multiplied, an int multiplied and
    put on its lattice (at least one step), a choice moved to its next (factor > 1) or
    previous value."""
    if isinstance(dim, Choice):
        i = dim.index(value) + (1 if factor > 1 else -1 if factor < 1 else 0)
        return dim.grid(0)[min(max(i, 0), len(dim.values) - 1)]
    if isinstance(dim, Int):
        moved = round(value * factor)
        if moved == value and factor != 1:
            moved = value + (dim.step if factor > 1 else -dim.step)
        snapped = dim.low + round((moved - dim.low) / dim.step) * dim.step
        return int(min(max(snapped, dim.low), dim.high - (dim.high - dim.low) % dim.step))
    return float(min(max(value * factor, dim.low), dim.high))
