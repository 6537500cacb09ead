"""Fixtures for study tests: storage URLs in a temporary folder. (Paths of the helper
scripts are in ``helpers/paths.py``: test modules import nothing from a conftest, so that
any subset of test files collects on its own.)"""

from __future__ import annotations

import pytest


@pytest.fixture
def storage(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'study.db'}"
