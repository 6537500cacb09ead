"""Study: create, run, load, resume, results, reproducibility, pruning."""

from __future__ import annotations

import pandas as pd
import pytest

import hpsearch
from hpsearch import space

SPACE = {"lr": space.log_float(1e-3, 1e-1), "hidden": space.choice([[16], [32, 16]]),
         "optimizer": space.choice(["sgd", "adam"])}
COMPARED = ["trial", "state", "value", "lr", "hidden", "optimizer", "val_loss", "val_accuracy",
            "test_loss", "test_accuracy", "epochs_run", "best_epoch", "stop_reason", "seed"]


def _study(storage, name="s", strategy="random", **kwargs):
    options = {"dataset": "spirals", "epochs": 3, "seed": 0, "space": SPACE, **kwargs}
    return hpsearch.Study.create(name, strategy=strategy, storage=storage, **options)


def test_run_then_resume_to_the_full_budget(storage):
    study = _study(storage)
    first = study.run(n_trials=3, progress=False)
    assert list(first["trial"]) == [0, 1, 2]
    again = hpsearch.Study.load("s", storage)
    df = again.run(n_trials=5, progress=False)
    assert list(df["trial"]) == [0, 1, 2, 3, 4] and (df["state"] == "COMPLETE").all()
    pd.testing.assert_frame_equal(df.iloc[:3][COMPARED], first[COMPARED])
    assert again.run(n_trials=5, progress=False).shape[0] == 5


def test_results_columns_and_best(storage):
    df = _study(storage).run(n_trials=4, progress=False)
    for column in [*COMPARED, "duration", "error", "requeued", "number"]:
        assert column in df.columns
    study = hpsearch.Study.load("s", storage)
    best = study.best_trial
    assert best["value"] == df["value"].min() == study.best_value
    assert best["curves"]["val_loss"] and best["metrics"]["test_accuracy"] > 0
    assert isinstance(study.best_params["hidden"], list)


def test_create_existing_and_load_missing(storage):
    _study(storage)
    with pytest.raises(ValueError, match="already exists"):
        _study(storage)
    assert _study(storage, load_if_exists=True).name == "s"
    with pytest.raises(ValueError, match=r"different configuration: seed: stored 0, requested 1; .*--name"):
        _study(storage, load_if_exists=True, seed=1)
    with pytest.raises(ValueError, match=r"no study named 'other'.*\['s'\]"):
        hpsearch.Study.load("other", storage)


def test_no_completed_trial_yet(storage):
    with pytest.raises(ValueError, match="no completed trial yet"):
        _ = _study(storage).best_params


@pytest.mark.parametrize("strategy", ["random", "tpe", "tpe-hyperopt", "grid"])
def test_parallel_run_gives_the_serial_results(tmp_path, strategy):
    options = {"strategy_options": {"points": 2}} if strategy == "grid" else {}
    frames = []
    for n_jobs in (1, 2):
        study = _study(f"sqlite:///{tmp_path / f'{n_jobs}.db'}", strategy=strategy, **options)
        frames.append(study.run(n_trials=8, n_jobs=n_jobs, progress=False)[COMPARED])
    pd.testing.assert_frame_equal(frames[0], frames[1])


def test_journal_and_memory_storages(tmp_path):
    for url in (f"journal:///{tmp_path / 'runs.log'}", "memory"):
        df = _study(url, name="j").run(n_trials=2, progress=False)
        assert (df["state"] == "COMPLETE").all()


def test_timeout_stops_new_trials(storage):
    df = _study(storage).run(n_trials=50, timeout=0.5, progress=False)
    assert 1 <= len(df) < 50 and (df["state"] == "COMPLETE").all()


def test_pruned_trials_are_recorded_as_pruned(storage):
    study = hpsearch.Study.create(
        "p", dataset="digits", strategy="random", storage=storage, seed=0, epochs=8,
        patience=None, pruner="median", max_train=300,
        space={"lr": space.choice([3e-2, 1e-6]), "hidden": space.fixed([16])})
    df = study.run(n_trials=14, progress=False)
    assert set(df["state"]) <= {"COMPLETE", "PRUNED"}
    pruned = df[df["state"] == "PRUNED"]
    assert len(pruned) >= 1 and (pruned["lr"] == 1e-6).all()
    assert (pruned["epochs_run"] < 8).all()


@pytest.mark.parametrize("kwargs, match", [
    ({"space": {"learning_rate": space.float(0, 1)}}, r"unknown parameter name\(s\)"),
    ({"strategy": "bayes"}, "'strategy' parameter must be one of"),
    ({"dataset": "cifar"}, "'dataset' parameter must be one of"),
    ({"metric": "f1"}, "'metric' parameter must be one of"),
    ({"pruner": "asha"}, "'pruner' parameter must be one of"),
    ({"strategy": "grid", "space": {f"units{i}": space.float(0, 1) for i in range(1)}
      | {"lr": space.float(0.1, 1), "l2": space.float(0, 1), "l1": space.float(0, 1),
         "momentum": space.float(0, 0.9), "beta1": space.float(0, 0.9),
         "rho": space.float(0, 0.9)}}, r"unknown parameter name"),
    ({"strategy": "grid", "space": {k: space.float(0.1, 0.9) for k in
                                    ("lr", "l2", "l1", "beta1", "beta2", "rho", "eps")}},
     "more than the limit"),
    ({"fixed": {"colour": "red"}}, r"unknown fixed setting\(s\) \['colour'\]"),
])
def test_bad_study_is_refused_before_any_trial(storage, kwargs, match):
    with pytest.raises(ValueError, match=match):
        _study(storage, **kwargs)


@pytest.mark.parametrize("kwargs, match", [
    ({"n_trials": 0}, "n_trials must be a positive integer"),
    ({"n_trials": 2, "n_jobs": 0}, "n_jobs must be a positive integer"),
    ({"n_trials": 2, "timeout": -1}, "timeout must be a positive number"),
])
def test_bad_run_arguments(storage, kwargs, match):
    with pytest.raises(ValueError, match=match):
        _study(storage).run(progress=False, **kwargs)


def test_cross_validated_metric(storage):
    study = _study(storage, metric="cv_loss", cv_folds=3)
    df = study.run(n_trials=2, progress=False)
    assert (df["state"] == "COMPLETE").all() and df["cv_loss_std"].notna().all()
