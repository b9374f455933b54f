#!/usr/bin/env python3
"""Independent generator of synthetic incident bundles (bundle v1).

Family D: data-tier and platform faults, real exporter vocabularies, 60 s steps, ~2 h.
Family E: sparse and messy telemetry: 5 min steps, 30-45 min, gaps, resets, job/app
labels, dotted / camelCase metric names, late alerts, services with logs only.

Written blind to the engine (2026-12-04, by a helper that did not read
aisre_cli/investigate/, scripts/, scenarios/, tests/ or docs/eval.md), like
scripts/gen_vocab.py. Never fitted on: it measures what an unseen system does.

usage: python3 scripts/gen_platform.py [--seed N] [--out /tmp/indep2]
    aisre eval /tmp/indep2/D   # and E
"""

import argparse
import hashlib
import json
import math
import os
import shutil
from datetime import UTC, datetime

import numpy as np
import yaml

# ---------------------------------------------------------------- vocabularies
DOMAINS = {
    "banking": {
        "ns": "corebank",
        "edge": "edge-gw",
        "bff": "mobile-bff",
        "apps": ["accounts-api", "payments-api", "cards-svc", "kyc-service", "statements-api"],
        "worker": "ledger-poster",
        "pg": "ledger-pg",
        "my": "cards-mysql",
        "redis": "session-redis",
        "kafka": "kafka-main",
        "rabbit": "notify-rabbit",
        "ext": ("fraudscore", "api.fraudscore-partner.com"),
        "topic": "ledger.postings",
        "disk": "audit-es",
        "host": "app.novabank.example",
    },
    "travel": {
        "ns": "booking",
        "edge": "ingress-nginx",
        "bff": "web-frontend",
        "apps": ["search-api", "fare-engine", "reservations", "loyalty-svc", "itinerary-api"],
        "worker": "ticketing-worker",
        "pg": "reservations-db",
        "my": "loyalty-mysql",
        "redis": "fare-cache",
        "kafka": "events-kafka",
        "rabbit": "email-rabbitmq",
        "ext": ("gds-gateway", "ws.gds-connect.net"),
        "topic": "booking.confirmed",
        "disk": "search-opensearch",
        "host": "www.tripwise.example",
    },
    "gaming": {
        "ns": "live",
        "edge": "edge-envoy",
        "bff": "game-gateway",
        "apps": ["matchmaker", "inventory-svc", "leaderboard", "store-api", "profile-svc"],
        "worker": "reward-granter",
        "pg": "players-postgres",
        "my": "store-mysql",
        "redis": "lobby-redis",
        "kafka": "telemetry-kafka",
        "rabbit": "chat-rabbit",
        "ext": ("platform-payments", "api.console-store.net"),
        "topic": "match.results",
        "disk": "replay-minio",
        "host": "play.arcbolt.example",
    },
    "healthcare": {
        "ns": "clinic",
        "edge": "ingress-nginx",
        "bff": "patient-portal",
        "apps": ["scheduling-api", "records-svc", "billing-api", "rx-service", "provider-dir"],
        "worker": "claims-processor",
        "pg": "ehr-postgres",
        "my": "billing-mysql",
        "redis": "portal-redis",
        "kafka": "hl7-kafka",
        "rabbit": "fax-rabbitmq",
        "ext": ("eligibility-clearinghouse", "api.claimsclear.com"),
        "topic": "hl7.adt",
        "disk": "dicom-store",
        "host": "portal.medicor.example",
    },
    "adtech": {
        "ns": "ads",
        "edge": "bidder-edge",
        "bff": "ad-server",
        "apps": ["bid-engine", "campaign-api", "budget-pacer", "creative-svc", "audience-svc"],
        "worker": "impression-aggregator",
        "pg": "campaigns-pg",
        "my": "reporting-mysql",
        "redis": "freqcap-redis",
        "kafka": "imp-kafka",
        "rabbit": "jobs-rabbit",
        "ext": ("geo-ip-vendor", "geo.ipinsight-api.io"),
        "topic": "impressions.raw",
        "disk": "events-clickhouse",
        "host": "ads.pixelhive.example",
    },
    "iot": {
        "ns": "fleet",
        "edge": "mqtt-ingress",
        "bff": "device-gateway",
        "apps": ["telemetry-api", "shadow-svc", "ota-manager", "alerts-engine", "provisioning"],
        "worker": "timeseries-writer",
        "pg": "registry-pg",
        "my": "ota-mysql",
        "redis": "shadow-redis",
        "kafka": "telemetry-kafka",
        "rabbit": "cmd-rabbitmq",
        "ext": ("maps-provider", "api.geomapping.io"),
        "topic": "device.telemetry",
        "disk": "tsdb-influx",
        "host": "iot.voltgrid.example",
    },
    "retail": {
        "ns": "shop",
        "edge": "ingress-nginx",
        "bff": "storefront",
        "apps": ["catalog-api", "cart-svc", "checkout-api", "pricing", "promotions"],
        "worker": "order-fulfiller",
        "pg": "orders-pg",
        "my": "catalog-mysql",
        "redis": "cart-redis",
        "kafka": "orders-kafka",
        "rabbit": "mail-rabbit",
        "ext": ("tax-calc", "api.taxrates-cloud.com"),
        "topic": "orders.created",
        "disk": "product-search-es",
        "host": "shop.greenbasket.example",
    },
    "logistics": {
        "ns": "dispatch",
        "edge": "api-gateway",
        "bff": "ops-console",
        "apps": ["shipment-api", "routing-svc", "tracking-api", "rates-svc", "warehouse-api"],
        "worker": "label-printer-worker",
        "pg": "shipments-pg",
        "my": "rates-mysql",
        "redis": "eta-cache",
        "kafka": "scan-events-kafka",
        "rabbit": "label-rabbit",
        "ext": ("carrier-api", "api.parcelcarrier-xpress.com"),
        "topic": "parcel.scans",
        "disk": "pod-image-store",
        "host": "track.shipfast.example",
    },
    "media": {
        "ns": "stream",
        "edge": "ingress-nginx",
        "bff": "tv-api",
        "apps": ["playback-svc", "catalog-svc", "entitlements", "recommendations", "watchlist-api"],
        "worker": "transcode-dispatcher",
        "pg": "subscribers-pg",
        "my": "catalog-mysql",
        "redis": "token-redis",
        "kafka": "plays-kafka",
        "rabbit": "transcode-rabbit",
        "ext": ("drm-license", "license.drmvendor.net"),
        "topic": "playback.heartbeats",
        "disk": "thumbnail-store",
        "host": "watch.reelhub.example",
    },
    "insurance": {
        "ns": "policy",
        "edge": "edge-proxy",
        "bff": "agent-portal",
        "apps": ["quote-api", "policy-svc", "claims-api", "underwriting", "documents-svc"],
        "worker": "claims-intake-worker",
        "pg": "policy-pg",
        "my": "quotes-mysql",
        "redis": "quote-cache",
        "kafka": "claims-kafka",
        "rabbit": "docs-rabbit",
        "ext": ("credit-bureau", "api.creditcheck-bureau.com"),
        "topic": "claims.filed",
        "disk": "docs-es",
        "host": "agents.shieldline.example",
    },
}

ROUTES = [
    "/api/v1/items",
    "/api/v1/search",
    "/api/v2/orders",
    "/healthz",
    "/api/v1/users/{id}",
    "/api/v1/quote",
]


def iso(ts):
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def iso_s(ts):
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fp(labels):
    return hashlib.sha1(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16]


def fmtv(v):
    if abs(v - round(v)) < 1e-9 and abs(v) < 1e15:
        return str(int(round(v)))
    return f"{v:.6g}"


class Bundle:
    def __init__(self, rng, bid, family, domain, step, t0, n, onset_i):
        self.rng = rng
        self.id = bid
        self.family = family
        self.d = DOMAINS[domain]
        self.domain = domain
        self.step = step
        self.T = t0 + step * np.arange(n)
        self.n = n
        self.on = onset_i
        self.t_on = int(self.T[onset_i])
        self.metrics = {}  # file stem -> list of series
        self.logs = {}  # service -> list of dicts
        self.events = []
        self.changes = []
        self.alerts = []
        self.spans = []
        self.topo = {}
        self.svc = {}
        self.queries = {}
        # style knobs (E sets them)
        self.svc_label = "service"  # which label key carries the service name
        self.gap_p = 0.0
        self.names = "prom"  # prom | dotted
        self.no_metrics = set()
        self.kube_style = False  # cAdvisor / ksm with service=kubelet etc.

    # ----------------------------------------------------------- helpers
    def diurnal(self, amp=0.25):
        ph = self.rng.uniform(0, 86400)
        return 1 + amp * np.sin(2 * np.pi * (self.T - ph) / 86400)

    def ramp(self, start_i, dur_steps, lo=0.0, hi=1.0):
        x = np.clip((np.arange(self.n) - start_i) / max(dur_steps, 1), 0, 1)
        return lo + (hi - lo) * x

    def step_on(self, start_i=None):
        s = self.on if start_i is None else start_i
        return (np.arange(self.n) >= s).astype(float)

    def pods(self, name, k):
        h = hashlib.md5((self.id + name).encode()).hexdigest()
        rs = h[:9] if k > 0 else ""
        abc = "bcdfghjklmnpqrstvwxz2456789"
        out = []
        for i in range(k):
            suf = "".join(abc[int(h[9 + 3 * i + j], 16) % len(abc)] for j in range(5))
            out.append(f"{name}-{rs[: 10 - (i % 2)]}-{suf}")
        return out

    def lab(self, svc, **kw):
        L = {}
        if svc is not None:
            if self.svc_label == "service":
                L["service"] = svc
                L["job"] = svc if self.rng.random() < 0.5 else f"{self.d['ns']}/{svc}"
            elif self.svc_label == "job":
                L["job"] = svc
            else:
                L["app"] = svc
                L["kubernetes_namespace"] = self.d["ns"]
        L["namespace"] = self.d["ns"]
        L.update(kw)
        return L

    def add_series(self, stem, name, labels, vals, mask=None, drop_gaps=True):
        if (
            labels.get("service") in self.no_metrics
            or labels.get("job") in self.no_metrics
            or labels.get("app") in self.no_metrics
        ):
            return
        m = {"__name__": name}
        m.update(labels)
        vals = np.asarray(vals, dtype=float)
        keep = np.ones(self.n, bool) if mask is None else mask.copy()
        if drop_gaps and self.gap_p > 0:
            keep &= self.rng.random(self.n) > self.gap_p
        keep &= np.isfinite(vals)
        pts = [[int(self.T[i]), fmtv(vals[i])] for i in range(self.n) if keep[i]]
        if not pts:
            return
        self.metrics.setdefault(stem, []).append({"metric": m, "values": pts})

    def counter(self, rate, start=None, resets=()):
        inc = self.rng.poisson(np.maximum(rate, 0) * self.step).astype(float)
        c = np.cumsum(inc) + (self.rng.uniform(1e4, 5e6) if start is None else start)
        for r in sorted(resets):
            if 0 <= r < self.n:
                c[r:] = np.cumsum(inc[r:])
        return c

    def log(self, svc, ts, level, msg, **kw):
        rec = {"ts": iso(ts), "service": svc, "level": level, "msg": msg}
        rec.update(kw)
        self.logs.setdefault(svc, []).append(rec)

    def event(self, ts, svc, reason, typ, msg, obj, count=1):
        self.events.append(
            {
                "ts": iso_s(ts),
                "service": svc,
                "reason": reason,
                "type": typ,
                "message": msg,
                "object": obj,
                "count": count,
                "namespace": self.d["ns"],
            }
        )

    def change(self, cid, ts, svc, kind, summary, **kw):
        c = {"id": cid, "ts": iso_s(ts), "service": svc, "kind": kind, "summary": summary}
        c.update(kw)
        self.changes.append(c)

    def alert(self, labels, ts, summary, desc=None, gen=None):
        lab = dict(labels)
        a = {
            "labels": lab,
            "annotations": {"summary": summary, **({"description": desc} if desc else {})},
            "startsAt": iso(ts),
            "endsAt": iso(ts + 4 * 3600),
            "fingerprint": fp(lab),
            "status": {"state": "active", "silencedBy": [], "inhibitedBy": []},
            "generatorURL": gen
            or f"http://prometheus-k8s-0:9090/graph?g0.expr={lab['alertname']}&g0.tab=1",
            "receivers": [
                {"name": "pagerduty-sre" if lab.get("severity") == "critical" else "slack-alerts"}
            ],
            "updatedAt": iso(ts + self.rng.integers(5, 60)),
        }
        self.alerts.append(a)
        return a

    # ----------------------------------------------------------- write
    def write(self, root, truth, focus, title):
        out = os.path.join(root, self.id)
        if os.path.exists(out):
            shutil.rmtree(out)
        os.makedirs(os.path.join(out, "metrics"))
        os.makedirs(os.path.join(out, "logs"))
        end = int(self.T[-1])
        with open(os.path.join(out, "bundle.yaml"), "w") as f:
            yaml.safe_dump(
                {
                    "id": self.id,
                    "title": title,
                    "window": {"start": iso_s(int(self.T[0])), "end": iso_s(end)},
                    "focus_alert": focus,
                },
                f,
                sort_keys=False,
            )
        with open(os.path.join(out, "alerts.json"), "w") as f:
            json.dump(self.alerts, f)
        for stem, series in self.metrics.items():
            with open(os.path.join(out, "metrics", stem + ".json"), "w") as f:
                json.dump(
                    {"status": "success", "data": {"resultType": "matrix", "result": series}},
                    f,
                    separators=(",", ":"),
                )
        if self.queries:
            with open(os.path.join(out, "metrics", "queries.yaml"), "w") as f:
                yaml.safe_dump(self.queries, f)
        for svc, recs in self.logs.items():
            recs.sort(key=lambda r: r["ts"])
            with open(os.path.join(out, "logs", svc + ".jsonl"), "w") as f:
                for r in recs:
                    f.write(json.dumps(r) + "\n")
        with open(os.path.join(out, "changes.json"), "w") as f:
            json.dump(sorted(self.changes, key=lambda c: c["ts"]), f, indent=1)
        with open(os.path.join(out, "topology.yaml"), "w") as f:
            yaml.safe_dump(
                {"services": {k: {"depends_on": v} for k, v in self.topo.items()}},
                f,
                sort_keys=False,
            )
        if self.events:
            os.makedirs(os.path.join(out, "events"))
            with open(os.path.join(out, "events", "k8s.jsonl"), "w") as f:
                for e in sorted(self.events, key=lambda e: e["ts"]):
                    f.write(json.dumps(e) + "\n")
        if self.spans:
            os.makedirs(os.path.join(out, "traces"))
            with open(os.path.join(out, "traces", "spans.jsonl"), "w") as f:
                for s in self.spans:
                    f.write(json.dumps(s) + "\n")
        with open(os.path.join(out, "truth.yaml"), "w") as f:
            yaml.safe_dump(truth, f, sort_keys=False)


