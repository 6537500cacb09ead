"""Learning-rate schedules: exact sequences, validation, and their use inside fit."""

from __future__ import annotations

import math

import numpy as np
import pytest

import netcore
from netcore.optim import OPTIMIZERS, get_optimizer
from netcore.schedules import SCHEDULES, get_schedule, schedule_options


def _cos(start, end, fraction):
    return end + (start - end) * (1 + math.cos(math.pi * fraction)) / 2


def _seq(name, n, lr=0.1, **options):
    return get_schedule(name, lr, **options).sequence(n)


# Exact sequences, one per schedule ---------------------------------------------------------

def test_constant():
    assert _seq("constant", 6, steps_per_epoch=2, epochs=3) == [0.1] * 6


def test_step_decay_per_epoch():
    seq = _seq("step", 12, steps_per_epoch=2, epochs=6, step_size=2, gamma=0.5)
    assert seq == [0.1] * 4 + [0.05] * 4 + [0.025] * 4


def test_exponential_decay_per_epoch():
    seq = _seq("exponential", 8, steps_per_epoch=2, epochs=4, gamma=0.5)
    assert seq == [0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125, 0.0125]


def test_inverse_time_decay_per_epoch():
    seq = _seq("inverse_time", 5, lr=1.0, epochs=5, decay_rate=1.0)
    assert seq == [1.0, 1 / 2, 1 / 3, 1 / 4, 1 / 5]
    halved = _seq("inverse_time", 3, lr=1.0, epochs=3, steps_per_epoch=1, decay_rate=0.5)
    assert halved == [1.0, 1 / 1.5, 1 / 2.0]


def test_cosine_per_batch_from_lr_to_min_lr_then_held():
    seq = _seq("cosine", 7, lr=1.0, steps_per_epoch=5, epochs=1, min_lr=0.1)
    expected = [_cos(1.0, 0.1, t / 4) for t in range(5)] + [0.1, 0.1]
    assert seq == pytest.approx(expected, rel=1e-15)
    assert seq[0] == 1.0 and seq[2] == pytest.approx(0.55, rel=1e-15) and seq[4] == 0.1


def test_cosine_horizon_from_schedule_steps():
    seq = _seq("cosine", 4, lr=1.0, steps_per_epoch=100, epochs=3, schedule_steps=3)
    assert seq == pytest.approx([1.0, 0.5, 0.0, 0.0], abs=1e-15)


def test_one_cycle():
    # T = 11 steps, peak at round(0.3 * 10) = 3, from 1/25 up to 1, down to 1/25/1e4.
    seq = _seq("one_cycle", 12, lr=1.0, steps_per_epoch=11, epochs=1)
    start, end = 1 / 25, 1 / 25 / 1e4
    expected = [_cos(start, 1.0, t / 3) for t in range(4)] \
        + [_cos(1.0, end, k / 7) for k in range(1, 8)] + [end]
    assert seq == pytest.approx(expected, rel=1e-14)
    assert seq[:4] == pytest.approx([0.04, 0.28, 0.76, 1.0], rel=1e-14)
    assert seq[10] == pytest.approx(4e-6, rel=1e-12)


def test_one_cycle_options():
    seq = _seq("one_cycle", 5, lr=2.0, steps_per_epoch=5, epochs=1, pct_start=0.5,
               div_factor=4.0, final_div_factor=2.0)
    # Up from 2 / 4 to 2 at step 2, down to 2 / 4 / 2 at step 4; each half-way point is the mean.
    assert seq == pytest.approx([0.5, 1.25, 2.0, 1.125, 0.25], rel=1e-14)


def test_linear_warmup_then_constant():
    seq = _seq("warmup", 6, lr=0.1, steps_per_epoch=10, epochs=1, warmup_steps=4)
    assert seq == pytest.approx([0.025, 0.05, 0.075, 0.1, 0.1, 0.1], rel=1e-15)
    one_epoch = _seq("warmup", 3, lr=1.0, steps_per_epoch=2, epochs=2)
    assert one_epoch == [0.5, 1.0, 1.0]


def test_linear_range_grows_linearly_to_max_lr_then_holds():
    seq = _seq("linear_range", 6, lr=0.1, steps_per_epoch=5, epochs=1, max_lr=0.5)
    assert seq[:5] == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5]) and seq[5] == seq[4]


def test_exp_range_grows_exponentially_to_max_lr_then_holds():
    seq = _seq("exp_range", 7, lr=1e-4, steps_per_epoch=100, epochs=1, max_lr=1.0,
               schedule_steps=5)
    assert seq == pytest.approx([1e-4, 1e-3, 1e-2, 1e-1, 1.0, 1.0, 1.0], rel=1e-12)
    default = _seq("exp_range", 3, lr=0.1, steps_per_epoch=3, epochs=1)
    assert default == pytest.approx([0.1, 1.0, 10.0], rel=1e-12)


