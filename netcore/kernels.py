"""Optional compiled kernels: the optimizer step and the elementwise passes of a training step.

The numpy code in ``netcore.optim``, ``netcore.layers`` and ``netcore.losses``
is the reference and always works. With numba installed (``pip install
'hpsearch[fast]'``) these run compiled, each as one pass:

- Adam: ten numpy passes over every parameter (memory- and sqrt-bound, a fifth
  of a 784-256-128-10 step at batch 128) become one loop, three to five times
  faster (``python -m studies.benchmarks.adam_step``);
- bias add + ReLU: ``z += b; max(z, 0)`` after a dense layer's GEMM;
- ReLU derivative: ``delta *= a > 0`` without the boolean temporary;
- softmax cross-entropy: argmax count, row-maximum shift and true-logit gather
  in one pass, the scaling by ``1 / row sum`` and the one-hot subtraction in
  another. ``exp``, ``log`` and all sums stay numpy's calls (the row and bias
  column sums are BLAS products with a ones vector, whose order no loop can
  reproduce), so nothing is reassociated.

Every kernel does the numpy path's operations in its order with IEEE semantics
(no fused multiply-add, no reassociation, no approximate square root), so the
results are bit for bit those of numpy, NaN, infinities and signed zeros
included; a training run is identical with or without numba
(``tests/netcore/test_kernels.py``, ``test_fused_kernels.py``). The biases'
gradient sums are not fused for that reason: they cost a BLAS call each.
``python -m studies.benchmarks.step_profile`` times each part of a step.

``NETCORE_KERNELS`` chooses: ``auto`` (the default: numba when it is installed),
``numba`` (numba required) or ``numpy``. It is read when an optimizer or a
model is built. The first compiled call of a process imports numba and loads
the kernels from its disk cache (compiling them the first time): about half a
second to a second, repaid after a few thousand steps of a net with a few
hundred thousand parameters. Models and buffers of fewer than ``MIN_SIZE``
parameters, where a step costs microseconds either way, always take the numpy
path and never import numba.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
from collections.abc import Callable

import numpy as np

from netcore.validation import check_choice

log = logging.getLogger(__name__)

ENV_VAR = "NETCORE_KERNELS"
CHOICES = ("auto", "numba", "numpy")
# The dtypes the kernels are compiled for; any other array takes the numpy path.
_DTYPES = (np.float32, np.float64)
# Below this many parameters the numpy step takes tens of microseconds: not worth numba's start-up.
MIN_SIZE = 32_768


def backend() -> str:
    """``"numba"`` or ``"numpy"``: what an optimizer built now runs, as ``NETCORE_KERNELS`` asks.

    Raises:
        ValueError: for a ``NETCORE_KERNELS`` outside ``CHOICES``.
        ImportError: for ``NETCORE_KERNELS=numba`` without numba installed.
    """
    choice = _choice()
    if choice == "numpy":
        return "numpy"
    if importlib.util.find_spec("numba") is not None:
        return "numba"
    if choice == "numba":
        raise ImportError(f"{ENV_VAR}=numba needs numba: pip install 'hpsearch[fast]'")
    return "numpy"


def _choice() -> str:
    choice = os.environ.get(ENV_VAR, "auto").strip().lower() or "auto"
    return check_choice(choice, CHOICES, f"environment variable {ENV_VAR}")


def compiled(name: str) -> Callable | None:
    """The compiled kernel ``name`` (``"adam"``, ``"bias_relu"``, ...), loaded on first use.

    None when numba is installed but does not import (built for another numpy,
    say) and ``NETCORE_KERNELS`` is ``auto``: the numpy step then runs, with a
    warning logged once.

    Raises:
        ImportError: when numba does not import under ``NETCORE_KERNELS=numba``.
    """
    loaded = _load()
    if isinstance(loaded, ImportError):
        if _choice() == "numba":
            raise ImportError(f"{ENV_VAR}=numba, but numba does not import: {loaded}") from loaded
        return None
    return loaded[name]


def kernel_for(name: str, backend: str, *arrays: np.ndarray) -> Callable | None:
    """The compiled step ``name`` for ``arrays`` under ``backend``, or None for the numpy step."""
    if backend != "numba" or not fits(*arrays):
        return None
    return compiled(name)


def for_model(n_params: int, dtype) -> bool:
    """True when a model of ``n_params`` parameters of ``dtype`` should run the compiled layer
    and loss kernels: numba chosen, a float dtype, and at least ``MIN_SIZE`` parameters (the
    threshold of the Adam kernel, so a net too small for it never imports numba either)."""
    return np.dtype(dtype).type in _DTYPES and n_params >= MIN_SIZE and backend() == "numba"


def fits(*arrays: np.ndarray) -> bool:
    """True when the arrays suit a kernel and pay for it: 1-D, C-contiguous, one shape,
    one float dtype, and at least ``MIN_SIZE`` elements."""
    first = arrays[0]
    return first.dtype.type in _DTYPES and first.size >= MIN_SIZE and all(
        a.ndim == 1 and a.flags.c_contiguous and a.dtype == first.dtype and a.shape == first.shape
        for a in arrays)


def adam_loop(params, grads, m_sum, v_sum, beta1, beta2, scale, eps) -> None:
    """Adam over flat arrays, operation for operation the numpy step of ``optim.Adam``
    (see there for the algebra); plain Python until numba compiles it."""
    for i in range(params.shape[0]):
        g = grads[i]
        m = m_sum[i] * beta1 + g
        v = v_sum[i] * beta2 + g * g
        m_sum[i] = m
        v_sum[i] = v
        params[i] = params[i] - (m / (np.sqrt(v) + eps)) * scale


def bias_relu(z, b) -> None:
    """``z = max(z + b, 0)`` in place, one pass: numpy's ``z += b`` then ``np.maximum(z, 0, out=z)``.

    As numpy's vectorized maximum: NaN stays NaN and ``-0.0`` becomes ``+0.0``.
    """
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            v = z[i, j] + b[j]
            z[i, j] = v if (v > 0 or v != v) else 0


def relu_backward(a, delta) -> None:
    """``delta *= a > 0`` in place, one pass and no boolean temporary: the mask as 1 or 0,
    multiplied, so ``-x * 0`` keeps numpy's ``-0.0`` and ``inf * 0`` its NaN."""
    one, zero = delta.dtype.type(1), delta.dtype.type(0)
    for i in range(delta.shape[0]):
        for j in range(delta.shape[1]):
            delta[i, j] = delta[i, j] * (one if a[i, j] > 0 else zero)


