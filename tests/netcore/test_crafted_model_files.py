"""netcore's part of the robustness table, each fault injected for real: crafted
model files (case 26), labels of the wrong kind, and batch norm on batches of
one sample.

Numbers in the test names refer to the cases of the project's robustness table.
"""

from __future__ import annotations

import io
import json
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest

import netcore


def _crafted_file(path, metadata: dict, params: np.ndarray) -> None:
    """An .npz file written by hand, as an attacker would, without netcore.save."""
    buffer = io.BytesIO()
    np.savez(buffer, metadata=np.frombuffer(json.dumps(metadata).encode(), dtype=np.uint8),
             params=params)
    path.write_bytes(buffer.getvalue())


def _config(**changes) -> dict:
    config = netcore.MLP([2, 2]).get_config()
    config.update(changes)
    return config


# Case 26: a model file whose sizes ask for gigabytes; null metadata.
def test_26_a_tiny_file_asking_for_gigabytes_is_refused_before_allocating(tmp_path):
    path = tmp_path / "huge.npz"
    _crafted_file(path, {"format": "netcore-mlp", "version": 1,
                         "config": _config(sizes=[100000, 100000])}, np.zeros(1, np.float32))
    assert path.stat().st_size < 2048
    assert zipfile.is_zipfile(path)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"huge\.npz.*1 parameters stored, 10000100000"):
            netcore.load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10 * 2**20  # the net would take 40 GB; nothing near it was allocated


@pytest.mark.parametrize("where", ["sizes", "loss", "activation", "dtype", "init", "dropout",
                                   "batch_norm"])
def test_26_null_metadata_is_refused(tmp_path, where):
    path = tmp_path / "null.npz"
    config = _config(**{where: None})
    _crafted_file(path, {"format": "netcore-mlp", "version": 1, "config": config},
                  np.zeros(6, np.float32))
    with pytest.raises(ValueError, match=f"null.npz.*'{where}' is (missing or )?null"):
        netcore.load(path)


@pytest.mark.parametrize("metadata", [None, {"format": None}, {"format": "netcore-mlp",
                                                                "config": None}])
def test_26_null_at_the_top_of_the_metadata_is_refused(tmp_path, metadata):
    path = tmp_path / "null.npz"
    _crafted_file(path, metadata, np.zeros(6, np.float32))
    with pytest.raises(ValueError, match=r"null\.npz"):
        netcore.load(path)


# Labels of the wrong kind get an error naming y and what to do.
@pytest.mark.parametrize("loss", ["cross_entropy", "binary_cross_entropy", "mse"])
@pytest.mark.parametrize("labels", [np.array(["a", "b", "a", "b"]),
                                    np.array(["a", 1, None, 2.0], dtype=object)])
def test_string_or_object_labels_are_a_type_error_naming_y(rng, loss, labels):
    model = netcore.MLP([3, 4, 2 if loss == "cross_entropy" else 1], loss=loss, seed=0)
    X = rng.normal(size=(4, 3))
    with pytest.raises(TypeError, match=r"^y must hold .*got dtype"):
        netcore.fit(model, X, labels, epochs=1)
    with pytest.raises(TypeError, match=r"^y must hold"):
        model.evaluate(X, labels)
    with pytest.raises(TypeError, match=r"^y_val must hold"):
        netcore.fit(model, X, np.array([0, 1, 0, 1]), X, labels, epochs=1)


def test_string_labels_say_how_to_encode_them(rng):
    model = netcore.MLP([3, 4, 2], seed=0)
    with pytest.raises(TypeError, match=r"np\.unique\(y, return_inverse=True\)"):
        netcore.fit(model, rng.normal(size=(4, 3)), np.array(["a", "b", "a", "b"]), epochs=1)


def test_column_labels_for_a_softmax_net_say_ravel(rng):
    model = netcore.MLP([3, 4, 2], seed=0)
    X, y = rng.normal(size=(6, 3)), np.array([0, 1, 0, 1, 1, 0])
    with pytest.raises(ValueError, match=r"y has shape \(6, 1\).*pass y\.ravel\(\)"):
        netcore.fit(model, X, y.reshape(-1, 1), epochs=1)
    with pytest.raises(ValueError, match=r"y has shape \(6, 1\).*y\.ravel\(\)"):
        model.evaluate(X, y.reshape(-1, 1))
    netcore.fit(model, X, y, epochs=1)  # 1-D labels train


def test_column_targets_match_a_one_output_sigmoid_net(rng):
    # One sigmoid output: (n, 1) targets have the output's own shape and are accepted.
    model = netcore.MLP([3, 4, 1], loss="binary_cross_entropy", seed=0)
    X, y = rng.normal(size=(6, 3)), np.array([0, 1, 0, 1, 1, 0])
    assert model.evaluate(X, y.reshape(-1, 1)) == model.evaluate(X, y)


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
