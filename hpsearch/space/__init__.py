"""Search spaces as declarative data: real bounds, ``log=True``, conditions.

Build a space from the constructors of this module::

    from hpsearch import space
    s = space.SearchSpace({
        "lr": space.log_float(1e-4, 1e-1),
        "hidden": space.choice([[64], [128, 64]]),
        "optimizer": space.choice(["sgd", "momentum", "adam"]),
        "momentum": space.float(0.5, 0.99, when={"optimizer": ["momentum"]}),
    })

Every constructor validates its arguments, so a bad space fails before any
trial runs. ``float`` and ``int`` deliberately mirror the builtin names.
"""

from __future__ import annotations

import builtins

from hpsearch.space.dimensions import Choice, Dimension, Fixed, Float, Int, check_when
from hpsearch.space.searchspace import SearchSpace

__all__ = ["Choice", "Dimension", "Fixed", "Float", "Int", "SearchSpace", "choice", "fixed",
           "float", "int", "log_float", "log_int", "normal"]


# Constructors: the public way to declare parameters.

def float(low, high, *, log: bool = False, when=None) -> Float:
    """A real parameter in [low, high] (log-uniform when ``log``)."""
    return Float.build(low, high, log=log, when=check_when(when))


def log_float(low, high, *, when=None) -> Float:
    """A real parameter sampled log-uniformly in [low, high], low > 0."""
    return Float.build(low, high, log=True, when=check_when(when))


def normal(mu, sigma, *, low, high, when=None) -> Float:
    """A real parameter drawn from N(mu, sigma) truncated to [low, high] by random search."""
    return Float.build(low, high, prior="normal", mu=mu, sigma=sigma, when=check_when(when))


def int(low, high, *, log: bool = False, step: builtins.int = 1, when=None) -> Int:
    """An integer parameter in [low, high] on a ``step`` lattice."""
    return Int.build(low, high, log=log, step=step, when=check_when(when))


def log_int(low, high, *, when=None) -> Int:
    """An integer parameter sampled log-uniformly in [low, high], low >= 1."""
    return Int.build(low, high, log=True, when=check_when(when))


def choice(values, *, when=None) -> Choice:
    """One of ``values``; values may be lists, e.g. hidden layer sizes."""
    return Choice.build(values, when=check_when(when))


def fixed(value, *, when=None) -> Fixed:
    """A constant recorded with every trial."""
    return Fixed.build(value, when=check_when(when))

