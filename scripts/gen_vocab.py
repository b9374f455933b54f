#!/usr/bin/env python3
"""Independent generator of synthetic incident bundles (incident bundle v1).

Written from an SRE's view of real telemetry (Micrometer, OTel semconv, Istio/Envoy,
cAdvisor, kube-state-metrics, node_exporter, blackbox, cert-manager, DB exporters),
without reference to the engine's own rules or generators (2026-12-04, by a helper
that did not read aisre_cli/investigate/, scripts/ or scenarios/). Three families: A,
nine kinds in varied vocabularies; B, gray releases (several canaries in flight, one
defective, series per version); C, code-level faults with metrics and logs (`match:
service`). Not used to fit the weights: it measures what an unseen system does.

    python scripts/gen_vocab.py --out /tmp/vocab
    aisre eval /tmp/vocab/A   # and B, C

usage: python3 scripts/gen_vocab.py [--out /tmp/indep] [--seed 20250611] [--families ABC]
"""

import argparse
import hashlib
import json
import math
import os
import shutil
from datetime import UTC, datetime

import numpy as np

# ----------------------------------------------------------------------------------------
# Vocabularies: application families (none of them Online Boutique / PetShop)
# ----------------------------------------------------------------------------------------
APPS = {
    "neobank": {
        "ns": "bank-core",
        "pkg": "io.lumenbank",
        "domain": "lumenbank.internal",
        "edge": ["mobile-bff", "web-gateway"],
        "mids": [
            "accounts-api",
            "ledger-svc",
            "transfers-api",
            "fraud-scorer",
            "kyc-service",
            "notifications",
            "fx-rates",
            "statements-svc",
            "limits-engine",
        ],
        "dbs": [
            ("ledger-postgres", "postgres"),
            ("session-redis", "redis"),
            ("events-kafka", "kafka"),
        ],
        "exts": [
            ("card-network-gw", "api.cardnet-partner.com"),
            ("sms-provider", "api.smsrelay.io"),
        ],
    },
    "streaming": {
        "ns": "media",
        "pkg": "tv.streamly",
        "domain": "streamly.svc",
        "edge": ["edge-api", "tv-gateway"],
        "mids": [
            "playback-api",
            "manifest-builder",
            "drm-license",
            "catalog-svc",
            "recs-engine",
            "profile-svc",
            "watch-history",
            "entitlements",
            "thumbnail-svc",
        ],
        "dbs": [
            ("history-cassandra", "cassandra"),
            ("sessions-redis", "redis"),
            ("catalog-mongo", "mongo"),
        ],
        "exts": [
            ("cdn-origin-api", "origin.cdnvendor.net"),
            ("drm-vendor", "license.widevendor.com"),
        ],
    },
    "logistics": {
        "ns": "freight",
        "pkg": "com.haulwise",
        "domain": "haulwise.local",
        "edge": ["edge-router", "partner-api"],
        "mids": [
            "shipment-api",
            "dispatch-svc",
            "route-optimizer",
            "tracking-ingest",
            "geo-index",
            "carrier-adapter",
            "label-svc",
            "billing-svc",
            "customs-docs",
        ],
        "dbs": [("orders-mysql", "mysql"), ("tracking-kafka", "kafka"), ("geo-redis", "redis")],
        "exts": [("carrier-api", "api.parcelcarrier.com"), ("maps-api", "routes.mapsvendor.com")],
    },
    "fooddelivery": {
        "ns": "delivery",
        "pkg": "app.munchly",
        "domain": "munchly.cluster",
        "edge": ["consumer-bff", "merchant-portal"],
        "mids": [
            "menu-svc",
            "order-orchestrator",
            "courier-matching",
            "eta-predictor",
            "payments-adapter",
            "promo-engine",
            "ratings-svc",
            "dispatch-planner",
        ],
        "dbs": [("orders-pg", "postgres"), ("menu-redis", "redis")],
        "exts": [("psp-gateway", "checkout.psp-partner.com"), ("push-api", "push.notifyhub.io")],
    },
    "ridehail": {
        "ns": "mobility",
        "pkg": "com.zipride",
        "domain": "zipride.prod",
        "edge": ["rider-gateway", "driver-gateway"],
        "mids": [
            "trip-svc",
            "pricing-engine",
            "driver-locator",
            "surge-calculator",
            "billing-core",
            "identity-svc",
            "safety-checks",
            "receipts-svc",
        ],
        "dbs": [("trips-postgres", "postgres"), ("geo-redis", "redis"), ("trips-kafka", "kafka")],
        "exts": [
            ("maps-routing", "api.geomaps.example.com"),
            ("payments-psp", "api.paybridge.com"),
        ],
    },
    "insurance": {
        "ns": "policy",
        "pkg": "de.sicherwerk",
        "domain": "sicherwerk.int",
        "edge": ["portal-frontend", "broker-api"],
        "mids": [
            "quote-engine",
            "policy-svc",
            "claims-api",
            "underwriting-rules",
            "document-store",
            "premium-calc",
            "customer-master",
            "payments-collector",
        ],
        "dbs": [("policy-postgres", "postgres"), ("quotes-redis", "redis")],
        "exts": [("credit-bureau", "api.creditcheck-bureau.de"), ("esign-api", "api.signflow.io")],
    },
    "travel": {
        "ns": "booking",
        "pkg": "com.farewise",
        "domain": "farewise.svc",
        "edge": ["booking-web", "affiliate-api"],
        "mids": [
            "search-aggregator",
            "fare-cache",
            "inventory-svc",
            "reservation-api",
            "loyalty-svc",
            "pnr-sync",
            "seatmap-svc",
            "ancillaries",
        ],
        "dbs": [("reservations-mysql", "mysql"), ("fares-memcached", "memcached")],
        "exts": [("gds-gateway", "ws.gds-provider.net"), ("hotel-suppliers", "api.bedbank.com")],
    },
    "gaming": {
        "ns": "live-ops",
        "pkg": "gg.arcadia",
        "domain": "arcadia.game",
        "edge": ["game-gateway", "web-shop"],
        "mids": [
            "matchmaker",
            "lobby-svc",
            "leaderboard",
            "inventory-items",
            "store-api",
            "auth-svc",
            "party-svc",
            "telemetry-collector",
        ],
        "dbs": [("player-mongo", "mongo"), ("leaderboard-redis", "redis")],
        "exts": [
            ("platform-entitlements", "api.consoleplatform.net"),
            ("anti-cheat", "verify.shieldac.com"),
        ],
    },
    "health": {
        "ns": "care",
        "pkg": "org.carepoint",
        "domain": "carepoint.health",
        "edge": ["patient-portal", "clinician-app-api"],
        "mids": [
            "appointments-api",
            "scheduling-engine",
            "ehr-adapter",
            "prescriptions-svc",
            "notify-svc",
            "insurance-verify",
            "video-visit",
            "audit-trail",
        ],
        "dbs": [("fhir-postgres", "postgres"), ("slots-redis", "redis")],
        "exts": [("pharmacy-network", "api.rxnetwork.org"), ("video-vendor", "rooms.vidconf.io")],
    },
    "marketplace": {
        "ns": "market",
        "pkg": "com.bazaario",
        "domain": "bazaario.k8s",
        "edge": ["storefront-web", "seller-api"],
        "mids": [
            "search-api",
            "listing-svc",
            "basket-api",
            "checkout-orchestrator",
            "tax-calc",
            "inventory-reservations",
            "seller-payouts",
            "reviews-svc",
        ],
        "dbs": [
            ("listings-elastic", "elasticsearch"),
            ("basket-redis", "redis"),
            ("orders-postgres", "postgres"),
        ],
        "exts": [("payments-psp", "api.payprocessor.com"), ("tax-vendor", "api.taxrates.io")],
    },
    "iot": {
        "ns": "fleet",
        "pkg": "io.sensegrid",
        "domain": "sensegrid.io",
        "edge": ["device-gateway", "console-api"],
        "mids": [
            "telemetry-ingest",
            "rules-engine",
            "alerting-svc",
            "device-registry",
            "firmware-ota",
            "metrics-rollup",
            "command-dispatch",
        ],
        "dbs": [
            ("timeseries-db", "postgres"),
            ("mqtt-broker", "mqtt"),
            ("registry-redis", "redis"),
        ],
        "exts": [("push-notify-api", "fcm.pushvendor.com")],
    },
    "adtech": {
        "ns": "ads",
        "pkg": "com.bidlane",
        "domain": "bidlane.net",
        "edge": ["bid-gateway", "reporting-api"],
        "mids": [
            "auction-svc",
            "budget-pacer",
            "creative-svc",
            "targeting-svc",
            "frequency-cap",
            "click-tracker",
            "fraud-filter",
        ],
        "dbs": [("profiles-aerospike", "aerospike"), ("impressions-kafka", "kafka")],
        "exts": [("ssp-exchange", "rtb.exchange-partner.com")],
    },
}

MID_STACKS = ["spring", "spring", "gootel", "goprom", "python"]
DB_PORT = {
    "postgres": 5432,
    "mysql": 3306,
    "redis": 6379,
    "mongo": 27017,
    "kafka": 9092,
    "cassandra": 9042,
    "memcached": 11211,
    "elasticsearch": 9200,
    "mqtt": 1883,
    "aerospike": 3000,
}
HEX = "0123456789abcdef"
ALNUM = "bcdfghjklmnpqrstvwxz2456789"


def camel(name):
    return "".join(p.capitalize() for p in name.replace("_", "-").split("-"))


