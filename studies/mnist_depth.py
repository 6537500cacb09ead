"""Nielsen ch. 5: does a deeper sigmoid net classify MNIST better?

Nets [784, 30 x k, 10] for k = 1..4 hidden layers, trained exactly as the
book's ``network2`` does: sigmoid units, sigmoid outputs with the
cross-entropy cost (netcore's ``binary_cross_entropy`` on one-hot labels),
weights N(0, 1/sqrt(n_in)) and biases N(0, 1), plain SGD with eta = 0.1,
minibatches of 10, L2 with lambda = 5.0 (``l2 = lambda / n``), 30 epochs on
the 50,000 training images, accuracy on the 10,000 validation images. The book
reports one run per depth; we train several seeds to see how much of the
difference between depths is noise.

    python -m studies.mnist_depth --jobs 2          # 12 trainings, a few minutes
    python -m studies.mnist_depth --quick --out DIR  # smoke test on a tiny subset
"""

from __future__ import annotations

import time

import numpy as np

import netcore
from studies import common

NAME = "mnist_depth"
# Final validation accuracies (%) of the book's single runs, by number of hidden layers.
BOOK = {1: 96.48, 2: 96.90, 3: 96.57, 4: 96.53}
LAMBDA = 5.0
FULL = {"depths": [1, 2, 3, 4], "seeds": [0, 1, 2], "epochs": 30, "n_train": None, "n_val": None}
QUICK = {"depths": [1, 2], "seeds": [0], "epochs": 2, "n_train": 2000, "n_val": 1000}


def train_depth(depth: int, seed: int, epochs: int, n_train: int | None, n_val: int | None) -> dict:
    """Train one [784, 30 x depth, 10] net with network2's settings; its validation curve."""
    data = common.mnist().subset(n_train, n_val)
    model = netcore.MLP([784, *[30] * depth, 10], activation="sigmoid",
                        loss="binary_cross_entropy", init="lecun", bias_init="normal", seed=seed)
    start = time.perf_counter()
    # network2: w -> (1 - eta * lambda / n) w - eta * mean gradient, i.e. l2 = lambda / n.
    hist = netcore.fit(model, data.X_train, data.y_train, data.X_val, data.y_val,
                       optimizer="sgd", lr=0.1, batch_size=10, epochs=epochs, seed=seed,
                       l2=LAMBDA / len(data.X_train))
    return {"depth": depth, "seed": seed, "val_accuracy": list(hist["val_accuracy"]),
            "test_accuracy": model.evaluate(data.X_test, data.y_test)["accuracy"],
            "seconds": time.perf_counter() - start}


def summarize(runs: list[dict]) -> dict[int, dict]:
    """Per depth: final and best-epoch accuracies (%) of each seed, test accuracies, curves."""
    out: dict[int, dict] = {}
    for depth in sorted({r["depth"] for r in runs}):
        mine = sorted((r for r in runs if r["depth"] == depth), key=lambda r: r["seed"])
        curves = np.array([r["val_accuracy"] for r in mine]) * 100
        out[depth] = {"seeds": [r["seed"] for r in mine], "curves": curves,
                      "final": curves[:, -1], "best": curves.max(axis=1),
                      "best_epoch": curves.argmax(axis=1) + 1,
                      "test": np.array([r["test_accuracy"] for r in mine]) * 100,
                      "seconds": float(np.mean([r["seconds"] for r in mine]))}
    return out


def results_table(summary: dict[int, dict]) -> str:
    header = ["hidden layers", "sizes", "final val acc % (mean ± std)", "final, per seed",
              "best-epoch val acc % (mean ± std)", "best, per seed (epoch)",
              "test acc % at final epoch", "book (final, 1 run)"]
    rows = []
    for depth, s in summary.items():
        per_seed = ", ".join(f"{v:.2f}" for v in s["final"])
        best = ", ".join(f"{v:.2f} ({e})" for v, e in zip(s["best"], s["best_epoch"], strict=True))
        rows.append([depth, "-".join(map(str, [784, *[30] * depth, 10])), common.mean_std(s["final"]),
                     per_seed, common.mean_std(s["best"]), best, common.mean_std(s["test"]),
                     f"{BOOK[depth]:.2f}" if depth in BOOK else None])
    return common.markdown_table(header, rows)


