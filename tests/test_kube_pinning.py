"""Remediation pinned to a cluster (issue 13, item 2).

Every kubectl call a runbook makes (reads, writes, `--dry-run=server` previews, the
replica count read before a scale, undo, verification) passes the profile's
`--context` and `--namespace`; a write step with no context in the profile is
refused (exit 5) before kubectl runs; the plan and every audit record of a step name
the context; `aisre doctor` shows the pin and `kubectl auth can-i` for each write
permission a runbook needs.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from aisre_cli.errors import ExitCode, GovernanceRefused
from aisre_cli.govern.audit import AuditLog
from aisre_cli.govern.routing import StepFacts, decide
from aisre_cli.govern.session import RunSession
from aisre_cli.remediate.capabilities import ExecContext, default_registry
from aisre_cli.remediate.capabilities.kubectl import KubectlGet, KubectlRolloutUndo
from aisre_cli.remediate.rbac import required_permissions
from aisre_cli.remediate.runbook import Runbook, find_runbook, load_runbooks
from aisre_cli.settings.config import Profile
from tests.conftest import DEMO
from tests.contract_servers.cli import run_cli
from tests.fakes.env import AISRE, FAKES, kubectl_calls, make_env, unpinned_calls, write_config

PINNED = Profile(environment="staging", kube_context="prod-eu", namespace="shop")
UNPINNED = Profile(environment="staging", namespace="shop")


@pytest.fixture
def kube(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PATH", f"{FAKES}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_KUBECTL_LOG", str(tmp_path / "kubectl.jsonl"))
    return tmp_path


def _flag(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


SCALE_RB: dict[str, Any] = {
    "id": "scale-pinned",
    "title": "scale, watch, undo",
    "params": {"service": {"type": "name"}, "ns": {"type": "name", "required": False}},
    "steps": [
        {
            "id": "look",
            "title": "look",
            "capability": "kubectl.get",
            "inputs": {"kind": "deployment", "name": "{{ service }}"},
        },
        {
            "id": "nodes",
            "title": "nodes",
            "capability": "kubectl.get",
            "inputs": {"kind": "node"},
        },
        {
            "id": "scale",
            "title": "scale",
            "capability": "kubectl.scale",
            "inputs": {"name": "{{ service }}", "replicas": 9, "namespace": "{{ ns }}"},
            "undo": "auto",
            "verify": {
                "capability": "kubectl.rollout_status",
                "inputs": {"name": "{{ service }}", "timeout": "5s", "namespace": "{{ ns }}"},
                "timeout": "1s",
                "interval": "1s",
            },
        },
    ],
}


def test_every_kubectl_call_of_a_run_is_pinned_and_audited_with_its_target(
    kube: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_KUBECTL_REPLICAS", "2")
    monkeypatch.setenv("FAKE_KUBECTL_FAIL", "rollout status")  # verification fails
    rb = Runbook.model_validate(SCALE_RB)
    s = RunSession.start(rb, "t", PINNED, params={"service": "api", "ns": "payments"})
    assert s.run(s.plan.step("look")).ok
    assert s.run(s.plan.step("nodes")).ok
    ps = s.plan.step("scale")
    pv = s.preview(ps)  # kubectl ... --dry-run=server
    assert pv.ok, pv.text
    out = s.run(ps, s.confirm(ps, ps.action.digest()))  # get replicas, scale, verify
    assert out.verify is not None and not out.verify.ok and out.undo is not None
    res = s.run_undo(out.undo, s.confirm(out.undo, out.undo.action.digest()))
    assert res.ok and s.state.step("scale").status == "undone"

    calls = kubectl_calls(kube)
    kinds = {
        "get deployment": [c for c in calls if "get" in c and "deployment" in c],
        "get node": [c for c in calls if "node" in c],
        "preview": [c for c in calls if "--dry-run=server" in c],
        "replicas read": [c for c in calls if any(a.startswith("--output=jsonpath") for a in c)],
        "scale": [c for c in calls if "--replicas=9" in c and "--dry-run=server" not in c],
        "verify": [c for c in calls if "status" in c],
        "undo": [c for c in calls if "--replicas=2" in c],
    }
    for what, got in kinds.items():
        assert got, f"no {what} call recorded: {calls}"
    assert len(kinds["verify"]) >= 1
    for c in calls:
        assert c[:2] == ["--context", "prod-eu"], c
        if "node" in c:
            assert "--namespace" not in c  # nodes are cluster-scoped
        elif any(x in c for x in ("--replicas=9", "--replicas=2", "status")) or any(
            a.startswith("--output=jsonpath") for a in c
        ):
            assert _flag(c, "--namespace") == "payments", c  # the step's namespace
        else:
            assert _flag(c, "--namespace") == "shop", c  # the profile's
    assert unpinned_calls(kube / "kubectl.jsonl") == []

    recs = [r for r in AuditLog().records() if r.run == s.run_id]
    start = next(r for r in recs if r.event == "run_start")
    assert start.data["kube"] == {"context": "prod-eu", "namespace": "shop"}
    plan = {p["step"]: p["target"] for p in start.data["plan"]}
    assert plan["scale"] == {"kind": "kubernetes", "context": "prod-eu", "namespace": "payments"}
    assert plan["nodes"] == {"kind": "kubernetes", "context": "prod-eu", "namespace": None}
    for ev in ("intent", "result", "dry_run", "verify"):
        got = [r for r in recs if r.event == ev and r.data["step"] in ("scale", "scale.undo")]
        assert got, ev
        for r in got:
            assert r.data["target"]["context"] == "prod-eu", (ev, r.data)
            assert r.data["target"]["namespace"] == "payments", (ev, r.data)


def test_an_unpinned_write_is_refused_by_routing_and_by_the_capability(kube: Path) -> None:
    rb = find_runbook("restart-crashloop")
    s = RunSession.start(rb, "t", UNPINNED, params={"service": "payments"})
    ps = s.plan.step("restart")
    d = s.decide(ps)
    assert d.kind == "refuse" and "no Kubernetes context" in d.reasons[0]
    assert d.hint is not None and "--kube-context" in d.hint
    with pytest.raises(GovernanceRefused):
        s.run(ps, s.confirm(ps, ps.action.digest()))
    # the preview of an unpinned write asks no cluster either
    pv = s.preview(ps)
    assert not pv.ok and "not previewed" in pv.text
    # the capability refuses on its own, whoever calls it
    ctx = ExecContext(profile=UNPINNED)
    undo = KubectlRolloutUndo()
    with pytest.raises(GovernanceRefused, match="no Kubernetes context") as err:
        undo.execute(undo.Input.model_validate({"name": "payments"}), ctx)
    assert err.value.exit_code == ExitCode.REFUSED
    assert kubectl_calls(kube) == []
    # a read is allowed without a context: it runs against kubectl's current context
    # (rendered here, not run: no test runs kubectl without --context)
    get = KubectlGet()
    argv = get.render(get.Input.model_validate({"kind": "pod"}), ctx).argv
    assert "--context" not in argv and _flag(list(argv), "--namespace") == "shop"
    assert s.decide(s.plan.step("pods")).kind == "execute"


def test_break_glass_does_not_override_a_missing_context() -> None:
    from aisre_cli.govern.policy import Policy

    facts = StepFacts(
        capability="kubectl.rollout_undo",
        scope="write",
        environment="prod",
        runbook_id="r",
        break_glass="INC-1: approved by the incident commander",
        unpinned="no Kubernetes context: ...",
    )
    pol = Policy.model_validate({"autonomy": "autonomous"})
    assert decide(facts, pol).kind == "refuse"
    # the same step with a pinned target goes on to the normal rules
    assert decide(facts.__class__(**{**facts.__dict__, "unpinned": None}), pol).kind != "refuse"


def _single_write_runbook(home: Path) -> Path:
    d = home / "runbooks"
    d.mkdir(parents=True)
    (d / "undo.yaml").write_text(
        yaml.safe_dump(
            {
                "id": "undo-only",
                "title": "Roll back",
                "params": {"service": {"type": "name"}},
                "steps": [
                    {
                        "id": "rollback",
                        "title": "Roll back",
                        "capability": "kubectl.rollout_undo",
                        "inputs": {"name": "{{ service }}"},
                    }
                ],
            }
        )
    )
    return d


def test_cli_refuses_a_write_without_a_context_with_exit_5(tmp_path: Path) -> None:
    home = tmp_path / "h"
    books = _single_write_runbook(home)
    write_config(home, {"kube_context": None, "runbook_dirs": [str(books)]})
    env = make_env(home)
    cp = subprocess.run(
        [*AISRE, "runbook", "run", "undo-only", "--param", "service=payments", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert cp.returncode == ExitCode.REFUSED == 5, cp.stderr
    assert "no Kubernetes context" in cp.stderr
    hint = [ln for ln in cp.stderr.splitlines() if ln.startswith("hint:")]
    assert hint and "aisre config init --kube-context" in hint[0]
    assert "no context pinned" in cp.stderr  # the plan says so before any step
    out = json.loads(cp.stdout)
    assert out["steps"] == {"rollback": "refused"}
    assert out["kube"] == {"context": None, "namespace": "shop", "namespaces": ["shop"]}
    # why it stopped is in the JSON too (QA 2026-12-03: only the exit code said so)
    assert out["stopped"]["step"] == "rollback" and out["stopped"]["how"] == "stop"
    assert out["stopped"]["decision"]["kind"] == "refuse"
    assert "aisre config init --kube-context" in out["stopped"]["hint"]
    assert kubectl_calls(home) == []
    env_home = Path(env["AISRE_HOME"])
    recs = [json.loads(x) for x in (env_home / "data" / "audit.jsonl").read_text().splitlines()]
    stop = next(r for r in recs if r["event"] == "stopped")
    assert stop["data"]["decision"]["kind"] == "refuse"
    assert "no Kubernetes context" in stop["data"]["decision"]["reasons"][0]
    # a dry run of a shipped runbook (a read, then the write) asks no cluster either
    cp = subprocess.run(
        [*AISRE, "runbook", "run", "rollback-bad-deploy", "-P", "service=payments", "--dry-run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    # the dry run says the real run would stop at the write, and exits as a refusal
    assert cp.returncode == 5, cp.stderr
    assert "not previewed: no Kubernetes context" in cp.stderr
    assert "dry run: the run would stop at step 2 (rollback): refused" in cp.stderr
    assert kubectl_calls(home) == []


def test_cli_plan_shows_the_context_and_the_write_runs_pinned(tmp_path: Path) -> None:
    home = tmp_path / "h"
    books = _single_write_runbook(home)
    write_config(
        home,
        {"kube_context": "prod-eu", "namespace": "shop", "runbook_dirs": [str(books)]},
        policy={"autonomy": "autonomous", "thresholds": {"min_successes": 0}},
    )
    cp = subprocess.run(
        [*AISRE, "runbook", "run", "undo-only", "--param", "service=payments", "--dry-run"],
        env=make_env(home),
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert cp.returncode == 0, cp.stderr
    assert "kubernetes: context prod-eu, namespace shop" in cp.stderr
    assert "target: context prod-eu, namespace shop" in cp.stderr
    calls = kubectl_calls(home)
    assert calls == [
        [
            *("--context", "prod-eu", "--namespace", "shop"),
            *("rollout", "undo", "deployment/payments", "--dry-run=server"),
        ]
    ]


def test_resume_refuses_a_profile_pinned_to_another_cluster(kube: Path) -> None:
    rb = find_runbook("restart-crashloop")
    s = RunSession.start(rb, "t", PINNED, params={"service": "payments"})
    s.abort("test")
    s.finish()
    other = PINNED.model_copy(update={"kube_context": "prod-us"})
    with pytest.raises(GovernanceRefused, match="planned against Kubernetes context 'prod-eu'"):
        RunSession.resume(s.run_id, "t", other)
    assert RunSession.resume(s.run_id, "t", PINNED).state.kube_context == "prod-eu"


def test_required_permissions_cover_every_shipped_kubectl_write() -> None:
    books = load_runbooks(None)
    reg = default_registry()
    needed = {n.permission.text(): sorted(n.steps) for n in required_permissions(books, reg)}
    assert needed == {
        "patch deployments": ["restart-crashloop/restart", "rollback-bad-deploy/rollback"],
        "patch deployments/scale": ["scale-out-saturation/scale"],
        "patch certificates.cert-manager.io/status": ["renew-expired-cert/renew"],
        "patch persistentvolumeclaims": ["recover-full-disk/grow"],
    }
    # every kubectl write step of a shipped runbook is accounted for
    writes = {
        f"{rb.id}/{st.id}"
        for rb in books
        for st in rb.steps
        if st.capability.startswith("kubectl.") and reg.get(st.capability).scope != "read"
    }
    assert writes == {s for steps in needed.values() for s in steps}


def test_doctor_shows_the_pin_and_can_i_per_write_permission(tmp_path: Path) -> None:
    home = tmp_path / "h"
    write_config(
        home, {"kube_context": "prod-eu", "namespace": "shop", "sources": {"bundle": str(DEMO)}}
    )
    env = make_env(
        home,
        FAKE_KUBECTL_CANI="patch persistentvolumeclaims=no",
        FAKE_KUBECTL_FAIL="certificates",
    )
    cp = subprocess.run(
        [*AISRE, "doctor", "--json"], env=env, capture_output=True, text=True, timeout=120
    )
    assert cp.returncode == 0, cp.stderr  # can-i answers advise; they do not fail doctor
    kube = json.loads(cp.stdout)["kubernetes"]
    assert kube["context"] == "prod-eu" and kube["namespace"] == "shop" and kube["pinned"]
    rows = {
        f"{r['verb']} {r['resource']}" + (f"/{r['subresource']}" if r["subresource"] else ""): r
        for r in kube["can_i"]
    }
    assert rows["patch deployments"]["answer"] == "yes"
    assert rows["patch deployments/scale"]["answer"] == "yes"
    assert rows["patch persistentvolumeclaims"]["answer"] == "no"
    cert = rows["patch certificates.cert-manager.io/status"]
    assert cert["answer"] == "error" and "simulated failure" in cert["detail"]
    assert "recover-full-disk/grow" in rows["patch persistentvolumeclaims"]["steps"]
    calls = [c for c in kubectl_calls(home) if "can-i" in c]
    assert len(calls) == 4
    for c in calls:
        assert c[:4] == ["--context", "prod-eu", "--namespace", "shop"], c
        assert c[4:6] == ["auth", "can-i"]
    assert ["auth", "can-i", "patch", "deployments", "--subresource=scale"] == [
        x
        for x in next(c for c in calls if "--subresource=scale" in c)
        if x != "--request-timeout=5s"
    ][4:]
    # the table says the same, one line per permission
    cp = subprocess.run([*AISRE, "doctor"], env=env, capture_output=True, text=True, timeout=120)
    assert "kubernetes: context prod-eu, namespace shop" in cp.stdout
    lines = {ln.split()[2]: ln for ln in cp.stdout.splitlines() if ln.strip().startswith("can-i")}
    assert " yes " in lines["deployments"] + " "
    assert " no " in lines["persistentvolumeclaims"] + " "


def test_doctor_without_a_context_asks_no_cluster(tmp_path: Path) -> None:
    home = tmp_path / "h"
    write_config(home, {"kube_context": None, "sources": {"bundle": str(DEMO)}})
    env = make_env(home)
    cp = subprocess.run(
        [*AISRE, "doctor", "--json"], env=env, capture_output=True, text=True, timeout=120
    )
    kube = json.loads(cp.stdout)["kubernetes"]
    assert not kube["pinned"] and "--kube-context" in kube["hint"]
    assert {r["answer"] for r in kube["can_i"]} == {"not checked"}
    assert kubectl_calls(home) == []
    cp = subprocess.run([*AISRE, "doctor"], env=env, capture_output=True, text=True, timeout=120)
    assert "no context pinned" in cp.stdout and "write steps are refused" in cp.stdout


def test_config_init_writes_the_pin_and_validates_it() -> None:
    from aisre_cli.settings import paths

    r = run_cli(
        [
            *("config", "init", "-y", "--prometheus-url", "http://prom:9090"),
            *("--kube-context", "prod-eu", "-n", "shop"),
        ]
    )
    assert r.code == 0, r.err
    prof = yaml.safe_load(paths.config_file().read_text())["profiles"]["prod"]
    assert prof["kube_context"] == "prod-eu" and prof["namespace"] == "shop"
    # without a context init says what that means
    r = run_cli(["config", "init", "-y", "--name", "x", "--prometheus-url", "http://p:9090"])
    assert r.code == 0 and "write steps will be refused" in r.err
    # a context that would read as a flag, or a namespace that is no RFC 1123 label
    for argv in (["--kube-context", "--all"], ["--kube-context", "ok", "-n", "Shop_1"]):
        r = run_cli(
            ["config", "init", "-y", "--name", "y", "--prometheus-url", "http://p:9090", *argv]
        )
        assert r.code == ExitCode.USAGE, (argv, r.err)
        assert r.err.count("\n") <= 3 and "Traceback" not in r.err


def test_the_suite_guard_detects_an_unpinned_call(tmp_path: Path) -> None:
    """The conftest check that fails a test whose kubectl call lacks --context can fail."""
    log = tmp_path / "other.jsonl"
    env = {**os.environ, "FAKE_KUBECTL_AUDIT": str(log), "FAKE_KUBECTL_LOG": ""}
    subprocess.run([str(FAKES / "kubectl"), "get", "pods"], env=env, check=True, timeout=60)
    subprocess.run(
        [str(FAKES / "kubectl"), "--context", "c", "get", "pods"], env=env, check=True, timeout=60
    )
    subprocess.run(
        [str(FAKES / "kubectl"), "--context=c", "get", "pods"], env=env, check=True, timeout=60
    )
    assert unpinned_calls(log) == [["get", "pods"]]


def _with_kubeconfig(profile: Profile, kubeconfig: str) -> Profile:
    return Profile.model_validate(
        {**profile.model_dump(), "sources": {"kubernetes": {"kubeconfig": kubeconfig}}}
    )


def test_runbook_kubectl_calls_use_the_profiles_kubeconfig(
    kube: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The context `prod-eu` exists only in the profile's `sources.kubernetes.kubeconfig`
    (the fake kubectl fails any call that does not pass it): reads, previews, the
    replica read, the write and its undo all name it with `--kubeconfig`."""
    kc = kube / "prod.kubeconfig"
    monkeypatch.setenv("FAKE_KUBECTL_KUBECONFIG", str(kc))
    monkeypatch.setenv("FAKE_KUBECTL_REPLICAS", "2")
    monkeypatch.setenv("HOME", str(kube))
    prof = _with_kubeconfig(PINNED, "~/prod.kubeconfig")  # `~` is expanded
    rb = Runbook.model_validate(SCALE_RB)
    s = RunSession.start(rb, "t", prof, params={"service": "api", "ns": "payments"})
    assert s.run(s.plan.step("look")).ok
    assert s.run(s.plan.step("nodes")).ok
    ps = s.plan.step("scale")
    assert f"--kubeconfig={kc}" in ps.action.text()  # the plan shows what runs
    pv = s.preview(ps)
    assert pv.ok, pv.text
    out = s.run(ps, s.confirm(ps, ps.action.digest()))
    assert out.ok, out
    calls = kubectl_calls(kube)
    assert len(calls) >= 4
    for c in calls:
        assert c[:3] == [f"--kubeconfig={kc}", "--context", "prod-eu"], c


