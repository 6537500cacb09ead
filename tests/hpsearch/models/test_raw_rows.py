"""The model a study gives back answers the user's raw rows with the user's answers.

``best_model()``, ``model(trial)``, ``refit()``, ``tune(...)`` and ``netcore.load``
all give a net that carries its preprocessing: raw rows in (columns by name, in
any order, or an array of the right width), the user's labels or the target's
units out, and the very numbers the study recorded for its test rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers.cli import run_hpsearch
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.model_selection import train_test_split

import hpsearch
import netcore
from hpsearch import space
from hpsearch.study import Study

QUICK = {"epochs": 4, "patience": 2}
SPACE = {"lr": space.log_float(3e-3, 3e-2), "hidden": space.choice([[16], [32]])}


def _split(X, y, *, stratify: bool = True):
    return train_test_split(X, y, test_size=0.25, random_state=0,
                            stratify=y if stratify else None)


def _study(tmp_path_factory, name: str, X_train, y_train, X_test, y_test, **options) -> Study:
    """A small study whose test rows are the caller's own raw ``X_test``."""
    data = netcore.Dataset.from_arrays(X_train, y_train, X_test=X_test, y_test=y_test, val=0.2,
                                       seed=0)
    storage = f"sqlite:///{tmp_path_factory.mktemp(name) / 'runs.db'}"
    study = Study.create(name, space=SPACE, data=data, storage=storage, seed=0, keep_models=2,
                         **{**QUICK, **options})
    study.run(n_trials=3, progress=False)
    return study


def _recorded_test(study: Study) -> dict:
    return study.best_trial["metrics"]


@pytest.fixture(scope="module")
def wine(tmp_path_factory):
    X, y = load_wine(return_X_y=True, as_frame=True)
    labels = np.array(["barolo", "grignolino", "barbera"], dtype=object)[y.to_numpy()]
    X_train, X_test, y_train, y_test = _split(X, labels)
    study = _study(tmp_path_factory, "wine", X_train, y_train, X_test, y_test)
    return study, X_test, y_test


@pytest.fixture(scope="module")
def diabetes(tmp_path_factory):
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = _split(X, y.to_numpy(), stratify=False)
    study = _study(tmp_path_factory, "diabetes", X_train, y_train, X_test, y_test,
                   metric="val_rmse")
    return study, X_test, y_test


def test_wine_dataframe_rows_give_the_recorded_test_accuracy_in_the_users_labels(wine):
    study, X_test, y_test = wine
    model = study.best_model()
    predicted = model.predict(X_test)
    assert set(predicted) <= {"barolo", "grignolino", "barbera"}
    assert np.mean(predicted == y_test) == _recorded_test(study)["test_accuracy"]
    assert _recorded_test(study)["test_accuracy"] > 0.8


def test_reordered_columns_give_the_same_answers(wine):
    study, X_test, _ = wine
    model = study.best_model()
    reordered = X_test[list(X_test.columns[::-1])]
    np.testing.assert_array_equal(model.predict(reordered), model.predict(X_test))
    np.testing.assert_array_equal(model.predict_proba(reordered), model.predict_proba(X_test))


