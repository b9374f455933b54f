#!/usr/bin/env python3
"""Blind incident-bundle generator (bundle v1) for aisre.

Usage: python gen.py --out DIR --seed N
Stdlib + PyYAML only. Deterministic for a given seed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import shutil
import urllib.parse
from collections import defaultdict
from datetime import datetime, timezone

import yaml

# --------------------------------------------------------------------------- helpers


def iso(t: float, ms: bool = False) -> str:
    d = datetime.fromtimestamp(t, tz=timezone.utc)
    if ms:
        return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


def fp(labels: dict) -> str:
    s = ",".join(f"{k}={labels[k]}" for k in sorted(labels))
    return hashlib.sha1(s.encode()).hexdigest()[:16]


def rhex(rng, n):
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def rpod(rng, svc):
    return f"{svc}-{rng.choice(['5', '6', '7', '8'])}{rhex(rng, 9)}-{''.join(rng.choice('bcdfghjklmnpqrstvwxz2456789') for _ in range(5))}"


def step_fn(t0, mag, ramp=120.0):
    def f(t):
        if t < t0:
            return 0.0
        return mag * min(1.0, (t - t0) / ramp) if ramp > 0 else mag

    return f


def ramp_fn(t0, dur, mag):
    def f(t):
        if t < t0:
            return 0.0
        return mag * min(1.0, (t - t0) / dur)

    return f


def pulse_fn(t0, t1, mag, ramp=60.0):
    def f(t):
        if t < t0 or t > t1 + ramp:
            return 0.0
        if t > t1:
            return mag * (1 - (t - t1) / ramp)
        return mag * min(1.0, (t - t0) / ramp)

    return f


# --------------------------------------------------------------------------- topology pools

DOMAINS = {
    "shop": {
        "edge": ["storefront-gw", "web-bff", "mobile-bff"],
        "mid": [
            "catalog",
            "cart",
            "checkout",
            "pricing",
            "inventory",
            "payments",
            "shipping",
            "recommendations",
            "search",
            "user-profile",
            "promotions",
            "tax-calc",
        ],
        "worker": ["order-worker", "email-dispatcher", "fulfillment-consumer"],
        "ext": ["stripe-proxy", "geo-lookup"],
    },
    "bank": {
        "edge": ["api-edge", "portal-bff"],
        "mid": [
            "accounts",
            "ledger",
            "transfers",
            "fx-rates",
            "kyc",
            "cards",
            "statements",
            "notifications",
            "auth",
            "limits",
        ],
        "worker": ["settlement-worker", "statement-renderer"],
        "ext": ["swift-connector", "credit-bureau"],
    },
    "media": {
        "edge": ["edge-router", "player-api"],
        "mid": [
            "playback",
            "entitlements",
            "metadata",
            "thumbnails",
            "profiles",
            "watchlist",
            "ads-decision",
            "session-mgr",
            "license",
        ],
        "worker": ["transcode-worker", "ingest-consumer"],
        "ext": ["cdn-origin", "drm-vendor"],
    },
    "logistics": {
        "edge": ["gateway", "partner-api"],
        "mid": [
            "dispatch",
            "routing",
            "tracking",
            "fleet",
            "eta-model",
            "billing",
            "customers",
            "quotes",
            "labels",
        ],
        "worker": ["geo-indexer", "event-sink"],
        "ext": ["maps-proxy", "sms-relay"],
    },
}

INFRA = {
    "redis": ["redis-sessions", "redis-cache", "cart-redis"],
    "memcached": ["memcached-main", "mc-catalog"],
    "postgres": ["orders-db", "pg-main", "ledger-pg"],
    "mysql": ["mysql-core", "users-mysql"],
    "mongodb": ["mongo-profiles", "docstore"],
    "cassandra": ["cassandra-events", "timeline-cass"],
    "rabbitmq": ["rabbitmq", "amqp-broker"],
    "kafka": ["kafka", "events-kafka"],
    "nats": ["nats", "nats-jetstream"],
    "elasticsearch": ["es-search", "elastic-logs"],
}


# --------------------------------------------------------------------------- flavors (app-level metrics)
# each flavor: how to name rps / errors / latency / cpu / mem / restarts and which label names the service

FLAVORS = ["vm", "newrelic", "dynatrace", "gcp", "azure", "envoy", "linkerd", "otel", "nginx"]


class Bundle:
    def __init__(
        self,
        rng: random.Random,
        bid: str,
        title: str,
        n_services=(6, 14),
        flavor=None,
        window_min=None,
        step=None,
        domain=None,
    ):
        self.rng = rng
        self.id = bid
        self.title = title
        self.flavor = flavor or rng.choice(FLAVORS)
        day = rng.randint(0, 300)
        base = (
            1735689600 + day * 86400 + rng.randint(0, 23) * 3600 + rng.choice([0, 900, 1800, 2700])
        )
        self.window_min = window_min or rng.choice([60, 90, 120, 150, 180])
        self.step = step or rng.choice([10, 15, 30, 30, 60])
        if self.window_min >= 150 and self.step == 10:
            self.step = 30
        self.start = base
        self.end = base + self.window_min * 60
        self.onset = self.start + int(self.window_min * 60 * rng.uniform(0.55, 0.72))
        self.onset -= self.onset % 10
        self.domain = domain or rng.choice(list(DOMAINS))
        self.series = defaultdict(list)  # file stem -> list of (labels, [(t, v)])
        self.queries = {}
        self.logs = defaultdict(list)  # file stem -> list of dict
        self.changes = []
        self.alerts = []
        self.events = []
        self.spans = []
        self.eff = defaultdict(lambda: defaultdict(list))  # svc -> sig -> [(mode, fn)]
        self.truth = None
        self.focus = None
        self.no_metrics = set()
        self.no_logs = set()
        self.throttled = []
        self.uptime = {}
        self.omit_topology = False
        self.notes = None
        self.build_topology(n_services)
        self.base = {}
        for s in self.services:
            self.base[s] = {
                "rps": rng.uniform(20, 400) if self.kind[s] != "worker" else rng.uniform(5, 60),
                "err": rng.uniform(0.0005, 0.004),
                "lat": rng.uniform(0.03, 0.25),
                "cpu": rng.uniform(0.15, 1.2),
                "mem": rng.uniform(180, 900) * 2**20,
                "restarts": 0.0,
                "sat": rng.uniform(0.3, 0.6),
                "evict": rng.uniform(0.0, 0.5),
                "backlog": rng.uniform(5, 80),
                "conns": rng.uniform(20, 60),
                "up": 1.0,
                "hit": rng.uniform(0.85, 0.97),
            }
        self.pods = {
            s: (
                [rpod(rng, s) for _ in range(rng.choice([1, 2, 3]))]
                if self.kind[s] in ("edge", "mid", "worker", "ext")
                else [f"{s}-{i}" for i in range(rng.choice([1, 3]))]
            )
            for s in self.services
        }
        self.log_style = {
            s: rng.choice(
                ["plain", "ecs", "gcp", "logfmt", "pino", "serilog", "plain", "podname", "loki"]
            )
            for s in self.services
        }

    # ---------------- topology
    def build_topology(self, n_range):
        rng = self.rng
        d = DOMAINS[self.domain]
        n = rng.randint(*n_range)
        edge = rng.sample(d["edge"], 1 if n < 9 else rng.choice([1, 2]))
        n_infra = max(2, min(5, n // 3))
        infra_types = rng.sample(list(INFRA), n_infra)
        infra = [rng.choice(INFRA[t]) for t in infra_types]
        n_workers = 1 if n >= 8 else 0
        workers = rng.sample(d["worker"], n_workers)
        n_ext = 1 if n >= 10 else 0
        ext = rng.sample(d["ext"], n_ext)
        n_mid = max(2, n - len(edge) - len(infra) - len(workers) - len(ext))
        mid = rng.sample(d["mid"], min(n_mid, len(d["mid"])))
        self.services = edge + mid + workers + ext + infra
        self.kind = {}
        for s in edge:
            self.kind[s] = "edge"
        for s in mid:
            self.kind[s] = "mid"
        for s in workers:
            self.kind[s] = "worker"
        for s in ext:
            self.kind[s] = "ext"
        for s, t in zip(infra, infra_types):
            self.kind[s] = t
        dep = {s: [] for s in self.services}
        # edges call 2-4 mids; mids call later mids + infra
        head = mid[: max(2, (len(mid) + 2) // 3)]
        for e in edge:
            dep[e] = rng.sample(head, min(len(head), rng.randint(1, 3)))
        datastores = [s for s in infra if self.kind[s] not in ("rabbitmq", "kafka", "nats")]
        queues = [s for s in infra if self.kind[s] in ("rabbitmq", "kafka", "nats")]
        for i, m in enumerate(mid):
            later = mid[i + 1 :]
            if later and rng.random() < 0.85:
                dep[m] += rng.sample(later[:4], min(len(later[:4]), rng.randint(1, 2)))
            if datastores and rng.random() < 0.7:
                dep[m].append(rng.choice(datastores))
        for x in ext:
            callers = rng.sample(mid, 1)
            for c in callers:
                dep[c].append(x)
        for q in queues:
            producer = rng.choice(mid)
            if q not in dep[producer]:
                dep[producer].append(q)
        for w in workers:
            if queues:
                dep[w].append(rng.choice(queues))
            if datastores:
                dep[w].append(rng.choice(datastores))
        # every infra used by someone
        for s in infra:
            if not any(s in v for v in dep.values()):
                dep[rng.choice(mid)].append(s)
        # any mid not reachable from an edge: attach to an edge
        reach = set()
        stack = list(edge)
        while stack:
            x = stack.pop()
            if x in reach:
                continue
            reach.add(x)
            stack += dep[x]
        for i, m in enumerate(mid):
            if m not in reach:
                earlier = [x for x in mid[:i] if x in reach]
                dep[rng.choice(earlier) if earlier else rng.choice(edge)].append(m)
                reach.add(m)
        self.dep = {k: list(dict.fromkeys(v)) for k, v in dep.items()}
        self.edge = edge
        self.mid = mid
        self.workers = workers
        self.ext = ext
        self.infra = infra

    def callers(self, s):
        return [k for k, v in self.dep.items() if s in v]

    def upstream_paths(self, s):
        """All services that (transitively) call s, with hop distance."""
        out = {}
        frontier = [(s, 0)]
        while frontier:
            x, d = frontier.pop(0)
            for c in self.callers(x):
                if c not in out:
                    out[c] = d + 1
                    frontier.append((c, d + 1))
        return out

    def infra_of(self, kinds):
        return [s for s in self.infra if self.kind[s] in kinds]

    def app_services(self):
        return [s for s in self.services if self.kind[s] in ("edge", "mid", "worker", "ext")]

    # ---------------- effects
    def add(self, svc, sig, fn):
        self.eff[svc][sig].append(("add", fn))

    def mul(self, svc, sig, fn):
        self.eff[svc][sig].append(("mul", fn))

    def propagate(self, cause, t0, err=0.0, lat=0.0, atten=0.6, delay=60, rps=0.0):
        """symptoms climb from cause to its callers, attenuated per hop."""
        for c, d in self.upstream_paths(cause).items():
            f = atten ** (d - 1)
            td = t0 + delay * d
            if err:
                self.add(c, "err", step_fn(td, err * f * self.rng.uniform(0.7, 1.1)))
            if lat:
                self.add(c, "lat", step_fn(td, lat * f * self.rng.uniform(0.7, 1.1)))
            if rps:
                self.mul(c, "rps", step_fn(td, rps * f))

    def val(self, svc, sig, t, noise=0.05):
        b = self.base[svc][sig]
        # diurnal drift on demand
        if sig == "rps":
            phase = (t % 86400) / 86400.0
            b *= 1.0 + 0.25 * math.sin(2 * math.pi * (phase - 0.3))
        m, a = 1.0, 0.0
        for mode, fn in self.eff[svc][sig]:
            if mode == "mul":
                m *= 1.0 + fn(t)
            else:
                a += fn(t)
        v = b * m + a
        if sig in ("restarts", "up"):
            return v
        return max(0.0, v * (1 + self.rng.gauss(0, noise)))

    def times(self, step=None):
        st = step or self.step
        t = self.start - self.start % st
        out = []
        while t <= self.end:
            if t >= self.start:
                out.append(t)
            t += st
        return out

    # ---------------- metric writers
    def put(self, stem, labels, pts, query=None):
        self.series[stem].append((labels, pts))
        if query:
            self.queries[stem] = query

    def gauge(
        self, stem, labels, svc, sig, scale=1.0, query=None, gaps=True, fmt="{:.6g}", fn=None
    ):
        pts = []
        gap = None
        if gaps and self.rng.random() < 0.15:
            g0 = self.rng.uniform(self.start, self.end)
            gap = (g0, g0 + self.rng.choice([60, 120, 300]))
        for t in self.times():
            if gap and gap[0] <= t <= gap[1]:
                continue
            v = fn(t) if fn else self.val(svc, sig, t) * scale
            if v is None:
                continue
            pts.append([t, fmt.format(v)])
        self.put(stem, labels, pts, query)

    def counter(self, stem, labels, svc, rate_fn, query=None, start_val=None):
        pts = []
        if svc not in self.uptime:
            self.uptime[svc] = self.rng.uniform(3 * 3600, 12 * 86400)
        acc = (
            start_val
            if start_val is not None
            else max(0.0, rate_fn(self.start)) * self.uptime[svc] * self.rng.uniform(0.97, 1.03)
        )
        prev = None
        for t in self.times():
            if prev is not None:
                acc += max(0.0, rate_fn(t)) * (t - prev)
            prev = t
            pts.append([t, f"{acc:.0f}" if acc > 1000 else f"{acc:.3f}"])
        self.put(stem, labels, pts, query)

    # app metrics per flavor
    def emit_app(self, s, fl=None):
        fl = fl or self.flavor
        if fl == "nginx" and self.kind[s] != "edge":
            fl = "vm"
        rng = self.rng
        ns = (
            rng.choice(["prod", "shop-prod", "default", "apps"])
            if not hasattr(self, "_ns")
            else self._ns
        )
        self._ns = ns
        rps = lambda t: self.val(s, "rps", t)
        err = lambda t: min(1.0, self.val(s, "err", t, noise=0.1))
        pods = self.pods[s]
        share = 1.0 / len(pods)
        if fl == "vm":
            lab = {"job": f"{ns}/{s}", "namespace": ns}
            for p in pods:
                for cls, f in (
                    ("2xx", lambda t: rps(t) * (1 - err(t)) * share),
                    ("5xx", lambda t: rps(t) * err(t) * share),
                ):
                    self.counter(
                        "http_requests_total",
                        {"__name__": "http_requests_total", **lab, "pod": p, "code_class": cls},
                        s,
                        f,
                        query='http_requests_total{namespace="%s"}' % ns,
                    )
            self.gauge(
                "http_request_duration_p99",
                {"__name__": "job:http_request_duration_seconds:p99", **lab},
                s,
                "lat",
            )
            for p in pods:
                self.counter(
                    "process_cpu",
                    {"__name__": "process_cpu_seconds_total", **lab, "pod": p},
                    s,
                    lambda t: self.val(s, "cpu", t) * share,
                )
                self.gauge(
                    "process_rss",
                    {"__name__": "process_resident_memory_bytes", **lab, "pod": p},
                    s,
                    "mem",
                    fmt="{:.0f}",
                )
        elif fl == "newrelic":
            lab = {"app": s, "entity.guid": "MzI" + rhex(rng, 14), "accountId": "3308172"}
            self.gauge(
                "apm_throughput",
                {"__name__": "apm.service.transaction.throughput", **lab},
                s,
                "rps",
                scale=60.0,
            )
            self.gauge(
                "apm_error_rate",
                {"__name__": "apm.service.error.rate", **lab},
                s,
                "err",
                scale=100.0,
            )
            self.gauge(
                "apm_duration",
                {"__name__": "apm.service.transaction.duration", **lab, "percentile": "99"},
                s,
                "lat",
                scale=1000.0,
            )
            self.gauge(
                "apm_cpu",
                {"__name__": "apm.service.cpu.usertime.utilization", **lab},
                s,
                "cpu",
                scale=100.0 / 2,
            )
            self.gauge(
                "k8s_mem",
                {
                    "__name__": "k8s.container.memoryWorkingSetBytes",
                    "app": s,
                    "podName": pods[0],
                    "containerName": s,
                },
                s,
                "mem",
                fmt="{:.0f}",
            )
        elif fl == "dynatrace":
            lab = {"dt.entity.service": "SERVICE-" + rhex(rng, 16).upper(), "service_name": s}
            self.gauge(
                "dt_response_time",
                {"__name__": "builtin:service.response.time", **lab, "aggregation": "p99"},
                s,
                "lat",
                scale=1e6,
            )
            self.gauge(
                "dt_errors_rate",
                {"__name__": "builtin:service.errors.server.rate", **lab},
                s,
                "err",
                scale=100.0,
            )
            self.gauge(
                "dt_request_count",
                {"__name__": "builtin:service.requestCount.total", **lab},
                s,
                "rps",
                scale=float(self.step),
            )
            pg = {
                "dt.entity.process_group_instance": "PROCESS_GROUP_INSTANCE-"
                + rhex(rng, 16).upper(),
                "service_name": s,
            }
            self.gauge(
                "dt_cpu", {"__name__": "builtin:tech.generic.cpu.usage", **pg}, s, "cpu", scale=50.0
            )
            self.gauge(
                "dt_mem",
                {"__name__": "builtin:tech.generic.mem.workingSetSize", **pg},
                s,
                "mem",
                fmt="{:.0f}",
            )
        elif fl == "gcp":
            base = {
                "project_id": "acme-prod-4471",
                "location": "europe-west1",
                "cluster_name": "gke-prod-1",
                "namespace_name": ns,
            }
            for code, f in (
                ("200", lambda t: rps(t) * (1 - err(t))),
                ("503", lambda t: rps(t) * err(t) * 0.7),
                ("500", lambda t: rps(t) * err(t) * 0.3),
            ):
                self.counter(
                    "sd_istio_request_count",
                    {
                        "__name__": "stackdriver_k8s_container_istio_io_service_server_request_count",
                        **base,
                        "destination_service_name": s,
                        "response_code": code,
                    },
                    s,
                    f,
                )
            self.gauge(
                "sd_istio_latency",
                {
                    "__name__": "stackdriver_k8s_container_istio_io_service_server_response_latencies_p99",
                    **base,
                    "destination_service_name": s,
                },
                s,
                "lat",
                scale=1000.0,
            )
            for p in pods:
                cl = {**base, "container_name": s, "pod_name": p}
                self.counter(
                    "sd_cpu",
                    {
                        "__name__": "stackdriver_k8s_container_kubernetes_io_container_cpu_core_usage_time",
                        **cl,
                    },
                    s,
                    lambda t: self.val(s, "cpu", t) * share,
                )
                self.gauge(
                    "sd_mem",
                    {
                        "__name__": "stackdriver_k8s_container_kubernetes_io_container_memory_used_bytes",
                        **cl,
                        "memory_type": "non-evictable",
                    },
                    s,
                    "mem",
                    fmt="{:.0f}",
                )
                self.gauge(
                    "sd_restarts",
                    {
                        "__name__": "stackdriver_k8s_container_kubernetes_io_container_restart_count",
                        **cl,
                    },
                    s,
                    "restarts",
                    gaps=False,
                    fmt="{:.0f}",
                )
        elif fl == "azure":
            lab = {"resourceGroup": "rg-prod-weu", "resourceName": f"appi-{s}", "app": s}
            self.gauge(
                "az_req_count",
                {"__name__": "azure_microsoft_insights_components_requests_count_total", **lab},
                s,
                "rps",
                scale=60.0,
            )
            self.gauge(
                "az_req_failed",
                {
                    "__name__": "azure_microsoft_insights_components_requests_failed_count_total",
                    **lab,
                },
                s,
                "rps",
                fn=lambda t: rps(t) * err(t) * 60,
            )
            self.gauge(
                "az_req_duration",
                {
                    "__name__": "azure_microsoft_insights_components_requests_duration_average_milliseconds",
                    **lab,
                },
                s,
                "lat",
                scale=450.0,
            )
            for p in pods:
                self.gauge(
                    "az_container_cpu",
                    {
                        "__name__": "azure_container_cpu_usage_millicores",
                        "workload": s,
                        "pod": p,
                        "container": s,
                    },
                    s,
                    "cpu",
                    scale=1000.0 * share,
                )
                self.gauge(
                    "az_container_mem",
                    {
                        "__name__": "azure_container_memory_working_set_bytes",
                        "workload": s,
                        "pod": p,
                        "container": s,
                    },
                    s,
                    "mem",
                    fmt="{:.0f}",
                )
        elif fl == "envoy":
            for p in pods:
                lab = {
                    "envoy_cluster_name": f"inbound|8080||{s}.{ns}.svc.cluster.local",
                    "k8s_app": s,
                    "pod": p,
                }
                self.counter(
                    "envoy_rq_xx",
                    {
                        "__name__": "envoy_cluster_upstream_rq_xx",
                        **lab,
                        "envoy_response_code_class": "2",
                    },
                    s,
                    lambda t: rps(t) * (1 - err(t)) * share,
                )
                self.counter(
                    "envoy_rq_xx",
                    {
                        "__name__": "envoy_cluster_upstream_rq_xx",
                        **lab,
                        "envoy_response_code_class": "5",
                    },
                    s,
                    lambda t: rps(t) * err(t) * share,
                )
                self.gauge(
                    "envoy_rq_time_p99",
                    {"__name__": "envoy_cluster_upstream_rq_time:p99", **lab},
                    s,
                    "lat",
                    scale=1000.0,
                )
                self.counter(
                    "container_cpu",
                    {
                        "__name__": "container_cpu_usage_seconds_total",
                        "pod": p,
                        "container": s,
                        "namespace": ns,
                    },
                    s,
                    lambda t: self.val(s, "cpu", t) * share,
                )
                self.gauge(
                    "container_mem",
                    {
                        "__name__": "container_memory_working_set_bytes",
                        "pod": p,
                        "container": s,
                        "namespace": ns,
                    },
                    s,
                    "mem",
                    fmt="{:.0f}",
                )
        elif fl == "linkerd":
            lab = {"deployment": s, "namespace": ns, "direction": "inbound"}
            for cls, f in (
                ("success", lambda t: rps(t) * (1 - err(t))),
                ("failure", lambda t: rps(t) * err(t)),
            ):
                self.counter(
                    "linkerd_response_total",
                    {"__name__": "response_total", **lab, "classification": cls, "tls": "true"},
                    s,
                    f,
                )
            self.gauge(
                "linkerd_latency_p99",
                {"__name__": "response_latency_ms:p99", **lab},
                s,
                "lat",
                scale=1000.0,
            )
            for p in pods:
                self.gauge(
                    "kube_restarts",
                    {
                        "__name__": "kube_pod_container_status_restarts_total",
                        "job": "kube-state-metrics",
                        "namespace": ns,
                        "pod": p,
                        "container": s,
                    },
                    s,
                    "restarts",
                    gaps=False,
                    fmt="{:.0f}",
                )
                self.gauge(
                    "container_mem",
                    {
                        "__name__": "container_memory_working_set_bytes",
                        "job": "kubelet",
                        "namespace": ns,
                        "pod": p,
                        "container": s,
                    },
                    s,
                    "mem",
                    fmt="{:.0f}",
                )
        elif fl == "otel":
            lab = {
                "service_name": s,
                "service_namespace": ns,
                "deployment_environment": "production",
            }
            for code, f in (
                ("200", lambda t: rps(t) * (1 - err(t))),
                ("500", lambda t: rps(t) * err(t)),
            ):
                self.counter(
                    "otel_http_server_count",
                    {
                        "__name__": "http_server_request_duration_seconds_count",
                        **lab,
                        "http_response_status_code": code,
                    },
                    s,
                    f,
                )
            self.gauge(
                "otel_http_p99", {"__name__": "http.server.request.duration.p99", **lab}, s, "lat"
            )
            self.gauge(
                "otel_cpu", {"__name__": "process.cpu.utilization", **lab}, s, "cpu", scale=0.5
            )
            self.gauge(
                "otel_mem", {"__name__": "process.memory.usage", **lab}, s, "mem", fmt="{:.0f}"
            )
        elif fl == "nginx":
            lab = {
                "ingress": s,
                "exported_namespace": ns,
                "controller_class": "k8s.io/ingress-nginx",
                "service": s,
            }
            for st, f in (
                ("200", lambda t: rps(t) * (1 - err(t))),
                ("502", lambda t: rps(t) * err(t) * 0.5),
                ("504", lambda t: rps(t) * err(t) * 0.5),
            ):
                self.counter(
                    "nginx_requests",
                    {"__name__": "nginx_ingress_controller_requests", **lab, "status": st},
                    s,
                    f,
                )
            self.gauge(
                "nginx_p99",
                {
                    "__name__": "ingress:nginx_ingress_controller_request_duration_seconds:p99",
                    **lab,
                },
                s,
                "lat",
                query="histogram_quantile(0.99, sum by (le, ingress) (rate(nginx_ingress_controller_request_duration_seconds_bucket[2m])))",
            )
            for p in pods:
                self.gauge(
                    "kube_restarts",
                    {
                        "__name__": "kube_pod_container_status_restarts_total",
                        "namespace": ns,
                        "pod": p,
                        "container": s,
                    },
                    s,
                    "restarts",
                    gaps=False,
                    fmt="{:.0f}",
                )
                self.gauge(
                    "container_mem",
                    {
                        "__name__": "container_memory_working_set_bytes",
                        "namespace": ns,
                        "pod": p,
                        "container": s,
                    },
                    s,
                    "mem",
                    fmt="{:.0f}",
                )

    def emit_infra(self, s):
        k = self.kind[s]
        rng = self.rng
        inst = f"{s}:{ {'redis': 9121, 'memcached': 9150, 'postgres': 9187, 'mysql': 9104, 'mongodb': 9216, 'cassandra': 8080, 'rabbitmq': 15692, 'kafka': 9308, 'nats': 7777, 'elasticsearch': 9114}[k] }"
        lab = {"instance": inst}
        lab[rng.choice(["service", "app", "k8s_app", "service", "app_kubernetes_io_name"])] = s
        load = lambda t: self.val(s, "rps", t)
        if k == "redis":
            mx = 4 * 2**30
            self.gauge(
                "redis_memory_used_bytes",
                {"__name__": "redis_memory_used_bytes", **lab},
                s,
                "sat",
                scale=mx,
                fmt="{:.0f}",
            )
            self.gauge(
                "redis_memory_max_bytes",
                {"__name__": "redis_memory_max_bytes", **lab},
                s,
                "sat",
                fn=lambda t: mx,
                gaps=False,
                fmt="{:.0f}",
            )
            self.counter(
                "redis_evicted_keys_total",
                {"__name__": "redis_evicted_keys_total", **lab},
                s,
                lambda t: self.val(s, "evict", t),
            )
            self.counter(
                "redis_keyspace_hits_total",
                {"__name__": "redis_keyspace_hits_total", **lab},
                s,
                lambda t: load(t) * 10 * self.val(s, "hit", t, 0.01),
            )
            self.counter(
                "redis_keyspace_misses_total",
                {"__name__": "redis_keyspace_misses_total", **lab},
                s,
                lambda t: load(t) * 10 * (1 - min(1, self.val(s, "hit", t, 0.01))),
            )
            self.gauge(
                "redis_connected_clients",
                {"__name__": "redis_connected_clients", **lab},
                s,
                "conns",
                fmt="{:.0f}",
            )
            self.gauge(
                "redis_up", {"__name__": "redis_up", **lab}, s, "up", gaps=False, fmt="{:.0f}"
            )
        elif k == "memcached":
            lim = 2 * 2**30
            self.counter(
                "memcached_items_evicted_total",
                {"__name__": "memcached_items_evicted_total", **lab},
                s,
                lambda t: self.val(s, "evict", t),
            )
            self.gauge(
                "memcached_current_bytes",
                {"__name__": "memcached_current_bytes", **lab},
                s,
                "sat",
                scale=lim,
                fmt="{:.0f}",
            )
            self.gauge(
                "memcached_limit_bytes",
                {"__name__": "memcached_limit_bytes", **lab},
                s,
                "sat",
                fn=lambda t: lim,
                gaps=False,
                fmt="{:.0f}",
            )
            for st, f in (
                ("hit", lambda t: load(t) * 8 * self.val(s, "hit", t, 0.01)),
                ("miss", lambda t: load(t) * 8 * (1 - min(1, self.val(s, "hit", t, 0.01)))),
            ):
                self.counter(
                    "memcached_commands_total",
                    {"__name__": "memcached_commands_total", **lab, "command": "get", "status": st},
                    s,
                    f,
                )
            self.gauge(
                "memcached_up",
                {"__name__": "memcached_up", **lab},
                s,
                "up",
                gaps=False,
                fmt="{:.0f}",
            )
        elif k == "postgres":
            self.gauge(
                "pg_stat_activity_count",
                {"__name__": "pg_stat_activity_count", **lab, "datname": "app", "state": "active"},
                s,
                "conns",
                fmt="{:.0f}",
            )
            self.gauge(
                "pg_settings_max_connections",
                {"__name__": "pg_settings_max_connections", **lab},
                s,
                "conns",
                fn=lambda t: 200,
                gaps=False,
                fmt="{:.0f}",
            )
            self.counter(
                "pg_stat_database_xact_commit",
                {"__name__": "pg_stat_database_xact_commit", **lab, "datname": "app"},
                s,
                lambda t: load(t) * 3,
            )
            self.gauge(
                "pg_stat_statements_mean_time",
                {"__name__": "pg_stat_statements_mean_exec_time_seconds", **lab},
                s,
                "lat",
                scale=0.2,
            )
            self.gauge("pg_up", {"__name__": "pg_up", **lab}, s, "up", gaps=False, fmt="{:.0f}")
        elif k == "mysql":
            self.gauge(
                "mysql_threads_connected",
                {"__name__": "mysql_global_status_threads_connected", **lab},
                s,
                "conns",
                fmt="{:.0f}",
            )
            self.gauge(
                "mysql_max_connections",
                {"__name__": "mysql_global_variables_max_connections", **lab},
                s,
                "conns",
                fn=lambda t: 300,
                gaps=False,
                fmt="{:.0f}",
            )
            self.counter(
                "mysql_slow_queries",
                {"__name__": "mysql_global_status_slow_queries", **lab},
                s,
                lambda t: 0.02 + max(0, self.val(s, "lat", t) - self.base[s]["lat"]) * 40,
            )
            self.counter(
                "mysql_questions",
                {"__name__": "mysql_global_status_questions", **lab},
                s,
                lambda t: load(t) * 4,
            )
            self.gauge(
                "mysql_up", {"__name__": "mysql_up", **lab}, s, "up", gaps=False, fmt="{:.0f}"
            )
        elif k == "mongodb":
            self.gauge(
                "mongodb_connections",
                {"__name__": "mongodb_connections", **lab, "state": "current"},
                s,
                "conns",
                fmt="{:.0f}",
            )
            self.counter(
                "mongodb_op_latencies",
                {"__name__": "mongodb_mongod_op_latencies_latency_total", **lab, "type": "read"},
                s,
                lambda t: load(t) * self.val(s, "lat", t) * 1e6,
            )
            self.counter(
                "mongodb_op_counters",
                {"__name__": "mongodb_op_counters_total", **lab, "type": "query"},
                s,
                load,
            )
            self.gauge(
                "mongodb_up", {"__name__": "mongodb_up", **lab}, s, "up", gaps=False, fmt="{:.0f}"
            )
        elif k == "cassandra":
            for q in ("0.5", "0.99"):
                self.gauge(
                    "cassandra_read_latency",
                    {
                        "__name__": "cassandra_clientrequest_latency_seconds",
                        **lab,
                        "clientrequest": "Read",
                        "quantile": q,
                    },
                    s,
                    "lat",
                    scale=0.05 if q == "0.5" else 0.2,
                )
            self.counter(
                "cassandra_timeouts",
                {
                    "__name__": "cassandra_clientrequest_timeouts_total",
                    **lab,
                    "clientrequest": "Read",
                },
                s,
                lambda t: self.val(s, "err", t) * load(t),
            )
            self.gauge(
                "cassandra_pending",
                {"__name__": "cassandra_threadpools_pendingtasks", **lab, "pool": "ReadStage"},
                s,
                "backlog",
                scale=0.1,
                fmt="{:.0f}",
            )
        elif k == "rabbitmq":
            qn = rng.choice(["orders.created", "events.outbound", "jobs.default"])
            self.gauge(
                "rabbitmq_queue_messages_ready",
                {"__name__": "rabbitmq_queue_messages_ready", **lab, "queue": qn, "vhost": "/"},
                s,
                "backlog",
                fmt="{:.0f}",
            )
            self.gauge(
                "rabbitmq_queue_consumers",
                {"__name__": "rabbitmq_queue_consumers", **lab, "queue": qn, "vhost": "/"},
                s,
                "conns",
                fn=lambda t: 6 if self.val(s, "up", t) > 0.5 else 0,
                gaps=False,
                fmt="{:.0f}",
            )
            self.counter(
                "rabbitmq_published",
                {"__name__": "rabbitmq_channel_messages_published_total", **lab},
                s,
                load,
            )
            self.gauge(
                "rabbitmq_up",
                {"__name__": "rabbitmq_identity_info", **lab, "rabbitmq_node": f"rabbit@{s}-0"},
                s,
                "up",
                gaps=False,
                fmt="{:.0f}",
            )
        elif k == "kafka":
            topic = rng.choice(["orders", "clickstream", "ledger-events"])
            cg = getattr(self, "consumer", None) or rng.choice(self.workers or self.mid)
            for part in range(3):
                self.gauge(
                    "kafka_consumergroup_lag",
                    {
                        "__name__": "kafka_consumergroup_lag",
                        **lab,
                        "consumergroup": cg,
                        "topic": topic,
                        "partition": str(part),
                    },
                    s,
                    "backlog",
                    scale=1 / 3,
                    fmt="{:.0f}",
                )
            self.counter(
                "kafka_topic_offset",
                {
                    "__name__": "kafka_topic_partition_current_offset",
                    **lab,
                    "topic": topic,
                    "partition": "0",
                },
                s,
                load,
            )
            self.gauge(
                "kafka_brokers",
                {"__name__": "kafka_brokers", **lab},
                s,
                "up",
                fn=lambda t: 3 * self.val(s, "up", t),
                gaps=False,
                fmt="{:.0f}",
            )
        elif k == "nats":
            self.gauge(
                "nats_slow_consumers",
                {"__name__": "gnatsd_varz_slow_consumers", **lab},
                s,
                "backlog",
                scale=0.01,
                fmt="{:.0f}",
            )
            self.gauge(
                "nats_js_pending",
                {
                    "__name__": "nats_consumer_num_pending",
                    **lab,
                    "stream_name": "EVENTS",
                    "consumer_name": "sink",
                },
                s,
                "backlog",
                fmt="{:.0f}",
            )
            self.counter("nats_in_msgs", {"__name__": "gnatsd_varz_in_msgs", **lab}, s, load)
        elif k == "elasticsearch":
            self.counter(
                "es_search_rejected",
                {
                    "__name__": "elasticsearch_thread_pool_rejected_count",
                    **lab,
                    "type": "search",
                    "cluster": "es-prod",
                },
                s,
                lambda t: self.val(s, "err", t) * load(t),
            )
            self.gauge(
                "es_jvm_heap",
                {
                    "__name__": "elasticsearch_jvm_memory_used_bytes",
                    **lab,
                    "area": "heap",
                    "cluster": "es-prod",
                },
                s,
                "sat",
                scale=16 * 2**30,
                fmt="{:.0f}",
            )
            self.gauge(
                "es_health",
                {
                    "__name__": "elasticsearch_cluster_health_status",
                    **lab,
                    "color": "red",
                    "cluster": "es-prod",
                },
                s,
                "up",
                fn=lambda t: 1.0 if self.val(s, "up", t) < 0.5 else 0.0,
                gaps=False,
                fmt="{:.0f}",
            )
            self.gauge(
                "es_query_time",
                {
                    "__name__": "elasticsearch_indices_search_query_time_seconds_avg",
                    **lab,
                    "cluster": "es-prod",
                },
                s,
                "lat",
                scale=0.3,
            )

    # ---------------- logs
    def log(self, svc, t, level, msg, **extra):
        st = self.log_style[svc]
        pod = self.rng.choice(self.pods[svc])
        if st == "plain":
            rec = {
                "ts": iso(t, ms=True),
                "service": svc,
                "level": level.upper(),
                "msg": msg,
                "pod": pod,
            }
        elif st == "ecs":
            rec = {
                "@timestamp": iso(t, ms=True),
                "service.name": svc,
                "log.level": level.lower(),
                "message": msg,
                "host.name": pod,
                "ecs.version": "1.6.0",
            }
        elif st == "gcp":
            sev = {
                "info": "INFO",
                "warn": "WARNING",
                "error": "ERROR",
                "debug": "DEBUG",
                "fatal": "CRITICAL",
            }[level.lower()]
            rec = {
                "timestamp": iso(t, ms=True),
                "app": svc,
                "severity": sev,
                "textPayload": msg,
                "resource": {"type": "k8s_container", "labels": {"pod_name": pod}},
            }
        elif st == "logfmt":
            m = msg.replace('"', "'")
            rec = {
                "time": iso(t),
                "app": svc,
                "level": level.lower(),
                "log": f'ts={iso(t)} level={level.lower()} caller=main.go:{self.rng.randint(40, 400)} msg="{m}"',
                "pod": pod,
            }
        elif st == "pino":
            lv = {"debug": 20, "info": 30, "warn": 40, "error": 50, "fatal": 60}[level.lower()]
            rec = {
                "time": int(t * 1000) + self.rng.randint(0, 999),
                "service_name": svc,
                "level": lv,
                "msg": msg,
                "hostname": pod,
                "pid": 1,
            }
        elif st == "podname":
            rec = {
                "ts": round(t, 3),
                "service": pod,
                "level": {"warn": "warning"}.get(level.lower(), level.lower()),
                "msg": msg,
                "namespace": getattr(self, "_ns", "prod"),
            }
        elif st == "loki":
            rec = {
                "labels": {"app": svc, "pod": pod, "stream": "stdout"},
                "app": svc,
                "timestamp": iso(t, ms=True),
                "line": json.dumps({"lvl": level.lower(), "message": msg}),
                "level": level.lower(),
            }
        else:  # serilog
            lv = {"debug": "DBG", "info": "INF", "warn": "WRN", "error": "ERR", "fatal": "FTL"}[
                level.lower()
            ]
            rec = {
                "timestamp": iso(t, ms=True),
                "service": svc,
                "level": lv,
                "message": msg,
                "SourceContext": f"Acme.{svc.title().replace('-', '')}.Api",
                "pod": pod,
            }
        rec.update(extra)
        self.logs[svc].append((t, rec))

    def background_logs(self, s):
        rng = self.rng
        tpl_info = [
            "GET /healthz 200",
            "request completed route=/api/v1/{r} status=200 dur_ms={d}",
            "cache refresh done entries={n}",
            "flushed metrics batch size={n}",
            "processed message offset={n}",
            "session renewed user_id=u{n}",
        ]
        tpl_warn = [
            "slow request route=/api/v1/{r} dur_ms={d} threshold_ms=500",
            "retrying idempotent call attempt=2",
            "deprecated header X-Client-Version used by client",
            "GC pause 210ms exceeds target",
            "connection reset by peer, reconnecting",
        ]
        t = self.start + rng.uniform(0, 30)
        noisy = rng.random() < 0.5
        while t < self.end:
            r = rng.random()
            if r < (0.25 if noisy else 0.06):
                msg = rng.choice(tpl_warn)
                lvl = "warn"
            else:
                msg = rng.choice(tpl_info)
                lvl = "info"
            msg = msg.format(
                r=rng.choice(["items", "orders", "users", "cart"]),
                d=rng.randint(5, 900),
                n=rng.randint(1, 99999),
            )
            self.log(s, t, lvl, msg)
            t += rng.uniform(20, 90)

    def burst(self, svc, t0, t1, level, msgs, rate=0.2, **extra):
        """rate: records per second on average"""
        t = t0 + self.rng.uniform(0, 3)
        while t < min(t1, self.end):
            m = self.rng.choice(msgs)
            if "{" in m:
                m = m.format(
                    n=self.rng.randint(1000, 99999),
                    ms=self.rng.randint(1000, 30000),
                    h=rhex(self.rng, 8),
                )
            self.log(svc, t, level, m, **extra)
            t += self.rng.expovariate(rate)

    # ---------------- changes / alerts / events
    def change(self, svc, t, kind, summary, **kw):
        cid = (
            kw.pop("cid", None)
            or {
                "deploy": f"deploy-{rhex(self.rng, 7)}",
                "config": f"cfg-{self.rng.randint(1000, 9999)}",
                "flag": f"ff-{self.rng.randint(100, 999)}",
                "infra": f"tf-run-{self.rng.randint(10000, 99999)}",
                "scale": f"hpa-{self.rng.randint(100, 999)}",
            }[
                {
                    "rollout": "deploy",
                    "release": "deploy",
                    "canary": "deploy",
                    "configmap": "config",
                    "feature_flag": "flag",
                    "hpa": "scale",
                }.get(kind, kind)
            ]
        )
        c = {"id": cid, "ts": iso(t), "service": svc, "kind": kind, "summary": summary}
        c.update(kw)
        self.changes.append(c)
        return cid

    def innocent_changes(self, n=None, exclude=()):
        rng = self.rng
        n = rng.randint(1, 3) if n is None else n
        pool = [s for s in self.app_services() if s not in exclude]
        for _ in range(n):
            s = rng.choice(pool)
            t = rng.uniform(self.start, self.onset + 600)
            k = rng.choice(["deploy", "config", "flag", "scale", "deploy"])
            if k == "deploy":
                v = f"v{rng.randint(1, 5)}.{rng.randint(0, 40)}.{rng.randint(0, 9)}"
                self.change(
                    s,
                    t,
                    k,
                    rng.choice(
                        [
                            f"{s}: bump dependencies",
                            f"{s}: copy changes on error page",
                            f"{s}: add tracing spans",
                            f"{s}: refactor handler, no behaviour change",
                        ]
                    ),
                    version=v,
                    previous_version=v[:-1] + str(max(0, int(v[-1]) - 1)),
                    author=rng.choice(["jdoe", "mchen", "renovate[bot]", "akumar"]),
                )
            elif k == "config":
                self.change(
                    s,
                    t,
                    k,
                    rng.choice(
                        [
                            f"{s}: log level INFO->DEBUG for 30m",
                            f"{s}: rotate read-only API token",
                            f"{s}: update CORS allowlist",
                        ]
                    ),
                    author="gitops",
                )
            elif k == "flag":
                self.change(
                    s,
                    t,
                    k,
                    rng.choice(
                        [
                            "enable new-checkout-banner 5%",
                            "dark-launch recommendations-v3 shadow traffic 1%",
                            "disable legacy-export button",
                        ]
                    ),
                    author="launchdarkly",
                )
            else:
                self.change(
                    s,
                    t,
                    k,
                    f"{s}: replicas {rng.randint(2, 4)} -> {rng.randint(4, 6)} (scheduled)",
                    author="keda",
                )

    def alert(
        self,
        name,
        svc,
        t,
        summary,
        severity="critical",
        label_key="service",
        expr=None,
        extra=None,
        state="active",
    ):
        labels = {
            "alertname": name,
            label_key: svc,
            "severity": severity,
            "namespace": getattr(self, "_ns", "prod"),
            "cluster": "prod-eu-1",
        }
        if extra:
            labels.update(extra)
        expr = expr or f'{name}{{{label_key}="{svc}"}}'
        a = {
            "labels": labels,
            "annotations": {
                "summary": summary,
                "runbook_url": f"https://runbooks.internal/{name.lower()}",
            },
            "startsAt": iso(t, ms=True),
            "endsAt": iso(self.end + 240, ms=True),
            "fingerprint": fp(labels),
            "status": {"state": state, "silencedBy": [], "inhibitedBy": []},
            "generatorURL": "http://prometheus.monitoring:9090/graph?g0.expr="
            + urllib.parse.quote(expr)
            + "&g0.tab=1",
            "receivers": [{"name": self.rng.choice(["pagerduty-critical", "oncall-primary"])}],
            "updatedAt": iso(self.end - 5, ms=True),
        }
        self.alerts.append(a)
        return a["fingerprint"]

    def page(self, svc, t, what, summary=None):
        """the focus alert on an upstream service"""
        lk = self.rng.choice(["service", "service", "app", "job", "service_name", "k8s_app"])
        name = {
            "err": "HighErrorRate",
            "lat": "LatencySLOBurn",
            "avail": "AvailabilityBelowSLO",
            "backlog": "QueueBacklogGrowing",
        }[what]
        name = self.rng.choice(
            {
                "err": ["HighErrorRate", "Http5xxRatioHigh", "ErrorBudgetBurnFast"],
                "lat": ["LatencySLOBurn", "P99LatencyHigh", "SlowResponses"],
                "avail": ["AvailabilityBelowSLO", "ProbeFailing"],
                "backlog": ["QueueBacklogGrowing", "ConsumerLagHigh"],
            }[what]
        )
        summary = (
            summary
            or {
                "err": f"{svc} 5xx ratio above 5% for 5m",
                "lat": f"{svc} p99 latency above SLO for 10m",
                "avail": f"{svc} availability below 99.5%",
                "backlog": f"backlog growing for {svc}",
            }[what]
        )
        self.focus = self.alert(name, svc, t, summary, label_key=lk)
        return self.focus

    def noise_alerts(self, n=None):
        rng = self.rng
        n = rng.randint(0, 2) if n is None else n
        for _ in range(n):
            s = rng.choice(self.services)
            choice = rng.choice(
                [
                    "KubePodNotReady",
                    "CPUThrottlingHigh",
                    "DiskSpaceLow",
                    "CertificateRenewalPending",
                    "TargetDown",
                    "Watchdog",
                ]
            )
            t = rng.uniform(self.start - 7200, self.end - 300)
            if choice == "Watchdog":
                self.alert(
                    "Watchdog",
                    "alertmanager",
                    self.start - 86400,
                    "An alert that should always be firing to certify that Alertmanager is working properly.",
                    severity="none",
                    label_key="job",
                )
            elif choice == "DiskSpaceLow":
                self.alert(
                    "NodeFilesystemSpaceFillingUp",
                    "node-exporter",
                    t,
                    "Filesystem on /var/lib/docker at ip-10-4-12-7 has only 14% available space left.",
                    severity="warning",
                    label_key="job",
                    extra={"instance": "ip-10-4-12-7:9100", "mountpoint": "/var/lib/docker"},
                )
            else:
                self.alert(
                    choice,
                    s,
                    t,
                    f"{choice} for {s}",
                    severity="warning",
                    label_key=rng.choice(["service", "app"]),
                )

    def event(self, svc, t, reason, msg, typ="Warning", count=1, **kw):
        pod = kw.pop("pod", None) or self.rng.choice(self.pods.get(svc, [svc]))
        obj = kw.pop("object", None) or f"pod/{pod}"
        e = {
            "ts": iso(t),
            "service": svc,
            "reason": reason,
            "type": typ,
            "message": msg,
            "object": obj,
            "count": count,
        }
        if self.rng.random() < 0.5:
            e["query"] = (
                f"kubectl --context prod-eu-1 -n {getattr(self, '_ns', 'prod')} get events --field-selector involvedObject.name={obj.split('/', 1)[1]}"
            )
        e.update(kw)
        self.events.append(e)

    def noise_events(self):
        rng = self.rng
        for _ in range(rng.randint(0, 3)):
            s = rng.choice(self.app_services())
            t = rng.uniform(self.start, self.end)
            r = rng.choice(["Unhealthy", "BackOff", "Pulled", "Killing", "ScalingReplicaSet"])
            if r == "Unhealthy":
                self.event(
                    s,
                    t,
                    r,
                    "Readiness probe failed: HTTP probe failed with statuscode: 503",
                    count=rng.randint(1, 2),
                )
            elif r == "BackOff":
                self.event(
                    s,
                    t,
                    r,
                    "Back-off restarting failed container",
                    count=1,
                    container="istio-proxy",
                )
            elif r == "Pulled":
                self.event(
                    s,
                    t,
                    r,
                    f'Container image "registry.internal/{s}:sha-{rhex(rng, 7)}" already present on machine',
                    typ="Normal",
                )
            elif r == "Killing":
                self.event(s, t, r, "Stopping container " + s, typ="Normal")

    # ---------------- traces
    def traces(
        self,
        bad_svc=None,
        t_from=None,
        err=False,
        extra_ms=0.0,
        n=40,
        net_ms=0.0,
        unreachable=False,
    ):
        rng = self.rng
        root = self.focus_svc if hasattr(self, "focus_svc") else self.edge[0]
        for _ in range(n):
            t = rng.uniform(self.start, self.end - 5)
            tid = rhex(rng, 32)
            after = t_from is not None and t >= t_from

            def walk(svc, parent, st, depth):
                sid = rhex(rng, 16)
                dur = rng.uniform(2, 25)
                status = "ok"
                kids = (
                    [k for k in self.dep.get(svc, []) if rng.random() < 0.6][:3]
                    if depth < 4
                    else []
                )
                cst = st + dur / 3 / 1000
                child_err = False
                for k in kids:
                    if after and unreachable and k == bad_svc:
                        if rng.random() < 0.8:
                            dur += rng.uniform(1, 5)
                            child_err = True
                            continue
                    if after and net_ms and k == bad_svc:
                        gap = net_ms * rng.uniform(0.5, 1.5)
                        cst += gap / 2000
                        dur += gap
                    cd, ce = walk(k, sid, cst, depth + 1)
                    cst += cd / 1000
                    dur += cd
                    child_err = child_err or ce
                if after and svc == bad_svc:
                    dur += extra_ms * rng.uniform(0.7, 1.3)
                    if err and rng.random() < 0.7:
                        status = "error"
                if child_err and rng.random() < 0.8:
                    status = "error"
                self.spans.append(
                    {
                        "trace_id": tid,
                        "span_id": sid,
                        "parent_id": parent,
                        "service": svc,
                        "name": rng.choice(["GET /api", "POST /rpc", "query", "call"])
                        if self.kind[svc] in ("edge", "mid", "worker", "ext")
                        else f"{self.kind[svc]}.command",
                        "start": iso(st, ms=True),
                        "duration_ms": round(dur, 2),
                        "status": status,
                        "pod": rng.choice(self.pods[svc]),
                    }
                )
                return dur, status == "error"

            walk(root, None, t, 0)

    # ---------------- write
    def write(self, outdir):
        d = os.path.join(outdir, self.id)
        if os.path.exists(d):
            shutil.rmtree(d)
        os.makedirs(os.path.join(d, "metrics"))
        for s in self.app_services():
            if s not in self.no_metrics:
                self.emit_app(s)
                if self.kind[s] == "edge" and self.flavor != "nginx" and self.rng.random() < 0.35:
                    self.emit_app(s, "nginx")
        for s in self.throttled:
            for p in self.pods[s]:
                lab = {
                    "namespace": getattr(self, "_ns", "prod"),
                    "pod": p,
                    "container": s,
                    "job": "kubelet",
                    "metrics_path": "/metrics/cadvisor",
                }
                self.counter(
                    "container_cpu_cfs_periods_total",
                    {"__name__": "container_cpu_cfs_periods_total", **lab},
                    s,
                    lambda t: 10.0,
                )
                self.counter(
                    "container_cpu_cfs_throttled_periods_total",
                    {"__name__": "container_cpu_cfs_throttled_periods_total", **lab},
                    s,
                    lambda t, s=s: (
                        10.0
                        * min(
                            0.9,
                            max(0.0, self.val(s, "cpu", t) / max(1e-6, self.base[s]["cpu"]) - 0.97),
                        )
                    ),
                )
        for s in self.infra:
            if s not in self.no_metrics:
                self.emit_infra(s)
        for s in self.services:
            if s not in self.no_logs and self.kind[s] in ("edge", "mid", "worker", "ext"):
                self.background_logs(s)
        bundle = {
            "id": self.id,
            "title": self.title,
            "window": {"start": iso(self.start), "end": iso(self.end)},
            "focus_alert": self.focus,
            "format_version": 1,
        }
        if self.notes:
            bundle["notes"] = self.notes
        with open(os.path.join(d, "bundle.yaml"), "w") as f:
            yaml.safe_dump(bundle, f, sort_keys=False)
        with open(os.path.join(d, "alerts.json"), "w") as f:
            json.dump(self.alerts, f, indent=1)
        for i, (stem, lst) in enumerate(sorted(self.series.items())):
            body = {
                "status": "success",
                "data": {
                    "resultType": "matrix",
                    "result": [{"metric": l, "values": p} for l, p in lst if p],
                },
            }
            with open(os.path.join(d, "metrics", f"{stem}.json"), "w") as f:
                json.dump(body, f, separators=(",", ":"))
        if self.queries:
            with open(os.path.join(d, "metrics", "queries.yaml"), "w") as f:
                yaml.safe_dump(self.queries, f)
        if self.logs:
            os.makedirs(os.path.join(d, "logs"))
            for s, recs in self.logs.items():
                if s in self.no_logs:
                    continue
                recs.sort(key=lambda x: x[0])
                with open(os.path.join(d, "logs", f"{s}.jsonl"), "w") as f:
                    for _, r in recs:
                        f.write(json.dumps(r) + "\n")
        self.changes.sort(key=lambda c: c["ts"])
        with open(os.path.join(d, "changes.json"), "w") as f:
            json.dump(self.changes, f, indent=1)
        if not self.omit_topology:
            with open(os.path.join(d, "topology.yaml"), "w") as f:
                yaml.safe_dump(
                    {"services": {s: {"depends_on": self.dep[s]} for s in self.services}},
                    f,
                    sort_keys=False,
                )
        if self.events:
            os.makedirs(os.path.join(d, "events"))
            self.events.sort(key=lambda e: e["ts"])
            with open(os.path.join(d, "events", "k8s.jsonl"), "w") as f:
                for e in self.events:
                    f.write(json.dumps(e) + "\n")
        if self.spans:
            os.makedirs(os.path.join(d, "traces"))
            with open(os.path.join(d, "traces", "spans.jsonl"), "w") as f:
                for sp in self.spans:
                    f.write(json.dumps(sp) + "\n")
        with open(os.path.join(d, "truth.yaml"), "w") as f:
            yaml.safe_dump({"root_cause": self.truth}, f, sort_keys=False)


# --------------------------------------------------------------------------- scenario helpers


def deep_target(b: Bundle, kinds=("mid",), min_hops=2):
    """pick a service of the given kinds, preferring ones several hops below an edge."""
    cands = [s for s in b.services if b.kind[s] in kinds]
    scored = []
    for s in cands:
        up = b.upstream_paths(s)
        hops = max([d for c, d in up.items() if b.kind[c] == "edge"] or [0])
        scored.append((hops, s))
    best = [s for h, s in scored if h >= min_hops]
    ok = [s for h, s in scored if h >= 1]
    if best and (b.rng.random() < 0.8 or not ok):
        return b.rng.choice(best)
    return b.rng.choice(ok or cands)


def page_target(b: Bundle, cause):
    up = b.upstream_paths(cause)
    edges = [c for c in up if b.kind[c] == "edge"]
    if edges:
        far = max(up[c] for c in edges)
        return b.rng.choice([c for c in edges if up[c] == far])
    if up:
        return max(up, key=lambda c: up[c])
    return cause


def hide_some(b: Bundle, keep):
    """some services logs-only, some metrics-only (never the listed ones)."""
    rng = b.rng
    keep = set(keep)
    for c in list(keep):
        if c in b.services and b.kind[c] not in ("edge",):
            keep |= set(b.callers(c))
    pool = [s for s in b.app_services() if s not in keep]
    rng.shuffle(pool)
    if pool and rng.random() < 0.6:
        b.no_metrics.add(pool.pop())
    if pool and rng.random() < 0.7:
        b.no_logs.add(pool.pop())
    if pool and rng.random() < 0.3:
        b.no_logs.add(pool.pop())


def finish(b: Bundle, cause, page_svc, page_what, keep=()):
    b.focus_svc = page_svc
    b.page(page_svc, b.onset + b.rng.randint(120, 420), page_what)
    b.innocent_changes(exclude=(cause,))
    if page_svc != cause and b.rng.random() < 0.4:
        rng = b.rng
        b.change(
            page_svc,
            b.onset - rng.randint(120, 600),
            rng.choice(["deploy", "deploy", "config"]),
            f"{page_svc}: {rng.choice(['upgrade http client library', 'tweak response caching headers', 'enable gzip for JSON responses', 'raise log sampling to 10%'])}",
            version=ver(rng),
            previous_version=ver(rng),
            author=rng.choice(["kwong", "dependabot[bot]", "tsato"]),
        )
    up = b.upstream_paths(cause)
    mids = [c for c in up if c != page_svc and b.kind[c] != "edge"]
    if mids and b.rng.random() < 0.5:
        m = b.rng.choice(mids)
        b.alert(
            b.rng.choice(["ServiceLatencyHigh", "UpstreamErrorsWarning", "SLOBurnSlow"]),
            m,
            b.onset + b.rng.randint(60, 400),
            f"{m} is degraded",
            severity="warning",
            label_key=b.rng.choice(["service", "app"]),
        )
    if b.rng.random() < 0.25 and b.kind[cause] in ("mid", "worker"):
        b.alert(
            "KubeDeploymentReplicasMismatch"
            if b.truth["kind"] in ("crash_loop", "resource_saturation")
            else "ErrorRateWarning",
            cause,
            b.onset + b.rng.randint(200, 600),
            f"{cause} needs attention",
            severity="warning",
            label_key="service",
        )
    b.noise_alerts()
    b.noise_events()
    hide_some(b, set(keep) | {cause, page_svc})


def ver(rng):
    return f"{rng.randint(1, 4)}.{rng.randint(0, 30)}.{rng.randint(0, 12)}"


# --------------------------------------------------------------------------- scenarios


def sc_deploy_errors(b: Bundle):
    s = deep_target(b)
    rng = b.rng
    t = b.onset - rng.randint(60, 240)
    v0, v1 = ver(rng), ver(rng)
    cid = b.change(
        s,
        t,
        rng.choice(["deploy", "rollout", "release"]),
        f"{s}: {rng.choice(['migrate to new serializer', 'switch to async client', 'refactor pricing rules engine'])}",
        version=v1,
        previous_version=v0,
        author=rng.choice(["ppatel", "lnguyen", "ci-bot"]),
        url=f"https://github.com/acme/{s}/pull/{rng.randint(100, 3000)}",
    )
    b.add(s, "err", step_fn(b.onset, rng.uniform(0.12, 0.4)))
    b.propagate(s, b.onset, err=rng.uniform(0.05, 0.15), lat=0.05)
    b.burst(
        s,
        b.onset,
        b.end,
        "error",
        [
            'java.lang.NullPointerException: Cannot invoke "com.acme.model.Price.getAmount()" because "p" is null\n\tat com.acme.pricing.RuleEngine.apply(RuleEngine.java:214)\n\tat com.acme.pricing.PricingController.quote(PricingController.java:88)\n\tat jdk.internal.reflect.GeneratedMethodAccessor412.invoke(Unknown Source)',
            "unhandled error serving request: json: cannot unmarshal string into Go struct field Item.qty of type int",
            'request failed status=500 route=/v2/{n} err="decode: unexpected EOF"',
        ],
        rate=0.3,
    )
    for c in b.callers(s):
        b.burst(
            c,
            b.onset + 60,
            b.end,
            "error",
            [f"upstream {s} returned 500 Internal Server Error", f"call to {s} failed: status 500"],
            rate=0.1,
        )
    b.truth = {"kind": "deploy", "service": s, "change_id": cid}
    finish(b, s, page_target(b, s), "err")
    if rng.random() < 0.4:
        b.traces(bad_svc=s, t_from=b.onset, err=True)


def sc_deploy_latency(b: Bundle):
    s = deep_target(b)
    rng = b.rng
    t = b.onset - rng.randint(30, 200)
    v0, v1 = ver(rng), ver(rng)
    cid = b.change(
        s,
        t,
        "deploy",
        f"{s}: add per-item lookup in list endpoint (N+1)",
        version=v1,
        previous_version=v0,
        author="oakande",
    )
    b.add(s, "lat", step_fn(b.onset, rng.uniform(0.6, 2.0)))
    b.mul(s, "cpu", step_fn(b.onset, 0.8))
    for ds in b.dep[s]:
        if b.kind[ds] in ("postgres", "mysql", "mongodb", "cassandra"):
            b.mul(ds, "rps", step_fn(b.onset, 3.0))
            b.mul(ds, "conns", step_fn(b.onset, 1.2))
    b.propagate(s, b.onset, lat=rng.uniform(0.5, 1.5), err=0.01)
    b.burst(
        s,
        b.onset,
        b.end,
        "warn",
        ["slow handler GET /list took {ms}ms", "query count per request=187 exceeds budget 20"],
        rate=0.15,
    )
    b.truth = {"kind": "deploy", "service": s, "change_id": cid}
    finish(b, s, page_target(b, s), "lat")
    if rng.random() < 0.7:
        b.traces(bad_svc=s, t_from=b.onset, extra_ms=900, n=60)
        b.omit_topology = rng.random() < 0.5


def sc_deploy_memleak(b: Bundle):
    s = deep_target(b)
    rng = b.rng
    t = b.onset - rng.randint(1500, 2400)
    t = max(t, b.start + 300)
    v0, v1 = ver(rng), ver(rng)
    cid = b.change(
        s,
        t,
        "deploy",
        f"{s}: introduce in-memory response memoization",
        version=v1,
        previous_version=v0,
        author="ychen",
    )
    lim = 1024 * 2**20
    base = b.base[s]["mem"] = rng.uniform(300, 450) * 2**20
    period = rng.randint(420, 720)

    def saw(tt):
        if tt < t:
            return 0.0
        ph = ((tt - t) % period) / period
        return (lim - base) * ph

    b.add(s, "mem", saw)

    def restarts(tt):
        if tt < t:
            return 0.0
        return float(int((tt - t) // period))

    b.add(s, "restarts", restarts)
    k = 1
    while t + k * period < b.end:
        b.event(
            s,
            t + k * period,
            "OOMKilled",
            f"Container {s} exceeded its memory limit (1Gi) and was killed",
            count=k,
            exit_code=137,
            container=s,
            restart_count=k,
        )
        k += 1
    b.add(s, "err", step_fn(b.onset, 0.08))
    b.add(s, "lat", step_fn(b.onset, 0.3))
    b.propagate(s, b.onset, err=0.04, lat=0.2)
    b.burst(
        s,
        t + 60,
        b.end,
        "warn",
        ["GC overhead high: 38% time in GC", "heap usage {n}KB above soft limit"],
        rate=0.02,
    )
    b.truth = {"kind": "deploy", "service": s, "change_id": cid}
    finish(b, s, page_target(b, s), rng.choice(["err", "lat"]))


def sc_deploy_canary(b: Bundle):
    """canary with version label in metrics (vm flavor only has pods) -> own series per version"""
    s = deep_target(b)
    rng = b.rng
    t = b.onset - rng.randint(60, 180)
    v0, v1 = ver(rng), ver(rng)
    cid = b.change(
        s,
        t,
        "canary",
        f"{s}: canary {v1} at 25%",
        version=v1,
        previous_version=v0,
        author="argo-rollouts",
    )
    b.no_metrics.add(s)  # custom versioned series below
    ns = "prod"
    times = b.times()
    for vv, frac in ((v0, 0.75), (v1, 0.25)):
        for cls in ("success", "error"):
            acc = rng.uniform(1e5, 1e6)
            pts = []
            prev = None
            for tt in times:
                if vv == v1 and tt < t:
                    continue
                r = b.val(s, "rps", tt) * (frac if tt >= t else 1.0)
                e = b.base[s]["err"] if (vv == v0 or tt < b.onset) else rng.uniform(0.25, 0.35)
                if prev is not None:
                    acc += r * (e if cls == "error" else 1 - e) * (tt - prev)
                prev = tt
                pts.append([tt, f"{acc:.0f}"])
            b.put(
                "grpc_server_handled_total",
                {
                    "__name__": "grpc_server_handled_total",
                    "app": s,
                    "version": vv,
                    "namespace": ns,
                    "grpc_code": "OK" if cls == "success" else "Unavailable",
                    "grpc_service": f"acme.{s.replace('-', '')}.v1.Api",
                },
                pts,
            )
    b.propagate(s, b.onset, err=0.05)
    b.burst(
        s,
        b.onset,
        b.end,
        "error",
        [
            f"panic recovered in handler: runtime error: index out of range [3] with length 3 version={v1}"
        ],
        rate=0.05,
        version=v1,
    )
    b.truth = {"kind": "deploy", "service": s, "change_id": cid}
    finish(b, s, page_target(b, s), "err")


def sc_config_timeout(b: Bundle):
    """caller lowers its client timeout to a dependency: caller-side errors"""
    rng = b.rng
    s = deep_target(b)
    deps = [d for d in b.dep[s]] or [None]
    callee = rng.choice(deps)
    t = b.onset - rng.randint(30, 150)
    cid = b.change(
        s,
        t,
        rng.choice(["config", "configmap"]),
        f"{s}: {callee or 'upstream'} client timeout 2s -> 200ms (tune tail latency)",
        author="sre-gitops",
        url=f"https://git.internal/platform/config/commit/{rhex(rng, 10)}",
    )
    b.add(s, "err", step_fn(b.onset, rng.uniform(0.1, 0.3)))
    b.propagate(s, b.onset, err=0.06)
    b.burst(
        s,
        b.onset,
        b.end,
        "error",
        [
            f"context deadline exceeded calling {callee} after 200ms",
            f"DEADLINE_EXCEEDED: deadline exceeded after 0.199s rpc={callee}.Get",
        ],
        rate=0.25,
    )
    b.truth = {"kind": "config_change", "service": s, "change_id": cid}
    finish(b, s, page_target(b, s), "err")


def sc_config_retry_storm(b: Bundle):
    """caller's flag turns on aggressive retries; the dependency saturates"""
    rng = b.rng
    s = deep_target(b)
    ds = [
        d
        for d in b.dep[s]
        if b.kind[d] in ("mid", "postgres", "mysql", "mongodb", "elasticsearch", "cassandra", "ext")
    ]
    callee = rng.choice(ds) if ds else None
    t = b.onset - rng.randint(60, 200)
    cid = b.change(
        s,
        t,
        rng.choice(["flag", "feature_flag"]),
        f"enable `{s}.retry-on-5xx` (maxAttempts=5, no backoff)",
        author="feature-service",
    )
    if callee:
        b.mul(callee, "rps", step_fn(b.onset, 3.5))
        b.mul(callee, "cpu", step_fn(b.onset, 2.0))
        b.add(callee, "lat", step_fn(b.onset, 0.8))
        b.add(callee, "err", step_fn(b.onset + 60, 0.08))
        b.mul(callee, "conns", step_fn(b.onset, 2.5))
        if b.kind[callee] in ("edge", "mid", "worker", "ext"):
            b.burst(
                callee,
                b.onset + 30,
                b.end,
                "warn",
                [
                    "request queue full, shedding load",
                    "worker pool exhausted active=256 queued={n}",
                ],
                rate=0.15,
            )
    b.add(s, "lat", step_fn(b.onset, 1.2))
    b.add(s, "err", step_fn(b.onset + 60, 0.1))
    b.propagate(s, b.onset, err=0.05, lat=0.6)
    b.burst(
        s,
        b.onset,
        b.end,
        "warn",
        [f"retrying call to {callee} attempt=3/5", f"retrying call to {callee} attempt=5/5"],
        rate=0.4,
    )
    b.truth = {"kind": "config_change", "service": s, "change_id": cid}
    finish(b, s, page_target(b, s), rng.choice(["lat", "err"]), keep=[callee] if callee else ())


