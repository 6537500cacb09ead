"""Faults injected for real that the command line reports in one line with exit code
2: a plugin that raises or exits, an unwritable or corrupted storage, hostile study
names; and edited trial records that are tolerated."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers.cli import run_hpsearch
from helpers.studies import plugin_study

import hpsearch

# A harmless plugin: registers an activation that the study's space uses.


# The command line reports these faults in one line with exit code 2.
SPEC = """[study]
name = {name}
dataset = "spirals"
trials = 1
epochs = 1
max_train = {max_train}
storage = {storage}
plugins = {plugins}

[space.lr]
type = "log_float"
low = 1e-3
high = 1e-1
"""


def _spec(tmp_path: Path, *, name="s", storage=None, plugins=(), max_train=100) -> Path:
    path = tmp_path / "spec.toml"
    storage = storage or f"sqlite:///{tmp_path / 's.db'}"
    path.write_text(SPEC.format(name=json.dumps(name), storage=json.dumps(storage),
                                plugins=json.dumps(list(plugins)), max_train=max_train))
    return path


def _one_line_error(result, *words: str) -> str:
    """The command failed with exit code 2 and one line on stderr holding ``words``."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("body, reason", [("raise RuntimeError('broken plugin')\n",
                                           "RuntimeError: broken plugin"),
                                          ("import sys\nsys.exit(3)\n", "SystemExit: 3")])
def test_a_plugin_that_raises_or_exits_is_one_line(tmp_path, body, reason):
    (tmp_path / "bad.py").write_text(body)
    spec = _spec(tmp_path, plugins=["bad.py"])
    for command in ("validate", "run"):
        result = run_hpsearch(command, spec, "--no-progress" if command == "run" else "--",
                         cwd=tmp_path)
        _one_line_error(result, "plugin", "bad.py", "failed to load", reason)
    assert not (tmp_path / "s.db").exists()


def test_a_plugin_that_raises_is_a_value_error_in_python(tmp_path):
    (tmp_path / "bad.py").write_text("import sys\nsys.exit(3)\n")
    with pytest.raises(ValueError, match=r"plugin '.*bad\.py' failed to load: SystemExit: 3"):
        hpsearch.Study.create("x", dataset="spirals", space={"lr": 0.01},
                              storage=f"sqlite:///{tmp_path / 'x.db'}",
                              plugins=[str(tmp_path / "bad.py")])


def test_a_storage_that_cannot_be_written_is_one_line(tmp_path):
    blocker = tmp_path / "somefile.txt"
    blocker.write_text("a file, not a folder")
    result = run_hpsearch("run", _spec(tmp_path, storage=f"sqlite:///{blocker}/x.db"),
                     "--no-progress", cwd=tmp_path)
    _one_line_error(result, "somefile.txt")
    assert blocker.read_text() == "a file, not a folder"


def _read_only_folder(tmp_path: Path) -> tuple[Path, Callable[[], object]]:
    """A folder this user cannot write to, and its undo: mode 0o555, or for root (whom modes do
    not stop) a read-only tmpfs mounted there."""
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return folder, lambda: folder.chmod(0o755)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        reason = f"root, and no read-only mount here: {mounted.stderr.strip()}"
        pytest.fail(reason) if os.environ.get("CI") else pytest.skip(reason)
    return folder, lambda: subprocess.run(["umount", str(folder)], check=True)


def test_a_read_only_folder_is_one_line(tmp_path):
    folder, undo = _read_only_folder(tmp_path)
    try:
        with pytest.raises(OSError):
            (folder / "probe").write_text("")
        result = run_hpsearch("run", _spec(tmp_path, storage=f"sqlite:///{folder / 'x.db'}"),
                              "--no-progress", cwd=tmp_path)
        _one_line_error(result)
    finally:
        undo()


def test_a_storage_on_a_read_only_filesystem_is_one_line(tmp_path):
    result = run_hpsearch("run", _spec(tmp_path, storage="sqlite:////proc/hpsearch-test/x.db"),
                     "--no-progress", cwd=tmp_path)
    _one_line_error(result)


