"""Jaeger query API: spans of the alert's services around the alert (TraceSource).

The HTTP JSON API the Jaeger UI uses (jaeger-query, port 16686 by default):

* `GET /api/services` → `{"data": ["checkout", …], "errors": null}`;
* `GET /api/traces?service=X&start=<µs>&end=<µs>&limit=N&lookback=custom` with
  optional `tags` (a JSON object, `{"error":"true"}`) and `minDuration` (`250ms`)
  → `{"data": [trace, …], "errors": …}`. A search answers with whole traces:
  `traceID`, `spans` (`spanID`, `operationName`, `references` (`CHILD_OF` the
  parent), `startTime` and `duration` in microseconds, `tags`, `processID`) and
  `processes` (`p1: {serviceName}`);
* `GET /api/traces/<id>` → the same envelope with one trace; 404 with
  `errors: [{"code": 404, "msg": "trace not found"}]` when it is not stored.

A span is an error when it carries `error=true`, `otel.status_code=ERROR` (what the
OpenTelemetry → Jaeger translation writes) or an HTTP status of 500 or more. A 200
answer whose `errors` array is not empty (a storage shard failed) is used, with a
partial note.

Sampling (see `sources/tracing.py`): per wanted service, traces with
`tags={"error":"true"}` first, then a plain search (the baseline), then
`minDuration` at the 90th percentile of the service's spans in the baseline, each
spread over slices of the window (Jaeger answers with the most recent traces
first), until `max_traces` per service or the time budget. With no service known,
every service `/api/services` lists shares the cap.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from aisre_cli.errors import AuthError, SourceError
from aisre_cli.model import Span, span_peer
from aisre_cli.settings.config import HttpSettings, SourceUrl
from aisre_cli.sources.catalog import SourceEnv, SourceType
from aisre_cli.sources.http import (
    Health,
    HttpSource,
    Response,
    ResponseTooLarge,
    parse_model,
    probe,
    user_auth,
)
from aisre_cli.sources.tracing import (
    SLOW_QUANTILE,
    Clock,
    Kind,
    Plan,
    TraceNotFound,
    norm_id,
    partial,
    quantile,
    record_search,
    time_slices,
    trace_key,
)

MAX_SERVICES = 50
"""With no service known, at most this many services (of `/api/services`) are read."""
_OWN_SERVICES = frozenset({"jaeger-query", "jaeger-all-in-one", "jaeger"})


class JaegerSource(BaseModel):
    """A Jaeger query service, `sources.jaeger` in a profile."""

    model_config = ConfigDict(extra="forbid")

    url: SourceUrl
    """Base URL of jaeger-query, e.g. http://jaeger-query:16686."""
    token_name: str | None = None
    """Keyring name of the bearer token (or, with `username`, the Basic-auth password)."""
    username: str | None = None
    """HTTP Basic user, for a query service behind a proxy with Basic auth."""
    max_traces: int = Field(default=200, gt=0, le=5000)
    """Traces read per service (errors first, then slow ones, then a baseline)."""
    http: HttpSettings = Field(default_factory=HttpSettings)


# ------------------------------------------------------------------ wire models


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Tag(_Lenient):
    key: str
    value: Any = None


class _Ref(_Lenient):
    refType: str = "CHILD_OF"  # noqa: N815 (wire names)
    traceID: str = ""  # noqa: N815
    spanID: str = ""  # noqa: N815


class _Process(_Lenient):
    serviceName: str = ""  # noqa: N815


class JaegerSpan(_Lenient):
    traceID: str = ""  # noqa: N815
    spanID: str  # noqa: N815
    operationName: str = ""  # noqa: N815
    references: list[_Ref] | None = None
    startTime: int = 0  # noqa: N815
    duration: int = 0
    tags: list[_Tag] | None = None
    processID: str = ""  # noqa: N815
    process: _Process | None = None


class JaegerTrace(_Lenient):
    traceID: str  # noqa: N815
    spans: list[JaegerSpan] = Field(default_factory=list)
    processes: dict[str, _Process] = Field(default_factory=dict)


class _Error(_Lenient):
    code: int = 0
    msg: str = ""