def iso(ts, ms=True):
    dt = datetime.fromtimestamp(ts, tz=UTC)
    if ms:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{int((ts % 1) * 1000):03d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def fp(labels):
    s = ",".join(f"{k}={labels[k]}" for k in sorted(labels))
    return hashlib.sha1(s.encode()).hexdigest()[:16]


_erf = np.vectorize(math.erf)


def norm_cdf(x):
    return 0.5 * (1 + _erf(np.asarray(x) / math.sqrt(2)))


# ----------------------------------------------------------------------------------------
# Model
# ----------------------------------------------------------------------------------------
class Pod:
    def __init__(self, name, node, version, birth, death, weight=1.0, hash_=None):
        self.name, self.node, self.version = name, node, version
        self.birth, self.death, self.weight = birth, death, weight
        self.hash = hash_
        self.canary = False


class Svc:
    def __init__(self, name, role, stack):
        self.name, self.role, self.stack = name, role, stack
        self.deps = []  # (name, calls_per_req)
        self.pods = []
        self.version = None
        self.host = None
        self.flavour = None  # per-t array of failure flavour seen by callers


class World:
    def __init__(
        self,
        rng,
        app_key,
        n_services,
        step,
        t_alert,
        before_min,
        after_min,
        label_key,
        mode,
        mesh,
        log_ts_fmt,
        multiline,
    ):
        self.rng = rng
        self.app_key = app_key
        self.app = APPS[app_key]
        self.ns = self.app["ns"]
        self.step = step
        self.t_alert = t_alert
        self.start = t_alert - before_min * 60
        self.end = t_alert + after_min * 60
        self.t = np.arange(self.start - (self.start % step), self.end + 1, step, dtype=float)
        self.T = len(self.t)
        self.key = label_key
        self.mode = mode  # raw | rate
        self.mesh = mesh
        self.log_ts_fmt = log_ts_fmt
        self.multiline = multiline
        self.svcs = {}
        self.order = []
        self.changes = []
        self.events = []
        self.logs = []
        self.alerts = []
        self.metrics = {}
        self.queries = {}
        self.nodes = [
            f"ip-10-{rng.integers(16, 31)}-{rng.integers(0, 255)}-{rng.integers(2, 250)}.ec2.internal"
            for _ in range(rng.integers(3, 6))
        ]
        self.faults = {}
        self.extra_log_hooks = []
        self.extra_metric_hooks = []
        self.build_topology(n_services)
        self.init_latent()

    # ---- helpers
    def idx(self, ts):
        return int(np.clip(np.searchsorted(self.t, ts), 0, self.T - 1))

    def rname(self, n, alphabet=ALNUM):
        return "".join(self.rng.choice(list(alphabet), n))

    def pod_hash(self):
        return self.rname(int(self.rng.integers(8, 11)), "0123456789bcdf")

    def mk_pods(self, s, n, version, birth=0, death=None, hash_=None):
        hash_ = hash_ or self.pod_hash()
        pods = []
        for _ in range(n):
            nm = (
                f"{s.name}-{hash_}-{self.rname(5)}"
                if s.role != "db"
                else f"{s.name}-{len(s.pods) + len(pods)}"
            )
            p = Pod(
                nm,
                str(self.rng.choice(self.nodes)),
                version,
                birth,
                self.T if death is None else death,
                1.0,
                hash_,
            )
            p.ip = f"10.{self.rng.integers(0, 255)}.{self.rng.integers(0, 255)}.{self.rng.integers(2, 250)}"
            pods.append(p)
        return pods

    def build_topology(self, n):
        rng = self.rng
        app = self.app
        edge = rng.choice(app["edge"])
        n_db = int(min(len(app["dbs"]), rng.integers(1, 3)))
        n_ext = int(min(len(app["exts"]), rng.integers(0, 3)))
        n_mid = max(3, n - 1 - n_db - n_ext)
        mids = list(rng.choice(app["mids"], size=min(n_mid, len(app["mids"])), replace=False))
        dbs = [app["dbs"][i] for i in rng.choice(len(app["dbs"]), n_db, replace=False)]
        exts = [app["exts"][i] for i in rng.choice(len(app["exts"]), n_ext, replace=False)]
        e = Svc(edge, "edge", rng.choice(["spring", "gootel", "goprom", "envoy"]))
        self.svcs[edge] = e
        for m in mids:
            self.svcs[m] = Svc(m, "mid", rng.choice(MID_STACKS))
        for d, typ in dbs:
            self.svcs[d] = Svc(d, "db", typ)
        for x, host in exts:
            s = Svc(x, "ext", "ext")
            s.host = host
            self.svcs[x] = s
        # edges: edge -> 2..4 mids
        first = list(rng.choice(mids, size=min(len(mids), rng.integers(2, 5)), replace=False))
        for m in first:
            e.deps.append((m, float(rng.uniform(0.3, 1.2))))
        for i, m in enumerate(mids):
            for m2 in mids[i + 1 :]:
                if rng.random() < 0.3 and m2 not in first[:1]:
                    self.svcs[m].deps.append((m2, float(rng.uniform(0.2, 1.5))))
        callers = {m: [] for m in mids}
        for s in [e] + [self.svcs[m] for m in mids]:
            for d, _ in s.deps:
                callers[d].append(s.name)
        for i, m in enumerate(mids):
            if not callers[m]:
                c = rng.choice([edge] + mids[:i]) if i else edge
                self.svcs[c].deps.append((m, float(rng.uniform(0.2, 1.0))))
        for d, _ in dbs + exts:
            cs = [m for m in mids if rng.random() < 0.35] or [rng.choice(mids)]
            for c in cs:
                self.svcs[c].deps.append(
                    (d, float(rng.uniform(0.5, 3.0) if d in dict(dbs) else rng.uniform(0.1, 0.6)))
                )
        # topological order (callers first)
        seen, order = set(), []

        def visit(n_):
            if n_ in seen:
                return
            seen.add(n_)
            for c in self.svcs.values():
                if any(d == n_ for d, _ in c.deps):
                    visit(c.name)
            order.append(n_)

        for n_ in self.svcs:
            visit(n_)
        self.order = order  # callers before callees
        # pods
        for s in self.svcs.values():
            if s.role == "ext":
                continue
            s.version = f"{rng.integers(1, 6)}.{rng.integers(0, 30)}.{rng.integers(0, 12)}"
            npods = 1 if s.role == "db" and rng.random() < 0.5 else int(rng.integers(2, 4))
            s.pods = self.mk_pods(s, npods, s.version)

    def callers_of(self, name):
        return [c.name for c in self.svcs.values() if any(d == name for d, _ in c.deps)]

    def ancestors(self, name):
        out, stack = set(), [name]
        while stack:
            x = stack.pop()
            for c in self.callers_of(x):
                if c not in out:
                    out.add(c)
                    stack.append(c)
        return sorted(out)  # a set's order follows string hashing: seeded runs would differ

    def edge(self):
        return next(s for s in self.svcs.values() if s.role == "edge")

    def init_latent(self):
        rng = self.rng
        T = self.T
        for s in self.svcs.values():
            s.lat0 = (
                float(rng.uniform(0.004, 0.06))
                if s.role != "db"
                else float(rng.uniform(0.0008, 0.006))
            )
            if s.role == "ext":
                s.lat0 = float(rng.uniform(0.08, 0.35))
            s.err0 = float(rng.uniform(0.0005, 0.004))
            s.cpu_per_rps = float(rng.uniform(0.0015, 0.006))
            s.cpu_idle = float(rng.uniform(0.03, 0.12))
            s.cpu_limit = float(rng.choice([0.5, 1.0, 1.0, 2.0, 2.0, 4.0]))
            s.mem_limit = float(rng.choice([512, 768, 1024, 1536, 2048, 4096])) * 2**20
            s.mem_base = s.mem_limit * float(rng.uniform(0.3, 0.6))
            s.rps_mult = np.ones(T)
            s.flavour = np.array(["http5xx"] * T, dtype=object)
            s.down = np.zeros(T)  # fraction of calls to it that fail hard (deps)
            s.lat_add = np.zeros(T)  # seconds added on the wire (network)
            for p in s.pods:
                self.init_pod(p)
        e = self.edge()
        e.base_rps = float(rng.uniform(80, 600))

    def init_pod(self, p):
        T = self.T
        p.err_add = np.zeros(T)
        p.lat_mult = np.ones(T)
        p.cpu_add = np.zeros(T)
        p.mem_add = np.zeros(T)
        p.up = np.ones(T, dtype=bool)
        p.restart = np.zeros(T, dtype=bool)
        p.restarts0 = int(self.rng.choice([0, 0, 0, 1, 2]))
        p.mem_jit = float(self.rng.uniform(0.9, 1.1))

    def alive(self, p):
        m = np.zeros(self.T, dtype=bool)
        m[p.birth : p.death] = True
        return m

    # ---- changes / rollouts
    def add_change(self, ts, svc, kind, summary, **kw):
        cid = kw.pop("cid", None) or f"{kind[:3]}-{self.rname(7, HEX)}"
        c = {"id": cid, "ts": iso(ts, ms=False), "service": svc, "kind": kind, "summary": summary}
        c.update({k: v for k, v in kw.items() if v is not None})
        self.changes.append(c)
        return cid

    def rollout(self, svc, ts, new_version, duration=120.0, canary_weight=None):
        """Rolling update (or canary when canary_weight is set). Returns the new pods."""
        s = self.svcs[svc]
        k0 = self.idx(ts)
        old = [p for p in s.pods if p.death > k0]
        hash_ = self.pod_hash()
        rs_new = f"{svc}-{hash_}"
        self.event(
            ts,
            svc,
            "ScalingReplicaSet",
            "Normal",
            f"Scaled up replica set {rs_new} to {1 if canary_weight else len(old)}",
            f"deployment/{svc}",
        )
        if canary_weight:
            newp = self.mk_pods(s, 1, new_version, birth=k0 + 1, hash_=hash_)
            newp[0].canary = True
            newp[0].weight = canary_weight * len(old) / max(1e-6, 1 - canary_weight)
            for p in newp:
                self.init_pod(p)
                self.pod_start_events(ts + 3, svc, p, new_version)
            s.pods += newp
            return newp
        newp = []
        for i, p in enumerate(old):
            kt = self.idx(ts + duration * (i + 1) / len(old))
            np_ = self.mk_pods(s, 1, new_version, birth=max(k0 + 1, kt - 1), hash_=hash_)[0]
            self.init_pod(np_)
            p.death = kt + 1
            newp.append(np_)
            self.pod_start_events(ts + duration * i / len(old) + 2, svc, np_, new_version)
            self.event(
                ts + duration * (i + 1) / len(old),
                svc,
                "Killing",
                "Normal",
                f"Stopping container {svc}",
                f"pod/{p.name}",
            )
        s.pods += newp
        self.event(
            ts + duration + 5,
            svc,
            "ScalingReplicaSet",
            "Normal",
            f"Scaled down replica set {old[0].name.rsplit('-', 1)[0]} to 0",
            f"deployment/{svc}",
        )
        s.version = new_version
        return newp

    def pod_start_events(self, ts, svc, p, version):
        reg = f"registry.{self.app['domain']}/{self.ns}/{svc}:{version}"
        self.event(
            ts,
            svc,
            "Scheduled",
            "Normal",
            f"Successfully assigned {self.ns}/{p.name} to {p.node}",
            f"pod/{p.name}",
        )
        self.event(ts + 1, svc, "Pulling", "Normal", f'Pulling image "{reg}"', f"pod/{p.name}")
        self.event(
            ts + 6,
            svc,
            "Pulled",
            "Normal",
            f'Successfully pulled image "{reg}" in 4.{self.rng.integers(100, 999)}s',
            f"pod/{p.name}",
        )
        self.event(ts + 7, svc, "Created", "Normal", f"Created container {svc}", f"pod/{p.name}")
        self.event(ts + 7.5, svc, "Started", "Normal", f"Started container {svc}", f"pod/{p.name}")

    def event(self, ts, svc, reason, typ, message, obj, count=1, **kw):
        if ts < self.start - 3600 or ts > self.end:
            return
        ev = {
            "ts": iso(ts),
            "service": svc,
            "reason": reason,
            "type": typ,
            "message": message,
            "object": obj,
            "count": count,
            "namespace": self.ns,
        }
        ev.update(kw)
        self.events.append(ev)

    # ---- simulation
    def simulate(self):
        rng = self.rng
        T = self.T
        tt = (self.t - self.t[0]) / 3600.0
        phase = rng.uniform(0, 2 * math.pi)
        diurnal = 1 + 0.06 * np.sin(2 * math.pi * tt / 24 * 3 + phase) + 0.02 * tt
        e = self.edge()
        for s in self.svcs.values():
            s.rps = np.zeros(T)
        e.rps = e.base_rps * diurnal * e.rps_mult * np.exp(rng.normal(0, 0.03, T))
        for n in self.order:
            s = self.svcs[n]
            for d, c in s.deps:
                self.svcs[d].rps = self.svcs[d].rps + s.rps * c * self.svcs[d].rps_mult
        for n in reversed(self.order):
            s = self.svcs[n]
            s.dep_err = {}
            dep_lat = np.zeros(T)
            dep_err_total = np.zeros(T)
            for d, c in s.deps:
                ds = self.svcs[d]
                p_hit = min(1.0, c) * 0.85
                de = np.clip(ds.err_svc * p_hit, 0, 1)
                s.dep_err[d] = de
                dep_err_total = 1 - (1 - dep_err_total) * (1 - de)
                dep_lat = dep_lat + c * 0.7 * (ds.lat_svc + ds.lat_add)
            if s.role == "ext":
                s.err_pod = {}
                s.err_svc = np.clip(s.err0 + s.down, 0, 1)
                s.lat_svc = s.lat0 * np.exp(rng.normal(0, 0.08, T)) + s.lat_add
                s.own_err = s.down.copy()
                continue
            if not getattr(s, "calibrated", False):
                n0 = max(1, int(self.T * 0.2))
                per_pod = float(np.median(s.rps[:n0])) / max(
                    1, len([p for p in s.pods if p.birth == 0])
                )
                tu = float(rng.uniform(0.15, 0.45))
                s.cpu_idle = min(s.cpu_idle, 0.3 * tu * s.cpu_limit)
                s.cpu_per_rps = (tu * s.cpu_limit - s.cpu_idle) / max(per_pod, 0.5)
                s.cpu_limit *= getattr(s, "cpu_headroom", 1.0)
                s.calibrated = True
            alive_w = []
            for p in s.pods:
                alive_w.append(self.alive(p) & p.up)
            W = np.array([a * p.weight for a, p in zip(alive_w, s.pods, strict=False)], dtype=float)
            tot = W.sum(axis=0)
            none_up = tot <= 0
            share = np.where(tot > 0, W / np.where(tot > 0, tot, 1), 0)
            s.share = share
            s.cpu, s.util, s.thr, s.lat_pod, s.err_pod, s.own_pod = {}, {}, {}, {}, {}, {}
            lat_svc = np.zeros(T)
            err_svc = np.zeros(T)
            own_svc = np.zeros(T)
            for i, p in enumerate(s.pods):
                rps_p = s.rps * share[i]
                cpu_dem = s.cpu_idle + s.cpu_per_rps * rps_p + p.cpu_add
                cpu_dem = cpu_dem * np.exp(rng.normal(0, 0.05, T))
                util = cpu_dem / s.cpu_limit
                s.cpu[p.name] = np.minimum(cpu_dem, s.cpu_limit * 0.995)
                s.util[p.name] = util
                s.thr[p.name] = np.clip((util - 0.85) / 0.4, 0, 1)
                load = 1 + 2.5 * np.clip(util - 0.7, 0, None) + 6 * np.clip(util - 1.0, 0, None)
                lat = s.lat0 * p.lat_mult * load * np.exp(rng.normal(0, 0.06, T)) + dep_lat
                own = np.clip(
                    s.err0 * np.exp(rng.normal(0, 0.3, T))
                    + p.err_add
                    + 0.05 * np.clip(util - 1.05, 0, None),
                    0,
                    1,
                )
                err = 1 - (1 - own) * (1 - dep_err_total)
                s.lat_pod[p.name] = lat
                s.err_pod[p.name] = err
                s.own_pod[p.name] = own
                lat_svc += share[i] * lat
                err_svc += share[i] * err
                own_svc += share[i] * own
            err_svc = np.where(none_up, 1.0, err_svc)
            s.err_svc = np.clip(err_svc + s.down, 0, 1)
            s.own_err = np.where(none_up, 1.0, own_svc) + s.down
            s.lat_svc = np.where(none_up, s.lat0, lat_svc)

    # ---- metric emission
    def add_series(self, name, labels, vals, mask=None, fmt="g"):
        if (
            self.mode == "rate"
            and getattr(self, "_in_app", False)
            and name.endswith(("_total", "_count", "_sum", "_bucket"))
        ):
            return
        lab = {"__name__": name}
        lab.update(labels)
        out = []
        for i in range(self.T):
            if mask is not None and not mask[i]:
                continue
            v = vals[i]
            if v is None or (isinstance(v, float) and math.isnan(v)):
                continue
            if fmt == "i":
                sv = str(int(v))
            elif fmt == "e":
                sv = f"{v:.10g}"
            else:
                sv = f"{v:.6g}"
            out.append([int(self.t[i]), sv])
        if out:
            self.metrics.setdefault(name, []).append({"metric": lab, "values": out})

    def sk(self, svc):
        return {self.key: svc}

    def counter(self, inc, p=None, start=None):
        """Cumulative counter from per-step increments, resetting on restarts."""
        rng = self.rng
        c = np.zeros(self.T)
        acc = float(start if start is not None else rng.integers(10**4, 10**7))
        if p is not None and p.birth > 0:
            acc = 0.0
        for i in range(self.T):
            if p is not None and p.restart[i]:
                acc = 0.0
            acc += inc[i]
            c[i] = acc
        return c

    def poisson(self, lam):
        return self.rng.poisson(np.clip(lam, 0, None)).astype(float)

    def rate5m(self, x):
        w = max(1, int(300 / self.step))
        k = np.ones(w) / w
        y = np.convolve(np.concatenate([np.full(w - 1, x[0]), x]), k, mode="valid")
        return y

    def pod_labels(self, s, p, extra=None):
        lab = {self.key: s.name, "namespace": self.ns, "pod": p.name}
        if self.key != "job":
            lab["instance"] = f"{p.ip}:8080"
        if getattr(self, "version_label", None):
            vl = self.version_label
            if vl == "canary":
                lab["canary"] = "true" if p.canary else "false"
            else:
                lab[vl] = p.version
        if extra:
            lab.update(extra)
        return lab

    def emit_all(self):
        for s in self.svcs.values():
            if s.role == "ext":
                continue
            self.emit_k8s(s)
            if s.role == "db":
                self.emit_db(s)
            else:
                self.emit_app(s)
            if self.mesh and s.role != "db":
                self.emit_mesh(s)
        self.emit_clients()
        self.emit_node()
        self.emit_probes()
        for h in self.extra_metric_hooks:
            h(self)

    def emit_k8s(self, s):
        rng = self.rng
        for p in s.pods:
            a = self.alive(p)
            up = a & p.up
            lab = {
                self.key: s.name,
                "namespace": self.ns,
                "pod": p.name,
                "container": s.name if s.role != "db" else s.stack,
            }
            if getattr(self, "version_label", None) and self.version_label != "canary":
                pass
            cpu = s.cpu[p.name]
            if self.mode == "raw":
                self.add_series(
                    "container_cpu_usage_seconds_total",
                    dict(lab, cpu="total"),
                    self.counter(cpu * self.step, p, start=rng.uniform(1e3, 5e4)),
                    up,
                    fmt="e",
                )
                periods = self.counter(
                    np.full(self.T, self.step * 10.0), p, start=rng.integers(100000, 1000000)
                )
                thr = self.counter(
                    self.poisson(s.thr[p.name] * self.step * 10 + 0.02 * self.step),
                    p,
                    start=rng.integers(0, 3000),
                )
                self.add_series("container_cpu_cfs_periods_total", lab, periods, up, fmt="i")
                self.add_series("container_cpu_cfs_throttled_periods_total", lab, thr, up, fmt="i")
            else:
                self.add_series(
                    "node_namespace_pod_container:container_cpu_usage_seconds_total:sum_irate",
                    dict(lab, node=p.node),
                    cpu,
                    up,
                )
                self.add_series(
                    "namespace_pod:container_cpu_cfs_throttled:ratio_rate5m",
                    lab,
                    self.rate5m(np.clip(s.thr[p.name] + rng.normal(0, 0.003, self.T), 0, 1)),
                    up,
                )
            mem = (
                s.mem_base * p.mem_jit
                + p.mem_add
                + 0.05 * s.mem_base * (s.cpu[p.name] / s.cpu_limit)
            ) * np.exp(rng.normal(0, 0.004, self.T))
            mem = np.minimum(mem, s.mem_limit * 0.999)
            self.add_series("container_memory_working_set_bytes", lab, mem, up, fmt="i")
            self.add_series(
                "container_spec_memory_limit_bytes", lab, np.full(self.T, s.mem_limit), up, fmt="i"
            )
            # kube-state-metrics
            rst = p.restarts0 + np.cumsum(p.restart)
            kl = {
                self.key: s.name,
                "namespace": self.ns,
                "pod": p.name,
                "container": lab["container"],
                "uid": hashlib.md5(p.name.encode()).hexdigest()[:8],
            }
            self.add_series("kube_pod_container_status_restarts_total", kl, rst, a, fmt="i")
            if getattr(p, "oom", False) or p.restarts0:
                reason = "OOMKilled" if getattr(p, "oom", False) else "Error"
                self.add_series(
                    "kube_pod_container_status_last_terminated_reason",
                    dict(kl, reason=reason),
                    np.ones(self.T),
                    a if reason != "OOMKilled" else a & (np.cumsum(p.restart) > 0),
                    fmt="i",
                )
            if getattr(p, "waiting", None) is not None:
                self.add_series(
                    "kube_pod_container_status_waiting_reason",
                    dict(kl, reason="CrashLoopBackOff"),
                    p.waiting.astype(float),
                    a,
                    fmt="i",
                )
        # deployment availability
        avail = np.zeros(self.T)
        for p in s.pods:
            avail += self.alive(p) & p.up
        kind = "statefulset" if s.role == "db" else "deployment"
        self.add_series(
            f"kube_{kind}_status_replicas_available"
            if kind == "deployment"
            else "kube_statefulset_status_replicas_ready",
            {self.key: s.name, "namespace": self.ns, kind: s.name},
            avail,
            fmt="i",
        )

    def status_split(self, s, p):
        """(ok_rate, err_rate) per sec for a pod."""
        rps = s.rps * s.share[s.pods.index(p)]
        err = s.err_pod[p.name]
        return rps * (1 - err), rps * err

    def emit_app(self, s):
        rng = self.rng
        st = s.stack
        route = {
            "spring": "/api/v1/" + s.name.split("-")[0],
            "gootel": "/v2/" + s.name.split("-")[0] + "/{id}",
            "goprom": "/" + s.name.split("-")[0],
            "python": "/" + s.name.split("-")[0] + "/query",
            "envoy": "/",
        }[st]
        errcode = str(rng.choice(["500", "503", "502"]))
        for p in s.pods:
            a = self.alive(p) & p.up
            ok, er = self.status_split(s, p)
            lat = s.lat_pod[p.name]
            self._in_app = True
            ok_i = self.poisson(ok * self.step)
            er_i = self.poisson(er * self.step)
            if st == "spring":
                base = {"method": "GET" if rng.random() < 0.5 else "POST", "uri": route}
                for code, inc, oc in (("200", ok_i, "SUCCESS"), (errcode, er_i, "SERVER_ERROR")):
                    lab = self.pod_labels(
                        s,
                        p,
                        dict(
                            base,
                            status=code,
                            outcome=oc,
                            exception="None" if code == "200" else "ResponseStatusException",
                        ),
                    )
                    cnt = self.counter(
                        inc,
                        p,
                        start=rng.integers(100000, 10000000)
                        if code == "200"
                        else rng.integers(10, 5000),
                    )
                    self.add_series("http_server_requests_seconds_count", lab, cnt, a, fmt="i")
                    sm = self.counter(
                        inc * lat * np.exp(rng.normal(0, 0.02, self.T)), p, start=cnt[0] * s.lat0
                    )
                    self.add_series("http_server_requests_seconds_sum", lab, sm, a, fmt="e")
                    if code == "200" and getattr(self, "buckets", True):
                        self.emit_buckets(
                            "http_server_requests_seconds_bucket",
                            lab,
                            inc,
                            lat,
                            p,
                            a,
                            [0.005, 0.025, 0.1, 0.5, 2.5],
                            cnt[0],
                        )
                heap_max = s.mem_limit * 0.7
                heap = np.clip(
                    (0.35 + 0.25 * ((np.arange(self.T) * rng.uniform(0.2, 0.5)) % 1)) * heap_max
                    + p.mem_add * 0.9,
                    0,
                    heap_max * 0.99,
                )
                self.add_series(
                    "jvm_memory_used_bytes",
                    self.pod_labels(s, p, {"area": "heap", "id": "G1 Old Gen"}),
                    heap,
                    a,
                    fmt="i",
                )
                self.add_series(
                    "jvm_memory_max_bytes",
                    self.pod_labels(s, p, {"area": "heap", "id": "G1 Old Gen"}),
                    np.full(self.T, heap_max),
                    a,
                    fmt="i",
                )
                gc_frac = (
                    0.004
                    + 0.2 * np.clip(p.mem_add / (0.4 * s.mem_limit), 0, 1) ** 2
                    + 0.01 * np.clip(s.util[p.name] - 0.8, 0, None)
                )
                self.add_series(
                    "jvm_gc_pause_seconds_sum",
                    self.pod_labels(
                        s, p, {"action": "end of minor GC", "cause": "G1 Evacuation Pause"}
                    ),
                    self.counter(
                        gc_frac * self.step * np.exp(rng.normal(0, 0.1, self.T)),
                        p,
                        start=rng.uniform(10, 500),
                    ),
                    a,
                    fmt="e",
                )
                if any(
                    self.svcs[d].role == "db" and self.svcs[d].stack in ("postgres", "mysql")
                    for d, _ in s.deps
                ):
                    pend = np.zeros(self.T)
                    for d, _ in s.deps:
                        if d in s.dep_err and self.svcs[d].role == "db":
                            pend += (
                                40
                                * np.clip(s.dep_err[d] * 3, 0, 1)
                                * (self.svcs[d].flavour != "http5xx")
                            )
                    pend = np.round(np.clip(pend + self.poisson(np.full(self.T, 0.05)), 0, 50))
                    self.add_series(
                        "hikaricp_connections_pending",
                        self.pod_labels(s, p, {"pool": "HikariPool-1"}),
                        pend,
                        a,
                        fmt="i",
                    )
                    self.add_series(
                        "hikaricp_connections_active",
                        self.pod_labels(s, p, {"pool": "HikariPool-1"}),
                        np.clip(np.round(ok * lat * 1.5 + pend * 0.5 + 1), 0, 20),
                        a,
                        fmt="i",
                    )
                self.add_series(
                    "process_cpu_usage",
                    self.pod_labels(s, p),
                    np.clip(s.cpu[p.name] / s.cpu_limit / 2, 0, 1),
                    a,
                )
                self.add_series(
                    "system_cpu_usage",
                    self.pod_labels(s, p),
                    np.clip(0.3 + 0.05 * rng.normal(0, 1, self.T), 0, 1),
                    a,
                )
            elif st == "gootel":
                for code, inc in (("200", ok_i), (errcode, er_i)):
                    lab = self.pod_labels(
                        s,
                        p,
                        {
                            "http_request_method": "GET",
                            "http_route": route,
                            "http_response_status_code": code,
                            "otel_scope_name": "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp",
                        },
                    )
                    cnt = self.counter(
                        inc,
                        p,
                        start=rng.integers(100000, 10000000)
                        if code == "200"
                        else rng.integers(10, 5000),
                    )
                    self.add_series(
                        "http_server_request_duration_seconds_count", lab, cnt, a, fmt="i"
                    )
                    self.add_series(
                        "http_server_request_duration_seconds_sum",
                        lab,
                        self.counter(inc * lat, p, start=cnt[0] * s.lat0),
                        a,
                        fmt="e",
                    )
                    if getattr(self, "buckets", True):
                        self.emit_buckets(
                            "http_server_request_duration_seconds_bucket",
                            lab,
                            inc,
                            lat,
                            p,
                            a,
                            [0.005, 0.025, 0.1, 0.5, 2.5],
                            cnt[0],
                        )
                self.add_series(
                    "go_goroutines",
                    self.pod_labels(s, p),
                    np.round(
                        40
                        + 300 * s.util[p.name]
                        + 2000 * np.clip(lat - 2 * s.lat0, 0, 1)
                        + rng.normal(0, 3, self.T)
                    ),
                    a,
                    fmt="i",
                )
                self.add_series(
                    "process_resident_memory_bytes",
                    self.pod_labels(s, p),
                    s.mem_base * 0.8 + p.mem_add + rng.normal(0, 2e5, self.T),
                    a,
                    fmt="i",
                )
            elif st == "goprom":
                for code, inc in (("200", ok_i), (errcode, er_i)):
                    lab = self.pod_labels(s, p, {"handler": route, "code": code, "method": "get"})
                    cnt = self.counter(
                        inc,
                        p,
                        start=rng.integers(100000, 10000000)
                        if code == "200"
                        else rng.integers(10, 5000),
                    )
                    self.add_series("http_requests_total", lab, cnt, a, fmt="i")
                lab = self.pod_labels(s, p, {"handler": route, "method": "get"})
                inc = ok_i + er_i
                cnt = self.counter(inc, p)
                self.add_series("http_request_duration_seconds_count", lab, cnt, a, fmt="i")
                self.add_series(
                    "http_request_duration_seconds_sum",
                    lab,
                    self.counter(inc * lat, p, start=cnt[0] * s.lat0),
                    a,
                    fmt="e",
                )
                self.add_series(
                    "go_goroutines",
                    self.pod_labels(s, p),
                    np.round(30 + 250 * s.util[p.name] + rng.normal(0, 3, self.T)),
                    a,
                    fmt="i",
                )
                self.add_series(
                    "process_cpu_seconds_total",
                    self.pod_labels(s, p),
                    self.counter(s.cpu[p.name] * self.step * 0.95, p, start=rng.uniform(1e3, 1e5)),
                    a,
                    fmt="e",
                )
            elif st == "python":
                for code, inc in (("200", ok_i), (errcode, er_i)):
                    lab = self.pod_labels(
                        s,
                        p,
                        {"method": "POST", "path": route, "status_code": code, "app_name": s.name},
                    )
                    cnt = self.counter(
                        inc,
                        p,
                        start=rng.integers(100000, 10000000)
                        if code == "200"
                        else rng.integers(10, 5000),
                    )
                    self.add_series("starlette_requests_total", lab, cnt, a, fmt="i")
                    if code == "200" and getattr(self, "buckets", True):
                        self.emit_buckets(
                            "starlette_request_duration_seconds_bucket",
                            lab,
                            inc,
                            lat,
                            p,
                            a,
                            [0.01, 0.05, 0.25, 1.0, 5.0],
                            cnt[0],
                        )
                        self.add_series(
                            "starlette_request_duration_seconds_sum",
                            lab,
                            self.counter(inc * lat, p, start=cnt[0] * s.lat0),
                            a,
                            fmt="e",
                        )
                        self.add_series(
                            "starlette_request_duration_seconds_count", lab, cnt, a, fmt="i"
                        )
                for gen in ("0", "2"):
                    self.add_series(
                        "python_gc_collections_total",
                        self.pod_labels(s, p, {"generation": gen}),
                        self.counter(
                            self.poisson(
                                np.full(self.T, (3.0 if gen == "0" else 0.05) * self.step)
                                * (1 + s.util[p.name])
                            ),
                            p,
                        ),
                        a,
                        fmt="i",
                    )
                self.add_series(
                    "process_resident_memory_bytes",
                    self.pod_labels(s, p),
                    s.mem_base * 0.85 + p.mem_add + rng.normal(0, 3e5, self.T),
                    a,
                    fmt="i",
                )
            elif st == "envoy":
                for cls, inc in (("2xx", ok_i), ("5xx", er_i)):
                    lab = self.pod_labels(
                        s,
                        p,
                        {
                            "envoy_http_conn_manager_prefix": "ingress_http",
                            "envoy_response_code_class": cls,
                        },
                    )
                    self.add_series(
                        "envoy_http_downstream_rq_xx", lab, self.counter(inc, p), a, fmt="i"
                    )
                lab = self.pod_labels(s, p, {"envoy_http_conn_manager_prefix": "ingress_http"})
                inc = ok_i + er_i
                cnt = self.counter(inc, p)
                self.add_series("envoy_http_downstream_rq_time_count", lab, cnt, a, fmt="i")
                self.add_series(
                    "envoy_http_downstream_rq_time_sum",
                    lab,
                    self.counter(inc * lat * 1000, p, start=cnt[0] * s.lat0 * 1000),
                    a,
                    fmt="e",
                )
        self._in_app = False
        if self.mode == "rate":
            k = self.key
            ok_s = s.rps * (1 - s.err_svc)
            er_s = s.rps * s.err_svc
            for cls, v in (("2xx", ok_s), ("5xx", er_s)):
                self.add_series(
                    f"{k}:http_requests:rate5m",
                    {k: s.name, "namespace": self.ns, "code_class": cls},
                    self.rate5m(v * np.exp(rng.normal(0, 0.03, self.T))),
                )
            self.queries[f"{k}_http_requests_rate5m"] = (
                f"sum by ({k}, namespace, code_class) (rate(http_requests_total[5m]))"
            )
            sig = 0.45
            p99 = s.lat_svc * math.exp(2.326 * sig - sig * sig / 2)
            self.add_series(
                f"{k}:http_request_duration_seconds:p99",
                {k: s.name, "namespace": self.ns},
                self.rate5m(p99) * np.exp(rng.normal(0, 0.05, self.T)),
            )
            self.queries[f"{k}_http_request_duration_seconds_p99"] = (
                f"histogram_quantile(0.99, sum by ({k}, namespace, le) (rate(http_request_duration_seconds_bucket[5m])))"
            )
            self.add_series(
                f"{k}:http_request_errors:ratio_rate5m",
                {k: s.name, "namespace": self.ns},
                self.rate5m(s.err_svc),
            )
            vl = getattr(self, "version_label", None)
            if vl:  # canary analysis recording rules keep the version split
                groups = {}
                for i, p in enumerate(s.pods):
                    val = ("true" if p.canary else "false") if vl == "canary" else p.version
                    groups.setdefault(val, []).append((i, p))
                for val, mem in groups.items():
                    r = sum(s.rps * s.share[i] for i, _ in mem)
                    e = sum(s.rps * s.share[i] * s.err_pod[p.name] for i, p in mem)
                    lt = sum(s.rps * s.share[i] * s.lat_pod[p.name] for i, p in mem) / np.maximum(
                        r, 1e-9
                    )
                    m = r > 0
                    lab = {k: s.name, "namespace": self.ns, vl: val}
                    for cls, v in (("2xx", r - e), ("5xx", e)):
                        self.add_series(
                            f"{k}_{vl}:http_requests:rate5m",
                            dict(lab, code_class=cls),
                            self.rate5m(v) * np.exp(rng.normal(0, 0.03, self.T)),
                            m,
                        )
                    self.add_series(
                        f"{k}_{vl}:http_request_duration_seconds:p99",
                        lab,
                        self.rate5m(lt * math.exp(2.326 * sig - sig * sig / 2))
                        * np.exp(rng.normal(0, 0.05, self.T)),
                        m,
                    )
                self.queries[f"{k}_{vl}_http_requests_rate5m"] = (
                    f"sum by ({k}, namespace, {vl}, code_class) (rate(http_requests_total[5m]))"
                )
                self.queries[f"{k}_{vl}_http_request_duration_seconds_p99"] = (
                    f"histogram_quantile(0.99, sum by ({k}, namespace, {vl}, le) (rate(http_request_duration_seconds_bucket[5m])))"
                )
            self.queries[f"{k}_http_request_errors_ratio_rate5m"] = (
                f'sum by ({k}, namespace) (rate(http_requests_total{{code=~"5.."}}[5m])) / sum by ({k}, namespace) (rate(http_requests_total[5m]))'
            )

    def emit_buckets(self, name, lab, inc, lat, p, mask, les, start_cnt):
        sig = 0.5
        mu = np.log(np.maximum(lat, 1e-5)) - sig * sig / 2
        for le in les:
            frac = norm_cdf((math.log(le) - mu) / sig)
            b = self.counter(np.floor(inc * frac), p, start=int(start_cnt * float(frac[0])))
            self.add_series(name, dict(lab, le=str(le)), b, mask, fmt="i")
        self.add_series(
            name, dict(lab, le="+Inf"), self.counter(inc, p, start=start_cnt), mask, fmt="i"
        )

    def emit_mesh(self, s):
        rng = self.rng
        callers = self.callers_of(s.name) or ["istio-ingressgateway"]
        for p in s.pods:
            a = self.alive(p) & p.up
            ok, er = self.status_split(s, p)
            lat_ms = (s.lat_pod[p.name] + s.lat_add) * 1000
            if self.mode == "rate":
                continue
            src = callers[0] if len(callers) == 1 or rng.random() < 0.5 else callers[1]
            for code, v in (("200", ok), ("503" if rng.random() < 0.5 else "500", er)):
                lab = {
                    self.key: s.name,
                    "namespace": self.ns,
                    "pod": p.name,
                    "reporter": "destination",
                    "destination_service_name": s.name,
                    "destination_workload": s.name,
                    "source_workload": src,
                    "response_code": code,
                    "response_flags": "-" if code == "200" else "URX",
                }
                if getattr(self, "version_label", None) == "version":
                    lab["destination_version"] = p.version
                inc = self.poisson(v * self.step)
                cnt = self.counter(inc, p)
                self.add_series("istio_requests_total", lab, cnt, a, fmt="i")
                if code == "200":
                    self.add_series(
                        "istio_request_duration_milliseconds_sum",
                        lab,
                        self.counter(inc * lat_ms, p, start=cnt[0] * s.lat0 * 1000),
                        a,
                        fmt="e",
                    )
                    self.add_series(
                        "istio_request_duration_milliseconds_count", lab, cnt, a, fmt="i"
                    )
        if self.mode == "rate":
            k = self.key
            lat_ms = (s.lat_svc + s.lat_add) * 1000
            self.add_series(
                "destination_service:istio_requests:rate1m",
                {
                    k: s.name,
                    "destination_service_name": s.name,
                    "namespace": self.ns,
                    "response_code_class": "5xx",
                },
                self.rate5m(s.rps * s.err_svc),
            )
            self.add_series(
                "destination_service:istio_request_duration_milliseconds:p95",
                {k: s.name, "destination_service_name": s.name, "namespace": self.ns},
                lat_ms * 2.0 * np.exp(rng.normal(0, 0.05, self.T)),
            )

    def emit_clients(self):
        """Callers' view of external APIs and DB connection failures."""
        rng = self.rng
        for s in self.svcs.values():
            if s.role in ("db", "ext"):
                continue
            for d, c in s.deps:
                ds = self.svcs[d]
                if ds.role == "ext":
                    for p in s.pods:
                        a = self.alive(p) & p.up
                        rps = s.rps * s.share[s.pods.index(p)] * c
                        err = np.clip(ds.err_svc, 0, 1)
                        if self.mode == "rate":
                            continue
                        if s.stack == "spring":
                            for code, v in (
                                ("200", rps * (1 - err)),
                                (
                                    "503" if ds.flavour[-1] != "timeout" else "CLIENT_ERROR",
                                    rps * err,
                                ),
                            ):
                                lab = self.pod_labels(
                                    s,
                                    p,
                                    {
                                        "client_name": ds.host,
                                        "method": "POST",
                                        "uri": "/v2/" + d.split("-")[0],
                                        "status": code,
                                        "outcome": "SUCCESS" if code == "200" else "SERVER_ERROR",
                                    },
                                )
                                inc = self.poisson(v * self.step)
                                self.add_series(
                                    "http_client_requests_seconds_count",
                                    lab,
                                    self.counter(inc, p),
                                    a,
                                    fmt="i",
                                )
                        else:
                            for code, v in (("200", rps * (1 - err)), ("503", rps * err)):
                                lab = self.pod_labels(
                                    s,
                                    p,
                                    {
                                        "server_address": ds.host,
                                        "http_request_method": "POST",
                                        "http_response_status_code": code,
                                    },
                                )
                                inc = self.poisson(v * self.step)
                                self.add_series(
                                    "http_client_request_duration_seconds_count",
                                    lab,
                                    self.counter(inc, p),
                                    a,
                                    fmt="i",
                                )
                        if self.mesh:
                            lab = {
                                self.key: s.name,
                                "namespace": self.ns,
                                "pod": p.name,
                                "reporter": "source",
                                "source_workload": s.name,
                                "destination_service_name": ds.host,
                                "destination_service": ds.host,
                                "response_code": "0" if True else "",
                                "response_flags": "UF",
                            }
                            inc = self.poisson(rps * err * self.step * 0.5 + 0.001 * self.step)
                            self.add_series(
                                "istio_requests_total", lab, self.counter(inc, p), a, fmt="i"
                            )
                elif ds.role == "db" and self.mesh:
                    port = DB_PORT.get(ds.stack, 5432)
                    for p in s.pods:
                        a = self.alive(p) & p.up
                        refused = (ds.flavour == "refused") | (ds.flavour == "tls")
                        lam = (
                            s.rps * s.share[s.pods.index(p)] * 0.05 * s.dep_err[d] * refused
                            + 0.0005
                        )
                        lab = {
                            self.key: s.name,
                            "namespace": self.ns,
                            "pod": p.name,
                            "envoy_cluster_name": f"outbound|{port}||{d}.{self.ns}.svc.cluster.local",
                        }
                        if self.mode == "raw":
                            self.add_series(
                                "envoy_cluster_upstream_cx_connect_fail",
                                lab,
                                self.counter(
                                    self.poisson(lam * self.step), p, start=rng.integers(0, 40)
                                ),
                                a,
                                fmt="i",
                            )

    def emit_db(self, s):
        rng = self.rng
        st = s.stack
        up = 1 - (s.flavour == "refused").astype(float)
        for p in s.pods:
            a = self.alive(p)
            lab = {self.key: s.name, "namespace": self.ns, "pod": p.name}
            qps = s.rps * s.share[s.pods.index(p)]
            if st == "postgres":
                self.add_series("pg_up", lab, up, a, fmt="i")
                maxc = getattr(s, "max_conn", 200)
                conns = np.clip(
                    np.round(
                        30
                        + qps * s.lat_pod[p.name] * 4
                        + getattr(s, "conn_add", np.zeros(self.T))
                        + rng.normal(0, 2, self.T)
                    ),
                    1,
                    maxc,
                )
                self.add_series(
                    "pg_stat_activity_count",
                    dict(lab, datname=s.name.split("-")[0], state="active"),
                    conns * up,
                    a,
                    fmt="i",
                )
                self.add_series(
                    "pg_settings_max_connections", lab, np.full(self.T, maxc), a, fmt="i"
                )
                if self.mode == "raw":
                    self.add_series(
                        "pg_stat_database_xact_commit",
                        dict(lab, datname=s.name.split("-")[0]),
                        self.counter(self.poisson(qps * (1 - s.err_svc) * self.step * 0.5)),
                        a,
                        fmt="i",
                    )
            elif st in ("redis", "memcached"):
                self.add_series(f"{st}_up", lab, up, a, fmt="i")
                self.add_series(
                    "redis_connected_clients" if st == "redis" else "memcached_current_connections",
                    lab,
                    np.round((40 + rng.normal(0, 1.5, self.T)) * up),
                    a,
                    fmt="i",
                )
                if self.mode == "raw":
                    self.add_series(
                        "redis_commands_processed_total"
                        if st == "redis"
                        else "memcached_commands_total",
                        lab,
                        self.counter(self.poisson(qps * up * self.step)),
                        a,
                        fmt="i",
                    )
                if st == "redis":
                    self.add_series(
                        "redis_memory_used_bytes",
                        lab,
                        s.mem_base * 0.9 + p.mem_add + rng.normal(0, 1e5, self.T),
                        a,
                        fmt="i",
                    )
                    self.add_series(
                        "redis_memory_max_bytes",
                        lab,
                        np.full(self.T, s.mem_limit * 0.9),
                        a,
                        fmt="i",
                    )
            elif st == "mysql":
                self.add_series("mysql_up", lab, up, a, fmt="i")
                self.add_series(
                    "mysql_global_status_threads_connected",
                    lab,
                    np.clip(
                        np.round(
                            25 + getattr(s, "conn_add", np.zeros(self.T)) + rng.normal(0, 2, self.T)
                        ),
                        1,
                        151,
                    )
                    * up,
                    a,
                    fmt="i",
                )
                self.add_series(
                    "mysql_global_variables_max_connections", lab, np.full(self.T, 151), a, fmt="i"
                )
            elif st == "mongo":
                self.add_series("mongodb_up", lab, up, a, fmt="i")
                self.add_series(
                    "mongodb_connections",
                    dict(lab, state="current"),
                    np.round((60 + rng.normal(0, 3, self.T)) * up),
                    a,
                    fmt="i",
                )
            elif st == "kafka":
                self.add_series("kafka_brokers", lab, np.full(self.T, 3) * up, a, fmt="i")
                self.add_series(
                    "kafka_consumergroup_lag",
                    dict(lab, consumergroup="events-consumer", topic="events"),
                    np.abs(np.round(50 + rng.normal(0, 20, self.T) + 5000 * (1 - up))),
                    a,
                    fmt="i",
                )
            else:
                self.add_series("up", dict(lab, job_name=f"{st}-exporter"), up, a, fmt="i")

    def emit_node(self):
        rng = self.rng
        busy_by_node = {n: np.zeros(self.T) for n in self.nodes}
        for s in self.svcs.values():
            for p in s.pods:
                if s.role != "ext":
                    busy_by_node[p.node] += s.cpu[p.name] * self.alive(p)
        node_extra = getattr(self, "node_extra", {})
        for n in self.nodes:
            ncpu = 8
            busy = np.clip(
                busy_by_node[n] + 0.4 + node_extra.get(n, 0) + rng.normal(0, 0.05, self.T),
                0.05,
                ncpu * 0.98,
            )
            lab = {"job": "node-exporter", "instance": f"{n}:9100", "node": n}
            if self.mode == "raw":
                for mode, frac in (("user", 0.7), ("system", 0.3)):
                    self.add_series(
                        "node_cpu_seconds_total",
                        dict(lab, cpu="0", mode=mode),
                        self.counter(busy / ncpu * frac * self.step, start=rng.uniform(1e5, 1e6)),
                        fmt="e",
                    )
                self.add_series(
                    "node_cpu_seconds_total",
                    dict(lab, cpu="0", mode="idle"),
                    self.counter((1 - busy / ncpu) * self.step, start=rng.uniform(1e6, 5e6)),
                    fmt="e",
                )
                drops = getattr(self, "node_drops", {}).get(n, np.zeros(self.T))
                self.add_series(
                    "node_network_transmit_drop_total",
                    dict(lab, device="eth0"),
                    self.counter(
                        self.poisson(drops * self.step + 0.01 * self.step),
                        start=rng.integers(0, 500),
                    ),
                    fmt="i",
                )
                retr = getattr(self, "node_retrans", {}).get(n, np.zeros(self.T))
                self.add_series(
                    "node_netstat_Tcp_RetransSegs",
                    lab,
                    self.counter(
                        self.poisson((retr + rng.uniform(0.5, 3)) * self.step),
                        start=rng.integers(10000, 1000000),
                    ),
                    fmt="i",
                )
            else:
                self.add_series(
                    "instance:node_cpu_utilisation:rate5m", lab, self.rate5m(busy / ncpu)
                )
                drops = getattr(self, "node_drops", {}).get(n, np.zeros(self.T))
                self.add_series(
                    "instance:node_network_transmit_drop_excluding_lo:rate5m",
                    lab,
                    self.rate5m(drops + rng.uniform(0, 0.02, self.T)),
                )

    def emit_probes(self):
        rng = self.rng
        for s in self.svcs.values():
            if not (s.role in ("edge", "ext") or getattr(s, "probe", False)):
                continue
            host = s.host or f"{s.name}.{self.app['domain']}"
            target = f"https://{host}/healthz" if s.role != "ext" else f"https://{host}/status"
            lab = {
                "service": s.name,
                "job": "blackbox-http",
                "instance": target,
                "module": "http_2xx",
            }
            if self.key == "job":
                lab = {
                    "job": s.name,
                    "instance": target,
                    "module": "http_2xx",
                    "probe_job": "blackbox-http",
                }
            fail = getattr(s, "probe_fail", np.zeros(self.T))
            flap = rng.random(self.T) < 0.004
            succ = np.where((rng.random(self.T) < fail) | flap, 0, 1)
            self.add_series("probe_success", lab, succ, fmt="i")
            self.add_series(
                "probe_duration_seconds",
                lab,
                np.where(
                    succ > 0,
                    (s.lat0 + 0.03) * np.exp(rng.normal(0, 0.15, self.T))
                    + (s.lat_add if s.role != "db" else 0),
                    rng.uniform(4.9, 5.1, self.T),
                ),
            )
            exp = getattr(s, "cert_expiry", None)
            if exp is None:
                exp = self.t_alert + rng.uniform(20, 80) * 86400
            self.add_series(
                "probe_ssl_earliest_cert_expiry", lab, np.full(self.T, float(int(exp))), fmt="i"
            )

    # ---- logs
    def log(self, ts, svc, level, msg, **kw):
        if ts < self.start or ts > self.end:
            return
        if self.log_ts_fmt == "rfc3339":
            tsv = iso(ts)
        elif self.log_ts_fmt == "ms":
            tsv = int(ts * 1000)
        else:
            tsv = round(ts, 3)
        rec = {"ts": tsv, "service": svc, "level": level, "msg": msg, "_t": ts}
        rec.update(kw)
        self.logs.append(rec)

    def emit_logs(self):
        rng = self.rng
        for s in self.svcs.values():
            if s.role == "ext":
                continue
            style = {
                "spring": "java",
                "gootel": "go",
                "goprom": "go",
                "python": "py",
                "envoy": "envoy",
            }.get(s.stack, "db")
            for i in range(self.T):
                t0 = self.t[i]
                alive_pods = [p for p in s.pods if p.birth <= i < p.death and p.up[i]]
                if not alive_pods:
                    continue
                load = s.rps[i] / max(1.0, float(np.median(s.rps)))
                n_info = rng.poisson(self.step / 30.0 * min(4, load))
                for _ in range(n_info):
                    p = alive_pods[rng.integers(len(alive_pods))]
                    self.info_line(s, p, style, t0 + rng.uniform(0, self.step))
                # error lines by component
                if s.role == "db":
                    continue
                comp = [("base", s.err0)]
                own_fault = float(np.mean([s.own_pod[p.name][i] for p in alive_pods])) - s.err0
                if own_fault > 0.002:
                    comp.append(("own", own_fault))
                for d, de in s.dep_err.items():
                    comp.append((d, float(de[i])))
                for what, frac in comp:
                    lam = min(12.0, frac * s.rps[i] * self.step * 0.02)
                    if what == "base":
                        lam = min(lam, 0.15)
                    for _ in range(rng.poisson(lam)):
                        p = alive_pods[rng.integers(len(alive_pods))]
                        if (
                            what == "own"
                            and getattr(s, "own_fault_pods", None)
                            and p.name not in s.own_fault_pods
                        ):
                            p = (
                                next(pp for pp in alive_pods if pp.name in s.own_fault_pods)
                                if any(pp.name in s.own_fault_pods for pp in alive_pods)
                                else p
                            )
                        ts = t0 + rng.uniform(0, self.step)
                        if what == "base":
                            self.baseline_error(s, p, style, ts)
                        elif what == "own":
                            self.own_error(s, p, style, ts, i)
                        else:
                            self.dep_error(s, p, style, ts, self.svcs[what], i)
                # baseline warnings
                if rng.random() < 0.04 * self.step / 15:
                    p = alive_pods[rng.integers(len(alive_pods))]
                    self.warn_line(s, p, style, t0 + rng.uniform(0, self.step))
        for h in self.extra_log_hooks:
            h(self)

    def java_log(self, s, p, ts, level, logger, msg, stack=None):
        thread = f"http-nio-8080-exec-{self.rng.integers(1, 200)}"
        tid = self.rname(32, HEX)
        if stack and self.multiline:
            self.log(
                ts,
                s.name,
                level,
                msg + "\n" + "\n".join(stack),
                pod=p.name,
                logger=logger,
                thread=thread,
                trace_id=tid,
            )
        else:
            self.log(ts, s.name, level, msg, pod=p.name, logger=logger, thread=thread, trace_id=tid)
            if stack:
                cont = getattr(self, "cont_level", level)
                for j, line in enumerate(stack):
                    self.log(ts + 0.0001 * (j + 1), s.name, cont, line, pod=p.name, stream="stderr")

    def go_log(self, s, p, ts, level, msg, **kv):
        caller = kv.pop(
            "caller",
            f"{self.rng.choice(['server', 'handler', 'client', 'store'])}.go:{self.rng.integers(40, 400)}",
        )
        parts = [f"level={level}", f"ts={iso(ts)}", f"caller={caller}", f'msg="{msg}"']
        for k, v in kv.items():
            parts.append(f'{k}="{v}"' if " " in str(v) or ":" in str(v) else f"{k}={v}")
        self.log(ts, s.name, level, " ".join(parts), pod=p.name)

    def py_log(self, s, p, ts, level, event, tb=None, **kv):
        lvl = {"error": "error", "warn": "warning", "info": "info"}[level]
        if tb:
            msg = event + "\n" + "\n".join(tb) if self.multiline else event
        else:
            msg = event
        self.log(ts, s.name, lvl, msg, pod=p.name, logger=f"{s.name.replace('-', '_')}.api", **kv)
        if tb and not self.multiline:
            for j, line in enumerate(tb):
                self.log(
                    ts + 0.0001 * (j + 1),
                    s.name,
                    getattr(self, "cont_level", lvl),
                    line,
                    pod=p.name,
                    stream="stderr",
                )

    def info_line(self, s, p, style, ts):
        rng = self.rng
        ms = rng.integers(2, 80)
        if style == "java":
            self.java_log(
                s,
                p,
                ts,
                "INFO",
                f"{self.app['pkg']}.{s.name.split('-')[0]}.web.RequestLoggingFilter",
                f"Completed {rng.choice(['GET', 'POST'])} /api/v1/{s.name.split('-')[0]} with status 200 in {ms} ms",
            )
        elif style == "go":
            self.go_log(
                s,
                p,
                ts,
                "info",
                "request completed",
                method="GET",
                path=f"/v2/{s.name.split('-')[0]}",
                status=200,
                duration=f"{ms}.{rng.integers(0, 9)}ms",
            )
        elif style == "py":
            self.py_log(
                s,
                p,
                ts,
                "info",
                f"request_finished path=/{s.name.split('-')[0]}/query status=200 duration_ms={ms}",
            )
        elif style == "envoy":
            self.log(
                ts,
                s.name,
                "info",
                f'[{iso(ts)}] "GET /api/{rng.choice(["home", "feed", "items"])} HTTP/2" 200 - via_upstream - "-" 0 {rng.integers(800, 9000)} {ms} {ms - 1} "{rng.integers(1, 223)}.{rng.integers(0, 255)}.{rng.integers(0, 255)}.{rng.integers(0, 255)}"',
                pod=p.name,
            )
        else:
            self.db_info(s, p, ts)

    def db_info(self, s, p, ts):
        rng = self.rng
        st = s.stack
        if st == "postgres":
            if rng.random() < 0.3:
                self.log(
                    ts,
                    s.name,
                    "LOG",
                    f"checkpoint complete: wrote {rng.integers(100, 3000)} buffers ({rng.uniform(0.1, 3):.1f}%); 0 WAL file(s) added, 0 removed, 1 recycled; write={rng.uniform(1, 30):.3f} s",
                    pod=p.name,
                )
            else:
                self.log(
                    ts,
                    s.name,
                    "LOG",
                    f"duration: {rng.uniform(200, 900):.3f} ms  statement: SELECT * FROM {rng.choice(['accounts', 'orders', 'items', 'events'])} WHERE id = $1",
                    pod=p.name,
                )
        elif st == "mysql":
            self.log(
                ts,
                s.name,
                "Note",
                f"[MY-010914] [Server] Aborted connection {rng.integers(1000, 99999)} to db: 'app' user: 'svc' host: '10.{rng.integers(0, 255)}.{rng.integers(0, 255)}.{rng.integers(0, 255)}' (Got timeout reading communication packets).",
                pod=p.name,
            )
        elif st == "redis":
            self.log(
                ts,
                s.name,
                "notice",
                f"1:M {datetime.fromtimestamp(ts, tz=UTC).strftime('%d %b %Y %H:%M:%S.%f')[:-3]} * {rng.integers(10, 1000)} changes in 60 seconds. Saving...",
                pod=p.name,
            )
        else:
            self.log(
                ts,
                s.name,
                "INFO",
                f"{st}: background maintenance completed in {rng.integers(5, 500)}ms",
                pod=p.name,
            )

    def warn_line(self, s, p, style, ts):
        rng = self.rng
        if style == "java":
            self.java_log(
                s,
                p,
                ts,
                "WARN",
                "com.zaxxer.hikari.pool.HikariPool",
                f"HikariPool-1 - Thread starvation or clock leap detected (housekeeper delta={rng.integers(30, 90)}s{rng.integers(100, 999)}ms).",
            )
        elif style == "go":
            self.go_log(
                s,
                p,
                ts,
                "warn",
                "slow request",
                path=f"/v2/{s.name.split('-')[0]}",
                duration=f"{rng.uniform(0.5, 2):.2f}s",
            )
        elif style == "py":
            self.py_log(
                s, p, ts, "warn", f"cache miss ratio high ratio={rng.uniform(0.2, 0.4):.2f}"
            )
        elif style == "envoy":
            self.log(
                ts,
                s.name,
                "warning",
                f"[source/common/config/grpc_stream.h:{rng.integers(100, 200)}] StreamAggregatedResources gRPC config stream to xds-grpc closed since {rng.integers(100, 2000)}s ago: 14, connection reset",
                pod=p.name,
            )

    def baseline_error(self, s, p, style, ts):
        rng = self.rng
        d = self.svcs[s.deps[rng.integers(len(s.deps))][0]] if s.deps else None
        tgt = d.name if d else "client"
        if style == "java":
            self.java_log(
                s,
                p,
                ts,
                "ERROR",
                f"{self.app['pkg']}.{s.name.split('-')[0]}.client.{camel(tgt)}Client",
                f'I/O error on POST request for "http://{tgt}:8080/internal/v1/{tgt.split("-")[0]}": Read timed out; nested exception is java.net.SocketTimeoutException: Read timed out',
                stack=self.java_stack(
                    s, "java.net.SocketTimeoutException: Read timed out", short=True
                ),
            )
        elif style == "go":
            self.go_log(
                s,
                p,
                ts,
                "error",
                "upstream call failed",
                upstream=tgt,
                err="context deadline exceeded",
            )
        elif style == "py":
            self.py_log(
                s, p, ts, "error", f"upstream request failed target={tgt} error=ReadTimeout"
            )
        elif style == "envoy":
            self.log(
                ts,
                s.name,
                "info",
                f'[{iso(ts)}] "GET /api/items HTTP/2" 504 UT upstream_response_timeout - "-" 0 24 15001 - "-" "{tgt}"',
                pod=p.name,
            )

    def java_stack(self, s, exc, short=False, frames=None):
        pkg = self.app["pkg"] + "." + s.name.split("-")[0]
        c = camel(s.name)
        fr = frames or [
            f"\tat {pkg}.service.{c}Service.handle({c}Service.java:{self.rng.integers(40, 300)})",
            f"\tat {pkg}.web.{c}Controller.process({c}Controller.java:{self.rng.integers(30, 120)})",
            "\tat java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)",
            "\tat org.springframework.web.servlet.FrameworkServlet.processRequest(FrameworkServlet.java:1014)",
            "\tat org.springframework.web.servlet.DispatcherServlet.doDispatch(DispatcherServlet.java:1089)",
            "\tat org.apache.catalina.core.ApplicationFilterChain.doFilter(ApplicationFilterChain.java:166)",
            "\tat java.base/java.lang.Thread.run(Thread.java:1583)",
        ]
        if short:
            fr = fr[:2] + ["\t... 47 common frames omitted"]
        return [exc] + fr

    def own_error(self, s, p, style, ts, i):
        """Own-fault error lines. The fault object decides the template."""
        f = self.faults.get(s.name)
        if f and f.get("own_log"):
            f["own_log"](self, s, p, style, ts, i)
        else:
            self.baseline_error(s, p, style, ts)

    def dep_error(self, s, p, style, ts, d, i):
        rng = self.rng
        fl = d.flavour[i]
        port = DB_PORT.get(d.stack, 8080)
        ip = f"10.{rng.integers(0, 255)}.{rng.integers(0, 255)}.{rng.integers(2, 250)}"
        host = d.host or f"{d.name}.{self.ns}.svc.cluster.local"
        if style == "java":
            lg = f"{self.app['pkg']}.{s.name.split('-')[0]}.client.{camel(d.name)}Client"
            if d.role == "db" and d.stack in ("postgres", "mysql"):
                lg = "com.zaxxer.hikari.pool.HikariPool"
                if fl == "refused":
                    msg = (
                        "HikariPool-1 - Exception during pool initialization."
                        if rng.random() < 0.2
                        else f"HikariPool-1 - Connection is not available, request timed out after 30000ms (total=20, active=0, idle=0, waiting={rng.integers(5, 60)})"
                    )
                    exc = (
                        f"org.postgresql.util.PSQLException: Connection to {d.name}:{port} refused. Check that the hostname and port are correct and that the postmaster is accepting TCP/IP connections."
                        if d.stack == "postgres"
                        else "com.mysql.cj.jdbc.exceptions.CommunicationsException: Communications link failure"
                    )
                elif fl == "toomany":
                    msg = f"HikariPool-1 - Connection is not available, request timed out after 30000ms (total=20, active=20, idle=0, waiting={rng.integers(5, 60)})"
                    exc = (
                        "org.postgresql.util.PSQLException: FATAL: sorry, too many clients already"
                        if d.stack == "postgres"
                        else 'java.sql.SQLNonTransientConnectionException: Data source rejected establishment of connection,  message from server: "Too many connections"'
                    )
                else:
                    msg = "SQL Error: 0, SQLState: 08006"
                    exc = "org.postgresql.util.PSQLException: An I/O error occurred while sending to the backend."
                self.java_log(s, p, ts, "ERROR", lg, msg, stack=self.java_stack(s, exc, short=True))
                return
            if d.role == "db" and d.stack == "redis":
                self.java_log(
                    s,
                    p,
                    ts,
                    "ERROR",
                    "org.springframework.data.redis.RedisConnectionFailureException",
                    f"Unable to connect to Redis; nested exception is io.lettuce.core.RedisConnectionException: Unable to connect to {d.name}:{port}",
                    stack=self.java_stack(
                        s,
                        f"Caused by: io.netty.channel.AbstractChannel$AnnotatedConnectException: Connection refused: {d.name}/{ip}:{port}",
                        short=True,
                    ),
                )
                return
            if fl == "tls":
                self.java_log(
                    s,
                    p,
                    ts,
                    "ERROR",
                    lg,
                    f'I/O error on POST request for "https://{host}/v1/{d.name.split("-")[0]}": PKIX path validation failed: java.security.cert.CertPathValidatorException: validity check failed',
                    stack=self.java_stack(
                        s,
                        "javax.net.ssl.SSLHandshakeException: PKIX path validation failed: java.security.cert.CertPathValidatorException: validity check failed",
                        short=True,
                    )
                    + [
                        "Caused by: java.security.cert.CertificateExpiredException: NotAfter: "
                        + datetime.fromtimestamp(getattr(d, "cert_expiry", ts), tz=UTC).strftime(
                            "%a %b %d %H:%M:%S GMT %Y"
                        )
                    ],
                )
            elif fl == "timeout":
                self.java_log(
                    s,
                    p,
                    ts,
                    "ERROR",
                    lg,
                    f'I/O error on POST request for "http://{host}/v1/{d.name.split("-")[0]}": Read timed out; nested exception is java.net.SocketTimeoutException: Read timed out',
                    stack=self.java_stack(
                        s, "java.net.SocketTimeoutException: Read timed out", short=True
                    ),
                )
            elif fl == "refused":
                self.java_log(
                    s,
                    p,
                    ts,
                    "ERROR",
                    lg,
                    f'I/O error on POST request for "http://{host}/v1/{d.name.split("-")[0]}": Connection refused',
                    stack=self.java_stack(
                        s, "java.net.ConnectException: Connection refused", short=True
                    ),
                )
            elif fl == "unavailable":
                self.java_log(
                    s,
                    p,
                    ts,
                    "ERROR",
                    lg,
                    f'503 Service Unavailable from POST http://{d.name}:8080/v1/{d.name.split("-")[0]}: "no healthy upstream"',
                )
            else:
                code = getattr(d, "code", 500)
                self.java_log(
                    s,
                    p,
                    ts,
                    "ERROR",
                    lg,
                    f"{code} {'Internal Server Error' if code == 500 else 'Bad Gateway'} from POST http://{d.name}:8080/v1/{d.name.split('-')[0]}",
                )
        elif style == "go":
            if d.role == "db":
                if fl == "refused":
                    err = f"dial tcp {ip}:{port}: connect: connection refused"
                elif fl == "toomany":
                    err = (
                        "pq: sorry, too many clients already"
                        if d.stack == "postgres"
                        else "Error 1040: Too many connections"
                    )
                else:
                    err = "i/o timeout"
                self.go_log(s, p, ts, "error", "query failed", db=d.name, err=err)
                return
            err = {
                "tls": f'Post "https://{host}/v1/{d.name.split("-")[0]}": tls: failed to verify certificate: x509: certificate has expired or is not yet valid: current time {iso(ts, ms=False)} is after {iso(getattr(d, "cert_expiry", ts), ms=False)}',
                "timeout": f'Post "http://{host}/v1/{d.name.split("-")[0]}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)',
                "refused": f"dial tcp {ip}:8080: connect: connection refused",
                "unavailable": "rpc error: code = Unavailable desc = no healthy upstream",
                "http5xx": f"unexpected status {getattr(d, 'code', 500)} from {d.name}",
            }.get(fl, f"unexpected status 500 from {d.name}")
            self.go_log(s, p, ts, "error", "upstream call failed", upstream=d.name, err=err)
        elif style == "py":
            err = {
                "tls": f"httpx.ConnectError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired (_ssl.c:1006) host={host}",
                "timeout": f"httpx.ReadTimeout: timed out host={host}",
                "refused": f"ConnectionRefusedError: [Errno 111] Connect call failed ('{ip}', {port}) host={host}",
                "toomany": "psycopg.OperationalError: connection failed: FATAL:  sorry, too many clients already",
                "unavailable": f"httpx.HTTPStatusError: Server error '503 Service Unavailable' for url 'http://{d.name}:8080/'",
                "http5xx": f"httpx.HTTPStatusError: Server error '{getattr(d, 'code', 500)} Internal Server Error' for url 'http://{d.name}:8080/v1/{d.name.split('-')[0]}'",
            }.get(fl)
            self.py_log(s, p, ts, "error", f"upstream_error dependency={d.name} {err}")
        elif style == "envoy":
            flag = {"timeout": "UT", "refused": "UF", "unavailable": "UH", "tls": "UF"}.get(fl, "-")
            code = {"timeout": 504, "refused": 503, "unavailable": 503, "tls": 503}.get(fl, 500)
            extra = (
                " upstream_reset_before_response_started{connection_failure,TLS_error:_268435581:SSL_routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED}"
                if fl == "tls"
                else ""
            )
            self.log(
                ts,
                s.name,
                "info",
                f'[{iso(ts)}] "GET /api/{d.name.split("-")[0]} HTTP/2" {code} {flag}{extra} - "-" 0 91 {rng.integers(1, 15000)} - "-" "outbound|8080||{d.name}.{self.ns}.svc.cluster.local"',
                pod=p.name,
            )

    # ---- alerts / write
    def add_alert(self, name, svc, severity, starts, summary, extra=None, ends=None):
        labels = {"alertname": name, "severity": severity, "namespace": self.ns}
        if svc:
            labels["service"] = svc
        if extra:
            labels.update(extra)
        f = fp(labels)
        self.alerts.append(
            {
                "labels": labels,
                "annotations": {
                    "summary": summary,
                    "runbook_url": f"https://runbooks.{self.app['domain']}/{name}",
                },
                "startsAt": iso(starts),
                "endsAt": iso(ends or starts + 4 * 3600),
                "updatedAt": iso(starts + 60),
                "fingerprint": f,
                "status": {"state": "active", "silencedBy": [], "inhibitedBy": []},
                "generatorURL": f"http://prometheus.{self.app['domain']}/graph?g0.expr={name}",
                "receivers": [{"name": "oncall-pager"}],
            }
        )
        return f

    def write(self, d, bid, title, focus, truth):
        if os.path.exists(d):
            shutil.rmtree(d)
        os.makedirs(os.path.join(d, "metrics"))
        os.makedirs(os.path.join(d, "logs"))
        with open(os.path.join(d, "bundle.yaml"), "w") as f:
            f.write(
                f"id: {json.dumps(bid)}\ntitle: {json.dumps(title)}\nwindow:\n  start: {json.dumps(iso(self.start, False))}\n"
                f"  end: {json.dumps(iso(self.end, False))}\nfocus_alert: {json.dumps(focus)}\n"
            )
        with open(os.path.join(d, "truth.yaml"), "w") as f:
            f.write("root_cause:\n")
            for k, v in truth.items():
                if k != "match":
                    f.write(f"  {k}: {json.dumps(v)}\n")
            if truth.get("match"):
                f.write(f"match: {truth['match']}\n")
        json.dump(self.alerts, open(os.path.join(d, "alerts.json"), "w"), indent=1)
        json.dump(
            sorted(self.changes, key=lambda c: c["ts"]),
            open(os.path.join(d, "changes.json"), "w"),
            indent=1,
        )
        with open(os.path.join(d, "topology.yaml"), "w") as f:
            f.write("services:\n")
            for s in self.svcs.values():
                f.write(
                    f"  {json.dumps(s.name)}:\n    depends_on: {json.dumps([x for x, _ in s.deps])}\n"
                )
        for name, series in self.metrics.items():
            stem = name.replace(":", "_")
            with open(os.path.join(d, "metrics", stem + ".json"), "w") as f:
                json.dump(
                    {"status": "success", "data": {"resultType": "matrix", "result": series}},
                    f,
                    separators=(",", ":"),
                )
        if self.queries:
            with open(os.path.join(d, "metrics", "queries.yaml"), "w") as f:
                for k, v in self.queries.items():
                    f.write(f"{json.dumps(k)}: {json.dumps(v)}\n")
        by = {}
        for r in sorted(self.logs, key=lambda r: r["_t"]):
            r.pop("_t")
            by.setdefault(r["service"], []).append(r)
        for svc, recs in by.items():
            with open(os.path.join(d, "logs", svc + ".jsonl"), "w") as f:
                for r in recs:
                    f.write(json.dumps(r) + "\n")
        if self.events:
            os.makedirs(os.path.join(d, "events"))
            with open(os.path.join(d, "events", "kube-events.jsonl"), "w") as f:
                for e in sorted(self.events, key=lambda e: e["ts"]):
                    f.write(json.dumps(e) + "\n")


def dir_size(d):
    return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(d) for f in fs)


