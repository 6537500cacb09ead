"""How far one driver scales: trials that sleep, 8 to 64 workers, three backends, three storages.

``python -m studies.benchmarks.scaling`` runs studies whose trials sleep
``--trial-seconds`` (1 s) in their worker (``sleep_trial.py``, a plugin: the
worker is idle, as one waiting on work done elsewhere would be, while the
driver does all its usual work: sampling, claims, records, heartbeats). For
each backend (joblib's ``threading``; Dask, a scheduler and worker processes
as ``dask scheduler`` and ``dask worker --nworkers N --nthreads 1`` start them;
Ray), each storage (SQLite, a journal file, PostgreSQL) and each
worker count (8, 32, 64) one study runs ``--rounds`` × workers trials of the
random strategy. Its sustained throughput is counted from the trials' recorded
completion times, from the end of the first round (the workers' start-up) to the
last trial, and compared with the ideal, workers / trial seconds.

A Dask cluster or a Ray instance is started for each worker count and serves
the three storages' runs, after a warm-up run has started every worker; its
memory (the PSS of this process's descendants) is measured then. A run stops
starting trials after 15 × rounds × trial seconds (at least 60 s). PostgreSQL is a throwaway server
(``tests/hpsearch/helpers/pgserver.py``) unless ``--postgres URL`` names one.
The report goes to ``results/scaling.md``, ``scaling.json`` and ``scaling.png``
(``--out`` chooses the folder). It took 12 minutes on the shared 2-core machine
without Dask's 64 workers, which did not finish starting there in 20 (leave
them out with ``--workers 8,32``). ``--quick`` runs two threads on SQLite and the
journal with 0.05-s trials (for tests: the report's shape, never its numbers).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from studies.benchmarks import machine
from studies.benchmarks.scaling_report import write_report

ROOT = Path(__file__).resolve().parents[2]
RESULTS = Path(__file__).resolve().parent / "results"
PLUGIN = Path(__file__).resolve().parent / "sleep_trial.py"
PGSERVER = ROOT / "tests" / "hpsearch" / "helpers" / "pgserver.py"
SLEEP_ENV = "HPSEARCH_SLEEP_TRIAL_SECONDS"
BACKENDS = ("threading", "dask", "ray", "loky")
STORAGES = ("sqlite", "journal", "postgres")
STORAGE_NAMES = {"sqlite": "sqlite", "journal": "journal", "postgresql": "postgres"}
DASK_MEMORY_LIMIT = "1GiB"  # per worker: a cap the nanny enforces, not an allocation
RAY_OBJECT_STORE = 200 * 2**20  # bytes; trials return small records


def tiny_data() -> tuple[np.ndarray, np.ndarray]:
    """200 rows of 4 features: a trial's training costs next to nothing."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 4)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(np.int64)


def create_study(name: str, url: str, keep_models: int):
    """A random-search study whose trials sleep (``init="sleep"``, no hidden layer)."""
    import hpsearch
    from hpsearch import space

    return hpsearch.Study.create(name, data=tiny_data(), space={"lr": space.log_float(1e-3, 1e-1)},
                                 strategy="random", storage=url, seed=0, epochs=1,
                                 fixed={"init": "sleep", "hidden": []}, plugins=[str(PLUGIN)],
                                 keep_models=keep_models)


def sustained_rate(completions: list[float], workers: int) -> float | None:
    """Trials per second from the end of the first round to the last trial completed."""
    ends = sorted(completions)
    if len(ends) <= workers or ends[-1] <= ends[workers - 1]:
        return None
    return (len(ends) - workers) / (ends[-1] - ends[workers - 1])


