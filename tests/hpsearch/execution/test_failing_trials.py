"""Faults injected for real: raising and diverging trials, dead workers,
SIGKILL of the driver, Ctrl-C, several drivers on one storage file.

Numbers in the test names refer to the cases of the project's robustness table.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import threading
import time

import optuna
import pytest
from helpers.paths import DRIVER, FAULTS

import hpsearch
from hpsearch import space


def _study(storage, dims, name="r", **kwargs):
    options = {"dataset": "spirals", "strategy": "random", "epochs": 2, "seed": 2,
               "plugins": [FAULTS], "max_train": 300, **kwargs}
    return hpsearch.Study.create(name, storage=storage, space=dims, **options)


def _states(storage, name="r") -> dict[str, int]:
    study = optuna.load_study(study_name=name, storage=storage)
    counts: dict[str, int] = {}
    for trial in study.get_trials(deepcopy=False):
        counts[trial.state.name] = counts.get(trial.state.name, 0) + 1
    return counts


def test_01_raising_trial_is_recorded_and_the_study_goes_on(storage):
    study = _study(storage, {"activation": space.choice(["relu", "raise"]), "lr": 0.01})
    df = study.run(n_trials=8, progress=False)
    failed = df[df["state"] == "FAIL"]
    assert len(failed) >= 1 and (failed["activation"] == "raise").all()
    assert failed["error"].str.contains("RuntimeError: injected failure in forward").all()
    assert (df[df["activation"] == "relu"]["state"] == "COMPLETE").all()


def test_01_raising_trial_is_re_raised_when_asked(storage):
    study = _study(storage, {"activation": space.fixed("raise")})
    with pytest.raises(RuntimeError, match="trial 0 failed: RuntimeError: injected failure"):
        study.run(n_trials=4, catch=False, progress=False)
    assert "RUNNING" not in _states(storage)


def test_02_diverging_trial_fails_with_its_epoch(storage):
    study = _study(storage, {"lr": space.choice([0.01, 1e6]), "optimizer": "sgd",
                             "activation": "linear", "init": "standard"}, epochs=5)
    df = study.run(n_trials=8, progress=False)
    diverged = df[df["lr"] == 1e6]
    assert len(diverged) >= 1 and (diverged["state"] == "FAIL").all()
    assert diverged["error"].str.contains(r"diverged: the loss became NaN or infinite at epoch \d",
                                          regex=True).all()
    assert math.isfinite(study.best_value)


def test_03_all_trials_failing_is_a_clear_error(storage):
    study = _study(storage, {"activation": space.fixed("raise")})
    with pytest.raises(hpsearch.AllTrialsFailedError, match="all 3 trials of study 'r' failed"):
        study.run(n_trials=3, progress=False)
    assert _states(storage) == {"FAIL": 3}


def test_04_consecutive_failures_stop_the_study(storage):
    study = _study(storage, {"activation": space.fixed("raise")})
    with pytest.raises(hpsearch.TooManyFailuresError,
                       match="after 2 consecutive failed trials; the last error was: Runtime"):
        study.run(n_trials=20, max_consecutive_failures=2, progress=False)
    assert _states(storage)["FAIL"] < 20


@pytest.mark.parametrize("crash", ["exit", "segfault", "killed"])
def test_07_dead_worker_fails_only_its_trial(storage, crash):
    study = _study(storage, {"activation": space.choice(["relu", crash]),
                             "lr": space.log_float(1e-3, 1e-1)})
    df = study.run(n_trials=8, n_jobs=2, progress=False)
    crashed = df[df["activation"] == crash]
    assert len(crashed) >= 1 and (crashed["state"] == "FAIL").all()
    assert crashed["error"].str.contains("worker process died while running this trial").all()
    assert (df[df["activation"] == "relu"]["state"] == "COMPLETE").all()
    assert len(df) == 8


def _driver(storage, n_trials=10, n_jobs=1, strategy="random", name="k"):
    return subprocess.Popen([sys.executable, DRIVER, storage, name, str(n_trials), str(n_jobs),
                             strategy, FAULTS], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _wait_for_complete(storage, count, name="k", timeout=120, running=False):
    """Until ``count`` trials completed (and, with ``running``, one is in flight:
    between two TPE rounds none is)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            states = _states(storage, name)
            if states.get("COMPLETE", 0) >= count and (not running or states.get("RUNNING")):
                return
        except KeyError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"fewer than {count} trials completed in {timeout}s")


def _completed_ids(storage, name="k"):
    study = optuna.load_study(study_name=name, storage=storage)
    return {(t.number, t.value) for t in study.get_trials(states=[optuna.trial.TrialState.COMPLETE])}


