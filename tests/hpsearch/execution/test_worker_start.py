"""A worker's start: what it imports, its one-time work outside the trial's clock, the warm-up."""

from __future__ import annotations

import itertools
import pickle
import subprocess
import sys

import numpy as np
import pytest

import netcore
from hpsearch import space
from hpsearch.execution import runner
from hpsearch.objective import ObjectiveConfig, TrialFiles
from hpsearch.study import Study
from hpsearch.study_config import data_fields as _data_fields

HEAVY = ("optuna", "pandas", "sklearn", "matplotlib", "hyperopt")
PARAMS = {"lr": 0.01, "hidden": [8]}
_FRESH = itertools.count(1000)

# A fresh interpreter doing what a loky worker does with a trial: unpickle it, run it.
WORKER = """
import pickle, sys
from hpsearch.execution import runner
task = pickle.load(open(sys.argv[1], "rb"))
result = runner.execute(task)
print(result.state, result.error)
print(" ".join(m for m in {heavy!r} if m in sys.modules) or "none")
"""


def _fresh_config(**options) -> ObjectiveConfig:
    """A config whose data no worker of this session has prepared (a new spirals seed)."""
    return ObjectiveConfig(dataset="spirals", epochs=2, patience=None,
                           dataset_options={"seed": next(_FRESH), "n_samples": 300}, **options)


def _run_as_worker(task: runner.TrialTask, tmp_path) -> list[str]:
    path = tmp_path / "task.pkl"
    path.write_bytes(pickle.dumps(task))
    done = subprocess.run([sys.executable, "-c", WORKER.format(heavy=HEAVY), str(path)],
                          capture_output=True, text=True, timeout=120, check=True)
    return done.stdout.splitlines()


def test_a_worker_on_digits_imports_no_heavy_library(tmp_path):
    netcore.load_dataset("digits")  # the array cache holds the split, as after a first run
    config = ObjectiveConfig(dataset="digits", epochs=2)
    lines = _run_as_worker(runner.TrialTask(0, 0, dict(PARAMS), 0, config), tmp_path)
    assert lines == ["COMPLETE None", "none"]


def test_a_worker_on_the_users_saved_data_imports_no_heavy_library(tmp_path):
    rng = np.random.default_rng(0)
    data = netcore.Dataset.from_arrays(rng.normal(size=(120, 4)), rng.integers(0, 2, 120))
    folder = tmp_path / "data"
    data.save(folder)
    config = ObjectiveConfig(epochs=2, **_data_fields(data))
    task = runner.TrialTask(0, 0, dict(PARAMS), 0, config, files=TrialFiles(data_dir=str(folder)))
    assert _run_as_worker(task, tmp_path) == ["COMPLETE None", "none"]


def test_the_one_time_work_is_recorded_apart_from_the_duration():
    task = runner.TrialTask(0, 0, dict(PARAMS), 0, _fresh_config())
    first, again = runner.execute(task), runner.execute(task)
    assert first.ok and again.ok
    assert first.record["worker_startup"] > 0
    assert again.record["worker_startup"] == 0.0


def test_a_warmed_worker_starts_its_first_trial_at_once():
    config = _fresh_config()
    loky = runner.LokyRunner(1)
    loky.warm(runner.WorkerSetup(config))
    warmed = [future.result(timeout=60) for future in loky.warming]
    loky.submit(runner.TrialTask(0, 0, dict(PARAMS), 0, config))
    result = loky.next_result()
    assert warmed[0] > 0 and result.ok
    assert result.record["worker_startup"] == 0.0


def test_a_failing_warm_up_is_left_to_the_first_trial(tmp_path):
    data = netcore.load_dataset("spirals", n_samples=60)
    config = ObjectiveConfig(epochs=1, **_data_fields(data))
    setup = runner.WorkerSetup(config, files=TrialFiles(data_dir=str(tmp_path / "missing")))
    assert runner.warm_up(setup) is None
    task = runner.TrialTask(0, 0, dict(PARAMS), 0, config, files=setup.files)
    result = runner.execute(task)
    assert result.state == "FAIL" and "missing" in result.error


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_a_run_records_worker_startup_for_at_most_one_trial_per_worker(tmp_path, n_jobs):
    study = Study.create("w", dataset="spirals", strategy="random", epochs=2, seed=0,
                         space={"lr": space.log_float(1e-3, 1e-1)},
                         max_train=next(_FRESH),  # a setup no worker has prepared
                         storage=f"sqlite:///{tmp_path / 'w.db'}")
    frame = study.run(n_trials=5, n_jobs=n_jobs, progress=False)
    assert (frame["state"] == "COMPLETE").all()
    assert (frame["worker_startup"] >= 0).all()
    assert (frame["worker_startup"] > 0).sum() <= n_jobs
