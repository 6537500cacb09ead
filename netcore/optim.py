"""Optimizers over one flat parameter vector, and gradient transforms.

An optimizer sees the flat ``params`` and ``grads`` arrays, never layers, and
updates ``params`` in place with a few vectorized operations. Weight decay and
clipping are gradient transforms applied before the step, composed rather than
built into each optimizer (the optax idea); constraints such as max-norm
project the weights after the step. Optimizer state is a dict of
arrays so that it can be saved and restored exactly (the LR finder relies on it).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Sequence

import numpy as np

from netcore import kernels
from netcore.validation import check_choice, check_non_negative, check_options, check_positive


class Optimizer:
    """Base class: ``step(params, grads, lr)`` updates ``params`` in place."""

    name = "optimizer"
    # The arrays ``step`` keeps in ``state`` (None: not declared, so not checked on load).
    state_keys: tuple[str, ...] | None = None

    def __init__(self):
        self.state: dict[str, np.ndarray] = {}
        self.t = 0

    def _buffer(self, key: str, like: np.ndarray) -> np.ndarray:
        buf = self.state.get(key)
        if buf is None or buf.shape != like.shape or buf.dtype != like.dtype:
            buf = self.state[key] = np.zeros_like(like)
        return buf

    def _scratch(self, like: np.ndarray) -> np.ndarray:
        # Not part of the state: a workspace reused across steps.
        buf = getattr(self, "_tmp", None)
        if buf is None or buf.shape != like.shape or buf.dtype != like.dtype:
            buf = self._tmp = np.empty_like(like)
        return buf

    def step(self, params: np.ndarray, grads: np.ndarray, lr: float) -> None:
        self.t += 1
        self._update(params, grads, lr)

    def _update(self, params, grads, lr):
        raise NotImplementedError

    def state_dict(self) -> dict:
        """A deep copy of the optimizer state (step count and moment arrays)."""
        return {"t": self.t, **{k: v.copy() for k, v in self.state.items()}}

    def load_state_dict(self, state: dict) -> None:
        """Restore ``state_dict()``. Another optimizer's arrays are a ValueError: this
        one would drop them silently and start its moments over."""
        arrays = sorted(k for k in state if k != "t")
        if self.state_keys is not None and int(state["t"]) > 0 and arrays != sorted(self.state_keys):
            raise ValueError(f"the {self.name!r} optimizer's state holds {sorted(self.state_keys)}, "
                             f"got {arrays}")
        self.t = int(state["t"])
        self.state = {k: np.array(v, copy=True) for k, v in state.items() if k != "t"}

    def hyperparameters(self) -> dict:
        return {}


class SGD(Optimizer):
    """Plain stochastic gradient descent: p -= lr * g."""

    name = "sgd"
    state_keys = ()

    def _update(self, params, grads, lr):
        tmp = self._scratch(grads)
        np.multiply(grads, lr, out=tmp)
        params -= tmp


class Momentum(Optimizer):
    """Classical momentum: v = mu * v - lr * g; p += v."""

    name = "momentum"
    state_keys = ("velocity",)

    def __init__(self, momentum: float = 0.9):
        super().__init__()
        self.momentum = _fraction(momentum, "momentum")

    def _update(self, params, grads, lr):
        v, tmp = self._buffer("velocity", params), self._scratch(grads)
        v *= self.momentum
        np.multiply(grads, lr, out=tmp)
        v -= tmp
        params += v

    def hyperparameters(self):
        return {"momentum": self.momentum}


class Nesterov(Momentum):
    """Nesterov momentum in the look-ahead-free form of Sutskever et al.:
    v' = mu * v - lr * g;  p += -mu * v + (1 + mu) * v'."""

    name = "nesterov"

    def _update(self, params, grads, lr):
        v, tmp = self._buffer("velocity", params), self._scratch(grads)
        mu = self.momentum
        np.multiply(v, -mu, out=tmp)
        params += tmp
        v *= mu
        np.multiply(grads, lr, out=tmp)
        v -= tmp
        np.multiply(v, 1.0 + mu, out=tmp)
        params += tmp


class RMSprop(Optimizer):
    """s = rho * s + (1 - rho) * g^2;  p -= lr * g / (sqrt(s) + eps)."""

    name = "rmsprop"
    state_keys = ("square_avg",)

    def __init__(self, rho: float = 0.9, eps: float = 1e-8):
        super().__init__()
        self.rho = _fraction(rho, "rho")
        self.eps = check_positive(eps, "eps")

    def _update(self, params, grads, lr):
        s, tmp = self._buffer("square_avg", params), self._scratch(grads)
        s *= self.rho
        np.multiply(grads, grads, out=tmp)
        tmp *= 1.0 - self.rho
        s += tmp
        np.sqrt(s, out=tmp)
        tmp += self.eps
        np.divide(grads, tmp, out=tmp)
        tmp *= lr
        params -= tmp

    def hyperparameters(self):
        return {"rho": self.rho, "eps": self.eps}


class Adam(Optimizer):
    """Kingma & Ba with bias correction:
    p -= lr * m_hat / (sqrt(v_hat) + eps) with m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t).

    The state holds the undamped sums ``m_sum = m / (1 - b1)`` and
    ``v_sum = v / (1 - b2)``: each then updates in place as ``s = beta * s + x``
    and every constant moves into two scalars, so a step is ten passes over
    the flat buffer instead of twelve (the step is memory- and sqrt-bound).
    With numba installed the same operations run as one compiled pass
    (``netcore.kernels``), with bit-identical results.
    """

    name = "adam"
    state_keys = ("m_sum", "v_sum")

    def __init__(self, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        super().__init__()
        self.beta1 = _fraction(beta1, "beta1")
        self.beta2 = _fraction(beta2, "beta2")
        self.eps = check_positive(eps, "eps")
        self.backend = kernels.backend()

    def _update(self, params, grads, lr):
        m_sum, v_sum = self._buffer("m_sum", params), self._buffer("v_sum", params)
        b1, b2 = self.beta1, self.beta2
        # sqrt(v_hat) = root * sqrt(v_sum) with root = sqrt((1 - b2) / (1 - b2^t)), so
        # lr * m_hat / (sqrt(v_hat) + eps) = scale * m_sum / (sqrt(v_sum) + eps / root).
        root = math.sqrt((1.0 - b2) / (1.0 - b2 ** self.t))
        scale = lr * (1.0 - b1) / ((1.0 - b1 ** self.t) * root)
        kernel = kernels.kernel_for("adam", self.backend, params, grads, m_sum, v_sum)
        if kernel is not None:
            # Scalars of the arrays' dtype: the arithmetic numpy does with Python floats.
            as_dtype = params.dtype.type
            kernel(params, grads, m_sum, v_sum, as_dtype(b1), as_dtype(b2), as_dtype(scale),
                   as_dtype(self.eps / root))
            return
        tmp = self._scratch(grads)
        m_sum *= b1
        m_sum += grads
        v_sum *= b2
        np.multiply(grads, grads, out=tmp)
        v_sum += tmp
        # Python floats keep float32 arrays float32.
        np.sqrt(v_sum, out=tmp)
        tmp += self.eps / root
        np.divide(m_sum, tmp, out=tmp)
        tmp *= scale
        params -= tmp

    def hyperparameters(self):
        return {"beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}


class Adagrad(Optimizer):
    """G += g^2;  p -= lr * g / (sqrt(G) + eps)."""

    name = "adagrad"
    state_keys = ("sum_squares",)

    def __init__(self, eps: float = 1e-10):
        super().__init__()
        self.eps = check_positive(eps, "eps")

    def _update(self, params, grads, lr):
        acc, tmp = self._buffer("sum_squares", params), self._scratch(grads)
        np.multiply(grads, grads, out=tmp)
        acc += tmp
        np.sqrt(acc, out=tmp)
        tmp += self.eps
        np.divide(grads, tmp, out=tmp)
        tmp *= lr
        params -= tmp

    def hyperparameters(self):
        return {"eps": self.eps}


def _fraction(value, argument: str) -> float:
    value = check_non_negative(value, argument)
    if not value < 1.0:
        raise ValueError(f"{argument} must satisfy 0 <= {argument} < 1, got {value!r}")
    return value


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "rmsprop": RMSprop,
    "adam": Adam,
    "adagrad": Adagrad,
}


def optimizer_options(name: str) -> list[str]:
    """The hyperparameter names that the optimizer ``name`` accepts."""
    return list(inspect.signature(OPTIMIZERS[name].__init__).parameters)[1:]


def get_optimizer(name: str, **options) -> Optimizer:
    """Build the optimizer registered as ``name`` with its hyperparameters.

    Raises:
        ValueError: for an unknown name, or an option the optimizer does not take.
    """
    check_choice(name, sorted(OPTIMIZERS), "optimizer")
    check_options(options, optimizer_options(name), what=f"optimizer {name!r} does not take",
                  allows="it takes")
    return OPTIMIZERS[name](**options)


# Gradient transforms: applied in order to the flat gradient before the step.

class L2Penalty:
    """Adds ``l2 * w`` to the weight gradients: the loss gains (l2 / 2) * ||W||^2.

    Nielsen's lambda / n is ``l2`` here. Biases are not decayed unless
    ``include_biases`` (all non-weight parameters then decay too).
    """

    def __init__(self, l2: float, include_biases: bool = False):
        self.l2, self.include_biases = check_non_negative(l2, "l2"), include_biases

    def __call__(self, params, grads, n_weights):
        end = len(params) if self.include_biases else n_weights
        grads[:end] += self.l2 * params[:end]


class L1Penalty:
    """Adds ``l1 * sign(w)`` to the weight gradients: the loss gains l1 * |W|_1."""

    def __init__(self, l1: float, include_biases: bool = False):
        self.l1, self.include_biases = check_non_negative(l1, "l1"), include_biases

    def __call__(self, params, grads, n_weights):
        end = len(params) if self.include_biases else n_weights
        grads[:end] += self.l1 * np.sign(params[:end])


class ClipGlobalNorm:
    """Rescales the whole gradient so its L2 norm is at most ``max_norm``."""

    def __init__(self, max_norm: float):
        self.max_norm = check_positive(max_norm, "clip_norm")

    def __call__(self, params, grads, n_weights):
        norm = float(np.sqrt(np.dot(grads, grads)))
        if norm > self.max_norm:
            grads *= self.max_norm / norm


class ClipValue:
    """Clips every gradient element to ``[-clip_value, clip_value]``.

    Elementwise, so each layer's weight and bias gradients are clipped on their
    own, whatever the other layers hold (unlike ``ClipGlobalNorm``, which
    rescales the whole gradient as one vector).
    """

    def __init__(self, clip_value: float):
        self.clip_value = check_positive(clip_value, "clip_value")

    def __call__(self, params, grads, n_weights):
        np.clip(grads, -self.clip_value, self.clip_value, out=grads)


# Constraints: applied to the weight matrices after each optimizer step.

class MaxNorm:
    """Rescales each unit's incoming weight vector (a column of W) to norm <= ``max_norm``.

    The max-norm constraint of Srivastava et al.'s dropout paper, applied to
    every dense layer after each step; biases and other parameters are free.
    """

    def __init__(self, max_norm: float):
        self.max_norm = check_positive(max_norm, "max_norm")

    def __call__(self, weights: Sequence[np.ndarray]) -> None:
        for W in weights:
            norms = np.sqrt(np.einsum("ij,ij->j", W, W))
            np.maximum(norms, self.max_norm, out=norms)
            W *= self.max_norm / norms
