#!/usr/bin/env python3
"""gen_sites.py: independent synthetic incident generator (incident bundle v1).

Usage: python3 gen_sites.py --out DIR --seed N
Simulates a service graph tick by tick (load flows down, latency/errors flow up,
pools fill, retries amplify), injects one fault per bundle plus confounders, and
renders the result in one of several monitoring "house styles".
"""

import argparse
import datetime as dt
import hashlib
import json
import math
import os
import random
import zlib

import yaml

UTC = dt.UTC

# ----------------------------------------------------------------------------- utils


def iso(ts, ms=True):
    d = dt.datetime.fromtimestamp(ts, UTC)
    if ms:
        return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (d.microsecond // 1000)
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


def fnum(v):
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return "NaN"
    if abs(v - round(v)) < 1e-9 and abs(v) < 1e15:
        return str(int(round(v)))
    s = "%.6f" % v
    s = s.rstrip("0").rstrip(".")
    return s if s not in ("-0", "") else "0"


def fp_of(labels):
    h = hashlib.sha1(json.dumps(labels, sort_keys=True).encode()).hexdigest()
    return h[:16]


def hexid(rng, n):
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def podsuffix(rng, n=5):
    return "".join(rng.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(n))


def tail_frac(mean_ms, timeout_ms, sigma=0.7):
    """P(X > timeout) for a lognormal with the given mean."""
    if mean_ms <= 0:
        return 0.0
    mu = math.log(mean_ms) - sigma * sigma / 2
    z = (math.log(max(timeout_ms, 1e-3)) - mu) / (sigma * math.sqrt(2))
    return 0.5 * math.erfc(z)


def clamp(x, lo, hi):
    return max(lo, min(hi, x))


# ----------------------------------------------------------------------------- vocabulary

DOMAINS = [
    dict(
        name="shop",
        ns="shop-prod",
        host="www.shop-example.com",
        edge=["storefront-edge", "web-gateway", "shop-frontend"],
        apps=[
            "checkout",
            "cart",
            "catalog",
            "pricing",
            "inventory",
            "orders",
            "search",
            "reco",
            "accounts",
            "shipping",
        ],
        db=["orders-db", "catalog-db", "accounts-db"],
        cache=["session-cache", "catalog-cache"],
        tp=["stripe-api", "avalara-tax", "shippo-api"],
        mq=["order-events"],
    ),
    dict(
        name="rides",
        ns="mobility",
        host="api.ridely.io",
        edge=["rider-api-gw", "mobile-bff"],
        apps=[
            "dispatch",
            "trip-svc",
            "eta",
            "surge-pricing",
            "driver-loc",
            "rider-profile",
            "billing",
            "promo",
        ],
        db=["trips-pg", "billing-db"],
        cache=["geo-cache", "eta-cache"],
        tp=["braintree-gw", "twilio-sms", "mapbox-api"],
        mq=["trip-events"],
    ),
    dict(
        name="media",
        ns="streaming",
        host="api.flickbox.tv",
        edge=["edge-proxy", "api-front"],
        apps=[
            "playback",
            "catalog-api",
            "entitlements",
            "user-lists",
            "thumbnails",
            "recs",
            "search-api",
            "session-svc",
        ],
        db=["content-db", "users-db"],
        cache=["meta-cache", "token-cache"],
        tp=["drm-license", "widevine-proxy", "cdn-purge-api"],
        mq=["play-events"],
    ),
    dict(
        name="bank",
        ns="core-banking",
        host="ib.northbank.example",
        edge=["ib-gateway", "partner-api"],
        apps=[
            "accounts-svc",
            "ledger",
            "transfers",
            "kyc",
            "fx-rates",
            "notifications",
            "cards",
            "auth-svc",
        ],
        db=["ledger-db", "core-db"],
        cache=["rates-cache", "auth-cache"],
        tp=["swift-bridge", "onfido-api", "fx-feed"],
        mq=["ledger-outbox"],
    ),
    dict(
        name="saas",
        ns="app",
        host="app.teamdesk.io",
        edge=["app-ingress", "public-api"],
        apps=[
            "workspace",
            "docs-svc",
            "billing-svc",
            "authn",
            "search",
            "webhooks",
            "exporter",
            "presence",
        ],
        db=["main-pg", "billing-pg"],
        cache=["hot-cache", "flags-cache"],
        tp=["sendgrid-api", "stripe-billing", "slack-api"],
        mq=["jobs-queue"],
    ),
    dict(
        name="logistics",
        ns="tms",
        host="portal.shipwise.example",
        edge=["shipper-portal", "carrier-gw"],
        apps=["booking", "tracking", "rating-engine", "labels", "manifest", "addresses", "customs"],
        db=["tms-db", "tracking-db"],
        cache=["rate-cache", "addr-cache"],
        tp=["fedex-api", "ups-api", "geocode-api"],
        mq=["scan-events"],
    ),
    dict(
        name="health",
        ns="care",
        host="portal.mycare.example",
        edge=["patient-portal", "fhir-gw"],
        apps=[
            "appointments",
            "records",
            "prescriptions",
            "eligibility",
            "messaging",
            "scheduler",
            "claims",
        ],
        db=["ehr-db", "claims-db"],
        cache=["session-store", "slots-cache"],
        tp=["surescripts-api", "clearinghouse", "sms-gateway"],
        mq=["hl7-inbound"],
    ),
]

ROUTES = {
    "edge": ["GET /", "GET /api/v2/home"],
}
THIRDPARTY_URL = {
    "stripe-api": "https://api.stripe.com/v1/payment_intents",
    "avalara-tax": "https://rest.avatax.com/api/v2/transactions/create",
    "shippo-api": "https://api.goshippo.com/shipments/",
    "braintree-gw": "https://payments.braintree-api.com/graphql",
    "twilio-sms": "https://api.twilio.com/2010-04-01/Accounts/AC2f/Messages.json",
    "mapbox-api": "https://api.mapbox.com/directions/v5/",
    "drm-license": "https://license.drmtoday.example/v1/license",
    "widevine-proxy": "https://widevine.proxy.example/license",
    "cdn-purge-api": "https://api.cdn.example/purge",
    "swift-bridge": "https://swift-bridge.partner.example/api/mt103",
    "onfido-api": "https://api.eu.onfido.com/v3.6/checks",
    "fx-feed": "https://fx.feedprovider.example/v1/rates",
    "sendgrid-api": "https://api.sendgrid.com/v3/mail/send",
    "stripe-billing": "https://api.stripe.com/v1/invoices",
    "slack-api": "https://slack.com/api/chat.postMessage",
    "fedex-api": "https://apis.fedex.com/rate/v1/rates/quotes",
    "ups-api": "https://onlinetools.ups.com/api/rating/v1/Rate",
    "geocode-api": "https://maps.googleapis.com/maps/api/geocode/json",
    "surescripts-api": "https://api.surescripts.example/erx",
    "clearinghouse": "https://api.changehc.example/eligibility/v3",
    "sms-gateway": "https://sms.gateway.example/send",
}

# ----------------------------------------------------------------------------- model


class Dep:
    def __init__(self, a, b, calls, timeout, retries, pool=None, crit=0.95, miss=None, path="/"):
        self.a, self.b, self.calls, self.timeout, self.retries = a, b, calls, timeout, retries
        self.pool, self.crit, self.miss, self.path = pool, crit, miss, path
        self.pool_timeout = 1000.0


class Inst:
    def __init__(self, name, svc, slot, version, t0, t1, node, track="stable"):
        self.name, self.svc, self.slot, self.version = name, svc, slot, version
        self.t0, self.t1, self.node, self.track = t0, t1, node, track
        self.ip = None


class Svc:
    def __init__(self, name, role, tech, lang):
        self.name, self.role, self.tech, self.lang = name, role, tech, lang
        self.deps = []
        self.insts = []
        self.nslots = 1
        self.workers = 64
        self.cores = 1.0
        self.own_ms = 5.0
        self.cpu_ms = 2.0
        self.base_err = 0.0005
        self.mem_base = 300e6
        self.mem_limit = 1024e6
        self.max_conn = None
        self.version = "v1.0.0"
        self.route = "GET /"
        self.port = 8080
        self.rs_hash = ""


class Model:
    def __init__(self):
        self.svcs = {}
        self.edge = None
        self.nodes = []

    def add(self, s):
        self.svcs[s.name] = s
        return s

    def deps(self):
        return [d for s in self.svcs.values() for d in s.deps]

    def dep(self, a, b):
        for d in self.svcs[a].deps:
            if d.b == b:
                return d
        return None

    def callers(self, b):
        return [d.a for d in self.deps() if d.b == b]

    def topo(self):
        order, seen = [], set()

        def visit(n):
            if n in seen:
                return
            seen.add(n)
            for c in self.callers(n):
                visit(c)
            order.append(n)

        for n in self.svcs:
            visit(n)
        return order  # callers before callees

    def path_from_edge(self, target):
        # BFS over deps
        prev = {self.edge: None}
        q = [self.edge]
        while q:
            x = q.pop(0)
            if x == target:
                break
            for d in self.svcs[x].deps:
                if d.b not in prev:
                    prev[d.b] = x
                    q.append(d.b)
        if target not in prev:
            return [target]
        p, x = [], target
        while x is not None:
            p.append(x)
            x = prev[x]
        return p[::-1]

    def inst_at(self, s, t):
        return [i for i in self.svcs[s].insts if i.t0 <= t < i.t1]


# ----------------------------------------------------------------------------- topology builder

STYLE_LANG = {
    "micrometer": ["java"],
    "promhttp": ["go"],
    "pyclient": ["python"],
    "statsd": ["node", "python", "php"],
    "elastic": ["java", "node"],
    "nomad": ["go", "java"],
    "mimir": ["go", "java", "python"],
    "dotnet": ["dotnet"],
    "phpfpm": ["php"],
}
DB_TECHS = ["postgres", "mysql", "mongodb"]
CACHE_TECHS = ["redis", "memcached"]
EDGE_TECHS = ["haproxy", "nginx", "caddy", "varnish", "app"]


def build_model(rng, dom, style, T0, T1, nodes_style):
    m = Model()
    m.dom = dom
    m.ns = dom["ns"]
    lang_pool = STYLE_LANG[style]
    edge_tech = rng.choice(EDGE_TECHS if style not in ("nomad",) else ["envoy", "haproxy", "app"])
    if style == "phpfpm":
        edge_tech = "nginx"
    e = m.add(Svc(rng.choice(dom["edge"]), "edge", edge_tech, rng.choice(lang_pool)))
    m.edge = e.name
    e.own_ms = rng.uniform(0.4, 2.0) if edge_tech != "app" else rng.uniform(3, 8)
    e.cpu_ms = e.own_ms * 0.5
    e.workers = 4000 if edge_tech != "app" else 400
    e.cores = 2.0
    e.nslots = rng.choice([2, 2, 3, 4])
    napps = rng.randint(4, min(7, len(dom["apps"])))
    apps = rng.sample(dom["apps"], napps)
    ntier1 = rng.choice([2, 2, 3])
    tier1, tier2 = apps[:ntier1], apps[ntier1:]
    dbs = rng.sample(dom["db"], rng.choice([1, 2]))
    cache = rng.choice(dom["cache"])
    tp = rng.choice(dom["tp"])
    mq = dom["mq"][0] if rng.random() < 0.5 else None
    for a in apps:
        lang = rng.choice(lang_pool)
        s = m.add(Svc(a, "app", lang, lang))
        s.nslots = rng.choice([1, 2, 2, 3, 3, 4, 6, 8, 12])
        if lang in ("php", "python"):
            s.workers = rng.choice([8, 12, 16, 24])
        elif lang == "java":
            s.workers = rng.choice([100, 200])
        else:
            s.workers = rng.choice([256, 512, 1000])
        s.own_ms = rng.uniform(2, 18)
        s.cpu_ms = s.own_ms * rng.uniform(0.3, 0.7)
        s.cores = rng.choice([0.5, 1.0, 1.0, 2.0])
        s.base_err = rng.choice([0.0, 0.0002, 0.0008, 0.002])
        s.mem_base = rng.uniform(180, 900) * 1e6 if lang != "java" else rng.uniform(600, 1400) * 1e6
        s.mem_limit = s.mem_base * rng.uniform(1.5, 2.5)
        s.version = "v%d.%d.%d" % (rng.randint(1, 5), rng.randint(0, 40), rng.randint(0, 12))
        s.route = (
            rng.choice(["GET", "POST"])
            + " /"
            + rng.choice(["api/v1/", "v1/", "v2/", "internal/"])
            + a.replace("-svc", "").replace("-", "_")
        )
    for st_name in dbs:
        s = m.add(Svc(st_name, "store", rng.choice(DB_TECHS), None))
        s.nslots = 1 if s.tech != "mongodb" else 3
        s.own_ms = rng.uniform(0.6, 3.0)
        s.cpu_ms = s.own_ms * 0.6
        s.cores = rng.choice([8.0, 16.0])
        s.workers = 10000
        s.max_conn = rng.choice([100, 150, 200, 300]) if s.tech != "mongodb" else 2000
        s.port = {"postgres": 5432, "mysql": 3306, "mongodb": 27017}[s.tech]
        s.version = {"postgres": "15.6", "mysql": "8.0.36", "mongodb": "6.0.14"}[s.tech]
    cs = m.add(Svc(cache, "cache", rng.choice(CACHE_TECHS), None))
    cs.own_ms, cs.cpu_ms, cs.cores, cs.workers = 0.3, 0.1, 2.0, 10000
    cs.port = 6379 if cs.tech == "redis" else 11211
    cs.max_conn = 10000
    t = m.add(Svc(tp, "third", "thirdparty", None))
    t.own_ms, t.cpu_ms, t.workers, t.cores, t.base_err = rng.uniform(80, 260), 0, 1e6, 1e6, 0.001
    t.port = 443
    if mq:
        q = m.add(Svc(mq, "mq", "rabbitmq", None))
        q.own_ms, q.cpu_ms, q.cores, q.workers, q.port = 1.2, 0.3, 4.0, 10000, 5672

    def dep(a, b, calls, **kw):
        sa, sb = m.svcs[a], m.svcs[b]
        if sb.role == "store":
            kw.setdefault("timeout", rng.choice([2000, 5000, 10000, 30000]))
            kw.setdefault("retries", 0)
            kw.setdefault("pool", rng.choice([10, 20, 30, 50]) if sa.lang not in ("php",) else None)
        elif sb.role == "cache":
            kw.setdefault("timeout", rng.choice([50, 100, 250]))
            kw.setdefault("retries", 0)
            kw.setdefault("pool", None)
            kw.setdefault("crit", 0.05)
        elif sb.role == "third":
            kw.setdefault("timeout", rng.choice([3000, 5000, 10000]))
            kw.setdefault("retries", rng.choice([0, 1, 2]))
        elif sb.role == "mq":
            kw.setdefault("timeout", 5000)
            kw.setdefault("retries", 0)
            kw.setdefault("crit", 0.6)
        else:
            kw.setdefault("timeout", rng.choice([300, 500, 1000, 2000, 3000]))
            kw.setdefault("retries", rng.choice([0, 1, 2, 3]))
        kw.setdefault("path", m.svcs[b].route.split(" ", 1)[1] if sb.role in ("app",) else "/")
        d = Dep(a, b, calls, **kw)
        sa.deps.append(d)
        return d

    weights = [rng.uniform(0.3, 1.0) for _ in tier1]
    tot = sum(weights)
    for a, w in zip(tier1, weights):
        dep(
            e.name,
            a,
            round(w / tot, 3),
            timeout=rng.choice([5000, 10000, 30000, 60000]),
            retries=0,
            crit=1.0,
        )
    for b in tier2:
        callers = rng.sample(tier1, rng.randint(1, len(tier1)))
        for a in callers:
            dep(a, b, round(rng.uniform(0.4, 2.0), 2), crit=rng.choice([0.95, 0.95, 0.6, 0.3]))
    # stores
    users = rng.sample(apps, max(2, len(apps) // 2))
    for i, a in enumerate(users):
        dep(a, dbs[i % len(dbs)], round(rng.uniform(1, 4), 1))
    # cache + db pair
    ca = rng.choice(users)
    dep(ca, cache, round(rng.uniform(1, 3), 1))
    ddb = m.dep(ca, dbs[users.index(ca) % len(dbs)])
    ddb.miss = rng.uniform(0.06, 0.14)
    ddb.calls = round(ddb.calls * 2.5, 1)
    m.cache_pair = (ca, cache, ddb.b)
    other = [a for a in apps if a != ca]
    if rng.random() < 0.5 and other:
        dep(rng.choice(other), cache, round(rng.uniform(0.5, 2), 1))
    ta = rng.choice(tier2 or tier1)
    dep(ta, tp, round(rng.uniform(0.2, 0.8), 2), crit=0.95)
    m.tp_pair = (ta, tp)
    if mq:
        dep(rng.choice(apps), mq, round(rng.uniform(0.3, 1.0), 2))
    # nodes
    nn = rng.randint(3, 8)
    if nodes_style == "gke":
        pool = hexid(rng, 8)
        m.nodes = [
            "gke-prod-%s-pool-%d-%s-%s" % (dom["name"], rng.randint(1, 3), pool, podsuffix(rng, 4))
            for _ in range(nn)
        ]
    elif nodes_style == "nomad":
        m.nodes = ["nomad-client-%02d" % rng.randint(1, 60) for _ in range(nn)]
    else:
        m.nodes = [
            "ip-10-%d-%d-%d.ec2.internal"
            % (rng.randint(0, 3), rng.randint(0, 255), rng.randint(1, 254))
            for _ in range(nn)
        ]
    m.nodes = sorted(set(m.nodes))
    # instances
    for s in m.svcs.values():
        if s.role == "third":
            continue
        s.rs_hash = hexid(rng, rng.choice([9, 10]))
        for k in range(s.nslots):
            if s.role == "app" or s.role == "edge":
                if style == "nomad":
                    nm = hexid(rng, 8)
                else:
                    nm = "%s-%s-%s" % (s.name, s.rs_hash, podsuffix(rng))
            else:
                nm = "%s-%d" % (s.name, k)
            ins = Inst(nm, s.name, k, s.version, T0 - 86400, T1 + 86400, rng.choice(m.nodes))
            ins.ip = "10.%d.%d.%d" % (rng.randint(0, 3), rng.randint(0, 255), rng.randint(2, 254))
            s.insts.append(ins)
    return m


def rollout(rng, m, svc, t_start, new_version, style, pace=None, slots=None, track="stable"):
    """Replace instances slot by slot. Returns list of (t, old, new)."""
    s = m.svcs[svc]
    pace = pace or rng.uniform(15, 60)
    s.rs_hash_new = hexid(rng, 10)
    out = []
    cur = [i for i in s.insts if i.t1 > t_start and i.t0 <= t_start]
    targets = cur if slots is None else [i for i in cur if i.slot in slots]
    for n, old in enumerate(targets):
        t = t_start + 20 + n * pace
        nm = (
            hexid(rng, 8) if style == "nomad" else "%s-%s-%s" % (svc, s.rs_hash_new, podsuffix(rng))
        )
        old.t1 = t
        new = Inst(nm, svc, old.slot, new_version, t, old.t1 + 10**9, rng.choice(m.nodes), track)
        new.t1 = t + 10**9
        new.ip = "10.%d.%d.%d" % (rng.randint(0, 3), rng.randint(0, 255), rng.randint(2, 254))
        s.insts.append(new)
        out.append((t, old, new))
    return out


def add_canary(rng, m, svc, t, new_version, style):
    s = m.svcs[svc]
    nm = (
        hexid(rng, 8)
        if style == "nomad"
        else "%s-canary-%s-%s" % (svc, hexid(rng, 9), podsuffix(rng))
    )
    new = Inst(nm, svc, s.nslots, new_version, t + 25, t + 10**9, rng.choice(m.nodes), "canary")
    new.ip = "10.%d.%d.%d" % (rng.randint(0, 3), rng.randint(0, 255), rng.randint(2, 254))
    s.nslots += 1
    s.insts.append(new)
    return new


# ----------------------------------------------------------------------------- effects

MULT = {"edge_mult", "lat_mult", "cap_mult", "calls_mult", "workers_mult", "cpu_mult"}


class Effects:
    def __init__(self):
        self.items = []

    def add(self, typ, target, value, start, end=None, ramp=0.0, cause=None, version=None):
        self.items.append(
            dict(
                typ=typ,
                target=target,
                value=value,
                start=start,
                end=end,
                ramp=ramp,
                cause=cause,
                version=version,
            )
        )

    def _ramp(self, it, t):
        if t < it["start"] or (it["end"] is not None and t >= it["end"]):
            return 0.0
        if it["ramp"] <= 0:
            return 1.0
        return clamp((t - it["start"]) / it["ramp"], 0.0, 1.0)

    def get(self, typ, target, t, version=None, vfrac=None):
        """Combined value. version: instance version (per-instance effects);
        vfrac: function(version)->fraction for service-level effects with a version."""
        mult = typ in MULT
        acc = 1.0 if mult else 0.0
        for it in self.items:
            if it["typ"] != typ or it["target"] != target:
                continue
            r = self._ramp(it, t)
            if r <= 0:
                continue
            w = 1.0
            if it["version"] is not None:
                if version is not None:
                    w = 1.0 if version == it["version"] else 0.0
                elif vfrac is not None:
                    w = vfrac(it["version"])
            if mult:
                acc *= 1 + (it["value"] - 1) * r * w
            else:
                acc += it["value"] * r * w
        return acc

    def override(self, typ, target, t, default):
        v = default
        for it in self.items:
            if it["typ"] == typ and it["target"] == target and self._ramp(it, t) >= 1.0:
                v = it["value"]
        return v

    def causes(self, typ, target, t, version=None):
        out = {}
        for it in self.items:
            if it["typ"] == typ and it["target"] == target:
                r = self._ramp(it, t)
                if r > 0 and (it["version"] is None or version is None or it["version"] == version):
                    out[it["cause"] or typ] = out.get(it["cause"] or typ, 0) + it["value"] * r
        return out

    def active(self, typ, target, t):
        for it in self.items:
            if it["typ"] == typ and it["target"] == target and self._ramp(it, t) > 0:
                return it
        return None


# ----------------------------------------------------------------------------- simulation


class Rec:
    pass


def diurnal(ts, amp):
    h = (ts % 86400) / 3600.0
    return 1 + amp * math.sin(2 * math.pi * (h - 10) / 24.0)


def simulate(rng, m, E, T0, step, n, base_rps, diurnal_amp, events):
    topo = m.topo()
    deps = m.deps()
    st = Rec()
    st.times = [T0 + i * step for i in range(n)]
    st.svc = {
        s: {k: [None] * n for k in ("rps", "err", "lat", "p99", "p50", "causes", "reject")}
        for s in m.svcs
    }
    st.dep = {
        (d.a, d.b): {
            k: [None] * n
            for k in ("rps", "fail", "lat", "pact", "ppend", "psize", "causes", "calls")
        }
        for d in deps
    }
    st.inst = {}
    st.conn = {s: [0.0] * n for s in m.svcs}
    st.disk = {s: [None] * n for s in m.svcs}
    st.node_cpu = {nd: [0.0] * n for nd in m.nodes}
    st.cache_hit = {s: [None] * n for s in m.svcs}
    prev_f = {(d.a, d.b): 0.0 for d in deps}
    prev_fail_cache = {}
    prev_pool_active = {(d.a, d.b): 0.0 for d in deps}
    prev_reject = dict.fromkeys(m.svcs, 0.0)
    prev_fast = {}
    crash = {}
    ar = 0.0
    node_noise = {nd: rng.uniform(0.08, 0.3) for nd in m.nodes}
    noisy_node = m.noisy_node if getattr(m, "noisy_node", None) else None
    disk_used = {
        s: (rng.uniform(0.35, 0.6) if s in getattr(m, "disk_svcs", ()) else None) for s in m.svcs
    }
    for i in range(n):
        ts = T0 + i * step
        t = ts
        ar = 0.85 * ar + rng.gauss(0, 0.025)
        edge_rps = base_rps * diurnal(ts, diurnal_amp) * math.exp(ar) * E.get("edge_mult", None, t)
        # ------------------------------------------------ instance availability (crash loops, OOM)
        live = {}
        for s in m.svcs.values():
            L = []
            for ins in s.insts:
                if not (ins.t0 <= t < ins.t1):
                    continue
                cs = crash.setdefault(
                    ins.name,
                    dict(restarts=0, down_until=-1, up_since=ins.t0, backoff=10, mem_since=ins.t0),
                )
                ce = E.active("crash", s.name, t)
                if ce and ce["version"] and ce["version"] != ins.version:
                    ce = None
                up_time = 0.0
                sub = 5.0
                k = 0.0
                while k < step:
                    tt = t + k
                    if tt < cs["down_until"]:
                        pass
                    else:
                        up_time += sub
                        mem = s.mem_base + E.get("leak", s.name, tt, ins.version) * (
                            tt - cs["mem_since"]
                        )
                        crashed = None
                        if ce and tt - cs["up_since"] >= ce["value"]["after"] * (
                            0.8 + 0.4 * ((zlib.crc32(ins.name.encode()) % 100) / 100.0)
                        ):
                            crashed = ce["value"]["reason"]
                        elif mem >= s.mem_limit and E.get("leak", s.name, tt, ins.version) > 0:
                            crashed = "OOMKilled"
                        if crashed:
                            cs["restarts"] += 1
                            cs["down_until"] = tt + cs["backoff"]
                            cs["up_since"] = cs["down_until"]
                            cs["mem_since"] = cs["down_until"]
                            cs["backoff"] = min(300, cs["backoff"] * 2)
                            events.append(
                                dict(
                                    ts=tt,
                                    service=s.name,
                                    reason=crashed,
                                    type="Warning",
                                    object=ins.name,
                                    exit_code=137
                                    if crashed == "OOMKilled"
                                    else (2 if s.lang == "go" else 1),
                                    restarts=cs["restarts"],
                                    backoff=cs["backoff"],
                                )
                            )
                    k += sub
                avail = up_time / step
                mem_now = s.mem_base * (
                    1 + 0.03 * math.sin(i / 7.0 + zlib.crc32(ins.name.encode()) % 7)
                ) + E.get("leak", s.name, t, ins.version) * max(0, t - cs["mem_since"])
                L.append((ins, avail, cs["restarts"], min(mem_now, s.mem_limit)))
            live[s.name] = L
        # ------------------------------------------------ load, top down
        rin = dict.fromkeys(m.svcs, 0.0)
        rin[m.edge] = edge_rps
        calls_eff = {}
        for sname in topo:
            s = m.svcs[sname]
            vers = [x[0].version for x in live[sname]]

            def vfrac(v, vers=vers):
                return (sum(1 for x in vers if x == v) / len(vers)) if vers else 0.0

            for d in s.deps:
                f = prev_f[(d.a, d.b)]
                mult = sum(f**k for k in range(d.retries + 1))
                c = d.calls * E.get("calls_mult", (d.a, d.b), t, vfrac=vfrac)
                if d.miss is not None:
                    miss = E.override("miss", (d.a, d.b), t, d.miss)
                    cf = prev_fail_cache.get(d.a, 0.0)
                    miss = miss + (1 - miss) * cf
                    c *= miss
                    st.cache_hit[d.a][i] = 1 - miss
                calls_eff[(d.a, d.b)] = c
                r = rin[sname] * (1 - prev_reject[sname]) * c * mult
                rin[d.b] += r * (1 - prev_fast.get((d.a, d.b), 0.0))
                st.dep[(d.a, d.b)]["rps"][i] = r
                st.dep[(d.a, d.b)]["calls"][i] = c
        # ------------------------------------------------ latency/errors, bottom up
        slat, serr, scause = {}, {}, {}
        for sname in reversed(topo):
            s = m.svcs[sname]
            R = rin[sname]
            if s.role == "third":
                lat = s.own_ms * E.get("lat_mult", sname, t) * math.exp(rng.gauss(0, 0.06))
                oc = E.causes("err", sname, t)
                err = 1 - (1 - s.base_err) * (1 - min(1, sum(oc.values())))
                cz = {"tp_5xx": s.base_err}
                cz.update(oc)
                slat[sname], serr[sname], scause[sname] = lat, err, cz
                rec = st.svc[sname]
                rec["rps"][i], rec["err"][i], rec["lat"][i], rec["p99"][i], rec["p50"][i] = (
                    R,
                    err,
                    lat,
                    lat * 2.6,
                    lat * 0.8,
                )
                rec["causes"][i], rec["reject"][i] = cz, 0
                continue
            L = live[sname]
            tot_av = sum(a for _, a, _, _ in L)
            # store connection pressure from previous tick's pools
            if s.max_conn:
                demand = 0.0
                for d in deps:
                    if d.b == sname:
                        ninst = max(1, len(live[d.a]))
                        demand += prev_pool_active[(d.a, d.b)] * ninst
                demand += 6  # exporters, replication, admin
                st.conn[sname][i] = demand
            # deps (service-level, client side)
            dep_ms = 0.0
            dep_fail = 0.0
            causes = {}
            vers = [x[0].version for x in L]

            def vfrac(v, vers=vers):
                return (sum(1 for x in vers if x == v) / len(vers)) if vers else 0.0

            for d in s.deps:
                b = d.b
                Lb, Eb = slat.get(b, 1.0), serr.get(b, 0.0)
                loss = E.get("net_loss", b, t)
                Lc = Lb + E.get("net_lat", b, t) + loss * 1500 + 0.3
                refused = E.get("refuse", b, t)
                if m.svcs[b].role != "third" and sum(a for _, a, _, _ in live[b]) < 1e-6:
                    refused = 1.0
                refused = clamp(refused + E.get("refuse", (d.a, b), t, vfrac=vfrac), 0, 1)
                tls = clamp(E.get("tls", b, t), 0, 1)
                dns = clamp(E.get("dns", b, t) + E.get("dns", "*", t), 0, 1)
                bad = clamp(E.get("bad_req", (d.a, b), t, vfrac=vfrac), 0, 1)
                to = E.override("timeout", (d.a, b), t, d.timeout)
                tf = tail_frac(Lc, to, 0.7 + loss * 3)
                reset = loss * 0.5
                fast = clamp(refused + tls + dns, 0, 1)
                prev_fast[(d.a, b)] = fast
                Lhit = (min(Lc, to) * (1 - tf) + to * tf) * (1 - fast) + 3 * fast
                ce = calls_eff.get((d.a, b), d.calls)
                P = E.override("pool", (d.a, b), t, d.pool)
                pool_fail = 0.0
                wait = 0.0
                n_a = max(tot_av, 1e-6)
                conc = R / n_a * ce * Lhit / 1000.0
                if P:
                    util = conc / P
                    active = min(conc, P)
                    pending = max(0.0, conc - P)
                    if util > 1:
                        pool_fail = clamp(1 - 1 / util, 0, 1)
                        wait = d.pool_timeout * clamp(util - 1, 0, 1)
                    st.dep[(d.a, b)]["pact"][i] = active
                    st.dep[(d.a, b)]["ppend"][i] = pending
                    st.dep[(d.a, b)]["psize"][i] = P
                    prev_pool_active[(d.a, b)] = active
                else:
                    prev_pool_active[(d.a, b)] = min(conc, 50)
                up_c = scause.get(b, {})
                up_tot = sum(up_c.values()) or 1.0
                fa = 1 - (1 - clamp(Eb + bad, 0, 1)) * (1 - tf) * (1 - refused) * (1 - tls) * (
                    1 - dns
                ) * (1 - reset)
                ff = fa ** (d.retries + 1)
                ff = 1 - (1 - ff) * (1 - pool_fail)
                prev_f[(d.a, b)] = fa
                if m.svcs[b].role == "cache":
                    prev_fail_cache[d.a] = ff
                st.dep[(d.a, b)]["fail"][i] = ff
                lat_dep = Lhit * (1 + fa * min(d.retries, 3)) + wait
                st.dep[(d.a, b)]["lat"][i] = lat_dep
                p = 1 - (1 - ff) ** max(ce, 0.05) if ce < 1 else 1 - (1 - ff) ** ce
                contrib = clamp(d.crit * p, 0, 1)
                dep_fail = 1 - (1 - dep_fail) * (1 - contrib)
                dep_ms += ce * lat_dep
                comp = {
                    "timeout": tf,
                    "refused": refused,
                    "x509": tls,
                    "dns": dns,
                    "reset": reset,
                    "pool": pool_fail,
                    "bad_req": bad,
                }
                for kk, vv in up_c.items():
                    comp["up:" + kk] = Eb * vv / up_tot
                tot = sum(comp.values()) or 1.0
                dc = {}
                for kk, vv in comp.items():
                    if vv > 1e-6:
                        dc[kk] = vv
                        causes["%s|%s" % (kk, b)] = (
                            causes.get("%s|%s" % (kk, b), 0) + contrib * vv / tot
                        )
                st.dep[(d.a, b)]["causes"][i] = dc
            # per instance
            irec = []
            wsum = 0.0
            agg_err = agg_lat = 0.0
            too_many = 0.0
            if s.max_conn and st.conn[sname][i] > s.max_conn:
                too_many = 1 - s.max_conn / st.conn[sname][i]
            # disk
            if disk_used.get(sname) is not None:
                disk_used[sname] = clamp(
                    disk_used[sname] + E.get("disk", sname, t) * step + rng.gauss(0, 0.0004), 0, 1
                )
                st.disk[sname][i] = disk_used[sname]
            enospc = 0.6 if (disk_used.get(sname) or 0) >= 0.999 else 0.0
            for ins, av, rs, mem in L:
                if av <= 0:
                    irec.append((ins, None))
                    continue
                load = R * av / max(tot_av, 1e-9)
                gcf = 1 + 9 * max(0.0, (mem / s.mem_limit - 0.72) / 0.28) ** 2
                lm = E.get("lat_mult", sname, t, ins.version) * gcf
                cores = s.cores * E.get("cap_mult", sname, t, ins.version)
                cpu_demand = (
                    load * s.cpu_ms * E.get("cpu_mult", sname, t, ins.version) * gcf / 1000.0
                )
                rho_c = cpu_demand / cores
                qc = 1 / (1 - min(rho_c, 0.97))
                own = s.own_ms * lm * qc
                total = own + dep_ms
                wk = s.workers * E.get("workers_mult", sname, t, ins.version)
                rho_w = load * total / 1000.0 / wk
                wait = 0.0
                if rho_w > 0.8:
                    wait = total * min(((rho_w - 0.8) / 0.2) ** 2 * 0.7, 25)
                reject = max(0.0, 1 - 1 / rho_w) if rho_w > 1 else 0.0
                reject = 1 - (1 - reject) * (1 - max(0.0, 1 - 1 / rho_c) * 0.5 if rho_c > 1 else 1)
                oc = E.causes("err", sname, t, ins.version)
                own_err = clamp(sum(oc.values()), 0, 1)
                e_i = 1 - (1 - s.base_err) * (1 - own_err) * (1 - reject) * (1 - dep_fail) * (
                    1 - too_many
                ) * (1 - enospc)
                lat_i = min(
                    (total + wait) * math.exp(rng.gauss(0, 0.04)), 58000 + rng.uniform(0, 4000)
                )
                cpu = min(cpu_demand, cores) + 0.01 + 0.002 * rng.random()
                thr = clamp((cpu_demand / cores - 0.55) / 0.6, 0, 1)
                busy = min(wk, load * lat_i / 1000.0)
                queue = max(0.0, load * (total + wait) / 1000.0 - wk)
                r = dict(
                    rps=load,
                    err=e_i,
                    lat=lat_i,
                    cpu=cpu,
                    mem=mem,
                    thr=thr,
                    busy=busy,
                    queue=queue,
                    restarts=rs,
                    avail=av,
                    workers=wk,
                    cores=cores,
                    oc=oc,
                    reject=reject,
                )
                irec.append((ins, r))
                wsum += load
                agg_err += e_i * load
                agg_lat += lat_i * load
            if wsum > 0:
                err = agg_err / wsum
                lat = agg_lat / wsum
            else:
                err, lat = (1.0 if R > 0 else 0.0), 0.0
                causes["unavailable"] = 1.0
            # own causes
            for ins, r in irec:
                if r is None:
                    continue
                share = r["rps"] / wsum if wsum else 0
                for kk, vv in r["oc"].items():
                    causes[kk] = causes.get(kk, 0) + vv * share
                if r["reject"] > 0:
                    causes["overload"] = causes.get("overload", 0) + r["reject"] * share
            if too_many:
                causes["too_many_conn"] = too_many
            if enospc:
                causes["enospc"] = enospc
            causes["base"] = s.base_err
            slat[sname], serr[sname], scause[sname] = lat, err, causes
            prev_reject[sname] = (
                sum((r["reject"] * r["rps"]) for _, r in irec if r) / wsum if wsum else 0
            )
            rec = st.svc[sname]
            tails = [d for d in causes if d.startswith("timeout|")]
            p99 = lat * 2.9
            for d in s.deps:
                to = E.override("timeout", (d.a, d.b), t, d.timeout)
                tf = (
                    st.dep[(d.a, d.b)]["causes"][i].get("timeout", 0)
                    if st.dep[(d.a, d.b)]["causes"][i]
                    else 0
                )
                if tf > 0.01:
                    p99 = max(p99, to * (1 + d.retries * 0.5) * 1.02)
            rec["rps"][i], rec["err"][i], rec["lat"][i] = R, err, lat
            p99 = min(p99, 60000 + rng.uniform(0, 2500))
            rec["p99"][i], rec["p50"][i] = p99 * math.exp(rng.gauss(0, 0.05)), lat * 0.72
            rec["causes"][i], rec["reject"][i] = causes, prev_reject[sname]
            for ins, r in irec:
                d_ = st.inst.setdefault(
                    ins.name,
                    {
                        k: [None] * n
                        for k in (
                            "rps",
                            "err",
                            "lat",
                            "cpu",
                            "mem",
                            "thr",
                            "busy",
                            "queue",
                            "restarts",
                            "avail",
                            "workers",
                            "cores",
                        )
                    },
                )
                if r is None:
                    d_["restarts"][i] = crash.get(ins.name, {}).get("restarts", 0)
                    d_["avail"][i] = 0
                    continue
                for k in d_:
                    d_[k][i] = r[k]
                nd = ins.node
                st.node_cpu[nd][i] += r["cpu"]
        for nd in m.nodes:
            base = node_noise[nd] + 0.04 * rng.random()
            if nd == noisy_node:
                base += (
                    0.35 * (1 if (i // max(1, int(300 / step))) % 3 == 0 else 0)
                    + 0.15 * rng.random()
                )
            st.node_cpu[nd][i] = clamp(base + st.node_cpu[nd][i] / 16.0, 0, 1)
    st.crash = crash
    return st


# ----------------------------------------------------------------------------- calibration

NICE_TIMEOUTS = [
    25,
    50,
    75,
    100,
    150,
    200,
    250,
    300,
    400,
    500,
    750,
    1000,
    1500,
    2000,
    2500,
    3000,
    5000,
    8000,
    10000,
    15000,
    30000,
    60000,
]


def calibrate(rng, m, T0, base_rps):
    saved = {}
    for s in m.svcs.values():
        saved[s.name] = (s.workers, s.cores, s.max_conn)
        s.workers, s.cores, s.max_conn = 1e9, 1e9, None
    dsaved = {}
    for d in m.deps():
        dsaved[(d.a, d.b)] = d.pool
        if d.pool:
            d.pool = 1e9
    st = simulate(random.Random(1), m, Effects(), T0, 30, 3, base_rps, 0.0, [])
    for s in m.svcs.values():
        s.workers, s.cores, s.max_conn = saved[s.name]
    for d in m.deps():
        d.pool = dsaved[(d.a, d.b)]
    cal = {}
    for s in m.svcs.values():
        R = st.svc[s.name]["rps"][2] or 0.0
        n = max(1, len([i for i in s.insts if i.t0 <= T0 < i.t1]))
        cal[s.name] = dict(rps=R, lat=st.svc[s.name]["lat"][2] or s.own_ms, per=R / n, n=n)
    for s in m.svcs.values():
        c = cal[s.name]
        if s.role == "third":
            continue
        target = rng.uniform(0.15, 0.4) if s.role in ("app", "edge") else rng.uniform(0.12, 0.3)
        s.cores = max(0.25, round(c["per"] * s.cpu_ms / 1000.0 / target * 4) / 4.0)
        c["rho_c"] = c["per"] * s.cpu_ms / 1000.0 / s.cores
        conc = c["per"] * c["lat"] / 1000.0
        if s.workers < conc / 0.3:
            s.workers = int(math.ceil(conc / rng.uniform(0.15, 0.3)))
        c["rho_w"] = conc / s.workers
    for d in m.deps():
        sb = m.svcs[d.b]
        if sb.role in ("app", "third", "store") and d.timeout < cal[d.b]["lat"] * 6:
            want = cal[d.b]["lat"] * rng.uniform(6, 15)
            d.timeout = min([x for x in NICE_TIMEOUTS if x >= want] or [NICE_TIMEOUTS[-1]])
    for d in m.deps():
        if d.pool:
            ca, cb = cal[d.a], cal[d.b]
            conc = ca["per"] * d.calls * (d.miss or 1) * cb["lat"] / 1000.0
            d.pool = max(4, int(math.ceil(conc / rng.uniform(0.1, 0.35))))
            d.base_conc = conc
    for s in m.svcs.values():
        if s.max_conn and s.role == "store":
            demand = 6.0
            for d in m.deps():
                if d.b == s.name:
                    conc = cal[d.a]["per"] * d.calls * (d.miss or 1) * cal[s.name]["lat"] / 1000.0
                    demand += (
                        max(conc, (d.pool or 0) * 0.3) * cal[d.a]["n"]
                        if d.pool
                        else min(conc, 50) * cal[d.a]["n"]
                    )
            s.max_conn = max(
                s.max_conn, int(math.ceil(demand / rng.uniform(0.25, 0.45) / 10.0) * 10)
            )
    return cal


# ----------------------------------------------------------------------------- scenarios

CHANGE_STYLES = ["argo", "gh", "spin", "snow", "flux", "nomad"]


def change_id(ctx, svc, kind):
    rng = ctx["rng"]
    sty = ctx["chstyle"]
    if kind == "flag":
        return rng.choice(["ld-", "flag-", "ff-"]) + hexid(rng, 8)
    if sty == "argo":
        return "argocd-%s-%d" % (svc, rng.randint(200, 9000))
    if sty == "gh":
        return "gh-deploy-%d" % rng.randint(10**8, 10**9)
    if sty == "spin":
        return "spin-%s" % hexid(rng, 12)
    if sty == "snow":
        return "CHG%07d" % rng.randint(10**5, 10**6)
    if sty == "flux":
        return "flux-%s-%s" % (svc, hexid(rng, 7))
    return "%s-v%d-%s" % (svc, rng.randint(10, 400), hexid(rng, 6))


AUTHORS = [
    "mkowalski",
    "priya.n",
    "jhernandez",
    "deploy-bot",
    "argocd",
    "svc-spinnaker",
    "lchen",
    "a.okafor",
    "tbrandt",
    "renovate[bot]",
    "sofia.r",
    "ops-automation",
    "dmitri.v",
    "kwame.a",
]


def bump(v, rng, major=False):
    try:
        a, b, c = v.lstrip("v").split(".")
        if rng.random() < 0.6:
            return "v%s.%s.%d" % (a, b, int(c) + 1)
        return "v%s.%d.0" % (a, int(b) + 1)
    except Exception:
        return v + "-1"


def unbump(v, rng):
    try:
        a, b, c = [int(x) for x in v.lstrip("v").split(".")]
        if c > 0:
            return "v%d.%d.%d" % (a, b, c - 1)
        if b > 0:
            return "v%d.%d.%d" % (a, b - 1, rng.randint(0, 9))
        return "v%d.%d.0" % (max(0, a - 1), rng.randint(10, 30))
    except Exception:
        return v


def add_change(ctx, svc, kind, ts, summary, version=None, prev=None, cid=None):
    rng = ctx["rng"]
    cid = cid or change_id(ctx, svc, kind)
    ch = dict(id=cid, ts=iso(ts, ms=False), service=svc, kind=kind, summary=summary)
    if version:
        ch["version"] = version
    if prev:
        ch["previous_version"] = prev
    if rng.random() < 0.85:
        ch["author"] = rng.choice(AUTHORS)
    if rng.random() < 0.7:
        if kind == "deploy":
            ch["url"] = "https://github.com/%s/%s/releases/tag/%s" % (
                ctx["org"],
                svc,
                version or "latest",
            )
        elif kind == "flag":
            ch["url"] = "https://app.launchdarkly.com/%s/production/features/%s" % (
                ctx["org"],
                summary.split("'")[1] if "'" in summary else "flag",
            )
        else:
            ch["url"] = "https://github.com/%s/infra-config/pull/%d" % (
                ctx["org"],
                rng.randint(1000, 9999),
            )
    ctx["changes"].append(ch)
    return cid


def do_deploy(ctx, svc, ts, summary=None, canary=False, slots=None):
    rng, m = ctx["rng"], ctx["m"]
    s = m.svcs[svc]
    newv = bump(s.version, rng)
    if canary:
        ins = add_canary(rng, m, svc, ts, newv, ctx["style"])
        rolls = [(ins.t0, None, ins)]
    else:
        rolls = rollout(rng, m, svc, ts, newv, ctx["style"], slots=slots)
    summ = summary or rng.choice(
        [
            "Deploy %s %s" % (svc, newv),
            "release %s" % newv,
            "%s: bump to %s" % (svc, newv),
            "Rollout %s (%d commits)" % (newv, rng.randint(1, 30)),
        ]
    )
    if canary:
        summ = "Canary %s %s (1 replica, track=canary)" % (svc, newv)
    cid = add_change(ctx, svc, "deploy", ts, summ, newv, s.version)
    for k, (t, old, new) in enumerate(rolls):
        ctx["events"].append(
            dict(
                ts=t - 15,
                service=svc,
                reason="ScalingReplicaSet",
                type="Normal",
                object="deployment/" + svc,
                message="Scaled up replica set %s-%s to %d"
                % (svc, getattr(s, "rs_hash_new", "x"), k + 1),
            )
        )
        ctx["events"].append(
            dict(
                ts=t - 8,
                service=svc,
                reason="Pulled",
                type="Normal",
                object="pod/" + new.name,
                message='Successfully pulled image "registry.internal/%s/%s:%s"'
                % (ctx["org"], svc, newv),
            )
        )
        ctx["events"].append(
            dict(
                ts=t,
                service=svc,
                reason="Started",
                type="Normal",
                object="pod/" + new.name,
                message="Started container %s" % svc,
            )
        )
        if old is not None:
            ctx["events"].append(
                dict(
                    ts=t + 2,
                    service=svc,
                    reason="Killing",
                    type="Normal",
                    object="pod/" + old.name,
                    message="Stopping container %s" % svc,
                )
            )
        ctx["startup_logs"].append((t + rng.uniform(3, 12), svc, new.name, newv))
    s.version_new = newv
    return cid, newv


def est_lat(m, name, depth=0):
    s = m.svcs[name]
    if depth > 6:
        return s.own_ms
    return s.own_ms + sum(d.calls * (d.miss or 1) * est_lat(m, d.b, depth + 1) for d in s.deps)


def pick_app(ctx, pred=None, deep=False):
    m, rng = ctx["m"], ctx["rng"]
    apps = [s.name for s in m.svcs.values() if s.role == "app" and (pred is None or pred(s))]
    if deep:
        t1 = {d.b for d in m.svcs[m.edge].deps}
        deeper = [a for a in apps if a not in t1]
        if deeper and rng.random() < 0.7:
            apps = deeper
    return rng.choice(apps) if apps else None


def app_deps(m, a, roles):
    return [d for d in m.svcs[a].deps if m.svcs[d.b].role in roles]


def first_caller(m, b):
    c = m.callers(b)
    return c[0] if c else m.edge


def scen_deploy(ctx, v):
    m, rng, E, on = ctx["m"], ctx["rng"], ctx["E"], ctx["onset"]
    if v == 0:  # errors on the new version, full rollout
        a = pick_app(ctx, deep=True)
        cid, nv = do_deploy(ctx, a, on)
        cause = rng.choice(["npe", "panic", "exc"])
        E.add("err", a, rng.uniform(0.08, 0.35), on, cause=cause, version=nv)
        desc = "rolling deploy of %s %s; new pods throw %s on a share of requests" % (a, nv, cause)
    elif v == 1:  # canary only
        a = pick_app(ctx, lambda s: s.nslots >= 3) or pick_app(ctx)
        cid, nv = do_deploy(ctx, a, on, canary=True)
        E.add("err", a, rng.uniform(0.35, 0.7), on, cause=rng.choice(["npe", "exc"]), version=nv)
        desc = "canary pod of %s %s fails a large share of its requests; stable pods fine" % (a, nv)
        ctx["page_pref"] = a
    elif v == 2:  # N+1 queries: latency + DB load, new version only
        a = pick_app(ctx, lambda s: any(ctx["m"].svcs[d.b].role == "store" for d in s.deps))
        d = app_deps(m, a, ("store",))[0]
        cid, nv = do_deploy(ctx, a, on)
        E.add("calls_mult", (a, d.b), rng.uniform(5, 9), on, version=nv)
        E.add("lat_mult", a, 1.6, on, version=nv)
        desc = (
            "deploy %s %s issues many more queries per request to %s (N+1); latency and DB load rise"
            % (a, nv, d.b)
        )
    elif v == 3:  # bad request contract -> downstream 4xx
        a = pick_app(ctx, lambda s: any(ctx["m"].svcs[d.b].role == "app" for d in s.deps)) or m.edge
        d = app_deps(m, a, ("app",))[0] if app_deps(m, a, ("app",)) else None
        if d is None:
            return scen_deploy(ctx, 0)
        cid, nv = do_deploy(ctx, a, on)
        E.add("bad_req", (a, d.b), rng.uniform(0.4, 0.8), on, version=nv)
        ctx["bad_req"] = (a, d.b)
        desc = "deploy %s %s sends requests %s rejects with 400/422; errors surface at %s" % (
            a,
            nv,
            d.b,
            a,
        )
    else:  # latency-only regression
        a = pick_app(ctx)
        cid, nv = do_deploy(ctx, a, on)
        E.add("lat_mult", a, rng.uniform(4, 9), on, version=nv, cause="slow")
        E.add("cpu_mult", a, rng.uniform(1.5, 2.5), on, version=nv)
        desc = (
            "deploy %s %s makes request handling slower and more CPU hungry; no errors at first"
            % (a, nv)
        )
    ctx["truth"] = dict(kind="deploy", service=a, change_id=cid)
    ctx["cause_svc"] = a
    return desc


def scen_config(ctx, v):
    m, rng, E, on = ctx["m"], ctx["rng"], ctx["E"], ctx["onset"]
    cal = ctx["cal"]
    kind = "config"
    if v == 0:  # lowered timeout
        cands = [d for d in m.deps() if m.svcs[d.b].role == "app"]
        d = rng.choice(cands)
        a, b = d.a, d.b
        lb = cal[b]["lat"]
        want = lb * rng.uniform(0.9, 1.5)
        newto = min(NICE_TIMEOUTS, key=lambda x: abs(x - want))
        E.add("timeout", (a, b), newto, on + 30)
        ctx["timeout_change"] = (a, b, d.timeout, newto)
        summ = rng.choice(
            [
                "%s: set %s client timeout to %dms" % (a, b, newto),
                "tune http client timeouts for %s (read_timeout %dms -> %dms)"
                % (b, d.timeout, newto),
                "values-prod.yaml: %s.upstreams.%s.timeout=%dms" % (a, b, newto),
            ]
        )
        desc = "%s read timeout to %s lowered from %dms to %dms, below %s normal latency tail" % (
            a,
            b,
            d.timeout,
            newto,
            b,
        )
    elif v == 1:  # wrong endpoint
        cands = [d for d in m.deps() if m.svcs[d.b].role in ("app", "store") and d.a != m.edge]
        d = rng.choice(cands)
        a, b = d.a, d.b
        E.add("refuse", (a, b), 1.0, on + 40)
        alt = rng.choice(["%s-v2" % b, "%s-canary" % b, "%s.staging" % b, "%s-legacy" % b])
        ctx["alt_host"] = {(a, b): alt}
        summ = rng.choice(
            [
                "%s: point %s client at %s" % (a, b, alt),
                "migrate %s upstream to %s endpoint" % (a, alt),
                "update %s_URL for %s" % (b.upper().replace("-", "_"), a),
            ]
        )
        desc = "%s config sends its %s traffic to %s, which refuses connections" % (a, b, alt)
    elif v == 2:  # lowered pool size
        cands = [d for d in m.deps() if d.pool and m.svcs[d.b].role == "store"]
        if not cands:
            return scen_config(ctx, 0)
        d = rng.choice(cands)
        a, b = d.a, d.b
        newp = max(1, int(getattr(d, "base_conc", 2) * rng.uniform(0.35, 0.6)))
        E.add("pool", (a, b), newp, on + 45)
        summ = rng.choice(
            [
                "%s: maximumPoolSize %d -> %d" % (a, d.pool, newp),
                "reduce %s DB connections (pool_size=%d)" % (a, newp),
                "right-size db pool for %s to protect %s" % (a, b),
            ]
        )
        desc = "%s DB pool to %s cut from %d to %d; requests wait for connections and time out" % (
            a,
            b,
            d.pool,
            newp,
        )
    elif v == 3:  # cache TTL lowered -> DB overload
        a, c, db = m.cache_pair
        d = m.dep(a, db)
        newmiss = rng.uniform(0.6, 0.85)
        ratio = newmiss / d.miss
        s = m.svcs[db]
        rho = cal[db].get("rho_c", 0.2)
        # make the store the bottleneck once misses rise
        s.cores = max(
            0.5,
            round(cal[db]["per"] * s.cpu_ms / 1000.0 / (rng.uniform(1.3, 2.0) / ratio) * 4) / 4.0,
        )
        E.add("miss", (a, db), newmiss, on + 20)
        ttl0 = rng.choice([300, 600, 900, 3600])
        ttl1 = rng.choice([5, 10, 15, 30])
        summ = rng.choice(
            [
                "%s: cache ttl %ss -> %ss" % (a, ttl0, ttl1),
                "lower %s %s TTL to %ds for fresher prices" % (a, c, ttl1),
                "CACHE_TTL_SECONDS=%d on %s" % (ttl1, a),
            ]
        )
        desc = "%s cache TTL cut %ds -> %ds; hit ratio collapses and %s is overloaded" % (
            a,
            ttl0,
            ttl1,
            db,
        )
    else:  # feature flag adds synchronous third-party call
        a, tp = m.tp_pair
        kind = "flag"
        E.add("calls_mult", (a, tp), rng.uniform(3, 6), on + 10)
        flag = rng.choice(
            [
                "sync-%s-verification" % tp.split("-")[0],
                "enable_realtime_%s" % tp.split("-")[0],
                "%s.inline-%s-call" % (a, tp.split("-")[0]),
            ]
        )
        summ = "flag '%s' turned ON for 100%% (was 5%%)" % flag
        s = m.svcs[a]
        s.workers = max(
            4,
            int(
                cal[a]["per"]
                * (cal[a]["lat"] + m.svcs[tp].own_ms * m.dep(a, tp).calls * 4)
                / 1000.0
                / 1.3
            ),
        )
        desc = "flag '%s' makes %s call %s inline on most requests; %s workers saturate" % (
            flag,
            a,
            tp,
            a,
        )
    cid = add_change(ctx, a, kind, on, summ)
    ctx["truth"] = dict(kind="config_change", service=a, change_id=cid)
    ctx["cause_svc"] = a
    return desc


def shrink_workers(ctx, a, over):
    """resize the worker pool of a to a realistic size and return the multiplier that overloads it"""
    rng, s, c = ctx["rng"], ctx["m"].svcs[a], ctx["cal"][a]
    conc = max(0.05, c["per"] * c["lat"] / 1000.0)
    s.workers = max(4, int(round(conc * rng.uniform(2.5, 4.0))))
    return clamp(conc / over / s.workers, 1e-3, 0.95)


def scen_resource(ctx, v):
    m, rng, E, on = ctx["m"], ctx["rng"], ctx["E"], ctx["onset"]
    cal = ctx["cal"]
    T0, T1 = ctx["T0"], ctx["T1"]
    if v == 0:  # memory leak over hours
        a = pick_app(ctx)
        s = m.svcs[a]
        start = T0 + (T1 - T0) * rng.uniform(0.0, 0.1)
        reach = on + (T1 - on) * 0.3
        rate = (s.mem_limit * 0.93 - s.mem_base) / max(600, reach - start)
        E.add("leak", a, rate, start)
        desc = "%s memory grows steadily for hours (leak); GC pressure drives latency up" % a
    elif v == 1:  # CPU throttling
        a = pick_app(ctx)
        rho = cal[a].get("rho_c", 0.3)
        E.add("cpu_mult", a, rng.uniform(1.5, 2.2) / rho, on, ramp=rng.uniform(300, 1200))
        desc = (
            "%s CPU demand per request climbs until the container hits its CPU limit and is throttled"
            % a
        )
    elif v == 2:  # disk filling on log volume
        a = pick_app(ctx)
        m.disk_svcs = (a,)
        start_used = 0.5
        rate = (1.0 - start_used) / max(600, on - T0)
        E.add("disk", a, rate * rng.uniform(1.0, 1.1), T0)
        ctx["disk_svc"] = a
        desc = "%s log volume fills up; once full, request handling fails writing to disk" % a
    elif v == 3:  # worker pool / listen queue at the server
        a = pick_app(ctx, lambda s: s.lang in ("php", "python")) or pick_app(ctx)
        E.add(
            "workers_mult",
            a,
            shrink_workers(ctx, a, rng.uniform(1.4, 2.2)),
            on,
            ramp=rng.uniform(120, 600),
        )
        E.add("lat_mult", a, 1.3, on, ramp=300)
        desc = (
            "%s worker pool exhausted (slow report endpoint holds workers); listen queue backs up"
            % a
        )
    else:  # store CPU saturation
        dbs = [s.name for s in m.svcs.values() if s.role == "store"]
        a = rng.choice(dbs)
        rho = cal[a].get("rho_c", 0.2)
        E.add("cpu_mult", a, rng.uniform(1.3, 1.8) / rho, on, ramp=rng.uniform(120, 900))
        E.add("lat_mult", a, 2.0, on, ramp=600)
        desc = "database %s CPU saturates (expensive queries); all callers slow down" % a
    ctx["truth"] = dict(kind="resource_saturation", service=a)
    ctx["cause_svc"] = a
    ctx["res_variant"] = v
    return desc


def scen_dependency(ctx, v):
    m, rng, E, on = ctx["m"], ctx["rng"], ctx["E"], ctx["onset"]
    if v == 0:
        dbs = [s.name for s in m.svcs.values() if s.role == "store" and s.tech != "mongodb"] or [
            s.name for s in m.svcs.values() if s.role == "store"
        ]
        a = rng.choice(dbs)
        E.add("refuse", a, 1.0, on)
        ctx["store_down"] = a
        desc = "%s (%s) goes down and refuses connections" % (a, m.svcs[a].tech)
    elif v == 1:
        a = m.cache_pair[1]
        E.add("refuse", a, 1.0, on)
        ctx["store_down"] = a
        desc = "cache %s (%s) down; callers fall back to the database" % (a, m.svcs[a].tech)
    elif v == 2:
        a = m.tp_pair[1]
        E.add("err", a, rng.uniform(0.5, 0.95), on, ramp=rng.uniform(0, 180), cause="tp_503")
        desc = "third-party %s returns 503s" % a
    elif v == 3:
        a = m.tp_pair[1]
        E.add("lat_mult", a, rng.uniform(15, 40), on, ramp=60)
        desc = "third-party %s hangs; callers time out" % a
    else:
        dbs = [s.name for s in m.svcs.values() if s.role == "store"]
        a = rng.choice(dbs)
        cause = {"mongodb": "no_primary", "mysql": "read_only", "postgres": "read_only_pg"}[
            m.svcs[a].tech
        ]
        E.add("err", a, rng.uniform(0.4, 0.8), on, cause=cause)
        desc = "%s loses its writable primary (%s)" % (a, cause)
    ctx["truth"] = dict(kind="dependency_failure", service=a)
    ctx["cause_svc"] = a
    return desc


def scen_network(ctx, v):
    m, rng, E, on = ctx["m"], ctx["rng"], ctx["E"], ctx["onset"]
    if v == 1:
        E.add("dns", "*", rng.uniform(0.15, 0.45), on, ramp=rng.uniform(0, 240))
        ctx["dns_fault"] = True
        ctx["truth"] = dict(kind="network", service="coredns")
        ctx["cause_svc"] = "coredns"
        return "cluster DNS (coredns) fails a share of lookups (SERVFAIL / timeouts); clients cannot resolve hosts"
    cands = [s.name for s in m.svcs.values() if s.role in ("app", "store") and m.callers(s.name)]
    b = rng.choice(cands)
    if v == 0:
        E.add("net_loss", b, rng.uniform(0.05, 0.15), on, ramp=60)
        ctx["loss_svc"] = b
        bad = m.svcs[b].insts[0].node
        for ins in m.svcs[b].insts:
            ins.node = bad
        ctx["bad_node"] = bad
        desc = "packet loss on the path to %s (its node %s); retransmits and resets at callers" % (
            b,
            bad,
        )
    elif v == 2:
        E.add("net_lat", b, rng.uniform(150, 600), on, ramp=30)
        ctx["lat_svc"] = b
        desc = "added network latency toward %s (cross-zone routing); callers time out" % b
    else:
        E.add("net_loss", b, rng.uniform(0.03, 0.08), on)
        E.add("refuse", b, rng.uniform(0.2, 0.5), on, ramp=120)
        ctx["loss_svc"] = b
        ctx["mesh_fault"] = True
        desc = (
            "connections to %s fail at the connect stage (connect timeouts/resets), server side healthy"
            % b
        )
    ctx["truth"] = dict(kind="network", service=b)
    ctx["cause_svc"] = b
    return desc


def scen_surge(ctx, v):
    m, rng, E, on = ctx["m"], ctx["rng"], ctx["E"], ctx["onset"]
    mult = rng.uniform(2.8, 5.0)
    E.add("edge_mult", None, mult, on, ramp=rng.choice([30, 120, 300, 600]))
    ctx["surge"] = dict(variant=v, mult=mult)
    if v == 1:
        t1 = [d.b for d in m.svcs[m.edge].deps]
        tgt = rng.choice(t1)
        E.add("calls_mult", (m.edge, tgt), 1.8, on, ramp=60)
        ctx["surge"]["bot_target"] = tgt
    desc = [
        "marketing push: edge traffic x%.1f within minutes" % mult,
        "scraper/bot flood at the edge x%.1f" % mult,
        "flash sale start: edge traffic x%.1f; autoscaler reacts late" % mult,
        "mobile push notification storm x%.1f" % mult,
    ][v % 4]
    ctx["truth"] = dict(kind="traffic_surge", service=m.edge)
    ctx["cause_svc"] = m.edge
    return desc


def scen_cert(ctx, v):
    m, rng, E, on = ctx["m"], ctx["rng"], ctx["E"], ctx["onset"]
    on = int(on // 60 * 60)  # notAfter on a minute boundary
    if v == 0:
        b = pick_app(ctx, lambda s: bool(ctx["m"].callers(s.name)), deep=True)
        E.add("tls", b, 1.0, on)
    elif v == 1:
        b = m.tp_pair[1]
        E.add("tls", b, 1.0, on)
    elif v == 2:
        b = m.edge
        E.add("edge_mult", None, rng.uniform(0.08, 0.3), on)
    else:
        dbs = [s.name for s in m.svcs.values() if s.role == "store"]
        b = rng.choice(dbs)
        E.add("tls", b, 1.0, on)
    ctx["cert"] = dict(svc=b, not_after=on, variant=v)
    ctx["truth"] = dict(kind="certificate_expiry", service=b)
    ctx["cause_svc"] = b
    return "TLS certificate of %s expired at %s; handshakes fail" % (b, iso(on, ms=False))


def scen_crash(ctx, v):
    m, rng, E, on = ctx["m"], ctx["rng"], ctx["E"], ctx["onset"]
    a = pick_app(ctx, lambda s: s.nslots >= 2) or pick_app(ctx)
    reason = ["OOMKilled", "Error", "Error", "Error"][v % 4]
    after = [rng.uniform(40, 150), rng.uniform(4, 15), rng.uniform(60, 120), rng.uniform(8, 25)][
        v % 4
    ]
    E.add("crash", a, dict(reason=reason, after=after), on)
    ctx["crash"] = dict(svc=a, variant=v, reason=reason)
    desc = [
        "%s pods OOMKilled repeatedly under normal load (CrashLoopBackOff)",
        "%s panics on start (nil config / poison message) and loops",
        "%s killed repeatedly by failing liveness probe (startup hangs)",
        "%s exits with unhandled exception on start",
    ][v % 4] % a
    ctx["truth"] = dict(kind="crash_loop", service=a)
    ctx["cause_svc"] = a
    return desc


def scen_unknown(ctx, v):
    m, rng, E, on = ctx["m"], ctx["rng"], ctx["E"], ctx["onset"]
    if v == 0:
        a = pick_app(ctx, deep=True)
        E.add("err", a, rng.uniform(0.06, 0.2), on, ramp=rng.uniform(60, 900), cause="defect")
        desc = "%s starts failing a class of requests without any change (latent code defect)" % a
    elif v == 1:
        a = pick_app(ctx)
        E.add("lat_mult", a, rng.uniform(3, 7), on, ramp=rng.uniform(60, 600))
        desc = "%s gets slow with no visible trigger (gray failure)" % a
    elif v == 2:
        dbs = [s.name for s in m.svcs.values() if s.role == "store"]
        a = rng.choice(dbs)
        E.add("lat_mult", a, rng.uniform(6, 15), on, ramp=rng.uniform(30, 300))
        desc = "%s query latency jumps, resources look normal (cause not visible)" % a
    else:
        a = pick_app(ctx)
        E.add("workers_mult", a, shrink_workers(ctx, a, rng.uniform(1.3, 1.8)), on, ramp=60)
        E.add("err", a, 0.02, on, cause="stuck")
        desc = "%s request threads wedge (suspected lock contention); throughput collapses" % a
    ctx["truth"] = dict(kind="unknown", service=a)
    ctx["match_service"] = True
    ctx["cause_svc"] = a
    return desc


SCENARIOS = {
    "deploy": (scen_deploy, 5),
    "config_change": (scen_config, 5),
    "resource_saturation": (scen_resource, 5),
    "dependency_failure": (scen_dependency, 5),
    "network": (scen_network, 4),
    "traffic_surge": (scen_surge, 4),
    "certificate_expiry": (scen_cert, 4),
    "crash_loop": (scen_crash, 4),
    "unknown": (scen_unknown, 4),
}

# ----------------------------------------------------------------------------- log text

STORE_QUOTE = {
    ("postgres", "too_many_conn"): {
        "go": "pq: sorry, too many clients already",
        "java": "org.postgresql.util.PSQLException: FATAL: sorry, too many clients already",
        "python": "psycopg2.OperationalError: FATAL:  sorry, too many clients already",
        "dotnet": "Npgsql.PostgresException (0x80004005): 53300: sorry, too many clients already",
        "php": "SQLSTATE[08006] [7] FATAL:  sorry, too many clients already",
        "node": "error: sorry, too many clients already",
    },
    ("mysql", "too_many_conn"): {
        "go": "Error 1040: Too many connections",
        "java": "java.sql.SQLNonTransientConnectionException: Too many connections",
        "python": "pymysql.err.OperationalError: (1040, 'Too many connections')",
        "dotnet": "MySqlConnector.MySqlException (0x80004005): Too many connections",
        "php": "SQLSTATE[HY000] [1040] Too many connections",
        "node": "Error: ER_CON_COUNT_ERROR: Too many connections",
    },
    ("mongodb", "too_many_conn"): {
        "*": "connection pool for %(host)s:27017 was cleared because another operation failed with: connection refused"
    },
    ("mongodb", "no_primary"): {
        "*": "server selection error: server selection timeout, current topology: { Type: ReplicaSetNoPrimary, Servers: [...] }"
    },
    ("mysql", "read_only"): {
        "*": "Error 1290 (HY000): The MySQL server is running with the --read-only option so it cannot execute this statement"
    },
    ("postgres", "read_only_pg"): {
        "*": "ERROR: cannot execute UPDATE in a read-only transaction (SQLSTATE 25006)"
    },
}


STORE_GENERIC = {
    "postgres": [
        "ERROR: deadlock detected (SQLSTATE 40P01)",
        "ERROR: canceling statement due to lock timeout (SQLSTATE 55P03)",
        "ERROR: could not serialize access due to concurrent update (SQLSTATE 40001)",
    ],
    "mysql": [
        "Error 1213 (40001): Deadlock found when trying to get lock; try restarting transaction",
        "Error 1205 (HY000): Lock wait timeout exceeded; try restarting transaction",
    ],
    "mongodb": [
        "(WriteConflict) WriteConflict error: this operation conflicted with another operation. Please retry your operation or multi-document transaction."
    ],
    "redis": ["LOADING Redis is loading the dataset in memory", "i/o timeout"],
    "memcached": [
        "memcache: connection pool timeout",
        'memcache: unexpected response line from "get": "SERVER_ERROR out of memory storing object"',
    ],
    "rabbitmq": ["CHANNEL_ERROR - expected 'channel.open'", "connection.blocked: low on memory"],
}


def host_of(ctx, b):
    m = ctx["m"]
    s = m.svcs.get(b)
    if s is not None and s.role == "third":
        return THIRDPARTY_URL.get(b, "https://%s.example.com/" % b).split("/")[2]
    if ctx["style"] == "nomad":
        return "%s.service.consul" % b
    return rng_host(ctx, b)


def rng_host(ctx, b):
    return ctx["hostfmt"] % dict(svc=b, ns=ctx["m"].ns)


def client_msg(ctx, lang, cause, a, b, rng):
    m = ctx["m"]
    sb = m.svcs.get(b)
    host = host_of(ctx, b)
    port = sb.port if sb else 8080
    ip = (
        sb.insts[0].ip
        if sb and sb.insts
        else "10.0.%d.%d" % (rng.randint(0, 255), rng.randint(2, 250))
    )
    path = m.dep(a, b).path if m.dep(a, b) else "/"
    if sb is not None and sb.role == "third":
        url = THIRDPARTY_URL.get(b, "https://%s/" % host)
    else:
        url = "http://%s:%d%s" % (host, port, path)
    to = m.dep(a, b).timeout if m.dep(a, b) else 1000
    if "timeout_change" in ctx and ctx["timeout_change"][:2] == (a, b):
        to = ctx["timeout_change"][3]
    if (a, b) in ctx.get("alt_host", {}):
        host = ctx["alt_host"][(a, b)] + "." + m.ns + ".svc.cluster.local"
        url = "http://%s:%d%s" % (host, port, path)
    store = sb is not None and sb.role in ("store", "cache", "mq")
    if cause.startswith("up:"):
        inner = cause[3:]
        if "|" in inner and sb is not None and sb.role == "app":
            ik, ib = inner.rsplit("|", 1)
            if ik in (
                "timeout",
                "refused",
                "x509",
                "dns",
                "reset",
                "pool",
                "bad_req",
            ) or ik.startswith("up:"):
                txt = client_msg(ctx, sb.lang, ik, b, ib, rng) or ""
                txt = txt.replace('"', "'")[:300]
                return {
                    "go": 'call %s%s failed: status 500: {"error":"%s"}' % (b, path, txt),
                    "java": 'feign.FeignException$InternalServerError: [500] during [POST] to [%s]: [{"status":500,"error":"Internal Server Error","message":"%s"}]'
                    % (url, txt),
                    "python": "upstream %s returned 500 for %s: %s" % (b, path, txt),
                    "dotnet": "System.Net.Http.HttpRequestException: Response status code does not indicate success: 500 (Internal Server Error). Body: %s"
                    % txt,
                    "php": 'GuzzleHttp\\Exception\\ServerException: Server error: `POST %s` resulted in a `500 Internal Server Error` response: {"message":"%s"}'
                    % (url, txt[:120]),
                    "node": "Error: Request failed with status code 500: %s" % txt,
                }.get(lang)
            inner = ik
        if store and (sb.tech, inner) in STORE_QUOTE:
            q = STORE_QUOTE[(sb.tech, inner)]
            return (q.get(lang) or q.get("*") or list(q.values())[0]) % dict(host=host)
        if store:
            if inner == "unavailable":
                return client_msg(ctx, lang, "refused", a, b, rng)
            g = STORE_GENERIC.get(sb.tech, "error")
            g = rng.choice(g) if isinstance(g, list) else g
            return {
                "java": "org.springframework.dao.DataAccessException: " + g,
                "python": "sqlalchemy.exc.OperationalError: " + g,
                "dotnet": "Error executing query: " + g,
                "php": "SQLSTATE[40001]: " + g,
            }.get(lang, g)
        code = {
            "tp_503": 503,
            "tp_5xx": 502,
            "overload": 503,
            "unavailable": 503,
            "bad_req": 400,
        }.get(inner, 500)
        if sb is not None and sb.role == "third":
            body = {
                503: '{"error":{"type":"api_error","message":"Service temporarily unavailable"}}',
                502: "<html><body><h1>502 Bad Gateway</h1></body></html>",
            }[code if code in (502, 503) else 503]
            return {
                "go": "%s %s: unexpected status %d: %s" % ("POST", url, code, body),
                "java": 'org.springframework.web.client.HttpServerErrorException$ServiceUnavailable: %d Service Unavailable: "%s"'
                % (code, body),
                "python": "requests.exceptions.HTTPError: %d Server Error: Service Unavailable for url: %s"
                % (code, url),
                "dotnet": "System.Net.Http.HttpRequestException: Response status code does not indicate success: %d (Service Unavailable)."
                % code,
                "php": "GuzzleHttp\\Exception\\ServerException: Server error: `POST %s` resulted in a `%d Service Unavailable` response"
                % (url, code),
                "node": "Error: Request failed with status code %d (POST %s)" % (code, url),
            }.get(lang)
        return {
            "go": "call %s%s failed: status %d" % (b, path, code),
            "java": "feign.FeignException$InternalServerError: [%d] during [POST] to [%s] [%sClient#call]"
            % (code, url, b.replace("-", "").title()),
            "python": "upstream %s returned %d for %s" % (b, code, path),
            "dotnet": "System.Net.Http.HttpRequestException: Response status code does not indicate success: %d (%s)."
            % (code, "Internal Server Error" if code == 500 else "Service Unavailable"),
            "php": "GuzzleHttp\\Exception\\ServerException: Server error: `POST %s` resulted in a `%d` response"
            % (url, code),
            "node": "Error: Request failed with status code %d" % code,
        }.get(lang)
    if cause == "timeout" and store:
        return {
            "go": "query failed: context deadline exceeded (db=%s)" % b,
            "java": "org.springframework.dao.QueryTimeoutException: PreparedStatementCallback; SQL [select ...]; ERROR: canceling statement due to statement timeout",
            "python": "sqlalchemy.exc.OperationalError: (psycopg2.errors.QueryCanceled) canceling statement due to statement timeout"
            if sb.tech == "postgres"
            else "timeout talking to %s:%d" % (host, port),
            "dotnet": "Npgsql.NpgsqlException (0x80004005): Exception while reading from stream ---> System.TimeoutException: Timeout during reading attempt",
            "php": "SQLSTATE[HY000]: General error: 2006 MySQL server has gone away"
            if sb.tech == "mysql"
            else "SQLSTATE[57014]: Query canceled: 7 ERROR:  canceling statement due to statement timeout",
            "node": "Error: Query read timeout (%s)" % b,
        }.get(lang)
    if cause == "timeout":
        return {
            "go": 'Post "%s": context deadline exceeded (Client.Timeout exceeded while awaiting headers)'
            % url
            if not store
            else "query failed: context deadline exceeded",
            "java": 'org.springframework.web.client.ResourceAccessException: I/O error on POST request for "%s": Read timed out'
            % url
            if not store
            else "org.postgresql.util.PSQLException: ERROR: canceling statement due to statement timeout",
            "python": "requests.exceptions.ReadTimeout: HTTPConnectionPool(host='%s', port=%d): Read timed out. (read timeout=%s)"
            % (host, port, to / 1000.0),
            "dotnet": "System.Threading.Tasks.TaskCanceledException: The request was canceled due to the configured HttpClient.Timeout of %s seconds elapsing."
            % (to / 1000.0),
            "php": "cURL error 28: Operation timed out after %d milliseconds with 0 bytes received (see https://curl.haxx.se/libcurl/c/libcurl-errors.html) for %s"
            % (to, url),
            "node": "Error: timeout of %dms exceeded" % to,
        }.get(lang)
    if cause == "refused":
        return {
            "go": "dial tcp %s:%d: connect: connection refused" % (ip, port),
            "java": "java.net.ConnectException: Connection refused (%s:%d)" % (host, port)
            if not store
            else "org.postgresql.util.PSQLException: Connection to %s:%d refused. Check that the hostname and port are correct and that the postmaster is accepting TCP/IP connections."
            % (host, port),
            "python": "ConnectionRefusedError: [Errno 111] Connection refused (%s:%d)"
            % (host, port)
            if not store
            else "redis.exceptions.ConnectionError: Error 111 connecting to %s:%d. Connection refused."
            % (host, port),
            "dotnet": "System.Net.Http.HttpRequestException: Connection refused (%s:%d)"
            % (host, port),
            "php": "cURL error 7: Failed to connect to %s port %d: Connection refused"
            % (host, port)
            if not store
            else "SQLSTATE[HY000] [2002] Connection refused",
            "node": "Error: connect ECONNREFUSED %s:%d" % (ip, port),
        }.get(lang)
    if cause == "x509" and store:
        na = iso(ctx.get("cert", {}).get("not_after", 0), ms=False)
        return {
            "go": "failed to connect to `host=%s user=app database=%s`: tls error (x509: certificate has expired or is not yet valid: current time %s is after %s)"
            % (host, b.replace("-", "_"), iso(ctx["now"], ms=False), na),
            "java": "org.postgresql.util.PSQLException: SSL error: PKIX path validation failed: java.security.cert.CertPathValidatorException: validity check failed"
            if sb.tech == "postgres"
            else "com.mysql.cj.exceptions.CJCommunicationsException: Communications link failure: javax.net.ssl.SSLHandshakeException: PKIX path validation failed: validity check failed",
            "python": 'psycopg2.OperationalError: connection to server at "%s" (%s), port %d failed: SSL error: certificate verify failed'
            % (host, ip, port),
            "dotnet": "Npgsql.NpgsqlException (0x80004005): Exception while connecting ---> System.Security.Authentication.AuthenticationException: The remote certificate is invalid because of errors in the certificate chain: NotTimeValid",
            "php": "SQLSTATE[08006] [7] SSL error: certificate verify failed",
            "node": "Error: certificate has expired (CERT_HAS_EXPIRED) connecting to %s:%d"
            % (host, port),
        }.get(lang)
    if cause == "x509":
        na = iso(ctx.get("cert", {}).get("not_after", 0), ms=False)
        return {
            "go": 'Post "%s": tls: failed to verify certificate: x509: certificate has expired or is not yet valid: current time %s is after %s'
            % (url, iso(ctx["now"], ms=False), na),
            "java": "javax.net.ssl.SSLHandshakeException: PKIX path validation failed: java.security.cert.CertPathValidatorException: validity check failed",
            "python": "requests.exceptions.SSLError: HTTPSConnectionPool(host='%s', port=443): Max retries exceeded (Caused by SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired (_ssl.c:1006)')))"
            % host,
            "dotnet": "System.Security.Authentication.AuthenticationException: The remote certificate is invalid because of errors in the certificate chain: NotTimeValid",
            "php": "cURL error 60: SSL certificate problem: certificate has expired (see https://curl.haxx.se/libcurl/c/libcurl-errors.html) for %s"
            % url,
            "node": "Error: certificate has expired (CERT_HAS_EXPIRED) host=%s" % host,
        }.get(lang)
    if cause == "dns":
        return {
            "go": "dial tcp: lookup %s on 10.96.0.10:53: %s"
            % (
                host,
                rng.choice(
                    [
                        "server misbehaving",
                        "read udp 10.%d.3.7:%d->10.96.0.10:53: i/o timeout"
                        % (rng.randint(0, 3), rng.randint(30000, 60000)),
                    ]
                ),
            ),
            "java": "java.net.UnknownHostException: %s: Temporary failure in name resolution"
            % host,
            "python": "socket.gaierror: [Errno -3] Temporary failure in name resolution (%s)"
            % host,
            "dotnet": "System.Net.Http.HttpRequestException: Resource temporarily unavailable (%s:%d)"
            % (host, port),
            "php": "cURL error 6: Could not resolve host: %s" % host,
            "node": "Error: getaddrinfo EAI_AGAIN %s" % host,
        }.get(lang)
    if cause == "reset":
        if ctx.get("mesh_fault"):
            return "upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: delayed connect error: 111"
        return {
            "go": "read tcp 10.%d.%d.%d:%d->%s:%d: read: connection reset by peer"
            % (
                rng.randint(0, 3),
                rng.randint(0, 255),
                rng.randint(2, 250),
                rng.randint(30000, 60000),
                ip,
                port,
            ),
            "java": "java.net.SocketException: Connection reset",
            "python": "requests.exceptions.ConnectionError: ('Connection aborted.', ConnectionResetError(104, 'Connection reset by peer'))",
            "dotnet": "System.IO.IOException: Unable to read data from the transport connection: Connection reset by peer.",
            "php": "cURL error 56: Recv failure: Connection reset by peer",
            "node": "Error: read ECONNRESET",
        }.get(lang)
    if cause == "pool":
        d = m.dep(a, b)
        P = d.pool
        return {
            "go": "failed to acquire connection from pool: context deadline exceeded (max_conns=%s)"
            % P,
            "java": "java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out after 30000ms.",
            "python": "sqlalchemy.exc.TimeoutError: QueuePool limit of size %s overflow 0 reached, connection timed out, timeout 30.00"
            % P,
            "dotnet": "System.InvalidOperationException: The connection pool has been exhausted, either raise 'Max Pool Size' (currently %s) or 'Timeout' (currently 15 seconds)"
            % P,
            "php": "SQLSTATE[HY000] [2002] Connection timed out",
            "node": "Error: timeout exceeded when trying to connect (pool max=%s)" % P,
        }.get(lang)
    if cause == "bad_req":
        return {
            "go": 'POST %s: status 422: {"error":"validation failed","field":"currency"}' % url,
            "java": 'org.springframework.web.client.HttpClientErrorException$UnprocessableEntity: 422 Unprocessable Entity: "{"error":"validation failed","field":"amount.currency"}"',
            "python": "requests.exceptions.HTTPError: 400 Client Error: Bad Request for url: %s"
            % url,
            "dotnet": "System.Net.Http.HttpRequestException: Response status code does not indicate success: 400 (Bad Request).",
            "php": "GuzzleHttp\\Exception\\ClientException: Client error: `POST %s` resulted in a `400 Bad Request` response"
            % url,
            "node": "Error: Request failed with status code 400",
        }.get(lang)
    return "upstream %s error" % b


def server_msg(ctx, s, cause, rng, inst=None):
    lang = s.lang or "go"
    if cause == "npe":
        return {
            "java": 'java.lang.NullPointerException: Cannot invoke "%s.getId()" because "%s" is null\n\tat com.%s.%s.service.%sService.handle(%sService.java:%d)'
            % (
                rng.choice(["Customer", "Promotion", "Address", "Cart", "Account"]),
                rng.choice(["promo", "addr", "owner", "item"]),
                ctx["org"],
                s.name.replace("-", ""),
                s.name.replace("-", " ").title().replace(" ", ""),
                s.name.replace("-", " ").title().replace(" ", ""),
                rng.randint(40, 400),
            ),
            "go": "panic recovered: runtime error: invalid memory address or nil pointer dereference [signal SIGSEGV: segmentation violation code=0x1 addr=0x18 pc=0x%s]"
            % hexid(rng, 6),
            "python": "AttributeError: 'NoneType' object has no attribute 'get'",
            "dotnet": "System.NullReferenceException: Object reference not set to an instance of an object.",
            "php": "PHP Fatal error:  Uncaught Error: Call to a member function getId() on null in /var/www/src/Service/OrderService.php:%d"
            % rng.randint(50, 400),
            "node": "TypeError: Cannot read properties of undefined (reading 'id')",
        }[lang]
    if cause in ("panic", "exc"):
        return {
            "java": "java.lang.IllegalArgumentException: No enum constant com.%s.model.Region.%s"
            % (ctx["org"], rng.choice(["EU_CENTRAL", "APAC", "LATAM"])),
            "go": "http: panic serving 10.%d.%d.%d:%d: runtime error: index out of range [%d] with length %d"
            % (
                rng.randint(0, 3),
                rng.randint(0, 255),
                rng.randint(2, 250),
                rng.randint(30000, 60000),
                rng.randint(1, 4),
                rng.randint(0, 1),
            ),
            "python": "KeyError: 'shipping_tier'",
            "dotnet": "System.InvalidOperationException: Sequence contains no elements\n   at System.Linq.ThrowHelper.ThrowNoElementsException()",
            "php": 'PHP Warning:  Undefined array key "tier" in /var/www/src/Pricing/Calculator.php on line %d'
            % rng.randint(20, 300),
            "node": "TypeError: items.map is not a function",
        }[lang]
    if cause == "defect":
        return {
            "java": "java.lang.IllegalStateException: Duplicate key %s (attempted merging values)"
            % hexid(rng, 8),
            "go": "failed to process request: json: cannot unmarshal number into Go struct field Item.sku of type string",
            "python": "ValueError: time data '2026-02-29' does not match format '%Y-%m-%d'",
            "dotnet": "System.FormatException: Input string was not in a correct format.",
            "php": "PHP Fatal error:  Uncaught TypeError: round(): Argument #1 ($num) must be of type int|float, string given",
            "node": "RangeError: Invalid time value",
        }[lang]
    if cause == "stuck":
        return {
            "java": "Thread starvation or clock leap detected (housekeeper delta=%ds)."
            % rng.randint(40, 200),
            "go": "request handler exceeded %ds, aborting" % rng.randint(30, 60),
            "python": "[CRITICAL] WORKER TIMEOUT (pid:%d)" % rng.randint(20, 900),
            "dotnet": 'Heartbeat took longer than "00:00:01" at "%s".' % iso(ctx["now"], ms=False),
            "php": "WARNING: [pool www] child %d, script '/var/www/public/index.php' (request: \"POST /index.php\") execution timed out (%d.%06d sec), terminating"
            % (rng.randint(100, 9999), rng.randint(30, 60), rng.randint(0, 999999)),
            "node": "event loop blocked for %dms" % rng.randint(800, 5000),
        }[lang]
    if cause == "overload":
        return {
            "php": "WARNING: [pool www] server reached pm.max_children setting (%d), consider raising it"
            % int(s.workers),
            "python": "[WARNING] Worker with pid %d was terminated due to signal 9"
            % rng.randint(10, 900)
            if rng.random() < 0.3
            else "Backlog full: rejecting connection",
            "java": "o.a.tomcat.util.threads.ThreadPoolExecutor: Task rejected: thread pool exhausted (maxThreads=%d)"
            % int(s.workers),
            "go": "http: Accept error: accept tcp [::]:8080: accept4: too many open files; retrying in 20ms",
            "dotnet": "Microsoft.AspNetCore.Server.Kestrel: Connection processing ended abnormally. The ThreadPool is starved.",
            "node": "Error: 503 Service Unavailable: server overloaded (event loop lag %dms)"
            % rng.randint(500, 4000),
        }[lang]
    if cause == "enospc":
        return {
            "java": "java.io.IOException: No space left on device\n\tat java.base/java.io.FileOutputStream.writeBytes(Native Method)",
            "go": "write /var/log/%s/access.log: no space left on device" % s.name,
            "python": "OSError: [Errno 28] No space left on device: '/var/log/%s/app.log'" % s.name,
            "dotnet": "System.IO.IOException: No space left on device : '/app/logs/%s-%s.log'"
            % (s.name, dt.datetime.fromtimestamp(ctx["now"], UTC).strftime("%Y%m%d")),
            "php": "PHP Warning:  file_put_contents(/var/log/app/%s.log): Failed to open stream: No space left on device"
            % s.name,
            "node": "Error: ENOSPC: no space left on device, write",
        }[lang]
    if cause == "slow":
        return "slow request: %s took %dms" % (s.route, rng.randint(800, 4000))
    return "request failed"


OK_MSGS = {
    "java": [
        "Completed %(route)s in %(ms)dms",
        "HikariPool-1 - Pool stats (total=%(p)d, active=%(a)d, idle=%(i)d, waiting=0)",
        "Fetched %(n)d items for tenant %(tn)s",
    ],
    "go": [
        "request completed method=%(m)s path=%(path)s status=200 dur=%(ms)dms",
        "cache refresh done keys=%(n)d",
        "handled %(route)s in %(ms)dms",
    ],
    "python": [
        '%(ip)s - "%(route)s HTTP/1.1" 200 %(n)d %(ms)dms',
        "Task tasks.refresh_index succeeded in %(sec).3fs",
    ],
    "dotnet": [
        "Request finished HTTP/1.1 %(route)s - 200 - application/json %(ms).4fms",
        "Executed action %(ctrl)s in %(ms).4fms",
    ],
    "php": ['%(ip)s -  %(ts)s "%(route)s" 200', 'Matched route "%(rn)s".'],
    "node": ["%(route)s 200 %(ms)d ms - %(n)d", "job sync completed in %(ms)dms"],
}
BG_NOISE = {
    "java": [
        "Connection reset by peer while writing response; client closed connection",
        "Failed to evict expired cache entries: ConcurrentModificationException (will retry)",
    ],
    "go": [
        "http: TLS handshake error from 10.%d.%d.%d:%d: EOF",
        "client disconnected before response completed",
    ],
    "python": [
        "BrokenPipeError: [Errno 32] Broken pipe",
        "Retrying (Retry(total=2)) after connection broken by ProtocolError",
    ],
    "dotnet": [
        "The client disconnected while the request was being processed.",
        'Connection id "0HMV%s" bad request data: "Unexpected end of request content."',
    ],
    "php": [
        "NOTICE: [pool www] child %d exited with code 0 after %d.%d seconds from start",
        "PHP Deprecated:  Creation of dynamic property is deprecated",
    ],
    "node": [
        "Error: aborted (client closed request)",
        "MaxListenersExceededWarning: Possible EventEmitter memory leak detected.",
    ],
}


def fill_noise(tpl, rng):
    out = tpl
    while "%d" in out or "%s" in out:
        if out.find("%d") >= 0 and (out.find("%s") < 0 or out.find("%d") < out.find("%s")):
            out = out.replace("%d", str(rng.randint(1, 60000)), 1)
        else:
            out = out.replace("%s", hexid(rng, 8).upper(), 1)
    return out


# ----------------------------------------------------------------------------- metric rendering


class MW:
    def __init__(self, times, rng):
        self.times = times
        self.files = {}
        self.queries = {}
        self.rng = rng

    def add(self, stem, name, labels, vals, q=None, nodrop=False):
        lab = {}
        if name:
            lab["__name__"] = name
        lab.update({k: str(v) for k, v in labels.items() if v is not None})
        pts = [[ts, fnum(v)] for ts, v in zip(self.times, vals) if v is not None]
        if not pts:
            return
        self.files.setdefault(stem, []).append({"metric": lab, "values": pts})
        if q and stem not in self.queries:
            self.queries[stem] = q


def rate_to_counter(rates, step, restarts=None, start=None, rng=None):
    out = []
    c = start if start is not None else (rng.uniform(1e3, 1e6) if rng else 0.0)
    last_r = None
    for i, r in enumerate(rates):
        if r is None:
            out.append(None)
            continue
        if (
            restarts is not None
            and restarts[i] is not None
            and last_r is not None
            and restarts[i] > last_r
        ):
            c = 0.0
        if restarts is not None and restarts[i] is not None:
            last_r = restarts[i]
        c += max(0.0, r) * step
        out.append(round(c, 3))
    return out


def smul(a, k):
    return [None if x is None else x * k for x in a]


def comb(f, *arrs):
    out = []
    for xs in zip(*arrs):
        out.append(None if any(x is None for x in xs) else f(*xs))
    return out


def jit(rng, a, s=0.03):
    return [None if x is None else x * math.exp(rng.gauss(0, s)) for x in a]


def ins_alive(st, ins):
    return ins.name in st.inst


def render_all(ctx, st):
    m, rng, step = ctx["m"], ctx["rng"], ctx["step"]
    mw = MW(st.times, rng)
    style = ctx["style"]
    skip = ctx.get("no_metrics_svc")
    for s in m.svcs.values():
        if s.name == skip:
            continue
        if s.role == "app" or (s.role == "edge" and s.tech == "app"):
            RENDER_APP[style](ctx, st, mw, s)
        elif s.role == "edge":
            render_edge(ctx, st, mw, s)
        elif s.role in ("store", "cache", "mq"):
            render_store(ctx, st, mw, s)
        elif s.role == "third":
            render_probe(ctx, st, mw, s)
        if s.role in ("app", "edge"):
            render_infra(ctx, st, mw, s)
    render_nodes(ctx, st, mw)
    if ctx.get("dns_fault") or rng.random() < 0.3:
        render_coredns(ctx, st, mw)
    if ctx.get("cert"):
        render_cert(ctx, st, mw)
    elif rng.random() < 0.4:
        render_cert_decoy(ctx, st, mw)
    if not ctx.get("disk_svc") and rng.random() < 0.3:
        render_disk_decoy(ctx, st, mw)
    # confounder: a gap in one metric file (scrape failures)
    if ctx["conf"].get("gap") and mw.files:
        stem = rng.choice(sorted(mw.files))
        n = len(st.times)
        a = rng.randint(0, max(1, n // 2))
        b = a + rng.randint(max(2, n // 10), max(3, n // 4))
        lo, hi = st.times[min(a, n - 1)], st.times[min(b, n - 1)]
        for ser in mw.files[stem]:
            ser["values"] = [v for v in ser["values"] if not (lo <= v[0] <= hi)]
        mw.files[stem] = [s_ for s_ in mw.files[stem] if s_["values"]]
        if not mw.files[stem]:
            del mw.files[stem]
        ctx["gap_note"] = (stem, lo, hi)
    return mw


def inst_series(st, ins, key):
    return st.inst.get(ins.name, {}).get(key)


def code_split(err, causes):
    """split an error ratio into HTTP status codes given the cause mix"""
    if not causes:
        return {"500": err}
    w = {"500": 0.0, "502": 0.0, "503": 0.0, "504": 0.0, "400": 0.0}
    for k, v in causes.items():
        kk = k.split("|")[0]
        if kk in ("timeout", "up:overload"):
            w["504"] += v
        elif kk in ("overload", "unavailable", "pool", "refused", "dns", "x509"):
            w["503"] += v
        elif kk in ("reset",):
            w["502"] += v
        elif kk in ("bad_req",):
            w["500"] += v
        else:
            w["500"] += v
    tot = sum(w.values()) or 1
    return {k: err * v / tot for k, v in w.items() if v > 0}


def inst_codes(st, s, ins, i):
    e = st.inst[ins.name]["err"][i]
    if e is None:
        return None
    return code_split(e, st.svc[s.name]["causes"][i])


def codes_rates(st, s, ins, codes=("200", "500", "503", "504", "502")):
    n = len(st.times)
    R = st.inst[ins.name]["rps"]
    out = {c: [None] * n for c in codes}
    for i in range(n):
        if R[i] is None:
            continue
        cs = inst_codes(st, s, ins, i) or {}
        tot_err = sum(cs.values())
        out["200"][i] = R[i] * (1 - tot_err)
        for c in codes[1:]:
            out[c][i] = R[i] * cs.get(c, 0.0)
    return out


def kube_labels(ctx, s, ins):
    return dict(namespace=ctx["m"].ns, pod=ins.name)


# ---- app styles


def r_micrometer(ctx, st, mw, s):
    rng, step = ctx["rng"], ctx["step"]
    for ins in s.insts:
        if not ins_alive(st, ins):
            continue
        L = dict(
            job=s.name,
            application=s.name,
            instance="%s:8080" % ins.ip,
            namespace=ctx["m"].ns,
            pod=ins.name,
        )
        if ctx["ver_label"]:
            L["version"] = ins.version
        if ins.track == "canary":
            L["track"] = "canary"
        R = st.inst[ins.name]["rps"]
        rs = st.inst[ins.name]["restarts"]
        cr = codes_rates(st, s, ins)
        meth, uri = s.route.split(" ", 1)
        for c, arr in cr.items():
            if c != "200" and max([x or 0 for x in arr]) <= 0:
                continue
            lab = dict(
                L,
                uri=uri,
                method=meth,
                status=c,
                outcome="SUCCESS" if c == "200" else "SERVER_ERROR",
                exception="None",
            )
            mw.add(
                "http_server_requests_seconds_count",
                "http_server_requests_seconds_count",
                lab,
                rate_to_counter(arr, step, rs, rng=rng),
            )
            lat = st.inst[ins.name]["lat"]
            mw.add(
                "http_server_requests_seconds_sum",
                "http_server_requests_seconds_sum",
                lab,
                rate_to_counter(comb(lambda a, b: a * b / 1000.0, arr, lat), step, rs, rng=rng),
            )
        mw.add(
            "http_server_requests_seconds_max",
            "http_server_requests_seconds_max",
            dict(L, uri=uri, method=meth, status="200"),
            smul(jit(rng, st.inst[ins.name]["lat"], 0.25), 4.0 / 1000.0),
        )
        mw.add(
            "jvm_memory_used_bytes",
            "jvm_memory_used_bytes",
            dict(L, area="heap", id="G1 Old Gen"),
            smul(st.inst[ins.name]["mem"], 0.8),
        )
        mw.add(
            "process_cpu_usage",
            "process_cpu_usage",
            L,
            comb(
                lambda c, k: min(1.0, c / max(k, 0.01)),
                st.inst[ins.name]["cpu"],
                st.inst[ins.name]["cores"],
            ),
        )
        gc = comb(
            lambda mem: 0.002 + 0.2 * max(0.0, mem / s.mem_limit - 0.7) ** 2 * 10,
            st.inst[ins.name]["mem"],
        )
        mw.add(
            "jvm_gc_pause_seconds_sum",
            "jvm_gc_pause_seconds_sum",
            dict(L, action="end of major GC", cause="G1 Evacuation Pause"),
            rate_to_counter(gc, step, rs, start=0),
        )
        mw.add(
            "tomcat_threads_busy_threads",
            "tomcat_threads_busy_threads",
            dict(L, name="http-nio-8080"),
            [None if x is None else int(round(x)) for x in st.inst[ins.name]["busy"]],
        )
        for d in s.deps:
            D = st.dep[(s.name, d.b)]
            if d.pool:
                pl = dict(L, pool="HikariPool-1")
                mw.add(
                    "hikaricp_connections_active",
                    "hikaricp_connections_active",
                    pl,
                    [
                        None if a is None or r is None else int(round(a))
                        for a, r in zip(D["pact"], R)
                    ],
                )
                mw.add(
                    "hikaricp_connections_pending",
                    "hikaricp_connections_pending",
                    pl,
                    [
                        None if a is None or r is None else int(round(a))
                        for a, r in zip(D["ppend"], R)
                    ],
                )
                mw.add(
                    "hikaricp_connections_max",
                    "hikaricp_connections_max",
                    pl,
                    [None if r is None else (D["psize"][i] or d.pool) for i, r in enumerate(R)],
                )
            elif ctx["m"].svcs[d.b].role in ("app", "third"):
                host = host_of(ctx, d.b)
                share = 1.0 / max(1, len([x for x in s.insts if ins_alive(st, x)]))
                ok = comb(lambda r, f: r * (1 - f) * share, D["rps"], D["fail"])
                bad = comb(lambda r, f: r * f * share, D["rps"], D["fail"])
                ok = [None if R[i] is None else ok[i] for i in range(len(R))]
                bad = [None if R[i] is None else bad[i] for i in range(len(R))]
                cl = dict(L, clientName=host, method="POST", uri=d.path)
                mw.add(
                    "http_client_requests_seconds_count",
                    "http_client_requests_seconds_count",
                    dict(cl, status="200", outcome="SUCCESS"),
                    rate_to_counter(ok, step, rs, rng=rng),
                )
                if max([x or 0 for x in bad]) > 0:
                    mw.add(
                        "http_client_requests_seconds_count",
                        "http_client_requests_seconds_count",
                        dict(cl, status="CLIENT_ERROR", outcome="UNKNOWN"),
                        rate_to_counter(bad, step, rs, start=0),
                    )


def r_promhttp(ctx, st, mw, s):
    rng, step, m = ctx["rng"], ctx["step"], ctx["m"]
    for ins in s.insts:
        if not ins_alive(st, ins):
            continue
        L = dict(
            job=s.name,
            service=s.name,
            namespace=m.ns,
            pod=ins.name,
            container=s.name,
            endpoint="http-metrics",
            instance="%s:9090" % ins.ip,
        )
        if ctx["ver_label"]:
            L["version"] = ins.version
        if ins.track == "canary":
            L["track"] = "canary"
        rs = st.inst[ins.name]["restarts"]
        cr = codes_rates(st, s, ins)
        meth, path = s.route.split(" ", 1)
        for c, arr in cr.items():
            if c != "200" and max([x or 0 for x in arr]) <= 0:
                continue
            mw.add(
                "http_requests_total",
                "http_requests_total",
                dict(L, code=c, method=meth.lower(), handler=path),
                rate_to_counter(arr, step, rs, rng=rng),
            )
        mw.add(
            "process_resident_memory_bytes",
            "process_resident_memory_bytes",
            L,
            st.inst[ins.name]["mem"],
        )
        mw.add(
            "process_cpu_seconds_total",
            "process_cpu_seconds_total",
            L,
            rate_to_counter(st.inst[ins.name]["cpu"], step, rs, rng=rng),
        )
        mw.add(
            "go_goroutines",
            "go_goroutines",
            L,
            [
                None if b is None else int(40 + b * 3 + rng.randint(0, 6))
                for b in st.inst[ins.name]["busy"]
            ],
        )
        for d in s.deps:
            D = st.dep[(s.name, d.b)]
            sb = m.svcs[d.b]
            if d.pool:
                pl = dict(L, db_name=d.b.replace("-", "_"))
                mw.add(
                    "go_sql_in_use_connections",
                    "go_sql_in_use_connections",
                    pl,
                    [
                        None if a is None or st.inst[ins.name]["rps"][i] is None else int(round(a))
                        for i, a in enumerate(D["pact"])
                    ],
                )
                mw.add(
                    "go_sql_max_open_connections",
                    "go_sql_max_open_connections",
                    pl,
                    [
                        None if st.inst[ins.name]["rps"][i] is None else (D["psize"][i] or d.pool)
                        for i in range(len(D["pact"]))
                    ],
                )
                waits = comb(
                    lambda p, r: (r / max(1, len(s.insts))) if p and p > 0.5 else 0.0,
                    D["ppend"],
                    D["rps"],
                )
                mw.add(
                    "go_sql_wait_count_total",
                    "go_sql_wait_count_total",
                    pl,
                    rate_to_counter(waits, step, rs, start=0),
                )
            elif sb.role in ("app", "third"):
                share = 1.0 / max(1, len(s.insts))
                for res, f in (
                    ("success", lambda r, x: r * (1 - x) * share),
                    ("error", lambda r, x: r * x * share),
                ):
                    arr = comb(f, D["rps"], D["fail"])
                    arr = [
                        None if st.inst[ins.name]["rps"][i] is None else arr[i]
                        for i in range(len(arr))
                    ]
                    if res == "error" and max([x or 0 for x in arr]) <= 0:
                        continue
                    mw.add(
                        "outbound_requests_total",
                        "outbound_requests_total",
                        dict(L, target=d.b, result=res),
                        rate_to_counter(
                            arr, step, rs, start=0 if res == "error" else None, rng=rng
                        ),
                    )
    # precomputed histogram quantile (no __name__)
    q = (
        'histogram_quantile(0.99, sum by (le, service) (rate(http_request_duration_seconds_bucket{service="%s"}[5m])))'
        % s.name
    )
    mw.add(
        "http_request_duration_p99",
        None,
        dict(service=s.name),
        smul(st.svc[s.name]["p99"], 0.001),
        q,
    )


def r_pyclient(ctx, st, mw, s):
    rng, step, m = ctx["rng"], ctx["step"], ctx["m"]
    job = ctx["py_job"] or s.name
    for ins in s.insts:
        if not ins_alive(st, ins):
            continue
        L = dict(
            job=job,
            app=s.name,
            kubernetes_namespace=m.ns,
            kubernetes_pod_name=ins.name,
            instance="%s:8000" % ins.ip,
        )
        if ctx["ver_label"]:
            L["version"] = ins.version
        rs = st.inst[ins.name]["restarts"]
        cr = codes_rates(st, s, ins)
        meth = s.route.split(" ")[0]
        for c, arr in cr.items():
            if c != "200" and max([x or 0 for x in arr]) <= 0:
                continue
            mw.add(
                "flask_http_request_total",
                "flask_http_request_total",
                dict(L, method=meth, status=c),
                rate_to_counter(arr, step, rs, rng=rng),
            )
        R = st.inst[ins.name]["rps"]
        mw.add(
            "flask_http_request_duration_seconds_count",
            "flask_http_request_duration_seconds_count",
            dict(L, method=meth, path=s.route.split(" ")[1]),
            rate_to_counter(R, step, rs, rng=rng),
        )
        mw.add(
            "flask_http_request_duration_seconds_sum",
            "flask_http_request_duration_seconds_sum",
            dict(L, method=meth, path=s.route.split(" ")[1]),
            rate_to_counter(
                comb(lambda r, l: r * l / 1000.0, R, st.inst[ins.name]["lat"]), step, rs, rng=rng
            ),
        )
        mw.add(
            "process_resident_memory_bytes",
            "process_resident_memory_bytes",
            L,
            st.inst[ins.name]["mem"],
        )
        mw.add(
            "process_cpu_seconds_total",
            "process_cpu_seconds_total",
            L,
            rate_to_counter(st.inst[ins.name]["cpu"], step, rs, rng=rng),
        )
        mw.add(
            "gunicorn_workers_busy",
            "gunicorn_workers_busy",
            L,
            [None if b is None else int(round(b)) for b in st.inst[ins.name]["busy"]],
        )
        mw.add(
            "gunicorn_backlog",
            "gunicorn_backlog",
            L,
            [None if q is None else int(round(q)) for q in st.inst[ins.name]["queue"]],
        )
        for d in s.deps:
            D = st.dep[(s.name, d.b)]
            if d.pool:
                mw.add(
                    "sqlalchemy_pool_checkedout",
                    "sqlalchemy_pool_checkedout",
                    dict(L, engine=d.b),
                    [
                        None if R[i] is None or a is None else int(round(a))
                        for i, a in enumerate(D["pact"])
                    ],
                )
                mw.add(
                    "sqlalchemy_pool_size",
                    "sqlalchemy_pool_size",
                    dict(L, engine=d.b),
                    [None if R[i] is None else (D["psize"][i] or d.pool) for i in range(len(R))],
                )


def r_statsd(ctx, st, mw, s):
    rng, step, m = ctx["rng"], ctx["step"], ctx["m"]
    lk = ctx["statsd_label"]
    base = {"job": "statsd_exporter", "instance": "statsd-exporter.monitoring:9102", lk: s.name}
    flush = 10.0
    # already per-flush-interval counts (stats_counts), service-level
    R, E_ = st.svc[s.name]["rps"], st.svc[s.name]["err"]
    mw.add(
        "stats_counts_%s_requests" % s.name.replace("-", "_"),
        "stats_counts_requests",
        dict(base, status="2xx"),
        [None if r is None else round(r * (1 - e) * flush) for r, e in zip(R, E_)],
        'stats_counts_requests{%s="%s"}' % (lk, s.name),
    )
    mw.add(
        "stats_counts_%s_requests" % s.name.replace("-", "_"),
        "stats_counts_requests",
        dict(base, status="5xx"),
        [None if r is None else round(r * e * flush) for r, e in zip(R, E_)],
    )
    stem = "api_timer_p95" if ctx["statsd_timer_stem"] else "stats_timers_request_upper_95"
    mw.add(
        stem,
        "stats_timers_request_upper_95",
        base,
        jit(rng, smul(st.svc[s.name]["lat"], 2.1), 0.06),
        "stats_timers_request_upper_95 (ms, statsd flush %ds)" % int(flush),
    )
    mw.add(
        "stats_timers_request_mean",
        "stats_timers_request_mean",
        base,
        jit(rng, st.svc[s.name]["lat"], 0.03),
    )
    for d in s.deps:
        D = st.dep[(s.name, d.b)]
        if d.pool:
            nI = max(1, len([x for x in s.insts if ins_alive(st, x)]))
            mw.add(
                "stats_gauges_db_pool_active",
                "stats_gauges_db_pool_active",
                dict(base, pool=d.b),
                [None if a is None else int(round(a)) for a in D["pact"]],
            )
            mw.add(
                "stats_gauges_db_pool_waiting",
                "stats_gauges_db_pool_waiting",
                dict(base, pool=d.b),
                [None if a is None else int(round(a)) for a in D["ppend"]],
            )
        mw.add(
            "stats_counts_upstream_errors",
            "stats_counts_upstream_errors",
            dict(base, upstream=d.b),
            [
                None if r is None or f is None else round(r * f * flush)
                for r, f in zip(D["rps"], D["fail"])
            ],
        )
        mw.add(
            "stats_timers_upstream_upper_95",
            "stats_timers_upstream_upper_95",
            dict(base, upstream=d.b),
            jit(rng, smul(D["lat"], 2.0), 0.05),
        )
    for ins in s.insts:
        if ins_alive(st, ins):
            mw.add(
                "stats_gauges_process_heap_used",
                "stats_gauges_process_heap_used",
                dict(base, host=ins.name),
                smul(st.inst[ins.name]["mem"], 0.7),
            )
            mw.add(
                "stats_gauges_eventloop_lag_ms",
                "stats_gauges_eventloop_lag_ms",
                dict(base, host=ins.name),
                comb(
                    lambda c, k: round(1 + 200 * max(0.0, c / k - 0.6) ** 2, 1),
                    st.inst[ins.name]["cpu"],
                    st.inst[ins.name]["cores"],
                ),
            )


def r_elastic(ctx, st, mw, s):
    rng, step, m = ctx["rng"], ctx["step"], ctx["m"]
    agent = {
        "java": "java",
        "node": "nodejs",
        "go": "go",
        "python": "python",
        "dotnet": "dotnet",
        "php": "php",
    }[s.lang]
    base = dict(service_name=s.name, service_environment="production", agent_name=agent)
    for ins in s.insts:
        if not ins_alive(st, ins):
            continue
        L = dict(base, service_node_name=ins.name, service_version=ins.version)
        R, E_, LAT = st.inst[ins.name]["rps"], st.inst[ins.name]["err"], st.inst[ins.name]["lat"]
        mw.add(
            "transaction_duration_us",
            "transaction_duration_us",
            dict(L, transaction_type="request", quantile="0.95"),
            jit(rng, smul(LAT, 2100.0), 0.05),
        )
        mw.add(
            "transaction_duration_us",
            "transaction_duration_us",
            dict(L, transaction_type="request", quantile="0.5"),
            jit(rng, smul(LAT, 720.0), 0.04),
        )
        mw.add(
            "transaction_success_count",
            "transaction_success_count",
            dict(L, transaction_type="request"),
            [None if r is None else round(r * 60 * (1 - e)) for r, e in zip(R, E_)],
        )
        mw.add(
            "transaction_failure_count",
            "transaction_failure_count",
            dict(L, transaction_type="request"),
            [None if r is None else round(r * 60 * e) for r, e in zip(R, E_)],
        )
        mw.add(
            "system_process_cpu_total_norm_pct",
            "system_process_cpu_total_norm_pct",
            L,
            comb(
                lambda c, k: round(min(1.0, c / k), 4),
                st.inst[ins.name]["cpu"],
                st.inst[ins.name]["cores"],
            ),
        )
        mw.add(
            "system_process_memory_rss_bytes",
            "system_process_memory_rss_bytes",
            L,
            st.inst[ins.name]["mem"],
        )
        if s.lang == "java":
            mw.add(
                "jvm_memory_heap_used",
                "jvm_memory_heap_used",
                L,
                smul(st.inst[ins.name]["mem"], 0.78),
            )
    for d in s.deps:
        D = st.dep[(s.name, d.b)]
        res = "%s:%d" % (host_of(ctx, d.b), m.svcs[d.b].port)
        for outcome, f in (
            ("success", lambda r, x: r * (1 - x) * 60),
            ("failure", lambda r, x: r * x * 60),
        ):
            cnt = comb(f, D["rps"], D["fail"])
            mw.add(
                "span_destination_service_response_time_count",
                "span_destination_service_response_time_count",
                dict(base, span_destination_service_resource=res, event_outcome=outcome),
                [None if c is None else round(c) for c in cnt],
            )
        mw.add(
            "span_destination_service_response_time_sum_us",
            "span_destination_service_response_time_sum_us",
            dict(base, span_destination_service_resource=res),
            comb(lambda r, l: round(r * 60 * l * 1000), D["rps"], D["lat"]),
        )


def r_nomad(ctx, st, mw, s):
    rng, step, m = ctx["rng"], ctx["step"], ctx["m"]
    for ins in s.insts:
        if not ins_alive(st, ins):
            continue
        L = dict(
            job="nomad-clients",
            exported_job=s.name,
            task_group=s.name,
            task=s.name,
            alloc_id=ins.name,
            host=ins.node,
            namespace="default",
        )
        mw.add(
            "nomad_client_allocs_cpu_total_percent",
            "nomad_client_allocs_cpu_total_percent",
            L,
            comb(lambda c: round(c * 100, 2), st.inst[ins.name]["cpu"]),
        )
        mw.add(
            "nomad_client_allocs_memory_usage",
            "nomad_client_allocs_memory_usage",
            L,
            st.inst[ins.name]["mem"],
        )
        mw.add(
            "nomad_client_allocs_cpu_throttled_time",
            "nomad_client_allocs_cpu_throttled_time",
            L,
            rate_to_counter(
                comb(lambda t: t * 1e9 * 0.1, st.inst[ins.name]["thr"]), step, None, start=0
            ),
        )
        E = dict(
            job="consul-connect-envoy",
            local_cluster=s.name,
            consul_source_service=s.name,
            consul_source_datacenter=ctx["dc"],
            nomad_alloc_id=ins.name,
        )
        rs = st.inst[ins.name]["restarts"]
        R = st.inst[ins.name]["rps"]
        cr = codes_rates(st, s, ins)
        ok = cr["200"]
        bad = comb(lambda *xs: sum(xs), cr["500"], cr["502"], cr["503"], cr["504"])
        mw.add(
            "envoy_cluster_upstream_rq_xx",
            "envoy_cluster_upstream_rq_xx",
            dict(E, envoy_cluster_name="local_app", envoy_response_code_class="2"),
            rate_to_counter(ok, step, rs, rng=rng),
        )
        mw.add(
            "envoy_cluster_upstream_rq_xx",
            "envoy_cluster_upstream_rq_xx",
            dict(E, envoy_cluster_name="local_app", envoy_response_code_class="5"),
            rate_to_counter(bad, step, rs, start=0),
        )
        nI = max(1, len([x for x in s.insts if ins_alive(st, x)]))
        for d in s.deps:
            D = st.dep[(s.name, d.b)]
            lab = dict(E, envoy_cluster_name=d.b, consul_destination_service=d.b)
            okd = comb(lambda r, f, rr: r * (1 - f) / nI, D["rps"], D["fail"], R)
            bd = comb(lambda r, f, rr: r * f / nI, D["rps"], D["fail"], R)
            mw.add(
                "envoy_cluster_upstream_rq_xx",
                "envoy_cluster_upstream_rq_xx",
                dict(lab, envoy_response_code_class="2"),
                rate_to_counter(okd, step, rs, rng=rng),
            )
            mw.add(
                "envoy_cluster_upstream_rq_xx",
                "envoy_cluster_upstream_rq_xx",
                dict(lab, envoy_response_code_class="5"),
                rate_to_counter(bd, step, rs, start=0),
            )
            to = [
                None if c is None or R[i] is None else D["rps"][i] * c.get("timeout", 0) / nI
                for i, c in enumerate(D["causes"])
            ]
            mw.add(
                "envoy_cluster_upstream_rq_timeout",
                "envoy_cluster_upstream_rq_timeout",
                lab,
                rate_to_counter(to, step, rs, start=0),
            )
            cf = [
                None
                if c is None or R[i] is None
                else D["rps"][i] * (c.get("refused", 0) + c.get("reset", 0)) / nI
                for i, c in enumerate(D["causes"])
            ]
            mw.add(
                "envoy_cluster_upstream_cx_connect_fail",
                "envoy_cluster_upstream_cx_connect_fail",
                lab,
                rate_to_counter(cf, step, rs, start=0),
            )
            if any(c and c.get("x509") for c in D["causes"]):
                se = [
                    None if c is None or R[i] is None else D["rps"][i] * c.get("x509", 0) / nI
                    for i, c in enumerate(D["causes"])
                ]
                mw.add(
                    "envoy_cluster_ssl_connection_error",
                    "envoy_cluster_ssl_connection_error",
                    lab,
                    rate_to_counter(se, step, rs, start=0),
                )
    q = (
        'histogram_quantile(0.99, sum by (le, local_cluster) (rate(envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="local_app",local_cluster="%s"}[1m])))'
        % s.name
    )
    mw.add(
        "envoy_inbound_rq_time_p99_ms", None, dict(local_cluster=s.name), st.svc[s.name]["p99"], q
    )
    # consul health
    for ins in s.insts:
        if ins_alive(st, ins):
            av = st.inst[ins.name]["avail"]
            er = st.inst[ins.name]["err"]
            passing = [
                None if a is None else (1 if a > 0.5 and (e or 0) < 0.5 else 0)
                for a, e in zip(av, er)
            ]
            mw.add(
                "consul_health_service_status",
                "consul_health_service_status",
                dict(
                    job="consul-exporter",
                    service_name=s.name,
                    service_id="_nomad-task-%s-group-%s-%s-http" % (ins.name, s.name, s.name),
                    node=ins.node,
                    check='service: "%s" check' % s.name,
                    status="passing",
                ),
                passing,
            )


def r_mimir(ctx, st, mw, s):
    rng, step, m = ctx["rng"], ctx["step"], ctx["m"]
    job = ("%s/%s" % (m.ns, s.name)) if ctx["mimir_nsjob"] else s.name
    L = dict(job=job, cluster=ctx["cluster"])
    R, E_ = st.svc[s.name]["rps"], st.svc[s.name]["err"]
    mw.add(
        "job_requests_rate5m",
        "job:request_total:rate5m",
        L,
        jit(rng, R, 0.01),
        "sum by (cluster, job) (rate(request_total[5m]))",
    )
    mw.add(
        "job_request_errors_ratio_rate5m",
        "job:request_errors:ratio_rate5m",
        L,
        [None if r is None else (float("nan") if r <= 0 else e) for r, e in zip(R, E_)],
        'sum by (cluster, job) (rate(request_total{status_code=~"5.."}[5m])) / sum by (cluster, job) (rate(request_total[5m]))',
    )
    mw.add(
        "job_request_latency_seconds_p99",
        "job:request_latency_seconds:p99",
        L,
        smul(st.svc[s.name]["p99"], 0.001),
        "histogram_quantile(0.99, sum by (le, cluster, job) (rate(request_duration_seconds_bucket[5m])))",
    )
    mw.add(
        "job_request_latency_seconds_p50",
        "job:request_latency_seconds:p50",
        L,
        smul(st.svc[s.name]["p50"], 0.001),
    )
    W = dict(cluster=ctx["cluster"], namespace=m.ns, workload=s.name, workload_type="deployment")
    cpu = [None] * len(st.times)
    mem = [None] * len(st.times)
    for ins in s.insts:
        if ins_alive(st, ins):
            for i, (c, mm) in enumerate(zip(st.inst[ins.name]["cpu"], st.inst[ins.name]["mem"])):
                if c is not None:
                    cpu[i] = (cpu[i] or 0) + c
                    mem[i] = (mem[i] or 0) + mm
    mw.add(
        "namespace_workload_cpu",
        "namespace_workload:container_cpu_usage_seconds_total:sum_rate",
        W,
        cpu,
    )
    mw.add(
        "namespace_workload_memory",
        "namespace_workload:container_memory_working_set_bytes:sum",
        W,
        mem,
    )
    for d in s.deps:
        D = st.dep[(s.name, d.b)]
        mw.add(
            "job_upstream_errors_ratio",
            "job_upstream:client_request_errors:ratio_rate5m",
            dict(L, upstream=d.b),
            D["fail"],
        )
        mw.add(
            "job_upstream_latency_seconds_avg",
            "job_upstream:client_request_duration_seconds:avg_rate5m",
            dict(L, upstream=d.b),
            smul(D["lat"], 0.001),
        )
        if d.pool:
            mw.add(
                "job_db_pool_utilization",
                "job:db_pool_in_use:ratio",
                dict(L, pool=d.b),
                [
                    None if a is None else round(min(1.0, (a + (p or 0)) / (z or d.pool)), 4)
                    for a, p, z in zip(D["pact"], D["ppend"], D["psize"])
                ],
            )


def r_dotnet(ctx, st, mw, s):
    rng, step, m = ctx["rng"], ctx["step"], ctx["m"]
    for ins in s.insts:
        if not ins_alive(st, ins):
            continue
        L = dict(job="dotnet-monitor", container=s.name, pod=ins.name, namespace=m.ns)
        if ctx["ver_label"]:
            L["service_version"] = ins.version
        rs = st.inst[ins.name]["restarts"]
        R = st.inst[ins.name]["rps"]
        mw.add(
            "systemruntime_cpu_usage_ratio",
            "systemruntime_cpu_usage_ratio",
            L,
            comb(
                lambda c, k: round(min(1.0, c / k), 4),
                st.inst[ins.name]["cpu"],
                st.inst[ins.name]["cores"],
            ),
        )
        mw.add(
            "systemruntime_working_set_bytes",
            "systemruntime_working_set_bytes",
            L,
            st.inst[ins.name]["mem"],
        )
        mw.add(
            "systemruntime_gc_heap_size_bytes",
            "systemruntime_gc_heap_size_bytes",
            L,
            smul(st.inst[ins.name]["mem"], 0.6),
        )
        mw.add(
            "systemruntime_threadpool_queue_length",
            "systemruntime_threadpool_queue_length",
            L,
            [None if q is None else int(round(q)) for q in st.inst[ins.name]["queue"]],
        )
        mw.add(
            "microsoftaspnetcorehosting_current_requests",
            "microsoftaspnetcorehosting_current_requests",
            L,
            [None if b is None else int(round(b)) for b in st.inst[ins.name]["busy"]],
        )
        cr = codes_rates(st, s, ins)
        route = s.route.split(" ")[1]
        for c, arr in cr.items():
            if c != "200" and max([x or 0 for x in arr]) <= 0:
                continue
            lab = dict(
                L,
                http_route=route,
                http_request_method=s.route.split(" ")[0],
                http_response_status_code=c,
            )
            mw.add(
                "http_server_request_duration_seconds_count",
                "http_server_request_duration_seconds_count",
                lab,
                rate_to_counter(arr, step, rs, rng=rng),
            )
            mw.add(
                "http_server_request_duration_seconds_sum",
                "http_server_request_duration_seconds_sum",
                lab,
                rate_to_counter(
                    comb(lambda a, l: a * l / 1000.0, arr, st.inst[ins.name]["lat"]),
                    step,
                    rs,
                    rng=rng,
                ),
            )
        nI = max(1, len([x for x in s.insts if ins_alive(st, x)]))
        for d in s.deps:
            D = st.dep[(s.name, d.b)]
            if m.svcs[d.b].role not in ("app", "third"):
                continue
            okd = comb(lambda r, f, rr: r * (1 - f) / nI, D["rps"], D["fail"], R)
            mw.add(
                "http_client_request_duration_seconds_count",
                "http_client_request_duration_seconds_count",
                dict(L, server_address=host_of(ctx, d.b), http_response_status_code="200"),
                rate_to_counter(okd, step, rs, rng=rng),
            )
            bd = comb(lambda r, f, rr: r * f / nI, D["rps"], D["fail"], R)
            if max([x or 0 for x in bd]) > 0:
                mw.add(
                    "http_client_request_duration_seconds_count",
                    "http_client_request_duration_seconds_count",
                    dict(
                        L,
                        server_address=host_of(ctx, d.b),
                        error_type="System.Net.Http.HttpRequestException",
                    ),
                    rate_to_counter(bd, step, rs, start=0),
                )


def r_phpfpm(ctx, st, mw, s):
    rng, step, m = ctx["rng"], ctx["step"], ctx["m"]
    for ins in s.insts:
        if not ins_alive(st, ins):
            continue
        L = dict(
            job="kubernetes-service-endpoints",
            kubernetes_name=s.name,
            kubernetes_namespace=m.ns,
            kubernetes_pod_name=ins.name,
            pool="www",
            scrape_uri="tcp://127.0.0.1:9000/status",
            instance="%s:9253" % ins.ip,
        )
        rs = st.inst[ins.name]["restarts"]
        W = st.inst[ins.name]["workers"]
        busy = st.inst[ins.name]["busy"]
        mw.add(
            "phpfpm_active_processes",
            "phpfpm_active_processes",
            L,
            [None if b is None else int(min(w, round(b + rng.random()))) for b, w in zip(busy, W)],
        )
        mw.add(
            "phpfpm_idle_processes",
            "phpfpm_idle_processes",
            L,
            [None if b is None else int(max(0, round(w - b))) for b, w in zip(busy, W)],
        )
        mw.add(
            "phpfpm_total_processes",
            "phpfpm_total_processes",
            L,
            [None if w is None else int(round(s.workers)) for w in W],
        )
        mw.add(
            "phpfpm_listen_queue",
            "phpfpm_listen_queue",
            L,
            [None if q is None else int(min(511, round(q))) for q in st.inst[ins.name]["queue"]],
        )
        mw.add(
            "phpfpm_accepted_connections",
            "phpfpm_accepted_connections",
            L,
            rate_to_counter(st.inst[ins.name]["rps"], step, rs, rng=rng),
        )
        mcr = comb(lambda b, w: 1.0 / step if b >= w * 0.98 else 0.0, busy, W)
        mw.add(
            "phpfpm_max_children_reached",
            "phpfpm_max_children_reached",
            L,
            rate_to_counter(mcr, step, rs, start=0),
        )
        slow = comb(
            lambda l, r: r * 0.5 if l > 1000 else r * 0.0005,
            st.inst[ins.name]["lat"],
            st.inst[ins.name]["rps"],
        )
        mw.add(
            "phpfpm_slow_requests",
            "phpfpm_slow_requests",
            L,
            rate_to_counter(slow, step, rs, start=0),
        )
    # nginx in front of php-fpm (sidecar) with VTS
    R, E_ = st.svc[s.name]["rps"], st.svc[s.name]["err"]
    NL = dict(
        job="kubernetes-service-endpoints",
        kubernetes_name=s.name,
        kubernetes_namespace=m.ns,
        host="_",
    )
    for code, f in (("2xx", lambda r, e: r * (1 - e)), ("5xx", lambda r, e: r * e)):
        mw.add(
            "nginx_vts_server_requests_total",
            "nginx_vts_server_requests_total",
            dict(NL, code=code),
            rate_to_counter(comb(f, R, E_), step, None, rng=rng),
        )
    mw.add(
        "nginx_vts_upstream_response_seconds",
        "nginx_vts_upstream_response_seconds",
        dict(NL, upstream="php-fpm", backend="127.0.0.1:9000"),
        smul(st.svc[s.name]["lat"], 0.001),
    )


RENDER_APP = {
    "micrometer": r_micrometer,
    "promhttp": r_promhttp,
    "pyclient": r_pyclient,
    "statsd": r_statsd,
    "elastic": r_elastic,
    "nomad": r_nomad,
    "mimir": r_mimir,
    "dotnet": r_dotnet,
    "phpfpm": r_phpfpm,
}


# ---- edge proxies


def render_edge(ctx, st, mw, s):
    rng, step, m = ctx["rng"], ctx["step"], ctx["m"]
    tech = s.tech
    job = ctx["edge_job"]
    R = st.svc[s.name]["rps"]
    if tech == "haproxy":
        mw.add(
            "haproxy_frontend_http_requests_total",
            "haproxy_frontend_http_requests_total",
            dict(job=job, instance="%s:8405" % s.insts[0].ip, proxy="fe_https"),
            rate_to_counter(R, step, None, rng=rng),
        )
        for d in s.deps:
            D = st.dep[(s.name, d.b)]
            pr = "be_%s" % d.b.replace("-", "_")
            L = dict(job=job, instance="%s:8405" % s.insts[0].ip, proxy=pr)
            c5 = comb(lambda r, f: r * f, D["rps"], D["fail"])
            c2 = comb(lambda r, f: r * (1 - f), D["rps"], D["fail"])
            mw.add(
                "haproxy_backend_http_responses_total",
                "haproxy_backend_http_responses_total",
                dict(L, code="2xx"),
                rate_to_counter(c2, step, None, rng=rng),
            )
            mw.add(
                "haproxy_backend_http_responses_total",
                "haproxy_backend_http_responses_total",
                dict(L, code="5xx"),
                rate_to_counter(c5, step, None, rng=rng),
            )
            mw.add(
                "haproxy_backend_response_time_average_seconds",
                "haproxy_backend_response_time_average_seconds",
                L,
                smul(D["lat"], 0.001),
            )
            q = [
                None if l is None else int(max(0, r * l / 1000.0 - 200))
                for r, l in zip(D["rps"], D["lat"])
            ]
            mw.add("haproxy_backend_current_queue", "haproxy_backend_current_queue", L, q)
            up = [
                sum(
                    1
                    for x in m.svcs[d.b].insts
                    if x.name in st.inst and (st.inst[x.name]["avail"][i] or 0) > 0.5
                )
                for i in range(len(R))
            ]
            mw.add("haproxy_backend_active_servers", "haproxy_backend_active_servers", L, up)
    elif tech == "nginx":
        for code, f in (
            ("2xx", lambda r, e: r * (1 - e) * 0.97),
            ("3xx", lambda r, e: r * (1 - e) * 0.03),
            ("5xx", lambda r, e: r * e),
        ):
            mw.add(
                "nginx_vts_server_requests_total",
                "nginx_vts_server_requests_total",
                dict(job=job, host=m.dom["host"], code=code),
                rate_to_counter(comb(f, R, st.svc[s.name]["err"]), step, None, rng=rng),
            )
        for d in s.deps:
            D = st.dep[(s.name, d.b)]
            for ins in m.svcs[d.b].insts[:3]:
                L = dict(job=job, upstream=d.b, backend="%s:%d" % (ins.ip, m.svcs[d.b].port))
                mw.add(
                    "nginx_vts_upstream_requests_total",
                    "nginx_vts_upstream_requests_total",
                    dict(L, code="5xx"),
                    rate_to_counter(
                        comb(lambda r, f: r * f / 3, D["rps"], D["fail"]), step, None, rng=rng
                    ),
                )
                mw.add(
                    "nginx_vts_upstream_requests_total",
                    "nginx_vts_upstream_requests_total",
                    dict(L, code="2xx"),
                    rate_to_counter(
                        comb(lambda r, f: r * (1 - f) / 3, D["rps"], D["fail"]), step, None, rng=rng
                    ),
                )
                mw.add(
                    "nginx_vts_upstream_response_seconds",
                    "nginx_vts_upstream_response_seconds",
                    L,
                    jit(rng, smul(D["lat"], 0.001), 0.05),
                )
    elif tech == "caddy":
        for code_cls, f in (
            ("200", lambda r, e: r * (1 - e)),
            ("502", lambda r, e: r * e * 0.5),
            ("504", lambda r, e: r * e * 0.5),
        ):
            mw.add(
                "caddy_http_request_duration_seconds_count",
                "caddy_http_request_duration_seconds_count",
                dict(job=job, server="srv0", handler="reverse_proxy", code=code_cls, method="GET"),
                rate_to_counter(comb(f, R, st.svc[s.name]["err"]), step, None, rng=rng),
            )
        q = (
            'histogram_quantile(0.99, sum by (le) (rate(caddy_http_request_duration_seconds_bucket{job="%s",handler="reverse_proxy"}[5m])))'
            % job
        )
        mw.add(
            "caddy_request_p99_seconds", None, dict(job=job), smul(st.svc[s.name]["p99"], 0.001), q
        )
        for d in s.deps:
            up = [1 if (f or 0) < 0.5 else 0 for f in st.dep[(s.name, d.b)]["fail"]]
            mw.add(
                "caddy_reverse_proxy_upstreams_healthy",
                "caddy_reverse_proxy_upstreams_healthy",
                dict(job=job, upstream="%s:%d" % (host_of(ctx, d.b), m.svcs[d.b].port)),
                up,
            )
    elif tech == "varnish":
        L = dict(job=job, instance="%s:9131" % s.insts[0].ip)
        hit = rng.uniform(0.3, 0.7)
        mw.add(
            "varnish_main_client_req",
            "varnish_main_client_req",
            L,
            rate_to_counter(comb(lambda r: r / (1 - hit), R), step, None, rng=rng),
        )
        mw.add(
            "varnish_main_cache_hit",
            "varnish_main_cache_hit",
            L,
            rate_to_counter(comb(lambda r: r * hit / (1 - hit), R), step, None, rng=rng),
        )
        mw.add(
            "varnish_main_cache_miss",
            "varnish_main_cache_miss",
            L,
            rate_to_counter(R, step, None, rng=rng),
        )
        for d in s.deps:
            D = st.dep[(s.name, d.b)]
            bl = dict(L, backend=d.b.replace("-", "_"), server="boot.%s" % d.b.replace("-", "_"))
            mw.add(
                "varnish_backend_req",
                "varnish_backend_req",
                bl,
                rate_to_counter(D["rps"], step, None, rng=rng),
            )
            mw.add(
                "varnish_backend_fail",
                "varnish_backend_fail",
                bl,
                rate_to_counter(comb(lambda r, f: r * f, D["rps"], D["fail"]), step, None, start=0),
            )
        mw.add(
            "varnish_main_sess_dropped",
            "varnish_main_sess_dropped",
            L,
            rate_to_counter([0.0] * len(R), step, None, start=rng.randint(0, 40)),
        )
    else:  # envoy edge
        for d in s.deps:
            D = st.dep[(s.name, d.b)]
            L = dict(job=job, envoy_cluster_name=d.b)
            mw.add(
                "envoy_cluster_upstream_rq_xx",
                "envoy_cluster_upstream_rq_xx",
                dict(L, envoy_response_code_class="2"),
                rate_to_counter(
                    comb(lambda r, f: r * (1 - f), D["rps"], D["fail"]), step, None, rng=rng
                ),
            )
            mw.add(
                "envoy_cluster_upstream_rq_xx",
                "envoy_cluster_upstream_rq_xx",
                dict(L, envoy_response_code_class="5"),
                rate_to_counter(comb(lambda r, f: r * f, D["rps"], D["fail"]), step, None, rng=rng),
            )
            mw.add(
                "envoy_cluster_upstream_rq_time_p99",
                None,
                L,
                smul(D["lat"], 2.8),
                'histogram_quantile(0.99, sum by (le, envoy_cluster_name) (rate(envoy_cluster_upstream_rq_time_bucket{job="%s"}[1m])))'
                % job,
            )


# ---- stores


def render_store(ctx, st, mw, s):
    rng, step, m = ctx["rng"], ctx["step"], ctx["m"]
    job = s.name if ctx["store_job_is_name"] else "%s-exporter" % s.tech
    down = [(f is not None and f >= 0.999) for f in st.svc[s.name]["err"]]
    refuse_down = ctx.get("store_down") == s.name
    R = st.svc[s.name]["rps"]
    up = [
        0
        if (
            refuse_down
            and st.svc[s.name]["causes"][i] is not None
            and ctx["E"].get("refuse", s.name, st.times[i]) > 0.5
        )
        else 1
        for i in range(len(R))
    ]
    ins = s.insts[0]
    cpu = st.inst.get(ins.name, {}).get("cpu") or [None] * len(R)
    conns = st.conn[s.name]
    if s.tech == "postgres":
        L = dict(job=job, instance="%s:9187" % ins.ip, server="%s:5432" % s.name)
        if not ctx["store_job_is_name"]:
            L["service"] = s.name
        mw.add("pg_up", "pg_up", L, up)
        act = [None if u == 0 else int(round(min(c, s.max_conn))) for c, u in zip(conns, up)]
        busy = st.inst.get(ins.name, {}).get("busy") or [0] * len(R)
        mw.add(
            "pg_stat_activity_count",
            "pg_stat_activity_count",
            dict(L, datname=s.name.replace("-", "_"), state="active"),
            [
                None if a is None else int(min(a, round((b or 0) + rng.random() * 2)))
                for a, b in zip(act, busy)
            ],
        )
        mw.add(
            "pg_stat_activity_count",
            "pg_stat_activity_count",
            dict(L, datname=s.name.replace("-", "_"), state="idle"),
            [None if a is None else max(0, a - int(round(b or 0))) for a, b in zip(act, busy)],
        )
        mw.add(
            "pg_settings_max_connections",
            "pg_settings_max_connections",
            L,
            [s.max_conn if u else None for u in up],
        )
        mw.add(
            "pg_stat_database_xact_commit",
            "pg_stat_database_xact_commit",
            dict(L, datname=s.name.replace("-", "_")),
            rate_to_counter([r if u else None for r, u in zip(R, up)], step, None, rng=rng),
        )
        mw.add(
            "pg_stat_database_deadlocks",
            "pg_stat_database_deadlocks",
            dict(L, datname=s.name.replace("-", "_")),
            [rng.randint(0, 1) * 0 + 3 if u else None for u in up],
        )
    elif s.tech == "mysql":
        L = dict(job=job, instance="%s:9104" % ins.ip)
        if not ctx["store_job_is_name"]:
            L["service"] = s.name
        mw.add("mysql_up", "mysql_up", L, up)
        mw.add(
            "mysql_global_status_threads_connected",
            "mysql_global_status_threads_connected",
            L,
            [None if u == 0 else int(round(min(c, s.max_conn))) for c, u in zip(conns, up)],
        )
        busy = st.inst.get(ins.name, {}).get("busy") or [0] * len(R)
        mw.add(
            "mysql_global_status_threads_running",
            "mysql_global_status_threads_running",
            L,
            [None if u == 0 else int(round((b or 0) + 1 + rng.random())) for b, u in zip(busy, up)],
        )
        mw.add(
            "mysql_global_variables_max_connections",
            "mysql_global_variables_max_connections",
            L,
            [s.max_conn if u else None for u in up],
        )
        over = [None if u == 0 else max(0.0, c - s.max_conn) * 0.5 for c, u in zip(conns, up)]
        mw.add(
            "mysql_global_status_connection_errors_total",
            "mysql_global_status_connection_errors_total",
            dict(L, error="max_connections"),
            rate_to_counter(over, step, None, start=0),
        )
        mw.add(
            "mysql_global_status_questions",
            "mysql_global_status_questions",
            L,
            rate_to_counter([r if u else None for r, u in zip(R, up)], step, None, rng=rng),
        )
    elif s.tech == "mongodb":
        for k, ins in enumerate(s.insts):
            L = dict(job=job, instance="%s:9216" % ins.ip, rs_nm="rs0")
            if not ctx["store_job_is_name"]:
                L["service"] = s.name
            mw.add("mongodb_up", "mongodb_up", L, up)
            nop = ctx.get("truth", {}).get("service") == s.name and any(
                "no_primary" in (c or {}) for c in st.svc[s.name]["causes"]
            )
            state = [
                (2 if (k > 0 or (nop and c and "no_primary" in c)) else 1)
                for c in st.svc[s.name]["causes"]
            ]
            mw.add("mongodb_rs_myState", "mongodb_rs_myState", L, state)
            mw.add(
                "mongodb_ss_connections",
                "mongodb_ss_connections",
                dict(L, conn_type="current"),
                [int(c / len(s.insts)) for c in conns],
            )
            mw.add(
                "mongodb_ss_opcounters",
                "mongodb_ss_opcounters",
                dict(L, legacy_op_type="query"),
                rate_to_counter(smul(R, 1.0 / len(s.insts)), step, None, rng=rng),
            )
    elif s.tech == "redis":
        L = dict(job=job, instance="%s:9121" % ins.ip)
        if not ctx["store_job_is_name"]:
            L["service"] = s.name
        mw.add("redis_up", "redis_up", L, up)
        hits = [None] * len(R)
        for d in m.deps():
            if d.b == s.name:
                pass
        hitr = [st.cache_hit.get(m.cache_pair[0], [None])[i] for i in range(len(R))]
        mw.add(
            "redis_keyspace_hits_total",
            "redis_keyspace_hits_total",
            L,
            rate_to_counter(
                [
                    None if u == 0 else r * (h if h is not None else 0.9)
                    for r, h, u in zip(R, hitr, up)
                ],
                step,
                None,
                rng=rng,
            ),
        )
        mw.add(
            "redis_keyspace_misses_total",
            "redis_keyspace_misses_total",
            L,
            rate_to_counter(
                [
                    None if u == 0 else r * (1 - (h if h is not None else 0.9))
                    for r, h, u in zip(R, hitr, up)
                ],
                step,
                None,
                rng=rng,
            ),
        )
        mw.add(
            "redis_connected_clients",
            "redis_connected_clients",
            L,
            [None if u == 0 else rng.randint(38, 44) for u in up],
        )
        mw.add(
            "redis_memory_used_bytes",
            "redis_memory_used_bytes",
            L,
            [None if u == 0 else 1.8e9 + rng.uniform(-2e7, 2e7) for u in up],
        )
    elif s.tech == "memcached":
        L = dict(job=job, instance="%s:9150" % ins.ip)
        if not ctx["store_job_is_name"]:
            L["service"] = s.name
        mw.add("memcached_up", "memcached_up", L, up)
        hitr = [st.cache_hit.get(m.cache_pair[0], [None])[i] for i in range(len(R))]
        mw.add(
            "memcached_commands_total",
            "memcached_commands_total",
            dict(L, command="get", status="hit"),
            rate_to_counter(
                [
                    None if u == 0 else r * (h if h is not None else 0.9)
                    for r, h, u in zip(R, hitr, up)
                ],
                step,
                None,
                rng=rng,
            ),
        )
        mw.add(
            "memcached_commands_total",
            "memcached_commands_total",
            dict(L, command="get", status="miss"),
            rate_to_counter(
                [
                    None if u == 0 else r * (1 - (h if h is not None else 0.9))
                    for r, h, u in zip(R, hitr, up)
                ],
                step,
                None,
                rng=rng,
            ),
        )
        mw.add(
            "memcached_current_connections",
            "memcached_current_connections",
            L,
            [None if u == 0 else rng.randint(20, 24) for u in up],
        )
        mw.add(
            "memcached_items_evicted_total",
            "memcached_items_evicted_total",
            L,
            rate_to_counter(
                [None if u == 0 else rng.uniform(0, 2) for u in up], step, None, rng=rng
            ),
        )
    elif s.tech == "rabbitmq":
        L = dict(job=job, instance="%s:15692" % ins.ip, vhost="/", queue=s.name)
        if not ctx["store_job_is_name"]:
            L["service"] = s.name
        ready = []
        backlog = 0.0
        for i, r in enumerate(R):
            backlog = max(0.0, backlog + (r or 0) * step * rng.uniform(-0.02, 0.021))
            ready.append(int(backlog) if rng.random() > 0.3 else rng.randint(0, 3))
        mw.add("rabbitmq_queue_messages_ready", "rabbitmq_queue_messages_ready", L, ready)
        mw.add(
            "rabbitmq_queue_consumers",
            "rabbitmq_queue_consumers",
            L,
            [rng.choice([1, 2, 2, 2]) for _ in R],
        )
    # host CPU of the store
    if s.role == "store":
        mw.add(
            "instance_node_cpu_utilisation",
            "instance:node_cpu_utilisation:rate5m",
            dict(job="node-exporter", instance="%s.db.internal:9100" % s.name),
            [None if c is None else round(min(1.0, c / s.cores + 0.03), 4) for c in cpu],
            "instance:node_cpu_utilisation:rate5m",
        )


def render_probe(ctx, st, mw, s):
    rng = ctx["rng"]
    url = THIRDPARTY_URL.get(s.name, "https://%s.example.com/" % s.name)
    base = url.split("/")[0] + "//" + url.split("/")[2] + "/"
    L = dict(job="blackbox-external", instance=base, module="http_2xx")
    if ctx.get("probe_service_label"):
        L["service"] = s.name
    E_ = st.svc[s.name]["err"]
    lat = st.svc[s.name]["lat"]
    tls = ctx.get("cert", {}).get("svc") == s.name
    ok = []
    for i, e in enumerate(E_):
        if tls and st.times[i] >= ctx["cert"]["not_after"]:
            ok.append(0)
        else:
            ok.append(0 if (e or 0) > rng.random() else 1)
    mw.add("probe_success", "probe_success", L, ok)
    if tls:
        mw.add(
            "probe_ssl_earliest_cert_expiry",
            "probe_ssl_earliest_cert_expiry",
            L,
            [ctx["cert"]["not_after"] if t < ctx["cert"]["not_after"] else None for t in st.times],
        )
    elif rng.random() < 0.5:
        na = st.times[0] + rng.randint(20, 300) * 86400
        mw.add(
            "probe_ssl_earliest_cert_expiry",
            "probe_ssl_earliest_cert_expiry",
            L,
            [na for _ in st.times],
        )
    mw.add(
        "probe_duration_seconds",
        "probe_duration_seconds",
        L,
        [None if l is None else round(l / 1000.0 + 0.05, 4) for l in lat],
    )
    mw.add(
        "probe_http_status_code",
        "probe_http_status_code",
        L,
        [0 if o == 0 and tls else (503 if o == 0 else 200) for o in ok],
    )


def render_infra(ctx, st, mw, s):
    rng, step, m = ctx["rng"], ctx["step"], ctx["m"]
    if ctx["style"] == "nomad":
        for ins in s.insts:
            if ins_alive(st, ins):
                rs = st.inst[ins.name]["restarts"]
                mw.add(
                    "nomad_client_allocs_restarts",
                    "nomad_client_allocs_restarts",
                    dict(
                        job="nomad-clients",
                        exported_job=s.name,
                        task_group=s.name,
                        task=s.name,
                        alloc_id=ins.name,
                        host=ins.node,
                    ),
                    rs,
                )
        if ctx.get("disk_svc") == s.name:
            for nd in sorted({i.node for i in s.insts}):
                mw.add(
                    "node_filesystem_avail_bytes",
                    "node_filesystem_avail_bytes",
                    dict(
                        job="node",
                        instance=nd,
                        mountpoint="/var/log",
                        device="/dev/nvme1n1",
                        fstype="xfs",
                    ),
                    [None if u is None else round((1 - u) * 50e9) for u in st.disk[s.name]],
                )
        return
    kl = ctx["kube_svc_label"]
    for ins in s.insts:
        if not ins_alive(st, ins):
            continue
        base = dict(namespace=m.ns, pod=ins.name, container=s.name)
        if kl:
            base[kl] = s.name
        rs = st.inst[ins.name]["restarts"]
        mw.add(
            "kube_pod_container_status_restarts_total",
            "kube_pod_container_status_restarts_total",
            dict(base, job="kube-state-metrics"),
            rs,
        )
        if ctx["mimir_nsjob"] is None or ctx["style"] != "mimir":
            mw.add(
                "container_memory_working_set_bytes",
                "container_memory_working_set_bytes",
                dict(base, job="kubelet", node=ins.node, metrics_path="/metrics/cadvisor"),
                st.inst[ins.name]["mem"],
            )
        per = comb(lambda a: 10.0 * a, st.inst[ins.name]["avail"])
        thr = comb(lambda a, t: 10.0 * a * t, st.inst[ins.name]["avail"], st.inst[ins.name]["thr"])
        if ctx["throttle_rated"]:
            mw.add(
                "container_cpu_throttled_ratio",
                None,
                dict(namespace=m.ns, pod=ins.name, container=s.name),
                comb(lambda t: round(t, 4), st.inst[ins.name]["thr"]),
                "sum by (namespace,pod,container) (rate(container_cpu_cfs_throttled_periods_total[5m])) / sum by (namespace,pod,container) (rate(container_cpu_cfs_periods_total[5m]))",
            )
        else:
            mw.add(
                "container_cpu_cfs_periods_total",
                "container_cpu_cfs_periods_total",
                dict(base, job="kubelet"),
                rate_to_counter(per, step, None, rng=rng),
            )
            mw.add(
                "container_cpu_cfs_throttled_periods_total",
                "container_cpu_cfs_throttled_periods_total",
                dict(base, job="kubelet"),
                rate_to_counter(thr, step, None, start=rng.uniform(0, 500)),
            )
        mw.add(
            "kube_pod_container_resource_limits",
            "kube_pod_container_resource_limits",
            dict(base, job="kube-state-metrics", resource="memory", unit="byte"),
            [None if x is None else s.mem_limit for x in st.inst[ins.name]["mem"]],
        )
        if ctx.get("crash", {}).get("svc") == s.name:
            term = [None if r is None else (1 if r > 0 else None) for r in rs]
            mw.add(
                "kube_pod_container_status_last_terminated_reason",
                "kube_pod_container_status_last_terminated_reason",
                dict(base, job="kube-state-metrics", reason=ctx["crash"]["reason"]),
                term,
            )
            wr = [None if a is None else (1 if a < 0.5 else 0) for a in st.inst[ins.name]["avail"]]
            mw.add(
                "kube_pod_container_status_waiting_reason",
                "kube_pod_container_status_waiting_reason",
                dict(base, job="kube-state-metrics", reason="CrashLoopBackOff"),
                wr,
            )
    if ctx.get("disk_svc") == s.name:
        for k, ins in enumerate([x for x in s.insts if ins_alive(st, x)][:4]):
            mw.add(
                "kubelet_volume_stats_available_bytes",
                "kubelet_volume_stats_available_bytes",
                dict(
                    job="kubelet",
                    namespace=m.ns,
                    persistentvolumeclaim="applogs-%s-%d" % (s.name, k),
                ),
                [
                    None if u is None else round((1 - min(1.0, u * (1 + 0.004 * k))) * 20e9)
                    for u in st.disk[s.name]
                ],
            )
            mw.add(
                "kubelet_volume_stats_capacity_bytes",
                "kubelet_volume_stats_capacity_bytes",
                dict(
                    job="kubelet",
                    namespace=m.ns,
                    persistentvolumeclaim="applogs-%s-%d" % (s.name, k),
                ),
                [20e9 if u is not None else None for u in st.disk[s.name]],
            )
    # replicas available
    avail = []
    for i in range(len(st.times)):
        avail.append(
            sum(
                1
                for ins in s.insts
                if ins.name in st.inst and (st.inst[ins.name]["avail"][i] or 0) > 0.5
            )
        )
    mw.add(
        "kube_deployment_status_replicas_available",
        "kube_deployment_status_replicas_available",
        dict(job="kube-state-metrics", namespace=m.ns, deployment=s.name),
        avail,
    )


def render_nodes(ctx, st, mw):
    m, rng = ctx["m"], ctx["rng"]
    for nd in m.nodes:
        if ctx["node_raw"]:
            mw.add(
                "node_load1",
                "node_load1",
                dict(job="node-exporter", instance=nd),
                [round(c * 16 * rng.uniform(0.9, 1.1), 2) for c in st.node_cpu[nd]],
            )
        mw.add(
            "node_cpu_utilisation",
            "instance:node_cpu_utilisation:rate5m",
            dict(job="node-exporter", instance=nd),
            [round(c, 4) for c in st.node_cpu[nd]],
            "instance:node_cpu_utilisation:rate5m",
        )
    if ctx.get("bad_node") or rng.random() < 0.3:
        nd = ctx.get("bad_node")
        for node in m.nodes:
            base = rng.uniform(0.5, 3)
            vals = []
            for i, t in enumerate(st.times):
                loss = ctx["E"].get("net_loss", ctx["loss_svc"], t) if (nd and node == nd) else 0.0
                vals.append(base + loss * 4000 * rng.uniform(0.8, 1.2) + rng.uniform(0, 1))
            mw.add(
                "node_netstat_Tcp_RetransSegs",
                "node_netstat_Tcp_RetransSegs",
                dict(job="node-exporter", instance=node),
                rate_to_counter(vals, ctx["step"], None, rng=rng),
            )


def render_coredns(ctx, st, mw):
    rng, E = ctx["rng"], ctx["E"]
    total = [
        sum((st.svc[s]["rps"][i] or 0) for s in ctx["m"].svcs) * 0.05 + 40
        for i in range(len(st.times))
    ]
    for k in range(2):
        L = dict(
            job="kube-dns",
            instance="10.96.%d.%d:9153" % (rng.randint(0, 3), rng.randint(2, 250)),
            server="dns://:53",
            zone=".",
        )
        fail = [E.get("dns", "*", t) for t in st.times]
        mw.add(
            "coredns_dns_responses_total",
            "coredns_dns_responses_total",
            dict(L, rcode="NOERROR"),
            rate_to_counter(
                comb(lambda a, f: a * (1 - f) / 2, total, fail), ctx["step"], None, rng=rng
            ),
        )
        mw.add(
            "coredns_dns_responses_total",
            "coredns_dns_responses_total",
            dict(L, rcode="NXDOMAIN"),
            rate_to_counter([a * 0.3 / 2 for a in total], ctx["step"], None, rng=rng),
        )
        mw.add(
            "coredns_dns_responses_total",
            "coredns_dns_responses_total",
            dict(L, rcode="SERVFAIL"),
            rate_to_counter(
                comb(lambda a, f: a * (f + 0.0005) / 2, total, fail), ctx["step"], None, rng=rng
            ),
        )
        mw.add(
            "coredns_forward_healthcheck_failures_total",
            "coredns_forward_healthcheck_failures_total",
            dict(L, to="10.0.0.2:53"),
            rate_to_counter([f * 2 for f in fail], ctx["step"], None, start=0),
        )


def render_cert(ctx, st, mw):
    c = ctx["cert"]
    s = ctx["m"].svcs[c["svc"]]
    if s.role == "third":
        return  # probe already rendered
    tgt = (
        ("https://%s/" % ctx["m"].dom["host"])
        if s.role == "edge"
        else ("%s:%d" % (host_of(ctx, s.name), s.port if s.role != "app" else 8443))
    )
    L = dict(job="blackbox-tls", instance=tgt, module="tcp_tls" if s.role != "edge" else "http_2xx")
    mw.add(
        "probe_ssl_earliest_cert_expiry",
        "probe_ssl_earliest_cert_expiry",
        L,
        [c["not_after"] if t < c["not_after"] else None for t in st.times],
    )
    mw.add("probe_success", "probe_success", L, [1 if t < c["not_after"] else 0 for t in st.times])
    # other certs, healthy, for contrast
    for other in list(ctx["m"].svcs.values())[:3]:
        if other.name != s.name and other.role in ("app", "edge"):
            L2 = dict(
                job="blackbox-tls", instance="%s:8443" % host_of(ctx, other.name), module="tcp_tls"
            )
            na = c["not_after"] + ctx["rng"].randint(20, 80) * 86400
            mw.add(
                "probe_ssl_earliest_cert_expiry",
                "probe_ssl_earliest_cert_expiry",
                L2,
                [na for _ in st.times],
            )
            mw.add("probe_success", "probe_success", L2, [1 for _ in st.times])


def render_cert_decoy(ctx, st, mw):
    rng, m = ctx["rng"], ctx["m"]
    for other in rng.sample(list(m.svcs.values()), min(4, len(m.svcs))):
        if other.role in ("app", "edge", "store"):
            inst = (
                ("https://%s/" % m.dom["host"])
                if other.role == "edge"
                else "%s:%d"
                % (host_of(ctx, other.name), other.port if other.role != "app" else 8443)
            )
            L2 = dict(
                job="blackbox-tls",
                instance=inst,
                module="tcp_tls" if other.role != "edge" else "http_2xx",
            )
            na = st.times[0] + rng.randint(9, 85) * 86400 + rng.randint(0, 86400)
            mw.add(
                "probe_ssl_earliest_cert_expiry",
                "probe_ssl_earliest_cert_expiry",
                L2,
                [na for _ in st.times],
            )
            mw.add(
                "probe_success",
                "probe_success",
                L2,
                [1 if rng.random() > 0.003 else 0 for _ in st.times],
            )


def render_disk_decoy(ctx, st, mw):
    rng, m = ctx["rng"], ctx["m"]
    apps = [s for s in m.svcs.values() if s.role == "app"]
    s = rng.choice(apps)
    used = rng.uniform(0.3, 0.7)
    vals = []
    for i in range(len(st.times)):
        used = min(0.97, used + rng.uniform(-0.0004, 0.0006))
        vals.append(used)
    if ctx["style"] == "nomad":
        mw.add(
            "node_filesystem_avail_bytes",
            "node_filesystem_avail_bytes",
            dict(
                job="node",
                instance=s.insts[0].node,
                mountpoint="/var/log",
                device="/dev/nvme1n1",
                fstype="xfs",
            ),
            [round((1 - u) * 50e9) for u in vals],
        )
    else:
        mw.add(
            "kubelet_volume_stats_available_bytes",
            "kubelet_volume_stats_available_bytes",
            dict(job="kubelet", namespace=m.ns, persistentvolumeclaim="applogs-%s-0" % s.name),
            [round((1 - u) * 20e9) for u in vals],
        )
        mw.add(
            "kubelet_volume_stats_capacity_bytes",
            "kubelet_volume_stats_capacity_bytes",
            dict(job="kubelet", namespace=m.ns, persistentvolumeclaim="applogs-%s-0" % s.name),
            [20e9 for u in vals],
        )


# ----------------------------------------------------------------------------- alerts


def series_for(st, svc, signal):
    if signal == "err":
        return st.svc[svc]["err"]
    if signal == "lat":
        return st.svc[svc]["p99"]
    return st.svc[svc]["rps"]


def fire_time(st, svc, signal, onset, step, rng, frac=None):
    ser = [x if x is not None else 0.0 for x in series_for(st, svc, signal)]
    n = len(ser)
    oi = max(1, int((onset - st.times[0]) / step))
    pre = sorted(ser[: max(3, int(oi * 0.8))])
    base = pre[len(pre) // 2]
    early = ser[oi : oi + max(3, int(1200 / step))]
    post = (
        early
        if (early and signal != "rps_drop" and max(early) > base * 1.5)
        else (ser[oi:] or [base])
    )
    if signal == "rps_drop":
        peak = min(post)
        if base - peak < 0.2 * base:
            return None
        thr = base - 0.5 * (base - peak)
        cond = [x <= thr for x in ser]
    else:
        peak = max(post)
        if signal == "err" and (peak - base < 0.01 or peak < 2.5 * base):
            return None
        if signal == "lat" and peak < 1.6 * base:
            return None
        f = frac if frac is not None else rng.uniform(0.3, 0.6)
        thr = base + f * (peak - base)
        cond = [x >= thr for x in ser]
    for_s = rng.choice([60, 120, 300, 300, 600])
    k = max(1, int(math.ceil(for_s / step)))
    for i in range(oi - 2 if oi > 2 else 0, n - k + 1):
        if all(cond[i : i + k]):
            t = st.times[i + k - 1] + rng.randint(3, 29)
            return dict(
                t=t, thr=thr, base=base, peak=peak, for_s=for_s if k > 1 else step, signal=signal
            )
    return None


ALERTNAMES = {
    "err": [
        "HighErrorRate",
        "HTTP5xxRatioHigh",
        "SLOErrorBudgetBurn",
        "ErrorRatioTooHigh",
        "APIErrorsElevated",
    ],
    "lat": [
        "HighLatencyP99",
        "LatencySLOBurn",
        "SlowResponses",
        "P99LatencyAboveThreshold",
        "APILatencyHigh",
    ],
    "rps_drop": ["TrafficDrop", "RequestRateAnomalyLow", "EndpointTrafficDropped"],
}


def alert_svc_labels(ctx, svc):
    style = ctx["style"]
    m = ctx["m"]
    s = m.svcs.get(svc)
    key = ctx["alert_key"]
    lab = {}
    if s is not None and s.role == "edge" and s.tech != "app":
        lab["job"] = ctx["edge_job"]
        if key != "job":
            lab[key] = svc
    elif key == "job" and style == "mimir" and ctx["mimir_nsjob"]:
        lab["job"] = "%s/%s" % (m.ns, svc)
    else:
        lab[key] = svc
    if ctx["alert_add_service"]:
        lab["service"] = svc
    return lab


def make_alert(
    ctx,
    name,
    svc_labels,
    severity,
    start,
    summary,
    desc,
    expr,
    extra=None,
    state="active",
    silenced=None,
    receivers=None,
):
    rng = ctx["rng"]
    labels = dict(alertname=name, severity=severity)
    labels.update(svc_labels)
    labels.update(ctx["alert_common"])
    if extra:
        labels.update(extra)
    labels = {k: str(v) for k, v in labels.items()}
    gen = "%s/graph?g0.expr=%s&g0.tab=1" % (
        ctx["prom_url"],
        expr.replace(" ", "+").replace('"', "%22").replace("{", "%7B").replace("}", "%7D"),
    )
    ann = dict(summary=summary, description=desc)
    if rng.random() < 0.7:
        ann["runbook_url"] = "https://runbooks.%s.internal/alerts/%s" % (ctx["org"], name.lower())
    if rng.random() < 0.5:
        ann["dashboard"] = "https://grafana.%s.internal/d/%s" % (ctx["org"], hexid(rng, 9))
    return dict(
        annotations=ann,
        endsAt=iso(ctx["T1"] + 180),
        fingerprint=fp_of(labels),
        receivers=[{"name": receivers or ctx["receiver"]}],
        startsAt=iso(start),
        status=dict(inhibitedBy=[], silencedBy=silenced or [], state=state),
        updatedAt=iso(ctx["T1"] - rng.randint(1, 25)),
        generatorURL=gen,
        labels=labels,
    )


def build_alerts(ctx, st):
    m, rng, step, on = ctx["m"], ctx["rng"], ctx["step"], ctx["onset"]
    cause = ctx["cause_svc"]
    path = m.path_from_edge(cause) if cause in m.svcs else [m.edge]
    if (
        cause in m.svcs
        and m.svcs[cause].role in ("store", "cache", "third", "mq")
        and len(path) >= 2
    ):
        path = path[:-1] + [cause]
    cands = []
    pref = ctx.get("page_pref")
    if pref:
        cands.append(pref)
    r = rng.random()
    if ctx.get("cert", {}).get("variant") == 2:
        cands = [m.edge]
    elif r < 0.55:
        cands += [m.edge] + path[1:]
    elif r < 0.8 and len(path) > 2:
        cands += path[1:-1] + [m.edge, path[-1]]
    else:
        cands += path[::-1]
    cands = [c for c in cands if c in m.svcs and m.svcs[c].role in ("edge", "app")]
    alerts = []
    focus = None
    tried = []
    for c in cands:
        if c in tried:
            continue
        tried.append(c)
        sigs = ["err", "lat"] if rng.random() < 0.6 else ["lat", "err"]
        if ctx.get("cert", {}).get("variant") == 2:
            sigs = ["rps_drop"]
        for sig in sigs:
            ft = fire_time(st, c, sig, on, step, rng)
            if ft and ft["t"] < ctx["T1"] - step:
                focus = (c, ft)
                break
        if focus:
            break
    if focus is None:
        # fall back: alert on the cause service itself, lower bar
        c = cause if cause in m.svcs else m.edge
        for sig in ("err", "lat", "rps_drop"):
            ft = fire_time(st, c, sig, on, step, rng, frac=0.15)
            if ft:
                focus = (c, ft)
                break
    if focus is None:
        c = m.edge
        focus = (c, dict(t=on + 240, thr=0, base=0, peak=0, for_s=300, signal="err"))
    c, ft = focus
    sig = ft["signal"]
    name = rng.choice(ALERTNAMES[sig])
    sv = alert_svc_labels(ctx, c)
    if sig == "err":
        expr = 'sum(rate(%s{%s,code=~"5.."}[5m])) / sum(rate(%s{%s}[5m])) > %.3f' % (
            ctx["req_metric"],
            '%s="%s"' % list(sv.items())[0],
            ctx["req_metric"],
            '%s="%s"' % list(sv.items())[0],
            ft["thr"],
        )
        summ = "Error ratio on %s above %.1f%%" % (c, ft["thr"] * 100)
        desc = "%s is returning errors for %.1f%% of requests (threshold %.1f%%)" % (
            c,
            ft["peak"] * 100 * rng.uniform(0.6, 1.0),
            ft["thr"] * 100,
        )
    elif sig == "lat":
        expr = "histogram_quantile(0.99, sum by (le) (rate(%s_bucket{%s}[5m]))) > %.3f" % (
            ctx["lat_metric"],
            '%s="%s"' % list(sv.items())[0],
            ft["thr"] / 1000.0,
        )
        summ = "p99 latency of %s is above %s" % (
            c,
            ("%.0fms" % ft["thr"]) if ft["thr"] < 2000 else ("%.1fs" % (ft["thr"] / 1000)),
        )
        desc = "p99 latency has been above threshold for %ds" % ft["for_s"]
    else:
        expr = "sum(rate(%s{%s}[5m])) < %.1f" % (
            ctx["req_metric"],
            '%s="%s"' % list(sv.items())[0],
            ft["thr"],
        )
        summ = "Request rate on %s dropped below %.0f rps" % (c, ft["thr"])
        desc = "Traffic on %s dropped sharply compared to the last hour" % c
    sev = rng.choice(["critical", "page", "P1", "critical"])
    fa = make_alert(ctx, name, sv, sev, ft["t"], summ, desc, expr, extra=ctx.get("alert_extra"))
    alerts.append(fa)
    ctx["page_svc"] = c
    ctx["alert_t"] = ft["t"]
    # crash loop alert on the crashing service
    if ctx.get("crash") and rng.random() < 0.8:
        cs = ctx["crash"]["svc"]
        first = min([e["ts"] for e in ctx["sim_events"] if e["service"] == cs] or [on + 300])
        t = first + rng.choice([300, 600, 900])
        if t < ctx["T1"]:
            alerts.append(
                make_alert(
                    ctx,
                    "KubePodCrashLooping",
                    {"container": cs, "namespace": m.ns},
                    "warning",
                    t,
                    "Pod is crash looping.",
                    'Pod %s/%s (%s) is in waiting state (reason: "CrashLoopBackOff").'
                    % (m.ns, cs + "-...", cs),
                    'max_over_time(kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff",job="kube-state-metrics"}[5m]) >= 1',
                    extra={
                        "pod": [i.name for i in m.svcs[cs].insts][0],
                        "job": "kube-state-metrics",
                    },
                )
            )
    # second alert later, elsewhere on the path
    if ctx["conf"].get("second_alert"):
        others = [
            x
            for x in (path + list(m.svcs))
            if x != c and x in m.svcs and m.svcs[x].role in ("app", "edge")
        ]
        for o in others[:6]:
            ft2 = None
            for sig2 in ("err", "lat"):
                ft2 = fire_time(st, o, sig2, on, step, rng)
                if ft2:
                    break
            if ft2 and ft2["t"] > ft["t"] and ft2["t"] < ctx["T1"]:
                nm = rng.choice(ALERTNAMES[ft2["signal"]])
                alerts.append(
                    make_alert(
                        ctx,
                        nm,
                        alert_svc_labels(ctx, o),
                        rng.choice(["warning", "critical"]),
                        ft2["t"],
                        "%s %s elevated"
                        % (o, "error ratio" if ft2["signal"] == "err" else "latency"),
                        "threshold %.3f crossed"
                        % (ft2["thr"] if ft2["signal"] == "err" else ft2["thr"] / 1000.0),
                        "%s > %.3f" % (ctx["req_metric"], ft2["thr"]),
                    )
                )
                break
    # pool / db alerts (symptom alerts at stores)
    for s in m.svcs.values():
        if s.max_conn and s.role == "store":
            cn = st.conn[s.name]
            over = [i for i, x in enumerate(cn) if x > 0.85 * s.max_conn]
            if over and rng.random() < 0.8:
                t = st.times[over[0]] + 300
                if t < ctx["T1"]:
                    alerts.append(
                        make_alert(
                            ctx,
                            "PostgresqlTooManyConnections"
                            if s.tech == "postgres"
                            else (
                                "MysqlTooManyConnections"
                                if s.tech == "mysql"
                                else "MongodbTooManyConnections"
                            ),
                            {
                                "instance": "%s:9187" % s.insts[0].ip,
                                "job": s.name
                                if ctx["store_job_is_name"]
                                else "%s-exporter" % s.tech,
                            },
                            "warning",
                            t,
                            "%s has too many connections (> 85%%)" % s.name,
                            "connections in use above 85%% of max_connections",
                            "sum(pg_stat_activity_count) > 0.85 * pg_settings_max_connections",
                        )
                    )
    # noise
    if ctx["conf"].get("watchdog"):
        alerts.append(
            make_alert(
                ctx,
                "Watchdog",
                {},
                "none",
                ctx["T0"] - rng.randint(3, 40) * 86400,
                "An alert that should always be firing to certify that Alertmanager is working properly.",
                "This is an alert meant to ensure that the entire alerting pipeline is functional.",
                "vector(1)",
                receivers="null",
            )
        )
    if m.__dict__.get("noisy_node") and rng.random() < 0.7:
        nd = m.noisy_node
        hi = [i for i, x in enumerate(st.node_cpu[nd]) if x > 0.45]
        t = st.times[hi[0]] + 600 if hi else ctx["T0"] + 600
        alerts.append(
            make_alert(
                ctx,
                "NodeCPUHighUsage",
                {"instance": nd, "job": "node-exporter"},
                "info",
                min(t, ctx["T1"] - 60),
                "High CPU usage on %s" % nd,
                "CPU usage at %s has been above 40%% for the last 10 minutes" % nd,
                "instance:node_cpu_utilisation:rate5m > 0.4",
                state=rng.choice(["active", "suppressed"]),
                silenced=[
                    str(hexid(rng, 8))
                    + "-"
                    + hexid(rng, 4)
                    + "-"
                    + hexid(rng, 4)
                    + "-"
                    + hexid(rng, 4)
                    + "-"
                    + hexid(rng, 12)
                ]
                if rng.random() < 0.5
                else None,
            )
        )
    if ctx.get("surge") and rng.random() < 0.6:
        t = on + rng.randint(300, 900)
        if t < ctx["T1"]:
            tgt = m.path_from_edge(ctx["cause_svc"])[0]
            hs = rng.choice([x for x in m.svcs.values() if x.role == "app"]).name
            alerts.append(
                make_alert(
                    ctx,
                    "KubeHpaMaxedOut",
                    {"horizontalpodautoscaler": hs, "namespace": m.ns, "job": "kube-state-metrics"},
                    "warning",
                    t,
                    "HPA is running at max replicas",
                    "HPA %s/%s has been running at max replicas for longer than 15 minutes."
                    % (m.ns, hs),
                    "kube_horizontalpodautoscaler_status_current_replicas == kube_horizontalpodautoscaler_spec_max_replicas",
                )
            )
    for a in alerts:
        if a["status"]["silencedBy"]:
            a["status"]["state"] = "suppressed"
    return alerts, fa


# ----------------------------------------------------------------------------- logs


def fmt_ts(ctx, t):
    f = ctx["log_ts"]
    if f == "rfc3339ns":
        d = dt.datetime.fromtimestamp(t, UTC)
        return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%09dZ" % int((t % 1) * 1e9)
    if f == "rfc3339ms":
        return iso(t)
    if f == "unix_ms":
        return int(t * 1000)
    return round(t, 3)


def lvl(ctx, l):
    v = ctx["level_vocab"]
    if v == "upper":
        return {"error": "ERROR", "warn": "WARN", "info": "INFO", "fatal": "FATAL"}[l]
    if v == "long":
        return {"error": "error", "warn": "warning", "info": "info", "fatal": "critical"}[l]
    return l


def weighted(rng, d):
    tot = sum(v for v in d.values() if v > 0)
    if tot <= 0:
        return None
    r = rng.random() * tot
    for k, v in sorted(d.items()):
        if v <= 0:
            continue
        r -= v
        if r <= 0:
            return k
    return list(d)[0]


def cap_lines(n, ctx):
    return ctx["err_cap"] * (1 - math.exp(-n / ctx["err_k"])) + 0.5


def build_logs(ctx, st):
    m, rng, step = ctx["m"], ctx["rng"], ctx["step"]
    recs = []
    log_svcs = ctx["log_svcs"]
    base_lat = {
        s: (
            sorted(
                [x for x in st.svc[s]["lat"][: max(3, len(st.times) // 4)] if x is not None] or [1]
            )[
                len([x for x in st.svc[s]["lat"][: max(3, len(st.times) // 4)] if x is not None])
                // 2
            ]
            if st.svc[s]["lat"]
            else 1
        )
        for s in m.svcs
    }

    def _med(a):
        a = sorted(x for x in a[: max(3, len(a) // 4)] if x is not None)
        return a[len(a) // 2] if a else 0.0

    base_err = {s: _med(st.svc[s]["err"]) for s in m.svcs}

    def rec(t, svc, level, msg, ins=None, **kw):
        r = dict(ts=fmt_ts(ctx, t), service=svc, level=lvl(ctx, level), msg=msg)
        if ins is not None:
            r[ctx["pod_key"]] = ins.name
            if ctx["log_version"] and m.svcs[svc].role == "app":
                r["version"] = ins.version
        if ctx["log_ns"]:
            r["namespace"] = m.ns
        r.update(kw)
        recs.append((t, r))

    n = len(st.times)
    for i, t0 in enumerate(st.times):
        ctx["now"] = t0
        for sname in log_svcs:
            s = m.svcs[sname]
            live = [
                ins
                for ins in s.insts
                if ins.name in st.inst and st.inst[ins.name]["rps"][i] is not None
            ]
            R = st.svc[sname]["rps"][i] or 0
            E_ = st.svc[sname]["err"][i] or 0
            causes = dict(st.svc[sname]["causes"][i] or {})
            # info / access lines
            ninfo = rng.randint(0, max(1, min(3, int(step / 20))))
            for _ in range(ninfo):
                if not live:
                    break
                ins = rng.choice(live)
                t = t0 + rng.uniform(0, step)
                if s.role == "edge" and s.tech != "app":
                    rec(t, sname, "info", access_line(ctx, s, st, i, rng, ok=True), ins)
                elif s.role == "app":
                    tpl = rng.choice(OK_MSGS[s.lang])
                    ms = st.inst[ins.name]["lat"][i] or 5
                    msg = tpl % dict(
                        route=s.route,
                        ms=ms * rng.uniform(0.5, 1.4),
                        p=10,
                        a=rng.randint(0, 5),
                        i=rng.randint(3, 10),
                        n=rng.randint(1, 400),
                        tn="t-%d" % rng.randint(100, 999),
                        m=s.route.split(" ")[0],
                        path=s.route.split(" ")[1],
                        sec=rng.uniform(0.05, 2),
                        ip="10.%d.%d.%d"
                        % (rng.randint(0, 3), rng.randint(0, 255), rng.randint(2, 250)),
                        ts=iso(t),
                        ctrl="%sController.Get" % sname.title().replace("-", ""),
                        rn=sname.replace("-", "_") + "_index",
                    )
                    rec(t, sname, "info", msg, ins)
                elif s.role == "store" and s.tech == "postgres" and rng.random() < 0.15:
                    rec(
                        t,
                        sname,
                        "info",
                        "LOG:  checkpoint complete: wrote %d buffers (%.1f%%); 0 WAL file(s) added, 0 removed, %d recycled; write=%.3f s, sync=0.0%02d s, total=%.3f s"
                        % (
                            rng.randint(100, 5000),
                            rng.uniform(0.1, 3),
                            rng.randint(0, 4),
                            rng.uniform(1, 30),
                            rng.randint(1, 99),
                            rng.uniform(1, 30),
                        ),
                        ins,
                    )
            # error lines
            nerr_exp = R * E_ * step
            if nerr_exp > 0.05 and live:
                cap = ctx["err_cap"]
                excess = max(0.0, E_ - 1.5 * base_err[sname]) * R * step
                lam = cap * (1 - math.exp(-excess / ctx["err_k"])) + min(0.25, nerr_exp / 60.0)
                k = int(lam) + (1 if rng.random() < lam - int(lam) else 0)
                causes.pop("base", None)
                for _ in range(k):
                    c = weighted(rng, causes)
                    if c is None:
                        break
                    # pick instance weighted by its error
                    wts = {ins.name: (st.inst[ins.name]["err"][i] or 0) + 1e-6 for ins in live}
                    nm = weighted(rng, wts)
                    ins = [x for x in live if x.name == nm][0]
                    t = t0 + rng.uniform(0, step)
                    msg, level = None, "error"
                    if "|" in c:
                        kk, b = c.rsplit("|", 1)
                        if s.role == "edge" and s.tech != "app":
                            msg = access_line(ctx, s, st, i, rng, ok=False, upstream=b, cause=kk)
                            level = "error" if ctx["edge_err_level"] else "info"
                        else:
                            msg = client_msg(ctx, s.lang, kk, sname, b, rng)
                            if m.dep(sname, b).crit < 0.5:
                                level = "warn"
                    elif c in (
                        "npe",
                        "panic",
                        "exc",
                        "defect",
                        "stuck",
                        "overload",
                        "enospc",
                        "slow",
                    ):
                        if s.role == "app" or (s.role == "edge" and s.tech == "app"):
                            # own causes from this instance's version only
                            oc = st.inst[ins.name].get("oc")
                            msg = server_msg(ctx, s, c, rng, ins)
                            if c == "slow":
                                level = "warn"
                        elif s.role == "edge":
                            msg = access_line(ctx, s, st, i, rng, ok=False, upstream=None, cause=c)
                    elif c == "too_many_conn" and s.role == "store":
                        msg = {
                            "postgres": "FATAL:  sorry, too many clients already",
                            "mysql": "[Warning] [MY-010055] [Server] IP address '10.%d.%d.%d' could not be resolved; Too many connections"
                            % (rng.randint(0, 3), rng.randint(0, 255), rng.randint(2, 250)),
                            "mongodb": '{"t":{"$date":"%s"},"s":"I","c":"NETWORK","id":22942,"ctx":"listener","msg":"Connection refused because there are too many open connections","attr":{"connectionCount":%d}}'
                            % (iso(t), int(st.conn[sname][i])),
                        }.get(s.tech)
                    elif c in ("read_only", "read_only_pg", "no_primary") and s.role == "store":
                        msg = {
                            "read_only": "[ERROR] [MY-013183] [InnoDB] Assertion failure: replica I/O thread stopped; server running with --super-read-only",
                            "read_only_pg": "ERROR:  cannot execute UPDATE in a read-only transaction",
                            "no_primary": '{"t":{"$date":"%s"},"s":"I","c":"REPL","id":21358,"ctx":"ReplCoord-3","msg":"Replica set state transition","attr":{"newState":"SECONDARY","oldState":"PRIMARY"}}'
                            % iso(t),
                        }[c]
                    if msg:
                        kw = {}
                        if ctx["log_trace_ids"] and s.role == "app":
                            kw["trace_id"] = hexid(rng, 32)
                        rec(t, sname, level, msg, ins, **kw)
            # slow warnings
            lat = st.svc[sname]["lat"][i] or 0
            if s.role in ("app",) and lat > 4 * base_lat[sname] and live and rng.random() < 0.5:
                ins = rng.choice(live)
                t = t0 + rng.uniform(0, step)
                w = {
                    "java": "Slow request %s took %dms (threshold 1000ms)"
                    % (s.route, lat * rng.uniform(1, 3)),
                    "go": "slow request method=%s path=%s dur=%dms"
                    % (s.route.split(" ")[0], s.route.split(" ")[1], lat * rng.uniform(1, 3)),
                    "python": "Request %s took %.2fs" % (s.route, lat * rng.uniform(1, 3) / 1000),
                    "dotnet": "Request %s exceeded 1000ms: %dms"
                    % (s.route, lat * rng.uniform(1, 3)),
                    "php": "WARNING: [pool www] child %d, script '/var/www/public/index.php' (request: \"%s\") executing too slow (%.6f sec), logging"
                    % (rng.randint(100, 9999), s.route, lat * rng.uniform(1, 3) / 1000),
                    "node": "slow handler %s %dms" % (s.route, lat * rng.uniform(1, 3)),
                }[s.lang]
                rec(t, sname, "warn", w, ins)
            if (
                s.role == "store"
                and s.tech == "postgres"
                and lat > 4 * base_lat[sname]
                and live
                and rng.random() < 0.6
            ):
                rec(
                    t0 + rng.uniform(0, step),
                    sname,
                    "info",
                    "LOG:  duration: %.3f ms  statement: SELECT o.* FROM orders o JOIN order_items i ON i.order_id = o.id WHERE o.customer_id = $1"
                    % (lat * rng.uniform(20, 80)),
                    live[0],
                )
            # leak: GC logs (java)
            if (
                s.lang == "java"
                and live
                and ctx["truth"]["kind"] == "resource_saturation"
                and ctx.get("res_variant") == 0
                and sname == ctx["cause_svc"]
            ):
                ins = rng.choice(live)
                mem = st.inst[ins.name]["mem"][i]
                if mem and mem / s.mem_limit > 0.8 and rng.random() < 0.4:
                    rec(
                        t0 + rng.uniform(0, step),
                        sname,
                        "warn",
                        "[gc] GC(%d) Pause Full (G1 Compaction Pause) %dM->%dM(%dM) %.3fms"
                        % (
                            rng.randint(100, 9999),
                            mem / 1e6,
                            mem / 1e6 * 0.97,
                            s.mem_limit / 1e6,
                            300 + 3000 * (mem / s.mem_limit - 0.8),
                        ),
                        ins,
                    )
            # background noise
            if s.role == "app" and live and rng.random() < ctx["noise_rate"]:
                ins = rng.choice(live)
                rec(
                    t0 + rng.uniform(0, step),
                    sname,
                    rng.choice(["warn", "error"]),
                    fill_noise(rng.choice(BG_NOISE[s.lang]), rng),
                    ins,
                )
        # callee-side validation warnings for a broken request contract
        if ctx.get("bad_req") and ctx["bad_req"][1] in log_svcs:
            a_, b_ = ctx["bad_req"]
            D = st.dep[(a_, b_)]
            bad = (D["causes"][i] or {}).get("bad_req", 0) * (D["rps"][i] or 0) * step
            sb = m.svcs[b_]
            live_b = [
                x for x in sb.insts if x.name in st.inst and st.inst[x.name]["rps"][i] is not None
            ]
            for _ in range(min(ctx["err_cap"], int(cap_lines(bad, ctx)))):
                if not live_b:
                    break
                ins = rng.choice(live_b)
                rec(
                    t0 + rng.uniform(0, step),
                    b_,
                    "warn",
                    rng.choice(
                        [
                            '%s 422 Unprocessable Entity: request validation failed: field "amount.currency" is required (client=%s)'
                            % (sb.route, a_),
                            "rejecting request from %s: schema validation error at $.amount: expected object, got number"
                            % a_,
                        ]
                    ),
                    ins,
                )
        # DNS server logs
        if ctx.get("dns_fault") and "coredns" in ctx["extra_log_svcs"]:
            f = ctx["E"].get("dns", "*", t0)
            for _ in range(min(4, int(f * 12 + rng.random()))):
                tgt = rng.choice([x for x in m.svcs if m.svcs[x].role in ("app", "store", "cache")])
                recs.append(
                    (
                        t0 + rng.uniform(0, step),
                        dict(
                            ts=fmt_ts(ctx, t0 + rng.uniform(0, step)),
                            service="coredns",
                            level=lvl(ctx, "error"),
                            msg="[ERROR] plugin/errors: 2 %s.%s.svc.cluster.local. A: read udp 10.%d.%d.%d:%d->10.0.0.2:53: i/o timeout"
                            % (
                                tgt,
                                m.ns,
                                rng.randint(0, 3),
                                rng.randint(0, 255),
                                rng.randint(2, 250),
                                rng.randint(30000, 60000),
                            ),
                            pod="coredns-%s-%s" % (hexid(rng, 10), podsuffix(rng)),
                        ),
                    )
                )
        # expired edge certificate: server-side handshake log lines
        if (
            ctx.get("cert", {}).get("variant") == 2
            and t0 >= ctx["cert"]["not_after"]
            and m.edge in log_svcs
        ):
            for _ in range(rng.randint(1, 4)):
                ins = rng.choice(m.svcs[m.edge].insts)
                rec(
                    t0 + rng.uniform(0, step),
                    m.edge,
                    "info",
                    "SSL_do_handshake() failed (SSL: error:0A000415:SSL routines::sslv3 alert certificate expired:SSL alert number 45) while SSL handshaking, client: %d.%d.%d.%d, server: 0.0.0.0:443"
                    % (
                        rng.randint(20, 220),
                        rng.randint(0, 255),
                        rng.randint(0, 255),
                        rng.randint(1, 254),
                    ),
                    ins,
                )
    # startup logs for rollouts
    for t, svc, pod, ver in ctx["startup_logs"]:
        s = m.svcs[svc]
        if svc not in log_svcs:
            continue
        ins = [x for x in s.insts if x.name == pod]
        ins = ins[0] if ins else None
        msg = {
            "java": "Started %sApplication in %.3f seconds (process running for %.3f)"
            % (svc.title().replace("-", ""), rng.uniform(8, 40), rng.uniform(9, 45)),
            "go": "starting %s version=%s commit=%s listen=:8080" % (svc, ver, hexid(rng, 7)),
            "python": "[INFO] Booting worker with pid: %d" % rng.randint(7, 300),
            "dotnet": "Now listening on: http://[::]:8080",
            "php": "NOTICE: fpm is running, pid 1",
            "node": "server listening on 0.0.0.0:3000 (%s)" % ver,
        }.get(s.lang, "started")
        r = dict(ts=fmt_ts(ctx, t), service=svc, level=lvl(ctx, "info"), msg=msg)
        if ins:
            r[ctx["pod_key"]] = ins.name
        recs.append((t, r))
    # crash logs
    for e in ctx["sim_events"]:
        svc = e["service"]
        if svc not in log_svcs:
            continue
        s = m.svcs[svc]
        cr = ctx.get("crash", {})
        v = cr.get("variant", 0)
        if e["reason"] == "OOMKilled":
            if s.lang == "java":
                recs.append(
                    (
                        e["ts"] - 2,
                        dict(
                            ts=fmt_ts(ctx, e["ts"] - 2),
                            service=svc,
                            level=lvl(ctx, "error"),
                            msg="java.lang.OutOfMemoryError: Java heap space",
                            **{ctx["pod_key"]: e["object"]},
                        ),
                    )
                )
            continue
        lines = {
            1: {
                "go": [
                    "panic: assignment to entry in nil map",
                    "",
                    "goroutine 1 [running]:",
                    "main.loadRoutingTable(...)",
                ],
                "java": [
                    "APPLICATION FAILED TO START",
                    "Failed to bind properties under 'app.routing' to RoutingProperties: Reason: java.lang.IllegalStateException: No value for key region",
                ],
                "python": ["Traceback (most recent call last):", "KeyError: 'ROUTING_TABLE'"],
                "dotnet": [
                    "Unhandled exception. System.Collections.Generic.KeyNotFoundException: The given key 'region' was not present in the dictionary."
                ],
                "php": [
                    "PHP Fatal error:  Uncaught Exception: bootstrap failed: missing routing table in /var/www/bootstrap/app.php:41"
                ],
                "node": [
                    "TypeError: Cannot read properties of undefined (reading 'routes')",
                    "    at bootstrap (/app/dist/main.js:88:21)",
                ],
            },
            2: {
                "*": [
                    "starting %s" % svc,
                    "waiting for warmup: loading %d cache partitions" % rng.randint(200, 800),
                ]
            },
            3: {
                "dotnet": [
                    "Unhandled exception. System.InvalidOperationException: Unable to resolve service for type 'IPricingRules' while attempting to activate 'QuoteController'."
                ],
                "*": [
                    "fatal: unrecoverable error during initialization: invalid partition assignment",
                    "exit status 1",
                ],
            },
        }.get(v, {})
        ll = lines.get(s.lang) or lines.get("*") or []
        for j, ln in enumerate(ll):
            if not ln:
                continue
            tt = e["ts"] - 1 + j * 0.001
            recs.append(
                (
                    tt,
                    dict(
                        ts=fmt_ts(ctx, tt),
                        service=svc,
                        level=lvl(ctx, "fatal" if j == 0 and v != 2 else "info"),
                        msg=ln,
                        **{ctx["pod_key"]: e["object"]},
                    ),
                )
            )
    # bot traffic lines at the edge
    if ctx.get("surge", {}).get("variant") == 1 and m.edge in log_svcs:
        ips = [
            "%d.%d.%d.%d"
            % (rng.randint(20, 220), rng.randint(0, 255), rng.randint(0, 255), rng.randint(1, 254))
            for _ in range(rng.randint(3, 9))
        ]
        ua = rng.choice(
            [
                "python-requests/2.31.0",
                "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
                "Go-http-client/1.1",
                "Scrapy/2.11.0 (+https://scrapy.org)",
            ]
        )
        tgt = ctx["surge"]["bot_target"]
        for t in st.times:
            if t < ctx["onset"]:
                continue
            for _ in range(rng.randint(2, 6)):
                tt = t + rng.uniform(0, ctx["step"])
                r = dict(
                    ts=fmt_ts(ctx, tt),
                    service=m.edge,
                    level=lvl(ctx, "info"),
                    msg='%s - - [%s] "GET /%s?page=%d&q=%s HTTP/1.1" 200 %d "-" "%s" rt=%.3f'
                    % (
                        rng.choice(ips),
                        dt.datetime.fromtimestamp(tt, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
                        tgt.replace("-", "/"),
                        rng.randint(1, 5000),
                        hexid(rng, 4),
                        rng.randint(500, 40000),
                        ua,
                        rng.uniform(0.01, 2),
                    ),
                )
                recs.append((tt, r))
    recs.sort(key=lambda x: x[0])
    return [r for t, r in recs if ctx["T0"] <= t < ctx["T1"]]


def access_line(ctx, s, st, i, rng, ok=True, upstream=None, cause=None):
    m = ctx["m"]
    ups = [d.b for d in s.deps]
    upstream = upstream or rng.choice(ups)
    t = st.times[i]
    D = st.dep[(s.name, upstream)]
    lat = (D["lat"][i] or 10) / 1000.0
    code = 200
    if not ok:
        code = {"timeout": 504, "refused": 502, "reset": 502, "x509": 502, "dns": 502}.get(
            cause,
            rng.choice([500, 502, 503])
            if not (cause or "").startswith("up:")
            else (503 if "overload" in cause else 500),
        )
    path = m.dep(s.name, upstream).path
    ip = "%d.%d.%d.%d" % (
        rng.randint(20, 220),
        rng.randint(0, 255),
        rng.randint(0, 255),
        rng.randint(1, 254),
    )
    up_ins = m.svcs[upstream].insts[0] if m.svcs[upstream].insts else None
    uaddr = "%s:%d" % (up_ins.ip if up_ins else "10.0.0.1", m.svcs[upstream].port)
    if s.tech == "haproxy":
        tr = int(lat * 1000)
        flags = {200: "----", 504: "sH--", 502: "SC--", 503: "sQ--"}.get(code, "----")
        return (
            '%s:%d [%s] fe_https be_%s/%s %d/0/%d/%d/%d %d %d - - %s %d/%d/%d/%d/0 0/0 "%s %s HTTP/1.1"'
            % (
                ip,
                rng.randint(1024, 65000),
                dt.datetime.fromtimestamp(t, UTC).strftime("%d/%b/%Y:%H:%M:%S.%f")[:-3],
                upstream.replace("-", "_"),
                upstream + "-" + str(rng.randint(1, 3)),
                rng.randint(0, 3),
                rng.randint(0, 2),
                tr,
                tr + rng.randint(0, 3),
                code,
                rng.randint(200, 9000),
                flags,
                rng.randint(50, 900),
                rng.randint(50, 900),
                rng.randint(1, 80),
                rng.randint(0, 9),
                rng.choice(["GET", "POST"]),
                path,
            )
        )
    if s.tech == "caddy":
        return json.dumps(
            {
                "level": "info" if ok else "error",
                "logger": "http.log.access",
                "msg": "handled request",
                "request": {"remote_ip": ip, "method": "GET", "host": m.dom["host"], "uri": path},
                "duration": round(lat, 6),
                "status": code,
                "upstream": uaddr,
            },
            separators=(",", ":"),
        )
    if s.tech == "envoy":
        return '[%s] "GET %s HTTP/1.1" %d %s 0 %d %d "%s" "Mozilla/5.0" "%s" "%s" "%s"' % (
            iso(t),
            path,
            code,
            {504: "UT", 502: "UF", 503: "UO"}.get(code, "-"),
            rng.randint(100, 9000),
            int(lat * 1000),
            ip,
            hexid(rng, 8) + "-" + hexid(rng, 4),
            m.dom["host"],
            uaddr,
        )
    # nginx / varnish / default combined log + upstream info
    return (
        '%s - - [%s] "%s %s HTTP/1.1" %d %d "-" "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)" rt=%.3f uct="0.001" urt="%.3f" ua="%s"'
        % (
            ip,
            dt.datetime.fromtimestamp(t, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            rng.choice(["GET", "POST"]),
            path,
            code,
            rng.randint(200, 30000),
            lat,
            lat,
            uaddr,
        )
    )


# ----------------------------------------------------------------------------- traces


def build_traces(ctx, st):
    m, rng = ctx["m"], ctx["rng"]
    spans = []
    per_tick = ctx["traces_per_tick"]
    for i, t0 in enumerate(st.times):
        for _ in range(per_tick):
            tid = hexid(rng, 32)
            start = t0 + rng.uniform(0, ctx["step"])
            walk(
                ctx,
                st,
                i,
                m.edge,
                tid,
                None,
                start,
                spans,
                0,
                "GET " + m.svcs[m.edge].route.split(" ")[1]
                if m.svcs[m.edge].tech == "app"
                else "ingress",
            )
    return spans


def walk(ctx, st, i, svc, tid, parent, start, spans, depth, name):
    m, rng = ctx["m"], ctx["rng"]
    s = m.svcs[svc]
    sid = hexid(rng, 16)
    cursor = start + (s.own_ms * rng.uniform(0.3, 0.7)) / 1000.0
    err = False
    kids = []
    if depth < 6:
        for d in s.deps:
            c = st.dep[(svc, d.b)]["calls"][i] or d.calls
            ncalls = int(c) + (1 if rng.random() < (c - int(c)) else 0)
            for _ in range(min(ncalls, 4)):
                f = st.dep[(svc, d.b)]["fail"][i] or 0
                lat = st.dep[(svc, d.b)]["lat"][i] or 1
                causes = st.dep[(svc, d.b)]["causes"][i] or {}
                failed = rng.random() < f
                dur = lat * math.exp(rng.gauss(0, 0.5))
                if m.svcs[d.b].role in ("app",) and not (
                    failed and any(k in causes for k in ("refused", "dns", "x509", "timeout"))
                ):
                    cd = walk(
                        ctx, st, i, d.b, tid, sid, cursor, spans, depth + 1, m.svcs[d.b].route
                    )
                    dur = max(dur, cd[0])
                    failed = failed or cd[1]
                else:
                    kind = m.svcs[d.b].role
                    nm = {
                        "store": rng.choice(["SELECT", "INSERT", "UPDATE"])
                        + " "
                        + d.b.replace("-", "_"),
                        "cache": rng.choice(["GET", "MGET", "SET"]),
                        "third": "POST " + THIRDPARTY_URL.get(d.b, "/").split("/", 3)[-1][:30],
                        "mq": "publish " + d.b,
                        "app": m.svcs[d.b].route,
                    }[kind]
                    sp = dict(
                        trace_id=tid,
                        span_id=hexid(rng, 16),
                        parent_id=sid,
                        service=svc,
                        name=nm,
                        start=iso(cursor),
                        duration_ms=round(dur, 3),
                        status="error" if failed else "ok",
                        **{"peer.service": d.b, "span.kind": "client"},
                    )
                    if failed:
                        k = weighted(rng, causes) or "error"
                        sp["error.type"] = k
                    spans.append(sp)
                if failed and d.crit > 0.5:
                    err = True
                cursor += dur / 1000.0
    own_err = st.svc[svc]["err"][i] or 0
    if rng.random() < own_err * 0.3:
        err = True
    dur = (cursor - start) * 1000 + s.own_ms * rng.uniform(0.3, 0.7)
    sp = dict(
        trace_id=tid,
        span_id=sid,
        parent_id=parent or "",
        service=svc,
        name=name,
        start=iso(start),
        duration_ms=round(dur, 3),
        status="error" if err else "ok",
    )
    sp["span.kind"] = "server"
    spans.append(sp)
    return dur, err


# ----------------------------------------------------------------------------- events


def build_events(ctx, st):
    m, rng = ctx["m"], ctx["rng"]
    out = []
    nomad = ctx["style"] == "nomad"
    cr = ctx.get("crash", {})
    counts = {}
    for e in ctx["sim_events"]:
        svc, pod = e["service"], e["object"]
        counts[pod] = counts.get(pod, 0) + 1
        if nomad:
            out.append(
                dict(
                    ts=e["ts"],
                    service=svc,
                    reason="Terminated",
                    type="Warning",
                    object="alloc/" + pod,
                    message='Exit Code: %d, Exit Message: "%s"'
                    % (
                        e["exit_code"],
                        "OOM Killed"
                        if e["reason"] == "OOMKilled"
                        else "Docker container exited with non-zero exit code: %d" % e["exit_code"],
                    ),
                    count=counts[pod],
                    oom_killed=e["reason"] == "OOMKilled",
                )
            )
            out.append(
                dict(
                    ts=e["ts"] + 1,
                    service=svc,
                    reason="Restarting",
                    type="Normal",
                    object="alloc/" + pod,
                    message="Task restarting in %ds" % e["backoff"],
                    count=counts[pod],
                )
            )
            continue
        if cr.get("variant") == 2:
            for k in range(3):
                out.append(
                    dict(
                        ts=e["ts"] - 20 + k * 10,
                        service=svc,
                        reason="Unhealthy",
                        type="Warning",
                        object="pod/" + pod,
                        message='Liveness probe failed: Get "http://%s:8080/healthz": context deadline exceeded (Client.Timeout exceeded while awaiting headers)'
                        % "10.%d.%d.%d"
                        % (rng.randint(0, 3), rng.randint(0, 255), rng.randint(2, 250)),
                        count=counts[pod] * 3 + k,
                    )
                )
            out.append(
                dict(
                    ts=e["ts"],
                    service=svc,
                    reason="Killing",
                    type="Normal",
                    object="pod/" + pod,
                    message="Container %s failed liveness probe, will be restarted" % svc,
                    count=counts[pod],
                )
            )
        else:
            out.append(
                dict(
                    ts=e["ts"],
                    service=svc,
                    reason=e["reason"],
                    type="Warning",
                    object="pod/" + pod,
                    message="Container %s terminated: reason %s, exit code %d (restart %d)"
                    % (svc, e["reason"], e["exit_code"], e["restarts"]),
                    count=counts[pod],
                    exit_code=e["exit_code"],
                )
            )
        out.append(
            dict(
                ts=e["ts"] + rng.uniform(1, 5),
                service=svc,
                reason="BackOff",
                type="Warning",
                object="pod/" + pod,
                message="Back-off restarting failed container %s in pod %s_%s(%s)"
                % (svc, pod, m.ns, hexid(rng, 8) + "-" + hexid(rng, 4)),
                count=counts[pod],
            )
        )
    if not nomad:
        for e in ctx["events"]:
            out.append(dict(e))
        # readiness failures on heavily failing instances
        for ins_name, d in st.inst.items():
            for i, er in enumerate(d["err"]):
                if er is not None and er > 0.5 and rng.random() < 0.08:
                    svc = [
                        s.name for s in m.svcs.values() if any(x.name == ins_name for x in s.insts)
                    ][0]
                    out.append(
                        dict(
                            ts=st.times[i] + rng.uniform(0, ctx["step"]),
                            service=svc,
                            reason="Unhealthy",
                            type="Warning",
                            object="pod/" + ins_name,
                            message="Readiness probe failed: HTTP probe failed with statuscode: 503",
                            count=rng.randint(1, 30),
                        )
                    )
        # noise
        for _ in range(rng.randint(1, 5)):
            t = rng.uniform(ctx["T0"], ctx["T1"])
            job = rng.choice(["report-export", "db-backup", "search-reindex", "sitemap-gen"])
            out.append(
                dict(
                    ts=t,
                    service=job,
                    reason=rng.choice(
                        [
                            "FailedScheduling",
                            "BackoffLimitExceeded",
                            "Completed",
                            "SuccessfulCreate",
                        ]
                    ),
                    type="Normal",
                    object="job/%s-%d" % (job, rng.randint(28000000, 29999999)),
                    message="0/%d nodes are available: %d Insufficient memory."
                    % (len(m.nodes), len(m.nodes)),
                    count=1,
                )
            )
        for e in ctx["scale_events"]:
            out.append(e)
    else:
        for e in ctx["events"]:
            if e["reason"] == "Started":
                out.append(
                    dict(
                        ts=e["ts"],
                        service=e["service"],
                        reason="Started",
                        type="Normal",
                        object="alloc/" + e["object"].split("/")[-1],
                        message="Task started by client",
                        count=1,
                    )
                )
    out = [e for e in out if ctx["T0"] <= e["ts"] < ctx["T1"]]
    for e in out:
        e["ts"] = iso(e["ts"]) if ctx["ev_ts_iso"] else round(e["ts"], 3)
        e.setdefault("count", 1)
    out.sort(key=lambda e: str(e["ts"]) if ctx["ev_ts_iso"] else e["ts"])
    return out


# ----------------------------------------------------------------------------- bundle driver

STYLES = [
    "micrometer",
    "promhttp",
    "pyclient",
    "statsd",
    "elastic",
    "nomad",
    "mimir",
    "dotnet",
    "phpfpm",
]
WINDOWS = [30, 45, 60, 90, 120, 180, 240, 360]
STEPS = [10, 15, 30, 60, 120, 300]


def pick_window(rng, kind, variant):
    for _ in range(200):
        W = rng.choice(WINDOWS)
        stp = rng.choice(STEPS)
        if kind == "resource_saturation" and variant == 0 and W < 180:
            continue
        if kind == "resource_saturation" and variant == 2 and W < 90:
            continue
        if kind == "crash_loop" and stp > 30:
            continue
        n = W * 60 // stp
        if 60 <= n <= 720:
            return W, stp
    return 60, 30


def make_bundle(seed, idx, kind, variant, style, out):
    rng = random.Random(seed * 100003 + idx * 7919)
    dom = rng.choice(DOMAINS)
    W, step = pick_window(rng, kind, variant)
    day = dt.datetime(2026, 1, 5, tzinfo=UTC) + dt.timedelta(
        days=rng.randint(0, 300), hours=rng.randint(0, 23), minutes=rng.randint(0, 59)
    )
    T0 = int(day.timestamp()) // step * step
    T1 = T0 + W * 60
    n = W * 60 // step
    nodes_style = "nomad" if style == "nomad" else rng.choice(["gke", "eks"])
    m = build_model(rng, dom, style, T0, T1, nodes_style)
    base_rps = rng.choice([30, 80, 150, 400, 900]) * rng.uniform(0.8, 1.2)
    cal = calibrate(rng, m, T0, base_rps)
    E = Effects()
    onset = T0 + int(W * 60 * rng.uniform(0.5, 0.72))
    ctx = dict(
        rng=rng,
        m=m,
        E=E,
        T0=T0,
        T1=T1,
        step=step,
        onset=onset,
        style=style,
        cal=cal,
        changes=[],
        events=[],
        startup_logs=[],
        scale_events=[],
        org=rng.choice(["acme", "northwind", "globex", "initech", "umbrella", "hooli", "vandelay"]),
        chstyle=rng.choice(CHANGE_STYLES),
        now=T0,
    )
    ctx["hostfmt"] = rng.choice(
        ["%(svc)s.%(ns)s.svc.cluster.local", "%(svc)s.%(ns)s", "%(svc)s", "%(svc)s.%(ns)s.svc"]
    )
    ctx["truth"] = {}
    fn, _ = SCENARIOS[kind]
    desc = fn(ctx, variant)
    cause = ctx["cause_svc"]
    # ---------------- confounders
    conf = {}
    conf["second_alert"] = rng.random() < 0.6
    conf["watchdog"] = rng.random() < 0.3
    conf["gap"] = rng.random() < 0.35
    if rng.random() < 0.5:
        m.noisy_node = rng.choice(m.nodes)
        conf["noisy_node"] = m.noisy_node
    apps = [s.name for s in m.svcs.values() if s.role == "app" and s.name != cause]
    if apps and rng.random() < 0.7:
        inn = rng.choice(apps)
        if inn and not any(ch["service"] == inn for ch in ctx["changes"]):
            dt_before = rng.uniform(120, 1500)
            do_deploy(ctx, inn, onset - dt_before)
            conf["innocent_deploy"] = inn
    if apps and rng.random() < 0.3:
        inn = rng.choice(apps)
        k = rng.choice(["config", "flag"])
        t = onset + rng.uniform(-3600, 600)
        if T0 < t < T1:
            summ = (
                ("flag 'new-%s-ui' rolled to 25%%" % inn)
                if k == "flag"
                else "%s: bump log level to debug for 1h" % inn
            )
            add_change(ctx, inn, k, t, summ)
            conf["innocent_" + k] = inn
    for _ in range(rng.randint(0, 3)):
        s = rng.choice(list(m.svcs.values()))
        if s.role in ("app", "store"):
            t = T0 - rng.uniform(1800, 86400 * 2)
            if s.role == "app":
                add_change(
                    ctx,
                    s.name,
                    "deploy",
                    t,
                    "Deploy %s %s" % (s.name, s.version),
                    s.version,
                    unbump(s.version, rng),
                )
            else:
                add_change(
                    ctx,
                    s.name,
                    "infra",
                    t,
                    rng.choice(
                        [
                            "%s: minor version upgrade %s" % (s.name, s.version),
                            "resize %s volume to 500Gi" % s.name,
                            "rotate %s credentials" % s.name,
                        ]
                    ),
                )
    if rng.random() < 0.25:
        add_change(
            ctx,
            m.edge,
            "infra",
            onset - rng.uniform(3600, 6 * 3600),
            rng.choice(
                [
                    "node pool upgrade 1.29.4-gke.1043 -> 1.29.6-gke.1038",
                    "rotate ingress TLS secret (staging only)",
                    "bump cluster-autoscaler to 1.30.1",
                ]
            ),
        )
    if ctx.get("surge") or rng.random() < 0.15:
        hs = rng.choice([s.name for s in m.svcs.values() if s.role == "app"])
        t = onset + rng.uniform(120, 600)
        if t < T1:
            n0 = m.svcs[hs].nslots
            add_change(
                ctx,
                hs,
                "scale",
                t,
                "HPA %s: %d -> %d replicas (cpu utilization above target)" % (hs, n0, n0 * 2),
                cid="hpa-%s-%d" % (hs, int(t)),
            )
            ctx["changes"][-1]["author"] = "horizontal-pod-autoscaler"
            ctx["changes"][-1].pop("url", None)
            ctx["scale_events"].append(
                dict(
                    ts=t,
                    service=hs,
                    reason="SuccessfulRescale",
                    type="Normal",
                    object="horizontalpodautoscaler/" + hs,
                    message="New size: %d; reason: cpu resource utilization (percentage of request) above target"
                    % (n0 * 2),
                )
            )
            conf["scale"] = hs
    # logs-only service (metrics absent)
    cands = [a for a in apps if a != ctx.get("page_pref")]
    if cands and rng.random() < 0.25:
        ctx["no_metrics_svc"] = rng.choice(cands)
        conf["logs_only"] = ctx["no_metrics_svc"]
    ctx["conf"] = conf
    # ---------------- rendering choices
    ctx["ver_label"] = rng.random() < 0.6
    ctx["py_job"] = rng.choice([None, "kubernetes-pods"])
    ctx["statsd_label"] = rng.choice(["service", "app"])
    ctx["statsd_timer_stem"] = rng.random() < 0.5
    ctx["mimir_nsjob"] = rng.random() < 0.5
    ctx["cluster"] = rng.choice(["prod-eu-1", "prod-us-east-2", "prd-ap-southeast-1"])
    ctx["dc"] = rng.choice(["dc1", "eu-west", "us-central"])
    ctx["edge_job"] = rng.choice([m.edge, m.edge, m.svcs[m.edge].tech])
    ctx["store_job_is_name"] = rng.random() < 0.6
    ctx["kube_svc_label"] = rng.choice([None, None, "app", "service"])
    ctx["throttle_rated"] = rng.random() < 0.4
    ctx["node_raw"] = rng.random() < 0.4
    ctx["log_ts"] = rng.choice(["rfc3339ns", "rfc3339ms", "unix_ms", "unix_s"])
    ctx["level_vocab"] = rng.choice(["lower", "upper", "long"])
    ctx["pod_key"] = (
        "alloc_id"
        if style == "nomad"
        else rng.choice(["pod", "pod", "kubernetes_pod_name", "host"])
    )
    ctx["log_version"] = rng.random() < 0.4
    ctx["log_ns"] = rng.random() < 0.5
    ctx["log_trace_ids"] = rng.random() < 0.4
    ctx["err_cap"] = rng.choice([3, 5, 8])
    ctx["noise_rate"] = rng.uniform(0.01, 0.06)
    ctx["err_k"] = rng.uniform(80, 250)
    ctx["probe_service_label"] = rng.random() < 0.5
    ctx["edge_err_level"] = rng.random() < 0.5
    ctx["ev_ts_iso"] = rng.random() < 0.7
    ctx["traces_per_tick"] = rng.choice([1, 1, 2])
    ctx["prom_url"] = rng.choice(
        [
            "http://prometheus-k8s-0:9090",
            "https://mimir.%s.internal/prometheus" % ctx["org"],
            "http://prometheus.monitoring.svc:9090",
        ]
    )
    ctx["receiver"] = rng.choice(
        [
            "pagerduty-sre",
            "oncall-%s" % dom["name"],
            "opsgenie-critical",
            "team-%s-pager" % dom["name"],
        ]
    )
    ctx["alert_key"] = {
        "micrometer": rng.choice(["job", "application"]),
        "promhttp": "service",
        "pyclient": "app",
        "statsd": ctx["statsd_label"],
        "elastic": rng.choice(["service_name", "service"]),
        "nomad": rng.choice(["local_cluster", "task_group", "service"]),
        "mimir": "job",
        "dotnet": rng.choice(["container", "app"]),
        "phpfpm": rng.choice(["kubernetes_name", "app"]),
    }[style]
    ctx["alert_add_service"] = rng.random() < 0.4
    ctx["alert_common"] = rng.choice(
        [
            {"env": "prod"},
            {"environment": "production", "team": dom["name"]},
            {"cluster": ctx["cluster"], "namespace": m.ns},
            {"prometheus": "monitoring/k8s"},
        ]
    )
    ctx["req_metric"] = {
        "micrometer": "http_server_requests_seconds_count",
        "promhttp": "http_requests_total",
        "pyclient": "flask_http_request_total",
        "statsd": "stats_counts_requests",
        "elastic": "transaction_failure_count",
        "nomad": "envoy_cluster_upstream_rq_xx",
        "mimir": "request_total",
        "dotnet": "http_server_request_duration_seconds_count",
        "phpfpm": "nginx_vts_server_requests_total",
    }[style]
    ctx["lat_metric"] = {
        "micrometer": "http_server_requests_seconds",
        "promhttp": "http_request_duration_seconds",
        "pyclient": "flask_http_request_duration_seconds",
        "statsd": "stats_timers_request",
        "elastic": "transaction_duration",
        "nomad": "envoy_cluster_upstream_rq_time",
        "mimir": "request_duration_seconds",
        "dotnet": "http_server_request_duration_seconds",
        "phpfpm": "nginx_vts_upstream_response_seconds",
    }[style]
    # ---------------- simulate
    sim_events = []
    st = simulate(
        random.Random(rng.randint(0, 10**9)),
        m,
        E,
        T0,
        step,
        n,
        base_rps,
        rng.uniform(0.0, 0.4),
        sim_events,
    )
    ctx["sim_events"] = sim_events
    alerts, focus = build_alerts(ctx, st)
    # which services have logs
    logsv = []
    for s in m.svcs.values():
        if s.role == "third":
            continue
        if s.role in ("app", "edge"):
            p = 0.85
        else:
            p = 0.35
        if s.name in (cause,) and s.role in ("store", "cache") and rng.random() < 0.5:
            p = 0.0  # store down / saturated: its own logs not collected
        if s.name == ctx.get("no_metrics_svc"):
            p = 1.0
        if rng.random() < p:
            logsv.append(s.name)
    if ctx["page_svc"] not in logsv and ctx["page_svc"] in m.svcs:
        logsv.append(ctx["page_svc"])
    ctx["log_svcs"] = logsv
    ctx["extra_log_svcs"] = ["coredns"] if (ctx.get("dns_fault") and rng.random() < 0.6) else []
    logs = build_logs(ctx, st)
    mw = render_all(ctx, st)
    traces = build_traces(ctx, st) if rng.random() < 0.35 else None
    events = build_events(ctx, st)
    # ---------------- write
    bid = "%s-%s-%04d" % (dom["name"], hexid(rng, 6), rng.randint(1000, 9999))
    bdir = os.path.join(out, bid)
    os.makedirs(os.path.join(bdir, "metrics"), exist_ok=True)
    title = "[FIRING:%d] %s %s" % (1, focus["labels"]["alertname"], ctx["page_svc"])
    bundle = dict(id=bid, title=title, window=dict(start=iso(T0, ms=False), end=iso(T1, ms=False)))
    if rng.random() < 0.8:
        bundle["focus_alert"] = (
            focus["fingerprint"] if rng.random() < 0.7 else focus["labels"]["alertname"]
        )
    with open(os.path.join(bdir, "bundle.yaml"), "w") as f:
        yaml.safe_dump(bundle, f, sort_keys=False)
    with open(os.path.join(bdir, "alerts.json"), "w") as f:
        json.dump(alerts, f, indent=1)
    for stem, series in mw.files.items():
        with open(os.path.join(bdir, "metrics", stem + ".json"), "w") as f:
            json.dump(
                {"status": "success", "data": {"resultType": "matrix", "result": series}},
                f,
                separators=(",", ":"),
            )
    if mw.queries and rng.random() < 0.8:
        with open(os.path.join(bdir, "metrics", "queries.yaml"), "w") as f:
            yaml.safe_dump(mw.queries, f, sort_keys=True, width=1000)
    os.makedirs(os.path.join(bdir, "logs"), exist_ok=True)
    grouping = rng.choice(["per_service", "single", "tiers"])
    files = {}
    for r in logs:
        if grouping == "per_service":
            k = r["service"]
        elif grouping == "single":
            k = rng.choice(["loki-export", "logs"])
            k = "loki-export"
        else:
            s = m.svcs.get(r["service"])
            k = (
                "ingress"
                if s is not None and s.role == "edge"
                else (
                    "datastores"
                    if s is not None and s.role in ("store", "cache", "mq")
                    else ("kube-system" if s is None else "apps")
                )
            )
        files.setdefault(k, []).append(r)
    for k, rs in files.items():
        with open(os.path.join(bdir, "logs", k + ".jsonl"), "w") as f:
            for r in rs:
                f.write(json.dumps(r, separators=(",", ":")) + "\n")
    with open(os.path.join(bdir, "changes.json"), "w") as f:
        json.dump(sorted(ctx["changes"], key=lambda c: c["ts"]), f, indent=1)
    if rng.random() < 0.9:
        topo = {}
        skip_edge = rng.random() < 0.2
        for s in m.svcs.values():
            deps = [d.b for d in s.deps]
            if skip_edge and deps and s.role == "app" and rng.random() < 0.3:
                deps = deps[:-1]  # service map built from traces misses rare calls
            topo[s.name] = {"depends_on": deps}
            if rng.random() < 0.3:
                topo[s.name]["type"] = {
                    "edge": "ingress",
                    "app": "service",
                    "store": "database",
                    "cache": "cache",
                    "third": "external",
                    "mq": "queue",
                }[s.role]
        if ctx.get("dns_fault") or "coredns_in_topo" in ctx or rng.random() < 0.15:
            topo["coredns"] = {"depends_on": []}
            for s in m.svcs.values():
                if s.role == "app":
                    topo[s.name]["depends_on"].append("coredns")
        with open(os.path.join(bdir, "topology.yaml"), "w") as f:
            yaml.safe_dump({"services": topo}, f, sort_keys=False)
    if traces:
        os.makedirs(os.path.join(bdir, "traces"), exist_ok=True)
        with open(os.path.join(bdir, "traces", "spans.jsonl"), "w") as f:
            for sp in traces:
                f.write(json.dumps(sp, separators=(",", ":")) + "\n")
    if events:
        os.makedirs(os.path.join(bdir, "events"), exist_ok=True)
        with open(
            os.path.join(bdir, "events", "nomad.jsonl" if style == "nomad" else "kubernetes.jsonl"),
            "w",
        ) as f:
            for e in events:
                f.write(json.dumps(e, separators=(",", ":")) + "\n")
    if os.environ.get("GEN_DEBUG"):
        os.makedirs(os.environ["GEN_DEBUG"], exist_ok=True)
        with open(os.path.join(os.environ["GEN_DEBUG"], bid + ".txt"), "w") as f:
            oi = int((onset - T0) / step)
            f.write(
                "kind=%s v=%d style=%s step=%d W=%d onset_idx=%d/%d page=%s alert_t-onset=%ds cause=%s\n"
                % (
                    kind,
                    variant,
                    style,
                    step,
                    W,
                    oi,
                    n,
                    ctx["page_svc"],
                    ctx["alert_t"] - onset,
                    cause,
                )
            )
            f.write("desc: %s\nconf: %s\n" % (desc, conf))
            for s in m.topo():
                r = st.svc[s]

                def med(a):
                    a = sorted(x for x in a if x is not None)
                    return a[len(a) // 2] if a else 0

                f.write(
                    "  %-18s %-6s rps %8.1f->%8.1f  err %.4f->%.4f  lat %8.1f->%8.1f p99max %8.1f\n"
                    % (
                        s,
                        m.svcs[s].role,
                        med(r["rps"][:oi]),
                        max([x or 0 for x in r["rps"][oi:]] or [0]),
                        med(r["err"][:oi]),
                        max([x or 0 for x in r["err"][oi:]] or [0]),
                        med(r["lat"][:oi]),
                        med(r["lat"][oi:]),
                        max([x or 0 for x in r["p99"][oi:]] or [0]),
                    )
                )
            for a in alerts:
                f.write(
                    "  alert %s %s %s\n"
                    % (
                        a["labels"]["alertname"],
                        a["startsAt"],
                        {k: v for k, v in a["labels"].items() if k not in ("alertname",)},
                    )
                )
    truth = {"root_cause": dict(ctx["truth"])}
    if ctx.get("match_service"):
        truth["match"] = "service"
    with open(os.path.join(bdir, "truth.yaml"), "w") as f:
        yaml.safe_dump(truth, f, sort_keys=False)
    return dict(
        id=bid,
        dir=bid,
        truth=truth,
        description=desc,
        style=style,
        step_seconds=step,
        window_minutes=W,
        paging_service=ctx["page_svc"],
        confounders=sorted(k for k, v in conf.items() if v),
        edge_tech=m.svcs[m.edge].tech,
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(a.seed)
    plan = []
    for kind, (fn, cnt) in SCENARIOS.items():
        for v in range(cnt):
            plan.append((kind, v))
    rng.shuffle(plan)
    styles = []
    while len(styles) < len(plan):
        chunk = STYLES[:]
        rng.shuffle(chunk)
        styles += chunk
    manifest = []
    for i, ((kind, v), style) in enumerate(zip(plan, styles)):
        if kind == "resource_saturation" and v == 3 and style not in ("phpfpm", "pyclient"):
            pass
        entry = make_bundle(a.seed, i, kind, v, style, a.out)
        manifest.append(entry)
        print(
            "%-36s %-20s %-10s %s"
            % (entry["id"], entry["truth"]["root_cause"]["kind"], style, entry["description"][:90])
        )
    with open(os.path.join(a.out, "MANIFEST.yaml"), "w") as f:
        yaml.safe_dump(
            {"generator": "gen_sites.py", "seed": a.seed, "bundles": manifest},
            f,
            sort_keys=False,
            width=200,
        )


if __name__ == "__main__":
    main()
