"""Regularization on a training set small enough to overfit (Nielsen ch. 3's setting).

A 784-100-10 ReLU net trained on only 1,000 MNIST images fits them perfectly
within a few dozen epochs while its validation accuracy stalls: the gap
between training and validation accuracy is the overfitting. We compare no
regularization, L2 weight decay, dropout, batch normalization and early
stopping under the same budget (plain SGD, eta = 0.1, minibatch 10), over
several seeds, on the 10,000 validation and 10,000 test images.

    python -m studies.regularization --jobs 2
    python -m studies.regularization --quick --out DIR
"""

from __future__ import annotations

import time

import numpy as np

import netcore
from studies import common

NAME = "regularization"
# (method, label, MLP options, fit options); early stopping is a flag handled in ``train``.
CONFIGS = [
    ("none", "—", {}, {}),
    ("L2", "l2 = 1e-4 (lambda 0.1 / n, ch. 3's value)", {}, {"l2": 1e-4}),
    ("L2", "l2 = 1e-3", {}, {"l2": 1e-3}),
    ("L2", "l2 = 1e-2", {}, {"l2": 1e-2}),
    ("dropout", "hidden 0.5", {"dropout": 0.5}, {}),
    ("dropout", "input 0.2, hidden 0.5", {"dropout": 0.5, "input_dropout": 0.2}, {}),
    ("batch norm", "before the ReLU", {"batch_norm": True}, {}),
    ("early stopping", "val accuracy, patience 20, best weights", {}, {"early_stopping": True}),
]
FULL = {"configs": list(range(len(CONFIGS))), "seeds": [0, 1, 2], "epochs": 150, "n_train": 1000,
        "n_val": None}
QUICK = {"configs": [0, 1, 4, 6, 7], "seeds": [0], "epochs": 3, "n_train": 300, "n_val": 1000}


class TrainAccuracy(netcore.Callback):
    """Accuracy on the training set in evaluation mode (no dropout, running BN statistics)
    after each epoch; fit's own "accuracy" averages the batches in training mode."""

    def __init__(self, X: np.ndarray, y: np.ndarray):
        self.X, self.y, self.values = X, y, []

    def on_epoch_end(self, epoch, logs, model):
        self.values.append(model.evaluate(self.X, self.y)["accuracy"])


def train(config: int, seed: int, epochs: int, n_train: int, n_val: int | None) -> dict:
    """Train one configuration; final (or restored) accuracies and per-epoch curves."""
    _, _, model_kw, fit_kw = CONFIGS[config]
    data = common.mnist().subset(n_train, n_val)
    model = netcore.MLP([784, 100, 10], activation="relu", init="he", seed=seed, **model_kw)
    fit_kw = dict(fit_kw)
    if fit_kw.pop("early_stopping", False):
        fit_kw["early_stopping"] = netcore.EarlyStopping("val_accuracy", patience=20, restore_best=True)
    monitor = TrainAccuracy(data.X_train, data.y_train)
    hist = netcore.fit(model, data.X_train, data.y_train, data.X_val, data.y_val, optimizer="sgd",
                       lr=0.1, batch_size=10, epochs=epochs, seed=seed, callbacks=[monitor], **fit_kw)
    val_acc = np.asarray(hist["val_accuracy"])
    val = model.evaluate(data.X_val, data.y_val)
    return {"config": config, "seed": seed, "epochs_run": hist.epochs_run,
            "train": model.evaluate(data.X_train, data.y_train)["accuracy"],
            "val": val["accuracy"], "val_loss": val["loss"],
            "test": model.evaluate(data.X_test, data.y_test)["accuracy"],
            "best_val": float(val_acc.max()), "best_epoch": int(val_acc.argmax()) + 1,
            "curves": {"train_accuracy": monitor.values, "val_accuracy": list(val_acc),
                       "val_loss": list(hist["val_loss"])}}


