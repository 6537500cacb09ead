"""``python -m studies.benchmarks --quick`` runs every part end to end and writes its report.

Only the presence of figures is checked (positive numbers), never wall-clock values.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEADER = ("| arch | threads | framework | median s | min–max s | netcore / peer | GFLOP/s | of peak "
          "| peak RSS MiB | other load | runs |")
GEMM_HEADER = "| arch | threads | step GFLOP | peak ms / step | peak GFLOP/s |"
SEARCH_HEADER = ("| n_jobs | trials | median wall s | min–max s | trials/s | steady trials/s "
                 "| mean trial s | trials/s vs n_jobs=1 | steady vs n_jobs=1 | runs |")


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "studies.benchmarks", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    out = tmp_path_factory.mktemp("benchmarks")
    return _run("--quick", "--out", str(out)), out


@pytest.mark.slow
def test_quick_run_writes_every_part(mnist_available, quick_run):
    done, out = quick_run
    assert done.returncode == 0, done.stderr
    markdown = (out / "epoch.md").read_text(encoding="utf-8")
    assert markdown in done.stdout
    for text in (HEADER, "| arch | threads | netcore / netcore-numpy | netcore / sklearn |",
                 "GFLOP/s counts only the GEMMs",
                 "## GEMM peak", GEMM_HEADER, "| 784-100-10 | 1 | 0.0409 |",
                 "| square 1024×1024×1024 | 1 |", "## Search throughput", SEARCH_HEADER, "## Targets"):
        assert text in markdown
    assert "784-100-10, 1 thread(s), netcore epoch time / sklearn" in markdown
    assert "- Adam step: netcore numba " in markdown and "; netcore-numpy numpy" in markdown
    assert str(out) not in markdown and str(ROOT) not in markdown  # no paths of this machine


@pytest.mark.slow
def test_quick_run_json_has_every_figure(mnist_available, quick_run):
    done, out = quick_run
    assert done.returncode == 0, done.stderr
    results = json.loads((out / "epoch.json").read_text(encoding="utf-8"))
    assert results["config"]["parts"] == ["gemm", "epoch", "search"]
    rows = {row["framework"]: row for row in results["summary"]}
    assert set(rows) == {"netcore", "netcore-numpy", "sklearn"}
    for row in rows.values():
        assert row["arch"] == "784-100-10" and row["threads"] == 1 and row["runs"] == 1
        assert {"median_s", "min_s", "max_s", "peak_rss_mb"} <= set(row)
        assert row["epoch_gflop"] == pytest.approx(5000 * 0.0409088 / 128)
        assert row["gflops"] > 0 and row["peak_gflops"] > 0 and row["fraction_of_peak"] > 0
    assert "netcore_over_peer" in rows["sklearn"] and "netcore_over_peer" not in rows["netcore"]
    steps = {run["framework"]: run.get("adam_step") for run in results["runs"]}
    assert steps["netcore-numpy"] == "numpy" and steps["sklearn"] is None
    assert steps["netcore"].startswith("numba ")  # numba comes with the test extra
    for run in results["runs"]:
        assert run["n_train"] == 5000 and run["param_dtype"] == "float32"
        assert all(pool["num_threads"] == 1 for pool in run["thread_pools"])

    (step,), (square,) = results["gemm"]["steps"], results["gemm"]["square"]
    assert step["arch"] == "784-100-10" and step["peak_gflops"] > 0 and step["peak_step_ms"] > 0
    assert square["n"] == 1024 and square["gflops"] > 0
    assert all(pool["num_threads"] == 1 for pool in results["gemm"]["runs"][0]["thread_pools"])

    one, two = results["search"]["summary"]
    assert (one["n_jobs"], two["n_jobs"]) == (1, 2)
    for row in (one, two):
        assert row["n_trials"] == 4 and row["median_wall_s"] > 0 and row["mean_training_s"] > 0
        assert row["trials_per_s"] > 0 and row["steady_trials_per_s"] > 0
    assert two["speedup"] > 0 and two["speedup_steady"] > 0
    assert {"value", "met", "applies"} <= set(results["targets"]["search_speedup"])
    ratio = results["targets"]["epoch_ratios"][0]  # the quick run: netcore / sklearn
    assert (ratio["peer"], ratio["target"]) == ("sklearn", 0.4) and ratio["value"] > 0


@pytest.mark.parametrize(("args", "message"), [
    (["--skip", "gemm", "epoch", "search"], "--skip leaves nothing to measure"),
    (["--skip", "everything"], "argument --skip: invalid choice: 'everything'"),
    (["--frameworks", "sklearn"], "--frameworks must include netcore"),
    (["--gemm-repeats", "0"], "must be a positive integer, got '0'"),
])
def test_bad_options_are_argparse_errors(args, message):
    done = _run(*args)
    assert done.returncode == 2 and message in done.stderr
