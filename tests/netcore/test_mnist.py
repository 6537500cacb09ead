"""Integration: real MNIST, the classic 784-100-10 ReLU net trained with Adam."""

from __future__ import annotations

import pytest

import netcore


@pytest.mark.slow
def test_relu_adam_reaches_97_5_percent_in_ten_epochs(mnist_available):
    data = netcore.load_dataset("mnist")
    model = netcore.MLP([784, 100, 10], activation="relu", init="he", seed=0)
    hist = netcore.fit(model, data.X_train, data.y_train, data.X_val, data.y_val,
                       optimizer="adam", lr=1e-3, batch_size=128, epochs=10, seed=0,
                       early_stopping=netcore.EarlyStopping(patience=3, restore_best=True))
    assert hist.epochs_run <= 10 and not hist.diverged
    assert model.evaluate(data.X_test, data.y_test)["accuracy"] >= 0.975
