"""Resuming a stopped run from the console (Pilot), as `aisre runbook resume` does.

A run is stopped partway (the console quit at the rollback prompt, after the read-only
step ran), the console is opened again: `s` on the inbox lists the profile's stopped
runs, enter takes the highlighted one up again through `flows.runbook.resume_run` (the
CLI's composition), and the runbook stepper continues it: the finished step is not run
again, the remaining ones go through governance, the audit log has the `resume`. A run
that cannot be resumed says why in one line (the session's own refusal), and an empty
list says so. Every assertion is on messages, the audit log and the fake kubectl's log.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.message import Message
from textual.widgets import Static

from aisre_cli.govern.audit import AuditLog
from aisre_cli.remediate import checkpoint
from aisre_cli.remediate.runbook import find_runbook
from aisre_cli.settings.config import Profile
from aisre_cli.ui.tui.app import ConsoleApp
from aisre_cli.ui.tui.messages import (
    LoadFailed,
    RunFinished,
    RunResumed,
    RunsListed,
    StepRan,
    StepVerified,
)
from aisre_cli.ui.tui.screens.audit import AuditScreen
from aisre_cli.ui.tui.screens.confirm import ConfirmScreen
from aisre_cli.ui.tui.screens.inbox import InboxScreen
from aisre_cli.ui.tui.screens.runbook import RunbookScreen
from aisre_cli.ui.tui.screens.runs import RunsScreen
from tests.hostile import hostile_runbook_dir
from tests.test_console import (
    FIXED_NOW,
    demo_app,
    demo_backend,
    demo_profile,
    kubectl_argv,
    of,
    open_incident,
    real_undo_calls,
    settle,
    start_rollback,
    use_fake_kubectl,
)
from tests.test_console_snapshots import SIZES
from tests.test_terminal_safety_console import screen_bytes

RUN_ID = "r-20250311T134500Z-5aa901"


def get_calls(log: Path) -> list[list[str]]:
    """The read-only `kubectl get deployment` of the rollback's first step."""
    return [a for a in kubectl_argv(log) if "get" in a and "deployment" in a]


def audit_events(run_id: str) -> list[tuple[str, str | None]]:
    return [(r.event, r.data.get("step")) for r in AuditLog().records() if r.run == run_id]


def current(app: ConsoleApp) -> object:
    """The screen on top (a function: mypy keeps no narrowing of `app.screen` across
    key presses)."""
    return app.screen


def text_of(app: ConsoleApp, wid: str) -> str:
    return str(app.screen.query_one(wid, Static).render())


def stop_partway(profile: Profile, book: str = "rollback-bad-deploy") -> str:
    """A run of `book` stopped as the CLI's Ctrl-C stops one (`RunFlow.abandon`): for
    the rollback, after its read-only first step ran; for a one-step book, before."""
    from aisre_cli.flows.runbook import Prompt, start_run

    rb = find_runbook(book, profile)
    params = {"service": "payments"} | ({"namespace": "shop"} if "namespace" in rb.params else {})
    flow = start_run(rb, "demo", profile, params=params)
    state = flow.begin()
    while not isinstance(state, Prompt) and len(rb.steps) > 1:
        _, nxt = flow.perform(state)
        assert not hasattr(nxt, "exit_code"), nxt
        state = nxt
    end = flow.abandon("Ctrl-C")
    assert end.summary.status == "stopped" and end.summary.resumable
    return flow.run_id


async def open_runs(pilot: Any) -> RunsScreen:
    await settle(pilot)
    assert isinstance(pilot.app.screen, InboxScreen)
    await pilot.press("s")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, RunsScreen)
    return screen


# ---------------------------------------------------------------- resume


