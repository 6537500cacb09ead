"""The LR range test: its rates, state restore, stopping, suggestions, result, CLI and strategy."""

from __future__ import annotations

import argparse
import json
import math

import numpy as np
import pandas as pd
import pytest

import hpsearch
import netcore
from hpsearch import lr_finder, space
from hpsearch.cli import lr_find as lr_find_cli
from hpsearch.lr_finder import LRRangeResult, lr_range_test, lr_sequence, smooth_curve, suggest
from hpsearch.objective import ObjectiveConfig
from hpsearch.space.dimensions import Float
from hpsearch.strategies import get_strategy
from hpsearch.trial import COMPLETE, TrialResult
from netcore.optim import SGD, Adam, Momentum


@pytest.fixture(scope="module")
def spirals() -> netcore.Dataset:
    return netcore.load_dataset("spirals")


def _config(**extra) -> dict:
    return {"sizes": [2, 16, 3], "seed": 0, **extra}


class SpySGD(SGD):
    """Plain SGD that remembers the rate of every step."""

    def __init__(self):
        super().__init__()
        self.rates: list[float] = []

    def _update(self, params, grads, lr):
        self.rates.append(lr)
        super()._update(params, grads, lr)


class PoisonAt(SGD):
    """SGD that writes NaN into the weights at its ``step``-th step (1-based)."""

    def __init__(self, step: int):
        super().__init__()
        self.poison_step = step

    def _update(self, params, grads, lr):
        super()._update(params, grads, lr)
        if self.t == self.poison_step:
            params[0] = np.nan


# The learning rates.

def test_exp_sequence_is_exact():
    lo, hi, n = 1e-7, 10.0, 100
    expected = [lo * (hi / lo) ** (i / (n - 1)) for i in range(n)]
    rates = lr_sequence(lo, hi, n, "exp")
    assert rates.tolist() == expected
    assert rates[0] == lo and rates[-1] == pytest.approx(hi, rel=1e-15)
    # The same rates as netcore's exp_range schedule, the LR-test schedule of fit.
    schedule = netcore.get_schedule("exp_range", lo, max_lr=hi, schedule_steps=n)
    assert schedule.sequence(n) == expected


def test_linear_sequence_is_exact():
    lo, hi, n = 0.01, 1.0, 7
    expected = [lo + (hi - lo) * (i / (n - 1)) for i in range(n)]
    assert lr_sequence(lo, hi, n, "linear").tolist() == expected
    assert expected[0] == lo and expected[-1] == hi
    assert lr_sequence(1.0, 4.0, 4, "linear").tolist() == [1.0, 2.0, 3.0, 4.0]


@pytest.mark.parametrize("mode", ["exp", "linear"])
def test_the_optimizer_steps_with_exactly_the_recorded_rates(spirals, mode):
    spy = SpySGD()
    result = lr_range_test(_config(), spirals, optimizer=spy, lr_min=1e-4, lr_max=1e-2,
                           num_iter=25, mode=mode, batch_size=64)
    assert result.stop_reason == "completed" and not result.stopped_early
    assert spy.rates == result.lrs.tolist() == lr_sequence(1e-4, 1e-2, 25, mode).tolist()


# State restore.

def _trained(optimizer, **model_options) -> netcore.MLP:
    data = netcore.load_dataset("spirals")
    model = netcore.MLP([2, 16, 16, 3], seed=1, **model_options)
    netcore.fit(model, data.X_train[:256], data.y_train[:256], optimizer=optimizer, lr=1e-2,
                batch_size=64, epochs=1, seed=0)
    return model


def _bits(array: np.ndarray) -> bytes:
    return np.ascontiguousarray(array).tobytes()


