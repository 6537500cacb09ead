"""The compiled layer and loss kernels: bit-identical to the numpy path, used only when they pay."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import netcore
from netcore import kernels
from netcore.layers import ActivationLayer

SPECIAL = [np.nan, np.inf, -np.inf, -0.0, 0.0, -1e-30]


def _bits_equal(a: np.ndarray, b: np.ndarray) -> None:
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a.view(np.uint8), b.view(np.uint8))


@pytest.fixture
def numba_installed():
    pytest.importorskip("numba", reason="the compiled kernels need numba (pip install '.[fast]')")


@pytest.fixture(params=[np.float32, np.float64])
def dtype(request):
    return request.param


def _compiled(name: str):
    return kernels.compiled(name) if kernels.backend() == "numba" else getattr(kernels, name)


def _with_specials(a: np.ndarray) -> np.ndarray:
    a[0, :len(SPECIAL)] = SPECIAL
    return a


@pytest.mark.usefixtures("numba_installed")
def test_bias_relu_is_bit_identical_to_numpy(dtype, rng):
    z = _with_specials(rng.standard_normal((37, 131)).astype(dtype))
    b = rng.standard_normal(131).astype(dtype)
    b[:len(SPECIAL)] = 0.0
    expected = z.copy()
    expected += b
    np.maximum(expected, 0.0, out=expected)
    kernels.compiled("bias_relu")(z, b)
    _bits_equal(z, expected)


@pytest.mark.usefixtures("numba_installed")
def test_relu_backward_is_bit_identical_to_numpy(dtype, rng):
    a = np.maximum(_with_specials(rng.standard_normal((37, 131)).astype(dtype)), 0)
    delta = _with_specials(rng.standard_normal((37, 131)).astype(dtype))[::-1].copy()
    expected = delta.copy()
    with np.errstate(invalid="ignore"):
        expected *= a > 0
        kernels.compiled("relu_backward")(a, delta)
    _bits_equal(delta, expected)


def _logits(rng, dtype, n=53, k=10) -> tuple[np.ndarray, np.ndarray]:
    z = (rng.standard_normal((n, k)) * 5).astype(dtype)
    z[1] = 2.0  # a tie: numpy's argmax takes the first
    z[2, 3] = np.nan  # a NaN row: counted as numpy counts it
    z[3, :] = np.nan
    z[4, 7] = np.inf
    return z, rng.integers(0, k, size=n)


@pytest.mark.usefixtures("numba_installed")
@pytest.mark.parametrize("scale", [1.0, 1.0 / 53])
def test_compiled_softmax_cross_entropy_is_bit_identical_to_numpy(dtype, scale, rng):
    z, t = _logits(rng, dtype)
    t[1] = 0
    numpy_loss, compiled_loss = netcore.losses.SoftmaxCrossEntropy(), netcore.losses.SoftmaxCrossEntropy()
    compiled_loss.compiled = True
    expected = z.copy()
    with np.errstate(invalid="ignore", over="ignore"):
        want = numpy_loss.loss_and_delta(expected, t, scale=scale)
        got = compiled_loss.loss_and_delta(z, t, scale=scale)
    _bits_equal(z, expected)
    assert got[1] == want[1] and np.isnan(got[0]) and np.isnan(want[0])
    # The loss value itself, on rows without NaN or inf.
    clean, t = _logits(np.random.default_rng(1), dtype)[0][5:], t[5:]
    assert compiled_loss.loss_and_delta(clean.copy(), t, scale=scale) == \
        numpy_loss.loss_and_delta(clean.copy(), t, scale=scale)


def test_the_kernels_as_plain_python_match_numpy(rng):
    # What numba compiles, run by the interpreter: the same float32 arithmetic (no numba needed).
    z = rng.standard_normal((6, 5)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    expected = np.maximum(z + b, 0.0)
    kernels.bias_relu(z, b)
    _bits_equal(z, expected)
    delta = rng.standard_normal((6, 5)).astype(np.float32)
    expected = delta * (z > 0)
    kernels.relu_backward(z, delta)
    _bits_equal(delta, expected)
    logits, t = rng.standard_normal((6, 5)).astype(np.float32), rng.integers(0, 5, size=6)
    reference = logits.copy()
    want = netcore.losses.SoftmaxCrossEntropy().loss_and_delta(reference, t, scale=0.5)
    true_logit = np.empty(6, np.float32)
    assert kernels.softmax_shift(logits, t, true_logit) == want[1]
    np.exp(logits, out=logits)
    kernels.softmax_finish(logits, t, logits.sum(axis=1), np.float32(0.5))
    np.testing.assert_allclose(logits, reference, rtol=1e-6, atol=1e-7)  # sums in another order


def _trained(backend: str, monkeypatch, dtype: str, **options) -> netcore.MLP:
    monkeypatch.setenv(kernels.ENV_VAR, backend)
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((200, 200)), rng.integers(0, 10, size=200)
    model = netcore.MLP([200, 150, 60, 10], seed=1, dtype=dtype, **options)
    netcore.fit(model, X, y, lr=1e-3, batch_size=32, epochs=2, seed=2)
    return model


@pytest.mark.usefixtures("numba_installed")
@pytest.mark.parametrize("dtype_name", ["float32", "float64"])
@pytest.mark.parametrize("options", [{}, {"dropout": 0.2}, {"activation": ["relu", "tanh"]}])
def test_training_with_the_fused_kernels_is_bit_identical(dtype_name, options, monkeypatch):
    options = {"activation": "relu", **options}
    compiled = _trained("numba", monkeypatch, dtype_name, **options)
    assert compiled.loss.compiled and any(getattr(layer, "bias", None) is not None
                                          for layer in compiled.layers)
    reference = _trained("numpy", monkeypatch, dtype_name, **options)
    assert not reference.loss.compiled
    _bits_equal(compiled.params, reference.params)
    X = np.random.default_rng(4).standard_normal((300, 200))
    _bits_equal(compiled.predict_proba(X), reference.predict_proba(X))


def test_numpy_backend_builds_models_without_kernels(monkeypatch):
    monkeypatch.setenv(kernels.ENV_VAR, "numpy")
    model = netcore.MLP([784, 256, 10])
    assert not model.loss.compiled
    assert all(not layer.compiled and layer.bias is None
               for layer in model.layers if isinstance(layer, ActivationLayer))
    assert not any(layer.bias_added_later for layer in model.dense_layers)


@pytest.mark.usefixtures("numba_installed")
def test_only_relu_after_a_biased_dense_layer_takes_the_bias(monkeypatch):
    monkeypatch.setenv(kernels.ENV_VAR, "numba")
    model = netcore.MLP([784, 64, 32, 10], activation=["relu", "tanh"], batch_norm=False)
    relu, tanh = (layer for layer in model.layers if isinstance(layer, ActivationLayer))
    assert relu.compiled and relu.bias is model.dense_layers[0].b
    assert not tanh.compiled and tanh.bias is None
    assert [d.bias_added_later for d in model.dense_layers] == [True, False, False]
    normed = netcore.MLP([784, 64, 10], batch_norm=True)
    assert [layer.bias for layer in normed.layers if isinstance(layer, ActivationLayer)] == [None]


def test_a_tiny_net_never_imports_numba(tmp_path):
    script = ("import sys, numpy as np, netcore\n"
              "m = netcore.MLP([20, 16, 3], seed=0)\n"
              "X, y = np.random.default_rng(0).standard_normal((64, 20)), np.arange(64) % 3\n"
              "netcore.fit(m, X, y, epochs=1, batch_size=16)\n"
              "m.evaluate(X, y)\n"
              "assert m.n_params < netcore.kernels.MIN_SIZE\n"
              "print('numba' in sys.modules)\n")
    env = {**os.environ, kernels.ENV_VAR: "auto"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_a_numba_that_does_not_import_leaves_training_on_the_numpy_path(monkeypatch,
                                                                       numba_broken):
    reference = _trained("numpy", monkeypatch, "float32")  # the numpy choice never imports numba
    broken = _trained("auto", monkeypatch, "float32")
    assert broken.loss.compiled  # chosen, but the kernels were not there: numpy ran
    _bits_equal(broken.params, reference.params)