# ----------------------------------------------------------------------------------------
# Fault library
# ----------------------------------------------------------------------------------------
def ramp(w, k0, minutes, T=None):
    T = T or w.T
    x = np.zeros(T)
    n = max(1, int(minutes * 60 / w.step))
    x[k0:] = np.clip((np.arange(T - k0) + 1) / n, 0, 1)
    return x


def new_exc_logger(exc_line, frames_fn=None, go_msg=None, py_tb=None):
    def f(w, s, p, style, ts, i):
        if style == "java":
            w.java_log(
                s,
                p,
                ts,
                "ERROR",
                "org.apache.catalina.core.ContainerBase.[Tomcat].[localhost].[/].[dispatcherServlet]",
                f"Servlet.service() for servlet [dispatcherServlet] in context with path [] threw exception [Request processing failed: {exc_line}] with root cause",
                stack=w.java_stack(s, exc_line, frames=frames_fn(w, s) if frames_fn else None),
            )
        elif style == "go":
            w.go_log(
                s,
                p,
                ts,
                "error",
                go_msg or "handler error",
                err=exc_line,
                path=f"/v2/{s.name.split('-')[0]}",
            )
        elif style == "py":
            w.py_log(
                s,
                p,
                ts,
                "error",
                f"Exception in ASGI application: {exc_line}",
                tb=py_tb
                or [
                    "Traceback (most recent call last):",
                    f'  File "/app/{s.name.replace("-", "_")}/handlers.py", line {w.rng.integers(40, 300)}, in post_query',
                    "    result = await svc.evaluate(payload)",
                    f'  File "/app/{s.name.replace("-", "_")}/service.py", line {w.rng.integers(40, 300)}, in evaluate',
                    exc_line,
                ],
            )
        else:
            w.log(ts, s.name, "error", exc_line, pod=p.name)

    return f


