"""Datasets: the IDX reader and its checks, MNIST from a folder, digits, spirals."""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import subprocess
import sys

import numpy as np
import pytest

import netcore
from netcore import data as data_module
from netcore.array_cache import is_memory_mapped
from netcore.data import load_digits, read_idx


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


def test_digits_split_is_fixed_and_stratified():
    a, b = netcore.load_dataset("digits"), netcore.load_dataset("digits")
    np.testing.assert_array_equal(a.X_val, b.X_val)
    assert len(a.X_train) + len(a.X_val) + len(a.X_test) == 1797
    counts = np.bincount(a.y_val, minlength=10)
    assert counts.min() >= 30 and a.X_train.max() <= 1.0


def test_cached_digits_are_the_split_scikit_learn_gives(tmp_path, monkeypatch):
    monkeypatch.setenv("NETCORE_CACHE_DIR", str(tmp_path))
    built, cached = load_digits(), load_digits()
    reference = load_digits(cache=False)
    assert is_memory_mapped(cached.X_train) and not is_memory_mapped(reference.X_train)
    for other in (built, cached):
        for field in ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test"):
            np.testing.assert_array_equal(getattr(other, field), getattr(reference, field))
            assert getattr(other, field).dtype == getattr(reference, field).dtype
    assert load_digits(seed=1, cache=False).y_val.tolist() == load_digits(seed=1).y_val.tolist()
    assert load_digits(dtype="float64").X_train.dtype == np.float64


def test_a_cached_digits_load_does_not_import_scikit_learn(tmp_path):
    code = ("import sys, netcore; d = netcore.load_dataset('digits'); "
            "print(len(d.X_train), 'sklearn' in sys.modules)")
    env = {**os.environ, "NETCORE_CACHE_DIR": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                           check=True).stdout.split() for _ in range(2)]
    assert runs == [["1078", "True"], ["1078", "False"]]  # built once, then only mapped


def test_spirals_are_seeded():
    a = netcore.load_dataset("spirals", seed=1)
    b = netcore.load_dataset("spirals", seed=1)
    c = netcore.load_dataset("spirals", seed=2)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert not np.array_equal(a.X_train, c.X_train)
    assert a.n_features == 2 and a.n_classes == 3


def test_unknown_dataset():
    with pytest.raises(ValueError, match=r"must be one of \['digits', 'mnist', 'spirals'\]"):
        netcore.load_dataset("cifar10")
