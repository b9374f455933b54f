#!/usr/bin/env python3
"""Synthetic incident bundles for "boxoffice", a ticketing platform on Kubernetes.

    python3 scripts/gen_mesh.py --out DIR [--seed 1]

Writes DIR/mesh-01 .. DIR/mesh-40 in incident bundle v1 (docs/bundle-format.md) and
DIR/MANIFEST.yaml with each bundle's truth.  The system: an NGINX ingress controller,
a Linkerd mesh, Go / Rust / Python (Django, Celery) services, MySQL, RabbitMQ,
Memcached, an egress proxy towards an external payment provider (paynexa) and an
external SMS/e-mail provider (textwave), and a worker/batch tier.  Every series is
shaped like the exporter that would have produced it (linkerd-proxy, ingress-nginx,
cAdvisor, kube-state-metrics, node_exporter, mysqld_exporter, the rabbitmq_prometheus
plugin, memcached_exporter, blackbox_exporter, cert-manager, x509-certificate-exporter,
celery-exporter, django-prometheus, sqlstats) and follows a simulated request flow:
rates flow top-down through the call graph, latency and errors bottom-up.

Written blind to the triage engine.  Standard library + PyYAML; the output is a pure
function of the seed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import quote

import yaml

NS = "boxoffice"
N_BUNDLES = 40
PROM_URL = "http://kube-prometheus-stack-prometheus.monitoring:9090"
CLUSTER = "gke_boxoffice-prod_europe-west1_prod-1"
LINKERD_BUCKETS = [
    1,
    2,
    3,
    4,
    5,
    10,
    20,
    30,
    40,
    50,
    100,
    200,
    300,
    400,
    500,
    1000,
    2000,
    3000,
    4000,
    5000,
    10000,
    20000,
    30000,
    40000,
    50000,
]
PROM_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
DJANGO_BUCKETS = [
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
    25.0,
    50.0,
    75.0,
]
HASH_ALPHA = "bcdfghjklmnpqrstvwxz2456789"
MIB = 1024 * 1024

# ---------------------------------------------------------------------------------------
# The platform
# ---------------------------------------------------------------------------------------

# kind: ingress | http | worker | store | external.  rt: the runtime / log style.
SERVICES: dict[str, dict] = {
    "ingress-nginx-controller": {
        "kind": "ingress",
        "rt": "nginx",
        "ns": "ingress-nginx",
        "rep": (2, 3),
        "p50": 1.1,
        "p99": 7.0,
        "cpu_idle": 0.03,
        "cpu_per": 0.00030,
        "cpu_lim": 2.0,
        "mem": 230,
        "mem_lim": 1024,
        "image": "registry.k8s.io/ingress-nginx/controller",
        "ver": "v1.11.3",
    },
    "storefront": {
        "kind": "http",
        "rt": "django",
        "rep": (3, 5),
        "p50": 34.0,
        "p99": 190.0,
        "cpu_idle": 0.02,
        "cpu_per": 0.0055,
        "cpu_lim": 1.0,
        "mem": 410,
        "mem_lim": 1024,
        "port": 8000,
        "workers": 4,
        "dep_code": 500,
        "image": "europe-docker.pkg.dev/boxoffice-prod/apps/storefront",
        "ver": "2025.{m}.{p}",
    },
    "mobile-bff": {
        "kind": "http",
        "rt": "zap",
        "rep": (3, 5),
        "p50": 7.0,
        "p99": 38.0,
        "cpu_idle": 0.01,
        "cpu_per": 0.0021,
        "cpu_lim": 1.0,
        "mem": 88,
        "mem_lim": 256,
        "port": 8080,
        "dep_code": 502,
        "image": "europe-docker.pkg.dev/boxoffice-prod/apps/mobile-bff",
        "ver": "v3.{m}.{p}",
    },
    "accounts": {
        "kind": "http",
        "rt": "django",
        "rep": (2, 4),
        "p50": 16.0,
        "p99": 120.0,
        "cpu_idle": 0.02,
        "cpu_per": 0.0075,
        "cpu_lim": 0.5,
        "mem": 290,
        "mem_lim": 768,
        "port": 8000,
        "workers": 3,
        "dep_code": 500,
        "image": "europe-docker.pkg.dev/boxoffice-prod/apps/accounts",
        "ver": "2025.{m}.{p}",
    },
    "event-catalog": {
        "kind": "http",
        "rt": "rust",
        "rep": (3, 5),
        "p50": 2.6,
        "p99": 19.0,
        "cpu_idle": 0.005,
        "cpu_per": 0.0012,
        "cpu_lim": 0.5,
        "mem": 54,
        "mem_lim": 256,
        "port": 8080,
        "dep_code": 503,
        "image": "europe-docker.pkg.dev/boxoffice-prod/apps/event-catalog",
        "ver": "1.{m}.{p}",
    },
    "seatmap": {
        "kind": "http",
        "rt": "rust",
        "rep": (3, 5),
        "p50": 4.5,
        "p99": 31.0,
        "cpu_idle": 0.005,
        "cpu_per": 0.0020,
        "cpu_lim": 0.5,
        "mem": 71,
        "mem_lim": 256,
        "port": 8080,
        "dep_code": 503,
        "image": "europe-docker.pkg.dev/boxoffice-prod/apps/seatmap",
        "ver": "1.{m}.{p}",
    },
    "pricing": {
        "kind": "http",
        "rt": "rust",
        "rep": (2, 4),
        "p50": 1.8,
        "p99": 12.0,
        "cpu_idle": 0.004,
        "cpu_per": 0.0009,
        "cpu_lim": 0.5,
        "mem": 40,
        "mem_lim": 128,
        "port": 8080,
        "dep_code": 503,
        "image": "europe-docker.pkg.dev/boxoffice-prod/apps/pricing",
        "ver": "0.{m}.{p}",
    },
    "holds": {
        "kind": "http",
        "rt": "logrus",
        "rep": (2, 4),
        "p50": 5.0,
        "p99": 44.0,
        "cpu_idle": 0.01,
        "cpu_per": 0.0030,
        "cpu_lim": 0.5,
        "mem": 70,
        "mem_lim": 256,
        "port": 8080,
        "dep_code": 503,
        "pool": 40,
        "image": "europe-docker.pkg.dev/boxoffice-prod/apps/holds",
        "ver": "v1.{m}.{p}",
    },
    "orders": {
        "kind": "http",
        "rt": "zap",
        "rep": (3, 4),
        "p50": 24.0,
        "p99": 210.0,
        "cpu_idle": 0.01,
        "cpu_per": 0.030,
        "cpu_lim": 1.0,
        "mem": 110,
        "mem_lim": 512,
        "port": 8080,
        "dep_code": 502,
        "pool": 30,
        "image": "europe-docker.pkg.dev/boxoffice-prod/apps/orders",
        "ver": "v2.{m}.{p}",
    },
    "payment-gateway": {
        "kind": "http",
        "rt": "zap",
        "rep": (2, 3),
        "p50": 4.0,
        "p99": 30.0,
        "cpu_idle": 0.01,
        "cpu_per": 0.012,
        "cpu_lim": 0.5,
        "mem": 64,
        "mem_lim": 256,
        "port": 8080,
        "dep_code": 502,
        "pool": 20,
        "image": "europe-docker.pkg.dev/boxoffice-prod/apps/payment-gateway",
        "ver": "v1.{m}.{p}",
    },
    "egress-proxy": {
        "kind": "http",
        "rt": "nginx",
        "rep": (2, 2),
        "p50": 0.6,
        "p99": 3.0,
        "cpu_idle": 0.01,
        "cpu_per": 0.0008,
        "cpu_lim": 0.5,
        "mem": 40,
        "mem_lim": 128,
        "port": 8080,
        "dep_code": 502,
        "image": "nginxinc/nginx-unprivileged",
        "ver": "1.27.{p}-alpine",
    },
    "ticket-issuer": {
        "kind": "worker",
        "rt": "celery",
        "rep": (2, 4),
        "task_ms": 320.0,
        "conc": 4,
        "cpu_idle": 0.02,
        "cpu_per": 0.18,
        "cpu_lim": 1.0,
        "mem": 520,
        "mem_lim": 1024,
        "image": "europe-docker.pkg.dev/boxoffice-prod/apps/ticket-issuer",
        "ver": "2025.{m}.{p}",
    },
    "notifier": {
        "kind": "worker",
        "rt": "celery",
        "rep": (2, 3),
        "task_ms": 25.0,
        "conc": 8,
        "cpu_idle": 0.01,
        "cpu_per": 0.02,
        "cpu_lim": 0.5,
        "mem": 180,
        "mem_lim": 512,
        "image": "europe-docker.pkg.dev/boxoffice-prod/apps/notifier",
        "ver": "2025.{m}.{p}",
    },
    "search-indexer": {
        "kind": "worker",
        "rt": "celery",
        "rep": (1, 2),
        "task_ms": 900.0,
        "conc": 2,
        "cpu_idle": 0.01,
        "cpu_per": 0.35,
        "cpu_lim": 1.0,
        "mem": 350,
        "mem_lim": 1024,
        "image": "europe-docker.pkg.dev/boxoffice-prod/apps/search-indexer",
        "ver": "2025.{m}.{p}",
    },
    "mysql": {
        "kind": "store",
        "rt": "mysql",
        "rep": (2, 2),
        "p50": 0.9,
        "p99": 14.0,
        "cap": 7000.0,
        "cpu_idle": 0.2,
        "cpu_per": 0.00022,
        "cpu_lim": 4.0,
        "mem": 5200,
        "mem_lim": 8192,
        "image": "mysql",
        "ver": "8.0.39",
    },
    "rabbitmq": {
        "kind": "store",
        "rt": "rabbitmq",
        "rep": (3, 3),
        "p50": 1.3,
        "p99": 9.0,
        "cpu_idle": 0.08,
        "cpu_per": 0.002,
        "cpu_lim": 1.0,
        "mem": 420,
        "mem_lim": 2048,
        "image": "bitnami/rabbitmq",
        "ver": "3.13.7-debian-12-r2",
    },
    "memcached": {
        "kind": "store",
        "rt": "memcached",
        "rep": (3, 3),
        "p50": 0.25,
        "p99": 1.6,
        "cpu_idle": 0.01,
        "cpu_per": 0.00004,
        "cpu_lim": 0.5,
        "mem": 900,
        "mem_lim": 1536,
        "image": "memcached",
        "ver": "1.6.29-alpine",
    },
    "paynexa": {
        "kind": "external",
        "p50": 210.0,
        "p99": 1300.0,
        "url": "https://api.paynexa.com",
        "host": "api.paynexa.com",
    },
    "textwave": {
        "kind": "external",
        "p50": 140.0,
        "p99": 650.0,
        "url": "https://api.textwave.io",
        "host": "api.textwave.io",
    },
}

# caller -> callee: fanout (calls per request), error propagation, timeout (ms), latency weight
EDGES = [
    ("storefront", "event-catalog", 1.4, 0.85, 2000, 0.9),
    ("storefront", "seatmap", 0.35, 0.9, 2000, 0.35),
    ("storefront", "pricing", 0.5, 0.5, 1000, 0.4),
    ("storefront", "accounts", 0.3, 0.6, 3000, 0.3),
    ("storefront", "holds", 0.2, 0.9, 5000, 0.2),
    ("storefront", "orders", 0.01, 0.95, 30000, 0.01),
    ("storefront", "memcached", 2.5, 0.02, 500, 0.3),
    ("mobile-bff", "event-catalog", 1.0, 0.85, 1500, 0.8),
    ("mobile-bff", "seatmap", 0.5, 0.9, 1500, 0.5),
    ("mobile-bff", "pricing", 0.6, 0.7, 800, 0.5),
    ("mobile-bff", "accounts", 0.25, 0.6, 3000, 0.25),
    ("mobile-bff", "holds", 0.25, 0.9, 5000, 0.25),
    ("mobile-bff", "orders", 0.03, 0.95, 30000, 0.03),
    ("accounts", "mysql", 1.2, 0.95, 5000, 1.0),
    ("accounts", "memcached", 1.0, 0.02, 500, 0.5),
    ("event-catalog", "memcached", 1.6, 0.02, 100, 0.6),
    ("event-catalog", "mysql", 0.25, 0.95, 3000, 0.3),
    ("seatmap", "memcached", 2.0, 0.02, 100, 0.8),
    ("seatmap", "mysql", 0.4, 0.95, 3000, 0.4),
    ("pricing", "memcached", 1.0, 0.02, 50, 0.8),
    ("pricing", "mysql", 0.05, 0.9, 2000, 0.05),
    ("holds", "mysql", 2.5, 0.98, 3000, 1.5),
    ("holds", "memcached", 0.4, 0.02, 100, 0.2),
    ("orders", "holds", 1.0, 0.95, 5000, 1.0),
    ("orders", "payment-gateway", 0.9, 0.97, 20000, 0.9),
    ("orders", "mysql", 4.0, 0.98, 3000, 2.0),
    ("orders", "rabbitmq", 1.0, 0.9, 5000, 0.5),
    ("payment-gateway", "egress-proxy", 1.0, 0.98, 15000, 1.0),
    ("payment-gateway", "mysql", 1.5, 0.95, 3000, 1.0),
    ("egress-proxy", "paynexa", 1.0, 1.0, 30000, 1.0),
    ("egress-proxy", "textwave", 1.0, 1.0, 30000, 1.0),
    ("ticket-issuer", "mysql", 3.0, 0.95, 5000, 2.0),
    ("ticket-issuer", "rabbitmq", 1.35, 0.9, 5000, 0.5),
    ("notifier", "egress-proxy", 1.0, 0.98, 10000, 1.0),
    ("notifier", "mysql", 0.5, 0.9, 3000, 0.5),
    ("search-indexer", "mysql", 25.0, 0.9, 30000, 3.0),
]
OUT: dict[str, list] = {}
IN: dict[str, list] = {}
for _a, _b, _f, _p, _t, _w in EDGES:
    OUT.setdefault(_a, []).append((_b, _f, _p, _t, _w))
    IN.setdefault(_b, []).append(_a)
VIA = {"payment-gateway": "paynexa", "notifier": "textwave"}
# relative cost of one query from each client (reporting joins, PDF data, bulk reads)
MYSQL_COST = {"search-indexer": 5.0, "ticket-issuer": 4.0, "event-catalog": 1.5, "orders": 1.2}
# time a request holds a pooled connection beyond its queries (transactions, row locks)
TX_MS = {"holds": 60.0, "orders": 45.0, "payment-gateway": 15.0}
TOPO = [
    "ingress-nginx-controller",
    "storefront",
    "mobile-bff",
    "orders",
    "payment-gateway",
    "ticket-issuer",
    "notifier",
    "search-indexer",
    "egress-proxy",
    "accounts",
    "event-catalog",
    "seatmap",
    "pricing",
    "holds",
    "mysql",
    "rabbitmq",
    "memcached",
    "paynexa",
    "textwave",
]
HIT_BASE = {
    "storefront": 0.93,
    "accounts": 0.88,
    "event-catalog": 0.95,
    "seatmap": 0.82,
    "pricing": 0.9,
    "holds": 0.7,
}
MESHED_HTTP = [
    "storefront",
    "mobile-bff",
    "accounts",
    "event-catalog",
    "seatmap",
    "pricing",
    "holds",
    "orders",
    "payment-gateway",
    "egress-proxy",
]

# ingress objects: name -> backend service, host, share of edge traffic, example paths
ROUTES = {
    "storefront": (
        "storefront",
        "tickets.boxoffice.example",
        0.575,
        ["/", "/events/{id}/", "/events/{id}/seats/", "/search/", "/static/app.js"],
    ),
    "checkout": (
        "orders",
        "tickets.boxoffice.example",
        0.011,
        ["/api/checkout/orders", "/api/checkout/orders/{id}"],
    ),
    "mobile-api": (
        "mobile-bff",
        "api.boxoffice.example",
        0.364,
        [
            "/v2/events",
            "/v2/events/{id}",
            "/v2/events/{id}/availability",
            "/v2/me/tickets",
            "/v2/prices/{id}",
        ],
    ),
    "accounts": (
        "accounts",
        "login.boxoffice.example",
        0.05,
        ["/login/", "/oauth/token/", "/api/v1/me"],
    ),
}
TLS_SECRET = {
    "tickets.boxoffice.example": "tickets-boxoffice-tls",
    "api.boxoffice.example": "api-boxoffice-tls",
    "login.boxoffice.example": "login-boxoffice-tls",
}

QUEUES = {
    "orders.placed": {"consumer": "ticket-issuer", "task": "tickets.tasks.issue_tickets"},
    "tickets.reissue": {"consumer": "ticket-issuer", "task": "tickets.tasks.reissue_tickets"},
    "notify.email": {"consumer": "notifier", "task": "notifier.tasks.send_email"},
    "notify.sms": {"consumer": "notifier", "task": "notifier.tasks.send_sms"},
    "search.reindex": {"consumer": "search-indexer", "task": "search.tasks.reindex_event"},
}
QUEUE_LEADER = {
    "orders.placed": 0,
    "tickets.reissue": 1,
    "notify.email": 1,
    "notify.sms": 2,
    "search.reindex": 2,
}

PATHS = {
    "storefront": ["/events/{id}/", "/events/{id}/seats/", "/search/", "/", "/basket/"],
    "mobile-bff": [
        "/v2/events",
        "/v2/events/{id}",
        "/v2/events/{id}/availability",
        "/v2/prices/{id}",
        "/v2/me/tickets",
    ],
    "accounts": ["/api/v1/me", "/oauth/token/", "/login/", "/api/v1/sessions/verify"],
    "event-catalog": ["/v1/events/{id}", "/v1/events", "/v1/venues/{id}", "/v1/events/{id}/lineup"],
    "seatmap": ["/v1/seatmap/{id}", "/v1/seatmap/{id}/sections", "/v1/availability/{id}"],
    "pricing": ["/v1/quote", "/v1/price-levels/{id}"],
    "holds": ["/v1/holds", "/v1/holds/{id}", "/v1/holds/{id}/confirm"],
    "orders": ["/api/checkout/orders", "/api/checkout/orders/{id}", "/internal/orders"],
    "payment-gateway": ["/v1/charges", "/v1/charges/{id}/capture", "/v1/refunds"],
    "egress-proxy": ["/v2/charges", "/v1/messages", "/v2/charges/{id}/capture"],
}
DB_TABLES = [
    "events",
    "seats",
    "seat_holds",
    "orders",
    "order_lines",
    "payments",
    "users",
    "price_levels",
    "tickets",
    "venues",
]


# ---------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------


def iso(t: float, frac: int = 3) -> str:
    dt = datetime.fromtimestamp(round(t, 6), tz=UTC)
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if frac == 0:
        return base + "Z"
    return base + "." + f"{dt.microsecond:06d}"[:frac] + "Z"


def fv(x) -> str:
    """A sample value as Prometheus writes it (shortest round-trip, fixed notation)."""
    if isinstance(x, str):
        return x
    if x != x:
        return "NaN"
    if x == math.inf:
        return "+Inf"
    if x == -math.inf:
        return "-Inf"
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    s = repr(float(x))
    if "e" in s or "E" in s:
        s = format(Decimal(s), "f")
    return s


def fingerprint(labels: dict) -> str:
    """Alertmanager's fingerprint: FNV-1a 64 over sorted name/value pairs."""
    h = 0xCBF29CE484222325
    for k in sorted(labels):
        for b in k.encode() + b"\xff" + str(labels[k]).encode() + b"\xff":
            h ^= b
            h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def clip(x, lo=0.0, hi=1.0):
    return lo if x < lo else hi if x > hi else x


def phi(z):
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def lognorm_sigma(p50, p99):
    return max(0.05, math.log(max(p99, p50 * 1.02) / p50) / 2.326)


def tail_frac(p50, p99, limit):
    """P(latency > limit) for a log-normal with this median and p99."""
    if p50 <= 0 or limit <= 0:
        return 0.0
    sig = lognorm_sigma(p50, p99)
    return 1.0 - phi((math.log(limit) - math.log(p50)) / sig)


def hist_quantile(q, comps, bounds):
    """histogram_quantile over a mixture of log-normals [(weight, p50, p99)], the way
    Prometheus interpolates inside the bucket; NaN without observations."""
    comps = [(w, m, p) for w, m, p in comps if w > 0 and m > 0 and m == m and p == p]
    total = sum(w for w, _, _ in comps)
    if total <= 0:
        return float("nan")
    rank = q * total
    prev_b, prev_c = 0.0, 0.0
    for b in bounds:
        c = 0.0
        for w, m, p in comps:
            if w > 0:
                c += w * phi((math.log(b) - math.log(m)) / lognorm_sigma(m, p))
        if c >= rank:
            if c - prev_c <= 0:
                return b
            return prev_b + (b - prev_b) * (rank - prev_c) / (c - prev_c)
        prev_b, prev_c = b, c
    return bounds[-1]  # the +Inf bucket: the upper bound of the highest finite bucket


class Rng(random.Random):
    def poisson(self, lam):
        if lam <= 0:
            return 0
        if lam > 40:
            return max(0, int(round(self.gauss(lam, math.sqrt(lam)))))
        el, k, p = math.exp(-lam), 0, 1.0
        while True:
            p *= self.random()
            if p <= el:
                return k
            k += 1

    def hexid(self, n):
        return "".join(self.choice("0123456789abcdef") for _ in range(n))

    def uuid(self):
        h = self.hexid(32)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:]}"

    def kname(self, n):
        return "".join(self.choice(HASH_ALPHA) for _ in range(n))

    def ip(self, net="10.52"):
        return f"{net}.{self.randint(0, 15)}.{self.randint(2, 250)}"


def diurnal(t):
    """Ticketing traffic by UTC hour: European evenings, a lunchtime bump."""
    h = (t % 86400) / 3600.0
    v = (
        0.35
        + 0.45 * math.exp(-(((h - 19.5) / 3.2) ** 2))
        + 0.3 * math.exp(-(((h - 12.5) / 2.2) ** 2))
    )
    v += 0.55 * (0.5 + 0.5 * math.cos((h - 16.0) / 24.0 * 2 * math.pi))
    return v


# ---------------------------------------------------------------------------------------
# Pods, nodes and the world of one bundle
# ---------------------------------------------------------------------------------------


class Pod:
    def __init__(self, W, svc, name, rshash, version, node, created, sts=False):
        n = W.n
        self.svc, self.name, self.hash, self.version = svc, name, rshash, version
        self.node, self.created, self.sts = node, created, sts
        self.ip = W.rng.ip()
        self.uid = W.rng.uuid()
        self.cid = W.rng.hexid(64)
        self.alive = [True] * n
        self.ready = [1.0] * n
        self.restarts = [0] * n
        self.base_restarts = 0
        self.term_reason = [None] * n
        self.waiting = [None] * n
        self.w = W.rng.uniform(0.85, 1.15)
        self.jit = W.rng.uniform(0.92, 1.08)
        self.err = [0.0] * n
        self.lat = [1.0] * n
        self.cpu = [1.0] * n
        self.mem_override = None
        self.own_code = None
        self.crashes: list[float] = []
        self.term_at = None
        # outputs of the simulation
        self.o_rps = [0.0] * n
        self.o_err = [0.0] * n
        self.o_p50 = [0.0] * n
        self.o_p99 = [0.0] * n
        self.o_cpu = [0.0] * n
        self.o_thr = [0.0] * n
        self.o_mem = [0.0] * n
        self.o_e_own = [0.0] * n
        self.o_e_dep = [0.0] * n
        self.o_e_shed = [0.0] * n
        self.o_pool_use = [0.0] * n
        self.o_pool_wait = [0.0] * n
        self.o_conns = [0.0] * n
        self.o_util = [0.0] * n


class World:
    def __init__(self, seed, idx, spec):
        self.idx = idx
        self.spec = spec
        self.rng = r = Rng(f"gen_mesh/{seed}/{idx}/{spec['key']}")
        self.L = r.choice([60, 90, 120, 120, 150, 180]) * 60
        self.step = r.choice(
            [15, 30] if self.L <= 5400 else [30, 60] if self.L >= 9000 else [15, 30, 60]
        )
        day = 1736121600 + r.randint(0, 300) * 86400  # from 2025-01-06
        hour = r.choice([9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 8, 23, 2])
        end = day + hour * 3600 + r.randint(0, 59) * 60 + r.randint(0, 59)
        end -= end % self.step
        self.tail = r.randint(7, 22) * 60 + r.randint(0, 59)
        self.alert_delay = r.randint(2, 7) * 60 + r.randint(0, 59)
        self.end = end
        self.start = end - self.L
        self.n = self.L // self.step + 1
        self.ts = [self.start + i * self.step for i in range(self.n)]
        self.alert_at = end - self.tail
        self.onset = self.alert_at - self.alert_delay
        self.base_rps = r.uniform(260, 720)
        self.mods: dict = {}
        self.nodes = []
        pool = r.choice(["pool-2", "pool-3", "apps"])
        for k in range(r.randint(6, 9)):
            nm = f"gke-prod-1-{pool}-{r.hexid(8)}-{r.choice('abcdefghjkmnpqrstvwxz')}{r.kname(3)}"
            self.nodes.append(
                {
                    "name": nm,
                    "ip": f"10.132.0.{r.randint(3, 250)}",
                    "zone": f"europe-west1-{'bcd'[k % 3]}",
                }
            )
        self.pods: dict[str, list[Pod]] = {}
        self.versions = {}
        self.init_versions = {}
        self.prev_versions = {}
        self.replicas = {}
        self.changes = []
        self.events = []
        self.logs_extra = []  # (svc, pod, t, level, kind, payload)
        self.own_msgs = {}  # svc -> callable(pod, t) -> (level, msg, fields)
        self.dep_hint = {}  # (svc, dep) -> failure flavour override
        self.notes = []
        self.alerts = []
        self.truth = None
        self.focus = None
        self.extra_queries = set()
        self.must_logs = set()
        self.pool_max = {s: SERVICES[s].get("pool", 0) for s in SERVICES}
        self.mysql_max_conn = r.choice([400, 500, 600])
        self.mc_max_conn = r.choice([1024, 1024, 2048])
        self.cpu_lim = {s: SERVICES[s].get("cpu_lim", 1.0) for s in SERVICES}
        self.mem_lim = {s: SERVICES[s].get("mem_lim", 512) for s in SERVICES}
        self.batch = [0.0] * self.n
        self.noise_demand = self._ar_noise(0.035, 0.85)
        self.lat_noise = {}
        self.flags = set()
        self.certs = {}
        self.dns = {}
        self.cache_note = None
        self._mk_pods()

    # --- time helpers -----------------------------------------------------------------
    def i_of(self, t):
        return max(0, min(self.n, int(math.ceil((t - self.start) / self.step))))

    def ramp(self, t0, dur=60.0, level=1.0, t1=None, fall=60.0):
        out = []
        for t in self.ts:
            if t < t0:
                v = 0.0
            elif dur <= 0:
                v = 1.0
            else:
                v = min(1.0, (t - t0) / dur)
            if t1 is not None and t > t1:
                v *= max(0.0, 1.0 - (t - t1) / max(fall, 1.0))
            out.append(v * level)
        return out

    def _ar_noise(self, sigma, rho):
        out, x = [], 0.0
        for _ in range(self.n):
            x = rho * x + self.rng.gauss(0, sigma)
            out.append(1.0 + x)
        return out

    def mod(self, name, key, default=0.0):
        d = self.mods.setdefault(name, {})
        if key not in d:
            d[key] = [default] * self.n
        return d[key]

    def add_mod(self, name, key, arr, default=0.0, mul=False):
        m = self.mod(name, key, default)
        for i, v in enumerate(arr):
            m[i] = m[i] * v if mul else m[i] + v

    # --- pods -------------------------------------------------------------------------
    def new_version(self, svc, bump="patch"):
        v = self.versions[svc]
        if v.startswith("2025."):
            a, b, c = v.split(".")
            return f"2025.{b}.{int(c) + 1}" if bump == "patch" else f"2025.{int(b) + 1}.0"
        pre = "v" if v.startswith("v") else ""
        core, _, tail = v.lstrip("v").partition("-")
        a, b, c = (int(x) for x in core.split("."))
        if bump == "patch":
            c += 1
        else:
            b, c = b + 1, 0
        return f"{pre}{a}.{b}.{c}" + (f"-{tail}" if tail else "")

    def expected_rps(self):
        """Static estimate of each service's request rate at the onset (no incident)."""
        base = self.base_rps * diurnal(self.onset)
        rps = dict.fromkeys(SERVICES, 0.0)
        for svc, _h, share, _p in ROUTES.values():
            rps[svc] += base * share
        for s in TOPO:
            if SERVICES[s]["kind"] == "worker":
                rps[s] = {
                    "ticket-issuer": rps["orders"] * 0.9,
                    "notifier": rps["orders"] * 1.2,
                    "search-indexer": 0.05,
                }[s]
            for d, fan, *_ in OUT.get(s, []):
                if s != "egress-proxy":
                    rps[d] += rps[s] * fan
        rps["egress-proxy"] = rps["payment-gateway"] + rps["notifier"]
        return rps

    def _mk_pods(self):
        r = self.rng
        exp = self.expected_rps()
        for svc, d in SERVICES.items():
            if d["kind"] == "external":
                continue
            m, p = r.randint(3, 24), r.randint(0, 9)
            self.versions[svc] = d["ver"].format(m=m, p=p)
            self.init_versions[svc] = self.versions[svc]
            nrep = r.randint(*d["rep"])
            if d["kind"] in ("http", "worker", "ingress") and svc != "search-indexer":
                per = d["cpu_per"] * (
                    exp[svc] if d["kind"] != "worker" else exp[svc] * d["task_ms"] / 320.0
                )
                want = per / (d["cpu_lim"] * r.uniform(0.28, 0.42))
                nrep = max(d["rep"][0], min(14, int(math.ceil(want))))
            self.replicas[svc] = nrep
            sts = d["kind"] == "store"
            h = r.kname(r.choice([9, 10]))
            self.pods[svc] = []
            for k in range(nrep):
                node = self.nodes[(k * 2 + r.randint(0, len(self.nodes) - 1)) % len(self.nodes)]
                name = f"{svc}-{k}" if sts else f"{svc}-{h}-{r.kname(5)}"
                pod = Pod(
                    self,
                    svc,
                    name,
                    None if sts else h,
                    self.versions[svc],
                    node["name"],
                    self.start - r.randint(2, 30) * 86400,
                    sts,
                )
                pod.base_restarts = r.choice([0, 0, 0, 0, 1, 2]) if not sts else r.choice([0, 1])
                self.pods[svc].append(pod)

    def alive_pods(self, svc, t):
        i = min(self.n - 1, self.i_of(t))
        return [p for p in self.pods[svc] if p.alive[i]]

    def node_pods(self, node):
        return [p for ps in self.pods.values() for p in ps if p.node == node]

    def add_pod(self, svc, t, rshash, version, node=None, ready_delay=None):
        r = self.rng
        node = node or r.choice(self.nodes)["name"]
        pod = Pod(self, svc, f"{svc}-{rshash}-{r.kname(5)}", rshash, version, node, t)
        rd = ready_delay if ready_delay is not None else r.uniform(8, 28)
        for i, ts in enumerate(self.ts):
            if ts < t:
                pod.alive[i] = False
                pod.ready[i] = 0.0
            elif ts < t + rd:
                pod.ready[i] = 0.0
        self.pods[svc].append(pod)
        return pod

    def kill_pod(self, pod, t):
        pod.term_at = t
        for i, ts in enumerate(self.ts):
            if ts >= t:
                pod.alive[i] = False
                pod.ready[i] = 0.0

    def rollout(self, svc, t, version, canary=0, gap=None, reason="deploy"):
        """A Deployment rollout: a new ReplicaSet replaces the old one pod by pod (or, for
        a canary, one pod is added and the rollout paused).  Returns the new pods."""
        r = self.rng
        old = [p for p in self.alive_pods(svc, t) if not p.sts]
        new_hash = r.kname(len(old[0].hash) if old else 10)
        gap = gap or r.uniform(18, 45)
        new = []
        count = canary if canary else len(old)
        old_rs = f"{svc}-{old[0].hash}" if old else svc
        for k in range(count):
            tk = t + k * gap + r.uniform(0, 6)
            rd = r.uniform(9, 26)
            pod = self.add_pod(svc, tk, new_hash, version, ready_delay=rd)
            new.append(pod)
            self.event(
                tk,
                svc,
                "ScalingReplicaSet",
                "Normal",
                f"Scaled up replica set {svc}-{new_hash} to {k + 1}",
                f"deployment/{svc}",
                component="deployment-controller",
            )
            self.pod_start_events(pod, tk, version)
            if not canary and k < len(old):
                self.kill_pod(old[k], tk + rd + r.uniform(1, 4))
                self.event(
                    tk + rd + 1,
                    svc,
                    "ScalingReplicaSet",
                    "Normal",
                    f"Scaled down replica set {old_rs} to {len(old) - k - 1}",
                    f"deployment/{svc}",
                    component="deployment-controller",
                )
                self.event(
                    tk + rd + 1.5,
                    svc,
                    "Killing",
                    "Normal",
                    f"Stopping container {svc}",
                    f"pod/{old[k].name}",
                    kubelet=True,
                )
        if canary and len(old) > 2 and r.random() < 0.5:
            self.kill_pod(old[-1], t + gap + 20)
        self.prev_versions[svc] = self.versions[svc]
        self.versions[svc] = version
        return new

    def pod_start_events(self, pod, t, version):
        d = SERVICES[pod.svc]
        img = f"{d['image']}:{version}"
        self.event(
            t + 1,
            pod.svc,
            "Scheduled",
            "Normal",
            f"Successfully assigned {NS}/{pod.name} to {pod.node}",
            f"pod/{pod.name}",
            component="default-scheduler",
        )
        self.event(
            t + 2,
            pod.svc,
            "Pulling",
            "Normal",
            f'Pulling image "{img}"',
            f"pod/{pod.name}",
            kubelet=True,
        )
        self.event(
            t + 2 + self.rng.uniform(1, 6),
            pod.svc,
            "Pulled",
            "Normal",
            f'Successfully pulled image "{img}" in {self.rng.uniform(0.8, 6):.3f}s '
            f"(includes {self.rng.uniform(0.8, 6):.3f}s waiting)",
            f"pod/{pod.name}",
            kubelet=True,
        )
        self.event(
            t + 8,
            pod.svc,
            "Started",
            "Normal",
            f"Started container {pod.svc}",
            f"pod/{pod.name}",
            kubelet=True,
        )

    def scale_up(self, svc, t, k, hpa_from=None, unschedulable=0):
        r = self.rng
        cur = [p for p in self.alive_pods(svc, t) if not p.sts]
        h = cur[0].hash if cur else r.kname(10)
        ver = cur[0].version if cur else self.versions[svc]
        n0 = len(cur)
        self.event(
            t,
            svc,
            "SuccessfulRescale",
            "Normal",
            f"New size: {n0 + k}; reason: cpu resource utilization (percentage of request)"
            " above target",
            f"horizontalpodautoscaler/{svc}",
            component="horizontal-pod-autoscaler",
        )
        self.event(
            t + 1,
            svc,
            "ScalingReplicaSet",
            "Normal",
            f"Scaled up replica set {svc}-{h} to {n0 + k}",
            f"deployment/{svc}",
            component="deployment-controller",
        )
        new = []
        for j in range(k):
            if j >= k - unschedulable:
                name = f"{svc}-{h}-{r.kname(5)}"
                self.event(
                    t + 3 + r.uniform(0, 10),
                    svc,
                    "FailedScheduling",
                    "Warning",
                    f"0/{len(self.nodes)} nodes are available: {len(self.nodes)} "
                    "Insufficient cpu. preemption: 0/"
                    f"{len(self.nodes)} nodes are available: {len(self.nodes)} No "
                    "preemption victims found for incoming pod.",
                    f"pod/{name}",
                    component="default-scheduler",
                    count=r.randint(3, 12),
                )
                continue
            tj = t + 2 + j * r.uniform(1, 5)
            pod = self.add_pod(svc, tj, h, ver)
            self.pod_start_events(pod, tj, ver)
            new.append(pod)
        return new

    # --- events -----------------------------------------------------------------------
    def event(
        self,
        t,
        svc,
        reason,
        typ,
        message,
        obj,
        count=1,
        first=None,
        kubelet=False,
        component=None,
        **attrs,
    ):
        ev = {
            "ts": iso(t, 0),
            "service": svc,
            "reason": reason,
            "type": typ,
            "message": message,
            "object": obj,
            "count": count,
        }
        kind, _, name = obj.partition("/")
        ns = SERVICES.get(svc, {}).get("ns", NS)
        ev["query"] = (
            f"kubectl --context {CLUSTER} --namespace {ns} get events "
            f"--field-selector involvedObject.name={name}"
        )
        if first is not None:
            ev["first_timestamp"] = iso(first, 0)
        ev["source"] = "kubelet" if kubelet else (component or "kubelet")
        ev.update(attrs)
        self.events.append((t, ev))

    def change(self, t, svc, kind, summary, cid=None, **kw):
        r = self.rng
        cid = cid or f"chg-{r.randint(10000, 99999)}"
        c = {"id": cid, "ts": iso(t, 0), "service": svc, "kind": kind, "summary": summary}
        c.update({k: v for k, v in kw.items() if v is not None})
        self.changes.append(c)
        return cid

    def crash_loop(self, pod, t0, up_secs, reason="Error", exit_code=1, stop=None, message=None):
        """The container exits at t0, then again each time it has run up_secs(k) seconds
        after a restart, with kubelet's back-off (10 s doubling, 5 min cap)."""
        r = self.rng
        t, k, backoff = t0, 0, 10.0
        limit = stop if stop is not None else self.end + 900
        crashes = []
        while t < limit:
            crashes.append(t)
            k += 1
            down = min(300.0, backoff) + r.uniform(0.5, 3)
            backoff *= 2
            restart = t + down
            readiness = r.uniform(4, 14)
            for i, ts in enumerate(self.ts):
                if t <= ts < restart + readiness:
                    pod.ready[i] = 0.0
                if ts >= t:
                    pod.term_reason[i] = reason
                if k >= 2 and t <= ts < restart:
                    pod.waiting[i] = "CrashLoopBackOff"
                if ts >= restart:
                    pod.restarts[i] += 1
            t = restart + max(5.0, up_secs(k))
        pod.crashes = crashes
        n_p = max(1, len(self.pods[pod.svc]))
        blip = self.mod("err", pod.svc)
        for c in crashes:
            i = self.i_of(c)
            if i < self.n:
                blip[i] += min(0.5, 4.0 / self.step) / n_p
        last = [c for c in crashes if c <= self.end]
        if not last:
            return crashes
        cname = pod.svc
        self.event(
            last[-1],
            pod.svc,
            reason,
            "Warning",
            message or f"Container {cname} terminated: {reason} (exit code {exit_code})",
            f"pod/{pod.name}",
            count=len(last),
            first=last[0],
            exit_code=exit_code,
            container=cname,
            restart_count=len(last),
            node=pod.node,
            kubelet=True,
        )
        backs = list(last[1:])
        if backs:
            self.event(
                min(self.end - 5, backs[-1] + 20),
                pod.svc,
                "BackOff",
                "Warning",
                f"Back-off restarting failed container {cname} in pod {pod.name}_{NS}({pod.uid})",
                f"pod/{pod.name}",
                count=len(backs) * r.randint(2, 4),
                first=backs[0] + 5,
                kubelet=True,
            )
        return crashes

    def deploy(
        self, svc, t, bump="minor", canary=0, kind="deploy", author=None, note=None, version=None
    ):
        r = self.rng
        prev = self.versions[svc]
        ver = version or self.new_version(svc, bump)
        new = self.rollout(svc, t, ver, canary=canary)
        sha = r.hexid(40)
        verb = {
            "deploy": "Deploy",
            "rollout": "Roll out",
            "release": "Release",
            "canary": "Canary",
        }[kind]
        summary = f"{verb} {svc} {ver}" + (f" ({canary} pod, rollout paused)" if canary else "")
        if note:
            summary += f": {note}"
        cid = self.change(
            t - r.uniform(20, 80),
            svc,
            kind,
            summary,
            cid=r.choice(
                [f"argocd-{svc}-{r.randint(120, 990)}", f"deploy-{r.randint(40000, 99999)}"]
            ),
            version=ver,
            previous_version=prev,
            author=author or r.choice(AUTHORS),
            url=f"https://github.com/boxoffice/{svc}/compare/{prev}...{ver}",
            commit=sha[:12],
        )
        return cid, new


