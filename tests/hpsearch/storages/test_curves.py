"""Learning curves as Optuna intermediate values: every trial's, live for long trials, batched."""

from __future__ import annotations

import logging
import pickle
import subprocess
import sys

import optuna
import pytest
from helpers.pgserver import postgres_or_skip
from optuna.trial import TrialState

import hpsearch
from hpsearch import space
from hpsearch.execution import runner
from hpsearch.objective import ObjectiveConfig
from hpsearch.storages import curves, records
from hpsearch.storages.handle import StudyStorage

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
                            curve_storage=task.curve_storage)


def test_a_long_trial_writes_its_curve_while_it_trains(tmp_path, monkeypatch):
    # A trial "long" for an interval of 50 ms: some tenths of a second.
    monkeypatch.setenv("HPSEARCH_CURVE_INTERVAL", "0.05")
    study = _study(tmp_path)
    task = _running_task(study, epochs=20)
    result = runner.execute(task)  # its worker: the driver has written nothing yet
    assert result.ok and result.duration > 2 * curves.flush_interval()
    live = StudyStorage(study.handle.url, "c").trial(task.trial_id).intermediate_values
    assert live, "nothing was written while the trial trained"
    assert 1 in live and set(live).isdisjoint(result.curve_steps)
    curve = result.record["curves"]["val_loss"]
    assert {**live, **result.curve_steps} == dict(enumerate(curve, start=1))
    records.finish(study.handle.storage, task.trial_id, result)
    assert study.trials()[0].intermediate_values == dict(enumerate(curve, start=1))


# A fresh interpreter doing what a loky worker does: unpickle a trial, run it, tell
# what it wrote and whether it imported optuna.
WORKER = """
import pickle, sys
from hpsearch.execution import runner
result = runner.execute(pickle.load(open(sys.argv[1], "rb")))
print(result.state, sorted(result.curve_steps), "optuna" in sys.modules)
"""


def test_a_short_trial_leaves_its_curve_to_the_driver_and_never_imports_optuna(tmp_path):
    study = _study(tmp_path)
    task = _running_task(study, epochs=2)
    path = tmp_path / "task.pkl"
    path.write_bytes(pickle.dumps(task))
    done = subprocess.run([sys.executable, "-c", WORKER, str(path)], capture_output=True,
                          text=True, timeout=120, check=True)
    assert done.stdout.split("\n")[0] == "COMPLETE [1, 2] False"
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
