"""Clipping by value and the max-norm constraint, alone and inside fit."""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np
import pytest

import netcore
from netcore.optim import ClipValue, MaxNorm


def test_clip_value_clips_each_element():
    grads = np.array([3.0, -0.2, -5.0, 0.5])
    ClipValue(1.0)(None, grads, 2)
    np.testing.assert_array_equal(grads, [1.0, -0.2, -1.0, 0.5])


def test_max_norm_rescales_only_the_long_columns():
    W = np.array([[3.0, 0.3], [4.0, 0.4]])
    MaxNorm(2.0)([W])
    np.testing.assert_allclose(W, [[1.2, 0.3], [1.6, 0.4]])
    np.testing.assert_allclose(np.linalg.norm(W, axis=0), [2.0, 0.5])


@pytest.fixture(scope="module")
def digits():
    return netcore.load_dataset("digits").subset(n_train=300)


class GradRecorder(netcore.Callback):
    def __init__(self):
        self.largest = 0.0

    def on_batch_end(self, model, step):
        self.largest = max(self.largest, float(np.abs(model.grads).max()))


def test_fit_clips_gradients_by_value(digits):
    recorder = GradRecorder()
    netcore.fit(netcore.MLP([64, 32, 10], init="standard", seed=0), digits.X_train, digits.y_train,
                optimizer="sgd", lr=0.01, epochs=1, seed=0, clip_value=0.01, callbacks=[recorder])
    assert 0 < recorder.largest <= 0.01


def test_fit_keeps_every_unit_under_the_max_norm(digits):
    model = netcore.MLP([64, 32, 16, 10], init="standard", seed=0)
    assert max(np.linalg.norm(layer.W, axis=0).max() for layer in model.dense_layers) > 1.5
    netcore.fit(model, digits.X_train, digits.y_train, lr=0.01, epochs=1, seed=0, max_norm=1.5)
    for layer in model.dense_layers:
        assert np.linalg.norm(layer.W, axis=0).max() <= 1.5 * (1 + 1e-6)


@pytest.mark.parametrize("options, match", [
    ({"clip_value": 0}, "clip_value must be a finite number > 0"),
    ({"max_norm": -1.0}, "max_norm must be a finite number > 0"),
    ({"max_norm": float("inf")}, "max_norm must be"),
])
def test_bad_values(options, match, digits):
    with pytest.raises(ValueError, match=match):
        netcore.fit(netcore.MLP([64, 10]), digits.X_train, digits.y_train, **options)


def test_every_new_option_is_reachable_by_name(digits):
    """A flat parameter set, as a search space produces, switches everything on by name."""
    settings = {"dropout": 0.2, "input_dropout": 0.1, "batch_norm": True, "bn_momentum": 0.8,
                "activation": "prelu", "schedule": "one_cycle", "pct_start": 0.2,
                "warmup_steps": 3, "max_norm": 3.0, "clip_value": 1.0, "clip_norm": 5.0}
    model_keys = set(inspect.signature(netcore.MLP).parameters)
    fit_keys = {f.name for f in dataclasses.fields(netcore.TrainConfig)}
    assert model_keys & fit_keys == {"seed"}  # no other name is ambiguous
    assert set(settings) <= model_keys | fit_keys
    model = netcore.MLP([64, 32, 10], seed=0, **{k: v for k, v in settings.items() if k in model_keys})
    hist = netcore.fit(model, digits.X_train, digits.y_train, epochs=2, seed=0,
                       **{k: v for k, v in settings.items() if k in fit_keys})
    assert np.isfinite(hist["loss"]).all() and len(hist["lr"]) == 2