def softmax_shift(z, t, true_logit) -> int:
    """The first half of ``SoftmaxCrossEntropy.loss_and_delta``, one pass per row: count the rows
    whose argmax (numpy's: the first maximum, or the first NaN) is ``t``, subtract the row
    maximum from ``z`` in place and keep each row's shifted true logit in ``true_logit``."""
    correct = 0
    for i in range(z.shape[0]):
        best, at = z[i, 0], 0
        for j in range(1, z.shape[1]):
            v = z[i, j]
            if best != best:
                break
            if v > best or v != v:
                best, at = v, j
        correct += at == t[i]
        for j in range(z.shape[1]):
            z[i, j] = z[i, j] - best
        true_logit[i] = z[i, t[i]]
    return correct


def softmax_finish(z, t, total, scale) -> None:
    """The gradient half, after numpy's ``exp`` of ``z`` and its row sums ``total``:
    ``z * (scale / total) - scale * onehot(t)`` written into ``z``, one pass."""
    for i in range(z.shape[0]):
        r = scale / total[i]
        for j in range(z.shape[1]):
            z[i, j] = z[i, j] * r
        z[i, t[i]] = z[i, t[i]] - scale


@functools.cache
def _load() -> dict[str, Callable] | ImportError:
    # Imported on first use only: numba takes about half a second to import.
    try:
        import numba
    except ImportError as exc:
        log.warning("numba is installed but does not import (%s); netcore uses its numpy "
                    "optimizer steps", exc)
        return exc
    kernels = {"adam": adam_loop, "bias_relu": bias_relu, "relu_backward": relu_backward,
               "softmax_shift": softmax_shift, "softmax_finish": softmax_finish}
    return {name: jit(numba, function) for name, function in kernels.items()}


def jit(numba, function: Callable) -> Callable:
    """``function`` compiled by ``numba``, its machine code cached on disk where possible.

    error_model="numpy": a division by zero gives inf as in numpy instead of
    raising, which also lets the loop vectorize. Without a writable cache folder
    (next to this file, else the user's cache; ``NUMBA_CACHE_DIR`` chooses
    another) each process compiles the kernel again, about a second.
    """
    options = {"nogil": True, "error_model": "numpy"}
    try:
        return numba.njit(cache=True, **options)(function)
    except RuntimeError as exc:  # numba's "cannot cache function ...: no locator available"
        log.warning("numba cannot cache its kernels (%s); compiling them in every process", exc)
        return numba.njit(cache=False, **options)(function)
