"""Search spaces: validation on construction, sampling, grids, conversions."""

from __future__ import annotations

import math

import numpy as np
import optuna
import pytest

from hpsearch import space
from hpsearch.space.searchspace import SearchSpace
from hpsearch.strategies.tpe_hyperopt import HyperoptSpace


@pytest.fixture
def conditional():
    return SearchSpace({
        "lr": space.log_float(1e-4, 1e-1),
        "hidden": space.choice([[64], [128, 64]]),
        "optimizer": space.choice(["sgd", "momentum", "nesterov", "adam"]),
        "momentum": space.float(0.5, 0.99, when={"optimizer": ["momentum", "nesterov"]}),
        "batch_size": space.int(16, 128, log=True),
        "epochs": 5,
    })


@pytest.mark.parametrize("make, match", [
    (lambda: space.float(1.0, 0.5), r"`low < high` must hold, but got \(low=1.0, high=0.5\)"),
    (lambda: space.log_float(0.0, 1.0), "log-scale float needs low > 0"),
    (lambda: space.float(0, math.inf), "high must be a finite number"),
    (lambda: space.int(5, 1), "`low <= high` must hold"),
    (lambda: space.int(1, 5, step=0), "step must be >= 1"),
    (lambda: space.log_int(0, 8), "log-scale int needs low >= 1"),
    (lambda: space.int(1.5, 3), "must be an integer"),
    (lambda: space.choice([]), "at least one value"),
    (lambda: space.choice("abc"), "list of values"),
    (lambda: space.choice([1, 1]), "distinct"),
    (lambda: space.normal(0, -1, low=-1, high=1), "sigma must be > 0"),
])
def test_bad_dimensions(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


@pytest.mark.parametrize("dims, match", [
    ({"m": space.float(0, 1, when={"opt": ["sgd"]})}, "unknown parameter 'opt'"),
    ({"m": space.float(0, 1, when={"opt": ["sgd"]}), "opt": space.choice(["sgd"])},
     "must come first"),
    ({"x": space.float(0, 1), "m": space.float(0, 1, when={"x": [0.5]})},
     "only choice or fixed"),
    ({"opt": space.choice(["sgd"]), "m": space.float(0, 1, when={"opt": ["adam"]})},
     "cannot take"),
])
def test_bad_conditions(dims, match):
    with pytest.raises(ValueError, match=match):
        SearchSpace(dims)


def test_samples_stay_in_bounds_and_respect_conditions(conditional):
    rng = np.random.default_rng(0)
    for _ in range(300):
        params = conditional.sample(rng)
        conditional.validate(params)
        assert ("momentum" in params) == (params["optimizer"] in ("momentum", "nesterov"))
        assert isinstance(params["batch_size"], int) and isinstance(params["hidden"], list)


def test_log_uniform_draws_cover_decades():
    dim = SearchSpace({"lr": space.log_float(1e-5, 1e-1)})
    draws = np.array([dim.sample(np.random.default_rng(i))["lr"] for i in range(2000)])
    decades = np.histogram(np.log10(draws), bins=4, range=(-5, -1))[0]
    assert decades.min() > 400


def test_normal_prior_is_truncated():
    dim = SearchSpace({"x": space.normal(0.0, 1.0, low=-0.5, high=2.0)})
    draws = [dim.sample(np.random.default_rng(i))["x"] for i in range(500)]
    assert min(draws) >= -0.5 and max(draws) <= 2.0


def test_grid_points_counts_and_log_spacing(conditional):
    points = {"lr": 3, "momentum": 2, "batch_size": 3}
    grid = conditional.grid(points)
    # 3 lr x 2 hidden x (sgd + 2 momentum + 2 nesterov + adam) x 3 batch sizes
    assert conditional.grid_size(points) == len(grid) == 3 * 2 * 6 * 3
    assert sorted({p["lr"] for p in grid}) == pytest.approx([1e-4, 10 ** -2.5, 1e-1])
    assert sorted({p["batch_size"] for p in grid}) == [16, 45, 128]
    assert len({repr(sorted(p.items())) for p in grid}) == len(grid)
    for params in grid:
        conditional.validate(params)


def test_grid_too_large_is_refused_before_running():
    big = SearchSpace({f"x{i}": space.float(0, 1) for i in range(7)})
    assert big.grid_size(5) == 5**7
    with pytest.raises(ValueError, match="78125 points, more than the limit of 10000"):
        big.grid(5)
    assert len(big.grid(2, limit=100, allow_large=True)) == 128


def test_dict_round_trip(conditional):
    assert SearchSpace.from_dict(conditional.to_dict()) == conditional


def test_optuna_suggest_decodes_list_choices(conditional):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(20):
        trial = study.ask()
        params = conditional.suggest(trial)
        conditional.validate(params)
        assert conditional.decode(trial.params) == params
        study.tell(trial, 0.0)


def test_hyperopt_round_trip(conditional):
    hspace = HyperoptSpace(conditional)
    rng = np.random.default_rng(1)
    for _ in range(50):
        params = conditional.sample(rng)
        assert hspace.decode(hspace.encode(params)) == params


def test_unknown_parameter_name():
    with pytest.raises(ValueError, match=r"unknown parameter name\(s\) \['learning_rate'\]"):
        SearchSpace({"learning_rate": space.float(0, 1)}).check_names(["lr"])


def test_decoding_stored_choices_gives_fresh_values_and_refuses_strangers():
    hspace = SearchSpace({"hidden": space.choice([[64], [128, 64]]),
                          "act": space.choice([None, "relu", 2, math.inf])})
    stored = hspace.encode({"hidden": [128, 64], "act": math.inf})
    first = hspace.decode(stored)
    first["hidden"].append(1)  # a caller's change reaches no later decode
    assert hspace.decode(stored) == {"hidden": [128, 64], "act": math.inf}
    assert hspace.decode({"act": None}) == {"act": None}
    for stranger in ("[64, 128]", ["unhashable"], 3):
        with pytest.raises(ValueError, match="is not a value of"):
            hspace.decode({"hidden": stranger})
