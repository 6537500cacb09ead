"""Nielsen ch. 5: the vanishing gradient — earlier hidden layers learn slower.

Nielsen's "speed of learning" of a hidden layer is the norm of the gradient of
the cost with respect to its biases, averaged over the first 1,000 training
images. We measure it

1. at initialisation, for [784, 30, 30, 10], [784, 30, 30, 30, 10] and
   [784, 30, 30, 30, 30, 10], over many seeds;
2. during training with the chapter's settings (SGD eta = 0.1, minibatch 10,
   L2 lambda = 5 on 50,000 images), epoch by epoch;
3. during training as in the book's figure script (``fig/generate_gradient.py``
   of the book's repository: 500 full-batch epochs on the same 1,000 images,
   eta = 0.1, lambda = 5).

Each time for sigmoid units with network2's initialisation (weights
N(0, 1/sqrt(n_in)), biases N(0, 1)) and for ReLU units with He initialisation
(biases 0); the output layer and cost (sigmoid + cross-entropy) are the same.

    python -m studies.vanishing_gradients --jobs 2
    python -m studies.vanishing_gradients --quick --out DIR
"""

from __future__ import annotations

import time

import numpy as np

import netcore
from studies import common

NAME = "vanishing_gradients"
UNITS = {"sigmoid": {"activation": "sigmoid", "init": "lecun", "bias_init": "normal"},
         "relu": {"activation": "relu", "init": "he", "bias_init": "zeros"}}
# Speeds of learning at initialisation quoted in the text of chapter 5, by number of hidden layers.
BOOK_TEXT = {2: [0.07, 0.31], 3: [0.012, 0.060, 0.283], 4: [0.003, 0.017, 0.070, 0.285]}
# After 10 full-batch epochs of the book's figure script, read from the data behind its
# figures (fig/norms_during_training_<k>_layers.json in the book's repository), rounded.
BOOK_FIGURE_EPOCH10 = {2: [0.0089, 0.040], 3: [0.0020, 0.0104, 0.060],
                       4: [0.00027, 0.0015, 0.0084, 0.037]}
PROBE = 1000
FULL = {"depths": [2, 3, 4], "init_seeds": list(range(10)), "train_seeds": [0, 1, 2],
        "ch5": {"n_train": None, "epochs": 5, "batch_size": 10},
        "figure": {"n_train": PROBE, "epochs": 500, "batch_size": PROBE},
        "figure_marks": [0, 10, 100, 500]}
QUICK = {"depths": [2, 4], "init_seeds": [0, 1], "train_seeds": [0],
         "ch5": {"n_train": 2000, "epochs": 2, "batch_size": 10},
         "figure": {"n_train": PROBE, "epochs": 12, "batch_size": PROBE},
         "figure_marks": [0, 10, 12]}


def build(depth: int, units: str, seed: int) -> netcore.MLP:
    """[784, 30 x depth, 10] with sigmoid outputs and the cross-entropy cost."""
    return netcore.MLP([784, *[30] * depth, 10], loss="binary_cross_entropy", seed=seed,
                       **UNITS[units])


def probe() -> tuple[np.ndarray, np.ndarray]:
    """The first 1,000 training images, on which Nielsen averages the gradient."""
    data = common.mnist()
    return data.X_train[:PROBE], data.y_train[:PROBE]


def initial_speeds(depth: int, units: str, seed: int) -> list[float]:
    """Bias-gradient norm of each hidden layer at the initial weights."""
    norms = netcore.gradient_norms(build(depth, units, seed), *probe())["bias_grad_norm"]
    return norms.to_numpy()[:-1].tolist()  # the last dense layer is the output layer


def training_speeds(depth: int, units: str, seed: int, n_train: int | None, epochs: int,
                    batch_size: int) -> dict:
    """Train with SGD (eta 0.1, L2 lambda 5) and record the hidden layers' speeds per epoch.

    ``GradientNormMonitor(probe=...)`` measures on the 1,000 probe images before
    training (epoch 0) and after each epoch, like the book's figure script.
    """
    data = common.mnist().subset(n_train)
    model = build(depth, units, seed)
    monitor = netcore.GradientNormMonitor(probe=probe())
    hist = netcore.fit(model, data.X_train, data.y_train, data.X_val, data.y_val, optimizer="sgd",
                       lr=0.1, batch_size=batch_size, epochs=epochs, seed=seed,
                       l2=5.0 / len(data.X_train), callbacks=[monitor])
    speeds = monitor.to_frame()["bias_grad_norm"].to_numpy()[:, :-1]
    return {"depth": depth, "units": units, "seed": seed, "speeds": speeds.tolist(),
            "val_accuracy": hist["val_accuracy"][-1], "diverged": hist.diverged}


def _order(item) -> tuple[int, int]:
    """Sort (depth, units) keys by depth, then in the order of ``UNITS`` (sigmoid first)."""
    depth, units = item[0]
    return depth, list(UNITS).index(units)


