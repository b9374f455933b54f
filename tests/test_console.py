"""The incident console driven through Textual's Pilot on the demo bundle.

Behaviour is asserted on the messages the screens and workers post (`message_hook`),
never on sleeps: `settle()` waits for every worker and pending message. The fake
`kubectl` (tests/fakes) records each call, so "nothing ran" is checked on its log.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import DataTable, RichLog, Static

from aisre_cli.govern.audit import AuditLog
from aisre_cli.model import Alert
from aisre_cli.settings.config import Profile, Sources
from aisre_cli.sources.registry import SourceSet, build_sources, bundle_set
from aisre_cli.ui.tui.app import ConsoleApp
from aisre_cli.ui.tui.backend import Backend
from aisre_cli.ui.tui.messages import (
    InboxLoaded,
    IncidentLoaded,
    LoadFailed,
    PreviewShown,
    RunFinished,
    RunStarted,
    StepRan,
    StepSkipped,
    StepVerified,
)
from aisre_cli.ui.tui.screens.audit import AuditScreen
from aisre_cli.ui.tui.screens.confirm import ConfirmScreen
from aisre_cli.ui.tui.screens.handoff import HandoffScreen
from aisre_cli.ui.tui.screens.help import HelpScreen
from aisre_cli.ui.tui.screens.inbox import InboxScreen
from aisre_cli.ui.tui.screens.incident import IncidentScreen
from aisre_cli.ui.tui.screens.runbook import RunbookScreen
from aisre_cli.ui.tui.widgets.evidence import EvidencePane
from aisre_cli.ui.tui.widgets.hypotheses import HypothesisList
from aisre_cli.ui.tui.widgets.logs import LogExcerpt
from aisre_cli.ui.tui.widgets.plot import SeriesPlot
from aisre_cli.ui.tui.widgets.status import SourceStatusBar
from aisre_cli.ui.tui.widgets.timeline import Timeline
from tests.conftest import DEMO, PETSHOP
from tests.fakes.env import FAKES

FIXED_NOW = datetime(2025, 3, 11, 13, 45, 0, tzinfo=UTC)
"""Ten minutes after the demo alert fired: ages in the inbox never change."""


def demo_profile() -> Profile:
    return Profile(environment="demo", kube_context="ctx-test", sources=Sources(bundle=str(DEMO)))


def demo_backend(sources: SourceSet | None = None, profile: Profile | None = None) -> Backend:
    prof = profile or demo_profile()
    return Backend("demo", prof, sources or build_sources(prof, DEMO), clock=lambda: FIXED_NOW)


def demo_app(
    backend: Backend | None = None, alert_id: str | None = None, theme: str | None = None
) -> ConsoleApp:
    return ConsoleApp(backend or demo_backend(), alert_id=alert_id, refresh_s=0, theme=theme)


def use_fake_kubectl(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Put tests/fakes first on PATH; returns the file the fake records its argv in."""
    log = home / "kubectl.jsonl"
    monkeypatch.setenv("PATH", f"{FAKES}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("FAKE_KUBECTL_LOG", str(log))
    return log


async def settle(pilot: Pilot[None], rounds: int = 20) -> None:
    """Wait until no worker runs and no message is pending (a handler may start
    another worker: a step that needs no answer runs right after the previous one)."""
    app = pilot.app
    for _ in range(rounds):
        await app.workers.wait_for_complete()
        await pilot.pause()
        if not any(w.is_running for w in app.workers):
            await pilot.pause()
            if not any(w.is_running for w in app.workers):
                return


# ---------------------------------------------------------------- the main flow


def of(messages: list[Message], kind: type[Any]) -> list[Any]:
    """Messages of one type, each once (a message that bubbles is seen at every hop)."""
    seen: set[int] = set()
    out: list[Any] = []
    for m in messages:
        if isinstance(m, kind) and id(m) not in seen:
            seen.add(id(m))
            out.append(m)
    return out


def kubectl_argv(log: Path) -> list[list[str]]:
    if not log.exists():
        return []
    return [json.loads(x)["argv"] for x in log.read_text().splitlines() if x.strip()]


def real_undo_calls(log: Path) -> list[list[str]]:
    return [a for a in kubectl_argv(log) if "undo" in a and "--dry-run=server" not in a]


async def open_incident(pilot: Pilot[None], messages: list[Message]) -> IncidentScreen:
    await settle(pilot)
    assert isinstance(pilot.app.screen, InboxScreen)
    (loaded,) = of(messages, InboxLoaded)
    assert loaded.inbox.incidents[0].head.name == "CheckoutHighErrorRate"
    await pilot.press("enter")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, IncidentScreen)
    return screen


async def open_runbooks(pilot: Pilot[None]) -> RunbookScreen:
    """`r` on the incident screen: the runbooks that fit the highlighted hypothesis."""
    await pilot.press("r")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, RunbookScreen)
    return screen


def profile_with_book(tmp_path: Path, book: str) -> Profile:
    """The demo profile with one more runbook folder holding `book`."""
    books = tmp_path / "books"
    books.mkdir()
    (books / "zz.yaml").write_text(book, encoding="utf-8")
    return demo_profile().model_copy(update={"runbook_dirs": [str(books)], "namespace": "shop"})


