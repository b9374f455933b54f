#!/usr/bin/env python3
"""Synthetic incident bundles (bundle v1) during progressive delivery (canary / gray releases).

Domain: "Grubly", a food-delivery platform on Kubernetes with Argo Rollouts / Flagger canaries.
40 incidents: 24 defective in-flight canaries, 8 innocent-bystander incidents, 8 caused by a
completed rollout or a config/flag change.  Standard library + PyYAML only.
"""

import argparse
import hashlib
import json
import math
import os
import random
import shutil
from datetime import UTC, datetime, timedelta

import yaml

NS = "grubly-prod"

# ---------------------------------------------------------------- topology
APPS = {
    # name: (depends_on [(dep, coupling)], base_rps, base_p99_ms, pods, cpu_per_req_ms, mem_mb)
    "edge-gateway": ([("web-bff", 0.45), ("mobile-bff", 0.55)], 900, 180, 6, 1.2, 300),
    "web-bff": (
        [
            ("order-api", 0.25),
            ("menu-service", 0.5),
            ("search-service", 0.3),
            ("user-service", 0.4),
            ("cart-service", 0.3),
        ],
        400,
        160,
        4,
        2.0,
        420,
    ),
    "mobile-bff": (
        [
            ("order-api", 0.3),
            ("menu-service", 0.5),
            ("search-service", 0.35),
            ("user-service", 0.4),
            ("cart-service", 0.3),
            ("promo-service", 0.2),
        ],
        500,
        150,
        5,
        2.0,
        420,
    ),
    "order-api": (
        [
            ("cart-service", 0.6),
            ("payment-service", 0.5),
            ("pricing-service", 0.7),
            ("dispatch-service", 0.4),
            ("orders-db", 1.0),
            ("kafka", 0.5),
            ("redis-cache", 0.6),
        ],
        260,
        240,
        5,
        4.0,
        700,
    ),
    "cart-service": (
        [("pricing-service", 0.7), ("menu-service", 0.3), ("redis-cache", 1.0)],
        300,
        90,
        4,
        2.5,
        380,
    ),
    "menu-service": ([("restaurant-service", 0.6), ("catalog-db", 0.5)], 600, 70, 5, 1.5, 520),
    "search-service": ([("restaurant-service", 0.3), ("search-index", 1.0)], 330, 140, 4, 6.0, 900),
    "restaurant-service": ([("catalog-db", 0.7), ("redis-cache", 0.6)], 520, 45, 4, 1.2, 350),
    "user-service": ([("users-db", 0.6), ("redis-cache", 0.8)], 380, 40, 3, 1.0, 300),
    "payment-service": (
        [("fraud-service", 0.9), ("payment-gateway", 1.0), ("payments-db", 1.0)],
        90,
        420,
        3,
        5.0,
        650,
    ),
    "payment-gateway": ([("stripe-api", 1.0)], 85, 350, 3, 2.0, 280),
    "fraud-service": ([("feature-store", 1.0)], 95, 80, 3, 8.0, 1100),
    "pricing-service": ([("promo-service", 0.6), ("redis-cache", 0.8)], 420, 35, 4, 1.8, 400),
    "promo-service": ([("catalog-db", 0.5)], 330, 30, 3, 1.0, 260),
    "dispatch-service": (
        [("courier-location", 1.0), ("eta-service", 0.8), ("kafka", 0.7)],
        110,
        120,
        3,
        3.0,
        480,
    ),
    "eta-service": ([("courier-location", 0.6), ("maps-api", 0.7)], 160, 200, 3, 4.0, 600),
    "courier-location": ([("redis-cache", 1.0)], 700, 15, 4, 0.6, 240),
    "notification-service": ([("kafka", 1.0), ("twilio-api", 0.4)], 60, 90, 2, 1.5, 260),
    "feature-store": ([("redis-cache", 1.0)], 240, 12, 3, 0.8, 520),
}
INFRA = {
    "orders-db": 6,
    "catalog-db": 4,
    "users-db": 3,
    "payments-db": 5,
    "redis-cache": 1.2,
    "kafka": 4,
    "search-index": 25,
}
EXTERNAL = {"stripe-api": 250, "maps-api": 150, "twilio-api": 120}
ALLDEPS = {
    **{k: [d for d, _ in v[0]] for k, v in APPS.items()},
    **{k: [] for k in INFRA},
    **{k: [] for k in EXTERNAL},
}


def topo_order():
    seen, out = set(), []

    def visit(n):
        if n in seen:
            return
        seen.add(n)
        for d in ALLDEPS[n]:
            visit(d)
        out.append(n)

    for n in ALLDEPS:
        visit(n)
    return out


TOPO = topo_order()


def callers_of(svc):
    return [a for a, v in APPS.items() if svc in [d for d, _ in v[0]]]


def ancestors(svc):
    out, stack = set(), [svc]
    while stack:
        n = stack.pop()
        for c in callers_of(n):
            if c not in out:
                out.add(c)
                stack.append(c)
    return out


# ---------------------------------------------------------------- helpers
def iso(ts):
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_ms(ts):
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % int(
        (ts % 1) * 1000
    )


def hhmm(ts):
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%H:%M")


def rhash(rng, n=10, alphabet="bcdfghjklmnpqrstvwxz2456789"):
    return "".join(rng.choice(alphabet) for _ in range(n))


def smooth(x, a, b):
    """0 before a, linear ramp to 1 at b."""
    if x <= a:
        return 0.0
    if x >= b:
        return 1.0
    return (x - a) / (b - a)


def bump_version(v, rng, kind="minor"):
    major, minor, patch = [int(p) for p in v.split(".")]
    if kind == "patch":
        return f"{major}.{minor}.{patch + 1}"
    return f"{major}.{minor + 1}.0"


def matrix(series):
    return {"status": "success", "data": {"resultType": "matrix", "result": series}}


def fmt(v):
    if v != v or v is None:
        return "NaN"
    if abs(v) >= 1000:
        return "%.1f" % v
    return "%.4g" % v


# ---------------------------------------------------------------- scenario plan
CANARY_MODES = [
    "errors",
    "latency",
    "functional",
    "crash",
    "errors",
    "cpu",
    "latency",
    "functional",
    "errors",
    "memleak",
    "latency",
    "errors",
    "functional",
    "crash",
    "errors",
    "latency",
    "cpu",
    "errors",
    "functional",
    "latency",
    "errors",
    "memleak",
    "errors",
    "latency",
]
INNOCENT = [
    ("db_slow", "orders-db"),
    ("dependency", "stripe-api"),
    ("surge", "mobile-bff"),
    ("network", "redis-cache"),
    ("db_slow", "payments-db"),
    ("dependency", "maps-api"),
    ("surge", "web-bff"),
    ("redis_sat", "redis-cache"),
]
COMPLETED = [
    ("rollout_errors", None),
    ("config_pool", "order-api"),
    ("rollout_latency", None),
    ("flag", "pricing-service"),
    ("rollout_memleak", None),
    ("config_ratelimit", "edge-gateway"),
    ("rollout_functional", None),
    ("config_cache_ttl", "search-service"),
]
VOCABS = ["istio", "micrometer", "otel", "podonly"]

DEEP_POOL = [
    "pricing-service",
    "promo-service",
    "restaurant-service",
    "courier-location",
    "feature-store",
    "fraud-service",
    "payment-gateway",
    "eta-service",
    "cart-service",
    "menu-service",
    "user-service",
    "dispatch-service",
    "search-service",
    "payment-service",
    "order-api",
    "mobile-bff",
    "web-bff",
]


class Incident:
    pass


AUTHORS = [
    "a.kowalski",
    "m.osei",
    "j.tanaka",
    "r.fernandes",
    "s.ivanova",
    "d.mbeki",
    "l.chen",
    "p.nair",
    "argo-rollouts[bot]",
    "flux[bot]",
    "k.schmidt",
    "t.oduya",
]

BUG_MSGS = {
    "errors": ("NullPointerException in {cls}.handle: cannot read field 'restaurantId'", "error"),
    "functional": None,
}


def build_plan(rng):
    plan = []
    for i, m in enumerate(CANARY_MODES):
        plan.append(("canary", m, None))
    for k, s in INNOCENT:
        plan.append(("innocent", k, s))
    for k, s in COMPLETED:
        plan.append(("completed", k, s))
    rng.shuffle(plan)
    return plan


