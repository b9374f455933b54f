"""Grafana Tempo HTTP API subset: search, trace by id, build info.

Shapes follow https://grafana.com/docs/tempo/latest/api_docs/ :

* `GET /api/search` with `q` (TraceQL: `{}` or `{cond && cond ...}` where a condition
  is `resource.service.name="X"` (or `.service.name`), `status=error|ok|unset` or
  `duration>N(ms|s|us)`; all conditions hold on one span, as in a spanset filter) or
  `tags` (logfmt `service.name=X`, Tempo 1.x), `minDuration` (trace duration),
  `start`/`end` (unix seconds; end before start is a 400), `limit` (default 20; above
  `max_limit` a 400), `spss` (spans per span set, default 3). Answers
  `{"traces": [{traceID (hex, leading zeros dropped), rootServiceName,
  rootTraceName, startTimeUnixNano, durationMs, spanSet, spanSets}], "metrics": {...}}`,
  most recent first (no span sets for a tag search). A query that does not parse is
  a 400 with a plain-text message.
* `GET /api/traces/<id>`: OTLP JSON `{"batches": [{"resource": {...}, "scopeSpans":
  [{"scope": {...}, "spans": [...]}]}]}`, ids base64 (Tempo's JSON encoding of the
  OTLP bytes fields) or hex (`hex_ids=True`), status `{"code": "STATUS_CODE_ERROR"}`;
  with `legacy=True` the pre-2.0 shape (`instrumentationLibrarySpans`, status code 2).
  404 when no such trace is stored.
* `GET /api/status/buildinfo`.

Auth: a bearer `token` or Basic `basic=(user, password)`; `tenants=True` makes it a
multi-tenant Tempo: `X-Scope-OrgID` is required (401 "no org id" without) and each
tenant sees only its own traces.
"""

from __future__ import annotations

import base64
import re
import threading
from typing import Any

from tests.contract_servers.base import ContractServer, Reply, Request
from tests.contract_servers.spans import StoredSpan, StoredTrace

DEFAULT_LIMIT = 20
_COND = re.compile(
    r'\s*(?:(resource\.service\.name|\.service\.name)\s*=\s*"((?:[^"\\]|\\.)*)"'
    r"|status\s*=\s*(error|ok|unset)"
    r"|duration\s*>\s*(\d+(?:\.\d+)?)(ms|s|us|ns))\s*"
)
_TEXT = {"Content-Type": "text/plain; charset=utf-8"}


def parse_traceql(q: str) -> list[tuple[str, Any]]:
    """The conditions of a `{a && b}` spanset filter; ValueError when it does not parse."""
    s = q.strip()
    if not (s.startswith("{") and s.endswith("}")):
        raise ValueError("parse error at line 1, col 1: syntax error: unexpected IDENTIFIER")
    inner = s[1:-1].strip()
    conds: list[tuple[str, Any]] = []
    if not inner:
        return conds
    for i, part in enumerate(inner.split("&&")):
        m = _COND.fullmatch(part)
        if not m:
            raise ValueError(f"parse error at line 1, col {2 + i}: syntax error near {part!r}")
        if m.group(2) is not None:
            conds.append(("service", m.group(2).replace('\\"', '"').replace("\\\\", "\\")))
        elif m.group(3):
            conds.append(("status", m.group(3)))
        else:
            mult = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[m.group(5)]
            conds.append(("duration", float(m.group(4)) * mult))
    return conds


def _span_matches(s: StoredSpan, conds: list[tuple[str, Any]]) -> bool:
    for what, val in conds:
        if what == "service" and s.service != val:
            return False
        if what == "status" and (val == "error") != s.error:
            return False
        if what == "duration" and not s.duration_ns > val:
            return False
    return True


