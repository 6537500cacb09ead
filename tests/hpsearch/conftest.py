"""Fixtures for study tests: storage URLs in a temporary folder, and no helper driver left
running after its test. (Paths of the helper scripts are in ``helpers/paths.py``: test
modules import nothing from a conftest, so that any subset of test files collects on its
own.)"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

import pytest

HELPERS = str(Path(__file__).resolve().parent / "helpers")


@pytest.fixture
def storage(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'study.db'}"


@pytest.fixture(autouse=True)
def no_driver_left_behind():
    """A fault test that fails before it reaps the drivers it started (``helpers/*.py``
    scripts) would leave them running on, loading the machine for the tests after it:
    they are killed when the test ends (their workers follow, watching their driver)."""
    yield
    for pid in _helper_children():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def _helper_children() -> list[int]:
    """This process's living children that run one of the helper scripts (Linux's /proc;
    elsewhere none are found)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            state, parent = stat.rpartition(")")[2].split()[:2]
            if int(parent) == os.getpid() and state != "Z" \
                    and HELPERS in (entry / "cmdline").read_bytes().decode(errors="replace"):
                found.append(int(entry.name))
    return found
