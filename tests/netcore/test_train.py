"""fit(): batching, determinism, divergence, callbacks and early stopping."""

from __future__ import annotations

import numpy as np
import pytest

import netcore


@pytest.fixture(scope="module")
def digits():
    return netcore.load_dataset("digits")


def _train(data, seed=0, **options):
    model = netcore.MLP([64, 32, 10], seed=seed)
    hist = netcore.fit(model, data.X_train, data.y_train, data.X_val, data.y_val,
                       **{"epochs": 3, "batch_size": 64, "seed": seed, **options})
    return model, hist


def test_learns_digits(digits):
    model, hist = _train(digits, epochs=10, lr=1e-2)
    assert hist["val_accuracy"][-1] > 0.9
    assert hist["loss"][-1] < hist["loss"][0]
    assert model.evaluate(digits.X_test, digits.y_test)["accuracy"] > 0.9


def test_same_seed_gives_bit_identical_history_and_weights(digits):
    m1, h1 = _train(digits, seed=5, optimizer="momentum", momentum=0.9, lr=0.05, l2=1e-4)
    m2, h2 = _train(digits, seed=5, optimizer="momentum", momentum=0.9, lr=0.05, l2=1e-4)
    np.testing.assert_array_equal(m1.params, m2.params)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert h1[key] == h2[key]
    _, h3 = _train(digits, seed=6, optimizer="momentum", momentum=0.9, lr=0.05, l2=1e-4)
    assert h3["loss"] != h1["loss"]


def test_history_shape_and_frame(digits):
    _, hist = _train(digits)
    frame = hist.to_frame()
    assert list(frame.columns) == ["loss", "accuracy", "val_loss", "val_accuracy", "time"]
    assert list(frame.index) == [1, 2, 3]
    assert all(t > 0 for t in hist["time"])
    assert hist.stop_reason == "completed" and not hist.diverged
    assert hist.best_epoch == int(np.argmin(hist["val_loss"])) + 1


class StepCounter(netcore.Callback):
    def __init__(self):
        self.steps = []

    def on_batch_end(self, model, step):
        self.steps.append(step)


def test_last_partial_batch_is_trained(rng):
    X, y = rng.standard_normal((10, 3)), rng.integers(0, 2, 10)
    counter = StepCounter()
    netcore.fit(netcore.MLP([3, 4, 2], seed=0), X, y, batch_size=4, epochs=2,
                callbacks=[counter], seed=0)
    assert counter.steps == [1, 2, 3, 4, 5, 6]


def test_batch_larger_than_data(rng):
    X, y = rng.standard_normal((5, 3)), rng.integers(0, 2, 5)
    hist = netcore.fit(netcore.MLP([3, 4, 2], seed=0), X, y, batch_size=128, epochs=2)
    assert hist.epochs_run == 2


def test_divergence_stops_training_and_is_recorded(digits):
    model = netcore.MLP([64, 32, 10], activation="linear", init="standard", seed=0)
    hist = netcore.fit(model, digits.X_train, digits.y_train, digits.X_val, digits.y_val,
                       optimizer="sgd", lr=1e4, epochs=20, seed=0)
    assert hist.diverged and hist.stop_reason == "diverged"
    assert hist.diverged_epoch == hist.epochs_run < 20


def test_early_stopping_restores_the_best_epoch(digits):
    small = digits.subset(n_train=40)
    model = netcore.MLP([64, 256, 256, 10], seed=0)
    stopper = netcore.EarlyStopping(patience=3, restore_best=True)
    hist = netcore.fit(model, small.X_train, small.y_train, small.X_val, small.y_val,
                       lr=3e-3, batch_size=8, epochs=200, seed=0, early_stopping=stopper)
    assert hist.stop_reason == "early_stopping"
    best = int(np.argmin(hist["val_loss"])) + 1
    assert hist.best_epoch == hist.restored_epoch == best
    assert hist.epochs_run == best + 3
    assert min(hist["val_loss"][best:]) > hist["val_loss"][best - 1]
    assert model.evaluate(small.X_val, small.y_val)["loss"] == hist["val_loss"][best - 1]


def test_early_stopping_on_accuracy_with_min_delta(digits):
    stopper = netcore.EarlyStopping("val_accuracy", patience=1, min_delta=0.5)
    _, hist = _train(digits, epochs=10, early_stopping=stopper)
    # No epoch can beat the first by 0.5, so training stops after the second.
    assert hist.epochs_run == 2 and hist.best_epoch == 1


def test_epoch_hook_can_stop(digits):
    seen = []
    hook = netcore.EpochHook(lambda epoch, logs: seen.append(logs["val_loss"]) or epoch == 2)
    _, hist = _train(digits, epochs=5, callbacks=[hook])
    assert len(seen) == 2 and hist.epochs_run == 2 and hist.stop_reason == "pruned"


def test_optimizer_object_and_options(digits):
    opt = netcore.get_optimizer("rmsprop", rho=0.8)
    _, hist = _train(digits, optimizer=opt)
    assert opt.t == hist.epochs_run * int(np.ceil(len(digits.X_train) / 64))
    with pytest.raises(ValueError, match="to the optimizer object"):
        _train(digits, optimizer=opt, rho=0.5)


@pytest.mark.parametrize("options, error, match", [
    ({"optimizer": "adamw"}, ValueError, "'optimizer' parameter must be one of"),
    ({"lr": -1}, ValueError, "lr must be a finite number > 0"),
    ({"lr": float("nan")}, ValueError, "lr must be"),
    ({"batch_size": 0}, ValueError, "batch_size must be a positive integer"),
    ({"epochs": 2.5}, ValueError, "epochs must be a positive integer"),
    ({"l2": -1}, ValueError, "l2 must be"),
    ({"clip_norm": 0}, ValueError, "clip_norm must be"),
    ({"learning_rate": 0.1}, TypeError, r"unknown options \['learning_rate'\]"),
    ({"optimizer": "adam", "momentum": 0.9}, ValueError, "does not take"),
    ({"early_stopping": "yes"}, TypeError, "early_stopping must be an EarlyStopping"),
])
def test_bad_options(digits, options, error, match):
    with pytest.raises(error, match=match):
        _train(digits, **options)


def test_early_stopping_on_validation_needs_validation_data(rng):
    X, y = rng.standard_normal((10, 3)), rng.integers(0, 2, 10)
    with pytest.raises(ValueError, match="pass X_val and y_val"):
        netcore.fit(netcore.MLP([3, 2]), X, y, early_stopping=netcore.EarlyStopping())


@pytest.mark.parametrize("kwargs", [{"monitor": "val_f1"}, {"patience": -1}, {"min_delta": -1}])
def test_bad_early_stopping(kwargs):
    with pytest.raises(ValueError):
        netcore.EarlyStopping(**kwargs)