AUTHORS = [
    "a.okafor",
    "m.lindqvist",
    "j.moreau",
    "s.kaur",
    "t.nakamura",
    "r.esposito",
    "l.brandt",
    "d.ivanova",
    "c.mendes",
    "argocd-image-updater",
    "h.yilmaz",
    "p.novak",
]


# ---------------------------------------------------------------------------------------
# Simulation: rates top-down, errors and latency bottom-up
# ---------------------------------------------------------------------------------------

DEP_CODE_DEFAULT = 500


def simulate(W):
    n, S, r = W.n, SERVICES, W.rng
    svcs = list(S)
    W.rps = {s: [0.0] * n for s in svcs}
    W.err = {s: [0.0] * n for s in svcs}
    W.p50 = {s: [float("nan")] * n for s in svcs}
    W.p99 = {s: [float("nan")] * n for s in svcs}
    W.e_own = {s: [0.0] * n for s in svcs}
    W.e_dep = {s: [0.0] * n for s in svcs}
    W.e_shed = {s: [0.0] * n for s in svcs}
    W.unavail = {s: [0.0] * n for s in svcs}
    ek = [(a, b) for a, b, *_ in EDGES]
    W.erps = {e: [0.0] * n for e in ek}
    W.eerr = {e: [0.0] * n for e in ek}
    W.eto = {e: [0.0] * n for e in ek}
    W.ep50 = {e: [float("nan")] * n for e in ek}
    W.ep99 = {e: [float("nan")] * n for e in ek}
    W.route = {
        g: {
            "dem": [0.0] * n,
            "arr": [0.0] * n,
            "rej": [0.0] * n,
            "fwd": [0.0] * n,
            "err": [0.0] * n,
            "p50": [0.0] * n,
            "p99": [0.0] * n,
            "to": [0.0] * n,
        }
        for g in ROUTES
    }
    W.hit = {s: [0.0] * n for s in HIT_BASE}
    W.mc_avail = [1.0] * n
    W.mc_conns = [[0.0] * n for _ in W.pods["memcached"]]
    W.mc_overflow = [0.0] * n
    W.my_conns = [0.0] * n
    W.mysql_util = [0.0] * n
    W.my_overflow = [0.0] * n
    W.qready = {q: [0.0] * n for q in QUEUES}
    W.qunack = {q: [0.0] * n for q in QUEUES}
    W.qpub = {q: [0.0] * n for q in QUEUES}
    W.qdeliver = {q: [0.0] * n for q in QUEUES}
    W.qcons = {q: [0.0] * n for q in QUEUES}
    W.task_ok = {w: [0.0] * n for w in ("ticket-issuer", "notifier", "search-indexer")}
    W.task_fail = {w: [0.0] * n for w in ("ticket-issuer", "notifier", "search-indexer")}
    W.task_ms = {w: [0.0] * n for w in ("ticket-issuer", "notifier", "search-indexer")}
    W.via_err = {x: [0.0] * n for x in VIA.values()}
    W.via_p50 = {x: [0.0] * n for x in VIA.values()}
    W.via_p99 = {x: [0.0] * n for x in VIA.values()}
    qstate = {q: r.uniform(0, 30) for q in QUEUES}
    qstate["search.reindex"] = r.uniform(0, 5)
    qstate["tickets.reissue"] = 0.0
    prev_fail = dict.fromkeys(W.task_ok, 0.0)
    prev_tms = {w: S[w]["task_ms"] for w in W.task_ok}
    prev_pub = {"orders.placed": None}
    lat_noise = {}
    for s in svcs:
        lat_noise[s] = W._ar_noise(0.05, 0.7)

    for i, t in enumerate(W.ts):
        base = W.base_rps * diurnal(t) * W.noise_demand[i]
        rps = dict.fromkeys(svcs, 0.0)
        # ---- the edge
        for g, (svc, _h, share, _p) in ROUTES.items():
            R = W.route[g]
            d = base * share * W.mod("demand", g, 1.0)[i] + W.mod("demand_add", g)[i]
            arr = d * (1.0 - clip(W.mod("tlsfail", g)[i]))
            rej = arr * clip(W.mod("reject", g)[i])
            R["dem"][i], R["arr"][i], R["rej"][i], R["fwd"][i] = d, arr, rej, arr - rej
            rps[svc] += arr - rej
            rps["ingress-nginx-controller"] += arr
        # ---- memcached availability (consistent hashing: a dead node's keys miss)
        mcp = W.pods["memcached"]
        alive_mc = sum(p.ready[i] for p in mcp)
        W.mc_avail[i] = alive_mc / len(mcp)
        # ---- queues: consumption from the state at the previous step
        pubs = {}
        pubs["orders.placed"] = prev_pub["orders.placed"]
        for q in QUEUES:
            pubs.setdefault(q, None)
        cap = {}
        for w in W.task_ok:
            ready = sum(p.ready[i] for p in W.pods[w])
            cap[w] = ready * S[w]["conc"] * 1000.0 / max(prev_tms[w], 1.0)
            cap[w] *= W.mod("wcap", w, 1.0)[i]
        for w in W.task_ok:
            qs = [q for q in QUEUES if QUEUES[q]["consumer"] == w]
            want = {}
            for q in qs:
                pub = W.qpub[q][i - 1] if i > 0 else 0.0
                want[q] = qstate[q] / W.step + pub
            tot = sum(want.values())
            take = min(tot, cap[w])
            done = 0.0
            for q in qs:
                c = take * (want[q] / tot) if tot > 0 else 0.0
                W.qdeliver[q][i] = c
                W.qcons[q][i] = (
                    sum(1 for p in W.pods[w] if p.ready[i] > 0) * W.mod("wcap_cons", w, 1.0)[i]
                )
                done += c
            rps[w] = done
        # ---- top-down
        for s in TOPO:
            kind = S[s]["kind"]
            if kind in ("store", "external"):
                continue
            ready = sum(p.ready[i] for p in W.pods.get(s, []))
            served = rps[s] if (ready > 0 or kind == "ingress") else 0.0
            if kind == "ingress":
                served = 0.0
            for d, fan, _p, _t, _w in OUT.get(s, []):
                if s == "egress-proxy":
                    x = W.erps[(VIA_FROM[d], "egress-proxy")][i]
                else:
                    x = served * fan * W.mod("fan", (s, d), 1.0)[i]
                if s == "search-indexer" and d == "mysql":
                    x = served * fan * W.mod("fan", (s, d), 1.0)[i] + W.batch[i]
                W.erps[(s, d)][i] = x
                rps[d] += x
            if s in HIT_BASE:
                hit = (
                    HIT_BASE[s]
                    * W.mod("cache_hit", s, 1.0)[i]
                    * W.mc_avail[i]
                    * (1.0 - W.mc_overflow[i - 1] if i else 1.0)
                )
                W.hit[s][i] = hit
                extra = W.erps[(s, "memcached")][i] * max(0.0, HIT_BASE[s] - hit) * 0.6
                # a miss is a database read, or for the web tier a fragment re-fetched
                fb = "mysql" if (s, "mysql") in W.erps else "event-catalog"
                W.erps[(s, fb)][i] += extra
                rps[fb] += extra
        for s in svcs:
            W.rps[s][i] = rps[s]
        # ---- bottom-up
        for s in reversed(TOPO):
            kind = S[s]["kind"]
            if kind == "external":
                m = W.mod("lat", s, 1.0)[i] * lat_noise[s][i]
                W.p50[s][i] = S[s]["p50"] * m
                W.p99[s][i] = S[s]["p99"] * m * W.mod("lat99", s, 1.0)[i]
                W.err[s][i] = clip(0.0004 + W.mod("err", s)[i])
                W.e_own[s][i] = W.err[s][i]
                continue
            if kind == "store":
                _sim_store(W, s, i, rps, lat_noise)
                continue
            if kind == "ingress":
                continue
            _sim_service(W, s, i, rps, lat_noise, prev_tms, prev_fail)
        # ---- the ingress, per route
        for g, (svc, _h, _share, _p) in ROUTES.items():
            R = W.route[g]
            e_err, e50, e99 = W.err[svc][i], W.p50[svc][i], W.p99[svc][i]
            if W.unavail[svc][i] >= 0.999:
                e_err, e50, e99 = 1.0, 2.0, 8.0
            tmo = W.mod("ingress_timeout", g, 60000.0)[i]
            to = tail_frac(e50, e99, tmo) if e50 == e50 else 0.0
            e_err = 1 - (1 - e_err) * (1 - to)
            own = S["ingress-nginx-controller"]
            R["to"][i] = to
            fwd, arr = R["fwd"][i], R["arr"][i]
            R["err"][i] = (fwd * e_err + R["rej"][i]) / arr if arr > 0 else 0.0
            R["p50"][i] = own["p50"] + (min(e50, tmo) if e50 == e50 else 2.0)
            R["p99"][i] = own["p99"] + (min(e99, tmo) if e99 == e99 else 8.0)
        ing = W.rps["ingress-nginx-controller"][i]
        if ing > 0:
            W.err["ingress-nginx-controller"][i] = (
                sum(W.route[g]["err"][i] * W.route[g]["arr"][i] for g in ROUTES) / ing
            )
        _sim_pods_simple(W, "ingress-nginx-controller", i, ing, lat_noise)
        # ---- queues: publish and drain
        o_pub = W.erps[("orders", "rabbitmq")][i] * (1 - W.eerr[("orders", "rabbitmq")][i])
        prev_pub["orders.placed"] = o_pub
        W.qpub["orders.placed"][i] = o_pub
        ti_ok = W.task_ok["ticket-issuer"][i]
        ti_pub_ok = 1 - W.eerr[("ticket-issuer", "rabbitmq")][i]
        W.qpub["notify.email"][i] = ti_ok * 1.0 * ti_pub_ok
        W.qpub["notify.sms"][i] = ti_ok * 0.35 * ti_pub_ok
        W.qpub["search.reindex"][i] = 0.02 + W.mod("qpub", "search.reindex")[i]
        W.qpub["tickets.reissue"][i] = W.mod("qpub", "tickets.reissue")[i]
        for q in QUEUES:
            w = QUEUES[q]["consumer"]
            deliv = W.qdeliver[q][i]
            f = prev_fail[w]
            drain = deliv * (1 - 0.85 * f)
            if i > 0:
                qstate[q] = max(0.0, qstate[q] + (W.qpub[q][i] - drain) * W.step)
            W.qready[q][i] = qstate[q]
            held = deliv * prev_tms[w] / 1000.0 + deliv * f * 20.0
            W.qunack[q][i] = min(
                held, sum(p.ready[i] for p in W.pods[w]) * S[w]["conc"] * 4 + deliv * f * 20.0
            )
    return W


VIA_FROM = {v: k for k, v in VIA.items()}


def _edge_stats(W, s, d, i, to_ms):
    """Caller s's view of callee d at step i: error, p50, p99, timeout fraction."""
    if s == "egress-proxy":
        e_err, e50, e99 = W.err[d][i], W.p50[d][i], W.p99[d][i]
        e_err = 1 - (1 - e_err) * (1 - clip(W.mod("via_err", d)[i]))
    elif d == "egress-proxy":
        x = VIA[s]
        e_err, e50, e99 = W.via_err[x][i], W.via_p50[x][i], W.via_p99[x][i]
    else:
        e_err, e50, e99 = W.err[d][i], W.p50[d][i], W.p99[d][i]
    e_err = clip(e_err + W.mod("edge_err", (s, d))[i])
    if e50 == e50:
        hop = 0.25 if SERVICES.get(d, {}).get("kind") != "external" else 4.0
        e50 = e50 + hop + W.mod("edge_lat", (s, d))[i]
        e99 = e99 + hop * 6 + W.mod("edge_lat99", (s, d))[i]
    if W.unavail[d][i] >= 0.999:
        return 1.0, 1.5, 6.0, 0.0
    if e50 != e50:
        return clip(e_err), 1.5, 6.0, 0.0
    to = tail_frac(e50, e99, to_ms)
    e_err = 1 - (1 - e_err) * (1 - to)
    return clip(e_err), min(e50, to_ms), min(e99, to_ms), to


def _sim_service(W, s, i, rps, lat_noise, prev_tms, prev_fail):
    S = SERVICES[s]
    kind = S["kind"]
    dep_ok, dep50, dep99 = 1.0, 0.0, 0.0
    deps = OUT.get(s, [])
    for d, fan, prop, to_ms, w in deps:
        if s == "egress-proxy":
            continue
        e_err, e50, e99, to = _edge_stats(W, s, d, i, to_ms)
        W.eerr[(s, d)][i], W.ep50[(s, d)][i], W.ep99[(s, d)][i] = e_err, e50, e99
        W.eto[(s, d)][i] = to
        fm = W.mods.get("fan", {}).get((s, d))
        we = w * (fm[i] if fm else 1.0)
        dep_ok *= (1 - prop * e_err) ** (fan * (fm[i] if fm else 1.0))
        dep50 += we * e50
        dep99 += min(3.0, we) * e99 * 0.6
    if s == "egress-proxy":
        for d, _fan, _prop, to_ms, _w in deps:
            e_err, e50, e99, to = _edge_stats(W, s, d, i, to_ms)
            W.eerr[(s, d)][i], W.ep50[(s, d)][i], W.ep99[(s, d)][i] = e_err, e50, e99
            W.eto[(s, d)][i] = to
    dep_err = 1 - dep_ok
    pods = W.pods[s]
    ready_w = sum(p.w * p.ready[i] for p in pods)
    pool_max = W.pool_max.get(s, 0)
    lim = W.cpu_lim[s]
    tot_w = tot_err = tot_own = tot_dep = tot_shed = 0.0
    comps = []
    if ready_w <= 0:
        W.unavail[s][i] = 1.0
        W.err[s][i] = 1.0
        for p in pods:
            p.o_rps[i] = 0.0
            p.o_cpu[i] = S["cpu_idle"] * 0.3 if p.alive[i] else 0.0
            p.o_mem[i] = _mem(W, p, i)
        return
    n_ready = sum(1 for p in pods if p.ready[i] > 0)
    W.unavail[s][i] = 1 - n_ready / max(1, sum(1 for p in pods if p.alive[i]))
    per_pod_rps = rps[s]
    if kind == "worker":
        per_pod_rps = rps[s]
    for p in pods:
        if not p.alive[i]:
            continue
        share = p.w * p.ready[i] / ready_w
        prps = per_pod_rps * share * (1 + W.rng.gauss(0, 0.03))
        prps = max(0.0, prps)
        p.o_rps[i] = prps
        cpu_dem = S["cpu_idle"] + S["cpu_per"] * prps * W.mod("cpu", s, 1.0)[i] * p.cpu[i]
        if kind == "worker":
            cpu_dem = (
                S["cpu_idle"]
                + S["cpu_per"]
                * prps
                * (prev_tms[s] / S["task_ms"]) ** 0.3
                * W.mod("cpu", s, 1.0)[i]
                * p.cpu[i]
            )
        util = cpu_dem / lim
        p.o_util[i] = util
        cpu_lat = 1 + 3.0 * max(0.0, util - 0.6) ** 2 + 7.0 * max(0.0, util - 0.95)
        shed = max(0.0, (util - 1.25) / util) if util > 1.25 else 0.0
        thr = clip(0.004 + 1.1 * max(0.0, util - 0.42) ** 1.4 + W.rng.gauss(0, 0.006), 0, 0.97)
        if p.ready[i] <= 0:
            thr = 0.0
        p.o_cpu[i] = max(0.0, min(cpu_dem, lim * 0.985) * (1 + W.rng.gauss(0, 0.04)))
        p.o_thr[i] = thr
        p.o_mem[i] = _mem(W, p, i)
        pool_lat = 0.0
        pool_err = 0.0
        if pool_max:
            q_ms = W.ep50[(s, "mysql")][i]
            q_ms = q_ms if q_ms == q_ms else 1.0
            fan = {d: f for d, f, *_ in deps}["mysql"]
            hold_ms = fan * q_ms + TX_MS.get(s, 0.0) * W.mod("tx", s, 1.0)[i]
            demand = prps * hold_ms / 1000.0 * 1.3 + 0.3
            pm = W.mod("pool_max", s, float(pool_max))[i]
            rho = demand / pm
            p.o_pool_use[i] = min(pm, demand * (1 + W.rng.gauss(0, 0.08)))
            p.o_conns[i] = min(pm, max(min(10.0, pm), demand * 1.3))
            wait_frac = clip(rho**4) if rho < 1 else 1.0
            p.o_pool_wait[i] = prps * wait_frac * 0.8
            pool_lat = hold_ms * rho**4 / (1 - min(rho, 0.95)) * 0.3
            if rho >= 1:
                pool_lat += (rho - 1) * 4000.0
                pool_err = clip((rho - 1) / rho + 0.05)
        own_lat = (
            W.mod("lat", s, 1.0)[i]
            * p.lat[i]
            * cpu_lat
            * lat_noise[s][i]
            * p.jit
            * (1 + W.rng.gauss(0, 0.035))
        )
        if kind == "worker":
            tms = S["task_ms"] * own_lat + dep50
            p.o_p50[i] = tms
            p.o_p99[i] = tms * 3.2 + dep99
            e_own = clip(W.mod("err", s)[i] + p.err[i] + 0.001)
            err = 1 - (1 - e_own) * (1 - dep_err)
        else:
            tx = TX_MS.get(s, 0.0) * W.mod("tx", s, 1.0)[i] if pool_max else 0.0
            o50 = S["p50"] * own_lat + pool_lat + tx * 0.8
            o99 = S["p99"] * own_lat * (cpu_lat**0.5) + pool_lat * 3 + tx * 2.5
            p.o_p50[i] = o50 + dep50
            p.o_p99[i] = max(o99 + dep99, p.o_p50[i] * 1.5)
            e_own = clip(W.mod("err", s)[i] + p.err[i] + 0.0006 + pool_err)
            err = 1 - (1 - e_own) * (1 - shed) * (1 - dep_err)
        p.o_err[i] = clip(err)
        p.o_e_own[i], p.o_e_shed[i], p.o_e_dep[i] = e_own, shed, dep_err
        tot_w += prps
        tot_err += prps * err
        tot_own += prps * e_own
        tot_dep += prps * dep_err
        tot_shed += prps * shed
        comps.append((prps, p.o_p50[i], p.o_p99[i]))
    if tot_w > 0:
        W.err[s][i] = tot_err / tot_w
        W.e_own[s][i], W.e_dep[s][i], W.e_shed[s][i] = (
            tot_own / tot_w,
            tot_dep / tot_w,
            tot_shed / tot_w,
        )
        W.p50[s][i] = sum(w * a for w, a, _ in comps) / tot_w
        W.p99[s][i] = (
            max(b for w, _, b in comps if w > 0)
            if any(w > 0 for w, _, _ in comps)
            else W.p50[s][i] * 3
        )
        W.p99[s][i] = 0.5 * W.p99[s][i] + 0.5 * sum(w * b for w, _, b in comps) / tot_w
    else:
        W.err[s][i] = 0.0
        W.p50[s][i] = S.get("p50", S.get("task_ms", 10.0))
        W.p99[s][i] = S.get("p99", S.get("task_ms", 10.0) * 3)
    if s == "egress-proxy":
        own = W.err[s][i]
        for x in VIA.values():
            e_err, e50, e99 = W.eerr[(s, x)][i], W.ep50[(s, x)][i], W.ep99[(s, x)][i]
            W.via_err[x][i] = 1 - (1 - own) * (1 - e_err)
            W.via_p50[x][i] = W.p50[s][i] + e50
            W.via_p99[x][i] = W.p99[s][i] + e99
        # the proxy's own inbound view includes its upstreams
        a = W.erps[("payment-gateway", "egress-proxy")][i]
        b = W.erps[("notifier", "egress-proxy")][i]
        if a + b > 0:
            W.err[s][i] = (a * W.via_err["paynexa"][i] + b * W.via_err["textwave"][i]) / (a + b)
            W.p50[s][i] = (a * W.via_p50["paynexa"][i] + b * W.via_p50["textwave"][i]) / (a + b)
            W.p99[s][i] = max(
                W.via_p99["paynexa"][i] if a > 0.05 else 0,
                W.via_p99["textwave"][i] if b > 0.05 else 0,
            )
            for p in pods:
                if p.alive[i]:
                    p.o_err[i] = clip(W.err[s][i] * (1 + W.rng.gauss(0, 0.05)))
                    p.o_e_dep[i] = p.o_err[i]
                    p.o_p50[i], p.o_p99[i] = W.p50[s][i], W.p99[s][i]
            W.e_dep[s][i] = W.err[s][i]
    if kind == "worker":
        tms = W.p50[s][i]
        W.task_ms[s][i] = tms
        prev_tms[s] = 0.75 * prev_tms[s] + 0.25 * tms
        f = W.err[s][i]
        prev_fail[s] = f
        W.task_ok[s][i] = rps[s] * (1 - f)
        W.task_fail[s][i] = rps[s] * f


def _sim_pods_simple(W, s, i, total, lat_noise):
    S = SERVICES[s]
    pods = W.pods[s]
    ready_w = sum(p.w * p.ready[i] for p in pods)
    lim = W.cpu_lim[s]
    for p in pods:
        if not p.alive[i]:
            continue
        share = p.w * p.ready[i] / ready_w if ready_w > 0 else 0.0
        prps = total * share
        p.o_rps[i] = prps
        cpu_dem = S["cpu_idle"] + S["cpu_per"] * prps * W.mod("cpu", s, 1.0)[i] * p.cpu[i]
        util = cpu_dem / lim
        p.o_cpu[i] = max(0.0, min(cpu_dem, lim * 0.985) * (1 + W.rng.gauss(0, 0.04)))
        p.o_thr[i] = clip(
            0.003 + 1.1 * max(0.0, util - 0.42) ** 1.4 + W.rng.gauss(0, 0.005), 0, 0.97
        )
        p.o_mem[i] = _mem(W, p, i)


def _mem(W, p, i):
    if p.mem_override is not None:
        v = p.mem_override[i]
        if v is not None:
            return v
    S = SERVICES[p.svc]
    age = max(0.0, W.ts[i] - max(p.created, W.start - 6 * 3600))
    growth = 1 + 0.04 * (1 - math.exp(-age / 7200.0))
    base = S["mem"] * MIB * (0.9 + 0.2 * (p.w - 0.85) / 0.3) * growth
    return base * (1 + 0.012 * math.sin(W.ts[i] / 300.0 + p.w * 10) + W.rng.gauss(0, 0.004))


def _sim_store(W, s, i, rps, lat_noise):
    S = SERVICES[s]
    pods = W.pods[s]
    q = rps[s]
    m = W.mod("lat", s, 1.0)[i] * lat_noise[s][i]
    if s == "mysql":
        cap = S["cap"] * W.mod("cap", s, 1.0)[i]
        cost = sum(W.erps[(c, "mysql")][i] * MYSQL_COST.get(c, 1.0) for c in IN["mysql"])
        u = min(0.985, cost / cap)
        W.mysql_util[i] = cost / cap
        if getattr(W, "mysql_busy", None):
            W.mysql_util[i] = max(W.mysql_util[i], 0.97 * W.mysql_busy[i])
        W.p50[s][i] = S["p50"] * (1 + 0.8 * u / (1 - u)) * m
        W.p99[s][i] = S["p99"] * (1 + 1.5 * u / (1 - u)) * m * W.mod("lat99", s, 1.0)[i]
        # connections: persistent pools of every client pod
        conns = 3.0
        for c in ("storefront", "accounts"):
            conns += sum(1 for p in W.pods[c] if p.alive[i]) * SERVICES[c]["workers"] * 2
        for c in ("holds", "orders", "payment-gateway"):
            conns += sum(p.o_conns[i] if p.o_conns[i] else 10 for p in W.pods[c] if p.alive[i])
        for c in ("event-catalog", "seatmap", "pricing"):
            conns += sum(1 for p in W.pods[c] if p.alive[i]) * 10
        for c in ("ticket-issuer", "notifier"):
            conns += sum(1 for p in W.pods[c] if p.alive[i]) * SERVICES[c]["conc"]
        conns += 2 * sum(1 for p in W.pods["search-indexer"] if p.alive[i])
        conns += W.mod("conns_add", s)[i]
        mx = W.mysql_max_conn
        W.my_conns[i] = conns
        over = max(0.0, (conns - mx) / conns) if conns > mx else 0.0
        W.my_overflow[i] = over
        err = W.mod("err", s)[i] + over * 0.6
        primary = pods[0]
        if primary.ready[i] <= 0:
            err = 1.0
        W.err[s][i] = clip(err)
        W.unavail[s][i] = 1.0 if primary.ready[i] <= 0 else 0.0
        if W.unavail[s][i]:
            W.unavail[s][i] = 0.0  # callers see refused connections, not an empty pool
            W.err[s][i] = 1.0
    elif s == "memcached":
        W.p50[s][i] = S["p50"] * m
        W.p99[s][i] = S["p99"] * m
        # connections per node
        per = 0.0
        per += (
            sum(1 for p in W.pods["storefront"] if p.alive[i])
            * SERVICES["storefront"]["workers"]
            * 2
        )
        per += sum(1 for p in W.pods["accounts"] if p.alive[i]) * 6
        for c in ("event-catalog", "seatmap", "pricing"):
            per += sum(1 for p in W.pods[c] if p.alive[i]) * W.mod("mc_pool", c, 16.0)[i]
        per += sum(1 for p in W.pods["holds"] if p.alive[i]) * 8
        per += W.mod("conns_add", s)[i]
        over = max(0.0, (per - W.mc_max_conn) / per) if per > W.mc_max_conn else 0.0
        W.mc_overflow[i] = over
        for k, p in enumerate(pods):
            W.mc_conns[k][i] = (
                min(per, W.mc_max_conn) * (1 + W.rng.gauss(0, 0.01)) if p.ready[i] > 0 else 0.0
            )
        dead = 1 - W.mc_avail[i]
        W.err[s][i] = clip(dead + over * 0.8 + W.mod("err", s)[i])
        # a dead node costs the clients a connect timeout until they mark it down
        W.p50[s][i] += dead * 40.0 + over * 200.0
        W.p99[s][i] += dead * 250.0 + over * 2500.0
    elif s == "rabbitmq":
        W.p50[s][i] = S["p50"] * m
        W.p99[s][i] = S["p99"] * m * W.mod("lat99", s, 1.0)[i]
        W.err[s][i] = clip(W.mod("err", s)[i])
    for p in pods:
        if not p.alive[i]:
            continue
        share = 1.0 / len(pods)
        if s == "mysql":
            share = 0.92 if p is pods[0] else 0.08
        p.o_rps[i] = q * share
        cpu = S["cpu_idle"] + S["cpu_per"] * q * share * W.mod("cpu", s, 1.0)[i]
        p.o_cpu[i] = (
            min(cpu, W.cpu_lim[s] * 0.98) * (1 + W.rng.gauss(0, 0.03)) if p.ready[i] > 0 else 0.002
        )
        p.o_thr[i] = clip(0.003 + 1.1 * max(0.0, cpu / W.cpu_lim[s] - 0.45) ** 1.4)
        p.o_mem[i] = _mem(W, p, i)


# ---------------------------------------------------------------------------------------
# Root causes.  Each sets the world's modifiers before the simulation, the truth, the
# alert that pages, and what the logs and events of the guilty party say.
# ---------------------------------------------------------------------------------------


def _pod_err(W, pods, level, t0=None, ramp=20.0, code=500):
    for p in pods:
        start = (p.created + 12) if t0 is None else t0
        for i, v in enumerate(W.ramp(start, ramp)):
            p.err[i] += level * v
        p.own_code = code


def _pod_lat(W, pods, mult, t0=None, ramp=30.0):
    for p in pods:
        start = (p.created + 12) if t0 is None else t0
        for i, v in enumerate(W.ramp(start, ramp)):
            p.lat[i] *= 1 + (mult - 1) * v


def _focus_route(W, svc):
    """The ingress route through which a fault in svc reaches users most visibly."""
    r = W.rng
    if svc in ("orders", "payment-gateway", "egress-proxy", "paynexa"):
        return "checkout"
    if svc in ("mobile-bff", "pricing"):
        return "mobile-api"
    if svc == "accounts":
        return r.choice(["accounts", "storefront"])
    return r.choice(["storefront", "storefront", "mobile-api"])


def sc_deploy_orders(W):
    r = W.rng
    t = W.onset - r.uniform(40, 160)
    W.cause_t = t
    cid, new = W.deploy(
        "orders",
        t,
        bump=r.choice(["minor", "patch"]),
        kind=r.choice(["deploy", "rollout", "release"]),
    )
    _pod_err(W, new, r.uniform(0.18, 0.42))
    W.own_msgs["orders"] = [
        (
            1.0,
            lambda rg, p, t: (
                "error",
                "panic recovered",
                {
                    "caller": "httpx/recover.go:38",
                    "method": "POST",
                    "path": "/api/checkout/orders",
                    "error": "runtime error: invalid memory address or nil pointer dereference",
                    "stacktrace": "goroutine 48213 [running]:\nruntime/debug.Stack()\n\t/usr/local/go/src/"
                    "runtime/debug/stack.go:26 +0x5e\ngithub.com/boxoffice/orders/internal/httpx."
                    "Recover.func1.1()\n\t/src/internal/httpx/recover.go:36 +0x9b\npanic({0x1a4e2c0?, "
                    "0x2c7f1a0?})\n\t/usr/local/go/src/runtime/panic.go:785 +0x132\ngithub.com/boxoffice/"
                    "orders/internal/checkout.(*Service).applyPromo(...)\n\t/src/internal/checkout/"
                    "promo.go:112\ngithub.com/boxoffice/orders/internal/checkout.(*Service).Place(0xc0003"
                    "a6e00, {0x1d6b3a8, 0xc00145e1e0}, 0xc0012f2b40)\n\t/src/internal/checkout/place.go:"
                    "188 +0x3c5",
                },
            ),
        )
    ]
    W.truth = {"kind": "deploy", "service": "orders", "change_id": cid}
    W.focus = {
        "type": r.choice(["ingress5xx", "ingress5xx", "linkerdSR"]),
        "route": "checkout",
        "svc": "orders",
    }
    W.extra_queries |= {"linkerd_pod_success", "container_info", "linkerd_failures_status"}


def sc_deploy_seatmap_canary(W):
    r = W.rng
    t = W.onset - r.uniform(30, 120)
    W.cause_t = t
    cid, new = W.deploy("seatmap", t, bump="minor", canary=1, kind=r.choice(["canary", "deploy"]))
    _pod_lat(W, new, r.uniform(40, 70))
    for p in new:
        p.cpu = [x * 2.5 for x in p.cpu]
    _pod_err(W, new, r.uniform(0.04, 0.12), code=503)
    W.add_mod("fan", ("seatmap", "mysql"), [1 + v * 2.5 for v in W.ramp(t + 20, 30)], 1.0, mul=True)
    W.own_msgs["seatmap"] = [
        (
            0.7,
            lambda rg, p, t: (
                "warn",
                "seat cache miss, loading section from database",
                {
                    "target": "seatmap::cache",
                    "event_id": rg.randint(8000, 9900),
                    "section": f"{rg.choice('ABCDEFGH')}{rg.randint(1, 40)}",
                    "key_version": "v2",
                },
            ),
        ),
        (
            0.3,
            lambda rg, p, t: (
                "error",
                "request timed out",
                {
                    "target": "seatmap::http",
                    "elapsed_ms": rg.randint(1500, 3200),
                    "uri": f"/v1/seatmap/{rg.randint(8000, 9900)}",
                },
            ),
        ),
    ]
    W.truth = {"kind": "deploy", "service": "seatmap", "change_id": cid}
    W.focus = {
        "type": "linkerdLatency",
        "route": "mobile-api",
        "svc": r.choice(["mobile-bff", "storefront", "mobile-bff", "mobile-bff"]),
    }
    W.extra_queries |= {"linkerd_pod_p99", "container_info", "mc_hits"}


def sc_deploy_accounts(W):
    r = W.rng
    t = W.onset - r.uniform(40, 150)
    W.cause_t = t
    cid, new = W.deploy("accounts", t, bump="minor", kind=r.choice(["deploy", "release"]))
    _pod_err(W, new, r.uniform(0.35, 0.65))
    col = r.choice(["mfa_enrolled_at", "marketing_opt_in_v2", "last_seen_region"])
    W.own_msgs["accounts"] = [
        (
            1.0,
            lambda rg, p, t: (
                "error",
                "Internal Server Error: /api/v1/me",
                {
                    "name": "django.request",
                    "status_code": 500,
                    "exc": 'Traceback (most recent call last):\n  File "/usr/local/lib/python3.12/'
                    'site-packages/django/db/backends/utils.py", line 105, in _execute\n    return '
                    'self.cursor.execute(sql, params)\n  File "/usr/local/lib/python3.12/site-packages/'
                    'MySQLdb/cursors.py", line 179, in execute\n    res = self._query(mogrified_query)\n'
                    "MySQLdb.OperationalError: (1054, \"Unknown column 'accounts_user."
                    + col
                    + "' in 'field list'\")\n\nThe above exception was the direct cause of the following "
                    'exception:\n\nTraceback (most recent call last):\n  File "/app/accounts/api/views.py'
                    "\", line 64, in me\n    user = User.objects.select_related('profile').get(pk=request"
                    ".user.pk)\ndjango.db.utils.OperationalError: (1054, \"Unknown column 'accounts_user."
                    + col
                    + "' in 'field list'\")",
                },
            ),
        )
    ]
    W.truth = {"kind": "deploy", "service": "accounts", "change_id": cid}
    W.focus = {
        "type": r.choice(["linkerdSR", "ingress5xx"]),
        "route": "storefront",
        "svc": "storefront",
    }
    W.extra_queries |= {"django_db_errors", "django_responses"}


