"""netcore: a multilayer perceptron written from scratch in numpy.

>>> import netcore
>>> data = netcore.load_dataset("digits")
>>> model = netcore.MLP([64, 32, 10], activation="relu", init="he", seed=0)
>>> hist = netcore.fit(model, data.X_train, data.y_train, data.X_val, data.y_val,
...                    optimizer="adam", lr=1e-2, batch_size=32, epochs=5, seed=0)
>>> model.evaluate(data.X_test, data.y_test)["accuracy"] > 0.9
True
"""

from netcore.activations import ACTIVATIONS
from netcore.callbacks import Callback, EarlyStopping, EpochHook
from netcore.checkpoint import TrainingState
from netcore.data import DATASETS, Dataset, PCAWhitener, Preprocessing, Standardizer, load_dataset
from netcore.diagnostics import GradientNormMonitor, exploding_gradient_net, gradient_norms
from netcore.gradcheck import gradcheck
from netcore.init import INITIALIZERS
from netcore.io import load, save
from netcore.losses import LOSSES
from netcore.model import MLP
from netcore.optim import OPTIMIZERS, get_optimizer
from netcore.schedules import SCHEDULES, get_schedule
from netcore.step import TrainStep
from netcore.train import History, TrainConfig, fit
from netcore.validation import check_options

__all__ = [
    "ACTIVATIONS",
    "DATASETS",
    "INITIALIZERS",
    "LOSSES",
    "MLP",
    "OPTIMIZERS",
    "SCHEDULES",
    "Callback",
    "Dataset",
    "EarlyStopping",
    "EpochHook",
    "GradientNormMonitor",
    "History",
    "PCAWhitener",
    "Preprocessing",
    "Standardizer",
    "TrainConfig",
    "TrainStep",
    "TrainingState",
    "check_options",
    "exploding_gradient_net",
    "fit",
    "get_optimizer",
    "get_schedule",
    "gradcheck",
    "gradient_norms",
    "load",
    "load_dataset",
    "save",
]
