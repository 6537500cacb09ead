"""Where the first trial's seconds go: worker start, imports, data, training, the quick start.

``python -m studies.benchmarks.worker_start`` measures, each in fresh
subprocesses so that nothing is imported or cached in memory beforehand:

- ``interpreter``: ``python -c pass``;
- ``worker pool``: hpsearch's loky pool up to its first finished call (a
  worker's interpreter and loky's own imports);
- ``worker imports``: ``import hpsearch.execution.runner``, what unpickling a trial
  imports in a worker, and which heavy libraries that loads;
- the digits load after the imports, with the array cache warm and empty;
- a first digits trial as a new worker runs it: its imports, then
  ``runner.execute`` (its wall time, recorded ``duration`` and
  ``worker_startup``), then the same trial again, whose ``duration`` has no
  start-up in it;
- ``run → first trial``: from ``Study.run`` (2 jobs) to the moment the first
  trial's clock starts and to its end;
- the quick start: ``hpsearch run studies/quickstart.toml`` against a
  temporary storage and ``--out`` folder, the whole command and its search
  (first trial created to last trial recorded).

Each figure is the median of ``--repeats`` runs. ``--baseline FILE`` takes the
"before" column from the JSON an earlier run wrote; the report goes to
``results/worker_start.md`` and its numbers to ``results/worker_start.json``
(``--out`` chooses the folder). ``--quick`` runs once with a 4-trial,
3-epoch quick start (for tests: the report's shape, not its numbers).
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
SPEC = ROOT / "studies" / "quickstart.toml"
# Libraries a worker training on digits or a user's memory-mapped data should not import.
HEAVY = ("optuna", "pandas", "sklearn", "scipy", "matplotlib", "hyperopt", "numba", "sqlalchemy")
# One trial of the quick start's space.
PARAMS = {"lr": 0.01, "hidden": [128], "activation": "relu", "batch_size": 32, "l2": 0.0}
ROWS = (  # key, label
    ("interpreter_s", "interpreter start (`python -c pass`)"),
    ("pool_s", "worker pool: start to first call done"),
    ("imports_s", "worker imports (`import hpsearch.execution.runner`)"),
    ("trial_import_s", "first trial: imports"),
    ("data_warm_s", "digits load, array cache warm"),
    ("data_cold_s", "digits load, array cache empty"),
    ("execute_s", "first trial: `execute` wall time"),
    ("duration_s", "first trial: recorded `duration`"),
    ("worker_startup_s", "first trial: recorded `worker_startup`"),
    ("again_duration_s", "the same trial again: recorded `duration`"),
    ("run_to_start_s", "`Study.run` → first trial's clock starts"),
    ("run_to_end_s", "`Study.run` → first trial recorded"),
    ("quickstart_search_s", "quick start: search (first trial created → last recorded)"),
    ("quickstart_command_s", "quick start: whole `hpsearch run` command"),
)


def _heavy_loaded() -> list[str]:
    return [name for name in HEAVY if name in sys.modules]


def child_imports() -> dict:
    """Seconds to import what a worker imports for a trial, and the heavy libraries it pulls in."""
    start = time.perf_counter()
    import hpsearch.execution.runner  # noqa: F401

    return {"imports_s": time.perf_counter() - start, "imports_heavy": _heavy_loaded()}


def _digits_config():
    from hpsearch.objective import ObjectiveConfig

    return ObjectiveConfig(dataset="digits", epochs=60, patience=6,
                           fixed={"optimizer": "adam", "init": "he"})


def child_data() -> dict:
    """Seconds to load the digits as a trial does (after its imports)."""
    from hpsearch import objective

    config = _digits_config()
    start = time.perf_counter()
    objective.load_data(config)
    return {"data_s": time.perf_counter() - start}


def child_first_trial() -> dict:
    """A digits trial as a new worker runs it (imports, then ``execute``), then again."""
    start = time.perf_counter()
    from hpsearch.execution import runner

    imported = time.perf_counter()
    task = runner.TrialTask(0, 0, dict(PARAMS), 0, _digits_config())
    first = runner.execute(task)
    done = time.perf_counter()
    again = runner.execute(task)
    return {"trial_import_s": imported - start, "execute_s": done - imported,
            "duration_s": first.duration, "worker_startup_s": first.record.get("worker_startup"),
            "again_duration_s": again.duration, "state": first.state,
            "trial_heavy": _heavy_loaded()}


def child_pool() -> dict:
    """Seconds from creating hpsearch's worker pool to its first finished call."""
    from hpsearch.execution import runner

    start = time.perf_counter()
    pool = runner.LokyRunner(2)._pool()
    pool.submit(os.getpid).result()
    return {"pool_s": time.perf_counter() - start}


def child_run(n_trials: int = 2) -> dict:
    """From ``Study.run`` (2 jobs) to the first trial's clock start and to its record."""
    from hpsearch.spec import load_spec
    from hpsearch.study import Study

    spec = load_spec(SPEC)
    with tempfile.TemporaryDirectory() as tmp:
        study = Study.from_config("first", spec.config, storage=f"sqlite:///{tmp}/first.db")
        begin = time.time()
        study.run(n_trials=n_trials, n_jobs=2, progress=False)
        trials = study.trials()
    ends = [t.datetime_complete.timestamp() for t in trials]
    starts = [end - t.user_attrs["metrics"]["duration"] for end, t in zip(ends, trials, strict=True)]
    return {"run_to_start_s": min(starts) - begin, "run_to_end_s": min(ends) - begin}