# ============================================================== world model
LANGS = ["go", "py", "java", "dotnet"]


def build_world(b, lang_bias=None):
    """Services, call graph and their baseline state."""
    d, rng = b.d, b.rng
    apps = list(d["apps"])
    rng.shuffle(apps)
    napps = int(rng.integers(4, 6))
    apps = apps[:napps]
    S = {}

    def add(name, role, lang=None, pods=None, rps=0.0, deps=()):
        lang = lang or (
            lang_bias if lang_bias and rng.random() < 0.6 else LANGS[int(rng.integers(0, 4))]
        )
        npods = pods if pods is not None else int(rng.integers(2, 5))
        S[name] = {
            "name": name,
            "role": role,
            "lang": lang,
            "pods": b.pods(name, npods),
            "rps": rps,
            "deps": list(deps),
            "err": np.zeros(b.n),
            "lat": np.ones(b.n),
            "rate": np.ones(b.n),
            "own_err": np.zeros(b.n),
            "own_lat": np.ones(b.n),
            "down": np.zeros((npods, b.n), bool),
            "restarts": [[] for _ in range(npods)],
            "mem_base": float(rng.uniform(150, 900)) * 2**20,
            "mem_limit": float(rng.choice([512, 1024, 2048])) * 2**20,
        }
        if S[name]["mem_base"] > 0.6 * S[name]["mem_limit"]:
            S[name]["mem_base"] = 0.4 * S[name]["mem_limit"]

    a = apps
    # data tier
    add(d["pg"], "pg", lang="-", pods=1)
    add(d["my"], "mysql", lang="-", pods=1)
    add(d["redis"], "redis", lang="-", pods=1)
    add(d["kafka"], "kafka", lang="-", pods=3)
    add(d["rabbit"], "rabbit", lang="-", pods=1)
    add(d["ext"][0], "external", lang="-", pods=0)
    add(d["disk"], "stateful", lang="java", pods=1, rps=float(rng.uniform(5, 20)))
    # apps
    add(a[0], "app", rps=float(rng.uniform(40, 120)), deps=[d["pg"], d["redis"]])
    add(a[1], "app", rps=float(rng.uniform(20, 80)), deps=[d["pg"], d["ext"][0], d["kafka"]])
    add(a[2], "app", rps=float(rng.uniform(20, 60)), deps=[d["my"], d["redis"]])
    add(a[3], "app", rps=float(rng.uniform(10, 50)), deps=[a[2], d["rabbit"], d["disk"]])
    if napps > 4:
        add(a[4], "app", rps=float(rng.uniform(10, 40)), deps=[d["pg"], a[0]])
    add(d["worker"], "worker", rps=float(rng.uniform(5, 30)), deps=[d["kafka"], d["pg"]])
    add(d["bff"], "bff", rps=float(rng.uniform(150, 400)), deps=list(a[:napps]))
    add(
        d["edge"],
        "edge",
        lang="nginx" if d["edge"] == "ingress-nginx" else "go",
        pods=2,
        rps=S[d["bff"]]["rps"] * 1.1,
        deps=[d["bff"]],
    )
    dns = "coredns" if rng.random() < 0.6 else "kube-dns"
    add(dns, "dns", lang="-", pods=2)
    b.dns = dns
    b.svc = S
    b.apps = a[:napps]
    for k, v in S.items():
        b.topo[k] = list(v["deps"])
    if rng.random() < 0.5:  # some meshes/CMDBs list DNS as a dependency of a few services
        for k in rng.choice(b.apps, size=2, replace=False):
            b.topo[k].append(dns)
    return S


def callers_of(b, name):
    return [k for k, v in b.svc.items() if name in v["deps"]]


def propagate(b):
    """Fill err/lat from own_err/own_lat through the call graph (callee -> caller)."""
    S = b.svc
    order, seen = [], set()

    def visit(k):
        if k in seen:
            return
        seen.add(k)
        for dd in S[k]["deps"]:
            visit(dd)
        order.append(k)

    for k in S:
        visit(k)
    for k in order:
        s = S[k]
        err = s["own_err"].copy()
        lat = s["own_lat"].copy()
        for dd in s["deps"]:
            w = s.get("dep_w", {}).get(dd, 0.55)
            err = 1 - (1 - err) * (1 - w * S[dd]["err"])
            lat = lat * (1 + 0.6 * (S[dd]["lat"] - 1) * w)
        s["err"] = np.clip(err, 0, 1)
        s["lat"] = lat


# ============================================================== emitters
HTTP_STYLES = {
    "go": "prom_go",
    "py": "flask",
    "java": "spring",
    "dotnet": "dotnet",
    "nginx": "prom_go",
}


def emit_http(b, s, diur, extra_codes=None):
    """App request counters + latency histogram in the app's own client library vocabulary."""
    rng = b.rng
    style = HTTP_STYLES.get(s["lang"], "prom_go")
    rate = s["rps"] * diur * s["rate"]
    npods = len(s["pods"])
    err = s["err"]
    codes = {"200": 1 - err - 0.004, "404": np.full(b.n, 0.003), "500": err * 0.6, "503": err * 0.4}
    if extra_codes:
        for c, frac in extra_codes.items():
            codes[c] = frac
            codes["200"] = codes["200"] - frac
    base_lat = float(rng.uniform(0.02, 0.12))
    med = base_lat * s["lat"] * (1 + 0.05 * rng.standard_normal(b.n))
    resets = s["restarts"]
    for pi, pod in enumerate(s["pods"]):
        alive = ~s["down"][pi]
        share = rate / npods * (0.85 + 0.3 * rng.random())
        for code, frac in codes.items():
            fr = np.clip(frac, 0, 1)
            if np.max(fr) < 1e-4:
                continue
            born = int(np.argmax(alive)) if alive.any() else 0
            c = b.counter(
                share * fr * alive, resets=list(resets[pi]), start=0.0 if born > 0 else None
            )
            if b.names == "dotted":
                # Datadog / statsd flush semantics: a count per interval, not a cumulative counter
                delta = b.rng.poisson(np.maximum(share * fr * alive, 0) * b.step).astype(float)
                b.add_series(
                    "http.server.requests.count",
                    "http.server.requests.count",
                    b.lab(s["name"], status=code, uri=ROUTES[pi % 3], host=pod),
                    delta,
                    mask=alive,
                )
            elif style == "prom_go":
                b.add_series(
                    "http_requests_total",
                    "http_requests_total",
                    b.lab(
                        s["name"],
                        pod=pod,
                        code=code,
                        method="GET" if pi % 2 == 0 else "POST",
                        handler=ROUTES[pi % 3],
                    ),
                    c,
                    mask=alive,
                )
            elif style == "flask":
                b.add_series(
                    "flask_http_request_total",
                    "flask_http_request_total",
                    b.lab(s["name"], pod=pod, status=code, method="GET"),
                    c,
                    mask=alive,
                )
            elif style == "spring":
                b.add_series(
                    "http_server_requests_seconds_count",
                    "http_server_requests_seconds_count",
                    b.lab(
                        s["name"],
                        pod=pod,
                        status=code,
                        uri=ROUTES[pi % 3],
                        method="GET",
                        outcome="SUCCESS"
                        if code == "200"
                        else ("CLIENT_ERROR" if code[0] == "4" else "SERVER_ERROR"),
                    ),
                    c,
                    mask=alive,
                )
            else:
                b.add_series(
                    "http_server_request_duration_seconds_count",
                    "http_server_request_duration_seconds_count",
                    b.lab(
                        s["name"],
                        pod=pod,
                        http_response_status_code=code,
                        http_request_method="GET",
                        http_route=ROUTES[pi % 3],
                    ),
                    c,
                    mask=alive,
                )
    # histogram aggregated per service (recording-rule style: sum by (le))
    les = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10]
    sig = 0.6
    tot = rate * np.clip(1 - np.mean(s["down"], axis=0), 0, 1)
    cum = b.counter(tot, start=float(rng.uniform(1e5, 1e7)))
    if b.names == "dotted":
        # Datadog / statsd: latency as a gauge in ms, camelCase
        p99 = med * math.exp(2.326 * sig) * 1000
        b.add_series("requestLatencyMs", "requestLatencyMs", b.lab(s["name"], quantile="0.99"), p99)
        return
    hist = {
        "prom_go": "http_request_duration_seconds",
        "flask": "flask_http_request_duration_seconds",
        "spring": "http_server_requests_seconds",
        "dotnet": "http_server_request_duration_seconds",
    }[style]
    for le in les + ["+Inf"]:
        if le == "+Inf":
            frac = np.ones(b.n)
        else:
            z = (np.log(le) - np.log(np.maximum(med, 1e-6))) / sig
            frac = np.array([0.5 * (1 + math.erf(x / math.sqrt(2))) for x in z])
        # counts accumulate with the latency distribution of each step
        inc = np.diff(np.concatenate([[0], cum])) * frac
        inc[0] = cum[0] * frac[0]
        b.add_series(
            hist + "_bucket", hist + "_bucket", b.lab(s["name"], le=str(le)), np.cumsum(inc)
        )
    b.queries[hist + "_bucket"] = f"sum by (service, le) ({hist}_bucket)"


