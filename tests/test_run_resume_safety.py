"""Runs that stop and resume must not skip a failed check, run an action twice, or
teach prod from dev (QA pass of 2026-12-03: H1-H4, M2, M5, M6, M9)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from aisre_cli.errors import GovernanceRefused, SourceError
from aisre_cli.govern.session import RunSession, run_outcome
from aisre_cli.remediate import interrupt
from aisre_cli.remediate.capabilities import ExecContext, Registry, default_registry
from aisre_cli.remediate.runbook import load_file
from tests.fakes.crash_runner import PROFILE, Touch

RB = """\
id: touch-and-check
title: Touch and check
steps:
  - id: touch
    title: touch it
    capability: test.touch
    inputs: {name: one}
    verify: {query: "errors", expect: "< 1", timeout: 2s, interval: 1s}
  - id: after
    title: touch again
    capability: test.touch
    inputs: {name: two}
"""


class Value(BaseModel):
    value: float | None = None
    series: int = 0


class FakeProm:
    """`prometheus.query` answering from `box` ("down": unreachable)."""

    name = "prometheus.query"
    scope = "read"
    undo_hint = ""
    supports_dry_run = True

    def __init__(self, box: dict[str, Any]) -> None:
        base = default_registry().get("prometheus.query")
        self.base = base
        self.description = base.description
        self.input_model = base.input_model
        self.output_model = Value
        self.box = box

    def render(self, inputs: Any, ctx: Any) -> Any:
        return self.base.render(inputs, ctx)

    def dry_run(self, inputs: Any, ctx: Any) -> Any:
        return self.base.dry_run(inputs, ctx)

    def execute(self, inputs: Any, ctx: Any) -> Value:
        self.box["calls"] = self.box.get("calls", 0) + 1
        if self.box["value"] == "down":
            raise SourceError("prometheus: connection refused")
        if self.box["value"] == "ctrl-c":
            raise interrupt.StepInterrupted("Ctrl-C")
        return Value(value=self.box["value"], series=1)

    def undo(self, inputs: Any, output: Any) -> None:
        return None

    def blast_radius(self, inputs: Any) -> int:
        return 1


class InterruptedTouch(Touch):
    """Ctrl-C arrives while the action runs (as `remediate.interrupt` reports it)."""

    def execute(self, inputs: BaseModel, ctx: ExecContext) -> BaseModel:
        interrupt.request("Ctrl-C")
        try:
            interrupt.check()
        finally:
            interrupt.clear()
        raise AssertionError("not reached")


def _registry(*mine: Any) -> Registry:
    names = {c.name for c in mine}
    return Registry([*(c for c in default_registry() if c.name not in names), *mine])


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("CRASH_EFFECTS", str(tmp_path / "effects.txt"))
    p = tmp_path / "rb.yaml"
    p.write_text(RB)
    loaded = load_file(p)
    assert loaded.runbook is not None, loaded.problems
    box: dict[str, Any] = {"value": 5.0}
    reg = _registry(Touch(), FakeProm(box))
    ctx = ExecContext(profile=PROFILE, sleep=lambda s: None)
    return {"rb": loaded.runbook, "box": box, "reg": reg, "ctx": ctx, "effects": tmp_path}


def _start(w: dict[str, Any]) -> RunSession:
    return RunSession.start(w["rb"], "t", PROFILE, registry=w["reg"], ctx=w["ctx"])


def _resume(w: dict[str, Any], run_id: str) -> RunSession:
    return RunSession.resume(run_id, "t", PROFILE, registry=w["reg"], ctx=w["ctx"])


def _drive(session: RunSession, undo: str = "n") -> tuple[Any, list[Any]]:
    """Drive a flow as a human answering y to each step (and `undo` to an undo)."""
    from aisre_cli.flows.runbook import Ended, Prompt, RunFlow

    flow = RunFlow(session, interactive=True)
    seen: list[Any] = []
    state: Any = flow.begin()
    while not isinstance(state, Ended):
        seen.append(state)
        if isinstance(state, Prompt):
            state = flow.answer(state, undo if state.undo else "y")
        else:
            _, state = flow.perform(state)
    return state, seen


def _touched(w: dict[str, Any]) -> list[str]:
    f = w["effects"] / "effects.txt"
    return f.read_text().split() if f.exists() else []


def test_resume_checks_a_failed_verification_again_before_going_on(
    world: dict[str, Any],
) -> None:
    """H1: resume went past the step whose check failed, ended `completed` (exit 0) and
    turned the failure into a success in the track record."""
    from aisre_cli.flows.runbook import Verify

    end, _ = _drive(_start(world))
    assert end.summary.status == "failed" and int(end.exit_code) == 6
    run_id = end.summary.run_id

    # still broken: checked again, still failed, and the next step never ran
    end, seen = _drive(_resume(world, run_id))
    first = seen[0]
    assert isinstance(first, Verify) and first.step.id == "touch"
    assert first.again is not None and "failed" in first.again
    assert end.summary.status == "failed" and int(end.exit_code) == 6
    assert _touched(world) == ["one"]

    # fixed meanwhile: the check passes and the run goes on
    world["box"]["value"] = 0.0
    end, seen = _drive(_resume(world, run_id))
    assert isinstance(seen[0], Verify)
    assert end.summary.status == "completed" and int(end.exit_code) == 0
    assert _touched(world) == ["one", "two"]


def test_a_check_cut_short_by_a_crash_runs_on_resume(world: dict[str, Any]) -> None:
    """H2: killed during verification, the resumed run ended `completed` unchecked."""
    from aisre_cli.flows.runbook import Verify

    s = _start(world)
    ps = s.current_step()
    assert ps is not None
    assert s.run(ps, s.confirm(ps, ps.action.digest()), verify=False).ok
    assert s.lock is not None
    s.lock.release()  # the process dies here: the kernel drops its lock
    world["box"]["value"] = 0.0
    end, seen = _drive(_resume(world, s.run_id))
    assert isinstance(seen[0], Verify) and "did not finish" in (seen[0].again or "")
    assert end.summary.status == "completed" and run_outcome_of(end) == "verified"


def run_outcome_of(end: Any) -> str:
    from aisre_cli.remediate.checkpoint import load

    return run_outcome(load(end.summary.run_id))


def test_an_interrupted_check_is_made_again_not_called_unverified(
    world: dict[str, Any],
) -> None:
    """M5: Ctrl-C during the check, then resume: the run ended `unverified` and blamed a
    missing Prometheus. The check is now made again."""
    from aisre_cli.flows.runbook import Verify

    s = _start(world)
    ps = s.current_step()
    assert ps is not None
    assert s.run(ps, s.confirm(ps, ps.action.digest()), verify=False).ok
    world["box"]["value"] = "ctrl-c"
    vr = s.verify(ps)
    assert vr.interrupted and s.state.step("touch").unverified is None
    s.stop(None, "interrupted: Ctrl-C")
    s.finish()
    world["box"]["value"] = 0.0
    end, seen = _drive(_resume(world, s.run_id))
    assert isinstance(seen[0], Verify)
    assert end.summary.status == "completed"


def test_prometheus_that_never_answers_leaves_the_step_unverified_not_failed(
    world: dict[str, Any],
) -> None:
    """M6: an unreachable Prometheus was a failed fix (counted against the runbook, undo
    offered). A check that cannot be made is `unverified`."""
    world["box"]["value"] = "down"
    end, seen = _drive(_start(world))
    assert end.summary.status == "unverified" and int(end.exit_code) == 6
    assert "Prometheus did not answer" in end.summary.unverified["touch"]
    assert not any(getattr(s, "undo", False) for s in seen)
    assert run_outcome_of(end) == "unverified"


def test_a_run_is_driven_by_one_process_at_a_time(world: dict[str, Any]) -> None:
    """H3: two `runbook resume` of one run both performed its write step."""
    s = _start(world)
    with pytest.raises(GovernanceRefused, match="open in another process"):
        _resume(world, s.run_id)
    s.stop(None, "operator")
    s.finish()
    r = _resume(world, s.run_id)  # closed: the next engineer may take it over
    with pytest.raises(GovernanceRefused, match=r"open in another process \(pid \d+\)"):
        _resume(world, s.run_id)
    r.finish()


def test_an_interrupted_step_is_not_a_failure_of_the_runbook(world: dict[str, Any]) -> None:
    """M9: an operator's Ctrl-C counted as a failed run and cost the runbook its trust."""
    world["reg"] = _registry(InterruptedTouch(), FakeProm(world["box"]))
    s = _start(world)
    ps = s.current_step()
    assert ps is not None
    out = s.run(ps, s.confirm(ps, ps.action.digest()))
    assert not out.ok and out.status == "interrupted"
    st = s.state.step("touch")
    assert st.status == "interrupted" and "may or may not" in (st.error or "")
    s.stop(None, "interrupted: Ctrl-C")
    s.finish()
    assert run_outcome(s.state) == "stopped"
    r = _resume(world, s.run_id)  # reconciled from the audit log: still interrupted
    assert r.state.step("touch").status == "interrupted"
    assert r.current_step() is not None and r.current_step().id == "touch"  # type: ignore[union-attr]
    r.finish()


