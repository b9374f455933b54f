"""PagerDuty connector against the loopback contract server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from aisre_cli.errors import AuthError, ConfigError
from aisre_cli.investigate.gather import dedupe_alerts
from aisre_cli.model import Alert, utcnow
from aisre_cli.settings.config import HttpSettings, PagerDutySource
from aisre_cli.sources import pagerduty as pdmod
from aisre_cli.sources.pagerduty import PagerDuty
from tests.contract_servers.base import closed_port_url
from tests.contract_servers.cli import run_cli
from tests.contract_servers.pagerduty import PagerDutyServer
from tests.fakes.env import write_config


@pytest.fixture()
def server() -> Iterator[PagerDutyServer]:
    srv = PagerDutyServer()
    yield srv
    srv.stop()


def conn(srv: PagerDutyServer, token: str | None = "pd-test-token", **kw: object) -> PagerDuty:
    cfg = PagerDutySource(
        url=srv.url,
        http=HttpSettings(read_timeout=2, retries=1),
        **kw,
    )
    return PagerDuty(cfg, token=SecretStr(token) if token else None, budget_s=60)


def test_incident_alerts_map_to_alerts_with_aliases(server: PagerDutyServer) -> None:
    server.add_incident(
        "High error rate on checkout",
        incident_key="grp-1",
        alerts=[
            {
                "summary": "CheckoutHighErrorRate",
                "alert_key": "fp-abc123",
                "details": {
                    "alertname": "CheckoutHighErrorRate",
                    "service": "checkout",
                    "fingerprint": "fp-abc123",
                },
            }
        ],
    )
    server.add_incident("Manual incident", service="payments", status="acknowledged")
    server.add_incident("Old", status="resolved")
    alerts = conn(server).list_alerts()
    assert len(alerts) == 2
    a = next(x for x in alerts if x.name == "CheckoutHighErrorRate")
    assert a.service == "checkout" and a.source == "pagerduty"
    assert "fp-abc123" in a.aliases and "grp-1" in a.aliases
    manual = next(x for x in alerts if x.name == "Manual incident")
    assert manual.service == "payments"
    sent = server.requests[0]
    assert sent.headers["authorization"] == "Token token=pd-test-token"
    assert "vnd.pagerduty+json;version=2" in sent.headers["accept"]


def test_same_incident_merges_with_alertmanager_alert(server: PagerDutyServer) -> None:
    server.add_incident(
        "x", alerts=[{"summary": "CheckoutHighErrorRate", "alert_key": "2a703a75fe49dd98"}]
    )
    am = Alert(
        id="2a703a75fe49dd98",
        name="CheckoutHighErrorRate",
        service="checkout",
        starts_at=utcnow(),
        source="alertmanager",
        sources=["alertmanager"],
    )
    merged = dedupe_alerts([am, *conn(server).list_alerts()])
    assert len(merged) == 1
    assert merged[0].id == "2a703a75fe49dd98"
    assert merged[0].sources == ["alertmanager", "pagerduty"]


def test_offset_pagination_reads_every_page(server: PagerDutyServer) -> None:
    for i in range(230):
        server.add_incident(f"inc {i}")
    pd = conn(server, max_incidents=1)
    incidents, truncated = pd.incidents()
    assert len(incidents) == 230 and not truncated
    offsets = [r.q("offset") for r in server.requests if r.path == "/incidents"]
    assert offsets == ["0", "100", "200"]


def test_pagination_stops_before_the_10000_window(
    server: PagerDutyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pdmod, "MAX_OFFSET_WINDOW", 250)
    for i in range(300):
        server.add_incident(f"inc {i}")
    pd = conn(server, max_incidents=0)
    incidents, truncated = pd.incidents()
    assert truncated and len(incidents) == 200
    pd.list_alerts()
    assert any("truncated" in n.detail for n in pd.drain_notes())


def test_bad_token_is_auth_error(server: PagerDutyServer) -> None:
    with pytest.raises(AuthError, match="HTTP 401"):
        conn(server, token="wrong").list_alerts()


def test_missing_token_is_auth_error_without_a_request(server: PagerDutyServer) -> None:
    with pytest.raises(AuthError, match="no API token"):
        conn(server, token=None).list_alerts()
    assert server.requests == []


def test_notes_and_status_writes(server: PagerDutyServer) -> None:
    inc = server.add_incident("x")
    with pytest.raises(ConfigError, match="From"):
        conn(server).add_note(inc["id"], "hello")
    pd = conn(server, from_email="oncall@example.com")
    note_id = pd.add_note(inc["id"], "aisre: deploy v2 is the likely cause")
    assert note_id.startswith("N")
    assert pd.acknowledge(inc["id"]).status == "acknowledged"
    assert pd.resolve(inc["id"]).status == "resolved"
    entries = pd.log_entries(inc["id"])
    assert [e.type for e in entries][0] == "trigger_log_entry" and len(entries) == 3
    put = [r for r in server.requests if r.method == "PUT"][0]
    assert put.headers["from"] == "oncall@example.com"


def test_write_timeout_rereads_state(server: PagerDutyServer) -> None:
    inc = server.add_incident("x")
    pd = conn(server, from_email="a@b.c")
    pd.http.settings = HttpSettings(read_timeout=0.5, retries=2)
    server.set_fault("hang", path_prefix=f"/incidents/{inc['id']}/notes")
    from aisre_cli.sources.http import WriteOutcomeUnknown

    with pytest.raises(WriteOutcomeUnknown, match="re-read"):
        pd.add_note(inc["id"], "hi")
    posts = [r for r in server.requests if r.method == "POST"]
    assert len(posts) == 1  # never retried


def test_check(server: PagerDutyServer) -> None:
    assert conn(server).check().ok
    h = conn(server, token="bad").check()
    assert h.authenticated is False and not h.ok


def test_pagerduty_only_alerts_have_distinct_usable_ids(
    server: PagerDutyServer, _aisre_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Alertmanager down: every PagerDuty alert was `pd-A0000` in `aisre alerts`, and the
    fingerprint Alertmanager's receiver sent (an alias) was not found by its prefix."""
    for name, fp in (("CheckoutDown", "046fa0851234abcd"), ("PaymentsDown", "9a8b7c6d5e4f3a2b")):
        server.page_for({"labels": {"alertname": name}, "fingerprint": fp}, "checkout")
    write_config(
        _aisre_home,
        {
            "gather_budget_s": 5,
            "sources": {
                "alertmanager": {"url": closed_port_url(), "http": {"retries": 0}},
                "pagerduty": {"url": server.url, "http": {"retries": 0}},
                "changes_file": str(_aisre_home / "none.jsonl"),
            },
        },
    )
    monkeypatch.setenv("AISRE_PAGERDUTY_TOKEN", "pd-test-token")
    monkeypatch.setenv("COLUMNS", "200")
    listed = json.loads(run_cli(["alerts", "--json"]).out)
    ids = {a["name"]: a["id"] for g in listed["incidents"] for a in g}
    r = run_cli(["alerts"])
    assert r.code == 0, r.err
    for name, pd_id in ids.items():
        row = next(ln for ln in r.out.splitlines() if name in ln)
        assert f" {pd_id} " in row, row  # whole: `pd-A0000` is every PagerDuty alert's prefix
    r = run_cli(["triage", "046fa085", "--json", "--no-record"])
    assert r.code == 0, r.err
    report = json.loads(r.out)
    assert report["alert"]["id"] == ids["CheckoutDown"]
    assert f"aisre escalate {ids['CheckoutDown']}`" in report["verdict"]["next_step"]


def test_contract_server_takes_an_escalation_level_as_pagerduty_does() -> None:
    """`pagerduty.escalate` sends `{"incident": {"type": "incident_reference",
    "escalation_level": N}}`, which the API accepts; the contract server answered 400
    "Status is invalid", so only a test subclass could exercise the escalation."""
    import httpx

    from tests.contract_servers.pagerduty import PagerDutyServer

    with PagerDutyServer() as pd:
        inc = pd.add_incident("x")
        hdrs = {"Authorization": "Token token=pd-test-token", "From": "oncall@example.com"}
        body = {"incident": {"type": "incident_reference", "escalation_level": 2}}
        r = httpx.put(f"{pd.url}/incidents/{inc['id']}", json=body, headers=hdrs)
        assert r.status_code == 200 and r.json()["incident"]["escalation_level"] == 2
        bad = {"incident": {"type": "incident_reference", "escalation_level": 0}}
        assert (
            httpx.put(f"{pd.url}/incidents/{inc['id']}", json=bad, headers=hdrs).status_code == 400
        )
        del hdrs["From"]
        assert (
            httpx.put(f"{pd.url}/incidents/{inc['id']}", json=body, headers=hdrs).status_code == 400
        )
