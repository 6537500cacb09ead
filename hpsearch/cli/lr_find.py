"""``hpsearch lr-find``: the learning-rate range test of one configuration, from the shell.

Prints the three suggestions, the chosen one and the confidence, and writes the
plot::

    hpsearch lr-find --dataset mnist --hidden 100 --optimizer sgd --out lr_find.png
    hpsearch lr-find --data wine.csv --target cultivar --optimizer adam
"""

from __future__ import annotations

import argparse
import dataclasses
import math

import netcore
from hpsearch.cli.errors import EXIT_OK, run_command
from hpsearch.lr_finder import MODES, PREFERENCE, LRRangeResult, RangeTestConfig, lr_range_test

DEFAULT_DATASET = "digits"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``lr-find`` on ``parser`` (a sub-command parser)."""
    model = parser.add_argument_group("model")
    model.add_argument("--dataset", choices=sorted(netcore.DATASETS),
                       help=f"dataset (default: {DEFAULT_DATASET})")
    model.add_argument("--data", metavar="FILE",
                       help="your own data file (.csv, .tsv, .parquet, .npz) instead of --dataset")
    model.add_argument("--target", metavar="COLUMN", help="the target column of --data")
    model.add_argument("--hidden", type=int, nargs="*", default=[100], metavar="WIDTH",
                       help="hidden layer widths, e.g. --hidden 128 64 (default: 100)")
    model.add_argument("--activation", default="relu", choices=sorted(netcore.ACTIVATIONS))
    model.add_argument("--init", default="he", choices=sorted(netcore.INITIALIZERS))
    train = parser.add_argument_group("training")
    train.add_argument("--optimizer", default="sgd", choices=sorted(netcore.OPTIMIZERS))
    train.add_argument("--momentum", type=float, help="momentum of momentum/nesterov")
    default = {f.name: f.default for f in dataclasses.fields(RangeTestConfig)}  # one source
    train.add_argument("--batch-size", type=int, default=default["batch_size"])
    test = parser.add_argument_group("range test")
    test.add_argument("--lr-min", type=float, default=default["lr_min"])
    test.add_argument("--lr-max", type=float, default=default["lr_max"])
    test.add_argument("--num-iter", type=int, default=default["num_iter"],
                      help="steps (minibatches) of the test")
    test.add_argument("--mode", default=default["mode"], choices=MODES, help="growth of the rate")
    test.add_argument("--smooth", type=float, default=default["smooth"],
                      help="weight of the newest loss in the moving average (1: none)")
    test.add_argument("--diverge", type=float, default=default["diverge"],
                      help="stop once the loss exceeds this many times its best")
    test.add_argument("--use-val", action="store_true",
                      help="read the suggestions from the loss on a fixed validation subset")
    test.add_argument("--seed", type=int, default=default["seed"],
                      help="initialization and batch order")
    parser.add_argument("--out", default="lr_find.png", help="plot file (default: lr_find.png)")


def _options(args: argparse.Namespace) -> dict:
    options = {"optimizer": args.optimizer, "lr_min": args.lr_min, "lr_max": args.lr_max,
               "num_iter": args.num_iter, "mode": args.mode, "smooth": args.smooth,
               "diverge": args.diverge, "use_val": args.use_val, "batch_size": args.batch_size,
               "seed": args.seed}
    if args.momentum is not None:
        options["momentum"] = args.momentum
    return options


def format_result(result: LRRangeResult) -> str:
    """The suggestions table, the choice and the confidence as text."""
    lines = [f"{'method':<12} {'lr':>10}"]
    for name in PREFERENCE:
        value = result.suggestions[name]
        mark = "  <- suggestion" if name == result.method else ""
        lines.append(f"{name:<12} {'-' if value is None else f'{value:.3g}':>10}{mark}")
    spread = "" if math.isnan(result.spread) else f" (suggestions {result.spread:.2f} decades apart)"
    lines.append(f"confidence: {result.confidence}{spread}")
    stop = f" at lr={result.stop_lr:.3g}" if result.stop_lr is not None else ""
    lines.append(f"range test: {len(result.lrs)} steps, stopped: {result.stop_reason}{stop}")
    lines.extend(f"note: {note}" for note in result.notes)
    return "\n".join(lines)


def _data(args: argparse.Namespace) -> netcore.Dataset:
    """``--data FILE [--target COLUMN]`` (split and standardized as a study does), else
    the named ``--dataset``."""
    if args.data is None:
        if args.target is not None:
            raise ValueError("--target needs --data FILE")
        return netcore.load_dataset(args.dataset or DEFAULT_DATASET)
    if args.dataset is not None:
        raise ValueError(f"give --dataset or --data, not both (got --dataset {args.dataset} "
                         f"and --data {args.data})")
    return netcore.Dataset.from_file(args.data, target=args.target)


def run(args: argparse.Namespace) -> int:
    """Run the test that ``args`` describe; its exit code (``hpsearch.cli.errors``: 0 on
    success, 2 on bad input, with one line on stderr)."""
    return run_command(lambda: _range_test(args), prog="hpsearch lr-find")


def _range_test(args: argparse.Namespace) -> int:
    data = _data(args)
    config = {"sizes": [data.n_features, *args.hidden, data.n_outputs],
              "activation": args.activation, "init": args.init, "seed": args.seed,
              **({"loss": "mse"} if data.task == "regression" else {})}
    result = lr_range_test(config, data, **_options(args))
    print(format_result(result))
    try:
        result.plot(args.out)
    except OSError as exc:
        raise OSError(f"cannot write the plot to {args.out}: {exc}") from exc
    print(f"plot: {args.out}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """``python -m hpsearch.cli.lr_find``: the command without the ``hpsearch`` front end."""
    parser = argparse.ArgumentParser(prog="hpsearch lr-find", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
