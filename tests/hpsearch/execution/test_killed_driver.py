"""A driver stopped for real, by Ctrl-C or SIGKILL, or silent on another host: its
study resumes without losing or repeating a trial, and a live driver elsewhere is
left alone."""

from __future__ import annotations

import signal
import threading
import time

import optuna
import pytest
from helpers.studies import fault_study, start_driver, trial_states

import hpsearch
from hpsearch import space

pytestmark = pytest.mark.faults  # slow: real processes killed, interrupted or racing


def _wait_for_complete(storage, count, name="k", timeout=120, running=False):
    """Until ``count`` trials completed (and, with ``running``, one is in flight:
    between two TPE rounds none is)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            states = trial_states(storage, name)
            if states.get("COMPLETE", 0) >= count and (not running or states.get("RUNNING")):
                return
        except KeyError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"fewer than {count} trials completed in {timeout}s")


def _completed_ids(storage, name="k"):
    study = optuna.load_study(study_name=name, storage=storage)
    return {(t.number, t.value) for t in study.get_trials(states=[optuna.trial.TrialState.COMPLETE])}


def test_a_ctrl_c_leaves_no_running_trial_and_resumes(storage):
    proc = start_driver(storage, n_trials=10)
    _wait_for_complete(storage, 3)
    before = _completed_ids(storage)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    states = trial_states(storage, "k")
    assert "RUNNING" not in states
    assert before <= _completed_ids(storage)
    resumed = start_driver(storage, n_trials=10)
    out, err = resumed.communicate(timeout=180)
    assert "DONE" in out, err
    df = hpsearch.Study.load("k", storage).results()
    done = df[(df["state"] == "COMPLETE")]
    assert sorted(done["trial"]) == list(range(10))


@pytest.mark.parametrize("strategy", ["random", "tpe"])
def test_a_sigkill_of_the_driver_resumes_without_losing_a_trial(storage, strategy):
    proc = start_driver(storage, n_trials=10, n_jobs=2, strategy=strategy)
    _wait_for_complete(storage, 4, running=True)
    proc.kill()
    proc.wait(timeout=30)
    before = _completed_ids(storage)
    assert trial_states(storage, "k").get("RUNNING", 0) >= 1
    resumed = start_driver(storage, n_trials=10, n_jobs=2, strategy=strategy)
    out, err = resumed.communicate(timeout=180)
    assert "DONE" in out, err
    assert before <= _completed_ids(storage)
    df = hpsearch.Study.load("k", storage).results()
    assert "RUNNING" not in set(df["state"])
    stale = df[df["requeued"]]
    assert len(stale) >= 1 and stale["error"].str.contains("stale").all()
    done = df[df["state"] == "COMPLETE"]
    assert sorted(done["trial"]) == list(range(10))
    # A re-queued slot is re-run with the same parameters and seed.
    for _, row in stale.iterrows():
        rerun = done[done["trial"] == row["trial"]].iloc[0]
        assert (rerun["lr"], rerun["hidden"], rerun["seed"]) == (row["lr"], row["hidden"],
                                                                 row["seed"])


def test_a_silent_driver_elsewhere_is_detected_by_its_heartbeat(storage, monkeypatch):
    from hpsearch.storages import records

    study = fault_study(storage, {"lr": space.log_float(1e-3, 1e-1)}, name="hb")
    study.run(n_trials=2, progress=False)
    # A trial left RUNNING by a driver on another host, silent for ten minutes.
    trial_id = records.create_running(study.storage, study.study_id, study.config.space, 2,
                                      123, {"lr": 0.01})
    study.storage.set_trial_system_attr(trial_id, records.OWNER, "elsewhere:4242")
    study.storage.set_trial_system_attr(trial_id, records.HEARTBEAT, time.time() - 600)
    study.storage.set_study_system_attr(study.study_id, records.NEXT_SLOT, 3)
    df = study.run(n_trials=3, progress=False)
    assert "RUNNING" not in set(df["state"])
    rerun = df[(df["trial"] == 2) & (df["state"] == "COMPLETE")]
    assert len(rerun) == 1 and rerun["seed"].item() == 123


def test_a_live_driver_elsewhere_is_left_alone(storage, monkeypatch):
    from hpsearch.storages import records

    monkeypatch.setenv("HPSEARCH_STALE_AFTER", "2")
    study = fault_study(storage, {"lr": space.log_float(1e-3, 1e-1)}, name="live")
    trial_id = records.create_running(study.storage, study.study_id, study.config.space, 0,
                                      1, {"lr": 0.01})
    study.storage.set_trial_system_attr(trial_id, records.OWNER, "elsewhere:4242")
    study.storage.set_study_system_attr(study.study_id, records.NEXT_SLOT, 1)

    def live_driver():  # beats for longer than the stale time, then finishes its trial
        for _ in range(40):
            study.storage.set_trial_system_attr(trial_id, records.HEARTBEAT, time.time())
            time.sleep(0.1)
        study.storage.set_trial_state_values(trial_id, optuna.trial.TrialState.COMPLETE, [1.0])

    elsewhere = threading.Thread(target=live_driver)
    elsewhere.start()
    df = study.run(n_trials=3, progress=False)  # waits for the other driver's slot
    elsewhere.join()
    assert len(df) == 3 and (df["state"] == "COMPLETE").all() and not df["requeued"].any()