# ---------------------------------------------------------------- generator core
class Gen:
    def __init__(self, idx, cat, mode, svc_hint, rng, out):
        self.idx, self.cat, self.mode, self.svc_hint, self.rng, self.out = (
            idx,
            cat,
            mode,
            svc_hint,
            rng,
            out,
        )
        self.bid = "canary-%02d" % (idx + 1)
        self.vocab = VOCABS[idx % 4] if idx % 7 != 3 else VOCABS[(idx + 1) % 4]
        self.step = 30 if rng.random() < 0.5 else 60
        day = datetime(2026, 10, 1, tzinfo=UTC) + timedelta(days=idx * 1.37 + rng.random())
        onset = int(day.timestamp())
        onset = onset - onset % 60 + rng.choice([0, 15, 30, 45])
        self.onset = onset
        self.start = onset - 40 * 60 - rng.randint(0, 4) * 60
        self.start -= self.start % self.step
        self.end = onset + 15 * 60 + rng.randint(0, 3) * 60
        self.ts = list(range(self.start, self.end + 1, self.step))
        self.changes = []
        self.inflight = []  # dicts: svc, weight, start, stable_v, canary_v, change_id, hs, hc, defective
        self.completed = {}  # svc -> dict(start, dur, prev, new, hp, hn)
        self.versions = {
            s: "%d.%d.%d" % (rng.randint(1, 6), rng.randint(0, 40), rng.randint(0, 12))
            for s in APPS
        }
        self.hashes = {s: rhash(rng, 10) for s in APPS}
        self.notes = []
        self.effects = []  # callables

    # ---------------- change feed
    def new_change_id(self):
        style = self.idx % 3
        h = hashlib.sha1(f"{self.bid}-{len(self.changes)}-{self.rng.random()}".encode()).hexdigest()
        if style == 0:
            return "chg-" + h[:8]
        if style == 1:
            return "CHG-%d" % (
                40000 + self.idx * 50 + len(self.changes) * 3 + self.rng.randint(0, 2)
            )
        return "deploy-" + h[:12]

    def add_change(self, ts, svc, kind, summary, version=None, prev=None, author=None, extra=None):
        cid = self.new_change_id()
        c = {"id": cid, "ts": iso(ts), "service": svc, "kind": kind, "summary": summary}
        if version:
            c["version"] = version
        if prev:
            c["previous_version"] = prev
        c["author"] = author or self.rng.choice(AUTHORS)
        if kind == "deploy":
            c["url"] = f"https://argocd.grubly.internal/applications/{svc}?rev={version or ''}"
        elif kind in ("config", "flag"):
            c["url"] = (
                f"https://github.com/grubly/platform-config/pull/{self.rng.randint(2000, 9000)}"
            )
        if extra:
            c.update(extra)
        self.changes.append(c)
        return cid

    def add_canary(self, svc, weight, start, defective=False, tool=None):
        rng = self.rng
        stable = self.versions[svc]
        canary_v = bump_version(stable, rng, rng.choice(["minor", "patch", "patch"]))
        hc = rhash(rng, 10)
        tool = tool or rng.choice(["argo", "argo", "flagger"])
        if tool == "argo":
            summ = (
                f"Argo Rollout {svc}: canary {canary_v} at {int(weight * 100)}% weight "
                f"(step {rng.randint(1, 3)}/5, pause), stable {stable}; canary ReplicaSet {svc}-{hc}"
            )
        else:
            summ = (
                f"Flagger canary {NS}/{svc} advancing {stable} -> {canary_v}: traffic weight {int(weight * 100)}%, "
                f"analysis in progress (primary {svc}-primary)"
            )
        feature = rng.choice(
            [
                "refactor request validation",
                "upgrade grpc-java 1.62",
                "new caching layer for lookups",
                "bump base image to distroless-2026.09",
                "migrate to new metrics client",
                "batching of downstream calls",
                "rework retry policy",
                "add regional pricing rules",
                "switch JSON codec to jackson 2.18",
                "feature: scheduled orders",
                "dependency bumps (renovate)",
            ]
        )
        summ += f" — {feature}"
        cid = self.add_change(
            start, svc, "deploy", summ, canary_v, stable, author=rng.choice(AUTHORS[:8])
        )
        c = dict(
            svc=svc,
            weight=weight,
            start=start,
            stable_v=stable,
            canary_v=canary_v,
            change_id=cid,
            hs=self.hashes[svc],
            hc=hc,
            defective=defective,
            tool=tool,
        )
        self.inflight.append(c)
        return c

    def add_completed(self, svc, start, dur, note=None):
        rng = self.rng
        prev = self.versions[svc]
        new = bump_version(prev, rng, rng.choice(["minor", "patch"]))
        hn = rhash(rng, 10)
        kind = rng.choice(["argo", "rolling"])
        if kind == "argo":
            summ = (
                f"Argo Rollout {svc} {prev} -> {new} fully promoted (100%), canary analysis passed"
            )
        else:
            summ = f"Rolling update of deployment {svc} to {new} (maxSurge 25%), completed"
        if note:
            summ += f" — {note}"
        cid = self.add_change(start, svc, "deploy", summ, new, prev)
        self.completed[svc] = dict(
            start=start, dur=dur, prev=prev, new=new, hp=self.hashes[svc], hn=hn, change_id=cid
        )
        return cid

    # ---------------- version shares
    def version_shares(self, svc, t):
        """list of (version, hash, share)"""
        out = []
        comp = self.completed.get(svc)
        if comp:
            f = smooth(t, comp["start"], comp["start"] + comp["dur"])
            if f < 1:
                out.append((comp["prev"], comp["hp"], 1 - f))
            if f > 0:
                out.append((comp["new"], comp["hn"], f))
        else:
            out.append((self.versions[svc], self.hashes[svc], 1.0))
        for c in self.inflight:
            if c["svc"] == svc and t >= c["start"]:
                w = c["weight"] * smooth(t, c["start"], c["start"] + 60)
                out = [(v, h, s * (1 - w)) for v, h, s in out]
                out.append((c["canary_v"], c["hc"], w))
        return out

    def current_stable(self, svc):
        comp = self.completed.get(svc)
        return (comp["new"], comp["hn"]) if comp else (self.versions[svc], self.hashes[svc])

    # ---------------- simulation
    def simulate(self):
        rng = self.rng
        T = len(self.ts)
        self.sim = {}  # (svc, version) -> dict of lists
        self.svc_sim = {}
        self.infra_sim = {}
        noise_err = {s: rng.uniform(0.0005, 0.004) for s in APPS}
        noisy = rng.sample(list(APPS), 2)  # services with bursty baseline error noise
        rps_scale = rng.uniform(0.6, 1.4)
        diurnal = rng.uniform(-0.25, 0.25)
        ar = dict.fromkeys(ALLDEPS, 0.0)
        for ti, t in enumerate(self.ts):
            frac = (t - self.start) / max(1, self.end - self.start)
            eff_err, eff_lat = {}, {}
            for n in TOPO:
                ar[n] = ar[n] * 0.7 + rng.gauss(0, 0.03)
                if n in INFRA or n in EXTERNAL:
                    base = INFRA.get(n) or EXTERNAL.get(n)
                    lat = base * (1 + abs(ar[n]) + rng.gauss(0, 0.04))
                    err = rng.uniform(0, 0.0008)
                    st = dict(lat=lat, err=err, extra={})
                    for e in self.effects:
                        e(n, None, t, st)
                    eff_err[n], eff_lat[n] = min(1, st["err"]), st["lat"]
                    self.infra_sim.setdefault(n, []).append(st)
                    continue
                deps, base_rps, base_p99, pods, cpu_req, mem = APPS[n]
                rps_tot = (
                    base_rps
                    * rps_scale
                    * (1 + diurnal * frac)
                    * (1 + ar[n] * 0.5 + rng.gauss(0, 0.02))
                )
                sst = dict(rps_mul=1.0)
                for e in self.effects:
                    e(n, "__svc__", t, sst)
                rps_tot *= sst["rps_mul"]
                dep_err = 0.0
                dep_lat = 0.0
                dep_bug = 0.0
                for d, cpl in deps:
                    dep_err += cpl * eff_err[d] * 0.85
                    base_d = APPS[d][2] if d in APPS else (INFRA.get(d) or EXTERNAL.get(d))
                    dep_lat += cpl * max(0.0, eff_lat[d] - base_d) * 0.9
                    if d in APPS:
                        dep_bug += cpl * self.svc_sim[d]["bug"][-1]
                shares = self.version_shares(n, t)
                agg_err = agg_lat_w = 0.0
                agg_bug = 0.0
                ver_states = []
                for v, h, sh in shares:
                    npods = max(1, round(pods * sh)) if sh < 0.999 else pods
                    if sh < 0.999 and any(
                        c["svc"] == n and c["canary_v"] == v for c in self.inflight
                    ):
                        npods = max(1, math.ceil(pods * sh))
                    rps_v = rps_tot * sh
                    burst = 0.0
                    if n in noisy and rng.random() < 0.06:
                        burst = rng.uniform(0.005, 0.03)
                    own_err = noise_err[n] * (1 + rng.gauss(0, 0.3)) + burst
                    util = (rps_v / npods) * cpu_req / 1000.0 / 1.0  # cores per pod vs 1-core limit
                    st = dict(
                        err=max(0.0, own_err),
                        lat_mul=1.0,
                        lat_add=0.0,
                        cpu_mul=1.0,
                        mem_add=0.0,
                        bug=0.0,
                        c4xx=0.0,
                        restarts=0.0,
                        util=util,
                        rps=rps_v,
                        npods=npods,
                        hash=h,
                    )
                    for e in self.effects:
                        e(n, v, t, st)
                    util = st["util"] * st["cpu_mul"]
                    sat = max(0.0, util - 0.72) * 9
                    lat = (
                        base_p99
                        * (1 + rng.gauss(0, 0.05) + abs(ar[n]) * 0.5)
                        * st["lat_mul"]
                        * (1 + sat)
                        + st["lat_add"]
                        + dep_lat
                    )
                    err = st["err"] + dep_err + dep_bug * 0.9 + max(0.0, sat - 1.5) * 0.02
                    err = min(1.0, max(0.0, err))
                    st.update(lat=lat, err_tot=err, cpu=util * (1 + rng.gauss(0, 0.04)), share=sh)
                    ver_states.append((v, st))
                    agg_err += sh * err
                    agg_lat_w += sh * lat
                    agg_bug += sh * st["bug"]
                    self.sim.setdefault((n, v), {})[t] = st
                eff_err[n] = agg_err
                # p99 of a mixture: dominated by the slow version when its share > 1%
                mix = max(
                    (st["lat"] for v, st in ver_states if st["share"] > 0.012), default=agg_lat_w
                )
                eff_lat[n] = agg_lat_w + (mix - agg_lat_w) * 0.6
                ss = self.svc_sim.setdefault(n, {"rps": [], "err": [], "lat": [], "bug": []})
                ss["rps"].append(rps_tot)
                ss["err"].append(agg_err)
                ss["lat"].append(eff_lat[n])
                ss["bug"].append(agg_bug)

    # ---------------- series writers
    def drop_gaps(self, values, p=0.0):
        if p <= 0:
            return values
        out = []
        gap = 0
        for v in values:
            if gap > 0:
                gap -= 1
                continue
            if self.rng.random() < p:
                gap = self.rng.randint(1, 4)
                continue
            out.append(v)
        return out

    def pods_for(self, svc, v, h, npods):
        key = (svc, h)
        if not hasattr(self, "_pods"):
            self._pods = {}
        lst = self._pods.setdefault(key, [])
        while len(lst) < npods:
            lst.append(f"{svc}-{h}-{rhash(self.rng, 5)}")
        return lst[:npods]

    def write_metrics(self):
        mdir = os.path.join(self.out, "metrics")
        os.makedirs(mdir, exist_ok=True)
        files, queries = {}, {}
        gap_p = 0.004 if self.rng.random() < 0.5 else 0.0
        gap_svc = self.rng.choice(list(APPS))

        def add(fname, labels, pts, q=None):
            files.setdefault(fname, []).append({"metric": labels, "values": pts})
            if q and fname not in queries:
                queries[fname] = q

        vocab = self.vocab
        # ---- per-version request metrics
        for (svc, v), byt in self.sim.items():
            pts_ok, pts_4, pts_5, pts_lat, pts_rps = [], [], [], [], []
            for t in self.ts:
                st = byt.get(t)
                if st is None:
                    continue
                rps = st["rps"]
                e5 = rps * st["err_tot"]
                e4 = rps * (st["c4xx"] + 0.004)
                pts_ok.append([t, fmt(max(0.0, rps - e5 - e4))])
                pts_4.append([t, fmt(e4)])
                pts_5.append([t, fmt(e5)])
                pts_lat.append([t, fmt(st["lat"])])
            if not pts_ok:
                continue
            h = byt[next(iter(byt))]["hash"]
            gp = gap_p * (3 if svc == gap_svc else 1)
            if vocab == "istio":
                rev_label = (
                    "destination_canonical_revision" if self.idx % 2 else "destination_version"
                )
                vv = v if self.idx % 2 else "v" + v
                base = {
                    "reporter": "destination",
                    "destination_service_name": svc,
                    "app": svc,
                    "destination_workload": svc,
                    "destination_workload_namespace": NS,
                    rev_label: vv,
                }
                for code, pts in (("200", pts_ok), ("404", pts_4), ("503", pts_5)):
                    add(
                        "istio_requests_total",
                        {**base, "response_code": code},
                        self.drop_gaps(pts, gp),
                        f'sum by (app, destination_service_name, destination_workload, destination_workload_namespace, {rev_label}, response_code, reporter) (rate(istio_requests_total{{reporter="destination",destination_workload_namespace="{NS}"}}[1m]))',
                    )
                # buckets (cumulative rate) from a lognormal with p99 = lat
                les = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, "+Inf"]
                bpts = {str(le): [] for le in les}
                for t in self.ts:
                    st = byt.get(t)
                    if st is None:
                        continue
                    p99 = max(1.0, st["lat"])
                    sigma = 0.7
                    mu = math.log(p99) - 2.326 * sigma
                    for le in les:
                        if le == "+Inf":
                            f = 1.0
                        else:
                            f = 0.5 * (1 + math.erf((math.log(le) - mu) / (sigma * math.sqrt(2))))
                        bpts[str(le)].append([t, fmt(st["rps"] * f)])
                for le, pts in bpts.items():
                    add(
                        "istio_request_duration_milliseconds_bucket",
                        {**base, "le": le},
                        pts,
                        f'sum by (le, app, destination_service_name, destination_workload, {rev_label}, reporter) (rate(istio_request_duration_milliseconds_bucket{{reporter="destination"}}[1m]))',
                    )
            elif vocab == "micrometer":
                base = {
                    "application": svc,
                    "service": svc,
                    "version": v,
                    "namespace": NS,
                    "uri": "/api/**",
                }
                for status, outcome, pts in (
                    ("200", "SUCCESS", pts_ok),
                    ("404", "CLIENT_ERROR", pts_4),
                    ("500", "SERVER_ERROR", pts_5),
                ):
                    add(
                        "http_server_requests_seconds_count",
                        {**base, "status": status, "outcome": outcome},
                        self.drop_gaps(pts, gp),
                        "sum by (application, service, version, namespace, uri, status, outcome) (rate(http_server_requests_seconds_count[1m]))",
                    )
                add(
                    "http_server_requests_seconds_p99",
                    {"service": svc, "version": v},
                    [[t, fmt(float(x) / 1000)] for t, x in self.drop_gaps(pts_lat, gp)],
                    "histogram_quantile(0.99, sum by (le, service, version) (rate(http_server_requests_seconds_bucket[1m])))",
                )
            elif vocab == "otel":
                base = {
                    "job": svc,
                    "service_name": svc,
                    "service_version": v,
                    "service_namespace": NS,
                    "http_request_method": "POST"
                    if svc in ("order-api", "payment-service")
                    else "GET",
                }
                for code, pts in (("200", pts_ok), ("404", pts_4), ("500", pts_5)):
                    add(
                        "http_server_request_duration_seconds_count",
                        {**base, "http_response_status_code": code},
                        self.drop_gaps(pts, gp),
                        "sum by (job, service_name, service_version, service_namespace, http_request_method, http_response_status_code) (rate(http_server_request_duration_seconds_count[1m]))",
                    )
                add(
                    "http_server_request_duration_seconds_p99",
                    {"job": svc, "service_version": v},
                    [[t, fmt(float(x) / 1000)] for t, x in self.drop_gaps(pts_lat, gp)],
                    "histogram_quantile(0.99, sum by (le, job, service_version) (rate(http_server_request_duration_seconds_bucket[1m])))",
                )
            # podonly handled below per pod
        # ---- per pod: request metrics (podonly), cpu, memory, restarts, kube_pod_labels
        podinfo = {}
        restarts_state = {}
        mem_state = {}
        for (svc, v), byt in self.sim.items():
            first = byt[next(iter(byt))]
            h = first["hash"]
            maxpods = max(st["npods"] for st in byt.values())
            pods = self.pods_for(svc, v, h, maxpods)
            series = {
                p: {"cpu": [], "mem": [], "rst": [], "rps": [], "err": [], "lat": []} for p in pods
            }
            for t in self.ts:
                st = byt.get(t)
                if st is None:
                    continue
                for pi, p in enumerate(pods[: st["npods"]]):
                    pr = st["rps"] / st["npods"]
                    jitter = 1 + self.rng.gauss(0, 0.06)
                    # crash: only a subset of the canary pods restart at a time
                    cpu = st["cpu"] * jitter
                    ms = mem_state.setdefault(
                        p, APPS[svc][5] * (1 + self.rng.uniform(-0.1, 0.1)) * 2**20
                    )
                    ms += self.rng.gauss(0, 1.5) * 2**20 + st[
                        "mem_add"
                    ] * self.step / 60 * 2**20 * (1 + 0.2 * pi)
                    rs = restarts_state.get(p, float(self.rng.choice([0, 0, 0, 0, 1, 2])))
                    limit = APPS[svc][5] * 2.2 * 2**20
                    if ms > limit:
                        rs += 1
                        ms = APPS[svc][5] * 2**20
                    if st["restarts"] > 0 and self.rng.random() < st["restarts"] * self.step / 60:
                        rs += 1
                        ms = APPS[svc][5] * 0.7 * 2**20
                    mem_state[p] = ms
                    restarts_state[p] = rs
                    s = series[p]
                    s["cpu"].append([t, fmt(cpu)])
                    s["mem"].append([t, "%d" % ms])
                    s["rst"].append([t, "%d" % rs])
                    s["rps"].append((t, pr, st["err_tot"], st["c4xx"], st["lat"]))
            for p in pods:
                s = series[p]
                if not s["cpu"]:
                    continue
                podinfo[p] = (svc, v, h)
                # a stable hash (str hash() is salted per process: the output was not
                # reproducible for a seed)
                ph = int(hashlib.sha1(p.encode()).hexdigest()[:8], 16)
                node = "ip-10-42-%d-%d.eu-west-1.compute.internal" % (
                    ph % 3,
                    10 + ph % 200,
                )
                add(
                    "container_cpu_usage_seconds_total",
                    {"namespace": NS, "pod": p, "container": svc, "app": svc},
                    s["cpu"],
                    f'sum by (namespace, pod, container) (rate(container_cpu_usage_seconds_total{{namespace="{NS}",container!="",container!="POD"}}[1m])) * on (namespace, pod) group_left (app) max by (namespace, pod, app) (label_replace(kube_pod_labels, "app", "$1", "label_app", "(.*)"))',
                )
                add(
                    "container_memory_working_set_bytes",
                    {"namespace": NS, "pod": p, "container": svc, "app": svc},
                    s["mem"],
                    f'sum by (namespace, pod, container) (container_memory_working_set_bytes{{namespace="{NS}",container!=""}}) * on (namespace, pod) group_left (app) ...',
                )
                add(
                    "kube_pod_container_status_restarts_total",
                    {"namespace": NS, "pod": p, "container": svc, "app": svc},
                    s["rst"],
                    f'kube_pod_container_status_restarts_total{{namespace="{NS}"}} * on (namespace, pod) group_left (app) ...',
                )
                lbl = {"namespace": NS, "pod": p, "label_app": svc, "node": node}
                if self.vocab in ("podonly", "istio") or self.idx % 3 == 0:
                    lbl["label_rollouts_pod_template_hash"] = h
                if self.vocab != "podonly":
                    lbl["label_version"] = v
                add(
                    "kube_pod_labels",
                    lbl,
                    [[t, "1"] for t, *_ in s["rps"]],
                    f'kube_pod_labels{{namespace="{NS}"}}',
                )
                if self.vocab == "podonly":
                    pts_ok, pts_5, pts_lat = [], [], []
                    for t, pr, e, c4, lat in s["rps"]:
                        pts_ok.append([t, fmt(pr * (1 - e - c4))])
                        pts_5.append([t, fmt(pr * e)])
                        pts_lat.append([t, fmt(lat / 1000 * (1 + self.rng.gauss(0, 0.05)))])
                    base = {"job": svc, "namespace": NS, "pod": p}
                    add(
                        "http_requests_total",
                        {**base, "code": "2xx"},
                        pts_ok,
                        'sum by (job, namespace, pod, code) (label_replace(rate(http_requests_total[1m]), "code", "${1}xx", "status", "(.).*"))',
                    )
                    add("http_requests_total", {**base, "code": "5xx"}, pts_5)
                    add(
                        "http_request_duration_seconds_p99",
                        base,
                        pts_lat,
                        "histogram_quantile(0.99, sum by (le, job, namespace, pod) (rate(http_request_duration_seconds_bucket[1m])))",
                    )
        # ---- service-level recording rules
        for svc, ss in self.svc_sim.items():
            lab = {"job": svc, "namespace": NS}
            r = [[t, fmt(x)] for t, x in zip(self.ts, ss["rps"])]
            e = [[t, fmt(x)] for t, x in zip(self.ts, ss["err"])]
            l = [[t, fmt(x / 1000)] for t, x in zip(self.ts, ss["lat"])]
            add(
                "job:http_requests:rate5m",
                {"__name__": "job:http_requests:rate5m", **lab},
                self._smooth5(r),
                "sum by (job, namespace) (rate(http_requests_total[5m]))",
            )
            add(
                "job:http_request_errors:ratio_rate5m",
                {"__name__": "job:http_request_errors:ratio_rate5m", **lab},
                self._smooth5(e),
                'sum by (job, namespace) (rate(http_requests_total{code=~"5.."}[5m])) / sum by (job, namespace) (rate(http_requests_total[5m]))',
            )
            add(
                "job:http_request_duration_seconds:p99_5m",
                {"__name__": "job:http_request_duration_seconds:p99_5m", **lab},
                self._smooth5(l),
                "histogram_quantile(0.99, sum by (le, job, namespace) (rate(http_request_duration_seconds_bucket[5m])))",
            )
        # ---- rollout metrics
        for c in self.inflight:
            ph = [[t, "1"] for t in self.ts if t >= c["start"]]
            if ph:
                add(
                    "rollout_info",
                    {
                        "rollout": c["svc"],
                        "namespace": NS,
                        "strategy": "canary",
                        "phase": "Paused" if c["tool"] == "argo" else "Progressing",
                    },
                    ph,
                    'rollout_info{namespace="%s"}' % NS,
                )
                if c["tool"] == "flagger":
                    add(
                        "flagger_canary_weight",
                        {"name": c["svc"], "namespace": NS},
                        [[t, "%d" % round(c["weight"] * 100)] for t in self.ts if t >= c["start"]],
                        "flagger_canary_weight",
                    )
        # ---- infra metrics
        for n, lst in self.infra_sim.items():
            if n.endswith("-db"):
                add(
                    "pg_stat_statements_mean_exec_seconds",
                    {"service": n, "datname": n.replace("-db", ""), "instance": f"{n}-0"},
                    [[t, fmt(st["lat"] / 1000)] for t, st in zip(self.ts, lst)],
                    "sum by (service, datname, instance) (rate(pg_stat_statements_seconds_total[1m])) / sum by (service, datname, instance) (rate(pg_stat_statements_calls_total[1m]))",
                )
                add(
                    "pg_stat_activity_count",
                    {"service": n, "state": "active", "instance": f"{n}-0"},
                    [
                        [t, "%d" % max(1, st["extra"].get("active", 6 + self.rng.gauss(0, 2)))]
                        for t, st in zip(self.ts, lst)
                    ],
                    'sum by (service, state, instance) (pg_stat_activity_count{state="active"})',
                )
                add(
                    "node_disk_io_time_seconds_total",
                    {"service": n, "instance": f"{n}-0", "device": "nvme1n1"},
                    [
                        [
                            t,
                            fmt(
                                min(1.0, st["extra"].get("io", 0.18 + abs(self.rng.gauss(0, 0.05))))
                            ),
                        ]
                        for t, st in zip(self.ts, lst)
                    ],
                    'rate(node_disk_io_time_seconds_total{device="nvme1n1"}[1m])',
                )
            elif n == "redis-cache":
                add(
                    "redis_commands_duration_seconds_avg",
                    {"service": n, "instance": "redis-cache-0"},
                    [
                        [
                            t,
                            fmt(
                                st["extra"].get(
                                    "srv_lat", 0.00012 * (1 + abs(self.rng.gauss(0, 0.1)))
                                )
                            ),
                        ]
                        for t, st in zip(self.ts, lst)
                    ],
                    "sum(rate(redis_commands_duration_seconds_total[1m])) by (service, instance) / sum(rate(redis_commands_total[1m])) by (service, instance)",
                )
                add(
                    "redis_cpu_utilization",
                    {"service": n, "instance": "redis-cache-0"},
                    [
                        [t, fmt(st["extra"].get("cpu", 0.35 + self.rng.gauss(0, 0.03)))]
                        for t, st in zip(self.ts, lst)
                    ],
                    "rate(redis_cpu_sys_seconds_total[1m]) + rate(redis_cpu_user_seconds_total[1m])",
                )
                add(
                    "redis_memory_used_bytes",
                    {"service": n, "instance": "redis-cache-0"},
                    [
                        [t, "%d" % st["extra"].get("mem", 9.1e9 + self.rng.gauss(0, 2e7))]
                        for t, st in zip(self.ts, lst)
                    ],
                )
                add(
                    "redis_evicted_keys_total",
                    {"service": n, "instance": "redis-cache-0"},
                    [
                        [t, fmt(st["extra"].get("evict", abs(self.rng.gauss(0, 0.3))))]
                        for t, st in zip(self.ts, lst)
                    ],
                    "rate(redis_evicted_keys_total[1m])",
                )
                for node, key in (
                    ("ip-10-42-1-77.eu-west-1.compute.internal", "retrans"),
                    ("ip-10-42-0-31.eu-west-1.compute.internal", None),
                    ("ip-10-42-2-140.eu-west-1.compute.internal", None),
                ):
                    add(
                        "node_netstat_Tcp_RetransSegs",
                        {"instance": node, "job": "node-exporter", "node": node},
                        [
                            [t, fmt(st["extra"].get(key, 0) + 4 + abs(self.rng.gauss(0, 2)))]
                            if key
                            else [t, fmt(4 + abs(self.rng.gauss(0, 2)))]
                            for t, st in zip(self.ts, lst)
                        ],
                        "rate(node_netstat_Tcp_RetransSegs[1m])",
                    )
                add(
                    "kube_pod_info",
                    {
                        "namespace": NS,
                        "pod": "redis-cache-0",
                        "node": "ip-10-42-1-77.eu-west-1.compute.internal",
                        "service": n,
                    },
                    [[t, "1"] for t in self.ts],
                    "kube_pod_info",
                )
            elif n in EXTERNAL:
                add(
                    "probe_success",
                    {
                        "job": "blackbox",
                        "service": n,
                        "instance": f"https://{n.replace('-api', '')}.example-vendor.com/health",
                    },
                    [
                        [t, "1" if self.rng.random() > st["err"] else "0"]
                        for t, st in zip(self.ts, lst)
                    ],
                    'probe_success{job="blackbox"}',
                )
                add(
                    "probe_duration_seconds",
                    {"job": "blackbox", "service": n},
                    [[t, fmt(st["lat"] / 1000 * 0.4)] for t, st in zip(self.ts, lst)],
                    'probe_duration_seconds{job="blackbox"}',
                )
            elif n == "kafka":
                add(
                    "kafka_consumergroup_lag",
                    {
                        "service": "notification-service",
                        "consumergroup": "notification-service",
                        "topic": "order-events",
                    },
                    [
                        [t, "%d" % max(0, 200 + 150 * math.sin(t / 300) + self.rng.gauss(0, 60))]
                        for t in self.ts
                    ],
                    "sum by (consumergroup, topic) (kafka_consumergroup_lag)",
                )
        # client-side dependency metrics for externals
        for caller, ext in (("payment-gateway", "stripe-api"), ("eta-service", "maps-api")):
            lst = self.infra_sim[ext]
            rps = self.svc_sim[caller]["rps"]
            base = {"service": caller, "peer_service": ext}
            add(
                "http_client_requests_seconds_count",
                {**base, "outcome": "SUCCESS"},
                [[t, fmt(r * (1 - st["err"]))] for t, r, st in zip(self.ts, rps, lst)],
                "sum by (service, peer_service, outcome) (rate(http_client_requests_seconds_count[1m]))",
            )
            add(
                "http_client_requests_seconds_count",
                {**base, "outcome": "SERVER_ERROR"},
                [[t, fmt(r * st["err"])] for t, r, st in zip(self.ts, rps, lst)],
            )
            add(
                "http_client_requests_seconds_p99",
                base,
                [[t, fmt(st["lat"] / 1000)] for t, st in zip(self.ts, lst)],
                "histogram_quantile(0.99, sum by (le, service, peer_service) (rate(http_client_requests_seconds_bucket[1m])))",
            )
        # redis client latency from some callers
        lst = self.infra_sim["redis-cache"]
        for caller in ("order-api", "cart-service", "courier-location", "pricing-service"):
            add(
                "redis_client_command_duration_seconds_p99",
                {"service": caller, "db_system": "redis", "peer_service": "redis-cache"},
                [
                    [t, fmt(st["lat"] / 1000 * (1 + self.rng.gauss(0, 0.05)))]
                    for t, st in zip(self.ts, lst)
                ],
                'histogram_quantile(0.99, sum by (le, service) (rate(db_client_operation_duration_seconds_bucket{db_system="redis"}[1m])))',
            )
        for fname, series in files.items():
            with open(os.path.join(mdir, fname.replace(":", "_") + ".json"), "w") as f:
                json.dump(matrix(series), f, separators=(",", ":"))
        q2 = {k.replace(":", "_"): v for k, v in queries.items()}
        with open(os.path.join(mdir, "queries.yaml"), "w") as f:
            yaml.safe_dump(q2, f, sort_keys=True, width=1000)
        self.podinfo = podinfo

    def _smooth5(self, pts):
        k = max(1, 300 // self.step)
        out = []
        for i in range(len(pts)):
            w = pts[max(0, i - k + 1) : i + 1]
            vals = [float(x[1]) for x in w]
            out.append([pts[i][0], fmt(sum(vals) / len(vals))])
        return out

    # ---------------- logs
    def write_logs(self, fault_msgs):
        ldir = os.path.join(self.out, "logs")
        os.makedirs(ldir, exist_ok=True)
        rng = self.rng
        vkey = rng.choice(["version", "app_version", "service.version", None])
        generic_err = {
            "timeout": "upstream request timeout calling {dep} after {ms}ms",
            "5xx": "request failed: upstream {dep} returned 503",
        }
        byservice = {}
        for (svc, v), byt in self.sim.items():
            h = byt[next(iter(byt))]["hash"]
            pods = self._pods.get((svc, h), [f"{svc}-{h}-xxxxx"])
            for t in self.ts:
                st = byt.get(t)
                if st is None:
                    continue
                if rng.random() < 0.25:  # sampled info lines
                    rec = {
                        "ts": iso_ms(t + rng.random() * self.step),
                        "service": svc,
                        "level": "info",
                        "msg": rng.choice(
                            [
                                "request completed",
                                "health check ok",
                                "cache refresh done",
                                "handled GET /api/v2/menu",
                                "published event order.updated",
                            ]
                        ),
                        "pod": rng.choice(pods[: st["npods"]]),
                    }
                    if vkey:
                        rec[vkey] = v
                    byservice.setdefault(svc, []).append(rec)
                n_err = st["rps"] * st["err_tot"] * self.step * 0.02  # 2% sampled error logs
                n_err = int(n_err) + (1 if rng.random() < n_err % 1 else 0)
                for _ in range(min(n_err, 25)):
                    msgs = fault_msgs.get((svc, v)) or fault_msgs.get((svc, None))
                    if msgs and rng.random() < 0.85:
                        msg, level, extra = rng.choice(msgs)
                    else:
                        deps = [d for d, _ in APPS[svc][0]] or ["-"]
                        msg = generic_err[rng.choice(list(generic_err))].format(
                            dep=rng.choice(deps), ms=rng.choice([500, 1000, 2000])
                        )
                        level, extra = "error", {}
                    rec = {
                        "ts": iso_ms(t + rng.random() * self.step),
                        "service": svc,
                        "level": level,
                        "msg": msg,
                        "pod": rng.choice(pods[: st["npods"]]),
                        "trace_id": "%032x" % rng.getrandbits(128),
                    }
                    if vkey:
                        rec[vkey] = v
                    rec.update(extra)
                    byservice.setdefault(svc, []).append(rec)
        drop = rng.choice(list(APPS)) if rng.random() < 0.4 else None
        for svc, recs in byservice.items():
            if svc == drop:
                continue
            recs.sort(key=lambda r: r["ts"])
            with open(os.path.join(ldir, f"{svc}.jsonl"), "w") as f:
                for r in recs:
                    f.write(json.dumps(r) + "\n")
        self.has_logs = True

    # ---------------- traces
    def write_traces(self, root, n=120):
        tdir = os.path.join(self.out, "traces")
        os.makedirs(tdir, exist_ok=True)
        rng = self.rng
        spans = []
        tpts = [t for t in self.ts if t > self.onset - 600]
        for _ in range(n):
            t0 = rng.choice(tpts) + rng.random() * self.step
            tid = "%032x" % rng.getrandbits(128)

            def emit(svc, parent, start, depth):
                shares = [(v, sh) for v, h, sh in self.version_shares(svc, start)]
                r = rng.random()
                v = shares[-1][0]
                for vv, sh in shares:
                    if r < sh:
                        v = vv
                        break
                    r -= sh
                st = (
                    self.sim[(svc, v)].get(max(t for t in self.ts if t <= start))
                    if (svc, v) in self.sim
                    else None
                )
                sid = "%016x" % rng.getrandbits(64)
                children = []
                cur = start + 0.001
                err = False
                if depth < 4:
                    for d, cpl in APPS[svc][0]:
                        if d in APPS and rng.random() < cpl * 0.6:
                            cdur, cerr = emit(d, sid, cur, depth + 1)
                            cur += cdur / 1000
                            err = err or (cerr and rng.random() < 0.85)
                own = (APPS[svc][2] * 0.25 * rng.lognormvariate(0, 0.4)) * (
                    st["lat_mul"] if st else 1
                ) + (st["lat_add"] * 0.5 if st else 0)
                if st and rng.random() < (st["err"] + st.get("bug", 0) * 0.0) * 1.0:
                    err = True
                dur = (cur - start) * 1000 + own
                span = {
                    "trace_id": tid,
                    "span_id": sid,
                    "parent_id": parent,
                    "service": svc,
                    "name": f"{('POST' if svc in ('order-api', 'payment-service') else 'GET')} /{svc.split('-')[0]}",
                    "start": iso_ms(start),
                    "duration_ms": round(dur, 2),
                    "status": "error" if err else "ok",
                    "service.version": v,
                    "k8s.namespace.name": NS,
                }
                if st and st.get("bug", 0) > 0 and rng.random() < st["bug"] * 2:
                    span["response.schema_valid"] = False
                spans.append(span)
                return dur, err

            emit(root, None, t0, 0)
        with open(os.path.join(tdir, "spans.jsonl"), "w") as f:
            for s in spans:
                f.write(json.dumps(s) + "\n")

    def write_events(self, events):
        if not events:
            return
        edir = os.path.join(self.out, "events")
        os.makedirs(edir, exist_ok=True)
        with open(os.path.join(edir, "k8s.jsonl"), "w") as f:
            for e in sorted(events, key=lambda e: e["ts"]):
                f.write(json.dumps(e) + "\n")


# ---------------------------------------------------------------- scenario builders
def pick_page(rng, svc):
    anc = sorted(ancestors(svc))
    fronts = [a for a in anc if a in ("edge-gateway", "mobile-bff", "web-bff")]
    mids = [
        a for a in anc if a in ("order-api", "payment-service", "cart-service", "dispatch-service")
    ]
    r = rng.random()
    if fronts and r < 0.55:
        return rng.choice(fronts)
    if mids and r < 0.8:
        return rng.choice(mids)
    return svc


def choose_page(g, focus, alert_kind, excl_self):
    """pick the paged service: a front door / mid tier / the service itself where the SLO really burns."""
    rng = g.rng
    cands = sorted((ancestors(focus) | ({focus} if focus in APPS else set())) & set(APPS))
    if excl_self and focus in cands:
        cands.remove(focus)
    fronts = [c for c in cands if c in ("edge-gateway", "mobile-bff", "web-bff")]
    mids = [
        c
        for c in cands
        if c
        in ("order-api", "payment-service", "cart-service", "dispatch-service", "search-service")
    ]
    others = [c for c in cands if c not in fronts and c not in mids]
    for grp in (fronts, mids, others):
        rng.shuffle(grp)
    r = rng.random()
    order = (
        fronts + mids + others
        if r < 0.5
        else (mids + fronts + others if r < 0.8 else others + mids + fronts)
    )
    on = g.onset

    def score(c):
        ss = g.svc_sim[c]
        key = "err" if alert_kind == "errors" else "lat"
        pre = [x for t, x in zip(g.ts, ss[key]) if on - 1800 < t < on - 120]
        post = [x for t, x in zip(g.ts, ss[key]) if on + 120 < t < on + 900]
        a, b = sum(pre) / len(pre), sum(post) / len(post)
        if key == "err":
            ok = b - a >= 0.012 and b >= 2.2 * a
        else:
            ok = b >= 1.4 * a and b - a >= 40
        return ok, (b - a) / max(a, 1e-6)

    for c in order:
        if score(c)[0]:
            return c
    return max(cands, key=lambda c: score(c)[1])


def background_changes(g, exclude, n_canaries, defective_first=None):
    """healthy canaries, recent completed deploys, config/flag changes."""
    rng = g.rng
    pool = [s for s in APPS if s not in exclude]
    rng.shuffle(pool)
    healthy = []
    for s in pool[:n_canaries]:
        # one healthy canary is often the most recent release, close to onset
        if not healthy and rng.random() < 0.7:
            start = g.onset - rng.randint(60, 240)
        else:
            start = g.onset - rng.randint(5, 70) * 60
        healthy.append(g.add_canary(s, rng.choice([0.05, 0.1, 0.2, 0.25, 0.3, 0.5]), start))
    rest = pool[n_canaries:]
    # completed deploys: earlier today, one maybe inside the window
    for s in rest[: rng.randint(1, 3)]:
        start = g.onset - rng.randint(45, 600) * 60
        g.add_completed(s, start, rng.randint(3, 8) * 60)
    # config / flag noise
    cfgs = [
        ("config", "HPA maxReplicas 12 -> 16"),
        ("config", "log level debug -> info"),
        ("flag", "flag 'new-checkout-banner' rollout 10% -> 25% (LaunchDarkly)"),
        ("config", "increase JVM heap -Xmx from 768m to 896m"),
        ("flag", "flag 'menu-images-webp' enabled for 50% of users"),
        ("config", "rotate TLS client certificate for vendor API (cert-manager)"),
        ("flag", "flag 'courier-batching-v2' enabled in region eu-west"),
        ("config", "update PodDisruptionBudget minAvailable 2 -> 3"),
        ("infra", "node group ng-general-2 AMI upgrade (rolling, 1 node at a time)"),
        ("scale", "manual scale 3 -> 4 replicas ahead of lunch peak"),
    ]
    for kind, summ in rng.sample(cfgs, rng.randint(2, 4)):
        s = rng.choice(rest or pool)
        g.add_change(g.onset - rng.randint(3, 300) * 60, s, kind, f"{s}: {summ}")
    return healthy


def fault_effect(g, svc, version, t0, ramp=60, **kw):
    """returns an effect fn applying kw to (svc, version) after t0."""

    def eff(n, v, t, st):
        if n != svc or (version is not None and v != version) or v == "__svc__":
            return
        f = smooth(t, t0, t0 + ramp)
        if f <= 0:
            return
        if "err" in kw:
            st["err"] += kw["err"] * f * (1 + g.rng.gauss(0, 0.15))
        if "lat_mul" in kw:
            st["lat_mul"] *= 1 + (kw["lat_mul"] - 1) * f
        if "lat_add" in kw:
            st["lat_add"] += kw["lat_add"] * f
        if "cpu_mul" in kw:
            st["cpu_mul"] *= 1 + (kw["cpu_mul"] - 1) * f
        if "mem_add" in kw:
            st["mem_add"] += kw["mem_add"] * f
        if "bug" in kw:
            st["bug"] += kw["bug"] * f
            st["c4xx"] += kw["bug"] * 0.1 * f
        if "restarts" in kw:
            st["restarts"] += kw["restarts"] * f

    return eff


def build_incident(idx, cat, mode, svc_hint, rng, outdir):
    g = Gen(idx, cat, mode, svc_hint, rng, outdir)
    onset = g.onset
    fault_msgs = {}
    events = []
    truth = {}
    desc = ""
    want_logs = rng.random() < 0.45
    want_traces = False
    trace_root = None
    alert_kind = "errors"
    page = None

    if cat == "canary":
        svc = rng.choice(DEEP_POOL)
        if mode == "functional":
            svc = rng.choice(
                [
                    "pricing-service",
                    "promo-service",
                    "restaurant-service",
                    "user-service",
                    "feature-store",
                    "menu-service",
                ]
            )
        if mode in ("crash", "memleak"):
            svc = rng.choice(
                [
                    "search-service",
                    "fraud-service",
                    "cart-service",
                    "menu-service",
                    "dispatch-service",
                    "order-api",
                ]
            )
        weight = rng.choice([0.05, 0.1, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5])
        if mode == "memleak":
            cstart = onset - rng.randint(14, 25) * 60
        elif rng.random() < 0.6 or mode == "functional":
            cstart = onset - rng.randint(
                60, 150
            )  # defect visible as soon as the canary takes traffic
        else:
            cstart = (
                onset - rng.randint(8, 25) * 60
            )  # defect only under a later traffic pattern / code path
        c = g.add_canary(svc, weight, cstart, defective=True)
        cv = c["canary_v"]
        t0 = onset if mode != "memleak" else cstart
        if mode in ("errors",):
            e_rate = max(
                rng.uniform(0.08, 0.35), min(0.9, 0.02 / weight)
            )  # diluted, but still burns the SLO
            g.effects.append(fault_effect(g, svc, cv, t0, err=e_rate))
            fault_msgs[(svc, cv)] = [
                (
                    rng.choice(
                        [
                            'NullPointerException in OrderLineMapper.map: cannot invoke "Restaurant.getId()" because "r" is null',
                            "unhandled error: KeyError 'delivery_zone' in handler /v2/quote",
                            "panic: runtime error: index out of range [3] with length 3",
                            'grpc: failed to serialize response: proto: required field "currency" not set',
                        ]
                    ),
                    "error",
                    {},
                )
            ]
            alert_kind = "errors"
        elif mode == "latency":
            g.effects.append(
                fault_effect(
                    g, svc, cv, t0, lat_mul=rng.uniform(3, 7), lat_add=rng.uniform(150, 600)
                )
            )
            fault_msgs[(svc, cv)] = [
                (
                    "slow query detected: SELECT ... FROM menu_items WHERE restaurant_id = $1 (n+1 pattern), took 870ms",
                    "warn",
                    {},
                ),
                ("request exceeded deadline 1s", "error", {}),
            ]
            g.effects.append(fault_effect(g, svc, cv, t0, err=0.02))
            alert_kind = "latency"
        elif mode == "cpu":
            tgt = rng.uniform(0.95, 1.15)

            def cpu_eff(n, v, t, st, svc=svc, cv=cv, t0=t0, tgt=tgt):
                if n == svc and v == cv:
                    f = smooth(t, t0, t0 + 120)
                    if f > 0:
                        st["cpu_mul"] *= max(
                            1.0, (tgt * f + st["util"] * (1 - f)) / max(st["util"], 1e-3)
                        )

            g.effects.append(cpu_eff)
            fault_msgs[(svc, cv)] = [
                ("GC pause 420ms (G1 Evacuation Pause), heap 91%", "warn", {}),
                ("request exceeded deadline 1s", "error", {}),
            ]
            alert_kind = "latency"
        elif mode == "crash":
            g.effects.append(
                fault_effect(
                    g,
                    svc,
                    cv,
                    t0,
                    restarts=0.6,
                    err=max(rng.uniform(0.15, 0.4), min(0.9, 0.02 / weight)),
                )
            )
            fault_msgs[(svc, cv)] = [
                ("fatal: failed to load config: missing required env PAYMENTS_REGION", "fatal", {}),
                ("readiness probe failed: connection refused", "error", {}),
            ]
            alert_kind = "errors"
        elif mode == "memleak":
            g.effects.append(fault_effect(g, svc, cv, t0, mem_add=rng.uniform(60, 110)))

            def leak_err(n, v, t, st, svc=svc, cv=cv):
                if n == svc and v == cv and t > onset:
                    st["err"] += 0.12 * (0.5 + 0.5 * math.sin(t / 97.0) ** 2)
                    st["restarts"] += 0.15
                    st["lat_mul"] *= 1.8

            g.effects.append(leak_err)
            fault_msgs[(svc, cv)] = [
                ("java.lang.OutOfMemoryError: Java heap space", "fatal", {}),
                ("GC overhead limit exceeded", "error", {}),
            ]
            alert_kind = "errors"
        elif mode == "functional":
            g.effects.append(fault_effect(g, svc, cv, t0, bug=rng.uniform(0.25, 0.6)))
            callers = callers_of(svc)
            field = rng.choice(
                ["currency", "price_minor_units", "restaurant_id", "discount.type", "is_open"]
            )
            for cl in callers:
                fault_msgs[(cl, None)] = [
                    (
                        f"failed to decode response from {svc}: missing required field '{field}'",
                        "error",
                        {"upstream": svc, "upstream_version": cv},
                    ),
                    (
                        f"invalid response from {svc} (schema validation failed)",
                        "error",
                        {"upstream": svc, "upstream_version": cv},
                    ),
                ]
            fault_msgs[(svc, cv)] = [
                (f"serialized response without field '{field}' (legacy clients)", "warn", {})
            ]
            want_logs = True
            want_traces = rng.random() < 0.5
            alert_kind = "errors"
        focus = svc
        excl_self = mode == "functional"
        n_h = rng.randint(1, 3)
        background_changes(g, {svc}, n_h)
        truth = {"root_cause": {"kind": "deploy", "service": svc, "change_id": c["change_id"]}}
        desc = f"defective canary {svc} {cv} ({int(weight * 100)}%): {mode}"
        if want_traces is False and rng.random() < 0.15:
            want_traces = True
        trace_root = page
        if mode in ("crash", "memleak"):
            for p in g.pods_for(svc, cv, c["hc"], max(1, math.ceil(APPS[svc][3] * weight))):
                events.append(
                    {
                        "ts": iso(onset + rng.randint(0, 400)),
                        "service": svc,
                        "reason": "OOMKilled" if mode == "memleak" else "BackOff",
                        "type": "Warning",
                        "message": "Container %s was OOMKilled (limit exceeded)" % svc
                        if mode == "memleak"
                        else f"Back-off restarting failed container {svc} in pod {p}",
                        "object": f"pod/{p}",
                        "count": rng.randint(2, 6),
                    }
                )
    elif cat == "innocent":
        kind, target = mode, svc_hint
        if kind == "db_slow":
            slow = rng.uniform(80, 150)

            def db(n, v, t, st, target=target, slow=slow):
                if n == target and v is None:
                    f = smooth(t, onset, onset + 120)
                    st["lat"] *= 1 + slow * f
                    st["err"] += 0.03 * f
                    st["extra"]["active"] = 6 + 85 * f + g.rng.gauss(0, 3)
                    st["extra"]["io"] = 0.2 + 0.78 * f

            g.effects.append(db)
            callers = callers_of(target)
            for cl in callers:
                fault_msgs[(cl, None)] = [
                    (
                        f"HikariPool-1 - Connection is not available, request timed out after 3000ms ({target})",
                        "error",
                        {},
                    ),
                    (
                        f"query timeout on {target}: canceling statement due to statement timeout",
                        "error",
                        {},
                    ),
                ]
            truth = {"root_cause": {"kind": "resource_saturation", "service": target}}
            desc = f"{target} saturated (disk IO / long queries), callers time out"
            focus = callers[0]
            alert_kind = "latency"
        elif kind == "dependency":

            def dep(n, v, t, st, target=target):
                if n == target:
                    f = smooth(t, onset, onset + 60)
                    st["err"] += 0.45 * f * (0.8 + 0.2 * g.rng.random())
                    st["lat"] *= 1 + 6 * f

            g.effects.append(dep)
            callers = callers_of(target)
            for cl in callers:
                fault_msgs[(cl, None)] = [
                    (f"call to {target} failed: 502 Bad Gateway", "error", {"peer": target}),
                    (
                        f"{target} request timed out after 5000ms, retrying (attempt 2/3)",
                        "warn",
                        {"peer": target},
                    ),
                ]
            truth = {"root_cause": {"kind": "dependency_failure", "service": target}}
            desc = f"third-party {target} degraded (5xx + latency)"
            focus = callers[0]
            alert_kind = "errors"
        elif kind == "surge":
            hot = "search-service" if target == "mobile-bff" else "menu-service"
            mul = rng.uniform(2.6, 3.4)
            downstream = {target} | set(d for d, _ in APPS[target][0]) | {"edge-gateway"}

            def surge(n, v, t, st, target=target, mul=mul, ds=downstream):
                if v == "__svc__" and n in ds:
                    f = smooth(t, onset - 60, onset + 120)
                    m = (
                        mul
                        if n == target
                        else 1 + (mul - 1) * (0.55 if n != "edge-gateway" else 0.5)
                    )
                    st["rps_mul"] *= 1 + (m - 1) * f

            g.effects.append(surge)
            tgt = rng.uniform(1.0, 1.15)

            def hot_eff(n, v, t, st, hot=hot, tgt=tgt):
                if n == hot and v not in (None, "__svc__"):
                    f = smooth(t, onset - 60, onset + 150)
                    if f > 0:
                        st["util"] = max(st["util"], st["util"] * (1 - f) + tgt * f)

            g.effects.append(hot_eff)
            fault_msgs[(hot, None)] = [
                ("thread pool exhausted: 200/200 workers busy, rejecting request", "error", {}),
                ("request exceeded deadline 1s", "error", {}),
            ]
            truth = {"root_cause": {"kind": "traffic_surge", "service": target}}
            desc = f"traffic surge x{mul:.1f} entering via {target} (push campaign), {hot} CPU-saturated"
            focus = target
            alert_kind = "latency"
        elif kind == "network":

            def net(n, v, t, st):
                if n == "redis-cache" and v is None:
                    f = smooth(t, onset, onset + 60)
                    st["lat"] *= 1 + 120 * f * (0.7 + 0.6 * g.rng.random())
                    st["err"] += 0.05 * f
                    st["extra"]["retrans"] = 900 * f * (0.6 + 0.8 * g.rng.random())

            g.effects.append(net)
            for cl in callers_of("redis-cache"):
                fault_msgs[(cl, None)] = [
                    ("redis: i/o timeout reading from redis-cache:6379", "error", {}),
                    ("redis: connection pool timeout", "error", {}),
                ]
            truth = {"root_cause": {"kind": "network", "service": "redis-cache"}}
            desc = "packet loss on node hosting redis-cache-0: clients see timeouts, redis server-side latency normal"
            focus = "courier-location"
            alert_kind = "latency"
        elif kind == "redis_sat":

            def rs(n, v, t, st):
                if n == "redis-cache" and v is None:
                    f = smooth(t, onset, onset + 90)
                    st["lat"] *= 1 + 60 * f
                    st["err"] += 0.03 * f
                    st["extra"]["cpu"] = 0.35 + 0.64 * f
                    st["extra"]["srv_lat"] = 0.00012 * (1 + 40 * f)
                    st["extra"]["mem"] = 9.1e9 + 3.5e9 * f
                    st["extra"]["evict"] = 2000 * f

            g.effects.append(rs)
            for cl in callers_of("redis-cache"):
                fault_msgs[(cl, None)] = [
                    ("redis: i/o timeout", "error", {}),
                    ("slow redis command: KEYS/EVAL took 180ms", "warn", {}),
                ]
            truth = {"root_cause": {"kind": "resource_saturation", "service": "redis-cache"}}
            desc = "redis-cache CPU/memory saturated (evictions, slow commands), callers slow"
            focus = "cart-service"
            alert_kind = "latency"
        excl_self = False
        # innocent canaries: include one on the page path started shortly before onset
        path = sorted((ancestors(target) | {target}) & set(APPS))
        inn = rng.choice(path) if path else None
        ex = {target}
        n_bg = rng.randint(1, 3)
        if inn:
            g.add_canary(inn, rng.choice([0.1, 0.2, 0.25, 0.5]), onset - rng.randint(90, 360))
            ex.add(inn)
        background_changes(g, ex, n_bg)
        want_logs = want_logs or rng.random() < 0.3
        trace_root = page
    else:  # completed rollout or config change
        kind, target = mode, svc_hint
        if kind.startswith("rollout"):
            target = rng.choice(
                [
                    "dispatch-service",
                    "user-service",
                    "cart-service",
                    "restaurant-service",
                    "payment-service",
                    "eta-service",
                    "order-api",
                    "menu-service",
                ]
            )
            start = onset - rng.randint(8, 22) * 60
            dur = rng.randint(4, 7) * 60
            note = rng.choice(
                [
                    "connection pool refactor",
                    "upgrade spring-boot 3.3",
                    "new serialization format",
                    "switch http client to netty",
                    "query rewrite for availability",
                ]
            )
            cid = g.add_completed(target, start, dur, note)
            nv = g.completed[target]["new"]
            t0 = start + dur - 60 if kind != "rollout_memleak" else start
            if kind == "rollout_errors":
                g.effects.append(
                    fault_effect(g, target, nv, onset, ramp=90, err=rng.uniform(0.06, 0.15))
                )
                fault_msgs[(target, nv)] = [
                    ('ERROR: column "eta_bucket" does not exist (SQLSTATE 42703)', "error", {})
                ]
                alert_kind = "errors"
                onset_eff = onset
            elif kind == "rollout_latency":
                g.effects.append(
                    fault_effect(g, target, nv, onset, ramp=120, lat_mul=3.5, lat_add=200)
                )
                fault_msgs[(target, nv)] = [
                    ("http client pool exhausted, waiting for connection", "warn", {})
                ]
                alert_kind = "latency"
            elif kind == "rollout_memleak":
                g.effects.append(fault_effect(g, target, nv, start, ramp=60, mem_add=45))

                def lk(n, v, t, st, target=target, nv=nv):
                    if n == target and v == nv and t > onset:
                        st["err"] += 0.08
                        st["restarts"] += 0.12

                g.effects.append(lk)
                fault_msgs[(target, nv)] = [
                    ("java.lang.OutOfMemoryError: Java heap space", "fatal", {})
                ]
                alert_kind = "errors"
                for i in range(3):
                    events.append(
                        {
                            "ts": iso(onset + rng.randint(0, 500)),
                            "service": target,
                            "reason": "OOMKilled",
                            "type": "Warning",
                            "message": f"Container {target} was OOMKilled",
                            "object": f"pod/{target}-{g.completed[target]['hn']}-{rhash(rng, 5)}",
                            "count": 1,
                        }
                    )
            else:  # functional
                g.effects.append(fault_effect(g, target, nv, onset, ramp=60, bug=0.12))
                for cl in callers_of(target):
                    fault_msgs[(cl, None)] = [
                        (
                            f"unexpected response from {target}: enum value 'SCHEDULED' not recognized",
                            "error",
                            {"upstream": target, "upstream_version": nv},
                        )
                    ]
                alert_kind = "errors"
                want_logs = True
            truth = {"root_cause": {"kind": "deploy", "service": target, "change_id": cid}}
            desc = f"completed rollout {target} {nv} (100%) defective: {kind.split('_')[1]}"
            focus = target
        else:
            t_c = onset - rng.randint(20, 90)
            if kind == "config_pool":
                cid = g.add_change(
                    t_c,
                    target,
                    "config",
                    f"{target}: ConfigMap order-api-config: db.pool.maxSize 50 -> 5 (cost tuning)",
                )
                g.effects.append(
                    fault_effect(g, target, None, onset, ramp=60, lat_add=900, err=0.07)
                )
                fault_msgs[(target, None)] = [
                    (
                        "HikariPool-1 - Connection is not available, request timed out after 3000ms (total=5, active=5, idle=0, waiting=41)",
                        "error",
                        {},
                    )
                ]
                desc = "config change shrinks order-api DB pool; pool timeouts"
                alert_kind = "latency"
            elif kind == "flag":
                cid = g.add_change(
                    t_c,
                    target,
                    "flag",
                    f"{target}: feature flag 'dynamic-surge-pricing-v3' 0% -> 100% (Unleash)",
                )
                g.effects.append(
                    fault_effect(g, target, None, onset, ramp=60, err=0.18, lat_mul=1.4)
                )
                fault_msgs[(target, None)] = [
                    (
                        "surge pricing v3: division by zero computing zone multiplier (zone=unknown)",
                        "error",
                        {"flag": "dynamic-surge-pricing-v3"},
                    )
                ]
                desc = "feature flag enabling new surge-pricing code path at 100%"
                alert_kind = "errors"
            elif kind == "config_ratelimit":
                cid = g.add_change(
                    t_c,
                    target,
                    "config",
                    f"{target}: Envoy local rate limit tokens_per_fill 2000 -> 200 (typo, meant 2000->2200)",
                )
                g.effects.append(fault_effect(g, target, None, onset, ramp=30, err=0.22))
                fault_msgs[(target, None)] = [
                    ("local_rate_limited: 429 Too Many Requests", "warn", {})
                ]
                desc = "edge-gateway rate limit misconfigured; requests rejected"
                alert_kind = "errors"
            else:  # cache ttl
                cid = g.add_change(
                    t_c,
                    target,
                    "config",
                    f"{target}: search result cache TTL 300s -> 0s (disable cache for debugging)",
                )
                g.effects.append(
                    fault_effect(g, target, None, onset, ramp=60, lat_mul=2.2, cpu_mul=2.4)
                )

                def idx_load(n, v, t, st, t_c=t_c):
                    if n == "search-index" and t > onset:
                        st["lat"] *= 3.5

                g.effects.append(idx_load)
                fault_msgs[(target, None)] = [
                    ("search cache miss, querying index", "info", {}),
                    ("request exceeded deadline 1s", "error", {}),
                ]
                desc = "search cache disabled by config; search-index overloaded"
                alert_kind = "latency"
            truth = {"root_cause": {"kind": "config_change", "service": target, "change_id": cid}}
            focus = target
        excl_self = kind == "rollout_functional"
        background_changes(g, {target}, rng.randint(2, 3))
        trace_root = page

    if rng.random() < 0.12:
        want_traces = True
    g.simulate()
    page = choose_page(g, focus, alert_kind, excl_self)
    trace_root = page
    g.write_metrics()
    if want_logs:
        g.write_logs(fault_msgs)
    else:
        g.has_logs = False
    if want_traces and trace_root in APPS:
        g.write_traces(trace_root)
    # healthy canary rollouts: normal events
    for c in g.inflight:
        events.append(
            {
                "ts": iso(c["start"] + 20),
                "service": c["svc"],
                "reason": "RolloutUpdated" if c["tool"] == "argo" else "Synced",
                "type": "Normal",
                "message": f"Rollout updated to revision with image {c['svc']}:{c['canary_v']}, setWeight {int(c['weight'] * 100)}",
                "object": f"rollout/{c['svc']}",
                "count": 1,
            }
        )
    g.write_events(events)

    # alert
    sig = alert_kind
    fire = onset + rng.randint(2, 6) * 60
    if sig == "errors":
        alertname = rng.choice(["SLOAvailabilityFastBurn", "HighErrorRate", "ErrorBudgetBurn"])
        summ = f"{page}: 5xx ratio burning error budget 14.4x (1h window)"
    else:
        alertname = rng.choice(["SLOLatencyFastBurn", "HighLatencyP99", "LatencySLOBreach"])
        summ = f"{page}: p99 latency above SLO threshold"
    labels = {
        "alertname": alertname,
        "service": page,
        "namespace": NS,
        "severity": "page",
        "team": "sre-core",
        "slo": f"{page}-{'availability' if sig == 'errors' else 'latency'}",
        "cluster": "prod-eu-west-1",
    }
    fp = hashlib.sha1(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16]
    alerts = [
        {
            "labels": labels,
            "annotations": {
                "summary": summ,
                "description": f"{summ}. Dashboard: https://grafana.grubly.internal/d/slo/{page}",
                "runbook_url": f"https://runbooks.grubly.internal/slo/{alertname}",
            },
            "startsAt": iso(fire).replace("Z", ".000Z"),
            "endsAt": iso(g.end + 240).replace("Z", ".000Z"),
            "fingerprint": fp,
            "status": {"state": "active", "silencedBy": [], "inhibitedBy": []},
            "generatorURL": f"https://prometheus.grubly.internal/graph?g0.expr=slo%3A{page}",
            "receivers": [{"name": "pagerduty-sre"}],
            "updatedAt": iso(g.end).replace("Z", ".000Z"),
        }
    ]
    with open(os.path.join(outdir, "alerts.json"), "w") as f:
        json.dump(alerts, f, indent=1)
    # changes
    g.changes.sort(key=lambda c: c["ts"])
    with open(os.path.join(outdir, "changes.json"), "w") as f:
        json.dump(g.changes, f, indent=1)
    topo = {"services": {n: {"depends_on": list(ALLDEPS[n])} for n in ALLDEPS}}
    with open(os.path.join(outdir, "topology.yaml"), "w") as f:
        yaml.safe_dump(topo, f, sort_keys=False)
    with open(os.path.join(outdir, "bundle.yaml"), "w") as f:
        yaml.safe_dump(
            {
                "id": g.bid,
                "title": f"{alertname} on {page}",
                "window": {"start": iso(g.start), "end": iso(g.end)},
                "focus_alert": fp,
            },
            f,
            sort_keys=False,
        )
    with open(os.path.join(outdir, "truth.yaml"), "w") as f:
        yaml.safe_dump(truth, f, sort_keys=False)
    inflight = [
        {
            "service": c["svc"],
            "version": c["canary_v"],
            "weight": c["weight"],
            "change_id": c["change_id"],
            "started": iso(c["start"]),
            "defective": c["defective"],
        }
        for c in g.inflight
    ]
    return {
        "id": g.bid,
        "category": cat,
        "mode": mode,
        "truth": truth["root_cause"],
        "description": desc,
        "onset": iso(onset),
        "page_service": page,
        "alert": alertname,
        "vocabulary": g.vocab,
        "step": g.step,
        "logs": g.has_logs,
        "traces": bool(want_traces and trace_root in APPS),
        "in_flight": inflight,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    if os.path.isdir(a.out):
        shutil.rmtree(a.out)
    os.makedirs(a.out)
    plan = build_plan(rng)
    manifest = []
    for i, (cat, mode, hint) in enumerate(plan):
        bid = "canary-%02d" % (i + 1)
        d = os.path.join(a.out, bid)
        os.makedirs(d)
        irng = random.Random(a.seed * 1000 + i)
        manifest.append(build_incident(i, cat, mode, hint, irng, d))
    with open(os.path.join(a.out, "MANIFEST.yaml"), "w") as f:
        yaml.safe_dump(
            {"generator": "scripts/gen_canary.py", "seed": a.seed, "bundles": manifest},
            f,
            sort_keys=False,
            width=200,
        )
    print(f"wrote {len(manifest)} bundles to {a.out}")


if __name__ == "__main__":
    main()
