"""The compiled optimizer step: bit-identical to the numpy step, chosen by NETCORE_KERNELS."""

from __future__ import annotations

import logging

import numpy as np
import pytest

import netcore
from netcore import kernels
from netcore.optim import Adam

SIZE = kernels.MIN_SIZE + 1001  # above the threshold, and not a multiple of any vector width


def _adam(backend: str, monkeypatch, **options) -> Adam:
    monkeypatch.setenv(kernels.ENV_VAR, backend)
    return Adam(**options)


def _run_steps(opt: Adam, p: np.ndarray, grads: list[np.ndarray]) -> np.ndarray:
    for step, g in enumerate(grads):
        opt.step(p, g.copy(), lr=1e-3 / (1 + step))  # a changing lr, as under a schedule
    return p


@pytest.fixture
def numba_installed():
    pytest.importorskip("numba", reason="the compiled kernels need numba (pip install '.[fast]')")


@pytest.mark.usefixtures("numba_installed")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", [{}, {"beta1": 0.0, "beta2": 0.5, "eps": 1e-3}])
def test_compiled_adam_is_bit_identical_to_numpy(dtype, options, monkeypatch, rng):
    numpy_adam, compiled_adam = _adam("numpy", monkeypatch, **options), _adam("numba", monkeypatch, **options)
    assert (numpy_adam.backend, compiled_adam.backend) == ("numpy", "numba")
    p0 = rng.standard_normal(SIZE).astype(dtype)
    grads = [rng.standard_normal(SIZE).astype(dtype) * 10.0 ** -k for k in range(5)]
    grads[1][:100] = 0.0  # parameters with no gradient still move (m_sum carries over)
    expected = _run_steps(numpy_adam, p0.copy(), grads)
    got = _run_steps(compiled_adam, p0.copy(), grads)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, expected)
    for key in ("m_sum", "v_sum"):
        np.testing.assert_array_equal(compiled_adam.state[key], numpy_adam.state[key])


@pytest.mark.usefixtures("numba_installed")
def test_compiled_adam_state_round_trip_is_exact(monkeypatch, rng):
    opt = _adam("numba", monkeypatch)
    p = rng.standard_normal(SIZE).astype(np.float32)
    g1, g2 = (rng.standard_normal(SIZE).astype(np.float32) for _ in range(2))
    opt.step(p, g1, 1e-3)
    saved, p_saved = opt.state_dict(), p.copy()
    opt.step(p, g2, 1e-3)
    after = p.copy()
    opt.load_state_dict(saved)
    p[...] = p_saved
    opt.step(p, g2, 1e-3)
    np.testing.assert_array_equal(p, after)


@pytest.mark.usefixtures("numba_installed")
def test_training_is_the_same_with_and_without_the_kernel(monkeypatch, rng):
    X = rng.standard_normal((300, 200)).astype(np.float32)
    y = rng.integers(0, 10, size=300)
    params = {}
    for backend in ("numpy", "numba"):
        monkeypatch.setenv(kernels.ENV_VAR, backend)
        model = netcore.MLP([200, 180, 10], activation="relu", init="he", seed=1)
        assert model.params.size >= kernels.MIN_SIZE
        netcore.fit(model, X, y, optimizer="adam", lr=1e-3, batch_size=32, epochs=2, seed=2)
        params[backend] = model.params.copy()
    np.testing.assert_array_equal(params["numba"], params["numpy"])


def test_the_kernel_as_plain_python_matches_the_numpy_step(monkeypatch, rng):
    # What numba compiles, run by the interpreter on numpy scalars: the same float32 arithmetic.
    numpy_adam = _adam("numpy", monkeypatch)
    p, g = rng.standard_normal(50).astype(np.float32), rng.standard_normal(50).astype(np.float32)
    m_sum, v_sum, expected = np.zeros_like(p), np.zeros_like(p), p.copy()
    numpy_adam.step(expected, g, lr=1e-2)
    # At step 1 the bias corrections cancel: root = 1 and scale = lr (see optim.Adam).
    f32 = np.float32
    kernels.adam_loop(p, g, m_sum, v_sum, f32(0.9), f32(0.999), f32(1e-2), f32(1e-8))
    np.testing.assert_array_equal(p, expected)
    np.testing.assert_array_equal(m_sum, numpy_adam.state["m_sum"])