def sig(mean: float, std: float | None = None) -> str:
    """Three significant digits, with the std when there is one."""
    return f"{mean:.3g}" if std is None else f"{mean:.3g} ± {std:.2g}"


def initial_table(init: dict) -> str:
    """Rows (depth, units) and the book; one column per hidden layer."""
    width = max(init)[0]
    header = ["net", "hidden units", *[f"layer {i}" for i in range(1, width + 1)], "last / first"]
    rows = []
    for (depth, units), values in sorted(init.items(), key=_order):
        arr = np.array(values)
        cells = [sig(m, s) for m, s in zip(arr.mean(0), arr.std(0, ddof=1), strict=True)]
        ratio = arr[:, -1] / arr[:, 0]
        rows.append([f"[784, {', '.join(['30'] * depth)}, 10]", units,
                     *cells, *[None] * (width - depth), f"{np.median(ratio):.3g} (median)"])
        if units == "sigmoid" and depth in BOOK_TEXT:
            book = BOOK_TEXT[depth]
            rows.append(["", "**book** (sigmoid, 1 init)", *[sig(v) for v in book],
                         *[None] * (width - depth), f"{book[-1] / book[0]:.3g}"])
    return common.markdown_table(header, rows)


def curve_table(curves: dict, marks: list[int], book: dict | None = None) -> str:
    """Mean speed per hidden layer at the chosen epochs, per (depth, units)."""
    width = max(curves)[0]
    header = ["net", "hidden units", "epoch", *[f"layer {i}" for i in range(1, width + 1)]]
    rows = []
    for (depth, units), runs in sorted(curves.items(), key=_order):
        mean = np.mean([r["speeds"] for r in runs], axis=0)
        for epoch in marks:
            rows.append([f"{depth} hidden", units, epoch, *[sig(v) for v in mean[epoch]],
                         *[None] * (width - depth)])
            if book and units == "sigmoid" and epoch in book.get(depth, {}):
                rows.append(["", "**book** (sigmoid)", epoch, *[sig(v) for v in book[depth][epoch]],
                             *[None] * (width - depth)])
    return common.markdown_table(header, rows)


def accuracy_line(curves: dict) -> str:
    parts = []
    for (depth, units), runs in sorted(curves.items(), key=_order):
        acc = [r["val_accuracy"] * 100 for r in runs]
        parts.append(f"{depth} hidden {units}: {common.mean_std(acc)} %")
        if any(r["diverged"] for r in runs):
            parts[-1] += " (a run diverged)"
    return "Validation accuracy after the last epoch: " + "; ".join(parts) + "."


def _plot_initial(ax, init: dict, units: str) -> None:
    for i, depth in enumerate(sorted({d for d, u in init if u == units})):
        arr = np.array(init[(depth, units)])
        layers = np.arange(1, depth + 1)
        ax.errorbar(layers, arr.mean(0), yerr=arr.std(0, ddof=1) if len(arr) > 1 else None,
                    marker="o", capsize=3, color=f"C{i}", label=f"{depth} hidden (mean ± std)")
        if units == "sigmoid" and depth in BOOK_TEXT:
            ax.plot(layers, BOOK_TEXT[depth], ls="none", marker="s", mfc="none", ms=9,
                    color=f"C{i}", label=f"{depth} hidden, book")
    ax.set(yscale="log", xlabel="hidden layer", ylabel="||dC/db|| (speed of learning)",
           title=f"at initialisation: {units}", xticks=[1, 2, 3, 4])
    ax.legend(fontsize=7)


def _plot_training(ax, curves: dict, depth: int, title: str, book: dict | None = None) -> None:
    from matplotlib.ticker import MaxNLocator

    for units, style in (("sigmoid", "-"), ("relu", "--")):
        if (depth, units) not in curves:
            continue
        mean = np.mean([r["speeds"] for r in curves[(depth, units)]], axis=0)
        epochs = np.arange(len(mean))
        for layer in range(depth):
            ax.plot(epochs, mean[:, layer], ls=style, color=f"C{layer}",
                    marker="o" if len(epochs) <= 20 else None, ms=3,
                    label=f"{units} layer {layer + 1}")
    for epoch, values in (book or {}).get(depth, {}).items():
        ax.plot([epoch] * len(values), values, ls="none", marker="s", mfc="none", ms=8, color="k")
    if book:
        ax.plot([], [], ls="none", marker="s", mfc="none", color="k", label="book (sigmoid)")
    ax.set(yscale="log", xlabel="epoch", ylabel="||dC/db|| on the 1,000 probe images", title=title)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=7, ncol=2)


