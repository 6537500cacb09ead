"""Memory of a search on a large array: do the workers share one copy of the data?

``python -m studies.benchmarks.shared_data`` builds a ``--megabytes`` float32
array (default 200 MB) with a learnable label, runs a study on it with
``Study.create(data=(X, y))`` and ``n_jobs=2``, and samples the memory of the
worker processes while they train: RSS (every page a process touches, shared
ones included), PSS (shared pages divided among the processes that map them),
the file-backed part of the PSS (the mapped data) and the anonymous memory
(the process's own heap: where a copy of the data sent to the worker would
live) from ``/proc/<pid>/smaps_rollup`` (Linux). One shared copy shows as
workers whose anonymous memory stays far below the data's size while their
RSS includes the mapped data. (Not "private dirty": file pages that were just
written are dirty in the page cache until written back, so the freshly saved
data counts there too.) Writes ``results/shared_data.md``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
_FIELDS = ("Rss", "Pss", "Pss_File", "Anonymous")


def memory_mb(pid: int) -> dict[str, float] | None:
    """The process's memory figures in MB, or None when it is gone."""
    try:
        lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    except OSError:
        return None
    values = {}
    for line in lines:
        key, _, rest = line.partition(":")
        if key in _FIELDS:
            values[key] = int(rest.split()[0]) / 1024
    return values


def children(pid: int) -> list[int]:
    """Direct child processes of ``pid`` (the loky workers and their tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


class Sampler:
    """Peak memory of each child process, sampled every ``interval`` seconds."""

    def __init__(self, interval: float = 0.2):
        self.interval, self.peaks = interval, {}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.done.wait(self.interval):
            for pid in children(os.getpid()):
                now = memory_mb(pid)
                if now is None:
                    continue
                peak = self.peaks.setdefault(pid, dict.fromkeys(_FIELDS, 0.0))
                for key in _FIELDS:
                    peak[key] = max(peak[key], now.get(key, 0.0))

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()


def make_data(megabytes: int, n_features: int = 200, seed: int = 0):
    rng = np.random.default_rng(seed)
    n = megabytes * 2**20 // (4 * n_features)
    X = rng.standard_normal((n, n_features), dtype=np.float32)
    y = (X[:, :10].sum(axis=1) > 0).astype(np.int64)
    return X, y


def run(megabytes: int, trials: int, jobs: int) -> str:
    from hpsearch import Study, space

    X, y = make_data(megabytes)
    with tempfile.TemporaryDirectory() as folder:
        study = Study.create("shared", data=(X, y), storage=f"sqlite:///{folder}/runs.db",
                             space={"lr": space.log_float(1e-3, 1e-2)},
                             fixed={"hidden": [32], "batch_size": 256}, epochs=1,
                             patience=None, keep_models=1)
        del X, y
        with Sampler() as sampler:
            study.run(n_trials=trials, n_jobs=jobs, progress=False)
        data = study.dataset()
        data_mb = sum(a.nbytes for a in (data.X_train, data.X_val, data.X_test)) / 2**20
    workers = {pid: p for pid, p in sampler.peaks.items() if p["Rss"] > 50}
    rows = [f"| {pid} | {p['Rss']:.0f} | {p['Pss']:.0f} | {p['Pss_File']:.0f} | "
            f"{p['Anonymous']:.0f} |" for pid, p in workers.items()]
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return "\n".join([
        f"# Shared data: {data_mb:.0f} MB of study data, {len(workers)} workers ({stamp})", "",
        f"`Study.create(data=(X, y))` on {megabytes} MB of float32 features, n_jobs={jobs}, "
        f"{trials} trials (each trains one epoch on the whole training split and evaluates "
        "the validation and test splits). Peak memory per worker process, MB:", "",
        "| worker pid | RSS | PSS | PSS of mapped files | anonymous |", "|---|---|---|---|---|",
        *rows, "",
        "RSS counts the mapped data pages in every worker that reads them; PSS splits shared "
        "pages among the processes that map them (its file part is mostly the data); "
        "'anonymous' is each worker's own memory (interpreter, libraries, training "
        "buffers), where a copy of the data sent to the worker would have to live. Each "
        "figure is that process's peak over the run, sampled every 0.2 s.", ""])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    report = run(args.megabytes, args.trials, args.jobs)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "shared_data.md").write_text(report)
    print(report)


if __name__ == "__main__":
    main()
