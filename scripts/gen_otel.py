#!/usr/bin/env python3
"""Synthetic incident bundles (incident bundle v1) from an OpenTelemetry-native shop.

    python3 scripts/gen_otel.py --out DIR [--seed 1]

writes 40 bundles DIR/otel-shop-01 .. DIR/otel-shop-40 and DIR/MANIFEST.yaml.

The shop ("acme-shop", namespace ``shop``; datastores in ``data``) is instrumented the
way teams do it with the OpenTelemetry SDKs and an OpenTelemetry Collector whose
Prometheus exporter is scraped by Prometheus: semantic-convention metric names as the
exporter spells them, k8sattributes resource labels, kubeletstats / hostmetrics /
postgresql / redis / kafkametrics receivers, tail-sampled traces from Tempo, JSON logs
in each runtime's own style, Kubernetes events, a change feed and Alertmanager alerts.

Every bundle is a simulation of request flow through the call graph (rates top-down,
latencies and errors bottom-up, per pod), one injected root cause, and a few
innocent changes and noisy neighbours. Standard library + PyYAML only; deterministic
for a seed (random.Random seeded with strings, which hashes them with SHA-512).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import math
import os
import random
import shutil
import sys
import time
from collections import defaultdict
from datetime import datetime, timezone
from urllib.parse import quote

import yaml

APP_NS = "shop"
DATA_NS = "data"
KCTX = "prod-eu1"
N_BUNDLES = 40
ALNUM = "bcdfghjklmnpqrstvwxz2456789"

# --------------------------------------------------------------------------- catalogue

# lang, kind, pods, version, cpu limit (cores), (memory base, limit) MiB, log style,
# error code it answers with when a dependency fails, baseline utilisation, port
SERVICES = {
    "edge-gateway": dict(
        lang="go",
        kind="http",
        pods=4,
        version="1.42.0",
        cpu=2.0,
        mem=(150, 512),
        log="slog",
        up=502,
        rho=0.2,
        port=8080,
        entry=True,
    ),
    "web-bff": dict(
        lang="node",
        kind="http",
        pods=3,
        version="3.18.2",
        cpu=1.0,
        mem=(230, 768),
        log="pino",
        up=502,
        rho=0.32,
        port=3000,
    ),
    "app-bff": dict(
        lang="node",
        kind="http",
        pods=3,
        version="2.9.0",
        cpu=1.0,
        mem=(210, 768),
        log="pino",
        up=502,
        rho=0.3,
        port=3000,
    ),
    "partner-api": dict(
        lang="python",
        kind="http",
        pods=2,
        version="0.31.4",
        cpu=1.0,
        mem=(190, 512),
        log="structlog",
        up=500,
        rho=0.25,
        port=8000,
        entry=True,
    ),
    "catalog": dict(
        lang="java",
        kind="http",
        pods=3,
        version="5.3.1",
        cpu=2.0,
        mem=(950, 2048),
        log="logback",
        up=500,
        rho=0.4,
        port=8080,
    ),
    "recommend": dict(
        lang="python",
        kind="http",
        pods=2,
        version="1.7.0",
        cpu=2.0,
        mem=(640, 1536),
        log="structlog",
        up=500,
        rho=0.45,
        port=8000,
    ),
    "cart": dict(
        lang="go",
        kind="http",
        pods=3,
        version="2.21.3",
        cpu=1.0,
        mem=(90, 256),
        log="zap",
        up=500,
        rho=0.25,
        port=8080,
    ),
    "pricing": dict(
        lang="java",
        kind="grpc",
        pods=2,
        version="4.0.7",
        cpu=1.5,
        mem=(720, 1536),
        log="logback",
        up=14,
        rho=0.3,
        port=9090,
    ),
    "checkout": dict(
        lang="java",
        kind="http",
        pods=3,
        version="7.12.0",
        cpu=2.0,
        mem=(1100, 2048),
        log="logback",
        up=500,
        rho=0.3,
        port=8080,
    ),
    "inventory": dict(
        lang="go",
        kind="grpc",
        pods=2,
        version="3.4.1",
        cpu=1.0,
        mem=(120, 384),
        log="slog",
        up=14,
        rho=0.25,
        port=9090,
    ),
    "payments": dict(
        lang="go",
        kind="http",
        pods=2,
        version="1.19.5",
        cpu=1.0,
        mem=(80, 256),
        log="zap",
        up=502,
        rho=0.2,
        port=8080,
    ),
    "account": dict(
        lang="python",
        kind="http",
        pods=2,
        version="2.2.0",
        cpu=1.0,
        mem=(260, 768),
        log="structlog",
        up=500,
        rho=0.3,
        port=8000,
    ),
    "fulfillment": dict(
        lang="python",
        kind="consumer",
        pods=2,
        version="0.9.12",
        cpu=1.0,
        mem=(300, 1024),
        log="structlog",
        up=500,
        rho=0.3,
        port=8000,
    ),
    "shop-pg": dict(
        lang="pg",
        kind="db",
        pods=2,
        version="16.4",
        cpu=4.0,
        mem=(6000, 16384),
        rho=0.35,
        port=5432,
        ns=DATA_NS,
    ),
    "shop-redis": dict(
        lang="redis",
        kind="cache",
        pods=1,
        version="7.2.5",
        cpu=1.0,
        mem=(1800, 4096),
        rho=0.12,
        port=6379,
        ns=DATA_NS,
    ),
    "events-kafka": dict(
        lang="kafka",
        kind="queue",
        pods=3,
        version="3.7.1",
        cpu=2.0,
        mem=(2500, 6144),
        rho=0.2,
        port=9092,
        ns=DATA_NS,
    ),
    "paylane": dict(lang="ext", kind="ext", host="api.paylane.com", port=443),
    "shipwise": dict(lang="ext", kind="ext", host="api.shipwise.io", port=443),
}
APPS = [s for s, v in SERVICES.items() if v["lang"] in ("go", "java", "python", "node")]
RPC_SVC = {
    "pricing": "shop.pricing.v1.PricingService",
    "inventory": "shop.inventory.v1.InventoryService",
}
DB_TABLE = {
    "catalog": "products",
    "pricing": "price_rules",
    "inventory": "stock_levels",
    "checkout": "orders",
    "payments": "charges",
    "account": "customers",
    "fulfillment": "shipments",
}

# op name, share of the entry's traffic, own work (ms), sigma, calls, options
# a call: (callee, callee op, calls per request, critical, timeout seconds)
OPS_SPEC = {
    "edge-gateway": [
        (
            "GET /web/{path}",
            0.50,
            1.2,
            0.5,
            [
                ("web-bff", "GET /api/products", 0.42, 1, 10),
                ("web-bff", "GET /api/products/{id}", 0.30, 1, 10),
                ("web-bff", "GET /api/cart", 0.16, 1, 10),
                ("web-bff", "GET /api/account/me", 0.12, 1, 10),
            ],
            {"one": 1},
        ),
        (
            "POST /web/{path}",
            0.12,
            1.2,
            0.5,
            [
                ("web-bff", "POST /api/cart/items", 0.72, 1, 10),
                ("web-bff", "POST /api/checkout", 0.28, 1, 25),
            ],
            {"one": 1},
        ),
        (
            "GET /app/{path}",
            0.30,
            1.2,
            0.5,
            [
                ("app-bff", "GET /v2/feed", 0.5, 1, 10),
                ("app-bff", "GET /v2/products/{id}", 0.32, 1, 10),
                ("app-bff", "GET /v2/cart", 0.18, 1, 10),
            ],
            {"one": 1},
        ),
        (
            "POST /app/{path}",
            0.08,
            1.2,
            0.5,
            [
                ("app-bff", "POST /v2/cart/items", 0.7, 1, 10),
                ("app-bff", "POST /v2/orders", 0.3, 1, 25),
            ],
            {"one": 1},
        ),
    ],
    "web-bff": [
        (
            "GET /api/products",
            0,
            8,
            0.45,
            [
                ("catalog", "GET /products", 1, 1, 3),
                ("recommend", "GET /recommendations", 1, 0, 0.8),
            ],
            {"parallel": 1},
        ),
        (
            "GET /api/products/{id}",
            0,
            6,
            0.45,
            [
                ("catalog", "GET /products/{id}", 1, 1, 3),
                ("recommend", "GET /recommendations", 0.5, 0, 0.8),
            ],
            {"parallel": 1, "bg4xx": {404: 0.012}},
        ),
        ("GET /api/cart", 0, 4, 0.4, [("cart", "GET /cart/{id}", 1, 1, 3)], {}),
        (
            "GET /api/account/me",
            0,
            4,
            0.4,
            [("account", "GET /v1/me", 1, 1, 3)],
            {"bg4xx": {401: 0.02}},
        ),
        (
            "POST /api/cart/items",
            0,
            5,
            0.4,
            [("cart", "POST /cart/{id}/items", 1, 1, 3)],
            {"bg4xx": {400: 0.004}},
        ),
        (
            "POST /api/checkout",
            0,
            9,
            0.4,
            [("checkout", "POST /checkouts", 1, 1, 20)],
            {"bg4xx": {422: 0.03}, "ok": 201},
        ),
    ],
    "app-bff": [
        (
            "GET /v2/feed",
            0,
            10,
            0.45,
            [
                ("catalog", "GET /products", 1, 1, 2.5),
                ("recommend", "GET /recommendations", 1, 0, 0.6),
            ],
            {"parallel": 1},
        ),
        (
            "GET /v2/products/{id}",
            0,
            5,
            0.45,
            [("catalog", "GET /products/{id}", 1, 1, 2.5)],
            {"bg4xx": {404: 0.012}},
        ),
        ("GET /v2/cart", 0, 4, 0.4, [("cart", "GET /cart/{id}", 1, 1, 2.5)], {}),
        (
            "POST /v2/cart/items",
            0,
            5,
            0.4,
            [("cart", "POST /cart/{id}/items", 1, 1, 2.5)],
            {"bg4xx": {400: 0.004}},
        ),
        (
            "POST /v2/orders",
            0,
            8,
            0.4,
            [("checkout", "POST /checkouts", 1, 1, 20)],
            {"bg4xx": {422: 0.03}, "ok": 201},
        ),
    ],
    "partner-api": [
        ("GET /partner/v1/stock", 0.6, 7, 0.5, [("inventory", "GetStock", 4, 1, 2)], {}),
        ("GET /partner/v1/catalog", 0.3, 12, 0.5, [("catalog", "GET /products", 1, 1, 5)], {}),
        (
            "POST /partner/v1/orders",
            0.1,
            15,
            0.5,
            [("checkout", "POST /checkouts", 1, 1, 30)],
            {"bg4xx": {422: 0.05}, "ok": 201},
        ),
    ],
    "catalog": [
        (
            "GET /products",
            0,
            22,
            0.55,
            [("shop-redis", "GET", 1, 1, 0.2), ("shop-pg", "SELECT", 1.5, 1, 2)],
            {},
        ),
        (
            "GET /products/{id}",
            0,
            6,
            0.5,
            [
                ("shop-redis", "GET", 1, 1, 0.2),
                ("shop-pg", "SELECT", 0.25, 1, 2),
                ("pricing", "GetPrice", 1, 1, 0.5),
            ],
            {"bg4xx": {404: 0.015}},
        ),
    ],
    "recommend": [("GET /recommendations", 0, 95, 0.7, [("shop-redis", "GET", 2, 1, 0.3)], {})],
    "cart": [
        (
            "GET /cart/{id}",
            0,
            2,
            0.45,
            [("shop-redis", "GET", 1, 1, 0.5), ("pricing", "GetPrice", 2, 1, 1)],
            {},
        ),
        (
            "POST /cart/{id}/items",
            0,
            3,
            0.45,
            [
                ("shop-redis", "SET", 1, 1, 0.5),
                ("inventory", "GetStock", 1, 1, 1),
                ("pricing", "GetPrice", 1, 1, 1),
            ],
            {"bg4xx": {409: 0.003}},
        ),
    ],
    "pricing": [
        ("GetPrice", 0, 1.3, 0.4, [("shop-pg", "SELECT", 0.15, 1, 1)], {}),
        ("Quote", 0, 5, 0.45, [("shop-pg", "SELECT", 1, 1, 1)], {}),
    ],
    "inventory": [
        ("GetStock", 0, 1.5, 0.45, [("shop-pg", "SELECT", 1, 1, 1)], {}),
        ("Reserve", 0, 3, 0.45, [("shop-pg", "UPDATE", 1, 1, 1)], {"bg4xx": {9: 0.01}}),
    ],
    "checkout": [
        (
            "POST /checkouts",
            0,
            35,
            0.45,
            [
                ("cart", "GET /cart/{id}", 1, 1, 2),
                ("account", "GET /v1/me", 1, 1, 2),
                ("pricing", "Quote", 1, 1, 2),
                ("inventory", "Reserve", 1, 1, 2),
                ("payments", "POST /v1/charges", 1, 1, 15),
                ("shop-pg", "INSERT", 2, 1, 5),
                ("events-kafka", "publish orders.v1", 1, 1, 5),
            ],
            {"bg4xx": {422: 0.03}, "ok": 201},
        ),
    ],
    "payments": [
        (
            "POST /v1/charges",
            0,
            6,
            0.4,
            [("paylane", "POST /v1/payment_intents", 1, 1, 10), ("shop-pg", "INSERT", 1, 1, 2)],
            {"bg4xx": {402: 0.025}, "ok": 201},
        )
    ],
    "account": [
        (
            "GET /v1/me",
            0,
            5,
            0.4,
            [("shop-redis", "GET", 1, 1, 0.3), ("shop-pg", "SELECT", 1, 1, 1)],
            {"bg4xx": {401: 0.02}},
        )
    ],
    "fulfillment": [
        (
            "orders.v1 process",
            0,
            18,
            0.5,
            [("shipwise", "POST /v2/labels", 1, 1, 10), ("shop-pg", "UPDATE", 2, 1, 2)],
            {},
        )
    ],
    "shop-pg": [
        ("SELECT", 0, 1.1, 0.7, [], {}),
        ("INSERT", 0, 2.2, 0.6, [], {}),
        ("UPDATE", 0, 2.4, 0.6, [], {}),
    ],
    "shop-redis": [("GET", 0, 0.25, 0.5, [], {}), ("SET", 0, 0.3, 0.5, [], {})],
    "events-kafka": [("publish orders.v1", 0, 4, 0.5, [], {})],
    "paylane": [("POST /v1/payment_intents", 0, 260, 0.4, [], {"bg4xx": {402: 0.025}})],
    "shipwise": [("POST /v2/labels", 0, 380, 0.45, [], {})],
}


class Call:
    __slots__ = ("callee", "cop", "mult", "critical", "timeout")

    def __init__(self, callee, cop, mult, critical, timeout):
        self.callee, self.cop, self.mult, self.critical, self.timeout = (
            callee,
            cop,
            mult,
            bool(critical),
            timeout,
        )


class Op:
    __slots__ = ("svc", "name", "share", "own", "sigma", "calls", "opts", "bg4xx", "ok")

    def __init__(self, svc, spec):
        name, share, own, sigma, calls, opts = spec
        self.svc, self.name, self.share, self.own, self.sigma = (
            svc,
            name,
            share,
            own / 1000.0,
            sigma,
        )
        self.calls = [Call(*c) for c in calls]
        self.opts = opts
        self.bg4xx = opts.get("bg4xx", {})
        self.ok = opts.get("ok", 200)


OPS = {s: [Op(s, spec) for spec in specs] for s, specs in OPS_SPEC.items()}
OPIDX = {(s, op.name): op for s, ops in OPS.items() for op in ops}


def _topo():
    seen, order = set(), []

    def visit(s):
        if s in seen:
            return
        seen.add(s)
        for op in OPS[s]:
            for c in op.calls:
                visit(c.callee)
        order.append(s)

    for s in SERVICES:
        visit(s)
    return order


ORDER_UP = _topo()  # callees first
ORDER_DOWN = list(reversed(ORDER_UP))
DEPS = {s: sorted({c.callee for op in OPS[s] for c in op.calls}) for s in SERVICES}
CALLERS = {s: sorted(x for x in SERVICES if s in DEPS[x]) for s in SERVICES}


def address(caller, callee):
    sv = SERVICES[callee]
    if sv["kind"] == "ext":
        return sv["host"]
    ns = sv.get("ns", APP_NS)
    lang = SERVICES[caller]["lang"]
    if lang == "java":
        return f"{callee}.{ns}.svc.cluster.local"
    if ns != SERVICES[caller].get("ns", APP_NS):
        return f"{callee}.{ns}.svc"
    return callee


def cluster_ip(name):
    h = hashlib.sha1(name.encode()).digest()
    return f"10.96.{h[0]}.{h[1] % 250 + 2}"


def pod_ip(name):
    h = hashlib.sha1(("pod:" + name).encode()).digest()
    return f"10.42.{h[0] % 64}.{h[1] % 250 + 2}"


# --------------------------------------------------------------------------- helpers


def iso(ts):
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_us(ts):
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_ms(ts):
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def iso_ns(ts, rng):
    base = datetime.fromtimestamp(int(ts), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    frac = int((ts - int(ts)) * 1e6) * 1000 + rng.randrange(1000)
    return f"{base}.{frac:09d}Z"


def phi(x):
    return 0.5 * (1.0 + math.erf(x * 0.7071067811865476))


def fmtv(v):
    if v != v:
        return "NaN"
    if v == math.inf:
        return "+Inf"
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    s = f"{v:.6f}".rstrip("0").rstrip(".")
    return s if s not in ("", "-0") else "0"


def fmt_le(x):
    if x == math.inf:
        return "+Inf"
    return str(int(x)) if x == int(x) else repr(x)


def fingerprint(labels):
    h = 14695981039346656037
    mask = 0xFFFFFFFFFFFFFFFF
    for k in sorted(labels):
        for part in (k, labels[k]):
            for byte in str(part).encode():
                h ^= byte
                h = (h * 1099511628211) & mask
            h ^= 0xFF
            h = (h * 1099511628211) & mask
    return f"{h:016x}"


def pcount(rng, x):
    if x <= 0:
        return 0
    if x < 25:
        lim = math.exp(-x)
        k, p = 0, 1.0
        while True:
            p *= rng.random()
            if p <= lim:
                return k
            k += 1
    return max(0, int(round(rng.gauss(x, math.sqrt(x)))))


def sround(rng, x):
    f = int(x)
    return f + (1 if rng.random() < x - f else 0)


def hexid(rng, n):
    return f"{rng.getrandbits(n * 4):0{n}x}"


def lognorm(rng, mean, sigma):
    if mean <= 0:
        return 0.0
    mu = math.log(mean) - sigma * sigma / 2
    return math.exp(rng.gauss(mu, sigma))


JAVA_PKG = {
    "catalog": "com.acme.catalog",
    "pricing": "com.acme.pricing",
    "checkout": "com.acme.checkout",
}
GO_MOD = {
    "edge-gateway": "github.com/acme-shop/edge-gateway",
    "cart": "github.com/acme-shop/cart",
    "inventory": "github.com/acme-shop/inventory",
    "payments": "github.com/acme-shop/payments",
}
PY_PKG = {
    "partner-api": "partner_api",
    "recommend": "recommend",
    "account": "account_svc",
    "fulfillment": "fulfillment",
}

# --------------------------------------------------------------------------- error tags

# what an error is: HTTP code, gRPC code, duration (s, or None: fail fast), exception type
BASE_TAGS = {
    "bg": dict(code=500, grpc=13, etype="_OTHER", msg=None),
    "overload": dict(code=503, grpc=8, etype="_OTHER", msg="overload"),
    "pool": dict(code=500, grpc=14, etype="_OTHER", msg="pool"),
    "conn": dict(dur=0.003),
    "timeout": dict(),
    "tls": dict(dur=0.025),
    "tls_server": dict(dur=0.02),
    "dns": dict(dur=5.0),
    "reset": dict(dur=0.04),
}


class Pod:
    __slots__ = (
        "svc",
        "name",
        "rs",
        "version",
        "node",
        "start_i",
        "ready_i",
        "end_i",
        "uid",
        "uptime",
        "restarts",
        "down",
        "crashes",
        "noserve",
        "miss",
        "skew",
        "prior_restarts",
        "container",
        "kind",
    )

    def __init__(
        self, svc, name, rs, version, node, start_i, ready_i, uid, uptime=0.0, kind="deployment"
    ):
        self.svc, self.name, self.rs, self.version, self.node = svc, name, rs, version, node
        self.start_i, self.ready_i, self.end_i, self.uid, self.uptime = (
            start_i,
            ready_i,
            10**9,
            uid,
            uptime,
        )
        self.restarts, self.down, self.crashes, self.noserve, self.miss = (
            [],
            set(),
            [],
            set(),
            set(),
        )
        self.skew = 1.0
        self.prior_restarts = 0
        self.container = svc
        self.kind = kind

    def alive(self, i):
        return self.start_i <= i < self.end_i

    def up(self, i):
        return self.start_i <= i < self.end_i and i not in self.down

    def serving(self, i):
        return self.up(i) and i >= self.ready_i and i not in self.noserve

    def restarts_upto(self, i):
        n = self.prior_restarts
        for r in self.restarts:
            if r <= i:
                n += 1
        return n

    def last_restart(self, i):
        last = None
        for r in self.restarts:
            if r <= i:
                last = r
        return last


class Knobs:
    def __init__(self, T):
        self.T = T
        self.lat = {}  # (svc, op|None) -> multiplier array
        self.err = defaultdict(list)  # svc -> [(op|None, arr, tag, early)]
        self.fs = defaultdict(list)  # svc -> [(op|None, arr, extra_s)]
        self.pod_lat = {}  # pod -> arr
        self.pod_err = defaultdict(list)  # pod -> [(op|None, arr, tag, early)]
        self.pod_fs = {}  # pod -> (arr, extra)
        self.edge_err = defaultdict(list)  # (caller|*, callee) -> [(arr, tag)]
        self.edge_lat = {}  # (caller|*, callee) -> arr seconds
        self.edge_fs = {}  # (caller|*, callee) -> (arr, extra)
        self.rate = {}  # (svc, op|None) -> arr
        self.cap = {}  # svc -> arr
        self.cpu_add = {}  # svc -> arr cores
        self.call_mult = {}  # (svc, callee) -> arr
        self.pool = {}  # svc -> dict(max=, timeout=, leak=arr|None, max_arr=arr|None)
        self.mem_leak = {}  # pod -> (i0, MiB per step)
        self.mem_add = {}  # svc -> arr MiB


# --------------------------------------------------------------------------- the bundle


class Bundle:
    def __init__(self, idx, seed, scen, base_day, rename=False, otlp=False):
        self.idx, self.seed, self.scen = idx, seed, scen
        self.rng = random.Random(f"otel-shop:{seed}:{idx}:{scen['key']}")
        rng = self.rng
        self.name = f"otel-shop-{idx + 1:02d}"
        L = rng.choice([45, 50, 55, 60, 60, 65, 70, 75, 80, 90])
        self.step = 15 if L <= 60 else 30
        self.T = L * 60 // self.step + 1
        self.o = int(self.T * rng.uniform(0.56, 0.7))
        hour = rng.choice([8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 2, 4, 23])
        day = base_day + rng.randrange(0, 210) * 86400
        start = day + hour * 3600 + rng.randrange(0, 3600)
        self.t0 = start - start % self.step
        self.ts = [self.t0 + i * self.step for i in range(self.T)]
        self.end_ts = self.ts[-1]
        self.K = Knobs(self.T)
        self.tags = {k: dict(v) for k, v in BASE_TAGS.items()}
        self.changes, self.events, self.extra_alerts, self.notes = [], [], [], []
        self.truth, self.page, self.desc, self.match_service = None, None, "", False
        self.onset_i = None
        self.rho = {s: v.get("rho", 0.3) for s, v in SERVICES.items()}
        self.R = rng.uniform(70, 150)
        self.Rp = rng.uniform(5, 11)
        self.topology = None  # decided by main
        self.span_style = "simple"
        self.nodes = [
            f"ip-10-24-{rng.randrange(1, 60)}-{rng.randrange(10, 250)}.eu-west-1.compute.internal"
            for _ in range(6)
        ]
        self.data_nodes = [
            f"ip-10-24-{rng.randrange(60, 90)}-{rng.randrange(10, 250)}.eu-west-1.compute.internal"
            for _ in range(2)
        ]
        self.noisy_node = None
        self.gaps = set()
        self.no_logs = set()
        self.logs_for = set()
        self.slow_healthy = False
        self.cert_metrics = rng.random() < 0.6
        self.quantile_file = rng.random() < 0.5
        self.versions = {s: v.get("version", "") for s, v in SERVICES.items()}
        self.hot = set()  # services the scenario needs untouched by innocent changes
        self.crash_msgs = {}
        self.lag_base = rng.uniform(40, 260)
        self.partner_bursts = rng.random() < 0.5
        self.blip = None
        self.ip = {}
        self.pg_gap, self.redis_gap = set(), set()
        self.redis_mem = self.redis_miss = self.redis_rejected = self.kafka_brokers = (
            self.pg_backends
        ) = None
        self.extra_logs = []
        self.keep_logs = set()
        self.cert_override, self.cert_exp = {}, {}
        self.pool_override = {}
        self.consumer_eff = None
        self.noisy_arr = None
        self.topo_rename = rename
        self.span_style = "otlp" if otlp else "simple"
        self.K.pool = {
            "catalog": dict(max=20, timeout=5.0),
            "checkout": dict(max=10, timeout=5.0),
            "pricing": dict(max=10, timeout=3.0),
            "inventory": dict(max=20, timeout=2.0),
        }
        self._mk_pods()
        self.diurnal = [self._diurnal(t) for t in self.ts]
        # slow wander of traffic and latency noise
        w, self.wander = 0.0, []
        for _ in range(self.T):
            w = 0.9 * w + rng.gauss(0, 0.012)
            self.wander.append(math.exp(w))

    # ---- time helpers
    def m(self, minutes):
        return max(1, int(round(minutes * 60 / self.step)))

    def arr(self, v=0.0):
        return [v] * self.T

    def trap(self, i0, i1=None, peak=1.0, up=1, down=1):
        """0 before i0, linear to peak over `up` steps, hold, back to 0 over `down` steps ending at i1."""
        a = [0.0] * self.T
        i1 = self.T if i1 is None else i1
        for i in range(max(0, i0), self.T):
            v = peak if up <= 0 else peak * min(1.0, (i - i0 + 1) / up)
            if i >= i1:
                break
            if i1 < self.T and down > 0 and i >= i1 - down:
                v = min(v, peak * (i1 - i) / (down + 1))
            a[i] = v
        return a

    def _diurnal(self, t):
        h = (t % 86400) / 3600.0
        return (
            0.72
            + 0.28 * math.sin(2 * math.pi * (h - 9.5) / 24.0)
            + 0.1 * math.sin(2 * math.pi * (h - 13) / 12.0)
        )

    # ---- pods
    def rs_hash(self):
        n = self.rng.choice([9, 10, 10])
        return "".join(self.rng.choice(ALNUM) for _ in range(n))

    def suffix(self):
        return "".join(self.rng.choice(ALNUM) for _ in range(5))

    def uid(self):
        r = self.rng
        return f"{hexid(r, 8)}-{hexid(r, 4)}-4{hexid(r, 3)}-{r.choice('89ab')}{hexid(r, 3)}-{hexid(r, 12)}"

    def _mk_pods(self):
        rng = self.rng
        self.pods = {}
        self.rs = {}
        for s, sv in SERVICES.items():
            if sv["kind"] == "ext":
                continue
            pods = []
            if sv.get("ns") == DATA_NS:
                for k in range(sv["pods"]):
                    name = f"{s}-{k}"
                    p = Pod(
                        s,
                        name,
                        "",
                        sv["version"],
                        self.data_nodes[k % 2],
                        -(10**6),
                        -(10**6),
                        self.uid(),
                        rng.uniform(5, 40) * 86400,
                        kind="statefulset",
                    )
                    p.container = {"pg": "postgres", "redis": "redis", "kafka": "kafka"}[sv["lang"]]
                    pods.append(p)
                if s == "shop-pg":
                    pods[1].noserve = set(range(self.T))  # the replica takes no traffic
            else:
                rs = self.rs_hash()
                self.rs[s] = rs
                up = rng.uniform(0.3, 9) * 86400
                for k in range(sv["pods"]):
                    p = Pod(
                        s,
                        f"{s}-{rs}-{self.suffix()}",
                        rs,
                        sv["version"],
                        rng.choice(self.nodes),
                        -(10**6),
                        -(10**6),
                        self.uid(),
                        up * rng.uniform(0.85, 1.0),
                    )
                    if rng.random() < 0.15:
                        p.prior_restarts = rng.randint(1, 3)
                    pods.append(p)
            for p in pods:
                p.skew = rng.uniform(0.93, 1.07)
            self.pods[s] = pods

    def live_pods(self, s, i):
        return [p for p in self.pods[s] if p.alive(i)]

    # ---- knobs
    def tag(self, name, **kw):
        self.tags[name] = kw
        return name

    def add_err(self, svc, arr, tag, op=None, early=False, pods=None):
        if pods:
            for p in pods:
                self.K.pod_err[p.name].append((op, arr, tag, early))
        else:
            self.K.err[svc].append((op, arr, tag, early))

    def mul_lat(self, svc, arr_mult, op=None):
        key = (svc, op)
        cur = self.K.lat.get(key)
        self.K.lat[key] = arr_mult if cur is None else [a * b for a, b in zip(cur, arr_mult)]

    def lat_from(self, trap_arr, factor):
        return [1.0 + (factor - 1.0) * v for v in trap_arr]

    def add_fs(self, svc, arr, extra, op=None):
        self.K.fs[svc].append((op, arr, extra))

    def edge_err(self, caller, callee, arr, tag):
        self.K.edge_err[(caller, callee)].append((arr, tag))

    def set_cap(self, svc, arr):
        self.K.cap[svc] = arr

    def rate_mult(self, svc, arr, op=None):
        self.K.rate[(svc, op)] = arr

    # ---- rollouts and crashes
    def startup_steps(self, s):
        secs = {"java": 55, "go": 8, "python": 20, "node": 12}.get(SERVICES[s]["lang"], 20)
        return max(1, int(math.ceil(secs / self.step)))

    def rollout(
        self,
        s,
        i0,
        version=None,
        record=True,
        kind="deploy",
        summary=None,
        author=None,
        same_version=False,
        bad=None,
        canary=0,
    ):
        """Replace the pods of s (one by one, maxSurge 1) from index i0; returns (change id, new pods, first ready index)."""
        rng = self.rng
        old = [p for p in self.pods[s] if p.alive(i0)]
        prev = old[0].version
        if version is None:
            version = prev if same_version else bump(prev, rng)
        rs = self.rs_hash()
        su = self.startup_steps(s)
        new, t = [], i0
        replace = old[:canary] if canary else old
        pull = rng.uniform(2, 9)
        for k, op in enumerate(replace):
            np = Pod(
                s,
                f"{s}-{rs}-{self.suffix()}",
                rs,
                version,
                rng.choice(self.nodes),
                t,
                t + su,
                self.uid(),
            )
            np.skew = rng.uniform(0.93, 1.07)
            op.end_i = np.ready_i if not canary else 10**9
            if canary:
                np.skew = op.skew
            self.pods[s].append(np)
            new.append(np)
            ts = self.ts[min(t, self.T - 1)]
            self.event(
                ts,
                s,
                "Scheduled",
                f"Successfully assigned {APP_NS}/{np.name} to {np.node}",
                f"pod/{np.name}",
                typ="Normal",
                source="default-scheduler",
                node=np.node,
            )
            self.event(
                ts + 1,
                s,
                "Pulling",
                f'Pulling image "ghcr.io/acme-shop/{s}:{version}"',
                f"pod/{np.name}",
                typ="Normal",
                node=np.node,
            )
            self.event(
                ts + 1 + pull,
                s,
                "Pulled",
                f'Successfully pulled image "ghcr.io/acme-shop/{s}:{version}" in {pull:.3f}s',
                f"pod/{np.name}",
                typ="Normal",
                node=np.node,
            )
            self.event(
                ts + 2 + pull,
                s,
                "Started",
                f"Started container {s}",
                f"pod/{np.name}",
                typ="Normal",
                node=np.node,
            )
            self.event(
                ts,
                s,
                "ScalingReplicaSet",
                f"Scaled up replica set {s}-{rs} to {k + 1}",
                f"deployment/{s}",
                typ="Normal",
                source="deployment-controller",
            )
            if not canary:
                kts = self.ts[min(np.ready_i, self.T - 1)]
                self.event(
                    kts,
                    s,
                    "ScalingReplicaSet",
                    f"Scaled down replica set {s}-{op.rs} to {len(replace) - k - 1}",
                    f"deployment/{s}",
                    typ="Normal",
                    source="deployment-controller",
                )
                self.event(
                    kts + 0.5,
                    s,
                    "Killing",
                    f"Stopping container {s}",
                    f"pod/{op.name}",
                    typ="Normal",
                    node=op.node,
                )
            t = np.ready_i if not canary else t
        self.versions[s] = version
        cid = None
        if record:
            cid = self.change(
                self.ts[i0] - rng.randint(20, 90),
                s,
                kind,
                summary or f"Deploy {s} {version}",
                version=version,
                previous=prev,
                author=author,
            )
        if bad:
            self.apply_bad(new, bad)
        return cid, new, new[0].ready_i

    def apply_bad(self, pods, bad):
        for p in pods:
            if "err" in bad:
                for frac, tag, *rest in bad["err"]:
                    op = rest[0] if rest else None
                    self.K.pod_err[p.name].append(
                        (op, self.arr(frac), tag, bad.get("early", False))
                    )
            if "lat" in bad:
                self.K.pod_lat[p.name] = self.arr(bad["lat"])
            if "fs" in bad:
                self.K.pod_fs[p.name] = (self.arr(bad["fs"][0]), bad["fs"][1])

    def share_of(self, s, pods):
        names = {p.name for p in pods}
        out = []
        for i in range(self.T):
            srv = [p for p in self.pods[s] if p.serving(i)]
            out.append(sum(1 for p in srv if p.name in names) / len(srv) if srv else 0.0)
        return out

    def crash(self, pod, i, reason, exit_code, message="", startup_s=None):
        if i >= self.T:
            return self.T
        n = len(pod.restarts) + 1
        backoff = min(300, 10 * 2 ** (n - 1))
        startup = (
            startup_s
            if startup_s is not None
            else {"java": 45, "go": 3, "python": 12, "node": 6}.get(SERVICES[pod.svc]["lang"], 10)
        )
        down = max(1, int(math.ceil((backoff + startup) * self.rng.uniform(0.9, 1.15) / self.step)))
        pod.restarts.append(i)
        for j in range(i, min(self.T, i + down)):
            pod.down.add(j)
        pod.crashes.append((i, reason, exit_code, message, down))
        return i + down

    def crashloop(
        self,
        s,
        i0,
        reason,
        exit_code,
        pods=None,
        run_s=(40, 90),
        message="",
        until=None,
        stagger=True,
    ):
        pods = pods or [p for p in self.pods[s] if p.alive(i0)]
        until = self.T if until is None else until
        for k, p in enumerate(pods):
            t = i0 + (
                int(self.rng.uniform(0, max(1, self.m(run_s[0] / 60)))) if stagger and k else 0
            )
            while t < until:
                run = max(1, int(round(self.rng.uniform(*run_s) / self.step)))
                t += run
                if t >= until:
                    break
                t = self.crash(p, t, reason, exit_code, message)
        return pods

    # ---- records
    def change(
        self, ts, s, kind, summary, version=None, previous=None, author=None, url=None, cid=None
    ):
        rng = self.rng
        author = author or rng.choice(AUTHORS)
        if cid is None:
            prefix = {
                "deploy": "deploy",
                "rollout": "deploy",
                "canary": "deploy",
                "config": "cfg",
                "configmap": "cfg",
                "flag": "flag",
                "feature_flag": "flag",
                "infra": "tf",
                "scale": "hpa",
            }.get(kind, "chg")
            cid = f"{prefix}-{rng.randrange(10000, 99999)}"
        c = {"id": cid, "ts": iso(ts), "service": s, "kind": kind, "summary": summary}
        if version:
            c["version"] = version
        if previous:
            c["previous_version"] = previous
        c["author"] = author
        if url is None:
            if kind in ("deploy", "rollout", "canary"):
                url = f"https://argocd.internal.acme-shop.dev/applications/shop-{s}?revision={hexid(rng, 7)}"
            elif kind in ("flag", "feature_flag"):
                url = f"https://flags.internal.acme-shop.dev/projects/shop/flags/{summary.split()[1] if len(summary.split()) > 1 else s}"
            else:
                url = (
                    f"https://github.com/acme-shop/platform-config/pull/{rng.randrange(1200, 4800)}"
                )
        c["url"] = url
        self.changes.append(c)
        return cid

    def event(self, ts, s, reason, message, obj, typ="Warning", count=1, first=None, **attrs):
        e = {
            "ts": ts,
            "service": s,
            "reason": reason,
            "type": typ,
            "message": message,
            "object": obj,
            "count": count,
        }
        if first is not None:
            e["first_timestamp"] = first
        for k, v in attrs.items():
            if v is not None:
                e[k] = v
        self.events.append(e)


AUTHORS = [
    "m.okafor",
    "j.lindqvist",
    "p.ramanathan",
    "s.delacroix",
    "a.novak",
    "k.tanaka",
    "r.haddad",
    "l.moreau",
    "deploy-bot",
    "renovate[bot]",
    "t.fischer",
    "c.alvarez",
]


def bump(v, rng):
    parts = [int(x) for x in v.split(".")]
    if rng.random() < 0.7:
        parts[2] += rng.randint(1, 3)
    else:
        parts[1] += 1
        parts[2] = 0
    return ".".join(str(x) for x in parts)


# --------------------------------------------------------------------------- simulation


class OpState:
    __slots__ = (
        "rate",
        "err",
        "codes",
        "mean",
        "fs",
        "sx",
        "emean",
        "pods",
        "calls",
        "dep_src",
        "top_tag",
        "early",
    )


def load_curve(rho, rho_b):
    r = min(rho, 0.985)
    lf = 1.0
    if r > rho_b:
        lf = min(30.0, ((1.0 - rho_b) / (1.0 - r)) ** 0.95)
    over = 0.0
    if rho > 1.0:
        over = min(0.9, 1.0 - 1.0 / rho + 0.04)
    elif rho > 0.92:
        over = (rho - 0.92) * 0.5
    return lf, over


def code_for(s, tag_def, dep_kind=None):
    kind = SERVICES[s]["kind"]
    if kind == "grpc":
        if dep_kind == "timeout":
            return 4
        if dep_kind is not None:
            return 14 if SERVICES[s]["lang"] == "go" else 13
        return tag_def.get("grpc", 13)
    if kind in ("db", "cache", "queue"):
        return "error"
    if dep_kind is not None:
        if s == "edge-gateway":
            return 504 if dep_kind == "timeout" else (503 if dep_kind == "conn" else 502)
        if SERVICES[s]["lang"] == "node" and dep_kind == "timeout":
            return 504
        return SERVICES[s].get("up", 500)
    return tag_def.get("code", 500)


class Sim:
    def __init__(self, b):
        self.b = b
        T = b.T
        self.state = {(s, op.name): [None] * T for s in SERVICES for op in OPS[s]}
        self.edge = defaultdict(
            lambda: [None] * T
        )  # (s, callee, cop) -> (calls, outcomes, dur_sum)
        self.load = {s: [0.0] * T for s in SERVICES}
        self.rho = {s: [0.0] * T for s in SERVICES}
        self.pool = {s: [None] * T for s in SERVICES}
        self.lag = [0.0] * T
        self.produced = [0.0] * T
        self.consumed = [0.0] * T
        self.serving = {}
        for s in SERVICES:
            if SERVICES[s]["kind"] == "ext":
                continue
            self.serving[s] = [[p for p in b.pods[s] if p.serving(i)] for i in range(T)]
        self.noise = {}
        for s in SERVICES:
            r = random.Random(f"noise:{b.seed}:{b.idx}:{s}")
            w, arr = 0.0, []
            for _ in range(T):
                w = 0.85 * w + r.gauss(0, 0.03)
                arr.append(math.exp(w + r.gauss(0, 0.04)))
            self.noise[s] = arr
        self._capacity()

    def _rates(self, i, R, Rp, knobs=True):
        b = self.b
        inc = defaultdict(float)
        rates = {}
        for s in ORDER_DOWN:
            sv = SERVICES[s]
            for op in OPS[s]:
                if s == "edge-gateway":
                    r = R * op.share
                elif s == "partner-api":
                    r = Rp * op.share
                elif s == "fulfillment":
                    r = self._consumer_rate(i) if knobs else R * 0.058 + Rp * 0.1
                else:
                    r = inc[(s, op.name)]
                if knobs:
                    for key in ((s, op.name), (s, None)):
                        a = b.K.rate.get(key)
                        if a is not None:
                            r *= a[i]
                rates[(s, op.name)] = r
            for op in OPS[s]:
                r = rates[(s, op.name)]
                if not op.calls or r <= 0:
                    continue
                early = 0.0
                if knobs:
                    if sv["kind"] != "ext" and not self.serving[s][i]:
                        continue
                    early = self._early(s, op.name, i)
                for c in op.calls:
                    m = c.mult
                    fail = 0.0
                    if knobs:
                        cm = b.K.call_mult.get((s, c.callee))
                        if cm is not None:
                            m *= cm[i]
                        fail = self._edge_fail(s, c.callee, i)
                        if SERVICES[c.callee]["kind"] != "ext" and not self.serving[c.callee][i]:
                            fail = 1.0
                    inc[(c.callee, c.cop)] += r * (1 - early) * m * (1 - min(1.0, fail))
        return rates

    def _capacity(self):
        b = self.b
        rates = self._rates(0, b.R * b.diurnal[b.o], b.Rp, knobs=False)
        self.cap = {}
        for s, sv in SERVICES.items():
            tot = sum(rates[(s, op.name)] for op in OPS[s])
            if sv["kind"] == "ext":
                self.cap[s] = 1e12
                continue
            n = 1 if s == "shop-pg" else len([p for p in b.pods[s] if p.alive(0)])
            # capacity per pod in requests/s at the baseline hour and rate
            self.cap[s] = max(tot, 0.5) / (max(1, n) * b.rho[s])

    def _early(self, s, opn, i):
        e = 0.0
        for op, arr, tag, early in self.b.K.err.get(s, ()):
            if early and (op is None or op == opn):
                e += arr[i]
        return min(1.0, e)

    def _edge_fail(self, s, callee, i):
        f = 0.0
        for key in ((s, callee), ("*", callee)):
            for arr, tag in self.b.K.edge_err.get(key, ()):
                if tag != "reset":
                    f += arr[i]
        return f

    def _consumer_rate(self, i):
        # attempts per second by fulfillment: what was produced plus backlog, up to its capacity
        prev = i - 1
        backlog = self.lag[prev] if prev >= 0 else self.b.lag_base
        prod = self.produced[i]
        srv = self.serving["fulfillment"][i]
        if not srv:
            return 0.0
        st = self.state[("fulfillment", "orders.v1 process")][prev] if prev >= 0 else None
        lat = 0.45
        if st is not None:
            lat = max(0.05, (1 - st.err) * st.mean + st.err * (st.emean + 15.0))
        capacity = len(srv) * 8 / lat
        eff = self.b.consumer_eff
        if eff is not None:
            capacity *= eff[i]
        return min(capacity, prod + backlog / self.b.step)

    def run(self):
        b, T = self.b, self.b.T
        for i in range(T):
            R = b.R * b.diurnal[i] * b.wander[i]
            Rp = (
                b.Rp
                * b.wander[i]
                * (1.0 + (1.2 if b.partner_bursts and (b.ts[i] // 60) % 15 in (0, 1) else 0.0))
            )
            # kafka: what checkout publishes at i (approximately: last step's success ratio)
            self.produced[i] = self._produced(i, R)
            rates = self._rates(i, R, Rp)
            for s in ORDER_UP:
                self._service(s, i, rates)
            # consumer lag
            st = self.state[("fulfillment", "orders.v1 process")][i]
            ok = rates[("fulfillment", "orders.v1 process")] * (1 - st.err)
            self.consumed[i] = ok
            prev = self.lag[i - 1] if i else b.lag_base
            self.lag[i] = max(b.rng.uniform(5, 30), prev + (self.produced[i] - ok) * b.step)

    def _produced(self, i, R):
        # share of gateway traffic that reaches checkout (web + app) plus partner orders
        base = R * (0.12 * 0.28 + 0.08 * 0.3) + self.b.Rp * 0.1
        ratio = 1.0
        if i > 0:
            st = self.state[("events-kafka", "publish orders.v1")][i - 1]
            ck = self.state[("checkout", "POST /checkouts")][i - 1]
            if st is not None and ck is not None:
                ratio = max(0.0, 1 - ck.err) * (1 - st.err)
        a = self.b.K.rate.get(("edge-gateway", None))
        if a is not None:
            base *= 0.5 + 0.5 * a[i]
        return base * ratio

    def _own_errs(self, s, opn, i, pod=None):
        out = []
        for op, arr, tag, early in self.b.K.err.get(s, ()):
            if (op is None or op == opn) and arr[i] > 0:
                out.append((tag, arr[i], early))
        if pod is not None:
            for op, arr, tag, early in self.b.K.pod_err.get(pod, ()):
                if (op is None or op == opn) and arr[i] > 0:
                    out.append((tag, arr[i], early))
        return out

    def _call(self, s, c, i, r):
        """What s sees when it calls c.callee: (outcomes dict frac, ok mean, fs, sx, err frac, err dur, top tag)."""
        b, K = self.b, self.b.K
        callee = c.callee
        cs = self.state[(callee, c.cop)][i]
        out = {}
        add = 0.0
        efs, ex = 0.0, 0.0
        conn_f = 0.0
        for key in ((s, callee), ("*", callee)):
            a = K.edge_lat.get(key)
            if a is not None:
                add += a[i]
            f = K.edge_fs.get(key)
            if f is not None and f[0][i] > 0:
                efs, ex = f[0][i], f[1]
            for arr, tag in K.edge_err.get(key, ()):
                if arr[i] > 0:
                    st_code = b.tags[tag].get("status")
                    k = ("status", st_code) if st_code else tag
                    out[k] = out.get(k, 0.0) + arr[i]
                    conn_f += arr[i]
        if SERVICES[callee]["kind"] != "ext" and not self.serving[callee][i]:
            out = {"conn": 1.0}
            conn_f = 1.0
        conn_f = min(1.0, conn_f)
        if conn_f >= 1.0 or cs is None:
            tot = sum(out.values()) or 1.0
            out = {k: v / tot for k, v in out.items()}
            dur = sum(
                out[k] * (0.3 if isinstance(k, tuple) else b.tags[k].get("dur", 0.003)) for k in out
            )
            return out, 0.0, 0.0, 0.0, 1.0, dur, None
        tmo = c.timeout
        m = cs.mean + add
        fs = cs.fs
        sm = cs.mean + cs.sx + add
        if efs > 0:
            sm = (fs * sm + efs * (1 - fs) * (m + ex)) / (fs + efs * (1 - fs))
            fs = fs + efs * (1 - fs)
        sig = OPIDX[(callee, c.cop)].sigma
        p1 = 0.0
        if m > 0:
            p1 = 1.0 - phi((math.log(tmo) - (math.log(m) - sig * sig / 2)) / sig)
        p2 = 0.0
        if fs > 0 and sm > 0:
            p2 = 1.0 - phi((math.log(tmo) - (math.log(sm) - 0.045)) / 0.3)
        ce = cs.err
        t_frac = (1 - ce) * ((1 - fs) * p1 + fs * p2)
        fs_eff = fs * (1 - p2)
        rest = 1 - conn_f
        for code, f in cs.codes.items():
            k = ("status", code)
            out[k] = out.get(k, 0.0) + rest * f
        if t_frac > 0:
            out["timeout"] = out.get("timeout", 0.0) + rest * t_frac
        err = conn_f + rest * (ce + t_frac)
        edur = 0.0
        if err > 0:
            for k, v in out.items():
                if k == "timeout":
                    edur += v * tmo
                elif isinstance(k, tuple):
                    edur += v * (cs.emean + add if k[1] in cs.codes else 0.3)
                else:
                    edur += v * b.tags[k].get("dur", 0.003)
            edur /= err
        return out, m, fs_eff, max(0.0, sm - m), min(1.0, err), edur, cs.top_tag

    def _service(self, s, i, rates):
        b, K = self.b, self.b.K
        sv = SERVICES[s]
        ext = sv["kind"] == "ext"
        srv = [] if ext else self.serving[s][i]
        tot = sum(rates[(s, op.name)] for op in OPS[s])
        self.load[s][i] = tot
        if ext:
            rho = 0.0
        else:
            cm = K.cap.get(s)
            capm = cm[i] if cm is not None else 1.0
            n = len(srv) if s != "shop-pg" else (1 if srv else 0)
            rho = tot / (self.cap[s] * max(1, n) * capm) if srv else 0.0
        self.rho[s][i] = rho
        lf, over = load_curve(rho, b.rho[s]) if not ext else (1.0, 0.0)
        noise = self.noise[s][i]
        # children first, per op
        child = {}
        hold_total = 0.0
        for op in OPS[s]:
            r = rates[(s, op.name)]
            early = self._early(s, op.name, i)
            r_eff = r * (1 - early)
            mean_add, fs_add, sx_num, dep_err, hold = 0.0, 0.0, 0.0, 0.0, 0.0
            dep_src, dep_dur_num, par_best = {}, 0.0, 0.0
            calls = {}
            surv = 1.0
            for c in op.calls:
                mult = c.mult
                cmu = K.call_mult.get((s, c.callee))
                if cmu is not None:
                    mult *= cmu[i]
                out, mok, fs, sx, ce, edur, top = self._call(s, c, i, r_eff)
                calls[(c.callee, c.cop)] = (out, mok, fs, sx, ce, edur, top, mult)
                key = (s, c.callee, c.cop)
                n_calls = r_eff * mult
                okdur = mok + fs * sx
                self.edge[key][i] = (n_calls, out, n_calls * ((1 - ce) * okdur + ce * edur))
                if op.opts.get("one"):
                    w = mult
                    mean_add += w * ((1 - ce) * mok + ce * edur) if not c.critical else w * mok
                    fs_add += w * fs
                    sx_num += w * fs * sx
                    if c.critical and ce > 0:
                        e = w * ce
                        dep_err += e
                        dep_dur_num += e * edur
                        for k, v in out.items():
                            dep_src[(c.callee, k, top)] = (
                                dep_src.get((c.callee, k, top), 0.0) + w * v
                            )
                    continue
                if c.critical:
                    e = min(1.0, mult * ce) if mult <= 1 else 1 - (1 - ce) ** mult
                    if e > 0:
                        surv *= 1 - e
                        dep_dur_num += e * (edur + mean_add)
                        for k, v in out.items():
                            dep_src[(c.callee, k, top)] = dep_src.get(
                                (c.callee, k, top), 0.0
                            ) + e * v / max(ce, 1e-12)
                    contrib = mult * mok
                else:
                    contrib = mult * ((1 - ce) * mok + ce * edur)
                if op.opts.get("parallel"):
                    par_best = max(par_best, contrib)
                else:
                    mean_add += contrib
                fs_add += min(1.0, mult * fs)
                sx_num += min(1.0, mult * fs) * sx
                if SERVICES[c.callee]["kind"] == "db":
                    hold += mult * (mok + fs * sx)
            if not op.opts.get("one"):
                dep_err = 1 - surv
            mean_add += par_best
            kinds = {}
            for (_c, k, _t), v in dep_src.items():
                kk = (
                    "timeout"
                    if k == "timeout"
                    else (
                        "conn" if k in ("conn", "tls", "tls_server", "dns", "reset") else "status"
                    )
                )
                kinds[kk] = kinds.get(kk, 0.0) + v
            tk = sum(kinds.values())
            kinds = {k: v / tk for k, v in kinds.items()} if tk > 0 else {"status": 1.0}
            child[op.name] = (
                mean_add,
                fs_add,
                sx_num,
                min(1.0, dep_err),
                dep_src,
                dep_dur_num,
                calls,
                r_eff,
                kinds,
            )
            hold_total += r_eff * hold
        # connection pool (Hikari, pgxpool)
        pool_wait, pool_err = 0.0, 0.0
        pl = K.pool.get(s)
        if pl is not None and srv:
            mx = pl["max_arr"][i] if pl.get("max_arr") else pl["max"]
            leak = pl["leak"][i] if pl.get("leak") else 0.0
            hold_extra = pl.get("hold_extra", 0.0)
            demand = (hold_total + tot * hold_extra) / len(srv)
            avail = max(0.01, mx - leak)
            util = demand / avail
            if util > 0.7:
                avg_hold = (hold_total / tot if tot else 0.01) + hold_extra
                pool_wait = min(
                    pl["timeout"],
                    avg_hold * ((util - 0.7) / max(0.01, 1.0 - min(util, 0.99))) * 0.6,
                )
            if util > 0.97:
                pool_err = min(0.97, 1 - 0.97 / util + 0.03)
            used = min(mx, demand + leak)
            pending = max(0.0, demand - avail) * 3 + (tot / len(srv)) * pool_wait * 0.5
            self.pool[s][i] = (used, pending, mx, util)
            b.tags["pool"]["dur"] = pl["timeout"]
        elif pl is not None:
            self.pool[s][i] = None
        # own part per op, default pod and pods with their own knobs
        for op in OPS[s]:
            mean_add, fs_add, sx_num, dep_err, dep_src, dep_dur_num, calls, r_eff, kinds = child[
                op.name
            ]
            r = rates[(s, op.name)]
            lm = 1.0
            for key in ((s, op.name), (s, None)):
                a = K.lat.get(key)
                if a is not None:
                    lm *= a[i]
            own_mean = op.own * lm * lf * noise + (pool_wait if pl is not None and calls else 0.0)
            own_fs, own_sx = 0.0, 0.0
            for o2, arr, extra in K.fs.get(s, ()):
                if (o2 is None or o2 == op.name) and arr[i] > 0:
                    own_fs, own_sx = min(0.9, own_fs + arr[i]), extra
            errs = self._own_errs(s, op.name, i)
            errs.append(
                (
                    "bg",
                    (0.00025 if sv["kind"] not in ("db", "cache", "queue") else 0.0001)
                    if not ext
                    else 0.0012,
                    False,
                )
            )
            if over > 0 and sv["kind"] != "consumer":
                errs.append(("overload", over, False))
            if pool_err > 0 and any(SERVICES[c.callee]["kind"] == "db" for c in op.calls):
                errs.append(("pool", pool_err, False))
            default = self._pod_state(
                s,
                op,
                own_mean,
                errs,
                own_fs,
                own_sx,
                mean_add,
                fs_add,
                sx_num,
                dep_err,
                dep_dur_num,
                kinds,
            )
            pods = {}
            if ext:
                pods["_"] = (1.0,) + default
            else:
                wsum = sum(p.skew for p in srv) or 1.0
                for p in srv:
                    w = p.skew / wsum
                    pl_ = K.pod_lat.get(p.name)
                    pe = K.pod_err.get(p.name)
                    pf = K.pod_fs.get(p.name)
                    if pl_ is None and pe is None and pf is None:
                        pods[p.name] = (w,) + default
                        continue
                    om = own_mean * (pl_[i] if pl_ is not None else 1.0)
                    e2 = self._own_errs(s, op.name, i, p.name) + [("bg", 0.00025, False)]
                    if over > 0 and sv["kind"] != "consumer":
                        e2.append(("overload", over, False))
                    fs2, sx2 = own_fs, own_sx
                    if pf is not None and pf[0][i] > 0:
                        fs2, sx2 = min(0.9, fs2 + pf[0][i]), pf[1]
                    pods[p.name] = (w,) + self._pod_state(
                        s,
                        op,
                        om,
                        e2,
                        fs2,
                        sx2,
                        mean_add,
                        fs_add,
                        sx_num,
                        dep_err,
                        dep_dur_num,
                        kinds,
                    )
            st = OpState()
            st.rate = r
            st.pods = pods
            st.calls = calls
            st.dep_src = dep_src
            st.early = self._early(s, op.name, i)
            # aggregate over pods
            err = mean = fs = sxn = emn = 0.0
            codes = {}
            tops = {}
            for w, perr, pcodes, pmean, pfs, psx, pem, *_rest in pods.values():
                err += w * perr
                mean += w * pmean
                fs += w * pfs
                sxn += w * pfs * psx
                emn += w * perr * pem
                for k, v in pcodes.items():
                    codes[k] = codes.get(k, 0.0) + w * v
                for tag, frac, _e in _rest[1]:
                    tops[tag] = tops.get(tag, 0.0) + w * frac
            # pods much slower than the rest are a slow component for callers
            if len(pods) > 1:
                means = sorted(v[3] for v in pods.values())
                lo = means[0]
                slow_w = sum(v[0] for v in pods.values() if v[3] > 2.5 * lo)
                if 0 < slow_w < 1:
                    fast = sum(v[0] * v[3] for v in pods.values() if v[3] <= 2.5 * lo) / (
                        1 - slow_w
                    )
                    slow = sum(v[0] * v[3] for v in pods.values() if v[3] > 2.5 * lo) / slow_w
                    sxn += slow_w * (slow - fast)
                    fs += slow_w
                    mean = fast
            st.err = min(1.0, err)
            st.codes = codes
            st.mean = mean
            st.fs = min(0.95, fs)
            st.sx = sxn / fs if fs > 0 else 0.0
            st.emean = emn / err if err > 0 else mean
            tops.pop("bg", None)
            st.top_tag = max(tops, key=tops.get) if tops else None
            self.state[(s, op.name)][i] = st

    def _pod_state(
        self,
        s,
        op,
        own_mean,
        errs,
        own_fs,
        own_sx,
        mean_add,
        fs_add,
        sx_num,
        dep_err,
        dep_dur_num,
        kinds,
    ):
        b = self.b
        oe = min(0.99, sum(f for _t, f, _e in errs))
        codes = {}
        edur_num = 0.0
        for tag, f, early in errs:
            td = b.tags[tag]
            k = code_for(s, td)
            share = f * (oe / max(1e-12, sum(x for _a, x, _b in errs)))
            codes[k] = codes.get(k, 0.0) + share
            d = td.get("dur")
            edur_num += share * (
                d if d is not None else (own_mean * 0.6 if early else own_mean + mean_add * 0.8)
            )
        de = dep_err * (1 - oe)
        if de > 0:
            for kk, kv in kinds.items():
                k = code_for(s, {}, kk)
                codes[k] = codes.get(k, 0.0) + de * kv
            edur_num += de * (own_mean * 0.5 + dep_dur_num / max(dep_err, 1e-12))
        err = oe + de
        fs = min(0.9, own_fs + fs_add)
        sx = (own_fs * own_sx + sx_num) / fs if fs > 0 else 0.0
        mean = own_mean + mean_add
        emean = edur_num / err if err > 0 else mean
        return (err, codes, mean, fs, sx, emean, own_mean, errs, own_fs, own_sx)


# pod state tuple: (w, err, codes, mean, fs, sx, emean, own_mean, own_errs, own_fs, own_sx)


# --------------------------------------------------------------------------- metrics

SEC_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0]
MS_BUCKETS = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000]
SCOPE = {
    "go": "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp",
    "java": "io.opentelemetry.tomcat-10.0",
    "python": "opentelemetry.instrumentation.fastapi",
    "node": "@opentelemetry/instrumentation-http",
}


class Store:
    def __init__(self, b):
        self.b = b
        self.T = b.T
        self.ser = {}

    def counter(self, stem, key, labels, pod, i, inc, base=0.0):
        k = (stem, key)
        e = self.ser.get(k)
        if e is None:
            if pod is not None and (pod.start_i >= 0 or pod.last_restart(i) is not None):
                base = 0.0
            if inc <= 0 and base <= 0:
                return
            if callable(labels):
                labels = labels()
            e = [stem, labels, [None] * self.T, base, i]
            self.ser[k] = e
        elif pod is not None and pod.restarts:
            for r in pod.restarts:
                if e[4] < r <= i:
                    e[3] = 0.0
                    break
        e[3] += inc
        e[2][i] = e[3]
        e[4] = i

    def gauge(self, stem, key, labels, i, v):
        k = (stem, key)
        e = self.ser.get(k)
        if e is None:
            if callable(labels):
                labels = labels()
            e = [stem, labels, [None] * self.T, 0.0, i]
            self.ser[k] = e
        e[2][i] = v

    def by_stem(self):
        out = defaultdict(list)
        for e in self.ser.values():
            out[e[0]].append(e)
        return out


def pod_res(b, p):
    s = p.svc
    sv = SERVICES[s]
    ns = sv.get("ns", APP_NS)
    d = {
        "job": f"{ns}/{s}",
        "instance": p.uid,
        "service_name": s,
        "service_namespace": ns,
        "service_version": p.version,
        "k8s_namespace_name": ns,
        "k8s_pod_name": p.name,
        "k8s_node_name": p.node,
        "deployment_environment_name": "prod",
        "telemetry_sdk_language": {
            "go": "go",
            "java": "java",
            "python": "python",
            "node": "nodejs",
        }.get(sv["lang"], "go"),
    }
    if p.kind == "statefulset":
        d["k8s_statefulset_name"] = s
    else:
        d["k8s_deployment_name"] = s
    return d


def kube_res(b, p):
    ns = SERVICES[p.svc].get("ns", APP_NS)
    h = hashlib.sha1(p.node.encode()).hexdigest()
    d = {
        "job": "otel-collector",
        "instance": f"otel-collector-agent-{h[:5]}:8889",
        "k8s_namespace_name": ns,
        "k8s_pod_name": p.name,
        "k8s_pod_uid": p.uid,
        "k8s_node_name": p.node,
    }
    d["k8s_statefulset_name" if p.kind == "statefulset" else "k8s_deployment_name"] = p.svc
    return d


def mix_cdf(les_s, comps):
    """comps: [(weight, mean seconds, sigma)] -> cumulative fractions at each bound."""
    out = []
    pre = []
    for w, mean, sg in comps:
        if w <= 1e-5:
            continue
        mean = max(mean, 1e-5)
        pre.append((w, math.log(mean) - sg * sg / 2, sg))
    for le in les_s:
        if le <= 0:
            out.append(0.0)
            continue
        lle = math.log(le)
        out.append(sum(w * phi((lle - mu) / sg) for w, mu, sg in pre))
    return out


class Emitter:
    def __init__(self, b, sim):
        self.b, self.sim = b, sim
        self.st = Store(b)
        self.rng = random.Random(f"emit:{b.seed}:{b.idx}")
        self.res = {}
        self.kres = {}
        for s, pods in b.pods.items():
            for p in pods:
                self.res[p.name] = pod_res(b, p)
                self.kres[p.name] = kube_res(b, p)
        self.mem = {}
        self.cpu = {}

    def scraped(self, p, i):
        return p.up(i) and i not in p.miss and i not in self.b.gaps

    def run(self):
        for s in APPS:
            self.server(s)
            self.client(s)
        self.runtime()
        self.kube()
        self.datastores()
        self.hosts()
        if self.b.cert_metrics:
            self.certs()

    # ---- server side
    def server(self, s):
        b, sim, st, rng = self.b, self.sim, self.st, self.rng
        sv = SERVICES[s]
        lang = sv["lang"]
        step = b.step
        if sv["kind"] == "consumer":
            return self.consumer(s)
        if lang == "node":
            fam, les, unit, codel = (
                "http_server_duration_milliseconds",
                MS_BUCKETS,
                1000.0,
                "http_status_code",
            )
        elif sv["kind"] == "grpc":
            fam, les, unit, codel = (
                "rpc_server_duration_milliseconds",
                MS_BUCKETS,
                1000.0,
                "rpc_grpc_status_code",
            )
        else:
            fam, les, unit, codel = (
                "http_server_request_duration_seconds",
                SEC_BUCKETS,
                1.0,
                "http_response_status_code",
            )
        les_s = [x / unit for x in les]
        nle = len(les)
        le_txt = [fmt_le(le) for le in les] + ["+Inf"]
        ops = OPS[s]
        grpc = sv["kind"] == "grpc"
        bg_code = 13 if grpc else 500
        scope = (
            SCOPE[lang]
            if not grpc
            else (
                "io.opentelemetry.grpc-1.6"
                if lang == "java"
                else "go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
            )
        )
        op_labels = {}
        for op in ops:
            if lang == "node":
                meth, route = op.name.split(" ", 1)
                op_labels[op.name] = {
                    "http_method": meth,
                    "http_route": route,
                    "http_scheme": "http",
                    "http_flavor": "1.1",
                    "net_host_port": str(sv["port"]),
                }
            elif grpc:
                op_labels[op.name] = {
                    "rpc_system": "grpc",
                    "rpc_service": RPC_SVC[s],
                    "rpc_method": op.name,
                }
            else:
                meth, route = op.name.split(" ", 1)
                op_labels[op.name] = {
                    "http_request_method": meth,
                    "http_route": route,
                    "url_scheme": "http",
                    "network_protocol_version": "1.1",
                }
        cdf_cache = {}
        cstem, sstem, bstem = fam + "_count", fam + "_sum", "_raw_bucket:" + fam
        npods = max(1, len(b.pods[s]))
        for p in b.pods[s]:
            res = self.res[p.name]
            up_s = p.uptime if p.start_i < 0 else 0.0
            base_ns = {
                op.name: (sim.state[(s, op.name)][0].rate / npods) * up_s * 0.8 if up_s else 0.0
                for op in ops
            }

            def mk(op, code, res=res):
                lab = dict(res)
                lab.update(op_labels[op.name])
                lab[codel] = str(code)
                if lang != "node" and not grpc and isinstance(code, int) and code >= 500:
                    lab["error_type"] = str(code)
                lab["otel_scope_name"] = scope
                lab["__name__"] = cstem
                return lab

            for i in range(b.T):
                if not self.scraped(p, i):
                    continue
                hist = [0.0] * nle
                n_all = 0
                for op in ops:
                    os_ = sim.state[(s, op.name)][i]
                    ps = os_.pods.get(p.name)
                    if ps is None:
                        n, err, codes, mean, fs, sx, emean = 0, 0.0, {}, 0.0, 0.0, 0.0, 0.0
                    else:
                        _w, err, codes, mean, fs, sx, emean = ps[:7]
                        n = pcount(rng, os_.rate * _w * step)
                    base_n = base_ns[op.name]
                    counts = {}
                    n_err = 0
                    for code, f in codes.items():
                        c = sround(rng, n * f)
                        if c:
                            counts[code] = counts.get(code, 0) + c
                            n_err += c
                    n_ok = max(0, n - n_err)
                    n4 = 0
                    for code, f in op.bg4xx.items():
                        c = sround(rng, n_ok * f)
                        if c:
                            counts[code] = c
                            n4 += c
                    n_ok -= n4
                    okc = 0 if grpc else op.ok
                    counts[okc] = counts.get(okc, 0) + n_ok
                    n = n_ok + n4 + n_err
                    n_all += n
                    if bg_code not in counts:
                        counts[bg_code] = 0
                    for code, c in counts.items():
                        base = 0.0
                        if code == okc:
                            base = base_n * 0.97
                        elif code in op.bg4xx:
                            base = base_n * op.bg4xx[code]
                        elif code == bg_code:
                            base = base_n * 0.0003
                        st.counter(
                            cstem,
                            (p.name, op.name, code),
                            lambda op=op, code=code: mk(op, code),
                            p,
                            i,
                            c,
                            float(int(base)),
                        )
                    n_o = n - n_err
                    if ps is not None:
                        dsum = n_o * (mean + fs * sx) + n_err * emean
                        if n:
                            ck = (op.name, err, mean, fs, sx, emean)
                            cdf = cdf_cache.get(ck)
                            if cdf is None:
                                comps = [
                                    ((1 - err) * (1 - fs), mean, op.sigma),
                                    ((1 - err) * fs, mean + sx, 0.3),
                                    (err, emean, 0.45),
                                ]
                                cdf = mix_cdf(les_s, comps)
                                cdf_cache[ck] = cdf
                            for k in range(nle):
                                hist[k] += n * cdf[k]
                    else:
                        dsum = 0.0
                    if grpc:
                        key = (p.name, op.name)
                        labf = lambda op=op: {
                            "service_name": s,
                            "k8s_pod_name": p.name,
                            "rpc_method": op.name,
                        }  # noqa: E731
                    else:
                        key = (p.name, op.name)
                        labf = lambda op=op: {
                            "service_name": s,
                            "service_version": p.version,
                            "k8s_pod_name": p.name,
                            "http_route": op.name.split(" ", 1)[1],
                        }  # noqa: E731
                    st.counter(
                        sstem,
                        key,
                        labf,
                        p,
                        i,
                        dsum * unit,
                        base_n * (mean + fs * sx) * unit if ps else 0.0,
                    )
                # buckets of the pod (all routes), aggregated later by service and le
                for k in range(nle + 1):
                    c = n_all if k == nle else min(n_all, int(round(hist[k])))
                    st.counter(
                        bstem,
                        (p.name, k),
                        lambda k=k: {"service_name": s, "k8s_pod_name": p.name, "le": le_txt[k]},
                        p,
                        i,
                        c,
                        0.0,
                    )

    def consumer(self, s):
        b, sim, st, rng = self.b, self.sim, self.st, self.rng
        for p in b.pods[s]:
            res = self.res[p.name]
            for i in range(b.T):
                if not self.scraped(p, i):
                    continue
                os_ = sim.state[(s, "orders.v1 process")][i]
                ps = os_.pods.get(p.name)
                n = pcount(rng, os_.rate * ps[0] * b.step) if ps else 0
                ne = sround(rng, n * ps[1]) if ps else 0
                for et, c in ((None, n - ne), ("_OTHER", ne)):
                    lab = dict(res)
                    lab.update(
                        {
                            "messaging_system": "kafka",
                            "messaging_destination_name": "orders.v1",
                            "messaging_consumer_group_name": "fulfillment",
                            "messaging_operation_name": "process",
                        }
                    )
                    if et:
                        lab["error_type"] = et
                    lab["__name__"] = "messaging_process_duration_seconds_count"
                    st.counter(
                        "messaging_process_duration_seconds_count", (p.name, et), lab, p, i, c, 0.0
                    )
                lab = {"service_name": s, "k8s_pod_name": p.name}
                d = ((n - ne) * (ps[3] + ps[4] * ps[5]) + ne * ps[6]) if ps else 0.0
                st.counter("messaging_process_duration_seconds_sum", (p.name,), lab, p, i, d, 0.0)
                lab = dict(res)
                lab.update(
                    {
                        "messaging_system": "kafka",
                        "messaging_destination_name": "orders.v1",
                        "messaging_consumer_group_name": "fulfillment",
                        "__name__": "messaging_client_consumed_messages_total",
                    }
                )
                st.counter("messaging_client_consumed_messages_total", (p.name,), lab, p, i, n, 0.0)

    # ---- client side
    def client(self, s):
        b, sim, st, rng = self.b, self.sim, self.st, self.rng
        lang = SERVICES[s]["lang"]
        step = b.step
        edges = [(c.callee, c.cop) for op in OPS[s] for c in op.calls]
        seen = []
        for e in edges:
            if e not in seen:
                seen.append(e)
        for p in b.pods[s]:
            res = self.res[p.name]
            for i in range(b.T):
                if not self.scraped(p, i):
                    continue
                # the pod's share of the service's traffic at i
                ops0 = sim.state[(s, OPS[s][0].name)][i]
                ps = ops0.pods.get(p.name)
                w = ps[0] if ps else 0.0
                for callee, cop in seen:
                    ed = sim.edge[(s, callee, cop)][i]
                    if ed is None:
                        calls, outs, dsum = 0.0, {}, 0.0
                    else:
                        calls, outs, dsum = ed
                    n = pcount(rng, calls * w * step)
                    kind = SERVICES[callee]["kind"]
                    okfrac = 1.0 - sum(outs.values())
                    buckets = {}
                    for k, f in outs.items():
                        c = sround(rng, n * f)
                        if c:
                            buckets[k] = c
                    cop_op = OPIDX[(callee, cop)]
                    n_ok = max(0, n - sum(buckets.values()))
                    if kind in ("http", "ext"):
                        for code, f in cop_op.bg4xx.items():
                            c = sround(rng, n_ok * f)
                            if c:
                                buckets[("status", code)] = buckets.get(("status", code), 0) + c
                                n_ok -= c
                    buckets["ok"] = n_ok
                    if okfrac < 0:
                        pass
                    tot_d = dsum / calls * n if calls else 0.0
                    addr = address(s, callee)
                    for k, c in buckets.items():
                        self._client_series(s, p, res, lang, callee, cop, addr, k, c, i)
                    # durations, aggregated per peer
                    if kind in ("http", "ext"):
                        fam = (
                            "http_client_duration_milliseconds_sum"
                            if lang == "node"
                            else "http_client_request_duration_seconds_sum"
                        )
                        lab = {
                            "service_name": s,
                            ("net_peer_name" if lang == "node" else "server_address"): addr,
                        }
                        st.counter(
                            fam, (s, addr), lab, p, i, tot_d * (1000 if lang == "node" else 1), 0.0
                        )
                    elif kind == "grpc":
                        st.counter(
                            "rpc_client_duration_milliseconds_sum",
                            (s, callee),
                            {"service_name": s, "rpc_service": RPC_SVC[callee]},
                            p,
                            i,
                            tot_d * 1000,
                            0.0,
                        )
                    elif kind in ("db", "cache"):
                        st.counter(
                            "db_client_operation_duration_seconds_sum",
                            (s, callee),
                            {
                                "service_name": s,
                                "db_system_name": "postgresql" if kind == "db" else "redis",
                            },
                            p,
                            i,
                            tot_d,
                            0.0,
                        )

    def _client_series(self, s, p, res, lang, callee, cop, addr, k, c, i):
        st = self.st
        kind = SERVICES[callee]["kind"]
        lab = dict(res)
        status = None
        etype = None
        if k == "ok":
            status = "ok"
        elif isinstance(k, tuple):
            status = k[1]
        else:
            etype = k
        if kind in ("http", "ext"):
            meth = cop.split(" ", 1)[0]
            ok_code = OPIDX[(callee, cop)].ok
            code = ok_code if status == "ok" else status
            if lang == "node":
                fam = "http_client_duration_milliseconds_count"
                lab.update(
                    {
                        "http_method": meth,
                        "net_peer_name": addr,
                        "net_peer_port": str(SERVICES[callee]["port"]),
                        "http_flavor": "1.1",
                    }
                )
                if code is not None:
                    lab["http_status_code"] = str(code)
            else:
                fam = "http_client_request_duration_seconds_count"
                lab.update(
                    {
                        "http_request_method": meth,
                        "server_address": addr,
                        "server_port": str(SERVICES[callee]["port"]),
                        "network_protocol_version": "1.1",
                    }
                )
                if code is not None:
                    lab["http_response_status_code"] = str(code)
                    if isinstance(code, int) and code >= 400:
                        lab["error_type"] = str(code)
                else:
                    lab["error_type"] = ETYPE.get(lang, {}).get(etype, etype)
        elif kind == "grpc":
            fam = "rpc_client_duration_milliseconds_count"
            gcode = (
                0
                if status == "ok"
                else (status if status is not None else (4 if etype == "timeout" else 14))
            )
            lab.update(
                {
                    "rpc_system": "grpc",
                    "rpc_service": RPC_SVC[callee],
                    "rpc_method": cop,
                    "rpc_grpc_status_code": str(gcode),
                    "server_address": addr,
                }
            )
        elif kind in ("db", "cache"):
            fam = "db_client_operation_duration_seconds_count"
            lab.update(
                {
                    "db_system_name": "postgresql" if kind == "db" else "redis",
                    "db_operation_name": cop,
                    "server_address": addr,
                    "server_port": str(SERVICES[callee]["port"]),
                }
            )
            if kind == "db":
                lab["db_namespace"] = "shop"
            if status != "ok":
                lab["error_type"] = DB_ETYPE.get(lang, {}).get(etype or "error", "_OTHER")
        else:
            fam = "messaging_client_sent_messages_total"
            lab.update(
                {
                    "messaging_system": "kafka",
                    "messaging_destination_name": "orders.v1",
                    "messaging_operation_name": "send",
                    "server_address": addr,
                }
            )
            if status != "ok":
                lab["error_type"] = (
                    "org.apache.kafka.common.errors.TimeoutException"
                    if lang == "java"
                    else "_OTHER"
                )
        lab["__name__"] = fam
        st.counter(fam, (p.name, callee, cop, k), lab, p, i, c, 0.0)

    # ---- runtimes
    def pod_cpu_mem(self, p, i):
        b, sim = self.b, self.sim
        s = p.svc
        sv = SERVICES[s]
        key = (p.name, i)
        if key in self.cpu:
            return self.cpu[key], self.mem[key]
        rng = self.rng
        rho = sim.rho[s][i]
        if s == "shop-pg" and not p.serving(i):
            rho = 0.08
        if s == "events-kafka":
            rho = sim.rho[s][i]
        if not p.serving(i):
            rho = min(rho, 0.05)
        cores = (
            sv["cpu"] * min(0.98, rho * p.skew) * 0.82
            + 0.015
            + abs(rng.gauss(0, 0.012 * sv["cpu"]))
        )
        ca = b.K.cpu_add.get(s)
        if ca is not None:
            cores += ca[i]
        cores = min(sv["cpu"] * 1.0, max(0.002, cores))
        base, lim = sv["mem"]
        mem = base * p.skew * (1 + 0.02 * math.sin(i / 7.0 + p.skew * 10)) + rng.gauss(
            0, base * 0.004
        )
        if sv["lang"] == "java":
            mem += base * 0.05 * ((i * 3 + int(p.skew * 100)) % 11) / 11
        ml = b.K.mem_leak.get(p.name)
        if ml is not None:
            i0, slope = ml
            lr = p.last_restart(i)
            start = max(i0, lr if lr is not None else -(10**9), p.start_i)
            if i >= start:
                mem += slope * (i - start + 1)
        ma = b.K.mem_add.get(s)
        if ma is not None:
            mem += ma[i]
        if p.start_i >= 0 and i - p.start_i < 3:
            mem *= 0.6 + 0.13 * (i - p.start_i)
        lr = p.last_restart(i)
        if lr is not None and 0 <= i - lr - len([j for j in p.down if j >= lr and j < i]) < 2:
            mem *= 0.65
        mem = min(lim * 0.995, max(30.0, mem))
        self.cpu[key] = cores
        self.mem[key] = mem
        return cores, mem

    def runtime(self):
        b, sim, st, rng = self.b, self.sim, self.st, self.rng
        for s in APPS:
            sv = SERVICES[s]
            lang = sv["lang"]
            for p in b.pods[s]:
                res = self.res[p.name]
                heap_phase = rng.random()
                for i in range(b.T):
                    if not self.scraped(p, i):
                        continue
                    cores, mem = self.pod_cpu_mem(p, i)
                    inflight = 0.0
                    lat = 0.0
                    for op in OPS[s]:
                        os_ = sim.state[(s, op.name)][i]
                        ps = os_.pods.get(p.name)
                        if ps:
                            r = os_.rate * ps[0]
                            inflight += r * (ps[3] + ps[4] * ps[5])
                            lat = max(lat, ps[7])

                    def lab(extra=None, name=None):
                        d = dict(res)
                        if extra:
                            d.update(extra)
                        if name:
                            d["__name__"] = name
                        return d

                    if lang == "go":
                        g = (
                            24
                            + inflight * 2.2
                            + rng.randint(0, 6)
                            + (40 if s == "edge-gateway" else 0)
                        )
                        st.gauge(
                            "process_runtime_go_goroutines",
                            p.name,
                            lab(name="process_runtime_go_goroutines"),
                            i,
                            int(g),
                        )
                        heap = mem * 1048576 * (0.35 + 0.3 * (((i * 0.37) + heap_phase) % 1.0))
                        st.gauge(
                            "process_runtime_go_mem_heap_alloc_bytes",
                            p.name,
                            lab(name="process_runtime_go_mem_heap_alloc_bytes"),
                            i,
                            int(heap),
                        )
                        st.counter(
                            "process_runtime_go_gc_count_total",
                            p.name,
                            lab(name="process_runtime_go_gc_count_total"),
                            p,
                            i,
                            pcount(rng, 0.4 * b.step * (1 + cores)),
                            float(int(p.uptime * 0.5)),
                        )
                    elif lang == "java":
                        heap_max = sv["mem"][1] * 0.7 * 1048576
                        old = min(heap_max * 0.995, (mem - sv["mem"][0] * 0.45) * 1048576)
                        eden = heap_max * 0.12 * (((i * 0.61) + heap_phase) % 1.0)
                        st.gauge(
                            "jvm_memory_used_bytes",
                            (p.name, "old"),
                            lab(
                                {"jvm_memory_pool_name": "G1 Old Gen", "jvm_memory_type": "heap"},
                                "jvm_memory_used_bytes",
                            ),
                            i,
                            int(max(old, heap_max * 0.1)),
                        )
                        st.gauge(
                            "jvm_memory_used_bytes",
                            (p.name, "eden"),
                            lab(
                                {
                                    "jvm_memory_pool_name": "G1 Eden Space",
                                    "jvm_memory_type": "heap",
                                },
                                "jvm_memory_used_bytes",
                            ),
                            i,
                            int(eden),
                        )
                        st.gauge(
                            "jvm_memory_limit_bytes",
                            (p.name, "old"),
                            lab(
                                {"jvm_memory_pool_name": "G1 Old Gen", "jvm_memory_type": "heap"},
                                "jvm_memory_limit_bytes",
                            ),
                            i,
                            int(heap_max),
                        )
                        fill = max(old, 0) / heap_max
                        young_n = pcount(rng, b.step * (0.15 + cores * 0.5))
                        young_t = young_n * rng.uniform(0.004, 0.012) * (1 + 4 * max(0, fill - 0.8))
                        st.counter(
                            "jvm_gc_duration_seconds_count",
                            (p.name, "young"),
                            lab(
                                {
                                    "jvm_gc_name": "G1 Young Generation",
                                    "jvm_gc_action": "end of minor GC",
                                },
                                "jvm_gc_duration_seconds_count",
                            ),
                            p,
                            i,
                            young_n,
                            float(int(p.uptime * 0.2)),
                        )
                        st.counter(
                            "jvm_gc_duration_seconds_sum",
                            (p.name, "young"),
                            lab(
                                {
                                    "jvm_gc_name": "G1 Young Generation",
                                    "jvm_gc_action": "end of minor GC",
                                },
                                "jvm_gc_duration_seconds_sum",
                            ),
                            p,
                            i,
                            young_t,
                            p.uptime * 0.0015,
                        )
                        if fill > 0.82:
                            old_n = pcount(rng, b.step / 60.0 * (1 + 20 * (fill - 0.82)))
                            st.counter(
                                "jvm_gc_duration_seconds_count",
                                (p.name, "old"),
                                lab(
                                    {
                                        "jvm_gc_name": "G1 Old Generation",
                                        "jvm_gc_action": "end of major GC",
                                    },
                                    "jvm_gc_duration_seconds_count",
                                ),
                                p,
                                i,
                                old_n,
                                0.0,
                            )
                            st.counter(
                                "jvm_gc_duration_seconds_sum",
                                (p.name, "old"),
                                lab(
                                    {
                                        "jvm_gc_name": "G1 Old Generation",
                                        "jvm_gc_action": "end of major GC",
                                    },
                                    "jvm_gc_duration_seconds_sum",
                                ),
                                p,
                                i,
                                old_n * rng.uniform(0.4, 1.6),
                                0.0,
                            )
                        st.gauge(
                            "jvm_thread_count",
                            p.name,
                            lab({"jvm_thread_daemon": "true"}, "jvm_thread_count"),
                            i,
                            int(38 + inflight * 1.5 + rng.randint(0, 4)),
                        )
                        st.gauge(
                            "jvm_cpu_recent_utilization_ratio",
                            p.name,
                            lab(name="jvm_cpu_recent_utilization_ratio"),
                            i,
                            round(cores / 4.0, 6),
                        )
                        pl = sim.pool.get(s)
                        if s in b.K.pool and pl and pl[i] is not None:
                            used, pending, mx, util = pl[i]
                            ov = b.pool_override.get(p.name)
                            if ov is not None:
                                used = ov[i]
                                pending = rng.randint(8, 40) if used >= mx - 0.05 else pending
                            u = max(0, min(mx, int(round(used + rng.gauss(0, 0.3)))))
                            st.gauge(
                                "db_client_connections_usage",
                                (p.name, "used"),
                                lab(
                                    {"pool_name": "HikariPool-1", "state": "used"},
                                    "db_client_connections_usage",
                                ),
                                i,
                                u,
                            )
                            st.gauge(
                                "db_client_connections_usage",
                                (p.name, "idle"),
                                lab(
                                    {"pool_name": "HikariPool-1", "state": "idle"},
                                    "db_client_connections_usage",
                                ),
                                i,
                                max(0, int(mx) - u),
                            )
                            st.gauge(
                                "db_client_connections_max",
                                p.name,
                                lab({"pool_name": "HikariPool-1"}, "db_client_connections_max"),
                                i,
                                int(mx),
                            )
                            st.gauge(
                                "db_client_connections_pending_requests",
                                p.name,
                                lab(
                                    {"pool_name": "HikariPool-1"},
                                    "db_client_connections_pending_requests",
                                ),
                                i,
                                int(round(pending)),
                            )
                    elif lang == "python":
                        st.counter(
                            "process_cpu_time_seconds_total",
                            p.name,
                            lab({"process_cpu_state": "user"}, "process_cpu_time_seconds_total"),
                            p,
                            i,
                            cores * b.step * 0.85,
                            p.uptime * 0.1,
                        )
                        st.gauge(
                            "process_memory_usage_bytes",
                            p.name,
                            lab(name="process_memory_usage_bytes"),
                            i,
                            int(mem * 1048576 * 0.97),
                        )
                        st.gauge(
                            "process_thread_count",
                            p.name,
                            lab(name="process_thread_count"),
                            i,
                            6 + int(inflight),
                        )
                    elif lang == "node":
                        lag = (
                            0.011
                            + rng.uniform(0, 0.004)
                            + max(0.0, lat - OPS[s][0].own * 1.5) * 0.8
                        )
                        st.gauge(
                            "nodejs_eventloop_delay_p99_seconds",
                            p.name,
                            lab(name="nodejs_eventloop_delay_p99_seconds"),
                            i,
                            round(lag, 6),
                        )
                        st.gauge(
                            "nodejs_eventloop_utilization_ratio",
                            p.name,
                            lab(name="nodejs_eventloop_utilization_ratio"),
                            i,
                            round(min(1.0, cores / 0.95), 4),
                        )
                        st.gauge(
                            "v8js_memory_heap_used_bytes",
                            p.name,
                            lab(
                                {"v8js_heap_space_name": "old_space"}, "v8js_memory_heap_used_bytes"
                            ),
                            i,
                            int(mem * 1048576 * 0.55),
                        )
                    if s == "inventory" and s in b.K.pool:
                        pl = sim.pool.get(s)
                        if pl and pl[i] is not None:
                            used, pending, mx, util = pl[i]
                            u = max(0, min(mx, int(round(used + rng.gauss(0, 0.2)))))
                            st.gauge(
                                "db_client_connections_usage",
                                (p.name, "used"),
                                lab(
                                    {"pool_name": "pgxpool", "state": "used"},
                                    "db_client_connections_usage",
                                ),
                                i,
                                u,
                            )
                            st.gauge(
                                "db_client_connections_max",
                                p.name,
                                lab({"pool_name": "pgxpool"}, "db_client_connections_max"),
                                i,
                                int(mx),
                            )
                            st.gauge(
                                "db_client_connections_pending_requests",
                                p.name,
                                lab(
                                    {"pool_name": "pgxpool"},
                                    "db_client_connections_pending_requests",
                                ),
                                i,
                                int(round(pending)),
                            )

    def kube(self):
        b, st = self.b, self.st
        for s, pods in b.pods.items():
            sv = SERVICES[s]
            for p in pods:
                kr = self.kres[p.name]
                lim_c = sv["cpu"]
                lim_m = sv["mem"][1] * 1048576
                for i in range(b.T):
                    if not p.alive(i) or i in p.miss or i in b.gaps:
                        continue
                    up = p.up(i)
                    cores, mem = self.pod_cpu_mem(p, i) if up else (0.001, 12.0)

                    def lab(name, extra=None):
                        d = dict(kr)
                        if extra:
                            d.update(extra)
                        d["__name__"] = name
                        return d

                    st.gauge(
                        "k8s_pod_cpu_utilization_ratio",
                        p.name,
                        lab("k8s_pod_cpu_utilization_ratio"),
                        i,
                        round(cores, 6),
                    )
                    st.gauge(
                        "k8s_pod_cpu_limit_utilization_ratio",
                        p.name,
                        lab("k8s_pod_cpu_limit_utilization_ratio"),
                        i,
                        round(cores / lim_c, 6),
                    )
                    st.gauge(
                        "k8s_pod_memory_working_set_bytes",
                        p.name,
                        lab("k8s_pod_memory_working_set_bytes"),
                        i,
                        int(mem * 1048576),
                    )
                    st.gauge(
                        "k8s_pod_memory_limit_utilization_ratio",
                        p.name,
                        lab("k8s_pod_memory_limit_utilization_ratio"),
                        i,
                        round(mem * 1048576 / lim_m, 6),
                    )
                    st.gauge(
                        "k8s_container_restarts",
                        p.name,
                        lab("k8s_container_restarts", {"k8s_container_name": p.container}),
                        i,
                        p.restarts_upto(i),
                    )
                    if up:
                        st.counter(
                            "container_cpu_time_seconds_total",
                            p.name,
                            lab(
                                "container_cpu_time_seconds_total",
                                {"k8s_container_name": p.container},
                            ),
                            p,
                            i,
                            cores * b.step,
                            p.uptime * cores * 0.8,
                        )

    def hosts(self):
        b, st, rng = self.b, self.st, self.rng
        per_node = defaultdict(lambda: [0.0] * b.T)
        for s, pods in b.pods.items():
            for p in pods:
                for i in range(b.T):
                    if p.up(i):
                        per_node[p.node][i] += self.pod_cpu_mem(p, i)[0]
        for node in b.nodes + b.data_nodes:
            h = hashlib.sha1(node.encode()).hexdigest()
            base = {
                "job": "otel-collector",
                "instance": f"otel-collector-agent-{h[:5]}:8889",
                "k8s_node_name": node,
                "host_name": node,
            }
            cores = 16.0 if node in b.data_nodes else 8.0
            for i in range(b.T):
                if i in b.gaps:
                    continue
                u = per_node[node][i] / cores + 0.06 + rng.uniform(0, 0.03)
                if b.noisy_node == node:
                    nz = b.noisy_arr[i]
                    u += nz
                u = min(0.99, u)
                for state, share in (("user", 0.78), ("system", 0.22)):
                    lab = dict(base, state=state, __name__="system_cpu_utilization_ratio")
                    st.gauge(
                        "system_cpu_utilization_ratio", (node, state), lab, i, round(u * share, 6)
                    )
                lab = dict(base, state="used", __name__="system_memory_utilization_ratio")
                st.gauge(
                    "system_memory_utilization_ratio",
                    node,
                    lab,
                    i,
                    round(0.45 + 0.1 * math.sin(len(node)) + rng.uniform(0, 0.01), 6),
                )
                st.gauge(
                    "system_cpu_load_average_1m",
                    node,
                    dict(base, __name__="system_cpu_load_average_1m"),
                    i,
                    round(u * cores * rng.uniform(0.9, 1.25), 2),
                )

    def datastores(self):
        b, sim, st, rng = self.b, self.sim, self.st, self.rng
        step = b.step
        # postgresql receiver, through the read-write service: nothing while no primary answers
        pgres = {
            "job": "data/shop-pg",
            "instance": "shop-pg-rw.data.svc:5432",
            "service_name": "shop-pg",
            "service_namespace": "data",
            "postgresql_database_name": "shop",
        }
        size = rng.uniform(38, 90) * 2**30
        cum = {
            "commits": rng.uniform(1e8, 9e8),
            "rollbacks": rng.uniform(1e5, 9e5),
            "dead": rng.randint(3, 40),
            "ins": rng.uniform(1e7, 9e7),
            "upd": rng.uniform(1e7, 9e7),
            "del": rng.uniform(1e5, 9e5),
        }
        for i in range(b.T):
            if not sim.serving["shop-pg"][i] or i in b.gaps or i in b.pg_gap:
                continue
            sel = sim.state[("shop-pg", "SELECT")][i]
            ins = sim.state[("shop-pg", "INSERT")][i]
            upd = sim.state[("shop-pg", "UPDATE")][i]
            writes = (ins.rate + upd.rate) * step
            cum["commits"] += writes + sel.rate * step * 0.3
            cum["rollbacks"] += (
                ins.rate * ins.err + upd.rate * upd.err + sel.rate * sel.err
            ) * step + rng.randint(0, 2)
            cum["ins"] += ins.rate * step
            cum["upd"] += upd.rate * step
            cum["del"] += rng.randint(0, 3)
            if rng.random() < 0.01:
                cum["dead"] += 1
            size += writes * 900
            rho = sim.rho["shop-pg"][i]
            backends = (
                38
                + sum((sim.pool[s][i] or (0, 0, 0, 0))[0] * 3 for s in b.K.pool)
                + rho * 60
                + rng.randint(0, 5)
            )
            if b.pg_backends:
                backends = max(backends, b.pg_backends[i])

            def lab(name, extra=None):
                d = dict(pgres)
                if extra:
                    d.update(extra)
                d["__name__"] = name
                return d

            st.gauge(
                "postgresql_backends", "b", lab("postgresql_backends"), i, int(min(300, backends))
            )
            st.gauge(
                "postgresql_connection_max",
                "m",
                {
                    k: v
                    for k, v in lab("postgresql_connection_max").items()
                    if k != "postgresql_database_name"
                },
                i,
                300,
            )
            st.gauge(
                "postgresql_commits_total",
                "c",
                lab("postgresql_commits_total"),
                i,
                int(cum["commits"]),
            )
            st.gauge(
                "postgresql_rollbacks_total",
                "r",
                lab("postgresql_rollbacks_total"),
                i,
                int(cum["rollbacks"]),
            )
            st.gauge(
                "postgresql_deadlocks_total",
                "d",
                lab("postgresql_deadlocks_total"),
                i,
                int(cum["dead"]),
            )
            st.gauge("postgresql_db_size_bytes", "s", lab("postgresql_db_size_bytes"), i, int(size))
            for opn, k in (("ins", "ins"), ("upd", "upd"), ("del", "del")):
                st.gauge(
                    "postgresql_operations_total",
                    opn,
                    lab("postgresql_operations_total", {"operation": opn}),
                    i,
                    int(cum[k]),
                )
        # redis receiver
        rres = {
            "job": "data/shop-redis",
            "instance": "shop-redis.data.svc:6379",
            "service_name": "shop-redis",
            "service_namespace": "data",
            "redis_version": "7.2.5",
        }
        rc = {
            "cmd": rng.uniform(1e9, 5e9),
            "hit": rng.uniform(1e9, 4e9),
            "miss": rng.uniform(1e8, 3e8),
            "ev": rng.uniform(0, 1e4),
            "rej": 0.0,
            "cpu": rng.uniform(2e4, 9e4),
        }
        uptime = rng.uniform(10, 60) * 86400
        rp = b.pods["shop-redis"][0]
        maxmem = SERVICES["shop-redis"]["mem"][1] * 0.9 * 1048576
        for i in range(b.T):
            uptime += step
            lr = rp.last_restart(i)
            if lr is not None and lr <= i and rc.get("_reset") != lr:
                rc["_reset"] = lr
                uptime = (i - lr) * step
                for k in ("cmd", "hit", "miss", "ev", "rej", "cpu"):
                    rc[k] = 0.0
            if not rp.up(i) or i in b.gaps or i in b.redis_gap:
                continue
            g = sim.state[("shop-redis", "GET")][i]
            sset = sim.state[("shop-redis", "SET")][i]
            rate = g.rate + sset.rate
            rc["cmd"] += rate * step
            miss_ratio = 0.07 if not b.redis_miss else b.redis_miss[i]
            rc["hit"] += g.rate * step * (1 - miss_ratio)
            rc["miss"] += g.rate * step * miss_ratio
            rc["cpu"] += step * (0.05 + sim.rho["shop-redis"][i] * 0.8)
            rc["rej"] += b.redis_rejected[i] * step if b.redis_rejected else 0.0
            mem = (
                b.redis_mem[i]
                if b.redis_mem
                else SERVICES["shop-redis"]["mem"][0] * (1 + 0.01 * math.sin(i / 9))
            ) * 1048576

            def lab(name, extra=None):
                d = dict(rres)
                if extra:
                    d.update(extra)
                d["__name__"] = name
                return d

            clients = 12 * 3 + 6 * 2 + 8 * 3 + 4 * 2 + rng.randint(0, 4)
            st.gauge("redis_clients_connected", "c", lab("redis_clients_connected"), i, clients)
            st.gauge(
                "redis_commands_processed_total",
                "p",
                lab("redis_commands_processed_total"),
                i,
                int(rc["cmd"]),
            )
            st.gauge(
                "redis_memory_used_bytes",
                "m",
                lab("redis_memory_used_bytes"),
                i,
                int(min(maxmem, mem)),
            )
            st.gauge("redis_maxmemory_bytes", "x", lab("redis_maxmemory_bytes"), i, int(maxmem))
            st.gauge(
                "redis_keyspace_hits_total",
                "h",
                lab("redis_keyspace_hits_total"),
                i,
                int(rc["hit"]),
            )
            st.gauge(
                "redis_keyspace_misses_total",
                "mi",
                lab("redis_keyspace_misses_total"),
                i,
                int(rc["miss"]),
            )
            st.gauge(
                "redis_keys_evicted_total", "e", lab("redis_keys_evicted_total"), i, int(rc["ev"])
            )
            st.gauge(
                "redis_connections_rejected_total",
                "r",
                lab("redis_connections_rejected_total"),
                i,
                int(rc["rej"]),
            )
            st.gauge(
                "redis_uptime_seconds_total", "u", lab("redis_uptime_seconds_total"), i, int(uptime)
            )
            st.gauge(
                "redis_cpu_time_seconds_total",
                "cpu",
                lab("redis_cpu_time_seconds_total", {"state": "user"}),
                i,
                round(rc["cpu"], 3),
            )
        # kafkametrics receiver
        kres = {
            "job": "data/events-kafka",
            "instance": "events-kafka-bootstrap.data.svc:9092",
            "service_name": "events-kafka",
            "service_namespace": "data",
        }
        offs = [rng.uniform(2e6, 9e6) for _ in range(6)]
        for i in range(b.T):
            if i in b.gaps or not any(p.up(i) for p in b.pods["events-kafka"]):
                continue
            brokers = sum(1 for p in b.pods["events-kafka"] if p.up(i))
            if b.kafka_brokers:
                brokers = b.kafka_brokers[i]

            def lab(name, extra=None):
                d = dict(kres)
                if extra:
                    d.update(extra)
                d["__name__"] = name
                return d

            st.gauge("kafka_brokers", "b", lab("kafka_brokers"), i, brokers)
            st.gauge(
                "kafka_topic_partitions",
                "t",
                lab("kafka_topic_partitions", {"topic": "orders.v1"}),
                i,
                6,
            )
            prod = sim.produced[i] * step
            lag = sim.lag[i]
            members = len(sim.serving["fulfillment"][i])
            st.gauge(
                "kafka_consumer_group_members",
                "m",
                lab("kafka_consumer_group_members", {"group": "fulfillment"}),
                i,
                members,
            )
            for k in range(6):
                offs[k] += prod / 6 * rng.uniform(0.9, 1.1)
                st.gauge(
                    "kafka_partition_current_offset",
                    k,
                    lab(
                        "kafka_partition_current_offset",
                        {"topic": "orders.v1", "partition": str(k)},
                    ),
                    i,
                    int(offs[k]),
                )
                st.gauge(
                    "kafka_consumer_group_lag",
                    k,
                    lab(
                        "kafka_consumer_group_lag",
                        {"group": "fulfillment", "topic": "orders.v1", "partition": str(k)},
                    ),
                    i,
                    max(0, int(lag / 6 * rng.uniform(0.8, 1.2))),
                )

    def certs(self):
        b, st = self.b, self.st
        for name, exp in b.cert_exp.items():
            lab = {
                "job": "cert-manager",
                "instance": "10.42.7.31:9402",
                "name": name,
                "namespace": APP_NS,
                "issuer_name": "letsencrypt-prod"
                if name == "edge-gateway-tls"
                else "shop-internal-ca",
                "issuer_kind": "ClusterIssuer",
                "__name__": "certmanager_certificate_expiration_timestamp_seconds",
            }
            for i in range(b.T):
                if i % 2 == 0 or b.step == 30:
                    st.gauge(
                        "certmanager_certificate_expiration_timestamp_seconds",
                        name,
                        lab,
                        i,
                        int(exp),
                    )

    # ---- files
    def files(self):
        """stem -> (PromQL, list of (labels, values))"""
        b = self.b
        groups = self.st.by_stem()
        out = {}
        Q = {}
        ns = f'k8s_namespace_name="{APP_NS}"'
        for stem, ents in groups.items():
            if stem.startswith("_raw_bucket:"):
                continue
            if stem.endswith("_sum") and not stem.startswith("jvm_"):
                by = sorted({k for e in ents for k in e[1]})
                q = (
                    f"sum by ({', '.join(by)}) ({stem}{{{ns}}})"
                    if "service_name" in by
                    else f"sum by ({', '.join(by)}) ({stem})"
                )
                if stem in (
                    "rpc_client_duration_milliseconds_sum",
                    "db_client_operation_duration_seconds_sum",
                    "http_client_request_duration_seconds_sum",
                    "http_client_duration_milliseconds_sum",
                    "http_server_request_duration_seconds_sum",
                    "http_server_duration_milliseconds_sum",
                    "rpc_server_duration_milliseconds_sum",
                    "messaging_process_duration_seconds_sum",
                ):
                    out[stem] = (q, self._sum_by(ents))
                    continue
            sel = ns if any(e[1].get("k8s_namespace_name") == APP_NS for e in ents) else ""
            if stem.startswith(("postgresql_", "redis_", "kafka_")):
                sel = f'service_name="{ents[0][1].get("service_name", "")}"'
            if stem.startswith("certmanager_"):
                sel = 'job="cert-manager"'
            if stem.startswith(("system_", "k8s_", "container_")):
                sel = 'job="otel-collector"'
            Q[stem] = f"{stem}{{{sel}}}" if sel else stem
            out[stem] = (Q[stem], [(e[1], e[2]) for e in ents])
        # buckets, summed per service and le (what a dashboard query returns)
        for stem, ents in groups.items():
            if not stem.startswith("_raw_bucket:"):
                continue
            fam = stem.split(":", 1)[1]
            agg = defaultdict(lambda: [None] * b.T)
            for e in ents:
                k = (e[1]["service_name"], e[1]["le"])
                a = agg[k]
                for i, v in enumerate(e[2]):
                    if v is not None:
                        a[i] = v if a[i] is None else a[i] + v
            series = [
                ({"service_name": s, "le": le}, vals)
                for (s, le), vals in sorted(
                    agg.items(), key=lambda kv: (kv[0][0], float(kv[0][1].replace("+Inf", "inf")))
                )
            ]
            out[fam + "_bucket"] = (f"sum by (service_name, le) ({fam}_bucket{{{ns}}})", series)
            if b.quantile_file:
                out[fam + "_p99"] = (
                    f"histogram_quantile(0.99, sum by (service_name, le) (rate({fam}_bucket{{{ns}}}[5m])))",
                    self._quantile(ents, fam),
                )
        return out

    def _sum_by(self, ents):
        agg = {}
        for e in ents:
            k = tuple(sorted(e[1].items()))
            a = agg.get(k)
            if a is None:
                agg[k] = list(e[2])
                continue
            for i, v in enumerate(e[2]):
                if v is not None:
                    a[i] = v if a[i] is None else a[i] + v
        return [(dict(k), v) for k, v in agg.items()]

    def _quantile(self, ents, fam):
        b = self.b
        w = max(2, int(300 / b.step))
        T = b.T
        per = defaultdict(dict)  # svc -> le -> rate list
        present = defaultdict(lambda: [False] * T)
        for e in ents:
            s, le = e[1]["service_name"], e[1]["le"]
            vals = e[2]
            # reset-aware running increase, and running count of samples
            inc_cum = [0.0] * T
            seen_cum = [0] * T
            prev, acc, seen = None, 0.0, 0
            for j in range(T):
                v = vals[j]
                if v is not None:
                    seen += 1
                    if prev is not None:
                        acc += v - prev if v >= prev else v
                    prev = v
                inc_cum[j] = acc
                seen_cum[j] = seen
            arr = per[s].setdefault(le, [0.0] * T)
            pres = present[s]
            for i in range(T):
                if vals[i] is None:
                    continue
                j = i - w - 1
                n_in = seen_cum[i] - (seen_cum[j] if j >= 0 else 0)
                if n_in < 2:
                    continue
                # the first sample in the window starts the increase
                first = max(0, i - w)
                inc = inc_cum[i] - inc_cum[first]
                arr[i] += inc / (w * b.step)
                pres[i] = True
        series = []
        for s, les in sorted(per.items()):
            bounds = sorted(les, key=lambda x: float(x.replace("+Inf", "inf")))
            fb = [float(x.replace("+Inf", "inf")) for x in bounds]
            vals = [None] * T
            for i in range(T):
                if not present[s][i]:
                    continue
                cum = [(fb[k], les[bounds[k]][i]) for k in range(len(bounds))]
                total = cum[-1][1]
                if total <= 0:
                    vals[i] = math.nan
                    continue
                rank = 0.99 * total
                prev_b, prev_c = 0.0, 0.0
                q = cum[-2][0]
                for ub, c in cum:
                    if c >= rank:
                        if ub == math.inf:
                            q = cum[-2][0]
                        else:
                            q = prev_b + (ub - prev_b) * (
                                (rank - prev_c) / (c - prev_c) if c > prev_c else 0.0
                            )
                        break
                    prev_b, prev_c = ub, c
                vals[i] = q
            series.append(({"service_name": s}, vals))
        return series


ETYPE = {
    "go": {
        "conn": "*net.OpError",
        "timeout": "context.DeadlineExceeded",
        "tls": "*tls.CertificateVerificationError",
        "tls_server": "*tls.CertificateVerificationError",
        "dns": "*net.DNSError",
        "reset": "*net.OpError",
    },
    "java": {
        "conn": "java.net.ConnectException",
        "timeout": "java.net.SocketTimeoutException",
        "tls": "javax.net.ssl.SSLHandshakeException",
        "tls_server": "javax.net.ssl.SSLHandshakeException",
        "dns": "java.net.UnknownHostException",
        "reset": "java.net.SocketException",
    },
    "python": {
        "conn": "httpx.ConnectError",
        "timeout": "httpx.ReadTimeout",
        "tls": "ssl.SSLCertVerificationError",
        "tls_server": "ssl.SSLCertVerificationError",
        "dns": "httpx.ConnectError",
        "reset": "httpx.RemoteProtocolError",
    },
}
DB_ETYPE = {
    "go": {
        "conn": "*pgconn.ConnectError",
        "timeout": "context.DeadlineExceeded",
        "error": "*pgconn.PgError",
        "reset": "*net.OpError",
    },
    "java": {
        "conn": "org.postgresql.util.PSQLException",
        "timeout": "java.sql.SQLTimeoutException",
        "error": "org.postgresql.util.PSQLException",
        "reset": "org.postgresql.util.PSQLException",
    },
    "python": {
        "conn": "psycopg.OperationalError",
        "timeout": "psycopg.errors.QueryCanceled",
        "error": "psycopg.errors.InternalError",
        "reset": "psycopg.OperationalError",
    },
    "node": {"conn": "ECONNREFUSED", "timeout": "ETIMEDOUT", "error": "_OTHER"},
}


def write_metrics(b, files, outdir):
    mdir = os.path.join(outdir, "metrics")
    os.makedirs(mdir, exist_ok=True)
    rng = random.Random(f"gaps:{b.seed}:{b.idx}")
    queries = {}
    for stem in sorted(files):
        q, series = files[stem]
        result = []
        for labels, vals in series:
            pts = []
            for i, v in enumerate(vals):
                if v is None:
                    continue
                if rng.random() < 0.003:
                    continue  # a missed scrape
                pts.append(f'[{b.ts[i]},"{fmtv(v)}"]')
            if not pts:
                continue
            result.append(
                '{"metric":'
                + json.dumps(labels, separators=(",", ":"), sort_keys=True)
                + ',"values":['
                + ",".join(pts)
                + "]}"
            )
        body = (
            '{"status":"success","data":{"resultType":"matrix","result":['
            + ",".join(result)
            + "]}}"
        )
        with open(os.path.join(mdir, stem + ".json"), "w") as f:
            f.write(body)
        queries[stem] = q
    with open(os.path.join(mdir, "queries.yaml"), "w") as f:
        yaml.safe_dump(queries, f, sort_keys=True, width=1000)


# --------------------------------------------------------------------------- traces

KIND_NUM = {"internal": 1, "server": 2, "client": 3, "producer": 4, "consumer": 5}


class Tracer:
    def __init__(self, b, sim):
        self.b, self.sim = b, sim
        self.rng = random.Random(f"traces:{b.seed}:{b.idx}")
        self.spans = []
        self.index = defaultdict(list)  # (svc, i) -> [(trace_id, span_id, error, pod)]
        self.status_ok = {s for s in APPS if self.rng.random() < 0.2}

    def pick(self, items):
        tot = sum(w for _k, w in items)
        if tot <= 0:
            return items[0][0]
        u = self.rng.random() * tot
        for k, w in items:
            u -= w
            if u <= 0:
                return k
        return items[-1][0]

    def edge_fail(self, s, callee, i):
        K = self.b.K
        if SERVICES[callee]["kind"] != "ext" and not self.sim.serving[callee][i]:
            return "conn"
        for key in ((s, callee), ("*", callee)):
            for arr, tag in K.edge_err.get(key, ()):
                if arr[i] > 0 and self.rng.random() < arr[i]:
                    return tag
        return None

    def span(
        self, tid, sid, parent, s, name, kind, t_s, dur_s, error, attrs, pod=None, status_msg=None
    ):
        b = self.b
        rec = {}
        set_ok = (not error) and s in self.status_ok and kind in ("server", "internal")
        if b.span_style == "otlp":
            rec["traceId"] = tid
            rec["spanId"] = sid
            if parent:
                rec["parentSpanId"] = parent
            rec["name"] = name
            rec["kind"] = KIND_NUM[kind]
            st = int(t_s * 1e9)
            rec["startTimeUnixNano"] = st
            rec["endTimeUnixNano"] = st + max(1000, int(dur_s * 1e9))
            if error:
                rec["status"] = {"code": 2, "message": status_msg or ""}
            elif set_ok:
                rec["status"] = {"code": 1}
            rec["service.name"] = s
        else:
            rec["trace_id"] = tid
            rec["span_id"] = sid
            rec["parent_id"] = parent
            rec["service"] = s
            rec["name"] = name
            rec["start"] = iso_us(t_s)
            rec["duration_ms"] = round(dur_s * 1000, 3)
            if error:
                rec["status"] = "error"
            elif set_ok:
                rec["status"] = "ok"
            rec["span.kind"] = kind
        if pod is not None:
            rec["k8s.pod.name"] = pod.name
            rec["service.version"] = pod.version
        rec.update(attrs)
        if error and status_msg and b.span_style != "otlp":
            rec["exception.message"] = status_msg[:300]
        self.spans.append(rec)

    def server(self, tid, parent, s, opn, i, t, depth=0):
        b, sim, rng = self.b, self.sim, self.rng
        op = OPIDX[(s, opn)]
        st = sim.state[(s, opn)][i]
        items = [(k, v[0]) for k, v in st.pods.items()]
        if not items:
            return 0.001, True, ("conn", "no pods", 503)
        pname = self.pick(items)
        ps = st.pods[pname]
        pod = next((p for p in b.pods[s] if p.name == pname), None)
        own_mean, own_errs, own_fs, own_sx = ps[7], ps[8], ps[9], ps[10]
        own = lognorm(rng, own_mean, op.sigma)
        if own_fs > 0 and rng.random() < own_fs:
            own += lognorm(rng, own_sx, 0.3)
        tag, early = None, False
        u = rng.random()
        for tg, f, e in own_errs:
            u -= f
            if u < 0:
                tag, early = tg, e
                break
        sid = hexid(rng, 16)
        t0 = t
        cur = t + own * 0.35
        failed_child = None
        if not (tag and early):
            chosen = []
            if op.opts.get("one"):
                chosen = [self.pick([(c, c.mult) for c in op.calls])]
            else:
                for c in op.calls:
                    mult = c.mult
                    cm = b.K.call_mult.get((s, c.callee))
                    if cm is not None:
                        mult *= cm[i]
                    n = int(mult) + (1 if rng.random() < mult - int(mult) else 0)
                    chosen.extend([c] * min(n, 12))
            par_end = cur
            for c in chosen:
                start = cur + rng.uniform(0.00005, 0.0004)
                d, ok, info = self.client(tid, sid, s, c, i, start, depth, pod)
                if op.opts.get("parallel"):
                    par_end = max(par_end, start + d)
                else:
                    cur = start + d
                if not ok and c.critical:
                    failed_child = info
                    break
            cur = max(cur, par_end)
        dur = (cur - t0) + own * 0.65
        sv = SERVICES[s]
        code, msg = None, None
        if tag:
            td = b.tags[tag]
            code = code_for(s, td)
            msg = td.get("span_msg") or td.get("msg_text") or tag
            if td.get("dur") is not None:
                dur = max(dur, td["dur"] * rng.uniform(0.95, 1.02))
        elif failed_child:
            code = code_for(s, {}, failed_child[0])
            msg = failed_child[1]
        error = code is not None
        if not error:
            if op.bg4xx and rng.random() < sum(op.bg4xx.values()):
                code = self.pick(list(op.bg4xx.items()))
            else:
                code = 0 if sv["kind"] == "grpc" else op.ok
        attrs = {}
        if sv["kind"] == "grpc":
            name = f"{RPC_SVC[s]}/{opn}"
            attrs.update(
                {
                    "rpc.system": "grpc",
                    "rpc.service": RPC_SVC[s],
                    "rpc.method": opn,
                    "rpc.grpc.status_code": code,
                }
            )
            error = error or code not in (0, 5, 9, 3)
        elif sv["kind"] == "consumer":
            name = "orders.v1 process"
            attrs.update(
                {
                    "messaging.system": "kafka",
                    "messaging.destination.name": "orders.v1",
                    "messaging.consumer.group.name": "fulfillment",
                    "messaging.operation.type": "process",
                }
            )
        else:
            meth, route = opn.split(" ", 1)
            name = opn
            attrs.update(
                {
                    "http.request.method": meth,
                    "http.route": route,
                    "http.response.status_code": code,
                }
            )
            if sv["lang"] == "node":
                attrs = {"http.method": meth, "http.route": route, "http.status_code": code}
        kind = "consumer" if sv["kind"] == "consumer" else "server"
        self.span(tid, sid, parent, s, name, kind, t0, dur, error, attrs, pod, msg)
        self.index[(s, i)].append((tid, sid, error, pname))
        if s == "checkout" and rng.random() < 0.7:
            self.span(
                tid,
                hexid(rng, 16),
                sid,
                s,
                "CheckoutService.placeOrder",
                "internal",
                t0 + own * 0.2,
                max(0.0005, dur - own * 0.3),
                error,
                {
                    "code.function": "placeOrder",
                    "code.namespace": "com.acme.checkout.service.CheckoutService",
                },
                pod,
                msg,
            )
        kindtxt = (
            "timeout"
            if failed_child and failed_child[0] == "timeout"
            else (
                "conn"
                if failed_child and failed_child[0] in ("conn", "tls", "tls_server", "dns")
                else "status"
            )
        )
        return dur, error, (kindtxt, msg, code)

    def client(self, tid, parent, s, c, i, t, depth, pod):
        b, sim, rng = self.b, self.sim, self.rng
        callee = c.callee
        csv = SERVICES[callee]
        sid = hexid(rng, 16)
        addr = address(s, callee)
        add = 0.0
        for key in ((s, callee), ("*", callee)):
            a = b.K.edge_lat.get(key)
            if a is not None:
                add += a[i]
            f = b.K.edge_fs.get(key)
            if f is not None and f[0][i] > 0 and rng.random() < f[0][i]:
                add += lognorm(rng, f[1], 0.35)
        fail = self.edge_fail(s, callee, i)
        attrs = {"server.address": addr, "server.port": csv["port"]}
        if rng.random() < 0.5:
            attrs["peer.service"] = callee
        ok = True
        code = None
        msg = None
        if fail and b.tags.get(fail, {}).get("status"):
            code = b.tags[fail]["status"]
            dur = b.tags[fail].get("dur", 0.1) * rng.uniform(0.7, 1.3)
            ok = False
            msg = dep_text(b, s, callee, c.cop, ("status", code), None, None)
            kindtxt = "status"
        elif fail:
            dur = b.tags[fail].get("dur", 0.003) * rng.uniform(0.7, 1.3)
            if fail == "reset":
                dur += 0.02
            ok = False
            msg = dep_text(b, s, callee, c.cop, fail, None, None)
            kindtxt = "timeout" if fail == "timeout" else "conn"
        elif csv["kind"] in ("http", "grpc", "consumer") and depth < 6:
            d, err, info = self.server(tid, sid, callee, c.cop, i, t + 0.0003 + add / 2, depth + 1)
            dur = d + 0.0006 + add
            ok = not err
            kindtxt = "status"
            if err:
                st = sim.state[(callee, c.cop)][i]
                code = info[2]
                msg = dep_text(b, s, callee, c.cop, ("status", code), st.top_tag, None)
        else:
            st = sim.state[(callee, c.cop)][i]
            err = rng.random() < st.err
            if err:
                dur = lognorm(rng, st.emean, 0.4) + add
                code = self.pick(list(st.codes.items())) if st.codes else 500
                ok = False
                msg = dep_text(b, s, callee, c.cop, ("status", code), st.top_tag, None)
            else:
                dur = lognorm(rng, st.mean, OPIDX[(callee, c.cop)].sigma) + add
                if st.fs > 0 and rng.random() < st.fs:
                    dur += lognorm(rng, st.sx, 0.3)
            kindtxt = "status"
        if dur > c.timeout:
            dur = c.timeout * rng.uniform(1.0, 1.003)
            ok = False
            kindtxt = "timeout"
            msg = dep_text(b, s, callee, c.cop, "timeout", None, None)
        kind = "client"
        if csv["kind"] == "db":
            table = DB_TABLE.get(s, "orders")
            name = f"{c.cop} shop.{table}"
            attrs.update(
                {
                    "db.system": "postgresql",
                    "db.namespace": "shop",
                    "db.operation.name": c.cop,
                    "db.collection.name": table,
                }
            )
        elif csv["kind"] == "cache":
            name = c.cop
            attrs.update({"db.system": "redis", "db.operation.name": c.cop})
        elif csv["kind"] == "queue":
            name = "publish orders.v1"
            kind = "producer"
            attrs.update(
                {
                    "messaging.system": "kafka",
                    "messaging.destination.name": "orders.v1",
                    "messaging.operation.type": "publish",
                }
            )
        elif csv["kind"] == "grpc":
            name = f"{RPC_SVC[callee]}/{c.cop}"
            attrs.update(
                {"rpc.system": "grpc", "rpc.service": RPC_SVC[callee], "rpc.method": c.cop}
            )
            if not ok:
                attrs["rpc.grpc.status_code"] = (
                    code if isinstance(code, int) else (4 if kindtxt == "timeout" else 14)
                )
            else:
                attrs["rpc.grpc.status_code"] = 0
        else:
            meth = c.cop.split(" ", 1)[0]
            name = meth
            attrs.update(
                {
                    "http.request.method": meth,
                    "url.full": f"{'https' if csv['kind'] == 'ext' else 'http'}://{addr}{'' if csv['kind'] == 'ext' else ':' + str(csv['port'])}{c.cop.split(' ', 1)[1].replace('{id}', str(rng.randrange(10000, 99999)))}",
                }
            )
            if ok:
                attrs["http.response.status_code"] = OPIDX[(callee, c.cop)].ok
            elif isinstance(code, int):
                attrs["http.response.status_code"] = code
                attrs["error.type"] = str(code)
            else:
                attrs["error.type"] = ETYPE.get(SERVICES[s]["lang"], {}).get(
                    fail or kindtxt, fail or kindtxt
                )
        self.span(tid, sid, parent, s, name, kind, t, dur, not ok, attrs, pod, msg)
        return dur, ok, (kindtxt, msg, code)

    def root(self, i):
        b, sim, rng = self.b, self.sim, self.rng
        items = []
        for s in ("edge-gateway", "partner-api", "fulfillment"):
            for op in OPS[s]:
                st = sim.state[(s, op.name)][i]
                items.append(((s, op.name), st.rate))
        s, opn = self.pick(items)
        tid = hexid(rng, 32)
        n0 = len(self.spans)
        t = max(b.t0 + 0.001, b.ts[i] - rng.uniform(0, b.step))
        self.server(tid, None, s, opn, i, t)
        new = self.spans[n0:]
        end = b.end_ts
        if any(
            (
                sp["startTimeUnixNano"] / 1e9
                if "startTimeUnixNano" in sp
                else datetime.fromisoformat(sp["start"].replace("Z", "+00:00")).timestamp()
            )
            > end
            for sp in new
        ):
            del self.spans[n0:]
            return n0, False, 0.0
        err = any(
            (sp.get("status") == "error")
            or (isinstance(sp.get("status"), dict) and sp["status"].get("code") == 2)
            for sp in new
        )
        root = new[0] if new else None
        rdur = 0.0
        if root is not None:
            rdur = (
                root["duration_ms"] / 1000
                if "duration_ms" in root
                else (root["endTimeUnixNano"] - root["startTimeUnixNano"]) / 1e9
            )
        return n0, err, rdur

    def run(self):
        b, sim, rng = self.b, self.sim, self.rng
        lo = max(0, b.o - b.m(rng.uniform(12, 25)))
        self.lo = lo
        idx = list(range(lo, b.T))
        n_base = rng.randint(110, 220)
        for _ in range(n_base):
            i = rng.choice(idx)
            self.root(i)
        # tail sampling: errors and slow traces are always kept
        weights = []
        for i in idx:
            e = 0.0
            for s in ("edge-gateway", "partner-api", "fulfillment"):
                for op in OPS[s]:
                    st = sim.state[(s, op.name)][i]
                    e += st.rate * st.err
            weights.append(e + 0.02)
        tot = sum(weights)
        want_err = rng.randint(50, 140)
        kept = tries = 0
        while kept < want_err and tries < 700:
            tries += 1
            u = rng.random() * tot
            i = idx[-1]
            for j, wv in zip(idx, weights):
                u -= wv
                if u <= 0:
                    i = j
                    break
            n0, err, _d = self.root(i)
            if err:
                kept += 1
            else:
                del self.spans[n0:]
        want_slow = rng.randint(10, 30)
        kept = tries = 0
        while kept < want_slow and tries < 200:
            tries += 1
            i = rng.choice(idx)
            n0, err, d = self.root(i)
            if d > 1.5 and not err:
                kept += 1
            else:
                del self.spans[n0:]
        # rebuild the index from the kept spans
        self.index = defaultdict(list)
        for sp in self.spans:
            s = sp.get("service") or sp.get("service.name")
            k = sp.get("span.kind", sp.get("kind"))
            if k not in ("server", 2, "consumer", 5):
                continue
            ts = (
                datetime.fromisoformat(sp["start"].replace("Z", "+00:00")).timestamp()
                if "start" in sp
                else sp["startTimeUnixNano"] / 1e9
            )
            i = int((ts - b.t0) // b.step)
            err = sp.get("status") == "error" or (
                isinstance(sp.get("status"), dict) and sp["status"].get("code") == 2
            )
            self.index[(s, i)].append(
                (
                    sp.get("trace_id") or sp.get("traceId"),
                    sp.get("span_id") or sp.get("spanId"),
                    err,
                    sp.get("k8s.pod.name"),
                )
            )

    def write(self, outdir):
        d = os.path.join(outdir, "traces")
        os.makedirs(d, exist_ok=True)
        key = (
            (lambda sp: sp["start"])
            if self.b.span_style != "otlp"
            else (lambda sp: sp["startTimeUnixNano"])
        )
        # keep traces together, ordered by their first span
        first = {}
        for sp in self.spans:
            tid = sp.get("trace_id") or sp.get("traceId")
            k = key(sp)
            if tid not in first or k < first[tid]:
                first[tid] = k
        self.spans.sort(key=lambda sp: (first[sp.get("trace_id") or sp.get("traceId")], key(sp)))
        with open(os.path.join(d, "spans.jsonl"), "w") as f:
            for sp in self.spans:
                f.write(json.dumps(sp, separators=(",", ":")) + "\n")


# --------------------------------------------------------------------------- log text


def dep_text(b, s, callee, cop, outcome, top, pod):
    """What s's client library says when its call to callee fails."""
    lang = SERVICES[s]["lang"]
    csv = SERVICES[callee]
    addr = address(s, callee)
    port = csv["port"]
    ip = cluster_ip(callee)
    kind = csv["kind"]
    if isinstance(outcome, tuple):
        code = outcome[1]
        oc = "status"
    else:
        code = None
        oc = outcome
    if isinstance(outcome, str) and b.tags.get(outcome, {}).get("client_text"):
        t = b.tags[outcome]["client_text"]
        return t.get(lang, next(iter(t.values()))) if isinstance(t, dict) else t
    top_def = b.tags.get(top, {}) if top else {}
    if top_def.get("client_text") and oc == "status":
        t = top_def["client_text"]
        return t.get(lang, next(iter(t.values()))) if isinstance(t, dict) else t
    if kind == "db":
        if oc == "conn":
            return {
                "java": f"org.postgresql.util.PSQLException: Connection to {addr}:5432 refused. Check that the hostname and port are correct and that the postmaster is accepting TCP/IP connections.",
                "go": f"failed to connect to `host={addr} user=app database=shop`: dial error (dial tcp {ip}:5432: connect: connection refused)",
                "python": f'psycopg.OperationalError: connection failed: connection to server at "{ip}", port 5432 failed: Connection refused',
            }.get(lang, "db connection refused")
        if oc == "timeout":
            return {
                "java": "org.postgresql.util.PSQLException: ERROR: canceling statement due to user request",
                "go": "timeout: context deadline exceeded",
                "python": "psycopg.errors.QueryCanceled: canceling statement due to statement timeout",
            }.get(lang, "query timeout")
        if oc == "reset":
            return {
                "java": "org.postgresql.util.PSQLException: An I/O error occurred while sending to the backend.",
                "go": f"read tcp {pod_ip(s)}:51234->{ip}:5432: read: connection reset by peer",
                "python": "psycopg.OperationalError: consuming input failed: server closed the connection unexpectedly",
            }.get(lang, "connection reset")
        return {
            "java": "org.postgresql.util.PSQLException: FATAL: sorry, too many clients already",
            "go": "FATAL: sorry, too many clients already (SQLSTATE 53300)",
            "python": "psycopg.OperationalError: connection failed: FATAL:  sorry, too many clients already",
        }.get(lang, "db error")
    if kind == "cache":
        if oc == "conn":
            return {
                "java": f"io.lettuce.core.RedisConnectionException: Unable to connect to {addr}/<unresolved>:6379",
                "go": f"redis: dial tcp {ip}:6379: connect: connection refused",
                "python": f"redis.exceptions.ConnectionError: Error 111 connecting to {addr}:6379. Connection refused.",
            }.get(lang, "redis connection refused")
        if oc == "timeout":
            return {
                "java": "io.lettuce.core.RedisCommandTimeoutException: Command timed out after 200 millisecond(s)",
                "go": f"redis: read tcp {pod_ip(s)}:40312->{ip}:6379: i/o timeout",
                "python": "redis.exceptions.TimeoutError: Timeout reading from socket",
            }.get(lang, "redis timeout")
        return {
            "java": "io.lettuce.core.RedisCommandExecutionException: ERR",
            "go": "redis: ERR",
            "python": "redis.exceptions.ResponseError: ERR",
        }.get(lang, "redis error")
    if kind == "queue":
        return {
            "java": f"org.apache.kafka.common.errors.TimeoutException: Expiring 4 record(s) for orders.v1-{b.rng.randrange(6)}:5004 ms has passed since batch creation",
            "go": "kafka: client has run out of available brokers to talk to",
            "python": "KafkaTimeoutError: Failed to update metadata after 5.0 secs.",
        }.get(lang, "kafka publish failed")
    # http / grpc / ext
    path = cop.split(" ", 1)[1] if " " in cop else "/" + cop
    method = cop.split(" ", 1)[0] if " " in cop else "POST"
    scheme = "https" if kind == "ext" else "http"
    url = f"{scheme}://{addr}{'' if kind == 'ext' else ':' + str(port)}{path}"
    if kind == "grpc":
        full = f"/{RPC_SVC[callee]}/{cop}"
        if oc == "conn":
            desc = f'connection error: desc = "transport: Error while dialing: dial tcp {ip}:{port}: connect: connection refused"'
            g = "UNAVAILABLE"
        elif oc == "timeout":
            desc, g = "context deadline exceeded", "DEADLINE_EXCEEDED"
        elif oc in ("tls", "tls_server"):
            desc = f'connection error: desc = "transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate has expired or is not yet valid: current time {iso(b.ts[b.o] + 60)} is after {iso(b.cert_exp.get(callee + "-grpc-tls", b.ts[b.o]))}"'
            g = "UNAVAILABLE"
        elif oc == "dns":
            desc, g = f'name resolver error: produced zero addresses for "{addr}"', "UNAVAILABLE"
        else:
            g = {
                13: "INTERNAL",
                14: "UNAVAILABLE",
                4: "DEADLINE_EXCEEDED",
                8: "RESOURCE_EXHAUSTED",
            }.get(code, "UNKNOWN")
            desc = top_def.get("grpc_desc") or {
                "INTERNAL": "internal error",
                "UNAVAILABLE": "upstream unavailable",
                "RESOURCE_EXHAUSTED": "server overloaded",
            }.get(g, "error")
        if lang == "java":
            return f"io.grpc.StatusRuntimeException: {g}: {desc}"
        if lang == "go":
            return f"{callee}: rpc error: code = {g.title().replace('_', '')} desc = {desc}"
        if lang == "python":
            return f'grpc.aio.AioRpcError: <AioRpcError of RPC that terminated with: status = StatusCode.{g} details = "{desc}">'
        return f"{full} failed: {g}: {desc}"
    if oc == "conn":
        return {
            "java": f'org.springframework.web.client.ResourceAccessException: I/O error on {method} request for "{url}": Connection refused',
            "go": f'{method} "{url}": dial tcp {ip}:{port}: connect: connection refused',
            "python": "httpx.ConnectError: [Errno 111] Connection refused",
            "node": f"connect ECONNREFUSED {ip}:{port}",
        }[lang]
    if oc == "timeout":
        return {
            "java": f'org.springframework.web.client.ResourceAccessException: I/O error on {method} request for "{url}": Read timed out',
            "go": f'{method} "{url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)',
            "python": f"httpx.ReadTimeout: timed out ({method} {url})",
            "node": f"The operation was aborted due to timeout ({method} {url})",
        }[lang]
    if oc == "tls":
        return {
            "go": f'{method} "{url}": remote error: tls: expired certificate',
            "java": "javax.net.ssl.SSLHandshakeException: Received fatal alert: certificate_expired",
            "python": "ssl.SSLError: [SSL: SSLV3_ALERT_CERTIFICATE_EXPIRED] sslv3 alert certificate expired",
            "node": "SSL alert number 45: certificate expired",
        }[lang]
    if oc == "tls_server":
        return {
            "go": f'{method} "{url}": tls: failed to verify certificate: x509: certificate has expired or is not yet valid',
            "java": "javax.net.ssl.SSLHandshakeException: PKIX path validation failed: java.security.cert.CertPathValidatorException: validity check failed",
            "python": "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired",
            "node": "certificate has expired (CERT_HAS_EXPIRED)",
        }[lang]
    if oc == "dns":
        return {
            "node": f"getaddrinfo EAI_AGAIN {addr}",
            "go": f"dial tcp: lookup {addr} on 10.96.0.10:53: i/o timeout",
            "java": f"java.net.UnknownHostException: {addr}",
            "python": "httpx.ConnectError: [Errno -3] Temporary failure in name resolution",
        }[lang]
    if oc == "reset":
        return {
            "node": "socket hang up",
            "go": f'{method} "{url}": EOF',
            "java": f'org.springframework.web.client.ResourceAccessException: I/O error on {method} request for "{url}": Connection reset',
            "python": "httpx.RemoteProtocolError: Server disconnected without sending a response.",
        }[lang]
    reason = {
        500: "Internal Server Error",
        502: "Bad Gateway",
        503: "Service Unavailable",
        504: "Gateway Timeout",
        429: "Too Many Requests",
        409: "Conflict",
        400: "Bad Request",
        401: "Unauthorized",
    }.get(code, "Error")
    if lang == "java":
        cls = {
            500: "InternalServerError",
            502: "BadGateway",
            503: "ServiceUnavailable",
            504: "GatewayTimeout",
            429: "TooManyRequests",
        }.get(code, "InternalServerError")
        base = (
            "HttpServerErrorException"
            if isinstance(code, int) and code >= 500
            else "HttpClientErrorException"
        )
        return f'org.springframework.web.client.{base}${cls}: {code} {reason}: "{{"error":"{top_def.get("body", reason.lower())}"}}"'
    if lang == "go":
        return f"{callee}: unexpected status {code} {reason} from {method} {url}"
    if lang == "python":
        return (
            f"httpx.HTTPStatusError: Server error '{code} {reason}' for url '{url}'"
            if isinstance(code, int) and code >= 500
            else f"httpx.HTTPStatusError: Client error '{code} {reason}' for url '{url}'"
        )
    return f"upstream {callee} responded {code} {reason}"


