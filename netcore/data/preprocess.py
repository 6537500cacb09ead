"""Input preprocessing fitted on training data only, then applied everywhere.

Fit on ``X_train`` and transform train, validation and test with the same
statistics, so nothing about the held-out data leaks into training.
"""

from __future__ import annotations

import numpy as np


class Standardizer:
    """Zero mean and unit variance per feature (constant features are left at 0)."""

    def fit(self, X: np.ndarray) -> Standardizer:
        X = np.asarray(X, dtype=np.float64)
        self.mean_ = X.mean(axis=0)
        std = X.std(axis=0)
        self.scale_ = np.where(std > 0, std, 1.0)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X)
        dtype = X.dtype if np.issubdtype(X.dtype, np.floating) else np.float64
        return ((X - self.mean_) / self.scale_).astype(dtype, copy=False)

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        return self.fit(X).transform(X)


class PCAWhitener:
    """PCA whitening: rotate onto the principal axes and scale each to unit variance.

    Args:
        n_components: keep this many leading components (``None`` keeps all).
        eps: added to the variances before the square root, so directions of
            (near) zero variance are not blown up.
    """

    def __init__(self, n_components: int | None = None, eps: float = 1e-5):
        if n_components is not None and (not isinstance(n_components, int) or n_components < 1):
            raise ValueError(f"n_components must be a positive integer or None, got {n_components!r}")
        if not eps >= 0:
            raise ValueError(f"eps must be >= 0, got {eps!r}")
        self.n_components, self.eps = n_components, eps

    def fit(self, X: np.ndarray) -> PCAWhitener:
        X = np.asarray(X, dtype=np.float64)
        if self.n_components is not None and self.n_components > X.shape[1]:
            raise ValueError(f"n_components={self.n_components} exceeds the {X.shape[1]} features")
        self.mean_ = X.mean(axis=0)
        cov = np.cov(X - self.mean_, rowvar=False).reshape(X.shape[1], X.shape[1])
        variances, vectors = np.linalg.eigh(cov)
        order = np.argsort(variances)[::-1][: self.n_components]
        self.variances_ = variances[order]
        self.components_ = vectors[:, order]
        self.matrix_ = self.components_ / np.sqrt(np.maximum(self.variances_, 0) + self.eps)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X)
        dtype = X.dtype if np.issubdtype(X.dtype, np.floating) else np.float64
        return ((X - self.mean_) @ self.matrix_).astype(dtype, copy=False)

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        return self.fit(X).transform(X)
