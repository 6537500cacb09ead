"""Run a study whose trials may crash or hang, on loky, a real Dask cluster or local Ray.

Usage: python backend_driver.py BACKEND STORAGE PLUGIN N_TRIALS ACTIVATION...

The study runs twice on the same workers (N_TRIALS, then two more), so that a
backend wedged by the first run's crashes would show. Prints one JSON line per
trial (trial, activation, state, error), then DONE.
"""

from __future__ import annotations

import json
import sys

import hpsearch
from hpsearch import space


def _study(storage: str, plugin: str, activations: list[str]) -> hpsearch.Study:
    return hpsearch.Study.create(
        "w", dataset="spirals", strategy="random", storage=storage, seed=3, epochs=2,
        space={"activation": space.choice(activations), "lr": space.log_float(1e-3, 1e-1)},
        plugins=[plugin], max_train=300)


def _twice(study: hpsearch.Study, n_trials: int, **options):
    study.run(n_trials=n_trials, n_jobs=2, progress=False, **options)
    return study.run(n_trials=n_trials + 2, n_jobs=2, progress=False, **options)


def _run(backend: str, study: hpsearch.Study, n_trials: int):
    if backend == "loky":
        return _twice(study, n_trials)
    if backend == "dask":
        import dask
        import distributed

        # Dask retries a task whose worker died on other workers (three times by
        # default); without retries each crash costs one worker restart, not four,
        # which a small busy machine's nannies survive. hpsearch handles both.
        with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
                distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                         dashboard_address=None, host="127.0.0.1") as cluster:
            return _twice(study, n_trials, backend="dask",
                          backend_options={"scheduler_host": cluster.scheduler_address})
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        return _twice(study, n_trials, backend="ray")
    finally:
        ray.shutdown()


def main() -> None:
    backend, storage, plugin, n_trials, *activations = sys.argv[1:]
    df = _run(backend, _study(storage, plugin, activations), int(n_trials))
    for row in df.itertuples():
        print(json.dumps({"trial": row.trial, "activation": row.activation, "state": row.state,
                          "error": row.error if isinstance(row.error, str) else None}))
    print("DONE", flush=True)


if __name__ == "__main__":
    main()