def java_stack(exc, frames):
    return exc + "\n" + "\n".join("\tat " + f for f in frames)


def py_tb(frames, last):
    out = ["Traceback (most recent call last):"]
    for fn, line, func, code in frames:
        out.append(f'  File "{fn}", line {line}, in {func}')
        out.append(f"    {code}")
    out.append(last)
    return "\n".join(out)


def node_stack(err, frames):
    return err + "\n" + "\n".join("    at " + f for f in frames)


DEP_FRAMES = {
    "java": {
        "checkout": [
            "com.acme.checkout.client.{C}Client.call({C}Client.java:88)",
            "com.acme.checkout.service.CheckoutService.placeOrder(CheckoutService.java:142)",
            "com.acme.checkout.api.CheckoutController.create(CheckoutController.java:57)",
            "java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)",
            "org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:885)",
        ],
        "catalog": [
            "com.acme.catalog.repo.ProductRepository.find(ProductRepository.java:64)",
            "com.acme.catalog.service.ProductService.get(ProductService.java:51)",
            "com.acme.catalog.api.ProductController.get(ProductController.java:39)",
            "org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:885)",
        ],
        "pricing": [
            "com.acme.pricing.store.RuleStore.load(RuleStore.java:77)",
            "com.acme.pricing.grpc.PricingGrpcService.quote(PricingGrpcService.java:93)",
            "io.grpc.stub.ServerCalls$UnaryServerCallHandler$UnaryServerCallListener.onHalfClose(ServerCalls.java:182)",
        ],
    }
}