def emit_container(b, s, mem_curves=None, cpu_mult=None):
    """cAdvisor + kube-state-metrics for one workload."""
    rng = b.rng
    ns = b.d["ns"]
    for pi, pod in enumerate(s["pods"]):
        alive = ~s["down"][pi]
        if mem_curves is not None:
            mem = mem_curves[pi]
        else:
            mem = (
                s["mem_base"]
                * (1 + 0.03 * rng.standard_normal(b.n))
                * (1 + 0.02 * np.arange(b.n) / b.n)
            )
        cpu_rate = (
            (0.05 + s["rps"] / 400.0)
            * s["rate"]
            * (cpu_mult if cpu_mult is not None else 1)
            * (1 + 0.1 * rng.standard_normal(b.n))
        )
        born = int(np.argmax(alive)) if alive.any() else 0
        cpu = np.cumsum(np.maximum(cpu_rate, 0) * alive * b.step) + (
            0.0 if born > 0 else rng.uniform(100, 5e4)
        )
        for r in s["restarts"][pi]:
            cpu[r:] = cpu[r:] - cpu[r] + cpu_rate[r] * b.step
        if b.kube_style:
            lc = {
                "job": "kubelet",
                "service": "kubelet",
                "metrics_path": "/metrics/cadvisor",
                "namespace": ns,
                "pod": pod,
                "container": s["name"],
            }
            lk = {
                "job": "kube-state-metrics",
                "service": "kube-state-metrics",
                "namespace": ns,
                "pod": pod,
                "container": s["name"],
            }
        else:
            lc = b.lab(s["name"], pod=pod, container=s["name"])
            lk = b.lab(s["name"], pod=pod, container=s["name"])
        if b.names == "dotted":
            b.add_series(
                "kubernetes.memory.usage",
                "kubernetes.memory.usage",
                dict(lc, kube_deployment=s["name"]),
                mem,
                mask=alive,
            )
            b.add_series(
                "kubernetes.cpu.usage.total",
                "kubernetes.cpu.usage.total",
                dict(lc, kube_deployment=s["name"]),
                cpu_rate * 1e9,
                mask=alive,
            )
        else:
            b.add_series(
                "container_memory_working_set_bytes",
                "container_memory_working_set_bytes",
                lc,
                mem,
                mask=alive,
            )
            b.add_series(
                "container_cpu_usage_seconds_total",
                "container_cpu_usage_seconds_total",
                dict(lc, cpu="total"),
                cpu,
                mask=alive,
            )
            b.add_series(
                "kube_pod_container_resource_limits",
                "kube_pod_container_resource_limits",
                dict(lk, resource="memory", unit="byte"),
                np.full(b.n, s["mem_limit"]),
            )
        rc = np.zeros(b.n)
        for r in s["restarts"][pi]:
            rc[r:] += 1
        if b.names == "dotted":
            b.add_series(
                "kubernetes.containers.restarts",
                "kubernetes.containers.restarts",
                dict(lc, kube_deployment=s["name"]),
                rc,
            )
        else:
            b.add_series(
                "kube_pod_container_status_restarts_total",
                "kube_pod_container_status_restarts_total",
                lk,
                rc,
            )


def emit_up(b, s):
    for pi, pod in enumerate(s["pods"]):
        v = (~s["down"][pi]).astype(float)
        b.add_series(
            "up",
            "up",
            b.lab(
                s["name"],
                instance=f"10.{b.rng.integers(40, 44)}.{b.rng.integers(0, 255)}.{b.rng.integers(2, 254)}:8080",
                pod=pod,
            ),
            v,
        )


def emit_nodes(b, disk_target=None, disk_curve=None):
    """node_exporter for the cluster's nodes (kube-prometheus labels: job/service node-exporter)."""
    rng = b.rng
    nodes = [
        f"ip-10-{rng.integers(0, 9)}-{rng.integers(0, 255)}-{rng.integers(2, 254)}.ec2.internal"
        for _ in range(int(rng.integers(3, 5)))
    ]
    b.nodes = nodes
    for _i, nd in enumerate(nodes):
        base = {"job": "node-exporter", "instance": nd + ":9100"}
        if b.svc_label == "service":
            base["service"] = "node-exporter"
        size = float(rng.choice([100, 200, 500])) * 2**30
        avail = size * rng.uniform(0.35, 0.7) * (1 - 0.002 * np.arange(b.n) / b.n) + rng.normal(
            0, 2**26, b.n
        )
        if b.names == "dotted":
            b.add_series(
                "system.disk.free",
                "system.disk.free",
                {"host": nd, "device": "/dev/nvme0n1p1"},
                avail,
            )
            b.add_series("system.load.1", "system.load.1", {"host": nd}, 2 + rng.random(b.n))
            continue
        b.add_series(
            "node_filesystem_avail_bytes",
            "node_filesystem_avail_bytes",
            dict(base, mountpoint="/", device="/dev/nvme0n1p1", fstype="xfs"),
            avail,
        )
        b.add_series(
            "node_filesystem_size_bytes",
            "node_filesystem_size_bytes",
            dict(base, mountpoint="/", device="/dev/nvme0n1p1", fstype="xfs"),
            np.full(b.n, size),
        )
        mem = float(rng.choice([16, 32, 64])) * 2**30
        b.add_series(
            "node_memory_MemAvailable_bytes",
            "node_memory_MemAvailable_bytes",
            base,
            mem * rng.uniform(0.3, 0.6) * (1 + 0.02 * rng.standard_normal(b.n)),
        )
        b.add_series(
            "node_load1",
            "node_load1",
            base,
            np.abs(rng.uniform(1, 4) + 0.5 * rng.standard_normal(b.n)),
        )
        b.add_series(
            "node_disk_io_time_seconds_total",
            "node_disk_io_time_seconds_total",
            dict(base, device="nvme0n1"),
            np.cumsum(
                np.clip(rng.uniform(0.05, 0.2) + 0.02 * rng.standard_normal(b.n), 0, 1) * b.step
            )
            + 1e5,
        )


def emit_pg(b, s, conns=None, max_conn=200, up=None, lag=None, deadlock_rate=0.0):
    rng = b.rng
    name = s["name"]
    if conns is None:
        conns = rng.uniform(30, 70) * (1 + 0.08 * rng.standard_normal(b.n))
    up = np.ones(b.n) if up is None else up
    alive = up > 0.5

    def L(**kw):
        return dict(b.lab(name, instance=f"{name}-0.{name}:9187", pod=f"{name}-0"), **kw)

    if b.names == "dotted":
        b.add_series(
            "postgresql.connections", "postgresql.connections", L(db="app"), conns, mask=alive
        )
        b.add_series(
            "postgresql.percent_usage_connections",
            "postgresql.percent_usage_connections",
            L(db="app"),
            conns / max_conn,
            mask=alive,
        )
        return
    b.add_series("pg_up", "pg_up", L(), up)
    active = conns * rng.uniform(0.15, 0.3)
    idle = conns - active
    b.add_series(
        "pg_stat_activity_count",
        "pg_stat_activity_count",
        L(datname="app", state="active"),
        np.round(active),
        mask=alive,
    )
    b.add_series(
        "pg_stat_activity_count",
        "pg_stat_activity_count",
        L(datname="app", state="idle"),
        np.round(idle),
        mask=alive,
    )
    b.add_series(
        "pg_stat_activity_count",
        "pg_stat_activity_count",
        L(datname="app", state="idle in transaction"),
        np.round(np.abs(rng.normal(1, 1, b.n))),
        mask=alive,
    )
    b.add_series(
        "pg_settings_max_connections",
        "pg_settings_max_connections",
        L(),
        np.full(b.n, max_conn),
        mask=alive,
    )
    b.add_series(
        "pg_stat_database_deadlocks",
        "pg_stat_database_deadlocks",
        L(datname="app"),
        b.counter(np.full(b.n, deadlock_rate + 0.0005), start=float(rng.integers(3, 40))),
        mask=alive,
    )
    b.add_series(
        "pg_stat_database_xact_commit",
        "pg_stat_database_xact_commit",
        L(datname="app"),
        b.counter(np.full(b.n, rng.uniform(200, 800)) * (0.2 + 0.8 * up)),
        mask=alive,
    )
    lagv = lag if lag is not None else np.abs(rng.normal(0.2, 0.15, b.n))
    b.add_series(
        "pg_replication_lag",
        "pg_replication_lag",
        dict(L(), instance=f"{name}-1.{name}:9187", pod=f"{name}-1"),
        lagv,
    )


def emit_mysql(b, s, threads=None, up=None, slow_rate=0.01, max_conn=500):
    rng = b.rng
    name = s["name"]
    threads = (
        rng.uniform(20, 60) * (1 + 0.08 * rng.standard_normal(b.n)) if threads is None else threads
    )
    up = np.ones(b.n) if up is None else up
    alive = up > 0.5

    def L(**kw):
        return dict(b.lab(name, instance=f"{name}-0:9104", pod=f"{name}-0"), **kw)

    if b.names == "dotted":
        b.add_series("mysql.net.connections", "mysql.net.connections", L(), threads, mask=alive)
        return
    b.add_series("mysql_up", "mysql_up", L(), up)
    b.add_series(
        "mysql_global_status_threads_connected",
        "mysql_global_status_threads_connected",
        L(),
        np.round(threads),
        mask=alive,
    )
    b.add_series(
        "mysql_global_variables_max_connections",
        "mysql_global_variables_max_connections",
        L(),
        np.full(b.n, max_conn),
        mask=alive,
    )
    b.add_series(
        "mysql_global_status_slow_queries",
        "mysql_global_status_slow_queries",
        L(),
        b.counter(np.full(b.n, slow_rate), start=float(rng.integers(100, 3000))),
        mask=alive,
    )


