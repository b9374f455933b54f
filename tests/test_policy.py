"""Policy and routing: a decision table, policy files, freeze windows with break-glass,
and the session's guarantees (confirmation bound to the action, order, refusals)."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from aisre_cli.errors import ConfigError, GovernanceRefused, UsageError
from aisre_cli.govern.audit import AuditError, AuditLog, verify
from aisre_cli.govern.policy import Policy, load_policy
from aisre_cli.govern.routing import EmptyTrackRecord, StepFacts, decide, risk_score, trust_score
from aisre_cli.govern.session import RunSession
from aisre_cli.model import Alert, Hypothesis, TriageReport, Verdict
from aisre_cli.remediate.runbook import find_runbook
from aisre_cli.settings.config import Profile
from tests.fakes.env import FAKES, kubectl_calls

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # a Thursday


class Record:
    def __init__(self, s: int, f: int) -> None:
        self.s, self.f = s, f

    def successes(self, runbook_id: str, kind: str, environment: str | None = None) -> int:
        return self.s

    def failures(self, runbook_id: str, kind: str, environment: str | None = None) -> int:
        return self.f


def facts(**kw: Any) -> StepFacts:
    base: dict[str, Any] = {
        "capability": "kubectl.rollout_restart",
        "scope": "write",
        "environment": "staging",
        "runbook_id": "restart-crashloop",
        "kind": "crash_loop",
        "confidence": 0.9,
        "specificity": 0.5,
        "now": NOW,
    }
    base.update(kw)
    return StepFacts(**base)


AUTO = {"autonomy": "autonomous", "thresholds": {"min_successes": 3}}
FREEZE = {
    "freeze_windows": [
        {"name": "bf", "start": "2026-11-26T00:00:00Z", "end": "2026-11-27T00:00:00Z"}
    ]
}
GOOD = Record(10, 0)

# (name, policy, facts overrides, track record, expected kind, reason fragment)
TABLE: list[tuple[str, dict[str, Any], dict[str, Any], Any, str, str]] = [
    ("read runs", {}, {"scope": "read", "capability": "kubectl.get"}, None, "execute", "read"),
    (
        "read forced confirm",
        {},
        {"scope": "read", "confirm_forced": True},
        None,
        "confirm",
        "asks for confirmation",
    ),
    ("default approved", {}, {}, None, "confirm", "requires approval"),
    ("default approved prod", {}, {"environment": "prod"}, GOOD, "confirm", "approval"),
    ("read_only refuses writes", {"autonomy": "read_only"}, {}, None, "refuse", "read_only"),
    ("read_only still reads", {"autonomy": "read_only"}, {"scope": "read"}, None, "execute", ""),
    ("advised refuses writes", {"autonomy": "advised"}, {}, None, "refuse", "recommend only"),
    ("autonomous executes", AUTO, {}, GOOD, "execute", "autonomous"),
    ("autonomous, no track record", AUTO, {}, None, "confirm", "track record 0"),
    ("autonomous, failing record", AUTO, {}, Record(3, 3), "confirm", "failure rate"),
    (
        "autonomous, low trust",
        AUTO,
        {"confidence": 0.3, "specificity": 0.1},
        GOOD,
        "confirm",
        "min_trust",
    ),
    ("autonomous, no report", AUTO, {"confidence": None}, GOOD, "confirm", "trust unknown"),
    ("autonomous, prod risk", AUTO, {"environment": "prod"}, GOOD, "confirm", "max_risk"),
    (
        "autonomous, prod with raised max_risk",
        {**AUTO, "thresholds": {"min_successes": 3, "max_risk": 0.6}},
        {"environment": "prod"},
        GOOD,
        "execute",
        "",
    ),
    (
        "autonomous, recent change",
        {**AUTO, "thresholds": {"min_successes": 3, "max_risk": 0.4}},
        {"minutes_since_change": 5.0},
        GOOD,
        "confirm",
        "max_risk",
    ),
    (
        "autonomous, wide blast",
        {**AUTO, "thresholds": {"min_successes": 3, "max_risk": 1.0, "escalate_risk": 1.0}},
        {"blast_radius": 50},
        GOOD,
        "confirm",
        "blast radius",
    ),
    (
        "autonomous, runbook forces confirm",
        AUTO,
        {"confirm_forced": True},
        GOOD,
        "confirm",
        "asks for confirmation",
    ),
    (
        "per-capability autonomy",
        {
            "capabilities": {"kubectl.rollout_restart": "autonomous"},
            "thresholds": {"min_successes": 0},
        },
        {},
        None,
        "execute",
        "",
    ),
    (
        "per-class autonomy",
        {"classes": {"write": "autonomous"}, "thresholds": {"min_successes": 0}},
        {},
        None,
        "execute",
        "",
    ),
    (
        "env beats global",
        {"autonomy": "autonomous", "environments": {"staging": {"autonomy": "read_only"}}},
        {},
        GOOD,
        "refuse",
        "environments.staging.autonomy",
    ),
    (
        "env capability beats env class",
        {
            "environments": {
                "staging": {
                    "classes": {"write": "read_only"},
                    "capabilities": {"kubectl.rollout_restart": "autonomous"},
                }
            },
            "thresholds": {"min_successes": 0},
        },
        {},
        None,
        "execute",
        "",
    ),
    (
        "destructive is riskier",
        AUTO,
        {"scope": "destructive", "capability": "exec"},
        GOOD,
        "confirm",
        "max_risk",
    ),
    (
        "very risky escalates",
        {"thresholds": {"escalate_risk": 0.8}},
        {"scope": "destructive", "environment": "prod"},
        None,
        "escalate",
        "escalate_risk",
    ),
    (
        "unsupported fix escalates",
        {},
        {"confidence": 0.05, "specificity": 0.0},
        Record(0, 5),
        "escalate",
        "escalate_trust",
    ),
    ("freeze refuses writes", FREEZE, {}, None, "refuse", "freeze window active (bf)"),
    ("freeze beats autonomy", {**AUTO, **FREEZE}, {}, GOOD, "refuse", "freeze"),
    ("freeze lets reads run", FREEZE, {"scope": "read"}, None, "execute", ""),
    (
        "break-glass asks a human",
        {**AUTO, **FREEZE},
        {"break_glass": "INC-1 outage, VP ok"},
        GOOD,
        "confirm",
        "break-glass",
    ),
    (
        "freeze for other env",
        {
            "freeze_windows": [
                {
                    "name": "p",
                    "start": "2026-11-26T00:00:00Z",
                    "end": "2026-11-27T00:00:00Z",
                    "environments": ["prod"],
                }
            ]
        },
        {},
        None,
        "confirm",
        "approval",
    ),
    (
        "weekly freeze (thursday)",
        {
            "freeze_windows": [
                {"name": "thu", "weekly": {"days": ["thu"], "start": "09:00", "end": "17:00"}}
            ]
        },
        {},
        None,
        "refuse",
        "thu",
    ),
    (
        "weekly freeze other day",
        {"freeze_windows": [{"name": "fri", "weekly": {"days": ["fri"]}}]},
        {},
        None,
        "confirm",
        "approval",
    ),
]


@pytest.mark.parametrize(
    ("name", "policy", "over", "record", "kind", "why"), TABLE, ids=[t[0] for t in TABLE]
)
def test_decision_table(
    name: str, policy: dict[str, Any], over: dict[str, Any], record: Any, kind: str, why: str
) -> None:
    d = decide(facts(**over), Policy.model_validate(policy), record)
    assert d.kind == kind, d
    assert d.reasons, "every decision has reasons"
    assert why in " ".join(d.reasons), d.reasons


def test_signals() -> None:
    f = facts()
    assert trust_score(f, EmptyTrackRecord()) == pytest.approx(0.5 * 0.9 + 0.3 * 0.5 + 0.2 * 0.5)
    assert trust_score(replace(f, confidence=None), GOOD) == 0.0
    pol = Policy()
    assert risk_score(replace(f, scope="read"), pol, []) == 0.0
    assert risk_score(f, pol, []) < risk_score(replace(f, environment="prod"), pol, [])
    assert risk_score(f, pol, []) < risk_score(replace(f, blast_radius=5), pol, [])
    assert risk_score(f, pol, []) < risk_score(f, pol, ["freeze"])


def test_policy_file_errors_have_lines(tmp_path: Path) -> None:
    p = tmp_path / "policy.yaml"
    p.write_text("autonomy: approved\nenvironments:\n  prod:\n    autonomy: yolo\n")
    with pytest.raises(ConfigError, match=r"policy.yaml:4: environments.prod.autonomy"):
        load_policy(p)
    p.write_text(
        "freeze_windows:\n  - name: x\n    start: 2026-01-01T00:00:00\n"
        "    end: 2026-01-02T00:00:00Z\n"
    )
    with pytest.raises(ConfigError, match="time zone"):
        load_policy(p)
    p.write_text("autonomy: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_policy(p)
    # two `environments:` keys: the reviewer reads the first, YAML keeps the second
    p.write_text(
        "environments:\n  prod: {autonomy: approved}\nautonomy: approved\n"
        "environments:\n  prod: {autonomy: auto}\n"
    )
    with pytest.raises(
        ConfigError, match=r"policy.yaml:4: not valid YAML: duplicate key 'environments'"
    ):
        load_policy(p)
    with pytest.raises(ConfigError, match="cannot read"):
        load_policy(tmp_path / "missing.yaml")
    assert load_policy(None).autonomy == "approved"


# ------------------------------------------------------------------ sessions


@pytest.fixture
def kube(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PATH", f"{FAKES}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_KUBECTL_LOG", str(tmp_path / "kubectl.jsonl"))
    return tmp_path


def _report() -> TriageReport:
    return TriageReport(
        alert=Alert(
            id="fp-abcdef123456", name="KubePodCrashLooping", service="payments", starts_at=NOW
        ),
        verdict=Verdict(
            hypotheses=[
                Hypothesis(
                    rank=1,
                    kind="crash_loop",
                    service="payments",
                    statement="pods crash",
                    confidence=0.95,
                )
            ]
        ),
    )


PROFILE = Profile(environment="staging", kube_context="ctx-test", namespace="shop")


def _restarts(home: Path) -> list[list[str]]:
    return [a for a in kubectl_calls(home) if "restart" in a and "--dry-run=server" not in a]


def test_freeze_blocks_autonomy_until_break_glass_which_is_audited(kube: Path) -> None:
    rb = find_runbook("restart-crashloop")
    policy = Policy.model_validate({**AUTO, **FREEZE, "thresholds": {"min_successes": 0}})
    # outside the freeze the policy's autonomy runs the write step unattended
    s = RunSession.start(
        rb,
        "t",
        PROFILE,
        report=_report(),
        policy=policy,
        clock=lambda: datetime(2026, 11, 25, 12, tzinfo=UTC),
    )
    assert s.decide(s.plan.step("restart")).kind == "execute"
    # inside it: refused, and run() refuses even when handed a confirmation
    s = RunSession.start(rb, "t", PROFILE, report=_report(), policy=policy, clock=lambda: NOW)
    s.run(s.plan.step("pods"))
    ps = s.plan.step("restart")
    d = s.decide(ps)
    assert d.kind == "refuse" and "freeze" in d.reasons[0]
    with pytest.raises(GovernanceRefused):
        s.run(ps, None)
    with pytest.raises(GovernanceRefused):
        s.run(ps, s.confirm(ps, ps.action.digest()))
    assert _restarts(kube) == []
    # break-glass needs a real reason
    with pytest.raises(UsageError):
        RunSession.start(
            rb,
            "t",
            PROFILE,
            report=_report(),
            policy=policy,
            clock=lambda: NOW,
            break_glass="  ok ",
        )
    s = RunSession.start(
        rb,
        "t",
        PROFILE,
        report=_report(),
        policy=policy,
        clock=lambda: NOW,
        break_glass="INC-7: payments down, approved by the IC",
    )
    s.run(s.plan.step("pods"))
    ps = s.plan.step("restart")
    assert s.decide(ps).kind == "confirm"
    with pytest.raises(GovernanceRefused, match="needs a human confirmation"):
        s.run(ps, None)  # break-glass never runs unattended
    out = s.run(ps, s.confirm(ps, ps.action.digest()))
    assert out.ok and len(_restarts(kube)) == 1
    recs = [r for r in AuditLog().records() if r.run == s.run_id]
    bg = [r for r in recs if r.event == "break_glass"]
    assert bg and bg[0].data["reason"] == "INC-7: payments down, approved by the IC"
    intent = next(r for r in recs if r.event == "intent" and r.data["step"] == "restart")
    assert intent.data["break_glass"] == "INC-7: payments down, approved by the IC"
    assert intent.data["decision"]["freeze"] == ["bf"]
    assert verify().ok


def test_confirmation_is_bound_to_the_exact_action(kube: Path) -> None:
    rb = find_runbook("restart-crashloop")
    s = RunSession.start(rb, "t", PROFILE, params={"service": "payments"})
    s.run(s.plan.step("pods"))
    ps = s.plan.step("restart")
    conf = s.confirm(ps, ps.action.digest())
    # the inputs change after the confirmation: the action (and its digest) changes
    changed = ps.capability.input_model.model_validate({"name": "orders"})
    ps.inputs = changed
    with pytest.raises(GovernanceRefused, match="confirmation does not match this action"):
        s.run(ps, conf)
    assert _restarts(kube) == []
    # confirming what was displayed is refused when it is not what would run
    with pytest.raises(GovernanceRefused, match="not the action that would run"):
        s.confirm(ps, ps.action.digest())
    ps.action = ps.capability.render(ps.inputs, s.ctx)
    conf2 = s.confirm(ps, ps.action.digest())
    assert s.run(ps, conf2).ok
    assert _restarts(kube) == [
        ["--context", "ctx-test", "--namespace", "shop", "rollout", "restart", "deployment/orders"]
    ]


def test_forged_or_foreign_confirmations_are_refused(kube: Path) -> None:
    from aisre_cli.govern.session import Confirmation

    rb = find_runbook("restart-crashloop")
    a = RunSession.start(rb, "t", PROFILE, params={"service": "payments"})
    b = RunSession.start(rb, "t", PROFILE, params={"service": "payments"})
    for s in (a, b):
        s.run(s.plan.step("pods"))
    ps_a, ps_b = a.plan.step("restart"), b.plan.step("restart")
    conf_b = b.confirm(ps_b, ps_b.action.digest())
    with pytest.raises(GovernanceRefused):
        a.run(ps_a, conf_b)  # another session's yes
    forged = Confirmation(a.run_id, "restart", ps_a.action.digest(), "0" * 64)
    with pytest.raises(GovernanceRefused):
        a.run(ps_a, forged)
    assert _restarts(kube) == []


def test_steps_run_in_order_and_never_twice(kube: Path) -> None:
    rb = find_runbook("restart-crashloop")
    s = RunSession.start(rb, "t", PROFILE, params={"service": "payments"})
    ps = s.plan.step("restart")
    with pytest.raises(GovernanceRefused, match="not the current step"):
        s.run(ps, s.confirm(ps, ps.action.digest()))
    s.run(s.plan.step("pods"))
    with pytest.raises(GovernanceRefused, match="not the current step"):
        s.run(s.plan.step("pods"))
    s.skip(ps)
    assert s.current_step() is None
    assert s.finish().status == "completed"
    assert _restarts(kube) == []


def test_dry_run_session_never_executes(kube: Path) -> None:
    rb = find_runbook("restart-crashloop")
    s = RunSession.start(rb, "t", PROFILE, params={"service": "payments"}, dry_run=True)
    ps = s.plan.step("restart")
    pv = s.preview(ps)
    assert pv.ok and "--dry-run=server" in pv.text
    with pytest.raises(GovernanceRefused, match="dry run"):
        s.run(s.plan.step("pods"))
    assert _restarts(kube) == []
    assert any(r.event == "dry_run" for r in AuditLog().records())


def test_audit_failure_means_no_action(kube: Path, tmp_path: Path) -> None:
    rb = find_runbook("restart-crashloop")
    s = RunSession.start(rb, "t", PROFILE, params={"service": "payments"})
    s.run(s.plan.step("pods"))
    ps = s.plan.step("restart")
    conf = s.confirm(ps, ps.action.digest())
    bad = tmp_path / "not-a-file"
    bad.mkdir()
    s.audit = AuditLog(bad)
    with pytest.raises(AuditError, match="cannot open the audit log") as exc:
        s.run(ps, conf)
    assert exc.value.exit_code == 5
    assert _restarts(kube) == []
    assert s.state.step("restart").status == "pending"


def test_verification_failure_offers_the_undo(kube: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from aisre_cli.remediate.runbook import Runbook
    from aisre_cli.settings.config import PrometheusSource, Sources
    from tests.servers import shared_stack

    stack = shared_stack()
    monkeypatch.setenv("FAKE_KUBECTL_REPLICAS", "2")
    prof = Profile(
        environment="staging",
        kube_context="ctx-test",
        namespace="shop",
        sources=Sources(prometheus=PrometheusSource(url=stack.prom_url)),
    )
    rb = Runbook.model_validate(
        {
            "id": "scale-check",
            "title": "t",
            "params": {"service": {"type": "name"}},
            "steps": [
                {
                    "id": "scale",
                    "title": "scale",
                    "capability": "kubectl.scale",
                    "inputs": {"name": "{{ service }}", "replicas": 9},
                    "undo": "auto",
                    "verify": {
                        "query": "vector(1)",
                        "expect": "< 0.5",
                        "timeout": "1s",
                        "interval": "1s",
                    },
                }
            ],
        }
    )
    s = RunSession.start(rb, "t", prof, params={"service": "api"})
    ps = s.plan.step("scale")
    out = s.run(ps, s.confirm(ps, ps.action.digest()))
    assert not out.ok and out.verify is not None and not out.verify.ok
    assert out.undo is not None
    assert list(out.undo.action.argv[-2:]) == ["deployment/api", "--replicas=2"]
    res = s.run_undo(out.undo, s.confirm(out.undo, out.undo.action.digest()))
    assert res.ok and s.state.step("scale").status == "undone"
    scales = [a for a in kubectl_calls(kube) if "scale" in a]
    assert scales == [
        ["--context", "ctx-test", "--namespace", "shop", "scale", "deployment/api", "--replicas=9"],
        ["--context", "ctx-test", "--namespace", "shop", "scale", "deployment/api", "--replicas=2"],
    ]


def test_resume_refuses_a_changed_runbook(kube: Path, tmp_path: Path) -> None:
    f = tmp_path / "rb.yaml"
    f.write_text(
        "id: r\ntitle: t\nsteps:\n  - {id: a, title: a, capability: kubectl.rollout_restart,"
        " inputs: {name: api}}\n"
    )
    from aisre_cli.remediate.runbook import load_file

    rb = load_file(f).runbook
    assert rb is not None
    s = RunSession.start(rb, "t", PROFILE)
    s.stop(None, "test")
    s.finish()  # as the CLI does after a stop: the run is closed and resumable
    f.write_text(f.read_text().replace("name: api", "name: everything"))
    with pytest.raises(GovernanceRefused, match="changed since"):
        RunSession.resume(s.run_id, "t", PROFILE)


def test_cli_policy_shows_the_effective_autonomy(tmp_path: Path) -> None:
    import json
    import subprocess

    from tests.fakes.env import AISRE, make_env, write_config

    write_config(
        tmp_path,
        {},
        {
            "environments": {"prod": {"classes": {"write": "read_only"}}},
            "capabilities": {"exec": "advised"},
        },
    )
    cp = subprocess.run(
        [*AISRE, "runbook", "policy", "--json"],
        env=make_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert cp.returncode == 0, cp.stderr
    d = json.loads(cp.stdout)
    assert d["environment"] == "prod"
    assert d["autonomy"]["kubectl.scale"] == {
        "level": "read_only",
        "rule": "environments.prod.classes.write",
    }
    assert d["autonomy"]["exec"]["level"] == "advised"
    assert d["autonomy"]["kubectl.get"]["level"] == "approved"


def test_a_crashing_capability_leaves_a_closed_audit_trail(kube: Path) -> None:
    from aisre_cli.remediate.capabilities import Registry, default_registry
    from aisre_cli.remediate.runbook import Runbook
    from tests.fakes.crash_runner import Touch

    class Broken(Touch):
        name = "test.broken"

        def execute(self, inputs: Any, ctx: Any) -> Any:
            raise RuntimeError("bug in a capability")

    reg = Registry([*default_registry(), Broken()])
    rb = Runbook.model_validate(
        {
            "id": "b",
            "title": "b",
            "steps": [
                {"id": "s", "title": "s", "capability": "test.broken", "inputs": {"name": "x"}}
            ],
        }
    )
    s = RunSession.start(rb, "t", PROFILE, registry=reg)
    ps = s.plan.step("s")
    with pytest.raises(RuntimeError):
        s.run(ps, s.confirm(ps, ps.action.digest()))
    recs = [r for r in AuditLog().records() if r.run == s.run_id]
    assert [r.event for r in recs][-2:] == ["intent", "result"]
    assert recs[-1].data["ok"] is False and "bug in a capability" in recs[-1].data["error"]
    assert s.state.step("s").status == "failed"


@pytest.mark.parametrize(
    ("days", "start", "end", "when", "active"),
    [
        (["thu"], "11:00", "12:00", "2026-11-26T12:00:59Z", True),
        (["thu"], "11:00", "12:00", "2026-11-26T12:01:00Z", False),
        (["thu"], "22:00", "06:00", "2026-11-26T23:30:00Z", True),
        # 05:00 Thursday is the morning of Wednesday's window, not Thursday's
        (["thu"], "22:00", "06:00", "2026-11-26T05:00:00Z", False),
        (["thu"], "22:00", "06:00", "2026-11-27T05:00:00Z", True),
        (["thu"], "22:00", "06:00", "2026-11-26T12:00:00Z", False),
        (["mon", "Friday"], "00:00", "23:59", "2026-11-27T10:00:00Z", True),
    ],
)
def test_weekly_freeze_windows(
    days: list[str], start: str, end: str, when: str, active: bool
) -> None:
    pol = Policy.model_validate(
        {"freeze_windows": [{"name": "w", "weekly": {"days": days, "start": start, "end": end}}]}
    )
    now = datetime.fromisoformat(when.replace("Z", "+00:00"))
    assert bool(pol.active_freezes(now, "prod")) is active


# ------------------------------------------------------------------ issue 11, finding 6


def _weekly(**weekly: object) -> Policy:
    return Policy.model_validate({"freeze_windows": [{"name": "w", "weekly": weekly}]})


def _at(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def test_freeze_window_wrapping_midnight_covers_the_next_day() -> None:
    pol = _weekly(days=["fri"], start="22:00", end="06:00")
    assert pol.active_freezes(_at("2026-11-27T23:00:00Z"), "prod")  # Friday night
    assert pol.active_freezes(_at("2026-11-28T02:00:00Z"), "prod")  # Saturday 02:00
    assert pol.active_freezes(_at("2026-11-28T06:00:59Z"), "prod")  # end's whole minute
    assert not pol.active_freezes(_at("2026-11-28T06:01:00Z"), "prod")
    assert not pol.active_freezes(_at("2026-11-28T23:00:00Z"), "prod")  # Saturday night
    assert not pol.active_freezes(_at("2026-11-27T02:00:00Z"), "prod")  # Friday morning


@pytest.mark.parametrize("bad", ["00:00+02:00", "00:00Z", "24:00", "7:00", "07:00:30", "noon"])
def test_weekly_times_with_offsets_or_junk_are_refused(tmp_path: Path, bad: str) -> None:
    p = tmp_path / "policy.yaml"
    p.write_text(
        "freeze_windows:\n  - name: w\n    weekly:\n"
        f"      days: [mon]\n      start: {json.dumps(bad)}\n"
    )
    with pytest.raises(ConfigError) as ei:
        load_policy(p)
    assert ei.value.exit_code == 2
    assert ":5:" in ei.value.message and "HH:MM" in ei.value.message


def test_unknown_time_zone_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "policy.yaml"
    p.write_text("freeze_windows:\n  - {name: w, weekly: {days: [mon], timezone: Mars/Olympus}}\n")
    with pytest.raises(ConfigError, match="unknown time zone 'Mars/Olympus'"):
        load_policy(p)


def test_named_zone_and_naive_now_never_crash() -> None:
    pol = _weekly(days=["sat"], start="00:00", end="01:00", timezone="Europe/Berlin")
    # 23:30 UTC Friday = 00:30 Saturday in Berlin (CET, +01:00)
    assert pol.active_freezes(_at("2026-11-27T23:30:00Z"), "prod")
    assert not pol.active_freezes(_at("2026-11-28T00:30:00Z"), "prod")  # 01:30 Berlin
    # a naive "now" is read as UTC instead of raising a naive/aware TypeError
    assert pol.active_freezes(datetime(2026, 11, 27, 23, 30), "prod")
    absolute = Policy.model_validate(FREEZE)
    absolute.active_freezes(datetime(2026, 11, 28, 12, 0), "prod")


def test_dst_spring_forward_in_a_named_zone() -> None:
    # Europe/Berlin springs forward on Sunday 2026-03-29 at 02:00 CET -> 03:00 CEST.
    pol = _weekly(days=["sun"], start="01:00", end="03:59", timezone="Europe/Berlin")
    assert not pol.active_freezes(_at("2026-03-28T23:59:00Z"), "prod")  # 00:59 CET
    assert pol.active_freezes(_at("2026-03-29T00:00:00Z"), "prod")  # 01:00 CET
    assert pol.active_freezes(_at("2026-03-29T00:59:00Z"), "prod")  # 01:59 CET
    assert pol.active_freezes(_at("2026-03-29T01:00:00Z"), "prod")  # 03:00 CEST (jump)
    assert pol.active_freezes(_at("2026-03-29T01:59:00Z"), "prod")  # 03:59 CEST
    assert not pol.active_freezes(_at("2026-03-29T02:00:00Z"), "prod")  # 04:00 CEST
    # the same wall-clock window in UTC would be 01:00-03:59 UTC: different instants
    utc = _weekly(days=["sun"], start="01:00", end="03:59")
    assert not utc.active_freezes(_at("2026-03-29T00:30:00Z"), "prod")


def test_dst_fall_back_in_a_named_zone() -> None:
    # Europe/Berlin falls back on Sunday 2026-10-25 at 03:00 CEST -> 02:00 CET: 02:xx
    # happens twice, and both are inside a 02:00-02:59 window.
    pol = _weekly(days=["sun"], start="02:00", end="02:59", timezone="Europe/Berlin")
    assert not pol.active_freezes(_at("2026-10-24T23:59:00Z"), "prod")  # 01:59 CEST
    assert pol.active_freezes(_at("2026-10-25T00:30:00Z"), "prod")  # 02:30 CEST
    assert pol.active_freezes(_at("2026-10-25T01:30:00Z"), "prod")  # 02:30 CET
    assert not pol.active_freezes(_at("2026-10-25T02:00:00Z"), "prod")  # 03:00 CET
    # a window wrapping midnight across the change still covers the next morning
    night = _weekly(days=["sat"], start="23:00", end="04:00", timezone="Europe/Berlin")
    assert night.active_freezes(_at("2026-10-25T02:30:00Z"), "prod")  # 03:30 CET Sunday
    assert not night.active_freezes(_at("2026-10-25T03:30:00Z"), "prod")  # 04:30 CET