def sc_config_cache_ttl(b: Bundle):
    rng = b.rng
    caches = b.infra_of(("redis", "memcached"))
    dbs = b.infra_of(("postgres", "mysql", "mongodb", "cassandra"))
    users = [s for s in b.mid if any(c in b.dep[s] for c in caches)] if caches else []
    if not users:
        s = deep_target(b)
        cache = caches[0] if caches else None
    else:
        s = rng.choice(users)
        cache = [c for c in b.dep[s] if c in caches][0]
    t = b.onset - rng.randint(420, 900)
    cid = b.change(
        s,
        t,
        "config",
        f"{s}: cache TTL 3600s -> 5s for product data (debug leftover)",
        author="hmueller",
    )
    if cache:
        # old entries expire gradually after the change
        b.add(cache, "hit", ramp_fn(t, b.onset - t, -0.6))
        b.mul(cache, "rps", ramp_fn(t, b.onset - t, 0.5))
    for db in [d for d in b.dep[s] if d in dbs] or dbs[:1]:
        b.mul(db, "rps", ramp_fn(t, b.onset - t, 4.0))
        b.add(db, "lat", step_fn(b.onset, 0.4))
        b.mul(db, "conns", step_fn(b.onset, 1.8))
    b.add(s, "lat", step_fn(b.onset, 0.5))
    b.propagate(s, b.onset, lat=0.4, err=0.01)
    b.truth = {"kind": "config_change", "service": s, "change_id": cid}
    finish(b, s, page_target(b, s), "lat")


