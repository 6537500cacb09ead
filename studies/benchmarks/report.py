"""Summaries of the benchmark: medians, ranges, ratios, GFLOP/s, throughput, as Markdown and JSON."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from studies.benchmarks import markdown, peak, plan, throughput
from studies.benchmarks.gemm import epoch_flops, format_widths, parse_widths
from studies.benchmarks.worker import thread_pools

# The targets the benchmark checks: netcore's share of the 1-thread GEMM peak on a mid-sized
# net, and the search's scaling from one worker to two when trials are long enough.
GEMM_TARGET = {"framework": "netcore", "arch": "784-256-128-10", "threads": 1, "target": 0.75}
SEARCH_TARGET = {"n_jobs": 2, "target": 1.8, "min_trial_s": 1.0}
# The most netcore's median epoch time may be, as a fraction of each peer's, at 1 and 2 threads.
_SMALL_NET = {"torch": 0.5, "torch-fused": 0.7, "sklearn": 0.4}
RATIO_TARGETS = {"784-100-10": _SMALL_NET, "784-256-128-10": _SMALL_NET,
                 "784-1024-1024-10": {"torch-fused": 0.85, "sklearn": 0.4}}


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment() -> dict:
    """The machine and the numerical stack the parent sees (workers add their own versions)."""
    return {
        "cpu": _cpu_model(), "logical_cpus": os.cpu_count(), "python": platform.python_version(),
        "numpy": np.__version__, "numpy_thread_pools": thread_pools(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "unset"),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _summary_row(arch: str, threads: int, framework: str, runs: list[dict]) -> dict:
    good = [r for r in runs if "error" not in r]
    times = [r["seconds"] for r in good]
    loads = [r["other_load_cores"] for r in good if r.get("other_load_cores") is not None]
    row = {"arch": arch, "threads": threads, "framework": framework, "runs": len(good),
           "failed": len(runs) - len(good), "max_other_load": max(loads, default=None),
           "remeasured": sum(r.get("attempts", 1) - 1 for r in runs)}
    if times:
        row.update(median_s=statistics.median(times), min_s=min(times), max_s=max(times),
                   peak_rss_mb=max(r["peak_rss_mb"] for r in good),
                   median_loss=statistics.median(r["loss"] for r in good))
        flops = epoch_flops(parse_widths(arch), good[0]["n_train"], good[0]["batch_size"])
        row.update(epoch_gflop=flops / 1e9, gflops=flops / row["median_s"] / 1e9)
    return row


def _add_fraction(row: dict, peaks: dict[tuple[str, int], float]) -> None:
    """``fraction_of_peak``: achieved GFLOP/s over the GEMM peak of the same arch and threads."""
    best = peaks.get((row["arch"], row["threads"]))
    if best and "gflops" in row:
        row.update(peak_gflops=best, fraction_of_peak=row["gflops"] / best)


def summarize(runs: list[dict], archs: list[str], threads: list[int], frameworks: list[str],
              peaks: list[dict] = ()) -> list[dict]:
    """One row per (arch, threads, framework): medians, netcore's ratio to it, GFLOP/s and
    their fraction of the GEMM peak (when ``peaks``, rows of ``peak.summarize``, has it)."""
    by_key = {(p["arch"], p["threads"]): p["peak_gflops"] for p in peaks}
    rows = []
    for arch in archs:
        for n in threads:
            block = [_summary_row(arch, n, fw, [r for r in runs if (r["arch"], r["threads"],
                                                                    r["framework"]) == (arch, n, fw)])
                     for fw in frameworks]
            ours = next((r.get("median_s") for r in block if r["framework"] == "netcore"), None)
            best = next((r.get("min_s") for r in block if r["framework"] == "netcore"), None)
            for row in block:
                if row["framework"] != "netcore" and ours and row.get("median_s"):
                    row["netcore_over_peer"] = ours / row["median_s"]
                    row["netcore_over_peer_min"] = best / row["min_s"]
            for row in block:
                _add_fraction(row, by_key)
            rows += block
    return rows


def targets(summary: list[dict], search_summary: list[dict]) -> dict:
    """Each target with its measured value and whether it is met (no value: not measured)."""
    gemm, search = dict(GEMM_TARGET), dict(SEARCH_TARGET)
    key = (gemm["arch"], gemm["threads"], gemm["framework"])
    row = next((r for r in summary if (r["arch"], r["threads"], r["framework"]) == key), {})
    if "fraction_of_peak" in row:
        gemm.update(value=row["fraction_of_peak"], met=row["fraction_of_peak"] >= gemm["target"])
    rows = {r["n_jobs"]: r for r in search_summary}
    row, base = rows.get(search["n_jobs"], {}), rows.get(1, {})
    if "speedup" in row:
        steady = row.get("speedup_steady")
        search.update(value=row["speedup"], steady=steady, trial_s=base["mean_training_s"],
                      applies=base["mean_training_s"] >= search["min_trial_s"],
                      met=row["speedup"] >= search["target"],
                      met_steady=steady is not None and steady >= search["target"])
    return {"gemm_fraction": gemm, "search_speedup": search, "epoch_ratios": ratio_targets(summary)}


def ratio_targets(summary: list[dict]) -> list[dict]:
    """netcore / peer against its target for every measured row that has one."""
    checks = []
    for row in summary:
        target = RATIO_TARGETS.get(row["arch"], {}).get(row["framework"])
        if target is not None and "netcore_over_peer" in row:
            checks.append({"arch": row["arch"], "threads": row["threads"], "peer": row["framework"],
                           "target": target, "value": row["netcore_over_peer"],
                           "met": row["netcore_over_peer"] <= target})
    return checks


def _summaries(results: dict) -> None:
    """(Re)compute every summary of ``results`` from its raw runs."""
    cfg = results["config"]
    results["gemm"].update(peak.summarize(results["gemm"]["runs"]))
    results["summary"] = summarize(results["runs"], cfg["archs"], cfg["threads"], cfg["frameworks"],
                                   results["gemm"]["steps"])
    results["search"]["summary"] = throughput.summarize(results["search"]["runs"],
                                                        cfg["search"]["n_jobs"])
    results["targets"] = targets(results["summary"], results["search"]["summary"])


def build(args: argparse.Namespace, frameworks: list[str], skipped: dict[str, str],
          runs: dict[str, list[dict]], planned: dict[str, int]) -> dict:
    """Everything written out: settings, environment, summaries and every raw run, by part."""
    archs = [format_widths(sizes) for sizes in args.arch]
    versions = {r["framework"]: r["version"] for r in runs["epoch"] if "version" in r}
    config = {"parts": [p for p in plan.PARTS if p not in args.skip], "archs": archs,
              "threads": args.threads, "frameworks": frameworks,
              "repeats": args.repeats, "n_train": args.n_train, "batch_size": args.batch_size,
              "warmup_batches": args.warmup_batches, "seed": args.seed, "planned": planned["epoch"],
              "quiet_threshold": args.quiet_threshold, "retries": args.retries, "optimizer": "adam",
              "lr": 1e-3, "dtype": "float32", "activation": "relu", "loss": "softmax cross-entropy",
              "gemm": {"planned": planned["gemm"], "repeats": args.gemm_repeats, "square": args.square},
              "search": {"planned": planned["search"], "n_jobs": args.search_jobs,
                         "n_trials": args.search_trials, "max_train": args.search_max_train,
                         "epochs": args.search_epochs, "repeats": args.search_repeats,
                         "arch": throughput.ARCH}}
    results = {"config": config, "environment": {**environment(), "versions": versions},
               "skipped": skipped, "summary": [], "runs": runs["epoch"],
               "gemm": {"runs": runs["gemm"]}, "search": {"runs": runs["search"]}}
    _summaries(results)
    return results


def complete(results: dict) -> bool:
    """True when every planned measurement of every part was taken and none failed."""
    cfg = results["config"]
    parts = [(results["runs"], cfg["planned"]), (results["gemm"]["runs"], cfg["gemm"]["planned"]),
             (results["search"]["runs"], cfg["search"]["planned"])]
    return all(len(runs) >= planned and not any("error" in r for r in runs) for runs, planned in parts)


def write(results: dict, out: Path) -> list[Path]:
    """Write ``epoch.md`` and ``epoch.json`` into ``out`` (its other files stay); return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    md_path, json_path = out / "epoch.md", out / "epoch.json"
    md_path.write_text(markdown.render(results), encoding="utf-8")
    json_path.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return [md_path, json_path]


def rerender(json_path: Path) -> dict:
    """Results read back from an ``epoch.json`` and summarized again.

    Files written before the GEMM-peak and search parts existed read as epoch-only runs.
    """
    results = json.loads(json_path.read_text(encoding="utf-8"))
    cfg = results["config"]
    cfg.setdefault("planned", len(results["runs"]))
    cfg.setdefault("parts", ["epoch"])
    cfg.setdefault("gemm", {"planned": 0})
    cfg.setdefault("search", {"planned": 0, "n_jobs": []})
    results.setdefault("gemm", {"runs": []})
    results.setdefault("search", {"runs": []})
    _summaries(results)
    return results