LOGGERS = {
    "checkout": [
        "com.acme.checkout.service.CheckoutService",
        "com.acme.checkout.api.CheckoutController",
        "com.zaxxer.hikari.pool.HikariPool",
        "org.apache.kafka.clients.producer.internals.Sender",
    ],
    "catalog": [
        "com.acme.catalog.service.ProductService",
        "com.acme.catalog.api.ProductController",
        "com.zaxxer.hikari.pool.HikariPool",
    ],
    "pricing": ["com.acme.pricing.grpc.PricingGrpcService", "com.acme.pricing.store.RuleStore"],
    "partner-api": ["partner_api.routes.stock", "partner_api.routes.orders", "uvicorn.error"],
    "recommend": ["recommend.api", "recommend.model"],
    "account": ["account_svc.api", "account_svc.sessions"],
    "fulfillment": ["fulfillment.consumer", "fulfillment.shipwise"],
}

INFO_MSGS = {
    "edge-gateway": ["request completed", "upstream response"],
    "web-bff": ["request completed"],
    "app-bff": ["request completed"],
    "partner-api": ["request.finished"],
    "catalog": ["Served product page {id} in {ms} ms", "Product list query returned {n} rows"],
    "recommend": ["recommendations.served"],
    "cart": ["cart updated", "cart loaded"],
    "pricing": ["Quote {q} computed for {n} lines", "Price lookup cache hit ratio {r}"],
    "checkout": [
        "Order {o} placed for customer {c} ({n} items)",
        "Payment authorised for order {o}",
    ],
    "inventory": ["stock reserved", "stock lookup"],
    "payments": ["charge created", "paylane payment intent confirmed"],
    "account": ["profile.loaded"],
    "fulfillment": ["shipment.label_created", "order.consumed"],
}

