"""What a trial's trainings scored: the best epoch of the metric watched, and the costs."""

from __future__ import annotations

import numpy as np

import netcore
from hpsearch.objective.config import ObjectiveConfig
from netcore.metrics import direction_of, minimizes


def best_score(hist: netcore.History, metric: str) -> tuple[float, int]:
    """The best value of ``metric`` over the epochs of ``hist`` (NaN epochs skipped),
    whichever way it goes, and its epoch (from 1)."""
    values = np.asarray(hist[metric], dtype=float)
    best = np.nanargmin if minimizes(direction_of(metric)) else np.nanargmax
    index = int(best(values))
    return float(values[index]), index + 1


def cost_metrics(config: ObjectiveConfig, model: netcore.MLP, hists: list) -> dict:
    """The cost metrics the study optimises: ``n_params`` of the trained net and
    ``epoch_time``, the mean seconds of an epoch (training and validation pass)
    over every epoch trained (all folds when cross-validated)."""
    costs = {}
    if "n_params" in config.metrics:
        costs["n_params"] = model.n_params
    if "epoch_time" in config.metrics:
        costs["epoch_time"] = float(np.mean([t for h in hists for t in h.metrics["time"]]))
    return costs
