"""Issue 12: one triage flow for every front end, the pure stepper, and the §3 defects
(1 escalate refused, 4 unverified runs, 8 duplicate incidents, 9 silent verification,
15 stepper oddities, 19 the hand-off printed twice) that were fixed with them."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from tests.fakes.cli import run

RB_FILE_TEXT = """\
id: touch-and-check
title: Touch and check
params:
  a: {type: name, default: one}
steps:
  - id: touch
    title: touch it
    capability: test.touch
    inputs: {name: "{{ a }}"}
    verify: {query: "up", expect: "> 0", timeout: 2s, interval: 1s}
  - id: after
    title: touch again
    capability: test.touch
    inputs: {name: two}
"""


def _hyps_from_markdown(md: str) -> list[tuple[str, str, list[str]]]:
    """(kind, service, runbooks) per hypothesis of an escalation hand-off."""
    out: list[tuple[str, str, list[str]]] = []
    for line in md.splitlines():
        m = re.match(r"^\d+\. \*\*(\w+)\*\* on `([^`]+)`", line)
        if m:
            out.append((m.group(1), m.group(2), []))
        elif line.strip().startswith("- runbooks:") and out:
            out[-1][2].extend(x.strip() for x in line.split(":", 1)[1].split(","))
    return out


# ------------------------------------------------------------------ one triage flow


def test_cli_console_and_escalate_give_the_same_triage(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The same demo alert through `aisre triage --json`, the console's backend and
    `aisre escalate`: the same hypotheses, the same inbox incidents, the same runbooks,
    and one recorded incident (re-triage updates it)."""
    from aisre_cli.settings.config import resolve_profile
    from aisre_cli.sources.registry import build_sources
    from aisre_cli.ui.tui.backend import Backend

    code, out, _ = run(capsys, "triage", "--json")
    assert code == 0
    cli = json.loads(out)
    alert_id = cli["alert"]["id"]

    rp = resolve_profile(None)
    backend = Backend(rp.name, rp.profile, build_sources(rp.profile, None))
    inbox = backend.load_inbox()
    inv = backend.investigate(backend.resolve(alert_id))

    code, out, _ = run(capsys, "escalate", alert_id, "--no-post", "--json")
    assert code == 0
    md = json.loads(out)["markdown"]

    def key(h: dict[str, Any]) -> tuple[str, str, str | None, float, list[str]]:
        return (h["kind"], h["service"], h["subject"], round(h["confidence"], 6), h["runbooks"])

    cli_h = [key(h) for h in cli["hypotheses"]]
    con_h = [key(h.model_dump()) for h in inv.report.verdict.hypotheses]
    assert cli_h == con_h
    assert any(h[4] for h in cli_h), "the demo's top hypothesis has runbooks"
    esc_h = _hyps_from_markdown(md)
    assert [(k, s, rbs) for k, s, _, _, rbs in cli_h] == esc_h, "the hand-off lists runbooks"

    # the inbox: `aisre alerts` and the console group the same alerts the same way
    code, out, _ = run(capsys, "alerts", "--json")
    cli_groups = [sorted(a["id"] for a in g) for g in json.loads(out)["incidents"]]
    con_groups = [sorted(a.id for a in i.alerts) for i in inbox.incidents]
    assert sorted(cli_groups) == sorted(con_groups)

    # three triages of one alert episode: one open incident, updated each time
    code, out, _ = run(capsys, "incident", "list", "--json")
    incidents = json.loads(out)["incidents"]
    assert [i["alert_id"] for i in incidents] == [alert_id]
    assert inv.incident is not None and inv.incident.id == incidents[0]["id"]


def test_triage_twice_updates_the_open_incident(capsys: pytest.CaptureFixture[str]) -> None:
    """§3.8: 17 triages of one alert made 17 identical open incidents."""
    for _ in range(3):
        code, _, err = run(capsys, "triage", "--json")
        assert code == 0
    assert "updated open incident 1" in err
    code, out, _ = run(capsys, "incident", "list", "--json")
    assert len(json.loads(out)["incidents"]) == 1
    # resolved: the next triage of the same alert is a new incident
    code, _, _ = run(capsys, "incident", "resolve", "1", "--cause", "1")
    assert code == 0
    run(capsys, "triage", "--json")
    code, out, _ = run(capsys, "incident", "list", "--json")
    assert len(json.loads(out)["incidents"]) == 2