def sc_deploy_pricing(W):
    r = W.rng
    t = W.onset - r.uniform(40, 150)
    W.cause_t = t
    cid, new = W.deploy("pricing", t, bump="patch", kind=r.choice(["deploy", "rollout"]))
    _pod_err(W, new, r.uniform(0.08, 0.22), code=502)
    W.own_msgs["pricing"] = [
        (
            1.0,
            lambda rg, p, t: (
                "raw",
                "thread 'tokio-runtime-worker' panicked at src/quote/fees.rs:"
                f"{rg.choice([212, 214])}:37:\ncalled `Option::unwrap()` on a `None` value\nnote: run with "
                "`RUST_BACKTRACE=1` environment variable to display a backtrace",
                {},
            ),
        )
    ]
    W.proxy_inbound_reset = getattr(W, "proxy_inbound_reset", set()) | {"pricing"}
    W.add_mod("fan", ("mobile-bff", "pricing"), [1.0] * W.n, 1.0, mul=True)
    W.truth = {"kind": "deploy", "service": "pricing", "change_id": cid}
    W.focus = {
        "type": r.choice(["linkerdSR", "ingress5xx"]),
        "route": "mobile-api",
        "svc": "mobile-bff",
    }
    W.extra_queries |= {"linkerd_out_success", "linkerd_failures_status"}


def sc_deploy_payment_canary(W):
    r = W.rng
    t = W.onset - r.uniform(30, 120)
    W.cause_t = t
    cid, new = W.deploy(
        "payment-gateway", t, bump="minor", canary=1, kind=r.choice(["canary", "deploy"])
    )
    _pod_err(W, new, r.uniform(0.85, 0.97), code=502)
    W.own_msgs["payment-gateway"] = [
        (
            1.0,
            lambda rg, p, t: (
                "error",
                "paynexa charge rejected",
                {
                    "caller": "paynexa/client.go:141",
                    "status": 400,
                    "provider": "paynexa",
                    "error": 'POST https://api.paynexa.com/v2/charges: 400 Bad Request: {"error":{"type":'
                    '"invalid_request_error","code":"idempotency_key_invalid","message":'
                    '"Idempotency-Key must be between 16 and 64 characters"}}',
                    "order_id": f"ord_{rg.hexid(12)}",
                },
            ),
        )
    ]
    W.via_status_override = {"paynexa": 400}
    W.truth = {"kind": "deploy", "service": "payment-gateway", "change_id": cid}
    W.focus = {"type": r.choice(["ingress5xx", "linkerdSR"]), "route": "checkout", "svc": "orders"}
    W.extra_queries |= {"linkerd_pod_success", "linkerd_out_success"}


def sc_deploy_bff_fanout(W):
    r = W.rng
    t = W.onset - r.uniform(40, 140)
    W.cause_t = t
    cid, new = W.deploy("mobile-bff", t, bump="minor", kind=r.choice(["deploy", "release"]))
    k = r.uniform(6.0, 9.0)
    frac = [0.0] * W.n
    for i in range(W.n):
        alive = [p for p in W.pods["mobile-bff"] if p.alive[i]]
        nn = sum(1 for p in alive if p in new and p.ready[i] > 0)
        frac[i] = nn / max(1, sum(1 for p in alive if p.ready[i] > 0))
    W.add_mod(
        "fan", ("mobile-bff", "event-catalog"), [1 + (k - 1) * f for f in frac], 1.0, mul=True
    )
    for p in new:
        p.lat = [x * 1.25 for x in p.lat]
    W.cpu_target = ("event-catalog", t + 30, 180, r.uniform(0.5, 0.65))
    W.own_msgs["mobile-bff"] = []
    W.truth = {"kind": "deploy", "service": "mobile-bff", "change_id": cid}
    W.focus = {
        "type": "linkerdLatency",
        "route": "mobile-api",
        "svc": r.choice(["event-catalog", "event-catalog", "mobile-bff"]),
    }
    W.extra_queries |= {"linkerd_rps", "cpu_throttle", "linkerd_out_success"}


def sc_config_holds_pool(W):
    r = W.rng
    t = W.onset - r.uniform(40, 150)
    W.cause_t = t
    old = SERVICES["holds"]["pool"]
    newv = 4
    W.cause_t = t
    W.pool_cfg = (t, old)
    cid = W.change(
        t - r.uniform(10, 40),
        "holds",
        r.choice(["config", "configmap"]),
        f"holds-env ConfigMap: DB_MAX_OPEN_CONNS {old} -> {newv}, "
        "DB_CONN_MAX_LIFETIME 5m -> 30m (cap holds' share of mysql connections)",
        cid=f"cfg-{r.hexid(7)}",
        author=r.choice(AUTHORS),
        url=f"https://github.com/boxoffice/k8s-config/commit/{r.hexid(40)}",
    )
    # the checksum annotation rolls the Deployment, same image
    new = W.rollout("holds", t, W.versions["holds"])
    for p in new:
        p.pool_override = True
    W.pool_new = new
    W.add_mod("demand", "checkout", W.ramp(W.onset - 300, 300, r.uniform(0.3, 0.8)), 1.0)
    W.own_msgs["holds"] = [
        (
            1.0,
            lambda rg, p, t: (
                "error",
                "create hold failed",
                {
                    "error": "context deadline exceeded",
                    "func": "holds.(*Store).Create",
                    "event_id": rg.randint(8000, 9900),
                    "seats": rg.randint(1, 6),
                    "wait_ms": rg.randint(1900, 2100),
                },
            ),
        )
    ]
    W.truth = {"kind": "config_change", "service": "holds", "change_id": cid}
    W.focus = {
        "type": r.choice(["ingress5xx", "linkerdSR", "linkerdLatency"]),
        "route": "checkout",
        "svc": r.choice(["orders", "mobile-bff"]),
    }
    W.extra_queries |= {"gosql_in_use", "gosql_wait", "gosql_max_open"}


def sc_config_ingress_ratelimit(W):
    r = W.rng
    t = W.onset - r.uniform(20, 90)
    W.cause_t = t
    lim = r.choice([20, 30, 50])
    cid = W.change(
        t,
        "ingress-nginx-controller",
        r.choice(["config", "configuration"]),
        f"Ingress {NS}/storefront: add annotation nginx.ingress.kubernetes.io/"
        f'limit-rps: "{lim}" (scraper mitigation, INC-{r.randint(900, 1400)})',
        cid=f"cfg-{r.hexid(7)}",
        author=r.choice(AUTHORS),
        url=f"https://github.com/boxoffice/k8s-config/pull/{r.randint(2000, 4000)}",
    )
    W.add_mod("reject", "storefront", W.ramp(t + 15, 60, r.uniform(0.25, 0.55)))
    W.ratelimit = ("storefront", lim)
    W.truth = {"kind": "config_change", "service": "ingress-nginx-controller", "change_id": cid}
    W.focus = {"type": "ingress5xx", "route": "storefront", "svc": "storefront"}
    W.extra_queries |= {"ingress_requests", "ingress_5xx_ratio", "linkerd_rps"}
    W.must_logs.add("ingress-nginx-controller")


def sc_config_catalog_cache(W):
    r = W.rng
    t = W.onset - r.uniform(30, 150)
    W.cause_t = t
    cid = W.change(
        t - 20,
        "event-catalog",
        r.choice(["config", "configmap"]),
        "event-catalog config: cache.ttl_seconds 300 -> 3, cache.negative_ttl "
        "60 -> 3 (debug EVT-" + str(r.randint(300, 900)) + ")",
        cid=f"cfg-{r.hexid(7)}",
        author=r.choice(AUTHORS),
        url=f"https://github.com/boxoffice/k8s-config/commit/{r.hexid(40)}",
    )
    W.rollout("event-catalog", t, W.versions["event-catalog"])
    ramp = W.ramp(t + 30, 240)
    W.add_mod("cache_hit", "event-catalog", [1 - 0.82 * v for v in ramp], 1.0, mul=True)
    W.add_mod("cap", "mysql", [1 - 0.25 * v for v in ramp], 1.0, mul=True)
    W.add_mod("lat", "mysql", [1 + r.uniform(2, 4) * v for v in ramp], 1.0, mul=True)
    W.add_mod("lat99", "mysql", [1 + r.uniform(4, 9) * v for v in ramp], 1.0, mul=True)
    W.add_mod("fan", ("event-catalog", "mysql"), [1 + 2.5 * v for v in ramp], 1.0, mul=True)
    W.add_mod("lat", "event-catalog", [1 + r.uniform(5, 9) * v for v in ramp], 1.0, mul=True)
    W.slow_query_tables = ["events", "event_performers", "venues"]
    W.truth = {"kind": "config_change", "service": "event-catalog", "change_id": cid}
    W.focus = {
        "type": "linkerdLatency",
        "route": "storefront",
        "svc": r.choice(["storefront", "mobile-bff"]),
    }
    W.extra_queries |= {"mc_hits", "mysql_questions", "mysql_slow"}


def sc_config_pricing_authz(W):
    r = W.rng
    t = W.onset - r.uniform(20, 100)
    W.cause_t = t
    cid = W.change(
        t,
        "pricing",
        r.choice(["config", "configuration"]),
        "pricing: replace ServerAuthorization pricing-http with AuthorizationPolicy "
        "+ MeshTLSAuthentication (clients: storefront, orders)",
        cid=f"cfg-{r.hexid(7)}",
        author=r.choice(AUTHORS),
        url=f"https://github.com/boxoffice/k8s-config/pull/{r.randint(2000, 4000)}",
    )
    W.add_mod("edge_err", ("mobile-bff", "pricing"), W.ramp(t + 8, 10, 1.0))
    W.authz_deny = ("mobile-bff", "pricing", t + 8)
    W.dep_hint[("mobile-bff", "pricing")] = "403"
    W.truth = {"kind": "config_change", "service": "pricing", "change_id": cid}
    W.focus = {
        "type": r.choice(["linkerdSR", "ingress5xx"]),
        "route": "mobile-api",
        "svc": "mobile-bff",
    }
    W.extra_queries |= {"authz_deny", "linkerd_out_success", "linkerd_failures_status"}
    W.must_logs.add("pricing")


def sc_cert_ingress(W):
    r = W.rng
    exp = W.onset - r.uniform(0, 60)
    W.cause_t = exp
    W.certs["tickets-boxoffice-tls"] = exp
    W.add_mod("tlsfail", "storefront", W.ramp(exp, r.uniform(120, 300), r.uniform(0.82, 0.97)))
    W.add_mod("tlsfail", "checkout", W.ramp(exp, r.uniform(120, 300), r.uniform(0.85, 0.97)))
    W.cert_broken = {
        "kind": "ingress",
        "secret": "tickets-boxoffice-tls",
        "host": "tickets.boxoffice.example",
        "exp": exp,
        "since": exp - r.uniform(20, 29) * 86400,
    }
    W.truth = {"kind": "certificate_expiry", "service": "ingress-nginx-controller"}
    W.focus = {
        "type": r.choice(["probe", "trafficDrop"]),
        "route": "storefront",
        "url": "https://tickets.boxoffice.example/healthz",
    }
    W.extra_queries |= {"probe_success", "probe_ssl", "ingress_requests"}


def sc_cert_egress(W):
    r = W.rng
    exp = W.onset - r.uniform(0, 40)
    W.cause_t = exp
    W.certs["egress-paynexa-mtls"] = exp
    W.add_mod("via_err", "paynexa", W.ramp(exp, 20, 1.0))
    W.cert_broken = {
        "kind": "egress",
        "secret": "egress-paynexa-mtls",
        "host": "api.paynexa.com",
        "exp": exp,
        "since": None,
    }
    W.dep_hint[("payment-gateway", "egress-proxy")] = "egress502"
    W.truth = {"kind": "certificate_expiry", "service": "egress-proxy"}
    W.focus = {
        "type": r.choice(["ingress5xx", "linkerdSR"]),
        "route": "checkout",
        "svc": r.choice(["orders", "payment-gateway"]),
    }
    W.extra_queries |= {"x509_not_after", "linkerd_out_success"}
    W.must_logs.add("egress-proxy")


def sc_cert_rabbitmq(W):
    r = W.rng
    exp = W.onset - r.uniform(15, 80) * 60
    W.cause_t = exp
    W.certs["rabbitmq-tls"] = exp
    td = W.onset - r.uniform(10, 60)
    W.cause_t = td
    cid, new = W.deploy("ticket-issuer", td, bump="patch", kind=r.choice(["deploy", "rollout"]))
    W.mods.setdefault("wcap", {})["ticket-issuer"] = [1.0] * W.n
    for i in range(W.n):
        alive = [p for p in W.pods["ticket-issuer"] if p.alive[i]]
        old_alive = [p for p in alive if p not in new]
        frac = len(old_alive) / max(1, len(alive))
        W.mods["wcap"]["ticket-issuer"][i] = frac
    W.mods.setdefault("wcap_cons", {})["ticket-issuer"] = W.mods["wcap"]["ticket-issuer"]
    W.innocent_cid = cid
    W.cert_broken = {
        "kind": "rabbitmq",
        "secret": "rabbitmq-tls",
        "host": "rabbitmq.boxoffice.svc",
        "exp": exp,
        "since": exp - r.uniform(20, 29) * 86400,
        "new": new,
    }
    W.truth = {"kind": "certificate_expiry", "service": "rabbitmq"}
    W.focus = {
        "type": r.choice(["queueBacklog", "celeryStalled"]),
        "queue": "orders.placed",
        "svc": "ticket-issuer",
    }
    W.extra_queries |= {"rmq_ready", "rmq_consumers", "probe_ssl", "certmanager_expiry"}
    W.must_logs |= {"ticket-issuer", "rabbitmq"}


def sc_crash_ticket_oom(W):
    r = W.rng
    t0 = W.onset - r.uniform(240, 600)
    W.cause_t = t0
    lim = W.mem_lim["ticket-issuer"] * MIB
    base = SERVICES["ticket-issuer"]["mem"] * MIB
    rate = r.uniform(6, 14) * MIB  # per second while rendering the huge event
    for k, p in enumerate(W.pods["ticket-issuer"]):
        start = t0 + k * r.uniform(10, 70)
        up = (lim - base) / rate
        crashes = W.crash_loop(
            p,
            start + up,
            lambda j, up=up: up * r.uniform(0.8, 1.1),
            reason="OOMKilled",
            exit_code=137,
            message="Container ticket-issuer exceeded its memory limit "
            f"({W.mem_lim['ticket-issuer']}Mi) and was killed",
        )
        mo = []
        for i, ts in enumerate(W.ts):
            if ts < start:
                mo.append(None)
                continue
            last = max([start] + [c + 15 for c in crashes if c < ts])
            if p.ready[i] <= 0 and any(c <= ts < c + 15 for c in crashes):
                mo.append(None if r.random() < 0.6 else base * 0.4)
                continue
            mo.append(min(lim * 0.995, base + rate * (ts - last) * r.uniform(0.95, 1.05)))
        p.mem_override = mo
    first = min(p.crashes[0] for p in W.pods["ticket-issuer"] if p.crashes)
    W.add_mod("wcap", "ticket-issuer", W.ramp(first, 30, -0.85), 1.0)
    W.own_msgs["ticket-issuer"] = [
        (
            1.0,
            lambda rg, p, t: (
                "error",
                f"Process 'ForkPoolWorker-{rg.randint(1, 4)}' pid:{rg.randint(20, 400)} "
                "exited with 'signal 9 (SIGKILL)'",
                {"name": "celery.worker"},
            ),
        )
    ]
    W.worker_lost = "ticket-issuer"
    W.truth = {"kind": "crash_loop", "service": "ticket-issuer"}
    W.focus = {
        "type": r.choice(["queueBacklog", "celeryStalled"]),
        "queue": "orders.placed",
        "svc": "ticket-issuer",
    }
    W.cause_t = min(W.cause_t, first)
    W.extra_queries |= {"restarts", "last_terminated", "mem_working_set", "rmq_ready"}


def sc_crash_holds(W):
    r = W.rng
    t0 = W.onset - r.uniform(20, 90)
    W.cause_t = t0
    for k, p in enumerate(W.alive_pods("holds", t0)):
        W.crash_loop(
            p, t0 + k * r.uniform(5, 40), lambda j: r.uniform(20, 90), reason="Error", exit_code=2
        )
    W.own_msgs["holds"] = [
        (
            1.0,
            lambda rg, p, t: (
                "raw",
                "panic: holds: reconcile expired hold "
                + str(rg.randint(7_000_000, 7_900_000))
                + ": seat_ids is empty\n\ngoroutine 87 [running]:\ngithub.com/boxoffice/holds/internal/"
                "reaper.(*Reaper).release(0xc00021e480, {0xc0004a2000, 0x24})\n\t/src/internal/reaper/"
                "reaper.go:142 +0x4f1\ngithub.com/boxoffice/holds/internal/reaper.(*Reaper).Run(0xc0002"
                "1e480, {0x1b0f3a8, 0xc000180050})\n\t/src/internal/reaper/reaper.go:77 +0x1c5\ncreated by"
                " main.main in goroutine 1\n\t/src/cmd/holds/main.go:96 +0x8a5",
                {},
            ),
        )
    ]
    W.crash_msgs = True
    W.truth = {"kind": "crash_loop", "service": "holds"}
    W.focus = {
        "type": r.choice(["ingress5xx", "linkerdSR"]),
        "route": "checkout",
        "svc": r.choice(["orders", "mobile-bff"]),
    }
    W.extra_queries |= {"restarts", "replicas_available", "waiting_reason"}


def sc_crash_catalog(W):
    r = W.rng
    t0 = W.onset - r.uniform(20, 90)
    W.cause_t = t0
    pods = W.alive_pods("event-catalog", t0)
    victims = pods if r.random() < 0.7 else pods[: max(2, len(pods) - 1)]
    for k, p in enumerate(victims):
        W.crash_loop(
            p, t0 + k * r.uniform(3, 30), lambda j: r.uniform(8, 45), reason="Error", exit_code=134
        )
    W.own_msgs["event-catalog"] = [
        (
            1.0,
            lambda rg, p, t: (
                "raw",
                "\nthread 'tokio-runtime-worker' has overflowed its stack\nfatal runtime error: "
                "stack overflow",
                {},
            ),
        )
    ]
    W.crash_msgs = True
    W.truth = {"kind": "crash_loop", "service": "event-catalog"}
    W.focus = {
        "type": r.choice(["linkerdSR", "ingress5xx"]),
        "route": r.choice(["storefront", "mobile-api"]),
        "svc": r.choice(["storefront", "mobile-bff"]),
    }
    W.extra_queries |= {"restarts", "replicas_available", "last_terminated"}


def sc_crash_bff_oom(W):
    r = W.rng
    t0 = W.onset - r.uniform(30, 100)
    W.cause_t = t0
    pods = W.alive_pods("mobile-bff", t0)
    base = SERVICES["mobile-bff"]["mem"] * MIB
    lim = W.mem_lim["mobile-bff"] * MIB
    for k, p in enumerate(pods):
        up = r.uniform(25, 90)
        start = t0 + k * r.uniform(5, 50)
        crashes = W.crash_loop(
            p,
            start,
            lambda j, up=up: up * r.uniform(0.7, 1.2),
            reason="OOMKilled",
            exit_code=137,
            message="Container mobile-bff exceeded its memory limit "
            f"({W.mem_lim['mobile-bff']}Mi) and was killed",
        )
        mo = []
        for ts in W.ts:
            if ts < start - up:
                mo.append(None)
                continue
            prev = [c for c in crashes if c <= ts]
            since = ts - (prev[-1] if prev else start - up)
            mo.append(min(lim * 0.99, base + (lim - base) * clip(since / up) ** 1.6))
        p.mem_override = mo
    W.own_msgs["mobile-bff"] = []
    W.truth = {"kind": "crash_loop", "service": "mobile-bff"}
    W.focus = {"type": "ingress5xx", "route": "mobile-api", "svc": "mobile-bff"}
    W.extra_queries |= {"restarts", "last_terminated", "mem_working_set"}


def sc_dep_mysql(W):
    r = W.rng
    variant = r.choice(["restart", "diskfull"])
    W.mysql_variant = variant
    t0 = W.onset - r.uniform(0, 60)
    W.cause_t = t0
    if variant == "restart":
        p = W.pods["mysql"][0]
        dur = r.uniform(7, 14) * 60
        for i, ts in enumerate(W.ts):
            if t0 <= ts < t0 + dur:
                p.ready[i] = 0.0
            if ts >= t0 + dur - 120:
                p.restarts[i] += 1
        W.mysql_down = (t0, t0 + dur)
        W.event(
            t0 + 30,
            "mysql",
            "Unhealthy",
            "Warning",
            "Readiness probe failed: mysqladmin: connect to server at 'localhost' failed\n"
            "error: 'Can't connect to local MySQL server through socket '/var/run/mysqld/"
            "mysqld.sock' (2)'",
            "pod/mysql-0",
            count=r.randint(20, 60),
            first=t0 + 5,
            kubelet=True,
        )
    else:
        W.mysql_down = None
        W.mysql_diskfull = t0
        ramp = W.ramp(t0, 30)
        for c in ("holds", "orders", "payment-gateway", "ticket-issuer", "accounts"):
            W.add_mod("edge_lat", (c, "mysql"), [v * 2500 for v in ramp])
            W.add_mod("edge_lat99", (c, "mysql"), [v * 60000 for v in ramp])
    W.truth = {"kind": "dependency_failure", "service": "mysql"}
    W.focus = {
        "type": r.choice(["ingress5xx", "linkerdSR"]),
        "route": r.choice(["storefront", "checkout"]),
        "svc": "storefront",
    }
    W.extra_queries |= {"mysql_up", "mysql_threads", "linkerd_tcp_close_err"}
    W.must_logs.add("mysql")


def sc_dep_rabbitmq(W):
    r = W.rng
    t0 = W.onset - r.uniform(0, 60)
    W.cause_t = t0
    W.rmq_disk_alarm = t0
    ramp = W.ramp(t0, 5)
    W.add_mod("lat", "rabbitmq", [1 + v * 4000 for v in ramp], 1.0, mul=True)
    W.add_mod("lat99", "rabbitmq", [1 + v * 3 for v in ramp], 1.0, mul=True)
    W.truth = {"kind": "dependency_failure", "service": "rabbitmq"}
    W.focus = {
        "type": r.choice(["ingress5xx", "linkerdSR", "ingressLatency"]),
        "route": "checkout",
        "svc": "orders",
    }
    W.extra_queries |= {"rmq_alarms", "rmq_disk", "rmq_published"}
    W.must_logs.add("rabbitmq")


def sc_dep_memcached_all(W):
    r = W.rng
    t0 = W.onset - r.uniform(0, 60)
    W.cause_t = t0
    n_dead = r.choice([2, 3])
    dur = r.uniform(15, 40) * 60
    for p in W.pods["memcached"][-n_dead:]:
        for i, ts in enumerate(W.ts):
            if t0 <= ts < t0 + dur:
                p.ready[i] = 0.0
    W.mc_down = (t0, t0 + dur, n_dead)
    W.add_mod("lat", "storefront", W.ramp(t0, 60, r.uniform(1.0, 2.0), t0 + dur, 120), 1.0)
    W.add_mod("lat", "accounts", W.ramp(t0, 60, r.uniform(0.3, 0.8), t0 + dur, 120), 1.0)
    W.truth = {"kind": "dependency_failure", "service": "memcached"}
    W.focus = {
        "type": r.choice(["linkerdLatency", "ingressLatency", "ingress5xx"]),
        "route": "storefront",
        "svc": "storefront",
    }
    W.extra_queries |= {"mc_up", "mc_hits", "mysql_questions"}


def sc_dep_memcached_one(W):
    r = W.rng
    t0 = W.onset - r.uniform(0, 60)
    W.cause_t = t0
    p = W.pods["memcached"][r.randint(0, 2)]
    for i, ts in enumerate(W.ts):
        if ts >= t0:
            p.ready[i] = 0.0
    W.mc_down = (t0, W.end + 600, 1)
    W.mc_dead_pod = p.name
    W.add_mod("lat", "storefront", W.ramp(t0, 60, r.uniform(1.2, 2.0)), 1.0)
    W.truth = {"kind": "dependency_failure", "service": "memcached"}
    W.focus = {"type": "linkerdLatency", "route": "storefront", "svc": "storefront"}
    W.extra_queries |= {"mc_up", "mc_hits"}


def sc_dep_paynexa_down(W):
    r = W.rng
    t0 = W.onset - r.uniform(0, 50)
    W.cause_t = t0
    W.add_mod("err", "paynexa", W.ramp(t0, 90, r.uniform(0.55, 0.95)))
    W.add_mod("lat", "paynexa", W.ramp(t0, 60, r.uniform(1.5, 4)), 1.0)
    W.ext_down = ("paynexa", t0)
    W.truth = {"kind": "dependency_failure", "service": "paynexa"}
    W.focus = {
        "type": r.choice(["ingress5xx", "linkerdSR"]),
        "route": "checkout",
        "svc": r.choice(["orders", "payment-gateway"]),
    }
    W.extra_queries |= {"probe_success", "linkerd_out_success"}


def sc_dep_paynexa_slow(W):
    r = W.rng
    t0 = W.onset - r.uniform(0, 50)
    W.cause_t = t0
    W.add_mod("lat", "paynexa", W.ramp(t0, 240, r.uniform(9, 20)), 1.0)
    W.add_mod("lat99", "paynexa", W.ramp(t0, 240, r.uniform(0.5, 1.5)), 1.0)
    W.ext_slow = ("paynexa", t0)
    W.truth = {"kind": "dependency_failure", "service": "paynexa"}
    W.focus = {
        "type": r.choice(["ingressLatency", "linkerdLatency"]),
        "route": "checkout",
        "svc": "orders",
    }
    W.extra_queries |= {"probe_duration", "linkerd_out_p99"}


def sc_dep_textwave(W):
    r = W.rng
    t0 = W.onset - r.uniform(2, 10) * 60
    W.cause_t = t0
    W.add_mod("err", "textwave", W.ramp(t0, 120, r.uniform(0.5, 0.9)))
    W.add_mod("lat", "textwave", W.ramp(t0, 120, r.uniform(25, 60)), 1.0)
    W.ext_down = ("textwave", t0)
    W.truth = {"kind": "dependency_failure", "service": "textwave"}
    W.focus = {
        "type": r.choice(["queueBacklog", "celeryFailures"]),
        "queue": "notify.sms",
        "svc": "notifier",
        "task": "notifier.tasks.send_sms",
    }
    W.extra_queries |= {"celery_failed", "rmq_ready", "probe_success"}
    W.must_logs.add("notifier")


def sc_sat_orders_cpu(W):
    r = W.rng
    t0 = W.onset - r.uniform(10, 25) * 60
    W.cause_t = t0
    W.cpu_target = ("orders", t0, r.uniform(600, 1200), r.uniform(1.35, 1.7))
    W.add_mod("demand", "checkout", W.ramp(t0, 900, r.uniform(0.2, 0.5)), 1.0)
    W.truth = {"kind": "resource_saturation", "service": "orders"}
    W.focus = {
        "type": "ingressLatency" if r.random() < 0.7 else "linkerdLatency",
        "route": "checkout",
        "svc": "orders",
    }
    W.extra_queries |= {"cpu_throttle", "cpu_usage"}
    W.extra_alerts = [{"type": "cpuThrottling", "svc": "orders"}]


def sc_sat_mysql_conns(W):
    r = W.rng
    t0 = W.onset - r.uniform(5, 25) * 60
    W.cause_t = t0
    add = r.randint(5, 8)
    W.scale_up("storefront", t0, add)
    W.scale_up("accounts", t0 + r.uniform(30, 200), r.randint(2, 3))
    W.add_mod("demand", "storefront", W.ramp(t0 - 300, 600, r.uniform(0.3, 0.6)), 1.0)
    W.add_mod("conns_add", "mysql", W.ramp(W.onset - 120, 240, 0.0))
    W.need_mysql_overflow = True
    W.truth = {"kind": "resource_saturation", "service": "mysql"}
    W.focus = {
        "type": r.choice(["ingress5xx", "linkerdSR"]),
        "route": r.choice(["storefront", "accounts"]),
        "svc": r.choice(["storefront", "accounts"]),
    }
    W.extra_queries |= {"mysql_threads", "mysql_max_conn", "mysql_conn_errors"}
    W.extra_alerts = [{"type": "mysqlConns"}] if r.random() < 0.6 else []


def sc_sat_holds_pool(W):
    r = W.rng
    t0 = W.onset - r.uniform(5, 20) * 60
    W.cause_t = t0
    ramp = W.ramp(t0, 600)
    W.add_mod("edge_lat", ("holds", "mysql"), [v * r.uniform(20, 40) for v in ramp])
    W.add_mod("edge_lat99", ("holds", "mysql"), [v * 900 for v in ramp])
    W.pool_target = ("holds", t0, 600, r.uniform(1.2, 1.5))
    W.add_mod("demand", "mobile-api", W.ramp(t0, 600, 0.25), 1.0)
    W.add_mod("fan", ("mobile-bff", "holds"), W.ramp(t0, 600, 0.8), 1.0)
    W.lock_waits = t0
    W.truth = {"kind": "resource_saturation", "service": "holds"}
    W.focus = {
        "type": r.choice(["linkerdLatency", "ingress5xx", "linkerdSR"]),
        "route": "checkout",
        "svc": r.choice(["mobile-bff", "orders"]),
    }
    W.extra_queries |= {"gosql_in_use", "gosql_wait", "mysql_lock_waits"}


def sc_sat_memcached_conns(W):
    r = W.rng
    t0 = W.onset - r.uniform(2, 15) * 60
    W.cause_t = t0
    new = W.scale_up("seatmap", t0, r.randint(3, 5))
    W.add_mod("mc_pool", "seatmap", W.ramp(t0, 60, 48.0))
    need = W.mc_max_conn * r.uniform(0.2, 0.35)
    W.add_mod("conns_add", "memcached", W.ramp(t0, 120, need))
    W.add_mod("demand", "mobile-api", W.ramp(t0 - 600, 900, 0.3), 1.0)
    W.new_seatmap = new
    W.truth = {"kind": "resource_saturation", "service": "memcached"}
    W.focus = {
        "type": "linkerdLatency",
        "route": "mobile-api",
        "svc": r.choice(["storefront", "mobile-bff", "seatmap"]),
    }
    W.extra_queries |= {"mc_conns", "mc_listener_disabled", "mc_hits"}


def sc_sat_accounts(W):
    r = W.rng
    t0 = W.onset - r.uniform(5, 20) * 60
    W.cause_t = t0
    W.cpu_target = ("accounts", t0, 600, r.uniform(1.35, 1.7))
    W.add_mod("demand", "accounts", W.ramp(t0, 600, r.uniform(0.4, 0.9)), 1.0)
    W.own_msgs["accounts"] = [
        (
            1.0,
            lambda rg, p, t: (
                "critical",
                f"WORKER TIMEOUT (pid:{rg.randint(20, 90)})",
                {"name": "gunicorn.error"},
            ),
        )
    ]
    W.truth = {"kind": "resource_saturation", "service": "accounts"}
    W.focus = {
        "type": r.choice(["linkerdSR", "linkerdLatency", "ingress5xx"]),
        "route": "accounts",
        "svc": "storefront",
    }
    W.extra_queries |= {"cpu_throttle", "cpu_usage"}
    W.extra_alerts = [{"type": "cpuThrottling", "svc": "accounts"}] if r.random() < 0.5 else []


def sc_sat_catalog_hpa(W):
    r = W.rng
    t0 = W.onset - r.uniform(10, 25) * 60
    W.cause_t = t0
    W.cpu_target = ("event-catalog", t0, 900, r.uniform(1.5, 1.9))
    W.add_mod("demand", "storefront", W.ramp(t0 - 900, 1800, 0.2), 1.0)
    W.hpa_maxed = "event-catalog"
    W.truth = {"kind": "resource_saturation", "service": "event-catalog"}
    W.focus = {
        "type": r.choice(["linkerdLatency", "linkerdLatency", "ingressLatency"]),
        "route": "storefront",
        "svc": "storefront",
    }
    W.extra_queries |= {"cpu_throttle", "hpa_replicas"}
    W.extra_alerts = [{"type": "hpaMaxed", "svc": "event-catalog"}]


def sc_surge_onsale(W):
    r = W.rng
    t0 = W.onset - r.uniform(0, 90)
    W.cause_t = t0
    t0 -= t0 % 300
    mult = r.uniform(2.8, 4.5)
    W.add_mod("demand", "storefront", W.ramp(t0, 90, mult - 1), 1.0)
    W.add_mod("demand", "checkout", W.ramp(t0 + 120, 300, mult * 1.5), 1.0)
    W.add_mod("fan", ("storefront", "seatmap"), W.ramp(t0, 90, 1.2), 1.0)
    W.add_mod("fan", ("storefront", "holds"), W.ramp(t0, 90, 2.0), 1.0)
    W.scale_up("storefront", t0 + r.uniform(60, 120), r.randint(2, 4), unschedulable=1)
    W.demand_target = ("storefront", "storefront", r.uniform(1.5, 1.9))
    W.onsale = t0
    W.truth = {"kind": "traffic_surge", "service": "storefront"}
    W.focus = {
        "type": r.choice(["ingressLatency", "ingress5xx", "linkerdLatency"]),
        "route": "storefront",
        "svc": r.choice(["storefront", "seatmap"]),
    }
    W.extra_queries |= {"ingress_requests", "linkerd_rps", "hpa_replicas"}


def sc_surge_bots(W):
    r = W.rng
    t0 = W.onset - r.uniform(0, 120)
    W.cause_t = t0
    mult = r.uniform(4, 7)
    W.add_mod("demand", "mobile-api", W.ramp(t0, 120, mult - 1), 1.0)
    W.add_mod("fan", ("mobile-bff", "seatmap"), W.ramp(t0, 120, 0.9), 1.0)
    W.add_mod("fan", ("mobile-bff", "event-catalog"), W.ramp(t0, 120, -0.6), 1.0)
    W.add_mod("fan", ("mobile-bff", "orders"), W.ramp(t0, 120, -0.8), 1.0)
    W.add_mod("fan", ("mobile-bff", "accounts"), W.ramp(t0, 120, -0.7), 1.0)
    W.demand_target = ("mobile-api", "seatmap", r.uniform(1.5, 1.9))
    W.bots = t0
    W.truth = {"kind": "traffic_surge", "service": "mobile-bff"}
    W.focus = {
        "type": r.choice(["linkerdLatency", "ingress5xx", "ingressLatency"]),
        "route": "mobile-api",
        "svc": r.choice(["seatmap", "mobile-bff"]),
    }
    W.extra_queries |= {"ingress_requests", "linkerd_rps", "cpu_throttle"}


def sc_surge_reissue(W):
    r = W.rng
    t0 = W.onset - r.uniform(2, 12) * 60
    W.cause_t = t0
    burst = r.uniform(60000, 160000)
    dur = r.uniform(120, 300)
    W.add_mod("qpub", "tickets.reissue", [burst / dur * v for v in W.ramp(t0, 0, 1.0, t0 + dur, 1)])
    new = W.scale_up("ticket-issuer", t0 + 60, r.randint(4, 8))
    W.add_mod("fan", ("ticket-issuer", "mysql"), W.ramp(t0, 60, 1.5), 1.0)
    W.mysql_target = ("ticket-issuer", (r.uniform(12, 25), r.uniform(2, 5)))
    W.reissue = (t0, burst, new)
    W.truth = {"kind": "traffic_surge", "service": "ticket-issuer"}
    W.focus = {
        "type": r.choice(["ingressLatency", "linkerdLatency", "linkerdLatency"]),
        "route": "checkout",
        "svc": r.choice(["orders", "holds"]),
    }
    W.extra_queries |= {"rmq_ready", "mysql_questions", "celery_succeeded"}


def _bad_node(W, svc, frac_pods=0.67):
    r = W.rng
    pods = W.pods[svc]
    node = r.choice(W.nodes)["name"]
    k = max(1, int(round(len(pods) * frac_pods)))
    for p in pods[:k]:
        p.node = node
    return node, pods[:k]


