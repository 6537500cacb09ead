"""The ``hpsearch`` command doing what its user meant: renamed runs, deleting studies,
clear refusals before anything is stored, Ctrl-C, default storage."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time

import pytest
from helpers.cli import hpsearch_command, run_hpsearch
from helpers.paths import FAULTS

SPEC = """
[study]
name = "ux"
dataset = "digits"
strategy = "{strategy}"
trials = {trials}
epochs = 2
max_train = 200
{storage}
plugins = ["{plugin}"]

[strategy_options]
{options}

[fixed]
{fixed}

[space.lr]
type = "log_float"
low = 1e-3
high = {high}

[space.activation]
type = "choice"
values = {activations}
"""


def _spec(tmp_path, *, strategy="random", trials=2, storage=True, options="", fixed="",
          high=0.1, activations='["relu", "tanh"]'):
    path = tmp_path / "ux.toml"
    where = f'storage = "sqlite:///{tmp_path / "ux.db"}"' if storage else ""
    path.write_text(SPEC.format(strategy=strategy, trials=trials, storage=where, plugin=FAULTS,
                                options=options, fixed=fixed, high=high, activations=activations))
    return path


def _one_error_line(result, *needles):
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def _complete(db) -> int:
    try:
        with sqlite3.connect(db) as con:
            return con.execute("SELECT count(*) FROM trials WHERE state = 'COMPLETE'").fetchone()[0]
    except sqlite3.OperationalError:  # the run has not created its tables yet
        return 0


def test_validate_says_when_the_budget_samples_the_grid(tmp_path):
    spec = _spec(tmp_path, strategy="grid", trials=4, options="points = 3")
    result = run_hpsearch("validate", spec, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "grid size: 6 points" in result.stdout
    assert ("grid: 4 of 6 grid points will be visited (a seeded random sample); "
            "raise --trials to 6 to cover the grid") in result.stdout
    full = run_hpsearch("validate", _spec(tmp_path, strategy="grid", trials=6, options="points = 3"),
                    cwd=tmp_path)
    assert full.returncode == 0 and "will be visited" not in full.stdout


def test_bad_fixed_value_is_refused_before_the_study_exists(tmp_path):
    spec = _spec(tmp_path, fixed='optimizer = "bogus"')
    for command in ("validate", "run"):
        result = run_hpsearch(command, spec, "--no-progress", cwd=tmp_path) if command == "run" \
            else run_hpsearch(command, spec, cwd=tmp_path)
        _one_error_line(result, "fixed.optimizer", "'optimizer' parameter must be one of")
    assert not (tmp_path / "ux.db").exists()


def test_bad_space_value_is_refused_before_the_study_exists(tmp_path):
    spec = _spec(tmp_path, fixed="hidden = [0]")
    _one_error_line(run_hpsearch("run", spec, "--no-progress", cwd=tmp_path), "fixed.hidden")
    spec = _spec(tmp_path, activations='["relu", "relu2"]')
    _one_error_line(run_hpsearch("validate", spec, cwd=tmp_path), "space.activation", "relu2")
    assert not (tmp_path / "ux.db").exists()


def test_renamed_run_default_storage_show_plot_delete(tmp_path):
    spec = _spec(tmp_path, storage=False, activations='["relu"]')
    run = run_hpsearch("run", spec, "--name", "renamed", "--no-progress", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "hpsearch-results" / "renamed" / "results.csv").exists()
    shown = run_hpsearch("show", cwd=tmp_path)
    assert shown.returncode == 0 and "study 'renamed'" in shown.stdout, shown.stderr
    plotted = run_hpsearch("plot", "--out", tmp_path / "p", cwd=tmp_path)
    assert plotted.returncode == 0 and (tmp_path / "p" / "history.png").exists(), plotted.stderr
    skipped = "importances: skipped activation (never varied among complete trials)"
    assert skipped in run.stdout and skipped in plotted.stdout
    unknown = run_hpsearch("delete", "hpsearch.db", "--study", "nope", cwd=tmp_path)
    _one_error_line(unknown, "no study named 'nope'", "['renamed']")
    deleted = run_hpsearch("delete", "hpsearch.db", "--study", "renamed", cwd=tmp_path)
    assert deleted.returncode == 0 and "deleted study 'renamed'" in deleted.stdout
    _one_error_line(run_hpsearch("show", cwd=tmp_path), "holds no study yet")


def test_a_changed_spec_names_what_differs(tmp_path):
    assert run_hpsearch("run", _spec(tmp_path), "--no-progress", cwd=tmp_path).returncode == 0
    again = run_hpsearch("run", _spec(tmp_path, high=0.3), "--seed", "5", "--no-progress",
                     cwd=tmp_path)
    _one_error_line(again, "different configuration", "seed: stored 0, requested 5",
                    "space.lr.high: stored 0.1, requested 0.3", "--name", "hpsearch delete")


@pytest.mark.faults
def test_ctrl_c_stops_the_run_in_one_line_and_it_resumes(tmp_path):
    spec = _spec(tmp_path, trials=200, activations='["slow"]')
    proc = subprocess.Popen([*hpsearch_command(), "run", str(spec), "--no-progress"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while _complete(tmp_path / "ux.db") < 2 and time.monotonic() < deadline \
            and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    done = _complete(tmp_path / "ux.db")
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == [f"interrupted: {done} complete, run the same command "
                                        "to resume"]
    resumed = run_hpsearch("run", spec, "--trials", done + 2, "--no-progress", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert _complete(tmp_path / "ux.db") == done + 2
