"""The scaling and cluster I/O benchmarks: their reports' shape and their counting, never timings."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from studies.benchmarks import cluster_io, scaling

ROOT = Path(__file__).resolve().parents[2]


def test_quick_scaling_run_writes_a_row_per_run_a_json_and_a_plot(tmp_path):
    done = subprocess.run([sys.executable, "-m", "studies.benchmarks.scaling", "--quick",
                           "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    report = (tmp_path / "scaling.md").read_text(encoding="utf-8")
    assert report.startswith("# How far one driver scales")
    rows = [line for line in report.splitlines() if line.startswith("| threading |")]
    assert [row.split(" | ")[1:3] for row in rows] == [["sqlite", "2"], ["journal", "2"]]
    results = json.loads((tmp_path / "scaling.json").read_text(encoding="utf-8"))
    assert [(r["storage"], r["trials"], r["complete"]) for r in results["rows"]] == \
        [("sqlite", 6, 6), ("journal", 6, 6)]
    # Every trial slept in its worker: the plugin was loaded there and built the model.
    assert all(r["median_trial_s"] >= 0.05 for r in results["rows"])
    assert (tmp_path / "scaling.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sustained_rate_counts_from_the_end_of_the_first_round():
    # 4 workers, 1-second trials in rounds that each end together: 4 trials/s.
    bursts = [10.0 + round_ for round_ in range(5) for _ in range(4)]
    assert scaling.sustained_rate(bursts, 4) == pytest.approx(4.0)
    # A late start-up (the first round took 30 s) does not count against the driver.
    assert scaling.sustained_rate([30.0] * 4 + [31.0] * 4, 4) == pytest.approx(4.0)
    assert scaling.sustained_rate([1.0, 2.0, 3.0], 4) is None


def test_unknown_backend_is_refused_with_the_allowed_ones():
    with pytest.raises(SystemExit, match="'threads' is not one of threading, dask, ray, loky"):
        scaling.parse_args(["--backends", "threads"])


STRACE = """\
100 openat(AT_FDCWD, "/s.db.artifacts/st-1/data/X.npy", O_RDONLY) = 5</s.db.artifacts/st-1/data/X.npy>
100 mmap(NULL, 4096, PROT_READ, MAP_SHARED, 5</s.db.artifacts/st-1/data/X.npy>, 0) = 0x7f00
100 clone3({flags=CLONE_VM|CLONE_FS|CLONE_THREAD|CLONE_SYSVSEM, ...}, 88) = 101
100 clone(child_stack=NULL, flags=CLONE_CHILD_SETTID|SIGCHLD) = 200
101 unlink("/s.db.artifacts/st-1/models/trial-00001-2.npz" <unfinished ...>
200 write(7</s.db.artifacts/st-1/models/trial-00003-4.partial.npz>, "PK", 300) = 300
101 <... unlink resumed>) = 0
200 read(3</usr/lib/python3.11/os.py>, "", 512) = 512
200 mmap(NULL, 4096, PROT_READ, MAP_SHARED, 5</s.db.artifacts/st-1/data/X.npy>, 0) = 0x7f00
200 rename("/s.db.artifacts/st-1/models/a.partial.npz", "/s.db.artifacts/st-1/models/a.npz") = 0
200 read(8</s.db.artifacts/st-1/checkpoints/job-00002.npz>, "", 100) = -1 EIO (Input/output error)
"""


def test_io_is_counted_per_folder_and_process_from_system_calls(tmp_path):
    trace = tmp_path / "trace"
    trace.write_text(STRACE)
    io = cluster_io.count_io(trace, "/s.db.artifacts", driver=100)
    # The driver's thread (101) counts as the driver; the child process (200) as a worker;
    # the interrupted unlink is joined again; a failed read and files elsewhere count nothing.
    assert io["driver"] == {"opens": 1, "mapped_data": 4096, "unlinks": 1,
                            "processes_mapping_data": 1}
    assert io["workers"] == {"written_models": 300, "mapped_data": 4096, "renames": 1,
                             "processes_mapping_data": 1}


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")
def test_quick_cluster_io_run_reports_the_model_bytes_each_trial_writes(tmp_path):
    done = subprocess.run([sys.executable, "-m", "studies.benchmarks.cluster_io", "--quick",
                           "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    report = (tmp_path / "cluster_io.md").read_text(encoding="utf-8")
    assert report.startswith("# What a trial reads and writes in the shared folder")
    (row,) = json.loads((tmp_path / "cluster_io.json").read_text(encoding="utf-8"))["rows"]
    assert row["case"] == "digits" and row["trials"] == 3
    # Each trial's worker wrote its model there: at least the 3 kept model files' bytes.
    assert row["io"]["workers"]["written_models"] >= row["folder_after"]["models"] > 0
