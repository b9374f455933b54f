"""The Kubernetes source against the loopback API contract server
(tests/contract_servers/kube.py)."""

from __future__ import annotations

import json
import logging
import os
import stat
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

from aisre_cli.errors import AuthError, ConfigError, SourceError
from aisre_cli.settings.config import HttpSettings
from aisre_cli.sources.kubernetes import (
    Kubernetes,
    KubernetesSource,
    forget_exec_credentials,
    kubeconfig_paths,
    resolve_target,
)
from tests.conftest import require_binary
from tests.contract_servers.base import Reply, Request
from tests.contract_servers.kube import KubeServer, Pki, kubeconfig, make_pki, shop

TOKEN = "kube-secret-token-5f2a9c"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    require_binary("/usr/bin/openssl")
    return make_pki(tmp_path_factory.mktemp("kube-pki"))


@pytest.fixture()
def server(pki: Pki) -> Iterator[KubeServer]:
    srv = KubeServer(token=TOKEN, pki=pki)
    shop(srv)
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def _fresh_exec_cache() -> Iterator[None]:
    forget_exec_credentials()
    yield
    forget_exec_credentials()


def write_kc(tmp_path: Path, kc: dict[str, Any], name: str = "kubeconfig") -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(kc))
    return p


def conn(
    srv: KubeServer, pki: Pki, tmp_path: Path, *, kc: dict[str, Any] | None = None, **kw: Any
) -> Kubernetes:
    path = write_kc(tmp_path, kc or kubeconfig(srv, token=TOKEN, ca=pki.ca))
    cfg = KubernetesSource(
        kubeconfig=str(path),
        context=kw.pop("context", "test"),
        http=HttpSettings(read_timeout=10, retries=1),
        **kw,
    )
    return Kubernetes(cfg, budget_s=15)


def window(minutes: float = 60) -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - timedelta(minutes=minutes), now + timedelta(minutes=1)


# ---------------------------------------------------------------- kubeconfig


def test_context_and_namespace_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = kubeconfig("https://a.example:6443", context="prod", namespace="shop")
    a["current-context"] = "prod"
    b = kubeconfig("https://b.example:6443", context="staging", namespace="")
    b["clusters"][0]["name"] = "c2"
    b["contexts"][0]["context"]["cluster"] = "c2"
    b["contexts"].append({"name": "prod", "context": {"cluster": "c2", "user": "u1"}})
    pa, pb = write_kc(tmp_path, a, "a"), write_kc(tmp_path, b, "b")
    # KUBECONFIG is a list; the first file that names an entry wins
    monkeypatch.setenv("KUBECONFIG", f"{pa}{os.pathsep}{pb}")
    paths = kubeconfig_paths(None)
    assert paths == [pa, pb]
    t = resolve_target(paths, None, None)
    assert (t.context, t.namespace, t.cluster.server) == ("prod", "shop", "https://a.example:6443")
    t = resolve_target(paths, "staging", None)
    assert (t.context, t.namespace, t.cluster.server) == (
        "staging",
        "default",
        "https://b.example:6443",
    )
    assert resolve_target(paths, "prod", "payments").namespace == "payments"
    with pytest.raises(
        ConfigError, match=r"context 'nope' is not in the kubeconfig \(known: prod,"
    ):
        resolve_target(paths, "nope", None)
    with pytest.raises(ConfigError, match="no kubeconfig at"):
        resolve_target([tmp_path / "missing"], None, None)
    a["current-context"] = ""
    with pytest.raises(ConfigError, match="no context"):
        resolve_target([write_kc(tmp_path, a, "c")], None, None)


def test_profile_context_is_used_when_the_source_names_none(
    server: KubeServer, pki: Pki, tmp_path: Path
) -> None:
    path = write_kc(tmp_path, kubeconfig(server, token=TOKEN, ca=pki.ca, context="pinned"))
    k = Kubernetes(
        KubernetesSource(kubeconfig=str(path)), kube_context="pinned", namespace="shop", budget_s=10
    )
    assert k.kubectl("get", "pods") == "kubectl --context pinned -n shop get pods"
    assert k.fetch_events(*window(), None) == []  # reads fine, nothing happened yet


