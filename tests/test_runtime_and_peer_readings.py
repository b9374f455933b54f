"""Readings by meaning found on three blind sets (a Sock Shop fault-injection benchmark,
a streaming data platform, a SaaS with many changes a day): a runtime's memory pools, a
container's CFS periods, the count of a service's scrape targets, a caller's HTTP client
saying a callee answered 5xx, an outside API the topology and the logs name differently,
and which moves of a request rate date an incident."""

from __future__ import annotations

from dataclasses import replace

import pytest

from aisre_cli.investigate.analyzers import dependency as dep_an
from aisre_cli.investigate.analyzers import metrics as metric_an
from aisre_cli.investigate.analyzers.changes import AFTER_S
from aisre_cli.investigate.analyzers.metrics import MetricFinding
from aisre_cli.investigate.families import FamilyMatcher, limit_name, same_pool
from aisre_cli.investigate.rank import TRAFFIC_DATES, dates
from aisre_cli.investigate.triage import Analysis
from aisre_cli.model import Series, Topology
from aisre_cli.sources.bundle import service_of
from tests.test_proposers import (
    FAULT,
    STEP,
    T0,
    N,
    _deploy,
    cands,
    context,
    run,
    series,
)
from tests.test_relayed_and_unit_noise import _log

# ------------------------------------------------------------------ the catalogue


@pytest.mark.parametrize(
    ("name", "labels", "family"),
    [
        # a collector's young generation fills and empties every few seconds
        ("jvm_memory_used_bytes", {"area": "heap", "id": "PS Eden Space"}, None),
        ("jvm_memory_used_bytes", {"area": "heap", "id": "G1 Survivor Space"}, None),
        ("jvm_memory_pool_bytes_used", {"pool": "Par Eden Space"}, None),
        ("jvm_memory_used", {"jvm_memory_pool_name": "G1 Eden Space"}, None),
        ("dotnet_gc_heap_size_bytes", {"generation": "gen0"}, None),
        # ... its old generation is the memory that runs out
        ("jvm_memory_used_bytes", {"area": "heap", "id": "PS Old Gen"}, "memory"),
        ("dotnet_gc_heap_size_bytes", {"generation": "gen2"}, "memory"),
        ("jvm_memory_used_bytes", {}, "memory"),
        # a runtime's memory pool is memory, a pool of connections is connections
        ("jvm_memory_pool_bytes_used", {}, "memory"),
        ("hikaricp_connections_pool", {}, "connections"),
        ("db_pool_size", {}, "connections"),
        # the CFS periods a container ran in are the whole its throttling is a share of
        ("container_cpu_cfs_periods_total", {}, None),
        ("container_cpu_cfs_throttled_periods_total", {}, "cpu"),
    ],
)
def test_runtime_memory_pools_and_cfs_periods(
    name: str, labels: dict[str, str], family: str | None
) -> None:
    assert FamilyMatcher().classify(name, labels).family == family


def test_a_jvm_pool_and_a_process_fds_have_their_limit_beside_them() -> None:
    for use, limit in [
        ("jvm_memory_used_bytes", "jvm_memory_max_bytes"),
        ("jvm_memory_bytes_used", "jvm_memory_bytes_max"),
        ("process_open_fds", "process_max_fds"),
        # MySQL's queries executing: each holds a connection of max_connections
        ("mysql_global_status_threads_running", "mysql_global_variables_max_connections"),
    ]:
        rx = limit_name(use)
        assert rx is not None and rx.search(limit), use
    assert limit_name("process_resident_memory_bytes") is None
    # ... and they are work in progress: more of them is slower queries or more of them
    from aisre_cli.investigate.proposers.saturation import IN_PROGRESS

    assert IN_PROGRESS.search("mysql_global_status_threads_running")
    assert not IN_PROGRESS.search("mysql_global_status_threads_connected")
    old = {"area": "heap", "id": "PS Old Gen"}
    assert same_pool(old, {"area": "heap", "id": "PS Old Gen", "pod": "x"})
    assert not same_pool(old, {"area": "nonheap", "id": "Metaspace"})
    assert same_pool({"instance": "a"}, {"instance": "b"})  # no pool named: any


def _old_gen(service: str, used: list[float], mx: float, pool: str = "PS Old Gen") -> list[Series]:
    ts = [T0 + i * STEP for i in range(N)]
    lab = {"service": service, "area": "heap", "id": "PS Old Gen"}
    cap = {"service": service, "area": "heap", "id": pool}
    return [
        Series("jvm_memory_used_bytes", service, lab, ts, used, query="jvm_memory_used_bytes"),
        Series("jvm_memory_max_bytes", service, cap, ts, [mx] * N, query="jvm_memory_max_bytes"),
    ]


