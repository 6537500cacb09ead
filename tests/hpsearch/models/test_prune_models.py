"""Pruning a study's models after each trial reads each finished trial once and keeps
the same files as reading every one again."""

from __future__ import annotations

import dataclasses

import numpy as np

from hpsearch import space
from hpsearch.models.store import prune_models
from hpsearch.storages import artifacts, records
from hpsearch.study import Study


def _study(tmp_path) -> Study:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4))
    return Study.create("prune", space={"lr": space.log_float(1e-3, 3e-1)},
                        data=(X, (X[:, 0] > 0).astype(int)), storage=f"sqlite:///{tmp_path}/p.db",
                        seed=0, epochs=2, patience=None, fixed={"hidden": [8]}, keep_models=10)


def _model_ids(study: Study) -> set[int]:
    return {int(p.stem.split("-")[2]) for p in artifacts.models_dir(study.folder).glob("*.npz")}


def test_a_runs_memory_of_finished_trials_keeps_the_best_models_and_only_their_ids(tmp_path):
    study = _study(tmp_path)
    study.run(n_trials=6, progress=False)
    assert len(_model_ids(study)) == 6
    objective = dataclasses.replace(study.config.objective, keep_models=2)
    config = dataclasses.replace(study.config, objective=objective)
    finished: dict[int, tuple] = {}
    prune_models(study.handle, config, finished)
    best = sorted(study.handle.completed(), key=lambda t: (t.value, records.slot_of(t)))[:2]
    assert _model_ids(study) == {records.trial_id_of(t) for t in best}
    # What it remembers is the outcome of the files still there: no more.
    assert set(finished) == _model_ids(study)
    assert finished == {records.trial_id_of(t): ("COMPLETE", t.values) for t in best}
    # Pruning again from that memory keeps the same two files.
    prune_models(study.handle, config, finished)
    assert _model_ids(study) == {records.trial_id_of(t) for t in best}
