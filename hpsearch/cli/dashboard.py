"""``hpsearch dashboard [STORAGE] [--port N] [--host H]``: optuna-dashboard on a storage.

The dashboard (the optional extra ``hpsearch[dashboard]``) serves the storage's
studies with their artifacts (``storages.dashboard.StorageArtifacts``): their
trials, learning curves, plots, kept models and notes. It listens on 127.0.0.1
unless ``--host`` says otherwise, prints its URL and serves until Ctrl-C.
``beside`` serves it from a thread of ``hpsearch run --dashboard`` while the run lasts
(a child process would spend seconds importing what the run has imported already).
"""

from __future__ import annotations

import argparse
import contextlib
import socketserver
import threading
from collections.abc import Iterator
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from hpsearch.cli.errors import EXIT_OK

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8080
INSTALL = "pip install 'hpsearch[dashboard]'"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("storage", nargs="?",
                        help="storage URL or file (default sqlite:///hpsearch.db)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port to listen on (default {DEFAULT_PORT}; 0: any free port)")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to listen on (default {DEFAULT_HOST}: this machine "
                             "only; 0.0.0.0 opens it to the network)")


class _Server(socketserver.ThreadingMixIn, WSGIServer):
    """One thread a request: a page's requests do not wait for each other."""

    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args) -> None:
        pass  # one line per request would bury the URL


def app(storage: str | None):
    """The dashboard's WSGI application on ``storage``, with its studies' artifacts.

    Raises:
        ImportError: without optuna-dashboard (saying what to install).
        FileNotFoundError, ValueError: for a missing storage file or an in-memory storage.
    """
    try:
        import optuna_dashboard
    except ImportError:
        raise ImportError(f"hpsearch dashboard needs optuna-dashboard: {INSTALL}") from None
    from hpsearch.storages.artifacts import artifacts_root
    from hpsearch.storages.dashboard import StorageArtifacts
    from hpsearch.storages.database import normalize_url, open_storage, require_file

    url = normalize_url(storage)
    if url.startswith("memory"):
        raise ValueError("a dashboard needs a storage that outlives a command: a file "
                         "(sqlite:///hpsearch.db, journal:///runs.log) or a database server")
    require_file(url)
    return optuna_dashboard.wsgi(open_storage(url),
                                 artifact_store=StorageArtifacts(artifacts_root(url)))


def serve(application, host: str, port: int) -> WSGIServer:
    """A server of ``application`` bound to ``host``:``port`` (not serving yet).

    Raises:
        ValueError: for a port outside 0..65535.
        OSError: when the address cannot be bound (e.g. the port is taken).
    """
    if not 0 <= port <= 65535:
        raise ValueError(f"--port must be 0 to 65535, got {port}")
    try:
        return make_server(host, port, application, server_class=_Server,
                           handler_class=_QuietHandler)
    except OSError as exc:
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def url_of(server: WSGIServer, host: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{server.server_port}/dashboard/"


def run(args: argparse.Namespace) -> int:
    """Serve the dashboard until Ctrl-C; prints its URL first."""
    server = serve(app(args.storage), args.host, args.port)
    print(f"optuna-dashboard: {url_of(server, args.host)} (Ctrl-C stops it)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass  # Ctrl-C is how a dashboard ends
    finally:
        server.server_close()
    return EXIT_OK


@contextlib.contextmanager
def beside(storage: str, host: str, port: int) -> Iterator[str]:
    """The dashboard served from a thread of this process while the block runs (``run
    --dashboard``); yields its URL, printed first. It starts before the block (an error,
    e.g. no optuna-dashboard, stops the command first) and ends with it."""
    server = serve(app(storage), host, port)
    url = url_of(server, host)
    print(f"optuna-dashboard: {url} (while the run lasts)", flush=True)
    thread = threading.Thread(target=server.serve_forever, name="dashboard", daemon=True)
    thread.start()
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
