"""Small tables: ``hpsearch.tune`` with its defaults against what a scikit-learn user writes.

``python -m studies.benchmarks.own_data_vs_peers`` takes scikit-learn's
breast_cancer, wine, digits and diabetes tables, splits each 60/20/20
(train/validation/test; stratified for classes) with the seed, and gives the
same splits to four contenders:

- ``hpsearch.tune``: the call a user makes, every search option at its
  default (space, epochs, early stopping, metric), on a ``netcore.Dataset`` of
  those splits (standardized with the training rows' statistics), ``n_jobs=2``;
- ``RandomizedSearchCV``: scikit-learn's random search over ``MLPClassifier`` /
  ``MLPRegressor`` (in a ``StandardScaler`` pipeline; regression targets
  through ``TransformedTargetRegressor``), fitted on train and selected on
  validation (``PredefinedSplit``), the winner refitted on train, ``n_jobs=2``;
- ``Optuna TPE``: the same estimator and space, fitted on train, scored on
  validation, ``n_jobs=2`` threads; the best trial's fitted estimator is tested;
- ``linear``: ``LogisticRegression`` / ``Ridge`` at their defaults on the
  standardized train rows (no search: the floor any search should clear).

Both MLP peers search the same space: hidden widths, ``alpha``,
``learning_rate_init`` and ``batch_size``, with scikit-learn's default of at
most 200 epochs. Reported, as means over the seeds: test accuracy
(classification) or test RMSE in the target's units (regression), wall time of
the whole search (worker start-up included), and each wall time as a ratio to
``tune``'s measured in the same run. The target: ``tune`` within 0.5 pp of the
best MLP peer's accuracy, within 1 % of its RMSE, and the fastest. Writes
``results/own_data_vs_peers.md`` and ``.json`` (``--name`` picks another name,
e.g. for a run with more seeds: one test row of wine is 2.8 pp of accuracy).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
TABLES = ("breast_cancer", "wine", "digits", "diabetes")
QUICK_TABLES = ("wine", "diabetes")
JOBS = 2
HIDDEN = ((32,), (64,), (128,), (64, 32), (128, 64))
BATCHES = (16, 32, 64, 128)
LR_RANGE, ALPHA_RANGE = (1e-4, 1e-1), (1e-6, 1e-1)
# Quick mode (CI): few trials, few epochs; it checks the table, never the numbers.
QUICK = {"trials": 3, "epochs": 3, "max_iter": 5}


@dataclass(frozen=True)
class Table:
    """One data set's 60/20/20 splits (raw features) for one seed."""

    name: str
    task: str
    arrays: tuple  # X_train, y_train, X_val, y_val, X_test, y_test

    @property
    def classification(self) -> bool:
        return self.task == "classification"


@dataclass(frozen=True)
class Budget:
    """What every search gets: trials, and epochs for a quick run (None: each one's default)."""

    trials: int
    epochs: int | None = None
    max_iter: int = 200


@dataclass(frozen=True)
class Outcome:
    """One search: the test metric of the model it chose, its wall time in seconds and
    (``tune``) the parameters it chose."""

    test: float
    wall: float
    params: dict | None = None


def load_table(name: str, seed: int) -> Table:
    """scikit-learn's table ``name`` split 60/20/20 by ``seed`` (stratified for classes)."""
    from sklearn import datasets
    from sklearn.model_selection import train_test_split

    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    task = "regression" if name == "diabetes" else "classification"
    strata = y if task == "classification" else None
    X_rest, X_test, y_rest, y_test = train_test_split(X, y, test_size=0.2, random_state=seed,
                                                      stratify=strata)
    strata = y_rest if task == "classification" else None
    X_train, X_val, y_train, y_val = train_test_split(X_rest, y_rest, test_size=0.25,
                                                      random_state=seed, stratify=strata)
    return Table(name, task, (X_train, y_train, X_val, y_val, X_test, y_test))


def score(table: Table, y_true, y_pred) -> float:
    """Accuracy for classes, RMSE in the target's units for regression."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if table.classification:
        return float(np.mean(y_true == y_pred))
    return float(np.sqrt(np.mean((y_true.astype(float) - y_pred.astype(float)) ** 2)))


def run_tune(table: Table, budget: Budget, seed: int) -> Outcome:
    """``hpsearch.tune`` on the table's splits with every search option at its default."""
    import hpsearch
    import netcore
    from hpsearch.execution.runner import discard_pool

    discard_pool()  # every search starts its workers, as a user's script does
    X, y, Xv, yv, Xt, yt = table.arrays
    start = time.perf_counter()
    data = netcore.Dataset.from_arrays(X, y, X_val=Xv, y_val=yv, X_test=Xt, y_test=yt,
                                       task=table.task)
    extra = {} if budget.epochs is None else {"epochs": budget.epochs}
    study = hpsearch.tune(data, n_trials=budget.trials, n_jobs=JOBS, seed=seed, progress=False,
                          **extra)
    wall = time.perf_counter() - start
    best = study.best_trial
    return Outcome(best["metrics"]["test_accuracy" if table.classification else "test_rmse"], wall,
                   best["params"])


