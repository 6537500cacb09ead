"""Studies of several objectives: metric lists, Pareto sets, NSGA-II, plots, specs, the CLI."""

from __future__ import annotations

import importlib.util
import itertools
import json
from pathlib import Path

import pytest
from helpers.cli import run_hpsearch

import hpsearch
from hpsearch import space
from hpsearch.execution.loop import _with_point
from hpsearch.models.store import _model_order
from hpsearch.objective import ObjectiveConfig
from hpsearch.results.pareto import dominates, pareto_mask
from hpsearch.results.plots import plot_pareto, write_plots
from hpsearch.space.searchspace import SearchSpace
from hpsearch.spec import load_spec
from hpsearch.strategies import STRATEGIES, get_strategy, multi_objective_strategies
from hpsearch.study_config import StudyConfig
from hpsearch.trial import COMPLETE, FAIL, TrialResult

SPACE = {"lr": space.log_float(1e-3, 1e-1), "hidden": space.choice([[4], [16], [32, 16]])}
DIGITS_FEATURES, DIGITS_CLASSES = 64, 10


def _study(storage, name="mo", strategy="tpe", metric=("val_loss", "n_params"), **kwargs):
    options = {"dataset": "digits", "epochs": 2, "max_train": 300, "seed": 0, "space": SPACE,
               "round_size": 4, "keep_models": 0, **kwargs}
    metric = list(metric) if isinstance(metric, tuple) else metric
    return hpsearch.Study.create(name, strategy=strategy, storage=storage, metric=metric,
                                 **options)


def _brute_force_front(frame, metrics, directions) -> set[int]:
    """Slots of the complete trials that no other complete trial dominates, pair by pair."""
    done = frame[frame["state"] == "COMPLETE"]
    points = {int(row["trial"]): [row[m] for m in metrics] for _, row in done.iterrows()}
    sign = {"minimize": 1.0, "maximize": -1.0}
    at_least_as_good = lambda a, b: all(sign[d] * x <= sign[d] * y  # noqa: E731
                                        for x, y, d in zip(a, b, directions, strict=True))
    return {slot for slot, p in points.items()
            if not any(at_least_as_good(q, p) and q != p for q in points.values())}


def _net_size(hidden) -> int:
    sizes = [DIGITS_FEATURES, *hidden, DIGITS_CLASSES]
    return sum(n_in * n_out + n_out for n_in, n_out in itertools.pairwise(sizes))


@pytest.mark.parametrize("strategy, options", [("tpe", {"n_startup_trials": 4}),
                                               ("nsga2", {"population_size": 4})])
def test_study_returns_a_true_pareto_set_and_its_plot(storage, tmp_path, strategy, options):
    study = _study(storage, strategy=strategy, strategy_options=options)
    study.run(n_trials=6, progress=False)
    # Resumed: the strategy is told the stored trials' two values, then asks for more.
    frame = hpsearch.Study.load("mo", storage).run(n_trials=10, progress=False)
    assert len(frame) == 10 and (frame["state"] == "COMPLETE").all()
    assert (frame["value"] == frame["val_loss"]).all()
    front = study.best_trials
    assert list(front.columns[:3]) == ["trial", "val_loss", "n_params"]
    assert not front.empty
    assert set(front["trial"]) == _brute_force_front(frame, ["val_loss", "n_params"],
                                                     ["minimize", "minimize"])
    for _, row in frame.iterrows():
        assert row["n_params"] == _net_size(row["hidden"])
    assert front["n_params"].dtype.kind == frame["n_params"].dtype.kind == "i"  # counts
    path = tmp_path / "pareto.png"
    plot_pareto(study).savefig(path)
    assert path.stat().st_size > 1000


def test_mixed_directions_epoch_time_and_plots(storage, tmp_path):
    study = _study(storage, strategy="random", metric=("val_accuracy", "epoch_time"))
    frame = study.run(n_trials=8, progress=True)  # the bar shows the Pareto set's size
    assert (frame["epoch_time"] > 0).all()
    front = study.best_trials
    assert set(front["trial"]) == _brute_force_front(frame, ["val_accuracy", "epoch_time"],
                                                     ["maximize", "minimize"])
    board = study.leaderboard()  # ranked by the first objective
    assert board["value"].tolist() == sorted(board["value"], reverse=True)
    line = plot_pareto(study).axes[0].get_lines()[0]  # the Pareto set as a step line
    assert line.get_drawstyle() == "steps-post"
    assert sorted(line.get_xdata()) == sorted(front["val_accuracy"])
    assert list(line.get_ydata()) == sorted(line.get_ydata(), reverse=True)  # worse time, better accuracy
    written = {p.name for p in write_plots(study, tmp_path / "plots")}
    assert {"pareto.png", "history.png", "slices.png"} <= written


