"""Search throughput: hpsearch trials per second at several ``n_jobs``, and their ratio.

A worker process (``python -m studies.benchmarks.throughput --n-jobs N ...``,
started by the benchmark) runs one random search with ``search.run_hpsearch``
(784-100-10 on an MNIST subset, Adam, batch 128, each trial in hpsearch's
own worker processes with one BLAS thread) and prints one JSON line. The
parent collects the records and ``summarize`` turns them into trials per
second, overall and in steady state (from the end of the first trial, so
without the start of the worker pool), and their ratio to ``n_jobs=1``.
"""

from __future__ import annotations

import argparse
import json
import statistics

from studies.benchmarks.search import run_hpsearch
from studies.common import positive_int

ARCH = "784-100-10"


def measure(n_jobs: int, n_trials: int, max_train: int, epochs: int) -> dict:
    """One search's record: wall time, per-trial times and the settings that produced them."""
    timing = run_hpsearch(n_trials, n_jobs, max_train, epochs)
    return {"n_jobs": n_jobs, "n_trials": n_trials, "max_train": max_train, "epochs": epochs,
            "arch": ARCH, **timing}


def _row(n_jobs: int, runs: list[dict]) -> dict:
    good = [r for r in runs if "error" not in r]
    row = {"n_jobs": n_jobs, "runs": len(good), "failed": len(runs) - len(good)}
    if not good:
        return row
    walls = [r["wall"] for r in good]
    steady = statistics.median(r["steady_per_trial"] for r in good)
    n_trials = good[0]["n_trials"]
    row.update(n_trials=n_trials, median_wall_s=statistics.median(walls), min_wall_s=min(walls),
               max_wall_s=max(walls), mean_training_s=statistics.median(r["mean_training"] for r in good),
               first_trial_s=statistics.median(r["first_trial"] for r in good))
    row["trials_per_s"] = n_trials / row["median_wall_s"]
    if n_trials > 1 and steady > 0:  # one trial has no steady state
        row["steady_trials_per_s"] = 1 / steady
    return row


def summarize(runs: list[dict], n_jobs: list[int]) -> list[dict]:
    """One row per ``n_jobs``: medians and min–max of wall time, trials per second, and the
    ratio of trials per second to ``n_jobs=1`` (``speedup``, ``speedup_steady``)."""
    rows = [_row(n, [r for r in runs if r["n_jobs"] == n]) for n in n_jobs]
    base = next((r for r in rows if r["n_jobs"] == 1), {})
    for row in rows:
        if row["n_jobs"] != 1 and "trials_per_s" in row and "trials_per_s" in base:
            row["speedup"] = row["trials_per_s"] / base["trials_per_s"]
            if "steady_trials_per_s" in row and "steady_trials_per_s" in base:
                row["speedup_steady"] = row["steady_trials_per_s"] / base["steady_trials_per_s"]
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m studies.benchmarks.throughput",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--n-jobs", type=positive_int, required=True)
    parser.add_argument("--trials", type=positive_int, required=True)
    parser.add_argument("--max-train", type=positive_int, required=True, help="training images per trial")
    parser.add_argument("--epochs", type=positive_int, required=True)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.n_jobs, args.trials, args.max_train, args.epochs)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
