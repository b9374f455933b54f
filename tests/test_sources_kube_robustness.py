"""The Kubernetes source when the cluster answers with something odd (QA pass): one
object of an unexpected shape, a node name that is not URL-safe, a namespace that does
not exist. Each must cost at most the odd object (with a note naming it), never every
event or change the source read, and a wrong namespace must say so instead of looking
like a healthy, quiet cluster."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from aisre_cli.errors import AuthError, SourceError
from aisre_cli.settings.config import HttpSettings
from aisre_cli.sources.kubernetes import Kubernetes, KubernetesSource, forget_exec_credentials
from tests.conftest import require_binary
from tests.contract_servers.kube import KubeServer, Pki, kubeconfig, make_pki, shop

TOKEN = "kube-robust-token"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    require_binary("/usr/bin/openssl")
    return make_pki(tmp_path_factory.mktemp("kube-robust-pki"))


@pytest.fixture()
def server(pki: Pki) -> Iterator[KubeServer]:
    srv = KubeServer(token=TOKEN, pki=pki)
    shop(srv)
    yield srv
    srv.stop()


def conn(srv: KubeServer, pki: Pki, tmp_path: Path, namespace: str | None = None) -> Kubernetes:
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(kubeconfig(srv, token=TOKEN, ca=pki.ca)))
    cfg = KubernetesSource(
        kubeconfig=str(path),
        context="test",
        namespace=namespace,
        http=HttpSettings(read_timeout=10, retries=1),
    )
    return Kubernetes(cfg, budget_s=15)


def window() -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - timedelta(minutes=60), now + timedelta(minutes=1)


def _replace_pod(srv: KubeServer, name: str, edit: Any) -> None:
    with srv.state_lock:
        pod = copy.deepcopy(srv.get("pods", name, "shop"))
        edit(pod)
        srv.put("pods", pod)


def test_a_node_name_that_is_not_url_safe_costs_only_that_node(
    server: KubeServer, pki: Pki, tmp_path: Path
) -> None:
    """A pod's spec.nodeName goes into the node's URL: a name with a control character
    made httpx refuse the URL and the whole events read failed (InvalidURL), losing the
    crash loop already read."""
    now = datetime.now(UTC)
    pod = server.pods_of("shop", "checkout")[0]["metadata"]["name"]
    server.oom_kill("shop", pod, at=now - timedelta(minutes=3))
    _replace_pod(server, pod, lambda p: p["spec"].update(nodeName="node-\x1b[31m1"))
    k = conn(server, pki, tmp_path)
    events = k.fetch_events(*window(), {"checkout"})
    assert {"OOMKilled", "CrashLoopBackOff"} <= {e.reason for e in events}, events
    notes = [n.detail for n in k.drain_notes()]
    assert any(n.startswith("node node-\x1b[31m1 skipped") for n in notes), notes
    asked = [r.path for r in server.requests if r.path.startswith("/api/v1/nodes/")]
    assert asked and all("\x1b" not in p for p in asked), asked


def test_one_object_of_an_unexpected_shape_is_skipped_with_a_note(
    server: KubeServer, pki: Pki, tmp_path: Path
) -> None:
    """A field of the wrong type in one object (a proxy or a mangled object) was a bare
    TypeError/ValueError that failed every event or change of the source."""
    now = datetime.now(UTC)
    first, second = (p["metadata"]["name"] for p in server.pods_of("shop", "checkout"))
    server.oom_kill("shop", second, at=now - timedelta(minutes=2))
    # a restart count that is not a number: the pod is still read
    _replace_pod(
        server,
        first,
        lambda p: p["status"]["containerStatuses"][0].update(restartCount={"n": 1}),
    )
    k = conn(server, pki, tmp_path)
    events = k.fetch_events(*window(), {"checkout"})
    assert any(e.reason == "OOMKilled" and e.object == f"pod/{second}" for e in events), events

    # a ReplicaSet whose template labels are a list, not a map (read when the image
    # stayed the same and the template diff is computed): that deployment's rollout is
    # skipped with a note, the other deployment's rollout is kept
    server.rollout("shop", "cart", image="shop/cart:2.1.0", at=now - timedelta(minutes=8))
    server.rollout(
        "shop", "checkout", env=[{"name": "POOL", "value": "20"}], at=now - timedelta(minutes=6)
    )
    with server.state_lock:
        for rs in server.store["replicasets"].values():
            if rs["metadata"]["name"].startswith("checkout-"):
                rs["spec"]["template"]["metadata"]["labels"] = ["not-a-map"]
    k = conn(server, pki, tmp_path)
    changes = k.fetch_changes(*window())
    assert [c.service for c in changes if c.kind == "deploy"] == ["cart"], changes
    notes = [n.detail for n in k.drain_notes()]
    assert any(
        n.startswith(
            "deployments: skipped 1 object(s) of an unexpected shape, e.g. deployment/checkout"
        )
        for n in notes
    ), notes


def test_a_namespace_that_does_not_exist_is_named_not_silently_empty(
    server: KubeServer, pki: Pki, tmp_path: Path
) -> None:
    """Lists in a namespace that does not exist are empty 200s: with a typo in the
    profile's namespace, triage and doctor showed a healthy cluster with nothing in it."""
    k = conn(server, pki, tmp_path, namespace="shpo")
    with pytest.raises(SourceError) as exc:
        k.fetch_events(*window(), None)
    assert exc.value.message == (
        "kubernetes: namespace 'shpo' does not exist in context 'test' (every list in it is empty)"
    )
    assert "kubectl --context test get namespaces" in (exc.value.hint or "")
    with pytest.raises(SourceError, match="namespace 'shpo' does not exist"):
        k.fetch_changes(*window())
    health = k.check()
    assert not health.ok and "namespace 'shpo' does not exist" in health.detail, health

    # an existing namespace with nothing in it is simply empty
    server.add_namespace("quiet")
    k = conn(server, pki, tmp_path, namespace="quiet")
    assert k.fetch_events(*window(), None) == []
    assert k.fetch_changes(*window()) == []
    assert k.check().ok


