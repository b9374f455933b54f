"""Grafana Tempo HTTP API: spans of the alert's services around the alert (TraceSource).

Two endpoints (https://grafana.com/docs/tempo/latest/api_docs/):

* `GET /api/search` finds traces: `q` (TraceQL, Tempo 2.x) or `tags` (logfmt,
  `service.name=checkout`, Tempo 1.x), `start`/`end` (unix seconds), `limit`,
  `minDuration`, and `spss` (spans per span set). The answer lists `traces`, each
  with `traceID` (hex, leading zeros dropped), `rootServiceName`, `durationMs` and the
  matched spans in `spanSet`/`spanSets`;
* `GET /api/traces/<id>` returns one whole trace as OTLP JSON: `batches` (or
  `resourceSpans`) → `scopeSpans` (or the older `instrumentationLibrarySpans`) →
  spans with `traceId`/`spanId`/`parentSpanId` (base64 or hex), `startTimeUnixNano`,
  `endTimeUnixNano`, `status.code` (2 or `STATUS_CODE_ERROR` is an error), and the
  service in the resource attribute `service.name`. 404 when the trace is not (or no
  longer) stored.

Sampling (see `sources/tracing.py`): per wanted service, error traces first
(`{resource.service.name="X" && status=error}`), then a baseline, then traces in which
the service's spans were slower than the baseline's 90th percentile (`duration>…`),
each search spread over slices of the window; the chosen traces are then read by id,
errors first, a few at a time, until `max_traces` per service or the time budget.
With `search: tags` (Tempo 1.x, no TraceQL) there is no error search: the baseline
and `minDuration` searches find the traces, and errors are whatever they hold.

Multi-tenant Tempo reads the tenant from `X-Scope-OrgID` (`tenant`). Credentials
come from the keyring (`token_name`): a bearer token, or with `username` the
password of HTTP Basic auth (Grafana Cloud: the instance id and an API token).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime
from typing import Any, Literal

import httpx
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr

from aisre_cli.errors import AuthError, SourceError
from aisre_cli.model import Span, span_peer
from aisre_cli.settings.config import HttpSettings, SourceUrl
from aisre_cli.sources.catalog import SourceEnv, SourceType
from aisre_cli.sources.http import (
    Health,
    HttpSource,
    ResponseTooLarge,
    parse_model,
    probe,
    user_auth,
)
from aisre_cli.sources.querylog import QueryStat, record
from aisre_cli.sources.tracing import (
    FETCH_WORKERS,
    SLOW_QUANTILE,
    Clock,
    Kind,
    Plan,
    TraceNotFound,
    TraceUnreadable,
    norm_id,
    partial,
    quantile,
    record_search,
    time_slices,
)

SEARCH_SHARE = 0.3
"""Share of the budget after which no new search starts (what is left reads traces)."""
SPSS = 5


class TempoSource(BaseModel):
    """A Grafana Tempo (query frontend), `sources.tempo` in a profile."""

    model_config = ConfigDict(extra="forbid")

    url: SourceUrl
    """Base URL of the query frontend, e.g. http://tempo:3200."""
    token_name: str | None = None
    """Keyring name of the bearer token (or, with `username`, the Basic-auth password)."""
    username: str | None = None
    """HTTP Basic user (Grafana Cloud: the stack's Tempo instance id)."""
    tenant: str | None = None
    """Sent as `X-Scope-OrgID` (multi-tenant Tempo)."""
    search: Literal["traceql", "tags"] = "traceql"
    """`traceql` (Tempo 2.x) or `tags` (Tempo 1.x tag search: no error search)."""
    max_traces: int = Field(default=200, gt=0, le=5000)
    """Traces read per service (errors first, then slow ones, then a baseline)."""
    http: HttpSettings = Field(default_factory=HttpSettings)


# ------------------------------------------------------------------ wire models


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class _SearchSpan(_Lenient):
    spanID: str = ""  # noqa: N815 (wire names)
    durationNanos: int = 0  # noqa: N815


class _SpanSet(_Lenient):
    spans: list[_SearchSpan] = Field(default_factory=list)
    matched: int = 0