def sc_deploy_migration(b: Bundle):
    """owner of a shared DB ships a migration that locks a hot table; every DB user suffers"""
    rng = b.rng
    dbs = b.infra_of(("postgres", "mysql"))
    if not dbs:
        return sc_deploy_latency(b)
    db = rng.choice(dbs)
    users = b.callers(db)
    if not users:
        return sc_deploy_latency(b)
    owner = rng.choice(users)
    t = b.onset - rng.randint(20, 90)
    v0, v1 = ver(rng), ver(rng)
    cid = b.change(
        owner,
        t,
        "deploy",
        f"{owner}: release {v1} (includes migration 0{rng.randint(100, 999)}_add_not_null_column_to_orders)",
        version=v1,
        previous_version=v0,
        author="release-train",
    )
    b.add(db, "lat", step_fn(b.onset, 3.0, ramp=30))
    b.add(db, "conns", step_fn(b.onset, 120, ramp=120))
    b.burst(
        owner,
        t + 5,
        t + 40,
        "info",
        [
            "running migration 0421_add_not_null_column_to_orders",
            "ALTER TABLE orders ADD COLUMN fulfilment_state ... (this may take a while)",
        ],
        rate=0.1,
    )
    for u in users:
        b.add(u, "lat", step_fn(b.onset + 20, rng.uniform(1.0, 3.0)))
        b.add(u, "err", step_fn(b.onset + 60, rng.uniform(0.03, 0.1)))
        b.burst(
            u,
            b.onset,
            b.end,
            "error",
            [
                "canceling statement due to lock timeout",
                "Lock wait timeout exceeded; try restarting transaction",
                f"query on {db} took {{ms}}ms: SELECT ... FROM orders WHERE ...",
            ],
            rate=0.1,
        )
    b.propagate(db, b.onset, lat=1.0, err=0.03)
    b.truth = {"kind": "deploy", "service": owner, "change_id": cid}
    finish(b, owner, page_target(b, db), "lat", keep=users)


