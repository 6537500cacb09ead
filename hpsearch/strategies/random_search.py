"""Random search: independent draws, each fixed by the study seed and its slot."""

from __future__ import annotations

from hpsearch.strategies.base import Strategy
from hpsearch.trial import slot_rng


class RandomStrategy(Strategy):
    """Uniform, log-uniform or truncated-normal draws, per each parameter's prior.

    The draw for slot k depends only on (seed, k): a study can stop at any time
    and resume, serially or in parallel, and propose the same points.
    """

    name = "random"
    multi_objective = True  # it ignores results

    def _propose(self, slot: int) -> dict:
        return self.space.sample(slot_rng(self.seed, slot))