def test_autonomy_earned_in_dev_does_not_apply_in_prod(tmp_path: Path) -> None:
    """H4: three confirmed dev runs made a prod write run unattended."""
    from aisre_cli.memory.store import MemoryStore, RunOutcome

    with MemoryStore(tmp_path / "m.db") as st:
        for i in range(3):
            st.record_run(
                RunOutcome(
                    run_id=f"r-{i}",
                    runbook_id="restart",
                    outcome="verified",
                    kind="deploy",
                    alert_id=None,
                    environment="dev",
                    audit_head="h",
                    steps={},
                )
            )
        assert st.successes("restart", "deploy", "dev") == 3
        assert st.successes("restart", "deploy", "prod") == 0
        assert st.successes("restart", "deploy") == 3  # the track record across all
        from aisre_cli.govern.routing import trust_score
        from tests.test_policy import facts

        dev = trust_score(facts(environment="dev", runbook_id="restart", kind="deploy"), st)
        prod = trust_score(facts(environment="prod", runbook_id="restart", kind="deploy"), st)
        assert prod < dev


def test_a_plan_the_policy_refuses_is_audited(world: dict[str, Any], tmp_path: Path) -> None:
    """M2: an exec outside the policy's allowlist was refused with no audit record."""
    from aisre_cli.govern.audit import open_audit_log
    from aisre_cli.remediate.capabilities.base import NotAllowed

    p = tmp_path / "x.yaml"
    p.write_text(
        "id: x\ntitle: x\nsteps:\n  - {id: a, title: a, capability: exec,"
        ' inputs: {argv: ["/bin/sh", "-c", "true"]}}\n'
    )
    loaded = load_file(p)
    assert loaded.runbook is not None, loaded.problems
    with pytest.raises((NotAllowed, GovernanceRefused)):
        RunSession.start(loaded.runbook, "t", PROFILE)
    recs = [r for r in open_audit_log(PROFILE).records() if r.event == "refused"]
    assert len(recs) == 1 and recs[0].data["runbook"] == "x"
    assert "allowlist" in recs[0].data["reason"]