@pytest.mark.parametrize("optimizer", [Adam(), Momentum(0.9)], ids=["adam", "momentum"])
def test_weights_buffers_rng_and_optimizer_state_are_restored_bit_for_bit(spirals, optimizer):
    model = _trained(optimizer, batch_norm=True, dropout=0.2)
    before = (_bits(model.params), _bits(model.grads), model.get_buffers(),
              model.rng.bit_generator.state, optimizer.state_dict())
    assert before[4]["t"] > 0 and len(before[4]) > 1  # moments exist to be clobbered
    # A rate that ends in divergence leaves the most to undo.
    result = lr_range_test(model, spirals, optimizer=optimizer, lr_min=1e-3, lr_max=1e6,
                           num_iter=60, batch_size=32)
    assert result.diverged
    after_state = optimizer.state_dict()
    assert _bits(model.params) == before[0] and _bits(model.grads) == before[1]
    buffers = model.get_buffers()
    assert buffers.keys() == before[2].keys() and buffers
    assert all(_bits(buffers[k]) == _bits(before[2][k]) for k in buffers)
    assert model.rng.bit_generator.state == before[3]
    assert after_state.keys() == before[4].keys() and after_state["t"] == before[4]["t"]
    assert all(_bits(after_state[k]) == _bits(before[4][k]) for k in after_state if k != "t")


def test_state_is_restored_when_the_test_raises(spirals):
    model = netcore.MLP([2, 8, 3], seed=0)
    params = model.params.copy()

    class Boom(SGD):
        def _update(self, params, grads, lr):
            super()._update(params, grads, lr)
            if self.t == 3:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        lr_range_test(model, spirals, optimizer=Boom(), num_iter=10)
    assert np.array_equal(model.params, params)


def test_a_model_config_dict_and_the_same_model_give_the_same_curve(spirals):
    by_config = lr_range_test(_config(), spirals, num_iter=30, lr_min=1e-3, lr_max=1.0)
    by_model = lr_range_test(netcore.MLP(**_config()), spirals, num_iter=30, lr_min=1e-3, lr_max=1.0)
    assert np.array_equal(by_config.raw_losses, by_model.raw_losses)
    other_seed = lr_range_test(_config(), spirals, num_iter=30, lr_min=1e-3, lr_max=1.0, seed=1)
    assert not np.array_equal(by_config.raw_losses, other_seed.raw_losses)


# Stopping: divergence and non-finite losses.

def test_divergence_stops_the_test_and_is_recorded(spirals):
    result = lr_range_test(_config(), spirals, lr_min=1e-3, lr_max=1e4, num_iter=50, batch_size=64)
    assert result.stop_reason == "diverged" and result.diverged and result.stopped_early
    assert len(result.lrs) < 50 and result.stop_lr == result.lrs[-1]
    # The last point is the one that crossed diverge x best.
    assert result.losses[-1] > 4.0 * result.losses[:-1].min()
    assert np.all(result.losses[:-1] <= 4.0 * np.minimum.accumulate(result.losses[:-1]))
    assert np.isfinite(result.raw_losses).all() and np.isfinite(result.losses).all()
    found = [v for v in result.suggestions.values() if v is not None]
    assert found and all(math.isfinite(v) and v > 0 for v in found)
    assert result.suggestion == result.suggestions[result.method]


def test_diverge_factor_controls_the_stop(spirals):
    early = lr_range_test(_config(), spirals, lr_min=1e-3, lr_max=1e4, num_iter=50, diverge=1.5)
    late = lr_range_test(_config(), spirals, lr_min=1e-3, lr_max=1e4, num_iter=50, diverge=50.0)
    assert len(early.lrs) < len(late.lrs)


@pytest.mark.parametrize("use_val", [False, True])
def test_a_nan_loss_stops_the_test_without_nan_in_the_result(spirals, use_val):
    model = netcore.MLP(**_config())
    params = model.params.copy()
    result = lr_range_test(model, spirals, optimizer=PoisonAt(12), lr_min=1e-4, lr_max=1e-2,
                           num_iter=40, use_val=use_val, val_size=100)
    # Step 12 poisons the weights: with use_val its validation loss is NaN at once,
    # otherwise the training loss of step 13 is; that point is not recorded.
    assert result.stop_reason == "non_finite" and len(result.lrs) == (11 if use_val else 12)
    assert result.stop_lr == lr_sequence(1e-4, 1e-2, 40)[len(result.lrs)]
    for curve in (result.lrs, result.losses, result.raw_losses):
        assert np.isfinite(curve).all()
    assert all(v is None or math.isfinite(v) for v in result.suggestions.values())
    assert np.array_equal(model.params, params)


