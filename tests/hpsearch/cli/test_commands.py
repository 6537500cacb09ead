"""The ``hpsearch`` console script, end to end in subprocesses."""

from __future__ import annotations

import pytest
from helpers.cli import run_hpsearch
from helpers.paths import FAULTS

SPEC = """
[study]
name = "cli"
dataset = "spirals"
strategy = "{strategy}"
trials = 4
jobs = 2
epochs = 3
max_train = 400
storage = "sqlite:///{db}"
plugins = ["{plugin}"]

[strategy_options]
{options}

[space.lr]
type = "log_float"
low = 1e-3
high = 1e-1

[space.hidden]
type = "choice"
values = [[8], [16, 8]]

[space.activation]
type = "choice"
values = {activations}
"""




def _spec(tmp_path, strategy="random", options="", activations='["relu", "tanh"]'):
    path = tmp_path / "study.toml"
    path.write_text(SPEC.format(strategy=strategy, db=tmp_path / "cli.db", plugin=FAULTS,
                                options=options, activations=activations))
    return path


def test_run_resume_show_plot(tmp_path):
    spec = _spec(tmp_path)
    first = run_hpsearch("run", spec, "--no-progress", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "4 trials (4 COMPLETE)" in first.stdout and "best parameters" in first.stdout
    out = tmp_path / "hpsearch-results" / "cli"
    assert (out / "results.csv").exists() and (out / "history.png").exists()
    again = run_hpsearch("run", spec, "--trials", "6", "--no-progress", cwd=tmp_path)
    assert again.returncode == 0 and "6 trials (6 COMPLETE)" in again.stdout
    shown = run_hpsearch("show", f"sqlite:///{tmp_path / 'cli.db'}", "--top", "3", cwd=tmp_path)
    assert shown.returncode == 0 and "6 trials (6 COMPLETE)" in shown.stdout
    plotted = run_hpsearch("plot", tmp_path / "cli.db", "--study", "cli", "--out", tmp_path / "p",
                       cwd=tmp_path)
    assert plotted.returncode == 0, plotted.stderr
    for name in ("history", "importances", "parallel", "slices", "learning_curves"):
        assert (tmp_path / "p" / f"{name}.png").stat().st_size > 1000


def test_validate_prints_the_grid_size(tmp_path):
    spec = _spec(tmp_path, strategy="grid", options="points = 3")
    result = run_hpsearch("validate", spec, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "grid size: 12 points" in result.stdout and "lr: float [0.001, 0.1] log" in result.stdout


def test_bad_spec_exits_2_naming_file_and_key(tmp_path):
    spec = _spec(tmp_path)
    spec.write_text(spec.read_text().replace("trials = 4", "trials = 'four'"))
    for command in ("run", "validate"):
        result = run_hpsearch(command, spec, cwd=tmp_path)
        assert result.returncode == 2
        assert f"{spec}: study.trials must be an integer" in result.stderr


def test_missing_things_exit_2(tmp_path):
    assert run_hpsearch("run", tmp_path / "nope.toml", cwd=tmp_path).returncode == 2
    assert run_hpsearch("show", tmp_path / "nope.db", cwd=tmp_path).returncode == 2
    assert run_hpsearch("run", _spec(tmp_path), "--strategy", "bayes", cwd=tmp_path).returncode == 2


def test_all_trials_failing_exits_1(tmp_path):
    result = run_hpsearch("run", _spec(tmp_path, activations='["raise"]'), "--no-progress",
                      cwd=tmp_path)
    assert result.returncode == 1 and "all 4 trials of study 'cli' failed" in result.stderr


@pytest.mark.parametrize("command", [[], ["run"], ["show"], ["plot"], ["validate"], ["lr-find"]])
def test_help_everywhere(tmp_path, command):
    result = run_hpsearch(*command, "--help", cwd=tmp_path)
    assert result.returncode == 0 and "usage: hpsearch" in result.stdout


def test_lr_find(tmp_path):
    result = run_hpsearch("lr-find", "--dataset", "digits", "--hidden", "32", "--num-iter", "60",
                      "--out", tmp_path / "lr.png", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "suggest" in result.stdout.lower() and (tmp_path / "lr.png").exists()
