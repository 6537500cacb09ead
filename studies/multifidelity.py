"""Multi-fidelity search that resumes: ASHA against random search and TPE + Hyperband on MNIST.

Three searches over the same space (learning rate, width, depth, optimizer and
momentum, L2, batch size) on the first 10,000 MNIST training images, each
configuration trained for at most ``epochs`` epochs, scored by its best epoch's
validation accuracy:

- **random**: N random configurations, each trained for all ``epochs``;
- **asha** (hpsearch ``strategy="asha"``, ``min_epochs=1``, ``eta=3``,
  ``max_configs=N``): N configurations, then promotions only until none is
  left; a promoted configuration resumes its paused training instead of
  starting again;
- **tpe+hyperband** (``strategy="tpe", pruner="hyperband"``): N configurations,
  Optuna's Hyperband pruner stopping the poor ones at its rungs.

Per method and study seed the report gives the configurations tried, the
epochs trained, the wall time, the best validation accuracy, and the best
validation accuracy each method had reached when the fastest of the three
(for that seed) had finished, from the trials' end timestamps.

    python -m studies.multifidelity --jobs 2
    python -m studies.multifidelity --quick --out DIR
"""

from __future__ import annotations

import json
import math
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import hpsearch
from hpsearch import space
from hpsearch.storages import records
from studies import common

NAME = "multifidelity"
METHODS = ("random", "asha", "tpe+hyperband")
SPACE = {
    "lr": space.log_float(1e-4, 0.3),
    "units": space.log_int(32, 256),
    "n_layers": space.int(1, 3),
    "optimizer": space.choice(["sgd", "momentum", "adam"]),
    "momentum": space.float(0.5, 0.99, when={"optimizer": ["momentum"]}),
    "l2": space.log_float(1e-6, 1e-2),
    "batch_size": space.choice([32, 64, 128]),
}
FIXED = {"activation": "relu", "init": "he"}
FULL = {"configs": 30, "epochs": 27, "seeds": [0, 1, 2], "max_train": 10_000, "eta": 3}
QUICK = {"configs": 4, "epochs": 3, "seeds": [0], "max_train": 500, "eta": 3}
TARGET_GAP_PP, TARGET_RATIO = 0.2, 0.35


@dataclass
class Run:
    """One search: its trials' end times (seconds from its start), values and epochs."""

    method: str
    seed: int
    seconds: float
    ends: np.ndarray
    values: np.ndarray  # NaN for trials without a value (failed)
    epochs: int
    configs: int
    failed: int
    params: list[str]  # each configuration's parameters, as comparable text
    best_params: str

    def best_at(self, seconds: float) -> float:
        done = self.values[self.ends <= seconds]
        return float(np.nanmax(done)) if np.isfinite(done).any() else math.nan

    @property
    def best(self) -> float:
        return float(np.nanmax(self.values))


def _create(method: str, seed: int, cfg: dict, folder: Path) -> hpsearch.Study:
    strategy, pruner, options = {
        "random": ("random", None, {}),
        "asha": ("asha", None, {"min_epochs": 1, "eta": cfg["eta"],
                                "max_configs": cfg["configs"]}),
        "tpe+hyperband": ("tpe", "hyperband", {}),
    }[method]
    name = f"{method.replace('+', '-')}-{seed}"
    return hpsearch.Study.create(
        name, dataset="mnist", strategy=strategy, pruner=pruner, strategy_options=options,
        space=SPACE, fixed=FIXED, metric="val_accuracy", epochs=cfg["epochs"], patience=None,
        max_train=cfg["max_train"], seed=seed, keep_models=0,
        storage=f"sqlite:///{folder / f'{name}.db'}")


def _configs(study: hpsearch.Study) -> int:
    """Configurations the study tried (an asha configuration spans several jobs)."""
    ids = set()
    for trial in study.trials():
        fidelity = records.fidelity_of(trial)
        ids.add(records.slot_of(trial) if fidelity is None else fidelity.config_id)
    return len(ids)


def _epochs(trial) -> int:
    metrics = records.metrics_of(trial)
    return int(metrics.get("epochs_trained", metrics.get("epochs_run", 0)) or 0)


