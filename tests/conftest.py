"""Shared fixtures: small seeded data, the MNIST folder for integration tests, and a
private array cache and artifacts folder so that the tests never write to the user's
cache folder or the working folder."""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
import pytest

from netcore.data import mnist_dir

# scikit-learn's estimator checks include one that turns on array-API dispatch and checks
# that numpy input gives the same results; SciPy allows it only when this is set before it
# is imported (here, before any test module), else the check skips.
os.environ.setdefault("SCIPY_ARRAY_API", "1")


@pytest.fixture(scope="session", autouse=True)
def private_array_cache(tmp_path_factory) -> Iterator[None]:
    # In os.environ, so that the subprocesses of CLI tests inherit it too.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NETCORE_CACHE_DIR", str(tmp_path_factory.mktemp("array-cache")))
        # Studies on server databases keep their models here, not in the working folder.
        patch.setenv("HPSEARCH_ARTIFACTS", str(tmp_path_factory.mktemp("artifacts")))
        yield


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def mnist_available() -> None:
    """Skip outside CI when no MNIST files are at hand; fail in CI, where they must be."""
    folder = mnist_dir()
    if not (folder / "train-images-idx3-ubyte.gz").exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI must provide MNIST in {folder} (set NETCORE_DATA_DIR)")
        pytest.skip(f"MNIST IDX files not found in {folder}")