def tree_cpu_seconds() -> float:
    """CPU seconds of this process and its live descendants (workers, Ray's daemons)."""
    import psutil

    total = 0.0
    for proc in [psutil.Process(), *psutil.Process().children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


def tree_memory_mib() -> dict:
    """Processes below this one and the sum of their PSS (shared pages counted once), MiB."""
    import psutil

    procs, pss = psutil.Process().children(recursive=True), 0
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            pss += proc.memory_full_info().pss
    return {"processes": len(procs), "pss_mib": pss / 2**20}


def run_one(backend: str, options: dict | None, url: str, name: str, workers: int,
            args: argparse.Namespace, rounds: int) -> dict:
    """One study of ``rounds`` × ``workers`` trials; its throughput, CPU and load."""
    trial_seconds = args.trial_seconds
    study = create_study(name, url, args.keep_models)
    n_trials = rounds * workers
    busy, tree, driver = machine.busy_seconds(), tree_cpu_seconds(), time.process_time()
    start = time.perf_counter()
    study.run(n_trials=n_trials, n_jobs=workers, backend=backend, backend_options=options,
              progress=False, timeout=max(60.0, 15 * rounds * trial_seconds))
    wall = time.perf_counter() - start
    driver, tree = time.process_time() - driver, tree_cpu_seconds() - tree
    busy = None if busy is None else machine.busy_seconds() - busy
    trials = [t for t in study.trials() if t.datetime_complete is not None]
    durations = [t.user_attrs.get("metrics", {}).get("duration") for t in trials]
    rate = sustained_rate([t.datetime_complete.timestamp() for t in trials], workers)
    ideal = workers / trial_seconds
    return {"backend": backend, "storage": STORAGE_NAMES[url.split(":")[0].split("+")[0]], "workers": workers,
            "trials": len(trials), "complete": sum(t.state.name == "COMPLETE" for t in trials),
            "wall_s": wall, "sustained_per_s": rate, "ideal_per_s": ideal,
            "of_ideal": None if rate is None else rate / ideal,
            "median_trial_s": statistics.median(d for d in durations if d is not None),
            "driver_cpu_ms_per_trial": 1000 * driver / max(1, len(trials)),
            "tree_cores": tree / wall,
            "other_cores": None if busy is None else max(0.0, (busy - tree) / wall)}


@contextlib.contextmanager
def dask_cluster(workers: int, folder: Path) -> Iterator[dict]:
    """A Dask scheduler and ``workers`` worker processes (one thread each, a nanny per
    worker), each its own process as on a cluster; yields ``Study.run``'s options."""
    from distributed import Client

    file = folder / "dask-scheduler.json"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    scheduler = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler",
                                  "--scheduler-file", str(file), "--port", "0",
                                  "--no-dashboard"], **quiet)
    worker = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker",
                               "--scheduler-file", str(file), "--nworkers", str(workers),
                               "--nthreads", "1", "--memory-limit", DASK_MEMORY_LIMIT,
                               "--no-dashboard"], **quiet)
    try:
        with Client(scheduler_file=str(file), timeout=120) as client:
            client.wait_for_workers(workers, timeout=600)
            yield {"client": client}
    finally:
        for proc in (worker, scheduler):
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=60)
            proc.kill()


@contextlib.contextmanager
def backend_session(backend: str, max_workers: int, folder: Path) -> Iterator[dict | None]:
    """The backend's options for ``Study.run``, its cluster started for ``max_workers``."""
    if backend == "dask":
        with dask_cluster(max_workers, folder) as options:
            yield options
    elif backend == "ray":
        import ray

        ray.init(num_cpus=max_workers, include_dashboard=False, log_to_driver=False,
                 object_store_memory=RAY_OBJECT_STORE)
        try:
            yield None
        finally:
            ray.shutdown()
    else:
        yield None


@contextlib.contextmanager
def storage_urls(storages: tuple[str, ...], folder: Path, postgres: str | None) -> Iterator[dict]:
    """A function per storage giving a fresh URL for a run (SQLite and journal: a new file)."""
    urls = {"sqlite": lambda run: f"sqlite:///{folder / run}.db",
            "journal": lambda run: f"journal:///{folder / run}.log"}
    if "postgres" not in storages or postgres:
        urls["postgres"] = lambda run: postgres
        yield {s: urls[s] for s in storages}
        return
    spec = importlib.util.spec_from_file_location("pgserver", PGSERVER)
    pgserver = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pgserver)
    with pgserver.postgres_server() as url:
        urls["postgres"] = lambda run: url
        yield {s: urls[s] for s in storages}


