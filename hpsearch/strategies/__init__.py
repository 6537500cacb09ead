"""Search strategies, looked up by name: each proposes (ask) and learns (tell)."""

from __future__ import annotations

from collections.abc import Sequence

from hpsearch.strategies.asha import AshaStrategy, BohbStrategy
from hpsearch.strategies.base import Strategy
from hpsearch.strategies.grid import GridStrategy
from hpsearch.strategies.lr_range import LRRangeStrategy
from hpsearch.strategies.pbt import PBTStrategy
from hpsearch.strategies.random_search import RandomStrategy
from hpsearch.strategies.samplers import CmaEsStrategy, GPStrategy, NSGA2Strategy, QMCStrategy
from hpsearch.strategies.tpe import TPEStrategy
from hpsearch.strategies.tpe_hyperopt import HyperoptTPEStrategy
from netcore.validation import check_choice

STRATEGIES: dict[str, type[Strategy]] = {
    "asha": AshaStrategy,
    "bohb": BohbStrategy,
    "cmaes": CmaEsStrategy,
    "gp": GPStrategy,
    "grid": GridStrategy,
    "lr-range": LRRangeStrategy,
    "nsga2": NSGA2Strategy,
    "pbt": PBTStrategy,
    "qmc": QMCStrategy,
    "random": RandomStrategy,
    "tpe": TPEStrategy,
    "tpe-hyperopt": HyperoptTPEStrategy,
}


def multi_objective_strategies() -> list[str]:
    """The names of the strategies that can serve a study of several objectives."""
    return sorted(name for name, kind in STRATEGIES.items() if kind.multi_objective)


def get_strategy(name: str, space, *, seed: int = 0, direction: str | Sequence[str] = "minimize",
                 **options) -> Strategy:
    """Build the strategy registered as ``name``; ``direction`` is one direction or,
    for a multi-objective study, a list of one per objective.

    Raises:
        ValueError: for an unknown name (listing the known ones), an option the
            strategy does not take, or several directions for a strategy that
            cannot optimise several objectives (listing those that can).
    """
    check_choice(name, sorted(STRATEGIES), "strategy")
    if not isinstance(direction, str) and len(direction) > 1 \
            and not STRATEGIES[name].multi_objective:
        raise ValueError(f"strategy {name!r} cannot optimise several objectives; a "
                         f"multi-objective study can use {multi_objective_strategies()}")
    try:
        return STRATEGIES[name](space, seed=seed, direction=direction, **options)
    except TypeError as exc:
        raise ValueError(f"bad option for strategy {name!r}: {exc}") from None


__all__ = ["STRATEGIES", "AshaStrategy", "BohbStrategy", "CmaEsStrategy", "GPStrategy",
           "GridStrategy", "HyperoptTPEStrategy", "LRRangeStrategy", "NSGA2Strategy", "PBTStrategy",
           "QMCStrategy",
           "RandomStrategy", "Strategy", "TPEStrategy", "get_strategy", "multi_objective_strategies"]