def run_search(method: str, seed: int, cfg: dict, folder: Path, n_jobs: int) -> Run:
    """Run one search to its budget of configurations and describe its trials."""
    study = _create(method, seed, cfg, folder)
    start = time.time()
    # asha's n_trials counts jobs: its max_configs ends the search first, once every
    # configuration went as far as successive halving takes it.
    n_trials = cfg["configs"] * (4 if method == "asha" else 1)
    study.run(n_trials=n_trials, n_jobs=n_jobs, progress=False)
    seconds = time.time() - start
    trials = study.trials()
    params = sorted({json.dumps(t.params, sort_keys=True) for t in trials})
    done = [t for t in trials if t.value is not None and t.state.name != "FAIL"]
    best = json.dumps(max(done, key=lambda t: t.value).params, sort_keys=True) if done else ""
    ends = np.array([t.datetime_complete.timestamp() - start for t in trials])
    values = np.array([t.value if t.value is not None and t.state.name != "FAIL" else math.nan
                       for t in trials], dtype=float)
    return Run(method, seed, seconds, ends, values, sum(_epochs(t) for t in trials),
               _configs(study), sum(t.state.name == "FAIL" for t in trials), params, best)


def per_seed_table(runs: list[Run]) -> str:
    header = ["method", "seed", "configurations", "jobs/trials", "epochs trained", "wall time (s)",
              "best val acc %", "val acc % at equal wall time", "failed"]
    rows = []
    for seed in sorted({r.seed for r in runs}):
        group = [r for r in runs if r.seed == seed]
        fastest = min(r.seconds for r in group)
        for r in group:
            rows.append([r.method, seed, r.configs, len(r.values), r.epochs, f"{r.seconds:.0f}",
                         f"{100 * r.best:.2f}", f"{100 * r.best_at(fastest):.2f}", r.failed])
    return common.markdown_table(header, rows)


def summary(runs: list[Run]) -> tuple[str, str]:
    """The mean per method, and the verdict on the target for asha against random."""
    header = ["method", "configurations", "epochs trained", "epochs / random's", "wall time (s)",
              "best val acc %", "gap to random (pp)", "val acc % at equal wall time"]
    seeds = sorted({r.seed for r in runs})
    by = {(r.method, r.seed): r for r in runs}
    rows, ratios, gaps = [], {}, {}
    for method in METHODS:
        group = [by[(method, s)] for s in seeds]
        ratio = [by[(method, s)].epochs / by[("random", s)].epochs for s in seeds]
        gap = [100 * (by[("random", s)].best - by[(method, s)].best) for s in seeds]
        equal = [100 * by[(method, s)].best_at(min(by[(m, s)].seconds for m in METHODS))
                 for s in seeds]
        ratios[method], gaps[method] = ratio, gap
        rows.append([method, common.mean_std([r.configs for r in group], digits=1),
                     common.mean_std([r.epochs for r in group], digits=0),
                     common.mean_std(ratio), common.mean_std([r.seconds for r in group], digits=0),
                     common.mean_std([100 * r.best for r in group]), common.mean_std(gap),
                     common.mean_std(equal)])
    ratio, gap = float(np.mean(ratios["asha"])), float(np.mean(gaps["asha"]))
    met = ratio <= TARGET_RATIO and gap <= TARGET_GAP_PP
    verdict = (f"**Target** (ASHA within {TARGET_GAP_PP} pp of random search's best accuracy "
               f"using at most {TARGET_RATIO:.0%} of its epochs): ASHA used "
               f"{ratio:.1%} of random search's epochs (per seed: "
               f"{', '.join(f'{r:.1%}' for r in ratios['asha'])}) and its best validation "
               f"accuracy was {gap:+.2f} pp below random's on average (per seed: "
               f"{', '.join(f'{g:+.2f}' for g in gaps['asha'])}; negative = ASHA better). "
               + ("The target is **met**." if met else
                  f"The target is **missed**: the epoch ratio by "
                  f"{max(0.0, ratio - TARGET_RATIO):.1%} and the accuracy by "
                  f"{max(0.0, gap - TARGET_GAP_PP):.2f} pp."))
    return common.markdown_table(header, rows), verdict


