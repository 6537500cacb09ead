"""Whole searches: hpsearch against what a user would otherwise write.

``python -m studies.benchmarks.search_vs_peers`` runs one search problem (the
same space, budget, epochs and data) five ways and times each from start to
finish:

- ``hpsearch``: ``Study.create(strategy="tpe")``, ``n_jobs=2`` (loky worker
  processes, one BLAS thread each);
- ``optuna+torch``: raw Optuna TPE around a PyTorch CPU MLP,
  ``study.optimize(n_jobs=2)`` (two threads, torch's default thread count, as
  the Optuna documentation's examples do);
- ``optuna+torch 2 proc``: the same objective in two processes sharing one
  Optuna storage, one torch thread each (the careful way);
- ``optuna+sklearn``: raw Optuna TPE around scikit-learn's ``MLPClassifier``
  (``partial_fit`` once per epoch), ``n_jobs=2`` threads;
- ``sklearn RandomizedSearchCV``: random search on the same holdout split
  (``PredefinedSplit``), ``n_jobs=2``, ``max_iter`` epochs.

Every trial trains a ReLU MLP with Adam for a fixed number of epochs with no
early stopping and keeps its best epoch's validation accuracy and the test
accuracy at that epoch (RandomizedSearchCV: the last epoch; it reports no
other). The space: ``lr`` log-uniform, ``hidden`` a choice of widths, ``l2``
log-uniform (PyTorch's Adam ``weight_decay`` and netcore's ``l2`` are the same
coupled penalty; scikit-learn's ``alpha`` is divided by the batch size in its
loss, so it gets ``l2 * batch_size``), ``batch_size`` a choice.

Reported per data set (digits; a 10,000-image MNIST training subset validated
on MNIST's 10,000 validation images), as medians over seeds: wall time to the
end, wall time until the search's best validation accuracy first reached the
accuracy that every contender reached (the lowest of their final bests), the
best validation accuracy, its trial's test accuracy, and each wall time as a
ratio to hpsearch's. Writes ``results/search_vs_peers.md``.
"""

from __future__ import annotations

import argparse
import itertools
import math
import multiprocessing
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
HIDDEN = ([64], [128], [256], [128, 64], [256, 128])
BATCHES = (32, 64, 128)
LR_RANGE, L2_RANGE = (1e-4, 3e-2), (1e-6, 1e-2)


@dataclass
class Problem:
    """One data set, the budget and the epochs of every trial."""

    name: str
    arrays: tuple  # X_train, y_train, X_val, y_val, X_test, y_test (float32, int64)
    n_classes: int
    trials: int
    epochs: int
    jobs: int = 2


@dataclass
class Outcome:
    """One search: its wall time and, per finished trial, (seconds since start, val, test)."""

    wall: float
    trials: list[tuple[float, float, float]] = field(default_factory=list)

    @property
    def best(self) -> tuple[float, float]:
        _, val, test = max(self.trials, key=lambda t: (t[1], -t[0]))
        return val, test

    def time_to(self, accuracy: float) -> float | None:
        """Seconds until a trial with validation accuracy >= ``accuracy`` had finished."""
        reached = [t for t, val, _ in self.trials if val >= accuracy - 1e-12]
        return min(reached) if reached else None


# The peers' objectives: a trial from parameters to (best val accuracy, test accuracy there).

def torch_trial(problem: Problem, params: dict, seed: int) -> tuple[float, float]:
    import torch

    X, y, Xv, yv, Xt, yt = (torch.from_numpy(a) for a in problem.arrays)
    torch.manual_seed(seed)
    sizes = [X.shape[1], *params["hidden"], problem.n_classes]
    layers = []
    for a, b in itertools.pairwise(sizes):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    opt = torch.optim.Adam(model.parameters(), lr=params["lr"], weight_decay=params["l2"])
    loss_fn, bs = torch.nn.CrossEntropyLoss(), params["batch_size"]
    best = (-1.0, 0.0)
    for _ in range(problem.epochs):
        model.train()
        for idx in torch.randperm(len(X)).split(bs):
            opt.zero_grad()
            loss_fn(model(X[idx]), y[idx]).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            val = (model(Xv).argmax(1) == yv).float().mean().item()
            if val > best[0]:
                best = (val, (model(Xt).argmax(1) == yt).float().mean().item())
    return best