def plot(summary: dict[int, dict], out) -> None:
    fig, axes = common.new_figure(2)
    ax, curves_ax = axes[0]
    depths = list(summary)
    final = [summary[d]["final"] for d in depths]
    ax.errorbar(depths, [f.mean() for f in final], yerr=[f.std(ddof=1) if f.size > 1 else 0 for f in final],
                marker="o", capsize=4, label="netcore, final epoch (mean ± std)")
    for d, f in zip(depths, final, strict=True):
        ax.scatter([d] * len(f), f, color="C0", alpha=0.35, s=14)
    ax.plot(depths, [summary[d]["best"].mean() for d in depths], marker="^", ls="--", color="C2",
            label="netcore, best epoch (mean)")
    book = [d for d in depths if d in BOOK]
    ax.plot(book, [BOOK[d] for d in book], marker="s", ls=":", color="C3", label="Nielsen ch. 5 (1 run)")
    ax.set(xlabel="hidden layers of 30 sigmoid units", ylabel="validation accuracy (%)",
           title="MNIST accuracy vs depth", xticks=depths)
    ax.legend(fontsize=8)
    for d in depths:
        curve = summary[d]["curves"].mean(axis=0)
        curves_ax.plot(np.arange(1, len(curve) + 1), curve, label=f"{d} hidden")
    # Zoom on the last epochs, where the depths differ; the deep nets' slow start is cut off.
    low = min(summary[d]["final"].mean() for d in depths) - 2.0
    high = max(summary[d]["curves"].mean(axis=0).max() for d in depths) + 0.5
    curves_ax.set(xlabel="epoch", ylabel="validation accuracy (%), mean over seeds",
                  title="learning curves", ylim=(low, high))
    curves_ax.legend(fontsize=8)
    common.save_figure(fig, out, NAME)


def main(argv: list[str] | None = None) -> int:
    parser = common.build_parser(NAME, "Nielsen ch. 5: MNIST accuracy of [784, 30 x k, 10] "
                                       "sigmoid nets for k = 1..4, over several seeds.")
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    start = time.perf_counter()
    # Deepest first: the longest trainings start early, which balances the workers.
    tasks = [{"depth": d, "seed": s, "epochs": cfg["epochs"], "n_train": cfg["n_train"],
              "n_val": cfg["n_val"]} for d in sorted(cfg["depths"], reverse=True) for s in cfg["seeds"]]
    summary = summarize(common.run_jobs(train_depth, tasks, args.jobs))
    seconds = time.perf_counter() - start
    n_train = cfg["n_train"] or 50_000
    setup = (f"Nets [784, 30 x k, 10], sigmoid hidden and output units, cross-entropy cost on "
             f"one-hot labels, weights N(0, 1/sqrt(n_in)), biases N(0, 1), SGD eta = 0.1, minibatch 10, "
             f"L2 lambda = {LAMBDA} (l2 = lambda / n = {LAMBDA / n_train:g}), {cfg['epochs']} epochs on "
             f"{n_train:,} training images; accuracy on {cfg['n_val'] or 10_000:,} validation images. "
             f"Seeds {cfg['seeds']} (initialisation and shuffling); std is over seeds (ddof=1). "
             f"One training took {np.mean([s['seconds'] for s in summary.values()]):.0f} s on average "
             f"(one BLAS thread).")
    book = ("The book's numbers are the accuracies Nielsen quotes in chapter 5 for one run of each "
            "net with these settings (`network2.py`).")
    common.write_report(args.out, NAME, "MNIST accuracy vs depth (Nielsen ch. 5)",
                        [setup, common.run_info(args, NAME, seconds), results_table(summary), book])
    plot(summary, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