NOISE = {
    "edge-gateway": [
        ("warn", "client closed request before upstream responded", {"status": 499}),
        (
            "error",
            "http: TLS handshake error from 185.220.101.{n}:{p}: tls: client offered only unsupported versions: [301]",
            {},
        ),
    ],
    "web-bff": [
        ("warn", "recommendations fallback used", {"reason": "slow"}),
        ("error", "Unhandled error rendering /api/products: socket hang up", {}),
    ],
    "app-bff": [
        ("warn", "feature flag client slow, using cached flags", {"elapsed_ms": 412}),
        ("warn", "request aborted by client", {}),
    ],
    "partner-api": [
        ("warning", "partner exceeded soft quota", {"partner": "acme-wholesale"}),
        ("error", "payload validation failed", {"partner": "northwind-b2b", "field": "sku"}),
    ],
    "catalog": [
        (
            "warn",
            "Slow query detected (812 ms): select p1_0.id,p1_0.title from products p1_0 where p1_0.category_id=? order by p1_0.rank",
            {},
        ),
        (
            "warn",
            "HikariPool-1 - Thread starvation or clock leap detected (housekeeper delta=58s312ms).",
            {},
        ),
    ],
    "recommend": [
        ("warning", "model cache miss, falling back to popular items", {}),
        ("error", "feature store lookup failed", {"error": "TimeoutError"}),
    ],
    "cart": [
        ("warn", "stale cart version, retrying", {"attempt": 2}),
        ("error", "pricing lookup failed, using cached price", {"error": "context canceled"}),
    ],
    "pricing": [
        ("warn", "FX rate feed stale by 95s, using last known rates", {}),
        ("warn", "Rule cache refresh took 2.3s", {}),
    ],
    "checkout": [
        ("warn", "Payment declined for order {o}: card_declined", {}),
        ("error", "Failed to send order confirmation e-mail for order {o}, will retry", {}),
        ("warn", "Slow SQL (640 ms): insert into order_lines (...)", {}),
    ],
    "inventory": [
        ("warn", "reservation conflict, retrying", {"attempt": 2}),
        ("warn", "slow query", {"elapsed_ms": 340}),
    ],
    "payments": [
        ("warn", "charge declined", {"decline_code": "insufficient_funds"}),
        ("warn", "paylane webhook signature mismatch, ignoring", {}),
    ],
    "account": [
        ("warning", "session.expired", {}),
        ("error", "jwks.refresh_failed", {"error": "ReadTimeout"}),
    ],
    "fulfillment": [
        ("warning", "address.validation_failed", {"action": "manual_review"}),
        ("warning", "shipwise.slow_response", {"elapsed_ms": 2400}),
    ],
}


