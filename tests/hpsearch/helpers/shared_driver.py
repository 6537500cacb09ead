"""One of several worker processes sharing one study through a storage URL.

Usage: python shared_driver.py STORAGE NAME STRATEGY N_TRIALS
"""

from __future__ import annotations

import sys

import hpsearch
from hpsearch import space


def main() -> None:
    storage, name, strategy, n_trials = sys.argv[1:5]
    study = hpsearch.Study.create(
        name, dataset="spirals", strategy=strategy, storage=storage, seed=0, epochs=2,
        space={"lr": space.log_float(1e-3, 1e-1), "hidden": space.choice([[4], [8], [16]])},
        strategy_options={"points": 3} if strategy == "grid" else {}, max_train=200,
        load_if_exists=True)
    study.run(n_trials=int(n_trials), n_jobs=1, progress=False)
    print("DONE", flush=True)


if __name__ == "__main__":
    main()
