"""Fixtures of the netcore tests."""

from __future__ import annotations

import sys

import pytest

from netcore import kernels


@pytest.fixture
def numba_broken(monkeypatch):
    """numba installed but failing to import, as when it was built for another numpy."""
    monkeypatch.setattr(kernels.importlib.util, "find_spec", lambda name: object())
    monkeypatch.setitem(sys.modules, "numba", None)  # makes ``import numba`` raise ImportError
    kernels._load.cache_clear()
    yield
    kernels._load.cache_clear()
