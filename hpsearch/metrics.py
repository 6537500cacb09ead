"""The metrics a study can optimise, alone or several at once, and their directions.

A study optimises one validation metric (``"val_loss"``) or a list of two or
more distinct metrics (``["val_loss", "n_params"]``): a multi-objective study,
whose result is a Pareto set instead of one best trial. The cost metrics
``n_params`` (the trained net's parameter count) and ``epoch_time`` (mean
seconds per training epoch) only make sense traded against a validation
metric, so they are allowed only in such a list.
"""

from __future__ import annotations

from collections.abc import Sequence

from netcore.metrics import direction_of, minimizes, sign
from netcore.validation import check_choice, did_you_mean

__all__ = ["COST_METRICS", "DIRECTIONS", "METRICS", "TASK_METRICS", "direction_of", "minimizes",
           "sign"]

# The validation metrics a study can optimise; netcore says which way each goes.
METRICS = {m: direction_of(m) for m in ("val_loss", "val_accuracy", "val_rmse", "val_r2",
                                        "cv_loss", "cv_accuracy")}
# The metrics each task can optimise; regression nets have no accuracy.
TASK_METRICS = {"classification": ("val_loss", "val_accuracy", "cv_loss", "cv_accuracy"),
                "regression": ("val_loss", "val_rmse", "val_r2", "cv_loss")}
# What a net costs: allowed only beside a validation metric in a multi-objective list.
COST_METRICS = {"n_params": "minimize", "epoch_time": "minimize"}
DIRECTIONS = {**METRICS, **COST_METRICS}


def frozen_metric(metric):
    """A metric list (from a spec, a stored config or a caller) as a tuple, so that
    configurations compare equal however their metrics were given."""
    return tuple(metric) if isinstance(metric, list) else metric


def metric_names(metric: str | Sequence[str], task: str) -> tuple[str, ...]:
    """``metric`` (one name or a list of names) as a checked tuple of names.

    Raises:
        TypeError: when ``metric`` is neither a string nor a list of strings.
        ValueError: for an unknown or repeated name, a list of fewer than two, a
            cost metric without a validation metric, or ``cv_*`` mixed with ``val_*``.
    """
    if isinstance(metric, str):
        _check_single(metric, task)
        return (metric,)
    if not isinstance(metric, list | tuple) or not all(isinstance(m, str) for m in metric):
        raise TypeError(f"The 'metric' parameter must be a metric name or a list of names. "
                        f"Got {metric!r}.")
    names = tuple(metric)
    allowed = (*TASK_METRICS[task], *COST_METRICS)
    unknown = [m for m in names if m not in allowed]
    if unknown:
        raise ValueError(f"The 'metric' parameter holds unknown metric(s) {unknown}"
                         f"{did_you_mean(unknown[0], allowed)}; a {task} study's list may hold "
                         f"{list(allowed)}.")
    if len(names) < 2 or len(set(names)) != len(names):
        raise ValueError(f"The 'metric' list must hold two or more distinct metrics, got "
                         f"{list(names)}.")
    validation = [m for m in names if m in METRICS]
    if not validation:
        raise ValueError(f"The 'metric' list {list(names)} needs a validation metric (one of "
                         f"{list(TASK_METRICS[task])}) beside {sorted(COST_METRICS)}.")
    if len({m.startswith("cv_") for m in validation}) > 1:
        raise ValueError(f"The 'metric' list {list(names)} mixes cross-validated (cv_*) and "
                         "holdout (val_*) metrics; use one kind.")
    return names


def _check_single(metric: str, task: str) -> None:
    allowed = TASK_METRICS[task]
    if metric in COST_METRICS:
        raise ValueError(f"The 'metric' {metric!r} is allowed only in a multi-objective list "
                         f"with a validation metric, e.g. metric=['val_loss', {metric!r}].")
    check_choice(metric, allowed, "metric")


def monitor_of(names: Sequence[str]) -> str:
    """The per-epoch metric early stopping and pruners watch: the first validation
    metric of ``names``, with ``cv_`` read as ``val_`` (each fold's validation)."""
    first = next(m for m in names if m in METRICS)
    return first.replace("cv_", "val_")


def reported(name: str, value):
    """An objective value as shown in tables: ``n_params`` as the integer it is
    (Optuna stores every objective value as a float)."""
    return int(value) if name == "n_params" and value is not None else value
