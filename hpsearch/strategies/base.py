"""The strategy interface: propose parameter sets, learn from their results.

The runner owns evaluation and parallelism; a strategy only proposes
(``ask``) and learns (``tell``). Proposals are numbered by slot in the order
they are asked, so the same seed gives the same proposals whatever the number
of workers that evaluate them.
"""

from __future__ import annotations

from collections.abc import Sequence

from hpsearch.space.searchspace import SearchSpace
from hpsearch.trial import Fidelity, TrialResult
from netcore.validation import check_choice

DIRECTIONS = ("minimize", "maximize")


class Strategy:
    """Base class. Subclasses implement ``_propose(slot)`` and may ``_observe``."""

    name = "strategy"
    # True for strategies that learn from results (the TPEs): the run loop asks
    # them for a round of trials at once and tells the round back in slot order,
    # so the same seed gives the same trials at any worker count.
    batched = False
    # True for strategies that can serve a study of several objectives: those that
    # ignore results, and samplers that model several objectives (TPE, NSGA-II).
    multi_objective = False
    # True for strategies that decide how many epochs each trial trains (asha, bohb):
    # a pruner stopping their trials as well would fight their rungs.
    multi_fidelity = False
    # True for strategies whose proposals read the latest results of jobs running in
    # other drivers (pbt): the run loop then reads every trial before each claim.
    fresh_view = False

    def __init__(self, space: SearchSpace, *, seed: int = 0,
                 direction: str | Sequence[str] = "minimize"):
        """``direction`` is one direction, or a list of one per objective."""
        directions = [direction] if isinstance(direction, str) else list(direction)
        if not directions:
            raise ValueError("direction must be one direction or a list of them, got []")
        for d in directions:
            check_choice(d, DIRECTIONS, "direction")
        if len(directions) > 1 and not self.multi_objective:
            raise ValueError(f"strategy {self.name!r} cannot optimise several objectives")
        self.space, self.seed = SearchSpace(space), int(seed)
        # ``direction`` is the first objective's: single-objective code reads it.
        self.directions, self.direction = tuple(directions), directions[0]
        self.next_slot = 0

    @property
    def exhausted(self) -> bool:
        """True when the strategy has nothing more to propose (a finished grid)."""
        return False

    @property
    def size(self) -> int | None:
        """How many proposals exist in all, if finite."""
        return None

    def configure(self, objective):
        """The space a study with this strategy stores and the objective its trials
        run, given the study's objective: both unchanged, unless a strategy such as
        lr-range handles a parameter itself. Must give the same result when applied
        again to its own output (a stored study is rebuilt through it)."""
        return self.space, objective

    def ask(self, n: int) -> list[dict]:
        """Up to ``n`` new parameter sets for the next slots (fewer when exhausted)."""
        proposals = []
        for _ in range(n):
            if self.exhausted:
                break
            proposals.append(self._propose(self.next_slot))
            self.next_slot += 1
        return proposals

    def fidelity(self, slot: int) -> Fidelity | None:
        """How far the proposal of ``slot`` trains, for multi-fidelity strategies
        (asha, bohb); None, the default, trains it for all the study's epochs."""
        return None

    def tell(self, results: Sequence[TrialResult]) -> None:
        """Learn from finished trials, including failed ones and ones from an
        earlier run of the study (which also moves the slot counter past them)."""
        for result in sorted(results, key=lambda r: r.slot):
            self.next_slot = max(self.next_slot, result.slot + 1)
            self._observe(result)

    def hold(self, jobs: Sequence[tuple[Fidelity, dict]]) -> None:
        """Learn of multi-fidelity jobs (``(fidelity, params)``) claimed but not finished
        for good: running here or in another driver, or re-queued. Their work is taken;
        a strategy must not propose it again. Strategies without fidelities ignore them."""

    def _propose(self, slot: int) -> dict:
        raise NotImplementedError

    def _observe(self, result: TrialResult) -> None:
        """Strategies without a model of the objective ignore results."""