def mlp(table: Table, budget: Budget, seed: int, **params):
    """scikit-learn's MLP behind a ``StandardScaler`` (and a scaled target for regression)."""
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    kind = MLPClassifier if table.classification else MLPRegressor
    model = make_pipeline(StandardScaler(), kind(max_iter=budget.max_iter, random_state=seed,
                                                 **params))
    if table.classification:
        return model
    return TransformedTargetRegressor(model, transformer=StandardScaler())


def _params(prefix: str, values: dict) -> dict:
    return {f"{prefix}{k}": v for k, v in values.items()}


def _prefix(table: Table) -> str:
    return "mlpclassifier__" if table.classification else "regressor__mlpregressor__"


def run_random_search_cv(table: Table, budget: Budget, seed: int) -> Outcome:
    """RandomizedSearchCV: fit on train, select on validation, refit the winner on train."""
    from scipy.stats import loguniform
    from sklearn.model_selection import PredefinedSplit, RandomizedSearchCV

    X, y, Xv, yv, Xt, yt = table.arrays
    grid = _params(_prefix(table), {"hidden_layer_sizes": list(HIDDEN),
                                    "alpha": loguniform(*ALPHA_RANGE),
                                    "learning_rate_init": loguniform(*LR_RANGE),
                                    "batch_size": list(BATCHES)})
    scoring = None if table.classification else "neg_root_mean_squared_error"
    start = time.perf_counter()
    search = RandomizedSearchCV(mlp(table, budget, seed), grid, n_iter=budget.trials,
                                scoring=scoring, n_jobs=JOBS, random_state=seed, refit=False,
                                cv=PredefinedSplit(np.r_[np.full(len(X), -1), np.zeros(len(Xv))]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(np.concatenate([X, Xv]), np.concatenate([y, yv]))
        best = search.cv_results_["params"][int(np.argmax(search.cv_results_["mean_test_score"]))]
        model = mlp(table, budget, seed).set_params(**best).fit(X, y)
    wall = time.perf_counter() - start
    return Outcome(score(table, yt, model.predict(Xt)), wall)


def _suggest(trial) -> dict:
    return {"hidden_layer_sizes": HIDDEN[trial.suggest_categorical("hidden", list(range(len(HIDDEN))))],
            "alpha": trial.suggest_float("alpha", *ALPHA_RANGE, log=True),
            "learning_rate_init": trial.suggest_float("learning_rate_init", *LR_RANGE, log=True),
            "batch_size": trial.suggest_categorical("batch_size", list(BATCHES))}


def run_optuna(table: Table, budget: Budget, seed: int) -> Outcome:
    """Optuna TPE around the same estimator: fit on train, score on validation."""
    import optuna

    X, y, Xv, yv, Xt, yt = table.arrays
    tested: dict[int, float] = {}

    def objective(trial) -> float:
        model = mlp(table, budget, seed, **_suggest(trial)).fit(X, y)
        tested[trial.number] = score(table, yt, model.predict(Xt))
        return score(table, yv, model.predict(Xv))

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    start = time.perf_counter()
    study = optuna.create_study(direction="maximize" if table.classification else "minimize",
                                sampler=optuna.samplers.TPESampler(seed=seed))
    # Around the whole optimize: its trials run in threads, and warning filters set inside a
    # thread are process-wide state that another thread's exit can restore mid-fit.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(objective, n_trials=budget.trials, n_jobs=JOBS)
    wall = time.perf_counter() - start
    return Outcome(tested[study.best_trial.number], wall)


def run_linear(table: Table, budget: Budget, seed: int) -> Outcome:
    """``LogisticRegression`` / ``Ridge`` at their defaults on standardized features."""
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y, _, _, Xt, yt = table.arrays
    start = time.perf_counter()
    estimator = LogisticRegression(max_iter=1000) if table.classification else Ridge()
    model = make_pipeline(StandardScaler(), estimator).fit(X, y)
    wall = time.perf_counter() - start
    return Outcome(score(table, yt, model.predict(Xt)), wall)


CONTENDERS: dict[str, Callable[[Table, Budget, int], Outcome]] = {
    "hpsearch.tune": run_tune,
    "RandomizedSearchCV + MLP": run_random_search_cv,
    "Optuna TPE + MLP": run_optuna,
    "linear": run_linear,
}
MLP_PEERS = ("RandomizedSearchCV + MLP", "Optuna TPE + MLP")


def measure(name: str, budget: Budget, seeds: int) -> dict[str, list[Outcome]]:
    """Every contender on table ``name`` for each seed (all on that seed's splits)."""
    runs: dict[str, list[Outcome]] = {contender: [] for contender in CONTENDERS}
    for seed in range(seeds):
        table = load_table(name, seed)
        for contender, run in CONTENDERS.items():
            runs[contender].append(outcome := run(table, budget, seed))
            print(f"{name} seed {seed} {contender}: test {outcome.test:.4f}, "
                  f"{outcome.wall:.2f} s", file=sys.stderr, flush=True)
    return runs


def summarize(task: str, runs: dict[str, list[Outcome]]) -> dict:
    """Means over seeds, wall ratios to ``tune`` and ``tune``'s gap to the best MLP peer."""
    rows = {name: {"test": statistics.fmean(o.test for o in outcomes),
                   "test_sd": statistics.pstdev([o.test for o in outcomes]),
                   "wall": statistics.fmean(o.wall for o in outcomes)}
            for name, outcomes in runs.items()}
    ours = rows["hpsearch.tune"]
    for row in rows.values():
        row["wall_ratio"] = row["wall"] / ours["wall"]
    higher = task == "classification"
    best = (max if higher else min)(MLP_PEERS, key=lambda p: rows[p]["test"])
    # Accuracy gap in percentage points; RMSE gap in percent of the peer's RMSE (> 0: tune worse).
    gap = 100 * (rows[best]["test"] - ours["test"]) if higher \
        else 100 * (ours["test"] / rows[best]["test"] - 1)
    fastest = all(rows[p]["wall"] > ours["wall"] for p in MLP_PEERS)
    target = 0.5 if higher else 1.0
    return {"task": task, "rows": rows, "best_peer": best, "gap": gap, "target": target,
            "met": gap <= target and fastest, "fastest": fastest,
            "runs": {name: [vars(o) for o in outcomes] for name, outcomes in runs.items()}}


def _line(name: str, row: dict, unit: str) -> str:
    return (f"| {name} | {row['test']:{unit}} ± {row['test_sd']:{unit}} | {row['wall']:.2f} | "
            f"{row['wall_ratio']:.2f} |")


def render(name: str, summary: dict) -> list[str]:
    """One table's section: a row per contender and the verdict on the target."""
    classes = summary["task"] == "classification"
    metric, unit = ("test accuracy", ".4f") if classes else ("test RMSE", ".2f")
    gap = f"{summary['gap']:+.2f} {'pp' if classes else '%'}"
    verdict = "met" if summary["met"] else "not met"
    grain = [f"One of the {summary['test_rows']} test rows is {100 / summary['test_rows']:.2f} pp "
             "of a seed's accuracy.", ""] if classes and "test_rows" in summary else []
    return [f"## {name} ({summary['task']})", "",
            f"| contender | {metric} (mean ± sd) | wall s | wall / tune |", "|---|---|---|---|",
            *(_line(n, row, unit) for n, row in summary["rows"].items()), "",
            f"tune vs the best MLP peer ({summary['best_peer']}): {gap} "
            f"(target ≤ {summary['target']:g} {'pp' if classes else '%'}, and fastest: "
            f"{'yes' if summary['fastest'] else 'no'}): {verdict}", "", *grain]


def report(summaries: dict[str, dict], budget: Budget, seeds: int) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    epochs = "defaults" if budget.epochs is None else f"{budget.epochs} epochs"
    lines = [f"# Small tables: hpsearch.tune and its peers ({stamp}, {os.cpu_count()} cores)", "",
             f"{budget.trials} trials per search, n_jobs={JOBS}, {seeds} seed(s) of 60/20/20 "
             f"splits, {epochs}; scikit-learn MLPs at most {budget.max_iter} epochs. "
             "Means over seeds; wall / tune is measured in the same run.", ""]
    for name, summary in summaries.items():
        lines += render(name, summary)
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--tables", nargs="+", choices=TABLES, default=list(TABLES))
    parser.add_argument("--quick", action="store_true",
                        help=f"{', '.join(QUICK_TABLES)}, 1 seed, {QUICK['trials']} trials of "
                             f"{QUICK['epochs']} epochs ({QUICK['max_iter']} for scikit-learn)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--name", default="own_data_vs_peers",
                        help="the results' file name, without .md / .json")
    args = parser.parse_args(argv)
    budget = Budget(**QUICK) if args.quick else Budget(args.trials)
    seeds, tables = (1, QUICK_TABLES) if args.quick else (args.seeds, args.tables)
    summaries = {}
    for name in tables:
        task = "regression" if name == "diabetes" else "classification"
        summaries[name] = summarize(task, measure(name, budget, seeds))
        summaries[name]["test_rows"] = len(load_table(name, 0).arrays[5])
    text = report(summaries, budget, seeds)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.md").write_text(text, encoding="utf-8")
    (args.out / f"{args.name}.json").write_text(json.dumps(
        {"trials": budget.trials, "seeds": seeds, "tables": summaries}, indent=1) + "\n",
        encoding="utf-8")
    print(text)
    return text


if __name__ == "__main__":
    main()