def test_cross_validated_objectives(storage):
    study = _study(storage, strategy="random", metric=("cv_accuracy", "cv_loss", "n_params"),
                   cv_folds=2, epochs=1, max_train=200)
    frame = study.run(n_trials=2, progress=False)
    assert (frame["state"] == "COMPLETE").all()
    assert (frame["value"] == frame["cv_accuracy"]).all()
    assert frame[["cv_accuracy_std", "cv_loss_std"]].notna().all().all()
    assert not study.best_trials.empty
    panels = [ax for ax in plot_pareto(study).axes if ax.get_visible()]
    assert len(panels) == 3  # one per pair of the three objectives
    with pytest.raises(ValueError, match="a Pareto front needs several"):
        plot_pareto(_study(storage, name="single", metric="val_loss"))


def _objective(**kwargs) -> ObjectiveConfig:
    return ObjectiveConfig(dataset="digits", **kwargs)


@pytest.mark.parametrize("metric, error, message", [
    (["val_loss", "f1"], ValueError, r"unknown metric\(s\) \['f1'\]"),
    (["val_loss", "val_loss"], ValueError, "two or more distinct metrics"),
    (["val_loss"], ValueError, "two or more distinct metrics"),
    ("n_params", ValueError, r"allowed only in a multi-objective list.*'val_loss', 'n_params'"),
    (["n_params", "epoch_time"], ValueError, "needs a validation metric"),
    (["cv_loss", "val_accuracy"], ValueError, "mixes cross-validated"),
    (["val_loss", 3], TypeError, "a metric name or a list of names"),
    (3, TypeError, "a metric name or a list of names"),
])
def test_bad_metric_lists(metric, error, message):
    with pytest.raises(error, match=message):
        _objective(metric=metric)


def test_directions_monitor_and_round_trip():
    # Study.create, specs and stored configs give a metric list as a tuple.
    config = _objective(metric=("n_params", "val_accuracy", "val_loss"))
    assert config.metrics == ("n_params", "val_accuracy", "val_loss")
    assert config.directions == ["minimize", "maximize", "minimize"]
    assert config.monitor == "val_accuracy" and config.multi_objective
    with pytest.raises(ValueError, match="no single direction; use directions"):
        _ = config.direction
    study = StudyConfig(space=SPACE, objective=config, strategy="nsga2")
    stored = json.loads(json.dumps(study.to_dict()))
    assert stored["objective"]["metric"] == ["n_params", "val_accuracy", "val_loss"]
    assert StudyConfig.from_dict(stored) == study
    # A configuration stored before metric lists existed.
    old = json.loads(json.dumps(StudyConfig(space=SPACE).to_dict()))
    assert old["objective"]["metric"] == "val_loss"
    single = StudyConfig.from_dict(old).objective
    assert single.direction == "minimize" and single.metrics == ("val_loss",)
    assert not single.multi_objective


def test_refusals(storage):
    with pytest.raises(TypeError, match="a metric name or a list of names"):
        _study(storage, metric=7)
    with pytest.raises(ValueError, match="pruner 'median' cannot judge a multi-objective"):
        _study(storage, pruner="median")
    for name in ("cmaes", "tpe-hyperopt"):
        with pytest.raises(ValueError, match=rf"strategy '{name}' cannot optimise several "
                                             r"objectives; .*can use \[.*'nsga2'.*'tpe'"):
            _study(storage, strategy=name)
    study = _study(storage)
    for attribute in ("best_trial", "best_params", "best_value"):
        with pytest.raises(ValueError, match="use best_trials"):
            getattr(study, attribute)
    with pytest.raises(ValueError, match="several objectives"):
        study.confirm()
    assert study.best_trials.empty


QUADRATIC = SearchSpace({"x": space.float(-3.0, 3.0), "k": space.int(0, 8, step=2),
                         "kind": space.choice(["a", "b"])})
MULTI = [pytest.param(name, marks=pytest.mark.skipif(
    name == "gp" and importlib.util.find_spec("torch") is None, reason="gp needs torch"))
    for name in multi_objective_strategies()]


def _drive_two_objectives(name: str, seed: int) -> list[dict]:
    options = {"grid": {"points": 3}, "nsga2": {"population_size": 4}}.get(name, {})
    strategy = get_strategy(name, QUADRATIC, seed=seed, direction=["minimize", "maximize"],
                            **options)
    proposals = []
    for _ in range(5):
        first, asked = strategy.next_slot, strategy.ask(3)
        results = []
        for slot, params in enumerate(asked, start=first):
            values = [(params["x"] - 1.0) ** 2 + params["k"], -abs(params["x"])]
            results.append(TrialResult(slot, params, 0, FAIL, error="boom") if slot % 4 == 3
                           else TrialResult(slot, params, 0, COMPLETE, value=values[0],
                                            values=values))
        strategy.tell(results)
        proposals.extend(asked)
    return proposals


