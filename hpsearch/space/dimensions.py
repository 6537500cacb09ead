"""Parameter kinds of a search space: Float, Int, Choice and Fixed.

Each kind validates itself on construction, samples from a Generator, expands
to grid points and tells whether a value belongs to it. ``when`` makes a
parameter active only for some values of a parent choice.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from netcore.validation import check_finite


def check_when(when) -> dict[str, tuple]:
    if when is None:
        return {}
    if not isinstance(when, Mapping) or not when:
        raise TypeError(f"when must be a mapping such as {{'optimizer': ['sgd']}}, got {when!r}")
    out = {}
    for parent, values in when.items():
        if isinstance(values, str) or not isinstance(values, Sequence):
            values = [values]
        if not values:
            raise ValueError(f"when[{parent!r}] must list at least one value")
        out[str(parent)] = tuple(freeze(v) for v in values)
    return out


def freeze(value):
    """Lists become tuples so values can be compared and hashed."""
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value):
    """Tuples become lists again: what users (and netcore) expect of layer sizes."""
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class Dimension:
    """One parameter; ``when`` makes it active only for some parent values."""

    when: dict = field(default_factory=dict, kw_only=True)

    @classmethod
    def build(cls, *args, **fields) -> Dimension:
        """A dimension from a user's values in the form it is stored in (kinds that
        store values as given are simply constructed; construction checks them)."""
        return cls(*args, **fields)

    def kind(self) -> str:
        return type(self).__name__.lower()

    def to_dict(self) -> dict:
        data = {k: thaw(v) for k, v in self.__dict__.items() if k != "when"}
        data["kind"] = self.kind()
        if self.when:
            data["when"] = {k: [thaw(v) for v in vals] for k, vals in self.when.items()}
        return data


@dataclass(frozen=True)
class Float(Dimension):
    """A real in [low, high]; ``log`` samples log-uniformly; ``prior="normal"``
    draws N(mu, sigma) truncated to the bounds (random search only)."""

    low: float
    high: float
    log: bool = False
    prior: str = "uniform"
    mu: float | None = None
    sigma: float | None = None

    @classmethod
    def build(cls, low, high, *, log: bool = False, prior: str = "uniform", mu=None, sigma=None,
              when=None) -> Float:
        """Bounds as floats; a normal prior's ``mu`` and ``sigma`` default to the middle
        of the bounds and a quarter of their range."""
        low, high = check_finite(low, "low"), check_finite(high, "high")
        if prior == "normal":
            mu = (low + high) / 2 if mu is None else check_finite(mu, "mu")
            sigma = (high - low) / 4 if sigma is None else check_finite(sigma, "sigma")
        return cls(low, high, log=log, prior=prior, mu=mu, sigma=sigma, when=when or {})

    def __post_init__(self):
        low, high = check_finite(self.low, "low"), check_finite(self.high, "high")
        if not low < high:
            raise ValueError(f"`low < high` must hold, but got (low={low}, high={high})")
        if self.log and low <= 0:
            raise ValueError(f"a log-scale float needs low > 0, but got (low={low}, high={high})")
        if self.prior not in ("uniform", "normal"):
            raise ValueError(f"prior must be 'uniform' or 'normal', got {self.prior!r}")
        if self.prior == "normal":
            if self.log:
                raise ValueError("prior='normal' cannot be combined with log=True")
            check_finite(self.mu, "mu")
            if not check_finite(self.sigma, "sigma") > 0:
                raise ValueError(f"sigma must be > 0, got {self.sigma}")

    def sample(self, rng: np.random.Generator) -> float:
        if self.log:
            return float(np.exp(rng.uniform(np.log(self.low), np.log(self.high))))
        if self.prior == "normal":
            for _ in range(1000):
                value = rng.normal(self.mu, self.sigma)
                if self.low <= value <= self.high:
                    return float(value)
            return float(np.clip(self.mu, self.low, self.high))
        return float(rng.uniform(self.low, self.high))

    def grid(self, points: int) -> list:
        if points == 1:
            mid = math.sqrt(self.low * self.high) if self.log else (self.low + self.high) / 2
            return [mid]
        if self.log:
            return [float(v) for v in np.geomspace(self.low, self.high, points)]
        return [float(v) for v in np.linspace(self.low, self.high, points)]

    def contains(self, value) -> bool:
        return isinstance(value, numbers.Real) and self.low <= value <= self.high


@dataclass(frozen=True)
class Int(Dimension):
    """An integer in [low, high] on a ``step`` lattice, optionally log-uniform."""

    low: int
    high: int
    log: bool = False
    step: int = 1

    def __post_init__(self):
        for name in ("low", "high", "step"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise ValueError(f"{name} of an int parameter must be an integer, got {value!r}")
        if not self.low <= self.high:
            raise ValueError(f"`low <= high` must hold, but got (low={self.low}, high={self.high})")
        if self.step < 1:
            raise ValueError(f"step must be >= 1, got {self.step}")
        if self.log and (self.low < 1 or self.step != 1):
            raise ValueError(f"a log-scale int needs low >= 1 and step 1, got (low={self.low}, "
                             f"step={self.step})")

    def _values(self) -> np.ndarray:
        return np.arange(self.low, self.high + 1, self.step)

    def sample(self, rng: np.random.Generator) -> int:
        if self.log:
            value = np.exp(rng.uniform(np.log(self.low - 0.5 + 1e-12), np.log(self.high + 0.5)))
            return int(np.clip(round(value), self.low, self.high))
        return int(rng.choice(self._values()))

    def grid(self, points: int) -> list:
        values = self._values()
        if len(values) <= points:
            return [int(v) for v in values]
        raw = np.geomspace(self.low, self.high, points) if self.log \
            else np.linspace(self.low, self.high, points)
        snapped = self.low + np.round((raw - self.low) / self.step) * self.step
        return sorted({int(v) for v in snapped})

    def contains(self, value) -> bool:
        return (isinstance(value, numbers.Integral) and self.low <= value <= self.high
                and (value - self.low) % self.step == 0)


def _check_values(values) -> None:
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise TypeError(f"choice needs a list of values, got {values!r}")
    if len(values) == 0:
        raise ValueError("choice needs at least one value, got an empty list")


@dataclass(frozen=True)
class Choice(Dimension):
    """One of a list of values of any JSON-able kind (strings, numbers, lists)."""

    values: tuple

    @classmethod
    def build(cls, values, *, when=None) -> Choice:
        """The values frozen (lists become tuples), to be compared and hashed."""
        _check_values(values)
        return cls(tuple(freeze(v) for v in values), when=when or {})

    def __post_init__(self):
        _check_values(self.values)
        frozen = [freeze(v) for v in self.values]
        if len(set(map(repr, frozen))) != len(frozen):
            raise ValueError(f"choice values must be distinct, got {list(self.values)!r}")
        for v in frozen:
            json.dumps(thaw(v))

    def sample(self, rng: np.random.Generator):
        return thaw(self.values[int(rng.integers(len(self.values)))])

    def grid(self, points: int) -> list:
        return [thaw(v) for v in self.values]

    def contains(self, value) -> bool:
        return freeze(value) in self.values

    def index(self, value) -> int:
        return self.values.index(freeze(value))


@dataclass(frozen=True)
class Fixed(Dimension):
    """A constant: recorded with every trial, never searched."""

    value: Any

    @classmethod
    def build(cls, value, *, when=None) -> Fixed:
        """The value frozen (lists become tuples)."""
        return cls(freeze(value), when=when or {})

    def __post_init__(self):
        json.dumps(thaw(freeze(self.value)))

    def sample(self, rng: np.random.Generator):
        return thaw(self.value)

    def grid(self, points: int) -> list:
        return [thaw(self.value)]

    def contains(self, value) -> bool:
        return freeze(value) == self.value



KINDS = {"float": Float, "int": Int, "choice": Choice, "fixed": Fixed}