def test_predict_proba_has_one_column_per_label_in_classes_order(wine):
    study, X_test, _ = wine
    model = study.best_model()
    proba = model.predict_proba(X_test)
    assert list(model.classes_) == ["barbera", "barolo", "grignolino"]
    assert proba.shape == (len(X_test), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(model.classes_[proba.argmax(axis=1)], model.predict(X_test))


def test_the_bare_net_on_prepared_arrays_stays_reachable(wine):
    study, X_test, _ = wine
    model, data = study.best_model(), study.dataset()
    indices = model.predict_prepared(data.X_test)
    np.testing.assert_array_equal(model.preprocessing.decode(indices), model.predict(X_test))
    assert model.evaluate(data.X_test, data.y_test)["accuracy"] == \
        _recorded_test(study)["test_accuracy"]


def test_a_missing_or_extra_column_is_one_clear_error(wine):
    study, X_test, _ = wine
    model = study.best_model()
    with pytest.raises(ValueError, match=r"lacks the feature columns \['alcohol'\]"):
        model.predict(X_test.drop(columns="alcohol"))
    # An extra column is left out, as the names say which ones the model takes.
    wider = X_test.assign(extra=1.0)
    np.testing.assert_array_equal(model.predict(wider), model.predict(X_test))
    with pytest.raises(ValueError, match="has 12 features, expected 13"):
        model.predict(X_test.to_numpy()[:, :12])


def test_breast_cancer_arrays_give_the_recorded_test_accuracy(tmp_path_factory):
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = _split(X, y)
    study = _study(tmp_path_factory, "cancer", X_train, y_train, X_test, y_test)
    model = study.best_model()
    assert np.mean(model.predict(X_test) == y_test) == _recorded_test(study)["test_accuracy"]
    with pytest.raises(ValueError, match="has 31 features, expected 30"):
        model.predict(np.column_stack([X_test, X_test[:, :1]]))


def test_diabetes_rows_give_the_recorded_test_rmse_in_the_targets_units(diabetes):
    study, X_test, y_test = diabetes
    model = study.best_model()
    predicted = model.predict(X_test)
    metrics = _recorded_test(study)
    rmse = float(np.sqrt(np.mean((predicted - y_test) ** 2)))
    # The recorded metrics come from the stored float32 targets: equal to float32 rounding.
    assert rmse == pytest.approx(metrics["test_rmse"], rel=1e-6)
    r2 = 1 - np.sum((predicted - y_test) ** 2) / np.sum((y_test - y_test.mean()) ** 2)
    assert r2 == pytest.approx(metrics["test_r2"], rel=1e-5)
    assert 40 < metrics["test_rmse"] < 80 and abs(predicted.mean() - y_test.mean()) < 30


def test_regression_trains_on_a_standardized_target_and_reports_in_units(diabetes):
    study, _, _ = diabetes
    data = study.dataset()
    prep = data.preprocessing
    assert abs(float(data.y_train.mean())) < 1e-5 and float(data.y_train.std()) == \
        pytest.approx(1.0, rel=1e-5)
    assert 100 < prep.target_mean[0] < 200 and 50 < prep.target_scale[0] < 100
    metrics = study.best_trial["metrics"]
    assert metrics["val_loss"] == pytest.approx(0.5 * metrics["val_rmse"] ** 2, rel=1e-5)
    assert study.best_value == metrics["val_rmse"] > 30  # the target's units, not ~1


def test_a_refit_model_is_the_one_export_writes(tmp_path, diabetes):
    study, X_test, _ = diabetes
    again = study.refit(on="train+val")
    path = study.export(tmp_path / "refit.npz", model=again)
    shipped = netcore.load(path)
    np.testing.assert_array_equal(shipped.params, again.params)
    assert not np.array_equal(shipped.params, study.best_model().params)
    np.testing.assert_array_equal(shipped.predict(X_test), again.predict(X_test))
    with pytest.raises(ValueError, match="trial= or model=, not both"):
        study.export(tmp_path / "x.npz", trial=0, model=again)
    with pytest.raises(TypeError, match=r"model must be a netcore\.MLP"):
        study.export(tmp_path / "x.npz", model="best")


def test_export_then_hpsearch_predict_on_a_raw_csv_gives_the_same_answers(tmp_path, wine):
    study, X_test, _ = wine
    model_file = study.export(tmp_path / "wine.npz")
    X_test[list(X_test.columns[::-1])].to_csv(tmp_path / "rows.csv", index=False)
    result = run_hpsearch("predict", model_file, "rows.csv", "--proba", "--out", "out.csv",
                          cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = pd.read_csv(tmp_path / "out.csv")
    model = study.best_model()
    assert out["prediction"].tolist() == model.predict(X_test).tolist()
    proba = out[[f"proba_{label}" for label in model.classes_]].to_numpy()
    np.testing.assert_allclose(proba, model.predict_proba(X_test), rtol=1e-6)


def test_export_then_hpsearch_predict_gives_regression_values_in_units(tmp_path, diabetes):
    study, X_test, _ = diabetes
    model_file = study.export(tmp_path / "diabetes.npz")
    X_test.to_csv(tmp_path / "rows.csv", index=False)
    result = run_hpsearch("predict", model_file, "rows.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = pd.read_csv(pd.io.common.StringIO(result.stdout))
    np.testing.assert_allclose(out["prediction"], study.best_model().predict(X_test), rtol=1e-9)


def test_tune_gives_a_model_that_answers_raw_rows(tmp_path):
    X, y = load_wine(return_X_y=True, as_frame=True)
    labels = pd.Series(np.array(["a", "b", "c"], dtype=object)[y.to_numpy()])
    study = hpsearch.tune(X, labels, n_trials=2, epochs=2, progress=False,
                          storage=f"sqlite:///{tmp_path / 't.db'}")
    predicted = study.best_model().predict(X.iloc[:, ::-1])
    assert set(predicted) <= {"a", "b", "c"} and np.mean(predicted == labels) > 0.5


def test_a_model_without_preprocessing_answers_as_before():
    model = netcore.MLP([4, 3], seed=0)
    X = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_array_equal(model.predict(X), model.predict_prepared(X))
    np.testing.assert_array_equal(model.predict_proba(X), model.predict_proba_prepared(X))
    assert model.predict(X).dtype == np.int64 and list(model.classes_) == [0, 1, 2]
