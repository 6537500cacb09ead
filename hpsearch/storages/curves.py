"""Learning curves as Optuna intermediate values: what draws them in optuna-dashboard.

Every trial reports its monitored validation metric after each epoch (step =
epoch; a resumed asha/bohb job continues its configuration's epochs). The
writes are batched so that a trial costs its storage about one write a second
at most:

- a trial's worker keeps the epochs in a ``LiveCurve``; once the trial has run
  for ``FLUSH_INTERVAL`` seconds, and then at most once every ``FLUSH_INTERVAL``,
  it writes the epochs done so far, so a dashboard draws long trials as they train;
- the epochs not written yet travel back with the trial's result and the driver
  writes them (``write_steps``) with the final result.

A trial shorter than ``FLUSH_INTERVAL`` thus never touches the storage from its
worker, and a worker of a study without a pruner imports Optuna (a few tenths
of a second in a fresh worker) only for a trial that runs longer than that.

``HPSEARCH_CURVE_INTERVAL`` (seconds, read by each trial) changes the interval, e.g.
for a distant database server; ``off`` writes no curves at all (a pruner's reports,
which it needs, are still written).
"""

from __future__ import annotations

import functools
import logging
import math
import os
import time
from collections.abc import Callable

FLUSH_INTERVAL = 1.0  # seconds
log = logging.getLogger(__name__)


def flush_interval() -> float | None:
    """Seconds between a worker's curve writes (``HPSEARCH_CURVE_INTERVAL``, default
    ``FLUSH_INTERVAL``); None for ``off``: no curve is written.

    Raises:
        ValueError: naming the variable when it is neither ``off`` nor seconds >= 0.
    """
    text = os.environ.get("HPSEARCH_CURVE_INTERVAL", "").strip()
    if not text:
        return FLUSH_INTERVAL
    if text.lower() == "off":
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value >= 0:
        raise ValueError(f"HPSEARCH_CURVE_INTERVAL must be a number of seconds >= 0 or 'off', "
                         f"got {text!r}")
    return value


def write_steps(storage, trial_id: int, steps: dict[int, float]) -> None:
    """Write ``steps`` (epoch -> value) as the trial's intermediate values.

    On a SQL storage the finite values of a new batch go in one transaction (Optuna
    writes one a transaction: a 20-epoch curve cost the driver some 15 ms); anything
    else, or a batch that meets a step already written, goes through Optuna's API.
    """
    engine = getattr(storage, "engine", None)
    if engine is not None and all(math.isfinite(v) for v in steps.values()):
        try:
            _insert(engine, trial_id, steps)
            return
        except Exception as exc:  # e.g. a step written before: Optuna's API updates it
            log.debug("one-transaction curve write of trial %d fell back: %s", trial_id, exc)
    for step, value in sorted(steps.items()):
        storage.set_trial_intermediate_value(trial_id, int(step), float(value))


@functools.lru_cache(maxsize=8)
def _intermediate_table(engine):
    """Optuna's table of intermediate values, read from the database (once per engine)."""
    import sqlalchemy

    return sqlalchemy.Table("trial_intermediate_values", sqlalchemy.MetaData(),
                            autoload_with=engine)


def _insert(engine, trial_id: int, steps: dict[int, float]) -> None:
    table = _intermediate_table(engine)
    rows = [{"trial_id": trial_id, "step": int(step), "intermediate_value": float(value),
             "intermediate_value_type": "FINITE"} for step, value in sorted(steps.items())]
    with engine.begin() as connection:
        connection.execute(table.insert(), rows)


class LiveCurve:
    """A worker's epoch hook that keeps a trial's curve and writes it out live.

    ``url`` is the study's storage (None: nothing is written from the worker, e.g.
    an in-memory study); ``report`` is a pruner's reporter, which writes each
    epoch itself: then this only passes the epochs on. ``pending`` holds the
    epochs not written yet, for the driver to write with the result.
    """

    def __init__(self, url: str | None, trial_id: int, monitor: str,
                 report: Callable[[int, dict], None] | None = None):
        self.url, self.trial_id, self.monitor, self.report = url, trial_id, monitor, report
        self.interval = flush_interval()
        self.pending: dict[int, float] = {}
        self.last_write = time.monotonic()

    def __call__(self, epoch: int, logs: dict) -> None:
        if self.report is not None:
            self.report(epoch, logs)  # the pruner's reporter writes every epoch
            return
        value = logs.get(self.monitor)
        if self.interval is None or value is None or not math.isfinite(value):
            return
        self.pending[int(epoch)] = float(value)
        if self.url is not None and time.monotonic() - self.last_write >= self.interval:
            self.flush()

    def flush(self) -> None:
        """Write the pending epochs now; a failure leaves them for the driver to write."""
        from hpsearch.storages.database import open_storage

        self.last_write = time.monotonic()
        try:
            write_steps(open_storage(self.url), self.trial_id, self.pending)
        except Exception as exc:  # the curve is no reason to fail the trial
            log.debug("could not write the curve of trial %d now: %s", self.trial_id, exc)
            return
        self.pending = {}
