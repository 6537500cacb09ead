"""MNIST: the IDX reader and its checks, MNIST from a folder and from the cache."""

from __future__ import annotations

import gzip
import hashlib
import struct

import numpy as np
import pytest

import netcore
from netcore.data import mnist as data_module
from netcore.data import read_idx
from netcore.data.cache import is_memory_mapped


def _write_idx(path, array: np.ndarray) -> bytes:
    raw = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) \
        + array.astype(np.uint8).tobytes()
    with gzip.open(path, "wb") as fh:
        fh.write(raw)
    return raw


def test_idx_round_trip_with_checksum(tmp_path):
    images = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    raw = _write_idx(tmp_path / "x.gz", images)
    out = read_idx(tmp_path / "x.gz", hashlib.sha256(raw).hexdigest())
    np.testing.assert_array_equal(out, images)


def test_checksum_mismatch_names_the_file(tmp_path):
    _write_idx(tmp_path / "x.gz", np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"x\.gz: checksum mismatch"):
        read_idx(tmp_path / "x.gz", "0" * 64)


def test_truncated_payload(tmp_path):
    raw = bytes([0, 0, 0x08, 1]) + struct.pack(">I", 10) + bytes(5)
    path = tmp_path / "short.gz"
    with gzip.open(path, "wb") as fh:
        fh.write(raw)
    with pytest.raises(ValueError, match=r"short\.gz: truncated or oversized IDX data"):
        read_idx(path)


def test_truncated_gzip_stream(tmp_path):
    path = tmp_path / "cut.gz"
    _write_idx(path, np.zeros((50, 50)))
    path.write_bytes(path.read_bytes()[:30])
    with pytest.raises(ValueError, match=r"cut\.gz: cannot be read as gzip"):
        read_idx(path)


def test_bad_magic(tmp_path):
    path = tmp_path / "junk"
    path.write_bytes(b"PK\x03\x04 not idx")
    with pytest.raises(ValueError, match="bad magic number"):
        read_idx(path)


def test_missing_mnist_without_network_says_where_to_put_files(tmp_path, monkeypatch):
    monkeypatch.setenv("NETCORE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("NETCORE_CACHE_DIR", str(tmp_path / "cache"))  # no cached copy either

    def offline(url, timeout):
        raise OSError("network unreachable")

    monkeypatch.setattr(data_module.urllib.request, "urlopen", offline)
    with pytest.raises(FileNotFoundError, match=rf"Put the four standard IDX files.*{tmp_path}"):
        netcore.load_dataset("mnist")


def test_mnist_split_and_scaling(mnist_available):
    data = netcore.load_dataset("mnist")
    assert data.X_train.shape == (50000, 784) and data.X_val.shape == (10000, 784)
    assert data.X_test.shape == (10000, 784) and data.X_train.dtype == np.float32
    assert data.X_train.min() == 0.0 and data.X_train.max() == 1.0
    assert set(np.unique(data.y_test)) == set(range(10))


def test_mnist_from_the_cache_equals_mnist_from_the_idx_files(mnist_available):
    cached, decoded = netcore.load_dataset("mnist"), netcore.load_dataset("mnist", cache=False)
    # The session's cache is filled by the first load (here or in an earlier test).
    assert is_memory_mapped(netcore.load_dataset("mnist").X_train)
    assert not is_memory_mapped(decoded.X_train)
    for field in ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test"):
        np.testing.assert_array_equal(getattr(cached, field), getattr(decoded, field))
        assert getattr(cached, field).dtype == getattr(decoded, field).dtype
