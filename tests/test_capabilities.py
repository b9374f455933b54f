"""Capabilities: exact argv, server dry runs, no smuggling, permits, real HTTP peers.

kubectl runs are against the fake kubectl (it records argv); silences against a real
Alertmanager and verification against a real Prometheus (tests/servers.py); PagerDuty
against the contract server.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from aisre_cli.errors import UsageError
from aisre_cli.remediate import executor
from aisre_cli.remediate.capabilities import CapabilityError, ExecContext, default_registry
from aisre_cli.remediate.executor import Permit, PermitError
from aisre_cli.remediate.plan import build_plan
from aisre_cli.remediate.runbook import Runbook, find_runbook
from aisre_cli.settings.config import (
    AlertmanagerSource,
    PagerDutySource,
    Profile,
    PrometheusSource,
    Sources,
)
from tests.fakes.env import FAKES, kubectl_calls

REG = default_registry()
PROFILE = Profile(environment="prod", kube_context="prod-eu", namespace="shop")
BASE = ["--context", "prod-eu", "--namespace", "shop"]


@pytest.fixture
def kube(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[ExecContext, Path]:
    monkeypatch.setenv("PATH", f"{FAKES}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_KUBECTL_LOG", str(tmp_path / "kubectl.jsonl"))
    return ExecContext(profile=PROFILE), tmp_path


def _run(name: str, inputs: dict[str, Any], ctx: ExecContext) -> dict[str, Any]:
    cap = REG.get(name)
    inp = cap.input_model.model_validate(inputs)
    return cap.execute(inp, ctx).model_dump()


def test_registry_is_complete() -> None:
    names = set(REG.names())
    for n in (
        "prometheus.query",
        "alertmanager.silence.create",
        "alertmanager.silence.expire",
        "pagerduty.note",
        "pagerduty.acknowledge",
        "pagerduty.escalate",
        "kubectl.get",
        "kubectl.rollout_status",
        "kubectl.rollout_undo",
        "kubectl.rollout_restart",
        "kubectl.scale",
        "http.request",
        "exec",
        "wait",
        "notify",
    ):
        assert n in names
    scopes = {c.name: c.scope for c in REG}
    assert scopes["kubectl.get"] == "read" and scopes["kubectl.rollout_status"] == "read"
    assert scopes["kubectl.rollout_undo"] == "write" and scopes["exec"] == "destructive"
    assert all(c.description for c in REG)


KUBECTL_CASES = [
    (
        "kubectl.get",
        {"kind": "deployment", "name": "api"},
        ["get", "deployment", "api", "--output", "wide"],
    ),
    (
        "kubectl.get",
        {"kind": "pod", "selector": "app=api"},
        ["get", "pod", "--selector", "app=api", "--output", "wide"],
    ),
    (
        "kubectl.rollout_status",
        {"name": "api", "timeout": "30s"},
        ["rollout", "status", "deployment/api", "--timeout=30s"],
    ),
    ("kubectl.rollout_undo", {"name": "api"}, ["rollout", "undo", "deployment/api"]),
    (
        "kubectl.rollout_undo",
        {"name": "api", "to_revision": 3},
        ["rollout", "undo", "deployment/api", "--to-revision=3"],
    ),
    (
        "kubectl.rollout_restart",
        {"name": "api", "kind": "statefulset"},
        ["rollout", "restart", "statefulset/api"],
    ),
    ("kubectl.scale", {"name": "api", "replicas": 6}, ["scale", "deployment/api", "--replicas=6"]),
    (
        "kubectl.pvc_resize",
        {"name": "data-db-0", "size": "50Gi"},
        [
            "patch",
            "pvc",
            "data-db-0",
            "--type=merge",
            "--patch",
            '{"spec":{"resources":{"requests":{"storage":"50Gi"}}}}',
        ],
    ),
]


@pytest.mark.parametrize(("cap", "inputs", "tail"), KUBECTL_CASES)
def test_kubectl_argv_is_exact(
    cap: str, inputs: dict[str, Any], tail: list[str], kube: tuple[ExecContext, Path]
) -> None:
    ctx, home = kube
    c = REG.get(cap)
    action = c.render(c.input_model.model_validate(inputs), ctx)
    assert action.kind == "argv"
    assert list(action.argv) == ["kubectl", *BASE, *tail]
    _run(cap, inputs, ctx)
    assert kubectl_calls(home)[-1] == [*BASE, *tail]


def test_namespace_override_and_profile_context(kube: tuple[ExecContext, Path]) -> None:
    ctx, _ = kube
    c = REG.get("kubectl.rollout_restart")
    a = c.render(c.input_model.model_validate({"name": "api", "namespace": "payments"}), ctx)
    assert list(a.argv[:5]) == ["kubectl", "--context", "prod-eu", "--namespace", "payments"]


@pytest.mark.parametrize(
    ("cap", "inputs"),
    [
        ("kubectl.rollout_undo", {"name": "api"}),
        ("kubectl.rollout_restart", {"name": "api"}),
        ("kubectl.scale", {"name": "api", "replicas": 2}),
        ("kubectl.cert_renew", {"name": "api-tls"}),
        ("kubectl.pvc_resize", {"name": "data", "size": "20Gi"}),
    ],
)
def test_write_dry_run_is_server_side_and_changes_nothing(
    cap: str, inputs: dict[str, Any], kube: tuple[ExecContext, Path]
) -> None:
    ctx, home = kube
    c = REG.get(cap)
    pv = c.dry_run(c.input_model.model_validate(inputs), ctx)
    assert pv.ok and "server dry run" in pv.text
    calls = kubectl_calls(home)
    assert len(calls) == 1 and calls[0][-1] == "--dry-run=server"


def test_scale_records_previous_replicas_for_undo(
    kube: tuple[ExecContext, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx, home = kube
    monkeypatch.setenv("FAKE_KUBECTL_REPLICAS", "4")
    out = _run("kubectl.scale", {"name": "api", "replicas": 10}, ctx)
    assert out["previous_replicas"] == 4
    c = REG.get("kubectl.scale")
    undo = c.undo(c.input_model.model_validate({"name": "api", "replicas": 10}), out)
    assert undo is not None and undo.capability == "kubectl.scale"
    assert undo.inputs["replicas"] == 4


def test_kubectl_failure_is_a_capability_error(
    kube: tuple[ExecContext, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx, _ = kube
    monkeypatch.setenv("FAKE_KUBECTL_FAIL", "restart")
    with pytest.raises(CapabilityError, match="simulated failure"):
        _run("kubectl.rollout_restart", {"name": "api"}, ctx)


def test_missing_namespace_is_a_config_error(kube: tuple[ExecContext, Path]) -> None:
    ctx = ExecContext(profile=Profile(environment="prod"))
    c = REG.get("kubectl.rollout_restart")
    with pytest.raises(Exception, match="no Kubernetes namespace"):
        c.render(c.input_model.model_validate({"name": "api"}), ctx)


# ------------------------------------------------------------------ smuggling

HOSTILE = [
    "x; rm -rf /",
    "--all-namespaces",
    "-A",
    "--context=other",
    "$(reboot)",
    "`id`",
    "api && kubectl delete ns prod",
    "api|sh",
    "a b",
    "api\nrm",
    "../../etc/passwd",
    "deployment/api",
    "API",
    "",
    "-",
    "x" * 300,
]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_names_are_rejected_by_the_capability(value: str) -> None:
    for cap in ("kubectl.rollout_undo", "kubectl.rollout_restart", "kubectl.get"):
        with pytest.raises(ValidationError):
            REG.get(cap).input_model.model_validate(
                {"name": value, **({"kind": "deployment"} if cap == "kubectl.get" else {})}
            )


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_parameter_from_the_verdict_is_rejected_before_planning(value: str) -> None:
    rb = find_runbook("restart-crashloop")
    with pytest.raises(UsageError, match="rejected"):
        build_plan(
            rb,
            {"service": value},
            report=None,
            registry=REG,
            ctx=ExecContext(profile=PROFILE),
            run_id="r-1",
        )


def test_hostile_alert_label_never_reaches_argv(kube: tuple[ExecContext, Path]) -> None:
    from datetime import UTC, datetime

    from aisre_cli.model import Alert, Hypothesis, TriageReport, Verdict

    report = TriageReport(
        alert=Alert(
            id="fp1",
            name="CrashLooping",
            service="x; rm -rf /",
            labels={"namespace": "--all-namespaces"},
            starts_at=datetime.now(UTC),
        ),
        verdict=Verdict(
            hypotheses=[
                Hypothesis(kind="crash_loop", service="x; rm -rf /", statement="s", confidence=0.9)
            ]
        ),
    )
    with pytest.raises(UsageError, match="rejected"):
        build_plan(
            find_runbook("restart-crashloop"),
            {},
            report=report,
            registry=REG,
            ctx=kube[0],
            run_id="r-1",
        )
    assert kubectl_calls(kube[1]) == []


def test_free_text_travels_as_one_inert_json_string() -> None:
    prof = Profile(sources=Sources(pagerduty=PagerDutySource(url="http://pd.invalid")))
    c = REG.get("pagerduty.note")
    evil = 'done"; rm -rf / #\n$(reboot) `id` --all-namespaces'
    a = c.render(
        c.input_model.model_validate({"incident_id": "Q1", "content": evil}),
        ExecContext(profile=prof),
    )
    assert a.kind == "http" and a.body == {"note": {"content": evil}}
    with pytest.raises(ValidationError):  # ids are narrow
        c.input_model.model_validate({"incident_id": "Q1/../../users", "content": "x"})


def test_exec_passes_shell_syntax_as_one_argument(tmp_path: Path) -> None:
    ctx = ExecContext(profile=PROFILE, exec_allowlist=(("/bin/echo",),))
    evil = "x; rm -rf / && echo pwned $(id) `id` | sh"
    out = _run("exec", {"argv": ["/bin/echo", evil]}, ctx)
    assert out["stdout"] == evil + "\n"


def test_exec_outside_the_allowlist_is_refused() -> None:
    ctx = ExecContext(profile=PROFILE, exec_allowlist=(("/bin/echo", "safe"),))
    c = REG.get("exec")
    for argv in (["/bin/echo", "other"], ["/bin/rm", "-rf", "/"], ["/bin/echoX", "safe"]):
        with pytest.raises(CapabilityError, match="exec_allowlist"):
            c.render(c.input_model.model_validate({"argv": argv}), ctx)


def test_http_request_host_allowlist() -> None:
    c = REG.get("http.request")
    ctx = ExecContext(profile=PROFILE, http_allowlist=("hooks.example.com",))
    ok = c.render(c.input_model.model_validate({"url": "https://hooks.example.com/x"}), ctx)
    assert ok.url == "https://hooks.example.com/x"
    with pytest.raises(CapabilityError, match="http_allowlist"):
        c.render(c.input_model.model_validate({"url": "https://evil.example.com/x"}), ctx)
    for bad in ("file:///etc/passwd", "https://user:pw@hooks.example.com/", "ftp://x"):
        with pytest.raises(ValidationError):
            c.input_model.model_validate({"url": bad})


# ------------------------------------------------------------------ executor


def _plan(kube: tuple[ExecContext, Path]) -> Any:
    rb = find_runbook("restart-crashloop")
    return build_plan(rb, {"service": "api"}, report=None, registry=REG, ctx=kube[0], run_id="r-1")


def test_executor_needs_a_matching_permit(kube: tuple[ExecContext, Path]) -> None:
    ctx, home = kube
    ps = _plan(kube).step("restart")
    digest = ps.action.digest()
    with pytest.raises(PermitError):
        executor.execute(ps, ctx, Permit("r-1", "restart", "0" * 64, 1))
    with pytest.raises(PermitError):
        executor.execute(ps, ctx, Permit("r-1", "pods", digest, 1))
    with pytest.raises(PermitError):
        executor.execute(ps, ctx, Permit("r-1", "restart", digest, 0))
    assert kubectl_calls(home) == []
    res = executor.execute(ps, ctx, Permit("r-1", "restart", digest, 7))
    assert res.ok and kubectl_calls(home) == [[*BASE, "rollout", "restart", "deployment/api"]]


def test_action_digest_changes_with_inputs(kube: tuple[ExecContext, Path]) -> None:
    ctx, _ = kube
    c = REG.get("kubectl.scale")
    a = c.render(c.input_model.model_validate({"name": "api", "replicas": 3}), ctx)
    b = c.render(c.input_model.model_validate({"name": "api", "replicas": 4}), ctx)
    a2 = c.render(c.input_model.model_validate({"name": "api", "replicas": 3}), ctx)
    assert a.digest() != b.digest() and a.digest() == a2.digest()


def test_wait_and_notify() -> None:
    slept: list[float] = []
    seen: list[str] = []
    ctx = ExecContext(profile=PROFILE, sleep=slept.append, notify=seen.append)
    _run("wait", {"duration": "2m"}, ctx)
    _run("notify", {"message": "check the dashboard"}, ctx)
    assert slept == [120.0] and seen == ["check the dashboard"]


# ------------------------------------------------------------------ real servers


@pytest.fixture(scope="module")
def stack() -> Any:
    from tests.servers import shared_stack

    return shared_stack()


@pytest.mark.integration
def test_silence_create_and_expire_on_a_real_alertmanager(stack: Any) -> None:
    from tests.servers import http_json

    prof = Profile(sources=Sources(alertmanager=AlertmanagerSource(url=stack.am_url)))
    ctx = ExecContext(profile=prof)
    inputs = {
        "matchers": [
            {"name": "alertname", "value": "NoisyThing"},
            {"name": "service", "value": "x; rm -rf /"},
        ],
        "duration": "30m",
        "comment": "flapping during INC-1",
    }
    c = REG.get("alertmanager.silence.create")
    action = c.render(c.input_model.model_validate(inputs), ctx)
    assert action.body["endsAt"] == "now+30m"  # time is fixed at send, so the digest is stable
    out = _run("alertmanager.silence.create", inputs, ctx)
    sid = out["silence_id"]
    assert f"silence {sid} created" in out["message"]
    assert f"amtool silence expire {sid}" in out["message"]
    sil = http_json(f"{stack.am_url}/api/v2/silence/{sid}")
    assert sil["status"]["state"] == "active"
    assert {m["name"]: m["value"] for m in sil["matchers"]} == {
        "alertname": "NoisyThing",
        "service": "x; rm -rf /",
    }
    assert sil["comment"] == "flapping during INC-1"
    undo = c.undo(c.input_model.model_validate(inputs), out)
    assert undo is not None
    _run(undo.capability, undo.inputs, ctx)
    assert http_json(f"{stack.am_url}/api/v2/silence/{sid}")["status"]["state"] == "expired"


def test_silence_create_says_the_id_and_how_to_expire_it() -> None:
    """The operator needs the id to expire the silence: the step's note (output.message,
    printed by `runbook run`) names it, not only the audit record's output.silence_id."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    sid = "4b1d0c2e-8f3a-4e5b-9c6d-7a8b9c0d1e2f"

    class H(BaseHTTPRequestHandler):
        def log_message(self, *a: Any) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("content-length") or 0))
            body = json.dumps({"silenceID": sid}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{srv.server_address[1]}"
        ctx = ExecContext(
            profile=Profile(sources=Sources(alertmanager=AlertmanagerSource(url=url)))
        )
        inputs = {
            "matchers": [{"name": "alertname", "value": "x"}],
            "duration": "2h",
            "comment": "c",
        }
        out = _run("alertmanager.silence.create", inputs, ctx)
    finally:
        srv.shutdown()
        srv.server_close()
    assert out["silence_id"] == sid  # the undo still finds it
    msg = out["message"]
    assert msg.startswith(f"silence {sid} created (ends 20")
    assert f"expire it with: amtool silence expire {sid} (or in the Alertmanager UI)" in msg
    c = REG.get("alertmanager.silence.create")
    undo = c.undo(c.input_model.model_validate(inputs), out)
    assert undo is not None and undo.inputs == {"silence_id": sid}


def test_silence_duration_is_bounded() -> None:
    c = REG.get("alertmanager.silence.create")
    for d in ("8d", "30s", "forever"):
        with pytest.raises(ValidationError):
            c.input_model.model_validate(
                {"matchers": [{"name": "alertname", "value": "x"}], "duration": d, "comment": "c"}
            )


@pytest.mark.integration
def test_verification_against_a_real_prometheus(stack: Any) -> None:
    prof = Profile(
        namespace="shop", sources=Sources(prometheus=PrometheusSource(url=stack.prom_url))
    )
    ctx = ExecContext(profile=prof, sleep=lambda s: None)
    rb = Runbook.model_validate(
        {
            "id": "v",
            "title": "v",
            "steps": [
                {
                    "id": "good",
                    "title": "g",
                    "capability": "notify",
                    "inputs": {"message": "m"},
                    "verify": {
                        "query": "vector(0.01)",
                        "expect": "< 0.05",
                        "timeout": "1s",
                        "interval": "1s",
                    },
                },
                {
                    "id": "bad",
                    "title": "b",
                    "capability": "notify",
                    "inputs": {"message": "m"},
                    "verify": {
                        "query": "vector(1)",
                        "expect": "< 0.05",
                        "timeout": "1s",
                        "interval": "1s",
                    },
                },
                {
                    "id": "absent",
                    "title": "a",
                    "capability": "notify",
                    "inputs": {"message": "m"},
                    "verify": {"query": 'up{job="nope"}', "expect": "absent", "timeout": "1s"},
                },
            ],
        }
    )
    plan = build_plan(rb, {}, report=None, registry=REG, ctx=ctx, run_id="r")
    good = executor.verify(plan.step("good"), ctx, REG)
    bad = executor.verify(plan.step("bad"), ctx, REG)
    absent = executor.verify(plan.step("absent"), ctx, REG)
    assert good.ok and good.value == pytest.approx(0.01)
    assert not bad.ok and "expected < 0.05" in bad.detail and bad.attempts >= 1
    assert absent.ok


def test_verification_without_prometheus_is_reported_not_faked() -> None:
    ctx = ExecContext(profile=PROFILE)
    rb = Runbook.model_validate(
        {
            "id": "v",
            "title": "v",
            "steps": [
                {
                    "id": "s",
                    "title": "s",
                    "capability": "notify",
                    "inputs": {"message": "m"},
                    "verify": {"query": "vector(1)", "expect": "> 0"},
                }
            ],
        }
    )
    plan = build_plan(rb, {}, report=None, registry=REG, ctx=ctx, run_id="r")
    vr = executor.verify(plan.step("s"), ctx, REG)
    assert not vr.ok and vr.skipped and "no Prometheus" in vr.detail


def test_pagerduty_note_and_acknowledge_on_the_contract_server() -> None:
    from tests.contract_servers.pagerduty import PagerDutyServer

    with PagerDutyServer() as pd:
        inc = pd.add_incident("Checkout down")
        prof = Profile(
            sources=Sources(pagerduty=PagerDutySource(url=pd.url, from_email="oncall@example.com"))
        )
        ctx = ExecContext(profile=prof, secret=lambda name: "pd-test-token")
        _run("pagerduty.note", {"incident_id": inc["id"], "content": "hand-off"}, ctx)
        _run("pagerduty.acknowledge", {"incident_id": inc["id"]}, ctx)
        assert [n["content"] for n in pd.notes[inc["id"]]] == ["hand-off"]
        assert inc["status"] == "acknowledged"
        auth = [r.headers.get("authorization") for r in pd.requests]
        assert all(a == "Token token=pd-test-token" for a in auth)
        # the token is never part of the rendered action (audit, prompt, preview)
        c = REG.get("pagerduty.note")
        a = c.render(c.input_model.model_validate({"incident_id": inc["id"], "content": "x"}), ctx)
        assert "pd-test-token" not in json.dumps(a.to_dict())


def test_pagerduty_without_token_is_an_auth_error() -> None:
    from aisre_cli.errors import AuthError

    prof = Profile(sources=Sources(pagerduty=PagerDutySource(url="http://127.0.0.1:9")))
    ctx = ExecContext(profile=prof, secret=lambda name: None)
    with pytest.raises(AuthError):
        _run("pagerduty.acknowledge", {"incident_id": "Q1"}, ctx)


def test_http_request_sends_once_and_never_follows_redirects() -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[tuple[str, str, bytes]] = []

    class H(BaseHTTPRequestHandler):
        def log_message(self, *a: Any) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            seen.append(("POST", self.path, body))
            if self.path == "/redirect":
                self.send_response(307)
                self.send_header("Location", "http://evil.invalid/steal")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{srv.server_address[1]}"
        ctx = ExecContext(profile=PROFILE, http_allowlist=("127.0.0.1",))
        out = _run("http.request", {"url": f"{base}/hook", "json_body": {"a": "x; rm -rf /"}}, ctx)
        assert out["status"] == 202
        assert seen == [("POST", "/hook", b'{"a":"x; rm -rf /"}')]
        with pytest.raises(Exception, match="307"):
            _run("http.request", {"url": f"{base}/redirect"}, ctx)
        assert [p for _, p, _ in seen] == ["/hook", "/redirect"]
    finally:
        srv.shutdown()
        srv.server_close()
