"""Per-trial overhead: where a tiny trial's time goes, and how it grows with the study.

``python -m studies.benchmarks.overhead`` runs studies of tiny trials (wine, one
epoch, 2 workers) in fresh subprocesses and reports per trial:

- **storages × strategies**: random and TPE on SQLite, a journal file and
  PostgreSQL (a throwaway server, skipped when none can start), each against
  Optuna's bare ``create_study(...).optimize(lambda t: t.suggest_float("x", 0, 1))``
  on the same kind of storage in the same subprocess: the floor of an Optuna
  study's own bookkeeping, and the ratio to it;
- **where the driver's time goes**: sampling, claims, trial creation, result
  writes, model pruning, syncs, stale recovery (the heartbeat's work) and task
  submission, timed by wrapping those functions in the benchmark's own process
  (nothing is timed in a normal run, so it costs nothing there);
- **where a worker's time goes**: task decode, data open, model build, training,
  test evaluation, model save and result encoding, from the same tasks run in process;
- **growth**: random on SQLite at increasing sizes, the time per trial in the
  first and the last tenth of the run and the driver's resident memory;
- **reading a large study**: ``results()``, ``leaderboard()`` and ``hpsearch show``
  on the largest study, and TPE's sampling time per trial with that history.

The time per trial is the steady one: between the first and the last trial's
completion, so that start-up (workers, imports) is not in it. The overhead is
that time minus the trial's own training time over the 2 workers.

Writes ``results/overhead.md`` and ``results/overhead.json`` (``--out`` picks the
folder). ``--quick`` runs tiny sizes (for tests: the report's shape, never its
numbers). ``--parts growth --sizes 10000`` runs one part or size again and keeps
the other rows of the last run. The full run takes about 35 minutes on 2 heavily
loaded cores (each study is bounded to 40 minutes by its subprocess's timeout).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = Path(__file__).resolve().parent / "results"
N_JOBS = 2
STORAGES = ("sqlite", "journal", "postgresql")
STRATEGIES = ("random", "tpe")
DRIVER_PARTS = (  # key, label
    ("sampling", "sampling (strategy ask)"),
    ("tell", "strategy tell"),
    ("claim", "claim bookkeeping (lock, counter, queue)"),
    ("create", "trial creation (RUNNING record)"),
    ("finish", "result write (metrics, state)"),
    ("prune", "model pruning (keep the best files)"),
    ("sync", "sync with the storage"),
    ("recover", "heartbeat: stale-trial recovery"),
    ("submit", "task submit (pickling, queue)"),
)
WORKER_PARTS = (
    ("decode", "task decode (unpickle)"),
    ("data", "data open (cached after the first)"),
    ("build", "model build"),
    ("train", "training (1 epoch)"),
    ("evaluate", "test evaluation and record"),
    ("save", "model save"),
    ("encode", "result encode (pickle)"),
)
CHILD_TIMEOUT = 2400


# ---------------------------------------------------------------- timers


class Timers:
    """Seconds and calls per part, from functions wrapped in this process only."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._undo: list = []

    def wrap(self, owner, name: str, key: str) -> None:
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[key] = self.seconds.get(key, 0.0) + time.perf_counter() - start
                self.calls[key] = self.calls.get(key, 0) + 1

        setattr(owner, name, timed)
        self._undo.append((owner, name, original))

    def restore(self) -> None:
        for owner, name, original in reversed(self._undo):
            setattr(owner, name, original)
        self._undo.clear()


