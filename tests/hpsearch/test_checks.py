"""Every setting of a study is checked before the study exists in its storage."""

from __future__ import annotations

import math

import optuna
import pytest

import hpsearch
from hpsearch import space
from hpsearch.checks import check_study_settings, representative_points
from hpsearch.space.searchspace import SearchSpace

SPACE = SearchSpace({
    "lr": space.log_float(1e-3, 1e-1),
    "optimizer": space.choice(["sgd", "momentum"]),
    "momentum": space.float(0.5, 0.9, when={"optimizer": ["momentum"]}),
    "hidden": space.choice([[16], [32, 16]]),
})


@pytest.mark.parametrize("fixed, match", [
    ({"optimizer": "bogus"}, r"fixed\.optimizer: The 'optimizer' parameter must be one of"),
    ({"lr": math.nan}, r"fixed\.lr: lr must be a finite number > 0, got nan"),
    ({"lr": -0.1}, r"fixed\.lr: lr must be a finite number > 0"),
    ({"hidden": [0]}, r"fixed\.hidden: hidden layer widths must be positive integers, got \[0\]"),
    ({"dropout": 1.0}, r"fixed\.dropout: dropout must be a rate in \[0, 1\)"),
    ({"activation": "relu2"}, r"fixed\.activation: The 'activation' parameter must be one of"),
    ({"init": "zeros"}, r"fixed\.init: The 'init' parameter must be one of"),
    ({"schedule": "sometimes"}, r"fixed\.schedule: The 'schedule' parameter must be one of"),
    ({"batch_size": 0}, r"fixed\.batch_size: batch_size must be a positive integer"),
    ({"epochs": 0}, r"fixed\.epochs: epochs must be a positive integer"),
    ({"patience": -1}, r"fixed\.patience: patience must be an integer >= 0"),
    ({"n_layers": -1}, r"fixed\.n_layers: n_layers must be an integer >= 0"),
    # Trials that draw "sgd" would get the fixed momentum, which sgd does not take.
    ({"momentum": 0.9}, r"fixed\.momentum: optimizer 'sgd' does not take \['momentum'\]"),
    # Two per-layer rates, but the space also builds one-layer networks.
    ({"dropout": [0.1, 0.2]}, r"fixed\.dropout: .*one per hidden layer"),
])
def test_bad_fixed_settings_are_named(fixed, match):
    with pytest.raises(ValueError, match=match):
        check_study_settings(fixed, SPACE)


@pytest.mark.parametrize("dims, match", [
    ({"optimizer": space.choice(["adam", "bogus"])}, r"space\.optimizer: The 'optimizer'"),
    ({"hidden": space.choice([[16], [0]])}, r"space\.hidden: hidden layer widths"),
    ({"dropout": space.float(0.0, 1.0)}, r"space\.dropout: dropout must be a rate in \[0, 1\)"),
    ({"units": space.int(0, 8)}, r"space\.units: hidden layer widths must be positive"),
    ({"activation": space.fixed("nope")}, r"space\.activation: The 'activation' parameter"),
])
def test_bad_space_values_are_named(dims, match):
    with pytest.raises(ValueError, match=match):
        check_study_settings({}, SearchSpace(dims))


def test_good_settings_pass():
    check_study_settings({"epochs": 3, "dropout": 0.2, "hidden": []}, SPACE)
    check_study_settings({"lr": "range_test", "optimizer": "momentum", "momentum": 0.9},
                         SearchSpace({"hidden": space.choice([[8], [4096, 4096]])}))


def test_representative_points_reach_every_value_and_condition():
    points = representative_points(SPACE)
    assert {p["optimizer"] for p in points} == {"sgd", "momentum"}
    assert {p.get("momentum") for p in points} == {None, 0.5, 0.9}
    assert {tuple(p["hidden"]) for p in points} == {(16,), (32, 16)}
    for point in points:
        SPACE.validate(point)


def test_study_create_refuses_a_bad_fixed_setting_and_stores_nothing(tmp_path):
    storage = f"sqlite:///{tmp_path / 'c.db'}"
    with pytest.raises(ValueError, match=r"fixed\.optimizer"):
        hpsearch.Study.create("c", dataset="digits", space=dict(SPACE.dimensions),
                              fixed={"optimizer": "bogus"}, storage=storage)
    assert not (tmp_path / "c.db").exists() or optuna.get_all_study_names(storage) == []