def results_table(runs: dict[int, list[dict]]) -> str:
    header = ["method", "setting", "train acc %", "val acc %", "gap (train − val)", "val loss",
              "test acc %", "best-epoch val acc %", "epochs run"]
    rows = []
    for config, mine in runs.items():
        method, label, _, _ = CONFIGS[config]
        col = {k: [r[k] * 100 for r in mine] for k in ("train", "val", "test", "best_val")}
        gap = np.subtract(col["train"], col["val"])
        rows.append([method, label, common.mean_std(col["train"]), common.mean_std(col["val"]),
                     common.mean_std(gap), common.mean_std([r["val_loss"] for r in mine], digits=3),
                     common.mean_std(col["test"]), common.mean_std(col["best_val"]),
                     ", ".join(str(r["epochs_run"]) for r in mine)])
    return common.markdown_table(header, rows)


def best_per_method(runs: dict[int, list[dict]]) -> dict[str, int]:
    """For each method, the configuration with the best mean final validation accuracy."""
    best: dict[str, int] = {}
    for config, mine in runs.items():
        method = CONFIGS[config][0]
        score = np.mean([r["val"] for r in mine])
        if method not in best or score > np.mean([r["val"] for r in runs[best[method]]]):
            best[method] = config
    return best


def plot(runs: dict[int, list[dict]], out) -> None:
    fig, axes = common.new_figure(2, width=6.0, height=4.5)
    acc_ax, loss_ax = axes[0]
    for i, (method, config) in enumerate(best_per_method(runs).items()):
        label = f"{method} ({CONFIGS[config][1]})" if method != "none" else method
        # Early-stopped runs have different lengths: average the epochs all seeds reached.
        length = min(len(r["curves"]["val_accuracy"]) for r in runs[config])
        curves = {k: np.mean([r["curves"][k][:length] for r in runs[config]], axis=0) * (
            100 if k.endswith("accuracy") else 1) for k in runs[config][0]["curves"]}
        epochs = np.arange(1, length + 1)
        acc_ax.plot(epochs, curves["val_accuracy"], color=f"C{i}", label=f"{label}")
        acc_ax.plot(epochs, curves["train_accuracy"], color=f"C{i}", ls=":", lw=1)
        loss_ax.plot(epochs, curves["val_loss"], color=f"C{i}", label=label)
    acc_ax.plot([], [], color="gray", ls=":", label="training accuracy (dotted)")
    acc_ax.set(xlabel="epoch", ylabel="accuracy (%)", ylim=(80, 100.5),
               title="validation (solid) and training (dotted) accuracy")
    loss_ax.set(xlabel="epoch", ylabel="validation loss", yscale="log", title="validation loss")
    acc_ax.legend(fontsize=7)
    loss_ax.legend(fontsize=7)
    common.save_figure(fig, out, NAME)


def main(argv: list[str] | None = None) -> int:
    parser = common.build_parser(NAME, "None vs L2 vs dropout vs batch norm vs early stopping on "
                                       "1,000 MNIST training images.")
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    start = time.perf_counter()
    tasks = [{"config": c, "seed": s, "epochs": cfg["epochs"], "n_train": cfg["n_train"],
              "n_val": cfg["n_val"]} for c in cfg["configs"] for s in cfg["seeds"]]
    runs: dict[int, list[dict]] = {}
    for run in common.run_jobs(train, tasks, args.jobs):
        runs.setdefault(run["config"], []).append(run)
    seconds = time.perf_counter() - start
    setup = (f"784-100-10 ReLU net, He initialisation, softmax cross-entropy, trained on the first "
             f"{cfg['n_train']:,} MNIST training images with plain SGD (eta = 0.1, minibatch 10) for "
             f"{cfg['epochs']} epochs (early stopping: until 20 epochs without a better validation "
             f"accuracy, then the best epoch's weights are restored). Accuracies of the final (or "
             f"restored) weights in evaluation mode; validation on "
             f"{cfg['n_val'] or 10_000:,} images, test on 10,000. Mean ± std over seeds "
             f"{cfg['seeds']}. *best-epoch val acc* is the maximum over epochs, an optimistic number "
             f"(it picks the epoch on the validation set); the test accuracy is the honest one.")
    plot_note = ("The plot shows, per method, the setting with the best mean validation accuracy, "
                 "averaged over seeds.")
    common.write_report(args.out, NAME, "Regularization on 1,000 MNIST images",
                        [setup, common.run_info(args, NAME, seconds), results_table(runs), plot_note])
    plot(runs, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