def test_a_corrupted_sqlite_page_is_one_line(tmp_path):
    url, _ = plugin_study(tmp_path, n_trials=2)
    db = tmp_path / "study.db"
    data = bytearray(db.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    assert len(data) > 4 * page
    # Garbage over every page but the first (the header and the schema's root):
    # the file still opens as SQLite, and reading any table meets the damage.
    data[page:] = (b"\xde\xad\xbe\xef" * (len(data) // 4 + 1))[:len(data) - page]
    db.write_bytes(bytes(data))
    result = run_hpsearch("show", url, cwd=tmp_path)
    _one_line_error(result, "cannot read the storage")


def test_a_journal_url_naming_a_folder_is_one_line(tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    for command in ("show", "plot"):
        _one_line_error(run_hpsearch(command, f"journal:///{folder}", cwd=tmp_path))
    result = run_hpsearch("run", _spec(tmp_path, storage=f"journal:///{folder}"), "--no-progress",
                     cwd=tmp_path)
    _one_line_error(result)
    assert not any(folder.iterdir())


def test_show_of_a_missing_journal_creates_nothing(tmp_path):
    missing = tmp_path / "missing.log"
    for command in ("show", "plot", "export"):
        args = ("--out", tmp_path / "m.npz") if command == "export" else ()
        _one_line_error(run_hpsearch(command, f"journal:///{missing}", *args, cwd=tmp_path),
                        "missing.log")
        _one_line_error(run_hpsearch(command, missing, *args, cwd=tmp_path), "missing.log")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("max_train", [0, -5])
def test_max_train_must_be_positive(tmp_path, max_train):
    spec = _spec(tmp_path, max_train=max_train)
    for command in ("validate", "run"):
        _one_line_error(run_hpsearch(command, spec, cwd=tmp_path), "max_train", str(max_train))
    with pytest.raises(ValueError, match="max_train must be a positive integer or None"):
        hpsearch.Study.create("x", dataset="spirals", space={"lr": 0.01}, storage="memory",
                              max_train=max_train)


def _written_outside(work: Path, before: set[Path]) -> list[Path]:
    """Files written since ``before`` anywhere but the results folder of ``work``
    and the storage ``work/s.db`` with its files beside it."""
    allowed = (work / "hpsearch-results", work / "s.db.artifacts")
    root = work.parent.parent
    return [p for p in _files(root) - before
            if not any(a in p.parents for a in allowed) and not p.name.startswith("s.db")]


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("name", ["../escape", "../../escape", "a/../../escape"])
def test_a_path_like_study_name_writes_only_into_the_results_folder(tmp_path, name):
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    spec = _spec(work, name=name, storage=f"sqlite:///{work / 's.db'}")
    before = _files(tmp_path)
    result = run_hpsearch("run", spec, "--no-progress", cwd=work)
    assert result.returncode == 0, result.stderr
    assert _written_outside(work, before) == []
    assert len(list((work / "hpsearch-results").glob("*/results.csv"))) == 1
    plotted = run_hpsearch("plot", work / "s.db", cwd=work)
    assert plotted.returncode == 0, plotted.stderr
    assert _written_outside(work, before) == []


def test_an_absolute_study_name_writes_only_into_the_results_folder(tmp_path):
    target = tmp_path / "outside" / "abs"
    work = tmp_path / "work"
    work.mkdir()
    result = run_hpsearch("run", _spec(work, name=str(target)), "--no-progress", cwd=work)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "outside").exists()
    assert len(list((work / "hpsearch-results").glob("*/results.csv"))) == 1


@pytest.mark.parametrize("name", ["bad\nname", "nul\x00name", "x" * 201, "", "tab\tname"])
def test_study_names_with_control_characters_or_too_long_are_refused(tmp_path, name):
    with pytest.raises(ValueError, match="study name"):
        hpsearch.Study.create(name, dataset="spirals", space={"lr": 0.01},
                              storage=f"sqlite:///{tmp_path / 'x.db'}")
    spec = _spec(tmp_path, name=name)
    for command in ("validate", "run"):
        _one_line_error(run_hpsearch(command, spec, cwd=tmp_path), "study name")
    if "\x00" not in name:  # a command line cannot hold NUL
        named = run_hpsearch("run", _spec(tmp_path), "--name", name, cwd=tmp_path)
        _one_line_error(named, "study name")
    assert not (tmp_path / "s.db").exists()


@pytest.mark.parametrize("attr, value", [("metrics", "a string"), ("metrics", [1, 2]),
                                         ("curves", "not curves"), ("error", {"a": 1}),
                                         ("hpsearch:slot", "seven"), ("hpsearch:seed", [1]),
                                         ("hpsearch:requeued", "yes")])
def test_trial_attributes_of_the_wrong_type_are_tolerated(tmp_path, attr, value):
    url, _ = plugin_study(tmp_path, n_trials=2)
    # Finished trials cannot be changed through Optuna: edit the file's rows.
    table = "trial_system_attributes" if attr.startswith("hpsearch:") else "trial_user_attributes"
    with sqlite3.connect(tmp_path / "study.db") as db:
        db.execute(f"DELETE FROM {table} WHERE trial_id = 1 AND key = ?", (attr,))
        db.execute(f"INSERT INTO {table} (trial_id, key, value_json) VALUES (1, ?, ?)",
                   (attr, json.dumps(value)))
    db.close()
    shown = run_hpsearch("show", url, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "2 trials" in shown.stdout
    plotted = run_hpsearch("plot", url, "--out", tmp_path / "plots", cwd=tmp_path)
    assert plotted.returncode == 0, plotted.stderr
    assert len(hpsearch.Study.load("p", url).results()) == 2
