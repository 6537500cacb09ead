"""``python -m netcore``: train one MLP on a dataset and report its test metrics."""

from __future__ import annotations

import argparse
import sys

import netcore


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m netcore", description=__doc__.replace("``", ""))
    parser.add_argument("--dataset", default="mnist", choices=sorted(netcore.DATASETS),
                        help="dataset (default: mnist; digits is bundled and needs no download)")
    parser.add_argument("--hidden", type=int, nargs="*", default=[100],
                        help="hidden layer widths (default: 100)")
    parser.add_argument("--activation", default="relu", choices=sorted(netcore.ACTIVATIONS))
    parser.add_argument("--init", default="he", choices=sorted(netcore.INITIALIZERS))
    parser.add_argument("--optimizer", default="adam", choices=sorted(netcore.OPTIMIZERS))
    parser.add_argument("--dropout", type=float, default=0.0,
                        help="dropout rate after each hidden activation (default: 0)")
    parser.add_argument("--batch-norm", action="store_true",
                        help="batch normalization before each hidden activation")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--schedule", choices=sorted(netcore.SCHEDULES),
                        help="learning-rate schedule with its default options (default: none)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--patience", type=int, default=3,
                        help="early-stopping patience on validation loss")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", metavar="PATH", help="write the trained model to PATH.npz")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    try:
        data = netcore.load_dataset(args.dataset)
        model = netcore.MLP([data.n_features, *args.hidden, data.n_classes],
                            activation=args.activation, init=args.init, seed=args.seed,
                            dropout=args.dropout, batch_norm=args.batch_norm)
        hist = netcore.fit(
            model, data.X_train, data.y_train, data.X_val, data.y_val,
            optimizer=args.optimizer, lr=args.lr, batch_size=args.batch_size,
            epochs=args.epochs, seed=args.seed, schedule=args.schedule,
            early_stopping=netcore.EarlyStopping(patience=args.patience),
        )
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{model!r} on {args.dataset}: {len(data.X_train)} train, {len(data.X_val)} validation")
    print(hist.to_frame().round(4).to_string())
    test = model.evaluate(data.X_test, data.y_test)
    print(f"stopped: {hist.stop_reason}; best epoch {hist.best_epoch}; "
          f"test loss {test['loss']:.4f}, test accuracy {100 * test['accuracy']:.2f}%")
    if args.save:
        print(f"model saved to {netcore.save(model, args.save)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