def test_a_runbook_the_verdict_does_not_support_warns_and_asks_a_human() -> None:
    """M3: `restart-crashloop` on a deploy verdict said `fixes: deploy on payments
    (confidence 100%, match n/a)`, took `service=payments` from the unrelated deploy
    hypothesis, and gave the reason "trust unknown (no triage report)"."""
    from aisre_cli.flows.triage import TriageFlow, TriageOptions
    from aisre_cli.remediate.runbook import load_runbooks
    from aisre_cli.settings.config import demo_profile
    from aisre_cli.sources.registry import build_sources
    from tests.conftest import DEMO

    prof = demo_profile()
    rep = (
        TriageFlow(prof, build_sources(prof, DEMO), memory=False)
        .triage("CheckoutHighErrorRate", TriageOptions(record=False))
        .report
    )
    assert rep.verdict.hypotheses[0].kind == "deploy"
    books = {b.id: b for b in load_runbooks(None)}
    restart = RunSession.start(books["restart-crashloop"], "t", PROFILE, report=rep)
    try:
        assert restart.plan.hypothesis is None
        assert restart.plan.values.get("service") != "payments"  # not the deploy's service
        why = restart.state.signals["unsupported"]
        assert "does not point to this runbook" in why and "deploy on payments" in why
        d = restart.decide(restart.plan.steps[-1])
        assert d.kind in ("confirm", "refuse") and "no triage report" not in " ".join(d.reasons)
        if d.kind == "confirm":
            assert why in d.reasons
    finally:
        restart.finish()
    rollback = RunSession.start(books["rollback-bad-deploy"], "t", PROFILE, report=rep)
    try:
        assert rollback.state.signals["unsupported"] is None
        assert rollback.plan.hypothesis is not None
    finally:
        rollback.finish()