class TracesResponse(_Lenient):
    data: list[JaegerTrace] | None = None
    errors: list[_Error] | None = None


class _RawTraces(_Lenient):
    """The envelope with its traces unread: each is validated on its own, so one trace
    of an unexpected shape costs that trace, not the whole search."""

    data: list[Any] | None = None
    errors: list[_Error] | None = None


class ServicesResponse(_Lenient):
    data: list[str] | None = None
    errors: list[_Error] | None = None


# ------------------------------------------------------------------ parsing


def span_is_error(tags: dict[str, Any]) -> bool:
    if tags.get("error") in (True, "true", "True", 1):
        return True
    if str(tags.get("otel.status_code", "")).upper() == "ERROR":
        return True
    for key in ("http.status_code", "http.response.status_code"):
        try:
            if int(str(tags.get(key))) >= 500:
                return True
        except ValueError:
            continue
    return False


def parse_traces(
    traces: list[JaegerTrace], *, ref: Callable[[str, str], str] | None = None
) -> list[Span]:
    """Spans of Jaeger traces: the parent is the `CHILD_OF` reference (else the first
    `FOLLOWS_FROM`) in the same trace; the service comes from the span's process."""
    out: list[Span] = []
    for t in traces:
        for sp in t.spans:
            tid = norm_id(sp.traceID or t.traceID, 16)
            sid = norm_id(sp.spanID, 8)
            refs = [
                r
                for r in sp.references or []
                if not r.traceID or trace_key(norm_id(r.traceID, 16)) == trace_key(tid)
            ]
            parent = next((r for r in refs if r.refType == "CHILD_OF"), None) or next(
                iter(refs), None
            )
            proc = sp.process or t.processes.get(sp.processID)
            tags = {tg.key: tg.value for tg in sp.tags or []}
            out.append(
                Span(
                    trace_id=tid,
                    span_id=sid,
                    parent_id=norm_id(parent.spanID, 8) if parent and parent.spanID else None,
                    service=(proc.serviceName if proc else "") or "unknown",
                    name=sp.operationName,
                    start=sp.startTime / 1e6,
                    duration_ms=max(0, sp.duration) / 1e3,
                    error=span_is_error(tags),
                    ref=ref(tid, sid) if ref else "",
                    peer=span_peer(tags),
                )
            )
    return out


# ------------------------------------------------------------------ connector