def test_memory_far_under_the_limit_beside_it_has_not_run_out() -> None:
    """An Old Gen climbing 70 → 100 MB of a 288 MB maximum is a collector's cycle: the
    saturation reading keeps what is left after `FAR_FROM_LIMIT` and says it stayed
    under its limit. At 270 of 288 MB it ran out; a limit of another pool (Metaspace)
    says nothing of this one."""
    mb = 1024.0 * 1024.0
    used = [(70.0 if T0 + i * STEP < FAULT else 100.0 + i * 0.01) * mb for i in range(N)]
    full = [(70.0 if T0 + i * STEP < FAULT else 270.0 + i * 0.01) * mb for i in range(N)]

    def sat(values: list[float], pool: str = "PS Old Gen") -> tuple[float, str]:
        (c,) = cands(run(context(_old_gen("api", values, 288.0 * mb, pool))), "resource_saturation")
        return c.features["kind_signal"], c.statement

    far, said = sat(used)
    near, said_full = sat(full)
    other, _ = sat(used, "Metaspace")
    assert far < 0.6 * near
    assert "stayed well under its limit" in said and "stayed" not in said_full
    assert other > far


# ------------------------------------------------------------------ who a series is


def test_a_node_exporter_scraped_as_a_service_endpoint_names_no_service() -> None:
    """Prometheus' example kubernetes-service-endpoints job labels a series with its
    Service's name (`kubernetes_name`): node-exporter's is the collector's, not a service
    called `prometheus-node-exporter`; an application's is the application's."""
    node = {
        "job": "kubernetes-service-endpoints",
        "kubernetes_name": "prometheus-node-exporter",
        "kubernetes_node": "worker-4",
    }
    assert service_of(node, ("service", "job")) is None
    app = {**node, "kubernetes_name": "catalogue"}
    assert service_of(app, ("service", "job")) == "catalogue"


# ------------------------------------------------------------------ targets up


def _up(pod: str, version: str, start: int, end: int, last: float | None = 0.0) -> Series:
    """One pod's `up`: 1 from point `start` to `end`, then (`last`) one failed scrape."""
    ts = [T0 + i * STEP for i in range(start, end)]
    vals = [1.0] * len(ts)
    if last is not None:
        ts.append(T0 + end * STEP)
        vals.append(last)
    lab = {"service": "api", "pod": pod, "version": version, "job": "api"}
    return Series("up", "api", lab, ts, vals, query="up", ref="metrics/up.json")


def test_a_rollout_retiring_pods_is_no_target_down() -> None:
    """Two old pods scraped until the rollout, each with a last failed scrape as it
    stopped, and two new ones from then on: the count of api's targets up stays 2, and
    no pod's `up` is read on its own. Where a pod stays down the count falls, and each
    pod is read on its own as before: one of them is down."""
    half = N // 2
    rollout = [
        _up("api-old-a", "v1", 0, half),
        _up("api-old-b", "v1", 0, half + 1),
        _up("api-new-a", "v2", half, N, None),
        _up("api-new-b", "v2", half + 1, N, None),
    ]
    out = metric_an.prepare(rollout, FamilyMatcher())
    ups = [s for s in out if s.name == "up"]
    assert len(ups) == 1 and ups[0].query.startswith("sum by (")
    assert min(ups[0].values) >= 1.0 and max(ups[0].values) <= 2.0
    assert ups[0].values[half + 3 :] == [2.0] * (N - half - 3)

    down = [_up("api-a", "v1", 0, N, None), _up("api-b", "v1", 0, half, None)]
    down[1] = replace(
        down[1],
        timestamps=[T0 + i * STEP for i in range(N)],
        values=[1.0] * half + [0.0] * (N - half),
    )
    # the count fell and stayed lower: the pods are read one by one, the down one too
    kept = [s for s in metric_an.prepare(down, FamilyMatcher()) if s.name == "up"]
    assert sorted(s.labels["pod"] for s in kept) == ["api-a", "api-b"]


# ------------------------------------------------------------------ answers from callees

SPRING = (
    "Servlet.service() threw exception [Request processing failed] with root cause "
    "org.springframework.web.client.HttpServerErrorException: 500 Internal Server Error "
    "in {svc}"
)


