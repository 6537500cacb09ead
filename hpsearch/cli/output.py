"""What the commands print: a study's summary, its Pareto set, confirmations and notes."""

from __future__ import annotations

import pandas as pd


def _table(frame: pd.DataFrame) -> str:
    with pd.option_context("display.width", 160, "display.max_columns", 30):
        return frame.to_string(index=False, float_format=lambda v: f"{v:.4g}")


def goals(objective) -> str:
    """``val_loss (minimize)``, or each metric with its direction for several objectives."""
    return ", ".join(f"{m} ({d})" for m, d in zip(objective.metrics, objective.directions,
                                                  strict=True))


def print_summary(study, top: int = 10) -> None:
    """Trial counts, the task, the leaderboard and the best trial (or the Pareto set)."""
    from hpsearch.results.report import state_counts

    frame = study.results()
    counts = state_counts(frame)
    print(f"study {study.name!r} in {study.storage_url}: {len(frame)} trials "
          f"({', '.join(f'{v} {k}' for k, v in counts.items()) or 'none yet'})")
    objective = study.config.objective
    print(f"task: {objective.task} on {objective.dataset}, {goals(objective)}")
    board = study.leaderboard(top)
    if board.empty:
        print("no completed trial yet")
        return
    print(_table(board))
    if objective.multi_objective:
        print_pareto(study)
        return
    best = study.best_trial
    print(f"best trial {best['trial']}: {objective.metric} = {best['value']:.5g}")
    print(f"best parameters: {best['params']}")


def print_pareto(study) -> None:
    """A multi-objective study has no single best trial: print its Pareto set."""
    front = study.best_trials
    print(f"Pareto set: {len(front)} trial(s) that no other trial beats in every objective "
          f"of {goals(study.config.objective)}")
    print(_table(front))


def print_skipped(study) -> None:
    """Name the parameters the importance plot left out, so that a short bar list
    is not read as the whole space."""
    from hpsearch.results.plots import constant_parameters

    skipped = constant_parameters(study)
    if skipped:
        print(f"importances: skipped {', '.join(skipped)} (never varied among complete trials)")


def print_confirmations(table: pd.DataFrame) -> None:
    """The table of ``Study.confirm`` and its verdict."""
    from hpsearch.results.confirm import verdict

    print(_table(table))
    print(verdict(table))


def print_grid_coverage(size: int | None, n_trials: int) -> None:
    """Say when the trial budget visits only part of the strategy's grid of ``size`` points."""
    from hpsearch.checks import grid_coverage

    note = grid_coverage(size, n_trials)
    if note:
        print(note)