def _duration_ns(text: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", text.strip())
    if not m:
        raise ValueError(f'time: invalid duration "{text}"')
    mult = {"ns": 1, "us": 1e3, "µs": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9}
    return float(m.group(1)) * mult[m.group(2)]


class TempoServer(ContractServer):
    name = "tempo"

    def __init__(
        self,
        token: str | None = None,
        basic: tuple[str, str] | None = None,
        tenants: bool = False,
        max_limit: int = 0,
        hex_ids: bool = False,
        legacy: bool = False,
    ):
        self.token = token
        self.basic = basic
        self.tenants = tenants
        self.max_limit = max_limit
        self.hex_ids = hex_ids
        self.legacy = legacy
        self.traces: dict[str, dict[str, StoredTrace]] = {}  # tenant -> id -> trace
        self._data_lock = threading.Lock()
        super().__init__()

    def add(self, trace: StoredTrace, tenant: str = "single-tenant") -> None:
        with self._data_lock:
            self.traces.setdefault(tenant, {})[trace.trace_id] = trace

    def error_body(self, status: int, message: str) -> Any:
        return message

    def _text(self, status: int, msg: str) -> Reply:
        return Reply(status, raw=msg.encode() + b"\n", headers=_TEXT)

    def _authorized(self, req: Request) -> bool:
        got = req.headers.get("authorization", "")
        if self.token is not None:
            return got == f"Bearer {self.token}"
        if self.basic is not None:
            cred = base64.b64encode(f"{self.basic[0]}:{self.basic[1]}".encode()).decode()
            return got == f"Basic {cred}"
        return True

    def route(self, req: Request) -> Reply:
        if not self._authorized(req):
            return self._text(401, "Unauthorized")
        tenant = "single-tenant"
        if self.tenants:
            tenant = req.headers.get("x-scope-orgid", "")
            if not tenant:
                return self._text(401, "no org id")
        if req.path == "/api/status/buildinfo":
            return Reply(200, {"version": "2.4.1", "revision": "contract", "branch": "HEAD"})
        if req.path == "/api/echo":
            return self._text(200, "echo")
        if req.path == "/api/search":
            return self._search(req, tenant)
        if req.path.startswith("/api/traces/"):
            return self._trace(req.path.rsplit("/", 1)[1], tenant)
        return self._text(404, "404 page not found")

    def _mine(self, tenant: str) -> list[StoredTrace]:
        with self._data_lock:
            return list(self.traces.get(tenant, {}).values())

    def _search(self, req: Request, tenant: str) -> Reply:
        try:
            limit = int(req.q("limit") or DEFAULT_LIMIT)
            spss = int(req.q("spss") or 3)
            start = int(req.q("start") or 0)
            end = int(req.q("end") or 0)
        except ValueError as exc:
            return self._text(400, f"invalid parameter: {exc}")
        if limit <= 0:
            return self._text(400, "limit must be a positive number")
        if self.max_limit and limit > self.max_limit:
            return self._text(400, f"limit {limit} exceeds max limit of {self.max_limit}")
        if start and end and end <= start:
            return self._text(400, "http parameter start must be before end")
        try:
            if req.q("q") is not None:
                conds = parse_traceql(req.q("q") or "")
            else:
                conds = []
                for pair in (req.q("tags") or "").split():
                    k, _, v = pair.partition("=")
                    if k != "service.name":
                        return self._text(400, f"unsupported tag {k!r} in this contract server")
                    conds.append(("service", v.strip('"')))
            min_ns = _duration_ns(req.q("minDuration") or "0ns")
        except ValueError as exc:
            return self._text(400, f"invalid TraceQL query: {exc}")
        found: list[dict[str, Any]] = []
        for t in sorted(self._mine(tenant), key=lambda t: t.start_ns, reverse=True):
            if start and t.end_ns < start * 1e9:
                continue
            if end and t.start_ns > end * 1e9:
                continue
            if t.end_ns - t.start_ns < min_ns:
                continue
            hits = [s for s in t.spans if _span_matches(s, conds)]
            if not hits:
                continue
            spanset = {
                "spans": [
                    {
                        "spanID": s.span_id,
                        "startTimeUnixNano": str(s.start_ns),
                        "durationNanos": str(s.duration_ns),
                        "attributes": [
                            {"key": "service.name", "value": {"stringValue": s.service}}
                        ],
                    }
                    for s in hits[:spss]
                ],
                "matched": len(hits),
            }
            root = t.root
            hit: dict[str, Any] = {
                "traceID": t.trace_id.lstrip("0") or "0",
                "rootServiceName": root.service,
                "rootTraceName": root.name,
                "startTimeUnixNano": str(t.start_ns),
                "durationMs": max(1, (t.end_ns - t.start_ns) // 1_000_000),
            }
            if req.q("q") is not None:  # span sets come with TraceQL only (Tempo 2.x)
                hit["spanSet"] = spanset
                hit["spanSets"] = [spanset]
            found.append(hit)
            if len(found) >= limit:
                break
        return Reply(
            200,
            {
                "traces": found,
                "metrics": {"inspectedTraces": len(self._mine(tenant)), "completedJobs": 1},
            },
        )

    def _id(self, hex_id: str) -> str:
        if self.hex_ids:
            return hex_id
        return base64.b64encode(bytes.fromhex(hex_id)).decode()

    def _trace(self, raw_id: str, tenant: str) -> Reply:
        if not re.fullmatch(r"[0-9a-fA-F]{1,32}", raw_id):
            return self._text(400, f"failed to parse traceID: {raw_id}")
        tid = raw_id.lower().zfill(32)
        with self._data_lock:
            t = self.traces.get(tenant, {}).get(tid)
        if t is None:
            return self._text(404, "trace not found")
        by_service: dict[str, list[StoredSpan]] = {}
        for s in t.spans:
            by_service.setdefault(s.service, []).append(s)
        batches = []
        for svc, spans in by_service.items():
            wire = []
            for s in spans:
                w: dict[str, Any] = {
                    "traceId": self._id(s.trace_id),
                    "spanId": self._id(s.span_id),
                    "name": s.name,
                    "kind": "SPAN_KIND_SERVER",
                    "startTimeUnixNano": str(s.start_ns),
                    "endTimeUnixNano": str(s.end_ns),
                    "attributes": [
                        {"key": k, "value": {"stringValue": str(v)}} for k, v in s.attrs.items()
                    ],
                    "status": (
                        ({"code": 2} if self.legacy else {"code": "STATUS_CODE_ERROR"})
                        if s.error
                        else {}
                    ),
                }
                if s.parent_id:
                    w["parentSpanId"] = self._id(s.parent_id)
                wire.append(w)
            key = "instrumentationLibrarySpans" if self.legacy else "scopeSpans"
            lib = "instrumentationLibrary" if self.legacy else "scope"
            batches.append(
                {
                    "resource": {
                        "attributes": [{"key": "service.name", "value": {"stringValue": svc}}]
                    },
                    key: [{lib: {"name": "contract"}, "spans": wire}],
                }
            )
        return Reply(200, {"batches": batches})