def rss_mb() -> float:
    """This process's resident memory now, in MiB."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


# ---------------------------------------------------------------- a study of tiny trials


def wine():
    from sklearn.datasets import load_wine

    import netcore

    return netcore.Dataset.from_arrays(*load_wine(return_X_y=True), val=0.2, test=0.2, seed=0)


def _space():
    from hpsearch import space

    return {"lr": space.log_float(1e-4, 1e-1), "hidden": space.choice([[16], [32], [64]]),
            "activation": space.choice(["relu", "tanh"])}


def storage_url(kind: str, folder: Path, server: str | None, name: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{folder / name}.db"
    if kind == "journal":
        return f"journal:///{folder / name}.log"
    return server


def _driver_timers(strategy: str, memory: list) -> Timers:
    from hpsearch.execution import loop, runner
    from hpsearch.storages import records
    from hpsearch.strategies import STRATEGIES as KNOWN

    timers = Timers()
    cls = type(KNOWN[strategy]) if not isinstance(KNOWN[strategy], type) else KNOWN[strategy]
    timers.wrap(cls, "ask", "sampling")
    timers.wrap(cls, "tell", "tell")
    timers.wrap(loop.RunLoop, "_claim", "claim_total")
    timers.wrap(records, "create_running", "create")
    timers.wrap(records, "finish", "finish")
    timers.wrap(loop, "prune_models", "prune")
    timers.wrap(loop.RunLoop, "_sync", "sync")
    timers.wrap(loop.recovery, "recover_stale", "recover")
    timers.wrap(runner.LokyRunner, "submit", "submit")
    finish = records.finish

    def sampled(*args, **kwargs):
        finish(*args, **kwargs)
        if timers.calls.get("finish", 0) % 50 == 0:
            memory.append(rss_mb())

    records.finish = sampled
    return timers


def _driver_parts(timers: Timers, n: int) -> dict:
    """Milliseconds per trial of each driver part (claims without what they contain)."""
    seconds = dict(timers.seconds)
    inner = sum(seconds.get(k, 0.0) for k in ("sampling", "create", "sync"))
    seconds["claim"] = max(0.0, seconds.pop("claim_total", 0.0) - inner)
    return {key: 1000 * seconds.get(key, 0.0) / n for key, _ in DRIVER_PARTS}


def steady(trials) -> dict:
    """Milliseconds per trial between completions: all, first and last tenth."""
    ends = sorted(t.datetime_complete.timestamp() for t in trials if t.datetime_complete)
    if len(ends) < 3:
        return {"steady_ms": None, "first_tenth_ms": None, "last_tenth_ms": None}
    tenth = max(1, (len(ends) - 1) // 10)
    return {"steady_ms": 1000 * (ends[-1] - ends[0]) / (len(ends) - 1),
            "first_tenth_ms": 1000 * (ends[tenth] - ends[0]) / tenth,
            "last_tenth_ms": 1000 * (ends[-1] - ends[-1 - tenth]) / tenth}


def run_study(kind: str, strategy: str, n: int, folder: Path, server: str | None,
              name: str = "overhead") -> dict:
    """One study of ``n`` tiny trials with the driver's parts timed."""
    import hpsearch

    memory: list[float] = []
    url = storage_url(kind, folder, server, name)
    study = hpsearch.Study.create(name, data=wine(), strategy=strategy, space=_space(), seed=0,
                                  storage=url, fixed={"epochs": 1}, patience=None)
    timers = _driver_timers(strategy, memory)
    memory.append(rss_mb())
    start = time.perf_counter()
    frame = study.run(n_trials=n, n_jobs=N_JOBS, progress=False)
    wall = time.perf_counter() - start
    timers.restore()
    memory.append(rss_mb())
    figures = {"storage": kind, "strategy": strategy, "n": n, "wall_s": wall,
               "training_ms": 1000 * float(frame["duration"].mean()),
               "complete": int((frame["state"] == "COMPLETE").sum()),
               "driver_ms": _driver_parts(timers, n), "rss_mb": memory,
               **steady(study.trials())}
    if figures["steady_ms"] is not None:
        figures["overhead_ms"] = figures["steady_ms"] - figures["training_ms"] / N_JOBS
    figures["url"] = url
    return figures


