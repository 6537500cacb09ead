"""Optuna's journal file, kept whole when a write fails.

Optuna appends each batch of log lines with one ``write``; when the disk fills
(or a process dies) during it, part of a line stays at the end of the file, the
next append is glued to it, and every later read of the journal fails with a
JSON error: the study is lost. Here a failed append is cut back to where it
began, and a journal that ends in part of a line (left by a killed process or an
older version) has that part removed when it is opened and before each append.
Both happen under the journal's own lock, which every writer holds while it
appends.
"""

from __future__ import annotations

import json
import os
from typing import Any

from optuna.storages.journal import JournalFileBackend, JournalFileSymlinkLock

_BLOCK = 1 << 16


class WholeLineJournal(JournalFileBackend):
    """A ``JournalFileBackend`` whose file only ever holds whole lines."""

    def __init__(self, path: str):
        self._path = path
        self._guard = JournalFileSymlinkLock(path)  # Optuna's default lock, kept at hand
        super().__init__(path, lock_obj=self._guard)
        self._locked(_cut_torn_tail, path)

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        text = "".join(json.dumps(log, separators=(",", ":")) + "\n" for log in logs)
        self._locked(_append, self._path, text.encode("utf-8"))

    def _locked(self, fn, *args) -> None:
        self._guard.acquire()
        try:
            fn(*args)
        finally:
            self._guard.release()


def _append(path: str, data: bytes) -> None:
    _cut_torn_tail(path)  # another process may have died mid-line since this one opened it
    size = os.path.getsize(path)
    try:
        with open(path, "ab") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except OSError:
        os.truncate(path, size)  # needs no space: the file only shrinks
        raise


def _cut_torn_tail(path: str) -> None:
    """Remove the part of a line at the end of ``path``, if any."""
    with open(path, "rb+") as f:
        end = f.seek(0, os.SEEK_END)
        if end == 0 or (f.seek(end - 1) is not None and f.read(1) == b"\n"):
            return
        position = end
        while position > 0:
            start = max(0, position - _BLOCK)
            f.seek(start)
            block = f.read(position - start)
            newline = block.rfind(b"\n")
            if newline >= 0:
                position = start + newline + 1
                break
            position = start
        if position != end:
            f.truncate(position)