def test_event_count_from_a_numeric_string_a_float_or_a_huge_number(
    server: KubeServer, pki: Pki, tmp_path: Path
) -> None:
    """QA: an event `count` that was a numeric string, a float, or a number beyond 64
    bits (which JSON parsing turns into a float) silently became 1."""
    now = datetime.now(UTC)
    pod = server.pods_of("shop", "checkout")[0]["metadata"]["name"]
    counts: dict[str, Any] = {
        "AsString": "7",
        "AsFloat": 3.0,
        "Huge": 10**30,  # serialized as a JSON integer beyond 64 bits
        "Garbage": "lots",
        "Negative": -4,
        "Plain": 12,
    }
    for i, (reason, count) in enumerate(counts.items()):
        server.add_event(
            "shop", "Pod", pod, reason, f"event {reason}", at=now - timedelta(minutes=5 + i)
        )["count"] = count
    series = server.add_event("shop", "Pod", pod, "Series", "s", at=now - timedelta(minutes=20))
    series.update(count=None, series={"count": "5"})
    k = conn(server, pki, tmp_path)
    got = {e.reason: e.count for e in k.fetch_events(*window(), {"checkout"})}
    assert {r: got.get(r) for r in [*counts, "Series"]} == {
        "AsString": 7,
        "AsFloat": 3,
        "Huge": 2**31 - 1,  # clamped: the API's count is an int32
        "Garbage": 1,
        "Negative": 1,
        "Plain": 12,
        "Series": 5,
    }, got


def _exec_kubeconfig(srv: KubeServer, pki: Pki, tmp_path: Path, token_json: str) -> Path:
    """A kubeconfig whose user runs a plugin printing `token_json` as status.token."""
    script = tmp_path / "kube-login"
    script.write_text(
        "#!/bin/sh\ncat <<'EOF'\n"
        '{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",'
        f' "status": {{"token": {token_json}}}}}\nEOF\n'
    )
    script.chmod(0o755)
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": str(script)}}
    path = tmp_path / "kubeconfig-exec"
    path.write_text(yaml.safe_dump(kubeconfig(srv, token=None, user=user, ca=pki.ca)))
    return path


def _conn_at(path: Path) -> Kubernetes:
    cfg = KubernetesSource(
        kubeconfig=str(path), context="test", http=HttpSettings(read_timeout=10, retries=2)
    )
    return Kubernetes(cfg, budget_s=15)


def test_token_with_surrounding_whitespace_is_stripped(
    server: KubeServer, pki: Pki, tmp_path: Path
) -> None:
    """QA: a kubeconfig or exec-plugin token with a trailing newline gave
    "LocalProtocolError: Illegal header value", was retried, and was blamed on the server
    ("check that … is up"). kubectl effectively ignores the whitespace; so does aisre."""
    forget_exec_credentials()
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(kubeconfig(server, token=f" {TOKEN}\r\n", ca=pki.ca)))
    assert _conn_at(path).fetch_changes(*window()) == []
    exec_path = _exec_kubeconfig(server, pki, tmp_path, json.dumps(f"{TOKEN}\n"))
    try:
        assert _conn_at(exec_path).fetch_changes(*window()) == []
    finally:
        forget_exec_credentials()


@pytest.mark.parametrize("where", ["kubeconfig", "exec"])
def test_token_with_an_invalid_header_character_fails_at_once(
    server: KubeServer, pki: Pki, tmp_path: Path, where: str
) -> None:
    bad = "kube-\x07bell-tök"
    forget_exec_credentials()
    if where == "exec":
        path = _exec_kubeconfig(server, pki, tmp_path, json.dumps(bad))
    else:
        path = tmp_path / "kubeconfig"
        path.write_text(yaml.safe_dump(kubeconfig(server, token=bad, ca=pki.ca)))
    try:
        with pytest.raises(AuthError) as exc:
            _conn_at(path).fetch_events(*window(), None)
    finally:
        forget_exec_credentials()
    msg = exc.value.message
    assert "\n" not in msg and "contains a character that is not allowed in an HTTP header" in msg
    assert ("exec credential plugin 'kube-login'" if where == "exec" else str(path)) in msg, msg
    shown = f"{msg} {exc.value.hint}"
    assert bad not in shown and "bell" not in shown
    assert not [r for r in server.requests if r.path.startswith("/api")], "nothing is sent"