# ---------------------------------------------------------------- events


def test_oomkill_crashloop_and_backoff_become_events(
    server: KubeServer, pki: Pki, tmp_path: Path
) -> None:
    server.rollout(
        "shop",
        "checkout",
        image="shop/checkout:1.5.0",
        at=datetime.now(UTC) - timedelta(minutes=20),
    )
    pod = server.pods_of("shop", "checkout")[0]["metadata"]["name"]
    server.oom_kill("shop", pod, at=datetime.now(UTC) - timedelta(minutes=5))
    k = conn(server, pki, tmp_path)
    events = k.fetch_events(*window(), None)
    by_reason = {e.reason: e for e in events}
    assert {"OOMKilled", "CrashLoopBackOff", "BackOff"} <= set(by_reason), events
    assert all(e.service == "checkout" for e in events)
    oom = by_reason["OOMKilled"]
    assert oom.attrs["exit_code"] == 137 and oom.attrs["signal"] == "SIGKILL"
    assert oom.attrs["container"] == "checkout" and oom.attrs["restarts"] == 1
    assert oom.attrs["node"] == "node-1" and oom.object == f"pod/{pod}"
    assert oom.query == f"kubectl --context test -n shop get pod {pod} -o yaml"
    backoff = by_reason["BackOff"]
    assert backoff.count == 4 and backoff.type == "Warning"
    assert backoff.query.startswith("kubectl --context test -n shop get events --field-selector")
    assert f"involvedObject.name={pod}" in backoff.query
    # every query is pinned to the context and namespace
    assert all("--context test -n shop " in e.query for e in events)
    # outside the window: nothing
    old = datetime.now(UTC) - timedelta(days=1)
    assert k.fetch_events(old - timedelta(hours=1), old, None) == []


def test_waiting_reasons_evictions_unschedulable(
    server: KubeServer, pki: Pki, tmp_path: Path
) -> None:
    pods = server.pods_of("shop", "checkout")
    server.crash_loop(
        "shop",
        pods[0]["metadata"]["name"],
        reason="ImagePullBackOff",
        message='Back-off pulling image "shop/checkout:typo"',
    )
    server.evict("shop", pods[1]["metadata"]["name"])
    cart = server.pods_of("shop", "cart")[0]
    cart["status"]["conditions"] = [
        {
            "type": "PodScheduled",
            "status": "False",
            "reason": "Unschedulable",
            "message": "0/3 nodes are available: 3 Insufficient memory.",
            "lastTransitionTime": (datetime.now(UTC) - timedelta(minutes=3)).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
        }
    ]
    cart["status"]["phase"] = "Pending"
    server.put("pods", cart)
    events = conn(server, pki, tmp_path).fetch_events(*window(), None)
    got = {(e.service, e.reason) for e in events}
    assert ("checkout", "ImagePullBackOff") in got
    assert ("checkout", "Evicted") in got  # from the pod's phase and from its event
    assert ("cart", "Unschedulable") in got
    ipb = next(e for e in events if e.reason == "ImagePullBackOff")
    assert "shop/checkout:typo" in ipb.message


def test_label_selectors_per_service(server: KubeServer, pki: Pki, tmp_path: Path) -> None:
    # a pod carrying both labels belongs to the first selector label's value
    server.add_deployment(
        "shop", "odd", "shop/odd:1", labels={"app.kubernetes.io/name": "odd", "app": "cart"}
    )
    for p in server.pods_of("shop", "cart") + server.pods_of("shop", "odd"):
        server.oom_kill("shop", p["metadata"]["name"], crash_loop=False)
    k = conn(server, pki, tmp_path)
    server.requests.clear()
    events = k.fetch_events(*window(), {"cart"})
    assert events and {e.service for e in events} == {"cart"}
    assert len([e for e in events if e.reason == "OOMKilled"]) == 1  # the odd pod is not cart's
    sels = [r.q("labelSelector") for r in server.requests if r.path.endswith("/pods")]
    assert sels == ["app.kubernetes.io/name in (cart)", "app in (cart),!app.kubernetes.io/name"]
    both = k.fetch_events(*window(), None)
    assert {e.service for e in both if e.reason == "OOMKilled"} == {"cart", "odd"}


