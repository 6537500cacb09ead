"""Search strategies, looked up by name: each proposes (ask) and learns (tell)."""

from __future__ import annotations

from hpsearch.strategies.asha import AshaStrategy, BohbStrategy
from hpsearch.strategies.base import Strategy
from hpsearch.strategies.grid import GridStrategy
from hpsearch.strategies.lr_range import LRRangeStrategy
from hpsearch.strategies.random_search import RandomStrategy
from hpsearch.strategies.samplers import CmaEsStrategy, GPStrategy, QMCStrategy
from hpsearch.strategies.tpe import TPEStrategy
from hpsearch.strategies.tpe_hyperopt import HyperoptTPEStrategy

STRATEGIES: dict[str, type[Strategy]] = {
    "asha": AshaStrategy,
    "bohb": BohbStrategy,
    "cmaes": CmaEsStrategy,
    "gp": GPStrategy,
    "grid": GridStrategy,
    "lr-range": LRRangeStrategy,
    "qmc": QMCStrategy,
    "random": RandomStrategy,
    "tpe": TPEStrategy,
    "tpe-hyperopt": HyperoptTPEStrategy,
}


def get_strategy(name: str, space, *, seed: int = 0, direction: str = "minimize",
                 **options) -> Strategy:
    """Build the strategy registered as ``name``.

    Raises:
        ValueError: for an unknown name (listing the known ones) or an option
            the strategy does not take.
    """
    if name not in STRATEGIES:
        raise ValueError(f"The 'strategy' parameter must be one of {sorted(STRATEGIES)}. "
                         f"Got {name!r} instead.")
    try:
        return STRATEGIES[name](space, seed=seed, direction=direction, **options)
    except TypeError as exc:
        raise ValueError(f"bad option for strategy {name!r}: {exc}") from None


__all__ = ["STRATEGIES", "AshaStrategy", "BohbStrategy", "CmaEsStrategy", "GPStrategy",
           "GridStrategy", "HyperoptTPEStrategy", "LRRangeStrategy", "QMCStrategy",
           "RandomStrategy", "Strategy", "TPEStrategy", "get_strategy"]
