"""Built-in datasets by name: MNIST, scikit-learn's 8x8 digits, seeded spirals.

``load_dataset(name)`` returns a ``Dataset`` with train, validation and test
splits as float arrays in [0, 1] (or standardized coordinates for spirals)
and integer labels; ``DATASETS`` is the registry of the names it knows.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
from pathlib import Path

import numpy as np

from netcore.data.cache import cached_arrays
from netcore.data.dataset import Dataset
from netcore.data.mnist import load_mnist
from netcore.validation import check_choice


def _digits_file() -> Path | None:
    """scikit-learn's bundled digits file, found without importing scikit-learn."""
    spec = importlib.util.find_spec("sklearn")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            return path
    return None


def _digits_cache_key(dtype, seed: int) -> str | None:
    # The bundled file and the version of the code that splits it name the content;
    # None (no caching) when the file is not where it is expected.
    path = _digits_file()
    if path is None:
        return None
    source = path.read_bytes() + importlib.metadata.version("scikit-learn").encode()
    digest = hashlib.sha256(source).hexdigest()[:16]
    return f"digits-{np.dtype(dtype).name}-seed{seed}-{digest}"


def _prepared_digits(dtype, seed) -> dict[str, np.ndarray]:
    from sklearn.datasets import load_digits as sk_digits
    from sklearn.model_selection import train_test_split

    X, y = sk_digits(return_X_y=True)
    X = (X / 16.0).astype(dtype)
    y = y.astype(np.int64)
    X_tr, X_rest, y_tr, y_rest = train_test_split(X, y, test_size=0.4, stratify=y,
                                                  random_state=seed)
    X_val, X_te, y_val, y_te = train_test_split(X_rest, y_rest, test_size=0.5,
                                                stratify=y_rest, random_state=seed)
    return {"X_train": X_tr, "y_train": y_tr, "X_val": X_val, "y_val": y_val,
            "X_test": X_te, "y_test": y_te}


def load_digits(*, dtype="float32", seed: int = 0, cache: bool = True) -> Dataset:
    """scikit-learn's bundled 8x8 digits (1,797 images), a fixed stratified 60/20/20 split.

    With ``cache`` (the default) the split arrays are saved once in
    ``netcore.data.cache``'s folder and later loads memory-map them without
    importing scikit-learn: a worker process of a search starts about a second sooner.
    """
    build = functools.partial(_prepared_digits, dtype, seed)
    key = _digits_cache_key(dtype, seed) if cache and isinstance(seed, int) else None
    arrays = build() if key is None else cached_arrays(key, build)
    return Dataset("digits", **arrays, n_classes=10)


def make_spirals(n_samples: int, *, n_classes: int = 3, noise: float = 0.2,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved 2-D spirals, one arm per class (the cs231n toy problem)."""
    per_class = n_samples // n_classes
    X = np.empty((per_class * n_classes, 2))
    y = np.repeat(np.arange(n_classes), per_class)
    for k in range(n_classes):
        radius = np.linspace(0.05, 1.0, per_class)
        theta = np.linspace(k * 4.0, (k + 1) * 4.0, per_class) + rng.normal(0, noise, per_class)
        rows = slice(k * per_class, (k + 1) * per_class)
        X[rows] = np.column_stack([radius * np.sin(theta), radius * np.cos(theta)])
    return X, y


def load_spirals(*, dtype="float32", seed: int = 0, n_samples: int = 3000,
                 n_classes: int = 3) -> Dataset:
    """Seeded synthetic spirals, shuffled and split 60/20/20."""
    rng = np.random.default_rng(seed)
    X, y = make_spirals(n_samples, n_classes=n_classes, rng=rng)
    order = rng.permutation(len(X))
    X, y = X[order].astype(dtype), y[order].astype(np.int64)
    a, b = int(0.6 * len(X)), int(0.8 * len(X))
    return Dataset("spirals", X[:a], y[:a], X[a:b], y[a:b], X[b:], y[b:], n_classes)


DATASETS = {"mnist": load_mnist, "digits": load_digits, "spirals": load_spirals}


def load_dataset(name: str, **options) -> Dataset:
    """Load a dataset by name: ``"mnist"``, ``"digits"`` or ``"spirals"``.

    Options go to the loader (e.g. ``dtype="float64"``, ``seed=`` for spirals).
    """
    check_choice(name, sorted(DATASETS), "name")
    return DATASETS[name](**options)