BUGS = [
    (
        'java.lang.NullPointerException: Cannot invoke "{pkg}.model.{C}Account.getCurrency()" because "account" is null',
        "runtime error: invalid memory address or nil pointer dereference",
        "AttributeError: 'NoneType' object has no attribute 'currency'",
    ),
    (
        "java.lang.IllegalStateException: Duplicate key {C}Id[value=null] (attempted merging values a and b)",
        "sql: converting argument $3 type: unsupported type []string, a slice of string",
        "KeyError: 'region_code'",
    ),
    (
        "java.lang.ClassCastException: class java.lang.String cannot be cast to class java.math.BigDecimal",
        "json: cannot unmarshal string into Go struct field Request.amount of type int64",
        "TypeError: unsupported operand type(s) for +: 'decimal.Decimal' and 'float'",
    ),
    (
        'com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException: Unrecognized field "tierCode" (class {pkg}.dto.{C}Request), not marked as ignorable',
        "proto: cannot parse invalid wire-format data",
        "pydantic_core._pydantic_core.ValidationError: 1 validation error for QueryRequest",
    ),
]


def bug_logger(w, s):
    b = BUGS[w.rng.integers(len(BUGS))]
    pkg = w.app["pkg"] + "." + s.name.split("-")[0]
    j = b[0].replace("{pkg}", pkg).replace("{C}", camel(s.name))
    if s.stack == "spring":
        return new_exc_logger(j)
    if s.stack in ("gootel", "goprom", "envoy"):
        return new_exc_logger(b[1], go_msg="handler failed")
    return new_exc_logger(b[2])