def test_05_ctrl_c_leaves_no_running_trial_and_resumes(storage):
    proc = _driver(storage, n_trials=10)
    _wait_for_complete(storage, 3)
    before = _completed_ids(storage)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    states = _states(storage, "k")
    assert "RUNNING" not in states
    assert before <= _completed_ids(storage)
    resumed = _driver(storage, n_trials=10)
    out, err = resumed.communicate(timeout=180)
    assert "DONE" in out, err
    df = hpsearch.Study.load("k", storage).results()
    done = df[(df["state"] == "COMPLETE")]
    assert sorted(done["trial"]) == list(range(10))


@pytest.mark.parametrize("strategy", ["random", "tpe"])
def test_06_sigkill_of_the_driver_resumes_without_losing_a_trial(storage, strategy):
    proc = _driver(storage, n_trials=10, n_jobs=2, strategy=strategy)
    _wait_for_complete(storage, 4, running=True)
    proc.kill()
    proc.wait(timeout=30)
    before = _completed_ids(storage)
    assert _states(storage, "k").get("RUNNING", 0) >= 1
    resumed = _driver(storage, n_trials=10, n_jobs=2, strategy=strategy)
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


def test_08_several_drivers_share_one_storage(storage):
    hpsearch.Study.create("k", dataset="spirals", storage=storage, seed=0, epochs=4,
                          space={"lr": space.log_float(1e-3, 1e-1),
                                 "hidden": space.choice([[8], [16]]),
                                 "activation": space.fixed("slow")},
                          plugins=[FAULTS], max_train=400)
    drivers = [_driver(storage, n_trials=12) for _ in range(3)]
    for proc in drivers:
        out, err = proc.communicate(timeout=240)
        assert "DONE" in out, err
    df = hpsearch.Study.load("k", storage).results()
    assert len(df) == 12 and (df["state"] == "COMPLETE").all()
    assert sorted(df["trial"]) == list(range(12))


def test_09_trial_timeout_stops_and_records_the_trial(storage):
    study = _study(storage, {"activation": space.fixed("slow"), "lr": 0.01}, epochs=50,
                   trial_timeout=0.3)
    with pytest.raises(hpsearch.AllTrialsFailedError):
        study.run(n_trials=2, progress=False)
    df = study.results()
    assert (df["state"] == "FAIL").all()
    assert df["error"].str.contains("TrialTimeoutError: the trial exceeded its time limit").all()
    assert (df["duration"] < 5).all()


def test_09_study_timeout_starts_no_trial_after_the_deadline(storage):
    study = _study(storage, {"activation": space.fixed("slow"), "lr": 0.01}, epochs=3)
    start = time.time()
    df = study.run(n_trials=40, timeout=2.0, n_jobs=2, progress=False)
    starts = [t.datetime_start.timestamp() for t in study.trials()]
    assert len(df) < 40 and max(starts) <= start + 2.0 + 0.5


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_10_driver_memory_stays_flat_over_300_trials(storage):
    study = _study(storage, {"lr": space.log_float(1e-3, 1e-1), "hidden": space.fixed([4])},
                   epochs=1, max_train=60)
    study.run(n_trials=50, progress=False)
    after_50 = _rss_mb()
    study.run(n_trials=300, progress=False)
    grown = _rss_mb() - after_50
    assert len(study.results()) == 300
    assert grown < 25, f"driver memory grew by {grown:.1f} MB over 250 trials"


class _Payload:
    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path('PWNED').write_text('x')",))


@pytest.mark.parametrize("name", ["study.db", "study.log"])
def test_15_a_pickle_posing_as_a_study_file_never_runs(tmp_path, name):
    import pickle

    evil = tmp_path / name
    evil.write_bytes(pickle.dumps(_Payload()))
    url = f"sqlite:///{evil}" if name.endswith(".db") else f"journal:///{evil}"
    with pytest.raises(Exception):  # noqa: B017 - any refusal will do, as long as nothing runs
        hpsearch.Study.load("s", url)
    result = subprocess.run([sys.executable, "-m", "hpsearch", "show", url], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "hpsearch: error:" in result.stderr
    assert not (tmp_path / "PWNED").exists() and not os.path.exists("PWNED")


def test_06_a_silent_driver_elsewhere_is_detected_by_its_heartbeat(storage, monkeypatch):
    from hpsearch.storages import records

    study = _study(storage, {"lr": space.log_float(1e-3, 1e-1)}, name="hb")
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


def test_06_a_live_driver_elsewhere_is_left_alone(storage, monkeypatch):
    from hpsearch.storages import records

    monkeypatch.setenv("HPSEARCH_STALE_AFTER", "2")
    study = _study(storage, {"lr": space.log_float(1e-3, 1e-1)}, name="live")
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
