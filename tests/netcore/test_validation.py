"""Bad data is refused at the public boundary, before any training."""

from __future__ import annotations

import numpy as np
import pytest

import netcore
from netcore.validation import all_finite


@pytest.fixture
def model():
    return netcore.MLP([3, 4, 2], seed=0)


def _good(rng):
    return rng.standard_normal((6, 3)), rng.integers(0, 2, 6)


def test_nan_in_X(model, rng):
    X, y = _good(rng)
    X[2, 1] = np.nan
    with pytest.raises(ValueError, match="X contains NaN or infinite"):
        netcore.fit(model, X, y)


def test_inf_in_validation_X(model, rng):
    X, y = _good(rng)
    X_val = X.copy()
    X_val[0, 0] = np.inf
    with pytest.raises(ValueError, match="X_val contains NaN or infinite"):
        netcore.fit(model, X, y, X_val, y)


def test_nan_in_y(model, rng):
    X, _ = _good(rng)
    with pytest.raises(ValueError, match="y contains NaN"):
        netcore.fit(model, X, np.array([0, 1, np.nan, 0, 1, 0]))


def test_nan_in_regression_targets(rng):
    X, _ = _good(rng)
    y = rng.standard_normal(6)
    y[3] = np.nan
    with pytest.raises(ValueError, match="y contains NaN"):
        netcore.fit(netcore.MLP([3, 1], loss="mse"), X, y)


def test_zero_samples(model):
    with pytest.raises(ValueError, match="X has 0 samples"):
        netcore.fit(model, np.empty((0, 3)), np.empty(0, dtype=int))


def test_zero_features():
    with pytest.raises(ValueError, match="0 features"):
        netcore.fit(netcore.MLP([3, 2]), np.empty((4, 0)), np.zeros(4, dtype=int))


def test_one_dimensional_X(model):
    with pytest.raises(ValueError, match=r"must be 2-D.*reshape"):
        netcore.fit(model, np.zeros(6), np.zeros(6, dtype=int))


def test_wrong_feature_count(model, rng):
    with pytest.raises(ValueError, match="5 features but the model's input layer expects 3"):
        model.predict(rng.standard_normal((2, 5)))


def test_labels_out_of_range(model, rng):
    X, _ = _good(rng)
    with pytest.raises(ValueError, match=r"labels in \[0, 2\).*\[0, 2\]"):
        netcore.fit(model, X, np.array([0, 1, 2, 0, 1, 0]))


def test_negative_labels(model, rng):
    X, _ = _good(rng)
    with pytest.raises(ValueError, match="labels in"):
        model.evaluate(X, np.array([0, -1, 1, 0, 1, 0]))


def test_fractional_labels(model, rng):
    X, _ = _good(rng)
    with pytest.raises(ValueError, match="integer class labels"):
        netcore.fit(model, X, np.array([0, 0.5, 1, 0, 1, 0]))


def test_mismatched_lengths(model, rng):
    X, y = _good(rng)
    with pytest.raises(ValueError, match="X and y have different lengths: 6 and 5"):
        netcore.fit(model, X, y[:5])


def test_validation_given_alone(model, rng):
    X, y = _good(rng)
    with pytest.raises(ValueError, match="X_val and y_val must be given together"):
        netcore.fit(model, X, y, X_val=X)


def test_non_numeric_X(model):
    with pytest.raises(TypeError, match="numeric"):
        netcore.fit(model, np.array([["a", "b", "c"]]), np.array([0]))


def test_not_a_model(rng):
    X, y = _good(rng)
    with pytest.raises(TypeError, match=r"netcore\.MLP"):
        netcore.fit("mlp", X, y)


def test_all_finite_sees_every_bad_value_and_survives_an_overflowing_sum():
    big = np.full((4, 3), 3e38, dtype=np.float32)  # finite values whose sum overflows
    with np.errstate(over="ignore"):
        assert np.isinf(big.sum())
    assert all_finite(big)
    for bad in (np.nan, np.inf, -np.inf):
        X = np.zeros((4, 3), dtype=np.float32)
        X[2, 1] = bad
        assert not all_finite(X)
    X = np.zeros((4, 3))
    X[0, 0], X[3, 2] = np.inf, -np.inf  # their sum is NaN, still caught
    assert not all_finite(X)
