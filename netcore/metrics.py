"""Regression scores from summed squared residuals, as scikit-learn defines them."""

from __future__ import annotations

import numpy as np


def regression_metrics(ss_res: np.ndarray, targets: np.ndarray) -> dict[str, float]:
    """``{"rmse": .., "r2": ..}`` from per-output residual sums of squares.

    ``rmse`` is the root of the mean squared residual over all samples and
    outputs; ``r2`` is ``1 - SS_res / SS_tot`` averaged uniformly over the
    outputs, like ``sklearn.metrics.r2_score``: an output whose targets are
    constant scores 1.0 when predicted exactly and 0.0 otherwise.
    """
    t = np.asarray(targets, dtype=np.float64).reshape(len(targets), -1)
    ss_res = np.asarray(ss_res, dtype=np.float64)
    ss_tot = ((t - t.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.where(ss_tot > 0, 1.0 - ss_res / ss_tot, np.where(ss_res == 0, 1.0, 0.0))
    return {"rmse": float(np.sqrt(ss_res.sum() / t.size)), "r2": float(scores.mean())}
