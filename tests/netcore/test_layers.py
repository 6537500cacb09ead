"""Dropout, batch normalization and PReLU: training vs evaluation, gradients, persistence."""

from __future__ import annotations

import numpy as np
import pytest

import netcore
from netcore.layers import BatchNorm, Dense, Dropout, PReLULayer


def _layers(model, cls):
    return [layer for layer in model.layers if isinstance(layer, cls)]


def _data(rng, n=12, n_in=5, n_out=3):
    return rng.standard_normal((n, n_in)), rng.integers(0, n_out, n)


# Dropout ---------------------------------------------------------------------------------------

def test_dropout_is_off_at_evaluation(rng):
    X = rng.standard_normal((20, 5))
    noisy = netcore.MLP([5, 8, 6, 3], dropout=[0.5, 0.3], input_dropout=0.2, seed=0)
    plain = netcore.MLP([5, 8, 6, 3], seed=0)
    np.testing.assert_array_equal(noisy.params, plain.params)
    np.testing.assert_array_equal(noisy.predict_proba(X), plain.predict_proba(X))
    np.testing.assert_array_equal(noisy.forward(X), noisy.forward(X))
    assert not np.array_equal(noisy.forward(X, training=True).copy(), plain.forward(X))


def test_dropout_zeroes_at_the_rate_and_rescales_the_rest(rng):
    model = netcore.MLP([30, 400, 2], activation="relu", dropout=0.25, dtype="float64", seed=0)
    X = rng.standard_normal((100, 30))
    model.forward(X, training=True)
    dropout = _layers(model, Dropout)[0]
    mask = dropout.mask
    assert set(np.unique(mask)) == {0.0, 1 / 0.75}
    assert abs(np.mean(mask == 0) - 0.25) < 0.01
    hidden = model.layers[1].a
    np.testing.assert_allclose(model.layers[-1].x, hidden * mask)


def test_input_dropout_leaves_the_callers_array_alone(rng):
    X = rng.standard_normal((50, 20)).astype(np.float32)
    before = X.copy()
    model = netcore.MLP([20, 10, 2], input_dropout=0.5, seed=0)
    model.forward(X, training=True)
    np.testing.assert_array_equal(X, before)
    dense = model.dense_layers[0]
    dropped = np.mean(dense.x == 0)
    assert 0.4 < dropped < 0.6
    np.testing.assert_array_equal(dense.x[dense.x != 0], 2 * X[dense.x != 0])


def test_dropout_training_is_deterministic_under_the_seeds():
    data = netcore.load_dataset("digits").subset(n_train=300, n_val=100)

    def run(fit_seed):
        model = netcore.MLP([64, 32, 10], dropout=0.3, input_dropout=0.1, seed=1)
        hist = netcore.fit(model, data.X_train, data.y_train, data.X_val, data.y_val,
                           epochs=2, batch_size=32, seed=fit_seed)
        return model, hist

    (m1, h1), (m2, h2), (m3, _) = run(4), run(4), run(5)
    np.testing.assert_array_equal(m1.params, m2.params)
    assert h1["loss"] == h2["loss"] and h1["val_loss"] == h2["val_loss"]
    assert not np.array_equal(m1.params, m3.params)


def test_fixed_noise_reuses_the_last_mask(rng):
    model = netcore.MLP([5, 40, 3], dropout=0.5, dtype="float64", seed=0)
    X = rng.standard_normal((8, 5))
    with pytest.raises(RuntimeError, match="training-mode forward pass"), model.fixed_noise():
        model.forward(X, training=True)
    first = model.forward(X, training=True).copy()
    with model.fixed_noise():
        np.testing.assert_array_equal(model.forward(X, training=True), first)
        np.testing.assert_array_equal(model.forward(X, training=True), first)
    assert not np.array_equal(model.forward(X, training=True), first)
    assert not any(layer.fixed for layer in model.layers)


def test_dropout_rates_per_layer_from_a_list_or_array():
    assert netcore.MLP([4, 5, 5, 2], dropout=[0.1, 0.0]).dropout == [0.1, 0.0]
    assert netcore.MLP([4, 5, 5, 2], dropout=np.array([0.1, 0.2])).dropout == [0.1, 0.2]
    # A zero rate adds no layer there.
    assert len(_layers(netcore.MLP([4, 5, 5, 2], dropout=[0.1, 0.0]), Dropout)) == 1