def sc_network(W, svc):
    r = W.rng
    t0 = W.onset - r.uniform(0, 60)
    W.cause_t = t0
    node, bad = _bad_node(W, svc, r.uniform(0.6, 1.0))
    # every other pod scheduled there (and there are few) suffers as well
    others = [p for p in W.node_pods(node) if p.svc != svc]
    for p in others:
        if r.random() < 0.7:
            p.node = next(n["name"] for n in W.nodes if n["name"] != node)
    frac = len(bad) / max(1, len(W.pods[svc]))
    loss = r.uniform(0.04, 0.12)
    ramp = W.ramp(t0, 60)
    for c in IN.get(svc, []):
        if SERVICES[c]["kind"] in ("ingress",):
            continue
        W.add_mod("edge_lat", (c, svc), [v * frac * r.uniform(40, 90) for v in ramp])
        W.add_mod("edge_lat99", (c, svc), [v * r.uniform(900, 2600) for v in ramp])
        W.add_mod("edge_err", (c, svc), [v * frac * loss * 0.3 for v in ramp])
    for d, *_ in OUT.get(svc, []):
        W.add_mod("edge_lat", (svc, d), [v * frac * r.uniform(20, 50) for v in ramp])
        W.add_mod("edge_lat99", (svc, d), [v * r.uniform(400, 1400) for v in ramp])
    W.netfault = {"node": node, "t0": t0, "loss": loss, "svc": svc, "pods": [p.name for p in bad]}
    W.truth = {"kind": "network", "service": svc}
    W.extra_queries |= {"linkerd_out_p99", "node_retrans", "linkerd_tcp_close_err"}


def sc_net_payment(W):
    sc_network(W, "payment-gateway")
    W.focus = {
        "type": W.rng.choice(["ingressLatency", "ingress5xx", "linkerdLatency"]),
        "route": "checkout",
        "svc": "orders",
    }


def sc_net_catalog(W):
    sc_network(W, "event-catalog")
    W.focus = {
        "type": W.rng.choice(["linkerdLatency", "ingressLatency"]),
        "route": W.rng.choice(["storefront", "mobile-api"]),
        "svc": W.rng.choice(["storefront", "mobile-bff"]),
    }


def sc_net_holds(W):
    sc_network(W, "holds")
    W.focus = {
        "type": W.rng.choice(["linkerdLatency", "ingress5xx"]),
        "route": "checkout",
        "svc": W.rng.choice(["orders", "mobile-bff"]),
    }


def sc_unknown_ingress(W):
    r = W.rng
    t0 = W.onset - r.uniform(0, 30)
    W.cause_t = t0
    g = r.choice(["storefront", "mobile-api"])
    svc = ROUTES[g][0]
    W.add_mod("reject", g, W.ramp(t0, 30, r.uniform(0.02, 0.06), t0 + r.uniform(400, 800), 60))
    W.reject_code = {g: 502}
    W.unknown_generic = svc
    W.truth = {"kind": "unknown", "service": "ingress-nginx-controller"}
    W.focus = {"type": "ingress5xx", "route": g, "svc": svc}


def sc_unknown_bff_latency(W):
    r = W.rng
    t0 = W.onset - r.uniform(0, 120)
    W.cause_t = t0
    W.add_mod("lat", "mobile-bff", W.ramp(t0, 300, r.uniform(2.5, 4.0)), 1.0)
    W.add_mod("cpu", "mobile-bff", W.ramp(t0, 300, r.uniform(0.05, 0.15)), 1.0)
    W.truth = {"kind": "unknown", "service": "mobile-bff"}
    W.focus = {"type": "linkerdLatency", "svc": "mobile-bff", "route": "mobile-api"}


def sc_unknown_orders(W):
    r = W.rng
    t0 = W.onset - r.uniform(0, 60)
    W.cause_t = t0
    W.add_mod("err", "orders", W.ramp(t0, 60, r.uniform(0.07, 0.14), t0 + r.uniform(600, 900), 120))
    W.own_msgs["orders"] = [
        (
            1.0,
            lambda rg, p, t: (
                "error",
                "place order failed",
                {
                    "caller": "checkout/handler.go:97",
                    "error": "context canceled",
                    "order_id": f"ord_{rg.hexid(12)}",
                },
            ),
        )
    ]
    W.truth = {"kind": "unknown", "service": "orders"}
    W.focus = {"type": "linkerdSR", "svc": "orders", "route": "checkout"}


def sc_unknown_notifier(W):
    r = W.rng
    t0 = W.onset - r.uniform(0, 120)
    W.cause_t = t0
    W.add_mod("err", "notifier", W.ramp(t0, 120, r.uniform(0.08, 0.2)))
    W.own_msgs["notifier"] = [
        (
            1.0,
            lambda rg, p, t: (
                "error",
                f"Task notifier.tasks.send_email[{rg.uuid()}] raised unexpected: "
                "KeyError('locale')",
                {
                    "name": "celery.app.trace",
                    "exc": "Traceback (most recent call last):\n"
                    '  File "/usr/local/lib/python3.12/site-packages/celery/app/trace.py", line 453, in '
                    'trace_task\n    R = retval = fun(*args, **kwargs)\n  File "/app/notifier/tasks.py", '
                    "line 58, in send_email\n    tpl = TEMPLATES[msg['template']][msg['locale']]\n"
                    "KeyError: 'locale'",
                },
            ),
        )
    ]
    W.truth = {"kind": "unknown", "service": "notifier"}
    W.focus = {
        "type": "celeryFailures",
        "svc": "notifier",
        "task": "notifier.tasks.send_email",
        "queue": "notify.email",
    }


SCENARIOS = [
    ("deploy-orders", sc_deploy_orders),
    ("deploy-seatmap-canary", sc_deploy_seatmap_canary),
    ("deploy-accounts", sc_deploy_accounts),
    ("deploy-pricing", sc_deploy_pricing),
    ("deploy-payment-canary", sc_deploy_payment_canary),
    ("deploy-bff-fanout", sc_deploy_bff_fanout),
    ("config-holds-pool", sc_config_holds_pool),
    ("config-ingress-ratelimit", sc_config_ingress_ratelimit),
    ("config-catalog-cache", sc_config_catalog_cache),
    ("config-pricing-authz", sc_config_pricing_authz),
    ("cert-ingress", sc_cert_ingress),
    ("cert-egress", sc_cert_egress),
    ("cert-rabbitmq", sc_cert_rabbitmq),
    ("crash-ticket-oom", sc_crash_ticket_oom),
    ("crash-holds", sc_crash_holds),
    ("crash-catalog", sc_crash_catalog),
    ("crash-bff-oom", sc_crash_bff_oom),
    ("dep-mysql", sc_dep_mysql),
    ("dep-rabbitmq", sc_dep_rabbitmq),
    ("dep-memcached-all", sc_dep_memcached_all),
    ("dep-memcached-one", sc_dep_memcached_one),
    ("dep-paynexa-down", sc_dep_paynexa_down),
    ("dep-paynexa-slow", sc_dep_paynexa_slow),
    ("dep-textwave", sc_dep_textwave),
    ("sat-orders-cpu", sc_sat_orders_cpu),
    ("sat-mysql-conns", sc_sat_mysql_conns),
    ("sat-holds-pool", sc_sat_holds_pool),
    ("sat-memcached-conns", sc_sat_memcached_conns),
    ("sat-accounts", sc_sat_accounts),
    ("sat-catalog-hpa", sc_sat_catalog_hpa),
    ("surge-onsale", sc_surge_onsale),
    ("surge-bots", sc_surge_bots),
    ("surge-reissue", sc_surge_reissue),
    ("net-payment", sc_net_payment),
    ("net-catalog", sc_net_catalog),
    ("net-holds", sc_net_holds),
    ("unknown-ingress", sc_unknown_ingress),
    ("unknown-bff-latency", sc_unknown_bff_latency),
    ("unknown-orders", sc_unknown_orders),
    ("unknown-notifier", sc_unknown_notifier),
]


# ---------------------------------------------------------------------------------------
# Noise: innocent changes and noisy neighbours
# ---------------------------------------------------------------------------------------

FLAGS = [
    ("storefront", "seat-picker-v2", "rollout {a}% -> {b}%"),
    ("storefront", "queue-it-waiting-room", "enabled for event {e}"),
    ("mobile-bff", "apple-pay-express", "rollout {a}% -> {b}%"),
    ("mobile-bff", "availability-polling-2s", "rollout {a}% -> {b}%"),
    ("orders", "checkout-upsell-parking", "rollout {a}% -> {b}%"),
    ("pricing", "dynamic-fees-eu", "enabled for segment {seg}"),
    ("notifier", "sms-fallback-email", "rollout {a}% -> {b}%"),
    ("event-catalog", "lineup-v2-payload", "rollout {a}% -> {b}%"),
]
CONFIGS = [
    ("notifier", "notifier-env: EMAIL_BATCH_SIZE 50 -> 100"),
    ("search-indexer", "search-indexer-env: CELERY_CONCURRENCY 2 -> 3"),
    ("storefront", "storefront-env: SESSION_COOKIE_AGE 1209600 -> 604800"),
    ("mobile-bff", "mobile-bff-config: feature_banner.refresh 60s -> 300s"),
    ("ticket-issuer", "ticket-issuer-env: PDF_FONT_CACHE true"),
    ("accounts", "accounts-env: LOGIN_THROTTLE 10/m -> 20/m"),
    ("seatmap", "seatmap config: log.level info -> debug (sampled)"),
    (
        "ingress-nginx-controller",
        "ingress-nginx ConfigMap: log-format-upstream adds $upstream_connect_time",
    ),
    ("holds", "holds-env: HOLD_TTL 600s -> 480s"),
]


def path_related(root):
    out = {root}
    out |= {d for d, *_ in OUT.get(root, [])}
    out |= set(IN.get(root, []))
    return out


def apply_noise(W):
    r = W.rng
    root = W.truth["service"]
    avoid = {root}
    if W.truth["kind"] == "unknown":
        fs = W.focus.get("svc") or root
        avoid |= path_related(fs) | path_related(root)
    cand = [
        s
        for s in (
            "storefront",
            "mobile-bff",
            "accounts",
            "event-catalog",
            "seatmap",
            "pricing",
            "holds",
            "orders",
            "payment-gateway",
            "notifier",
            "ticket-issuer",
            "search-indexer",
        )
        if s not in avoid
    ]
    # innocent deploys, some right next to the onset
    for _ in range(r.choice([1, 1, 2, 2, 3])):
        if not cand:
            break
        s = r.choice(cand)
        cand.remove(s)
        t = W.onset + r.uniform(-25, 4) * 60
        if t < W.start + 300:
            t = W.onset - r.uniform(3, 10) * 60
        can = 1 if r.random() < 0.2 and W.replicas.get(s, 1) >= 3 else 0
        kind = r.choice(["deploy", "deploy", "rollout", "release"] + (["canary"] if can else []))
        W.deploy(s, t, bump=r.choice(["patch", "minor"]), canary=can, kind=kind)
    # feature flags
    for _ in range(r.choice([0, 1, 1, 2])):
        s, flag, tpl = r.choice(FLAGS)
        if s in avoid or flag in W.flags:
            continue
        W.flags.add(flag)
        a = r.choice([5, 10, 25, 50])
        txt = tpl.format(
            a=a, b=min(100, a * 2), e=r.randint(8000, 9900), seg=r.choice(["de", "fr", "nl", "uk"])
        )
        t = W.onset + r.uniform(-40, 8) * 60
        W.change(
            t,
            s,
            r.choice(["flag", "feature_flag", "toggle"]),
            f"Unleash {flag}: {txt}",
            cid=f"unleash-{r.randint(10000, 99999)}",
            author=r.choice(AUTHORS),
        )
    if r.random() < 0.55:
        s, txt = r.choice(CONFIGS)
        if s not in avoid:
            t = W.onset + r.uniform(-50, 10) * 60
            W.change(
                t,
                s,
                r.choice(["config", "configmap"]),
                txt,
                cid=f"cfg-{r.hexid(7)}",
                author=r.choice(AUTHORS),
                url=f"https://github.com/boxoffice/k8s-config/commit/{r.hexid(40)}",
            )
    if r.random() < 0.25:
        t = W.start + r.uniform(0.1, 0.9) * W.L
        W.change(
            t,
            "gke-prod-1",
            r.choice(["infra", "terraform"]),
            "terraform: node pool "
            + r.choice(
                [
                    "pool-3 max_node_count 12 -> 16",
                    "apps image_type COS_CONTAINERD 117 -> 121",
                    "pool-2 surge upgrade settings",
                ]
            ),
            cid=f"tf-{r.randint(1000, 9999)}",
            author=r.choice(AUTHORS),
        )
    # noisy neighbours
    picks = r.sample(
        [
            "batch",
            "pricing_throttle",
            "old_oom",
            "stuffing",
            "node_cpu",
            "evictions",
            "unhealthy",
            "jobfail",
            "scale",
        ],
        r.randint(1, 3),
    )
    W.noise = picks
    for what in picks:
        if what == "batch" and root not in ("mysql", "search-indexer"):
            t0 = W.start + r.uniform(0.05, 0.8) * W.L
            dur = r.uniform(8, 30) * 60
            lvl = r.uniform(150, 600)
            for i, v in enumerate(W.ramp(t0, 120, 1.0, t0 + dur, 120)):
                W.batch[i] += lvl * v
            W.add_mod("qpub", "search.reindex", W.ramp(t0, 60, r.uniform(0.5, 2), t0 + dur, 60))
            W.batch_window = (t0, t0 + dur)
        elif what == "pricing_throttle" and "pricing" not in avoid and root != "mobile-bff":
            W.add_mod("cpu", "pricing", [r.uniform(2.2, 2.8)] * W.n, 1.0)
            W.chronic_throttle = "pricing"
        elif what == "old_oom":
            s = r.choice(["search-indexer", "notifier", "storefront"])
            if s in avoid:
                continue
            p = r.choice(W.pods[s])
            t = W.onset - r.uniform(45, 80) * 60
            if t > W.start:
                W.crash_loop(
                    p,
                    t,
                    lambda k: 1e9,
                    reason="OOMKilled",
                    exit_code=137,
                    stop=t + 1,
                    message=f"Container {s} exceeded its memory limit "
                    f"({W.mem_lim[s]}Mi) and was killed",
                )
        elif what == "stuffing" and root != "accounts":
            t0 = W.start + r.uniform(0.1, 0.7) * W.L
            W.add_mod(
                "c4xx",
                "accounts",
                W.ramp(t0, 60, r.uniform(0.3, 0.6), t0 + r.uniform(600, 1800), 60),
            )
            W.add_mod(
                "demand",
                "accounts",
                W.ramp(t0, 60, r.uniform(0.5, 1.5), t0 + r.uniform(600, 1800), 60),
                1.0,
            )
        elif what == "node_cpu":
            W.hot_node = r.choice(W.nodes)["name"]
        elif what == "evictions":
            W.mc_evict_burst = W.start + r.uniform(0.1, 0.8) * W.L
        elif what == "unhealthy":
            s = r.choice(cand or ["search-indexer"])
            if W.pods.get(s):
                p = r.choice(W.pods[s])
                t = W.start + r.uniform(0.1, 0.95) * W.L
                W.event(
                    t,
                    s,
                    "Unhealthy",
                    "Warning",
                    "Readiness probe failed: Get "
                    f'"http://{p.ip}:{SERVICES[s].get("port", 8080)}'
                    '/readyz": context deadline exceeded (Client.Timeout exceeded while '
                    "awaiting headers)",
                    f"pod/{p.name}",
                    count=r.randint(1, 3),
                    kubelet=True,
                )
        elif what == "jobfail":
            W.job_fail = W.start + r.uniform(0.05, 0.6) * W.L
        elif what == "scale" and "mobile-bff" not in avoid:
            W.scale_up("mobile-bff", W.onset - r.uniform(5, 30) * 60, 1)


# ---------------------------------------------------------------------------------------
# Metrics: one query_range answer per file, as the exporters would label them
# ---------------------------------------------------------------------------------------


def smooth(arr, k):
    if k <= 1:
        return list(arr)
    out, acc, q = [], 0.0, []
    for v in arr:
        v = 0.0 if v != v else v
        q.append(v)
        acc += v
        if len(q) > k:
            acc -= q.pop(0)
        out.append(acc / len(q))
    return out


class M:
    """Collects the series of one query."""

    def __init__(self, W, win=60):
        self.W, self.win, self.series = W, win, []
        self.k = max(1, int(round(win / W.step)))

    def add(self, labels, vals):
        if any(v is not None for v in vals):
            self.series.append((labels, vals))

    def counts(self, arr):
        """A rate as Prometheus would return it: trailing window, whole events."""
        r, win = self.W.rng, self.win
        out = []
        for v in smooth(arr, self.k):
            out.append(r.poisson(max(0.0, v) * win) / win)
        return out

    def ratio(self, num, den):
        out = []
        for a, b in zip(num, den, strict=True):
            out.append(a / b if b > 0 else float("nan"))
        return out


def gauge(W, arr, rel=0.0, nd=None):
    out = []
    for v in arr:
        if v is None:
            out.append(None)
            continue
        x = v * (1 + W.rng.gauss(0, rel)) if rel else v
        out.append(round(x, nd) if nd is not None else x)
    return out


def mask(pod, vals):
    return [v if pod.alive[i] else None for i, v in enumerate(vals)]


def kubelet_labels(W, pod, container=None):
    node = next(n for n in W.nodes if n["name"] == pod.node)
    c = container or pod.svc
    ver = pod.version
    return {
        "container": c,
        "endpoint": "https-metrics",
        "id": f"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
        f"{pod.uid.replace('-', '_')}.slice/cri-containerd-{pod.cid}.scope",
        "image": f"{SERVICES[pod.svc]['image']}:{ver}",
        "instance": f"{node['ip']}:10250",
        "job": "kubelet",
        "metrics_path": "/metrics/cadvisor",
        "name": pod.cid,
        "namespace": SERVICES[pod.svc].get("ns", NS),
        "node": pod.node,
        "pod": pod.name,
        "service": "kube-prometheus-stack-kubelet",
    }


def ksm_labels(W, **kw):
    d = {
        "endpoint": "http",
        "instance": W.ksm_instance,
        "job": "kube-state-metrics",
        "service": "kube-prometheus-stack-kube-state-metrics",
    }
    d.update(kw)
    return d


def exporter_labels(W, svc, pod, port, container="metrics"):
    if W.scrape_style == "kps":
        job = {
            "rabbitmq": "rabbitmq",
            "mysql": "mysql-metrics",
            "memcached": "memcached-metrics",
        }.get(svc, f"{svc}-metrics")
        return {
            "container": container,
            "endpoint": "metrics",
            "instance": f"{pod.ip}:{port}",
            "job": job,
            "namespace": NS,
            "pod": pod.name,
            "service": job,
        }
    return {
        "app": svc,
        "instance": f"{pod.ip}:{port}",
        "job": "kubernetes-pods",
        "namespace": NS,
        "pod": pod.name,
    }


def app_labels(W, pod, port):
    if W.scrape_style == "kps":
        return {
            "container": pod.svc,
            "endpoint": "http-metrics",
            "instance": f"{pod.ip}:{port}",
            "job": pod.svc,
            "namespace": NS,
            "pod": pod.name,
            "service": pod.svc,
        }
    return {
        "app": pod.svc,
        "instance": f"{pod.ip}:{port}",
        "job": "kubernetes-pods",
        "namespace": NS,
        "pod": pod.name,
        "pod_template_hash": pod.hash,
    }


def code_mix(W, s, i):
    """How the failing share of s's answers splits over status codes."""
    S = SERVICES[s]
    mix = {}
    own_code = getattr(W, "own_code", {}).get(s, 500)
    tot = 0.0
    for p in W.pods.get(s, []):
        if p.alive[i] and p.o_rps[i] > 0:
            tot += p.o_rps[i]
            c = p.own_code or own_code
            mix[c] = mix.get(c, 0.0) + p.o_rps[i] * p.o_e_own[i]
            mix[503] = mix.get(503, 0.0) + p.o_rps[i] * p.o_e_shed[i]
            dc = S.get("dep_code", 500)
            if s == "egress-proxy":
                dc = (
                    502
                    if getattr(W, "cert_broken", {}).get("kind") == "egress"
                    else (
                        504 if W.eto.get(("egress-proxy", "paynexa"), [0] * W.n)[i] > 0.3 else 503
                    )
                )
            elif dc in (502, 503) and W.e_dep[s][i] > 0:
                tos = sum(W.eto[(s, d)][i] for d, *_ in OUT.get(s, []))
                if tos > 0.5 * W.e_dep[s][i]:
                    dc = 504
            mix[dc] = mix.get(dc, 0.0) + p.o_rps[i] * p.o_e_dep[i]
    if tot <= 0:
        return {}
    return {c: v / tot for c, v in mix.items() if v > 0}


OK_MIX = {
    "storefront": {200: 0.90, 304: 0.04, 302: 0.03, 404: 0.025, 499: 0.005},
    "checkout": {201: 0.42, 200: 0.5, 400: 0.03, 409: 0.04, 422: 0.01},
    "mobile-api": {200: 0.93, 304: 0.03, 401: 0.02, 404: 0.015, 499: 0.005},
    "accounts": {200: 0.78, 302: 0.1, 401: 0.09, 403: 0.02, 429: 0.01},
}


def route_codes(W, g, i):
    R = W.route[g]
    svc = ROUTES[g][0]
    arr = R["arr"][i]
    out = {}
    if arr <= 0:
        return out
    fwd = R["fwd"][i]
    e_backend = W.err[svc][i] if W.unavail[svc][i] < 0.999 else 1.0
    ok = fwd * (1 - e_backend) * (1 - R["to"][i])
    c4 = W.mod("c4xx", svc)[i]
    for c, f in OK_MIX[g].items():
        out[c] = out.get(c, 0.0) + ok * f * (1 - c4)
    if c4:
        out[401] = out.get(401, 0.0) + ok * c4 * 0.85
        out[429] = out.get(429, 0.0) + ok * c4 * 0.15
    if W.unavail[svc][i] >= 0.999:
        out[503] = out.get(503, 0.0) + fwd * (1 - R["to"][i])
    else:
        for c, f in code_mix(W, svc, i).items():
            out[c] = out.get(c, 0.0) + fwd * f * (1 - R["to"][i])
    out[504] = out.get(504, 0.0) + fwd * R["to"][i]
    rc = getattr(W, "reject_code", {}).get(g, 503)
    out[rc] = out.get(rc, 0.0) + R["rej"][i]
    return out


BUILDERS: dict = {}


def builder(stem, p=0.3):
    def deco(fn):
        BUILDERS[stem] = (fn, p)
        return fn

    return deco


def ing_ns(W):
    return "exported_namespace" if W.ing_exported else "namespace"


def ing_svc(W):
    return "exported_service" if W.ing_exported else "service"


@builder("ingress_requests", 0.75)
def b_ingress_requests(W):
    m = M(W, 120)
    ns, sv = ing_ns(W), ing_svc(W)
    q = (
        f"sum by (ingress, {sv}, status) (rate(nginx_ingress_controller_requests"
        f'{{{ns}="{NS}"}}[2m]))'
    )
    for g, (svc, _h, _s, _p) in ROUTES.items():
        per = {}
        for i in range(W.n):
            for c, v in route_codes(W, g, i).items():
                per.setdefault(c, [0.0] * W.n)[i] = v
        for c in sorted(per):
            arr = per[c]
            vals = m.counts(arr)
            first = next((i for i, v in enumerate(vals) if v > 0), None)
            if first is None:
                continue
            m.add(
                {"ingress": g, sv: svc, "status": str(c)},
                [v if i >= first else None for i, v in enumerate(vals)],
            )
    return q, m.series


@builder("ingress_5xx_ratio", 0.6)
def b_ingress_5xx(W):
    m = M(W, 300)
    ns = ing_ns(W)
    sel = f'{ns}="{NS}"'
    q = (
        f'sum by (ingress) (rate(nginx_ingress_controller_requests{{{sel},status=~"5.."}}'
        f"[5m])) / sum by (ingress) (rate(nginx_ingress_controller_requests{{{sel}}}[5m]))"
    )
    for g in ROUTES:
        bad, tot = [0.0] * W.n, [0.0] * W.n
        for i in range(W.n):
            for c, v in route_codes(W, g, i).items():
                tot[i] += v
                if c >= 500:
                    bad[i] += v
        m.add({"ingress": g}, m.ratio(m.counts(bad), m.counts(tot)))
    return q, m.series


@builder("ingress_p99", 0.6)
def b_ingress_p99(W):
    ns = ing_ns(W)
    q = (
        "histogram_quantile(0.99, sum by (le, ingress) (rate(nginx_ingress_controller_request_"
        f'duration_seconds_bucket{{{ns}="{NS}"}}[2m])))'
    )
    m = M(W, 120)
    for g in ROUTES:
        R = W.route[g]
        vals = []
        p50s, p99s = smooth(R["p50"], m.k), smooth(R["p99"], m.k)
        for i in range(W.n):
            comps = [
                (R["fwd"][i], p50s[i] / 1000.0, p99s[i] / 1000.0),
                (R["rej"][i], 0.0004, 0.002),
            ]
            vals.append(hist_quantile(0.99, comps, PROM_BUCKETS))
        m.add({"ingress": g}, vals)
    return q, m.series


@builder("ingress_connections", 0.1)
def b_ingress_conns(W):
    q = 'nginx_ingress_controller_nginx_process_connections{state="active"}'
    m = M(W)
    for p in W.pods["ingress-nginx-controller"]:
        lab = {
            "__name__": "nginx_ingress_controller_nginx_process_connections",
            "controller_class": "k8s.io/ingress-nginx",
            "controller_namespace": "ingress-nginx",
            "controller_pod": p.name,
            "instance": f"{p.ip}:10254",
            "job": "ingress-nginx-controller-metrics",
            "namespace": "ingress-nginx",
            "pod": p.name,
            "state": "active",
        }
        m.add(lab, mask(p, [round(x * 1.8 + W.rng.gauss(0, 4)) for x in p.o_rps]))
    return q, m.series


@builder("ingress_ssl_expire", 0.08)
def b_ingress_ssl(W):
    q = "nginx_ingress_controller_ssl_expire_time_seconds"
    m = M(W)
    p = W.pods["ingress-nginx-controller"][0]
    for host, secret in TLS_SECRET.items():
        exp = cert_not_after(W, secret)
        lab = {
            "__name__": q,
            "class": "k8s.io/ingress-nginx",
            "host": host,
            "instance": f"{p.ip}:10254",
            "job": "ingress-nginx-controller-metrics",
            "namespace": NS,
            "secret_name": secret,
        }
        m.add(lab, [float(int(exp))] * W.n)
    return q, m.series


def cert_not_after(W, secret):
    if secret in W.certs:
        return W.certs[secret]
    r = random.Random(f"{W.idx}/{secret}")
    return W.end + r.uniform(20, 80) * 86400


def linkerd_deps(W):
    return list(MESHED_HTTP)


@builder("linkerd_rps", 0.75)
def b_linkerd_rps(W):
    m = M(W, 60)
    q = f'sum by (deployment) (rate(request_total{{namespace="{NS}", direction="inbound"}}[1m]))'
    for s in linkerd_deps(W):
        m.add(
            {"deployment": s},
            m.counts(
                [
                    W.rps[s][i] * (1 - W.unavail[s][i] if W.unavail[s][i] >= 0.999 else 1)
                    for i in range(W.n)
                ]
            ),
        )
    return q, m.series


def served(W, s, i):
    return 0.0 if W.unavail[s][i] >= 0.999 else W.rps[s][i]


@builder("linkerd_success_rate", 0.85)
def b_linkerd_sr(W):
    m = M(W, 60)
    sel = f'namespace="{NS}", direction="inbound"'
    q = (
        f'sum by (deployment) (rate(response_total{{{sel}, classification="success"}}[1m])) / '
        f"sum by (deployment) (rate(response_total{{{sel}}}[1m]))"
    )
    for s in linkerd_deps(W):
        tot = [served(W, s, i) for i in range(W.n)]
        bad = [tot[i] * W.err[s][i] for i in range(W.n)]
        good = [tot[i] - bad[i] for i in range(W.n)]
        g, b = m.counts(good), m.counts(bad)
        m.add({"deployment": s}, m.ratio(g, [x + y for x, y in zip(g, b, strict=True)]))
    return q, m.series


def _latency_query(W, q, by_pod=False, ms=True, quant=0.99):
    m = M(W, 60)
    for s in linkerd_deps(W):
        pods = W.pods[s]
        if by_pod:
            for p in pods:
                p50s, p99s = smooth(p.o_p50, m.k), smooth(p.o_p99, m.k)
                rp = smooth(p.o_rps, m.k)
                vals = [
                    hist_quantile(quant, [(rp[i], p50s[i], p99s[i])], LINKERD_BUCKETS)
                    if p.alive[i]
                    else None
                    for i in range(W.n)
                ]
                m.add(pod_key(W, p), vals)
            continue
        vals = []
        sm = {
            p.name: (smooth(p.o_rps, m.k), smooth(p.o_p50, m.k), smooth(p.o_p99, m.k)) for p in pods
        }
        for i in range(W.n):
            comps = [
                (sm[p.name][0][i], sm[p.name][1][i], sm[p.name][2][i])
                for p in pods
                if p.alive[i] and sm[p.name][1][i] > 0
            ]
            vals.append(hist_quantile(quant, comps, LINKERD_BUCKETS))
        m.add({"deployment": s}, vals)
    return q, m.series


def pod_key(W, p):
    d = {"deployment": p.svc, "pod": p.name, "pod_template_hash": p.hash}
    if W.by_version and SERVICES[p.svc]["rt"] in ("zap", "logrus", "rust", "nginx"):
        d["app_kubernetes_io_version"] = p.version.lstrip("v")
    return d


def pod_by(W):
    return "deployment, pod, pod_template_hash" + (
        ", app_kubernetes_io_version" if W.by_version else ""
    )


@builder("linkerd_p99", 0.8)
def b_linkerd_p99(W):
    q = (
        "histogram_quantile(0.99, sum by (deployment, le) (rate(response_latency_ms_bucket"
        f'{{namespace="{NS}", direction="inbound"}}[1m])))'
    )
    return _latency_query(W, q)


@builder("linkerd_p50", 0.3)
def b_linkerd_p50(W):
    q = (
        "histogram_quantile(0.5, sum by (deployment, le) (rate(response_latency_ms_bucket"
        f'{{namespace="{NS}", direction="inbound"}}[1m])))'
    )
    return _latency_query(W, q, quant=0.5)


@builder("linkerd_pod_p99", 0.3)
def b_linkerd_pod_p99(W):
    q = (
        f"histogram_quantile(0.99, sum by ({pod_by(W)}, le) (rate(response_latency_ms_bucket"
        f'{{namespace="{NS}", direction="inbound"}}[1m])))'
    )
    return _latency_query(W, q, by_pod=True)


@builder("linkerd_pod_success", 0.45)
def b_linkerd_pod_sr(W):
    m = M(W, 60)
    sel = f'namespace="{NS}", direction="inbound"'
    q = (
        f'sum by ({pod_by(W)}) (rate(response_total{{{sel}, classification="success"}}[1m])) / '
        f"sum by ({pod_by(W)}) (rate(response_total{{{sel}}}[1m]))"
    )
    for s in linkerd_deps(W):
        for p in W.pods[s]:
            bad = [p.o_rps[i] * p.o_err[i] for i in range(W.n)]
            good = [p.o_rps[i] - bad[i] for i in range(W.n)]
            g, b = m.counts(good), m.counts(bad)
            vals = m.ratio(g, [x + y for x, y in zip(g, b, strict=True)])
            m.add(pod_key(W, p), mask(p, vals))
    return q, m.series


@builder("linkerd_pod_rps", 0.3)
def b_linkerd_pod_rps(W):
    m = M(W, 60)
    q = f'sum by ({pod_by(W)}) (rate(request_total{{namespace="{NS}", direction="inbound"}}[1m]))'
    for s in linkerd_deps(W):
        for p in W.pods[s]:
            m.add(pod_key(W, p), mask(p, m.counts(p.o_rps)))
    return q, m.series


@builder("linkerd_failures_status", 0.35)
def b_linkerd_fail_status(W):
    m = M(W, 60)
    q = (
        'sum by (deployment, status_code) (rate(response_total{namespace="'
        + NS
        + '", direction="inbound", classification="failure"}[1m]))'
    )
    for s in linkerd_deps(W):
        per = {}
        for i in range(W.n):
            tot = served(W, s, i)
            if tot <= 0:
                continue
            mix = code_mix(W, s, i)
            for c, f in mix.items():
                if c >= 500:
                    per.setdefault(c, [0.0] * W.n)[i] = tot * f
        for c in sorted(per):
            vals = m.counts(per[c])
            first = next((i for i, v in enumerate(vals) if v > 0), None)
            if first is not None:
                m.add(
                    {"deployment": s, "status_code": str(c)},
                    [v if i >= first else None for i, v in enumerate(vals)],
                )
    return q, m.series


HTTP_EDGES = [(a, b) for a, b, *_ in EDGES if b in MESHED_HTTP]


def edge_list(W):
    out = []
    for svc, *_r in ROUTES.values():
        if ("ingress-nginx-controller", svc) not in out:
            out.append(("ingress-nginx-controller", svc))
    return out + HTTP_EDGES


def edge_vals(W, a, b, i):
    if a == "ingress-nginx-controller":
        tot = sum(W.route[g]["fwd"][i] for g in ROUTES if ROUTES[g][0] == b)
        return (
            tot,
            (W.err[b][i] if W.unavail[b][i] < 0.999 else 1.0),
            W.p50[b][i] + 0.3,
            W.p99[b][i] + 1.8,
        )
    return W.erps[(a, b)][i], W.eerr[(a, b)][i], W.ep50[(a, b)][i], W.ep99[(a, b)][i]


@builder("linkerd_out_success", 0.5)
def b_linkerd_out_sr(W):
    m = M(W, 60)
    sel = 'namespace=~"boxoffice|ingress-nginx", direction="outbound"'
    q = (
        f"sum by (deployment, dst_deployment) (rate(response_total{{{sel}, classification="
        f'"success"}}[1m])) / sum by (deployment, dst_deployment) (rate(response_total{{{sel}}}'
        "[1m]))"
    )
    for a, b in edge_list(W):
        tot = [edge_vals(W, a, b, i) for i in range(W.n)]
        bad = [x[0] * x[1] for x in tot]
        good = [x[0] - y for x, y in zip(tot, bad, strict=True)]
        g, bb = m.counts(good), m.counts(bad)
        m.add(
            {"deployment": a, "dst_deployment": b},
            m.ratio(g, [x + y for x, y in zip(g, bb, strict=True)]),
        )
    return q, m.series


@builder("linkerd_out_p99", 0.45)
def b_linkerd_out_p99(W):
    m = M(W, 60)
    q = (
        "histogram_quantile(0.99, sum by (deployment, dst_deployment, le) (rate("
        'response_latency_ms_bucket{namespace=~"boxoffice|ingress-nginx", direction="outbound"}'
        "[1m])))"
    )
    for a, b in edge_list(W):
        rows = [edge_vals(W, a, b, i) for i in range(W.n)]
        rp = smooth([x[0] for x in rows], m.k)
        p50 = smooth([x[2] if x[2] == x[2] else 0 for x in rows], m.k)
        p99 = smooth([x[3] if x[3] == x[3] else 0 for x in rows], m.k)
        vals = [
            hist_quantile(0.99, [(rp[i], max(p50[i], 0.3), max(p99[i], 0.6))], LINKERD_BUCKETS)
            if rp[i] > 0
            else float("nan")
            for i in range(W.n)
        ]
        m.add({"deployment": a, "dst_deployment": b}, vals)
    return q, m.series


STORE_CLIENTS = {
    "mysql": [
        "storefront",
        "accounts",
        "event-catalog",
        "seatmap",
        "pricing",
        "holds",
        "orders",
        "payment-gateway",
        "ticket-issuer",
        "notifier",
        "search-indexer",
    ],
    "memcached": ["storefront", "accounts", "event-catalog", "seatmap", "pricing", "holds"],
    "rabbitmq": ["orders", "ticket-issuer", "notifier", "search-indexer"],
}


def tcp_conns(W, c, d, i):
    alive = [p for p in W.pods[c] if p.alive[i]]
    if d == "mysql":
        if W.err["mysql"][i] >= 0.999:
            return 0.0
        rt = SERVICES[c]["rt"]
        if rt == "django":
            return len(alive) * SERVICES[c]["workers"] * 2
        if c in ("holds", "orders", "payment-gateway"):
            return sum(p.o_conns[i] or 10 for p in alive)
        if rt == "celery":
            return len(alive) * (SERVICES[c]["conc"] if c != "search-indexer" else 2)
        return len(alive) * 10
    if d == "memcached":
        live = sum(1 for p in W.pods["memcached"] if p.ready[i] > 0)
        per = {
            "django": SERVICES[c].get("workers", 3) * 2,
            "rust": W.mod("mc_pool", c, 16.0)[i],
            "logrus": 8,
        }.get(SERVICES[c]["rt"], 4)
        return len(alive) * per * live * (1 - W.mc_overflow[i] * 0.5)
    if d == "rabbitmq":
        return len(alive) * (2 if c != "orders" else 1) * W.mod("wcap_cons", c, 1.0)[i]
    return 0.0