@pytest.mark.parametrize("name", MULTI)
def test_multi_objective_strategies_conform(name):
    proposals = _drive_two_objectives(name, seed=0)
    assert len(proposals) == 15
    for params in proposals:
        QUADRATIC.validate(params)
    assert proposals == _drive_two_objectives(name, seed=0)


def test_which_strategies_serve_several_objectives():
    assert {"tpe", "nsga2", "random", "grid", "qmc"} <= set(multi_objective_strategies())
    refused = sorted(set(STRATEGIES) - set(multi_objective_strategies()))
    assert refused == ["asha", "bohb", "cmaes", "pbt", "tpe-hyperopt"]


def test_pareto_mask_matches_pairwise_dominance(rng):
    points = rng.integers(0, 6, size=(40, 3)).astype(float)  # ties and duplicates too
    directions = ["minimize", "maximize", "minimize"]
    expected = [not any(dominates(q, p, directions) for q in points) for p in points]
    assert pareto_mask(points, directions).tolist() == expected
    assert dominates([1, 5], [2, 5], ["minimize", "maximize"])
    assert not dominates([1, 5], [1, 5], ["minimize", "maximize"])


def test_progress_front_keeps_the_non_dominated_points():
    front: list[list[float]] = []
    for point in ([3, 3], [2, 4], [4, 4], [1, 1], [0, 5]):
        front = _with_point(front, point, ["minimize", "minimize"])
    assert sorted(front) == [[0, 5], [1, 1]]


SPEC = """
[study]
name = "mo-cli"
dataset = "digits"
strategy = "nsga2"
metric = ["val_loss", "n_params"]
trials = 6
epochs = 2
max_train = 300
storage = "sqlite:///{db}"

[strategy_options]
population_size = 3

[space.lr]
type = "log_float"
low = 1e-3
high = 1e-1

[space.hidden]
type = "choice"
values = [[4], [16]]
"""


def test_spec_round_trip(tmp_path):
    path = tmp_path / "mo.toml"
    path.write_text(SPEC.format(db=tmp_path / "mo.db"))
    spec = load_spec(path)
    assert spec.config.objective.metrics == ("val_loss", "n_params")
    assert StudyConfig.from_dict(json.loads(json.dumps(spec.config.to_dict()))) == spec.config
    path.write_text(SPEC.format(db=tmp_path / "mo.db").replace('"n_params"]', '"n_params", 1]'))
    with pytest.raises(ValueError, match="a metric name or a list of names"):
        load_spec(path)


def test_the_ready_made_spec_validates(capsys):
    from hpsearch.cli.main import main

    path = Path(__file__).resolve().parents[3] / "studies" / "pareto_digits.toml"
    assert main(["validate", str(path)]) == 0
    assert "nsga2 search on digits, val_loss (minimize), n_params (minimize)" in \
        capsys.readouterr().out




def test_cli_runs_a_metric_list_and_shows_the_pareto_set(tmp_path):
    path = tmp_path / "mo.toml"
    path.write_text(SPEC.format(db=tmp_path / "mo.db"))
    run = run_hpsearch("run", path, "--no-progress", "--out", tmp_path / "out", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "out" / "pareto.png").stat().st_size > 1000
    show = run_hpsearch("show", f"sqlite:///{tmp_path / 'mo.db'}", cwd=tmp_path)
    assert show.returncode == 0, show.stderr
    assert "Pareto set:" in show.stdout and "val_loss (minimize), n_params (minimize)" in show.stdout
    assert "best trial" not in show.stdout
    expected = hpsearch.Study.load("mo-cli", f"sqlite:///{tmp_path / 'mo.db'}").best_trials
    assert f"Pareto set: {len(expected)} trial(s)" in show.stdout


def test_kept_models_prefer_the_pareto_set(storage):
    study = _study(storage, name="kept", strategy="random", keep_models=2)
    frame = study.run(n_trials=6, progress=False)
    on_disk = {t for t in frame["trial"] if _loads(study, t)}
    assert len(on_disk) == 2
    assert frame.loc[frame["val_loss"].idxmin(), "trial"] in on_disk
    # Pareto-optimal first (by the first objective), then the others.
    trials = [([1.0, 9.0], 0), ([3.0, 1.0], 1), ([2.0, 9.5], 2), ([0.5, 20.0], 3)]
    assert _model_order(["minimize", "minimize"], trials) == [3, 0, 1, 2]
    assert _model_order(["minimize"], [([2.0], 0), ([1.0], 1)]) == [1, 0]


def _loads(study, slot) -> bool:
    try:
        study.model(slot)
    except ValueError:
        return False
    return True