class SearchTrace(_Lenient):
    traceID: str  # noqa: N815
    rootServiceName: str = ""  # noqa: N815
    rootTraceName: str = ""  # noqa: N815
    startTimeUnixNano: int = 0  # noqa: N815
    durationMs: float = 0.0  # noqa: N815
    spanSet: _SpanSet | None = None  # noqa: N815
    spanSets: list[_SpanSet] = Field(default_factory=list)  # noqa: N815

    def span_durations_ms(self) -> list[float]:
        sets = [*self.spanSets, *([self.spanSet] if self.spanSet else [])]
        return [s.durationNanos / 1e6 for ss in sets for s in ss.spans if s.durationNanos]


class SearchResponse(_Lenient):
    traces: list[SearchTrace] | None = None


class _AnyValue(_Lenient):
    stringValue: str | None = None  # noqa: N815
    intValue: int | None = None  # noqa: N815
    boolValue: bool | None = None  # noqa: N815
    doubleValue: float | None = None  # noqa: N815

    def py(self) -> str | int | bool | float | None:
        for v in (self.stringValue, self.intValue, self.boolValue, self.doubleValue):
            if v is not None:
                return v
        return None


class _KeyValue(_Lenient):
    key: str
    value: _AnyValue = Field(default_factory=_AnyValue)


class _Status(_Lenient):
    code: int | str | None = None


def _alias(*names: str) -> Any:
    return Field(default="", validation_alias=AliasChoices(*names))


class OtlpSpan(_Lenient):
    traceId: str = _alias("traceId", "trace_id")  # noqa: N815
    spanId: str = _alias("spanId", "span_id")  # noqa: N815
    parentSpanId: str = _alias("parentSpanId", "parent_span_id")  # noqa: N815
    name: str = ""
    startTimeUnixNano: int = Field(  # noqa: N815
        default=0, validation_alias=AliasChoices("startTimeUnixNano", "start_time_unix_nano")
    )
    endTimeUnixNano: int = Field(  # noqa: N815
        default=0, validation_alias=AliasChoices("endTimeUnixNano", "end_time_unix_nano")
    )
    attributes: list[_KeyValue] = Field(default_factory=list)
    status: _Status | None = None
    kind: int | str | None = None
    """OTLP's span kind: 3 / `SPAN_KIND_CLIENT` for a call out."""


class _ScopeSpans(_Lenient):
    spans: list[OtlpSpan] = Field(default_factory=list)


class _Resource(_Lenient):
    attributes: list[_KeyValue] = Field(default_factory=list)


class ResourceSpans(_Lenient):
    resource: _Resource = Field(default_factory=_Resource)
    scopeSpans: list[_ScopeSpans] = Field(  # noqa: N815
        default_factory=list,
        validation_alias=AliasChoices(
            "scopeSpans", "scope_spans", "instrumentationLibrarySpans", "ilSpans"
        ),
    )


class OtlpTrace(_Lenient):
    batches: list[ResourceSpans] = Field(
        default_factory=list,
        validation_alias=AliasChoices("batches", "resourceSpans", "resource_spans"),
    )


# ------------------------------------------------------------------ parsing


_ERROR_CODES = frozenset({"2", "STATUS_CODE_ERROR", "ERROR"})


def _attrs(kvs: list[_KeyValue]) -> dict[str, Any]:
    return {kv.key: kv.value.py() for kv in kvs}


def span_is_error(status: _Status | None, attrs: dict[str, Any]) -> bool:
    """OTLP status code 2 (ERROR); without a status, an `error` attribute or an HTTP
    status of 500 or more (instrumentation that records only those)."""
    if status is not None and status.code not in (None, "", 0, "0", "STATUS_CODE_UNSET"):
        return str(status.code).upper() in _ERROR_CODES
    if attrs.get("error") in (True, "true", "True"):
        return True
    for key in ("http.status_code", "http.response.status_code"):
        try:
            if int(str(attrs.get(key))) >= 500:
                return True
        except ValueError:
            continue
    return False


