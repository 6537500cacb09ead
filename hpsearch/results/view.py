"""How a study shows itself: one line in a terminal, a summary in a notebook.

``StudyView`` gives ``Study`` its ``__repr__`` and its ``_repr_html_`` (the
view Jupyter shows for a study at the end of a cell): name, storage (its
password masked), data and task, objective, strategy, the budget done, the best
value and parameters (a multi-objective study: its Pareto set) and the head of
the leaderboard. Every string a user chose (names, paths, values) is escaped.
Both read only the study's storage ``handle`` and ``config``; a storage that
cannot be read is said in the view, not raised from it.
"""

from __future__ import annotations

import contextlib
import html

import pandas as pd
from optuna.trial import TrialState

from hpsearch.results import best
from hpsearch.storages import records
from hpsearch.storages.database import shown_url
from hpsearch.storages.handle import StudyStorage
from hpsearch.study_config import StudyConfig

HEAD = 5  # leaderboard and Pareto rows shown


class StudyView:
    """The displays of an object with a storage ``handle`` and a ``config`` (``Study``)."""

    handle: StudyStorage
    config: StudyConfig

    def __repr__(self) -> str:
        return text(self.handle, self.config)

    def _repr_html_(self) -> str:
        return study_html(self.handle, self.config)


def _objective(config: StudyConfig) -> str:
    objective = config.objective
    return ", ".join(f"{m} ({d})" for m, d in zip(objective.metrics, objective.directions,
                                                  strict=True))


def budget(handle: StudyStorage) -> str:
    """The trials finished out of the budget of the latest run (its ``n_trials``), and the
    ones running; without a run yet, the finished trials alone."""
    trials = handle.trials()
    finished = sum(records.is_finished(t) for t in trials)
    running = sum(t.state == TrialState.RUNNING for t in trials)
    planned = handle.system_attrs().get(records.BUDGET)
    done = f"{finished} finished" if planned is None else \
        f"{finished} of {planned} finished (n_trials of the latest run)"
    return done + (f", {running} running" if running else "")


def text(handle: StudyStorage, config: StudyConfig) -> str:
    """One line: the study's name, storage, data, objective, strategy and budget."""
    try:
        trials = budget(handle)
    except Exception as exc:  # a repr must not raise: say what could not be read
        trials = f"trials unreadable: {_unreadable(handle, exc)}"
    return (f"<Study {handle.name!r} in {shown_url(handle.url)}: {config.objective.dataset} "
            f"{config.objective.task}, {_objective(config)}, {config.strategy}, {trials}>")


def _unreadable(handle: StudyStorage, exc: BaseException) -> str:
    """Why the trials could not be read, on one line."""
    with contextlib.suppress(Exception):
        if not handle.exists():
            return "the study is no longer in its storage (deleted)"
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"


def _row(label: str, value: str) -> str:
    return f"<tr><th style='text-align:left'>{html.escape(label)}</th>" \
           f"<td style='text-align:left'>{html.escape(value)}</td></tr>"


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, escape=True, border=0, float_format="{:.4g}".format,
                         classes="hpsearch-table")


def _params(params: dict) -> str:
    return ", ".join(f"{name}={value!r}" for name, value in params.items())


def _found(handle: StudyStorage, config: StudyConfig) -> tuple[list[str], str]:
    """Summary rows and the tables below them: the best trial (or the Pareto set of a
    multi-objective study) and the leaderboard's head."""
    rows = [_row("trials", budget(handle))]
    if not handle.completed():
        return [*rows, _row("best", "no trial has completed yet")], ""
    board = best.board(handle, config, HEAD, "value", None)
    first = config.objective.metrics[0]
    if config.objective.multi_objective:
        front = best.pareto_trials(handle, config)
        rows.append(_row("Pareto set", f"{len(front)} trials (no single best trial)"))
        tables = (f"<p>Pareto set (first {min(HEAD, len(front))} of {len(front)}, by trial)</p>"
                  f"{_table(front.head(HEAD))}"
                  f"<p>leaderboard by {html.escape(first)}, the first objective</p>")
    else:
        top = best.best_trial(handle, config)
        rows += [_row("best value", f"{top['value']:.6g} ({first}, trial {top['trial']})"),
                 _row("best parameters", _params(top["params"]))]
        tables = f"<p>leaderboard: the best {len(board)} complete trials</p>"
    return rows, tables + _table(board)


def study_html(handle: StudyStorage, config: StudyConfig) -> str:
    """The study as an HTML fragment (what a notebook shows for it)."""
    objective = config.objective
    rows = [_row("storage", shown_url(handle.url)),
            _row("data", f"{objective.dataset} ({objective.task})"),
            _row("objective", _objective(config)), _row("strategy", config.strategy)]
    try:
        found, tables = _found(handle, config)
    except Exception as exc:  # a display must not raise: say what could not be read
        found, tables = [_row("trials", f"unreadable: {_unreadable(handle, exc)}")], ""
    return (f"<div class='hpsearch-study'><p><b>Study {html.escape(repr(handle.name))}</b></p>"
            f"<table>{''.join(rows + found)}</table>{tables}</div>")
