"""asha never trains a configuration to a rung twice.

Two real driver processes share one SQLite file or one journal file; real drivers
are killed with SIGKILL or interrupted by two real SIGINTs mid-asha, then a rerun
finishes the budget. After each, every (configuration, rung) completed at most
once, no job failed for a checkpoint another job removed, and every slot once.
"""

from __future__ import annotations

import collections
import shutil
import signal
import subprocess
import time

import pytest
from helpers.studies import driver_succeeds, start_driver, study_trials

import hpsearch
from hpsearch import space
from hpsearch.objective import ObjectiveConfig
from hpsearch.storages import records
from hpsearch.strategies import get_strategy
from hpsearch.trial import COMPLETE, FAIL, Fidelity, TrialResult

BUDGET = 30
# Runs that are killed or interrupted, then finished.
SHORT = 20
SPACE = {"lr": space.log_float(1e-3, 1e-1), "hidden": space.choice([[8], [16]])}


def _driver(storage: str, n_trials: int = BUDGET, n_jobs: int = 2) -> subprocess.Popen:
    """driver.py running asha (rungs at 1, 3 and 4 epochs; a little slow per batch)."""
    return start_driver(storage, n_trials, n_jobs, "asha")


def _wait_for_running_job(proc: subprocess.Popen, storage: str, rung: int,
                          complete: int) -> None:
    """Until a job of ``rung`` or above runs and at least ``complete`` jobs are complete."""
    while proc.poll() is None:
        try:
            trials = study_trials(storage)
        except (ValueError, FileNotFoundError):  # the study (or its storage file) does not exist yet
            trials = []
        done = sum(t.state.name == "COMPLETE" for t in trials)
        if done >= complete and any(t.state.name == "RUNNING" and
                                    records.fidelity_of(t).rung >= rung for t in trials):
            return
        time.sleep(0.05)
    raise AssertionError(f"the driver ended before a job of rung {rung} ran after {complete} "
                         f"complete: {proc.stderr.read()}")


def _assert_each_promotion_once(storage: str, budget: int = BUDGET) -> None:
    trials = study_trials(storage)
    states = collections.Counter(t.state.name for t in trials if not records.is_requeued(t))
    assert states == {"COMPLETE": budget}, [(t.state.name, records.error_of(t)) for t in trials]
    done = [t for t in trials if t.state.name == "COMPLETE"]
    assert sorted(records.slot_of(t) for t in done) == list(range(budget))
    jobs = {records.slot_of(t): records.fidelity_of(t) for t in done}
    trained = collections.Counter((job.config_id, job.rung) for job in jobs.values())
    assert [key for key, n in trained.items() if n > 1] == []
    # No configuration was drawn twice as two configurations.
    firsts = [tuple(sorted(t.params.items())) for t in done if jobs[records.slot_of(t)].rung == 0]
    assert len(set(firsts)) == len(firsts)
    for job in jobs.values():  # a promotion continues its configuration's job one rung below
        if job.resume_from is not None:
            below = jobs[job.resume_from]
            assert (below.config_id, below.rung) == (job.config_id, job.rung - 1)
    # Each checkpoint was removed once the job continuing it was recorded, and only then.
    study = hpsearch.Study.load("k", storage)
    continued = {job.resume_from for job in jobs.values()}
    for trial in done:
        slot = records.slot_of(trial)
        paused = records.metrics_of(trial)["stop_reason"] == "paused"
        assert study.checkpoint_path(slot).exists() == (paused and slot not in continued), slot


def _configured():
    strategy = get_strategy("asha", SPACE, seed=0, eta=3)
    strategy.configure(ObjectiveConfig(epochs=9))
    return strategy


def test_a_job_another_driver_runs_holds_its_promotion_and_its_configuration():
    first, second = _configured(), _configured()
    first.ask(3)
    results = [TrialResult(k, first.configs[k].params, 0, COMPLETE, value=v,
                           record={"stop_reason": "paused"}, fidelity=first.fidelity(k))
               for k, v in enumerate([0.5, 0.2, 0.9])]
    first.tell(results)
    first.ask(2)  # config 1 is promoted (slot 3); a fourth configuration starts (slot 4)
    assert [first.fidelity(k).rung for k in (3, 4)] == [1, 0]
    second.tell(results)
    second.hold([(first.fidelity(k), first.configs[first.fidelity(k).config_id].params)
                 for k in (3, 4)])
    second.next_slot = 5
    second.ask(1)  # neither config 1's promotion nor the fourth configuration again
    assert second.fidelity(5) == Fidelity(5, 1, 0, None)
    assert second.configs[5].params == get_strategy("random", SPACE, seed=0).ask(5)[4]
    failed = TrialResult(3, results[1].params, 0, FAIL, error="boom", fidelity=first.fidelity(3))
    second.tell([failed])  # the held job ended: its promotion stays taken
    second.ask(1)
    assert second.fidelity(6) == Fidelity(6, 1, 0, None)


