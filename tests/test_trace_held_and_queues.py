"""Readings found on two blind sets (a hotel-booking benchmark traced with Jaeger, a
food-delivery marketplace on Linkerd with Celery workers):

- a caller whose own spans kept their time, while its calls to a deeper service hold
  the latency increase, is a symptom of that service (`scene.TRACE_HOLDS`);
- a task queue's series and alerts, which name the queue and the exporter, are about
  the workers that consume the queue (`triage._queue_workers`,
  `alert_service.from_label_role`);
- and, from an IoT platform's: a certificate that expired after a change, as the
  trouble began, explains what followed better than the change's timing does
  (`proposers.changes.cert_expired_between`).
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from aisre_cli.investigate.alert_service import from_label_role, infer
from aisre_cli.investigate.triage import _claim_owner, _queue_workers
from aisre_cli.model import Alert, Change, Series, Span
from tests.test_proposers import FAULT, STEP, T0, N, cands, context, run, series
from tests.test_traces import Call, _trace

# ------------------------------------------------------------------ where the time went


def _spans(db_after: float, api_after: float = 4.0, peer: str = "db") -> list[Span]:
    """web -> api -> a leaf client span of api's to `db` (not instrumented), one request
    every 20 s over the hour; after FAULT the call to db takes `db_after` ms and api's
    own work `api_after` ms."""
    rnd = random.Random(4)
    out: list[Span] = []
    for i in range(180):
        t0 = T0 + 20.0 * i
        late = t0 >= FAULT
        j = rnd.uniform(0.9, 1.1)
        call = Call("api", "db.query", (db_after if late else 3.0) * j)
        api = Call("api", "GET /items", (api_after if late else 4.0) * j, [call])
        for sp in _trace(f"t{i}", Call("web", "GET /", 2.0 * j, [api]), t0):
            out.append(replace(sp, peer=peer) if sp.name == "db.query" else sp)
    return out


def _latency() -> list[Series]:
    # api's latency, as its callers measure it: it includes the wait for db
    return [
        series("http_request_duration_seconds_p99", "api", 0.01, 0.3),
        series("http_request_duration_seconds_p99", "web", 0.02, 0.3),
    ]


def _features(spans: list[Span]) -> dict[str, dict[str, float]]:
    a = run(context(extra=_latency(), spans=spans))
    out: dict[str, dict[str, float]] = {}
    for c in a.candidates:
        out.setdefault(c.service, c.features)
    return out


def test_a_caller_whose_calls_to_a_slow_store_hold_the_increase_is_its_symptom() -> None:
    f = _features(_spans(db_after=300.0))
    assert f["db"]["trace_blame"] > 0.5
    # api's own spans kept their time: its latency is db's
    assert f["api"]["deeper"] > 0.9
    assert f["api"]["root_local"] < 0.1


def test_a_caller_slow_in_its_own_spans_keeps_its_latency() -> None:
    f = _features(_spans(db_after=3.0, api_after=300.0))
    assert f["api"]["trace_blame"] > 0.5
    assert f["api"]["deeper"] < 0.5


def test_without_a_trace_of_where_the_time_went_the_caller_is_not_cleared() -> None:
    # the same spans, the store's calls not naming it: the time is api's own
    f = _features(_spans(db_after=300.0, peer=""))
    assert f["api"]["deeper"] < 0.5


def test_outlying_calls_without_a_shift_do_not_clear_the_caller() -> None:
    # traces kept only after the fault, a third of the calls to db slow: outliers of
    # the operation, but no before to shift from. Where the increase sits is not known
    rnd = random.Random(9)
    spans: list[Span] = []
    for i in range(60):
        t0 = FAULT + 20.0 * i
        j = rnd.uniform(0.9, 1.1)
        call = Call("api", "db.query", (300.0 if i % 3 == 0 else 3.0) * j)
        api = Call("api", "GET /items", 4.0 * j, [call])
        for sp in _trace(f"t{i}", Call("web", "GET /", 2.0 * j, [api]), t0):
            spans.append(replace(sp, peer="db") if sp.name == "db.query" else sp)
    a = run(context(extra=_latency(), spans=spans))
    (db,) = [t for t in a.findings.traces if t.service == "db"]
    assert db.evidence_kind == "outlier"
    f = {c.service: c.features for c in a.candidates}
    # (db's reading explains a part of api's, as any deeper anomaly does; not all of it)
    assert f["api"]["deeper"] < 0.8


# ------------------------------------------------------------------ task queues


def _alert(**labels: str) -> Alert:
    return Alert(
        id="a",
        name="CeleryTaskHighFailRate",
        labels={"alertname": "CeleryTaskHighFailRate", **labels},
        starts_at=datetime.fromtimestamp(FAULT, UTC),
    )


def test_a_queues_alert_is_about_the_workers_that_consume_it() -> None:
    known = {"storefront", "dispatch-worker", "notifications", "rabbitmq"}
    a = _alert(job="celery-exporter", queue_name="dispatch", name="orders.tasks.capture")
    assert infer(a, ["service"], known) == (
        "dispatch-worker",
        "a label of the alert naming what the service works on",
    )
    # a queue two services consume, and a value that is no head of a name: none
    assert from_label_role(a, known | {"dispatch-consumer"}) is None
    assert from_label_role(_alert(queue_name="patch"), known) is None
    # a name's head followed by anything but a role word is another service
    assert from_label_role(_alert(queue_name="dispatch"), {"dispatch-db"}) is None


def _celery(labels: dict[str, str]) -> Series:
    return Series(
        "celery_task_failed_total",
        "",
        {"job": "celery-exporter", **labels},
        [T0],
        [1.0],
        query="celery_task_failed_total",
    )


def test_a_queues_series_is_of_the_workers_that_consume_it() -> None:
    known = {"storefront", "dispatch-worker", "user-service"}
    assert _queue_workers(_celery({"queue_name": "dispatch"}), known).service == "dispatch-worker"
    assert _queue_workers(_celery({"queue": "dispatch"}), known).service == "dispatch-worker"
    # only a queue's label says what its consumers work on: node_exporter's
    # `mode="user"` is no queue of `user-service`
    assert _queue_workers(_celery({"mode": "user"}), known).service == ""
    assert _queue_workers(_celery({"queue_name": "user"}), known).service == ""
    # a queue two services consume is neither's alone
    both = known | {"dispatch-consumer"}
    assert _queue_workers(_celery({"queue_name": "dispatch"}), both).service == ""
    # a series with a service keeps it
    s = replace(_celery({"queue_name": "dispatch"}), service="storefront")
    assert _queue_workers(s, known).service == "storefront"


# ------------------------------------------------------------------ a certificate's timing


def _config(cid: str, svc: str, at: float) -> Change:
    return Change(id=cid, ts=datetime.fromtimestamp(at, UTC), service=svc, kind="config")


def _countdown(zero_at: float) -> Series:
    ts = [T0 + i * STEP for i in range(N)]
    return Series(
        "tls_cert_seconds_remaining", "api", {"service": "api"}, ts, [zero_at - t for t in ts]
    )


def test_a_certificate_that_expired_after_a_change_explains_what_followed() -> None:
    # a setting changed four minutes before api's certificate ran out, and api failed
    # when it did: the expiry's timing is exact, the change's is only "before"
    change = _config("cfg-1", "api", FAULT - 4 * STEP)
    a = run(
        context(
            [_countdown(FAULT), series("http_errors_ratio", "api", 0.01, 0.5)],
            changes=[change],
        )
    )
    (cfg,) = cands(a, "config_change", "api")
    (cert,) = cands(a, "certificate_expiry", "api")
    assert cert.prob > cfg.prob
    assert "a certificate of api expired after it" in cfg.statement
    # the same change without the expiry in between convicts as before
    b = run(
        context(
            [_countdown(FAULT + 30 * STEP), series("http_errors_ratio", "api", 0.01, 0.5)],
            changes=[change],
        )
    )
    (cfg_b,) = cands(b, "config_change", "api")
    assert cfg_b.features["change_harm"] > 2 * cfg.features["change_harm"]
    assert cfg_b.score > cfg.score + 1.0
    assert "certificate" not in cfg_b.statement


# ------------------------------------------------------------------ a volume that fills


def _volume(claim: str, values: list[float]) -> Series:
    ts = [T0 + i * STEP for i in range(len(values))]
    labels = {"persistentvolumeclaim": claim, "job": "kubelet", "namespace": "shop"}
    return Series("kubelet_volume_stats_available_bytes", "", labels, ts, values)


@pytest.mark.parametrize(
    ("claim", "owner"),
    [
        ("data-redis-0", "redis"),  # a StatefulSet's: <template>-<statefulset>-<ordinal>
        ("pg-main-1", "pg-main"),  # an operator's: <cluster>-<n>
        ("pg-main-1-wal", "pg-main"),
        ("persistence-rabbitmq-server-1", "rabbitmq"),  # a run of its words
        ("data-elasticsearch-master-0", ""),  # no known service
        ("scratch", ""),
        ("x-redis-pg-y", ""),  # two services' names, neither at its end
    ],
)
def test_a_volume_claims_series_is_of_the_workload_it_belongs_to(claim: str, owner: str) -> None:
    known = {"redis", "pg-main", "rabbitmq", "storefront", "pg"}
    assert _claim_owner(_volume(claim, [1.0]), known).service == owner


# ------------------------------------------------------------------ a resource running out


def _free_disk(from_t: float, zero_at: float) -> Series:
    """Free disk ratio of api's volume: .6 until `from_t`, falling to 0 by `zero_at`."""
    ts = [T0 + i * STEP for i in range(N)]
    vals = [
        0.6 if t <= from_t else max(0.0, 0.6 * (1 - (t - from_t) / (zero_at - from_t))) for t in ts
    ]
    return Series(
        "node_filesystem_avail_ratio",
        "api",
        {"service": "api", "mountpoint": "/var/lib/api"},
        ts,
        vals,
        query="node_filesystem_avail_bytes / node_filesystem_size_bytes",
    )


def test_a_resource_running_out_before_a_change_explains_what_followed() -> None:
    # api's volume has been filling for half an hour; a setting changes three minutes
    # before it runs out and api fails: the change came too late to have started it
    change = _config("cfg-2", "api", FAULT - 3 * STEP)
    errors = series("http_errors_ratio", "api", 0.01, 0.5)
    a = run(context([_free_disk(FAULT - 30 * STEP, FAULT), errors], changes=[change]))
    (cfg,) = cands(a, "config_change", "api")
    assert "disk was running out before it" in cfg.statement
    # the volume that began to fill only after the change: the change's doing, maybe
    b = run(context([_free_disk(FAULT - 2 * STEP, FAULT), errors], changes=[change]))
    (cfg_b,) = cands(b, "config_change", "api")
    assert "running out" not in cfg_b.statement
    assert cfg_b.features["change_harm"] > 2 * cfg.features["change_harm"]
    assert cfg_b.score > cfg.score + 1.0
