"""`bench annotate serve`: the rating pages on uvicorn, one private link per annotator.

The server binds 127.0.0.1 unless told otherwise, writes no access log (a
request line holds an annotator's token), and bounds what it reads: request
headers (`MAX_HEADER_BYTES`), bodies (`bench.annotation.webapp.MAX_BODY`) and
open connections. Starlette, uvicorn and Jinja2 are the ``annotate`` extra;
without them `serve` says so and nothing else changes.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.annotation.storage import open_study
from bench.errors import EXIT_ENVIRONMENT, BenchError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
MAX_HEADER_BYTES = 16 * 1024
MAX_CONNECTIONS = 64
WEB_STACK = ("starlette", "uvicorn", "jinja2")


def require_web_stack() -> None:
    """A `BenchError` naming the missing package when the ``annotate`` extra is not installed."""
    import importlib

    for name in WEB_STACK:
        try:
            importlib.import_module(name)
        except ImportError:
            raise BenchError(f"`bench annotate serve` needs {name}, which is not installed",
                             hint="install the annotate extra: pip install 'bench[annotate]' (starlette, uvicorn, "
                                  "jinja2); new, status and export work without it",
                             exit_code=EXIT_ENVIRONMENT) from None


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: a free port); a `BenchError` when it cannot be had."""
    if not 0 <= port <= 65535:
        raise BenchError(f"--port must be from 0 to 65535, got {port}")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as e:
        raise BenchError(f"cannot serve on host {host!r}: {e.strerror}", hint="give an address of this machine, "
                         "e.g. --host 127.0.0.1 (the default)", exit_code=EXIT_ENVIRONMENT) from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(MAX_CONNECTIONS)
    except OSError as e:
        sock.close()
        raise BenchError(f"cannot listen on {host}:{port}: {e.strerror or e}",
                         hint="choose another --port (0 picks a free one), or stop what is using it",
                         exit_code=EXIT_ENVIRONMENT) from None
    return sock


def links(host: str, port: int, tokens: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """(annotator, private link) of each annotator."""
    shown = host
    if host in ("0.0.0.0", "::", ""):
        shown = socket.gethostname()
    elif ":" in host:
        shown = f"[{host}]"
    return [(name, f"http://{shown}:{port}/a/{token}") for name, token in tokens]


def serve(study_file: Path, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
          on_ready: Callable[[list[tuple[str, str]], str, int], None] | None = None) -> None:
    """Serve the study's pages until interrupted; `on_ready(links, host, port)` is called once it listens."""
    require_web_stack()
    import uvicorn

    from bench.annotation.webapp import make_app

    study = open_study(study_file)
    app = make_app(study_file)
    sock = bind(host, port)
    try:
        bound_port = sock.getsockname()[1]
        if on_ready is not None:
            on_ready(links(host, bound_port, [(a.name, a.token) for a in study.annotators]), host, bound_port)
        config = uvicorn.Config(app, log_level="warning", access_log=False, server_header=False, date_header=False,
                                proxy_headers=False, lifespan="off", http="h11", limit_concurrency=MAX_CONNECTIONS,
                                timeout_keep_alive=5, h11_max_incomplete_event_size=MAX_HEADER_BYTES)
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
