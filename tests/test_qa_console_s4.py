"""Console defects found driving `aisre console` in tmux as an on-call engineer would
(QA pass, session 4): the inbox cursor after a refresh, the step card at the prompt on
a narrow terminal, and the audit view's records at 80 columns.

Pilot tests on the demo bundle; they wait on app state (`settle`), never on sleeps.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest
from textual.message import Message
from textual.widgets import DataTable, Static

from aisre_cli.model import Alert
from aisre_cli.sources.registry import build_sources
from aisre_cli.ui.tui.messages import RunFinished
from aisre_cli.ui.tui.screens.audit import AuditScreen
from aisre_cli.ui.tui.screens.inbox import InboxScreen
from aisre_cli.ui.tui.screens.incident import IncidentScreen
from tests.conftest import DEMO
from tests.test_console import (
    demo_app,
    demo_backend,
    demo_profile,
    of,
    open_incident,
    open_runbooks,
    profile_with_book,
    settle,
    shown_text,
    start_rollback,
    use_fake_kubectl,
)

# ---------------------------------------------------------------- inbox


class ChangingAlerts:
    """An alert source whose answer the test changes between two refreshes."""

    name = "alertmanager"

    def __init__(self, alerts: list[Alert]) -> None:
        self.alerts = alerts

    def list_alerts(self) -> list[Alert]:
        return list(self.alerts)


def other_alert(base: Alert, fp: str, name: str, service: str, severity: str) -> Alert:
    labels = {**base.labels, "alertname": name, "service": service, "severity": severity}
    return base.model_copy(
        update={"id": fp, "name": name, "service": service, "severity": severity, "labels": labels}
    )


def test_a_refresh_keeps_the_cursor_on_the_incident_not_on_its_row() -> None:
    """The engineer highlights the second incident; the 30 s refresh brings a new
    critical one that sorts above it. The cursor stays on the incident it was on, so
    enter opens that one, not whatever now sits on the same row."""
    prof = demo_profile()
    demo = build_sources(prof, DEMO)
    alerts = demo.alerts[0].list_alerts()
    batch = other_alert(alerts[1], "aaaa000011112222", "BatchJobFailed", "batch", "warning")
    billing = other_alert(alerts[1], "bbbb000011112222", "BillingDown", "billing", "critical")
    source = ChangingAlerts([*alerts, batch])
    sources = dataclasses.replace(demo, alerts=[source], bundle=None)

    async def flow() -> None:
        messages: list[Message] = []
        app = demo_app(demo_backend(sources, prof))
        async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
            await settle(pilot)
            inbox = app.screen
            assert isinstance(inbox, InboxScreen)
            assert [i.head.name for i in inbox.shown] == ["CheckoutHighErrorRate", "BatchJobFailed"]
            await pilot.press("down")
            await pilot.pause()
            picked = inbox.selected()
            assert picked is not None and picked.head.name == "BatchJobFailed"

            source.alerts = [*alerts, batch, billing]
            await pilot.press("r")
            await settle(pilot)
            names = [i.head.name for i in inbox.shown]
            assert names == ["CheckoutHighErrorRate", "BillingDown", "BatchJobFailed"], names
            now = inbox.selected()
            assert now is not None and now.head.name == "BatchJobFailed"
            table = inbox.query_one("#inbox-table", DataTable)
            assert table.cursor_row == 2

            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, IncidentScreen)
            assert app.screen.alert.name == "BatchJobFailed"

    asyncio.run(flow())


# ---------------------------------------------------------------- the step prompt


def many_steps_book(reads: int) -> str:
    """`reads` read-only steps, then the rollback that waits for a y."""
    steps = "".join(
        f"""
  - id: look-{i}
    title: Show the deployment, look number {i}
    capability: kubectl.get
    inputs:
      kind: deployment
      name: "{{{{ service }}}}"
"""
        for i in range(reads)
    )
    return f"""\
id: aa-many-steps
title: Look many times, then roll back (test)
applies_to:
  kinds: [deploy]
params:
  service:
    type: name
    from: service
