"""The model a study returns, used as a fitted scikit-learn estimator on raw rows."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_wine
from sklearn.model_selection import train_test_split

import hpsearch
import netcore
from netcore.sklearn import NetcoreClassifier, NetcoreRegressor


def _study(X, y, **split):
    """A tiny study whose test split is the raw rows ``X_test`` given back to the caller."""
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    data = netcore.Dataset.from_arrays(X_train, y_train, X_test=X_test, y_test=y_test, **split)
    study = hpsearch.tune(data, n_trials=2, epochs=3, progress=False)
    row = study.results().set_index("trial").loc[study.best_trial["trial"]]
    return study, X_test, y_test, row


def test_a_studys_classifier_scores_raw_rows_as_the_study_recorded():
    X, y = load_wine(return_X_y=True, as_frame=True)
    labels = np.array(["barolo", "grignolino", "barbera"], dtype=object)[y.to_numpy()]
    study, X_test, y_test, row = _study(X, labels)
    estimator = NetcoreClassifier.from_model(study.best_model())
    assert estimator.classes_.tolist() == ["barbera", "barolo", "grignolino"]
    assert set(estimator.predict(X_test)) <= set(labels)
    assert estimator.score(X_test, y_test) == row["test_accuracy"]


def test_a_studys_regressor_scores_raw_rows_as_the_study_recorded():
    X, y = load_diabetes(return_X_y=True, as_frame=True, scaled=False)
    study, X_test, y_test, row = _study(X, y.to_numpy(dtype=float))
    estimator = NetcoreRegressor.from_model(study.best_model())
    assert estimator.feature_names_in_.tolist() == X.columns.tolist()
    assert estimator.score(X_test, y_test) == pytest.approx(row["test_r2"], rel=1e-5)