@builder("linkerd_tcp_open", 0.3)
def b_tcp_open(W):
    m = M(W)
    q = (
        'sum by (deployment, dst_statefulset) (tcp_open_connections{namespace="'
        + NS
        + '", direction="outbound", peer="dst", dst_statefulset!=""})'
    )
    for d, cs in STORE_CLIENTS.items():
        for c in cs:
            vals = [round(tcp_conns(W, c, d, i) * (1 + W.rng.gauss(0, 0.01))) for i in range(W.n)]
            m.add({"deployment": c, "dst_statefulset": d}, vals)
    return q, m.series


@builder("linkerd_tcp_close_err", 0.3)
def b_tcp_close(W):
    m = M(W, 60)
    q = (
        "sum by (deployment, dst_deployment, dst_statefulset, errno) (rate(tcp_close_total"
        f'{{namespace="{NS}", direction="outbound", errno!=""}}[1m]))'
    )
    rows = {}
    for d, cs in STORE_CLIENTS.items():
        for c in cs:
            for i in range(W.n):
                e = W.eerr.get((c, d), [0] * W.n)[i]
                x = W.erps.get((c, d), [0] * W.n)[i]
                if d == "mysql" and W.err["mysql"][i] >= 0.999:
                    rows.setdefault((c, d, "ECONNREFUSED", "dst_statefulset"), [0.0] * W.n)[i] = (
                        min(x * 0.2, 40)
                    )
                elif d == "memcached" and W.mc_avail[i] < 1:
                    rows.setdefault((c, d, "ECONNREFUSED", "dst_statefulset"), [0.0] * W.n)[i] = (
                        min(x * 0.05 * (1 - W.mc_avail[i]), 30)
                    )
                elif e > 0.02:
                    rows.setdefault((c, d, "ECONNRESET", "dst_statefulset"), [0.0] * W.n)[i] = min(
                        x * e * 0.05, 20
                    )
                else:
                    rows.setdefault((c, d, "ECONNRESET", "dst_statefulset"), [0.0] * W.n)[i] = 0.002
    nf = getattr(W, "netfault", None)
    if nf:
        for c in IN.get(nf["svc"], []):
            if (c, nf["svc"]) in W.erps:
                arr = [
                    W.erps[(c, nf["svc"])][i] * 0.01 * v for i, v in enumerate(W.ramp(nf["t0"], 60))
                ]
                rows[(c, nf["svc"], "ETIMEDOUT", "dst_deployment")] = arr
                rows[(c, nf["svc"], "ECONNRESET", "dst_deployment")] = [v * 0.6 for v in arr]
    for (c, d, errno, key), arr in rows.items():
        vals = m.counts(arr)
        first = next((i for i, v in enumerate(vals) if v > 0), None)
        if first is not None:
            m.add(
                {"deployment": c, key: d, "errno": errno},
                [v if i >= first else None for i, v in enumerate(vals)],
            )
    return q, m.series


@builder("authz_deny", 0.05)
def b_authz(W):
    m = M(W, 60)
    q = (
        'sum by (deployment, srv_name) (rate(inbound_http_authz_deny_total{namespace="'
        + NS
        + '"}[1m]))'
    )
    ad = getattr(W, "authz_deny", None)
    if not ad:
        return q, []
    c, d, t0 = ad
    arr = [W.erps[(c, d)][i] if W.ts[i] >= t0 else 0.0 for i in range(W.n)]
    vals = m.counts(arr)
    first = next((i for i, v in enumerate(vals) if v > 0), None)
    if first is not None:
        m.add(
            {"deployment": d, "srv_name": f"{d}-http"},
            [v if i >= first else None for i, v in enumerate(vals)],
        )
    return q, m.series


def app_pods(W):
    out = []
    for s in TOPO:
        if SERVICES[s]["kind"] in ("external",):
            continue
        out.extend(W.pods[s])
    return out


CSEL = (
    'namespace=~"boxoffice|ingress-nginx", container!="", container!="POD", '
    'container!="linkerd-proxy"'
)


@builder("cpu_usage", 0.6)
def b_cpu(W):
    m = M(W, 120)
    q = (
        "sum by (namespace, pod, container) (rate(container_cpu_usage_seconds_total"
        f"{{{CSEL}}}[2m]))"
    )
    for p in app_pods(W):
        vals = smooth([p.o_cpu[i] if p.ready[i] > 0 or p.alive[i] else 0 for i in range(W.n)], m.k)
        m.add(
            {"container": p.svc, "namespace": SERVICES[p.svc].get("ns", NS), "pod": p.name},
            mask(p, [round(v, 6) for v in vals]),
        )
    return q, m.series


@builder("cpu_throttle", 0.45)
def b_throttle(W):
    m = M(W, 120)
    q = (
        f"sum by (namespace, pod, container) (rate(container_cpu_cfs_throttled_periods_total"
        f"{{{CSEL}}}[2m])) / sum by (namespace, pod, container) (rate(container_cpu_cfs_periods"
        f"_total{{{CSEL}}}[2m]))"
    )
    for p in app_pods(W):
        periods = [10.0 if p.alive[i] else 0 for i in range(W.n)]
        thr = [p.o_thr[i] * 10.0 for i in range(W.n)]
        a, b = m.counts(thr), m.counts(periods)
        m.add(
            {"container": p.svc, "namespace": SERVICES[p.svc].get("ns", NS), "pod": p.name},
            mask(p, m.ratio(a, b)),
        )
    return q, m.series


@builder("mem_working_set", 0.5)
def b_mem(W):
    m = M(W)
    q = (
        'container_memory_working_set_bytes{namespace=~"boxoffice|ingress-nginx", '
        'container!~"|POD|linkerd-proxy"}'
    )
    for p in app_pods(W):
        lab = {"__name__": "container_memory_working_set_bytes"}
        lab.update(kubelet_labels(W, p))
        m.add(lab, mask(p, [float(int(v)) if v else None for v in p.o_mem]))
    return q, m.series


@builder("mem_limit", 0.2)
def b_mem_limit(W):
    m = M(W)
    q = (
        'container_spec_memory_limit_bytes{namespace=~"boxoffice|ingress-nginx", '
        'container!~"|POD|linkerd-proxy"}'
    )
    for p in app_pods(W):
        lab = {"__name__": "container_spec_memory_limit_bytes"}
        lab.update(kubelet_labels(W, p))
        m.add(lab, mask(p, [float(W.mem_lim[p.svc] * MIB)] * W.n))
    return q, m.series


@builder("mem_ratio", 0.2)
def b_mem_ratio(W):
    m = M(W)
    sel = CSEL
    q = (
        f"sum by (namespace, pod, container) (container_memory_working_set_bytes{{{sel}}}) / "
        f"sum by (namespace, pod, container) (container_spec_memory_limit_bytes{{{sel}}} > 0)"
    )
    for p in app_pods(W):
        lim = W.mem_lim[p.svc] * MIB
        m.add(
            {"container": p.svc, "namespace": SERVICES[p.svc].get("ns", NS), "pod": p.name},
            mask(p, [v / lim if v else None for v in p.o_mem]),
        )
    return q, m.series


@builder("net_drops", 0.12)
def b_net_drops(W):
    m = M(W, 120)
    q = (
        f"sum by (namespace, pod) (rate(container_network_receive_packets_dropped_total"
        f'{{namespace="{NS}"}}[2m]))'
    )
    nf = getattr(W, "netfault", None)
    for p in app_pods(W):
        if SERVICES[p.svc].get("ns", NS) != NS:
            continue
        arr = [0.0] * W.n
        if nf and p.node == nf["node"]:
            arr = [v * p.o_rps[i] * nf["loss"] * 0.4 for i, v in enumerate(W.ramp(nf["t0"], 60))]
        m.add({"namespace": NS, "pod": p.name}, mask(p, m.counts(arr)))
    return q, m.series


@builder("restarts", 0.5)
def b_restarts(W):
    m = M(W)
    inc = W.rng.random() < 0.4
    q = (
        f'increase(kube_pod_container_status_restarts_total{{namespace="{NS}"}}[10m])'
        if inc
        else f'kube_pod_container_status_restarts_total{{namespace="{NS}"}}'
    )
    m2 = M(W, 600)
    for p in app_pods(W):
        if SERVICES[p.svc].get("ns", NS) != NS:
            continue
        lab = ksm_labels(W, container=p.svc, namespace=NS, pod=p.name, uid=p.uid)
        cum = [float(p.base_restarts + p.restarts[i]) for i in range(W.n)]
        if inc:
            k = m2.k
            vals = [cum[i] - cum[max(0, i - k)] for i in range(W.n)]
            vals = [v * (600.0 / (min(i, k) * W.step)) if i else 0.0 for i, v in enumerate(vals)]
        else:
            lab = {"__name__": "kube_pod_container_status_restarts_total", **lab}
            vals = cum
        m.add(lab, mask(p, vals))
    return q, m.series


@builder("last_terminated", 0.3)
def b_last_term(W):
    m = M(W)
    q = f'kube_pod_container_status_last_terminated_reason{{namespace="{NS}"}} == 1'
    for p in app_pods(W):
        if SERVICES[p.svc].get("ns", NS) != NS:
            continue
        base_reason = None
        if p.base_restarts:
            base_reason = random.Random(p.uid).choice(["Error", "Error", "Completed", "OOMKilled"])
        reasons = [p.term_reason[i] or base_reason for i in range(W.n)]
        for rsn in sorted({x for x in reasons if x}):
            lab = {"__name__": "kube_pod_container_status_last_terminated_reason"}
            lab.update(
                ksm_labels(W, container=p.svc, namespace=NS, pod=p.name, reason=rsn, uid=p.uid)
            )
            m.add(lab, mask(p, [1.0 if reasons[i] == rsn else None for i in range(W.n)]))
    return q, m.series


@builder("waiting_reason", 0.2)
def b_waiting(W):
    m = M(W)
    q = f'kube_pod_container_status_waiting_reason{{namespace="{NS}"}} > 0'
    for p in app_pods(W):
        if any(p.waiting):
            lab = {"__name__": "kube_pod_container_status_waiting_reason"}
            lab.update(
                ksm_labels(
                    W,
                    container=p.svc,
                    namespace=NS,
                    pod=p.name,
                    reason="CrashLoopBackOff",
                    uid=p.uid,
                )
            )
            m.add(lab, [1.0 if p.waiting[i] and p.alive[i] else None for i in range(W.n)])
    return q, m.series


def deployments():
    return [s for s in TOPO if SERVICES[s]["kind"] in ("http", "worker")]


@builder("replicas_available", 0.45)
def b_replicas(W):
    m = M(W)
    q = f'kube_deployment_status_replicas_available{{namespace="{NS}"}}'
    for s in deployments():
        lab = {"__name__": "kube_deployment_status_replicas_available"}
        lab.update(ksm_labels(W, deployment=s, namespace=NS))
        m.add(
            lab,
            [float(sum(1 for p in W.pods[s] if p.alive[i] and p.ready[i] > 0)) for i in range(W.n)],
        )
    return q, m.series


@builder("replicas_spec", 0.15)
def b_replicas_spec(W):
    m = M(W)
    q = f'kube_deployment_spec_replicas{{namespace="{NS}"}}'
    for s in deployments():
        lab = {"__name__": "kube_deployment_spec_replicas"}
        lab.update(ksm_labels(W, deployment=s, namespace=NS))
        vals = []
        for i in range(W.n):
            hashes = {}
            for p in W.pods[s]:
                if p.alive[i]:
                    hashes[p.hash] = hashes.get(p.hash, 0) + 1
            vals.append(
                float(max(hashes.values()) if hashes else W.replicas[s])
                if len(hashes) <= 1
                else float(W.replicas[s])
            )
        m.add(lab, vals)
    return q, m.series


@builder("container_info", 0.25)
def b_container_info(W):
    m = M(W)
    q = f'kube_pod_container_info{{namespace="{NS}", container!="linkerd-proxy"}}'
    for p in app_pods(W):
        if SERVICES[p.svc].get("ns", NS) != NS:
            continue
        img = f"{SERVICES[p.svc]['image']}:{p.version}"
        dig = random.Random(img).getrandbits(256)
        lab = {"__name__": "kube_pod_container_info"}
        lab.update(
            ksm_labels(
                W,
                container=p.svc,
                container_id=f"containerd://{p.cid}",
                image=img,
                image_id=f"{SERVICES[p.svc]['image']}@sha256:{dig:064x}",
                image_spec=img,
                namespace=NS,
                pod=p.name,
                uid=p.uid,
            )
        )
        m.add(lab, mask(p, [1.0] * W.n))
    return q, m.series


HPA = {
    "storefront": 12,
    "mobile-bff": 10,
    "event-catalog": 5,
    "seatmap": 10,
    "orders": 8,
    "ticket-issuer": 12,
    "accounts": 6,
}


@builder("hpa_replicas", 0.25)
def b_hpa(W):
    m = M(W)
    q = f'kube_horizontalpodautoscaler_status_current_replicas{{namespace="{NS}"}}'
    for s in HPA:
        lab = {"__name__": "kube_horizontalpodautoscaler_status_current_replicas"}
        lab.update(ksm_labels(W, horizontalpodautoscaler=s, namespace=NS))
        vals = []
        for i in range(W.n):
            hashes = {}
            for p in W.pods[s]:
                if p.alive[i]:
                    hashes[p.hash] = hashes.get(p.hash, 0) + 1
            vals.append(float(max(hashes.values())) if hashes else 0.0)
        m.add(lab, vals)
    return q, m.series


@builder("hpa_max", 0.12)
def b_hpa_max(W):
    m = M(W)
    q = f'kube_horizontalpodautoscaler_spec_max_replicas{{namespace="{NS}"}}'
    for s, mx in HPA.items():
        lab = {"__name__": "kube_horizontalpodautoscaler_spec_max_replicas"}
        lab.update(ksm_labels(W, horizontalpodautoscaler=s, namespace=NS))
        m.add(lab, [float(W.hpa_max.get(s, mx))] * W.n)
    return q, m.series


@builder("statefulset_ready", 0.15)
def b_sts(W):
    m = M(W)
    q = f'kube_statefulset_status_replicas_ready{{namespace="{NS}"}}'
    for s in ("mysql", "rabbitmq", "memcached"):
        lab = {"__name__": "kube_statefulset_status_replicas_ready"}
        lab.update(ksm_labels(W, namespace=NS, statefulset=s))
        m.add(lab, [float(sum(1 for p in W.pods[s] if p.ready[i] > 0)) for i in range(W.n)])
    return q, m.series


def node_cpu_util(W, node, i):
    tot = sum(p.o_cpu[i] for p in W.node_pods(node["name"]) if p.alive[i])
    busy = 0.35 + tot * 1.4
    if getattr(W, "hot_node", None) == node["name"]:
        busy += 5.5 * (0.5 + 0.5 * math.sin(W.ts[i] / 700.0))
    return clip(busy / 8.0 + W.rng.gauss(0, 0.01), 0.02, 0.99)


def node_labels(W, node):
    if W.scrape_style == "kps":
        return {
            "container": "node-exporter",
            "endpoint": "http-metrics",
            "instance": node["name"],
            "job": "node-exporter",
            "namespace": "monitoring",
            "pod": f"kube-prometheus-stack-prometheus-node-exporter-{node['name'][-5:]}",
            "service": "kube-prometheus-stack-prometheus-node-exporter",
        }
    return {"instance": node["name"], "job": "node-exporter"}


@builder("node_cpu", 0.35)
def b_node_cpu(W):
    m = M(W, 120)
    q = '1 - avg by (instance) (rate(node_cpu_seconds_total{job="node-exporter", mode="idle"}[2m]))'
    for nd in W.nodes:
        m.add({"instance": nd["name"]}, smooth([node_cpu_util(W, nd, i) for i in range(W.n)], m.k))
    return q, m.series


@builder("node_mem", 0.2)
def b_node_mem(W):
    m = M(W)
    q = 'node_memory_MemAvailable_bytes{job="node-exporter"}'
    for nd in W.nodes:
        used = [
            sum(p.o_mem[i] + 40 * MIB for p in W.node_pods(nd["name"]) if p.alive[i])
            for i in range(W.n)
        ]
        lab = {"__name__": "node_memory_MemAvailable_bytes", **node_labels(W, nd)}
        m.add(
            lab,
            [float(int(32 * 1024 * MIB * 0.93 - u - 2.2e9 + W.rng.gauss(0, 2e7))) for u in used],
        )
    return q, m.series


@builder("node_retrans", 0.25)
def b_node_retrans(W):
    m = M(W, 120)
    q = 'rate(node_netstat_Tcp_RetransSegs{job="node-exporter"}[2m])'
    nf = getattr(W, "netfault", None)
    for nd in W.nodes:
        traffic = [
            sum(p.o_rps[i] for p in W.node_pods(nd["name"]) if p.alive[i]) for i in range(W.n)
        ]
        arr = [0.4 + t * 0.004 for t in traffic]
        if nf and nd["name"] == nf["node"]:
            arr = [
                a + v * (traffic[i] * 25 * nf["loss"] + 30)
                for i, (a, v) in enumerate(zip(arr, W.ramp(nf["t0"], 60), strict=True))
            ]
        m.add(dict(node_labels(W, nd)), m.counts(arr))
    return q, m.series


@builder("node_drops", 0.15)
def b_node_drops(W):
    m = M(W, 120)
    q = (
        'sum by (instance) (rate(node_network_receive_drop_total{job="node-exporter", '
        'device!~"lo|veth.+|gke.+"}[2m]))'
    )
    nf = getattr(W, "netfault", None)
    for nd in W.nodes:
        arr = [0.02] * W.n
        if nf and nd["name"] == nf["node"]:
            tr = [
                sum(p.o_rps[i] for p in W.node_pods(nd["name"]) if p.alive[i]) for i in range(W.n)
            ]
            arr = [
                0.02 + v * (tr[i] * 8 * nf["loss"] + 10) for i, v in enumerate(W.ramp(nf["t0"], 60))
            ]
        m.add({"instance": nd["name"]}, m.counts(arr))
    return q, m.series


def mysql_pod_up(W, p, i):
    return p.ready[i] > 0 or p.alive[i] and not getattr(W, "mysql_down", None)


def mysql_lab(W, p, name=None):
    d = exporter_labels(W, "mysql", p, 9104)
    if name:
        d = {"__name__": name, **d}
    return d


@builder("mysql_up", 0.3)
def b_mysql_up(W):
    m = M(W)
    q = f'mysql_up{{namespace="{NS}"}}'
    for p in W.pods["mysql"]:
        m.add(mysql_lab(W, p, "mysql_up"), [1.0 if p.ready[i] > 0 else 0.0 for i in range(W.n)])
    return q, m.series


def mysql_threads(W, i, p):
    if p is W.pods["mysql"][0]:
        hang = 0.0
        if getattr(W, "mysql_diskfull", None) and W.ts[i] >= W.mysql_diskfull:
            hang = min(W.mysql_max_conn * 0.6, (W.ts[i] - W.mysql_diskfull) * 1.5)
        return min(W.mysql_max_conn + 1, W.my_conns[i] + hang)
    return 4.0 + W.rng.randint(0, 2)


@builder("mysql_threads", 0.35)
def b_mysql_threads(W):
    m = M(W)
    q = f'mysql_global_status_threads_connected{{namespace="{NS}"}}'
    for p in W.pods["mysql"]:
        vals = [
            float(round(mysql_threads(W, i, p) * (1 + W.rng.gauss(0, 0.01))))
            if p.ready[i] > 0
            else None
            for i in range(W.n)
        ]
        m.add(mysql_lab(W, p, "mysql_global_status_threads_connected"), vals)
    return q, m.series


@builder("mysql_max_conn", 0.2)
def b_mysql_max(W):
    m = M(W)
    q = f'mysql_global_variables_max_connections{{namespace="{NS}"}}'
    for p in W.pods["mysql"]:
        m.add(
            mysql_lab(W, p, "mysql_global_variables_max_connections"),
            [float(W.mysql_max_conn) if p.ready[i] > 0 else None for i in range(W.n)],
        )
    return q, m.series


@builder("mysql_running", 0.2)
def b_mysql_running(W):
    m = M(W)
    q = f'mysql_global_status_threads_running{{namespace="{NS}"}}'
    for p in W.pods["mysql"]:
        vals = []
        for i in range(W.n):
            if p.ready[i] <= 0:
                vals.append(None)
                continue
            if p is W.pods["mysql"][0]:
                x = 2 + W.rps["mysql"][i] * W.p50["mysql"][i] / 1000.0 * 3
                if getattr(W, "mysql_diskfull", None) and W.ts[i] >= W.mysql_diskfull:
                    x += min(W.mysql_max_conn * 0.5, (W.ts[i] - W.mysql_diskfull) * 1.3)
                if getattr(W, "lock_waits", None) and W.ts[i] >= W.lock_waits:
                    x += 25 * clip((W.ts[i] - W.lock_waits) / 600)
            else:
                x = 2
            vals.append(float(max(1, round(x + W.rng.gauss(0, 1)))))
        m.add(mysql_lab(W, p, "mysql_global_status_threads_running"), vals)
    return q, m.series


def _mysql_rate(W, q, fn, win=120, name=None):
    m = M(W, win)
    for p in W.pods["mysql"]:
        arr = [fn(i, p) for i in range(W.n)]
        vals = m.counts(arr)
        vals = [v if p.ready[i] > 0 else None for i, v in enumerate(vals)]
        m.add(mysql_lab(W, p), vals)
    return q, m.series


def slow_rate(W, i, p):
    if p is not W.pods["mysql"][0]:
        return 0.002
    x = 0.01 + W.rps["mysql"][i] * tail_frac(W.p50["mysql"][i], W.p99["mysql"][i], 1000) * 0.5
    x += W.batch[i] * 0.004
    if getattr(W, "mysql_diskfull", None) and W.ts[i] >= W.mysql_diskfull + 60:
        x += 0.5
    if getattr(W, "lock_waits", None) and W.ts[i] >= W.lock_waits:
        x += 2.0 * clip((W.ts[i] - W.lock_waits) / 600)
    return x


@builder("mysql_slow", 0.3)
def b_mysql_slow(W):
    return _mysql_rate(
        W,
        f'rate(mysql_global_status_slow_queries{{namespace="{NS}"}}[2m])',
        lambda i, p: slow_rate(W, i, p),
    )


@builder("mysql_questions", 0.3)
def b_mysql_q(W):
    def f(i, p):
        if p is not W.pods["mysql"][0]:
            return 30.0
        x = W.rps["mysql"][i] * (1 - W.err["mysql"][i]) + 15
        if getattr(W, "mysql_diskfull", None) and W.ts[i] >= W.mysql_diskfull:
            x *= 0.55
        return x

    return _mysql_rate(W, f'rate(mysql_global_status_questions{{namespace="{NS}"}}[1m])', f, 60)


@builder("mysql_aborted", 0.12)
def b_mysql_aborted(W):
    def f(i, p):
        if p is not W.pods["mysql"][0]:
            return 0.0
        return 0.003 + W.my_overflow[i] * 40

    return _mysql_rate(W, f'rate(mysql_global_status_aborted_connects{{namespace="{NS}"}}[2m])', f)


@builder("mysql_conn_errors", 0.18)
def b_mysql_conn_err(W):
    m = M(W, 120)
    q = f'rate(mysql_global_status_connection_errors_total{{namespace="{NS}"}}[2m])'
    for p in W.pods["mysql"]:
        for err in ("accept", "internal", "max_connections", "peer_address", "select", "tcpwrap"):
            if err == "max_connections" and p is W.pods["mysql"][0]:
                arr = [W.my_overflow[i] * 60.0 for i in range(W.n)]
            else:
                arr = [0.0] * W.n
            vals = m.counts(arr)
            m.add(
                {**mysql_lab(W, p), "error": err},
                [v if p.ready[i] > 0 else None for i, v in enumerate(vals)],
            )
    return q, m.series


@builder("mysql_lock_waits", 0.15)
def b_mysql_locks(W):
    def f(i, p):
        if p is not W.pods["mysql"][0]:
            return 0.0
        x = 0.05 + W.rps["holds"][i] * 0.0005
        if getattr(W, "lock_waits", None) and W.ts[i] >= W.lock_waits:
            x += W.rps["holds"][i] * 0.4 * clip((W.ts[i] - W.lock_waits) / 600)
        return x

    return _mysql_rate(
        W, f'rate(mysql_global_status_innodb_row_lock_waits{{namespace="{NS}"}}[2m])', f
    )


@builder("mysql_replica_lag", 0.15)
def b_mysql_lag(W):
    m = M(W)
    q = f'mysql_slave_status_seconds_behind_master{{namespace="{NS}"}}'
    p = W.pods["mysql"][1]
    src = W.pods["mysql"][0]
    lag, vals = 0.0, []
    for i in range(W.n):
        w = W.rps["mysql"][i]
        if src.ready[i] <= 0:
            vals.append(None)
            continue
        if getattr(W, "mysql_diskfull", None) and W.ts[i] >= W.mysql_diskfull:
            lag += W.step
        else:
            lag = max(0.0, lag * 0.5 + (w / 20000.0) * W.rng.random())
        vals.append(float(int(lag)))
    lab = {
        **mysql_lab(W, p, "mysql_slave_status_seconds_behind_master"),
        "channel_name": "",
        "connection_name": "",
        "master_host": "mysql-0.mysql-headless.boxoffice.svc.cluster.local",
        "master_uuid": random.Random(W.idx).choice(["3f1c", "9a7e", "c2d4"])
        + "8e2a-1b7c-11ef-9d41-42010a840017",
    }
    m.add(lab, vals)
    return q, m.series


@builder("pvc_available", 0.12)
def b_pvc(W):
    m = M(W)
    q = (
        'kubelet_volume_stats_available_bytes{namespace="' + NS + '"} / '
        'kubelet_volume_stats_capacity_bytes{namespace="' + NS + '"}'
    )
    for s in ("mysql", "rabbitmq"):
        for k, p in enumerate(W.pods[s]):
            free = random.Random(p.uid).uniform(0.35, 0.7)
            vals = []
            for i in range(W.n):
                f = free - 0.00001 * i
                if s == "mysql" and k == 0 and getattr(W, "mysql_diskfull", None):
                    f = max(0.0, 0.004 * clip((W.mysql_diskfull - W.ts[i]) / 3600.0))
                if s == "rabbitmq" and getattr(W, "rmq_disk_alarm", None) and k == 0:
                    f = max(0.035, 0.04 + 0.03 * clip((W.rmq_disk_alarm - W.ts[i]) / 3600.0))
                vals.append(f)
            lab = {"namespace": NS, "persistentvolumeclaim": f"data-{p.name}"}
            m.add(lab, vals)
    return q, m.series


def rmq_pod(W, q):
    return W.pods["rabbitmq"][QUEUE_LEADER[q]]


def rmq_lab(W, p, name, **kw):
    d = {"__name__": name, **exporter_labels(W, "rabbitmq", p, 9419, container="rabbitmq")}
    d.update(kw)
    return d


@builder("rmq_ready", 0.35)
def b_rmq_ready(W):
    m = M(W)
    q = f'rabbitmq_queue_messages_ready{{namespace="{NS}"}}'
    for qq in QUEUES:
        p = rmq_pod(W, qq)
        m.add(
            rmq_lab(W, p, "rabbitmq_queue_messages_ready", queue=qq, vhost="/"),
            [float(int(v)) for v in W.qready[qq]],
        )
    return q, m.series


@builder("rmq_unacked", 0.2)
def b_rmq_unacked(W):
    m = M(W)
    q = f'rabbitmq_queue_messages_unacked{{namespace="{NS}"}}'
    for qq in QUEUES:
        p = rmq_pod(W, qq)
        m.add(
            rmq_lab(W, p, "rabbitmq_queue_messages_unacked", queue=qq, vhost="/"),
            [float(int(v + W.rng.random() * 3)) for v in W.qunack[qq]],
        )
    return q, m.series


@builder("rmq_consumers", 0.25)
def b_rmq_consumers(W):
    m = M(W)
    q = f'rabbitmq_queue_consumers{{namespace="{NS}"}}'
    for qq in QUEUES:
        p = rmq_pod(W, qq)
        m.add(
            rmq_lab(W, p, "rabbitmq_queue_consumers", queue=qq, vhost="/"),
            [float(int(round(v))) for v in W.qcons[qq]],
        )
    return q, m.series


@builder("rmq_connections", 0.2)
def b_rmq_conns(W):
    m = M(W)
    q = f'rabbitmq_connections{{namespace="{NS}"}}'
    for k, p in enumerate(W.pods["rabbitmq"]):
        vals = []
        for i in range(W.n):
            tot = sum(tcp_conns(W, c, "rabbitmq", i) for c in STORE_CLIENTS["rabbitmq"])
            vals.append(float(int(tot / 3 + (k - 1) * 2 + 1)))
        m.add(rmq_lab(W, p, "rabbitmq_connections"), vals)
    return q, m.series


@builder("rmq_alarms", 0.15)
def b_rmq_alarms(W):
    m = M(W)
    q = f'{{__name__=~"rabbitmq_alarms_.+", namespace="{NS}"}}'
    t0 = getattr(W, "rmq_disk_alarm", None)
    for p in W.pods["rabbitmq"]:
        for name in (
            "rabbitmq_alarms_file_descriptor_limit",
            "rabbitmq_alarms_free_disk_space_watermark",
            "rabbitmq_alarms_memory_used_watermark",
        ):
            on = (
                name.endswith("disk_space_watermark")
                and t0 is not None
                and p is W.pods["rabbitmq"][0]
            )
            m.add(rmq_lab(W, p, name), [1.0 if on and t >= t0 else 0.0 for t in W.ts])
    return q, m.series


@builder("rmq_disk", 0.1)
def b_rmq_disk(W):
    m = M(W)
    q = f'rabbitmq_disk_space_available_bytes{{namespace="{NS}"}}'
    t0 = getattr(W, "rmq_disk_alarm", None)
    for k, p in enumerate(W.pods["rabbitmq"]):
        base = random.Random(p.uid).uniform(18, 30) * 1024 * MIB
        vals = []
        for t in W.ts:
            v = base
            if t0 is not None and k == 0:
                v = (
                    2.0e9 * (0.93 + 0.05 * clip((t0 - t) / 1800.0))
                    if t >= t0 - 1800
                    else 2.0e9 + (t0 - 1800 - t) * 4e5
                )
            vals.append(float(int(v + W.rng.gauss(0, 1e6))))
        m.add(rmq_lab(W, p, "rabbitmq_disk_space_available_bytes"), vals)
    return q, m.series


@builder("rmq_published", 0.2)
def b_rmq_pub(W):
    m = M(W, 60)
    q = f'sum by (pod) (rate(rabbitmq_global_messages_received_total{{namespace="{NS}"}}[1m]))'
    for k, p in enumerate(W.pods["rabbitmq"]):
        arr = [sum(W.qpub[qq][i] for qq in QUEUES if QUEUE_LEADER[qq] == k) for i in range(W.n)]
        m.add({"pod": p.name}, m.counts(arr))
    return q, m.series


@builder("rmq_delivered", 0.15)
def b_rmq_deliv(W):
    m = M(W, 60)
    q = f'sum by (pod) (rate(rabbitmq_global_messages_delivered_total{{namespace="{NS}"}}[1m]))'
    for k, p in enumerate(W.pods["rabbitmq"]):
        arr = [sum(W.qdeliver[qq][i] for qq in QUEUES if QUEUE_LEADER[qq] == k) for i in range(W.n)]
        m.add({"pod": p.name}, m.counts(arr))
    return q, m.series


def mc_lab(W, p, name, **kw):
    d = (
        {"__name__": name, **exporter_labels(W, "memcached", p, 9150)}
        if name
        else dict(exporter_labels(W, "memcached", p, 9150))
    )
    d.update(kw)
    return d


@builder("targets_up", 0.25)
def b_up(W):
    m = M(W)
    jobs = {"mysql": 9104, "memcached": 9150, "rabbitmq": 9419}
    q = f'up{{namespace="{NS}", job=~"mysql.*|memcached.*|rabbitmq|kubernetes-pods"}}'
    for s, port in jobs.items():
        for p in W.pods[s]:
            up = [
                1.0 if p.ready[i] > 0 or (s == "mysql" and p.alive[i]) else 0.0 for i in range(W.n)
            ]
            m.add({"__name__": "up", **exporter_labels(W, s, p, port)}, up)
    return q, m.series


@builder("mc_up", 0.3)
def b_mc_up(W):
    m = M(W)
    q = f'memcached_up{{namespace="{NS}"}}'
    for p in W.pods["memcached"]:
        m.add(mc_lab(W, p, "memcached_up"), [1.0 if p.ready[i] > 0 else None for i in range(W.n)])
    return q, m.series


@builder("mc_conns", 0.25)
def b_mc_conns(W):
    m = M(W)
    q = f'memcached_current_connections{{namespace="{NS}"}}'
    for k, p in enumerate(W.pods["memcached"]):
        m.add(
            mc_lab(W, p, "memcached_current_connections"),
            [float(int(W.mc_conns[k][i])) if p.ready[i] > 0 else None for i in range(W.n)],
        )
    return q, m.series


@builder("mc_max_conns", 0.12)
def b_mc_max(W):
    m = M(W)
    q = f'memcached_max_connections{{namespace="{NS}"}}'
    for p in W.pods["memcached"]:
        m.add(
            mc_lab(W, p, "memcached_max_connections"),
            [float(W.mc_max_conn) if p.ready[i] > 0 else None for i in range(W.n)],
        )
    return q, m.series


@builder("mc_hits", 0.3)
def b_mc_hits(W):
    m = M(W, 60)
    q = (
        f'sum by (pod, status) (rate(memcached_commands_total{{namespace="{NS}", '
        'command="get"}[1m]))'
    )
    pods = W.pods["memcached"]
    for p in pods:
        hit, miss = [0.0] * W.n, [0.0] * W.n
        for i in range(W.n):
            live = sum(1 for x in pods if x.ready[i] > 0)
            if p.ready[i] <= 0 or live == 0:
                continue
            for c in HIT_BASE:
                gets = W.erps[(c, "memcached")][i] / live
                h = W.hit[c][i] / max(W.mc_avail[i], 1e-6)
                hit[i] += gets * h
                miss[i] += gets * (1 - h)
        for st, arr in (("hit", hit), ("miss", miss)):
            vals = m.counts(arr)
            m.add(
                {"pod": p.name, "status": st},
                [v if p.ready[i] > 0 else None for i, v in enumerate(vals)],
            )
    return q, m.series


@builder("mc_evictions", 0.15)
def b_mc_evict(W):
    m = M(W, 120)
    q = f'rate(memcached_items_evicted_total{{namespace="{NS}"}}[2m])'
    t0 = getattr(W, "mc_evict_burst", None)
    for p in W.pods["memcached"]:
        arr = [0.05 + (8.0 if t0 and t0 <= t < t0 + 900 else 0.0) for t in W.ts]
        vals = m.counts(arr)
        m.add(mc_lab(W, p, None), [v if p.ready[i] > 0 else None for i, v in enumerate(vals)])
    return q, m.series


@builder("mc_listener_disabled", 0.1)
def b_mc_listen(W):
    m = M(W, 120)
    q = f'rate(memcached_connections_listener_disabled_total{{namespace="{NS}"}}[2m])'
    for p in W.pods["memcached"]:
        arr = [W.mc_overflow[i] * 30.0 for i in range(W.n)]
        vals = m.counts(arr)
        m.add(mc_lab(W, p, None), [v if p.ready[i] > 0 else None for i, v in enumerate(vals)])
    return q, m.series


PROBES = [
    ("https://tickets.boxoffice.example/healthz", "http_2xx", "storefront"),
    ("https://api.boxoffice.example/healthz", "http_2xx", "mobile-api"),
    ("https://login.boxoffice.example/healthz", "http_2xx", "accounts"),
    ("https://api.paynexa.com/v2/health", "http_2xx_external", "paynexa"),
    ("https://api.textwave.io/status", "http_2xx_external", "textwave"),
    ("rabbitmq.boxoffice.svc.cluster.local:5671", "tcp_tls", "rabbitmq"),
]


def probe_state(W, target, i):
    """(success, duration seconds, http status, cert expiry)"""
    t = W.ts[i]
    r = W.rng
    if target in ROUTES:
        host = ROUTES[target][1]
        exp = cert_not_after(W, TLS_SECRET[host])
        if t >= exp:
            return 0.0, 0.03 + r.random() * 0.01, 0.0, exp
        svc = ROUTES[target][0]
        ok = 1.0 if (W.unavail[svc][i] < 0.999 and W.err[svc][i] < 0.5) else 0.0
        return ok, 0.04 + W.p50[svc][i] / 1000 * 0.3, 200.0 if ok else 503.0, exp
    if target in ("paynexa", "textwave"):
        e = W.err[target][i]
        ok = 1.0 if r.random() > e else 0.0
        dur = 0.05 + W.p50[target][i] / 1000.0 * (1 + r.gauss(0, 0.1))
        if dur > 5:
            ok, dur = 0.0, 5.0
        return (
            ok,
            dur,
            200.0 if ok else r.choice([502.0, 503.0]),
            W.end + 40 * 86400 + (7 * 86400 if target == "paynexa" else 0),
        )
    exp = cert_not_after(W, "rabbitmq-tls")
    return (0.0 if t >= exp else 1.0), 0.004 + r.random() * 0.003, 0.0, exp