def run_backend(backend: str, workers: int, urls: dict, args, folder: Path) -> tuple[list, dict]:
    """Every storage on one backend with ``workers`` workers; its rows and its memory."""
    rows = []
    with backend_session(backend, workers, folder) as options:
        # Starts every worker (imports, first trial) before anything is timed.
        warm = f"warm-{backend}-{workers}"
        run_one(backend, options, urls[args.storages[0]](warm), warm, workers, args, 1)
        memory = {"backend": backend, "workers": workers, **tree_memory_mib()}
        for storage in args.storages:
            run = f"{backend}-{storage}-{workers}"
            rows.append(run_one(backend, options, urls[storage](run), run, workers, args,
                                args.rounds))
            print(_progress(rows[-1]), flush=True)
    return rows, memory


def _progress(row: dict) -> str:
    rate = row["sustained_per_s"]
    return (f"{row['backend']:9} {row['storage']:10} {row['workers']:3} workers: "
            f"{'n/a' if rate is None else f'{rate:.1f}'} trials/s of {row['ideal_per_s']:.0f} "
            f"({row['wall_s']:.1f} s)")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--backends", default="threading,dask,ray",
                        help=f"comma-separated, of {', '.join(BACKENDS)}")
    parser.add_argument("--storages", default=",".join(STORAGES))
    parser.add_argument("--workers", default="8,32,64")
    parser.add_argument("--trial-seconds", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=4, help="trials per worker (at least 3)")
    parser.add_argument("--keep-models", type=int, default=5,
                        help="the studies' keep_models (5, the default; 0 saves no model)")
    parser.add_argument("--postgres", default=None, help="a PostgreSQL URL (default: throwaway)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.backends, args.storages, args.workers = "threading", "sqlite,journal", "2"
        args.trial_seconds, args.rounds = 0.05, 3
    args.backends = tuple(_names(args.backends, BACKENDS, "--backends"))
    args.storages = tuple(_names(args.storages, STORAGES, "--storages"))
    args.workers = [int(w) for w in args.workers.split(",")]
    if args.rounds < 3:
        parser.error("--rounds must be at least 3")
    return args


def _names(text: str, allowed: tuple[str, ...], flag: str) -> list[str]:
    names = [n for n in text.split(",") if n]
    for name in names:
        if name not in allowed:
            raise SystemExit(f"{flag}: {name!r} is not one of {', '.join(allowed)}")
    return names


def _stop(signum, frame):
    raise SystemExit(f"stopped by signal {signum}")  # so that clusters and servers are stopped


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _stop)
    os.environ[SLEEP_ENV] = str(args.trial_seconds)  # inherited by every worker process
    started, rows, memory = time.perf_counter(), [], []
    with tempfile.TemporaryDirectory(prefix="hpsearch-scaling-") as tmp:
        os.environ["HPSEARCH_ARTIFACTS"] = str(Path(tmp) / "artifacts")  # server storages
        with storage_urls(args.storages, Path(tmp), args.postgres) as urls:
            for backend in args.backends:
                for workers in args.workers:
                    more_rows, more_memory = run_backend(backend, workers, urls, args, Path(tmp))
                    rows += more_rows
                    memory.append(more_memory)
                    # Written as it goes: a run stopped early keeps what it measured.
                    write_report(_results(args, rows, memory, started, argv), args.out)
    return 0


def _results(args, rows: list[dict], memory: list[dict], started: float,
             argv: list[str] | None) -> dict:
    flags = " ".join(sys.argv[1:] if argv is None else argv)
    return {"command": f"python -m studies.benchmarks.scaling {flags}".strip(),
            "config": {"backends": list(args.backends), "storages": list(args.storages),
                       "workers": args.workers, "trial_seconds": args.trial_seconds,
                       "rounds": args.rounds, "quick": args.quick,
                       "keep_models": args.keep_models,
                       "dask": {"nthreads": 1, "memory_limit": DASK_MEMORY_LIMIT},
                       "ray": {"object_store_memory": RAY_OBJECT_STORE}},
            "rows": rows, "memory": memory,
            "machine": {"cpus": os.cpu_count(), "when": datetime.now(UTC).isoformat(
                timespec="seconds"), "total_s": time.perf_counter() - started}}


if __name__ == "__main__":
    raise SystemExit(main())
