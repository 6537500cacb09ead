"""Other execution engines through joblib: threads, and a real Dask cluster."""

from __future__ import annotations

import pandas as pd
import pytest

import hpsearch
from hpsearch import space

SPACE = {"lr": space.log_float(1e-3, 1e-1), "hidden": space.choice([[16], [32, 16]])}
COMPARED = ["trial", "state", "value", "lr", "hidden", "val_loss", "val_accuracy", "seed"]


def _run(tmp_path, name, n_trials=16, **run_options):
    study = hpsearch.Study.create(name, dataset="spirals", strategy="random", space=SPACE,
                                  storage=f"sqlite:///{tmp_path / name}.db", seed=0, epochs=3,
                                  max_train=500)
    return study.run(n_trials=n_trials, progress=False, **run_options)[COMPARED]


def test_threading_backend_gives_the_same_trials(tmp_path):
    local = _run(tmp_path, "local", n_trials=6)
    threads = _run(tmp_path, "threads", n_trials=6, n_jobs=2, backend="threading")
    pd.testing.assert_frame_equal(local, threads)


def test_dask_cluster_gives_the_same_trials_as_a_local_run(tmp_path):
    distributed = pytest.importorskip("distributed")
    local = _run(tmp_path, "local")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, host="127.0.0.1") as cluster:
        remote = _run(tmp_path, "dask", n_jobs=2, backend="dask",
                      backend_options={"scheduler_host": cluster.scheduler_address})
    pd.testing.assert_frame_equal(local, remote)


@pytest.mark.parametrize("backend, options, match", [
    ("spark", None, "unknown joblib backend 'spark'"),
    ("loky", {"scheduler_host": "x"}, "backend_options apply to joblib backends"),
    ("", None, "backend must be a joblib backend name"),
])
def test_bad_backend(tmp_path, backend, options, match):
    with pytest.raises(ValueError, match=match):
        _run(tmp_path, "bad", n_trials=1, backend=backend, backend_options=options)


def test_ray_gives_the_same_trials_as_a_local_run(tmp_path):
    ray = pytest.importorskip("ray")
    local = _run(tmp_path, "local", n_trials=6)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        remote = _run(tmp_path, "ray", n_trials=6, n_jobs=2, backend="ray")
    finally:
        ray.shutdown()
    pd.testing.assert_frame_equal(local, remote)
