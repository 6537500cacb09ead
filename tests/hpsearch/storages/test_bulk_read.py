"""read_trials: every trial of a study in a few SQL queries, exactly as Optuna reads them."""

from __future__ import annotations

import math

import optuna
import pytest
from helpers.pgserver import postgres_or_skip
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from hpsearch.storages.bulk import read_trials
from hpsearch.storages.database import open_storage


@pytest.fixture(scope="module")
def postgres_url():
    yield from postgres_or_skip()


def _varied_study(storage, name: str) -> int:
    """A study holding every kind of trial record: states, infinite and NaN values,
    intermediate values, nested attributes, categorical choices of several types."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=name, storage=storage)
    other = optuna.create_study(study_name=name + "-other", storage=storage)
    other.enqueue_trial({"x": 0.0})  # another study's trials are not read
    dists = {"x": FloatDistribution(1e-4, 1.0, log=True), "n": IntDistribution(1, 9, step=2),
             "act": CategoricalDistribution(["relu", None, 3, 2.5, True])}
    for i, (state, value) in enumerate([(TrialState.COMPLETE, 0.25), (TrialState.COMPLETE, math.inf),
                                        (TrialState.COMPLETE, -math.inf), (TrialState.FAIL, None),
                                        (TrialState.PRUNED, 0.5), (TrialState.RUNNING, None)]):
        study.add_trial(optuna.trial.create_trial(
            state=state, value=value, params={"x": 0.01 * (i + 1), "n": 1 + (2 * i) % 10,
                                              "act": ["relu", None, 3, 2.5, True, "relu"][i]},
            distributions=dists, user_attrs={"metrics": {"acc": 0.5, "curve": [1, 2]}, "e": None},
            system_attrs={"hpsearch:slot": i, "hpsearch:owner": "h:1", "flag": True},
            intermediate_values={0: 1.0, 1: math.nan, 2: math.inf, 3: -math.inf} if i == 4 else {}))
    study.ask()  # a running trial without parameters
    return study._study_id


@pytest.mark.parametrize("kind", ["sqlite", "journal", "postgresql"])
def test_reads_the_trials_optuna_reads(tmp_path, kind, request):
    url = {"sqlite": f"sqlite:///{tmp_path / 's.db'}",
           "journal": f"journal:///{tmp_path / 's.log'}"}.get(kind)
    url = url or request.getfixturevalue("postgres_url")
    storage = open_storage(url)
    name = f"bulk-{kind}-{tmp_path.name}"
    study_id = _varied_study(storage, name)
    expected = storage.get_all_trials(study_id, deepcopy=False)
    found = read_trials(storage, study_id)
    assert len(found) == len(expected) == 7
    for mine, theirs in zip(found, expected, strict=True):
        # NaN != NaN: intermediate values are compared as they print.
        assert repr(mine.intermediate_values) == repr(theirs.intermediate_values)
        mine.intermediate_values = theirs.intermediate_values = {}
        assert mine == theirs and mine._trial_id == theirs._trial_id
        assert list(mine.params) == list(theirs.params)  # in the order they were set


def test_a_missing_study_raises_key_error_as_optuna_does(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path / 's.db'}")
    study_id = _varied_study(storage, "gone")
    optuna.delete_study(study_name="gone", storage=storage)
    with pytest.raises(KeyError):
        storage.get_all_trials(study_id)
    with pytest.raises(KeyError):
        read_trials(storage, study_id)


def test_a_table_reader_leaves_out_the_attributes_it_names_and_nothing_else(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path / 's.db'}")
    study_id = _varied_study(storage, "skip")
    full = read_trials(storage, study_id)
    lean = read_trials(storage, study_id, skip_user=("metrics",))
    assert [t.user_attrs for t in lean[:6]] == [{"e": None}] * 6
    assert [t.params for t in lean] == [t.params for t in full]
    assert [t.system_attrs for t in lean] == [t.system_attrs for t in full]
