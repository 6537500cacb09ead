"""Four independent worker processes sharing one study through one storage."""

from __future__ import annotations

import subprocess
import sys

import pytest
from helpers.paths import HELPERS
from helpers.pgserver import postgres_or_skip

import hpsearch
from hpsearch.storages.database import count_trials, open_storage

pytestmark = pytest.mark.faults  # slow: real processes killed, interrupted or racing

SHARED = str(HELPERS / "shared_driver.py")


@pytest.fixture(scope="module")
def postgres_url():
    yield from postgres_or_skip()


def _four_workers(storage: str, name: str, strategy: str, n_trials: int):
    procs = [subprocess.Popen([sys.executable, SHARED, storage, name, strategy, str(n_trials)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert "DONE" in out, err
    return hpsearch.Study.load(name, storage).results()


def _check(storage: str) -> None:
    random = _four_workers(storage, "random40", "random", 40)
    assert len(random) == 40 and (random["state"] == "COMPLETE").all()
    assert sorted(random["trial"]) == list(range(40))
    grid = _four_workers(storage, "grid9", "grid", 100)
    points = sorted(zip(grid["lr"].round(12), grid["hidden"], strict=True))
    assert len(grid) == 9 and (grid["state"] == "COMPLETE").all()
    assert len(set(points)) == 9


def test_four_workers_on_one_sqlite_file(tmp_path):
    _check(f"sqlite:///{tmp_path / 'shared.db'}")


def test_four_workers_on_one_journal_file(tmp_path):
    _check(f"journal:///{tmp_path / 'shared.log'}")


def test_four_workers_on_one_postgresql_database(postgres_url):
    _check(postgres_url)
    storage = open_storage(postgres_url)
    study_id = storage.get_study_id_from_name("random40")
    assert count_trials(storage, study_id) == storage.get_n_trials(study_id) == 40
