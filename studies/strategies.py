"""Search strategies head to head: grid, random, TPE (Optuna and Hyperopt), the LR range
test, CMA-ES, Gaussian-process BO and quasi-random (Sobol) search.

Every strategy gets the same MNIST search space (learning rate, hidden width,
L2 penalty of a one-hidden-layer ReLU net trained with momentum SGD), the same
budget of trials and the same cheap objective (a few epochs on a training
subset, best validation accuracy). The grid has exactly as many points as the
budget, three per parameter. Each strategy runs with several study seeds, each
study in its own temporary SQLite file; we plot the best validation accuracy
found so far against the number of trials.

    python -m studies.strategies --jobs 2
    python -m studies.strategies --quick --out DIR
"""

from __future__ import annotations

import importlib.util
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import hpsearch
from hpsearch import space
from studies import common

NAME = "strategies"
WANTED = ["grid", "random", "tpe", "tpe-hyperopt", "lr-range", "cmaes", "gp", "qmc"]
SPACE = {"lr": space.log_float(1e-4, 1.0), "units": space.log_int(16, 256),
         "l2": space.log_float(1e-6, 1e-2)}
FIXED = {"optimizer": "momentum", "activation": "relu", "init": "he", "batch_size": 64}
FULL = {"grid_points": 3, "trials": 27, "seeds": [0, 1, 2], "max_train": 10_000, "epochs": 3,
        "tpe_startup": 10, "marks": [5, 10, 15, 27]}
QUICK = {"grid_points": 2, "trials": 4, "seeds": [0], "max_train": 500, "epochs": 1, "tpe_startup": 2,
         "marks": [2, 4]}


# Strategies that need an optional package, and the extra that installs it.
NEEDS = {"cmaes": ("cmaes", "cmaes"), "gp": ("torch", "gp")}


def available() -> tuple[list[str], dict[str, str]]:
    """The wanted strategies that can run here, and why each of the others cannot."""
    missing = {}
    for name in WANTED:
        if name not in hpsearch.STRATEGIES:
            missing[name] = "not registered in `hpsearch.STRATEGIES`"
        elif name in NEEDS and importlib.util.find_spec(NEEDS[name][0]) is None:
            module, extra = NEEDS[name]
            missing[name] = f"needs {module}, which is not installed (`pip install 'hpsearch[{extra}]'`)"
    return [s for s in WANTED if s not in missing], missing


def run_study(strategy: str, seed: int, cfg: dict, storage_dir: Path, n_jobs: int) -> pd.DataFrame:
    """One study; its trials in slot order with the best-so-far validation accuracy."""
    startup = {"n_startup_trials": cfg["tpe_startup"]}
    options = {"grid": {"points": cfg["grid_points"]}, "tpe": startup, "tpe-hyperopt": startup,
               "cmaes": startup, "gp": startup}.get(strategy, {})
    study = hpsearch.Study.create(
        f"{strategy}-{seed}", dataset="mnist", strategy=strategy, space=SPACE, fixed=FIXED,
        strategy_options=options, metric="val_accuracy", epochs=cfg["epochs"], patience=None,
        max_train=cfg["max_train"], storage=f"sqlite:///{storage_dir / f'{strategy}-{seed}.db'}",
        seed=seed)
    start = time.perf_counter()
    frame = study.run(n_trials=cfg["trials"], n_jobs=n_jobs, progress=False)
    frame = frame.sort_values("trial").reset_index(drop=True)
    values = frame["value"].where(frame["state"] == "COMPLETE")
    frame["best_so_far"] = values.cummax().ffill()
    frame.attrs["seconds"] = time.perf_counter() - start
    return frame


def best_row(frame: pd.DataFrame) -> pd.Series:
    done = frame[frame["state"] == "COMPLETE"]
    return done.loc[done["value"].idxmax()]


def results_table(studies: dict[str, list[pd.DataFrame]], marks: list[int]) -> str:
    header = ["strategy", *[f"best val acc % after {m} trials" for m in marks], "best, per seed",
              "test acc % of the best trial", "failed trials", "s per study"]
    rows = []
    for strategy, frames in studies.items():
        at = [[f["best_so_far"].iloc[min(m, len(f)) - 1] * 100 for f in frames] for m in marks]
        best = [best_row(f) for f in frames]
        rows.append([strategy, *[common.mean_std(v) for v in at],
                     ", ".join(f"{b['value'] * 100:.2f}" for b in best),
                     common.mean_std([b["test_accuracy"] * 100 for b in best]),
                     sum(int((f["state"] != "COMPLETE").sum()) for f in frames),
                     f"{np.mean([f.attrs['seconds'] for f in frames]):.0f}"])
    return common.markdown_table(header, rows)


