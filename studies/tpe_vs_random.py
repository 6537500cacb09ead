"""TPE against random search on digits: best validation loss after 30 trials.

``python -m studies.tpe_vs_random`` runs the same 30-trial budget over the same
space with ``random`` and with ``tpe`` (and ``tpe-hyperopt``) for several seeds
and writes ``results/tpe_vs_random.md``: per seed the best validation loss, and
the median over seeds per strategy.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import hpsearch
from hpsearch import space

RESULTS = Path(__file__).parent / "results"
SPACE = {
    "lr": space.log_float(1e-4, 1e-1),
    "hidden": space.choice([[32], [64], [128], [128, 64]]),
    "activation": space.choice(["relu", "tanh", "sigmoid"]),
    "batch_size": space.choice([16, 32, 64, 128]),
    "l2": space.log_float(1e-6, 1e-2),
}


def best_value(strategy: str, seed: int, n_trials: int, n_jobs: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        study = hpsearch.Study.create(
            "cmp", dataset="digits", strategy=strategy, space=SPACE, seed=seed,
            storage=f"sqlite:///{tmp}/cmp.db", epochs=40, patience=5,
            fixed={"optimizer": "adam"})
        study.run(n_trials=n_trials, n_jobs=n_jobs, progress=False)
        return study.best_value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--strategies", nargs="+", default=["random", "tpe", "tpe-hyperopt"])
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    table = {s: [best_value(s, seed, args.trials, args.jobs) for seed in range(args.seeds)]
             for s in args.strategies}
    lines = [f"Best validation loss on digits after {args.trials} trials "
             f"(lower is better), seeds 0..{args.seeds - 1}.", "",
             "| strategy | " + " | ".join(f"seed {i}" for i in range(args.seeds))
             + " | median |", "|---" * (args.seeds + 2) + "|"]
    for strategy, values in table.items():
        cells = " | ".join(f"{v:.4f}" for v in values)
        lines.append(f"| {strategy} | {cells} | {statistics.median(values):.4f} |")
    text = "\n".join(lines) + "\n"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "tpe_vs_random.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