def optuna_floor(kind: str, strategy: str, n: int, folder: Path, server: str | None) -> dict:
    """Optuna's bare optimize of ``n`` trivial trials on the same kind of storage."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if kind == "journal":
        from optuna.storages.journal import JournalFileBackend, JournalStorage

        storage = JournalStorage(JournalFileBackend(str(folder / "bare.log")))
    else:
        storage = storage_url(kind, folder, server, "bare")
    sampler = optuna.samplers.RandomSampler(seed=0) if strategy == "random" else None
    study = optuna.create_study(study_name=f"bare-{strategy}", storage=storage, sampler=sampler)
    start = time.perf_counter()
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=n)
    wall = time.perf_counter() - start
    return {"optuna_ms": 1000 * wall / n, **{f"optuna_{k}": v
                                             for k, v in steady(study.trials).items()}}


# ---------------------------------------------------------------- the worker's parts


def worker_parts(url: str, name: str, m: int) -> dict:
    """Milliseconds per trial of each worker part, from ``m`` of the study's trials run
    again in this process as a worker runs them (after its one-time preparation)."""
    import netcore
    from hpsearch.execution import tasks, worker
    from hpsearch.objective import evaluation, holdout, training
    from hpsearch.storages.handle import StudyStorage
    from hpsearch.study import Study

    study = Study.load(name, url)
    handle = StudyStorage(url, name)
    config = study.config
    trials = study.trials()[:m]
    jobs = [tasks.make_task(handle, config, t._trial_id, t.number, 0,
                            config.space.decode(t.params), 1) for t in trials]
    worker.prepare(jobs[0].setup)
    timers = Timers()
    timers.wrap(evaluation, "load_data", "data")
    timers.wrap(training, "build_model", "build")
    timers.wrap(netcore, "fit", "train")
    timers.wrap(holdout, "save_model", "save")
    total = 0.0
    for job in jobs:
        blob = pickle.dumps(job)
        start = time.perf_counter()
        task = pickle.loads(blob)
        decoded = time.perf_counter()
        result = worker.execute(task)
        executed = time.perf_counter()
        pickle.dumps(result)
        encoded = time.perf_counter()
        timers.seconds["decode"] = timers.seconds.get("decode", 0.0) + decoded - start
        timers.seconds["encode"] = timers.seconds.get("encode", 0.0) + encoded - executed
        total += executed - decoded
    timers.restore()
    parts = {k: 1000 * v / len(jobs) for k, v in timers.seconds.items()}
    inside = sum(parts.get(k, 0.0) for k in ("data", "build", "train", "save"))
    parts["evaluate"] = max(0.0, 1000 * total / len(jobs) - inside)
    return {key: parts.get(key, 0.0) for key, _ in WORKER_PARTS}


# ---------------------------------------------------------------- reading a large study


def read_times(url: str, name: str) -> dict:
    """Seconds of ``results()``, ``leaderboard()`` and ``hpsearch show`` on the study, and
    TPE's sampling milliseconds per trial with its whole history."""
    import dataclasses

    from hpsearch.storages import records
    from hpsearch.study import Study

    figures = {}
    study = Study.load(name, url)
    start = time.perf_counter()
    frame = study.results()
    figures["results_s"] = time.perf_counter() - start
    start = time.perf_counter()
    study.leaderboard()
    figures["leaderboard_s"] = time.perf_counter() - start
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "hpsearch", "show", url, "--study", name],
                   check=True, capture_output=True, timeout=300, cwd=ROOT)
    figures["show_s"] = time.perf_counter() - start
    config = dataclasses.replace(study.config, strategy="tpe")
    strategy = config.build_strategy()
    strategy.tell([records.to_result(t, config.space) for t in study.trials()])
    asks = 5
    start = time.perf_counter()
    for slot in range(len(frame), len(frame) + asks):
        strategy.next_slot = slot
        strategy.ask(1)
    figures["tpe_ask_ms"] = 1000 * (time.perf_counter() - start) / asks
    figures["history"] = len(frame)
    return figures


# ---------------------------------------------------------------- children and report


def child(args: dict) -> dict:
    """One measurement in this (fresh) process: ``args`` from the parent."""
    folder = Path(args["folder"])
    server = args.get("server")
    figures = run_study(args["storage"], args["strategy"], args["n"], folder, server)
    if args.get("worker"):
        figures["worker_ms"] = worker_parts(figures["url"], "overhead", args["worker"])
    if args.get("reads"):
        figures["reads"] = read_times(figures["url"], "overhead")
    if args.get("floor"):
        figures.update(optuna_floor(args["storage"], args["strategy"], args["n"], folder, server))
    del figures["url"]  # a temporary path: no part of the results
    return figures