def emit_redis(b, s, clients=None, evict_rate=None):
    rng = b.rng
    name = s["name"]
    L = b.lab(name, instance=f"{name}-master-0:9121", pod=f"{name}-master-0")
    clients = (
        rng.uniform(40, 150) * (1 + 0.05 * rng.standard_normal(b.n)) if clients is None else clients
    )
    if b.names == "dotted":
        b.add_series("redis.net.clients", "redis.net.clients", L, clients)
        return
    maxm = float(rng.choice([2, 4, 8])) * 2**30
    b.add_series("redis_connected_clients", "redis_connected_clients", L, np.round(clients))
    b.add_series(
        "redis_memory_used_bytes",
        "redis_memory_used_bytes",
        L,
        maxm * rng.uniform(0.4, 0.75) * (1 + 0.01 * rng.standard_normal(b.n)),
    )
    b.add_series("redis_memory_max_bytes", "redis_memory_max_bytes", L, np.full(b.n, maxm))
    b.add_series(
        "redis_evicted_keys_total",
        "redis_evicted_keys_total",
        L,
        b.counter(
            np.full(b.n, 0.02) if evict_rate is None else evict_rate,
            start=float(rng.integers(0, 5000)),
        ),
    )


def emit_kafka(b, s, lag_curve=None, group=None, in_rate=None):
    rng = b.rng
    name = s["name"]
    topic = b.d["topic"]
    group = group or b.d["worker"]
    in_rate = rng.uniform(50, 300) * b.diurnal() if in_rate is None else in_rate
    exp_lab = {"job": "kafka-exporter", "instance": "kafka-exporter:9308"}
    if b.svc_label == "service":
        exp_lab["service"] = "kafka-exporter" if rng.random() < 0.5 else name
    if b.svc_label != "service":
        exp_lab = {("job" if b.svc_label == "job" else "app"): name}
    for p in range(6):
        lag = (
            np.abs(rng.normal(40, 25, b.n))
            if lag_curve is None
            else lag_curve / 6 * (1 + 0.1 * rng.standard_normal(b.n))
            + np.abs(rng.normal(30, 20, b.n))
        )
        if b.names == "dotted":
            b.add_series(
                "kafka.consumer_lag",
                "kafka.consumer_lag",
                dict(exp_lab, consumer_group=group, topic=topic, partition=str(p)),
                lag,
            )
        else:
            b.add_series(
                "kafka_consumergroup_lag",
                "kafka_consumergroup_lag",
                dict(exp_lab, consumergroup=group, topic=topic, partition=str(p)),
                np.round(lag),
            )
    if b.names != "dotted":
        for _bi, pod in enumerate(s["pods"]):
            b.add_series(
                "kafka_server_brokertopicmetrics_messagesin_total",
                "kafka_server_brokertopicmetrics_messagesin_total",
                b.lab(name, pod=pod, instance=f"{pod}:9404", topic=topic),
                b.counter(in_rate / len(s["pods"])),
            )


def emit_rabbit(b, s, ready=None):
    name = s["name"]
    ready = np.abs(b.rng.normal(5, 4, b.n)) if ready is None else ready
    b.add_series(
        "rabbitmq_queue_messages_ready",
        "rabbitmq_queue_messages_ready",
        b.lab(name, queue=f"{b.d['ns']}.outbound", vhost="/", instance=f"{name}-server-0:15692"),
        np.round(ready),
    )


def emit_dns(b, s, servfail=None, lat_mult=None):
    rng = b.rng
    name = s["name"]
    tot = rng.uniform(800, 2500) * b.diurnal()
    servfail = np.full(b.n, 0.0005) if servfail is None else servfail
    lat_mult = np.ones(b.n) if lat_mult is None else lat_mult
    for pi, pod in enumerate(s["pods"]):
        if b.svc_label == "service":
            L = {
                "job": "coredns",
                "service": name,
                "namespace": "kube-system",
                "pod": pod,
                "server": "dns://:53",
                "zone": ".",
            }
        else:
            L = {
                b.svc_label: name,
                "namespace": "kube-system",
                "pod": pod,
                "server": "dns://:53",
                "zone": ".",
            }
        for rc, fr in (
            ("NOERROR", 0.93 - servfail),
            ("NXDOMAIN", np.full(b.n, 0.07)),
            ("SERVFAIL", servfail),
        ):
            if b.names == "dotted":
                b.add_series(
                    "coredns.response_code_count",
                    "coredns.response_code_count",
                    dict(L, rcode=rc),
                    b.counter(tot / 2 * fr),
                )
            else:
                b.add_series(
                    "coredns_dns_responses_total",
                    "coredns_dns_responses_total",
                    dict(L, rcode=rc),
                    b.counter(tot / 2 * np.clip(fr, 0, 1)),
                )
        if b.names != "dotted" and pi == 0:
            cum = b.counter(tot)
            med = 0.0008 * lat_mult
            for le in [0.001, 0.004, 0.016, 0.064, 0.256, 1.024, 4.096, "+Inf"]:
                frac = (
                    np.ones(b.n)
                    if le == "+Inf"
                    else np.array(
                        [
                            0.5 * (1 + math.erf((math.log(le) - math.log(m)) / 0.9 / math.sqrt(2)))
                            for m in med
                        ]
                    )
                )
                inc = np.diff(np.concatenate([[0], cum])) * frac
                inc[0] = cum[0] * frac[0]
                Lh = {k: v for k, v in L.items() if k != "pod"}
                b.add_series(
                    "coredns_dns_request_duration_seconds_bucket",
                    "coredns_dns_request_duration_seconds_bucket",
                    dict(Lh, le=str(le)),
                    np.cumsum(inc),
                )


def emit_blackbox(b, ext, success=None, dur=None):
    host = b.d["ext"][1]
    success = np.ones(b.n) if success is None else success
    dur = np.abs(b.rng.normal(0.18, 0.03, b.n)) if dur is None else dur
    L = {"job": "blackbox-http", "instance": f"https://{host}/health", "module": "http_2xx"}
    L[b.svc_label] = ext
    b.add_series("probe_success", "probe_success", L, success)
    b.add_series("probe_duration_seconds", "probe_duration_seconds", L, dur)


def emit_ingress(b, s, diur, surge=None, r429=None, r503=None, lat_mult=None):
    """ingress-nginx controller metrics: label `service` is the BACKEND service, as in reality."""
    surge = np.ones(b.n) if surge is None else surge
    r429 = np.zeros(b.n) if r429 is None else r429
    r503 = np.zeros(b.n) if r503 is None else r503
    lat_mult = np.ones(b.n) if lat_mult is None else lat_mult
    backend = b.d["bff"]
    rate = s["rps"] * diur * surge
    for pod in s["pods"]:
        base = {
            "job": "ingress-nginx-controller-metrics",
            "controller_class": "k8s.io/ingress-nginx",
            "controller_namespace": "ingress-nginx",
            "controller_pod": pod,
            "namespace": b.d["ns"],
            "ingress": backend,
            "host": b.d["host"],
            "service": backend,
            "method": "GET",
            "path": "/",
        }
        for st, fr in (
            ("200", 1 - r429 - r503 - 0.01),
            ("404", np.full(b.n, 0.008)),
            ("429", r429),
            ("503", r503),
        ):
            if np.max(fr) < 1e-4:
                continue
            b.add_series(
                "nginx_ingress_controller_requests",
                "nginx_ingress_controller_requests",
                dict(base, status=st),
                b.counter(rate / len(s["pods"]) * np.clip(fr, 0, 1)),
            )
        cum = b.counter(rate / len(s["pods"]))
        med = 0.05 * lat_mult
        for le in [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, "+Inf"]:
            frac = (
                np.ones(b.n)
                if le == "+Inf"
                else np.array(
                    [
                        0.5 * (1 + math.erf((math.log(le) - math.log(m)) / 0.7 / math.sqrt(2)))
                        for m in med
                    ]
                )
            )
            inc = np.diff(np.concatenate([[0], cum])) * frac
            inc[0] = cum[0] * frac[0]
            b.add_series(
                "nginx_ingress_controller_request_duration_seconds_bucket",
                "nginx_ingress_controller_request_duration_seconds_bucket",
                dict(base, le=str(le)),
                np.cumsum(inc),
            )


# ============================================================== logs
def req_line(s, pod, rng):
    lang = s["lang"]
    route = ROUTES[int(rng.integers(0, len(ROUTES)))]
    ms = float(rng.lognormal(3, 0.6))
    if lang == "go":
        return (
            "info",
            "request completed",
            {
                "pod": pod,
                "method": "GET",
                "path": route,
                "status": 200,
                "duration_ms": round(ms, 1),
                "caller": "httpserver/middleware.go:88",
            },
        )
    if lang == "py":
        return (
            "INFO",
            f'10.42.{rng.integers(0, 9)}.{rng.integers(2, 250)} - - "GET {route} HTTP/1.1" 200 {rng.integers(200, 9000)} {ms / 1000:.3f}',
            {"pod": pod, "logger": "gunicorn.access"},
        )
    if lang == "java":
        return (
            "INFO",
            f"Completed 200 OK in {int(ms)}ms",
            {
                "pod": pod,
                "logger": "o.s.web.servlet.DispatcherServlet",
                "thread": f"http-nio-8080-exec-{rng.integers(1, 40)}",
            },
        )
    if lang == "dotnet":
        return (
            "Information",
            f"Request finished HTTP/1.1 GET http://{s['name']}:8080{route} - 200 - application/json {ms:.4f}ms",
            {"pod": pod, "SourceContext": "Microsoft.AspNetCore.Hosting.Diagnostics"},
        )
    return "info", f"GET {route} 200", {"pod": pod}


LV = {
    "go": ("info", "warn", "error"),
    "py": ("INFO", "WARNING", "ERROR"),
    "java": ("INFO", "WARN", "ERROR"),
    "dotnet": ("Information", "Warning", "Error"),
    "nginx": ("info", "warn", "error"),
    "-": ("LOG", "WARNING", "ERROR"),
}

NOISE = [
    (1, "retrying request to {dep} (attempt 1/3): upstream returned 502"),
    (1, "slow query detected ({ms} ms): SELECT ... FROM events WHERE tenant_id = $1"),
    (1, "cache miss ratio above 30% for key prefix sess:"),
    (1, "config key 'http.timeout' is deprecated, use 'http.client.timeout'"),
    (2, "failed to validate token: token is expired"),
    (1, "circuit breaker for {dep} half-open"),
    (1, "GC pause {ms}ms exceeded target"),
]


