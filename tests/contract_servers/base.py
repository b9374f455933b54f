"""A threaded loopback HTTP server with injectable faults.

Every contract server (PagerDuty, GitHub, Loki) and the generic `FaultServer` used by
the fault matrix derive from `ContractServer`. A fault applies to every request
(optionally only to paths with a given prefix) until cleared:

| fault | behaviour |
| --- | --- |
| hang | accept, read the request, never answer (until the server stops) |
| slow | send 200 headers, then trickle one byte every 0.2 s |
| 500 | HTTP 500 with a JSON error body |
| 503 | HTTP 503 with `Retry-After: 1` |
| 429 | HTTP 429 with `ratelimit-reset: 1` (PagerDuty) and `Retry-After: 1` |
| 401 | HTTP 401 with the API's error body |
| 403 | HTTP 403 with the API's error body (not in `FAULTS`: the rows that test it add it) |
| malformed | HTTP 200 with a body that is not JSON |
| truncated | HTTP 200 announcing 4096 bytes, sending 100, then closing |
| huge | HTTP 200, chunked, 50 MB of JSON |
| delay | answer normally after `delay_s` seconds |
"""

from __future__ import annotations

import json
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

FAULTS = ("hang", "slow", "500", "503", "429", "401", "malformed", "truncated", "huge")


@dataclass
class Fault:
    kind: str
    path_prefix: str = ""
    delay_s: float = 0.0


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def q(self, key: str, default: str | None = None) -> str | None:
        v = self.query.get(key)
        return v[0] if v else default

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None


_CLIENT_GONE = (TimeoutError, BrokenPipeError, ConnectionResetError, ssl.SSLError)


class _QuietServer(ThreadingHTTPServer):
    """A client that gives up (its budget ran out) may reset a kept-alive connection
    while the handler waits for its next request line, outside `_dispatch`. That is the
    client's right, not a server error: socketserver would print a traceback into the
    output of the process under test."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], _CLIENT_GONE):
            return
        super().handle_error(request, client_address)


class ContractServer:
    """Subclasses implement `route(req) -> Reply`; `error_body(status, msg)` shapes errors."""

    name = "contract"

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.fault: Fault | None = None
        self.requests: list[Request] = []
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def _handle(self) -> None:
                server._dispatch(self)

            do_GET = _handle  # noqa: N815
            do_POST = _handle  # noqa: N815
            do_PUT = _handle  # noqa: N815
            do_DELETE = _handle  # noqa: N815
            do_HEAD = _handle  # noqa: N815

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    # ------------------------------------------------------------ lifecycle

    def stop(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> ContractServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def set_fault(self, kind: str | None, path_prefix: str = "", delay_s: float = 0.0) -> None:
        self.fault = Fault(kind, path_prefix, delay_s) if kind else None

    # ------------------------------------------------------------ to override

    def route(self, req: Request) -> Reply:
        return Reply(404, self.error_body(404, "not found"))

    def error_body(self, status: int, message: str) -> Any:
        return {"error": message}

    # ------------------------------------------------------------ machinery

    def _dispatch(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        req = Request(
            h.command,
            parts.path,
            parse_qs(parts.query, keep_blank_values=True),
            {k.lower(): v for k, v in h.headers.items()},
            body,
        )
        with self.lock:
            self.requests.append(req)
        fault = self.fault
        try:
            if fault and parts.path.startswith(fault.path_prefix):
                if self._fault(h, fault):
                    return
            reply = self.route(req)
            self._send(h, reply)
        except _CLIENT_GONE:
            # the client went away (over TLS the broken pipe shows as an SSL error)
            pass

    def _send(self, h: BaseHTTPRequestHandler, reply: Reply) -> None:
        data = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
        h.send_response(reply.status)
        if "Content-Type" not in reply.headers:
            h.send_header("Content-Type", "application/json")
        for k, v in reply.headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(data)))
        # Headers and body in one write: two small writes on loopback hit Nagle plus
        # delayed ACK (~40 ms per request), which real servers do not suffer from.
        h._headers_buffer.append(b"\r\n" + (data if h.command != "HEAD" else b""))  # type: ignore[attr-defined]
        h.flush_headers()

    def _fault(self, h: BaseHTTPRequestHandler, f: Fault) -> bool:
        k = f.kind
        if k == "delay":
            self.stopping.wait(f.delay_s)
            return False
        if k == "hang":
            self.stopping.wait(30)
            h.close_connection = True
            return True
        if k == "slow":
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", "100000")
            h.end_headers()
            deadline = time.monotonic() + 30
            while not self.stopping.is_set() and time.monotonic() < deadline:
                h.wfile.write(b" ")
                h.wfile.flush()
                self.stopping.wait(0.2)
            h.close_connection = True
            return True
        if k in ("500", "503", "429", "401", "403"):
            status = int(k)
            headers: dict[str, str] = {}
            if status in (503, 429):
                headers["Retry-After"] = "1"
            if status == 429:
                headers["ratelimit-reset"] = "1"
                headers["ratelimit-remaining"] = "0"
            self._send(h, Reply(status, self.error_body(status, f"injected {k}"), headers))
            return True
        if k == "malformed":
            self._send(h, Reply(200, raw=b'{"status": "success", "data": [1, 2,,}'))
            return True
        if k == "truncated":
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", "4096")
            h.end_headers()
            h.wfile.write(b'{"status": "success", "data": ' + b"[" + b"1," * 30)
            h.wfile.flush()
            h.close_connection = True
            return True
        if k == "huge":
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Transfer-Encoding", "chunked")
            h.end_headers()
            chunk = b'"' + b"x" * (1 << 20) + b'",'
            h.wfile.write(b"%x\r\n%s\r\n" % (1, b"["))
            for _ in range(50):
                if self.stopping.is_set():
                    break
                h.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            h.wfile.write(b"%x\r\n%s\r\n" % (3, b'"x"'))
            h.wfile.write(b"1\r\n]\r\n0\r\n\r\n")
            h.close_connection = True
            return True
        raise ValueError(f"unknown fault {k!r}")


class FaultServer(ContractServer):
    """Answers every path with the configured fault (or 404 without one): stands in
    for any source in the fault matrix."""

    name = "faults"

    def __init__(
        self,
        kind: str | None = None,
        error_body: Callable[[int, str], Any] | None = None,
        tls: ssl.SSLContext | None = None,
    ):
        super().__init__(tls)
        self._eb = error_body
        self.set_fault(kind)

    def error_body(self, status: int, message: str) -> Any:
        return self._eb(status, message) if self._eb else {"status": "error", "error": message}


def closed_port_url() -> str:
    """A loopback URL nothing listens on (connection refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


def paginate_offset(
    items: list[Any], req: Request, max_limit: int = 100
) -> tuple[list[Any], int, int, bool]:
    limit = min(int(req.q("limit", "25") or 25), max_limit)
    offset = int(req.q("offset", "0") or 0)
    page = items[offset : offset + limit]
    return page, limit, offset, offset + limit < len(items)
