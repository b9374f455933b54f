"""Console defects found driving `aisre console` as an on-call engineer would (QA pass):
a bundle that fails to load, sources that refuse connections, long alert names at 80
columns, a triage that failed, and the run output matching `aisre runbook run`.

Pilot tests on the demo bundle; they wait on app state (`settle`), never on sleeps.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
from textual.message import Message
from textual.notifications import Notify
from textual.widgets import DataTable, RichLog, Static

from aisre_cli.model import Alert
from aisre_cli.settings.config import Sources
from aisre_cli.sources.registry import SourceSet, build_sources
from aisre_cli.ui.tui.app import ConsoleApp
from aisre_cli.ui.tui.messages import LoadFailed, RunFinished
from aisre_cli.ui.tui.screens.confirm import ConfirmScreen
from aisre_cli.ui.tui.screens.inbox import InboxScreen
from aisre_cli.ui.tui.screens.incident import IncidentScreen
from aisre_cli.ui.tui.widgets.status import SourceStatusBar
from tests.conftest import DEMO
from tests.test_console import (
    demo_app,
    demo_backend,
    demo_profile,
    of,
    open_incident,
    settle,
    shown_text,
    start_rollback,
    use_fake_kubectl,
)

REFUSED = "alertmanager: GET http://127.0.0.1:9/api/v2/alerts failed: connection refused"


def bundle_app(bundle: Path, alert_id: str | None = None) -> ConsoleApp:
    prof = demo_profile().model_copy(update={"sources": Sources(bundle=str(bundle))})
    return demo_app(demo_backend(build_sources(prof, bundle), prof), alert_id=alert_id)


def log_text(screen: object) -> str:
    """The run output as one line (the log wraps at its width: a wrap is a space)."""
    out = screen.query_one("#rb-output", RichLog)  # type: ignore[attr-defined]
    return " ".join(" ".join(strip.text.split()) for strip in out.lines)


# ---------------------------------------------------------------- inbox


def test_an_inbox_that_cannot_load_says_why_until_a_refresh_works(tmp_path: Path) -> None:
    """A malformed bundle: the error stays on screen (not only in a toast that fades),
    the source is `failed`, not `pending` for ever, and the title is not `loading…`."""
    bundle = tmp_path / "broken"
    shutil.copytree(DEMO, bundle)
    good = (bundle / "alerts.json").read_text()
    (bundle / "alerts.json").write_text('[{"labels": \n')

    async def flow() -> None:
        messages: list[Message] = []
        app = bundle_app(bundle)
        async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
            await settle(pilot)
            inbox = app.screen
            assert isinstance(inbox, InboxScreen)
            assert of(messages, LoadFailed)
            title = shown_text(inbox.query_one("#inbox-title", Static))
            assert "loading" not in title and "could not load alerts" in title, title
            empty = inbox.query_one("#inbox-empty", Static)
            assert empty.display
            text = shown_text(empty)
            assert "alerts.json: invalid JSON" in text and "r retries" in text, text
            bar = inbox.query_one(SourceStatusBar)
            assert [bar.status_of(n) for n in bar.notes] == ["failed"], bar.notes

            (bundle / "alerts.json").write_text(good)
            await pilot.press("r")
            await settle(pilot)
            assert inbox.error is None and len(inbox.shown) == 1
            assert "could not load" not in shown_text(inbox.query_one("#inbox-title", Static))
            assert not inbox.query_one("#inbox-empty", Static).display

    asyncio.run(flow())


class RefusedAlerts:
    name = "alertmanager"

    def list_alerts(self) -> list[Alert]:
        from aisre_cli.errors import SourceError

        raise SourceError(REFUSED)


def test_a_refused_source_shows_its_reason_at_80_columns() -> None:
    """The reason is the end of a source error: the status bar keeps it (cut in the
    middle, not after 60 characters), and the empty inbox gives it in full."""
    backend = demo_backend(SourceSet(alerts=[RefusedAlerts()]))

    async def flow() -> None:
        app = demo_app(backend)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            inbox = app.screen
            assert isinstance(inbox, InboxScreen)
            status = inbox.query_one(SourceStatusBar)
            bar = status.render().plain
            assert status.render().cell_len <= status.content_size.width, bar
            assert "failed" in bar and "connection refused)" in bar, bar
            empty = shown_text(inbox.query_one("#inbox-empty", Static))
            assert "1 alert source(s) failed" in empty
            assert "connection refused" in empty and "aisre doctor" in empty, empty

    asyncio.run(flow())


LONG_NAME = "KubernetesPodCrashLoopingForAVeryLongTimeInProductionClusterEuWest1"
LONG_SERVICE = "checkout-service-with-a-very-long-deployment-name-v2"


def test_a_long_alert_name_does_not_push_the_other_columns_off_screen(tmp_path: Path) -> None:
    """One alert with a 68-character name at 80 columns: every row still shows its
    service, age, state and id; the long names are cut in the middle."""
    bundle = tmp_path / "long"
    shutil.copytree(DEMO, bundle)
    alerts = json.loads((bundle / "alerts.json").read_text())
    extra = json.loads(json.dumps(alerts[-1]))
    extra["fingerprint"] = "abcdef0123456789"
    extra["labels"].update(alertname=LONG_NAME, service=LONG_SERVICE)
    alerts.append(extra)
    (bundle / "alerts.json").write_text(json.dumps(alerts))

    async def flow() -> None:
        app = bundle_app(bundle)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            inbox = app.screen
            assert isinstance(inbox, InboxScreen)
            table = inbox.query_one("#inbox-table", DataTable)
            assert table.virtual_size.width <= table.scrollable_content_region.width
            shown = shown_text(table)
            assert "abcdef01" in shown and "179e723e" in shown, shown
            assert "checkout +1" in shown, "a short service is never cut"
            row = next(
                table.get_row_at(i)
                for i, inc in enumerate(inbox.shown)
                if inc.head.name == LONG_NAME
            )
            name, service = str(row[1]), str(row[2])
            assert "…" in name and name.startswith("Kube") and name.endswith("EuWest1")
            assert "…" in service and service.startswith("check")
            await pilot.resize_terminal(220, 30)
            await pilot.pause()
            row = table.get_row_at(
                inbox.shown.index(next(i for i in inbox.shown if i.head.name == LONG_NAME))
            )
            assert str(row[1]) == LONG_NAME and str(row[2]) == LONG_SERVICE, "room: not cut"

    asyncio.run(flow())


# ---------------------------------------------------------------- incident


def test_keys_after_a_failed_triage_do_not_say_still_investigating(tmp_path: Path) -> None:
    bundle = tmp_path / "badlog"
    shutil.copytree(DEMO, bundle)
    with (bundle / "logs" / "payments.jsonl").open("a") as fh:
        fh.write("garbage\n")

    async def flow() -> None:
        messages: list[Message] = []
        app = bundle_app(bundle, alert_id="CheckoutHighErrorRate")
        async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, IncidentScreen)
            assert screen.failed is not None and "payments.jsonl" in screen.failed
            for key in ("r", "e"):
                await pilot.press(key)
                await pilot.pause()
            said = [m.notification.message for m in of(messages, Notify)]
            assert not [s for s in said if "still investigating" in s], said
            assert len([s for s in said if "triage failed" in s]) >= 2, said
            assert app.screen is screen

    asyncio.run(flow())


# ---------------------------------------------------------------- runbook, as the CLI


def test_the_run_output_says_what_ran_and_what_was_not_verified_as_the_cli(
    _aisre_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`aisre runbook run` prints every step's action (also those that run without a
    question), its target, the verification's bound, and why a step is unverified; the
    console's output keeps the same after the step card moves on."""
    use_fake_kubectl(_aisre_home, monkeypatch)

    async def flow() -> None:
        messages: list[Message] = []
        app = demo_app()
        async with app.run_test(size=(200, 50), message_hook=messages.append) as pilot:
            await open_incident(pilot, messages)
            screen = await start_rollback(pilot, messages)
            card = shown_text(screen.query_one("#rb-step", Static))
            assert "target: context ctx-test" in card, card
            await pilot.press("y")
            await settle(pilot)
            (fin,) = of(messages, RunFinished)
            assert fin.summary.status == "unverified"
            out = log_text(screen)
            assert "step 1/3 inspect: kubectl --context ctx-test" in out, out
            assert "get deployment payments" in out, out
            assert "step 3/3 wait-rollout: kubectl --context ctx-test" in out
            assert "[5m])) < 0.05 (up to" in out, "the verification's bound is shown"
            unverified = "could not be verified: check it yourself rollback: cannot verify"
            assert unverified in out, "which step is unverified, and why"

    asyncio.run(flow())


