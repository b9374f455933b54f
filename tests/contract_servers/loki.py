"""Loki HTTP API subset: push, query_range (log queries), labels, buildinfo, ready.

Shapes follow https://grafana.com/docs/loki/latest/reference/loki-http-api/ :
`POST /loki/api/v1/push` with `{"streams": [{"stream": {...}, "values": [["<ns>",
"<line>"]]}]}`; `GET /loki/api/v1/query_range` with `query`, `start`/`end` (unix
nanoseconds, or RFC 3339), `limit` (default 100, above `max_entries_limit` 5000 is a
400), `direction` (backward by default); the limit applies to the entries of all
streams together, taken in `direction` order. Stream selectors support `=`, `!=`,
`=~`, `!~`; a selector without a non-empty matcher is a 400, like Loki's.
"""

from __future__ import annotations

import re
import threading
from datetime import datetime
from typing import Any

from tests.contract_servers.base import ContractServer, Reply, Request

MAX_ENTRIES = 5000
_MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*')


def parse_selector(q: str) -> list[tuple[str, str, str]]:
    q = q.strip()
    if not (q.startswith("{") and q.endswith("}")):
        raise ValueError(f"parse error : syntax error: unexpected input {q[:20]!r}")
    inner = q[1:-1]
    out = []
    pos = 0
    while pos < len(inner):
        m = _MATCHER.match(inner, pos)
        if not m:
            raise ValueError(f"parse error at col {pos + 2}: syntax error")
        val = m.group(3).encode().decode("unicode_escape")
        out.append((m.group(1), m.group(2), val))
        pos = m.end()
        if pos < len(inner):
            if inner[pos] != ",":
                raise ValueError(f"parse error at col {pos + 2}: expected ','")
            pos += 1
    if not any(op in ("=", "=~") and v not in ("", ".*") for _, op, v in out):
        raise ValueError(
            "parse error : queries require at least one regexp or equality matcher that does"
            " not have an empty-compatible value"
        )
    return out


def _matches(labels: dict[str, str], sel: list[tuple[str, str, str]]) -> bool:
    for name, op, val in sel:
        have = labels.get(name, "")
        if op == "=" and have != val:
            return False
        if op == "!=" and have == val:
            return False
        if op == "=~" and not re.fullmatch(val, have):
            return False
        if op == "!~" and re.fullmatch(val, have):
            return False
    return True


def _ns(value: str | None, default: int) -> int:
    if value is None or value == "":
        return default
    if value.isdigit():
        v = int(value)
        return v if v > 10**15 else v * 10**9
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1e9)


class LokiServer(ContractServer):
    name = "loki"

    def __init__(self, token: str | None = None):
        self.token = token
        self.streams: dict[tuple[tuple[str, str], ...], list[tuple[int, str]]] = {}
        self._data_lock = threading.Lock()
        super().__init__()

    def push(self, labels: dict[str, str], entries: list[tuple[int, str]]) -> None:
        key = tuple(sorted(labels.items()))
        with self._data_lock:
            self.streams.setdefault(key, []).extend(entries)
            self.streams[key].sort(key=lambda e: e[0])

    def error_body(self, status: int, message: str) -> Any:
        return message

    def route(self, req: Request) -> Reply:
        if self.token and req.headers.get("authorization") != f"Bearer {self.token}":
            return Reply(
                401, raw=b"no org id / unauthorized\n", headers={"Content-Type": "text/plain"}
            )
        if req.path == "/ready":
            return Reply(200, raw=b"ready\n", headers={"Content-Type": "text/plain"})
        if req.path == "/loki/api/v1/status/buildinfo":
            return Reply(200, {"version": "2.9.4", "revision": "contract", "branch": "HEAD"})
        if req.path == "/loki/api/v1/push" and req.method == "POST":
            body = req.json() or {}
            for s in body.get("streams", []):
                self.push(
                    dict(s.get("stream", {})), [(int(t), line) for t, line in s.get("values", [])]
                )
            return Reply(204, raw=b"")
        if req.path == "/loki/api/v1/labels":
            with self._data_lock:
                names = sorted({k for key in self.streams for k, _ in key})
            return Reply(200, {"status": "success", "data": names})
        if req.path == "/loki/api/v1/query_range":
            return self._query_range(req)
        return Reply(404, raw=b"404 page not found\n", headers={"Content-Type": "text/plain"})

    def _query_range(self, req: Request) -> Reply:
        text = {"Content-Type": "text/plain; charset=utf-8"}
        try:
            sel = parse_selector(req.q("query") or "")
        except ValueError as exc:
            return Reply(400, raw=str(exc).encode() + b"\n", headers=text)
        now = int(datetime.now().timestamp() * 1e9)
        end = _ns(req.q("end"), now)
        start = _ns(req.q("start"), end - 3600 * 10**9)
        limit = int(req.q("limit", "100") or 100)
        if limit > MAX_ENTRIES:
            msg = (
                "max entries limit per query exceeded, limit > max_entries_limit"
                f" ({limit} > {MAX_ENTRIES})"
            )
            return Reply(400, raw=msg.encode() + b"\n", headers=text)
        direction = req.q("direction", "backward")
        picked: list[tuple[int, int, str, tuple[tuple[str, str], ...]]] = []
        with self._data_lock:
            for key, entries in self.streams.items():
                if not _matches(dict(key), sel):
                    continue
                for i, (ts, line) in enumerate(entries):
                    if start <= ts < end:
                        picked.append((ts, i, line, key))
        picked.sort(key=lambda e: (e[0], e[1]), reverse=direction == "backward")
        picked = picked[:limit]
        out: dict[tuple[tuple[str, str], ...], list[list[str]]] = {}
        for ts, _, line, key in picked:
            out.setdefault(key, []).append([str(ts), line])
        result = [{"stream": dict(k), "values": v} for k, v in out.items()]
        return Reply(
            200,
            {
                "status": "success",
                "data": {
                    "resultType": "streams",
                    "result": result,
                    "stats": {"summary": {"totalEntriesReturned": len(picked)}},
                },
            },
        )