def sklearn_trial(problem: Problem, params: dict, seed: int) -> tuple[float, float]:
    import warnings

    from sklearn.neural_network import MLPClassifier

    X, y, Xv, yv, Xt, yt = problem.arrays
    model = MLPClassifier(hidden_layer_sizes=tuple(params["hidden"]), solver="adam",
                          learning_rate_init=params["lr"], alpha=params["l2"] * params["batch_size"],
                          batch_size=params["batch_size"], random_state=seed % 2**32)
    classes, best = np.arange(problem.n_classes), (-1.0, 0.0)
    for _ in range(problem.epochs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.partial_fit(X, y, classes=classes)
        val = model.score(Xv, yv)
        if val > best[0]:
            best = (val, model.score(Xt, yt))
    return best


def _suggest(trial) -> dict:
    return {"lr": trial.suggest_float("lr", *LR_RANGE, log=True),
            "hidden": list(HIDDEN[trial.suggest_categorical("hidden", list(range(len(HIDDEN))))]),
            "l2": trial.suggest_float("l2", *L2_RANGE, log=True),
            "batch_size": trial.suggest_categorical("batch_size", list(BATCHES))}


def _optuna_objective(problem: Problem, train: Callable, start: float, log: list):
    def objective(trial) -> float:
        val, test = train(problem, _suggest(trial), trial.number)
        log.append((time.perf_counter() - start, val, test))
        trial.set_user_attr("test", test)
        return val
    return objective


def run_optuna(problem: Problem, train: Callable, seed: int) -> Outcome:
    """Raw Optuna TPE with ``n_jobs`` threads around ``train``."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=seed))
    log: list = []
    start = time.perf_counter()
    study.optimize(_optuna_objective(problem, train, start, log), n_trials=problem.trials,
                   n_jobs=problem.jobs)
    return Outcome(time.perf_counter() - start, log)


def _torch_process(problem: Problem, storage: str, seed: int, n_trials: int) -> None:
    import optuna
    import torch

    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name="peers", storage=storage,
                              sampler=optuna.samplers.TPESampler(seed=seed + os.getpid()))
    study.optimize(_optuna_objective(problem, torch_trial, time.perf_counter(), []),
                   n_trials=n_trials)


def run_optuna_processes(problem: Problem, seed: int) -> Outcome:
    """Optuna + torch in ``jobs`` processes on one SQLite storage, one thread each."""
    import optuna

    with tempfile.TemporaryDirectory() as folder:
        storage = f"sqlite:///{folder}/peers.db"
        optuna.create_study(study_name="peers", storage=storage, direction="maximize")
        context = multiprocessing.get_context("spawn")
        shares = [problem.trials // problem.jobs + (i < problem.trials % problem.jobs)
                  for i in range(problem.jobs)]
        start, wall_start = time.perf_counter(), time.time()
        procs = [context.Process(target=_torch_process, args=(problem, storage, seed, n))
                 for n in shares]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join()
        wall = time.perf_counter() - start
        trials = optuna.load_study(study_name="peers", storage=storage).trials
    log = [(t.datetime_complete.timestamp() - wall_start, t.value, t.user_attrs["test"])
           for t in trials if t.value is not None]
    return Outcome(wall, log)


def run_random_search_cv(problem: Problem, seed: int) -> Outcome:
    """scikit-learn's RandomizedSearchCV on the holdout split, last-epoch scores."""
    import warnings

    from scipy.stats import loguniform
    from sklearn.model_selection import PredefinedSplit, RandomizedSearchCV
    from sklearn.neural_network import MLPClassifier

    X, y, Xv, yv, Xt, yt = problem.arrays
    fold = np.r_[np.full(len(X), -1), np.zeros(len(Xv))]
    grid = {"learning_rate_init": loguniform(*LR_RANGE),
            "hidden_layer_sizes": [tuple(h) for h in HIDDEN],
            "alpha": loguniform(L2_RANGE[0] * 64, L2_RANGE[1] * 64),
            "batch_size": list(BATCHES)}
    search = RandomizedSearchCV(MLPClassifier(max_iter=problem.epochs, random_state=seed),
                                grid, n_iter=problem.trials, cv=PredefinedSplit(fold),
                                n_jobs=problem.jobs, refit=False, random_state=seed)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(np.concatenate([X, Xv]), np.concatenate([y, yv]))
    wall = time.perf_counter() - start
    best = int(np.argmax(search.cv_results_["mean_test_score"]))
    params = search.cv_results_["params"][best]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        test = MLPClassifier(max_iter=problem.epochs, random_state=seed, **params).fit(X, y)
    val = float(search.cv_results_["mean_test_score"][best])
    # It reports no completion times: its one "trial" is the whole search.
    return Outcome(wall, [(wall, val, float(test.score(Xt, yt)))])


def run_hpsearch(problem: Problem, seed: int) -> Outcome:
    """hpsearch's TPE over the same space, ``n_jobs`` worker processes."""
    import netcore
    from hpsearch import Study, space
    from hpsearch.execution.runner import discard_pool

    discard_pool()  # every search starts its workers, as a user's command does
    X, y, Xv, yv, Xt, yt = problem.arrays
    data = netcore.Dataset(problem.name, X, y, Xv, yv, Xt, yt, problem.n_classes)
    with tempfile.TemporaryDirectory() as folder:
        study = Study.create(
            "peers", data=data, strategy="tpe", storage=f"sqlite:///{folder}/runs.db", seed=seed,
            metric="val_accuracy", epochs=problem.epochs, patience=None, keep_models=0,
            space={"lr": space.log_float(*LR_RANGE), "hidden": space.choice(list(HIDDEN)),
                   "l2": space.log_float(*L2_RANGE), "batch_size": space.choice(list(BATCHES))},
            fixed={"optimizer": "adam"})
        start, wall_start = time.perf_counter(), time.time()
        study.run(n_trials=problem.trials, n_jobs=problem.jobs, progress=False)
        wall = time.perf_counter() - start
        done = [t for t in study.trials() if t.value is not None]
    log = [(t.datetime_complete.timestamp() - wall_start, t.value,
            t.user_attrs["metrics"]["test_accuracy"]) for t in done]
    return Outcome(wall, log)


CONTENDERS: dict[str, Callable[[Problem, int], Outcome]] = {
    "hpsearch": run_hpsearch,
    "optuna+torch": lambda p, s: run_optuna(p, torch_trial, s),
    "optuna+torch 2 proc": run_optuna_processes,
    "optuna+sklearn": lambda p, s: run_optuna(p, sklearn_trial, s),
    "sklearn RandomizedSearchCV": run_random_search_cv,
}
_NEEDS_TORCH = ("optuna+torch", "optuna+torch 2 proc")


def problems(quick: bool, trials: int, seeds: int) -> list[Problem]:
    import netcore

    digits = netcore.load_dataset("digits")
    arrays = lambda d: (d.X_train, d.y_train, d.X_val, d.y_val, d.X_test, d.y_test)  # noqa: E731
    found = [Problem("digits", arrays(digits), 10, 4 if quick else trials, 2 if quick else 30)]
    if not quick:
        mnist = netcore.load_dataset("mnist").subset(n_train=10_000)
        found.append(Problem("mnist-10k", tuple(np.ascontiguousarray(a) for a in arrays(mnist)),
                             10, trials, 10))
    return found


def available() -> tuple[list[str], list[str]]:
    import importlib.util

    if importlib.util.find_spec("torch") is not None:
        return list(CONTENDERS), []
    return ([c for c in CONTENDERS if c not in _NEEDS_TORCH],
            [f"{c}: torch is not installed" for c in _NEEDS_TORCH])


def measure(problem: Problem, names: list[str], seeds: int) -> dict[str, list[Outcome]]:
    """Every contender on ``problem`` for each seed, contenders alternating per seed."""
    runs: dict[str, list[Outcome]] = {name: [] for name in names}
    for seed in range(seeds):
        for name in names:
            runs[name].append(CONTENDERS[name](problem, seed))
    return runs


def _median(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return statistics.median(kept) if len(kept) == len(values) and kept else None


def summarize(runs: dict[str, list[Outcome]]) -> dict[str, dict]:
    """Medians over seeds; the common accuracy is the lowest final best in each seed."""
    seeds = len(next(iter(runs.values())))
    common = [min(outcomes[s].best[0] for outcomes in runs.values()) for s in range(seeds)]
    table = {}
    for name, outcomes in runs.items():
        single = len(outcomes[0].trials) == 1 and outcomes[0].trials[0][0] == outcomes[0].wall
        table[name] = {
            "wall": _median([o.wall for o in outcomes]),
            "to_common": None if single else _median([o.time_to(c) for o, c
                                                      in zip(outcomes, common, strict=True)]),
            "val": _median([o.best[0] for o in outcomes]),
            "test": _median([o.best[1] for o in outcomes]), "trials": len(outcomes[0].trials)}
    return table


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else format(value, spec)


def render(problem: Problem, table: dict[str, dict], seeds: int) -> str:
    base = table["hpsearch"]
    lines = [f"## {problem.name}: {problem.trials} trials of {problem.epochs} epochs, "
             f"{len(problem.arrays[0]):,} training rows, n_jobs={problem.jobs}, "
             f"medians of {seeds} seed(s)", "",
             "| contender | wall s | to common best s | best val acc | its test acc | "
             "wall / hpsearch | to common / hpsearch |", "|---|---|---|---|---|---|---|"]
    for name, row in table.items():
        ratio = row["wall"] / base["wall"]
        to_ratio = None if row["to_common"] is None or not base["to_common"] \
            else row["to_common"] / base["to_common"]
        lines.append(f"| {name} | {_fmt(row['wall'], '.1f')} | {_fmt(row['to_common'], '.1f')} | "
                     f"{_fmt(row['val'], '.4f')} | {_fmt(row['test'], '.4f')} | "
                     f"{_fmt(ratio, '.2f')} | {_fmt(to_ratio, '.2f')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="digits only, 4 trials of 2 epochs")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    names, skipped = available()
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [f"# Whole searches: hpsearch and its peers ({stamp}, {os.cpu_count()} cores)", ""]
    for problem in problems(args.quick, args.trials, args.seeds):
        seeds = 1 if args.quick else args.seeds
        parts += [render(problem, summarize(measure(problem, names, seeds)), seeds), ""]
    parts += [f"- skipped {reason}" for reason in skipped]
    report = "\n".join(parts).rstrip() + "\n"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "search_vs_peers.md").write_text(report, encoding="utf-8")
    print(report)
    return report


if __name__ == "__main__":
    main()