class Jaeger(HttpSource):
    """A Jaeger query service. Implements `TraceSource`."""

    def __init__(
        self,
        cfg: JaegerSource,
        *,
        token: SecretStr | None = None,
        client: httpx.Client | None = None,
        budget_s: float = 20.0,
        name: str = "jaeger",
    ) -> None:
        token, auth_format = user_auth(cfg.username, token)
        super().__init__(
            name, cfg, token=token, client=client, budget_s=budget_s, auth_format=auth_format
        )
        self.cfg = cfg

    def trace_ref(self, trace_id: str, span_id: str = "") -> str:
        """The Jaeger UI page of the trace (served by jaeger-query too)."""
        return f"{self.http.base_url}/trace/{trace_id}" + (f"?uiFind={span_id}" if span_id else "")

    def _envelope(self, resp: Response, where: str) -> TracesResponse:
        if resp.status != 200:
            try:
                raw = parse_model(_RawTraces, resp.json(self.name), self.name, where)
            except SourceError:  # not Jaeger's envelope (a proxy's page): use the status
                raw = _RawTraces(errors=[_Error(code=resp.status, msg=_snippet(resp))])
        else:
            raw = parse_model(_RawTraces, resp.json(self.name), self.name, where)
        env = TracesResponse(errors=raw.errors)
        if raw.data is not None:
            env.data = []
            bad: list[str] = []
            for item in raw.data:
                try:
                    env.data.append(JaegerTrace.model_validate(item))
                except ValidationError as exc:
                    errs = exc.errors()
                    loc = ".".join(str(x) for x in errs[0]["loc"]) if errs else ""
                    bad.append(f"{loc}: {errs[0]['msg'] if errs else 'invalid'}"[:160])
            if bad:
                self._notes.append(
                    partial(
                        self.name,
                        f"{where}: skipped {len(bad)} of {len(raw.data)} traces of an"
                        f" unexpected shape (first: {bad[0]})",
                    )
                )
        if resp.status != 200:
            msg = "; ".join(f"{e.msg}" for e in env.errors or []) or f"HTTP {resp.status}"
            if resp.status == 404:
                raise TraceNotFound(f"{self.name}: {where}: {msg}")
            raise SourceError(
                f"{self.name}: {where} refused (HTTP {resp.status}): {msg}",
                hint="check sources.jaeger (is the url the query service?)",
            )
        if env.errors:
            msg = "; ".join(e.msg for e in env.errors[:3])
            self._notes.append(partial(self.name, f"{where} answered with errors: {msg}"))
        return env

    # -------------------------------------------------------------- queries

    def services(self, deadline: float | None = None) -> list[str]:
        resp = self.http.request("GET", "/api/services", deadline=deadline)
        env = parse_model(ServicesResponse, resp.json(self.name), self.name, "/api/services")
        return sorted(s for s in env.data or [] if s not in _OWN_SERVICES)

    def find(
        self,
        service: str,
        kind: Kind,
        start: float,
        end: float,
        limit: int,
        deadline: float,
        slow_ms: float | None = None,
    ) -> list[JaegerTrace]:
        """One `/api/traces` search over [start, end] (unix seconds)."""
        params: dict[str, str] = {
            "service": service,
            "start": str(int(start * 1e6)),
            "end": str(int(end * 1e6)),
            "limit": str(max(1, limit)),
            "lookback": "custom",
        }
        if kind == "error":
            params["tags"] = json.dumps({"error": "true"})
        elif kind == "slow" and slow_ms is not None:
            params["minDuration"] = f"{max(1, math.ceil(slow_ms))}ms"
        shown = " ".join(
            f"{k}={params[k]}" for k in ("service", "tags", "minDuration") if k in params
        )
        self.last_query = shown
        t0 = time.monotonic()
        try:
            resp = self.http.request(
                "GET", "/api/traces", params=params, deadline=deadline, ok=(200, 400)
            )
            env = self._envelope(resp, "/api/traces")
        except SourceError as exc:
            record_search(self.name, kind, shown, t0, 0, exc.message)
            raise
        traces = env.data or []
        record_search(self.name, kind, shown, t0, len(traces))
        return traces

    def trace(self, trace_id: str, deadline: float | None = None) -> list[Span]:
        """One whole trace by id; `TraceNotFound` on 404."""
        tid = norm_id(trace_id, 16)
        resp = self.http.request("GET", f"/api/traces/{tid}", deadline=deadline, ok=(200, 400, 404))
        env = self._envelope(resp, f"/api/traces/{tid}")
        return parse_traces(env.data or [], ref=self.trace_ref)

    # -------------------------------------------------------------- TraceSource

    def fetch_spans(
        self, start: datetime, end: datetime, services: set[str] | None = None
    ) -> list[Span]:
        """Spans of sampled traces of `services` (None: every service) in [start, end]."""
        clock = Clock.start(self.http.budget_s)
        cap = self.cfg.max_traces
        searches = 0
        if services:
            wanted = sorted(services)
        else:
            listed = self.services(clock.hard)
            searches += 1
            wanted = listed[:MAX_SERVICES]
            if len(listed) > MAX_SERVICES:
                self._notes.append(
                    partial(self.name, f"read {MAX_SERVICES} of {len(listed)} services")
                )
            cap = max(1, cap // max(1, len(wanted)))
        plan = Plan(cap)
        slices = time_slices(start, end)
        kept: dict[str, JaegerTrace] = {}
        durations: dict[str, list[float]] = {}
        stopped: str | None = None

        too_large: list[str] = []
        skipped: list[str] = []

        def search(
            svc: str, kind: Kind, a: float, b: float, limit: int, slow_ms: float | None
        ) -> list[JaegerTrace]:
            """One slice's search; an answer above the body cap (a search answers with
            whole traces, and one big trace is enough) is asked again for fewer traces,
            down to one; a single trace above the cap skips the slice."""
            nonlocal searches
            while True:
                try:
                    found = self.find(svc, kind, a, b, limit, clock.hard, slow_ms)
                except ResponseTooLarge:
                    searches += 1
                    too_large.append(f"{svc} {kind}")
                    if limit <= 1 or clock.spent():
                        skipped.append(f"{svc} {kind}")
                        return []
                    limit = max(1, limit // 4)
                    continue
                searches += 1
                return found

        def run(svc: str, kind: Kind, room: int, slow_ms: float | None = None) -> None:
            for i, (a, b) in enumerate(slices):
                share = math.ceil(room / (len(slices) - i)) if room > 0 else 0
                if share <= 0:
                    return
                if clock.spent():
                    raise _Stop("time budget nearly spent")
                found = search(svc, kind, a, b, share + 2, slow_ms)
                got = 0
                for t in found:
                    if kind == "normal":
                        durations.setdefault(svc, []).extend(
                            s.duration / 1e3
                            for s in t.spans
                            if _service_of(t, s) == svc and s.duration > 0
                        )
                    if got < share and plan.add(svc, kind, norm_id(t.traceID, 16)):
                        kept[trace_key(norm_id(t.traceID, 16))] = t
                        got += 1
                room -= got

        try:
            for svc in wanted:
                run(svc, "error", plan.room(svc, "error"))
            for svc in wanted:
                run(svc, "normal", max(0, plan.cap - plan.taken(svc) - plan.quota("slow")))
            for svc in wanted:
                base = durations.get(svc) or []
                if len(base) >= 5:
                    run(svc, "slow", plan.room(svc, "slow"), quantile(base, SLOW_QUANTILE))
        except _Stop as exc:
            stopped = str(exc)
        except SourceError as exc:
            if searches == 0 or isinstance(exc, AuthError) or not kept:
                raise
            stopped = f"a search failed ({exc.message})"
        if too_large:
            cap = self.cfg.http.max_body_bytes
            lost = (
                f"; skipped {len(skipped)} time slice(s) whose latest trace alone is above"
                f" it (first: {skipped[0]})"
                if skipped
                else ""
            )
            self._notes.append(
                partial(
                    self.name,
                    f"{len(too_large)} search answer(s) above http.max_body_bytes ({cap} bytes,"
                    f" first: {too_large[0]}) were asked again for fewer traces{lost}",
                )
            )
        if stopped:
            self._notes.append(
                partial(
                    self.name,
                    f"{stopped} after {searches} searches: kept {len(kept)} traces"
                    f" ({plan.summary() or 'none'}; errors first)",
                )
            )
        order = [trace_key(p.trace_id) for p in plan.ordered()]
        return parse_traces([kept[k] for k in order if k in kept], ref=self.trace_ref)

    # -------------------------------------------------------------- doctor

    def check(self) -> Health:
        def ver(d: Any) -> str | None:
            if isinstance(d, dict) and isinstance(d.get("data"), list):
                return f"{len(d['data'])} services"
            return None

        return probe(self.http, "/api/services", ver, needs_auth=self.cfg.token_name is not None)


def _snippet(resp: Response) -> str:
    from aisre_cli.settings.secrets import redact

    return redact(resp.body[:160].decode("utf-8", "replace").strip()) or f"HTTP {resp.status}"


def _service_of(t: JaegerTrace, s: JaegerSpan) -> str:
    proc = s.process or t.processes.get(s.processID)
    return proc.serviceName if proc else ""


class _Stop(Exception):
    pass


# ---------------------------------------------------------------- registration


def register_sources(register: Callable[[SourceType], None]) -> None:
    """The `jaeger` source type (sources/catalog.py)."""

    def build(cfg: JaegerSource, env: SourceEnv) -> Jaeger:
        return Jaeger(
            cfg, token=env.token(cfg.token_name), client=env.client, budget_s=env.budget_s
        )

    register(
        SourceType(
            "jaeger",
            ("traces",),
            build,
            JaegerSource,
            summary="Jaeger query API: sampled traces of the alert's services",
        )
    )
