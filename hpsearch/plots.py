"""Pictures of a study, as PNG files: history, importances, parallel
coordinates, slices and the learning curves of the best trials."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from hpsearch.dimensions import Choice, Fixed, Float, Int


def _complete(study) -> pd.DataFrame:
    frame = study.results()
    return frame[frame["state"] == "COMPLETE"] if not frame.empty else frame


def plot_history(study) -> plt.Figure:
    """Objective value of every complete trial, and the best so far."""
    done = _complete(study).sort_values("trial")
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.scatter(done["trial"], done["value"], s=14, label="trial")
    best = done["value"].cummin() if study.config.objective.direction == "minimize" \
        else done["value"].cummax()
    ax.step(done["trial"], best, where="post", color="C3", label="best so far")
    ax.set(xlabel="trial", ylabel=study.config.objective.metric,
           title=f"{study.name}: optimization history")
    ax.legend()
    fig.tight_layout()
    return fig


def plot_importances(study) -> plt.Figure:
    """fANOVA parameter importances (Optuna's evaluator) of the searched parameters."""
    import optuna

    optuna_study = optuna.load_study(study_name=study.name, storage=study.storage)
    searched = [n for n, d in study.config.space.dimensions.items() if not isinstance(d, Fixed)]
    importances = optuna.importance.get_param_importances(optuna_study, params=searched or None)
    fig, ax = plt.subplots(figsize=(6, 0.5 + 0.45 * max(1, len(importances))))
    names = list(importances)[::-1]
    ax.barh(names, [importances[n] for n in names], color="C0")
    ax.set(xlabel="importance", title=f"{study.name}: parameter importances")
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


def plot_parallel(study) -> plt.Figure:
    """Parallel coordinates: one line per trial, coloured by its value."""
    done = _complete(study)
    dims = {n: d for n, d in study.config.space.dimensions.items() if not isinstance(d, Fixed)}
    fig, ax = plt.subplots(figsize=(1.8 * max(2, len(dims) + 1), 4.5))
    columns = []
    for name, dim in dims.items():
        values, log = _axis_values(done[name], dim)
        values = np.log10(values) if log else values
        low, high = np.nanmin(values), np.nanmax(values)
        columns.append((values - low) / (high - low) if high > low else values * 0 + 0.5)
    value = done["value"].to_numpy(float)
    columns.append((value - value.min()) / (np.ptp(value) or 1.0))
    cmap = plt.get_cmap("viridis_r" if study.config.objective.direction == "minimize"
                        else "viridis")
    for row, v in zip(np.array(columns).T, columns[-1], strict=True):
        ax.plot(range(len(columns)), row, color=cmap(v), alpha=0.6)
    ax.set_xticks(range(len(columns)), [*dims, study.config.objective.metric], rotation=20)
    ax.set_yticks([])
    ax.set_title(f"{study.name}: parallel coordinates (each axis scaled to its range)")
    fig.tight_layout()
    return fig


def plot_slices(study) -> plt.Figure:
    """The value against each searched parameter (log axes for log parameters)."""
    done = _complete(study)
    dims = {n: d for n, d in study.config.space.dimensions.items() if not isinstance(d, Fixed)}
    cols = min(3, max(1, len(dims)))
    rows = math.ceil(max(1, len(dims)) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.2 * rows), squeeze=False)
    for ax, (name, dim) in zip(axes.flat, dims.items(), strict=False):
        values, log = _axis_values(done[name], dim)
        ax.scatter(values, done["value"], c=done["trial"], cmap="Blues", s=14)
        if log:
            ax.set_xscale("log")
        if isinstance(dim, Choice):
            ax.set_xticks(range(len(dim.values)), [str(v) for v in dim.values], rotation=20)
        ax.set(xlabel=name, ylabel=study.config.objective.metric)
    for ax in list(axes.flat)[len(dims):]:
        ax.set_visible(False)
    fig.suptitle(f"{study.name}: slices")
    fig.tight_layout()
    return fig


def plot_learning_curves(study, top: int = 5) -> plt.Figure:
    """Training and validation loss per epoch of the ``top`` best trials."""
    from hpsearch.report import leaderboard

    frame = study.results()
    board = leaderboard(frame, study.config.space, study.config.objective.direction, top)
    fig, ax = plt.subplots(figsize=(7, 4))
    curves = {t.system_attrs.get("hpsearch:slot"): t.user_attrs.get("curves", {})
              for t in study.trials()}
    for i, slot in enumerate(board["trial"]):
        curve = curves.get(slot) or {}
        if "val_loss" in curve:
            epochs = range(1, len(curve["val_loss"]) + 1)
            ax.plot(epochs, curve["val_loss"], color=f"C{i}", label=f"trial {slot} validation")
            ax.plot(epochs, curve["loss"], color=f"C{i}", ls="--", alpha=0.6)
    ax.set(xlabel="epoch", ylabel="loss (dashed: training)", yscale="log",
           title=f"{study.name}: learning curves of the best trials")
    if board.shape[0]:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


PLOTS = {"history": plot_history, "importances": plot_importances, "parallel": plot_parallel,
         "slices": plot_slices, "learning_curves": plot_learning_curves}


def write_plots(study, out_dir: str | Path) -> list[Path]:
    """Write every plot as ``<out_dir>/<name>.png``; returns the written paths.

    Importances need at least two complete trials with varying parameters; a
    plot that cannot be drawn is skipped, the others are still written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if _complete(study).empty:
        raise ValueError(f"study {study.name!r} has no completed trial to plot")
    written = []
    for name, make in PLOTS.items():
        try:
            fig = make(study)
        except (ValueError, RuntimeError, ZeroDivisionError):
            continue
        path = out / f"{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written
