"""Helpers for study tests: storage URLs in a temporary folder, the fault plugin."""

from __future__ import annotations

from pathlib import Path

import pytest

HELPERS = Path(__file__).parent / "helpers"
FAULTS = str(HELPERS / "faults.py")
DRIVER = str(HELPERS / "driver.py")


@pytest.fixture
def storage(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'study.db'}"
