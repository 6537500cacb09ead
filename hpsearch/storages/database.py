"""Where studies live: Optuna storages opened from a URL, and a cross-process lock.

``sqlite:///file.db`` (the default, ``sqlite:///hpsearch.db``), any SQLAlchemy
URL such as ``postgresql://user@host/db``, ``journal:///path/to/file.log`` for
Optuna's journal file, or ``memory`` for an in-process study. Any Optuna tool
(optuna-dashboard included) can read the same storage.

A database server can restart under a running study: calls made through
``retrying`` are retried with exponential backoff for up to
``HPSEARCH_STORAGE_RETRY`` seconds (default 60) when the connection is lost,
then fail with one ``StorageUnreachableError``.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import logging
import os
import time
from pathlib import Path

import optuna

from hpsearch.errors import StorageUnreachableError

DEFAULT_STORAGE = "sqlite:///hpsearch.db"
STORAGE_RETRY = 60.0  # seconds; HPSEARCH_STORAGE_RETRY overrides it
log = logging.getLogger(__name__)


def sqlite_path(url: str) -> Path | None:
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        return None if path in ("", ":memory:") else Path(path)
    return None


def journal_path(url: str) -> Path | None:
    """The absolute path of a journal URL: ``journal:///a/b.log`` and ``journal:////a/b.log``
    (written as for SQLite) both name ``/a/b.log``."""
    if not url.startswith("journal:///"):
        return None
    return Path("/" + url[len("journal:///"):].lstrip("/"))


def storage_file(url: str) -> Path | None:
    """The file a SQLite or journal URL names (None for a server or in-memory storage)."""
    return sqlite_path(url) or journal_path(url)


def require_file(url: str) -> None:
    """Refuse a file storage (SQLite or journal) whose file does not exist yet: opening
    it would create an empty one. Other storages pass.

    Raises:
        FileNotFoundError: when the file is missing.
        ValueError: when the path is a folder or a device.
    """
    path = storage_file(normalize_url(url))
    if path is None:
        return
    if not path.exists():
        raise FileNotFoundError(f"no storage file at {path}")
    if not path.is_file():
        raise ValueError(f"storage {url} is not a file: {path} is a folder or a device")


def normalize_url(url: str | None) -> str:
    """The canonical form of a storage URL (absolute file paths for file storages)."""
    url = DEFAULT_STORAGE if url is None else str(url)
    if url.endswith((".log", ".journal")) and "://" not in url:
        url = f"journal:///{Path(url).resolve()}"
    elif url.endswith(".db") and "://" not in url:
        url = f"sqlite:///{Path(url).resolve()}"
    if (path := sqlite_path(url)) is not None:
        return f"sqlite:///{path.resolve()}"
    if (path := journal_path(url)) is not None:
        return f"journal://{path.resolve()}"
    return url


@functools.lru_cache(maxsize=8)
def open_storage(url: str) -> optuna.storages.BaseStorage:
    """An Optuna storage for ``url`` (cached per process).

    Raises:
        ValueError: for a URL scheme that no storage understands.
    """
    url = normalize_url(url)
    if url in ("memory", "memory://"):
        return optuna.storages.InMemoryStorage()
    if (path := journal_path(url)) is not None:
        from optuna.storages.journal import JournalStorage

        from hpsearch.storages.journal import WholeLineJournal

        path.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(WholeLineJournal(str(path)))
    if "://" not in url:
        raise ValueError(f"storage must be a URL such as {DEFAULT_STORAGE!r}, "
                         f"'postgresql://user@host/db', 'journal:///runs.log' or 'memory'; got {url!r}")
    if (path := sqlite_path(url)) is None:
        import sqlalchemy

        # Several processes opening a new database at once would race to create its tables.
        engine = sqlalchemy.create_engine(url)
        try:
            with _server_lock(engine, url):
                # Pre-ping replaces pooled connections that a server restart closed.
                return optuna.storages.RDBStorage(url, engine_kwargs={"pool_pre_ping": True})
        finally:
            engine.dispose()
    path.parent.mkdir(parents=True, exist_ok=True)
    with _file_lock(path):
        # Wait for other writers instead of failing with "database is locked".
        storage = optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 120}})
        _ensure_wal(path)
    _fast_sqlite(storage.engine)
    return storage


def study_names(storage: optuna.storages.BaseStorage) -> list[str]:
    """The names of the studies ``storage`` holds, sorted: the one listing of a storage."""
    return sorted(s.study_name for s in optuna.get_all_study_summaries(storage))


def count_trials(storage: optuna.storages.BaseStorage, study_id: int) -> int:
    """The number of trials in a study, with one ``COUNT`` query on SQL storages.

    Optuna's ``get_n_trials`` loads every trial to count them (65 ms at 300
    trials on SQLite), and the run loop asks before each claim: a study of n
    trials paid O(n²). Other storages keep their trials in memory and count
    them cheaply.
    """
    engine = getattr(storage, "engine", None)
    if engine is not None:
        import sqlalchemy

        # Optuna's schema names its trial table "trials" (unchanged since Optuna 1).
        query = sqlalchemy.text("SELECT COUNT(*) FROM trials WHERE study_id = :study_id")
        try:
            with engine.connect() as connection:
                return int(connection.execute(query, {"study_id": study_id}).scalar_one())
        except sqlalchemy.exc.SQLAlchemyError:  # a schema this code does not know: ask Optuna
            pass
    return storage.get_n_trials(study_id)


def _ensure_wal(path: Path, patience: float = 30.0) -> None:
    """Put the SQLite file in write-ahead-log mode (it stays so), under the file lock.

    The switch needs the file to itself and SQLite refuses it at once, without waiting,
    while another connection reads: two processes opening a new study at the same
    moment, each switching on its first connection, failed as "database is locked". Here
    one process switches while the others wait for the lock; a reader that does not take
    the lock only delays it. Any other failure (a read-only file, say) is left to the
    storage's own connections to report.
    """
    import sqlite3

    deadline = time.monotonic() + patience
    while True:
        try:
            with contextlib.closing(sqlite3.connect(path, timeout=patience)) as connection:
                if connection.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    connection.execute("PRAGMA journal_mode=WAL")
                return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                return
        time.sleep(0.05)


def _fast_sqlite(engine) -> None:
    """Write-ahead logging: a commit costs ~1 ms instead of ~10 ms of fsyncs.

    WAL keeps readers and one writer from blocking each other; the file must
    be on a local disk (for a shared network filesystem use the journal
    storage or a server database).
    """
    import sqlalchemy

    @sqlalchemy.event.listens_for(engine, "connect")
    def _pragmas(connection, _record):
        cursor = connection.cursor()
        # Switching the journal mode needs the database to itself: a reader opening while
        # another process writes or recovers (after a kill) was refused as "database is
        # locked". Once the file is in WAL mode (it stays so), reading the mode is enough.
        if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    engine.dispose()  # connections opened from now on get the pragmas


@contextlib.contextmanager
def storage_lock(url: str):
    """Serialize slot bookkeeping between processes (and machines) sharing a storage.

    SQLite and journal files: an exclusive ``flock`` on a lock file beside the
    storage. PostgreSQL: a session-level advisory lock. MySQL: ``GET_LOCK``.
    In-memory storages live in one process and need none.
    """
    url = normalize_url(url)
    if url.startswith(("postgresql", "mysql")):
        with _server_lock(open_storage(url).engine, url):
            yield
        return
    path = storage_file(url)
    if path is None:
        yield
        return
    with _file_lock(path):
        yield


@contextlib.contextmanager
def _file_lock(path: Path):
    # Not "<file>.lock": Optuna's journal backend uses that name for its own lock.
    lock_path = path.with_name(path.name + ".hpsearch-lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


_LOCK_KEY = 0x6870736561726368  # "hpsearch"; one key for every study of a database


@contextlib.contextmanager
def _server_lock(engine, url: str):
    postgres = url.startswith("postgresql")
    take = "SELECT pg_advisory_lock(:key)" if postgres else "SELECT GET_LOCK('hpsearch', 600)"
    release = "SELECT pg_advisory_unlock(:key)" if postgres else "SELECT RELEASE_LOCK('hpsearch')"
    connection = call_with_retry(_locked_connection, engine, take, url=url)
    try:
        yield
    finally:
        _release(connection, release)


def _locked_connection(engine, take: str):
    import sqlalchemy

    connection = engine.connect()
    try:
        connection.execute(sqlalchemy.text(take), {"key": _LOCK_KEY})
    except BaseException:
        connection.close()
        raise
    return connection


def _release(connection, release: str) -> None:
    """Release a server lock; a lost connection already released it with its session."""
    import sqlalchemy

    try:
        connection.execute(sqlalchemy.text(release), {"key": _LOCK_KEY})
    except Exception as exc:
        if not is_connection_error(exc):
            raise
    finally:
        with contextlib.suppress(Exception):
            connection.close()


def is_server_url(url: str) -> bool:
    return normalize_url(url).startswith(("postgresql", "mysql"))


def is_connection_error(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) is a lost or refused database connection.

    Optuna wraps SQLAlchemy errors in ``StorageInternalError``, so the whole chain
    of causes is searched.
    """
    import sqlalchemy.exc as sa

    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, sa.OperationalError | sa.InterfaceError):
            return True
        if isinstance(exc, sa.DBAPIError) and exc.connection_invalidated:
            return True
        if type(exc).__module__.startswith("psycopg") and \
                type(exc).__name__ in ("OperationalError", "InterfaceError"):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def retry_limit() -> float:
    """Seconds to keep retrying a lost storage connection (HPSEARCH_STORAGE_RETRY)."""
    text = os.environ.get("HPSEARCH_STORAGE_RETRY")
    try:
        return STORAGE_RETRY if not text else max(0.0, float(text))
    except ValueError:
        raise ValueError(f"HPSEARCH_STORAGE_RETRY must be a number of seconds, got {text!r}") \
            from None


