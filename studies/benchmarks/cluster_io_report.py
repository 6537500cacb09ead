"""The cluster I/O benchmark's report: bytes per trial in the shared folder, as Markdown and JSON."""

from __future__ import annotations

import json
from pathlib import Path

MIB = 2**20
COLUMNS = ("case", "trials", "data copy MiB (once)", "worker writes KiB / trial",
           "worker reads KiB / trial", "data mapped MiB / worker (once)", "driver reads KiB / trial",
           "opens / trial", "unlinks / trial", "folder after MiB")


def _per_trial(row: dict, who: str, prefix: str, unit: int) -> float:
    counts = row["io"].get(who, {})
    total = sum(v for k, v in counts.items() if k.startswith(prefix))
    return total / unit / max(1, row["trials"])


def _mapped_per_worker(row: dict) -> float:
    counts = row["io"].get("workers", {})
    return counts.get("mapped_data", 0) / MIB / max(1, counts.get("processes_mapping_data", 0))


def _calls(row: dict, name: str) -> float:
    return sum(c.get(name, 0) for c in row["io"].values()) / max(1, row["trials"])


def _cells(row: dict) -> list[str]:
    after = row["folder_after"]
    return [row["case"], str(row["trials"]), f"{after.get('data', 0) / MIB:.2f}",
            f"{_per_trial(row, 'workers', 'written_', 1024):.1f}",
            f"{_per_trial(row, 'workers', 'read_', 1024):.1f}",
            f"{_mapped_per_worker(row):.2f}",
            f"{_per_trial(row, 'driver', 'read_', 1024):.1f}",
            f"{_calls(row, 'opens'):.1f}", f"{_calls(row, 'unlinks'):.1f}",
            f"{sum(after.values()) / MIB:.2f}"]


def _detail(row: dict) -> str:
    parts = [f"{who}: " + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items()))
             for who, counts in sorted(row["io"].items())]
    return f"- {row['case']}: " + "; ".join(parts)


def render(results: dict) -> str:
    header = list(COLUMNS)
    lines = ["# What a trial reads and writes in the shared folder", "",
             "Counted from the system calls (`strace -f`) of a study's driver and its 2 loky "
             "workers on the files of the study's artifacts folder (`<storage>.artifacts/`, or "
             "`$HPSEARCH_ARTIFACTS` for a database server): the folder that workers on several "
             "machines must share. An asha row's trials are its jobs. `data mapped` is the "
             "length of the data files a worker memory-maps, once per worker process and study "
             "(it reads the pages it touches through the mapping); `reads` and `writes` are "
             "`read`/`write` calls, per trial of the study. Nothing in hpsearch was instrumented.", "",
             "| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cells(r)) + " |" for r in results["rows"]]
    lines += ["", "Bytes by folder (`models`, `checkpoints`, `data`) and by process:", ""]
    lines += [_detail(r) for r in results["rows"]]
    lines += ["", f"Measured {results['when']} on {results['cpus']} CPUs. Re-run: "
              "`python -m studies.benchmarks.cluster_io` (13 minutes under strace on the shared "
              "2-core machine).", ""]
    return "\n".join(lines)


def write_report(results: dict, out: Path) -> None:
    """``cluster_io.md`` and ``cluster_io.json`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "cluster_io.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    (out / "cluster_io.md").write_text(render(results), encoding="utf-8")
