"""A pbt study's pictures and replay: each member's schedule drawn, the winner's retrained
from scratch (its lineage read by ``hpsearch.results.lineage``)."""

from __future__ import annotations

from dataclasses import dataclass

import netcore
from hpsearch.objective.replay import replay_schedule
from hpsearch.results.best import best_trial
from hpsearch.results.lineage import lineages, root_seed, schedule
from hpsearch.space.dimensions import Choice
from hpsearch.storages.handle import StudyStorage
from hpsearch.study_config import StudyConfig
from netcore.figures import NotebookFigure, new_figure


@dataclass
class Replay:
    """``Study.replay()``'s result: the retrained ``model`` (its best epoch's weights, as
    the study kept them), its ``history`` and the ``schedule`` it followed."""

    model: netcore.MLP
    history: netcore.History
    schedule: list[dict]


def replay(handle: StudyStorage, config: StudyConfig, dataset, trial: int | None) -> Replay:
    """Train the best (or ``trial``'s) job's schedule again from scratch (see ``Study.replay``).

    Raises:
        ValueError: for a study of another strategy, or a trial that is not a complete job.
    """
    if config.strategy != "pbt":
        raise ValueError(f"replay retrains a pbt schedule; study {handle.name!r} uses strategy "
                         f"{config.strategy!r}")
    slot = best_trial(handle, config)["trial"] if trial is None else trial
    trials = handle.trials()
    segments = schedule(trials, config, slot)
    model, history = replay_schedule(config.objective, segments, root_seed(trials, segments),
                                     dataset())
    return Replay(model, history, segments)


def plot_pbt(study, params: list[str] | None = None) -> NotebookFigure:
    """Each member's mutable hyperparameters (``params``, by default the strategy's) over
    epochs, one panel each: a line per member, a dashed jump where it copied another, the
    winner's schedule drawn thick."""
    config = study.config
    names = params or study.config.build_strategy().mutable
    trials = study.trials()
    members = lineages(trials, config)
    winner = _winner(study, trials, config)
    fig = new_figure(figsize=(7, 2.6 * len(names)))
    axes = fig.subplots(len(names), 1, sharex=True, squeeze=False)
    for ax, name in zip(axes[:, 0], names, strict=True):
        for i, (_, segments) in enumerate(sorted(members.items())):
            _draw_member(ax, segments, name, f"C{i % 10}", config)
        if winner:
            _draw_member(ax, winner, name, "black", config, width=2.5, label="winner")
            ax.legend(loc="best", fontsize=8)
        ax.set_ylabel(name)
        if _log_scale(config, name):
            ax.set_yscale("log")
    axes[-1, 0].set_xlabel("epoch")
    axes[0, 0].set_title(f"{study.name}: population-based training ({len(members)} members)")
    fig.tight_layout()
    return fig


def _winner(study, trials, config) -> list[dict]:
    try:
        return schedule(trials, config, study.best_trial["trial"])
    except ValueError:  # no complete job yet
        return []


def _draw_member(ax, segments: list[dict], name: str, color: str, config: StudyConfig, *,
                 width: float = 1.0, label: str | None = None) -> None:
    previous = None
    for segment in segments:
        value = _plotted(config, name, segment["params"].get(name))
        if value is None:
            continue
        start, until = segment["epochs"]
        if previous is not None:
            style = "--" if segment["copied_from"] is not None else "-"
            ax.plot([start, start], [previous, value], style, color=color, lw=width * 0.8)
        ax.plot([start, until], [value, value], color=color, lw=width, label=label)
        label, previous = None, value


def _plotted(config: StudyConfig, name: str, value):
    """A numeric value to draw: a choice's values are drawn as themselves when numbers."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    dim = config.space.dimensions.get(name)
    return float(dim.index(value)) if isinstance(dim, Choice) and value is not None else None


def _log_scale(config: StudyConfig, name: str) -> bool:
    return bool(getattr(config.space.dimensions.get(name), "log", False))
