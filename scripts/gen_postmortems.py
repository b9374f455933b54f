#!/usr/bin/env python3
"""gen_postmortems.py - synthetic incident bundles (bundle v1) shaped like published postmortems
of a Kubernetes-on-cloud shop, with telemetry in the vocabularies real exporters emit.

usage: gen_postmortems.py --out DIR [--seed N]
Deterministic for a given seed. Standard library + PyYAML only.
"""

import argparse
import hashlib
import json
import math
import os
import random
import shutil
from datetime import datetime, timedelta, timezone

import yaml

# ----------------------------------------------------------------------------- helpers


def phi(x):
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def tail(lat, t, sigma=0.55):
    """P(latency > t) for a lognormal whose mean is ~lat."""
    if lat <= 0 or t <= 0:
        return 0.0
    m = lat * 0.86
    return 1 - phi((math.log(t) - math.log(m)) / sigma)


def cdf(lat, le, sigma=0.55):
    if le == float("inf"):
        return 1.0
    m = max(lat, 1e-5) * 0.86
    return phi((math.log(le) - math.log(m)) / sigma)


def fmt(v):
    if v == float("inf"):
        return "+Inf"
    if abs(v - round(v)) < 1e-9 and abs(v) < 1e15:
        return str(int(round(v)))
    s = ("%.6f" % v).rstrip("0").rstrip(".")
    return s if s not in ("-0", "") else "0"


def iso(ts, ms=False):
    d = datetime.fromtimestamp(ts, tz=timezone.utc)
    if ms:
        return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (int(round((ts % 1) * 1000)) % 1000)
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


RS_ALPHA = "bcdfghjklmnpqrstvwxz2456789"


def rs_hash(rng, n=10):
    return "".join(rng.choice(RS_ALPHA) for _ in range(n))


def hexid(rng, n):
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def camel(name):
    return "".join(p.capitalize() for p in name.replace("_", "-").split("-"))


# ----------------------------------------------------------------------------- catalog

EDGES = ["storefront", "api-gateway", "web-bff", "mobile-bff"]
MIDS = [
    "checkout",
    "cart",
    "catalog",
    "search-api",
    "orders",
    "payments",
    "inventory",
    "shipping",
    "pricing",
    "recommendations",
    "user-profile",
    "auth",
    "notifications",
    "reviews",
    "promotions",
    "ledger",
    "fraud-check",
    "tax",
    "wishlist",
    "loyalty",
]
PGS = ["orders-db", "users-db", "catalog-db", "payments-db"]
REDISES = ["cart-redis", "session-redis", "ratelimit-redis"]
EXTERNALS = {
    "stripe-api": "api.stripe.com",
    "twilio-api": "api.twilio.com",
    "sendgrid-api": "api.sendgrid.com",
    "auth0": "acme-shop.us.auth0.com",
    "adyen-api": "checkout-live.adyen.com",
    "shippo-api": "api.goshippo.com",
}
WORKERS = ["order-events-consumer", "email-worker", "search-indexer", "fulfillment-worker"]
EXT_USER = {
    "stripe-api": "payments",
    "adyen-api": "payments",
    "twilio-api": "notifications",
    "sendgrid-api": "notifications",
    "auth0": "auth",
    "shippo-api": "shipping",
}
ROUTES = {
    "checkout": ["/api/checkout", "/api/checkout/{id}/confirm"],
    "cart": ["/api/cart", "/api/cart/items"],
    "catalog": ["/api/products", "/api/products/{id}"],
    "search-api": ["/api/search", "/api/search/suggest"],
    "orders": ["/api/orders", "/api/orders/{id}"],
    "payments": ["/v1/payments", "/v1/payments/{id}/capture"],
    "auth": ["/oauth/token", "/v1/session"],
    "user-profile": ["/api/me", "/api/users/{id}"],
}
GRPC_METHODS = ["Get", "List", "Create", "Update", "Reserve", "Check", "Quote", "Lookup"]
LE_HTTP = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, float("inf")]
LE_OTEL = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, float("inf")]
LE_NGINX = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, float("inf")]
AUTHORS = [
    "mkowalski",
    "jchen",
    "apatel",
    "sofia.r",
    "dnguyen",
    "lmartin",
    "o.adeyemi",
    "tkaur",
    "renovate[bot]",
    "dependabot[bot]",
    "argocd-image-updater",
    "hbrown",
    "yuki.t",
]


class Pod:
    def __init__(self, name, node, start, end, rs):
        self.name, self.node, self.start, self.end, self.rs = name, node, start, end, rs
        self.restarts = []  # indices of container restarts
        self.down = set()  # indices with no scrape (container not running)
        self.term_reason = None
        self.ip = None


class Svc:
    def __init__(self, name, role):
        self.name, self.role = name, role
        self.deps = []
        self.stack = None
        self.ns = "shop"
        self.proto = "http"
        self.pods = []
        self.base_rps = 0.0
        self.headroom = 2.5
        self.base_lat = 0.05
        self.replicas = 3
        self.hpa = None
        self.scrape = "servicemonitor"
        self.buckets = False
        self.version = None