def sc_config_pool(b: Bundle):
    rng = b.rng
    s = deep_target(b)
    t = b.onset - rng.randint(40, 160)
    cid = b.change(
        s, t, "config", f"{s}: db.pool.maxSize 50 -> 5 (align with pgbouncer)", author="dba-team"
    )
    b.add(s, "lat", step_fn(b.onset, rng.uniform(0.8, 2.5)))
    b.add(s, "err", step_fn(b.onset + 60, 0.05))
    b.burst(
        s,
        b.onset,
        b.end,
        "error",
        [
            "HikariPool-1 - Connection is not available, request timed out after 30000ms.\n\tat com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:696)\n\tat com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:197)",
            "pool wait time {ms}ms exceeds 1000ms",
        ],
        rate=0.2,
    )
    b.propagate(s, b.onset, lat=0.8, err=0.03)
    b.truth = {"kind": "config_change", "service": s, "change_id": cid}
    finish(b, s, page_target(b, s), "lat")


def sc_cache_eviction_storm(b: Bundle):
    rng = b.rng
    caches = b.infra_of(("redis", "memcached"))
    if not caches:
        b.infra.append("redis-cache")
        b.services.append("redis-cache")
        b.kind["redis-cache"] = "redis"
        b.base["redis-cache"] = dict(b.base[b.mid[0]])
        b.base["redis-cache"].update(sat=0.5, evict=0.2, conns=40, hit=0.93, up=1.0, backlog=0)
        b.pods["redis-cache"] = ["redis-cache-0"]
        b.log_style["redis-cache"] = "plain"
        b.dep["redis-cache"] = []
        b.dep[b.mid[0]].append("redis-cache")
        caches = ["redis-cache"]
    c = rng.choice(caches)
    b.add(c, "sat", ramp_fn(b.onset - 900, 900, 0.99 - b.base[c]["sat"]))
    b.add(c, "evict", step_fn(b.onset, rng.uniform(800, 3000)))
    b.add(c, "hit", step_fn(b.onset, -0.5))
    b.add(c, "lat", step_fn(b.onset, 0.01))
    for u in b.callers(c):
        b.add(u, "lat", step_fn(b.onset, 0.4))
        for db in b.dep[u]:
            if b.kind[db] in ("postgres", "mysql", "mongodb", "cassandra"):
                b.mul(db, "rps", step_fn(b.onset, 2.5))
                b.add(db, "lat", step_fn(b.onset, 0.2))
    b.propagate(c, b.onset, lat=0.3, err=0.01)
    b.truth = {"kind": "resource_saturation", "service": c}
    finish(b, c, page_target(b, c), "lat")
    # innocent: a batch job deploy that raised key volume looks plausible but is on another service
    if rng.random() < 0.5:
        o = rng.choice(b.app_services())
        b.change(
            o,
            b.onset - 400,
            "deploy",
            f"{o}: nightly report tweaks",
            version=ver(rng),
            previous_version=ver(rng),
        )


