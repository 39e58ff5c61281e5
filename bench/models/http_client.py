"""JSON over HTTP for the OpenAI-compatible client (standard library only), bounded as untrusted input: a
whole request within its timeout (a server that drips its reply is cut off), a reply of bounded size, and
every failure one `RequestFailed` that says whether trying again may help (connection errors, timeouts, a
connection closed in the middle of a reply, HTTP 408/409/429/5xx)."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
MAX_WAIT_S = 30.0


class RequestFailed(Exception):
    """A request failed; `retry` says whether trying again may help."""

    def __init__(self, message: str, retry: bool, wait: float | None = None, limit: bool = False) -> None:
        super().__init__(message)
        self.retry = retry
        self.wait = wait
        self.limit = limit
        """The reply was over its size limit."""


def fetch_json(method: str, url: str, payload: Mapping[str, Any] | None, headers: Mapping[str, str],
               timeout: float, limit: int) -> Any:
    """The JSON reply to one request, bounded as a whole: `timeout` seconds from connecting to the reply's last
    byte (a watchdog shuts the socket then), and at most `limit` bytes of body. Any failure is a
    `RequestFailed` that says whether trying again may help."""
    data = json.dumps(payload).encode("utf-8") if payload is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=dict(headers))
    sockets: list[socket.socket] = []
    expired = threading.Event()
    lock = threading.Lock()

    def shut(sock: socket.socket) -> None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def cut_off() -> None:
        with lock:
            expired.set()
            for sock in sockets:
                shut(sock)

    def connected(sock: socket.socket) -> None:
        with lock:
            sockets.append(sock)
            if expired.is_set():  # connected after the deadline
                shut(sock)

    watchdog = threading.Timer(timeout, cut_off)
    watchdog.daemon = True
    watchdog.start()
    try:
        with _opener(connected).open(req, timeout=timeout) as resp:
            raw = _read_bounded(resp, limit)
    except urllib.error.HTTPError as e:
        detail = _error_detail(e)
        wait = _retry_after(e.headers.get("Retry-After") if e.headers else None)
        raise RequestFailed(f"HTTP {e.code}{': ' + detail if detail else ''}", e.code in RETRY_STATUS,
                            wait) from None
    except (urllib.error.URLError, ConnectionError, socket.timeout, TimeoutError, http.client.HTTPException,
            OSError) as e:
        if expired.is_set():
            raise RequestFailed(f"no complete reply within {timeout:g} s (timeout)", True) from None
        if isinstance(e, http.client.IncompleteRead):
            raise RequestFailed("the connection was closed in the middle of the reply", True) from None
        reason = getattr(e, "reason", e)
        raise RequestFailed(f"{type(reason).__name__}: {reason}" if str(reason) else type(reason).__name__,
                            True) from None
    finally:
        watchdog.cancel()
    if expired.is_set():  # the watchdog fired as the last bytes came: what was read may be cut short
        raise RequestFailed(f"no complete reply within {timeout:g} s (timeout)", True)
    if len(raw) > limit:
        raise RequestFailed(f"the reply is larger than {limit} bytes; it was not read "
                            f"further", False, limit=True)
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise RequestFailed(f"the server's answer is not JSON: {raw[:200]!r}", False) from None



def _read_bounded(resp: Any, limit: int) -> bytes:
    """The body of `resp`, or its first `limit` + 1 bytes when it is longer; a body that ends before the
    length its headers announced raises `http.client.IncompleteRead`."""
    chunks: list[bytes] = []
    total = 0
    while total <= limit:
        chunk = resp.read(min(1 << 16, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    raw = b"".join(chunks)
    if total <= limit and resp.length:  # the connection closed with bytes still announced
        raise http.client.IncompleteRead(raw, resp.length)
    return raw


def _opener(connected: Callable[[socket.socket], None]) -> urllib.request.OpenerDirector:
    """urllib's opener (proxies from the environment included) that hands the socket of each connection it
    opens to `connected`, so that a watchdog can shut it (urllib lets go of the connection once the headers
    are in, and reads the body from the socket)."""

    def tracked(cls: type) -> type:
        class Tracked(cls):  # type: ignore[misc, valid-type]
            def connect(self) -> None:
                super().connect()
                connected(self.sock)
        return Tracked

    class Http(urllib.request.HTTPHandler):
        def http_open(self, req: urllib.request.Request) -> Any:
            return self.do_open(tracked(http.client.HTTPConnection), req)

    class Https(urllib.request.HTTPSHandler):
        def https_open(self, req: urllib.request.Request) -> Any:
            return self.do_open(tracked(http.client.HTTPSConnection), req)

    return urllib.request.build_opener(Http(), Https())


def _error_detail(e: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(e.read() or b"{}")
    except (ValueError, OSError):
        return ""
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        return str(err.get("message") or "")
    if isinstance(err, str):
        return err
    return str(body.get("message") or body.get("detail") or "") if isinstance(body, dict) else ""


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return min(MAX_WAIT_S * 2, max(0.0, float(value)))
    except ValueError:
        return None
