"""pbt under faults: real drivers killed with SIGKILL or interrupted by two real SIGINTs
mid-population, then a rerun; two real drivers on one storage file.

After each, the population is whole: every member trained to the last epoch, no
member's epochs were trained twice, no job failed (none continued a checkpoint
that was gone), every job continued a complete paused job, and every slot once.
"""

from __future__ import annotations

import collections
import signal
import subprocess
import time

import pytest
from helpers.studies import driver_succeeds, start_driver, study_trials

import hpsearch
from hpsearch.storages import records

# driver.py: 4 epochs; pbt's defaults: a population of 8 in jobs of 2 epochs (16 jobs at most).
BUDGET, POPULATION, EPOCHS = 20, 8, 4


def _driver(storage: str, n_jobs: int = 2) -> subprocess.Popen:
    return start_driver(storage, BUDGET, n_jobs, "pbt")


def _wait_for_running_continuation(proc: subprocess.Popen, storage: str, complete: int) -> None:
    """Until a job that continues a checkpoint runs and ``complete`` jobs are complete."""
    while proc.poll() is None:
        try:
            trials = study_trials(storage)
        except (ValueError, FileNotFoundError):  # the study does not exist yet
            trials = []
        done = sum(t.state.name == "COMPLETE" for t in trials)
        if done >= complete and any(t.state.name == "RUNNING"
                                    and records.fidelity_of(t).resume_from is not None
                                    for t in trials):
            return
        time.sleep(0.05)
    raise AssertionError(f"the driver ended before a continuing job ran: {proc.stderr.read()}")


def _assert_population_whole(storage: str) -> None:
    trials = study_trials(storage)
    states = collections.Counter(t.state.name for t in trials if not records.is_requeued(t))
    assert set(states) == {"COMPLETE"}, [(t.state.name, records.error_of(t)) for t in trials]
    done = {records.slot_of(t): t for t in trials if t.state.name == "COMPLETE"}
    assert len(done) == states["COMPLETE"]  # every slot once
    jobs = {slot: records.fidelity_of(t) for slot, t in done.items()}
    members = collections.defaultdict(list)
    for slot in sorted(jobs):
        members[jobs[slot].config_id].append(jobs[slot])
    assert len(members) == POPULATION  # one population, whatever drivers shared it
    for member, own in members.items():
        assert own[-1].until_epoch == EPOCHS, member  # no member lost on the way
        ends = [job.until_epoch for job in own]
        assert ends == sorted(set(ends)), member  # no epochs of a member trained twice
    for slot, job in jobs.items():  # each continued a complete job, paused where it starts
        if job.resume_from is not None:
            source = done[job.resume_from]
            assert records.metrics_of(source)["stop_reason"] == "paused"
            assert records.metrics_of(done[slot])["epochs_trained"] == \
                job.until_epoch - jobs[job.resume_from].until_epoch
    study = hpsearch.Study.load("k", storage)
    assert list(study.checkpoint_path(0).parent.glob("*.npz")) == []  # none left behind


@pytest.mark.faults
def test_two_drivers_on_one_storage_share_one_population(storage):
    drivers = [_driver(storage, n_jobs=1) for _ in range(2)]
    for proc in drivers:
        driver_succeeds(proc)
    _assert_population_whole(storage)


@pytest.mark.faults
def test_a_kill_mid_population_then_a_rerun_keeps_every_member(storage):
    proc = _driver(storage)
    _wait_for_running_continuation(proc, storage, complete=POPULATION // 2)
    proc.kill()
    proc.wait(timeout=30)
    assert any(t.state.name == "RUNNING" for t in study_trials(storage))
    driver_succeeds(_driver(storage))
    _assert_population_whole(storage)


@pytest.mark.faults
def test_two_quick_ctrl_c_mid_population_then_a_rerun_keeps_every_member(storage):
    proc = _driver(storage)
    _wait_for_running_continuation(proc, storage, complete=POPULATION // 2)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0 and "KeyboardInterrupt" in err, err
    assert any(records.is_requeued(t) or t.state.name == "RUNNING" for t in study_trials(storage))
    driver_succeeds(_driver(storage))
    _assert_population_whole(storage)