def test_a_runbook_for_any_cause_takes_its_service_from_the_alert() -> None:
    """QA 2026-12-03: silence-noisy-alert (it lists no kinds) took the top hypothesis'
    service, so on the demo it would silence `alertname=CheckoutHighErrorRate,
    service=payments` while the page fires on checkout: a silence that silences nothing
    (the page's `service` label is checkout)."""
    from aisre_cli.flows.triage import TriageFlow, TriageOptions
    from aisre_cli.remediate.runbook import load_runbooks
    from aisre_cli.settings.config import demo_profile
    from aisre_cli.sources.registry import build_sources
    from tests.conftest import DEMO

    prof = demo_profile()
    rep = (
        TriageFlow(prof, build_sources(prof, DEMO), memory=False)
        .triage("CheckoutHighErrorRate", TriageOptions(record=False))
        .report
    )
    assert rep.verdict.hypotheses[0].service == "payments" and rep.alert.service == "checkout"
    from aisre_cli.settings.config import AlertmanagerSource, Sources

    books = {b.id: b for b in load_runbooks(None)}
    am = PROFILE.model_copy(
        update={"sources": Sources(alertmanager=AlertmanagerSource(url="http://127.0.0.1:9"))}
    )
    s = RunSession.start(books["silence-noisy-alert"], "t", am, report=rep)
    try:
        assert s.plan.specificity == pytest.approx(0.1)  # generic: the lowest
        assert s.plan.values["service"] == "checkout"
        assert s.plan.values["alertname"] == "CheckoutHighErrorRate"
        assert s.plan.sources["service"].startswith("verdict")
        assert s.state.signals["unsupported"] is None  # it applies to this alert
    finally:
        s.finish()


def test_a_param_given_twice_or_too_long_is_a_clear_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """QA 2026-12-03: `--param service=a --param service=b` kept the last silently, and
    a 100 KB malformed value was echoed in full."""
    from aisre_cli.ui.cli.app import main

    def run(*args: str) -> tuple[int, str]:
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        return code, capsys.readouterr().err

    code, err = run("runbook", "run", "restart-crashloop", "-P", "service=a", "-P", "service=b")
    assert code == 2 and "--param service is given twice ('a' and 'b')" in err
    code, err = run("runbook", "run", "restart-crashloop", "-P", "x" * 100_000)
    assert code == 2 and "(100000 characters)" in err and len(err) < 1000


def test_resume_in_another_environment_is_refused_by_governance(world: dict[str, Any]) -> None:
    """QA 2026-12-03: said 'this profile is dev' (naming the environment), exit 2."""
    s = _start(world)
    s.stop(None, "operator")
    s.finish()
    other = PROFILE.model_copy(update={"environment": "prod"})
    with pytest.raises(GovernanceRefused, match="this profile's environment is 'prod'"):
        RunSession.resume(s.run_id, "t", other, registry=world["reg"], ctx=world["ctx"])


def test_a_failed_action_is_reported_once(world: dict[str, Any]) -> None:
    """QA 2026-12-03: `failed: exec: exit 3…` then `failed: action failed: exec: exit 3…`."""
    from io import StringIO

    from rich.console import Console

    from aisre_cli.errors import ExitCode
    from aisre_cli.govern.stepper import Stop as StopState
    from aisre_cli.ui.cli.runbook import _render_event

    s = _start(world)
    try:
        ps = s.plan.steps[0]
        out = StringIO()
        con = Console(file=out, width=120, color_system=None)
        stop = StopState(ps, "action failed: exec: exit 3", "fail", ExitCode.VERIFY)
        _render_event(stop, stop, None, con)
        text = out.getvalue()
        assert "stopped: step touch failed; nothing more runs" in text
        assert "exit 3" not in text  # the error itself was printed with the step's result
    finally:
        s.finish()
