"""Pictures of a study: history, importances, parallel coordinates, slices, the
learning curves of the best trials and, for a study of several objectives, its
Pareto front. Each ``plot_*`` function returns a figure built without pyplot
(``netcore.figures``: shown once in a notebook, no display needed elsewhere);
``write_plots`` saves them all as PNG files.

In a multi-objective study the one-value plots show ``value``, the first
objective (as the leaderboard ranks by it); the Pareto plot shows them all."""

from __future__ import annotations

import logging
import math
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd

from hpsearch.metrics import minimizes, sign
from hpsearch.space.dimensions import Choice, Fixed, Float, Int, thaw
from hpsearch.storages import records
from netcore.figures import NotebookFigure, new_figure

log = logging.getLogger(__name__)


def _complete(study) -> pd.DataFrame:
    frame = study.results()
    return frame[frame["state"] == "COMPLETE"] if not frame.empty else frame


def plot_history(study) -> NotebookFigure:
    """Objective value of every complete trial, and the best so far."""
    done = _complete(study).sort_values("trial")
    fig = new_figure(figsize=(7, 4))
    ax = fig.subplots()
    ax.scatter(done["trial"], done["value"], s=14, label="trial")
    best = done["value"].cummin() if minimizes(_direction(study)) \
        else done["value"].cummax()
    ax.step(done["trial"], best, where="post", color="C3", label="best so far")
    ax.set(xlabel="trial", ylabel=_metric(study),
           title=f"{study.name}: optimization history")
    ax.legend()
    fig.tight_layout()
    return fig


def _metric(study) -> str:
    """The metric of the ``value`` column: the first objective of a multi-objective study."""
    return study.config.objective.metrics[0]


def _direction(study) -> str:
    return study.config.objective.directions[0]


def _searched(study) -> list[str]:
    return [n for n, d in study.config.space.dimensions.items() if not isinstance(d, Fixed)]


def constant_parameters(study) -> list[str]:
    """Searched parameters that never varied among the complete trials (at most one
    value): they explain none of the variation, so importances leave them out."""
    done = _complete(study)
    return [n for n in _searched(study) if n not in done or done[n].dropna().nunique() <= 1]


def _first_objective(study):
    """For a multi-objective study, the importance target: the first objective (the
    ``value`` column), negated when maximized; None (the study's value) otherwise."""
    if not study.config.objective.multi_objective:
        return None
    better = sign(_direction(study))
    return lambda trial: better * trial.values[0]


def plot_importances(study) -> NotebookFigure:
    """fANOVA parameter importances (Optuna's evaluator) of the parameters that varied.

    Parameters that never varied among complete trials are skipped, logged and
    named under the bars.

    Raises:
        ValueError: when no searched parameter varied.
    """
    import optuna

    skipped = constant_parameters(study)
    varied = [n for n in _searched(study) if n not in skipped]
    if skipped:
        log.info("importances: skipped %s (never varied among complete trials)", skipped)
    if not varied:
        raise ValueError(f"no parameter of study {study.name!r} varied among its complete "
                         "trials; there are no importances to plot")
    optuna_study = optuna.load_study(study_name=study.name, storage=study.storage)
    with warnings.catch_warnings():
        # A target is read as "lower is better", which _first_objective makes true.
        warnings.filterwarnings("ignore", message=".*computes the importances of params to "
                                "achieve low `target` values")
        importances = optuna.importance.get_param_importances(
            optuna_study, params=varied, target=_first_objective(study))
    fig = new_figure(figsize=(6, 0.9 + 0.45 * max(1, len(importances))))
    ax = fig.subplots()
    names = list(importances)[::-1]
    ax.barh(names, [importances[n] for n in names], color="C0")
    ax.set(xlabel="importance", title=f"{study.name}: parameter importances")
    if skipped:
        ax.set_xlabel(f"importance\n(skipped, never varied: {', '.join(skipped)})")
    fig.tight_layout()
    return fig


def _axis_values(column: pd.Series, dim) -> tuple[np.ndarray, bool]:
    """Numeric positions for a parameter column, and whether it is log-scaled."""
    if isinstance(dim, Choice):
        labels = [repr(v) for v in dim.values]
        index = {label: i for i, label in enumerate(labels)}
        keys = [repr(tuple(v) if isinstance(v, list) else v) for v in column]
        return np.array([index.get(k, np.nan) for k in keys], float), False
    log = isinstance(dim, Float | Int) and dim.log
    return column.astype(float).to_numpy(), log


def _label(value: float) -> str:
    return f"{value:.3g}"


