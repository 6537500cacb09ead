"""A study as optuna-dashboard shows it: its plots and kept models as artifacts, and a note.

``publish(study, plots)`` registers the study's plot files and its kept model files
with Optuna's artifact store in the study's folder (``storages.dashboard``),
withdraws those an earlier call published that are gone or replaced, and writes
the study note: the data (task, shapes, fingerprint), the strategy and space,
the best trial, confirm's table when there is one, and how to resume the study.
``hpsearch run`` and ``hpsearch confirm`` call it; a script calls it after
``Study.run`` (e.g. with ``write_plots``'s files).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

import optuna
import pandas as pd

from hpsearch.storages import dashboard, records

RESUME = "hpsearch:resume_command"  # the command line that ran the study, for its note


def publish(study, plots: Iterable[str | Path] = (), *, command: str | None = None) -> None:
    """Publish ``study``'s ``plots`` (PNG files), kept models and note for the dashboard.

    New ``plots`` replace those published before (none given: they stay); the kept
    models are listed on the study, named after their trials (a finished trial can take
    no new attribute). ``command`` is the command line that runs the study, named in
    the note as the way to resume it (the Python call is named in any case).
    """
    handle, plots = study.handle, list(plots)
    published = dict(handle.system_attrs().get(dashboard.PUBLISHED) or {})
    wanted = {f"plot:{Path(p).name}": Path(p) for p in plots}
    for trial in handle.completed():
        model = records.metrics_of(trial).get("model_file")
        path = handle.models_dir() / str(model) if model else None
        if path is not None and path.name == str(model) and path.is_file():
            wanted[f"model:{records.trial_id_of(trial)}"] = path
    for role, artifact_id in list(published.items()):
        # New plots replace the old ones; a model pruned away is withdrawn.
        if (plots and role.startswith("plot:")) or (role.startswith("model:")
                                                    and role not in wanted):
            if isinstance(artifact_id, str):
                dashboard.withdraw(handle.storage, handle.study_id, handle.folder, artifact_id)
            del published[role]
    owner = optuna.Study(study_name=handle.name, storage=handle.storage)
    for role, path in wanted.items():
        if role not in published:
            published[role] = dashboard.upload(handle.storage, handle.folder, path, owner)
    handle.set_system_attr(dashboard.PUBLISHED, published)
    if command:
        handle.set_system_attr(RESUME, command)
    dashboard.write_note(handle.storage, handle.study_id,
                         note(study, command or handle.system_attrs().get(RESUME)))


def note(study, command: str | None = None) -> str:
    """The study note (Markdown): data, search, best trial, confirmation, how to resume."""
    config, handle = study.config, study.handle
    objective = config.objective
    lines = [f"## {handle.name}", "", "**Data**: " + _data_line(study), "",
             f"**Search**: {config.strategy} (seed {config.seed}"
             + (f", pruner {config.pruner}" if config.pruner else "") + "), "
             + ", ".join(f"{m} ({d})" for m, d in zip(objective.metrics, objective.directions,
                                                      strict=True))
             + f", {objective.epochs} epochs at most", "",
             "**Space**:", "", *[f"- {part}" for part in config.space.summary().split("; ")],
             ""]
    lines += _best_lines(study)
    confirmed = study.confirmations()
    if not confirmed.empty:
        lines += ["### Confirmed (`hpsearch confirm`)", "", markdown_table(confirmed), ""]
    lines += ["### Resume", "", "```", *([command] if command else []),
              f"hpsearch.Study.load({handle.name!r}, storage={handle.url!r}).run(n_trials=...)", "```"]
    return "\n".join(lines)


def _data_line(study) -> str:
    """Task, dataset, split shapes and fingerprint."""
    objective = study.config.objective
    stored = objective.data_fingerprint
    found = stored if stored is not None else study.dataset().fingerprint()
    shapes = ", ".join(f"{name} {'x'.join(map(str, shape))}"
                       for name, shape in found.get("shapes", {}).items())
    return (f"{objective.task} on {objective.dataset!r} ({shapes}); "
            f"fingerprint sha256 `{str(found.get('sha256', '?'))[:16]}`")


def _best_lines(study) -> list[str]:
    board = study.leaderboard(5)
    if board.empty:
        return ["No completed trial yet.", ""]
    return ["### Leaderboard", "", markdown_table(board), ""]


def markdown_table(frame: pd.DataFrame) -> str:
    """``frame`` as a Markdown table (numbers to four significant digits)."""
    def cell(value) -> str:
        if isinstance(value, float):
            return "" if math.isnan(value) else f"{value:.4g}"
        return str(value).replace("|", "\\|")

    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])