def test_bad_flags_are_rejected_before_anything_is_recorded(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """§3.8: `triage --json --markdown` and a bad --at/--window record nothing."""
    for args in (
        ["--json", "--markdown"],
        ["--at", "yesterday"],
        ["--window", "-5m"],
        ["--at", "2999-01-01T00:00:00Z"],
    ):
        code, _, err = run(capsys, "triage", *args)
        assert code == 2, (args, err)
        assert "hint:" in err
    code, out, _ = run(capsys, "incident", "list", "--json")
    assert json.loads(out)["incidents"] == []


def test_at_moves_the_triage_into_the_past(capsys: pytest.CaptureFixture[str]) -> None:
    """--at: the alert must have started; no evidence after that moment; --no-record
    leaves the memory alone; --window narrows the history."""
    code, _, err = run(capsys, "triage", "--at", "2025-03-11T13:35:00Z", "--no-record")
    assert code == 2 and "after --at" in err
    at = "2025-03-11T13:40:00Z"
    code, out, _ = run(capsys, "triage", "--at", at, "--no-record", "--json", "--window", "30m")
    assert code == 0
    rep = json.loads(out)
    assert rep["hypotheses"], "a verdict from the data up to --at"
    for ev in rep["evidence"]:
        for t in (ev.get("start"), ev.get("end")):
            if t:
                assert t.replace("Z", "+00:00") <= "2025-03-11T13:40:00+00:00", ev
    code, out, _ = run(capsys, "incident", "list", "--json")
    assert json.loads(out)["incidents"] == []


def test_cut_context_drops_everything_after_the_moment() -> None:
    from datetime import UTC, datetime

    from aisre_cli.flows.triage import TriageFlow, cut_context
    from aisre_cli.settings.config import resolve_profile
    from aisre_cli.sources.registry import build_sources

    rp = resolve_profile(None)
    flow = TriageFlow(rp.profile, build_sources(rp.profile, None), memory=False)
    ctx = flow.collect(None)
    end = datetime(2025, 3, 11, 13, 40, tzinfo=UTC)
    n_logs = len(ctx.logs)
    cut_context(ctx, end)
    t = end.timestamp()
    assert all(ts <= t for s in ctx.series for ts in s.timestamps)
    assert all(ts <= t for ts in ctx.logs.ts) and len(ctx.logs) < n_logs
    assert all(c.ts <= end for c in ctx.changes) and all(s.start <= t for s in ctx.spans)
    assert ctx.window.end == end


# ------------------------------------------------------------------ escalation (§3.1, §3.19)


def test_escalation_is_never_refused_for_low_trust() -> None:
    """§3.1: triage says ESCALATE (low confidence) and governance escalated the hand-off
    itself (`trust 0.13 < escalate_trust 0.15`). Handing off is never risky."""
    from aisre_cli.govern.escalation import escalation_runbook
    from aisre_cli.govern.policy import Policy
    from aisre_cli.govern.routing import StepFacts, decide

    rb = escalation_runbook()
    for step in rb.steps:
        f = StepFacts(
            capability=step.capability,
            scope="write",
            environment="prod",
            runbook_id=rb.id,
            confidence=0.02,
            specificity=0.0,
            handoff=True,
        )
        d = decide(f, Policy())
        assert d.kind == "confirm", d.reasons
        assert not any("escalate_trust" in r for r in d.reasons)


def test_escalate_plan_is_confirmed_not_escalated_and_hands_off_once(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The real session: pagerduty steps are hand-offs (confirm, even with the demo's
    low-trust alternatives), no `aisre escalate` hint loops back, and the hand-off
    text appears once on stderr as a stand-in, not twice as escaped JSON."""
    from aisre_cli.flows.runbook import Stop, start_run
    from aisre_cli.govern.escalation import escalation_runbook, handoff_markdown
    from aisre_cli.model import Alert, Hypothesis, TriageReport, Verdict
    from aisre_cli.settings.config import PagerDutySource, Profile, Sources
    from aisre_cli.ui.cli.runbook import action_text, show_plan, show_step

    a = Alert(id="f" * 16, name="X", service="api", starts_at="2025-01-01T00:00:00Z")
    h = Hypothesis(kind="unknown", service="api", statement="no idea", confidence=0.02)
    rep = TriageReport(
        alert=a,
        verdict=Verdict(escalate=True, reason="not enough evidence", hypotheses=[h]),
    )
    prof = Profile(sources=Sources(pagerduty=PagerDutySource(url="http://127.0.0.1:9")))
    md = handoff_markdown(rep)
    flow = start_run(
        escalation_runbook(),
        "t",
        prof,
        report=rep,
        params={"incident_id": "Q1", "handoff": md, "level": "2"},
        interactive=False,
        handoff=True,
    )
    for ps in flow.session.plan.steps:
        assert flow.decide(ps).kind == "confirm"
    state = flow.begin()
    assert isinstance(state, Stop) and "no terminal" in state.reason
    assert state.hint is not None and "aisre escalate" not in state.hint

    from rich.console import Console

    con = Console(file=open(os.devnull, "w"), record=True, width=200)  # noqa: SIM115
    show_plan(flow.session, con)
    assert state.decision is not None
    show_step(flow.session, flow.session.plan.steps[0], state.decision, con)
    text = con.export_text()
    assert "# Escalation" not in text and "\\n" not in text, "no escaped copy of the hand-off"
    assert text.count("<text: ") == 2  # the parameter and the action's stand-in
    assert "sha256" in action_text(flow.session, flow.session.plan.steps[0])
    flow.perform(state)


# ------------------------------------------------------------------ the stepper (§3.4, §3.9, §3.15)


def _touch_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str = RB_FILE_TEXT):
    from aisre_cli.govern.session import RunSession
    from aisre_cli.remediate.runbook import load_file
    from tests.fakes.crash_runner import PROFILE, registry

    monkeypatch.setenv("CRASH_EFFECTS", str(tmp_path / "effects.txt"))
    p = tmp_path / "rb.yaml"
    p.write_text(text)
    loaded = load_file(p)
    assert loaded.runbook is not None, loaded.problems
    return RunSession.start(loaded.runbook, "t", PROFILE, registry=registry())


def test_a_run_that_could_not_be_verified_ends_unverified(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """§3.4: "no Prometheus configured" ended `completed`, exit 0, and the track record
    counted nothing right. Now: `unverified`, and the outcome says so."""
    from aisre_cli.govern.session import run_outcome

    session = _touch_session(tmp_path, monkeypatch)
    while (ps := session.current_step()) is not None:
        out = session.run(ps, session.confirm(ps, ps.action.digest()))
        assert out.ok
    summary = session.finish()
    assert summary.status == "unverified"
    assert run_outcome(session.state) == "unverified"
    assert not summary.resumable


def test_flow_exit_code_for_unverified_is_6(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aisre_cli.flows.runbook import Ended, Prompt, RunFlow

    flow = RunFlow(_touch_session(tmp_path, monkeypatch), interactive=True)
    state: Any = flow.begin()
    while not isinstance(state, Ended):
        if isinstance(state, Prompt):
            state = flow.answer(state, "y")
        else:
            _, state = flow.perform(state)
    assert state.summary.status == "unverified" and int(state.exit_code) == 6


def test_dependent_step_is_skipped_with_the_step_it_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """§3.15: `n` on the rollback, and "wait for the rollback" still ran."""
    from aisre_cli.flows.runbook import Ended, Prompt, RunFlow, Skip

    text = RB_FILE_TEXT.replace("inputs: {name: two}", "inputs: {name: two}\n    needs: [touch]")
    flow = RunFlow(_touch_session(tmp_path, monkeypatch, text), interactive=True)
    state: Any = flow.begin()
    assert isinstance(state, Prompt) and state.step.id == "touch"
    state = flow.answer(state, "n")
    skipped: list[tuple[str, bool]] = []
    while not isinstance(state, Ended):
        if isinstance(state, Skip):
            skipped.append((state.step.id, state.by_operator))
        assert not isinstance(state, Prompt), "the dependent step is never offered"
        _, state = flow.perform(state)
    assert skipped == [("touch", True), ("after", False)]
    assert state.summary.steps == {"touch": "skipped", "after": "skipped"}
    assert not (tmp_path / "effects.txt").exists(), "nothing ran"


def test_rollback_status_step_depends_on_the_rollback() -> None:
    """Inferred: a later step on the same object as a write step depends on it."""
    from aisre_cli.remediate.capabilities import ExecContext, default_registry
    from aisre_cli.remediate.plan import build_plan
    from aisre_cli.remediate.runbook import find_runbook
    from aisre_cli.settings.config import Profile

    prof = Profile(namespace="shop")
    rb = find_runbook("rollback-bad-deploy", prof)
    plan = build_plan(
        rb,
        {"service": "checkout"},
        report=None,
        registry=default_registry(),
        ctx=ExecContext(profile=prof),
        run_id="r-1",
    )
    deps = {ps.id: ps.depends_on for ps in plan.steps}
    assert deps == {"inspect": (), "rollback": (), "wait-rollout": ("rollback",)}


def test_needs_must_name_an_earlier_step(tmp_path: Path) -> None:
    from aisre_cli.remediate.runbook import validate_files

    p = tmp_path / "bad.yaml"
    p.write_text(
        RB_FILE_TEXT.replace("inputs: {name: two}", "inputs: {name: two}\n    needs: [later]")
    )
    _, problems = validate_files([p])
    assert any("needs: 'later' is not an earlier step" in x.message for x in problems)


def test_dry_run_never_says_resume(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """§3.15: a dry run ended with "resume with …", which then refused."""
    from aisre_cli.flows.runbook import Ended, Preview, RunFlow
    from aisre_cli.govern.session import RunSession
    from aisre_cli.remediate.runbook import load_file
    from tests.fakes.crash_runner import PROFILE, registry

    monkeypatch.setenv("CRASH_EFFECTS", str(tmp_path / "effects.txt"))
    p = tmp_path / "rb.yaml"
    p.write_text(RB_FILE_TEXT)
    loaded = load_file(p)
    assert loaded.runbook is not None
    session = RunSession.start(loaded.runbook, "t", PROFILE, registry=registry(), dry_run=True)
    flow = RunFlow(session, interactive=False)
    state: Any = flow.begin()
    shown = []
    while not isinstance(state, Ended):
        assert isinstance(state, Preview) or state.__class__.__name__ == "Done"
        if isinstance(state, Preview):
            shown.append(state.step.id)
        _, state = flow.perform(state)
    assert shown == ["touch", "after"]
    assert state.summary.status == "completed" and not state.summary.resumable
    assert int(state.exit_code) == 0
    assert not (tmp_path / "effects.txt").exists()


def test_runbook_runs_with_none_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    """§3.15: `runbook runs` with no runs printed nothing."""
    code, out, err = run(capsys, "runbook", "runs")
    assert code == 0 and out == ""
    assert "no runbook runs yet" in err


class _QueryValue(BaseModel):
    value: float | None = None


def _registry_with_query(answer: Callable[[], float | None]) -> Any:
    """The default capabilities, with `prometheus.query` answering `answer()` (its
    plan and dry run are the real capability's)."""
    from aisre_cli.remediate.capabilities import Registry, default_registry

    base = default_registry().get("prometheus.query")

    class FakeQuery:
        name = "prometheus.query"
        description = base.description
        scope = "read"
        undo_hint = ""
        supports_dry_run = True
        input_model = base.input_model
        output_model = _QueryValue

        def render(self, inputs: Any, ctx: Any) -> Any:
            return base.render(inputs, ctx)

        def dry_run(self, inputs: Any, ctx: Any) -> Any:
            return base.dry_run(inputs, ctx)

        def execute(self, inputs: Any, ctx: Any) -> _QueryValue:
            return _QueryValue(value=answer())

        def undo(self, inputs: Any, output: Any) -> None:
            return None

        def blast_radius(self, inputs: Any) -> int:
            return 1

    return Registry([c for c in default_registry() if c.name != "prometheus.query"] + [FakeQuery()])


def test_verification_shows_progress_and_says_no_data() -> None:
    """§3.9: verification waited silently, then said `= None` for "no data"."""
    from aisre_cli.remediate.capabilities import ExecContext
    from aisre_cli.remediate.executor import verify
    from aisre_cli.remediate.plan import build_plan
    from aisre_cli.remediate.runbook import Runbook
    from aisre_cli.settings.config import Profile

    reg = _registry_with_query(lambda: None)
    rb = Runbook.model_validate(
        {
            "id": "v",
            "title": "v",
            "steps": [
                {
                    "id": "s",
                    "title": "s",
                    "capability": "notify",
                    "inputs": {"message": "hi"},
                    "verify": {"query": "up", "expect": "> 0", "timeout": "30s", "interval": "10s"},
                }
            ],
        }
    )
    now = [0.0]
    ctx = ExecContext(profile=Profile(), sleep=lambda s: now.__setitem__(0, now[0] + s))
    plan = build_plan(rb, {}, report=None, registry=reg, ctx=ctx, run_id="r-1")
    vr = verify(plan.steps[0], ctx, reg, clock=lambda: now[0])
    assert not vr.ok and "None" not in vr.detail and "up = no data" in vr.detail
    heard: list[str] = []
    now[0] = 0.0
    verify(plan.steps[0], ctx, reg, clock=lambda: now[0], progress=heard.append)
    assert len(heard) >= 2 and all("no data" in h and "left of 30s" in h for h in heard)


def test_verification_checks_up_to_its_timeout_although_queries_take_time() -> None:
    """Attempts are due every interval from the start and the last at the timeout: a
    query that takes a second must not end the check an interval early (it used to stop
    at 49s of a 60s timeout, when the next attempt would have been due at 64s)."""
    from aisre_cli.remediate.capabilities import ExecContext
    from aisre_cli.remediate.executor import verify
    from aisre_cli.remediate.plan import build_plan
    from aisre_cli.remediate.runbook import Runbook
    from aisre_cli.settings.config import Profile

    now = [0.0]
    seen: list[float] = []
    recovers = True

    def slow_recovery() -> float:
        """The error ratio falls at t=58s; each query takes 1s."""
        seen.append(now[0])
        now[0] += 1.0
        return 0.01 if recovers and now[0] > 58 else 0.5

    reg = _registry_with_query(slow_recovery)
    rb = Runbook.model_validate(
        {
            "id": "v",
            "title": "v",
            "steps": [
                {
                    "id": "s",
                    "title": "s",
                    "capability": "notify",
                    "inputs": {"message": "hi"},
                    "verify": {
                        "query": "err_ratio",
                        "expect": "< 0.05",
                        "timeout": "60s",
                        "interval": "15s",
                    },
                }
            ],
        }
    )
    ctx = ExecContext(profile=Profile(), sleep=lambda s: now.__setitem__(0, now[0] + s))
    plan = build_plan(rb, {}, report=None, registry=reg, ctx=ctx, run_id="r-1")
    vr = verify(plan.steps[0], ctx, reg, clock=lambda: now[0])
    assert seen == [0.0, 15.0, 30.0, 45.0, 60.0]
    assert vr.ok and vr.attempts == 5
    # still failing at the timeout: five attempts, then a failed check, and no more
    now[0], seen[:], recovers = 0.0, [], False
    vr = verify(plan.steps[0], ctx, reg, clock=lambda: now[0])
    assert not vr.ok and not vr.skipped and vr.attempts == 5
    assert seen == [0.0, 15.0, 30.0, 45.0, 60.0]


def test_a_run_refused_at_its_start_leaves_no_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run whose first audit record could not be written (refused: nothing ran) left
    an orphan `runs/RUN.lock` with no checkpoint beside it, one per attempt."""
    from aisre_cli.govern.audit import AuditError
    from aisre_cli.govern.session import RunSession
    from aisre_cli.remediate import checkpoint
    from aisre_cli.remediate.runbook import load_file
    from aisre_cli.settings import paths
    from tests.fakes.crash_runner import PROFILE, registry

    class Refusing:
        path = tmp_path / "audit.jsonl"

        def append(self, *a: Any, **k: Any) -> Any:
            raise AuditError("the audit trail cannot be written", hint="nothing was run")

        def records(self) -> Any:
            return iter(())

        def head(self) -> tuple[int, str]:
            return 0, ""

    monkeypatch.setenv("CRASH_EFFECTS", str(tmp_path / "effects.txt"))
    p = tmp_path / "rb.yaml"
    p.write_text(RB_FILE_TEXT)
    loaded = load_file(p)
    assert loaded.runbook is not None, loaded.problems
    with pytest.raises(AuditError):
        RunSession.start(loaded.runbook, "t", PROFILE, registry=registry(), audit=Refusing())
    runs = paths.runs_dir()
    assert not list(runs.glob("*.lock")) and not list(runs.glob("*.json"))
    # a run with a checkpoint keeps its lock file (it may be resumed)
    session = RunSession.start(loaded.runbook, "t", PROFILE, registry=registry())
    session.lock.release() if session.lock is not None else None
    assert checkpoint.checkpoint_path(session.run_id).exists()
    assert checkpoint.checkpoint_path(session.run_id).with_suffix(".lock").exists()
