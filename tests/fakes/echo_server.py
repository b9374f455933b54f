"""A loopback HTTP server that records every request and can echo it back.

Used by the credential-scope and canary tests: it records the headers each request
carried (did a token reach a host it was not configured for?), and a route can answer
with the request's own headers and URL inside its body, the way a misconfigured or
hostile server would reflect a credential into data aisre then shows or captures.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]

    def header(self, name: str) -> str | None:
        for k, v in self.headers.items():
            if k.lower() == name.lower():
                return v
        return None


@dataclass
class Answer:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Route = Callable[[Seen], Answer]


class EchoServer:
    """Routes by path prefix (longest first); unknown paths answer 404."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.seen: list[Seen] = []
        self.routes: dict[str, Route] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _serve(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                if n:
                    self.rfile.read(n)
                u = urlsplit(self.path)
                seen = Seen(self.command, u.path, parse_qs(u.query), dict(self.headers.items()))
                server.seen.append(seen)
                route = next(
                    (
                        r
                        for p, r in sorted(server.routes.items(), key=lambda kv: -len(kv[0]))
                        if u.path.startswith(p)
                    ),
                    None,
                )
                ans = route(seen) if route else Answer(404, {"error": "not found"})
                data = (
                    ans.body
                    if isinstance(ans.body, bytes)
                    else json.dumps(ans.body if ans.body is not None else {}).encode()
                )
                self.send_response(ans.status)
                self.send_header("Content-Type", "application/json")
                for k, v in ans.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_HEAD = _serve

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def route(self, prefix: str, fn: Route) -> None:
        self.routes[prefix] = fn

    def json(self, prefix: str, body: Any, status: int = 200, **headers: str) -> None:
        self.routes[prefix] = lambda _s: Answer(status, body, dict(headers))

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def echo(seen: Seen) -> str:
    """The request as text: what a reflecting server would put into its answer."""
    return " ".join(f"{k}: {v}" for k, v in seen.headers.items()) + f" {seen.path}"
