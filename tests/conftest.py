"""Shared fixtures: small seeded data, and the MNIST folder for integration tests."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def mnist_available() -> None:
    """Skip outside CI when no MNIST files are at hand; fail in CI, where they must be."""
    root = os.environ.get("NETCORE_DATA_DIR")
    folder = Path(root) / "mnist" if root else Path.home() / ".cache" / "netcore" / "mnist"
    if not (folder / "train-images-idx3-ubyte.gz").exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI must provide MNIST in {folder} (set NETCORE_DATA_DIR)")
        pytest.skip(f"MNIST IDX files not found in {folder}")
