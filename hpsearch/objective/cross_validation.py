"""A cross-validated trial: one net per fold of the training split, scored by the fold means."""

from __future__ import annotations

import numpy as np

import netcore
from hpsearch.objective.config import ObjectiveConfig
from hpsearch.objective.scores import best_score, cost_metrics
from hpsearch.objective.training import train_once
from hpsearch.trial import Deadline


def _folds(config: ObjectiveConfig, seed: int):
    from sklearn.model_selection import KFold, StratifiedKFold

    kind = StratifiedKFold if config.task == "classification" else KFold
    return kind(config.cv_folds, shuffle=True, random_state=seed % (2**32))


def cross_validate(config: ObjectiveConfig, settings: dict, seed: int, data: netcore.Dataset,
                   deadline: Deadline | None) -> dict:
    """Train one net per fold. The value is the mean over folds of the monitor's best
    score; for a multi-objective study every ``cv_*`` metric is the mean of its fold
    scores at that best epoch (its ``_std`` beside it) and the costs are added."""
    folds = _folds(config, seed)
    cv = [m for m in config.metrics if m.startswith("cv_")]
    scores, epochs, hists = {m: [] for m in cv}, [], []
    for fold, (train_idx, val_idx) in enumerate(folds.split(data.X_train, data.y_train)):
        if deadline is not None:
            deadline.check(f"after {fold} of {config.cv_folds} folds")
        model, hist = train_once(config, settings, seed, data, data.X_train[train_idx],
                                 data.y_train[train_idx], data.X_train[val_idx],
                                 data.y_train[val_idx], deadline=deadline)
        _, best_epoch = best_score(hist, config.monitor)
        for m in cv:
            scores[m].append(float(hist[m.replace("cv_", "val_")][best_epoch - 1]))
        epochs.append(best_epoch)
        hists.append(hist)
    first = scores[cv[0]]
    record = {"value": float(np.mean(first)), f"{cv[0]}_std": float(np.std(first)),
              "fold_scores": first, "best_epoch": int(np.median(epochs)),
              "epochs_run": int(max(epochs)), "stop_reason": "cross_validation"}
    if config.multi_objective:
        for m in cv:
            record.update({m: float(np.mean(scores[m])), f"{m}_std": float(np.std(scores[m]))})
        record.update(cost_metrics(config, model, hists))
    return record
