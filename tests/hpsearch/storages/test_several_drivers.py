"""Several real driver processes share one storage file: each trial slot runs once."""

from __future__ import annotations

import pytest
from helpers.paths import FAULTS
from helpers.studies import start_driver

import hpsearch
from hpsearch import space

pytestmark = pytest.mark.faults  # slow: real processes killed, interrupted or racing


def test_several_drivers_share_one_storage_and_run_each_slot_once(storage):
    hpsearch.Study.create("k", dataset="spirals", storage=storage, seed=0, epochs=4,
                          space={"lr": space.log_float(1e-3, 1e-1),
                                 "hidden": space.choice([[8], [16]]),
                                 "activation": space.fixed("slow")},
                          plugins=[FAULTS], max_train=400)
    drivers = [start_driver(storage, n_trials=12) for _ in range(3)]
    for proc in drivers:
        out, err = proc.communicate(timeout=240)
        assert "DONE" in out, err
    df = hpsearch.Study.load("k", storage).results()
    assert len(df) == 12 and (df["state"] == "COMPLETE").all()
    assert sorted(df["trial"]) == list(range(12))
