"""The lr-range strategy: the other hyperparameters by search, the learning rate by a range test.

Each trial draws (or takes from a grid) every parameter but ``lr``; its
objective then runs a learning-rate range test on that configuration and
trains with the suggested rate. The ``lr`` dimension of the space, if any, is
not searched: its bounds become the range test's ``lr_min`` and ``lr_max``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from hpsearch.lr_finder import RANGE_TEST, RangeTestConfig, lr_by_range_test
from hpsearch.space.dimensions import Fixed, Float
from hpsearch.space.searchspace import DEFAULT_GRID_LIMIT, DEFAULT_GRID_POINTS, SearchSpace
from hpsearch.strategies.base import Strategy
from hpsearch.strategies.grid import GridStrategy
from hpsearch.strategies.random_search import RandomStrategy
from netcore.validation import check_choice

SAMPLERS = {"random": RandomStrategy, "grid": GridStrategy}


def _lr_bounds(space: SearchSpace) -> tuple[float, float] | None:
    """The bounds of the space's ``lr`` dimension, or None when it has none to give."""
    if "lr" not in space:
        return None
    dim = space["lr"]
    if dim.when:
        raise ValueError("the lr-range strategy cannot take a conditional 'lr' dimension; "
                         "its learning rate comes from a range test in every trial")
    if isinstance(dim, Fixed) and lr_by_range_test({"lr": dim.value}):
        return None
    if not isinstance(dim, Float):
        raise ValueError(f"the lr-range strategy finds 'lr' by a range test: give 'lr' as a float "
                         f"range (its bounds become the test's lr_min and lr_max) or leave it out, "
                         f"got {dim}")
    return dim.low, dim.high


class LRRangeStrategy(Strategy):
    """Random draws (or a grid) of every parameter but ``lr``, which a range test sets per trial.

    Args:
        sampler: "random" (default) or "grid" for the other parameters.
        points, limit, allow_large: the grid's options (``sampler="grid"`` only).
        range_test_iters: steps of each trial's range test.
        lr_min, lr_max: the range tested when the space has no ``lr`` dimension
            (default 1e-7 and 10; with one, its bounds are used).
        mode: "exp" or "linear" growth of the rate.

    A study with this strategy stores the space without ``lr`` and an
    objective whose fixed ``lr`` is the marker ``"range_test"`` (see
    ``configure``), replacing any fixed ``lr``; each trial's record then
    holds the ``lr`` it trained with (a metric, so it is a column of
    ``Study.results()``), ``lr_suggestions``, ``lr_confidence`` and the
    range-test curve (``range_test_lr``, ``range_test_loss`` in its curves).
    """

    name = "lr-range"
    multi_objective = True  # it ignores results

    def __init__(self, space, *, seed=0, direction="minimize", sampler: str = "random",
                 points: int | Mapping[str, int] | None = None, limit: int | None = None,
                 allow_large: bool | None = None, range_test_iters: int = 100,
                 lr_min: float | None = None, lr_max: float | None = None, mode: str = "exp"):
        full = SearchSpace(space)
        bounds = _lr_bounds(full)
        super().__init__({k: v for k, v in full.dimensions.items() if k != "lr"}, seed=seed,
                         direction=direction)
        self.range_options = self._range_options(bounds, range_test_iters, lr_min, lr_max, mode)
        self.sampler = self._sampler(sampler, points, limit, allow_large)

    @staticmethod
    def _range_options(bounds, iters, lr_min, lr_max, mode) -> dict:
        options = {"num_iter": iters, "mode": mode}
        given = {k: v for k, v in (("lr_min", lr_min), ("lr_max", lr_max)) if v is not None}
        if bounds is not None and given:
            raise ValueError(f"give the range either as the space's 'lr' dimension or as the "
                             f"options {sorted(given)}, not both")
        options.update(dict(zip(("lr_min", "lr_max"), bounds, strict=True)) if bounds else given)
        RangeTestConfig.from_options(options)  # fails now on a bad value
        return options

    def _sampler(self, name, points, limit, allow_large) -> Strategy:
        check_choice(name, sorted(SAMPLERS), "sampler")
        grid = {k: v for k, v in (("points", points), ("limit", limit),
                                   ("allow_large", allow_large)) if v is not None}
        if name == "grid":
            grid = {"points": DEFAULT_GRID_POINTS, "limit": DEFAULT_GRID_LIMIT, **grid}
        elif grid:
            raise ValueError(f"{sorted(grid)} apply to sampler='grid', not {name!r}")
        return SAMPLERS[name](self.space, seed=self.seed, direction=list(self.directions), **grid)

    @property
    def exhausted(self) -> bool:
        self.sampler.next_slot = self.next_slot
        return self.sampler.exhausted

    @property
    def size(self) -> int | None:
        return self.sampler.size

    def _propose(self, slot: int) -> dict:
        return self.sampler._propose(slot)

    def configure(self, objective):
        """The space without ``lr``, and the objective with the ``lr`` marker and the
        range-test options (over any the objective already holds, so reloading a
        stored study gives the same configuration)."""
        fixed = {**objective.fixed, "lr": RANGE_TEST}
        range_test = {**objective.range_test, **self.range_options}
        return self.space, dataclasses.replace(objective, fixed=fixed, range_test=range_test)
