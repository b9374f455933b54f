#!/usr/bin/env python3
"""Blind synthetic incident fleet generator (incident bundle v1).

usage: python3 gen_fleet.py --out DIR --seed N [--count 40]

Simulates a service graph tick by tick (load flows edge -> services -> stores /
third parties; latency, errors, pool/worker saturation, retries, caches and queues
propagate), injects one fault plus confounders, and renders the result in the
vocabulary of one monitoring stack (AWS/YACE, GCP managed prometheus, Azure Monitor,
Datadog, OpenTelemetry collector, bare VMs with node_exporter + JMX/exporters).
Deterministic per seed; stdlib + PyYAML only.
"""

import argparse
import datetime as dt
import hashlib
import json
import math
import os
import random
from collections import defaultdict

import yaml

# --------------------------------------------------------------------------- domains
DOMAINS = [
    dict(
        name="shop",
        edge="storefront-gw",
        fronts=["web-bff", "mobile-bff"],
        mids=["catalog", "cart", "pricing", "inventory", "checkout", "payments"],
        db="orders-db",
        cache="session-cache",
        queue="order-events",
        worker="fulfillment-worker",
        ext="stripe-api",
        low="admin-portal",
        search="product-search",
    ),
    dict(
        name="media",
        edge="api-edge",
        fronts=["web-api", "tv-api"],
        mids=["profiles", "catalog-svc", "entitlements", "playback", "recommender", "license-svc"],
        db="metadata-db",
        cache="profile-cache",
        queue="play-events",
        worker="history-writer",
        ext="drm-vendor",
        low="ops-console",
        search="title-search",
    ),
    dict(
        name="logistics",
        edge="dispatch-gw",
        fronts=["dispatch-api", "partner-api"],
        mids=["tracking", "routing", "eta-service", "fleet-svc", "geo-svc", "billing"],
        db="fleet-db",
        cache="route-cache",
        queue="telemetry-stream",
        worker="telemetry-ingest",
        ext="maps-api",
        low="backoffice",
        search="shipment-search",
    ),
    dict(
        name="bank",
        edge="mobile-gateway",
        fronts=["app-api", "openbanking-api"],
        mids=["accounts", "customer-svc", "limits", "fraud-check", "transfers", "ledger"],
        db="core-pg",
        cache="token-cache",
        queue="notify-queue",
        worker="notifier",
        ext="kyc-provider",
        low="teller-admin",
        search="txn-search",
    ),
    dict(
        name="travel",
        edge="booking-edge",
        fronts=["booking-web", "booking-api"],
        mids=[
            "search-svc",
            "availability",
            "pricing-engine",
            "loyalty",
            "reservations",
            "ticketing",
        ],
        db="reservations-db",
        cache="fare-cache",
        queue="booking-events",
        worker="confirmation-mailer",
        ext="gds-provider",
        low="agent-tools",
        search="hotel-index",
    ),
]

PATHS = [
    "/api/v1/items",
    "/api/v2/orders",
    "/v1/quote",
    "/api/session",
    "/v1/lookup",
    "/api/v1/submit",
    "/v2/list",
    "/healthz-deep",
    "/api/v1/status",
    "/v3/search",
]
LANGS = ["go", "java", "python", "node"]

KIND_PLAN = (
    [("deploy", v) for v in ["exception", "canary", "nplus1", "region", "mem_regression"]]
    + [("config_change", v) for v in ["timeout", "pool", "retry", "cache_off", "endpoint"]]
    + [
        ("resource_saturation", v)
        for v in ["mem_leak", "disk_full", "slots", "db_conns", "cpu_throttle"]
    ]
    + [
        ("dependency_failure", v)
        for v in ["ext_outage", "db_failover", "broker_down", "ext_slow", "cache_down"]
    ]
    + [("network", v) for v in ["packet_loss", "dns", "sg_block", "latency"]]
    + [("traffic_surge", v) for v in ["campaign", "bot", "retry_storm", "viral"]]
    + [("certificate_expiry", v) for v in ["server", "ext_client", "server", "internal_mtls"]]
    + [("crash_loop", v) for v in ["poison", "startup", "liveness", "panic"]]
    + [("unknown", v) for v in ["latency_creep", "error_burst", "latency_step", "stall"]]
)

STACKS = ["aws", "gcp", "azure", "datadog", "otel", "vm"]


def h(s, n=16):
    return hashlib.sha256(s.encode()).hexdigest()[:n]