def sc_queue_slow_consumer(b: Bundle):
    rng = b.rng
    qs = b.infra_of(("rabbitmq", "kafka", "nats"))
    if not qs or not b.workers:
        return sc_node_pressure(b)
    q = qs[0]
    w = [x for x in b.workers if q in b.dep[x]]
    w = w[0] if w else b.workers[0]
    if q not in b.dep[w]:
        b.dep[w].append(q)
    b.consumer = w
    b.base[w]["cpu"] = 0.5
    b.throttled.append(w)
    b.mul(w, "cpu", step_fn(b.onset - 300, 0.9))
    b.add(q, "backlog", ramp_fn(b.onset - 300, b.end - b.onset + 300, rng.uniform(2e4, 2e5)))
    b.mul(w, "rps", step_fn(b.onset - 300, -0.6))
    b.add(w, "lat", step_fn(b.onset - 300, 1.5))
    b.event(
        w,
        b.onset - 200,
        "CPUThrottling",
        f"Container {w} CPU throttled 87% of periods (limit 1 core)",
        count=14,
    )
    b.burst(
        w,
        b.onset - 300,
        b.end,
        "warn",
        ["batch processing slow: {ms}ms for 100 msgs", "consumer lag rising, prefetch=50"],
        rate=0.05,
    )
    # page: the queue backlog on the producer, plus a downstream staleness alert
    prods = [p for p in b.callers(q) if p != w] or [b.mid[0]]
    b.focus_svc = prods[0]
    b.page(
        prods[0],
        b.onset + 300,
        "backlog",
        summary=f"messages waiting on {q} for {prods[0]} older than 10m",
    )
    b.truth = {"kind": "resource_saturation", "service": w}
    b.innocent_changes(exclude=(w,))
    b.noise_alerts()
    hide_some(b, {w, q, prods[0]})