async def start_rollback(pilot: Pilot[None], messages: list[Message]) -> RunbookScreen:
    screen = await open_runbooks(pilot)
    assert [rb.id for rb in screen.books][0] == "rollback-bad-deploy"
    calls_before = len(kubectl_argv(Path(os.environ["FAKE_KUBECTL_LOG"])))
    await pilot.press("enter")
    await settle(pilot)
    assert of(messages, RunStarted)
    # planning runs nothing, not even the read-only `kubectl get`: enter starts the run
    assert screen.mode == "planned"
    assert len(kubectl_argv(Path(os.environ["FAKE_KUBECTL_LOG"]))) == calls_before
    await pilot.press("enter")
    await settle(pilot)
    # step 1 (kubectl get, read-only) runs by policy; step 2 (rollout undo) waits for us
    assert screen.mode == "ask"
    assert screen.current is not None and screen.current.id == "rollback"
    return screen


def test_main_flow_inbox_incident_hypotheses_runbook_dry_run_confirm_audit(
    _aisre_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = use_fake_kubectl(_aisre_home, monkeypatch)

    async def flow() -> None:
        messages: list[Message] = []
        app = demo_app()
        async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
            incident = await open_incident(pilot, messages)
            (inv,) = of(messages, IncidentLoaded)
            top = inv.investigation.report.verdict.hypotheses[0]
            assert (top.kind, top.service) == ("deploy", "payments")

            # the evidence pane follows the cursor through the hypotheses
            shown = of(messages, EvidencePane.Changed)
            assert shown[-1].rank == 1 and shown[-1].cited == top.evidence
            plot = incident.query_one(SeriesPlot)
            assert plot.data is not None and plot.data.onset is not None
            assert plot.data.changes, "change events are marked on the plot"
            await pilot.press("down")
            await pilot.pause()
            second = of(messages, EvidencePane.Changed)[-1]
            assert second.rank == 2 and second.cited != top.evidence
            await pilot.press("down")
            await pilot.pause()
            assert of(messages, EvidencePane.Changed)[-1].rank == 3
            await pilot.press("up", "up")
            await pilot.pause()
            assert of(messages, EvidencePane.Changed)[-1].rank == 1
            assert incident.query_one(EvidencePane).cited == top.evidence
            assert incident.query_one(Timeline).events, "alerts and changes on the timeline"

            screen = await start_rollback(pilot, messages)
            assert real_undo_calls(log) == []

            await pilot.press("d")
            await settle(pilot)
            (pv,) = of(messages, PreviewShown)
            assert pv.step_id == "rollback" and pv.preview.ok
            assert any("--dry-run=server" in a for a in kubectl_argv(log))
            assert real_undo_calls(log) == [], "a dry run wrote"

            await pilot.press("y")
            await settle(pilot)
            ran = {m.step_id: m.outcome for m in of(messages, StepRan)}
            assert ran["rollback"].ok and ran["wait-rollout"].ok
            assert len(real_undo_calls(log)) == 1
            (fin,) = of(messages, RunFinished)
            # the demo profile has no Prometheus: the rollback's check cannot be made
            (ver,) = of(messages, StepVerified)
            assert ver.step_id == "rollback" and ver.result.skipped
            assert fin.summary.status == "unverified" and fin.exit_code == 6
            assert screen.head == fin.summary.head

            # the audit log holds the confirmation bound to the action, then the result
            run = fin.summary.run_id
            recs = [r for r in AuditLog().records() if r.run == run]
            events = [(r.event, r.data.get("step")) for r in recs]
            assert ("dry_run", "rollback") in events
            assert ("confirm", "rollback") in events
            assert ("intent", "rollback") in events and ("result", "rollback") in events
            assert events[-1][0] == "run_end"
            assert AuditLog().head()[1] == fin.summary.head

            # and the audit view shows it
            await pilot.press("u")
            await settle(pilot)
            audit = app.screen
            assert isinstance(audit, AuditScreen)
            assert audit.run_id == run and [r.seq for r in audit.records] == [r.seq for r in recs]

            # back on the incident, the timeline lists the actions taken
            await pilot.press("escape", "escape")
            await settle(pilot)
            assert app.screen is incident
            kinds = [e.kind for e in incident.query_one(Timeline).events]
            assert "action" in kinds and "change" in kinds and "alert" in kinds

    asyncio.run(flow())


def test_only_an_exact_y_runs_and_n_skips_a_aborts(
    _aisre_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = use_fake_kubectl(_aisre_home, monkeypatch)

    async def flow() -> None:
        messages: list[Message] = []
        app = demo_app()
        async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
            await open_incident(pilot, messages)
            screen = await start_rollback(pilot, messages)
            for key in ("Y", "shift+y", "enter", "space", "x", "1", "escape", "tab"):
                await pilot.press(key)
                await settle(pilot)
            assert real_undo_calls(log) == [], "something other than y ran the step"
            assert isinstance(app.screen, RunbookScreen) and screen.mode == "ask"
            await pilot.press("n")
            await settle(pilot)
            # wait-rollout watches the rollback: skipped with it, never run on its own
            skipped = of(messages, StepSkipped)
            assert [m.step_id for m in skipped] == ["rollback", "wait-rollout"]
            assert "depends on step rollback" in skipped[1].reason
            (fin,) = of(messages, RunFinished)
            assert fin.summary.steps["rollback"] == "skipped"
            assert fin.summary.steps["wait-rollout"] == "skipped"
            assert not [a for a in kubectl_argv(log) if "status" in a]
            assert real_undo_calls(log) == []

    asyncio.run(flow())


def test_abort_stops_the_run_and_says_how_to_resume(
    _aisre_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = use_fake_kubectl(_aisre_home, monkeypatch)

    async def flow() -> None:
        messages: list[Message] = []
        app = demo_app()
        async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
            await open_incident(pilot, messages)
            await start_rollback(pilot, messages)
            await pilot.press("a")
            await settle(pilot)
            (fin,) = of(messages, RunFinished)
            assert fin.summary.status == "aborted"
            assert real_undo_calls(log) == []
            events = [r.event for r in AuditLog().records() if r.run == fin.summary.run_id]
            assert "abort" in events and events[-1] == "run_end"

    asyncio.run(flow())


def test_y_confirms_only_the_action_that_was_shown(
    _aisre_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The screen hands the session the digest of what it displayed; if that is not the
    action that would run, the session refuses and nothing runs."""
    log = use_fake_kubectl(_aisre_home, monkeypatch)

    async def flow() -> None:
        messages: list[Message] = []
        app = demo_app()
        async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
            await open_incident(pilot, messages)
            screen = await start_rollback(pilot, messages)
            screen.shown_digest = "0" * 64  # as if the screen showed a stale action
            await pilot.press("y")
            await settle(pilot)
            (refused,) = of(messages, LoadFailed)
            assert "not the action that would run" in refused.message
            assert real_undo_calls(log) == []
            assert not [m for m in of(messages, StepRan) if m.step_id == "rollback"]
            assert screen.mode == "ask", "the prompt comes back"

    asyncio.run(flow())


def test_quitting_at_the_prompt_stops_the_run_audited(
    _aisre_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = use_fake_kubectl(_aisre_home, monkeypatch)

    async def flow() -> str:
        messages: list[Message] = []
        app = demo_app()
        async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
            await open_incident(pilot, messages)
            screen = await start_rollback(pilot, messages)
            assert screen.session is not None
            run_id = screen.session.run_id
            await pilot.press("ctrl+q")
            await pilot.pause()
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("n")  # stay: nothing is stopped
            await pilot.pause()
            assert app.screen is screen and screen.mode == "ask"
            assert "stopped" not in [r.event for r in AuditLog().records() if r.run == run_id]
            await pilot.press("ctrl+q")
            await pilot.pause()
            await pilot.press("y")
            await pilot.pause()
        return run_id

    run_id = asyncio.run(flow())
    assert real_undo_calls(log) == []
    events = [(r.event, r.data.get("reason")) for r in AuditLog().records() if r.run == run_id]
    assert ("stopped", "console closed at the prompt") in events
    assert events[-1][0] == "run_end"


def test_alert_id_opens_directly_on_the_incident_with_logs_highlighted() -> None:
    async def flow() -> None:
        messages: list[Message] = []
        app = demo_app(alert_id="CheckoutHighErrorRate")
        async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, IncidentScreen)
            assert screen.alert.name == "CheckoutHighErrorRate"
            await pilot.press("l")
            await pilot.pause()
            lines = screen.query_one(LogExcerpt).lines_shown
            assert lines and any(ln.cited for ln in lines), "the cited template is highlighted"
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, InboxScreen)

    asyncio.run(flow())


def test_escalation_is_shown_prominently() -> None:
    """A bundle whose verdict is `escalate` gets the red banner, not a confident guess."""
    if not PETSHOP.is_dir():
        pytest.skip("petshop datasets not available")
    for bundle in sorted(PETSHOP.glob("petshop-*"))[:12]:
        prof = Profile(environment="test", sources=Sources(bundle=str(bundle)))
        backend = Backend("t", prof, build_sources(prof, bundle), clock=lambda: FIXED_NOW)
        focus = backend.focus_alert()
        if focus is None:
            continue
        inv = backend.investigate(backend.resolve(focus))
        if inv.report.verdict.escalate:
            break
    else:
        pytest.skip("no escalating bundle among the first petshop incidents")

    async def flow() -> None:
        app = demo_app(backend, alert_id=focus)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, IncidentScreen)
            verdict = screen.query_one("#verdict", Static)
            assert verdict.has_class("escalate")
            assert "ESCALATE" in str(verdict.render())
            await pilot.press("e")
            await settle(pilot)
            handoff = app.screen
            assert isinstance(handoff, HandoffScreen)
            assert handoff.markdown.startswith("# Escalation") or "Escalation" in handoff.markdown
            title = str(handoff.query_one("#handoff-title", Static).render())
            assert f"aisre escalate {handoff.report.alert.short_id}" in title

    asyncio.run(flow())


def test_command_palette_offers_the_console_actions() -> None:
    async def flow() -> None:
        app = demo_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            titles = {c.title for c in app.get_system_commands(app.screen)}
            assert {"Inbox", "Refresh inbox", "Audit log", "Help", "Light/dark"} <= titles
            await pilot.press("ctrl+p")
            await pilot.pause()
            assert type(app.screen).__name__ == "CommandPalette"

    asyncio.run(flow())


def test_filter_and_help_and_theme() -> None:
    async def flow() -> None:
        app = demo_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            inbox = app.screen
            assert isinstance(inbox, InboxScreen)
            # one incident, as `aisre alerts` shows it: the two alerts are on services
            # next to each other in the topology (payments <- checkout)
            assert len(inbox.shown) == 1
            assert sorted(a.name for a in inbox.shown[0].alerts) == [
                "CheckoutHighErrorRate",
                "PaymentsHighErrorRate",
            ]
            await pilot.press("slash", *"nomatch")
            await pilot.pause()
            assert inbox.shown == []
            await pilot.press("escape")
            await pilot.pause()
            assert len(inbox.shown) == 1
            await pilot.press("question_mark")
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, InboxScreen)
            await pilot.press("r")
            await settle(pilot)
            assert inbox.refreshes == 2, "r asks the sources again"
            before = app.theme
            await pilot.press("ctrl+t")
            await pilot.pause()
            assert app.theme != before

    asyncio.run(flow())


# ---------------------------------------------------------------- a hanging source


class HangingAlerts:
    """An alert source that never answers (until the test lets it go)."""

    name = "hanging"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.called = threading.Event()

    def list_alerts(self) -> list[Alert]:
        self.called.set()
        self.release.wait(30)
        return []


def test_hanging_source_keeps_the_ui_responsive_and_shows_failed() -> None:
    hang = HangingAlerts()
    demo = bundle_set(DEMO)
    sources = SourceSet(alerts=[hang, *demo.alerts])
    # The budget must outlast a few key presses on a loaded machine (5 s did not at load 20).
    profile = demo_profile().model_copy(update={"gather_budget_s": 20.0})
    backend = demo_backend(sources, profile)

    async def flow() -> None:
        messages: list[Message] = []
        app = demo_app(backend)
        try:
            async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
                await pilot.pause()
                inbox = app.screen
                assert isinstance(inbox, InboxScreen)
                bar = inbox.query_one(SourceStatusBar)
                worker = next(w for w in app.workers if w.group == "inbox")
                # keys work while the worker waits on the hanging source
                assert bar.status_of("hanging alerts") == "pending"
                await pilot.press("question_mark")
                await pilot.pause()
                assert isinstance(app.screen, HelpScreen)
                assert worker.is_running, "the refresh finished before the key was handled"
                assert not of(messages, InboxLoaded)
                await pilot.press("escape", "slash", *"check", "escape")
                await pilot.pause()
                assert isinstance(app.screen, InboxScreen)

                await settle(pilot)
                assert bar.status_of("hanging alerts") == "failed"
                note = bar.notes["hanging alerts"]
                assert note is not None and "budget" in note.detail
                assert "failed" in str(bar.render())
                # what the other source returned is shown anyway
                (loaded,) = of(messages, InboxLoaded)
                assert len(loaded.inbox.incidents) == 2
        finally:
            hang.release.set()

    asyncio.run(flow())


# ---------------------------------------------------------------- core look-ups, CLI


def test_every_cited_series_is_found_in_the_context() -> None:
    backend = demo_backend()
    alert = backend.resolve("CheckoutHighErrorRate")
    inv = backend.investigate(alert)
    metric = [e for e in inv.report.evidence if e.kind == "metric_anomaly"]
    assert metric
    for ev in metric:
        s = backend.series_for(inv, ev)
        assert s is not None, ev.id
        assert s.ref == ev.ref and s.service == ev.service


def test_console_is_registered_and_help_does_not_import_textual() -> None:
    code = (
        "import sys\n"
        "from aisre_cli.ui.cli.app import _register, app\n"
        "import typer.main\n"
        "_register()\n"
        "cmd = typer.main.get_command(app)\n"
        "assert 'console' in cmd.commands, sorted(cmd.commands)\n"
        "bad = [m for m in sys.modules if m == 'textual' or m.startswith('textual.')]\n"
        "assert not bad, bad[:5]\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = subprocess.run(
        [sys.executable, "-m", "aisre_cli", "console", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0 and "incident console" in out.stdout


UNDO_BOOK = """\
id: zz-rollback-verified
title: Roll back and check the rollout (test)
applies_to:
  kinds: [deploy]
params:
  service:
    type: name
    from: service
steps:
  - id: rollback
    title: Roll back to the previous revision
    capability: kubectl.rollout_undo
    confirm: true
    inputs:
      kind: deployment
      name: "{{ service }}"
    verify:
      capability: kubectl.rollout_status
      inputs:
        kind: deployment
        name: "{{ service }}"
        timeout: 10s
      timeout: 1s
      interval: 1s
    undo: auto
"""


def test_failed_verification_offers_the_undo_through_the_session(
    _aisre_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Verification fails (the fake kubectl fails `rollout status`): the screen offers
    the session's planned undo at the same one-keystroke prompt; y runs it, governed."""
    log = use_fake_kubectl(_aisre_home, monkeypatch)
    monkeypatch.setenv("FAKE_KUBECTL_FAIL", "rollout status")
    profile = profile_with_book(tmp_path, UNDO_BOOK)

    async def flow() -> None:
        messages: list[Message] = []
        app = demo_app(demo_backend(profile=profile))
        async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
            await open_incident(pilot, messages)
            screen = await open_runbooks(pilot)
            ids = [rb.id for rb in screen.books]
            assert "zz-rollback-verified" in ids
            for _ in range(ids.index("zz-rollback-verified")):
                await pilot.press("down")
            await pilot.press("enter")
            await settle(pilot)
            assert screen.mode == "planned"
            await pilot.press("enter")
            await settle(pilot)
            failed = of(messages, LoadFailed)
            assert screen.mode == "ask", [m.message for m in failed]
            await pilot.press("y")
            await settle(pilot)
            (ran,) = of(messages, StepRan)
            assert ran.outcome.ok, "the action itself ran"
            (ver,) = of(messages, StepVerified)
            assert not ver.result.ok and not ver.result.skipped
            assert screen.mode == "undo" and screen.current is not None
            assert screen.current.undo_of == "rollback"
            await pilot.press("y")
            await settle(pilot)
            undo = [m for m in of(messages, StepRan) if m.undo]
            assert len(undo) == 1 and undo[0].outcome.ok
            (fin,) = of(messages, RunFinished)
            assert fin.summary.status == "failed"
            assert fin.summary.steps["rollback"] == "undone"
            real = real_undo_calls(log)
            assert len(real) == 2, "the rollback, then its undo"
            events = [r.event for r in AuditLog().records() if r.run == fin.summary.run_id]
            assert events.count("confirm") == 2 and events.count("intent") == 2

    asyncio.run(flow())


def test_unknown_alert_id_says_so_and_stays_on_the_inbox() -> None:
    from textual.notifications import Notify

    async def flow() -> None:
        messages: list[Message] = []
        app = demo_app(alert_id="NoSuchAlert")
        async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
            await settle(pilot)
            assert isinstance(app.screen, InboxScreen)
            notes = [m.notification.message for m in of(messages, Notify)]
            assert any("no alert matches" in n for n in notes), notes

    asyncio.run(flow())


@pytest.mark.parametrize("key", ["\x11", "q"], ids=["ctrl+q", "q"])
def test_aisre_console_runs_in_a_terminal_and_quits(_aisre_home: Path, key: str) -> None:
    """The real command in a pseudo-terminal: it draws the inbox and ctrl+q, or plain
    q (issue 12 §3.16), exits 0."""
    import pexpect

    env = dict(os.environ, AISRE_HOME=str(_aisre_home), TERM="xterm-256color")
    env.pop("NO_COLOR", None)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "aisre_cli", "console", "--refresh", "0"],
        env=env,
        encoding="utf-8",
        timeout=20,
        dimensions=(24, 80),
    )
    try:
        child.expect("CheckoutHighErrorRate")
        child.send(key)
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0


def test_q_quits_the_console_and_asks_first_when_a_run_is_open(
    _aisre_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 12 §3.16: `q` quits (not only ctrl+q); with a run waiting at a prompt it
    asks first, as ctrl+q does, and `q` typed into the inbox filter is just text."""
    use_fake_kubectl(_aisre_home, monkeypatch)

    async def with_run() -> None:
        messages: list[Message] = []
        app = demo_app()
        async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
            await open_incident(pilot, messages)
            screen = await start_rollback(pilot, messages)
            await pilot.press("q")
            await pilot.pause()
            assert isinstance(app.screen, ConfirmScreen), "q asks before stopping a run"
            await pilot.press("n")
            await pilot.pause()
            assert app.screen is screen and screen.mode == "ask"

    asyncio.run(with_run())


class BrokenAlerts:
    name = "broken"

    def list_alerts(self) -> list[Alert]:
        from aisre_cli.errors import SourceError

        raise SourceError("connection refused")


def test_no_alerts_because_sources_failed_is_not_nothing_firing() -> None:
    backend = demo_backend(SourceSet(alerts=[BrokenAlerts()]))

    async def flow() -> None:
        app = demo_app(backend)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            inbox = app.screen
            assert isinstance(inbox, InboxScreen)
            empty = str(inbox.query_one("#inbox-empty", Static).render())
            assert "1 alert source(s) failed" in empty
            assert inbox.query_one(SourceStatusBar).status_of("broken alerts") == "failed"

    asyncio.run(flow())


@pytest.mark.parametrize(("size", "charts"), [((80, 24), 1), ((160, 48), 2)])
def test_series_charts_scale_with_the_terminal(size: tuple[int, int], charts: int) -> None:
    async def flow() -> None:
        app = demo_app(alert_id="CheckoutHighErrorRate")
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            plot = app.screen.query_one(SeriesPlot)
            assert len(plot.plots) == 3  # the deploy cites its harm series and two anomalies
            assert len(plot.shown()) == charts
            first = plot.shown()[0].title
            await pilot.press("n")
            await pilot.pause()
            assert plot.shown()[0].title != first, "n moves to the next cited series"

    asyncio.run(flow())


def test_a_service_split_between_kinds_shows_its_share() -> None:
    """When kinds split a service's probability, its first row says how sure the
    service itself is; later rows on the same service and unsplit rows do not."""
    from aisre_cli.model import Hypothesis
    from aisre_cli.ui.tui.widgets.hypotheses import hypothesis_label

    split = Hypothesis(
        rank=1,
        kind="deploy",
        service="checkout",
        statement="s",
        confidence=0.4,
        service_confidence=0.8,
    )
    assert "service 80%" in hypothesis_label(split).plain
    assert "service" not in hypothesis_label(split, first_of_service=False).plain
    whole = split.model_copy(update={"service_confidence": 0.42})
    assert "service 4" not in hypothesis_label(whole).plain


# ---------------------------------------------------------------- interrupting a step


async def until(pilot: Pilot[None], cond: Any, rounds: int = 1500) -> None:
    """Let the app run until `cond()` holds: for a worker that is *meant* to block (a
    step that hangs until it is interrupted), where `settle` would wait for it."""
    for _ in range(rounds):
        if cond():
            return
        await pilot.pause(0.01)
    raise AssertionError("condition never held")


def test_ctrl_c_interrupts_a_waiting_verification_audited_as_interrupted(
    _aisre_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rollback's check asks a Prometheus that refuses connections and would retry
    for 5 minutes: ctrl+c stops it through `remediate.interrupt` (as the CLI's Ctrl-C),
    the verification is audited `interrupted` and the run is stopped, resumable."""
    import socket

    from aisre_cli.remediate import interrupt
    from aisre_cli.settings.config import PrometheusSource
    from aisre_cli.ui.tui.messages import RunStopped

    use_fake_kubectl(_aisre_home, monkeypatch)
    closed = socket.socket()  # bound, never listening: connections are refused
    closed.bind(("127.0.0.1", 0))
    prom = PrometheusSource(url=f"http://127.0.0.1:{closed.getsockname()[1]}")
    profile = demo_profile().model_copy(
        update={"sources": Sources(bundle=str(DEMO), prometheus=prom), "namespace": "shop"}
    )

    async def flow() -> None:
        messages: list[Message] = []
        app = demo_app(demo_backend(profile=profile))
        async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
            await open_incident(pilot, messages)
            screen = await start_rollback(pilot, messages)
            await pilot.press("y")
            await until(pilot, lambda: type(screen.state).__name__ == "Verify")
            assert screen.mode == "busy" and screen.check_action("interrupt", ()) is not False
            await pilot.press("ctrl+c")
            await until(pilot, lambda: bool(of(messages, RunFinished)))
            await settle(pilot)
            (ver,) = of(messages, StepVerified)
            assert ver.result.interrupted == "Ctrl-C" and not ver.result.ok
            (stop,) = of(messages, RunStopped)
            assert stop.stopped.how == "interrupt"
            (fin,) = of(messages, RunFinished)
            assert fin.summary.status == "stopped" and fin.summary.resumable
            assert fin.summary.steps["wait-rollout"] == "pending", "nothing more ran"
            recs = [r for r in AuditLog().records() if r.run == fin.summary.run_id]
            verify = [r.data for r in recs if r.event == "verify"]
            assert verify[-1]["status"] == "interrupted" and verify[-1]["signal"] == "Ctrl-C"
            assert ("stopped", "interrupted: Ctrl-C") in [
                (r.event, r.data.get("reason")) for r in recs
            ]
            assert interrupt.pending() is None, "the process-wide flag is cleared"
            await pilot.press("escape")  # the run is over: the screen can be left
            await pilot.pause()
            assert isinstance(app.screen, IncidentScreen)

    try:
        asyncio.run(flow())
    finally:
        closed.close()


def test_a_interrupts_a_hanging_step_and_its_process_group(
    _aisre_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`a` while the rollback's kubectl hangs: its whole process group is terminated,
    the step is audited `interrupted` (it may or may not have run), the run stops."""
    from aisre_cli.ui.tui.messages import RunStopped

    use_fake_kubectl(_aisre_home, monkeypatch)
    pids = _aisre_home / "pids.jsonl"
    monkeypatch.setenv("FAKE_KUBECTL_HANG", "rollout undo deployment/payments")
    monkeypatch.setenv("FAKE_KUBECTL_PIDS", str(pids))

    async def flow() -> None:
        messages: list[Message] = []
        app = demo_app()
        async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
            await open_incident(pilot, messages)
            screen = await start_rollback(pilot, messages)
            await pilot.press("y")
            await until(pilot, lambda: pids.exists() and pids.read_text().strip() != "")
            await pilot.press("escape")  # leaving is refused while the step runs
            await pilot.pause()
            assert app.screen is screen and screen.mode == "busy"
            await pilot.press("a")
            await until(pilot, lambda: bool(of(messages, RunFinished)))
            await settle(pilot)
            (ran,) = [m for m in of(messages, StepRan) if m.step_id == "rollback"]
            assert not ran.outcome.ok
            assert "interrupted by the operator (a)" in str(ran.outcome.error)
            (stop,) = of(messages, RunStopped)
            assert stop.stopped.how == "interrupt"
            (fin,) = of(messages, RunFinished)
            assert fin.summary.steps["wait-rollout"] == "pending", "nothing more ran"
            recs = [r for r in AuditLog().records() if r.run == fin.summary.run_id]
            assert ("stopped", "interrupted: the operator (a)") in [
                (r.event, r.data.get("reason")) for r in recs
            ]
            (res,) = [r.data for r in recs if r.event == "result" and r.data["step"] == "rollback"]
            assert res["status"] == "interrupted" and res["signal"] == "the operator (a)"

    asyncio.run(flow())
    info = json.loads(pids.read_text().splitlines()[0])
    with pytest.raises(ProcessLookupError):
        os.killpg(info["pgid"], 0)


def test_ctrl_c_hint_renders_its_markup_and_outside_text_stays_plain() -> None:
    """Textual's own ctrl+c toast shows `Press ctrl+q to quit`, not its `[b]` tags; a toast
    quoting outside text still shows brackets as they are (no markup)."""
    from textual.widgets._toast import Toast

    async def flow() -> None:
        app = demo_app()
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            await settle(pilot)
            await pilot.press("ctrl+c")
            app.notify("[b]not bold[/b] [red]x")
            await pilot.pause()
            shown = [str(t.render()) for t in app.screen.query(Toast)]
            assert any(re.search(r"Press (ctrl\+)?q to quit the app", x) for x in shown), shown
            assert any("[b]not bold[/b] [red]x" in x for x in shown), shown

    asyncio.run(flow())


SCALE_BOOK = """\
id: zz-scale
title: Scale out (test)
applies_to:
  kinds: [deploy]
params:
  service:
    type: name
    from: service
  replicas:
    type: replicas
    description: The new replica count.
steps:
  - id: scale
    title: Scale out
    capability: kubectl.scale
    inputs:
      kind: deployment
      name: "{{ service }}"
      replicas: "{{ replicas }}"
"""


def test_a_verdict_value_the_runbook_rejects_points_to_the_cli(
    _aisre_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`replicas` taken from the verdict's service ("payments") is not a count: nothing is
    asked (the verdict gave a value), the plan fails, and the hint says the override
    is the CLI's `--param`, not a console key that would not help."""
    from textual.widgets import OptionList

    use_fake_kubectl(_aisre_home, monkeypatch)
    book = SCALE_BOOK.replace("    description: The new replica count.", "    from: service")
    profile = profile_with_book(tmp_path, book)

    async def flow() -> None:
        messages: list[Message] = []
        app = demo_app(demo_backend(profile=profile))
        async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
            await open_incident(pilot, messages)
            screen = await open_runbooks(pilot)
            ids = [rb.id for rb in screen.books]
            screen.query_one("#rb-choices", OptionList).highlighted = ids.index("zz-scale")
            await pilot.press("enter")
            await settle(pilot)
            assert app.screen is screen, "the verdict gave a value: nothing to ask"
            (failed,) = of(messages, LoadFailed)
            assert "replicas" in failed.message and "rejected" in failed.message
            log = screen.query_one("#rb-output", RichLog)
            shown = "\n".join(strip.text for strip in log.lines)
            assert "hint: in the CLI: pass a valid value with --param replicas=VALUE" in shown

    asyncio.run(flow())


def test_a_parameter_the_verdict_lacks_is_asked_for_and_validated(
    _aisre_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A runbook whose `replicas` the verdict cannot give: the console asks for it
    before planning (escape plans nothing), refuses what `--param` would refuse, and
    plans with the value entered; no CLI `--param` hint is shown."""
    from textual.widgets import OptionList

    from aisre_cli.ui.tui.screens.params import ParamsScreen

    log = use_fake_kubectl(_aisre_home, monkeypatch)
    profile = profile_with_book(tmp_path, SCALE_BOOK)

    async def choose(pilot: Pilot[None], screen: RunbookScreen) -> None:
        ids = [rb.id for rb in screen.books]
        screen.query_one("#rb-choices", OptionList).highlighted = ids.index("zz-scale")
        await pilot.press("enter")
        await pilot.pause()

    async def flow() -> None:
        messages: list[Message] = []
        app = demo_app(demo_backend(profile=profile))
        async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
            await open_incident(pilot, messages)
            screen = await open_runbooks(pilot)
            await choose(pilot, screen)
            assert isinstance(app.screen, ParamsScreen)
            await pilot.press("escape")
            await settle(pilot)
            assert app.screen is screen and screen.mode == "choose" and not of(messages, RunStarted)
            assert "replicas needs a value" in str(screen.query_one("#rb-prompt", Static).render())

            await choose(pilot, screen)
            modal = app.screen
            assert isinstance(modal, ParamsScreen)
            await pilot.press("x", "enter")
            await pilot.pause()
            assert app.screen is modal, "an invalid value is not taken"
            error = str(modal.query_one("#param-error-0", Static).render())
            assert error == "must be an integer"  # what `--param replicas=x` is told
            await pilot.press("backspace", "4", "enter")
            await settle(pilot)
            (started,) = of(messages, RunStarted)
            plan = started.session.plan
            assert plan.values["replicas"] == 4 and plan.values["service"] == "payments"
            assert screen.mode == "planned" and kubectl_argv(log) == []
            assert not of(messages, LoadFailed)

    asyncio.run(flow())


def test_hypothesis_rows_cut_names_in_the_middle_and_keep_the_service() -> None:
    """Two services that share a long prefix stay apart when the row is cut (the
    ellipsis goes in the middle), and the service is never cut before the kind."""
    from aisre_cli.model import Hypothesis
    from aisre_cli.ui.tui.widgets.hypotheses import hypothesis_label, middle

    assert middle("lambdastatusupdater_AWS::Lambda::Function", 16) == "lambdast…unction"
    assert middle("payments", 8) == "payments" and middle("payments", 1) == "…"
    short = Hypothesis(rank=1, kind="unknown", service="x", statement="s", confidence=0.2)
    rows = [
        hypothesis_label(short.model_copy(update={"service": s}), width=w).plain
        for w in (36, 50)
        for s in ("lambdastatusupdater_AWS::Lambda", "lambdastatusupdater_AWS::Lambda::Function")
    ]
    assert len(set(rows)) == 4, rows
    assert all(r.endswith(("Lambda", "nction")) and " lambdas" in r for r in rows), rows
    assert all(len(r) <= w for r, w in zip(rows, (36, 36, 50, 50), strict=True)), rows

    async def flow() -> None:
        app = demo_app(alert_id="CheckoutHighErrorRate")
        async with app.run_test(size=(60, 22)) as pilot:
            await settle(pilot)
            hyps = app.screen.query_one(HypothesisList)
            first = str(hyps.get_option_at_index(0).prompt)
            assert "deploy payments" in first, first  # not `100% deplo…`
            await pilot.resize_terminal(120, 40)
            await settle(pilot)
            assert "██████████ 100% deploy payments" in str(hyps.get_option_at_index(0).prompt)

    asyncio.run(flow())


def shown_text(widget: Any) -> str:
    """What a widget shows on screen, as plain text (its rendered lines)."""
    from textual.geometry import Region

    lines = widget.render_lines(Region(0, 0, widget.size.width, widget.size.height))
    return "\n".join(strip.text for strip in lines)


def test_inbox_row_names_the_service_of_its_own_alert() -> None:
    """The row shows CheckoutHighErrorRate: its service is checkout (`aisre alerts`
    says so), and `+1` counts the incident's other service (payments)."""

    async def flow() -> None:
        app = demo_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            inbox = app.screen
            assert isinstance(inbox, InboxScreen)
            head = inbox.shown[0].head
            row = inbox.query_one("#inbox-table", DataTable).get_row_at(0)
            assert head.name == "CheckoutHighErrorRate" and head.service == "checkout"
            assert str(row[2]) == "checkout +1", row

    asyncio.run(flow())


def test_80x24_loses_nothing_important_and_tiny_terminals_say_so(
    _aisre_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 80x24: no sideways scrolling in the inbox (the summary moves under the table),
    the verdict shows its `next:` line, the plan and the run output fit their width.
    At 60x15 a notice says how big the terminal must be, until it is resized."""
    from aisre_cli.ui.tui.screens.small import TooSmallScreen

    use_fake_kubectl(_aisre_home, monkeypatch)

    async def flow() -> None:
        messages: list[Message] = []
        app = demo_app()
        async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
            await settle(pilot)
            inbox = app.screen
            table = inbox.query_one("#inbox-table", DataTable)
            assert table.virtual_size.width <= table.scrollable_content_region.width
            summary = shown_text(inbox.query_one("#inbox-summary", Static))
            assert "checkout: error rate above 10.00%" in summary

            incident = await open_incident(pilot, messages)
            verdict = shown_text(incident.query_one("#verdict", Static))
            assert "next: run `aisre runbook run rollback-bad-deploy" in verdict, verdict

            screen = await start_rollback(pilot, messages)
            for wid in ("#rb-plan", "#rb-output"):
                w = screen.query_one(wid)
                assert w.virtual_size.width <= w.scrollable_content_region.width, wid
            assert "…" in shown_text(screen.query_one("#rb-plan")), "long titles end in …"

            await pilot.resize_terminal(60, 15)
            await pilot.pause()
            assert isinstance(app.screen, TooSmallScreen)
            assert "terminal too small (need 60x22)" in shown_text(app.screen.query_one(Static))
            await pilot.resize_terminal(80, 24)
            await pilot.pause()
            assert app.screen is screen

            await pilot.press("y")
            await settle(pilot)
            assert of(messages, RunFinished)
            assert not screen.query_one("#rb-step", Static).display, "no prompt after the end"

    asyncio.run(flow())
