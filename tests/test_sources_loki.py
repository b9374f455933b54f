"""Loki connector against the loopback contract server: pagination, budget, parsing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest

from aisre_cli.errors import SourceError
from aisre_cli.model import utcnow
from aisre_cli.settings.config import HttpSettings, LokiSource
from aisre_cli.sources.loki import Loki
from tests.contract_servers.base import Reply, Request
from tests.contract_servers.loki import LokiServer, parse_selector


@pytest.fixture()
def server() -> Iterator[LokiServer]:
    srv = LokiServer()
    yield srv
    srv.stop()


def conn(srv: LokiServer, page_limit: int = 5000, **kw: object) -> Loki:
    cfg = LokiSource(url=srv.url, http=HttpSettings(read_timeout=2, retries=1), **kw)
    return Loki(cfg, budget_s=60, page_limit=page_limit)


def test_selector_parser_is_strict() -> None:
    assert parse_selector('{service=~"a|b", level!="debug"}') == [
        ("service", "=~", "a|b"),
        ("level", "!=", "debug"),
    ]
    with pytest.raises(ValueError):
        parse_selector('{service=~".*"}')


def test_selector_for_services() -> None:
    lk = Loki(LokiSource(url="http://x"))
    assert lk.selector(None) == '{service=~".+"}'
    assert lk.selector({"checkout", "api"}) == '{service=~"api|checkout"}'


def test_pagination_keeps_every_line_including_shared_timestamps(server: LokiServer) -> None:
    now = utcnow()
    base = int((now - timedelta(minutes=5)).timestamp() * 1e9)
    entries = []
    for i in range(120):
        ts = base + (i // 3) * 10**9  # three lines share each timestamp
        entries.append(
            (ts, json.dumps({"level": "error" if i % 10 == 0 else "info", "msg": f"line {i}"}))
        )
    server.push({"service": "checkout", "pod": "c-1"}, entries)
    server.push({"service": "api"}, [(base + 5 * 10**9, "plain WARN text line")])
    lk = conn(server, page_limit=7)
    table = lk.fetch_logs(now - timedelta(minutes=10), now, None)
    msgs = sorted(m for m, s in zip(table.msg, table.service, strict=True) if s == "checkout")
    assert msgs == sorted(f"line {i}" for i in range(120))
    assert table.level.count("error") == 12
    api = table.service.index("api")
    assert table.msg[api] == "plain WARN text line" and table.level[api] == "warn"
    assert table.query["checkout"] == '{service=~"checkout"}'
    assert table.ref(0).startswith("{") and lk.drain_notes() == []
    calls = [r for r in server.requests if r.path.endswith("query_range")]
    assert len(calls) > 15 and all(r.q("direction") == "forward" for r in calls)


def test_a_streams_node_label_places_its_service(server: LokiServer) -> None:
    """promtail's Kubernetes discovery labels each stream with its pod's `node_name`:
    the service runs there (read for a machine's own network series)."""
    now = utcnow()
    base = int((now - timedelta(minutes=5)).timestamp() * 1e9)
    server.push({"service": "checkout", "node_name": "ip-10-0-1-7", "pod": "c-1"}, [(base, "ok")])
    server.push({"service": "api"}, [(base + 10**9, "ok")])
    table = conn(server).fetch_logs(now - timedelta(minutes=10), now, None)
    assert table.placements == {("ip-10-0-1-7", "checkout", "c-1")}
    # a stream no label names a service of places nothing
    server.push({"filename": "/var/log/syslog", "node_name": "ip-10-0-1-8"}, [(base, "x")])
    files = conn(server, selector='{filename=~"$service"}')
    table = files.fetch_logs(now - timedelta(minutes=10), now, None)
    assert table.service == ["unknown"] and table.placements == set()


def test_what_failed_beside_a_json_lines_message_is_read_with_it(server: LokiServer) -> None:
    now = utcnow()
    base = int((now - timedelta(minutes=5)).timestamp() * 1e9)
    line = json.dumps({"level": "error", "msg": "call paylane failed", "error": "tls: bad"})
    server.push({"service": "payments"}, [(base, line)])
    table = conn(server).fetch_logs(now - timedelta(minutes=10), now, None)
    assert table.msg == ["call paylane failed: tls: bad"] and table.level == ["error"]


def test_line_budget_is_reported(server: LokiServer) -> None:
    now = utcnow()
    base = int((now - timedelta(minutes=5)).timestamp() * 1e9)
    server.push({"service": "checkout"}, [(base + i * 10**6, f"l{i}") for i in range(500)])
    lk = conn(server, page_limit=100, max_lines=250)
    table = lk.fetch_logs(now - timedelta(minutes=10), now, None)
    assert len(table) == 250
    notes = lk.drain_notes()
    assert notes and "line budget of 250" in notes[0].detail


def test_query_error_is_a_source_error(server: LokiServer) -> None:
    lk = conn(server, selector="not a selector $service")
    with pytest.raises(SourceError, match="HTTP 400"):
        lk.fetch_logs(utcnow() - timedelta(minutes=1), utcnow(), None)


def test_check(server: LokiServer) -> None:
    h = conn(server).check()
    assert h.ok and h.version == "2.9.4"


def test_budget_is_shared_across_the_window(server: LokiServer) -> None:
    """A noisy start of the window must not starve the minutes around the onset."""
    now = utcnow()
    start = now - timedelta(minutes=30)
    t0 = int(start.timestamp() * 1e9)
    noisy = [(t0 + i * 10**6, f"noise {i}") for i in range(2000)]
    late = [(t0 + (28 * 60 + i) * 10**9, f"onset {i}") for i in range(50)]
    server.push({"service": "checkout"}, noisy + late)
    lk = conn(server, page_limit=100, max_lines=300)
    table = lk.fetch_logs(start, now, None)
    assert len(table) == 300
    assert sum(m.startswith("onset") for m in table.msg) == 50
    notes = lk.drain_notes()
    assert notes and "time slices sampled" in notes[0].detail


class _BadTimestampLoki(LokiServer):
    """Answers lines whose text starts with `bad:` with the timestamp after the colon
    (a float, seconds, garbage) instead of their nanoseconds."""

    def _query_range(self, req: Request) -> Reply:
        rep = super()._query_range(req)
        if rep.status == 200:
            for s in rep.body["data"]["result"]:
                s["values"] = [
                    [line.split(":")[1] if line.startswith("bad:") else ts, line]
                    for ts, line in s["values"]
                ]
        return rep


def test_bad_line_timestamp_on_a_later_page_skips_only_that_line() -> None:
    """QA: a timestamp that is not nanoseconds on page 2 raised and threw away every
    line already read. Now the line is skipped and counted in a partial note."""
    srv = _BadTimestampLoki()
    try:
        now = utcnow()
        base = int((now - timedelta(minutes=5)).timestamp() * 1e9)
        lines = [f"l{i}" for i in range(40)]
        lines[15] = "bad:1.7e18:x"
        lines[22] = f"bad:{int(now.timestamp())}:y"  # seconds, not nanoseconds
        lines[31] = "bad:yesterday:z"
        srv.push({"service": "checkout"}, [(base + i * 10**6, m) for i, m in enumerate(lines)])
        lk = conn(srv, page_limit=10)
        table = lk.fetch_logs(now - timedelta(minutes=10), now, None)
        assert sorted(table.msg) == sorted(m for m in lines if not m.startswith("bad:"))
        notes = lk.drain_notes()
        assert [n.status for n in notes] == ["partial"]
        assert "skipped 3 lines" in notes[0].detail and "1.7e18" in notes[0].detail
    finally:
        srv.stop()


def test_full_page_without_a_usable_timestamp_stops_and_keeps_what_was_read() -> None:
    srv = _BadTimestampLoki()
    try:
        now = utcnow()
        base = int((now - timedelta(minutes=5)).timestamp() * 1e9)
        good = [(base + i * 10**6, f"l{i}") for i in range(12)]
        bad = [(base + (100 + i) * 10**6, f"bad:nan:{i}") for i in range(30)]
        srv.push({"service": "checkout"}, good + bad)
        lk = conn(srv, page_limit=10)
        table = lk.fetch_logs(now - timedelta(minutes=10), now, None)
        assert sorted(table.msg) == sorted(m for _, m in good)
        details = " | ".join(n.detail for n in lk.drain_notes())
        assert "stopped after 12 lines" in details and "no usable timestamp" in details
    finally:
        srv.stop()
