"""QA pass (s4) on triage against live sources: Prometheus, Loki and the gather stage.

Each test pins one defect found by hand against a real Prometheus + Alertmanager and
the Loki contract server: a slow Prometheus losing every answered query to the gather
budget, a Prometheus query timeout retried, a Loki answer with bytes that are not
UTF-8 failing the whole source, graph links in local time, ±Inf points and repeated
warnings.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from aisre_cli.model import Alert, utcnow
from aisre_cli.settings.config import HttpSettings, LokiSource, PrometheusSource
from aisre_cli.sources.loki import Loki
from aisre_cli.sources.prometheus import Prometheus
from aisre_cli.sources.registry import SourceSet
from tests.contract_servers.base import ContractServer, Reply, Request
from tests.contract_servers.cli import run_cli
from tests.contract_servers.loki import LokiServer


def _matrix(name: str, values: list[list[Any]], **labels: str) -> dict[str, Any]:
    return {"metric": {"__name__": name, "job": "api", **labels}, "values": values}


class FakeProm(ContractServer):
    """`/api/v1/query_range` per query: `behaviour[query]` is "hang", "slow" (answers
    after `slow_s`), "timeout" (Prometheus's 503 timeout envelope), "inf" (+Inf points)
    or absent (a healthy answer)."""

    name = "prometheus"

    def __init__(self, behaviour: dict[str, str], slow_s: float = 1.0, warn: str = "") -> None:
        self.behaviour = behaviour
        self.slow_s = slow_s
        self.warn = warn
        super().__init__()

    def route(self, req: Request) -> Reply:
        if req.path != "/api/v1/query_range":
            return Reply(404, {"status": "error", "error": "not found"})
        q = req.q("query") or ""
        start, end = float(req.q("start") or 0), float(req.q("end") or 0)
        how = self.behaviour.get(q, "")
        if how == "hang":
            self.stopping.wait(30)
        if how == "slow":
            self.stopping.wait(self.slow_s)
        if how == "timeout":
            body = {
                "status": "error",
                "errorType": "timeout",
                "error": "query timed out in expression evaluation",
            }
            return Reply(503, body)
        ts = [start + i for i in range(int(min(end - start, 30)))]
        v = "+Inf" if how == "inf" else "1"
        data: dict[str, Any] = {
            "status": "success",
            "data": {"resultType": "matrix", "result": [_matrix(q, [[t, v] for t in ts])]},
        }
        if self.warn:
            data["warnings"] = [self.warn]
        return Reply(200, data)


@pytest.fixture
def servers() -> Iterator[list[ContractServer]]:
    started: list[ContractServer] = []
    yield started
    for s in started:
        s.stop()


def _prom(
    srv: ContractServer, queries: dict[str, str], budget_s: float = 60.0, **http: Any
) -> Prometheus:
    cfg = PrometheusSource(
        url=srv.url,
        default_queries=False,
        queries=queries,
        http=HttpSettings(read_timeout=30, **http),
    )
    return Prometheus(cfg, budget_s=budget_s)


def _alert() -> Alert:
    return Alert(
        id="fp1",
        name="ApiDown",
        source="test",
        service="api",
        starts_at=utcnow() - timedelta(minutes=1),
    )


def _gather(src: Prometheus | Loki, budget_s: float, lookback_s: float = 120) -> Any:
    from aisre_cli.investigate.gather import gather

    sources = SourceSet()
    sources.add("metrics" if isinstance(src, Prometheus) else "logs", src)
    alert = _alert()
    return gather(sources, alert, [alert], lookback_s=lookback_s, lookahead_s=60, budget_s=budget_s)


# ---------------------------------------------------------------- gather budget


def test_a_hung_prometheus_query_does_not_lose_the_answered_ones(
    servers: list[ContractServer],
) -> None:
    """One query hangs: before, the source's own deadline was the whole gather budget,
    so the gather gave up on the source first and the two answered queries were lost."""
    srv = FakeProm({"stuck": "hang"})
    servers.append(srv)
    src = _prom(srv, {"a": "a", "b": "b", "stuck": "stuck"}, budget_s=3.0)
    ctx = _gather(src, budget_s=3.0)
    assert sorted(s.name for s in ctx.series) == ["a", "b"], ctx.notes
    note = next(n for n in ctx.notes if n.source == "prometheus metrics")
    assert note.status == "partial", note
    assert "stuck" in note.detail and "1 queries failed" in note.detail, note


def test_a_slow_prometheus_says_which_queries_the_budget_cut(
    servers: list[ContractServer],
) -> None:
    """Every query takes 1 s and 20 of them do not fit 4 s (4 at a time): the source
    keeps what answered and names the queries it did not run."""
    queries = {f"q{i:02d}": f"q{i:02d}" for i in range(20)}
    srv = FakeProm(dict.fromkeys(queries, "slow"), slow_s=1.0)
    servers.append(srv)
    ctx = _gather(_prom(srv, queries, budget_s=4.0), budget_s=4.0)
    assert ctx.series, ctx.notes
    note = next(n for n in ctx.notes if n.source == "prometheus metrics")
    assert note.status == "partial", note
    assert "queries not run" in note.detail and "raise gather_budget_s" in note.detail, note


# ---------------------------------------------------------------- query timeout


def test_prometheus_query_timeout_is_final_and_reads_its_reason(
    servers: list[ContractServer],
) -> None:
    """Prometheus answers a query that hit its timeout with 503 and a JSON envelope:
    retrying re-runs the same slow evaluation (it was retried twice, with the raw JSON
    as the message); now it is one request and a readable reason."""
    srv = FakeProm({"heavy": "timeout"})
    servers.append(srv)
    src = _prom(srv, {"heavy": "heavy", "ok": "ok"}, retries=2)
    start = utcnow() - timedelta(minutes=2)
    series, notes = src.fetch_series(start, utcnow(), None)
    assert [s.name for s in series] == ["ok"]
    assert sum(1 for r in srv.requests if r.q("query") == "heavy") == 1
    detail = " ".join(n.detail for n in notes)
    assert "heavy: prometheus: timeout: query timed out in expression evaluation" in detail
    assert "{" not in detail, detail


# ---------------------------------------------------------------- values and notes


def test_inf_points_and_repeated_warnings_become_readable_notes(
    servers: list[ContractServer],
) -> None:
    """±Inf points (a p99 above the highest bucket) were read as gaps without a word;
    a warning every query repeats (a store down) filled the note three times over."""
    srv = FakeProm({"p99": "inf"}, warn="store 10.0.0.3:10901 unavailable")
    servers.append(srv)
    src = _prom(srv, {"p99": "p99", "a": "a", "b": "b", "c": "c"})
    series, notes = src.fetch_series(utcnow() - timedelta(minutes=2), utcnow(), None)
    details = [n.detail for n in notes]
    store = [d for d in details if "store 10.0.0.3" in d]
    assert len(store) == 1 and store[0].startswith("p99, a, b +1 more:"), details
    assert any(
        d.startswith("p99: ") and "at +Inf" in d and "twice the series' largest finite" in d
        for d in details
    ), details


def test_graph_link_end_is_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Prometheus UI reads `g0.end_input` as UTC; the link was built in local time,
    so on any machine not on UTC the evidence link showed another moment."""
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        p = Prometheus(PrometheusSource(url="http://127.0.0.1:9"))
        end = datetime(2025, 3, 11, 12, 50, tzinfo=UTC).timestamp()
        url = p.graph_url("up", end - 600, end, 15)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert parse_qs(urlsplit(url).query)["g0.end_input"] == ["2025-03-11 12:50:00"]


# ---------------------------------------------------------------- Loki


class Latin1Loki(LokiServer):
    """A Loki whose answer carries log bytes that are not UTF-8 (Loki passes a line's
    bytes through as pushed)."""

    def route(self, req: Request) -> Reply:
        reply = super().route(req)
        if req.path == "/loki/api/v1/query_range" and reply.status == 200:
            raw = json.dumps(reply.body).encode().replace(b"caf-e", b"caf\xe9")
            return Reply(200, raw=raw)
        return reply


def _push_lines(srv: LokiServer, n: int) -> None:
    now = time.time_ns()
    srv.push(
        {"service": "api"},
        [(now - (n - i) * 10**9, f"error caf-e order {i} failed") for i in range(n)],
    )


def test_loki_lines_with_bytes_that_are_not_utf8_are_kept(
    servers: list[ContractServer],
) -> None:
    srv = Latin1Loki()
    servers.append(srv)
    _push_lines(srv, 5)
    loki = Loki(LokiSource(url=srv.url), budget_s=30)
    table = loki.fetch_logs(utcnow() - timedelta(minutes=2), utcnow(), None)
    assert len(table) == 5 and "caf\ufffd order 0" in table.msg[0], table.msg


def test_live_triage_keeps_loki_lines_that_are_not_utf8(_aisre_home: Path) -> None:
    """`aisre triage` against a real Prometheus and Alertmanager, with a Loki whose
    lines hold Latin-1 bytes: before, the Loki source failed as a whole ("answered with
    invalid JSON"); now its lines are read and the triage is complete."""
    from tests.servers import shared_stack, wait_until

    stack = shared_stack()
    wait_until(
        lambda: [a for a in stack.am_alerts() if a["labels"]["alertname"] == "AisreTestAlways"],
        30,
        "AisreTestAlways in Alertmanager",
    )
    loki = Latin1Loki()
    try:
        now = time.time_ns()
        loki.push(
            {"service": "rules-test"},
            [(now - (30 - i) * 10**9, f"error caf-e order {i} failed") for i in range(30)],
        )
        cfg_dir = _aisre_home / "config"
        cfg_dir.mkdir(parents=True, exist_ok=True)
        profile = {
            "sources": {
                "alertmanager": {"url": stack.am_url},
                "prometheus": {"url": stack.prom_url, "rate_window": "5s"},
                "loki": {"url": loki.url},
            },
            "gather_budget_s": 20,
            "lookback_minutes": 2,
            "lookahead_minutes": 1,
        }
        (cfg_dir / "config.yaml").write_text(
            yaml.safe_dump({"version": 1, "default_profile": "t", "profiles": {"t": profile}})
        )
        r = run_cli(["triage", "AisreTestAlways", "--json", "--no-record"])
    finally:
        loki.stop()
    assert r.code == 0, r.err
    assert "Traceback" not in r.err
    report = json.loads(r.out)
    by_source = {n["source"]: n for n in report["sources"]}
    assert by_source["loki logs"]["status"] == "ok", report["sources"]
    assert by_source["prometheus metrics"]["status"] in ("ok", "partial"), report["sources"]


def test_a_slow_loki_keeps_the_pages_it_read(servers: list[ContractServer]) -> None:
    """Every page takes 1 s and the 6 time slices of the window do not fit 3 s: before,
    Loki's own deadline was the whole gather budget, so the gather gave up on it first
    and the pages read were lost; now it stops early with a partial note."""
    srv = LokiServer()
    servers.append(srv)
    now = time.time_ns()
    srv.push({"service": "api"}, [(now - i * 10**9, f"line {i}") for i in range(1, 400)])
    srv.set_fault("delay", "/loki/api/v1/query_range", delay_s=1.0)
    ctx = _gather(Loki(LokiSource(url=srv.url), budget_s=3.0), budget_s=3.0, lookback_s=360)
    note = next(n for n in ctx.notes if n.source == "loki logs")
    assert note.status == "partial" and "time budget spent" in note.detail, note
    assert len(ctx.logs) > 0
