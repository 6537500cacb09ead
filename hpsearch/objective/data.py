"""The data a trial trains on: cached named datasets, a study's own data, a trial's paths.

A named dataset is loaded once per process; a study's own data is memory-mapped
from its folder; ``TrialFiles`` are the runtime paths a trial reads and writes."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import netcore
from hpsearch.objective.config import ObjectiveConfig


@functools.lru_cache(maxsize=4)
def _cached_dataset(name: str, options: tuple) -> netcore.Dataset:
    # Each worker process loads a dataset once and reuses it for all its trials.
    return netcore.load_dataset(name, **dict(options))


@functools.lru_cache(maxsize=4)
def _opened_dataset(folder: str) -> netcore.Dataset:
    # The user's data, memory-mapped from the study's folder: every worker shares
    # the pages of one copy instead of receiving the arrays with each trial.
    return netcore.Dataset.open(folder)


@dataclass(frozen=True)
class TrialFiles:
    """Where a trial finds the study's own data and writes its model (runtime paths,
    not part of the stored configuration: the study's folder may move with it)."""

    data_dir: str | None = None
    model_path: str | None = None
    # A multi-fidelity job's paused training: where it saves it, whence it resumes.
    checkpoint_path: str | None = None
    resume_path: str | None = None


def load_data(config: ObjectiveConfig, files: TrialFiles | None = None) -> netcore.Dataset:
    """The dataset a trial trains on (the first ``max_train`` training rows when set).

    Raises:
        ValueError: for a study on its own data when its data folder is not known.
    """
    if config.data_fingerprint is not None:
        if files is None or files.data_dir is None:
            raise ValueError(f"study data {config.dataset!r} needs the study's data folder")
        data = _opened_dataset(files.data_dir)
    else:
        data = _cached_dataset(config.dataset, tuple(sorted(config.dataset_options.items())))
    return data.subset(n_train=config.max_train) if config.max_train else data