def parse_trace(data: Any, *, ref: Callable[[str, str], str] | None = None) -> list[Span]:
    """The spans of one `/api/traces/<id>` answer (v1 `batches`, OTLP `resourceSpans`,
    or the v2 `{"trace": {...}}` envelope)."""
    if isinstance(data, dict) and isinstance(data.get("trace"), dict):
        data = data["trace"]
    doc = parse_model(OtlpTrace, data, "tempo", "/api/traces")
    out: list[Span] = []
    for rs in doc.batches:
        res = _attrs(rs.resource.attributes)
        service = str(res.get("service.name") or "unknown")
        for scope in rs.scopeSpans:
            for sp in scope.spans:
                tid = norm_id(sp.traceId, 16)
                sid = norm_id(sp.spanId, 8)
                parent = norm_id(sp.parentSpanId, 8) if sp.parentSpanId else ""
                start_ns = sp.startTimeUnixNano
                end_ns = max(sp.endTimeUnixNano, start_ns)
                out.append(
                    Span(
                        trace_id=tid,
                        span_id=sid,
                        parent_id=parent or None,
                        service=service,
                        name=sp.name,
                        start=start_ns / 1e9,
                        duration_ms=(end_ns - start_ns) / 1e6,
                        error=span_is_error(sp.status, attrs := _attrs(sp.attributes)),
                        ref=ref(tid, sid) if ref else "",
                        peer=span_peer(attrs, sp.kind),
                    )
                )
    return out