def test_a_checkpoint_two_waiting_jobs_continue_is_kept_until_both_are_recorded(tmp_path):
    study = hpsearch.Study.create("twice", dataset="spirals", strategy="asha", space=SPACE,
                                  storage=f"sqlite:///{tmp_path / 's.db'}", seed=0, epochs=3,
                                  max_train=200, patience=None)
    study.run(n_trials=3, progress=False)  # three configurations paused at rung 0
    paused = study.trials()[0]
    # Two jobs promoting the same configuration, as two drivers of an older version
    # left them, both running in this (now ended) process: the run re-queues both.
    fidelity = Fidelity(0, 3, 1, 0)
    for slot in (3, 4):
        records.create_running(study.storage, study.study_id, study.config.space, slot,
                               records.seed_of(paused), study.config.space.decode(paused.params),
                               {records.FIDELITY: fidelity.to_dict()})
    study.storage.set_study_system_attr(study.study_id, records.NEXT_SLOT, 5)
    # A deadline keeps one job in flight at a time: the first is recorded before the second starts.
    df = study.run(n_trials=5, timeout=600, progress=False)
    redone = df[df["trial"] >= 3]
    assert sorted(zip(redone["trial"], redone["state"], redone["requeued"], strict=True)) == [
        (3, "COMPLETE", False), (3, "FAIL", True), (4, "COMPLETE", False), (4, "FAIL", True)], \
        redone["error"]
    assert not study.checkpoint_path(0).exists()


def test_a_run_removes_the_checkpoint_a_killed_driver_left_after_recording_its_continuation(
        tmp_path):
    study = hpsearch.Study.create("left", dataset="spirals", strategy="asha", space=SPACE,
                                  storage=f"sqlite:///{tmp_path / 's.db'}", seed=0, epochs=3,
                                  max_train=200, patience=None)
    # One job in flight at a time: three configurations, then one is promoted.
    study.run(n_trials=4, timeout=600, progress=False)
    continued = records.fidelity_of(study.trials()[3]).resume_from
    others = [slot for slot in range(3) if slot != continued]
    assert not study.checkpoint_path(continued).exists()
    # A driver killed between recording the promoted job and deleting its checkpoint.
    shutil.copy(study.checkpoint_path(others[0]), study.checkpoint_path(continued))
    study.run(n_trials=4, progress=False)
    assert not study.checkpoint_path(continued).exists()
    assert all(study.checkpoint_path(slot).exists() for slot in others)


@pytest.mark.faults
@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_two_drivers_train_each_configuration_to_each_rung_once(tmp_path, kind):
    storage = f"sqlite:///{tmp_path / 's.db'}" if kind == "sqlite" \
        else f"journal:///{tmp_path / 's.log'}"
    drivers = [_driver(storage, n_jobs=1) for _ in range(2)]
    for proc in drivers:
        driver_succeeds(proc, timeout=300)
    _assert_each_promotion_once(storage)


# A kill while a configuration's first job runs, while the first promoted job runs, and
# while a later promoted job runs: the rerun re-queues it and must not claim its work again.
@pytest.mark.faults
@pytest.mark.parametrize(("rung", "complete"), [(0, 2), (1, 3), (1, 10)])
def test_a_kill_mid_asha_then_a_rerun_trains_each_configuration_to_each_rung_once(
        storage, rung, complete):
    proc = _driver(storage, SHORT)
    _wait_for_running_job(proc, storage, rung, complete)
    proc.kill()
    proc.wait(timeout=30)
    assert any(t.state.name == "RUNNING" for t in study_trials(storage))
    driver_succeeds(_driver(storage, SHORT), timeout=300)
    _assert_each_promotion_once(storage, SHORT)


@pytest.mark.faults
def test_two_quick_ctrl_c_mid_asha_then_a_rerun_train_each_configuration_to_each_rung_once(
        storage):
    proc = _driver(storage, SHORT)
    _wait_for_running_job(proc, storage, 1, 3)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0 and "KeyboardInterrupt" in err, err
    # Its jobs were re-queued (or, when Ctrl-C came mid-claim, left running for recovery).
    assert any(records.is_requeued(t) or t.state.name == "RUNNING" for t in study_trials(storage))
    driver_succeeds(_driver(storage, SHORT), timeout=300)
    _assert_each_promotion_once(storage, SHORT)