def in_fresh_process(args: dict) -> dict:
    where = {k: v for k, v in args.items() if k not in ("folder", "server")}
    try:
        done = subprocess.run([sys.executable, "-m", "studies.benchmarks.overhead", "--child",
                               json.dumps(args)], cwd=ROOT, capture_output=True, text=True,
                              timeout=CHILD_TIMEOUT,
                              # A server storage's studies keep their files in the run's
                              # temporary folder, not in the project's working folder.
                              env={**os.environ, "PYTHONWARNINGS": "ignore",
                                   "HPSEARCH_ARTIFACTS": str(Path(args["folder"]) / "artifacts")})
    except subprocess.TimeoutExpired:
        return {**where, "error": f"no result within {CHILD_TIMEOUT} s"}
    if done.returncode != 0:
        lines = (done.stderr.strip() or "no output").splitlines()
        return {**where, "error": lines[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def maybe_postgres():
    """A throwaway PostgreSQL server's URL, or None where none can start."""
    try:
        from tests.hpsearch.helpers.pgserver import postgres_server

        with postgres_server() as url:
            yield url
    except (ImportError, FileNotFoundError, subprocess.CalledProcessError):
        yield None


def measure(quick: bool, sizes: list[int], n: int, parts: tuple[str, ...] = ("grid", "growth")
            ) -> dict:
    """The ``parts``: the storage × strategy grid, then the growth with the study's size
    (``quick``: SQLite and random alone)."""
    grid, growth = [], []
    storages, strategies = (STORAGES[:1], STRATEGIES[:1]) if quick else (STORAGES, STRATEGIES)
    if "grid" not in parts:
        storages = ()
    if "growth" not in parts:
        sizes = []
    with maybe_postgres() if storages and not quick else contextlib.nullcontext() as server, \
            tempfile.TemporaryDirectory() as tmp:
        for kind in storages:
            if kind == "postgresql" and server is None:
                grid.append({"storage": kind, "error": "no PostgreSQL server could start"})
                continue
            for strategy in strategies:
                folder = Path(tempfile.mkdtemp(dir=tmp))
                if server is not None:
                    _reset_postgres(server)
                grid.append(in_fresh_process({"storage": kind, "strategy": strategy, "n": n,
                                              "folder": str(folder), "server": server,
                                              "floor": True, "worker": 3 if quick else 30}))
        for size in sizes:
            folder = Path(tempfile.mkdtemp(dir=tmp))
            growth.append(in_fresh_process({"storage": "sqlite", "strategy": "random",
                                            "n": size, "folder": str(folder),
                                            "reads": size == sizes[-1]}))
    return {"grid": grid, "growth": growth}


def _reset_postgres(url: str) -> None:
    """Drop every table of the throwaway database: each study starts on an empty one."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


def merged(fresh: dict, earlier: dict) -> dict:
    """``fresh`` rows over the ``earlier`` run's: a part or a size run again replaces its
    rows (grid: by storage and strategy; growth: by size), the others stay."""
    result = {}
    for part, key in (("grid", lambda r: (r["storage"], r.get("strategy"))),
                      ("growth", lambda r: r["n"])):
        rows = {key(r): r for r in earlier.get(part, [])}
        rows.update((key(r), r) for r in fresh[part])
        result[part] = list(rows.values())
    result["growth"].sort(key=lambda r: r["n"])
    return result


def _ms(value) -> str:
    return "—" if not isinstance(value, int | float) else f"{value:.1f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(cells) + " |" for cells in rows]


def _grid_rows(grid: list[dict]) -> list[list[str]]:
    rows = []
    for row in grid:
        if "error" in row:
            rows.append([row["storage"], row.get("strategy", "—"), "failed: " + row["error"],
                         *["" for _ in range(6)]])
            continue
        ratio = row["steady_ms"] / row["optuna_ms"] if row.get("steady_ms") else None
        rows.append([row["storage"], row["strategy"], str(row["n"]), _ms(row["steady_ms"]),
                     _ms(row["training_ms"]), _ms(row.get("overhead_ms")), _ms(row["optuna_ms"]),
                     "—" if ratio is None else f"{ratio:.2f}", str(row["complete"])])
    return rows


def _parts_rows(grid: list[dict], parts, key: str) -> list[list[str]]:
    done = [row for row in grid if key in row]
    return [[label, *(_ms(row[key][part]) for row in done)] for part, label in parts]


def _growth_rows(growth: list[dict]) -> list[list[str]]:
    rows = []
    for row in growth:
        if "error" in row:
            rows.append([str(row["n"]), "failed: " + row["error"], "", "", "", "", ""])
            continue
        first, last = row["first_tenth_ms"], row["last_tenth_ms"]
        memory = row["rss_mb"]
        rows.append([str(row["n"]), _ms(row["steady_ms"]), _ms(first), _ms(last),
                     "—" if not first else f"{last / first:.2f}", _ms(row.get("overhead_ms")),
                     f"{memory[1] if len(memory) > 2 else memory[0]:.0f} → {memory[-1]:.0f}"])
    return rows


def _kept_note(meta: dict) -> list[str]:
    kept = meta.get("kept")
    if not kept:
        return []
    return ["", f"Kept from the run of {kept.get('when')} (load average {kept.get('load', 0):.2f} "
            f"at its start, {kept.get('load_end', 0):.2f} at its end): "
            f"{', '.join(kept['parts'])}."]


def render(results: dict, meta: dict) -> str:
    """The Markdown report."""
    grid, growth = results["grid"], results["growth"]
    lines = ["# Per-trial overhead", "",
             f"{meta['when']}, {meta['cpus']} CPUs, load average {meta['load']:.2f} at the start "
             f"and {meta['load_end']:.2f} at the end (other work shared the machine when it was "
             "above about 2). Tiny trials: wine (107 training rows), one epoch, "
             f"{N_JOBS} workers, a 3-parameter space. Times in milliseconds per trial, steady "
             "(between the first and the last completion). Overhead = the time per trial minus "
             f"the trial's training over {N_JOBS} workers. Optuna bare: "
             "`optuna.create_study(...).optimize(lambda t: t.suggest_float(\"x\", 0, 1))` "
             "on the same kind of storage in the same subprocess (random: `RandomSampler`, "
             "tpe: Optuna's default TPE), one process, no worker.", *_kept_note(meta), "",
             "## Storages and strategies", ""]
    lines += _table(["storage", "strategy", "trials", "ms / trial", "training ms", "overhead ms",
                     "Optuna bare ms", "hpsearch / Optuna", "complete"], _grid_rows(grid))
    timed = [row for row in grid if "driver_ms" in row]
    heads = [f"{row['storage']} {row['strategy']}" for row in timed]
    lines += ["", "## Where the driver's time goes (ms per trial)", "",
              "Busy time in the driver process, by part; the rest of the time per trial it "
              "waits for the workers.", ""]
    lines += _table(["part", *heads], _parts_rows(timed, DRIVER_PARTS, "driver_ms"))
    lines += ["", "## Where a worker's time goes (ms per trial)", "",
              "The study's trials run again in one process as a worker runs them, after its "
              "one-time preparation.", ""]
    lines += _table(["part", *heads], _parts_rows(timed, WORKER_PARTS, "worker_ms"))
    lines += ["", "## Growth with the study (random, SQLite)", ""]
    lines += _table(["trials", "ms / trial", "first tenth", "last tenth", "last / first",
                     "overhead ms", "driver RSS MiB"], _growth_rows(growth))
    reads = next((row["reads"] for row in growth if isinstance(row.get("reads"), dict)), None)
    if reads:
        lines += ["", f"## Reading a study of {reads['history']} trials", "",
                  f"- `results()`: {reads['results_s']:.2f} s",
                  f"- `leaderboard()`: {reads['leaderboard_s']:.2f} s",
                  f"- `hpsearch show` (the whole command): {reads['show_s']:.2f} s",
                  f"- TPE's sampling with that history: {reads['tpe_ask_ms']:.1f} ms a trial"]
    return "\n".join(lines) + "\n"


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: the report's shape")
    parser.add_argument("--trials", type=int, default=1000, help="trials of each grid study")
    parser.add_argument("--sizes", default="100,1000,10000",
                        help="comma-separated study sizes of the growth part")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--parts", default="grid,growth",
                        help="the parts to run (grid, growth); the rows of the others, and of "
                             "sizes not run again, are kept from the last overhead.json in --out")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0
    sizes = [12] if args.quick else [int(s) for s in args.sizes.split(",")]
    n = 12 if args.quick else args.trials
    meta = {"cpus": os.cpu_count(), "load": os.getloadavg()[0],
            "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
    parts = tuple(args.parts.split(","))
    results = measure(args.quick, sizes, n, parts)
    earlier = args.out / "overhead.json"
    if parts != ("grid", "growth") and earlier.exists():
        before = json.loads(earlier.read_text(encoding="utf-8"))
        results = merged(results, before)
        meta["kept"] = {"parts": [p for p in ("grid", "growth") if p not in parts] or
                        ["the sizes not run again"], **before.get("meta", {})}
    for row in results["grid"] + results["growth"]:
        if "error" in row:
            print(f"failed: {row}", file=sys.stderr)
    meta["load_end"] = os.getloadavg()[0]
    report = render(results, meta)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "overhead.md").write_text(report, encoding="utf-8")
    (args.out / "overhead.json").write_text(json.dumps({"meta": meta, **results}, indent=1),
                                            encoding="utf-8")
    print(report, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
