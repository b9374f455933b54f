#!/usr/bin/env python3
"""Blind incident-bundle generator (incident bundle v1).

Written from the public bundle contract only (DESIGN.md, docs/bundle-format.md),
without looking at the triage engine.  Each bundle is produced by simulating a
small service graph tick by tick (demand flows down the call graph, errors and
latency flow back up, pods restart, pools fill, queues back up) and then
rendering that latent state through the telemetry vocabulary of one of several
"house stacks" (kube-prometheus, Datadog, OpenTelemetry, CloudWatch/YACE, Istio,
bare VMs with node_exporter and HAProxy).

    python gen.py --out DIR --seed N

stdlib + PyYAML only, deterministic for a given seed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import shutil
import sys
import urllib.parse
from datetime import datetime, timedelta, timezone

import yaml

# --------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------


def clamp(x, lo=0.0, hi=1.0):
    return lo if x < lo else hi if x > hi else x


def sub_rng(rng: random.Random, tag: str) -> random.Random:
    return random.Random(int(hashlib.sha256(f"{rng.random()}:{tag}".encode()).hexdigest()[:16], 16))


def seeded(*parts) -> random.Random:
    return random.Random(
        int(hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:16], 16)
    )


def hexid(rng, n):
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def alnum(rng, n, alphabet="bcdfghjklmnpqrstvwxz2456789"):
    return "".join(rng.choice(alphabet) for _ in range(n))


def poisson(rng, lam):
    if lam <= 0:
        return 0
    if lam > 40:
        return max(0, int(round(rng.gauss(lam, math.sqrt(lam)))))
    L, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= L:
            return k
        k += 1


def iso(ts: float, frac=3, z=True):
    d = datetime.fromtimestamp(ts, tz=timezone.utc)
    s = d.strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        s += "." + d.strftime("%f")[:frac]
    return s + ("Z" if z else "+00:00")


def iso_nanos(ts: float, rng=None):
    d = datetime.fromtimestamp(ts, tz=timezone.utc)
    ns = int(round((ts - math.floor(ts)) * 1e9))
    if rng:
        ns = (ns // 1000) * 1000 + rng.randrange(1000)
    ns = min(ns, 999999999)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ns:09d}Z"


def fmtv(v):
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if math.isnan(v):
        return "NaN"
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    a = abs(v)
    if a >= 1e-3:
        s = "%.6f" % v
    else:
        s = "%.12f" % v
    s = s.rstrip("0").rstrip(".")
    return s if s not in ("", "-0") else "0"


def fingerprint(labels: dict) -> str:
    s = "\xff".join(f"{k}\xfe{labels[k]}" for k in sorted(labels))
    return hashlib.sha256(s.encode()).hexdigest()[:16]


def smooth(arr, w):
    """trailing moving average (what rate(x[w]) does to a step series)."""
    if w <= 1:
        return list(arr)
    out, acc, q = [], 0.0, []
    for v in arr:
        q.append(v)
        acc += v
        if len(q) > w:
            acc -= q.pop(0)
        out.append(acc / len(q))
    return out


def noisy(arr, rng, sigma=0.05, floor=None):
    out = []
    for v in arr:
        if v is None:
            out.append(None)
            continue
        x = v * math.exp(rng.gauss(0, sigma))
        if floor is not None:
            x = max(floor, x)
        out.append(x)
    return out


def walk(rng, T, sigma=0.01, revert=0.05):
    x, out = 0.0, []
    for _ in range(T):
        x += rng.gauss(0, sigma) - revert * x
        out.append(x)
    return out


def ramp_val(i, t0, t1, v0, v1):
    if i <= t0:
        return v0
    if i >= t1:
        return v1
    return v0 + (v1 - v0) * (i - t0) / max(1, (t1 - t0))


# --------------------------------------------------------------------------------------
# systems (topologies).  DSL: name kind runtime replicas | dep:calls:crit[:opts]
# opts: t=TLS, rN=retries, toMS=client timeout, c=consumes (queue), s=SQL pool
# --------------------------------------------------------------------------------------

SYSTEMS = {
    "shop": dict(
        stack="kubeprom",
        ns="shop",
        nodes="eks",
        tz=-5,
        entry_rps=(260, 520),
        traces="native",
        events=True,
        logfmt={
            "jvm": "logback",
            "node": "pino",
            "go": "zap",
            "python": "structlog",
            "dotnet": "ecs",
        },
        spec="""
ingress-nginx   lb       nginx     3 | storefront:1:1:to30000 api-gateway:0.5:1:to30000
storefront      edge     node      6 | api-gateway:2.2:1:r1:to10000 recommendations:0.8:0.05:to800
api-gateway     app      go        4 | catalog:1.1:1:to5000 cart:0.5:1:to5000 checkout:0.08:1:to15000 user-profile:0.6:0.8:to3000 search:0.35:1:to5000
catalog         app      go        4 | catalog-db:1.6:1:s redis-cache:2.5:0.3:to200
search          app      jvm       3 | elasticsearch:1:1:to3000
cart            app      dotnet    3 | redis-cart:2:1:to500 pricing:1:1:to2000
checkout        app      jvm       4 | cart:1:1:to3000 payments:1:1:to20000 inventory:1.5:1:to3000 orders-db:3:1:s kafka:1:0.5:to2000 shipping:0.5:0.7:to3000
payments        app      jvm       3 | stripe:1:1:t:r2:to15000 orders-db:2:1:s
pricing         app      python    3 | catalog-db:1:1:s redis-cache:1:0.4:to200
inventory       app      go        3 | orders-db:2:1:s
user-profile    app      go        2 | orders-db:1:1:s redis-cache:1:0.3:to200
shipping        app      python    2 | carrier-api:1:1:t:to4000
recommendations app      python    2 | redis-cache:3:1:to200
notifications   worker   node      2 | kafka:1:1:c sendgrid:1:1:t
orders-db       db       postgres  1
catalog-db      db       mysql     1
redis-cart      cache    redis     1
redis-cache     cache    redis     1
elasticsearch   db       elastic   3
kafka           queue    kafka     3
stripe          external ext       0
carrier-api     external ext       0
sendgrid        external ext       0
""",
    ),
    "payplat": dict(
        stack="otel",
        ns="payplat",
        nodes="gke",
        tz=1,
        entry_rps=(120, 260),
        traces="otel",
        events=True,
        logfmt={
            "jvm": "logback",
            "node": "pino",
            "go": "zap",
            "python": "structlog",
            "dotnet": "ecs",
        },
        spec="""
edge-proxy      lb       envoy     3 | merchant-api:1:1:to15000
merchant-api    edge     go        4 | auth:1:1:r1:to2000 payments-core:0.35:1:to12000 merchants:0.7:1:to3000
auth            app      go        3 | redis-sessions:1:1:to300 idp:0.06:1:t:r3:to2000
payments-core   app      jvm       4 | risk-scoring:1:1:to1500 ledger:1:1:to4000 fx-rates:0.3:0.8:to1000 acquirer-gw:1:1:t:to9000 rabbitmq:1:0.3:to1000
risk-scoring    app      python    3 | redis-features:3:0.5:to100
ledger          app      jvm       3 | pg-ledger:4:1:s
fx-rates        app      node      2 | fx-provider:0.1:1:t:to2000
merchants       app      dotnet    2 | pg-ledger:1:1:s
payout-worker   worker   jvm       2 | rabbitmq:1:1:c ledger:1:1:to4000 acquirer-gw:1:1:t:to9000
pg-ledger       db       postgres  1
redis-sessions  cache    redis     1
redis-features  cache    redis     1
rabbitmq        queue    rabbitmq  1
acquirer-gw     external ext       0
idp             external ext       0
fx-provider     external ext       0
""",
    ),
    "stream": dict(
        stack="datadog",
        ns="streaming",
        nodes="eks",
        tz=0,
        entry_rps=(400, 900),
        traces="datadog",
        events=True,
        logfmt={
            "jvm": "logback",
            "node": "pino",
            "go": "zap",
            "python": "structlog",
            "dotnet": "ecs",
        },
        spec="""
api             edge     node      6 | entitlements:1:1:to3000 playback:0.4:1:to5000 catalog-svc:1.4:1:to3000 user-svc:1:1:to3000
playback        app      go        4 | entitlements:1:1:to2000 cdn-token:1:1:to1000 kafka-events:1:0.2:to1000
entitlements    app      jvm       3 | mongo-users:2:1:to2000 memcached:2:0.3:to100 billing-api:0.05:1:t:to3000
catalog-svc     app      python    3 | memcached:3:0.3:to100 catalog-pg:1.2:1:s
user-svc        app      go        3 | mongo-users:1:1:to2000
cdn-token       app      go        2
recs-worker     worker   python    2 | kafka-events:1:1:c catalog-svc:1:1:to3000
mongo-users     db       mongo     3
catalog-pg      db       rds-postgres 1
memcached       cache    memcached 2
kafka-events    queue    kafka     3
billing-api     external ext       0
""",
    ),
    "logistics": dict(
        stack="cloudwatch",
        ns="logistics",
        nodes="ecs",
        tz=-8,
        entry_rps=(90, 200),
        traces="jaeger",
        events=False,
        logfmt={
            "jvm": "logback",
            "node": "pino",
            "go": "zap",
            "python": "structlog",
            "lambda": "lambda",
        },
        spec="""
public-alb      lb       alb       0 | tracking-api:1:1:to60000 driver-bff:0.7:1:to60000
tracking-api    edge     python    4 | rds-tracking:2:1:s elasticache:2:0.5:to250 geo-svc:0.4:1:to3000
driver-bff      edge     node      3 | dispatch:1:1:to8000 geo-svc:1:1:to3000
dispatch        app      jvm       3 | routing-engine:1:1:to6000 rds-tracking:2:1:s sqs-dispatch:1:1:to2000
routing-engine  app      jvm       3 | maps-provider:2:1:t:r1:to4000 elasticache:1:0.5:to250
geo-svc         app      go        2 | lambda-geocoder:0.4:1:to6000 elasticache:1:0.5:to250
lambda-geocoder app      lambda    0 | maps-provider:1:1:t:to5000
notifier-worker worker   node      2 | sqs-dispatch:1:1:c sms-provider:1:1:t:to5000
rds-tracking    db       rds-mysql 1
elasticache     cache    redis     1
sqs-dispatch    queue    sqs       0
maps-provider   external ext       0
sms-provider    external ext       0
""",
    ),
    "saas": dict(
        stack="micrometer",
        ns="saas",
        nodes="aks",
        tz=1,
        entry_rps=(150, 320),
        traces=None,
        events=True,
        logfmt={
            "jvm": "docker-spring",
            "node": "pino",
            "go": "logfmt",
            "python": "structlog",
            "dotnet": "ecs",
        },
        spec="""
traefik         lb       traefik   2 | portal-bff:1:1:to30000 public-api:0.6:1:to30000
portal-bff      edge     node      3 | identity:1:1:to3000 tenants:1:1:to3000 documents:0.4:1:to10000 reports:0.05:1:to30000 billing:0.15:1:to5000
public-api      edge     dotnet    3 | identity:1:1:to3000 documents:1:1:to10000 tenants:0.5:1:to3000
identity        app      dotnet    3 | postgres-main:1:1:s redis:2:1:to300
tenants         app      jvm       2 | postgres-main:2:1:s redis:1:0.5:to300
billing         app      jvm       2 | postgres-main:2:1:s payment-provider:0.2:1:t:to8000
documents       app      jvm       3 | blob-gateway:1:1:to8000 postgres-main:1:1:s rabbitmq:0.5:0.3:to1000
reports         app      python    2 | postgres-main:5:1:s
search-indexer  worker   jvm       2 | rabbitmq:1:1:c opensearch:1:1:to5000
blob-gateway    app      go        2
postgres-main   db       postgres  1
redis           cache    redis     1
rabbitmq        queue    rabbitmq  1
opensearch      db       elastic   3
payment-provider external ext      0
""",
    ),
    "rides": dict(
        stack="istio",
        ns="rides",
        nodes="gke",
        tz=5.5,
        entry_rps=(500, 1100),
        traces="otel",
        events=True,
        logfmt={
            "jvm": "logback",
            "node": "pino",
            "go": "zap",
            "python": "structlog",
            "dotnet": "ecs",
        },
        spec="""
mobile-gateway  edge     go        6 | rider-api:0.6:1:to15000 driver-api:0.4:1:to15000
rider-api       app      jvm       6 | trips:1:1:to5000 pricing-engine:0.5:1:to3000 eta:1:0.8:to2000 promo:0.3:0.2:to800 payments-svc:0.1:1:to12000
driver-api      app      go        4 | location-ingest:4:0.5:to1000 trips:1:1:to5000 matching:0.5:1:to3000
matching        app      go        4 | redis-geo:5:1:to200 eta:2:1:to2000 trips:0.5:1:to5000
pricing-engine  app      python    3 | surge-calculator:1:1:to1000 redis-geo:1:0.5:to200 promo:0.5:0.4:to800
surge-calculator app     python    2 | redis-geo:2:1:to200
eta             app      go        4 | maps-adapter:1:1:to1500 redis-geo:1:0.5:to200
maps-adapter    app      go        2 | maps-api:1:1:t:to3000
trips           app      jvm       4 | trips-db:3:1:s kafka:1:0.5:to1000
payments-svc    app      jvm       3 | wallet:1:1:to3000 psp:1:1:t:r2:to10000 fraud:1:0.7:to1500
wallet          app      go        2 | trips-db:1:1:s
fraud           app      python    2 | redis-geo:1:0.5:to200
promo           app      node      2 | trips-db:1:1:s
location-ingest app      go        3 | kafka:1:1:to1000
notifications   worker   node      2 | kafka:1:1:c sms-gateway:1:1:t:to5000
trips-db        db       postgres  1
redis-geo       cache    redis     3
kafka           queue    kafka     3
maps-api        external ext       0
psp             external ext       0
sms-gateway     external ext       0
""",
    ),
    "small": dict(
        stack="vm",
        ns="prod",
        nodes="vm",
        tz=2,
        entry_rps=(40, 90),
        traces=None,
        events=False,
        logfmt={"python": "journald", "go": "journald"},
        spec="""
haproxy         lb       haproxy   2 | webapp:1:1:to30000
webapp          edge     python    4 | auth:1:1:to2000 postgres:4:1:s redis:3:0.5:to300
auth            app      go        2 | postgres:1:1:s redis:1:1:to300
worker          worker   python    2 | redis:1:1:c postgres:2:1:s mailgun:1:1:t:to10000
postgres        db       postgres  1
redis           cache    redis     1
mailgun         external ext       0
""",
    ),
}


class Dep:
    def __init__(self, target, calls, crit, opts):
        self.target, self.calls, self.crit = target, calls, crit
        self.tls = "t" in opts
        self.consume = "c" in opts
        self.sql = "s" in opts
        self.retries = 0
        self.timeout = None
        for o in opts:
            if o.startswith("r") and o[1:].isdigit():
                self.retries = int(o[1:])
            if o.startswith("to"):
                self.timeout = int(o[2:]) / 1000.0


class Svc:
    def __init__(self, name, kind, rt, replicas, deps):
        self.name, self.kind, self.rt, self.replicas, self.deps = name, kind, rt, replicas, deps
        self.callers = []


def parse_system(name):
    sd = SYSTEMS[name]
    svcs = {}
    for line in sd["spec"].strip().splitlines():
        left, _, right = line.partition("|")
        n, kind, rt, rep = left.split()
        deps = []
        for tok in right.split():
            p = tok.split(":")
            deps.append(Dep(p[0], float(p[1]), float(p[2]), p[3:]))
        svcs[n] = Svc(n, kind, rt, int(rep), deps)
    for s in svcs.values():
        for d in s.deps:
            svcs[d.target].callers.append((s.name, d))
    return svcs


# --------------------------------------------------------------------------------------
# the world: pods, knobs and the tick-by-tick simulation
# --------------------------------------------------------------------------------------

BASE_LAT = {
    "lb": 0.0009,
    "node": 0.012,
    "go": 0.006,
    "jvm": 0.016,
    "python": 0.028,
    "dotnet": 0.011,
    "postgres": 0.0025,
    "mysql": 0.003,
    "rds-postgres": 0.003,
    "rds-mysql": 0.0035,
    "mongo": 0.003,
    "redis": 0.0004,
    "memcached": 0.0003,
    "elastic": 0.018,
    "kafka": 0.004,
    "rabbitmq": 0.003,
    "sqs": 0.012,
    "ext": 0.2,
    "lambda": 0.09,
    "envoy": 0.0008,
    "nginx": 0.0008,
    "alb": 0.001,
    "traefik": 0.001,
    "haproxy": 0.0007,
}
MEM = {
    "jvm": (700, 2048),
    "node": (230, 768),
    "go": (90, 512),
    "python": (260, 1024),
    "dotnet": (300, 1024),
    "postgres": (2600, 8192),
    "mysql": (3000, 8192),
    "mongo": (3500, 8192),
    "redis": (900, 2048),
    "memcached": (700, 1536),
    "elastic": (5200, 8192),
    "kafka": (3200, 6144),
    "rabbitmq": (700, 2048),
    "envoy": (120, 512),
    "nginx": (180, 512),
    "traefik": (120, 512),
    "haproxy": (90, 512),
}
CPU_LIMIT = {
    "jvm": 2.0,
    "node": 1.0,
    "go": 1.0,
    "python": 1.0,
    "dotnet": 1.5,
    "postgres": 8.0,
    "mysql": 8.0,
    "mongo": 4.0,
    "redis": 1.0,
    "memcached": 2.0,
    "elastic": 4.0,
    "kafka": 4.0,
    "rabbitmq": 2.0,
    "envoy": 2.0,
    "nginx": 2.0,
    "traefik": 2.0,
    "haproxy": 2.0,
}
UTIL0 = {
    "lb": (0.08, 0.18),
    "edge": (0.25, 0.42),
    "app": (0.22, 0.45),
    "worker": (0.2, 0.4),
    "db": (0.18, 0.35),
    "cache": (0.08, 0.25),
    "queue": (0.1, 0.25),
    "external": (0.0, 0.0),
}

PODLESS_RT = {"ext", "alb", "sqs", "lambda", "rds-postgres", "rds-mysql"}


class Pod:
    def __init__(self, name, svc, version, node, start, end=None, ready_delay=1):
        self.name, self.svc, self.version, self.node = name, svc, version, node
        self.start, self.end, self.ready_delay = start, end, ready_delay
        self.crashes = []  # (tick, back_tick, reason, exit_code)
        self.mem = None
        self.leak = 0.0
        self.ip = None

    def alive(self, i):
        return self.start <= i and (self.end is None or i < self.end)

    def ready(self, i):
        if not self.alive(i) or i < self.start + self.ready_delay:
            return False
        for c, b, _r, _e in self.crashes:
            if c <= i < b:
                return False
        return True

    def restarts_before(self, i):
        return sum(1 for (c, _b, r, _e) in self.crashes if c <= i and r != "Deploy")


class World:
    def __init__(self, sysname, rng, T, step, start_ts, bundle_id):
        self.sysname, self.sd = sysname, SYSTEMS[sysname]
        self.rng, self.T, self.step, self.t0 = rng, T, step, start_ts
        self.id = bundle_id
        self.svcs = parse_system(sysname)
        self.ns = self.sd["ns"]
        self.stack = self.sd["stack"]
        self.kn = {}
        self.changes, self.alerts, self.events, self.spans = [], [], [], []
        self.logs = {}  # file stem -> list of dicts
        self.extra_warn = {}
        self.version_fx = {}  # (svc, version) -> dict(err=, latm=, cost=, callm={dep: x}, leak=)
        self.crash_plans = []  # dicts
        self.truth = None
        self.story = []
        self.focus = None
        self.notes = []
        self.topology_drop = set()
        self.hide = set()  # services without own telemetry
        self.sparse = set()  # services with only infra telemetry
        self.no_logs = set()
        _w_init_extras(self)
        self._setup_params()

    # ---- time -------------------------------------------------------------------
    def ts(self, i):
        return self.t0 + i * self.step

    def tick(self, minutes):
        return int(round(minutes * 60 / self.step))

    # ---- knobs ------------------------------------------------------------------
    DEFAULTS = {
        "ext": 1.0,
        "err": 0.0,
        "latm": 1.0,
        "lata": 0.0,
        "cost": 1.0,
        "cap": 1.0,
        "callm": 1.0,
        "neterr": 0.0,
        "netlat": 0.0,
        "netdrop": 0.0,
        "down": 0.0,
        "tls": 0.0,
        "pool": None,
        "timeout": None,
        "retries": None,
        "ratelimit": None,
        "cachehit": None,
        "blackhole": 0.0,
        "dnserr": 0.0,
        "hold": 0.0,
    }

    def K(self, name, key):
        k = (name, key)
        if k not in self.kn:
            self.kn[k] = [self.DEFAULTS[name]] * self.T
        return self.kn[k]

    def has(self, name, key):
        return (name, key) in self.kn

    def shape(self, name, key, t0, t1, v, mode="set", t2=None, t3=None, base=None):
        """ramp knob from its default to v over [t0,t1], hold, and (optionally) back over [t2,t3]."""
        arr = self.K(name, key)
        b = self.DEFAULTS[name] if base is None else base
        for i in range(max(0, t0), self.T):
            if t2 is not None and i >= t2:
                x = ramp_val(i, t2, t3 if t3 is not None else t2, v, b)
            else:
                x = ramp_val(i, t0, t1, b, v)
            if mode == "set":
                arr[i] = x
            elif mode == "mul":
                arr[i] = arr[i] * x
            elif mode == "add":
                arr[i] = arr[i] + x
        return arr

    # ---- parameters -------------------------------------------------------------
    def _setup_params(self):
        r = self.rng
        sd = self.sd
        self.order = self._topo_order()
        self.entries = [
            s for s in self.order if not self.svcs[s].callers and self.svcs[s].kind != "worker"
        ]
        tot = r.uniform(*sd["entry_rps"])
        shares = [r.uniform(0.6, 1.4) for _ in self.entries]
        self.base_entry = {s: tot * sh / sum(shares) for s, sh in zip(self.entries, shares)}
        self.P = {}
        for name in self.order:
            S = self.svcs[name]
            p = {}
            p["base_lat"] = BASE_LAT.get(S.rt if S.kind not in ("lb",) else "lb", 0.01) * r.uniform(
                0.7, 1.4
            )
            if S.kind == "external":
                p["base_lat"] = r.uniform(0.12, 0.38)
            p["p99f"] = r.uniform(3.0, 5.5)
            p["idle"] = r.uniform(0.02, 0.06) * max(1, S.replicas)
            p["limit"] = (
                CPU_LIMIT.get(S.rt, 1.0) * r.choice([0.5, 1, 1, 1, 1.5])
                if S.kind in ("app", "edge", "worker")
                else CPU_LIMIT.get(S.rt, 2.0)
            )
            p["util0"] = r.uniform(*UTIL0[S.kind])
            mb, lim = MEM.get(S.rt, (300, 1024))
            p["mem_base"] = mb * r.uniform(0.8, 1.2) * 2**20
            p["mem_limit"] = lim * 2**20
            p["version"] = self._initial_version(name)
            p["maxconn"] = r.choice([100, 200, 300, 500]) if S.kind == "db" else None
            p["err0"] = r.uniform(0.0001, 0.0009) if S.kind in ("app", "edge", "external") else 0.0
            self.P[name] = p
        for S in self.svcs.values():
            for d in S.deps:
                if d.sql:
                    self.P[S.name].setdefault("pool", {})[d.target] = r.choice(
                        [10, 10, 20, 20, 30, 40]
                    )
        # steady state demand (no faults) to size capacity
        dem = self._steady_demand()
        self.dem0 = dem
        for name, S in self.svcs.items():
            p = self.P[name]
            if S.kind == "external" or S.rt in ("sqs",):
                p["cap"], p["cost"] = 1e9, 0.0
                continue
            reps = max(1, S.replicas)
            p["cap"] = p["limit"] * reps
            if S.rt in ("rds-postgres", "rds-mysql"):
                p["cap"] = r.choice([4, 8, 16])
            if S.rt == "lambda":
                p["cap"] = 1000.0
            p["cost"] = p["util0"] * p["cap"] / max(dem.get(name, 1.0), 0.5)
        self.pools_ok()

    def pools_ok(self):
        # make sure the databases' max connections exceed the sum of client pools at baseline
        for name, S in self.svcs.items():
            if S.kind != "db":
                continue
            tot = 0
            for c, d in S.callers:
                if d.sql:
                    tot += self.P[c]["pool"][name] * max(1, self.svcs[c].replicas)
            if self.P[name]["maxconn"] and self.P[name]["maxconn"] < tot * 1.15:
                self.P[name]["maxconn"] = int(math.ceil(tot * 1.3 / 50.0) * 50)

    def _topo_order(self):
        seen, out = set(), []

        def visit(n):
            if n in seen:
                return
            seen.add(n)
            for c, _ in sorted(self.svcs[n].callers):
                visit(c)
            out.append(n)

        for n in self.svcs:
            visit(n)
        return out  # callers before callees

    def _steady_demand(self):
        dem = {}
        produced = {}
        for s in self.order:
            S = self.svcs[s]
            if s in self.entries:
                dem[s] = self.base_entry[s]
            elif S.kind == "worker":
                dem[s] = None
            else:
                dem[s] = sum(
                    dem[c] * d.calls
                    for c, d in S.callers
                    if not d.consume and dem.get(c) is not None
                )
        for s in self.order:
            S = self.svcs[s]
            if S.kind == "worker":
                q = [d.target for d in S.deps if d.consume][0]
                dem[s] = max(1.0, dem[q] * (1.0 if self.svcs[q].kind == "queue" else 0.05))
        # workers' own deps
        for s in self.order:
            S = self.svcs[s]
            if S.kind == "worker":
                for d in S.deps:
                    if not d.consume:
                        dem[d.target] = dem.get(d.target, 0) + dem[s] * d.calls
        return dem

    def _initial_version(self, name):
        r = self.rng
        style = {
            "shop": "semver",
            "payplat": "semver",
            "stream": "sha",
            "logistics": "date",
            "saas": "semver",
            "rides": "semver",
            "small": "sha",
        }[self.sysname]
        if style == "semver":
            return f"v{r.randint(1, 4)}.{r.randint(2, 60)}.{r.randint(0, 12)}"
        if style == "sha":
            return hexid(r, 7)
        return f"2025.{r.randint(1, 12):02d}.{r.randint(1, 28):02d}-{r.randint(1, 9)}"

    def bump(self, version, minor=True):
        r = self.rng
        if version.startswith("v"):
            a, b, c = version[1:].split(".")
            return f"v{a}.{int(b) + 1}.0" if minor else f"v{a}.{b}.{int(c) + 1}"
        if "-" in version and version[:4].isdigit():
            return f"2025.{r.randint(1, 12):02d}.{r.randint(1, 28):02d}-{r.randint(1, 9)}"
        return hexid(r, 7)

    # ---- nodes & pods -------------------------------------------------------------
    def build_nodes(self):
        r = self.rng
        kind = self.sd["nodes"]
        n = max(4, min(14, sum(max(0, s.replicas) for s in self.svcs.values()) // 5))
        nodes = []
        region = r.choice(["eu-west-1", "us-east-1"])
        for k in range(n):
            if kind == "eks":
                nodes.append(
                    f"ip-10-{r.choice([0, 1, 8, 16])}-{r.randint(1, 250)}-{r.randint(2, 250)}.{region}.compute.internal"
                )
            elif kind == "gke":
                nodes.append(
                    f"gke-prod-{r.choice(['default-pool', 'pool-n2-std8', 'pool-c2'])}-{hexid(r, 8)}-{alnum(r, 4, 'abcdefghijklmnopqrstuvwxyz0123456789')}"
                )
            elif kind == "aks":
                nodes.append(
                    f"aks-nodepool{r.randint(1, 3)}-{r.randint(10000000, 99999999)}-vmss{k:06d}"
                )
            elif kind == "vm":
                nodes.append(f"app-{k + 1}")
            else:
                nodes.append(None)
        if kind == "vm":
            nodes = ["lb-1", "lb-2", "app-1", "app-2", "db-1", "cache-1"]
        self.nodes = [x for x in nodes if x]
        self.node_of_db = {}

    def new_pod_name(self, svc, rs=None):
        r = self.rng
        S = self.svcs[svc]
        if self.sd["nodes"] == "ecs":
            return f"{svc}/{hexid(r, 32)}"
        if self.sd["nodes"] == "vm":
            return None
        if S.kind in ("db", "cache", "queue") and S.rt not in PODLESS_RT:
            return None
        return f"{svc}-{rs}-{alnum(r, 5)}"

    def build_pods(self):
        r = self.rng
        self.build_nodes()
        self.pods = {}
        self.rs = {}
        for name in self.order:
            S = self.svcs[name]
            if (
                S.rt in PODLESS_RT
                or S.replicas == 0
                or (self.sd["nodes"] == "ecs" and S.kind in ("db", "cache", "queue"))
            ):
                self.pods[name] = []
                continue
            v = self.P[name]["version"]
            rs = alnum(r, r.choice([9, 10]))
            self.rs[(name, v)] = rs
            plist = []
            for k in range(S.replicas):
                if self.sd["nodes"] == "vm":
                    host = {
                        "haproxy": ["lb-1", "lb-2"],
                        "webapp": ["app-1", "app-2"],
                        "auth": ["app-1", "app-2"],
                        "worker": ["app-1", "app-2"],
                        "postgres": ["db-1"],
                        "redis": ["cache-1"],
                    }[name]
                    node = host[k % len(host)]
                    port = {
                        "webapp": 8000 + k // len(host),
                        "auth": 8081,
                        "worker": 9808,
                        "haproxy": 8405,
                        "postgres": 5432,
                        "redis": 6379,
                    }[name]
                    pname = f"{node}:{port}"
                elif S.kind in ("db", "cache", "queue"):
                    pname = f"{name}-{k}"
                    node = r.choice(self.nodes)
                else:
                    pname = self.new_pod_name(name, rs)
                    node = r.choice(self.nodes) if self.nodes else None
                start = -r.randint(200, 20000)
                p = Pod(pname, name, v, node, start, None, 0)
                p.ip = f"10.{r.randint(0, 3)}.{r.randint(0, 255)}.{r.randint(2, 254)}"
                plist.append(p)
            self.pods[name] = plist

    def rollout(self, svc, tick, new_version, gap_ticks=None, surge=1):
        """replace the pods of svc one by one with new_version pods."""
        r = self.rng
        S = self.svcs[svc]
        old = [p for p in self.pods[svc] if p.alive(tick)]
        if not old:
            return
        rs = alnum(r, r.choice([9, 10]))
        self.rs[(svc, new_version)] = rs
        gap = gap_ticks if gap_ticks is not None else max(1, self.tick(r.uniform(0.4, 0.9)))
        rd = max(
            1, self.tick(r.uniform(0.3, 0.8)) if S.rt != "jvm" else self.tick(r.uniform(0.7, 1.3))
        )
        for k, op in enumerate(old):
            st = tick + k * gap
            if self.sd["nodes"] == "vm":
                # in-place restart on the VM
                op.crashes.append((st, st + rd, "Deploy", 0))
                op.version_change = getattr(op, "version_change", []) + [(st, new_version)]
                continue
            name = self.new_pod_name(svc, rs)
            np = Pod(
                name, svc, new_version, r.choice(self.nodes) if self.nodes else None, st, None, rd
            )
            np.ip = f"10.{r.randint(0, 3)}.{r.randint(0, 255)}.{r.randint(2, 254)}"
            self.pods[svc].append(np)
            op.end = min(op.end or 10**9, st + rd)

    def pod_version(self, p, i):
        v = p.version
        for t, nv in getattr(p, "version_change", []):
            if i >= t:
                v = nv
        return v

    def plan_crashes(self):
        """turn crash plans and leaks into per-pod crash lists."""
        r = self.rng
        for plan in self.crash_plans:
            svc = plan["svc"]
            for p in self.pods[svc]:
                if plan.get("version") and p.version != plan["version"]:
                    continue
                if plan.get("pods") is not None and p.name not in plan["pods"]:
                    continue
                t = max(plan["start"], p.start + p.ready_delay) + self.tick(
                    r.uniform(0, plan.get("jitter_min", 2))
                )
                backoff = 10
                n = 0
                while t < self.T and (p.end is None or t < p.end):
                    if plan.get("end") is not None and t >= plan["end"]:
                        break
                    down = max(1, int(math.ceil((backoff + plan.get("startup_s", 8)) / self.step)))
                    p.crashes.append((t, t + down, plan["reason"], plan["exit_code"]))
                    n += 1
                    backoff = min(300, backoff * 2)
                    run = plan["run_s"] * r.uniform(0.6, 1.4)
                    t = t + down + max(1, int(run / self.step))
                    if plan.get("max") and n >= plan["max"]:
                        break
        # memory model + OOM from leaks
        for svc, plist in self.pods.items():
            for p in plist:
                P = self.P[svc]
                base = P["mem_base"] * r.uniform(0.9, 1.1)
                mem = [None] * self.T
                leak = self.version_fx.get((svc, p.version), {}).get("leak", 0.0) + getattr(
                    p, "leak", 0.0
                )
                lim = P["mem_limit"]
                last = p.start
                i = max(0, p.start)
                saw = r.uniform(0, 1)
                while i < self.T and (p.end is None or i < p.end):
                    for c, b, _rs, _e in p.crashes:
                        if c == i:
                            last = b
                    if not p.ready(i) and i >= p.start + p.ready_delay:
                        mem[i] = None
                        i += 1
                        continue
                    age = (i - max(last, p.start)) * self.step
                    if age < 0:
                        age = 0
                    warm = min(1.0, 0.55 + age / 600.0)
                    lf = getattr(p, "leak_from", None)
                    lage = age if lf is None else max(0, (i - max(last, p.start, lf)) * self.step)
                    v = base * warm + leak * lage
                    tgt = getattr(p, "mem_target", None)
                    if tgt:
                        v += (tgt[2] - base) * clamp((i - tgt[0]) / max(1, tgt[1] - tgt[0]))
                    if self.svcs[svc].rt == "jvm":
                        saw = (saw + r.uniform(0.02, 0.08)) % 1.0
                        v *= 0.85 + 0.25 * saw
                    v *= math.exp(r.gauss(0, 0.01))
                    if leak > 0 and v >= lim:
                        back = max(1, int(math.ceil(r.uniform(10, 40) / self.step)))
                        if len([c for c in p.crashes if c[0] > i - self.tick(10)]) >= 2:
                            back = max(
                                back, int(math.ceil(r.choice([40, 80, 160, 300]) / self.step))
                            )
                        p.crashes.append((i, i + back, "OOMKilled", 137))
                        p.crashes.sort()
                        mem[i] = lim * r.uniform(0.97, 1.0)
                        last = i + back
                        i += 1
                        continue
                    mem[i] = min(v, lim * 0.995)
                    i += 1
                p.mem = mem

    def add_noise_restart(self, svc=None, reason=None):
        r = self.rng
        cands = [
            s
            for s in self.order
            if self.pods.get(s) and self.svcs[s].kind in ("app", "edge", "worker")
        ]
        svc = svc or r.choice(cands)
        p = r.choice(self.pods[svc])
        t = r.randint(max(1, p.start + 2), self.T - 2)
        reason = reason or r.choice(["OOMKilled", "Error", "Error"])
        p.crashes.append(
            (
                t,
                t + max(1, self.tick(0.5)),
                reason,
                137 if reason == "OOMKilled" else r.choice([1, 2, 143]),
            )
        )
        return svc, p, t

    # ---- simulation ------------------------------------------------------------
    def diurnal(self, i):
        ts = self.ts(i)
        h = ((ts / 3600.0) + self.sd["tz"]) % 24
        # low at ~4h local, peak late afternoon / evening
        return 0.55 + 0.45 * (0.5 - 0.5 * math.cos(2 * math.pi * ((h - 4) % 24) / 24.0)) ** 1.3

    def simulate(self):
        T, r = self.T, seeded(self.id, "sim")
        svcs, P = self.svcs, self.P
        self.plan_crashes()
        # readiness and crash counts
        self.ready = {}
        self.crashing = {}
        for s in self.order:
            pl = self.pods[s]
            if not pl:
                self.ready[s] = [1.0] * T
                self.crashing[s] = [0] * T
                continue
            reps = svcs[s].replicas
            rd, cr = [], []
            for i in range(T):
                n = sum(1 for p in pl if p.ready(i))
                rd.append(min(4.0, n / reps))
                cr.append(sum(1 for p in pl for c in p.crashes if c[0] == i))
            self.ready[s], self.crashing[s] = rd, cr
        # per-version service-level effects (weighted by ready pods of each version)
        for (s, v), fx in sorted(self.version_fx.items()):
            pl = self.pods[s]
            for i in range(T):
                ready = [p for p in pl if p.ready(i)]
                if not ready:
                    continue
                share = sum(1 for p in ready if self.pod_version(p, i) == v) / len(ready)
                if share <= 0:
                    continue
                if "err" in fx:
                    self.K("err", s)[i] += fx["err"] * share
                if "latm" in fx:
                    self.K("latm", s)[i] *= 1 + (fx["latm"] - 1) * share
                if "lata" in fx:
                    self.K("lata", s)[i] += fx["lata"] * share
                if "cost" in fx:
                    self.K("cost", s)[i] *= 1 + (fx["cost"] - 1) * share
                for dep, m in fx.get("callm", {}).items():
                    self.K("callm", (s, dep))[i] *= 1 + (m - 1) * share
        # demand baseline: diurnal x slow random walk
        self.base_dem = {}
        for s in self.entries:
            w = walk(seeded(self.id, "walk", s), T, 0.012, 0.03)
            self.base_dem[s] = [
                self.base_entry[s] * self.diurnal(i) / self.diurnal(T // 2) * math.exp(w[i])
                for i in range(T)
            ]
        A = lambda: [0.0] * T
        self.rin = {s: A() for s in svcs}
        self.r429 = {s: A() for s in svcs}
        self.util = {s: A() for s in svcs}
        self.cpu = {s: A() for s in svcs}
        self.thr = {s: A() for s in svcs}
        self.err = {s: A() for s in svcs}
        self.lat = {s: A() for s in svcs}
        self.own_lat = {s: A() for s in svcs}
        self.p99 = {s: A() for s in svcs}
        self.cause = {s: [None] * T for s in svcs}
        self.emix = {s: [None] * T for s in svcs}
        edges = [(s, d) for s in svcs for d in svcs[s].deps]
        self.out = {(s, d.target): A() for s, d in edges}
        self.arr = {(s, d.target): A() for s, d in edges}
        self.oerr = {(s, d.target): A() for s, d in edges}
        self.olat = {(s, d.target): A() for s, d in edges}
        self.omode = {(s, d.target): [None] * T for s, d in edges}
        self.pool_used = {(s, d.target): A() for s, d in edges if d.sql}
        self.pool_pend = {(s, d.target): A() for s, d in edges if d.sql}
        self.pool_to = {(s, d.target): A() for s, d in edges if d.sql}
        self.backlog = {(s, d.target): A() for s, d in edges if d.consume}
        consumed = {d.target for s in svcs for d in svcs[s].deps if d.consume}
        self.produced = {s: A() for s in svcs if svcs[s].kind == "queue" or s in consumed}
        self.dbconn = {s: A() for s in svcs if svcs[s].kind == "db"}
        bl = {k: 0.0 for k in self.backlog}
        for k in sorted(self.backlog):
            bl[k] = r.uniform(0, 50)
        for i in range(T):
            # ---- demand, top-down
            for s in self.order:
                S = svcs[s]
                if s in self.entries:
                    rin = self.base_dem[s][i] * self.K("ext", s)[i]
                elif S.kind == "worker":
                    d = [d for d in S.deps if d.consume][0]
                    q = d.target
                    prod = self.produced[q][i - 1] if i else self.dem0.get(q, 1.0)
                    capm = (
                        P[s]["cap"]
                        * self.K("cap", s)[i]
                        * self.ready[s][i]
                        / max(1e-9, P[s]["cost"] * self.K("cost", s)[i])
                    )
                    want = prod + bl[(s, q)] / self.step
                    rin = max(0.0, min(want, capm * 0.97, prod * 1.4 + 2.0))
                    ok = rin * (1 - (self.err[s][i - 1] if i else 0))
                    bl[(s, q)] = max(0.0, bl[(s, q)] + (prod - ok) * self.step)
                    self.backlog[(s, q)][i] = bl[(s, q)]
                else:
                    rin = sum(self.arr[(c, s)][i] for c, d in S.callers if not d.consume)
                rl = self.K("ratelimit", s)[i]
                r429 = clamp(1 - rl / rin) if (rl is not None and rin > 0) else 0.0
                self.rin[s][i] = rin
                self.r429[s][i] = r429
                fwd = rin * (1 - r429)
                for d in S.deps:
                    key = (s, d.target)
                    if d.consume:
                        self.out[key][i] = self.arr[key][i] = 1.0
                        continue
                    e_prev = self.oerr[key][i - 1] if i else 0.0
                    rt = self.K("retries", key)[i]
                    rt = d.retries if rt is None else rt
                    o = fwd * d.calls * self.K("callm", key)[i] * (1 + rt * e_prev)
                    self.out[key][i] = o
                    drop = clamp(
                        self.K("netdrop", key)[i]
                        + self.K("netdrop", d.target)[i]
                        + self.K("tls", d.target)[i]
                        + self.K("tls", key)[i]
                        + self.K("blackhole", d.target)[i]
                    )
                    down = clamp(
                        self.K("down", d.target)[i] + (1 - min(1.0, self.ready[d.target][i] * 4))
                    )
                    self.arr[key][i] = o * (1 - drop) * (1 - down)
                if s in self.produced:
                    self.produced[s][i] = sum(
                        self.arr[(c, s)][i] for c, d in S.callers if not d.consume
                    ) * (1.0 if S.kind == "queue" else 0.05)
            # ---- capacity
            for s in self.order:
                S, p = svcs[s], P[s]
                if S.kind == "external" or S.rt == "sqs":
                    self.util[s][i] = 0.0
                    continue
                capeff = p["cap"] * self.K("cap", s)[i] * max(0.0, min(4.0, self.ready[s][i]))
                dem = (
                    self.rin[s][i] * (1 - 0.9 * self.r429[s][i]) * p["cost"] * self.K("cost", s)[i]
                    + p["idle"]
                )
                u = dem / capeff if capeff > 0 else 9.0
                self.util[s][i] = u
                self.cpu[s][i] = min(
                    dem,
                    p["cap"] * self.K("cap", s)[i] * max(0.05, min(4.0, self.ready[s][i])) * 0.99,
                )
                self.thr[s][i] = (
                    clamp((u - 0.75) * 1.6) if S.kind in ("app", "edge", "worker", "lb") else 0.0
                )
            # ---- db connection totals (previous tick)
            for s in self.dbconn:
                self.dbconn[s][i] = sum(
                    self.pool_used[(c, s)][i - 1] if i else 0.0 for c, d in svcs[s].callers if d.sql
                )
            # ---- latency and errors, bottom-up
            for s in reversed(self.order):
                S, p = svcs[s], P[s]
                u = self.util[s][i]
                f = min(
                    150.0,
                    1
                    + max(0.0, u - 0.6) ** 2 * 10
                    + max(0.0, u - 0.88) * 30
                    + max(0.0, u - 1.0) * 60,
                )
                if self.pods[s] and self.ready[s][i] <= 0:
                    f = 1.0
                own_lat = min(30.0, p["base_lat"] * self.K("latm", s)[i] * f + self.K("lata", s)[i])
                self.own_lat[s][i] = own_lat
                esat = (
                    clamp(max(0.0, 1 - 1 / u) * 0.95 + clamp((u - 0.95) * 0.5, 0, 0.025), 0, 0.95)
                    if u > 0.95
                    else 0.0
                )
                ecrash = 0.0
                if self.crashing[s][i]:
                    ecrash = clamp(
                        self.crashing[s][i]
                        / max(1.0, self.ready[s][i] * S.replicas + self.crashing[s][i])
                        * min(1.0, 10.0 / self.step)
                    )
                e_own_bug = clamp(self.K("err", s)[i])
                e_bg = clamp(p["err0"] * math.exp(r.gauss(0, 0.4)))
                contrib = [
                    (e_own_bug, "500", ("own", "bug")),
                    (e_bg, "500", ("own", "bg")),
                    (esat, "503", ("own", "sat")),
                    (ecrash, "503", ("own", "crash")),
                ]
                if self.ready[s][i] <= 0 and self.pods[s]:
                    contrib.append((1.0, "503", ("own", "down")))
                lat_dep = 0.0
                for d in S.deps:
                    key = (s, d.target)
                    D = d.target
                    lo = self.lat[D][i] + self.K("netlat", key)[i] + self.K("netlat", D)[i]
                    eo = self.err[D][i]
                    mode = "5xx" if eo > 0 else None
                    if (
                        self.emix[D][i]
                        and self.cause[D][i]
                        and self.cause[D][i][0] == "own"
                        and self.cause[D][i][1] == "ratelimit"
                    ):
                        mode = "429"
                    hard = clamp(
                        self.K("down", D)[i] + (1 - min(1.0, self.ready[D][i] * 4))
                        if self.pods[D]
                        else self.K("down", D)[i]
                    )
                    if hard > 0:
                        eo = 1 - (1 - eo) * (1 - hard)
                        mode = "refused"
                        lo = lo * (1 - hard) + 0.003 * hard
                    bh = self.K("blackhole", D)[i]
                    ne = clamp(self.K("neterr", key)[i] + self.K("neterr", D)[i])
                    if ne > 0:
                        eo = 1 - (1 - eo) * (1 - ne)
                        mode = "reset" if ne >= eo * 0.5 else mode
                    pool_fail = 0.0
                    de = clamp(
                        self.K("dnserr", key)[i]
                        + self.K("dnserr", D)[i]
                        + self.K("dnserr", s)[i] * (1.0 if svcs[D].kind == "external" else 0.15)
                    )
                    if de > 0:
                        eo = 1 - (1 - eo) * (1 - de)
                        mode = "dns" if de >= 0.3 * eo else mode
                        lo = lo + de * 2.0
                    tl = clamp(self.K("tls", D)[i] + self.K("tls", key)[i])
                    if tl > 0:
                        eo = 1 - (1 - eo) * (1 - tl)
                        mode = "tls"
                        lo = lo * (1 - tl) + 0.004 * tl
                    to = self.K("timeout", key)[i]
                    to = to if to is not None else (d.timeout or (30.0 if d.sql else 10.0))
                    if bh > 0:
                        eo = 1 - (1 - eo) * (1 - bh)
                        lo = lo * (1 - bh) + to * bh
                        mode = "timeout" if bh > 0.2 else mode
                    pto = math.exp(-to / max(1e-6, lo * 1.1)) if lo > 0 else 0.0
                    if pto > 0.002:
                        eo = 1 - (1 - eo) * (1 - pto)
                        lo = lo * (1 - pto) + to * pto
                        if pto > 0.02 and (mode is None or pto > self.err[D][i]):
                            mode = "timeout"
                    if d.sql:
                        pool = self.K("pool", key)[i] or P[s]["pool"][D]
                        nrep = max(1, S.replicas) * max(0.2, min(1.0, self.ready[s][i]))
                        pool_tot = pool * nrep
                        hold = (0.006 if S.rt == "jvm" else 0.003) + self.K("hold", key)[i]
                        conc = self.out[key][i] * (lo + hold)
                        used = min(conc, pool_tot)
                        pend = max(0.0, conc - pool_tot)
                        self.pool_used[key][i] = used
                        self.pool_pend[key][i] = pend
                        if conc > pool_tot * 0.97:
                            pf = clamp(1 - pool_tot / conc + 0.02, 0, 0.97)
                            pool_fail = pf
                            eo = 1 - (1 - eo) * (1 - pf)
                            lo = lo + min(pend / max(1e-6, self.out[key][i]), 5.0) * 0.8
                            mode = "pool"
                            self.pool_to[key][i] = self.out[key][i] * pf / max(1.0, d.calls)
                        mc = P[D]["maxconn"]
                        if mc and self.dbconn[D][i] > mc * 0.98:
                            ex = clamp(
                                (self.dbconn[D][i] - mc * 0.98) / max(1.0, self.dbconn[D][i]) * 3
                            )
                            eo = 1 - (1 - eo) * (1 - ex)
                            mode = "dbconn"
                    self.oerr[key][i] = eo
                    self.olat[key][i] = lo
                    self.omode[key][i] = mode
                    rt = self.K("retries", key)[i]
                    rt = d.retries if rt is None else rt
                    if d.consume:
                        continue
                    ce = d.calls * self.K("callm", key)[i]
                    eo_q = 1 - (1 - eo) / (1 - pool_fail) if pool_fail < 1 else 1.0
                    eff = eo_q ** (1 + rt) if eo_q < 1 else 1.0
                    preq = 1 - (1 - eff) ** min(ce, 4) if ce >= 1 else eff * ce
                    preq = 1 - (1 - preq) * (1 - pool_fail * min(1.0, ce))
                    code = {
                        "timeout": "504",
                        "refused": "503",
                        "tls": "502",
                        "reset": "502",
                        "pool": "500",
                        "dns": "502",
                        "dbconn": "500",
                        "429": "503",
                    }.get(mode, "502" if S.kind == "lb" else "500")
                    if S.kind == "lb" and code == "500":
                        code = "502"
                    contrib.append((d.crit * preq, code, ("dep", D, mode)))
                    lat_dep += min(ce, 6) * lo * 0.55 + rt * eo * lo
                tot_ok = 1.0
                for fr, _c, _w in contrib:
                    tot_ok *= 1 - clamp(fr)
                e = 1 - tot_ok
                self.err[s][i] = e
                self.lat[s][i] = own_lat + lat_dep
                sig = sum(fr for fr, _c, _w in contrib)
                if sig > 0:
                    self.emix[s][i] = [(fr / sig * e, c, w) for fr, c, w in contrib if fr > 0]
                    best = max(contrib, key=lambda x: x[0])
                    self.cause[s][i] = best[2] if best[0] > 0.002 else None
                rl = self.K("ratelimit", s)[i]
                if rl is not None and self.r429[s][i] > 0.01:
                    self.cause[s][i] = ("own", "ratelimit")
                self.p99[s][i] = min(
                    30.0,
                    self.lat[s][i]
                    * p["p99f"]
                    * (1 + 1.0 * min(1.0, max(0.0, u - 0.85)))
                    * (1 + 0.3 * e),
                )


# --------------------------------------------------------------------------------------
# metric sink and series helpers
# --------------------------------------------------------------------------------------


class Sink:
    def __init__(self, W, layout):
        self.W, self.layout = W, layout
        self.files = {}  # stem -> {"query":..., "series": [...]}
        self.order = []

    def add(self, name, labels, values, query=None, start=0):
        """name: metric name (export layout) or query label (capture layout)."""
        W = self.W
        if self.layout == "capture":
            key = name
        else:
            key = name
        f = self.files.get(key)
        if f is None:
            f = {"query": query, "series": []}
            self.files[key] = f
            self.order.append(key)
        pts = []
        for i, v in enumerate(values):
            if v is None:
                continue
            ts = W.ts(i + start)
            pts.append([ts if ts != int(ts) else int(ts), fmtv(v)])
        if pts:
            f["series"].append({"metric": dict(labels), "values": pts})

    def write(self, mdir):
        os.makedirs(mdir, exist_ok=True)
        queries = {}
        gap = getattr(self.W, "prom_gap", None)
        if gap:
            # the Prometheus server restarted (or a WAL replay stalled): a hole in every series
            lo, hi = self.W.ts(gap[0]), self.W.ts(gap[1])
            for f in self.files.values():
                for sr in f["series"]:
                    sr["values"] = [v for v in sr["values"] if not (lo <= v[0] < hi)]
                f["series"] = [sr for sr in f["series"] if sr["values"]]
        for n, key in enumerate(self.order, 1):
            f = self.files[key]
            if not f["series"]:
                continue
            stem = f"{n:02d}_{key}" if self.layout == "capture" else key
            body = {"status": "success", "data": {"resultType": "matrix", "result": f["series"]}}
            with open(os.path.join(mdir, stem + ".json"), "w") as fh:
                json.dump(body, fh, separators=(",", ":"))
            if f["query"]:
                queries[stem] = f["query"]
        if queries:
            with open(os.path.join(mdir, "queries.yaml"), "w") as fh:
                yaml.safe_dump(queries, fh, sort_keys=False, width=400)


def gaps(values, rng, p=0.15, maxlen=6):
    """scrape failures: drop a few short runs of points."""
    v = list(values)
    if rng.random() < p:
        for _ in range(rng.randint(1, 2)):
            a = rng.randrange(len(v))
            for k in range(a, min(len(v), a + rng.randint(1, maxlen))):
                v[k] = None
    return v


class Vals:
    """value builders bound to one world."""

    def __init__(self, W):
        self.W = W

    def counts(self, rate, rng, sigma=0.0):
        st = self.W.step
        out = []
        for x in rate:
            lam = max(0.0, x) * st * (math.exp(rng.gauss(0, sigma)) if sigma else 1.0)
            out.append(poisson(rng, lam))
        return out

    def rate(self, rate, rng, window_s=120, sigma=0.0):
        """what rate(counter[window]) returns for a true per-second rate."""
        c = self.counts(rate, rng, sigma)
        w = max(1, int(round(window_s / self.W.step)))
        return [x / self.W.step for x in smooth(c, w)]

    def counter(self, rate, rng, start=None, resets=(), alive=None, sigma=0.0):
        c = self.counts(rate, rng, sigma)
        tot = rng.uniform(1e3, 5e6) if start is None else start
        out = []
        rs = set(resets)
        for i, x in enumerate(c):
            if i in rs:
                tot = 0.0
            tot += x
            out.append(tot if (alive is None or alive[i]) else None)
        return out

    def gauge(self, arr, rng, sigma=0.03, floor=0.0, alive=None, rnd=None):
        out = []
        for i, x in enumerate(arr):
            if x is None or (alive is not None and not alive[i]):
                out.append(None)
                continue
            y = x * math.exp(rng.gauss(0, sigma))
            y = max(floor, y) if floor is not None else y
            if rnd is not None:
                y = round(y, rnd) if rnd else float(int(round(y)))
            out.append(y)
        return out


def pod_alive(W, p):
    return [p.alive(i) and (i >= p.start + p.ready_delay or i >= p.start) for i in range(W.T)]


def pod_share(W, s, p):
    """fraction of the service's traffic this pod serves at each tick."""
    out = []
    pl = W.pods[s]
    for i in range(W.T):
        if not p.ready(i):
            out.append(0.0)
            continue
        n = sum(1 for q in pl if q.ready(i))
        out.append(1.0 / max(1, n))
    return out


def pod_err(W, s, p, i):
    """error ratio of one pod: service level minus version effects of other versions."""
    base = W.err[s][i]
    v = W.pod_version(p, i)
    fx_here = W.version_fx.get((s, v), {}).get("err", 0.0)
    # service-level err already includes version mix; remove it and add this pod's own
    mix = 0.0
    ready = [q for q in W.pods[s] if q.ready(i)]
    if ready:
        for q in ready:
            mix += W.version_fx.get((s, W.pod_version(q, i)), {}).get("err", 0.0)
        mix /= len(ready)
    return clamp(base - mix + fx_here)


def pod_lat(W, s, p, i):
    v = W.pod_version(p, i)
    fx = W.version_fx.get((s, v), {})
    m = fx.get("latm", 1.0)
    ready = [q for q in W.pods[s] if q.ready(i)]
    mix = 1.0
    if ready:
        mix = sum(
            W.version_fx.get((s, W.pod_version(q, i)), {}).get("latm", 1.0) for q in ready
        ) / len(ready)
    return W.lat[s][i] * m / mix


# --------------------------------------------------------------------------------------
# logs: message templates and per-stack record formats
# --------------------------------------------------------------------------------------

ORG = {
    "shop": "com.acmeshop",
    "payplat": "io.paynova",
    "stream": "tv.streamly",
    "logistics": "com.fleetline",
    "saas": "com.docuhive",
    "rides": "app.zoomride",
    "small": "org.tinyco",
}
DB_PORT = {
    "postgres": 5432,
    "rds-postgres": 5432,
    "mysql": 3306,
    "rds-mysql": 3306,
    "mongo": 27017,
    "elastic": 9200,
    "redis": 6379,
    "memcached": 11211,
    "kafka": 9092,
    "rabbitmq": 5672,
    "sqs": 443,
}
ROUTES_BY_SYS = {
    "shop": [
        "/api/v1/products",
        "/api/v1/products/{id}",
        "/api/v1/cart",
        "/api/v1/checkout",
        "/api/v1/search",
        "/api/v1/profile",
        "/healthz",
    ],
    "payplat": [
        "/v1/payments",
        "/v1/payments/{id}/capture",
        "/v1/merchants/{id}",
        "/v1/settlements",
        "/v1/refunds",
        "/v1/session",
    ],
    "stream": [
        "/v1/playback/start",
        "/v1/titles",
        "/v1/titles/{id}",
        "/v1/entitlements",
        "/v1/profiles/me",
        "/v1/search",
    ],
    "logistics": [
        "/v1/shipments/{id}/track",
        "/v1/drivers/{id}/route",
        "/v1/stops",
        "/v1/geocode",
        "/v1/drivers/{id}/shift",
    ],
    "saas": [
        "/v1/documents",
        "/v1/documents/{id}",
        "/v1/tenants/{id}",
        "/v1/reports/usage",
        "/v1/invoices",
        "/v1/session",
    ],
    "rides": [
        "/v1/rides/quote",
        "/v1/rides",
        "/v1/rides/{id}",
        "/v1/drivers/location",
        "/v1/eta",
        "/v1/payments",
    ],
    "small": ["/", "/login", "/api/tasks", "/api/tasks/{id}", "/dashboard", "/api/health"],
}
ROUTES = ROUTES_BY_SYS["shop"]


def routes(W):
    return ROUTES_BY_SYS[W.sysname]


def camel(s):
    return "".join(w.capitalize() for w in s.replace("_", "-").split("-"))


def java_stack(W, svc, exc, rng, cause=None, depth=None):
    pkg = ORG[W.sysname] + "." + svc.replace("-", "")
    cls = camel(svc)
    frames = [
        f"{pkg}.service.{cls}Service.process({cls}Service.java:{rng.randint(40, 400)})",
        f"{pkg}.web.{cls}Controller.handle({cls}Controller.java:{rng.randint(30, 200)})",
        "java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)",
        "org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:885)",
        "org.apache.catalina.core.ApplicationFilterChain.doFilter(ApplicationFilterChain.java:162)",
        "org.apache.tomcat.util.threads.ThreadPoolExecutor$Worker.run(ThreadPoolExecutor.java:659)",
        "java.base/java.lang.Thread.run(Thread.java:1583)",
    ]
    lib = {
        "java.net.SocketTimeoutException": [
            "java.base/sun.nio.ch.NioSocketImpl.timedRead(NioSocketImpl.java:288)",
            "org.apache.hc.core5.http.impl.io.SessionInputBufferImpl.fillBuffer(SessionInputBufferImpl.java:149)",
        ],
        "java.sql.SQLTransientConnectionException": [
            "com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:696)",
            "com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:181)",
            "com.zaxxer.hikari.HikariDataSource.getConnection(HikariDataSource.java:100)",
        ],
        "java.lang.NullPointerException": [],
        "java.lang.OutOfMemoryError": [
            "java.base/java.util.Arrays.copyOf(Arrays.java:3537)",
            "com.fasterxml.jackson.core.util.ByteArrayBuilder.toByteArray(ByteArrayBuilder.java:123)",
        ],
    }
    body = lib.get(
        exc.split(":")[0],
        [
            f"{pkg}.client.{camel(cause or 'upstream')}Client.call({camel(cause or 'upstream')}Client.java:{rng.randint(50, 160)})"
        ],
    )
    fr = body + frames[: (depth or rng.randint(4, 7))]
    s = exc + "\n" + "\n".join("\tat " + f for f in fr)
    s += f"\n\t... {rng.randint(40, 90)} common frames omitted" if rng.random() < 0.5 else ""
    return s


def py_tb(W, svc, exc_line, rng):
    mod = svc.replace("-", "_")
    return (
        "Traceback (most recent call last):\n"
        f'  File "/app/{mod}/views.py", line {rng.randint(20, 300)}, in handle\n    result = service.process(payload)\n'
        f'  File "/app/{mod}/service.py", line {rng.randint(20, 300)}, in process\n    return self.client.fetch(key)\n'
        f'  File "/usr/local/lib/python3.11/site-packages/requests/adapters.py", line 532, in send\n    raise ReadTimeout(e, request=request)\n'
        + exc_line
    )


def node_stack(exc, rng):
    return (
        exc
        + "\n    at RedirectableRequest.handleRequestTimeout (/app/node_modules/axios/lib/adapters/http.js:647:16)\n"
        "    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)\n"
        f"    at async Router.handle (/app/dist/routes/index.js:{rng.randint(10, 400)}:{rng.randint(3, 40)})"
    )


def go_panic(W, svc, rng):
    pkg = f"github.com/{W.sysname}/{svc}"
    return (
        "panic: runtime error: invalid memory address or nil pointer dereference\n"
        "[signal SIGSEGV: segmentation violation code=0x1 addr=0x18 pc=0x8f1c2a]\n\n"
        f"goroutine {rng.randint(100, 9000)} [running]:\n"
        f"{pkg}/internal/handler.(*Handler).Resolve(0xc000{hexid(rng, 6)}, {{0x0, 0x0}})\n"
        f"\t/src/internal/handler/resolve.go:{rng.randint(40, 200)} +0x{hexid(rng, 2)}\n"
        f"{pkg}/internal/server.(*Server).serve(...)\n\t/src/internal/server/server.go:{rng.randint(40, 200)} +0x1b4\n"
        "net/http.HandlerFunc.ServeHTTP(0xc000a8e000?, {0x1f2e3a0?, 0xc0004b21c0?}, 0x0?)\n\t/usr/local/go/src/net/http/server.go:2171 +0x29"
    )


def dep_class(W, D):
    S = W.svcs[D]
    if S.kind == "db":
        return S.rt.replace("rds-", "")
    if S.kind == "cache":
        return S.rt
    if S.kind == "queue":
        return S.rt
    return "http"


def dep_err_text(W, s, D, mode, rng, i):
    """(level, msg, exc_type, stack) for a failed call from s to D."""
    rt = W.svcs[s].rt
    cls = dep_class(W, D)
    ov = W.dep_text.get((D, mode)) or W.dep_text.get((D, None))
    ip = f"10.{rng.randint(0, 3)}.{rng.randint(0, 255)}.{rng.randint(2, 254)}"
    host = W.host_of(D)
    port = DB_PORT.get(W.svcs[D].rt, 443 if W.svcs[D].kind == "external" else 8080)
    pr = seeded(W.id, s, D)
    path = pr.choice(
        [
            "/v1/" + D.split("-")[0],
            "/api/v1/"
            + D.split("-")[0]
            + "/"
            + pr.choice(["lookup", "batch", "items", "quote", "check"]),
        ]
    )
    to_s = None
    for d in W.svcs[s].deps:
        if d.target == D:
            to_s = W.K("timeout", (s, D))[i] or d.timeout
    to_s = to_s or 5.0
    if ov:
        msg = ov(rt, rng) if callable(ov) else ov
        return "error", msg, None, None
    if mode in ("5xx", None) and W.svcs[D].kind not in ("db", "cache", "queue"):
        mix = W.emix[D][i] or []
        code = int(max(mix, key=lambda x: x[0])[1]) if mix else 500
        if W.stack == "istio" and rng.random() < 0.5:
            msg = f"upstream {D} returned {code}: upstream connect error or disconnect/reset before headers. reset reason: connection termination"
        else:
            msg = {
                "go": f"call {D} {path}: unexpected status {code}",
                "jvm": f"{code} {'Service Unavailable' if code == 503 else 'Internal Server Error'} from POST http://{host}:{port}{path}",
                "node": f"Request failed with status code {code}",
                "python": f"HTTPError: {code} Server Error for url: http://{host}:{port}{path}",
                "dotnet": f"Response status code does not indicate success: {code} ({'Service Unavailable' if code == 503 else 'Internal Server Error'}).",
            }.get(rt, f"upstream {D} returned {code}")
        return (
            "error",
            msg,
            (
                "org.springframework.web.reactive.function.client.WebClientResponseException"
                if rt == "jvm"
                else None
            ),
            None,
        )
    if cls == "http":
        if mode == "timeout":
            t = {
                "go": (
                    f'Post "http://{host}:{port}{path}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)',
                    None,
                ),
                "jvm": (
                    f'I/O error on POST request for "http://{host}:{port}{path}": Read timed out',
                    "java.net.SocketTimeoutException: Read timed out",
                ),
                "node": (
                    f"timeout of {int(to_s * 1000)}ms exceeded",
                    "AxiosError: timeout of %dms exceeded" % int(to_s * 1000),
                ),
                "python": (
                    f"HTTPConnectionPool(host='{host}', port={port}): Read timed out. (read timeout={to_s:g})",
                    "requests.exceptions.ReadTimeout",
                ),
                "dotnet": (
                    f"The request was canceled due to the configured HttpClient.Timeout of {to_s:g} seconds elapsing.",
                    "System.Threading.Tasks.TaskCanceledException",
                ),
                "lambda": (f"Task timed out after {to_s:.2f} seconds", None),
            }.get(rt, (f"upstream request timeout calling {D}", None))
        elif mode == "refused":
            if W.stack == "istio" or W.svcs[s].kind == "lb":
                t = (
                    f"upstream connect error or disconnect/reset before headers. retried and the latest reset reason: remote connection failure, transport failure reason: delayed connect error: 111 (cluster outbound|8080||{host})",
                    None,
                )
            else:
                t = {
                    "go": (f"dial tcp {ip}:{port}: connect: connection refused", None),
                    "jvm": (
                        f'I/O error on GET request for "http://{host}:{port}{path}": Connection refused',
                        "java.net.ConnectException: Connection refused",
                    ),
                    "node": (f"connect ECONNREFUSED {ip}:{port}", "Error: connect ECONNREFUSED"),
                    "python": (
                        f"HTTPConnectionPool(host='{host}', port={port}): Max retries exceeded with url: {path} (Caused by NewConnectionError('Failed to establish a new connection: [Errno 111] Connection refused'))",
                        "requests.exceptions.ConnectionError",
                    ),
                    "dotnet": (
                        f"Connection refused ({host}:{port})",
                        "System.Net.Http.HttpRequestException",
                    ),
                }.get(rt, (f"connection refused by {D}", None))
        elif mode == "reset":
            t = {
                "go": (
                    f"read tcp {ip}:{rng.randint(30000, 60000)}->{W.ip_of(D)}:{port}: read: connection reset by peer",
                    None,
                ),
                "jvm": (
                    f'I/O error on POST request for "http://{host}:{port}{path}": Connection reset',
                    "java.net.SocketException: Connection reset",
                ),
                "node": ("socket hang up", "Error: socket hang up"),
                "python": (
                    "('Connection aborted.', ConnectionResetError(104, 'Connection reset by peer'))",
                    "requests.exceptions.ConnectionError",
                ),
                "dotnet": (
                    "Unable to read data from the transport connection: Connection reset by peer.",
                    "System.IO.IOException",
                ),
            }.get(rt, ("connection reset", None))
        elif mode == "tls":
            exp = W.cert_expiry.get(D, W.ts(i) - 3600)
            t = {
                "go": (
                    f'Get "https://{host}{path}": tls: failed to verify certificate: x509: certificate has expired or is not yet valid: current time {iso(W.ts(i), 0)} is after {iso(exp, 0)}',
                    None,
                ),
                "jvm": (
                    f'I/O error on POST request for "https://{host}{path}": PKIX path validation failed: java.security.cert.CertPathValidatorException: validity check failed',
                    f"javax.net.ssl.SSLHandshakeException: PKIX path validation failed: java.security.cert.CertPathValidatorException: validity check failed\nCaused by: java.security.cert.CertificateExpiredException: NotAfter: {datetime.fromtimestamp(exp, tz=timezone.utc).strftime('%a %b %d %H:%M:%S UTC %Y')}",
                ),
                "node": (
                    "certificate has expired",
                    "Error: certificate has expired (code: CERT_HAS_EXPIRED)",
                ),
                "python": (
                    f"HTTPSConnectionPool(host='{host}', port=443): Max retries exceeded with url: {path} (Caused by SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired (_ssl.c:1006)')))",
                    "requests.exceptions.SSLError",
                ),
                "dotnet": (
                    "The SSL connection could not be established, see inner exception. The remote certificate is invalid because of errors in the certificate chain: NotTimeValid",
                    "System.Net.Http.HttpRequestException",
                ),
                "lambda": (
                    f"[ERROR] SSLError: certificate verify failed: certificate has expired",
                    None,
                ),
            }.get(rt, ("TLS handshake failed: certificate expired", None))
        elif mode == "429":
            t = (f"{D} rate limited request (429 Too Many Requests), retry-after=1", None)
        elif mode == "dns":
            t = {
                "go": (
                    f"dial tcp: lookup {host} on 10.96.0.10:53: read udp {ip}:{rng.randint(30000, 60000)}->10.96.0.10:53: i/o timeout",
                    None,
                ),
                "jvm": (
                    f'I/O error on GET request for "http://{host}:{port}{path}": {host}: Temporary failure in name resolution',
                    f"java.net.UnknownHostException: {host}: Temporary failure in name resolution",
                ),
                "node": (f"getaddrinfo EAI_AGAIN {host}", "Error: getaddrinfo EAI_AGAIN"),
                "python": ("[Errno -3] Temporary failure in name resolution", "socket.gaierror"),
                "dotnet": (
                    f"Resource temporarily unavailable ({host}:{port})",
                    "System.Net.Http.HttpRequestException",
                ),
            }.get(rt, ("dns lookup failed", None))
        else:
            t = (f"call to {D} failed: {mode}", None)
        return ("warn" if mode == "timeout" and rng.random() < 0.3 else "error"), t[0], t[1], None
    # data stores
    if cls in ("postgres", "mysql"):
        if mode == "pool":
            pool = W.K("pool", (s, D))[i] or W.P[s]["pool"][D]
            t = {
                "jvm": (
                    "HikariPool-1 - Connection is not available, request timed out after 30000ms.",
                    "java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out after 30000ms (total=%d, active=%d, idle=0, waiting=%d)"
                    % (pool, pool, rng.randint(5, 90)),
                ),
                "go": ("failed to acquire connection: context deadline exceeded", None),
                "python": (
                    f"QueuePool limit of size {pool} overflow 0 reached, connection timed out, timeout 30.00 (Background on this error at: https://sqlalche.me/e/20/3o7r)",
                    "sqlalchemy.exc.TimeoutError",
                ),
                "node": (
                    "Knex: Timeout acquiring a connection. The pool is probably full. Are you missing a .transacting(trx) call?",
                    "KnexTimeoutError",
                ),
                "dotnet": (
                    f"The connection pool has been exhausted, either raise 'Max Pool Size' (currently {pool}) or 'Timeout' (currently 15 seconds) in your connection string.",
                    "Npgsql.NpgsqlException",
                ),
            }.get(rt)
        elif mode == "dbconn":
            t = (
                ("FATAL: sorry, too many clients already", "org.postgresql.util.PSQLException")
                if cls == "postgres"
                else ("Error 1040: Too many connections", None)
            )
        elif mode == "refused":
            t = {
                "jvm": (
                    f"Connection to {host}:{port} refused. Check that the hostname and port are correct and that the postmaster is accepting TCP/IP connections.",
                    "org.postgresql.util.PSQLException"
                    if cls == "postgres"
                    else "com.mysql.cj.jdbc.exceptions.CommunicationsException: Communications link failure",
                ),
                "go": (
                    f"failed to connect to `host={host} user=app database={D.split('-')[0]}`: dial error (dial tcp {W.ip_of(D)}:{port}: connect: connection refused)",
                    None,
                ),
                "python": (
                    f'(psycopg2.OperationalError) connection to server at "{host}" ({W.ip_of(D)}), port {port} failed: Connection refused',
                    "sqlalchemy.exc.OperationalError",
                ),
            }.get(rt, (f"connect {host}:{port}: connection refused", None))
        elif mode == "timeout":
            t = (
                (
                    "ERROR: canceling statement due to statement timeout",
                    "org.springframework.dao.QueryTimeoutException" if rt == "jvm" else None,
                )
                if cls == "postgres"
                else (
                    "Error 3024: Query execution was interrupted, maximum statement execution time exceeded",
                    None,
                )
            )
        else:
            t = ("ERROR: could not serialize access due to concurrent update", None)
        if t is None:
            t = (f"database {D} unavailable ({mode})", None)
        return "error", t[0], t[1], None
    if cls == "mongo":
        t = {
            "timeout": "Timed out after 30000 ms while waiting for a server that matches ReadPreferenceServerSelector{readPreference=primary}. Client view of cluster state is {type=REPLICA_SET, servers=[{address=mongo-users-0:27017, type=UNKNOWN, state=CONNECTING}]",
            "pool": "Timeout waiting for a pooled connection after 120000 MILLISECONDS",
            "refused": f"MongoServerSelectionError: connect ECONNREFUSED {W.ip_of(D)}:27017",
            "reset": "MongoNetworkError: connection 12 to 10.1.4.22:27017 closed",
        }.get(mode, "MongoServerError: operation exceeded time limit")
        return "error", t, ("com.mongodb.MongoTimeoutException" if rt == "jvm" else None), None
    if cls == "elastic":
        t = {
            "timeout": "30,000 milliseconds timeout on connection http-outgoing-7 [ACTIVE]",
            "refused": f"Connection refused: {host}/{W.ip_of(D)}:9200",
        }.get(
            mode,
            "Elasticsearch exception [type=es_rejected_execution_exception, reason=rejected execution of coordinating operation [shard_detail=[catalog][2][P], shard_coordinating_and_primary_bytes=0, shard_operation_bytes=98615] OR [node_coordinating_and_primary_bytes=0, node_replica_bytes=0, node_all_bytes=0, node_operation_bytes=98615, max_coordinating_and_primary_bytes=53687091]]",
        )
        return (
            "error",
            t,
            (
                "java.net.SocketTimeoutException"
                if mode == "timeout"
                else "org.elasticsearch.ElasticsearchStatusException"
            ),
            None,
        )
    if cls in ("redis", "memcached"):
        if cls == "memcached":
            t = {
                "timeout": "memcache: i/o timeout",
                "refused": f"memcache: connect timeout to {W.ip_of(D)}:11211",
            }.get(mode, "memcache: cache miss storm")
            return "warn", t, None, None
        t = {
            "timeout": {
                "go": "redis: i/o timeout",
                "jvm": "Command timed out after 200 millisecond(s)",
                "node": "Command timed out",
                "python": "Timeout reading from socket",
                "dotnet": f"Timeout performing GET (200ms), next: GET session:{hexid(rng, 8)}, inst: 0, qu: 0, qs: {rng.randint(3, 80)}, aw: False, bw: SpinningDown, rs: ReadAsync, ws: Idle, in: 0, serverEndpoint: {host}:6379, mc: 1/1/0, mgr: 10 of 10 available, clientName: {s}, IOCP: (Busy=0,Free=1000,Min=4,Max=1000), WORKER: (Busy={rng.randint(2, 40)},Free=32727,Min=4,Max=32767), v: 2.6.122.38350",
            },
            "refused": {
                "go": f"dial tcp {W.ip_of(D)}:6379: connect: connection refused",
                "jvm": f"Unable to connect to {host}/<unresolved>:6379",
                "node": f"connect ECONNREFUSED {W.ip_of(D)}:6379",
                "python": f"Error 111 connecting to {host}:6379. Connection refused.",
                "dotnet": "No connection is active/available to service this operation: GET session:"
                + hexid(rng, 8),
            },
            "pool": {"go": "redis: connection pool timeout"},
        }.get(mode, {}).get(rt)
        if t is None:
            t = {"5xx": "OOM command not allowed when used memory > 'maxmemory'."}.get(
                mode, f"redis error: {mode}"
            )
        exc = {
            "jvm": "io.lettuce.core.RedisCommandTimeoutException"
            if mode == "timeout"
            else "io.lettuce.core.RedisConnectionException",
            "python": "redis.exceptions.TimeoutError"
            if mode == "timeout"
            else "redis.exceptions.ConnectionError",
            "dotnet": "StackExchange.Redis.RedisTimeoutException"
            if mode == "timeout"
            else "StackExchange.Redis.RedisConnectionException",
        }.get(rt)
        return "error", t, exc, None
    if cls == "kafka":
        t = {
            "jvm": (
                f"Expiring {rng.randint(3, 40)} record(s) for {W.topic()}-{rng.randint(0, 11)}:120000 ms has passed since batch creation",
                "org.apache.kafka.common.errors.TimeoutException",
            ),
            "go": (
                "kafka: client has run out of available brokers to talk to: dial tcp %s:9092: connect: connection refused"
                % W.ip_of(D),
                None,
            ),
            "node": (
                "KafkaJSNumberOfRetriesExceeded: Connection timeout",
                "KafkaJSNonRetriableError",
            ),
            "python": (
                "KafkaTimeoutError: Failed to update metadata after 60.0 secs.",
                "kafka.errors.KafkaTimeoutError",
            ),
        }.get(rt, ("kafka produce failed", None))
        if mode == "5xx":
            t = (
                "Messages are rejected since there are fewer in-sync replicas than required.",
                "org.apache.kafka.common.errors.NotEnoughReplicasException",
            )
        return "error", t[0], t[1], None
    if cls == "rabbitmq":
        t = {
            "jvm": (
                "connection is already closed due to connection error; cause: java.net.SocketException: Connection reset",
                "com.rabbitmq.client.AlreadyClosedException",
            ),
            "python": ("[Errno 111] Connection refused", "kombu.exceptions.OperationalError"),
            "node": ("Socket closed abruptly during opening handshake", "Error"),
        }.get(rt, ("amqp: connection refused", None))
        return "error", t[0], t[1], None
    if cls == "sqs":
        return (
            "error",
            "Connection timed out after 2000ms"
            if mode == "timeout"
            else 'Could not connect to the endpoint URL: "https://sqs.us-west-2.amazonaws.com/"',
            "TimeoutError",
            None,
        )
    return "error", f"{D}: {mode}", None, None


def own_err_text(W, s, mode, rng, i):
    S = W.svcs[s]
    rt = S.rt
    ov = W.own_text.get((s, mode)) or W.own_text.get((s, None))
    if ov:
        r = ov(W, s, rng, i)
        return r if len(r) == 4 else (r[0], r[1], r[2], None)
    if mode == "bug":
        t = {
            "jvm": (
                "Request processing failed: java.lang.IllegalStateException: unexpected null",
                "java.lang.IllegalStateException: unexpected null",
            ),
            "go": ("internal error", None),
            "node": (
                "Cannot read properties of undefined (reading 'id')",
                "TypeError: Cannot read properties of undefined (reading 'id')",
            ),
            "python": ("Internal Server Error: " + rng.choice(routes(W)), "KeyError: 'id'"),
            "dotnet": (
                "An unhandled exception has occurred while executing the request.",
                "System.InvalidOperationException: Sequence contains no elements",
            ),
        }.get(rt, ("internal error", None))
        return "error", t[0], t[1], None
    if mode == "bg":
        t = {
            "jvm": (
                "Servlet.service() for servlet [dispatcherServlet] threw exception: org.apache.catalina.connector.ClientAbortException: java.io.IOException: Broken pipe",
                None,
            ),
            "go": ("request failed: context canceled", None),
            "node": ("request aborted", "BadRequestError: request aborted"),
            "python": (
                "Unhandled exception in request: BrokenPipeError: [Errno 32] Broken pipe",
                None,
            ),
            "dotnet": (
                'Connection id "0HN3KQ7T8B1", Request id "0HN3KQ7T8B1:00000002": An unhandled exception was thrown by the application.',
                "System.OperationCanceledException",
            ),
        }.get(rt, ("request failed", None))
        return "error", t[0], t[1], None
    if mode == "sat":
        t = {
            "jvm": (
                "Handler dispatch failed: executor rejected task, pool size = 200, active threads = 200, queued tasks = 1000",
                "java.util.concurrent.RejectedExecutionException",
            ),
            "go": ("request canceled while waiting in queue: context deadline exceeded", None),
            "node": ("Event loop blocked for %dms, request aborted" % rng.randint(400, 3000), None),
            "python": ("[CRITICAL] WORKER TIMEOUT (pid:%d)" % rng.randint(20, 400), None),
            "dotnet": (
                "Request timed out waiting for a thread pool thread (ThreadPool starvation)",
                "Microsoft.AspNetCore.Server.Kestrel.Core.BadHttpRequestException",
            ),
            "postgres": (
                "LOG:  duration: %d.%03d ms  statement: SELECT ..."
                % (rng.randint(2000, 9000), rng.randint(0, 999)),
                None,
            ),
        }.get(rt, ("overloaded: shedding load", None))
        return ("error" if rt != "postgres" else "info"), t[0], t[1], None
    if mode in ("crash", "down"):
        return "error", "shutting down: received signal", None, None
    if mode == "ratelimit":
        return "warn", "rate limit exceeded", None, None
    return "error", f"error ({mode})", None, None


NOISE_WARN = {
    "jvm": [
        "HikariPool-1 - Failed to validate connection org.postgresql.jdbc.PgConnection@{h} (This connection has been closed.). Possibly consider using a shorter maxLifetime value.",
        "HHH90003004: firstResult/maxResults specified with collection fetch; applying in memory",
        "Circuit breaker 'partnerFeed' is HALF_OPEN, permitted calls 10",
        "Spring Data Redis - Could not safely identify store assignment for repository candidate interface {cls}Repository",
        "Exception encountered during context initialization - ignoring (deprecated property spring.jpa.open-in-view)",
    ],
    "go": [
        "slow request: GET /api/v1/items took {ms}ms",
        "failed to refresh feature flags: context deadline exceeded",
        "jwt validation failed: token is expired",
        "grpc: addrConn.createTransport failed to connect to {{otel-collector:4317}}: connection reset, reconnecting",
    ],
    "node": [
        "(node:1) [DEP0005] DeprecationWarning: Buffer() is deprecated due to security and usability issues.",
        "Retrying request to https://api.segment.io/v1/batch (attempt 1)",
        "Slow event loop tick: {ms}ms",
        "Unhandled 404 for GET /favicon.ico",
    ],
    "python": [
        "Connection pool is full, discarding connection: telemetry.internal. Connection pool size: 10",
        "Unverified HTTPS request is being made to host 'vault.internal'. Adding certificate verification is strongly advised.",
        "DeprecationWarning: datetime.datetime.utcnow() is deprecated and scheduled for removal",
        "Cache miss for key catalog:v3:{h}, falling back to source",
    ],
    "dotnet": [
        "Overriding address(es) 'http://+:80'. Binding to endpoints defined via IConfiguration and/or UseKestrel() instead.",
        "No XML encryptor configured. Key {{{h}-4e2b-9c1d-{h}}} may be persisted to storage in unencrypted form.",
        "Failed to determine the https port for redirect.",
        'Slow query detected ({ms} ms): SELECT ... FROM "Tenants"',
    ],
}
NOISE_ERR = {
    "jvm": [
        "Failed to publish audit event to topic audit.v1 (will retry): Topic audit.v1 not present in metadata after 60000 ms."
    ],
    "go": ["failed to emit metric batch: write udp 127.0.0.1:8125: connection refused"],
    "node": ["Failed to fetch remote config from https://config.internal/flags.json: 404"],
    "python": ["Sentry responded with an error: HTTP Error 429: Too Many Requests (rate limited)"],
    "dotnet": ["Health check 'legacy-ldap' completed after 5001ms with status Unhealthy"],
}
INFO_MSG = {
    "jvm": ["Completed {m} {r} {st} in {ms}ms", "Fetched {n} rows from repository"],
    "go": ["request completed", "handled request"],
    "node": ["request completed", "incoming request"],
    "python": ["request_finished", "cache refresh done"],
    "dotnet": [
        "Request finished HTTP/1.1 {m} http://{svc}{r} - {st} - application/json {ms}.{n}ms"
    ],
    "lambda": [
        "START RequestId: {uuid} Version: $LATEST",
        "REPORT RequestId: {uuid}\tDuration: {ms}.{n} ms\tBilled Duration: {ms} ms\tMemory Size: 512 MB\tMax Memory Used: 187 MB",
    ],
}
DB_NOISE = {
    "postgres": [
        ("info", "LOG:  checkpoint starting: time"),
        (
            "info",
            "LOG:  checkpoint complete: wrote {n} buffers (0.{n}%); 0 WAL file(s) added, 0 removed, 1 recycled",
        ),
        ("info", 'LOG:  automatic vacuum of table "app.public.events": index scans: 1'),
        ("error", 'ERROR:  duplicate key value violates unique constraint "idempotency_keys_pkey"'),
        (
            "info",
            "LOG:  duration: 1{n}.{n} ms  statement: SELECT count(*) FROM sessions WHERE expires_at < now()",
        ),
    ],
    "mysql": [
        (
            "Note",
            "Aborted connection {n} to db: 'app' user: 'app' host: '10.0.3.17' (Got an error reading communication packets)",
        ),
        ("Warning", "IP address '10.0.9.4' could not be resolved: Name or service not known"),
    ],
    "redis": [
        ("info", "Background saving started by pid {n}"),
        ("info", "DB saved on disk"),
        ("info", "{n} changes in 60 seconds. Saving..."),
    ],
    "mongo": [("info", "Slow query"), ("info", "Connection ended")],
    "kafka": [
        (
            "info",
            "[GroupCoordinator 1]: Preparing to rebalance group notifications in state PreparingRebalance",
        ),
        (
            "info",
            "[Log partition=__consumer_offsets-12, dir=/var/lib/kafka] Rolled new log segment",
        ),
    ],
    "rabbitmq": [
        ("info", "accepting AMQP connection <0.{n}.0> (10.0.2.14:48312 -> 10.0.1.9:5672)"),
        (
            "warning",
            "closing AMQP connection <0.{n}.0> (10.0.2.14:48312 -> 10.0.1.9:5672, vhost: '/', user: 'app'):\nclient unexpectedly closed TCP connection",
        ),
    ],
    "elastic": [("info", "[gc][{n}] overhead, spent [312ms] collecting in the last [1s]")],
}

LV_UP = {"debug": "DEBUG", "info": "INFO", "warn": "WARN", "error": "ERROR", "fatal": "FATAL"}
PINO = {"debug": 20, "info": 30, "warn": 40, "error": 50, "fatal": 60}
DOTNET = {
    "debug": "Debug",
    "info": "Information",
    "warn": "Warning",
    "error": "Error",
    "fatal": "Critical",
}
SYSLOG = {
    "debug": ("7", "debug"),
    "info": ("6", "info"),
    "warn": ("4", "warning"),
    "error": ("3", "err"),
    "fatal": ("2", "crit"),
}


def fmt_record(W, style, ts, lvl, msg, svc, pod, exc, fields, rng):
    f = dict(fields or {})
    if style == "logback":
        rec = {
            "@timestamp": iso(ts, 3, z=False),
            "@version": "1",
            "message": msg,
            "logger_name": f.pop(
                "logger",
                ORG[W.sysname] + "." + svc.replace("-", "") + ".web." + camel(svc) + "Controller",
            ),
            "thread_name": f"http-nio-8080-exec-{rng.randint(1, 200)}",
            "level": LV_UP[lvl],
            "level_value": {
                "debug": 10000,
                "info": 20000,
                "warn": 30000,
                "error": 40000,
                "fatal": 50000,
            }[lvl],
            "app": svc,
            "pod": pod,
        }
        if exc:
            rec["stack_trace"] = exc if "\n" in exc else java_stack(W, svc, exc, rng)
        rec.update(f)
        return [rec]
    if style == "pino":
        rec = {
            "level": PINO[lvl],
            "time": int(ts * 1000),
            "pid": 1,
            "hostname": pod,
            "service": svc,
            "msg": msg,
        }
        if exc:
            rec["err"] = {"type": exc.split(":")[0], "message": msg, "stack": node_stack(exc, rng)}
        rec.update(f)
        return [rec]
    if style == "zap":
        rec = {
            "level": "warn" if lvl == "warn" else lvl,
            "ts": round(ts, 6),
            "caller": f.pop(
                "caller",
                f"server/{rng.choice(['handler', 'client', 'middleware'])}.go:{rng.randint(30, 400)}",
            ),
            "msg": msg,
            "service": svc,
            "pod": pod,
        }
        if exc:
            rec["stacktrace"] = exc
        rec.update(f)
        return [rec]
    if style == "structlog":
        rec = {
            "timestamp": iso(ts, 6),
            "level": {"warn": "warning"}.get(lvl, lvl),
            "event": msg,
            "logger": svc.replace("-", "_") + "." + rng.choice(["views", "client", "tasks"]),
            "service_name": svc,
            "pod": pod,
        }
        if exc:
            rec["exception"] = py_tb(W, svc, exc + (": " + msg if ":" not in exc else ""), rng)
        rec.update(f)
        return [rec]
    if style == "ecs":
        rec = {
            "@timestamp": iso(ts, 6),
            "log.level": DOTNET[lvl],
            "message": msg,
            "ecs.version": "8.11.0",
            "service.name": svc,
            "host.hostname": pod,
            "log.logger": camel(svc)
            + ".Api.Controllers."
            + rng.choice(["RequestsController", "HealthController", "ProxyClient"]),
        }
        if exc:
            rec["error.type"] = exc.split(":")[0]
            rec["error.message"] = msg
            rec["error.stack_trace"] = (
                f"{exc}: {msg}\n   at {camel(svc)}.Api.Services.Handler.ExecuteAsync(CancellationToken ct) in /src/{camel(svc)}.Api/Services/Handler.cs:line {rng.randint(20, 300)}\n   at Microsoft.AspNetCore.Routing.EndpointMiddleware.<Invoke>g__AwaitRequestTask|6_0(Endpoint endpoint, Task requestTask, ILogger logger)"
            )
        rec.update(f)
        return [rec]
    if style == "otel":
        rec = {
            "timeUnixNano": str(int(ts * 1e9) + rng.randrange(1000)),
            "severity_text": LV_UP[lvl].replace("WARN", "WARN"),
            "severity_number": {"debug": 5, "info": 9, "warn": 13, "error": 17, "fatal": 21}[lvl],
            "body": msg,
            "service.name": svc,
            "k8s.pod.name": pod,
            "k8s.namespace.name": W.ns,
        }
        if exc:
            rec["exception.type"] = exc.split(":")[0].split("\n")[0]
            rec["exception.stacktrace"] = (
                exc
                if "\n" in exc
                else (java_stack(W, svc, exc, rng) if W.svcs[svc].rt == "jvm" else exc)
            )
        rec.update(f)
        return [rec]
    if style == "datadog":
        if "status" in f:
            f["http.status_code"] = f.pop("status")
        rec = {
            "timestamp": int(ts * 1000),
            "host": W.node_of_pod(pod),
            "service": svc,
            "status": {"warn": "warn"}.get(lvl, lvl),
            "message": msg,
            "kube_namespace": W.ns,
            "pod_name": pod,
            "source": W.svcs[svc].rt,
        }
        if exc:
            rec["error.kind"] = exc.split(":")[0]
            rec["error.stack"] = exc
        rec.update(f)
        return [rec]
    if style == "docker-spring":
        lvlw = {
            "debug": "DEBUG",
            "info": " INFO",
            "warn": " WARN",
            "error": "ERROR",
            "fatal": "ERROR",
        }[lvl]
        logger = (
            "c.d."
            + svc.replace("-", "")[:6]
            + "."
            + camel(svc)
            + rng.choice(["Controller", "Service", "Client"])
        )
        line = (
            datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S.")
            + f"{int((ts % 1) * 1000):03d}"
            + f" {lvlw} 1 --- [nio-8080-exec-{rng.randint(1, 200)}] {logger:<40s} : {msg}\n"
        )
        base = {
            "time": iso_nanos(ts, rng),
            "stream": "stderr" if lvl in ("warn", "error", "fatal") else "stdout",
            "log": line,
            "kubernetes_pod_name": pod,
            "kubernetes_namespace_name": W.ns,
            "app": svc,
        }
        out = [base]
        if exc:
            st = exc if "\n" in exc else java_stack(W, svc, exc, rng)
            for k, sl in enumerate(st.split("\n")):
                out.append(
                    {
                        "time": iso_nanos(ts + 0.0001 * (k + 1), rng),
                        "stream": "stderr",
                        "log": sl + "\n",
                        "kubernetes_pod_name": pod,
                        "kubernetes_namespace_name": W.ns,
                        "app": svc,
                    }
                )
        return out
    if style == "logfmt":
        kv = " ".join(
            f"{k}={json.dumps(v) if isinstance(v, str) and (' ' in v or '=' in v) else v}"
            for k, v in f.items()
        )
        err = f' err="{exc}"' if exc else ""
        line = (
            f"ts={iso(ts, 3)} caller={rng.choice(['api', 'store', 'http'])}.go:{rng.randint(20, 300)} level={lvl} msg={json.dumps(msg)}{err}"
            + (" " + kv if kv else "")
        )
        return [{"ts": iso_nanos(ts, rng), "app": svc, "pod": pod, "level": lvl, "line": line}]
    if style == "journald":
        pr, sev = SYSLOG[lvl]
        return [
            {
                "timestamp": iso(ts, 6),
                "host": pod.split(":")[0] if pod else "app-1",
                "message": msg + (("\n" + exc) if exc else ""),
                "PRIORITY": pr,
                "severity": sev,
                "SYSLOG_IDENTIFIER": svc,
                "_SYSTEMD_UNIT": f"{svc}.service",
                "_PID": str(1000 + (abs(hash_str(svc)) % 30000)),
                "app": svc,
                "source_type": "journald",
            }
        ]
    if style == "lambda":
        rid = f"{hexid(rng, 8)}-{hexid(rng, 4)}-{hexid(rng, 4)}-{hexid(rng, 4)}-{hexid(rng, 12)}"
        lv = {"info": "INFO", "warn": "WARN", "error": "ERROR", "fatal": "ERROR", "debug": "DEBUG"}[
            lvl
        ]
        m = (
            msg
            if msg.startswith(("START", "REPORT", "END"))
            else f"{iso(ts, 3)}\t{rid}\t{lv}\t{msg}"
        )
        return [
            {
                "timestamp": int(ts * 1000),
                "message": m + "\n",
                "logGroup": f"/aws/lambda/{svc}",
                "logStream": datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y/%m/%d")
                + f"/[$LATEST]{hexid(rng, 32)}",
                "service": svc,
            }
        ]
    if style == "firelens":
        rec = fmt_record(W, f.pop("_inner", "structlog"), ts, lvl, msg, svc, pod, exc, f, rng)[0]
        rec.update(
            {
                "ecs_cluster": "logistics-prod",
                "ecs_task_arn": f"arn:aws:ecs:us-west-2:381492011874:task/logistics-prod/{pod.split('/')[-1] if pod else hexid(rng, 32)}",
                "container_name": svc,
                "source": "stderr" if lvl in ("warn", "error") else "stdout",
            }
        )
        return [rec]
    if style == "canonical":
        rec = {"ts": iso(ts, 3), "service": svc, "level": lvl, "msg": msg}
        if pod:
            rec["pod"] = pod
        if exc:
            rec["exception"] = exc
        rec.update(f)
        return [rec]
    raise ValueError(style)


def hash_str(s):
    return int(hashlib.md5(s.encode()).hexdigest()[:8], 16)


LOG_LAYOUT = {
    "shop": "per-service",
    "payplat": "otel-file",
    "stream": "datadog-file",
    "logistics": "per-service",
    "saas": "per-service",
    "rides": "one-file",
    "small": "journal",
}


def log_style(W, s):
    S = W.svcs[s]
    sd = W.sd
    if W.sysname == "small":
        return "journald"
    if S.kind in ("db", "cache", "queue", "lb") or S.rt in ("elastic",):
        if W.sysname == "stream":
            return "datadog"
        return "canonical"
    if W.sysname == "payplat":
        return "otel"
    if W.sysname == "stream":
        return "datadog"
    if W.sysname == "logistics":
        return "lambda" if S.rt == "lambda" else "firelens"
    return sd["logfmt"].get(S.rt, "canonical")


def log_file(W, s):
    lay = LOG_LAYOUT[W.sysname]
    S = W.svcs[s]
    if lay == "per-service":
        return s
    if lay == "otel-file":
        return "otel-export" if S.kind in ("app", "edge", "worker") else s
    if lay == "datadog-file":
        return "datadog-logs-export"
    if lay == "one-file":
        return f"loki-{W.ns}"
    return "journal"


def infra_level(W, s, lvl):
    rt = W.svcs[s].rt
    if rt in ("postgres", "rds-postgres"):
        return {"info": "LOG", "warn": "WARNING", "error": "ERROR", "fatal": "FATAL"}.get(lvl, lvl)
    if rt in ("mysql", "rds-mysql"):
        return {"info": "Note", "warn": "Warning", "error": "ERROR"}.get(lvl, lvl)
    return lvl


def gen_logs(W):
    rng = sub_rng(W.rng, "logs")
    T, st = W.T, W.step
    recs = {}

    def emit(s, i, lvl, msg, pod=None, exc=None, fields=None, dt=None):
        if s in W.no_logs:
            return
        ts = W.ts(i) + (dt if dt is not None else rng.uniform(0, st))
        style = log_style(W, s)
        if style == "canonical" and W.svcs[s].kind in ("db", "cache", "queue"):
            lvl2 = infra_level(W, s, lvl)
            rec = {"ts": iso(ts, 3), "service": s, "level": lvl2, "msg": msg}
            if pod:
                rec["pod"] = pod
            rl = [rec]
        elif style == "canonical" and W.svcs[s].kind == "lb":
            fl = dict(fields or {})
            rl = [dict({"ts": iso(ts, 3), "service": s, "level": lvl}, **fl)]
        elif style == "journald" and W.svcs[s].kind == "lb":
            fl = dict(fields or {})
            rl = fmt_record(
                W,
                style,
                ts,
                lvl,
                fl.pop("msg", msg),
                s,
                W.pods[s][0].name if W.pods[s] else None,
                None,
                {},
                rng,
            )
        else:
            fl = dict(fields or {})
            if style == "firelens":
                fl["_inner"] = W.sd["logfmt"].get(W.svcs[s].rt, "structlog")
            rl = fmt_record(W, style, ts, lvl, msg, s, pod, exc, fl, rng)
        recs.setdefault(log_file(W, s), []).extend((ts, r) for r in rl)

    def rpod(s, i, version=None, bad=None):
        pl = [p for p in W.pods[s] if p.ready(i)] or [p for p in W.pods[s] if p.alive(i)]
        if bad is not None:
            pl2 = [p for p in pl if (W.pod_version(p, i) in bad)]
            pl = pl2 or pl
        if not pl:
            return W.pseudo_pod(s, rng)
        return rng.choice(pl).name or W.pseudo_pod(s, rng)

    for s in W.order:
        S = W.svcs[s]
        if S.kind == "external" or S.rt in ("sqs", "alb"):
            continue
        rt = S.rt
        srng = sub_rng(rng, s)
        info_rate = srng.uniform(250, 600) / (T * st)
        noise_w = srng.sample(
            NOISE_WARN.get(rt, ["slow operation"]), k=min(2, len(NOISE_WARN.get(rt, ["x"])))
        )
        noise_w_rate = srng.uniform(0.001, 0.008)
        noise_e = NOISE_ERR.get(rt) if srng.random() < 0.45 else None
        noise_e_rate = srng.uniform(0.0005, 0.003)
        bad_versions = {v for (sv, v), fx in W.version_fx.items() if sv == s and fx.get("err")}
        logcap = srng.uniform(0.25, 0.7)
        for i in range(T):
            if S.kind in ("db", "cache", "queue") or rt in ("elastic",):
                key = "postgres" if "postgres" in rt else "mysql" if "mysql" in rt else rt
                if rng.random() < 0.004 * st and DB_NOISE.get(key):
                    lvl, m = rng.choice(DB_NOISE[key])
                    lvl = {"Note": "info", "Warning": "warn", "warning": "warn"}.get(lvl, lvl)
                    emit(s, i, lvl, m.format(n=rng.randint(1, 99)), pod=rpod(s, i))
                continue
            if S.kind == "lb":
                # access/error log lines for failed requests (sampled) + some 2xx
                if rng.random() < 0.02 * st:
                    d = rng.choice(S.deps).target
                    emit(s, i, "info", "", fields=W.access_fields(s, d, 200, rng, i))
                if W.r429[s][i] > 0.005:
                    for _ in range(poisson(rng, min(W.rin[s][i] * W.r429[s][i] * 0.01, 0.4) * st)):
                        emit(
                            s,
                            i,
                            "warn",
                            "",
                            fields=W.access_fields(s, rng.choice(S.deps).target, 429, rng, i),
                        )
                if W.emix[s][i]:
                    for fr, code, cause in W.emix[s][i]:
                        n = poisson(rng, min(W.rin[s][i] * fr * 0.01, 0.4) * st)
                        for _ in range(n):
                            d = cause[1] if cause[0] == "dep" else rng.choice(S.deps).target
                            emit(
                                s,
                                i,
                                "error" if code.startswith("5") else "warn",
                                "",
                                fields=W.access_fields(s, d, int(code), rng, i, cause),
                            )
                continue
            # info
            for _ in range(
                poisson(
                    rng,
                    info_rate
                    * st
                    * (0.5 + 0.5 * min(2, W.rin[s][i] / max(1, W.dem0.get(s, 1) or 1))),
                )
            ):
                m = rng.choice(INFO_MSG.get(rt, ["ok"]))
                m = m.format(
                    m=rng.choice(["GET", "POST"]),
                    r=rng.choice(routes(W)),
                    st=200,
                    ms=rng.randint(3, 120),
                    n=rng.randint(1, 99),
                    svc=s,
                    uuid=f"{hexid(rng, 8)}-{hexid(rng, 4)}-{hexid(rng, 4)}-{hexid(rng, 4)}-{hexid(rng, 12)}",
                )
                fl = {}
                if rt in ("go", "node", "python"):
                    fl = {
                        "method": rng.choice(["GET", "POST"]),
                        "path": rng.choice(routes(W)),
                        "status": 200,
                        "duration_ms": round(W.lat[s][i] * 1000 * rng.uniform(0.3, 2.0), 1),
                    }
                emit(s, i, "info", m, pod=rpod(s, i), fields=fl)
            for _ in range(poisson(rng, noise_w_rate * st)):
                m = rng.choice(noise_w).format(
                    h=hexid(rng, 8), ms=rng.randint(200, 900), cls=camel(s)
                )
                emit(s, i, "warn", m, pod=rpod(s, i))
            if noise_e:
                for _ in range(poisson(rng, noise_e_rate * st)):
                    emit(s, i, "error", rng.choice(noise_e), pod=rpod(s, i))
            # failures
            if W.emix[s][i]:
                for fr, code, cause in W.emix[s][i]:
                    erps = W.rin[s][i] * fr
                    lam = min(erps * 0.02, logcap) * st
                    n = poisson(rng, lam)
                    for _ in range(n):
                        if cause[0] == "own":
                            lvl, m, exc, _x = own_err_text(W, s, cause[1], rng, i)
                            pod = rpod(
                                s,
                                i,
                                bad=bad_versions if cause[1] == "bug" and bad_versions else None,
                            )
                        else:
                            lvl, m, exc, _x = dep_err_text(W, s, cause[1], cause[2], rng, i)
                            pod = rpod(s, i)
                        fl = {}
                        if rt in ("go", "node", "python"):
                            fl = {
                                "status": int(code) if code.isdigit() else 500,
                                "path": rng.choice(routes(W)),
                            }
                            if cause[0] == "dep":
                                fl["upstream"] = cause[1]
                        if W.trace_ids and rng.random() < 0.5:
                            fl["trace_id"] = hexid(rng, 32)
                        emit(s, i, lvl, m, pod=pod, exc=exc, fields=fl)
            # absorbed failures of optional deps, and retries
            for d in S.deps:
                key = (s, d.target)
                oe = W.oerr[key][i]
                if oe < 0.01 or d.consume:
                    continue
                if d.crit < 1:
                    lam = min(W.out[key][i] * oe * (1 - d.crit) * 0.02, logcap) * st
                    for _ in range(poisson(rng, lam)):
                        lvl, m, exc, _x = dep_err_text(W, s, d.target, W.omode[key][i], rng, i)
                        emit(
                            s,
                            i,
                            "warn",
                            f"{d.target} call failed, serving degraded response: {m}",
                            pod=rpod(s, i),
                        )
                rtr = W.K("retries", key)[i]
                rtr = d.retries if rtr is None else rtr
                if rtr:
                    lam = min(W.out[key][i] * oe * 0.01, logcap * 0.5) * st
                    for _ in range(poisson(rng, lam)):
                        emit(
                            s,
                            i,
                            "warn",
                            f"retrying request to {d.target} (attempt {rng.randint(1, rtr)}/{rtr}) after error: {W.omode[key][i] or 'error'}",
                            pod=rpod(s, i),
                        )
    # pod lifecycle lines
    for s in W.order:
        S = W.svcs[s]
        if S.kind not in ("app", "edge", "worker"):
            continue
        for p in W.pods[s]:
            starts = []
            if 0 <= p.start < T:
                starts.append(p.start)
            for c, b, reason, code in p.crashes:
                if c < T:
                    if reason == "Error" or code in (1, 2):
                        txt = W.crash_text.get(s)
                        if txt:
                            lvl, m, exc = txt(W, s, rng, c)
                        elif S.rt == "go":
                            lvl, m, exc = (
                                "fatal",
                                "panic: runtime error: invalid memory address or nil pointer dereference",
                                go_panic(W, s, rng),
                            )
                        elif S.rt == "node":
                            lvl, m, exc = (
                                "fatal",
                                "Unhandled promise rejection, exiting",
                                "TypeError: Cannot read properties of undefined (reading 'length')",
                            )
                        elif S.rt == "python":
                            lvl, m, exc = (
                                "fatal",
                                "Worker exiting (pid: 7)",
                                "RuntimeError: unexpected payload",
                            )
                        else:
                            lvl, m, exc = (
                                "error",
                                "Application run failed",
                                "java.lang.IllegalStateException: Failed to execute CommandLineRunner",
                            )
                        emit(s, c, lvl, m, pod=p.name, exc=exc, dt=-rng.uniform(0.1, 2))
                    elif reason in ("Killing", "Liveness"):
                        emit(
                            s,
                            c,
                            "info",
                            "Received SIGTERM, shutting down gracefully"
                            if S.rt != "jvm"
                            else "Commencing graceful shutdown. Waiting for active requests to complete",
                            pod=p.name,
                        )
                    if b < T:
                        starts.append(b)
            for t in starts:
                if t >= T:
                    continue
                msg = {
                    "jvm": f"Started {camel(s)}Application in {rng.uniform(14, 48):.3f} seconds (process running for {rng.uniform(16, 52):.3f})",
                    "go": "server listening on :8080",
                    "node": "Server listening at http://0.0.0.0:3000",
                    "python": "Booting worker with pid: %d" % rng.randint(7, 90),
                    "dotnet": "Now listening on: http://[::]:8080",
                    "lambda": "INIT_START Runtime Version: python:3.11.v29",
                }.get(S.rt, "started")
                emit(
                    s, t, "info", msg, pod=p.name or W.pseudo_pod(s, rng), dt=rng.uniform(0, st * 2)
                )
                if S.rt == "jvm" and rng.random() < 0.7:
                    emit(
                        s,
                        t,
                        "warn",
                        "spring.jpa.open-in-view is enabled by default. Therefore, database queries may be performed during view rendering.",
                        pod=p.name,
                    )
    # scenario-specific log streams
    for s, t0, t1, rate, lvl, fn in W.extra_logs:
        for i in range(max(0, t0), min(T, t1)):
            for _ in range(poisson(rng, rate * st)):
                out = fn(W, s, rng, i)
                if isinstance(out, tuple):
                    m, exc = out
                else:
                    m, exc = out, None
                emit(s, i, lvl, m, pod=rpod(s, i), exc=exc)
    return recs


# ---- World helpers used by renderers -------------------------------------------------


def _w_init_extras(W):
    W.dep_text, W.own_text, W.crash_text = {}, {}, {}
    W.cert_expiry = {}
    W.extra_logs = []
    W.trace_ids = W.sd.get("traces") is not None
    W._ips = {}
    W.infra = {}
    W.no_traces = False
    W.extra_events = []
    W.related = []
    W.noise_alert_specs = []
    W.page = None
    W.notes_gen = []
    W.cut_log = None
    W.bom_log = None
    W.capture_notes = None
    W.onset = None
    W.page_alert = None


def host_of(W, D):
    S = W.svcs[D]
    if S.kind == "external":
        return {
            "stripe": "api.stripe.com",
            "carrier-api": "api.shipfast-carriers.com",
            "sendgrid": "api.sendgrid.com",
            "acquirer-gw": "gw.acquirer-europe.net",
            "idp": "login.auth-partner.io",
            "fx-provider": "rates.fxfeed.com",
            "billing-api": "billing.partner-tv.com",
            "maps-provider": "routes.mapgrid.io",
            "sms-provider": "api.smsflow.io",
            "payment-provider": "api.payprov.com",
            "maps-api": "maps.geoapi.dev",
            "psp": "api.psp-global.com",
            "sms-gateway": "sms.gatewayhub.io",
            "mailgun": "api.mailgun.net",
        }.get(D, D + ".example.com")
    if S.rt in ("rds-postgres", "rds-mysql"):
        return f"{D}.c8xkq2a1b3cd.us-west-2.rds.amazonaws.com"
    if W.sysname == "small":
        return {"postgres": "db-1", "redis": "cache-1"}.get(D, D)
    if W.sysname == "logistics":
        return {"elasticache": "logistics-redis.7h3kzq.ng.0001.usw2.cache.amazonaws.com"}.get(
            D, f"{D}.logistics.local"
        )
    return f"{D}.{W.ns}.svc.cluster.local" if W.rng.random() < 0.5 else D


def ip_of(W, D):
    if D not in W._ips:
        r = seeded(W.id, D)
        W._ips[D] = f"10.{r.randint(0, 3)}.{r.randint(0, 255)}.{r.randint(2, 254)}"
    return W._ips[D]


def node_of_pod(W, pod):
    for pl in W.pods.values():
        for p in pl:
            if p.name == pod:
                return p.node or "ip-10-0-1-1"
    return W.nodes[0] if W.nodes else "host-1"


def pseudo_pod(W, s, rng):
    S = W.svcs[s]
    if S.rt == "lambda":
        return None
    if S.kind in ("db", "cache", "queue"):
        return f"{s}-0"
    return f"{s}-{alnum(rng, 9)}-{alnum(rng, 5)}"


def topic(W):
    return {
        "shop": "orders.v1",
        "payplat": "payouts",
        "stream": "playback-events",
        "rides": "trip-events",
        "logistics": "dispatch",
        "saas": "documents",
        "small": "celery",
    }[W.sysname]


def access_fields(W, s, d, code, rng, i, cause=None):
    S = W.svcs[s]
    path = rng.choice(routes(W))
    meth = rng.choice(["GET", "GET", "POST"])
    key = (s, d)
    lat = W.olat[key][i] if key in W.olat else 0.05
    rt_s = max(0.001, lat * rng.uniform(0.5, 2.0))
    up_ip = f"{ip_of(W, d)}:{8080 if W.svcs[d].rt != 'node' else 3000}"
    mode = cause[2] if cause and cause[0] == "dep" else None
    if S.rt == "nginx":
        ups = "-" if mode in ("refused",) else str(code)
        line = (
            f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)} - - "
            f'[{datetime.fromtimestamp(W.ts(i), tz=timezone.utc).strftime("%d/%b/%Y:%H:%M:%S +0000")}] "{meth} {path} HTTP/2.0" {code} {rng.randint(150, 9000)} "-" '
            f'"{rng.choice(["okhttp/4.12.0", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X)", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"])}" {rng.randint(300, 2000)} {rt_s:.3f} '
            f"[{W.ns}-{d}-8080] [] {up_ip} {rng.randint(0, 9000)} {rt_s:.3f} {ups} {hexid(rng, 32)}"
        )
        return {"msg": line, "status": code, "upstream": f"{W.ns}-{d}-8080", "stream": "stdout"}
    if S.rt == "envoy":
        flags = {"timeout": "UT", "refused": "UF", "reset": "UC", "tls": "UF", None: "-"}.get(
            mode, "-"
        )
        if code == 503 and mode == "5xx":
            flags = "-"
        return {
            "msg": f'[{iso(W.ts(i), 3)}] "{meth} {path} HTTP/1.1" {code} {flags} 0 {rng.randint(50, 4000)} {int(rt_s * 1000)} - "{hexid(rng, 8)}-{hexid(rng, 4)}" "{d}" "{up_ip}"',
            "response_code": code,
            "response_flags": flags,
            "upstream_cluster": d,
            "duration": int(rt_s * 1000),
        }
    if S.rt == "traefik":
        return {
            "ClientHost": f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            "DownstreamStatus": code,
            "OriginStatus": code if mode not in ("refused", "timeout") else 0,
            "Duration": int(rt_s * 1e9),
            "RequestMethod": meth,
            "RequestPath": path,
            "ServiceName": f"{W.ns}-{d}-80@kubernetes",
            "RouterName": f"{W.ns}-{d}@kubernetes",
            "entryPointName": "websecure",
        }
    if S.rt == "haproxy":
        term = {"timeout": "sH--", "refused": "SC--", "reset": "SD--"}.get(mode, "----")
        return {
            "msg": f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}:{rng.randint(30000, 60000)} "
            f"[{datetime.fromtimestamp(W.ts(i), tz=timezone.utc).strftime('%d/%b/%Y:%H:%M:%S.000')}] fe_https~ be_{d}/app-{rng.randint(1, 2)} "
            f'0/0/1/{int(rt_s * 1000)}/{int(rt_s * 1000) + 1} {code} {rng.randint(150, 9000)} - - {term} {rng.randint(20, 200)}/{rng.randint(20, 200)}/{rng.randint(2, 60)}/{rng.randint(1, 30)}/0 0/0 "{meth} {path} HTTP/1.1"'
        }
    return {"msg": f"{meth} {path} {code}"}


for _n, _f in [
    ("host_of", host_of),
    ("ip_of", ip_of),
    ("node_of_pod", node_of_pod),
    ("pseudo_pod", pseudo_pod),
    ("topic", topic),
    ("access_fields", access_fields),
]:
    setattr(World, _n, _f)


# --------------------------------------------------------------------------------------
# metrics rendering
# --------------------------------------------------------------------------------------


class R:
    """shared helpers for every stack's renderer."""

    def __init__(self, W, layout):
        self.W = W
        self.rng = sub_rng(W.rng, "metrics")
        self.sink = Sink(W, layout)
        self.V = Vals(W)
        self.layout = layout
        self._codes = {}

    def r(self, tag):
        return sub_rng(self.rng, tag)

    # ---- traffic decomposition
    def codes(self, s):
        if s in self._codes:
            return self._codes[s]
        W = self.W
        T = W.T
        rr = self.r("codes" + s)
        c4 = rr.uniform(0.004, 0.02)
        out = {"200": [0.0] * T, "404": [0.0] * T}
        for i in range(T):
            tot = W.rin[s][i]
            n429 = tot * W.r429[s][i]
            rest = tot - n429
            e = W.err[s][i]
            out["404"][i] = rest * c4
            ok = rest * (1 - e) - rest * c4
            out["200"][i] = max(0.0, ok)
            if n429 > 0:
                out.setdefault("429", [0.0] * T)[i] = n429
            mix = W.emix[s][i]
            if mix:
                for fr, code, _c in mix:
                    out.setdefault(code, [0.0] * T)[i] += rest * fr
        self._codes[s] = out
        return out

    def err_rate(self, s):
        c = self.codes(s)
        T = self.W.T
        return [sum(c[k][i] for k in c if k.startswith("5")) for i in range(T)]

    def pods(self, s):
        return [p for p in self.W.pods.get(s, []) if p.end is None or p.end > 0]

    def alive(self, p):
        W = self.W
        return [p.alive(i) for i in range(W.T)]

    def resets(self, p):
        return [b for (c, b, _r, _e) in p.crashes]

    def pod_code_rate(self, s, p, code, i):
        W = self.W
        if not p.ready(i):
            return 0.0
        n = sum(1 for q in W.pods[s] if q.ready(i))
        c = self.codes(s)
        if code.startswith("5") and W.version_fx:
            tot5 = sum(c[k][i] for k in c if k.startswith("5"))
            if tot5 <= 0:
                return 0.0
            pe = pod_err(W, s, p, i)
            se = W.err[s][i] or 1e-9
            return c[code][i] / n * (pe / se if se > 0 else 1)
        if code == "200" and W.version_fx:
            pe = pod_err(W, s, p, i)
            return max(0.0, W.rin[s][i] / n * (1 - pe) - c["404"][i] / n)
        return c[code][i] / n

    # ---- emission shortcuts
    def gauge(
        self,
        name,
        labels,
        arr,
        sigma=0.03,
        query=None,
        alive=None,
        rnd=None,
        floor=0.0,
        gap_p=0.1,
        tag="",
    ):
        rr = self.r(name + json.dumps(labels, sort_keys=True) + tag)
        v = self.V.gauge(arr, rr, sigma, floor=floor, alive=alive, rnd=rnd)
        v = gaps(v, rr, gap_p)
        self.sink.add(name, labels, v, query)

    def rate(self, name, labels, arr, query=None, window_s=120, sigma=0.0, gap_p=0.1, alive=None):
        rr = self.r(name + json.dumps(labels, sort_keys=True))
        v = self.V.rate(arr, rr, window_s, sigma)
        if alive is not None:
            v = [x if alive[i] else None for i, x in enumerate(v)]
        v = gaps(v, rr, gap_p)
        self.sink.add(name, labels, v, query)

    def counter(self, name, labels, arr, resets=(), alive=None, gap_p=0.08, start=None):
        rr = self.r(name + json.dumps(labels, sort_keys=True))
        v = self.V.counter(arr, rr, start=start, resets=resets, alive=alive)
        v = gaps(v, rr, gap_p)
        self.sink.add(name, labels, v)

    def ratio(self, a, b):
        return [x / y if y > 0 else float("nan") for x, y in zip(a, b)]

    # ---- per-pod container numbers
    def pod_cpu(self, s, p):
        W = self.W
        rr = self.r("cpu" + (p.name or s))
        out = []
        jvm = W.svcs[s].rt == "jvm"
        starts = [max(0, p.start)] + [b for (_c, b, _r, _e) in p.crashes]
        for i in range(W.T):
            if not p.alive(i):
                out.append(None)
                continue
            if not p.ready(i):
                out.append(
                    0.02
                    if any(c <= i < b for (c, b, _r, _e) in p.crashes)
                    else (W.P[s]["limit"] * 0.9 if jvm else 0.15)
                )
                continue
            n = sum(1 for q in W.pods[s] if q.ready(i))
            v = W.cpu[s][i] / max(1, n) * rr.uniform(0.85, 1.15)
            warm = [i - t for t in starts if 0 <= i - t < W.tick(2)]
            if jvm and warm:
                v = max(v, W.P[s]["limit"] * rr.uniform(0.7, 0.95))
            out.append(max(0.001, v))
        return out

    def pod_throttle(self, s, p):
        W = self.W
        out = []
        for i in range(W.T):
            if not p.alive(i):
                out.append(None)
            else:
                out.append(
                    clamp(W.thr[s][i] * self.rng.uniform(0.8, 1.2) + self.rng.uniform(0, 0.03))
                )
        return out

    def node_cpu(self):
        """per node utilisation from the pods on it plus jitter."""
        W = self.W
        res = {}
        cores = {}
        for n in W.nodes:
            cores[n] = self.rng.choice([4, 8, 8, 16])
            res[n] = [0.0] * W.T
        for s, pl in W.pods.items():
            for p in pl:
                if p.node not in res:
                    continue
                cpu = self.pod_cpu(s, p)
                for i, v in enumerate(cpu):
                    if v:
                        res[p.node][i] += v
        out = {}
        for n in W.nodes:
            rr = self.r("node" + n)
            w = walk(rr, W.T, 0.03, 0.1)
            out[n] = [
                clamp(
                    res[n][i] / cores[n]
                    + 0.08
                    + 0.05 * w[i]
                    + rr.uniform(-0.03, 0.06)
                    + (0.25 if rr.random() < 0.01 else 0),
                    0.01,
                    1.0,
                )
                for i in range(W.T)
            ]
        return out, cores

    def cert_ts(self, name):
        W = self.W
        return W.cert_expiry.get(name)


# ---- derived infra signals shared by renderers ------------------------------------------


def db_active(W, s):
    """active sessions at a database (Little's law over its callers)."""
    out = [0.0] * W.T
    for c, d in W.svcs[s].callers:
        key = (c, s)
        for i in range(W.T):
            out[i] += W.arr[key][i] * W.lat[s][i]
    return out


def db_conns(W, s):
    if s in W.dbconn:
        v = list(W.dbconn[s])
        if W.T > 1:
            v[0] = v[1]
        return v
    return [0.0] * W.T


def cache_stats(W, s):
    """(hit_ratio, mem_frac, evictions/s) for a cache: defaults plus scenario overrides."""
    rr = seeded(W.id, "cache", s)
    hit0 = rr.uniform(0.86, 0.97)
    mem0 = rr.uniform(0.35, 0.65)
    hit = W.infra.get((s, "hit")) or [hit0 + 0.01 * math.sin(i / 37.0) for i in range(W.T)]
    mem = W.infra.get((s, "mem")) or [
        mem0 + 0.02 * math.sin(i / 53.0) + i * 0.00002 for i in range(W.T)
    ]
    ev = W.infra.get((s, "evict")) or [0.0] * W.T
    return hit, mem, ev


def gc_frac(W, s, p):
    """fraction of time in GC for a JVM pod from heap occupancy."""
    lim = W.P[s]["mem_limit"]
    out = []
    for i in range(W.T):
        m = p.mem[i] if p.mem else None
        if m is None:
            out.append(None)
            continue
        occ = m / lim
        g = 0.004 + 0.02 * max(0.0, occ - 0.6) + 0.9 * max(0.0, occ - 0.85) ** 2 * 10
        out.append(min(0.6, g + W.infra.get((s, "gc"), [0.0] * W.T)[i]))
    return out


def pod_conc(W, s, p, i):
    if not p.ready(i):
        return 0.0
    n = sum(1 for q in W.pods[s] if q.ready(i))
    return W.rin[s][i] / max(1, n) * W.lat[s][i]


# ---- Prometheus-family stacks (kube-prometheus, PodMonitor/micrometer, Istio, bare VMs) ----

PROM_HTTP = {
    # runtime: (count metric, code label, latency histogram)
    "go": ("http_requests_total", "code", "http_request_duration_seconds"),
    "node": ("http_request_duration_seconds_count", "status_code", "http_request_duration_seconds"),
    "python": ("flask_http_request_total", "status", "flask_http_request_duration_seconds"),
    "dotnet": ("http_requests_received_total", "code", "http_request_duration_seconds"),
    "jvm": ("http_server_requests_seconds_count", "status", "http_server_requests_seconds"),
}


def prom_app_http(rr: R, s, svc_key, svc_val=None, extra=None, python_style="flask"):
    W = rr.W
    S = W.svcs[s]
    rt = S.rt if S.rt in PROM_HTTP else "go"
    cnt, code_lbl, hist = PROM_HTTP[rt]
    if rt == "python" and python_style == "fastapi":
        cnt, code_lbl, hist = "http_requests_total", "status", "http_request_duration_highr_seconds"
    sv = svc_val or s
    sel = f'{svc_key}="{sv}"'
    codes = rr.codes(s)
    by = f"{svc_key}, {code_lbl}" + (", outcome" if rt == "jvm" else "")
    q = (
        f'sum by ({by}) (rate({cnt}{{namespace="{W.ns}"}}[2m]))'
        if W.sysname != "small"
        else f"sum by ({by}) (rate({cnt}[2m]))"
    )
    for code, arr in sorted(codes.items()):
        if max(arr) <= 0:
            continue
        lab = {svc_key: sv}
        if rt == "python" and python_style == "fastapi":
            lab[code_lbl] = code[0] + "xx"
        else:
            lab[code_lbl] = code
        if rt == "jvm":
            lab["outcome"] = (
                "SUCCESS"
                if code.startswith("2")
                else "CLIENT_ERROR"
                if code.startswith("4")
                else "SERVER_ERROR"
            )
        if extra:
            lab.update(extra)
        alive = None
        if code.startswith("5") or code == "429":
            # a series that has never had a sample does not exist yet
            first = next((i for i, x in enumerate(arr) if x > 0.02), None)
            if first is None:
                continue
            alive = [i >= first for i in range(W.T)]
        rr.rate(cnt, lab, arr, query=q, window_s=120, alive=alive)
    lat_q = f"histogram_quantile(0.99, sum by ({svc_key}, le) (rate({hist}_bucket{{{sel}}}[5m])))"
    p99 = [x if W.rin[s][i] > 0.05 else float("nan") for i, x in enumerate(W.p99[s])]
    if rt == "jvm":
        # micrometer timers: mean through _sum/_count, and _max
        tot = [W.rin[s][i] for i in range(W.T)]
        lab = {svc_key: sv}
        if extra:
            lab.update(extra)
        rr.rate(
            hist + "_sum",
            lab,
            [W.rin[s][i] * W.lat[s][i] for i in range(W.T)],
            query=f"sum by ({svc_key}) (rate({hist}_sum[2m]))",
        )
        rr.gauge(
            hist + "_max",
            lab,
            [W.p99[s][i] * 1.6 for i in range(W.T)],
            sigma=0.25,
            query=f"max by ({svc_key}) ({hist}_max)",
        )
    else:
        lab = {svc_key: sv}
        if extra:
            lab.update(extra)
        rr.gauge(hist + "_p99", lab, p99, sigma=0.08, query=lat_q)


def prom_runtime(rr: R, s, svc_key, svc_val=None, per_pod=True):
    W = rr.W
    S = W.svcs[s]
    sv = svc_val or s
    for p in rr.pods(s):
        lab = {svc_key: sv, "pod": p.name, "namespace": W.ns} if p.name else {svc_key: sv}
        if W.sysname == "small":
            lab = {svc_key: sv, "instance": p.name}
        alive = [
            p.ready(i) or (p.alive(i) and not any(c <= i < b for (c, b, _r, _e) in p.crashes))
            for i in range(W.T)
        ]
        if S.rt == "jvm":
            rr.gauge(
                "jvm_memory_used_bytes",
                dict(lab, area="heap", id="G1 Old Gen"),
                [m * 0.72 if m else None for m in p.mem],
                sigma=0.02,
                alive=alive,
            )
            rr.gauge(
                "jvm_gc_pause_seconds_sum:rate2m",
                dict(lab, action="end of minor GC", cause="G1 Evacuation Pause"),
                gc_frac(W, s, p),
                sigma=0.2,
                alive=alive,
                query=f"sum by ({svc_key}, pod, action, cause) (rate(jvm_gc_pause_seconds_sum[2m]))",
            )
            rr.gauge(
                "jvm_threads_live_threads",
                lab,
                [40 + pod_conc(W, s, p, i) * 1.2 for i in range(W.T)],
                sigma=0.03,
                alive=alive,
                rnd=0,
            )
            for d in S.deps:
                if d.sql:
                    key = (s, d.target)
                    pool = W.P[s]["pool"][d.target]
                    n = lambda i: max(1, sum(1 for q in W.pods[s] if q.ready(i)))
                    hl = dict(lab, pool="HikariPool-1")
                    rr.gauge(
                        "hikaricp_connections_active",
                        hl,
                        [
                            min(W.K("pool", key)[i] or pool, W.pool_used[key][i] / n(i))
                            if p.ready(i)
                            else None
                            for i in range(W.T)
                        ],
                        sigma=0.1,
                        alive=alive,
                        rnd=0,
                    )
                    rr.gauge(
                        "hikaricp_connections_pending",
                        hl,
                        [W.pool_pend[key][i] / n(i) if p.ready(i) else None for i in range(W.T)],
                        sigma=0.15,
                        alive=alive,
                        rnd=0,
                    )
                    rr.gauge(
                        "hikaricp_connections_max",
                        hl,
                        [W.K("pool", key)[i] or pool for i in range(W.T)],
                        sigma=0,
                        alive=alive,
                    )
                    rr.rate(
                        "hikaricp_connections_timeout_total",
                        hl,
                        [W.pool_to[key][i] / n(i) if p.ready(i) else 0 for i in range(W.T)],
                        alive=alive,
                        query=f"sum by ({svc_key}, pod, pool) (rate(hikaricp_connections_timeout_total[2m]))",
                    )
        elif S.rt == "go":
            rr.gauge(
                "go_goroutines",
                lab,
                [25 + pod_conc(W, s, p, i) * 1.1 for i in range(W.T)],
                sigma=0.05,
                alive=alive,
                rnd=0,
            )
        elif S.rt == "node":
            rr.gauge(
                "nodejs_eventloop_lag_p99_seconds",
                lab,
                [0.012 + 0.4 * max(0, W.util[s][i] - 0.7) ** 2 for i in range(W.T)],
                sigma=0.15,
                alive=alive,
            )
            rr.gauge(
                "nodejs_heap_size_used_bytes",
                lab,
                [m * 0.6 if m else None for m in p.mem],
                sigma=0.03,
                alive=alive,
            )
        elif S.rt == "dotnet":
            rr.gauge(
                "dotnet_threadpool_queue_length",
                lab,
                [max(0.0, pod_conc(W, s, p, i) - 8) for i in range(W.T)],
                sigma=0.2,
                alive=alive,
                rnd=0,
            )
            rr.gauge("process_working_set_bytes", lab, p.mem, sigma=0.01, alive=alive)
        elif S.rt == "python":
            rr.gauge("process_resident_memory_bytes", lab, p.mem, sigma=0.01, alive=alive)


def k8s_infra(rr: R, svcs=None, kubelet_service_label=True, ns=None):
    """cAdvisor + kube-state-metrics + node_exporter, kube-prometheus style."""
    W = rr.W
    ns = ns or W.ns
    for s in svcs or W.order:
        S = W.svcs[s]
        if not W.pods.get(s) or s in W.hide:
            continue
        dep = s
        for p in rr.pods(s):
            alive = rr.alive(p)
            cont = s if S.kind != "lb" else "controller"
            base = {"namespace": ns, "pod": p.name, "container": cont}
            rr.gauge(
                "node_namespace_pod_container:container_cpu_usage_seconds_total:sum_irate",
                dict(
                    {
                        "__name__": "node_namespace_pod_container:container_cpu_usage_seconds_total:sum_irate"
                    },
                    **base,
                    node=p.node,
                ),
                rr.pod_cpu(s, p),
                sigma=0.06,
                alive=alive,
            )
            ml = dict(
                {"__name__": "container_memory_working_set_bytes"},
                **base,
                node=p.node,
                job="kubelet",
                metrics_path="/metrics/cadvisor",
                endpoint="https-metrics",
                instance=f"{ip_of(W, p.node or 'n')}:10250",
            )
            if kubelet_service_label:
                ml["service"] = "kubelet"
            rr.gauge("container_memory_working_set_bytes", ml, p.mem, sigma=0.01, alive=alive)
            kl = dict(
                {"__name__": "kube_pod_container_status_restarts_total"},
                **base,
                job="kube-state-metrics",
                instance="10.2.0.17:8080",
                uid=f"{hexid(rr.rng, 8)}-{hexid(rr.rng, 4)}-{hexid(rr.rng, 4)}-{hexid(rr.rng, 4)}-{hexid(rr.rng, 12)}",
            )
            if kubelet_service_label:
                kl["service"] = "kube-prometheus-stack-kube-state-metrics"
            rv = [float(p.restarts_before(i)) if alive[i] else None for i in range(W.T)]
            rr.sink.add(
                "kube_pod_container_status_restarts_total",
                kl,
                gaps(rv, rr.r("rs" + str(p.name)), 0.05),
            )
            oom = [c for c in p.crashes if c[2] == "OOMKilled"]
            if p.crashes:
                first = p.crashes[0][0]
                reason = (
                    p.crashes[0][2]
                    if p.crashes[0][2] in ("OOMKilled", "Error", "Completed")
                    else "Error"
                )
                tl = dict(
                    {"__name__": "kube_pod_container_status_last_terminated_reason"},
                    **base,
                    reason=reason,
                    job="kube-state-metrics",
                )
                rr.sink.add(
                    "kube_pod_container_status_last_terminated_reason",
                    tl,
                    [1.0 if (alive[i] and i >= first) else None for i in range(W.T)],
                )
            if S.kind in ("app", "edge", "worker"):
                rr.gauge(
                    "container_cpu_cfs_throttled_periods:ratio",
                    dict(base),
                    rr.pod_throttle(s, p),
                    sigma=0.1,
                    alive=alive,
                    query=f'sum by (namespace, pod, container) (increase(container_cpu_cfs_throttled_periods_total{{namespace="{ns}", container!=""}}[5m])) / sum by (namespace, pod, container) (increase(container_cpu_cfs_periods_total{{namespace="{ns}", container!=""}}[5m]))',
                )
                if S.rt == "jvm":
                    rr.sink.add(
                        "kube_pod_container_resource_limits",
                        dict(
                            {"__name__": "kube_pod_container_resource_limits"},
                            **base,
                            resource="memory",
                            unit="byte",
                            job="kube-state-metrics",
                        ),
                        [W.P[s]["mem_limit"] if alive[i] else None for i in range(W.T)],
                    )
        if S.kind in ("app", "edge", "worker", "lb"):
            av = [float(sum(1 for p in W.pods[s] if p.ready(i))) for i in range(W.T)]
            rr.sink.add(
                "kube_deployment_status_replicas_available",
                {
                    "__name__": "kube_deployment_status_replicas_available",
                    "namespace": ns,
                    "deployment": dep,
                    "job": "kube-state-metrics",
                },
                av,
            )
    # nodes
    nc, cores = rr.node_cpu()
    for n in W.nodes:
        rr.gauge(
            "instance:node_cpu_utilisation:rate5m",
            {
                "__name__": "instance:node_cpu_utilisation:rate5m",
                "instance": n,
                "job": "node-exporter",
            },
            nc[n],
            sigma=0.0,
        )
        rr.gauge(
            "instance:node_memory_utilisation:ratio",
            {
                "__name__": "instance:node_memory_utilisation:ratio",
                "instance": n,
                "job": "node-exporter",
            },
            [0.55 + 0.1 * math.sin(i / 90.0 + len(n)) for i in range(W.T)],
            sigma=0.01,
        )
        rtr = W.infra.get(("node_retrans", n)) or [rr.rng.uniform(0.5, 3.0)] * W.T
        rr.rate(
            "node_netstat_Tcp_RetransSegs",
            {"instance": n, "job": "node-exporter"},
            rtr,
            sigma=0.3,
            query='rate(node_netstat_Tcp_RetransSegs{job="node-exporter"}[2m])',
        )
        ct = W.infra.get(("conntrack", n)) or [
            20000 + 4000 * math.sin(i / 40.0) for i in range(W.T)
        ]
        rr.gauge(
            "node_nf_conntrack_entries",
            {"__name__": "node_nf_conntrack_entries", "instance": n, "job": "node-exporter"},
            ct,
            sigma=0.03,
            rnd=0,
        )
        rr.sink.add(
            "node_nf_conntrack_entries_limit",
            {"__name__": "node_nf_conntrack_entries_limit", "instance": n, "job": "node-exporter"},
            [131072.0] * W.T,
        )


def prom_db(rr: R, s, lab):
    """postgres_exporter / mysqld_exporter / redis_exporter / kafka_exporter / elasticsearch_exporter"""
    W = rr.W
    S = W.svcs[s]
    T = W.T
    down = W.K("down", s)
    upv = [0.0 if down[i] > 0.5 or W.ready[s][i] <= 0 else 1.0 for i in range(T)]
    alive = [u > 0 for u in upv]
    if S.rt in ("postgres",):
        conns = db_conns(W, s)
        act = db_active(W, s)
        mc = W.P[s]["maxconn"]
        rr.sink.add("pg_up", dict({"__name__": "pg_up"}, **lab), upv)
        rr.gauge(
            "pg_stat_activity_count",
            dict(
                {"__name__": "pg_stat_activity_count"},
                **lab,
                datname=s.split("-")[0],
                state="active",
            ),
            [a + 1 for a in act],
            sigma=0.12,
            alive=alive,
            rnd=0,
        )
        rr.gauge(
            "pg_stat_activity_count",
            dict(
                {"__name__": "pg_stat_activity_count"}, **lab, datname=s.split("-")[0], state="idle"
            ),
            [max(0, c - a) + 3 for c, a in zip(conns, act)],
            sigma=0.05,
            alive=alive,
            rnd=0,
            tag="idle",
        )
        rr.sink.add(
            "pg_settings_max_connections",
            dict({"__name__": "pg_settings_max_connections"}, **lab),
            [float(mc) if alive[i] else None for i in range(T)],
        )
        rr.rate(
            "pg_stat_database_xact_commit",
            dict(lab, datname=s.split("-")[0]),
            [W.rin[s][i] / 3 for i in range(T)],
            query='rate(pg_stat_database_xact_commit{datname!~"template.*"}[2m])',
            alive=alive,
        )
        rr.gauge(
            "pg_stat_statements_mean_seconds",
            dict(lab, datname=s.split("-")[0]),
            [W.lat[s][i] for i in range(T)],
            sigma=0.1,
            alive=alive,
            query="sum by (datname) (rate(pg_stat_statements_seconds_total[5m])) / sum by (datname) (rate(pg_stat_statements_calls_total[5m]))",
        )
        rr.rate(
            "pg_stat_database_deadlocks",
            dict(lab, datname=s.split("-")[0]),
            W.infra.get((s, "deadlocks")) or [0.001] * T,
            query="rate(pg_stat_database_deadlocks[5m])",
            alive=alive,
        )
    elif S.rt in ("mysql",):
        conns = db_conns(W, s)
        act = db_active(W, s)
        rr.sink.add("mysql_up", dict({"__name__": "mysql_up"}, **lab), upv)
        rr.gauge(
            "mysql_global_status_threads_connected",
            dict({"__name__": "mysql_global_status_threads_connected"}, **lab),
            [c + 2 for c in conns],
            sigma=0.04,
            alive=alive,
            rnd=0,
        )
        rr.gauge(
            "mysql_global_status_threads_running",
            dict({"__name__": "mysql_global_status_threads_running"}, **lab),
            [a + 1 for a in act],
            sigma=0.15,
            alive=alive,
            rnd=0,
        )
        rr.sink.add(
            "mysql_global_variables_max_connections",
            dict({"__name__": "mysql_global_variables_max_connections"}, **lab),
            [float(W.P[s]["maxconn"]) if a else None for a in alive],
        )
        rr.rate(
            "mysql_global_status_questions",
            dict(lab),
            W.rin[s],
            query="rate(mysql_global_status_questions[2m])",
            alive=alive,
        )
        rr.rate(
            "mysql_global_status_slow_queries",
            dict(lab),
            [W.rin[s][i] * clamp((W.lat[s][i] - 0.02) * 2, 0, 0.5) + 0.002 for i in range(T)],
            query="rate(mysql_global_status_slow_queries[5m])",
            alive=alive,
        )
    elif S.rt == "redis":
        hit, mem, ev = cache_stats(W, s)
        mx = rr.rng.choice([2, 4, 6]) * 2**30
        rr.sink.add("redis_up", dict({"__name__": "redis_up"}, **lab), upv)
        clients = [
            sum(max(1, W.svcs[c].replicas) * 8 for c, _d in S.callers) * (1 if alive[i] else 0)
            for i in range(T)
        ]
        rr.gauge(
            "redis_connected_clients",
            dict({"__name__": "redis_connected_clients"}, **lab),
            clients,
            sigma=0.03,
            alive=alive,
            rnd=0,
        )
        rr.gauge(
            "redis_memory_used_bytes",
            dict({"__name__": "redis_memory_used_bytes"}, **lab),
            [mx * m for m in mem],
            sigma=0.005,
            alive=alive,
        )
        rr.sink.add(
            "redis_memory_max_bytes",
            dict({"__name__": "redis_memory_max_bytes"}, **lab),
            [float(mx) if a else None for a in alive],
        )
        rr.rate(
            "redis_commands_processed_total",
            dict(lab),
            W.rin[s],
            query="rate(redis_commands_processed_total[2m])",
            alive=alive,
        )
        rr.rate(
            "redis_keyspace_hits_total",
            dict(lab),
            [W.rin[s][i] * 0.7 * hit[i] for i in range(T)],
            query="rate(redis_keyspace_hits_total[2m])",
            alive=alive,
        )
        rr.rate(
            "redis_keyspace_misses_total",
            dict(lab),
            [W.rin[s][i] * 0.7 * (1 - hit[i]) for i in range(T)],
            query="rate(redis_keyspace_misses_total[2m])",
            alive=alive,
        )
        rr.rate(
            "redis_evicted_keys_total",
            dict(lab),
            ev,
            query="rate(redis_evicted_keys_total[2m])",
            alive=alive,
        )
        rr.gauge(
            "redis_cpu_seconds:rate2m",
            dict(lab),
            [min(1.0, W.cpu[s][i]) for i in range(T)],
            sigma=0.05,
            alive=alive,
            query="rate(redis_cpu_sys_seconds_total[2m]) + rate(redis_cpu_user_seconds_total[2m])",
        )
    elif S.rt == "kafka":
        brokers = W.infra.get((s, "brokers")) or [3.0] * T
        rr.sink.add("kafka_brokers", dict({"__name__": "kafka_brokers"}, **lab), brokers)
        for (w, q), bl in sorted(W.backlog.items()):
            if q != s:
                continue
            rr.gauge(
                "kafka_consumergroup_lag_sum",
                dict(lab, consumergroup=w, topic=W.topic()),
                bl,
                sigma=0.05,
                rnd=0,
                query="sum by (consumergroup, topic) (kafka_consumergroup_lag)",
            )
        rr.rate(
            "kafka_topic_partition_current_offset",
            dict(lab, topic=W.topic()),
            W.produced.get(s, [0.0] * T),
            query="sum by (topic) (rate(kafka_topic_partition_current_offset[2m]))",
        )
        urp = W.infra.get((s, "urp")) or [0.0] * T
        rr.sink.add(
            "kafka_topic_partition_under_replicated_partition", dict(lab, topic=W.topic()), urp
        )
    elif S.rt == "elastic":
        rr.sink.add(
            "elasticsearch_cluster_health_status",
            dict(
                {"__name__": "elasticsearch_cluster_health_status"}, **lab, cluster=s, color="green"
            ),
            [1.0 if W.err[s][i] < 0.2 else 0.0 for i in range(T)],
        )
        rr.gauge(
            "elasticsearch_search_query_mean_seconds",
            dict(lab, cluster=s),
            W.lat[s],
            sigma=0.08,
            query="rate(elasticsearch_indices_search_query_time_seconds[5m]) / rate(elasticsearch_indices_search_query_total[5m])",
        )
        rr.rate(
            "elasticsearch_thread_pool_rejected_count",
            dict(lab, cluster=s, type="search"),
            [W.rin[s][i] * clamp(W.util[s][i] - 0.93) for i in range(T)],
            query='rate(elasticsearch_thread_pool_rejected_count{type="search"}[5m])',
        )
    elif S.rt == "rabbitmq":
        for (w, q), bl in sorted(W.backlog.items()):
            if q != s:
                continue
            rr.gauge(
                "rabbitmq_detailed_queue_messages_ready",
                dict(
                    {"__name__": "rabbitmq_detailed_queue_messages_ready"},
                    **lab,
                    queue=f"{w}.jobs",
                    vhost="/",
                ),
                bl,
                sigma=0.02,
                rnd=0,
            )
            rr.gauge(
                "rabbitmq_detailed_queue_consumers",
                dict(
                    {"__name__": "rabbitmq_detailed_queue_consumers"},
                    **lab,
                    queue=f"{w}.jobs",
                    vhost="/",
                ),
                [float(sum(1 for p in W.pods[w] if p.ready(i))) for i in range(T)],
                sigma=0,
                rnd=0,
            )
        rr.rate(
            "rabbitmq_global_messages_received_total",
            dict(lab),
            W.produced.get(s, [0.0] * T),
            query="rate(rabbitmq_global_messages_received_total[2m])",
        )


def lb_edge_codes(W, lb, d):
    """what a proxy in front of d sees: rate per status code."""
    key = (lb, d)
    out = {}
    T = W.T
    for i in range(T):
        tot = W.out[key][i]
        e = W.oerr[key][i]
        mode = W.omode[key][i]
        bad = tot * e
        ok = tot - bad
        out.setdefault("200", [0.0] * T)[i] = ok * 0.985
        out.setdefault("404", [0.0] * T)[i] = ok * 0.015
        if bad > 0:
            if mode == "timeout":
                code = "504"
            elif mode in ("refused", "reset", "tls"):
                code = "502" if W.svcs[lb].rt != "envoy" else "503"
            else:
                # the upstream's own answer passes through
                c = W.emix[d][i]
                code = max(c, key=lambda x: x[0])[1] if c else "500"
            out.setdefault(code, [0.0] * T)[i] += bad
    return out


def blackbox(rr: R, targets, job="blackbox"):
    W = rr.W
    for url, s, extra in targets:
        lab = dict({"instance": url, "job": job}, **extra)
        ok = []
        dur = []
        for i in range(W.T):
            e = W.err[s][i] if s in W.err else 0.0
            expired = (
                W.cert_expiry.get(s) is not None
                and W.ts(i) > W.cert_expiry[s]
                and url.startswith("https")
            )
            bad = expired or rr.rng.random() < e or W.K("down", s)[i] > 0.5
            ok.append(0.0 if bad else 1.0)
            dur.append(min(10.0, 0.05 + W.lat[s][i] * 1.5) if s in W.lat else 0.1)
        rr.sink.add("probe_success", dict({"__name__": "probe_success"}, **lab), ok)
        rr.gauge(
            "probe_duration_seconds",
            dict({"__name__": "probe_duration_seconds"}, **lab),
            dur,
            sigma=0.15,
        )
        if url.startswith("https"):
            exp = W.cert_expiry.get(s) or (W.t0 + seeded(W.id, url).uniform(25, 80) * 86400)
            rr.sink.add(
                "probe_ssl_earliest_cert_expiry",
                dict({"__name__": "probe_ssl_earliest_cert_expiry"}, **lab),
                [float(int(exp))] * W.T,
            )


def cert_manager(rr: R, names):
    W = rr.W
    for cname, s in names:
        exp = W.cert_expiry.get(s) or (W.t0 + seeded(W.id, cname).uniform(20, 85) * 86400)
        lab = {
            "name": cname,
            "namespace": W.ns,
            "issuer_name": "internal-ca" if "public" not in cname else "letsencrypt-prod",
            "issuer_kind": "ClusterIssuer",
            "issuer_group": "cert-manager.io",
            "job": "cert-manager",
        }
        rr.sink.add(
            "certmanager_certificate_expiration_timestamp_seconds",
            dict({"__name__": "certmanager_certificate_expiration_timestamp_seconds"}, **lab),
            [float(int(exp))] * W.T,
        )
        ready = [
            1.0 if W.ts(i) < exp - W.infra.get(("cert_notready_lead", s), -1e12) else 0.0
            for i in range(W.T)
        ]
        rr.sink.add(
            "certmanager_certificate_ready_status",
            dict({"__name__": "certmanager_certificate_ready_status"}, **lab, condition="True"),
            ready,
        )


def render_shop(W):
    rr = R(W, "capture")
    keys = {"go": "service", "node": "service", "python": "app", "dotnet": "service", "jvm": "job"}
    for s in W.order:
        S = W.svcs[s]
        if s in W.hide:
            continue
        if S.kind in ("edge", "app"):
            if s not in W.sparse:
                prom_app_http(rr, s, keys[S.rt])
                prom_runtime(rr, s, keys[S.rt])
        elif S.kind == "lb":
            for d in S.deps:
                codes = lb_edge_codes(W, s, d.target)
                for code, arr in sorted(codes.items()):
                    if max(arr) <= 0.01:
                        continue
                    rr.rate(
                        "nginx_ingress_controller_requests",
                        {
                            "ingress": d.target,
                            "service": d.target,
                            "status": code,
                            "exported_namespace": W.ns,
                        },
                        arr,
                        query=f'sum by (ingress, service, exported_namespace, status) (rate(nginx_ingress_controller_requests{{exported_namespace="{W.ns}"}}[2m]))',
                    )
                p99 = [
                    min(W.olat[(s, d.target)][i] * W.P[d.target]["p99f"], d.timeout or 60)
                    for i in range(W.T)
                ]
                rr.gauge(
                    "nginx_ingress_controller_request_duration_seconds_p99",
                    {"ingress": d.target, "exported_namespace": W.ns},
                    p99,
                    sigma=0.1,
                    query=f'histogram_quantile(0.99, sum by (le, ingress, exported_namespace) (rate(nginx_ingress_controller_request_duration_seconds_bucket{{exported_namespace="{W.ns}"}}[2m])))',
                )
        elif S.kind in ("db", "cache", "queue"):
            port = DB_PORT.get(S.rt, 9100)
            prom_db(
                rr,
                s,
                {
                    "job": s if S.rt != "kafka" else "kafka-exporter",
                    "service": s,
                    "instance": f"{ip_of(W, s)}:{ {'postgres': 9187, 'mysql': 9104, 'redis': 9121, 'kafka': 9308, 'elastic': 9114}.get(S.rt, 9100) }",
                    "namespace": W.ns,
                },
            )
    k8s_infra(rr)
    blackbox(
        rr,
        [
            ("https://www.acmeshop.com/", "ingress-nginx", {}),
            ("https://api.acmeshop.com/healthz", "api-gateway", {}),
        ],
    )
    cert_manager(
        rr,
        [
            ("acmeshop-public-tls", "ingress-nginx"),
            ("payments-mtls", "payments"),
            ("inventory-mtls", "inventory"),
        ],
    )
    return rr.sink


def render_saas(W):
    rr = R(W, "capture")
    for s in W.order:
        S = W.svcs[s]
        if s in W.hide:
            continue
        job = f"{W.ns}/{s}"
        if S.kind in ("edge", "app", "worker"):
            if s not in W.sparse:
                if S.kind != "worker":
                    prom_app_http(rr, s, "job", job, python_style="fastapi")
                prom_runtime(rr, s, "job", job)
        elif S.kind == "lb":
            for d in S.deps:
                codes = lb_edge_codes(W, s, d.target)
                tsvc = f"{W.ns}-{d.target}-80@kubernetes"
                for code, arr in sorted(codes.items()):
                    if max(arr) <= 0.01:
                        continue
                    rr.rate(
                        "traefik_service_requests_total",
                        {"service": tsvc, "code": code, "protocol": "http"},
                        arr,
                        query="sum by (service, code, protocol) (rate(traefik_service_requests_total[2m]))",
                    )
                p99 = [
                    min(W.olat[(s, d.target)][i] * W.P[d.target]["p99f"], d.timeout or 60)
                    for i in range(W.T)
                ]
                rr.gauge(
                    "traefik_service_request_duration_seconds_p99",
                    {"service": tsvc},
                    p99,
                    sigma=0.1,
                    query="histogram_quantile(0.99, sum by (le, service) (rate(traefik_service_request_duration_seconds_bucket[5m])))",
                )
            rl = W.K("ratelimit", s)
            rr.rate(
                "traefik_entrypoint_requests_total",
                {"entrypoint": "websecure", "code": "429", "protocol": "http"},
                [W.rin[s][i] * W.r429[s][i] + 0.01 for i in range(W.T)],
                query='sum by (entrypoint, code, protocol) (rate(traefik_entrypoint_requests_total{code="429"}[2m]))',
            )
        elif S.rt == "postgres":
            lab = {"namespace": W.ns, "pod": f"{s}-1", "cluster": s}
            conns = db_conns(W, s)
            act = db_active(W, s)
            rr.sink.add(
                "cnpg_collector_up", dict({"__name__": "cnpg_collector_up"}, **lab), [1.0] * W.T
            )
            rr.gauge(
                "cnpg_backends_total",
                dict(
                    {"__name__": "cnpg_backends_total"},
                    **lab,
                    datname="app",
                    state="active",
                    usename="app",
                ),
                [a + 1 for a in act],
                sigma=0.1,
                rnd=0,
            )
            rr.gauge(
                "cnpg_backends_total",
                dict(
                    {"__name__": "cnpg_backends_total"},
                    **lab,
                    datname="app",
                    state="idle",
                    usename="app",
                ),
                [max(0, c - a) + 2 for c, a in zip(conns, act)],
                sigma=0.05,
                rnd=0,
                tag="idle",
            )
            rr.sink.add(
                "cnpg_pg_settings_setting",
                dict({"__name__": "cnpg_pg_settings_setting"}, **lab, name="max_connections"),
                [float(W.P[s]["maxconn"])] * W.T,
            )
            rr.rate(
                "cnpg_pg_stat_database_xact_commit",
                dict(lab, datname="app"),
                [W.rin[s][i] / 3 for i in range(W.T)],
                query="rate(cnpg_pg_stat_database_xact_commit[2m])",
            )
            rr.gauge(
                "cnpg_pg_stat_statements_mean_seconds",
                dict(lab, datname="app"),
                W.lat[s],
                sigma=0.1,
                query="sum(rate(cnpg_pg_stat_statements_total_exec_time_seconds[5m])) / sum(rate(cnpg_pg_stat_statements_calls_total[5m]))",
            )
        elif S.rt == "redis":
            prom_db(rr, s, {"job": "redis-exporter", "instance": f"redis://{s}.{W.ns}.svc:6379"})
        elif S.rt == "rabbitmq":
            prom_db(rr, s, {"job": "rabbitmq", "namespace": W.ns, "pod": "rabbitmq-server-0"})
        elif S.rt == "elastic":
            prom_db(rr, s, {"job": f"{W.ns}/opensearch-exporter", "namespace": W.ns})
    k8s_infra(rr, kubelet_service_label=False)
    blackbox(
        rr,
        [
            ("https://app.docuhive.io/", "traefik", {}),
            ("https://api.docuhive.io/v1/ping", "public-api", {}),
        ],
    )
    cert_manager(rr, [("docuhive-wildcard", "traefik"), ("identity-signing", "identity")])
    return rr.sink


def render_rides(W):
    rr = R(W, "capture")
    ns = W.ns
    for s in W.order:
        S = W.svcs[s]
        if s in W.hide:
            continue
        if S.kind in ("edge", "app"):
            codes = rr.codes(s)
            for code, arr in sorted(codes.items()):
                if max(arr) <= 0.01:
                    continue
                rr.rate(
                    "istio_requests_total:destination",
                    {
                        "destination_workload": s,
                        "destination_service_name": s,
                        "response_code": code,
                    },
                    arr,
                    query=f'sum by (destination_workload, destination_service_name, response_code) (rate(istio_requests_total{{reporter="destination", destination_workload_namespace="{ns}"}}[1m]))',
                    window_s=60,
                )
            rr.gauge(
                "istio_request_duration_milliseconds:p99",
                {"destination_workload": s},
                [x * 1000 for x in W.p99[s]],
                sigma=0.08,
                query=f'histogram_quantile(0.99, sum by (destination_workload, le) (rate(istio_request_duration_milliseconds_bucket{{reporter="destination", destination_workload_namespace="{ns}"}}[1m])))',
            )
            if s not in W.sparse:
                prom_runtime(rr, s, "app")
        if S.kind in ("edge", "app", "worker"):
            for d in S.deps:
                D = W.svcs[d.target]
                key = (s, d.target)
                if d.consume or D.kind in ("db", "cache", "queue"):
                    continue
                dname = host_of(W, d.target) if D.kind == "external" else d.target
                T = W.T
                okr = [W.out[key][i] * (1 - W.oerr[key][i]) for i in range(T)]
                rr.rate(
                    "istio_requests_total:source",
                    {
                        "source_workload": s,
                        "destination_service_name": dname,
                        "response_code": "200",
                        "response_flags": "-",
                    },
                    okr,
                    query=f'sum by (source_workload, destination_service_name, response_code, response_flags) (rate(istio_requests_total{{reporter="source", source_workload_namespace="{ns}"}}[1m]))',
                    window_s=60,
                )
                bym = {}
                for i in range(T):
                    m = W.omode[key][i]
                    b = W.out[key][i] * W.oerr[key][i]
                    if b <= 0:
                        continue
                    code, fl = {
                        "timeout": ("504", "UT"),
                        "refused": ("503", "UF,URX"),
                        "reset": ("503", "UC"),
                        "tls": ("503", "UF,URX"),
                        "dns": ("503", "DNS"),
                    }.get(m, ("503" if D.kind == "external" else "500", "-"))
                    bym.setdefault((code, fl), [0.0] * T)[i] += b
                for (code, fl), arr in sorted(bym.items()):
                    if max(arr) < 0.02:
                        continue
                    first = next(i for i, x in enumerate(arr) if x > 0)
                    rr.rate(
                        "istio_requests_total:source",
                        {
                            "source_workload": s,
                            "destination_service_name": dname,
                            "response_code": code,
                            "response_flags": fl,
                        },
                        arr,
                        window_s=60,
                        alive=[i >= first for i in range(T)],
                    )
                rr.gauge(
                    "istio_request_duration_milliseconds:source_p99",
                    {"source_workload": s, "destination_service_name": dname},
                    [W.olat[key][i] * 1000 * W.P[d.target]["p99f"] for i in range(T)],
                    sigma=0.08,
                    query=f'histogram_quantile(0.99, sum by (source_workload, destination_service_name, le) (rate(istio_request_duration_milliseconds_bucket{{reporter="source", source_workload_namespace="{ns}"}}[1m])))',
                )
        if S.kind in ("db", "cache", "queue"):
            prom_db(
                rr,
                s,
                {
                    "job": {
                        "postgres": "postgres-exporter",
                        "redis": "redis-exporter",
                        "kafka": "kafka-exporter",
                    }[S.rt],
                    "service": s,
                    "namespace": ns,
                },
            )
    k8s_infra(rr)
    # CoreDNS
    T = W.T
    dns_q = [
        sum(W.rin[s][i] for s in W.order if W.svcs[s].kind in ("app", "edge")) * 0.3
        for i in range(T)
    ]
    serv = W.infra.get(("coredns", "servfail")) or [0.0] * T
    dlat = W.infra.get(("coredns", "lat")) or [0.0015] * T
    for k in range(2):
        pod = f"coredns-{seeded(W.id, 'cdns').choice(['5d78c9869d', '7db6d8ff4d'])}-{alnum(seeded(W.id, 'cdns', k), 5)}"
        lab = {"job": "coredns", "namespace": "kube-system", "pod": pod, "server": "dns://:53"}
        rr.rate(
            "coredns_dns_requests_total",
            dict(lab, type="A", proto="udp"),
            [x / 2 for x in dns_q],
            query="sum by (job, namespace, pod, server, type, proto) (rate(coredns_dns_requests_total[1m]))",
            window_s=60,
        )
        rr.rate(
            "coredns_dns_responses_total",
            dict(lab, rcode="SERVFAIL"),
            [x / 2 * serv[i] + 0.01 for i, x in enumerate(dns_q)],
            query="sum by (job, namespace, pod, server, rcode) (rate(coredns_dns_responses_total[1m]))",
            window_s=60,
        )
        rr.gauge(
            "coredns_dns_request_duration_seconds:p99",
            lab,
            [x * 6 for x in dlat],
            sigma=0.1,
            query="histogram_quantile(0.99, sum by (job, namespace, pod, server, le) (rate(coredns_dns_request_duration_seconds_bucket[1m])))",
        )
        cpu = W.infra.get(("coredns", "cpu")) or [0.08] * T
        rr.gauge(
            "node_namespace_pod_container:container_cpu_usage_seconds_total:sum_irate",
            {
                "__name__": "node_namespace_pod_container:container_cpu_usage_seconds_total:sum_irate",
                "namespace": "kube-system",
                "pod": pod,
                "container": "coredns",
                "node": W.nodes[k % len(W.nodes)],
            },
            cpu,
            sigma=0.1,
        )
    blackbox(
        rr,
        [("https://api.zoomride.app/health", "mobile-gateway", {})]
        + (
            [
                (
                    "https://api.psp-global.com/v2/health",
                    "psp",
                    {"service": "psp", "job": "blackbox-external"},
                )
            ]
            if W.sysname == "rides"
            else []
        ),
    )
    cert_manager(
        rr,
        [("zoomride-public", "mobile-gateway"), ("istio-ingressgateway-certs", "mobile-gateway")],
    )
    return rr.sink


def render_small(W):
    rr = R(W, "capture")
    T = W.T
    for s in W.order:
        S = W.svcs[s]
        if S.kind == "lb":
            for d in S.deps:
                codes = lb_edge_codes(W, s, d.target)
                for cls in ("2xx", "4xx", "5xx"):
                    arr = [sum(v[i] for c, v in codes.items() if c[0] == cls[0]) for i in range(T)]
                    if max(arr) <= 0.005:
                        continue
                    rr.rate(
                        "haproxy_backend_http_responses_total",
                        {
                            "job": "haproxy",
                            "instance": "lb-1:8405",
                            "proxy": f"be_{d.target}",
                            "code": cls,
                        },
                        arr,
                        query="sum by (job, instance, proxy, code) (rate(haproxy_backend_http_responses_total[2m]))",
                    )
                rr.gauge(
                    "haproxy_backend_response_time_average_seconds",
                    {
                        "__name__": "haproxy_backend_response_time_average_seconds",
                        "job": "haproxy",
                        "instance": "lb-1:8405",
                        "proxy": f"be_{d.target}",
                    },
                    W.olat[(s, d.target)],
                    sigma=0.1,
                )
                rr.gauge(
                    "haproxy_backend_current_queue",
                    {
                        "__name__": "haproxy_backend_current_queue",
                        "job": "haproxy",
                        "instance": "lb-1:8405",
                        "proxy": f"be_{d.target}",
                    },
                    [
                        max(0.0, W.out[(s, d.target)][i] * W.olat[(s, d.target)][i] - 30)
                        for i in range(T)
                    ],
                    sigma=0.2,
                    rnd=0,
                )
                for p in W.pods[d.target]:
                    rr.sink.add(
                        "haproxy_server_status",
                        {
                            "__name__": "haproxy_server_status",
                            "job": "haproxy",
                            "instance": "lb-1:8405",
                            "proxy": f"be_{d.target}",
                            "server": p.name.split(":")[0] + "_" + p.name.split(":")[-1],
                            "state": "UP",
                        },
                        [1.0 if p.ready(i) else 0.0 for i in range(T)],
                    )
        elif S.kind in ("edge", "app"):
            prom_app_http(rr, s, "job", extra=None)
            prom_runtime(rr, s, "job")
        elif S.kind == "worker":
            q = [d.target for d in S.deps if d.consume][0]
            ok = [W.rin[s][i] * (1 - W.err[s][i]) for i in range(T)]
            bad = [W.rin[s][i] * W.err[s][i] + 0.002 for i in range(T)]
            rr.rate(
                "celery_tasks_total",
                {
                    "job": "celery-exporter",
                    "instance": "app-1:9808",
                    "name": "app.tasks.send_digest",
                    "state": "SUCCESS",
                },
                ok,
                query="sum by (job, instance, name, state) (rate(celery_tasks_total[2m]))",
            )
            rr.rate(
                "celery_tasks_total",
                {
                    "job": "celery-exporter",
                    "instance": "app-1:9808",
                    "name": "app.tasks.send_digest",
                    "state": "FAILURE",
                },
                bad,
            )
            rr.gauge(
                "celery_queue_length",
                {
                    "__name__": "celery_queue_length",
                    "job": "celery-exporter",
                    "instance": "app-1:9808",
                    "queue_name": "default",
                },
                W.backlog[(s, q)],
                sigma=0.03,
                rnd=0,
            )
            rr.sink.add(
                "celery_workers",
                {"__name__": "celery_workers", "job": "celery-exporter", "instance": "app-1:9808"},
                [float(sum(1 for p in W.pods[s] if p.ready(i))) for i in range(T)],
            )
        elif S.kind in ("db", "cache"):
            host = {"postgres": "db-1", "redis": "cache-1"}[s]
            prom_db(rr, s, {"job": s, "instance": f"{host}:{9187 if s == 'postgres' else 9121}"})
    # node_exporter on every VM + systemd
    nc, cores = rr.node_cpu()
    for n in W.nodes:
        lab = {"job": "node", "instance": f"{n}:9100"}
        rr.gauge(
            "instance:node_cpu_utilisation:rate5m",
            dict({"__name__": "instance:node_cpu_utilisation:rate5m"}, **lab),
            nc[n],
            sigma=0.0,
        )
        rr.gauge(
            "node_load1",
            dict({"__name__": "node_load1"}, **lab),
            [x * cores[n] * 1.1 for x in nc[n]],
            sigma=0.1,
        )
        fs = W.infra.get(("fs_avail", n))
        size = 200 * 2**30 if n == "db-1" else 50 * 2**30
        if fs is None:
            base = seeded(W.id, n).uniform(0.3, 0.6)
            fs = [size * (base - i * 1e-6) for i in range(T)]
        mp = "/var/lib/postgresql" if n == "db-1" else "/"
        rr.gauge(
            "node_filesystem_avail_bytes",
            dict(
                {"__name__": "node_filesystem_avail_bytes"},
                **lab,
                mountpoint=mp,
                device="/dev/nvme1n1" if n == "db-1" else "/dev/root",
                fstype="ext4",
            ),
            fs,
            sigma=0.0005,
        )
        rr.sink.add(
            "node_filesystem_size_bytes",
            dict(
                {"__name__": "node_filesystem_size_bytes"},
                **lab,
                mountpoint=mp,
                device="/dev/nvme1n1" if n == "db-1" else "/dev/root",
                fstype="ext4",
            ),
            [float(size)] * T,
        )
        for s in W.order:
            for p in W.pods[s]:
                if p.node == n and W.svcs[s].kind in ("app", "edge", "worker"):
                    rr.sink.add(
                        "node_systemd_service_restart_total",
                        dict(
                            {"__name__": "node_systemd_service_restart_total"},
                            **lab,
                            name=f"{s}.service",
                        ),
                        [float(p.restarts_before(i)) for i in range(T)],
                    )
                    rr.sink.add(
                        "node_systemd_unit_state",
                        dict(
                            {"__name__": "node_systemd_unit_state"},
                            **lab,
                            name=f"{s}.service",
                            state="active",
                            type="simple",
                        ),
                        [1.0 if p.ready(i) else 0.0 for i in range(T)],
                    )
    blackbox(
        rr,
        [("https://tinyco.app/", "haproxy", {}), ("https://tinyco.app/api/health", "webapp", {})],
    )
    return rr.sink


# ---- OpenTelemetry (collector -> Prometheus exporter) ---------------------------------------


def otel_uuid(W, p):
    r = seeded(W.id, "inst", p.name)
    return f"{hexid(r, 8)}-{hexid(r, 4)}-4{hexid(r, 3)}-{hexid(r, 4)}-{hexid(r, 12)}"


def client_error_type(mode, rt):
    return {
        "timeout": {
            "jvm": "java.net.SocketTimeoutException",
            "go": "timeout",
            "node": "ETIMEDOUT",
            "python": "ReadTimeout",
            "dotnet": "System.Threading.Tasks.TaskCanceledException",
        }.get(rt, "timeout"),
        "refused": {"jvm": "java.net.ConnectException", "node": "ECONNREFUSED"}.get(
            rt, "connection_refused"
        ),
        "reset": {"jvm": "java.net.SocketException", "node": "ECONNRESET"}.get(
            rt, "connection_reset"
        ),
        "tls": {
            "jvm": "javax.net.ssl.SSLHandshakeException",
            "node": "CERT_HAS_EXPIRED",
            "go": "*tls.CertificateVerificationError",
        }.get(rt, "tls_error"),
        "dns": "dns_error",
    }.get(mode)


def otel_apps(rr: R, ecs=False):
    W = rr.W
    T = W.T
    for s in W.order:
        S = W.svcs[s]
        if S.kind not in ("edge", "app", "worker") or s in W.hide or S.rt == "lambda":
            continue
        sparse = s in W.sparse
        route = {
            "edge": "/v1/{resource}",
            "app": "/internal/" + s.split("-")[0] + "/{id}",
            "worker": None,
        }[S.kind]
        for p in rr.pods(s):
            alive = rr.alive(p)
            resets = rr.resets(p)
            age = 0.0 if p.start >= 0 else -p.start * W.step
            st0 = lambda arr, age=age: max(0.0, arr[0]) * age * rr.rng.uniform(0.8, 1.2)
            base = {
                "service_name": s,
                "service_namespace": W.ns,
                "job": f"{W.ns}/{s}",
                "instance": otel_uuid(W, p),
                "service_version": W.pod_version(p, max(0, p.start)),
                "deployment_environment": "production",
            }
            if ecs:
                base.update(
                    {
                        "aws_ecs_cluster_name": "logistics-prod",
                        "aws_ecs_task_id": p.name.split("/")[-1],
                        "aws_ecs_launchtype": "fargate",
                    }
                )
            else:
                base.update({"k8s_pod_name": p.name, "k8s_namespace_name": W.ns})
            if not sparse and S.kind != "worker":
                for code in sorted(rr.codes(s)):
                    arr = [rr.pod_code_rate(s, p, code, i) for i in range(T)]
                    if max(arr) <= 0.002:
                        continue
                    lab = dict(
                        {"__name__": "http_server_request_duration_seconds_count"},
                        **base,
                        http_request_method="POST" if S.kind == "app" else "GET",
                        http_response_status_code=code,
                        http_route=route,
                        url_scheme="http",
                    )
                    first = next((i for i, x in enumerate(arr) if x > 0), 0)
                    al = [alive[i] and (i >= first or not code.startswith("5")) for i in range(T)]
                    rr.counter(
                        "http_server_request_duration_seconds_count",
                        lab,
                        arr,
                        resets=resets,
                        alive=al,
                        start=st0(arr) if not code.startswith("5") else st0(arr) * 0.3,
                    )
                    lat = [arr[i] * pod_lat(W, s, p, i) for i in range(T)]
                    lab2 = dict(lab, __name__="http_server_request_duration_seconds_sum")
                    rr.counter(
                        "http_server_request_duration_seconds_sum",
                        lab2,
                        lat,
                        resets=resets,
                        alive=al,
                        start=st0(lat),
                    )
            if not sparse:
                # client side of HTTP dependencies
                for d in S.deps:
                    D = W.svcs[d.target]
                    if d.consume or D.kind in ("db", "cache", "queue"):
                        continue
                    key = (s, d.target)
                    share = pod_share(W, s, p)
                    ok = [W.out[key][i] * (1 - W.oerr[key][i]) * share[i] for i in range(T)]
                    host = host_of(W, d.target) if D.kind == "external" else d.target
                    cl = dict(
                        {"__name__": "http_client_request_duration_seconds_count"},
                        **base,
                        server_address=host,
                        server_port="443" if d.tls else "8080",
                        http_request_method="POST",
                        http_response_status_code="200",
                    )
                    rr.counter(
                        "http_client_request_duration_seconds_count",
                        cl,
                        ok,
                        resets=resets,
                        alive=alive,
                        start=st0(ok),
                    )
                    rr.counter(
                        "http_client_request_duration_seconds_sum",
                        dict(cl, __name__="http_client_request_duration_seconds_sum"),
                        [ok[i] * W.olat[key][i] for i in range(T)],
                        resets=resets,
                        alive=alive,
                        start=st0([ok[i] * W.olat[key][i] for i in range(T)]),
                    )
                    groups = {}
                    for i in range(T):
                        b = W.out[key][i] * W.oerr[key][i] * share[i]
                        if b <= 0:
                            continue
                        et = client_error_type(W.omode[key][i], S.rt)
                        groups.setdefault(et or "5xx", [0.0] * T)[i] += b
                    for et, arr in sorted(groups.items()):
                        if max(arr) < 0.01:
                            continue
                        first = next(i for i, x in enumerate(arr) if x > 0)
                        el = dict(cl)
                        if et == "5xx":
                            el["http_response_status_code"] = "503"
                            el["error_type"] = "503"
                        else:
                            el.pop("http_response_status_code")
                            el["error_type"] = et
                        rr.counter(
                            "http_client_request_duration_seconds_count",
                            el,
                            arr,
                            resets=resets,
                            alive=[alive[i] and i >= first for i in range(T)],
                            start=0.0,
                        )
            # db connection pools (OTel JDBC / Hikari instrumentation)
            for d in S.deps:
                if not d.sql:
                    continue
                key = (s, d.target)
                pool = W.P[s]["pool"][d.target]
                n = [max(1, sum(1 for q in W.pods[s] if q.ready(i))) for i in range(T)]
                pl = dict(base, pool_name=f"HikariPool-1" if S.rt == "jvm" else f"{d.target}")
                pmax = [W.K("pool", key)[i] or pool for i in range(T)]
                rr.gauge(
                    "db_client_connections_usage",
                    dict({"__name__": "db_client_connections_usage"}, **pl, state="used"),
                    [min(pmax[i], W.pool_used[key][i] / n[i]) for i in range(T)],
                    sigma=0.08,
                    alive=alive,
                    rnd=0,
                )
                rr.gauge(
                    "db_client_connections_usage",
                    dict({"__name__": "db_client_connections_usage"}, **pl, state="idle"),
                    [max(0.0, pmax[i] - W.pool_used[key][i] / n[i]) for i in range(T)],
                    sigma=0.08,
                    alive=alive,
                    rnd=0,
                    tag="idle",
                )
                rr.sink.add(
                    "db_client_connections_max",
                    dict({"__name__": "db_client_connections_max"}, **pl),
                    [float(pmax[i]) if alive[i] else None for i in range(T)],
                )
                rr.gauge(
                    "db_client_connections_pending_requests",
                    dict({"__name__": "db_client_connections_pending_requests"}, **pl),
                    [W.pool_pend[key][i] / n[i] for i in range(T)],
                    sigma=0.1,
                    alive=alive,
                    rnd=0,
                )
                rr.counter(
                    "db_client_connections_timeouts_total",
                    dict({"__name__": "db_client_connections_timeouts_total"}, **pl),
                    [W.pool_to[key][i] / n[i] for i in range(T)],
                    resets=resets,
                    alive=alive,
                    start=0.0 if p.start >= 0 else rr.rng.randint(0, 40),
                )
            # runtime
            if S.rt == "jvm":
                rr.gauge(
                    "jvm_memory_used_bytes",
                    dict(
                        {"__name__": "jvm_memory_used_bytes"},
                        **base,
                        jvm_memory_type="heap",
                        jvm_memory_pool_name="G1 Old Gen",
                    ),
                    [m * 0.7 if m else None for m in p.mem],
                    sigma=0.02,
                    alive=alive,
                )
                gcf = gc_frac(W, s, p)
                rr.counter(
                    "jvm_gc_duration_seconds_sum",
                    dict(
                        {"__name__": "jvm_gc_duration_seconds_sum"},
                        **base,
                        jvm_gc_name="G1 Young Generation",
                        jvm_gc_action="end of minor GC",
                    ),
                    [g or 0.0 for g in gcf],
                    resets=resets,
                    alive=alive,
                    start=st0([g or 0.0 for g in gcf]),
                )
                rr.gauge(
                    "jvm_cpu_recent_utilization_ratio",
                    dict({"__name__": "jvm_cpu_recent_utilization_ratio"}, **base),
                    [
                        min(1.0, (c or 0) / W.P[s]["limit"]) if c is not None else None
                        for c in rr.pod_cpu(s, p)
                    ],
                    sigma=0.05,
                    alive=alive,
                )
            elif S.rt == "go":
                rr.gauge(
                    "process_runtime_go_goroutines",
                    dict({"__name__": "process_runtime_go_goroutines"}, **base),
                    [25 + pod_conc(W, s, p, i) * 1.1 for i in range(T)],
                    sigma=0.05,
                    alive=alive,
                    rnd=0,
                )
            elif S.rt == "node":
                rr.gauge(
                    "nodejs_eventloop_delay_p99_seconds",
                    dict({"__name__": "nodejs_eventloop_delay_p99_seconds"}, **base),
                    [0.011 + 0.4 * max(0, W.util[s][i] - 0.7) ** 2 for i in range(T)],
                    sigma=0.15,
                    alive=alive,
                )
                rr.gauge(
                    "v8js_memory_heap_used_bytes",
                    dict(
                        {"__name__": "v8js_memory_heap_used_bytes"},
                        **base,
                        v8js_heap_space_name="old_space",
                    ),
                    [m * 0.55 if m else None for m in p.mem],
                    sigma=0.03,
                    alive=alive,
                )
            elif S.rt == "dotnet":
                rr.gauge(
                    "process_runtime_dotnet_thread_pool_queue_length",
                    dict({"__name__": "process_runtime_dotnet_thread_pool_queue_length"}, **base),
                    [max(0.0, pod_conc(W, s, p, i) - 8) for i in range(T)],
                    sigma=0.2,
                    alive=alive,
                    rnd=0,
                )
            elif S.rt == "python":
                rr.gauge(
                    "process_runtime_cpython_memory_bytes",
                    dict({"__name__": "process_runtime_cpython_memory_bytes"}, **base, type="rss"),
                    p.mem,
                    sigma=0.01,
                    alive=alive,
                )


def k8s_otel(rr: R):
    """kubeletstats + k8s_cluster receivers."""
    W = rr.W
    T = W.T
    for s in W.order:
        S = W.svcs[s]
        if not W.pods.get(s) or s in W.hide:
            continue
        for p in rr.pods(s):
            alive = rr.alive(p)
            lab = {
                "k8s_pod_name": p.name,
                "k8s_namespace_name": W.ns,
                "k8s_container_name": s,
                "k8s_node_name": p.node,
            }
            if S.kind in ("app", "edge", "worker", "lb"):
                lab["k8s_deployment_name"] = s
            else:
                lab["k8s_statefulset_name"] = s
            rr.gauge(
                "container_cpu_usage",
                dict({"__name__": "container_cpu_usage"}, **lab),
                rr.pod_cpu(s, p),
                sigma=0.06,
                alive=alive,
            )
            rr.gauge(
                "container_memory_working_set_bytes",
                dict({"__name__": "container_memory_working_set_bytes"}, **lab),
                p.mem,
                sigma=0.01,
                alive=alive,
            )
            rr.sink.add(
                "k8s_container_restarts",
                dict({"__name__": "k8s_container_restarts"}, **lab),
                [float(p.restarts_before(i)) if alive[i] else None for i in range(T)],
            )
            rr.sink.add(
                "k8s_container_memory_limit_bytes",
                dict({"__name__": "k8s_container_memory_limit_bytes"}, **lab),
                [float(W.P[s]["mem_limit"]) if alive[i] else None for i in range(T)],
            )
        if S.kind in ("app", "edge", "worker", "lb"):
            rr.sink.add(
                "k8s_deployment_available",
                {
                    "__name__": "k8s_deployment_available",
                    "k8s_deployment_name": s,
                    "k8s_namespace_name": W.ns,
                },
                [float(sum(1 for p in W.pods[s] if p.ready(i))) for i in range(T)],
            )
    nc, cores = rr.node_cpu()
    for n in W.nodes:
        rr.gauge(
            "k8s_node_cpu_utilization_ratio",
            {"__name__": "k8s_node_cpu_utilization_ratio", "k8s_node_name": n},
            nc[n],
            sigma=0.0,
        )
        rtr = W.infra.get(("node_retrans", n)) or [rr.rng.uniform(0.5, 3.0)] * T
        rr.counter(
            "system_network_tcp_retransmits_total",
            {"__name__": "system_network_tcp_retransmits_total", "host_name": n},
            rtr,
        )


def render_payplat(W):
    rr = R(W, "export")
    T = W.T
    otel_apps(rr)
    k8s_otel(rr)
    for s in W.order:
        S = W.svcs[s]
        if s in W.hide:
            continue
        down = W.K("down", s)
        alive = [down[i] < 0.5 and W.ready[s][i] > 0 for i in range(T)]
        if S.rt == "postgres":
            lab = {
                "service_name": s,
                "postgresql_database_name": "ledger",
                "job": "otel-collector/postgresql",
            }
            conns = db_conns(W, s)
            rr.gauge(
                "postgresql_backends",
                dict({"__name__": "postgresql_backends"}, **lab),
                [c + 3 for c in conns],
                sigma=0.04,
                alive=alive,
                rnd=0,
            )
            rr.sink.add(
                "postgresql_connection_max",
                dict({"__name__": "postgresql_connection_max"}, **lab),
                [float(W.P[s]["maxconn"]) if a else None for a in alive],
            )
            rr.counter(
                "postgresql_commits_total",
                dict({"__name__": "postgresql_commits_total"}, **lab),
                [W.rin[s][i] / 4 for i in range(T)],
                alive=alive,
            )
            rr.counter(
                "postgresql_operations_total",
                dict({"__name__": "postgresql_operations_total"}, **lab, operation="upd"),
                [W.rin[s][i] / 8 for i in range(T)],
                alive=alive,
            )
            rr.gauge(
                "postgresql_rows",
                dict({"__name__": "postgresql_rows"}, **lab, state="dead"),
                [2e5 + 40 * i for i in range(T)],
                sigma=0.01,
                alive=alive,
                rnd=0,
            )
        elif S.rt == "redis":
            lab = {
                "service_name": s,
                "server_address": f"{s}.{W.ns}.svc.cluster.local",
                "server_port": "6379",
                "job": "otel-collector/redis",
            }
            hit, mem, ev = cache_stats(W, s)
            rr.gauge(
                "redis_clients_connected",
                dict({"__name__": "redis_clients_connected"}, **lab),
                [sum(max(1, W.svcs[c].replicas) * 10 for c, _d in S.callers)] * T,
                sigma=0.03,
                alive=alive,
                rnd=0,
            )
            rr.gauge(
                "redis_memory_used_bytes",
                dict({"__name__": "redis_memory_used_bytes"}, **lab),
                [m * 3 * 2**30 for m in mem],
                sigma=0.005,
                alive=alive,
            )
            rr.counter(
                "redis_commands_processed_total",
                dict({"__name__": "redis_commands_processed_total"}, **lab),
                W.rin[s],
                alive=alive,
            )
            rr.counter(
                "redis_keys_evicted_total",
                dict({"__name__": "redis_keys_evicted_total"}, **lab),
                ev,
                alive=alive,
                start=0.0,
            )
            rr.counter(
                "redis_cpu_time_seconds_total",
                dict({"__name__": "redis_cpu_time_seconds_total"}, **lab, state="sys"),
                [min(1.0, W.cpu[s][i]) for i in range(T)],
                alive=alive,
            )
            upt = []
            u0 = rr.rng.uniform(1e5, 3e6)
            for i in range(T):
                u0 = u0 + W.step if alive[i] else 0.0
                upt.append(u0 if alive[i] else None)
            rr.sink.add(
                "redis_uptime_seconds_total",
                dict({"__name__": "redis_uptime_seconds_total"}, **lab),
                upt,
            )
        elif S.rt == "rabbitmq":
            for (w, q), bl in sorted(W.backlog.items()):
                if q != s:
                    continue
                lab = {
                    "service_name": s,
                    "rabbitmq_queue_name": f"{w}.requests",
                    "rabbitmq_vhost_name": "payplat",
                    "job": "otel-collector/rabbitmq",
                }
                rr.gauge(
                    "rabbitmq_message_current",
                    dict({"__name__": "rabbitmq_message_current"}, **lab, state="ready"),
                    bl,
                    sigma=0.02,
                    rnd=0,
                )
                rr.gauge(
                    "rabbitmq_consumer_count",
                    dict({"__name__": "rabbitmq_consumer_count"}, **lab),
                    [float(sum(1 for p in W.pods[w] if p.ready(i))) for i in range(T)],
                    sigma=0,
                )
                rr.counter(
                    "rabbitmq_message_acknowledged_total",
                    dict({"__name__": "rabbitmq_message_acknowledged_total"}, **lab),
                    [W.rin[w][i] * (1 - W.err[w][i]) for i in range(T)],
                )
                rr.counter(
                    "rabbitmq_message_published_total",
                    dict({"__name__": "rabbitmq_message_published_total"}, **lab),
                    W.produced[s],
                )
        elif S.kind == "lb":
            # envoy native stats
            for p in rr.pods(s):
                share = pod_share(W, s, p)
                for d in S.deps:
                    codes = lb_edge_codes(W, s, d.target)
                    for cls in ("2", "4", "5"):
                        arr = [
                            sum(v[i] for c, v in codes.items() if c[0] == cls) * share[i]
                            for i in range(T)
                        ]
                        rr.counter(
                            "envoy_cluster_upstream_rq_xx",
                            {
                                "__name__": "envoy_cluster_upstream_rq_xx",
                                "envoy_cluster_name": d.target,
                                "envoy_response_code_class": cls,
                                "job": "edge-proxy",
                                "pod": p.name,
                            },
                            arr,
                        )
                    key = (s, d.target)
                    rr.counter(
                        "envoy_cluster_upstream_rq_timeout",
                        {
                            "__name__": "envoy_cluster_upstream_rq_timeout",
                            "envoy_cluster_name": d.target,
                            "job": "edge-proxy",
                            "pod": p.name,
                        },
                        [
                            W.out[key][i] * W.oerr[key][i] * share[i]
                            if W.omode[key][i] == "timeout"
                            else 0.0
                            for i in range(T)
                        ],
                    )
                    rr.counter(
                        "envoy_cluster_upstream_rq_time_sum",
                        {
                            "__name__": "envoy_cluster_upstream_rq_time_sum",
                            "envoy_cluster_name": d.target,
                            "job": "edge-proxy",
                            "pod": p.name,
                        },
                        [W.out[key][i] * share[i] * W.olat[key][i] * 1000 for i in range(T)],
                    )
                    rr.counter(
                        "envoy_cluster_upstream_rq_time_count",
                        {
                            "__name__": "envoy_cluster_upstream_rq_time_count",
                            "envoy_cluster_name": d.target,
                            "job": "edge-proxy",
                            "pod": p.name,
                        },
                        [W.out[key][i] * share[i] for i in range(T)],
                    )
    cert_manager(
        rr,
        [
            ("payplat-edge-public", "edge-proxy"),
            ("ledger-grpc-tls", "ledger"),
            ("payments-core-tls", "payments-core"),
        ],
    )
    # httpcheck receiver on the public edge and a few vendors
    for url, s in [
        ("https://api.paynova.io/health", "merchant-api"),
        ("https://gw.acquirer-europe.net/status", "acquirer-gw"),
    ]:
        lab = {"http_url": url, "http_method": "GET", "job": "otel-collector/httpcheck"}
        rr.gauge(
            "httpcheck_duration_milliseconds",
            dict({"__name__": "httpcheck_duration_milliseconds"}, **lab),
            [W.lat[s][i] * 1000 * 2 + 30 for i in range(T)],
            sigma=0.2,
        )
        rr.sink.add(
            "httpcheck_status",
            dict(
                {"__name__": "httpcheck_status"},
                **lab,
                http_status_class="2xx",
                http_status_code="200",
            ),
            [0.0 if rr.rng.random() < W.err[s][i] else 1.0 for i in range(T)],
        )
    return rr.sink


# ---- Datadog (metrics exported through the query API) ------------------------------------

DD_OP = {
    "node": "express.request",
    "go": "http.request",
    "jvm": "servlet.request",
    "python": "flask.request",
    "dotnet": "aspnet_core.request",
}


def render_stream(W):
    rr = R(W, "export")
    T = W.T
    env = "prod"
    for s in W.order:
        S = W.svcs[s]
        if s in W.hide:
            continue
        if S.kind in ("edge", "app", "worker") and s not in W.sparse:
            op = DD_OP.get(S.rt, "http.request")
            versions = sorted(
                {
                    W.pod_version(p, i)
                    for p in W.pods[s]
                    for i in range(0, T, max(1, T // 40))
                    if p.alive(i)
                }
            )
            for v in versions:
                hits, errs = [0.0] * T, [0.0] * T
                for i in range(T):
                    for p in W.pods[s]:
                        if not p.ready(i) or W.pod_version(p, i) != v:
                            continue
                        n = max(1, sum(1 for q in W.pods[s] if q.ready(i)))
                        hits[i] += W.rin[s][i] / n
                        errs[i] += W.rin[s][i] / n * pod_err(W, s, p, i)
                if S.kind == "worker":
                    op2 = "kafka.consume"
                else:
                    op2 = op
                lab = {
                    "service": s,
                    "env": env,
                    "version": v,
                    "span_kind": "server" if S.kind != "worker" else "consumer",
                }
                alive = [h > 0 for h in hits]
                rr.gauge(
                    f"trace.{op2}.hits",
                    dict({"__name__": f"trace.{op2}.hits"}, **lab),
                    hits,
                    sigma=0.04,
                    alive=alive,
                )
                rr.gauge(
                    f"trace.{op2}.errors",
                    dict({"__name__": f"trace.{op2}.errors"}, **lab),
                    errs,
                    sigma=0.15,
                    alive=alive,
                )
            p99 = W.p99[s]
            rr.gauge(
                f"trace.{DD_OP.get(S.rt, 'http.request') if S.kind != 'worker' else 'kafka.consume'}.duration.by.service.99p",
                {
                    "__name__": f"trace.{DD_OP.get(S.rt, 'http.request') if S.kind != 'worker' else 'kafka.consume'}.duration.by.service.99p",
                    "service": s,
                    "env": env,
                },
                p99,
                sigma=0.08,
            )
            # client spans: datadog's inferred services for data stores, peer.service for HTTP
            for d in S.deps:
                D = W.svcs[d.target]
                key = (s, d.target)
                if d.consume:
                    continue
                if D.kind in ("db", "cache", "queue"):
                    kind = {
                        "mongo": ("mongodb.query", "mongodb"),
                        "rds-postgres": ("postgres.query", "postgres"),
                        "memcached": ("memcached.command", "memcached"),
                        "kafka": ("kafka.produce", "kafka"),
                    }[D.rt]
                    svcname = f"{s}-{kind[1]}"
                    lab = {"service": svcname, "env": env, "peer_service": d.target}
                else:
                    kind = ("http.request", "http")
                    lab = {
                        "service": s,
                        "env": env,
                        "span_kind": "client",
                        "peer_service": d.target,
                    }
                if D.kind == "external" or D.kind in ("db", "cache", "queue") or S.rt != "go":
                    n = f"trace.{kind[0]}"
                    rr.gauge(
                        n + ".hits", dict({"__name__": n + ".hits"}, **lab), W.out[key], sigma=0.04
                    )
                    rr.gauge(
                        n + ".errors",
                        dict({"__name__": n + ".errors"}, **lab),
                        [W.out[key][i] * W.oerr[key][i] for i in range(T)],
                        sigma=0.15,
                    )
                    rr.gauge(
                        n + ".duration.by.service.99p",
                        dict({"__name__": n + ".duration.by.service.99p"}, **lab),
                        [W.olat[key][i] * (3.5 if D.kind != "external" else 2.5) for i in range(T)],
                        sigma=0.1,
                    )
        if S.kind in ("edge", "app", "worker") and s not in W.hide:
            for p in rr.pods(s):
                alive = rr.alive(p)
                lab = {
                    "kube_deployment": s,
                    "kube_namespace": W.ns,
                    "pod_name": p.name,
                    "kube_container_name": s,
                    "host": p.node,
                    "service": s,
                    "env": env,
                    "version": W.pod_version(p, max(0, p.start)),
                }
                rr.gauge(
                    "kubernetes.cpu.usage.total",
                    dict({"__name__": "kubernetes.cpu.usage.total"}, **lab),
                    [c * 1e9 if c is not None else None for c in rr.pod_cpu(s, p)],
                    sigma=0.06,
                    alive=alive,
                )
                rr.gauge(
                    "kubernetes.memory.working_set",
                    dict({"__name__": "kubernetes.memory.working_set"}, **lab),
                    p.mem,
                    sigma=0.01,
                    alive=alive,
                )
                rr.sink.add(
                    "kubernetes.containers.restarts",
                    dict({"__name__": "kubernetes.containers.restarts"}, **lab),
                    [float(p.restarts_before(i)) if alive[i] else None for i in range(T)],
                )
                rr.sink.add(
                    "kubernetes.memory.limits",
                    dict({"__name__": "kubernetes.memory.limits"}, **lab),
                    [float(W.P[s]["mem_limit"]) if alive[i] else None for i in range(T)],
                )
                rr.gauge(
                    "kubernetes.cpu.cfs.throttled.periods",
                    dict({"__name__": "kubernetes.cpu.cfs.throttled.periods"}, **lab),
                    [x * 10 if x is not None else None for x in rr.pod_throttle(s, p)],
                    sigma=0.1,
                    alive=alive,
                )
                rl = dict(service=s, env=env, pod_name=p.name, version=lab["version"])
                if S.rt == "jvm":
                    rr.gauge(
                        "jvm.heap_memory",
                        dict({"__name__": "jvm.heap_memory"}, **rl),
                        [m * 0.7 if m else None for m in p.mem],
                        sigma=0.02,
                        alive=alive,
                    )
                    rr.gauge(
                        "jvm.gc.major_collection_time",
                        dict({"__name__": "jvm.gc.major_collection_time"}, **rl),
                        [g * 1000 if g is not None else None for g in gc_frac(W, s, p)],
                        sigma=0.2,
                        alive=alive,
                    )
                elif S.rt == "node":
                    rr.gauge(
                        "runtime.node.event_loop.delay.max",
                        dict({"__name__": "runtime.node.event_loop.delay.max"}, **rl),
                        [(0.03 + 0.8 * max(0, W.util[s][i] - 0.7) ** 2) * 1e9 for i in range(T)],
                        sigma=0.2,
                        alive=alive,
                    )
                    rr.gauge(
                        "runtime.node.heap.used",
                        dict({"__name__": "runtime.node.heap.used"}, **rl),
                        [m * 0.55 if m else None for m in p.mem],
                        sigma=0.02,
                        alive=alive,
                    )
                elif S.rt == "go":
                    rr.gauge(
                        "runtime.go.num_goroutine",
                        dict({"__name__": "runtime.go.num_goroutine"}, **rl),
                        [25 + pod_conc(W, s, p, i) * 1.1 for i in range(T)],
                        sigma=0.05,
                        alive=alive,
                        rnd=0,
                    )
                elif S.rt == "python":
                    rr.gauge(
                        "runtime.python.mem.rss",
                        dict({"__name__": "runtime.python.mem.rss"}, **rl),
                        p.mem,
                        sigma=0.01,
                        alive=alive,
                    )
            rr.sink.add(
                "kubernetes_state.deployment.replicas_available",
                {
                    "__name__": "kubernetes_state.deployment.replicas_available",
                    "kube_deployment": s,
                    "kube_namespace": W.ns,
                    "env": env,
                },
                [float(sum(1 for p in W.pods[s] if p.ready(i))) for i in range(T)],
            )
        down = W.K("down", s)
        alive = [down[i] < 0.5 for i in range(T)]
        if S.rt == "mongo":
            for k in range(3):
                lab = {
                    "service": s,
                    "env": env,
                    "replset_name": "rs0",
                    "replset_state": "primary" if k == 0 else "secondary",
                    "host": f"{s}-{k}",
                    "db": "users",
                }
                share = 0.6 if k == 0 else 0.2
                rr.gauge(
                    "mongodb.connections.current",
                    dict({"__name__": "mongodb.connections.current"}, **lab),
                    [
                        sum(W.out[(c, s)][i] * W.olat[(c, s)][i] for c, _d in S.callers) * share
                        + 40
                        for i in range(T)
                    ],
                    sigma=0.05,
                    alive=alive,
                    rnd=0,
                )
                rr.gauge(
                    "mongodb.opcounters.queryps",
                    dict({"__name__": "mongodb.opcounters.queryps"}, **lab),
                    [W.rin[s][i] * share for i in range(T)],
                    sigma=0.05,
                    alive=alive,
                )
                rr.gauge(
                    "mongodb.oplatencies.reads.latencyps",
                    dict({"__name__": "mongodb.oplatencies.reads.latencyps"}, **lab),
                    [W.lat[s][i] * 1e6 for i in range(T)],
                    sigma=0.1,
                    alive=alive,
                )
            for pk, p in enumerate(rr.pods(s) or []):
                pass
        elif S.rt == "rds-postgres":
            lab = {
                "dbinstanceidentifier": s,
                "region": "us-east-1",
                "engine": "postgres",
                "dbinstanceclass": "db.r6g.2xlarge",
                "name": s,
            }
            rr.gauge(
                "aws.rds.cpuutilization",
                dict({"__name__": "aws.rds.cpuutilization"}, **lab),
                [min(100.0, W.util[s][i] * 100) for i in range(T)],
                sigma=0.04,
            )
            rr.gauge(
                "aws.rds.database_connections",
                dict({"__name__": "aws.rds.database_connections"}, **lab),
                [c + 4 for c in db_conns(W, s)],
                sigma=0.03,
                rnd=0,
            )
            rr.gauge(
                "aws.rds.read_latency",
                dict({"__name__": "aws.rds.read_latency"}, **lab),
                [0.0006 + W.lat[s][i] * 0.1 for i in range(T)],
                sigma=0.1,
            )
            rr.gauge(
                "aws.rds.read_iops",
                dict({"__name__": "aws.rds.read_iops"}, **lab),
                [W.rin[s][i] * 0.8 * W.K("cost", s)[i] for i in range(T)],
                sigma=0.08,
            )
            rr.gauge(
                "aws.rds.freeable_memory",
                dict({"__name__": "aws.rds.freeable_memory"}, **lab),
                [9.5e9] * T,
                sigma=0.01,
            )
            pl = {
                "service": s,
                "env": env,
                "db": "catalog",
                "host": f"{s}.cx2lq9shbm3k.us-east-1.rds.amazonaws.com",
            }
            rr.gauge(
                "postgresql.percent_usage_connections",
                dict({"__name__": "postgresql.percent_usage_connections"}, **pl),
                [(c + 4) / W.P[s]["maxconn"] for c in db_conns(W, s)],
                sigma=0.03,
            )
            rr.gauge(
                "postgresql.active_queries",
                dict({"__name__": "postgresql.active_queries"}, **pl),
                db_active(W, s),
                sigma=0.1,
                rnd=0,
            )
        elif S.rt == "memcached":
            hit, mem, ev = cache_stats(W, s)
            lab = {"service": s, "env": env, "url": f"{s}:11211"}
            rr.gauge(
                "memcache.get_hits_rate",
                dict({"__name__": "memcache.get_hits_rate"}, **lab),
                [W.rin[s][i] * hit[i] for i in range(T)],
                sigma=0.05,
                alive=alive,
            )
            rr.gauge(
                "memcache.get_misses_rate",
                dict({"__name__": "memcache.get_misses_rate"}, **lab),
                [W.rin[s][i] * (1 - hit[i]) for i in range(T)],
                sigma=0.05,
                alive=alive,
            )
            rr.gauge(
                "memcache.evictions_rate",
                dict({"__name__": "memcache.evictions_rate"}, **lab),
                ev,
                sigma=0.1,
                alive=alive,
            )
            rr.gauge(
                "memcache.curr_connections",
                dict({"__name__": "memcache.curr_connections"}, **lab),
                [300.0] * T,
                sigma=0.03,
                alive=alive,
                rnd=0,
            )
        elif S.rt == "kafka":
            for (w, q), bl in sorted(W.backlog.items()):
                if q == s:
                    rr.gauge(
                        "kafka.consumer_lag",
                        {
                            "__name__": "kafka.consumer_lag",
                            "consumer_group": w,
                            "topic": W.topic(),
                            "service": s,
                            "env": env,
                        },
                        bl,
                        sigma=0.05,
                        rnd=0,
                    )
            rr.sink.add(
                "kafka.replication.under_replicated_partitions",
                {
                    "__name__": "kafka.replication.under_replicated_partitions",
                    "service": s,
                    "env": env,
                },
                W.infra.get((s, "urp")) or [0.0] * T,
            )
            rr.gauge(
                "kafka.net.bytes_in.rate",
                {"__name__": "kafka.net.bytes_in.rate", "service": s, "env": env},
                [x * 900 for x in W.produced[s]],
                sigma=0.05,
            )
        elif S.kind == "external":
            host = host_of(W, s)
            lab = {"url": f"https://{host}/health", "instance": s, "target_host": host}
            rr.sink.add(
                "http.can_connect",
                dict({"__name__": "http.can_connect"}, **lab),
                [0.0 if rr.rng.random() < W.err[s][i] * 0.8 else 1.0 for i in range(T)],
            )
            rr.gauge(
                "network.http.response_time",
                dict({"__name__": "network.http.response_time"}, **lab),
                [W.lat[s][i] * 1.2 for i in range(T)],
                sigma=0.15,
            )
            exp = W.cert_expiry.get(s) or (W.t0 + seeded(W.id, s).uniform(30, 200) * 86400)
            rr.gauge(
                "tls.days_left",
                {"__name__": "tls.days_left", "server_name": host, "instance": s},
                [(exp - W.ts(i)) / 86400 for i in range(T)],
                sigma=0.0,
            )
    # hosts
    nc, cores = rr.node_cpu()
    for n in W.nodes:
        rr.gauge(
            "system.cpu.user",
            {"__name__": "system.cpu.user", "host": n, "env": env},
            [x * 100 * 0.8 for x in nc[n]],
            sigma=0.0,
        )
        rr.gauge(
            "system.net.tcp.retrans_segs",
            {"__name__": "system.net.tcp.retrans_segs", "host": n, "env": env},
            W.infra.get(("node_retrans", n)) or [rr.rng.uniform(0.5, 3.0)] * T,
            sigma=0.3,
        )
    return rr.sink


# ---- CloudWatch through YACE, plus ADOT (OpenTelemetry) app metrics ------------------------


def render_logistics(W):
    rr = R(W, "export")
    T = W.T
    otel_apps(rr, ecs=True)
    per = max(1, int(round(60 / W.step)))
    lag = rr.rng.randint(3, 6) * 60  # CloudWatch data arrives late

    def cw(name, labels, arr, sigma=0.03, stat="avg"):
        # one value per 60 s period, repeated at the query step; the newest periods are missing
        vals = []
        cur = None
        for i in range(T):
            if i % per == 0:
                blk = [x for x in arr[i : i + per] if x is not None]
                cur = (
                    (
                        sum(blk) / len(blk)
                        if stat == "avg"
                        else sum(blk) * W.step
                        if stat == "sum"
                        else max(blk)
                    )
                    if blk
                    else None
                )
                if cur is not None:
                    cur *= math.exp(rr.rng.gauss(0, sigma))
            vals.append(cur if W.ts(i) < W.ts(T - 1) - lag else None)
        lab = dict(
            {"__name__": name, "job": "yace", "region": "us-west-2", "account_id": "381492011874"},
            **labels,
        )
        rr.sink.add(name, lab, vals)

    lbarn = "app/logistics-public/50dc6c495c0c9188"
    alb = "public-alb"
    for d in W.svcs[alb].deps:
        tg = f"targetgroup/{d.target}-tg/{hexid(seeded(W.id, d.target), 16)}"
        lab = {
            "dimension_LoadBalancer": lbarn,
            "dimension_TargetGroup": tg,
            "name": f"arn:aws:elasticloadbalancing:us-west-2:381492011874:{tg}",
        }
        codes = lb_edge_codes(W, alb, d.target)
        cw(
            "aws_applicationelb_request_count_sum",
            lab,
            [sum(v[i] for v in codes.values()) for i in range(T)],
            stat="sum",
        )
        cw(
            "aws_applicationelb_httpcode_target_5_xx_count_sum",
            lab,
            [
                sum(v[i] for c, v in codes.items() if c in ("500", "503"))
                * (0 if W.omode[(alb, d.target)][i] in ("timeout", "refused") else 1)
                for i in range(T)
            ],
            stat="sum",
            sigma=0.1,
        )
        cw(
            "aws_applicationelb_httpcode_elb_5_xx_count_sum",
            lab,
            [
                sum(v[i] for c, v in codes.items() if c in ("502", "504"))
                + (
                    W.out[(alb, d.target)][i] * W.oerr[(alb, d.target)][i]
                    if W.omode[(alb, d.target)][i] in ("timeout", "refused")
                    else 0
                )
                for i in range(T)
            ],
            stat="sum",
            sigma=0.1,
        )
        cw(
            "aws_applicationelb_target_response_time_average",
            lab,
            W.olat[(alb, d.target)],
            sigma=0.05,
        )
        cw(
            "aws_applicationelb_target_response_time_p99",
            lab,
            [W.olat[(alb, d.target)][i] * W.P[d.target]["p99f"] for i in range(T)],
            sigma=0.08,
        )
        cw(
            "aws_applicationelb_healthy_host_count_average",
            lab,
            [float(sum(1 for p in W.pods[d.target] if p.ready(i))) for i in range(T)],
            sigma=0,
        )
        cw(
            "aws_applicationelb_un_healthy_host_count_average",
            lab,
            [
                float(W.svcs[d.target].replicas - sum(1 for p in W.pods[d.target] if p.ready(i)))
                for i in range(T)
            ],
            sigma=0,
        )
    for s in W.order:
        S = W.svcs[s]
        if s in W.hide:
            continue
        if S.kind in ("edge", "app", "worker") and S.rt != "lambda":
            lab = {"dimension_ClusterName": "logistics-prod", "dimension_ServiceName": s}
            cw(
                "aws_ecs_cpuutilization_average",
                lab,
                [
                    min(100.0, W.cpu[s][i] / max(0.1, W.P[s]["cap"] * W.ready[s][i] or 0.1) * 100)
                    for i in range(T)
                ],
                sigma=0.05,
            )
            cw(
                "aws_ecs_memory_utilization_average",
                lab,
                [
                    sum((p.mem[i] or 0) for p in W.pods[s] if p.mem and p.alive(i))
                    / max(1, sum(1 for p in W.pods[s] if p.alive(i)))
                    / W.P[s]["mem_limit"]
                    * 100
                    for i in range(T)
                ],
                sigma=0.02,
            )
            cw(
                "aws_ecs_containerinsights_running_task_count_average",
                lab,
                [float(sum(1 for p in W.pods[s] if p.ready(i))) for i in range(T)],
                sigma=0,
            )
        elif S.rt == "lambda":
            lab = {"dimension_FunctionName": s.replace("lambda-", "")}
            cw("aws_lambda_invocations_sum", lab, W.rin[s], stat="sum")
            cw(
                "aws_lambda_errors_sum",
                lab,
                [W.rin[s][i] * W.err[s][i] for i in range(T)],
                stat="sum",
                sigma=0.1,
            )
            cw("aws_lambda_duration_p99", lab, [W.p99[s][i] * 1000 for i in range(T)], sigma=0.08)
            cw("aws_lambda_throttles_sum", lab, [0.0] * T, stat="sum")
            cw(
                "aws_lambda_concurrent_executions_maximum",
                lab,
                [W.rin[s][i] * W.lat[s][i] * 1.5 + 1 for i in range(T)],
                stat="max",
            )
        elif S.rt == "rds-mysql":
            lab = {"dimension_DBInstanceIdentifier": s}
            cw(
                "aws_rds_cpuutilization_average",
                lab,
                [min(100.0, W.util[s][i] * 100) for i in range(T)],
                sigma=0.04,
            )
            cw(
                "aws_rds_database_connections_average",
                lab,
                [c + 3 if W.K("down", s)[i] < 0.5 else 0.0 for i, c in enumerate(db_conns(W, s))],
                sigma=0.03,
            )
            cw(
                "aws_rds_read_latency_average",
                lab,
                [0.0008 + W.lat[s][i] * 0.1 for i in range(T)],
                sigma=0.1,
            )
            cw(
                "aws_rds_write_latency_average",
                lab,
                [0.0012 + W.lat[s][i] * 0.15 for i in range(T)],
                sigma=0.1,
            )
            cw("aws_rds_freeable_memory_average", lab, [6.2e9] * T, sigma=0.01)
            cw(
                "aws_rds_free_storage_space_average",
                lab,
                [180e9 - i * 1e5 for i in range(T)],
                sigma=0.0005,
            )
        elif S.rt == "redis":
            lab = {
                "dimension_CacheClusterId": "logistics-redis-001",
                "dimension_CacheNodeId": "0001",
            }
            hit, mem, ev = cache_stats(W, s)
            cw(
                "aws_elasticache_engine_cpuutilization_average",
                lab,
                [min(100.0, W.util[s][i] * 100) for i in range(T)],
                sigma=0.05,
            )
            cw(
                "aws_elasticache_curr_connections_average",
                lab,
                [
                    sum(max(1, W.svcs[c].replicas) * 6 for c, _d in S.callers)
                    * (0 if W.K("down", s)[i] > 0.5 else 1)
                    for i in range(T)
                ],
                sigma=0.02,
            )
            cw("aws_elasticache_evictions_sum", lab, ev, stat="sum")
            cw("aws_elasticache_cache_hit_rate_average", lab, [h * 100 for h in hit], sigma=0.01)
        elif S.rt == "sqs":
            for (w, q), bl in sorted(W.backlog.items()):
                if q != s:
                    continue
                lab = {"dimension_QueueName": "dispatch-events"}
                cw("aws_sqs_approximate_number_of_messages_visible_average", lab, bl, sigma=0.02)
                cw(
                    "aws_sqs_approximate_age_of_oldest_message_maximum",
                    lab,
                    [bl[i] / max(0.5, W.produced[s][i]) + 2 for i in range(T)],
                    sigma=0.05,
                    stat="max",
                )
                cw("aws_sqs_number_of_messages_sent_sum", lab, W.produced[s], stat="sum")
    return rr.sink


RENDER = {
    "shop": render_shop,
    "saas": render_saas,
    "rides": render_rides,
    "small": render_small,
    "payplat": render_payplat,
    "stream": render_stream,
    "logistics": render_logistics,
}


# --------------------------------------------------------------------------------------
# traces
# --------------------------------------------------------------------------------------


def gen_traces(W):
    fmt = W.sd.get("traces")
    if not fmt or W.no_traces:
        return []
    rng = sub_rng(W.rng, "traces")
    T = W.T
    roots = [s for s in W.order if W.svcs[s].kind == "edge"] or W.entries
    cands = []
    for n in range(320):
        i = rng.randrange(T)
        s = rng.choice(roots)
        spans = []
        tid = hexid(rng, 32)
        start = W.ts(i) + rng.uniform(0, W.step)
        res = trace_span(W, rng, s, i, start, None, tid, spans, 0)
        cands.append((res[1], res[0], i, spans))
    errs = [c for c in cands if c[0]]
    rest = [c for c in cands if not c[0]]
    rest.sort(key=lambda c: -c[1])
    picked = errs[:50] + rest[:20]
    others = rest[20:]
    rng.shuffle(others)
    picked += others[:40]
    out = []
    for c in picked:
        out.extend(c[3])
    out.sort(key=lambda sp: sp["_start"])
    return [format_span(W, fmt, sp, rng) for sp in out]


def trace_span(W, rng, s, i, start, parent, tid, spans, depth, client_timeout=None):
    """returns (duration_s, error) of the server span of s."""
    S = W.svcs[s]
    sid = hexid(rng, 16)
    own = max(0.0003, W.own_lat[s][i] * rng.expovariate(1.0) ** 0.5 * 1.1)
    mix = W.emix[s][i] or []
    p_own = sum(fr for fr, _c, cause in mix if cause[0] == "own")
    own_fail = rng.random() < p_own
    pod = None
    ready = [p for p in W.pods.get(s, []) if p.ready(i)]
    if ready:
        pod = rng.choice(ready)
    t = start + own * 0.3
    err = own_fail
    msg = None
    if own_fail:
        c = [cause for fr, _c, cause in mix if cause[0] == "own"]
        msg = own_err_text(W, s, c[0][1], rng, i)[1] if c else "internal error"
    if depth < 6 and not own_fail:
        for d in S.deps:
            if d.consume:
                continue
            D = W.svcs[d.target]
            calls = d.calls * W.K("callm", (s, d.target))[i]
            n = int(calls) + (1 if rng.random() < calls - int(calls) else 0)
            if D.kind == "cache":
                n = min(n, 1)
            n = min(n, 2 if depth < 2 else 1)
            for _ in range(n):
                key = (s, d.target)
                cs = hexid(rng, 16)
                netl = W.K("netlat", key)[i] + W.K("netlat", d.target)[i]
                to = W.K("timeout", key)[i] or d.timeout or 30.0
                cerr, cmsg = False, None
                hard = W.K("down", d.target)[i] + (
                    0 if not W.pods.get(d.target) else (1 - min(1.0, W.ready[d.target][i] * 4))
                )
                tlsf = W.K("tls", d.target)[i] + W.K("tls", key)[i]
                bh = W.K("blackhole", d.target)[i]
                ne = W.K("neterr", key)[i] + W.K("neterr", d.target)[i]
                if D.kind in ("app", "edge", "worker") or (D.kind == "external" and False):
                    if rng.random() < hard:
                        dur, cerr, cmsg = (
                            rng.uniform(0.001, 0.01),
                            True,
                            dep_err_text(W, s, d.target, "refused", rng, i)[1],
                        )
                    elif rng.random() < tlsf:
                        dur, cerr, cmsg = (
                            rng.uniform(0.002, 0.02),
                            True,
                            dep_err_text(W, s, d.target, "tls", rng, i)[1],
                        )
                    elif rng.random() < bh:
                        dur, cerr, cmsg = (
                            to,
                            True,
                            dep_err_text(W, s, d.target, "timeout", rng, i)[1],
                        )
                    else:
                        sdur, serr = trace_span(
                            W, rng, d.target, i, t + netl / 2 + 0.0002, cs, tid, spans, depth + 1
                        )
                        dur = sdur + netl + 0.0004 * rng.uniform(0.5, 2)
                        cerr = serr
                        if serr:
                            cmsg = "upstream returned 5xx"
                        if dur > to:
                            dur, cerr, cmsg = (
                                to,
                                True,
                                dep_err_text(W, s, d.target, "timeout", rng, i)[1],
                            )
                        elif rng.random() < ne:
                            cerr, cmsg = True, dep_err_text(W, s, d.target, "reset", rng, i)[1]
                else:
                    # leaf: data store or vendor, client span only
                    lo = W.olat[key][i]
                    dur = max(0.0002, lo * rng.expovariate(1.0) ** 0.6)
                    cerr = rng.random() < W.oerr[key][i]
                    if cerr:
                        cmsg = dep_err_text(W, s, d.target, W.omode[key][i] or "5xx", rng, i)[1]
                        if W.omode[key][i] == "timeout":
                            dur = to
                spans.append(
                    dict(
                        _start=t,
                        trace_id=tid,
                        span_id=cs,
                        parent_id=sid,
                        service=s,
                        name=span_name(W, s, d.target, D),
                        duration_ms=dur * 1000,
                        status="error" if cerr else "ok",
                        kind="client",
                        peer=d.target,
                        msg=cmsg,
                        pod=pod.name if pod else None,
                        _tick=i,
                    )
                )
                t += dur + 0.0003
                if cerr and rng.random() < d.crit:
                    err = True
                    msg = msg or cmsg
                    break
            if err:
                break
    dur = (t - start) + own * 0.7
    if client_timeout and dur > client_timeout:
        pass
    name = {
        "edge": "GET /api/v1/" + s.split("-")[0],
        "app": "POST /internal/" + s.split("-")[0],
        "worker": "process " + s,
    }.get(S.kind, s)
    spans.append(
        dict(
            _start=start,
            trace_id=tid,
            span_id=sid,
            parent_id=parent,
            service=s,
            name=name,
            duration_ms=dur * 1000,
            status="error" if err else "ok",
            kind="server",
            peer=None,
            msg=msg,
            pod=pod.name if pod else None,
            _tick=i,
        )
    )
    return dur, err


def span_name(W, s, d, D):
    if D.kind == "db":
        return {"mongo": "mongodb.find", "elastic": "elasticsearch.search"}.get(
            D.rt, "SELECT " + d.split("-")[0]
        )
    if D.kind == "cache":
        return "GET" if D.rt == "redis" else "memcached.get"
    if D.kind == "queue":
        return f"{W.topic()} publish"
    return "POST" if D.kind == "external" else f"POST /internal/{d.split('-')[0]}"


def format_span(W, fmt, sp, rng):
    st = sp["_start"]
    D = W.svcs[sp["peer"]] if sp["peer"] else None
    attrs = {}
    if sp["pod"]:
        attrs["aws.ecs.task.id" if W.sd["nodes"] == "ecs" else "k8s.pod.name"] = sp["pod"].split(
            "/"
        )[-1]
    if sp["peer"]:
        attrs["peer.service"] = sp["peer"]
        if D.kind == "db":
            attrs["db.system"] = {
                "rds-postgres": "postgresql",
                "postgres": "postgresql",
                "rds-mysql": "mysql",
                "mysql": "mysql",
                "mongo": "mongodb",
                "elastic": "elasticsearch",
            }.get(D.rt, D.rt)
        elif D.kind == "cache":
            attrs["db.system"] = D.rt
        elif D.kind == "queue":
            attrs["messaging.system"] = D.rt
        else:
            attrs["server.address"] = host_of(W, sp["peer"])
    if sp["msg"] and sp["status"] == "error":
        attrs["error.message"] = sp["msg"][:300]
    if fmt == "otel":
        start_ns = int(st * 1e9)
        rec = {
            "traceId": sp["trace_id"],
            "spanId": sp["span_id"],
            "parentSpanId": sp["parent_id"] or "",
            "name": sp["name"],
            "kind": "SPAN_KIND_SERVER" if sp["kind"] == "server" else "SPAN_KIND_CLIENT",
            "startTimeUnixNano": str(start_ns),
            "endTimeUnixNano": str(start_ns + int(sp["duration_ms"] * 1e6)),
            "status": {"code": "STATUS_CODE_ERROR", "message": (sp["msg"] or "")[:200]}
            if sp["status"] == "error"
            else {"code": "STATUS_CODE_UNSET"},
            "service.name": sp["service"],
        }
        rec.update(attrs)
        return rec
    if fmt == "jaeger":
        rec = {
            "traceID": sp["trace_id"][:32],
            "spanID": sp["span_id"],
            "parentId": sp["parent_id"],
            "serviceName": sp["service"],
            "operationName": sp["name"],
            "startTime": int(st * 1e6),
            "duration_us": int(sp["duration_ms"] * 1000),
            "span.kind": sp["kind"],
        }
        if sp["status"] == "error":
            rec["error"] = True
        rec.update(attrs)
        return rec
    rec = {
        "trace_id": sp["trace_id"],
        "span_id": sp["span_id"],
        "parent_id": sp["parent_id"],
        "service": sp["service"],
        "name": sp["name"],
        "start": iso(st, 6),
        "duration_ms": round(sp["duration_ms"], 3),
        "status": sp["status"],
        "span.kind": sp["kind"],
    }
    if fmt == "datadog":
        rec["resource"] = sp["name"]
        rec["env"] = "prod"
    rec.update(attrs)
    return rec


# --------------------------------------------------------------------------------------
# kubernetes events
# --------------------------------------------------------------------------------------


def gen_events(W):
    if not W.sd.get("events"):
        return []
    rng = sub_rng(W.rng, "events")
    T = W.T
    ev = []
    ctx = {
        "shop": "prod-use1",
        "payplat": "gke_paynova-prod_europe-west1_prod",
        "stream": "prod-eks",
        "saas": "aks-weu-prod",
        "rides": "gke_zoomride_asia-south1_prod",
    }[W.sysname]

    def add(i, s, reason, typ, msg, obj, count=1, first=None, **kw):
        ts = W.ts(i) + rng.uniform(0, W.step)
        rec = {
            "ts": iso(ts, 0),
            "service": s,
            "reason": reason,
            "type": typ,
            "message": msg,
            "object": obj,
            "count": count,
            "query": f"kubectl --context {ctx} --namespace {W.ns} get events --field-selector involvedObject.name={obj.split('/')[-1]}",
        }
        if first is not None:
            rec["first_timestamp"] = iso(W.ts(first), 0)
        rec.update(kw)
        ev.append((ts, rec))

    for s in W.order:
        S = W.svcs[s]
        pl = W.pods.get(s) or []
        if not pl or W.sysname in ("small",):
            continue
        # rollouts
        new = [p for p in pl if 0 <= p.start < T]
        by_rs = {}
        for p in new:
            by_rs.setdefault(p.version, []).append(p)
        for v, ps in sorted(by_rs.items()):
            rs = W.rs.get((s, v), "x")
            old = [q for q in pl if q.version != v and q.end is not None]
            orv = old[0].version if old else None
            ors = W.rs.get((s, orv), "y")
            for k, p in enumerate(sorted(ps, key=lambda x: x.start)):
                add(
                    p.start,
                    s,
                    "ScalingReplicaSet",
                    "Normal",
                    f"Scaled up replica set {s}-{rs} to {k + 1}",
                    f"deployment/{s}",
                )
                add(
                    p.start,
                    s,
                    "Scheduled",
                    "Normal",
                    f"Successfully assigned {W.ns}/{p.name} to {p.node}",
                    f"pod/{p.name}",
                )
                add(
                    p.start,
                    s,
                    "Pulled",
                    "Normal",
                    f'Container image "{W.image(s, v)}" already present on machine'
                    if rng.random() < 0.3
                    else f'Successfully pulled image "{W.image(s, v)}" in {rng.uniform(0.8, 9):.3f}s',
                    f"pod/{p.name}",
                )
                add(p.start, s, "Started", "Normal", f"Started container {s}", f"pod/{p.name}")
                if old and k < len(old):
                    add(
                        old[k].end,
                        s,
                        "ScalingReplicaSet",
                        "Normal",
                        f"Scaled down replica set {s}-{ors} to {max(0, len(old) - k - 1)}",
                        f"deployment/{s}",
                    )
                    add(
                        old[k].end,
                        s,
                        "Killing",
                        "Normal",
                        f"Stopping container {s}",
                        f"pod/{old[k].name}",
                    )
        # crashes
        for p in pl:
            firsts = None
            for n, (c, b, reason, code) in enumerate(p.crashes):
                if c >= T or c < 0 or reason in ("Deploy", "NodeLost"):
                    continue
                firsts = c if firsts is None else firsts
                if reason == "OOMKilled":
                    add(
                        c,
                        s,
                        "OOMKilled",
                        "Warning",
                        f"Container {s} exceeded its memory limit ({int(W.P[s]['mem_limit'] / 2**20)}Mi) and was killed",
                        f"pod/{p.name}",
                        count=n + 1,
                        first=firsts,
                        exit_code=137,
                        container=s,
                        restart_count=n + 1,
                        node=p.node,
                    )
                elif reason in ("Liveness", "Killing"):
                    add(
                        max(0, c - 1),
                        s,
                        "Unhealthy",
                        "Warning",
                        f'Liveness probe failed: Get "http://{p.ip}:8080/healthz": context deadline exceeded (Client.Timeout exceeded while awaiting headers)',
                        f"pod/{p.name}",
                        count=3 * (n + 1),
                        first=firsts,
                    )
                    add(
                        c,
                        s,
                        "Killing",
                        "Normal",
                        f"Container {s} failed liveness probe, will be restarted",
                        f"pod/{p.name}",
                        count=n + 1,
                        first=firsts,
                    )
                else:
                    add(
                        c,
                        s,
                        "Error" if code else "Completed",
                        "Warning",
                        f"Container {s} terminated with exit code {code}",
                        f"pod/{p.name}",
                        count=n + 1,
                        first=firsts,
                        exit_code=code,
                        container=s,
                        restart_count=n + 1,
                    )
                if b - c > max(1, W.tick(0.6)) and n >= 1:
                    add(
                        c + 1,
                        s,
                        "BackOff",
                        "Warning",
                        f"Back-off restarting failed container {s} in pod {p.name}_{W.ns}({hexid(rng, 8)}-{hexid(rng, 4)}-{hexid(rng, 4)}-{hexid(rng, 4)}-{hexid(rng, 12)})",
                        f"pod/{p.name}",
                        count=2 * n + 1,
                        first=firsts,
                    )
        # readiness failures under overload
        if S.kind in ("app", "edge") and pl:
            last = -999
            for i in range(T):
                if W.util[s][i] > 1.02 and i - last > W.tick(3) and rng.random() < 0.5:
                    p = rng.choice([q for q in pl if q.alive(i)] or pl)
                    add(
                        i,
                        s,
                        "Unhealthy",
                        "Warning",
                        "Readiness probe failed: HTTP probe failed with statuscode: 503",
                        f"pod/{p.name}",
                        count=rng.randint(2, 9),
                    )
                    last = i
    # background noise
    nz = rng.sample(["dns", "hpa", "cron", "ready", "sched"], k=rng.randint(2, 4))
    apps = [s for s in W.order if W.svcs[s].kind in ("app", "edge") and W.pods.get(s)]
    if "dns" in nz:
        s = rng.choice(apps)
        p = rng.choice(W.pods[s])
        add(
            rng.randrange(T),
            s,
            "DNSConfigForming",
            "Warning",
            "Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: 10.96.0.10 169.254.169.254 8.8.8.8",
            f"pod/{p.name}",
            count=rng.randint(20, 400),
            first=0,
        )
    if "hpa" in nz:
        s = rng.choice(apps)
        add(
            rng.randrange(T),
            s,
            "FailedGetResourceMetric",
            "Warning",
            "failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API",
            f"horizontalpodautoscaler/{s}",
            count=rng.randint(3, 60),
        )
    if "cron" in nz:
        job = rng.choice(["report-exporter", "db-backup", "cache-warmer", "sitemap-builder"])
        pod = f"{job}-{rng.randint(28790000, 28799999)}-{alnum(rng, 5)}"
        i = rng.randrange(T)
        add(
            i,
            job,
            "BackOff",
            "Warning",
            f"Back-off restarting failed container {job} in pod {pod}",
            f"pod/{pod}",
            count=rng.randint(4, 30),
            first=max(0, i - W.tick(40)),
        )
        add(
            i,
            job,
            "BackoffLimitExceeded",
            "Warning",
            "Job has reached the specified backoff limit",
            f"job/{pod.rsplit('-', 1)[0]}",
        )
    if "ready" in nz:
        s = rng.choice(apps)
        p = rng.choice(W.pods[s])
        add(
            rng.randrange(T),
            s,
            "Unhealthy",
            "Warning",
            f'Readiness probe failed: Get "http://{p.ip}:8080/ready": dial tcp {p.ip}:8080: connect: connection refused',
            f"pod/{p.name}",
            count=1,
        )
    if "sched" in nz:
        s = rng.choice(apps)
        i = rng.randrange(T)
        add(
            i,
            s,
            "FailedScheduling",
            "Warning",
            "0/%d nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, %d Insufficient memory. preemption: 0/%d nodes are available: %d No preemption victims found for incoming pod."
            % (len(W.nodes), len(W.nodes) - 1, len(W.nodes), len(W.nodes)),
            f"pod/{s}-{alnum(rng, 9)}-{alnum(rng, 5)}",
            count=rng.randint(1, 4),
        )
    for i, s, reason, typ, msg, obj, kw in W.extra_events:
        add(i, s, reason, typ, msg, obj, **kw)
    ev.sort(key=lambda x: x[0])
    return [r for _t, r in ev]


def image(W, s, v):
    reg = {
        "shop": "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop",
        "payplat": "europe-west1-docker.pkg.dev/paynova-prod/images",
        "stream": "ghcr.io/streamly",
        "saas": "docuhive.azurecr.io",
        "rides": "asia-south1-docker.pkg.dev/zoomride/apps",
        "logistics": "381492011874.dkr.ecr.us-west-2.amazonaws.com",
        "small": "registry.tinyco.app",
    }[W.sysname]
    return f"{reg}/{s}:{v}"


World.image = image


# --------------------------------------------------------------------------------------
# changes
# --------------------------------------------------------------------------------------

AUTHORS = [
    "mkowalski",
    "jchen",
    "a.okafor",
    "priya-r",
    "tbaptiste",
    "svc-deployer",
    "lnguyen",
    "d.ivanova",
    "rgarcia",
    "k.sato",
]
KIND_WORDS = {
    "shop": {
        "deploy": "deploy",
        "config": "config",
        "flag": "flag",
        "infra": "infra",
        "scale": "scale",
    },
    "payplat": {
        "deploy": "deployment",
        "config": "configmap",
        "flag": "feature_flag",
        "infra": "terraform",
        "scale": "hpa",
    },
    "stream": {
        "deploy": "release",
        "config": "config",
        "flag": "toggle",
        "infra": "infra",
        "scale": "scaling",
    },
    "logistics": {
        "deploy": "deploy",
        "config": "configuration",
        "flag": "flag",
        "infra": "infrastructure",
        "scale": "autoscale",
    },
    "saas": {
        "deploy": "rollout",
        "config": "config",
        "flag": "flag",
        "infra": "terraform",
        "scale": "scale",
    },
    "rides": {
        "deploy": "deploy",
        "config": "config",
        "flag": "flag",
        "infra": "infra",
        "scale": "scale",
    },
    "small": {
        "deploy": "deploy",
        "config": "config",
        "flag": "flag",
        "infra": "infra",
        "scale": "scale",
    },
}


def change_id(W, kind, svc, rng):
    sysn = W.sysname
    if kind == "deploy":
        return {
            "shop": f"argocd:{svc}:{hexid(rng, 7)}",
            "payplat": f"CHG00{rng.randint(41000, 49999)}",
            "stream": f"spinnaker-{hexid(rng, 8)}",
            "logistics": f"ecs-deploy/{svc}/{rng.randint(300, 999)}",
            "saas": f"flux/{svc}@{hexid(rng, 7)}",
            "rides": f"rel-{rng.randint(10000, 19999)}",
            "small": f"ansible-run-{rng.randint(1000, 9999)}",
        }[sysn]
    if kind == "flag":
        return (
            f"ld-{rng.randint(100000, 999999)}"
            if sysn not in ("saas", "small")
            else f"unleash-{rng.randint(1000, 9999)}"
        )
    if kind == "infra":
        return (
            f"tf-run-{alnum(rng, 16, 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ123456789')}"
        )
    if kind == "config":
        return {
            "payplat": f"CHG00{rng.randint(41000, 49999)}",
            "logistics": f"ssm-param-{rng.randint(100, 999)}",
        }.get(sysn, f"cfg-{svc}-{hexid(rng, 6)}")
    return f"scale-{svc}-{rng.randint(100, 999)}"


def add_change(
    W,
    svc,
    kind,
    tick,
    summary,
    version=None,
    effect=None,
    author=None,
    prev=None,
    gap_ticks=None,
    cid=None,
    url=True,
    extra=None,
    no_rollout=False,
):
    rng = W.rng
    cid = cid or change_id(W, kind, svc, rng)
    ts = W.ts(tick) + rng.uniform(0, W.step * 0.8)
    if summary.startswith(svc + ": "):
        summary = summary[len(svc) + 2 :]
    if rng.random() < 0.5:
        summary = f"{svc}: {summary}"
    rec = {
        "id": cid,
        "ts": iso(ts, 0) if W.sysname != "logistics" else int(ts),
        "service": svc,
        "kind": KIND_WORDS[W.sysname][kind],
        "summary": summary,
    }
    if kind == "deploy":
        prev = prev or W.P[svc]["version"]
        version = version or W.bump(prev, minor=rng.random() < 0.6)
        rec["version"] = version
        rec["previous_version"] = prev
        if W.pods.get(svc) and tick < W.T and not no_rollout:
            W.rollout(svc, tick, version, gap_ticks=gap_ticks)
            W.P[svc]["version"] = version
        if effect:
            W.version_fx[(svc, version)] = effect
    rec["author"] = author or rng.choice(AUTHORS)
    if url:
        rec["url"] = {
            "shop": f"https://argocd.acmeshop.internal/applications/{svc}?resource=&rollback=0",
            "payplat": f"https://paynova.service-now.com/change_request.do?number={cid}",
            "stream": f"https://spinnaker.streamly.tv/#/applications/{svc}/executions",
            "logistics": f"https://us-west-2.console.aws.amazon.com/ecs/v2/clusters/logistics-prod/services/{svc}/deployments",
            "saas": f"https://github.com/docuhive/{svc}/commit/{hexid(rng, 40)}",
            "rides": f"https://github.com/zoomride/{svc}/releases/tag/{version or 'config'}",
            "small": f"https://gitlab.tinyco.app/ops/ansible/-/pipelines/{rng.randint(10000, 99999)}",
        }[W.sysname]
    if url and kind == "flag":
        rec["url"] = (
            f"https://app.launchdarkly.com/default/production/features/{hexid(rng, 6)}"
            if cid.startswith("ld-")
            else f"https://unleash.{W.sysname}.internal/projects/default/features/{hexid(rng, 6)}"
        )
    elif url and kind == "infra":
        rec["url"] = f"https://app.terraform.io/app/{W.sysname}/workspaces/prod-{svc}/runs/{cid}"
    if extra:
        rec.update(extra)
    W.changes.append(rec)
    return cid


DECOY_TEXT = {
    "deploy": [
        "Bump base image to distroless/java21 (CVE-2025-{n})",
        "Add structured logging fields for request id",
        "Refactor pagination helper; no functional change",
        "Upgrade otel-java-instrumentation 2.{n}.0",
        "Copy changes on confirmation screen",
        "Update dependency grpc-go to v1.6{n}.0",
        "Add metrics for cache warmup",
        "Remove dead code for legacy v1 endpoints",
        "Translate error messages (es, pt-BR)",
    ],
    "flag": [
        "Enable '{f}' for 10% of users",
        "Turn off '{f}' (experiment concluded)",
        "Ramp '{f}' to 50%",
        "Add internal users to '{f}' allowlist",
    ],
    "config": [
        "Raise log sampling for /healthz to 1%",
        "Rotate API key for analytics exporter",
        "Set JAVA_TOOL_OPTIONS -XX:MaxRAMPercentage=70",
        "Increase HTTP keep-alive timeout 60s -> 75s",
        "Add CORS origin https://partners.example.com",
    ],
    "infra": [
        "Terraform: tag compliance update (cost-center labels)",
        "Add VPC flow logs to S3 bucket",
        "Rotate node pool AMI (security patch)",
        "Increase Prometheus retention to 30d",
        "Upgrade cert-manager chart 1.1{n}.0",
    ],
    "scale": [
        "HPA minReplicas {a} -> {b}",
        "Scale {s} to {b} replicas for load test prep",
        "KEDA: raise maxReplicaCount to {b}",
    ],
}
FLAGS = [
    "new-checkout-copy",
    "search-typo-tolerance",
    "dark-mode-web",
    "promo-banner-v3",
    "fast-login",
    "reco-carousel",
    "async-receipts",
    "pdf-preview-v2",
]


def add_decoys(W, onset, avoid=(), n=None, after=True, rng=None):
    rng = rng or W.rng
    n = rng.randint(1, 3) if n is None else n
    cands = [
        s
        for s in W.order
        if W.svcs[s].kind in ("app", "edge", "worker") and s not in avoid and W.pods.get(s)
    ]
    for _ in range(n):
        s = rng.choice(cands)
        kind = rng.choices(
            ["deploy", "flag", "config", "infra", "scale"], [0.5, 0.2, 0.15, 0.1, 0.05]
        )[0]
        tick = onset - W.tick(rng.uniform(2, 70))
        if tick < -W.tick(30):
            tick = onset - W.tick(rng.uniform(2, 20))
        txt = rng.choice(DECOY_TEXT[kind]).format(
            n=rng.randint(1, 9), f=rng.choice(FLAGS), a=2, b=rng.randint(3, 8), s=s
        )
        if kind == "infra":
            add_change(
                W, "platform" if rng.random() < 0.5 else s, "infra", max(-W.tick(60), tick), txt
            )
        else:
            add_change(W, s, kind, tick, txt)
    if after and rng.random() < 0.5:
        s = (
            W.page["svc"]
            if W.page and W.page.get("svc") in W.svcs and W.pods.get(W.page.get("svc"))
            else rng.choice(cands)
        )
        a = max(2, W.svcs[s].replicas)
        add_change(
            W,
            s,
            "scale",
            onset + W.tick(rng.uniform(4, 9)),
            f"Raise HPA maxReplicas for {s} ({a * 2} -> {a * 3}) while investigating",
        )


# --------------------------------------------------------------------------------------
# alerts
# --------------------------------------------------------------------------------------


def signal(W, kind, s):
    T = W.T
    if kind == "err":
        if W.svcs[s].kind == "lb":
            tot = [sum(W.out[(s, d.target)][i] for d in W.svcs[s].deps) for i in range(T)]
            bad = [
                sum(W.out[(s, d.target)][i] * W.oerr[(s, d.target)][i] for d in W.svcs[s].deps)
                for i in range(T)
            ]
            return [b / t if t > 0 else 0 for b, t in zip(bad, tot)]
        return list(W.err[s])
    if kind == "p99":
        return list(W.p99[s])
    if kind == "util":
        return list(W.util[s])
    if kind == "r429":
        return list(W.r429[s])
    if kind == "ready":
        return [1 - x for x in W.ready[s]]
    if kind == "restarts":
        out, acc = [], []
        for i in range(T):
            acc.append(W.crashing[s][i])
            out.append(sum(acc[-W.tick(10) :]))
        return out
    if kind == "backlog":
        return [sum(v[i] for (w, q), v in W.backlog.items() if q == s or w == s) for i in range(T)]
    if kind == "down":
        return [max(W.K("down", s)[i], 1 - min(1.0, W.ready[s][i])) for i in range(T)]
    raise ValueError(kind)


def spec_signal(W, spec):
    arr = spec.get("arr") or signal(W, spec["sig"], spec["svc"])
    sm = spec.get("smooth_min")
    if sm is None and not spec.get("arr"):
        sm = {"err": 3, "p99": 2, "r429": 2, "restarts": 0}.get(spec["sig"], 0)
    if sm:
        arr = smooth(arr, max(1, W.tick(sm)))
    return arr


def first_cross(arr, thr, hold, t_from=0):
    run = 0
    for i in range(max(0, t_from), len(arr)):
        run = run + 1 if arr[i] > thr else 0
        if run >= hold:
            return i
    return None


def gen_url(W, expr):
    base = {
        "shop": "http://prometheus-k8s-0:9090",
        "saas": "https://grafana.docuhive.io",
        "rides": "http://prometheus.monitoring.svc:9090",
        "small": "http://monitor-1:9090",
        "payplat": "https://mimir.paynova.io/prometheus",
        "stream": "https://app.datadoghq.com",
        "logistics": "https://us-west-2.console.aws.amazon.com/cloudwatch/home",
    }[W.sysname]
    if W.sysname in ("stream",):
        return f"{base}/monitors/{seeded(W.id, expr).randint(10**7, 10**8)}"
    if W.sysname == "logistics":
        return f"{base}?region=us-west-2#alarmsV2:alarm/{urllib.parse.quote(expr)}"
    if W.sysname == "saas":
        return f"{base}/alerting/grafana/{hexid(seeded(W.id, expr), 14)}/view?orgId=1"
    return f"{base}/graph?g0.expr={urllib.parse.quote(expr)}&g0.tab=1"


def make_alert(
    W, labels, annotations, starts_ts, expr, state="active", silenced=None, receiver=None
):
    upd = W.ts(W.T - 1) - W.rng.uniform(5, 50)
    st = min(starts_ts, upd - 30)
    a = {
        "labels": labels,
        "annotations": annotations,
        "startsAt": iso(st, 3),
        "endsAt": iso(upd + 240, 3),
        "fingerprint": fingerprint(labels),
        "status": {"state": state, "silencedBy": silenced or [], "inhibitedBy": []},
        "generatorURL": gen_url(W, expr),
        "receivers": [{"name": receiver or RECEIVER[W.sysname]}],
        "updatedAt": iso(upd, 3),
    }
    W.alerts.append(a)
    return a


RECEIVER = {
    "shop": "pagerduty-shop-oncall",
    "payplat": "opsgenie-payments-p1",
    "stream": "pagerduty-playback",
    "logistics": "sns-logistics-oncall",
    "saas": "grafana-oncall-saas",
    "rides": "pagerduty-rides-sre",
    "small": "email-ops",
}


def alert_labels(W, name, s, severity, extra=None):
    sysn = W.sysname
    if sysn == "shop":
        lab = {
            "alertname": name,
            "severity": severity,
            "namespace": W.ns,
            "service": s,
            "prometheus": "monitoring/k8s",
            "team": "storefront-sre",
        }
    elif sysn == "payplat":
        lab = {
            "alertname": name,
            "severity": severity,
            "service_name": s,
            "cluster": "prod-eu-west1",
            "team": "payments",
        }
    elif sysn == "stream":
        lab = {
            "alertname": name,
            "severity": severity,
            "service": s,
            "env": "prod",
            "monitor_id": str(seeded(W.id, name).randint(10**7, 10**8)),
            "priority": "P1" if severity == "critical" else "P3",
        }
    elif sysn == "logistics":
        lab = {
            "alertname": name,
            "severity": severity,
            "region": "us-west-2",
            "account_id": "381492011874",
        }
        if s and seeded(W.id, name).random() < 0.5:
            lab["service"] = s
    elif sysn == "saas":
        lab = {
            "alertname": name,
            "severity": severity,
            "grafana_folder": "SaaS Prod",
            "app": s,
            "team": "platform",
        }
    elif sysn == "rides":
        lab = {
            "alertname": name,
            "severity": severity,
            "sloth_service": s,
            "sloth_slo": "requests-availability",
            "sloth_id": f"{s}-requests-availability",
            "team": "rides-core",
        }
    else:
        lab = {"alertname": name, "severity": severity, "job": s, "instance": "monitor-1"}
    if extra:
        lab.update(extra)
    return {k: v for k, v in lab.items() if v is not None}


def fire(W, spec, required=False):
    """spec: name, svc, sig, thr, for_min, severity, summary, description, expr, labels(extra), t_from"""
    arr = spec_signal(W, spec)
    hold = max(1, W.tick(spec.get("for_min", 2)))
    tf = spec.get("t_from")
    if tf is None:
        tf = max(0, W.onset - W.tick(2))
    t = first_cross(arr, spec["thr"], hold, tf)
    if t is None and required:
        # a team's threshold sits somewhere between normal and bad: tighten it when this incident's
        # signal stays under the configured bar but clearly leaves its normal range
        pre = sorted(arr[: max(2, W.onset - W.tick(3))])
        pre_hi = pre[int(len(pre) * 0.99)]
        post = arr[max(0, W.onset) :]
        post_hi = sorted(post)[int(len(post) * 0.85)] if post else 0
        if post_hi > pre_hi * 1.15 and post_hi > 0:
            thr = float("%.2g" % (pre_hi + 0.6 * (post_hi - pre_hi)))
            t = first_cross(arr, thr, hold, tf)
            if t is not None:
                spec["thr"] = thr
    if t is None:
        if not required:
            return None
        t = min(W.T - 3, W.onset + hold + W.tick(3))
        W.notes_gen.append(
            f"paging alert {spec['name']} forced at tick {t} (signal max {max(arr):.4f} < thr {spec['thr']})"
        )
    lab = alert_labels(
        W,
        spec["name"],
        spec.get("label_svc", spec["svc"]),
        spec.get("severity", "critical"),
        spec.get("labels"),
    )
    ann = {"summary": spec["summary"], "description": spec.get("description", spec["summary"])}
    if spec.get("runbook", True):
        ann["runbook_url"] = {
            "shop": "https://runbooks.acmeshop.internal/",
            "payplat": "https://wiki.paynova.io/runbooks/",
            "stream": "https://streamly.atlassian.net/wiki/runbooks/",
            "logistics": "https://fleetline.notion.site/runbooks/",
            "saas": "https://docs.docuhive.io/ops/",
            "rides": "https://rides-sre.zoomride.app/runbooks/",
            "small": "https://wiki.tinyco.app/ops/",
        }[W.sysname] + spec["name"].lower()
    a = make_alert(W, lab, ann, W.ts(t), spec.get("expr", spec["name"]))
    a["_tick"] = t
    return a


NOISE_ALERTS = {
    "shop": [
        (
            "Watchdog",
            "none",
            {"namespace": "monitoring"},
            "This is an alert meant to ensure that the entire alerting pipeline is functional.",
            "vector(1)",
            3 * 86400,
        ),
        (
            "CPUThrottlingHigh",
            "info",
            {"namespace": "shop", "container": "notifications", "pod": None},
            "53.1% throttling of CPU in namespace shop for container notifications.",
            "sum(increase(container_cpu_cfs_throttled_periods_total[5m])) / sum(increase(container_cpu_cfs_periods_total[5m])) > 0.25",
            5400,
        ),
        (
            "KubeJobFailed",
            "warning",
            {"namespace": "shop", "job_name": "sitemap-builder-28791840"},
            "Job shop/sitemap-builder-28791840 failed to complete.",
            'kube_job_failed{job="kube-state-metrics"} > 0',
            14000,
        ),
        (
            "NodeClockNotSynchronising",
            "warning",
            {"instance": None},
            "Clock not synchronising.",
            "min_over_time(node_timex_sync_status[5m]) == 0",
            800,
        ),
    ],
    "payplat": [
        ("DeadMansSwitch", "none", {}, "Alerting pipeline heartbeat.", "vector(1)", 9 * 86400),
        (
            "PostgresqlDeadRowsHigh",
            "warning",
            {"service_name": "pg-ledger"},
            "Dead tuples above 10% on ledger.transactions",
            'postgresql_rows{state="dead"} > 1e5',
            20000,
        ),
        (
            "CertificateRenewalSoon",
            "info",
            {"service_name": "edge-proxy"},
            "payplat-edge-public expires in 19 days",
            "certmanager_certificate_expiration_timestamp_seconds - time() < 21*86400",
            86400,
        ),
    ],
    "stream": [
        (
            "[P4] Disk usage above 80% on kafka-events-2",
            "warning",
            {"service": "kafka-events"},
            "Disk usage 81.2% on /var/lib/kafka",
            "avg(last_5m):avg:system.disk.in_use{host:kafka-events-2} > 0.8",
            40000,
        ),
        (
            "[P3] Synthetic test 'Browse catalog (EU)' flaky",
            "warning",
            {"service": "api"},
            "2 of 30 runs failed in the last hour (eu-central-1 location)",
            "synthetics",
            2400,
        ),
    ],
    "logistics": [
        (
            "logistics-nat-gateway-error-port-allocation",
            "warning",
            {},
            "ErrorPortAllocation > 0 for 1 datapoints within 5 minutes",
            "ErrorPortAllocation",
            7200,
        ),
        (
            "sms-provider-delivery-latency",
            "info",
            {"service": "notifier-worker"},
            "p90 SMS delivery latency above 20s (vendor-side)",
            "SMSDeliveryLatency",
            30000,
        ),
    ],
    "saas": [
        (
            "Disk space low on opensearch-data-1",
            "warning",
            {"app": "opensearch"},
            "PVC data-opensearch-1 is 84% full",
            "kubelet_volume_stats_available_bytes / kubelet_volume_stats_capacity_bytes < 0.2",
            50000,
        ),
        (
            "DatasourceNoData",
            "warning",
            {"app": "reports", "datasource_uid": "loki"},
            "No data for 'reports slow queries' panel",
            "",
            3000,
        ),
    ],
    "rides": [
        (
            "Watchdog",
            "none",
            {},
            "This is an alert meant to ensure that the entire alerting pipeline is functional.",
            "vector(1)",
            2 * 86400,
        ),
        (
            "KubeHpaMaxedOut",
            "warning",
            {"horizontalpodautoscaler": "location-ingest", "namespace": "rides"},
            "HPA rides/location-ingest has been running at max replicas for longer than 15 minutes.",
            "kube_horizontalpodautoscaler_status_current_replicas == kube_horizontalpodautoscaler_spec_max_replicas",
            6000,
        ),
        (
            "KubePodNotReady",
            "warning",
            {"namespace": "rides", "pod": "surge-backfill-28790112-pq7zd"},
            "Pod rides/surge-backfill-28790112-pq7zd has been in a non-ready state for longer than 15 minutes.",
            'kube_pod_status_phase{phase=~"Pending|Unknown"} > 0',
            2500,
        ),
    ],
    "small": [
        (
            "BackupOlderThan24h",
            "warning",
            {"job": "postgres"},
            "Last successful pg_basebackup is 27h old",
            "time() - backup_last_success_timestamp_seconds > 86400",
            10000,
        ),
        (
            "HostHighLoad",
            "warning",
            {"instance": "app-2:9100", "job": "node"},
            "Load average above 4 on app-2",
            "node_load1 > 4",
            900,
        ),
    ],
}


def noise_alerts(W, rng):
    lst = NOISE_ALERTS[W.sysname]
    k = rng.randint(1, len(lst))
    for name, sev, extra, summ, expr, ago in rng.sample(lst, k):
        ex = dict(extra)
        for kk, v in list(ex.items()):
            if v is None:
                if kk == "pod":
                    s = rng.choice([x for x in W.order if W.pods.get(x)])
                    ex[kk] = rng.choice(W.pods[s]).name
                elif kk == "instance":
                    ex[kk] = rng.choice(W.nodes) if W.nodes else "host-1"
        if W.sysname in ("shop", "rides", "small"):
            lab = dict({"alertname": name, "severity": sev}, **ex)
            if W.sysname != "small":
                lab["prometheus"] = "monitoring/k8s"
        else:
            lab = dict({"alertname": name, "severity": sev}, **ex)
        start = (
            W.ts(rng.randrange(max(1, W.T // 2)))
            - ago * rng.uniform(0.5, 1.0)
            + rng.uniform(0, 300)
        )
        silenced = None
        state = "active"
        if rng.random() < 0.25 and sev not in ("none",):
            silenced = [
                f"{hexid(rng, 8)}-{hexid(rng, 4)}-{hexid(rng, 4)}-{hexid(rng, 4)}-{hexid(rng, 12)}"
            ]
            state = "suppressed"
        make_alert(
            W,
            lab,
            {"summary": summ, "description": summ},
            start,
            expr or name,
            state=state,
            silenced=silenced,
            receiver="null" if sev in ("none", "info") else None,
        )


# --------------------------------------------------------------------------------------
# bundle writer
# --------------------------------------------------------------------------------------

TOPO_STYLE = {"saas": "underscore"}


def write_bundle(W, outdir, dirname, idx):
    d = os.path.join(outdir, dirname)
    if os.path.exists(d):
        shutil.rmtree(d)
    os.makedirs(d)
    rng = sub_rng(W.rng, "write")
    # metrics
    sink = RENDER[W.sysname](W)
    sink.write(os.path.join(d, "metrics"))
    # logs
    logs = gen_logs(W)
    os.makedirs(os.path.join(d, "logs"), exist_ok=True)
    cut = W.cut_log
    for stem, recs in sorted(logs.items()):
        recs.sort(key=lambda x: x[0])
        recs = [r for t, r in recs if W.t0 <= t <= W.ts(W.T - 1) + W.step]
        if not recs:
            continue
        path = os.path.join(d, "logs", stem + ".jsonl")
        with open(path, "w", encoding="utf-8") as fh:
            if W.bom_log == stem:
                fh.write("\ufeff")
            for k, r in enumerate(recs):
                line = json.dumps(r, ensure_ascii=False, separators=(",", ":"))
                if cut == stem and k == len(recs) - 1:
                    fh.write(line[: max(10, len(line) // 2)])
                else:
                    fh.write(line + "\n")
    # traces
    spans = gen_traces(W)
    if spans:
        os.makedirs(os.path.join(d, "traces"), exist_ok=True)
        tname = {
            "otel": "otlp-spans",
            "jaeger": "jaeger-export",
            "native": "spans",
            "datadog": "apm-spans",
        }[W.sd["traces"]]
        with open(os.path.join(d, "traces", tname + ".jsonl"), "w") as fh:
            for sp in spans:
                fh.write(json.dumps(sp, separators=(",", ":")) + "\n")
    # events
    events = gen_events(W)
    if W.sd.get("events"):
        os.makedirs(os.path.join(d, "events"), exist_ok=True)
        with open(os.path.join(d, "events", "events.jsonl"), "w") as fh:
            for e in events:
                fh.write(json.dumps(e, separators=(",", ":")) + "\n")
    # changes
    ch = sorted(
        W.changes,
        key=lambda c: (
            c["ts"]
            if isinstance(c["ts"], (int, float))
            else datetime.fromisoformat(c["ts"].replace("Z", "+00:00")).timestamp()
        ),
    )
    with open(os.path.join(d, "changes.json"), "w") as fh:
        json.dump(ch, fh, indent=2)
    # topology
    topo = {}
    for s in W.order:
        if s in W.topology_drop:
            continue
        deps = [x.target for x in W.svcs[s].deps if x.target not in W.topology_drop]
        name = s.replace("-", "_") if TOPO_STYLE.get(W.sysname) == "underscore" else s
        topo[name] = {
            "depends_on": [
                x.replace("-", "_") if TOPO_STYLE.get(W.sysname) == "underscore" else x
                for x in deps
            ]
        }
    with open(os.path.join(d, "topology.yaml"), "w") as fh:
        fh.write(f"# service map exported {iso(W.ts(W.T - 1), 0)}\n")
        yaml.safe_dump({"services": topo}, fh, sort_keys=False, default_flow_style=None, width=200)
    # alerts
    alerts = [dict((k, v) for k, v in a.items() if not k.startswith("_")) for a in W.alerts]
    rng.shuffle(alerts)
    if W.sysname == "small":
        body = {
            "receiver": RECEIVER["small"],
            "status": "firing",
            "alerts": [
                {
                    "status": "firing",
                    "labels": a["labels"],
                    "annotations": a["annotations"],
                    "startsAt": a["startsAt"],
                    "endsAt": "0001-01-01T00:00:00Z",
                    "generatorURL": a["generatorURL"],
                    "fingerprint": a["fingerprint"],
                }
                for a in alerts
                if a["status"]["state"] == "active"
            ],
            "groupLabels": {"alertname": W.page["name"]},
            "commonLabels": {},
            "commonAnnotations": {},
            "externalURL": "http://monitor-1:9093",
            "version": "4",
            "groupKey": '{}:{alertname="%s"}' % W.page["name"],
            "truncatedAlerts": 0,
        }
    else:
        body = alerts
    with open(os.path.join(d, "alerts.json"), "w") as fh:
        json.dump(body, fh, indent=1)
    # bundle.yaml
    pa = W.page_alert
    b = {
        "id": W.bundle_id,
        "title": W.title,
        "window": {"start": iso(W.t0, 0), "end": iso(W.ts(W.T - 1) + W.step, 0)},
    }
    names = [a["labels"]["alertname"] for a in W.alerts]
    if names.count(pa["labels"]["alertname"]) == 1 and rng.random() < 0.35:
        b["focus_alert"] = pa["labels"]["alertname"]
    else:
        b["focus_alert"] = pa["fingerprint"]
    if rng.random() < 0.7:
        b["format_version"] = 1
    if W.capture_notes:
        b["notes"] = W.capture_notes
    with open(os.path.join(d, "bundle.yaml"), "w") as fh:
        yaml.safe_dump(b, fh, sort_keys=False, width=300)
    with open(os.path.join(d, "truth.yaml"), "w") as fh:
        yaml.safe_dump({"root_cause": W.truth}, fh, sort_keys=False)
    return d


# --------------------------------------------------------------------------------------
# scenario helpers
# --------------------------------------------------------------------------------------


def page(
    W,
    name,
    svc,
    sig,
    thr,
    summary,
    for_min=2,
    severity="critical",
    expr=None,
    label_svc=None,
    labels=None,
    description=None,
    t_from=None,
    smooth_min=None,
):
    W.page = dict(
        name=name,
        svc=svc,
        sig=sig,
        thr=thr,
        summary=summary,
        for_min=for_min,
        severity=severity,
        expr=expr or name,
        label_svc=label_svc if label_svc is not None else svc,
        labels=labels,
        description=description or summary,
        t_from=t_from,
        smooth_min=smooth_min,
    )


def related(
    W,
    name,
    svc,
    sig,
    thr,
    summary,
    for_min=3,
    severity="warning",
    expr=None,
    label_svc=None,
    labels=None,
    t_from=None,
    smooth_min=None,
):
    W.related.append(
        dict(
            name=name,
            svc=svc,
            sig=sig,
            thr=thr,
            summary=summary,
            for_min=for_min,
            severity=severity,
            expr=expr or name,
            label_svc=label_svc if label_svc is not None else svc,
            labels=labels,
            t_from=t_from,
            smooth_min=smooth_min,
        )
    )


def nice(x):
    """a round alert threshold just above x"""
    if x <= 0:
        return 0.01
    e = 10 ** math.floor(math.log10(x))
    for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if m * e >= x:
            return m * e
    return 10 * e


def resolve_thr(W, spec, onset):
    arr = spec_signal(W, spec)
    if callable(spec["thr"]):
        spec["thr"] = spec["thr"](arr[: max(2, onset)])
    return spec


def above_base(mult=1.5, floor=0.0):
    return lambda pre: nice(max(floor, sorted(pre)[int(len(pre) * 0.98)] * mult))


def u_est(W, s, i):
    """rough utilisation of s at tick i before any fault (for sizing a scenario's knobs)"""
    if getattr(W, "base_util", None):
        a = W.base_util[s][max(0, i - W.tick(10)) : max(1, i - W.tick(1))]
        return sum(a) / len(a) if a else W.base_util[s][0]
    P = W.P[s]
    return P["util0"] * W.diurnal(i) / W.diurnal(W.T // 2) + P["idle"] / max(1e-6, P["cap"])


def rin0(W, s, i):
    a = W.base_rin[s][max(0, i - W.tick(10)) : max(1, i)]
    return sum(a) / len(a)


def cost_for(W, s, i, target, load=1.0):
    """multiplier on s's per-request cost so that its utilisation reaches `target` at tick i
    when its request rate is `load` times the fault-free rate."""
    P = W.P[s]
    return max(0.05, (target * P["cap"] - P["idle"]) / max(1e-9, rin0(W, s, i) * load * P["cost"]))


def load_for(W, s, i, target):
    """multiplier on s's request rate that brings its utilisation to `target` at tick i."""
    P = W.P[s]
    return max(1.0, (target * P["cap"] - P["idle"]) / max(1e-9, rin0(W, s, i) * P["cost"]))


def demand_mult(W, i, edge_mult=None, entry_mult=None):
    """steady-state request-rate multiplier of every service when some call edges (caller, callee)
    or entry services carry more traffic (retries and failures ignored)."""
    edge_mult = edge_mult or {}
    entry_mult = entry_mult or {}
    lo = max(0, i - W.tick(10))
    avg = lambda a: sum(a[lo : max(lo + 1, i)]) / max(1, max(lo + 1, i) - lo)
    m = {}
    for s in W.order:
        S = W.svcs[s]
        if not S.callers or S.kind == "worker":
            m[s] = entry_mult.get(s, 1.0)
            continue
        base = sum(avg(W.base_out[(c, s)]) for c, d in S.callers if not d.consume)
        new = sum(
            avg(W.base_out[(c, s)]) * m.get(c, 1.0) * edge_mult.get((c, s), 1.0)
            for c, d in S.callers
            if not d.consume
        )
        m[s] = new / base if base > 0 else 1.0
    return m


def scale_out(
    W, svc, tick, n, reason="cpu resource utilization (percentage of request) above target"
):
    """an autoscaler adds n pods of the current version from tick on."""
    rng = W.rng
    v = W.P[svc]["version"]
    rs = W.rs.get((svc, v)) or alnum(rng, 10)
    cur = sum(1 for p in W.pods[svc] if p.alive(tick))
    for k in range(n):
        st = tick + k // 2
        np = Pod(
            W.new_pod_name(svc, rs),
            svc,
            v,
            rng.choice(W.nodes) if W.nodes else None,
            st,
            None,
            max(1, W.tick(rng.uniform(0.4, 0.9))),
        )
        np.ip = f"10.{rng.randint(0, 3)}.{rng.randint(0, 255)}.{rng.randint(2, 254)}"
        W.pods[svc].append(np)
    if W.sd.get("events"):
        W.extra_events.append(
            (
                tick,
                svc,
                "SuccessfulRescale",
                "Normal",
                f"New size: {cur + n}; reason: {reason}",
                f"horizontalpodautoscaler/{svc}",
                {},
            )
        )


def T_(W, lo, hi):
    """an onset tick lo..hi minutes before the end of the window"""
    return W.T - W.tick(W.rng.uniform(lo, hi))


def own(lvl, msg, exc=None):
    return lambda W, s, rng, i: (
        lvl,
        msg() if callable(msg) else msg,
        exc() if callable(exc) else exc,
    )


# ======================================================================================
# scenario families
# ======================================================================================

# ---------------- deploy ----------------------------------------------------------------


def sc_deploy_errors(
    W, rng, svc, err, page_svc, page_name, summary, bug_msg, bug_exc, page_thr=0.03
):
    """a new version of a mid-tier service throws on one code path; the API in front pages."""
    on = T_(W, 14, 26)
    W.onset = on
    cid = add_change(W, svc, "deploy", on, summary, effect={"err": err})
    W.own_text[(svc, "bug")] = own("error", bug_msg, bug_exc)
    W.truth = {"kind": "deploy", "service": svc, "change_id": cid}
    page(
        W,
        page_name,
        page_svc,
        "err",
        page_thr,
        f"{page_svc}: 5xx ratio above {page_thr:.0%}",
        expr=f'sum(rate(http_requests_total{{service="{page_svc}",code=~"5.."}}[5m])) / sum(rate(http_requests_total{{service="{page_svc}"}}[5m])) > {page_thr}',
    )
    add_decoys(W, on, avoid=[svc], n=rng.randint(2, 3))
    if rng.random() < 0.5:
        # the culprit's owners roll back near the end of the window
        back = on + W.tick(rng.uniform(10, 14))
        if back < W.T - W.tick(2):
            prev = W.changes[[c["id"] for c in W.changes].index(cid)]["previous_version"]
            add_change(W, svc, "deploy", back, f"Rollback {svc} to {prev}", version=prev)


def sc_latency_deep(W, rng):
    """rides: maps-adapter release disables the route cache and calls maps-api 3x sequentially.
    Latency climbs three hops down (mobile-gateway -> rider-api -> eta -> maps-adapter); eta starts timing out."""
    on = T_(W, 16, 28)
    W.onset = on
    cid = add_change(
        W,
        "maps-adapter",
        "deploy",
        on,
        "maps-adapter: switch to routes v2 API (per-leg requests), remove local LRU",
        effect={"callm": {"maps-api": 3.2}, "latm": 1.4},
    )
    W.sparse.add("maps-adapter")
    W.no_logs.add("maps-adapter")
    W.truth = {"kind": "deploy", "service": "maps-adapter", "change_id": cid}
    page(
        W,
        "RiderApiLatencySLOBurn",
        "rider-api",
        "p99",
        above_base(1.6),
        "rider-api p99 latency SLO burn rate 14x over 5m/1h",
        label_svc="rider-api",
        expr='histogram_quantile(0.99, sum by (le) (rate(istio_request_duration_milliseconds_bucket{reporter="destination",destination_workload="rider-api"}[5m]))) > 1500',
    )
    related(
        W, "EtaHighErrorRate", "eta", "err", 0.02, "eta 5xx ratio above 2%", labels={"team": "maps"}
    )
    add_decoys(W, on, avoid=["maps-adapter"], n=3)


def sc_caller_hurts_db(W, rng, caller, db, callm, dbcost, page_svc, page_name, summary):
    """a deploy of a low-traffic caller adds heavy queries; the shared database saturates and
    everyone else who uses it (on the paging path) slows down and fails."""
    on = T_(W, 15, 26)
    W.onset = on
    cid = add_change(W, caller, "deploy", on, summary, effect={"callm": {db: callm}, "cost": 1.3})
    ro = on + W.tick(1.5)
    extra = (
        sum(rin0(W, caller, on) * d.calls for d in W.svcs[caller].deps if d.target == db)
        * (callm - 1)
        / max(1.0, rin0(W, db, on))
    )
    k = cost_for(W, db, on, dbcost, 1 + extra)
    W.story.append(f"{db} cost x{k:.2f}, extra load {extra:.2f}")
    W.shape("cost", db, on, ro, k, mode="mul")
    W.truth = {"kind": "deploy", "service": caller, "change_id": cid}
    page(W, page_name, page_svc, "err", 0.02, f"{page_svc}: error ratio above 2%")
    related(
        W,
        "PostgresHighCPU" if "pg" in db or "postgres" in db else "DatabaseHighLoad",
        db,
        "util",
        0.85,
        f"{db} CPU above 85% for 5m",
        for_min=5,
    )
    add_decoys(W, on, avoid=[caller], n=2)


def sc_canary(W, rng):
    """stream: a 1-of-4 canary of playback returns 5xx for DRM license renewals; api pages on error ratio."""
    on = T_(W, 15, 26)
    W.onset = on
    prev = W.P["playback"]["version"]
    v = W.bump(prev)
    old = [p for p in W.pods["playback"] if p.alive(on)]
    # canary: one extra pod of the new version, then one old pod is removed
    rs = alnum(rng, 10)
    W.rs[("playback", v)] = rs
    np = Pod(
        W.new_pod_name("playback", rs),
        "playback",
        v,
        rng.choice(W.nodes),
        on,
        None,
        max(1, W.tick(0.5)),
    )
    np.ip = "10.1.9.14"
    W.pods["playback"].append(np)
    old[0].end = on + max(1, W.tick(0.6))
    W.version_fx[("playback", v)] = {"err": 0.55}
    cid = add_change(
        W,
        "playback",
        "deploy",
        on,
        f"Canary 25%: playback {v} (Widevine L1 license renewal path)",
        version=v,
        prev=prev,
        no_rollout=True,
    )
    W.P["playback"]["version"] = prev
    W.own_text[("playback", "bug")] = own(
        "error", "license renewal failed: proto: cannot parse invalid wire-format data", None
    )
    W.truth = {"kind": "deploy", "service": "playback", "change_id": cid}
    page(
        W,
        "[P1] api 5xx ratio above 1%",
        "api",
        "err",
        0.01,
        "Error ratio of trace.express.request on service:api is above 1% over the last 5m",
        expr="sum(last_5m):sum:trace.express.request.errors{service:api,env:prod}.as_count() / sum:trace.express.request.hits{service:api,env:prod}.as_count() > 0.01",
    )
    add_decoys(W, on, avoid=["playback"], n=2)


def sc_leak_deploy(W, rng):
    """shop: checkout release leaks memory (unbounded idempotency-key cache). ~70 min later heap is full:
    GC thrash, latency, then OOMKills.  A decoy deploy lands 10 minutes before the page."""
    T = W.T
    dep_t = W.tick(rng.uniform(6, 14))
    on = T_(W, 14, 22)
    W.onset = on
    lim = W.P["checkout"]["mem_limit"]
    base = W.P["checkout"]["mem_base"]
    secs = (on - dep_t) * W.step
    leak = (lim - base * 0.95) / max(600.0, secs * rng.uniform(0.95, 1.1))
    cid = add_change(
        W,
        "checkout",
        "deploy",
        dep_t,
        "checkout: cache idempotency keys in-process to cut orders-db reads",
        effect={"leak": leak},
    )
    # GC pressure before the kills
    gc_start = on - W.tick(14)
    W.infra[("checkout", "gc")] = [
        clamp((i - gc_start) / max(1, on - gc_start)) * 0.25 if i > gc_start else 0.0
        for i in range(T)
    ]
    W.shape("latm", "checkout", gc_start, on, 15.0)
    W.shape("cost", "checkout", gc_start, on, 2.5, mode="mul")
    W.truth = {"kind": "deploy", "service": "checkout", "change_id": cid}
    page(
        W,
        "CheckoutLatencySLOBurn",
        "checkout",
        "p99",
        lambda pre: nice(sorted(pre[: len(pre) * 2 // 3])[int(len(pre) * 2 // 3 * 0.98)] * 1.5),
        "checkout latency SLO (p99 < 2s): error budget burning 14.4x (1h) and 14.4x (5m)",
        expr='(job:slo_latency_violations:ratio_rate1h{service="checkout"} > (14.4*0.01)) and (job:slo_latency_violations:ratio_rate5m{service="checkout"} > (14.4*0.01))',
        label_svc="checkout",
        t_from=gc_start,
        smooth_min=5,
    )
    related(
        W,
        "CheckoutSLOErrorBudgetBurn",
        "checkout",
        "err",
        0.01,
        "checkout availability SLO: error budget burning 14.4x (1h) and 14.4x (5m)",
        smooth_min=5,
    )
    related(
        W,
        "KubePodCrashLooping",
        "checkout",
        "restarts",
        2.5,
        'Pod shop/checkout is in waiting state (reason: "CrashLoopBackOff").',
        for_min=1,
    )
    add_decoys(W, on - W.tick(6), avoid=["checkout"], n=1, after=False)
    add_change(
        W,
        "storefront",
        "deploy",
        on - W.tick(rng.uniform(8, 12)),
        "storefront: new PDP gallery component",
    )


def sc_cpu_regression_deploy(W, rng):
    """small: auth release bumps argon2id parameters (m=64MiB,t=3); logins burn CPU, auth saturates,
    webapp requests through auth time out, haproxy returns 504."""
    on = T_(W, 14, 24)
    W.onset = on
    cid = add_change(
        W,
        "auth",
        "deploy",
        on,
        "auth: raise argon2id cost (t=1,m=19MiB -> t=3,m=64MiB) per security review",
        effect={"cost": cost_for(W, "auth", on, 1.25), "latm": 3.0},
    )
    W.truth = {"kind": "deploy", "service": "auth", "change_id": cid}
    page(
        W,
        "HAProxyBackendHigh5xx",
        "haproxy",
        "err",
        0.05,
        "HAProxy backend be_webapp is returning more than 5% 5xx",
        expr='sum(rate(haproxy_backend_http_responses_total{proxy="be_webapp",code="5xx"}[2m])) / sum(rate(haproxy_backend_http_responses_total{proxy="be_webapp"}[2m])) > 0.05',
        label_svc="haproxy",
        labels={"job": "haproxy", "instance": "lb-1:8405", "proxy": "be_webapp"},
    )
    related(
        W,
        "HostHighCpuLoad",
        "auth",
        "util",
        0.9,
        "CPU load on app-1 above 90%",
        labels={"instance": "app-1:9100", "job": "node"},
        label_svc=None,
    )
    add_change(
        W, "webapp", "deploy", on - W.tick(rng.uniform(20, 40)), "webapp: new onboarding checklist"
    )


# ---------------- config / flags --------------------------------------------------------


def sc_pool_config(W, rng):
    """payplat: a configmap refactor renames DB_POOL_SIZE; ledger falls back to HikariCP max 1 per pod."""
    on = T_(W, 14, 26)
    W.onset = on
    cid = add_change(
        W,
        "ledger",
        "config",
        on,
        "ledger: move datasource settings to shared configmap payplat-db (DB_POOL_SIZE -> DATABASE_POOL_MAX)",
    )
    W.rollout("ledger", on + 1, W.P["ledger"]["version"], gap_ticks=max(1, W.tick(0.5)))
    out_pp = rin0(W, "ledger", on) * 4 / W.svcs["ledger"].replicas
    lo = sum(W.base_lat["pg-ledger"][on - W.tick(10) : on]) / max(1, W.tick(10))
    conc_pp = out_pp * (lo + 0.006)
    newp = max(1, int(conc_pp / 1.7))
    extra_hold = max(0.0, 1.7 * newp / max(1e-6, out_pp) - lo - 0.006)
    W.story.append(
        f"ledger pool/pod {W.P['ledger']['pool']['pg-ledger']} -> {newp} (conc/pod {conc_pp:.2f}, extra hold {extra_hold * 1000:.1f}ms)"
    )
    for i in range(on + 1, W.T):
        W.K("pool", ("ledger", "pg-ledger"))[i] = newp
        W.K("hold", ("ledger", "pg-ledger"))[i] = extra_hold
    W.truth = {"kind": "config_change", "service": "ledger", "change_id": cid}
    page(
        W,
        "MerchantApiHighErrorRate",
        "merchant-api",
        "err",
        0.015,
        "merchant-api 5xx ratio > 1.5% (5m)",
        expr='sum(rate(http_server_request_duration_seconds_count{service_name="merchant-api",http_response_status_code=~"5.."}[5m])) / sum(rate(http_server_request_duration_seconds_count{service_name="merchant-api"}[5m])) > 0.015',
    )
    related(
        W,
        "PaymentsCoreLatencyHigh",
        "payments-core",
        "p99",
        above_base(1.8),
        "payments-core p99 above objective",
    )
    add_decoys(W, on, avoid=["ledger"], n=2)


def sc_flag_fanout(W, rng):
    """shop: flag 'pdp-inline-recs' makes storefront call recommendations once per product tile."""
    on = T_(W, 14, 24)
    W.onset = on
    cid = add_change(
        W,
        "storefront",
        "flag",
        on,
        "Enable 'pdp-inline-recs' for 100% of web traffic (was 5%)",
        author="ana.m",
    )
    W.shape(
        "callm",
        ("storefront", "recommendations"),
        on,
        on + W.tick(1),
        load_for(W, "recommendations", on, 1.3),
    )
    W.truth = {"kind": "config_change", "service": "storefront", "change_id": cid}
    page(
        W,
        "StorefrontLatencyHigh",
        "storefront",
        "p99",
        above_base(1.8),
        "storefront p99 latency above objective for 5m",
        expr='histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{service="storefront"}[5m]))) > 1.5',
    )
    related(
        W,
        "CPUThrottlingHigh",
        "recommendations",
        "util",
        0.9,
        "throttling of CPU in namespace shop for container recommendations",
        severity="info",
        labels={"container": "recommendations"},
    )
    add_decoys(W, on, avoid=["storefront"], n=2)


def sc_timeout_retry(W, rng):
    """rides: rider-api config lowers the eta client timeout to 250 ms with 3 retries; eta is pushed past
    its capacity by the retries (retry storm) and everything that calls eta suffers."""
    on = T_(W, 14, 24)
    W.onset = on
    W.P["eta"]["cost"] *= cost_for(W, "eta", on, 0.78)
    lat_eta = sum(W.base_lat["eta"][on - W.tick(10) : on]) / max(1, W.tick(10))
    to = max(0.05, round(lat_eta * 1.5, 2))
    cid = add_change(
        W,
        "rider-api",
        "config",
        on,
        f"rider-api: eta client timeout 2000ms -> {int(to * 1000)}ms, maxRetries 0 -> 3 (resilience4j)",
    )
    for i in range(on + W.tick(1), W.T):
        W.K("timeout", ("rider-api", "eta"))[i] = to
        W.K("retries", ("rider-api", "eta"))[i] = 3
    W.rollout("rider-api", on, W.P["rider-api"]["version"], gap_ticks=max(1, W.tick(0.3)))
    W.truth = {"kind": "config_change", "service": "rider-api", "change_id": cid}
    page(
        W,
        "MobileGatewayErrorBudgetBurn",
        "mobile-gateway",
        "err",
        0.02,
        "mobile-gateway availability SLO burn rate above 14x",
        label_svc="mobile-gateway",
    )
    related(
        W,
        "EtaLatencyHigh",
        "eta",
        "p99",
        above_base(2.0),
        "eta p99 above 1s",
        labels={"team": "maps"},
    )
    add_decoys(W, on, avoid=["rider-api"], n=2)


def sc_callee_tls_config(W, rng):
    """shop: inventory starts requiring TLS on its listener; checkout still speaks plaintext -> resets."""
    on = T_(W, 14, 24)
    W.onset = on
    cid = add_change(
        W, "inventory", "config", on, "inventory: GRPC_TLS_REQUIRED=true (mTLS rollout step 2/3)"
    )
    W.rollout("inventory", on, W.P["inventory"]["version"], gap_ticks=max(1, W.tick(0.5)))
    W.shape("neterr", ("checkout", "inventory"), on, on + W.tick(2), 0.97)
    W.shape("netdrop", ("checkout", "inventory"), on, on + W.tick(2), 0.97)
    W.extra_logs.append(
        (
            "inventory",
            on,
            W.T,
            0.4,
            "warn",
            lambda W, s, rng, i: (
                f"http: TLS handshake error from {ip_of(W, 'checkout')}:{rng.randint(30000, 60000)}: tls: first record does not look like a TLS handshake"
            ),
        )
    )
    W.dep_text[("inventory", "reset")] = lambda rt, rng: (
        'rpc error: code = Unavailable desc = connection error: desc = "error reading server preface: read tcp 10.1.4.20:39412->10.2.7.31:9090: read: connection reset by peer"'
    )
    W.truth = {"kind": "config_change", "service": "inventory", "change_id": cid}
    page(W, "CheckoutHighErrorRate", "checkout", "err", 0.05, "checkout 5xx ratio above 5%")
    related(
        W, "ApiGatewayHighErrorRate", "api-gateway", "err", 0.01, "api-gateway 5xx ratio above 1%"
    )
    add_decoys(W, on, avoid=["inventory"], n=2)


def sc_ratelimit_config(W, rng):
    """saas: a global rate-limit middleware on traefik starts returning 429 to real users."""
    on = T_(W, 14, 24)
    W.onset = on
    cid = add_change(
        W,
        "traefik",
        "config",
        on,
        "traefik: add Middleware 'global-ratelimit' (average: 40, burst: 80) to all IngressRoutes",
    )
    base = W.dem0["traefik"]
    for i in range(on + W.tick(0.5), W.T):
        W.K("ratelimit", "traefik")[i] = base * 0.7
    W.truth = {"kind": "config_change", "service": "traefik", "change_id": cid}
    page(
        W,
        "Traefik 429 ratio",
        "traefik",
        "r429",
        0.05,
        "More than 5% of requests through traefik are answered 429",
        expr='sum(rate(traefik_entrypoint_requests_total{code="429"}[5m])) / sum(rate(traefik_entrypoint_requests_total[5m])) > 0.05',
    )
    related(
        W,
        "Portal BFF traffic drop",
        "portal-bff",
        "r429",
        0.05,
        "portal-bff request rate 40% below last week",
        labels={"app": "portal-bff"},
    )
    add_decoys(W, on, avoid=["traefik"], n=2)


def sc_workers_config(W, rng):
    """small: GUNICORN_WORKERS 8 -> 2 on webapp (copied from the staging env file)."""
    on = T_(W, 14, 24)
    W.onset = on
    cid = add_change(
        W,
        "webapp",
        "config",
        on,
        "webapp: sync /etc/webapp/env from config repo (GUNICORN_WORKERS=3)",
        author="ansible",
    )
    W.rollout("webapp", on, W.P["webapp"]["version"], gap_ticks=max(1, W.tick(0.3)))
    W.shape("cap", "webapp", on, on + W.tick(1), 1.0 / cost_for(W, "webapp", on, 1.35), mode="mul")
    W.truth = {"kind": "config_change", "service": "webapp", "change_id": cid}
    page(
        W,
        "HAProxyBackendHigh5xx",
        "haproxy",
        "err",
        0.03,
        "HAProxy backend be_webapp is returning more than 3% 5xx",
        label_svc="haproxy",
        labels={"job": "haproxy", "instance": "lb-1:8405", "proxy": "be_webapp"},
    )
    related(W, "WebappHighLatency", "webapp", "p99", above_base(2.0), "webapp p99 above 2s")
    add_change(
        W, "auth", "deploy", on - W.tick(rng.uniform(4, 9)), "auth: log failed logins with reason"
    )


# ---------------- resource saturation ---------------------------------------------------


def sc_db_plan_flip(W, rng):
    """stream: catalog-pg (RDS) picks a bad plan after autovacuum/analyze; CPU pegged; catalog-svc's
    pool fills; api pages. A catalog-svc deploy 20 minutes earlier is innocent."""
    on = T_(W, 16, 26)
    W.onset = on
    W.shape(
        "cost",
        "catalog-pg",
        on - W.tick(4),
        on + W.tick(3),
        cost_for(W, "catalog-pg", on, 1.15),
        mode="mul",
    )
    W.shape("latm", "catalog-pg", on - W.tick(4), on + W.tick(3), 4.0, mode="mul")
    W.truth = {"kind": "resource_saturation", "service": "catalog-pg"}
    page(
        W,
        "[P1] api p99 latency above 2s",
        "api",
        "p99",
        above_base(2.0, 0.4),
        "p99 of trace.express.request on service:api above threshold over the last 5m",
        expr="avg(last_5m):p99:trace.express.request{service:api,env:prod} > 2",
    )
    related(
        W,
        "[P2] RDS CPU high on catalog-pg",
        "catalog-pg",
        "util",
        0.9,
        "aws.rds.cpuutilization above 90% for 10 minutes",
        for_min=10,
        labels={"dbinstanceidentifier": "catalog-pg"},
    )
    add_change(
        W,
        "catalog-svc",
        "deploy",
        on - W.tick(rng.uniform(15, 25)),
        "catalog-svc: add 'new this week' rail (uses existing index)",
    )
    add_decoys(W, on, avoid=["catalog-svc"], n=1)
    W.extra_logs.append(
        (
            "catalog-pg",
            on - W.tick(4),
            W.T,
            0.05,
            "info",
            lambda W, s, rng, i: (
                f"LOG:  duration: {rng.randint(1800, 9000)}.{rng.randint(100, 999)} ms  execute <unnamed>: SELECT t.* FROM titles t JOIN availability a ON a.title_id = t.id WHERE a.region = $1 AND t.kind = $2 ORDER BY t.popularity DESC LIMIT 50"
            ),
        )
    )


def sc_heap_pressure(W, rng):
    """saas: documents' heap fills with large PDF renders (no change): long GC pauses, CPU burnt in GC,
    latency; portal-bff and public-api page on p99."""
    on = T_(W, 14, 24)
    W.onset = on
    T = W.T
    st = on - W.tick(25)
    for p in W.pods["documents"]:
        lim = W.P["documents"]["mem_limit"]
        base = W.P["documents"]["mem_base"]
        p.leak = 0.0
        p.mem_target = (st, on, lim * rng.uniform(0.9, 0.96))
    W.infra[("documents", "gc")] = [
        clamp((i - st) / max(1, on - st)) ** 2 * 0.3 if i > st else 0.0 for i in range(T)
    ]
    W.shape("latm", "documents", st, on + W.tick(2), 12.0)
    W.shape("cost", "documents", st, on + W.tick(2), 1.9, mode="mul")
    W.truth = {"kind": "resource_saturation", "service": "documents"}
    page(
        W,
        "Public API p99 latency",
        "public-api",
        "p99",
        above_base(1.35),
        "public-api p99 above objective for 5 minutes",
        label_svc="public-api",
    )
    related(
        W,
        "Portal BFF p99 latency",
        "portal-bff",
        "p99",
        above_base(1.5),
        "portal-bff p99 above 3s for 5 minutes",
        label_svc="portal-bff",
    )
    add_decoys(W, on, avoid=["documents"], n=2)
    W.extra_logs.append(
        (
            "documents",
            st,
            T,
            0.03,
            "warn",
            lambda W, s, rng, i: (
                f"Rendering document {hexid(rng, 12)}.pdf ({rng.randint(40, 380)} pages, {rng.randint(20, 240)} MB) took {rng.randint(3, 30)}s"
            ),
        )
    )


def sc_cpu_throttle(W, rng):
    """payplat: auth runs with a 500m CPU limit; the morning ramp pushes it into CFS throttling."""
    on = T_(W, 14, 22)
    W.onset = on
    T = W.T
    st = on - W.tick(30)
    W.P["auth"]["cost"] *= cost_for(W, "auth", on, 1.3, 1.4)
    for s in W.entries:
        W.shape("ext", s, st, on, 1.4)
    W.truth = {"kind": "resource_saturation", "service": "auth"}
    page(
        W,
        "MerchantApiLatencyHigh",
        "merchant-api",
        "p99",
        lambda pre: nice(sorted(pre[: len(pre) // 3])[int(len(pre) // 3 * 0.98)] * 1.6),
        "merchant-api p99 latency above objective (5m)",
    )
    related(
        W,
        "CPUThrottlingHigh",
        "auth",
        "util",
        0.9,
        "78% throttling of CPU in namespace payplat for container auth",
        severity="info",
        labels={"container": "auth"},
    )
    add_change(
        W,
        "merchant-api",
        "deploy",
        on - W.tick(rng.uniform(10, 16)),
        "merchant-api: paginate /v1/settlements",
    )
    add_decoys(W, on, avoid=["auth", "merchant-api"], n=1)


def sc_disk_full(W, rng):
    """small: an abandoned logical replication slot retains WAL; /var/lib/postgresql fills; postgres PANICs."""
    on = T_(W, 14, 22)
    W.onset = on
    T = W.T
    size = 200 * 2**30
    start_free = rng.uniform(0.12, 0.2) * size
    W.infra[("fs_avail", "db-1")] = [
        max(0.0, start_free * (1 - i / max(1, on)) ** 1.05) if i < on else rng.uniform(0, 2e6)
        for i in range(T)
    ]
    W.shape("err", "postgres", on, on + W.tick(0.5), 0.45)
    dn = on + W.tick(rng.uniform(2, 4))
    for i in range(dn, min(T, dn + W.tick(rng.uniform(1.5, 3)))):
        W.K("down", "postgres")[i] = 1.0
    W.dep_text[("postgres", "5xx")] = lambda rt, rng: (
        f'ERROR:  could not extend file "base/16384/{rng.randint(16000, 30000)}": No space left on device'
    )
    W.dep_text[("postgres", "timeout")] = W.dep_text[("postgres", "5xx")]
    W.extra_logs.append(
        (
            "postgres",
            on,
            T,
            0.08,
            "error",
            lambda W, s, rng, i: rng.choice(
                [
                    'PANIC:  could not write to file "pg_wal/xlogtemp.%d": No space left on device'
                    % rng.randint(1000, 9999),
                    'ERROR:  could not extend file "base/16384/24589": No space left on device',
                    "LOG:  server process (PID %d) was terminated by signal 6: Aborted"
                    % rng.randint(1000, 9999),
                    "LOG:  database system is shut down",
                    "FATAL:  the database system is in recovery mode",
                ]
            ),
        )
    )
    W.extra_logs.append(
        (
            "postgres",
            0,
            on,
            0.004,
            "warn",
            lambda W, s, rng, i: (
                'WARNING:  replication slot "debezium_orders" is inactive; WAL retained: %d GB'
                % rng.randint(20, 180)
            ),
        )
    )
    W.truth = {"kind": "resource_saturation", "service": "postgres"}
    page(
        W,
        "WebappHigh5xx",
        "webapp",
        "err",
        0.05,
        "webapp 5xx ratio above 5%",
        labels={"instance": "app-1:8000"},
    )
    related(
        W,
        "NodeFilesystemAlmostOutOfSpace",
        "postgres",
        "err",
        0.0,
        "Filesystem on /dev/nvme1n1 at db-1:9100 has only 3% available space left.",
        severity="warning",
        labels={"instance": "db-1:9100", "mountpoint": "/var/lib/postgresql", "job": "node"},
        label_svc=None,
        t_from=max(0, on - W.tick(40)),
    )
    W.related[-1]["arr"] = [1.0 if x < 0.05 * size else 0.0 for x in W.infra[("fs_avail", "db-1")]]
    W.related[-1]["thr"] = 0.5
    add_change(
        W,
        "worker",
        "deploy",
        on - W.tick(rng.uniform(10, 30)),
        "worker: batch digest emails by timezone",
    )


def sc_cache_evictions(W, rng):
    """shop: redis-cache reaches maxmemory (new keys without TTL); evictions; hit ratio collapses;
    catalog and pricing fall through to catalog-db, which saturates; storefront pages."""
    on = T_(W, 14, 24)
    W.onset = on
    T = W.T
    m0 = rng.uniform(0.55, 0.7)
    fill = on - W.tick(rng.uniform(40, 70))
    mem = [
        min(1.0, m0 + (1.0 - m0) * clamp((i - fill) / max(1, on - fill)) ** 1.2) for i in range(T)
    ]
    hit0 = rng.uniform(0.9, 0.96)
    hit = [hit0 - (hit0 - 0.4) * clamp((i - on + W.tick(1)) / W.tick(4)) for i in range(T)]
    ev = [
        0.0 if i < on - W.tick(1) else W.dem0["redis-cache"] * 0.5 * clamp((i - on) / W.tick(3))
        for i in range(T)
    ]
    W.infra[("redis-cache", "mem")] = [x * 0.999 for x in mem]
    W.infra[("redis-cache", "hit")] = hit
    W.infra[("redis-cache", "evict")] = ev
    Lc = load_for(W, "catalog-db", on, 1.05)
    for c in ("catalog", "pricing"):
        for i in range(T):
            W.K("callm", (c, "catalog-db"))[i] *= 1 + (Lc - 1) / (hit0 - 0.4) * (hit0 - hit[i])
    for i in range(T):
        W.K("cost", "recommendations")[i] *= 1 + 2.5 * (hit0 - hit[i])
    W.truth = {"kind": "resource_saturation", "service": "redis-cache"}
    page(
        W,
        "StorefrontLatencyHigh",
        "storefront",
        "p99",
        above_base(1.4),
        "storefront p99 latency above objective for 5m",
    )
    related(
        W,
        "MySQLHighThreadsRunning",
        "catalog-db",
        "util",
        0.85,
        "More than 80% of MySQL connections are in running state on catalog-db",
    )
    related(
        W, "RedisMemoryHigh", "redis-cache", "util", 9, "Redis is running out of memory (> 90%)"
    )
    W.related[-1]["arr"] = [1.0 if m > 0.9 else 0.0 for m in mem]
    W.related[-1]["thr"] = 0.5
    add_decoys(W, on, avoid=[], n=2)


# ---------------- dependency failure ----------------------------------------------------


def sc_vendor_outage(W, rng):
    """rides: the payment service provider returns 503s and hangs; only the caller's client side,
    a vendor probe and logs show it."""
    on = T_(W, 14, 24)
    W.onset = on
    end = on + W.tick(rng.uniform(12, 20))
    W.shape("err", "psp", on, on + W.tick(1), 0.75, t2=end, t3=end + W.tick(1))
    W.shape("latm", "psp", on, on + W.tick(1), 6.0, t2=end, t3=end + W.tick(1))
    W.dep_text[("psp", "5xx")] = lambda rt, rng: (
        f'POST https://api.psp-global.com/v2/charges: 503 Service Unavailable: {{"error":{{"code":"upstream_unavailable","request_id":"req_{hexid(rng, 14)}"}}}}'
    )
    W.truth = {"kind": "dependency_failure", "service": "psp"}
    page(
        W,
        "PaymentsSvcAvailabilitySLOBurn",
        "payments-svc",
        "err",
        0.05,
        "payments-svc availability SLO burn rate above 14x (5m and 1h windows)",
    )
    related(W, "RiderApiErrorRate", "rider-api", "err", 0.005, "rider-api 5xx above 0.5%")
    add_decoys(W, on, avoid=[], n=2)


def sc_cache_node_loss(W, rng):
    """payplat: the node hosting redis-sessions-0 dies; the pod is rescheduled (volume re-attach takes
    minutes); auth fails every session lookup; merchant-api pages."""
    on = T_(W, 14, 24)
    W.onset = on
    dur = W.tick(rng.uniform(3.5, 6))
    p = W.pods["redis-sessions"][0]
    p.crashes.append((on, on + dur, "NodeLost", 0))
    node = p.node
    W.truth = {"kind": "dependency_failure", "service": "redis-sessions"}
    W.extra_events.append(
        (
            on,
            "redis-sessions",
            "NodeNotReady",
            "Warning",
            f"Node {node} status is now: NodeNotReady",
            f"node/{node}",
            {},
        )
    )
    W.extra_events.append(
        (
            on + W.tick(1),
            "redis-sessions",
            "TaintManagerEviction",
            "Normal",
            f"Marking for deletion Pod {W.ns}/{p.name}",
            f"pod/{p.name}",
            {},
        )
    )
    W.extra_events.append(
        (
            on + W.tick(1.2),
            "redis-sessions",
            "FailedAttachVolume",
            "Warning",
            'Multi-Attach error for volume "pvc-3f2c9e1a-7b44-4d0e-9a55-0c1d2e3f4a5b" Volume is already exclusively attached to one node and can\'t be attached to another',
            f"pod/{p.name}",
            {"count": 4},
        )
    )
    W.extra_events.append(
        (
            on + dur,
            "redis-sessions",
            "Started",
            "Normal",
            "Started container redis",
            f"pod/{p.name}",
            {},
        )
    )
    for i in range(on, on + dur):
        W.infra.setdefault(("node_down", node), True)
    page(
        W,
        "MerchantApiHighErrorRate",
        "merchant-api",
        "err",
        0.02,
        "merchant-api 5xx ratio > 2% (5m)",
    )
    related(W, "AuthHighErrorRate", "auth", "err", 0.05, "auth 5xx ratio above 5%")
    add_decoys(W, on, avoid=[], n=2)


def sc_broker_loss(W, rng):
    """shop: one of three kafka brokers is lost; the orders.v1 topic has min.insync.replicas=2 and
    several partitions drop below it; checkout's acks=all produce calls fail."""
    on = T_(W, 14, 24)
    W.onset = on
    T = W.T
    W.infra[("kafka", "brokers")] = [3.0 if i < on else 2.0 for i in range(T)]
    W.infra[("kafka", "urp")] = [0.0 if i < on else float(rng.randint(14, 24)) for i in range(T)]
    W.shape("err", "kafka", on + W.tick(0.5), on + W.tick(1.5), 0.7)
    W.shape("latm", "kafka", on, on + W.tick(1), 20.0)
    W.dep_text[("kafka", "5xx")] = lambda rt, rng: (
        "Messages are rejected since there are fewer in-sync replicas than required."
    )
    W.extra_logs.append(
        (
            "kafka",
            on,
            T,
            0.1,
            "warn",
            lambda W, s, rng, i: (
                f"[ReplicaFetcher replicaId=1, leaderId=2, fetcherId=0] Error in response for fetch request: java.io.IOException: Connection to 2 was disconnected before the response was read"
            ),
        )
    )
    W.extra_logs.append(
        (
            "kafka",
            on,
            T,
            0.06,
            "error",
            lambda W, s, rng, i: (
                f"[ReplicaManager broker=1] Error processing append operation on partition {W.topic()}-{rng.randint(0, 11)} (org.apache.kafka.common.errors.NotEnoughReplicasException)"
            ),
        )
    )
    W.truth = {"kind": "dependency_failure", "service": "kafka"}
    page(W, "CheckoutHighErrorRate", "checkout", "err", 0.05, "checkout 5xx ratio above 5%")
    related(
        W,
        "KafkaUnderReplicatedPartitions",
        "kafka",
        "err",
        0,
        "Kafka has under-replicated partitions",
        labels={"job": "kafka-exporter"},
    )
    W.related[-1]["arr"] = W.infra[("kafka", "urp")]
    add_decoys(W, on, avoid=[], n=2)


def sc_rds_failover(W, rng):
    """logistics: rds-tracking Multi-AZ failover: ~2 minutes without a writer, then a reconnect burst."""
    on = T_(W, 15, 24)
    W.onset = on
    dur = W.tick(rng.uniform(1.5, 2.5))
    W.shape("down", "rds-tracking", on, on + 1, 1.0, t2=on + dur, t3=on + dur + 1)
    W.shape(
        "latm",
        "rds-tracking",
        on + dur,
        on + dur + 1,
        2.5,
        t2=on + dur + W.tick(3),
        t3=on + dur + W.tick(5),
    )
    W.truth = {"kind": "dependency_failure", "service": "rds-tracking"}
    page(
        W,
        "logistics-public-alb-tracking-api-5xx",
        "tracking-api",
        "err",
        0.05,
        "ALARM: HTTPCode_Target_5XX_Count > 50 for 2 datapoints within 2 minutes (TargetGroup tracking-api-tg)",
        for_min=2,
        expr="HTTPCode_Target_5XX_Count",
        labels={"namespace": "AWS/ApplicationELB", "TargetGroup": "targetgroup/tracking-api-tg"},
    )
    related(W, "dispatch-error-rate", "dispatch", "err", 0.05, "ALARM: dispatch 5xx > 5%")
    W.capture_notes = [
        "cloudwatch: datapoints for the last 5 minutes not yet available (period 60s)"
    ]
    add_decoys(W, on, avoid=[], n=2)


def sc_retry_storm(W, rng):
    """rides: one redis-geo shard fails over (~2 min of errors for a third of the keys). Istio retries
    at two layers multiply load on matching, which saturates and stays saturated after redis is back."""
    on = T_(W, 14, 22)
    W.onset = on
    W.P["matching"]["cost"] *= cost_for(W, "matching", on, 0.7)
    W.P["redis-geo"]["cost"] /= 3.0
    d = W.tick(rng.uniform(1.5, 2.5))
    W.shape("down", "redis-geo", on, on + 1, 0.34, t2=on + d, t3=on + d + 1)
    for i in range(W.T):
        W.K("retries", ("driver-api", "matching"))[i] = 1
        W.K("retries", ("mobile-gateway", "driver-api"))[i] = 2
    W.extra_logs.append(
        (
            "redis-geo",
            on,
            on + d + 2,
            0.2,
            "warn",
            lambda W, s, rng, i: rng.choice(
                [
                    "# Connection with master lost.",
                    "* MASTER <-> REPLICA sync started",
                    "# Cluster state changed: fail",
                    "* Failover election won",
                    "# Cluster state changed: ok",
                ]
            ),
        )
    )
    W.truth = {"kind": "dependency_failure", "service": "redis-geo"}
    page(
        W,
        "DriverApiErrorBudgetBurn",
        "driver-api",
        "err",
        0.02,
        "driver-api availability SLO burn rate above 14x",
    )
    related(W, "MatchingHighLatency", "matching", "p99", above_base(2.5), "matching p99 above 1s")
    add_decoys(W, on, avoid=[], n=2)


# ---------------- traffic surge ---------------------------------------------------------


def sc_flash_sale(W, rng):
    """shop: a marketing push sends ~2.6x web traffic to storefront within two minutes; HPAs scale
    the app tier after a few minutes, orders-db/catalog-db do not."""
    on = T_(W, 14, 24)
    W.onset = on
    W.shape("callm", ("ingress-nginx", "storefront"), on, on + W.tick(2), 2.6)
    for s in (
        "storefront",
        "api-gateway",
        "catalog",
        "cart",
        "user-profile",
        "search",
        "recommendations",
        "pricing",
        "checkout",
        "inventory",
        "shipping",
        "payments",
    ):
        scale_out(W, s, on + W.tick(rng.uniform(2.5, 4)), int(W.svcs[s].replicas * 1.6 + 0.5))
    L = demand_mult(W, on, edge_mult={("ingress-nginx", "storefront"): 2.6})
    for s in ("catalog-db", "orders-db"):
        W.P[s]["cost"] *= cost_for(W, s, on, 1.2, L[s])
    W.truth = {"kind": "traffic_surge", "service": "storefront"}
    page(W, "StorefrontHighErrorRate", "storefront", "err", 0.02, "storefront 5xx ratio above 2%")
    related(
        W,
        "NginxIngressHighRequestRate",
        "ingress-nginx",
        "err",
        0.01,
        "ingress request rate 2x above 1w ago",
        severity="info",
    )
    add_change(
        W,
        "storefront",
        "flag",
        on - W.tick(rng.uniform(1, 3)),
        "Enable 'summer-sale-banner' (campaign SUMMER25)",
        author="growth-bot",
    )
    add_decoys(W, on, avoid=["storefront"], n=1)


def sc_scraper(W, rng):
    """saas: a customer's integration (or a scraper) hammers public-api /v1/documents; documents saturates."""
    on = T_(W, 14, 24)
    W.onset = on
    W.shape(
        "callm", ("traefik", "public-api"), on, on + W.tick(1.5), load_for(W, "public-api", on, 1.2)
    )
    W.extra_logs.append(
        (
            "public-api",
            on,
            W.T,
            0.25,
            "info",
            lambda W, s, rng, i: (
                f"Request GET /v1/documents?page={rng.randint(1, 9000)} client_id=cli_7731f api_key=****{hexid(rng, 4)} ip=185.220.{rng.randint(100, 101)}.{rng.randint(2, 250)} took {rng.randint(40, 900)}ms"
            ),
        )
    )
    W.truth = {"kind": "traffic_surge", "service": "public-api"}
    page(
        W,
        "Public API 5xx ratio",
        "public-api",
        "err",
        0.03,
        "public-api 5xx ratio above 3% for 5 minutes",
        label_svc="public-api",
    )
    related(
        W,
        "Documents p99 latency",
        "documents",
        "p99",
        above_base(2.0),
        "documents p99 above 5s",
        label_svc="documents",
    )
    add_decoys(W, on, avoid=["public-api"], n=2)


def sc_push_storm(W, rng):
    """stream: a 'new episode' push notification brings ~3x logins/sessions to api within 90 seconds;
    the app tier scales out, mongo-users does not."""
    on = T_(W, 14, 22)
    W.onset = on
    peak = on + W.tick(1.5)
    W.shape("ext", "api", on, peak, 2.8, t2=peak + W.tick(8), t3=peak + W.tick(16))
    for s in ("api", "entitlements", "playback", "cdn-token", "catalog-svc"):
        scale_out(W, s, on + W.tick(rng.uniform(2, 3.5)), int(W.svcs[s].replicas * 1.8 + 0.5))
    L = demand_mult(W, on, entry_mult={"api": 2.8})
    W.P["mongo-users"]["cost"] *= cost_for(W, "mongo-users", on, 1.2, L["mongo-users"])
    W.P["catalog-pg"]["cost"] *= cost_for(W, "catalog-pg", on, 0.8, L["catalog-pg"])
    W.P["memcached"]["cost"] *= 0.5
    W.truth = {"kind": "traffic_surge", "service": "api"}
    page(
        W,
        "[P1] api 5xx ratio above 1%",
        "api",
        "err",
        0.01,
        "Error ratio of trace.express.request on service:api is above 1% over the last 5m",
    )
    related(
        W,
        "[P2] mongo-users connections high",
        "mongo-users",
        "util",
        0.85,
        "mongodb.connections.current above 80% of max",
    )
    add_decoys(W, on, avoid=["api"], n=2)


def sc_shift_start(W, rng):
    """logistics: a forced driver-app update at shift start makes every device re-sync; driver-bff traffic
    x2.6 (ECS scales the app tier, geo-svc is capped); geo-svc saturates and the geocoder lambda throttles."""
    on = T_(W, 15, 24)
    W.onset = on
    W.shape("callm", ("public-alb", "driver-bff"), on, on + W.tick(3), 2.6)
    for s in ("driver-bff", "dispatch", "routing-engine", "notifier-worker"):
        scale_out(
            W,
            s,
            on + W.tick(rng.uniform(3, 5)),
            int(W.svcs[s].replicas * 1.7 + 0.5),
            reason="ECS service auto scaling: TargetTracking CPUUtilization",
        )
    L = demand_mult(W, on, edge_mult={("public-alb", "driver-bff"): 2.6})
    W.P["geo-svc"]["cost"] *= cost_for(W, "geo-svc", on, 1.3, L["geo-svc"])
    W.truth = {"kind": "traffic_surge", "service": "driver-bff"}
    page(
        W,
        "logistics-public-alb-driver-bff-latency",
        "driver-bff",
        "p99",
        above_base(1.8),
        "ALARM: TargetResponseTime p99 > threshold for 3 datapoints within 3 minutes (TargetGroup driver-bff-tg)",
        expr="TargetResponseTime",
    )
    related(
        W,
        "geo-svc-cpu-high",
        "geo-svc",
        "util",
        0.85,
        "ALARM: ECS CPUUtilization > 85% (service geo-svc)",
    )
    add_decoys(W, on, avoid=["driver-bff"], n=2)


# ---------------- crash loops -----------------------------------------------------------


def sc_oom_crashloop(W, rng, svc, page_svc, page_name):
    """memory grows with the working set until pods hit the limit and are OOMKilled, again and again."""
    on = T_(W, 14, 24)
    W.onset = on
    lim = W.P[svc]["mem_limit"]
    base = W.P[svc]["mem_base"]
    for k, p in enumerate(W.pods[svc]):
        p.leak_from = on - W.tick(rng.uniform(3, 5))
        cross = on + W.tick(rng.uniform(-1, 1.5))
        p.leak = (lim - base * 0.95) / max(120.0, (cross - p.leak_from) * W.step)
    W.extra_logs.append(
        (
            svc,
            on - W.tick(12),
            W.T,
            0.02,
            "warn",
            lambda W, s, rng, i: (
                f"Loaded shard index generation {rng.randint(4100, 4200)}: {rng.randint(18, 31)}M docs, field cache {rng.randint(600, 1400)}MB"
            ),
        )
    )
    W.truth = {"kind": "crash_loop", "service": svc}
    page(W, page_name, page_svc, "err", 0.01, f"{page_svc} 5xx ratio above 1%")
    related(
        W,
        "KubePodCrashLooping",
        svc,
        "restarts",
        1.5,
        f'Pod {W.ns}/{svc} is in waiting state (reason: "CrashLoopBackOff").',
        for_min=1,
    )
    add_decoys(W, on, avoid=[svc], n=2)


def sc_poison_message(W, rng):
    """payplat: payout-worker crashes on a message with an unexpected field; CrashLoopBackOff; the queue backs up."""
    on = T_(W, 16, 26)
    W.onset = on
    W.crash_plans.append(
        dict(
            svc="payout-worker",
            start=on,
            run_s=25,
            reason="Error",
            exit_code=1,
            startup_s=12,
            jitter_min=1,
        )
    )
    W.crash_text["payout-worker"] = lambda W, s, rng, i: (
        "error",
        "Application run failed",
        'com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException: Unrecognized field "iban_v2" (class io.paynova.payout.PayoutInstruction), not marked as ignorable (9 known properties)',
    )
    W.extra_logs.append(
        (
            "payout-worker",
            on,
            W.T,
            0.05,
            "error",
            lambda W, s, rng, i: (
                f"Failed to process message payouts.requests#{rng.randint(88000, 89000)} (redelivered=true), nack and requeue"
            ),
        )
    )
    W.truth = {"kind": "crash_loop", "service": "payout-worker"}
    page(
        W,
        "RabbitMQQueueBacklog",
        "rabbitmq",
        "backlog",
        2500,
        "Queue payout-worker.requests has more than 2500 ready messages",
        label_svc="rabbitmq",
        labels={"rabbitmq_queue_name": "payout-worker.requests"},
    )
    related(
        W,
        "KubePodCrashLooping",
        "payout-worker",
        "restarts",
        1.5,
        "Pod payplat/payout-worker is in CrashLoopBackOff",
        for_min=1,
    )
    add_decoys(W, on, avoid=["payout-worker"], n=2)


def sc_panic_loop(W, rng):
    """stream: user-svc panics on profiles with a nil avatar struct (data, not code change); restarts."""
    on = T_(W, 14, 24)
    W.onset = on
    W.crash_plans.append(
        dict(
            svc="user-svc",
            start=on,
            run_s=150,
            reason="Error",
            exit_code=2,
            startup_s=4,
            jitter_min=1.5,
        )
    )
    W.crash_text["user-svc"] = lambda W, s, rng, i: (
        "fatal",
        "panic: runtime error: invalid memory address or nil pointer dereference",
        go_panic(W, s, rng),
    )
    W.truth = {"kind": "crash_loop", "service": "user-svc"}
    page(
        W,
        "[P1] api 5xx ratio above 1%",
        "api",
        "err",
        0.01,
        "Error ratio of trace.express.request on service:api is above 1% over the last 5m",
    )
    related(
        W,
        "[P2] user-svc pods restarting",
        "user-svc",
        "restarts",
        2,
        "kubernetes.containers.restarts increased by more than 2 in 10m for kube_deployment:user-svc",
        for_min=1,
    )
    add_decoys(W, on, avoid=["user-svc"], n=2)


def sc_liveness_kills(W, rng):
    """saas: identity's thread pool starves under sync-over-async redis calls; liveness probes time out,
    kubelet restarts pods, the remaining pods get more load: a restart loop."""
    on = T_(W, 14, 24)
    W.onset = on
    W.shape("latm", "identity", on - W.tick(3), on, 4.0)
    W.crash_plans.append(
        dict(
            svc="identity",
            start=on,
            run_s=180,
            reason="Liveness",
            exit_code=137,
            startup_s=15,
            jitter_min=2,
        )
    )
    W.truth = {"kind": "crash_loop", "service": "identity"}
    page(
        W,
        "Portal BFF 5xx ratio",
        "portal-bff",
        "err",
        0.03,
        "portal-bff 5xx ratio above 3% for 5 minutes",
        label_svc="portal-bff",
    )
    related(
        W,
        "KubePodCrashLooping",
        "identity",
        "restarts",
        2,
        "identity pods restarting (liveness)",
        for_min=1,
        label_svc="identity",
    )
    add_decoys(W, on, avoid=["identity"], n=2)


# ---------------- certificates ----------------------------------------------------------


def sc_internal_cert(W, rng):
    """payplat: ledger's serving certificate (cert-manager, internal CA) expires: renewal had been failing
    for days (ClusterIssuer secret rotated). Every TLS call to ledger fails."""
    on = T_(W, 14, 24)
    W.onset = on
    exp = W.ts(on) - rng.uniform(5, 40)
    W.cert_expiry["ledger"] = exp
    W.infra[("cert_notready_lead", "ledger")] = 3 * 86400
    W.shape("tls", "ledger", on, on + 1, 1.0)
    W.extra_logs.append(
        (
            "ledger",
            on,
            W.T,
            0.5,
            "warn",
            lambda W, s, rng, i: (
                f"javax.net.ssl.SSLHandshakeException: Received fatal alert: certificate_expired (remote {ip_of(W, 'payments-core')}:{rng.randint(30000, 60000)})"
            ),
        )
    )
    W.truth = {"kind": "certificate_expiry", "service": "ledger"}
    page(
        W,
        "MerchantApiHighErrorRate",
        "merchant-api",
        "err",
        0.015,
        "merchant-api 5xx ratio > 1.5% (5m)",
    )
    related(
        W,
        "CertManagerCertNotReady",
        "ledger",
        "err",
        -1,
        "Certificate payplat/ledger-grpc-tls is not ready: Issuing certificate as Secret does not exist",
        severity="warning",
        t_from=0,
    )
    W.related[-1]["arr"] = [1.0] * W.T
    related(
        W,
        "PaymentsCoreHighErrorRate",
        "payments-core",
        "err",
        0.05,
        "payments-core 5xx ratio above 5%",
    )
    add_decoys(W, on, avoid=["ledger"], n=2)


def sc_public_cert(W, rng):
    """small: the Let's Encrypt renewal cron on the load balancers has failed for weeks; the public cert
    expires. Browsers refuse the handshake; traffic falls off a cliff."""
    on = T_(W, 14, 24)
    W.onset = on
    W.cert_expiry["haproxy"] = W.ts(on) - rng.uniform(5, 50)
    W.cert_expiry["webapp"] = W.cert_expiry["haproxy"]
    W.shape("ext", "haproxy", on, on + 1, 0.12)
    W.extra_logs.append(
        (
            "haproxy",
            on,
            W.T,
            0.6,
            "warn",
            lambda W, s, rng, i: (
                f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}:{rng.randint(30000, 60000)} [{datetime.fromtimestamp(W.ts(i), tz=timezone.utc).strftime('%d/%b/%Y:%H:%M:%S.000')}] fe_https/1: SSL handshake failure"
            ),
        )
    )
    W.extra_logs.append(
        (
            "haproxy",
            0,
            W.T,
            0.0008,
            "warn",
            lambda W, s, rng, i: (
                "certbot-renew.service: Main process exited, code=exited, status=1/FAILURE"
            ),
        )
    )
    W.truth = {"kind": "certificate_expiry", "service": "haproxy"}
    spec = dict(
        name="BlackboxProbeFailed",
        svc="haproxy",
        sig="err",
        thr=0.5,
        summary="Probe https://tinyco.app/ failed",
        for_min=1,
    )
    page(
        W,
        "BlackboxProbeFailed",
        "haproxy",
        "err",
        0.5,
        "Probe failed (instance https://tinyco.app/)",
        labels={"job": "blackbox", "instance": "https://tinyco.app/"},
        for_min=1,
    )
    W.page["arr"] = [1.0 if W.ts(i) >= W.cert_expiry["haproxy"] else 0.0 for i in range(W.T)]
    W.page["label_svc"] = None
    related(
        W,
        "WebappTrafficDrop",
        "webapp",
        "err",
        0.5,
        "webapp request rate dropped by more than 70% vs 1h ago",
        labels={"instance": "app-1:8000"},
    )
    W.related[-1]["arr"] = [
        1.0 if W.ts(i) >= W.cert_expiry["haproxy"] + 300 else 0.0 for i in range(W.T)
    ]
    add_change(
        W, "webapp", "deploy", on - W.tick(rng.uniform(25, 45)), "webapp: fix timezone in invoices"
    )


def sc_vendor_cert(W, rng):
    """logistics: the maps provider lets its API certificate expire; routing-engine and the geocoder lambda
    fail TLS verification; dispatch and driver-bff error."""
    on = T_(W, 15, 24)
    W.onset = on
    W.cert_expiry["maps-provider"] = W.ts(on) - rng.uniform(5, 30)
    W.shape("tls", "maps-provider", on, on + 1, 1.0)
    W.truth = {"kind": "certificate_expiry", "service": "maps-provider"}
    page(
        W,
        "logistics-public-alb-driver-bff-5xx",
        "driver-bff",
        "err",
        0.03,
        "ALARM: HTTPCode_Target_5XX_Count > 25 for 2 datapoints within 2 minutes (TargetGroup driver-bff-tg)",
        expr="HTTPCode_Target_5XX_Count",
    )
    related(
        W, "routing-engine-errors", "routing-engine", "err", 0.1, "ALARM: routing-engine 5xx > 10%"
    )
    add_decoys(W, on, avoid=[], n=2)


# ---------------- network ---------------------------------------------------------------


def sc_node_packet_loss(W, rng):
    """shop: the ENA interface of one node drops packets (no change). Two of the three payments pods run
    there: calls to and from payments see retransmits, resets and long tails; payments' own CPU and
    error counters stay calm."""
    on = T_(W, 14, 24)
    W.onset = on
    bad = rng.choice(W.nodes)
    ps = W.pods["payments"]
    for p in ps[:2]:
        p.node = bad
    frac = 2 / 3
    T = W.T
    W.infra[("node_retrans", bad)] = [2.0 if i < on else rng.uniform(300, 600) for i in range(T)]
    W.shape("netlat", "payments", on, on + W.tick(1), 0.9 * frac)
    W.shape("neterr", "payments", on, on + W.tick(1), 0.07 * frac)
    W.shape("netlat", ("payments", "stripe"), on, on + W.tick(1), 0.9 * frac)
    W.shape("netlat", ("payments", "orders-db"), on, on + W.tick(1), 0.25 * frac)
    W.shape("neterr", ("payments", "orders-db"), on, on + W.tick(1), 0.04 * frac)
    W.truth = {"kind": "network", "service": "payments"}
    page(
        W,
        "CheckoutLatencyHigh",
        "checkout",
        "p99",
        above_base(1.6),
        "checkout p99 latency above 4s for 5m",
    )
    related(
        W,
        "NodeNetworkReceiveErrs",
        "payments",
        "err",
        0.0,
        f"{bad} interface eth0 has encountered receive errors",
        labels={"instance": bad, "device": "eth0"},
        label_svc=None,
    )
    W.related[-1]["arr"] = [0.0 if i < on + W.tick(3) else 1.0 for i in range(T)]
    add_decoys(W, on, avoid=["payments"], n=2)
    W.story.append(f"bad node {bad}")


def sc_dns(W, rng):
    """rides: CoreDNS saturates (ndots:5 search-path amplification from a new batch job's lookups);
    new connections fail name resolution, mostly to external hosts (psp, maps-api, sms)."""
    on = T_(W, 14, 22)
    W.onset = on
    T = W.T
    for s in W.order:
        if W.svcs[s].kind in ("app", "edge", "worker"):
            W.shape("dnserr", s, on, on + W.tick(1.5), 0.08)
    W.infra[("coredns", "servfail")] = [
        0.0 if i < on else clamp(0.25 * (i - on) / W.tick(1.5)) for i in range(T)
    ]
    W.infra[("coredns", "lat")] = [
        0.0015 if i < on else 0.0015 + 0.6 * clamp((i - on) / W.tick(1.5)) for i in range(T)
    ]
    W.infra[("coredns", "cpu")] = [0.08 if i < on - W.tick(2) else 0.098 for i in range(T)]
    W.extra_logs.append(
        (
            "matching",
            on,
            T,
            0.05,
            "warn",
            lambda W, s, rng, i: (
                "lookup redis-geo-0.redis-geo.rides.svc.cluster.local on 10.96.0.10:53: read udp: i/o timeout, retrying"
            ),
        )
    )
    W.truth = {"kind": "network", "service": "coredns"}
    page(
        W,
        "RiderApiErrorBudgetBurn",
        "rider-api",
        "err",
        0.02,
        "rider-api availability SLO burn rate above 14x",
    )
    related(
        W,
        "CoreDNSErrorsHigh",
        "rider-api",
        "err",
        0.0,
        "CoreDNS is returning SERVFAIL for 21.4% of requests.",
        labels={"job": "coredns"},
        label_svc=None,
    )
    W.related[-1]["arr"] = W.infra[("coredns", "servfail")]
    W.related[-1]["thr"] = 0.03
    add_change(
        W,
        "surge-calculator",
        "deploy",
        on - W.tick(rng.uniform(3, 8)),
        "surge-calculator: enrich zones with weather API lookups",
    )
    add_decoys(W, on, avoid=["surge-calculator"], n=1)


def sc_az_latency(W, rng):
    """stream: the link between two AZs degrades; every call to mongo-users (primary in the other AZ)
    gets +200-300 ms and some resets. mongo's own op latency is flat."""
    on = T_(W, 14, 24)
    W.onset = on
    W.shape("netlat", "mongo-users", on, on + W.tick(1.5), rng.uniform(0.2, 0.3))
    W.shape("neterr", "mongo-users", on, on + W.tick(1.5), 0.03)
    W.truth = {"kind": "network", "service": "mongo-users"}
    page(
        W,
        "[P1] api p99 latency above 2s",
        "api",
        "p99",
        above_base(1.6),
        "p99 of trace.express.request on service:api above threshold over the last 5m",
    )
    related(
        W,
        "[P2] entitlements latency",
        "entitlements",
        "p99",
        above_base(1.8),
        "p99 of trace.servlet.request on service:entitlements above 1.5s",
    )
    add_decoys(W, on, avoid=[], n=2)


# ---------------- unknown / no clear cause ----------------------------------------------


def sc_unexplained_errors(W, rng, svc, page_svc, page_name, err, msg, exc=None):
    """errors start at one service with nothing that explains them (no change, no saturation, healthy
    dependencies): a latent data-dependent bug."""
    on = T_(W, 14, 24)
    W.onset = on
    W.shape("err", svc, on, on + W.tick(2), err)
    W.own_text[(svc, "bug")] = own("error", msg, exc)
    W.truth = {"kind": "unknown", "service": svc}
    page(W, page_name, page_svc, "err", 0.01, f"{page_svc} 5xx ratio above 1%", label_svc=page_svc)
    add_decoys(W, on - W.tick(30), avoid=[svc], n=2, after=False)


def sc_blip(W, rng, svc, page_name):
    """a short latency blip on the paging service that is already over when the bundle is captured:
    nothing else moved."""
    on = T_(W, 12, 20)
    W.onset = on
    W.shape(
        "lata", svc, on, on + 1, rng.uniform(0.25, 0.45), t2=on + W.tick(3), t3=on + W.tick(3) + 1
    )
    W.truth = {"kind": "unknown", "service": svc}
    page(W, page_name, svc, "p99", above_base(1.4), f"{svc} p99 latency above objective", for_min=1)
    add_decoys(W, on - W.tick(20), avoid=[], n=1, after=False)


def sc_tight_threshold(W, rng, svc, page_name):
    """the evening peak lifts p99 a little; an alert with a too-tight threshold fires. Nothing is broken."""
    on = T_(W, 12, 20)
    W.onset = on
    base = sum(W.base_lat[svc][: max(1, on)]) / max(1, on)
    W.shape("lata", svc, on - W.tick(12), on, 0.45 * base)
    W.truth = {"kind": "unknown", "service": svc}
    page(
        W,
        page_name,
        svc,
        "p99",
        lambda pre: sorted(pre)[int(len(pre) * 0.9)] * 1.12,
        f"{svc} p99 latency above objective",
        for_min=2,
        severity="warning",
    )
    add_decoys(W, on - W.tick(20), avoid=[], n=2, after=False)


# ======================================================================================
# the plan: ~40 bundles
# ======================================================================================

PLAN = [
    # deploy (9)
    (
        "deploy-errors",
        "shop",
        lambda W, r: sc_deploy_errors(
            W,
            r,
            "cart",
            0.3,
            "api-gateway",
            "ApiGatewayHighErrorRate",
            "cart: migrate price rounding to decimal128",
            "Unhandled exception in CartController.Recalculate",
            "System.InvalidCastException: Unable to cast object of type 'System.Double' to type 'System.Decimal'.",
            0.02,
        ),
    ),
    (
        "deploy-errors",
        "stream",
        lambda W, r: sc_deploy_errors(
            W,
            r,
            "entitlements",
            0.18,
            "api",
            "[P1] api 5xx ratio above 1%",
            "entitlements: new family-plan resolver",
            'Request processing failed: java.lang.NullPointerException: Cannot invoke "PlanTier.rank()" because "tier" is null',
            'java.lang.NullPointerException: Cannot invoke "tv.streamly.entitlements.PlanTier.rank()" because "tier" is null',
            0.01,
        ),
    ),
    (
        "deploy-errors",
        "logistics",
        lambda W, r: sc_deploy_errors(
            W,
            r,
            "dispatch",
            0.3,
            "driver-bff",
            "logistics-public-alb-driver-bff-5xx",
            "dispatch: jackson 2.17 upgrade + new stop-window DTO",
            "Could not write JSON: Java 8 date/time type `java.time.Instant` not supported by default",
            'com.fasterxml.jackson.databind.exc.InvalidDefinitionException: Java 8 date/time type `java.time.Instant` not supported by default: add Module "com.fasterxml.jackson.datatype:jackson-datatype-jsr310"',
            0.02,
        ),
    ),
    ("deploy-latency-deep", "rides", sc_latency_deep),
    (
        "deploy-caller-hurts-db",
        "saas",
        lambda W, r: sc_caller_hurts_db(
            W,
            r,
            "reports",
            "postgres-main",
            12.0,
            1.12,
            "portal-bff",
            "Portal BFF 5xx ratio",
            "reports: per-tenant usage breakdown (ORM lazy loading in export loop)",
        ),
    ),
    (
        "deploy-caller-hurts-db",
        "payplat",
        lambda W, r: sc_caller_hurts_db(
            W,
            r,
            "merchants",
            "pg-ledger",
            3.0,
            1.12,
            "merchant-api",
            "MerchantApiHighErrorRate",
            "merchants: settlement summary now joins ledger.entries (no index on merchant_id, created_at)",
        ),
    ),
    ("deploy-canary", "stream", sc_canary),
    ("deploy-memory-leak", "shop", sc_leak_deploy),
    ("deploy-cpu-regression", "small", sc_cpu_regression_deploy),
    # config_change (6)
    ("config-pool-size", "payplat", sc_pool_config),
    ("flag-fanout", "shop", sc_flag_fanout),
    ("config-timeout-retry-storm", "rides", sc_timeout_retry),
    ("config-callee-tls", "shop", sc_callee_tls_config),
    ("config-ratelimit", "saas", sc_ratelimit_config),
    ("config-workers", "small", sc_workers_config),
    # resource_saturation (5)
    ("db-plan-flip", "stream", sc_db_plan_flip),
    ("jvm-heap-pressure", "saas", sc_heap_pressure),
    ("cpu-throttling", "payplat", sc_cpu_throttle),
    ("disk-full", "small", sc_disk_full),
    ("cache-evictions", "shop", sc_cache_evictions),
    # dependency_failure (5)
    ("vendor-outage", "rides", sc_vendor_outage),
    ("cache-node-loss", "payplat", sc_cache_node_loss),
    ("kafka-broker-loss", "shop", sc_broker_loss),
    ("rds-failover", "logistics", sc_rds_failover),
    ("retry-storm", "rides", sc_retry_storm),
    # traffic_surge (4)
    ("flash-sale", "shop", sc_flash_sale),
    ("scraper", "saas", sc_scraper),
    ("push-storm", "stream", sc_push_storm),
    ("shift-start", "logistics", sc_shift_start),
    # crash_loop (4)
    (
        "oom-crashloop",
        "shop",
        lambda W, r: sc_oom_crashloop(W, r, "search", "api-gateway", "ApiGatewayHighErrorRate"),
    ),
    ("poison-message", "payplat", sc_poison_message),
    ("panic-loop", "stream", sc_panic_loop),
    ("liveness-kills", "saas", sc_liveness_kills),
    # certificate_expiry (3)
    ("internal-cert", "payplat", sc_internal_cert),
    ("public-cert", "small", sc_public_cert),
    ("vendor-cert", "logistics", sc_vendor_cert),
    # network (3)
    ("node-packet-loss", "shop", sc_node_packet_loss),
    ("dns", "rides", sc_dns),
    ("az-latency", "stream", sc_az_latency),
    # unknown (4)
    (
        "unexplained-errors",
        "saas",
        lambda W, r: sc_unexplained_errors(
            W,
            r,
            "billing",
            "portal-bff",
            "Portal BFF 5xx ratio",
            0.25,
            "Invoice rendering failed for tenant t_4821",
            "java.lang.ArithmeticException: BigInteger divide by zero",
        ),
    ),
    (
        "unexplained-errors",
        "payplat",
        lambda W, r: sc_unexplained_errors(
            W,
            r,
            "fx-rates",
            "merchant-api",
            "MerchantApiHighErrorRate",
            0.35,
            "failed to price quote",
            "RangeError: Invalid currency code : XCG",
        ),
    ),
    (
        "latency-blip",
        "rides",
        lambda W, r: sc_blip(W, r, "mobile-gateway", "MobileGatewayLatencyHigh"),
    ),
    (
        "tight-threshold",
        "shop",
        lambda W, r: sc_tight_threshold(W, r, "search", "SearchLatencyHigh"),
    ),
]


FAMDOC = {
    "deploy-errors": sc_deploy_errors.__doc__,
    "deploy-caller-hurts-db": sc_caller_hurts_db.__doc__,
    "oom-crashloop": sc_oom_crashloop.__doc__,
    "unexplained-errors": sc_unexplained_errors.__doc__,
    "latency-blip": sc_blip.__doc__,
    "tight-threshold": sc_tight_threshold.__doc__,
}


# ======================================================================================
# main
# ======================================================================================

INC_ID = {
    "shop": lambda r: f"INC-{r.randint(20000, 29999)}",
    "payplat": lambda r: f"PN-INC-{r.randint(1000, 9999)}",
    "stream": lambda r: f"P{alnum(r, 6, 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789')}",
    "logistics": lambda r: f"ops-{r.randint(100, 999)}",
    "saas": lambda r: f"DH-{r.randint(100, 999)}",
    "rides": lambda r: f"RIDES-INC-{r.randint(3000, 5999)}",
    "small": lambda r: f"incident-{r.randint(10, 99)}",
}


def build_one(idx, family, sysname, fn, seed):
    rng = seeded(seed, idx, family, sysname)
    step = rng.choice([15, 30, 30, 60]) if sysname != "logistics" else rng.choice([30, 60])
    if family in ("deploy-memory-leak",):
        step = rng.choice([30, 60])
    lo, hi = {15: (28, 110), 30: (50, 150), 60: (90, 200)}[step]
    if family in ("deploy-memory-leak", "disk-full"):
        lo, hi = max(lo, 100), max(hi, 160)
    dur = rng.uniform(lo, hi)
    T = int(dur * 60 / step)
    day = datetime(2025, 4, 1, tzinfo=timezone.utc) + timedelta(
        days=rng.randint(0, 330), minutes=rng.randint(0, 24 * 60 - 1)
    )
    t0 = int(day.timestamp()) // step * step
    # a fault-free run of the same world, to size each scenario's knobs against real utilisation
    st = rng.getstate()
    r0 = random.Random()
    r0.setstate(st)
    W0 = World(sysname, r0, T, step, t0, f"{seed}-{idx}")
    W0.build_pods()
    W0.onset = T - 1
    W0.simulate()
    rng.setstate(st)
    W = World(sysname, rng, T, step, t0, f"{seed}-{idx}")
    W.base_util = W0.util
    W.base_rin = W0.rin
    W.base_lat = W0.lat
    W.base_out = W0.out
    W.build_pods()
    fn(W, rng)
    if rng.random() < 0.6:
        W.add_noise_restart()
    if sysname != "logistics" and rng.random() < 0.2:
        a = rng.randrange(W.tick(5), max(W.tick(6), W.T - W.tick(5)))
        W.prom_gap = (a, a + max(1, W.tick(rng.uniform(1, 3))))
        W.story.append(f"prometheus gap ticks {W.prom_gap}")
    W.simulate()
    # alerts
    pg = resolve_thr(W, W.page, W.onset)
    pa = fire(W, pg, required=True)
    W.page_alert = pa
    for sp in W.related:
        resolve_thr(W, sp, W.onset)
        fire(W, sp)
    noise_alerts(W, rng)
    W.bundle_id = INC_ID[sysname](rng)
    W.title = f"{pa['labels']['alertname']}: {pa['annotations']['summary']}"
    return W


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only", type=int, nargs="*", help="indices to build (debug)")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args(argv)
    os.makedirs(a.out, exist_ok=True)
    manifest = []
    mrng = seeded(a.seed, "manifest")
    cut = set(mrng.sample(range(len(PLAN)), 2))
    bom = mrng.randrange(len(PLAN))
    for idx, (family, sysname, fn) in enumerate(PLAN):
        if a.only and idx not in a.only:
            continue
        W = build_one(idx, family, sysname, fn, a.seed)
        if idx in cut:
            W.cut_log = log_file(
                W,
                W.page["svc"]
                if W.page["svc"] in W.svcs and W.svcs[W.page["svc"]].kind in ("app", "edge")
                else W.entries[0],
            )
        if idx == bom:
            W.bom_log = log_file(W, W.entries[0])
        name = f"b{idx + 1:02d}-{sysname}"
        write_bundle(W, a.out, name, idx)
        pa = W.page_alert
        manifest.append(
            {
                "bundle": name,
                "family": family,
                "system": sysname,
                "stack": W.stack,
                "step_s": W.step,
                "window_min": round(W.T * W.step / 60),
                "onset": iso(W.ts(W.onset), 0),
                "page": pa["labels"]["alertname"],
                "page_at": pa["startsAt"],
                "truth": W.truth,
                "doc": " ".join((fn.__doc__ or FAMDOC.get(family) or family).split()),
                "gen_notes": W.notes_gen + W.story,
            }
        )
        if a.verbose:
            print(
                f"{name:18s} {family:28s} T={W.T:4d} step={W.step:2d} onset={W.onset} page@{pa.get('_tick')} truth={W.truth} {W.notes_gen}",
                file=sys.stderr,
            )
    if not a.only:
        with open(os.path.join(a.out, "MANIFEST.yaml"), "w") as fh:
            yaml.safe_dump(
                {"generator": "blind3/gen.py", "seed": a.seed, "bundles": manifest},
                fh,
                sort_keys=False,
                width=200,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
