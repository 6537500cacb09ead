"""``python -m studies.benchmarks.overhead --quick``: the report's shape, never its timings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from studies.benchmarks import overhead

ROOT = Path(__file__).resolve().parents[2]


def test_quick_run_reports_each_part_of_the_driver_and_the_worker(tmp_path):
    done = subprocess.run([sys.executable, "-m", "studies.benchmarks.overhead", "--quick",
                           "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    report = (tmp_path / "overhead.md").read_text(encoding="utf-8")
    assert report.startswith("# Per-trial overhead")
    for _, label in (*overhead.DRIVER_PARTS, *overhead.WORKER_PARTS):
        assert f"| {label} | " in report
    assert "| sqlite | random | 12 |" in report
    assert "## Reading a study of 12 trials" in report and "failed" not in report
    figures = json.loads((tmp_path / "overhead.json").read_text(encoding="utf-8"))
    row, = figures["grid"]
    assert row["complete"] == 12 and row["steady_ms"] > 0 and row["optuna_ms"] > 0
    assert set(row["driver_ms"]) == {key for key, _ in overhead.DRIVER_PARTS}
    assert set(row["worker_ms"]) == {key for key, _ in overhead.WORKER_PARTS}
    grown, = figures["growth"]
    assert grown["n"] == 12 and len(grown["rss_mb"]) >= 2


def test_a_storage_that_could_not_run_is_reported_as_failed():
    meta = {"when": "today", "cpus": 2, "load": 0.5, "load_end": 0.5}
    results = {"grid": [{"storage": "postgresql", "error": "no PostgreSQL server could start"}],
               "growth": [{"n": 100, "error": "TimeoutExpired"}]}
    report = overhead.render(results, meta)
    assert "| postgresql | — | failed: no PostgreSQL server could start |" in report
    assert "| 100 | failed: TimeoutExpired |" in report
    assert "## Reading a study" not in report


def test_running_one_size_again_replaces_its_row_and_keeps_the_others():
    earlier = {"grid": [{"storage": "sqlite", "strategy": "random", "steady_ms": 1.0}],
               "growth": [{"n": 100, "steady_ms": 1.0}, {"n": 10000, "error": "timeout"}]}
    fresh = {"grid": [], "growth": [{"n": 10000, "steady_ms": 2.0}]}
    result = overhead.merged(fresh, earlier)
    assert result["grid"] == earlier["grid"]
    assert result["growth"] == [{"n": 100, "steady_ms": 1.0}, {"n": 10000, "steady_ms": 2.0}]