@builder("probe_success", 0.35)
def b_probe(W):
    m = M(W)
    q = 'probe_success{job="blackbox"}'
    for url, mod, tgt in PROBES:
        m.add(
            {"__name__": "probe_success", "instance": url, "job": "blackbox", "module": mod},
            [probe_state(W, tgt, i)[0] for i in range(W.n)],
        )
    return q, m.series


@builder("probe_duration", 0.2)
def b_probe_dur(W):
    m = M(W)
    q = 'probe_duration_seconds{job="blackbox"}'
    for url, mod, tgt in PROBES:
        m.add(
            {
                "__name__": "probe_duration_seconds",
                "instance": url,
                "job": "blackbox",
                "module": mod,
            },
            [round(probe_state(W, tgt, i)[1], 6) for i in range(W.n)],
        )
    return q, m.series


@builder("probe_ssl", 0.2)
def b_probe_ssl(W):
    m = M(W)
    q = 'probe_ssl_earliest_cert_expiry{job="blackbox"} - time()'
    for url, mod, tgt in PROBES:
        vals = []
        for i in range(W.n):
            ok, _d, _c, exp = probe_state(W, tgt, i)
            vals.append(float(int(exp)) - W.ts[i])
        m.add({"instance": url, "job": "blackbox", "module": mod}, vals)
    return q, m.series


@builder("probe_http_status", 0.1)
def b_probe_status(W):
    m = M(W)
    q = 'probe_http_status_code{job="blackbox"}'
    for url, mod, tgt in PROBES:
        if mod == "tcp_tls":
            continue
        m.add(
            {
                "__name__": "probe_http_status_code",
                "instance": url,
                "job": "blackbox",
                "module": mod,
            },
            [probe_state(W, tgt, i)[2] for i in range(W.n)],
        )
    return q, m.series


CERTS = [
    ("tickets-boxoffice-tls", NS, "letsencrypt-prod", "ClusterIssuer"),
    ("api-boxoffice-tls", NS, "letsencrypt-prod", "ClusterIssuer"),
    ("login-boxoffice-tls", NS, "letsencrypt-prod", "ClusterIssuer"),
    ("rabbitmq-tls", NS, "boxoffice-internal-ca", "Issuer"),
    ("linkerd-identity-issuer", "linkerd", "linkerd-trust-anchor", "Issuer"),
]


def cert_ready(W, name, t):
    """cert-manager keeps Ready=True while the served certificate is valid, even when
    renewals fail; it turns False once the certificate has expired."""
    return t < cert_not_after(W, name)


@builder("certmanager_expiry", 0.12)
def b_cm_exp(W):
    m = M(W)
    q = "certmanager_certificate_expiration_timestamp_seconds"
    for name, ns, iss, kind in CERTS:
        exp = cert_not_after(W, name)
        m.add(
            {
                "__name__": q,
                "container": "cert-manager-controller",
                "instance": W.cm_instance,
                "issuer_group": "cert-manager.io",
                "issuer_kind": kind,
                "issuer_name": iss,
                "job": "cert-manager",
                "name": name,
                "namespace": ns,
            },
            [float(int(exp))] * W.n,
        )
    return q, m.series


@builder("certmanager_ready", 0.1)
def b_cm_ready(W):
    m = M(W)
    q = "certmanager_certificate_ready_status"
    for name, ns, iss, kind in CERTS:
        for cond in ("False", "True", "Unknown"):
            vals = []
            for t in W.ts:
                ready = cert_ready(W, name, t)
                vals.append(1.0 if (cond == "True") == ready and cond != "Unknown" else 0.0)
            m.add(
                {
                    "__name__": q,
                    "condition": cond,
                    "container": "cert-manager-controller",
                    "instance": W.cm_instance,
                    "issuer_group": "cert-manager.io",
                    "issuer_kind": kind,
                    "issuer_name": iss,
                    "job": "cert-manager",
                    "name": name,
                    "namespace": ns,
                },
                vals,
            )
    return q, m.series


X509 = [
    ("egress-paynexa-mtls", "boxoffice-prod.merchants.paynexa.com", "Paynexa Merchant CA G2"),
    ("egress-textwave-mtls", "boxoffice-prod", "textwave client CA 2024"),
    ("tickets-boxoffice-tls", "tickets.boxoffice.example", "R11"),
    ("api-boxoffice-tls", "api.boxoffice.example", "R10"),
    ("rabbitmq-tls", "rabbitmq.boxoffice.svc.cluster.local", "boxoffice internal CA"),
]


@builder("x509_not_after", 0.1)
def b_x509(W):
    m = M(W)
    q = 'x509_cert_not_after{secret_namespace="' + NS + '"}'
    for sec, cn, icn in X509:
        exp = cert_not_after(W, sec)
        m.add(
            {
                "__name__": "x509_cert_not_after",
                "instance": W.x509_instance,
                "issuer_CN": icn,
                "job": "x509-certificate-exporter",
                "secret_key": "tls.crt",
                "secret_name": sec,
                "secret_namespace": NS,
                "serial_number": str(random.Random(sec + str(W.idx)).getrandbits(120)),
                "subject_CN": cn,
            },
            [float(int(exp))] * W.n,
        )
    return q, m.series


@builder("x509_expired", 0.06)
def b_x509_exp(W):
    m = M(W)
    q = 'x509_cert_expired{secret_namespace="' + NS + '"}'
    for sec, cn, icn in X509:
        exp = cert_not_after(W, sec)
        m.add(
            {
                "__name__": "x509_cert_expired",
                "instance": W.x509_instance,
                "issuer_CN": icn,
                "job": "x509-certificate-exporter",
                "secret_key": "tls.crt",
                "secret_name": sec,
                "secret_namespace": NS,
                "subject_CN": cn,
            },
            [1.0 if t >= exp else 0.0 for t in W.ts],
        )
    return q, m.series


TASK_EXC = {
    "ticket-issuer": "OperationalError",
    "notifier": "HTTPStatusError",
    "search-indexer": "OperationalError",
}


def task_exception(W, w, i):
    if getattr(W, "worker_lost", None) == w:
        return "WorkerLostError"
    if w == "notifier" and W.truth["kind"] == "unknown" and W.truth["service"] == "notifier":
        return "KeyError"
    if w == "notifier":
        return "HTTPStatusError"
    return "OperationalError"


@builder("celery_failed", 0.3)
def b_celery_failed(W):
    m = M(W, 300)
    q = 'sum by (name, exception) (rate(celery_task_failed_total{job="celery-exporter"}[5m]))'
    for qq, d in QUEUES.items():
        w = d["consumer"]
        share = [W.qdeliver[qq][i] / W.rps[w][i] if W.rps[w][i] > 0 else 0 for i in range(W.n)]
        arr = [W.task_fail[w][i] * share[i] * 0.3 for i in range(W.n)]
        if getattr(W, "worker_lost", None) == w:
            arr = [
                W.rps[w][i] * 0.1
                + sum(1 for p in W.pods[w] if p.ready[i] <= 0 and p.alive[i]) * 0.02
                for i in range(W.n)
            ]
        vals = m.counts(arr)
        first = next((i for i, v in enumerate(vals) if v > 0), None)
        if first is not None:
            m.add(
                {"exception": task_exception(W, w, first), "name": d["task"]},
                [v if i >= first else None for i, v in enumerate(vals)],
            )
    return q, m.series


@builder("celery_succeeded", 0.25)
def b_celery_ok(W):
    m = M(W, 300)
    q = 'sum by (name) (rate(celery_task_succeeded_total{job="celery-exporter"}[5m]))'
    for qq, d in QUEUES.items():
        w = d["consumer"]
        share = [W.qdeliver[qq][i] / W.rps[w][i] if W.rps[w][i] > 0 else 0 for i in range(W.n)]
        arr = [W.task_ok[w][i] * share[i] for i in range(W.n)]
        m.add({"name": d["task"]}, m.counts(arr))
    return q, m.series


@builder("celery_runtime", 0.15)
def b_celery_rt(W):
    m = M(W, 300)
    q = (
        "histogram_quantile(0.95, sum by (le, name) (rate(celery_task_runtime_bucket"
        '{job="celery-exporter"}[5m])))'
    )
    for qq, d in QUEUES.items():
        w = d["consumer"]
        tms = smooth(W.task_ms[w], m.k)
        rp = smooth(W.qdeliver[qq], m.k)
        vals = [
            hist_quantile(
                0.95, [(rp[i], max(tms[i], 1) / 1000, max(tms[i], 1) * 3.5 / 1000)], PROM_BUCKETS
            )
            for i in range(W.n)
        ]
        m.add({"name": d["task"]}, vals)
    return q, m.series


@builder("celery_queue_length", 0.12)
def b_celery_qlen(W):
    m = M(W)
    q = 'celery_queue_length{job="celery-exporter"}'
    for qq in QUEUES:
        m.add(
            {
                "__name__": "celery_queue_length",
                "instance": W.celery_instance,
                "job": "celery-exporter",
                "queue_name": qq,
            },
            [float(int(v)) for v in W.qready[qq]],
        )
    return q, m.series


@builder("celery_workers", 0.12)
def b_celery_workers(W):
    m = M(W)
    q = 'celery_worker_up{job="celery-exporter"}'
    for w in W.task_ok:
        for p in W.pods[w]:
            m.add(
                {
                    "__name__": "celery_worker_up",
                    "hostname": f"celery@{p.name}",
                    "instance": W.celery_instance,
                    "job": "celery-exporter",
                },
                mask(p, [1.0 if p.ready[i] > 0 else 0.0 for i in range(W.n)]),
            )
    return q, m.series


DJANGO = ["storefront", "accounts"]


@builder("django_responses", 0.25)
def b_django_resp(W):
    m = M(W, 60)
    q = (
        f"sum by (pod, status) (rate(django_http_responses_total_by_status_total"
        f'{{namespace="{NS}"}}[1m]))'
    )
    for s in DJANGO:
        for p in W.pods[s]:
            ok = [p.o_rps[i] * (1 - p.o_err[i]) for i in range(W.n)]
            bad = [p.o_rps[i] * (p.o_err[i] - p.o_e_shed[i] * 0.9) for i in range(W.n)]
            for st, arr in (
                ("200", [x * 0.94 for x in ok]),
                ("302", [x * 0.04 for x in ok]),
                ("404", [x * 0.02 for x in ok]),
                ("500", bad),
            ):
                vals = m.counts(arr)
                first = next((i for i, v in enumerate(vals) if v > 0), None)
                if first is not None:
                    m.add(
                        {"pod": p.name, "status": st},
                        mask(p, [v if i >= first else None for i, v in enumerate(vals)]),
                    )
    return q, m.series


@builder("django_db_errors", 0.2)
def b_django_db(W):
    m = M(W, 120)
    q = f'sum by (pod, type) (rate(django_db_errors_total{{namespace="{NS}"}}[2m]))'
    for s in DJANGO:
        for p in W.pods[s]:
            arr = [0.0] * W.n
            for i in range(W.n):
                if (s, "mysql") in W.eerr:
                    arr[i] += p.o_rps[i] * W.eerr[(s, "mysql")][i] * 1.2
                if (
                    s == "accounts"
                    and W.truth["kind"] == "deploy"
                    and W.truth["service"] == "accounts"
                ):
                    arr[i] += p.o_rps[i] * p.o_e_own[i]
            vals = m.counts(arr)
            first = next((i for i, v in enumerate(vals) if v > 0), None)
            if first is not None:
                m.add(
                    {"pod": p.name, "type": "OperationalError"},
                    mask(p, [v if i >= first else None for i, v in enumerate(vals)]),
                )
    return q, m.series


@builder("django_cache", 0.15)
def b_django_cache(W):
    m = M(W, 120)
    q = (
        f'sum by (pod) (rate(django_cache_get_hits_total{{namespace="{NS}"}}[2m])) / '
        f'sum by (pod) (rate(django_cache_get_total{{namespace="{NS}"}}[2m]))'
    )
    for s in DJANGO:
        for p in W.pods[s]:
            gets = [p.o_rps[i] * (2.5 if s == "storefront" else 1.0) for i in range(W.n)]
            hits = [gets[i] * W.hit[s][i] for i in range(W.n)]
            m.add({"pod": p.name}, mask(p, m.ratio(m.counts(hits), m.counts(gets))))
    return q, m.series


GO_SQL = ["holds", "orders", "payment-gateway"]


@builder("gosql_in_use", 0.25)
def b_gosql(W):
    m = M(W)
    q = f'sum by (pod) (go_sql_stats_connections_in_use{{namespace="{NS}", db_name="boxoffice"}})'
    for s in GO_SQL:
        for p in W.pods[s]:
            m.add(
                {"pod": p.name},
                mask(
                    p,
                    [
                        float(int(round(v))) if p.ready[i] > 0 else 0.0
                        for i, v in enumerate(p.o_pool_use)
                    ],
                ),
            )
    return q, m.series


@builder("gosql_max_open", 0.12)
def b_gosql_max(W):
    m = M(W)
    q = f'go_sql_stats_connections_max_open{{namespace="{NS}"}}'
    for s in GO_SQL:
        pm = W.mod("pool_max", s, float(W.pool_max[s]))
        for p in W.pods[s]:
            lab = {
                "__name__": "go_sql_stats_connections_max_open",
                "db_name": "boxoffice",
                **app_labels(W, p, 9090),
            }
            v0 = next((pm[i] for i in range(W.n) if p.alive[i]), pm[0])
            m.add(lab, mask(p, [v0] * W.n))
    return q, m.series


@builder("gosql_wait", 0.2)
def b_gosql_wait(W):
    m = M(W, 60)
    q = f'sum by (pod) (rate(go_sql_stats_connections_waited_for{{namespace="{NS}"}}[1m]))'
    for s in GO_SQL:
        for p in W.pods[s]:
            m.add({"pod": p.name}, mask(p, m.counts(p.o_pool_wait)))
    return q, m.series


@builder("py_process_rss", 0.1)
def b_py_rss(W):
    m = M(W)
    q = (
        f'process_resident_memory_bytes{{namespace="{NS}", '
        'container=~"storefront|accounts|ticket-issuer|notifier"}'
    )
    for s in ("storefront", "accounts", "ticket-issuer", "notifier"):
        for p in W.pods[s]:
            lab = {"__name__": "process_resident_memory_bytes", **app_labels(W, p, 9100)}
            if W.scrape_style == "kps":
                lab["container"] = s
            m.add(
                lab,
                mask(
                    p,
                    [
                        float(int(v * 0.86)) if v and p.ready[i] > 0 else None
                        for i, v in enumerate(p.o_mem)
                    ],
                ),
            )
    return q, m.series


@builder("go_goroutines", 0.12)
def b_goroutines(W):
    m = M(W)
    q = (
        f'sum by (pod) (go_goroutines{{namespace="{NS}", '
        'container=~"mobile-bff|orders|holds|payment-gateway"})'
    )
    for s in ("mobile-bff", "orders", "holds", "payment-gateway"):
        for p in W.pods[s]:
            vals = [
                float(int(40 + p.o_rps[i] * p.o_p50[i] / 1000.0 * 3 + W.rng.gauss(0, 3)))
                if p.ready[i] > 0
                else None
                for i in range(W.n)
            ]
            m.add({"pod": p.name}, mask(p, vals))
    return q, m.series


# ---------------------------------------------------------------------------------------
# Logs, in each runtime's own shape, as a Loki / Fluent Bit pipeline ships them
# ---------------------------------------------------------------------------------------

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
UAS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
    "like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/125.0.0.0 Safari/537.36",
    "BoxofficeApp/5.14.2 (iOS 17.5; iPhone15,2)",
    "BoxofficeApp/5.14.1 (Android 14; SM-S918B)",
    "okhttp/4.12.0",
]


def tlocal(t):
    dt = datetime.fromtimestamp(t, tz=UTC)
    return f"{dt.day:02d}/{MONTHS[dt.month - 1]}/{dt.year}:{dt.strftime('%H:%M:%S')} +0000"


def pyasc(t):
    dt = datetime.fromtimestamp(round(t, 3), tz=UTC)
    return dt.strftime("%Y-%m-%d %H:%M:%S") + f",{dt.microsecond // 1000:03d}"


def pyiso(t):
    dt = datetime.fromtimestamp(round(t, 6), tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond:06d}+00:00"


def fill_path(rg, path):
    return path.replace("{id}", str(rg.randint(8000, 9900)))


def addr(d):
    port = {"mysql": 3306, "memcached": 11211, "rabbitmq": 5672}.get(d, 8080)
    if d in ("storefront", "accounts"):
        port = 8000
    return f"{d}.{NS}.svc.cluster.local:{port}"


class LogSink:
    def __init__(self, W):
        self.W = W
        self.files: dict[str, list] = {}
        self.seq = 0

    def put(self, fname, t, rec):
        self.seq += 1
        self.files.setdefault(fname, []).append((t, self.seq, rec))

    def ship(self, p, t, container=None, stream="stdout"):
        return {
            "app": p.svc,
            "namespace": SERVICES[p.svc].get("ns", NS),
            "pod": p.name,
            "container": container or p.svc,
            "node": p.node,
        }

    # --- the runtimes --------------------------------------------------------------
    def zap(self, p, t, level, msg, fields):
        W = self.W
        rec = {"level": level, "ts": round(t, 6) if W.zap_epoch.get(p.svc, True) else iso(t, 3)}
        rec["caller"] = fields.pop(
            "caller", f"{p.svc.replace('-', '')}/server.go:{W.rng.randint(60, 240)}"
        )
        rec["msg"] = msg
        rec.update(fields)
        if (
            level in ("error", "dpanic", "fatal")
            and "stacktrace" not in rec
            and W.rng.random() < 0.3
        ):
            rec["stacktrace"] = (
                f"github.com/boxoffice/{p.svc}/internal/httpx.(*Server).handle\n"
                f"\t/src/internal/httpx/server.go:{W.rng.randint(80, 200)}\n"
                "net/http.HandlerFunc.ServeHTTP\n\t/usr/local/go/src/net/http/"
                "server.go:2220"
            )
        rec.update(self.ship(p, t))
        self.put(p.svc, t, rec)

    def logrus(self, p, t, level, msg, fields):
        lv = {"warn": "warning"}.get(level, level)
        rec = dict(fields)
        rec.update({"level": lv, "msg": msg, "time": iso(t, 0)})
        rec = {k: rec[k] for k in sorted(rec)}  # encoding/json sorts a map's keys
        rec.update(self.ship(p, t))
        self.put(p.svc, t, rec)

    def rust(self, p, t, level, msg, fields):
        W = self.W
        tgt = fields.pop("target", f"{p.svc.replace('-', '_')}::http")
        rec = {
            "timestamp": iso(t, 6),
            "level": level.upper().replace("CRITICAL", "ERROR"),
            "message": msg,
            "target": tgt,
        }
        rec.update(fields)
        if "uri" in fields or tgt.endswith("::http"):
            rec["span"] = {
                "method": fields.get("method", "GET"),
                "uri": fields.get("uri", fill_path(W.rng, W.rng.choice(PATHS.get(p.svc, ["/"])))),
                "name": "request",
            }
        rec["threadId"] = f"ThreadId({W.rng.randint(2, 9)})"
        rec.update(self.ship(p, t))
        self.put(p.svc, t, rec)

    def django(self, p, t, level, msg, fields):
        lv = {
            "warn": "WARNING",
            "error": "ERROR",
            "info": "INFO",
            "critical": "CRITICAL",
            "debug": "DEBUG",
        }[level]
        name = fields.pop("name", "django.request")
        rec = {"timestamp": pyiso(t), "levelname": lv, "name": name, "message": msg}
        exc = fields.pop("exc", None)
        rec.update(fields)
        if exc:
            rec["exc_info"] = exc
        rec.update(self.ship(p, t))
        if name == "gunicorn.error":
            rec.pop("timestamp")
            rec = {
                "time": iso(t, 6),
                "stream": "stderr",
                "log": f"[{pyasc(t)[:19]} +0000] [{self.W.rng.randint(1, 9)}] [{lv}] {msg}",
                "level": lv,
                **self.ship(p, t),
            }
        self.put(p.svc, t, rec)

    def celery(self, p, t, level, msg, fields):
        lv = {"warn": "WARNING", "error": "ERROR", "info": "INFO", "critical": "CRITICAL"}[level]
        proc = fields.pop(
            "proc",
            "MainProcess"
            if "received" in msg or "Cannot connect" in msg
            else f"ForkPoolWorker-{self.W.rng.randint(1, 4)}",
        )
        line = f"[{pyasc(t)}: {lv}/{proc}] {msg}"
        exc = fields.pop("exc", None)
        if exc:
            line += "\n" + exc
        rec = {"time": iso(t, 6), "stream": "stderr", "log": line, "level": lv}
        rec.update(self.ship(p, t))
        self.put(p.svc, t, rec)

    def raw(self, p, t, text, container=None, stream="stderr", level=None):
        rec = {"time": iso(t, 6), "stream": stream, "log": text}
        if level:
            rec["level"] = level
        rec.update(self.ship(p, t, container))
        self.put(p.svc, t, rec)

    def proxy(self, p, t, level, text):
        up = max(1.0, t - max(p.created, self.W.start - 86400 * 3))
        line = f"[{up:>12.6f}s] {level.upper():>5} ThreadId({self.W.rng.randint(1, 3):02d}) {text}"
        self.raw(p, t, line, container="linkerd-proxy", stream="stdout", level=level.upper())

    def emit(self, p, t, level, msg, fields):
        rt = SERVICES[p.svc]["rt"]
        fields = dict(fields)
        if level == "raw":
            self.raw(p, t, msg)
            return
        if rt == "zap":
            self.zap(p, t, level, msg, fields)
        elif rt == "logrus":
            self.logrus(p, t, level, msg, fields)
        elif rt == "rust":
            self.rust(p, t, level, msg, fields)
        elif rt == "django":
            self.django(p, t, level, msg, fields)
        elif rt == "celery":
            self.celery(p, t, level, msg, fields)
        else:
            self.raw(p, t, msg, level=level)


def dep_flavour(W, s, d, i):
    h = W.dep_hint.get((s, d))
    if h:
        return h
    e = W.eerr.get((s, d), [0] * W.n)[i]
    to = W.eto.get((s, d), [0] * W.n)[i]
    if d == "mysql":
        if W.err["mysql"][i] >= 0.999:
            return "refused"
        if W.my_overflow[i] > 0.001:
            return "too_many"
        if to > 0.3 * max(e, 1e-9):
            return "timeout"
        return "db_error"
    if d == "memcached":
        if W.mc_overflow[i] > 0:
            return "mc_refused"
        return "mc_down"
    if d == "rabbitmq":
        return "amqp_timeout"
    if d == "egress-proxy":
        return "timeout" if to > 0.3 * max(e, 1e-9) else "egress5xx"
    if W.unavail[d][i] >= 0.999:
        return "unavailable"
    if to > 0.3 * max(e, 1e-9):
        return "timeout"
    return "5xx"


def dep_text(W, p, d, fl, i):
    """What the caller's own logger says when its call to d failed."""
    rg = W.rng
    rt = SERVICES[p.svc]["rt"]
    s = p.svc
    path = fill_path(rg, rg.choice(PATHS.get(d, ["/"])))
    mysql_ip = W.dns.setdefault("mysql", f"10.96.{rg.randint(0, 255)}.{rg.randint(2, 250)}")
    if rt in ("zap", "logrus"):
        if d == "mysql":
            err = {
                "refused": f"dial tcp {mysql_ip}:3306: connect: connection refused",
                "too_many": "Error 1040 (08004): Too many connections",
                "timeout": "context deadline exceeded",
                "db_error": "invalid connection",
            }.get(fl, "driver: bad connection")
            return (
                "error",
                "query failed",
                {
                    "error": err,
                    "db": "boxoffice",
                    "query": rg.choice(
                        ["SelectHold", "InsertOrder", "UpdateSeatStatus", "InsertPayment"]
                    ),
                },
            )
        if d == "rabbitmq":
            return (
                "error",
                "publish failed",
                {
                    "error": "publish orders.placed: context deadline exceeded",
                    "exchange": "orders",
                    "routing_key": "orders.placed",
                },
            )
        if d == "memcached":
            return (
                "warn",
                "cache get failed",
                {
                    "error": f"dial tcp 10.52.{rg.randint(0, 15)}.{rg.randint(2, 250)}:11211: "
                    + ("connect: connection refused" if fl == "mc_refused" else "i/o timeout"),
                    "key": f"hold:{rg.randint(8000, 9900)}",
                },
            )
        if d == "egress-proxy":
            x = VIA[s]
            if fl == "egress502":
                st = "502 Bad Gateway"
            elif fl == "timeout":
                return (
                    "error",
                    f"{x} request failed",
                    {
                        "error": f'Post "http://egress-proxy.{NS}.svc.cluster.local:8080/{x}/v2/'
                        'charges": context deadline exceeded (Client.Timeout exceeded '
                        "while awaiting headers)",
                        "provider": x,
                    },
                )
            else:
                st = rg.choice(["503 Service Unavailable", "502 Bad Gateway"])
            return (
                "error",
                f"{x} request failed",
                {
                    "error": f"POST https://{SERVICES[x]['host']}/v2/charges: {st}",
                    "provider": x,
                    "attempt": rg.randint(1, 3),
                },
            )
        url = f"http://{addr(d)}{path}"
        if fl == "timeout":
            err = (
                f'Get "{url}": context deadline exceeded (Client.Timeout exceeded while '
                "awaiting headers)"
            )
        elif fl == "403":
            err = f"{url}: unexpected status 403 Forbidden"
        elif fl == "unavailable":
            err = f"{url}: unexpected status 503 Service Unavailable"
        else:
            code = max(code_mix(W, d, i).items(), key=lambda kv: kv[1], default=(502, 1))[0]
            err = f"{url}: unexpected status {code} {HTTP_TEXT.get(code, 'Bad Gateway')}"
        return "error", "upstream request failed", {"upstream": d, "error": err}
    if rt == "rust":
        if d == "mysql":
            err = {
                "refused": "error communicating with database: Connection refused (os error 111)",
                "too_many": "error returned from database: 1040 (08004): Too many connections",
                "timeout": "pool timed out while waiting for an open connection",
            }.get(fl, "error communicating with database: Connection reset by peer (os error 104)")
            return (
                "error",
                "database query failed",
                {"target": f"{s.replace('-', '_')}::db", "error": err},
            )
        if d == "memcached":
            return (
                "warn",
                "cache unavailable, falling back to database",
                {
                    "target": f"{s.replace('-', '_')}::cache",
                    "error": "io error: Connection refused (os error 111)"
                    if fl == "mc_refused"
                    else "io error: connection timed out",
                },
            )
    if rt == "django":
        if d == "mysql":
            e = {
                "refused": "MySQLdb.OperationalError: (2002, \"Can't connect to server on "
                f"'mysql.{NS}.svc.cluster.local' (115)\")",
                "too_many": "MySQLdb.OperationalError: (1040, 'Too many connections')",
                "timeout": "MySQLdb.OperationalError: (2013, 'Lost connection to server during "
                "query')",
            }.get(fl, "MySQLdb.OperationalError: (2006, 'Server has gone away')")
            return (
                "error",
                f"Internal Server Error: {fill_path(rg, rg.choice(PATHS[s]))}",
                {"status_code": 500, "exc": PY_TB_DB + e.replace("MySQLdb.", "django.db.utils.")},
            )
        if d == "memcached":
            return (
                "warn",
                "cache backend error, treating as miss",
                {
                    "name": "boxoffice.cache",
                    "exc": 'Traceback (most recent call last):\n  File "/usr/local/lib/python3.12/'
                    'site-packages/pymemcache/client/hash.py", line 213, in _run_cmd\n'
                    "    return self._safely_run_func(client, func, default_val, *args, "
                    "**kwargs)\n"
                    + (
                        "ConnectionRefusedError: [Errno 111] Connection refused"
                        if fl == "mc_refused"
                        else "TimeoutError: timed out"
                    ),
                },
            )
        url = f"http://{addr(d)}{path}"
        if fl == "timeout":
            e = (
                f"requests.exceptions.ReadTimeout: HTTPConnectionPool(host='{d}.{NS}.svc."
                f"cluster.local', port={addr(d).rsplit(':', 1)[1]}): Read timed out. "
                "(read timeout=2.0)"
            )
        else:
            code = (
                503
                if fl == "unavailable"
                else max(code_mix(W, d, i).items(), key=lambda kv: kv[1], default=(502, 1))[0]
            )
            e = (
                f"requests.exceptions.HTTPError: {code} Server Error: "
                f"{HTTP_TEXT.get(code, 'Bad Gateway')} for url: {url}"
            )
        return (
            "error",
            f"Internal Server Error: {fill_path(rg, rg.choice(PATHS[s]))}",
            {"status_code": 500, "exc": PY_TB_HTTP + e},
        )
    if rt == "celery":
        task = next(q["task"] for q in QUEUES.values() if q["consumer"] == s)
        tid = rg.uuid()
        if d == "mysql":
            e = {
                "refused": "OperationalError(2002, \"Can't connect to server on 'mysql."
                f"{NS}.svc.cluster.local' (115)\")",
                "too_many": "OperationalError(1040, 'Too many connections')",
            }.get(fl, "OperationalError(2013, 'Lost connection to server during query')")
            return (
                "error",
                f"Task {task}[{tid}] raised unexpected: {e}",
                {"exc": PY_TB_DB + "django.db.utils." + e.replace("(", ": (", 1)},
            )
        if d == "egress-proxy" and fl == "timeout":
            e = "ReadTimeout('timed out')"
            if rg.random() < 0.7:
                return (
                    "info",
                    f"Task {task}[{tid}] retry: Retry in {rg.choice([30, 60, 120])}s: {e}",
                    {},
                )
            return (
                "error",
                f"Task {task}[{tid}] raised unexpected: {e}",
                {
                    "exc": 'Traceback (most recent call last):\n  File "/usr/local/lib/python3.12/'
                    'site-packages/httpx/_transports/default.py", line 72, in map_httpcore_'
                    "exceptions\n    yield\nhttpx.ReadTimeout: timed out"
                },
            )
        if d == "egress-proxy":
            x = VIA[s]
            code = rg.choice([503, 502, 429]) if fl != "egress502" else 502
            e = (
                f"HTTPStatusError(\"Server error '{code} {HTTP_TEXT.get(code, '')}' for url "
                f"'http://egress-proxy.{NS}.svc.cluster.local:8080/{x}/v1/messages'\\nFor more "
                f"information check: https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/"
                f'{code}")'
            )
            if rg.random() < 0.7:
                return (
                    "info",
                    f"Task {task}[{tid}] retry: Retry in {rg.choice([30, 60, 120])}s: {e}",
                    {},
                )
            return "error", f"Task {task}[{tid}] raised unexpected: {e}", {}
        if d == "rabbitmq":
            return (
                "error",
                f"Task {task}[{tid}] raised unexpected: OperationalError('timed out')",
                {},
            )
    return "error", f"call to {d} failed", {}


HTTP_TEXT = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    429: "Too Many Requests",
    400: "Bad Request",
    403: "Forbidden",
}
PY_TB_DB = (
    'Traceback (most recent call last):\n  File "/usr/local/lib/python3.12/site-packages/'
    'django/db/backends/base/base.py", line 279, in ensure_connection\n    self.connect()'
    '\n  File "/usr/local/lib/python3.12/site-packages/django/db/backends/mysql/base.py",'
    " line 254, in get_new_connection\n    connection = Database.connect(**conn_params)\n"
)
PY_TB_HTTP = (
    'Traceback (most recent call last):\n  File "/usr/local/lib/python3.12/'
    "site-packages/"
    'django/core/handlers/exception.py", line 55, in inner\n    response = get_response('
    'request)\n  File "/app/boxoffice/clients.py", line 88, in get_json\n    resp.'
    "raise_for_status()\n"
)

NOISE_ERR = {
    "zap": [
        ("warn", "client closed request", {"error": "context canceled"}),
        (
            "error",
            "request failed",
            {
                "error": "json: cannot unmarshal string into Go struct field CartItem.qty of "
                "type int",
                "status": 400,
            },
        ),
    ],
    "logrus": [("warning", "hold not found", {"hold_id": "h_7f3a"})],
    "rust": [
        ("warn", "client disconnected before response was sent", {}),
        ("error", "invalid query parameter", {"param": "date_from"}),
    ],
    "django": [
        ("warn", "Not Found: /wp-login.php", {"name": "django.request", "status_code": 404}),
        ("warn", "Unauthorized: /api/v1/me", {"name": "django.request", "status_code": 401}),
        (
            "error",
            "Invalid HTTP_HOST header: '10.52.3.1:8000'. You may need to add "
            "'10.52.3.1' to ALLOWED_HOSTS.",
            {"name": "django.security.DisallowedHost"},
        ),
    ],
    "celery": [("warn", "Soft time limit (60s) exceeded for search.tasks.reindex_event[{u}]", {})],
}


def info_line(W, sink, p, t, i):
    rg = W.rng
    rt = SERVICES[p.svc]["rt"]
    s = p.svc
    lat = max(0.2, p.o_p50[i] * math.exp(rg.gauss(0, 0.5))) if p.o_p50[i] == p.o_p50[i] else 5
    path = fill_path(rg, rg.choice(PATHS.get(s, ["/"])))
    if rt == "zap":
        if s == "orders" and rg.random() < 0.4:
            sink.zap(
                p,
                t,
                "info",
                "order placed",
                {
                    "order_id": f"ord_{rg.hexid(12)}",
                    "tickets": rg.randint(1, 6),
                    "amount_cents": rg.randint(2500, 48000),
                    "currency": rg.choice(["EUR", "GBP"]),
                },
            )
        elif s == "payment-gateway" and rg.random() < 0.5:
            sink.zap(
                p,
                t,
                "info",
                "charge authorized",
                {
                    "provider": "paynexa",
                    "charge_id": f"ch_{rg.hexid(16)}",
                    "latency_ms": int(lat * 8),
                },
            )
        else:
            sink.zap(
                p,
                t,
                "info",
                "request",
                {
                    "method": rg.choice(["GET", "GET", "POST"]),
                    "path": path,
                    "status": 200,
                    "latency_ms": round(lat, 1),
                    "request_id": rg.hexid(16),
                },
            )
    elif rt == "logrus":
        if rg.random() < 0.5:
            sink.logrus(
                p,
                t,
                "info",
                "hold created",
                {"event_id": rg.randint(8000, 9900), "seats": rg.randint(1, 6), "ttl": "10m0s"},
            )
        else:
            sink.logrus(
                p, t, "info", "hold released", {"hold_id": f"h_{rg.hexid(8)}", "reason": "expired"}
            )
    elif rt == "rust":
        sink.rust(
            p,
            t,
            "info",
            "finished processing request",
            {
                "latency": f"{lat:.3f}ms",
                "status": 200,
                "uri": path,
                "target": "tower_http::trace::on_response",
            },
        )
    elif rt == "django":
        ua = rg.choice(UAS) if s == "storefront" else "python-requests/2.32.3"
        sink.django(
            p,
            t,
            "info",
            f"10.52.{rg.randint(0, 15)}.{rg.randint(2, 250)} - - "
            f'[{tlocal(t)}] "GET {path} HTTP/1.1" 200 {rg.randint(800, 40000)} "-" '
            f'"{ua}"',
            {"name": "gunicorn.access"},
        )
    elif rt == "celery":
        task = rg.choice([q["task"] for q in QUEUES.values() if q["consumer"] == s])
        tid = rg.uuid()
        if rg.random() < 0.5:
            sink.celery(p, t, "info", f"Task {task}[{tid}] received", {"proc": "MainProcess"})
        else:
            sink.celery(
                p,
                t,
                "info",
                f"Task {task}[{tid}] succeeded in "
                f"{max(0.01, lat / 1000 * rg.uniform(0.7, 1.4)):.4f}s: None",
                {},
            )


def nginx_access(W, sink, p, t, g, status, up_ms):
    rg = W.rng
    svc, host, _s, paths = ROUTES[g]
    path = fill_path(rg, rg.choice(paths))
    meth = "POST" if g == "checkout" and rg.random() < 0.6 else "GET"
    ip = (
        f"{rg.choice(['81', '92', '185', '86', '151', '37'])}.{rg.randint(1, 254)}."
        f"{rg.randint(1, 254)}.{rg.randint(1, 254)}"
    )
    port = 8000 if svc in ("storefront", "accounts") else 8080
    ups = f"[{NS}-{svc}-{port}]"
    svc_ip = W.dns.setdefault(svc, f"10.96.{rg.randint(0, 255)}.{rg.randint(2, 250)}")
    rid = rg.hexid(32)
    rlen = rg.randint(300, 1400)
    if up_ms is None:
        tail = f"{ups} [] - - - - {rid}"
        rt = 0.0
    else:
        ust = status if status != 504 else 504
        tail = (
            f"{ups} [] {svc_ip}:{port} {rg.randint(0, 60000) if status < 400 else 150} "
            f"{up_ms / 1000:.3f} {ust} {rid}"
        )
        rt = up_ms / 1000 + 0.001
    ua = rg.choice(UAS)
    line = (
        f'{ip} - - [{tlocal(t)}] "{meth} {path} HTTP/2.0" {status} '
        f"{rg.randint(150, 90000) if status < 400 else rg.choice([150, 190, 552])} "
        f'"https://{host}/" "{ua}" {rlen} {rt:.3f} {tail}'
    )
    sink.raw(p, t, line, container="controller", stream="stdout", level="info")


