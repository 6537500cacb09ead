"""Faults under running drivers: drivers killed, interrupted twice,
dying while others run on, and a database server restarting under a running study.

Every fault is real: SIGKILL and SIGINT of real driver processes, a real second
driver, a real PostgreSQL server stopped and started again.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time

import optuna
import pytest
from helpers.paths import DRIVER, FAULTS, HELPERS
from helpers.pgserver import postgres_or_skip, start_server, stop_server

import hpsearch
from hpsearch import space
from hpsearch.storages import records

pytestmark = pytest.mark.faults  # slow: real processes killed, interrupted or racing

HOOKED = str(HELPERS / "hooked_driver.py")
FAST_STALE = {"HPSEARCH_STALE_AFTER": "3", "HPSEARCH_HEARTBEAT_INTERVAL": "0.5"}


def _driver(storage, n_trials, n_jobs=2, name="k", hook=None, env=None, cwd=None):
    script = DRIVER if hook is None else HOOKED
    environ = {**os.environ, **(env or {}), **({"HPSEARCH_TEST_HOOK": hook} if hook else {})}
    return subprocess.Popen([sys.executable, script, storage, name, str(n_trials), str(n_jobs),
                             "random", FAULTS], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=environ, cwd=cwd)


def _trials(storage, name="k"):
    return optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False)


def _wait_until(condition, what, timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except KeyError:  # the study does not exist yet
            pass
        time.sleep(0.05)
    raise AssertionError(f"not reached in {timeout}s: {what}")


def _running_with_complete(storage, count, name="k"):
    """A condition: at least ``count`` trials complete and one running."""
    def reached():
        states = collections.Counter(t.state.name for t in _trials(storage, name))
        return states["COMPLETE"] >= count and states["RUNNING"] > 0
    return reached


def _finish(storage, n_trials, n_jobs=2, name="k", env=None):
    """Run the study to the end in a fresh driver, which must succeed."""
    proc = _driver(storage, n_trials, n_jobs, name=name, env=env)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0 and "DONE" in out, err


def _assert_each_slot_once(storage, budget, name="k"):
    df = hpsearch.Study.load(name, storage).results()
    done = df[df["state"] == "COMPLETE"]
    assert sorted(done["trial"]) == list(range(budget)), df[["trial", "state", "error"]]
    assert "RUNNING" not in set(df["state"])
    # Every other row is a run that was re-queued, never a second result for a slot.
    assert df[df["state"] != "COMPLETE"]["requeued"].all()


def test_a_kill_during_the_requeue_claim_never_duplicates_a_slot(storage):
    first = _driver(storage, 12)
    _wait_until(_running_with_complete(storage, 3), "3 complete trials and one running")
    first.kill()
    first.wait(timeout=30)
    # The next driver re-queues the dead one's trials, then dies right after creating
    # the first re-queued trial, before the shortened queue is written.
    hooked = _driver(storage, 12, hook="kill-after-requeue")
    _, err = hooked.communicate(timeout=120)
    assert hooked.returncode == -signal.SIGKILL, err
    attrs = hpsearch.Study.load("k", storage).storage.get_study_system_attrs(
        hpsearch.Study.load("k", storage).study_id)
    assert attrs[records.REQUEUE], "the fault must leave the claimed entry queued"
    _finish(storage, 12)
    _assert_each_slot_once(storage, 12)


def test_a_ctrl_c_during_the_shutdown_still_requeues_every_running_trial(storage):
    proc = _driver(storage, 12, hook="interrupt-during-shutdown")
    _wait_until(_running_with_complete(storage, 2), "two complete trials and one running")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1 and "RunInterrupted" in err, err
    assert not [t for t in _trials(storage) if t.state.name == "RUNNING"]
    _finish(storage, 12)
    _assert_each_slot_once(storage, 12)


@pytest.mark.parametrize("delay", [0.0, 0.01, 0.02, 0.05])
def test_two_quick_ctrl_c_lose_no_slot(storage, delay):
    # 16 slots leave work for the finishing driver after two rounds of two more trials each.
    for round_ in range(2):
        proc = _driver(storage, 16)
        done = sum(t.state.name == "COMPLETE" for t in _trials(storage)) if round_ else 0
        _wait_until(_running_with_complete(storage, done + 2), "two more complete trials")
        proc.send_signal(signal.SIGINT)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode != 0 and "KeyboardInterrupt" in err
    _finish(storage, 16)
    _assert_each_slot_once(storage, 16)


def test_a_driver_dying_mid_run_is_recovered_by_the_one_running_on(storage):
    hpsearch.Study.create("k", dataset="spirals", storage=storage, seed=0, epochs=4,
                          space={"lr": space.log_float(1e-3, 1e-1),
                                 "hidden": space.choice([[8], [16]]),
                                 "activation": space.fixed("slow")},
                          plugins=[FAULTS], max_train=400)
    # The victim poses as a driver on another machine: only its heartbeat tells.
    victim = _driver(storage, 16, n_jobs=1, hook="elsewhere", env=FAST_STALE)
    survivor = _driver(storage, 16, n_jobs=1, env=FAST_STALE)

    def victim_runs_a_trial():
        return any(t.state.name == "RUNNING" and
                   t.system_attrs.get(records.OWNER) == f"otherhost:{victim.pid}"
                   for t in _trials(storage))

    _wait_until(victim_runs_a_trial, "a trial running in the victim driver")
    victim.kill()
    victim.wait(timeout=30)
    out, err = survivor.communicate(timeout=300)
    assert survivor.returncode == 0 and "DONE" in out, err
    _assert_each_slot_once(storage, 16)
    df = hpsearch.Study.load("k", storage).results()
    assert df[df["requeued"]]["error"].str.contains("otherhost").all()


def test_a_driver_restarted_elsewhere_waits_for_silent_trials(storage, monkeypatch):
    for name, value in FAST_STALE.items():
        monkeypatch.setenv(name, value)
    study = hpsearch.Study.create("e", dataset="spirals", storage=storage, seed=0, epochs=2,
                                  space={"lr": space.log_float(1e-3, 1e-1)}, max_train=200)
    # Two trials of a driver on another machine, alive a moment ago, then silent.
    for slot in (0, 1):
        trial_id = records.create_running(study.storage, study.study_id, study.config.space,
                                          slot, 100 + slot, {"lr": 0.01})
        study.storage.set_trial_system_attr(trial_id, records.OWNER, "otherhost:123")
    study.storage.set_study_system_attr(study.study_id, records.NEXT_SLOT, 2)
    df = study.run(n_trials=4, progress=False)
    _assert_each_slot_once(storage, 4, name="e")
    reruns = df[(df["trial"] < 2) & (df["state"] == "COMPLETE")]
    assert sorted(reruns["seed"]) == [100, 101]
    assert df[df["requeued"]]["error"].str.contains("otherhost:123").all()


@pytest.fixture
def postgres_url():
    yield from postgres_or_skip()


def test_a_database_restart_mid_study_is_ridden_out(postgres_url, tmp_path):
    proc = _driver(postgres_url, 16, cwd=tmp_path)
    _wait_until(_running_with_complete(postgres_url, 3), "3 complete trials and one running")
    stop_server(postgres_url)
    time.sleep(2)
    start_server(postgres_url)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0 and "DONE" in out, err
    assert "Traceback" not in err
    _assert_each_slot_once(postgres_url, 16)


SPEC = """
[study]
name = "pg"
dataset = "spirals"
strategy = "random"
trials = 30
jobs = 1
epochs = 4
max_train = 400
plugins = ["{plugin}"]

[fixed]
activation = "slow"

[space.lr]
type = "log_float"
low = 1e-3
high = 1e-1
"""


def test_a_database_that_stays_down_stops_the_run_with_one_line(postgres_url, tmp_path):
    spec = tmp_path / "pg.toml"
    spec.write_text(SPEC.format(plugin=FAULTS))
    command = [sys.executable, "-m", "hpsearch", "run", str(spec), "--storage", postgres_url,
               "--no-progress"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=tmp_path, env={**os.environ, "HPSEARCH_STORAGE_RETRY": "3"})
    _wait_until(_running_with_complete(postgres_url, 2, name="pg"), "2 complete trials")
    stop_server(postgres_url)
    try:
        _, err = proc.communicate(timeout=180)
    finally:
        start_server(postgres_url)
    assert proc.returncode == 2, err
    assert "Traceback" not in err
    assert "hpsearch: error: the storage postgresql+psycopg://postgres@127.0.0.1:" in err
    assert "is unreachable" in err
