"""Regression scores of MLP.evaluate agree with scikit-learn's."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import mean_squared_error, r2_score

import netcore
from netcore.metrics import regression_metrics


@pytest.mark.parametrize("n_outputs", [1, 3])
def test_rmse_and_r2_match_sklearn(rng, n_outputs):
    model = netcore.MLP([4, 8, n_outputs], loss="mse", dtype="float64", seed=0)
    X = rng.standard_normal((50, 4))
    y = rng.standard_normal((50, n_outputs)) if n_outputs > 1 else rng.standard_normal(50)
    metrics = model.evaluate(X, y)
    pred = model.predict(X)
    np.testing.assert_allclose(metrics["rmse"], np.sqrt(mean_squared_error(y, pred)), rtol=1e-10)
    np.testing.assert_allclose(metrics["r2"], r2_score(y, pred), rtol=1e-10)
    residuals = (pred - y).reshape(50, -1)
    np.testing.assert_allclose(metrics["loss"], 0.5 * (residuals ** 2).sum() / 50, rtol=1e-10)


def test_constant_target_follows_sklearn():
    t = np.array([[1.0, 2.0], [1.0, 3.0]])
    perfect = regression_metrics(np.zeros(2), t)
    assert perfect["r2"] == 1.0 == r2_score(t, t)
    pred = np.array([[1.5, 2.0], [1.0, 3.0]])
    ss_res = ((pred - t) ** 2).sum(axis=0)
    assert regression_metrics(ss_res, t)["r2"] == pytest.approx(r2_score(t, pred))


def test_classifier_metrics_unchanged(rng):
    model = netcore.MLP([4, 3], seed=0)
    assert set(model.evaluate(rng.standard_normal((6, 4)), [0, 1, 2, 0, 1, 2])) == {"loss", "accuracy"}


def test_fit_records_and_monitors_regression_scores(rng):
    X, y = rng.standard_normal((40, 3)), rng.standard_normal(40)
    model = netcore.MLP([3, 8, 1], loss="mse", seed=0)
    stop = netcore.EarlyStopping("val_r2", patience=2)
    hist = netcore.fit(model, X[:30], y[:30], X[30:], y[30:], epochs=3, batch_size=8, seed=0,
                       early_stopping=stop)
    assert len(hist["val_rmse"]) == len(hist["val_r2"]) == hist.epochs_run
    assert stop.mode == "max" and netcore.EarlyStopping("val_rmse").mode == "min"
