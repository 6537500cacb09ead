"""Faults of worker processes, injected for real: a worker that segfaults under Dask
or Ray, a trial stuck past its time limit, the driver killed under its workers.

Time bounds in these tests only guard against hangs; they are not speed claims.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from helpers.paths import FAULTS, HELPERS

import hpsearch
from hpsearch import space

pytestmark = pytest.mark.faults  # slow: real processes killed, interrupted or racing

BACKEND_DRIVER = str(HELPERS / "backend_driver.py")
TIME_LIMIT = "TrialTimeoutError: the trial exceeded its time limit"


def _backend_run(storage: str, backend: str, crash: str, n_trials: int = 6) -> list[dict]:
    """The trials of a study run in a driver process on ``backend``; fails on a hang."""
    proc = subprocess.Popen([sys.executable, BACKEND_DRIVER, backend, storage, FAULTS,
                             str(n_trials), "relu", crash],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=400)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"the {backend} run hung:\n{err[-3000:]}") from None
    assert proc.returncode == 0 and "DONE" in out, err[-3000:]
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def _check_only_crashes_failed(rows: list[dict], crash: str, n_trials: int) -> None:
    assert sorted(r["trial"] for r in rows) == list(range(n_trials))
    crashed = [r for r in rows if r["activation"] == crash]
    healthy = [r for r in rows if r["activation"] == "relu"]
    assert crashed and healthy
    for row in crashed:
        assert row["state"] == "FAIL"
        assert "worker process died while running this trial" in row["error"]
    assert all(r["state"] == "COMPLETE" for r in healthy)


def test_a_worker_segfault_under_dask_fails_only_its_trial(storage):
    pytest.importorskip("distributed")
    rows = _backend_run(storage, "dask", "segfault")
    _check_only_crashes_failed(rows, "segfault", 8)


def test_a_worker_segfault_under_ray_fails_only_its_trial(storage):
    pytest.importorskip("ray")
    rows = _backend_run(storage, "ray", "nullread")
    _check_only_crashes_failed(rows, "nullread", 8)


def _study(storage, dims, name="t", **kwargs):
    options = {"dataset": "spirals", "strategy": "random", "epochs": 2, "seed": 2,
               "plugins": [FAULTS], "max_train": 300, **kwargs}
    return hpsearch.Study.create(name, storage=storage, space=dims, **options)


@pytest.mark.parametrize("activation, message", [
    ("stuck", "stopped by its timer"),
    ("stubborn", "did not stop; its worker process was ended"),
])
def test_a_trial_stuck_inside_a_batch_stops_at_its_time_limit(storage, activation, message):
    study = _study(storage, {"activation": space.choice(["relu", activation]), "lr": 0.01},
                   trial_timeout=2)
    start = time.monotonic()
    df = study.run(n_trials=6, n_jobs=2, progress=False)
    assert time.monotonic() - start < 120  # hang guard: a stuck trial sleeps 30 s per batch
    stuck = df[df["activation"] == activation]
    assert len(stuck) >= 1 and (stuck["state"] == "FAIL").all()
    assert stuck["error"].str.contains(TIME_LIMIT).all()
    assert stuck["error"].str.contains(message).all()
    assert (df[df["activation"] == "relu"]["state"] == "COMPLETE").all()
    assert len(df) == 6


@pytest.mark.parametrize("backend", ["loky", "threading"])
def test_a_cross_validated_trial_is_held_to_one_deadline(storage, backend):
    dims = {"activation": space.fixed("slow"), "lr": 0.01}
    options = {"metric": "cv_loss", "cv_folds": 5, "epochs": 6, "patience": None}
    # Two free trials: the first also pays this process's one-time costs (imports, the
    # plugin, caches), which the limited run's warmed-up workers do not pay; the warm
    # one is the fair reference, so that a busy machine cannot stretch the limit.
    free = _study(storage, dims, name="free", **options).run(n_trials=2, progress=False)
    assert (free["state"] == "COMPLETE").all()
    # Longer than any one of the 5 folds, shorter than all of them together.
    limit = 0.6 * float(free["duration"].min())
    study = _study(storage, dims, name="limited", trial_timeout=limit, **options)
    with pytest.raises(hpsearch.AllTrialsFailedError):
        study.run(n_trials=1, backend=backend, progress=False)
    df = study.results()
    assert (df["state"] == "FAIL").all()
    assert df["error"].str.contains(TIME_LIMIT).all()


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_until(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def test_the_workers_of_a_killed_driver_exit_and_release_its_pipes(storage):
    proc = subprocess.Popen([sys.executable, BACKEND_DRIVER, "loky", storage, FAULTS, "6",
                             "stuck"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    children: list[int] = []
    try:
        # Two workers running their 30-second trials (and loky's resource tracker).
        assert _wait_until(lambda: len(_children(proc.pid)) >= 3, 120), "no workers started"
        time.sleep(2)
        children = _children(proc.pid)
        proc.kill()
        proc.communicate(timeout=20)  # returns only once every holder of its pipes is gone
        assert _wait_until(lambda: not any(_alive(pid) for pid in children), 10), \
            f"workers outlived their driver: {[p for p in children if _alive(p)]}"
    finally:
        proc.kill()
        for pid in filter(_alive, children):
            os.kill(pid, signal.SIGKILL)