def nginx_error(W, sink, p, t, msg, g=None, level="error", upstream=None, host=None, req=None):
    rg = W.rng
    dt = datetime.fromtimestamp(t, tz=UTC)
    pid = W.nginx_pid.setdefault(p.name, rg.randint(30, 90))
    client = (
        f"{rg.choice(['81', '92', '185'])}.{rg.randint(1, 254)}.{rg.randint(1, 254)}."
        f"{rg.randint(1, 254)}"
        if g
        else f"10.52.{rg.randint(0, 15)}.{rg.randint(2, 250)}"
    )
    if g:
        svc, host, _s, paths = ROUTES[g]
        req = req or f"GET {fill_path(rg, rg.choice(paths))} HTTP/2.0"
    conn = rg.randint(10**6, 10**8)
    parts = [
        f"{dt.strftime('%Y/%m/%d %H:%M:%S')} [{level}] {pid}#{pid}: *{conn}"
        f' {msg}, client: {client}, server: {host or "_"}, request: "{req}"'
    ]
    if upstream:
        parts.append(f'upstream: "{upstream}"')
    parts.append(f'host: "{host}"')
    sink.raw(
        p,
        t,
        ", ".join(parts),
        container="controller" if p.svc.startswith("ingress") else "nginx",
        stream="stderr",
        level=level,
    )


def gen_logs(W, services):
    sink = LogSink(W)
    rg = W.rng
    step = W.step
    base_rate = {
        "django": 5.0,
        "zap": 4.0,
        "logrus": 2.5,
        "rust": 3.0,
        "celery": 4.0,
        "nginx": 6.0,
        "mysql": 0.0,
        "rabbitmq": 0.0,
        "memcached": 0.0,
    }
    for s in services:
        S = SERVICES[s]
        rt = S["rt"]
        for p in W.pods[s]:
            tot_rps = max(1e-9, sum(x.o_rps[0] for x in W.pods[s] if x.alive[0]))
            for i, t0 in enumerate(W.ts):
                if not p.alive[i]:
                    continue
                share = (
                    p.o_rps[i] / max(1e-9, W.rps[s][i])
                    if W.rps[s][i] > 0
                    else 1.0 / max(1, len(W.pods[s]))
                )
                if S["kind"] == "ingress":
                    _ingress_step(W, sink, p, i, t0, share)
                    continue
                if S["kind"] == "store":
                    continue
                if p.ready[i] > 0 or rt == "celery":
                    k = rg.poisson(
                        base_rate.get(rt, 2)
                        * step
                        / 60.0
                        * min(3.0, share * len(W.pods[s]))
                        / len(W.pods[s])
                        * (1 if p.ready[i] > 0 else 0.2)
                    )
                    for _ in range(k):
                        info_line(W, sink, p, t0 - rg.uniform(0, step), i)
                # failures
                if S["kind"] == "worker":
                    n_fail = W.task_fail[s][i] * share * step * 0.004
                else:
                    n_fail = p.o_rps[i] * p.o_err[i] * step * 0.004
                cap = max(1, int(round(1.5 * step / 60.0)))
                k = min(cap, rg.poisson(n_fail))
                for _ in range(k):
                    _error_line(W, sink, p, i, t0 - rg.uniform(0, step))
                _proxy_lines(W, sink, p, i, t0)
            del tot_rps
    _special_logs(W, sink, services)
    return sink.files


def _error_line(W, sink, p, i, t):
    rg = W.rng
    s = p.svc
    own, dep, shed = p.o_e_own[i], p.o_e_dep[i], p.o_e_shed[i]
    if SERVICES[s]["kind"] == "worker":
        own = W.e_own[s][i] if W.e_own[s][i] else p.o_e_own[i]
    tot = own + dep + shed
    if tot <= 0:
        return
    x = rg.random() * tot
    base_own = 0.0012
    if x < own:
        msgs = W.own_msgs.get(s)
        if msgs and own > base_own * 2 and rg.random() > base_own / own:
            wsum = sum(w for w, _ in msgs)
            y = rg.random() * wsum
            for w, fn in msgs:
                y -= w
                if y <= 0:
                    res = fn(rg, p, t)
                    if res:
                        lv, msg, f = res
                        sink.emit(p, t, lv, msg, f)
                    return
        if s in W.own_msgs and not W.own_msgs[s] and own > base_own * 2:
            return  # the fault leaves no line of its own
        opts = NOISE_ERR.get(SERVICES[s]["rt"])
        if opts:
            lv, msg, f = rg.choice(opts)
            sink.emit(p, t, lv, msg.replace("{u}", rg.uuid()), f)
        return
    if x < own + shed:
        rt = SERVICES[s]["rt"]
        if rt == "django":
            sink.django(
                p,
                t,
                "critical",
                f"WORKER TIMEOUT (pid:{rg.randint(20, 90)})",
                {"name": "gunicorn.error"},
            )
        elif rt in ("zap", "logrus"):
            sink.emit(
                p,
                t,
                "warn",
                "request timed out in handler",
                {
                    "error": "http: Handler timeout",
                    "path": fill_path(rg, rg.choice(PATHS.get(s, ["/"]))),
                },
            )
        elif rt == "rust":
            sink.rust(
                p,
                t,
                "warn",
                "request timed out",
                {"target": "tower::timeout", "elapsed_ms": rg.randint(1000, 3000)},
            )
        return
    # a dependency: pick the edge that hurts most
    cands = []
    for d, fan, prop, _to, _w in OUT.get(s, []):
        if s == "egress-proxy":
            continue
        e = W.eerr.get((s, d), [0] * W.n)[i]
        cands.append((prop * e * fan, d))
    cands = [c for c in cands if c[0] > 0]
    if not cands:
        return
    y = rg.random() * sum(c for c, _ in cands)
    for c, d in cands:
        y -= c
        if y <= 0:
            fl = dep_flavour(W, s, d, i)
            lv, msg, f = dep_text(W, p, d, fl, i)
            sink.emit(p, t, lv, msg, f)
            return


def _ingress_step(W, sink, p, i, t0, share):
    rg = W.rng
    step = W.step
    for g in ROUTES:
        R = W.route[g]
        codes = route_codes(W, g, i)
        tot = sum(codes.values())
        if tot <= 0:
            continue
        n = rg.poisson(
            6.0
            * step
            / 60.0
            * share
            * (R["arr"][i] / max(1.0, W.rps["ingress-nginx-controller"][i]))
            * 2
        )
        errs = {c: v for c, v in codes.items() if c >= 500}
        n_err = min(
            max(1, int(round(step / 60.0))), rg.poisson(sum(errs.values()) * share * step * 0.002)
        )
        picks = []
        for _ in range(n):
            y = rg.random() * tot
            for c, v in codes.items():
                y -= v
                if y <= 0:
                    picks.append(c)
                    break
        et = sum(errs.values())
        for _ in range(n_err):
            y = rg.random() * et
            for c, v in errs.items():
                y -= v
                if y <= 0:
                    picks.append(c)
                    break
        svc = ROUTES[g][0]
        for c in picks:
            t = t0 - rg.uniform(0, step)
            rl = getattr(W, "ratelimit", None)
            rejected = (
                c == getattr(W, "reject_code", {}).get(g, 503)
                and R["rej"][i] > 0
                and rg.random() < R["rej"][i] / max(1e-9, codes.get(c, 0))
            )
            if rejected:
                nginx_access(W, sink, p, t, g, c, None)
                if rl and rl[0] == g:
                    nginx_error(
                        W,
                        sink,
                        p,
                        t + 0.0004,
                        "limiting requests, excess: "
                        f"{rg.uniform(rl[1] * 0.2, rl[1] * 3):.3f} by zone "
                        f'"{NS}_{g}_rps"',
                        g=g,
                    )
                elif rg.random() < 0.5:
                    nginx_error(
                        W,
                        sink,
                        p,
                        t - 0.001,
                        "upstream prematurely closed connection "
                        "while reading response header from upstream",
                        g=g,
                        upstream=f"http://{W.dns.setdefault(svc, '10.96.7.19')}:"
                        f"{8000 if svc in ('storefront', 'accounts') else 8080}/",
                    )
                continue
            up = W.p50[svc][i] if W.p50[svc][i] == W.p50[svc][i] else 3.0
            up = up * math.exp(rg.gauss(0, 0.6))
            if c == 504:
                up = W.mod("ingress_timeout", g, 60000.0)[i]
                nginx_error(
                    W,
                    sink,
                    p,
                    t,
                    "upstream timed out (110: Operation timed out) while "
                    "reading response header from upstream",
                    g=g,
                    upstream=f"http://{W.dns.setdefault(svc, '10.96.7.19')}:8080/",
                )
            nginx_access(W, sink, p, t, g, c, up)


def _proxy_lines(W, sink, p, i, t0):
    rg = W.rng
    s = p.svc
    if s not in MESHED_HTTP and SERVICES[s]["kind"] != "worker":
        return
    step = W.step
    # outbound: callee with no ready endpoint, or a degraded path
    for d, *_ in OUT.get(s, []):
        if d not in MESHED_HTTP:
            continue
        if W.unavail[d][i] >= 0.999 and rg.random() < min(0.9, step / 30):
            sink.proxy(
                p,
                t0 - rg.uniform(0, step),
                "info",
                f"outbound:proxy{{addr={W.dns.setdefault(d, '10.96.40.7')}:8080}}:rescue"
                f"{{client.addr={p.ip}:{rg.randint(32768, 60999)}}}: linkerd_app_core::"
                f"errors::respond: HTTP/1.1 request failed error=logical service "
                f"{addr(d)}: service in fail-fast error.sources=[service in fail-fast]",
            )
        nf = getattr(W, "netfault", None)
        if nf and nf["svc"] == d and W.ts[i] >= nf["t0"] and rg.random() < min(1, step / 40):
            ep = rg.choice(nf["pods"])
            ep_ip = next((x.ip for x in W.pods[d] if x.name == ep), "10.52.3.3")
            msg = rg.choice(
                [
                    "linkerd_reconnect: Failed to connect error=connect timed out after 1s",
                    "linkerd_proxy_http::h2: connection error error=connection reset by peer "
                    "(os error 104)",
                    "linkerd_app_outbound::http::endpoint: request failed error=endpoint "
                    f"{ep_ip}:8080: operation timed out after 2s",
                ]
            )
            sink.proxy(
                p,
                t0 - rg.uniform(0, step),
                "warn",
                f"outbound:proxy{{addr={W.dns.setdefault(d, '10.96.40.7')}:8080}}:service"
                f"{{ns={NS} name={d} port=8080}}:endpoint{{addr={ep_ip}:8080}}: {msg}",
            )
    # inbound: the app container is not answering
    if (
        s in MESHED_HTTP
        and p.alive[i]
        and p.ready[i] <= 0
        and p.crashes
        and rg.random() < min(0.8, step / 30)
    ):
        sink.proxy(
            p,
            t0 - rg.uniform(0, step),
            "warn",
            f"inbound:server{{port={SERVICES[s].get('port', 8080)}}}:rescue{{client.addr="
            f"10.52.{rg.randint(0, 15)}.{rg.randint(2, 250)}:{rg.randint(32768, 60999)}}}:"
            " linkerd_app_core::errors::respond: HTTP/1.1 request failed error=error "
            "trying to connect: Connection refused (os error 111) error.sources="
            "[Connection refused (os error 111)]",
        )
    if (
        s in getattr(W, "proxy_inbound_reset", set())
        and p.o_e_own[i] > 0.01
        and rg.random() < min(0.9, p.o_rps[i] * p.o_e_own[i] * step * 0.01)
    ):
        sink.proxy(
            p,
            t0 - rg.uniform(0, step),
            "info",
            f"inbound:server{{port=8080}}:rescue{{client.addr=10.52.{rg.randint(0, 15)}."
            f"{rg.randint(2, 250)}:{rg.randint(32768, 60999)}}}: linkerd_app_core::errors::"
            "respond: HTTP/1.1 request failed error=connection closed before message "
            "completed error.sources=[connection closed before message completed]",
        )
    ad = getattr(W, "authz_deny", None)
    if ad and s == ad[1] and W.ts[i] >= ad[2] and rg.random() < min(0.9, step / 20):
        src_ip = rg.choice(W.pods[ad[0]]).ip
        sink.proxy(
            p,
            t0 - rg.uniform(0, step),
            "info",
            f"inbound:server{{port=8080}}:rescue{{client.addr={src_ip}:"
            f"{rg.randint(32768, 60999)}}}: linkerd_app_inbound::policy::http: Request "
            f"denied server.group=policy.linkerd.io server.kind=server server.name={s}-http"
            " route.group= route.kind=default route.name=default client.tls=Some("
            'Established { client_id: Some(ClientId(Name("' + ad[0] + f".{NS}."
            'serviceaccount.identity.linkerd.cluster.local"))), negotiated_protocol: '
            f"None }}) client.ip={src_ip}",
        )