def sc_node_pressure(b: Bundle):
    rng = b.rng
    s = deep_target(b)
    node = f"ip-10-{rng.randint(0, 9)}-{rng.randint(0, 255)}-{rng.randint(1, 250)}.eu-west-1.compute.internal"
    b.event(
        s,
        b.onset - 120,
        "NodeHasMemoryPressure",
        f"Node {node} status is now: NodeHasMemoryPressure",
        typ="Warning",
        object=f"node/{node}",
        node=node,
    )
    for k, p in enumerate(b.pods[s]):
        b.event(
            s,
            b.onset + 30 * k,
            "Evicted",
            f"The node was low on resource: memory. Threshold quantity: 100Mi, available: 61Mi. Container {s} was using 812Mi, request is 256Mi.",
            pod=p,
            node=node,
        )
    b.event(
        s,
        b.onset + 120,
        "FailedScheduling",
        "0/12 nodes are available: 4 Insufficient memory, 8 node(s) had untolerated taint {dedicated: batch}.",
        count=6,
        node=node,
    )
    b.add(s, "err", pulse_fn(b.onset, b.onset + rng.randint(600, 1200), 0.35))
    b.add(s, "lat", step_fn(b.onset, 0.7))
    b.mul(s, "rps", step_fn(b.onset, -0.3))
    b.propagate(s, b.onset, err=0.08, lat=0.4)
    b.burst(
        s,
        b.onset,
        b.onset + 900,
        "error",
        ["received SIGTERM, draining connections", "shutdown: graceful drain timed out after 30s"],
        rate=0.03,
    )
    b.truth = {"kind": "resource_saturation", "service": s}
    finish(b, s, page_target(b, s), "err")


