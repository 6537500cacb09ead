"""The metrics netcore reports, which way each goes, and regression scores as scikit-learn
defines them."""

from __future__ import annotations

import numpy as np

# Which way each per-epoch metric improves; ``val_``/``cv_`` names follow their base metric.
DIRECTIONS = {"loss": "minimize", "accuracy": "maximize", "rmse": "minimize", "r2": "maximize"}


def direction_of(metric: str) -> str:
    """``"minimize"`` or ``"maximize"`` for ``metric`` (``"loss"``, ``"val_accuracy"``,
    ``"cv_loss"``, ...): the one place the direction of a netcore metric is defined.

    Raises:
        KeyError: for a metric netcore does not report.
    """
    base = metric.removeprefix("val_").removeprefix("cv_")
    return DIRECTIONS[base]


def minimizes(direction: str) -> bool:
    """True for ``"minimize"``: the one comparison with a direction's name."""
    return direction == "minimize"


def sign(direction: str) -> float:
    """``1.0`` for a minimized value and ``-1.0`` for a maximized one, so that
    ``sign * value`` is always lower-is-better."""
    return 1.0 if minimizes(direction) else -1.0


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
