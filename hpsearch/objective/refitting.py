"""A trial's configuration trained again in this process (to keep or use its model)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

import netcore
from hpsearch.objective.config import ObjectiveConfig
from hpsearch.objective.range_test import range_test_settings
from hpsearch.objective.training import DivergedError, build_model, split_settings, train_once
from netcore.validation import check_positive_int


def refit(config: ObjectiveConfig, params: Mapping, seed: int, data: netcore.Dataset, *,
          epochs: int | None = None) -> netcore.MLP:
    """Train the configuration ``params`` again in this process.

    With ``epochs`` the net trains on the training and validation splits
    together for exactly that many epochs (no early stopping: there is no
    held-out data left to stop on); without, it trains as the trial did, on the
    training split with early stopping on the validation split.
    """
    settings, _ = range_test_settings(config, {**config.fixed, **params}, seed, data)
    if epochs is None:
        model, _ = train_once(config, settings, seed, data, data.X_train, data.y_train,
                              data.X_val, data.y_val)
    else:
        model = build_model(config, settings, seed, data)
        _, fit_kw = split_settings(settings)
        fit_kw["epochs"] = check_positive_int(epochs, "epochs")
        X = np.concatenate([data.X_train, data.X_val])
        y = np.concatenate([data.y_train, data.y_val])
        hist = netcore.fit(model, X, y, seed=seed, **fit_kw)
        if hist.diverged:
            raise DivergedError(f"the refit diverged at epoch {hist.diverged_epoch}")
    return model
