"""The driver's relay of live learning curves: the workers' curve files to the storage.

A running trial's worker appends its epochs to the trial's curve file at most
once a second, and only once the trial has run for a second
(``storages.curves.LiveCurve``). ``CurveRelay`` is a driver thread that, every
``curves.flush_interval()`` seconds, copies the new epochs of each running
trial's file to the storage in one batch, so that optuna-dashboard draws the
curve while the trial trains. Before a result is recorded, ``settle`` stops
relaying its trial, removes its file and leaves in the result only the epochs
still to write. Workers thus never open the storage for curves, and a storage
sees at most one curve write a second per running trial.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Mapping

from hpsearch.storages import curves
from hpsearch.trial import TrialResult

log = logging.getLogger(__name__)


class CurveRelay:
    """Copies the curve files of ``in_flight``'s tasks (the run's, by slot, read at each
    pass) to ``storage`` every ``interval`` seconds (default ``curves.flush_interval()``;
    no thread when curves are off)."""

    def __init__(self, storage, in_flight: Mapping, interval: float | None = None):
        self.storage, self.in_flight = storage, in_flight
        self.interval = curves.flush_interval() if interval is None else interval
        self.lock = threading.Lock()
        self.written: dict[int, set[int]] = {}  # trial id -> the epochs relayed
        self.settled: set[int] = set()
        self.done = threading.Event()
        self.thread = None
        if self.interval is not None:
            self.thread = threading.Thread(target=self._relay, name="hpsearch-curves",
                                           daemon=True)
            self.thread.start()

    def _relay(self) -> None:
        while not self.done.wait(self.interval):
            for task in list(self.in_flight.values()):
                if task.curve_file:
                    self.copy(task.trial_id, task.curve_file)

    def copy(self, trial_id: int, path: str) -> None:
        """Write the epochs of ``path`` not relayed yet (none once the trial is settled)."""
        steps = curves.read_steps(path)
        with self.lock:
            if trial_id in self.settled:
                return
            written = self.written.setdefault(trial_id, set())
            new = {step: value for step, value in steps.items() if step not in written}
            if not new:
                return
            try:
                curves.write_steps(self.storage, trial_id, new)
            except Exception as exc:  # the result brings them again
                log.debug("could not relay the curve of trial %d: %s", trial_id, exc)
                return
            written.update(new)

    def settle(self, trial_id: int, path: str | None, result: TrialResult) -> None:
        """Stop relaying the trial, remove its curve file, and keep in ``result`` only the
        epochs its driver must still write."""
        with self.lock:
            self.settled.add(trial_id)
            written = self.written.pop(trial_id, set())
        result.curve_steps = {step: value for step, value in result.curve_steps.items()
                              if step not in written}
        if path:
            with contextlib.suppress(OSError):
                os.unlink(path)

    def stop(self) -> None:
        """End the thread and remove the curve files of the trials still in flight
        (their re-runs are new trials)."""
        self.done.set()
        if self.thread is not None:
            self.thread.join(timeout=5)
        for task in list(self.in_flight.values()):
            if task.curve_file:
                with contextlib.suppress(OSError):
                    os.unlink(task.curve_file)
