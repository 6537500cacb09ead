"""Summaries of the epoch benchmark: medians, ranges, ratios, as Markdown and JSON."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from studies.benchmarks.worker import thread_pools

SUMMARY_COLUMNS = ("arch", "threads", "framework", "median s", "min–max s", "netcore / peer",
                   "peak RSS MiB", "other load", "runs")


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
    return row


def summarize(runs: list[dict], archs: list[str], threads: list[int], frameworks: list[str]) -> list[dict]:
    """One row per (arch, threads, framework) with netcore's ratio of medians to it."""
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
            rows += block
    return rows


def build(args: argparse.Namespace, frameworks: list[str], skipped: dict[str, str],
          runs: list[dict], planned: int) -> dict:
    """Everything written out: settings, environment, summary rows and every raw run."""
    archs = ["-".join(map(str, sizes)) for sizes in args.arch]
    versions = {r["framework"]: r["version"] for r in runs if "version" in r}
    config = {"archs": archs, "threads": args.threads, "frameworks": frameworks,
              "repeats": args.repeats, "n_train": args.n_train, "batch_size": args.batch_size,
              "warmup_batches": args.warmup_batches, "seed": args.seed, "planned": planned,
              "quiet_threshold": args.quiet_threshold, "retries": args.retries, "optimizer": "adam",
              "lr": 1e-3, "dtype": "float32", "activation": "relu", "loss": "softmax cross-entropy"}
    return {"config": config, "environment": {**environment(), "versions": versions},
            "skipped": skipped, "summary": summarize(runs, archs, args.threads, frameworks),
            "runs": runs}


def _cells(row: dict) -> list[str]:
    if "median_s" not in row:
        return [row["arch"], str(row["threads"]), row["framework"], "failed", "", "", "", "",
                f"0 ({row['failed']} failed)"]
    ratio, load = row.get("netcore_over_peer"), row["max_other_load"]
    runs = str(row["runs"]) + (f" ({row['failed']} failed)" if row["failed"] else "")
    return [row["arch"], str(row["threads"]), row["framework"], f"{row['median_s']:.3f}",
            f"{row['min_s']:.3f}–{row['max_s']:.3f}", "—" if ratio is None else f"{ratio:.2f}",
            f"{row['peak_rss_mb']:.0f}", "n/a" if load is None else f"{load:.2f}", runs]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(cells) + " |" for cells in rows]


def _ratio_cell(row: dict) -> str:
    if row.get("netcore_over_peer") is None:
        return "—"
    return f"{row['netcore_over_peer']:.2f} ({row['netcore_over_peer_min']:.2f})"


def _ratio_table(results: dict) -> list[str]:
    """arch × threads rows, one column of netcore / peer per peer: medians (minima)."""
    peers = [fw for fw in results["config"]["frameworks"] if fw != "netcore"]
    rows = []
    for arch in results["config"]["archs"]:
        for n in results["config"]["threads"]:
            by_fw = {r["framework"]: r for r in results["summary"] if (r["arch"], r["threads"]) == (arch, n)}
            rows.append([arch, str(n), *(_ratio_cell(by_fw[p]) for p in peers)])
    return _table(["arch", "threads", *(f"netcore / {p}" for p in peers)], rows)


def _environment_lines(results: dict) -> list[str]:
    env, versions = results["environment"], results["environment"]["versions"]
    blas = "; ".join(f"{p['internal_api']} {p['version']} ({p.get('architecture') or 'n/a'} kernels)"
                     for p in env["numpy_thread_pools"])
    lines = [f"- CPU: {env['cpu']}, {env['logical_cpus']} logical CPUs; {env['date']}",
             f"- Python {env['python']}, numpy {env['numpy']} with {blas}; "
             f"OPENBLAS_CORETYPE {env['OPENBLAS_CORETYPE']}",
             "- " + ", ".join(f"{fw} {v}" for fw, v in sorted(versions.items()))]
    lines += [f"- skipped {fw}: {why}" for fw, why in results["skipped"].items()]
    lines += [f"- failed: {r['arch']} threads={r['threads']} {r['framework']}: {r['error']}"
              for r in results["runs"] if "error" in r]
    remeasured = sum(row["remeasured"] for row in results["summary"])
    if remeasured:
        lines.append(f"- {remeasured} measurement(s) were taken again because other processes "
                     f"used {results['config']['quiet_threshold']:g} cores or more during them")
    return lines


def to_markdown(results: dict) -> str:
    """The report: what was measured, seconds per epoch, the ratios, the environment."""
    cfg = results["config"]
    intro = (f"One MNIST training epoch: {cfg['n_train']:,} training images, batch {cfg['batch_size']}, "
             f"Adam (lr {cfg['lr']:g}), {cfg['dtype']}, ReLU, softmax cross-entropy, shuffled "
             "minibatches, no validation pass. Each time is one epoch in a fresh worker process "
             f"after an untimed warm-up of {cfg['warmup_batches']} batches; {cfg['repeats']} "
             "repetition(s), framework order rotated between them. `netcore / peer` is the ratio "
             "of median epoch times: above 1 netcore is slower. Peak RSS is the worker's "
             "high-water mark, MNIST loading included. Other load is the most CPU (in cores) that "
             "other processes on the machine used during one of the row's measurements; a "
             f"measurement during which they used {cfg['quiet_threshold']:g} cores or more was "
             f"taken again, up to {cfg['retries']} times.")
    if len(results["runs"]) < cfg["planned"]:
        intro += (f"\n\n**Partial run: {len(results['runs'])} of the {cfg['planned']} planned "
                  "measurements were taken.**")
    lines = ["# Epoch time: netcore and its peers", "", intro, "", "## Seconds per epoch", "",
             *_table(list(SUMMARY_COLUMNS), [_cells(r) for r in results["summary"]]), "",
             "## netcore / peer: ratio of medians (ratio of minima)", "", *_ratio_table(results), "",
             "## Environment", "", *_environment_lines(results)]
    return "\n".join(lines) + "\n"


def write(results: dict, out: Path) -> list[Path]:
    """Write ``epoch.md`` and ``epoch.json`` into ``out`` (its other files stay); return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    md_path, json_path = out / "epoch.md", out / "epoch.json"
    md_path.write_text(to_markdown(results), encoding="utf-8")
    json_path.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return [md_path, json_path]


def rerender(json_path: Path) -> dict:
    """Results read back from an ``epoch.json`` and summarized again."""
    results = json.loads(json_path.read_text(encoding="utf-8"))
    cfg = results["config"]
    cfg.setdefault("planned", len(results["runs"]))
    results["summary"] = summarize(results["runs"], cfg["archs"], cfg["threads"], cfg["frameworks"])
    return results