@pytest.mark.parametrize("kwargs, match", [
    ({"dropout": 1.0}, r"dropout must be a rate in \[0, 1\), got 1.0"),
    ({"dropout": -0.1}, "dropout must be a rate"),
    ({"dropout": "0.5"}, "dropout must be one rate"),
    ({"dropout": True}, "dropout must be one rate"),
    ({"dropout": [0.5]}, r"one per hidden layer \(2\)"),
    ({"dropout": [0.5, float("nan")]}, "dropout must be a rate"),
    ({"input_dropout": 1.0}, "input_dropout must be a rate"),
    ({"batch_norm": "yes"}, "batch_norm must be True or False"),
    ({"bn_momentum": 1.0}, "bn_momentum must satisfy 0 <= bn_momentum < 1"),
    ({"activation": "prelu", "activation_options": {"slope": float("inf")}}, "prelu slope"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        netcore.MLP([4, 5, 5, 2], **kwargs)


# Batch normalization ---------------------------------------------------------------------------

def test_batch_norm_layout_and_parameters():
    model = netcore.MLP([4, 6, 5, 3], batch_norm=True, seed=0)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Dense", "BatchNorm", "ActivationLayer", "Dense", "BatchNorm",
                     "ActivationLayer", "Dense"]
    dense = model.dense_layers
    assert dense[0].b is None and dense[1].b is None and dense[2].b is not None
    # Hidden biases are replaced by gamma and beta: 2 * width per hidden layer.
    assert model.n_params == 4 * 6 + 6 * 5 + 5 * 3 + 2 * 6 + 2 * 5 + 3
    assert model.n_weights == 4 * 6 + 6 * 5 + 5 * 3
    bn = _layers(model, BatchNorm)[0]
    assert np.all(bn.gamma == 1) and np.all(bn.beta == 0)
    assert np.shares_memory(bn.gamma, model.params[model.n_weights:])
    assert set(model.get_buffers()) == {"1.running_mean", "1.running_var",
                                        "4.running_mean", "4.running_var"}


def test_batch_norm_normalizes_with_batch_statistics_in_training(rng):
    model = netcore.MLP([5, 7, 3], activation="linear", batch_norm=True, dtype="float64", seed=0)
    bn = _layers(model, BatchNorm)[0]
    bn.gamma[...] = np.arange(1.0, 8.0)
    bn.beta[...] = -2.0
    X = rng.standard_normal((64, 5)) * 3 + 1
    model.forward(X, training=True)
    h = model.layers[2].a
    z = X @ model.dense_layers[0].W
    expected = (z - z.mean(0)) / np.sqrt(z.var(0) + 1e-5) * np.arange(1.0, 8.0) - 2.0
    np.testing.assert_allclose(h, expected, rtol=1e-12, atol=1e-12)


def test_running_statistics_follow_the_documented_average(rng):
    model = netcore.MLP([5, 4, 3], batch_norm=True, bn_momentum=0.8, dtype="float64", seed=0)
    bn = _layers(model, BatchNorm)[0]
    X1, X2 = rng.standard_normal((10, 5)), rng.standard_normal((6, 5)) + 2
    W = model.dense_layers[0].W
    mean, var = np.zeros(4), np.ones(4)
    for X in (X1, X2):
        model.forward(X, training=True)
        z = X @ W
        mean = 0.8 * mean + 0.2 * z.mean(0)
        var = 0.8 * var + 0.2 * z.var(0, ddof=1)
    np.testing.assert_allclose(bn.running_mean, mean, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, var, rtol=1e-12)
    model.forward(X1)  # evaluation leaves them alone
    np.testing.assert_allclose(bn.running_mean, mean, rtol=1e-12)


def test_evaluation_uses_the_running_statistics(rng):
    model = netcore.MLP([3, 2, 2], activation="tanh", batch_norm=True, dtype="float64", seed=0)
    bn = _layers(model, BatchNorm)[0]
    W1, W2, b2 = model.dense_layers[0].W, model.dense_layers[1].W, model.dense_layers[1].b
    bn.running_mean[...] = [0.5, -1.0]
    bn.running_var[...] = [4.0, 0.25]
    bn.gamma[...] = [2.0, 0.5]
    bn.beta[...] = [0.1, -0.3]
    b2[...] = [0.2, -0.2]
    X = np.array([[1.0, 2.0, -1.0], [0.0, 0.5, 3.0]])
    # By hand, unit by unit: h = gamma * (z - running_mean) / sqrt(running_var + eps) + beta.
    z = X @ W1
    h = np.empty_like(z)
    for j, (m, v, g, b) in enumerate([(0.5, 4.0, 2.0, 0.1), (-1.0, 0.25, 0.5, -0.3)]):
        h[:, j] = g * (z[:, j] - m) / np.sqrt(v + 1e-5) + b
    expected = np.tanh(h) @ W2 + b2
    np.testing.assert_allclose(model.forward(X), expected, rtol=1e-12)
    # A sample's prediction does not depend on the rest of the batch.
    np.testing.assert_allclose(model.forward(X[:1]), expected[:1], rtol=1e-12)


def test_batch_norm_backward_needs_training_mode(rng):
    model = netcore.MLP([3, 4, 2], batch_norm=True, seed=0)
    z = model.forward(rng.standard_normal((5, 3)))
    with pytest.raises(RuntimeError, match="training=True"):
        model.backward(z)


def test_early_stopping_restores_running_statistics():
    data = netcore.load_dataset("digits").subset(n_train=60, n_val=200)
    model = netcore.MLP([64, 128, 10], batch_norm=True, seed=0)
    hist = netcore.fit(model, data.X_train, data.y_train, data.X_val, data.y_val, lr=3e-3,
                       batch_size=8, epochs=60, seed=0,
                       early_stopping=netcore.EarlyStopping(patience=2, restore_best=True))
    assert hist.stop_reason == "early_stopping" and hist.restored_epoch < hist.epochs_run
    val_loss = model.evaluate(data.X_val, data.y_val)["loss"]
    assert val_loss == hist["val_loss"][hist.restored_epoch - 1]


# PReLU -------------------------------------------------------------------------------------------

def test_prelu_has_a_learned_slope_per_unit_outside_the_weights(rng):
    model = netcore.MLP([3, 4, 5, 2], activation="prelu", dtype="float64", seed=0)
    prelus = _layers(model, PReLULayer)
    assert [p.slope.shape for p in prelus] == [(4,), (5,)]
    assert all(np.all(p.slope == 0.25) for p in prelus)
    assert model.n_params == 3 * 4 + 4 * 5 + 5 * 2 + 4 + 5 + 2 + 4 + 5
    assert not np.shares_memory(prelus[0].slope, model.params[:model.n_weights])
    other = netcore.MLP([3, 4, 2], activation="prelu", activation_options={"slope": 0.1}, seed=0)
    assert np.all(_layers(other, PReLULayer)[0].slope == np.float32(0.1))


def test_prelu_forward_by_hand(rng):
    model = netcore.MLP([3, 4, 2], activation="prelu", dtype="float64", seed=0)
    prelu = _layers(model, PReLULayer)[0]
    prelu.slope[...] = [0.25, 0.0, -0.5, 2.0]
    X = rng.standard_normal((30, 3))
    model.forward(X, training=True)
    z = X @ model.dense_layers[0].W
    np.testing.assert_allclose(prelu.a, np.where(z > 0, z, prelu.slope * z))


def test_prelu_activation_is_only_usable_through_the_model():
    act = netcore.activations.get_activation("prelu")
    with pytest.raises(TypeError, match="learned slope"):
        act.forward(np.zeros(3), np.zeros(3))


# Gradient checks (float64, < 1e-6) -------------------------------------------------------------

@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
def test_gradcheck_batch_norm_in_training_mode(loss, rng):
    X = rng.standard_normal((10, 5))
    y = rng.standard_normal((10, 3)) if loss == "mse" else rng.integers(0, 3, 10)
    model = netcore.MLP([5, 7, 6, 3], activation=["tanh", "sigmoid"], loss=loss, batch_norm=True,
                        init="xavier", seed=1)
    for bn in _layers(model, BatchNorm):
        bn.gamma[...] = rng.uniform(0.5, 2.0, bn.gamma.shape)
        bn.beta[...] = rng.standard_normal(bn.beta.shape)
    assert netcore.gradcheck(model, X, y) < 1e-6


def test_gradcheck_prelu_with_zero_and_negative_slopes(rng):
    X, y = _data(rng)
    model = netcore.MLP([5, 7, 6, 3], activation="prelu", init="xavier", bias_init="normal", seed=2)
    _layers(model, PReLULayer)[0].slope[...] = [0.0, -0.3, 0.25, 1.5, 0.1, 0.0, 0.7]
    assert netcore.gradcheck(model, X, y) < 1e-6


def test_gradcheck_dropout_with_a_fixed_mask(rng):
    X, y = _data(rng)
    model = netcore.MLP([5, 9, 8, 3], activation="relu", dropout=[0.5, 0.3], input_dropout=0.2,
                        init="xavier", bias_init="normal", seed=3)
    assert netcore.gradcheck(model, X, y) < 1e-6


def test_gradcheck_everything_together(rng):
    X, y = _data(rng)
    model = netcore.MLP([5, 8, 7, 3], activation=["prelu", "elu"], batch_norm=True, dropout=0.4,
                        input_dropout=0.1, loss="binary_cross_entropy", seed=4)
    assert netcore.gradcheck(model, X, y) < 1e-6


def test_gradcheck_detects_a_wrong_batch_norm_gradient(rng, monkeypatch):
    original = BatchNorm.backward

    def broken(self, delta, need_input_grad):
        result = original(self, delta, need_input_grad)
        self.dgamma *= 0.5
        return result

    monkeypatch.setattr(BatchNorm, "backward", broken)
    X, y = _data(rng)
    assert netcore.gradcheck(netcore.MLP([5, 6, 3], batch_norm=True, seed=0), X, y) > 1e-2


# Persistence and dtype -------------------------------------------------------------------------

def _trained_noisy_model():
    data = netcore.load_dataset("digits").subset(n_train=200)
    model = netcore.MLP([64, 16, 12, 10], activation=["prelu", "relu"], batch_norm=True,
                        dropout=[0.2, 0.1], input_dropout=0.1, bn_momentum=0.7, seed=0)
    netcore.fit(model, data.X_train, data.y_train, epochs=2, batch_size=32, seed=0)
    return model, data


def test_save_load_round_trip_keeps_everything(tmp_path):
    model, data = _trained_noisy_model()
    loaded = netcore.load(netcore.save(model, tmp_path / "noisy"))
    assert loaded.get_config() == model.get_config()
    assert loaded.get_config()["dropout"] == [0.2, 0.1] and loaded.batch_norm
    np.testing.assert_array_equal(loaded.params, model.params)
    for key, value in model.get_buffers().items():
        np.testing.assert_array_equal(loaded.get_buffers()[key], value)
    assert not np.all(model.get_buffers()["2.running_var"] == 1)
    np.testing.assert_array_equal(loaded.predict_proba(data.X_val), model.predict_proba(data.X_val))


def test_astype_rebuilds_and_float32_stays_float32():
    model, data = _trained_noisy_model()
    assert model.params.dtype == np.float32
    assert all(b.dtype == np.float32 for b in model.get_buffers().values())
    assert model.predict_proba(data.X_val).dtype == np.float32
    wide = model.astype("float64")
    assert [type(layer) for layer in wide.layers] == [type(layer) for layer in model.layers]
    np.testing.assert_allclose(wide.predict_proba(data.X_val), model.predict_proba(data.X_val),
                               atol=1e-5)


def test_dense_without_bias_is_used_only_before_batch_norm():
    plain = netcore.MLP([4, 3, 2], seed=0)
    assert all(isinstance(layer, Dense) and layer.b is not None for layer in plain.dense_layers)


def test_a_single_sample_batch_leaves_running_statistics_alone(rng):
    model = netcore.MLP([3, 4, 2], batch_norm=True, seed=0)
    out = model.forward(rng.standard_normal((1, 3)), training=True)
    assert np.isfinite(out).all()
    assert all(np.array_equal(v, np.zeros(4) if "mean" in k else np.ones(4))
               for k, v in model.get_buffers().items())