def test_a_run_stopped_partway_is_resumed_in_the_console(
    _aisre_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = use_fake_kubectl(_aisre_home, monkeypatch)

    async def stop_it() -> tuple[str, list[str]]:
        """The engineer quits the console at the rollback prompt: the run stops."""
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
        return run_id, app.exit_notes

    run_id, notes = asyncio.run(stop_it())
    assert f"resume with: aisre runbook resume {run_id}" in notes
    assert "or in the console: aisre console --profile demo, then s (stopped runs)" in notes
    assert checkpoint.load(run_id).status == "stopped"
    assert len(get_calls(log)) == 1, "the read-only step ran once"
    assert real_undo_calls(log) == []

    async def resume_it() -> None:
        messages: list[Message] = []
        app = demo_app()
        async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
            await settle(pilot)
            inbox = app.screen
            assert isinstance(inbox, InboxScreen) and inbox.stopped_runs == 1
            footer = inbox.active_bindings["s"].binding
            assert footer.show and footer.description == "resume (1)"

            runs = await open_runs(pilot)
            assert [r.run_id for r in runs.runs] == [run_id]
            assert "inspect done · rollback pending" in text_of(app, "#runs-detail")
            await pilot.press("u")  # what the run did so far
            await settle(pilot)
            assert isinstance(app.screen, AuditScreen) and app.screen.run_id == run_id
            await pilot.press("escape")
            await settle(pilot)
            assert current(app) is runs
            await pilot.press("enter")
            await settle(pilot)
            (resumed,) = of(messages, RunResumed)
            assert resumed.run_id == run_id
            screen = app.screen
            assert isinstance(screen, RunbookScreen) and screen.resumed
            assert screen.mode == "planned", "taking the run up runs nothing"
            assert ("resume", None) in audit_events(run_id)
            assert len(get_calls(log)) == 1

            await pilot.press("enter")  # continue: the first step is not offered again
            await settle(pilot)
            assert screen.mode == "ask"
            assert screen.current is not None and screen.current.id == "rollback"
            decision = getattr(screen.state, "decision", None)
            assert decision is not None and decision.kind == "confirm", "governance decided"
            assert len(get_calls(log)) == 1

            await pilot.press("y")
            await settle(pilot)
            ran = {m.step_id: m.outcome for m in of(messages, StepRan)}
            assert set(ran) == {"rollback", "wait-rollout"}, "inspect was not run again"
            assert ran["rollback"].ok and ran["wait-rollout"].ok
            assert len(real_undo_calls(log)) == 1 and len(get_calls(log)) == 1
            (ver,) = of(messages, StepVerified)
            assert ver.step_id == "rollback" and ver.result.skipped  # no Prometheus
            (fin,) = of(messages, RunFinished)
            assert fin.summary.run_id == run_id
            assert fin.summary.steps == {
                "inspect": "done",
                "rollback": "done",
                "wait-rollout": "done",
            }

            # the audit trail: the first run ended, the resume, then the governed step
            events = audit_events(run_id)
            ends = [i for i, e in enumerate(events) if e[0] == "run_end"]
            at = events.index(("resume", None))
            assert len(ends) == 2 and ends[0] < at < ends[1] == len(events) - 1
            after = events[at:]
            assert ("confirm", "rollback") in after and ("intent", "rollback") in after
            assert ("intent", "inspect") not in after
            assert [e for e in events if e == ("intent", "inspect")] == [("intent", "inspect")]
            assert AuditLog().head()[1] == fin.summary.head

            # back on the list: the run is finished, nothing is left to resume
            await pilot.press("escape")
            await settle(pilot)
            assert current(app) is runs and runs.runs == []
            assert "no stopped runs for profile demo" in text_of(app, "#runs-empty")
            await pilot.press("escape")
            await settle(pilot)
            assert current(app) is inbox and inbox.stopped_runs == 0
            assert "s" not in {k for k, b in inbox.active_bindings.items() if b.binding.show}

    asyncio.run(resume_it())


def test_no_stopped_runs_says_so_and_enter_resumes_nothing(
    _aisre_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The footer names `s` only with a run to resume; the key (listed by `?`) still
    opens the list, which says it is empty. Another profile's run is counted, not
    offered: it is resumed with its own profile."""
    use_fake_kubectl(_aisre_home, monkeypatch)
    from aisre_cli.flows.runbook import start_run

    profile = demo_profile()
    rb = find_runbook("rollback-bad-deploy", profile)
    flow = start_run(rb, "staging", profile, params={"service": "x", "namespace": "shop"})
    flow.abandon("Ctrl-C")

    async def flow_() -> None:
        messages: list[Message] = []
        app = demo_app()
        async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
            await settle(pilot)
            inbox = app.screen
            assert isinstance(inbox, InboxScreen) and inbox.stopped_runs == 0
            assert not inbox.active_bindings["s"].binding.show, "no footer key for nothing"
            runs = await open_runs(pilot)
            listed = of(messages, RunsListed)[-1].stopped
            assert listed.runs == [] and listed.others == {"staging": 1}
            empty = text_of(app, "#runs-empty")
            assert "no stopped runs for profile demo" in empty
            assert "1 stopped run of other profiles (staging: 1)" in text_of(app, "#runs-others")
            assert runs.check_action("resume", ()) is False
            await pilot.press("enter")
            await settle(pilot)
            assert current(app) is runs and not of(messages, RunResumed)
            assert not of(messages, LoadFailed)

    asyncio.run(flow_())
    assert "resume" not in [e for e, _ in audit_events(flow.run_id)]


# ---------------------------------------------------------------- cannot be resumed

held: list[checkpoint.RunLock] = []
"""Locks a case holds for "another process" until its test ends."""


def _changed_runbook(tmp_path: Path, profile: Profile) -> tuple[Profile, str, str]:
    """A run of a runbook whose texts carry terminal escapes; the file is then edited."""
    books = hostile_runbook_dir(tmp_path / "books")
    prof = profile.model_copy(update={"runbook_dirs": [str(books)], "namespace": "shop"})
    run_id = stop_partway(prof, "hostile-inspect")
    f = books / "hostile.yaml"
    f.write_text(f.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    return prof, run_id, "changed since run"


def _other_environment(tmp_path: Path, profile: Profile) -> tuple[Profile, str, str]:
    """Profile `demo` now points at another environment than the run started in."""
    run_id = stop_partway(profile)
    return profile.model_copy(update={"environment": "prod"}), run_id, "environment 'demo'"


def _open_elsewhere(tmp_path: Path, profile: Profile) -> tuple[Profile, str, str]:
    """Another process drives the run (it holds the run's lock)."""
    run_id = stop_partway(profile)
    held.append(checkpoint.RunLock(run_id))
    return profile, run_id, "is open in another process"


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(_changed_runbook, id="runbook-changed"),
        pytest.param(_other_environment, id="other-environment"),
        pytest.param(_open_elsewhere, id="open-elsewhere"),
    ],
)
def test_a_run_that_cannot_be_resumed_says_why_in_one_line(
    _aisre_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    case: Callable[[Path, Profile], tuple[Profile, str, str]],
) -> None:
    """The session's own refusal (the CLI's `runbook resume` says the same), on one
    line with its hint; nothing is pushed, nothing runs, no `resume` is audited, and
    outside text (the runbook's title) reaches the screen with its escapes visible."""
    log = use_fake_kubectl(_aisre_home, monkeypatch)
    profile, run_id, why = case(tmp_path, demo_profile())
    calls = len(kubectl_argv(log))

    async def flow() -> None:
        messages: list[Message] = []
        app = demo_app(demo_backend(profile=profile))
        app.guard_enabled = False  # the widgets' own escaping is what is checked
        async with app.run_test(size=(120, 30), message_hook=messages.append) as pilot:
            runs = await open_runs(pilot)
            assert [r.run_id for r in runs.runs] == [run_id]
            shown = screen_bytes(app, "stopped runs")
            await pilot.press("enter")
            await settle(pilot)
            (failed,) = of(messages, LoadFailed)
            assert failed.what == "resume" and why in failed.message
            assert current(app) is runs and not of(messages, RunResumed)
            line, *hint = text_of(app, "#runs-message").splitlines()
            assert line.startswith("cannot resume") and run_id in line and why in line
            assert hint and hint[0].startswith("hint: ")
            shown = screen_bytes(app, "stopped runs, refused")
            if case is _changed_runbook:
                assert "\\x1b" in shown, "the title's escapes are shown, inert"
            assert runs.resuming is None and runs.check_action("resume", ()) is True

    try:
        asyncio.run(flow())
    finally:
        for lock in held:
            lock.release()
        held.clear()
    assert len(kubectl_argv(log)) == calls, "nothing ran"
    assert "resume" not in [e for e, _ in audit_events(run_id)]
    if case is not _open_elsewhere:  # the refusal let go of the run's lock
        checkpoint.RunLock(run_id).release()


# ---------------------------------------------------------------- snapshot


@pytest.mark.parametrize("size", SIZES)
def test_stopped_runs_snapshot(
    snap_compare: Callable[..., bool],
    size: tuple[int, int],
    _aisre_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Stopped runs: title `stopped runs  profile demo  1 can be resumed`; one row
    r-20250311T134500Z-5aa901 rollback-bad-deploy stopped, `1/3 done`, updated
    03-11 13:45Z; under it the run's title `Roll back a bad deploy`, env demo, and its
    steps `inspect done · rollback pending · wait-rollout pending`; footer enter
    resume, r reload, esc back."""
    use_fake_kubectl(_aisre_home, monkeypatch)
    monkeypatch.setattr("aisre_cli.remediate.checkpoint.new_run_id", lambda: RUN_ID)
    stop_partway(demo_profile())
    st = checkpoint.load(RUN_ID)  # fixed times: the screen shows them
    st.created = st.updated = FIXED_NOW
    checkpoint.checkpoint_path(RUN_ID).write_text(st.model_dump_json(indent=2))

    async def run_before(pilot: Any) -> None:
        await open_runs(pilot)

    assert snap_compare(demo_app(), terminal_size=size, run_before=run_before)
