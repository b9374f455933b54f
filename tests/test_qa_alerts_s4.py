"""QA pass on `aisre alerts`: dedupe across Alertmanager and PagerDuty, a source that
fails or answers in part, and the stability of `--json`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from aisre_cli.investigate.gather import dedupe_alerts, resolve_alert
from aisre_cli.model import Alert
from tests.contract_servers.base import ContractServer, Reply, Request, closed_port_url
from tests.contract_servers.cli import run_cli
from tests.contract_servers.pagerduty import PagerDutyServer
from tests.fakes.env import write_config

FP1 = "aaaa1111bbbb2222"
FP2 = "cccc3333dddd4444"


def _iso(d: datetime) -> str:
    return d.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _am_alert(name: str, fp: str, service: str = "checkout", mins: int = 10) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "labels": {"alertname": name, "service": service, "severity": "critical"},
        "annotations": {"summary": f"{name} on {service}"},
        "startsAt": _iso(now - timedelta(minutes=mins)),
        "endsAt": _iso(now + timedelta(hours=1)),
        "updatedAt": _iso(now),
        "fingerprint": fp,
        "status": {"state": "active", "silencedBy": [], "inhibitedBy": []},
        "generatorURL": "http://prometheus/graph",
        "receivers": [{"name": "pd"}],
    }


class FakeAlertmanager(ContractServer):
    """`GET /api/v2/alerts` answering `self.body` (for what a real one never sends)."""

    name = "alertmanager"

    def __init__(self, body: Any) -> None:
        self.body = body
        super().__init__()

    def route(self, req: Request) -> Reply:
        if req.path == "/api/v2/alerts":
            return Reply(200, self.body)
        return Reply(404, {"error": "not found"})


@pytest.fixture()
def pd() -> Iterator[PagerDutyServer]:
    srv = PagerDutyServer()
    yield srv
    srv.stop()


def _config(home: Path, am_url: str, pd_url: str | None = None, **pd_cfg: Any) -> None:
    sources: dict[str, Any] = {
        "alertmanager": {"url": am_url, "http": {"retries": 0}},
        "changes_file": str(home / "none.jsonl"),
    }
    if pd_url is not None:
        sources["pagerduty"] = {"url": pd_url, "http": {"retries": 0}, **pd_cfg}
    write_config(home, {"gather_budget_s": 10, "sources": sources})


def _listed(argv: list[str]) -> dict[str, Any]:
    r = run_cli(argv)
    assert r.code == 0, r.err
    data: dict[str, Any] = json.loads(r.out)
    return data


def _alerts(listed: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for g in listed["incidents"] for a in g]


@pytest.fixture()
def _pd_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AISRE_PAGERDUTY_TOKEN", "pd-test-token")
    monkeypatch.setenv("COLUMNS", "200")


# ------------------------------------------------------------------ dedupe


@pytest.mark.usefixtures("_pd_token")
def test_alerts_of_one_pagerduty_incident_are_not_merged(
    pd: PagerDutyServer, _aisre_home: Path
) -> None:
    """Two alerts merged into one PagerDuty incident (alert keys FP1 and FP2, the
    incident's key FP1, the key of the alert that opened it): every alert was given the
    incident key as an alias, so with Alertmanager down `aisre alerts` showed one alert."""
    pd.add_incident(
        "checkout",
        incident_key=FP1,
        alerts=[
            {
                "summary": "CheckoutErrors",
                "alert_key": FP1,
                "details": {"alertname": "CheckoutErrors"},
            },
            {
                "summary": "CheckoutLatency",
                "alert_key": FP2,
                "details": {"alertname": "CheckoutLatency"},
            },
        ],
    )
    _config(_aisre_home, closed_port_url(), pd.url)
    listed = _listed(["alerts", "--json"])
    assert sorted(a["name"] for a in _alerts(listed)) == ["CheckoutErrors", "CheckoutLatency"]
    by_name = {a["name"]: a for a in _alerts(listed)}
    assert FP2 not in by_name["CheckoutErrors"]["aliases"]
    assert FP1 not in by_name["CheckoutLatency"]["aliases"]


def _alert(id_: str, source: str, aliases: list[str] | None = None, **kw: Any) -> Alert:
    return Alert(
        id=id_,
        name=kw.pop("name", id_),
        service="checkout",
        severity="critical",
        labels=kw.pop("labels", {}),
        starts_at=datetime(2025, 3, 11, 12, 0, tzinfo=UTC),
        source=source,
        aliases=aliases or [],
        sources=[source],
        **kw,
    )


def test_a_group_page_does_not_alias_one_fingerprint_to_another_alert() -> None:
    """A PagerDuty alert for an Alertmanager group (`fingerprints: [FP1, FP2]`) made FP2
    an alias of the FP1 alert: `aisre triage FP2` (the full fingerprint) then triaged the
    FP1 alert, and the FP2 alert was not marked as paged."""
    am1 = _alert(FP1, "alertmanager", name="CheckoutErrors")
    am2 = _alert(FP2, "alertmanager", name="CheckoutLatency")
    page = _alert("pd-A1", "pagerduty", ["groupkey", FP1, FP2], labels={"pagerduty_incident": "7"})
    merged = dedupe_alerts([am1, am2, page])
    assert [a.id for a in merged] == [FP1, FP2]
    one, two = merged
    assert FP2 not in one.aliases and FP1 not in two.aliases
    assert one.sources == two.sources == ["alertmanager", "pagerduty"]
    assert two.labels.get("pagerduty_incident") == "7"
    assert resolve_alert(merged, FP2).id == FP2
    assert resolve_alert(merged, "pd-A1").id == FP1


@pytest.mark.integration
@pytest.mark.usefixtures("_pd_token")
def test_group_page_against_a_real_alertmanager(pd: PagerDutyServer, _aisre_home: Path) -> None:
    from tests.servers import start_stack, wait_until

    with start_stack() as stack:
        stack.post_alerts(
            [
                {"labels": {"alertname": n, "service": "checkout", "severity": "critical"}}
                for n in ("CheckoutErrors", "CheckoutLatency")
            ]
        )
        fired = wait_until(lambda: len(stack.am_alerts()) == 2 and stack.am_alerts(), 20, "alerts")
        fps = {a["labels"]["alertname"]: a["fingerprint"] for a in fired}
        pd.add_incident(
            "[FIRING:2] checkout",
            incident_key="groupkey",
            alerts=[
                {
                    "summary": "[FIRING:2] checkout",
                    "alert_key": "groupkey",
                    "details": {"fingerprints": sorted(fps.values())},
                }
            ],
        )
        _config(_aisre_home, stack.am_url, pd.url)
        listed = _listed(["alerts", "--json"])
    alerts = {a["name"]: a for a in _alerts(listed)}
    assert set(alerts) == {"CheckoutErrors", "CheckoutLatency"}
    for name, a in alerts.items():
        assert a["id"] == fps[name]
        assert a["sources"] == ["alertmanager", "pagerduty"]
        others = set(fps.values()) - {fps[name]}
        assert not others & set(a["aliases"]), a


# ------------------------------------------------------------------ partial answers


@pytest.mark.usefixtures("_pd_token")
def test_one_unreadable_alertmanager_alert_does_not_hide_the_others(
    _aisre_home: Path,
) -> None:
    bad_ts = _am_alert("BadTimestamp", "bbbb0000bbbb0000")
    bad_ts["startsAt"] = "yesterday"
    no_start = _am_alert("NoStart", "dddd0000dddd0000")
    del no_start["startsAt"]
    am = FakeAlertmanager([_am_alert("CheckoutErrors", FP1), bad_ts, no_start])
    try:
        _config(_aisre_home, am.url)
        listed = _listed(["alerts", "--json"])
    finally:
        am.stop()
    assert [a["name"] for a in _alerts(listed)] == ["CheckoutErrors"]
    (note,) = listed["sources"]
    assert note["status"] == "partial"
    assert "skipped 2 unreadable alert(s)" in note["detail"]
    assert "bbbb0000bbbb0000" in note["detail"]


def test_an_alertmanager_answer_of_no_readable_alert_still_fails(_aisre_home: Path) -> None:
    am = FakeAlertmanager([1, 2, 3])
    try:
        _config(_aisre_home, am.url)
        r = run_cli(["alerts", "--json"])
    finally:
        am.stop()
    assert r.code == 3, r.err  # still a failed source, not an empty inbox
    assert "alertmanager" in r.err and "/api/v2/alerts" in r.err


@pytest.mark.usefixtures("_pd_token")
def test_incidents_past_max_incidents_are_still_listed(
    pd: PagerDutyServer, _aisre_home: Path
) -> None:
    """`pagerduty.max_incidents` bounds whose alerts are fetched; the incidents past it
    vanished from the inbox altogether."""
    now = datetime.now(UTC)
    for i, name in enumerate(("DiskFull", "QueueBacklog", "CertExpiry")):
        pd.add_incident(
            name,
            service=f"svc{i}",
            created_at=_iso(now - timedelta(minutes=10 * (i + 1))),
            alerts=[{"summary": name, "alert_key": f"key{i}"}],
        )
    _config(_aisre_home, closed_port_url(), pd.url, max_incidents=1)
    listed = _listed(["alerts", "--json"])
    assert sorted(a["name"] for a in _alerts(listed)) == ["CertExpiry", "DiskFull", "QueueBacklog"]
    alert_reads = [r for r in pd.requests if r.path.endswith("/alerts")]
    assert len(alert_reads) == 1  # the bound on requests still holds
    pd_note = next(n for n in listed["sources"] if n["source"] == "pagerduty alerts")
    assert pd_note["status"] == "partial" and "the other 2 are listed" in pd_note["detail"]


# ------------------------------------------------------------------ output


@pytest.mark.usefixtures("_pd_token")
def test_json_sources_are_in_configured_order(pd: PagerDutyServer, _aisre_home: Path) -> None:
    """`sources` came in the order the sources answered: a slower Alertmanager swapped
    the entries from one run to the next."""
    am = FakeAlertmanager([_am_alert("CheckoutErrors", FP1)])
    am.set_fault("delay", delay_s=1.0)
    try:
        _config(_aisre_home, am.url, pd.url)
        listed = _listed(["alerts", "--json"])
    finally:
        am.stop()
    assert [n["source"] for n in listed["sources"]] == ["alertmanager alerts", "pagerduty alerts"]


@pytest.mark.usefixtures("_pd_token")
def test_no_all_clear_while_a_source_is_down(pd: PagerDutyServer, _aisre_home: Path) -> None:
    _config(_aisre_home, closed_port_url(), pd.url)
    r = run_cli(["alerts"])
    assert r.code == 0, r.err
    assert "alertmanager alerts failed" in r.err
    assert "no active alerts from the sources that answered" in r.out
    assert "failed: alertmanager alerts" in r.out
