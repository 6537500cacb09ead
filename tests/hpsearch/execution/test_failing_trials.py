"""Trials that fail for real: raising, all failing, failing in a row, dead worker
processes, trials and studies past their time limit; and a driver whose memory stays
flat over hundreds of trials."""

from __future__ import annotations

import os
import time

import pytest
from helpers.studies import fault_study, trial_states

import hpsearch
from hpsearch import space


def test_a_raising_trial_is_recorded_and_the_study_goes_on(storage):
    study = fault_study(storage, {"activation": space.choice(["relu", "raise"]), "lr": 0.01})
    df = study.run(n_trials=8, progress=False)
    failed = df[df["state"] == "FAIL"]
    assert len(failed) >= 1 and (failed["activation"] == "raise").all()
    assert failed["error"].str.contains("RuntimeError: injected failure in forward").all()
    assert (df[df["activation"] == "relu"]["state"] == "COMPLETE").all()


def test_a_raising_trial_is_re_raised_when_asked(storage):
    study = fault_study(storage, {"activation": space.fixed("raise")})
    with pytest.raises(RuntimeError, match="trial 0 failed: RuntimeError: injected failure"):
        study.run(n_trials=4, catch=False, progress=False)
    assert "RUNNING" not in trial_states(storage)


def test_all_trials_failing_is_a_clear_error(storage):
    study = fault_study(storage, {"activation": space.fixed("raise")})
    with pytest.raises(hpsearch.AllTrialsFailedError, match="all 3 trials of study 'r' failed"):
        study.run(n_trials=3, progress=False)
    assert trial_states(storage) == {"FAIL": 3}


def test_consecutive_failures_stop_the_study(storage):
    study = fault_study(storage, {"activation": space.fixed("raise")})
    with pytest.raises(hpsearch.TooManyFailuresError,
                       match="after 2 consecutive failed trials; the last error was: Runtime"):
        study.run(n_trials=20, max_consecutive_failures=2, progress=False)
    assert trial_states(storage)["FAIL"] < 20


@pytest.mark.faults
@pytest.mark.parametrize("crash", ["exit", "segfault", "killed"])
def test_a_dead_worker_fails_only_its_trial(storage, crash):
    study = fault_study(storage, {"activation": space.choice(["relu", crash]),
                             "lr": space.log_float(1e-3, 1e-1)})
    df = study.run(n_trials=8, n_jobs=2, progress=False)
    crashed = df[df["activation"] == crash]
    assert len(crashed) >= 1 and (crashed["state"] == "FAIL").all()
    assert crashed["error"].str.contains("worker process died while running this trial").all()
    assert (df[df["activation"] == "relu"]["state"] == "COMPLETE").all()
    assert len(df) == 8


def test_a_trial_timeout_stops_and_records_the_trial(storage):
    study = fault_study(storage, {"activation": space.fixed("slow"), "lr": 0.01}, epochs=50,
                   trial_timeout=0.3)
    with pytest.raises(hpsearch.AllTrialsFailedError):
        study.run(n_trials=2, progress=False)
    df = study.results()
    assert (df["state"] == "FAIL").all()
    assert df["error"].str.contains("TrialTimeoutError: the trial exceeded its time limit").all()
    assert (df["duration"] < 5).all()


def test_a_study_timeout_starts_no_trial_after_the_deadline(storage):
    study = fault_study(storage, {"activation": space.fixed("slow"), "lr": 0.01}, epochs=3)
    start = time.time()
    df = study.run(n_trials=40, timeout=2.0, n_jobs=2, progress=False)
    starts = [t.datetime_start.timestamp() for t in study.trials()]
    assert len(df) < 40 and max(starts) <= start + 2.0 + 0.5


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.faults
def test_driver_memory_stays_flat_over_300_trials(storage):
    study = fault_study(storage, {"lr": space.log_float(1e-3, 1e-1), "hidden": space.fixed([4])},
                   epochs=1, max_train=60)
    study.run(n_trials=50, progress=False)
    after_50 = _rss_mb()
    study.run(n_trials=300, progress=False)
    grown = _rss_mb() - after_50
    assert len(study.results()) == 300
    assert grown < 25, f"driver memory grew by {grown:.1f} MB over 250 trials"