CHILDREN = {"imports": child_imports, "data": child_data, "first_trial": child_first_trial,
            "pool": child_pool, "run": child_run}


def in_fresh_process(part: str, env: dict | None = None) -> dict:
    """Run ``part`` of this module in a new interpreter; returns what it measured."""
    done = subprocess.run([sys.executable, "-m", "studies.benchmarks.worker_start", "--child", part],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, **(env or {})}, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def interpreter_seconds() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - start


def quickstart(quick: bool) -> dict:
    """The quick start's CLI run in a temporary folder: its whole time and its search's."""
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "quickstart.toml"
        spec.write_text(_quick_spec() if quick else SPEC.read_text(encoding="utf-8"), encoding="utf-8")
        db = Path(tmp) / "q.db"
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "hpsearch", "run", str(spec), "--no-progress",
                        "--storage", f"sqlite:///{db}", "--out", str(Path(tmp) / "out")],
                       cwd=tmp, check=True, capture_output=True, text=True, timeout=900)
        command = time.perf_counter() - start
        return {"quickstart_command_s": command, "quickstart_search_s": _search_span(db)}


def _quick_spec() -> str:
    text = SPEC.read_text(encoding="utf-8")
    return text.replace("trials = 40", "trials = 4").replace("epochs = 60", "epochs = 3")


def _search_span(db: Path) -> float:
    import sqlite3

    with sqlite3.connect(db) as con:
        first, last = con.execute("SELECT MIN(datetime_start), MAX(datetime_complete) "
                                  "FROM trials").fetchone()
    return (datetime.fromisoformat(last) - datetime.fromisoformat(first)).total_seconds()


def measure_once(quick: bool) -> dict:
    """Every figure once, each part in fresh processes."""
    figures = {"interpreter_s": interpreter_seconds()}
    figures.update(in_fresh_process("pool"))
    figures.update(in_fresh_process("imports"))
    figures.update(in_fresh_process("first_trial"))
    figures["data_warm_s"] = in_fresh_process("data")["data_s"]
    with tempfile.TemporaryDirectory() as cache:
        figures["data_cold_s"] = in_fresh_process("data", {"NETCORE_CACHE_DIR": cache})["data_s"]
    figures.update(in_fresh_process("run"))
    figures.update(quickstart(quick))
    return figures


def medians(runs: list[dict]) -> dict:
    """The median of every numeric figure over ``runs``; other entries from the last run."""
    merged = dict(runs[-1])
    for key, value in runs[-1].items():
        numbers = [r[key] for r in runs if isinstance(r.get(key), int | float)]
        if isinstance(value, int | float) and not isinstance(value, bool) and numbers:
            merged[key] = statistics.median(numbers)
    return merged


def _cell(value) -> str:
    return "—" if not isinstance(value, int | float) else f"{value:.2f}"


def render(after: dict, before: dict | None, meta: dict) -> str:
    """The Markdown report: one row per figure, before and after when a baseline is given."""
    header = ["part", "before s", "after s"] if before else ["part", "seconds"]
    lines = ["# Worker start-up and the first trial", "",
             f"Median of {meta['repeats']} run(s), {meta['when']}, {meta['cpus']} CPUs, "
             f"load average {meta['load']:.2f} at the start (another developer shared the "
             f"machine when this was run)." if meta["shared"] else
             f"Median of {meta['repeats']} run(s), {meta['when']}, {meta['cpus']} CPUs, "
             f"load average {meta['load']:.2f} at the start.", "",
             "| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for key, label in ROWS:
        cells = [label, _cell(before.get(key)), _cell(after.get(key))] if before \
            else [label, _cell(after.get(key))]
        lines.append("| " + " | ".join(cells) + " |")
    if before:
        lines += ["", f"The before column is {meta['baseline']}: the same script, run on the "
                  "code before worker start-up was cut."]
    lines += ["", "Heavy libraries loaded in a worker:", ""]
    for key, label in (("imports_heavy", "after `import hpsearch.execution.runner`"),
                       ("trial_heavy", "after a first digits trial")):
        was = f"before: {', '.join(before.get(key) or []) or 'none'}; " if before else ""
        lines.append(f"- {label}: {was}now: {', '.join(after.get(key) or []) or 'none'}")
    return "\n".join(lines) + "\n"


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one run, a 4-trial quick start")
    parser.add_argument("--baseline", type=Path, help="JSON of an earlier run: the 'before' column")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--shared", action="store_true", help="note that the machine was shared")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.child:
        print(json.dumps(CHILDREN[args.child]()))
        return 0
    repeats = 1 if args.quick else args.repeats
    meta = {"repeats": repeats, "cpus": os.cpu_count(), "load": os.getloadavg()[0],
            "when": datetime.now(UTC).strftime("%Y-%m-%d"), "shared": args.shared,
            "baseline": args.baseline.name if args.baseline else None}
    after = medians([measure_once(args.quick) for _ in range(repeats)])
    before = json.loads(args.baseline.read_text(encoding="utf-8")) if args.baseline else None
    report = render(after, before, meta)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "worker_start.md").write_text(report, encoding="utf-8")
    (args.out / "worker_start.json").write_text(json.dumps(after, indent=1), encoding="utf-8")
    print(report, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