def _parallel_axis(column: pd.Series, dim) -> tuple[np.ndarray, list[tuple[float, str]]]:
    """Positions in [0, 1] of a column's values on its axis, and the axis ticks as
    (position, label) pairs: every choice, or real values spread over the range."""
    values, log = _axis_values(column, dim)
    if isinstance(dim, Choice):
        span = max(1, len(dim.values) - 1)
        ticks = [(i / span if len(dim.values) > 1 else 0.5, str(thaw(v)))
                 for i, v in enumerate(dim.values)]
        return (values / span if len(dim.values) > 1 else values * 0 + 0.5), ticks
    scaled = np.log10(values) if log else values
    low, high = np.nanmin(scaled), np.nanmax(scaled)
    if not high > low:
        return scaled * 0 + 0.5, [(0.5, _label(10**low if log else low))]
    ticks = [(p, _label(10 ** (low + p * (high - low)) if log else low + p * (high - low)))
             for p in np.linspace(0, 1, 5)]
    return (scaled - low) / (high - low), ticks


def _draw_axis(ax, x: int, ticks: list[tuple[float, str]]) -> None:
    ax.axvline(x, color="0.55", lw=0.8, zorder=1)
    for pos, label in ticks:
        ax.plot([x - 0.04, x], [pos, pos], color="0.55", lw=0.8, zorder=1)
        ax.text(x + 0.04, pos, label, fontsize=7, va="center", zorder=4,
                bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7})


def plot_parallel(study) -> NotebookFigure:
    """Parallel coordinates: one line per trial, coloured by its value (see the colour
    bar); each axis carries its real values, or its choices. The best trials are drawn
    last, on top."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    done = _complete(study)
    minimize = minimizes(_direction(study))
    done = done.sort_values("value", ascending=not minimize)  # the best last
    dims = {n: d for n, d in study.config.space.dimensions.items() if not isinstance(d, Fixed)}
    axes = [_parallel_axis(done[name], dim) for name, dim in dims.items()]
    value = done["value"].to_numpy(float)
    axes.append(_parallel_axis(done["value"], None))
    fig = new_figure(figsize=(1.9 * max(2, len(axes)) + 1.2, 4.8))
    ax = fig.subplots()
    norm = Normalize(np.nanmin(value), np.nanmax(value))
    cmap = matplotlib.colormaps["viridis_r" if minimize else "viridis"]
    rows = np.array([positions for positions, _ in axes]).T
    for row, v in zip(rows, value, strict=True):
        ax.plot(range(len(axes)), row, color=cmap(norm(v)), alpha=0.7, lw=1.2, zorder=2)
    for x, (_, ticks) in enumerate(axes):
        _draw_axis(ax, x, ticks)
    ax.set_xticks(range(len(axes)), [*dims, _metric(study)], rotation=20)
    ax.set(yticks=[], xlim=(-0.3, len(axes) - 0.4), ylim=(-0.06, 1.06))
    ax.spines[["left", "right", "top"]].set_visible(False)
    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, pad=0.02,
                 label=_metric(study))
    ax.set_title(f"{study.name}: parallel coordinates")
    fig.tight_layout()
    return fig


def _best_row(done: pd.DataFrame, direction: str) -> pd.Series:
    values = done["value"].to_numpy(float)
    return done.iloc[int(np.nanargmin(values) if minimizes(direction)
                         else np.nanargmax(values))]


def _slice(ax, done: pd.DataFrame, name: str, dim, best: pd.Series) -> None:
    """One parameter's slice: every trial, then the best trial on top, highlighted."""
    values, log = _axis_values(done[name], dim)
    ax.scatter(values, done["value"], c=done["trial"], cmap="Blues", s=14, zorder=2,
               edgecolors="0.6", linewidths=0.3)
    best_x, _ = _axis_values(pd.Series([best[name]], dtype=object), dim)
    ax.scatter(best_x, [best["value"]], marker="*", s=160, color="C3", edgecolors="k",
               linewidths=0.6, zorder=3, label=f"best (trial {best['trial']})")
    if log:
        ax.set_xscale("log")
    if isinstance(dim, Choice):
        ax.set_xticks(range(len(dim.values)), [str(thaw(v)) for v in dim.values], rotation=20)
        ax.set_xlim(-0.5, len(dim.values) - 0.5)
    ax.set(xlabel=name)


