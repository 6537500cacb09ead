"""The conformance suite every strategy passes, on a quadratic and a tiny net."""

from __future__ import annotations

import importlib.util
import sys

import pytest

import hpsearch
from hpsearch import space
from hpsearch.space.searchspace import SearchSpace
from hpsearch.strategies import STRATEGIES, get_strategy
from hpsearch.trial import COMPLETE, FAIL, TrialResult

QUADRATIC = SearchSpace({
    "x": space.float(-3.0, 3.0),
    "k": space.int(0, 8, step=2),
    "kind": space.choice(["flat", "bowl", [1, 2]]),
    "scale": space.log_float(0.01, 10.0, when={"kind": ["bowl"]}),
    "offset": space.fixed(1.0),
})
OPTIONS = {"grid": {"points": 3}}
# The gp strategy needs PyTorch, an optional dependency (the gp extra).
NAMES = [pytest.param(name, marks=pytest.mark.skipif(
    name == "gp" and importlib.util.find_spec("torch") is None, reason="gp needs torch"))
    for name in sorted(STRATEGIES)]


def _value(params) -> float:
    scale = params.get("scale", 1.0)
    return scale * (params["x"] - 1.0) ** 2 + (params["k"] - 4) ** 2 + params["offset"]


def _drive(name: str, seed: int, rounds: int = 6, batch: int = 3, fail_every: int = 4):
    strategy = get_strategy(name, QUADRATIC, seed=seed, **OPTIONS.get(name, {}))
    proposals = []
    for _ in range(rounds):
        first = strategy.next_slot
        asked = strategy.ask(batch)
        results = []
        for offset, params in enumerate(asked):
            slot = first + offset
            if slot % fail_every == fail_every - 1:
                results.append(TrialResult(slot, params, 0, FAIL, error="RuntimeError: boom"))
            else:
                results.append(TrialResult(slot, params, 0, COMPLETE, value=_value(params)))
        strategy.tell(results)
        proposals.extend(asked)
    return proposals


@pytest.mark.parametrize("name", NAMES)
def test_proposals_stay_in_the_space_with_conditions(name):
    proposals = _drive(name, seed=0)
    assert len(proposals) == 18
    for params in proposals:
        QUADRATIC.validate(params)
        assert ("scale" in params) == (params["kind"] == "bowl")
        assert params["offset"] == 1.0


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_proposals(name):
    assert _drive(name, seed=3) == _drive(name, seed=3)


@pytest.mark.parametrize("name", ["lr-range", "random", "tpe", "tpe-hyperopt"])
def test_different_seeds_differ(name):
    assert _drive(name, seed=1) != _drive(name, seed=2)


@pytest.mark.parametrize("name", NAMES)
def test_tell_accepts_failures_and_unasked_history(name):
    strategy = get_strategy(name, QUADRATIC, seed=0, **OPTIONS.get(name, {}))
    history = [TrialResult(slot, QUADRATIC.sample(__import__("numpy").random.default_rng(slot)),
                           0, FAIL if slot % 2 else COMPLETE, value=None if slot % 2 else 1.0)
               for slot in range(5)]
    strategy.tell(history)
    assert strategy.next_slot == 5
    for params in strategy.ask(2):
        QUADRATIC.validate(params)


def test_tpe_beats_random_on_the_quadratic():
    def best(name, seed):
        values = [_value(p) for p in _drive(name, seed, rounds=15, batch=2, fail_every=10**9)]
        return min(values)

    tpe = [best("tpe", s) for s in range(3)]
    rnd = [best("random", s) for s in range(3)]
    assert sorted(tpe)[1] < sorted(rnd)[1]


def test_grid_is_exhausted_exactly_once():
    strategy = get_strategy("grid", QUADRATIC, points=3)
    seen = []
    while not strategy.exhausted:
        seen.extend(strategy.ask(7))
    assert len(seen) == QUADRATIC.grid_size(3) == strategy.size
    assert strategy.ask(5) == []


def test_unknown_strategy_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"must be one of \['asha', 'bohb', 'cmaes', 'gp', 'grid', "
                                         r"'lr-range', 'nsga2', 'pbt', 'qmc', 'ra"):
        get_strategy("bayes", QUADRATIC)


def test_bad_strategy_option():
    with pytest.raises(ValueError, match="bad option for strategy 'random'"):
        get_strategy("random", QUADRATIC, points=3)


@pytest.mark.parametrize("name", NAMES)
def test_every_strategy_runs_a_tiny_netcore_study(name, tmp_path):
    study = hpsearch.Study.create(
        f"tiny-{name}", dataset="spirals", strategy=name, storage=f"sqlite:///{tmp_path}/s.db",
        space={"lr": space.log_float(1e-3, 1e-1), "hidden": space.choice([[16], [32, 16]]),
               "optimizer": space.choice(["sgd", "momentum"]),
               "momentum": space.float(0.5, 0.95, when={"optimizer": ["momentum"]})},
        strategy_options=({"points": 2} if name == "grid" else {}), epochs=3, seed=0,
        round_size=2)
    df = study.run(n_trials=6, progress=False)
    assert len(df) == 6 and (df["state"] == "COMPLETE").all()
    assert df["momentum"].isna().tolist() == (df["optimizer"] == "sgd").tolist()
    assert study.best_value == df["value"].min()
    assert set(study.best_params) <= {"lr", "hidden", "optimizer", "momentum"}


def test_a_missing_optional_dependency_is_named(monkeypatch):
    # As on a machine without torch, whether or not this one has it: None in sys.modules is
    # how Python marks a module that cannot be imported.
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ValueError, match=r"strategy 'gp' needs torch: pip install 'hpsearch\[gp\]'"):
        get_strategy("gp", QUADRATIC)


@pytest.mark.parametrize("name", ["cmaes", "qmc"])
def test_new_samplers_run_a_study_on_digits(name, tmp_path):
    study = hpsearch.Study.create(name, dataset="digits", strategy=name, seed=0,
                                  storage=f"sqlite:///{tmp_path / 's.db'}", max_train=200,
                                  epochs=2, space={"lr": space.log_float(1e-3, 1e-1),
                                                   "hidden": space.choice([[8], [16]])})
    frame = study.run(n_trials=4, progress=False)
    assert (frame["state"] == "COMPLETE").all()