def plot(init: dict, ch5: dict, figure: dict, out) -> None:
    fig, axes = common.new_figure(2, 2, width=6.0, height=4.5)
    _plot_initial(axes[0][0], init, "sigmoid")
    _plot_initial(axes[0][1], init, "relu")
    low = min(ax.get_ylim()[0] for ax in axes[0])
    high = max(ax.get_ylim()[1] for ax in axes[0])
    for ax in axes[0]:
        ax.set_ylim(low, high)
    depth = max(d for d, _ in ch5)
    _plot_training(axes[1][0], ch5, depth, f"{depth} hidden layers, ch. 5 settings (minibatch 10)")
    book = {d: {0: BOOK_TEXT[d], 10: BOOK_FIGURE_EPOCH10[d]} for d in BOOK_TEXT}
    _plot_training(axes[1][1], figure, depth, f"{depth} hidden layers, book's figure (full batch of "
                   f"{PROBE})", book)
    common.save_figure(fig, out, NAME)


def _group(runs: list[dict]) -> dict:
    grouped: dict = {}
    for run in runs:
        grouped.setdefault((run["depth"], run["units"]), []).append(run)
    return grouped


def main(argv: list[str] | None = None) -> int:
    parser = common.build_parser(NAME, "Nielsen ch. 5: per-layer speed of learning (bias-gradient "
                                       "norms) of deep sigmoid and ReLU nets on MNIST.")
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    start = time.perf_counter()
    keys = [(d, u) for d in cfg["depths"] for u in UNITS]
    init_tasks = [{"depth": d, "units": u, "seed": s} for d, u in keys for s in cfg["init_seeds"]]
    init_values = common.run_jobs(initial_speeds, init_tasks, 1)  # milliseconds each: no workers
    init: dict = {}
    for task, values in zip(init_tasks, init_values, strict=True):
        init.setdefault((task["depth"], task["units"]), []).append(values)
    deepest = max(cfg["depths"])
    ch5_tasks = [{"depth": deepest, "units": u, "seed": s, **cfg["ch5"]}
                 for u in UNITS for s in cfg["train_seeds"]]
    fig_tasks = [{"depth": d, "units": u, "seed": s, **cfg["figure"]}
                 for d, u in keys for s in cfg["train_seeds"]]
    runs = common.run_jobs(training_speeds, ch5_tasks + fig_tasks, args.jobs)
    ch5, figure = _group(runs[:len(ch5_tasks)]), _group(runs[len(ch5_tasks):])
    seconds = time.perf_counter() - start
    write(args, cfg, init, ch5, figure, seconds)
    plot(init, ch5, figure, args.out)
    return 0


def write(args, cfg: dict, init: dict, ch5: dict, figure: dict, seconds: float) -> None:
    n_ch5 = cfg["ch5"]["n_train"] or 50_000
    blocks = [
        "Speed of learning of hidden layer l = ||dC/db^l||, the norm of the cost's gradient with "
        "respect to the layer's biases, averaged over the first 1,000 MNIST training images "
        "(Nielsen ch. 5). Nets [784, 30, ..., 30, 10] with sigmoid outputs and the cross-entropy "
        "cost. **sigmoid**: sigmoid hidden units, weights N(0, 1/sqrt(n_in)), biases N(0, 1) "
        "(network2's initialisation, the book's setting). **relu**: ReLU hidden units, He weights "
        "N(0, 2/n_in), biases 0.",
        common.run_info(args, NAME, seconds),
        f"## At initialisation\n\nMean ± std (ddof=1) over {len(cfg['init_seeds'])} seeds "
        "(initialisations). The book's rows are the numbers quoted in the text of chapter 5, each "
        "from one initialisation. *last / first* is the speed of the last hidden layer over that "
        "of the first.\n\n" + initial_table(init),
        f"## During training, chapter 5 settings\n\nSGD eta = 0.1, minibatch 10, L2 lambda = 5 "
        f"(l2 = 5 / {n_ch5:,}), {cfg['ch5']['epochs']} epochs on {n_ch5:,} images; speeds measured "
        f"on the 1,000 probe images with `GradientNormMonitor(probe=...)` at epoch 0 (the "
        f"initialisation) and after each epoch; mean over seeds {cfg['train_seeds']}.\n\n"
        + curve_table(ch5, list(range(cfg["ch5"]["epochs"] + 1))) + "\n\n" + accuracy_line(ch5),
        f"## During training, the book's figure protocol\n\nAs in `fig/generate_gradient.py` of the "
        f"book's repository: {cfg['figure']['epochs']} epochs of full-batch gradient descent on the "
        f"first 1,000 training images (eta = 0.1, L2 lambda = 5, so l2 = 5 / 1,000), speeds on "
        f"the same 1,000 images; mean over seeds {cfg['train_seeds']}. The book's rows: epoch 0 "
        "is the text's numbers, epoch 10 is read from the data files behind the book's figures "
        "(`fig/norms_during_training_<k>_layers.json`, one run each).\n\n"
        + curve_table(figure, cfg["figure_marks"],
                      {d: {0: BOOK_TEXT[d], 10: BOOK_FIGURE_EPOCH10[d]} for d in BOOK_TEXT}),
    ]
    common.write_report(args.out, NAME, "Vanishing gradients: speed of learning per layer "
                                        "(Nielsen ch. 5)", blocks)


if __name__ == "__main__":
    raise SystemExit(main())
