"""Weight initializers, looked up by name.

Each initializer fills a weight matrix of shape (n_in, n_out) in place from a
``numpy.random.Generator``. Biases start at zero unless ``bias_init="normal"``
(N(0, 1), as in Nielsen's ``network2``).
"""

from __future__ import annotations

import numpy as np

from netcore.validation import check_choice


def xavier_uniform(w: np.ndarray, rng: np.random.Generator) -> None:
    """Glorot & Bengio: U(-r, r) with r = sqrt(6 / (n_in + n_out))."""
    n_in, n_out = w.shape
    limit = np.sqrt(6.0 / (n_in + n_out))
    w[...] = rng.uniform(-limit, limit, size=w.shape)


def he_normal(w: np.ndarray, rng: np.random.Generator) -> None:
    """He et al.: N(0, 2 / n_in), suited to ReLU units."""
    w[...] = rng.standard_normal(w.shape) * np.sqrt(2.0 / w.shape[0])


def lecun_normal(w: np.ndarray, rng: np.random.Generator) -> None:
    """N(0, 1/sqrt(n_in)) in Nielsen's notation: standard deviation 1 / sqrt(n_in)."""
    w[...] = rng.standard_normal(w.shape) / np.sqrt(w.shape[0])


def standard_normal(w: np.ndarray, rng: np.random.Generator) -> None:
    """N(0, 1): Nielsen's 'large weight' init, which saturates sigmoid units."""
    w[...] = rng.standard_normal(w.shape)


INITIALIZERS = {
    "xavier": xavier_uniform,
    "glorot": xavier_uniform,
    "he": he_normal,
    "lecun": lecun_normal,
    "standard": standard_normal,
}

BIAS_INITS = ("zeros", "normal")


def get_initializer(name: str):
    """The initializer registered as ``name``."""
    return INITIALIZERS[check_choice(name, sorted(INITIALIZERS), "init")]


def init_bias(b: np.ndarray, kind: str, rng: np.random.Generator) -> None:
    """Fill a bias vector: zeros, or N(0, 1)."""
    if kind == "zeros":
        b[...] = 0.0
    else:
        b[...] = rng.standard_normal(b.shape)
