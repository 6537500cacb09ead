"""A population-based schedule trained again from scratch, as one training in this process."""

from __future__ import annotations

from collections.abc import Sequence

import netcore
from hpsearch.objective.config import ObjectiveConfig
from hpsearch.objective.range_test import range_test_settings
from hpsearch.objective.training import train_once


def replay_schedule(config: ObjectiveConfig, schedule: Sequence[dict], seed: int,
                    data: netcore.Dataset) -> tuple[netcore.MLP, netcore.History]:
    """Train the segments of ``schedule`` one after the other, from scratch with ``seed``.

    Each segment (``{"epochs": [start, until], "params": {...}}``, as
    ``hpsearch.results.pbt.schedule`` gives them) continues the previous one's
    training in memory with its own hyperparameters, as the jobs of a pbt study
    continued each other's checkpoints: the weights, optimizer state and
    generators carry on, so the model equals the one the study's last job kept
    (the best epoch's weights, as every trial keeps).

    Raises:
        ValueError: for an empty schedule or segments that do not follow each other.
    """
    if not schedule:
        raise ValueError("schedule must hold at least one segment")
    state, done, model, hist = None, 0, None, None
    for segment in schedule:
        start, until = (int(e) for e in segment["epochs"])
        if start != done or not start < until <= config.epochs:
            raise ValueError(f"schedule segment {segment['epochs']} does not follow epoch {done} "
                             f"within the study's {config.epochs} epochs")
        settings, _ = range_test_settings(config, {**config.fixed, **segment["params"]}, seed, data)
        pause_after = until if until < config.epochs else None
        model, hist = train_once(config, settings, seed, data, data.X_train, data.y_train,
                                 data.X_val, data.y_val, pause_after=pause_after, resume=state)
        state, done = hist.state, until
    return model, hist