@pytest.mark.parametrize(
    ("said", "answered"),
    [
        (SPRING, True),
        ("AxiosError: Request failed with status code 502 in {svc}", True),
        ("HTTPError: 503 Server Error: Service Unavailable for url in {svc}", True),
        ("Response status code does not indicate success: 500 (Internal Server Error)", True),
        # its own answer, or a client error of the caller's making: not a callee's
        ("GET /orders 500 Internal Server Error in {svc}", False),
        ("HttpClientErrorException: 404 Not Found in {svc}", False),
    ],
)
def test_a_client_saying_a_callee_answered_5xx(said: str, answered: bool) -> None:
    lf = _log("api", said.format(svc="api"), family=None)
    assert dep_an.server_answered(lf, None) is answered


def _orders_calls(users_fail: bool, carts_fail: bool, msg: str = SPRING) -> Analysis:
    """orders calls users and carts; from the fault orders fails its own requests and
    logs `msg`; users (and carts) fail their own requests from a minute before, as told."""
    lines = [(FAULT + 60 + i * 20, "orders", "error", msg.format(svc="orders")) for i in range(15)]
    lines += [(T0 + i * 30.0, "orders", "info", "GET /health 200") for i in range(N * 2)]
    extra = [
        series("http_errors_ratio", "orders", 0.01, 0.3, at=FAULT + 60),
        series("http_errors_ratio", "users", 0.01, 0.4 if users_fail else None, at=FAULT),
        series("http_errors_ratio", "carts", 0.01, 0.4 if carts_fail else None, at=FAULT, seed=3),
        series("process_resident_memory_bytes", "orders", 1e8, 1.6e8, at=FAULT - 600),
    ]
    ctx = context(extra, logs=lines)
    ctx.topology = Topology(
        depends_on={"web": ["orders"], "orders": ["users", "carts"], "users": [], "carts": []}
    )
    return run(ctx)


def test_a_callee_that_answered_5xx_unnamed_is_the_one_failing_callee() -> None:
    """orders' exception says a server it called answered 500, naming none: users, the
    one callee failing its own requests from as early, explains orders' trouble; with
    both callees failing, nothing says which, and orders keeps its own."""
    one = _orders_calls(users_fail=True, carts_fail=False)
    both = _orders_calls(users_fail=True, carts_fail=True)
    mine = _orders_calls(users_fail=True, carts_fail=False, msg="NullPointerException in {svc}")
    (o1,) = cands(one, "unknown", "orders")
    (o2,) = cands(both, "unknown", "orders")
    (o3,) = cands(mine, "unknown", "orders")
    assert o1.features["deeper"] > 0.5
    assert o2.features["deeper"] < o1.features["deeper"] - 0.3
    assert o3.features["deeper"] < o1.features["deeper"] - 0.3


# ------------------------------------------------------------------ an outside API by two names

ROUTE = "route lookup failed: upstream routeatlas returned 503 Service Unavailable in {svc}"


def _maps(msg: str = ROUTE, db_at: float | None = None, extra_callee: str = "") -> Analysis:
    """api calls db and maps-provider (an outside API no data names); from the fault
    api's error ratio rises and it logs `msg`, which names no service the data knows."""
    lines = [(FAULT + 20 + i * 20, "api", "error", msg.format(svc="api")) for i in range(20)]
    lines += [(T0 + i * 30.0, "api", "info", "GET /health 200") for i in range(N * 2)]
    extra = [
        series("http_errors_ratio", "api", 0.01, 0.3),
        series("pg_stat_activity_count", "db", 10.0, 40.0 if db_at else None, at=db_at or FAULT),
    ]
    ctx = context(extra, logs=lines)
    callees = ["db", "maps-provider", *([extra_callee] if extra_callee else [])]
    ctx.topology = Topology(depends_on={"web": ["api"], "api": callees, "db": []})
    return run(ctx)


def test_dependency_errors_naming_nothing_known_are_the_one_unseen_callees() -> None:
    """`upstream routeatlas returned 503`: routeatlas is no service the data knows, and
    the topology gives api one callee no data names, maps-provider: that is it."""
    a = _maps()
    assert "maps-provider" in a.findings.dead
    top = max(a.candidates, key=lambda c: c.score)
    assert (top.kind, top.service) == ("dependency_failure", "maps-provider")