def test_warning_events_paginate_and_map_through_owners(
    server: KubeServer, pki: Pki, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    pod = server.pods_of("shop", "checkout")[0]["metadata"]["name"]
    rs = pod.rsplit("-", 1)[0]
    for i in range(5):
        server.add_event(
            "shop",
            "Pod",
            pod,
            "Unhealthy",
            f"Readiness probe failed: {i}",
            at=now - timedelta(minutes=10 - i),
        )
    server.add_event(
        "shop",
        "Pod",
        f"{rs}-gone1",
        "FailedMount",
        "MountVolume.SetUp failed",
        at=now - timedelta(minutes=4),
    )  # a pod that no longer exists
    server.add_event(
        "shop", "ReplicaSet", rs, "FailedCreate", "quota exceeded", at=now - timedelta(minutes=3)
    )
    server.add_event(
        "shop",
        "Deployment",
        "cart",
        "ProgressDeadlineExceeded",
        "stuck",
        at=now - timedelta(minutes=2),
    )
    server.add_event(
        "shop", "Pod", "stranger-abc", "BackOff", "not ours", at=now - timedelta(minutes=2)
    )
    server.add_event("shop", "Pod", pod, "Scheduled", "normal", type_="Normal", at=now)
    server.add_event("shop", "Pod", pod, "Unhealthy", "too old", at=now - timedelta(days=2))
    k = conn(server, pki, tmp_path, page_size=2)
    events = k.fetch_events(*window(), None)
    reasons = [(e.service, e.reason) for e in events]
    assert reasons.count(("checkout", "Unhealthy")) == 5
    assert ("checkout", "FailedMount") in reasons
    assert ("checkout", "FailedCreate") in reasons
    assert ("cart", "ProgressDeadlineExceeded") in reasons
    assert all(e.message != "not ours" and e.message != "too old" for e in events)
    assert all(e.type == "Warning" for e in events)
    ev_reqs = [r for r in server.requests if r.path == "/api/v1/namespaces/shop/events"]
    assert len(ev_reqs) >= 4 and all(r.q("fieldSelector") == "type=Warning" for r in ev_reqs)
    assert all(r.q("limit") == "2" for r in ev_reqs)
    assert sum(1 for r in ev_reqs if r.q("continue")) == len(ev_reqs) - 1
    assert k.drain_notes() == []


class _Compacting(KubeServer):
    """Compacts (expires every continue token) right after answering first pages."""

    compactions = 1

    def route(self, req: Request) -> Reply:
        reply = super().route(req)
        if req.path.endswith("/events") and not req.q("continue") and self.compactions > 0:
            self.compactions -= 1
            self.compact()
        return reply


def unhealthy_shop(srv: KubeServer, n: int = 5) -> None:
    """`shop`, with `n` Unhealthy events of a checkout pod over the last minutes (more
    than one page at page_size 2)."""
    shop(srv)
    pod = srv.pods_of("shop", "checkout")[0]["metadata"]["name"]
    now = datetime.now(UTC)
    for i in range(n):
        srv.add_event(
            "shop", "Pod", pod, "Unhealthy", f"probe {i}", at=now - timedelta(minutes=i + 1)
        )


@pytest.mark.parametrize("compactions", [1, 5])
def test_expired_continue_token_restarts_the_list_once(
    pki: Pki, tmp_path: Path, compactions: int
) -> None:
    srv = _Compacting(token=TOKEN, pki=pki)
    srv.compactions = compactions
    try:
        unhealthy_shop(srv)
        k = conn(srv, pki, tmp_path, page_size=2)
        events = k.fetch_events(*window(), None)
        notes = [n.detail for n in k.drain_notes()]
        gone = [r for r in srv.requests if r.path.endswith("/events") and r.q("continue")]
        assert gone, "the list was paged"
        if compactions == 1:
            assert len([e for e in events if e.reason == "Unhealthy"]) == 5  # complete, no dups
            assert any("410 Gone" in n and "listed again" in n for n in notes), notes
        else:
            assert 0 < len([e for e in events if e.reason == "Unhealthy"]) < 5
            assert any("410 Gone twice" in n for n in notes), notes
    finally:
        srv.stop()


def test_nodes_and_hpa(server: KubeServer, pki: Pki, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    server.set_node_condition(
        "node-1",
        "MemoryPressure",
        "True",
        now - timedelta(minutes=7),
        reason="KubeletHasInsufficientMemory",
    )
    server.add_hpa(
        "shop",
        "checkout",
        "checkout",
        max_replicas=5,
        current=5,
        desired=5,
        last_scale=now - timedelta(minutes=6),
    )
    k = conn(server, pki, tmp_path)
    events = k.fetch_events(*window(), None)
    mem = [e for e in events if e.reason == "NodeMemoryPressure"]
    assert {e.service for e in mem} == {"checkout", "cart"}  # both run on node-1
    assert mem[0].query == "kubectl --context test -n shop describe node node-1"
    hpa = [e for e in events if e.reason == "HPAAtMaxReplicas"]
    assert len(hpa) == 1 and hpa[0].service == "checkout"
    assert hpa[0].attrs["max_replicas"] == 5
    changes = k.fetch_changes(*window())
    scale = [c for c in changes if c.kind == "scale"]
    assert len(scale) == 1 and scale[0].service == "checkout" and scale[0].version == "5"
    assert "at its maximum" in scale[0].summary


# ---------------------------------------------------------------- changes


def test_rollouts_become_deploy_changes(server: KubeServer, pki: Pki, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    server.rollout(
        "shop",
        "checkout",
        image="shop/checkout:1.5.0",
        manager="kubectl-set",
        change_cause="kubectl set image deploy/checkout checkout=shop/checkout:1.5.0",
        at=now - timedelta(minutes=30),
    )
    server.rollout(
        "shop",
        "checkout",
        env=[{"name": "POOL", "value": "20"}],
        manager="helm",
        at=now - timedelta(minutes=20),
    )
    server.rollout(
        "shop",
        "checkout",
        image="shop/checkout:1.4.2",
        env=[],
        manager="argocd-controller",
        at=now - timedelta(minutes=10),
    )
    k = conn(server, pki, tmp_path)
    changes = [c for c in k.fetch_changes(*window()) if c.kind == "deploy"]
    assert [c.service for c in changes] == ["checkout"] * len(changes)
    first, second = changes[0], changes[1]
    assert (first.previous_version, first.version) == ("shop/checkout:1.4.2", "shop/checkout:1.5.0")
    assert first.author == "kubectl-set" and "cause: kubectl set image" in first.summary
    assert first.ref == (
        "kubectl --context test -n shop rollout history deployment/checkout --revision=2"
    )
    assert first.source == "kubernetes" and first.id.endswith("deployment/checkout@2")
    assert "pod template changed: containers[checkout].env" in second.summary
    assert second.author == "helm"
    assert len(changes) == 3
    third = changes[2]
    assert (third.previous_version, third.version) == ("shop/checkout:1.5.0", "shop/checkout:1.4.2")
    assert third.author == "argocd-controller"
    # the rolled-out revision 1 before the window is not a change in it
    assert all(not c.id.endswith("@1") for c in changes)


def test_rollback_reuses_the_old_replicaset(server: KubeServer, pki: Pki, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    server.rollout("shop", "cart", image="shop/cart:2.1.0", at=now - timedelta(minutes=30))
    # `kubectl rollout undo`: the template of revision 1 again → the old ReplicaSet
    server.rollout(
        "shop",
        "cart",
        image="shop/cart:2.0.0",
        manager="kubectl-rollout",
        at=now - timedelta(minutes=5),
    )
    changes = [
        c for c in conn(server, pki, tmp_path).fetch_changes(*window()) if c.kind == "deploy"
    ]
    assert [(c.previous_version, c.version) for c in changes] == [
        ("shop/cart:2.0.0", "shop/cart:2.1.0"),
        ("shop/cart:2.1.0", "shop/cart:2.0.0"),
    ]
    assert "rollback to the template of revision 1" in changes[1].summary
    assert abs(changes[1].ts.timestamp() - (now - timedelta(minutes=5)).timestamp()) < 2


def test_config_and_secret_updates_without_reading_secret_data(
    server: KubeServer, pki: Pki, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    server.update_configmap(
        "shop",
        "checkout-config",
        {"POOL_SIZE": "1"},
        manager="kubectl-edit",
        at=now - timedelta(minutes=8),
    )
    server.update_configmap(
        "shop",
        "checkout-db",
        {"password": "rotated-pw-9911"},
        resource="secrets",
        manager="vault-agent",
        at=now - timedelta(minutes=4),
    )
    server.add_configmap("shop", "unrelated", {"a": "b"}, created=now - timedelta(minutes=2))
    k = conn(server, pki, tmp_path)
    changes = [c for c in k.fetch_changes(*window()) if c.kind == "config"]
    assert [(c.service, c.author) for c in changes] == [
        ("checkout", "kubectl-edit"),
        ("checkout", "vault-agent"),
    ]
    assert "ConfigMap checkout-config (used by deployment/checkout) updated" in changes[0].summary
    assert "Secret checkout-db" in changes[1].summary and "data not read" in changes[1].summary
    assert all("--context test -n shop" in (c.ref or "") for c in changes)
    text = json.dumps([c.model_dump(mode="json") for c in changes])
    assert "rotated-pw" not in text and "hunter2" not in text
    secret_reqs = [r for r in server.requests if "/secrets" in r.path]
    assert secret_reqs and all(
        "as=PartialObjectMetadataList" in r.headers.get("accept", "") for r in secret_reqs
    )
    # with secrets off, they are not even listed
    server.requests.clear()
    k2 = conn(server, pki, tmp_path, secrets=False)
    assert [c.author for c in k2.fetch_changes(*window()) if c.kind == "config"] == ["kubectl-edit"]
    assert not [r for r in server.requests if "/secrets" in r.path]


# ---------------------------------------------------------------- errors and auth


def test_forbidden_primary_read_is_an_auth_error_and_secondary_a_note(
    server: KubeServer, pki: Pki, tmp_path: Path
) -> None:
    k = conn(server, pki, tmp_path)
    server.forbid("nodes")
    server.forbid("horizontalpodautoscalers")
    k.fetch_events(*window(), None)
    notes = " | ".join(n.detail for n in k.drain_notes())
    assert "HPAs skipped" in notes and "forbidden" in notes, notes
    assert sum(1 for r in server.requests if r.path.startswith("/api/v1/nodes/")) == 1
    server.forbid("pods")
    with pytest.raises(AuthError) as exc:
        k.fetch_events(*window(), None)
    assert 'pods is forbidden: User "system:serviceaccount:aisre:reader" cannot list' in (
        exc.value.message
    )
    assert "auth can-i list pods -n shop" in (exc.value.hint or "")
    assert "--context test" in (exc.value.hint or "")
    server.forbid("replicasets")
    with pytest.raises(AuthError, match="replicasets is forbidden"):
        k.fetch_changes(*window())


def test_wrong_token_401_never_shows_the_token(
    server: KubeServer, pki: Pki, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad = "kube-wrong-token-77ee12"
    caplog.set_level(logging.DEBUG)
    k = conn(server, pki, tmp_path, kc=kubeconfig(server, token=bad, ca=pki.ca))
    with pytest.raises(AuthError) as exc:
        k.fetch_events(*window(), None)
    assert "rejected the credentials (HTTP 401) of context 'test'" in exc.value.message
    assert "auth whoami" in (exc.value.hint or "")
    shown = f"{exc.value.message} {exc.value.hint} {caplog.text}"
    assert bad not in shown and TOKEN not in shown
    health = k.check()
    assert health.authenticated is False and bad not in health.detail


def test_keyring_token_overrides_the_kubeconfig_user(
    server: KubeServer, pki: Pki, tmp_path: Path
) -> None:
    path = write_kc(tmp_path, kubeconfig(server, token="stale", ca=pki.ca))
    k = Kubernetes(
        KubernetesSource(kubeconfig=str(path), context="test", token_name="kube"),
        token=SecretStr(TOKEN),
        budget_s=10,
    )
    assert k.fetch_changes(*window()) == []
    assert all(r.headers.get("authorization") == f"Bearer {TOKEN}" for r in server.requests[-3:])


def test_plain_http_server_gets_no_credentials(pki: Pki, tmp_path: Path) -> None:
    srv = KubeServer(token=TOKEN)  # no TLS
    try:
        k = conn(srv, pki, tmp_path, kc=kubeconfig(srv, token=TOKEN))
        with pytest.raises(AuthError) as exc:
            k.fetch_events(*window(), None)
        assert "only over https" in (exc.value.hint or "")
        assert all("authorization" not in r.headers for r in srv.requests)
    finally:
        srv.stop()


def test_client_certificate_auth_and_health(server: KubeServer, pki: Pki, tmp_path: Path) -> None:
    import base64

    user = {
        "client-certificate-data": base64.b64encode(pki.client_crt.read_bytes()).decode(),
        "client-key-data": base64.b64encode(pki.client_key.read_bytes()).decode(),
    }
    k = conn(server, pki, tmp_path, kc=kubeconfig(server, token=None, user=user, ca=pki.ca))
    assert k.fetch_changes(*window()) == []
    assert all("authorization" not in r.headers for r in server.requests)
    h = k.check()
    assert h.ok and h.version == "v1.32.4" and "context test, namespace shop" in h.url
    # a wrong CA: the TLS handshake fails with a one-line error
    other = make_pki(tmp_path / "other")
    bad = conn(server, pki, tmp_path, kc=kubeconfig(server, token=TOKEN, ca=other.ca))
    h = bad.check()
    assert not h.ok and "certificate" in h.detail.lower()


def _plugin(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "kube-login"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def _exec_user(script: Path, api: str = "client.authentication.k8s.io/v1") -> dict[str, Any]:
    return {
        "exec": {
            "apiVersion": api,
            "command": str(script),
            "args": ["get-token"],
            "env": [{"name": "LOGIN_TENANT", "value": "shop"}],
            "installHint": "install kube-login from the platform team's wiki",
            "interactiveMode": "Never",
        }
    }


@pytest.mark.parametrize(
    "api", ["client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"]
)
def test_exec_plugin_token_cached_until_expiry(
    server: KubeServer, pki: Pki, tmp_path: Path, api: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    calls = tmp_path / "calls"
    exp = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    script = _plugin(
        tmp_path,
        f"""
echo "$1 $LOGIN_TENANT $KUBERNETES_EXEC_INFO" >> {calls}
cat <<EOF
{{"apiVersion": "{api}", "kind": "ExecCredential",
  "status": {{"token": "{TOKEN}", "expirationTimestamp": "{exp}"}}}}
EOF
""",
    )
    kc = kubeconfig(server, token=None, user=_exec_user(script, api), ca=pki.ca)
    k = conn(server, pki, tmp_path, kc=kc)
    k.fetch_changes(*window())
    k.fetch_events(*window(), None)
    conn(server, pki, tmp_path, kc=kc).fetch_changes(*window())  # a second object: cache
    lines = calls.read_text().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("get-token shop ")
    info = json.loads(lines[0].split(" ", 2)[2])
    assert info["kind"] == "ExecCredential" and info["spec"]["interactive"] is False
    assert TOKEN not in caplog.text and "aisre.query" in caplog.text  # -vv shows queries only


def test_exec_plugin_expired_credential_runs_again(
    server: KubeServer, pki: Pki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aisre_cli.sources import kubernetes

    calls, expiry = tmp_path / "calls", tmp_path / "expiry"

    def expire_at(t: datetime) -> None:
        expiry.write_text(t.strftime("%Y-%m-%dT%H:%M:%SZ"))

    cred = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "status": {"token": TOKEN, "expirationTimestamp": "EXPIRY"},
    }
    body = json.dumps(cred).replace('"EXPIRY"', '"%s"')
    script = _plugin(tmp_path, f"echo x >> {calls}\nprintf '{body}' \"$(cat {expiry})\"\n")
    first = datetime.now(UTC) + timedelta(minutes=30)
    expire_at(first)
    k = conn(
        server, pki, tmp_path, kc=kubeconfig(server, token=None, user=_exec_user(script), ca=pki.ca)
    )
    k.fetch_changes(*window())
    k.fetch_changes(*window())
    assert len(calls.read_text().splitlines()) == 1
    later = first + timedelta(minutes=1)  # the clock passes the expiry: the plugin runs again
    expire_at(later + timedelta(hours=1))
    monkeypatch.setattr(kubernetes, "_now", lambda: later.timestamp())
    k.fetch_changes(*window())
    k.fetch_changes(*window())
    assert len(calls.read_text().splitlines()) == 2


def test_exec_plugin_failures_are_one_line_auth_errors(
    server: KubeServer, pki: Pki, tmp_path: Path
) -> None:
    script = _plugin(tmp_path, "echo 'error: login expired, run kube-login' >&2\nexit 3\n")
    k = conn(
        server, pki, tmp_path, kc=kubeconfig(server, token=None, user=_exec_user(script), ca=pki.ca)
    )
    with pytest.raises(AuthError) as exc:
        k.fetch_events(*window(), None)
    assert exc.value.message == (
        "kubernetes: exec credential plugin 'kube-login' failed (exit 3): error: login expired,"
        " run kube-login"
    )
    assert exc.value.hint == "install kube-login from the platform team's wiki"
    missing = _exec_user(tmp_path / "nope")
    k = conn(server, pki, tmp_path, kc=kubeconfig(server, token=None, user=missing, ca=pki.ca))
    with pytest.raises(AuthError, match="is not installed"):
        k.fetch_changes(*window())
    child = tmp_path / "child.pid"
    slow = _plugin(tmp_path, f"sleep 30 &\necho $! > {child}\nwait\n")
    k = conn(
        server,
        pki,
        tmp_path,
        kc=kubeconfig(server, token=None, user=_exec_user(slow), ca=pki.ca),
        exec_timeout_s=0.5,
    )
    with pytest.raises(AuthError, match=r"did not answer within 0.5s"):
        k.fetch_changes(*window())
    # the plugin's own children are ended with it (its process group), not left behind
    if child.exists() and child.read_text().strip():
        pid = int(child.read_text())
        for _ in range(50):
            if not _alive(pid):
                break
            time.sleep(0.1)
        assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def test_registered_as_events_and_changes(server: KubeServer, pki: Pki, tmp_path: Path) -> None:
    from aisre_cli.settings.config import Profile
    from aisre_cli.sources.live import live_sources

    path = write_kc(tmp_path, kubeconfig(server, token=TOKEN, ca=pki.ca, context="prod-eu"))
    profile = Profile.model_validate(
        {
            "kube_context": "prod-eu",
            "namespace": "shop",
            "sources": {
                "prometheus": {"url": "http://127.0.0.1:9"},
                "kubernetes": {"kubeconfig": str(path)},
            },
        }
    )
    s = live_sources(profile)
    (k,) = s.events
    assert isinstance(k, Kubernetes) and s.changes[-1] is k
    assert k.kubectl("get", "pods") == "kubectl --context prod-eu -n shop get pods"
    with pytest.raises(ConfigError, match="sources.kubernetes.page_size"):
        live_sources(
            Profile.model_validate(
                {
                    "sources": {
                        "prometheus": {"url": "http://127.0.0.1:9"},
                        "kubernetes": {"page_size": 0},
                    }
                }
            )
        )


def test_gather_runs_events_and_changes_in_parallel_with_their_own_notes(
    server: KubeServer, pki: Pki, tmp_path: Path
) -> None:
    """One object in two roles: gather calls fetch_events and fetch_changes in two
    threads; each job reports its own partial notes."""
    from aisre_cli.investigate.gather import gather
    from aisre_cli.model import Alert
    from aisre_cli.sources.registry import SourceSet

    now = datetime.now(UTC)
    server.rollout("shop", "checkout", image="shop/checkout:1.5.0", at=now - timedelta(minutes=9))
    server.oom_kill(
        "shop",
        server.pods_of("shop", "checkout")[0]["metadata"]["name"],
        at=now - timedelta(minutes=3),
    )
    server.forbid("nodes")  # events: partial
    server.forbid("secrets")  # changes: partial
    k = conn(server, pki, tmp_path)
    s = SourceSet()
    s.add("events", k)
    s.add("changes", k)
    alert = Alert(
        id="a1",
        name="KubePodCrashLooping",
        service="checkout",
        starts_at=now - timedelta(minutes=2),
    )
    ctx = gather(s, alert, [alert], lookback_s=1800, lookahead_s=60, budget_s=20)
    assert {e.reason for e in ctx.events} >= {"OOMKilled", "CrashLoopBackOff", "BackOff"}
    assert [c.version for c in ctx.changes if c.kind == "deploy"] == ["shop/checkout:1.5.0"]
    notes = {n.source: n for n in ctx.notes}
    assert notes["kubernetes events"].status == "partial"
    assert "node node-1 skipped" in notes["kubernetes events"].detail
    assert "secrets" not in notes["kubernetes events"].detail
    assert notes["kubernetes changes"].status == "partial"
    assert "Secret updates skipped" in notes["kubernetes changes"].detail


def test_stuck_rollout_and_free_text_service_names(
    server: KubeServer, pki: Pki, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    server.rollout(
        "shop", "cart", image="shop/cart:2.1.0", finish=False, at=now - timedelta(minutes=15)
    )
    server.stall_rollout("shop", "cart", at=now - timedelta(minutes=5))
    k = conn(server, pki, tmp_path)
    stuck = [e for e in k.fetch_events(*window(), None) if e.reason == "ProgressDeadlineExceeded"]
    assert len(stuck) == 1 and stuck[0].service == "cart"
    assert stuck[0].query == "kubectl --context test -n shop rollout status deployment/cart"
    assert stuck[0].attrs["revision"] == "2"
    # an alert's service that cannot be a label value matches nothing instead of a 400
    server.requests.clear()
    assert k.fetch_events(*window(), {"cart service (eu)"}) == []
    assert not [r for r in server.requests if r.path.endswith("/pods")]
    assert [e.reason for e in k.fetch_events(*window(), {"cart", "x y"})] == [
        "ProgressDeadlineExceeded"
    ]


def test_token_file_relative_to_the_kubeconfig_and_insecure_skip_verify(
    server: KubeServer, pki: Pki, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "sa").mkdir()
    (tmp_path / "sa" / "token").write_text(TOKEN + "\n")
    kc = kubeconfig(
        server,
        token=None,
        user={"tokenFile": "sa/token"},
        cluster_extra={"insecure-skip-tls-verify": True},
    )
    k = conn(server, pki, tmp_path, kc=kc)
    assert k.fetch_changes(*window()) == []
    assert server.requests[-1].headers["authorization"] == f"Bearer {TOKEN}"
    assert "TLS verification is OFF" in caplog.text
    # without the CA and without skipping verification: a one-line TLS failure
    k = conn(server, pki, tmp_path, kc=kubeconfig(server, token=TOKEN))
    with pytest.raises(SourceError, match="certificate verify failed"):
        k.fetch_changes(*window())
