"""The disk fills during a run.

The disk fills for real. As root, the study's folder is a small tmpfs (remounted
larger to free space); where mounting is not possible, the run gets a file-size
limit (``RLIMIT_FSIZE``), which makes writes past it fail as a full disk does.
Under CI as root the tmpfs is required. ``HPSEARCH_TEST_FULL_DISK=rlimit``
chooses the file-size limit anywhere, to try that path.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
from pathlib import Path

import pytest
from helpers.cli import run_hpsearch

import hpsearch
from hpsearch.spec import load_spec

SPEC = """
[study]
name = "full"
dataset = "spirals"
strategy = "random"
trials = {trials}
jobs = 1
epochs = 1
max_train = 100
keep_models = {keep}
storage = "{url}"

[space.lr]
type = "log_float"
low = 1e-3
high = 1e-1

[space.hidden]
type = "choice"
values = [{hidden}]
"""


class SmallDisk:
    """A folder whose writes run out of room on request: a tmpfs mounted on it, or a
    file-size limit for the processes that write to it."""

    def __init__(self, folder: Path, kind: str):
        self.folder, self.kind, self.limit = folder, kind, None
        folder.mkdir(parents=True, exist_ok=True)
        if kind == "tmpfs":
            _mount(folder, "size=64m")

    def fill(self, room: int) -> None:
        """Leave ``room`` bytes: the tmpfs shrinks to what it holds plus ``room``; the
        file-size limit becomes the largest file in the folder plus ``room``."""
        if self.kind == "tmpfs":
            stat = os.statvfs(self.folder)
            used = (stat.f_blocks - stat.f_bfree) * stat.f_frsize
            _mount(self.folder, f"remount,size={used + room}")
        else:
            sizes = [p.stat().st_size for p in self.folder.rglob("*") if p.is_file()]
            self.limit = max(sizes, default=0) + room

    def free(self) -> None:
        if self.kind == "tmpfs":
            _mount(self.folder, "remount,size=64m")
        self.limit = None

    def options(self) -> dict:
        """``subprocess.run`` options for a process that writes to the folder."""
        limit = self.limit
        if limit is None:
            return {}
        return {"preexec_fn": lambda: resource.setrlimit(
            resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))}

    def close(self) -> None:
        if self.kind == "tmpfs":
            # Lazily: the test's own process may still hold the storage file open.
            subprocess.run(["umount", "--lazy", str(self.folder)], check=True,
                           capture_output=True)


def _mount(folder: Path, options: str) -> subprocess.CompletedProcess:
    return subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
                          check=True, capture_output=True, text=True)


def _can_mount(probe: Path) -> bool:
    probe.mkdir()
    try:
        _mount(probe, "size=1m")
    except (OSError, subprocess.CalledProcessError):
        return False
    subprocess.run(["umount", str(probe)], check=True, capture_output=True)
    return True


def _kind(tmp_path: Path) -> str:
    """tmpfs as root where mounting works (required under CI), else the file-size limit."""
    if os.environ.get("HPSEARCH_TEST_FULL_DISK") == "rlimit" or os.geteuid() != 0:
        return "rlimit"
    if _can_mount(tmp_path / "probe"):
        return "tmpfs"
    if os.environ.get("CI") == "true":
        pytest.fail("CI runs these tests as root and must be able to mount a tmpfs")
    return "rlimit"


@pytest.fixture
def small_disk(tmp_path):
    disks = []

    def make(folder: Path) -> SmallDisk:
        disks.append(SmallDisk(folder, _kind(tmp_path)))
        return disks[-1]

    yield make
    for disk in disks:
        disk.close()


def _spec(tmp_path: Path, url: str, *, trials: int, keep: int, hidden: str = "[8]") -> Path:
    path = tmp_path / "spec.toml"
    path.write_text(SPEC.format(trials=trials, keep=keep, url=url, hidden=hidden))
    return path


def _run(spec: Path, n_trials: int) -> hpsearch.Study:
    """Run the spec's study in this process, as ``hpsearch run`` does (without its plots)."""
    loaded = load_spec(spec)
    study = hpsearch.Study.from_config(loaded.name, loaded.config, storage=loaded.storage,
                                       load_if_exists=True)
    study.run(n_trials=n_trials, progress=False)
    return study