@pytest.mark.parametrize(
    "case",
    [
        "in_cluster",  # the line names a Kubernetes Service: a wrong host inside, not outside
        "db_first",  # another callee was in trouble first: the error may well be its
        "two_unseen",  # two callees no data names: which one, nothing says
        "two_alike",  # ... even where the host's words begin both their names
        "resolver",  # a resolver is asked, not called
    ],
)
def test_dependency_errors_naming_nothing_known_stay_unplaced_when_unsure(case: str) -> None:
    if case == "in_cluster":
        a = _maps("connection refused (inventory-v2.shop.svc.cluster.local:8080) in {svc}")
    elif case == "db_first":
        a = _maps(db_at=FAULT - 300)
    elif case == "two_unseen":
        a = _maps(extra_callee="tax-api")
    elif case == "two_alike":
        a = _maps("upstream returned 503 Service Unavailable from https://api.atlasmaps.example/v1")
        topo = Topology(depends_on={"web": ["api"], "api": ["db", "atlas-api", "atlas-svc"]})
        a = run(replace(a.ctx, topology=topo))
        assert not {"atlas-api", "atlas-svc"} & set(a.findings.dead)
        return
    else:
        a = _maps(extra_callee="")
        topo = Topology(depends_on={"web": ["api"], "api": ["db", "coredns"], "db": []})
        a = run(replace(a.ctx, topology=topo))
        assert "coredns" not in a.findings.dead
        return
    assert "maps-provider" not in a.findings.dead


# ------------------------------------------------------------------ a release's callers


def test_callers_failing_long_after_a_release_are_not_its_harm() -> None:
    """pricing's callers fail on what it answers from the fault on: a release of pricing
    two minutes before harmed them; one `AFTER_S` and more before did not (a release that
    broke its contract fails its callers as its pods take the traffic)."""
    from tests.test_proposers import PRICE, _answered

    def harm(at: float) -> float:
        a, _ = _answered(PRICE)
        a = run(replace(a.ctx, changes=[_deploy("d-pricing", "pricing", at)]))
        (c,) = [c for c in a.candidates if c.subject == "d-pricing"]
        return c.features["change_harm"]

    assert harm(FAULT - 120) > 0.5
    assert harm(FAULT - AFTER_S - 300) < 0.1


# ------------------------------------------------------------------ what dates an incident


@pytest.mark.parametrize(
    ("family", "before", "after", "dated"),
    [
        ("traffic", 19.3, 18.1, False),  # a canary's share stepping: a quiet minute
        ("traffic", 308.0, 323.0, False),  # 5% busier
        ("traffic", 100.0, 300.0, True),  # a surge
        ("traffic", 100.0, 20.0, True),  # its callers lost the way to it
        ("errors", 0.01, 0.0105, True),  # trouble dates it however small
    ],
)
def test_which_moves_date_an_incident(
    family: str, before: float, after: float, dated: bool
) -> None:
    f = MetricFinding(
        series=series("x", "api", before),
        family=family,
        direction=1 if after > before else -1,
        z=30.0,
        rel=abs(after - before) / before,
        baseline=before,
        level=after,
        peak=after,
        onset=FAULT,
        strength=0.9,
        bad=True,
    )
    assert dates(f) is dated
    assert 0.0 < TRAFFIC_DATES < 1.0


# ------------------------------------------------------------------ more of who and what


def test_a_celery_worker_is_named_by_the_exporters_hostname() -> None:
    """celery-exporter runs in a pod of its own and names the worker a series is of in
    `hostname`, as Celery does: `celery@<pod>`, the pod's workload. A queue's series
    (no worker named) stay the collector's, which is no service."""
    lab = {
        "job": "celery-exporter",
        "service": "celery-exporter",
        "pod": "celery-exporter-d9zvvzj9r-2lffg",
        "hostname": "celery@celery-worker-7rpqlt7rp-fpzj5",
    }
    assert service_of(lab, ("service", "job")) == "celery-worker"
    queue = {k: v for k, v in lab.items() if k != "hostname"} | {"queue_name": "pdf"}
    assert service_of(queue, ("service", "job")) is None


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("rabbitmq_connections_opened_total", "traffic"),  # arrivals at a server
        ("redis_connections_received_total", "traffic"),
        ("rabbitmq_connections_closed_total", None),  # churn
        ("django_db_new_connections_total", None),  # a client's pool making new ones
        ("hikaricp_connections_creation_seconds_count", None),
        ("rabbitmq_connections", "connections"),  # held at once
        ("hikaricp_connections_active", "connections"),
        # clients that connected, counted and rated (EMQX's `client.connected` hook):
        # arrivals; those connected now are held
        ("emqx_client_connected_rate", "traffic"),
        ("emqx_client_connected_total", "traffic"),
        ("redis_clients_connected", "connections"),
        ("redis_connected_clients", "connections"),
        ("mysql_global_status_threads_connected", "connections"),
        # anything else a server accepted, counted: arrivals (Kamailio's registrations)
        ("kamailio_registrar_accepted_regs_rate", "traffic"),
        ("kamailio_registrar_rejected_regs_rate", "errors"),
    ],
)
def test_connections_counted_as_they_come_and_go_are_not_connections_held(
    name: str, family: str | None
) -> None:
    assert FamilyMatcher().classify(name, {}).family == family


