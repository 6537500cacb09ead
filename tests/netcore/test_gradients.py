"""Float64 finite-difference checks of every activation and every loss."""

from __future__ import annotations

import numpy as np
import pytest

import netcore
from netcore.activations import ACTIVATIONS
from netcore.losses import LOSSES


def _targets(loss: str, n: int, n_out: int, rng) -> np.ndarray:
    if loss == "mse":
        return rng.standard_normal((n, n_out))
    return rng.integers(0, n_out, n)


@pytest.mark.parametrize("loss", sorted(LOSSES))
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_three_hidden_layers_match_central_differences(activation, loss, rng):
    n_out = 3
    X = rng.standard_normal((10, 5))
    y = _targets(loss, 10, n_out, rng)
    model = netcore.MLP([5, 7, 6, 4, n_out], activation=activation, loss=loss,
                        init="xavier", bias_init="normal", seed=1)
    assert netcore.gradcheck(model, X, y) < 1e-6


@pytest.mark.parametrize("n_out", [1, 4])
def test_binary_cross_entropy_single_and_several_outputs(n_out, rng):
    X = rng.standard_normal((12, 3))
    y = rng.integers(0, max(n_out, 2), 12)
    model = netcore.MLP([3, 5, n_out], activation="tanh", loss="binary_cross_entropy", seed=0)
    assert netcore.gradcheck(model, X, y) < 1e-6


def test_per_layer_activations_and_large_init(rng):
    X = rng.standard_normal((8, 4))
    y = rng.integers(0, 3, 8)
    model = netcore.MLP([4, 6, 6, 3], activation=["sigmoid", "elu"], init="standard", seed=2)
    assert netcore.gradcheck(model, X, y) < 1e-6


def test_gradcheck_detects_a_wrong_gradient(rng, monkeypatch):
    """The check must fail when backprop is wrong: halve one layer's bias gradient."""
    from netcore.layers import Dense

    original = Dense.backward

    def broken(self, delta, need_input_grad):
        result = original(self, delta, need_input_grad)
        self.db *= 0.5
        return result

    monkeypatch.setattr(Dense, "backward", broken)
    X = rng.standard_normal((8, 4))
    y = rng.integers(0, 3, 8)
    model = netcore.MLP([4, 5, 3], activation="tanh", seed=0)
    assert netcore.gradcheck(model, X, y) > 1e-2


def test_gradcheck_leaves_the_model_untouched(rng):
    model = netcore.MLP([4, 5, 3], seed=0)
    before = model.params.copy()
    netcore.gradcheck(model, rng.standard_normal((6, 4)), rng.integers(0, 3, 6))
    assert model.params.dtype == np.float32
    np.testing.assert_array_equal(model.params, before)
