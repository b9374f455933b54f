"""Rewrite incident bundles the way another stack would export the same measurements.

    python scripts/relabel.py SRC DST --as datadog        # or opentelemetry, micrometer
    python scripts/relabel.py SRC DST --as datadog --dotted   # system.cpu.user, as StatsD names it
    python scripts/relabel.py SRC DST --as kube-prometheus

SRC is a bundle or a folder of bundles; DST receives the copies. Metric names are mapped
to the chosen vocabulary (values turned over, 100 - v, where it states a share the other
way round: error percent for success percent, usable memory for used); `kube-prometheus`
instead drops the `service` label and labels series as kube-prometheus scrapes them
(cAdvisor's `job="kubelet"` with the pod and container, node-exporter's job, ServiceMonitor
jobs as `namespace/service`). `--dotted` writes the names with dots where Prometheus has
underscores, as StatsD/DogStatsD and OpenTelemetry instruments name them before any
Prometheus export (`system.cpu.user`, `trace.http.request.error.pct`). The engine should
rank the copies as it ranks the originals (`tests/test_vocabulary_invariance.py`, docs/eval.md).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

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


def rename(src: Path, dst: Path, vocab: dict[str, tuple[str, bool]], dotted: bool = False) -> None:
    shutil.copytree(src, dst)
    for f in sorted((dst / "metrics").glob("*.json")):
        hit = vocab.get(f.stem)
        if hit is None and not dotted:
            continue
        new, turn = hit or (f.stem, False)
        if dotted:
            new = new.replace("_", ".")
        body = json.loads(f.read_text())
        for r in body["data"]["result"]:
            r["metric"]["__name__"] = new
            if turn:
                r["values"] = [[t, repr(100.0 - float(v))] for t, v in r["values"]]
        f.unlink()
        (dst / "metrics" / f"{new}.json").write_text(json.dumps(body))


def kube_prometheus(src: Path, dst: Path) -> None:
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", type=Path)
    ap.add_argument("dst", type=Path)
    ap.add_argument("--as", dest="vocab", required=True, choices=[*VOCABULARIES, "kube-prometheus"])
    ap.add_argument("--dotted", action="store_true", help="names with dots, as StatsD writes them")
    args = ap.parse_args()
    if not args.src.is_dir():
        print(f"relabel: {args.src}: not a folder", file=sys.stderr)
        return 2
    bundles = (
        [args.src]
        if (args.src / "bundle.yaml").exists()
        else sorted(p for p in args.src.iterdir() if (p / "bundle.yaml").exists())
    )
    if not bundles:
        print(f"relabel: no bundle under {args.src}", file=sys.stderr)
        return 2
    for b in bundles:
        dst = args.dst if len(bundles) == 1 and b == args.src else args.dst / b.name
        if dst.exists():
            print(f"relabel: {dst} exists; remove it first", file=sys.stderr)
            return 2
        try:
            if args.vocab == "kube-prometheus":
                kube_prometheus(b, dst)
            else:
                rename(b, dst, VOCABULARIES[args.vocab], args.dotted)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # a metrics file that is not Prometheus query_range JSON, a read-only target
            print(f"relabel: {b}: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
    print(f"wrote {len(bundles)} bundle(s) under {args.dst}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
