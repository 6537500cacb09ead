"""``python -m studies.benchmarks --quick`` runs end to end and writes its report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEADER = ("| arch | threads | framework | median s | min–max s | netcore / peer | peak RSS MiB | other load "
          "| runs |")


@pytest.mark.slow
def test_quick_run_writes_markdown_and_json(mnist_available, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "studies.benchmarks", "--quick", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    markdown = (tmp_path / "epoch.md").read_text(encoding="utf-8")
    assert HEADER in markdown and "| arch | threads | netcore / sklearn |" in markdown
    assert markdown in done.stdout

    results = json.loads((tmp_path / "epoch.json").read_text(encoding="utf-8"))
    rows = {row["framework"]: row for row in results["summary"]}
    assert set(rows) == {"netcore", "sklearn"}
    for row in rows.values():
        assert row["arch"] == "784-100-10" and row["threads"] == 1 and row["runs"] == 1
        assert {"median_s", "min_s", "max_s", "peak_rss_mb"} <= set(row)
    assert "netcore_over_peer" in rows["sklearn"] and "netcore_over_peer" not in rows["netcore"]
    for run in results["runs"]:
        assert run["n_train"] == 5000 and run["param_dtype"] == "float32"
        assert all(pool["num_threads"] == 1 for pool in run["thread_pools"])