def crash_logger(w, s, p, style, ts, i):
    w.log(
        ts,
        s.name,
        "ERROR" if style == "java" else "error",
        f"Back-off restarting failed container {s.name} in pod {p.name}: CrashLoopBackOff",
        pod=p.name,
        source="kubelet",
    )


# ----------------------------------------------------------------------------------------
# Scenario builders
# ----------------------------------------------------------------------------------------
def new_world(rng, force_step=None, n_lo=6, n_hi=12):
    app = str(rng.choice(list(APPS)))
    before = float(rng.uniform(30, 60))
    after = float(rng.uniform(5, 15))
    step = int(rng.choice([15, 30, 30, 60])) if before + after <= 60 else int(rng.choice([30, 60]))
    day = int(rng.integers(0, 500))
    t_alert = 1704067200 + day * 86400 + int(rng.integers(0, 86400))
    key = str(rng.choice(["service", "service", "service", "job", "app"]))
    mode = str(rng.choice(["raw", "raw", "rate"]))
    mesh = bool(rng.random() < 0.6)
    step = force_step or step
    w = World(
        rng,
        app,
        int(rng.integers(n_lo, n_hi + 1)),
        step,
        float(t_alert),
        before,
        after,
        key,
        mode,
        mesh,
        str(rng.choice(["rfc3339", "ms", "s"])),
        bool(rng.random() < 0.5),
    )
    w.cont_level = str(rng.choice(["ERROR", "UNKNOWN", "error"]))
    return w


