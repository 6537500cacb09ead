"""Bad data is refused at the public boundary, before any training."""

from __future__ import annotations

import numpy as np
import pytest

import netcore
from netcore.validation import (
    all_finite,
    check_finite,
    check_int,
    check_positive,
    check_positive_int,
)


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


def test_check_options_names_the_unknown_keys_and_the_allowed_ones():
    netcore.check_options({"lr": 0.1}, ["lr", "epochs"], what="unknown option(s)")  # all known
    with pytest.raises(ValueError, match=r"^unknown option\(s\) \['colour', 'size'\]; "
                                         r"allowed: \['epochs', 'lr'\]$"):
        netcore.check_options({"size": 1, "lr": 0.1, "colour": "red"}, ("lr", "epochs"),
                              what="unknown option(s)")
    with pytest.raises(TypeError, match=r"^f\(\) got \['study.x'\]; \[study\] allows \['lr'\]$"):
        netcore.check_options(["x"], {"lr"}, what="f() got", prefix="study.",
                              allows="[study] allows", error=TypeError)


@pytest.mark.parametrize("check, value, match", [
    (lambda v: check_int(v, "n", minimum=2), 1, r"n must be an integer >= 2, got 1"),
    (lambda v: check_int(v, "n", minimum=0), True, r"n must be an integer >= 0, got True"),
    (lambda v: check_int(v, "n", minimum=0, optional=True), -1, r"integer >= 0 or None, got -1"),
    (lambda v: check_positive_int(v, "k", optional=True), 0, r"k must be a positive integer or None"),
    (lambda v: check_positive(v, "t", optional=True), float("nan"), r"t must be a finite number > 0 or None"),
    (lambda v: check_finite(v, "low"), float("inf"), r"low must be a finite number, got inf"),
    (lambda v: check_finite(v, "low"), "1", r"low must be a finite number, got '1'"),
])
def test_number_checks_name_the_argument_and_the_rule(check, value, match):
    with pytest.raises(ValueError, match=match):
        check(value)


def test_optional_number_checks_pass_none_and_convert():
    assert check_int(None, "n", minimum=0, optional=True) is None
    assert check_positive_int(None, "k", optional=True) is None
    assert check_positive(None, "t", optional=True) is None
    assert type(check_int(np.int64(3), "n", minimum=0)) is int
    assert type(check_finite(np.float32(0.5), "low")) is float
