"""Independent held-out incident generator (incident bundle v1).

Writes `scenarios/heldout/<id>/` bundles: 9 root-cause kinds x 6 bundles, over four
service graphs of our own (media streaming, banking, logistics, telehealth). It was
written from the bundle format, the truth semantics and the vocabularies that real
exporters emit (OpenTelemetry, Micrometer, Istio, cAdvisor, kube-state-metrics,
node_exporter, blackbox exporter, gRPC and Python client defaults), without looking at
the root-cause engine or at the project's own scenario generator.

The output is deterministic: one `random.Random` per bundle seeded from `--seed`, no wall
clock, sorted JSON keys and fixed float formatting, so a rerun reproduces the files byte
for byte.

    python scripts/gen_heldout.py [--out DIR] [--seed N]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import shutil
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

KINDS: tuple[str, ...] = (
    "deploy",
    "config_change",
    "resource_saturation",
    "dependency_failure",
    "traffic_surge",
    "crash_loop",
    "certificate_expiry",
    "network",
    "unknown",
)
PER_KIND = 6
DEFAULT_SEED = 7411
MAX_BUNDLE_BYTES = 150 * 1024
REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "scenarios" / "heldout"
ID_PREFIX = "ho-"
MI = 1024 * 1024

# --------------------------------------------------------------------------- graphs


@dataclass(frozen=True)
class SvcDef:
    name: str
    role: str  # app | store | external
    stack: str  # apps: spring | go | python; stores: postgres | redis | kafka | rabbitmq | https
    port: int
    noun: str = ""
    routes: tuple[str, ...] = ()


@dataclass(frozen=True)
class GraphDef:
    key: str
    namespace: str
    cluster: str
    node_style: str
    entry: str
    pkg: str
    services: tuple[SvcDef, ...]
    deps: tuple[tuple[str, tuple[str, ...]], ...]
    optional: tuple[tuple[str, ...], ...]
    external_host: str = ""


GRAPHS: tuple[GraphDef, ...] = (
    GraphDef(
        key="streamly",
        namespace="streamly",
        cluster="prod-eu-west-1",
        node_style="aws",
        entry="edge-gateway",
        pkg="io.streamly",
        services=(
            SvcDef(
                "edge-gateway",
                "app",
                "go",
                8080,
                "Route",
                ("/v1/home", "/v1/titles/{id}", "/v1/play/{id}", "/v1/me"),
            ),
            SvcDef(
                "catalog-api",
                "app",
                "spring",
                8080,
                "Title",
                ("/api/titles/{id}", "/api/rows/home", "/api/search"),
            ),
            SvcDef(
                "playback-api",
                "app",
                "go",
                8080,
                "Session",
                ("/v1/sessions", "/v1/manifests/{id}", "/v1/heartbeat"),
            ),
            SvcDef(
                "profile-service",
                "app",
                "python",
                8000,
                "Profile",
                ("/v2/profiles/{id}", "/v2/profiles/{id}/watchlist"),
            ),
            SvcDef(
                "recommendations",
                "app",
                "python",
                8000,
                "Recommendation",
                ("/v1/recs/home", "/v1/recs/similar/{id}"),
            ),
            SvcDef(
                "drm-license",
                "app",
                "spring",
                8443,
                "License",
                ("/license/widevine", "/license/fairplay"),
            ),
            SvcDef("catalog-pg", "store", "postgres", 5432),
            SvcDef("artwork-cache", "store", "redis", 6379),
            SvcDef("session-store", "store", "redis", 6379),
        ),
        deps=(
            (
                "edge-gateway",
                ("catalog-api", "playback-api", "profile-service", "recommendations"),
            ),
            ("catalog-api", ("catalog-pg", "artwork-cache")),
            ("playback-api", ("drm-license", "session-store")),
            ("profile-service", ("session-store",)),
            ("recommendations", ("catalog-api",)),
            ("drm-license", ()),
            ("catalog-pg", ()),
            ("artwork-cache", ()),
            ("session-store", ()),
        ),
        optional=(("recommendations",), ("artwork-cache",)),
    ),
    GraphDef(
        key="ledgerly",
        namespace="ledgerly",
        cluster="gke-prod-us-central1",
        node_style="gke",
        entry="mobile-bff",
        pkg="com.ledgerly",
        services=(
            SvcDef(
                "mobile-bff",
                "app",
                "go",
                8080,
                "Screen",
                ("/bff/home", "/bff/accounts/{id}", "/bff/transfers"),
            ),
            SvcDef(
                "auth-service", "app", "go", 8080, "Token", ("/oauth/token", "/oauth/introspect")
            ),
            SvcDef(
                "accounts-api",
                "app",
                "spring",
                8080,
                "Account",
                ("/accounts/{id}", "/accounts/{id}/balance"),
            ),
            SvcDef(
                "transfers-api",
                "app",
                "spring",
                8080,
                "Transfer",
                ("/transfers", "/transfers/{id}"),
            ),
            SvcDef(
                "ledger-core",
                "app",
                "spring",
                8443,
                "Posting",
                ("/ledger/postings", "/ledger/balances/{id}"),
            ),
            SvcDef("fraud-scoring", "app", "python", 8000, "Score", ("/score", "/score/batch")),
            SvcDef("ledger-pg", "store", "postgres", 5432),
            SvcDef("feature-cache", "store", "redis", 6379),
            SvcDef("events-kafka", "store", "kafka", 9092),
        ),
        deps=(
            ("mobile-bff", ("auth-service", "accounts-api", "transfers-api")),
            ("auth-service", ()),
            ("accounts-api", ("ledger-core",)),
            ("transfers-api", ("ledger-core", "fraud-scoring", "events-kafka")),
            ("ledger-core", ("ledger-pg",)),
            ("fraud-scoring", ("feature-cache",)),
            ("ledger-pg", ()),
            ("feature-cache", ()),
            ("events-kafka", ()),
        ),
        optional=(("events-kafka",), ("auth-service",)),
    ),
    GraphDef(
        key="freightline",
        namespace="freightline",
        cluster="aks-prod-westeurope",
        node_style="aks",
        entry="dispatch-web",
        pkg="net.freightline",
        services=(
            SvcDef(
                "dispatch-web",
                "app",
                "go",
                8080,
                "Board",
                ("/api/dispatch/board", "/api/shipments/{id}", "/api/routes/optimize"),
            ),
            SvcDef(
                "shipment-api",
                "app",
                "spring",
                8080,
                "Shipment",
                ("/shipments", "/shipments/{id}", "/shipments/{id}/label"),
            ),
            SvcDef(
                "tracking-api",
                "app",
                "go",
                8080,
                "TrackingEvent",
                ("/tracking/{id}", "/tracking/{id}/events"),
            ),
            SvcDef("route-planner", "app", "python", 8000, "Plan", ("/plan", "/plan/{id}")),
            SvcDef("label-service", "app", "python", 8000, "Label", ("/labels/render",)),
            SvcDef(
                "carrier-gateway",
                "app",
                "go",
                8443,
                "CarrierRate",
                ("/carriers/{carrier}/rates", "/carriers/{carrier}/track/{id}"),
            ),
            SvcDef("shipments-pg", "store", "postgres", 5432),
            SvcDef("geo-cache", "store", "redis", 6379),
            SvcDef("carrier-hub", "external", "https", 443),
        ),
        deps=(
            ("dispatch-web", ("shipment-api", "tracking-api", "route-planner")),
            ("shipment-api", ("shipments-pg", "label-service", "carrier-gateway")),
            ("tracking-api", ("geo-cache", "carrier-gateway")),
            ("route-planner", ("geo-cache",)),
            ("label-service", ()),
            ("carrier-gateway", ("carrier-hub",)),
            ("shipments-pg", ()),
            ("geo-cache", ()),
            ("carrier-hub", ()),
        ),
        optional=(("label-service",), ("route-planner",)),
        external_host="api.carrierhub.example",
    ),
    GraphDef(
        key="carepath",
        namespace="carepath",
        cluster="prod-ca-central-1",
        node_style="aws",
        entry="patient-portal",
        pkg="health.carepath",
        services=(
            SvcDef(
                "patient-portal",
                "app",
                "python",
                8000,
                "Visit",
                ("/portal/appointments", "/portal/rx", "/portal/visit/{id}"),
            ),
            SvcDef(
                "appointments-api",
                "app",
                "go",
                8080,
                "Appointment",
                ("/appointments", "/appointments/{id}"),
            ),
            SvcDef("video-signaling", "app", "go", 8443, "Room", ("/rooms/{id}/join",)),
            SvcDef(
                "prescriptions-api",
                "app",
                "spring",
                8443,
                "Prescription",
                ("/rx/{id}", "/rx/{id}/refill"),
            ),
            SvcDef(
                "pharmacy-connector",
                "app",
                "python",
                8000,
                "PharmacyOrder",
                ("/pharmacy/submit", "/pharmacy/status/{id}"),
            ),
            SvcDef("care-pg", "store", "postgres", 5432),
            SvcDef("notify-queue", "store", "rabbitmq", 5672),
        ),
        deps=(
            ("patient-portal", ("appointments-api", "video-signaling", "prescriptions-api")),
            ("appointments-api", ("care-pg", "notify-queue")),
            ("video-signaling", ()),
            ("prescriptions-api", ("care-pg", "pharmacy-connector")),
            ("pharmacy-connector", ()),
            ("care-pg", ()),
            ("notify-queue", ()),
        ),
        optional=(("video-signaling",),),
    ),
)
GRAPH_BY_KEY: dict[str, GraphDef] = {g.key: g for g in GRAPHS}

AUTHORS = (
    "a.okafor",
    "b.lindqvist",
    "c.moreau",
    "d.tanaka",
    "e.rossi",
    "f.haddad",
    "g.novak",
    "h.singh",
    "i.petrenko",
    "j.alvarez",
)
K8S_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
NONEMPTY_CONTAINER = 'container!=""'
HEAP_AREA = 'area="heap"'
CRASHLOOP_REASON = 'reason="CrashLoopBackOff"'
READY_TRUE = 'condition="True"'
EXPORTER_PORT = {"postgres": 9187, "redis": 9121, "kafka": 9308, "rabbitmq": 15692}

# --------------------------------------------------------------------------- helpers


def fnum(v: float, sig: int = 4) -> str:
    """Fixed formatting: `sig` significant digits, no exponent, trailing zeros stripped."""
    if v == 0 or not math.isfinite(v):
        return "0"
    decimals = max(0, sig - 1 - math.floor(math.log10(abs(v))))
    s = f"{v:.{decimals}f}"
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def rfc3339(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_ms(ms: int) -> str:
    base = datetime.fromtimestamp(ms // 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{ms % 1000:03d}Z"


def camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("-"))


def clamp(v: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, v))


def lognoise(rng: random.Random, sigma: float) -> float:
    return math.exp(rng.gauss(0.0, sigma))


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam < 30:
        limit = math.exp(-lam)
        k = 0
        p = 1.0
        while True:
            p *= rng.random()
            if p <= limit:
                return k
            k += 1
    return max(0, int(round(rng.gauss(lam, math.sqrt(lam)))))


def shift(arr: Sequence[float], lag: int) -> list[float]:
    if lag <= 0:
        return list(arr)
    return [0.0] * lag + list(arr[: len(arr) - lag])


def emax(a: Sequence[float], b: Sequence[float]) -> list[float]:
    return [max(x, y) for x, y in zip(a, b, strict=True)]


def fingerprint(labels: dict[str, str]) -> str:
    raw = json.dumps(labels, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def k8s_suffix(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(K8S_ALPHABET) for _ in range(n))


def hexid(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def dump_json(obj: Any, compact: bool = False) -> bytes:
    if compact:
        return (json.dumps(obj, sort_keys=True, separators=(",", ":")) + "\n").encode()
    return (json.dumps(obj, sort_keys=True, indent=2) + "\n").encode()


def dump_yaml(obj: Any) -> bytes:
    return yaml.safe_dump(obj, sort_keys=False, default_flow_style=False, width=100).encode()


def dump_jsonl(rows: Sequence[dict[str, Any]]) -> bytes:
    return "".join(
        json.dumps(r, sort_keys=True, separators=(",", ":")) + "\n" for r in rows
    ).encode()


# --------------------------------------------------------------------------- model


@dataclass
class Spec:
    kind: str
    index: int
    graph: str
    magnitude: str  # subtle | medium | strong
    label: str  # service | job | app
    bundle_id: str = ""


@dataclass
class Series:
    labels: dict[str, str]
    values: Sequence[float | None]
    sig: int = 4
    integer: bool = False


@dataclass
class MetricFile:
    stem: str
    name: str  # metric name (the __name__ if the series carry one)
    query: str
    family: str
    required: bool
    series: list[Series] = field(default_factory=list)


@dataclass
class EdgeFault:
    """What a caller observes when it calls a faulty dependency."""

    failure: str
    err: list[float]
    lat: list[float]


@dataclass
class Pod:
    name: str
    node: str
    ip: str


def plan_specs(seed: int) -> list[Spec]:
    specs: list[Spec] = []
    for ki, kind in enumerate(KINDS):
        krng = random.Random(f"heldout:{seed}:plan:{kind}")
        mags = ["subtle", "subtle", "medium", "medium", "strong", "strong"]
        krng.shuffle(mags)
        labels = ["service", "service", "job", "job", "app", "app"]
        krng.shuffle(labels)
        for j in range(PER_KIND):
            graph = GRAPHS[(ki + j) % len(GRAPHS)].key
            specs.append(Spec(kind, j, graph, mags[j], labels[j]))
    order = random.Random(f"heldout:{seed}:order")
    order.shuffle(specs)
    for idx, spec in enumerate(specs):
        spec.bundle_id = f"{ID_PREFIX}{idx + 1:02d}-{spec.graph}"
    return specs


# --------------------------------------------------------------------------- bundle


class Bundle:
    """One incident: a service graph, a timeline, the signals, and their renderings."""

    def __init__(self, spec: Spec, seed: int) -> None:
        self.spec = spec
        self.kind = spec.kind
        self.rng = random.Random(f"heldout:{seed}:{spec.kind}:{spec.index}")
        rng = self.rng
        self.g = GRAPH_BY_KEY[spec.graph]
        self.ns = self.g.namespace
        self.label = spec.label
        self.mag = spec.magnitude
        self.step = rng.choice((30, 60))
        self.minutes = 60 if self.step == 30 else rng.choice((70, 80, 90))
        self.n = self.minutes * 60 // self.step + 1
        day = rng.randint(0, 270)
        hour = rng.randint(0, 23)
        minute = rng.choice((0, 10, 15, 20, 30, 40, 45, 50))
        self.start = 1736121600 + day * 86400 + hour * 3600 + minute * 60  # 2025-01-06 +
        self.end = self.start + self.minutes * 60
        self.times = [self.start + i * self.step for i in range(self.n)]
        self.noise = rng.choice((0.04, 0.06, 0.09, 0.12))
        self.spiky = rng.random() < 0.5

        self.svc: dict[str, SvcDef] = {s.name: s for s in self.g.services}
        self.deps: dict[str, list[str]] = {k: list(v) for k, v in self.g.deps}
        self.root = self._pick_root()
        self._prune()
        self.apps = [s for s in self.deps if self.svc[s].role == "app"]
        self.stores = [s for s in self.deps if self.svc[s].role != "app"]
        self.order = self._topo_order()

        pre = rng.randint(4, 10) if self.kind == "resource_saturation" else 0
        self.pre_ramp_min = pre
        lo = max(32, 31 + pre)
        onset_min = rng.randint(lo, self.minutes - 20)
        self.onset = onset_min * 60 // self.step
        self.onset_ts = self.times[self.onset]

        self.ms = {"subtle": 0, "medium": 1, "strong": 2}[self.mag]
        self._choose_plan()
        self._infra()
        self._baseline()
        # effects
        z = [0.0] * self.n
        self.lat_extra: dict[str, list[float]] = {s: list(z) for s in self.apps}
        self.err_extra: dict[str, list[float]] = {s: list(z) for s in self.apps}
        self.err_code: dict[str, str] = {}
        self.cpu_mult: dict[str, list[float]] = {s: [1.0] * self.n for s in self.apps}
        self.rps_mult: dict[str, list[float]] = {s: [1.0] * self.n for s in self.apps}
        self.replicas_t: dict[str, list[float]] = {
            s: [float(self.replicas[s])] * self.n for s in self.apps
        }
        self.available_t: dict[str, list[float]] = {
            s: [float(self.replicas[s])] * self.n for s in self.apps
        }
        self.mem_t: dict[str, list[float]] = {}
        self.resets: dict[str, list[tuple[int, float]]] = {s: [] for s in self.apps}
        self.restarts: dict[str, list[int]] = {s: [] for s in self.apps}
        self.waiting: dict[str, list[tuple[int, int, str]]] = {}
        self.edge_faults: dict[tuple[str, str], EdgeFault] = {}
        self.client_extra: dict[tuple[str, str], list[float]] = {}
        self.store_down: dict[str, list[float]] = {}
        self.store_slow: dict[str, list[float]] = {}
        self.probe_http_code: dict[str, int] = {}
        self.cert: dict[str, Any] = {}
        self.retrans_extra: dict[str, list[float]] = {}
        self.changes: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.logs: dict[str, list[dict[str, Any]]] = {s: [] for s in self.deps}
        self.root_logs: list[tuple[int, str, str]] = []
        self.truth_change: str | None = None
        self.paged = self.root
        self.notes: list[str] = []
        # kind-specific state, set by the _kind_* methods
        self.latency_from_util = False
        self.rate_limit = False
        self.rl_cap = 1.0
        self.hpa = False
        self.surge_mult: list[float] = []
        self.surge_damp: dict[tuple[str, str], float] = {}
        self.crash_waiting = False
        self.crash_events = False
        self.crashing: list[str] = []
        self.pod_restarts: list[int] = []
        self.focus = ""
        self.change_ts = 0
        self.title = ""

        getattr(self, f"_kind_{self.kind}")()
        self._distractors()
        self._finalize_signals()
        self._pick_paged()

    # ------------------------------------------------------------------ structure

    def callers(self, s: str) -> list[str]:
        return [c for c, ds in self.deps.items() if s in ds]

    def app_callers(self, s: str) -> list[str]:
        return [c for c in self.callers(s) if self.svc[c].role == "app"]

    def _root_candidates(self) -> list[str]:
        g = self.g
        apps = [s.name for s in g.services if s.role == "app"]
        deps = dict(g.deps)

        def has_app_caller(x: str) -> bool:
            return any(x in deps[c] for c in apps)

        if self.kind == "traffic_surge":
            return [g.entry]
        if self.kind == "dependency_failure":
            return [s.name for s in g.services if s.role != "app"]
        if self.kind in ("network", "certificate_expiry"):
            cands = [a for a in apps if has_app_caller(a)]
            if self.kind == "certificate_expiry":
                cands += [s.name for s in g.services if s.role == "external"]
            return cands
        return apps

    def _pick_root(self) -> str:
        return self.rng.choice(self._root_candidates())

    def _prune(self) -> None:
        needs_caller = self.kind in ("network", "certificate_expiry", "dependency_failure")
        for group in self.g.optional:
            if self.root in group or self.rng.random() > 0.4:
                continue
            trial = {k: [d for d in v if d not in group] for k, v in self.deps.items()}
            for s in group:
                trial.pop(s, None)
            # drop stores orphaned by the removal
            for s in list(trial):
                if self.svc[s].role != "app" and not any(s in v for v in trial.values()):
                    trial.pop(s)
            if self.root not in trial or len(trial) < 5:
                continue
            if needs_caller and not any(self.root in v for v in trial.values()):
                continue
            self.deps = trial

    def _topo_order(self) -> list[str]:
        """Callers before callees, starting at the entry service."""
        order: list[str] = []
        indeg = dict.fromkeys(self.deps, 0)
        for ds in self.deps.values():
            for d in ds:
                indeg[d] += 1
        queue = [s for s in self.deps if indeg[s] == 0]
        while queue:
            s = queue.pop(0)
            order.append(s)
            for d in self.deps[s]:
                indeg[d] -= 1
                if indeg[d] == 0:
                    queue.append(d)
        return order

    def descendants(self, s: str) -> list[str]:
        seen: list[str] = []
        stack = list(self.deps[s])
        while stack:
            x = stack.pop(0)
            if x not in seen:
                seen.append(x)
                stack.extend(self.deps[x])
        return seen

    def ancestors(self, s: str) -> list[str]:
        seen: list[str] = []
        stack = self.callers(s)
        while stack:
            x = stack.pop(0)
            if x not in seen:
                seen.append(x)
                stack.extend(self.callers(x))
        return seen

    # ------------------------------------------------------------------ plan

    def _choose_plan(self) -> None:
        rng = self.rng
        self.style = rng.choice(("native", "native", "otel", "istio", "ratio"))
        self.mode: dict[str, str] = {}
        for s in self.apps:
            stack = self.svc[s].stack
            if self.style == "istio":
                self.mode[s] = "istio"
            elif self.style == "ratio":
                self.mode[s] = "ratio"
            elif self.style == "otel":
                self.mode[s] = "otel"
            elif stack == "spring":
                self.mode[s] = "spring"
            elif stack == "go":
                self.mode[s] = rng.choice(("otel", "grpc"))
            else:
                self.mode[s] = rng.choice(("otel", "flask"))
        self.lat_quantile = rng.choice(("0.99", "0.99", "0.95"))
        self.lat_precomputed = rng.random() < 0.5
        self.numbered = rng.random() < 0.3
        self.with_names = self.numbered or rng.random() < 0.5
        self.queries_yaml = rng.random() < 0.8
        self.fam: dict[str, bool] = {
            "cpu": rng.random() < 0.55,
            "throttle": rng.random() < 0.3,
            "memory": rng.random() < 0.35,
            "restarts": rng.random() < 0.6,
            "replicas": rng.random() < 0.45,
            "node_cpu": rng.random() < 0.5,
            "retrans": rng.random() < 0.2,
            "probes": rng.random() < 0.45,
            "store_exporter": rng.random() < 0.35,
            "ssl_probe": rng.random() < 0.25,
            "client": rng.random() < 0.25,
            "jvm": rng.random() < 0.5,
            "hikari": rng.random() < 0.5,
            "goroutines": rng.random() < 0.25,
        }
        self.required: set[str] = set()
        self.events_on = rng.random() < 0.5
        self.log_gap = rng.uniform(150.0, 240.0) * max(1.0, len(self.apps) / 4)
        self.trace_ids = rng.random() < 0.5
        self.split_traces = rng.random() < 0.5

    def need(self, *families: str) -> None:
        for f in families:
            self.fam[f] = True
            self.required.add(f)

    # ------------------------------------------------------------------ infra

    def _node_name(self, i: int) -> str:
        rng = self.rng
        if self.g.node_style == "gke":
            return f"gke-ledgerly-prod-pool-{1 + i % 2}-{hexid(rng, 8)}-{k8s_suffix(rng, 4)}"
        if self.g.node_style == "aks":
            return f"aks-apps-{self.pool_id}-vmss{i:06x}"
        region = "eu-west-1" if "eu" in self.g.cluster else "ca-central-1"
        return f"ip-10-0-{rng.randint(1, 63)}-{rng.randint(2, 250)}.{region}.compute.internal"

    def _infra(self) -> None:
        rng = self.rng
        n_nodes = rng.randint(3, 5)
        self.pool_id = rng.randint(10000000, 99999999)
        self.nodes = [self._node_name(i) for i in range(n_nodes)]
        self.node_ip = {nd: f"10.0.{rng.randint(1, 63)}.{rng.randint(2, 250)}" for nd in self.nodes}
        self.cluster_ip = {
            s: f"10.96.{rng.randint(0, 255)}.{rng.randint(2, 254)}" for s in self.deps
        }
        self.pods: dict[str, list[Pod]] = {}
        self.pod_epochs: dict[str, list[tuple[int, list[Pod]]]] = {}
        self.rs_hash: dict[str, str] = {}
        self.replicas: dict[str, int] = {}
        self.version: dict[str, tuple[int, int, int]] = {}
        for s in self.deps:
            role = self.svc[s].role
            if role == "external":
                self.pods[s] = []
                continue
            if role == "store":
                reps = 1
                names = [f"{s}-0"]
            else:
                reps = rng.randint(2, 4)
                h = k8s_suffix(rng, rng.choice((9, 10)))
                self.rs_hash[s] = h
                names = [f"{s}-{h}-{k8s_suffix(rng, 5)}" for _ in range(reps)]
            self.replicas[s] = reps
            self.pods[s] = [
                Pod(
                    nm,
                    rng.choice(self.nodes),
                    f"10.{rng.randint(1, 3)}.{rng.randint(0, 255)}.{rng.randint(2, 254)}",
                )
                for nm in names
            ]
            self.version[s] = (rng.randint(1, 4), rng.randint(0, 60), rng.randint(0, 12))

    # ------------------------------------------------------------------ baseline

    def _smooth_shape(self, amp: float) -> list[float]:
        rng = self.rng
        trend = rng.uniform(-0.12, 0.15)
        period = rng.uniform(25.0, 70.0) * 60
        phase = rng.uniform(0, 2 * math.pi)
        out = []
        for i, t in enumerate(self.times):
            x = (
                1
                + trend * i / self.n
                + amp * math.sin(2 * math.pi * (t - self.start) / period + phase)
            )
            out.append(max(0.2, x))
        return out

    def _baseline(self) -> None:
        rng = self.rng
        n = self.n
        self.fanout: dict[tuple[str, str], float] = {}
        for s in self.apps:
            for d in self.deps[s]:
                self.fanout[(s, d)] = rng.uniform(0.25, 1.1)
        entry_level = rng.uniform(60.0, 320.0)
        shape = self._smooth_shape(0.06)
        self.rps_noise = {s: [lognoise(rng, self.noise * 0.6) for _ in range(n)] for s in self.apps}
        self.entry_shape = [entry_level * x for x in shape]
        self.base_rps = self._rps_from(lambda i: self.entry_shape[i], {})
        # latency bottom-up
        own = {s: rng.uniform(0.012, 0.11) for s in self.apps}
        self.lat0: dict[str, float] = {}
        for s in reversed(self.order):
            if self.svc[s].role != "app":
                continue
            child = [self.lat0[d] for d in self.deps[s] if d in self.lat0]
            store = sum(rng.uniform(0.004, 0.03) for d in self.deps[s] if self.svc[d].role != "app")
            self.lat0[s] = own[s] + store + (0.75 * max(child) if child else 0.0)
        self.base_lat: dict[str, list[float]] = {}
        self.base_err: dict[str, list[float]] = {}
        for s in self.apps:
            lshape = self._smooth_shape(0.05)
            lat = []
            for i in range(n):
                v = self.lat0[s] * lshape[i] * lognoise(rng, self.noise)
                if self.spiky and rng.random() < 0.015:
                    v *= rng.uniform(1.4, 2.4)
                lat.append(v)
            self.base_lat[s] = lat
            e0 = rng.uniform(0.0006, 0.005)
            errs = []
            for _ in range(n):
                v = e0 * lognoise(rng, 0.35)
                if self.spiky and rng.random() < 0.01:
                    v *= rng.uniform(2.0, 4.0)
                errs.append(v)
            self.base_err[s] = errs
        # resources
        self.cpu_limit: dict[str, float] = {}
        self.cpu_cost: dict[str, float] = {}
        self.mem_limit: dict[str, int] = {}
        self.mem0: dict[str, float] = {}
        for s in self.apps:
            self.cpu_limit[s] = rng.choice((0.5, 1.0, 1.0, 2.0))
            util0 = rng.uniform(0.15, 0.42)
            mean_rps = sum(self.base_rps[s]) / n
            self.cpu_cost[s] = util0 * self.cpu_limit[s] * self.replicas[s] / max(mean_rps, 1e-6)
            self.mem_limit[s] = rng.choice((512, 768, 1024, 2048)) * MI
            self.mem0[s] = rng.uniform(0.35, 0.62) * self.mem_limit[s]

    def _rps_from(
        self, entry_fn: Any, damp: dict[tuple[str, str], float]
    ) -> dict[str, list[float]]:
        """Requests per second per app service: the entry's shape flows down the call graph."""
        n = self.n
        base_entry = self.entry_shape
        rps: dict[str, list[float]] = {}
        extra: dict[str, list[float]] = {}
        for s in self.order:
            if self.svc[s].role != "app":
                continue
            if s == self.g.entry:
                cur = [entry_fn(i) for i in range(n)]
                ex = [cur[i] - base_entry[i] for i in range(n)]
            else:
                cur = [0.0] * n
                ex = [0.0] * n
                for c in self.app_callers(s):
                    if c not in rps:
                        continue
                    f = self.fanout[(c, s)]
                    k = damp.get((c, s), 1.0)
                    for i in range(n):
                        base_c = rps[c][i] - extra[c][i]
                        cur[i] += f * (base_c + extra[c][i] * k)
                        ex[i] += f * extra[c][i] * k
            rps[s] = [cur[i] * self.rps_noise[s][i] for i in range(n)]
            extra[s] = [ex[i] * self.rps_noise[s][i] for i in range(n)]
        for s in self.apps:
            if s not in rps:  # not reachable from the entry: its own small traffic
                lvl = self.rng.uniform(5.0, 40.0)
                rps[s] = [lvl * self.rps_noise[s][i] for i in range(n)]
        return rps

    # ------------------------------------------------------------------ shared effects

    def mag_pick(self, ranges: tuple[tuple[float, float], ...]) -> float:
        lo, hi = ranges[self.ms]
        return self.rng.uniform(lo, hi)

    def ramp(self, start: int, length: int) -> list[float]:
        length = max(1, length)
        return [0.0 if i < start else min(1.0, (i - start + 1) / length) for i in range(self.n)]

    def idx(self, ts: float) -> int:
        return int(clamp((ts - self.start) // self.step, 0, self.n - 1))

    def propagate(self, src: str, vlat: list[float], verr: list[float], failure: str) -> None:
        """Callers of `src` see its faults one or two steps later, attenuated."""
        self._prop(src, vlat, verr, failure, 0, [src])

    def _prop(
        self,
        x: str,
        vlat: list[float],
        verr: list[float],
        failure: str,
        depth: int,
        path: list[str],
    ) -> None:
        rng = self.rng
        for c in self.app_callers(x):
            if c in path:
                continue
            lag = rng.choice((1, 1, 2))
            a = rng.uniform(0.35, 0.75)
            share = (
                rng.uniform(0.35, 0.85) if self.svc[x].stack != "redis" else rng.uniform(0.1, 0.4)
            )
            clat = [a * v for v in shift(vlat, lag)]
            cerr = [min(0.95, share * v) for v in shift(verr, lag)]
            self.edge_faults[(c, x)] = EdgeFault(failure, shift(verr, lag), shift(vlat, lag))
            self.lat_extra[c] = emax(self.lat_extra[c], clat)
            self.err_extra[c] = emax(self.err_extra[c], cerr)
            if c not in self.err_code:
                self.err_code[c] = {"timeout": "504", "tls": "502", "http_5xx": "502"}.get(
                    failure, "503"
                )
            if depth < 4 and (max(cerr) > 0.002 or max(clat) > 0.01):
                nxt = "http_5xx" if max(cerr) > 0.01 else "timeout"
                self._prop(c, clat, cerr, nxt, depth + 1, [*path, c])

    def add_change(
        self,
        kind: str,
        service: str,
        ts: int,
        summary: str,
        version: str | None = None,
        previous: str | None = None,
    ) -> str:
        rng = self.rng
        prefix = {"deploy": "deploy", "config": "cfg", "flag": "flag", "infra": "infra"}.get(
            kind, kind
        )
        cid = f"{prefix}-{rng.randint(1000, 99999)}"
        while any(c["id"] == cid for c in self.changes):
            cid = f"{prefix}-{rng.randint(1000, 99999)}"
        entry: dict[str, Any] = {
            "id": cid,
            "ts": rfc3339(ts),
            "service": service,
            "kind": kind,
            "summary": summary,
            "author": rng.choice(AUTHORS),
        }
        if version is not None:
            entry["version"] = version
            entry["previous_version"] = previous
            entry["url"] = (
                f"https://git.{self.ns}.example/{self.ns}/{service}/compare/{previous}...{version}"
            )
        elif kind in ("config", "flag") and rng.random() < 0.6:
            entry["url"] = (
                f"https://git.{self.ns}.example/{self.ns}/deploy-config/pull/"
                f"{rng.randint(200, 4000)}"
            )
        self.changes.append(entry)
        return cid

    def bump_version(self, s: str, minor: bool = False) -> tuple[str, str]:
        a, b, c = self.version[s]
        prev = f"v{a}.{b}.{c}"
        new = (a, b + 1, 0) if minor else (a, b, c + 1)
        self.version[s] = new
        return f"v{new[0]}.{new[1]}.{new[2]}", prev

    def rollout(self, s: str, at: int, keep: float) -> None:
        """A rolling update of `s` at step `at`: new ReplicaSet, counters restart."""
        rng = self.rng
        old_hash = self.rs_hash.get(s, k8s_suffix(rng, 9))
        new_hash = k8s_suffix(rng, len(old_hash))
        self.rs_hash[s] = new_hash
        old_pods = self.pods[s]
        self.pods[s] = [
            Pod(f"{s}-{new_hash}-{k8s_suffix(rng, 5)}", rng.choice(self.nodes), p.ip)
            for p in old_pods
        ]
        self.pod_epochs.setdefault(s, [(0, old_pods)]).append((self.times[at], self.pods[s]))
        self.resets[s].append((at + 1, keep))
        for j in range(at, min(self.n, at + rng.randint(1, 2))):
            self.available_t[s][j] = max(0.0, self.replicas[s] - 1.0)
        ts = self.times[at]
        for k, pod in enumerate(self.pods[s]):
            self.startup_logs(s, ts * 1000 + 9000 + k * rng.randint(3000, 15000), pod)
        if self.events_on:
            reps = self.replicas[s]
            q = self.kubectl(f"deployment/{s}")
            self.event(
                ts + 2,
                s,
                "ScalingReplicaSet",
                "Normal",
                f"Scaled up replica set {s}-{new_hash} to {reps}",
                f"deployment/{s}",
                reps,
                query=q,
                first_timestamp=rfc3339(ts),
            )
            self.event(
                ts + 40 + rng.randint(0, 60),
                s,
                "ScalingReplicaSet",
                "Normal",
                f"Scaled down replica set {s}-{old_hash} to 0 from {reps}",
                f"deployment/{s}",
                reps,
                query=q,
                first_timestamp=rfc3339(ts + 15),
            )

    def kubectl(self, obj: str) -> str:
        ctx = self.g.cluster
        name = obj.split("/", 1)[1]
        return (
            f"kubectl --context {ctx} --namespace {self.ns} get events "
            f"--field-selector involvedObject.name={name}"
        )

    def event(
        self,
        ts: int,
        service: str,
        reason: str,
        etype: str,
        message: str,
        obj: str,
        count: int = 1,
        **attrs: Any,
    ) -> None:
        ev: dict[str, Any] = {
            "ts": rfc3339(min(ts, self.end)),
            "service": service,
            "reason": reason,
            "type": etype,
            "message": message,
            "object": obj,
            "count": max(1, count),
        }
        ev.update(attrs)
        self.events.append(ev)

    # ------------------------------------------------------------------ logs

    def lvl(self, s: str, level: str) -> str:
        stack = self.svc[s].stack
        if stack == "go":
            return level.lower()
        if stack == "python":
            return {"WARN": "WARNING"}.get(level, level)
        return level

    def log(self, s: str, ms: int, level: str, msg: str, **labels: Any) -> None:
        if ms < self.start * 1000 or ms > self.end * 1000:
            return
        rec: dict[str, Any] = {
            "ts": rfc3339_ms(ms),
            "service": s,
            "level": self.lvl(s, level),
            "msg": msg,
        }
        pods = self.pods.get(s) or []
        for since, epoch in self.pod_epochs.get(s, []):
            if ms >= since * 1000:
                pods = epoch  # the pods that were running at that time
        if pods and "pod" not in labels:
            rec["pod"] = pods[(ms // 7919) % len(pods)].name
        rec.update(labels)
        self.logs[s].append(rec)

    def path_of(self, s: str) -> str:
        rng = self.rng
        routes = self.svc[s].routes or ("/",)
        p = rng.choice(routes)
        p = p.replace("{id}", str(rng.randint(1000, 999999)))
        return p.replace("{carrier}", rng.choice(("dhl", "ups", "gls", "dpd")))

    def access_msg(self, s: str, status: int, ms_dur: float) -> str:
        rng = self.rng
        method = rng.choice(("GET", "GET", "GET", "POST"))
        path = self.path_of(s)
        stack = self.svc[s].stack
        if stack == "spring":
            return f"{method} {path} -> {status} ({ms_dur:.0f} ms)"
        if stack == "go":
            return (
                f"request completed method={method} path={path} status={status} "
                f"duration={ms_dur:.1f}ms"
            )
        peer = f"10.{rng.randint(1, 3)}.{rng.randint(0, 255)}.{rng.randint(2, 254)}"
        size = rng.randint(180, 9000)
        return f'{peer} "{method} {path} HTTP/1.1" {status} {size} {ms_dur / 1000:.3f}'

    def startup_logs(self, s: str, ms: int, pod: Pod) -> None:
        rng = self.rng
        a, b, c = self.version[s]
        ver = f"{a}.{b}.{c}"
        stack = self.svc[s].stack
        if stack == "spring":
            cls = f"{camel(s)}Application"
            self.log(
                s, ms, "INFO", f"Starting {cls} v{ver} using Java 21.0.4 with PID 1", pod=pod.name
            )
            took = rng.uniform(6.0, 19.0)
            self.log(
                s,
                ms + int(took * 1000),
                "INFO",
                f"Started {cls} in {took:.3f} seconds (process running for {took + 0.8:.3f})",
                pod=pod.name,
            )
        elif stack == "go":
            self.log(
                s,
                ms,
                "INFO",
                f"starting {s} version={ver} commit={hexid(rng, 7)} go=go1.22.6",
                pod=pod.name,
            )
            self.log(
                s,
                ms + rng.randint(40, 400),
                "INFO",
                f"http server listening on :{self.svc[s].port}",
                pod=pod.name,
            )
        else:
            self.log(s, ms, "INFO", "Starting gunicorn 22.0.0", pod=pod.name)
            self.log(
                s,
                ms + rng.randint(200, 900),
                "INFO",
                f"Booting worker with pid: {rng.randint(8, 40)}",
                pod=pod.name,
            )

    def tls_port(self, s: str) -> int:
        port = self.svc[s].port
        return port if port in (443, 8443) else 8443

    def dep_error_msg(self, c: str, x: str, failure: str, now_ms: int) -> tuple[str, str]:
        """(level, message) a caller `c` logs when calling `x` fails with `failure`."""
        rng = self.rng
        cs = self.svc[c].stack
        xs = self.svc[x]
        ip = self.cluster_ip.get(x, "10.96.0.1")
        port = xs.port
        route = self.path_of(x) if xs.role == "app" else "/"
        scheme = "https" if port in (8443, 443) else "http"
        host = self.g.external_host if xs.role == "external" else x
        url = f"{scheme}://{host}:{port}{route}" if xs.role == "app" else f"https://{host}/v2/rates"
        if failure == "tls":
            exp = rfc3339(self.cert.get("expiry", self.onset_ts))
            now = rfc3339(now_ms // 1000)
            if xs.role == "app":
                port = self.tls_port(x)
                url = f"https://{host}:{port}{route}"
            if cs == "go":
                return "ERROR", (
                    f'Post "{url}": tls: failed to verify certificate: x509: certificate has '
                    f"expired or is not yet valid: current time {now} is after {exp}"
                )
            if cs == "python":
                return "ERROR", (
                    f"requests.exceptions.SSLError: HTTPSConnectionPool(host='{host}', "
                    f"port={port}): "
                    f"Max retries exceeded with url: {route} (Caused by SSLError("
                    "SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate "
                    "verify "
                    "failed: certificate has expired (_ssl.c:1006)')))"
                )
            return "ERROR", (
                f'I/O error on POST request for "{url}": PKIX path validation failed: '
                "java.security.cert.CertPathValidatorException: validity check failed; nested "
                "exception is javax.net.ssl.SSLHandshakeException: PKIX path validation failed: "
                "java.security.cert.CertPathValidatorException: validity check failed"
            )
        if xs.role == "store":
            return self._store_error(c, x, failure, ip)
        if failure in ("refused", "unavailable"):
            if self.mode.get(c) == "istio" and rng.random() < 0.5:
                return "ERROR", (
                    f"upstream {x} returned 503: upstream connect error or disconnect/reset before "
                    "headers. reset reason: connection failure"
                )
            if cs == "go":
                return "ERROR", f'Post "{url}": dial tcp {ip}:{port}: connect: connection refused'
            if cs == "python":
                return "ERROR", (
                    f"requests.exceptions.ConnectionError: HTTPConnectionPool(host='{host}', "
                    f"port={port}): Max retries exceeded with url: {route} (Caused by "
                    "NewConnectionError('<urllib3.connection.HTTPConnection object at "
                    f"0x7f{hexid(rng, 10)}>: Failed to establish a new connection: [Errno 111] "
                    "Connection refused'))"
                )
            return "ERROR", f'I/O error on GET request for "{url}": Connection refused'
        if failure == "timeout":
            if xs.role == "external":
                return (
                    "ERROR",
                    f'Get "{url}": dial tcp 203.0.113.{rng.randint(2, 250)}:443: i/o timeout',
                )
            if cs == "go":
                return "ERROR", (
                    f'Get "{url}": context deadline exceeded (Client.Timeout exceeded while '
                    "awaiting headers)"
                )
            if cs == "python":
                return "ERROR", (
                    f"requests.exceptions.ReadTimeout: HTTPConnectionPool(host='{host}', "
                    f"port={port}): Read timed out. (read timeout={rng.choice((1.0, 2.0, 5.0))})"
                )
            return "ERROR", f'I/O error on GET request for "{url}": Read timed out'
        if failure == "nxdomain":
            bad = f"{x}.{self.ns}-prod.svc"
            if cs == "go":
                return "ERROR", (
                    f'Post "http://{bad}:{port}{route}": dial tcp: lookup {bad} on 10.96.0.10:53: '
                    "no such host"
                )
            if cs == "python":
                return "ERROR", (
                    f"requests.exceptions.ConnectionError: HTTPConnectionPool(host='{bad}', "
                    f"port={port}): Max retries exceeded with url: {route} (Caused by "
                    "NameResolution"
                    f"Error(\"Failed to resolve '{bad}' ([Errno -2] Name or service not known)\"))"
                )
            return "ERROR", (
                f'I/O error on GET request for "http://{bad}:{port}{route}": {bad}; nested '
                "exception is java.net.UnknownHostException"
            )
        # http_5xx
        code = rng.choice(("500", "502", "503"))
        if xs.role == "external":
            return "ERROR", f"carrierhub responded 503 Service Unavailable for GET {url}"
        if cs == "go":
            return "ERROR", f"upstream {x} returned status {code} for {route}"
        if cs == "python":
            return "ERROR", (
                f"requests.exceptions.HTTPError: {code} Server Error: "
                f"{'Bad Gateway' if code == '502' else 'Internal Server Error'} for url: {url}"
            )
        return "ERROR", (
            f"Upstream call failed: {code} "
            f"{'BAD_GATEWAY' if code == '502' else 'INTERNAL_SERVER_ERROR'}"
            f" from GET {url}"
        )

    def _store_error(self, c: str, x: str, failure: str, ip: str) -> tuple[str, str]:
        rng = self.rng
        cs = self.svc[c].stack
        tech = self.svc[x].stack
        refused = failure in ("refused", "unavailable")
        if tech == "postgres":
            db = self.ns
            if cs == "spring":
                if refused:
                    return "ERROR", (
                        f"org.postgresql.util.PSQLException: Connection to {x}:5432 refused. Check "
                        "that the hostname and port are correct and that the postmaster is "
                        "accepting TCP/IP connections."
                    )
                return "ERROR", (
                    "HikariPool-1 - Connection is not available, request timed out after 30000ms."
                )
            if cs == "go":
                if refused:
                    return "ERROR", (
                        f"failed to connect to `host={x} user=app database={db}`: dial error "
                        f"(dial tcp {ip}:5432: connect: connection refused)"
                    )
                return "ERROR", (
                    f"failed to connect to `host={x} user=app database={db}`: dial error "
                    f"(timeout: dial tcp {ip}:5432: i/o timeout)"
                )
            if refused:
                return "ERROR", (
                    f'psycopg2.OperationalError: connection to server at "{x}" ({ip}), port 5432 '
                    "failed: Connection refused"
                )
            return "ERROR", (
                f'psycopg2.OperationalError: connection to server at "{x}" ({ip}), port 5432 '
                "failed: timeout expired"
            )
        if tech == "redis":
            if cs == "spring":
                return (
                    "ERROR",
                    f"io.lettuce.core.RedisConnectionException: Unable to connect to {x}/{ip}:6379",
                )
            if cs == "go":
                what = "connect: connection refused" if refused else "i/o timeout"
                return "ERROR", f"redis: dial tcp {ip}:6379: {what}"
            if refused:
                return (
                    "ERROR",
                    f"redis.exceptions.ConnectionError: Error 111 connecting to {x}:6379. "
                    "Connection refused.",
                )
            return "ERROR", "redis.exceptions.TimeoutError: Timeout connecting to server"
        if tech == "kafka":
            if cs == "spring":
                if rng.random() < 0.5:
                    return "WARN", (
                        f"[Producer clientId={c}-producer-1] Connection to node -1 "
                        f"({x}-0.{x}-headless.{self.ns}.svc/{ip}:9092) could not be established. "
                        "Broker may not be available."
                    )
                return "ERROR", (
                    "org.apache.kafka.common.errors.TimeoutException: Topic "
                    f"{c.split('-')[0]}.events not present in metadata after 60000 ms."
                )
            if cs == "go":
                return "ERROR", (
                    "kafka: client has run out of available brokers to talk to: dial tcp "
                    f"{ip}:9092: connect: connection refused"
                )
            return "ERROR", "kafka.errors.NoBrokersAvailable: NoBrokersAvailable"
        # rabbitmq
        if cs == "spring":
            return (
                "ERROR",
                "org.springframework.amqp.AmqpConnectException: java.net.ConnectException: "
                "Connection refused",
            )
        if cs == "go":
            what = "connect: connection refused" if refused else "i/o timeout"
            return (
                "ERROR",
                f'Exception (504) Reason: "channel/connection is not open" (dial tcp {ip}:5672: '
                f"{what})",
            )
        return "ERROR", (
            f"pika.exceptions.AMQPConnectionError: Connection to {ip}:5672 failed: [Errno 111] "
            "Connection refused"
        )

    def exception_lines(self, s: str, variant: int) -> list[tuple[str, str]]:
        """A new exception as the root's framework writes it, one record per physical line
        when the log shipper does not join stack traces."""
        rng = self.rng
        stack = self.svc[s].stack
        noun = self.svc[s].noun or camel(s)
        pkg = f"{self.g.pkg}.{s.split('-')[0]}"
        line = rng.randint(60, 480)
        if stack == "spring":
            causes = (
                (
                    "java.lang.NullPointerException",
                    f'Cannot invoke "{pkg}.model.{noun}.getCurrency()" because '
                    f'"{noun[0].lower()}{noun[1:]}" is null',
                ),
                (
                    "java.lang.IllegalStateException",
                    f"No {noun}Mapper registered for schema version 7",
                ),
                (
                    "java.lang.NoSuchMethodError",
                    f"'java.time.Instant {pkg}.model.{noun}.getCreatedAt()'",
                ),
                (
                    "com.fasterxml.jackson.databind.exc.MismatchedInputException",
                    "Cannot deserialize value of type `java.math.BigDecimal` from Array value "
                    "(token `JsonToken.START_ARRAY`) at [Source: (String); line: 1, column: "
                    f"{rng.randint(20, 200)}]",
                ),
            )
            exc, detail = causes[variant % len(causes)]
            head = (
                "Servlet.service() for servlet [dispatcherServlet] in context with path [] threw "
                f"exception [Request processing failed: {exc}: {detail}] with root cause"
            )
            trace = [
                f"\tat {pkg}.service.{noun}Service.resolve({noun}Service.java:{line})",
                "\tat "
                f"{pkg}.web.{noun}Controller.get({noun}Controller.java:{rng.randint(30, 140)})",
            ]
            if self.split_traces:
                return [("ERROR", head), ("ERROR", f"{exc}: {detail}")] + [
                    ("ERROR", t) for t in trace
                ]
            return [("ERROR", head + "\n" + f"{exc}: {detail}\n" + "\n".join(trace))]
        if stack == "go":
            causes_go = (
                (
                    "http: panic serving "
                    f"10.{rng.randint(1, 3)}.{rng.randint(0, 255)}.{rng.randint(2, 254)}:"
                    f"{rng.randint(30000, 60000)}: "
                    "runtime error: invalid memory address or nil pointer dereference",
                    f"goroutine {rng.randint(1000, 90000)} [running]:",
                ),
                (
                    "handler error: json: cannot unmarshal string into Go struct field "
                    f"{noun}.bitrate of type int64",
                    "",
                ),
                (
                    "http: panic serving "
                    f"10.{rng.randint(1, 3)}.{rng.randint(0, 255)}.{rng.randint(2, 254)}:"
                    f"{rng.randint(30000, 60000)}: "
                    "runtime error: index out of range [3] with length 3",
                    f"goroutine {rng.randint(1000, 90000)} [running]:",
                ),
            )
            first, second = causes_go[variant % len(causes_go)]
            out = [("ERROR", first)]
            if second:
                out.append(("ERROR", second))
            return out
        mod = s.split("-")[0]
        causes_py = (
            ("KeyError: 'locale'", "get_" + noun.lower()),
            ("TypeError: unsupported operand type(s) for +: 'NoneType' and 'int'", "score"),
            (f"AttributeError: '{noun}' object has no attribute 'region_code'", "serialize"),
        )
        err, fn = causes_py[variant % len(causes_py)]
        lines = [
            "Traceback (most recent call last):",
            f'  File "/app/{mod}/views.py", line {line}, in {fn}',
            err,
        ]
        if self.split_traces:
            return [("ERROR", ln) for ln in lines]
        return [("ERROR", f"Exception on {self.path_of(s)} [GET]\n" + "\n".join(lines))]

    # ------------------------------------------------------------------ kinds

    def _kind_deploy(self) -> None:
        rng = self.rng
        r = self.root
        variant = rng.choice(("errors", "latency", "both"))
        lead = rng.randint(90, 8 * 60)
        dep_idx = max(1, self.onset - (lead // self.step))
        dep_ts = self.times[dep_idx] - rng.randint(0, self.step - 1)
        ver, prev = self.bump_version(r, minor=rng.random() < 0.4)
        cid = self.add_change("deploy", r, dep_ts, f"Deploy {r} {ver}", ver, prev)
        self.truth_change = cid
        self.rollout(r, dep_idx, rng.uniform(0.0, 0.4))
        rise = self.ramp(self.onset, rng.randint(1, 3))
        err_peak = self.mag_pick(((0.02, 0.05), (0.08, 0.2), (0.25, 0.7)))
        lat_mult = self.mag_pick(((1.5, 2.2), (2.5, 4.0), (5.0, 12.0)))
        if variant == "latency":
            err_peak *= 0.15
        if variant == "errors":
            lat_mult = 1.0 + (lat_mult - 1.0) * 0.15
        self.err_extra[r] = [err_peak * x for x in rise]
        self.lat_extra[r] = [(lat_mult - 1.0) * self.lat0[r] * x for x in rise]
        self.err_code[r] = "500"
        self.propagate(r, self.lat_extra[r], self.err_extra[r], "http_5xx")
        v = rng.randint(0, 5)
        self.root_logs.append((self.onset, "exception", str(v)))
        if variant in ("latency", "both"):
            self.root_logs.append((self.onset, "slowquery", ""))

    def _kind_config_change(self) -> None:
        rng = self.rng
        r = self.root
        stack = self.svc[r].stack
        app_deps = [d for d in self.deps[r] if self.svc[d].role == "app"]
        pg = [d for d in self.deps[r] if self.svc[d].stack == "postgres"]
        options = ["flag", "loglevel"]
        if pg:
            options += ["pool", "pool"]
        if app_deps or self.deps[r]:
            options += ["timeout", "endpoint"]
        variant = rng.choice(options)
        lead = rng.randint(30, 6 * 60)
        ch_ts = self.onset_ts - lead
        rise = self.ramp(self.onset, rng.randint(1, 2))
        err_peak = self.mag_pick(((0.02, 0.05), (0.07, 0.18), (0.25, 0.75)))
        lat_mult = self.mag_pick(((1.5, 2.2), (2.4, 4.0), (4.5, 10.0)))
        kind = "config"
        if variant == "pool":
            key = {
                "spring": "spring.datasource.hikari.maximum-pool-size",
                "go": "DB_MAX_OPEN_CONNS",
                "python": "SQLALCHEMY_POOL_SIZE",
            }[stack]
            old = rng.choice((20, 30, 40, 50))
            new = rng.choice((2, 4, 5))
            summary = f"ConfigMap {r}-config: {key} {old} -> {new}"
            self.err_extra[r] = [err_peak * 0.5 * x for x in rise]
            self.lat_extra[r] = [(lat_mult - 1) * self.lat0[r] * x for x in rise]
            self.root_logs.append((self.onset, "pool", f"{new}"))
            if stack == "spring":
                self.need("hikari")
        elif variant == "timeout":
            target = rng.choice(app_deps or self.deps[r])
            key = {
                "spring": "feign.client.config.default.readTimeout",
                "go": "UPSTREAM_TIMEOUT",
                "python": "HTTP_CLIENT_TIMEOUT_SECONDS",
            }[stack]
            old_s, new_s = {
                "spring": ("2500", "250"),
                "go": ("2s", "150ms"),
                "python": ("2.0", "0.2"),
            }[stack]
            summary = f"ConfigMap {r}-config: {key} {old_s} -> {new_s}"
            self.err_extra[r] = [err_peak * x for x in rise]
            self.root_logs.append((self.onset, "dep:timeout", target))
        elif variant == "endpoint":
            target = rng.choice(self.deps[r])
            key = f"{target.upper().replace('-', '_')}_ADDR"
            summary = (
                f"ConfigMap {r}-config: {key} {target}:{self.svc[target].port} -> "
                f"{target}.{self.ns}-prod.svc:{self.svc[target].port}"
            )
            self.err_extra[r] = [min(0.9, err_peak * 1.5) * x for x in rise]
            self.root_logs.append((self.onset, "dep:nxdomain", target))
        elif variant == "flag":
            kind = "flag"
            flag = rng.choice(
                (
                    "new-pricing-engine",
                    "geo-routing-v2",
                    "async-writes",
                    "ranker-v3",
                    "strict-validation",
                )
            )
            pct = rng.choice(("0% -> 100%", "10% -> 100%", "off -> on"))
            summary = f"Feature flag {flag} on {r}: {pct}"
            self.err_extra[r] = [err_peak * x for x in rise]
            self.lat_extra[r] = [(lat_mult - 1) * 0.3 * self.lat0[r] * x for x in rise]
            self.root_logs.append((self.onset, "flag", flag))
        else:  # loglevel
            summary = f"ConfigMap {r}-config: LOG_LEVEL info -> debug"
            self.lat_extra[r] = [(lat_mult - 1) * self.lat0[r] * x for x in rise]
            self.err_extra[r] = [err_peak * 0.2 * x for x in rise]
            self.cpu_mult[r] = [
                1.0 + self.mag_pick(((0.4, 0.8), (0.8, 1.5), (1.5, 2.5))) * x for x in rise
            ]
            self.root_logs.append((self.onset, "debug", ""))
        cid = self.add_change(kind, r, ch_ts, summary)
        self.truth_change = cid
        self.change_ts = ch_ts
        if rng.random() < 0.6:
            self.root_logs.append((self.idx(ch_ts), "reload", str(ch_ts)))
        self.err_code[r] = "500"
        self.propagate(r, self.lat_extra[r], self.err_extra[r], "http_5xx")

    def _kind_resource_saturation(self) -> None:
        rng = self.rng
        r = self.root
        stack = self.svc[r].stack
        variant = (
            "memory" if (stack == "spring" and rng.random() < 0.65) or rng.random() < 0.2 else "cpu"
        )
        pre = self.pre_ramp_min * 60 // self.step
        start = max(1, self.onset - pre)
        n = self.n
        if variant == "cpu":
            self.need("cpu", "throttle")
            # demand grows until the container is pinned at its limit
            demand_peak = self.mag_pick(((0.75, 0.88), (0.92, 1.15), (1.3, 2.5)))
            util0 = (
                self.cpu_cost[r]
                * sum(self.base_rps[r])
                / n
                / (self.cpu_limit[r] * self.replicas[r])
            )
            need_mult = demand_peak / max(util0, 0.05)
            shape = self.ramp(self.onset, rng.randint(2, 4))
            self.cpu_mult[r] = [1.0 + (need_mult - 1.0) * x for x in shape]
            err = self.mag_pick(((0.0, 0.01), (0.01, 0.04), (0.05, 0.2)))
            self.err_extra[r] = [err * max(0.0, x - 0.7) / 0.3 for x in shape]
            self.root_logs.append((self.onset, "cpu", ""))
        else:
            self.need("memory")
            if stack == "spring":
                self.fam["jvm"] = True
                self.required.add("jvm")
            lim = self.mem_limit[r]
            peak = self.mag_pick(((0.9, 0.93), (0.93, 0.96), (0.96, 0.985))) * lim
            m0 = self.mem0[r]
            grow = self.ramp(start, pre + 2)
            self.mem_t[r] = [m0 + (peak - m0) * x for x in grow]
            gc = self.ramp(self.onset, rng.randint(2, 4))
            lat_mult = self.mag_pick(((1.6, 2.3), (2.5, 4.5), (5.0, 12.0)))
            self.lat_extra[r] = [(lat_mult - 1.0) * self.lat0[r] * x for x in gc]
            self.cpu_mult[r] = [
                1.0 + self.mag_pick(((0.3, 0.5), (0.5, 0.9), (0.9, 1.6))) * x for x in gc
            ]
            err = self.mag_pick(((0.0, 0.01), (0.01, 0.04), (0.05, 0.15)))
            self.err_extra[r] = [err * x for x in gc]
            self.root_logs.append((self.onset, "gc", ""))
        self.err_code[r] = "503"
        if self.events_on and rng.random() < 0.5:
            pod = self.pods[r][0]
            probe = "/actuator/health/readiness" if stack == "spring" else "/healthz"
            cnt = rng.randint(3, 14)
            self.event(
                self.onset_ts + rng.randint(180, 900),
                r,
                "Unhealthy",
                "Warning",
                f'Readiness probe failed: Get "http://{pod.ip}:{self.svc[r].port}{probe}": '
                "context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
                f"pod/{pod.name}",
                cnt,
                query=self.kubectl(f"pod/{pod.name}"),
                first_timestamp=rfc3339(self.onset_ts + rng.randint(60, 170)),
                container=r,
            )
        self.latency_from_util = True

    def _kind_dependency_failure(self) -> None:
        rng = self.rng
        d = self.root
        tech = self.svc[d].stack
        external = self.svc[d].role == "external"
        variant = (
            ("refused", "timeout")[self.spec.index % 2]
            if not external
            else ("timeout", "http_5xx")[self.spec.index % 2]
        )
        self.dep_signal = rng.choice(("probe", "exporter", "both")) if not external else "probe"
        if self.dep_signal in ("probe", "both"):
            self.need("probes")
        if self.dep_signal in ("exporter", "both"):
            self.need("store_exporter")
        fall = self.ramp(self.onset, 1)
        self.store_down[d] = fall
        if variant == "timeout":
            self.store_slow[d] = fall
        if variant == "http_5xx":
            self.probe_http_code[d] = 503
        intensity = self.mag_pick(((0.15, 0.35), (0.5, 0.8), (0.9, 1.0)))
        if tech == "redis":
            intensity = min(1.0, intensity * 1.5)
        verr = [intensity * x for x in fall]
        timeout_s = rng.choice((1.0, 2.0, 5.0, 10.0))
        if variant == "refused":
            vlat = [0.05 * x for x in fall]
        else:
            vlat = [timeout_s * 0.8 * min(1.0, intensity * 2) * x for x in fall]
        self.propagate(d, vlat, verr, variant)
        self.notes.append(f"{tech}:{variant}")

    def _kind_traffic_surge(self) -> None:
        rng = self.rng
        k = self.mag_pick(((3.0, 4.0), (4.0, 6.0), (6.0, 8.0)))
        rise = self.ramp(self.onset, rng.randint(1, 3))
        decay = rng.uniform(0.0, 0.25)
        n = self.n
        surge = [
            1.0 + (k - 1.0) * rise[i] * (1 - decay * max(0, i - self.onset) / n) for i in range(n)
        ]
        damp = {edge: rng.uniform(0.6, 1.0) for edge in self.fanout}
        self.surge_mult = surge
        self.surge_damp = damp
        self.need("cpu")
        self.latency_from_util = True
        self.hpa = rng.random() < 0.55
        self.rate_limit = rng.random() < 0.5
        if self.rate_limit:
            self.rl_cap = rng.uniform(1.8, 2.8)
        self.notes.append(f"x{k:.1f}")

    def _kind_crash_loop(self) -> None:
        rng = self.rng
        r = self.root
        stack = self.svc[r].stack
        cause = rng.choice(
            ("oom", "error", "error", "panic") if stack == "go" else ("oom", "error", "error")
        )
        signal = rng.choice(("metrics", "events", "both", "both"))
        if signal in ("metrics", "both"):
            self.need("restarts")
            if rng.random() < 0.4:
                self.need("replicas")
        if signal in ("events", "both"):
            self.events_on = True
        self.crash_events = signal in ("events", "both")
        self.crash_waiting = signal in ("metrics", "both") and rng.random() < 0.6
        if cause == "oom":
            self.need("memory")
        pods = self.pods[r]
        n_crash = len(pods) if self.ms >= 1 else max(1, len(pods) // 2)
        if self.ms == 2:
            n_crash = len(pods)
        crashing = pods[:n_crash]
        self.crashing = [p.name for p in crashing]
        exit_code = {"oom": 137, "error": 1, "panic": 2}[cause]
        avail = [float(len(pods))] * self.n
        mem_curve = [self.mem0[r] * (1 + 0.01 * math.sin(i / 3)) for i in range(self.n)]
        for pi, pod in enumerate(crashing):
            t = self.onset_ts + rng.randint(0, self.step) + pi * rng.randint(2, 20)
            backoff = 10
            restarts: list[int] = []
            waits: list[tuple[int, int]] = []
            run = rng.randint(20, 90) if cause == "oom" else rng.randint(3, 15)
            while t < self.end:
                restarts.append(t)
                wait_end = t + backoff
                waits.append((t, wait_end))
                up_at = wait_end
                t = up_at + run
                backoff = min(300, backoff * 2)
            for ts in restarts:
                self.restarts[r].append(ts)
            for a, b in waits:
                self.waiting.setdefault(pod.name, []).append((a, b, r))
            # pod not ready from the first crash on (it never passes readiness for long)
            first = self.idx(restarts[0]) if restarts else self.n
            for i in range(first, self.n):
                avail[i] -= 1.0
            if cause == "oom" and pi == 0:
                lim = self.mem_limit[r]
                for i in range(max(0, first - 3), self.n):
                    ti = self.times[i]
                    last = max([s for s in restarts if s <= ti], default=None)
                    if last is None:
                        frac = (i - (first - 3)) / 3
                        mem_curve[i] = self.mem0[r] + (lim * 0.99 - self.mem0[r]) * clamp(
                            frac, 0, 1
                        )
                    else:
                        since = ti - last
                        frac = clamp(since / max(run + 1, 1), 0, 1)
                        mem_curve[i] = lim * (0.25 + 0.74 * frac) if since > 10 else 0.0
            self.pod_restarts = restarts
            if self.crash_events:
                self._crash_events(pod, restarts, exit_code, cause)
        self.restarts[r].sort()
        self.available_t[r] = avail
        self.mem_t[r] = mem_curve
        reps = float(len(pods))
        unavailable = [clamp(1.0 - a / reps, 0.0, 1.0) for a in avail]
        serving = [1.0 if a >= 1 else 0.02 for a in avail]  # survivors take the load
        self.rps_mult[r] = serving
        vis_err = []
        for i in range(self.n):
            u = unavailable[i]
            vis_err.append(0.98 if u >= 0.999 else u * rng.uniform(0.05, 0.25))
        # the crashed pods' request counters go back to zero
        first_idx = self.idx(self.onset_ts) + 1
        self.resets[r].append((min(self.n - 1, first_idx), 1.0 - n_crash / reps * 0.9))
        self.err_extra[r] = [min(0.4, x * 0.3) for x in vis_err]
        self.err_code[r] = "503"
        failure = "refused" if rng.random() < 0.6 else "unavailable"
        self.propagate(r, [0.02 * x for x in unavailable], vis_err, failure)
        self.latency_from_util = True
        self.root_logs.append((self.onset, "crash", cause))

    def _crash_events(self, pod: Pod, restarts: list[int], exit_code: int, cause: str) -> None:
        rng = self.rng
        r = self.root
        q = self.kubectl(f"pod/{pod.name}")
        if len(restarts) >= 2:
            self.event(
                restarts[-1] + 5,
                r,
                "BackOff",
                "Warning",
                f"Back-off restarting failed container {r} in pod "
                f"{pod.name}_{self.ns}({hexid(rng, 8)}-{hexid(rng, 4)}-{hexid(rng, 4)}-"
                f"{hexid(rng, 4)}-{hexid(rng, 12)})",
                f"pod/{pod.name}",
                len(restarts) + rng.randint(0, 3),
                query=q,
                first_timestamp=rfc3339(restarts[1]),
                container=r,
                node=pod.node,
            )
        reason = "OOMKilled" if cause == "oom" else "Error"
        msg = (
            f"Container {r} in pod {pod.name} exceeded its memory limit "
            f"({self.mem_limit[r] // MI}Mi) and was killed"
            if cause == "oom"
            else f"Container {r} terminated with exit code {exit_code}"
        )
        self.event(
            restarts[-1] if restarts else self.onset_ts,
            r,
            reason,
            "Warning",
            msg,
            f"pod/{pod.name}",
            len(restarts),
            query=q,
            first_timestamp=rfc3339(restarts[0]) if restarts else rfc3339(self.onset_ts),
            exit_code=exit_code,
            container=r,
            restart_count=len(restarts),
        )
        if rng.random() < 0.5:
            self.event(
                restarts[-1] + 1 if restarts else self.onset_ts,
                r,
                "Pulled",
                "Normal",
                "Container image "
                f'"registry.{self.ns}.example/{r}:{".".join(str(x) for x in self.version[r])}" '
                "already present on machine",
                f"pod/{pod.name}",
                len(restarts) + 1,
                query=q,
                first_timestamp=rfc3339(self.start - rng.randint(3600, 86400)),
            )

    def _kind_certificate_expiry(self) -> None:
        rng = self.rng
        r = self.root
        external = self.svc[r].role == "external"
        expiry = self.onset_ts - rng.randint(0, self.step - 1)
        variants = (
            "probe",
            "tls_cert_seconds_remaining",
            "certmanager",
            "ssl_certificate_days_remaining",
            "probe",
            "tls_cert_seconds_remaining",
        )
        variant = "probe" if external else variants[self.spec.index % len(variants)]
        self.cert = {"expiry": expiry, "variant": variant, "verify_probe": rng.random() < 0.6}
        if variant == "probe":
            self.need("ssl_probe")
        fall = self.ramp(self.onset, 1)
        verr = [0.99 * x for x in fall]
        if not external:
            keep = rng.uniform(0.03, 0.2)  # plain-HTTP health checks still arrive
            self.rps_mult[r] = [1.0 - (1.0 - keep) * x for x in fall]
        intensity = self.mag_pick(((0.25, 0.45), (0.5, 0.8), (0.85, 1.0)))
        verr = [intensity * v for v in verr]
        self.propagate(r, [0.01 * x for x in fall], verr, "tls")
        if not external and rng.random() < 0.6:
            self.root_logs.append((self.onset, "tls_server", ""))

    def _kind_network(self) -> None:
        rng = self.rng
        r = self.root
        self.need("client", "retrans")
        extra = self.mag_pick(((0.12, 0.3), (0.4, 1.2), (1.5, 5.0)))
        rise = self.ramp(self.onset, rng.randint(1, 2))
        jitter = [x * lognoise(rng, 0.25) for x in rise]
        vlat = [extra * x for x in jitter]
        err = self.mag_pick(((0.005, 0.02), (0.03, 0.1), (0.12, 0.35)))
        verr = [err * x for x in jitter]
        for c in self.app_callers(r):
            self.client_extra[(c, r)] = vlat
        bad_node = self.pods[r][0].node
        for p in self.pods[r]:
            p.node = bad_node
        retr = self.mag_pick(((8.0, 25.0), (30.0, 90.0), (100.0, 400.0)))
        self.retrans_extra[bad_node] = [retr * x for x in jitter]
        self.rps_mult[r] = [1.0 + rng.uniform(0.03, 0.15) * x for x in rise]  # client retries
        self.propagate(r, vlat, verr, "timeout")
        if rng.random() < 0.5:
            self.root_logs.append((self.onset, "brokenpipe", ""))

    def _kind_unknown(self) -> None:
        return

    # ------------------------------------------------------------------ distractors

    def _distractors(self) -> None:
        rng = self.rng
        others = [s for s in self.apps if s != self.root]
        self.second_alert = rng.random() < 0.5
        # an innocent deploy of another service before onset
        if others and rng.random() < 0.6:
            s = rng.choice(others)
            if rng.random() < 0.7:
                lead = rng.randint(10, 40) * 60
                ts = self.onset_ts - lead
                at = self.idx(ts)
                if at >= 2:
                    ver, prev = self.bump_version(s)
                    self.add_change("deploy", s, ts, f"Deploy {s} {ver}", ver, prev)
                    self.rollout(s, at, rng.uniform(0.1, 0.6))
            else:
                ts = self.start - rng.randint(3, 50) * 3600
                ver, prev = self.bump_version(s)
                self.add_change("deploy", s, ts, f"Deploy {s} {ver}", ver, prev)
        # older changes, days before the page
        for _ in range(rng.randint(0, 3)):
            s = rng.choice(self.apps)
            ts = self.start - rng.randint(1, 6) * 86400 - rng.randint(0, 80000)
            kind = rng.choice(("deploy", "config", "flag", "infra", "scale"))
            if kind == "deploy":
                ver, prev = self.bump_version(s)
                self.add_change(kind, s, ts, f"Deploy {s} {ver}", ver, prev)
            elif kind == "config":
                self.add_change(kind, s, ts, f"ConfigMap {s}-config: CACHE_TTL_SECONDS 300 -> 600")
            elif kind == "flag":
                self.add_change(kind, s, ts, f"Feature flag dark-mode-banner on {s}: 0% -> 25%")
            elif kind == "infra":
                self.add_change(
                    kind,
                    s,
                    ts,
                    f"Node pool {self.g.cluster}-apps: upgrade to 1.30.{rng.randint(2, 9)}",
                )
            else:
                self.add_change(kind, s, ts, f"HPA {s}: maxReplicas 6 -> 8")
        # an unrelated change inside the window but after the page (someone else's work)
        if others and rng.random() < 0.2:
            s = rng.choice(others)
            ts = min(self.end - 120, self.onset_ts + rng.randint(10, 20) * 60)
            self.add_change("flag", s, ts, f"Feature flag holiday-theme on {s}: off -> on")
        # unrelated restart, well before onset
        if others and rng.random() < 0.3:
            s = rng.choice(others)
            ts = self.start + rng.randint(3, 25) * 60
            self.restarts[s].append(ts)
            self.resets[s].append((self.idx(ts) + 1, 1.0 - 1.0 / self.replicas[s]))
            if self.events_on:
                pod = self.pods[s][-1]
                self.event(
                    ts,
                    s,
                    "Killing",
                    "Normal",
                    f"Stopping container {s}",
                    f"pod/{pod.name}",
                    1,
                    query=self.kubectl(f"pod/{pod.name}"),
                )
        # a cron job that keeps failing, unrelated
        if self.events_on and rng.random() < 0.2:
            job = rng.choice(("nightly-reconcile", "report-export", "db-vacuum-helper"))
            job_pod = f"{job}-{rng.randint(28000000, 29999999)}-{k8s_suffix(rng, 5)}"
            self.event(
                self.start + rng.randint(5, 25) * 60,
                job,
                "BackOff",
                "Warning",
                f"Back-off restarting failed container {job} in pod {job_pod}",
                f"pod/{job_pod}",
                rng.randint(3, 9),
                query=self.kubectl(f"pod/{job_pod}"),
                first_timestamp=rfc3339(self.start - rng.randint(600, 7200)),
            )

    # ------------------------------------------------------------------ final signals

    def _finalize_signals(self) -> None:
        rng = self.rng
        n = self.n
        # request rates
        if self.kind == "traffic_surge":
            base_entry = self.entry_shape
            surge = self.surge_mult
            self.rps = self._rps_from(lambda i: base_entry[i] * surge[i], self.surge_damp)
        else:
            self.rps = {s: list(v) for s, v in self.base_rps.items()}
        for s in self.apps:
            self.rps[s] = [self.rps[s][i] * self.rps_mult[s][i] for i in range(n)]
        # autoscaling
        if self.kind == "traffic_surge" and self.hpa:
            for s in [self.root] + [d for d in self.descendants(self.root) if d in self.apps][:2]:
                reps0 = self.replicas[s]
                max_reps = reps0 * rng.choice((2, 3))
                delay = rng.randint(2, 4) * 60 // self.step
                cur = float(reps0)
                last_size = reps0
                for i in range(n):
                    if i >= self.onset + delay:
                        want = self.cpu_cost[s] * self.rps[s][i] / (self.cpu_limit[s] * 0.6)
                        cur = min(float(max_reps), max(cur, math.ceil(want)))
                    self.replicas_t[s][i] = cur
                    self.available_t[s][i] = (
                        cur if i == 0 else min(cur, self.available_t[s][i - 1] + 1)
                    )
                    if int(cur) != last_size and self.events_on:
                        ts = self.times[i] - rng.randint(0, self.step - 1)
                        self.event(
                            ts,
                            s,
                            "SuccessfulRescale",
                            "Normal",
                            f"New size: {int(cur)}; reason: cpu resource utilization (percentage "
                            "of request) above target",
                            f"horizontalpodautoscaler/{s}",
                            1,
                            query=self.kubectl(f"horizontalpodautoscaler/{s}"),
                        )
                        self.event(
                            ts + 1,
                            s,
                            "ScalingReplicaSet",
                            "Normal",
                            f"Scaled up replica set {s}-{self.rs_hash[s]} to {int(cur)}",
                            f"deployment/{s}",
                            1,
                            query=self.kubectl(f"deployment/{s}"),
                        )
                        last_size = int(cur)
        # utilisation, cpu, latency
        self.util: dict[str, list[float]] = {}
        self.cores: dict[str, list[float]] = {}
        self.throttle: dict[str, list[float]] = {}
        self.lat: dict[str, list[float]] = {}
        self.err: dict[str, list[float]] = {}
        from_util = self.latency_from_util
        util_extra: dict[str, list[float]] = {}
        for s in self.apps:
            u_list, c_list, t_list, lx = [], [], [], []
            for i in range(n):
                reps = (
                    max(self.available_t[s][i], 0.5)
                    if self.kind == "crash_loop"
                    else self.replicas_t[s][i]
                )
                cap = self.cpu_limit[s] * reps
                demand = self.cpu_cost[s] * self.rps[s][i] * self.cpu_mult[s][i]
                base_demand = self.cpu_cost[s] * self.base_rps[s][i]
                u = demand / cap
                u0 = base_demand / (self.cpu_limit[s] * self.replicas[s])
                u_list.append(u)
                c_list.append(min(demand, cap * 0.995) * lognoise(rng, self.noise * 0.5))
                thr = clamp((u - 0.55) / 0.45, 0.0, 1.0) ** 1.6 * 0.95
                t_list.append(thr + rng.uniform(0.0, 0.02))
                if from_util:
                    q = (1.0 - min(u, 0.97)) ** -0.6
                    q0 = (1.0 - min(u0, 0.97)) ** -0.6
                    lx.append(max(0.0, self.lat0[s] * (q / q0 - 1.0)))
                else:
                    lx.append(0.0)
            self.util[s] = u_list
            self.cores[s] = c_list
            self.throttle[s] = t_list
            util_extra[s] = lx
        if from_util:
            # saturation delays flow up to the callers
            for s in reversed(self.order):
                if s not in self.apps:
                    continue
                own = list(util_extra[s])
                for d in self.deps[s]:
                    if d in util_extra:
                        a = rng.uniform(0.4, 0.8)
                        lag = rng.choice((0, 1))
                        own = emax(own, [a * v for v in shift(util_extra[d], lag)])
                util_extra[s] = own
            for s in self.apps:
                self.lat_extra[s] = [
                    a + b for a, b in zip(self.lat_extra[s], util_extra[s], strict=True)
                ]
                if self.kind in ("traffic_surge", "resource_saturation"):
                    over = [clamp((u - 0.95) * 1.5, 0.0, 0.25) for u in self.util[s]]
                    self.err_extra[s] = emax(self.err_extra[s], over)
                    if max(over) > 0 and s not in self.err_code:
                        self.err_code[s] = "503"
            if self.kind == "resource_saturation":
                r = self.root
                self.propagate(
                    r,
                    self.lat_extra[r],
                    self.err_extra[r],
                    "timeout" if max(self.err_extra[r]) < 0.02 else "http_5xx",
                )
        for s in self.apps:
            lat, err = [], []
            for i in range(n):
                extra = self.lat_extra[s][i]
                lat.append(
                    self.base_lat[s][i] + (extra * lognoise(rng, 0.12) if extra > 0 else 0.0)
                )
                ex = self.err_extra[s][i]
                err.append(
                    min(0.99, self.base_err[s][i] + (ex * lognoise(rng, 0.15) if ex > 0 else 0.0))
                )
            self.lat[s] = lat
            self.err[s] = err
        # counts per step (for counters and derived ratios)
        self.cnt_ok: dict[str, list[int]] = {}
        self.cnt_err: dict[str, list[int]] = {}
        self.cnt_inc: dict[str, list[int]] = {}
        self.cnt_429: dict[str, list[int]] = {}
        for s in self.apps:
            ok, be, ie, rl = [], [], [], []
            for i in range(n):
                tot = poisson(rng, self.rps[s][i] * self.step)
                limited = 0
                if self.kind == "traffic_surge" and s == self.root and self.rate_limit:
                    base = self.base_rps[s][i] * self.rl_cap
                    if self.rps[s][i] > base:
                        limited = int(tot * (1 - base / self.rps[s][i]))
                served = tot - limited
                e_base = min(served, poisson(rng, served * self.base_err[s][i]))
                e_inc = min(
                    served - e_base,
                    poisson(rng, served * max(0.0, self.err[s][i] - self.base_err[s][i])),
                )
                ok.append(served - e_base - e_inc)
                be.append(e_base)
                ie.append(e_inc)
                rl.append(limited)
            self.cnt_ok[s] = ok
            self.cnt_err[s] = be
            self.cnt_inc[s] = ie
            self.cnt_429[s] = rl
        # memory
        for s in self.apps:
            if s in self.mem_t:
                cap = self.mem_limit[s] * 0.997  # the kernel never lets it past the limit
                self.mem_t[s] = [
                    min(cap, m * lognoise(rng, 0.01)) if m > 0 else 0.0 for m in self.mem_t[s]
                ]
                continue
            m0 = self.mem0[s]
            saw = self.svc[s].stack == "spring"
            vals = []
            for i in range(n):
                v = m0 * (1 + 0.03 * math.sin(i / 5.0 + len(s))) * lognoise(rng, 0.012)
                if saw:
                    v *= 1 + 0.05 * ((i % 9) / 9.0)
                vals.append(v)
            self.mem_t[s] = vals

    def _pick_paged(self) -> None:
        rng = self.rng
        r = self.root
        if self.kind == "unknown":
            self.paged = r  # the alerting service; nothing in the data explains the page
            return
        direct = [c for c in self.app_callers(r) if max(self.err_extra[c] + self.lat_extra[c]) > 0]
        root_has_symptom = r in self.apps and (
            max(self.err_extra[r]) > 0.01
            or max(self.lat_extra[r]) > 0.02
            or self.kind == "crash_loop"
        )
        if self.kind == "traffic_surge":
            downstream = [
                d for d in self.descendants(r) if d in self.apps and max(self.lat_extra[d]) > 0.05
            ]
            self.paged = rng.choice(downstream) if downstream and rng.random() < 0.3 else r
            return
        if self.kind == "network" or not root_has_symptom:
            self.paged = rng.choice(direct) if direct else r
            return
        if direct and rng.random() < 0.75:
            self.paged = rng.choice(direct)
        else:
            self.paged = r

    # ------------------------------------------------------------------ rendering: metrics

    def base_labels(self, s: str) -> dict[str, str]:
        return {self.label: s, "namespace": self.ns}

    def counter(
        self, incs: Sequence[float], start: float, resets: Sequence[tuple[int, float]]
    ) -> list[float]:
        """A cumulative counter: monotonic, except at the given (step, kept fraction) resets."""
        out: list[float] = []
        c = start
        rs = dict(resets)
        for i, inc in enumerate(incs):
            if i in rs:
                c = c * rs[i]
            c += max(0.0, inc)
            out.append(c)
        return out

    def _mf(
        self, files: list[MetricFile], stem: str, name: str, query: str, family: str
    ) -> MetricFile:
        for f in files:
            if f.stem == stem:
                return f
        mf = MetricFile(stem, name, query, family, family in self.required or family == "http")
        files.append(mf)
        return mf

    def _named(self, name: str, labels: dict[str, str], raw: bool = False) -> dict[str, str]:
        if raw or self.with_names:
            return {"__name__": name, **labels}
        return labels

    def _sel(self, extra: str = "") -> str:
        base = f'namespace="{self.ns}"'
        return "{" + base + (("," + extra) if extra else "") + "}"

    def render_metrics(self) -> list[MetricFile]:
        rng = self.rng
        files: list[MetricFile] = []
        L = self.label
        n = self.n
        for s in self.apps:
            mode = self.mode[s]
            bl = self.base_labels(s)
            ok = self.cnt_ok[s]
            be = self.cnt_err[s]
            ie = self.cnt_inc[s]
            code = self.err_code.get(s, "500")
            start_tot = rng.uniform(2e5, 4e7)
            start_err = start_tot * rng.uniform(0.0008, 0.004)
            resets = self.resets[s]
            lat = self.lat[s]
            q = self.lat_quantile
            if mode in ("otel", "spring", "grpc", "flask", "istio"):
                spec = {
                    "otel": ("http_server_requests_total", "http_response_status_code", "200", {}),
                    "spring": (
                        "http_server_requests_seconds_count",
                        "status",
                        "200",
                        {"outcome": "SUCCESS"},
                    ),
                    "grpc": (
                        "grpc_server_handled_total",
                        "grpc_code",
                        "OK",
                        {"grpc_service": f"{self.ns}.v1.{camel(s)}", "grpc_type": "unary"},
                    ),
                    "flask": ("flask_http_request_total", "status", "200", {"method": "GET"}),
                    "istio": (
                        "istio_requests_total",
                        "response_code",
                        "200",
                        {
                            "reporter": "destination",
                            "destination_service_name": s,
                            "destination_workload": s,
                        },
                    ),
                }[mode]
                name, clabel, okc, extra_l = spec
                group = ", ".join([L, clabel, *extra_l.keys()])
                mf = self._mf(files, name, name, f"sum by ({group}) ({name}{self._sel()})", "http")
                errc = {"grpc": "Internal", "spring": "500"}.get(mode, "500")
                inc_code = code
                if mode == "grpc":
                    inc_code = {
                        "503": "Unavailable",
                        "504": "DeadlineExceeded",
                        "502": "Unavailable",
                    }.get(code, "Internal")
                elif mode == "spring" and code == "504":
                    inc_code = "504"
                err_l = dict(extra_l)
                if mode == "spring":
                    err_l = {"outcome": "SERVER_ERROR"}
                mf.series.append(
                    Series(
                        self._named(name, {**bl, **extra_l, clabel: okc}),
                        list(self.counter(ok, start_tot, resets)),
                        integer=True,
                    )
                )
                if inc_code == errc:
                    merged = [a + b for a, b in zip(be, ie, strict=True)]
                    mf.series.append(
                        Series(
                            self._named(name, {**bl, **err_l, clabel: errc}),
                            list(self.counter(merged, start_err, resets)),
                            integer=True,
                        )
                    )
                else:
                    mf.series.append(
                        Series(
                            self._named(name, {**bl, **err_l, clabel: errc}),
                            list(self.counter(be, start_err, resets)),
                            integer=True,
                        )
                    )
                    first = next((i for i, v in enumerate(ie) if v > 0), None)
                    if first is not None:
                        vals: list[float | None] = [None] * first + list(
                            self.counter(
                                ie[first:], 0.0, [(i - first, k) for i, k in resets if i >= first]
                            )
                        )
                        mf.series.append(
                            Series(
                                self._named(name, {**bl, **err_l, clabel: inc_code}),
                                vals,
                                integer=True,
                            )
                        )
                rl = self.cnt_429[s]
                if any(rl):
                    first = next(i for i, v in enumerate(rl) if v > 0)
                    rl_code = "ResourceExhausted" if mode == "grpc" else "429"
                    vals = [None] * first + list(self.counter(rl[first:], 0.0, []))
                    lab = dict(extra_l)
                    if mode == "spring":
                        lab = {"outcome": "CLIENT_ERROR"}
                    mf.series.append(
                        Series(
                            self._named(name, {**bl, **lab, clabel: rl_code}), vals, integer=True
                        )
                    )
                # latency
                if mode == "spring":
                    nm = "http_server_requests_seconds_max"
                    mf2 = self._mf(files, nm, nm, f"max by ({L}) ({nm}{self._sel()})", "http")
                    mx = [v * rng.uniform(1.2, 2.6) for v in lat]
                    mf2.series.append(Series(self._named(nm, dict(bl)), list(mx)))
                elif mode == "istio":
                    stem = f"istio_request_duration_milliseconds_p{q[2:]}"
                    mf2 = self._mf(
                        files,
                        stem,
                        stem,
                        f"histogram_quantile({q}, sum by ({L}, destination_service_name, le) "
                        f'(rate(istio_request_duration_milliseconds_bucket{{namespace="{self.ns}",'
                        'reporter="destination"}[5m])))',
                        "http",
                    )
                    mf2.series.append(
                        Series(
                            {**bl, "destination_service_name": s, "reporter": "destination"},
                            [v * 1000 for v in lat],
                        )
                    )
                elif mode == "grpc":
                    stem = f"grpc_server_handling_seconds_p{q[2:]}"
                    mf2 = self._mf(
                        files,
                        stem,
                        stem,
                        f"histogram_quantile({q}, sum by ({L}, le) "
                        f"(rate(grpc_server_handling_seconds_bucket{self._sel()}[5m])))",
                        "http",
                    )
                    mf2.series.append(Series(dict(bl), list(lat)))
                elif mode == "flask":
                    stem = f"flask_http_request_duration_seconds_p{q[2:]}"
                    mf2 = self._mf(
                        files,
                        stem,
                        stem,
                        f"histogram_quantile({q}, sum by ({L}, le) "
                        f"(rate(flask_http_request_duration_seconds_bucket{self._sel()}[5m])))",
                        "http",
                    )
                    mf2.series.append(Series(dict(bl), list(lat)))
                else:
                    nm = "http_server_request_duration_seconds"
                    if self.lat_precomputed:
                        stem = f"{nm}_p{q[2:]}"
                        mf2 = self._mf(
                            files,
                            stem,
                            stem,
                            f"histogram_quantile({q}, sum by ({L}, le) "
                            f"(rate({nm}_bucket{self._sel()}[5m])))",
                            "http",
                        )
                        mf2.series.append(Series(dict(bl), list(lat)))
                    else:
                        qsel = self._sel(f'quantile="{q}"')
                        mf2 = self._mf(files, nm, nm, f"{nm}{qsel}", "http")
                        mf2.series.append(Series({"__name__": nm, **bl, "quantile": q}, list(lat)))
            else:  # ratio: recording rules
                w = max(1, 300 // self.step)
                rl = self.cnt_429[s]
                tot = [ok[i] + be[i] + ie[i] + rl[i] for i in range(n)]
                errs = [be[i] + ie[i] for i in range(n)]
                rate, ratio = [], []
                for i in range(n):
                    lo = max(0, i - w + 1)
                    t_sum = sum(tot[lo : i + 1])
                    e_sum = sum(errs[lo : i + 1])
                    span = (i - lo + 1) * self.step
                    rate.append(t_sum / span)
                    ratio.append(e_sum / t_sum if t_sum else 0.0)
                nm_rate = f"{L}:http_server_requests:rate5m"
                nm_err = f"{L}:http_server_requests:error_ratio_rate5m"
                nm_lat = f"{L}:http_server_request_duration_seconds:p{q[2:]}"
                for nm, vals_f, sig in ((nm_rate, rate, 4), (nm_err, ratio, 3), (nm_lat, lat, 4)):
                    stem = nm.split(":", 1)[1].replace(":", "_")
                    mf = self._mf(files, stem, nm, f"{nm}{self._sel()}", "http")
                    mf.series.append(Series({"__name__": nm, **bl}, list(vals_f), sig=sig))
        self._render_runtime(files)
        self._render_client(files)
        self._render_k8s(files)
        self._render_node(files)
        self._render_probes(files)
        self._render_stores(files)
        return files

    def _render_runtime(self, files: list[MetricFile]) -> None:
        rng = self.rng
        L = self.label
        for s in self.apps:
            bl = self.base_labels(s)
            stack = self.svc[s].stack
            if stack == "spring" and self.fam["jvm"] and self.mode[s] != "otel":
                nm = "jvm_memory_used_bytes"
                mf = self._mf(files, nm, nm, f"sum by ({L}) ({nm}{self._sel(HEAP_AREA)})", "jvm")
                heap_max = self.mem_limit[s] * 0.75
                vals = []
                for i in range(self.n):
                    frac = self.mem_t[s][i] / self.mem_limit[s]
                    if frac <= 0:
                        vals.append(heap_max * 0.05)
                        continue
                    saw = 0.55 + 0.3 * ((i * 7 + len(s)) % 11) / 11.0
                    hv = heap_max * min(0.995, frac / 0.62 * saw * 0.8)
                    vals.append(hv)
                mf.series.append(
                    Series(self._named(nm, {**bl, "area": "heap"}), vals, integer=True)
                )
            has_pg = any(self.svc[d].stack == "postgres" for d in self.deps[s])
            if stack == "spring" and has_pg and self.fam["hikari"] and self.mode[s] != "otel":
                nm = "hikaricp_connections_pending"
                mf = self._mf(files, nm, nm, f"{nm}{self._sel()}", "hikari")
                vals = []
                for i in range(self.n):
                    base = 1.0 if rng.random() < 0.06 else 0.0
                    ex = self.lat_extra[s][i] / max(self.lat0[s], 0.01)
                    pend = base + (min(60.0, ex * rng.uniform(2.0, 5.0)) if ex > 0.3 else 0.0)
                    vals.append(float(int(pend)))
                mf.series.append(
                    Series(
                        self._named(nm, {**bl, "pool": "HikariPool-1"}, raw=True),
                        vals,
                        integer=True,
                    )
                )
            if stack == "go" and self.fam["goroutines"]:
                nm = "go_goroutines"
                mf = self._mf(files, nm, nm, f"sum by ({L}) ({nm}{self._sel()})", "goroutines")
                g0 = rng.uniform(40, 200) * self.replicas[s]
                vals = [
                    g0 + self.rps[s][i] * self.lat[s][i] * 0.5 * lognoise(rng, 0.05)
                    for i in range(self.n)
                ]
                mf.series.append(Series(self._named(nm, dict(bl)), vals, integer=True))

    def _render_client(self, files: list[MetricFile]) -> None:
        if not self.fam["client"]:
            return
        rng = self.rng
        L = self.label
        q = self.lat_quantile
        for c in self.apps:
            for x in self.deps[c]:
                if x not in self.apps:
                    continue
                vals = []
                extra = self.client_extra.get((c, x))
                for i in range(self.n):
                    v = self.lat[x][i] * rng.uniform(1.02, 1.15) + rng.uniform(0.001, 0.004)
                    if extra is not None:
                        v += extra[i] * lognoise(rng, 0.15)
                    vals.append(v)
                mode = self.mode[c]
                bl = self.base_labels(c)
                if mode == "istio":
                    stem = f"istio_request_duration_milliseconds_source_p{q[2:]}"
                    mf = self._mf(
                        files,
                        stem,
                        stem,
                        f"histogram_quantile({q}, sum by ({L}, destination_service_name, le) "
                        f'(rate(istio_request_duration_milliseconds_bucket{{namespace="{self.ns}",'
                        'reporter="source"}[5m])))',
                        "client",
                    )
                    mf.series.append(
                        Series(
                            {
                                **bl,
                                "destination_service_name": x,
                                "reporter": "source",
                                "source_workload": c,
                            },
                            [v * 1000 for v in vals],
                        )
                    )
                elif mode == "spring":
                    nm = "http_client_requests_seconds_max"
                    mf = self._mf(
                        files, nm, nm, f"max by ({L}, client_name) ({nm}{self._sel()})", "client"
                    )
                    mf.series.append(
                        Series(
                            self._named(nm, {**bl, "client_name": x}),
                            [v * rng.uniform(1.1, 2.0) for v in vals],
                        )
                    )
                elif mode == "ratio":
                    nm = f"{L}:http_client_request_duration_seconds:p{q[2:]}"
                    stem = nm.split(":", 1)[1].replace(":", "_")
                    mf = self._mf(files, stem, nm, f"{nm}{self._sel()}", "client")
                    mf.series.append(Series({"__name__": nm, **bl, "server_address": x}, vals))
                else:
                    stem = f"http_client_request_duration_seconds_p{q[2:]}"
                    mf = self._mf(
                        files,
                        stem,
                        stem,
                        f"histogram_quantile({q}, sum by ({L}, server_address, le) "
                        f"(rate(http_client_request_duration_seconds_bucket{self._sel()}[5m])))",
                        "client",
                    )
                    mf.series.append(Series({**bl, "server_address": x}, vals))

    def _render_k8s(self, files: list[MetricFile]) -> None:
        rng = self.rng
        L = self.label
        n = self.n
        if self.fam["cpu"]:
            nm = "container_cpu_usage_seconds_total"
            mf = self._mf(
                files,
                nm,
                nm,
                f"sum by ({L}, container) ({nm}{self._sel(NONEMPTY_CONTAINER)})",
                "cpu",
            )
            for s in self.apps:
                incs = [self.cores[s][i] * self.step for i in range(n)]
                cnt = self.counter(incs, rng.uniform(2e4, 6e5), self.resets[s])
                mf.series.append(
                    Series(self._named(nm, {**self.base_labels(s), "container": s}), cnt, sig=9)
                )
        if self.fam["throttle"]:
            nm = "container_cpu_cfs_throttled_periods_total"
            mf = self._mf(
                files,
                nm,
                nm,
                f"sum by ({L}, container) ({nm}{self._sel(NONEMPTY_CONTAINER)})",
                "throttle",
            )
            for s in self.apps:
                incs = [
                    self.throttle[s][i] * 10 * self.step * self.replicas_t[s][i] for i in range(n)
                ]
                cnt = self.counter(incs, rng.uniform(1e3, 4e5), self.resets[s])
                mf.series.append(
                    Series(
                        self._named(nm, {**self.base_labels(s), "container": s}), cnt, integer=True
                    )
                )
        if self.fam["memory"]:
            nm = "container_memory_working_set_bytes"
            mf = self._mf(
                files,
                nm,
                nm,
                f"max by ({L}, container) ({nm}{self._sel(NONEMPTY_CONTAINER)})",
                "memory",
            )
            nm2 = "container_spec_memory_limit_bytes"
            mf2 = self._mf(
                files,
                nm2,
                nm2,
                f"max by ({L}, container) ({nm2}{self._sel(NONEMPTY_CONTAINER)})",
                "memory",
            )
            for s in self.apps:
                bl = {**self.base_labels(s), "container": s}
                vals: list[float | None] = [v if v > 0 else None for v in self.mem_t[s]]
                mf.series.append(Series(self._named(nm, bl), vals, integer=True))
                mf2.series.append(
                    Series(self._named(nm2, bl), [float(self.mem_limit[s])] * n, integer=True)
                )
        if self.fam["restarts"]:
            nm = "kube_pod_container_status_restarts_total"
            mf = self._mf(files, nm, nm, f"sum by ({L}, container) ({nm}{self._sel()})", "restarts")
            for s in self.apps:
                base = float(rng.choice((0, 0, 0, 1, 2, 5)))
                incs = [0.0] * n
                for ts in self.restarts[s]:
                    i = self.idx(ts + self.step - 1)
                    if ts < self.end:
                        incs[i] += 1
                mf.series.append(
                    Series(
                        self._named(nm, {**self.base_labels(s), "container": s}),
                        self.counter(incs, base, []),
                        integer=True,
                    )
                )
        if self.kind == "crash_loop" and self.crash_waiting:
            nm = "kube_pod_container_status_waiting_reason"
            mf = self._mf(files, nm, nm, f"{nm}{self._sel(CRASHLOOP_REASON)}", "restarts")
            mf.required = True
            for pod_name, spans in self.waiting.items():
                s = spans[0][2]
                vals2: list[float | None] = []
                for t in self.times:
                    inside = any(a + 10 <= t <= b for a, b, _ in spans) or any(
                        b - a >= 40 and a <= t <= b for a, b, _ in spans
                    )
                    vals2.append(1.0 if inside else None)
                if any(v is not None for v in vals2):
                    mf.series.append(
                        Series(
                            {
                                "__name__": nm,
                                **self.base_labels(s),
                                "container": s,
                                "pod": pod_name,
                                "reason": "CrashLoopBackOff",
                            },
                            vals2,
                            integer=True,
                        )
                    )
        if self.fam["replicas"]:
            nm = "kube_deployment_status_replicas_available"
            mf = self._mf(files, nm, nm, f"{nm}{self._sel()}", "replicas")
            for s in self.apps:
                mf.series.append(
                    Series(
                        self._named(nm, {**self.base_labels(s), "deployment": s}, raw=True),
                        [float(int(v)) for v in self.available_t[s]],
                        integer=True,
                    )
                )

    def _node_labels(self, node: str) -> dict[str, str]:
        return {self.label: "node-exporter", "instance": f"{self.node_ip[node]}:9100", "node": node}

    def _render_node(self, files: list[MetricFile]) -> None:
        rng = self.rng
        n = self.n
        if self.fam["node_cpu"]:
            use_load = rng.random() < 0.4
            chosen = self.nodes[: rng.randint(2, min(3, len(self.nodes)))]
            if use_load:
                nm = "node_load1"
                mf = self._mf(files, nm, nm, f'{nm}{{job="node-exporter"}}', "node_cpu")
            else:
                nm = "node_cpu_seconds_total"
                cpu_mode = rng.choice(("idle", "user"))
                mf = self._mf(
                    files,
                    nm,
                    nm,
                    "sum by (instance, node, mode) "
                    f'({nm}{{job="node-exporter",mode="{cpu_mode}"}})',
                    "node_cpu",
                )
            for nd in chosen:
                cpus = rng.choice((4, 8, 16))
                busy = rng.uniform(0.2, 0.5)
                bursts = [
                    (rng.randint(0, n - 1), rng.randint(2, 6), rng.uniform(0.25, 0.45))
                    for _ in range(rng.randint(2, 5))
                ]
                user = []
                for i in range(n):
                    b = busy * lognoise(rng, 0.15)
                    for at, ln, amp in bursts:
                        if at <= i < at + ln:
                            b += amp
                    user.append(clamp(b, 0.02, 0.98))
                if use_load:
                    mf.series.append(
                        Series(
                            self._named(nm, self._node_labels(nd), raw=True),
                            [u * cpus * rng.uniform(0.9, 1.2) for u in user],
                            sig=3,
                        )
                    )
                else:
                    frac = user if cpu_mode == "user" else [1 - u for u in user]
                    cnt = self.counter(
                        [f * cpus * self.step for f in frac], rng.uniform(1e5, 9e7), []
                    )
                    mf.series.append(
                        Series(
                            self._named(nm, {**self._node_labels(nd), "mode": cpu_mode}),
                            cnt,
                            sig=10,
                        )
                    )
        if self.fam["retrans"]:
            nm = "node_netstat_Tcp_RetransSegs"
            mf = self._mf(files, nm, nm, f'{nm}{{job="node-exporter"}}', "retrans")
            for nd in self.nodes:
                base = rng.uniform(0.3, 4.0)
                extra = self.retrans_extra.get(nd, [0.0] * n)
                incs = [(base * lognoise(rng, 0.4) + extra[i]) * self.step for i in range(n)]
                cnt = self.counter(incs, rng.uniform(1e4, 5e6), [])
                mf.series.append(
                    Series(self._named(nm, self._node_labels(nd), raw=True), cnt, integer=True)
                )

    def _render_probes(self, files: list[MetricFile]) -> None:
        rng = self.rng
        n = self.n
        if self.fam["probes"]:
            nm = "probe_success"
            nm2 = "probe_duration_seconds"
            mf = self._mf(files, nm, nm, f'{nm}{{job=~"blackbox.*"}}', "probes")
            mf2 = self._mf(files, nm2, nm2, f'{nm2}{{job=~"blackbox.*"}}', "probes")
            for d in self.stores:
                sv = self.svc[d]
                if sv.role == "external":
                    inst = f"https://{self.g.external_host}/v2/health"
                    module = "http_2xx"
                else:
                    inst = f"{d}.{self.ns}.svc:{sv.port}"
                    module = "tcp_connect"
                down = self.store_down.get(d, [0.0] * n)
                slow = self.store_slow.get(d)
                succ, dur = [], []
                base_d = (
                    rng.uniform(0.001, 0.012) if sv.role != "external" else rng.uniform(0.08, 0.25)
                )
                for i in range(n):
                    fail = down[i] >= 0.5 or (0 < down[i] < 0.5 and rng.random() < 0.5)
                    succ.append(0.0 if fail else 1.0)
                    if fail and slow is not None:
                        dur.append(rng.uniform(4.9, 5.0))
                    elif fail:
                        dur.append(rng.uniform(0.0004, 0.002))
                    else:
                        dur.append(base_d * lognoise(rng, 0.3))
                lab = {self.label: d, "instance": inst, "module": module}
                mf.series.append(Series(self._named(nm, lab, raw=True), succ, integer=True))
                mf2.series.append(Series(self._named(nm2, lab, raw=True), dur, sig=3))
                if d in self.probe_http_code:
                    nm3 = "probe_http_status_code"
                    mf3 = self._mf(files, nm3, nm3, f'{nm3}{{job=~"blackbox.*"}}', "probes")
                    mf3.series.append(
                        Series(
                            self._named(nm3, lab, raw=True),
                            [503.0 if down[i] >= 0.5 else 200.0 for i in range(n)],
                            integer=True,
                        )
                    )
        # certificate signals
        cert_targets: list[tuple[str, int]] = []
        if self.kind == "certificate_expiry":
            cert_targets.append((self.root, self.cert["expiry"]))
        if self.fam["ssl_probe"] or (
            self.kind == "certificate_expiry" and self.cert["variant"] == "probe"
        ):
            https = [s for s in self.apps if self.svc[s].port == 8443 and s != self.root] + [
                s for s in self.stores if self.svc[s].role == "external" and s != self.root
            ]
            for s in https[:2]:
                cert_targets.append(
                    (s, self.end + rng.randint(9, 80) * 86400 + rng.randint(0, 86400))
                )
        if not cert_targets:
            return
        variant = (
            self.cert.get("variant", "probe") if self.kind == "certificate_expiry" else "probe"
        )
        for s, expiry in cert_targets:
            sv = self.svc[s]
            inst = (
                f"https://{self.g.external_host}/"
                if sv.role == "external"
                else f"https://{s}.{self.ns}.svc:{self.tls_port(s)}/healthz"
            )
            lab = {self.label: s, "instance": inst}
            if variant == "probe" or s != self.root:
                nm = "probe_ssl_earliest_cert_expiry"
                mf = self._mf(files, nm, nm, f'{nm}{{job=~"blackbox.*"}}', "ssl_probe")
                mf.series.append(
                    Series(
                        self._named(nm, {**lab, "module": "tls_expiry"}, raw=True),
                        [float(expiry)] * n,
                        integer=True,
                    )
                )
                if s == self.root and self.cert.get("verify_probe"):
                    nm2 = "probe_success"
                    mf2 = self._mf(files, nm2, nm2, f'{nm2}{{job=~"blackbox.*"}}', "ssl_probe")
                    mf2.series.append(
                        Series(
                            self._named(nm2, {**lab, "module": "https_2xx"}, raw=True),
                            [1.0 if t < expiry else 0.0 for t in self.times],
                            integer=True,
                        )
                    )
                continue
            if variant == "tls_cert_seconds_remaining":
                nm = variant
                mf = self._mf(files, nm, nm, f"{nm}{self._sel()}", "ssl_probe")
                mf.required = True
                mf.series.append(
                    Series(
                        self._named(nm, {**self.base_labels(s), "secret": f"{s}-tls"}, raw=True),
                        [float(expiry - t) for t in self.times],
                        integer=True,
                    )
                )
            elif variant == "ssl_certificate_days_remaining":
                nm = variant
                mf = self._mf(files, nm, nm, f"{nm}{self._sel()}", "ssl_probe")
                mf.required = True
                mf.series.append(
                    Series(
                        self._named(
                            nm, {**self.base_labels(s), "domain": f"{s}.{self.ns}.svc"}, raw=True
                        ),
                        [max(0.0, (expiry - t) / 86400) for t in self.times],
                        sig=3,
                    )
                )
            else:
                nm = "certmanager_certificate_expiration_timestamp_seconds"
                mf = self._mf(files, nm, nm, f"{nm}{self._sel()}", "ssl_probe")
                mf.required = True
                mf.series.append(
                    Series(
                        self._named(
                            nm,
                            {
                                **self.base_labels(s),
                                "name": f"{s}-tls",
                                "issuer_name": "internal-ca",
                            },
                            raw=True,
                        ),
                        [float(expiry)] * n,
                        integer=True,
                    )
                )
                nm2 = "certmanager_certificate_ready_status"
                mf2 = self._mf(files, nm2, nm2, f"{nm2}{self._sel(READY_TRUE)}", "ssl_probe")
                mf2.required = True
                mf2.series.append(
                    Series(
                        self._named(
                            nm2,
                            {**self.base_labels(s), "name": f"{s}-tls", "condition": "True"},
                            raw=True,
                        ),
                        [1.0 if t < expiry else 0.0 for t in self.times],
                        integer=True,
                    )
                )

    def _render_stores(self, files: list[MetricFile]) -> None:
        if not self.fam["store_exporter"]:
            return
        rng = self.rng
        n = self.n
        for d in self.stores:
            sv = self.svc[d]
            if sv.role == "external":
                continue
            down = self.store_down.get(d, [0.0] * n)
            callers = self.app_callers(d)
            load = [sum(self.rps[c][i] for c in callers) for i in range(n)]
            lab = {self.label: d, "instance": f"{d}-0:{EXPORTER_PORT[sv.stack]}"}
            up_name, ops_name = {
                "postgres": ("pg_up", "pg_stat_database_xact_commit"),
                "redis": ("redis_up", "redis_commands_processed_total"),
                "kafka": ("kafka_brokers", "kafka_server_brokertopicmetrics_messagesin_total"),
                "rabbitmq": ("rabbitmq_identity_info", "rabbitmq_global_messages_received_total"),
            }[sv.stack]
            mf = self._mf(files, up_name, up_name, f"{up_name}{self._sel()}", "store_exporter")
            if sv.stack == "kafka":
                ups: list[float | None] = [3.0 if down[i] < 0.5 else 0.0 for i in range(n)]
            elif sv.stack == "rabbitmq":
                ups = [1.0 if down[i] < 0.5 else None for i in range(n)]
            else:
                ups = [1.0 if down[i] < 0.5 else 0.0 for i in range(n)]
            mf.series.append(Series(self._named(up_name, dict(lab), raw=True), ups, integer=True))
            mf2 = self._mf(files, ops_name, ops_name, f"{ops_name}{self._sel()}", "store_exporter")
            per = rng.uniform(1.5, 6.0)
            incs = [load[i] * per * self.step * lognoise(rng, 0.05) for i in range(n)]
            cnt = self.counter(incs, rng.uniform(1e6, 9e8), [])
            vals: list[float | None] = [cnt[i] if down[i] < 0.5 else None for i in range(n)]
            extra = {"datname": self.ns} if sv.stack == "postgres" else {}
            if sv.stack == "kafka":
                extra = {"topic": f"{self.ns}.events"}
            mf2.series.append(
                Series(self._named(ops_name, {**lab, **extra}, raw=True), vals, integer=True)
            )

    # ------------------------------------------------------------------ rendering: logs

    def render_logs(self) -> None:
        rng = self.rng
        for s in self.apps:
            t = float(self.start) + rng.uniform(0, self.log_gap)
            while t < self.end:
                i = self.idx(t)
                ms = int(t * 1000)
                down = self.kind == "crash_loop" and s == self.root and self.available_t[s][i] < 0.5
                if not down:
                    e = self.err[s][i]
                    status = int(self.err_code.get(s, "500")) if rng.random() < e else 200
                    dur = self.lat[s][i] * 1000 * rng.uniform(0.15, 0.8)
                    level = "INFO" if status < 500 or self.svc[s].stack == "python" else "ERROR"
                    self.log(s, ms, level, self.access_msg(s, status, dur))
                t += rng.expovariate(1.0 / self.log_gap)
        # background noise that also occurs before the onset
        for s in self.apps:
            if rng.random() > 0.5:
                continue
            msgs = self._background(s)
            lvl, msg = rng.choice(msgs)
            t = float(self.start) + rng.uniform(0, 400)
            gap = rng.uniform(240, 720)
            while t < self.end:
                self.log(s, int(t * 1000), lvl, msg.replace("{n}", str(rng.randint(2, 9))))
                t += rng.expovariate(1.0 / gap)
        # callers' errors about their faulty dependency
        for (c, x), ef in self.edge_faults.items():
            count = 0
            slot = 15
            t = float(self.start)
            while t < self.end and count < 24:
                i = self.idx(t)
                e = ef.err[i]
                lat = ef.lat[i]
                p = 0.0
                if e > 0.004:
                    p = clamp(e * 4, 0.1, 0.7)
                elif ef.failure == "timeout" and lat > 0.08:
                    p = clamp(lat, 0.1, 0.5)
                if p > 0 and rng.random() < p:
                    ms = int(t * 1000) + rng.randint(0, 14000)
                    level, msg = self.dep_error_msg(c, x, ef.failure, ms)
                    extra = {"trace_id": hexid(rng, 32)} if self.trace_ids else {}
                    self.log(c, ms, level, msg, **extra)
                    count += 1
                t += slot
        self._root_logs()
        self._store_logs()
        for rows in self.logs.values():
            rows.sort(key=lambda r: (r["ts"], r["msg"]))

    def _background(self, s: str) -> list[tuple[str, str]]:
        stack = self.svc[s].stack
        if stack == "spring":
            return [
                (
                    "WARN",
                    "HikariPool-1 - Thread starvation or clock leap detected (housekeeper "
                    "delta=1m{n}s).",
                ),
                (
                    "WARN",
                    "Resolved [org.springframework.web.HttpMediaTypeNotSupportedException: "
                    "Content-Type 'text/plain;charset=UTF-8' is not supported]",
                ),
                (
                    "ERROR",
                    "Failed to export spans. The request could not be executed. Full error "
                    "message: Failed to connect to otel-collector.observability/10.96.40.{n}:4318",
                ),
                ("WARN", "Slow SQL ({n}12 ms): select ... from audit_log where created_at > ?"),
            ]
        if stack == "go":
            return [
                ("WARN", "client disconnected before response was written path=/healthz"),
                (
                    "ERROR",
                    "failed to export metrics: context deadline exceeded "
                    "(otel-collector.observability:4317)",
                ),
                ("WARN", "slow request path=/v1/admin/reindex duration=1.{n}s"),
                ("ERROR", "jwt: token is expired (client=partner-api-{n})"),
            ]
        return [
            ("WARNING", "Invalid token signature for client web-{n}f3 (401)"),
            ("ERROR", "Failed to flush statsd buffer: [Errno 111] Connection refused"),
            (
                "WARNING",
                "Retrying (Retry(total={n}, connect=None, read=None, redirect=None, status=None)) "
                "after connection broken by 'RemoteDisconnected('Remote end closed connection "
                "without response')': /v1/ping",
            ),
        ]

    def _root_logs(self) -> None:
        rng = self.rng
        for at, what, arg in self.root_logs:
            r = self.root
            t0 = self.times[at]
            if what == "exception":
                count = 0
                t = float(t0)
                while t < self.end and count < 10:
                    i = self.idx(t)
                    if rng.random() < clamp(self.err_extra[r][i] * 5, 0.15, 0.6):
                        base_ms = int(t * 1000) + rng.randint(0, 9000)
                        for k, (lvl, msg) in enumerate(self.exception_lines(r, int(arg))):
                            self.log(r, base_ms + k, lvl, msg)
                        count += 1
                    t += 20
            elif what == "slowquery":
                table = f"{(self.svc[r].noun or 'item').lower()}s"
                for k in range(rng.randint(4, 10)):
                    t = t0 + rng.randint(0, (self.end - t0) - 1)
                    msg = (
                        f"slow query ({rng.randint(1200, 6000)} ms): SELECT * FROM {table} WHERE "
                        "owner_id = $1 ORDER BY updated_at DESC"
                    )
                    self.log(r, t * 1000 + k, "WARN", msg)
            elif what == "pool":
                stack = self.svc[r].stack
                for k in range(rng.randint(8, 20)):
                    t = t0 + rng.randint(0, (self.end - t0) - 1)
                    if stack == "spring":
                        msg = (
                            "HikariPool-1 - Connection is not available, request timed out after "
                            "3000ms."
                        )
                    elif stack == "go":
                        msg = (
                            f"acquire conn: context deadline exceeded (pool max_open={arg} "
                            f"in_use={arg} wait_count={rng.randint(100, 9000)})"
                        )
                    else:
                        msg = (
                            f"sqlalchemy.exc.TimeoutError: QueuePool limit of size {arg} overflow "
                            "0 reached, connection timed out, timeout 30.00"
                        )
                    self.log(r, t * 1000 + k, "ERROR", msg)
            elif what.startswith("dep:"):
                failure = what.split(":", 1)[1]
                for k in range(rng.randint(8, 22)):
                    t = t0 + rng.randint(0, (self.end - t0) - 1)
                    level, msg = self.dep_error_msg(r, arg, failure, t * 1000 + k)
                    self.log(r, t * 1000 + k, level, msg)
            elif what == "flag":
                stack = self.svc[r].stack
                self.log(
                    r,
                    (self.change_ts or t0) * 1000 + rng.randint(1000, 15000),
                    "INFO",
                    f"feature flag '{arg}' changed: now enabled for 100% of traffic",
                )
                for k in range(rng.randint(8, 20)):
                    t = t0 + rng.randint(0, (self.end - t0) - 1)
                    if stack == "spring":
                        msg = (
                            f"java.lang.UnsupportedOperationException: {arg}: strategy TIERED_V2 "
                            "not implemented for region eu-central"
                        )
                    elif stack == "go":
                        msg = f'error: {arg}: unknown routing mode "geo-v2"'
                    else:
                        msg = f"ValueError: {arg}: unsupported model 'two-tower-v3'"
                    self.log(r, t * 1000 + k, "ERROR", msg)
            elif what == "debug":
                for k in range(rng.randint(15, 30)):
                    t = t0 + rng.randint(0, (self.end - t0) - 1)
                    self.log(
                        r,
                        t * 1000 + k,
                        "DEBUG",
                        f"cache lookup key={self.svc[r].noun.lower()}:{rng.randint(1000, 99999)} "
                        f"hit={rng.choice(('true', 'false'))}",
                    )
            elif what == "reload":
                stack = self.svc[r].stack
                if stack == "spring":
                    msg = "Refreshing keys changed: [app.config.checksum]"
                elif stack == "go":
                    msg = f"config reloaded from /etc/{r}/config.yaml (checksum {hexid(rng, 12)})"
                else:
                    msg = "Handling signal: hup; reloading configuration"
                self.log(r, int(arg) * 1000 + rng.randint(2000, 20000), "INFO", msg)
            elif what == "gc":
                lim = self.mem_limit[r] // MI
                for k in range(rng.randint(10, 24)):
                    t = t0 + rng.randint(-120, (self.end - t0) - 1)
                    if self.svc[r].stack == "spring":
                        hi = int(lim * 0.74)
                        msg = (
                            f"[gc] GC({rng.randint(900, 9000)}) Pause Full (G1 Compaction Pause) "
                            f"{hi - rng.randint(0, 20)}M->{hi - rng.randint(20, 40)}M({hi}M) "
                            f"{rng.uniform(0.6, 3.5):.3f}s"
                        )
                        self.log(r, t * 1000 + k, "INFO", msg)
                    else:
                        self.log(
                            r,
                            t * 1000 + k,
                            "WARN",
                            f"memory usage at {rng.randint(90, 98)}% of container limit ({lim}Mi)",
                        )
                if self.ms == 2 and self.svc[r].stack == "spring":
                    for k in range(rng.randint(2, 5)):
                        t = t0 + rng.randint(120, (self.end - t0) - 1)
                        self.log(
                            r, t * 1000 + k, "ERROR", "java.lang.OutOfMemoryError: Java heap space"
                        )
            elif what == "cpu":
                stack = self.svc[r].stack
                for k in range(rng.randint(3, 12)):
                    t = t0 + rng.randint(0, (self.end - t0) - 1)
                    if stack == "python":
                        self.log(
                            r,
                            t * 1000 + k,
                            "CRITICAL",
                            f"WORKER TIMEOUT (pid:{rng.randint(8, 90)})",
                        )
                    elif stack == "spring":
                        self.log(
                            r,
                            t * 1000 + k,
                            "WARN",
                            "HikariPool-1 - Thread starvation or clock leap detected (housekeeper "
                            "delta=48s).",
                        )
                    else:
                        self.log(
                            r,
                            t * 1000 + k,
                            "WARN",
                            f"slow request path={self.path_of(r)} "
                            f"duration={rng.uniform(1.0, 4.0):.1f}s",
                        )
            elif what == "crash":
                self._crash_logs(arg)
            elif what == "tls_server":
                for k in range(rng.randint(6, 16)):
                    t = t0 + rng.randint(0, (self.end - t0) - 1)
                    if self.svc[r].stack == "go":
                        msg = (
                            "http: TLS handshake error from "
                            f"10.{rng.randint(1, 3)}.{rng.randint(0, 255)}.{rng.randint(2, 254)}:"
                            f"{rng.randint(30000, 60000)}: remote error: tls: bad certificate"
                        )
                    else:
                        msg = (
                            "javax.net.ssl.SSLHandshakeException: Received fatal alert: "
                            "certificate_unknown"
                            if self.svc[r].stack == "spring"
                            else (
                                "ssl.SSLError: [SSL: SSLV3_ALERT_CERTIFICATE_UNKNOWN] sslv3 alert "
                                "certificate unknown (_ssl.c:2580)"
                            )
                        )
                    self.log(r, t * 1000 + k, "WARN", msg)
            elif what == "brokenpipe":
                for k in range(rng.randint(3, 9)):
                    t = t0 + rng.randint(0, (self.end - t0) - 1)
                    ip = self.pods[r][0].ip
                    msg = (
                        "write tcp "
                        f"{ip}:{self.svc[r].port}->10.{rng.randint(1, 3)}.{rng.randint(0, 255)}."
                        f"{rng.randint(2, 254)}:{rng.randint(30000, 60000)}: write: broken pipe"
                    )
                    self.log(r, t * 1000 + k, "WARN", msg)

    def _crash_logs(self, cause: str) -> None:
        rng = self.rng
        r = self.root
        stack = self.svc[r].stack
        for ts in self.pod_restarts:
            if ts > self.end:
                break
            pod = next((p for p in self.pods[r] if p.name in self.crashing), self.pods[r][0])
            start_ms = (ts - rng.randint(3, 12)) * 1000
            if cause == "oom":
                self.log(
                    r,
                    start_ms - 60000,
                    "INFO",
                    f"warming cache: loaded {rng.randint(100, 900)}k entries",
                    pod=pod.name,
                )
                continue
            self.startup_logs(r, start_ms, pod)
            if stack == "spring":
                msgs = [
                    ("ERROR", "Application run failed"),
                    (
                        "ERROR",
                        "org.springframework.beans.factory.BeanCreationException: Error creating "
                        f"bean with name '{r.split('-')[0]}SigningKey': Injection of autowired "
                        "dependencies failed; nested exception is "
                        "java.lang.IllegalArgumentException: Could not resolve placeholder "
                        "'SIGNING_KEY' in value \"${SIGNING_KEY}\"",
                    ),
                ]
            elif stack == "go":
                if cause == "panic":
                    msgs = [
                        ("ERROR", "panic: assignment to entry in nil map"),
                        ("ERROR", "goroutine 1 [running]:"),
                        (
                            "ERROR",
                            f"main.loadRoutes(...)\n\t/src/cmd/{r}/main.go:{rng.randint(40, 300)}",
                        ),
                    ]
                else:
                    msgs = [
                        (
                            "FATAL",
                            f"fatal: load config: open /etc/{r}/secrets/signing.pem: no such file "
                            "or directory",
                        )
                    ]
            else:
                msgs = [
                    ("ERROR", "Exception in worker process"),
                    ("ERROR", "Traceback (most recent call last):"),
                    ("ERROR", f"KeyError: '{r.upper().replace('-', '_')}_DATABASE_URL'"),
                    ("INFO", "Worker exiting (pid: 8)"),
                    ("ERROR", "Reason: Worker failed to boot."),
                ]
            for k, (lvl, msg) in enumerate(msgs):
                self.log(r, start_ms + 2500 + k * 3, lvl, msg, pod=pod.name)

    def _store_logs(self) -> None:
        rng = self.rng
        for d in self.stores:
            sv = self.svc[d]
            if sv.role == "external" or rng.random() < 0.4:
                continue
            down = self.store_down.get(d)
            t = float(self.start) + rng.uniform(0, 300)
            while t < self.end:
                i = self.idx(t)
                if down is not None and down[i] >= 0.5:
                    break
                if sv.stack == "postgres":
                    msg = (
                        f"checkpoint complete: wrote {rng.randint(200, 9000)} buffers "
                        f"({rng.uniform(0.5, 9.0):.1f}%); 0 WAL file(s) added, 0 removed, "
                        f"{rng.randint(1, 4)} recycled"
                    )
                    level = "LOG"
                elif sv.stack == "redis":
                    msg = (
                        f"{rng.randint(10, 1000)} changes in {rng.choice((60, 300))} seconds. "
                        "Saving..."
                    )
                    level = "notice"
                elif sv.stack == "kafka":
                    msg = (
                        f"[LocalLog partition={self.ns}.events-{rng.randint(0, 11)}, "
                        "dir=/var/lib/kafka/data] Rolled new log segment at offset "
                        f"{rng.randint(10**6, 10**9)}"
                    )
                    level = "INFO"
                else:
                    msg = (
                        f"accepting AMQP connection <0.{rng.randint(1000, 9999)}.0> "
                        f"(10.1.{rng.randint(0, 255)}.{rng.randint(2, 254)}:"
                        f"{rng.randint(30000, 60000)} -> 10.1.0.9:5672)"
                    )
                    level = "info"
                rec = {
                    "ts": rfc3339_ms(int(t * 1000)),
                    "service": d,
                    "level": level,
                    "msg": msg,
                    "pod": f"{d}-0",
                }
                self.logs[d].append(rec)
                t += rng.uniform(180, 600)

    # ------------------------------------------------------------------ alerts

    def _alert(
        self,
        name: str,
        labels: dict[str, str],
        summary: str,
        description: str,
        starts_ms: int,
        expr: str,
        receiver: str,
    ) -> dict[str, Any]:
        rng = self.rng
        full = {"alertname": name, **labels}
        updated_ms = (self.end - rng.randint(5, 40)) * 1000 + rng.randint(0, 999)
        host = f"prometheus-k8s-{rng.randint(0, 1)}.monitoring.svc:9090"
        url = f"http://{host}/graph?g0.expr={urllib.parse.quote(expr, safe='')}&g0.tab=1"
        return {
            "annotations": {
                "description": description,
                "runbook_url": f"https://runbooks.{self.ns}.example/alerts/{name}",
                "summary": summary,
            },
            "endsAt": rfc3339_ms(updated_ms + 240000),
            "fingerprint": fingerprint(full),
            "generatorURL": url,
            "labels": full,
            "receivers": [{"name": receiver}],
            "startsAt": rfc3339_ms(starts_ms),
            "status": {"inhibitedBy": [], "silencedBy": [], "state": "active"},
            "updatedAt": rfc3339_ms(updated_ms),
        }

    def _alert_expr(self, p: str, what: str, thr: float) -> str:
        """The alerting rule's PromQL, in the vocabulary the paged service exports."""
        mode = self.mode.get(p, "otel")
        sel = f'{self.label}="{p}"'
        if mode == "ratio":
            if what == "error":
                return f"{self.label}:http_server_requests:error_ratio_rate5m{{{sel}}} > {thr}"
            q = self.lat_quantile
            return f"{self.label}:http_server_request_duration_seconds:p{q[2:]}{{{sel}}} > {thr}"
        if mode == "istio":
            sel = f'reporter="destination",destination_service_name="{p}"'
        counters = {
            "otel": ("http_server_requests_total", 'http_response_status_code=~"5.."'),
            "spring": ("http_server_requests_seconds_count", 'outcome="SERVER_ERROR"'),
            "grpc": ("grpc_server_handled_total", 'grpc_code=~"Unavailable|Internal|Unknown"'),
            "flask": ("flask_http_request_total", 'status=~"5.."'),
            "istio": ("istio_requests_total", 'response_code=~"5.."'),
        }
        buckets = {
            "otel": "http_server_request_duration_seconds_bucket",
            "spring": "http_server_requests_seconds_bucket",
            "grpc": "grpc_server_handling_seconds_bucket",
            "flask": "flask_http_request_duration_seconds_bucket",
            "istio": "istio_request_duration_milliseconds_bucket",
        }
        if what == "error":
            name, bad = counters[mode]
            return f"sum(rate({name}{{{sel},{bad}}}[5m])) / sum(rate({name}{{{sel}}}[5m])) > {thr}"
        limit = thr * 1000 if mode == "istio" else thr
        return (
            f"histogram_quantile(0.99, sum by (le) (rate({buckets[mode]}{{{sel}}}[5m]))) "
            f"> {fnum(limit, 4)}"
        )

    def render_alerts(self) -> list[dict[str, Any]]:
        rng = self.rng
        p = self.paged
        L = self.label
        starts = self.onset_ts + rng.randint(60, 235)
        if p in self.apps and self.kind != "unknown":
            moved = [
                i
                for i in range(self.onset, self.n)
                if self.err_extra[p][i] > 0.002 or self.lat_extra[p][i] > 0.005
            ]
            if moved:  # a rule cannot fire before its service shows the symptom
                starts = max(starts, self.times[moved[0]] + rng.randint(30, 60))
        starts = min(starts, self.onset_ts + 240)
        starts_ms = starts * 1000 + rng.randint(0, 999)
        err_peak = max(self.err[p][self.onset :]) if p in self.err else 0.0
        base_err = sum(self.base_err[p]) / self.n if p in self.base_err else 0.0
        lat_peak = max(self.lat[p][self.onset :]) if p in self.lat else 0.0
        use_error = err_peak > max(0.02, 4 * base_err)
        if self.kind == "unknown":
            use_error = rng.random() < 0.5
        sev = rng.choice(("critical", "critical", "page", "warning"))
        labels = {L: p, "namespace": self.ns, "severity": sev}
        receiver = rng.choice((f"pagerduty-{self.ns}-oncall", f"opsgenie-{p}", f"slack-{p}-alerts"))
        mode = self.mode.get(p, "otel")
        if self.kind == "crash_loop" and p == self.root and rng.random() < 0.5:
            pod = self.pods[p][0].name
            name = "KubePodCrashLooping"
            labels.update({"container": p, "pod": pod})
            summary = "Pod is crash looping."
            desc = f'Pod {self.ns}/{pod} ({p}) is in waiting state (reason: "CrashLoopBackOff").'
            expr = (
                'max_over_time(kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff'
                f'",job="kube-state-metrics",namespace="{self.ns}"}}[5m]) >= 1'
            )
        elif use_error:
            thr = rng.choice((0.01, 0.02, 0.05)) if err_peak < 0.1 else rng.choice((0.05, 0.1))
            name = rng.choice(
                {
                    "istio": ("IstioHigh5xxRate", "HighErrorRate"),
                    "grpc": ("GRPCServerErrorsHigh", "HighErrorRate"),
                }.get(mode, ("HighErrorRate", f"{camel(p)}5xxRatioHigh", "SLOErrorBudgetBurnFast"))
            )
            val = err_peak if self.kind != "unknown" else thr * rng.uniform(1.1, 1.6)
            summary = f"{p}: error rate above {thr:.0%}"
            desc = f"{val:.2%} of requests to {p} are failing (threshold {thr:.0%}, for 2m)."
            expr = self._alert_expr(p, "error", thr)
        else:
            thr_ms = int(max(0.1, self.lat0.get(p, 0.2) * rng.uniform(1.6, 2.4)) * 1000) // 10 * 10
            name = rng.choice(
                {"istio": ("IstioHighRequestLatency", "HighLatencyP99")}.get(
                    mode, ("HighLatencyP99", f"{camel(p)}SlowResponses", "SLOLatencyBurn")
                )
            )
            val_ms = lat_peak * 1000 if self.kind != "unknown" else thr_ms * rng.uniform(1.1, 1.5)
            summary = f"{p}: p99 latency above {thr_ms} ms"
            desc = f"p99 latency of {p} is {val_ms:.0f} ms (threshold {thr_ms} ms, for 2m)."
            expr = self._alert_expr(p, "latency", thr_ms / 1000)
        self.focus = name
        self.title = f"{p}: {name}"
        alerts = [self._alert(name, labels, summary, desc, starts_ms, expr, receiver)]
        if self.second_alert:
            alerts.append(self._second_alert())
        alerts.sort(key=lambda a: a["startsAt"])
        return alerts

    def _second_alert(self) -> dict[str, Any]:
        rng = self.rng
        L = self.label
        opts = ["disk", "job", "cpuovercommit"]
        involved = {self.root, self.paged, *self.ancestors(self.root)}
        unrelated = [s for s in self.apps if s not in involved]
        if unrelated and self.kind != "certificate_expiry":
            opts.append("certsoon")
        choice = rng.choice(opts)
        starts = self.start + rng.randint(60, max(120, (self.onset_ts - self.start) - 300))
        starts_ms = starts * 1000 + rng.randint(0, 999)
        if choice == "disk":
            nd = rng.choice(self.nodes)
            pct = rng.randint(8, 14)
            return self._alert(
                "NodeFilesystemSpaceFillingUp",
                {
                    L: "node-exporter",
                    "instance": f"{self.node_ip[nd]}:9100",
                    "mountpoint": "/var/lib/containerd",
                    "severity": "warning",
                },
                "Filesystem is predicted to run out of space within the next 24 hours.",
                f"Filesystem on /dev/nvme0n1p1 at {self.node_ip[nd]}:9100 has only {pct}% "
                "available space left and is filling up.",
                starts_ms,
                'node_filesystem_avail_bytes{job="node-exporter",fstype!=""} / '
                "node_filesystem_size_bytes < 0.15",
                "slack-platform-alerts",
            )
        if choice == "job":
            job = rng.choice(("nightly-reconcile", "report-export"))
            return self._alert(
                "KubeJobFailed",
                {
                    "job_name": f"{job}-{rng.randint(28000000, 29999999)}",
                    "namespace": self.ns,
                    "severity": "warning",
                },
                "Job failed to complete.",
                f"Job {self.ns}/{job} failed to complete. Removing failed job after investigation "
                "should clear this alert.",
                starts_ms,
                'kube_job_failed{job="kube-state-metrics"} > 0',
                "slack-platform-alerts",
            )
        if choice == "cpuovercommit":
            return self._alert(
                "KubeCPUOvercommit",
                {"severity": "warning"},
                "Cluster has overcommitted CPU resource requests.",
                "Cluster has overcommitted CPU resource requests for Pods by 1.5 CPU shares and "
                "cannot tolerate node failure.",
                starts_ms,
                "sum(namespace_cpu:kube_pod_container_resource_requests:sum) - "
                '(sum(kube_node_status_allocatable{resource="cpu"}) - '
                'max(kube_node_status_allocatable{resource="cpu"})) > 0',
                "slack-platform-alerts",
            )
        s = rng.choice(unrelated)
        days = rng.randint(9, 20)
        return self._alert(
            "CertificateExpiringSoon",
            {L: s, "namespace": self.ns, "severity": "warning"},
            f"TLS certificate for {s} expires in {days} days.",
            f"The certificate served by {s}.{self.ns}.svc expires in {days} days.",
            starts_ms,
            "probe_ssl_earliest_cert_expiry - time() < 86400 * 21",
            "slack-platform-alerts",
        )

    # ------------------------------------------------------------------ files

    def _metric_bytes(self, mf: MetricFile) -> bytes:
        result = []
        for s in mf.series:
            vals = []
            for t, v in zip(self.times, s.values, strict=True):
                if v is None:
                    continue
                txt = str(int(round(v))) if s.integer else fnum(v, s.sig)
                vals.append([t, txt])
            if vals:
                result.append({"metric": s.labels, "values": vals})
        body = {"status": "success", "data": {"resultType": "matrix", "result": result}}
        return dump_json(body, compact=True)

    def files(self) -> dict[str, bytes]:
        alerts = self.render_alerts()
        metrics = self.render_metrics()
        self.render_logs()
        out: dict[str, bytes] = {}
        out["bundle.yaml"] = dump_yaml(
            {
                "id": self.spec.bundle_id,
                "title": self.title,
                "window": {"start": rfc3339(self.start), "end": rfc3339(self.end)},
                "focus_alert": self.focus,
            }
        )
        out["alerts.json"] = dump_json(alerts)
        self.changes.sort(key=lambda c: (c["ts"], c["id"]))
        out["changes.json"] = dump_json(self.changes)
        out["topology.yaml"] = dump_yaml(
            {"services": {s: {"depends_on": list(self.deps[s])} for s in sorted(self.deps)}}
        )
        truth: dict[str, Any] = {"kind": self.kind, "service": self.root}
        if self.truth_change is not None:
            truth["change_id"] = self.truth_change
        out["truth.yaml"] = dump_yaml({"root_cause": truth})
        if self.events:
            self.events.sort(key=lambda e: (e["ts"], e["service"], e["reason"]))
            out["events/k8s.jsonl"] = dump_jsonl(self.events)
        for s in sorted(self.logs):
            if self.logs[s]:
                out[f"logs/{s}.jsonl"] = dump_jsonl(self.logs[s])
        log_bytes = sum(len(v) for v in out.values())
        # fit the size budget: optional metric families go first, never the kind's signal
        drop_order = [
            "goroutines",
            "client",
            "jvm",
            "node_cpu",
            "replicas",
            "throttle",
            "store_exporter",
            "memory",
            "cpu",
            "restarts",
            "ssl_probe",
            "probes",
            "retrans",
            "hikari",
        ]
        rendered: dict[str, tuple[MetricFile, bytes]] = {}
        for mf in metrics:
            rendered[mf.stem] = (mf, self._metric_bytes(mf))

        def total() -> int:
            return log_bytes + sum(len(b) for _, b in rendered.values())

        for fam in drop_order:
            if total() <= MAX_BUNDLE_BYTES - 6000:
                break
            for stem in [
                k for k, (mf, _) in rendered.items() if mf.family == fam and not mf.required
            ]:
                del rendered[stem]
        queries: dict[str, str] = {}
        for k, stem in enumerate(rendered):
            mf, body = rendered[stem]
            if body.count(b'"values"') == 0:
                continue
            fname = f"{k + 1:02d}_{stem}" if self.numbered else stem
            out[f"metrics/{fname}.json"] = body
            queries[fname] = mf.query
        if self.queries_yaml:
            out["metrics/queries.yaml"] = dump_yaml(dict(sorted(queries.items())))
        size = sum(len(v) for v in out.values())
        if size > MAX_BUNDLE_BYTES:
            raise SystemExit(
                f"{self.spec.bundle_id}: {size} bytes, over the {MAX_BUNDLE_BYTES} budget"
            )
        return out


# --------------------------------------------------------------------------- main

README = """# Held-out incident bundles

These {count} bundles ({kinds} root-cause kinds x {per} bundles) are a **held-out set**.
They were written by `scripts/gen_heldout.py`, a generator developed independently of the
root-cause engine and of the project's own scenario generator, from the public bundle
format (`docs/bundle-format.md`) and the metric, log and event vocabularies that real
exporters and frameworks emit (OpenTelemetry, Micrometer, Istio, cAdvisor,
kube-state-metrics, node_exporter, blackbox exporter, gRPC, prometheus_flask_exporter,
cert-manager).

**Do not tune on this set.** Do not fit weights on it (`aisre eval --fit`), do not
change the engine to make a bundle here pass, and do not edit the generator to suit the
engine. It exists to measure how the engine generalises to data it was not shaped on;
every time it is used for tuning it stops measuring that.

Four service graphs (streamly: media streaming; ledgerly: banking; freightline:
logistics; carepath: telehealth; 5-9 services each), windows of 60-90 minutes at 30 s or
60 s steps with at least 30 minutes of normal baseline before the onset, subtle to strong
magnitudes, the service label varying between `service`, `job` and `app`, and
distractors (innocent deploys, noisy node CPU, background WARN/ERROR lines, unrelated
alerts, old changes). Bundle ids do not name the kind; `truth.yaml` holds the answer.

Regenerate (deterministic, byte for byte):

```
.venv/bin/python scripts/gen_heldout.py                 # seed {seed}, into scenarios/heldout
.venv/bin/python scripts/gen_heldout.py --out /tmp/x --seed 3
```

`tests/test_heldout_generator.py` checks reproducibility, validity and the truth files.
"""


def generate(out: Path, seed: int) -> list[str]:
    specs = plan_specs(seed)
    out.mkdir(parents=True, exist_ok=True)
    ids = {s.bundle_id for s in specs}
    for child in sorted(out.iterdir()):
        if child.is_dir() and child.name.startswith(ID_PREFIX) and child.name not in ids:
            shutil.rmtree(child)
    for spec in specs:
        bundle = Bundle(spec, seed)
        files = bundle.files()
        d = out / spec.bundle_id
        if d.exists():
            shutil.rmtree(d)
        for rel, data in sorted(files.items()):
            p = d / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
    readme = README.format(count=len(specs), kinds=len(KINDS), per=PER_KIND, seed=seed)
    (out / "README.md").write_text(readme, encoding="utf-8")
    return [s.bundle_id for s in specs]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed (default %(default)s)")
    args = ap.parse_args(argv)
    ids = generate(args.out, args.seed)
    print(f"wrote {len(ids)} bundles to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
