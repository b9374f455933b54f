"""Prometheus HTTP API: instant and range queries, series discovery, alert rules.

`Prometheus` implements `MetricSource`. For an incident window it runs

* a built-in set of per-service queries over the common exporter names (request and
  error rates of `http_requests_total` / Spring's `http_server_requests_seconds`,
  p99 latency from the matching histograms, `up`, process and container CPU and
  memory, container restarts), aggregated `by` the profile's service labels so one
  query answers for every service; and
* the profile's own `queries` (name → PromQL); a `$service` in a query is replaced by
  each service found by discovery (`/api/v1/label/<label>/values`), so teams can add
  their golden signals without code.

The step is chosen so no series has more than `max_points` points (Prometheus itself
refuses more than 11,000), and at most `max_series` series are kept per query. What
Prometheus returns in `warnings`/`infos` (partial data, a dropped store, a truncated
result) and every query that failed become `SourceNote(status="partial")`, so a
triage says which signal it could not see instead of silently using less.

Each series carries the exact PromQL that produced it (`Series.query`) and a link to
the Prometheus graph for it (`Series.ref`): evidence must be reproducible.

Time: the source gets the gather budget. Like the trace sources (sources/tracing.py,
`Clock`) it starts no new query once `SOFT` of it is spent and gives every request the
`HARD` deadline, so what arrived reaches the gather, with a partial note naming the
queries that were cut, before the gather gives up on the whole source.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlencode

import httpx
import orjson
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from aisre_cli.errors import AuthError, BundleError, SourceError
from aisre_cli.model import Series, SourceNote
from aisre_cli.settings.config import DEFAULT_SERVICE_LABELS, PrometheusSource
from aisre_cli.sources.bundle import parse_query_range
from aisre_cli.sources.catalog import SourceEnv, SourceType
from aisre_cli.sources.http import Health, HttpSource, Response, parse_model, probe, user_auth
from aisre_cli.sources.querylog import QueryStat, record
from aisre_cli.sources.tracing import Clock

NICE_STEPS: tuple[int, ...] = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600)
PROM_MAX_POINTS = 11_000
MAX_DISCOVERED_SERVICES = 50

# name → PromQL. `$by` is the service label list, `$rate` the rate() window.
# Names are chosen so the signal-family matcher (investigate/families.py) types them.
DEFAULT_QUERIES: dict[str, str] = {
    "up": "up",
    "http_requests_per_second": (
        "sum by ($by) (rate(http_requests_total[$rate]))"
        " or sum by ($by) (rate(http_server_requests_seconds_count[$rate]))"
    ),
    "http_errors_per_second": (
        'sum by ($by) (rate(http_requests_total{code=~"5.."}[$rate]))'
        ' or sum by ($by) (rate(http_requests_total{status=~"5.."}[$rate]))'
        ' or sum by ($by) (rate(http_server_requests_seconds_count{status=~"5.."}[$rate]))'
    ),
    "http_error_ratio": (
        '(sum by ($by) (rate(http_requests_total{code=~"5.."}[$rate]))'
        ' or sum by ($by) (rate(http_requests_total{status=~"5.."}[$rate])))'
        " / sum by ($by) (rate(http_requests_total[$rate]))"
    ),
    "http_latency_p99_seconds": (
        "histogram_quantile(0.99,"
        " sum by (le, $by) (rate(http_request_duration_seconds_bucket[$rate])))"
        " or histogram_quantile(0.99,"
        " sum by (le, $by) (rate(http_server_requests_seconds_bucket[$rate])))"
    ),
    "process_cpu_usage_cores": "sum by ($by, instance) (rate(process_cpu_seconds_total[$rate]))",
    "process_resident_memory_bytes": "sum by ($by, instance) (process_resident_memory_bytes)",
    "container_cpu_usage_cores": (
        "sum by (namespace, pod, container, $by)"
        ' (rate(container_cpu_usage_seconds_total{container!=""}[$rate]))'
    ),
    "container_memory_working_set_bytes": (
        "sum by (namespace, pod, container, $by)"
        ' (container_memory_working_set_bytes{container!=""})'
    ),
    "container_restarts": (
        "sum by (namespace, pod, container, $by)"
        " (increase(kube_pod_container_status_restarts_total[$rate]))"
    ),
}


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class PromResponse(_Lenient):
    """The envelope of every Prometheus API answer."""

    status: Literal["success", "error"]
    data: Any = None
    errorType: str | None = None  # noqa: N815 (wire name)
    error: str | None = None
    warnings: list[str] = Field(default_factory=list)
    infos: list[str] = Field(default_factory=list)


class _Sample(_Lenient):
    metric: dict[str, str] = Field(default_factory=dict)
    value: tuple[float, str] | None = None


class _Vector(_Lenient):
    resultType: str  # noqa: N815
    result: Any


class AlertingRule(_Lenient):
    """One alerting rule from `GET /api/v1/rules?type=alert`."""

    name: str
    query: str
    duration: float = 0.0
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    state: str = "inactive"
    type: str = "alerting"


class _RuleGroup(_Lenient):
    name: str
    file: str = ""
    rules: list[AlertingRule] = Field(default_factory=list)


class _RulesData(_Lenient):
    groups: list[_RuleGroup] = Field(default_factory=list)


class _BuildInfo(_Lenient):
    version: str = ""


@dataclass(slots=True)
class QueryResult:
    series: list[Series]
    notes: list[SourceNote]


def choose_step(start: float, end: float, max_points: int, min_step: int = 1) -> int:
    """The smallest 'nice' step that keeps every series at or below max_points."""
    span = max(1.0, end - start)
    need = math.ceil(span / max(1, min(max_points, PROM_MAX_POINTS)))
    for s in NICE_STEPS:
        if s >= need and s >= min_step:
            return s
    return max(need, min_step)


def _duration(seconds: int) -> str:
    return f"{seconds // 60}m" if seconds % 60 == 0 else f"{seconds}s"


class Prometheus(HttpSource):
    """A Prometheus-compatible HTTP API. Implements `MetricSource`."""

    def __init__(
        self,
        cfg: PrometheusSource,
        *,
        service_labels: Sequence[str] = DEFAULT_SERVICE_LABELS,
        token: SecretStr | None = None,
        client: httpx.Client | None = None,
        budget_s: float = 20.0,
        name: str = "prometheus",
    ) -> None:
        token, auth_format = user_auth(cfg.username, token)
        super().__init__(
            name, cfg, token=token, client=client, budget_s=budget_s, auth_format=auth_format
        )
        self.cfg = cfg
        self.service_labels = tuple(service_labels)
        self.last_step = 0
        self.last_queries: dict[str, str] = {}
        """name → PromQL of the last fetch_series (for `bundle capture`)."""
        self.last_bodies: dict[str, dict[str, Any]] = {}
        """name → the query_range response body of the last fetch_series."""

    # ---------------------------------------------------------------- raw API

    def _envelope(self, data: Any, where: str) -> PromResponse:
        env = parse_model(PromResponse, data, self.name, where)
        if env.status != "success":
            raise SourceError(
                f"{self.name}: {where}: {env.errorType or 'error'}: {env.error or 'no detail'}"
            )
        return env

    def _get(self, path: str, params: Any, deadline: float | None) -> tuple[PromResponse, Any]:
        # Prometheus answers 400/422/503 with a JSON error envelope; read it for the reason.
        # Its 503 for a query that timed out is final (retrying re-runs the same slow
        # evaluation inside the same budget); any other 503 (a proxy, TSDB not ready) is
        # retried by the HTTP helper.
        resp = self.http.request(
            "GET", path, params=params, deadline=deadline, ok=(200, 400, 422), final=_timed_out
        )
        raw = resp.json(self.name)
        env = parse_model(PromResponse, raw, self.name, path)
        if env.errorType == "timeout":
            raise SourceError(
                f"{self.name}: timeout: {env.error or 'the query timed out'}",
                hint="narrow the query (fewer series, a shorter --window) or raise"
                " http.read_timeout (sent as the query timeout)",
            )
        if resp.status != 200 or env.status != "success":
            raise SourceError(
                f"{self.name}: {env.errorType or 'HTTP ' + str(resp.status)}:"
                f" {env.error or 'query failed'}",
                hint="check the PromQL in the profile's prometheus.queries",
            )
        return env, raw

    def query(self, promql: str, at: datetime | None = None) -> list[dict[str, Any]]:
        """Instant query: the `result` list of a vector/scalar answer."""
        params: dict[str, str] = {"query": promql}
        if at is not None:
            params["time"] = f"{at.timestamp():.3f}"
        env, _ = self._get("/api/v1/query", params, None)
        vec = parse_model(_Vector, env.data, self.name, "/api/v1/query")
        if vec.resultType in ("scalar", "string"):
            return [{"metric": {}, "value": vec.result}]
        if not isinstance(vec.result, list):
            raise SourceError(f"{self.name}: /api/v1/query: result is not a list")
        return [x for x in vec.result if isinstance(x, dict)]

    def query_range(
        self,
        promql: str,
        start: float,
        end: float,
        step: int,
        *,
        name: str,
        deadline: float | None = None,
    ) -> tuple[list[Series], list[str], dict[str, Any]]:
        """Range query → (series capped at max_series, warnings, raw body)."""
        params = {
            "query": promql,
            "start": f"{start:.3f}",
            "end": f"{end:.3f}",
            "step": str(step),
            # let Prometheus abandon the evaluation when we stop waiting for it
            "timeout": f"{max(100, int(self.cfg.http.read_timeout * 1000))}ms",
        }
        env, raw = self._get("/api/v1/query_range", params, deadline)
        warnings = list(env.warnings) + list(env.infos)
        try:
            series = parse_query_range(
                raw, self.graph_url(promql, start, end, step), name, self.service_labels, promql
            )
        except BundleError as exc:
            raise SourceError(f"{self.name}: {exc.message}") from None
        numeric = [s for s in series if any(v == v for v in s.values)]
        if len(numeric) < len(series):  # all NaN (0/0): nothing to analyse
            warnings.append(f"dropped {len(series) - len(numeric)} series with no numeric value")
            series = numeric
        up = sum(1 for s in series for v in s.values if v == math.inf)
        down = sum(1 for s in series for v in s.values if v == -math.inf)
        if up:  # say how the analysis reads them (analyzers.metrics.INF_CEILING)
            warnings.append(
                f"{up} point{'s' if up != 1 else ''} at +Inf (a histogram_quantile above"
                " the highest bucket, or a division by zero), read as twice the series'"
                " largest finite value"
            )
        if down:
            warnings.append(f"{down} point{'s' if down != 1 else ''} at -Inf, read as gaps")
        if len(series) > self.cfg.max_series:
            warnings.append(
                f"{len(series)} series, kept the first {self.cfg.max_series}"
                " (raise prometheus.max_series)"
            )
            series = series[: self.cfg.max_series]
            body = dict(raw)
            body["data"] = dict(raw["data"])
            body["data"]["result"] = raw["data"]["result"][: self.cfg.max_series]
            raw = body
        return series, warnings, raw

    def graph_url(self, promql: str, start: float, end: float, step: int) -> str:
        q = urlencode(
            {
                "g0.expr": promql,
                "g0.tab": "0",
                "g0.range_input": f"{max(1, int(end - start))}s",
                # the Prometheus UI reads end_input as UTC
                "g0.end_input": datetime.fromtimestamp(end, UTC).strftime("%Y-%m-%d %H:%M:%S"),
                "g0.step_input": str(step),
            }
        )
        return f"{self.http.base_url}/graph?{q}"

    def label_values(
        self, label: str, start: float, end: float, deadline: float | None = None
    ) -> list[str]:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", label):
            raise SourceError(f"{self.name}: invalid label name {label!r}")
        env, _ = self._get(
            f"/api/v1/label/{label}/values",
            {"start": f"{start:.3f}", "end": f"{end:.3f}"},
            deadline,
        )
        data = env.data if isinstance(env.data, list) else []
        return [str(x) for x in data]

    def discover_services(
        self, start: float, end: float, deadline: float | None = None
    ) -> list[str]:
        """Service names seen in [start, end]: the values of every service label (a
        series' service is its first service label present, so any value can be one)."""
        found: set[str] = set()
        for label in self.service_labels:
            found.update(self.label_values(label, start, end, deadline))
        return sorted(found)

    def series_for_service(self, service: str, start: float, end: float) -> list[dict[str, str]]:
        """`GET /api/v1/series` for one service (any of the service labels)."""
        params = [("match[]", f'{{{lbl}="{_escape(service)}"}}') for lbl in self.service_labels]
        params += [("start", f"{start:.3f}"), ("end", f"{end:.3f}")]
        env, _ = self._get("/api/v1/series", params, None)
        return [x for x in (env.data or []) if isinstance(x, dict)]

    def alerting_rules(self) -> list[AlertingRule]:
        env, _ = self._get("/api/v1/rules", {"type": "alert"}, None)
        data = parse_model(_RulesData, env.data, self.name, "/api/v1/rules")
        return [r for g in data.groups for r in g.rules if r.type == "alerting"]

    def rule_for_alert(self, alertname: str) -> AlertingRule | None:
        """The alerting rule behind an alert (its PromQL), when Prometheus evaluates it."""
        for r in self.alerting_rules():
            if r.name == alertname:
                return r
        return None

    def version(self) -> str:
        env, _ = self._get("/api/v1/status/buildinfo", None, None)
        return parse_model(_BuildInfo, env.data, self.name, "buildinfo").version

    def check(self) -> Health:
        def ver(d: Any) -> str | None:
            return str((d.get("data") or {}).get("version") or "") or None

        return probe(
            self.http,
            "/api/v1/status/buildinfo",
            ver,
            needs_auth=self.cfg.token_name is not None,
        )

    # ---------------------------------------------------------------- MetricSource

    def planned_queries(self, step: int, services: Sequence[str] = ()) -> dict[str, str]:
        by = ", ".join(self.service_labels)
        rate = self.cfg.rate_window or _duration(max(60, 4 * step))
        out: dict[str, str] = {}
        if self.cfg.default_queries:
            for name, q in DEFAULT_QUERIES.items():
                out[name] = q.replace("$by", by).replace("$rate", rate)
        for name, q in self.cfg.queries.items():
            q = q.replace("$rate", rate).replace("$by", by)
            if "$service" in q:
                for svc in services:
                    out[f"{name}__{_stem(svc)}"] = q.replace("$service", _escape(svc))
            else:
                out[name] = q
        return out

    def fetch_series(
        self, start: datetime, end: datetime, services: set[str] | None
    ) -> tuple[list[Series], list[SourceNote]]:
        clock = Clock.start(self.http.budget_s)
        deadline = clock.hard
        s, e = start.timestamp(), end.timestamp()
        step = choose_step(s, e, self.cfg.max_points)
        self.last_step = step
        notes: list[SourceNote] = []
        needs_services = any("$service" in q for q in self.cfg.queries.values())
        svc_list: list[str] = []
        if needs_services:
            if services:
                svc_list = sorted(services)
            else:
                try:
                    svc_list = self.discover_services(s, e, deadline)
                except AuthError:
                    raise
                except SourceError as exc:
                    notes.append(SourceNote(self.name, "partial", f"discovery: {exc.message}"))
            if len(svc_list) > MAX_DISCOVERED_SERVICES:
                notes.append(
                    SourceNote(
                        self.name,
                        "partial",
                        f"{len(svc_list)} services found, queried the first"
                        f" {MAX_DISCOVERED_SERVICES}",
                    )
                )
                svc_list = svc_list[:MAX_DISCOVERED_SERVICES]
        plan = self.planned_queries(step, svc_list)
        self.last_queries = dict(plan)
        self.last_bodies = {}

        def run(item: tuple[str, str]) -> tuple[str, Any]:
            name, q = item
            if clock.spent():  # no new query: what is in flight must end before the gather
                return name, None
            t0 = time.monotonic()
            try:
                got = self.query_range(q, s, e, step, name=name, deadline=deadline)
            except (SourceError, AuthError) as exc:
                record(QueryStat(self.name, name, q, time.monotonic() - t0, 0, error=exc.message))
                return name, exc
            record(QueryStat(self.name, name, q, time.monotonic() - t0, len(got[0])))
            return name, got

        series: list[Series] = []
        failures: list[str] = []
        with ThreadPoolExecutor(max_workers=4, thread_name_prefix="promql") as pool:
            results = list(pool.map(run, plan.items()))
        auth_errors = [r for _, r in results if isinstance(r, AuthError)]
        if auth_errors:
            raise auth_errors[0]
        errors = [r for _, r in results if isinstance(r, SourceError)]
        skipped = [name for name, r in results if r is None]
        if errors and len(errors) + len(skipped) == len(results):
            first = errors[0]
            raise SourceError(
                f"{first.message}"
                + (f" (and {len(errors) - 1} more queries)" if len(errors) > 1 else "")
                + (f"; {len(skipped)} not run: time budget spent" if skipped else ""),
                hint=first.hint,
            )
        if skipped and len(skipped) == len(results):
            raise SourceError(
                f"{self.name}: time budget spent before any query ran",
                hint="the source is slow; raise gather_budget_s or http.read_timeout",
            )
        warned: dict[str, list[str]] = {}  # one note per text: a store down warns every query
        for name, r in results:
            if r is None:
                continue
            if isinstance(r, SourceError):
                failures.append(f"{name}: {r.message}")
                continue
            got, warns, body = r
            self.last_bodies[name] = body
            for w in warns:
                warned.setdefault(w, []).append(name)
            for ser in got:
                if services is not None and ser.service is not None and ser.service not in services:
                    continue
                series.append(ser)
        for w, names in warned.items():
            notes.append(SourceNote(self.name, "partial", f"{_names(names)}: {w}"))
        if skipped:
            notes.append(
                SourceNote(
                    self.name,
                    "partial",
                    f"time budget: {len(skipped)} of {len(results)} queries not run:"
                    f" {_names(skipped)} (raise gather_budget_s)",
                )
            )
        if failures:
            shown = "; ".join(failures[:3]) + (
                f"; +{len(failures) - 3} more" if len(failures) > 3 else ""
            )
            notes.append(
                SourceNote(self.name, "partial", f"{len(failures)} queries failed: {shown}")
            )
        return series, notes


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _names(names: Sequence[str], limit: int = 3) -> str:
    """`a, b, c` or `a, b, c +4 more`: the queries a note is about."""
    more = f" +{len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _timed_out(resp: Response) -> bool:
    """Prometheus's own 503 for a query that hit its timeout (a JSON error envelope with
    errorType "timeout"): final, unlike a proxy's 503."""
    if resp.status != 503:
        return False
    try:
        data = orjson.loads(resp.body)
    except orjson.JSONDecodeError:
        return False
    return isinstance(data, dict) and data.get("errorType") == "timeout"


def _stem(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", value)[:60] or "x"


# ---------------------------------------------------------------- registration


def register_sources(register: Callable[[SourceType], None]) -> None:
    """The `prometheus` source type (sources/catalog.py)."""

    def build(cfg: PrometheusSource, env: SourceEnv) -> Prometheus:
        return Prometheus(
            cfg,
            token=env.token(cfg.token_name),
            service_labels=env.service_labels,
            client=env.client,
            budget_s=env.budget_s,
        )

    register(
        SourceType(
            "prometheus",
            ("metrics",),
            build,
            PrometheusSource,
            summary="Prometheus HTTP API: range queries per service",
        )
    )
