"""Learning curves as Optuna intermediate values: every trial's, live for long trials, batched."""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import subprocess
import sys
import time

import optuna
import pytest
from helpers.cli import hpsearch_command
from helpers.pgserver import postgres_or_skip
from optuna.trial import TrialState

import hpsearch
from hpsearch import space
from hpsearch.execution import runner
from hpsearch.execution.curve_relay import CurveRelay
from hpsearch.objective import ObjectiveConfig
from hpsearch.storages import curves, records
from hpsearch.storages.database import open_storage

SPACE = {"lr": space.log_float(1e-3, 1e-1), "hidden": space.choice([[16], [32]])}


def _study(tmp_path, name="c", **options) -> hpsearch.Study:
    settings = {"dataset": "digits", "strategy": "random", "epochs": 4, "patience": None,
                "max_train": 300, "seed": 0, **options}
    return hpsearch.Study.create(name, space=SPACE, storage=f"sqlite:///{tmp_path}/s.db",
                                 **settings)


def _monitored(trial) -> dict[int, float]:
    curve = records.curves_of(trial)["val_loss"]
    return {epoch: value for epoch, value in enumerate(curve, start=1)}


def test_every_trial_reports_its_monitored_metric_per_epoch(tmp_path):
    study = _study(tmp_path)
    study.run(n_trials=4, progress=False)
    trials = optuna.load_study(study_name="c", storage=study.handle.url).trials
    assert len(trials) == 4
    for trial in trials:
        assert trial.intermediate_values == _monitored(trial)


def test_a_pruned_study_still_has_one_step_per_epoch(tmp_path):
    study = _study(tmp_path, pruner="median")
    study.run(n_trials=6, progress=False)
    for trial in study.trials():
        epochs = records.metrics_of(trial).get("epochs_run") or 0
        assert sorted(trial.intermediate_values) == list(range(1, epochs + 1)), trial.number


def _running_task(study: hpsearch.Study, epochs: int) -> runner.TrialTask:
    """A RUNNING trial of ``study`` recorded as the run loop records it, and its task."""
    params = {"lr": 0.01, "hidden": [32]}
    handle = study.handle
    trial_id = records.create_running(handle.storage, handle.study_id, study.config.space,
                                      0, 0, params)
    task = study.make_task(trial_id, 0, 0, params, 1)
    objective = ObjectiveConfig(dataset="digits", epochs=epochs, patience=None,
                                fixed={"batch_size": 8})
    return runner.TrialTask(trial_id, 0, params, 0, objective, files=task.files,
                            curve_file=task.curve_file)


def test_a_long_trials_worker_leaves_its_curve_in_a_file_while_it_trains(tmp_path,
                                                                        monkeypatch):
    # A trial "long" for an interval of 50 ms: some tenths of a second.
    monkeypatch.setenv("HPSEARCH_CURVE_INTERVAL", "0.05")
    study = _study(tmp_path)
    task = _running_task(study, epochs=20)
    result = runner.execute(task)  # as its worker runs it
    assert result.ok and result.duration > 2 * curves.flush_interval()
    curve = dict(enumerate(result.record["curves"]["val_loss"], start=1))
    assert result.curve_steps == curve
    left = curves.read_steps(task.curve_file)
    assert left and 1 in left and left.items() <= curve.items()
    assert study.trials()[0].intermediate_values == {}  # the worker wrote no storage


def test_the_relay_writes_a_running_trials_curve_and_the_result_brings_the_rest(tmp_path):
    study = _study(tmp_path)
    task = _running_task(study, epochs=3)
    handle = study.handle
    curves.append_steps(task.curve_file, {1: 0.9, 2: 0.7})  # as a worker leaves them
    assert curves.read_steps(task.curve_file) == {1: 0.9, 2: 0.7}
    relay = CurveRelay(handle.storage, {0: task}, interval=0.05)
    try:
        deadline = time.monotonic() + 30
        while not handle.trial(task.trial_id).intermediate_values and time.monotonic() < deadline:
            time.sleep(0.05)
        assert handle.trial(task.trial_id).intermediate_values == {1: 0.9, 2: 0.7}
        assert handle.trial(task.trial_id).state == TrialState.RUNNING
        result = runner.execute(task)
        relay.settle(task.trial_id, task.curve_file, result)
        assert sorted(result.curve_steps) == [3]  # 1 and 2 were relayed
        assert not os.path.exists(task.curve_file)
        records.finish(handle.storage, task.trial_id, result)
    finally:
        relay.stop()
    stored = study.trials()[0].intermediate_values
    assert stored == {1: 0.9, 2: 0.7, 3: result.record["curves"]["val_loss"][2]}