steps:{steps}
  - id: rollback
    title: Roll back to the previous revision
    capability: kubectl.rollout_undo
    confirm: true
    inputs:
      kind: deployment
      name: "{{{{ service }}}}"
    verify:
      query: >-
        sum(rate(http_requests_total{{service="{{{{ service }}}}",code=~"5.."}}[5m]))
        / sum(rate(http_requests_total{{service="{{{{ service }}}}"}}[5m]))
      expect: "< 0.05"
      timeout: 5m
    undo: auto
"""


@pytest.mark.parametrize(
    ("size", "reads"),
    [((80, 24), 7), ((64, 24), 2)],
    ids=["80x24-eight-steps", "64x24-three-steps"],
)
def test_the_prompt_and_the_whole_step_card_stay_on_screen(
    _aisre_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    size: tuple[int, int],
    reads: int,
) -> None:
    """At the y/n prompt the engineer sees the step card whole (action, verify, undo
    and the decision: what y confirms) and the prompt line. An eight-step runbook at
    80x24 pushed the prompt under the footer; at 64 columns the card's wrapped lines
    were cut after `verify:`, so `undo:` and `decision:` were not shown."""
    use_fake_kubectl(_aisre_home, monkeypatch)
    profile = profile_with_book(tmp_path, many_steps_book(reads))

    async def flow() -> None:
        messages: list[Message] = []
        app = demo_app(demo_backend(profile=profile))
        async with app.run_test(size=size, message_hook=messages.append) as pilot:
            await open_incident(pilot, messages)
            screen = await open_runbooks(pilot)
            assert [rb.id for rb in screen.books][0] == "aa-many-steps"
            await pilot.press("enter")  # plan
            await settle(pilot)
            await pilot.press("enter")  # start: the reads run, the rollback asks
            await settle(pilot)
            assert screen.mode == "ask" and screen.current is not None
            assert screen.current.id == "rollback"

            assert screen.virtual_size.height <= screen.size.height, "the screen scrolls"
            prompt = screen.query_one("#rb-prompt", Static)
            assert prompt.region.bottom <= app.size.height - 1, "the prompt is under the footer"
            assert "Run this step?" in shown_text(prompt)

            card = screen.query_one("#rb-step", Static)
            inner = card.content_region.width
            need = card.get_content_height(screen.size, screen.size, inner)
            assert card.content_region.height >= need, (card.content_region, need)
            text = shown_text(card)
            for part in ("action: kubectl", "verify:", "undo:", "decision: confirm"):
                assert part in text, (part, text)

            plan = screen.query_one("#rb-plan", DataTable)
            assert "▶" in shown_text(plan), "the plan shows the step on the card"

    asyncio.run(flow())


# ---------------------------------------------------------------- the audit view


def test_the_audit_view_shows_why_a_step_failed_in_full_at_80_columns(
    _aisre_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rollback that fails: `aisre audit show` prints the result record's error; the
    console's audit view listed only `step=rollback ok=False`, and at 80 columns cut
    the `what` column mid-word. Now the record carries the same fields as the CLI and
    the highlighted record is shown in full under the table."""
    use_fake_kubectl(_aisre_home, monkeypatch)
    monkeypatch.setenv("FAKE_KUBECTL_FAIL", "rollout undo")

    async def flow() -> None:
        messages: list[Message] = []
        app = demo_app()
        async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
            await open_incident(pilot, messages)
            await start_rollback(pilot, messages)
            await pilot.press("y")
            await settle(pilot)
            (fin,) = of(messages, RunFinished)
            assert fin.summary.status == "failed"

            await pilot.press("u")
            await settle(pilot)
            audit = app.screen
            assert isinstance(audit, AuditScreen)
            events = [r.event for r in audit.records]
            failed = max(
                i for i, r in enumerate(audit.records) if r.event == "result" and not r.data["ok"]
            )
            detail = audit.query_one("#audit-detail", Static)
            assert "status=failed" in shown_text(detail), "the last record, at first"

            await pilot.press("tab")  # from the runs to the records
            for _ in range(len(events) - 1 - failed):
                await pilot.press("up")
            await pilot.pause()
            text = " ".join(shown_text(detail).split())
            assert f"#{audit.records[failed].seq} result" in text, text
            assert "step=rollback attempt=1 ok=False" in text, text
            assert "error=kubectl exited 1: error: simulated failure for 'rollout undo'" in text

    asyncio.run(flow())
