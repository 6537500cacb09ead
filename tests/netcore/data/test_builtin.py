"""The built-in datasets: the fixed digits split and its cache, seeded spirals, and
an unknown name."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import netcore
from netcore.data import load_digits
from netcore.data.cache import is_memory_mapped


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
