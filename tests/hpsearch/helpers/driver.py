"""Run a study in its own process, as a user's script would (for kill/interrupt tests).

Usage: python driver.py STORAGE NAME N_TRIALS N_JOBS STRATEGY PLUGIN
"""

from __future__ import annotations

import sys

import hpsearch
from hpsearch import space


def main() -> None:
    storage, name, n_trials, n_jobs, strategy, plugin = sys.argv[1:7]
    study = hpsearch.Study.create(
        name, dataset="spirals", strategy=strategy, storage=storage, seed=0, epochs=4,
        space={"lr": space.log_float(1e-3, 1e-1), "hidden": space.choice([[8], [16]]),
               "activation": space.fixed("slow")},
        plugins=[plugin], load_if_exists=True, max_train=400)
    study.run(n_trials=int(n_trials), n_jobs=int(n_jobs), progress=False)
    print("DONE", flush=True)


if __name__ == "__main__":
    main()