def _one_line(result, *words: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def _assert_each_slot_once(url: str, budget: int) -> None:
    df = hpsearch.Study.load("full", url).results()
    done = df[df["state"] == "COMPLETE"]
    assert sorted(done["trial"]) == list(range(budget)), df[["trial", "state", "error"]]
    assert "RUNNING" not in set(df["state"])
    # Every other row is a run stopped by the full disk and re-queued, never a failed slot.
    assert df[df["state"] != "COMPLETE"]["requeued"].all(), df[["trial", "state", "error"]]


def _complete(url: str) -> int:
    df = hpsearch.Study.load("full", url).results()
    return int((df["state"] == "COMPLETE").sum())


@pytest.mark.faults
@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_a_full_disk_under_the_storage_stops_the_run_with_one_line_and_a_rerun_finishes(
        tmp_path, small_disk, kind):
    disk = small_disk(tmp_path / "disk")
    url = f"sqlite:///{disk.folder / 's.db'}" if kind == "sqlite" else \
        f"journal:///{disk.folder / 's.log'}"
    spec = _spec(tmp_path, url, trials=12, keep=0)  # no model files: only the storage grows
    _run(spec, 1)
    disk.fill(96 * 1024 if kind == "sqlite" else 8 * 1024)  # a journal grows by lines
    full = run_hpsearch("run", spec, "--no-progress", cwd=tmp_path, **disk.options())
    _one_line(full, "cannot write to disk", "study 'full' stopped", "free some space")
    assert 1 <= _complete(url) < 12, "the storage must fill during the run"
    disk.free()
    _run(spec, 12)  # the study resumes where the full disk stopped it
    _assert_each_slot_once(url, 12)


@pytest.mark.faults
def test_a_full_disk_under_the_model_files_stops_the_run_and_leaves_no_partial_file(
        tmp_path, small_disk):
    url = f"sqlite:///{tmp_path / 's.db'}"
    # Models of about 270 kB each, more than the room left; the storage stays small.
    disk = small_disk(tmp_path / "s.db.artifacts")
    spec = _spec(tmp_path, url, trials=4, keep=4, hidden="[256, 256]")
    disk.fill(200 * 1024)
    full = run_hpsearch("run", spec, "--no-progress", cwd=tmp_path, **disk.options())
    line = _one_line(full, "cannot write to disk", "could not write its files",
                     "free some space")
    assert "database" not in line, "the model file, not the storage, must meet the full disk"
    assert not list(disk.folder.rglob("*.partial.npz"))
    df = hpsearch.Study.load("full", url).results()
    assert df[df["state"] == "FAIL"]["requeued"].all(), "a full disk is no failed trial"
    disk.free()
    study = _run(spec, 4)
    _assert_each_slot_once(url, 4)
    assert list(study.best_model().sizes[1:3]) == [256, 256]
    assert not list(disk.folder.rglob("*.partial.npz"))


def test_partial_files_a_killed_save_left_are_removed_by_the_next_run(tmp_path):
    spec = _spec(tmp_path, f"sqlite:///{tmp_path / 's.db'}", trials=2, keep=5)
    study = _run(spec, 2)
    models = sorted((tmp_path / "s.db.artifacts").rglob("trial-*.npz"))
    assert len(models) == 2
    # What a worker killed mid-save leaves: the first half of a model file under its
    # private name (trial id, then the worker's pid), and a checkpoint's.
    trial_id = study.trials()[0]._trial_id
    left = [models[0].with_name(f"trial-00000-{trial_id}.4242.partial.npz"),
            models[0].parent.parent / "checkpoints" / "job-00001.4242.partial.npz"]
    left[1].parent.mkdir()
    for path in left:
        path.write_bytes(models[0].read_bytes()[:1000])
    _run(spec, 3)
    assert not any(path.exists() for path in left)
    assert all(path.exists() for path in models)


def test_a_journal_ending_in_part_of_a_line_opens_and_runs_on(tmp_path):
    log = tmp_path / "s.log"
    url = f"journal:///{log}"
    spec = _spec(tmp_path, url, trials=2, keep=0)
    _run(spec, 2)
    whole = log.read_bytes()
    # What a writer stopped mid-line by a full disk or a kill leaves at the end.
    torn = whole.splitlines(keepends=True)[-1][:40]
    log.write_bytes(whole + torn)
    shown = run_hpsearch("show", url, cwd=tmp_path)  # a new process opens the journal
    assert shown.returncode == 0 and "2 trials (2 COMPLETE)" in shown.stdout, shown.stderr
    assert log.read_bytes() == whole
    log.write_bytes(whole + torn)
    _run(spec, 4)  # this process opened the journal before the tear: its appends cut it
    _assert_each_slot_once(url, 4)
    assert log.read_bytes().startswith(whole)
    for line in log.read_bytes().splitlines():
        json.loads(line)  # whole lines only