def background_logs(b, every_s=90, skip=()):
    rng = b.rng
    for name, s in b.svc.items():
        if s["role"] in ("external",) or name in skip:
            continue
        lv = LV.get(s["lang"], LV["go"])
        pods = s["pods"] or [name]
        t = int(b.T[0]) + int(rng.integers(0, every_s))
        while t < b.T[-1] + b.step:
            pi = int(rng.integers(0, len(pods)))
            idx = min(int((t - b.T[0]) // b.step), b.n - 1)
            if s["down"].size and s["down"][pi, idx]:
                t += every_s
                continue
            if s["role"] in ("app", "bff", "worker", "stateful", "edge"):
                l, m, kw = req_line(s, pods[pi], rng)
            elif s["role"] == "pg":
                l, m, kw = (
                    "LOG",
                    f"checkpoint complete: wrote {rng.integers(50, 4000)} buffers ({rng.uniform(0.1, 3):.1f}%); 0 WAL file(s) added",
                    {"pod": pods[pi]},
                )
            elif s["role"] == "mysql":
                l, m, kw = (
                    "Note",
                    f"[MY-010914] [Server] Aborted connection {rng.integers(1000, 99999)} to db: 'app' user: 'svc' host: '10.42.3.{rng.integers(2, 250)}' (Got an error reading communication packets)",
                    {"pod": pods[pi]},
                )
            elif s["role"] == "redis":
                l, m, kw = (
                    "notice",
                    f"{rng.integers(1, 9)}:M Background saving started by pid {rng.integers(100, 9999)}",
                    {"pod": pods[pi]},
                )
            elif s["role"] == "kafka":
                l, m, kw = (
                    "INFO",
                    f"[GroupCoordinator {pi}]: Member consumer-{rng.integers(1, 9)} in group analytics has left, removing it from the group",
                    {"pod": pods[pi], "logger": "kafka.coordinator.group.GroupCoordinator"},
                )
            elif s["role"] == "dns":
                l, m, kw = (
                    "info",
                    f'[INFO] 10.42.{rng.integers(0, 9)}.{rng.integers(2, 250)}:{rng.integers(30000, 60000)} - {rng.integers(1, 65000)} "A IN {b.apps[0]}.{b.d["ns"]}.svc.cluster.local. udp 60 false 512" NOERROR qr,aa,rd 110 0.000{rng.integers(100, 999)}s',
                    {"pod": pods[pi]},
                )
            else:
                l, m, kw = lv[0], "heartbeat ok", {"pod": pods[pi]}
            b.log(name, t + rng.uniform(0, 1), l, m, **kw)
            if rng.random() < 0.06:
                w, tmpl = NOISE[int(rng.integers(0, len(NOISE)))]
                dep = s["deps"][0] if s["deps"] else "upstream"
                b.log(
                    name,
                    t + rng.uniform(0, 5),
                    lv[w],
                    tmpl.format(dep=dep, ms=rng.integers(300, 2500)),
                    pod=pods[pi],
                )
            t += int(every_s * rng.uniform(0.5, 1.5))


def fault_logs(b, svc, start_ts, end_ts, rate_per_min, make, level_idx=2):
    rng = b.rng
    s = b.svc[svc]
    lv = LV.get(s["lang"], LV["go"])
    pods = s["pods"] or [svc]
    t = start_ts + rng.uniform(0, 30)
    while t < end_ts:
        pi = int(rng.integers(0, len(pods)))
        m, kw = make(s, rng)
        b.log(svc, t, lv[level_idx], m, pod=pods[pi], **kw)
        t += 60.0 / rate_per_min * rng.uniform(0.3, 1.7)


def msg_db_refused(kind, host, ip):
    def mk(s, rng):
        port = 5432 if kind == "pg" else 3306
        L = s["lang"]
        if kind == "pg":
            m = {
                "go": f"query failed: failed to connect to `host={host} user=app database=app`: dial error (dial tcp {ip}:{port}: connect: connection refused)",
                "py": f'sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) could not connect to server: Connection refused\n\tIs the server running on host "{host}" ({ip}) and accepting\n\tTCP/IP connections on port 5432?',
                "java": f"HikariPool-1 - Exception during pool initialization. org.postgresql.util.PSQLException: Connection to {host}:5432 refused. Check that the hostname and port are correct and that the postmaster is accepting TCP/IP connections.",
                "dotnet": f"Npgsql.NpgsqlException (0x80004005): Failed to connect to {ip}:5432\n ---> System.Net.Sockets.SocketException (111): Connection refused",
            }
        else:
            m = {
                "go": f"Error 2003: dial tcp {ip}:3306: connect: connection refused",
                "py": f"pymysql.err.OperationalError: (2003, \"Can't connect to MySQL server on '{host}' ([Errno 111] Connection refused)\")",
                "java": f"com.mysql.cj.jdbc.exceptions.CommunicationsException: Communications link failure\n\nThe last packet sent successfully to the server was 0 milliseconds ago. Caused by: java.net.ConnectException: Connection refused (host {host})",
                "dotnet": f"MySqlConnector.MySqlException (0x80004005): Unable to connect to any of the specified MySQL hosts. ({host}:3306)",
            }
        return m.get(L, m["go"]), {"error.kind": "db"}

    return mk


def msg_too_many(host):
    def mk(s, rng):
        m = {
            "go": f"failed to connect to `host={host} user=app database=app`: server error (FATAL: sorry, too many clients already (SQLSTATE 53300))",
            "py": "psycopg2.OperationalError: FATAL:  sorry, too many clients already",
            "java": "HikariPool-1 - Connection is not available, request timed out after 30000ms. Caused by: org.postgresql.util.PSQLException: FATAL: remaining connection slots are reserved for non-replication superuser connections",
            "dotnet": "Npgsql.PostgresException (0x80004005): 53300: sorry, too many clients already",
        }
        return m.get(s["lang"], m["go"]), {}

    return mk


def msg_dns(target_fqdn, dns_ip="10.96.0.10"):
    def mk(s, rng):
        m = {
            "go": f'Get "http://{target_fqdn}:8080/internal/v1/lookup": dial tcp: lookup {target_fqdn} on {dns_ip}:53: server misbehaving',
            "py": f"requests.exceptions.ConnectionError: HTTPConnectionPool(host='{target_fqdn}', port=8080): Max retries exceeded with url: /v1/lookup (Caused by NewConnectionError('<urllib3.connection.HTTPConnection object at 0x7f3c2a1b4d60>: Failed to establish a new connection: [Errno -3] Temporary failure in name resolution'))",
            "java": f'org.springframework.web.client.ResourceAccessException: I/O error on GET request for "http://{target_fqdn}:8080/v1/lookup": {target_fqdn}: Temporary failure in name resolution; nested exception is java.net.UnknownHostException',
            "dotnet": f"System.Net.Http.HttpRequestException: Resource temporarily unavailable ({target_fqdn}:8080)\n ---> System.Net.Sockets.SocketException (11): Resource temporarily unavailable",
        }
        if s["lang"] == "go" and rng.random() < 0.4:
            return f"dial tcp: lookup {target_fqdn}: no such host", {}
        return m.get(s["lang"], m["go"]), {}

    return mk


def msg_ext_timeout(host):
    def mk(s, rng):
        m = {
            "go": f'Post "https://{host}/v2/check": context deadline exceeded (Client.Timeout exceeded while awaiting headers)',
            "py": f"requests.exceptions.ReadTimeout: HTTPSConnectionPool(host='{host}', port=443): Read timed out. (read timeout=10)",
            "java": f"feign.RetryableException: Read timed out executing POST https://{host}/v2/check",
            "dotnet": f"System.Threading.Tasks.TaskCanceledException: The request was canceled due to the configured HttpClient.Timeout of 10 seconds elapsing. (POST https://{host}/v2/check)",
        }
        return m.get(s["lang"], m["go"]), {"peer.hostname": host}

    return mk


def msg_upstream(dep, code=503):
    def mk(s, rng):
        m = {
            "go": f"upstream {dep} returned {code}: upstream connect error or disconnect/reset before headers. reset reason: connection termination",
            "py": f"httpx.HTTPStatusError: Server error '{code} Service Unavailable' for url 'http://{dep}:8080/v1/resource'",
            "java": f"org.springframework.web.client.HttpServerErrorException$ServiceUnavailable: {code} Service Unavailable: [no healthy upstream] (calling {dep})",
            "dotnet": f"System.Net.Http.HttpRequestException: Response status code does not indicate success: {code} (Service Unavailable). Upstream: {dep}",
        }
        return m.get(s["lang"], m["go"]), {"upstream": dep}

    return mk


# ============================================================== traces
def make_traces(b, ntraces, fault_fn):
    """fault_fn(service, ts) -> (extra_ms, is_error) for the span of that service at ts."""
    rng = b.rng
    S = b.svc
    edge = b.d["edge"]
    for _ in range(ntraces):
        ts = float(rng.uniform(b.T[0], b.T[-1]))
        tid = f"{rng.integers(0, 2**63):032x}"

        def span(svc, parent, start, depth):
            sid = f"{rng.integers(0, 2**63):016x}"
            s = S[svc]
            own = float(rng.lognormal(2.2, 0.5))
            extra, err = fault_fn(svc, start)
            children_ms = 0.0
            child_err = False
            if depth < 4:
                for dd in s["deps"]:
                    if S[dd]["role"] in ("app", "bff", "worker", "stateful") and rng.random() < 0.7:
                        c_ms, c_err = span(dd, sid, start + own / 1000, depth + 1)
                        children_ms += c_ms
                        child_err |= c_err
                    elif (
                        S[dd]["role"] in ("pg", "mysql", "redis", "external", "kafka", "rabbit")
                        and rng.random() < 0.7
                    ):
                        # client span inside the caller, named after the callee
                        x, e = fault_fn(dd, start)
                        cdur = float(rng.lognormal(1.0, 0.5)) + x
                        nm = {
                            "pg": "SELECT app",
                            "mysql": "SELECT app",
                            "redis": "GET",
                            "external": f"POST {b.d['ext'][1]}",
                            "kafka": f"{b.d['topic']} publish",
                            "rabbit": "publish",
                        }[S[dd]["role"]]
                        b.spans.append(
                            {
                                "trace_id": tid,
                                "span_id": f"{rng.integers(0, 2**63):016x}",
                                "parent_id": sid,
                                "service": svc,
                                "name": nm,
                                "start": iso(start + own / 1000),
                                "duration_ms": round(cdur, 2),
                                "status": "error" if e else "ok",
                                "peer.service": dd,
                                "span.kind": "client",
                            }
                        )
                        children_ms += cdur
                        child_err |= e
            dur = own + extra + children_ms
            e = err or (child_err and rng.random() < 0.8)
            b.spans.append(
                {
                    "trace_id": tid,
                    "span_id": sid,
                    "parent_id": parent,
                    "service": svc,
                    "name": f"GET {ROUTES[int(rng.integers(0, 4))]}",
                    "start": iso(start),
                    "duration_ms": round(dur, 2),
                    "status": "error" if e else "ok",
                    "span.kind": "server",
                }
            )
            return dur, e

        span(edge, None, ts, 0)


# ============================================================== changes / alerts
def innocent_changes(b, k, avoid=(), near_onset=True):
    rng = b.rng
    cands = [x for x in b.apps + [b.d["bff"], b.d["worker"]] if x not in avoid]
    out = []
    for i in range(k):
        svc = cands[int(rng.integers(0, len(cands)))]
        if i == 0 and near_onset:
            ts = b.t_on + int(rng.integers(-12, 4)) * 60
        else:
            ts = int(rng.uniform(b.T[0] - 3600, b.t_on - 15 * 60))
        kind = ["deploy", "deploy", "config", "flag", "scale"][int(rng.integers(0, 5))]
        cid = f"chg-{hashlib.md5((b.id + str(i)).encode()).hexdigest()[:7]}"
        if kind == "deploy":
            v = f"v{rng.integers(1, 5)}.{rng.integers(0, 30)}.{rng.integers(0, 9)}"
            b.change(
                cid,
                ts,
                svc,
                "deploy",
                f"Deploy {svc} {v} (bump deps, minor refactor)",
                version=v,
                previous_version=v[:-1] + str(max(0, int(v[-1]) - 1)),
                author=["jdoe", "mchen", "ci-bot", "apatel"][i % 4],
                url=f"https://argocd.internal/applications/{svc}",
            )
            for pi, pod in enumerate(b.svc[svc]["pods"][:2]):
                b.event(
                    ts + 20 + pi * 30,
                    svc,
                    "Pulled",
                    "Normal",
                    f'Successfully pulled image "registry.internal/{svc}:{v}" in 2.1s',
                    f"pod/{pod}",
                )
            b.event(
                ts + 5,
                svc,
                "ScalingReplicaSet",
                "Normal",
                f"Scaled up replica set {svc}-{hashlib.md5(v.encode()).hexdigest()[:9]} to 1",
                f"deployment/{svc}",
            )
        elif kind == "config":
            b.change(
                cid,
                ts,
                svc,
                "config",
                f"{svc}: LOG_LEVEL info -> debug for tracing investigation",
                author="sre-oncall",
            )
        elif kind == "flag":
            b.change(
                cid,
                ts,
                svc,
                "flag",
                f"flag new-recommendation-widget rollout 10% -> 25% ({svc})",
                author="growth-team",
            )
        else:
            b.change(cid, ts, svc, "scale", f"HPA {svc} minReplicas 2 -> 3", author="capacity-bot")
        out.append(cid)
    # infra noise
    if rng.random() < 0.4:
        b.change(
            f"chg-infra-{rng.integers(1000, 9999)}",
            int(b.T[0]) + 600,
            "cluster",
            "infra",
            "Node pool ng-general: AMI rotation (rolling)",
            author="platform",
        )
    return out


def std_alerts(b):
    # Watchdog is always firing in kube-prometheus
    b.alert(
        {"alertname": "Watchdog", "severity": "none", "prometheus": "monitoring/k8s"},
        int(b.T[0]) - 86400 * 3,
        "An alert that should always be firing to certify that Alertmanager is working properly.",
    )
    if b.rng.random() < 0.6:
        svc = b.apps[int(b.rng.integers(0, len(b.apps)))]
        b.alert(
            {
                "alertname": "CPUThrottlingHigh",
                "severity": "info",
                "namespace": b.d["ns"],
                "container": svc,
                "pod": b.svc[svc]["pods"][0],
                "service": svc,
            },
            int(b.T[0]) + int(b.rng.integers(0, 1800)),
            "Processes experience elevated CPU throttling.",
        )


def symptom_alert(b, svc, ts, kind="errors"):
    names = {
        "errors": ("HighErrorRate", "critical", f"{svc}: 5xx ratio above 5% for 5m"),
        "latency": ("HighLatencyP99", "warning", f"{svc}: p99 latency above 1s for 10m"),
        "slo": (
            "ErrorBudgetBurnFast",
            "critical",
            f"{svc}: 14.4x burn rate of the 30d error budget (1h/5m windows)",
        ),
    }
    an, sev, summ = names[kind]
    lab = {
        "alertname": an,
        "service": svc,
        "severity": sev,
        "namespace": b.d["ns"],
        "team": b.domain,
    }
    if b.svc_label != "service":
        lab = {"alertname": an, b.svc_label: svc, "severity": sev, "namespace": b.d["ns"]}
    return b.alert(
        lab,
        ts,
        summ,
        gen=f"http://prometheus-k8s-0:9090/graph?g0.expr=sum%28rate%28http_requests_total%7Bservice%3D%22{svc}%22%2Ccode%3D~%225..%22%7D%5B5m%5D%29%29",
    )


# ============================================================== emission of the whole world
def emit_world(
    b,
    diur,
    ingress_kw=None,
    dns_kw=None,
    pg_kw=None,
    my_kw=None,
    kafka_kw=None,
    bb_kw=None,
    mem_curves=None,
    redis_kw=None,
):
    S = b.svc
    for name, s in S.items():
        r = s["role"]
        if r in ("app", "bff", "worker", "stateful"):
            emit_http(b, s, diur)
            emit_container(b, s, mem_curves=(mem_curves or {}).get(name))
            emit_up(b, s)
        elif r == "edge":
            if s["lang"] == "nginx":
                emit_ingress(b, s, diur, **(ingress_kw or {}))
            else:
                extra = (ingress_kw or {}).get("_codes")
                emit_http(b, s, diur, extra_codes=extra)
            emit_container(b, s)
        elif r == "pg":
            emit_pg(b, s, **(pg_kw or {}))
        elif r == "mysql":
            emit_mysql(b, s, **(my_kw or {}))
        elif r == "redis":
            emit_redis(b, s, **(redis_kw or {}))
        elif r == "kafka":
            emit_kafka(b, s, **(kafka_kw or {}))
        elif r == "rabbit":
            emit_rabbit(b, s)
        elif r == "dns":
            emit_dns(b, s, **(dns_kw or {}))
            emit_container(b, s)
        elif r == "external":
            emit_blackbox(b, name, **(bb_kw or {}))


# ============================================================== scenarios
def sc_pool_exhaustion(b):
    rng, d, S = b.rng, b.d, b.svc
    db = d["pg"]
    callers = callers_of(b, db)
    culprit = callers[int(rng.integers(0, len(callers)))]
    victims = [c for c in callers if c != culprit]
    tchg = b.t_on - int(rng.integers(2, 6)) * 60
    cid = f"cfg-{hashlib.md5(b.id.encode()).hexdigest()[:8]}"
    old, new = int(rng.choice([10, 20, 25])), int(rng.choice([100, 150, 200]))
    key = {
        "go": "DB_MAX_OPEN_CONNS",
        "py": "SQLALCHEMY_POOL_SIZE",
        "java": "spring.datasource.hikari.maximum-pool-size",
        "dotnet": "ConnectionStrings__Default Maximum Pool Size",
    }[S[culprit]["lang"]]
    b.change(
        cid,
        tchg,
        culprit,
        "config",
        f"{culprit}: {key} {old} -> {new} (reduce pool wait under peak)",
        author="mchen",
        url=f"https://git.internal/{d['ns']}/deploy-config/pull/{rng.integers(300, 900)}",
    )
    maxc = int(rng.choice([100, 200, 300]))
    base = maxc * rng.uniform(0.25, 0.4)
    conns = base + (maxc - 3 - base) * b.ramp(b.on - 1, 3) + rng.normal(0, 2, b.n)
    conns = np.minimum(conns, maxc - 3)
    for v in victims:
        S[v]["own_err"] += 0.35 * b.ramp(b.on, 2) * (0.7 + 0.3 * rng.random(b.n))
        S[v]["own_lat"] *= 1 + 6 * b.ramp(b.on, 2)
        fault_logs(b, v, b.t_on + 30, int(b.T[-1]), 10, msg_too_many(db))
    S[culprit]["own_lat"] *= 1 + 0.3 * b.ramp(b.on, 2)
    # pod rollout of the culprit (config change restarts its pods)
    for pi, pod in enumerate(S[culprit]["pods"]):
        b.event(
            tchg + 15 + 25 * pi,
            culprit,
            "Killing",
            "Normal",
            f"Stopping container {culprit}",
            f"pod/{pod}",
        )
    b.log(db, b.t_on + 60, "FATAL", "sorry, too many clients already", pod=f"{db}-0")
    fault_logs(
        b,
        db,
        b.t_on + 60,
        int(b.T[-1]),
        6,
        lambda s, r: ("sorry, too many clients already", {}),
        level_idx=2,
    )
    propagate(b)
    diur = b.diurnal()
    emit_world(b, diur, pg_kw={"conns": conns, "max_conn": maxc})
    emit_nodes(b)
    innocent_changes(b, int(rng.integers(1, 4)), avoid=[culprit])
    sym = victims[0] if rng.random() < 0.5 else d["bff"]
    a = symptom_alert(b, sym, b.t_on + int(rng.integers(3, 7)) * 60, "errors")
    return (
        a,
        {"root_cause": {"kind": "config_change", "service": culprit, "change_id": cid}},
        f"{sym} 5xx: DB connection slots exhausted",
    )


def sc_db_down(b):
    rng, d, S = b.rng, b.d, b.svc
    kind = "pg" if rng.random() < 0.5 else "mysql"
    db = d["pg"] if kind == "pg" else d["my"]
    ip = f"10.42.{rng.integers(0, 9)}.{rng.integers(2, 250)}"
    up = 1 - b.step_on()
    S[db]["down"][0] = up < 0.5
    callers = callers_of(b, db)
    for c in callers:
        S[c]["own_err"] += 0.8 * b.step_on() * (0.85 + 0.15 * rng.random(b.n))
        fault_logs(b, c, b.t_on + 5, int(b.T[-1]), 12, msg_db_refused(kind, db, ip))
    if kind == "pg":
        b.log(
            db,
            b.t_on - 20,
            "LOG",
            "server process (PID 48211) was terminated by signal 9: Killed",
            pod=f"{db}-0",
        )
        b.log(
            db, b.t_on - 19, "LOG", "terminating any other active server processes", pod=f"{db}-0"
        )
        b.log(db, b.t_on - 15, "LOG", "database system is shut down", pod=f"{db}-0")
    else:
        b.log(
            db,
            b.t_on - 20,
            "ERROR",
            "[MY-012592] [InnoDB] Operating system error number 5 in a file operation.",
            pod=f"{db}-0",
        )
        b.log(
            db,
            b.t_on - 15,
            "ERROR",
            "[MY-013183] [InnoDB] Assertion failure: fil0fil.cc:2413 thread 140093 ... mysqld got signal 6",
            pod=f"{db}-0",
        )
    b.event(
        b.t_on + 30,
        db,
        "Unhealthy",
        "Warning",
        f"Readiness probe failed: dial tcp {ip}:{5432 if kind == 'pg' else 3306}: connect: connection refused",
        f"pod/{db}-0",
        count=int(rng.integers(5, 30)),
    )
    propagate(b)
    diur = b.diurnal()
    if kind == "pg":
        emit_world(b, diur, pg_kw={"up": up})
    else:
        emit_world(b, diur, my_kw={"up": up})
    emit_nodes(b)
    innocent_changes(b, int(rng.integers(1, 4)))
    sym = callers[0] if rng.random() < 0.4 else d["bff"]
    a = symptom_alert(
        b, sym, b.t_on + int(rng.integers(2, 5)) * 60, "errors" if rng.random() < 0.6 else "slo"
    )
    return (
        a,
        {"root_cause": {"kind": "dependency_failure", "service": db}},
        f"{sym} failing: database unreachable",
    )


def sc_disk_full(b):
    rng, d, S = b.rng, b.d, b.svc
    tgt = d["disk"]
    s = S[tgt]
    size = float(rng.choice([100, 200, 500])) * 2**30
    start_frac = rng.uniform(0.12, 0.25)
    fill_start = max(0, b.on - int(rng.integers(30, 60)))
    avail = (
        size * start_frac * (1 - b.ramp(fill_start, b.on - fill_start))
        + size * 0.004
        + rng.normal(0, 2**24, b.n)
    )
    avail = np.maximum(avail, size * 0.0005)
    s["own_err"] += 0.6 * b.step_on()
    for c in callers_of(b, tgt):
        fault_logs(b, c, b.t_on + 20, int(b.T[-1]), 6, msg_upstream(tgt, 500))
    which = rng.integers(0, 3)
    mk = [
        lambda s_, r: (
            f"flood stage disk watermark [95%] exceeded on [{tgt}-0][/usr/share/data] free: {r.integers(200, 900)}.1mb[0.{r.integers(1, 9)}%], all indices on this node will be marked read-only",
            {"logger": "o.e.c.r.a.DiskThresholdMonitor"},
        ),
        lambda s_, r: (
            "java.io.IOException: No space left on device\n\tat java.base/sun.nio.ch.FileDispatcherImpl.write0(Native Method)",
            {"logger": "c.i.storage.SegmentWriter"},
        ),
        lambda s_, r: (
            f"failed to persist blob: write /data/blobs/{r.integers(10**6, 10**7)}.part: no space left on device",
            {"logger": "storage"},
        ),
    ][which]
    fault_logs(b, tgt, b.t_on, int(b.T[-1]), 12, mk)
    b.log(
        tgt,
        b.t_on - 300,
        "WARN",
        "high disk watermark [90%] exceeded, shards will be relocated away from this node",
        pod=s["pods"][0],
    )
    if rng.random() < 0.5:
        b.event(
            b.t_on + 120,
            tgt,
            "Unhealthy",
            "Warning",
            "Readiness probe failed: HTTP probe failed with statuscode: 503",
            f"pod/{s['pods'][0]}",
            count=int(rng.integers(3, 20)),
        )
    propagate(b)
    diur = b.diurnal()
    emit_world(b, diur)
    emit_nodes(b)
    # the volume: half the bundles VM-style (node_exporter relabelled with the service), half kube-style kubelet volume stats
    pvc = f"data-{tgt}-0"
    if rng.random() < 0.5:
        L = {
            "job": "node-exporter",
            "instance": f"{tgt}-0:9100",
            "mountpoint": "/var/lib/data",
            "device": "/dev/nvme1n1",
            "fstype": "ext4",
            "service": tgt,
        }
        b.add_series("node_filesystem_avail_bytes", "node_filesystem_avail_bytes", L, avail)
        b.add_series(
            "node_filesystem_size_bytes", "node_filesystem_size_bytes", L, np.full(b.n, size)
        )
    else:
        L = {
            "job": "kubelet",
            "service": "kubelet",
            "namespace": d["ns"],
            "persistentvolumeclaim": pvc,
            "metrics_path": "/metrics",
        }
        b.add_series(
            "kubelet_volume_stats_available_bytes", "kubelet_volume_stats_available_bytes", L, avail
        )
        b.add_series(
            "kubelet_volume_stats_capacity_bytes",
            "kubelet_volume_stats_capacity_bytes",
            L,
            np.full(b.n, size),
        )
    # the real disk alert fires too, labelled like kube-prometheus does (no app service)
    b.alert(
        {
            "alertname": "KubePersistentVolumeFillingUp",
            "severity": "warning",
            "namespace": d["ns"],
            "persistentvolumeclaim": pvc,
            "job": "kubelet",
            "service": "kubelet",
        },
        b.t_on - int(rng.integers(5, 20)) * 60,
        f"PersistentVolume claimed by {pvc} in Namespace {d['ns']} is expected to fill up within four days.",
    )
    innocent_changes(b, int(rng.integers(1, 4)))
    callers = callers_of(b, tgt)
    sym = callers[0] if callers else d["bff"]
    a = symptom_alert(b, sym, b.t_on + int(rng.integers(3, 7)) * 60, "errors")
    return (
        a,
        {"root_cause": {"kind": "resource_saturation", "service": tgt}},
        f"{sym} errors: writes to {tgt} failing",
    )


def sc_oom_crashloop(b):
    rng, d, S = b.rng, b.d, b.svc
    tgt = b.apps[int(rng.integers(0, len(b.apps)))]
    s = S[tgt]
    lim = s["mem_limit"]
    curves = []
    for pi, pod in enumerate(s["pods"]):
        mem = np.zeros(b.n)
        cur = s["mem_base"] * rng.uniform(0.9, 1.1)
        leak = (lim - cur) / max(
            1, b.on - rng.integers(0, 3) + pi
        )  # slow leak reaching the limit near onset
        i, back, restarts = 0, 1, []
        down = np.zeros(b.n, bool)
        while i < b.n:
            mem[i] = cur
            if cur >= lim * 0.985:
                restarts.append(i)
                b.event(
                    int(b.T[i]),
                    tgt,
                    "OOMKilled",
                    "Warning",
                    f"Container {tgt} in pod {pod} was OOMKilled (exit code 137), memory limit {int(lim / 2**20)}Mi",
                    f"pod/{pod}",
                )
                gap = min(5, back)
                down[i + 1 : i + 1 + gap] = True
                if back > 1:
                    b.event(
                        int(b.T[i]) + 30,
                        tgt,
                        "BackOff",
                        "Warning",
                        f"Back-off restarting failed container {tgt} in pod {pod}",
                        f"pod/{pod}",
                        count=len(restarts),
                    )
                i += 1 + gap
                back *= 2
                cur = s["mem_base"] * 0.6
                leak = (lim - cur) / rng.uniform(
                    2, 4
                )  # after the first kill: warm-up cache leak, dies within minutes
                for j in range(4):
                    b.log(
                        tgt,
                        int(b.T[min(i, b.n - 1)]) + j,
                        LV[s["lang"]][0],
                        [
                            "Starting application",
                            "Loading catalog snapshot into memory",
                            "Listening on :8080",
                            "warming cache: 0/412000 entries",
                        ][j],
                        pod=pod,
                    )
                continue
            cur = min(cur + leak * rng.uniform(0.8, 1.2), lim)
            i += 1
        s["down"][pi] = down
        s["restarts"][pi] = restarts
        mem[down] = np.nan
        curves.append(mem)
    s["own_err"] += 0.25 * b.step_on() * rng.random(b.n)
    for c in callers_of(b, tgt):
        fault_logs(b, c, b.t_on + 30, int(b.T[-1]), 5, msg_upstream(tgt))
    propagate(b)
    diur = b.diurnal()
    emit_world(b, diur, mem_curves={tgt: curves})
    emit_nodes(b)
    # the leak's deploy was yesterday (outside the window): sometimes visible in the change feed
    if rng.random() < 0.5:
        b.change(
            f"dep-{rng.integers(10000, 99999)}",
            int(b.T[0]) - 20 * 3600,
            tgt,
            "deploy",
            f"Deploy {tgt} v2.{rng.integers(1, 20)}.0",
            version="v2.x",
        )
    innocent_changes(b, int(rng.integers(1, 4)), avoid=[tgt])
    if rng.random() < 0.5:
        lab = {
            "alertname": "KubePodCrashLooping",
            "severity": "warning",
            "namespace": d["ns"],
            "pod": s["pods"][0],
            "container": tgt,
            "service": tgt,
        }
        a = b.alert(
            lab,
            b.t_on + 6 * 60,
            f'Pod {d["ns"]}/{s["pods"][0]} ({tgt}) is in waiting state (reason: "CrashLoopBackOff").',
        )
        if rng.random() < 0.5:
            a = symptom_alert(b, callers_of(b, tgt)[0], b.t_on + 4 * 60, "errors")
    else:
        a = symptom_alert(b, callers_of(b, tgt)[0], b.t_on + 4 * 60, "errors")
    return (
        a,
        {"root_cause": {"kind": "crash_loop", "service": tgt}},
        f"{a['labels'].get('service', tgt)} alert: {tgt} pods restarting",
    )


def sc_kafka_deploy(b):
    rng, d, S = b.rng, b.d, b.svc
    w = d["worker"]
    s = S[w]
    v = f"v3.{rng.integers(1, 20)}.{rng.integers(0, 9)}"
    cid = f"deploy-{hashlib.md5(b.id.encode()).hexdigest()[:8]}"
    tdep = b.t_on - 60
    b.change(
        cid,
        tdep,
        w,
        "deploy",
        f"Deploy {w} {v}: switch serializer to schema-registry Avro, enable per-record idempotency check",
        version=v,
        previous_version=f"v3.{rng.integers(0, 5)}.0",
        author="ci-bot",
        url=f"https://argocd.internal/applications/{w}",
    )
    for pi, pod in enumerate(s["pods"]):
        b.event(
            tdep + 10 + 20 * pi,
            w,
            "Pulled",
            "Normal",
            f'Successfully pulled image "registry.internal/{w}:{v}"',
            f"pod/{pod}",
        )
    in_rate = rng.uniform(80, 300) * b.diurnal()
    lag = np.cumsum(np.maximum(in_rate * 0.55 * b.step_on(), 0) * b.step) * (
        1 + 0.05 * rng.standard_normal(b.n)
    )
    s["own_lat"] *= 1 + 9 * b.step_on()
    s["rate"] *= 1 - 0.5 * b.step_on()

    def mk(s_, r):
        return r.choice(
            [
                f"Processed batch of 500 records in {r.integers(6000, 14000)}ms (target 1000ms)",
                f"[Consumer clientId=consumer-{w}-1, groupId={w}] Offset commit failed on partition {d['topic']}-{r.integers(0, 6)}: The request timed out.",
                f"[Consumer clientId=consumer-{w}-1, groupId={w}] consumer poll timeout has expired. This means the time between subsequent calls to poll() was longer than the configured max.poll.interval.ms",
            ]
        ), {}

    fault_logs(b, w, b.t_on + 30, int(b.T[-1]), 6, mk, level_idx=1)
    propagate(b)
    diur = b.diurnal()
    emit_world(b, diur, kafka_kw={"lag_curve": lag, "in_rate": in_rate})
    emit_nodes(b)
    innocent_changes(b, int(rng.integers(1, 4)), avoid=[w])
    svc_lab = d["kafka"] if rng.random() < 0.6 else "kafka-exporter"
    lab = {
        "alertname": "KafkaConsumerGroupLagHigh",
        "severity": "warning",
        "consumergroup": w,
        "topic": d["topic"],
        "service": svc_lab,
        "namespace": d["ns"],
    }
    a = b.alert(
        lab,
        b.t_on + int(rng.integers(8, 14)) * 60,
        f"Consumer group {w} lag on {d['topic']} above 10000 for 5m",
    )
    return (
        a,
        {"root_cause": {"kind": "deploy", "service": w, "change_id": cid}},
        f"consumer lag {w}",
    )


def sc_dns(b):
    rng, d, S = b.rng, b.d, b.svc
    dns = b.dns
    sf = 0.0005 + rng.uniform(0.25, 0.6) * b.ramp(b.on, 2)
    for name, s in S.items():
        if s["role"] in ("app", "bff", "worker") and rng.random() < 0.8:
            s["own_err"] += rng.uniform(0.1, 0.35) * b.ramp(b.on, 2)
            s["own_lat"] *= 1 + 2 * b.ramp(b.on, 2)
            tgt = s["deps"][0] if s["deps"] else d["pg"]
            fault_logs(
                b, name, b.t_on + 20, int(b.T[-1]), 4, msg_dns(f"{tgt}.{d['ns']}.svc.cluster.local")
            )
    for _pod in S[dns]["pods"]:
        fault_logs(
            b,
            dns,
            b.t_on,
            int(b.T[-1]),
            8,
            lambda s_, r: (
                f"[ERROR] plugin/errors: 2 {r.choice(b.apps)}.{d['ns']}.svc.cluster.local. A: read udp 10.42.0.{r.integers(2, 40)}:{r.integers(30000, 60000)}->169.254.169.253:53: i/o timeout",
                {},
            ),
        )
        break
    propagate(b)
    diur = b.diurnal()
    emit_world(b, diur, dns_kw={"servfail": sf, "lat_mult": 1 + 200 * b.ramp(b.on, 2)})
    emit_nodes(b)
    innocent_changes(b, int(rng.integers(1, 4)))
    sym = d["bff"]
    a = symptom_alert(
        b, sym, b.t_on + int(rng.integers(3, 6)) * 60, "errors" if rng.random() < 0.5 else "slo"
    )
    return a, {"root_cause": {"kind": "network", "service": dns}}, f"{sym} errors across services"


def sc_external(b):
    rng, d, S = b.rng, b.d, b.svc
    ext, host = d["ext"]
    S[ext]["own_err"] += 0.9 * b.step_on()
    S[ext]["own_lat"] *= 1 + 50 * b.step_on()
    for c in callers_of(b, ext):
        S[c]["dep_w"] = {ext: 0.7}
        fault_logs(b, c, b.t_on + 10, int(b.T[-1]), 10, msg_ext_timeout(host))
    propagate(b)
    diur = b.diurnal()
    emit_world(
        b,
        diur,
        bb_kw={
            "success": 1 - b.step_on(),
            "dur": np.where(b.step_on() > 0, 10.0, np.abs(rng.normal(0.2, 0.04, b.n))),
        },
    )
    emit_nodes(b)
    innocent_changes(b, int(rng.integers(1, 4)))
    if rng.random() < 0.5:

        def ff(svc, ts):
            if ts >= b.t_on and svc == ext:
                return 10000.0, True
            return 0.0, False

        make_traces(b, 60, ff)
    sym = callers_of(b, ext)[0] if rng.random() < 0.5 else d["bff"]
    a = symptom_alert(
        b, sym, b.t_on + int(rng.integers(2, 6)) * 60, rng.choice(["errors", "latency"])
    )
    return (
        a,
        {"root_cause": {"kind": "dependency_failure", "service": ext}},
        f"{sym} degraded: upstream API timing out",
    )


def sc_bot_surge(b):
    rng, d, S = b.rng, b.d, b.svc
    edge = d["edge"]
    surge = 1 + rng.uniform(4, 6) * b.ramp(b.on, 2)
    r429 = 0.45 * b.ramp(b.on + 1, 2)
    pass_mult = 1 + (surge - 1) * 0.55
    # traffic that gets through saturates the backends
    for name in [d["bff"]] + b.apps:
        S[name]["rate"] *= (
            pass_mult if name == d["bff"] else 1 + (pass_mult - 1) * rng.uniform(0.3, 0.8)
        )
        S[name]["own_lat"] *= 1 + 1.5 * b.ramp(b.on + 2, 3)
        S[name]["own_err"] += 0.06 * b.ramp(b.on + 2, 3)
    S[edge]["rate"] *= surge
    bots = [f"185.220.{rng.integers(100, 103)}.{rng.integers(2, 250)}" for _ in range(4)]
    ua = rng.choice(
        ["python-requests/2.31.0", "Go-http-client/1.1", "Mozilla/5.0 (compatible; scrapy/2.11)"]
    )

    def mk(s_, r):
        ip = r.choice(bots)
        return (
            f'limiting requests, excess: {r.uniform(5, 60):.3f} by zone "api_rl", client: {ip}, server: {d["host"]}, request: "GET /api/v1/search?q={r.integers(1000, 99999)} HTTP/1.1", host: "{d["host"]}"',
            {"client_ip": ip, "user_agent": ua},
        )

    fault_logs(b, edge, b.t_on + 30, int(b.T[-1]), 20, mk, level_idx=2)
    for name in b.apps[:2]:
        fault_logs(
            b,
            name,
            b.t_on + 180,
            int(b.T[-1]),
            3,
            lambda s_, r: ("worker pool saturated: 64/64 busy, request queued", {}),
            level_idx=1,
        )
    propagate(b)
    diur = b.diurnal()
    if S[edge]["lang"] == "nginx":
        emit_world(
            b,
            diur,
            ingress_kw={"surge": surge, "r429": r429, "lat_mult": 1 + 3 * b.ramp(b.on + 2, 3)},
        )
    else:
        emit_world(b, diur, ingress_kw={"_codes": {"429": r429}})
    emit_nodes(b)
    innocent_changes(b, int(rng.integers(1, 4)))
    # HPA scales the backend after the surge: new pods appear (events)
    b.event(
        b.t_on + 240,
        d["bff"],
        "SuccessfulRescale",
        "Normal",
        f"New size: {len(S[d['bff']]['pods']) + 3}; reason: cpu resource utilization (percentage of request) above target",
        f"horizontalpodautoscaler/{d['bff']}",
    )
    sym = d["bff"] if rng.random() < 0.6 else b.apps[0]
    a = symptom_alert(
        b, sym, b.t_on + int(rng.integers(3, 6)) * 60, rng.choice(["latency", "errors"])
    )
    return (
        a,
        {"root_cause": {"kind": "traffic_surge", "service": edge}},
        f"{sym} latency: request flood",
    )


def sc_noisy(b):
    rng, d, S = b.rng, b.d, b.svc
    tgt = str(rng.choice(b.apps + [d["bff"]]))
    # a single-scrape blip, nothing structural
    S[tgt]["own_lat"][b.on : b.on + 1] *= 1.8
    propagate(b)
    diur = b.diurnal()
    emit_world(b, diur)
    emit_nodes(b)
    innocent_changes(b, int(rng.integers(1, 4)), avoid=[tgt])
    a = symptom_alert(b, tgt, b.t_on + 60, rng.choice(["latency", "errors"]))
    a["labels"]["severity"] = "warning"
    return a, {"root_cause": {"kind": "unknown", "service": tgt}}, f"{tgt} flapping alert"


SCEN_D = [
    ("pool", sc_pool_exhaustion, 4),
    ("dbdown", sc_db_down, 4),
    ("disk", sc_disk_full, 3),
    ("oom", sc_oom_crashloop, 4),
    ("kafkalag", sc_kafka_deploy, 3),
    ("dns", sc_dns, 3),
    ("extapi", sc_external, 3),
    ("bots", sc_bot_surge, 3),
    ("noisy", sc_noisy, 3),
]


def gen_D(out, seed):
    dom = list(DOMAINS)
    k = 0
    for sname, fn, cnt in SCEN_D:
        for j in range(cnt):
            rng = np.random.default_rng([seed, k])
            domain = dom[(k * 3 + j) % len(dom)]
            step = 60 if rng.random() < 0.7 else 30
            n = int(rng.integers(100, 140)) if step == 60 else int(rng.integers(140, 180))
            onset = int(n * rng.uniform(0.6, 0.78))
            t0 = (
                int(1_717_000_000 + rng.integers(0, 200) * 86400 + rng.integers(0, 86400))
                // step
                * step
            )
            bid = f"D{k:02d}-{sname}-{domain}"
            b = Bundle(rng, bid, "D", domain, step, t0, n, onset)
            b.kube_style = rng.random() < 0.3
            build_world(b, lang_bias=LANGS[int(rng.integers(0, 4))])
            background_logs(b, every_s=int(rng.integers(60, 150)))
            a, truth, title = fn(b)
            std_alerts(b)
            b.alerts.sort(key=lambda x: x["startsAt"])
            b.write(out, truth, a["fingerprint"], title)
            k += 1


# ------------------------------------------------------------------ family E
def messify(b):
    """Apply the E-family degradations to a built world (before emission)."""
    rng = b.rng
    b.svc_label = str(rng.choice(["job", "app", "job"]))
    b.gap_p = rng.uniform(0.08, 0.2)
    b.names = "dotted" if rng.random() < 0.5 else "prom"
    # 1-3 app services expose no metrics at all (only logs)
    cands = [x for x in b.apps if x != b.truth_svc_hint]
    k = int(rng.integers(1, 4))
    b.no_metrics = set(rng.choice(cands, size=min(k, len(cands)), replace=False).tolist())
    # random pod restarts (counter resets) and new pods mid-window
    for _name, s in b.svc.items():
        if s["role"] in ("app", "bff", "worker") and rng.random() < 0.3 and len(s["pods"]) > 0:
            pi = int(rng.integers(0, len(s["pods"])))
            r = int(rng.integers(1, b.n))
            s["restarts"][pi].append(r)
        if s["role"] in ("app", "bff") and rng.random() < 0.3 and len(s["pods"]) > 1:
            s["down"][-1, : int(rng.integers(1, b.n - 1))] = True  # pod born mid-window


def gen_E(out, seed):
    dom = list(DOMAINS)
    plan = [
        ("pool", sc_pool_exhaustion, 3),
        ("dbdown", sc_db_down, 4),
        ("disk", sc_disk_full, 3),
        ("oom", sc_oom_crashloop, 4),
        ("kafkalag", sc_kafka_deploy, 3),
        ("dns", sc_dns, 3),
        ("extapi", sc_external, 4),
        ("bots", sc_bot_surge, 3),
        ("noisy", sc_noisy, 3),
    ]
    k = 0
    for sname, fn, cnt in plan:
        for j in range(cnt):
            rng = np.random.default_rng([seed, 1000 + k])
            domain = dom[(k * 7 + j + 3) % len(dom)]
            step = 300
            n = int(rng.integers(7, 10))  # 30-45 minutes
            onset = n - 3 if rng.random() < 0.5 else n - 4
            t0 = (
                int(1_719_000_000 + rng.integers(0, 200) * 86400 + rng.integers(0, 86400))
                // step
                * step
            )
            bid = f"E{k:02d}-{sname}-{domain}"
            b = Bundle(rng, bid, "E", domain, step, t0, n, onset)
            build_world(b, lang_bias=LANGS[int(rng.integers(0, 4))])
            # the truth service of each scenario should keep metrics in most bundles
            b.truth_svc_hint = None
            messify(b)
            background_logs(b, every_s=int(rng.integers(120, 300)))
            # pino-style numeric levels for some services
            a, truth, title = fn(b)
            # late alert: 10+ minutes after onset, clipped to the window
            late = b.t_on + int(rng.integers(10, 16)) * 60
            a["startsAt"] = iso(min(late, int(b.T[-1])))
            std_alerts(b)
            # when the data cannot show the kind: compare service only
            rc = truth["root_cause"]
            if sname in ("extapi",) and j % 2 == 1:
                # no blackbox probe in this shop: only caller logs name the host
                for stem in ("probe_success", "probe_duration_seconds"):
                    b.metrics.pop(stem, None)
                truth["match"] = "service"
            if sname == "disk" and j == 2:
                # no volume metrics scraped: only logs show ENOSPC
                for stem in list(b.metrics):
                    if stem.startswith("kubelet_volume") or (
                        stem.startswith("node_filesystem")
                        and any(
                            s_["metric"].get("service") == rc["service"] for s_ in b.metrics[stem]
                        )
                    ):
                        b.metrics.pop(stem)
                truth["match"] = "service"
            if sname == "pool" and j == 2:
                # change feed not connected: the config change is invisible
                b.changes = [c for c in b.changes if c["id"] != rc.get("change_id")]
                rc.pop("change_id", None)
                truth["match"] = "service"
            if sname == "kafkalag" and j == 2:
                b.changes = [c for c in b.changes if c["id"] != rc.get("change_id")]
                rc.pop("change_id", None)
                truth["match"] = "service"
            if rng.random() < 0.3:
                for svc, recs in b.logs.items():
                    if b.svc.get(svc, {}).get("lang") == "go":
                        for r in recs:
                            r["level"] = {"info": 30, "warn": 40, "error": 50}.get(
                                r["level"], r["level"]
                            )
            b.alerts.sort(key=lambda x: x["startsAt"])
            b.write(out, truth, a["fingerprint"], title)
            k += 1


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=20240917)
    ap.add_argument("--out", default="/tmp/indep2")
    args = ap.parse_args()
    gen_D(os.path.join(args.out, "D"), args.seed)
    gen_E(os.path.join(args.out, "E"), args.seed)
