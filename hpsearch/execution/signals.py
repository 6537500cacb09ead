"""Ctrl-C held back while a run's critical section (re-queuing, shutting down) runs."""

from __future__ import annotations

import contextlib
import signal
import threading


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
