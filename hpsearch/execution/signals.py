"""Ctrl-C during a run: the first stops it; the ones that follow are held back while the
run's critical sections (re-queuing, shutting down) run."""

from __future__ import annotations

import contextlib
import signal
import threading
import time


@contextlib.contextmanager
def sigint_deferred(*, deliver: bool = True):
    """Hold back Ctrl-C for a short critical section, then deliver it (or, without
    ``deliver``, drop it: the section is the run's own response to a Ctrl-C).

    Only the main thread can set signal handlers; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: pending.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler if previous is None else previous)
        if pending and deliver:
            signal.raise_signal(signal.SIGINT)


# Seconds after the Ctrl-C that stopped a run during which the ones that follow are dropped.
INTERRUPT_GRACE = 2.0


@contextlib.contextmanager
def first_ctrl_c_stops():
    """While a run is on, the first Ctrl-C raises ``KeyboardInterrupt`` and the ones that
    follow are dropped until the run has stopped, and for ``INTERRUPT_GRACE`` seconds after.

    A second Ctrl-C right behind the first used to land while the first unwound through
    a storage call: it broke off the database session's rollback, and the run's own
    re-queuing then committed a half-made trial (a trial without a number, which no
    reader of the study survives). Landing just after the run, it broke off Python's
    report of the interrupt ("lost sys.stderr"). Only with Python's default handler in the
    main thread; a caller's own handler (the command line's, a notebook's) is left alone.
    """
    current = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() \
            or not (current is signal.default_int_handler or isinstance(current, _AfterInterrupt)):
        yield
        return
    stopped: list[bool] = []

    def first(_signum, _frame):
        signal.signal(signal.SIGINT, _dropped)
        stopped.append(True)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, first)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, _AfterInterrupt() if stopped else signal.default_int_handler)


def _dropped(_signum, _frame) -> None:
    """A Ctrl-C after the one that is stopping the run: it is already stopping."""


class _AfterInterrupt:
    """The handler a Ctrl-C-stopped run leaves: Python's own, except that the Ctrl-C that
    follow within ``INTERRUPT_GRACE`` seconds (a double tap) are dropped."""

    def __init__(self):
        self.until = time.monotonic() + INTERRUPT_GRACE

    def __call__(self, signum, frame) -> None:
        if time.monotonic() >= self.until:
            signal.default_int_handler(signum, frame)