def sc_db_saturation(b: Bundle):
    rng = b.rng
    dbs = b.infra_of(("postgres", "mysql", "mongodb"))
    if not dbs:
        return sc_node_pressure(b)
    db = rng.choice(dbs)
    b.add(
        db,
        "conns",
        step_fn(
            b.onset - 60,
            200 - b.base[db]["conns"] if b.kind[db] == "postgres" else 300 - b.base[db]["conns"],
            ramp=400,
        ),
    )
    b.add(db, "lat", step_fn(b.onset, 1.5))
    for u in b.callers(db):
        b.add(u, "err", step_fn(b.onset + 30, 0.12))
        b.burst(
            u,
            b.onset,
            b.end,
            "error",
            [
                f"FATAL: remaining connection slots are reserved for non-replication superuser connections ({db})",
                f"sorry, too many clients already host={db}",
                f"Too many connections (errno 1040) host={db}",
            ],
            rate=0.12,
        )
    b.propagate(db, b.onset, err=0.08, lat=0.5)
    b.truth = {"kind": "resource_saturation", "service": db}
    finish(b, db, page_target(b, db), "err")


def sc_dependency_outage(b: Bundle):
    rng = b.rng
    cands = b.ext + b.infra_of(("elasticsearch", "rabbitmq", "mongodb", "redis"))
    if not cands:
        cands = b.infra
    d = rng.choice(cands)
    b.mul(d, "up", step_fn(b.onset, -1.0, ramp=0))
    b.mul(d, "rps", step_fn(b.onset, -0.95, ramp=30))
    b.add(d, "err", step_fn(b.onset, 0.9, ramp=30))
    if b.kind[d] == "ext" and rng.random() < 0.5:
        b.no_metrics.add(d)
    if b.kind[d] == "ext":
        b.burst(
            d,
            b.onset,
            b.end,
            "error",
            [
                "upstream vendor endpoint returned 503 Service Unavailable",
                "TLS handshake with vendor ok, HTTP 503 from api.vendor.example",
            ],
            rate=0.2,
        )
    for u in b.callers(d):
        b.add(u, "err", step_fn(b.onset + 20, 0.3))
        b.burst(
            u,
            b.onset,
            b.end,
            "error",
            [
                f"dial tcp {d}:443: connect: connection refused",
                f"{d} unavailable: circuit breaker OPEN",
                f"io.grpc.StatusRuntimeException: UNAVAILABLE: io exception ({d})\n\tat io.grpc.stub.ClientCalls.toStatusRuntimeException(ClientCalls.java:262)",
            ],
            rate=0.25,
        )
    b.propagate(d, b.onset, err=0.2)
    b.no_logs.add(d)
    b.truth = {"kind": "dependency_failure", "service": d}
    finish(b, d, page_target(b, d), "err")
    if rng.random() < 0.6:
        b.traces(bad_svc=d, t_from=b.onset, err=True, n=50)


