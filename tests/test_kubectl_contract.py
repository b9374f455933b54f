"""The real `kubectl` against the Kubernetes API contract server.

This is what shows the contract server speaks the real API (issue 13): discovery,
Table printing, label and field selectors, chunked lists, Status errors and the watch
that `rollout status` waits on, all as `/usr/bin/kubectl` (Debian `kubernetes-client`)
uses them. kubectl sends a bearer token only over TLS, so the server runs HTTPS with a
throwaway CA that the kubeconfig carries.

Every kubectl argv here goes through `kubectl()`, which refuses one without
`--context` (issue 13 acceptance: no kubectl call in the suite acts on whatever
context is current). Under CI=true a missing kubectl or openssl fails the test.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from tests.conftest import require_binary
from tests.contract_servers.kube import KubeServer, Pki, kubeconfig, make_pki, shop

KUBECTL = "/usr/bin/kubectl"
TOKEN = "kubectl-contract-token"
CONTEXT = "contract"

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    require_binary(KUBECTL)
    require_binary("/usr/bin/openssl")
    return make_pki(tmp_path_factory.mktemp("kubectl-pki"))


@pytest.fixture()
def server(pki: Pki) -> Iterator[KubeServer]:
    srv = KubeServer(token=TOKEN, pki=pki)
    shop(srv)
    yield srv
    srv.stop()


class Kubectl:
    def __init__(self, home: Path, kc: dict[str, object]) -> None:
        self.home = home
        self.path = home / "kubeconfig"
        self.write(kc)

    def write(self, kc: dict[str, object]) -> None:
        self.path.write_text(yaml.safe_dump(kc))

    def env(self) -> dict[str, str]:
        # HOME keeps kubectl's discovery cache (~/.kube/cache) inside the test
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "KUBECONFIG": str(self.path),
        }

    def argv(self, *args: str) -> list[str]:
        argv = [KUBECTL, *args]
        assert "--context" in argv, f"kubectl without --context: {argv}"
        return argv

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(*args), capture_output=True, text=True, env=self.env(), timeout=timeout
        )

    def ok(self, *args: str) -> str:
        p = self.run(*args)
        assert p.returncode == 0, (args, p.stdout[-2000:], p.stderr[-2000:])
        return p.stdout


@pytest.fixture()
def kubectl(server: KubeServer, pki: Pki, tmp_path: Path) -> Kubectl:
    return Kubectl(tmp_path, kubeconfig(server, context=CONTEXT, token=TOKEN, ca=pki.ca))


def ctx(*args: str) -> tuple[str, ...]:
    return ("--context", CONTEXT, "-n", "shop", *args)


def _break_checkout(server: KubeServer) -> str:
    now = datetime.now(UTC)
    server.rollout(
        "shop",
        "checkout",
        image="shop/checkout:1.5.0",
        change_cause="upgrade checkout to 1.5.0",
        at=now - timedelta(minutes=10),
    )
    pod = server.pods_of("shop", "checkout")[0]["metadata"]["name"]
    server.oom_kill("shop", pod, at=now - timedelta(minutes=2))
    return pod


def test_get_pods_by_label(server: KubeServer, kubectl: Kubectl) -> None:
    pod = _break_checkout(server)
    out = kubectl.ok(*ctx("get", "pods", "-l", "app.kubernetes.io/name=checkout"))
    lines = out.strip().splitlines()
    assert lines[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert len(lines) == 3 and all(line.startswith("checkout-") for line in lines[1:])
    row = next(line for line in lines if line.startswith(pod)).split()
    assert row[1:4] == ["0/1", "CrashLoopBackOff", "1"]
    data = json.loads(kubectl.ok(*ctx("get", "pods", "-l", "app in (cart)", "-o", "json")))
    assert [p["metadata"]["labels"]["app"] for p in data["items"]] == ["cart"]
    none = kubectl.run(*ctx("get", "pods", "-l", "app.kubernetes.io/name=nothing"))
    assert none.returncode == 0 and "No resources found in shop namespace." in none.stderr


def test_get_events_paged(server: KubeServer, kubectl: Kubectl) -> None:
    pod = _break_checkout(server)
    for i in range(4):
        server.add_event("shop", "Pod", pod, "Unhealthy", f"Liveness probe failed: try {i}")
    out = kubectl.ok(*ctx("get", "events", "--chunk-size=2"))
    assert out.splitlines()[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert out.count("Unhealthy") == 4 and "BackOff" in out and f"pod/{pod}" in out
    pages = [r for r in server.requests if r.path == "/api/v1/namespaces/shop/events"]
    assert len(pages) >= 3 and any(r.q("continue") for r in pages)
    sel = kubectl.ok(*ctx("get", "events", "--field-selector", "reason=BackOff", "-o", "json"))
    assert [e["reason"] for e in json.loads(sel)["items"]] == ["BackOff"]


def test_describe_pod(server: KubeServer, kubectl: Kubectl) -> None:
    pod = _break_checkout(server)
    out = kubectl.ok(*ctx("describe", "pod", pod))
    assert out.splitlines()[0].split() == ["Name:", pod]
    assert "Reason:       CrashLoopBackOff" in out
    assert "Reason:       OOMKilled" in out and "Exit Code:    137" in out
    assert "Restart Count:  1" in out
    assert "Controlled By:  ReplicaSet/checkout-" in out
    assert "BackOff" in out and "Back-off restarting failed container" in out  # its events


def test_describe_deployment(server: KubeServer, kubectl: Kubectl) -> None:
    _break_checkout(server)
    out = kubectl.ok(*ctx("describe", "deployment", "checkout"))
    assert "Image:      shop/checkout:1.5.0" in out
    assert "deployment.kubernetes.io/revision: 2" in out
    assert "Replicas:               2 desired | 2 updated | 2 total | 2 available" in out
    assert "NewReplicaSet:   checkout-" in out and "(2/2 replicas created)" in out
    assert "OldReplicaSets:  checkout-" in out


def test_rollout_history(server: KubeServer, kubectl: Kubectl) -> None:
    _break_checkout(server)
    out = kubectl.ok(*ctx("rollout", "history", "deployment/checkout"))
    rows = [line.split(None, 1) for line in out.strip().splitlines()[2:]]
    assert rows == [["1", "<none>"], ["2", "upgrade checkout to 1.5.0"]]
    rev = kubectl.ok(*ctx("rollout", "history", "deployment/checkout", "--revision=2"))
    assert "shop/checkout:1.5.0" in rev


def test_rollout_status_finished_and_in_progress(server: KubeServer, kubectl: Kubectl) -> None:
    _break_checkout(server)
    out = kubectl.ok(*ctx("rollout", "status", "deployment/checkout", "--timeout=60s"))
    assert 'deployment "checkout" successfully rolled out' in out
    # an unfinished rollout: kubectl waits on the watch until the server finishes it
    server.rollout("shop", "cart", image="shop/cart:2.1.0", finish=False)
    server.requests.clear()
    proc = subprocess.Popen(
        kubectl.argv(*ctx("rollout", "status", "deployment/cart", "--timeout=90s")),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=kubectl.env(),
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(
            r.q("watch") == "true" and r.q("fieldSelector") == "metadata.name=cart"
            for r in server.requests
        ):
            time.sleep(0.1)
        assert proc.poll() is None, proc.communicate()
        server.finish_rollout("shop", "cart")
        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Waiting for deployment" in out and 'deployment "cart" successfully rolled out' in out


def test_rollout_status_of_a_stalled_rollout_fails(server: KubeServer, kubectl: Kubectl) -> None:
    server.rollout("shop", "cart", image="shop/cart:9.9.9", finish=False)
    server.stall_rollout("shop", "cart")
    p = kubectl.run(*ctx("rollout", "status", "deployment/cart", "--timeout=60s"))
    assert p.returncode == 1
    assert 'deployment "cart" exceeded its progress deadline' in p.stderr


def test_auth_errors_as_the_real_server_sends_them(
    server: KubeServer, pki: Pki, kubectl: Kubectl
) -> None:
    server.forbid("pods", ("list",))
    p = kubectl.run(*ctx("get", "pods"))
    assert p.returncode == 1
    assert (
        'pods is forbidden: User "system:serviceaccount:aisre:reader" cannot list resource'
        ' "pods" in API group "" in the namespace "shop"' in p.stderr
    )
    server.allow_all()
    kubectl.write(kubeconfig(server, context=CONTEXT, token="wrong-token", ca=pki.ca))
    p = kubectl.run(*ctx("get", "pods"))
    assert p.returncode == 1 and "You must be logged in to the server" in p.stderr
    assert "wrong-token" not in p.stderr