def test_of_several_outside_callees_the_one_whose_words_begin_the_host_is_it() -> None:
    """invoice-api calls two outside services no data names, tax-api and object-storage,
    and its client metrics one host, api.taxrates.example: `tax` begins `taxrates`, so
    the host is tax-api's, and its failed calls are tax-api's failure."""
    from aisre_cli.investigate.analyzers import metric_edges
    from tests.test_proposers import _client_calls

    assert metric_edges.words_begin("tax-api", "api.taxrates.example")
    assert not metric_edges.words_begin("object-storage", "api.taxrates.example")
    assert not metric_edges.words_begin("api", "api.taxrates.example")  # says what, not which
    calls = _client_calls("api", "api.taxrates.example", "503", 40.0)
    errs = series("http_errors_ratio", "api", 0.01, 0.3)
    db = series("pg_stat_activity_count", "db", 10.0)
    ctx = context([calls, errs, db])
    ctx.topology = Topology(
        depends_on={"web": ["api"], "api": ["db", "tax-api", "object-storage"], "db": []}
    )
    assert metric_edges.callee_aliases(ctx.series, ctx.topology, {"api", "web", "db"}) == {
        "api.taxrates.example": "tax-api"
    }
    top = max(run(ctx).candidates, key=lambda c: c.score)
    assert (top.kind, top.service) == ("dependency_failure", "tax-api")
    # ... and its log lines, calling that host, name it so too
    msg = "Tax provider call failed: 503 Service Unavailable from https://api.taxrates.example/v1"
    a = _maps(msg + " in {svc}", extra_callee="tax-api")
    assert "tax-api" in a.findings.dead and "maps-provider" not in a.findings.dead


def test_a_flag_brings_no_version() -> None:
    """A flag switched for one tenant rolls no pods: a canary that came up in the same
    minutes is another change's, and its comparison is not the flag's."""
    from aisre_cli.investigate.analyzers import changes as change_an
    from aisre_cli.model import Change
    from tests.test_proposers import _dt, _versioned

    at = FAULT - 300
    pods = _versioned("version", "v1", "v2", at)
    flag = Change(id="f", ts=_dt(at), service="api", kind="flag")
    config = Change(id="c", ts=_dt(at), service="api", kind="config")
    harm = change_an.attribute([flag, config], pods, FamilyMatcher().classify)
    assert not harm["f"].version_compared and harm["f"].version_harm == 0.0
    assert harm["c"].version_compared and harm["c"].version_harm > 0.5


def test_a_rollout_compared_before_and_after_is_explained_by_a_deeper_fault() -> None:
    """api's rollout replaced its old pods (v2 from seven minutes before the fault, the
    last v1 pod gone six minutes later; api erring from five minutes before it), and db
    below it fails as early. The new pods against what the old ones did before is a
    before-and-after: db's trouble explains it, as it explains any before-and-after, and
    the rollout loses its harm."""
    cut, bad = 38, FAULT - 300
    at = T0 + cut * STEP

    def harm(db_fails: bool) -> float:
        lab = {"version": "v1"}
        was = series("http_errors_ratio", "api", 0.01, 0.2, labels=lab, seed=2, at=bad)
        gone = replace(was, timestamps=was.timestamps[: cut + 6], values=was.values[: cut + 6])
        new = series(
            "http_errors_ratio", "api", 0.01, 0.2, labels={"version": "v2"}, seed=3, at=bad
        )
        new = replace(new, timestamps=new.timestamps[cut:], values=new.values[cut:])
        db = series("http_errors_ratio", "db", 0.01, 0.5 if db_fails else None, seed=4, at=bad)
        a = run(context([gone, new, db], changes=[_deploy("d", "api", at, version="v2")]))
        assert not a.findings.harm["d"].version_side_by_side
        (c,) = [c for c in a.candidates if c.subject == "d"]
        return c.features["change_harm"]

    assert harm(db_fails=False) > 0.5
    assert harm(db_fails=True) < 0.2


