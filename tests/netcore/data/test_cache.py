"""The disk cache of prepared arrays: hits are memory-mapped, misses rebuild, failures fall back."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from netcore.data import cache as array_cache


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NETCORE_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _builder(calls: list):
    def build():
        calls.append(1)
        return {"X": np.arange(12, dtype=np.float32).reshape(4, 3), "y": np.arange(4)}
    return build


def test_cache_dir_follows_the_environment(cache):
    assert array_cache.cache_dir() == cache


def test_second_load_maps_the_saved_arrays_without_building(cache):
    calls = []
    first = array_cache.cached_arrays("toy", _builder(calls))
    second = array_cache.cached_arrays("toy", _builder(calls))
    assert len(calls) == 1
    for name in ("X", "y"):
        np.testing.assert_array_equal(second[name], first[name])
        assert second[name].dtype == first[name].dtype
        assert type(second[name]) is np.ndarray and array_cache.is_memory_mapped(second[name])
        assert not array_cache.is_memory_mapped(first[name])  # a miss returns what was built
    assert sorted(p.name for p in (cache / f"toy-v{array_cache.FORMAT_VERSION}").iterdir()) == \
        ["X.npy", "manifest.json", "y.npy"]


def test_writes_to_a_mapped_array_stay_private(cache):
    array_cache.cached_arrays("toy", _builder([]))
    mapped = array_cache.cached_arrays("toy", _builder([]))
    mapped["X"][0, 0] = 99.0
    again = array_cache.cached_arrays("toy", _builder([]))
    assert again["X"][0, 0] == 0.0


@pytest.mark.parametrize("damage", ["truncate", "drop_manifest", "wrong_shape", "bad_manifest"])
def test_a_damaged_entry_is_rebuilt(cache, damage):
    calls = []
    array_cache.cached_arrays("toy", _builder(calls))
    folder = cache / f"toy-v{array_cache.FORMAT_VERSION}"
    if damage == "truncate":
        data = (folder / "X.npy").read_bytes()
        (folder / "X.npy").write_bytes(data[:-8])
    elif damage == "drop_manifest":
        (folder / "manifest.json").unlink()
    elif damage == "wrong_shape":
        np.save(folder / "X.npy", np.zeros((2, 3), dtype=np.float32))
    else:
        (folder / "manifest.json").write_text('["X", "y"]')
    arrays = array_cache.cached_arrays("toy", _builder(calls))
    assert len(calls) == 2
    np.testing.assert_array_equal(arrays["X"], np.arange(12, dtype=np.float32).reshape(4, 3))
    assert len(array_cache.cached_arrays("toy", _builder(calls))["y"]) == 4 and len(calls) == 2


def test_an_unwritable_cache_warns_and_returns_the_built_arrays(tmp_path, monkeypatch, caplog):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("NETCORE_CACHE_DIR", str(blocker))
    calls = []
    with caplog.at_level(logging.WARNING, logger="netcore.data.cache"):
        arrays = array_cache.cached_arrays("toy", _builder(calls))
    assert arrays["X"].shape == (4, 3) and len(calls) == 1
    assert "cannot cache toy" in caplog.text
    array_cache.cached_arrays("toy", _builder(calls))
    assert len(calls) == 2
