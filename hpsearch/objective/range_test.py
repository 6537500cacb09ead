"""The lr-range strategy's trials: a range test of the trial's own net picks its rate."""

from __future__ import annotations

from collections.abc import Mapping

import netcore
from hpsearch import lr_finder
from hpsearch.lr_finder import lr_by_range_test
from hpsearch.objective.config import ObjectiveConfig
from hpsearch.objective.training import model_config, split_settings
from netcore.train import TrainConfig


def range_test_settings(config: ObjectiveConfig, settings: dict, seed: int,
                        data: netcore.Dataset) -> tuple[dict, lr_finder.LRRangeResult | None]:
    """For ``lr="range_test"`` (the lr-range strategy): the settings with the rate a range
    test of this trial's model suggests, and the test; otherwise (settings, None)."""
    if not lr_by_range_test(settings):
        return settings, None
    _, fit_kw = split_settings(settings)
    result = trial_range_test(model_config(config, settings, seed, data), data, fit_kw,
                              seed=seed, options=config.range_test)
    return {**settings, "lr": result.suggestion}, result


def trial_range_test(model_config: dict, data, fit_options: Mapping, *, seed: int,
                     options: Mapping) -> lr_finder.LRRangeResult:
    """The range test of one trial: its model, optimizer settings and batch size.

    ``fit_options`` are the trial's fit settings (the optimizer and its options,
    ``batch_size``, gradient transforms; the rest is ignored); ``options`` the
    study's range-test options (``ObjectiveConfig.range_test``).

    Raises:
        ValueError: when the test finds no learning rate (the trial then fails).
    """
    train = {k: v for k, v in fit_options.items() if k in lr_finder.TRAIN_OPTIONS}
    kwargs = {"batch_size": fit_options.get("batch_size", TrainConfig.batch_size), "seed": seed,
              **dict(options)}
    optimizer = fit_options.get("optimizer", TrainConfig.optimizer)
    result = lr_finder.lr_range_test(model_config, data, optimizer=optimizer, **kwargs, **train)
    if result.suggestion is None:
        raise ValueError(f"the learning-rate range test found no learning rate (stopped: "
                         f"{result.stop_reason} after {len(result.lrs)} steps); {' '.join(result.notes)}")
    return result


def add_range_test(record: dict, result: lr_finder.LRRangeResult) -> dict:
    """Put the range test into a trial's record: ``lr`` (the rate trained with), the
    suggestions and confidence as metrics, the curve as ``range_test_lr``/``_loss`` curves."""
    record.update({"lr": result.suggestion, **result.summary()})
    curves = record.setdefault("curves", {})
    curves.update(range_test_lr=result.lrs.tolist(), range_test_loss=result.curve.tolist())
    return record
