"""Snapshot tests of the console (pytest-textual-snapshot). Update with
`pytest tests/test_console_snapshots.py --snapshot-update` and review the SVGs.

Deterministic by construction: a fixed clock for ages, refresh off, a fixed run id,
the fake kubectl on PATH, and every worker finished before the screenshot.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from aisre_cli.ui.tui.screens.help import HelpScreen
from aisre_cli.ui.tui.screens.runbook import RunbookScreen
from tests.test_console import demo_app, settle, use_fake_kubectl

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]
Snap = Callable[..., bool]


@pytest.fixture
def fixed_run(_aisre_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_fake_kubectl(_aisre_home, monkeypatch)
    monkeypatch.setattr(
        "aisre_cli.remediate.checkpoint.new_run_id", lambda: "r-20250311T134500Z-5aa901"
    )


def steps(
    *keys: str, check: Callable[[Any], bool] | None = None
) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        for k in keys:
            await pilot.press(k)
            await settle(pilot)
        if check is not None:
            assert check(pilot.app), "the screen is not in the state the snapshot documents"

    return run_before


def waiting_at_rollback(app: Any) -> bool:
    screens = [s for s in app.screen_stack if isinstance(s, RunbookScreen)]
    return bool(screens) and screens[0].mode == "ask" and screens[0].current.id == "rollback"


@pytest.mark.parametrize("size", SIZES)
def test_inbox(snap_compare: Snap, size: tuple[int, int]) -> None:
    """Inbox: one demo incident, as `aisre alerts` groups it: critical
    CheckoutHighErrorRate (red) with `+1` (PaymentsHighErrorRate on the neighbouring
    payments service), age 13m, state active; status bar `profile demo` with the bundle
    alert source ok; footer lists enter/“/”/r/?/u/q."""
    assert snap_compare(demo_app(), terminal_size=size, run_before=steps())


@pytest.mark.parametrize("size", SIZES)
def test_incident(snap_compare: Snap, size: tuple[int, int]) -> None:
    """Incident: header with the alert and onset 13:31:30Z; verdict `actionable: deploy on
    payments`; hypothesis 1 (99% deploy payments) highlighted with a full green bar; the
    evidence pane starts with the cited E1 change and E2 error ratio; the series tab plots
    E2 with ◆ change marks before the ▲ onset and red bars after it (at 160×48 the E3
    latency chart is stacked below it)."""
    assert snap_compare(demo_app(), terminal_size=size, run_before=steps("enter"))


@pytest.mark.parametrize("size", SIZES)
def test_runbook(snap_compare: Snap, size: tuple[int, int], fixed_run: None) -> None:
    """Runbook: rollback-bad-deploy planned for payments; step 1 (read, execute) done,
    step 2 marked ▶ with a yellow `write` badge and decision `confirm`; its target
    (`context ctx-test`) and exact action `kubectl --context ctx-test rollout undo
    deployment/payments`; the log says `started` (enter started the planned run) and the
    action step 1 ran (`step 1/3 inspect: kubectl … get deployment payments`); prompt
    `Run this step? y run · n skip · d dry run · a abort · ? help`; footer y/n/d/a."""
    assert snap_compare(
        demo_app(),
        terminal_size=size,
        run_before=steps("enter", "r", "enter", "enter", check=waiting_at_rollback),
    )


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare: Snap, size: tuple[int, int], fixed_run: None) -> None:
    """Help over the runbook screen: the stepper answers y/n/d/a/? with the CLI's wording
    first, then this screen's keys with their binding ids, then the app-wide keys."""
    assert snap_compare(
        demo_app(),
        terminal_size=size,
        run_before=steps(
            "enter",
            "r",
            "enter",
            "enter",
            "question_mark",
            check=lambda app: isinstance(app.screen, HelpScreen) and waiting_at_rollback(app),
        ),
    )


@pytest.mark.parametrize("size", SIZES)
def test_incident_light_theme(snap_compare: Snap, size: tuple[int, int]) -> None:
    """Incident in the light theme: same content as test_incident, dark text on a light
    background, severity and confidence colours still readable."""
    assert snap_compare(
        demo_app(theme="textual-light"), terminal_size=size, run_before=steps("enter")
    )
