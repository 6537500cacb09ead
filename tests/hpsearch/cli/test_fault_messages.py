"""Faults that must end in one clear line, never a traceback.

Each is injected for real: a second process deletes the study under a running
driver; a file that cannot be removed (immutable, or a mount point) stays in a
deleted study's folder; Ctrl-C keeps arriving while a real driver shuts down;
a database is moved without its artifacts folder; a journal URL is written with
four slashes.
"""

from __future__ import annotations

import collections
import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import optuna
import pytest
from helpers.cli import hpsearch_command, run_hpsearch
from helpers.paths import FAULTS

import hpsearch
from hpsearch import space

SPEC = """
[study]
name = "live"
dataset = "spirals"
strategy = "random"
trials = 40
jobs = 2
epochs = 4
max_train = 400
storage = "sqlite:///{db}"
plugins = ["{plugin}"]

[space.lr]
type = "log_float"
low = 1e-3
high = 1e-1

[space.activation]
type = "fixed"
value = "slow"
"""


def _live_run(tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    """``hpsearch run`` of a slow 40-trial study in a process group of its own (as a terminal
    starts it); returns the process and the storage file."""
    db = tmp_path / "live.db"
    spec = tmp_path / "live.toml"
    spec.write_text(SPEC.format(db=db, plugin=FAULTS))
    proc = subprocess.Popen([*hpsearch_command(), "run", str(spec), "--no-progress"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=tmp_path, start_new_session=True)
    return proc, db


def _states(db: Path) -> collections.Counter:
    """The trials' states, read with plain SQL: opening the file through Optuna while
    the driver creates it would race it to create the tables."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as con:
            return collections.Counter(dict(con.execute(
                "SELECT state, COUNT(*) FROM trials GROUP BY state").fetchall()))
    except sqlite3.Error:  # not created yet
        return collections.Counter()


def _wait_for_running_with_complete(proc: subprocess.Popen, db: Path, timeout=180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        states = _states(db)
        if states["COMPLETE"] >= 1 and states["RUNNING"] > 0:
            return
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("the run did not reach one complete trial and one running")


def _one_line(stderr: str, *words: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.mark.faults
def test_delete_during_a_live_run_stops_it_saying_the_study_was_deleted(tmp_path):
    proc, db = _live_run(tmp_path)
    url = f"sqlite:///{db}"
    try:
        _wait_for_running_with_complete(proc, db)
        deleted = run_hpsearch("delete", url, "--study", "live", cwd=tmp_path)
        assert deleted.returncode == 0, deleted.stderr
        assert "deleted study 'live'" in deleted.stdout
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 2, err
    line = _one_line(err, "study 'live' was deleted", "while this run", "run it again")
    assert "Record does not exist" not in line
    # The trials that were running wrote nothing back into the deleted study's folder.
    assert not [p for p in (tmp_path / "live.db.artifacts").rglob("*") if not p.is_dir()]


@pytest.mark.faults
def test_more_ctrl_c_while_a_run_shuts_down_leave_one_line(tmp_path):
    proc, db = _live_run(tmp_path)
    try:
        _wait_for_running_with_complete(proc, db)
        # Ctrl-C reaches the driver and its workers (the terminal's process group),
        # then again every 50 ms until the driver has exited: every step of its
        # shutdown meets one.
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(ProcessLookupError):  # it has exited
                os.killpg(proc.pid, signal.SIGINT)
            time.sleep(0.05)
        _, err = proc.communicate(timeout=30)
    finally:
        with contextlib.suppress(ProcessLookupError):  # it has exited
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    _one_line(err, "interrupted", "complete, run the same command to resume")
    # Ctrl-C failed no trial: the interrupted ones are re-queued (or, claimed at the
    # moment it came, left RUNNING for the next run to re-queue).
    df = hpsearch.Study.load("live", f"sqlite:///{db}").results()
    assert (df["state"] == "COMPLETE").sum() >= 1
    assert df[df["state"] == "FAIL"]["requeued"].all(), df[["trial", "state", "error"]]


def _small_study(tmp_path: Path, storage: str, keep_models: int = 5) -> hpsearch.Study:
    study = hpsearch.Study.create("s", dataset="spirals", storage=storage, epochs=1,
                                  max_train=100, keep_models=keep_models,
                                  space={"lr": space.log_float(1e-3, 1e-1)})
    study.run(n_trials=2, progress=False)
    return study


def _pin(path: Path) -> tuple[Callable[[], object], Path]:
    """Make ``path`` impossible to remove, even for root; returns the undo and the
    entry that will stay.

    An immutable file (``chattr +i``) where the file system has the flag; else a
    tmpfs mounted on a folder beside it (a mount point is not removed by ``rm -r``).
    """
    if shutil.which("chattr") and subprocess.run(["chattr", "+i", str(path)],
                                                 capture_output=True).returncode == 0:
        return lambda: subprocess.run(["chattr", "-i", str(path)], check=True), path
    mount_point = path.parent / "mounted"
    mount_point.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)],
                      capture_output=True).returncode == 0:
        return lambda: subprocess.run(["umount", str(mount_point)], check=True), mount_point
    pytest.skip("neither chattr +i nor mount works here: no file that root cannot remove")


def test_delete_names_what_it_could_not_remove(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    _small_study(tmp_path, url)
    model = next((tmp_path / "s.db.artifacts").rglob("trial-*.npz"))
    undo, stays = _pin(model)
    try:
        result = run_hpsearch("delete", url, "--study", "s", cwd=tmp_path)
        assert result.returncode == 1, (result.stdout, result.stderr)
        _one_line(result.stderr, "study 's' was deleted", "1 file(s)", str(stays),
                  "could not be removed", "remove them by hand")
        assert "deleted study" not in result.stdout
    finally:
        undo()
    assert optuna.get_all_study_summaries(url) == []  # the study itself is gone
    assert stays.exists()


def test_delete_of_a_whole_folder_says_deleted(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    _small_study(tmp_path, url)
    result = run_hpsearch("delete", url, "--study", "s", cwd=tmp_path)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert "deleted study 's'" in result.stdout
    assert not list((tmp_path / "s.db.artifacts").iterdir())


def test_export_from_a_database_moved_without_its_folder_names_the_missing_folder(tmp_path):
    first, moved = tmp_path / "first", tmp_path / "moved"
    first.mkdir()
    moved.mkdir()
    study = _small_study(tmp_path, f"sqlite:///{first / 's.db'}")
    study.storage.engine.dispose()  # closed, as a database is when a user moves it
    (first / "s.db").rename(moved / "s.db")  # the .artifacts folder stays behind
    result = run_hpsearch("export", moved / "s.db", "--out", tmp_path / "m.npz", cwd=tmp_path)
    assert result.returncode == 2
    line = _one_line(result.stderr, "missing", str(moved / "s.db.artifacts"),
                     ".artifacts folder", "refit")
    assert "keep_models" not in line
    assert not (tmp_path / "m.npz").exists()
    # A model that pruning removed still says so.
    url = f"sqlite:///{tmp_path / 'kept.db'}"
    study = _small_study(tmp_path, url, keep_models=1)
    worst = max(study.results().itertuples(), key=lambda row: row.value).trial
    pruned = run_hpsearch("export", url, "--trial", worst, "--out", tmp_path / "w.npz",
                          cwd=tmp_path)
    _one_line(pruned.stderr, "keep_models")


@pytest.mark.parametrize("slashes", ["///", "////"])
def test_journal_urls_print_with_one_leading_slash(tmp_path, slashes):
    log = tmp_path / "j.log"
    _small_study(tmp_path, f"journal:///{log}")  # journal:////tmp/...: four slashes
    shown = run_hpsearch("show", f"journal:{slashes}{str(log).lstrip('/')}", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert f"study 's' in journal://{log}: 2 trials" in shown.stdout
    assert "journal:////" not in shown.stdout
    missing = run_hpsearch("show", f"journal:{slashes}{str(tmp_path / 'no.log').lstrip('/')}",
                           cwd=tmp_path)
    assert missing.returncode == 2
    line = _one_line(missing.stderr, f"no storage file at {tmp_path / 'no.log'}")
    assert "//" not in line