def bump_version(v, rng, major=False):
    a, b, c = (int(x) for x in v.split("."))
    if major:
        return f"{a}.{b + 1}.0"
    return f"{a}.{b}.{c + 1 + int(rng.integers(0, 3))}"


def innocent_changes(w, exclude, n, near_onset=False, onset=None):
    rng = w.rng
    cands = [s for s in w.svcs.values() if s.role in ("mid", "edge") and s.name not in exclude]
    out = []
    for j in range(n):
        if not cands:
            break
        s = cands[rng.integers(len(cands))]
        if near_onset and j == 0 and onset is not None:
            ts = onset - rng.uniform(60, 300)
        else:
            ts = w.t_alert - rng.uniform(20, 110) * 60
        kind = rng.choice(["deploy", "deploy", "config", "flag", "scale"])
        if kind == "deploy" and s.pods:
            nv = bump_version(s.version, rng)
            pv = s.version
            w.rollout(s.name, ts, nv, duration=rng.uniform(60, 180))
            out.append(
                w.add_change(
                    ts,
                    s.name,
                    "deploy",
                    f"Deploy {s.name} {nv}: {rng.choice(['bump dependencies', 'add metrics for cache', 'refactor DTO mapping', 'log format tweak', 'upgrade base image'])}",
                    version=nv,
                    previous_version=pv,
                    author=rng.choice(["ci-bot", "a.kowalski", "m.tanaka", "r.osei"]),
                    url=f"https://git.{w.app['domain']}/{w.ns}/{s.name}/-/pipelines/{rng.integers(10000, 99999)}",
                )
            )
        elif kind == "config":
            out.append(
                w.add_change(
                    ts,
                    s.name,
                    "config",
                    f"ConfigMap {s.name}-config: LOG_LEVEL info -> debug"
                    if rng.random() < 0.5
                    else f"ConfigMap {s.name}-config: CACHE_TTL_SECONDS 300 -> 600",
                    author=rng.choice(["argocd", "j.doe"]),
                )
            )
        elif kind == "flag":
            out.append(
                w.add_change(
                    ts,
                    s.name,
                    "flag",
                    f"flag '{rng.choice(['new-onboarding-copy', 'dark-mode-banner', 'recs-v2-shadow'])}' set to 10% rollout",
                    author="flagsmith",
                )
            )
        else:
            out.append(
                w.add_change(
                    ts,
                    s.name,
                    "scale",
                    f"HPA scaled {s.name} from {len(s.pods)} to {len(s.pods) + 1} replicas",
                    author="hpa",
                )
            )
    if rng.random() < 0.3:
        w.add_change(
            w.t_alert - rng.uniform(30, 120) * 60,
            "platform",
            "infra",
            f"node pool upgrade: kubelet 1.29.{rng.integers(1, 9)} on {w.nodes[0]}",
            author="platform-team",
        )
    return out


def flappy_alerts(w):
    rng = w.rng
    if rng.random() < 0.5:
        w.add_alert(
            "Watchdog",
            None,
            "none",
            w.t_alert - 6 * 3600,
            "An alert that should always be firing to certify that Alertmanager is working properly.",
        )
    if rng.random() < 0.4:
        ms = [x for x in w.svcs.values() if x.role == "mid"]
        s = ms[int(rng.integers(len(ms)))]
        w.add_alert(
            "CPUThrottlingHigh",
            s.name,
            "info",
            w.t_alert - rng.uniform(40, 200) * 60,
            f"{rng.integers(26, 40)}% throttling of CPU in namespace {w.ns} for container {s.name}.",
        )


def symptom_alert(w, svc, kind_hint, t):
    rng = w.rng
    if kind_hint == "latency":
        name = rng.choice(["HighRequestLatency", "LatencySLOBurnRate", "P99LatencyHigh"])
        summ = f"p99 latency of {svc} above SLO"
    else:
        name = rng.choice(["HighErrorRate", "ErrorBudgetBurnFast", "Http5xxRatioHigh"])
        summ = f"5xx ratio of {svc} above 2% for 3m"
    return w.add_alert(name, svc, rng.choice(["critical", "page"]), t, summ)


def pick_alert_service(w, root, p_root=0.2, p_mid=0.25):
    rng = w.rng
    anc = [a for a in w.ancestors(root) if w.svcs[a].role != "ext"]
    e = w.edge().name
    r = rng.random()
    if r < p_root and w.svcs[root].role in ("mid", "edge"):
        return root
    if r < p_root + p_mid:
        mids = [a for a in anc if w.svcs[a].role == "mid"]
        if mids:
            return str(rng.choice(mids))
    return e if (e in anc or e == root) else (str(rng.choice(anc)) if anc else root)


def finish(w, d, bid, title, focus, truth):
    w.simulate()
    w.emit_all()
    w.emit_logs()
    w.write(d, bid, title, focus, truth)


def scenario_A(rng, kind, d, bid):
    for attempt in range(4):
        w = new_world(rng, force_step=60 if attempt else None)
        w.buckets = attempt < 2
        build_A(w, rng, kind, d, bid)
        if dir_size(d) < 2.0e6:
            return
    # last resort: keep whatever was written (size reported by caller)


