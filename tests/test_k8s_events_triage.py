"""Triage on bundles whose story the cluster's events tell (`tests/k8s_bundles.py`).

Through the real entry point (`aisre triage --bundle DIR --json`): the right cause
ranks first and cites the event evidence, with its `kubectl` command; where the events
are the only telling evidence, the same bundle without `events/` does not find it;
the decoy's Normal chatter and an unrelated Warning do not win. Then the capture
side: a Context with events written by `bundle capture` reads back the same and
triages to the same ranking.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from aisre_cli.ui.cli.app import main
from tests import k8s_bundles as kb
from tests.conftest import REPO

SCHEMA = json.loads((REPO / "docs" / "triage.schema.json").read_text())


def triage(capsys: pytest.CaptureFixture[str], bundle: Path) -> dict[str, Any]:
    try:
        main(["triage", "--bundle", str(bundle), "--json"])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    assert code == 0, out.err
    data: dict[str, Any] = json.loads(out.out)
    jsonschema.validate(data, SCHEMA)
    return data


def cited(data: dict[str, Any], rank: int = 0) -> list[dict[str, Any]]:
    h = data["hypotheses"][rank]
    return [e for e in data["evidence"] if e["id"] in h["evidence"]]


def events_of(data: dict[str, Any], rank: int = 0) -> list[dict[str, Any]]:
    return [e for e in cited(data, rank) if e["kind"] == "event"]


def test_oom_crash_loop_after_a_deploy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = triage(capsys, kb.write(kb.oom_after_deploy(), tmp_path))
    top = data["hypotheses"][0]
    assert top["service"] == "payments" and top["kind"] in ("crash_loop", "deploy"), top
    assert not data["verdict"]["escalate"]
    ev = events_of(data)
    assert ev, cited(data)
    crash = ev[0]
    assert crash["service"] == "payments" and crash["family"] == "restarts"
    assert "OOMKilled" in crash["summary"] and "BackOff" in crash["summary"]
    assert crash["query"].startswith("kubectl --context prod --namespace shop")
    assert crash["ref"].startswith("events/k8s.jsonl:")
    assert any("exceeded its memory limit" in x for x in crash["excerpt"])
    # both readings are offered, at the same service; the innocent config change is not
    kinds = {(h["kind"], h["service"]) for h in data["hypotheses"][:2]}
    assert kinds == {("deploy", "payments"), ("crash_loop", "payments")}
    deploy = next(h for h in data["hypotheses"] if h["kind"] == "deploy")
    assert deploy["subject"] == "deploy-501"
    assert "k8s_events" in deploy["features"]


def test_a_rollout_only_the_cluster_recorded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    story = kb.rollout_only()
    data = triage(capsys, kb.write(story, tmp_path / "with"))
    top = data["hypotheses"][0]
    assert (top["kind"], top["service"], top["subject"]) == (
        "deploy",
        "checkout",
        story.truth["change_id"],
    )
    assert not data["verdict"]["escalate"]
    change = next(e for e in cited(data) if e["kind"] == "change")
    assert "checkout-5f4c2a1d7 → checkout-6b7d8c9f5" in change["summary"]
    assert change["query"].startswith("events/k8s.jsonl:")
    probe = events_of(data)
    assert probe and "Unhealthy x18" in probe[0]["summary"]
    # without the cluster's record there is no change to blame: escalate, not guess
    bare = triage(capsys, kb.write(story, tmp_path / "without", events=False))
    assert bare["verdict"]["escalate"]
    assert all(h["kind"] != "deploy" or h["service"] != "checkout" for h in bare["hypotheses"])


def test_a_node_under_memory_pressure_evicting_pods(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    story = kb.node_pressure()
    data = triage(capsys, kb.write(story, tmp_path / "with"))
    top = data["hypotheses"][0]
    assert (top["kind"], top["service"], top["subject"]) == (
        "resource_saturation",
        "search",
        "memory",
    )
    assert not data["verdict"]["escalate"]
    cap = events_of(data)
    assert cap and cap[0]["family"] == "memory"
    for reason in ("Evicted", "FailedScheduling", "EvictionThresholdMet"):
        assert reason in cap[0]["summary"]
    bare = triage(capsys, kb.write(story, tmp_path / "without", events=False))
    assert bare["hypotheses"][0]["kind"] != "resource_saturation"


def test_normal_chatter_and_an_unrelated_warning_do_not_win(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    story = kb.decoy()
    data = triage(capsys, kb.write(story, tmp_path / "with"))
    bare = triage(capsys, kb.write(story, tmp_path / "without", events=False))
    for d in (data, bare):
        top = d["hypotheses"][0]
        assert (top["kind"], top["service"], top["subject"]) == ("deploy", "payments", "deploy-601")
        assert not d["verdict"]["escalate"]
    assert data["hypotheses"][0]["confidence"] >= 0.9
    # the batch job's crash loop is reported, far behind; no Normal event became evidence
    reporter = [h for h in data["hypotheses"] if h["service"] == "reporter"]
    assert all(h["confidence"] < 0.05 for h in reporter)
    for e in data["evidence"]:
        if e["kind"] == "event":
            assert e["service"] == "reporter", e
    # an autoscaler resizing web is not a rollout
    assert not any((h["subject"] or "").startswith("rollout:") for h in data["hypotheses"])


# ------------------------------------------------------------------ capture


def _gathered(bundle: Path) -> Any:
    from aisre_cli.investigate.gather import gather
    from aisre_cli.sources.registry import bundle_set

    src = bundle_set(bundle)
    assert src.bundle is not None
    alerts = src.bundle.list_alerts()
    ctx = gather(src, alerts[0], alerts, lookback_s=3600, lookahead_s=3600)
    ctx.window = src.bundle.window
    return ctx


def test_capture_writes_events_that_read_back(tmp_path: Path) -> None:
    from aisre_cli.settings.secrets import register_secret
    from aisre_cli.sources.bundle import BundleSource
    from aisre_cli.sources.capture import capture_bundle

    ctx = _gathered(kb.write(kb.oom_after_deploy(), tmp_path / "src"))
    assert ctx.events
    secret = "evt-canary-51c0ffee"
    register_secret(secret)
    ctx.events[0].message = f"probe said token={secret}"
    out = capture_bundle(ctx, tmp_path / "out", events=True)
    lines = (out / "events" / "events.jsonl").read_text().splitlines()
    assert len(lines) == len(ctx.events)
    assert secret not in "".join(lines)
    first = json.loads(lines[0])
    assert list(first)[:7] == ["ts", "service", "reason", "type", "message", "object", "count"]
    oom = next(json.loads(x) for x in lines if '"OOMKilled"' in x)
    # attributes flattened to top-level keys; the kubectl command kept as `query`
    assert oom["exit_code"] == 137 and oom["container"] == "payments"
    assert oom["first_timestamp"] == "2025-06-01T10:38:00Z"
    assert oom["query"].startswith("kubectl --context prod")
    b = BundleSource(out)
    b.validate()
    back = b.fetch_events(b.window.start, b.window.end)
    want = sorted(ctx.events, key=lambda e: (e.ts, e.service, e.reason, e.object))
    assert len(back) == len(want)
    for got, exp in zip(back, want, strict=True):
        assert got.ts == pytest.approx(exp.ts, abs=1e-6)
        assert (got.service, got.reason, got.type, got.object, got.count, got.query) == (
            exp.service,
            exp.reason,
            exp.type,
            exp.object,
            exp.count,
            exp.query,
        )
        assert got.attrs == exp.attrs
        assert got.message == exp.message or secret in exp.message
        assert got.ref.startswith("events/events.jsonl:")


def test_captured_events_triage_the_same(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from aisre_cli.sources.capture import capture_bundle

    src = kb.write(kb.rollout_only(), tmp_path / "src")
    out = capture_bundle(_gathered(src), tmp_path / "out", events=True)
    a, b = triage(capsys, src), triage(capsys, out)

    def ranking(d: dict[str, Any]) -> list[tuple[str, str, str | None, float]]:
        return [(h["kind"], h["service"], h["subject"], h["confidence"]) for h in d["hypotheses"]]

    assert ranking(a) == ranking(b)
    assert ranking(a)[0][2] == "rollout:deployment/checkout:checkout-6b7d8c9f5"


def test_event_folder_only_with_an_event_source(tmp_path: Path) -> None:
    from aisre_cli.sources.capture import capture_bundle

    ctx = _gathered(kb.write(kb.oom_after_deploy(), tmp_path / "src", events=False))
    assert ctx.events == []
    assert not (capture_bundle(ctx, tmp_path / "none") / "events").exists()
    asked = capture_bundle(ctx, tmp_path / "asked", events=True)
    assert (asked / "events" / "events.jsonl").read_bytes() == b""


# ------------------------------------------------------------------ console


def test_console_shows_event_evidence_and_warnings_on_the_timeline(tmp_path: Path) -> None:
    """The incident screen of a bundle with events: the evidence pane cites the event
    row like any other evidence, and the timeline lists Warning events (not Normal)."""
    import asyncio
    from datetime import UTC, datetime

    from textual.message import Message

    from aisre_cli.settings.config import Profile, Sources
    from aisre_cli.sources.registry import build_sources
    from aisre_cli.ui.tui.app import ConsoleApp
    from aisre_cli.ui.tui.backend import Backend
    from aisre_cli.ui.tui.screens.incident import IncidentScreen
    from aisre_cli.ui.tui.widgets.evidence import EvidencePane
    from aisre_cli.ui.tui.widgets.timeline import Timeline
    from tests.test_console import of, settle

    bundle = kb.write(kb.oom_after_deploy(), tmp_path)
    prof = Profile(environment="demo", sources=Sources(bundle=str(bundle)))
    now = datetime(2025, 6, 1, 10, 55, tzinfo=UTC)
    backend = Backend("k8s", prof, build_sources(prof, bundle), clock=lambda: now)
    app = ConsoleApp(backend, refresh_s=0)

    async def flow() -> None:
        messages: list[Message] = []
        async with app.run_test(size=(160, 50), message_hook=messages.append) as pilot:
            await settle(pilot)
            await pilot.press("enter")
            await settle(pilot)
            incident = app.screen
            assert isinstance(incident, IncidentScreen)
            assert incident.inv is not None
            report = incident.inv.report
            top = report.verdict.hypotheses[0]
            shown = of(messages, EvidencePane.Changed)[-1]
            event_ids = [e.id for e in report.evidence if e.kind == "event"]
            assert set(event_ids) & set(shown.cited), (event_ids, shown.cited)
            body = str(incident.query_one(EvidencePane).body.render())
            assert "[event]" in body and "OOMKilled" in body and "kubectl --context" in body
            tl = incident.query_one(Timeline).events
            texts = [e.text for e in tl if e.kind == "event"]
            assert any(t.startswith("OOMKilled pod/payments") for t in texts), texts
            assert any(t.startswith("BackOff pod/payments") for t in texts), texts
            assert not any(t.startswith(("Pulled", "Started", "Scheduled")) for t in texts)
            assert top.service == "payments"

    asyncio.run(flow())


def test_timeline_keeps_the_latest_warnings_only() -> None:
    from aisre_cli.model import Event
    from aisre_cli.ui.tui.widgets.timeline import MAX_CLUSTER_EVENTS, events_for

    many = [
        Event(ts=1_750_000_000.0 + i, service="api", reason="BackOff", message="m\nx" * 200)
        for i in range(MAX_CLUSTER_EVENTS + 50)
    ]
    normal = Event(ts=1_750_000_000.0, service="api", reason="Pulled", type="Normal")
    got = events_for([], [], None, [], [*many, normal])
    assert len(got) == MAX_CLUSTER_EVENTS
    assert got[0].ts.timestamp() == 1_750_000_050.0  # the oldest 50 dropped
    assert all(len(e.text) <= 300 for e in got)