def test_warmup_composes_with_every_schedule():
    seq = _seq("cosine", 5, lr=1.0, steps_per_epoch=5, epochs=1, warmup_steps=2)
    cosine = [_cos(1.0, 0.0, t / 4) for t in range(5)]
    assert seq == pytest.approx([cosine[0] / 2, *cosine[1:]], rel=1e-15, abs=1e-15)
    step = _seq("step", 4, lr=1.0, steps_per_epoch=2, epochs=2, step_size=1, gamma=0.5,
                warmup_steps=3)
    assert step == pytest.approx([1 / 3, 2 / 3, 0.5, 0.5], rel=1e-15)


# Validation --------------------------------------------------------------------------------

def test_registry_and_options():
    assert sorted(SCHEDULES) == ["constant", "cosine", "exp_range", "exponential", "inverse_time",
                                "linear_range", "one_cycle", "step", "warmup"]
    assert schedule_options("step") == ["gamma", "step_size", "warmup_steps"]
    assert schedule_options("cosine") == ["min_lr", "schedule_steps", "warmup_steps"]


def test_unknown_name_lists_the_allowed_ones():
    with pytest.raises(ValueError, match=r"must be one of \['constant', 'cosine', 'exp_range'"):
        get_schedule("linear", 0.1)
    with pytest.raises(ValueError, match="'schedule' parameter"):
        get_schedule(["cosine"], 0.1)


@pytest.mark.parametrize("name, options, match", [
    ("cosine", {"gamma": 0.5}, r"schedule 'cosine' does not take \['gamma'\]; it takes"),
    ("step", {"schedule_steps": 5}, "does not take"),
    ("step", {"step_size": 0}, "step_size must be a positive integer"),
    ("step", {"gamma": -0.5}, "gamma must be a finite number > 0"),
    ("inverse_time", {"decay_rate": -1}, "decay_rate must be"),
    ("cosine", {"min_lr": float("nan")}, "min_lr must be"),
    ("one_cycle", {"pct_start": 1.5}, "pct_start must satisfy"),
    ("one_cycle", {"div_factor": 0}, "div_factor must be"),
    ("exp_range", {"max_lr": 0}, "max_lr must be"),
    ("warmup", {"warmup_steps": -1}, "warmup_steps must be an integer >= 0"),
    ("cosine", {"schedule_steps": 2.5}, "schedule_steps must be a positive integer"),
])
def test_bad_options(name, options, match):
    with pytest.raises(ValueError, match=match):
        get_schedule(name, 0.1, **options)


# Inside fit --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small():
    return netcore.load_dataset("digits").subset(n_train=100, n_val=50)


def _recording(optimizer):
    """Wrap an optimizer's step so that it records every learning rate it is given."""
    seen = []
    step = optimizer.step

    def recording_step(params, grads, lr):
        seen.append(lr)
        step(params, grads, lr)

    optimizer.step = recording_step
    return optimizer, seen


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_every_optimizer_steps_with_the_scheduled_rate(optimizer, small):
    opt, seen = _recording(get_optimizer(optimizer))
    model = netcore.MLP([64, 16, 10], seed=0)
    hist = netcore.fit(model, small.X_train, small.y_train, small.X_val, small.y_val,
                       optimizer=opt, lr=0.01, batch_size=32, epochs=3, seed=0,
                       schedule="one_cycle", pct_start=0.25, warmup_steps=2)
    expected = get_schedule("one_cycle", 0.01, steps_per_epoch=4, epochs=3, pct_start=0.25,
                            warmup_steps=2).sequence(12)
    assert seen == expected
    assert hist["lr"] == [expected[0], expected[4], expected[8]]
    assert np.isfinite(hist["loss"]).all()


def test_per_epoch_schedule_in_fit_records_lr(small):
    model = netcore.MLP([64, 16, 10], seed=0)
    hist = netcore.fit(model, small.X_train, small.y_train, small.X_val, small.y_val,
                       optimizer="sgd", lr=0.1, epochs=4, batch_size=50, seed=0,
                       schedule="step", step_size=1, gamma=0.5)
    assert hist["lr"] == [0.1, 0.05, 0.025, 0.0125]
    assert list(hist.to_frame().columns) == ["loss", "accuracy", "val_loss", "val_accuracy",
                                             "lr", "time"]


def test_without_a_schedule_there_is_no_lr_column(small):
    hist = netcore.fit(netcore.MLP([64, 10], seed=0), small.X_train, small.y_train, epochs=1)
    assert "lr" not in hist.metrics


@pytest.mark.parametrize("options, match", [
    ({"schedule": "linear"}, r"'schedule' parameter must be one of \["),
    ({"gamma": 0.5}, r"\['gamma'\] configure a learning-rate schedule"),
    ({"schedule": "cosine", "step_size": 3}, "does not take"),
    ({"schedule": "step", "gamma": 0}, "gamma must be"),
])
def test_bad_schedule_options_in_fit(options, match, small):
    with pytest.raises(ValueError, match=match):
        netcore.fit(netcore.MLP([64, 10], seed=0), small.X_train, small.y_train, **options)