def test_a_failed_action_is_worded_as_the_cli_words_it(
    _aisre_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_fake_kubectl(_aisre_home, monkeypatch)
    monkeypatch.setenv("FAKE_KUBECTL_FAIL", "get deployment")

    async def flow() -> None:
        messages: list[Message] = []
        app = demo_app()
        async with app.run_test(size=(200, 50), message_hook=messages.append) as pilot:
            incident = await open_incident(pilot, messages)
            await pilot.press("r")
            await pilot.pause()
            screen = app.screen
            assert screen is not incident
            await pilot.press("enter")
            await settle(pilot)
            await pilot.press("enter")
            await settle(pilot)
            assert of(messages, RunFinished)
            out = log_text(screen)
            assert "stopped: step inspect failed; nothing more runs" in out, out
            assert "failed: action failed:" not in out, "the error is not said twice"

    asyncio.run(flow())


def test_quitting_at_a_prompt_leaves_the_resume_command_on_the_terminal(
    _aisre_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dialog says how to resume, but the full screen goes away with it: the
    command (and the audit head) are printed after the console closes."""
    use_fake_kubectl(_aisre_home, monkeypatch)

    async def flow() -> None:
        messages: list[Message] = []
        app = demo_app()
        async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
            await open_incident(pilot, messages)
            screen = await start_rollback(pilot, messages)
            assert screen.session is not None
            run_id = screen.session.run_id
            await pilot.press("q")
            await pilot.pause()
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("y")
            await pilot.pause()
        assert f"resume with: aisre runbook resume {run_id}" in app.exit_notes
        assert any(n.startswith("audit head: #") for n in app.exit_notes), app.exit_notes

    asyncio.run(flow())


def test_the_runbook_list_counts_steps_in_words(_aisre_home: Path) -> None:
    """Seen in tmux: the silence runbook was listed with "1 steps"."""
    from textual.widgets import OptionList

    from tests.test_console import open_runbooks

    async def flow() -> None:
        messages: list[Message] = []
        app = demo_app()
        async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
            await open_incident(pilot, messages)
            screen = await open_runbooks(pilot)
            choices = screen.query_one("#rb-choices", OptionList)
            labels = [
                str(choices.get_option_at_index(i).prompt) for i in range(choices.option_count)
            ]
            assert any("silence-noisy-alert  1 step  applies to any" in x for x in labels), labels
            assert any("rollback-bad-deploy  3 steps" in x for x in labels), labels

    asyncio.run(flow())