def plot_slices(study) -> NotebookFigure:
    """The value against each searched parameter (log axes for log parameters), the
    best trial highlighted on top of the others."""
    done = _complete(study)
    dims = {n: d for n, d in study.config.space.dimensions.items() if not isinstance(d, Fixed)}
    cols = min(3, max(1, len(dims)))
    rows = math.ceil(max(1, len(dims)) / cols)
    fig = new_figure(figsize=(4 * cols, 3.2 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    best = _best_row(done, _direction(study))
    for ax, (name, dim) in zip(axes.flat, dims.items(), strict=False):
        _slice(ax, done, name, dim, best)
        ax.set_ylabel(_metric(study))
    for ax in list(axes.flat)[len(dims):]:
        ax.set_visible(False)
    if dims:
        axes.flat[0].legend(fontsize=7, loc="best")
    fig.suptitle(f"{study.name}: slices")
    fig.tight_layout()
    return fig


def plot_learning_curves(study, top: int = 5) -> NotebookFigure:
    """Training and validation loss per epoch of the ``top`` best trials."""
    from hpsearch.results.report import leaderboard

    frame = study.results()
    board = leaderboard(frame, study.config.space, _direction(study), top)
    fig = new_figure(figsize=(7, 4))
    ax = fig.subplots()
    curves = {records.slot_of(t): records.curves_of(t) for t in study.trials()}
    for i, slot in enumerate(board["trial"]):
        curve = curves.get(slot) or {}
        if "val_loss" in curve and "loss" in curve:
            epochs = range(1, len(curve["val_loss"]) + 1)
            ax.plot(epochs, curve["val_loss"], color=f"C{i}", label=f"trial {slot} validation")
            ax.plot(epochs, curve["loss"], color=f"C{i}", ls="--", alpha=0.6)
    ax.set(xlabel="epoch", ylabel="loss (dashed: training)", yscale="log",
           title=f"{study.name}: learning curves of the best trials")
    if board.shape[0]:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _pareto_panel(ax, done: pd.DataFrame, x: str, y: str, directions: dict,
                  front: np.ndarray) -> None:
    """One pair of objectives: every complete trial, the Pareto set on top as a step line."""
    ax.scatter(done[x], done[y], s=16, color="0.6", label="trial", zorder=2)
    best = done[front].sort_values([x, y], ascending=[minimizes(directions[x]),
                                                      not minimizes(directions[y])])
    ax.step(best[x], best[y], where="post", color="C3", lw=1.2, zorder=3)
    ax.scatter(best[x], best[y], s=34, color="C3", edgecolors="k", linewidths=0.5,
               label="Pareto set", zorder=4)
    ax.set(xlabel=f"{x} ({directions[x]})", ylabel=f"{y} ({directions[y]})")
    for name, set_scale in ((x, ax.set_xscale), (y, ax.set_yscale)):
        if _spans_decades(done[name]):
            set_scale("log")


def _spans_decades(column: pd.Series) -> bool:
    """True for positive values whose largest is 20 times the smallest or more
    (parameter counts, times): a log axis then keeps the small ones apart."""
    values = column.to_numpy(float)
    return bool(np.all(values > 0) and values.max() >= 20 * values.min())


def plot_pareto(study) -> NotebookFigure:
    """The Pareto front of a multi-objective study: every complete trial against two
    objectives, the Pareto-optimal ones highlighted and joined as a step line.

    With two objectives, one panel; with more, one panel per pair of objectives
    (a trial of the Pareto set is highlighted in every panel, though in one pair
    alone it may look beaten: it is better in an objective that panel leaves out).

    Raises:
        ValueError: for a single-objective study, or when no trial completed.
    """
    from itertools import combinations

    from hpsearch.results.pareto import pareto_mask

    objective = study.config.objective
    if not objective.multi_objective:
        raise ValueError(f"study {study.name!r} has one objective ({objective.metric}); "
                         "a Pareto front needs several")
    done = _complete(study).dropna(subset=list(objective.metrics))
    if done.empty:
        raise ValueError(f"study {study.name!r} has no completed trial to plot")
    directions = dict(zip(objective.metrics, objective.directions, strict=True))
    front = pareto_mask(done[list(objective.metrics)].to_numpy(float), objective.directions)
    pairs = list(combinations(objective.metrics, 2))
    cols = min(3, len(pairs))
    rows = math.ceil(len(pairs) / cols)
    fig = new_figure(figsize=(5 * cols, 4 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, (x, y) in zip(axes.flat, pairs, strict=False):
        _pareto_panel(ax, done, x, y, directions, front)
    for ax in list(axes.flat)[len(pairs):]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=8)
    fig.suptitle(f"{study.name}: Pareto front ({int(front.sum())} of {len(done)} trials)")
    fig.tight_layout()
    return fig


PLOTS = {"history": plot_history, "importances": plot_importances, "parallel": plot_parallel,
         "slices": plot_slices, "learning_curves": plot_learning_curves}
# Plots only a multi-objective study has.
MULTI_OBJECTIVE_PLOTS = {"pareto": plot_pareto}


def write_plots(study, out_dir: str | Path) -> list[Path]:
    """Write every plot as ``<out_dir>/<name>.png``; returns the written paths
    (``pareto.png`` too for a multi-objective study).

    Importances need at least two complete trials with varying parameters; a
    plot that cannot be drawn is skipped, the others are still written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if _complete(study).empty:
        raise ValueError(f"study {study.name!r} has no completed trial to plot")
    written = []
    plots = {**PLOTS, **(MULTI_OBJECTIVE_PLOTS if study.config.objective.multi_objective else {})}
    for name, make in plots.items():
        try:
            fig = make(study)
        except (ValueError, RuntimeError, ZeroDivisionError):
            continue
        path = out / f"{name}.png"
        fig.savefig(path, dpi=110)
        written.append(path)
    return written
