"""A running driver's heartbeat: its trials marked alive, other drivers' stale ones recovered."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping

from hpsearch.storages import records

log = logging.getLogger(__name__)


class Heartbeat:
    """Marks the in-flight trials as alive every ``records.heartbeat_interval()``
    seconds, so that a driver on another machine can tell them from a dead driver's,
    and calls ``recover`` to recover other drivers' stale trials while the run goes on.

    ``storage`` is the Optuna storage (no retries: a missed beat is made up next
    time) and ``in_flight`` the run's tasks by slot, read at each beat.
    """

    def __init__(self, storage, in_flight: Mapping, recover: Callable[[], None],
                 interval: float | None = None):
        self.storage, self.in_flight, self.recover = storage, in_flight, recover
        self.interval = records.heartbeat_interval() if interval is None else interval
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._beat, name="hpsearch-heartbeat", daemon=True)
        self.thread.start()

    def _beat(self) -> None:
        while not self.done.wait(self.interval):
            for task in list(self.in_flight.values()):
                # A trial may finish meanwhile; its record is then final, not an error.
                with contextlib.suppress(Exception):
                    self.storage.set_trial_system_attr(task.trial_id, records.HEARTBEAT,
                                                       time.time())
            if not self.done.is_set():
                try:
                    self.recover()
                except Exception as exc:  # the main loop meets storage trouble itself
                    log.debug("stale-trial check failed: %s", exc)

    def stop(self) -> None:
        self.done.set()
        self.thread.join(timeout=5)
