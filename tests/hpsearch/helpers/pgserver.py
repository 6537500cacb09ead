"""A throwaway PostgreSQL server for tests, from the distribution's binaries.

Started in a temporary folder on a free loopback port, owned by the
``postgres`` system user when the tests run as root (the server refuses root),
and stopped with the fixture.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

_SERVERS: dict[str, tuple] = {}  # url -> (bindir, data folder, options, root), to restart


def _binaries() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return candidates[-1].parent if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Yield a SQLAlchemy URL of a fresh, empty PostgreSQL database."""
    bindir = _binaries()
    if bindir is None:
        raise FileNotFoundError("PostgreSQL server binaries (initdb, pg_ctl) not found")
    root = Path(tempfile.mkdtemp(prefix="hpsearch-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = _free_port()
    run = dict(check=True, capture_output=True, timeout=120)
    subprocess.run(_as_server_user([str(bindir / "initdb"), "-D", str(data), "-A", "trust",
                                    "-U", "postgres", "--no-sync"]), **run)
    options = f"-k {root} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(_as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-o", options,
                                    "-l", str(root / "log"), "-w", "start"]), **run)
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    _SERVERS[url] = (bindir, data, options, root)
    try:
        yield url
    finally:
        subprocess.run(_as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m",
                                        "immediate", "stop"]), capture_output=True, timeout=60)
        _SERVERS.pop(url, None)
        shutil.rmtree(root, ignore_errors=True)


def stop_server(url: str) -> None:
    """Stop a server of ``postgres_server`` abruptly, as a crash or a failover does:
    every client connection is cut."""
    bindir, data, _, _ = _SERVERS[url]
    subprocess.run(_as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast",
                                    "-w", "stop"]), check=True, capture_output=True, timeout=120)


def start_server(url: str) -> None:
    """Start a stopped server of ``postgres_server`` again on the same port."""
    bindir, data, options, root = _SERVERS[url]
    subprocess.run(_as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-o", options,
                                    "-l", str(root / "log"), "-w", "start"]),
                   check=True, capture_output=True, timeout=120)


def postgres_or_skip() -> Iterator[str]:
    """A fixture body: a server's URL, or a skip where none can start (a failure
    when ``HPSEARCH_REQUIRE_POSTGRES`` says the machine must have one)."""
    import pytest

    try:
        with postgres_server() as url:
            yield url
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        if os.environ.get("HPSEARCH_REQUIRE_POSTGRES"):
            raise
        pytest.skip(f"no PostgreSQL server could be started here: {exc}")
