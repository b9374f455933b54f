"""Jaeger as a trace source, against the Jaeger contract server: span parsing
(CHILD_OF parents, processes, 64- and 128-bit ids, three ways to mark an error), the
sampling cap with error traces first, the `errors` array, 400/404, auth and the time
budget's partial note. Also the gather's `services` hint, which both backends use."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from aisre_cli.errors import AuthError, SourceError
from aisre_cli.investigate.gather import accepts_services, gather
from aisre_cli.model import Alert, Span, Topology
from aisre_cli.sources.jaeger import Jaeger, JaegerSource, JaegerTrace, parse_traces
from aisre_cli.sources.registry import SourceSet
from aisre_cli.sources.tracing import TraceNotFound
from tests.contract_servers.jaeger import JaegerServer
from tests.contract_servers.spans import chain_trace

NOW = datetime.now(UTC).replace(microsecond=0)
START = NOW - timedelta(minutes=40)
TOKEN = "jaeger-secret-token-456"


def _fill(server: JaegerServer, n: int = 120, seed: int = 3) -> None:
    rnd = random.Random(seed)
    step = (NOW - START).total_seconds() / (n + 1)
    for i in range(n):
        late = i >= n * 3 // 4
        err = late and i % 2 == 0
        calls = [
            ("frontend", "GET /", 2.0, err),
            ("checkout", "POST /pay", 5.0, err),
            ("payments", "charge", 60.0 if late else 8.0 * rnd.uniform(0.9, 1.1), err),
        ]
        t0 = START.timestamp() + (i + 0.5) * step
        server.add(chain_trace(rnd, t0, calls, high_zero=i % 3 == 0))


@pytest.fixture
def server() -> Iterator[JaegerServer]:
    s = JaegerServer()
    _fill(s)
    yield s
    s.stop()


def _jaeger(url: str, **kw: Any) -> Jaeger:
    budget = float(kw.pop("budget_s", 30.0))
    token = kw.pop("token", None)
    return Jaeger(
        JaegerSource.model_validate({"url": url, **kw}),
        token=SecretStr(token) if token else None,
        budget_s=budget,
    )


def _by_trace(spans: list[Span]) -> dict[str, list[Span]]:
    out: dict[str, list[Span]] = {}
    for s in spans:
        out.setdefault(s.trace_id, []).append(s)
    return out


# ---------------------------------------------------------------- parsing


def test_parse_child_of_processes_and_error_marks() -> None:
    doc = {
        "traceID": "1f2e3d4c5b6a7988",  # 64-bit: padded to 32 digits
        "spans": [
            {
                "traceID": "1f2e3d4c5b6a7988",
                "spanID": "a1",
                "operationName": "GET /",
                "references": [],
                "startTime": 1_700_000_000_000_000,
                "duration": 250_000,
                "tags": [{"key": "http.status_code", "type": "int64", "value": 503}],
                "processID": "p1",
            },
            {
                "traceID": "1f2e3d4c5b6a7988",
                "spanID": "b2",
                "operationName": "SELECT",
                "references": [
                    {"refType": "FOLLOWS_FROM", "traceID": "1f2e3d4c5b6a7988", "spanID": "zz"},
                    {"refType": "CHILD_OF", "traceID": "1f2e3d4c5b6a7988", "spanID": "a1"},
                ],
                "startTime": 1_700_000_000_010_000,
                "duration": 200_000,
                "tags": [{"key": "otel.status_code", "type": "string", "value": "ERROR"}],
                "processID": "p2",
            },
            {
                "traceID": "1f2e3d4c5b6a7988",
                "spanID": "c3",
                "operationName": "cache",
                "references": [{"refType": "CHILD_OF", "spanID": "a1"}],
                "startTime": 1_700_000_000_020_000,
                "duration": 1_000,
                "tags": [{"key": "error", "type": "bool", "value": False}],
                "processID": "p2",
            },
        ],
        "processes": {"p1": {"serviceName": "web"}, "p2": {"serviceName": "db"}},
    }
    spans = parse_traces([JaegerTrace.model_validate(doc)])
    web, db, cache = spans
    assert web.trace_id == "00000000000000001f2e3d4c5b6a7988"
    assert (web.service, db.service, cache.service) == ("web", "db", "db")
    assert web.parent_id is None and db.parent_id == web.span_id == "00000000000000a1"
    assert cache.parent_id == web.span_id
    assert web.error and db.error and not cache.error
    assert web.duration_ms == pytest.approx(250.0) and web.start == pytest.approx(1.7e9)


# ---------------------------------------------------------------- sampling


def test_sampling_cap_prefers_errors_and_keeps_a_baseline(server: JaegerServer) -> None:
    j = _jaeger(server.url, max_traces=20)
    spans = j.fetch_spans(START, NOW, {"payments"})
    traces = _by_trace(spans)
    assert 10 <= len(traces) <= 20
    failed = [t for t, ss in traces.items() if any(s.error for s in ss)]
    assert len(failed) == 8
    mid = START.timestamp() + (NOW - START).total_seconds() / 2
    assert any(min(s.start for s in ss) < mid for ss in traces.values())
    assert all(len(ss) == 3 for ss in traces.values())
    reqs = [r for r in server.requests if r.path == "/api/traces"]
    assert json.loads(reqs[0].q("tags") or "{}") == {"error": "true"}
    assert all(r.q("service") == "payments" and r.q("lookback") == "custom" for r in reqs)
    assert any(r.q("minDuration") for r in reqs)
    # the window is searched in slices, in microseconds
    starts = sorted({int(r.q("start") or 0) for r in reqs})
    assert len(starts) >= 2 and starts[0] == int(START.timestamp() * 1e6)
    assert spans[0].ref.startswith(f"{server.url}/trace/")
    assert not j.drain_notes()


def test_otel_status_code_marks_errors_too() -> None:
    with JaegerServer(otel_tags=True) as s:
        _fill(s, 40)
        spans = _jaeger(s.url, max_traces=10).fetch_spans(START, NOW, {"checkout"})
        assert any(x.error for x in spans)


def test_no_service_known_reads_every_listed_service(server: JaegerServer) -> None:
    j = _jaeger(server.url, max_traces=12)
    spans = j.fetch_spans(START, NOW, None)
    asked = {r.q("service") for r in server.requests if r.path == "/api/traces"}
    assert asked == {"frontend", "checkout", "payments"}  # not jaeger-all-in-one
    assert spans and len(_by_trace(spans)) <= 12


def test_errors_array_in_a_200_is_a_partial_note(server: JaegerServer) -> None:
    server.shard_error = "failed to query shard 3"
    j = _jaeger(server.url, max_traces=8)
    assert j.fetch_spans(START, NOW, {"checkout"})
    notes = j.drain_notes()
    assert notes and "failed to query shard 3" in notes[0].detail


def test_400_and_404_carry_the_servers_message(server: JaegerServer) -> None:
    j = _jaeger(server.url)
    with pytest.raises(TraceNotFound, match="trace not found"):
        j.trace("deadbeef")
    with pytest.raises(SourceError, match="parameter 'service' is required"):
        j.find("", "normal", START.timestamp(), NOW.timestamp(), 5, j.http.deadline())
    tid = next(iter(server.traces))
    assert {s.trace_id for s in j.trace(tid)} == {tid}


def test_budget_spent_keeps_what_was_found_with_a_partial_note(server: JaegerServer) -> None:
    server.set_fault("delay", path_prefix="/api/traces", delay_s=0.7)
    j = _jaeger(server.url, max_traces=40, budget_s=5.0)
    spans = j.fetch_spans(START, NOW, {"checkout"})
    notes = j.drain_notes()
    assert notes and "time budget" in notes[0].detail and "errors first" in notes[0].detail
    searches = [r for r in server.requests if r.path == "/api/traces"]
    assert len(searches) < 12  # all 12 searches would take 8.4 s
    assert spans and all(s.service for s in spans)


def test_first_failure_is_a_source_error_without_the_token() -> None:
    with JaegerServer(token=TOKEN) as s:
        _fill(s, 10)
        with pytest.raises(AuthError) as exc:
            _jaeger(s.url, token="wrong-" + TOKEN, token_name="jaeger").fetch_spans(
                START, NOW, {"checkout"}
            )
        assert TOKEN not in exc.value.message + (exc.value.hint or "")
        ok = _jaeger(s.url, token=TOKEN, token_name="jaeger")
        assert ok.fetch_spans(START, NOW, {"checkout"})
        assert ok.check().ok


# ---------------------------------------------------------------- gather's hint


class _NewStyle:
    name = "new"

    def __init__(self) -> None:
        self.asked: list[set[str] | None] = []

    def fetch_spans(
        self, start: datetime, end: datetime, services: set[str] | None = None
    ) -> list[Span]:
        self.asked.append(services)
        return []


class _OldStyle:
    """A plugin written before `services` existed."""

    name = "old"

    def __init__(self) -> None:
        self.calls = 0

    def fetch_spans(self, start: datetime, end: datetime) -> list[Span]:
        self.calls += 1
        return [Span("t", "s", None, "checkout", "op", start.timestamp(), 1.0, False)]


class _Topo:
    name = "topo"

    def fetch_topology(self) -> Topology:
        return Topology(
            depends_on={"frontend": ["checkout"], "checkout": ["payments"], "payments": []}
        )


def test_gather_passes_the_alert_service_and_neighbours_and_old_plugins_still_work() -> None:
    new, old = _NewStyle(), _OldStyle()
    assert accepts_services(new.fetch_spans) and not accepts_services(old.fetch_spans)
    src = SourceSet()
    src.add("traces", new)
    src.add("traces", old)
    src.add("topology", _Topo())
    alert = Alert(id="a1", name="X", service="checkout", starts_at=NOW - timedelta(minutes=5))
    ctx = gather(src, alert, [alert], budget_s=10.0, now=NOW)
    assert new.asked == [{"checkout", "frontend", "payments"}]
    assert old.calls == 1 and len(ctx.spans) == 1
    assert all(n.status == "ok" for n in ctx.notes), ctx.notes

    nameless = Alert(id="a2", name="Y", starts_at=NOW - timedelta(minutes=5))
    gather(src, nameless, [nameless], budget_s=10.0, now=NOW)
    assert new.asked[-1] is None


def test_a_trace_source_fits_its_sampling_in_what_the_gather_has_left() -> None:
    import time

    from aisre_cli.sources.tracing import GATHER_DEADLINE, Clock

    seen: list[float] = []

    class _Probe(_NewStyle):
        def fetch_spans(
            self, start: datetime, end: datetime, services: set[str] | None = None
        ) -> list[Span]:
            seen.append(Clock.start(20.0).budget_s)
            return []

    src = SourceSet()
    src.add("traces", _Probe())
    alert = Alert(id="a1", name="X", service="checkout", starts_at=NOW - timedelta(minutes=5))
    gather(src, alert, [alert], budget_s=3.0, now=NOW)
    assert seen and 0 < seen[0] <= 3.0  # not the source's own 20 s
    assert GATHER_DEADLINE.get() is None  # reset after the call
    token = GATHER_DEADLINE.set(time.monotonic() + 100)
    try:
        assert Clock.start(20.0).budget_s == 20.0  # never more than the source's own
    finally:
        GATHER_DEADLINE.reset(token)


def test_a_404_page_that_is_not_jaegers_envelope_is_still_not_found(
    server: JaegerServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.contract_servers.base import Reply

    monkeypatch.setattr(
        server,
        "route",
        lambda req: Reply(404, raw=b"404 page not found\n", headers={"Content-Type": "text/plain"}),
    )
    with pytest.raises(TraceNotFound, match="404 page not found"):
        _jaeger(server.url).trace("abc")


def test_one_trace_of_an_unexpected_shape_costs_only_that_trace() -> None:
    """QA 2026-12-03: one malformed trace in a search answer failed the whole answer
    (pydantic validated the list at once), so every other trace of it was lost."""

    class OneBad(JaegerServer):
        bad: set[str] = set()

        def _wire(self, t: Any) -> dict[str, Any]:
            out = super()._wire(t)
            if t.trace_id in self.bad:
                out["spans"] = "not a list"
            return out

    s = OneBad()
    try:
        _fill(s)
        OneBad.bad = {sorted(s.traces)[-1]}
        j = _jaeger(s.url, max_traces=200)
        spans = j.fetch_spans(START, NOW, {"checkout"})
        traces = _by_trace(spans)
        assert len(traces) >= 100 and all(t not in OneBad.bad for t in traces)
        notes = [n.detail for n in j.drain_notes()]
        assert any("skipped 1 of" in n and "unexpected shape" in n for n in notes), notes
    finally:
        s.stop()