def test_nan_at_the_first_step_gives_no_suggestion_and_says_why(spirals):
    model = netcore.MLP(**_config())
    model.params[0] = np.nan
    result = lr_range_test(model, spirals, num_iter=20)
    assert len(result.lrs) == 0 and result.stop_reason == "non_finite"
    assert result.suggestion is None and result.confidence == "low"
    assert set(result.suggestions.values()) == {None}
    assert "lower lr_min" in result.notes[0]
    with pytest.raises(ValueError, match="no suggestion"):
        result.narrow()
    assert np.isnan(model.params[0])  # restored as it was, NaN included
    result.plot()  # an empty curve still plots


# Suggestions on synthetic curves.

def _synthetic(seed: int, n: int = 100, noise: float = 0.08, smooth: float = 0.05):
    """A plateau, a fall centred at 1e-2 (in log lr), a floor, and divergence above 1."""
    lrs = lr_sequence(1e-7, 10.0, n)
    x = np.log10(lrs)
    clean = 0.4 + 2.0 / (1.0 + np.exp(2.5 * (x + 2.0))) + np.where(x > 0, 30.0 * x ** 2, 0.0)
    raw = clean + np.random.default_rng(seed).normal(0.0, noise, n)
    return lrs, smooth_curve(raw, smooth), clean


@pytest.mark.parametrize("seed", range(10))
def test_suggestions_are_robust_on_noisy_curves(seed):
    lrs, losses, _ = _synthetic(seed)
    found = suggest(lrs, losses)
    # Every rule lands in the good region: after the fall has begun, before the floor ends.
    for name, value in found.values.items():
        assert value is not None and 1e-4 <= value <= 1.0, (name, value)
    assert found.method == "steepest" and found.suggestion == found.values["steepest"]
    assert 1e-3 <= found.suggestion <= 1e-1
    assert found.confidence in ("high", "medium") and found.spread < 1.5


def test_one_outlier_batch_barely_moves_the_suggestions():
    lrs, losses, clean = _synthetic(0, noise=0.0)
    base = suggest(lrs, losses).values
    for at in range(10, 100, 3):
        for jump in (-0.5, 0.5, 2.0):  # a lucky or unlucky batch, 5 to 20 noise levels off
            raw = clean.copy()
            raw[at] += jump
            found = suggest(lrs, smooth_curve(raw)).values
            if at < 40:  # on the plateau: no effect at all
                assert found == base
            assert all(abs(math.log10(found[k] / base[k])) <= 0.5 for k in base), (at, jump)


def test_a_bouncing_tail_after_the_minimum_never_wins_the_steepest_slope():
    """A rule that takes the steepest fall anywhere (np.gradient over the whole
    curve) picks the bounce of a diverging tail; ours reads up to the minimum."""
    lrs = lr_sequence(1e-5, 10.0, 60)
    fall = 1.5 + 0.5 * np.cos(np.pi * np.linspace(0.0, 1.0, 40))  # 2.0 down to 1.0 at step 39
    tail = np.array([1.4, 2.2, 3.0, 1.6, 1.2, 2.5, 3.5, 4.0, 1.3, 2.0, 3.0, 3.8, 3.9, 3.95, 3.99,
                     4.0, 4.0, 4.0, 4.0, 4.0])
    losses = np.concatenate([fall, tail])
    naive = lrs[6:][np.argmin(np.gradient(losses[6:]))]
    assert naive > lrs[39]
    assert lrs[18] <= suggest(lrs, losses).values["steepest"] <= lrs[21]  # the middle of the fall


def test_rules_read_the_curve_they_are_given():
    lrs = lr_sequence(1e-4, 1.0, 41)
    fall = 1.25 + 0.75 * np.cos(np.pi * np.linspace(0.0, 1.0, 31))  # steepest at step 15
    losses = np.concatenate([fall, np.linspace(0.6, 3.0, 10)])
    found = suggest(lrs, losses)
    assert found.values["min_div_10"] == pytest.approx(lrs[30] / 10)
    assert found.values["steepest"] == lrs[15]
    assert lrs[10] <= found.values["valley"] <= lrs[20]
    assert found.confidence == "medium" and found.spread == pytest.approx(0.6)


def test_a_rising_curve_has_only_the_minimum_rule_and_low_confidence():
    lrs = lr_sequence(1e-3, 1.0, 30)
    found = suggest(lrs, np.linspace(1.0, 2.0, 30))
    assert found.values["steepest"] is None and found.values["valley"] is None
    assert found.method == "min_div_10" and found.confidence == "low" and math.isnan(found.spread)
    assert "fewer than two rules" in found.notes[0]


