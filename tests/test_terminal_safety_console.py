"""Terminal safety in the console: every screen, fed the hostile corpus (issue 11, 1).

The console runs on the hostile bundle (every payload of `tests/hostile.CORPUS` in
every outside field), with a runbook folder whose texts carry them and a kubectl that
prints them on stdout and stderr. On each screen (inbox, incident with its series,
logs and timeline tabs, hand-off, runbook choice and run, audit, a toast quoting the
alert id asked for) the whole screen is rendered as Textual would paint it, and:

- no text segment holds a control character (the widgets made them visible);
- the terminal sequence Textual would write holds no payload sequence (`ESC ] 52 ;`,
  `ESC [ 2 J`, 8-bit CSI/OSC, bidi override, ...).

This runs with the `ControlGuard` backstop *off*, so it proves the widgets' own
escaping; `test_guard_drops_raw_controls` proves the backstop on a raw widget.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

import pytest
from rich.text import Text
from textual.message import Message
from textual.notifications import Notify
from textual.widgets import Static

from aisre_cli.settings.config import Profile, Sources
from aisre_cli.sources.registry import build_sources
from aisre_cli.ui.tui.app import ConsoleApp
from aisre_cli.ui.tui.backend import Backend
from aisre_cli.ui.tui.screens.audit import AuditScreen
from aisre_cli.ui.tui.screens.handoff import HandoffScreen
from aisre_cli.ui.tui.screens.incident import IncidentScreen
from aisre_cli.ui.tui.screens.runbook import RunbookScreen
from tests.conftest import DEMO
from tests.hostile import (
    CORPUS,
    assert_no_raw_payload,
    fake_kubectl,
    hostile_bundle,
    hostile_runbook_dir,
    joined,
    per_alert_bundle,
    short_joined,
)
from tests.test_console import FIXED_NOW, of, settle

CONTROL = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]"
)


def screen_bytes(app: ConsoleApp, where: str) -> str:
    """Paint the whole screen; check every text segment and the terminal sequence."""
    update = app.screen._compositor.render_full_update()
    texts = []
    for line in update.strips:
        for strip in line:
            for seg in strip:
                if seg.control:
                    continue
                m = CONTROL.search(seg.text)
                assert m is None, f"{where}: raw {m.group()!r} in {seg.text[:80]!r}"
                texts.append(seg.text)
    assert_no_raw_payload(update.render_segments(app.console), where)
    return "".join(texts)


def hostile_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, alert_id: str) -> ConsoleApp:
    # every payload but the 5000-char one (that one is in the per-row inbox test): the
    # screens' widgets are what is checked here, not the engine on huge log lines
    bundle = hostile_bundle(tmp_path / "bundle", short_joined())
    rb = hostile_runbook_dir(tmp_path / "runbooks")
    bin_dir = tmp_path / "bin"
    monkeypatch.setenv("HOSTILE_PAYLOAD_FILE", str(fake_kubectl(bin_dir, short_joined())))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    prof = Profile(
        environment="demo",
        namespace="shop",
        sources=Sources(bundle=str(bundle)),
        runbook_dirs=[str(rb)],
    )
    backend = Backend("demo", prof, build_sources(prof, bundle), clock=lambda: FIXED_NOW)
    app = ConsoleApp(backend, alert_id=alert_id, refresh_s=0)
    app.guard_enabled = False
    return app


def test_every_screen_shows_hostile_text_inert(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def flow() -> None:
        app = hostile_app(tmp_path, monkeypatch, "179e723e")
        async with app.run_test(size=(160, 50)) as pilot:
            await settle(pilot)
            assert isinstance(app.screen, IncidentScreen)
            shown = screen_bytes(app, "incident")
            assert "\\x1b" in shown  # the payloads are there, made visible
            for key, name in (("l", "logs"), ("t", "timeline"), ("p", "series")):
                await pilot.press(key)
                await settle(pilot)
                screen_bytes(app, f"incident {name} tab")
            for _ in range(2):  # the next hypotheses: their evidence panes and charts
                await pilot.press("down")
                await settle(pilot)
                screen_bytes(app, "incident, next hypothesis")
            await pilot.press("up", "up")
            await settle(pilot)
            await pilot.press("e")
            await settle(pilot)
            assert isinstance(app.screen, HandoffScreen)
            screen_bytes(app, "hand-off")
            await pilot.press("escape")
            await settle(pilot)
            await pilot.press("r")
            await settle(pilot)
            assert isinstance(app.screen, RunbookScreen)
            shown = screen_bytes(app, "runbook choice")
            rb_screen = app.screen
            ids = [b.id for b in rb_screen.books]
            if "hostile-inspect" in ids:
                for _ in range(ids.index("hostile-inspect")):
                    await pilot.press("down")
                await pilot.press("enter")  # plans the run: nothing runs yet
                await settle(pilot)
                await pilot.press("enter")  # starts it: the read step runs
                await settle(pilot)
                shown = screen_bytes(app, "runbook run (kubectl output)")
                assert "\\x1b" in shown
            await pilot.press("u")
            await settle(pilot)
            assert isinstance(app.screen, AuditScreen)
            screen_bytes(app, "audit")
            await pilot.press("escape")
            await settle(pilot)
            while not isinstance(app.screen, IncidentScreen) and len(app.screen_stack) > 2:
                await pilot.press("escape")
                await settle(pilot)
            await pilot.press("escape")
            await settle(pilot)
            screen_bytes(app, "inbox")

    asyncio.run(flow())


def test_inbox_one_payload_per_row_and_toasts(tmp_path: Path) -> None:
    """Each payload alone in an alert of its own (one inbox row each), filtered to, and
    each quoted by a toast: no control reaches the screen or a notification."""

    async def flow() -> None:
        bundle = per_alert_bundle(tmp_path / "bundle")
        prof = Profile(environment="demo", sources=Sources(bundle=str(bundle)))
        backend = Backend("demo", prof, build_sources(prof, bundle), clock=lambda: FIXED_NOW)
        app = ConsoleApp(backend, alert_id=f"nosuch{short_joined()}", refresh_s=0)
        app.guard_enabled = False
        messages: list[Message] = []
        async with app.run_test(
            size=(160, 50 + len(CORPUS)), message_hook=messages.append
        ) as pilot:
            await settle(pilot)
            shown = screen_bytes(app, "inbox, one payload per row")
            assert shown.count("Hostile") >= len(CORPUS) - 1  # (one name is 5000 chars)
            for p in CORPUS:
                app.notify(p, title=p)
            await pilot.press("slash", *"hostile")
            await settle(pilot)
            screen_bytes(app, "inbox filtered")
            notes = [m.notification for m in of(messages, Notify)]
            assert len(notes) == len(CORPUS) + 1  # + the unknown alert id's toast
            for n in notes:
                assert not n.markup
                for text in (n.message, n.title):
                    m = CONTROL.search(text.replace("\n", ""))
                    assert m is None, f"toast: raw {m.group()!r} in {text[:80]!r}"

    asyncio.run(flow())


def test_guard_drops_raw_controls() -> None:
    """The backstop: a widget that forgot to escape still cannot emit a raw control."""

    async def flow() -> None:
        prof = Profile(environment="demo", sources=Sources(bundle=str(DEMO)))
        backend = Backend("demo", prof, build_sources(prof, DEMO), clock=lambda: FIXED_NOW)
        app = ConsoleApp(backend, refresh_s=0)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            await app.screen.mount(Static(Text(joined()), id="raw"))
            await pilot.pause()
            screen_bytes(app, "raw widget behind the guard")
            app.guard_enabled = False
            app.screen.query_one("#raw", Static).refresh()
            await pilot.pause()
            with pytest.raises(AssertionError, match="raw"):
                screen_bytes(app, "raw widget without the guard")

    asyncio.run(flow())