def build_A(w, rng, kind, d, bid):
    delay = float(rng.uniform(60, 300))
    onset = w.t_alert - delay
    k0 = w.idx(onset)
    mids = [s for s in w.svcs.values() if s.role == "mid"]
    truth = {}
    alert_kind = "errors"
    if kind in (
        "deploy",
        "config_change",
        "crash_loop",
        "network",
        "resource_saturation",
        "certificate_expiry",
    ):
        if kind == "certificate_expiry" and rng.random() < 0.3:
            root = w.edge()
        else:
            root = mids[rng.integers(len(mids))]
        if kind == "network" and rng.random() < 0.3:
            dbs = [s for s in w.svcs.values() if s.role == "db"]
            root = dbs[0] if dbs else root
    elif kind == "dependency_failure":
        deps = [s for s in w.svcs.values() if s.role in ("db", "ext")]
        root = deps[rng.integers(len(deps))]
    elif kind == "traffic_surge":
        root = w.edge()
    else:
        root = None
    near = rng.random() < 0.5
    excl = [root.name] if root else []
    if kind == "deploy":
        pv = root.version
        nv = bump_version(pv, rng, major=rng.random() < 0.3)
        ts = onset - rng.uniform(10, 40)
        newp = w.rollout(root.name, ts, nv, duration=rng.uniform(60, 150))
        cid = w.add_change(
            ts,
            root.name,
            "deploy",
            f"Deploy {root.name} {nv}: {rng.choice(['rewrite pricing rules', 'migrate to new client lib', 'add idempotency keys', 'switch serializer'])}",
            version=nv,
            previous_version=pv,
            author=str(rng.choice(["ci-bot", "l.meyer", "s.ng"])),
            url=f"https://git.{w.app['domain']}/{w.ns}/{root.name}/-/pipelines/{rng.integers(10000, 99999)}",
        )
        latency = rng.random() < 0.35
        for p in newp:
            if latency:
                p.lat_mult = np.full(w.T, float(rng.uniform(4, 10)))
            else:
                p.err_add = np.full(w.T, float(rng.uniform(0.08, 0.35)))
        w.faults[root.name] = {"own_log": bug_logger(w, root)}
        root.code = 500
        alert_kind = "latency" if latency else "errors"
        truth = {"kind": "deploy", "service": root.name, "change_id": cid}
        innocent_changes(w, excl, int(rng.integers(1, 4)))
    elif kind == "config_change":
        flag = rng.random() < 0.34
        ts = onset - rng.uniform(5, 30)
        if flag:
            fname = rng.choice(
                [
                    "use-new-risk-model",
                    "async-settlement",
                    "graphql-gateway-path",
                    "batch-writes-v2",
                ]
            )
            cid = w.add_change(
                ts,
                root.name,
                "flag",
                f"flag '{fname}' enabled for 100% of traffic",
                author="launchdarkly:p.ruiz",
            )
        else:
            what = rng.choice(
                [
                    ("DB_POOL_MAX_SIZE", "40", "4"),
                    ("UPSTREAM_TIMEOUT_MS", "2000", "200"),
                    ("RATE_LIMIT_PER_CLIENT", "500", "5"),
                    ("FEATURE_STRICT_VALIDATION", "false", "true"),
                ]
            )
            cid = w.add_change(
                ts,
                root.name,
                "config",
                f"ConfigMap {root.name}-config: {what[0]} {what[1]} -> {what[2]} (rolled by argocd, no restart)",
                author=str(rng.choice(["argocd", "k.bauer"])),
            )
        latency = rng.random() < 0.4
        for p in root.pods:
            if latency:
                p.lat_mult = 1 + ramp(w, k0, 0.5) * float(rng.uniform(4, 9))
            else:
                p.err_add = ramp(w, k0, 0.5) * float(rng.uniform(0.1, 0.4))

        def cfg_log(w_, s, p, style, ts_, i, _lat=latency):
            if style == "java":
                w_.java_log(
                    s,
                    p,
                    ts_,
                    "ERROR",
                    f"{w_.app['pkg']}.{s.name.split('-')[0]}.web.GlobalExceptionHandler",
                    "Request rejected: upstream timeout budget exhausted after 200ms"
                    if _lat
                    else f"Request rejected by policy: {rng.choice(['rate limit exceeded for client', 'strict validation failed: field currency missing'])}",
                )
            elif style == "go":
                w_.go_log(
                    s,
                    p,
                    ts_,
                    "error",
                    "request rejected",
                    reason="rate limit exceeded" if not _lat else "deadline exceeded",
                )
            else:
                w_.py_log(s, p, ts_, "error", "request_rejected reason=policy")

        w.faults[root.name] = {"own_log": cfg_log}
        alert_kind = "latency" if latency else "errors"
        truth = {"kind": "config_change", "service": root.name, "change_id": cid}
        innocent_changes(w, excl, int(rng.integers(1, 4)), near_onset=True, onset=onset - 120)
    elif kind == "resource_saturation":
        mem = rng.random() < 0.4
        onset = onset - rng.uniform(120, 500)
        k0 = w.idx(onset)
        for p in root.pods:
            if mem:
                p.mem_add = ramp(w, k0, rng.uniform(6, 15)) * (
                    root.mem_limit * 0.97 - root.mem_base
                )
                p.lat_mult = 1 + ramp(w, w.idx(onset + 240), 4) * float(rng.uniform(2, 5))
            else:
                p.cpu_add = (
                    ramp(w, k0, rng.uniform(3, 8)) * root.cpu_limit * float(rng.uniform(1.1, 1.6))
                )
        w.faults[root.name] = {
            "own_log": lambda w_, s, p, style, ts_, i: (
                w_.java_log(
                    s,
                    p,
                    ts_,
                    "WARN",
                    "com.zaxxer.hikari.pool.HikariPool",
                    f"HikariPool-1 - Thread starvation or clock leap detected (housekeeper delta={w_.rng.integers(40, 90)}s).",
                )
                if style == "java"
                else w_.go_log(
                    s, p, ts_, "warn", "slow request", duration=f"{w_.rng.uniform(2, 9):.2f}s"
                )
            )
        }
        alert_kind = "latency"
        truth = {"kind": "resource_saturation", "service": root.name}
        innocent_changes(w, excl, int(rng.integers(1, 4)), near_onset=near, onset=onset)
        if mem:
            w.add_alert(
                "KubeContainerMemoryNearLimit",
                root.name,
                "warning",
                onset + 420,
                f"{root.name} working set above 90% of limit",
            ) if rng.random() < 0.5 else None
    elif kind == "dependency_failure":
        fl = "refused"
        if root.role == "ext":
            fl = str(rng.choice(["timeout", "http5xx", "refused"]))
            root.down = ramp(w, k0, 0.5) * float(rng.uniform(0.5, 0.95))
            root.probe_fail = (np.arange(w.T) >= k0) * 0.9
            root.code = 503
            if fl == "timeout":
                root.lat_add = ramp(w, k0, 0.5) * 8.0
        else:
            fl = (
                str(rng.choice(["refused", "toomany"]))
                if root.stack in ("postgres", "mysql")
                else "refused"
            )
            root.down = ramp(w, k0, 0.3) * float(rng.uniform(0.6, 1.0))
            if fl == "toomany":
                root.conn_add = ramp(w, k0, 1.0) * 500
                root.max_conn = 200
                root.flavour[:] = "http5xx"
            if fl == "refused":
                # db fails: postgres logs
                def db_log(w_, _r=root, _k0=k0):
                    p = _r.pods[0]
                    for i in range(_k0, w_.T, max(1, int(60 / w_.step))):
                        ts_ = w_.t[i] + w_.rng.uniform(0, w_.step)
                        if _r.stack == "postgres":
                            w_.log(
                                ts_,
                                _r.name,
                                "FATAL",
                                'could not write to file "pg_wal/xlogtemp.53": No space left on device',
                                pod=p.name,
                            )
                            w_.log(
                                ts_ + 1,
                                _r.name,
                                "LOG",
                                "startup process (PID 27) exited with exit code 1",
                                pod=p.name,
                            )
                        elif _r.stack == "redis":
                            w_.log(
                                ts_,
                                _r.name,
                                "warning",
                                "1:M # Can't save in background: fork: Cannot allocate memory",
                                pod=p.name,
                            )
                        else:
                            w_.log(
                                ts_,
                                _r.name,
                                "ERROR",
                                f"{_r.stack}: listener stopped: too many open files",
                                pod=p.name,
                            )

                w.extra_log_hooks.append(db_log)
        root.flavour[k0:] = fl
        truth = {"kind": "dependency_failure", "service": root.name}
        innocent_changes(w, excl, int(rng.integers(1, 4)), near_onset=near, onset=onset)
    elif kind == "traffic_surge":
        mult = float(rng.uniform(3, 7))
        onset = onset - rng.uniform(60, 240)
        k0 = w.idx(onset)
        root.rps_mult = 1 + ramp(w, k0, rng.uniform(1, 4)) * (mult - 1)
        # edge itself is over-provisioned, downstream saturates
        root.cpu_headroom = mult * 1.5
        alert_kind = "latency"
        truth = {"kind": "traffic_surge", "service": root.name}
        innocent_changes(w, excl, int(rng.integers(1, 4)), near_onset=near, onset=onset)

        def surge_log(w_, _r=root, _k0=k0):
            p = _r.pods[0]
            for i in range(_k0, w_.T):
                if w_.rng.random() < 0.5:
                    w_.log(
                        w_.t[i] + 1,
                        _r.name,
                        "warn" if _r.stack != "spring" else "WARN",
                        f"rate limiter: client bucket near capacity api_key=pk_live_{w_.rname(6, HEX)} rps={int(_r.rps[i] / 10)}",
                        pod=p.name,
                    )

        w.extra_log_hooks.append(surge_log)
    elif kind == "crash_loop":
        victims = root.pods if rng.random() < 0.6 else root.pods[: max(1, len(root.pods) - 1)]
        oom = rng.random() < 0.6
        for p in victims:
            t = k0 + int(rng.integers(0, max(1, int(60 / w.step))))
            back = 10.0
            p.waiting = np.zeros(w.T, dtype=bool)
            p.oom = oom
            while t < w.T:
                run = max(1, int(rng.uniform(15, 40) / w.step))
                if oom:
                    p.mem_add[t : t + run] = (
                        np.linspace(0.2, 0.45, len(p.mem_add[t : t + run])) * root.mem_limit
                    )
                t += run
                if t >= w.T:
                    break
                p.restart[t] = True
                dn = max(1, int(back / w.step))
                p.up[t : t + dn] = False
                p.waiting[t : t + dn] = True
                ts_ = w.t[t]
                w.event(
                    ts_,
                    root.name,
                    "OOMKilling" if oom else "BackOff",
                    "Warning",
                    f"Memory cgroup out of memory: Killed process {rng.integers(100, 9000)} (java)"
                    if oom
                    else f"Back-off restarting failed container {root.name} in pod {p.name}_{w.ns}",
                    f"pod/{p.name}",
                    count=int(p.restart.sum()),
                )
                if oom:
                    w.event(
                        ts_ + 1,
                        root.name,
                        "OOMKilled",
                        "Warning",
                        f"Container {root.name} in pod {p.name} was OOMKilled (exit code 137)",
                        f"pod/{p.name}",
                    )
                w.event(
                    ts_ + 2,
                    root.name,
                    "BackOff",
                    "Warning",
                    f"Back-off restarting failed container {root.name} in pod {p.name}_{w.ns}({w.rname(8, HEX)})",
                    f"pod/{p.name}",
                    count=int(p.restart.sum()),
                )
                w.log(
                    ts_ + 2,
                    root.name,
                    "warn",
                    f"container {root.name} in pod {p.name} is waiting to start: CrashLoopBackOff",
                    pod=p.name,
                    source="kube-event-exporter",
                )
                if not oom:
                    w.log(
                        ts_ - 1,
                        root.name,
                        "ERROR",
                        f"APPLICATION FAILED TO START: Failed to bind properties under 'spring.datasource.hikari' : {rng.choice(['secret key missing', 'connection string malformed'])}"
                        if root.stack == "spring"
                        else "panic: failed to load TLS keypair: open /etc/secrets/tls.key: no such file or directory",
                        pod=p.name,
                    )
                else:
                    w.log(
                        ts_ - 1,
                        root.name,
                        "ERROR",
                        "java.lang.OutOfMemoryError: Java heap space"
                        if root.stack == "spring"
                        else "fatal error: runtime: out of memory",
                        pod=p.name,
                    )
                t += dn
                back = min(300.0, back * 2)
        w.faults[root.name] = {"own_log": crash_logger}
        root.flavour[k0:] = "unavailable"
        truth = {"kind": "crash_loop", "service": root.name}
        innocent_changes(w, excl, int(rng.integers(1, 4)), near_onset=near, onset=onset)
        if rng.random() < 0.5:
            w.add_alert(
                "KubePodCrashLooping",
                root.name,
                "warning",
                onset + 300,
                f"Pod {w.ns}/{victims[0].name} ({root.name}) is in waiting state (reason: CrashLoopBackOff).",
            )
    elif kind == "certificate_expiry":
        exp = onset
        root.cert_expiry = exp
        root.probe = True
        root.down = (np.arange(w.T) >= k0) * float(rng.uniform(0.6, 1.0))
        root.probe_fail = (np.arange(w.T) >= k0) * 1.0
        root.flavour[k0:] = "tls"
        variant = int(rng.integers(0, 3))
        if variant == 0:

            def cm(w_, _r=root, _e=exp):
                w_.add_series(
                    "certmanager_certificate_expiration_timestamp_seconds",
                    {
                        "job": "cert-manager",
                        "name": f"{_r.name}-tls",
                        "exported_namespace": w_.ns,
                        "issuer_name": "internal-ca",
                        "issuer_kind": "ClusterIssuer",
                        "namespace": "cert-manager",
                    },
                    np.full(w_.T, float(int(_e))),
                    fmt="i",
                )
                w_.add_series(
                    "certmanager_certificate_ready_status",
                    {
                        "job": "cert-manager",
                        "name": f"{_r.name}-tls",
                        "exported_namespace": w_.ns,
                        "condition": "False",
                        "namespace": "cert-manager",
                    },
                    np.ones(w_.T),
                    fmt="i",
                )
                for o in w_.svcs.values():
                    if o.role in ("mid", "edge") and o is not _r and w_.rng.random() < 0.5:
                        w_.add_series(
                            "certmanager_certificate_expiration_timestamp_seconds",
                            {
                                "job": "cert-manager",
                                "name": f"{o.name}-tls",
                                "exported_namespace": w_.ns,
                                "issuer_name": "internal-ca",
                                "issuer_kind": "ClusterIssuer",
                                "namespace": "cert-manager",
                            },
                            np.full(w_.T, float(int(w_.t_alert + w_.rng.uniform(5, 60) * 86400))),
                            fmt="i",
                        )

            w.extra_metric_hooks.append(cm)
        elif variant == 1:

            def days(w_, _r=root, _e=exp):
                for o in w_.svcs.values():
                    if o.role in ("mid", "edge"):
                        e = _e if o is _r else w_.t_alert + w_.rng.uniform(3, 90) * 86400
                        w_.add_series(
                            "tls_cert_days_remaining",
                            {
                                w_.key: o.name,
                                "namespace": w_.ns,
                                "cn": f"{o.name}.{w_.app['domain']}",
                            },
                            np.floor((e - w_.t) / 86400.0 * 100) / 100,
                            fmt="g",
                        )

            w.extra_metric_hooks.append(days)
        # variant 2: only blackbox probe_ssl_earliest_cert_expiry (emitted via root.probe)

        def tls_server_log(w_, s, p, style, ts_, i):
            if style == "go":
                w_.go_log(
                    s,
                    p,
                    ts_,
                    "error",
                    "http: TLS handshake error",
                    err=f"from 10.{w_.rng.integers(0, 255)}.{w_.rng.integers(0, 255)}.{w_.rng.integers(0, 255)}:{w_.rng.integers(30000, 60000)}: remote error: tls: bad certificate",
                )
            elif style == "java":
                w_.java_log(
                    s,
                    p,
                    ts_,
                    "WARN",
                    "org.apache.tomcat.util.net.NioEndpoint",
                    "Handshake failed during wrap: javax.net.ssl.SSLHandshakeException: Received fatal alert: certificate_expired",
                )
            else:
                w_.log(
                    ts_, s.name, "warning", "TLS handshake failed: certificate_expired", pod=p.name
                )

        w.faults[root.name] = {"own_log": tls_server_log}
        truth = {"kind": "certificate_expiry", "service": root.name}
        innocent_changes(w, excl, int(rng.integers(1, 4)), near_onset=near, onset=onset)
        if root.role == "edge":
            w.add_alert(
                "BlackboxProbeFailed",
                root.name,
                "critical",
                onset + 90,
                f"Probe https://{root.name}.{w.app['domain']}/healthz failed",
            )
    elif kind == "network":
        lat = float(rng.uniform(0.15, 0.8))
        root.lat_add = ramp(w, k0, 0.5) * lat
        root.flavour[k0:] = "timeout"
        node = root.pods[0].node
        w.node_drops = {node: ramp(w, k0, 0.5) * rng.uniform(20, 200)}
        w.node_retrans = {node: ramp(w, k0, 0.5) * rng.uniform(50, 400)}
        # some timeouts in callers
        for _c in w.callers_of(root.name):
            pass
        root.down = ramp(w, k0, 0.5) * float(rng.uniform(0.02, 0.1))

        def cadv_net(w_, _r=root, _k0=k0):
            for p in _r.pods:
                lab = {w_.key: _r.name, "namespace": w_.ns, "pod": p.name, "interface": "eth0"}
                dr = ramp(w_, _k0, 0.5) * w_.rng.uniform(10, 80) + 0.02
                if w_.mode == "raw":
                    w_.add_series(
                        "container_network_transmit_packets_dropped_total",
                        lab,
                        w_.counter(w_.poisson(dr * w_.step), start=0),
                        w_.alive(p),
                        fmt="i",
                    )
                else:
                    w_.add_series(
                        "pod:container_network_transmit_packets_dropped:rate5m",
                        lab,
                        w_.rate5m(dr),
                        w_.alive(p),
                    )
            for o in w_.svcs.values():
                if o is _r or o.role == "ext":
                    continue
                for p in o.pods[:1]:
                    lab = {w_.key: o.name, "namespace": w_.ns, "pod": p.name, "interface": "eth0"}
                    if w_.mode == "raw":
                        w_.add_series(
                            "container_network_transmit_packets_dropped_total",
                            lab,
                            w_.counter(w_.poisson(np.full(w_.T, 0.02 * w_.step)), start=0),
                            w_.alive(p),
                            fmt="i",
                        )
                    else:
                        w_.add_series(
                            "pod:container_network_transmit_packets_dropped:rate5m",
                            lab,
                            w_.rate5m(w_.rng.uniform(0, 0.04, w_.T)),
                            w_.alive(p),
                        )

        w.extra_metric_hooks.append(cadv_net)
        alert_kind = "latency"
        truth = {"kind": "network", "service": root.name}
        innocent_changes(w, excl, int(rng.integers(1, 4)), near_onset=near, onset=onset)
    else:  # unknown
        cands = [s for s in w.svcs.values() if s.role in ("mid", "edge")]
        a = cands[rng.integers(len(cands))]
        for p in a.pods:
            blip = np.zeros(w.T)
            k1 = w.idx(onset)
            blip[k1 : k1 + max(1, int(180 / w.step))] = 1
            p.lat_mult = 1 + blip * float(rng.uniform(0.5, 1.5))
        innocent_changes(w, [], int(rng.integers(1, 4)))
        alert_kind = str(rng.choice(["latency", "errors"]))
        truth = {"kind": "unknown", "service": a.name}
        focus = symptom_alert(w, a.name, alert_kind, w.t_alert)
        flappy_alerts(w)
        finish(w, d, bid, f"{w.app_key}: {a.name} alert", focus, truth)
        return True
    asvc = pick_alert_service(w, root.name)
    if asvc == root.name and kind == "traffic_surge":
        asvc = root.name
    focus = symptom_alert(w, asvc, alert_kind, w.t_alert)
    flappy_alerts(w)
    finish(w, d, bid, f"{w.app_key}: {kind} on {root.name} (alert on {asvc})", focus, truth)
    return True


