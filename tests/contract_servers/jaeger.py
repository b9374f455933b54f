"""Jaeger query HTTP JSON API subset (what the Jaeger UI calls on jaeger-query).

* `GET /api/services` → `{"data": [...], "total": n, "limit": 0, "offset": 0,
  "errors": null}`;
* `GET /api/traces?service=&start=&end=&limit=&lookback=&tags=&minDuration=`
  (`start`/`end` in microseconds; `service` required; `tags` a JSON object whose
  values match span tags as strings; `minDuration` a Go duration that a span of the
  service must reach; `limit` default 20) → whole traces, most recent first:
  `{"data": [{"traceID", "spans": [{"traceID", "spanID", "operationName",
  "references": [{"refType": "CHILD_OF", "traceID", "spanID"}], "startTime",
  "duration", "tags": [{"key", "type", "value"}], "logs": [], "processID",
  "warnings": null}], "processes": {"p1": {"serviceName", "tags": []}},
  "warnings": null}], "total": 0, "limit": 0, "offset": 0, "errors": null}`;
* `GET /api/traces/<id>` → the same envelope with the one trace.

Errors are the same envelope with `data: null` and `errors: [{"code", "msg"}]`, with
the HTTP status of the code: 400 for a missing service or a malformed `tags` or
duration, 404 "trace not found". `shard_error` makes searches answer 200 with data
*and* an `errors` entry (a storage backend that failed part of the query). Trace ids
are hex: 16 digits when the upper 64 bits are zero, else 32 (as Jaeger prints them).
Auth: an optional bearer token (jaeger-query behind an auth proxy), 401 plain text.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any

from tests.contract_servers.base import ContractServer, Reply, Request
from tests.contract_servers.spans import StoredSpan, StoredTrace

DEFAULT_LIMIT = 20


def _jid(trace_id: str) -> str:
    return trace_id[16:] if trace_id.startswith("0" * 16) else trace_id


def _duration_us(text: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", text.strip())
    if not m:
        raise ValueError(f'time: invalid duration "{text}"')
    mult = {"ns": 1e-3, "us": 1, "µs": 1, "ms": 1e3, "s": 1e6, "m": 60e6, "h": 3600e6}
    return float(m.group(1)) * mult[m.group(2)]


def _tag_str(v: Any) -> str:
    return ("true" if v else "false") if isinstance(v, bool) else str(v)


class JaegerServer(ContractServer):
    name = "jaeger"

    def __init__(self, token: str | None = None, otel_tags: bool = False):
        self.token = token
        self.otel_tags = otel_tags
        """Mark errors with `otel.status_code=ERROR` instead of `error=true`."""
        self.shard_error: str | None = None
        self.traces: dict[str, StoredTrace] = {}
        self._data_lock = threading.Lock()
        super().__init__()

    def add(self, trace: StoredTrace) -> None:
        with self._data_lock:
            self.traces[trace.trace_id] = trace

    def error_body(self, status: int, message: str) -> Any:
        return self._env(None, [{"code": status, "msg": message}])

    @staticmethod
    def _env(data: Any, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        return {"data": data, "total": 0, "limit": 0, "offset": 0, "errors": errors}

    def _err(self, status: int, msg: str) -> Reply:
        return Reply(status, self.error_body(status, msg))

    def route(self, req: Request) -> Reply:
        if self.token and req.headers.get("authorization") != f"Bearer {self.token}":
            return Reply(401, raw=b"Unauthorized\n", headers={"Content-Type": "text/plain"})
        if req.path == "/api/services":
            with self._data_lock:
                names = sorted({s.service for t in self.traces.values() for s in t.spans})
            names.append("jaeger-all-in-one")
            return Reply(200, {**self._env(names), "total": len(names)})
        if req.path == "/api/traces":
            return self._find(req)
        if req.path.startswith("/api/traces/"):
            raw = req.path.rsplit("/", 1)[1]
            if not re.fullmatch(r"[0-9a-fA-F]{1,32}", raw):
                return self._err(400, f"strconv.ParseUint: parsing {raw!r}: invalid syntax")
            with self._data_lock:
                t = self.traces.get(raw.lower().zfill(32))
            if t is None:
                return self._err(404, "trace not found")
            return Reply(200, self._env([self._wire(t)]))
        return Reply(404, raw=b"404 page not found\n", headers={"Content-Type": "text/plain"})

    def _find(self, req: Request) -> Reply:
        service = req.q("service") or ""
        if not service:
            return self._err(400, "parameter 'service' is required")
        try:
            limit = int(req.q("limit") or DEFAULT_LIMIT)
            start = int(req.q("start") or 0)
            end = int(req.q("end") or 0)
        except ValueError as exc:
            return self._err(400, f"unable to parse param: {exc}")
        try:
            tags = json.loads(req.q("tags") or "{}")
            if not isinstance(tags, dict):
                raise ValueError("not an object")
        except ValueError as exc:
            return self._err(400, f"malformed 'tags' parameter: {exc}")
        try:
            min_us = _duration_us(req.q("minDuration") or "0us")
        except ValueError as exc:
            return self._err(400, f"cannot parse minDuration: {exc}")
        found = []
        with self._data_lock:
            every = sorted(self.traces.values(), key=lambda t: t.start_ns, reverse=True)
        for t in every:
            t_us = t.start_ns / 1e3
            if start and t_us < start or end and t_us > end:
                continue
            if any(self._span_matches(s, service, tags, min_us) for s in t.spans):
                found.append(self._wire(t))
            if len(found) >= limit:
                break
        errors = [{"code": 500, "msg": self.shard_error}] if self.shard_error else None
        return Reply(200, self._env(found, errors))

    def _tags(self, s: StoredSpan) -> dict[str, Any]:
        out: dict[str, Any] = dict(s.attrs)
        if s.error:
            if self.otel_tags:
                out["otel.status_code"] = "ERROR"
            else:
                out["error"] = True
        return out

    def _span_matches(
        self, s: StoredSpan, service: str, tags: dict[str, Any], min_us: float
    ) -> bool:
        if s.service != service or s.duration_ns / 1e3 < min_us:
            return False
        have = {k: _tag_str(v) for k, v in self._tags(s).items()}
        return all(have.get(k) == str(v) for k, v in tags.items())

    def _wire(self, t: StoredTrace) -> dict[str, Any]:
        procs: dict[str, str] = {}
        spans = []
        for s in t.spans:
            pid = procs.setdefault(s.service, f"p{len(procs) + 1}")
            refs = (
                [{"refType": "CHILD_OF", "traceID": _jid(s.trace_id), "spanID": s.parent_id}]
                if s.parent_id
                else []
            )
            spans.append(
                {
                    "traceID": _jid(s.trace_id),
                    "spanID": s.span_id,
                    "flags": 1,
                    "operationName": s.name,
                    "references": refs,
                    "startTime": s.start_ns // 1000,
                    "duration": s.duration_ns // 1000,
                    "tags": [
                        {
                            "key": k,
                            "type": "bool" if isinstance(v, bool) else "string",
                            "value": v,
                        }
                        for k, v in self._tags(s).items()
                    ],
                    "logs": [],
                    "processID": pid,
                    "warnings": None,
                }
            )
        return {
            "traceID": _jid(t.trace_id),
            "spans": spans,
            "processes": {pid: {"serviceName": svc, "tags": []} for svc, pid in procs.items()},
            "warnings": None,
        }
