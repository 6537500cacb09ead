"""SearchSpace: an ordered set of named dimensions with conditions between them."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping

import numpy as np

from hpsearch.space.dimensions import KINDS, Choice, Dimension, Fixed, Float, Int, freeze, thaw
from netcore.validation import check_options

DEFAULT_GRID_POINTS = 5
DEFAULT_GRID_LIMIT = 10_000


class SearchSpace:
    """Named parameters, parents before the children whose ``when`` names them.

    Args:
        dimensions: mapping of name to a dimension built by ``hpsearch.space``
            constructors; a plain value is taken as ``space.fixed(value)``.

    Raises:
        ValueError: for an empty name, a condition on an unknown or later or
            non-choice parameter, or a condition value the parent cannot take.
    """

    def __init__(self, dimensions: Mapping[str, Dimension] | SearchSpace):
        if isinstance(dimensions, SearchSpace):
            dimensions = dimensions.dimensions
        if not isinstance(dimensions, Mapping):
            raise TypeError(f"a search space is a mapping of names to parameters, got {dimensions!r}")
        self.dimensions: dict[str, Dimension] = {}
        for name, dim in dimensions.items():
            if not isinstance(name, str) or not name:
                raise ValueError(f"parameter names must be non-empty strings, got {name!r}")
            self.dimensions[name] = dim if isinstance(dim, Dimension) else Fixed.build(dim)
        self._check_conditions()

    def _check_conditions(self) -> None:
        seen: set[str] = set()
        for name, dim in self.dimensions.items():
            for parent, values in dim.when.items():
                if parent not in self.dimensions:
                    raise ValueError(f"{name!r} is conditioned on unknown parameter {parent!r}")
                if parent not in seen:
                    raise ValueError(f"{name!r} is conditioned on {parent!r}, which must come first")
                pdim = self.dimensions[parent]
                if not isinstance(pdim, Choice | Fixed):
                    raise ValueError(f"{name!r} is conditioned on {parent!r}: only choice or fixed "
                                     "parameters can be conditions")
                for value in values:
                    if not pdim.contains(value):
                        raise ValueError(f"{name!r} is conditioned on {parent!r}={thaw(value)!r}, "
                                         f"a value {parent!r} cannot take")
            seen.add(name)

    # Mapping-like access.
    def __iter__(self):
        return iter(self.dimensions)

    def __len__(self) -> int:
        return len(self.dimensions)

    def __getitem__(self, name: str) -> Dimension:
        return self.dimensions[name]

    def __eq__(self, other) -> bool:
        return isinstance(other, SearchSpace) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"SearchSpace({self.summary()})"

    def is_active(self, name: str, params: Mapping) -> bool:
        """Whether ``name`` applies given the values already chosen in ``params``."""
        return all(parent in params and freeze(params[parent]) in values
                   for parent, values in self.dimensions[name].when.items())

    def check_names(self, allowed: Iterable[str], context: str = "the objective") -> None:
        """Raise ValueError for a parameter that ``context`` does not understand."""
        check_options(self.dimensions, allowed, what="unknown parameter name(s)",
                      allows=f"{context} allows")

    def sample(self, rng: np.random.Generator) -> dict:
        """One random point: uniform, log-uniform or truncated-normal draws."""
        params: dict = {}
        for name, dim in self.dimensions.items():
            if self.is_active(name, params):
                params[name] = dim.sample(rng)
        return params

    def validate(self, params: Mapping) -> dict:
        """Check that ``params`` is a point of this space (active names only)."""
        expected = [n for n in self.dimensions if self.is_active(n, params)]
        if sorted(params) != sorted(expected):
            raise ValueError(f"parameters {sorted(params)} do not match the active set {expected}")
        for name in expected:
            if not self.dimensions[name].contains(params[name]):
                raise ValueError(f"{name}={params[name]!r} is outside {self.dimensions[name]}")
        return dict(params)

    # Grid search.
    def _points(self, name: str, points) -> list:
        n = points.get(name, DEFAULT_GRID_POINTS) if isinstance(points, Mapping) else points
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"grid points for {name!r} must be a positive integer, got {n!r}")
        return self.dimensions[name].grid(n)

    def grid_size(self, points: int | Mapping[str, int] = DEFAULT_GRID_POINTS) -> int:
        """Number of grid points, counted without enumerating them."""
        names = list(self.dimensions)
        parents = {p for dim in self.dimensions.values() for p in dim.when}

        def count(i: int, partial: dict) -> int:
            if i == len(names):
                return 1
            name = names[i]
            if not self.is_active(name, partial):
                return count(i + 1, partial)
            values = self._points(name, points)
            if name not in parents:
                return len(values) * count(i + 1, partial)
            return sum(count(i + 1, {**partial, name: v}) for v in values)

        return count(0, {})

    def grid(self, points: int | Mapping[str, int] = DEFAULT_GRID_POINTS, *,
             limit: int = DEFAULT_GRID_LIMIT, allow_large: bool = False) -> list[dict]:
        """Every combination of ``points`` values per numeric parameter (log-spaced
        for log parameters) and every value of each choice, conditions respected.

        Raises:
            ValueError: when the grid has more than ``limit`` points, unless
                ``allow_large``.
        """
        size = self.grid_size(points)
        if size > limit and not allow_large:
            raise ValueError(f"the grid has {size} points, more than the limit of {limit}; "
                             "use fewer points, raise the limit or pass allow_large=True")
        names = list(self.dimensions)
        out: list[dict] = []

        def expand(i: int, partial: dict) -> None:
            if i == len(names):
                out.append(dict(partial))
                return
            name = names[i]
            if not self.is_active(name, partial):
                expand(i + 1, partial)
                return
            for value in self._points(name, points):
                partial[name] = value
                expand(i + 1, partial)
                del partial[name]

        expand(0, {})
        return out

    # Optuna.
    def distribution(self, name: str):
        """The Optuna distribution of one parameter (choices stored encoded)."""
        import optuna.distributions as od

        dim = self.dimensions[name]
        if isinstance(dim, Float):
            return od.FloatDistribution(dim.low, dim.high, log=dim.log)
        if isinstance(dim, Int):
            return od.IntDistribution(dim.low, dim.high, log=dim.log, step=dim.step)
        if isinstance(dim, Choice):
            return od.CategoricalDistribution([_encode(v) for v in dim.values])
        return od.CategoricalDistribution([_encode(dim.value)])

    def suggest(self, trial) -> dict:
        """Draw a point through an Optuna trial, define-by-run, conditions respected."""
        params: dict = {}
        for name in self.dimensions:
            if self.is_active(name, params):
                params[name] = self.decode_value(name, self._suggest_one(trial, name))
        return params

    def _suggest_one(self, trial, name: str):
        dist = self.distribution(name)
        if isinstance(self.dimensions[name], Float):
            return trial.suggest_float(name, dist.low, dist.high, log=dist.log)
        if isinstance(self.dimensions[name], Int):
            return trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
        return trial.suggest_categorical(name, dist.choices)

    def distributions(self, params: Mapping) -> dict:
        return {name: self.distribution(name) for name in params}

    def encode(self, params: Mapping) -> dict:
        """Values as Optuna stores them: list-valued choices become JSON text."""
        return {name: _encode(freeze(value)) if isinstance(self.dimensions[name], Choice | Fixed)
                else value for name, value in params.items()}

    def decode_value(self, name: str, raw):
        dim = self.dimensions[name]
        if isinstance(dim, Choice | Fixed):
            try:
                value = self._stored_choices(name, dim).get(raw, _MISSING)
            except TypeError:  # unhashable: no choice is stored as that
                value = _MISSING
            if value is _MISSING:
                raise ValueError(f"stored value {raw!r} is not a value of {name!r}")
            return thaw(value)
        return int(raw) if isinstance(dim, Int) else float(raw)

    def _stored_choices(self, name: str, dim: Choice | Fixed) -> dict:
        """The values of a choice by their stored form (the first of equal forms wins),
        built once: reading a large study decodes every trial's choices."""
        tables = self.__dict__.setdefault("_choice_tables", {})
        cached = tables.get(name)
        if cached is None or cached[0] is not dim:
            table: dict = {}
            for value in dim.values if isinstance(dim, Choice) else (dim.value,):
                table.setdefault(_encode(value), value)
            cached = tables[name] = (dim, table)
        return cached[1]

    def decode(self, stored: Mapping) -> dict:
        return {name: self.decode_value(name, raw) for name, raw in stored.items()
                if name in self.dimensions}

    # Serialization (study storage, spec files).
    def to_dict(self) -> dict:
        return {name: dim.to_dict() for name, dim in self.dimensions.items()}

    @classmethod
    def from_dict(cls, data: Mapping) -> SearchSpace:
        dims = {}
        for name, spec in data.items():
            spec = dict(spec)
            kind = spec.pop("kind")
            spec["when"] = {k: tuple(freeze(v) for v in vals)
                            for k, vals in spec.get("when", {}).items()}
            dims[name] = KINDS[kind].build(**spec)
        return cls(dims)

    def summary(self) -> str:
        parts = []
        for name, dim in self.dimensions.items():
            if isinstance(dim, Float | Int):
                text = f"{name}: {dim.kind()} [{dim.low}, {dim.high}]" + (" log" if dim.log else "")
            elif isinstance(dim, Choice):
                text = f"{name}: choice of {len(dim.values)}"
            else:
                text = f"{name}: fixed {thaw(dim.value)!r}"
            if dim.when:
                text += " when " + ", ".join(f"{p} in {[thaw(v) for v in vs]}"
                                             for p, vs in dim.when.items())
            parts.append(text)
        return "; ".join(parts)


_MISSING = object()


def _encode(value):
    """Optuna categorical choices must be None/bool/int/float/str: lists go to JSON."""
    if isinstance(value, tuple | list):
        return json.dumps(thaw(value))
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return value
