"""``python -m studies.benchmarks.worker_start``: the report's shape, never its timings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from studies.benchmarks import worker_start

ROOT = Path(__file__).resolve().parents[2]


def test_quick_run_writes_a_row_per_part_and_the_numbers(tmp_path):
    baseline = tmp_path / "before.json"
    baseline.write_text(json.dumps({"imports_s": 1.0, "imports_heavy": ["pandas"]}))
    done = subprocess.run([sys.executable, "-m", "studies.benchmarks.worker_start", "--quick",
                           "--baseline", str(baseline), "--out", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = (tmp_path / "worker_start.md").read_text(encoding="utf-8")
    assert report.startswith("# Worker start-up and the first trial")
    rows = [line for line in report.splitlines() if line.startswith("|")]
    assert rows[0] == "| part | before s | after s |"
    assert len(rows) == 2 + len(worker_start.ROWS)
    assert "| worker imports (`import hpsearch.execution.runner`) | 1.00 |" in report
    figures = json.loads((tmp_path / "worker_start.json").read_text(encoding="utf-8"))
    assert {key for key, _ in worker_start.ROWS} <= set(figures)
    assert figures["state"] == "COMPLETE"


def test_render_without_a_baseline_has_one_column():
    meta = {"repeats": 1, "when": "today", "cpus": 2, "load": 0.5, "shared": True}
    report = worker_start.render({"imports_s": 0.25, "imports_heavy": []}, None, meta)
    assert "| part | seconds |" in report
    assert "| worker imports (`import hpsearch.execution.runner`) | 0.25 |" in report
    assert "another developer shared the machine" in report
    assert "after `import hpsearch.execution.runner`: now: none" in report