def scenario_B(rng, d, bid):
    for attempt in range(4):
        w = new_world(rng, force_step=60 if attempt else None, n_lo=6, n_hi=10)
        w.buckets = attempt < 2
        build_B(w, rng, d, bid)
        if dir_size(d) < 2.0e6:
            return


def build_B(w, rng, d, bid):
    w.version_label = str(rng.choice(["version", "version", "revision", "canary"]))
    mids = [s for s in w.svcs.values() if s.role == "mid"]
    cands = list(mids) + ([w.edge()] if rng.random() < 0.3 else [])
    n = int(min(len(cands), rng.integers(2, 5)))
    chosen = [cands[i] for i in rng.choice(len(cands), n, replace=False)]
    bad_i = int(rng.integers(n))
    times = sorted(w.t_alert - rng.uniform(4, 35, n) * 60)
    rng.shuffle(times)
    cids = []
    bad = None
    for j, s in enumerate(chosen):
        pv = s.version
        nv = bump_version(pv, rng, major=rng.random() < 0.4)
        weight = float(rng.choice([0.1, 0.2, 0.25, 0.33]))
        newp = w.rollout(s.name, times[j], nv, canary_weight=weight)
        cid = w.add_change(
            times[j],
            s.name,
            "deploy",
            f"Canary {s.name} {nv} at {int(weight * 100)}% (argo-rollouts step 1/4)",
            version=nv,
            previous_version=pv,
            author=str(rng.choice(["argo-rollouts", "ci-bot"])),
            url=f"https://argo.{w.app['domain']}/rollouts/{w.ns}/{s.name}",
        )
        cids.append(cid)
        if j == bad_i:
            bad = (s, cid, newp)
        elif rng.random() < 0.5:
            for p in newp:  # harmless: a little more CPU
                p.cpu_add = np.full(w.T, s.cpu_idle * float(rng.uniform(0.1, 0.5)))
    s, cid, newp = bad
    latency = rng.random() < 0.5
    # aggregate effect 10-30%: canary share ~ weight
    k0 = newp[0].birth
    wshare = newp[0].weight / (
        newp[0].weight + len([p for p in s.pods if not p.canary and p.death > k0])
    )
    target = float(rng.uniform(0.1, 0.3))
    for p in newp:
        if latency:
            p.lat_mult = np.full(w.T, 1 + target / wshare)
        else:
            p.err_add = np.full(w.T, float(rng.uniform(0.02, 0.07)))
    w.faults[s.name] = {
        "own_log": bug_logger(w, s),
    }
    s.own_fault_pods = [p.name for p in newp]
    s.code = 500
    # distractors: node CPU shift on a node, innocent config
    w.node_extra = {
        w.nodes[int(rng.integers(len(w.nodes)))]: (
            np.arange(w.T) > w.idx(w.t_alert - rng.uniform(5, 30) * 60)
        )
        * float(rng.uniform(0.5, 1.5))
    }
    if rng.random() < 0.6:
        innocent_changes(w, [c.name for c in chosen], int(rng.integers(1, 3)))
    asvc = pick_alert_service(w, s.name, p_root=0.1)
    focus = symptom_alert(w, asvc, "latency" if latency else "errors", w.t_alert)
    flappy_alerts(w)
    finish(
        w,
        d,
        bid,
        f"{w.app_key}: {n} canaries in flight, alert on {asvc}",
        focus,
        {"kind": "deploy", "service": s.name, "change_id": cid},
    )


def scenario_C(rng, kind, d, bid):
    for attempt in range(4):
        w = new_world(rng, force_step=60 if attempt else None, n_lo=7, n_hi=11)
        w.buckets = attempt < 2
        build_C(w, rng, kind, d, bid)
        if dir_size(d) < 2.0e6:
            return


def build_C(w, rng, kind, d, bid):
    delay = float(rng.uniform(60, 240))
    onset = w.t_alert - delay
    k0 = w.idx(onset)
    mids = [s for s in w.svcs.values() if s.role == "mid"]
    root = mids[rng.integers(len(mids))]
    one_pod = rng.random() < 0.5
    pods = root.pods[:1] if one_pod else root.pods
    root.own_fault_pods = [p.name for p in pods]
    alert_kind = "errors"
    tkind = "unknown"
    if kind == "exception":
        for p in pods:
            p.err_add = (np.arange(w.T) >= k0) * float(rng.uniform(0.15, 0.6))
        w.faults[root.name] = {"own_log": bug_logger(w, root)}
        root.code = 500
    elif kind == "wrong_return":
        # no exceptions in root; callers fail parsing / validating its answers
        callers = w.callers_of(root.name)
        frac = float(rng.uniform(0.1, 0.4)) * len(pods) / len(root.pods)
        root.flavour[k0:] = "badpayload"
        biz = rng.choice(
            [
                ("checkout_orders_total", "result"),
                ("quotes_issued_total", "outcome"),
                ("bookings_confirmed_total", "status"),
            ]
        )

        def callers_parse(w_, _r=root, _k0=k0, _frac=frac, _c=callers):
            for cname in _c:
                c = w_.svcs[cname]
                style = {"spring": "java", "gootel": "go", "goprom": "go", "python": "py"}.get(
                    c.stack, "go"
                )
                for i in range(_k0, w_.T):
                    n_ = w_.rng.poisson(min(8, _frac * c.rps[i] * w_.step * 0.02))
                    for _ in range(n_):
                        p = c.pods[w_.rng.integers(len(c.pods))]
                        ts_ = w_.t[i] + w_.rng.uniform(0, w_.step)
                        if style == "java":
                            w_.java_log(
                                c,
                                p,
                                ts_,
                                "ERROR",
                                f"{w_.app['pkg']}.{c.name.split('-')[0]}.client.{camel(_r.name)}Client",
                                f'Failed to read response from {_r.name}: JSON parse error: Cannot deserialize value of type `java.math.BigDecimal` from String "NaN"',
                                stack=w_.java_stack(
                                    c,
                                    'com.fasterxml.jackson.databind.exc.InvalidFormatException: Cannot deserialize value of type `java.math.BigDecimal` from String "NaN": not a valid representation',
                                    short=True,
                                ),
                            )
                        elif style == "go":
                            w_.go_log(
                                c,
                                p,
                                ts_,
                                "error",
                                "invalid response from upstream",
                                upstream=_r.name,
                                err="validation failed: amount must be >= 0",
                            )
                        else:
                            w_.py_log(
                                c,
                                p,
                                ts_,
                                "error",
                                f'response_validation_failed upstream={_r.name} error="1 validation error for Quote: total: Input should be greater than or equal to 0"',
                            )

        def parse_log(w_, c, p, style, ts_, i, _r=root):
            if style == "java":
                w_.java_log(
                    c,
                    p,
                    ts_,
                    "ERROR",
                    f"{w_.app['pkg']}.{c.name.split('-')[0]}.client.{camel(_r.name)}Client",
                    f'Failed to read response from {_r.name}: JSON parse error: Cannot deserialize value of type `java.math.BigDecimal` from String "NaN"',
                    stack=w_.java_stack(
                        c,
                        'com.fasterxml.jackson.databind.exc.InvalidFormatException: Cannot deserialize value of type `java.math.BigDecimal` from String "NaN": not a valid representation',
                        short=True,
                    ),
                )
            elif style == "go":
                w_.go_log(
                    c,
                    p,
                    ts_,
                    "error",
                    "invalid response from upstream",
                    upstream=_r.name,
                    err="validation failed: amount must be >= 0",
                )
            else:
                w_.py_log(
                    c,
                    p,
                    ts_,
                    "error",
                    f'response_validation_failed upstream={_r.name} error="1 validation error for Quote: total: Input should be greater than or equal to 0"',
                )

        for cname in callers:
            c = w.svcs[cname]
            w.faults[cname] = {"own_log": parse_log}
            for p in c.pods:
                p.err_add = (np.arange(w.T) >= k0) * frac * 0.6

        def biz_metric(w_, _r=root, _k0=k0, _frac=frac, _b=biz):
            e = w_.edge()
            for res, share in (("success", 0.97), ("rejected", 0.03)):
                sh = np.full(w_.T, share)
                if res == "success":
                    sh[_k0:] = share - _frac * 0.7
                else:
                    sh[_k0:] = share + _frac * 0.7
                v = e.rps * 0.05 * sh
                if w_.mode == "raw":
                    w_.add_series(
                        _b[0],
                        {w_.key: e.name, "namespace": w_.ns, _b[1]: res},
                        w_.counter(w_.poisson(v * w_.step)),
                        fmt="i",
                    )
                else:
                    w_.add_series(
                        _b[0].replace("_total", ":rate5m"),
                        {w_.key: e.name, "namespace": w_.ns, _b[1]: res},
                        w_.rate5m(v),
                    )

        w.extra_metric_hooks.append(biz_metric)
    elif kind == "net_delay":
        root.lat_add = (np.arange(w.T) >= k0) * float(rng.uniform(0.1, 0.5))
        for p in pods:
            p.lat_mult = 1 + (np.arange(w.T) >= k0) * float(rng.uniform(1.5, 4))
        root.flavour[k0:] = "timeout"
        root.down = (np.arange(w.T) >= k0) * 0.02
        alert_kind = "latency"
        tkind = "network"
    elif kind == "cpu_contention":
        p = root.pods[0]
        root.own_fault_pods = [p.name]
        p.cpu_add = ramp(w, k0, 1) * root.cpu_limit * float(rng.uniform(1.0, 1.8))
        w.faults[root.name] = {
            "own_log": lambda w_, s, pp, style, ts_, i: (
                w_.go_log(
                    s, pp, ts_, "warn", "slow request", duration=f"{w_.rng.uniform(1, 5):.2f}s"
                )
                if style != "java"
                else w_.java_log(
                    s,
                    pp,
                    ts_,
                    "WARN",
                    "com.zaxxer.hikari.pool.HikariPool",
                    "HikariPool-1 - Thread starvation or clock leap detected",
                )
            )
        }
        alert_kind = "latency"
        tkind = "resource_saturation"
    innocent_changes(w, [root.name], int(rng.integers(0, 3)))
    asvc = pick_alert_service(w, root.name, p_root=0.0, p_mid=0.2)
    focus = symptom_alert(w, asvc, alert_kind, w.t_alert)
    flappy_alerts(w)
    finish(
        w,
        d,
        bid,
        f"{w.app_key}: code-level fault ({kind}) alert on {asvc}",
        focus,
        {"kind": tkind, "service": root.name, "match": "service"},
    )


KINDS_A = [
    "deploy",
    "config_change",
    "resource_saturation",
    "dependency_failure",
    "traffic_surge",
    "crash_loop",
    "certificate_expiry",
    "network",
    "unknown",
]
KINDS_C = ["exception", "wrong_return", "net_delay", "cpu_contention"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/tmp/indep")
    ap.add_argument("--seed", type=int, default=20250611)
    ap.add_argument("--families", default="ABC")
    ap.add_argument("--only", default=None)
    a = ap.parse_args()
    if "A" in a.families:
        for k_i, kind in enumerate(KINDS_A):
            for r in range(3):
                bid = f"A-{kind}-{r}"
                if a.only and a.only != bid:
                    continue
                rng = np.random.default_rng([a.seed, 1, k_i, r])
                d = os.path.join(a.out, "A", bid)
                scenario_A(rng, kind, d, bid)
                print(bid, dir_size(d))
    if "B" in a.families:
        for r in range(27):
            bid = f"B-canary-{r:02d}"
            if a.only and a.only != bid:
                continue
            rng = np.random.default_rng([a.seed, 2, r])
            d = os.path.join(a.out, "B", bid)
            scenario_B(rng, d, bid)
            print(bid, dir_size(d))
    if "C" in a.families:
        for k_i, kind in enumerate(KINDS_C):
            for r in range(7):
                bid = f"C-{kind}-{r}"
                if a.only and a.only != bid:
                    continue
                rng = np.random.default_rng([a.seed, 3, k_i, r])
                d = os.path.join(a.out, "C", bid)
                scenario_C(rng, kind, d, bid)
                print(bid, dir_size(d))


if __name__ == "__main__":
    main()
