"""The ``hpsearch`` command as a new user meets it: a table and its target are one
command, the README's spec runs on a data file, arguments are checked before anything
is written, and the small things (version, pipes, usage, defaults, ignores) hold."""

from __future__ import annotations

import fnmatch
import importlib.metadata
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.cli import hpsearch_command, run_hpsearch
from sklearn.datasets import load_breast_cancer, load_wine

from hpsearch.study import Study
from hpsearch.tuning import default_space

ROOT = Path(__file__).resolve().parents[3]
QUICKSTART = ROOT / "studies" / "quickstart.toml"


def _one_error_line(result: subprocess.CompletedProcess, *needles: str) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and all(n in lines[0] for n in needles), lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def wine_csv(tmp_path_factory) -> Path:
    """scikit-learn's wine as a CSV whose class column holds floats (1.0, 2.0, 3.0)."""
    frame = load_wine(as_frame=True).frame.rename(columns={"target": "cultivar"})
    frame["cultivar"] = frame["cultivar"].astype(float) + 1
    path = tmp_path_factory.mktemp("tables") / "wine.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def wine_run(tmp_path_factory, wine_csv) -> tuple[Path, subprocess.CompletedProcess]:
    """``hpsearch run --data wine.csv --target cultivar`` in a fresh folder, no spec."""
    folder = tmp_path_factory.mktemp("one-command")
    result = run_hpsearch("run", "--data", wine_csv, "--target", "cultivar", "--trials", "2",
                          "--no-progress", cwd=folder)
    return folder, result


def test_a_table_and_its_target_are_one_command(wine_run):
    folder, result = wine_run
    assert result.returncode == 0, result.stderr
    assert "study 'wine' in " in result.stdout
    # whole-number float labels are classes, and the summary says which task it ran
    assert "task: classification on wine, val_loss (minimize)" in result.stdout
    study = Study.load("wine", f"sqlite:///{folder / 'hpsearch.db'}")
    assert set(study.config.space) == set(default_space())  # tune's default space
    assert study.config.strategy == "tpe" and study.dataset().preprocessing.classes == (1, 2, 3)
    assert (folder / "hpsearch-results" / "wine" / "results.csv").exists()


def test_running_a_finished_study_again_says_it_is_complete(wine_run, wine_csv):
    folder, _ = wine_run
    again = run_hpsearch("run", "--data", wine_csv, "--target", "cultivar", "--trials", "2",
                         "--no-progress", cwd=folder)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("study 'wine' is already complete: 2 trials finished "
                                   "(--trials 2); a larger --trials runs more")
    assert "2 trials (2 COMPLETE)" in again.stdout


def test_a_reader_that_stops_early_is_not_an_error(wine_run):
    folder, _ = wine_run
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first line (| head -0)
    try:
        shown = subprocess.run([*hpsearch_command(), "show"], stdout=write, stderr=subprocess.PIPE,
                               text=True, cwd=folder, timeout=120)
    finally:
        os.close(write)
    assert shown.returncode == 0 and shown.stderr == ""


def test_export_confirm_and_delete_default_the_storage_as_show_does(wine_run, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(wine_run[0], folder)
    exported = run_hpsearch("export", "--out", "model.npz", cwd=folder)
    assert exported.returncode == 0 and (folder / "model.npz").exists(), exported.stderr
    confirmed = run_hpsearch("confirm", "--top", "1", cwd=tmp_path)  # a folder without storage
    _one_error_line(confirmed, f"no storage file at {tmp_path / 'hpsearch.db'}")
    deleted = run_hpsearch("delete", "--study", "wine", cwd=folder)
    assert deleted.returncode == 0 and "deleted study 'wine'" in deleted.stdout, deleted.stderr
    _one_error_line(run_hpsearch("show", cwd=folder), "hpsearch.db holds no study yet")


def test_the_gitignore_covers_what_a_run_writes(wine_run):
    patterns = [p.strip() for p in (ROOT / ".gitignore").read_text().splitlines()
                if p.strip() and not p.startswith("#")]
    written = [p.name + ("/" if p.is_dir() else "") for p in wine_run[0].iterdir()]
    assert {"hpsearch-results/", "hpsearch.db.artifacts/"} <= set(written)
    for name in written:
        assert any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(name.rstrip("/"), p)
                   for p in patterns), name


