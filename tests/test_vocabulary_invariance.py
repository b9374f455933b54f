"""Signals are read by what they mean, not by the names one system gives them: the same
real incidents, with their metrics renamed to the vocabularies other stacks export
(OpenTelemetry's semantic conventions and hostmetrics, Datadog's agent and APM, Micrometer
and gRPC), rank the same services on top. Where a vocabulary states a share the other
way round (errors where the source had success, usable memory where it had used), the
values are turned over too: 99.6% success and 0.4% errors are one measurement.

The bundles are real third-party incidents (`../shared/datasets`); the renaming touches
only metric names and, where the meaning flips, values."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from aisre_cli.investigate.evaluate import list_alerts, resolve_alert
from aisre_cli.investigate.gather import gather
from aisre_cli.investigate.triage import analyze_context
from aisre_cli.settings.config import Profile
from aisre_cli.sources.registry import bundle_set
from tests.conftest import IN_CI, PETSHOP, REPO

NEZHA = REPO.parent / "shared" / "datasets" / "nezha-ob"

# source name -> (new name, turned over: value -> 100 - value)
VOCABULARIES: dict[str, dict[str, tuple[str, bool]]] = {
    "opentelemetry": {
        "container_cpu_usage_millicores": ("k8s_pod_cpu_usage_millicores", False),
        "container_cpu_usage_percent": ("k8s_pod_cpu_limit_utilization_percent", False),
        "container_memory_usage_mebibytes": ("k8s_pod_memory_working_set_mebibytes", False),
        "container_memory_usage_percent": ("k8s_pod_memory_limit_utilization_percent", False),
        "frontend_latency_p90_seconds": ("http_server_request_duration_seconds_p90", False),
        "frontend_latency_p99_seconds": ("http_server_request_duration_seconds_p99", False),
        "frontend_success_rate_percent": ("http_server_request_success_percent", False),
        "node_cpu_usage_percent": ("system_cpu_utilization_percent", False),
        "node_memory_usage_percent": ("system_memory_utilization_percent", False),
        "pod_client_latency_p99_seconds": ("rpc_client_duration_seconds_p99", False),
        "pod_server_latency_p99_seconds": ("rpc_server_duration_seconds_p99", False),
        "pod_success_rate_percent": ("rpc_server_success_percent", False),
        "pod_workload_ops": ("rpc_server_requests_per_second", False),
        "petshop_latency_average": ("aws_xray_response_time_seconds_avg", False),
        "petshop_latency_p99": ("aws_xray_response_time_seconds_p99", False),
        "petshop_availability_average": ("aws_xray_ok_percent", False),
        "petshop_requests_sum": ("aws_xray_request_count", False),
    },
    "datadog": {
        "container_cpu_usage_millicores": ("kubernetes_cpu_usage", False),
        "container_memory_usage_mebibytes": ("kubernetes_memory_usage", False),
        "frontend_latency_p99_seconds": ("trace_http_request_duration_by_service_99p", False),
        "frontend_success_rate_percent": ("trace_http_request_error_pct", True),
        "node_cpu_usage_percent": ("system_cpu_user", False),
        "node_memory_usage_percent": ("system_mem_pct_usable", True),
        "node_network_receive_bytes_rate": ("system_net_bytes_rcvd", False),
        "pod_server_latency_p99_seconds": ("trace_grpc_server_duration_99p", False),
        "pod_success_rate_percent": ("trace_grpc_server_error_pct", True),
        "pod_workload_ops": ("trace_grpc_server_hits", False),
        "petshop_latency_average": ("aws_applicationelb_target_response_time_average", False),
        "petshop_latency_p99": ("aws_applicationelb_target_response_time_p99", False),
        "petshop_availability_average": ("aws_applicationelb_httpcode_target_5xx_pct", True),
        "petshop_requests_sum": ("aws_applicationelb_request_count", False),
    },
    "micrometer": {
        "container_cpu_usage_percent": ("process_cpu_usage_percent", False),
        "container_memory_usage_mebibytes": ("jvm_memory_used_mebibytes", False),
        "frontend_latency_p99_seconds": ("http_server_requests_seconds_p99", False),
        "frontend_success_rate_percent": ("http_server_requests_success_percent", False),
        "pod_server_latency_p99_seconds": ("grpc_server_handling_seconds_p99", False),
        "pod_success_rate_percent": ("grpc_server_success_percent", False),
        "pod_workload_ops": ("grpc_server_handled_per_second", False),
        "petshop_latency_p99": ("istio_request_duration_seconds_p99", False),
        "petshop_availability_average": ("istio_request_success_percent", False),
        "petshop_requests_sum": ("istio_requests_per_interval", False),
    },
}

# a few incidents of each real dataset, of different fault types and traffic shapes
BUNDLES = {
    NEZHA: [
        "nezha-ob-2022-08-22T0353",
        "nezha-ob-2022-08-22T0418",
        "nezha-ob-2022-08-23T1354",
        "nezha-ob-2022-08-23T1504",
    ],
    PETSHOP: [
        "petshop-high_traffic-train-issue2",
        "petshop-high_traffic-test-issue6",
        "petshop-low_traffic-test-issue0",
        "petshop-temporal_traffic1-test-issue2",
    ],
}


def _rename(src: Path, dst: Path, vocab: dict[str, tuple[str, bool]]) -> None:
    shutil.copytree(src, dst)
    for f in sorted((dst / "metrics").glob("*.json")):
        hit = vocab.get(f.stem)
        if hit is None:
            continue
        new, turn = hit
        body = json.loads(f.read_text())
        for r in body["data"]["result"]:
            r["metric"]["__name__"] = new
            if turn:
                r["values"] = [[t, repr(100.0 - float(v))] for t, v in r["values"]]
        f.unlink()
        (dst / "metrics" / f"{new}.json").write_text(json.dumps(body))


def _tops(root: Path) -> dict[str, list[str]]:
    """bundle id → its three top-ranked services."""
    prof = Profile()
    out: dict[str, list[str]] = {}
    for b in sorted(root.iterdir()):
        src = bundle_set(b)
        alerts, _ = list_alerts(src, 30)
        focus = src.bundle.meta.focus_alert
        alert = resolve_alert(alerts, focus) if focus else alerts[0]
        ctx = gather(
            src,
            alert,
            alerts,
            lookback_s=prof.lookback_minutes * 60,
            lookahead_s=prof.lookahead_minutes * 60,
            budget_s=30,
        )
        ranked = sorted(analyze_context(ctx, prof).candidates, key=lambda c: -c.score)
        out[b.name] = list(dict.fromkeys(c.service for c in ranked))[:3]
    return out


@pytest.mark.parametrize("vocab", sorted(VOCABULARIES))
def test_renamed_vocabularies_rank_the_same_services(vocab: str, tmp_path: Path) -> None:
    if not all(d.exists() for d in BUNDLES):
        if IN_CI:
            pytest.fail(f"datasets missing under CI: {', '.join(map(str, BUNDLES))}")
        pytest.skip("the shared datasets are not present")
    orig, renamed = tmp_path / "orig", tmp_path / "renamed"
    for src_root, ids in BUNDLES.items():
        for b in ids:
            shutil.copytree(src_root / b, orig / b)
            _rename(src_root / b, renamed / b, VOCABULARIES[vocab])
    before, after = _tops(orig), _tops(renamed)
    assert set(before) == set(after) == {b for ids in BUNDLES.values() for b in ids}
    for b in sorted(before):
        assert after[b][0] == before[b][0], f"{vocab}: {b} top {after[b]} vs {before[b]}"
        assert set(after[b]) == set(before[b]), f"{vocab}: {b} top 3 {after[b]} vs {before[b]}"


def _kube_prometheus(src: Path, dst: Path) -> None:
    """The labels kube-prometheus gives these series: cAdvisor's carry the pod and
    container and `job="kubelet"`, node-exporter's `job="node-exporter"`, and what a
    ServiceMonitor scrapes `job="<namespace>/<service>"`; no `service` label anywhere."""
    shutil.copytree(src, dst)
    for f in sorted((dst / "metrics").glob("*.json")):
        f.chmod(0o644)
        body = json.loads(f.read_text())
        for r in body["data"]["result"]:
            m = r["metric"]
            svc = m.pop("service", None)
            if svc is None:
                continue
            if f.stem.startswith("container_"):
                m.update(job="kubelet", container="server")
            elif f.stem.startswith("node_"):
                m["job"] = "node-exporter"
            else:
                m["job"] = f"online-boutique/{svc}"
        f.write_text(json.dumps(body))


def test_kube_prometheus_labels_rank_the_same_services(tmp_path: Path) -> None:
    """A series names its service the way the stack that scraped it does: the collector's
    job is not a service, and a pod belongs to its workload."""
    if not NEZHA.exists():
        if IN_CI:
            pytest.fail(f"dataset missing under CI: {NEZHA}")
        pytest.skip("the shared datasets are not present")
    orig, relabelled = tmp_path / "orig", tmp_path / "relabelled"
    for b in BUNDLES[NEZHA]:
        shutil.copytree(NEZHA / b, orig / b)
        _kube_prometheus(NEZHA / b, relabelled / b)
    before, after = _tops(orig), _tops(relabelled)
    for b in sorted(before):
        assert after[b][0] == before[b][0], f"{b} top {after[b]} vs {before[b]}"