def test_short_curves_fall_back_with_low_confidence():
    lrs = lr_sequence(1e-3, 1.0, 6)
    found = suggest(lrs, [2.0, 1.9, 1.6, 1.2, 1.1, 1.5])
    assert found.suggestion is not None and found.confidence == "low"
    assert "only 6 points" in found.notes[0]
    assert suggest([], []).suggestion is None
    assert suggest([0.1], [1.0]).values == {"steepest": None, "min_div_10": 0.01, "valley": None}


def test_suggestion_functions_check_their_input():
    with pytest.raises(ValueError, match="equal length"):
        lr_finder.suggest_steepest([0.1, 0.2], [1.0])
    with pytest.raises(ValueError, match="finite"):
        lr_finder.suggest_valley([0.1, 0.2, 0.3], [1.0, np.nan, 0.5])


def test_bias_correction_makes_the_first_smoothed_value_the_first_loss():
    smoothed = smooth_curve([2.0, 2.0, 2.0, 1.0], smooth=0.1)
    assert smoothed[:3].tolist() == pytest.approx([2.0, 2.0, 2.0])
    assert smoothed[3] == pytest.approx((0.9 ** 3 * 0.1 * 2 + 0.9 ** 2 * 0.1 * 2 + 0.9 * 0.1 * 2 + 0.1)
                                        / (1 - 0.9 ** 4))
    assert smooth_curve([3.0, 1.0], smooth=1.0).tolist() == [3.0, 1.0]


# The result object.

@pytest.fixture(scope="module")
def result(spirals) -> LRRangeResult:
    return lr_range_test(_config(), spirals, lr_min=1e-4, lr_max=100.0, num_iter=60, use_val=True,
                         val_size=200, batch_size=64)


def test_result_frame_plot_narrow_and_summary(result, tmp_path):
    frame = result.to_frame()
    assert list(frame.columns) == ["lr", "raw_loss", "loss", "raw_val_loss", "val_loss"]
    assert len(frame) == len(result.lrs) and frame.index.name == "step"
    assert result.monitor == "val_loss" and np.array_equal(result.curve, result.val_losses)

    fig = result.plot(tmp_path / "lr.png")
    assert (tmp_path / "lr.png").stat().st_size > 5_000
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("(suggestion)" in label and result.method in label for label in labels)

    narrowed = result.narrow()
    assert isinstance(narrowed, Float) and narrowed.log
    assert (narrowed.low, narrowed.high) == pytest.approx((result.suggestion / 10, result.suggestion * 3))
    with pytest.raises(ValueError, match="low_factor < high_factor"):
        result.narrow(2.0, 1.0)
    summary = json.loads(json.dumps(result.summary()))
    assert summary["lr_suggestions"] == result.suggestions
    assert summary["lr_confidence"] == result.confidence


def test_narrowed_bounds_drive_a_tpe_search(result):
    strategy = get_strategy("tpe", {"lr": result.narrow(0.5, 2.0)}, seed=0)
    for params in strategy.ask(5):
        assert result.suggestion * 0.5 <= params["lr"] <= result.suggestion * 2.0


def test_validation_subset_is_fixed_and_sized(spirals):
    model = netcore.MLP(**_config())
    one = lr_range_test(model, spirals, num_iter=12, use_val=True, val_size=50, lr_max=1e-3)
    two = lr_range_test(model, spirals, num_iter=12, use_val=True, val_size=50, lr_max=1e-3)
    assert np.array_equal(one.raw_val_losses, two.raw_val_losses)
    X, y = spirals.X_val[:50], spirals.y_val[:50]
    assert one.raw_val_losses[0] != pytest.approx(model.evaluate(X, y)["loss"], abs=0)