def rfc(ts):
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc_ms(ts):
    d = dt.datetime.fromtimestamp(ts, dt.UTC)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (d.microsecond // 1000)


def lognorm_cdf(x, median, p99):
    if x <= 0:
        return 0.0
    sig = max(0.05, math.log(max(p99, median * 1.01) / median) / 2.326)
    return 0.5 * (1 + math.erf((math.log(x) - math.log(median)) / (sig * math.sqrt(2))))


# --------------------------------------------------------------------------- world
class Edge:
    def __init__(
        self, src, dst, kind="sync", k=1.0, crit=1.0, timeout=2.0, retries=1, pool=None, db=None
    ):
        self.src, self.dst, self.kind, self.k, self.crit = src, dst, kind, k, crit
        self.timeout, self.retries, self.pool, self.db = timeout, retries, pool, db
        self.key = (src, dst)


class Svc:
    def __init__(self, name, role, rng):
        self.name, self.role = name, role
        self.deps = []
        self.pods = 1
        self.cap = 100.0
        self.p50 = 0.02
        self.p99 = 0.1
        self.base_err = 0.0005
        self.slots = 200
        self.mem_base = 400e6
        self.mem_limit = 1024e6
        self.lang = rng.choice(LANGS)
        self.proto = rng.choice(["http", "http", "grpc"]) if role == "app" else "http"
        self.hit = 0.9
        self.max_conn = 300
        self.region = []
        self.version = "v%d.%d.%d" % (rng.randint(1, 4), rng.randint(0, 30), rng.randint(0, 9))
        self.path = rng.choice(PATHS)


class World:
    pass


def build_world(rng, need):
    D = rng.choice(DOMAINS)
    W = World()
    W.domain = D["name"]
    S = {}

    def add(name, role):
        S[name] = Svc(name, role, rng)
        return S[name]

    edge = add(D["edge"], "edge")
    fronts = rng.sample(D["fronts"], rng.choice([1, 2]))
    mids = rng.sample(D["mids"], rng.randint(3, 5))
    mids_sorted = [m for m in D["mids"] if m in mids]
    for f in fronts:
        add(f, "app")
    for m in mids_sorted:
        add(m, "app")
    has_cache = need.get("cache") or rng.random() < 0.75
    has_queue = need.get("queue") or rng.random() < 0.7
    has_search = rng.random() < 0.3
    db = add(D["db"], "db")
    ext = add(D["ext"], "ext")
    cache = add(D["cache"], "cache") if has_cache else None
    queue = add(D["queue"], "queue") if has_queue else None
    worker = add(D["worker"], "app") if has_queue else None
    search = add(D["search"], "search") if has_search else None
    low = add(D["low"], "app") if rng.random() < 0.7 else None
    shares = [1.0] if len(fronts) == 1 else [0.65, 0.35]
    for f, sh in zip(fronts, shares):
        edge.deps.append(Edge(edge.name, f, k=sh, timeout=rng.choice([10, 30, 60]), retries=0))
    if low:
        edge.deps.append(Edge(edge.name, low.name, k=0.004, timeout=30, retries=0))
        low.deps.append(Edge(low.name, db.name, k=2, timeout=5, retries=0, pool=5))
    called = set()
    for f in fronts:
        for m in rng.sample(mids_sorted, min(len(mids_sorted), rng.randint(2, 3))):
            S[f].deps.append(
                Edge(
                    f,
                    m,
                    k=round(rng.uniform(0.3, 1.3), 2),
                    timeout=rng.choice([1, 2, 3, 5]),
                    retries=rng.choice([0, 1, 2]),
                )
            )
            called.add(m)
    for i, m in enumerate(mids_sorted):
        if m not in called:
            f = rng.choice(fronts)
            S[f].deps.append(Edge(f, m, k=round(rng.uniform(0.2, 0.8), 2), timeout=2, retries=1))
        later = mids_sorted[i + 1 :]
        if later and rng.random() < 0.35:
            o = rng.choice(later)
            S[m].deps.append(
                Edge(
                    m,
                    o,
                    k=round(rng.uniform(0.3, 1), 2),
                    timeout=rng.choice([0.5, 1, 2]),
                    retries=rng.choice([0, 1]),
                )
            )
    # stores
    db_users = rng.sample(mids_sorted, max(2, len(mids_sorted) - 2))
    cache_user = db_users[0] if cache else None
    for m in db_users:
        if m == cache_user:
            S[m].deps.append(
                Edge(
                    m,
                    cache.name,
                    kind="cache",
                    k=round(rng.uniform(1, 3), 1),
                    crit=0.0,
                    timeout=0.2,
                    retries=0,
                    db=db.name,
                )
            )
        S[m].deps.append(
            Edge(
                m,
                db.name,
                k=round(rng.uniform(1, 4), 1),
                timeout=rng.choice([2, 5, 10]),
                retries=0,
                pool=rng.choice([10, 20, 30, 50]),
            )
        )
    ext_user = mids_sorted[-1]
    S[ext_user].deps.append(
        Edge(
            ext_user,
            ext.name,
            k=1 if rng.random() < 0.6 else 0.5,
            timeout=rng.choice([3, 5, 10]),
            retries=rng.choice([1, 2]),
        )
    )
    if search:
        su = rng.choice(mids_sorted[:-1] or mids_sorted)
        S[su].deps.append(Edge(su, search.name, k=1, timeout=1, retries=1, crit=0.8))
    if queue:
        prod = rng.choice(mids_sorted[1:] or mids_sorted)
        S[prod].deps.append(Edge(prod, queue.name, kind="pub", k=1, timeout=2, retries=2))
        worker.deps.append(Edge(worker.name, db.name, k=2, timeout=5, retries=0, pool=10))
        if rng.random() < 0.5:
            worker.deps.append(Edge(worker.name, ext.name, k=0.3, timeout=5, retries=1, crit=1.0))
        queue.consumer = worker.name
    W.svcs = S
    W.edge, W.db, W.ext = edge.name, db.name, ext.name
    W.cache = cache.name if cache else None
    W.queue = queue.name if queue else None
    W.worker = worker.name if worker else None
    W.search = search.name if search else None
    W.low = low.name if low else None
    W.fronts, W.mids = fronts, mids_sorted
    W.cache_user, W.ext_user = cache_user, ext_user
    W.db_users = db_users
    # order: edge, fronts, low, mids, queue, worker, stores
    order = [edge.name] + fronts + ([low.name] if low else []) + mids_sorted
    if queue:
        order += [queue.name, worker.name]
    order += [x for x in [search and search.name, cache and cache.name, db.name, ext.name] if x]
    W.order = order
    W.base_rps = rng.choice([40, 120, 300, 800, 1500, 3000]) * rng.uniform(0.8, 1.2)
    # sizing
    for n, s in S.items():
        if s.role in ("app", "edge"):
            s.pods = rng.choice([1, 2, 2, 3, 3, 4, 6, 8, 10]) if n != W.low else 1
            s.p50 = rng.uniform(0.004, 0.03)
            s.p99 = s.p50 * rng.uniform(3, 8)
            s.slots = rng.choice([50, 100, 200, 200, 400])
            s.mem_limit = rng.choice([512, 1024, 2048, 4096]) * 2**20
            s.mem_base = s.mem_limit * rng.uniform(0.3, 0.55)
            s.base_err = rng.choice([0.0, 0.0002, 0.0005, 0.001, 0.003])
        elif s.role == "db":
            s.pods = 1 if rng.random() < 0.6 else 2
            s.p50, s.p99 = rng.uniform(0.001, 0.004), 0.0
            s.p99 = s.p50 * rng.uniform(4, 10)
            s.max_conn = rng.choice([100, 150, 200, 400, 500])
            s.mem_limit = rng.choice([16, 32, 64]) * 2**30
            s.mem_base = s.mem_limit * 0.6
        elif s.role == "cache":
            s.pods = rng.choice([1, 2, 3])
            s.p50, s.p99 = 0.0004, 0.003
            s.hit = rng.uniform(0.82, 0.96)
        elif s.role == "search":
            s.pods = 3
            s.p50, s.p99 = 0.015, 0.12
        elif s.role == "queue":
            s.pods = rng.choice([1, 3])
            s.p50, s.p99 = 0.002, 0.01
        elif s.role == "ext":
            s.pods = 1
            s.p50 = rng.uniform(0.08, 0.25)
            s.p99 = s.p50 * 4
            s.base_err = 0.001
        s.regions = None
    if W.worker:
        S[W.worker].pods = rng.choice([1, 2, 3, 4])
    W.rng_region = rng.choice(
        [
            ["us-east-1", "us-west-2"],
            ["europe-west1", "europe-west4"],
            ["westeurope", "northeurope"],
            ["eu-central-1", "eu-west-1"],
        ]
    )
    return W


def size_limits(W, T, step, t0, rng):
    """fault-free pass with unlimited slots/pools/connections; size the limits with headroom."""
    keep = {}
    for n, s in W.svcs.items():
        keep[n] = (s.slots, s.max_conn)
        s.slots, s.max_conn = 1e12, 1e12
        for e in s.deps:
            if e.pool:
                keep[e.key] = e.pool
                e.pool = 1e9
    sim = Sim(W, T, step, t0, random.Random(rng.random()))
    sim.run(NullFault(), [])
    for n, s in W.svcs.items():
        s.slots, s.max_conn = keep[n]
        dem = sim.out[n].get("slots_demand")
        if dem:
            s.slots = int(max(s.slots, max(dem) / max(1, s.pods) * rng.uniform(2.5, 4.0) + 2))
        for e in s.deps:
            if e.key in keep:
                pd = sim.edge_out[e.key].get("pool_demand") or [1]
                e.pool = int(max(keep[e.key], math.ceil(max(pd) * rng.uniform(2.0, 3.5)) + 1))
    for n, s in W.svcs.items():
        for e in s.deps:
            if e.kind == "sync":
                mp = max(sim.out[e.dst]["p99"])
                e.timeout = max(e.timeout, min(30.0, math.ceil(mp * rng.uniform(3, 5) * 2) / 2))
    db = W.svcs[W.db]
    idle = sum(W.svcs[e.src].pods * 3 * 3 for x in W.svcs.values() for e in x.deps if e.dst == W.db)
    db.max_conn = int(max(db.max_conn, max(sim.out[W.db]["conns"]) * rng.uniform(1.8, 2.6) + idle))
    db.max_conn = int(math.ceil(db.max_conn / 50.0) * 50)


def size_capacity(W, rng):
    """steady-state load pass at diurnal peak to size capacity and pools."""
    inn = defaultdict(float)
    inn[W.edge] = W.base_rps * 1.3 * (1 + getattr(W, "ramp", 0.0))
    for n in W.order:
        s = W.svcs[n]
        if s.role == "queue":
            inn[s.consumer] += inn[n]
        for e in s.deps:
            c = inn[n] * e.k
            if e.kind == "cache":
                inn[e.db] += c * (1 - W.svcs[e.dst].hit)
            inn[e.dst] += c
    W.peak = dict(inn)
    for n, s in W.svcs.items():
        u = rng.uniform(0.3, 0.55)
        s.cap = max(2.0, inn[n] / (s.pods * u)) if inn[n] > 0 else 5.0
        if s.role in ("ext",):
            s.cap = inn[n] * rng.uniform(1.8, 3.0) + 5  # provider-side rate limit
    # db connections: sum of pools must not exceed max_conn at baseline
    dbs = W.svcs[W.db]
    idle = sum(W.svcs[e.src].pods * 3 for x in W.svcs.values() for e in x.deps if e.dst == W.db)
    dbs.max_conn = max(dbs.max_conn, int(idle * 2.2) + 20)


# --------------------------------------------------------------------------- mods
class Mods:
    def __init__(self):
        self.load = 1.0
        self.own_err = defaultdict(float)  # svc -> extra own error fraction
        self.own_reason = {}  # svc -> (level, text)
        self.lat = defaultdict(lambda: 1.0)  # svc -> own latency multiplier
        self.cap = defaultdict(lambda: 1.0)  # svc -> capacity multiplier
        self.kmult = defaultdict(lambda: 1.0)  # edge -> call multiplier
        self.edge_fail = {}  # edge -> (frac, text, latency_s)
        self.edge_lat = defaultdict(float)  # edge -> added seconds
        self.timeout = {}
        self.retries = {}
        self.pool = {}
        self.cache_off = set()
        self.down = {}  # svc -> (frac_down, reason text)
        self.inst_err = {}  # (svc, i) -> (frac, text)
        self.leak = defaultdict(float)  # svc -> bytes per second
        self.disk = {}  # svc -> fill fraction
        self.slots = defaultdict(lambda: 1.0)
        self.maxconn = {}
        self.cpu_limit = {}
        self.lat_add = defaultdict(float)


def tcp_fail_text(lang, dst, kind):
    if kind == "refused":
        return {
            "go": "dial tcp %s:8080: connect: connection refused" % dst,
            "java": "java.net.ConnectException: Connection refused (Connection refused) to %s:8080"
            % dst,
            "python": "requests.exceptions.ConnectionError: HTTPConnectionPool(host='%s', port=8080): Max retries exceeded (Caused by NewConnectionError: [Errno 111] Connection refused)"
            % dst,
            "node": "Error: connect ECONNREFUSED %s:8080" % dst,
        }[lang]
    if kind == "timeout":
        return {
            "go": 'Get "http://%s:8080/": context deadline exceeded (Client.Timeout exceeded while awaiting headers)'
            % dst,
            "java": "java.net.SocketTimeoutException: Read timed out calling %s" % dst,
            "python": "requests.exceptions.ReadTimeout: HTTPConnectionPool(host='%s', port=8080): Read timed out."
            % dst,
            "node": "Error: timeout of %dms exceeded (ESOCKETTIMEDOUT %s)" % (1000, dst),
        }[lang]
    if kind == "connect_timeout":
        return {
            "go": "dial tcp %s:5432: i/o timeout" % dst,
            "java": "java.net.SocketTimeoutException: connect timed out (%s)" % dst,
            "python": 'psycopg2.OperationalError: could not connect to server: Connection timed out. Is the server running on host "%s"?'
            % dst,
            "node": "Error: connect ETIMEDOUT %s" % dst,
        }[lang]
    if kind == "dns":
        return {
            "go": "dial tcp: lookup %s on 10.96.0.10:53: no such host" % dst,
            "java": "java.net.UnknownHostException: %s: Name or service not known" % dst,
            "python": "socket.gaierror: [Errno -2] Name or service not known (%s)" % dst,
            "node": "Error: getaddrinfo ENOTFOUND %s" % dst,
        }[lang]
    if kind == "dns_timeout":
        return {
            "go": "dial tcp: lookup %s on 10.96.0.10:53: read udp 10.1.4.7:41234->10.96.0.10:53: i/o timeout"
            % dst,
            "java": "java.net.UnknownHostException: %s: Temporary failure in name resolution" % dst,
            "python": "socket.gaierror: [Errno -3] Temporary failure in name resolution (%s)" % dst,
            "node": "Error: getaddrinfo EAI_AGAIN %s" % dst,
        }[lang]
    if kind == "x509":
        return {
            "go": 'Post "https://%s/v1": x509: certificate has expired or is not yet valid' % dst,
            "java": "javax.net.ssl.SSLHandshakeException: PKIX path validation failed: java.security.cert.CertificateExpiredException: NotAfter (%s)"
            % dst,
            "python": "requests.exceptions.SSLError: HTTPSConnectionPool(host='%s', port=443): [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired"
            % dst,
            "node": "Error: certificate has expired (CERT_HAS_EXPIRED) %s" % dst,
        }[lang]
    if kind == "bad_cert":
        return {
            "go": 'Post "https://%s/v1": remote error: tls: expired certificate' % dst,
            "java": "javax.net.ssl.SSLHandshakeException: Received fatal alert: certificate_expired (%s)"
            % dst,
            "python": "ssl.SSLError: [SSL: SSLV3_ALERT_CERTIFICATE_EXPIRED] sslv3 alert certificate expired (_ssl.c:2580) host=%s"
            % dst,
            "node": "Error: write EPROTO SSL alert number 45 (certificate expired) %s" % dst,
        }[lang]
    if kind == "reset":
        return {
            "go": "read tcp 10.2.3.4:51234->%s:8080: read: connection reset by peer" % dst,
            "java": "java.net.SocketException: Connection reset (%s)" % dst,
            "python": "ConnectionResetError: [Errno 104] Connection reset by peer (%s)" % dst,
            "node": "Error: read ECONNRESET %s" % dst,
        }[lang]
    return "error calling %s" % dst


def client_quote(lang, proto, dst, status, callee_text):
    short = callee_text if len(callee_text) < 160 else callee_text[:157] + "..."
    if proto == "grpc":
        code = {
            503: "Unavailable",
            500: "Internal",
            504: "DeadlineExceeded",
            429: "ResourceExhausted",
        }.get(status, "Unknown")
        return "rpc error: code = %s desc = %s (peer=%s)" % (code, short, dst)
    return {
        "go": "upstream %s returned %d: %s" % (dst, status, short),
        "java": 'org.springframework.web.client.HttpServerErrorException$ServiceUnavailable: %d from %s: "%s"'
        % (status, dst, short),
        "python": "HTTPError: %d Server Error for url: http://%s:8080/ body=%r"
        % (status, dst, short),
        "node": "Error: Request failed with status code %d (%s): %s" % (status, dst, short),
    }[lang]


# --------------------------------------------------------------------------- simulation
class Inst:
    def __init__(self, svc, idx, rs, region, born):
        self.idx = idx
        self.rs = rs
        self.sfx = h("%s%d%s" % (svc, idx, rs), 5)
        self.region = region
        self.up = True
        self.down_until = -1
        self.restarts = 0
        self.mem_t0 = born
        self.born = born
        self.version = None
        self.err = 0.0
        self.err_text = None
        self.crash = False
        self.serving = True
        self.backoff = 1
        self.host = None


class Sim:
    def __init__(self, W, T, step, t0, rng):
        self.W, self.T, self.step, self.t0, self.rng = W, T, step, t0, rng
        self.insts = {}
        for n, s in W.svcs.items():
            rs = h(n + s.version, 10)
            self.insts[n] = [Inst(n, i, rs, W.rng_region[i % 2], -(10**6)) for i in range(s.pods)]
            for i in self.insts[n]:
                i.version = s.version
                i.mem_t0 = -((i.idx * 7919 + len(n) * 31) % max(1, T // 3))
                i.host = "ip-10-%d-%d-%d" % (
                    rng.randint(0, 3),
                    rng.randint(0, 255),
                    rng.randint(2, 254),
                )
        self.hpa = {}
        self.out = {n: defaultdict(list) for n in W.svcs}
        self.inst_out = {
            n: defaultdict(lambda: defaultdict(dict)) for n in W.svcs
        }  # svc->sig->instname->{t:v}
        self.edge_out = defaultdict(lambda: defaultdict(list))
        self.reasons = {n: [] for n in W.svcs}
        self.events = []
        self.auto_changes = []
        self.backlog = 0.0
        self.qage = 0.0
        self.db_conns_prev = 0.0
        self.disk = {}
        self.prev_err = defaultdict(float)
        self.prev_lat = {n: W.svcs[n].p50 for n in W.svcs}
        self.cpu_noise = {}
        self.down_ticks = defaultdict(set)
        self.memfrac = {}
        self.edge_fail_t = {}

    def inst_name(self, n, inst):
        return "%s-%s-%s" % (n, inst.rs[:10], inst.sfx)

    def restart(self, n, inst, t, ticks, reason, msg):
        inst.up = False
        inst.down_until = t + ticks
        inst.restarts += 1
        self.events.append((t, n, inst, reason, msg))

    def run(self, fault, confs):
        W, rng = self.W, self.rng
        T, step = self.T, self.step
        for t in range(T):
            m = Mods()
            ts = self.t0 + t * step
            hour = (ts % 86400) / 3600.0
            diurnal = 1.0 + W.diurnal_amp * math.sin((hour - 9) / 24 * 2 * math.pi)
            for c in confs:
                c.apply(t, m, self)
            fault.apply(t, m, self)
            for dn, (df, _) in m.down.items():
                if df >= 1:
                    self.down_ticks[dn].add(t)
            for ek, ev in m.edge_fail.items():
                self.edge_fail_t[(ek, t)] = ev
            # ---- instance lifecycle
            for n, lst in self.insts.items():
                for inst in lst:
                    if not inst.up and t >= inst.down_until:
                        inst.up = True
                        inst.mem_t0 = t
                        self.events.append((t, n, inst, "Started", "Started container %s" % n))
            # ---- top-down load
            inn = defaultdict(float)
            inn[W.edge] = (
                W.base_rps
                * diurnal
                * m.load
                * (1 + W.ramp * max(0, t - W.ramp_t0) / max(1, T - W.ramp_t0))
                * (1 + rng.gauss(0, W.noise))
            )
            calls = {}
            for n in W.order:
                s = W.svcs[n]
                if s.role == "queue":
                    down = m.down.get(n, (0, ""))[0] >= 1
                    wk = W.svcs[s.consumer]
                    wup = sum(1 for i in self.insts[s.consumer] if i.up)
                    ccap = (
                        0
                        if down
                        else wup
                        * wk.cap
                        * m.cap[s.consumer]
                        * (1 - self.prev_err[("w", s.consumer)] * 0.9)
                    )
                    pub = inn[n] * (0 if down else 1)
                    redeliver = (
                        self.out[s.consumer]["rps"][-1] * self.out[s.consumer]["err"][-1]
                        if t
                        else 0
                    )
                    avail = self.backlog + (pub + redeliver) * step
                    consumed = min(ccap * step, avail)
                    self.backlog = max(0.0, avail - consumed)
                    if self.backlog < 1:
                        self.qage = rng.uniform(0.2, 2.0)
                    else:
                        rate_out = consumed / step
                        self.qage = (
                            min(self.qage + step, self.backlog / max(rate_out, 0.01))
                            if rate_out > 0.01
                            else self.qage + step
                        )
                        self.qage = max(self.qage, 1.0)
                    inn[s.consumer] += consumed / step
                    self.out[n]["q_in"].append(pub + redeliver)
                    self.out[n]["q_out"].append(consumed / step)
                    self.out[n]["q_depth"].append(self.backlog)
                    self.out[n]["q_age"].append(self.qage)
                for e in s.deps:
                    r = m.retries.get(e.key, e.retries)
                    pe = self.prev_err[e.key]
                    amp = sum(pe**i for i in range(1, r + 1))
                    c = inn[n] * e.k * m.kmult[e.key]
                    if e.kind == "cache":
                        if n in m.cache_off:
                            c = 0.0
                        hit = W.svcs[e.dst].hit * (1 - self.prev_err[e.key])
                        inn["__miss__" + n] = (
                            inn[n] * e.k * (1 - hit if n not in m.cache_off else 1.0)
                        )
                    elif e.kind == "sync" and e.dst == W.db and ("__miss__" + n) in inn:
                        c += inn["__miss__" + n]
                    c *= 1 + amp
                    calls[e.key] = c
                    ef = m.edge_fail.get(e.key)
                    inn[e.dst] += c * (1 - ef[0]) if (ef and not ef[3]) else c
            # ---- bottom-up latency/errors
            res = {}
            for n in reversed(W.order):
                s = W.svcs[n]
                lst = self.insts[n]
                ups = [i for i in lst if i.up and not (i.crash and not i.serving)]
                n_up = len(ups)
                reasons = defaultdict(float)
                load = inn[n]
                dfrac, dtext = m.down.get(n, (0.0, ""))
                if s.role in ("ext", "queue", "db", "cache", "search"):
                    n_up_eff = max(0.0, len(lst) * (1 - dfrac))
                else:
                    n_up_eff = n_up * (1 - dfrac)
                capc = max(1e-6, n_up_eff * s.cap * m.cap[n])
                u = load / capc if n_up_eff > 0 else 9.0
                q = 1.0 / (1 - min(u, 0.93)) if s.role != "ext" else 1.0
                mf = max(0.0, self.memfrac.get(n, 0.0) - 0.85)
                p50 = s.p50 * m.lat[n] * (1 + 0.35 * (q - 1)) * (1 + 6 * mf) + m.lat_add[n]
                p99 = s.p99 * m.lat[n] * q * (1 + 30 * mf) + m.lat_add[n] * 2.5
                if mf > 0.05:
                    reasons[
                        (
                            "warn",
                            {
                                "java": "[gc] Pause Full (G1 Compaction Pause) %dM->%dM(%dM) %.3fs"
                                % (
                                    s.mem_limit / 2**20 * 0.97,
                                    s.mem_limit / 2**20 * 0.95,
                                    s.mem_limit / 2**20,
                                    0.4 + 8 * mf,
                                ),
                                "go": "GC forced; heap near GOMEMLIMIT (%dMiB)"
                                % (s.mem_limit / 2**20),
                                "python": "worker rss %dMB close to limit, request latency degraded"
                                % (s.mem_limit / 2**20 * 0.95),
                                "node": "<--- Last few GCs ---> Mark-Compact (reduce) %.1f -> %.1f MB, pooled: 0 MB"
                                % (s.mem_limit / 2**20 * 0.97, s.mem_limit / 2**20 * 0.96),
                            }[s.lang],
                        )
                    ] += mf * 2
                own = s.base_err * (0.5 + rng.random()) + m.own_err[n]
                if m.own_err[n] > 0 and n in m.own_reason:
                    reasons[m.own_reason[n]] += m.own_err[n]
                if s.base_err:
                    reasons[("error", W.bg_err_text[n])] += s.base_err
                errs = [own]
                if n_up_eff <= 0:
                    errs.append(1.0)
                    reasons[("error", dtext or "no healthy upstream")] += 1.0
                    p50, p99 = 0.001, 0.003
                elif dfrac > 0:
                    errs.append(dfrac * 0.8)
                    reasons[("error", dtext)] += dfrac * 0.8
                if u > 1:
                    ov = (u - 1) / u
                    errs.append(ov)
                    txt = {
                        "ext": "HTTP 429 Too Many Requests from %s: rate limit exceeded (quota %d req/s)"
                        % (n, s.cap),
                        "db": "canceling statement due to statement timeout",
                        "cache": "ERR max number of clients reached",
                        "search": "rejected execution of coordinating operation [search] (queue capacity 1000)",
                        "queue": "channel blocked: resource alarm (memory)",
                    }.get(s.role, "request queue full, shedding load (503)")
                    reasons[("error", txt)] += ov
                    if s.role != "ext":
                        p99 = max(p99, s.p99 * 12)
                # per-instance errors (canary/region)
                if ups:
                    ie = [m.inst_err.get((n, i.idx), (0.0, None)) for i in ups]
                    frac = sum(x[0] for x in ie) / len(ups)
                    if frac > 0:
                        errs.append(frac)
                        txt = [x[1] for x in ie if x[1]][0]
                        reasons[("error", txt)] += frac
                # disk
                if n in m.disk:
                    self.disk[n] = m.disk[n]
                if self.disk.get(n, 0) >= 0.999:
                    errs.append(0.35)
                    reasons[("error", W.disk_text.get(n, "No space left on device"))] += 0.35
                # db connections
                if s.role == "db":
                    maxc = m.maxconn.get(n, s.max_conn)
                    demand = self.db_conns_prev
                    if demand > maxc:
                        fr = (demand - maxc) / demand
                        errs.append(fr * 0.2)
                        reasons[("error", "FATAL: sorry, too many clients already")] += fr * 0.2
                        res["__dbrefuse"] = fr
                        res["__dbreason"] = "FATAL: sorry, too many clients already"
                    else:
                        res["__dbrefuse"] = 0.0
                # dependencies
                lat50_dep = 0.0
                lat99_dep = 0.0
                new_conns = 0.0
                for e in s.deps:
                    B = res.get(e.dst)
                    if B is None:
                        continue
                    c = calls.get(e.key, 0.0)
                    bp50, bp99, berr, btext = B["p50"], B["p99"], B["err"], B["top"]
                    add = m.edge_lat[e.key]
                    fail = 0.0
                    ftext = None
                    flat = 0.0
                    if e.key in m.edge_fail:
                        fail, ftext, flat = m.edge_fail[e.key][:3]
                    tmo = m.timeout.get(e.key, e.timeout)
                    eff50 = bp50 + add
                    eff99 = bp99 + add * 3
                    p_to = 1 - lognorm_cdf(tmo, max(eff50, 1e-4), max(eff99, eff50 * 1.1))
                    if e.dst == W.db and res.get("__dbrefuse", 0) > 0:
                        berr = 1 - (1 - berr) * (1 - res["__dbrefuse"])
                        btext = res["__dbreason"]
                    e_try = 1 - (1 - berr) * (1 - p_to) * (1 - fail)
                    r = m.retries.get(e.key, e.retries)
                    final = e_try ** (r + 1)
                    l50 = min(eff50, tmo) * (1 + r * e_try) + flat * fail
                    l99 = min(eff99, tmo) * (1 + r * e_try) + flat * fail
                    # pool
                    pool = m.pool.get(e.key, e.pool)
                    if pool:
                        pcap = pool * max(n_up, 0)
                        demand = (c / max(e.k, 0.1)) * (
                            s.p50 * m.lat[n] + min(e.k * eff50 * 1.4, tmo)
                        ) + (c * flat * fail)
                        used = min(demand, pcap)
                        pend = max(0.0, demand - pcap)
                        idle = max(0.0, min(pcap - used, max(n_up, 0) * min(3, pool)))
                        new_conns += used + idle
                        self.edge_out[e.key]["pool_demand"].append(demand / max(n_up, 1))
                        self.edge_out[e.key]["pool_used"].append(used)
                        self.edge_out[e.key]["pool_max"].append(pcap)
                        self.edge_out[e.key]["pool_pending"].append(pend)
                        self.edge_out[e.key]["pool_idle"].append(idle)
                        if demand > pcap and pcap > 0:
                            pe = (demand - pcap) / demand
                            final = 1 - (1 - final) * (1 - pe * 0.85)
                            l99 += 2.0 * pe
                            l50 += 0.5 * pe
                            ptxt = {
                                "java": "java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out after 30000ms.",
                                "go": "pq: sorry, could not acquire connection: context deadline exceeded (pool: %d/%d in use)"
                                % (pool, pool),
                                "python": "sqlalchemy.exc.TimeoutError: QueuePool limit of size %d overflow 0 reached, connection timed out, timeout 30.00"
                                % pool,
                                "node": "Error: timeout exceeded when trying to connect (pg-pool, max=%d)"
                                % pool,
                            }[s.lang]
                            reasons[("error", ptxt)] += pe * 0.85 * e.crit
                    self.edge_out[e.key]["calls"].append(c)
                    self.edge_out[e.key]["fail"].append(final)
                    self.edge_out[e.key]["p99"].append(l99)
                    self.edge_out[e.key]["p50"].append(l50)
                    self.prev_err[e.key] = e_try
                    if e.kind == "cache":
                        if final > 0.05:
                            reasons[
                                (
                                    "warn",
                                    "cache get failed, falling back to database: %s"
                                    % (btext or "i/o timeout"),
                                )
                            ] += final * 0.5
                        hit = W.svcs[e.dst].hit if n not in m.cache_off else 0
                        lat50_dep += e.k * (bp50 + (1 - hit) * 0)
                        continue
                    contrib = final * e.crit
                    if contrib > 0:
                        errs.append(contrib)
                        if fail > 0 and ftext and fail * e.crit > 0.001:
                            reasons[("error", ftext)] += fail ** (r + 1) * e.crit
                        if p_to > 0.002:
                            reasons[("error", tcp_fail_text(s.lang, e.dst, "timeout"))] += (
                                p_to ** (r + 1)
                            ) * e.crit
                        if berr > 0.002 and btext:
                            st = 503 if "timeout" not in btext.lower() else 504
                            if e.dst == W.ext or W.svcs[e.dst].role in (
                                "db",
                                "cache",
                                "queue",
                                "search",
                            ):
                                reasons[("error", "%s call failed: %s" % (e.dst, btext))] += (
                                    berr ** (r + 1) * e.crit
                                )
                            else:
                                reasons[
                                    ("error", client_quote(s.lang, s.proto, e.dst, st, btext))
                                ] += berr ** (r + 1) * e.crit
                    if e_try > 0.02 and r > 0:
                        reasons[
                            ("warn", "retrying %s (attempt 2/%d) after error" % (e.dst, r + 1))
                        ] += e_try * 0.3
                    kk = e.k if e.kind != "pub" else 1
                    lat50_dep += kk * l50
                    lat99_dep += kk * l99 * (0.7 if len(s.deps) > 1 else 1.0)
                if s.role == "db":
                    pass
                p50 += lat50_dep
                p99 = max(p99 + lat99_dep, p50 * 1.5)
                # worker slots (threads / concurrency)
                if s.role in ("app", "edge") and n_up > 0:
                    sl = s.slots * n_up * m.slots[n]
                    busy = load * p50 * 1.3
                    o_ = self.out[n]
                    o_["slots_demand"].append(busy)
                    if busy > sl:
                        pe = (busy - sl) / busy
                        errs.append(pe)
                        txt = {
                            "java": "o.a.tomcat.util.threads.ThreadPoolExecutor: Task rejected: thread pool exhausted (maxThreads=%d)"
                            % s.slots,
                            "go": "http: Accept error: too many concurrent requests (limit %d); returning 503"
                            % s.slots,
                            "python": "gunicorn: WORKER TIMEOUT / all %d workers busy, request queued"
                            % s.slots,
                            "node": "503 Service Unavailable: server overloaded (maxConnections=%d)"
                            % s.slots,
                        }[s.lang]
                        reasons[("error", txt)] += pe
                        p99 = max(p99, tmo_guess(s) if False else p99 * 1.5)
                    self.out[n]["slots_busy"].append(min(busy, sl))
                    self.out[n]["slots_max"].append(sl)
                else:
                    self.out[n]["slots_busy"].append(0.0)
                    self.out[n]["slots_max"].append(0.0)
                err = 1.0
                for x in errs:
                    err *= 1 - min(1.0, max(0.0, x))
                err = min(1.0, max(0.0, 1 - err))
                tot = sum(reasons.values()) or 1.0
                rs = {k: v / tot for k, v in reasons.items() if v > 0}
                top = None
                errlist = [(v, k[1]) for k, v in reasons.items() if k[0] == "error"]
                if errlist:
                    top = max(errlist)[1]
                res[n] = dict(p50=p50, p99=p99, err=err, top=top)
                self.reasons[n].append(rs)
                o = self.out[n]
                o["rps"].append(load)
                o["err"].append(err)
                o["p50"].append(p50)
                o["p99"].append(p99)
                o["util"].append(u)
                o["n_up"].append(n_up)
                if s.role == "db":
                    o["conns"].append(self.db_conns_prev)
                    o["max_conn"].append(m.maxconn.get(n, s.max_conn))
                if s.role == "cache":
                    hits = load * s.hit * (1 - err)
                    o["hits"].append(hits)
                    o["misses"].append(load - hits)
                    o["clients"].append(
                        sum(
                            len(self.insts[e.src]) * 4
                            for x in W.svcs.values()
                            for e in x.deps
                            if e.dst == n and calls.get(e.key, 0) > 0
                        )
                        + 3
                    )
                o["disk"].append(self.disk.get(n, W.disk_base.get(n, 0.4)))
                # per-instance
                self.oom_now = {}
                self._inst_tick(n, s, t, m, u, ups, lst)
                if self.oom_now.get(n):
                    k_ = self.oom_now[n] / max(1, len(lst))
                    fr = min(1.0, k_ * self.rng.uniform(0.2, 0.5))
                    o["err"][-1] = 1 - (1 - o["err"][-1]) * (1 - fr)
                    txt = {
                        "java": "java.io.IOException: Broken pipe (in-flight request aborted)",
                        "go": "http: proxy error: EOF (backend connection reset)",
                        "python": "upstream prematurely closed connection while reading response header",
                        "node": "Error: socket hang up",
                    }[s.lang]
                    self.reasons[n][-1][("error", txt)] = (
                        self.reasons[n][-1].get(("error", txt), 0) + fr
                    )
                if n == W.db:
                    pass
            # db conns from callers' pools (used next tick)
            tot_conn = 0.0
            for x in W.svcs.values():
                for e in x.deps:
                    if e.dst == W.db and self.edge_out[e.key]["pool_used"]:
                        ef = self.edge_fail_t.get((e.key, t))
                        reach = 1 - ef[0] if (ef and not ef[3]) else 1.0
                        tot_conn += (
                            self.edge_out[e.key]["pool_used"][-1]
                            + self.edge_out[e.key]["pool_idle"][-1]
                        ) * reach
            self.db_conns_prev = tot_conn + 3
            if t == 0 and self.out[W.db]["conns"]:
                self.out[W.db]["conns"][0] = self.db_conns_prev
            if W.worker:
                self.prev_err[("w", W.worker)] = 0.0
            # autoscaler
            for n, cfg in W.hpa.items():
                us = self.out[n]["util"]
                if (
                    len(us) >= 3
                    and min(us[-3:]) > cfg["thr"]
                    and t - cfg.get("last", -999) > cfg["cool"]
                    and len(self.insts[n]) < cfg["max"]
                ):
                    old = len(self.insts[n])
                    new = min(
                        cfg["max"], max(old + 1, int(math.ceil(old * max(us[-1], 1.0) / 0.6)))
                    )
                    cfg["last"] = t
                    for k in range(old, new):
                        ni = Inst(n, k, self.insts[n][0].rs, W.rng_region[k % 2], t)
                        ni.version = self.insts[n][0].version
                        ni.up = False
                        ni.down_until = t + max(1, int(60 / step))
                        ni.host = "ip-10-%d-%d-%d" % (
                            rng.randint(0, 3),
                            rng.randint(0, 255),
                            rng.randint(2, 254),
                        )
                        self.insts[n].append(ni)
                    self.auto_changes.append((t, n, old, new))

    def _inst_tick(self, n, s, t, m, u, ups, lst):
        step = self.step
        for inst in lst:
            name = self.inst_name(n, inst)
            io = self.inst_out[n]
            if t < inst.born:
                continue
            if inst.crash and inst.up:
                # crash loop: runs briefly then exits
                self.restart(
                    n,
                    inst,
                    t,
                    max(1, int(min(300, 10 * inst.backoff) / step)),
                    "BackOff",
                    "Back-off restarting failed container %s in pod %s" % (n, name),
                )
                inst.backoff = min(inst.backoff * 2, 32)
            leak = m.leak[n]
            mem = (
                s.mem_base * (0.97 + 0.06 * self.rng.random()) + leak * (t - inst.mem_t0) * step
                if inst.up
                else None
            )
            if inst.up and mem is not None and mem > s.mem_limit:
                self.oom_now[n] = self.oom_now.get(n, 0) + 1
                self.restart(
                    n,
                    inst,
                    t,
                    max(1, int(self.rng.uniform(40, 150) / step)),
                    "OOMKilled",
                    "Container %s in pod %s was OOMKilled (memory limit %dMi)"
                    % (n, name, s.mem_limit / 2**20),
                )
                mem = s.mem_limit * 0.999
            cpu = None
            if inst.up or mem is not None:
                noise = self.cpu_noise.get((n, inst.idx), 0.03)
                cpu = min(1.0, 0.04 + 0.75 * min(u, 1.3) + abs(self.rng.gauss(0, noise)))
                if n in m.cpu_limit:
                    cpu = min(cpu, m.cpu_limit[n])
            if mem is not None and inst.up:
                self.memfrac[n] = max(
                    self.memfrac.get(n, 0.0) if inst is not lst[0] else 0.0, mem / s.mem_limit
                )
            io["up"][name][t] = 1 if inst.up else 0
            io["restarts"][name][t] = inst.restarts
            if mem is not None:
                io["mem"][name][t] = mem
                io["mem_limit"][name][t] = s.mem_limit
            if cpu is not None:
                io["cpu"][name][t] = cpu
            ie = m.inst_err.get((n, inst.idx), (0.0, None))[0]
            share = (1.0 / max(1, len(ups))) if inst.up else 0.0
            io["rps"][name][t] = self.out[n]["rps"][-1] * share
            mie = sum(m.inst_err.get((n, i.idx), (0.0, None))[0] for i in ups) / max(1, len(ups))
            io["err"][name][t] = (
                min(1.0, max(0.0, self.out[n]["err"][-1] - mie) + ie) if inst.up else 0.0
            )
            io["version"][name][t] = inst.version
            io["errtext"][name][t] = m.inst_err.get((n, inst.idx), (0.0, None))[1]
            io["region"][name][t] = inst.region
            io["host"][name][t] = inst.host
            io["p99"][name][t] = self.out[n]["p99"][-1] * (1 + 0.1 * self.rng.random())


def tmo_guess(s):
    return 1.0


# --------------------------------------------------------------------------- faults
EXC = {
    "java": [
        'java.lang.NullPointerException: Cannot invoke "java.math.BigDecimal.multiply(java.math.BigDecimal)" because "rate" is null\n\tat com.acme.%s.PriceMapper.toDto(PriceMapper.java:88)',
        "java.lang.IllegalStateException: Duplicate key currency (attempted merging values EUR and EUR)\n\tat com.acme.%s.RequestAssembler.build(RequestAssembler.java:142)",
    ],
    "go": [
        "panic recovered: runtime error: invalid memory address or nil pointer dereference [%s handler /v1]",
        "json: cannot unmarshal string into Go struct field Item.quantity of type int (%s)",
    ],
    "python": [
        "KeyError: 'currency' (in %s.serializers.to_response)",
        "TypeError: unsupported operand type(s) for *: 'NoneType' and 'Decimal' (%s/handlers.py:211)",
    ],
    "node": [
        "TypeError: Cannot read properties of undefined (reading 'id') at %s/dist/routes/items.js:57:31",
        "RangeError: Invalid time value at Date.toISOString (<anonymous>) [%s]",
    ],
}
FATAL = {
    "java": 'Exception in thread "main" java.lang.IllegalStateException: Failed to process message: index 3 out of bounds for length 3',
    "go": "panic: assignment to entry in nil map\n\ngoroutine 41 [running]:\nmain.(*Handler).apply(...)",
    "python": "Traceback (most recent call last): ... IndexError: list index out of range; worker exiting with code 1",
    "node": "FATAL ERROR: Uncaught TypeError: Cannot destructure property 'sku' of 'undefined'; process exited with code 1",
}
OOM = {
    "java": "java.lang.OutOfMemoryError: Java heap space",
    "go": "fatal error: runtime: out of memory",
    "python": "MemoryError",
    "node": "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
}


class Fault:
    """one injected root cause; kind/variant decide what is perturbed."""

    def __init__(self, kind, variant, W, T, step, rng):
        self.kind, self.variant, self.W, self.T, self.step, self.rng = (
            kind,
            variant,
            W,
            T,
            step,
            rng,
        )
        self.t_on = int(T * rng.uniform(0.42, 0.68))
        self.change = None
        self.target = None
        self.p = {}
        self.desc = ""
        self.page_pref = None
        self.calib = {}
        self.choose()

    def mins(self, m):
        return max(1, int(round(m * 60 / self.step)))

    def choose(self):
        W, rng, k, v = self.W, self.rng, self.kind, self.variant
        apps = W.fronts + W.mids
        if k == "deploy":
            if v == "nplus1":
                self.target = rng.choice(W.db_users)
            elif v == "canary":
                cands = [a for a in apps if W.svcs[a].pods >= 3] or apps
                self.target = rng.choice(cands)
                W.svcs[self.target].pods = max(W.svcs[self.target].pods, 4)
            else:
                self.target = rng.choice(W.mids)
                if v == "region":
                    W.svcs[self.target].pods = max(W.svcs[self.target].pods, 4)
            self.p["roll"] = rng.choice([1, 2, 3])
            self.p["frac"] = rng.uniform(0.15, 0.6) if v != "canary" else rng.uniform(0.5, 0.95)
        elif k == "config_change":
            if v == "cache_off":
                self.target = W.cache_user
            elif v == "pool":
                self.target = rng.choice(W.db_users)
            elif v in ("timeout", "retry", "endpoint"):
                cands = [
                    (a, e)
                    for a in apps
                    for e in W.svcs[a].deps
                    if e.kind == "sync" and W.svcs[e.dst].role in ("app", "ext", "search")
                ]
                a, e = rng.choice(cands)
                self.target, self.p["edge"] = a, e.key
        elif k == "resource_saturation":
            if v in ("mem_leak", "slots", "cpu_throttle"):
                self.target = rng.choice(W.mids)
            else:
                self.target = W.db
        elif k == "dependency_failure":
            self.target = {
                "ext_outage": W.ext,
                "ext_slow": W.ext,
                "db_failover": W.db,
                "broker_down": W.queue,
                "cache_down": W.cache,
            }[v]
        elif k == "network":
            if v == "sg_block":
                self.target = W.db
            elif v == "latency":
                cands = [
                    (a, e)
                    for a in apps
                    for e in W.svcs[a].deps
                    if e.kind == "sync" and W.svcs[e.dst].role in ("app", "db", "search")
                ]
                a, e = rng.choice(cands)
                self.target, self.p["edge"] = e.dst, e.key
            else:
                self.target = rng.choice(W.mids[1:] + [W.db])
        elif k == "traffic_surge":
            self.target = W.edge
        elif k == "certificate_expiry":
            if v == "ext_client":
                self.target = W.ext_user
            else:
                self.target = rng.choice(W.mids)
        elif k == "crash_loop":
            if v == "poison":
                self.target = W.worker
            else:
                self.target = rng.choice(W.mids + W.fronts)
        elif k == "unknown":
            self.target = rng.choice(W.mids + ([W.search] if W.search else []))
        # truth/change
        tc = self.t_on - (rng.randint(0, 2) if k in ("deploy", "config_change") else 0)
        self.t_change = tc

    # ---- calibration on a fault-free pass
    def calibrate(self, sim0):
        W, k, v = self.W, self.kind, self.variant
        to = self.t_on
        if k == "config_change" and v == "timeout":
            a, b = self.p["edge"]
            p50 = sorted(sim0.out[b]["p50"][max(0, to - 20) : to + 20])
            p50 = p50[len(p50) // 2]
            self.p["tmo"] = round(max(0.02, p50 * self.rng.uniform(1.1, 1.6)), 3)
        if k == "config_change" and v == "retry":
            a, b = self.p["edge"]
            ub = sim0.out[b]["util"][to]
            share = sim0.edge_out[(a, b)]["calls"][to] / max(1e-6, sim0.out[b]["rps"][to])
            # extra load from hedging must take the callee to ~1.3x capacity
            self.p["hedge"] = max(2.0, 1 + (1.3 / max(ub, 0.05) - 1) / max(share, 0.05))
        if k == "unknown" and v == "stall":
            u = sim0.out[self.target]["util"]
            self.p["capm"] = u[to] / self.rng.uniform(1.2, 1.6)
        if k == "config_change" and v == "pool":
            best = max(
                W.db_users, key=lambda a: max(sim0.edge_out[(a, W.db)]["pool_demand"] or [0])
            )
            self.target = best
            e = [x for x in W.svcs[self.target].deps if x.dst == W.db][0]
            dem = sim0.edge_out[e.key]["pool_demand"]
            peak = max(dem[to : to + 3])
            self.p["edge"] = e.key
            self.p["old"] = e.pool
            self.p["new"] = max(1, int(peak * self.rng.uniform(0.25, 0.4)))
        if k == "resource_saturation" and v == "db_conns":
            c = sim0.out[W.db]["conns"]
            self.p["maxc"] = int(max(c[: to + 1]) * 1.01) + 1
        if k == "resource_saturation" and v == "slots":
            best = max(
                W.mids,
                key=lambda a: max(sim0.out[a]["slots_demand"][: to + 1]) / max(1, W.svcs[a].pods),
            )
            self.target = best
            W.hpa.pop(best, None)
            n = len(sim0.insts[self.target])
            sb = sim0.out[self.target]["slots_demand"]
            self.p["slots"] = max(2, int(max(sb[: to + 1]) / n * 1.01) + 1)
        if k == "resource_saturation" and v == "cpu_throttle":
            u = sim0.out[self.target]["util"]
            self.p["capm"] = max(u[: to + 1]) / 0.97
        if k == "resource_saturation" and v == "mem_leak":
            s = W.svcs[self.target]
            t0min = min(i.mem_t0 for i in sim0.insts[self.target])
            self.p["leak"] = (s.mem_limit - s.mem_base * 1.03) / ((self.t_on - t0min) * self.step)

    # ---- per tick
    def apply(self, t, m, sim):
        W, k, v, tg, rng = self.W, self.kind, self.variant, self.target, self.rng
        s = W.svcs[tg] if tg else None
        on = t >= self.t_on
        if k == "deploy":
            if t >= self.t_change:
                self.rollout(t, sim, tg, self.p["new_version"], only=self.p.get("only"))
            bad = [i for i in sim.insts[tg] if i.version == self.p["new_version"] and i.up]
            if v in ("exception", "canary", "region"):
                for i in bad:
                    m.inst_err[(tg, i.idx)] = (self.p["frac"], EXC[s.lang][self.p["exc"]] % tg)
            elif v == "nplus1" and bad:
                frac = len(bad) / len(sim.insts[tg])
                m.kmult[(tg, W.db)] = 1 + frac * self.p["mult"]
            elif v == "mem_regression" and bad:
                m.leak[tg] = self.p["leak"]
        elif k == "config_change" and t >= self.t_change:
            if v == "timeout":
                m.timeout[self.p["edge"]] = self.p["tmo"]
            elif v == "pool":
                m.pool[self.p["edge"]] = self.p["new"]
            elif v == "retry":
                m.retries[self.p["edge"]] = 5
                m.kmult[self.p["edge"]] = self.p["hedge"]
            elif v == "cache_off":
                m.cache_off.add(tg)
            elif v == "endpoint":
                a, b = self.p["edge"]
                m.edge_fail[self.p["edge"]] = (
                    1.0,
                    tcp_fail_text(s.lang, self.p["badhost"], self.p["ftype"]),
                    0.002,
                    False,
                )
        elif k == "resource_saturation":
            if v == "mem_leak":
                m.leak[tg] = self.p["leak"]
            elif v == "disk_full":
                m.disk[tg] = min(1.0, self.p["d0"] + (1 - self.p["d0"]) * t / self.t_on)
            elif v == "slots":
                m.slots[tg] = self.p["slots"] / s.slots
            elif v == "db_conns":
                m.maxconn[tg] = self.p["maxc"]
            elif v == "cpu_throttle":
                m.cap[tg] = self.p["capm"] if self.p.get("capm") else 1.0
                m.cpu_limit[tg] = 1.0
        elif k == "dependency_failure" and on:
            d = t - self.t_on
            if v == "ext_outage" and d < self.p["dur"]:
                m.own_err[tg] = self.p["frac"]
                m.own_reason[tg] = ("error", self.p["text"])
            elif v == "ext_slow" and d < self.p["dur"]:
                m.lat[tg] = self.p["mult"]
            elif v == "db_failover":
                if d < self.p["dur"]:
                    m.down[tg] = (1.0, "FATAL: the database system is shutting down")
                elif d < self.p["dur"] + self.mins(15):
                    m.lat[tg] = 2.5
            elif v == "broker_down" and d < self.p["dur"]:
                m.down[tg] = (1.0, self.p["text"])
            elif v == "cache_down" and d < self.p["dur"]:
                m.down[tg] = (1.0, "connection refused")
        elif k == "network" and on:
            callers = [(a, e) for a in W.order for e in W.svcs[a].deps if e.dst == tg]
            if v == "latency":
                m.edge_lat[self.p["edge"]] += self.p["add"] * (0.7 + 0.6 * rng.random())
            for a, e in callers:
                lang = W.svcs[a].lang
                if v == "packet_loss":
                    m.edge_lat[e.key] += self.p["add"] * (0.6 + 0.8 * rng.random())
                    m.edge_fail[e.key] = (
                        self.p["loss"] * (0.5 + rng.random()),
                        tcp_fail_text(lang, tg, "reset"),
                        0.0,
                        True,
                    )
                elif v == "dns":
                    f = self.p["frac"] * (0.5 + rng.random())
                    m.edge_fail[e.key] = (
                        min(1.0, f),
                        tcp_fail_text(
                            lang, self.p["fqdn"], "dns_timeout" if self.p["to"] else "dns"
                        ),
                        5.0 if self.p["to"] else 0.01,
                        False,
                    )
                elif v == "sg_block":
                    m.edge_fail[e.key] = (
                        1.0,
                        tcp_fail_text(lang, tg, "connect_timeout"),
                        self.p["ct"],
                        False,
                    )
        elif k == "traffic_surge":
            d = t - self.t_on
            if d >= 0:
                if v == "campaign":
                    m.load *= 1 + (self.p["mult"] - 1) * min(1.0, d / self.mins(10))
                elif v == "bot":
                    m.load *= self.p["mult"] if d < self.p["dur"] else 1
                elif v == "retry_storm":
                    e0 = sim.out[W.edge]["err"][-1] if sim.out[W.edge]["err"] else 0
                    m.load *= 2.6 + 4 * e0
                elif v == "viral":
                    m.load *= 1 + (self.p["mult"] - 1) * min(1.0, d / self.mins(25))
        elif k == "certificate_expiry" and on:
            if v == "ext_client":
                e = (tg, W.ext)
                m.edge_fail[e] = (1.0, tcp_fail_text(s.lang, W.ext, "bad_cert"), 0.05, False)
            else:
                for a in W.order:
                    for e in W.svcs[a].deps:
                        if e.dst == tg:
                            lang = W.svcs[a].lang
                            txt = (
                                tcp_fail_text(
                                    lang, tg + ".svc.cluster.local" if v == "server" else tg, "x509"
                                )
                                if v == "server"
                                else "upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: TLS error: 268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED (outbound|8080||%s.prod.svc.cluster.local)"
                                % tg
                            )
                            m.edge_fail[e.key] = (1.0, txt, 0.01, False)
        elif k == "crash_loop" and on:
            for i in sim.insts[tg]:
                if (i.idx in self.p["which"]) and not i.crash:
                    i.crash = True
                    i.serving = v == "liveness"
            if v == "liveness":
                m.lat[tg] = 3.0
        elif k == "unknown" and on:
            d = t - self.t_on
            if v == "latency_creep":
                m.lat_add[tg] = self.p["add"] * min(1.0, d / self.mins(30))
            elif v == "latency_step":
                m.lat_add[tg] = self.p["add"]
            elif v == "error_burst":
                if (d // self.mins(3)) % 3 != 2:
                    m.own_err[tg] = self.p["frac"] * (0.6 + 0.8 * rng.random())
                    m.own_reason[tg] = ("error", self.p["text"])
            elif v == "stall":
                m.cap[tg] = self.p["capm"]
                m.lat[tg] = 2.0

    def rollout(self, t, sim, n, ver, only=None):
        lst = sim.insts[n]
        roll = self.p["roll"]
        tgt = [i for i in lst if only is None or only(i)]
        for j, i in enumerate(tgt):
            if t >= self.t_change + j * roll and i.version != ver:
                i.version = ver
                i.rs = h(n + ver, 10)
                i.sfx = h("%s%d%s" % (n, i.idx, ver), 5)
                i.mem_t0 = t
                i.restarts = 0
                i.backoff = 1
                i.up = False
                i.down_until = t + 1
                sim.events.append(
                    (t, n, i, "Killing", "Stopping container %s (rolling update)" % n)
                )


def prepare_fault(F, W, rng):
    k, v, s = F.kind, F.variant, (W.svcs[F.target] if F.target else None)
    p = F.p
    if k == "deploy":
        p["new_version"] = bump(s.version, rng)
        p["exc"] = rng.randint(0, 1)
        if v == "canary":
            p["only"] = lambda i: i.idx == 0
        if v == "region":
            reg = W.rng_region[1]
            p["only"] = lambda i, reg=reg: i.region == reg
            p["region"] = reg
        p["mult"] = rng.uniform(6, 14)
        p["leak"] = (s.mem_limit - s.mem_base) / (rng.uniform(5, 14) * 60)
    if k == "config_change":
        p["hedge"] = rng.uniform(2.0, 3.0)
        if v == "endpoint":
            a, b = p["edge"]
            p["ftype"] = rng.choice(["dns", "refused"])
            p["badhost"] = (
                b + rng.choice(["-v2.internal", ".prod-old.svc", "-canary.default.svc"])
                if p["ftype"] == "dns"
                else b
            )
    if k == "resource_saturation":
        p["d0"] = rng.uniform(0.78, 0.9)
    if k == "dependency_failure":
        p["dur"] = F.mins(rng.uniform(8, 40)) if v != "db_failover" else F.mins(rng.uniform(1.5, 4))
        p["frac"] = rng.uniform(0.5, 1.0)
        p["mult"] = rng.uniform(15, 40)
        p["text"] = rng.choice(
            [
                'HTTP 503 from %s: {"error":{"type":"api_error","message":"Service temporarily unavailable"}}'
                % s.name,
                "502 Bad Gateway (%s edge: upstream connect error)" % s.name,
                'HTTP 500 from %s: {"status":"error","code":"INTERNAL","message":"An unexpected error occurred"}'
                % s.name,
            ]
        )
        if v == "broker_down":
            p["text"] = rng.choice(
                [
                    "AMQP connection to %s:5672 refused (ECONNREFUSED)" % s.name,
                    "kafka: client has run out of available brokers to talk to (%s:9092): dial tcp: connection refused"
                    % s.name,
                ]
            )
    if k == "network":
        p["add"] = rng.uniform(0.5, 2.0)
        p["loss"] = rng.uniform(0.05, 0.2)
        p["frac"] = rng.uniform(0.3, 0.7)
        p["to"] = rng.random() < 0.6
        p["fqdn"] = s.name + rng.choice([".prod.svc.cluster.local", ".internal", ".service.consul"])
        p["ct"] = rng.choice([3.0, 5.0, 10.0])
    if k == "traffic_surge":
        p["mult"] = rng.uniform(2.5, 6)
        p["dur"] = F.mins(rng.uniform(15, 60))
    if k == "crash_loop":
        n = s.pods
        p["which"] = (
            set(range(n)) if v in ("poison", "panic", "startup") else set(range(max(1, n // 2 + 1)))
        )
    if k == "unknown":
        p["mult"] = rng.uniform(3, 8)
        p["frac"] = rng.uniform(0.08, 0.3)
        p["capm"] = rng.uniform(0.25, 0.45)
        p["add"] = rng.uniform(0.3, 1.5)
        p["text"] = rng.choice(
            [
                "unexpected EOF",
                "internal error",
                "request failed",
                "handler returned error: context canceled",
            ]
        )


def bump(v, rng):
    a, b, c = [int(x) for x in v[1:].split(".")]
    return "v%d.%d.%d" % ((a, b + 1, 0) if rng.random() < 0.5 else (a, b, c + 1))


class Conf:
    """confounder: innocent change rollout, or noisy cpu."""

    def __init__(self, kind, svc, t, **kw):
        self.kind, self.svc, self.t = kind, svc, t
        self.kw = kw
        self.done = False

    def apply(self, t, m, sim):
        if self.kind == "innocent_deploy" and t >= self.t:
            lst = sim.insts[self.svc]
            ver = self.kw["version"]
            for j, i in enumerate(lst):
                if t >= self.t + j and i.version != ver:
                    i.version = ver
                    i.rs = h(self.svc + ver, 10)
                    i.sfx = h("%s%d%s" % (self.svc, i.idx, ver), 5)
                    i.mem_t0 = t
                    i.restarts = 0
                    i.up = False
                    i.down_until = t + 1
                    sim.events.append(
                        (
                            t,
                            self.svc,
                            i,
                            "Killing",
                            "Stopping container %s (rolling update)" % self.svc,
                        )
                    )
        if self.kind == "noisy_cpu":
            sim.cpu_noise[(self.svc, 0)] = 0.25
        if self.kind == "innocent_config" and t >= self.t:
            m.lat[self.svc] *= self.kw.get("lat", 1.0)


# --------------------------------------------------------------------------- metric rendering
def fmt(x):
    if x is None:
        return None
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        return None
    if abs(x - round(x)) < 1e-9 and abs(x) < 1e15:
        return str(int(round(x)))
    return "%.6g" % x


def poisson(rng, lam):
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, int(round(rng.gauss(lam, math.sqrt(lam)))))
    L, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= L:
            return k
        k += 1


class MW:
    def __init__(self, ctx):
        self.ctx = ctx
        self.files = defaultdict(list)
        self.queries = {}

    def add(self, stem, name, labels, values, query=None):
        c = self.ctx
        lab = {}
        if name and c.with_name:
            lab["__name__"] = name
        lab.update({k: str(v) for k, v in labels.items() if v is not None})
        vals = []
        for t, v in enumerate(values):
            f = fmt(v)
            if f is not None:
                vals.append([c.times[t], f])
        if not vals:
            return
        self.files[stem].append({"metric": lab, "values": vals})
        if query:
            if c.skey != "service":
                query = query.replace("by (service,", "by (%s," % c.skey).replace(
                    "by (service)", "by (%s)" % c.skey
                )
            self.queries[stem] = query


class Ctx:
    pass


def inst_series(sim, n, sig, T):
    out = {}
    for name, d in sim.inst_out[n][sig].items():
        out[name] = [d.get(t) for t in range(T)]
    return out


def inst_counter(sim, n, sig, T, step, rng, scale=1.0):
    """cumulative counters per instance, reset when the container restarts / new pod."""
    res = {}
    rs = sim.inst_out[n]["restarts"]
    for name, d in sim.inst_out[n][sig].items():
        cum, vals, last_r = float(rng.randint(0, 5000)) if d.get(0) is not None else 0.0, [], None
        for t in range(T):
            v = d.get(t)
            if v is None:
                vals.append(None)
                continue
            r = rs[name].get(t)
            if last_r is not None and r is not None and r != last_r:
                cum = 0.0
            last_r = r
            if sim.inst_out[n]["up"][name].get(t) == 0:
                vals.append(None)
                continue
            cum += poisson(rng, v * step * scale)
            vals.append(cum)
        res[name] = vals
    return res


def render_metrics(ctx):
    mw = MW(ctx)
    {"aws": r_aws, "gcp": r_gcp, "azure": r_azure, "datadog": r_dd, "otel": r_otel, "vm": r_vm}[
        ctx.stack
    ](ctx, mw)
    return mw


def zone(ctx, n, nm):
    d = ctx.sim.inst_out[n]["region"].get(nm)
    return next(iter(d.values())) if d else None


def S(ctx, n, sig):
    return ctx.sim.out[n][sig]


def period(ctx, rate, noise=True):
    return [poisson(ctx.rng, r * ctx.step) if noise else r * ctx.step for r in rate]


def lab(ctx, n, **kw):
    d = {ctx.skey: n}
    d.update(kw)
    return d


def edges_to(ctx, dst):
    return [e for x in ctx.W.svcs.values() for e in x.deps if e.dst == dst]


def r_aws(ctx, mw):
    W, sim, T, rng = ctx.W, ctx.sim, ctx.T, ctx.rng
    acct = str(rng.randint(10**11, 10**12 - 1))
    reg = W.rng_region[0]
    base = dict(region=reg, account_id=acct)
    for n in ctx.msvcs:
        s = W.svcs[n]
        rps, err, p99, p50 = S(ctx, n, "rps"), S(ctx, n, "err"), S(ctx, n, "p99"), S(ctx, n, "p50")
        if s.role in ("edge", "app") and n not in ctx.lambdas:
            if s.role == "edge":
                L = dict(base, dimension_LoadBalancer="app/%s/%s" % (n, h(n, 16)))
            else:
                L = dict(
                    base,
                    dimension_LoadBalancer="app/internal-%s/%s" % (W.domain, h(W.domain, 16)),
                    dimension_TargetGroup="targetgroup/%s-tg/%s" % (n[:20], h(n + "tg", 16)),
                )
            req = period(ctx, rps)
            e5 = [poisson(rng, r * e * ctx.step) for r, e in zip(rps, err)]
            mw.add(
                "aws_applicationelb_request_count_sum",
                "aws_applicationelb_request_count_sum",
                lab(ctx, n, **L),
                req,
            )
            mw.add(
                "aws_applicationelb_httpcode_target_5_xx_count_sum",
                "aws_applicationelb_httpcode_target_5_xx_count_sum",
                lab(ctx, n, **L),
                e5,
            )
            mw.add(
                "aws_applicationelb_target_response_time_average",
                "aws_applicationelb_target_response_time_average",
                lab(ctx, n, **L),
                [a * 1.2 for a in p50],
            )
            mw.add(
                "aws_applicationelb_target_response_time_p99",
                "aws_applicationelb_target_response_time_p99",
                lab(ctx, n, **L),
                p99,
            )
            nup = S(ctx, n, "n_up")
            tot = [len([1 for nm, d in sim.inst_out[n]["up"].items() if t in d]) for t in range(T)]
            mw.add(
                "aws_applicationelb_healthy_host_count_average",
                "aws_applicationelb_healthy_host_count_average",
                lab(ctx, n, **L),
                nup,
            )
            mw.add(
                "aws_applicationelb_un_healthy_host_count_average",
                "aws_applicationelb_un_healthy_host_count_average",
                lab(ctx, n, **L),
                [max(0, a - b) for a, b in zip(tot, nup)],
            )
            if s.role == "app":
                E = dict(base, dimension_ClusterName="%s-prod" % W.domain, dimension_ServiceName=n)
                cpu = inst_series(sim, n, "cpu", T)
                mem = inst_series(sim, n, "mem", T)
                avg = []
                mavg = []
                for t in range(T):
                    xs = [v[t] for v in cpu.values() if v[t] is not None]
                    ms = [v[t] for v in mem.values() if v[t] is not None]
                    avg.append(100 * sum(xs) / len(xs) if xs else None)
                    mavg.append(100 * sum(ms) / len(ms) / s.mem_limit if ms else None)
                mw.add(
                    "aws_ecs_cpuutilization_average",
                    "aws_ecs_cpuutilization_average",
                    lab(ctx, n, **E),
                    avg,
                )
                mw.add(
                    "aws_ecs_cpuutilization_maximum",
                    "aws_ecs_cpuutilization_maximum",
                    lab(ctx, n, **E),
                    [None if a is None else min(100, a * rng.uniform(1.05, 1.3)) for a in avg],
                )
                mw.add(
                    "aws_ecs_memory_utilization_average",
                    "aws_ecs_memory_utilization_average",
                    lab(ctx, n, **E),
                    mavg,
                )
                mw.add(
                    "aws_ecs_containerinsights_running_task_count_average",
                    "aws_ecs_containerinsights_running_task_count_average",
                    lab(ctx, n, **E),
                    nup,
                )
        elif n in ctx.lambdas:
            F = dict(base, dimension_FunctionName="%s-%s" % (W.domain, n))
            conc = [r * a * 1.2 for r, a in zip(rps, p50)]
            sb, sm = S(ctx, n, "slots_busy"), S(ctx, n, "slots_max")
            thr = [
                poisson(rng, max(0.0, r * e - r * 0.0) * ctx.step * (1.0 if b >= m * 0.99 else 0.0))
                for r, e, b, m in zip(rps, err, sb, sm)
            ]
            inv = period(ctx, rps)
            mw.add(
                "aws_lambda_invocations_sum", "aws_lambda_invocations_sum", lab(ctx, n, **F), inv
            )
            mw.add(
                "aws_lambda_errors_sum",
                "aws_lambda_errors_sum",
                lab(ctx, n, **F),
                [
                    poisson(rng, r * e * ctx.step)
                    if b < m * 0.99
                    else poisson(rng, r * e * ctx.step * 0.2)
                    for r, e, b, m in zip(rps, err, sb, sm)
                ],
            )
            mw.add("aws_lambda_throttles_sum", "aws_lambda_throttles_sum", lab(ctx, n, **F), thr)
            mw.add(
                "aws_lambda_duration_p99",
                "aws_lambda_duration_p99",
                lab(ctx, n, **F),
                [x * 1000 for x in p99],
            )
            mw.add(
                "aws_lambda_duration_average",
                "aws_lambda_duration_average",
                lab(ctx, n, **F),
                [x * 1300 for x in p50],
            )
            mw.add(
                "aws_lambda_concurrent_executions_maximum",
                "aws_lambda_concurrent_executions_maximum",
                lab(ctx, n, **F),
                [min(c, m) if m else c for c, m in zip(conc, sm)],
            )
        elif s.role == "db":
            D = dict(base, dimension_DBInstanceIdentifier="%s-%d" % (n, 1))
            mw.add(
                "aws_rds_database_connections_average",
                "aws_rds_database_connections_average",
                lab(ctx, n, **D),
                [
                    None if d else round(c)
                    for c, d in zip(S(ctx, n, "conns"), ctx.down_mask.get(n, [0] * T))
                ],
            )
            mw.add(
                "aws_rds_cpuutilization_average",
                "aws_rds_cpuutilization_average",
                lab(ctx, n, **D),
                [min(100, 5 + 80 * min(u, 1.2)) + rng.uniform(0, 3) for u in S(ctx, n, "util")],
            )
            mw.add(
                "aws_rds_read_latency_average",
                "aws_rds_read_latency_average",
                lab(ctx, n, **D),
                [x * 0.4 for x in p50],
            )
            mw.add(
                "aws_rds_write_latency_average",
                "aws_rds_write_latency_average",
                lab(ctx, n, **D),
                [x * 0.8 for x in p50],
            )
            mw.add(
                "aws_rds_free_storage_space_average",
                "aws_rds_free_storage_space_average",
                lab(ctx, n, **D),
                [max(0, (1 - d)) * 500 * 2**30 for d in S(ctx, n, "disk")],
            )
        elif s.role == "cache":
            C = dict(base, dimension_CacheClusterId="%s-001" % n)
            mw.add(
                "aws_elasticache_cache_hits_sum",
                "aws_elasticache_cache_hits_sum",
                lab(ctx, n, **C),
                period(ctx, S(ctx, n, "hits")),
            )
            mw.add(
                "aws_elasticache_cache_misses_sum",
                "aws_elasticache_cache_misses_sum",
                lab(ctx, n, **C),
                period(ctx, S(ctx, n, "misses")),
            )
            mw.add(
                "aws_elasticache_curr_connections_average",
                "aws_elasticache_curr_connections_average",
                lab(ctx, n, **C),
                S(ctx, n, "clients"),
            )
        elif s.role == "queue":
            Q = dict(base, dimension_QueueName="%s-%s" % (W.domain, n))
            mw.add(
                "aws_sqs_approximate_number_of_messages_visible_average",
                "aws_sqs_approximate_number_of_messages_visible_average",
                lab(ctx, n, **Q),
                [round(x) for x in S(ctx, n, "q_depth")],
            )
            mw.add(
                "aws_sqs_approximate_age_of_oldest_message_maximum",
                "aws_sqs_approximate_age_of_oldest_message_maximum",
                lab(ctx, n, **Q),
                [round(x) for x in S(ctx, n, "q_age")],
            )
            mw.add(
                "aws_sqs_number_of_messages_sent_sum",
                "aws_sqs_number_of_messages_sent_sum",
                lab(ctx, n, **Q),
                period(ctx, S(ctx, n, "q_in")),
            )
            mw.add(
                "aws_sqs_number_of_messages_deleted_sum",
                "aws_sqs_number_of_messages_deleted_sum",
                lab(ctx, n, **Q),
                period(ctx, S(ctx, n, "q_out")),
            )


def r_gcp(ctx, mw):
    W, sim, T, rng = ctx.W, ctx.sim, ctx.T, ctx.rng
    proj = "%s-prod-%d" % (W.domain, rng.randint(100, 999))
    loc = W.rng_region[0]
    for n in ctx.msvcs:
        s = W.svcs[n]
        rps, err, p99, p50 = S(ctx, n, "rps"), S(ctx, n, "err"), S(ctx, n, "p99"), S(ctx, n, "p50")
        if s.role == "edge":
            L = dict(
                project_id=proj,
                url_map_name="%s-urlmap" % n,
                backend_target_name="%s-backend" % W.fronts[0],
            )
            for cls, f in (("200", lambda r, e: r * (1 - e)), ("500", lambda r, e: r * e)):
                mw.add(
                    "lb_request_rate",
                    None,
                    lab(ctx, n, response_code_class=cls, **L),
                    [f(r, e) * rng.uniform(0.97, 1.03) for r, e in zip(rps, err)],
                    'sum by (service, response_code_class) (rate(loadbalancing_googleapis_com:https_request_count{url_map_name="%s-urlmap"}[5m]))'
                    % n,
                )
            mw.add(
                "lb_total_latency_p99_ms",
                None,
                lab(ctx, n, **L),
                [x * 1000 + 8 for x in p99],
                'histogram_quantile(0.99, sum by (service, le) (rate(loadbalancing_googleapis_com:https_total_latencies_bucket{url_map_name="%s-urlmap"}[5m])))'
                % n,
            )
        elif s.role == "app":
            L = dict(
                project_id=proj,
                location=loc,
                service_name=n,
                revision_name="%s-%05d-%s" % (n, rng.randint(10, 400), h(n, 3)),
            )
            for cls, f in (("2xx", lambda r, e: r * (1 - e)), ("5xx", lambda r, e: r * e)):
                mw.add(
                    "run_request_rate",
                    None,
                    lab(ctx, n, response_code_class=cls, **L),
                    [f(r, e) for r, e in zip(rps, err)],
                    "sum by (service, service_name, response_code_class) (rate(run_googleapis_com:request_count[1m]))",
                )
            mw.add(
                "run_request_latencies_p99",
                None,
                lab(ctx, n, **L),
                [x * 1000 for x in p99],
                "histogram_quantile(0.99, sum by (service, service_name, le) (rate(run_googleapis_com:request_latencies_bucket[1m])))",
            )
            mw.add(
                "run_request_latencies_p50",
                None,
                lab(ctx, n, **L),
                [x * 1000 for x in p50],
                "histogram_quantile(0.5, sum by (service, service_name, le) (rate(run_googleapis_com:request_latencies_bucket[1m])))",
            )
            mw.add(
                "run_googleapis_com:container_instance_count",
                "run_googleapis_com:container_instance_count",
                lab(ctx, n, state="active", **L),
                S(ctx, n, "n_up"),
            )
            cpu = inst_series(sim, n, "cpu", T)
            mem = inst_series(sim, n, "mem", T)
            mx = [
                max([v[t] for v in cpu.values() if v[t] is not None] or [None])
                if any(v[t] is not None for v in cpu.values())
                else None
                for t in range(T)
            ]
            mm = [
                max([v[t] for v in mem.values() if v[t] is not None] or [0]) / s.mem_limit
                if any(v[t] is not None for v in mem.values())
                else None
                for t in range(T)
            ]
            mw.add(
                "run_googleapis_com:container_cpu_utilizations_p99",
                None,
                lab(ctx, n, **L),
                mx,
                "histogram_quantile(0.99, sum by (service, service_name, le) (rate(run_googleapis_com:container_cpu_utilizations_bucket[1m])))",
            )
            mw.add(
                "run_googleapis_com:container_memory_utilizations_p99",
                None,
                lab(ctx, n, **L),
                mm,
                "histogram_quantile(0.99, sum by (service, service_name, le) (rate(run_googleapis_com:container_memory_utilizations_bucket[1m])))",
            )
            mw.add(
                "run_googleapis_com:container_max_request_concurrencies",
                "run_googleapis_com:container_max_request_concurrencies",
                lab(ctx, n, **L),
                [b / max(1, u) for b, u in zip(S(ctx, n, "slots_busy"), S(ctx, n, "n_up"))],
            )
        elif s.role == "db":
            L = dict(project_id=proj, database_id="%s:%s" % (proj, n), region=loc)
            dm = ctx.down_mask.get(n, [0] * T)
            mw.add(
                "cloudsql_googleapis_com:database_postgresql_num_backends",
                "cloudsql_googleapis_com:database_postgresql_num_backends",
                lab(ctx, n, **L),
                [None if d else round(c) for c, d in zip(S(ctx, n, "conns"), dm)],
            )
            mw.add(
                "cloudsql_googleapis_com:database_cpu_utilization",
                "cloudsql_googleapis_com:database_cpu_utilization",
                lab(ctx, n, **L),
                [
                    None if d else min(1, 0.05 + 0.8 * min(u, 1.2))
                    for u, d in zip(S(ctx, n, "util"), dm)
                ],
            )
            mw.add(
                "cloudsql_googleapis_com:database_disk_utilization",
                "cloudsql_googleapis_com:database_disk_utilization",
                lab(ctx, n, **L),
                S(ctx, n, "disk"),
            )
            mw.add(
                "cloudsql_googleapis_com:database_up",
                "cloudsql_googleapis_com:database_up",
                lab(ctx, n, **L),
                [0 if d else 1 for d in dm],
            )
        elif s.role == "cache":
            L = dict(
                project_id=proj,
                instance_id="projects/%s/locations/%s/instances/%s" % (proj, loc, n),
            )
            hits, miss = S(ctx, n, "hits"), S(ctx, n, "misses")
            mw.add(
                "redis_googleapis_com:stats_cache_hit_ratio",
                "redis_googleapis_com:stats_cache_hit_ratio",
                lab(ctx, n, **L),
                [a / (a + b) if a + b > 0 else None for a, b in zip(hits, miss)],
            )
            mw.add(
                "redis_googleapis_com:clients_connected",
                "redis_googleapis_com:clients_connected",
                lab(ctx, n, **L),
                S(ctx, n, "clients"),
            )
        elif s.role == "queue":
            L = dict(project_id=proj, subscription_id="%s-sub" % n)
            dm = ctx.down_mask.get(n, [0] * T)
            mw.add(
                "pubsub_googleapis_com:subscription_num_undelivered_messages",
                "pubsub_googleapis_com:subscription_num_undelivered_messages",
                lab(ctx, n, **L),
                [round(x) for x in S(ctx, n, "q_depth")],
            )
            mw.add(
                "pubsub_googleapis_com:subscription_oldest_unacked_message_age",
                "pubsub_googleapis_com:subscription_oldest_unacked_message_age",
                lab(ctx, n, **L),
                [round(x) for x in S(ctx, n, "q_age")],
            )
            mw.add(
                "pubsub_googleapis_com:topic_send_request_count",
                None,
                lab(ctx, n, response_code="success", **L),
                S(ctx, n, "q_in"),
                "sum by (service, response_code) (rate(pubsub_googleapis_com:topic_send_request_count[1m]))",
            )


def r_azure(ctx, mw):
    W, sim, T, rng = ctx.W, ctx.sim, ctx.T, ctx.rng
    sub = "%s-%s-%s-%s-%s" % (
        h("s" + W.domain, 8),
        h("a", 4),
        h("b", 4),
        h("c", 4),
        h(W.domain, 12),
    )
    rg = "rg-%s-prod" % W.domain
    for n in ctx.msvcs:
        s = W.svcs[n]
        rps, err, p99, p50 = S(ctx, n, "rps"), S(ctx, n, "err"), S(ctx, n, "p99"), S(ctx, n, "p50")
        rid = lambda prov, nm: (
            "/subscriptions/%s/resourceGroups/%s/providers/%s/%s" % (sub, rg, prov, nm)
        )
        if s.role == "edge":
            L = dict(resource=rid("Microsoft.Network/applicationGateways", n), resource_group=rg)
            mw.add("TotalRequests", "TotalRequests", lab(ctx, n, **L), period(ctx, rps))
            mw.add(
                "ResponseStatus",
                "ResponseStatus",
                lab(ctx, n, httpstatusgroup="5xx", **L),
                [poisson(rng, r * e * ctx.step) for r, e in zip(rps, err)],
            )
            mw.add(
                "ResponseStatus",
                "ResponseStatus",
                lab(ctx, n, httpstatusgroup="2xx", **L),
                [poisson(rng, r * (1 - e) * ctx.step) for r, e in zip(rps, err)],
            )
            mw.add(
                "BackendLastByteResponseTime",
                "BackendLastByteResponseTime",
                lab(ctx, n, **L),
                [x * 1300 for x in p50],
            )
        elif s.role == "app":
            L = dict(resource=rid("Microsoft.Web/sites", n), resource_group=rg)
            mw.add("Requests", "Requests", lab(ctx, n, **L), period(ctx, rps))
            mw.add(
                "Http5xx",
                "Http5xx",
                lab(ctx, n, **L),
                [poisson(rng, r * e * ctx.step) for r, e in zip(rps, err)],
            )
            mw.add(
                "AverageResponseTime",
                "AverageResponseTime",
                lab(ctx, n, **L),
                [x * 1.3 for x in p50],
            )
            mw.add("HttpResponseTime", "HttpResponseTime", lab(ctx, n, **L), [x * 1.3 for x in p50])
            for nm, cpu in inst_series(sim, n, "cpu", T).items():
                inst = "RD" + h(nm, 12).upper()
                mw.add(
                    "CpuPercentage",
                    "CpuPercentage",
                    lab(ctx, n, Instance=inst, **L),
                    [None if c is None else 100 * c for c in cpu],
                )
            for nm, mem in inst_series(sim, n, "mem", T).items():
                inst = "RD" + h(nm, 12).upper()
                mw.add("MemoryWorkingSet", "MemoryWorkingSet", lab(ctx, n, Instance=inst, **L), mem)
            mw.add(
                "HealthCheckStatus",
                "HealthCheckStatus",
                lab(ctx, n, **L),
                [100.0 * u / max(1, len(sim.insts[n])) for u in S(ctx, n, "n_up")],
            )
        elif s.role == "db":
            L = dict(
                resource=rid("Microsoft.Sql/servers/%s-sql/databases" % W.domain, n),
                resource_group=rg,
            )
            dm = ctx.down_mask.get(n, [0] * T)
            u = S(ctx, n, "util")
            mw.add(
                "dtu_consumption_percent",
                "dtu_consumption_percent",
                lab(ctx, n, **L),
                [None if d else min(100, 8 + 85 * min(x, 1.1)) for x, d in zip(u, dm)],
            )
            mw.add(
                "sessions_percent",
                "sessions_percent",
                lab(ctx, n, **L),
                [
                    None if d else min(100, 100 * c / mc)
                    for c, mc, d in zip(S(ctx, n, "conns"), S(ctx, n, "max_conn"), dm)
                ],
            )
            mw.add(
                "workers_percent",
                "workers_percent",
                lab(ctx, n, **L),
                [None if d else min(100, 5 + 70 * min(x, 1.3)) for x, d in zip(u, dm)],
            )
            refused = [max(0, c - mc) for c, mc in zip(S(ctx, n, "conns"), S(ctx, n, "max_conn"))]
            mw.add(
                "connection_failed",
                "connection_failed",
                lab(ctx, n, **L),
                [poisson(rng, (r * 0.2 + (50 * d)) * ctx.step / 60) for r, d in zip(refused, dm)],
            )
            mw.add(
                "connection_successful",
                "connection_successful",
                lab(ctx, n, **L),
                [0 if d else poisson(rng, 3 * ctx.step / 60 + 1) for d in dm],
            )
            mw.add(
                "storage_percent",
                "storage_percent",
                lab(ctx, n, **L),
                [100 * x for x in S(ctx, n, "disk")],
            )
        elif s.role == "cache":
            L = dict(resource=rid("Microsoft.Cache/Redis", n), resource_group=rg)
            mw.add("cachehits", "cachehits", lab(ctx, n, **L), period(ctx, S(ctx, n, "hits")))
            mw.add("cachemisses", "cachemisses", lab(ctx, n, **L), period(ctx, S(ctx, n, "misses")))
            mw.add("connectedclients", "connectedclients", lab(ctx, n, **L), S(ctx, n, "clients"))
        elif s.role == "queue":
            L = dict(
                resource=rid("Microsoft.ServiceBus/namespaces", "%s-sb" % W.domain),
                resource_group=rg,
                EntityName=n,
            )
            mw.add(
                "ActiveMessages",
                "ActiveMessages",
                lab(ctx, n, **L),
                [round(x) for x in S(ctx, n, "q_depth")],
            )
            mw.add(
                "IncomingMessages",
                "IncomingMessages",
                lab(ctx, n, **L),
                period(ctx, S(ctx, n, "q_in")),
            )
            mw.add(
                "OutgoingMessages",
                "OutgoingMessages",
                lab(ctx, n, **L),
                period(ctx, S(ctx, n, "q_out")),
            )
            dm = ctx.down_mask.get(n, [0] * T)
            mw.add(
                "ServerErrors",
                "ServerErrors",
                lab(ctx, n, **L),
                [poisson(rng, 40 * ctx.step / 60) if d else 0 for d in dm],
            )


def r_dd(ctx, mw):
    W, sim, T, rng = ctx.W, ctx.sim, ctx.T, ctx.rng
    env = rng.choice(["prod", "production", "prd"])
    for n in ctx.msvcs:
        s = W.svcs[n]
        rps, err, p99, p50 = S(ctx, n, "rps"), S(ctx, n, "err"), S(ctx, n, "p99"), S(ctx, n, "p50")
        if s.role in ("edge", "app"):
            # split by version tag (deploys show up as a new version series)
            vers = defaultdict(lambda: [0.0] * T)
            verr = defaultdict(lambda: [0.0] * T)
            for nm, d in sim.inst_out[n]["rps"].items():
                for t, r in d.items():
                    v = sim.inst_out[n]["version"][nm][t]
                    e = sim.inst_out[n]["err"][nm].get(t, 0)
                    vers[v][t] += r
                    verr[v][t] += r * e
            op = "http.request" if s.proto == "http" else "grpc.server"
            for v in sorted(vers):
                L = lab(
                    ctx,
                    n,
                    env=env,
                    version=v,
                    resource_name="%s %s" % ("GET" if s.role == "edge" else "POST", s.path),
                )
                active = [
                    None if all(vers[v][k] == 0 for k in range(max(0, t - 1), t + 1)) else 1
                    for t in range(T)
                ]
                mw.add(
                    "trace.%s.hits" % op,
                    "trace.%s.hits" % op,
                    L,
                    [
                        None if a is None else poisson(rng, r * ctx.step)
                        for a, r in zip(active, vers[v])
                    ],
                )
                mw.add(
                    "trace.%s.errors" % op,
                    "trace.%s.errors" % op,
                    L,
                    [
                        None if a is None else poisson(rng, r * ctx.step)
                        for a, r in zip(active, verr[v])
                    ],
                )
            mw.add(
                "trace.%s.duration.by.service.99p" % op,
                "trace.%s.duration.by.service.99p" % op,
                lab(ctx, n, env=env),
                p99,
            )
            mw.add(
                "trace.%s.duration.by.service.50p" % op,
                "trace.%s.duration.by.service.50p" % op,
                lab(ctx, n, env=env),
                p50,
            )
            for nm, cpu in inst_series(sim, n, "cpu", T).items():
                mw.add(
                    "kubernetes.cpu.usage.total",
                    "kubernetes.cpu.usage.total",
                    lab(
                        ctx,
                        n,
                        env=env,
                        pod_name=nm,
                        kube_deployment=n,
                        **{"availability-zone": zone(ctx, n, nm)},
                    ),
                    [None if c is None else c * 1e9 * ctx.cpu_cores.get(n, 1) for c in cpu],
                )
            for nm, cpu in inst_series(sim, n, "cpu", T).items():
                mw.add(
                    "kubernetes.cpu.cfs.throttled.seconds",
                    "kubernetes.cpu.cfs.throttled.seconds",
                    lab(ctx, n, env=env, pod_name=nm, kube_deployment=n),
                    [
                        None
                        if c is None
                        else round(max(0.0, c - 0.85) * 4 * ctx.cpu_cores.get(n, 1), 4)
                        for c in cpu
                    ],
                )
            for nm, mem in inst_series(sim, n, "mem", T).items():
                mw.add(
                    "kubernetes.memory.usage",
                    "kubernetes.memory.usage",
                    lab(ctx, n, env=env, pod_name=nm, kube_deployment=n),
                    mem,
                )
            for nm, r in inst_series(sim, n, "restarts", T).items():
                mw.add(
                    "kubernetes.containers.restarts",
                    "kubernetes.containers.restarts",
                    lab(ctx, n, env=env, pod_name=nm, kube_container_name=n),
                    r,
                )
            mw.add(
                "kubernetes_state.deployment.replicas_available",
                "kubernetes_state.deployment.replicas_available",
                lab(ctx, n, env=env, kube_deployment=n),
                S(ctx, n, "n_up"),
            )
            for e in s.deps:
                if e.dst == W.db and e.key in sim.edge_out:
                    eo = sim.edge_out[e.key]
                    mw.add(
                        "trace.postgres.query.hits",
                        "trace.postgres.query.hits",
                        lab(ctx, n, env=env, **{"peer.service": e.dst}),
                        [poisson(rng, c * ctx.step) for c in eo["calls"]],
                    )
                    mw.add(
                        "trace.postgres.query.errors",
                        "trace.postgres.query.errors",
                        lab(ctx, n, env=env, **{"peer.service": e.dst}),
                        [poisson(rng, c * f * ctx.step) for c, f in zip(eo["calls"], eo["fail"])],
                    )
                    mw.add(
                        "trace.postgres.query.duration.by.service.99p",
                        "trace.postgres.query.duration.by.service.99p",
                        lab(ctx, n, env=env, **{"peer.service": e.dst}),
                        eo["p99"],
                    )
        elif s.role == "db":
            dm = ctx.down_mask.get(n, [0] * T)
            L = lab(ctx, n, env=env, host="%s-primary" % n, db="app")
            mw.add(
                "postgresql.connections",
                "postgresql.connections",
                L,
                [None if d else round(c) for c, d in zip(S(ctx, n, "conns"), dm)],
            )
            mw.add(
                "postgresql.max_connections",
                "postgresql.max_connections",
                L,
                [None if d else c for c, d in zip(S(ctx, n, "max_conn"), dm)],
            )
            mw.add(
                "postgresql.percent_usage_connections",
                "postgresql.percent_usage_connections",
                L,
                [
                    None if d else min(1.0, c / mc)
                    for c, mc, d in zip(S(ctx, n, "conns"), S(ctx, n, "max_conn"), dm)
                ],
            )
            mw.add(
                "system.cpu.user",
                "system.cpu.user",
                L,
                [
                    None if d else min(98, 4 + 80 * min(u, 1.2) + rng.uniform(0, 3))
                    for u, d in zip(S(ctx, n, "util"), dm)
                ],
            )
            mw.add(
                "system.disk.in_use",
                "system.disk.in_use",
                dict(L, device="/dev/nvme1n1"),
                S(ctx, n, "disk"),
            )
        elif s.role == "cache":
            L = lab(ctx, n, env=env, host="%s-0" % n)
            mw.add("redis.net.clients", "redis.net.clients", L, S(ctx, n, "clients"))
            mw.add("redis.stats.keyspace_hits", "redis.stats.keyspace_hits", L, S(ctx, n, "hits"))
            mw.add(
                "redis.stats.keyspace_misses", "redis.stats.keyspace_misses", L, S(ctx, n, "misses")
            )
        elif s.role == "queue":
            L = lab(ctx, n, env=env, rabbitmq_queue=n, rabbitmq_vhost="/")
            dm = ctx.down_mask.get(n, [0] * T)
            mw.add(
                "rabbitmq.queue.messages",
                "rabbitmq.queue.messages",
                L,
                [None if d else round(x) for x, d in zip(S(ctx, n, "q_depth"), dm)],
            )
            mw.add(
                "rabbitmq.queue.messages.publish.rate",
                "rabbitmq.queue.messages.publish.rate",
                L,
                [None if d else x for x, d in zip(S(ctx, n, "q_in"), dm)],
            )
            mw.add(
                "rabbitmq.queue.consumers",
                "rabbitmq.queue.consumers",
                L,
                [None if d else u for u, d in zip(S(ctx, W.worker, "n_up"), dm)],
            )
        elif s.role == "search":
            L = lab(ctx, n, env=env, elastic_cluster=n)
            mw.add(
                "elasticsearch.thread_pool.search.rejected",
                "elasticsearch.thread_pool.search.rejected",
                L,
                [poisson(rng, r * e * ctx.step) for r, e in zip(rps, err)],
            )
            mw.add("elasticsearch.search.query.time", "elasticsearch.search.query.time", L, p50)
    # hosts
    for n in ctx.noisy_hosts:
        for nm, cpu in inst_series(sim, n, "cpu", T).items():
            hst = sim.inst_out[n]["host"][nm]
            hh = next(iter(hst.values()))
            mw.add(
                "system.cpu.user",
                "system.cpu.user",
                {"host": hh, "env": env, "kube_node_role": "worker"},
                [None if c is None else min(100, 100 * c * 0.7 + rng.uniform(5, 15)) for c in cpu],
            )
            break


def hist_buckets(count_rate, p50, p99, les):
    out = []
    for le in les:
        out.append(
            [
                r * lognorm_cdf(le, max(a, 1e-5), max(b, a * 1.05))
                for r, a, b in zip(count_rate, p50, p99)
            ]
        )
    return out


def r_otel(ctx, mw):
    W, sim, T, rng, step = ctx.W, ctx.sim, ctx.T, ctx.rng, ctx.step
    ns = "%s-prod" % W.domain
    les = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]
    for n in ctx.msvcs:
        s = W.svcs[n]
        rps, err, p99, p50 = S(ctx, n, "rps"), S(ctx, n, "err"), S(ctx, n, "p99"), S(ctx, n, "p50")
        base = dict(service_name=n, k8s_namespace_name=ns)
        if s.role in ("edge", "app"):
            base["k8s_deployment_name"] = n
            for status, frac in (
                ("200", lambda e: 1 - e),
                ("500" if rng.random() < 0.5 else "503", lambda e: e),
            ):
                rate = [r * frac(e) for r, e in zip(rps, err)]
                # cumulative counters (one collector, aggregated by service)
                if s.proto == "grpc" and s.role == "app":
                    nm_b, scale, lesx = (
                        "rpc_server_duration_milliseconds",
                        1000.0,
                        [x * 1000 for x in les],
                    )
                    L = dict(
                        base,
                        rpc_system="grpc",
                        rpc_service="%s.v1.%sService"
                        % (n.replace("-", ""), n.title().replace("-", "")),
                        rpc_grpc_status_code="0" if status == "200" else "14",
                    )
                else:
                    nm_b, scale, lesx = "http_server_request_duration_seconds", 1.0, les
                    L = dict(
                        base,
                        http_route=s.path,
                        http_request_method="GET" if s.role == "edge" else "POST",
                        http_response_status_code=status,
                    )
                bk = hist_buckets(rate, p50, p99, les)
                cum = [0.0] * (len(les) + 1)
                acc = [[None] * T for _ in range(len(les) + 1)]
                sm = [None] * T
                csum = 0.0
                for t in range(T):
                    tot = rate[t] * step
                    for j in range(len(les)):
                        cum[j] += bk[j][t] * step
                        acc[j][t] = round(cum[j])
                    cum[-1] += tot
                    acc[-1][t] = round(cum[-1])
                    csum += tot * p50[t] * 1.3 * scale
                    sm[t] = csum
                if status == "200" or max(rate) > 0:
                    for j, le in enumerate(lesx):
                        mw.add(
                            nm_b + "_bucket",
                            nm_b + "_bucket",
                            lab(ctx, n, le=fmt(float(le)), **L),
                            acc[j],
                        )
                    mw.add(nm_b + "_bucket", nm_b + "_bucket", lab(ctx, n, le="+Inf", **L), acc[-1])
                    mw.add(nm_b + "_count", nm_b + "_count", lab(ctx, n, **L), acc[-1])
                    mw.add(nm_b + "_sum", nm_b + "_sum", lab(ctx, n, **L), sm)
            for nm, cpu in inst_series(sim, n, "cpu", T).items():
                mw.add(
                    "k8s_pod_cpu_utilization_ratio",
                    "k8s_pod_cpu_utilization_ratio",
                    lab(ctx, n, k8s_pod_name=nm, cloud_availability_zone=zone(ctx, n, nm), **base),
                    cpu,
                )
            for nm, mem in inst_series(sim, n, "mem", T).items():
                mw.add(
                    "k8s_pod_memory_working_set_bytes",
                    "k8s_pod_memory_working_set_bytes",
                    lab(ctx, n, k8s_pod_name=nm, cloud_availability_zone=zone(ctx, n, nm), **base),
                    mem,
                )
            for nm, r in inst_series(sim, n, "restarts", T).items():
                mw.add(
                    "k8s_container_restarts",
                    "k8s_container_restarts",
                    lab(ctx, n, k8s_pod_name=nm, k8s_container_name=n, **base),
                    r,
                )
            mw.add(
                "k8s_deployment_available",
                "k8s_deployment_available",
                lab(ctx, n, **base),
                S(ctx, n, "n_up"),
            )
            for e in s.deps:
                eo = sim.edge_out.get(e.key)
                if not eo or not eo["calls"]:
                    continue
                if e.pool:
                    PL = dict(base, pool_name="%s-pool" % e.dst)
                    mw.add(
                        "db_client_connections_usage",
                        "db_client_connections_usage",
                        lab(ctx, n, state="used", **PL),
                        [round(x) for x in eo["pool_used"]],
                    )
                    mw.add(
                        "db_client_connections_usage",
                        "db_client_connections_usage",
                        lab(ctx, n, state="idle", **PL),
                        [round(x) for x in eo["pool_idle"]],
                    )
                    mw.add(
                        "db_client_connections_max",
                        "db_client_connections_max",
                        lab(ctx, n, **PL),
                        eo["pool_max"],
                    )
                    mw.add(
                        "db_client_connections_pending_requests",
                        "db_client_connections_pending_requests",
                        lab(ctx, n, **PL),
                        [round(x) for x in eo["pool_pending"]],
                    )
                elif W.svcs[e.dst].role in ("app", "ext", "search"):
                    CL = dict(
                        base,
                        server_address=e.dst
                        if W.svcs[e.dst].role != "ext"
                        else "api.%s.com" % e.dst.split("-")[0],
                    )
                    mw.add(
                        "http_client_request_error_rate",
                        None,
                        lab(ctx, n, **CL),
                        [0.0 if x < 2e-4 else x for x in eo["fail"]],
                        'sum by (job, server_address) (rate(http_client_request_duration_seconds_count{error_type!=""}[5m])) / sum by (job, server_address) (rate(http_client_request_duration_seconds_count[5m]))',
                    )
                    mw.add(
                        "http_client_request_duration_p99",
                        None,
                        lab(ctx, n, **CL),
                        eo["p99"],
                        "histogram_quantile(0.99, sum by (job, server_address, le) (rate(http_client_request_duration_seconds_bucket[5m])))",
                    )
        elif s.role == "db":
            dm = ctx.down_mask.get(n, [0] * T)
            L = dict(postgresql_database_name="app", host_name="%s-0" % n)
            mw.add(
                "postgresql_backends",
                "postgresql_backends",
                lab(ctx, n, **L),
                [None if d else round(c) for c, d in zip(S(ctx, n, "conns"), dm)],
            )
            mw.add(
                "postgresql_connection_max",
                "postgresql_connection_max",
                lab(ctx, n, **L),
                [None if d else c for c, d in zip(S(ctx, n, "max_conn"), dm)],
            )
            mw.add(
                "postgresql_db_size_bytes",
                "postgresql_db_size_bytes",
                lab(ctx, n, **L),
                [d * 200 * 2**30 for d in S(ctx, n, "disk")],
            )
            mw.add(
                "system_filesystem_utilization_ratio",
                "system_filesystem_utilization_ratio",
                lab(ctx, n, mountpoint="/var/lib/postgresql", **L),
                S(ctx, n, "disk"),
            )
            mw.add(
                "system_cpu_utilization_ratio",
                "system_cpu_utilization_ratio",
                lab(ctx, n, **L),
                [
                    None if d else min(1, 0.04 + 0.8 * min(u, 1.2))
                    for u, d in zip(S(ctx, n, "util"), dm)
                ],
            )
        elif s.role == "cache":
            L = dict(server_address="%s-master" % n)
            cum_h, cum_m, a, b = 0, 0, [], []
            for x, y in zip(S(ctx, n, "hits"), S(ctx, n, "misses")):
                cum_h += x * step
                cum_m += y * step
                a.append(round(cum_h))
                b.append(round(cum_m))
            mw.add("redis_keyspace_hits_total", "redis_keyspace_hits_total", lab(ctx, n, **L), a)
            mw.add(
                "redis_keyspace_misses_total", "redis_keyspace_misses_total", lab(ctx, n, **L), b
            )
            mw.add(
                "redis_clients_connected",
                "redis_clients_connected",
                lab(ctx, n, **L),
                S(ctx, n, "clients"),
            )
        elif s.role == "queue":
            dm = ctx.down_mask.get(n, [0] * T)
            L = dict(messaging_system="kafka", topic=n, group="%s-consumer" % W.worker)
            mw.add(
                "kafka_consumer_group_lag",
                "kafka_consumer_group_lag",
                lab(ctx, n, **L),
                [None if d else round(x) for x, d in zip(S(ctx, n, "q_depth"), dm)],
            )
            mw.add(
                "kafka_consumer_group_lag_seconds",
                None,
                lab(ctx, n, **L),
                [None if d else x for x, d in zip(S(ctx, n, "q_age"), dm)],
                "max by (job, topic, group) (kafka_consumer_group_lag_seconds)",
            )
            mw.add(
                "kafka_brokers",
                "kafka_brokers",
                lab(ctx, n, **L),
                [0 if d else W.svcs[n].pods for d in dm],
            )
        elif s.role == "search":
            L = dict(elasticsearch_cluster_name=n)
            mw.add(
                "elasticsearch_node_thread_pool_tasks_finished_rejected",
                None,
                lab(ctx, n, thread_pool_name="search", **L),
                [r * e for r, e in zip(rps, err)],
                'sum by (job) (rate(elasticsearch_node_thread_pool_tasks_finished_total{state="rejected",thread_pool_name="search"}[5m]))',
            )
    for n in ctx.noisy_hosts:
        for nm in list(sim.inst_out[n]["cpu"])[:1]:
            hh = next(iter(sim.inst_out[n]["host"][nm].values()))
            mw.add(
                "k8s_node_cpu_utilization_ratio",
                "k8s_node_cpu_utilization_ratio",
                {"job": "kubeletstats", "k8s_node_name": hh},
                [
                    None if c is None else min(1, c * 0.6 + rng.uniform(0.1, 0.3))
                    for c in inst_series(sim, n, "cpu", T)[nm]
                ],
            )
    # network errors on hosts (node level)
    for n in ctx.net_hosts:
        for nm in list(sim.inst_out[n]["cpu"])[:2]:
            hh = next(iter(sim.inst_out[n]["host"][nm].values()))
            mw.add(
                "system_network_errors_rate",
                None,
                {"job": "hostmetrics", "host_name": hh, "direction": "receive"},
                [ctx.net_err[t] * rng.uniform(0.5, 1.5) for t in range(T)],
                "sum by (host_name, direction) (rate(system_network_errors_total[5m]))",
            )


def r_vm(ctx, mw):
    W, sim, T, rng, step = ctx.W, ctx.sim, ctx.T, ctx.rng, ctx.step
    dbflavor = ctx.dbflavor
    for n in ctx.msvcs:
        s = W.svcs[n]
        rps, err, p99, p50 = S(ctx, n, "rps"), S(ctx, n, "err"), S(ctx, n, "p99"), S(ctx, n, "p50")
        if s.role == "edge":
            be = "be_%s" % W.fronts[0].replace("-", "_")
            L = lab(ctx, n, instance="%s-lb01:8404" % n, proxy=be)
            ok = [0.0]
            for code, f in (("2xx", lambda r, e: r * (1 - e)), ("5xx", lambda r, e: r * e)):
                cum, vals = rng.uniform(1e5, 1e6) if code == "2xx" else rng.uniform(100, 1000), []
                for r, e in zip(rps, err):
                    cum += poisson(rng, f(r, e) * step)
                    vals.append(cum)
                mw.add(
                    "haproxy_backend_http_responses_total",
                    "haproxy_backend_http_responses_total",
                    dict(L, code=code),
                    vals,
                )
            mw.add(
                "haproxy_backend_response_time_average_seconds",
                "haproxy_backend_response_time_average_seconds",
                L,
                [x * 1.3 for x in p50],
            )
            mw.add(
                "haproxy_backend_current_queue",
                "haproxy_backend_current_queue",
                L,
                [
                    round(max(0.0, (b - m * 0.95)) * 0.3) if m else 0
                    for b, m in zip(S(ctx, n, "slots_busy"), S(ctx, n, "slots_max"))
                ],
            )
        elif s.role == "app":
            for nm, d in sim.inst_out[n]["rps"].items():
                hst = next(iter(sim.inst_out[n]["host"][nm].values()))
                inst = "%s:%d" % (hst, 8080 if s.lang == "java" else 9100 + len(n) % 10)
                ctx.inst_alias[nm] = inst
            okc = inst_counter(sim, n, "rps", T, step, rng)
            errsig = {}
            for nm, d in sim.inst_out[n]["rps"].items():
                errsig[nm] = {t: r * sim.inst_out[n]["err"][nm].get(t, 0) for t, r in d.items()}
            sim.inst_out[n]["err_rps"] = errsig
            erc = inst_counter(sim, n, "err_rps", T, step, rng, 1.0)
            for nm in okc:
                inst = ctx.inst_alias[nm]
                mw.add(
                    "http_server_requests_seconds_count",
                    "http_server_requests_seconds_count",
                    lab(
                        ctx,
                        n,
                        instance=inst,
                        uri=s.path,
                        status="200",
                        outcome="SUCCESS",
                        dc=zone(ctx, n, nm),
                    ),
                    okc[nm],
                )
                mw.add(
                    "http_server_requests_seconds_count",
                    "http_server_requests_seconds_count",
                    lab(
                        ctx,
                        n,
                        instance=inst,
                        uri=s.path,
                        status="500",
                        outcome="SERVER_ERROR",
                        dc=zone(ctx, n, nm),
                    ),
                    erc[nm],
                )
            for nm, v in inst_series(sim, n, "p99", T).items():
                mw.add(
                    "http_server_requests_seconds_max",
                    "http_server_requests_seconds_max",
                    lab(ctx, n, instance=ctx.inst_alias[nm], uri=s.path),
                    [None if x is None else x * rng.uniform(1.0, 1.6) for x in v],
                )
            for nm, mem in inst_series(sim, n, "mem", T).items():
                mw.add(
                    "jvm_memory_used_bytes",
                    "jvm_memory_used_bytes",
                    lab(ctx, n, instance=ctx.inst_alias[nm], area="heap"),
                    mem,
                )
                mw.add(
                    "jvm_memory_max_bytes",
                    "jvm_memory_max_bytes",
                    lab(ctx, n, instance=ctx.inst_alias[nm], area="heap"),
                    [None if x is None else s.mem_limit for x in mem],
                )
            for nm, up in inst_series(sim, n, "up", T).items():
                mw.add("up", "up", lab(ctx, n, instance=ctx.inst_alias[nm]), up)
            sb, sm, nu = S(ctx, n, "slots_busy"), S(ctx, n, "slots_max"), S(ctx, n, "n_up")
            mw.add(
                "tomcat_threads_busy_threads",
                "tomcat_threads_busy_threads",
                lab(ctx, n, name="http-nio-8080"),
                [None if u == 0 else round(b / u) for b, u in zip(sb, nu)],
            )
            mw.add(
                "tomcat_threads_config_max_threads",
                "tomcat_threads_config_max_threads",
                lab(ctx, n, name="http-nio-8080"),
                [None if u == 0 else m / u for m, u in zip(sm, nu)],
            )
            for e in s.deps:
                eo = sim.edge_out.get(e.key)
                if e.pool and eo and eo["calls"]:
                    PL = lab(ctx, n, pool="HikariPool-1")
                    mw.add(
                        "hikaricp_connections_active",
                        "hikaricp_connections_active",
                        PL,
                        [round(x) for x in eo["pool_used"]],
                    )
                    mw.add(
                        "hikaricp_connections_max", "hikaricp_connections_max", PL, eo["pool_max"]
                    )
                    mw.add(
                        "hikaricp_connections_pending",
                        "hikaricp_connections_pending",
                        PL,
                        [round(x) for x in eo["pool_pending"]],
                    )
            # node exporter, recorded rule (already rated)
            for nm, cpu in inst_series(sim, n, "cpu", T).items():
                mw.add(
                    "instance:node_cpu_utilisation:rate5m",
                    None,
                    {"job": "node", "instance": ctx.inst_alias[nm].split(":")[0] + ":9100"},
                    [None if c is None else min(1, c * 0.8 + rng.uniform(0.02, 0.06)) for c in cpu],
                    '1 - avg without (cpu, mode) (rate(node_cpu_seconds_total{job="node", mode="idle"}[5m]))',
                )
        elif s.role == "db":
            dm = ctx.down_mask.get(n, [0] * T)
            inst = "%s-01:9187" % n
            if dbflavor == "cassandra":
                for q in ("0.5", "0.99"):
                    src = p50 if q == "0.5" else p99
                    mw.add(
                        "cassandra_clientrequest_latency",
                        "cassandra_clientrequest_latency",
                        lab(ctx, n, instance=inst, clientrequest="Read", quantile=q),
                        [None if d else x * 1e6 for x, d in zip(src, dm)],
                    )
                cum, vals = 0, []
                for r, e in zip(rps, err):
                    cum += poisson(rng, r * e * step)
                    vals.append(cum)
                mw.add(
                    "cassandra_clientrequest_timeouts_total",
                    "cassandra_clientrequest_timeouts_total",
                    lab(ctx, n, instance=inst, clientrequest="Read"),
                    vals,
                )
                mw.add(
                    "cassandra_client_connectednativeclients",
                    "cassandra_client_connectednativeclients",
                    lab(ctx, n, instance=inst),
                    [None if d else round(c) for c, d in zip(S(ctx, n, "conns"), dm)],
                )
            elif dbflavor == "mysql":
                mw.add(
                    "mysql_global_status_threads_connected",
                    "mysql_global_status_threads_connected",
                    lab(ctx, n, instance=inst),
                    [None if d else round(c) for c, d in zip(S(ctx, n, "conns"), dm)],
                )
                mw.add(
                    "mysql_global_variables_max_connections",
                    "mysql_global_variables_max_connections",
                    lab(ctx, n, instance=inst),
                    [None if d else c for c, d in zip(S(ctx, n, "max_conn"), dm)],
                )
                mw.add(
                    "mysql_up", "mysql_up", lab(ctx, n, instance=inst), [0 if d else 1 for d in dm]
                )
            else:
                mw.add(
                    "pg_stat_activity_count",
                    "pg_stat_activity_count",
                    lab(ctx, n, instance=inst, datname="app", state="active"),
                    [None if d else round(c) for c, d in zip(S(ctx, n, "conns"), dm)],
                )
                mw.add(
                    "pg_settings_max_connections",
                    "pg_settings_max_connections",
                    lab(ctx, n, instance=inst),
                    [None if d else c for c, d in zip(S(ctx, n, "max_conn"), dm)],
                )
                mw.add("pg_up", "pg_up", lab(ctx, n, instance=inst), [0 if d else 1 for d in dm])
            mw.add(
                "node_filesystem_avail_bytes",
                "node_filesystem_avail_bytes",
                {
                    "job": "node",
                    "instance": "%s-01:9100" % n,
                    "mountpoint": "/var/lib/data",
                    "device": "/dev/sdb1",
                },
                [(1 - x) * 400 * 2**30 for x in S(ctx, n, "disk")],
            )
            mw.add(
                "instance:node_cpu_utilisation:rate5m",
                None,
                {"job": "node", "instance": "%s-01:9100" % n},
                [min(1, 0.05 + 0.8 * min(u, 1.2)) for u in S(ctx, n, "util")],
                '1 - avg without (cpu, mode) (rate(node_cpu_seconds_total{job="node", mode="idle"}[5m]))',
            )
        elif s.role == "cache":
            L = lab(ctx, n, instance="%s-01:9121" % n)
            ch, cm, a, b = 0, 0, [], []
            for x, y in zip(S(ctx, n, "hits"), S(ctx, n, "misses")):
                ch += poisson(rng, x * step)
                cm += poisson(rng, y * step)
                a.append(ch)
                b.append(cm)
            mw.add("redis_keyspace_hits_total", "redis_keyspace_hits_total", L, a)
            mw.add("redis_keyspace_misses_total", "redis_keyspace_misses_total", L, b)
            mw.add("redis_connected_clients", "redis_connected_clients", L, S(ctx, n, "clients"))
        elif s.role == "queue":
            dm = ctx.down_mask.get(n, [0] * T)
            L = lab(ctx, n, instance="%s-01:15692" % n, queue=n, vhost="/")
            mw.add(
                "rabbitmq_queue_messages_ready",
                "rabbitmq_queue_messages_ready",
                L,
                [None if d else round(x) for x, d in zip(S(ctx, n, "q_depth"), dm)],
            )
            mw.add(
                "rabbitmq_queue_consumers",
                "rabbitmq_queue_consumers",
                L,
                [None if d else u for u, d in zip(S(ctx, W.worker, "n_up"), dm)],
            )
        elif s.role == "search":
            L = lab(ctx, n, instance="%s-01:9114" % n, cluster=n, name="%s-data-0" % n)
            cum, vals = 0, []
            for r, e in zip(rps, err):
                cum += poisson(rng, r * e * step)
                vals.append(cum)
            mw.add(
                "elasticsearch_thread_pool_rejected_count",
                "elasticsearch_thread_pool_rejected_count",
                dict(L, type="search"),
                vals,
            )
            mw.add(
                "elasticsearch_filesystem_data_available_bytes",
                "elasticsearch_filesystem_data_available_bytes",
                L,
                [(1 - x) * 800 * 2**30 for x in S(ctx, n, "disk")],
            )
    for n in ctx.net_hosts:
        for nm in list(sim.inst_out[n]["cpu"])[:2]:
            hh = next(iter(sim.inst_out[n]["host"][nm].values()))
            cum, vals = rng.randint(0, 50), []
            for t in range(T):
                cum += poisson(rng, ctx.net_err[t] * step)
                vals.append(cum)
            mw.add(
                "node_network_receive_errs_total",
                "node_network_receive_errs_total",
                {"job": "node", "instance": hh + ":9100", "device": "eth0"},
                vals,
            )
    for n in ctx.noisy_hosts:
        for nm in list(sim.inst_out[n]["cpu"])[:1]:
            hh = next(iter(sim.inst_out[n]["host"][nm].values()))
            mw.add(
                "node_load1",
                "node_load1",
                {"job": "node", "instance": hh + ":9100"},
                [
                    None if c is None else max(0, c * 6 + rng.uniform(0, 5))
                    for c in inst_series(sim, n, "cpu", T)[nm]
                ],
            )


# --------------------------------------------------------------------------- logs / events / traces
BG_ERR = {
    "edge": [
        "client closed connection while waiting for upstream response (499)",
        "upstream sent too big header while reading response header",
        "SSL_do_handshake() failed (SSL: error:0A00010B:SSL routines::wrong version number) while SSL handshaking",
    ],
    "app": [
        "invalid token: jwt expired (401)",
        "validation failed: field 'email' must not be blank",
        "request body exceeds 1MB limit (413)",
        "idempotency key reused with different payload",
        "context canceled (client went away)",
    ],
    "db": [
        'ERROR:  duplicate key value violates unique constraint "orders_pkey"',
        "LOG:  could not receive data from client: Connection reset by peer",
    ],
    "cache": ["Client id=4412 closed for idle timeout"],
    "queue": ["closing AMQP connection <0.2211.0> (client unexpectedly closed TCP connection)"],
    "search": ["[parent] Data too large, data for [<http_request>] would be larger than limit"],
    "ext": ["timeout"],
}


def log_level(ctx, lvl):
    if ctx.lvlstyle == "upper":
        return lvl.upper()
    if ctx.lvlstyle == "lower":
        return lvl
    return {"error": "error", "warn": "warning", "info": "info", "fatal": "critical"}[lvl]


def render_logs(ctx):
    W, sim, T, rng, step = ctx.W, ctx.sim, ctx.T, ctx.rng, ctx.step
    out = defaultdict(list)
    cap = max(1, min(4, int(1200 / T)))
    tsfmt = ctx.log_ts

    def ts_of(t):
        x = ctx.times[t] - rng.uniform(0, step) if t > 0 else ctx.times[0] + rng.uniform(0, 1)
        if tsfmt == "rfc":
            return rfc_ms(x)
        if tsfmt == "ms":
            return int(x * 1000)
        return round(x, 3)

    for n in ctx.lsvcs:
        s = W.svcs[n]
        o = sim.out[n]
        pre = max(3, ctx.fault.t_on - 3)
        e0 = sorted(o["rps"][t] * o["err"][t] * step for t in range(pre))[pre // 2]
        for t in range(T):
            pods = [nm for nm, d in sim.inst_out[n]["up"].items() if d.get(t) == 1] or [n + "-0"]
            rps, err = o["rps"][t], o["err"][t]
            rs = sim.reasons[n][t]
            # info access lines
            if rng.random() < (0.25 if T < 400 else 0.12) and rps > 0 and s.role != "db":
                code = 200 if rng.random() > err else 503
                lat = max(0.001, rng.lognormvariate(math.log(max(o["p50"][t], 1e-4)), 0.5))
                rec = {
                    "ts": ts_of(t),
                    "service": n,
                    "level": log_level(ctx, "info"),
                    "msg": "%s %s %d %dms"
                    % ("GET" if s.role == "edge" else "POST", s.path, code, lat * 1000),
                    "pod": rng.choice(pods),
                }
                if s.role == "edge":
                    rec.update(ctx.edge_client(t))
                out[n].append(rec)
            elif (
                s.role == "edge"
                and ctx.fault.kind == "traffic_surge"
                and t >= ctx.fault.t_on
                and rng.random() < 0.8
            ):
                rec = {
                    "ts": ts_of(t),
                    "service": n,
                    "level": log_level(ctx, "info"),
                    "msg": "GET %s 200 %dms" % (s.path, o["p50"][t] * 1000),
                    "pod": rng.choice(pods),
                }
                rec.update(ctx.edge_client(t))
                out[n].append(rec)
            errs = [(k, v) for k, v in rs.items() if k[0] == "error"]
            E = rps * err * step
            if errs and E > 0:
                k = min(cap, poisson(rng, cap * (1 - math.exp(-E / (e0 * 30 + 1)))))
                tot = sum(v for _, v in errs)
                for _ in range(k):
                    x = rng.uniform(0, tot)
                    for (lvl, txt), v in errs:
                        x -= v
                        if x <= 0:
                            break
                    pod = rng.choice(pods)
                    bad = [nm for nm in pods if sim.inst_out[n]["errtext"][nm].get(t) == txt]
                    if bad:
                        pod = rng.choice(bad)
                    rec = {
                        "ts": ts_of(t),
                        "service": n,
                        "level": log_level(ctx, "error"),
                        "msg": txt,
                        "pod": pod,
                    }
                    z = zone(ctx, n, pod)
                    if z:
                        rec["zone"] = z
                    if rng.random() < 0.6:
                        rec["trace_id"] = h("%s%d%f" % (n, t, rng.random()), 32)
                    out[n].append(rec)
            for (lvl, txt), v in rs.items():
                if lvl == "warn" and rng.random() < min(0.9, v * 3):
                    out[n].append(
                        {
                            "ts": ts_of(t),
                            "service": n,
                            "level": log_level(ctx, "warn"),
                            "msg": txt,
                            "pod": rng.choice(pods),
                        }
                    )
            if s.role == "db" and o["util"][t] > 0.85 and rng.random() < 0.7:
                out[n].append(
                    {
                        "ts": ts_of(t),
                        "service": n,
                        "level": "LOG" if ctx.lvlstyle == "upper" else "log",
                        "msg": "duration: %.3f ms  statement: SELECT i.* FROM line_items i WHERE i.order_id = $1"
                        % (o["p99"][t] * 1000 * rng.uniform(0.8, 3)),
                    }
                )
    # lifecycle lines
    for t, n, inst, reason, msg in sim.events:
        if n not in ctx.lsvcs or t >= T:
            continue
        s = W.svcs[n]
        pod = sim.inst_name(n, inst)
        if reason == "OOMKilled":
            out[n].append(
                {
                    "ts": ts_of(t),
                    "service": n,
                    "level": log_level(ctx, "fatal"),
                    "msg": OOM[s.lang],
                    "pod": pod,
                }
            )
            if ctx.stack == "vm":
                out[n].append(
                    {
                        "ts": ts_of(t),
                        "service": n,
                        "level": "err",
                        "msg": "kernel: Out of memory: Killed process %d (%s) total-vm:%dkB, anon-rss:%dkB"
                        % (
                            rng.randint(900, 30000),
                            "java" if s.lang == "java" else n,
                            s.mem_limit / 1024 * 1.6,
                            s.mem_limit / 1024,
                        ),
                        "host": inst.host,
                        "source": "syslog",
                    }
                )
        elif reason == "BackOff":
            if ctx.fault.variant in ("poison", "panic"):
                out[n].append(
                    {
                        "ts": ts_of(t),
                        "service": n,
                        "level": log_level(ctx, "fatal"),
                        "msg": FATAL[s.lang],
                        "pod": pod,
                    }
                )
            elif ctx.fault.variant == "startup":
                out[n].append(
                    {
                        "ts": ts_of(t),
                        "service": n,
                        "level": log_level(ctx, "error"),
                        "msg": "startup: warming %s cache (1.2M keys) ... still loading after 60s"
                        % n,
                        "pod": pod,
                    }
                )
                out[n].append(
                    {
                        "ts": ts_of(t),
                        "service": n,
                        "level": log_level(ctx, "info"),
                        "msg": "received SIGTERM, shutting down",
                        "pod": pod,
                    }
                )
            else:
                out[n].append(
                    {
                        "ts": ts_of(t),
                        "service": n,
                        "level": log_level(ctx, "info"),
                        "msg": "received SIGTERM, shutting down gracefully",
                        "pod": pod,
                    }
                )
        elif reason == "Started":
            out[n].append(
                {
                    "ts": ts_of(t),
                    "service": n,
                    "level": log_level(ctx, "info"),
                    "msg": {
                        "java": "Started %sApplication in %.1f seconds (process running for %.1f)"
                        % (n.title().replace("-", ""), rng.uniform(6, 20), rng.uniform(8, 25)),
                        "go": "%s %s listening on :8080" % (n, inst.version),
                        "python": "Booting worker with pid: %d" % rng.randint(7, 400),
                        "node": "server listening on port 8080 (version %s)" % inst.version,
                    }[s.lang],
                    "pod": pod,
                }
            )
    # fault-specific store logs
    F = ctx.fault
    if F.kind == "dependency_failure" and F.variant == "db_failover" and W.db in ctx.lsvcs:
        t = F.t_on
        for dt_, msg in [
            (0, "LOG:  received fast shutdown request"),
            (0, "LOG:  aborting any active transactions"),
            (0, "FATAL:  terminating connection due to administrator command"),
            (F.p["dur"], "LOG:  received promote request"),
            (F.p["dur"], "LOG:  redo done at 3A/5F01D2C8"),
            (F.p["dur"], "LOG:  selected new timeline ID: 7"),
            (F.p["dur"], "LOG:  database system is ready to accept connections"),
        ]:
            if t + dt_ < T:
                out[W.db].append(
                    {
                        "ts": ts_of(t + dt_),
                        "service": W.db,
                        "level": "LOG",
                        "msg": msg,
                        "host": W.db + "-b",
                    }
                )
    if F.kind == "resource_saturation" and F.variant == "disk_full" and W.db in ctx.lsvcs:
        for t in range(max(0, F.t_on - 10), F.t_on):
            if rng.random() < 0.3:
                out[W.db].append(
                    {
                        "ts": ts_of(t),
                        "service": W.db,
                        "level": "WARNING",
                        "msg": "WARNING:  could not write to temporary file: disk usage above 95%%",
                    }
                )
    for n in out:
        out[n].sort(key=lambda r: r["ts"] if not isinstance(r["ts"], str) else r["ts"])
    return out


def render_events(ctx):
    W, sim, T, rng = ctx.W, ctx.sim, ctx.T, ctx.rng
    ev = []
    backoff = defaultdict(int)
    for t, n, inst, reason, msg in sim.events:
        if t >= T or n not in W.svcs or W.svcs[n].role not in ("app", "edge"):
            continue
        pod = sim.inst_name(n, inst)
        ts = rfc(ctx.times[t] - rng.uniform(0, ctx.step * 0.9) if t > 0 else ctx.times[0])
        if ctx.stack == "aws":
            if reason == "OOMKilled":
                ev.append(
                    dict(
                        ts=ts,
                        service=n,
                        reason="TaskStopped",
                        type="Warning",
                        object="task/%s" % h(pod + str(t), 32),
                        message="Task stopped: OutOfMemoryError: Container killed due to memory usage (exit code 137)",
                        count=1,
                    )
                )
            elif reason == "BackOff":
                ev.append(
                    dict(
                        ts=ts,
                        service=n,
                        reason="TaskStopped",
                        type="Warning",
                        object="task/%s" % h(pod + str(t), 32),
                        message="Essential container in task exited (exit code %d)"
                        % (1 if ctx.fault.variant != "liveness" else 143),
                        count=1,
                    )
                )
            continue
        if reason == "BackOff":
            backoff[pod] += 1
            if ctx.fault.variant == "liveness":
                ev.append(
                    dict(
                        ts=ts,
                        service=n,
                        reason="Unhealthy",
                        type="Warning",
                        object="pod/" + pod,
                        message='Liveness probe failed: Get "http://10.%d.%d.%d:8080/healthz": context deadline exceeded (Client.Timeout exceeded while awaiting headers)'
                        % (rng.randint(0, 3), rng.randint(0, 255), rng.randint(2, 254)),
                        count=3,
                    )
                )
                ev.append(
                    dict(
                        ts=ts,
                        service=n,
                        reason="Killing",
                        type="Normal",
                        object="pod/" + pod,
                        message="Container %s failed liveness probe, will be restarted" % n,
                        count=1,
                    )
                )
            if ctx.fault.variant == "startup":
                ev.append(
                    dict(
                        ts=ts,
                        service=n,
                        reason="Unhealthy",
                        type="Warning",
                        object="pod/" + pod,
                        message="Startup probe failed: HTTP probe failed with statuscode: 503",
                        count=6,
                    )
                )
            ev.append(
                dict(
                    ts=ts,
                    service=n,
                    reason="BackOff",
                    type="Warning",
                    object="pod/" + pod,
                    message=msg,
                    count=backoff[pod],
                )
            )
        elif reason == "OOMKilled":
            ev.append(
                dict(
                    ts=ts,
                    service=n,
                    reason="OOMKilled",
                    type="Warning",
                    object="pod/" + pod,
                    message=msg,
                    count=1,
                )
            )
        elif reason == "Killing":
            ev.append(
                dict(
                    ts=ts,
                    service=n,
                    reason="Killing",
                    type="Normal",
                    object="pod/" + pod,
                    message=msg,
                    count=1,
                )
            )
        elif reason == "Started" and rng.random() < 0.5:
            ev.append(
                dict(
                    ts=ts,
                    service=n,
                    reason="Started",
                    type="Normal",
                    object="pod/" + pod,
                    message=msg,
                    count=1,
                )
            )
    for t, n, old, new in sim.auto_changes:
        ts = rfc(min(ctx.times[t] + 5, ctx.times[-1]))
        if ctx.stack == "aws":
            ev.append(
                dict(
                    ts=ts,
                    service=n,
                    reason="ServiceScaled",
                    type="Normal",
                    object="service/%s" % n,
                    message="Application Auto Scaling: desired count changed from %d to %d (TargetTracking ECSServiceAverageCPUUtilization)"
                    % (old, new),
                    count=1,
                )
            )
        else:
            ev.append(
                dict(
                    ts=ts,
                    service=n,
                    reason="SuccessfulRescale",
                    type="Normal",
                    object="horizontalpodautoscaler/" + n,
                    message="New size: %d; reason: cpu resource utilization (percentage of request) above target"
                    % new,
                    count=1,
                )
            )
            ev.append(
                dict(
                    ts=ts,
                    service=n,
                    reason="ScalingReplicaSet",
                    type="Normal",
                    object="deployment/" + n,
                    message="Scaled up replica set %s-%s to %d" % (n, h(n + "rs", 10), new),
                    count=1,
                )
            )
    F = ctx.fault
    if F.kind == "crash_loop" and F.variant == "startup" and ctx.stack != "aws":
        tg = F.target
        ev.append(
            dict(
                ts=rfc(ctx.times[F.t_on] - 20),
                service=tg,
                reason="Evicted",
                type="Warning",
                object="pod/%s-%s" % (tg, h("ev", 10)),
                message="The node was low on resource: memory. Threshold quantity: 100Mi, available: 88Mi.",
                count=1,
            )
        )
    ev.sort(key=lambda e: e["ts"])
    return ev


def render_traces(ctx):
    W, sim, T, rng = ctx.W, ctx.sim, ctx.T, ctx.rng
    F = ctx.fault
    spans = []
    ntr = rng.randint(120, 260)
    for i in range(ntr):
        if rng.random() < 0.5:
            t = rng.randint(0, T - 1)
        else:
            t = min(T - 1, max(0, F.t_on + rng.randint(-3, 15)))
        if sim.out[W.edge]["rps"][t] <= 0:
            continue
        tid = h("tr%d%d%f" % (i, t, rng.random()), 32)
        start = ctx.times[t] + rng.uniform(0, ctx.step)
        count = [0]

        def span(n, st, parent, depth, via=None):
            s = W.svcs[n]
            o = sim.out[n]
            sid = h(tid + n + str(rng.random()), 16)
            count[0] += 1
            med, p99 = max(o["p50"][t], 1e-4), max(o["p99"][t], o["p50"][t] * 1.1, 1e-4)
            sig = max(0.05, math.log(p99 / med) / 2.326)
            own = rng.lognormvariate(math.log(med), sig) * 0.3
            cur = st + own * 0.3
            err = False
            emsg = None
            if depth < 6 and count[0] < 40:
                for e in s.deps:
                    if e.kind == "pub" and rng.random() < 0.5:
                        pass
                    reps = 1 if e.k <= 1.5 else 2
                    if e.k < 1 and rng.random() > e.k:
                        continue
                    for _ in range(reps):
                        eo = sim.edge_out.get(e.key)
                        fail = eo["fail"][t] if eo and len(eo["fail"]) > t else 0.0
                        ef = ctx.edge_fail_t.get((e.key, t))
                        if ef and not ef[3] and rng.random() < ef[0]:
                            d = max(0.001, ef[2] + rng.uniform(0, 0.01))
                            spans.append(
                                dict(
                                    trace_id=tid,
                                    span_id=h(tid + e.dst + str(rng.random()), 16),
                                    parent_id=sid,
                                    service=n,
                                    name="%s %s"
                                    % ("POST" if W.svcs[e.dst].role != "db" else "connect", e.dst),
                                    start=rfc_ms(cur),
                                    duration_ms=round(d * 1000, 3),
                                    status="error",
                                    **{"peer.service": e.dst, "error.message": ef[1][:200]},
                                )
                            )
                            cur += d
                            if e.crit >= 0.5:
                                err, emsg = True, ef[1]
                            continue
                        if W.svcs[e.dst].role == "ext" or e.dst not in ctx.trace_svcs:
                            d = (
                                max(
                                    0.001,
                                    rng.lognormvariate(math.log(max(eo["p50"][t], 1e-4)), 0.4),
                                )
                                if eo
                                else 0.05
                            )
                            bad = rng.random() < fail
                            spans.append(
                                dict(
                                    trace_id=tid,
                                    span_id=h(tid + e.dst + str(rng.random()), 16),
                                    parent_id=sid,
                                    service=n,
                                    name=("POST https://api.%s.com/v1" % e.dst.split("-")[0])
                                    if W.svcs[e.dst].role == "ext"
                                    else "call %s" % e.dst,
                                    start=rfc_ms(cur),
                                    duration_ms=round(d * 1000, 3),
                                    status="error" if bad else "ok",
                                    **{
                                        "peer.service": e.dst,
                                        "http.status_code": 503 if bad else 200,
                                    },
                                )
                            )
                            cur += d
                            if bad and e.crit >= 0.5:
                                err, emsg = True, "%s returned 503" % e.dst
                            continue
                        cend, cerr = span(e.dst, cur, sid, depth + 1, e)
                        cur = cend
                        if cerr and e.crit >= 0.5 and rng.random() < 0.9:
                            err = True
                            emsg = "%s failed" % e.dst
            dur = max(own, cur - st + own * 0.7)
            if rng.random() < max(0.0, o["err"][t] - 0.0) * 0.5:
                err = True
            name = {
                "edge": "GET %s" % s.path,
                "app": (
                    "%s.v1.%s/Handle" % (n.replace("-", ""), n.title().replace("-", ""))
                    if s.proto == "grpc"
                    else "POST %s" % s.path
                ),
                "db": "SELECT app.orders",
                "cache": "GET",
                "queue": "publish %s" % n,
                "search": "POST /_search",
                "ext": "POST",
            }[s.role]
            sp = dict(
                trace_id=tid,
                span_id=sid,
                parent_id=parent,
                service=n,
                name=name,
                start=rfc_ms(st),
                duration_ms=round(dur * 1000, 3),
                status="error" if err else "ok",
            )
            if s.role in ("app", "edge"):
                sp["http.status_code"] = 500 if err else 200
                lst = [nm for nm, d in sim.inst_out[n]["up"].items() if d.get(t) == 1]
                if lst:
                    sp["k8s.pod.name"] = rng.choice(lst)
            if err and emsg:
                sp["error.message"] = emsg[:200]
            spans.append(sp)
            return st + dur, err

        span(W.edge, start, None, 0)
    spans.sort(key=lambda x: (x["trace_id"], x["start"]))
    return spans


# --------------------------------------------------------------------------- alerts / changes / assembly
AUTHORS = [
    "a.kowalski",
    "mchen",
    "priya.n",
    "deploy-bot",
    "jdoe",
    "s.okafor",
    "lmartin",
    "r.tanaka",
    "ci-pipeline",
    "e.garcia",
]


def detect(sim, n, t_from, T, step):
    o = sim.out[n]
    t_from = max(1, t_from)
    base_n = max(3, int(t_from * 0.8))
    be = sorted(o["err"][:base_n])[base_n // 2] if base_n else 0
    bl = sorted(o["p99"][:base_n])[base_n // 2] if base_n else 0.1
    thr_e = max(0.02, be * 5 + 0.01)
    thr_l = max(bl * 2.5, bl + 0.15)
    need = 2 if step < 120 else 1
    run_e = run_l = 0
    for t in range(t_from, T):
        if o["rps"][t] < 0.01:
            continue
        run_e = run_e + 1 if o["err"][t] > thr_e else 0
        run_l = run_l + 1 if o["p99"][t] > thr_l else 0
        if run_e >= need:
            return t, "errors", o["err"][t], thr_e
        if run_l >= need:
            return t, "latency", o["p99"][t], thr_l
    return None


def detect_queue(sim, n, t_from, T):
    o = sim.out[n]
    for t in range(max(0, t_from), T):
        if o["q_age"][t] > 300:
            return t, "backlog", o["q_age"][t], 300
    return None


ALERTNAMES = {
    "aws": {
        "errors": ("ALBTarget5XXRateHigh", "TargetGroup5XXHigh"),
        "latency": ("ALBTargetResponseTimeHigh", "TargetResponseTimeP99High"),
        "backlog": ("SQSOldestMessageAgeHigh",) * 2,
        "restarts": ("ECSTaskStoppedUnexpectedly",) * 2,
    },
    "gcp": {
        "errors": ("LoadBalancer5xxRatioHigh", "CloudRun5xxRatioHigh"),
        "latency": ("LoadBalancerLatencyHigh", "CloudRunRequestLatencyP99High"),
        "backlog": ("PubSubOldestUnackedAgeHigh",) * 2,
        "restarts": ("CloudRunContainerCrashes",) * 2,
    },
    "azure": {
        "errors": ("AppGatewayFailedRequests", "Http5xxAboveThreshold"),
        "latency": ("BackendLastByteResponseTimeHigh", "AverageResponseTimeHigh"),
        "backlog": ("ServiceBusActiveMessagesHigh",) * 2,
        "restarts": ("AppServiceInstanceRestarts",) * 2,
    },
    "datadog": {
        "errors": ("EdgeErrorRateHigh", "ServiceErrorRateHigh"),
        "latency": ("EdgeLatencyP99High", "ServiceLatencyP99High"),
        "backlog": ("RabbitMQQueueBacklog",) * 2,
        "restarts": ("PodRestartsHigh",) * 2,
    },
    "otel": {
        "errors": ("IngressErrorBudgetBurn", "HTTPServerErrorRateHigh"),
        "latency": ("IngressLatencySLOBurn", "HTTPServerLatencyP99High"),
        "backlog": ("KafkaConsumerLagHigh",) * 2,
        "restarts": ("KubePodRestartingOrOOMKilled",) * 2,
    },
    "vm": {
        "errors": ("HAProxyBackend5xxHigh", "HighErrorRate"),
        "latency": ("HAProxyBackendSlow", "HighRequestLatency"),
        "backlog": ("RabbitMQQueueMessagesReadyHigh",) * 2,
        "restarts": ("InstanceDown",) * 2,
    },
}


def make_alert(ctx, n, det, sev, later=0):
    t, typ, val, thr = det
    role = ctx.W.svcs[n].role
    an = ALERTNAMES[ctx.stack][typ][0 if role == "edge" else 1]
    labels = {"alertname": an, "severity": sev, ctx.skey: n}
    if ctx.stack in ("otel", "datadog"):
        labels["namespace"] = "%s-prod" % ctx.W.domain
    if ctx.stack in ("aws", "gcp", "azure"):
        labels["region"] = ctx.W.rng_region[0]
    labels["env"] = "prod"
    if typ == "errors":
        summ = "%s error ratio %.1f%% above %.1f%%" % (n, val * 100, thr * 100)
    elif typ == "latency":
        summ = "%s p99 latency %.2fs above %.2fs" % (n, val, thr)
    elif typ == "restarts":
        summ = "%s: %d container restarts in the last 15 minutes" % (n, val)
    else:
        summ = "%s oldest message age %ds" % (n, val)
    ts = min(ctx.times[t] + ctx.rng.randint(30, 120) + later, ctx.times[-1])
    fp = h(json.dumps(labels, sort_keys=True))
    expr = {
        "aws": "https://%s.console.aws.amazon.com/cloudwatch/home?region=%s#alarmsV2:alarm/%s-%s"
        % (ctx.W.rng_region[0], ctx.W.rng_region[0], an, n),
        "gcp": "https://console.cloud.google.com/monitoring/alerting/policies/%s" % h(an + n, 20),
        "azure": "https://portal.azure.com/#blade/Microsoft_Azure_Monitoring/AlertDetailsTemplateBlade/alertId/%s"
        % h(an + n, 32),
        "datadog": "https://app.datadoghq.com/monitors/%d" % (int(h(an + n, 6), 16)),
        "otel": "http://prometheus.monitoring:9090/graph?g0.expr=%s&g0.tab=1"
        % ("job%3D%22" + n + "%22"),
        "vm": "http://prom01.%s.internal:9090/graph?g0.expr=%s&g0.tab=1"
        % (ctx.W.domain, "job%3D%22" + n + "%22"),
    }[ctx.stack]
    return {
        "labels": labels,
        "annotations": {
            "summary": summ,
            "description": "%s has been firing for more than %d minutes."
            % (an, max(1, ctx.step // 60) * 2),
            "runbook_url": "https://runbooks.%s.example.com/%s" % (ctx.W.domain, an),
        },
        "startsAt": rfc(ts),
        "endsAt": rfc(ctx.times[-1] + 4 * 3600),
        "fingerprint": fp,
        "status": {"state": "active", "silencedBy": [], "inhibitedBy": []},
        "generatorURL": expr,
        "receivers": [
            {
                "name": "pagerduty-%s" % ctx.W.domain
                if sev == "critical"
                else "slack-%s-alerts" % ctx.W.domain
            }
        ],
        "updatedAt": rfc(ctx.times[-1] - ctx.rng.randint(0, 60)),
    }, ts


def change_id(style, rng, n):
    if style == "num":
        return "chg-%d" % rng.randint(10000, 99999)
    if style == "chg":
        return "CHG%07d" % rng.randint(100000, 9999999)
    if style == "sha":
        return h("%s%f" % (n, rng.random()), 12)
    return "%s-%s" % (n[:12], h("%s%f" % (n, rng.random()), 8))


def make_bundle(idx, kind, variant, stack, seed, outdir):
    rng = random.Random(seed * 1000003 + idx * 7919)
    need = {
        "cache": variant in ("cache_off", "cache_down"),
        "queue": variant in ("broker_down", "poison"),
    }
    W = build_world(rng, need)
    W.rng_region = rng.choice(
        {
            "aws": [
                ["us-east-1", "us-east-2"],
                ["eu-central-1", "eu-west-1"],
                ["us-west-2", "us-east-1"],
            ],
            "gcp": [["europe-west1", "europe-west4"], ["us-central1", "us-east4"]],
            "azure": [["westeurope", "northeurope"], ["eastus2", "centralus"]],
        }.get(
            stack,
            [["eu-west-1a", "eu-west-1b"], ["dc1", "dc2"], ["fra1", "ams3"], ["zone-a", "zone-b"]],
        )
    )
    W.diurnal_amp = rng.choice([0.0, 0.1, 0.25, 0.4])
    W.noise = rng.uniform(0.01, 0.05)
    W.bg_err_text = {n: rng.choice(BG_ERR[s.role]) for n, s in W.svcs.items()}
    W.disk_text = {
        W.db: 'ERROR:  could not extend file "base/16384/2619.3": No space left on device'
    }
    W.disk_base = {n: rng.uniform(0.2, 0.7) for n in W.svcs}
    W.ramp = rng.choice([0.0, 0.0, 0.05, 0.1])
    if variant in ("slots", "db_conns", "cpu_throttle"):
        W.diurnal_amp = min(W.diurnal_amp, 0.1)
        W.ramp = rng.uniform(0.6, 1.0)
    if variant in ("cache_off", "cache_down"):
        s_ = W.svcs[W.cache]
        s_.hit = rng.uniform(0.9, 0.97)
        size_capacity(W, rng)
        ce = [e for e in W.svcs[W.cache_user].deps if e.kind == "cache"][0]
        peak_db = W.peak[W.db]
        need_k = rng.uniform(2.5, 4.0) * peak_db / max(1e-6, W.peak[W.cache_user] * s_.hit)
        ce.k = round(max(ce.k, need_k), 1)
    size_capacity(W, rng)
    # window
    steps = {
        "aws": [60, 60, 300],
        "gcp": [60, 60, 120],
        "azure": [60, 300],
        "datadog": [15, 30, 60, 120],
        "otel": [15, 30, 60],
        "vm": [15, 30, 60],
    }[stack]
    long_needed = variant in ("mem_leak", "disk_full")
    for _ in range(50):
        step = rng.choice(steps)
        win = rng.choice(
            [45, 60, 90, 120, 180, 240, 360, 480] if not long_needed else [180, 240, 360, 480]
        )
        T = win * 60 // step
        if 60 <= T <= 1000:
            break
    else:
        step, win = 60, 180
        T = 180
    day = dt.datetime(2026, 1, 5, tzinfo=dt.UTC) + dt.timedelta(
        days=rng.randint(0, 320), hours=rng.randint(0, 23), minutes=rng.randint(0, 59)
    )
    t0 = int(day.timestamp()) // step * step
    W.hpa = {}
    W.ramp_t0 = 0
    F = Fault(kind, variant, W, T, step, rng)
    prepare_fault(F, W, rng)
    if variant == "mem_leak":
        F.t_on = int(T * rng.uniform(0.55, 0.75))
    if variant in ("slots", "db_conns", "cpu_throttle"):
        W.ramp_t0 = max(0, F.t_on - F.mins(rng.uniform(15, 40)))
        W.ramp = W.ramp * (T - W.ramp_t0) / T * 2.0
    size_limits(W, T, step, t0, rng)
    for n, s in W.svcs.items():
        if s.role in ("app", "edge") and n != W.low and rng.random() < 0.6:
            W.hpa = getattr(W, "hpa", {})
    W.hpa = {}
    for n in W.fronts + W.mids:
        if rng.random() < 0.5 and not (
            F.kind in ("crash_loop", "resource_saturation", "unknown") and n == F.target
        ):
            W.hpa[n] = {"thr": 0.75, "cool": max(2, int(180 / step)), "max": W.svcs[n].pods * 3}
    # cert expiry notAfter aligned to a round time
    if kind == "certificate_expiry":
        F.t_on = int(F.t_on)
    # confounders
    confs = []
    cstyle = rng.choice(["num", "chg", "sha", "argo"])
    changes = []
    apps = W.fronts + W.mids
    ontopath = set([F.target] + [e for e in F.p.get("edge", ())])
    others = [a for a in apps + ([W.worker] if W.worker else []) if a not in ontopath]
    conf_desc = []
    if rng.random() < 0.75 and others:
        cs = rng.choice(others)
        ct = (
            F.t_on - F.mins(rng.uniform(2, 25))
            if rng.random() < 0.8
            else F.t_on + F.mins(rng.uniform(3, 15))
        )
        ct = max(1, min(T - 2, ct))
        nv = bump(W.svcs[cs].version, rng)
        confs.append(Conf("innocent_deploy", cs, ct, version=nv))
        changes.append(
            dict(
                id=change_id(cstyle, rng, cs),
                ts=rfc(t0 + ct * step + rng.randint(0, step - 1)),
                service=cs,
                kind="deploy",
                summary=rng.choice(
                    [
                        "bump dependencies (%s)"
                        % rng.choice(
                            ["jackson 2.17.2", "grpc-go 1.66", "urllib3 2.2.3", "express 4.21"]
                        ),
                        "add metrics for %s endpoint" % W.svcs[cs].path,
                        "refactor: extract %s client" % cs,
                        "copy change on confirmation page",
                        "feat: pagination on %s" % W.svcs[cs].path,
                    ]
                ),
                version=nv,
                previous_version=W.svcs[cs].version,
                author=rng.choice(AUTHORS),
            )
        )
        conf_desc.append("innocent deploy %s" % cs)
    if rng.random() < 0.35 and others:
        cs = rng.choice(others)
        ct = max(1, F.t_on - F.mins(rng.uniform(1, 40)))
        changes.append(
            dict(
                id=change_id(cstyle, rng, cs),
                ts=rfc(t0 + ct * step),
                service=cs,
                kind=rng.choice(["flag", "config"]),
                summary=rng.choice(
                    [
                        "enable flag %s.new_banner for 10%% of users" % cs.replace("-", "_"),
                        "log level %s: info -> debug" % cs,
                        "rotate API key for %s (scheduled)" % cs,
                        "raise %s rate-limit burst 200 -> 300" % cs,
                    ]
                ),
                author=rng.choice(AUTHORS),
            )
        )
        conf_desc.append("innocent config %s" % cs)
    if rng.random() < 0.25 and others:
        cs = rng.choice(others)
        ct = max(0, F.t_on - F.mins(rng.uniform(30, 90)))
        changes.append(
            dict(
                id=change_id(cstyle, rng, "infra"),
                ts=rfc(t0 + ct * step),
                service=cs,
                kind="infra",
                summary=rng.choice(
                    [
                        "node pool upgrade 1.29.6 -> 1.29.8 (surge 1)",
                        "rotate node AMI ami-%s" % h(cs, 17),
                        "terraform: tag updates on %s resources" % cs,
                    ]
                ),
                author=rng.choice(["platform-bot", "terraform-cloud", "k.ivanova"]),
            )
        )
        conf_desc.append("earlier infra change")
    noisy = []
    if rng.random() < 0.4:
        cs = rng.choice(others or apps)
        confs.append(Conf("noisy_cpu", cs, 0))
        noisy.append(cs)
        conf_desc.append("noisy cpu %s" % cs)
    # calibration pass
    if kind in ("config_change", "resource_saturation", "unknown"):
        sim0 = Sim(W, T, step, t0, random.Random(rng.random()))
        sim0.run(NullFault(), [c for c in confs])
        F.calibrate(sim0)
        if variant == "slots" and stack == "aws":
            pass
    sim = Sim(W, T, step, t0, random.Random(rng.random()))
    sim.run(F, confs)
    # true change
    truth = {"kind": kind, "service": F.target}
    tc = F.t_change
    if kind == "deploy":
        s = W.svcs[F.target]
        cid = change_id(cstyle, rng, F.target)
        summ = {
            "exception": "release %s: new pricing/serialization path" % F.p["new_version"],
            "canary": "canary %s (1 of %d pods)" % (F.p["new_version"], s.pods),
            "nplus1": "release %s: order details refactor" % F.p["new_version"],
            "region": "release %s to %s" % (F.p["new_version"], F.p.get("region")),
            "mem_regression": "release %s: in-memory response cache for %s"
            % (F.p["new_version"], s.path),
        }[variant]
        changes.append(
            dict(
                id=cid,
                ts=rfc(t0 + tc * step + rng.randint(0, step - 1)),
                service=F.target,
                kind="deploy",
                summary=summ,
                version=F.p["new_version"],
                previous_version=s.version,
                author=rng.choice(AUTHORS),
                url="https://github.com/%s/%s/releases/tag/%s"
                % (W.domain, F.target, F.p["new_version"]),
            )
        )
        truth["change_id"] = cid
        F.change = cid
    elif kind == "config_change":
        cid = change_id(cstyle, rng, F.target)
        ck = "config"
        if variant == "timeout":
            a, b = F.p["edge"]
            old = [e for e in W.svcs[a].deps if e.dst == b][0].timeout
            summ = "%s: %s client timeout %dms -> %dms" % (a, b, old * 1000, F.p["tmo"] * 1000)
        elif variant == "pool":
            summ = "%s: datasource maximumPoolSize %d -> %d" % (F.target, F.p["old"], F.p["new"])
        elif variant == "retry":
            a, b = F.p["edge"]
            summ = "%s: retry policy for %s: maxAttempts 5, backoff 0ms, hedging enabled" % (a, b)
        elif variant == "cache_off":
            ck = "flag"
            summ = "flag %s.read_through_cache = false" % F.target.replace("-", "_")
        else:
            a, b = F.p["edge"]
            summ = "%s: %s_URL -> http://%s:8080" % (
                a,
                b.upper().replace("-", "_"),
                F.p["badhost"] if F.p["ftype"] == "dns" else b + ":8443",
            )
            if F.p["ftype"] != "dns":
                summ = "%s: %s_URL port 8080 -> 8443" % (a, b.upper().replace("-", "_"))
        changes.append(
            dict(
                id=cid,
                ts=rfc(t0 + tc * step + rng.randint(0, max(1, step // 2))),
                service=F.target,
                kind=ck,
                summary=summ,
                author=rng.choice(AUTHORS),
            )
        )
        truth["change_id"] = cid
        F.change = cid
    elif kind == "network" and variant == "sg_block":
        changes.append(
            dict(
                id=change_id(cstyle, rng, "sg"),
                ts=rfc(t0 + F.t_on * step - rng.randint(5, 40)),
                service=F.target,
                kind="infra",
                summary="terraform apply: aws_security_group.%s ingress rules updated (%d -> %d rules)"
                % (F.target.replace("-", "_"), rng.randint(4, 9), rng.randint(2, 3)),
                author=rng.choice(["terraform-cloud", "platform-bot", "k.ivanova"]),
            )
        )
    # autoscaler changes
    for t, n, old, new in sim.auto_changes:
        changes.append(
            dict(
                id=change_id(cstyle, rng, n + "scale"),
                ts=rfc(min(t0 + t * step + 5, t0 + (T - 1) * step)),
                service=n,
                kind="scale",
                summary="autoscaler: %s desired replicas %d -> %d" % (n, old, new),
                author="application-autoscaling" if stack == "aws" else "horizontal-pod-autoscaler",
            )
        )
    changes.sort(key=lambda c: c["ts"])
    # ctx for rendering
    ctx = Ctx()
    ctx.W, ctx.sim, ctx.T, ctx.step, ctx.rng, ctx.stack, ctx.fault = W, sim, T, step, rng, stack, F
    ctx.times = [t0 + i * step for i in range(T)]
    ctx.skey = {
        "aws": rng.choice(["service", "service", "app"]),
        "gcp": rng.choice(["service", "job"]),
        "azure": rng.choice(["app", "service"]),
        "datadog": "service",
        "otel": "job",
        "vm": rng.choice(["job", "job", "service"]),
    }[stack]
    ctx.with_name = rng.random() < 0.8
    ctx.lambdas = set()
    if stack == "aws":
        cand = [
            m
            for m in W.mids
            if not (
                kind == "resource_saturation"
                and variant in ("mem_leak", "cpu_throttle")
                and m == F.target
            )
            and not (kind in ("crash_loop", "deploy") and m == F.target)
        ]
        ctx.lambdas = set(x for x in cand if rng.random() < 0.3)
        if kind == "resource_saturation" and variant == "slots":
            ctx.lambdas.add(F.target)
    ctx.dbflavor = rng.choice(["postgres", "postgres", "mysql", "cassandra"])
    ctx.inst_alias = {}
    ctx.cpu_cores = {n: rng.choice([0.5, 1, 2]) for n in W.svcs}
    ctx.noisy_hosts = noisy
    ctx.net_hosts = [F.target] if (kind == "network" and variant == "packet_loss") else []
    ctx.net_err = [
        (F.p.get("loss", 0) * 200 if (t >= F.t_on and kind == "network") else 0.05)
        for t in range(T)
    ]
    ctx.down_mask = {
        n: [1 if t in ts_ else 0 for t in range(T)] for n, ts_ in sim.down_ticks.items()
    }
    ctx.edge_fail_t = sim.edge_fail_t
    ctx.lvlstyle = rng.choice(["upper", "lower", "mixed"])
    ctx.log_ts = rng.choice(["rfc", "rfc", "ms", "s"])
    bots = (
        "python-requests/2.31.0"
        if rng.random() < 0.5
        else "Mozilla/5.0 (compatible; AhrefsBot/7.0)"
    )
    botip = "185.%d.%d.%d" % (rng.randint(0, 255), rng.randint(0, 255), rng.randint(1, 254))
    appver = "%sApp/%d.%d.0 (iOS 18.1)" % (W.domain.title(), rng.randint(4, 9), rng.randint(0, 20))

    def edge_client(t):
        if F.kind == "traffic_surge" and t >= F.t_on:
            if F.variant == "bot" and rng.random() < 0.8 and t - F.t_on < F.p["dur"]:
                return {"client_ip": botip, "user_agent": bots}
            if F.variant == "retry_storm" and rng.random() < 0.75:
                return {
                    "client_ip": "%d.%d.%d.%d"
                    % (
                        rng.randint(20, 220),
                        rng.randint(0, 255),
                        rng.randint(0, 255),
                        rng.randint(1, 254),
                    ),
                    "user_agent": appver,
                }
            if F.variant == "campaign" and rng.random() < 0.6:
                return {
                    "client_ip": "%d.%d.%d.%d"
                    % (
                        rng.randint(20, 220),
                        rng.randint(0, 255),
                        rng.randint(0, 255),
                        rng.randint(1, 254),
                    ),
                    "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X)",
                    "referer": "https://mail.%s.example.com/?utm_campaign=blackfriday" % W.domain,
                }
        return {
            "client_ip": "%d.%d.%d.%d"
            % (rng.randint(20, 220), rng.randint(0, 255), rng.randint(0, 255), rng.randint(1, 254)),
            "user_agent": rng.choice(
                [
                    "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
                    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5)",
                    "%sApp/%d.%d.0 (Android 14)"
                    % (W.domain.title(), rng.randint(3, 5), rng.randint(0, 9)),
                ]
            ),
        }

    ctx.edge_client = edge_client
    # which services have metrics / logs
    all_s = [n for n in W.order if W.svcs[n].role != "ext"]
    logs_only = None
    if rng.random() < 0.4:
        pool = [x for x in [W.worker, W.low] + W.mids if x and x != F.target]
        if pool:
            logs_only = rng.choice(pool)
    ctx.msvcs = [n for n in all_s if n != logs_only]
    ls = set()
    for n in all_s:
        r = W.svcs[n].role
        if r in ("app", "edge") and rng.random() < 0.65:
            ls.add(n)
        if r in ("db", "queue", "cache", "search") and rng.random() < 0.25:
            ls.add(n)
    if F.target in W.svcs and W.svcs[F.target].role != "ext" and rng.random() < 0.85:
        ls.add(F.target)
    if logs_only:
        ls.add(logs_only)
    callers = [a for a in W.order for e in W.svcs[a].deps if e.dst == F.target]
    for a in callers:
        if rng.random() < 0.7:
            ls.add(a)
    if callers and not (set(callers) & ls):
        ls.add(rng.choice(callers))
    ctx.lsvcs = sorted(ls)
    ctx.trace_svcs = set(all_s)
    # alerts: page
    cands = [
        n for n in W.order if W.svcs[n].role in ("edge", "app") and n in ctx.msvcs and n != W.low
    ]
    dets = {n: detect(sim, n, F.t_on - 2, T, step) for n in cands}
    if W.queue and W.queue in ctx.msvcs:
        dets[W.queue] = detect_queue(sim, W.queue, F.t_on - 2, T)
    fired = [n for n in cands + ([W.queue] if W.queue else []) if dets.get(n)]
    page = None
    if F.target in fired and rng.random() < 0.15:
        page = F.target
    elif fired:
        non = [n for n in fired if n != F.target]
        pool = sorted(non or fired, key=lambda n: (dets[n][0], W.order.index(n)))
        page = pool[0] if rng.random() < 0.6 else rng.choice(pool[:3])
    alerts = []
    if page is None:
        rs = [
            (t, n)
            for (t, n, inst, reason, msg) in sim.events
            if reason in ("OOMKilled", "BackOff") and t >= F.t_on - 2 and n in ctx.msvcs
        ]
        if rs:
            t_, n_ = min(rs)
            page = n_
            dets[page] = (
                min(T - 1, t_ + 1),
                "restarts",
                max(1, sum(1 for x in rs if x[1] == n_ and x[0] <= t_ + F.mins(15))),
                3,
            )
    if page is None:

        def rel(n):
            o = sim.out[n]
            pre = sorted(o["p99"][: max(3, F.t_on - 2)])[max(3, F.t_on - 2) // 2]
            return max(o["p99"][F.t_on : min(T, F.t_on + F.mins(30))]) / max(pre, 1e-6), pre

        page = max(cands, key=lambda n: rel(n)[0])
        o = sim.out[page]
        seg = list(range(F.t_on, min(T, F.t_on + F.mins(30))))
        tt = max(seg, key=lambda t: o["p99"][t])
        pre = rel(page)[1]
        dets[page] = (
            tt,
            "latency",
            o["p99"][tt],
            round(max(pre * 1.3, (pre + o["p99"][tt]) / 2), 3),
        )
    a1, ats = make_alert(ctx, page, dets[page], "critical")
    alerts.append(a1)
    second = None
    later = [n for n in fired if n != page and dets[n][0] > dets[page][0]]
    if later and rng.random() < 0.6:
        second = rng.choice(later)
        a2, _ = make_alert(ctx, second, dets[second], "warning")
        alerts.append(a2)
    if rng.random() < 0.3:
        # unrelated, long-running low-severity alert
        n = rng.choice(all_s)
        lab_ = {
            "alertname": rng.choice(
                [
                    "KubePodNotReady",
                    "DiskSpaceWarning",
                    "CertificateRenewalPending",
                    "HostClockSkew",
                ]
            ),
            "severity": "info",
            ctx.skey: n,
            "env": "prod",
        }
        alerts.append(
            {
                "labels": lab_,
                "annotations": {"summary": "%s on %s" % (lab_["alertname"], n)},
                "startsAt": rfc(t0 - rng.randint(3600, 86400)),
                "endsAt": rfc(ctx.times[-1] + 4 * 3600),
                "fingerprint": h(json.dumps(lab_, sort_keys=True)),
                "status": {
                    "state": "active",
                    "silencedBy": [
                        h("sil", 8)
                        + "-"
                        + h("x", 4)
                        + "-"
                        + h("y", 4)
                        + "-"
                        + h("z", 4)
                        + "-"
                        + h("w", 12)
                    ]
                    if rng.random() < 0.5
                    else [],
                    "inhibitedBy": [],
                },
                "generatorURL": "",
                "receivers": [{"name": "slack-%s-alerts" % W.domain}],
                "updatedAt": rfc(ctx.times[-1]),
            }
        )
    # render
    mw = render_metrics(ctx)
    gap = None
    if rng.random() < 0.35 and mw.files:
        stem = rng.choice(sorted(mw.files))
        ser = rng.choice(mw.files[stem])
        a = rng.randint(0, max(0, T - T // 8))
        b = a + rng.randint(T // 20 + 1, T // 8 + 2)
        lo, hi = ctx.times[min(a, T - 1)], ctx.times[min(b, T - 1)]
        ser["values"] = [v for v in ser["values"] if not (lo <= v[0] <= hi)]
        gap = stem
        conf_desc.append("gap in %s" % stem)
    logs = render_logs(ctx)
    events = (
        render_events(ctx) if stack in ("otel", "datadog", "aws") and rng.random() < 0.85 else []
    )
    traces = (
        render_traces(ctx) if stack in ("otel", "datadog", "aws") and rng.random() < 0.55 else []
    )
    # write
    bid = "%02d-%s-%s-%s" % (idx + 1, W.domain, stack, h("%d%d" % (seed, idx), 6))
    d = os.path.join(outdir, bid)
    os.makedirs(os.path.join(d, "metrics"), exist_ok=True)
    title = "[%s] %s on %s" % (a1["labels"]["severity"], a1["labels"]["alertname"], page)
    wstart, wend = ctx.times[0], ctx.times[-1]
    by = {"id": bid, "title": title, "window": {"start": rfc(wstart), "end": rfc(wend)}}
    fa = rng.random()
    if fa < 0.6:
        by["focus_alert"] = a1["fingerprint"]
    elif fa < 0.85:
        by["focus_alert"] = a1["labels"]["alertname"]
    with open(os.path.join(d, "bundle.yaml"), "w") as f:
        yaml.safe_dump(by, f, sort_keys=False)
    with open(os.path.join(d, "alerts.json"), "w") as f:
        json.dump(alerts, f, indent=1)
    for stem, series in mw.files.items():
        with open(os.path.join(d, "metrics", stem + ".json"), "w") as f:
            json.dump(
                {"status": "success", "data": {"resultType": "matrix", "result": series}},
                f,
                separators=(",", ":"),
            )
    if mw.queries:
        with open(os.path.join(d, "metrics", "queries.yaml"), "w") as f:
            yaml.safe_dump(mw.queries, f, sort_keys=True, width=1000)
    if logs:
        os.makedirs(os.path.join(d, "logs"), exist_ok=True)
        for n, recs in logs.items():
            with open(os.path.join(d, "logs", n + ".jsonl"), "w") as f:
                for r in recs:
                    f.write(json.dumps(r) + "\n")
    with open(os.path.join(d, "changes.json"), "w") as f:
        json.dump(changes, f, indent=1)
    if rng.random() < 0.9:
        topo = {"services": {}}
        for n in W.order:
            deps = sorted(set(e.dst for e in W.svcs[n].deps))
            if W.svcs[n].role == "queue":
                deps = []
            topo["services"][n] = {"depends_on": deps}
        if W.queue:
            topo["services"][W.worker]["depends_on"] = sorted(
                set(topo["services"][W.worker]["depends_on"] + [W.queue])
            )
        with open(os.path.join(d, "topology.yaml"), "w") as f:
            yaml.safe_dump(topo, f, sort_keys=False)
    if traces:
        os.makedirs(os.path.join(d, "traces"), exist_ok=True)
        with open(os.path.join(d, "traces", "spans.jsonl"), "w") as f:
            for sp in traces:
                f.write(json.dumps(sp) + "\n")
    if events:
        os.makedirs(os.path.join(d, "events"), exist_ok=True)
        with open(
            os.path.join(d, "events", "%s.jsonl" % ("ecs" if stack == "aws" else "kubernetes")), "w"
        ) as f:
            for e in events:
                f.write(json.dumps(e) + "\n")
    if os.environ.get("GEN_DEBUG"):
        os.makedirs(os.environ["GEN_DEBUG"], exist_ok=True)
        with open(os.path.join(os.environ["GEN_DEBUG"], bid + ".txt"), "w") as f:
            a0, a1_ = max(1, F.t_on - 5), F.t_on
            f.write(
                "%s %s target=%s t_on=%d T=%d step=%d page=%s\n"
                % (kind, variant, F.target, F.t_on, T, step, page)
            )
            for n in W.order:
                o = sim.out[n]
                seg = range(F.t_on, min(T, F.t_on + max(3, int(1800 / step))))
                mx = lambda k: max(o[k][t] for t in seg)
                md = lambda k: sorted(o[k][:a0])[a0 // 2]
                f.write(
                    "%-22s %-6s rps %8.1f->%8.1f err %.4f->%.4f p99 %.3f->%.3f util %.2f->%.2f up %d->%d%s\n"
                    % (
                        n,
                        W.svcs[n].role,
                        md("rps"),
                        mx("rps"),
                        md("err"),
                        mx("err"),
                        md("p99"),
                        mx("p99"),
                        md("util"),
                        mx("util"),
                        md("n_up"),
                        min(o["n_up"][t] for t in seg),
                        (" qage %.0f->%.0f" % (md("q_age"), mx("q_age"))) if o.get("q_age") else "",
                    )
                )
    tr = {"root_cause": dict(truth)}
    if kind == "unknown":
        tr["match"] = "service"
    with open(os.path.join(d, "truth.yaml"), "w") as f:
        yaml.safe_dump(tr, f, sort_keys=False)
    desc = "%s/%s on %s (%s stack, step %ds, %dmin); paged on %s%s; confounders: %s" % (
        kind,
        variant,
        F.target,
        stack,
        step,
        T * step // 60,
        page,
        (", 2nd alert " + second) if second else "",
        ", ".join(
            conf_desc
            + (["logs-only %s" % logs_only] if logs_only else [])
            + (["autoscale"] if sim.auto_changes else [])
        )
        or "none",
    )
    return dict(
        bundle=bid,
        stack=stack,
        truth=tr,
        description=desc,
        onset=rfc(t0 + F.t_on * step),
        page=page,
    )


class NullFault:
    kind = variant = "none"

    def apply(self, t, m, sim):
        pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=40)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    plan = list(KIND_PLAN)
    rng.shuffle(plan)
    while len(plan) < a.count:
        plan += plan
    plan = plan[: a.count]
    stacks = []
    while len(stacks) < a.count:
        ss = list(STACKS)
        rng.shuffle(ss)
        stacks += ss
    os.makedirs(a.out, exist_ok=True)
    man = []
    for i, (k, v) in enumerate(plan):
        st = stacks[i]
        man.append(make_bundle(i, k, v, st, a.seed, a.out))
        print(
            "%-40s %-20s %-16s %s"
            % (man[-1]["bundle"], k, v, man[-1]["truth"]["root_cause"]["service"])
        )
    with open(os.path.join(a.out, "MANIFEST.yaml"), "w") as f:
        yaml.safe_dump(
            {
                "generator": "gen_fleet.py",
                "seed": a.seed,
                "format": "incident bundle v1",
                "bundles": man,
            },
            f,
            sort_keys=False,
            width=200,
        )


if __name__ == "__main__":
    main()
