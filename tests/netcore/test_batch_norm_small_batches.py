"""Batch norm on batches of one sample, whose batch variance is 0: refused, or the
last batch dropped with one warning."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import netcore


# Batch norm on one-sample batches: the batch variance of one sample is 0.
def test_batch_norm_with_batch_size_1_is_refused(rng):
    model = netcore.MLP([3, 4, 2], batch_norm=True, seed=0)
    X, y = rng.normal(size=(8, 3)), rng.integers(0, 2, 8)
    with pytest.raises(ValueError, match=r"batch_size=1.*batch_norm.*batch_size >= 2"):
        netcore.fit(model, X, y, batch_size=1, epochs=1)
    netcore.fit(netcore.MLP([3, 4, 2], seed=0), X, y, batch_size=1, epochs=1)  # no batch norm


@pytest.mark.parametrize("shuffle", [True, False])
def test_batch_norm_drops_a_last_batch_of_one_sample_with_one_warning(rng, shuffle):
    X, y = rng.normal(size=(9, 3)), rng.integers(0, 2, 9)
    model = netcore.MLP([3, 4, 2], batch_norm=True, seed=0)
    steps = []

    class Steps(netcore.Callback):
        def on_batch_end(self, model, step):
            steps.append(step)

    with pytest.warns(UserWarning, match=r"batch norm.*9 samples.*batch_size=4.*dropped") as seen:
        hist = netcore.fit(model, X, y, batch_size=4, epochs=3, shuffle=shuffle,
                           callbacks=[Steps()])
    assert len([w for w in seen if "batch norm" in str(w.message)]) == 1
    assert len(steps) == 3 * 2  # two batches of 4 per epoch, the single sample dropped
    assert np.isfinite(hist["loss"]).all() and np.all(np.asarray(hist["accuracy"]) <= 1)
    assert all(np.isfinite(b).all() for b in model.get_buffers().values())


def test_batch_norm_without_a_one_sample_batch_does_not_warn(rng):
    X, y = rng.normal(size=(10, 3)), rng.integers(0, 2, 10)
    model = netcore.MLP([3, 4, 2], batch_norm=True, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        netcore.fit(model, X, y, batch_size=4, epochs=2)


def test_batch_norm_on_one_training_sample_is_refused(rng):
    model = netcore.MLP([3, 4, 2], batch_norm=True, seed=0)
    with pytest.raises(ValueError, match="batch_norm needs at least 2 training samples"):
        netcore.fit(model, rng.normal(size=(1, 3)), np.array([1]), batch_size=4, epochs=1)