def test_a_curve_file_being_written_is_read_up_to_its_last_whole_line(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("1 0.5\n2 0.25\nnot a line\n3 0.1")  # the last line is being written
    assert curves.read_steps(str(path)) == {1: 0.5, 2: 0.25}
    assert curves.read_steps(str(tmp_path / "missing.txt")) == {}


# A fresh interpreter doing what a loky worker does: unpickle a trial, run it, tell
# what it wrote and whether it imported optuna.
WORKER = """
import pickle, sys
from hpsearch.execution import runner
from hpsearch.execution.curve_relay import CurveRelay
task = pickle.load(open(sys.argv[1], "rb"))
result = runner.execute(task)
import os
print(result.state, sorted(result.curve_steps), "optuna" in sys.modules,
      os.path.exists(task.curve_file))
"""


def test_a_short_trial_leaves_its_curve_to_its_result_and_never_imports_optuna(tmp_path):
    study = _study(tmp_path)
    task = _running_task(study, epochs=2)
    path = tmp_path / "task.pkl"
    path.write_bytes(pickle.dumps(task))
    done = subprocess.run([sys.executable, "-c", WORKER, str(path)], capture_output=True,
                          text=True, timeout=120, check=True)
    assert done.stdout.split("\n")[0] == "COMPLETE [1, 2] False False"  # no file either
    assert study.trials()[0].intermediate_values == {}


def test_a_resumed_asha_job_continues_its_configurations_curve(tmp_path):
    study = hpsearch.Study.create(
        "mf", dataset="digits", strategy="asha", space=SPACE, epochs=9, patience=None,
        max_train=300, seed=1, storage=f"sqlite:///{tmp_path}/s.db",
        strategy_options={"min_epochs": 1, "eta": 3})
    study.run(n_trials=8, progress=False)
    jobs = {records.slot_of(t): t for t in study.trials()}
    resumed = [t for t in jobs.values() if records.fidelity_of(t).resume_from is not None]
    assert resumed, "no configuration was promoted"
    for trial in resumed:
        fidelity = records.fidelity_of(trial)
        before = jobs[fidelity.resume_from].intermediate_values
        # Steps continue the epochs: this job's first step follows the paused job's last.
        assert min(trial.intermediate_values) == max(before) + 1
        assert max(trial.intermediate_values) == fidelity.until_epoch


def test_confirm_repeats_read_as_repeats_with_their_curves(tmp_path):
    study = _study(tmp_path, epochs=2)
    study.run(n_trials=2, progress=False)
    study.confirm(top=1, repeats=2, progress=False)
    repeats = [t for t in study.trials(confirmations=True) if records.is_confirmation(t)]
    assert len(repeats) == 2 and all(t.state == TrialState.COMPLETE for t in repeats)
    best_slot = records.slot_of(min(study.trials(), key=records.value_of))
    assert sorted(t.user_attrs["repeat"] for t in repeats) == [0, 1]
    assert {t.user_attrs["confirms"] for t in repeats} == {best_slot}
    assert all(sorted(t.intermediate_values) == [1, 2] for t in repeats)


def test_curves_off_writes_none_and_a_bad_interval_is_named(tmp_path, monkeypatch):
    # Read by each trial in its worker (a worker inherits it when its pool starts).
    monkeypatch.setenv("HPSEARCH_CURVE_INTERVAL", "off")
    study = _study(tmp_path)
    task = _running_task(study, epochs=2)
    result = runner.execute(task)
    assert result.ok and result.curve_steps == {}
    records.finish(study.handle.storage, task.trial_id, result)
    assert study.trials()[0].intermediate_values == {}
    assert CurveRelay(study.handle.storage, {}).thread is None  # no relay either
    monkeypatch.setenv("HPSEARCH_CURVE_INTERVAL", "soon")
    result = runner.execute(_running_task(study, epochs=1))
    assert result.state == "FAIL"
    assert result.error == ("ValueError: HPSEARCH_CURVE_INTERVAL must be a number of "
                            "seconds >= 0 or 'off', got 'soon'")


@pytest.fixture
def postgres_url():
    yield from postgres_or_skip()


def test_a_database_servers_curves_are_written_in_one_batch_and_read_back_by_optuna(
        postgres_url, caplog):
    # PostgreSQL keeps the value type as its own enum type: the batch must still fit it.
    study = hpsearch.Study.create("pg", dataset="digits", space=SPACE, epochs=3,
                                  patience=None, max_train=300, seed=0, storage=postgres_url)
    with caplog.at_level(logging.DEBUG, logger=curves.__name__):
        study.run(n_trials=2, progress=False)
    assert "fell back" not in caplog.text  # the driver wrote each curve in one batch
    for trial in optuna.load_study(study_name="pg", storage=postgres_url).trials:
        assert trial.intermediate_values == _monitored(trial)


def test_a_batch_that_meets_a_written_step_falls_back_to_optunas_update(tmp_path, caplog):
    study = _study(tmp_path)
    handle = study.handle
    trial_id = records.create_running(handle.storage, handle.study_id, study.config.space,
                                      0, 0, {"lr": 0.01, "hidden": [16]})
    with caplog.at_level(logging.DEBUG, logger=curves.__name__):
        curves.write_steps(handle.storage, trial_id, {1: 0.5, 2: 0.4})
        assert "fell back" not in caplog.text
        curves.write_steps(handle.storage, trial_id, {2: 0.3, 3: 0.2})  # step 2 again
        assert "fell back" in caplog.text
    assert handle.trial(trial_id).intermediate_values == {1: 0.5, 2: 0.3, 3: 0.2}


LIVE_SPEC = """
[study]
name = "live"
dataset = "digits"
strategy = "random"
trials = 4
jobs = 2
storage = "sqlite:///live.db"
epochs = 20
patience = 20

[fixed]
batch_size = 16

[space.lr]
type = "log_float"
low = 1e-3
high = 1e-2
"""


def test_a_run_shows_its_running_trials_curves_while_they_train(tmp_path):
    (tmp_path / "live.toml").write_text(LIVE_SPEC)
    env = {**os.environ, "HPSEARCH_CURVE_INTERVAL": "0.05"}  # its workers inherit it
    run = subprocess.Popen([*hpsearch_command(), "run", "live.toml", "--no-progress"],
                           cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    seen = {}  # trial number -> the steps it showed while RUNNING
    url = f"sqlite:///{tmp_path}/live.db"
    while run.poll() is None:
        if (tmp_path / "live.db").exists():
            # open_storage, as the run does: it waits while the run makes the tables.
            with contextlib.suppress(KeyError, ValueError, optuna.exceptions.StorageInternalError):
                for trial in optuna.load_study(study_name="live",
                                               storage=open_storage(url)).trials:
                    if trial.state == TrialState.RUNNING and trial.intermediate_values:
                        seen[trial.number] = sorted(trial.intermediate_values)
        time.sleep(0.05)
    _, err = run.communicate()
    assert run.returncode == 0, err
    assert seen, "no running trial showed its curve"
    done = optuna.load_study(study_name="live", storage=f"sqlite:///{tmp_path}/live.db")
    for number, steps in seen.items():
        final = sorted(done.trials[number].intermediate_values)
        assert steps == final[:len(steps)]
    assert not list(tmp_path.glob("live.db.artifacts/*/curves/*"))  # relayed files removed
