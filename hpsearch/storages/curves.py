"""Learning curves as Optuna intermediate values: what draws them in optuna-dashboard.

Every trial reports its monitored validation metric after each epoch (step =
epoch; a resumed asha/bohb job continues its configuration's epochs). Workers
never write them to the storage, and a worker of a study without a pruner never
imports Optuna for them (a few tenths of a second in a fresh worker):

- a trial's worker keeps the epochs in a ``LiveCurve``; once the trial has run
  for ``FLUSH_INTERVAL`` seconds, and then at most once every ``FLUSH_INTERVAL``,
  it appends the epochs done since to the trial's curve file (``append_steps``),
  a few lines in the study's folder;
- the driver's relay thread (``execution.curve_relay``) copies new lines from the
  files of its running trials to the storage, one batch a trial at most every
  ``FLUSH_INTERVAL``, so a dashboard draws long trials as they train;
- every epoch travels back with the trial's result, and the driver writes those
  the relay has not (``write_steps``) before the final state.

A trial shorter than ``FLUSH_INTERVAL`` thus writes no file at all: its curve is
written once, by the driver, with its result. ``HPSEARCH_CURVE_INTERVAL``
(seconds, read by the workers when their trials start and by the driver) changes
the interval, e.g. for a distant database server; ``off`` writes no curves (a
pruner's reports, which it needs, are still written).
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


def append_steps(path: str, steps: dict[int, float]) -> None:
    """Append ``steps`` to a curve file, one ``epoch value`` line each. The driver makes
    its folder: a worker writing on after its study was deleted makes none again."""
    with open(path, "a", encoding="ascii") as out:
        out.write("".join(f"{int(step)} {float(value)!r}\n" for step, value in steps.items()))


def read_steps(path: str) -> dict[int, float]:
    """The steps of a curve file ({} when it is missing); a line being written, or
    anything that is no ``epoch value`` pair, is left out."""
    try:
        with open(path, encoding="ascii", errors="replace") as lines:
            text = lines.read(1 << 20)
    except OSError:
        return {}
    steps = {}
    for line in text.splitlines(keepends=True):
        parts = line.split()
        if line.endswith("\n") and len(parts) == 2:
            try:
                steps[int(parts[0])] = float(parts[1])
            except ValueError:
                continue
    return steps


class LiveCurve:
    """A worker's epoch hook that keeps a trial's curve and leaves it in a file live.

    ``path`` is the trial's curve file (None: the curve comes back with the result
    only); ``report`` is a pruner's reporter, which writes each epoch to the storage
    itself: then this only passes the epochs on. ``steps`` holds every epoch's value,
    for the result.
    """

    def __init__(self, path: str | None, monitor: str,
                 report: Callable[[int, dict], None] | None = None):
        self.path, self.monitor, self.report = path, monitor, report
        self.interval = flush_interval()
        self.steps: dict[int, float] = {}
        self.appended = 0  # how many of ``steps`` are in the file
        self.last_write = time.monotonic()

    def __call__(self, epoch: int, logs: dict) -> None:
        if self.report is not None:
            self.report(epoch, logs)  # the pruner's reporter writes every epoch
            return
        value = logs.get(self.monitor)
        if self.interval is None or value is None or not math.isfinite(value):
            return
        self.steps[int(epoch)] = float(value)
        if self.path is not None and time.monotonic() - self.last_write >= self.interval:
            self.flush()

    def flush(self) -> None:
        """Append the epochs not in the file yet; a failure leaves them to the result."""
        self.last_write = time.monotonic()
        new = dict(list(self.steps.items())[self.appended:])
        try:
            append_steps(self.path, new)
        except OSError as exc:  # the curve is no reason to fail the trial
            log.debug("could not append to the curve file %s: %s", self.path, exc)
            return
        self.appended = len(self.steps)