def _special_logs(W, sink, services):
    rg = W.rng
    S = set(services)
    # MySQL's error log
    if "mysql" in S:
        p = W.pods["mysql"][0]
        for _ in range(rg.randint(1, 4)):
            t = W.start + rg.random() * W.L
            sink.raw(
                p,
                t,
                f"{iso(t, 6)} {rg.randint(900000, 990000)} [Warning] [MY-010055] "
                f"[Server] IP address '10.52.{rg.randint(0, 15)}.{rg.randint(2, 250)}' could"
                " not be resolved: Name or service not known",
                level="Warning",
            )
        for _ in range(rg.randint(0, 3)):
            t = W.start + rg.random() * W.L
            sink.raw(
                p,
                t,
                f"{iso(t, 6)} {rg.randint(900000, 990000)} [Note] [MY-010914] "
                f"[Server] Aborted connection {rg.randint(10**5, 10**6)} to db: 'boxoffice' "
                f"user: '{rg.choice(['storefront', 'accounts', 'notifier'])}' host: '10.52."
                f"{rg.randint(0, 15)}.{rg.randint(2, 250)}' (Got an error reading "
                "communication packets).",
                level="Note",
            )
        md = getattr(W, "mysql_down", None)
        if md:
            t0, t1 = md
            sink.raw(
                p,
                t0 - 1,
                f"{iso(t0 - 1, 6)}Z UTC - mysqld got signal 6 ;".replace("ZZ", "Z"),
                level="ERROR",
            )
            sink.raw(
                p,
                t0 - 0.5,
                "Most likely, you have hit a bug, but this error can also be "
                "caused by malfunctioning hardware.",
                level="ERROR",
            )
            sink.raw(p, t0 - 0.4, f"Thread pointer: 0x7f{rg.hexid(10)}", level="ERROR")
            t = t0 + rg.uniform(40, 90)
            sink.raw(
                p,
                t,
                f"{iso(t, 6)} 0 [System] [MY-010116] [Server] /usr/sbin/mysqld "
                f"(mysqld 8.0.39) starting as process 1",
                level="System",
            )
            t += 2
            sink.raw(
                p,
                t,
                f"{iso(t, 6)} 1 [System] [MY-013576] [InnoDB] InnoDB initialization has started.",
                level="System",
            )
            t += 5
            sink.raw(
                p,
                t,
                f"{iso(t, 6)} 1 [Note] [MY-012550] [InnoDB] Doing recovery: scanned "
                f"up to log sequence number {rg.randint(10**11, 10**12)}",
                level="Note",
            )
            t = t1 - 20
            sink.raw(
                p,
                t,
                f"{iso(t, 6)} 1 [System] [MY-013577] [InnoDB] InnoDB initialization has ended.",
                level="System",
            )
            sink.raw(
                p,
                t1 - 5,
                f"{iso(t1 - 5, 6)} 0 [System] [MY-010931] [Server] /usr/sbin/"
                "mysqld: ready for connections. Version: '8.0.39'  socket: '/var/run/mysqld/"
                "mysqld.sock'  port: 3306  MySQL Community Server - GPL.",
                level="System",
            )
        df = getattr(W, "mysql_diskfull", None)
        if df:
            for k in range(max(1, int((W.end - df) // 600) + 1)):
                t = df + 3 + k * 600
                if t < W.end:
                    sink.raw(
                        p,
                        t,
                        f"{iso(t, 6)} 31 [ERROR] [MY-000035] [Server] Disk is full "
                        "writing './binlog.000412' (OS errno 28 - No space left on device). "
                        "Waiting for someone to free space... Retry in 60 secs. Message "
                        "reprinted in 600 secs.",
                        level="ERROR",
                    )
    if "rabbitmq" in S:
        for p in W.pods["rabbitmq"]:
            for _ in range(rg.randint(2, 6)):
                t = W.start + rg.random() * W.L
                a = f"10.52.{rg.randint(0, 15)}.{rg.randint(2, 250)}:{rg.randint(32768, 60999)}"
                pid = f"<0.{rg.randint(1000, 60000)}.0>"
                sink.raw(
                    p,
                    t,
                    f"{pyiso(t).replace('T', ' ')} [info] {pid} accepting AMQP "
                    f"connection {pid} ({a} -> {p.ip}:5671)",
                    stream="stdout",
                    level="info",
                )
        t0 = getattr(W, "rmq_disk_alarm", None)
        if t0:
            p = W.pods["rabbitmq"][0]
            sink.raw(
                p,
                t0,
                f"{pyiso(t0).replace('T', ' ')} [warning] <0.421.0> Free disk space is"
                f" insufficient. Free bytes: {rg.randint(1_800_000_000, 1_990_000_000)}. "
                "Limit: 2000000000",
                level="warning",
            )
            sink.raw(
                p,
                t0 + 0.001,
                f"{pyiso(t0).replace('T', ' ')} [warning] <0.418.0> disk "
                f"resource limit alarm set on node 'rabbit@rabbitmq-0.rabbitmq-headless."
                f"{NS}.svc.cluster.local'.\n\n**********************************************"
                "************\n*** Publishers will be blocked until this alarm clears ***\n"
                "**********************************************************",
                level="warning",
            )
        cb = getattr(W, "cert_broken", None)
        if cb and cb["kind"] == "rabbitmq":
            for pod in cb["new"]:
                for k in range(40):
                    t = pod.created + 10 + k * rg.uniform(8, 40)
                    if t > W.end:
                        break
                    p = W.pods["rabbitmq"][k % 3]
                    pid = rg.randint(1000, 60000)
                    sink.raw(
                        p,
                        t,
                        f"{pyiso(t).replace('T', ' ')} [notice] <0.{pid}.0> TLS "
                        "server: In state certify received CLIENT ALERT: Fatal - "
                        "Certificate Expired",
                        level="notice",
                    )
    # Go services blocked by the broker
    t0 = getattr(W, "rmq_disk_alarm", None)
    if t0 and "orders" in S:
        for p in W.pods["orders"]:
            if p.alive[W.i_of(t0) if W.i_of(t0) < W.n else W.n - 1]:
                sink.zap(
                    p,
                    t0 + rg.uniform(0.2, 2),
                    "warn",
                    "amqp connection blocked",
                    {"caller": "events/publisher.go:77", "reason": "low on disk"},
                )
    # the egress proxy's TLS handshakes
    cb = getattr(W, "cert_broken", None)
    if cb and cb["kind"] == "egress" and "egress-proxy" in S:
        for i, t0 in enumerate(W.ts):
            if t0 < cb["exp"]:
                continue
            for p in W.pods["egress-proxy"]:
                if not p.alive[i]:
                    continue
                for _ in range(min(5, rg.poisson(p.o_rps[i] * W.step * 0.01 + 0.5))):
                    t = t0 - rg.uniform(0, W.step)
                    nginx_error(
                        W,
                        sink,
                        p,
                        t,
                        "SSL_do_handshake() failed (SSL: error:0A000415:SSL "
                        "routines::sslv3 alert certificate expired:SSL alert number 45) "
                        "while SSL handshaking to upstream",
                        upstream=f"https://198.51.100.{rg.randint(10, 40)}:443/v2/charges",
                        host=f"egress-proxy.{NS}.svc.cluster.local:8080",
                        req="POST /paynexa/v2/charges HTTP/1.1",
                    )
    if "egress-proxy" in S:
        for i, t0 in enumerate(W.ts):
            for x, (caller, path) in (
                ("paynexa", ("payment-gateway", "/paynexa/v2/charges")),
                ("textwave", ("notifier", "/textwave/v1/messages")),
            ):
                rate = W.erps[(caller, "egress-proxy")][i]
                e = W.via_err[x][i]
                n = rg.poisson(min(3.0, rate * W.step * 0.004 + 0.1 + e * rate * W.step * 0.01))
                for _ in range(n):
                    p = rg.choice(
                        [q for q in W.pods["egress-proxy"] if q.alive[i]] or W.pods["egress-proxy"]
                    )
                    bad = rg.random() < e
                    st = (
                        502
                        if (bad and cb and cb.get("kind") == "egress")
                        else (rg.choice([503, 502, 504]) if bad else 200)
                    )
                    t = t0 - rg.uniform(0, W.step)
                    up = W.via_p50[x][i] / 1000 * math.exp(rg.gauss(0, 0.5))
                    us = "-" if st == 502 and cb else str(st)
                    ua = (
                        "Go-http-client/1.1"
                        if caller == "payment-gateway"
                        else "python-httpx/0.27.0"
                    )
                    sink.raw(
                        p,
                        t,
                        f"10.52.{rg.randint(0, 15)}.{rg.randint(2, 250)} - - "
                        f'[{tlocal(t)}] "POST {path} HTTP/1.1" {st} '
                        f'{rg.randint(150, 900)} "-" "{ua}" '
                        f'rt={up:.3f} uct="{"0.011" if us != "-" else "-"}" '
                        f'urt="{up:.3f}" ua="{SERVICES[x]["host"]}:443" us="{us}"',
                        container="nginx",
                        stream="stdout",
                        level="info",
                    )
    # celery consumers that cannot reach the broker
    if cb and cb["kind"] == "rabbitmq" and "ticket-issuer" in S:
        for pod in cb["new"]:
            n = 0
            t = pod.created + 6
            delay = 2.0
            while t < W.end and n < 60:
                n += 1
                sink.celery(
                    pod,
                    t,
                    "error",
                    "consumer: Cannot connect to amqps://ticket-issuer:**"
                    f"@rabbitmq.{NS}.svc.cluster.local:5671//: [SSL: CERTIFICATE_VERIFY_"
                    "FAILED] certificate verify failed: certificate has expired "
                    f"(_ssl.c:1006).\nTrying again in {delay:.2f} seconds... ({n}/100)\n",
                    {"proc": "MainProcess"},
                )
                t += delay + rg.uniform(0.05, 0.3)
                delay = min(32.0, delay * 2)
    # celery workers restarted after an OOM kill
    if getattr(W, "worker_lost", None) in S:
        w = W.worker_lost
        for p in W.pods[w]:
            for c in p.crashes:
                if c > W.end:
                    break
                t = c - rg.uniform(5, 40)
                sink.celery(
                    p,
                    t,
                    "info",
                    f"Task tickets.tasks.issue_tickets[{rg.uuid()}] received",
                    {"proc": "MainProcess"},
                )
                t = c - rg.uniform(0.5, 4)
                sink.celery(
                    p,
                    t,
                    "warn",
                    "Rendering 2184 tickets for order "
                    f"ord_{rg.hexid(12)} (event {rg.randint(8000, 9900)}, bulk "
                    "allocation)",
                    {"proc": f"ForkPoolWorker-{rg.randint(1, 4)}"},
                )
                t2 = c + rg.uniform(20, 60)
                sink.celery(p, t2, "info", f"celery@{p.name} ready.", {"proc": "MainProcess"})
    # cert-manager failing to renew
    if cb and cb.get("since") is not None:
        cm = Pod(
            W,
            "ingress-nginx-controller",
            f"cert-manager-{rg.kname(10)}-{rg.kname(5)}",
            None,
            "v1.15.3",
            rg.choice(W.nodes)["name"],
            W.start - 40 * 86400,
        )
        cm.svc = "cert-manager"
        if cb["kind"] == "ingress":
            err = (
                'error getting DNS01 challenge: Cloudflare API Error for POST "/zones/'
                f'{rg.hexid(32)}/dns_records" \n Error: 10000: Authentication error'
            )
            key = f"{NS}/{cb['secret']}-1"
        else:
            err = (
                "failed to sign certificate by vault: Error making API request.\n\nURL: PUT "
                "https://vault.vault.svc:8200/v1/pki_int/sign/boxoffice-internal\nCode: 403. "
                "Errors:\n\n* permission denied"
            )
            key = f"{NS}/{cb['secret']}-1"
        t = max(W.start + rg.uniform(10, 200), W.start)
        while t < W.end:
            dt = datetime.fromtimestamp(t, tz=UTC)
            line = (
                f"E{dt.strftime('%m%d %H:%M:%S')}.{dt.microsecond:06d}       1 "
                'controller.go:162] "re-queuing item due to error processing" err="'
                + err.replace('"', '\\"')
                + f'" logger="cert-manager.controller" '
                f'key="{key}"'
            )
            rec = {
                "time": iso(t, 6),
                "stream": "stderr",
                "log": line,
                "level": "E",
                "app": "cert-manager",
                "namespace": "cert-manager",
                "pod": cm.name,
                "container": "cert-manager-controller",
                "node": cm.node,
            }
            sink.put("cert-manager", t, rec)
            t += rg.uniform(280, 900)
    # crash-looping containers: their last words at each crash
    for s in services:
        msgs = W.own_msgs.get(s)
        if not getattr(W, "crash_msgs", False) or not msgs:
            continue
        for p in W.pods[s]:
            for c in p.crashes:
                if c > W.end:
                    break
                if SERVICES[s]["rt"] == "logrus":
                    sink.logrus(
                        p,
                        c - rg.uniform(0.5, 6),
                        "info",
                        "reaper: releasing expired holds",
                        {"batch": rg.randint(50, 200)},
                    )
                elif SERVICES[s]["rt"] == "rust":
                    sink.rust(
                        p,
                        c - rg.uniform(0.01, 0.3),
                        "info",
                        "rendering event lineup",
                        {
                            "target": "event_catalog::lineup",
                            "event_id": 9412,
                            "nodes": rg.randint(12000, 40000),
                        },
                    )
                lv, msg, f = msgs[0][1](rg, p, c)
                sink.emit(p, c, lv, msg, f)
                sink.emit(
                    p,
                    c + rg.uniform(12, 40) if True else c,
                    "info",
                    "listening",
                    {"addr": "0.0.0.0:8080"},
                ) if SERVICES[s]["rt"] == "logrus" else None
    return sink


# ---------------------------------------------------------------------------------------
# Alerts (Alertmanager API v2), topology, traces
# ---------------------------------------------------------------------------------------


def gen_url(expr):
    return f"{PROM_URL}/graph?g0.expr={quote(expr, safe='')}&g0.tab=1"


def mk_alert(W, labels, summary, description, expr, starts, runbook=None):
    r = W.rng
    labels = dict(labels)
    labels.setdefault("prometheus", "monitoring/kube-prometheus-stack-prometheus")
    sev = labels.get("severity", "warning")
    recv = {
        "critical": "pagerduty-boxoffice",
        "warning": "slack-boxoffice-alerts",
        "info": "slack-boxoffice-info",
        "none": "null",
    }[sev]
    ann = {"description": description, "summary": summary}
    if runbook:
        ann["runbook_url"] = runbook
    upd = W.end - r.uniform(2, 40)
    return {
        "annotations": ann,
        "endsAt": iso(upd + 240, 3),
        "fingerprint": fingerprint(labels),
        "receivers": [{"name": recv}],
        "startsAt": iso(starts, 3),
        "status": {"inhibitedBy": [], "silencedBy": [], "state": "active"},
        "updatedAt": iso(upd, 3),
        "generatorURL": gen_url(expr),
        "labels": labels,
    }


def at(W, arr, t):
    i = min(W.n - 1, W.i_of(t))
    return arr[i]


def route_5xx(W, g, t):
    i0, i1 = W.i_of(t - 300), min(W.n - 1, W.i_of(t))
    bad = tot = 0.0
    for i in range(i0, i1 + 1):
        for c, v in route_codes(W, g, i).items():
            tot += v
            if c >= 500:
                bad += v
    return bad / tot if tot else 0.0


NICE = {
    "ingress5xx": [0.005, 0.01, 0.02, 0.03, 0.05, 0.1],
    "ingressLatency": [0.25, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 5.0],
    "linkerdSR": [0.999, 0.995, 0.99, 0.98, 0.97, 0.95, 0.9],
    "linkerdLatency": [
        25,
        50,
        75,
        100,
        150,
        175,
        200,
        225,
        250,
        300,
        350,
        400,
        450,
        500,
        600,
        700,
        750,
        800,
        900,
        1000,
        1200,
        1500,
        2000,
        2500,
        3000,
        5000,
    ],
    "queueBacklog": [200, 500, 1000, 2000, 5000, 10000],
    "celeryStalled": [200, 500, 1000, 2000],
    "celeryFailures": [0.01, 0.02, 0.05, 0.1],
    "mysqlSlow": [0.05, 0.1, 0.2, 0.5, 1.0],
    "trafficDrop": [0.6, 0.5, 0.4, 0.3],
    "probe": [0.5],
}
FOR = {
    "ingress5xx": 120,
    "ingressLatency": 300,
    "linkerdSR": 120,
    "linkerdLatency": 300,
    "queueBacklog": 300,
    "celeryStalled": 300,
    "celeryFailures": 300,
    "mysqlSlow": 120,
    "trafficDrop": 300,
    "probe": 60,
}
BELOW = {"linkerdSR", "trafficDrop", "probe"}


def focus_series(W):
    """The focus alert's expression evaluated over the window (5m windows)."""
    f = W.focus
    typ = f["type"]
    k5 = max(1, int(round(300 / W.step)))
    if typ == "ingress5xx":
        g = f["route"]
        bad, tot = [0.0] * W.n, [0.0] * W.n
        for i in range(W.n):
            for c, v in route_codes(W, g, i).items():
                tot[i] += v
                if c >= 500:
                    bad[i] += v
        b, t = smooth(bad, k5), smooth(tot, k5)
        return [x / y if y > 0 else 0.0 for x, y in zip(b, t, strict=True)]
    if typ == "ingressLatency":
        R = W.route[f["route"]]
        a, p5, p9 = smooth(R["fwd"], k5), smooth(R["p50"], k5), smooth(R["p99"], k5)
        return [
            hist_quantile(0.99, [(a[i], p5[i] / 1000, p9[i] / 1000)], PROM_BUCKETS)
            for i in range(W.n)
        ]
    if typ == "trafficDrop":
        R = W.route[f["route"]]
        a, d = smooth(R["arr"], k5), smooth(R["dem"], k5)
        return [x / y if y > 0 else 1.0 for x, y in zip(a, d, strict=True)]
    if typ == "probe":
        return [probe_state(W, f["route"], i)[0] for i in range(W.n)]
    if typ == "linkerdSR":
        d = f["svc"]
        tot = smooth([served(W, d, i) for i in range(W.n)], k5)
        bad = smooth([served(W, d, i) * W.err[d][i] for i in range(W.n)], k5)
        return [1 - b / t if t > 0 else 1.0 for b, t in zip(bad, tot, strict=True)]
    if typ == "linkerdLatency":
        d = f["svc"]
        out = []
        for i in range(W.n):
            comps = [
                (p.o_rps[i], p.o_p50[i], p.o_p99[i])
                for p in W.pods[d]
                if p.alive[i] and p.o_p50[i] > 0
            ]
            out.append(hist_quantile(0.99, comps, LINKERD_BUCKETS))
        return smooth(out, k5)
    if typ in ("queueBacklog", "celeryStalled"):
        return list(W.qready[f["queue"]])
    if typ == "celeryFailures":
        w = f["svc"]
        fl, ok = smooth(W.task_fail[w], k5), smooth(W.task_ok[w], k5)
        return [a / (a + b) if a + b > 0 else 0.0 for a, b in zip(fl, ok, strict=True)]
    if typ == "mysqlSlow":
        p = W.pods["mysql"][0]
        return smooth([slow_rate(W, i, p) for i in range(W.n)], k5)
    raise ValueError(typ)


def calibrate_focus(W):
    """Choose the rule's threshold as its owners would have (clear of the quiet hours, under
    the incident) and fire it at the first crossing that lasts the rule's `for`."""
    typ = W.focus["type"]
    vals = [v if v == v else 0.0 for v in focus_series(W)]
    below = typ in BELOW
    cause = min(W.onset, getattr(W, "cause_t", W.onset))
    iq = W.i_of(min(W.onset - 600, cause - 90))
    ib = W.i_of(cause - 60)
    quiet = vals[: max(1, iq)]
    q_ext = min(quiet) if below else max(quiet)
    hold = max(1, int(round(FOR[typ] / W.step)))
    best = None
    for thr in NICE[typ]:
        if below and not (
            q_ext > thr * 1.01 if typ != "linkerdSR" else (1 - q_ext) * 1.5 < (1 - thr)
        ):
            continue
        if not below and not q_ext * 1.25 < thr:
            continue
        for i in range(ib, W.n - hold):
            seg = vals[i : i + hold + 1]
            if all((v < thr) if below else (v > thr) for v in seg):
                start = W.ts[i + hold]
                if start <= W.end - 90:
                    best = (thr, start, vals[min(W.n - 1, i + hold)])
                break
        if best:
            break
    W.focus_ok = best is not None
    if best is None:
        thr = NICE[typ][0]
        best = (thr, W.alert_at, vals[min(W.n - 1, W.i_of(W.alert_at))])
    W.focus_thr, W.alert_at, W.focus_val = best
    W.focus_quiet = q_ext


def pct(x):
    return f"{x * 100:g}%"


def focus_alert(W):
    f = W.focus
    r = W.rng
    typ = f["type"]
    t = W.alert_at + r.uniform(0, 25)
    thr, v = W.focus_thr, W.focus_val
    rb = "https://runbooks.boxoffice.example/"
    if typ in ("ingress5xx", "ingressLatency", "trafficDrop"):
        g = f["route"]
        host = ROUTES[g][1]
        ns_l = ing_ns(W)
        lab = {
            "alertname": {
                "ingress5xx": "BoxofficeIngressHigh5xxRate",
                "ingressLatency": "BoxofficeIngressLatencyHigh",
                "trafficDrop": "BoxofficeIngressTrafficDrop",
            }[typ],
            "host": host,
            "ingress": g,
            "namespace": NS,
            "severity": "critical",
            "team": "sre",
        }
        if W.ingress_alert_service or W.truth["kind"] == "unknown":
            lab["service"] = "ingress-nginx-controller"
        sel = f'{ns_l}="{NS}",ingress="{g}"'
        if typ == "ingress5xx":
            expr = (
                f"sum by (ingress, host) (rate(nginx_ingress_controller_requests{{{sel},"
                f'status=~"5.."}}[5m])) / sum by (ingress, host) (rate(nginx_ingress_'
                f"controller_requests{{{sel}}}[5m])) > {thr:g}"
            )
            return mk_alert(
                W,
                lab,
                f"High 5xx rate on ingress {g}",
                f"{v * 100:.2f}% of requests to {host} (ingress {NS}/{g}) answered "
                f"5xx over the last 5 minutes (threshold {pct(thr)}).",
                expr,
                t,
                rb + "ingress-5xx",
            )
        if typ == "ingressLatency":
            expr = (
                f"histogram_quantile(0.99, sum by (le, ingress, host) (rate(nginx_ingress_"
                f"controller_request_duration_seconds_bucket{{{sel}}}[5m]))) > {thr:g}"
            )
            return mk_alert(
                W,
                lab,
                f"p99 latency high on ingress {g}",
                f"p99 request duration through {host} (ingress {NS}/{g}) is "
                f"{v:.2f}s (threshold {thr:g}s).",
                expr,
                t,
                rb + "ingress-latency",
            )
        expr = (
            f"sum by (ingress, host) (rate(nginx_ingress_controller_requests{{{sel}}}[5m])) "
            f"< {thr:g} * sum by (ingress, host) (rate(nginx_ingress_controller_requests"
            f"{{{sel}}}[5m] offset 1w))"
        )
        now = at(W, W.route[g]["arr"], t)
        return mk_alert(
            W,
            lab,
            f"Traffic through ingress {g} dropped",
            f"{host} is receiving {now:.1f} req/s, {v * 100:.0f}% of the same time last week.",
            expr,
            t,
            rb + "ingress-traffic-drop",
        )
    if typ == "probe":
        url = f["url"]
        lab = {
            "alertname": "BlackboxProbeFailed",
            "instance": url,
            "job": "blackbox",
            "module": "http_2xx",
            "severity": "critical",
        }
        return mk_alert(
            W,
            lab,
            f"Blackbox probe failed (instance {url})",
            f"Probe failed\n  VALUE = 0\n  LABELS = map[__name__:probe_success "
            f"instance:{url} job:blackbox module:http_2xx]",
            f'probe_success{{instance="{url}"}} == 0',
            t,
        )
    if typ in ("linkerdSR", "linkerdLatency"):
        d = f["svc"]
        lab = {
            "alertname": "LinkerdInboundSuccessRateLow"
            if typ == "linkerdSR"
            else "LinkerdInboundLatencyHigh",
            "deployment": d,
            "namespace": NS,
            "severity": "critical" if typ == "linkerdSR" else "warning",
            "team": "boxoffice",
        }
        sel = f'namespace="{NS}",deployment="{d}",direction="inbound"'
        if typ == "linkerdSR":
            expr = (
                f'sum(rate(response_total{{{sel},classification="success"}}[5m])) / '
                f"sum(rate(response_total{{{sel}}}[5m])) < {thr:g}"
            )
            return mk_alert(
                W,
                lab,
                f"{d}: inbound success rate below {pct(thr)}",
                f"Success rate of {NS}/{d} is {v * 100:.2f}% over 5m (meshed inbound traffic).",
                expr,
                t,
                rb + "linkerd-success-rate",
            )
        expr = (
            f"histogram_quantile(0.99, sum by (le) (rate(response_latency_ms_bucket{{{sel}}}"
            f"[5m]))) > {thr:g}"
        )
        return mk_alert(
            W,
            lab,
            f"{d}: p99 latency above {thr:g}ms",
            f"p99 latency of {NS}/{d} is {v:.0f}ms (threshold {thr:g}ms).",
            expr,
            t,
            rb + "linkerd-latency",
        )
    if typ == "queueBacklog":
        qn = f["queue"]
        p = rmq_pod(W, qn)
        lab = {
            "alertname": "RabbitMQQueueBacklog",
            "queue": qn,
            "vhost": "/",
            "severity": "critical",
            **exporter_labels(W, "rabbitmq", p, 9419, container="rabbitmq"),
        }
        return mk_alert(
            W,
            lab,
            f"RabbitMQ queue {qn} is backing up",
            f"{int(v)} messages ready in {qn} on {p.name} (threshold {thr}).",
            f'rabbitmq_queue_messages_ready{{queue="{qn}"}} > {thr}',
            t,
            rb + "rabbitmq-backlog",
        )
    if typ == "celeryStalled":
        qn = f["queue"]
        lab = {
            "alertname": "TicketIssuanceStalled",
            "queue": qn,
            "service": "ticket-issuer",
            "severity": "critical",
            "team": "fulfilment",
        }
        expr = (
            'sum(rate(celery_task_succeeded_total{name="tickets.tasks.issue_tickets"}[10m])) '
            f'< 0.2 and sum(rabbitmq_queue_messages_ready{{queue="{qn}"}}) > {thr}'
        )
        return mk_alert(
            W,
            lab,
            "Tickets are not being issued",
            f"{int(v)} placed orders are waiting for tickets (threshold {thr}).",
            expr,
            t,
            rb + "ticket-issuance",
        )
    if typ == "celeryFailures":
        task = f["task"]
        lab = {
            "alertname": "CeleryTaskFailureRateHigh",
            "name": task,
            "service": f["svc"],
            "severity": "warning",
            "team": "fulfilment",
        }
        expr = (
            f'sum(rate(celery_task_failed_total{{name="{task}"}}[10m])) / (sum(rate('
            f'celery_task_failed_total{{name="{task}"}}[10m])) + sum(rate(celery_task_'
            f'succeeded_total{{name="{task}"}}[10m]))) > {thr:g}'
        )
        return mk_alert(
            W,
            lab,
            f"Celery task {task} failing",
            f"{v * 100:.1f}% of {task} tasks failed over 10m (threshold {pct(thr)}).",
            expr,
            t,
            rb + "celery-failures",
        )
    if typ == "mysqlSlow":
        p = W.pods["mysql"][0]
        lab = {
            "alertname": "MysqlSlowQueries",
            "severity": "warning",
            **exporter_labels(W, "mysql", p, 9104),
        }
        return mk_alert(
            W,
            lab,
            f"MySQL slow queries (instance {p.ip}:9104)",
            "MySQL server has some new slow query.\n  VALUE = "
            f"{v * 60:.0f}\n  LABELS = map[instance:"
            f"{p.ip}:9104 job:{exporter_labels(W, 'mysql', p, 9104)['job']}]",
            f"rate(mysql_global_status_slow_queries[5m]) > {thr:g}",
            t,
        )
    raise ValueError(typ)


def extra_alerts(W):
    r = W.rng
    out = []
    T = W.truth
    specs = list(getattr(W, "extra_alerts", []))
    if T["kind"] == "crash_loop" and r.random() < 0.55:
        specs.append({"type": "crashLooping", "svc": T["service"]})
    if T["kind"] == "dependency_failure" and r.random() < 0.45:
        specs.append({"type": "depDown", "svc": T["service"]})
    if getattr(W, "chronic_throttle", None):
        specs.append({"type": "cpuThrottling", "svc": W.chronic_throttle, "old": True})
    if getattr(W, "job_fail", None):
        specs.append({"type": "jobFailed"})
    if getattr(W, "hot_node", None) and r.random() < 0.5:
        specs.append({"type": "nodeCpu"})
    for sp in specs:
        a = _extra_alert(W, sp)
        if a:
            out.append(a)
    if r.random() < 0.9:
        lab = {"alertname": "Watchdog", "severity": "none"}
        out.append(
            mk_alert(
                W,
                lab,
                "An alert that should always be firing to certify that "
                "Alertmanager is working properly.",
                "This is an alert meant to ensure that the entire alerting pipeline is functional.",
                "vector(1)",
                W.start - r.uniform(2, 30) * 86400,
                "https://runbooks.prometheus-operator.dev/runbooks/general/watchdog",
            )
        )
    return out


def _extra_alert(W, sp):
    r = W.rng
    typ = sp["type"]
    if typ == "cpuThrottling":
        s = sp["svc"]
        best, bt = None, None
        for p in W.pods[s]:
            for i in range(W.n):
                if p.alive[i] and p.o_thr[i] > 0.25:
                    if bt is None or i < bt:
                        best, bt = p, i
                    break
        if best is None:
            return None
        t = W.ts[bt] + 900 if not sp.get("old") else W.start - r.uniform(1, 20) * 3600
        if t > W.end - 30:
            return None
        lab = {
            "alertname": "CPUThrottlingHigh",
            "container": s,
            "namespace": NS,
            "pod": best.name,
            "severity": "info",
        }
        v = max(best.o_thr[bt:]) if best.o_thr[bt:] else 0.3
        return mk_alert(
            W,
            lab,
            "Processes experience elevated CPU throttling.",
            f"{v * 100:.0f}% throttling of CPU in namespace {NS} for container {s} "
            f"in pod {best.name}.",
            'sum(increase(container_cpu_cfs_throttled_periods_total{container!="", '
            "}[5m])) by (cluster, container, pod, namespace) / sum(increase("
            "container_cpu_cfs_periods_total{}[5m])) by (cluster, container, pod, "
            "namespace) > ( 25 / 100 )",
            t,
            "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/cputhrottlinghigh",
        )
    if typ == "hpaMaxed":
        s = sp["svc"]
        t = W.onset - r.uniform(0, 300)
        lab = {
            "alertname": "KubeHpaMaxedOut",
            "horizontalpodautoscaler": s,
            "namespace": NS,
            "severity": "warning",
            **dict(ksm_labels(W).items()),
        }
        return mk_alert(
            W,
            lab,
            "HPA is running at max replicas",
            f"HPA {NS}/{s} has been running at max replicas for longer than 15 minutes.",
            "kube_horizontalpodautoscaler_status_current_replicas{job="
            '"kube-state-metrics", namespace=~".*"} == kube_horizontalpodautoscaler_'
            'spec_max_replicas{job="kube-state-metrics", namespace=~".*"}',
            t,
            "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubehpamaxedout",
        )
    if typ == "mysqlConns":
        p = W.pods["mysql"][0]
        i0 = next((i for i in range(W.n) if W.my_conns[i] > 0.8 * W.mysql_max_conn), None)
        if i0 is None or W.ts[i0] + 120 > W.end:
            return None
        lab = {
            "alertname": "MysqlTooManyConnections(>80%)",
            "severity": "warning",
            **exporter_labels(W, "mysql", p, 9104),
        }
        return mk_alert(
            W,
            lab,
            f"MySQL too many connections (> 80%) (instance {p.ip}:9104)",
            f"More than 80% of MySQL connections are in use on {p.ip}:9104\n  VALUE "
            f"= {min(100.0, W.my_conns[-1] / W.mysql_max_conn * 100):.2f}",
            "max_over_time(mysql_global_status_threads_connected[1m]) / mysql_global_"
            "variables_max_connections * 100 > 80",
            W.ts[i0] + 120,
        )
    if typ == "crashLooping":
        s = sp["svc"]
        cands = [p for p in W.pods[s] if p.crashes and p.crashes[0] + 900 < W.end]
        if not cands:
            return None
        p = min(cands, key=lambda x: x.crashes[0])
        lab = {
            "alertname": "KubePodCrashLooping",
            "container": s,
            "namespace": NS,
            "pod": p.name,
            "reason": "CrashLoopBackOff",
            "severity": "warning",
            "uid": p.uid,
            **ksm_labels(W),
        }
        return mk_alert(
            W,
            lab,
            "Pod is crash looping.",
            f'Pod {NS}/{p.name} ({s}) is in waiting state (reason: "CrashLoopBackOff").',
            'max_over_time(kube_pod_container_status_waiting_reason{reason="CrashLoop'
            'BackOff", job="kube-state-metrics", namespace=~".*"}[5m]) >= 1',
            p.crashes[0] + 900,
            "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping",
        )
    if typ == "depDown":
        s = sp["svc"]
        t = W.onset + r.uniform(60, 200)
        if t > W.end - 30:
            return None
        if s == "mysql" and getattr(W, "mysql_down", None):
            p = W.pods["mysql"][0]
            lab = {
                "alertname": "MysqlDown",
                "severity": "critical",
                **exporter_labels(W, "mysql", p, 9104),
            }
            return mk_alert(
                W,
                lab,
                f"MySQL down (instance {p.ip}:9104)",
                f"MySQL instance is down on {p.ip}:9104\n  VALUE = 0",
                "mysql_up == 0",
                t,
            )
        if s == "memcached":
            p = next((x for x in W.pods["memcached"] if x.ready[W.n - 1] <= 0), None)
            if not p:
                return None
            lab = {
                "alertname": "TargetDown",
                "job": exporter_labels(W, "memcached", p, 9150)["job"],
                "namespace": NS,
                "service": "memcached-metrics",
                "severity": "warning",
            }
            return mk_alert(
                W,
                lab,
                "One or more targets are unreachable.",
                "33.33% of the memcached-metrics/memcached-metrics targets in "
                f"{NS} namespace are down."
                if W.mc_down[2] == 1
                else "66.67% of the memcached-metrics/memcached-metrics targets in "
                f"{NS} namespace are down.",
                "100 * (count(up == 0) BY (cluster, job, namespace, service) / "
                "count(up) BY (cluster, job, namespace, service)) > 10",
                t,
                "https://runbooks.prometheus-operator.dev/runbooks/general/targetdown",
            )
        if s in ("paynexa", "textwave"):
            url = next(u for u, _m, tg in PROBES if tg == s)
            lab = {
                "alertname": "BlackboxProbeFailed",
                "instance": url,
                "job": "blackbox",
                "module": "http_2xx_external",
                "severity": "warning",
            }
            return mk_alert(
                W,
                lab,
                f"Blackbox probe failed (instance {url})",
                f"Probe failed\n  VALUE = 0\n  LABELS = map[__name__:probe_success "
                f"instance:{url} job:blackbox module:http_2xx_external]",
                f'probe_success{{instance="{url}"}} == 0',
                t,
            )
        if s == "rabbitmq" and getattr(W, "rmq_disk_alarm", None):
            p = W.pods["rabbitmq"][0]
            lab = {
                "alertname": "RabbitmqDiskAlarm",
                "severity": "critical",
                **exporter_labels(W, "rabbitmq", p, 9419, container="rabbitmq"),
            }
            return mk_alert(
                W,
                lab,
                f"RabbitMQ disk alarm (instance {p.ip}:9419)",
                "A node has raised the free disk space alarm; publishers are blocked.\n  VALUE = 1",
                "rabbitmq_alarms_free_disk_space_watermark == 1",
                W.rmq_disk_alarm + 60,
            )
        return None
    if typ == "jobFailed":
        jn = f"settlement-export-{int(W.job_fail // 60)}"
        lab = {
            "alertname": "KubeJobFailed",
            "job_name": jn,
            "namespace": NS,
            "severity": "warning",
            **ksm_labels(W),
        }
        return mk_alert(
            W,
            lab,
            "Job failed to complete.",
            f"Job {NS}/{jn} failed to complete. Removing failed job after "
            "investigation should clear this alert.",
            'kube_job_failed{job="kube-state-metrics", namespace=~".*"}  > 0',
            W.job_fail + 900 if W.job_fail + 900 < W.end else W.job_fail,
            "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubejobfailed",
        )
    if typ == "nodeCpu":
        lab = {"alertname": "NodeCPUHighUsage", "instance": W.hot_node, "severity": "info"}
        return mk_alert(
            W,
            lab,
            "High CPU usage.",
            f"CPU usage at {W.hot_node} has been above "
            "90% for the last 15 minutes, is currently at 93.18%.",
            'sum without(mode) (avg without (cpu) (rate(node_cpu_seconds_total{job="'
            'node-exporter", mode!="idle"}[2m]))) * 100 > 90',
            W.start + r.uniform(0.2, 0.9) * W.L,
        )
    return None


def topology(W):
    deps = {}
    for s in TOPO:
        if SERVICES[s]["kind"] == "ingress":
            deps[s] = sorted({ROUTES[g][0] for g in ROUTES})
            continue
        deps[s] = [d for d, *_ in OUT.get(s, [])]
    for w in ("ticket-issuer", "notifier", "search-indexer"):
        if "rabbitmq" not in deps[w]:
            deps[w] = deps[w] + ["rabbitmq"]
    return {"services": {s: {"depends_on": deps[s]} for s in TOPO}}


def gen_traces(W):
    rg = W.rng
    spans = []

    def span(svc, name, start, dur, parent, tid, err, attrs):
        sid = rg.hexid(16)
        d = {
            "trace_id": tid,
            "span_id": sid,
            "parent_id": parent,
            "service": svc,
            "name": name,
            "start": iso(start, 6),
            "duration_ms": round(dur, 3),
            "status": "error" if err else "ok",
        }
        d.update(attrs)
        spans.append(d)
        return sid

    def call(svc, i, t, parent, tid, depth, forced_err=False):
        p50 = W.p50[svc][i] if W.p50[svc][i] == W.p50[svc][i] else 5.0
        p99 = W.p99[svc][i] if W.p99[svc][i] == W.p99[svc][i] else 20.0
        own = p50 * 0.4 * math.exp(rg.gauss(0, lognorm_sigma(p50, p99) * 0.7))
        path = fill_path(rg, rg.choice(PATHS.get(svc, ["/"])))
        sid_ph = rg.hexid(16)
        cur = t + own * 0.2 / 1000
        child_err = False
        kids = []
        if depth < 4:
            for d, fan, prop, to_ms, _w in OUT.get(svc, []):
                k = int(fan) + (1 if rg.random() < fan - int(fan) else 0)
                for _ in range(min(k, 3)):
                    if d in ("mysql", "memcached", "rabbitmq"):
                        e = rg.random() < W.eerr[(svc, d)][i]
                        dur = min(
                            to_ms,
                            W.ep50[(svc, d)][i]
                            * math.exp(
                                rg.gauss(0, lognorm_sigma(W.ep50[(svc, d)][i], W.ep99[(svc, d)][i]))
                            ),
                        )
                        nm = {
                            "mysql": rg.choice(DB_SPANS.get(svc, ["SELECT boxoffice.events"])),
                            "memcached": "memcached get",
                            "rabbitmq": "orders.placed publish",
                        }[d]
                        at_ = {
                            "mysql": {"db.system": "mysql", "server.address": f"mysql.{NS}.svc"},
                            "memcached": {
                                "db.system": "memcached",
                                "server.address": f"memcached.{NS}.svc",
                            },
                            "rabbitmq": {
                                "messaging.system": "rabbitmq",
                                "server.address": f"rabbitmq.{NS}.svc",
                            },
                        }[d]
                        kids.append(("db", svc, nm, cur, dur, e, at_))
                        cur += dur / 1000
                        child_err |= e and prop > 0.5
                    elif d in MESHED_HTTP and d != "egress-proxy":
                        e = rg.random() < W.eerr[(svc, d)][i]
                        kids.append(("call", d, cur, e))
                        dur = min(to_ms, W.ep50[(svc, d)][i] * math.exp(rg.gauss(0, 0.5)))
                        cur += dur / 1000
                        child_err |= e and rg.random() < prop
        end_t = cur + own * 0.8 / 1000
        err = forced_err or child_err or rg.random() < W.e_own[svc][i]
        sid = span(
            svc,
            f"{'POST' if svc in ('orders', 'holds') else 'GET'} {re_id(path)}",
            t,
            (end_t - t) * 1000,
            parent,
            tid,
            err,
            {
                "http.status_code": (500 if err else 200),
                "k8s.pod.name": rg.choice([p.name for p in W.pods[svc] if p.alive[i]] or [svc]),
            },
        )
        for k in kids:
            if k[0] == "db":
                _, s2, nm, st, dur, e, at_ = k
                span(s2, nm, st, dur, sid, tid, e, at_)
            else:
                _, d, st, e = k
                call(d, i, st, sid, tid, depth + 1, forced_err=e)
        del sid_ph
        return sid

    picks = []
    for _ in range(rg.randint(25, 45)):
        picks.append(("base", rg.randrange(W.n)))
    errs = [i for i in range(W.n) if any(W.err[s][i] > 0.03 for s in MESHED_HTTP)]
    for _ in range(min(40, len(errs))):
        picks.append(("err", rg.choice(errs)))
    slow = sorted(
        range(W.n),
        key=lambda i: (
            -W.p99["storefront"][i] if W.p99["storefront"][i] == W.p99["storefront"][i] else 0
        ),
    )[:30]
    for i in slow[:15]:
        picks.append(("slow", i))
    for _kind, i in picks:
        root = rg.choice(["storefront", "mobile-bff", "mobile-bff", "storefront", "orders"])
        if W.unavail[root][i] >= 0.999:
            continue
        call(root, i, W.ts[i] - rg.uniform(0, W.step), None, rg.hexid(32), 0)
    spans.sort(key=lambda s: (s["trace_id"], s["start"]))
    return spans


DB_SPANS = {
    "holds": [
        "SELECT boxoffice.seats",
        "INSERT boxoffice.seat_holds",
        "UPDATE boxoffice.seats",
        "SELECT boxoffice.seat_holds",
    ],
    "orders": [
        "INSERT boxoffice.orders",
        "INSERT boxoffice.order_lines",
        "SELECT boxoffice.seat_holds",
        "UPDATE boxoffice.orders",
    ],
    "payment-gateway": ["INSERT boxoffice.payments", "UPDATE boxoffice.payments"],
    "event-catalog": [
        "SELECT boxoffice.events",
        "SELECT boxoffice.venues",
        "SELECT boxoffice.event_performers",
    ],
    "seatmap": ["SELECT boxoffice.seats", "SELECT boxoffice.sections"],
    "pricing": ["SELECT boxoffice.price_levels"],
    "accounts": ["SELECT boxoffice.accounts_user", "UPDATE boxoffice.accounts_user"],
}


def re_id(path):
    out = []
    for seg in path.split("/"):
        out.append("{id}" if seg.isdigit() else seg)
    return "/".join(out)


# ---------------------------------------------------------------------------------------
# One bundle
# ---------------------------------------------------------------------------------------


def baseline_events(W):
    r = W.rng
    t = W.start + r.uniform(0, 1800)
    while t < W.end:
        jn = f"settlement-export-{int(t // 60)}"
        W.event(
            t,
            "settlement-export",
            "SuccessfulCreate",
            "Normal",
            f"Created pod: {jn}-{r.kname(5)}",
            f"job/{jn}",
            component="job-controller",
        )
        failed = getattr(W, "job_fail", None) and abs(t - W.job_fail) < 1800
        W.event(
            t + r.uniform(40, 200),
            "settlement-export",
            "BackoffLimitExceeded" if failed else "Completed",
            "Warning" if failed else "Normal",
            "Job has reached the specified backoff limit" if failed else "Job completed",
            f"job/{jn}",
            component="job-controller",
        )
        t += 3600
    for _ in range(r.randint(0, 3)):
        t = W.start + r.random() * W.L
        s = r.choice(["search-indexer", "notifier", "storefront", "event-catalog"])
        p = r.choice(W.pods[s])
        W.event(
            t,
            s,
            "Pulled",
            "Normal",
            f'Container image "cr.l5d.io/linkerd/proxy:'
            f'edge-24.{r.randint(5, 11)}.{r.randint(1, 5)}" already present on machine',
            f"pod/{p.name}",
            kubelet=True,
        )


def setup_world(W):
    r = W.rng
    W.scrape_style = r.choice(["kps", "kps", "pods"])
    W.ing_exported = W.scrape_style == "kps" and r.random() < 0.7
    W.by_version = r.random() < 0.5
    W.ksm_instance = f"10.52.{r.randint(0, 15)}.{r.randint(2, 250)}:8080"
    W.cm_instance = f"10.52.{r.randint(0, 15)}.{r.randint(2, 250)}:9402"
    W.x509_instance = f"10.52.{r.randint(0, 15)}.{r.randint(2, 250)}:9793"
    W.celery_instance = f"10.52.{r.randint(0, 15)}.{r.randint(2, 250)}:9808"
    W.zap_epoch = {s: r.random() < 0.7 for s in SERVICES}
    W.nginx_pid = {}
    W.hpa_max = dict(HPA)
    W.ingress_alert_service = r.random() < 0.7
    # capacity as the operators sized it: max_connections / memcached -c with headroom
    est = 3.0
    for c in ("storefront", "accounts"):
        est += len(W.pods[c]) * SERVICES[c]["workers"] * 2
    est += sum(
        len(W.pods[c]) * 10
        for c in ("holds", "orders", "payment-gateway", "event-catalog", "seatmap", "pricing")
    )
    est += sum(len(W.pods[c]) * SERVICES[c]["conc"] for c in ("ticket-issuer", "notifier"))
    W.mysql_max_conn = max(W.mysql_max_conn, int(math.ceil(est * r.uniform(1.7, 2.6) / 100)) * 100)
    per = len(W.pods["storefront"]) * 8 + len(W.pods["accounts"]) * 6 + len(W.pods["holds"]) * 8
    per += sum(len(W.pods[c]) * 16 for c in ("event-catalog", "seatmap", "pricing"))
    while W.mc_max_conn < per * 1.8:
        W.mc_max_conn *= 2


def force_overflow(W):
    """Make the shared pools really overflow where the story says they do."""
    if getattr(W, "need_mysql_overflow", False):
        simulate(W)
        i0 = W.i_of(W.onset)
        iq = W.i_of(getattr(W, "cause_t", W.onset) - 60)
        peak = max(W.my_conns[i0:] or [W.my_conns[-1]])
        base = max(W.my_conns[: max(1, iq)])
        mx = int((base + 0.45 * (peak - base)) // 25 * 25)
        W.mysql_max_conn = max(mx, int(base * 1.08) // 25 * 25 + 25)
    if (
        "mc_pool" in W.mods
        and W.truth["kind"] == "resource_saturation"
        and W.truth["service"] == "memcached"
    ):
        simulate(W)
        i0 = W.i_of(W.onset)
        iq = W.i_of(getattr(W, "cause_t", W.onset) - 60)
        peak = max(W.mc_conns[0][i0:] or [0])
        base = max(W.mc_conns[0][: max(1, iq)])
        W.mc_max_conn = max(int(base * 1.3), int(peak / W.rng.uniform(1.8, 2.3)))
    cal = getattr(W, "cpu_target", None)
    if cal:
        svc, t0, dur, target = cal
        simulate(W)
        iq = W.i_of(t0 - 60)
        i0 = max(0, iq - max(2, int(600 / W.step)))
        utils = [
            p.o_cpu[i] / W.cpu_lim[svc]
            for p in W.pods[svc]
            for i in range(i0, iq)
            if p.alive[i] and p.ready[i] > 0
        ]
        base = max(0.02, sum(utils) / max(1, len(utils)))
        idle = SERVICES[svc]["cpu_idle"] / W.cpu_lim[svc]
        mult = max(1.0, (target - idle) / max(0.01, base - idle))
        W.mods.setdefault("cpu", {})[svc] = [1 + (mult - 1) * v for v in W.ramp(t0, dur)]
    cal = getattr(W, "pool_cfg", None)
    if cal:
        t, old = cal
        simulate(W)
        iq = W.i_of(W.onset)
        pods = [p for p in W.pods["holds"] if p.alive[iq] and p.ready[iq] > 0]
        dem = sum(p.o_pool_use[iq] for p in pods) / max(1, len(pods))
        want = W.rng.uniform(1.3, 1.7)
        newv = max(1, int(dem / want))
        if dem / 4 >= 1.3:
            newv = 5 if dem / 5 >= 1.3 else 4
        if dem / newv < 1.25:
            W.mods.setdefault("tx", {})["holds"] = [want * newv / max(dem, 0.2)] * W.n
        arr = [float(old)] * W.n
        for i in range(W.n):
            if any(p.alive[i] for p in W.pool_new):
                arr[i] = float(newv)
        W.mods.setdefault("pool_max", {})["holds"] = arr
        for c in W.changes:
            if c["service"] == "holds" and "DB_MAX_OPEN_CONNS" in c["summary"]:
                c["summary"] = c["summary"].replace(f"{old} -> 4,", f"{old} -> {newv},")
    cal = getattr(W, "pool_target", None)
    if cal:
        svc, t0, dur, target = cal
        simulate(W)
        iq = W.i_of(t0 - 60)
        pods = [p for p in W.pods[svc] if p.alive[iq] and p.ready[iq] > 0]
        prps = sum(p.o_rps[iq] for p in pods) / max(1, len(pods))
        fan = {d: f for d, f, *_ in OUT[svc]}["mysql"]
        q = W.ep50[(svc, "mysql")][iq]
        pm = W.pool_max[svc]
        need = ((target * pm - 0.3) / (max(prps, 0.5) * 1.3 / 1000.0) - fan * q) / TX_MS[svc]
        W.mods.setdefault("tx", {})[svc] = [1 + (max(1.0, need) - 1) * v for v in W.ramp(t0, dur)]
    cal = getattr(W, "demand_target", None)
    if cal:
        route, svc, target = cal
        simulate(W)
        ic, iq = W.i_of(W.cause_t + 90), W.i_of(W.cause_t - 60)
        ub = _mean_util(W, svc, max(0, iq - 20), iq)
        up = _mean_util(W, svc, ic, W.n)
        dem = W.mod("demand", route, 1.0)
        dd = sum(dem[ic:]) / max(1, W.n - ic)
        if dd > 1.05 and ub > 0:
            f_eff = (up / ub) / dd
            k = (target / (ub * f_eff) - 1) / (dd - 1)
            k = max(0.5, min(8.0, k))
            W.mods["demand"][route] = [1 + (m - 1) * k for m in dem]
    cal = getattr(W, "mysql_target", None)
    if cal:
        client, (l50, l99) = cal
        simulate(W)
        busy = [1.0 if v > 300 else 0.0 for v in W.qready["tickets.reissue"]]
        busy = smooth(busy, max(1, int(120 / W.step)))
        W.mods.setdefault("lat", {})["mysql"] = [1 + l50 * b for b in busy]
        W.mods.setdefault("lat99", {})["mysql"] = [1 + l99 * b for b in busy]
        W.mysql_busy = busy
    if getattr(W, "hpa_maxed", None):
        s = W.hpa_maxed
        W.hpa_max[s] = len([p for p in W.pods[s] if p.alive[-1]])


def _mean_util(W, svc, i0, i1):
    vals = [
        p.o_util[i]
        for p in W.pods[svc]
        for i in range(i0, i1)
        if p.alive[i] and p.ready[i] > 0 and p.o_util[i] > 0
    ]
    return sum(vals) / len(vals) if vals else 0.0


CAPTURE_NOTES = [
    'loki: query for {app="memcached"} returned no streams',
    "tempo: search limited to 200 traces",
    "prometheus: query linkerd_route_latency timed out after 30s; skipped",
    "alertmanager: 1 silenced alert not included",
    "loki: 2 streams truncated at 5000 lines",
]


def build_bundle(seed, idx, key, fn, out, with_topo=True, with_traces=False):
    W = World(seed, idx, {"key": key})
    setup_world(W)
    fn(W)
    apply_noise(W)
    baseline_events(W)
    force_overflow(W)
    simulate(W)
    calibrate_focus(W)
    r = W.rng
    name = f"mesh-{idx:02d}"
    bdir = os.path.join(out, name)
    os.makedirs(os.path.join(bdir, "metrics"))
    # alerts
    focus = focus_alert(W)
    alerts = [focus] + extra_alerts(W)
    alerts.sort(key=lambda a: a["fingerprint"])
    # metrics
    chosen = []
    for stem, (_fn, p) in BUILDERS.items():
        pr = 0.9 if stem in W.extra_queries else p
        if r.random() < pr:
            chosen.append(stem)
    rest = [s for s in BUILDERS if s not in chosen and s != "authz_deny"]
    target_min = r.randint(15, 22)
    while len(chosen) < target_min and rest:
        s = r.choice(rest)
        rest.remove(s)
        chosen.append(s)
    while len(chosen) > 40:
        drop = r.choice([s for s in chosen if s not in W.extra_queries])
        chosen.remove(drop)
    order = [s for s in BUILDERS if s in chosen]
    numbered = r.random() < 0.5
    queries = {}
    k = 0
    for stem in order:
        q, series = BUILDERS[stem][0](W)
        if stem == "authz_deny" and not series:
            continue
        k += 1
        fname = f"{k:02d}_{stem}" if numbered else stem
        queries[fname] = q
        result = []
        for labels, vals in series:
            values = [[W.ts[i], fv(v)] for i, v in enumerate(vals) if v is not None]
            if values:
                result.append({"metric": labels, "values": values})
        body = {"status": "success", "data": {"resultType": "matrix", "result": result}}
        with open(os.path.join(bdir, "metrics", fname + ".json"), "w") as fh:
            json.dump(body, fh, separators=(",", ":"))
    with open(os.path.join(bdir, "metrics", "queries.yaml"), "w") as fh:
        yaml.safe_dump(queries, fh, sort_keys=False, width=1000)
    # logs
    fs = W.focus.get("svc")
    svc_pool = [s for s in TOPO if SERVICES[s]["kind"] != "external"]
    logs = {"ingress-nginx-controller"}
    if fs:
        logs.add(fs)
    if r.random() < 0.9:
        logs.add(W.truth["service"]) if W.truth["service"] in SERVICES and SERVICES[
            W.truth["service"]
        ]["kind"] != "external" else None
    logs |= set(W.must_logs)
    for s in svc_pool:
        if r.random() < 0.55:
            logs.add(s)
    logs = [s for s in svc_pool if s in logs]
    files = gen_logs(W, logs)
    os.makedirs(os.path.join(bdir, "logs"))
    for fname in sorted(files):
        recs = sorted(files[fname], key=lambda x: (x[0], x[1]))
        recs = [x for x in recs if W.start <= x[0] <= W.end]
        with open(os.path.join(bdir, "logs", f"{fname}.jsonl"), "w") as fh:
            for _t, _s, rec in recs:
                fh.write(json.dumps(rec, separators=(",", ":"), ensure_ascii=False) + "\n")
    # events
    if W.events and r.random() < 0.85:
        os.makedirs(os.path.join(bdir, "events"))
        evs = sorted(
            [e for e in W.events if e[0] <= W.end and e[0] >= W.start - 3600], key=lambda e: e[0]
        )
        with open(os.path.join(bdir, "events", "events.jsonl"), "w") as fh:
            for _t, ev in evs:
                fh.write(json.dumps(ev, separators=(",", ":")) + "\n")
    # changes
    chg = sorted([c for c in W.changes if c["ts"] <= iso(W.end, 0)], key=lambda c: c["ts"])
    for _ in range(r.randint(1, 4)):
        s = r.choice(["storefront", "event-catalog", "notifier", "pricing", "search-indexer"])
        t = W.start - r.uniform(1, 72) * 3600
        v0 = W.init_versions[s]
        chg.insert(
            0,
            {
                "id": f"deploy-{r.randint(40000, 99999)}",
                "ts": iso(t, 0),
                "service": s,
                "kind": "deploy",
                "summary": f"Deploy {s} {v0}",
                "version": v0,
                "author": r.choice(AUTHORS),
            },
        )
    chg.sort(key=lambda c: c["ts"])
    with open(os.path.join(bdir, "changes.json"), "w") as fh:
        json.dump(chg, fh, indent=2)
        fh.write("\n")
    # topology
    if with_topo:
        with open(os.path.join(bdir, "topology.yaml"), "w") as fh:
            yaml.safe_dump(topology(W), fh, sort_keys=False)
    # traces
    if with_traces:
        os.makedirs(os.path.join(bdir, "traces"))
        with open(os.path.join(bdir, "traces", "spans.jsonl"), "w") as fh:
            for sp in gen_traces(W):
                fh.write(json.dumps(sp, separators=(",", ":")) + "\n")
    with open(os.path.join(bdir, "alerts.json"), "w") as fh:
        json.dump(alerts, fh, indent=2)
        fh.write("\n")
    fa = focus["fingerprint"] if r.random() < 0.8 else focus["labels"]["alertname"]
    if (
        fa == focus["labels"]["alertname"]
        and sum(1 for a in alerts if a["labels"]["alertname"] == fa) != 1
    ):
        fa = focus["fingerprint"]
    meta = {
        "id": name,
        "title": f"{focus['labels']['alertname']}: {focus['annotations']['summary']}",
        "window": {"start": iso(W.start, 0), "end": iso(W.end, 0)},
        "focus_alert": fa,
    }
    if r.random() < 0.85:
        meta["format_version"] = 1
    if r.random() < 0.12:
        meta["notes"] = [r.choice(CAPTURE_NOTES)]
    with open(os.path.join(bdir, "bundle.yaml"), "w") as fh:
        yaml.safe_dump(meta, fh, sort_keys=False)
    with open(os.path.join(bdir, "truth.yaml"), "w") as fh:
        yaml.safe_dump({"root_cause": dict(W.truth)}, fh, sort_keys=False)
    return name, W


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--out",
        required=True,
        help="output directory (created; replaced if a previous run's MANIFEST.yaml is there)",
    )
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    t0 = time.time()
    out = args.out
    if os.path.exists(out):
        if os.path.exists(os.path.join(out, "MANIFEST.yaml")):
            shutil.rmtree(out)
        elif os.listdir(out):
            sys.exit(f"gen_mesh: {out} exists and is not an earlier output; refusing")
    os.makedirs(out, exist_ok=True)
    order = list(range(len(SCENARIOS)))
    rs = random.Random(f"gen_mesh/order/{args.seed}")
    rs.shuffle(order)
    topo = set(rs.sample(range(1, N_BUNDLES + 1), 27))
    traces = set(rs.sample(range(1, N_BUNDLES + 1), 12))
    manifest = []
    for k, si in enumerate(order[:N_BUNDLES], start=1):
        key, fn = SCENARIOS[si]
        name, W = build_bundle(
            args.seed, k, key, fn, out, with_topo=k in topo, with_traces=k in traces
        )
        if not W.focus_ok:
            print(
                f"gen_mesh: warning: {name}: the paging alert's condition never held in the data",
                file=sys.stderr,
            )
        manifest.append({"bundle": name, "scenario": key, "truth": dict(W.truth)})
    with open(os.path.join(out, "MANIFEST.yaml"), "w") as fh:
        yaml.safe_dump(
            {
                "generator": "scripts/gen_mesh.py",
                "seed": args.seed,
                "system": "boxoffice (Kubernetes, Linkerd, ingress-nginx, MySQL, "
                "RabbitMQ, Memcached)",
                "bundles": manifest,
            },
            fh,
            sort_keys=False,
        )
    print(f"wrote {len(manifest)} bundles to {out} in {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
