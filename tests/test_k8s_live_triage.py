"""Live triage with the cluster as a source: real Prometheus and Alertmanager (the
shared test stack) plus the Kubernetes API contract server, through `aisre triage`.

* checkout was rolled out (recorded only by the cluster: a new ReplicaSet) and its
  pods then OOMKill and restart: the top hypothesis is about checkout (the crash loop
  or the rollout) and cites the cluster's evidence with its `kubectl` command;
* cart got a rollout with an image that does not pull, and nothing but the cluster
  recorded it (no `aisre change record`): triage finds that rollout.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from aisre_cli.settings import paths
from tests.conftest import require_binary
from tests.contract_servers.cli import run_cli
from tests.contract_servers.kube import KubeServer, Pki, kubeconfig, make_pki, shop
from tests.servers import shared_stack, wait_until

pytestmark = pytest.mark.integration

TOKEN = "kube-live-token"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    require_binary("/usr/bin/openssl")
    return make_pki(tmp_path_factory.mktemp("live-pki"))


def _fire(alertname: str, service: str) -> None:
    stack = shared_stack()
    stack.post_alerts(
        [
            {
                "labels": {"alertname": alertname, "service": service, "severity": "critical"},
                "annotations": {"summary": f"{service} is failing"},
            }
        ]
    )
    wait_until(
        lambda: [a for a in stack.am_alerts() if a["labels"]["alertname"] == alertname],
        15,
        alertname,
    )


def _triage(server: KubeServer, pki: Pki, tmp_path: Path, alertname: str) -> dict[str, Any]:
    stack = shared_stack()
    kc = tmp_path / "kubeconfig"
    kc.write_text(yaml.safe_dump(kubeconfig(server, context="prod-eu", token=TOKEN, ca=pki.ca)))
    profile = {
        "environment": "test",
        "gather_budget_s": 20,
        "lookback_minutes": 40,
        "lookahead_minutes": 5,
        "kube_context": "prod-eu",
        "namespace": "shop",
        "sources": {
            "alertmanager": {"url": stack.am_url},
            "prometheus": {"url": stack.prom_url, "rate_window": "5s"},
            "kubernetes": {"kubeconfig": str(kc)},
            "changes_file": str(paths.data_dir() / "none.jsonl"),
        },
    }
    cfg = paths.config_file()
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(
        yaml.safe_dump({"version": 1, "default_profile": "p", "profiles": {"p": profile}})
    )
    r = run_cli(["triage", alertname, "--json"])
    assert r.code == 0, r.err[-3000:]
    assert "Traceback" not in r.err
    report: dict[str, Any] = json.loads(r.out)
    bad = [n for n in report["notes"] if n.startswith("kubernetes") and "failed" in n]
    assert not bad, bad
    return report


def _evidence(report: dict[str, Any], ids: list[str]) -> list[dict[str, Any]]:
    by_id = {e["id"]: e for e in report["evidence"]}
    return [by_id[i] for i in ids if i in by_id]


def test_oomkills_after_a_cluster_recorded_rollout(pki: Pki, tmp_path: Path) -> None:
    server = KubeServer(token=TOKEN, pki=pki)
    try:
        now = datetime.now(UTC)
        shop(server)
        server.rollout(
            "shop",
            "checkout",
            image="shop/checkout:1.5.0",
            manager="kubectl-set",
            at=now - timedelta(minutes=12),
        )
        for i, pod in enumerate(server.pods_of("shop", "checkout")):
            server.oom_kill("shop", pod["metadata"]["name"], at=now - timedelta(minutes=4 - i))
        _fire("CheckoutPodsCrashing", "checkout")
        report = _triage(server, pki, tmp_path, "CheckoutPodsCrashing")
        top = report["hypotheses"][0]
        assert top["service"] == "checkout", report["hypotheses"][:3]
        assert top["kind"] in ("crash_loop", "deploy"), report["hypotheses"][:3]
        cited = _evidence(report, top["evidence"])
        k8s = [
            e
            for e in cited
            if "kubectl --context prod-eu -n shop" in (e.get("query") or "") + (e.get("ref") or "")
        ]
        assert k8s, cited
        kinds = {e["kind"] for e in report["evidence"]}
        assert "event" in kinds and "change" in kinds, kinds
    finally:
        server.stop()


def test_a_bad_rollout_only_the_cluster_recorded_is_found(pki: Pki, tmp_path: Path) -> None:
    server = KubeServer(token=TOKEN, pki=pki)
    try:
        now = datetime.now(UTC)
        shop(server)
        server.rollout(
            "shop",
            "cart",
            image="shop/cart:2.1.0-typo",
            manager="argocd-controller",
            at=now - timedelta(minutes=8),
        )
        for pod in server.pods_of("shop", "cart"):
            server.crash_loop(
                "shop",
                pod["metadata"]["name"],
                reason="ImagePullBackOff",
                message='Back-off pulling image "shop/cart:2.1.0-typo"',
                at=now - timedelta(minutes=7),
            )
            server.add_event(
                "shop",
                "Pod",
                pod["metadata"]["name"],
                "Failed",
                'Failed to pull image "shop/cart:2.1.0-typo": not found',
                at=now - timedelta(minutes=6),
                count=5,
            )
        _fire("CartUnavailable", "cart")
        report = _triage(server, pki, tmp_path, "CartUnavailable")
        ranked = [(h["kind"], h["service"]) for h in report["hypotheses"][:3]]
        assert report["hypotheses"][0]["service"] == "cart", ranked
        assert ("deploy", "cart") in ranked, ranked
        deploy = next(h for h in report["hypotheses"] if h["kind"] == "deploy")
        changes = [e for e in _evidence(report, deploy["evidence"]) if e["kind"] == "change"]
        assert changes, deploy
        assert any("shop/cart:2.1.0-typo" in e["summary"] for e in changes), changes
    finally:
        server.stop()
