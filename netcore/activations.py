"""Hidden-layer activations, each with its derivative written from the output.

Every activation works in place: ``forward(z, out)`` writes ``f(z)`` into
``out`` (which may be ``z`` itself), and ``backward(a, delta)`` multiplies
``delta`` in place by ``f'`` expressed through the output ``a = f(z)``. Working
from the output lets a layer overwrite its pre-activation buffer, so the
forward pass allocates nothing (the scikit-learn ``DERIVATIVES`` idea).
"""

from __future__ import annotations

import numpy as np

from netcore.validation import check_choice


class Activation:
    """Base class: a named elementwise nonlinearity and its derivative."""

    name = "activation"
    # True when the activation has trainable parameters (then a layer owns them).
    learned = False

    def forward(self, z: np.ndarray, out: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, a: np.ndarray, delta: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def config(self) -> dict:
        """The keyword arguments that rebuild this activation."""
        return {}


class Sigmoid(Activation):
    name = "sigmoid"

    def forward(self, z, out):
        # 0.5 * (1 + tanh(z / 2)) equals 1 / (1 + exp(-z)) and never overflows.
        np.multiply(z, 0.5, out=out)
        np.tanh(out, out=out)
        out += 1.0
        out *= 0.5
        return out

    def backward(self, a, delta):
        delta *= a
        delta *= 1.0 - a
        return delta


class Tanh(Activation):
    name = "tanh"

    def forward(self, z, out):
        return np.tanh(z, out=out)

    def backward(self, a, delta):
        delta *= 1.0 - a * a
        return delta


class ReLU(Activation):
    name = "relu"

    def forward(self, z, out):
        return np.maximum(z, 0.0, out=out)

    def backward(self, a, delta):
        delta *= a > 0
        return delta


class LeakyReLU(Activation):
    """max(z, slope * z) with a fixed slope for negative inputs."""

    name = "leaky_relu"

    def __init__(self, slope: float = 0.01):
        if not 0.0 <= slope < 1.0:
            raise ValueError(f"leaky_relu slope must satisfy 0 <= slope < 1, got {slope!r}")
        self.slope = float(slope)

    def forward(self, z, out):
        return np.maximum(z, self.slope * z, out=out)

    def backward(self, a, delta):
        delta *= np.where(a > 0, 1.0, self.slope).astype(delta.dtype, copy=False)
        return delta

    def config(self):
        return {"slope": self.slope}


class Softplus(Activation):
    """log(1 + exp(z)); its derivative sigmoid(z) equals 1 - exp(-a)."""

    name = "softplus"

    def forward(self, z, out):
        return np.logaddexp(z, 0.0, out=out)

    def backward(self, a, delta):
        delta *= -np.expm1(-a)
        return delta


class ELU(Activation):
    """z for z > 0, alpha * (exp(z) - 1) otherwise; derivative a + alpha there."""

    name = "elu"

    def __init__(self, alpha: float = 1.0):
        if not alpha > 0:
            raise ValueError(f"elu alpha must be > 0, got {alpha!r}")
        self.alpha = float(alpha)

    def forward(self, z, out):
        negative = z < 0
        np.copyto(out, z)
        out[negative] = self.alpha * np.expm1(z[negative])
        return out

    def backward(self, a, delta):
        delta *= np.where(a > 0, 1.0, a + self.alpha).astype(delta.dtype, copy=False)
        return delta

    def config(self):
        return {"alpha": self.alpha}


class PReLU(Activation):
    """Parametric ReLU (He et al., 2015): z for z > 0, slope_j * z otherwise.

    Each unit j learns its own slope, so this activation has parameters: the
    model runs it through ``layers.PReLULayer``, which owns the slope vector and
    its gradient. ``slope`` here is the initial value (0.25, as in the paper).
    The slope is not a weight: L1/L2 penalties leave it alone.
    """

    name = "prelu"
    learned = True

    def __init__(self, slope: float = 0.25):
        if isinstance(slope, bool) or not isinstance(slope, int | float) or not np.isfinite(slope):
            raise ValueError(f"prelu slope must be a finite number, got {slope!r}")
        self.slope = float(slope)

    def forward(self, z, out):
        raise TypeError("prelu has a learned slope per unit; use it through MLP(activation='prelu')")

    def backward(self, a, delta):
        raise TypeError("prelu has a learned slope per unit; use it through MLP(activation='prelu')")

    def config(self):
        return {"slope": self.slope}


class Linear(Activation):
    name = "linear"

    def forward(self, z, out):
        if out is not z:
            np.copyto(out, z)
        return out

    def backward(self, a, delta):
        return delta


ACTIVATIONS: dict[str, type[Activation]] = {
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "prelu": PReLU,
    "softplus": Softplus,
    "elu": ELU,
    "linear": Linear,
}


def get_activation(name: str, **options) -> Activation:
    """Build the activation registered as ``name``.

    Raises:
        ValueError: if ``name`` is not registered.
    """
    check_choice(name, sorted(ACTIVATIONS), "activation")
    return ACTIVATIONS[name](**options)
