"""What live learning curves cost a search: the same digits search with and without them.

``python -m studies.benchmarks.curves`` runs the quick start's 40-trial digits
search (TPE, 2 jobs, its space, epochs and patience) on a fresh SQLite storage,
in pairs with curves (the default: every trial's monitored metric per epoch
written as Optuna intermediate values, relayed live once a trial runs past a second) and
without them (``HPSEARCH_CURVE_INTERVAL=off``), each pair in the other order than
the one before, each run in a fresh process. It
reports the median search time of ``--repeats`` runs of each (default 5), their
ratio, the median ratio of the alternated pairs, the driver's CPU seconds, and
what the curves wrote (steps, and the trials that wrote live). The
report goes to ``results/curves.md``, its numbers to ``results/curves.json``
(``--out`` chooses the folder). ``--quick``: 8 trials, one run of each (the
report's shape, not its numbers). It takes about 3 minutes on 2 idle cores (up to
20 minutes on a loaded machine).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = Path(__file__).resolve().parent / "results"

CHILD = """
import json, resource, sys, time
import hpsearch
from hpsearch.spec import load_spec

spec = load_spec(sys.argv[1])
study = hpsearch.Study.from_config("bench", spec.config, storage=sys.argv[2])
def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

# Every curve write is the driver's (the relay thread's and the results'): time them.
import hpsearch.storages.curves as curves, hpsearch.storages.records as records
spent, write = [0.0], curves.write_steps

def timed(*args):
    begin = time.perf_counter()
    try:
        return write(*args)
    finally:
        spent[0] += time.perf_counter() - begin

curves.write_steps = records.write_steps = timed

start, cpu_start = time.perf_counter(), cpu()
study.run(n_trials=int(sys.argv[3]), n_jobs=2, progress=False)
seconds, driver_cpu = time.perf_counter() - start, cpu() - cpu_start
trials = study.trials()
steps = sum(len(t.intermediate_values) for t in trials)
live = sum(1 for t in trials if (t.duration.total_seconds() if t.duration else 0) > 1.0)
print(json.dumps({"search_s": seconds, "driver_cpu_s": driver_cpu, "writing_s": spent[0],
                  "steps": steps, "trials": len(trials),
                  "trials_over_1s": live}))
"""


def _run(curves: bool, trials: int) -> dict:
    """One search in a fresh process; its seconds and what it wrote."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("HPSEARCH_CURVE_INTERVAL", None)
    if not curves:
        env["HPSEARCH_CURVE_INTERVAL"] = "off"
    with tempfile.TemporaryDirectory() as folder:
        storage = f"sqlite:///{folder}/bench.db"
        done = subprocess.run([sys.executable, "-c", CHILD, str(ROOT / "studies" /
                                                                "quickstart.toml"),
                               storage, str(trials)], capture_output=True, text=True,
                              env=env, cwd=folder, timeout=1200, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(trials: int, repeats: int) -> dict:
    """``repeats`` pairs of runs, each pair in the other order than the one before
    (without then with, with then without, ...): a load that grows or falls during the
    benchmark favours neither side."""
    runs: dict[str, list[dict]] = {"without": [], "with": []}
    load = os.getloadavg()[0]
    for repeat in range(repeats):
        for curves_on in ((False, True) if repeat % 2 == 0 else (True, False)):
            runs["with" if curves_on else "without"].append(_run(curves_on, trials))
    median = {k: statistics.median(r["search_s"] for r in v) for k, v in runs.items()}
    cpu = {k: statistics.median(r["driver_cpu_s"] for r in v) for k, v in runs.items()}
    pairs = [w["search_s"] / o["search_s"] for w, o in zip(runs["with"], runs["without"],
                                                             strict=True)]
    return {"driver_cpu_s": cpu, "pair_ratios": pairs,
            "pair_ratio": statistics.median(pairs),
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "trials": trials,
            "repeats": repeats, "cpus": os.cpu_count(), "load_start": load,
            "load_end": os.getloadavg()[0], "runs": runs, "median_s": median,
            "ratio": median["with"] / median["without"]}


def report(numbers: dict) -> str:
    with_runs = numbers["runs"]["with"]
    lines = [
        "# What live learning curves cost a search", "",
        f"The quick start's {numbers['trials']}-trial digits search (TPE, 2 jobs), median of "
        f"{numbers['repeats']} run(s) of each, in pairs whose order alternates, each in a "
        "fresh process; "
        f"{numbers['date']}, {numbers['cpus']} CPUs, load average "
        f"{numbers['load_start']:.2f} at the start and {numbers['load_end']:.2f} at the end "
        "(other jobs shared the machine).", "",
        "| search | median s | each run s | driver CPU s (median) |", "|---|---|---|---|"]
    for key, label in (("without", "without curves (`HPSEARCH_CURVE_INTERVAL=off`)"),
                       ("with", "with curves (the default)")):
        each = ", ".join(f"{r['search_s']:.2f}" for r in numbers["runs"][key])
        lines.append(f"| {label} | {numbers['median_s'][key]:.2f} | {each} | "
                     f"{numbers['driver_cpu_s'][key]:.2f} |")
    pairs = ", ".join(f"{r:.2f}" for r in numbers["pair_ratios"])
    lines += ["", f"**with / without: {numbers['ratio']:.3f}** for the medians "
                  f"({(numbers['ratio'] - 1) * 100:+.1f} %; target at most +5 %); "
                  f"{numbers['pair_ratio']:.3f} for the median of the alternated pairs' "
                  f"ratios ({pairs}). The driver's CPU seconds (the relay thread and every "
                  "write are the driver's; a worker only appends a few lines to a file) "
                  "are the figure least moved by other jobs.", "",
              "Seconds the driver spent writing curves in each search with them: "
              + ", ".join(f"{r['writing_s']:.3f}" for r in with_runs)
              + " (in the relay thread and before each result; the search's own time "
              "beside it is the table's).", "",
              f"With curves each search wrote {with_runs[-1]['steps']} intermediate values "
              f"for {with_runs[-1]['trials']} trials; "
              f"{with_runs[-1]['trials_over_1s']} trial(s) ran past a second, so their "
              "curves were relayed to the storage while they trained (the others' curves "
              "are written by the driver with their results).", "",
              "Command: `python -m studies.benchmarks.curves` (about 3 minutes on 2 idle cores;"
              " `--quick` for a short check of the report's shape)."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--quick", action="store_true", help="8 trials, one run of each")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    trials, repeats = (8, 1) if args.quick else (args.trials, args.repeats)
    start = time.perf_counter()
    numbers = measure(trials, repeats)
    numbers["benchmark_s"] = time.perf_counter() - start
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "curves.json").write_text(json.dumps(numbers, indent=2) + "\n")
    (args.out / "curves.md").write_text(report(numbers))
    print(report(numbers))


if __name__ == "__main__":
    main()