# ------------------------------------------------------------------ errors that name a change


def test_the_identifiers_a_change_touched() -> None:
    from aisre_cli.investigate.scene import touched

    said = "KafkaTopic surge-multipliers: max.message.bytes 1048588 -> 65536 (GitOps sync)"
    assert touched(said, {"rides-kafka"}) == {"surge-multipliers", "max.message.bytes"}
    # a service's name, a version, a short word: no identifier of what it touched
    assert touched("Deploy invoice-api v3.35.8 to prod-eu", {"invoice-api"}) == set()


def _topic_change(msg: str, before: float = 120.0) -> Analysis:
    """kafka's topic config changed `before` seconds before the fault; from a minute
    before the fault sink's new errors say `msg` and it crash-loops (restarts); kafka's
    own readings stay calm."""
    from aisre_cli.model import Change
    from tests.test_proposers import _dt, _restarts

    lines = [(FAULT - 60 + i * 20, "sink", "error", msg) for i in range(20)]
    lines += [(T0 + i * 30.0, "sink", "info", "checkpoint completed") for i in range(N * 2)]
    ts = [T0 + i * STEP for i in range(N)]
    loops = _restarts(ts, [0.0 if t < FAULT else (t - FAULT) / 60.0 for t in ts])
    loops = replace(loops, service="sink", labels={**loops.labels, "service": "sink"})
    extra = [
        loops,
        series("http_errors_ratio", "sink", 0.01, 0.3),
        series("kafka_server_messages_in_total_rate", "kafka", 100.0),
    ]
    ch = Change(
        id="topic",
        ts=_dt(FAULT - before),
        service="kafka",
        kind="config",
        summary="KafkaTopic surge-multipliers: max.message.bytes 1048588 -> 65536",
    )
    ctx = context(extra, changes=[ch], logs=lines)
    ctx.topology = Topology(depends_on={"web": ["sink"], "sink": ["kafka"], "kafka": []})
    return run(ctx)


def test_errors_naming_what_a_change_touched_are_its_harm() -> None:
    """A producer's sink fails on the topic whose size limit a change lowered (its errors
    name `surge-multipliers`): the change harmed it, though kafka's own readings stay
    calm, and the producer's crash loop is the change's doing. Errors naming no such
    thing leave the change unharmed and the crash loop the producer's own."""
    named = _topic_change(
        "Failed to send data to Kafka surge-multipliers-7: RecordTooLargeException"
    )
    other = _topic_change("Window function failed: NullPointerException in SurgeWindow")
    (c1,) = [c for c in named.candidates if c.subject == "topic"]
    (c2,) = [c for c in other.candidates if c.subject == "topic"]
    assert c1.features["change_harm"] > 0.3 and c2.features["change_harm"] == 0.0
    (l1,) = cands(named, "crash_loop", "sink")
    (l2,) = cands(other, "crash_loop", "sink")
    assert l1.features["kind_signal"] < l2.features["kind_signal"] - 0.1
    assert c1.score > c2.score
    # errors that began a quarter of an hour and more after it are not what it broke
    late = _topic_change(
        "Failed to send data to Kafka surge-multipliers-7: RecordTooLargeException",
        before=AFTER_S + 300,
    )
    (c3,) = [c for c in late.candidates if c.subject == "topic"]
    assert c3.features["change_harm"] == 0.0


def test_a_host_with_a_port_is_a_host_a_stack_frame_is_not() -> None:
    """Socket errors name the peer as `host:port` (`Connection reset by peer
    (api.routeatlas.io:443)`): that is a host the line calls, as a URL's is; a stack
    frame's `(Thread.java:833)` is a file and a line."""
    assert dep_an._hosts_in("Connection reset by peer (api.routeatlas.io:443)") == {
        "api.routeatlas.io"
    }
    assert dep_an._hosts_in("at java.lang.Thread.run(Thread.java:833)") == set()
    assert dep_an._hosts_in("timed out calling https://api.taxrates.example/v1") == {
        "api.taxrates.example"
    }
    a = _maps("route lookup failed: [Errno 104] Connection reset by peer (api.routeatlas.io:443)")
    assert "maps-provider" in a.findings.dead