def _q(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


# ------------------------------------------------------------------ connector


class Tempo(HttpSource):
    """A Tempo query frontend. Implements `TraceSource`."""

    def __init__(
        self,
        cfg: TempoSource,
        *,
        token: SecretStr | None = None,
        client: httpx.Client | None = None,
        budget_s: float = 20.0,
        name: str = "tempo",
    ) -> None:
        token, auth_format = user_auth(cfg.username, token)
        super().__init__(
            name,
            cfg,
            token=token,
            client=client,
            budget_s=budget_s,
            auth_format=auth_format,
            headers={"X-Scope-OrgID": cfg.tenant} if cfg.tenant else None,
        )
        self.cfg = cfg

    def trace_ref(self, trace_id: str, span_id: str = "") -> str:
        return f"{self.http.base_url}/api/traces/{trace_id}" + (f"#{span_id}" if span_id else "")

    # -------------------------------------------------------------- queries

    def traceql(self, service: str | None, kind: Kind, slow_ms: float | None = None) -> str:
        conds = [f'resource.service.name="{_q(service)}"'] if service else []
        if kind == "error":
            conds.append("status=error")
        elif kind == "slow" and slow_ms is not None:
            conds.append(f"duration>{max(1, math.ceil(slow_ms))}ms")
        return "{" + " && ".join(conds) + "}"

    def search(
        self,
        service: str | None,
        kind: Kind,
        start: float,
        end: float,
        limit: int,
        deadline: float,
        slow_ms: float | None = None,
    ) -> list[SearchTrace]:
        """One `/api/search` over [start, end] (unix seconds)."""
        params: dict[str, str] = {
            "start": str(int(math.floor(start))),
            "end": str(int(math.ceil(end))),
            "limit": str(max(1, limit)),
        }
        if self.cfg.search == "traceql":
            params["q"] = self.traceql(service, kind, slow_ms)
            params["spss"] = str(SPSS)
            shown = params["q"]
        else:
            if service:
                params["tags"] = f"service.name={service}"
            if kind == "slow" and slow_ms is not None:
                params["minDuration"] = f"{max(1, math.ceil(slow_ms))}ms"
            shown = " ".join(f"{k}={params[k]}" for k in ("tags", "minDuration") if k in params)
        self.last_query = shown
        t0 = time.monotonic()
        try:
            resp = self.http.request(
                "GET", "/api/search", params=params, deadline=deadline, ok=(200, 400)
            )
            if resp.status == 400:
                detail = resp.body[:200].decode("utf-8", "replace").strip()
                raise SourceError(
                    f"{self.name}: search refused (HTTP 400): {detail}",
                    hint="an old Tempo without TraceQL: set `search: tags` in sources.tempo"
                    if self.cfg.search == "traceql"
                    else "check sources.tempo",
                )
            found = parse_model(SearchResponse, resp.json(self.name), self.name, "/api/search")
        except SourceError as exc:
            record_search(self.name, kind, shown, t0, 0, exc.message)
            raise
        traces = found.traces or []
        record_search(self.name, kind, shown, t0, len(traces))
        return traces

    def trace(self, trace_id: str, deadline: float | None = None) -> list[Span]:
        """One whole trace by id; `TraceNotFound` on 404, `TraceUnreadable` when the
        answer is not a trace (bad JSON, an unexpected shape) or above the body cap."""
        tid = norm_id(trace_id, 16)
        try:
            resp = self.http.request("GET", f"/api/traces/{tid}", deadline=deadline, ok=(200, 404))
        except ResponseTooLarge as exc:
            # one huge trace (a fan-out of thousands of spans) costs that trace only
            why = exc.message.removeprefix(f"{self.name}: ")
            raise TraceUnreadable(f"{self.name}: trace {tid}: {why}", hint=exc.hint) from None
        if resp.status == 404:
            raise TraceNotFound(f"{self.name}: trace {tid} not found")
        try:
            return parse_trace(resp.json(self.name), ref=self.trace_ref)
        except SourceError as exc:
            why = exc.message.removeprefix(f"{self.name}: ").removeprefix("tempo: ")
            raise TraceUnreadable(f"{self.name}: trace {tid}: {why}", hint=exc.hint) from None
        except (ValueError, TypeError, ArithmeticError) as exc:
            why = f"{type(exc).__name__}: {exc}"[:200]
            raise TraceUnreadable(f"{self.name}: trace {tid}: {why}") from None

    # -------------------------------------------------------------- TraceSource

    def fetch_spans(
        self, start: datetime, end: datetime, services: set[str] | None = None
    ) -> list[Span]:
        """Spans of sampled traces of `services` (None: any service) in [start, end]."""
        clock = Clock.start(self.http.budget_s)
        search_until = clock.t0 + clock.budget_s * SEARCH_SHARE
        plan = Plan(self.cfg.max_traces)
        wanted: list[str | None] = [*sorted(services)] if services else [None]
        slices = time_slices(start, end)
        durations: dict[str, list[float]] = {}
        searches = 0
        stopped: str | None = None

        def run(svc: str | None, kind: Kind, room: int, slow_ms: float | None = None) -> None:
            nonlocal searches
            key = svc or "*"
            for i, (a, b) in enumerate(slices):
                share = math.ceil(room / (len(slices) - i)) if room > 0 else 0
                if share <= 0:
                    return
                if time.monotonic() >= search_until:
                    raise _Stop("time budget spent while searching")
                found = self.search(svc, kind, a, b, share + 2, clock.hard, slow_ms)
                searches += 1
                got = 0
                for t in found:
                    if kind == "normal":
                        # TraceQL: the service's own spans (the span sets); a tag search
                        # (Tempo 1.x) has none, and its minDuration is the trace's
                        own = t.span_durations_ms() if traceql else [t.durationMs]
                        durations.setdefault(key, []).extend(d for d in own if d > 0)
                    if got < share and plan.add(key, kind, norm_id(t.traceID, 16)):
                        got += 1
                room -= got

        traceql = self.cfg.search == "traceql"
        kinds: list[Kind] = ["error", "normal", "slow"] if traceql else ["normal", "slow"]
        try:
            for kind in kinds:
                for svc in wanted:
                    key = svc or "*"
                    if kind == "error":
                        run(svc, "error", plan.room(key, "error"))
                    elif kind == "normal":
                        room = plan.cap - plan.taken(key) - plan.quota("slow")
                        run(svc, "normal", max(0, room))
                    else:
                        base = durations.get(key) or []
                        if len(base) >= 5:
                            run(svc, "slow", plan.room(key, "slow"), quantile(base, SLOW_QUANTILE))
        except _Stop as exc:
            stopped = str(exc)
        except SourceError as exc:
            if searches == 0 or isinstance(exc, AuthError):
                raise
            stopped = f"a search failed: {exc.message}"

        spans, read, missing, unreadable, failure = self._read(plan, clock)
        if not read and not spans and (failure or unreadable):
            raise failure or SourceError(
                f"{self.name}: no sampled trace could be parsed ({len(unreadable)} tried;"
                f" first: {unreadable[0].message.removeprefix(f'{self.name}: ')})",
                hint=unreadable[0].hint,
            )
        if stopped:
            self._notes.append(partial(self.name, f"{stopped} after {searches} searches"))
        unread = len(plan.picks) - read - missing - len(unreadable)
        if unread > 0:
            why = f"stopped by {failure.message}" if failure else "time budget nearly spent"
            self._notes.append(
                partial(
                    self.name,
                    f"{why}: read {read} of {len(plan.picks)} sampled traces"
                    f" ({plan.summary()}; errors first)",
                )
            )
        if missing:
            self._notes.append(
                partial(self.name, f"{missing} sampled traces were no longer stored (404)")
            )
        if unreadable:
            first = unreadable[0].message.removeprefix(f"{self.name}: ")
            self._notes.append(
                partial(
                    self.name,
                    f"skipped {len(unreadable)} of {len(plan.picks)} sampled traces that could"
                    f" not be read (first: {first})",
                )
            )
        return spans

    def _read(
        self, plan: Plan, clock: Clock
    ) -> tuple[list[Span], int, int, list[TraceUnreadable], SourceError | None]:
        """Read the chosen traces by id, errors first, a few at a time, until the soft
        deadline. Returns (spans, traces read, traces not found, traces skipped because
        their answer did not parse, first failure). A failure (transport, auth) stops
        the reading; one unparseable trace only skips that trace."""
        picks = plan.ordered()
        spans: list[Span] = []
        read = missing = 0
        unreadable: list[TraceUnreadable] = []
        failure: SourceError | None = None
        if not picks:
            return spans, 0, 0, unreadable, None
        t0 = time.monotonic()
        pool = ThreadPoolExecutor(
            max_workers=min(FETCH_WORKERS, len(picks)), thread_name_prefix="tempo"
        )
        running: set[Future[list[Span]]] = set()
        todo = iter(picks)
        try:
            while True:
                while failure is None and len(running) < FETCH_WORKERS and not clock.spent():
                    p = next(todo, None)
                    if p is None:
                        break
                    running.add(pool.submit(self.trace, p.trace_id, clock.hard))
                if not running:
                    break
                done, running = wait(running, return_when=FIRST_COMPLETED)
                for f in done:
                    exc = f.exception()
                    if exc is None:
                        spans.extend(f.result())
                        read += 1
                    elif isinstance(exc, TraceNotFound):
                        missing += 1
                    elif isinstance(exc, TraceUnreadable):
                        unreadable.append(exc)
                    elif isinstance(exc, SourceError):
                        failure = failure or exc
                    else:
                        raise exc
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        record(
            QueryStat(
                self.name,
                "traces by id",
                f"{read} of {len(picks)} traces",
                time.monotonic() - t0,
                len(spans),
                "spans",
            )
        )
        return spans, read, missing, unreadable, failure

    # -------------------------------------------------------------- doctor

    def check(self) -> Health:
        def ver(d: Any) -> str | None:
            return str(d.get("version") or "") or None if isinstance(d, dict) else None

        return probe(
            self.http,
            "/api/status/buildinfo",
            ver,
            needs_auth=self.cfg.token_name is not None,
        )


class _Stop(Exception):
    pass


# ---------------------------------------------------------------- registration


def register_sources(register: Callable[[SourceType], None]) -> None:
    """The `tempo` source type (sources/catalog.py)."""

    def build(cfg: TempoSource, env: SourceEnv) -> Tempo:
        return Tempo(cfg, token=env.token(cfg.token_name), client=env.client, budget_s=env.budget_s)

    register(
        SourceType(
            "tempo",
            ("traces",),
            build,
            TempoSource,
            summary="Grafana Tempo: sampled traces of the alert's services",
        )
    )