def best_params_table(studies: dict[str, list[pd.DataFrame]], seeds: list[int]) -> str:
    header = ["strategy", "seed", "trial #", "lr", "units", "l2", "val acc %", "test acc %"]
    rows = []
    for strategy, frames in studies.items():
        for seed, frame in zip(seeds, frames, strict=True):
            b = best_row(frame)
            rows.append([strategy, seed, int(b["trial"]) + 1, f"{b['lr']:.3g}", int(b["units"]),
                         f"{b['l2']:.2g}", f"{b['value'] * 100:.2f}", f"{b['test_accuracy'] * 100:.2f}"])
    return common.markdown_table(header, rows)


def plot(studies: dict[str, list[pd.DataFrame]], out) -> None:
    fig, axes = common.new_figure(2, width=6.0, height=4.5)
    curve_ax, lr_ax = axes[0]
    for i, (strategy, frames) in enumerate(studies.items()):
        curves = np.array([f["best_so_far"].to_numpy(dtype=float) * 100 for f in frames])
        trials = np.arange(1, curves.shape[1] + 1)
        curve_ax.plot(trials, np.nanmean(curves, axis=0), color=f"C{i}", label=strategy)
        curve_ax.fill_between(trials, np.nanmin(curves, axis=0), np.nanmax(curves, axis=0),
                              color=f"C{i}", alpha=0.15)
        every = pd.concat(frames)
        done = every[every["state"] == "COMPLETE"]
        lr_ax.scatter(done["lr"], done["value"] * 100, s=12, alpha=0.6, color=f"C{i}", label=strategy)
    curve_ax.set(xlabel="trials", ylabel="best validation accuracy so far (%)",
                 title="best so far: mean over seeds, band = min–max")
    low = np.nanmin([np.nanmean([f["best_so_far"].iloc[-1] for f in fs]) for fs in studies.values()])
    curve_ax.set_ylim(max(curve_ax.get_ylim()[0], 100 * low - 5), None)
    lr_ax.set(xscale="log", xlabel="learning rate", ylabel="validation accuracy (%)",
              title="every trial, by learning rate", ylim=(max(lr_ax.get_ylim()[0], 50), None))
    curve_ax.legend(fontsize=8)
    lr_ax.legend(fontsize=8)
    common.save_figure(fig, out, NAME)


def main(argv: list[str] | None = None) -> int:
    parser = common.build_parser(NAME, "Grid, random, TPE, TPE-hyperopt, lr-range, CMA-ES, GP and "
                                       "QMC on the same MNIST space and budget, over several "
                                       "study seeds.")
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    strategies, missing = available()
    start = time.perf_counter()
    studies: dict[str, list[pd.DataFrame]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for strategy in strategies:
            studies[strategy] = [run_study(strategy, seed, cfg, Path(tmp), args.jobs)
                                 for seed in cfg["seeds"]]
            print(f"{strategy}: done after {time.perf_counter() - start:.0f} s")
    seconds = time.perf_counter() - start
    setup = (f"Space: lr log-uniform in [1e-4, 1], hidden units log-uniform integer in [16, 256], "
             f"l2 log-uniform in [1e-6, 1e-2]; fixed: momentum SGD (0.9), ReLU, He initialisation, "
             f"minibatch 64, {cfg['epochs']} epochs on the first {cfg['max_train']:,} training "
             f"images; the objective is the best epoch's accuracy on the 10,000 validation images. "
             f"Budget: {cfg['trials']} trials per study (the grid: {cfg['grid_points']} points per "
             f"parameter = {cfg['grid_points'] ** 3} points), study seeds {cfg['seeds']}, "
             f"{args.jobs} parallel worker(s). Both TPEs, CMA-ES and the GP start with "
             f"{cfg['tpe_startup']} random trials (Hyperopt's default of 20 would leave it few "
             f"model-based trials). Test "
             f"accuracy is of the trial with the best validation accuracy, as trained in the study.")
    if "lr-range" in strategies:
        setup += (" **lr-range** draws units and l2 at random and sets each trial's lr by a "
                  "learning-rate range test (hpsearch's defaults: 100 exponentially growing steps "
                  "over the space's lr bounds, [1e-4, 1]) before training; those extra steps make "
                  "its trials somewhat dearer, so the same number of trials is not quite the same "
                  "compute.")
    described = {"cmaes": "**cmaes** is Optuna's CmaEsSampler (CMA-ES over the three numeric "
                          "parameters, in log space where the space is log).",
                 "gp": "**gp** is Optuna's GPSampler: Gaussian-process Bayesian optimisation "
                       "(it needs PyTorch).",
                 "qmc": "**qmc** is Optuna's QMCSampler with a scrambled Sobol sequence: a "
                        "space-filling random search that learns nothing from the results."}
    setup += "".join(f" {described[s]}" for s in strategies if s in described)
    left_out = ("Left out: " + "; ".join(f"{s} — {why}" for s, why in missing.items())
                + " when this ran." if missing else "Every wanted strategy ran.")
    common.write_report(args.out, NAME, "Search strategies on MNIST: the same space and budget",
                        [setup, common.run_info(args, NAME, seconds), left_out,
                         results_table(studies, cfg["marks"]),
                         "## Best trial of each study\n\n" + best_params_table(studies, cfg["seeds"])])
    plot(studies, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