class Bundle:
    def __init__(self, rng, idx, kind, mech):
        self.rng, self.idx, self.kind, self.mech = rng, idx, kind, mech
        self.svcs = {}
        self.changes, self.logs, self.events, self.alerts = [], [], [], []
        self.series = {}  # name -> list of series
        self.queries = {}
        self.aux = {}
        self.confounders = []
        self.scrape_gaps = []  # (predicate on labels, i0, i1)
        self.notes = []

    # --------------------------------------------------------------- arrays
    def z(self):
        return [0.0] * self.T

    def act(self, t0, t1=None, ramp=0, decay=2, level=1.0):
        a = self.z()
        for i in range(self.T):
            if i < t0:
                continue
            v = level if ramp <= 0 else level * min(1.0, (i - t0 + 1) / ramp)
            if t1 is not None and i >= t1:
                v = v * max(0.0, 1 - (i - t1 + 1) / max(decay, 1))
            a[i] = v
        return a

    def ts(self, i):
        return self.start + i * self.step

    def idx_of(self, ts):
        return int((ts - self.start) // self.step)


# ----------------------------------------------------------------------------- topology


def build_topology(B, n, need):
    rng = B.rng
    svcs = B.svcs

    def add(name, role):
        s = Svc(name, role)
        svcs[name] = s
        return s

    n_edge = 1 if n < 10 else 2
    edges = rng.sample(EDGES, n_edge)
    if need.get("edge") and need["edge"] not in edges:
        edges[0] = need["edge"]
    for e in edges:
        add(e, "edge")
    store_names = []
    pg_n = 1 if n < 9 else 2
    pgs = rng.sample(PGS, pg_n)
    if isinstance(need.get("pg"), str) and need["pg"] not in pgs:
        pgs[0] = need["pg"]
    for p in pgs:
        add(p, "pg")
        store_names.append(p)
    redis_n = 0 if n < 7 and not need.get("redis") else 1
    if need.get("redis"):
        redis_n = 1
    for r in rng.sample(REDISES, redis_n):
        add(r, "redis")
    ext_list = list(need.get("ext", []))
    if n >= 8:
        for e in rng.sample(list(EXTERNALS), 1 if n < 15 else 2):
            if e not in ext_list:
                ext_list.append(e)
    for e in ext_list:
        add(e, "external")
    use_kafka = need.get("kafka") or (n >= 11 and rng.random() < 0.6)
    workers = []
    if use_kafka:
        add("kafka", "kafka")
        wn = need.get("worker")
        workers = [wn] if wn else []
        if n >= 14 and rng.random() < 0.5:
            workers.append(rng.choice([w for w in WORKERS if w not in workers]))
        if not workers:
            workers = [rng.choice(WORKERS)]
        for w in workers:
            add(w, "worker")
    if need.get("es") or ("search-indexer" in workers):
        add("elasticsearch", "es")
    if need.get("coredns") or rng.random() < 0.35:
        add("coredns", "dns")
    # mids fill the rest
    musts = [m for m in need.get("mids", [])] + [EXT_USER[e] for e in ext_list]
    mids = []
    for m in musts:
        if m not in mids and m not in svcs:
            mids.append(m)
    if "elasticsearch" in svcs and "search-api" not in mids:
        mids.append("search-api")
    remaining = max(2, n - len(svcs) - len(mids))
    pool = [m for m in MIDS if m not in mids]
    rng.shuffle(pool)
    mids += pool[:remaining]
    # order mids so that "musts" are not all leaves: shuffle but keep determinism
    for m in mids:
        add(m, "mid")
    # edges call first layer
    first = mids[: max(2, min(4, len(mids) // 2))]
    for e in edges:
        k = rng.randint(2, min(4, len(first)))
        svcs[e].deps = rng.sample(first, k)
    # every mid reachable: callers are edges or earlier mids
    for j, m in enumerate(mids):
        callers = [c for c in edges + mids[:j] if m in svcs[c].deps]
        if not callers:
            c = rng.choice(edges + mids[max(0, j - 4) : j]) if j > 0 else rng.choice(edges)
            svcs[c].deps.append(m)
        if j > 0 and rng.random() < 0.35:
            # extra mid->mid edge to later mid
            later = mids[j + 1 :]
            if later:
                t = rng.choice(later)
                if t not in svcs[m].deps:
                    svcs[m].deps.append(t)
    # stores
    for p in pgs:
        owners = [m for m in mids if "db" in p and m.split("-")[0] in p] or []
        k = rng.randint(1, min(3, len(mids)))
        owners = (owners + rng.sample(mids, k))[:k]
        for o in owners:
            if p not in svcs[o].deps:
                svcs[o].deps.append(p)
    for s in svcs.values():
        if s.role == "redis":
            for o in rng.sample(mids, rng.randint(1, min(2, len(mids)))):
                svcs[o].deps.append(s.name)
            if s.name == "ratelimit-redis":
                svcs[edges[0]].deps.append(s.name)
    for e in ext_list:
        u = EXT_USER[e]
        svcs[u].deps.append(e)
    if use_kafka:
        prods = [m for m in mids if m in ("orders", "checkout", "payments", "catalog")] or mids[:1]
        for p in prods[:2]:
            svcs[p].deps.append("kafka")
        for w in workers:
            svcs[w].deps.append("kafka")
            if w == "search-indexer":
                svcs[w].deps.append("elasticsearch")
            elif w == "email-worker":
                svcs[w].deps.append("sendgrid-api" if "sendgrid-api" in svcs else pgs[0])
            else:
                svcs[w].deps.append(rng.choice(pgs))
    if "elasticsearch" in svcs:
        svcs["search-api"].deps.append("elasticsearch")
    if "coredns" in svcs and need.get("coredns"):
        for s in svcs.values():
            if s.role in ("edge", "mid", "worker") and rng.random() < 0.85:
                s.deps.append("coredns")
    for s in svcs.values():
        s.deps = list(dict.fromkeys(d for d in s.deps if d != s.name))
    # attributes
    for s in svcs.values():
        if s.role == "edge":
            s.stack = {
                "storefront": "node",
                "web-bff": "node",
                "mobile-bff": "go",
                "api-gateway": "go",
            }[s.name]
            s.replicas = rng.randint(3, 6)
            s.base_rps = rng.uniform(80, 600)
            s.hpa = {"min": s.replicas, "max": s.replicas + rng.randint(2, 6)}
            s.buckets = rng.random() < 0.5
        elif s.role in ("mid", "worker"):
            s.stack = rng.choice(["java", "java", "go", "go", "python", "node"])
            if s.name in ("payments", "ledger", "orders", "checkout") and rng.random() < 0.6:
                s.stack = "java"
            s.proto = (
                "grpc" if (s.stack == "go" and s.role == "mid" and rng.random() < 0.8) else "http"
            )
            s.replicas = rng.randint(2, 4)
            if rng.random() < 0.35:
                s.hpa = {"min": s.replicas, "max": s.replicas + rng.randint(2, 6)}
            s.buckets = rng.random() < 0.3
        s.base_lat = {
            "edge": 0.02,
            "mid": rng.uniform(0.008, 0.06),
            "worker": 0.05,
            "pg": 0.004,
            "redis": 0.0008,
            "kafka": 0.003,
            "es": 0.03,
            "external": rng.uniform(0.12, 0.35),
            "dns": 0.0015,
        }[s.role]
        s.headroom = rng.uniform(2.2, 3.6)
        s.version = "v%d.%d.%d" % (rng.randint(1, 4), rng.randint(0, 40), rng.randint(0, 12))
        r = rng.random()
        s.scrape = "servicemonitor" if r < 0.62 else ("podmonitor" if r < 0.88 else "annotations")
    # call weights: fanout calls per request, criticality
    B.fan, B.crit, B.timeout, B.retries = {}, {}, {}, {}
    for s in svcs.values():
        for d in s.deps:
            dr = svcs[d].role
            B.fan[(s.name, d)] = {
                "pg": rng.uniform(1.5, 5),
                "redis": rng.uniform(1, 4),
                "dns": 0.05,
                "kafka": 0.3,
            }.get(dr, rng.uniform(0.3, 1.1))
            B.crit[(s.name, d)] = (
                0.15
                if d in ("recommendations", "reviews", "loyalty", "wishlist", "promotions")
                else rng.uniform(0.7, 1.0)
            )
            B.timeout[(s.name, d)] = (
                rng.choice([1.0, 2.0, 3.0, 5.0])
                if dr != "external"
                else rng.choice([5.0, 10.0, 30.0])
            )
            B.retries[(s.name, d)] = rng.choice([0, 1, 2, 3]) if dr in ("mid", "external") else 0


def callers_of(B, name):
    return [s.name for s in B.svcs.values() if name in s.deps]


def topo_order(B):
    """callers before callees"""
    order, seen = [], set()

    def visit(n, stack=()):
        if n in seen or n in stack:
            return
        for c in callers_of(B, n):
            visit(c, stack + (n,))
        seen.add(n)
        order.append(n)

    for n in B.svcs:
        visit(n)
    return order


def path_to_edge(B, name):
    """shortest caller chain from name up to an edge"""
    from collections import deque

    q = deque([[name]])
    seen = {name}
    while q:
        p = q.popleft()
        if B.svcs[p[-1]].role == "edge":
            return p
        for c in callers_of(B, p[-1]):
            if c not in seen:
                seen.add(c)
                q.append(p + [c])
    return [name]


# ----------------------------------------------------------------------------- simulation


def init_state(B):
    T = B.T
    B.surge = {s: [1.0] * T for s in B.svcs}
    B.own_err = {s: {} for s in B.svcs}
    B.own_lat = {s: B.z() for s in B.svcs}
    B.lat_mult = {s: [1.0] * T for s in B.svcs}
    B.cap_mult = {s: [1.0] * T for s in B.svcs}
    B.ready = {s: [1.0] * T for s in B.svcs}
    B.client_fail = {}
    B.link_lat = {}
    B.load_mult = {}
    B.timeout_arr = {}
    B.cron = {s: B.z() for s in B.svcs}
    B.cpu_mult = {s: [1.0] * T for s in B.svcs}
    B.mem_add = {s: B.z() for s in B.svcs}
    B.consume_mult = {s: [1.0] * T for s in B.svcs}
    rng = B.rng
    B.noise = {}
    for s in B.svcs:
        amp = 0.04 if rng.random() < 0.85 else 0.18  # some noisy services
        B.noise[s] = [1 + rng.gauss(0, amp) for _ in range(T)]
    ph = rng.uniform(0, 2 * math.pi)
    B.diurnal = [1 + 0.25 * math.sin(ph + 2 * math.pi * (i * B.step) / 86400.0) for i in range(T)]


def add_err(B, s, code, arr):
    cur = B.own_err[s].setdefault(code, B.z())
    for i, v in enumerate(arr):
        cur[i] = min(1.0, cur[i] + v)


def add_cf(B, c, d, typ, arr):
    cur = B.client_fail.setdefault((c, d), {}).setdefault(typ, B.z())
    for i, v in enumerate(arr):
        cur[i] = min(1.0, cur[i] + v)


TRANSIENT = {"server503", "conn", "reset", "ratelimit", "dns", "timeout"}
EDGE_CODE = {
    "server500": "500",
    "server503": "503",
    "timeout": "504",
    "conn": "503",
    "reset": "502",
    "tls": "502",
    "ratelimit": "503",
    "dns": "502",
    "server504": "504",
    "server429": "503",
}


def simulate(B):
    T, svcs = B.T, B.svcs
    order = topo_order(B)
    B.rps = {s: B.z() for s in svcs}
    B.lat = {s: [svcs[s].base_lat] * T for s in svcs}
    B.err = {s: {} for s in svcs}
    B.errtot = {s: B.z() for s in svcs}
    B.fail = {}  # (c,d) -> {type: arr}
    B.failtot = {}
    B.util = {s: B.z() for s in svcs}
    B.repl = {s: [svcs[s].replicas] * T for s in svcs}
    base_known = False
    for it in range(4):
        # ---- traffic, top-down
        for s in order:
            sv = svcs[s]
            if sv.role == "edge":
                B.rps[s] = [
                    sv.base_rps * B.diurnal[i] * B.noise[s][i] * B.surge[s][i] + B.cron[s][i]
                    for i in range(T)
                ]
            elif sv.role == "worker":
                prods = [c for c in svcs if "kafka" in svcs[c].deps and svcs[c].role != "worker"]
                prod = [sum(B.rps[p][i] * 0.3 for p in prods) or 20.0 for i in range(T)]
                B.aux[(s, "produce")] = prod
                B.rps[s] = [prod[i] * B.consume_mult[s][i] * B.noise[s][i] for i in range(T)]
            else:
                arr = [B.cron[s][i] for i in range(T)]
                for c in callers_of(B, s):
                    f = B.fan[(c, s)]
                    lm = B.load_mult.get((c, s))
                    r = B.retries[(c, s)]
                    ft = B.failtot.get((c, s))
                    for i in range(T):
                        m = f * (lm[i] if lm else 1.0)
                        if ft and r:
                            m *= 1 + r * min(1.0, ft[i])
                        arr[i] += B.rps[c][i] * m
                B.rps[s] = [arr[i] * B.noise[s][i] for i in range(T)]
        if not base_known:
            for s in svcs:
                head = B.rps[s][: max(3, T // 5)]
                svcs[s].base_rps = max(0.5, sum(head) / len(head))
            base_known = True
        # ---- HPA
        for s in svcs:
            sv = svcs[s]
            if not sv.hpa:
                continue
            cur = sv.replicas
            out = []
            for i in range(T):
                if i >= 2:
                    u = (
                        B.rps[s][i - 2] / (sv.base_rps * sv.headroom / sv.replicas * cur)
                        if cur
                        else 1
                    )
                    want = math.ceil(cur * u / 0.55)
                    if want > cur:
                        cur = min(sv.hpa["max"], cur + max(1, (want - cur) // 2 + 1))
                    elif want < cur - 1 and i % max(1, int(300 / B.step)) == 0:
                        cur = max(sv.hpa["min"], cur - 1)
                out.append(cur)
            B.repl[s] = out
        # ---- errors / latency, bottom-up
        for s in reversed(order):
            sv = svcs[s]
            codes = {}
            own = B.own_err[s]
            lat = []
            for i in range(T):
                capacity = (
                    sv.base_rps
                    * sv.headroom
                    * (B.repl[s][i] / sv.replicas)
                    * B.cap_mult[s][i]
                    * max(B.ready[s][i], 0.0)
                )
                u = B.rps[s][i] / capacity if capacity > 0 else 9.0
                if sv.role in ("external", "dns"):
                    u = min(u, 0.5)
                B.util[s][i] = u
                satf = min(12.0, 1 + 0.5 * u**3 / max(0.08, 1.05 - u))
                over = max(0.0, (1 - 1 / u) * 0.9) if u > 1 else 0.0
                lat.append(
                    sv.base_lat * satf * B.lat_mult[s][i] * (0.92 + 0.08 * B.noise[s][i])
                    + B.own_lat[s][i]
                )
                ok = 1.0
                for code, arr in own.items():
                    ok *= 1 - arr[i]
                ok *= 1 - over
                codes.setdefault("503", B.z())[i] += over
                for code, arr in own.items():
                    codes.setdefault(code, B.z())[i] += arr[i]
            # dependencies
            for d in sv.deps:
                types = {}
                to = B.timeout_arr.get((s, d))
                cf = B.client_fail.get((s, d), {})
                ll = B.link_lat.get((s, d))
                for i in range(T):
                    t_o = to[i] if to else B.timeout[(s, d)]
                    srv = B.errtot[d][i]
                    tout = tail(B.lat[d][i], t_o)
                    conn = 1.0 if B.ready[d][i] < 0.01 else 0.02 * (1 - B.ready[d][i])
                    vals = {"server": srv, "timeout": tout, "conn": conn}
                    for typ, arr in cf.items():
                        vals[typ] = vals.get(typ, 0) + arr[i]
                    for typ, v in vals.items():
                        types.setdefault(typ, B.z())[i] = min(1.0, v)
                    add = B.fan[(s, d)] * (min(B.lat[d][i], t_o) * (1 - tout) + t_o * tout) + (
                        ll[i] if ll else 0
                    )
                    lat[i] += add * (1 + 0.5 * B.retries[(s, d)] * min(1, srv + tout + conn))
                B.fail[(s, d)] = types
                tot = B.z()
                for i in range(T):
                    ok = 1.0
                    for arr in types.values():
                        ok *= 1 - arr[i]
                    tot[i] = 1 - ok
                B.failtot[(s, d)] = tot
                # caller's own error from this dependency
                r = B.retries[(s, d)]
                crit = B.crit[(s, d)]
                fan = min(3.0, max(1.0, B.fan[(s, d)]))
                for typ, arr in types.items():
                    for i in range(T):
                        f = arr[i]
                        if f <= 0:
                            continue
                        if typ in TRANSIENT or typ == "server":
                            f = f ** (1 + 0.6 * r)
                        e = crit * (1 - (1 - f) ** fan)
                        if e <= 1e-6:
                            continue
                        if typ == "server":
                            sub = B.err[d]
                            tot_d = sum(a[i] for a in sub.values()) or 1
                            for code, a in sub.items():
                                if sv.role == "edge" or sv.stack == "go":
                                    cc = {"429": "503", "404": "502"}.get(
                                        code,
                                        code if code in ("500", "502", "503", "504") else "500",
                                    )
                                else:
                                    cc = "500" if code not in ("503",) else "503"
                                codes.setdefault(cc, B.z())[i] += e * a[i] / tot_d
                        else:
                            cc = (
                                EDGE_CODE.get(typ, "500")
                                if sv.role == "edge"
                                else ("504" if typ == "timeout" and sv.stack == "go" else "500")
                            )
                            codes.setdefault(cc, B.z())[i] += e
            for c in codes:
                codes[c] = [min(1.0, v) for v in codes[c]]
            B.err[s] = {c: a for c, a in codes.items() if max(a) > 1e-5}
            B.errtot[s] = [min(0.999, sum(a[i] for a in B.err[s].values())) for i in range(T)]
            B.lat[s] = lat
    # workers: lag
    for s, sv in svcs.items():
        if sv.role == "worker":
            prod = B.aux[(s, "produce")]
            eff = [
                B.rps[s][i] * (1 - B.errtot[s][i]) * min(1.0, B.ready[s][i] * 1.0) for i in range(T)
            ]
            lag, L = [], B.rng.uniform(20, 200)
            for i in range(T):
                L = max(
                    B.rng.uniform(5, 60),
                    L + (prod[i] - eff[i] * (1.0 if prod[i] > eff[i] else 1.6)) * B.step,
                )
                lag.append(L)
            B.aux[(s, "lag")] = lag


# ----------------------------------------------------------------------------- pods


def build_nodes(B):
    rng = B.rng
    zones = ["us-east-1a", "us-east-1b", "us-east-1c"]
    B.nodes = []
    for k in range(rng.randint(4, 9)):
        a, b = rng.randint(0, 2) * 16 + rng.randint(1, 15), rng.randint(2, 250)
        z = zones[k % 3]
        B.nodes.append(
            {
                "name": "ip-10-0-%d-%d.ec2.internal" % (a, b),
                "ip": "10.0.%d.%d" % (a, b),
                "zone": z,
                "pool": rng.choice(["general-m6i", "general-m6i", "spot-c6i"]),
            }
        )


def build_pods(B):
    rng = B.rng
    B.deploy_at = getattr(B, "deploy_at", {})
    B.crash = getattr(B, "crash", {})
    for s, sv in B.svcs.items():
        if sv.role not in ("edge", "mid", "worker", "dns"):
            continue
        if sv.role == "dns":
            B.repl[s] = [2] * B.T
            sv.ns = "kube-system"
        rs = rs_hash(rng)
        active, allp = [], []
        roll = []
        deps = B.deploy_at.get(s, [])

        def newpod(i, rsh):
            node = rng.choice(B.nodes)
            if s in getattr(B, "pin_nodes", {}) and rng.random() < 0.8:
                node = rng.choice(B.pin_nodes[s])
            name = (
                ("coredns-%s-%s" % (rsh, rs_hash(rng, 5)))
                if sv.role == "dns"
                else "%s-%s-%s" % (s, rsh, rs_hash(rng, 5))
            )
            p = Pod(name, node, i, None, rsh)
            p.ip = "10.%d.%d.%d" % (rng.randint(100, 127), rng.randint(0, 255), rng.randint(2, 254))
            p.uptime_steps = (
                rng.randint(int(3600 * 12 / B.step), int(86400 * 6 / B.step)) if i < 0 else 0
            )
            active.append(p)
            allp.append(p)
            return p

        for k in range(B.repl[s][0]):
            newpod(-1, rs)
        for i in range(B.T):
            if i in deps:
                rs = rs_hash(rng)
                roll = [p for p in active if p.rs != rs]
            if roll and (i - min([d for d in deps if d <= i] or [i])) % 1 == 0:
                old = roll.pop(0)
                if old in active:
                    old.end = i
                    active.remove(old)
                    newpod(i, rs)
            n = B.repl[s][i]
            while len(active) < n:
                newpod(i, rs)
            while len(active) > n:
                p = active.pop()
                p.end = i
        sv.pods = allp
        sv.cur_rs = rs
        # crash loops
        spec = B.crash.get(s)
        if spec:
            cand = [
                p
                for p in allp
                if (p.end is None or p.end > spec["from"])
                and (not spec.get("new_rs") or p.start >= spec["from"] - 1)
            ]
            k = max(1, int(round(len(cand) * spec["frac"])))
            for p in cand[:k]:
                p.term_reason = spec["reason"]
                t = max(spec["from"], p.start) * B.step + rng.uniform(0, spec.get("run", 60))
                back = 10.0
                stop = spec.get("to", None)
                endt = (p.end if p.end is not None else B.T) * B.step
                while t < endt:
                    i = int(t // B.step)
                    if stop is not None and i >= stop:
                        break
                    p.restarts.append(i)
                    for j in range(i, min(B.T, int((t + back) // B.step) + 1)):
                        p.down.add(j)
                    t += back + rng.uniform(spec.get("run", 60) * 0.3, spec.get("run", 60))
                    back = min(300.0, back * 2)


def active_pods(B, s, i):
    return [p for p in B.svcs[s].pods if p.start <= i and (p.end is None or i < p.end)]


# ----------------------------------------------------------------------------- metric emission


def gapped(B, labels, i):
    for match, i0, i1 in B.scrape_gaps:
        if i0 <= i < i1 and all(labels.get(k) == v for k, v in match.items()):
            return True
    return False


def put(B, name, labels, pts, query=None):
    if not pts:
        return
    m = {"__name__": name}
    m.update(labels)
    B.series.setdefault(name, []).append({"metric": m, "values": pts})
    if name not in B.queries:
        B.queries[name] = (
            query or '%s{namespace=~"shop|kube-system|ingress-nginx|monitoring"}' % name
        )


def gauge(B, name, labels, vals, pod=None, i_from=0, i_to=None):
    pts = []
    for i in range(i_from, B.T if i_to is None else min(B.T, i_to)):
        if pod is not None:
            if i < pod.start or (pod.end is not None and i >= pod.end) or i in pod.down:
                continue
        if gapped(B, labels, i):
            continue
        v = vals[i] if isinstance(vals, list) else vals
        if v is None:
            continue
        pts.append([B.ts(i), fmt(v)])
    put(B, name, labels, pts)


def counter(B, name, labels, inc, pod=None, preexist=True, reset_on_restart=True):
    rng = B.rng
    v = 0.0
    if pod is not None and pod.start < 0 and preexist:
        avg = sum(inc[: max(3, B.T // 4)]) / max(3, B.T // 4)
        v = avg * pod.uptime_steps * rng.uniform(0.8, 1.2)
        if avg == 0 and rng.random() < 0.3:
            v = float(rng.randint(1, 40))
    elif pod is None and preexist:
        avg = sum(inc[: max(3, B.T // 4)]) / max(3, B.T // 4)
        v = avg * rng.randint(2000, 20000)
    pts, started = [], v > 0
    for i in range(B.T):
        if pod is not None:
            if i < pod.start or (pod.end is not None and i >= pod.end):
                continue
            if reset_on_restart and i in pod.restarts:
                v = 0.0
        v += max(0.0, inc[i])
        if pod is not None and i in pod.down:
            continue
        if gapped(B, labels, i):
            continue
        if not started and v <= 0:
            continue
        started = True
        pts.append([B.ts(i), fmt(round(v, 3))])
    put(B, name, labels, pts)


def app_labels(B, sv, pod, extra=None):
    ns = sv.ns
    if sv.scrape == "servicemonitor":
        l = {
            "container": sv.name,
            "endpoint": "http-metrics",
            "instance": "%s:8080" % pod.ip,
            "job": sv.name,
            "namespace": ns,
            "pod": pod.name,
            "service": sv.name,
        }
    elif sv.scrape == "podmonitor":
        l = {
            "app_kubernetes_io_name": sv.name,
            "app_kubernetes_io_part_of": "shop",
            "container": sv.name,
            "instance": "%s:9090" % pod.ip,
            "job": "%s/%s" % (ns, sv.name),
            "namespace": ns,
            "pod": pod.name,
        }
    else:
        l = {
            "app": sv.name,
            "instance": "%s:8080" % pod.ip,
            "job": "kubernetes-pods",
            "kubernetes_namespace": ns,
            "kubernetes_pod_name": pod.name,
            "pod_template_hash": pod.rs,
        }
    if sv.stack == "java":
        l["application"] = sv.name
    if extra:
        l.update(extra)
    return l


def pod_share(B, s):
    """per pod per-step request counts"""
    sv = B.svcs[s]
    out = {}
    for i in range(B.T):
        act = [p for p in active_pods(B, s, i) if i not in p.down]
        n = len(act) or 1
        for p in act:
            out.setdefault(p.name, B.z())[i] = B.rps[s][i] * B.step / n
    return out


def status_split(B, s, i):
    e = B.err[s]
    d = {"200": max(0.0, 1 - B.errtot[s][i])}
    for c, a in e.items():
        d[c] = d.get(c, 0) + a[i] * (B.errtot[s][i] / max(1e-9, sum(x[i] for x in e.values())))
    return d


def emit_app(B, s):
    sv = B.svcs[s]
    share = pod_share(B, s)
    codes = ["200"] + sorted(B.err[s])
    route = ROUTES.get(s, ["/api/%s" % s.replace("-", "_")])[0]
    gm = GRPC_METHODS[sh(s) % len(GRPC_METHODS)]
    grpc_svc = "shop.%s.v1.%sService" % (s.replace("-", ""), camel(s))
    GCODE = {
        "200": "OK",
        "500": "Internal",
        "502": "Unavailable",
        "503": "Unavailable",
        "504": "DeadlineExceeded",
        "429": "ResourceExhausted",
        "404": "NotFound",
    }
    for p in sv.pods:
        inc = share.get(p.name, B.z())
        split = [status_split(B, s, i) for i in range(B.T)]
        latv = B.lat[s]
        if sv.proto == "grpc":
            gc = {}
            for c in codes:
                gc.setdefault(GCODE.get(c, "Unknown"), []).append(c)
            for g, cl in gc.items():
                counter(
                    B,
                    "grpc_server_handled_total",
                    app_labels(
                        B,
                        sv,
                        p,
                        {
                            "grpc_code": g,
                            "grpc_method": gm,
                            "grpc_service": grpc_svc,
                            "grpc_type": "unary",
                        },
                    ),
                    [inc[i] * sum(split[i].get(c, 0) for c in cl) for i in range(B.T)],
                    p,
                    preexist=(g == "OK" or B.rng.random() < 0.3),
                )
            counter(
                B,
                "grpc_server_started_total",
                app_labels(
                    B, sv, p, {"grpc_method": gm, "grpc_service": grpc_svc, "grpc_type": "unary"}
                ),
                inc,
                p,
            )
            if sv.buckets:
                for le in LE_HTTP:
                    counter(
                        B,
                        "grpc_server_handling_seconds_bucket",
                        app_labels(
                            B,
                            sv,
                            p,
                            {
                                "grpc_method": gm,
                                "grpc_service": grpc_svc,
                                "grpc_type": "unary",
                                "le": fmt(le),
                            },
                        ),
                        [inc[i] * cdf(latv[i], le) for i in range(B.T)],
                        p,
                    )
            counter(
                B,
                "grpc_server_handling_seconds_sum",
                app_labels(
                    B, sv, p, {"grpc_method": gm, "grpc_service": grpc_svc, "grpc_type": "unary"}
                ),
                [inc[i] * latv[i] for i in range(B.T)],
                p,
            )
            counter(
                B,
                "grpc_server_handling_seconds_count",
                app_labels(
                    B, sv, p, {"grpc_method": gm, "grpc_service": grpc_svc, "grpc_type": "unary"}
                ),
                inc,
                p,
            )
        elif sv.stack == "java":
            for c in codes:
                outcome = (
                    "SUCCESS"
                    if c == "200"
                    else ("CLIENT_ERROR" if c.startswith("4") else "SERVER_ERROR")
                )
                exc = (
                    "None"
                    if c == "200"
                    else B.aux.get(
                        (s, "exception"),
                        {
                            "500": "RuntimeException",
                            "503": "ServiceUnavailableException",
                            "504": "TimeoutException",
                        }.get(c, "None"),
                    )
                )
                lab = app_labels(
                    B,
                    sv,
                    p,
                    {
                        "exception": exc,
                        "method": "POST" if "checkout" in route or "payments" in route else "GET",
                        "outcome": outcome,
                        "status": c,
                        "uri": route,
                    },
                )
                counter(
                    B,
                    "http_server_requests_seconds_count",
                    lab,
                    [inc[i] * split[i].get(c, 0) for i in range(B.T)],
                    p,
                    preexist=(c == "200"),
                )
                counter(
                    B,
                    "http_server_requests_seconds_sum",
                    lab,
                    [
                        inc[i] * split[i].get(c, 0) * latv[i] * (1.0 if c == "200" else 1.4)
                        for i in range(B.T)
                    ],
                    p,
                    preexist=(c == "200"),
                )
            if sh(s) % 2 == 0:
                gauge(
                    B,
                    "http_server_requests_seconds_max",
                    app_labels(
                        B,
                        sv,
                        p,
                        {
                            "method": "GET",
                            "outcome": "SUCCESS",
                            "status": "200",
                            "uri": route,
                            "exception": "None",
                        },
                    ),
                    [latv[i] * B.rng.uniform(2.5, 4.5) for i in range(B.T)],
                    p,
                )
        elif sv.stack == "python":
            for c in codes:
                lab = app_labels(
                    B,
                    sv,
                    p,
                    {
                        "http_request_method": "GET",
                        "http_response_status_code": c,
                        "http_route": route,
                        "otel_scope_name": "opentelemetry.instrumentation.fastapi",
                        "network_protocol_version": "1.1",
                    },
                )
                cinc = [inc[i] * split[i].get(c, 0) for i in range(B.T)]
                counter(
                    B,
                    "http_server_request_duration_seconds_count",
                    lab,
                    cinc,
                    p,
                    preexist=(c == "200"),
                )
                counter(
                    B,
                    "http_server_request_duration_seconds_sum",
                    lab,
                    [cinc[i] * latv[i] for i in range(B.T)],
                    p,
                    preexist=(c == "200"),
                )
                if sv.buckets and c == "200":
                    for le in LE_OTEL:
                        counter(
                            B,
                            "http_server_request_duration_seconds_bucket",
                            dict(lab, le=fmt(le)),
                            [cinc[i] * cdf(latv[i], le) for i in range(B.T)],
                            p,
                        )
        else:  # node (express-prom-bundle) or go http (promhttp-style)
            for c in codes:
                lab = app_labels(B, sv, p, {"method": "GET", "path": route, "status_code": c})
                cinc = [inc[i] * split[i].get(c, 0) for i in range(B.T)]
                counter(
                    B, "http_request_duration_seconds_count", lab, cinc, p, preexist=(c == "200")
                )
                counter(
                    B,
                    "http_request_duration_seconds_sum",
                    lab,
                    [cinc[i] * latv[i] for i in range(B.T)],
                    p,
                    preexist=(c == "200"),
                )
                if sv.buckets and c == "200":
                    for le in LE_HTTP:
                        counter(
                            B,
                            "http_request_duration_seconds_bucket",
                            dict(lab, le=fmt(le)),
                            [cinc[i] * cdf(latv[i], le) for i in range(B.T)],
                            p,
                        )
        # client-side metrics towards dependencies
        for d in sv.deps:
            dv = B.svcs[d]
            if dv.role in ("pg", "redis", "kafka", "dns", "es"):
                continue
            f = B.fan[(s, d)]
            fail = B.fail.get((s, d), {})
            r = B.retries[(s, d)]
            cinc = [inc[i] * f * (1 + r * B.failtot[(s, d)][i]) for i in range(B.T)]
            if dv.proto == "grpc" and sv.stack == "go":
                gsvc = "shop.%s.v1.%sService" % (d.replace("-", ""), camel(d))
                groups = {"OK": [1 - B.failtot[(s, d)][i] for i in range(B.T)]}
                for typ, arr in fail.items():
                    g = {
                        "timeout": "DeadlineExceeded",
                        "server": "Unavailable",
                        "conn": "Unavailable",
                        "tls": "Unavailable",
                        "reset": "Unavailable",
                        "dns": "Unavailable",
                        "ratelimit": "ResourceExhausted",
                        "goaway": "Unavailable",
                    }.get(typ, "Unknown")
                    if typ == "server" and "500" in B.err[d]:
                        g = "Internal"
                    tgt = groups.setdefault(g, B.z())
                    for i in range(B.T):
                        tgt[i] += arr[i]
                for g, arr in groups.items():
                    if max(arr) < 1e-5:
                        continue
                    counter(
                        B,
                        "grpc_client_handled_total",
                        app_labels(
                            B,
                            sv,
                            p,
                            {
                                "grpc_code": g,
                                "grpc_method": GRPC_METHODS[sh(d) % len(GRPC_METHODS)],
                                "grpc_service": gsvc,
                                "grpc_type": "unary",
                            },
                        ),
                        [cinc[i] * min(1.0, arr[i]) for i in range(B.T)],
                        p,
                        preexist=(g == "OK"),
                    )
            else:
                host = EXTERNALS.get(d, "%s.%s.svc.cluster.local" % (d, dv.ns))
                okf = [1 - B.failtot[(s, d)][i] for i in range(B.T)]
                outs = {"200": okf}
                for typ, arr in fail.items():
                    code = {
                        "server": None,
                        "timeout": "timeout",
                        "conn": "connect",
                        "tls": "tls",
                        "reset": "reset",
                        "dns": "dns",
                        "ratelimit": "429",
                    }.get(typ, typ)
                    if code is None:
                        for c2, a2 in B.err[d].items():
                            tgt = outs.setdefault(c2, B.z())
                            tot = [
                                max(1e-9, sum(x[i] for x in B.err[d].values())) for i in range(B.T)
                            ]
                            for i in range(B.T):
                                tgt[i] += arr[i] * a2[i] / tot[i]
                    else:
                        tgt = outs.setdefault(code, B.z())
                        for i in range(B.T):
                            tgt[i] += arr[i]
                for code, arr in outs.items():
                    if max(arr) < 1e-5:
                        continue
                    vals = [cinc[i] * min(1.0, arr[i]) for i in range(B.T)]
                    if sv.stack == "java":
                        st = code if code[0].isdigit() else "CLIENT_ERROR"
                        lab = app_labels(
                            B,
                            sv,
                            p,
                            {
                                "client_name": host,
                                "method": "POST",
                                "outcome": "SUCCESS"
                                if code == "200"
                                else (
                                    "CLIENT_ERROR"
                                    if st == "429"
                                    else "SERVER_ERROR"
                                    if st[0] == "5"
                                    else "UNKNOWN"
                                ),
                                "status": st,
                                "uri": "/v1/%s" % d.split("-")[0],
                            },
                        )
                        if not code[0].isdigit():
                            lab["exception"] = {
                                "timeout": "SocketTimeoutException",
                                "connect": "ConnectException",
                                "tls": "SSLHandshakeException",
                                "reset": "SocketException",
                                "dns": "UnknownHostException",
                            }.get(code, "IOException")
                        counter(
                            B,
                            "http_client_requests_seconds_count",
                            lab,
                            vals,
                            p,
                            preexist=(code == "200"),
                        )
                    else:
                        lab = app_labels(
                            B,
                            sv,
                            p,
                            {
                                "http_request_method": "POST",
                                "server_address": host,
                                "server_port": "443" if d in EXTERNALS else "8080",
                            },
                        )
                        if code[0].isdigit():
                            lab["http_response_status_code"] = code
                        else:
                            lab["error_type"] = {
                                "timeout": "timeout",
                                "connect": "connection_refused",
                                "tls": "tls_error",
                                "reset": "connection_reset",
                                "dns": "dns_error",
                            }.get(code, code)
                        if d in EXTERNALS and B.rng.random() < 0.5:
                            lab["peer_service"] = d
                        counter(
                            B,
                            "http_client_request_duration_seconds_count",
                            lab,
                            vals,
                            p,
                            preexist=(code == "200"),
                        )
        # runtime metrics
        mem = B.aux.get((s, "mem_base"))
        if mem is None:
            mem = B.aux[(s, "mem_base")] = B.rng.uniform(180, 900) * 2**20
        if sv.stack == "java":
            heap = [
                mem * 0.55 * (1 + 0.15 * math.sin(i / 3.0)) + B.mem_add[s][i] * 0.9
                for i in range(B.T)
            ]
            gauge(
                B,
                "jvm_memory_used_bytes",
                app_labels(B, sv, p, {"area": "heap", "id": "G1 Old Gen"}),
                heap,
                p,
            )
            gcm = B.aux.get((s, "gc"), [1.0] * B.T)
            counter(
                B,
                "jvm_gc_pause_seconds_sum",
                app_labels(
                    B,
                    sv,
                    p,
                    {
                        "action": "end of minor GC",
                        "cause": "G1 Evacuation Pause",
                        "gc": "G1 Young Generation",
                    },
                ),
                [0.004 * B.step / 10 * gcm[i] for i in range(B.T)],
                p,
            )
            counter(
                B,
                "jvm_gc_pause_seconds_count",
                app_labels(
                    B,
                    sv,
                    p,
                    {
                        "action": "end of minor GC",
                        "cause": "G1 Evacuation Pause",
                        "gc": "G1 Young Generation",
                    },
                ),
                [0.2 * B.step / 10 * (1 + (gcm[i] - 1) * 0.3) for i in range(B.T)],
                p,
            )
            if any(B.svcs[d].role == "pg" for d in sv.deps):
                mx = B.aux.get((s, "pool_max"), [10.0] * B.T)
                act = B.aux.get((s, "pool_active"))
                if act is None:
                    act = [
                        min(
                            mx[i],
                            max(
                                0.0,
                                B.rps[s][i] / max(1, len(active_pods(B, s, i))) * 0.01
                                + B.rng.uniform(0, 1.5),
                            ),
                        )
                        for i in range(B.T)
                    ]
                pend = B.aux.get((s, "pool_pending"), [0.0] * B.T)
                lab = app_labels(B, sv, p, {"pool": "HikariPool-1"})
                gauge(B, "hikaricp_connections_active", lab, [round(x) for x in act], p)
                gauge(B, "hikaricp_connections_pending", lab, [round(x) for x in pend], p)
                gauge(B, "hikaricp_connections_max", lab, mx, p)
        elif sv.stack == "go":
            gauge(
                B,
                "go_goroutines",
                app_labels(B, sv, p),
                [
                    int(40 + B.rps[s][i] * 0.2 * (1 + 3 * B.errtot[s][i]) + B.rng.randint(0, 12))
                    for i in range(B.T)
                ],
                p,
            )
            if any(B.svcs[d].role == "pg" for d in sv.deps):
                mx = B.aux.get((s, "pool_max"), [25.0] * B.T)
                act = B.aux.get((s, "pool_active"))
                if act is None:
                    act = [min(mx[i], B.rng.uniform(1, 5)) for i in range(B.T)]
                lab = app_labels(B, sv, p, {"db_name": "app"})
                gauge(B, "go_sql_stats_connections_in_use", lab, [round(x) for x in act], p)
                gauge(B, "go_sql_stats_connections_max_open", lab, mx, p)
                counter(
                    B,
                    "go_sql_stats_connections_wait_count_total",
                    lab,
                    [x * 3 for x in B.aux.get((s, "pool_pending"), B.z())],
                    p,
                )
        elif sv.stack == "node":
            gauge(
                B,
                "nodejs_eventloop_lag_p99_seconds",
                app_labels(B, sv, p),
                [
                    0.012 * B.lat_mult[s][i] * (1 + B.util[s][i] ** 3) * B.rng.uniform(0.8, 1.3)
                    for i in range(B.T)
                ],
                p,
            )
        else:
            gauge(
                B,
                "process_resident_memory_bytes",
                app_labels(B, sv, p),
                [mem + B.mem_add[s][i] for i in range(B.T)],
                p,
            )


def sh(s):
    return int(hashlib.md5(s.encode()).hexdigest()[:8], 16)


def emit_k8s(B, s):
    sv = B.svcs[s]
    ksm = {
        "endpoint": "http",
        "instance": "10.101.7.23:8080",
        "job": "kube-state-metrics",
        "service": "kube-state-metrics",
    }
    cpu_lim = B.aux.get((s, "cpu_limit"), 1.0 if sv.role != "edge" else 2.0)
    mem_lim = B.aux.get((s, "mem_limit"), 1024 * 2**20 if sv.stack != "java" else 2048 * 2**20)
    dep = "coredns" if sv.role == "dns" else s
    gauge(
        B,
        "kube_deployment_spec_replicas",
        dict(ksm, deployment=dep, namespace=sv.ns),
        [float(x) for x in B.repl[s]],
    )
    avail = [
        float(
            len(
                [
                    p
                    for p in active_pods(B, s, i)
                    if i not in p.down and not (p.restarts and i >= p.restarts[0] and p.term_reason)
                ]
            )
        )
        for i in range(B.T)
    ]
    gauge(
        B,
        "kube_deployment_status_replicas_available",
        dict(ksm, deployment=dep, namespace=sv.ns),
        avail,
    )
    if sv.hpa:
        gauge(
            B,
            "kube_horizontalpodautoscaler_status_current_replicas",
            dict(ksm, horizontalpodautoscaler=s, namespace=sv.ns),
            [float(x) for x in B.repl[s]],
        )
        gauge(
            B,
            "kube_horizontalpodautoscaler_spec_max_replicas",
            dict(ksm, horizontalpodautoscaler=s, namespace=sv.ns),
            float(sv.hpa["max"]),
        )
    mem_base = B.aux.get((s, "mem_base"), 300 * 2**20)
    cm = B.cpu_mult[s]
    for p in sv.pods:
        ctn = "coredns" if sv.role == "dns" else s
        kl = dict(
            ksm,
            container=ctn,
            namespace=sv.ns,
            pod=p.name,
            uid="%08x-%04x-4%03x-a%03x-%012x"
            % (
                sh(p.name),
                sh(p.name) % 65535,
                sh(p.name) % 4095,
                sh(p.rs) % 4095,
                sh(p.name + "u"),
            ),
        )
        rest = B.z()
        for i in p.restarts:
            rest[i] += 1
        counter(
            B,
            "kube_pod_container_status_restarts_total",
            kl,
            rest,
            None if p.start < 0 else p,
            preexist=False,
            reset_on_restart=False,
        ) if False else None
        # restarts counter: starts at 0 (or small) and never resets
        base = 0 if p.start >= 0 else B.rng.choice([0, 0, 0, 1])
        vals, v = [], float(base)
        for i in range(B.T):
            if i < p.start or (p.end is not None and i >= p.end):
                continue
            v += rest[i]
            if not gapped(B, kl, i):
                vals.append([B.ts(i), fmt(v)])
        put(B, "kube_pod_container_status_restarts_total", kl, vals)
        if p.term_reason:
            first = p.restarts[0] if p.restarts else None
            if first is not None:
                gauge(
                    B,
                    "kube_pod_container_status_last_terminated_reason",
                    dict(kl, reason=p.term_reason),
                    1.0,
                    p,
                    i_from=first,
                )
                wv = [1.0 if i in p.down else 0.0 for i in range(B.T)]
                gauge(
                    B,
                    "kube_pod_container_status_waiting_reason",
                    dict(kl, reason="CrashLoopBackOff"),
                    wv,
                    None,
                    i_from=first,
                    i_to=p.end,
                )
        if (s, "cpu_limit") in B.aux or B.lim_all:
            gauge(
                B,
                "kube_pod_container_resource_limits",
                dict(kl, node=p.node["name"], resource="cpu", unit="core"),
                cpu_lim,
                p,
            )
        if s in B.crash or B.lim_all:
            gauge(
                B,
                "kube_pod_container_resource_limits",
                dict(kl, node=p.node["name"], resource="memory", unit="byte"),
                float(mem_lim),
                p,
            )
        # cAdvisor
        cl = {
            "container": ctn,
            "endpoint": "https-metrics",
            "image": "registry.acme.io/shop/%s:%s" % (ctn, sv.version)
            if sv.role != "dns"
            else "registry.k8s.io/coredns/coredns:v1.11.1",
            "instance": "%s:10250" % p.node["ip"],
            "job": "kubelet",
            "metrics_path": "/metrics/cadvisor",
            "namespace": sv.ns,
            "node": p.node["name"],
            "pod": p.name,
            "service": "kubelet",
        }
        n_act = [max(1, len(active_pods(B, s, i))) for i in range(B.T)]
        per_req = 0.35 * cpu_lim / max(1.0, sv.base_rps / sv.replicas)
        demand = [
            (0.03 + B.rps[s][i] / n_act[i] * per_req * cm[i]) * B.rng.uniform(0.9, 1.1)
            for i in range(B.T)
        ]
        used = [min(cpu_lim, d) for d in demand]
        counter(B, "container_cpu_usage_seconds_total", cl, [u * B.step for u in used], p)
        periods = B.step * 10.0
        thr = [
            periods * min(1.0, max(0.0, (demand[i] / cpu_lim - 0.75) * 1.6))
            + (periods * 0.002 * B.rng.random())
            for i in range(B.T)
        ]
        if (s, "cpu_limit") in B.aux or B.lim_all or sh(s + str(B.idx)) % 3 == 0:
            counter(B, "container_cpu_cfs_periods_total", cl, [periods] * B.T, p)
            counter(B, "container_cpu_cfs_throttled_periods_total", cl, thr, p)
        B.aux[(s, "throttle_max")] = max(B.aux.get((s, "throttle_max"), 0), max(thr) / periods)
        mw = [
            min(mem_lim * 1.0, mem_base * (1.05 + 0.05 * math.sin(i / 5.0)) + B.mem_add[s][i])
            for i in range(B.T)
        ]
        if p.term_reason == "OOMKilled":
            # saw-tooth between restarts
            last = p.start if p.start > 0 else 0
            for i in range(B.T):
                if i in p.restarts:
                    last = i
                if p.restarts and i >= p.restarts[0] - 3:
                    mw[i] = min(mem_lim * 0.995, mem_base * 0.6 + (i - last + 1) * mem_lim * 0.35)
        gauge(B, "container_memory_working_set_bytes", cl, mw, p)


def emit_ingress(B):
    edges = [s for s, v in B.svcs.items() if v.role == "edge"]
    honor = B.rng.random() < 0.5
    ctrl = [
        "ingress-nginx-controller-%s-%s" % (rs_hash(B.rng), rs_hash(B.rng, 5)) for _ in range(2)
    ]
    hosts = {
        "storefront": "www.acme-shop.com",
        "api-gateway": "api.acme-shop.com",
        "web-bff": "app.acme-shop.com",
        "mobile-bff": "m-api.acme-shop.com",
    }
    B.hosts = hosts
    for e in edges:
        codes = ["200", "304"] + sorted(B.err[e])
        extra = B.aux.get((e, "ingress_codes"), {})
        codes += [c for c in extra if c not in codes]
        for cp in ctrl:
            base = {
                "controller_class": "k8s.io/ingress-nginx",
                "controller_namespace": "ingress-nginx",
                "controller_pod": cp,
                "host": hosts[e],
                "ingress": e,
                "method": "GET",
                "path": "/",
            }
            if honor:
                base.update(
                    {"namespace": "shop", "service": e, "job": "ingress-nginx-controller-metrics"}
                )
            else:
                base.update(
                    {
                        "exported_namespace": "shop",
                        "exported_service": e,
                        "namespace": "ingress-nginx",
                        "service": "ingress-nginx-controller-metrics",
                        "job": "ingress-nginx-controller-metrics",
                        "endpoint": "metrics",
                        "pod": cp,
                        "instance": "10.%d.3.%d:10254" % (100 + sh(cp) % 20, sh(cp) % 250),
                    }
                )
            vol = B.aux.get((e, "ingress_vol"), [1.0] * B.T)
            for c in codes:
                if c in extra:
                    fr = extra[c]
                elif c == "304":
                    fr = [0.04] * B.T
                else:
                    fr = [
                        status_split(B, e, i).get(c, 0) * (0.96 if c == "200" else 1)
                        for i in range(B.T)
                    ]
                inc = [B.rps[e][i] * vol[i] * B.step / 2 * fr[i] for i in range(B.T)]
                counter(
                    B,
                    "nginx_ingress_controller_requests",
                    dict(base, status=c),
                    inc,
                    preexist=c in ("200", "304"),
                )
                if c in ("200",) or (c.startswith("5") and max(fr) > 0.01):
                    for le in LE_NGINX if c == "200" else []:
                        counter(
                            B,
                            "nginx_ingress_controller_request_duration_seconds_bucket",
                            dict(base, status=c, le=fmt(le)),
                            [inc[i] * cdf(B.lat[e][i] + 0.002, le) for i in range(B.T)],
                            preexist=c == "200",
                        )
                    counter(
                        B,
                        "nginx_ingress_controller_request_duration_seconds_sum",
                        dict(base, status=c),
                        [inc[i] * (B.lat[e][i] + 0.002) for i in range(B.T)],
                        preexist=c == "200",
                    )
                    counter(
                        B,
                        "nginx_ingress_controller_request_duration_seconds_count",
                        dict(base, status=c),
                        inc,
                        preexist=c == "200",
                    )


def emit_stores(B):
    for s, sv in B.svcs.items():
        callers = callers_of(B, s)
        if sv.role == "pg":
            style = B.rng.random()
            if style < 0.5:
                lab = {
                    "instance": "%s.c9xk2mzq1abc.us-east-1.rds.amazonaws.com:5432" % s,
                    "job": s,
                    "server": "%s.c9xk2mzq1abc.us-east-1.rds.amazonaws.com:5432" % s,
                }
            else:
                lab = {
                    "container": "exporter",
                    "endpoint": "http",
                    "instance": "10.104.2.%d:9187" % (sh(s) % 250),
                    "job": "%s-prometheus-postgres-exporter" % s,
                    "namespace": "databases",
                    "pod": "%s-prometheus-postgres-exporter-%s-%s"
                    % (s, rs_hash(B.rng), rs_hash(B.rng, 5)),
                    "service": "%s-prometheus-postgres-exporter" % s,
                    "server": "%s.databases.svc:5432" % s,
                }
            db = s.replace("-db", "")
            up = B.aux.get((s, "up"), [1.0] * B.T)
            gauge(B, "pg_up", lab, up)
            mx = B.aux.get((s, "max_conn"), 200.0)
            gauge(B, "pg_settings_max_connections", lab, mx)
            conns = B.aux.get((s, "conns"))
            if conns is None:
                conns = [20 + B.rps[s][i] * 0.004 * B.rng.uniform(0.9, 1.1) for i in range(B.T)]
            idle_tx = B.aux.get((s, "idle_tx"), [B.rng.choice([0, 0, 1, 2]) for _ in range(B.T)])
            act = [max(1, conns[i] * 0.25 * min(4, B.util[s][i] * 3)) for i in range(B.T)]
            for st, arr in (
                ("active", act),
                ("idle", [max(0, conns[i] - act[i] - idle_tx[i]) for i in range(B.T)]),
                ("idle in transaction", idle_tx),
            ):
                gauge(
                    B,
                    "pg_stat_activity_count",
                    dict(lab, datname=db, state=st),
                    [None if up[i] < 0.5 else round(arr[i]) for i in range(B.T)],
                )
            tm = B.aux.get((s, "tup_mult"), [1.0] * B.T)
            counter(
                B,
                "pg_stat_database_xact_commit",
                dict(lab, datid=str(16384 + sh(s) % 50), datname=db),
                [B.rps[s][i] * B.step * 0.4 for i in range(B.T)],
            )
            counter(
                B,
                "pg_stat_database_tup_fetched",
                dict(lab, datid=str(16384 + sh(s) % 50), datname=db),
                [B.rps[s][i] * B.step * 12 * tm[i] for i in range(B.T)],
            )
            counter(
                B,
                "pg_stat_database_deadlocks",
                dict(lab, datid=str(16384 + sh(s) % 50), datname=db),
                B.aux.get((s, "deadlocks"), B.z()),
            )
            gauge(
                B,
                "pg_locks_count",
                dict(lab, datname=db, mode="accessexclusivelock"),
                B.aux.get((s, "locks"), [0.0] * B.T),
            )
            if (s, "free_storage") in B.aux or B.rng.random() < 0.5:
                gauge(
                    B,
                    "aws_rds_free_storage_space_average",
                    {
                        "dimension_DBInstanceIdentifier": s,
                        "job": "yace-exporter",
                        "instance": "yace-exporter:5000",
                        "region": "us-east-1",
                    },
                    B.aux.get((s, "free_storage"), [B.rng.uniform(150, 160) * 2**30] * B.T),
                )
                gauge(
                    B,
                    "aws_rds_cpuutilization_average",
                    {
                        "dimension_DBInstanceIdentifier": s,
                        "job": "yace-exporter",
                        "instance": "yace-exporter:5000",
                        "region": "us-east-1",
                    },
                    [
                        min(100, 18 * tm[i] * B.util[s][i] * 2 + B.rng.uniform(0, 4))
                        for i in range(B.T)
                    ],
                )
        elif sv.role == "redis":
            lab = {
                "container": "metrics",
                "endpoint": "http-metrics",
                "instance": "10.104.5.%d:9121" % (sh(s) % 250),
                "job": "%s-metrics" % s,
                "namespace": "databases",
                "pod": "%s-master-0" % s,
                "service": "%s-metrics" % s,
            }
            gauge(B, "redis_up", lab, 1.0)
            mx = B.aux.get((s, "maxmem"), 4 * 2**30)
            gauge(B, "redis_memory_max_bytes", lab, float(mx))
            gauge(
                B,
                "redis_memory_used_bytes",
                lab,
                B.aux.get((s, "mem_used"), [mx * B.rng.uniform(0.41, 0.42) for _ in range(B.T)]),
            )
            gauge(
                B,
                "redis_connected_clients",
                lab,
                [float(int(30 + len(callers) * 25 + B.rng.randint(0, 5))) for _ in range(B.T)],
            )
            counter(
                B, "redis_commands_processed_total", lab, [B.rps[s][i] * B.step for i in range(B.T)]
            )
            counter(B, "redis_evicted_keys_total", lab, B.aux.get((s, "evicted"), B.z()))
            counter(B, "redis_rejected_connections_total", lab, B.aux.get((s, "rejected"), B.z()))
            counter(
                B,
                "redis_keyspace_hits_total",
                dict(lab, db="db0"),
                [B.rps[s][i] * B.step * 0.8 for i in range(B.T)],
            )
            counter(
                B,
                "redis_keyspace_misses_total",
                dict(lab, db="db0"),
                [B.rps[s][i] * B.step * B.aux.get((s, "miss"), [0.2] * B.T)[i] for i in range(B.T)],
            )
        elif sv.role == "es":
            lab = {
                "cluster": "search-prod",
                "endpoint": "http",
                "instance": "10.104.9.12:9114",
                "job": "elasticsearch-exporter",
                "name": "search-prod-es-data-0",
                "namespace": "search",
                "service": "elasticsearch-exporter",
            }
            counter(
                B,
                "elasticsearch_thread_pool_rejected_count",
                dict(lab, type="write"),
                B.aux.get((s, "rejected"), B.z()),
            )
            counter(
                B,
                "elasticsearch_indices_indexing_index_total",
                lab,
                [B.rps[s][i] * B.step * 0.5 for i in range(B.T)],
            )
            for col in ("green", "yellow", "red"):
                gauge(
                    B,
                    "elasticsearch_cluster_health_status",
                    {
                        "cluster": "search-prod",
                        "color": col,
                        "job": "elasticsearch-exporter",
                        "instance": "10.104.9.12:9114",
                    },
                    B.aux.get((s, "health_" + col), 1.0 if col == "green" else 0.0),
                )
        elif sv.role == "kafka":
            lab = {
                "instance": "10.104.8.4:9308",
                "job": "kafka-exporter",
                "namespace": "kafka",
                "service": "kafka-exporter",
            }
            gauge(B, "kafka_brokers", lab, B.aux.get((s, "brokers"), 3.0))
        elif sv.role == "worker":
            lag = B.aux[(s, "lag")]
            grp = s
            topic = {
                "order-events-consumer": "orders.events.v1",
                "email-worker": "notifications.email.v1",
                "search-indexer": "catalog.changes.v1",
                "fulfillment-worker": "orders.paid.v1",
            }[s]
            for part in range(6):
                w = 1 / 6 * (1 + 0.2 * math.sin(part))
                gauge(
                    B,
                    "kafka_consumergroup_lag",
                    {
                        "consumergroup": grp,
                        "instance": "10.104.8.4:9308",
                        "job": "kafka-exporter",
                        "namespace": "kafka",
                        "partition": str(part),
                        "service": "kafka-exporter",
                        "topic": topic,
                    },
                    [round(x * w) for x in lag],
                )
            gauge(
                B,
                "kafka_consumergroup_members",
                {
                    "consumergroup": grp,
                    "instance": "10.104.8.4:9308",
                    "job": "kafka-exporter",
                    "namespace": "kafka",
                    "service": "kafka-exporter",
                },
                [
                    float(len([p for p in active_pods(B, s, i) if i not in p.down]))
                    for i in range(B.T)
                ],
            )
        elif sv.role == "dns":
            sf = B.aux.get((s, "servfail"), [0.0] * B.T)
            for p in sv.pods:
                lab = {
                    "container": "coredns",
                    "endpoint": "metrics",
                    "instance": "%s:9153" % p.ip,
                    "job": "kube-dns",
                    "namespace": "kube-system",
                    "pod": p.name,
                    "service": "kube-dns",
                }
                q = [
                    B.rng.uniform(400, 460) * B.step * B.aux.get((s, "qmult"), [1.0] * B.T)[i]
                    for i in range(B.T)
                ]
                counter(
                    B,
                    "coredns_dns_requests_total",
                    dict(
                        lab,
                        family="1",
                        proto="udp",
                        server="dns://:53",
                        type="A",
                        zone=".",
                        view="",
                    ),
                    q,
                    p,
                )
                counter(
                    B,
                    "coredns_dns_responses_total",
                    dict(lab, plugin="", rcode="NOERROR", server="dns://:53", zone=".", view=""),
                    [q[i] * 0.8 * (1 - sf[i]) for i in range(B.T)],
                    p,
                )
                counter(
                    B,
                    "coredns_dns_responses_total",
                    dict(lab, plugin="", rcode="NXDOMAIN", server="dns://:53", zone=".", view=""),
                    [q[i] * 0.2 for i in range(B.T)],
                    p,
                )
                if max(sf) > 0:
                    counter(
                        B,
                        "coredns_dns_responses_total",
                        dict(
                            lab, plugin="", rcode="SERVFAIL", server="dns://:53", zone=".", view=""
                        ),
                        [q[i] * sf[i] for i in range(B.T)],
                        p,
                        preexist=False,
                    )
                counter(
                    B,
                    "coredns_dns_request_duration_seconds_sum",
                    dict(lab, server="dns://:53", type="A", zone=".", view=""),
                    [q[i] * B.lat[s][i] for i in range(B.T)],
                    p,
                )
                counter(
                    B,
                    "coredns_dns_request_duration_seconds_count",
                    dict(lab, server="dns://:53", type="A", zone=".", view=""),
                    q,
                    p,
                )


def emit_nodes(B):
    for n in B.nodes:
        lab = {
            "container": "node-exporter",
            "endpoint": "https",
            "instance": n["name"],
            "job": "node-exporter",
            "namespace": "monitoring",
            "pod": "node-exporter-%s" % rs_hash(B.rng, 5),
            "service": "node-exporter",
        }
        ct = B.aux.get(("node", n["name"], "conntrack"))
        lim = 131072.0
        gauge(B, "node_nf_conntrack_entries_limit", lab, lim)
        gauge(
            B,
            "node_nf_conntrack_entries",
            lab,
            ct or [lim * B.rng.uniform(0.08, 0.2) for _ in range(B.T)],
        )
        counter(
            B,
            "node_netstat_Tcp_RetransSegs",
            lab,
            B.aux.get(
                ("node", n["name"], "retrans"), [B.rng.uniform(1, 4) * B.step for _ in range(B.T)]
            ),
        )
        gauge(
            B,
            "node_load1",
            lab,
            [
                B.rng.uniform(0.8, 3.5) * B.aux.get(("node", n["name"], "load"), [1.0] * B.T)[i]
                for i in range(B.T)
            ],
        )
        gauge(
            B,
            "node_memory_MemAvailable_bytes",
            lab,
            [B.rng.uniform(6, 9) * 2**30 for _ in range(B.T)],
        )
        gauge(
            B,
            "node_filesystem_avail_bytes",
            dict(lab, device="/dev/nvme0n1p1", fstype="xfs", mountpoint="/"),
            [B.rng.uniform(38, 38.2) * 2**30 for _ in range(B.T)],
        )


def emit_probes_certs(B):
    for e, host in B.hosts.items():
        if e not in B.svcs:
            continue
        lab = {"instance": "https://%s/healthz" % host, "job": "blackbox", "module": "http_2xx"}
        ok = B.aux.get(
            (e, "probe_ok"),
            [0.0 if B.rng.random() < B.errtot[e][i] * 1.5 else 1.0 for i in range(B.T)],
        )
        gauge(B, "probe_success", lab, ok)
        gauge(
            B,
            "probe_duration_seconds",
            lab,
            [B.lat[e][i] + 0.03 + B.rng.uniform(0, 0.02) for i in range(B.T)],
        )
        gauge(
            B,
            "probe_http_status_code",
            lab,
            [200.0 if ok[i] else float(B.aux.get((e, "probe_code"), 503)) for i in range(B.T)],
        )
        exp = B.aux.get((e, "public_cert_expiry"), B.start + B.rng.randint(20, 80) * 86400)
        gauge(
            B,
            "probe_ssl_earliest_cert_expiry",
            lab,
            [
                float(exp) if (ok[i] or (e, "public_cert_expiry") in B.aux) else None
                for i in range(B.T)
            ],
        )
    for c in B.certs:
        lab = {
            "container": "cert-manager-controller",
            "endpoint": "tcp-prometheus-servicemonitor",
            "instance": "10.101.2.9:9402",
            "job": "cert-manager",
            "namespace": "cert-manager",
            "service": "cert-manager",
            "exported_namespace": c["ns"],
            "issuer_group": "cert-manager.io",
            "issuer_kind": c["issuer_kind"],
            "issuer_name": c["issuer"],
            "name": c["name"],
        }
        lab2 = {k: v for k, v in lab.items()}
        gauge(
            B, "certmanager_certificate_expiration_timestamp_seconds", lab2, float(c["not_after"])
        )
        rd = c.get("ready", [1.0] * B.T)
        for cond in ("True", "False", "Unknown"):
            gauge(
                B,
                "certmanager_certificate_ready_status",
                dict(lab, condition=cond),
                [
                    (rd[i] if cond == "True" else (1 - rd[i] if cond == "False" else 0.0))
                    for i in range(B.T)
                ],
            )
        if B.x509:
            gauge(
                B,
                "x509_cert_not_after",
                {
                    "job": "x509-certificate-exporter",
                    "instance": "10.101.2.17:9793",
                    "secret_name": c["secret"],
                    "secret_namespace": c["ns"],
                    "secret_key": "tls.crt",
                    "subject_CN": c["cn"],
                    "issuer_CN": c.get("issuer_cn", "acme-internal-ca"),
                },
                float(c["not_after"]),
            )
            gauge(
                B,
                "x509_cert_expired",
                {
                    "job": "x509-certificate-exporter",
                    "instance": "10.101.2.17:9793",
                    "secret_name": c["secret"],
                    "secret_namespace": c["ns"],
                    "secret_key": "tls.crt",
                    "subject_CN": c["cn"],
                },
                [1.0 if B.ts(i) >= c["not_after"] else 0.0 for i in range(B.T)],
            )


# ----------------------------------------------------------------------------- changes, logs, alerts helpers


def add_change(B, svc, kind, i, summary, version=None, prev=None, deploy=False):
    rng = B.rng
    cid = {
        "deploy": "deploy-",
        "config": "cfg-",
        "flag": "flag-",
        "infra": "infra-",
        "scale": "scale-",
    }[kind] + hexid(rng, 8)
    c = {
        "id": cid,
        "ts": iso(B.ts(i) + rng.randint(0, B.step - 1)),
        "service": svc,
        "kind": kind,
        "summary": summary,
        "author": rng.choice(AUTHORS),
    }
    if version:
        c["version"] = version
        c["previous_version"] = prev
    if kind == "deploy":
        c["url"] = "https://argocd.acme.io/applications/argocd/%s-prod?revision=%s" % (
            svc,
            hexid(rng, 7),
        )
    elif kind in ("config", "flag"):
        c["url"] = "https://github.com/acme-shop/%s/pull/%d" % (
            "platform-config" if kind == "config" else "feature-flags",
            rng.randint(800, 9000),
        )
    B.changes.append(c)
    if deploy and svc in B.svcs and B.svcs[svc].role in ("edge", "mid", "worker"):
        B.deploy_at = getattr(B, "deploy_at", {})
        B.deploy_at.setdefault(svc, []).append(i)
        B.events_pending.append(
            (
                i,
                svc,
                "ScalingReplicaSet",
                "Normal",
                "Scaled up replica set %s-NEWRS to %d" % (svc, B.svcs[svc].replicas),
                "deployment/%s" % svc,
            )
        )
    return cid


def bump(v):
    a, b, c = v[1:].split(".")
    return "v%s.%d.0" % (a, int(b) + 1) if int(c) > 5 else "v%s.%s.%d" % (a, b, int(c) + 1)


def mlog(B, s, level, msg, **kw):
    B.own_msgs.setdefault(s, []).append((level, msg, kw))


def malert(
    B, i, name, labels, summary, description, severity="warning", runbook=None, state="active"
):
    B.mech_alerts.append((i, name, labels, summary, description, severity, runbook, state))


def event(B, i, svc, reason, typ, msg, obj, count=1):
    B.events_pending.append((i, svc, reason, typ, msg, obj, count))


# ----------------------------------------------------------------------------- mechanisms


def mids_with_dep(B, role):
    return [
        s
        for s, v in B.svcs.items()
        if v.role == "mid" and any(B.svcs[d].role == role for d in v.deps)
    ]


def critical_mids(B):
    out = []
    for s, v in B.svcs.items():
        if v.role != "mid":
            continue
        p = path_to_edge(B, s)
        if len(p) > 1 and all(B.crit.get((p[k + 1], p[k]), 0) > 0.5 for k in range(len(p) - 1)):
            out.append(s)
    return out or [s for s, v in B.svcs.items() if v.role == "mid"]


def pick(B, cands):
    return B.rng.choice(sorted(cands))


JAVA_NPE = (
    'java.lang.NullPointerException: Cannot invoke "com.acme.{C}.model.Item.getSku()" because "item" is null\n'
    "\tat com.acme.{C}.service.{K}Service.handle({K}Service.java:{L})\n\tat com.acme.{C}.api.{K}Controller.post({K}Controller.java:88)\n"
    "\tat java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)"
)


def m_deploy_nplus1(B):
    s = pick(
        B, [m for m in mids_with_dep(B, "pg") if m in critical_mids(B)] or mids_with_dep(B, "pg")
    )
    db = [d for d in B.svcs[s].deps if B.svcs[d].role == "pg"][0]
    v = B.svcs[s]
    nv = bump(v.version)
    i = B.t0 - B.rng.randint(1, 3)
    cid = add_change(
        B,
        s,
        "deploy",
        i,
        'Deploy %s %s: "list view: include line items and prices in response"' % (s, nv),
        nv,
        v.version,
        deploy=True,
    )
    a = B.act(B.t0, ramp=4)
    B.load_mult[(s, db)] = [1 + 11 * x for x in a]
    B.aux[(db, "tup_mult")] = [1 + 9 * x for x in a]
    B.cap_mult[db] = [1 - 0.45 * x for x in a]
    B.lat_mult[s] = [1 + 2.5 * x for x in a]
    B.cpu_mult[s] = [1 + 1.2 * x for x in a]
    mlog(
        B,
        s,
        "WARN",
        "slow request: GET %s took {ms}ms (db_queries=%d)"
        % (ROUTES.get(s, ["/api/%s" % s])[0], B.rng.randint(120, 400)),
    )
    return s, {"kind": "deploy", "service": s, "change_id": cid}, "N+1 query after deploy %s" % nv


def m_deploy_connleak(B):
    s = pick(B, mids_with_dep(B, "pg"))
    B.svcs[s].stack = "java"
    db = [d for d in B.svcs[s].deps if B.svcs[d].role == "pg"][0]
    v = B.svcs[s]
    nv = bump(v.version)
    i = B.t0 - B.rng.randint(6, 14)
    cid = add_change(
        B,
        s,
        "deploy",
        i,
        "Deploy %s %s (refactor: move order writes to OrderRepository, spring-boot 3.2.4)"
        % (s, nv),
        nv,
        v.version,
        deploy=True,
    )
    leak = B.act(i + 2, ramp=(B.t0 - i))
    B.aux[(s, "pool_max")] = [10.0] * B.T
    B.aux[(s, "pool_active")] = [min(10, 2 + 9 * x) for x in leak]
    sat = [max(0.0, (x - 0.85) / 0.15) for x in leak]
    B.aux[(s, "pool_pending")] = [30 * x for x in sat]
    add_err(B, s, "500", [0.55 * x for x in sat])
    B.own_lat[s] = [2.5 * x for x in sat]
    B.aux[(s, "exception")] = "SQLTransientConnectionException"
    B.aux[(db, "idle_tx")] = [round(1 + 9 * B.svcs[s].replicas * x) for x in leak]
    mlog(
        B,
        s,
        "ERROR",
        "HikariPool-1 - Connection is not available, request timed out after 30000ms (total=10, active=10, idle=0, waiting={n})",
        when="sat",
    )
    mlog(
        B,
        s,
        "ERROR",
        "org.springframework.jdbc.CannotGetJdbcConnectionException: Failed to obtain JDBC Connection\n\tat org.springframework.jdbc.datasource.DataSourceUtils.getConnection(DataSourceUtils.java:84)\n\tat com.acme.%s.repo.OrderRepository.save(OrderRepository.java:57)\nCaused by: java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out after 30000ms"
        % s.replace("-", ""),
        when="sat",
    )
    mlog(B, s, "WARN", "HikariPool-1 - Apparent connection leak detected", when="leak")
    B.leak_arr, B.sat_arr = leak, sat
    return (
        s,
        {"kind": "deploy", "service": s, "change_id": cid},
        "connection leak after deploy %s (Hikari pool exhausted)" % nv,
    )


def m_deploy_depbump(B):
    s = pick(B, critical_mids(B))
    v = B.svcs[s]
    nv = bump(v.version)
    i = B.t0 - 1
    lib = B.rng.choice(
        [
            "jackson-databind 2.15.3 -> 2.17.0",
            "protobuf-java 3.25.1 -> 4.26.0",
            "grpc-go v1.62 -> v1.64",
            "pydantic 1.10 -> 2.7",
        ]
    )
    cid = add_change(
        B,
        s,
        "deploy",
        i,
        "Deploy %s %s: chore(deps): bump %s" % (s, nv, lib),
        nv,
        v.version,
        deploy=True,
    )
    B.changes[-1]["author"] = "renovate[bot]"
    a = B.act(B.t0, ramp=3)
    add_err(B, s, "500", [0.35 * x for x in a])
    if v.stack == "java":
        B.aux[(s, "exception")] = "NoSuchMethodError"
        mlog(
            B,
            s,
            "ERROR",
            "Servlet.service() for servlet [dispatcherServlet] threw exception\njava.lang.NoSuchMethodError: 'com.fasterxml.jackson.databind.JsonNode com.fasterxml.jackson.databind.ObjectMapper.readTree(java.lang.String)'\n\tat com.acme.%s.client.PriceClient.parse(PriceClient.java:142)\n\tat com.acme.%s.service.QuoteService.quote(QuoteService.java:61)"
            % (s.replace("-", ""), s.replace("-", "")),
        )
    elif v.stack == "python":
        mlog(
            B,
            s,
            "ERROR",
            "Exception in ASGI application\nTraceback (most recent call last):\n  File \"/app/%s/api.py\", line 88, in handler\n    return Model.parse_obj(payload)\nAttributeError: type object 'QuoteRequest' has no attribute 'parse_obj'"
            % s.replace("-", "_"),
        )
    else:
        mlog(
            B, s, "error", "failed to decode payload: proto: cannot parse invalid wire-format data"
        )
        mlog(
            B,
            s,
            "error",
            "panic recovered: runtime error: invalid memory address or nil pointer dereference\ngoroutine 8123 [running]:\nmain.(*server).Quote(0xc0004a2000, {0x1a2b3c0, 0xc000a1e0f0})\n\t/src/internal/server/quote.go:77 +0x1c4",
        )
    return s, {"kind": "deploy", "service": s, "change_id": cid}, "bad dependency bump (%s)" % lib


def m_deploy_memregress(B):
    s = pick(B, critical_mids(B))
    v = B.svcs[s]
    nv = bump(v.version)
    i = B.t0 - B.rng.randint(8, 15)
    cid = add_change(
        B,
        s,
        "deploy",
        i,
        "Deploy %s %s: add in-process cache for product snapshots" % (s, nv),
        nv,
        v.version,
        deploy=True,
    )
    B.crash[s] = {"from": B.t0, "frac": 1.0, "reason": "OOMKilled", "run": 150, "new_rs": True}
    B.ready[s] = [1 - 0.55 * x for x in B.act(B.t0, ramp=3)]
    event(
        B,
        B.t0,
        s,
        "OOMKilling",
        "Warning",
        "Memory cgroup out of memory: Killed process 1 (%s) total-vm:3215400kB, anon-rss:1048012kB"
        % ("java" if v.stack == "java" else s),
        "node/NODE",
    )
    mlog(
        B,
        s,
        "ERROR",
        "java.lang.OutOfMemoryError: Java heap space\n\tat java.base/java.util.Arrays.copyOf(Arrays.java:3541)\n\tat com.acme.cache.SnapshotCache.put(SnapshotCache.java:44)"
        if v.stack == "java"
        else "fatal error: runtime: out of memory",
        when="crash",
    )
    return (
        s,
        {"kind": "deploy", "service": s, "change_id": cid},
        "memory regression after deploy %s -> OOMKilled" % nv,
    )


def m_deploy_keepalive(B):
    c = pick(
        B,
        [
            m
            for m in B.svcs
            if B.svcs[m].role in ("edge", "mid")
            and any(B.svcs[d].role == "mid" for d in B.svcs[m].deps)
        ],
    )
    B.svcs[c].stack = "go"
    d = pick(B, [x for x in B.svcs[c].deps if B.svcs[x].role == "mid"])
    B.svcs[d].proto = "grpc"
    B.svcs[d].stack = "go"
    v = B.svcs[c]
    nv = bump(v.version)
    i = B.t0 - 1
    cid = add_change(
        B,
        c,
        "deploy",
        i,
        "Deploy %s %s: grpc client: enable keepalive (Time=10s, PermitWithoutStream)" % (c, nv),
        nv,
        v.version,
        deploy=True,
    )
    a = B.act(B.t0 + 1, ramp=5)
    add_cf(B, c, d, "goaway", [0.3 * x * (0.7 + 0.3 * math.sin(k)) for k, x in enumerate(a)])
    mlog(
        B,
        c,
        "error",
        'rpc error: code = Unavailable desc = closing transport due to: connection error: desc = "error reading from server: EOF", received prior goaway: code: ENHANCE_YOUR_CALM, debug data: "too_many_pings"',
        dep=d,
    )
    mlog(
        B,
        d,
        "warn",
        "transport: Got too many pings from the client, closing the connection.",
        when="any",
    )
    return (
        c,
        {"kind": "deploy", "service": c, "change_id": cid},
        "gRPC keepalive misconfig after deploy (GOAWAY too_many_pings)",
    )


def m_cfg_timeout(B):
    pairs = [
        (c, d) for (c, d) in B.fan if B.svcs[d].role in ("mid", "external") and B.crit[(c, d)] > 0.5
    ]
    c, d = pick(B, [f"{a}|{b}" for a, b in pairs]).split("|")
    i = B.t0 - 1
    cid = add_change(
        B,
        c,
        B.rng.choice(["config", "flag"]),
        i,
        "%s: lower %s client timeout %dms -> %dms (%s)"
        % (
            c,
            d,
            int(B.timeout[(c, d)] * 1000),
            150,
            B.rng.choice(["reduce tail latency", "PERF-2231 fail fast"]),
        ),
    )
    B.timeout_arr[(c, d)] = [B.timeout[(c, d)] if k < B.t0 else 0.15 for k in range(B.T)]
    B.lat_mult[d] = [1.0 + 0.6 * (k % 7 == 0) for k in range(B.T)]
    B.svcs[d].base_lat = max(B.svcs[d].base_lat, 0.06)
    mlog(
        B,
        c,
        "ERROR",
        "call to %s failed: context deadline exceeded" % d
        if B.svcs[c].stack != "java"
        else "java.net.SocketTimeoutException: Read timed out (calling http://%s.shop.svc.cluster.local:8080)"
        % d,
        dep=d,
    )
    return (
        c,
        {"kind": "config_change", "service": c, "change_id": cid},
        "client timeout lowered by config push (%s -> %s)" % (c, d),
    )


def m_cfg_ratelimit(B):
    e = pick(B, [s for s, v in B.svcs.items() if v.role == "edge"])
    i = B.t0 - 1
    cid = add_change(
        B,
        e,
        "config",
        i,
        "%s: rate-limit policy per-client 600 rps -> 60 rps (typo: missing zero)" % e,
    )
    a = B.act(B.t0)
    B.aux[(e, "ingress_codes")] = {"429": [0.42 * x for x in a]}
    B.aux[(e, "ingress_vol")] = [1 + 0.3 * x for x in a]
    add_err(B, e, "429", [0.42 * x for x in a])
    mlog(
        B, e, "warn", "rate limit exceeded for client_id={cid} limit=60/s route=/api/*", when="any"
    )
    return (
        e,
        {"kind": "config_change", "service": e, "change_id": cid},
        "rate limit mis-set by config push",
    )


def m_cfg_routing(B):
    e = pick(B, [s for s, v in B.svcs.items() if v.role == "edge"])
    d = pick(B, B.svcs[e].deps)
    i = B.t0 - 1
    cid = add_change(
        B, e, "config", i, "%s: route /api/%s/* to %s-v2 (canary weight 50)" % (e, d, d)
    )
    a = B.act(B.t0)
    add_err(B, e, "503", [0.28 * x for x in a])
    B.aux[(e, "exception")] = "NoHealthyUpstream"
    mlog(
        B,
        e,
        "error" if B.svcs[e].stack == "go" else "ERROR",
        "upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: delayed connect error: 111 (cluster: outbound|8080||%s-v2.shop.svc.cluster.local)"
        % d,
        when="any",
    )
    mlog(B, e, "warn", "no healthy upstream for cluster %s-v2" % d, when="any")
    return (
        e,
        {"kind": "config_change", "service": e, "change_id": cid},
        "bad routing rule (canary to non-existent backend)",
    )


def m_cfg_poolsize(B):
    s = pick(B, mids_with_dep(B, "pg"))
    B.svcs[s].stack = "java"
    i = B.t0 - 1
    cid = add_change(
        B,
        s,
        "config",
        i,
        "%s: spring.datasource.hikari.maximum-pool-size 40 -> 4 (align with pgbouncer)" % s,
    )
    a = B.act(B.t0)
    B.aux[(s, "pool_max")] = [40.0 if x == 0 else 4.0 for x in a]
    B.aux[(s, "pool_active")] = [B.rng.uniform(5, 9) if x == 0 else 4.0 for x in a]
    B.aux[(s, "pool_pending")] = [B.rng.uniform(10, 40) * x for x in a]
    B.cap_mult[s] = [1 - 0.72 * x for x in a]
    B.aux[(s, "exception")] = "SQLTransientConnectionException"
    mlog(
        B,
        s,
        "ERROR",
        "HikariPool-1 - Connection is not available, request timed out after 30000ms (total=4, active=4, idle=0, waiting={n})",
    )
    return (
        s,
        {"kind": "config_change", "service": s, "change_id": cid},
        "DB pool size reduced by config push",
    )


def m_cfg_cache(B):
    s = pick(B, [m for m in B.svcs if B.svcs[m].role == "mid" and m in critical_mids(B)])
    i = B.t0 - 1
    cid = add_change(
        B, s, "flag", i, "flag %s.use-price-cache = false (debugging stale prices, PRICING-412)" % s
    )
    a = B.act(B.t0)
    pg = [d for d in B.svcs[s].deps if B.svcs[d].role == "pg"]
    if pg:
        B.load_mult[(s, pg[0])] = [1 + 6 * x for x in a]
        B.aux[(pg[0], "tup_mult")] = [1 + 5 * x for x in a]
    B.lat_mult[s] = [1 + 3 * x for x in a]
    B.cap_mult[s] = [1 - 0.55 * x for x in a]
    B.cpu_mult[s] = [1 + 1.5 * x for x in a]
    mlog(B, s, "INFO", "feature flag use-price-cache changed: true -> false", when="once")
    return (
        s,
        {"kind": "config_change", "service": s, "change_id": cid},
        "cache disabled by feature flag",
    )


def m_sat_cpu(B):
    s = pick(B, critical_mids(B))
    B.aux[(s, "cpu_limit")] = 0.5
    a = B.act(B.t0, ramp=6)
    B.cpu_mult[s] = [1 + 1.6 * x for x in a]
    B.cap_mult[s] = [1 - 0.6 * x for x in a]
    B.lat_mult[s] = [1 + 2 * x for x in a]
    B.surge[[e for e in B.svcs if B.svcs[e].role == "edge"][0]] = [1 + 0.25 * x for x in a]
    mlog(B, s, "WARN", "request handling slow: {ms}ms (threads busy={n}/200)", when="any")
    return (
        s,
        {"kind": "resource_saturation", "service": s},
        "CPU throttling at container limit (cfs quota) during peak",
    )


def m_sat_pgconns(B):
    db = pick(B, [d for d, v in B.svcs.items() if v.role == "pg"])
    users = callers_of(B, db)
    a = B.act(B.t0, ramp=3)
    B.aux[(db, "max_conn")] = 400.0
    B.aux[(db, "conns")] = [300 + 100 * x + B.rng.uniform(-8, 0) for x in B.act(B.t0 - 6, ramp=6)]
    for u in users:
        add_cf(B, u, db, "conn", [0.3 * x for x in a])
        mlog(B, u, "ERROR", "FATAL: sorry, too many clients already", dep=db)
        mlog(
            B,
            u,
            "ERROR",
            "pq: remaining connection slots are reserved for non-replication superuser connections",
            dep=db,
        )
    malert(
        B,
        B.t0 + 1,
        "PostgresqlTooManyConnections",
        {
            "severity": "warning",
            "instance": "%s.c9xk2mzq1abc.us-east-1.rds.amazonaws.com:5432" % db,
            "job": db,
        },
        "Postgresql too many connections (instance %s)" % db,
        "PostgreSQL instance has too many connections (> 80%%).\n  VALUE = 99.5\n  LABELS = map[datname:%s]"
        % db.replace("-db", ""),
    )
    return (
        db,
        {"kind": "resource_saturation", "service": db},
        "database out of connections (max_connections reached)",
    )


def m_sat_pgdisk(B):
    db = pick(B, [d for d, v in B.svcs.items() if v.role == "pg"])
    fs = [
        max(0.0, (40 - 40 * min(1, k / B.t0)) * 2**30 + B.rng.uniform(0, 2**24))
        if k < B.t0
        else 0.0
        for k in range(B.T)
    ]
    B.aux[(db, "free_storage")] = fs
    a = B.act(B.t0)
    for u in callers_of(B, db):
        add_cf(B, u, db, "server", [0.5 * x for x in a])
        mlog(
            B,
            u,
            "ERROR",
            'ERROR: could not extend file "base/16384/2619": No space left on device (SQLSTATE 53100)',
            dep=db,
        )
    malert(
        B,
        B.t0 - 3,
        "AWSRDSFreeStorageSpaceLow",
        {"severity": "critical", "dimension_DBInstanceIdentifier": db, "job": "yace-exporter"},
        "RDS %s free storage below 5%%" % db,
        'Free storage space on %s is below 5%%; replication slot "debezium" retains WAL.' % db,
    )
    return (
        db,
        {"kind": "resource_saturation", "service": db},
        "database disk full (WAL retained by stale replication slot)",
    )


def m_sat_redis(B):
    r = pick(B, [d for d, v in B.svcs.items() if v.role == "redis"])
    mx = 4 * 2**30
    B.aux[(r, "maxmem")] = mx
    B.aux[(r, "mem_used")] = [
        mx * min(0.999, 0.7 + 0.3 * k / B.t0) if k < B.t0 else mx * 0.9995 for k in range(B.T)
    ]
    a = B.act(B.t0)
    for u in callers_of(B, r):
        add_cf(B, u, r, "server", [0.4 * x for x in a])
        mlog(B, u, "ERROR", "OOM command not allowed when used memory > 'maxmemory'.", dep=r)
    return (
        r,
        {"kind": "resource_saturation", "service": r},
        "redis maxmemory reached with noeviction policy",
    )


def m_sat_gcleak(B):
    s = pick(B, critical_mids(B))
    B.svcs[s].stack = "java"
    a = B.act(max(0, B.t0 - 30), ramp=30 + 4)
    B.mem_add[s] = [700 * 2**20 * x for x in a]
    g = [1 + 25 * max(0, x - 0.8) / 0.2 for x in a]
    B.aux[(s, "gc")] = g
    B.lat_mult[s] = [1 + 0.4 * (v - 1) for v in g]
    B.cap_mult[s] = [1 / (1 + 0.08 * (v - 1)) for v in g]
    B.cpu_mult[s] = [1 + 0.05 * (v - 1) for v in g]
    mlog(
        B,
        s,
        "WARN",
        "[gc,pause] GC(%d) Pause Full (G1 Compaction Pause) 1980M->1902M(2048M) {ms}ms"
        % B.rng.randint(3000, 9000),
        when="any",
    )
    return (
        s,
        {"kind": "resource_saturation", "service": s},
        "heap exhaustion / GC thrash from slow memory leak",
    )


def m_dep_external(B, ext, code):
    u = EXT_USER[ext]
    a = B.act(B.t0, B.t0 + B.rng.randint(12, 40) if B.rng.random() < 0.5 else None, ramp=2)
    if code == "timeout":
        B.own_lat[ext] = [20.0 * x for x in a]
        mlog(
            B,
            u,
            "ERROR",
            "POST https://%s/v1/... failed: context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
            % EXTERNALS[ext],
            dep=ext,
        )
    else:
        add_err(B, ext, code, [0.6 * x for x in a])
        msg = {
            "500": "stripe: request req_%s failed: status 500 (api_error) An unknown error occurred"
            % hexid(B.rng, 14),
            "502": "upstream %s returned 502 Bad Gateway" % EXTERNALS[ext],
            "503": "%s returned 503 Service Unavailable" % EXTERNALS[ext],
            "429": "twilio: HTTP 429 Too Many Requests: Too many requests (code 20429)",
        }[code]
        mlog(B, u, "ERROR", msg, dep=ext)
    return (
        ext,
        {"kind": "dependency_failure", "service": ext},
        "third-party %s %s" % (ext, "timeouts" if code == "timeout" else code + "s"),
    )


def m_dep_stripe(B):
    return m_dep_external(B, B.need_ext, "500" if B.need_ext == "stripe-api" else "503")


def m_dep_twilio(B):
    return m_dep_external(B, "twilio-api", "429")


def m_dep_auth0(B):
    return m_dep_external(B, "auth0", "timeout")


def m_dep_failover(B):
    db = pick(B, [d for d, v in B.svcs.items() if v.role == "pg"])
    dur = B.rng.randint(3, 6) * max(1, 60 // B.step)
    B.aux[(db, "up")] = [0.0 if B.t0 <= k < B.t0 + dur else 1.0 for k in range(B.T)]
    B.ready[db] = [0.0 if B.t0 <= k < B.t0 + dur else 1.0 for k in range(B.T)]
    for u in callers_of(B, db):
        mlog(
            B,
            u,
            "ERROR",
            "dial tcp 10.40.12.7:5432: connect: connection refused"
            if B.svcs[u].stack == "go"
            else "org.postgresql.util.PSQLException: Connection to %s.c9xk2mzq1abc.us-east-1.rds.amazonaws.com:5432 refused. Check that the hostname and port are correct and that the postmaster is accepting TCP/IP connections."
            % db,
            dep=db,
        )
    B.changes.append(
        {
            "id": "rds-event-%s" % hexid(B.rng, 6),
            "ts": iso(B.ts(B.t0) + 20),
            "service": db,
            "kind": "infra",
            "summary": "RDS-EVENT-0049: Multi-AZ instance failover completed",
            "author": "aws",
        }
    ) if B.rng.random() < 0.5 else None
    return (
        db,
        {"kind": "dependency_failure", "service": db},
        "managed database Multi-AZ failover (connection refused ~%ds)" % (dur * B.step),
    )


def m_dep_es(B):
    es = "elasticsearch"
    a = B.act(B.t0, ramp=2)
    add_err(B, es, "429", [0.7 * x for x in a])
    B.aux[(es, "rejected")] = [B.rng.uniform(200, 400) * B.step * x for x in a]
    B.aux[(es, "health_green")] = [0.0 if x > 0 else 1.0 for x in a]
    B.aux[(es, "health_yellow")] = [1.0 if x > 0 else 0.0 for x in a]
    for u in callers_of(B, es):
        mlog(
            B,
            u,
            "ERROR",
            "es_rejected_execution_exception: rejected execution of coordinating operation [shard_detail=[catalog-v7][3][P], shard_coordinating_and_primary_bytes=0, shard_operation_bytes=98.1mb, max_coordinating_and_primary_bytes=1.4gb]",
            dep=es,
        )
    return (
        es,
        {"kind": "dependency_failure", "service": es},
        "Elasticsearch write rejections (429), indexer lag grows",
    )


def m_surge(B, why):
    e = pick(B, [s for s, v in B.svcs.items() if v.role == "edge"])
    mult = {"marketing": 3.5, "bot": 2.6, "herd": 4.5, "tenant": 2.4}[why]
    if why == "herd":
        a = B.act(B.t0, B.t0 + max(3, 360 // B.step), ramp=1, decay=max(2, 240 // B.step))
    else:
        a = B.act(B.t0, ramp=max(2, 180 // B.step))
    B.surge[e] = [1 + (mult - 1) * x for x in a]
    msgs = {
        "marketing": "GET /campaign/spring-sale 200",
        "bot": 'GET /api/search?q={q}&page={n} 200 ua="python-requests/2.31.0"',
        "herd": "client reconnect: resuming session",
        "tenant": "POST /api/orders/bulk 202 tenant=t_8841",
    }
    mlog(B, e, "INFO", msgs[why], when="any")
    return (
        e,
        {"kind": "traffic_surge", "service": e},
        {
            "marketing": "marketing email/push campaign spike",
            "bot": "bot/scraper traffic on search",
            "herd": "thundering herd of client retries after a brief blip",
            "tenant": "large tenant bulk import via API",
        }[why],
    )


def m_crash(B, why):
    role = "worker" if why == "poison" else "mid"
    s = pick(
        B,
        [x for x, v in B.svcs.items() if v.role == role] if role == "worker" else critical_mids(B),
    )
    spec = {
        "oom": ("OOMKilled", 120, 0.67),
        "secret": ("Error", 5, 1.0),
        "poison": ("Error", 20, 1.0),
        "liveness": ("Error", 90, 0.67),
        "panic": ("Error", 40, 0.67),
    }[why]
    B.crash[s] = {"from": B.t0, "frac": spec[2], "reason": spec[0], "run": spec[1]}
    B.ready[s] = [1 - spec[2] * 0.85 * x for x in B.act(B.t0, ramp=2)]
    if why == "poison":
        B.consume_mult[s] = [1 - 0.95 * x for x in B.act(B.t0)]
        B.svcs[s].stack = "go"
        mlog(
            B,
            s,
            "error",
            "panic: runtime error: index out of range [3] with length 3\n\ngoroutine 41 [running]:\ngithub.com/acme-shop/%s/internal/handler.(*OrderHandler).Handle(0xc00012a000, {0xc0003b8000, 0x1f4, 0x200})\n\t/src/internal/handler/order.go:112 +0x5d4"
            % s,
            when="crash",
        )
    elif why == "secret":
        B.svcs[s].stack = "go"
        mlog(
            B,
            s,
            "fatal",
            'failed to connect to database: FATAL: password authentication failed for user "%s_app" (SQLSTATE 28P01)'
            % s.replace("-", "_"),
            when="crash",
        )
        event(
            B,
            B.t0 - 2,
            s,
            "Updated",
            "Normal",
            "Updated current secret %s-db-credentials from SecretStore aws-secrets-manager" % s,
            "externalsecret/%s-db-credentials" % s,
        )
    elif why == "oom":
        mlog(
            B,
            s,
            "ERROR",
            "java.lang.OutOfMemoryError: Java heap space"
            if B.svcs[s].stack == "java"
            else "fatal error: runtime: out of memory",
            when="crash",
        )
    elif why == "liveness":
        event(
            B,
            B.t0,
            s,
            "Unhealthy",
            "Warning",
            'Liveness probe failed: Get "http://10.1.2.3:8080/healthz": context deadline exceeded (Client.Timeout exceeded while awaiting headers)',
            "pod/POD",
            12,
        )
        B.lat_mult[s] = [1 + 1.5 * x for x in B.act(B.t0 - 2)]
    else:
        B.svcs[s].stack = "go"
        mlog(
            B,
            s,
            "error",
            "panic: assignment to entry in nil map\n\ngoroutine 2231 [running]:\ngithub.com/acme-shop/%s/internal/cache.(*Store).Set(...)\n\t/src/internal/cache/store.go:58"
            % s,
            when="crash",
        )
    for u in callers_of(B, s):
        mlog(
            B,
            u,
            "ERROR",
            "upstream connect error or disconnect/reset before headers. reset reason: connection termination",
            dep=s,
        )
    return (
        s,
        {"kind": "crash_loop", "service": s},
        {
            "oom": "OOMKilled crash loop on large payloads",
            "secret": "CrashLoopBackOff after bad DB secret synced by external-secrets",
            "poison": "consumer CrashLoopBackOff on poison message",
            "liveness": "liveness probe kill loop under load",
            "panic": "panic on nil map -> CrashLoopBackOff",
        }[why],
    )


def m_cert(B, why):
    if why == "public":
        s = pick(B, [x for x, v in B.svcs.items() if v.role == "edge"])
        exp = B.ts(B.t0) - B.rng.randint(0, 30)
        B.aux[(s, "public_cert_expiry")] = exp
        a = B.act(B.t0)
        B.aux[(s, "ingress_vol")] = [1 - 0.7 * x for x in a]
        B.aux[(s, "probe_ok")] = [0.0 if x > 0 else 1.0 for x in a]
        B.certs.append(
            {
                "name": "%s-tls" % s,
                "ns": "shop",
                "issuer": "letsencrypt-prod",
                "issuer_kind": "ClusterIssuer",
                "secret": "%s-tls" % s,
                "cn": B.hosts_all[s],
                "issuer_cn": "R3",
                "not_after": exp,
                "ready": [0.0] * B.T,
            }
        )
        mlog(
            B,
            "ingress-nginx",
            "error",
            "SSL_do_handshake() failed (SSL: error:0A000416:SSL routines::sslv3 alert certificate unknown:SSL alert number 46) while SSL handshaking, client: 203.0.113.{n}, server: 0.0.0.0:443",
            when="any",
        )
        event(
            B,
            max(0, B.t0 - 20),
            s,
            "Failed",
            "Warning",
            "Failed to finalize Order: 403 urn:ietf:params:acme:error:unauthorized: Invalid response from http://%s/.well-known/acme-challenge/..."
            % B.hosts_all[s],
            "certificaterequest/%s-tls-1" % s,
        )
        return (
            s,
            {"kind": "certificate_expiry", "service": s},
            "public TLS certificate expired (ACME renewal failing behind WAF)",
        )
    s = pick(B, [x for x in critical_mids(B) if callers_of(B, x)])
    exp = B.ts(B.t0) - B.rng.randint(0, 20)
    a = B.act(B.t0)
    for u in callers_of(B, s):
        add_cf(B, u, s, "tls", [0.97 * x for x in a])
        if why == "mtls":
            mlog(
                B,
                u,
                "ERROR",
                'rpc error: code = Unavailable desc = connection error: desc = "transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate has expired or is not yet valid: current time %s is after %s"'
                % (iso(B.ts(B.t0) + 40), iso(exp)),
                dep=s,
            )
        else:
            mlog(
                B,
                u,
                "ERROR",
                'Post "https://%s.shop.svc.cluster.local:8443/v1/entries": tls: failed to verify certificate: x509: certificate signed by unknown authority (possibly because of "crypto/rsa: verification error" while trying to verify candidate authority certificate "acme-internal-ca-2024")'
                % s,
                dep=s,
            )
    mlog(
        B,
        s,
        "warn",
        "http: TLS handshake error from 10.1%d.3.4:51234: remote error: tls: bad certificate"
        % B.rng.randint(0, 9),
        when="any",
    )
    B.certs.append(
        {
            "name": "%s-mtls" % s,
            "ns": "shop",
            "issuer": "internal-ca",
            "issuer_kind": "Issuer",
            "secret": "%s-mtls" % s,
            "cn": "%s.shop.svc" % s,
            "not_after": exp if why == "mtls" else B.ts(B.t0) + 89 * 86400,
            "ready": [0.0] * B.T if why == "mtls" else [1.0] * B.T,
            "issuer_cn": "acme-internal-ca-2023" if why == "mtls" else "acme-internal-ca-2025",
        }
    )
    if why == "rotate":
        add_change(
            B,
            s,
            "infra",
            B.t0 - 1,
            "cert-manager: rotate internal CA acme-internal-ca-2024 -> acme-internal-ca-2025 (trust bundle rollout pending)",
        )
    return (
        s,
        {"kind": "certificate_expiry", "service": s},
        (
            "internal mTLS certificate expired (renewal stuck)"
            if why == "mtls"
            else "mis-rotated serving cert (new CA not in clients' trust bundle)"
        ),
    )


def m_net(B, why):
    if why == "dns":
        s = "coredns"
        a = B.act(B.t0, ramp=2)
        B.aux[(s, "servfail")] = [0.25 * x for x in a]
        B.aux[(s, "qmult")] = [1 + 2.5 * x for x in a]
        B.own_lat[s] = [0.8 * x for x in a]
        for u in callers_of(B, s):
            add_cf(B, u, s, "dns", [0.06 * x for x in a])
            for d in B.svcs[u].deps:
                if d != s:
                    add_cf(B, u, d, "dns", [0.05 * x for x in a])
                    B.link_lat[(u, d)] = [0.4 * x for x in a]
            mlog(
                B,
                u,
                "ERROR",
                "dial tcp: lookup {dep}.shop.svc.cluster.local on 10.96.0.10:53: read udp 10.1.4.7:40212->10.96.0.10:53: i/o timeout",
            )
        mlog(
            B,
            "coredns",
            "error",
            "[ERROR] plugin/errors: 2 {dep}.shop.svc.cluster.local.ec2.internal. A: read udp 10.1.0.12:52044->10.0.0.2:53: i/o timeout",
            when="any",
        )
        return (
            s,
            {"kind": "network", "service": s},
            "CoreDNS overload (ndots:5 search-path amplification, upstream VPC resolver throttling)",
        )
    if why == "conntrack":
        e = pick(B, [x for x, v in B.svcs.items() if v.role == "edge"])
        nodes = B.rng.sample(B.nodes, 2)
        B.pin_nodes = {e: nodes}
        a = B.act(B.t0, ramp=2)
        for n in nodes:
            B.aux[("node", n["name"], "conntrack")] = [
                131072 * (0.35 + 0.6 * min(1, max(0, (k - B.t0 + 8) / 8)))
                if k >= B.t0 - 8
                else 131072 * 0.33
                for k in range(B.T)
            ]
            B.aux[("node", n["name"], "retrans")] = [B.step * (2 + 400 * x) for x in a]
        for d in B.svcs[e].deps:
            add_cf(B, e, d, "conn", [0.12 * x for x in a])
            B.link_lat[(e, d)] = [1.0 * x for x in a]
        mlog(B, e, "error", "dial tcp {ip}:8080: connect: connection timed out")
        return (
            e,
            {"kind": "network", "service": e},
            "conntrack table full on nodes hosting %s (nf_conntrack: table full, dropping packet)"
            % e,
        )
    r = pick(B, [x for x, v in B.svcs.items() if v.role in ("redis", "pg")])
    a = B.act(B.t0, B.t0 + B.rng.randint(10, 30), ramp=1)
    for u in callers_of(B, r):
        add_cf(B, u, r, "timeout", [0.15 * x for x in a])
        B.link_lat[(u, r)] = [0.25 * x for x in a]
        mlog(
            B,
            u,
            "ERROR",
            "i/o timeout reading from %s:%s" % (r, "6379" if "redis" in r else "5432"),
            dep=r,
        )
    return (
        r,
        {"kind": "network", "service": r, "match": "service"},
        "packet loss between availability zones to %s primary" % r,
    )


def m_unknown(B, why):
    if why == "blip":
        s = pick(B, critical_mids(B))
        a = B.act(B.t0, B.t0 + B.rng.randint(4, 10), ramp=1)
        B.lat_mult[s] = [1 + 6 * x for x in a]
        return (
            s,
            {"kind": "unknown", "service": s},
            "latency blip, self-resolved, no cause identified",
        )
    e = pick(B, [x for x, v in B.svcs.items() if v.role == "edge"])
    a = B.act(B.t0, B.t0 + B.rng.randint(3, 8), ramp=1)
    add_err(B, e, "502", [0.08 * x for x in a])
    return (
        e,
        {"kind": "unknown", "service": e},
        "intermittent 502s at the edge, self-resolved, cause not found",
    )


PLAN = [
    ("deploy", "nplus1", m_deploy_nplus1, {"pg": 1}),
    ("deploy", "connleak", m_deploy_connleak, {"pg": 1}),
    ("deploy", "depbump", m_deploy_depbump, {}),
    ("deploy", "memregress", m_deploy_memregress, {}),
    ("deploy", "keepalive", m_deploy_keepalive, {}),
    ("config_change", "timeout", m_cfg_timeout, {}),
    ("config_change", "ratelimit", m_cfg_ratelimit, {}),
    ("config_change", "routing", m_cfg_routing, {}),
    ("config_change", "poolsize", m_cfg_poolsize, {"pg": 1}),
    ("config_change", "cache", m_cfg_cache, {}),
    ("resource_saturation", "cpu", m_sat_cpu, {}),
    ("resource_saturation", "pgconns", m_sat_pgconns, {}),
    ("resource_saturation", "pgdisk", m_sat_pgdisk, {}),
    ("resource_saturation", "redis", m_sat_redis, {"redis": 1}),
    ("resource_saturation", "gcleak", m_sat_gcleak, {}),
    ("dependency_failure", "stripe", m_dep_stripe, {"ext": ["stripe-api"]}),
    ("dependency_failure", "twilio", m_dep_twilio, {"ext": ["twilio-api"], "mids": ["auth"]}),
    ("dependency_failure", "auth0", m_dep_auth0, {"ext": ["auth0"]}),
    ("dependency_failure", "failover", m_dep_failover, {}),
    ("dependency_failure", "es", m_dep_es, {"es": 1, "kafka": 1, "worker": "search-indexer"}),
    ("traffic_surge", "marketing", lambda B: m_surge(B, "marketing"), {}),
    ("traffic_surge", "bot", lambda B: m_surge(B, "bot"), {"mids": ["search-api"]}),
    ("traffic_surge", "herd", lambda B: m_surge(B, "herd"), {}),
    ("traffic_surge", "tenant", lambda B: m_surge(B, "tenant"), {}),
    ("crash_loop", "oom", lambda B: m_crash(B, "oom"), {}),
    ("crash_loop", "secret", lambda B: m_crash(B, "secret"), {}),
    (
        "crash_loop",
        "poison",
        lambda B: m_crash(B, "poison"),
        {"kafka": 1, "worker": "order-events-consumer"},
    ),
    ("crash_loop", "liveness", lambda B: m_crash(B, "liveness"), {}),
    ("crash_loop", "panic", lambda B: m_crash(B, "panic"), {}),
    ("certificate_expiry", "public", lambda B: m_cert(B, "public"), {}),
    ("certificate_expiry", "mtls", lambda B: m_cert(B, "mtls"), {}),
    ("certificate_expiry", "rotate", lambda B: m_cert(B, "rotate"), {}),
    ("certificate_expiry", "mtls", lambda B: m_cert(B, "mtls"), {}),
    ("network", "dns", lambda B: m_net(B, "dns"), {"coredns": 1}),
    ("network", "conntrack", lambda B: m_net(B, "conntrack"), {}),
    ("network", "azloss", lambda B: m_net(B, "azloss"), {"redis": 1}),
    ("network", "dns", lambda B: m_net(B, "dns"), {"coredns": 1}),
    ("unknown", "blip", lambda B: m_unknown(B, "blip"), {}),
    ("unknown", "edge502", lambda B: m_unknown(B, "edge502"), {}),
    ("unknown", "blip", lambda B: m_unknown(B, "blip"), {}),
]

# ----------------------------------------------------------------------------- confounders


def confounders(B, target):
    rng = B.rng
    opts = ["deploy", "flag", "cron", "hpa", "alert", "gap", "infra"]
    k = rng.choice([0, 1, 2, 2, 3, 3])
    for c in rng.sample(opts, k):
        others = [
            s for s, v in B.svcs.items() if v.role in ("edge", "mid", "worker") and s != target
        ]
        if not others:
            continue
        o = rng.choice(sorted(others))
        if c == "deploy":
            i = max(1, B.t0 - rng.randint(1, 12))
            nv = bump(B.svcs[o].version)
            add_change(
                B,
                o,
                "deploy",
                i,
                "Deploy %s %s: %s"
                % (
                    o,
                    nv,
                    rng.choice(
                        [
                            "copy changes on order confirmation",
                            "add OpenTelemetry spans to repository layer",
                            "bump base image to distroless/java21:nonroot",
                            "feat: gift card balance endpoint",
                            "fix: retry on 409 from inventory",
                        ]
                    ),
                ),
                nv,
                B.svcs[o].version,
                deploy=True,
            )
            B.confounders.append(
                "innocent deploy of %s %d min before onset" % (o, (B.t0 - i) * B.step // 60)
            )
        elif c == "flag":
            i = max(1, B.t0 - rng.randint(0, 8))
            add_change(
                B,
                o,
                "flag",
                i,
                "flag %s.%s = %s"
                % (
                    o,
                    rng.choice(
                        [
                            "new-recs-widget",
                            "checkout-v2-copy",
                            "dark-mode",
                            "enable-otel-exemplars",
                        ]
                    ),
                    rng.choice(["true", "25%", "false"]),
                ),
            )
            B.confounders.append("innocent flag flip on %s" % o)
        elif c == "cron":
            i = max(1, B.t0 - rng.randint(-10, 10))
            n = max(2, 240 // B.step)
            for j in range(i, min(B.T, i + n)):
                B.cron[o][j] += B.svcs[o].base_rps * 0.8 if B.svcs[o].base_rps else 40
                B.cpu_mult[o][j] *= 1.8
            B.confounders.append("cron/batch spike on %s" % o)
        elif c == "hpa":
            e = [s for s, v in B.svcs.items() if v.hpa and s != target]
            if e:
                s = rng.choice(sorted(e))
                i = max(1, B.t0 - rng.randint(1, 6))
                add_change(
                    B,
                    s,
                    "scale",
                    i,
                    "HPA %s: replicas %d -> %d (cpu utilization above target)"
                    % (s, B.svcs[s].replicas, B.svcs[s].replicas + 1),
                )
                B.confounders.append("autoscaling event on %s" % s)
        elif c == "alert":
            B.extra_alert = rng.choice(
                [
                    "KubePersistentVolumeFillingUp",
                    "NodeClockNotSynchronising",
                    "KubeJobFailed",
                    "KubeletTooManyPods",
                    "PrometheusRuleFailures",
                ]
            )
            B.confounders.append("unrelated alert %s" % B.extra_alert)
        elif c == "gap":
            s = o
            i0 = max(0, B.t0 - rng.randint(-6, 6))
            i1 = min(B.T, i0 + rng.randint(2, 6))
            B.scrape_gaps.append(({"container": s}, i0, i1))
            B.gap_svc = (s, i0)
            B.confounders.append("scrape gap on %s" % s)
        elif c == "infra":
            i = max(1, B.t0 - rng.randint(2, 20))
            add_change(
                B,
                "platform",
                "infra",
                i,
                rng.choice(
                    [
                        "EKS managed node group general-m6i: AMI update 1.29.0-20240415",
                        "terraform: tighten SG egress on data subnets (no-op plan for app SGs)",
                        "karpenter: consolidate spot-c6i pool",
                        "istio 1.21.2 -> 1.21.3 control plane",
                    ]
                ),
            )
            B.confounders.append("infra change on platform")


# ----------------------------------------------------------------------------- logs and events

GENERIC_ERR = {
    "java": {
        "server": "Request processing failed: org.springframework.web.client.HttpServerErrorException$ServiceUnavailable: 503 Service Unavailable (calling {dep})",
        "timeout": "java.net.SocketTimeoutException: Read timed out (calling {dep})",
        "conn": "java.net.ConnectException: Connection refused (calling {dep})",
        "tls": "javax.net.ssl.SSLHandshakeException: PKIX path validation failed: java.security.cert.CertificateExpiredException (calling {dep})",
        "reset": "java.net.SocketException: Connection reset (calling {dep})",
        "dns": "java.net.UnknownHostException: {dep}.shop.svc.cluster.local",
        "goaway": "io.grpc.StatusRuntimeException: UNAVAILABLE: Connection closed after GOAWAY",
    },
    "go": {
        "server": "rpc error: code = Unavailable desc = upstream {dep} returned error",
        "timeout": "rpc error: code = DeadlineExceeded desc = context deadline exceeded",
        "conn": 'rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp {ip}:8080: connect: connection refused"',
        "tls": 'rpc error: code = Unavailable desc = connection error: desc = "transport: authentication handshake failed"',
        "reset": "read tcp {ip}:8080: read: connection reset by peer",
        "dns": "dial tcp: lookup {dep}.shop.svc.cluster.local: i/o timeout",
        "goaway": "rpc error: code = Unavailable desc = closing transport due to: connection error",
    },
    "python": {
        "server": "httpx.HTTPStatusError: Server error '503 Service Unavailable' for url 'http://{dep}.shop.svc.cluster.local:8080/'",
        "timeout": "httpx.ReadTimeout: timed out (calling {dep})",
        "conn": "httpx.ConnectError: [Errno 111] Connection refused",
        "tls": "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired (_ssl.c:1006)",
        "reset": "httpx.RemoteProtocolError: Server disconnected without sending a response.",
        "dns": "httpx.ConnectError: [Errno -3] Temporary failure in name resolution",
        "goaway": "grpc._channel._InactiveRpcError: StatusCode.UNAVAILABLE",
    },
    "node": {
        "server": "Error: Request failed with status code 503 (GET http://{dep}.shop.svc.cluster.local:8080)",
        "timeout": "Error: timeout of 2000ms exceeded (calling {dep})",
        "conn": "Error: connect ECONNREFUSED {ip}:8080",
        "tls": "Error: certificate has expired (code CERT_HAS_EXPIRED)",
        "reset": "Error: socket hang up (code ECONNRESET)",
        "dns": "Error: getaddrinfo EAI_AGAIN {dep}.shop.svc.cluster.local",
        "goaway": "Error: 14 UNAVAILABLE: GOAWAY received",
    },
}
EDGE_ERR = {
    "server": "upstream connect error or disconnect/reset before headers. reset reason: connection termination",
    "timeout": "upstream request timeout",
    "conn": "no healthy upstream",
    "reset": "upstream connect error or disconnect/reset before headers. reset reason: connection termination",
    "tls": "upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: TLS error: 268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED",
}
BACKGROUND = {
    "java": [
        ("INFO", "Completed {code} OK in {ms}ms"),
        ("INFO", "HikariPool-1 - Pool stats (total=10, active={n}, idle=8, waiting=0)"),
        ("WARN", "Circuit breaker 'inventory' recorded a slow call rate of 3.1%"),
        ("INFO", "Refreshing cached catalog snapshot, entries={n}"),
        ("WARN", "Slow SQL: took {ms}ms: select ... from order_line where order_id=?"),
    ],
    "go": [
        ("info", "request completed"),
        ("info", "grpc request served"),
        ("warn", "retrying request after transient error"),
        ("debug", "cache hit ratio 0.9{n}"),
    ],
    "python": [
        ("INFO", '"GET {route} HTTP/1.1" 200'),
        ("INFO", "refreshed feature flags from LaunchDarkly"),
        ("WARNING", "slow response from upstream ({ms} ms)"),
    ],
    "node": [
        ("info", "GET {route} 200 {ms}ms"),
        ("info", "rendered page in {ms}ms"),
        ("warn", "SSR cache miss for {route}"),
    ],
}


def fill(B, msg, s, dep=None):
    rng = B.rng
    vals = {
        "ms": rng.randint(800, 9000),
        "n": rng.randint(2, 120),
        "dep": dep or rng.choice(B.svcs[s].deps or [s]) if s in B.svcs else (dep or "catalog"),
        "ip": "10.1%d.%d.%d" % (rng.randint(0, 9), rng.randint(0, 255), rng.randint(2, 250)),
        "q": rng.choice(["shoes", "iphone+case", "lego", "a"]),
        "cid": "cli_%s" % hexid(rng, 6),
        "code": 200,
        "route": ROUTES.get(s, ["/api/" + s])[0],
    }
    try:
        return msg.format(**vals)
    except (KeyError, IndexError, ValueError):
        return msg


def log_rec(B, s, i, level, msg, pod=None, trace=True, dep=None):
    rng = B.rng
    sv = B.svcs.get(s)
    t = B.ts(i) + rng.uniform(0, B.step)
    stack = sv.stack if sv else "go"
    r = {
        "ts": round(t, 3) if stack == "go" and B.go_epoch else iso(t, ms=True),
        "service": s,
        "level": level,
        "msg": fill(B, msg, s, dep),
    }
    if pod:
        r["pod"] = pod
    if trace and rng.random() < 0.8:
        r["trace_id"] = hexid(rng, 32)
    if stack == "java":
        r["logger"] = "com.acme.%s.%s" % (
            s.replace("-", ""),
            rng.choice(["api.RequestLogger", "service.Handler", "client.UpstreamClient"]),
        )
        r["thread"] = "http-nio-8080-exec-%d" % rng.randint(1, 200)
    if sv:
        r["namespace"] = sv.ns
    return r


def pod_at(B, s, i):
    if s not in B.svcs or not B.svcs[s].pods:
        return None
    ps = active_pods(B, s, i)
    return B.rng.choice(ps).name if ps else None


def gen_logs(B):
    rng = B.rng
    mode = rng.choices(["full", "partial", "sparse", "none"], [0.55, 0.25, 0.1, 0.1])[0]
    B.log_mode = mode
    if mode == "none":
        return {}
    out = {}
    svcs = [s for s, v in B.svcs.items() if v.role in ("edge", "mid", "worker", "dns")]
    if mode == "partial":
        svcs = rng.sample(svcs, max(1, len(svcs) // 2))
    lvl_err = lambda s: "error" if B.svcs[s].stack in ("go", "node") else "ERROR"
    for s in svcs:
        sv = B.svcs[s]
        recs = []
        bg = BACKGROUND.get(sv.stack or "go", BACKGROUND["go"])
        every = max(1, int(rng.uniform(20, 90) // B.step)) * (3 if mode == "sparse" else 1)
        for i in range(0, B.T, every):
            lv, m = rng.choice(bg)
            recs.append(log_rec(B, s, i, lv, m, pod_at(B, s, i)))
        own = B.own_msgs.get(s, [])
        covered = set()
        for lv, m, kw in own:
            dep = kw.get("dep")
            when = kw.get("when")
            if dep:
                covered.add(dep)
            for i in range(B.T):
                if dep:
                    f = B.failtot.get((s, dep), B.z())[i]
                    if i < B.t0 - 1:
                        f = 0 if f < 0.05 else f
                    n = min(4, int(f * 25 + rng.random()))
                elif when == "sat":
                    n = int(B.sat_arr[i] > 0.05 and rng.random() < 0.9) * 2
                elif when == "leak":
                    n = int(0.15 < B.leak_arr[i] and B.sat_arr[i] < 0.05 and rng.random() < 0.3)
                elif when == "crash":
                    n = sum(1 for p in sv.pods if i in p.restarts)
                elif when == "once":
                    n = 1 if i == B.t0 else 0
                elif when == "any":
                    n = (
                        1
                        if i >= B.t0
                        and rng.random() < 0.55
                        and (
                            B.errtot[s][i] > 0.003
                            or B.lat[s][i] > 1.4 * B.lat[s][0]
                            or s in ("coredns",)
                            or True
                        )
                        and i < B.t0 + B.T // 2
                        else 0
                    )
                else:
                    n = (
                        min(4, int(B.errtot[s][i] * 25 + rng.random() * 0.5))
                        if i >= B.t0 - 1
                        else 0
                    )
                if sv.pods and when == "crash":
                    for p in sv.pods:
                        if i in p.restarts:
                            recs.append(
                                log_rec(
                                    B,
                                    s,
                                    i,
                                    lv
                                    if lv in ("ERROR", "error", "fatal", "FATAL")
                                    else lvl_err(s),
                                    m,
                                    p.name,
                                    trace=False,
                                    dep=dep,
                                )
                            )
                    continue
                for _ in range(n):
                    recs.append(log_rec(B, s, i, lv, m, pod_at(B, s, i), dep=dep))
        for d in sv.deps:
            if d in covered:
                continue
            types = B.fail.get((s, d), {})
            for i in range(B.t0 - 1, B.T):
                for typ, arr in types.items():
                    if arr[i] < 0.02 or (typ == "conn" and arr[i] < 0.05):
                        continue
                    n = min(3, int(arr[i] * 15 + rng.random()))
                    tmpl = (
                        EDGE_ERR.get(typ)
                        if (sv.role == "edge" and sv.name == "api-gateway")
                        else None
                    )
                    tmpl = tmpl or GENERIC_ERR.get(sv.stack or "go", GENERIC_ERR["go"]).get(
                        typ, "request to {dep} failed"
                    )
                    for _ in range(n):
                        recs.append(log_rec(B, s, i, lvl_err(s), tmpl, pod_at(B, s, i), dep=d))
        if len(recs) > 450:
            recs = rng.sample(recs, 450)
        recs.sort(
            key=lambda r: (
                r["ts"]
                if isinstance(r["ts"], float)
                else datetime.strptime(r["ts"], "%Y-%m-%dT%H:%M:%S.%fZ")
                .replace(tzinfo=timezone.utc)
                .timestamp()
            )
        )
        if recs:
            out[s] = recs
    for s, own in B.own_msgs.items():
        if s not in B.svcs and mode != "sparse":
            recs = []
            for lv, m, kw in own:
                for i in range(B.t0, B.T):
                    if rng.random() < 0.5:
                        r = log_rec(
                            B,
                            s,
                            i,
                            lv,
                            m,
                            "ingress-nginx-controller-%s-%s" % (rs_hash(rng), rs_hash(rng, 5))
                            if s == "ingress-nginx"
                            else None,
                            trace=False,
                        )
                        recs.append(r)
            if recs:
                out[s] = sorted(recs, key=lambda r: r["ts"])[:600]
    return out


def gen_events(B):
    ev = []
    for it in B.events_pending:
        i, svc, reason, typ, msg, obj = it[:6]
        count = it[6] if len(it) > 6 else 1
        sv = B.svcs.get(svc)
        if sv and sv.pods:
            newrs = [p for p in sv.pods if p.start >= i - 1]
            msg = msg.replace("NEWRS", newrs[0].rs if newrs else sv.cur_rs)
            pp = active_pods(B, svc, max(0, min(B.T - 1, i)))
            if "POD" in obj and pp:
                obj = "pod/" + pp[0].name
            if "NODE" in obj and pp:
                obj = "node/" + pp[0].node["name"]
        ev.append(
            {
                "ts": iso(B.ts(max(0, min(B.T - 1, i))) + B.rng.randint(0, B.step - 1)),
                "service": svc,
                "reason": reason,
                "type": typ,
                "message": msg,
                "object": obj,
                "count": count,
                "namespace": sv.ns if sv else "shop",
            }
        )
    for s, sv in B.svcs.items():
        for p in sv.pods:
            for k, i in enumerate(p.restarts[:12]):
                if p.term_reason == "OOMKilled":
                    ev.append(
                        {
                            "ts": iso(B.ts(i) + 2),
                            "service": s,
                            "reason": "OOMKilled",
                            "type": "Warning",
                            "message": "Container %s was OOMKilled (exit code 137)" % s,
                            "object": "pod/" + p.name,
                            "count": k + 1,
                            "namespace": sv.ns,
                            "node": p.node["name"],
                        }
                    )
                if k >= 1:
                    ev.append(
                        {
                            "ts": iso(B.ts(i) + 5),
                            "service": s,
                            "reason": "BackOff",
                            "type": "Warning",
                            "message": "Back-off restarting failed container %s in pod %s_%s(%s)"
                            % (s, p.name, sv.ns, hexid(B.rng, 8)),
                            "object": "pod/" + p.name,
                            "count": k,
                            "namespace": sv.ns,
                        }
                    )
        if sv.hpa:
            for i in range(1, B.T):
                if B.repl[s][i] != B.repl[s][i - 1]:
                    ev.append(
                        {
                            "ts": iso(B.ts(i)),
                            "service": s,
                            "reason": "SuccessfulRescale",
                            "type": "Normal",
                            "message": "New size: %d; reason: cpu resource utilization (percentage of request) above target"
                            % B.repl[s][i]
                            if B.repl[s][i] > B.repl[s][i - 1]
                            else "New size: %d; reason: All metrics below target" % B.repl[s][i],
                            "object": "horizontalpodautoscaler/" + s,
                            "count": 1,
                            "namespace": sv.ns,
                        }
                    )
    ev.sort(key=lambda e: e["ts"])
    return ev


# ----------------------------------------------------------------------------- alerts

RUNBOOK = "https://runbooks.prometheus-operator.dev/runbooks/%s/%s"


def mk_alert(
    B,
    i,
    name,
    labels,
    summary,
    desc,
    severity,
    runbook=None,
    state="active",
    inhibited=None,
    expr="up == 0",
):
    rng = B.rng
    l = {"alertname": name}
    l.update(labels)
    if severity:
        l["severity"] = severity
    l.setdefault("prometheus", "monitoring/k8s")
    fp = hashlib.sha256(json.dumps(l, sort_keys=True).encode()).hexdigest()[:16]
    i = max(0, min(B.T - 2, i))
    start = B.ts(i) + rng.randint(0, B.step - 1)
    upd = B.end - rng.randint(5, 40)
    ann = {"summary": summary, "description": desc}
    if runbook:
        ann["runbook_url"] = runbook
    recv = (
        "pagerduty-critical"
        if severity in ("critical", "page")
        else ("null" if severity == "none" else "slack-sre-alerts")
    )
    return {
        "annotations": ann,
        "endsAt": iso(upd + 240, ms=True),
        "fingerprint": fp,
        "receivers": [{"name": recv}],
        "startsAt": iso(start, ms=True),
        "status": {
            "inhibitedBy": inhibited or [],
            "silencedBy": [],
            "state": "suppressed" if inhibited else state,
        },
        "updatedAt": iso(upd, ms=True),
        "generatorURL": "https://prometheus.acme.io/graph?g0.expr=%s&g0.tab=1"
        % expr.replace(" ", "+").replace('"', "%22"),
        "labels": l,
    }


def first_run(arr, thr, start, n=3):
    run = 0
    for i in range(max(0, start), len(arr)):
        run = run + 1 if arr[i] > thr else 0
        if run >= n:
            return i
    return None


def gen_alerts(B, target):
    rng = B.rng
    alerts = []
    page = None
    order = sorted(
        B.svcs,
        key=lambda s: (
            {"edge": 0, "mid": 1, "worker": 2}.get(B.svcs[s].role, 3),
            len(path_to_edge(B, s)),
            s,
        ),
    )
    pre = max(2, B.t0 - 3)
    fired = []
    for s in order:
        sv = B.svcs[s]
        if sv.role not in ("edge", "mid", "worker"):
            continue
        base_lat = sum(B.lat[s][:pre]) / pre
        ie = first_run(B.errtot[s], 0.03 if sv.role == "edge" else 0.05, B.t0 - 2)
        il = first_run([B.lat[s][i] / base_lat for i in range(B.T)], 2.2, B.t0 - 2)
        if sv.role == "worker":
            lag = B.aux[(s, "lag")]
            il2 = first_run(lag, 50000, B.t0 - 2, 2)
            if il2 is not None:
                fired.append((s, "lag", il2 + 2))
            continue
        if ie is not None:
            fired.append((s, "err", ie + rng.randint(1, 3)))
        elif il is not None:
            fired.append((s, "lat", il + rng.randint(1, 3)))
    edge_style = rng.choice(["pyrra", "sloth", "ingress", "plain"])
    for k, (s, typ, i) in enumerate(fired):
        sv = B.svcs[s]
        pct = max(B.errtot[s][min(B.T - 1, i) :] or [0]) * 100
        if typ == "lag":
            a = mk_alert(
                B,
                i,
                "KafkaConsumerGroupLagHigh",
                {
                    "consumergroup": s,
                    "job": "kafka-exporter",
                    "namespace": "kafka",
                    "service": "kafka-exporter",
                },
                "Kafka consumer group %s is lagging" % s,
                "Consumer group %s lag is above 50000 messages for 5 minutes." % s,
                "critical",
                expr="sum by (consumergroup) (kafka_consumergroup_lag) > 50000",
            )
        elif typ == "err" and sv.role == "edge":
            if edge_style == "pyrra":
                a = mk_alert(
                    B,
                    i,
                    "ErrorBudgetBurn",
                    {
                        "slo": "%s-availability" % s,
                        "long": "1h",
                        "short": "5m",
                        "namespace": "shop",
                        "service": s,
                        "exhaustion": "2d",
                    },
                    "%s is burning its error budget very fast" % s,
                    "The SLO %s-availability is burning its error budget 14x faster than allowed."
                    % s,
                    "critical",
                    "https://github.com/pyrra-dev/pyrra/blob/main/docs/runbook.md",
                    expr='nginx_ingress_controller_requests:burnrate5m{ingress="%s"} > (14 * (1-0.999))'
                    % s,
                )
            elif edge_style == "sloth":
                a = mk_alert(
                    B,
                    i,
                    "ShopAvailabilitySLOBurn",
                    {
                        "sloth_id": "%s-requests-availability" % s,
                        "sloth_service": s,
                        "sloth_slo": "requests-availability",
                        "category": "availability",
                        "owner": "team-web",
                    },
                    "High error rate on %s requests responses" % s,
                    "%s error budget burn rate is too high (page)" % s,
                    "page",
                    expr='slo:sli_error:ratio_rate5m{sloth_id="%s-requests-availability"} > (14.4 * 0.001)'
                    % s,
                )
            elif edge_style == "ingress":
                a = mk_alert(
                    B,
                    i,
                    "NginxIngressHigh5xxRate",
                    {"ingress": s, "exported_namespace": "shop", "host": B.hosts.get(s, s)},
                    "High 5xx rate on ingress %s" % s,
                    "%.1f%% of requests to %s are failing with 5xx." % (pct, B.hosts.get(s, s)),
                    "critical",
                    expr='sum(rate(nginx_ingress_controller_requests{status=~"5..",ingress="%s"}[5m])) / sum(rate(nginx_ingress_controller_requests{ingress="%s"}[5m])) > 0.02'
                    % (s, s),
                )
            else:
                a = mk_alert(
                    B,
                    i,
                    "HighErrorRate",
                    {"service": s, "namespace": "shop", "team": "web"},
                    "High error rate on %s" % s,
                    "Error rate for %s is %.1f%% (threshold 2%%)." % (s, pct),
                    "critical",
                    expr='job:http_errors:ratio_rate5m{job="%s"} > 0.02' % s,
                )
        elif typ == "err":
            a = mk_alert(
                B,
                i,
                "HighErrorRate",
                {
                    "service": s,
                    "namespace": "shop",
                    "team": rng.choice(["payments", "core", "fulfilment", "growth"]),
                },
                "High error rate on %s" % s,
                "Error rate for %s is %.1f%% (threshold 5%%)." % (s, pct),
                "warning",
                expr='job:http_errors:ratio_rate5m{job="%s"} > 0.05' % s,
            )
        else:
            nm = "HighLatencyP99" if rng.random() < 0.6 else "APILatencySLOBreach"
            a = mk_alert(
                B,
                i,
                nm,
                {"service": s, "namespace": "shop", "quantile": "0.99"},
                "p99 latency on %s above objective" % s,
                "p99 latency of %s has been above 1.5s for 5 minutes." % s,
                "critical" if sv.role == "edge" else "warning",
                expr='histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{job="%s"}[5m]))) > 1.5'
                % s,
            )
        alerts.append(a)
        if page is None and (sv.role == "edge" or k == 0):
            page = (a, s)
    # cause-side alerts from telemetry
    for s, sv in B.svcs.items():
        crashers = [p for p in sv.pods if p.restarts]
        for p in crashers[:4]:
            if len(p.restarts) >= 2:
                alerts.append(
                    mk_alert(
                        B,
                        p.restarts[1] + 2,
                        "KubePodCrashLooping",
                        {
                            "container": s,
                            "namespace": sv.ns,
                            "pod": p.name,
                            "job": "kube-state-metrics",
                            "service": "kube-state-metrics",
                            "reason": "CrashLoopBackOff",
                        },
                        "Pod is crash looping.",
                        'Pod %s/%s (%s) is in waiting state (reason: "CrashLoopBackOff").'
                        % (sv.ns, p.name, s),
                        "warning",
                        RUNBOOK % ("kubernetes", "kubepodcrashlooping"),
                        expr='max_over_time(kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff"}[5m]) >= 1',
                    )
                )
        if crashers:
            alerts.append(
                mk_alert(
                    B,
                    min(p.restarts[0] for p in crashers) + max(2, 600 // B.step),
                    "KubeDeploymentReplicasMismatch",
                    {
                        "deployment": s,
                        "namespace": sv.ns,
                        "job": "kube-state-metrics",
                        "service": "kube-state-metrics",
                    },
                    "Deployment has not matched the expected number of replicas.",
                    "Deployment %s/%s has not matched the expected number of replicas for longer than 15 minutes."
                    % (sv.ns, s),
                    "warning",
                    RUNBOOK % ("kubernetes", "kubedeploymentreplicasmismatch"),
                    expr="kube_deployment_spec_replicas != kube_deployment_status_replicas_available",
                )
            )
        if B.aux.get((s, "throttle_max"), 0) > 0.25:
            p0 = sv.pods[0]
            alerts.append(
                mk_alert(
                    B,
                    B.t0 + 3,
                    "CPUThrottlingHigh",
                    {"container": s, "namespace": sv.ns, "pod": p0.name},
                    "Processes experience elevated CPU throttling.",
                    "%d%% throttling of CPU in namespace %s for container %s in pod %s."
                    % (int(B.aux[(s, "throttle_max")] * 100), sv.ns, s, p0.name),
                    "info",
                    RUNBOOK % ("kubernetes", "cputhrottlinghigh"),
                    inhibited=None,
                    expr='sum(increase(container_cpu_cfs_throttled_periods_total{container!=""}[5m])) by (container,pod,namespace) / sum(increase(container_cpu_cfs_periods_total[5m])) by (container,pod,namespace) > (25 / 100)',
                )
            )
        if sv.hpa and max(B.repl[s]) >= sv.hpa["max"]:
            i = B.repl[s].index(sv.hpa["max"])
            alerts.append(
                mk_alert(
                    B,
                    i + max(2, 900 // B.step),
                    "KubeHpaMaxedOut",
                    {"horizontalpodautoscaler": s, "namespace": sv.ns, "job": "kube-state-metrics"},
                    "HPA is running at max replicas",
                    "HPA %s/%s has been running at max replicas for longer than 15 minutes."
                    % (sv.ns, s),
                    "warning",
                    RUNBOOK % ("kubernetes", "kubehpamaxedout"),
                    expr="kube_horizontalpodautoscaler_status_current_replicas == kube_horizontalpodautoscaler_spec_max_replicas",
                )
            )
        if sv.role == "pg" and min(B.aux.get((s, "up"), [1])) < 0.5:
            i = B.aux[(s, "up")].index(0.0)
            alerts.append(
                mk_alert(
                    B,
                    i + 1,
                    "PostgresqlDown",
                    {"job": s, "instance": "%s.c9xk2mzq1abc.us-east-1.rds.amazonaws.com:5432" % s},
                    "Postgresql down (instance %s)" % s,
                    "Postgresql instance is down\n  VALUE = 0",
                    "critical",
                    expr="pg_up == 0",
                )
            )
        if sv.role == "dns" and max(B.aux.get((s, "servfail"), [0])) > 0.05:
            alerts.append(
                mk_alert(
                    B,
                    B.t0 + 2,
                    "CoreDNSErrorsHigh",
                    {"job": "kube-dns", "namespace": "kube-system", "service": "kube-dns"},
                    "CoreDNS is returning SERVFAIL.",
                    "CoreDNS is returning SERVFAIL for 12.4% of requests.",
                    "critical",
                    "https://github.com/povilasv/coredns-mixin/tree/master/runbook.md#alert-name-corednserrorshigh",
                    expr='sum without (pod, instance, server, zone, view, rcode, plugin) (rate(coredns_dns_responses_total{rcode="SERVFAIL"}[5m])) / sum without (pod, instance, server, zone, view, rcode, plugin) (rate(coredns_dns_responses_total[5m])) > 0.03',
                )
            )
        if sv.role == "es" and max(B.aux.get((s, "rejected"), [0])) > 0:
            alerts.append(
                mk_alert(
                    B,
                    B.t0 + 2,
                    "ElasticsearchWriteRejections",
                    {"cluster": "search-prod", "job": "elasticsearch-exporter"},
                    "Elasticsearch is rejecting writes",
                    "Write thread pool rejections on search-prod.",
                    "warning",
                    expr='rate(elasticsearch_thread_pool_rejected_count{type="write"}[5m]) > 0',
                )
            )
    for n in B.nodes:
        ct = B.aux.get(("node", n["name"], "conntrack"))
        if ct:
            i = first_run(ct, 131072 * 0.75, 0, 1)
            alerts.append(
                mk_alert(
                    B,
                    (i or B.t0) + 1,
                    "NodeHighNumberConntrackEntriesUsed",
                    {
                        "instance": n["name"],
                        "job": "node-exporter",
                        "namespace": "monitoring",
                        "container": "node-exporter",
                    },
                    "Number of conntrack are getting close to the limit.",
                    "%d%% of conntrack entries are used." % 99,
                    "warning",
                    RUNBOOK % ("node", "nodehighnumberconntrackentriesused"),
                    expr="(node_nf_conntrack_entries / node_nf_conntrack_entries_limit) > 0.75",
                )
            )
    for c in B.certs:
        if c["not_after"] <= B.end:
            alerts.append(
                mk_alert(
                    B,
                    max(0, B.t0 - rng.randint(0, 3)),
                    "CertManagerCertNotReady",
                    {
                        "name": c["name"],
                        "exported_namespace": c["ns"],
                        "condition": "False",
                        "job": "cert-manager",
                        "namespace": "cert-manager",
                    },
                    "The cert `%s` is not ready to serve traffic." % c["name"],
                    "This certificate has not been ready to serve traffic for at least 10m.",
                    "critical",
                    "https://gitlab.com/uneeq-oss/cert-manager-mixin/-/blob/master/RUNBOOK.md#certmanagercertnotready",
                    expr='max by (name, exported_namespace, namespace, condition) (certmanager_certificate_ready_status{condition!="True"} == 1)',
                )
            )
            if rng.random() < 0.7:
                alerts.append(
                    mk_alert(
                        B,
                        0,
                        "CertManagerCertExpirySoon",
                        {
                            "name": c["name"],
                            "exported_namespace": c["ns"],
                            "job": "cert-manager",
                            "namespace": "cert-manager",
                        },
                        "The cert `%s` is %s" % (c["name"], "expiring soon"),
                        "The domain that this cert covers will be unavailable after %s."
                        % iso(c["not_after"]),
                        "warning",
                        expr="avg by (exported_namespace, namespace, name) (certmanager_certificate_expiration_timestamp_seconds - time()) < (21 * 24 * 3600)",
                    )
                )
    for e in B.svcs:
        if (e, "probe_ok") in B.aux:
            i = B.aux[(e, "probe_ok")].index(0.0)
            alerts.append(
                mk_alert(
                    B,
                    i + 1,
                    "BlackboxProbeFailed",
                    {
                        "instance": "https://%s/healthz" % B.hosts.get(e, e),
                        "job": "blackbox",
                        "module": "http_2xx",
                    },
                    "Blackbox probe failed (instance https://%s/healthz)" % B.hosts.get(e, e),
                    "Probe failed\n  VALUE = 0",
                    "critical",
                    expr="probe_success == 0",
                )
            )
    for i, name, labels, summ, desc, sev, rb, st in B.mech_alerts:
        alerts.append(mk_alert(B, i, name, labels, summ, desc, sev, rb))
    if getattr(B, "gap_svc", None):
        s, i0 = B.gap_svc
        alerts.append(
            mk_alert(
                B,
                i0 + 1,
                "TargetDown",
                {
                    "job": s if B.svcs[s].scrape == "servicemonitor" else "shop/%s" % s,
                    "namespace": "shop",
                    "service": s,
                },
                "One or more targets are unreachable.",
                "33.33%% of the %s/%s targets in shop namespace are down." % (s, s),
                "warning",
                RUNBOOK % ("general", "targetdown"),
                expr="100 * (count(up == 0) BY (job, namespace, service) / count(up) BY (job, namespace, service)) > 10",
            )
        )
    if getattr(B, "extra_alert", None):
        n = B.extra_alert
        lab = {
            "KubePersistentVolumeFillingUp": {
                "namespace": "monitoring",
                "persistentvolumeclaim": "prometheus-k8s-db-prometheus-k8s-0",
                "job": "kubelet",
            },
            "NodeClockNotSynchronising": {
                "instance": rng.choice(B.nodes)["name"],
                "job": "node-exporter",
            },
            "KubeJobFailed": {
                "namespace": "shop",
                "job_name": "nightly-report-28561440",
                "job": "kube-state-metrics",
            },
            "KubeletTooManyPods": {"node": rng.choice(B.nodes)["name"], "job": "kubelet"},
            "PrometheusRuleFailures": {
                "namespace": "monitoring",
                "pod": "prometheus-k8s-1",
                "rule_group": "/etc/prometheus/rules/prometheus-k8s-rulefiles-0/shop-slo.yaml;slo",
            },
        }[n]
        alerts.append(
            mk_alert(
                B,
                rng.randint(0, B.T - 3),
                n,
                lab,
                "%s firing" % n,
                "See runbook.",
                "warning",
                RUNBOOK % ("kubernetes", n.lower()),
            )
        )
    wd = mk_alert(
        B,
        0,
        "Watchdog",
        {"namespace": "monitoring"},
        "An alert that should always be firing to certify that Alertmanager is working properly.",
        "This is an alert meant to ensure that the entire alerting pipeline is functional.",
        "none",
        RUNBOOK % ("general", "watchdog"),
        expr="vector(1)",
    )
    alerts.append(wd)
    if rng.random() < 0.4:
        alerts.append(
            mk_alert(
                B,
                0,
                "InfoInhibitor",
                {"namespace": "shop", "alertname_": "x"},
                "Info-level alert inhibition.",
                "This is an alert that is used to inhibit info alerts.",
                "none",
                RUNBOOK % ("general", "infoinhibitor"),
                expr='ALERTS{severity = "info"} == 1',
            )
        )
    if page is None:
        # page on the first cause-side alert, else a latency alert on target
        t0s = iso(B.ts(max(0, B.t0 - 3)), ms=True)
        cand = [
            a
            for a in alerts
            if a["labels"]["alertname"] not in ("Watchdog", "InfoInhibitor", "TargetDown")
            and a["labels"].get("severity") in ("critical", "warning")
            and a["labels"]["alertname"] != getattr(B, "extra_alert", None)
            and a["startsAt"] >= t0s
        ]
        if cand:
            cand.sort(key=lambda a: (a["labels"].get("severity") != "critical", a["startsAt"]))
            page = (cand[0], None)
        else:
            a = mk_alert(
                B,
                B.t0 + 2,
                "HighLatencyP99",
                {"service": target, "namespace": "shop", "quantile": "0.99"},
                "p99 latency on %s above objective" % target,
                "p99 latency of %s has been above objective for 5 minutes." % target,
                "critical",
            )
            alerts.append(a)
            page = (a, target)
    # dedupe identical fingerprints
    seen, uniq = set(), []
    for a in alerts:
        if a["fingerprint"] in seen:
            continue
        seen.add(a["fingerprint"])
        uniq.append(a)
    uniq.sort(key=lambda a: a["startsAt"])
    return uniq, page


def page_service(a, B):
    l = a["labels"]
    for k in (
        "service",
        "ingress",
        "sloth_service",
        "deployment",
        "horizontalpodautoscaler",
        "container",
        "consumergroup",
        "job",
        "dimension_DBInstanceIdentifier",
        "name",
    ):
        if k in l and l[k] in B.svcs:
            return l[k]
        if k == "name" and k in l and l[k].rsplit("-", 1)[0] in B.svcs:
            return l[k].rsplit("-", 1)[0]
    for k in ("instance",):
        for s in B.svcs:
            if s in l.get(k, "") or B.hosts.get(s, "@@") in l.get(k, ""):
                return s
    return l.get("service") or l.get("job")


# ----------------------------------------------------------------------------- bundle

HOSTS = {
    "storefront": "www.acme-shop.com",
    "api-gateway": "api.acme-shop.com",
    "web-bff": "app.acme-shop.com",
    "mobile-bff": "m-api.acme-shop.com",
}


def generate(idx, plan, seed):
    kind, mech, fn, need = plan
    rng = random.Random("%d-%d-%s" % (seed, idx, mech))
    B = Bundle(rng, idx, kind, mech)
    B.events_pending, B.own_msgs, B.mech_alerts, B.certs, B.crash, B.deploy_at = (
        [],
        {},
        [],
        [],
        {},
        {},
    )
    B.hosts_all = HOSTS
    B.go_epoch = rng.random() < 0.5
    B.x509 = rng.random() < 0.5
    B.lim_all = rng.random() < 0.15
    B.need_ext = (need.get("ext") or ["stripe-api"])[0]
    win = rng.choice([30, 45, 60, 90, 120, 150, 180, 240])
    step = 15 if win <= 45 else (30 if win <= 90 else 60)
    B.step = step
    B.T = win * 60 // step + 1
    day = datetime(2024, 1, 8, tzinfo=timezone.utc) + timedelta(
        days=rng.randint(0, 300), seconds=rng.randint(0, 86399)
    )
    B.start = int(day.timestamp()) // step * step
    B.end = B.start + (B.T - 1) * step
    B.t0 = int(B.T * rng.uniform(0.45, 0.68))
    n = rng.randint(5, 25)
    if kind in ("dependency_failure",) or mech in ("poison", "es"):
        n = max(n, 9)
    build_topology(B, n, need)
    build_nodes(B)
    init_state(B)
    target, truth, mdesc = fn(B)
    confounders(B, target)
    simulate(B)
    build_pods(B)
    # certificates inventory (healthy ones) for realism
    for s, v in B.svcs.items():
        if v.role == "edge" and not any(c["name"] == "%s-tls" % s for c in B.certs):
            B.certs.append(
                {
                    "name": "%s-tls" % s,
                    "ns": "shop",
                    "issuer": "letsencrypt-prod",
                    "issuer_kind": "ClusterIssuer",
                    "secret": "%s-tls" % s,
                    "cn": HOSTS[s],
                    "issuer_cn": "R3",
                    "not_after": B.start + rng.randint(25, 85) * 86400,
                }
            )
    for s in sorted(B.svcs):
        v = B.svcs[s]
        if v.role in ("edge", "mid", "worker"):
            emit_app(B, s)
        if v.role in ("edge", "mid", "worker", "dns"):
            emit_k8s(B, s)
    emit_ingress(B)
    emit_stores(B)
    emit_nodes(B)
    emit_probes_certs(B)
    logs = gen_logs(B)
    events = gen_events(B)
    alerts, (page_alert, page_svc) = gen_alerts(B, target)
    page_svc = page_svc or page_service(page_alert, B)
    names = [a["labels"]["alertname"] for a in alerts]
    focus = (
        page_alert["labels"]["alertname"]
        if names.count(page_alert["labels"]["alertname"]) == 1
        else page_alert["fingerprint"]
    )
    return B, dict(
        truth=truth,
        target=target,
        mdesc=mdesc,
        logs=logs,
        events=events,
        alerts=alerts,
        focus=focus,
        page=page_svc,
        page_alert=page_alert,
    )


def write_bundle(out, name, B, r):
    d = os.path.join(out, name)
    os.makedirs(os.path.join(d, "metrics"), exist_ok=True)
    pa = r["page_alert"]["labels"]
    title = "%s firing for %s" % (pa["alertname"], r["page"])
    with open(os.path.join(d, "bundle.yaml"), "w") as f:
        yaml.safe_dump(
            {
                "id": name,
                "title": title,
                "window": {"start": iso(B.start), "end": iso(B.end)},
                "focus_alert": r["focus"],
            },
            f,
            sort_keys=False,
        )
    with open(os.path.join(d, "alerts.json"), "w") as f:
        json.dump(r["alerts"], f, indent=1)
    for mname, series in sorted(B.series.items()):
        with open(os.path.join(d, "metrics", mname + ".json"), "w") as f:
            json.dump(
                {"status": "success", "data": {"resultType": "matrix", "result": series}},
                f,
                separators=(",", ":"),
            )
    with open(os.path.join(d, "metrics", "queries.yaml"), "w") as f:
        yaml.safe_dump({k: B.queries[k] for k in sorted(B.series)}, f, sort_keys=False, width=1000)
    if r["logs"]:
        os.makedirs(os.path.join(d, "logs"), exist_ok=True)
        for s, recs in sorted(r["logs"].items()):
            with open(os.path.join(d, "logs", s + ".jsonl"), "w") as f:
                for rec in recs:
                    f.write(json.dumps(rec) + "\n")
    if r["events"] and B.rng.random() < 0.8:
        os.makedirs(os.path.join(d, "events"), exist_ok=True)
        with open(os.path.join(d, "events", "kubernetes.jsonl"), "w") as f:
            for e in r["events"]:
                f.write(json.dumps(e) + "\n")
    ch = sorted(B.changes, key=lambda c: c["ts"])
    with open(os.path.join(d, "changes.json"), "w") as f:
        json.dump(ch, f, indent=1)
    topo = {"services": {s: {"depends_on": list(v.deps)} for s, v in sorted(B.svcs.items())}}
    with open(os.path.join(d, "topology.yaml"), "w") as f:
        yaml.safe_dump(topo, f, sort_keys=False)
    with open(os.path.join(d, "truth.yaml"), "w") as f:
        t = dict(r["truth"])
        rc = {k: t[k] for k in ("kind", "service", "change_id") if k in t}
        doc = {"root_cause": rc}
        if t.get("match"):
            doc["match"] = t["match"]
        yaml.safe_dump(doc, f, sort_keys=False)


def selfcheck(out, man):
    problems = []
    for b in man["bundles"]:
        d = os.path.join(out, b["bundle"])
        meta = yaml.safe_load(open(os.path.join(d, "bundle.yaml")))
        ws = (
            datetime.strptime(meta["window"]["start"], "%Y-%m-%dT%H:%M:%SZ")
            .replace(tzinfo=timezone.utc)
            .timestamp()
        )
        we = (
            datetime.strptime(meta["window"]["end"], "%Y-%m-%dT%H:%M:%SZ")
            .replace(tzinfo=timezone.utc)
            .timestamp()
        )
        alerts = json.load(open(os.path.join(d, "alerts.json")))
        f = meta["focus_alert"]
        hits = [a for a in alerts if a["fingerprint"] == f or a["labels"]["alertname"] == f]
        if len(hits) != 1:
            problems.append(
                "%s: focus_alert %s resolves to %d alerts" % (b["bundle"], f, len(hits))
            )
        for a in alerts:
            st = (
                datetime.strptime(a["startsAt"], "%Y-%m-%dT%H:%M:%S.%fZ")
                .replace(tzinfo=timezone.utc)
                .timestamp()
            )
            if not ws <= st <= we:
                problems.append(
                    "%s: alert %s startsAt outside window" % (b["bundle"], a["labels"]["alertname"])
                )
        topo = yaml.safe_load(open(os.path.join(d, "topology.yaml")))["services"]
        truth = yaml.safe_load(open(os.path.join(d, "truth.yaml")))["root_cause"]
        if truth["service"] not in topo:
            problems.append(
                "%s: truth service %s not in topology" % (b["bundle"], truth["service"])
            )
        for s, v in topo.items():
            for dd in v["depends_on"]:
                if dd not in topo:
                    problems.append("%s: %s depends on unknown %s" % (b["bundle"], s, dd))
        ch = json.load(open(os.path.join(d, "changes.json")))
        if truth.get("change_id") and truth["change_id"] not in [c["id"] for c in ch]:
            problems.append("%s: change_id missing" % b["bundle"])
        for c in ch:
            t = (
                datetime.strptime(c["ts"], "%Y-%m-%dT%H:%M:%SZ")
                .replace(tzinfo=timezone.utc)
                .timestamp()
            )
            if not ws <= t <= we:
                problems.append("%s: change %s outside window" % (b["bundle"], c["id"]))
        for fn in os.listdir(os.path.join(d, "metrics")):
            if not fn.endswith(".json"):
                continue
            body = json.load(open(os.path.join(d, "metrics", fn)))
            if body.get("status") != "success" or body["data"]["resultType"] != "matrix":
                problems.append("%s: %s not a matrix" % (b["bundle"], fn))
            for sr in body["data"]["result"]:
                if not sr["values"]:
                    problems.append("%s: %s empty series" % (b["bundle"], fn))
                for ts, v in sr["values"]:
                    if not (ws <= ts <= we) or not isinstance(v, str):
                        problems.append("%s: %s bad point" % (b["bundle"], fn))
                        break
                    float(v)
                if sr["metric"].get("__name__") != fn[:-5]:
                    problems.append("%s: %s name mismatch" % (b["bundle"], fn))
        for sub in ("logs", "events"):
            p = os.path.join(d, sub)
            if os.path.isdir(p):
                for fn in os.listdir(p):
                    for line in open(os.path.join(p, fn)):
                        rec = json.loads(line)
                        t = (
                            rec["ts"]
                            if isinstance(rec["ts"], float)
                            else datetime.strptime(rec["ts"][:19], "%Y-%m-%dT%H:%M:%S")
                            .replace(tzinfo=timezone.utc)
                            .timestamp()
                        )
                        if not ws <= t <= we + 60:
                            problems.append("%s: %s/%s ts outside window" % (b["bundle"], sub, fn))
                            break
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-check", action="store_true")
    args = ap.parse_args()
    out = args.out
    if os.path.isdir(out):
        for x in os.listdir(out):
            if x.startswith("inc-k") or x == "MANIFEST.yaml":
                p = os.path.join(out, x)
                shutil.rmtree(p) if os.path.isdir(p) else os.remove(p)
    os.makedirs(out, exist_ok=True)
    order = list(range(len(PLAN)))
    random.Random(args.seed).shuffle(order)
    man = {
        "generator": "gen_postmortems.py",
        "seed": args.seed,
        "format": "incident bundle v1",
        "bundles": [],
    }
    for k, pi in enumerate(order):
        name = "inc-k%02d" % (k + 1)
        B, r = generate(k + 1, PLAN[pi], args.seed)
        write_bundle(out, name, B, r)
        rc = {x: r["truth"][x] for x in ("kind", "service", "change_id") if x in r["truth"]}
        conf = ", ".join(B.confounders) or "none"
        man["bundles"].append(
            {
                "bundle": name,
                "truth": {"root_cause": rc},
                "description": "%s/%s on %s; paged on %s; confounders: %s"
                % (rc["kind"], r["mdesc"], rc["service"], r["page"], conf),
                "onset": iso(B.ts(B.t0)),
                "page": r["page"],
            }
        )
        if r["truth"].get("match"):
            man["bundles"][-1]["truth"]["match"] = r["truth"]["match"]
    with open(os.path.join(out, "MANIFEST.yaml"), "w") as f:
        yaml.safe_dump(man, f, sort_keys=False, width=1000)
    if not args.no_check:
        probs = selfcheck(out, man)
        for p in probs[:50]:
            print("CHECK:", p)
        print("bundles: %d, problems: %d" % (len(man["bundles"]), len(probs)))


if __name__ == "__main__":
    main()
