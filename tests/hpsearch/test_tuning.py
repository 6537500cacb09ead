"""``default_space``: a generic space without data, one fitted to the table with it."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits, load_wine

import hpsearch
import netcore
from hpsearch import tuning
from hpsearch.space.searchspace import SearchSpace


def _values(space: dict, name: str) -> list:
    return [list(v) if isinstance(v, tuple) else v for v in space[name].values]


@pytest.fixture(scope="module")
def wine() -> netcore.Dataset:
    return netcore.Dataset.from_arrays(*load_wine(return_X_y=True), val=0.2, test=0.2, seed=0)


def test_default_space_without_data_is_the_generic_space():
    space = hpsearch.tuning.default_space()
    assert _values(space, "batch_size") == [32, 64, 128]
    assert _values(space, "hidden") == [[32], [64], [128], [64, 32], [128, 64]]
    assert space["lr"].log and space["lr"].low <= 1e-4 and space["lr"].high >= 1e-1


def test_a_small_table_gets_batches_that_take_several_steps_an_epoch(wine):
    rows = len(wine.X_train)  # 106 rows: batch 128 would be one step an epoch
    batches = _values(tuning.default_space(wine), "batch_size")
    assert rows == 106 and batches == [8, 16, 32]
    assert all(rows // b >= 3 for b in batches)


@pytest.mark.parametrize("rows, expected", [(30, [8, 16, 32]), (500, [8, 16, 32]),
                                            (900, [16, 32, 64]), (1800, [32, 64, 128]),
                                            (20_000, [32, 64, 128])])
def test_batch_sizes_leave_enough_steps_an_epoch(rows, expected):
    X = np.random.default_rng(0).normal(size=(rows, 3))
    data = netcore.Dataset.from_arrays(X, np.arange(rows) % 2, val=0.2, test=0.2)
    batches = _values(tuning.default_space(data), "batch_size")
    assert batches == expected
    if len(data.X_train) >= tuning.MIN_STEPS * 32:  # else the three smallest of the ladder
        assert all(len(data.X_train) // b >= tuning.MIN_STEPS for b in batches)


def test_only_small_tables_may_take_strong_penalties(wine):
    assert max(_values(tuning.default_space(wine), "l2")) >= 1e-2  # 106 training rows
    assert max(_values(tuning.default_space(), "l2")) <= 1e-3
    digits = netcore.Dataset.from_arrays(*load_digits(return_X_y=True))
    assert max(_values(tuning.default_space(digits), "l2")) <= 1e-3  # 1078 training rows


def test_widths_grow_with_the_number_of_features():
    digits = netcore.Dataset.from_arrays(*load_digits(return_X_y=True))
    assert _values(tuning.default_space(digits), "hidden") == \
        [[32], [64], [128], [64, 32], [128, 64]]  # 64 features: the generic widths
    wide = netcore.Dataset.from_arrays(np.random.default_rng(0).normal(size=(60, 200)),
                                       np.arange(60) % 2)
    assert _values(tuning.default_space(wide), "hidden") == \
        [[128], [256], [512], [256, 128], [512, 256]]


def test_tune_searches_the_space_fitted_to_its_data(wine):
    study = hpsearch.tune(wine, n_trials=2, epochs=1, progress=False)
    assert study.config.space.to_dict() == SearchSpace(tuning.default_space(wine)).to_dict()
    assert study.best_params["batch_size"] in (8, 16, 32)
    assert study.config.objective.patience == 10  # a few dozen validation rows are noisy
