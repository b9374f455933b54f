"""Calls to what leaves no spans: a client span's peer (`Span.peer`).

A database, a cache or an outside API is rarely instrumented. A call to it shows only
as the caller's client span, with no child, and the attributes that name the callee:
`peer.service`, `server.address`, `net.peer.name` (OpenTelemetry), `peer.address` /
`peer.hostname` (OpenTracing, Jaeger's tags), Zipkin's `remoteEndpoint`. Its time and
its failures are the callee's, as a client span's are when the callee's server span
sits below it.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest

from aisre_cli.investigate.analyzers.traces import analyze, derive_topology, trace_blame
from aisre_cli.model import Span, span_peer
from aisre_cli.sources.bundle import read_spans
from tests.test_traces import REF, Call, _trace

# ---------------------------------------------------------------- reading the peer


@pytest.mark.parametrize(
    ("attrs", "kind", "peer"),
    [
        ({"peer.service": "mongodb-rate"}, None, "mongodb-rate"),
        (
            {"server.address": "redis-cart.shop.svc.cluster.local"},
            "client",
            "redis-cart.shop.svc.cluster.local",
        ),
        ({"net.peer.name": "memcached-profile", "net.peer.port": 11211}, 3, "memcached-profile"),
        ({"peer.address": "mongodb-geo:27017", "span.kind": "client"}, None, "mongodb-geo"),
        ({"db.system": "postgresql", "server.address": "orders-db"}, None, "orders-db"),
        ({"http.url": "https://api.stripe.com/v1/charges"}, "SPAN_KIND_CLIENT", "api.stripe.com"),
        ({"peer.address": "mongodb://app:secret@mongodb-user:27017/db"}, "client", "mongodb-user"),
        ({"server.address": "[fd00::1]"}, "client", "fd00::1"),
    ],
)
def test_a_client_span_names_the_service_it_calls(
    attrs: dict[str, object], kind: object, peer: str
) -> None:
    assert span_peer(attrs, kind) == peer


@pytest.mark.parametrize(
    ("attrs", "kind"),
    [
        # a server span's net.peer.name is its caller, not a callee
        ({"net.peer.name": "frontend"}, "server"),
        ({"net.peer.name": "frontend", "span.kind": "server"}, None),
        ({"peer.service": "frontend"}, "SPAN_KIND_SERVER"),
        # kind unknown: only peer.service or a database call name a callee
        ({"net.peer.name": "frontend"}, None),
        ({"server.address": "localhost"}, "client"),
        ({"peer.service": "  "}, "client"),
        ({}, "client"),
    ],
)
def test_a_span_that_does_not_call_out_names_no_peer(
    attrs: dict[str, object], kind: object
) -> None:
    assert span_peer(attrs, kind) == ""


def _write(tmp_path: Path, rows: list[dict[str, object]]) -> list[Span]:
    p = tmp_path / "spans.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return list(read_spans(p, "traces/spans.jsonl"))


def test_a_bundle_reads_jaeger_spans_as_jaeger_writes_them(tmp_path: Path) -> None:
    # Jaeger's JSON: process.serviceName, references, microsecond startTime and
    # duration, tags as a list of {key, type, value}
    sp = _write(
        tmp_path,
        [
            {
                "traceID": "ab12",
                "spanID": "c3",
                "operationName": "mongo.find",
                "references": [{"refType": "CHILD_OF", "traceID": "ab12", "spanID": "b2"}],
                "startTime": 1_700_000_000_000_000,
                "duration": 25_000,
                "process": {"serviceName": "rate"},
                "tags": [
                    {"key": "span.kind", "type": "string", "value": "client"},
                    {"key": "peer.address", "type": "string", "value": "mongodb-rate:27017"},
                    {"key": "error", "type": "bool", "value": True},
                ],
            }
        ],
    )[0]
    assert (sp.service, sp.parent_id, sp.peer, sp.error) == ("rate", "b2", "mongodb-rate", True)
    assert sp.duration_ms == pytest.approx(25.0)
    assert sp.start == pytest.approx(1_700_000_000.0)


def test_a_bundle_reads_zipkin_and_otlp_spans(tmp_path: Path) -> None:
    zipkin, otlp, plain = _write(
        tmp_path,
        [
            {  # Zipkin v2: id, timestamp and duration in microseconds, endpoints
                "traceId": "t1",
                "id": "s1",
                "parentId": "s0",
                "kind": "CLIENT",
                "name": "get",
                "timestamp": 1_700_000_000_000_000,
                "duration": 3_000,
                "localEndpoint": {"serviceName": "cart"},
                "remoteEndpoint": {"serviceName": "redis-cart", "port": 6379},
                "tags": {"http.status_code": "503"},
            },
            {  # OpenTelemetry: kind and attributes as a list of typed values
                "traceId": "t2",
                "spanId": "s2",
                "name": "SELECT",
                "kind": "SPAN_KIND_CLIENT",
                "startTimeUnixNano": 1_700_000_000_000_000_000,
                "endTimeUnixNano": 1_700_000_000_004_000_000,
                "service.name": "orders",
                "attributes": [
                    {"key": "db.system", "value": {"stringValue": "postgresql"}},
                    {"key": "server.address", "value": {"stringValue": "orders-db"}},
                ],
                "status": {"code": "STATUS_CODE_UNSET"},
            },
            {  # the plain shape: a status given decides, the peer's server span unknown
                "trace_id": "t3",
                "span_id": "s3",
                "service": "web",
                "name": "GET /",
                "start": 1_700_000_000,
                "duration_ms": 5,
                "status": "ok",
                "http.status_code": 500,
            },
        ],
    )
    assert (zipkin.service, zipkin.span_id, zipkin.peer, zipkin.error) == (
        "cart",
        "s1",
        "redis-cart",
        True,
    )
    assert zipkin.duration_ms == pytest.approx(3.0)
    assert (otlp.peer, otlp.error, otlp.duration_ms) == ("orders-db", False, pytest.approx(4.0))
    assert (plain.peer, plain.error) == ("", False)


# ---------------------------------------------------------------- blame


def _db_calls(n: int, *, slow_db: bool, slow_api: bool = False, seed: int = 3) -> list[Span]:
    """web -> api -> a leaf client span to an uninstrumented `mongodb-items` (peer set)."""
    rnd = random.Random(seed)
    spans: list[Span] = []
    for i in range(n):
        for pre, tid, t0 in ((True, f"b{i}", REF - 600 + i), (False, f"a{i}", REF + i)):
            j = rnd.uniform(0.9, 1.1)
            db_ms = 3.0 if pre or not slow_db else 60.0
            api_ms = 4.0 if pre or not slow_api else 60.0
            call = Call("api", "mongo.find", db_ms * j)
            api = Call("api", "GET /items", api_ms * j, [call])
            for sp in _trace(tid, Call("web", "GET /", 2.0 * j, [api]), t0):
                spans.append(
                    sp
                    if sp.name != "mongo.find"
                    else Span(**{**_fields(sp), "peer": "mongodb-items"})
                )
    return spans


def _fields(sp: Span) -> dict[str, object]:
    return {k: getattr(sp, k) for k in Span.__slots__}  # type: ignore[attr-defined]


def test_a_slow_uninstrumented_database_is_blamed_not_its_caller() -> None:
    spans = _db_calls(40, slow_db=True)
    blame = trace_blame(spans, REF)
    assert blame["mongodb-items"] > 0.8 and blame.get("api", 0.0) < 0.1
    assert "api→mongo.find" in {f.service: f for f in analyze(spans, REF)}["mongodb-items"].ops


def test_without_the_peer_the_same_time_stays_the_callers() -> None:
    # the reading is the peer attribute's: the same spans without it blame the caller
    spans = [Span(**{**_fields(s), "peer": ""}) for s in _db_calls(40, slow_db=True)]
    blame = trace_blame(spans, REF)
    assert blame["api"] > 0.8 and "mongodb-items" not in blame


def test_a_caller_slow_in_its_own_work_keeps_the_blame() -> None:
    blame = trace_blame(_db_calls(40, slow_db=False, slow_api=True), REF)
    assert blame["api"] > 0.8 and blame.get("mongodb-items", 0.0) < 0.1


def test_failed_calls_to_a_peer_are_the_peers_errors() -> None:
    rnd = random.Random(8)
    spans: list[Span] = []
    for i in range(40):
        for pre, tid, t0 in ((True, f"b{i}", REF - 600 + i), (False, f"a{i}", REF + i)):
            fail = not pre and i % 2 == 0
            call = Call("cart", "redis.GET", 1.0 * rnd.uniform(0.9, 1.1), error=fail)
            for sp in _trace(tid, Call("cart", "GetCart", 2.0, [call], error=fail), t0):
                spans.append(
                    sp if sp.name != "redis.GET" else Span(**{**_fields(sp), "peer": "redis-cart"})
                )
    found = {f.service: f for f in analyze(spans, REF)}
    assert found["redis-cart"].err_after > 0.3
    assert "cart" not in found or found["cart"].err_after == 0.0


def test_the_topology_spans_derive_reaches_the_peer() -> None:
    topo = derive_topology(_db_calls(2, slow_db=False))
    assert topo.depends_on["api"] == ["mongodb-items"]
    assert topo.depends_on["mongodb-items"] == []


# ---------------------------------------------------------------- triage


def _as_client_calls(bundle: Path, callee: str, attrs: dict[str, str]) -> None:
    """Rewrite `callee`'s spans as its callers' client spans naming it by `attrs`: the
    same calls, seen as they are when the callee is not instrumented."""
    p = bundle / "traces" / "spans.jsonl"
    rows = [json.loads(line) for line in p.read_text().splitlines()]
    svc = {r["span_id"]: r["service"] for r in rows}
    for r in rows:
        if r["service"] == callee:
            r.update(service=svc[r["parent_id"]], **attrs)
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.mark.parametrize(
    ("attrs", "edge"),
    [
        # a cluster DNS name with its port: the topology's `postgres`
        ({"span.kind": "client", "server.address": "postgres.shop.svc.cluster.local:5432"}, True),
        ({"db.system": "postgresql", "net.peer.name": "POSTGRES"}, True),
        # an address, or a host the data does not know: no service to name
        ({"span.kind": "client", "server.address": "10.4.2.17"}, False),
        ({"span.kind": "client", "server.address": "db.example.net"}, False),
    ],
)
def test_triage_reads_a_peer_as_the_service_the_data_names(
    tmp_path: Path, attrs: dict[str, str], edge: bool
) -> None:
    from aisre_cli.investigate.evaluate import analyze_bundle
    from aisre_cli.investigate.rank import Weights
    from aisre_cli.settings.config import Profile
    from aisre_cli.sources.registry import bundle_set
    from tests.conftest import DEMO

    b = tmp_path / "demo"
    shutil.copytree(DEMO, b)
    (b / "topology.yaml").unlink()  # the topology is then the one the spans show
    _as_client_calls(b, "postgres", attrs)
    a = analyze_bundle(bundle_set(b), Profile(), Weights.load())
    top = max(a.candidates, key=lambda c: c.prob)
    assert (top.kind, top.service) == ("deploy", "payments")
    assert ("postgres" in a.topology.depends_on.get("payments", [])) is edge


def test_a_call_whose_callee_left_its_own_spans_is_read_by_them_not_by_the_peer() -> None:
    # api's client span names db, and db is instrumented: two attempts, each db's server
    # span. db's time is in its own spans; what is left of the client span is the wait
    # between the attempts, api's retry policy, so it stays api's
    from aisre_cli.investigate.analyzers.traces import _Spans

    spans = [
        Span("t", "root", None, "api", "GET /items", 0.0, 100.0, False),
        Span("t", "call", "root", "api", "db.query", 0.001, 90.0, False, peer="db"),
        Span("t", "try1", "call", "db", "query", 0.002, 10.0, False),
        Span("t", "try2", "call", "db", "query", 0.080, 10.0, False),
    ]
    tree = _Spans(spans)
    assert tree.owner[1] == "api"
    assert tree.owner[2:] == ["db", "db"]