@pytest.mark.parametrize(("options", "error", "match"), [
    ({"lr_min": 1.0, "lr_max": 0.1}, ValueError, r"0 < lr_min < lr_max"),
    ({"lr_min": 0.0}, ValueError, r"0 < lr_min < lr_max"),
    ({"mode": "cubic"}, ValueError, r"'mode' parameter must be one of \['exp', 'linear'\]"),
    ({"num_iter": 1}, ValueError, r"num_iter must be an integer >= 2"),
    ({"smooth": 0.0}, ValueError, r"smooth must satisfy 0 < smooth <= 1"),
    ({"diverge": 1.0}, ValueError, r"diverge must be a number > 1"),
    ({"use_val": 1}, TypeError, r"use_val must be True or False"),
    ({"batch_size": 0}, ValueError, r"batch_size must be an integer >= 1"),
    ({"optimizer": "lbfgs"}, ValueError, r"'optimizer' parameter must be one of"),
    ({"optimizer": 3}, TypeError, r"optimizer must be a name"),
    ({"momentum": 0.9}, ValueError, r"'sgd' does not take \['momentum'\]"),
    ({"epochs": 3}, TypeError, r"unknown options \['epochs'\]"),
])
def test_bad_arguments_are_named(spirals, options, error, match):
    with pytest.raises(error, match=match):
        lr_range_test(_config(), spirals, **options)


def test_bad_model_or_data_are_named(spirals):
    with pytest.raises(TypeError, match=r"model_or_config must be a netcore\.MLP or a dict"):
        lr_range_test([2, 16, 3], spirals)
    with pytest.raises(ValueError, match="needs 'sizes'"):
        lr_range_test({"activation": "relu"}, spirals)
    with pytest.raises(TypeError, match="data must be a netcore Dataset"):
        lr_range_test(_config(), spirals.X_train)
    with pytest.raises(ValueError, match="use_val=True needs validation data"):
        lr_range_test(_config(), (spirals.X_train, spirals.y_train), use_val=True)
    with pytest.raises(ValueError, match="expects 3"):
        lr_range_test({"sizes": [3, 4, 3]}, spirals)


# The lr-range strategy.

SPACE = {"lr": space.log_float(1e-4, 10.0), "hidden": space.choice([[16], [32, 16]]),
         "optimizer": space.choice(["sgd", "adam"])}


def test_strategy_proposes_everything_but_lr_and_moves_its_bounds_to_the_objective():
    strategy = get_strategy("lr-range", SPACE, seed=0, range_test_iters=40)
    proposals = strategy.ask(6)
    assert all(set(p) == {"hidden", "optimizer"} for p in proposals)
    assert proposals == get_strategy("lr-range", SPACE, seed=0, range_test_iters=40).ask(6)
    space_, objective = strategy.configure(ObjectiveConfig(dataset="spirals"))
    assert list(space_) == ["hidden", "optimizer"]
    assert objective.fixed["lr"] == lr_finder.RANGE_TEST
    assert dict(objective.range_test) == {"num_iter": 40, "mode": "exp", "lr_min": 1e-4, "lr_max": 10.0}
    # Applied again to its own output (a reloaded study), nothing changes.
    again = get_strategy("lr-range", space_, seed=0, range_test_iters=40).configure(objective)
    assert again[0] == space_ and again[1] == objective


def test_strategy_grid_sampler_walks_the_other_parameters_once():
    strategy = get_strategy("lr-range", SPACE, sampler="grid")
    seen = []
    while not strategy.exhausted:
        seen.extend(strategy.ask(3))
    assert strategy.size == len(seen) == 4
    assert {(tuple(p["hidden"]), p["optimizer"]) for p in seen} == {
        ((16,), "sgd"), ((16,), "adam"), ((32, 16), "sgd"), ((32, 16), "adam")}
    strategy.tell([TrialResult(0, seen[0], 0, COMPLETE, value=1.0)])


@pytest.mark.parametrize(("space_", "options", "match"), [
    ({"lr": space.choice([0.1, 0.01])}, {}, "give 'lr' as a float range"),
    ({"lr": space.log_float(1e-3, 1.0)}, {"lr_min": 1e-5}, "not both"),
    ({}, {"lr_min": 1.0, "lr_max": 0.1}, r"0 < lr_min < lr_max"),
    ({}, {"sampler": "tpe"}, r"'sampler' parameter must be one of \['grid', 'random'\]"),
    ({}, {"points": 3}, "apply to sampler='grid'"),
    ({}, {"range_test_iters": 1}, "num_iter must be an integer >= 2"),
])
def test_strategy_rejects_bad_options(space_, options, match):
    with pytest.raises(ValueError, match=match):
        get_strategy("lr-range", {**space_, "units": space.int(8, 32)}, **options)


