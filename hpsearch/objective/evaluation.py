"""The objective's entry, which a worker calls: one parameter set in, one trial's record out."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping

from hpsearch.objective.config import ObjectiveConfig
from hpsearch.objective.cross_validation import cross_validate
from hpsearch.objective.data import TrialFiles, load_data
from hpsearch.objective.holdout import holdout
from hpsearch.objective.plugins import load_plugins
from hpsearch.objective.range_test import add_range_test, range_test_settings
from hpsearch.objective.training import DivergedError
from hpsearch.trial import Deadline, Fidelity


def evaluate(config: ObjectiveConfig, params: Mapping, seed: int,
             reporter: Callable[[int, dict], None] | None = None,
             files: TrialFiles | None = None, deadline: Deadline | None = None,
             fidelity: Fidelity | None = None) -> dict:
    """Train with ``params`` (over the fixed settings) and return the trial's record.

    The record holds ``value`` (the metric to optimise; for a multi-objective
    study the first one, with all of them in ``values``) and everything worth
    keeping: validation and test metrics, epochs run, best epoch, stop reason,
    learning curves and wall time. ``reporter(epoch, logs)`` is called after each
    epoch (the pruning hook). With ``files.model_path`` (and ``keep_models``) the
    trained model of a holdout trial is saved there, with the data's preprocessing.
    ``trial_timeout`` is one ``deadline`` for the whole trial (by default from
    now): every fold and the range test count against it. A ``fidelity`` (a
    multi-fidelity job) trains until its ``until_epoch``, continuing the
    checkpoint at ``files.resume_path`` and saving its own at
    ``files.checkpoint_path`` when it pauses (its record's ``stop_reason`` is
    then "paused"; ``epochs_trained`` counts the epochs this job trained).

    Raises:
        TrialTimeoutError: once the trial is past its deadline.
    """
    start = time.perf_counter()
    deadline = deadline or Deadline.start(config.trial_timeout)
    load_plugins(config.plugins)
    data = load_data(config, files)
    settings, range_test = range_test_settings(config, {**config.fixed, **params}, seed, data)
    if deadline is not None:
        deadline.check("before training")
    if config.cross_validated:
        record = cross_validate(config, settings, seed, data, deadline)
    else:
        record = holdout(config, settings, seed, data, reporter, files, deadline, fidelity)
    if range_test is not None:
        add_range_test(record, range_test)
    record["duration"] = time.perf_counter() - start
    if config.multi_objective:
        record["values"] = [float(record[m]) for m in config.metrics]
        record["value"] = record["values"][0]
    for name, value in zip(config.metrics, record.get("values", [record["value"]]), strict=True):
        if not math.isfinite(value):
            raise DivergedError(f"the metric {name} is not finite: {value}")
    return record