def noise_logger(s, msg):
    if "Hikari" in msg:
        return "com.zaxxer.hikari.pool.HikariPool"
    if msg.startswith(("Slow SQL", "Slow query")):
        return "org.hibernate.SQL_SLOW"
    if "Rule cache" in msg or "FX rate" in msg:
        return "com.acme.pricing.store.RuleStore"
    return None


class Logger:
    def __init__(self, b, sim, tracer):
        self.b, self.sim, self.tr = b, sim, tracer
        self.rng = random.Random(f"logs:{b.seed}:{b.idx}")
        self.lines = defaultdict(list)  # svc -> [(ts, dict)]

    def trace_for(self, s, i, pod, error):
        cands = [
            x
            for x in self.tr.index.get((s, i), ())
            if (x[2] or not error) and (pod is None or x[3] == pod)
        ]
        if cands and self.rng.random() < 0.8:
            t = self.rng.choice(cands)
            return t[0], t[1]
        return hexid(self.rng, 32), hexid(self.rng, 16)

    def emit(
        self, s, ts, pod, level, msg, fields=None, exc=None, trace=None, logger=None, raw=False
    ):
        rng = self.rng
        style = SERVICES[s]["log"]
        fields = dict(fields or {})
        podname = pod.name if pod is not None else s
        if raw:
            rec = {
                "time": iso_ns(ts, rng),
                "stream": "stderr",
                "log": msg,
                "service": s,
                "pod": podname,
                "level": "fatal",
            }
            self.lines[s].append((ts, rec))
            return
        tid, sid = trace if trace else (None, None)
        if style == "slog":
            rec = {
                "time": iso_ns(ts, rng),
                "level": {
                    "warn": "WARN",
                    "warning": "WARN",
                    "error": "ERROR",
                    "info": "INFO",
                    "fatal": "ERROR",
                    "debug": "DEBUG",
                }[level],
                "msg": msg,
                "service": s,
                "pod": podname,
            }
            if tid:
                rec["trace_id"], rec["span_id"] = tid, sid
            if exc:
                rec["err"] = exc
            rec.update(fields)
        elif style == "zap":
            rec = {
                "level": {"warning": "warn", "fatal": "fatal"}.get(level, level),
                "ts": round(ts, 6),
                "caller": fields.pop("caller", f"{s}/handler.go:{rng.randint(40, 240)}"),
                "msg": msg,
                "service": s,
                "pod": podname,
            }
            if tid:
                rec["trace_id"] = tid
            if exc:
                rec["error"] = exc
                if level in ("error", "fatal"):
                    rec["stacktrace"] = (
                        f"{GO_MOD.get(s, s)}/internal/api.(*Handler).ServeHTTP\n\t/src/internal/api/handler.go:{rng.randint(60, 200)}\nnet/http.HandlerFunc.ServeHTTP\n\t/usr/local/go/src/net/http/server.go:2220"
                    )
            rec.update(fields)
        elif style == "logback":
            lvl = {
                "warn": "WARN",
                "warning": "WARN",
                "error": "ERROR",
                "info": "INFO",
                "fatal": "ERROR",
                "debug": "DEBUG",
            }[level]
            rec = {
                "@timestamp": datetime.fromtimestamp(ts, tz=timezone.utc).strftime(
                    "%Y-%m-%dT%H:%M:%S.%f"
                )[:-3]
                + "+00:00",
                "@version": "1",
                "message": msg,
                "logger_name": logger or LOGGERS.get(s, [s])[0],
                "thread_name": f"http-nio-8080-exec-{rng.randint(1, 200)}"
                if s != "pricing"
                else f"grpc-default-executor-{rng.randint(0, 40)}",
                "level": lvl,
                "level_value": {"WARN": 30000, "ERROR": 40000, "INFO": 20000, "DEBUG": 10000}[lvl],
                "app": s,
                "pod": podname,
            }
            if tid:
                rec["trace_id"], rec["span_id"], rec["trace_flags"] = tid, sid, "01"
            if exc:
                rec["stack_trace"] = exc
            rec.update(fields)
        elif style == "structlog":
            rec = {
                "event": msg,
                "level": {"warn": "warning", "fatal": "critical"}.get(level, level),
                "timestamp": iso_us(ts),
                "logger": logger or LOGGERS.get(s, [s])[0],
                "service": s,
                "pod": podname,
            }
            if tid:
                rec["trace_id"], rec["span_id"] = tid, sid
            if exc:
                rec["exception"] = exc
            rec.update(fields)
        else:  # pino
            rec = {
                "level": {
                    "debug": 20,
                    "info": 30,
                    "warn": 40,
                    "warning": 40,
                    "error": 50,
                    "fatal": 60,
                }[level],
                "time": int(ts * 1000),
                "pid": 1,
                "hostname": podname,
                "service": s,
                "msg": msg,
            }
            if tid:
                rec["trace_id"], rec["span_id"], rec["trace_flags"] = tid, sid, "01"
            if exc:
                first = exc.split("\n", 1)[0]
                typ = (
                    first.split(":", 1)[0]
                    if ":" in first and " " not in first.split(":", 1)[0]
                    else "Error"
                )
                rec["err"] = {"type": typ, "message": first.split(": ", 1)[-1], "stack": exc}
            rec.update(fields)
        self.lines[s].append((ts, rec))

    def fill(self, text):
        r = self.rng
        return text.format(
            id=r.randrange(10000, 99999),
            ms=r.randint(3, 60),
            n=r.randint(1, 48),
            q=f"q-{hexid(r, 8)}",
            r=round(r.uniform(0.85, 0.97), 2),
            o=f"ORD-{r.randrange(100000, 999999)}",
            c=f"cus_{hexid(r, 10)}",
            p=r.randint(1024, 65000),
        )

    def run(self):
        b, sim, rng = self.b, self.sim, self.rng
        for s in sorted(b.logs_for):
            sv = SERVICES[s]
            for p in b.pods[s]:
                started = False
                for i in range(b.T):
                    if not p.up(i):
                        continue
                    ts = b.ts[i]
                    if p.start_i >= 0 and not started:
                        started = True
                        self.startup(s, p, ts)
                    lr = p.last_restart(i)
                    if (
                        lr is not None
                        and i == max(j for j in range(lr, i + 1) if p.up(j))
                        and i not in p.down
                        and (i - 1) in p.down
                    ):
                        self.startup(s, p, ts)
                    # access / business INFO lines
                    for op in OPS[s]:
                        st = sim.state[(s, op.name)][i]
                        ps = st.pods.get(p.name)
                        if ps is None:
                            continue
                        if rng.random() < b.step / 150.0 * (0.5 + min(1.5, st.rate / 10.0)):
                            self.info(s, p, op, ps, ts + rng.uniform(0, b.step), i)
                        # incident lines: errors above the background rate
                        w, err = ps[0], ps[1]
                        ex = st.rate * w * b.step * max(0.0, err - 0.001)
                        if ex > 0:
                            n = min(6, pcount(rng, min(ex, 40) * 0.06 + (0.3 if ex > 0.5 else 0.0)))
                            for _ in range(n):
                                self.error_line(s, p, op, st, ps, ts + rng.uniform(0, b.step), i)
                        # slow requests
                        base = sim.state[(s, op.name)][max(0, b.o - b.m(20))]
                        bp = base.pods.get(p.name) if base else None
                        bmean = bp[3] if bp else (base.mean if base else ps[3])
                        if (
                            ps[3] + ps[4] * ps[5] > 3 * bmean + 0.05
                            and rng.random() < 0.35
                            and sv["lang"] in ("go", "node", "python")
                        ):
                            self.emit(
                                s,
                                ts + rng.uniform(0, b.step),
                                p,
                                "warn",
                                "slow request" if sv["lang"] != "python" else "request.slow",
                                {"route": op.name, "duration_ms": int((ps[3] + ps[5]) * 1000)},
                                trace=self.trace_for(s, i, p.name, False),
                            )
                    # background warn / error noise
                    if rng.random() < 0.012 * b.step / 15:
                        lvl, msg, f = rng.choice(NOISE[s])
                        self.emit(
                            s,
                            ts + rng.uniform(0, b.step),
                            p,
                            lvl,
                            self.fill(msg),
                            dict(f),
                            trace=self.trace_for(s, i, p.name, False)
                            if rng.random() < 0.5
                            else None,
                            logger=noise_logger(s, msg),
                        )
                # crashes
                for ci, reason, code, message, down in p.crashes:
                    text = b.crash_msgs.get(s)
                    if text and ci < b.T:
                        cts = b.ts[ci] - rng.uniform(0.5, b.step * 0.8)
                        if isinstance(text, tuple):
                            lvl, msg, exc = text
                            self.emit(s, cts - 0.3, p, lvl, msg, exc=exc)
                        else:
                            self.emit(s, cts, p, "fatal", text, raw=True)
        for ts, s, podname, level, msg, fields, exc in b.extra_logs:
            if s not in b.logs_for:
                continue
            pod = next((p for p in b.pods[s] if p.name == podname), None) if podname else None
            if pod is None:
                cands = [
                    p for p in b.pods[s] if p.up(min(b.T - 1, max(0, int((ts - b.t0) // b.step))))
                ]
                pod = cands[0] if cands else b.pods[s][0]
            i = min(b.T - 1, max(0, int((ts - b.t0) // b.step)))
            self.emit(
                s,
                ts,
                pod,
                level,
                msg,
                fields,
                exc=exc,
                trace=self.trace_for(s, i, pod.name, level == "error")
                if fields is not None and fields.pop("_trace", False)
                else None,
            )

    def startup(self, s, p, ts):
        lang = SERVICES[s]["lang"]
        v = p.version
        if lang == "java":
            app = "".join(x.title() for x in s.split("-")) + "Application"
            self.emit(
                s,
                ts - 20,
                p,
                "info",
                f"Starting {app} v{v} using Java 21.0.4 with PID 1",
                logger=f"{JAVA_PKG.get(s, 'com.acme')}.{app}",
            )
            self.emit(
                s,
                ts - 1,
                p,
                "info",
                f"Started {app} in {self.rng.uniform(28, 52):.3f} seconds (process running for {self.rng.uniform(30, 55):.3f})",
                logger=f"{JAVA_PKG.get(s, 'com.acme')}.{app}",
            )
        elif lang == "go":
            self.emit(
                s,
                ts - 2,
                p,
                "info",
                "starting server",
                {"version": v, "addr": f":{SERVICES[s]['port']}"},
            )
        elif lang == "python":
            self.emit(
                s,
                ts - 4,
                p,
                "info",
                "Application startup complete.",
                {"version": v},
                logger="uvicorn.error",
            )
        else:
            self.emit(
                s, ts - 2, p, "info", f"server listening on :{SERVICES[s]['port']}", {"version": v}
            )

    def info(self, s, p, op, ps, ts, i):
        rng = self.rng
        sv = SERVICES[s]
        tr = self.trace_for(s, i, p.name, False)
        msg = self.fill(rng.choice(INFO_MSGS[s]))
        dur = int(max(1, lognorm(rng, ps[3], 0.4) * 1000))
        if sv["lang"] == "node":
            meth, route = op.name.split(" ", 1)
            self.emit(
                s,
                ts,
                p,
                "info",
                msg,
                {
                    "req": {
                        "method": meth,
                        "url": route.replace("{id}", str(rng.randrange(1000, 99999))),
                    },
                    "res": {"statusCode": op.ok},
                    "responseTime": dur,
                },
                trace=tr,
            )
        elif sv["lang"] == "go":
            f = {"route": op.name, "duration_ms": dur}
            if " " in op.name:
                f["status"] = op.ok
            self.emit(s, ts, p, "info", msg, f, trace=tr)
        elif sv["lang"] == "python":
            self.emit(
                s,
                ts,
                p,
                "info",
                msg,
                {"path": op.name.split(" ")[-1], "duration_ms": dur},
                trace=tr,
            )
        else:
            self.emit(s, ts, p, "info", msg, trace=tr, logger=LOGGERS.get(s, [s])[0])

    def error_line(self, s, p, op, st, ps, ts, i):
        b, rng = self.b, self.rng
        own = [(t, f) for t, f, _e in ps[8] if (t != "bg" and f > 0.0005) or f > 0.003]
        own_tot = sum(f for _t, f in own)
        lang = SERVICES[s]["lang"]
        tr = self.trace_for(s, i, p.name, True)
        if own and (rng.random() < own_tot / (own_tot + ps[1] - own_tot + 1e-9) or not st.dep_src):
            tag = self.pick(own)
            td = b.tags[tag]
            msg = (
                td.get("log_msg", {}).get(lang)
                if isinstance(td.get("log_msg"), dict)
                else td.get("log_msg")
            )
            if tag == "overload":
                msg = {
                    "java": "Task java.util.concurrent.FutureTask rejected from java.util.concurrent.ThreadPoolExecutor[Running, pool size = 200, active threads = 200, queued tasks = 1000]",
                    "go": "server overloaded, shedding request",
                    "python": "request queue full, returning 503",
                    "node": "server busy (event loop lag), rejecting request",
                }[lang]
            if tag == "pool":
                msg = {
                    "java": f"HikariPool-1 - Connection is not available, request timed out after {int(b.tags['pool'].get('dur', 5) * 1000)}ms (total={b.K.pool.get(s, {}).get('max', 10)}, active={b.K.pool.get(s, {}).get('max', 10)}, idle=0, waiting={rng.randint(12, 80)})",
                    "go": "failed to acquire connection: context deadline exceeded",
                    "python": "QueuePool limit of size 10 overflow 0 reached, connection timed out, timeout 5.00",
                    "node": "pool exhausted",
                }[lang]
            exc = td.get("exc")
            logger = None
            if tag == "pool" and lang == "java":
                logger = "com.zaxxer.hikari.pool.HikariPool"
            if tag == "bg":
                msg, exc = {
                    "java": (
                        "Unhandled exception while processing request",
                        "java.util.concurrent.CompletionException: java.lang.IllegalStateException: stream was reset: CANCEL",
                    ),
                    "go": ("internal error", "unexpected EOF"),
                    "python": ("unhandled.exception", "asyncio.exceptions.CancelledError"),
                    "node": (
                        "unhandled error",
                        "Error [ERR_STREAM_PREMATURE_CLOSE]: Premature close",
                    ),
                }[lang]
            if msg is None:
                msg = td.get("msg_text", "request failed")
            if callable(exc):
                exc = exc(rng)
            lvl = td.get("level", "error")
            self.emit(
                s, ts, p, lvl, msg, dict(td.get("fields", {})), exc=exc, trace=tr, logger=logger
            )
            return
        if not st.dep_src:
            self.emit(
                s,
                ts,
                p,
                "error",
                {
                    "java": "Unexpected error processing request",
                    "go": "internal error",
                    "python": "unhandled.exception",
                    "node": "unhandled error",
                }[lang],
                trace=tr,
            )
            return
        (callee, outcome, top) = self.pick(list(st.dep_src.items()))
        text = dep_text(b, s, callee, OPIDX_FIRST.get((s, callee), ""), outcome, top, p)
        crit = next((c.critical for c in op.calls if c.callee == callee), True)
        ckind = SERVICES[callee]["kind"]
        if lang == "java":
            pkg = JAVA_PKG.get(s, "com.acme")
            if ckind == "db":
                frames = [
                    "org.springframework.jdbc.datasource.DataSourceUtils.getConnection(DataSourceUtils.java:84)",
                    "org.springframework.jdbc.core.JdbcTemplate.execute(JdbcTemplate.java:376)",
                    f"{pkg}.repo.{DB_TABLE.get(s, 'orders').title().replace('_', '')}Repository.save({DB_TABLE.get(s, 'orders').title().replace('_', '')}Repository.java:{rng.randint(40, 120)})",
                ] + DEP_FRAMES["java"].get(s, DEP_FRAMES["java"]["catalog"])[1:]
                msg = "Database access failed"
            elif ckind == "cache":
                frames = [
                    "io.lettuce.core.internal.Exceptions.bubble(Exceptions.java:83)",
                    "io.lettuce.core.FutureSyncInvocationHandler.handleInvocation(FutureSyncInvocationHandler.java:75)",
                    f"{pkg}.cache.ProductCache.get(ProductCache.java:{rng.randint(30, 90)})",
                ] + DEP_FRAMES["java"].get(s, DEP_FRAMES["java"]["catalog"])[1:]
                msg = "Cache lookup failed"
            elif ckind == "queue":
                frames = [
                    "org.apache.kafka.clients.producer.internals.FutureRecordMetadata.valueOrError(FutureRecordMetadata.java:98)",
                    "org.springframework.kafka.core.KafkaTemplate.doSend(KafkaTemplate.java:796)",
                    f"{pkg}.events.OrderEventPublisher.publish(OrderEventPublisher.java:{rng.randint(30, 90)})",
                ] + DEP_FRAMES["java"].get(s, DEP_FRAMES["java"]["catalog"])[1:]
                msg = "Failed to publish OrderPlaced event to orders.v1"
            else:
                frames = [
                    f.replace("{C}", "".join(x.title() for x in callee.split("-")))
                    for f in DEP_FRAMES["java"].get(s, DEP_FRAMES["java"]["catalog"])
                ]
                msg = (
                    f"Call to {callee} failed" if crit else f"{callee} unavailable, using fallback"
                )
            self.emit(
                s, ts, p, "error" if crit else "warn", msg, exc=java_stack(text, frames), trace=tr
            )
        elif lang == "python":
            pkg = PY_PKG.get(s, s)
            if ckind == "db":
                frame = (
                    f"/app/{pkg}/db.py",
                    rng.randint(30, 140),
                    "execute",
                    "return await conn.execute(query, params)",
                )
                ev = "db.query_failed"
            elif ckind == "cache":
                frame = (
                    f"/app/{pkg}/cache.py",
                    rng.randint(20, 90),
                    "get",
                    "return await self._redis.get(key)",
                )
                ev = "cache.get_failed"
            elif ckind == "grpc":
                frame = (
                    f"/app/{pkg}/clients/{callee}.py",
                    rng.randint(30, 120),
                    "call",
                    "return await self._stub.GetStock(request, timeout=self.timeout)",
                )
                ev = f"{callee}.call_failed"
            else:
                frame = (
                    f"/app/{pkg}/clients/{callee.replace('-', '_')}.py",
                    rng.randint(30, 140),
                    "call",
                    "resp = await self._client.request(method, url, json=payload)",
                )
                ev = f"{callee}.call_failed"
            tb = py_tb([frame], text)
            self.emit(
                s, ts, p, "error" if crit else "warning", ev, {"upstream": callee}, exc=tb, trace=tr
            )
        elif lang == "node":
            if crit:
                self.emit(
                    s,
                    ts,
                    p,
                    "error",
                    f"upstream {callee} failed",
                    {"upstream": callee},
                    exc=node_stack(
                        f"Error: {text}",
                        [
                            "TLSSocket.socketErrorListener (node:_http_client:496:9)",
                            "process.processTicksAndRejections (node:internal/process/task_queues:82:21)",
                        ],
                    )
                    if "ECONN" in text or "EAI" in text
                    else text,
                    trace=tr,
                )
            else:
                self.emit(
                    s,
                    ts,
                    p,
                    "warn",
                    f"{callee} failed, serving fallback",
                    {"upstream": callee, "error": text},
                    trace=tr,
                )
        else:
            gmsg = {
                "db": "query failed",
                "cache": "redis command failed",
                "queue": "publish failed",
            }.get(ckind, f"call {callee} failed")
            self.emit(
                s,
                ts,
                p,
                "error" if crit else "warn",
                gmsg if s != "edge-gateway" else "upstream error",
                {"upstream": callee},
                exc=text,
                trace=tr,
            )

    def pick(self, items):
        tot = sum(w for _k, w in items)
        u = self.rng.random() * tot
        for k, w in items:
            u -= w
            if u <= 0:
                return k
        return items[-1][0]

    def write(self, outdir):
        d = os.path.join(outdir, "logs")
        os.makedirs(d, exist_ok=True)
        lo, hi = self.b.t0, self.b.end_ts
        for s, lines in self.lines.items():
            lines = [x for x in lines if lo <= x[0] <= hi]
            lines.sort(key=lambda x: x[0])
            with open(os.path.join(d, f"{s}.jsonl"), "w") as f:
                for _ts, rec in lines:
                    f.write(json.dumps(rec, separators=(",", ":")) + "\n")


OPIDX_FIRST = {}
for _s, _ops in OPS.items():
    for _op in _ops:
        for _c in _op.calls:
            OPIDX_FIRST.setdefault((_s, _c.callee), _c.cop)


# --------------------------------------------------------------------------- confounders and background


def confounders(b):
    rng = b.rng
    o = b.o
    tgt = b.truth["service"] if b.truth else None
    cands = [s for s in APPS if s not in b.hot and s != tgt]
    # an innocent deploy, sometimes minutes before the onset
    if rng.random() < 0.8 and cands:
        s = rng.choice(cands)
        r = rng.random()
        if r < 0.45:
            i0 = o - b.m(rng.uniform(2, 9))
        elif r < 0.85:
            i0 = o - b.m(rng.uniform(14, 35))
        else:
            i0 = o + b.m(rng.uniform(4, 10))
        i0 = max(1, min(b.T - 8, i0))
        kind = rng.choice(["deploy", "deploy", "deploy", "rollout", "release"])
        b.rollout(
            s,
            i0,
            record=rng.random() < 0.85,
            kind=kind,
            summary=rng.choice(INNOCENT_DEPLOY).format(s=s),
        )
        cands.remove(s)
        b.hot.add(s)
    # a config or flag change elsewhere
    if rng.random() < 0.55 and cands:
        s = rng.choice(cands)
        kind, text = rng.choice(INNOCENT_CONFIG)
        ts = b.ts[max(0, min(b.T - 1, o - b.m(rng.uniform(1, 40))))] + rng.randint(0, 29)
        b.change(ts, s, kind, text.format(s=s))
    # infra / scale
    if rng.random() < 0.3:
        ts = b.ts[max(0, o - b.m(rng.uniform(5, 50)))] + rng.randint(0, 59)
        kind, svc, text = rng.choice(INNOCENT_INFRA)
        b.change(ts, svc, kind, text)
    if rng.random() < 0.25 and cands:
        s = rng.choice(
            [x for x in cands if x in ("app-bff", "web-bff", "catalog", "cart")] or cands
        )
        i0 = max(1, o - b.m(rng.uniform(6, 30)))
        rs = b.pods[s][0].rs
        live = [p for p in b.pods[s] if p.alive(i0)]
        np = Pod(
            s,
            f"{s}-{live[-1].rs}-{b.suffix()}",
            live[-1].rs,
            live[-1].version,
            rng.choice(b.nodes),
            i0,
            i0 + b.startup_steps(s),
            b.uid(),
        )
        b.pods[s].append(np)
        n = len(live) + 1
        b.event(
            b.ts[i0],
            s,
            "SuccessfulRescale",
            f"New size: {n}; reason: cpu resource utilization (percentage of request) above target",
            f"horizontalpodautoscaler/{s}",
            typ="Normal",
            source="horizontal-pod-autoscaler",
        )
        b.event(
            b.ts[i0] + 1,
            s,
            "ScalingReplicaSet",
            f"Scaled up replica set {s}-{rs} to {n}",
            f"deployment/{s}",
            typ="Normal",
        )
        b.event(
            b.ts[i0] + 2,
            s,
            "Scheduled",
            f"Successfully assigned {APP_NS}/{np.name} to {np.node}",
            f"pod/{np.name}",
            typ="Normal",
        )
        if rng.random() < 0.7:
            b.change(
                b.ts[i0],
                s,
                rng.choice(["scale", "hpa", "autoscale"]),
                f"HPA scaled {s} from {n - 1} to {n} replicas",
            )
        cands.remove(s)
    # a node kept busy by a batch job
    if rng.random() < 0.4 or b.noisy_node is not None:
        b.noisy_node = b.noisy_node or rng.choice(b.nodes)
        a0 = max(0, o - b.m(rng.uniform(5, 40)))
        b.noisy_arr = b.trap(a0, None, rng.uniform(0.5, 0.7), up=b.m(3))
        b.extra_alerts.append(("node_cpu", b.noisy_node, a0))
    # recommend is slow but healthy (its p99 alert fires all the time)
    if rng.random() < 0.35:
        b.slow_healthy = True
    # a blip on an unrelated service well before the onset
    if rng.random() < 0.3 and cands:
        s = rng.choice(cands)
        i0 = max(2, o - b.m(rng.uniform(15, 35)))
        b.add_err(s, b.trap(i0, i0 + rng.randint(1, 3), rng.uniform(0.01, 0.04)), "bg")
    # a collector restart: no metrics for a step or three
    if rng.random() < 0.3:
        g0 = rng.randrange(3, b.T - 4)
        if abs(g0 - o) > 3:
            for j in range(g0, g0 + rng.randint(1, 3)):
                b.gaps.add(j)
    # pods missing a scrape now and then
    for pods in b.pods.values():
        for p in pods:
            for _ in range(rng.randint(0, 2)):
                p.miss.add(rng.randrange(b.T))
    # an unrelated crash-looping cronjob
    if rng.random() < 0.3:
        first = b.t0 - rng.randint(3600, 7200)
        b.event(
            b.ts[min(b.T - 1, o - b.m(8))],
            "sitemap-builder",
            "BackOff",
            "Back-off restarting failed container sitemap-builder in pod sitemap-builder-28874160-q7zlk_shop(3c1f2a9e-51b8-4f4e-a3a8-2a0de1f1b7c4)",
            "pod/sitemap-builder-28874160-q7zlk",
            count=rng.randint(8, 30),
            first=iso(first),
            exit_code=1,
            container="sitemap-builder",
        )
        b.extra_alerts.append(("job_failed", "sitemap-builder", 0))
    # readiness probe hiccup somewhere
    if rng.random() < 0.4 and cands:
        s = rng.choice(cands)
        p = rng.choice([p for p in b.pods[s] if p.alive(0)])
        ts = b.ts[rng.randrange(1, max(2, o - 2))]
        b.event(
            ts,
            s,
            "Unhealthy",
            f'Readiness probe failed: Get "http://{pod_ip(p.name)}:{SERVICES[s]["port"]}/health/ready": context deadline exceeded (Client.Timeout exceeded while awaiting headers)',
            f"pod/{p.name}",
            count=rng.randint(1, 2),
            node=p.node,
        )
    # which services ship logs
    for s in APPS:
        if rng.random() < 0.7 or s in b.logs_for or s in b.keep_logs:
            b.logs_for.add(s)
    for s in b.no_logs:
        b.logs_for.discard(s)
    if rng.random() < 0.15:
        drop = rng.choice(sorted(b.logs_for - b.keep_logs) or ["partner-api"])
        b.logs_for.discard(drop)
        b.notes.append(
            f'loki: query for {{service_name="{drop}"}} timed out after 30s; logs of {drop} were not gathered'
        )
    # certificates cert-manager knows
    b.cert_exp = {
        "edge-gateway-tls": b.t0 + rng.randint(20, 70) * 86400,
        "partner-api-tls": b.t0 + rng.randint(9, 60) * 86400,
        "inventory-grpc-tls": b.t0 + rng.randint(20, 80) * 86400,
        "pricing-grpc-tls": b.t0 + rng.randint(20, 80) * 86400,
    }
    b.cert_exp.update(b.cert_override)
    if b.cert_exp["partner-api-tls"] - b.t0 < 14 * 86400:
        b.extra_alerts.append(("cert_soon", "partner-api", 0))


INNOCENT_DEPLOY = [
    "Deploy {s}: bump OpenTelemetry SDK and instrumentation versions",
    "Release {s}: copy changes on error pages",
    "Deploy {s}: dependency updates (renovate)",
    "{s}: add structured field to access logs",
    "Deploy {s}: refactor handler middleware, no behaviour change",
    "{s}: upgrade base image to distroless 2025-05",
    "Deploy {s}: new metrics for cache hit ratio",
]
INNOCENT_CONFIG = [
    ("config", "{s}: raise log level of com.acme to DEBUG for 1h"),
    ("flag", "flag ui.new_badges enabled for 10% ({s})"),
    ("feature_flag", "flag search.typo_tolerance enabled ({s})"),
    ("configmap", "{s}: update allowed CORS origins"),
    ("config", "{s}: rotate read-only API key"),
    ("toggle", "toggle promo.spring_banner on ({s})"),
]
INNOCENT_INFRA = [
    ("infra", "edge-gateway", "terraform: add WAF rule for /admin paths"),
    ("terraform", "shop-pg", "terraform: enable performance insights on replica"),
    ("infra", "events-kafka", "terraform: raise log retention for audit topic"),
    ("infrastructure", "cart", "node pool apps-b: upgrade AMI (rolling, surge 1)"),
]


def crash_events(b):
    for s, pods in b.pods.items():
        for p in pods:
            if not p.crashes:
                continue
            ns = SERVICES[s].get("ns", APP_NS)
            n0 = p.prior_restarts
            for k, (i, reason, code, message, down) in enumerate(p.crashes):
                ts = b.ts[i] + b.rng.uniform(0, b.step * 0.5)
                msg = message or f"Container {p.container} terminated with exit code {code}"
                b.event(
                    ts,
                    s,
                    reason,
                    msg,
                    f"pod/{p.name}",
                    exit_code=code,
                    container=p.container,
                    restart_count=n0 + k + 1,
                    node=p.node,
                    query=f"kubectl --context {KCTX} --namespace {ns} get pod {p.name} -o jsonpath='{{.status.containerStatuses[0].lastState}}'",
                )
                if reason == "Killing":
                    pass
            if len(p.crashes) >= 2:
                f_ts = b.ts[p.crashes[1][0]] + 10
                l_ts = b.ts[p.crashes[-1][0]] + p.crashes[-1][4] * b.step * 0.6
                b.event(
                    min(l_ts, b.end_ts),
                    s,
                    "BackOff",
                    f"Back-off restarting failed container {p.container} in pod {p.name}_{ns}({p.uid})",
                    f"pod/{p.name}",
                    count=len(p.crashes) * 2 - 1,
                    first=iso(f_ts),
                    node=p.node,
                    query=f"kubectl --context {KCTX} --namespace {ns} get events --field-selector involvedObject.name={p.name}",
                )
            b.event(
                min(b.end_ts, b.ts[p.crashes[-1][0]] + p.crashes[-1][4] * b.step),
                s,
                "Pulled",
                f'Container image "ghcr.io/acme-shop/{s}:{p.version}" already present on machine',
                f"pod/{p.name}",
                typ="Normal",
                count=len(p.crashes),
                first=iso(b.ts[p.crashes[0][0]] + 5),
                node=p.node,
            )
            b.event(
                min(b.end_ts, b.ts[p.crashes[-1][0]] + p.crashes[-1][4] * b.step + 1),
                s,
                "Started",
                f"Started container {p.container}",
                f"pod/{p.name}",
                typ="Normal",
                count=len(p.crashes),
                first=iso(b.ts[p.crashes[0][0]] + 6),
                node=p.node,
            )


def write_events(b, outdir):
    d = os.path.join(outdir, "events")
    os.makedirs(d, exist_ok=True)
    evs = []
    for e in b.events:
        if e["ts"] < b.t0 or e["ts"] > b.end_ts:
            continue
        e = dict(e)
        e["ts"] = iso(e["ts"])
        evs.append(e)
    evs.sort(key=lambda e: e["ts"])
    with open(os.path.join(d, "k8s.jsonl"), "w") as f:
        for e in evs:
            f.write(json.dumps(e, separators=(",", ":")) + "\n")
    return len(evs)


# --------------------------------------------------------------------------- page and alerts


def svc_signal(sim, s, i):
    tot = e5 = e429 = lat = 0.0
    for op in OPS[s]:
        st = sim.state[(s, op.name)][i]
        r = st.rate
        tot += r
        for code, f in st.codes.items():
            if code == 429:
                e429 += r * f
            else:
                e5 += r * f
        lat += r * ((1 - st.err) * (st.mean + st.fs * st.sx) + st.err * st.emean)
    if tot <= 0:
        return 0.0, 0.0, 0.0, 0.0
    return e5 / tot, e429 / tot, lat / tot, tot


def first_cross(b, sim, s, signal, i0, thr_ratio=None):
    lo, hi = max(0, b.o - b.m(25)), max(1, b.o - b.m(3))
    vals = []
    for i in range(b.T):
        e5, e429, lat, _ = svc_signal(sim, s, i)
        vals.append({"errors": e5, "latency": lat, "429": e429}[signal])
    base = sorted(vals[lo:hi])[len(vals[lo:hi]) // 2] if hi > lo else vals[0]
    if signal == "errors":
        thr = max(0.012, 5 * base)
    elif signal == "429":
        thr = max(0.03, 5 * base)
    else:
        thr = max(base * (thr_ratio or 1.45), base + 0.03)
    need = max(1, b.m(1))
    run = 0
    for i in range(i0, b.T):
        if vals[i] > thr:
            run += 1
            if run >= need:
                return i, base, max(vals[i0:]), thr
        else:
            run = 0
    return None, base, max(vals[i0:]) if i0 < b.T else 0, thr


def page_index(b, sim):
    p = b.page
    s, sig = p["svc"], p["signal"]
    o = b.onset_i
    i = None
    info = ""
    if sig in ("errors", "latency", "429"):
        i, base, peak, thr = first_cross(b, sim, s, sig, max(0, o - 1), p.get("ratio"))
        info = f"{sig} base={base:.4f} peak={peak:.4f} thr={thr:.4f}"
    elif sig == "lag":
        base = sim.lag[max(0, o - b.m(5))]
        thr = max(800, 6 * base)
        for j in range(o, b.T):
            if sim.lag[j] > thr:
                i = j
                break
        info = f"lag base={base:.0f} peak={max(sim.lag):.0f} thr={thr:.0f}"
    elif sig == "restarts":
        firsts = sorted(c[0] for pp in b.pods[s] for c in pp.crashes if c[0] >= o - 1)
        if len(firsts) >= 2:
            i = firsts[1]
        info = f"crashes={len(firsts)}"
    if i is None:
        print(f"  ! {b.name} {b.scen['key']}: page signal never crossed ({info})", file=sys.stderr)
        i = min(b.T - 3, o + b.m(4))
    i = min(b.T - 2, i + b.m(b.rng.choice([1, 2, 2, 3])))
    return i, info


def camel(s):
    return "".join(x.title() for x in s.replace("_", "-").split("-"))


def expr_for(s, signal):
    sv = SERVICES[s]
    if signal == "errors":
        if sv["lang"] == "node":
            return f'sum(rate(http_server_duration_milliseconds_count{{service_name="{s}",http_status_code=~"5.."}}[5m])) / sum(rate(http_server_duration_milliseconds_count{{service_name="{s}"}}[5m])) > 0.02'
        if sv["kind"] == "grpc":
            return f'sum(rate(rpc_server_duration_milliseconds_count{{service_name="{s}",rpc_grpc_status_code!~"0|5|9"}}[5m])) / sum(rate(rpc_server_duration_milliseconds_count{{service_name="{s}"}}[5m])) > 0.02'
        return f'sum(rate(http_server_request_duration_seconds_count{{service_name="{s}",http_response_status_code=~"5.."}}[5m])) / sum(rate(http_server_request_duration_seconds_count{{service_name="{s}"}}[5m])) > 0.02'
    if signal == "429":
        return f'sum(rate(http_server_request_duration_seconds_count{{service_name="{s}",http_response_status_code="429"}}[5m])) / sum(rate(http_server_request_duration_seconds_count{{service_name="{s}"}}[5m])) > 0.05'
    if signal == "latency":
        fam = (
            "http_server_duration_milliseconds_bucket"
            if sv["lang"] == "node"
            else (
                "rpc_server_duration_milliseconds_bucket"
                if sv["kind"] == "grpc"
                else "http_server_request_duration_seconds_bucket"
            )
        )
        thr = "1500" if "milli" in fam else "1.5"
        return (
            f'histogram_quantile(0.99, sum by (le) (rate({fam}{{service_name="{s}"}}[5m]))) > {thr}'
        )
    if signal == "lag":
        return 'sum by (group, topic) (kafka_consumer_group_lag{group="fulfillment"}) > 800'
    return f'increase(kube_pod_container_status_restarts_total{{namespace="{APP_NS}",container="{s}"}}[15m]) > 2'


def make_alert(b, labels, annotations, starts, expr, receiver, state="active", silenced=None):
    cap = b.end_ts + 5
    a = {
        "annotations": annotations,
        "endsAt": iso_ms(cap + 240),
        "fingerprint": fingerprint(labels),
        "receivers": [{"name": receiver}],
        "startsAt": iso_ms(starts),
        "status": {"inhibitedBy": [], "silencedBy": silenced or [], "state": state},
        "updatedAt": iso_ms(cap - b.rng.uniform(1, 25)),
        "generatorURL": f"http://prometheus-k8s.monitoring.svc:9090/graph?g0.expr={quote(expr, safe='')}&g0.tab=1",
        "labels": labels,
    }
    return a


TEAMS = {
    "edge-gateway": "platform",
    "web-bff": "web",
    "app-bff": "mobile",
    "partner-api": "b2b",
    "catalog": "discovery",
    "recommend": "discovery",
    "cart": "checkout",
    "pricing": "checkout",
    "checkout": "checkout",
    "inventory": "logistics",
    "payments": "payments",
    "account": "identity",
    "fulfillment": "logistics",
}


def build_alerts(b, sim, page_i):
    rng = b.rng
    p = b.page
    s, sig = p["svc"], p["signal"]
    starts = b.ts[page_i] + rng.uniform(0, b.step)
    alerts = []
    style = p.get("style") or rng.choice(["label", "label", "slo", "nolabel", "job"])
    team = TEAMS.get(s, "platform")
    if sig == "errors":
        if style == "slo":
            labels = {
                "alertname": "SLOErrorBudgetBurn",
                "slo": f"{s}-availability",
                "service_name": s,
                "long_window": "1h",
                "short_window": "5m",
                "severity": "page",
                "team": team,
            }
            ann = {
                "summary": f"{s} is burning its availability error budget 14.4x too fast",
                "description": f"5xx ratio on {s} over the last 5m and 1h is above the fast-burn threshold.",
                "runbook_url": f"https://runbooks.acme-shop.dev/slo/{s}-availability",
            }
        elif style == "nolabel":
            labels = {
                "alertname": f"{camel(s)}5xxRatioHigh",
                "namespace": APP_NS,
                "severity": "critical",
                "team": team,
            }
            ann = {
                "summary": f"More than 2% of requests to {s} fail with 5xx",
                "description": "Error ratio above threshold for 2 minutes.",
            }
        elif style == "job":
            labels = {
                "alertname": "HighErrorRatio",
                "job": f"{APP_NS}/{s}",
                "severity": "critical",
                "team": team,
            }
            ann = {
                "summary": "High 5xx ratio",
                "description": f"Job {APP_NS}/{s} returns 5xx for more than 2% of requests.",
            }
        else:
            labels = {
                "alertname": "HighErrorRatio",
                "service_name": s,
                "k8s_namespace_name": APP_NS,
                "severity": "critical",
                "team": team,
            }
            ann = {
                "summary": f"High 5xx ratio on {s}",
                "description": "More than 2% of requests failed with a 5xx status over 5 minutes.",
            }
    elif sig == "429":
        labels = {
            "alertname": "EdgeRateLimitedRequestsHigh",
            "service_name": s,
            "k8s_namespace_name": APP_NS,
            "severity": "critical",
            "team": team,
        }
        ann = {
            "summary": "More than 5% of requests at the edge are answered 429",
            "description": "Customers are being rate limited at edge-gateway.",
        }
    elif sig == "latency":
        if style == "slo":
            labels = {
                "alertname": "SLOLatencyBudgetBurn",
                "slo": f"{s}-latency",
                "service_name": s,
                "severity": "page",
                "team": team,
            }
            ann = {
                "summary": f"{s} p99 latency objective is burning fast",
                "runbook_url": f"https://runbooks.acme-shop.dev/slo/{s}-latency",
            }
        elif style == "nolabel":
            labels = {
                "alertname": f"{camel(s)}LatencyHigh",
                "namespace": APP_NS,
                "severity": "critical",
                "team": team,
            }
            ann = {
                "summary": f"p99 latency of {s} above 1.5s",
                "description": "p99 above threshold for 3 minutes.",
            }
        else:
            labels = {
                "alertname": "HighLatencyP99",
                "service_name": s,
                "k8s_namespace_name": APP_NS,
                "severity": "critical",
                "team": team,
            }
            ann = {
                "summary": f"p99 latency of {s} is above 1.5s",
                "description": "Sustained for 3 minutes.",
            }
    elif sig == "lag":
        labels = {
            "alertname": "KafkaConsumerLagHigh",
            "group": "fulfillment",
            "topic": "orders.v1",
            "service_name": "fulfillment",
            "severity": "critical",
            "team": "logistics",
        }
        ann = {
            "summary": "Consumer group fulfillment is falling behind on orders.v1",
            "description": "Lag above 800 messages for 2 minutes; orders are not being shipped.",
        }
    else:
        pod = p.get("pod") or next((pp for pp in b.pods[s] if pp.crashes), b.pods[s][0])
        labels = {
            "alertname": "KubePodCrashLooping",
            "namespace": SERVICES[s].get("ns", APP_NS),
            "pod": pod.name,
            "container": pod.container,
            "job": "kube-state-metrics",
            "severity": "critical",
        }
        ann = {
            "summary": "Pod is crash looping.",
            "description": f'Pod {labels["namespace"]}/{pod.name} ({pod.container}) is in waiting state (reason: "CrashLoopBackOff").',
            "runbook_url": "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping",
        }
    page = make_alert(b, labels, ann, starts, expr_for(s, sig), "pagerduty-shop")
    alerts.append(page)
    # other services that crossed their thresholds get a warning of their own, sometimes
    for s2 in APPS:
        if s2 == s or SERVICES[s2]["kind"] == "consumer":
            continue
        i2, base, peak, thr = first_cross(b, sim, s2, "errors", max(0, b.o - 1))
        if i2 is not None and peak > 0.03 and rng.random() < 0.55:
            i2 = min(b.T - 1, i2 + b.m(2))
            labels = {
                "alertname": "HighErrorRatio",
                "service_name": s2,
                "k8s_namespace_name": APP_NS,
                "severity": "warning",
                "team": TEAMS.get(s2, "platform"),
            }
            alerts.append(
                make_alert(
                    b,
                    labels,
                    {"summary": f"High 5xx ratio on {s2}"},
                    b.ts[i2] + rng.uniform(0, b.step),
                    expr_for(s2, "errors"),
                    "slack-shop-alerts",
                )
            )
            continue
        i3, base, peak, thr = first_cross(b, sim, s2, "latency", max(0, b.o - 1), 2.0)
        if i3 is not None and rng.random() < 0.35:
            i3 = min(b.T - 1, i3 + b.m(3))
            labels = {
                "alertname": "HighLatencyP99",
                "service_name": s2,
                "k8s_namespace_name": APP_NS,
                "severity": "warning",
                "team": TEAMS.get(s2, "platform"),
            }
            alerts.append(
                make_alert(
                    b,
                    labels,
                    {"summary": f"p99 latency of {s2} is high"},
                    b.ts[i3] + rng.uniform(0, b.step),
                    expr_for(s2, "latency"),
                    "slack-shop-alerts",
                )
            )
    # unrelated ones
    if rng.random() < 0.75:
        labels = {"alertname": "Watchdog", "prometheus": "monitoring/k8s", "severity": "none"}
        alerts.append(
            make_alert(
                b,
                labels,
                {
                    "summary": "An alert that should always be firing to certify that Alertmanager is working properly."
                },
                b.t0 - rng.randint(3, 30) * 86400,
                "vector(1)",
                "deadmansswitch",
            )
        )
    for kind, what, i0 in b.extra_alerts:
        if kind == "node_cpu":
            labels = {
                "alertname": "NodeHighCPU",
                "k8s_node_name": what,
                "severity": "warning",
                "team": "platform",
            }
            alerts.append(
                make_alert(
                    b,
                    labels,
                    {
                        "summary": f"Node {what} CPU above 85% for 10 minutes",
                        "description": "A batch job (reports-export) is scheduled on this node.",
                    },
                    b.ts[min(b.T - 1, i0 + b.m(10))],
                    f'1 - avg by (k8s_node_name) (system_cpu_utilization_ratio{{state="idle",k8s_node_name="{what}"}}) > 0.85',
                    "slack-platform",
                )
            )
        elif kind == "job_failed":
            labels = {
                "alertname": "KubeJobFailed",
                "namespace": APP_NS,
                "job_name": "sitemap-builder-28874160",
                "job": "kube-state-metrics",
                "severity": "warning",
            }
            alerts.append(
                make_alert(
                    b,
                    labels,
                    {
                        "summary": "Job failed to complete.",
                        "description": "Job shop/sitemap-builder-28874160 failed to complete.",
                    },
                    b.t0 - rng.randint(600, 5000),
                    'kube_job_failed{job="kube-state-metrics",namespace=~".*"} > 0',
                    "slack-shop-alerts",
                )
            )
        elif kind == "cert_soon":
            labels = {
                "alertname": "CertificateExpiringSoon",
                "name": "partner-api-tls",
                "namespace": APP_NS,
                "severity": "warning",
                "team": "b2b",
            }
            alerts.append(
                make_alert(
                    b,
                    labels,
                    {"summary": "Certificate partner-api-tls expires in less than 14 days"},
                    b.t0 - rng.randint(1, 4) * 86400,
                    'certmanager_certificate_expiration_timestamp_seconds{name="partner-api-tls"} - time() < 14*86400',
                    "slack-shop-alerts",
                )
            )
        elif kind == "custom":
            alerts.append(what(b))
    if b.slow_healthy:
        labels = {
            "alertname": "HighLatencyP99",
            "service_name": "recommend",
            "k8s_namespace_name": APP_NS,
            "severity": "warning",
            "team": "discovery",
        }
        alerts.append(
            make_alert(
                b,
                labels,
                {
                    "summary": "p99 latency of recommend is above 500ms",
                    "description": "Known: the ranking model is slow for cold users (DISC-412).",
                },
                b.t0 - rng.randint(2, 9) * 3600,
                expr_for("recommend", "latency").replace("1.5", "0.5"),
                "slack-shop-alerts",
            )
        )
    if rng.random() < 0.3:
        labels = {
            "alertname": "PostgresReplicationLag",
            "service_name": "shop-pg",
            "k8s_pod_name": "shop-pg-1",
            "severity": "warning",
            "team": "data",
        }
        alerts.append(
            make_alert(
                b,
                labels,
                {"summary": "Replica shop-pg-1 lags 45s behind the primary"},
                b.t0 + rng.randint(0, 1200),
                'pg_replication_lag_seconds{service_name="shop-pg"} > 30',
                "slack-data",
                state="suppressed",
                silenced=[
                    f"{hexid(rng, 8)}-{hexid(rng, 4)}-{hexid(rng, 4)}-{hexid(rng, 4)}-{hexid(rng, 12)}"
                ],
            )
        )
    seen, uniq = set(), []
    for a in alerts:
        if a["fingerprint"] in seen:
            continue
        seen.add(a["fingerprint"])
        uniq.append(a)
    alerts = uniq
    rng.shuffle(alerts)
    return alerts, page


def topology(b):
    rename = b.topo_rename
    out = {}
    for s in SERVICES:
        name = s.replace("-", "_") if rename else s
        out[name] = {"depends_on": [d.replace("-", "_") if rename else d for d in DEPS[s]]}
    return {"services": out}


# --------------------------------------------------------------------------- scenarios

SPRING_TAIL = [
    "org.springframework.web.servlet.FrameworkServlet.processRequest(FrameworkServlet.java:1014)",
    "org.springframework.web.servlet.FrameworkServlet.doPost(FrameworkServlet.java:914)",
    "jakarta.servlet.http.HttpServlet.service(HttpServlet.java:590)",
    "org.apache.catalina.core.ApplicationFilterChain.doFilter(ApplicationFilterChain.java:138)",
    "org.apache.tomcat.util.threads.ThreadPoolExecutor$Worker.run(ThreadPoolExecutor.java:659)",
    "java.base/java.lang.Thread.run(Thread.java:1583)",
]


def at_onset_rollout(b, s, **kw):
    i0 = max(1, b.o - b.startup_steps(s))
    cid, new, ready = b.rollout(s, i0, **kw)
    b.onset_i = ready
    b.hot.add(s)
    return cid, new


def resets_on_crash(b, s):
    """In-flight requests of a pod that dies fail for its callers."""
    arr = b.arr()
    n = max(1, len(b.pods[s]))
    for p in b.pods[s]:
        for i, *_ in p.crashes:
            if i < b.T:
                arr[i] = min(1.0, arr[i] + 0.5 / n)
    b.edge_err("*", s, arr, "reset")


def sc_d1(b):
    exc = java_stack(
        'java.lang.NullPointerException: Cannot invoke "com.acme.checkout.promo.PromoRule.discountFor(com.acme.checkout.model.Cart)" because "rule" is null',
        [
            "com.acme.checkout.promo.PromoEngine.apply(PromoEngine.java:118)",
            "com.acme.checkout.service.CheckoutService.price(CheckoutService.java:201)",
            "com.acme.checkout.service.CheckoutService.placeOrder(CheckoutService.java:139)",
            "com.acme.checkout.api.CheckoutController.create(CheckoutController.java:57)",
        ]
        + SPRING_TAIL,
    )
    b.tag(
        "npe_promo",
        code=500,
        etype="java.lang.NullPointerException",
        log_msg="Servlet.service() for servlet [dispatcherServlet] threw exception [Request processing failed: java.lang.NullPointerException] with root cause",
        exc=exc,
        span_msg='java.lang.NullPointerException: Cannot invoke "PromoRule.discountFor(Cart)" because "rule" is null',
    )
    cid, new = at_onset_rollout(
        b,
        "checkout",
        bad={"err": [(b.rng.uniform(0.35, 0.5), "npe_promo")]},
        summary="Deploy checkout {v}: promo engine rewrite (PR #2231)",
    )
    b.truth = dict(kind="deploy", service="checkout", change_id=cid)
    b.page = dict(svc="edge-gateway", signal="errors")
    b.keep_logs.add("checkout")
    b.desc = "checkout release throws a NullPointerException in the new promo engine for ~40% of orders; 5xx surface at the BFFs and edge-gateway"


def sc_d2(b):
    cid, new = at_onset_rollout(
        b,
        "catalog",
        bad={"lat": 5.5},
        summary="Deploy catalog {v}: product list now includes variant availability",
    )
    share = b.share_of("catalog", new)
    b.K.call_mult[("catalog", "shop-pg")] = [1 + 9 * x for x in share]
    b.truth = dict(kind="deploy", service="catalog", change_id=cid)
    b.page = dict(svc="app-bff", signal="latency", ratio=1.3)
    for k in range(8):
        b.extra_logs.append(
            (
                b.ts[min(b.T - 1, b.onset_i + k * b.m(2))] + 3,
                "catalog",
                None,
                "warn",
                f"Slow query detected ({b.rng.randint(300, 900)} ms): select v1_0.product_id,v1_0.sku,v1_0.stock from product_variants v1_0 where v1_0.product_id=?",
                {},
                None,
            )
        )
    b.desc = "catalog release adds an N+1 query for variants: catalog latency x4 and ten times the SELECTs on shop-pg; app-bff and web-bff slow down"


def sc_d3(b):
    b.tag(
        "cart_panic",
        code=500,
        etype="runtime.Error",
        log_msg="panic recovered",
        fields={
            "panic": "runtime error: index out of range [3] with length 3",
            "caller": "middleware/recover.go:31",
        },
        exc="runtime error: index out of range [3] with length 3",
        span_msg="panic: runtime error: index out of range [3] with length 3",
    )
    cid, new = at_onset_rollout(
        b,
        "cart",
        record=False,
        bad={"err": [(b.rng.uniform(0.35, 0.5), "cart_panic", "POST /cart/{id}/items")]},
    )
    b.truth = dict(kind="deploy", service="cart")
    b.page = dict(svc="edge-gateway", signal="errors")
    b.desc = "cart is rolled out by hand (not in the change feed); the new version panics (recovered, 500) when adding items to a cart with bundles; only the service_version label and ReplicaSet events show the rollout"


def sc_d4(b):
    exc = java_stack(
        "java.lang.ArithmeticException: Rounding necessary",
        [
            "java.base/java.math.BigDecimal.commonNeedIncrement(BigDecimal.java:5260)",
            "java.base/java.math.BigDecimal.setScale(BigDecimal.java:3010)",
            "com.acme.pricing.money.Money.toMinorUnits(Money.java:71)",
            "com.acme.pricing.quote.QuoteCalculator.total(QuoteCalculator.java:133)",
            "com.acme.pricing.grpc.PricingGrpcService.quote(PricingGrpcService.java:88)",
            "io.grpc.stub.ServerCalls$UnaryServerCallHandler$UnaryServerCallListener.onHalfClose(ServerCalls.java:182)",
        ],
    )
    b.tag(
        "quote_round",
        code=500,
        grpc=13,
        etype="java.lang.ArithmeticException",
        log_msg="Exception while executing runnable io.grpc.internal.ServerImpl$JumpToApplicationThreadServerStreamListener$1HalfClosed",
        exc=exc,
        grpc_desc="java.lang.ArithmeticException: Rounding necessary",
        span_msg="java.lang.ArithmeticException: Rounding necessary",
    )
    # an innocent deploy of account a few minutes earlier
    b.rollout(
        "account",
        max(1, b.o - b.m(b.rng.uniform(2.5, 5))),
        summary="Deploy account {v}: add preferred_locale to profile",
    )
    b.hot.add("account")
    cid, new = at_onset_rollout(
        b,
        "pricing",
        bad={"err": [(b.rng.uniform(0.4, 0.55), "quote_round", "Quote")]},
        summary="Deploy pricing {v}: multi-currency quotes",
    )
    b.truth = dict(kind="deploy", service="pricing", change_id=cid)
    b.page = dict(svc="checkout", signal="errors")
    b.desc = "pricing release fails Quote RPCs (ArithmeticException on currency rounding) for about half of the quotes; checkout returns 500; an innocent account deploy landed minutes before"


def sc_d5(b):
    cid, new = at_onset_rollout(
        b,
        "web-bff",
        canary=1,
        kind="canary",
        bad={"lat": 7.0, "fs": (0.3, 1.4), "err": [(0.03, "overload")]},
        summary="Canary web-bff {v} (1 of 3 pods): server-side rendering of product cards",
    )
    b.truth = dict(kind="deploy", service="web-bff", change_id=cid)
    b.page = dict(svc="edge-gateway", signal="latency", ratio=1.3)
    b.desc = "a web-bff canary (one pod of three) renders product cards synchronously and blocks its event loop: that pod is slow and sheds load; edge-gateway p99 pages"


def sc_d6(b):
    b.tag("paylane_409", status=409, dur=0.3)
    cid, new = at_onset_rollout(
        b,
        "payments",
        summary="Deploy payments {v}: idempotency keys per cart instead of per attempt",
    )
    share = b.share_of("payments", new)
    frac = b.rng.uniform(0.4, 0.6)
    b.edge_err("payments", "paylane", [frac * x for x in share], "paylane_409")
    b.truth = dict(kind="deploy", service="payments", change_id=cid)
    b.page = dict(svc="checkout", signal="errors")
    b.desc = "payments release reuses idempotency keys; paylane answers 409 Conflict to ~half the charges; payments returns 502 and checkout fails. The third party looks guilty but only the new payments pods get 409s"


def sc_c1(b):
    o = b.o
    ts = b.ts[max(0, o - b.m(1.5))]
    cid = b.change(
        ts,
        "inventory",
        "configmap",
        "inventory-config: statement_timeout 5s -> 50ms (tighten DB timeouts, OPS-1182)",
    )
    _c, new, ready = b.rollout("inventory", max(1, o - 1), record=False, same_version=True)
    b.onset_i = ready
    b.hot.add("inventory")
    b.tag(
        "stmt_timeout",
        code=500,
        grpc=13,
        etype="*pgconn.PgError",
        log_msg="query failed",
        fields={"sqlstate": "57014"},
        exc="ERROR: canceling statement due to statement timeout (SQLSTATE 57014)",
        grpc_desc="stock lookup failed: ERROR: canceling statement due to statement timeout (SQLSTATE 57014)",
        span_msg="ERROR: canceling statement due to statement timeout (SQLSTATE 57014)",
    )
    b.apply_bad(
        new,
        {
            "err": [
                (b.rng.uniform(0.22, 0.32), "stmt_timeout", "GetStock"),
                (0.12, "stmt_timeout", "Reserve"),
            ]
        },
    )
    b.truth = dict(kind="config_change", service="inventory", change_id=cid)
    b.page = dict(svc="partner-api", signal="errors")
    b.desc = "an inventory ConfigMap change lowers the Postgres statement_timeout from 5s to 50ms (500ms was meant); after the restart, slow stock queries are cancelled; partner-api stock sync and cart/checkout fail"


def sc_c2(b):
    o = b.o
    cid = b.change(
        b.ts[o] - b.rng.randint(10, 40),
        "edge-gateway",
        "config",
        "edge-gateway: per-client rate limit 100 r/s -> 10 r/s (anti-scraping)",
    )
    b.tag(
        "ratelimit",
        code=429,
        dur=0.0004,
        log_msg="rate limit exceeded",
        fields={"limit": "10r/s", "key": "client_ip"},
        level="warn",
    )
    b.add_err(
        "edge-gateway",
        b.trap(o, None, b.rng.uniform(0.3, 0.45), up=2),
        "ratelimit",
        op="GET /app/{path}",
        early=True,
    )
    b.add_err(
        "edge-gateway",
        b.trap(o, None, b.rng.uniform(0.25, 0.4), up=2),
        "ratelimit",
        op="POST /app/{path}",
        early=True,
    )
    b.add_err(
        "edge-gateway", b.trap(o, None, 0.05, up=2), "ratelimit", op="GET /web/{path}", early=True
    )
    b.hot.add("edge-gateway")
    b.truth = dict(kind="config_change", service="edge-gateway", change_id=cid)
    b.page = dict(svc="edge-gateway", signal="429", style="label")
    b.keep_logs.add("edge-gateway")
    b.desc = "edge-gateway rate-limit config lowered 10x; mobile users behind carrier NAT share IPs and get 429s"


def sc_c3(b):
    o = b.o
    cid = b.change(
        b.ts[o] - b.rng.randint(5, 40),
        "recommend",
        "feature_flag",
        "flag reco.ranker_v2 enabled for 100% of traffic",
    )
    tr = b.trap(o, None, 1.0, up=2)
    b.mul_lat("recommend", b.lat_from(tr, 3.2))
    b.set_cap("recommend", [1 - 0.4 * x for x in tr])
    b.hot.add("recommend")
    b.truth = dict(kind="config_change", service="recommend", change_id=cid)
    b.page = dict(svc="web-bff", signal="latency", ratio=1.35)
    b.desc = "a feature flag switches recommend to a heavier ranking model: recommend latency x3 and CPU bound; the BFFs wait for their 0.6-0.8s fallback timeouts"


def sc_c4(b):
    o = b.o
    cid = b.change(
        b.ts[max(0, o - b.m(1))],
        "cart",
        "configmap",
        "cart-config: REDIS_READ_TIMEOUT=5ms (was 500ms), units typo",
    )
    _c, new, ready = b.rollout("cart", max(1, o - 1), record=False, same_version=True)
    b.onset_i = ready
    b.hot.add("cart")
    share = b.share_of("cart", new)
    b.tag(
        "redis_rt",
        dur=0.006,
        client_text={
            "go": f"redis: read tcp 10.42.11.7:44818->{cluster_ip('shop-redis')}:6379: i/o timeout"
        },
    )
    frac = b.rng.uniform(0.3, 0.45)
    b.edge_err("cart", "shop-redis", [frac * x for x in share], "redis_rt")
    b.truth = dict(kind="config_change", service="cart", change_id=cid)
    b.page = dict(svc="edge-gateway", signal="errors")
    b.desc = "a cart ConfigMap sets the Redis read timeout to 5ms; after the restart a third of cart's Redis calls time out; cart 500s reach web-bff, app-bff and checkout"


def sc_r1(b):
    o = b.o
    b.rho["catalog"] = 0.68
    b.rate_mult("edge-gateway", [1 + 0.4 * x for x in b.trap(o - b.m(14), None, 1.0, up=b.m(16))])
    b.hot.add("catalog")
    b.extra_alerts.append(
        (
            "custom",
            lambda bb: make_alert(
                bb,
                {
                    "alertname": "KubeHpaMaxedOut",
                    "horizontalpodautoscaler": "catalog",
                    "namespace": APP_NS,
                    "job": "kube-state-metrics",
                    "severity": "warning",
                },
                {
                    "summary": "HPA is running at max replicas",
                    "description": "HPA shop/catalog has been running at max replicas for longer than 15 minutes.",
                },
                bb.ts[max(0, bb.o - bb.m(6))],
                'kube_horizontalpodautoscaler_status_current_replicas{namespace="shop",horizontalpodautoscaler="catalog"} == kube_horizontalpodautoscaler_spec_max_replicas',
                "slack-shop-alerts",
            ),
            0,
        )
    )
    b.extra_alerts.append(
        (
            "custom",
            lambda bb: make_alert(
                bb,
                {
                    "alertname": "CPUThrottlingHigh",
                    "namespace": APP_NS,
                    "pod": bb.pods["catalog"][0].name,
                    "container": "catalog",
                    "severity": "info",
                },
                {
                    "summary": "Processes experience elevated CPU throttling.",
                    "description": "38% throttling of CPU in namespace shop for container catalog.",
                },
                bb.ts[max(0, bb.o)],
                'sum(increase(container_cpu_cfs_throttled_periods_total{container!=""}[5m])) by (container, pod, namespace) / sum(increase(container_cpu_cfs_periods_total[5m])) by (container, pod, namespace) > 0.25',
                "slack-shop-alerts",
            ),
            0,
        )
    )
    b.truth = dict(kind="resource_saturation", service="catalog")
    b.page = dict(svc="app-bff", signal="latency", ratio=1.3)
    b.desc = "evening traffic grows while catalog's HPA is at its maximum: catalog pods hit their CPU limit, queueing makes every catalog call slow; both BFFs page on latency"


def sc_r2(b):
    o = b.o
    lim = SERVICES["pricing"]["mem"][1]
    for p in b.pods["pricing"]:
        b.K.mem_leak[p.name] = (0, (lim * 0.93 - SERVICES["pricing"]["mem"][0]) / max(1, o))
    tr = b.trap(o, None, 1.0, up=b.m(5))
    b.add_fs("pricing", [0.35 * x for x in tr], 0.9)
    b.set_cap("pricing", [1 - 0.45 * x for x in tr])
    b.K.cpu_add["pricing"] = [0.5 * x for x in tr]
    b.hot.add("pricing")
    b.truth = dict(kind="resource_saturation", service="pricing")
    b.page = dict(svc="app-bff", signal="errors")
    b.desc = "pricing leaks heap (rule cache never evicted): the old generation fills, G1 runs back-to-back full collections, GetPrice calls stall past catalog's 500ms deadline; catalog and the BFFs return errors"


def sc_r3(b):
    o = b.o
    pods = [p for p in b.pods["checkout"] if p.alive(o)]
    for k, p in enumerate(pods):
        ex = o + b.m(k * b.rng.uniform(2.5, 4.5))
        arr = [0.0] * b.T
        for i in range(ex, b.T):
            arr[i] = 0.9
        b.K.pod_err[p.name].append((None, arr, "pool", False))
        b.K.pod_lat[p.name] = [1.0 if i < ex - b.m(2) else 3.0 for i in range(b.T)]
        leak0 = max(0, ex - b.m(b.rng.uniform(14, 22)))
        b.pool_override[p.name] = [
            min(10, 1 + 10 * max(0, i - leak0) / max(1, ex - leak0))
            if i >= leak0
            else 1 + b.rng.random()
            for i in range(b.T)
        ]
        for j in range(leak0, ex, max(1, b.m(3))):
            b.extra_logs.append(
                (
                    b.ts[j] + b.rng.uniform(0, b.step),
                    "checkout",
                    p.name,
                    "warn",
                    "Connection leak detection triggered for org.postgresql.jdbc.PgConnection@"
                    + hexid(b.rng, 7)
                    + f" on thread http-nio-8080-exec-{b.rng.randint(1, 200)}, stack trace follows",
                    {},
                    java_stack(
                        "java.lang.Exception: Apparent connection leak detected",
                        [
                            "com.acme.checkout.audit.OrderAuditRepository.append(OrderAuditRepository.java:44)",
                            "com.acme.checkout.audit.AuditListener.onOrderPlaced(AuditListener.java:29)",
                            "com.acme.checkout.service.CheckoutService.placeOrder(CheckoutService.java:160)",
                        ],
                    ),
                )
            )
    b.tags["pool"]["dur"] = 5.0
    b.hot.add("checkout")
    b.keep_logs.add("checkout")
    b.truth = dict(kind="resource_saturation", service="checkout")
    b.page = dict(svc="checkout", signal="errors")
    b.desc = "checkout leaks JDBC connections on an audit code path; each pod's Hikari pool empties in turn and requests time out waiting for a connection (5s)"


def sc_r4(b):
    o = b.o
    tr = b.trap(o, None, 1.0, up=b.m(4))
    b.set_cap("shop-pg", [1 - 0.68 * x for x in tr])
    b.K.cpu_add["shop-pg"] = [1.2 * x for x in tr]
    b.pg_backends = [60 + 200 * x for x in tr]
    b.rollout(
        "inventory",
        max(1, o - b.m(b.rng.uniform(3, 6))),
        summary="Deploy inventory {v}: structured logging",
    )
    b.hot.add("inventory")
    b.hot.add("shop-pg")
    b.truth = dict(kind="resource_saturation", service="shop-pg")
    b.page = dict(svc="checkout", signal="latency", ratio=1.3)
    b.desc = "shop-pg runs out of CPU (an ad-hoc reporting query plus autovacuum on orders); every query slows down and backends pile up; checkout pages on latency; an inventory deploy minutes before is innocent"


def sc_r5(b):
    o = b.o
    maxmem = SERVICES["shop-redis"]["mem"][1] * 0.9
    base = SERVICES["shop-redis"]["mem"][0]
    start = max(0, o - b.m(30))
    b.redis_mem = [
        base + (maxmem - base) * min(1.0, max(0.0, (i - start) / max(1, o - start)))
        for i in range(b.T)
    ]
    b.tag(
        "redis_oom",
        code="error",
        client_text={
            "go": "OOM command not allowed when used memory > 'maxmemory'.",
            "python": "redis.exceptions.OutOfMemoryError: OOM command not allowed when used memory > 'maxmemory'.",
            "java": "io.lettuce.core.RedisCommandExecutionException: OOM command not allowed when used memory > 'maxmemory'.",
        },
    )
    b.add_err("shop-redis", b.trap(o, None, 0.97, up=1), "redis_oom", op="SET")
    b.hot.add("shop-redis")
    b.truth = dict(kind="resource_saturation", service="shop-redis")
    b.page = dict(svc="edge-gateway", signal="errors")
    b.desc = "shop-redis reaches maxmemory with the noeviction policy: every write is refused with OOM; adding to cart fails (cart 500) while reads keep working"


def sc_k1(b):
    o = b.o
    lim = SERVICES["fulfillment"]["mem"][1]
    run = (60, 140)
    pods = b.crashloop(
        "fulfillment",
        o,
        "OOMKilled",
        137,
        run_s=run,
        message="Container fulfillment exceeded its memory limit (1Gi) and was killed",
    )
    for p in pods:
        b.K.mem_leak[p.name] = (
            o - b.m(1),
            (lim - SERVICES["fulfillment"]["mem"][0]) / max(1, b.m(run[0] / 60)),
        )
    # each restart re-reads the batch it was killed in: almost nothing gets committed
    b.consumer_eff = [1.0 - 0.93 * x for x in b.trap(o, None, 1.0, up=1)]
    b.onset_i = o
    b.hot.add("fulfillment")
    b.truth = dict(kind="crash_loop", service="fulfillment")
    b.page = dict(svc="fulfillment", signal="lag")
    b.desc = "fulfillment workers load whole label batches into memory and are OOMKilled over and over; orders.v1 consumer lag grows"


def sc_k2(b):
    o = b.o
    b.crashloop(
        "payments",
        o,
        "Error",
        2,
        run_s=(20, 70),
        message="Container payments terminated: Error (exit code 2)",
    )
    b.crash_msgs["payments"] = (
        "panic: assignment to entry in nil map\n\ngoroutine 4127 [running]:\ngithub.com/acme-shop/payments/internal/paylane.(*intentCache).put(...)\n\t/src/internal/paylane/cache.go:57\ngithub.com/acme-shop/payments/internal/paylane.(*Client).CreateIntent(0xc0001b2000, {0x1a2b3c0, 0xc000a4e1e0}, 0xc0003f8d80)\n\t/src/internal/paylane/client.go:142 +0x3a5\ngithub.com/acme-shop/payments/internal/api.(*Handler).charge(0xc00012e0a0, {0x1a2a6f8, 0xc000ab61c0}, 0xc0004b8900)\n\t/src/internal/api/charge.go:88 +0x2c4\ncreated by net/http.(*Server).Serve in goroutine 1\n\t/usr/local/go/src/net/http/server.go:3285 +0x4b4"
    )
    resets_on_crash(b, "payments")
    b.onset_i = o
    b.hot.add("payments")
    b.truth = dict(kind="crash_loop", service="payments")
    b.page = dict(svc="checkout", signal="errors")
    b.desc = "payments panics (nil map in the intent cache, not recovered in a goroutine) and restarts again and again; checkout fails when no payments pod is up"


def sc_k3(b):
    o = b.o
    lim = SERVICES["inventory"]["mem"][1]
    pods = b.crashloop(
        "inventory",
        o,
        "OOMKilled",
        137,
        run_s=(150, 300),
        message="Container inventory exceeded its memory limit (384Mi) and was killed",
    )
    for p in pods:
        b.K.mem_leak[p.name] = (
            o - b.m(2),
            (lim - SERVICES["inventory"]["mem"][0]) / max(1, b.m(2.5)),
        )
    resets_on_crash(b, "inventory")
    b.onset_i = o
    b.hot.add("inventory")
    b.truth = dict(kind="crash_loop", service="inventory")
    b.page = dict(svc="inventory", signal="restarts")
    b.desc = "inventory's stock cache grows without bound and its pods are OOMKilled every few minutes, in turn; callers see resets while a pod dies"


def sc_k4(b):
    o = b.o
    b.crashloop(
        "web-bff",
        o,
        "Error",
        1,
        run_s=(25, 80),
        message="Container web-bff terminated: Error (exit code 1)",
    )
    b.crash_msgs["web-bff"] = (
        "node:internal/process/promises:391\n    triggerUncaughtException(err, true /* fromPromise */);\n    ^\n\nTypeError: Cannot read properties of null (reading 'items')\n    at mergeCart (/app/dist/routes/cart.js:77:29)\n    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)\n\nNode.js v20.15.1"
    )
    resets_on_crash(b, "web-bff")
    b.onset_i = o
    b.hot.add("web-bff")
    b.truth = dict(kind="crash_loop", service="web-bff")
    b.page = dict(svc="edge-gateway", signal="errors")
    b.desc = "web-bff dies on an unhandled promise rejection (exit 1) and crash-loops; edge-gateway answers 502/503 for web traffic"


def sc_f1(b):
    o = b.o
    d = b.m(b.rng.uniform(3.5, 6))
    pg0, pg1 = b.pods["shop-pg"]
    for j in range(o, min(b.T, o + d + b.m(2))):
        pg0.down.add(j)
    pg0.restarts.append(min(b.T - 1, o + d + b.m(2)))
    pg0.noserve = set(range(o + d, b.T))
    pg1.noserve = set(range(0, o + d))
    ts = b.ts[o]
    b.event(
        ts + b.step * 2,
        "shop-pg",
        "Unhealthy",
        "Readiness probe failed: pg_isready: /var/run/postgresql:5432 - no response",
        "pod/shop-pg-0",
        count=b.m(2) * 2 + 3,
        first=iso(ts + 5),
        node=pg0.node,
    )
    b.event(
        ts + b.step * 3,
        "shop-pg",
        "Killing",
        "Container postgres failed liveness probe, will be restarted",
        "pod/shop-pg-0",
        typ="Normal",
        node=pg0.node,
    )
    b.event(
        b.ts[min(b.T - 1, o + d)] - 5,
        "shop-pg",
        "FailingOver",
        "Current primary shop-pg-0 is not responding; promoting shop-pg-1",
        "cluster/shop-pg",
        source="cloudnative-pg",
    )
    b.event(
        b.ts[min(b.T - 1, o + d)] + 3,
        "shop-pg",
        "FailoverCompleted",
        "shop-pg-1 is the new primary",
        "cluster/shop-pg",
        typ="Normal",
        source="cloudnative-pg",
    )
    b.pg_gap = set(range(o, o + d))
    b.onset_i = o
    b.hot.add("shop-pg")
    b.truth = dict(kind="dependency_failure", service="shop-pg")
    b.page = dict(svc="edge-gateway", signal="errors")
    b.desc = "the shop-pg primary stops answering (I/O stall on its volume); every service that queries Postgres fails with connection refused until the operator promotes the replica"


def sc_f2(b):
    o = b.o
    b.tag(
        "paylane_503",
        code=503,
        client_text={
            "go": 'paylane: unexpected status 503 Service Unavailable from POST https://api.paylane.com/v1/payment_intents: {"error":{"type":"api_error","message":"upstream temporarily unavailable"}}'
        },
    )
    b.add_err(
        "paylane",
        b.trap(o, o + b.m(b.rng.uniform(16, 30)), b.rng.uniform(0.6, 0.9), up=2, down=2),
        "paylane_503",
    )
    b.add_fs("paylane", b.trap(o, None, 0.3, up=2), 2.0)
    if b.rng.random() < 0.6:
        b.extra_alerts.append(
            (
                "custom",
                lambda bb: make_alert(
                    bb,
                    {
                        "alertname": "ProbeFailure",
                        "job": "blackbox",
                        "instance": "https://status.paylane.com/api/v2/status.json",
                        "severity": "warning",
                        "team": "payments",
                    },
                    {
                        "summary": "Blackbox probe of the paylane status page reports a degraded component"
                    },
                    bb.ts[min(bb.T - 1, bb.o + bb.m(3))],
                    'probe_success{job="blackbox"} == 0',
                    "slack-payments",
                ),
                0,
            )
        )
    b.onset_i = o
    b.truth = dict(kind="dependency_failure", service="paylane")
    b.page = dict(svc="checkout", signal="errors")
    b.topology_required = True
    b.desc = "the paylane payment API (third party) returns 503 for most charges; payments returns 502 and checkout fails"


def sc_f3(b):
    o = b.o
    b.tag(
        "shipwise_429",
        code=429,
        client_text={
            "python": "httpx.HTTPStatusError: Client error '429 Too Many Requests' for url 'https://api.shipwise.io/v2/labels'"
        },
    )
    b.add_err("shipwise", b.trap(o, None, b.rng.uniform(0.7, 0.85), up=2), "shipwise_429")
    b.onset_i = o
    b.truth = dict(kind="dependency_failure", service="shipwise")
    b.page = dict(svc="fulfillment", signal="lag")
    b.topology_required = True
    b.desc = "the shipwise label API (third party) rate-limits us with 429; fulfillment cannot create labels and orders.v1 lag grows"


def sc_f4(b):
    o = b.o
    d = b.m(b.rng.uniform(3, 4.5))
    b.mul_lat("shop-redis", b.lat_from(b.trap(o, o + d, 1.0, up=1, down=0), 7000))
    rp = b.pods["shop-redis"][0]
    b.crash(
        rp,
        min(b.T - 1, o + d),
        "Error",
        137,
        "Container redis failed liveness probe and was killed",
        startup_s=15,
    )
    b.redis_gap = set(range(o, o + d))
    b.redis_miss = [
        0.07 if i < o + d else 0.07 + 0.6 * max(0.0, 1 - (i - o - d) / max(1, b.m(12)))
        for i in range(b.T)
    ]
    after = [0.0] * b.T
    for i in range(o + d, b.T):
        after[i] = max(0.0, 1 - (i - o - d) / max(1, b.m(12)))
    b.K.call_mult[("catalog", "shop-pg")] = [1 + 2.5 * x for x in after]
    b.event(
        b.ts[o] + b.step * 2,
        "shop-redis",
        "Unhealthy",
        "Liveness probe failed: Could not connect to Redis at localhost:6379: Connection timed out",
        "pod/shop-redis-0",
        count=6,
        first=iso(b.ts[o] + 20),
        node=rp.node,
    )
    b.event(
        b.ts[min(b.T - 1, o + d)],
        "shop-redis",
        "Killing",
        "Container redis failed liveness probe, will be restarted",
        "pod/shop-redis-0",
        typ="Normal",
        node=rp.node,
    )
    b.onset_i = o
    b.hot.add("shop-redis")
    b.truth = dict(kind="dependency_failure", service="shop-redis")
    b.page = dict(svc="edge-gateway", signal="errors")
    b.desc = "shop-redis stops answering (a fork for BGSAVE on a huge dataset stalls it) until its liveness probe restarts it; cart, catalog, account and recommend time out on Redis; afterwards a cold cache loads shop-pg"


def sc_f5(b):
    o = b.o
    d = b.m(b.rng.uniform(6, 10))
    ks = b.pods["events-kafka"]
    for p in ks[1:]:
        for j in range(o, min(b.T, o + d)):
            p.noserve.add(j)
        b.event(
            b.ts[o] + b.step,
            "events-kafka",
            "Unhealthy",
            "Readiness probe failed: broker not in ISR for 12 partitions",
            f"pod/{p.name}",
            count=b.m(3),
            first=iso(b.ts[o] + 10),
            node=p.node,
        )
    b.kafka_brokers = [1 if o <= i < o + d else 3 for i in range(b.T)]
    b.tag("kafka_nl", dur=5.0)
    b.add_err("events-kafka", b.trap(o, o + d, b.rng.uniform(0.6, 0.85), up=1, down=1), "kafka_nl")
    b.onset_i = o
    b.hot.add("events-kafka")
    b.truth = dict(kind="dependency_failure", service="events-kafka")
    b.page = dict(svc="checkout", signal="errors")
    b.desc = "two of three events-kafka brokers lose the controller quorum; partitions go offline and checkout's synchronous publish to orders.v1 times out"


def sc_n1(b):
    o = b.o
    tr = b.trap(o, None, 1.0, up=2)
    b.K.edge_fs[("inventory", "shop-pg")] = ([0.35 * x for x in tr], 0.9)
    b.K.edge_lat[("inventory", "shop-pg")] = [0.004 * x for x in tr]
    b.edge_err("inventory", "shop-pg", [0.01 * x for x in tr], "reset")
    b.onset_i = o
    b.hot.add("inventory")
    b.truth = dict(kind="network", service="inventory")
    b.page = dict(svc="partner-api", signal="latency", ratio=1.4)
    b.desc = "packet loss on the path from the inventory pods to Postgres (a bad ENI on their node group): TCP retransmits add ~1s to a third of inventory's queries; other Postgres clients are fine"


def sc_n2(b):
    o = b.o
    tr = b.trap(o, None, 1.0, up=2)
    b.K.edge_lat[("*", "pricing")] = [0.09 * x for x in tr]
    b.K.edge_fs[("*", "pricing")] = ([0.25 * x for x in tr], 0.8)
    b.onset_i = o
    b.hot.add("pricing")
    b.truth = dict(kind="network", service="pricing")
    b.page = dict(svc="app-bff", signal="errors")
    b.desc = "network latency on the way into the pricing pods (conntrack table full on their node): callers see slow and timed-out GetPrice calls while pricing's own server durations stay flat"


def sc_n3(b):
    o = b.o
    tr = b.trap(o, None, 1.0, up=2)
    for callee in DEPS["web-bff"]:
        b.edge_err("web-bff", callee, [0.06 * x for x in tr], "dns")
        b.K.edge_fs[("web-bff", callee)] = ([0.12 * x for x in tr], 2.5)
    b.onset_i = o
    b.hot.add("web-bff")
    b.truth = dict(kind="network", service="web-bff")
    b.page = dict(svc="edge-gateway", signal="latency", ratio=1.3)
    b.desc = "web-bff's DNS lookups time out intermittently (ndots:5 plus a saturated node-local DNS cache): getaddrinfo EAI_AGAIN after 5s on some calls; app-bff is unaffected"


def sc_s1(b):
    o = b.o
    b.rate_mult(
        "edge-gateway", [1 + 3.5 * x for x in b.trap(o, None, 1.0, up=3)], op="GET /web/{path}"
    )
    for k in range(6):
        b.extra_logs.append(
            (
                b.ts[min(b.T - 1, o + k * b.m(1.5))] + 5,
                "edge-gateway",
                None,
                "warn",
                "high request rate from single ASN",
                {
                    "asn": "AS14061",
                    "rps": b.rng.randint(300, 700),
                    "user_agent": "Mozilla/5.0 (compatible; PriceBot/2.1)",
                },
                None,
            )
        )
    b.onset_i = o
    b.hot.add("edge-gateway")
    b.truth = dict(kind="traffic_surge", service="edge-gateway")
    b.page = dict(svc="edge-gateway", signal="latency", ratio=1.35)
    b.desc = "a scraper floods edge-gateway with product page requests (x4 web GETs); web-bff and catalog saturate"


def sc_s2(b):
    o = b.o
    b.rho["inventory"] = 0.32
    b.rate_mult(
        "partner-api", [1 + 7 * x for x in b.trap(o, None, 1.0, up=2)], op="GET /partner/v1/stock"
    )
    b.partner_bursts = False
    b.onset_i = o
    b.hot.add("partner-api")
    b.truth = dict(kind="traffic_surge", service="partner-api")
    b.page = dict(svc="checkout", signal="errors")
    b.desc = "a partner starts a full stock re-sync through partner-api (x8 stock calls); inventory saturates and checkout's Reserve calls fail"


def sc_s3(b):
    o = b.o
    tr = b.trap(o, None, 1.0, up=2)
    b.rate_mult("edge-gateway", [1 + 2.8 * x for x in tr], op="GET /app/{path}")
    b.rate_mult("edge-gateway", [1 + 2.0 * x for x in tr], op="POST /app/{path}")
    b.onset_i = o
    b.hot.add("edge-gateway")
    b.truth = dict(kind="traffic_surge", service="edge-gateway")
    b.page = dict(svc="app-bff", signal="latency", ratio=1.35)
    b.desc = "a push campaign brings mobile traffic x3.5 through edge-gateway within two minutes; app-bff runs out of CPU"


def sc_e1(b):
    o = b.o
    b.edge_err("payments", "paylane", b.trap(o, None, 1.0, up=0), "tls")
    not_after = iso(b.ts[o] - b.rng.randint(1, 50))
    for mins in (b.rng.uniform(30, 45), b.rng.uniform(8, 15)):
        t = b.ts[max(0, o - b.m(mins))] + b.rng.uniform(0, b.step)
        b.extra_logs.append(
            (
                t,
                "payments",
                None,
                "warn",
                "client certificate expires soon",
                {
                    "subject": "CN=payments.acme-shop,O=acme-shop",
                    "issuer": "CN=Paylane Partner CA G2",
                    "not_after": not_after,
                    "caller": "paylane/tls.go:48",
                },
                None,
            )
        )
    b.onset_i = o
    b.hot.add("payments")
    b.keep_logs.add("payments")
    b.truth = dict(kind="certificate_expiry", service="payments")
    b.page = dict(svc="checkout", signal="errors")
    b.desc = "the mTLS client certificate payments presents to paylane expires (it is not managed by cert-manager); every charge fails the TLS handshake"


def sc_e2(b):
    o = b.o
    b.edge_err("*", "inventory", b.trap(o, None, 1.0, up=0), "tls_server")
    b.cert_override["inventory-grpc-tls"] = b.ts[o] - b.rng.randint(1, 40)
    b.cert_metrics = True
    b.event(
        b.ts[max(0, o - b.m(20))],
        "inventory",
        "Failed",
        'The certificate request has failed to complete and will be retried: issuer "shop-internal-ca" is not ready: secret "shop-internal-ca-key" not found',
        "certificate/inventory-grpc-tls",
        count=b.rng.randint(30, 90),
        first=iso(b.t0 - b.rng.randint(3, 9) * 86400),
        source="cert-manager-certificates-issuing",
    )
    b.onset_i = o
    b.hot.add("inventory")
    b.truth = dict(kind="certificate_expiry", service="inventory")
    b.page = dict(svc="edge-gateway", signal="errors")
    b.desc = "inventory's gRPC serving certificate expires (cert-manager renewal has been failing for days); callers fail the TLS handshake; inventory's own metrics simply go quiet"


def sc_x1(b):
    o = b.o
    exc = java_stack(
        "java.lang.IllegalStateException: Order total mismatch: quote total 129900 does not match cart total 1299.00",
        [
            "com.acme.checkout.service.CheckoutService.verifyTotals(CheckoutService.java:233)",
            "com.acme.checkout.service.CheckoutService.placeOrder(CheckoutService.java:151)",
            "com.acme.checkout.api.CheckoutController.create(CheckoutController.java:57)",
        ]
        + SPRING_TAIL,
    )
    b.tag(
        "total_mismatch",
        code=500,
        etype="java.lang.IllegalStateException",
        log_msg="Checkout failed: order total mismatch between pricing quote and cart",
        exc=exc,
        span_msg="Order total mismatch: quote total 129900 does not match cart total 1299.00",
    )
    b.add_err("checkout", b.trap(o, None, b.rng.uniform(0.3, 0.45), up=1), "total_mismatch")
    b.extra_logs.append(
        (
            b.ts[o] - 20,
            "pricing",
            None,
            "info",
            "Loaded 1284 price rules (ruleset 2025.06-b)",
            {},
            None,
        )
    )
    b.onset_i = o
    b.hot.update({"pricing", "checkout"})
    b.truth = dict(kind="code_defect", service="pricing")
    b.match_service = True
    b.page = dict(svc="checkout", signal="errors")
    b.desc = "pricing starts returning some quote totals in minor units (cents) after loading a new rule set; pricing answers 200/OK, checkout rejects the orders with 500"


def sc_x2(b):
    o = b.o
    exc = java_stack(
        "java.lang.IndexOutOfBoundsException: Index 0 out of bounds for length 0",
        [
            "java.base/jdk.internal.util.Preconditions.outOfBounds(Preconditions.java:100)",
            "java.base/java.util.ArrayList.get(ArrayList.java:427)",
            "com.acme.catalog.mapper.VariantMapper.defaultVariant(VariantMapper.java:52)",
            "com.acme.catalog.service.ProductService.get(ProductService.java:64)",
            "com.acme.catalog.api.ProductController.get(ProductController.java:39)",
        ]
        + SPRING_TAIL,
    )
    b.tag(
        "variant_idx",
        code=500,
        etype="java.lang.IndexOutOfBoundsException",
        log_msg="Request processing failed: java.lang.IndexOutOfBoundsException: Index 0 out of bounds for length 0",
        exc=exc,
    )
    b.add_err(
        "catalog",
        b.trap(o, None, b.rng.uniform(0.12, 0.18), up=2),
        "variant_idx",
        op="GET /products/{id}",
    )
    b.onset_i = o
    b.hot.add("catalog")
    b.truth = dict(kind="code_defect", service="catalog")
    b.match_service = True
    b.page = dict(svc="app-bff", signal="errors")
    b.desc = "products imported without variants make catalog's VariantMapper throw IndexOutOfBoundsException on their pages (no deploy, a latent bug hit by new data)"


def sc_x3(b):
    o = b.o
    exc = java_stack(
        'java.lang.NullPointerException: Cannot invoke "com.acme.checkout.model.LoyaltyTier.discountRate()" because the return value of "com.acme.checkout.client.AccountProfile.loyaltyTier()" is null',
        [
            "com.acme.checkout.service.LoyaltyDiscounts.apply(LoyaltyDiscounts.java:31)",
            "com.acme.checkout.service.CheckoutService.placeOrder(CheckoutService.java:147)",
            "com.acme.checkout.api.CheckoutController.create(CheckoutController.java:57)",
        ]
        + SPRING_TAIL,
    )
    b.tag(
        "loyalty_npe",
        code=500,
        etype="java.lang.NullPointerException",
        log_msg="Servlet.service() for servlet [dispatcherServlet] threw exception [Request processing failed: java.lang.NullPointerException] with root cause",
        exc=exc,
    )
    b.add_err("checkout", b.trap(o, None, b.rng.uniform(0.35, 0.5), up=1), "loyalty_npe")
    b.extra_logs.append(
        (
            b.ts[o] - 35,
            "account",
            None,
            "info",
            "loyalty.tier_cache_rebuilt",
            {"customers": 184220, "tiers_missing": 61877},
            None,
        )
    )
    b.onset_i = o
    b.hot.update({"account", "checkout"})
    b.truth = dict(kind="code_defect", service="account")
    b.match_service = True
    b.page = dict(svc="checkout", signal="errors")
    b.desc = "account's profile endpoint returns loyalty_tier: null for a third of customers after a cache rebuild; account answers 200, checkout throws NullPointerException"


def sc_x4(b):
    o = b.o
    tb = py_tb(
        [
            (
                "/usr/local/lib/python3.12/site-packages/starlette/routing.py",
                74,
                "app",
                "response = await func(request)",
            ),
            (
                "/app/partner_api/routes/orders.py",
                88,
                "create_order",
                'warehouse = payload["fulfilment"]["warehouse_id"]',
            ),
        ],
        "KeyError: 'warehouse_id'",
    )
    b.tag(
        "keyerror",
        code=500,
        etype="KeyError",
        log_msg="Exception in ASGI application",
        exc=tb,
        span_msg="KeyError: 'warehouse_id'",
    )
    b.add_err(
        "partner-api",
        b.trap(o, None, b.rng.uniform(0.5, 0.7), up=1),
        "keyerror",
        op="POST /partner/v1/orders",
    )
    b.add_err("partner-api", b.trap(o, None, 0.12, up=1), "keyerror", op="GET /partner/v1/stock")
    b.onset_i = o
    b.hot.add("partner-api")
    b.truth = dict(kind="code_defect", service="partner-api")
    b.match_service = True
    b.page = dict(svc="partner-api", signal="errors")
    b.desc = "a partner starts sending orders with the warehouse under a new key; partner-api raises KeyError (500)"


def sc_x5(b):
    o = b.o
    st = node_stack(
        "TypeError: Cannot read properties of undefined (reading 'amount')",
        [
            "formatPrice (/app/dist/lib/price.js:12:23)",
            "/app/dist/routes/feed.js:58:31",
            "Array.map (<anonymous>)",
            "renderFeed (/app/dist/routes/feed.js:51:22)",
            "async Object.handler (/app/dist/routes/feed.js:19:5)",
        ],
    )
    b.tag("feed_typeerror", code=500, etype="TypeError", log_msg="request errored", exc=st)
    b.add_err(
        "app-bff",
        b.trap(o, None, b.rng.uniform(0.22, 0.32), up=1),
        "feed_typeerror",
        op="GET /v2/feed",
    )
    b.onset_i = o
    b.hot.add("app-bff")
    b.truth = dict(kind="code_defect", service="app-bff")
    b.match_service = True
    b.page = dict(svc="edge-gateway", signal="errors")
    b.desc = "app-bff's feed renderer throws TypeError on promoted products without a price block; web-bff renders the same data without error"


def sc_u1(b):
    o = b.o
    b.add_fs("edge-gateway", b.trap(o, o + b.m(3), 0.3, up=1, down=1), 1.8)
    b.onset_i = o
    b.hot.add("edge-gateway")
    b.truth = dict(kind="unknown", service="edge-gateway")
    b.page = dict(svc="edge-gateway", signal="latency", ratio=1.3)
    b.desc = "three minutes of stalls at edge-gateway with no change, event or saturation to explain them; it recovers by itself"


def sc_u2(b):
    o = b.o
    b.add_err("checkout", b.trap(o, o + b.m(2.5), b.rng.uniform(0.08, 0.14), up=1, down=1), "bg")
    if b.noisy_node is None:
        b.noisy_node = b.rng.choice(b.nodes)
    b.onset_i = o
    b.hot.add("checkout")
    b.truth = dict(kind="unknown", service="checkout")
    b.page = dict(svc="checkout", signal="errors")
    b.desc = "a two-minute burst of generic 500s at checkout, no change and no failing dependency; a busy node elsewhere is unrelated"


def sc_u3(b):
    o = b.o
    b.add_fs("catalog", b.trap(o, o + b.m(3), 0.35, up=1, down=1), 0.9)
    b.onset_i = o
    b.hot.add("catalog")
    b.truth = dict(kind="unknown", service="catalog")
    b.page = dict(svc="catalog", signal="latency", ratio=1.4)
    b.desc = "catalog latency blip for three minutes with nothing to explain it"


SCENARIOS = [
    dict(key="d1", fn=sc_d1),
    dict(key="d2", fn=sc_d2),
    dict(key="d3", fn=sc_d3),
    dict(key="d4", fn=sc_d4),
    dict(key="d5", fn=sc_d5),
    dict(key="d6", fn=sc_d6),
    dict(key="c1", fn=sc_c1),
    dict(key="c2", fn=sc_c2),
    dict(key="c3", fn=sc_c3),
    dict(key="c4", fn=sc_c4),
    dict(key="r1", fn=sc_r1),
    dict(key="r2", fn=sc_r2),
    dict(key="r3", fn=sc_r3),
    dict(key="r4", fn=sc_r4),
    dict(key="r5", fn=sc_r5),
    dict(key="k1", fn=sc_k1),
    dict(key="k2", fn=sc_k2),
    dict(key="k3", fn=sc_k3),
    dict(key="k4", fn=sc_k4),
    dict(key="f1", fn=sc_f1),
    dict(key="f2", fn=sc_f2),
    dict(key="f3", fn=sc_f3),
    dict(key="f4", fn=sc_f4),
    dict(key="f5", fn=sc_f5),
    dict(key="n1", fn=sc_n1),
    dict(key="n2", fn=sc_n2),
    dict(key="n3", fn=sc_n3),
    dict(key="s1", fn=sc_s1),
    dict(key="s2", fn=sc_s2),
    dict(key="s3", fn=sc_s3),
    dict(key="e1", fn=sc_e1),
    dict(key="e2", fn=sc_e2),
    dict(key="x1", fn=sc_x1),
    dict(key="x2", fn=sc_x2),
    dict(key="x3", fn=sc_x3),
    dict(key="x4", fn=sc_x4),
    dict(key="x5", fn=sc_x5),
    dict(key="u1", fn=sc_u1),
    dict(key="u2", fn=sc_u2),
    dict(key="u3", fn=sc_u3),
]
assert len(SCENARIOS) == N_BUNDLES


# --------------------------------------------------------------------------- writing a bundle


def build(
    idx, seed, scen, outdir, with_topology, base_day, rename=False, otlp=False, verbose=False
):
    b = Bundle(idx, seed, scen, base_day, rename, otlp)
    scen["fn"](b)
    if b.onset_i is None:
        b.onset_i = b.o
    for c in b.changes:
        if "{v}" in c["summary"]:
            c["summary"] = c["summary"].replace("{v}", c.get("version", ""))
    confounders(b)
    for c in b.changes:
        if "{v}" in c["summary"]:
            c["summary"] = c["summary"].replace("{v}", c.get("version", ""))
    b.topology = with_topology or getattr(b, "topology_required", False)
    crash_events(b)
    sim = Sim(b)
    sim.run()
    page_i, info = page_index(b, sim)
    d = os.path.join(outdir, b.name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    em = Emitter(b, sim)
    em.run()
    write_metrics(b, em.files(), d)
    tr = Tracer(b, sim)
    tr.run()
    tr.write(d)
    lg = Logger(b, sim, tr)
    lg.run()
    lg.write(d)
    write_events(b, d)
    changes = [
        c
        for c in b.changes
        if b.t0 <= datetime.fromisoformat(c["ts"].replace("Z", "+00:00")).timestamp() <= b.end_ts
    ]
    changes.sort(key=lambda c: c["ts"])
    with open(os.path.join(d, "changes.json"), "w") as f:
        json.dump(changes, f, indent=1)
    alerts, page = build_alerts(b, sim, page_i)
    with open(os.path.join(d, "alerts.json"), "w") as f:
        json.dump(alerts, f, indent=1)
    if b.topology:
        with open(os.path.join(d, "topology.yaml"), "w") as f:
            yaml.safe_dump(topology(b), f, sort_keys=False)
    summ = page["annotations"].get("summary", page["labels"]["alertname"])
    inc = 3000 + (int(hashlib.sha1(f"{seed}:{idx}".encode()).hexdigest()[:6], 16) % 6000)
    meta = {
        "id": b.name,
        "title": f"INC-{inc}: {page['labels']['alertname']} - {summ}",
        "window": {"start": iso(b.ts[0]), "end": iso(b.end_ts)},
        "focus_alert": page["fingerprint"],
        "format_version": 1,
    }
    if b.notes:
        meta["notes"] = b.notes
    meta["traces"] = {
        "file": "traces/spans.jsonl",
        "sampling": "Tempo search around the incident: tail sampling keeps every trace with an error span and traces slower than 1.5s; others head-sampled at 5%, capped by the capture",
        "from": iso(b.ts[tr.lo]),
    }
    with open(os.path.join(d, "bundle.yaml"), "w") as f:
        yaml.safe_dump(meta, f, sort_keys=False, width=1000)
    truth = {"root_cause": {k: v for k, v in b.truth.items() if v is not None}}
    if b.match_service:
        truth["match"] = "service"
    with open(os.path.join(d, "truth.yaml"), "w") as f:
        yaml.safe_dump(truth, f, sort_keys=False)
    ps = (
        page["labels"].get("service_name")
        or page["labels"].get("pod")
        or page["labels"].get("job")
        or b.page["svc"]
    )
    entry = {
        "bundle": b.name,
        "truth": truth,
        "description": b.desc,
        "onset": iso(b.ts[b.onset_i]),
        "page_service": b.page["svc"],
    }
    if verbose:
        print(
            f"{b.name} {scen['key']:>3} {b.truth['kind']:<20} {b.truth['service']:<13} page={b.page['svc']}/{b.page['signal']} T={b.T}x{b.step}s onset={b.onset_i} page_i={page_i} {info} topo={b.topology} spans={len(tr.spans)} logs={sum(len(v) for v in lg.lines.values())}",
            file=sys.stderr,
        )
    del ps
    return entry


def _build_job(job):
    idx, seed, k, out, topo, base_day, rename, otlp, verbose = job
    return build(idx, seed, SCENARIOS[k], out, topo, base_day, rename, otlp, verbose)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--out", required=True, help="directory to write the bundles and MANIFEST.yaml into"
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only", default=None, help="comma-separated scenario keys (debugging)")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--jobs", type=int, default=0, help="worker processes (default: one per CPU)")
    args = ap.parse_args(argv)
    t_start = time.time()
    os.makedirs(args.out, exist_ok=True)
    rng = random.Random(f"otel-shop-order:{args.seed}")
    order = list(range(N_BUNDLES))
    rng.shuffle(order)
    no_topo = set(rng.sample(range(N_BUNDLES), 13))
    rename = set(rng.sample(sorted(set(range(N_BUNDLES)) - no_topo), 2))
    otlp = set(rng.sample(range(N_BUNDLES), 10))
    base_day = int(datetime(2025, 2, 3, tzinfo=timezone.utc).timestamp())
    base_day += rng.randrange(0, 60) * 86400
    only = set(args.only.split(",")) if args.only else None
    jobs = []
    for idx, k in enumerate(order):
        scen = SCENARIOS[k]
        if only and scen["key"] not in only:
            continue
        jobs.append(
            (
                idx,
                args.seed,
                k,
                args.out,
                idx not in no_topo,
                base_day,
                idx in rename,
                idx in otlp,
                args.verbose,
            )
        )
    workers = max(1, min(args.jobs or (os.cpu_count() or 1), len(jobs)))
    if workers > 1:
        # every bundle has its own seeded generators, so the result does not depend on the worker count
        with concurrent.futures.ProcessPoolExecutor(max_workers=workers) as ex:
            manifest = list(ex.map(_build_job, jobs))
    else:
        manifest = [_build_job(j) for j in jobs]
    with open(os.path.join(args.out, "MANIFEST.yaml"), "w") as f:
        yaml.safe_dump(manifest, f, sort_keys=False, width=1000)
    print(f"wrote {len(manifest)} bundles to {args.out} in {time.time() - t_start:.1f}s")


if __name__ == "__main__":
    main()
