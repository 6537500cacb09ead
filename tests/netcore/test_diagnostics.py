"""Gradient diagnostics: vanishing and exploding gradients, saturation, the monitor callback."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import netcore
from netcore.diagnostics import QUANTITIES


def _mnist_shaped(rng, n=1000):
    """Sparse images in [0, 1] with 784 pixels and labels 0-9, like MNIST."""
    X = (rng.random((n, 784)) < 0.2) * rng.random((n, 784))
    return X, rng.integers(0, 10, n)


def _nielsen_net(seed):
    # network2's default: weights N(0, 1) / sqrt(n_in), biases N(0, 1).
    return netcore.MLP([784, 30, 30, 30, 10], activation="sigmoid", init="lecun",
                       bias_init="normal", seed=seed)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_earlier_layers_learn_slower_at_initialisation(seed, rng):
    X, y = _mnist_shaped(rng)
    norms = netcore.gradient_norms(_nielsen_net(seed), X, y)
    assert list(norms.index) == [1, 2, 3, 4] and list(norms.columns) == list(QUANTITIES)
    speed = norms["bias_grad_norm"].to_numpy()
    assert np.all(np.diff(speed) > 0), speed
    assert speed[2] > 5 * speed[0]


@pytest.mark.slow
def test_earlier_layers_learn_slower_on_real_mnist(mnist_available):
    data = netcore.load_dataset("mnist")
    norms = netcore.gradient_norms(_nielsen_net(0), data.X_train[:1000], data.y_train[:1000])
    assert np.all(np.diff(norms["bias_grad_norm"].to_numpy()) > 0)


@pytest.mark.parametrize("n_layers, width", [(4, 1), (3, 3)])
def test_exploding_gradient_grows_toward_the_first_layer(n_layers, width):
    model, X, y = netcore.exploding_gradient_net(n_layers, width)
    assert np.all(model.forward(X, training=True) == 0)  # every z = 0, outputs included
    norms = netcore.gradient_norms(model, X, y)["bias_grad_norm"].to_numpy()
    assert np.all(np.diff(norms) < 0)
    # Each hidden layer multiplies every unit's error by w * sigma'(0) * width = 25 * width.
    np.testing.assert_allclose(norms[:-2] / norms[1:-1], 25.0 * width, rtol=1e-12)
    if width == 1:
        np.testing.assert_allclose(norms, [25.0**4, 25.0**3, 25.0**2, 25.0, 1.0], rtol=1e-12)


def test_gradient_norms_leave_the_model_untouched(rng):
    model = netcore.MLP([6, 5, 3], batch_norm=True, dropout=0.5, seed=0)
    X, y = rng.standard_normal((20, 6)), rng.integers(0, 3, 20)
    model.forward(X, training=True)
    params, grads, buffers = model.params.copy(), model.grads.copy(), model.get_buffers()
    state = model.rng.bit_generator.state
    first = netcore.gradient_norms(model, X, y)
    np.testing.assert_array_equal(model.params, params)
    np.testing.assert_array_equal(model.grads, grads)
    assert all(np.array_equal(model.get_buffers()[k], v) for k, v in buffers.items())
    assert model.rng.bit_generator.state == state
    pd.testing.assert_frame_equal(netcore.gradient_norms(model, X, y), first)


def test_saturation_and_dead_units_by_hand():
    X = np.array([[-10.0], [0.0], [10.0], [0.5]])
    sig = netcore.MLP([1, 2, 2], activation="sigmoid", dtype="float64", seed=0)
    sig.dense_layers[0].W[...] = [[1.0, 0.1]]
    # Unit 1 sees z = -10, 0, 10, 0.5 (two saturated); unit 2 sees z/10 (none).
    stats = netcore.gradient_norms(sig, X, [0, 1, 0, 1])
    assert stats.loc[1, "saturated"] == 2 / 8 and np.isnan(stats.loc[1, "dead"])
    assert np.isnan(stats.loc[2, "saturated"])
    tanh = netcore.MLP([1, 2, 2], activation="tanh", dtype="float64", seed=0)
    tanh.dense_layers[0].W[...] = [[1.0, 0.1]]
    # |tanh(z)| > 0.96 for |z| > 1.946: the two z = +-10 of unit 1.
    assert netcore.gradient_norms(tanh, X, [0, 1, 0, 1]).loc[1, "saturated"] == 2 / 8
    relu = netcore.MLP([1, 3, 2], activation="relu", dtype="float64", seed=0)
    relu.dense_layers[0].W[...] = [[1.0, -1.0, 0.0]]
    relu.dense_layers[0].b[...] = [0.0, 0.0, -1.0]
    # On positive inputs only unit 1 ever fires: units 2 and 3 are dead.
    assert netcore.gradient_norms(relu, np.array([[1.0], [2.0]]), [0, 1]).loc[1, "dead"] == 2 / 3


@pytest.fixture(scope="module")
def digits():
    return netcore.load_dataset("digits").subset(n_train=200, n_val=100)


def _fit(data, *callbacks, **options):
    model = netcore.MLP([64, 16, 16, 10], activation=["sigmoid", "relu"], seed=0)
    hist = netcore.fit(model, data.X_train, data.y_train, data.X_val, data.y_val, lr=1e-2,
                       batch_size=50, seed=0, callbacks=list(callbacks), **{"epochs": 3, **options})
    return model, hist


def test_monitor_averages_over_the_batches_of_each_epoch(digits):
    monitor = netcore.GradientNormMonitor()
    _fit(digits, monitor)
    wide = monitor.to_frame()
    assert list(wide.index) == [1, 2, 3]
    assert wide["bias_grad_norm"].shape == (3, 3)
    assert list(wide["bias_grad_norm"].columns) == [1, 2, 3]
    assert (wide["weight_grad_norm"].to_numpy() > 0).all()
    assert wide["saturated"][1].notna().all() and wide["saturated"][2].isna().all()
    assert wide["dead"][2].notna().all() and wide["dead"][1].isna().all()
    long = monitor.to_frame(long=True)
    assert long.index.names == ["epoch", "layer"] and len(long) == 9


class _BatchNorms(netcore.Callback):
    def __init__(self):
        self.rows = []

    def on_batch_end(self, model, step):
        dense = model.dense_layers
        self.rows.append([np.linalg.norm(layer.db) for layer in dense])


def test_monitor_batch_average_matches_a_hand_average(digits):
    monitor, hand = netcore.GradientNormMonitor(epochs=[2]), _BatchNorms()
    _fit(digits, monitor, hand)
    per_epoch = len(hand.rows) // 3
    expected = np.mean(hand.rows[per_epoch:2 * per_epoch], axis=0)
    wide = monitor.to_frame()
    assert list(wide.index) == [2]
    np.testing.assert_allclose(wide["bias_grad_norm"].loc[2].to_numpy(), expected, rtol=1e-6)


def test_monitor_with_a_probe_records_initialisation_and_does_not_disturb_training(digits):
    probe = (digits.X_val, digits.y_val)
    monitor = netcore.GradientNormMonitor(probe=probe, epochs=[0, 2, 3])
    model, hist = _fit(digits, monitor)
    _, plain = _fit(digits)
    assert hist["loss"] == plain["loss"]
    wide = monitor.to_frame()
    assert list(wide.index) == [0, 2, 3]
    at_init = netcore.gradient_norms(netcore.MLP([64, 16, 16, 10], activation=["sigmoid", "relu"],
                                                 seed=0), *probe)
    np.testing.assert_allclose(wide["bias_grad_norm"].loc[0].to_numpy(),
                               at_init["bias_grad_norm"].to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(wide["bias_grad_norm"].loc[3].to_numpy(),
                               netcore.gradient_norms(model, *probe)["bias_grad_norm"].to_numpy(),
                               rtol=1e-6)


def test_monitor_sees_the_epoch_where_early_stopping_stops(digits):
    monitor = netcore.GradientNormMonitor()
    stopper = netcore.EarlyStopping("val_accuracy", patience=1, min_delta=0.9)
    _, hist = _fit(digits, monitor, early_stopping=stopper, epochs=10)
    assert hist.epochs_run == 2 and list(monitor.to_frame().index) == [1, 2]


def test_plot_is_a_log_scale_figure(digits, tmp_path):
    monitor = netcore.GradientNormMonitor()
    with pytest.raises(ValueError, match="nothing recorded"):
        monitor.plot()
    _fit(digits, monitor)
    fig = monitor.plot(tmp_path / "norms.png")
    assert isinstance(fig, Figure)
    assert [ax.get_yscale() for ax in fig.axes] == ["log", "log"]
    assert len(fig.axes[1].get_lines()) == 3
    assert (tmp_path / "norms.png").stat().st_size > 0


@pytest.mark.parametrize("kwargs, error, match", [
    ({"probe": np.zeros((3, 2))}, TypeError, "probe must be None or a pair"),
    ({"epochs": [1, -1]}, ValueError, "epochs must be None or integers >= 0"),
    ({"epochs": [1.5]}, ValueError, "epochs must be"),
])
def test_bad_monitor_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        netcore.GradientNormMonitor(**kwargs)


@pytest.mark.parametrize("kwargs, match", [
    ({"n_layers": 0}, "n_layers must be a positive integer"),
    ({"width": 2.0}, "width must be a positive integer"),
    ({"weight": -1}, "weight must be"),
])
def test_bad_exploding_net_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        netcore.exploding_gradient_net(**kwargs)


def test_gradient_norms_rejects_bad_input(rng):
    with pytest.raises(TypeError, match=r"netcore\.MLP"):
        netcore.gradient_norms("net", np.zeros((2, 3)), [0, 1])
    with pytest.raises(ValueError, match="different lengths"):
        netcore.gradient_norms(netcore.MLP([3, 2]), np.zeros((2, 3)), [0, 1, 1])
