"""Guards of a trial's worker process: the trial's time limit and the driver's life.

A trial's ``trial_timeout`` is one deadline for the whole trial (every fold,
the range test, every batch). Checks at batch ends stop a trial that trains
past it; a ``SIGALRM`` timer stops one stuck inside a batch (a Python-level
wait or loop); and in hpsearch's own worker processes a watchdog thread ends
the process a few seconds after the deadline when even that cannot run (a C
call that never returns), leaving a marker file so that the driver records a
time-limit failure rather than a crash.

Workers also watch their parent: when the driver dies (``kill -9``), they exit
within a second instead of finishing doomed trials while holding its pipes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from hpsearch.trial import Deadline

# Seconds past the deadline before the watchdog ends a worker whose trial ignored it.
WATCHDOG_GRACE = 5.0
# How often a worker checks that its driver is still alive.
PARENT_POLL = 0.5
# The exit code of a worker ended by the watchdog (that of coreutils' `timeout`).
OVERRUN_EXIT = 124

_PROCESS = {"owned": False}


def overrun_message(seconds: float) -> str:
    """The error of a trial whose worker the watchdog ended."""
    return (f"TrialTimeoutError: the trial exceeded its time limit of {seconds:g} s and did not "
            f"stop; its worker process was ended")


def own_process() -> None:
    """Declare this process a worker hpsearch owns, which the watchdog may end."""
    _PROCESS["owned"] = True


@contextlib.contextmanager
def enforced(deadline: Deadline | None, marker: str | None = None) -> Iterator[None]:
    """Hold ``deadline`` over the block, whatever it is doing.

    In the main thread a ``SIGALRM`` timer raises ``TrialTimeoutError`` at the
    deadline; in an owned worker a watchdog also ends the process
    ``WATCHDOG_GRACE`` seconds later, after creating the file ``marker``. In
    other threads (thread and Dask backends) only the batch-end checks apply.
    """
    if deadline is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    with _watchdog(deadline, marker), _alarm(deadline):
        yield


@contextlib.contextmanager
def _alarm(deadline: Deadline) -> Iterator[None]:
    def expire(signum, frame):
        raise deadline.error("stopped by its timer")

    previous = signal.signal(signal.SIGALRM, expire)
    started = time.monotonic()
    old_delay, _ = signal.setitimer(signal.ITIMER_REAL, max(deadline.remaining(), 1e-3))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if old_delay > 0:  # someone else's timer: give back what is left of it
            left = old_delay - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-3))


@contextlib.contextmanager
def _watchdog(deadline: Deadline, marker: str | None) -> Iterator[None]:
    if not _PROCESS["owned"]:
        yield
        return
    done = threading.Event()

    def watch() -> None:
        if done.wait(deadline.remaining() + WATCHDOG_GRACE):
            return
        if marker:
            with contextlib.suppress(OSError):
                Path(marker).touch()
        os._exit(OVERRUN_EXIT)

    thread = threading.Thread(target=watch, name="hpsearch-trial-watchdog", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()


def init_worker(driver_pid: int) -> None:
    """Initializer of hpsearch's worker processes: own them, and make them exit
    when ``driver_pid`` is no longer their parent (the driver died)."""
    own_process()
    # Ctrl-C in a terminal reaches the whole process group: the driver handles it and
    # ends its workers, which must not print their own KeyboardInterrupt tracebacks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    thread = threading.Thread(target=_watch_parent, args=(driver_pid,),
                              name="hpsearch-parent-watch", daemon=True)
    thread.start()


def _watch_parent(driver_pid: int) -> None:
    # An orphan is re-parented (to init or a subreaper): its ppid changes.
    while os.getppid() == driver_pid:
        time.sleep(PARENT_POLL)
    os._exit(1)