def call_with_retry(fn, *args, url: str, **kwargs):
    """``fn(*args, **kwargs)``, retried with exponential backoff while the storage's
    connection is lost, for up to ``retry_limit()`` seconds.

    Raises:
        StorageUnreachableError: when the storage is still unreachable after that.
    """
    deadline, delay = None, 0.25
    while True:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            if not is_connection_error(exc):
                raise
            now = time.monotonic()
            if deadline is None:
                deadline = now + retry_limit()
                log.warning("lost the connection to %s; retrying for up to %.0f s: %s",
                            shown_url(url), deadline - now, _reason(exc))
            if now >= deadline:
                raise StorageUnreachableError(shown_url(url), _reason(exc)) from exc
            time.sleep(min(delay, deadline - now))
            delay = min(2 * delay, 8.0)


class _RetryingStorage:
    """An Optuna storage whose method calls go through ``call_with_retry``."""

    def __init__(self, storage, url: str):
        self._storage, self._url = storage, url

    def __getattr__(self, name: str):
        attr = getattr(self._storage, name)
        if not callable(attr):
            return attr
        return functools.partial(call_with_retry, attr, url=self._url)


def retrying(storage, url: str):
    """``storage`` with connection retries when it is on a database server; file and
    in-memory storages are returned as they are (they lose no connections)."""
    return _RetryingStorage(storage, url) if is_server_url(url) else storage


def shown_url(url: str) -> str:
    """``url`` with its password as ``***``, for messages and views; a URL without a
    password is shown as it is (a file path is not percent-encoded)."""
    try:
        import sqlalchemy

        parsed = sqlalchemy.engine.make_url(url)
        return url if parsed.password is None else parsed.render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


def _reason(exc: BaseException) -> str:
    """The innermost message of an error chain, on one line."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
