"""Telling a full disk from other faults of a storage or a file write.

SQLite reports a full disk as ``SQLITE_FULL`` and a write cut short by a
file-size limit as ``SQLITE_IOERR_WRITE``; Optuna wraps either in a
``StorageInternalError`` whose message says neither. File writes raise an
``OSError`` with ``ENOSPC`` (no space), ``EDQUOT`` (quota) or ``EFBIG`` (file
size limit). These are found anywhere in an error's chain of causes.
"""

from __future__ import annotations

import errno
import sqlite3

_NO_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def _chain(exc: BaseException | None):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        orig = getattr(exc, "orig", None)  # SQLAlchemy keeps the driver's error here
        exc = orig if isinstance(orig, BaseException) else exc.__cause__ or exc.__context__


def _is_write_fault(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.Error):
        name = getattr(exc, "sqlite_errorname", "") or ""
        return name == "SQLITE_FULL" or name.startswith("SQLITE_IOERR")
    return isinstance(exc, OSError) and exc.errno in _NO_SPACE


def is_disk_full(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) is a write that found no space or an I/O error."""
    return any(_is_write_fault(e) for e in _chain(exc))


def write_fault_reason(exc: BaseException) -> str:
    """The message of the write fault in ``exc``'s chain (e.g. "database or disk is
    full", "[Errno 28] No space left on device: '...'"), else of its first cause, on one line."""
    chain = list(_chain(exc))
    fault = next((e for e in chain if _is_write_fault(e)), chain[-1])
    return " ".join(str(fault).split()) or type(fault).__name__
