"""Alertmanager and Prometheus connectors against the real servers (Debian packages)."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
import pytest
import respx

from aisre_cli.errors import SourceError
from aisre_cli.model import utcnow
from aisre_cli.settings.config import AlertmanagerSource, HttpSettings, PrometheusSource
from aisre_cli.sources.alertmanager import Alertmanager, Matcher
from aisre_cli.sources.prometheus import Prometheus, choose_step
from tests.servers import Stack, shared_stack, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack() -> Stack:
    return shared_stack()


def am(stack: Stack, **kw: object) -> Alertmanager:
    return Alertmanager(AlertmanagerSource(url=stack.am_url, **kw), budget_s=60)


def prom(stack: Stack, **kw: object) -> Prometheus:
    cfg = PrometheusSource(
        url=stack.prom_url, rate_window="5s", http=HttpSettings(read_timeout=3), **kw
    )
    return Prometheus(cfg, budget_s=60)


def test_choose_step_caps_points() -> None:
    assert choose_step(0, 3600, 600) == 10
    assert choose_step(0, 60, 600) == 1
    assert choose_step(0, 86400 * 30, 600) == 7200
    for span in (1, 59, 3600, 86_400, 7 * 86_400):
        assert span / choose_step(0, span, 500) <= 500


def test_alerts_filters_silences_and_groups(stack: Stack) -> None:
    stack.post_alerts(
        [
            {
                "labels": {
                    "alertname": "AmTestA",
                    "service": "checkout",
                    "env": "prod",
                    "severity": "Critical",
                },
                "annotations": {"summary": "boom"},
            },
            {"labels": {"alertname": "AmTestB", "service": "api", "env": "staging"}},
        ]
    )
    a = wait_until(lambda: [x for x in am(stack).list_alerts() if x.name == "AmTestA"], 5, "alert")
    assert a[0].service == "checkout" and a[0].severity == "critical"
    assert a[0].labels["env"] == "prod" and len(a[0].id) == 16
    only_prod = am(stack, filters=['env="prod"']).list_alerts()
    assert {x.name for x in only_prod} >= {"AmTestA"} and "AmTestB" not in {
        x.name for x in only_prod
    }
    src = am(stack)
    sid = src.create_silence(
        [Matcher(name="alertname", value="AmTestB")],
        duration=timedelta(minutes=5),
        created_by="aisre-test",
        comment="test",
    )
    silenced = wait_until(
        lambda: [x for x in src.list_alerts() if x.name == "AmTestB" and x.silenced_by],
        5,
        "silence",
    )
    assert silenced[0].silenced_by == [sid] and silenced[0].state == "suppressed"
    src.expire_silence(sid)
    assert any(s.id == sid and s.status.state == "expired" for s in src.silences())
    assert any(g.alerts for g in src.alert_groups())
    assert src.check().version


def test_prometheus_series_rules_and_notes(stack: Stack) -> None:
    p = prom(stack)
    wait_until(lambda: stack.prom_query("up"), 10, "first scrape")
    time.sleep(2)
    now = utcnow()
    series, notes = p.fetch_series(now - timedelta(seconds=60), now, None)
    names = {s.name for s in series}
    assert {"up", "process_resident_memory_bytes", "process_cpu_usage_cores"} <= names
    up = next(s for s in series if s.name == "up")
    assert up.service == "prometheus" and up.query == "up" and "/graph?" in up.ref
    assert len(up.timestamps) <= 600 and p.last_step == 1
    assert notes == []
    assert p.check().version


def test_bad_custom_query_is_a_partial_note(stack: Stack) -> None:
    p = prom(stack, queries={"broken": "sum(rate(up[5s]) by", "ok": 'up{job="$service"}'})
    wait_until(lambda: stack.prom_query("up"), 10, "first scrape")
    now = utcnow()
    series, notes = p.fetch_series(now - timedelta(seconds=30), now, None)
    assert any(s.name == "up" for s in series), [s.name for s in series]
    assert notes and "broken" in notes[0].detail and "bad_data" in notes[0].detail
    assert "ok__prometheus" in p.last_queries


def test_series_cap_is_noted(stack: Stack) -> None:
    p = prom(
        stack,
        max_series=2,
        default_queries=False,
        queries={"many": "prometheus_http_requests_total"},
    )
    # run alone, this test can come before Prometheus' first scrapes: wait for more
    # series than the cap
    wait_until(lambda: len(stack.prom_query("prometheus_http_requests_total")) > 2, 10, "scrape")
    now = utcnow()
    series, notes = p.fetch_series(now - timedelta(seconds=30), now, None)
    assert len(series) == 2 and any("kept the first 2" in n.detail for n in notes)


def test_all_queries_failing_is_an_error() -> None:
    from tests.contract_servers.base import closed_port_url

    p = Prometheus(PrometheusSource(url=closed_port_url(), http=HttpSettings(retries=0)))
    with pytest.raises(SourceError, match="connection refused"):
        p.fetch_series(utcnow() - timedelta(minutes=1), utcnow(), None)


def test_rule_for_alert_and_discovery(stack: Stack) -> None:
    p = Prometheus(PrometheusSource(url=stack.prom_url), budget_s=60)
    rule = wait_until(lambda: p.rule_for_alert("AisreTestAlways"), 10, "rule")
    assert rule.query == "vector(1) > 0" and rule.labels["service"] == "rules-test"
    assert p.rule_for_alert("NoSuchAlert") is None
    wait_until(lambda: stack.prom_query("up"), 10, "scrape")
    now = time.time()
    # `service` is the first service label and the ALERTS series carries service="rules-test"
    assert "rules-test" in wait_until(lambda: p.discover_services(now - 60, time.time()), 5, "svc")


def test_series_for_service(stack: Stack) -> None:
    p = Prometheus(PrometheusSource(url=stack.prom_url), budget_s=60)
    wait_until(lambda: stack.prom_query("up"), 10, "scrape")
    now = time.time()
    found = p.series_for_service("prometheus", now - 60, now + 1)
    assert found and all(s.get("job") == "prometheus" for s in found)
    assert any(s.get("__name__") == "up" for s in found)


@respx.mock
def test_silence_create_timeout_rereads_instead_of_retrying() -> None:
    from aisre_cli.sources.http import WriteOutcomeUnknown

    base = "http://am.test"
    post = respx.post(f"{base}/api/v2/silences").mock(side_effect=httpx.ReadTimeout("slow"))
    existing = {
        "id": "s-1",
        "matchers": [{"name": "alertname", "value": "X", "isRegex": False, "isEqual": True}],
        "startsAt": "2026-01-01T00:00:00Z",
        "endsAt": "2026-01-01T01:00:00Z",
        "createdBy": "aisre",
        "comment": "runbook step 2",
        "status": {"state": "active"},
    }
    respx.get(f"{base}/api/v2/silences").mock(
        side_effect=[httpx.Response(200, json=[existing]), httpx.Response(200, json=[])]
    )
    src = Alertmanager(AlertmanagerSource(url=base), client=httpx.Client())

    def create() -> str:
        return src.create_silence(
            [Matcher(name="alertname", value="X")],
            duration=timedelta(hours=1),
            created_by="aisre",
            comment="runbook step 2",
        )

    with pytest.raises(WriteOutcomeUnknown, match="silence s-1 exists"):
        create()
    with pytest.raises(WriteOutcomeUnknown, match="so it was not created"):
        create()
    assert post.call_count == 2  # once per call: never retried


@respx.mock
def test_prometheus_warnings_become_partial_notes() -> None:
    base = "http://prom.test"
    body = {
        "status": "success",
        "warnings": ["store 10.0.0.3:10901 unavailable: partial response"],
        "data": {
            "resultType": "matrix",
            "result": [
                {"metric": {"__name__": "up", "job": "api"}, "values": [[1.0, "1"], [2.0, "0"]]}
            ],
        },
    }
    respx.get(f"{base}/api/v1/query_range").mock(return_value=httpx.Response(200, json=body))
    p = Prometheus(
        PrometheusSource(url=base, default_queries=False, queries={"up": "up"}),
        client=httpx.Client(),
    )
    series, notes = p.fetch_series(utcnow() - timedelta(minutes=5), utcnow(), None)
    assert [s.service for s in series] == ["api"] and series[0].values == [1.0, 0.0]
    assert notes and notes[0].status == "partial" and "store 10.0.0.3" in notes[0].detail
    sent = respx.calls[0].request.url.params
    assert sent["step"] == "1" and sent["timeout"] == "10000ms"


def test_live_sources_wiring(monkeypatch: pytest.MonkeyPatch) -> None:
    from aisre_cli.errors import ConfigError
    from aisre_cli.settings.config import Profile
    from aisre_cli.sources.changefile import ChangeFile
    from aisre_cli.sources.live import checkables, live_sources

    monkeypatch.setenv("AISRE_PAGERDUTY_TOKEN", "pd-token-123")
    prof = Profile.model_validate(
        {
            "gather_budget_s": 7,
            "sources": {
                "pagerduty": {},
                "alertmanager": {"url": "http://am"},
                "prometheus": {"url": "http://prom"},
                "github": {"repos": {"a/b": "b"}},
            },
        }
    )
    s = live_sources(prof)
    assert [x.name for x in s.alerts] == ["alertmanager", "pagerduty"]
    assert [x.name for x in s.metrics] == ["prometheus"]
    assert any(isinstance(c, ChangeFile) for c in s.changes)
    pd = s.alerts[1]
    assert getattr(pd, "http").token.get_secret_value() == "pd-token-123"  # noqa: B009
    assert getattr(pd, "http").budget_s == 7  # noqa: B009
    assert {c.name for c in checkables(s)} == {"alertmanager", "pagerduty", "prometheus", "github"}
    with pytest.raises(ConfigError, match="no source"):
        live_sources(Profile())
