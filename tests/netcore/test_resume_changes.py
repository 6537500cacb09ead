"""fit(resume=state, lr=..., ...): hyperparameters changed at resume take effect, the
optimizer state carries on, and what cannot change is refused by name."""

from __future__ import annotations

import numpy as np
import pytest

import netcore


@pytest.fixture(scope="module")
def digits():
    return netcore.load_dataset("digits").subset(n_train=300)


def _fit(model, data, **options):
    return netcore.fit(model, data.X_train, data.y_train, data.X_val, data.y_val,
                       **{"epochs": 4, "batch_size": 32, "seed": 1, **options})


def _net(**extra):
    return netcore.MLP([64, 16, 10], seed=0, **extra)


def _paused(digits, net=None, **options):
    model = net or _net()
    return model, _fit(model, digits, pause_after=2, **options)


def test_a_changed_lr_takes_effect_from_the_next_epoch(digits):
    # The reference: one run whose step schedule halves the rate after epoch 2.
    reference = _net()
    whole = _fit(reference, digits, optimizer="momentum", momentum=0.9, lr=0.1,
                 schedule="step", step_size=2, gamma=0.5)
    _, paused = _paused(digits, optimizer="momentum", momentum=0.9, lr=0.1)
    resumed_model = _net()
    resumed = _fit(resumed_model, digits, optimizer="momentum", momentum=0.9, lr=0.05,
                   resume=paused.state)
    assert np.array_equal(resumed_model.params, reference.params)
    assert resumed["val_loss"] == whole["val_loss"]
    # Not the rate it was paused with: that run ends elsewhere.
    unchanged = _net()
    _fit(unchanged, digits, optimizer="momentum", momentum=0.9, lr=0.1, resume=paused.state)
    assert not np.array_equal(unchanged.params, reference.params)


@pytest.mark.parametrize("change", [{"momentum": 0.5}, {"l2": 1e-3}, {"batch_size": 64},
                                    {"clip_norm": 0.5}])
def test_other_changed_options_continue_the_same_training(digits, change):
    options = {"optimizer": "momentum", "momentum": 0.9, "lr": 0.05}
    _, paused = _paused(digits, **options)
    same, changed = _net(), _net()
    kept = _fit(same, digits, resume=paused.state, **options)
    moved = _fit(changed, digits, resume=paused.state, **{**options, **change})
    assert moved.epochs_run == kept.epochs_run == 4
    # The first two epochs are the paused run's; the last two follow the new value.
    assert moved["val_loss"][:2] == kept["val_loss"][:2] == paused.state.history["metrics"]["val_loss"]
    assert moved["val_loss"][2:] != kept["val_loss"][2:]
    assert not np.array_equal(changed.params, same.params)


def test_dropout_changes_by_resuming_with_a_net_of_other_rates(digits):
    _, paused = _paused(digits, net=_net(dropout=0.2), lr=0.01)
    same, changed = _net(dropout=0.2), _net(dropout=0.5)
    _fit(same, digits, lr=0.01, resume=paused.state)
    hist = _fit(changed, digits, lr=0.01, resume=paused.state)
    assert hist.epochs_run == 4 and changed.dropout == [0.5]
    assert not np.array_equal(changed.params, same.params)


def test_what_cannot_change_is_refused_by_name(digits):
    _, paused = _paused(digits, net=_net(dropout=0.2), optimizer="momentum", lr=0.01)
    with pytest.raises(ValueError, match=r"training options \['optimizer'\] differ.*only \['lr'"):
        _fit(_net(dropout=0.2), digits, optimizer="adam", lr=0.01, resume=paused.state)
    with pytest.raises(ValueError, match=r"training options \['schedule'\]"):
        _fit(_net(dropout=0.2), digits, optimizer="momentum", lr=0.01, schedule="cosine",
             resume=paused.state)
    with pytest.raises(ValueError, match=r"different net \(\['activation'\]"):
        _fit(_net(dropout=0.2, activation="tanh"), digits, optimizer="momentum", lr=0.01,
             resume=paused.state)
    with pytest.raises(ValueError, match=r"dropout may change at resume only between non-zero"):
        _fit(_net(), digits, optimizer="momentum", lr=0.01, resume=paused.state)