def test_lr_range_study_end_to_end(tmp_path):
    study = hpsearch.Study.create(
        "lr-range", dataset="spirals", strategy="lr-range", storage=f"sqlite:///{tmp_path}/s.db",
        space=SPACE, fixed={"batch_size": 64}, epochs=4, seed=0, patience=None,
        strategy_options={"range_test_iters": 50})
    df = study.run(n_trials=3, progress=False)
    assert len(df) == 3 and (df["state"] == "COMPLETE").all()
    assert "lr" not in study.config.space
    for _, row in df.iterrows():
        assert row["lr"] == row["lr_suggestions"][row["lr_method"]]
        assert 1e-4 <= row["lr"] <= 10.0 and row["lr_confidence"] in ("high", "medium", "low")
    best = study.best_trial
    assert best["metrics"]["lr"] == df.loc[df["value"].idxmin(), "lr"]
    assert len(best["curves"]["range_test_lr"]) == best["metrics"]["range_test_steps"]
    assert set(best["curves"]["val_loss"]) and len(best["curves"]["val_loss"]) == 4
    reloaded = hpsearch.Study.load("lr-range", f"sqlite:///{tmp_path}/s.db")
    assert reloaded.config == study.config
    pd.testing.assert_frame_equal(reloaded.results(), study.results())


def test_the_objective_trains_with_the_suggested_rate(spirals):
    from hpsearch import objective

    config = objective.ObjectiveConfig(dataset="spirals", epochs=2, patience=None,
                                       fixed={"lr": lr_finder.RANGE_TEST},
                                       range_test={"num_iter": 40, "lr_min": 1e-3, "lr_max": 10.0})
    params = {"hidden": [16], "optimizer": "sgd", "batch_size": 64}
    record = objective.evaluate(config, params, seed=7)
    direct = lr_range_test({"sizes": [2, 16, 3], "seed": 7}, spirals, optimizer="sgd", batch_size=64,
                           seed=7, num_iter=40, lr_min=1e-3, lr_max=10.0)
    assert record["lr"] == direct.suggestion and record["lr_suggestions"] == direct.suggestions
    with pytest.raises(ValueError, match="unknown range-test option"):
        objective.ObjectiveConfig(range_test={"iterations": 5})


# The lr-find command.

def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    lr_find_cli.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_lr_find_prints_suggestions_and_writes_the_plot(tmp_path, capsys):
    out = tmp_path / "find.png"
    code = lr_find_cli.run(_args("--dataset", "spirals", "--hidden", "16", "--optimizer", "momentum",
                                 "--momentum", "0.8", "--num-iter", "50", "--lr-min", "1e-4",
                                 "--lr-max", "100", "--batch-size", "64", "--out", str(out)))
    text = capsys.readouterr().out
    assert code == 0 and out.stat().st_size > 5_000
    for word in ("steepest", "valley", "min_div_10", "<- suggestion", "confidence:", str(out)):
        assert word in text


def test_lr_find_reports_bad_input_on_stderr(tmp_path, capsys):
    code = lr_find_cli.run(_args("--dataset", "spirals", "--lr-min", "1", "--lr-max", "0.1",
                                 "--out", str(tmp_path / "x.png")))
    captured = capsys.readouterr()
    assert code == 2 and "lr_min" in captured.err and captured.out == ""
    assert not (tmp_path / "x.png").exists()


# The acceptance check on MNIST (studies/lr_finder_mnist.py writes the full report).

@pytest.mark.slow
def test_suggestion_trains_within_a_point_of_the_best_grid_rate_on_mnist(mnist_available, monkeypatch):
    """784-100-10 ReLU, SGD, 3 epochs, batch 128: the suggestion against a 7-point log grid 1e-4..1."""
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[3]))
    from studies import lr_finder_mnist

    check = lr_finder_mnist.criterion(lr_finder_mnist.FULL)
    assert [f"{lr:.3g}" for lr, _ in check["grid"]] == [
        "0.0001", "0.000464", "0.00215", "0.01", "0.0464", "0.215", "1"]
    assert check["result"].method == "steepest"
    assert check["diff"] >= -0.01, check
