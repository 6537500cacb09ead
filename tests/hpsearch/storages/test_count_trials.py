"""count_trials: one COUNT query on SQL storages, Optuna's own count elsewhere, same answer."""

from __future__ import annotations

import optuna
import pytest
import sqlalchemy

from hpsearch.storages.database import count_trials, open_storage


def _study_with_trials(url: str, name: str) -> tuple[optuna.storages.BaseStorage, int]:
    storage = open_storage(url)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=name, storage=storage)
    other = optuna.create_study(study_name=name + "-other", storage=storage)
    other.enqueue_trial({"x": 0.0})  # trials of another study are not counted
    for i in range(5):
        trial = study.ask()
        trial.suggest_float("x", 0, 1)
        if i < 3:
            study.tell(trial, float(i))
    study.enqueue_trial({"x": 0.5})  # 5 asked (3 finished, 2 running) and 1 waiting
    return storage, study._study_id


@pytest.mark.parametrize("kind", ["sqlite", "journal", "memory"])
def test_count_matches_optuna(tmp_path, kind):
    url = {"sqlite": f"sqlite:///{tmp_path / 's.db'}", "journal": f"journal:///{tmp_path / 's.log'}",
           "memory": "memory"}[kind]
    storage, study_id = _study_with_trials(url, f"count-{kind}-{tmp_path.name}")
    assert count_trials(storage, study_id) == storage.get_n_trials(study_id) == 6


def test_sql_storages_are_counted_without_loading_the_trials(tmp_path, monkeypatch):
    storage, study_id = _study_with_trials(f"sqlite:///{tmp_path / 's.db'}", "direct")

    def no_loading(*args, **kwargs):
        raise AssertionError("count_trials loaded the trials")

    monkeypatch.setattr(storage, "get_n_trials", no_loading)
    monkeypatch.setattr(storage, "get_all_trials", no_loading)
    assert count_trials(storage, study_id) == 6


def test_an_unknown_schema_falls_back_to_optuna(tmp_path):
    class ForeignStorage:  # an engine without Optuna's tables
        engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'other.db'}")

        def get_n_trials(self, study_id):
            return 7

    assert count_trials(ForeignStorage(), 1) == 7
