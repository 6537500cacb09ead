"""Studies on the user's own data, and the trained models they give back."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes

import hpsearch
import netcore
from hpsearch import space
from hpsearch.storages import artifacts
from hpsearch.study import Study

QUICK = {"epochs": 4, "patience": 2}
SPACE = {"lr": space.log_float(1e-3, 3e-2), "hidden": space.choice([[16], [32, 16]])}


def _test_metrics(model: netcore.MLP, data: netcore.Dataset) -> dict:
    return {f"test_{k}": v for k, v in model.evaluate(data.X_test, data.y_test).items()}


def _recorded(study: Study, slot: int) -> dict:
    row = study.results().set_index("trial").loc[slot]
    return {k: row[k] for k in row.index if str(k).startswith("test_")}


@pytest.fixture(scope="module")
def cancer() -> tuple[np.ndarray, np.ndarray]:
    return load_breast_cancer(return_X_y=True)


@pytest.fixture(scope="module")
def cancer_study(tmp_path_factory, cancer) -> Study:
    storage = f"sqlite:///{tmp_path_factory.mktemp('cancer') / 'runs.db'}"
    study = Study.create("cancer", space=SPACE, data=cancer, strategy="tpe", storage=storage,
                         seed=0, keep_models=3, **QUICK)
    study.run(n_trials=6, n_jobs=2, progress=False)
    return study


def test_tpe_study_on_arrays_gives_back_the_best_model_exactly(cancer_study):
    data = cancer_study.dataset()
    assert data.n_features == 30 and data.n_classes == 2
    model = cancer_study.best_model()
    best = cancer_study.best_trial
    assert _test_metrics(model, data) == _recorded(cancer_study, best["trial"])
    assert best["metrics"]["test_accuracy"] > 0.85


def test_only_the_best_models_are_kept(cancer_study):
    files = sorted(artifacts.models_dir(cancer_study.folder).glob("*.npz"))
    assert len(files) == 3
    board = cancer_study.results().query("state == 'COMPLETE'").sort_values("value")
    for slot in board["trial"][:3]:
        assert cancer_study.model(int(slot)).n_params > 0
    worst = int(board["trial"].iloc[-1])
    with pytest.raises(ValueError, match=r"was not kept.*refit"):
        cancer_study.model(worst)


def test_models_carry_the_data_preprocessing(cancer_study, cancer):
    X, y = cancer
    model = cancer_study.best_model()
    assert model.preprocessing is not None and model.preprocessing.classes == (0, 1)
    prepared = model.preprocessing.transform(X)
    labels = model.predict(X)  # raw rows in: the preprocessing is the model's to apply
    np.testing.assert_array_equal(labels, model.preprocessing.decode(model.predict_prepared(prepared)))
    assert np.mean(labels == y) > 0.85


def test_refit_trains_the_best_configuration_again(cancer_study):
    best = cancer_study.best_trial
    again = cancer_study.refit(on="train")
    data = cancer_study.dataset()
    recorded = _recorded(cancer_study, best["trial"])
    refit_metrics = _test_metrics(again, data)
    assert refit_metrics["test_loss"] == pytest.approx(recorded["test_loss"], rel=1e-3)
    wider = cancer_study.refit(on="train+val")
    assert wider.evaluate(data.X_test, data.y_test)["accuracy"] > 0.85
    with pytest.raises(ValueError, match="'on' parameter"):
        cancer_study.refit(on="everything")


def test_a_trial_receives_paths_not_arrays(cancer_study):
    task = cancer_study.make_task(1, 0, 7, {"lr": 0.01, "hidden": [16]}, 1)
    assert task.files.data_dir and task.files.model_path
    assert len(pickle.dumps(task)) < 10_000


def test_resuming_with_other_data_is_refused(cancer_study, cancer):
    X, y = cancer
    with pytest.raises(ValueError, match="created on other data"):
        Study.create("cancer", space=SPACE, data=(X[:-1], y[:-1]), strategy="tpe",
                     storage=cancer_study.storage_url, seed=0, keep_models=3,
                     load_if_exists=True, **QUICK)
    same = Study.create("cancer", space=SPACE, data=(X, y), strategy="tpe",
                        storage=cancer_study.storage_url, seed=0, keep_models=3,
                        load_if_exists=True, **QUICK)
    assert same.best_value == cancer_study.best_value


def test_regression_study_on_diabetes(tmp_path):
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    study = Study.create("diabetes", space={"lr": space.log_float(1e-3, 3e-2)},
                         data=(X, y), metric="val_rmse", storage=f"sqlite:///{tmp_path / 'r.db'}",
                         fixed={"hidden": [16]}, epochs=6, patience=3)
    assert study.config.objective.task == "regression"
    frame = study.run(n_trials=3, progress=False)
    assert {"val_rmse", "val_r2", "test_rmse", "test_r2"} <= set(frame.columns)
    assert not any("accuracy" in c for c in frame.columns)
    model = study.best_model()
    assert model.loss.name == "mse" and model.sizes[-1] == 1
    data = study.dataset()
    assert _test_metrics(model, data) == _recorded(study, study.best_trial["trial"])
    assert study.best_value == pytest.approx(study.best_trial["metrics"]["val_rmse"])


def test_regression_refuses_accuracy(tmp_path):
    X, y = load_diabetes(return_X_y=True)
    with pytest.raises(ValueError, match="'metric' parameter must be one of"):
        Study.create("bad", space=SPACE, data=(X, y), metric="val_accuracy",
                     storage=f"sqlite:///{tmp_path / 'r.db'}")


def test_keep_models_zero_keeps_none(tmp_path, cancer):
    study = Study.create("none", space=SPACE, data=cancer, storage=f"sqlite:///{tmp_path / 'n.db'}",
                         keep_models=0, **QUICK)
    study.run(n_trials=2, progress=False)
    assert not artifacts.models_dir(study.folder).exists()
    with pytest.raises(ValueError, match="was not kept"):
        study.best_model()


def test_bad_data_argument(tmp_path):
    with pytest.raises(TypeError, match=r"data must be a netcore\.Dataset"):
        Study.create("x", space=SPACE, data=np.zeros((3, 2)), storage=f"sqlite:///{tmp_path / 'x.db'}")


def test_tune_one_liner(cancer):
    X, y = cancer
    study = hpsearch.tune(pd.DataFrame(X), pd.Series(y), n_trials=3, epochs=3, progress=False)
    assert study.storage_url == "memory"
    assert study.best_model().evaluate(study.dataset().X_test,
                                       study.dataset().y_test)["accuracy"] > 0.8
    other = hpsearch.tune(X, y, n_trials=1, epochs=1, progress=False)
    assert other.name != study.name


def test_study_folders_stay_inside_the_artifacts_root(tmp_path):
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    root = artifacts.artifacts_root(url)
    for name in ("../escape", "/abs/path", "..", "a/b", "~"):
        folder = artifacts.study_dir(url, artifacts.new_folder(name))
        assert folder.parent == root and ".." not in folder.name.split("/")
    for stored in ("../escape", "/abs", "..", "a/b", "", 7):  # a crafted storage's record
        with pytest.raises(ValueError, match="not a plain folder name"):
            artifacts.study_dir(url, stored)
    assert artifacts.safe_name("plain-name_1") == "plain-name_1"


def test_workers_memory_map_the_study_data(cancer_study):
    from hpsearch.objective import load_data
    from netcore.data.cache import is_memory_mapped

    task = cancer_study.make_task(1, 0, 7, {"lr": 0.01, "hidden": [16]}, 1)
    data = load_data(task.objective, task.files)
    assert all(is_memory_mapped(a) for a in (data.X_train, data.X_val, data.X_test))