@pytest.mark.usefixtures("numba_broken")
def test_a_numba_that_does_not_import_falls_back_to_numpy(monkeypatch, rng, caplog):
    monkeypatch.delenv(kernels.ENV_VAR, raising=False)
    opt, expected_opt = Adam(), _adam("numpy", monkeypatch)
    assert opt.backend == "numba"
    p = rng.standard_normal(SIZE).astype(np.float32)
    g, expected = rng.standard_normal(SIZE).astype(np.float32), p.copy()
    with caplog.at_level(logging.WARNING, logger="netcore.kernels"):
        opt.step(p, g, 1e-3)
    expected_opt.step(expected, g, 1e-3)
    np.testing.assert_array_equal(p, expected)
    assert "numba is installed but does not import" in caplog.text


@pytest.mark.usefixtures("numba_broken")
def test_asking_for_a_numba_that_does_not_import_is_an_error(monkeypatch, rng):
    opt = _adam("numba", monkeypatch)
    p = rng.standard_normal(SIZE).astype(np.float32)
    with pytest.raises(ImportError, match="NETCORE_KERNELS=numba, but numba does not import"):
        opt.step(p, p.copy(), 1e-3)


def test_kernels_compile_uncached_where_numba_cannot_cache(caplog):
    class NoCacheNumba:
        def __init__(self):
            self.calls = []

        def njit(self, cache, **options):
            self.calls.append((cache, options))
            if cache:
                raise RuntimeError("cannot cache function 'adam_loop': no locator available")
            return lambda function: ("compiled", function)

    fake = NoCacheNumba()
    with caplog.at_level(logging.WARNING, logger="netcore.kernels"):
        assert kernels.jit(fake, kernels.adam_loop) == ("compiled", kernels.adam_loop)
    assert [cache for cache, _ in fake.calls] == [True, False]
    assert fake.calls[1][1] == {"nogil": True, "error_model": "numpy"}
    assert "cannot cache its kernels" in caplog.text


def test_numpy_backend_when_asked(monkeypatch):
    monkeypatch.setenv(kernels.ENV_VAR, " NumPy ")
    assert kernels.backend() == "numpy"
    assert Adam().backend == "numpy"


def test_auto_falls_back_to_numpy_without_numba(monkeypatch):
    monkeypatch.setattr(kernels.importlib.util, "find_spec", lambda name: None)
    monkeypatch.delenv(kernels.ENV_VAR, raising=False)
    assert kernels.backend() == "numpy"


def test_asking_for_numba_without_it_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(kernels.importlib.util, "find_spec", lambda name: None)
    monkeypatch.setenv(kernels.ENV_VAR, "numba")
    with pytest.raises(ImportError, match=r"NETCORE_KERNELS=numba needs numba: pip install"):
        Adam()


def test_unknown_backend_names_the_variable_and_the_choices(monkeypatch):
    monkeypatch.setenv(kernels.ENV_VAR, "cuda")
    with pytest.raises(ValueError, match=r"NETCORE_KERNELS must be one of \['auto', 'numba', 'numpy'\]\. "
                                         r"Got 'cuda'"):
        Adam()


def test_kernels_take_only_large_contiguous_float_buffers():
    big = np.zeros(SIZE, np.float32)
    assert kernels.fits(big, big.copy())
    assert not kernels.fits(np.zeros(kernels.MIN_SIZE - 1, np.float32))  # small: numpy's step is cheap
    assert not kernels.fits(np.zeros(2 * SIZE, np.float32)[::2])  # strided
    assert not kernels.fits(big, np.zeros(SIZE, np.float64))  # mixed dtypes
    assert not kernels.fits(big, np.zeros(SIZE + 1, np.float32))  # mismatched lengths
    assert not kernels.fits(np.zeros(SIZE, np.float16))
    assert not kernels.fits(np.zeros((2, SIZE), np.float32))
