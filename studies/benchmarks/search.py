"""Search throughput and runner overhead: hpsearch against raw Optuna and Hyperopt loops.

``python -m studies.benchmarks.search`` times the same short MNIST trainings
(784-100-10, a training subset, a few epochs) run

- by hpsearch with ``n_jobs=1`` and ``n_jobs=2`` (loky worker processes, one
  BLAS thread each): throughput in trials per second and its ratio;
- by a raw ``optuna`` ask/tell loop and a raw ``hyperopt.fmin`` loop in the
  driver process (one BLAS thread), against hpsearch ``n_jobs=1``: the
  runner's per-trial overhead.

Every figure is a wall-clock time measured in the same run; the first trial
of each hpsearch run pays for starting the worker and loading the data, so the
steady-state throughput (from the end of the first trial) is reported too.
Writes ``results/search.md`` and ``results/search.json`` next to this file.
The benchmark command ``python -m studies.benchmarks`` measures the ``n_jobs``
scaling itself, with trials of over a second (``run_hpsearch`` from here); this
command remains for the comparison with the raw loops.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"


def _settings(epochs: int) -> dict:
    return {"hidden": [100], "optimizer": "adam", "batch_size": 128, "epochs": epochs}


def _space():
    from hpsearch import space

    return {"lr": space.log_float(1e-4, 1e-2)}


def run_hpsearch(n_trials: int, n_jobs: int, max_train: int, epochs: int) -> dict:
    """Wall time of a random study; also the time from the first finished trial."""
    import hpsearch

    with tempfile.TemporaryDirectory() as tmp:
        study = hpsearch.Study.create(
            "bench", dataset="mnist", strategy="random", space=_space(), seed=0,
            storage=f"sqlite:///{tmp}/bench.db", fixed=_settings(epochs), patience=None,
            max_train=max_train)
        start = time.perf_counter()
        df = study.run(n_trials=n_trials, n_jobs=n_jobs, progress=False)
        wall = time.perf_counter() - start
        trials = study.trials()
        ends = sorted(t.datetime_complete.timestamp() for t in trials)
        first_done = ends[0] - trials[0].datetime_start.timestamp()
    steady = (ends[-1] - ends[0]) / max(1, n_trials - 1)
    return {"wall": wall, "per_trial": wall / n_trials, "steady_per_trial": steady,
            "first_trial": first_done, "mean_training": float(df["duration"].mean())}


def _train(data, lr: float, seed: int, epochs: int) -> float:
    import netcore

    model = netcore.MLP([784, 100, 10], seed=seed)
    hist = netcore.fit(model, data.X_train, data.y_train, data.X_val, data.y_val,
                       optimizer="adam", lr=lr, batch_size=128, epochs=epochs, seed=seed)
    return min(hist["val_loss"])


def run_optuna(data, n_trials: int, epochs: int) -> float:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    start = time.perf_counter()
    for i in range(n_trials):
        trial = study.ask()
        lr = trial.suggest_float("lr", 1e-4, 1e-2, log=True)
        study.tell(trial, _train(data, lr, i, epochs))
    return time.perf_counter() - start


def run_hyperopt(data, n_trials: int, epochs: int) -> float:
    from hyperopt import Trials, fmin, hp, rand

    counter = iter(range(n_trials))
    start = time.perf_counter()
    fmin(lambda p: _train(data, p["lr"], next(counter), epochs),
         {"lr": hp.loguniform("lr", np.log(1e-4), np.log(1e-2))}, algo=rand.suggest,
         max_evals=n_trials, trials=Trials(), rstate=np.random.default_rng(0),
         show_progressbar=False)
    return time.perf_counter() - start


def _markdown(r: dict) -> str:
    h1, h2 = r["hpsearch_1"], r["hpsearch_2"]
    rows = [
        "| run | wall s | s / trial | steady s / trial |", "|---|---|---|---|",
        f"| hpsearch n_jobs=1 | {h1['wall']:.2f} | {h1['per_trial']:.3f} | "
        f"{h1['steady_per_trial']:.3f} |",
        f"| hpsearch n_jobs=2 | {h2['wall']:.2f} | {h2['per_trial']:.3f} | "
        f"{h2['steady_per_trial']:.3f} |",
        f"| raw Optuna loop | {r['optuna']:.2f} | {r['optuna'] / r['n_trials']:.3f} | |",
        f"| raw Hyperopt fmin | {r['hyperopt']:.2f} | {r['hyperopt'] / r['n_trials']:.3f} | |",
        "",
        f"- trials: {r['n_trials']} x 784-100-10, {r['max_train']} training images, "
        f"{r['epochs']} epochs, batch 128, Adam (mean training time "
        f"{h1['mean_training']:.3f} s)",
        f"- throughput n_jobs=2 / n_jobs=1: {r['speedup_wall']:.2f}x overall, "
        f"{r['speedup_steady']:.2f}x steady state",
        f"- hpsearch n_jobs=1 overhead vs raw Optuna: {100 * r['overhead_optuna']:+.1f}% overall, "
        f"{100 * r['overhead_optuna_steady']:+.1f}% steady state",
        f"- hpsearch n_jobs=1 overhead vs raw Hyperopt: {100 * r['overhead_hyperopt']:+.1f}% "
        f"overall, {100 * r['overhead_hyperopt_steady']:+.1f}% steady state",
    ]
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--max-train", type=int, default=50000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    import netcore

    r = {"n_trials": args.trials, "max_train": args.max_train, "epochs": args.epochs}
    r["hpsearch_1"] = run_hpsearch(args.trials, 1, args.max_train, args.epochs)
    r["hpsearch_2"] = run_hpsearch(args.trials, 2, args.max_train, args.epochs)
    data = netcore.load_dataset("mnist").subset(n_train=args.max_train)
    with threadpool_limits(1):
        r["optuna"] = run_optuna(data, args.trials, args.epochs)
        r["hyperopt"] = run_hyperopt(data, args.trials, args.epochs)
    h1, h2 = r["hpsearch_1"], r["hpsearch_2"]
    r["speedup_wall"] = h1["wall"] / h2["wall"]
    r["speedup_steady"] = h1["steady_per_trial"] / h2["steady_per_trial"]
    for peer in ("optuna", "hyperopt"):
        per_trial = r[peer] / args.trials
        r[f"overhead_{peer}"] = h1["per_trial"] / per_trial - 1
        r[f"overhead_{peer}_steady"] = h1["steady_per_trial"] / per_trial - 1
    text = _markdown(r)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "search.md").write_text(text)
    (args.out / "search.json").write_text(json.dumps(r, indent=2))
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