def test_the_readme_spec_runs_on_a_data_file_after_the_quick_start(tmp_path):
    frame = load_breast_cancer(as_frame=True).frame
    frame["diagnosis"] = frame.pop("target").map({0: "malignant", 1: "benign"})
    frame.iloc[:150].to_csv(tmp_path / "patients.csv", index=False)
    spec = tmp_path / "studies" / "quickstart.toml"
    spec.parent.mkdir()
    shutil.copy(QUICKSTART, spec)
    quick = ["--trials", "1", "--jobs", "1", "--no-progress"]
    first = run_hpsearch("run", "studies/quickstart.toml", *quick, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    own = run_hpsearch("run", "studies/quickstart.toml", "--data", "patients.csv", "--target",
                       "diagnosis", *quick, cwd=tmp_path)
    assert own.returncode == 0, own.stderr
    assert "study 'quickstart-patients'" in own.stdout
    exported = run_hpsearch("export", "sqlite:///hpsearch.db", "--study", "quickstart-patients",
                            "--out", "model.npz", cwd=tmp_path)
    assert exported.returncode == 0 and "study 'quickstart-patients'" in exported.stdout


def test_data_file_errors_are_not_prefixed_with_the_spec(tmp_path, wine_csv):
    spec = tmp_path / "quickstart.toml"
    shutil.copy(QUICKSTART, spec)
    missing = run_hpsearch("run", spec, "--data", "nope.csv", "--target", "x", cwd=tmp_path)
    line = _one_error_line(missing, "nope.csv")
    assert line.startswith("hpsearch: error: no such data file") and "quickstart.toml" not in line
    column = run_hpsearch("run", spec, "--data", wine_csv, "--target", "colour", cwd=tmp_path)
    assert "colour" in _one_error_line(column) and "quickstart.toml" not in column.stderr
    assert not (tmp_path / "hpsearch.db").exists()


@pytest.mark.parametrize("arguments, needle", [
    (["--trials", "0"], "n_trials must be a positive integer, got 0"),
    (["--backend", "spark"], "unknown joblib backend 'spark'"),
])
def test_bad_run_arguments_are_refused_before_anything_is_written(tmp_path, wine_csv, arguments,
                                                                   needle):
    result = run_hpsearch("run", "--data", wine_csv, "--target", "cultivar", *arguments, cwd=tmp_path)
    _one_error_line(result, needle)
    assert list(tmp_path.iterdir()) == []  # no storage, no data copy, no lock, no results


def test_run_without_a_spec_or_data_says_what_it_needs(tmp_path):
    _one_error_line(run_hpsearch("run", cwd=tmp_path), "run needs a spec file", "--data FILE")
    _one_error_line(run_hpsearch("run", "--data", "wine.csv", cwd=tmp_path),
                    "--data wine.csv needs --target COLUMN")
    _one_error_line(run_hpsearch("run", "spec.toml", "--task", "regression", cwd=tmp_path),
                    "--task needs --data FILE")


def test_a_wrong_flag_shows_its_commands_usage_and_the_closest_flag(tmp_path):
    misspelt = run_hpsearch("run", "spec.toml", "--trails", "5", cwd=tmp_path)
    assert misspelt.returncode == 2 and misspelt.stderr.startswith("usage: hpsearch run ")
    assert "unrecognized arguments: --trails 5 (did you mean '--trials'?)" in misspelt.stderr
    before = run_hpsearch("--trails", "5", cwd=tmp_path)  # before any command
    assert before.returncode == 2 and before.stderr.startswith("usage: hpsearch run ")
    assert "options follow their command, e.g. hpsearch run ... --trials" in before.stderr


def test_version_and_help(tmp_path):
    version = importlib.metadata.version("hpsearch")
    shown = run_hpsearch("--version", cwd=tmp_path)
    assert shown.returncode == 0 and shown.stdout.strip() == f"hpsearch {version}"
    package = subprocess.run([sys.executable, "-c", "import hpsearch; print(hpsearch.__version__); "
                              "print(sorted(hpsearch.tuning.default_space()))"],
                             capture_output=True, text=True, timeout=120)
    assert package.stdout.split("\n")[:2] == [version, str(sorted(default_space()))], package.stderr
    helped = run_hpsearch("--help", cwd=tmp_path)
    assert "The hpsearch command:" in helped.stdout and "``" not in helped.stdout
    netcore_help = subprocess.run([sys.executable, "-m", "netcore", "--help"], capture_output=True,
                                  text=True, timeout=120)
    assert "(default: mnist;" in netcore_help.stdout and "``" not in netcore_help.stdout


def test_lr_find_reads_a_data_file(tmp_path, wine_csv):
    found = run_hpsearch("lr-find", "--data", wine_csv, "--target", "cultivar", "--optimizer", "adam",
                         "--num-iter", "20", "--out", "lr.png", cwd=tmp_path)
    assert found.returncode == 0 and "<- suggestion" in found.stdout, found.stderr
    assert (tmp_path / "lr.png").stat().st_size > 0
    both = run_hpsearch("lr-find", "--data", wine_csv, "--dataset", "digits", cwd=tmp_path)
    assert both.returncode == 2 and "give --dataset or --data, not both" in both.stderr
