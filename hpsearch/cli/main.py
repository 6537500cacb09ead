"""The ``hpsearch`` command: run, show, plot and validate studies; find learning rates.

``main`` parses the arguments (``cli.parser``), runs the command (``cli.commands``)
and ends with the exit code and the one line that ``cli.errors`` maps its error to.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time

from hpsearch.cli.parser import parse

# Seconds after a Ctrl-C during which further ones are ignored: the command is
# shutting its workers down and must not break that off with a traceback.
INTERRUPT_GRACE = 10.0
_INTERRUPTED: list[float] = []  # when the last Ctrl-C that counted came


def _interrupt_once(_signum, _frame) -> None:
    """Ctrl-C stops a command; those that follow within ``INTERRUPT_GRACE`` seconds are
    ignored. Later ones count again: a first one that Python dropped (raised inside a
    finalizer) must not leave the command unstoppable."""
    now = time.monotonic()
    if _INTERRUPTED and now - _INTERRUPTED[-1] < INTERRUPT_GRACE:
        return
    _INTERRUPTED[:] = [now]
    raise KeyboardInterrupt


# loky's resource tracker, a child process sharing stderr, warns after the one-line
# message of a stopped run about the semaphores of the workers it killed, which it
# then cleans up: nothing for the user to do, so nothing to print.
_QUIET_TRACKER = "ignore::UserWarning:joblib.externals.loky.backend.resource_tracker"


def main(argv: list[str] | None = None) -> int:
    """Run the command ``argv`` (default: the process's arguments); its exit code."""
    args = parse(argv)
    warnings = os.environ.get("PYTHONWARNINGS")
    if _QUIET_TRACKER not in (warnings or ""):  # read by the tracker when it starts
        os.environ["PYTHONWARNINGS"] = f"{warnings},{_QUIET_TRACKER}" if warnings \
            else _QUIET_TRACKER
    own_sigint = threading.current_thread() is threading.main_thread() \
        and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    if own_sigint:
        signal.signal(signal.SIGINT, _interrupt_once)
    try:
        return _main(args)
    finally:  # uninterrupted: a caller in this process gets Ctrl-C back as it was
        if own_sigint and signal.getsignal(signal.SIGINT) is _interrupt_once:
            signal.signal(signal.SIGINT, signal.default_int_handler)


def _main(args) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # SQLAlchemy logs a traceback when a Ctrl-C lands inside its cursor or connection
    # cleanup ("Error closing cursor"); what matters reaches the command as an exception,
    # and is said in one line.
    logging.getLogger("sqlalchemy").setLevel(logging.CRITICAL)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    from hpsearch.cli.commands import COMMANDS
    from hpsearch.cli.errors import run_command

    return run_command(lambda: COMMANDS[args.command](args))


if __name__ == "__main__":
    sys.exit(main())
