"""The one map from the errors a command raises to its exit code and one-line message.

Exit codes: 0 success, 2 bad input (spec, arguments, unknown study) or a fault of
the machine (a full disk, an unreadable storage), 1 the study itself failed (every
trial failed, too many consecutive failures) or a deleted study left files behind,
130 interrupted (Ctrl-C; running the same command again resumes).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from hpsearch.errors import (
    AllTrialsFailedError,
    StorageUnreachableError,
    StudyDeletedError,
    TooManyFailuresError,
    TrialTimeoutError,
)

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C


def _interrupted(exc: BaseException) -> str:
    done = getattr(exc, "complete", None)  # set when a run was interrupted
    return "interrupted" if done is None else \
        f"interrupted: {done} complete, run the same command to resume"


def _storage_write_fault(exc: BaseException) -> bool:
    import optuna

    return isinstance(exc, optuna.exceptions.StorageInternalError)


def _write_fault_line(exc: BaseException) -> str:
    # Optuna's text ("invalid data in the commit") hides the cause: name it.
    from hpsearch.storages.disk import write_fault_reason

    return f"cannot write the storage: {write_fault_reason(exc)}"


def _database_error(exc: BaseException) -> bool:
    """A driver's error: the storage is not a database (or not one of ours)."""
    return type(exc).__module__.startswith("sqlalchemy")


def _database_line(exc: BaseException) -> str:
    return f"cannot read the storage: {getattr(exc, 'orig', None) or exc}"


@dataclass(frozen=True)
class Outcome:
    """How a command that raised one kind of error ends."""

    matches: tuple[type[BaseException], ...] | Callable[[BaseException], bool]
    code: int
    line: str | None  # what stderr shows, from {prog} and {message} (None: nothing)
    message: Callable[[BaseException], str] = str


BAD_INPUT = "{prog}: error: {message}"

# The first row that matches the error decides; an error no row matches is a bug
# and keeps its traceback.
OUTCOMES: tuple[Outcome, ...] = (
    Outcome((KeyboardInterrupt,), EXIT_INTERRUPTED, "{message}", _interrupted),
    # the reader stopped early (hpsearch show | head): not an error
    Outcome((BrokenPipeError,), EXIT_OK, None),
    # the study failed (or, with catch=False, the trial that failed first)
    Outcome((AllTrialsFailedError, TooManyFailuresError, TrialTimeoutError), EXIT_FAILED,
            "{prog}: {message}"),
    # OSError: a storage or results folder that cannot be read or written (missing,
    # read-only, a file where a folder should be, a full disk, ...); ImportError: an
    # optional package a command needs (it says what to install).
    Outcome((ValueError, TypeError, KeyError, OSError, ImportError, StorageUnreachableError,
             StudyDeletedError), EXIT_BAD_INPUT, BAD_INPUT),
    Outcome(_storage_write_fault, EXIT_BAD_INPUT, BAD_INPUT, _write_fault_line),
    Outcome(_database_error, EXIT_BAD_INPUT, BAD_INPUT, _database_line),
)


def outcome_of(exc: BaseException) -> Outcome | None:
    """The row of ``OUTCOMES`` for ``exc`` (None: not a user-facing error)."""
    for outcome in OUTCOMES:
        matches = outcome.matches
        if isinstance(exc, matches) if isinstance(matches, tuple) else matches(exc):
            return outcome
    return None


def one_line(message: str) -> str:
    """``message`` on one line, whatever lines and runs of spaces it holds."""
    return " ".join(message.split())


def print_error(message: str, prog: str = "hpsearch") -> None:
    """Report ``message`` as one ``PROG: error: ...`` line on stderr."""
    print(BAD_INPUT.format(prog=prog, message=one_line(message)), file=sys.stderr)


def run_command(command: Callable[[], int], prog: str = "hpsearch") -> int:
    """Run ``command`` and return its exit code, or the code of ``OUTCOMES`` for the
    error it raised, with that error's line on stderr; an error no row names is raised."""
    try:
        code = command()
        sys.stdout.flush()  # a closed pipe is found here, not at exit
        return code
    except Exception as exc:
        outcome = outcome_of(exc)
        if outcome is None:
            raise
        return _end(exc, outcome, prog)
    except KeyboardInterrupt as exc:
        if threading.current_thread() is threading.main_thread():
            # The command ends: no Ctrl-C may break off its workers' shutdown at exit.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        return _end(exc, outcome_of(exc), prog)


def _end(exc: BaseException, outcome: Outcome, prog: str) -> int:
    if isinstance(exc, BrokenPipeError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    if outcome.line is not None:
        print(outcome.line.format(prog=prog, message=one_line(outcome.message(exc))),
              file=sys.stderr)
    return outcome.code


@contextlib.contextmanager
def naming_flags(flags: Mapping[str, str]) -> Iterator[None]:
    """Errors of an API call that name one of its keywords (``repeats must be a positive
    integer, got 0``) also name the option the user typed: ``flags`` maps the keywords
    given on the command line to their options (``{"repeats": "--repeats"}``)."""
    try:
        yield
    except (ValueError, TypeError) as exc:
        keyword = next((k for k in flags if str(exc).startswith(f"{k} ")), None)
        if keyword is None or type(exc) not in (ValueError, TypeError):
            raise
        raise type(exc)(f"{flags[keyword]}: {exc}") from None
