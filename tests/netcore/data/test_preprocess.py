"""Standardization and PCA whitening are fitted on training data only."""

from __future__ import annotations

import numpy as np
import pytest

from netcore import PCAWhitener, Standardizer


def test_standardizer_uses_training_statistics(rng):
    train = rng.normal(5.0, 3.0, size=(500, 4))
    test = rng.normal(0.0, 1.0, size=(100, 4))
    scaler = Standardizer().fit(train)
    z = scaler.transform(train)
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(z.std(axis=0), 1, atol=1e-12)
    np.testing.assert_allclose(scaler.transform(test), (test - train.mean(0)) / train.std(0))


def test_standardizer_keeps_constant_features_finite():
    X = np.array([[1.0, 2.0], [1.0, 4.0]], dtype=np.float32)
    out = Standardizer().fit_transform(X)
    assert out.dtype == np.float32 and np.all(out[:, 0] == 0)


def test_whitening_gives_identity_covariance(rng):
    mix = np.array([[2.0, 0.5, 0.0], [0.0, 1.0, 0.3], [0.0, 0.0, 0.2]])
    X = rng.standard_normal((4000, 3)) @ mix + 1.0
    white = PCAWhitener(eps=0).fit_transform(X)
    np.testing.assert_allclose(np.cov(white, rowvar=False), np.eye(3), atol=1e-8)


def test_whitening_keeps_leading_components(rng):
    X = rng.standard_normal((300, 5)) * np.array([5, 4, 3, 2, 1])
    whitener = PCAWhitener(n_components=2).fit(X)
    assert whitener.transform(X).shape == (300, 2)
    assert whitener.variances_[0] >= whitener.variances_[1]


def test_bad_components(rng):
    with pytest.raises(ValueError, match="n_components"):
        PCAWhitener(n_components=0)
    with pytest.raises(ValueError, match="exceeds"):
        PCAWhitener(n_components=9).fit(rng.standard_normal((20, 3)))
