"""Six optimizers on MNIST, each at its own tuned learning rate.

SGD, momentum, Nesterov, RMSprop, Adam and Adagrad train a 784-100-10 ReLU
net (He initialisation, softmax cross-entropy, minibatch 128). Comparing
optimizers at one shared learning rate mostly measures which one that rate
suits, so each first gets its rate from a grid search (an hpsearch study over
a log grid, a few epochs on a training subset, best validation loss); then
each trains at its best rate on all 50,000 training images.

    python -m studies.optimizers --jobs 2
    python -m studies.optimizers --quick --out DIR
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

import hpsearch
import netcore
from hpsearch import space
from studies import common

NAME = "optimizers"
OPTIMIZERS = ["sgd", "momentum", "nesterov", "rmsprop", "adam", "adagrad"]
NET = {"hidden": [100], "activation": "relu", "init": "he", "batch_size": 128}
FULL = {"optimizers": OPTIMIZERS, "lr_range": (1e-5, 10.0), "points": 13, "tune_epochs": 5,
        "tune_train": 20_000, "epochs": 30, "seeds": [0, 1, 2], "n_train": None}
QUICK = {"optimizers": ["sgd", "adam"], "lr_range": (1e-3, 1e-1), "points": 3, "tune_epochs": 1,
         "tune_train": 1000, "epochs": 2, "seeds": [0], "n_train": 2000}


def tune(optimizer: str, cfg: dict, storage_dir: Path, n_jobs: int) -> dict:
    """Grid search over the learning rate; the trials as rows and the best rate."""
    study = hpsearch.Study.create(
        f"lr-{optimizer}", dataset="mnist", strategy="grid",
        space={"lr": space.log_float(*cfg["lr_range"])}, strategy_options={"points": cfg["points"]},
        fixed={"optimizer": optimizer, **NET}, epochs=cfg["tune_epochs"], patience=None,
        max_train=cfg["tune_train"], metric="val_loss",
        storage=f"sqlite:///{storage_dir / f'{optimizer}.db'}", seed=0)
    frame = study.run(n_trials=cfg["points"], n_jobs=n_jobs, progress=False)
    trials = [{"lr": row.lr, "val_loss": row.value if row.state == "COMPLETE" else None}
              for row in frame.itertuples()]
    return {"optimizer": optimizer, "best_lr": study.best_params["lr"],
            "best_value": study.best_value, "trials": trials}


def train(optimizer: str, lr: float, seed: int, epochs: int, n_train: int | None) -> dict:
    """Train at ``lr`` on the training set; learning curves and final test accuracy."""
    data = common.mnist().subset(n_train)
    model = netcore.MLP([784, *NET["hidden"], 10], activation=NET["activation"], init=NET["init"],
                        seed=seed)
    start = time.perf_counter()
    hist = netcore.fit(model, data.X_train, data.y_train, data.X_val, data.y_val, optimizer=optimizer,
                       lr=lr, batch_size=NET["batch_size"], epochs=epochs, seed=seed)
    return {"optimizer": optimizer, "seed": seed,
            "curves": {k: list(v) for k, v in hist.metrics.items() if k != "time"},
            "test_accuracy": model.evaluate(data.X_test, data.y_test)["accuracy"],
            "seconds_per_epoch": (time.perf_counter() - start) / max(hist.epochs_run, 1),
            "diverged": hist.diverged}


def results_table(tuned: dict, runs: dict) -> str:
    header = ["optimizer", "best lr", "tuning val loss", "final val acc %", "best val acc % (epoch)",
              "final val loss", "test acc % (final)", "train acc % (final)", "s / epoch"]
    rows = []
    for opt, t in tuned.items():
        mine = runs[opt]
        val_acc = np.array([r["curves"]["val_accuracy"] for r in mine]) * 100
        mean_curve = val_acc.mean(axis=0)
        rows.append([opt, f"{t['best_lr']:.3g}", f"{t['best_value']:.4f}",
                     common.mean_std(val_acc[:, -1]),
                     f"{mean_curve.max():.2f} ({int(mean_curve.argmax()) + 1})",
                     common.mean_std([r["curves"]["val_loss"][-1] for r in mine], digits=4),
                     common.mean_std([r["test_accuracy"] * 100 for r in mine]),
                     common.mean_std([r["curves"]["accuracy"][-1] * 100 for r in mine]),
                     f"{np.mean([r['seconds_per_epoch'] for r in mine]):.2f}"])
    return common.markdown_table(header, rows)


def tuning_table(tuned: dict) -> str:
    """Validation loss after the tuning epochs, learning rate x optimizer."""
    lrs = [t["lr"] for t in next(iter(tuned.values()))["trials"]]
    header = ["lr", *tuned]
    rows = []
    for i, lr in enumerate(lrs):
        cells = []
        for t in tuned.values():
            value = t["trials"][i]["val_loss"]
            text = "failed" if value is None else f"{value:.4f}"
            cells.append(f"**{text}**" if value == t["best_value"] else text)
        rows.append([f"{lr:.3g}", *cells])
    return common.markdown_table(header, rows) + "\n\nBold: the best rate of each optimizer; " \
        "failed: the loss became NaN or infinite (diverged)."


def plot(tuned: dict, runs: dict, out) -> None:
    fig, axes = common.new_figure(3, width=5.2)
    tune_ax, loss_ax, acc_ax = axes[0]
    for i, (opt, t) in enumerate(tuned.items()):
        done = [(tr["lr"], tr["val_loss"]) for tr in t["trials"] if tr["val_loss"] is not None]
        tune_ax.plot(*zip(*done, strict=True), marker="o", color=f"C{i}", label=opt)
        tune_ax.axvline(t["best_lr"], color=f"C{i}", lw=0.6, ls=":")
        for key, ax in (("val_loss", loss_ax), ("val_accuracy", acc_ax)):
            curve = np.mean([r["curves"][key] for r in runs[opt]], axis=0)
            curve = curve * 100 if key == "val_accuracy" else curve
            ax.plot(np.arange(1, len(curve) + 1), curve, color=f"C{i}",
                    label=f"{opt} (lr {t['best_lr']:.2g})")
    top = min(10.0, 3 * max(t["best_value"] for t in tuned.values()))
    tune_ax.set(xscale="log", ylim=(0, top), xlabel="learning rate", ylabel="validation loss",
                title="tuning: val loss after a short run")
    loss_ax.set(xlabel="epoch", ylabel="validation loss", title="validation loss at the tuned lr")
    acc_ax.set(xlabel="epoch", ylabel="validation accuracy (%)", title="validation accuracy")
    acc_ax.set_ylim(max(acc_ax.get_ylim()[0], 90.0), None)
    for ax in (tune_ax, loss_ax, acc_ax):
        ax.legend(fontsize=7)
    common.save_figure(fig, out, NAME)


def main(argv: list[str] | None = None) -> int:
    parser = common.build_parser(NAME, "SGD, momentum, Nesterov, RMSprop, Adam and Adagrad on MNIST, "
                                       "each at a learning rate tuned by grid search.")
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        tuned = {opt: tune(opt, cfg, Path(tmp), args.jobs) for opt in cfg["optimizers"]}
    tune_seconds = time.perf_counter() - start
    tasks = [{"optimizer": opt, "lr": tuned[opt]["best_lr"], "seed": seed, "epochs": cfg["epochs"],
              "n_train": cfg["n_train"]} for opt in cfg["optimizers"] for seed in cfg["seeds"]]
    runs: dict = {}
    for run in common.run_jobs(train, tasks, args.jobs):
        runs.setdefault(run["optimizer"], []).append(run)
    seconds = time.perf_counter() - start
    lo, hi = cfg["lr_range"]
    setup = (f"784-100-10 ReLU net, He initialisation, softmax cross-entropy, minibatch 128, "
             f"float32; each optimizer with netcore's defaults for its other settings (momentum 0.9, "
             f"Adam betas 0.9/0.999, ...). **Tuning**: an hpsearch grid study per optimizer, "
             f"{cfg['points']} learning rates log-spaced in [{lo:g}, {hi:g}], {cfg['tune_epochs']} "
             f"epochs on the first {cfg['tune_train']:,} training images, the best epoch's "
             f"validation loss on the 10,000 validation images ({tune_seconds:.0f} s for all). "
             f"**Training**: {cfg['epochs']} epochs on {cfg['n_train'] or 50_000:,} training images "
             f"at the best rate, seeds {cfg['seeds']}, no schedule or early stopping; the table "
             f"gives mean ± std over seeds of the last epoch and the best epoch of the mean curve.")
    step = (hi / lo) ** (1 / (cfg["points"] - 1))
    caveat = ("A rate chosen after a few epochs on a subset favours fast early progress "
              "(a short-horizon bias); with a longer budget the best rates are usually somewhat "
              f"lower. Neighbouring grid rates differ by a factor {step:.3g}, so the tuned rate is "
              "only known to within that factor.")
    common.write_report(args.out, NAME, "Optimizers on MNIST at tuned learning rates",
                        [setup, common.run_info(args, NAME, seconds), results_table(tuned, runs),
                         "## Tuning grid: validation loss\n\n" + tuning_table(tuned), caveat])
    plot(tuned, runs, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
