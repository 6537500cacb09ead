"""Layers of the MLP: small, explicit, allocation-free in the training loop.

A layer's ``forward`` keeps what its ``backward`` needs; ``backward`` writes
the parameter gradients into the model's flat gradient buffer (through views
bound by the model) and returns the gradient with respect to its input.
Output buffers are kept per batch size, so a training loop allocates nothing
after its first batch.
"""

from __future__ import annotations

import numpy as np

from netcore.activations import Activation

# Enough for the training batch, the last partial batch and evaluation chunks.
_MAX_WORKSPACES = 6


class Layer:
    """Base class. Parametric layers declare their shapes and get views bound."""

    def param_shapes(self) -> list[tuple[str, tuple[int, ...], str]]:
        """(name, shape, kind) of each trainable array; kind "weight" gets decay."""
        return []

    def bind(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        """Receive views into the model's flat parameter and gradient buffers."""

    def buffers(self) -> dict[str, np.ndarray]:
        """Non-trainable state (e.g. running statistics), saved and restored with weights."""
        return {}

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
    """Affine map ``z = x @ W + b`` with W of shape (n_in, n_out)."""

    def __init__(self, n_in: int, n_out: int):
        self.n_in, self.n_out = n_in, n_out

    def param_shapes(self):
        return [("W", (self.n_in, self.n_out), "weight"), ("b", (self.n_out,), "bias")]

    def bind(self, params, grads):
        self.W, self.b = params["W"], params["b"]
        self.dW, self.db = grads["W"], grads["b"]

    def forward(self, x, training):
        self.x = x
        out = self._workspace("out", (x.shape[0], self.n_out), self.W.dtype)
        np.matmul(x, self.W, out=out)
        out += self.b
        return out

    def backward(self, delta, need_input_grad):
        # dW = X^T delta and db = column sums: the matrix form of backprop.
        np.matmul(self.x.T, delta, out=self.dW)
        np.sum(delta, axis=0, out=self.db)
        if not need_input_grad:
            return None
        dx = self._workspace("dx", (delta.shape[0], self.n_in), delta.dtype)
        return np.matmul(delta, self.W.T, out=dx)


class ActivationLayer(Layer):
    """Applies an activation in place over the previous layer's output."""

    def __init__(self, activation: Activation):
        self.activation = activation

    def forward(self, x, training):
        self.a = self.activation.forward(x, out=x)
        return self.a

    def backward(self, delta, need_input_grad):
        return self.activation.backward(self.a, delta)
