"""MLP construction, the flat parameter buffer, prediction and evaluation."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import netcore


def test_n_params_follows_the_seed_formula():
    sizes = [784, 30, 30, 10]
    model = netcore.MLP(sizes)
    assert model.n_params == sum(a * b + b for a, b in itertools.pairwise(sizes))


def test_layer_views_share_the_flat_buffers():
    model = netcore.MLP([4, 3, 2], seed=0)
    dense = model.dense_layers
    for layer in dense:
        assert np.shares_memory(layer.W, model.params)
        assert np.shares_memory(layer.dW, model.grads)
    model.params[:] = 7.0
    assert np.all(dense[1].b == 7.0)


def test_weights_come_first_in_the_buffer():
    model = netcore.MLP([4, 3, 2], seed=0)
    assert model.n_weights == 4 * 3 + 3 * 2
    weights = np.concatenate([layer.W.ravel() for layer in model.dense_layers])
    np.testing.assert_array_equal(model.params[:model.n_weights], weights)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dtype_is_kept_everywhere(dtype, rng):
    model = netcore.MLP([3, 4, 2], dtype=dtype, seed=0)
    assert model.params.dtype == np.dtype(dtype)
    assert model.predict_proba(rng.standard_normal((5, 3))).dtype == np.dtype(dtype)


@pytest.mark.parametrize("init, expected_std", [
    ("he", np.sqrt(2 / 400)), ("lecun", 1 / np.sqrt(400)), ("standard", 1.0),
    ("xavier", np.sqrt(6 / 600) / np.sqrt(3)),
])
def test_initializer_scales(init, expected_std):
    model = netcore.MLP([400, 200, 2], init=init, seed=0)
    W = model.dense_layers[0].W
    assert abs(W.std() - expected_std) / expected_std < 0.02
    assert np.all(model.dense_layers[0].b == 0)


def test_normal_biases_and_seeded_init():
    a = netcore.MLP([5, 4, 3], bias_init="normal", seed=3)
    b = netcore.MLP([5, 4, 3], bias_init="normal", seed=3)
    np.testing.assert_array_equal(a.params, b.params)
    assert np.std(a.dense_layers[0].b) > 0.1


def test_predictions_and_evaluate(rng):
    model = netcore.MLP([3, 8, 4], seed=0)
    X = rng.standard_normal((20, 3))
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(model.predict(X), proba.argmax(axis=1))
    y = rng.integers(0, 4, 20)
    metrics = model.evaluate(X, y)
    expected = -np.mean(np.log(proba[np.arange(20), y]))
    assert metrics["loss"] == pytest.approx(expected, rel=1e-5)
    assert metrics["accuracy"] == pytest.approx(np.mean(proba.argmax(1) == y))


def test_regression_evaluate_has_no_accuracy(rng):
    model = netcore.MLP([2, 5, 1], loss="mse", seed=0)
    X, y = rng.standard_normal((6, 2)), rng.standard_normal(6)
    metrics = model.evaluate(X, y)
    assert set(metrics) == {"loss", "rmse", "r2"}
    pred = model.predict(X)
    assert metrics["loss"] == pytest.approx(0.5 * np.mean((pred - y) ** 2), rel=1e-5)


def test_binary_single_output_predicts_labels(rng):
    model = netcore.MLP([2, 4, 1], loss="binary_cross_entropy", seed=0)
    labels = model.predict(rng.standard_normal((7, 2)))
    assert set(np.unique(labels)) <= {0, 1}


def test_predict_proba_returns_fresh_arrays(rng):
    model = netcore.MLP([3, 4, 2], seed=0)
    X = rng.standard_normal((5, 3))
    first = model.predict_proba(X)
    kept = first.copy()
    model.predict_proba(X * 2)
    np.testing.assert_array_equal(first, kept)


@pytest.mark.parametrize("kwargs, match", [
    ({"sizes": [784]}, "at least an input and an output"),
    ({"sizes": [784, 0, 10]}, "positive integers"),
    ({"sizes": "784,10"}, "list of layer widths"),
    ({"sizes": [4, 3, 2], "activation": "relu6"}, r"'activation' parameter must be one of \["),
    ({"sizes": [4, 3, 3, 2], "activation": ["relu"]}, "one per hidden layer"),
    ({"sizes": [4, 3, 2], "loss": "hinge"}, r"'loss' parameter must be one of"),
    ({"sizes": [4, 3, 2], "init": "orthogonal"}, r"'init' parameter must be one of"),
    ({"sizes": [4, 3, 2], "dtype": "float16"}, r"'dtype' parameter must be one of"),
    ({"sizes": [4, 3, 2], "bias_init": "ones"}, r"'bias_init' parameter must be one of"),
])
def test_bad_construction_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        netcore.MLP(**kwargs)