def shared_draws(runs: list[Run]) -> str:
    """How many configurations asha shares with random search (same seed, same draws)."""
    parts = []
    for seed in sorted({r.seed for r in runs}):
        rnd = next(r for r in runs if r.method == "random" and r.seed == seed)
        asha = next(r for r in runs if r.method == "asha" and r.seed == seed)
        same = len(set(rnd.params) & set(asha.params))
        parts.append(f"seed {seed}: {same} of {asha.configs}"
                     + (", the same best configuration" if rnd.best_params == asha.best_params
                        else ", different best configurations"))
    return ("**Same configurations.** asha's k-th configuration is random search's k-th draw "
            "with the same seed, so both evaluate the same configurations (a paired "
            "comparison, without the luck of different draws); they differ in how long each "
            "configuration trains, and in its training seed when asha started it in another "
            "slot (after a promotion). Configurations asha shares with random search: "
            + "; ".join(parts) + ".")


def plot(runs: list[Run], out: Path) -> None:
    """Best validation accuracy so far against wall time, one panel per seed."""
    seeds = sorted({r.seed for r in runs})
    fig, axes = common.new_figure(len(seeds), width=4.5, height=3.8)
    for ax, seed in zip(axes[0], seeds, strict=True):
        for i, method in enumerate(METHODS):
            r = next(r for r in runs if r.method == method and r.seed == seed)
            order = np.argsort(r.ends)
            best = np.fmax.accumulate(np.nan_to_num(r.values[order], nan=0.0)) * 100
            ax.step(r.ends[order], best, where="post", color=f"C{i}", label=method)
        ax.set(xlabel="wall time (s)", ylabel="best val acc so far (%)", title=f"seed {seed}")
        low = min(100 * r.best for r in runs if r.seed == seed)
        ax.set_ylim(low - 3, None)
        ax.legend(fontsize=8)
    common.save_figure(fig, out, NAME)


def main(argv: list[str] | None = None) -> int:
    parser = common.build_parser(NAME, "ASHA (resuming) vs random search vs TPE + Hyperband "
                                       "on MNIST: epochs and accuracy at equal wall time.")
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    start = time.perf_counter()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in cfg["seeds"]:
            for method in METHODS:
                runs.append(run_search(method, seed, cfg, Path(tmp), args.jobs))
                print(f"{method} seed {seed}: {runs[-1].configs} configurations, "
                      f"{runs[-1].epochs} epochs, best {100 * runs[-1].best:.2f} %, "
                      f"{time.perf_counter() - start:.0f} s in all", flush=True)
    seconds = time.perf_counter() - start
    table, verdict = summary(runs)
    setup = (f"Space: lr log-uniform in [1e-4, 0.3], units log-uniform integer in [32, 256], "
             f"1–3 hidden layers, optimizer sgd / momentum (momentum in [0.5, 0.99]) / adam, "
             f"l2 log-uniform in [1e-6, 1e-2], batch size 32 / 64 / 128; ReLU, He "
             f"initialisation; no early stopping. Each configuration trains for at most "
             f"{cfg['epochs']} epochs on the first {cfg['max_train']:,} training images; its value "
             f"is its best epoch's accuracy on the 10,000 validation images. **random**: "
             f"{cfg['configs']} configurations × {cfg['epochs']} epochs. **asha**: "
             f"min_epochs=1, eta={cfg['eta']} (rungs "
             f"{hpsearch.strategies.asha.rung_epochs(1, cfg['eta'], cfg['epochs'])}), "
             f"max_configs={cfg['configs']}: {cfg['configs']} random configurations, then "
             f"promotions only until none is left (asynchronous: a configuration is promoted "
             f"when it is in the top 1/eta of its rung's results so far); promoted jobs resume "
             f"their paused training. **tpe+hyperband**: Optuna TPE (10 random start-up "
             f"trials) with Optuna's HyperbandPruner (min_resource=1, max_resource="
             f"{cfg['epochs']}, reduction factor 3), {cfg['configs']} configurations. "
             f"Study seeds {cfg['seeds']}, {args.jobs} parallel worker(s). "
             f"Epochs trained: all epochs of every trial (for asha, each job's own epochs; "
             f"pruned trials count the epochs they ran; failed, diverged trials count none). "
             f"\"At equal wall time\": the best validation accuracy among the trials a method "
             f"had finished when the fastest of the three (for that seed) finished.")
    common.write_report(args.out, NAME, "Multi-fidelity that resumes: ASHA vs random search "
                        "vs TPE + Hyperband on MNIST",
                        [setup, common.run_info(args, NAME, seconds), verdict, shared_draws(runs),
                         "## Mean ± std over seeds\n\n" + table,
                         "## Per seed\n\n" + per_seed_table(runs)])
    plot(runs, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