def test_doctor_can_i_uses_the_profiles_kubeconfig(tmp_path: Path) -> None:
    """QA: with `sources.kubernetes.kubeconfig` set, doctor's can-i ran kubectl with its
    default kubeconfig and every row said `error: context "prod" does not exist`."""
    home = tmp_path / "h"
    kc = tmp_path / "prod.kubeconfig"
    write_config(
        home,
        {
            "kube_context": "prod",
            "namespace": "shop",
            "sources": {"bundle": str(DEMO), "kubernetes": {"kubeconfig": str(kc)}},
        },
    )
    env = make_env(
        home, FAKE_KUBECTL_KUBECONFIG=str(kc), FAKE_KUBECTL_CANI="patch persistentvolumeclaims=no"
    )
    cp = subprocess.run(
        [*AISRE, "doctor", "--json"], env=env, capture_output=True, text=True, timeout=120
    )
    assert cp.returncode == 0, cp.stderr
    rows = json.loads(cp.stdout)["kubernetes"]["can_i"]
    answers = {
        r["resource"] + (f"/{r['subresource']}" if r["subresource"] else ""): r for r in rows
    }
    assert answers["persistentvolumeclaims"]["answer"] == "no"
    assert {r["answer"] for k, r in answers.items() if k != "persistentvolumeclaims"} == {"yes"}, (
        rows
    )
    assert all(f"--kubeconfig={kc} --context prod" in r["command"] for r in rows), rows
    calls = [c for c in kubectl_calls(home) if "can-i" in c]
    assert len(calls) == len(rows) == 4
    assert all(c[:3] == [f"--kubeconfig={kc}", "--context", "prod"] for c in calls), calls