def sc_traffic_surge(b: Bundle):
    rng = b.rng
    e = rng.choice(b.edge)
    mag = rng.uniform(2.5, 6.0)
    b.mul(e, "rps", step_fn(b.onset - 120, mag, ramp=300))
    b.mul(e, "cpu", step_fn(b.onset - 120, mag * 0.6, ramp=300))
    b.add(e, "lat", step_fn(b.onset, 0.6))
    b.add(e, "err", step_fn(b.onset + 60, 0.04))
    for m, dd in b.upstream_paths(e).items():
        pass
    # downstream load too
    for m in b.dep[e]:
        b.mul(m, "rps", step_fn(b.onset - 60, mag * 0.7, ramp=300))
        b.mul(m, "cpu", step_fn(b.onset - 60, mag * 0.5, ramp=300))
        b.add(m, "lat", step_fn(b.onset, 0.3))
    b.burst(
        e,
        b.onset - 60,
        b.end,
        "warn",
        [
            "rate limit exceeded for client_id=partner-{n} (429)",
            "request from user-agent python-requests/2.31 path=/search?q={h}",
        ],
        rate=0.3,
    )
    b.truth = {"kind": "traffic_surge", "service": e}
    # innocent HPA scale change right after
    b.change(
        e,
        b.onset + 240,
        rng.choice(["scale", "hpa"]),
        f"{e}: HPA scaled 6 -> 12 replicas",
        author="horizontal-pod-autoscaler",
    )
    b.focus_svc = e
    b.page(e, b.onset + rng.randint(120, 300), rng.choice(["lat", "err"]))
    b.innocent_changes(exclude=(e,))
    b.noise_alerts()
    hide_some(b, {e})


def sc_crash_loop(b: Bundle):
    rng = b.rng
    s = deep_target(b)
    reason = rng.choice(["panic", "oom"])
    k = 0
    t = b.onset - 60
    gap = 30
    while t < b.end:
        k += 1
        if reason == "oom":
            b.event(
                s,
                t,
                "OOMKilled",
                f"Container {s} exceeded its memory limit (512Mi)",
                count=k,
                exit_code=137,
                container=s,
                restart_count=k,
            )
        b.event(
            s,
            t + 5,
            "BackOff",
            "Back-off restarting failed container",
            count=k,
            container=s,
            restart_count=k,
            first_timestamp=iso(b.onset - 60),
        )
        t += gap
        gap = min(300, gap * 2)
    b.add(
        s,
        "restarts",
        lambda tt: float(
            sum(
                1
                for e in b.events
                if e["service"] == s and e["reason"] == "BackOff" and e["ts"] <= iso(tt)
            )
        ),
    )
    b.add(s, "err", step_fn(b.onset, 0.5, ramp=30))
    b.mul(s, "rps", step_fn(b.onset, -0.7, ramp=30))
    if reason == "panic":
        b.burst(
            s,
            b.onset - 60,
            b.end,
            "fatal",
            [
                "panic: assignment to entry in nil map\n\ngoroutine 1 [running]:\nmain.(*Router).register(...)\n\t/src/router.go:77 +0x1a4\nmain.main()\n\t/src/main.go:41 +0x2c5",
                "FATAL: poison message on partition 7 offset {n}: unexpected field type, aborting",
            ],
            rate=0.03,
        )
    b.propagate(s, b.onset, err=0.15)
    b.truth = {"kind": "crash_loop", "service": s}
    finish(b, s, page_target(b, s), "err")
    if rng.random() < 0.5:
        b.traces(bad_svc=s, t_from=b.onset, err=True, n=40)


def sc_cert_expiry(b: Bundle):
    rng = b.rng
    s = deep_target(b, kinds=("mid", "ext"))
    exp = b.onset
    b.no_metrics.discard(s)
    lab = {"instance": f"https://{s}.internal:8443", "job": "blackbox-tls", "service": s}
    b.gauge(
        "probe_ssl_earliest_cert_expiry",
        {"__name__": "probe_ssl_earliest_cert_expiry", **lab},
        s,
        "up",
        fn=lambda t: exp,
        gaps=False,
        fmt="{:.0f}",
    )
    b.gauge(
        "probe_success",
        {"__name__": "probe_success", **lab},
        s,
        "up",
        fn=lambda t: 1.0 if t < exp else 0.0,
        gaps=False,
        fmt="{:.0f}",
    )
    b.add(s, "err", step_fn(exp, 0.02))
    for u in b.callers(s):
        b.add(u, "err", step_fn(exp + 10, 0.4, ramp=20))
        b.burst(
            u,
            exp,
            b.end,
            "error",
            [
                f"x509: certificate has expired or is not yet valid: current time {iso(exp + 100)} is after {iso(exp)}",
                f"javax.net.ssl.SSLHandshakeException: PKIX path validation failed: java.security.cert.CertificateExpiredException: NotAfter: {iso(exp)}\n\tat sun.security.ssl.Alert.createSSLException(Alert.java:131)",
                f"tls: failed to verify certificate for {s}.internal",
            ],
            rate=0.3,
        )
    b.propagate(s, exp, err=0.15)
    b.truth = {"kind": "certificate_expiry", "service": s}
    finish(b, s, page_target(b, s), "err")
    b.alert(
        "SSLCertExpiringSoon",
        s,
        exp - 6 * 86400,
        f"TLS certificate for {s}.internal expires in less than 7 days",
        severity="warning",
        state="suppressed" if rng.random() < 0.5 else "active",
    )


def sc_network_dns(b: Bundle):
    rng = b.rng
    s = deep_target(b)
    mode = rng.choice(["dns", "loss"])
    b.add(s, "lat", step_fn(b.onset, 0.4))
    if mode == "dns":
        for u in b.callers(s):
            b.add(u, "err", step_fn(b.onset, 0.25))
            b.burst(
                u,
                b.onset,
                b.end,
                "error",
                [
                    f"dial tcp: lookup {s}.prod.svc.cluster.local on 10.96.0.10:53: no such host",
                    f"getaddrinfo EAI_AGAIN {s}.prod.svc.cluster.local",
                    f"java.net.UnknownHostException: {s}.prod.svc.cluster.local: Temporary failure in name resolution",
                ],
                rate=0.25,
            )
        b.put(
            "coredns_responses",
            {
                "__name__": "coredns_dns_responses_total",
                "job": "coredns",
                "rcode": "SERVFAIL",
                "server": "dns://:53",
                "zone": ".",
            },
            [[t, f"{(1200 + max(0, t - b.onset) * 40):.0f}"] for t in b.times()],
        )
        summary_s = f"NetworkPolicy for {s}: restrict egress to namespace monitoring"
    else:
        for u in b.callers(s):
            b.add(u, "lat", step_fn(b.onset, 1.2))
            b.add(u, "err", step_fn(b.onset, 0.06))
            b.burst(
                u,
                b.onset,
                b.end,
                "warn",
                [
                    f"read tcp 10.4.3.21:48122->{s}:8080: i/o timeout",
                    f"connection to {s} timed out, retransmits=5",
                ],
                rate=0.2,
            )
        b.put(
            "node_netstat_TcpExt_TCPRetrans",
            {
                "__name__": "node_netstat_Tcp_RetransSegs",
                "instance": "10.4.7.19:9100",
                "job": "node-exporter",
                "node": "ip-10-4-7-19",
            },
            [
                [t, f"{(5e6 + (t - b.start) * 30 + max(0, t - b.onset) * 2500):.0f}"]
                for t in b.times()
            ],
        )
        summary_s = None
    b.propagate(s, b.onset, err=0.08, lat=0.3)
    b.truth = {"kind": "network", "service": s}
    finish(b, s, page_target(b, s), "err")
    if rng.random() < 0.5:
        b.traces(
            bad_svc=s,
            t_from=b.onset,
            unreachable=(mode == "dns"),
            net_ms=0 if mode == "dns" else 1500,
            n=40,
        )
    if summary_s and rng.random() < 0.5:
        # an infra change that is NOT the cause? No: record it as infra without change_id in truth (network fault on that service)
        b.change(
            "platform",
            b.onset - 3000,
            "infra",
            "terraform: rotate NAT gateway EIPs in eu-west-1b",
            author="atlantis",
        )


def sc_noise(b: Bundle):
    rng = b.rng
    variant = rng.choice(["flap", "drift", "scrape"])
    e = rng.choice(b.edge)
    if variant == "flap":
        # short 2-minute blip, already over
        b.add(e, "lat", pulse_fn(b.onset, b.onset + 90, 0.25, ramp=30))
        b.page(e, b.onset + 60, "lat")
    elif variant == "drift":
        b.mul(e, "rps", ramp_fn(b.start, b.end - b.start, 0.3))
        b.add(e, "lat", ramp_fn(b.start, b.end - b.start, 0.05))
        b.page(
            e, b.onset, "lat", summary=f"{e} p99 latency above 300ms (threshold tuned last week)"
        )
    else:
        b.page(
            e,
            b.onset,
            "avail",
            summary=f"{e} blackbox probe intermittently failing from one region",
        )
        b.notes = ["prometheus-replica-b: query timeout for 3 of 40 queries, retried"]
    b.focus_svc = e
    b.innocent_changes(n=rng.randint(1, 3))
    b.noise_alerts(n=rng.randint(1, 3))
    b.noise_events()
    for _ in range(2):
        s = rng.choice(b.app_services())
        b.event(
            s,
            rng.uniform(b.start, b.end),
            "BackOff",
            "Back-off restarting failed container",
            count=1,
            container="log-shipper",
        )
    hide_some(b, {e})
    b.truth = {"kind": "unknown", "service": e}


SCENARIOS = [
    ("deploy-errors", sc_deploy_errors, 3),
    ("deploy-latency", sc_deploy_latency, 2),
    ("deploy-memleak", sc_deploy_memleak, 2),
    ("deploy-canary", sc_deploy_canary, 1),
    ("deploy-migration", sc_deploy_migration, 1),
    ("config-timeout", sc_config_timeout, 2),
    ("config-retry-storm", sc_config_retry_storm, 2),
    ("config-cache-ttl", sc_config_cache_ttl, 1),
    ("config-pool", sc_config_pool, 1),
    ("cache-eviction", sc_cache_eviction_storm, 1),
    ("queue-slow-consumer", sc_queue_slow_consumer, 2),
    ("node-pressure", sc_node_pressure, 1),
    ("db-saturation", sc_db_saturation, 1),
    ("dependency-outage", sc_dependency_outage, 3),
    ("traffic-surge", sc_traffic_surge, 2),
    ("crash-loop", sc_crash_loop, 2),
    ("cert-expiry", sc_cert_expiry, 2),
    ("network", sc_network_dns, 2),
    ("noise", sc_noise, 3),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    idx = 0
    for name, fn, n in SCENARIOS:
        for k in range(n):
            idx += 1
            rng = random.Random(a.seed * 100003 + idx)
            bid = f"b4-{idx:02d}-{name}"
            nsvc = (5, 18) if rng.random() < 0.5 else (7, 13)
            b = Bundle(rng, bid, f"{name} #{k + 1}", n_services=nsvc)
            if name in ("queue-slow-consumer",) and not b.infra_of(("rabbitmq", "kafka", "nats")):
                # re-roll with a queue in the topology
                for extra in range(20):
                    rng2 = random.Random(a.seed * 100003 + idx + 7919 * (extra + 1))
                    b = Bundle(rng2, bid, f"{name} #{k + 1}", n_services=(9, 16))
                    if b.infra_of(("rabbitmq", "kafka", "nats")) and b.workers:
                        break
            fn(b)
            b.write(a.out)
            t = b.truth
            print(
                f"{bid:34s} {b.flavor:9s} svcs={len(b.services):2d} step={b.step:2d}s win={b.window_min}m truth={t['kind']}/{t['service']}"
                + (f" {t['change_id']}" if t.get("change_id") else "")
            )


if __name__ == "__main__":
    main()
