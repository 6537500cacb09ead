"""Layers of the MLP: small, explicit, allocation-free in the training loop.

A layer's ``forward`` keeps what its ``backward`` needs; ``backward`` writes
the parameter gradients into the model's flat gradient buffer (through views
bound by the model) and returns the gradient with respect to its input.
Output buffers are kept per batch size, so a training loop allocates nothing
after its first batch.
"""

from __future__ import annotations

import numpy as np

from netcore import kernels
from netcore.activations import Activation, PReLU, ReLU
from netcore.reductions import column_sums

# Enough for up to three buffers at the training batch size, the last partial
# batch and evaluation chunks.
_MAX_WORKSPACES = 9


class Layer:
    """Base class. Parametric layers declare their shapes and get views bound."""

    # Set by ``MLP.fixed_noise``: reuse the last dropout mask, keep running statistics.
    fixed = False

    def param_shapes(self) -> list[tuple[str, tuple[int, ...], str]]:
        """(name, shape, kind) of each trainable array; kind "weight" gets decay."""
        return []

    def bind(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        """Receive views into the model's flat parameter and gradient buffers."""

    def buffers(self) -> dict[str, np.ndarray]:
        """Non-trainable state (e.g. running statistics), saved and restored with weights."""
        return {}

    def reset_parameters(self) -> None:
        """Set the initial values of non-weight parameters and buffers (Dense is set by the model)."""

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        raise NotImplementedError

    def backward(self, delta: np.ndarray, need_input_grad: bool) -> np.ndarray | None:
        raise NotImplementedError

    def _workspace(self, key: str, shape: tuple[int, ...], dtype) -> np.ndarray:
        cache = self.__dict__.setdefault("_workspaces", {})
        buf = cache.get((key, shape))
        if buf is None or buf.dtype != dtype:
            if len(cache) >= _MAX_WORKSPACES:
                cache.clear()
            buf = cache[(key, shape)] = np.empty(shape, dtype=dtype)
        return buf


class Dense(Layer):
    """Affine map ``z = x @ W + b`` with W of shape (n_in, n_out).

    ``bias=False`` drops ``b``: a batch-norm layer right after it subtracts the
    batch mean, which cancels any bias (its gradient is exactly zero).
    """

    def __init__(self, n_in: int, n_out: int, bias: bool = True):
        self.n_in, self.n_out, self.has_bias = n_in, n_out, bias
        # Set by ``ActivationLayer.fuse_bias``: the next layer adds b in its own pass.
        self.bias_added_later = False

    def param_shapes(self):
        shapes = [("W", (self.n_in, self.n_out), "weight")]
        return [*shapes, ("b", (self.n_out,), "bias")] if self.has_bias else shapes

    def bind(self, params, grads):
        self.W, self.b = params["W"], params.get("b")
        self.dW, self.db = grads["W"], grads.get("b")

    def forward(self, x, training):
        self.x = x
        out = self._workspace("out", (x.shape[0], self.n_out), self.W.dtype)
        np.matmul(x, self.W, out=out)
        if self.b is not None and not self.bias_added_later:
            out += self.b
        return out

    def backward(self, delta, need_input_grad):
        # dW = X^T delta and db = column sums: the matrix form of backprop.
        np.matmul(self.x.T, delta, out=self.dW)
        if self.db is not None:
            column_sums(delta, out=self.db)
        if not need_input_grad:
            return None
        dx = self._workspace("dx", (delta.shape[0], self.n_in), delta.dtype)
        return np.matmul(delta, self.W.T, out=dx)


class ActivationLayer(Layer):
    """Applies an activation in place over the previous layer's output.

    With the compiled kernels (``use_kernels``) a ReLU runs as one pass each way,
    and takes over the bias add of the dense layer before it (``fuse_bias``):
    ``max(x @ W + b, 0)`` is then one GEMM and one pass instead of three.
    Results are bit for bit those of the numpy operations.
    """

    def __init__(self, activation: Activation):
        self.activation = activation
        self.compiled = False
        self.bias: np.ndarray | None = None

    def use_kernels(self, previous: Layer) -> None:
        """Run compiled when the activation has a kernel (ReLU), adding ``previous``'s bias
        in the same pass when it is a dense layer with one."""
        if not isinstance(self.activation, ReLU):
            return
        self.compiled = True
        if isinstance(previous, Dense) and previous.b is not None:
            self.bias, previous.bias_added_later = previous.b, True

    def forward(self, x, training):
        kernel = kernels.compiled("bias_relu") if self.bias is not None else None
        if kernel is not None:
            kernel(x, self.bias)
            self.a = x
            return x
        if self.bias is not None:  # numba failed to import: the numpy operations, in order
            x += self.bias
        self.a = self.activation.forward(x, out=x)
        return self.a

    def backward(self, delta, need_input_grad):
        kernel = kernels.compiled("relu_backward") if self.compiled else None
        if kernel is None:
            return self.activation.backward(self.a, delta)
        kernel(self.a, delta)
        return delta


class PReLULayer(Layer):
    """PReLU: ``a = z`` for z > 0 and ``slope_j * z`` otherwise, one learned slope per unit.

    Unlike the other activations it keeps its input rather than working from
    its output: once a slope reaches 0 the output no longer tells ``z``, and
    the slope gradient ``sum_i delta_ij * z_ij [z_ij <= 0]`` needs ``z``.
    """

    def __init__(self, n_units: int, activation: PReLU):
        self.n_units, self.activation = n_units, activation

    def param_shapes(self):
        return [("slope", (self.n_units,), "slope")]

    def bind(self, params, grads):
        self.slope, self.dslope = params["slope"], grads["slope"]

    def reset_parameters(self):
        self.slope[...] = self.activation.slope

    def forward(self, x, training):
        self.x = x
        self.positive = np.greater(x, 0, out=self._workspace("positive", x.shape, np.bool_))
        out = self._workspace("out", x.shape, x.dtype)
        np.multiply(x, self.slope, out=out)
        np.copyto(out, x, where=self.positive)
        self.a = out
        return out

    def backward(self, delta, need_input_grad):
        tmp = self._workspace("tmp", delta.shape, delta.dtype)
        np.multiply(delta, self.x, out=tmp)
        np.copyto(tmp, 0, where=self.positive)
        np.sum(tmp, axis=0, out=self.dslope)
        np.multiply(delta, self.slope, out=tmp)
        np.copyto(tmp, delta, where=self.positive)
        return tmp


class Dropout(Layer):
    """Inverted dropout: in training, zero each input with probability ``rate``
    and scale the survivors by ``1 / (1 - rate)``, so evaluation is the identity.

    Masks are drawn from ``self.rng`` (the model's Generator, which ``fit``
    seeds). Under ``MLP.fixed_noise`` the last mask is reused, which makes the
    training forward pass a deterministic function of the parameters (what a
    gradient check needs).
    """

    def __init__(self, rate: float):
        self.rate = float(rate)
        self.rng: np.random.Generator | None = None
        self.mask: np.ndarray | None = None
        self.active = False

    def forward(self, x, training):
        self.active = training
        if not training:
            return x
        out = self._workspace("out", x.shape, x.dtype)
        # Never in place: x may be the caller's data or an activation output kept for backward.
        return np.multiply(x, self._mask(x), out=out)

    def _mask(self, x: np.ndarray) -> np.ndarray:
        if self.fixed:
            if self.mask is None or self.mask.shape != x.shape:
                raise RuntimeError("fixed_noise needs a training-mode forward pass on a batch of "
                                   f"this shape first (mask shape {x.shape})")
            return self.mask
        mask = self._workspace("mask", x.shape, x.dtype)
        self.rng.random(dtype=x.dtype, out=mask)
        np.greater_equal(mask, self.rate, out=mask)
        mask *= 1.0 / (1.0 - self.rate)
        self.mask = mask
        return mask

    def backward(self, delta, need_input_grad):
        if not need_input_grad:
            return None
        if self.active:
            delta *= self.mask
        return delta


class BatchNorm(Layer):
    """Batch normalization (Ioffe & Szegedy, 2015) of each unit's pre-activation.

    Training: ``y = gamma * (x - mean) / sqrt(var + eps) + beta`` with the
    batch mean and (biased) variance, and running averages updated as
    ``running = momentum * running + (1 - momentum) * batch`` (Keras's
    ``momentum`` convention, PyTorch's ``1 - momentum``; the running variance
    takes the unbiased batch variance, as in PyTorch; a batch of one sample
    leaves both alone). Evaluation normalizes with the running statistics.
    ``gamma`` and ``beta`` are trainable non-weight parameters (not decayed);
    the running statistics are buffers, so early stopping and save/load keep them.
    """

    def __init__(self, n_units: int, momentum: float = 0.9, eps: float = 1e-5):
        self.n_units, self.momentum, self.eps = n_units, float(momentum), float(eps)
        self.training = False

    def param_shapes(self):
        return [("gamma", (self.n_units,), "scale"), ("beta", (self.n_units,), "bias")]

    def bind(self, params, grads):
        self.gamma, self.beta = params["gamma"], params["beta"]
        self.dgamma, self.dbeta = grads["gamma"], grads["beta"]
        self.running_mean = np.zeros(self.n_units, dtype=self.gamma.dtype)
        self.running_var = np.ones(self.n_units, dtype=self.gamma.dtype)

    def buffers(self):
        return {"running_mean": self.running_mean, "running_var": self.running_var}

    def reset_parameters(self):
        self.gamma[...], self.beta[...] = 1.0, 0.0
        self.running_mean[...], self.running_var[...] = 0.0, 1.0

    def forward(self, x, training):
        # x is the dense layer's output buffer, which its backward does not need: overwrite it.
        self.training = training
        if not training:
            scale = self.gamma / np.sqrt(self.running_var + self.eps)
            x *= scale
            x += self.beta - self.running_mean * scale
            return x
        mean = x.mean(axis=0)
        xhat = np.subtract(x, mean, out=self._workspace("xhat", x.shape, x.dtype))
        var = np.einsum("ij,ij->j", xhat, xhat) / len(x)
        self.inv_std = 1.0 / np.sqrt(var + self.eps)
        xhat *= self.inv_std
        self.xhat = xhat
        # One sample estimates no variance: leave the running statistics alone then.
        if not self.fixed and len(x) > 1:
            self._update_running(mean, var, len(x))
        np.multiply(xhat, self.gamma, out=x)
        x += self.beta
        return x

    def _update_running(self, mean: np.ndarray, var: np.ndarray, n: int) -> None:
        m = self.momentum
        self.running_mean *= m
        self.running_mean += (1.0 - m) * mean
        self.running_var *= m
        self.running_var += (1.0 - m) * (var * (n / (n - 1)))

    def backward(self, delta, need_input_grad):
        if not self.training:
            raise RuntimeError("BatchNorm.backward needs a forward pass with training=True")
        n = len(delta)
        np.einsum("ij,ij->j", delta, self.xhat, out=self.dgamma)
        column_sums(delta, out=self.dbeta)
        if not need_input_grad:
            return None
        # dx = gamma / std * (delta - mean(delta) - xhat * mean(delta * xhat)), in place.
        tmp = np.multiply(self.xhat, self.dgamma / n, out=self._workspace("tmp", delta.shape, delta.dtype))
        delta -= tmp
        delta -= self.dbeta / n
        delta *= self.gamma * self.inv_std
        return delta
