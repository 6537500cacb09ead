"""Results as pandas DataFrames (plots arrive with the CLI)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from optuna.trial import FrozenTrial

from hpsearch.metrics import COST_METRICS, minimizes, reported
from hpsearch.space.searchspace import SearchSpace
from hpsearch.storages import records
from netcore.validation import check_choice

# The metric columns of each task, in this order, also for trials without them (failed).
_METRIC_COLUMNS = {
    "classification": ("val_loss", "val_accuracy", "test_loss", "test_accuracy", "epochs_run",
                       "best_epoch", "stop_reason", "duration", "worker_startup"),
    "regression": ("val_loss", "val_rmse", "val_r2", "test_loss", "test_rmse", "test_r2",
                   "epochs_run", "best_epoch", "stop_reason", "duration", "worker_startup"),
}
_BOARD_METRICS = ("val_loss", "val_accuracy", "val_rmse", "val_r2", "test_accuracy", "test_rmse",
                  "test_r2", "epochs_run", "duration")


def hashable(value):
    """``value`` usable as a table cell to group by: nested lists become tuples."""
    return tuple(hashable(v) for v in value) if isinstance(value, list) else value


def trial_row(trial: FrozenTrial, space: SearchSpace, task: str = "classification",
              objectives: Sequence[str] = ()) -> dict:
    """One trial as a row. ``objectives`` are the metrics of a multi-objective study:
    each gets a column of the trial's stored objective values, after ``value`` (the
    first objective's)."""
    params = space.decode(trial.params)
    metrics = records.metrics_of(trial)
    values = records.values_of(trial) or [None] * len(objectives)
    row = {"trial": records.slot_of(trial), "number": trial.number,
           "state": trial.state.name, "value": records.value_of(trial),
           **{name: reported(name, v) for name, v in zip(objectives, values, strict=False)},
           **{name: hashable(params.get(name)) for name in space}}
    row.update({k: metrics.get(k) for k in _METRIC_COLUMNS[task] if k not in objectives})
    row.update({k: v for k, v in metrics.items() if k not in row})
    row["seed"] = records.seed_of(trial)
    row["error"] = records.error_of(trial)
    row["requeued"] = records.is_requeued(trial)
    if records.is_confirmation(trial):
        row["confirms"] = trial.system_attrs.get(records.CONFIRMS)
        row["repeat"] = trial.system_attrs.get(records.REPEAT)
    return row


def results_frame(trials: list[FrozenTrial], space: SearchSpace,
                  task: str = "classification", objectives: Sequence[str] = ()) -> pd.DataFrame:
    """One row per trial, ordered by slot: parameters (list values as tuples) and metrics,
    and for a multi-objective study one column per objective (``objectives``)."""
    rows = [trial_row(t, space, task, objectives) for t in trials]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=["trial", "number", "state", "value", *objectives, *space])
    return frame.sort_values(["trial", "number"], kind="stable").reset_index(drop=True)


RANK_BY = ("value", "confirmed")


def leaderboard(frame: pd.DataFrame, space: SearchSpace, direction: str,
                top: int = 10, *, rank_by: str = "value",
                confirmed: pd.DataFrame | None = None) -> pd.DataFrame:
    """The ``top`` complete trials, best first, with their parameters and key metrics.

    ``direction`` is the one of the ``value`` column (a multi-objective study's
    first objective: the board ranks by it).

    ``rank_by="confirmed"`` puts the configurations of ``confirmed`` (the table of
    ``Study.confirm``) first, by their confirmed mean, with its ``mean``,
    ``ci_low``, ``ci_high`` and ``n``; the other trials follow by value.
    """
    check_choice(rank_by, sorted(RANK_BY), "rank_by")
    done = frame[frame["state"] == "COMPLETE"]
    done = done.sort_values(["value", "trial"], ascending=[minimizes(direction), True])
    # "lr" is a metric, not a parameter, when a range test chose it (lr-range studies).
    # The objectives of a multi-objective study (n_params, ...) are columns too.
    costs = [c for c in COST_METRICS if c in frame]
    columns = ["trial", "value", *space,
               *[c for c in ("lr", *_BOARD_METRICS, *costs) if c in frame]]
    if rank_by == "confirmed":
        if confirmed is None:
            raise ValueError("rank_by='confirmed' needs the table of Study.confirm: "
                             "confirmed=study.confirmations()")
        done = _by_confirmed(done, confirmed)
        columns[2:2] = _CONFIRMED
    return done[[c for c in dict.fromkeys(columns) if c in done]].head(top).reset_index(drop=True)


_CONFIRMED = ["mean", "ci_low", "ci_high", "n"]


def _by_confirmed(done: pd.DataFrame, confirmed: pd.DataFrame) -> pd.DataFrame:
    """``done`` (already by value) with confirmed configurations first, by their rank."""
    stats = confirmed[["trial", "rank", *_CONFIRMED]]
    merged = done.merge(stats, on="trial", how="left")
    merged["n"] = merged["n"].astype("Int64")  # a count, blank for unconfirmed trials
    return merged.sort_values("rank", kind="stable", na_position="last")


def state_counts(frame: pd.DataFrame) -> dict[str, int]:
    """Number of trials per state (re-queued stale trials counted apart)."""
    if frame.empty:
        return {}
    labels = frame["state"].where(~frame["requeued"], "FAIL (re-queued)")
    return {k: int(v) for k, v in labels.value_counts().sort_index().items()}
