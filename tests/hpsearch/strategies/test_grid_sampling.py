"""Grid search below its size: a seeded random sample of the grid, not a corner."""

from __future__ import annotations

import logging

import hpsearch
from hpsearch import space
from hpsearch.checks import grid_coverage
from hpsearch.space.searchspace import SearchSpace
from hpsearch.strategies import get_strategy

# lr (the widest parameter, first in the old corner order) x l2 x optimizer x hidden.
SPACE = {"lr": space.log_float(1e-3, 1e-1), "l2": space.float(0.0, 1e-3),
         "optimizer": space.choice(["sgd", "adam"]),
         "hidden": space.choice([[8], [16], [8, 8]])}
POINTS = {"lr": 45, "l2": 2}


def _asked(seed: int, n: int) -> list[dict]:
    strategy = get_strategy("grid", SPACE, seed=seed, points=POINTS)
    asked = []
    while len(asked) < n and not strategy.exhausted:
        asked.extend(strategy.ask(min(5, n - len(asked))))
    return asked


def test_the_grid_has_540_points():
    assert SearchSpace(SPACE).grid_size(POINTS) == 540 == get_strategy(
        "grid", SPACE, points=POINTS).size


def test_a_small_budget_spreads_over_the_widest_parameter():
    for seed in (0, 1, 2):
        assert len({p["lr"] for p in _asked(seed, 12)}) >= 8


def test_same_seed_same_sequence_other_seed_another():
    assert _asked(0, 12) == _asked(0, 12)
    assert _asked(0, 12) != _asked(1, 12)


def test_slot_to_point_does_not_depend_on_batching():
    strategy = get_strategy("grid", SPACE, seed=4, points=POINTS)
    one_by_one = [strategy.ask(1)[0] for _ in range(12)]
    assert one_by_one == _asked(4, 12)


def test_the_full_budget_visits_every_point_once():
    asked = _asked(3, 10_000)
    keys = {repr(sorted(p.items())) for p in asked}
    assert len(asked) == len(keys) == 540
    assert keys == {repr(sorted(p.items())) for p in SearchSpace(SPACE).grid(POINTS)}


def test_coverage_note():
    assert grid_coverage(540, 12) == ("grid: 12 of 540 grid points will be visited (a seeded "
                                      "random sample); raise --trials to 540 to cover the grid")
    assert grid_coverage(540, 540) is None and grid_coverage(None, 3) is None


def test_a_12_trial_study_samples_the_grid_and_says_so(tmp_path, caplog):
    study = hpsearch.Study.create("g", dataset="digits", strategy="grid", space=SPACE,
                                  strategy_options={"points": POINTS}, epochs=2, max_train=200,
                                  storage=f"sqlite:///{tmp_path / 'g.db'}", seed=0)
    with caplog.at_level(logging.WARNING, logger="hpsearch"):
        df = study.run(n_trials=12, progress=False)
    assert len(df) == 12 and df["lr"].nunique() >= 8
    notes = [r.getMessage() for r in caplog.records if "grid points" in r.getMessage()]
    assert notes == ["grid: 12 of 540 grid points will be visited (a seeded random sample); "
                     "raise --trials to 540 to cover the grid"]
