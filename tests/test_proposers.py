"""Per-kind proposers and the signal catalogue, one signal shape at a time.

Each test builds a small incident in memory (web → api → db, one alert on web), adds
one signal shape, and checks which candidate the proposers make of it: a countdown
gauge, an expiry timestamp, a restart counter, an OOMKilled log, a probe failure, a
version-labelled canary series, network time on traced calls, node-wide CPU, a
metric the catalogue does not know.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from aisre_cli.investigate import scene as scene_mod
from aisre_cli.investigate.analyzers import changes as change_an
from aisre_cli.investigate.analyzers import dependency as dep_an
from aisre_cli.investigate.analyzers import logs as log_an
from aisre_cli.investigate.analyzers import metric_edges, tls_edge, trace_edges
from aisre_cli.investigate.analyzers import metrics as metric_an
from aisre_cli.investigate.analyzers.metric_edges import client_calls
from aisre_cli.investigate.evidence import Candidate
from aisre_cli.investigate.families import FamilyMatcher
from aisre_cli.investigate.proposers import all_proposers, register, saturation
from aisre_cli.investigate.triage import (
    UNLINKED_PRIOR,
    Analysis,
    analyze_context,
    build_report,
    unowned_endpoint,
)
from aisre_cli.model import (
    Alert,
    Change,
    Context,
    Event,
    LogTable,
    Series,
    Span,
    Topology,
    Window,
)

T0 = 1_700_000_000.0
STEP = 60.0
N = 60
FAULT = T0 + 45 * STEP
"""The fault starts at point 45 of 60; the alert fires two minutes later."""
ALERT = FAULT + 120.0


def _dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def series(
    name: str,
    service: str,
    base: float,
    after: float | None = None,
    noise: float = 0.01,
    labels: dict[str, str] | None = None,
    seed: int = 1,
    at: float = FAULT,
) -> Series:
    rnd = random.Random(f"{name}{service}{seed}")
    ts = [T0 + i * STEP for i in range(N)]
    vals = []
    for t in ts:
        v = after if (after is not None and t >= at) else base
        vals.append(v * (1 + rnd.uniform(-noise, noise)))
    lab = {"service": service, **(labels or {})}
    return Series(name, service, lab, ts, vals, query=name, ref=f"metrics/{name}.json")


def context(
    extra: list[Series] | None = None,
    changes: list[Change] | None = None,
    spans: list[Span] | None = None,
    logs: list[tuple[float, str, str, str]] | None = None,
) -> Context:
    alert = Alert(id="a1", name="WebErrors", service="web", starts_at=_dt(ALERT))
    # the paging symptom: web's error ratio jumps at the fault
    base = [series("http_errors_ratio", "web", 0.01, 0.2)]
    table = LogTable()
    table.files.append("logs/x.jsonl")
    for i, (t, svc, level, msg) in enumerate(sorted(logs or [])):
        table.ts.append(t)
        table.service.append(svc)
        table.level.append(level)
        table.msg.append(msg)
        table.file_idx.append(0)
        table.line.append(i + 1)
    return Context(
        alert=alert,
        alerts=[alert],
        window=Window(start=_dt(T0), end=_dt(T0 + N * STEP)),
        series=base + (extra or []),
        logs=table,
        changes=changes or [],
        topology=Topology(depends_on={"web": ["api"], "api": ["db"], "db": []}),
        spans=spans or [],
    )


def run(ctx: Context) -> Analysis:
    return analyze_context(ctx)


def cands(a: Analysis, kind: str, service: str | None = None) -> list[Candidate]:
    return [c for c in a.candidates if c.kind == kind and (service is None or c.service == service)]


# ------------------------------------------------------------------ catalogue


@pytest.mark.parametrize(
    ("name", "family", "bad_up", "shape", "scope"),
    [
        ("container_cpu_usage_seconds_total", "cpu", True, "counter", "container"),
        # sessions held at once are connections (`test_an_app_named_for_sessions_...`)
        ("haproxy_frontend_current_sessions", "connections", True, "gauge", "service"),
        ("tomcat_sessions_active_current_sessions", "connections", True, "gauge", "service"),
        # requests past a server's slowlog timeout are latency, not demand
        ("phpfpm_slow_requests", "latency", True, "gauge", "service"),
        ("slow_requests_total", "latency", True, "counter", "service"),
        # an alarm flag is bad when raised, whatever its condition's words say
        ("rabbitmq_alarms_free_disk_space_watermark", "disk", True, "gauge", "service"),
        # "connect" names a product or a step, not connections held: Kafka Connect's
        # records polled are its demand, HAProxy's connect time a latency, MySQL's
        # aborted connects failed handshakes; a gateway's disconnects are clients dropped
        ("kafka_connect_source_record_poll_rate", "traffic", True, "gauge", "service"),
        ("kafka_connect_sink_record_send_total", "traffic", True, "counter", "service"),
        ("haproxy_backend_connect_time_average_seconds", "latency", True, "gauge", "service"),
        ("mysql_global_status_aborted_connects", "errors", True, "counter", "service"),
        ("phoenix_socket_disconnects_total", "errors", True, "counter", "service"),
        ("redis_connected_clients", "connections", True, "gauge", "service"),
        ("mongodb_connections_current", "connections", True, "gauge", "service"),
        # Datadog's service check: 1 while it can connect
        ("http.can_connect", "availability", False, "updown", "service"),
        ("rabbitmq_alarms_memory_used_watermark", "memory", True, "gauge", "service"),
        ("rabbitmq_disk_space_available_bytes", "disk", False, "gauge", "service"),
        ("node_cpu_usage_percent", "cpu", True, "percent", "node"),
        ("pod_success_rate_percent", "errors", False, "percent", "pod"),
        ("probe_ssl_earliest_cert_expiry", "certificates", False, "expiry_ts", "probe"),
        ("tls_cert_days_left", "certificates", False, "countdown", "service"),
        ("kube_pod_container_status_restarts_total", "restarts", True, "counter", "container"),
        ("probe_success", "availability", False, "updown", "probe"),
        # OpenStack's agents as openstack-exporter reports them, and a Galera node ready
        ("openstack_cinder_agent_state", "availability", False, "updown", "service"),
        ("mysql_global_status_wsrep_ready", "availability", False, "updown", "service"),
        ("istio_requests_total", "traffic", True, "counter", "service"),
        ("http_server_requests_seconds_count", "traffic", True, "counter", "service"),
        ("jvm_memory_used_bytes", "memory", True, "gauge", "service"),
        ("hikaricp_connections_pending", "connections", True, "gauge", "service"),
        # substrings that lie: "throttled" holds "ttl", "unavailable" holds "avail",
        # "unsuccessful" holds "success", "unhealthy" holds "healthy"
        ("container_cpu_cfs_throttled_periods_total", "cpu", True, "counter", "container"),
        ("container_cpu_cfs_throttled_seconds_total", "cpu", True, "counter", "container"),
        ("kube_deployment_status_replicas_unavailable", "availability", True, "gauge", "service"),
        ("kube_deployment_status_replicas_available", "availability", False, "gauge", "service"),
        ("http_client_requests_unsuccessful_total", "errors", True, "counter", "service"),
        ("consul_unhealthy_services", "availability", True, "gauge", "service"),
        ("envoy_cluster_membership_healthy", "availability", False, "updown", "service"),
        ("cert_days_until_expiry", "certificates", False, "countdown", "service"),
        # CloudWatch, as YACE names it: API Gateway's Count and a stream's incoming
        # records are demand; a stream's provisioned throughput exceeded is its calls
        # throttled; how far a consumer reads behind; a queue's messages waiting;
        # Step Functions' timed-out executions; Lambda's dropped
        # asynchronous events (errors, not the wire's drops)
        ("aws_apigateway_count_sum", "traffic", True, "counter", "service"),
        ("aws_kinesis_incoming_records_sum", "traffic", True, "counter", "service"),
        ("aws_dynamodb_consumed_write_capacity_units_sum", "traffic", True, "counter", "service"),
        ("aws_kinesis_read_provisioned_throughput_exceeded_sum", "cpu", True, "counter", "service"),
        ("aws_lambda_iterator_age_maximum", "latency", True, "gauge", "service"),
        (
            "aws_sqs_approximate_number_of_messages_visible_maximum",
            "latency",
            True,
            "gauge",
            "service",
        ),
        ("aws_lambda_throttles_sum", "connections", True, "counter", "service"),
        ("aws_states_executions_timed_out_sum", "errors", True, "counter", "service"),
        ("aws_lambda_async_events_dropped_sum", "errors", True, "counter", "service"),
        # Azure Monitor's names, as azure-metrics-exporter labels them (`metric`)
        ("azure_NormalizedRUConsumption", "cpu", True, "gauge", "service"),
        ("azure_percentProcessorTime", "cpu", True, "percent", "service"),
        ("azure_workers_percent", "connections", True, "percent", "service"),
        ("azure_ActiveMessages", "latency", True, "gauge", "service"),
        ("azure_DeadletteredMessages", "errors", True, "gauge", "service"),
        ("azure_IncomingMessages", "traffic", True, "gauge", "service"),
        # RCAEval-style per-service columns; node load, not "workload"
        ("cartservice_workload", "traffic", True, "gauge", "service"),
        ("node_load15", "cpu", True, "gauge", "node"),
        # memcached's metrics are not memory; an expired certificate is bad going up
        ("memcached_current_connections", "connections", True, "gauge", "service"),
        # connections ever accepted are arrivals (php-fpm, nginx), not ones held
        ("phpfpm_accepted_connections", "traffic", True, "gauge", "service"),
        ("nginx_connections_accepted", "traffic", True, "gauge", "service"),
        ("nginx_connections_active", "connections", True, "gauge", "service"),
        # StatsD timers as Graphite names them: latency; their count is traffic
        ("stats_timers_checkout_upper_95", "latency", True, "gauge", "service"),
        ("stats_timers_checkout_mean", "latency", True, "gauge", "service"),
        ("stats_timers_checkout_count", "traffic", True, "counter", "service"),
        # a count of calls that succeeded is demand (a share of it is availability)
        ("transaction_success_count", "traffic", True, "counter", "service"),
        ("http_requests_success_ratio", "errors", False, "ratio", "service"),
        ("x509_cert_expired", "certificates", True, "gauge", "service"),
        ("kube_endpoint_address_not_ready", "availability", True, "gauge", "service"),
        ("executor_queued_tasks", "connections", True, "gauge", "service"),
        # connections in use now, not events: a `_count` level; a timer's count counts
        ("pg_stat_activity_count", "connections", True, "gauge", "service"),
        ("hikaricp_connections_acquire_seconds_count", "connections", True, "counter", "service"),
        ("nginx_upstream_responses_total", "traffic", True, "counter", "service"),
        ("aws_elb_httpcode_backend_5_xx_sum", "errors", True, "counter", "service"),
        # a histogram's count is how many requests; a Micrometer timer's max how slow
        ("http_client_request_duration_seconds_count", "traffic", True, "counter", "service"),
        ("http_server_requests_seconds_max", "latency", True, "gauge", "service"),
        ("mysql_slave_status_seconds_behind_master", "latency", True, "gauge", "service"),
        # X-Ray's share of OK requests; OpenTelemetry hostmetrics are the host's
        ("aws_xray_ok_percent", "errors", False, "percent", "service"),
        ("system_cpu_utilization", "cpu", True, "ratio", "node"),
        ("system_memory_usage_bytes", "memory", True, "gauge", "node"),
        ("host_cpu_usage_percent", "cpu", True, "percent", "node"),
        # Datadog's agent: usable memory is bad going down; bytes received are traffic
        ("system_mem_pct_usable", "memory", False, "percent", "node"),
        ("system_net_bytes_rcvd", "traffic", True, "gauge", "node"),
        (
            "certmanager_certificate_expiration_timestamp_seconds",
            "certificates",
            False,
            "expiry_ts",
            "service",
        ),
        # dotted (StatsD, Datadog, OpenTelemetry), hyphenated and camelCase names are
        # read word by word, as the snake_case ones are
        ("system.cpu.user", "cpu", True, "gauge", "node"),
        ("kafka.consumer.lag", "latency", True, "gauge", "service"),
        ("Success-Rate", "errors", False, "gauge", "service"),
        ("responseTime", "latency", True, "gauge", "service"),
        ("http.server.requests.total", "traffic", True, "counter", "service"),
        # AIOps-style KPI abbreviations: mean response time, success rate, transactions
        ("mrt", "latency", True, "gauge", "service"),
        ("avg_rt", "latency", True, "gauge", "service"),
        ("sr", "errors", False, "gauge", "service"),
        ("succ_rate", "errors", False, "gauge", "service"),
        ("tps", "traffic", True, "gauge", "service"),
        ("cartservice_net_send", "traffic", True, "gauge", "service"),
        ("request_timeouts", "errors", True, "gauge", "service"),
        ("jvm_threads", "connections", True, "gauge", "service"),
        # TCP's own timeouts stay faults on the wire
        ("node_netstat_TcpExt_TCPTimeouts", "network", True, "gauge", "node"),
        # the stores' and brokers' own exporters: deadlocks abort transactions, slow
        # statements and the oldest waiting message are time, members serving are
        # availability, commands, statements and messages in are work done
        ("pg_stat_database_deadlocks", "errors", True, "counter", "service"),
        ("mysql_global_status_slow_queries", "latency", True, "counter", "service"),
        ("pg_stat_statements_mean_exec_seconds", "latency", True, "gauge", "service"),
        ("envoy_http_downstream_rq_time_sum", "latency", True, "counter", "service"),
        ("aws_sqs_approximate_age_of_oldest_message_maximum", "latency", True, "gauge", "service"),
        ("kafka_brokers", "availability", False, "gauge", "service"),
        ("haproxy_backend_active_servers", "availability", False, "gauge", "service"),
        ("grpc_server_handling_seconds_count", "traffic", True, "counter", "service"),
        ("redis_commands_processed_total", "traffic", True, "counter", "service"),
        ("mysql_global_status_questions", "traffic", True, "counter", "service"),
        ("pg_stat_database_xact_commit", "traffic", True, "counter", "service"),
        # Apigee's proxy: its responses and its latency histogram's count are its calls
        ("apigee_proxy_response_count_total", "traffic", True, "counter", "service"),
        ("apigee_proxy_latency_seconds_count", "traffic", True, "counter", "service"),
        # a consumer's demand is what it consumes (Kafka's fetch manager)
        (
            "kafka_consumer_fetch_manager_records_consumed_total",
            "traffic",
            True,
            "counter",
            "service",
        ),
        ("mongodb_op_counters_total", "traffic", True, "counter", "service"),
        ("kafka_server_brokertopicmetrics_messagesin_total", "traffic", True, "counter", "service"),
        (
            "kafka_topic_partition_under_replicated_partition",
            "availability",
            True,
            "gauge",
            "service",
        ),
        ("postgresql.active_queries", "connections", True, "gauge", "service"),
        ("varnish_main_client_req", "traffic", True, "gauge", "service"),
        ("system.load.1", "cpu", True, "gauge", "node"),
        ("envoy_http_downstream_rq_xx", "traffic", True, "gauge", "service"),
        ("elasticsearch_search_query_mean_seconds", "latency", True, "gauge", "service"),
        ("k8s_deployment_available", "availability", False, "gauge", "service"),
        ("postgresql_commits_total", "traffic", True, "counter", "service"),
        ("rabbitmq_message_published_total", "traffic", True, "counter", "service"),
        # Puma: the requests it can still take on (free threads) falling is the trouble,
        # its backlog rising
        ("puma_pool_capacity", "connections", False, "gauge", "service"),
        ("puma_backlog", "connections", True, "gauge", "service"),
    ],
)
def test_catalogue_reads_exporter_vocabularies(
    name: str, family: str, bad_up: bool, shape: str, scope: str
) -> None:
    c = FamilyMatcher().classify(name)
    assert (c.family, c.bad_up, c.shape, c.scope, c.known) == (family, bad_up, shape, scope, True)


def test_an_app_named_for_sessions_holds_no_sessions() -> None:
    """`session_api_logins_total` is the session-api's logins: its demand, not sessions
    held at once."""
    assert FamilyMatcher().classify("session_api_logins_total").family != "connections"


def test_a_connect_status_is_no_connection_count() -> None:
    """Kafka Connect's connector status is a state, not connections held: unknown."""
    c = FamilyMatcher().classify("kafka_connect_connector_status")
    assert c.family is None and not c.known


def test_catalogue_reads_reason_labels() -> None:
    m = FamilyMatcher()
    waiting = m.classify("kube_pod_container_status_waiting_reason", {"reason": "CrashLoopBackOff"})
    assert waiting.family == "restarts"
    assert m.classify("istio_requests_total", {"response_code": "503"}).family == "errors"
    assert m.classify("istio_requests_total", {"response_code": "200"}).family == "traffic"


@pytest.mark.parametrize(
    ("name", "labels", "family"),
    [
        # OpenTelemetry HTTP semantic conventions (1.21+, and before)
        ("http_server_requests_total", {"http_response_status_code": "503"}, "errors"),
        ("http_server_requests_total", {"http_response_status_code": "200"}, "traffic"),
        ("http_server_requests_total", {"http_status_code": "500"}, "errors"),
        # go-grpc-prometheus: the call count is traffic, failed or shed codes are errors
        ("grpc_server_handled_total", {"grpc_code": "OK"}, "traffic"),
        ("grpc_server_handled_total", {"grpc_code": "ResourceExhausted"}, "errors"),
        ("grpc_server_handled_total", {"grpc_code": "DeadlineExceeded"}, "errors"),
        ("grpc_server_handled_total", {"grpc_code": "NotFound"}, "traffic"),
        ("grpc_client_started_total", {}, "traffic"),
        # OpenTelemetry RPC: numeric gRPC codes (14 Unavailable; 5 NotFound is the caller's)
        ("rpc_server_calls_total", {"rpc_grpc_status_code": "14"}, "errors"),
        ("rpc_server_calls_total", {"rpc_grpc_status_code": "5"}, "traffic"),
        # Istio's gRPC status: the HTTP code of a gRPC call is 200 however it ended
        ("istio_requests_total", {"response_code": "200", "grpc_response_status": "14"}, "errors"),
        ("istio_requests_total", {"response_code": "200", "grpc_response_status": "0"}, "traffic"),
        ("istio_requests_total", {"response_code": "503", "grpc_response_status": ""}, "errors"),
        # classes of codes: recording rules, Istio, Micrometer's outcome (independent
        # bundles read a 5xx-only request rate rising 14x as a traffic surge)
        ("service:http_requests:rate5m", {"code_class": "5xx"}, "errors"),
        ("service:http_requests:rate5m", {"code_class": "2xx"}, "traffic"),
        ("istio_requests_total", {"response_code_class": "5xx"}, "errors"),
        ("http_server_requests_seconds_count", {"outcome": "SERVER_ERROR"}, "errors"),
        ("http_server_requests_seconds_count", {"outcome": "SUCCESS"}, "traffic"),
        ("http_requests_total", {"status": "5.."}, "errors"),
        # a cache's lookups that missed are no demand (a cold cache after a restart):
        # no family, as Redis' keyspace misses; its hits are its demand
        ("memcached_commands_total", {"command": "get", "status": "miss"}, None),
        ("memcached_commands_total", {"command": "get", "status": "hit"}, "traffic"),
        ("redis_keyspace_misses_total", {}, None),
        # 429 is the server shedding the call (gRPC's ResourceExhausted, over HTTP); a
        # 404 is the caller's own mistake, demand like any other answer
        (
            "http_client_request_duration_seconds_count",
            {"http_response_status_code": "429"},
            "errors",
        ),
        ("http_server_requests_total", {"http_response_status_code": "404"}, "traffic"),
        # Linkerd: a connection that closed with a socket error, and one that closed cleanly
        ("tcp_close_total", {"errno": "ECONNREFUSED"}, "errors"),
        ("tcp_close_total", {"errno": ""}, None),
        # OpenTelemetry's `error.type` is set on failed calls only: a timeout or an
        # exception's class with no status; a status code it carries reads as one
        ("http_client_request_duration_seconds_count", {"error_type": "timeout"}, "errors"),
        (
            "http_client_request_duration_seconds_count",
            {"error_type": "java.net.SocketTimeoutException"},
            "errors",
        ),
        ("http_client_request_duration_seconds_count", {"error_type": "404"}, "traffic"),
        # Micrometer's client timer: `status="IO_ERROR"` when no answer came
        ("http_client_requests_seconds_count", {"status": "IO_ERROR"}, "errors"),
        # OpenTelemetry's database and messaging clients: an operation-duration count is how
        # many operations, and the failed ones carry `error.type`
        ("db_client_operation_duration_seconds_count", {}, "traffic"),
        (
            "db_client_operation_duration_seconds_count",
            {"error_type": "org.postgresql.util.PSQLException"},
            "errors",
        ),
        ("messaging_process_duration_seconds_count", {}, "traffic"),
        # outcomes under other names: a result, Elastic APM's event outcome (whose
        # response-time count is how many calls), Azure's status group, a resolver's rcode
        ("outbound_requests_total", {"result": "error"}, "errors"),
        ("outbound_requests_total", {"result": "success"}, "traffic"),
        (
            "span_destination_service_response_time_count",
            {"event_outcome": "failure"},
            "errors",
        ),
        (
            "span_destination_service_response_time_count",
            {"event_outcome": "success"},
            "traffic",
        ),
        ("ResponseStatus", {"httpstatusgroup": "5xx"}, "errors"),
        ("unbound_answers_rcode_total", {"rcode": "SERVFAIL"}, "errors"),
        # CoreDNS's answers: the lookups it answered are demand, its failures the network
        ("coredns_dns_responses_total", {"rcode": "NOERROR"}, "traffic"),
        ("coredns_dns_responses_total", {"rcode": "SERVFAIL"}, "network"),
        ("coredns.response_code_count", {"rcode": "NOERROR"}, "traffic"),
        # a status in words is the calls that failed; only a container's `reason`
        # "Error" is an exit (kube-state-metrics)
        ("http_requests_total", {"status": "error"}, "errors"),
        ("requests_total", {"outcome": "failure"}, "errors"),
        # the OpenTelemetry Collector's spanmetrics and Tempo's metrics-generator count
        # calls by their span's status: the failed ones are errors, the rest demand
        ("traces_span_metrics_calls_total", {"status_code": "STATUS_CODE_ERROR"}, "errors"),
        ("traces_spanmetrics_calls_total", {"status_code": "STATUS_CODE_UNSET"}, "traffic"),
        ("traces_span_metrics_calls_total", {"status_code": "STATUS_CODE_OK"}, "traffic"),
        ("kube_pod_container_status_last_terminated_reason", {"reason": "Error"}, "restarts"),
        # a request-duration histogram's count of failed calls: errors, not traffic
        (
            "http_server_request_duration_seconds_count",
            {"http_response_status_code": "503"},
            "errors",
        ),
        (
            "http_server_request_duration_seconds_count",
            {"http_response_status_code": "200"},
            "traffic",
        ),
        # a timer's sum is time spent, not requests; its mean (sum / count) is latency
        ("http_server_requests_seconds_sum", {}, "latency"),
        ("istio_request_duration_milliseconds_sum", {}, "latency"),
        ("http_server_requests_seconds_avg", {}, "latency"),
    ],
)
def test_catalogue_reads_status_codes_by_meaning(
    name: str, labels: dict[str, str], family: str | None
) -> None:
    assert FamilyMatcher().classify(name, labels).family == family


def test_names_that_are_no_family() -> None:
    """A start or boot time is a timestamp (it jumps on a rollout or a reboot as on a
    crash; a node's is no latency), and a pod's resource requests are its spec, not
    traffic."""
    m = FamilyMatcher()
    for name in (
        "process_start_time_seconds",
        "container_start_time_seconds",
        "node_boot_time_seconds",  # node_exporter: when the node last booted
        "node_time_seconds",  # and its clock
    ):
        assert m.classify(name).family is None
    assert m.classify("kube_pod_container_resource_requests").family is None
    assert m.classify("kube_deployment_status_observed_generation").shape == "gauge"


def test_unknown_metric_is_generic_never_a_kind() -> None:
    c = FamilyMatcher().classify("widget_frobnication_level")
    assert c.family is None and not c.known
    # short tokens match whole words only: "alert", "smart", "sort" hold no "rt"
    for name in ("alert_count", "smart_attributes", "sort_buffer"):
        assert FamilyMatcher().classify(name).family is None, name
    a = run(context([series("widget_frobnication_level", "db", 10.0, 80.0)]))
    db = [c for c in a.candidates if c.service == "db"]
    assert db and {c.kind for c in db} == {"unknown"}
    assert db[0].features["generic_only"] == 1.0


# ------------------------------------------------------------------ shapes → kinds


def test_counter_is_read_as_a_rate() -> None:
    ts = [T0 + i * STEP for i in range(N)]
    vals, total = [], 0.0
    for t in ts:
        total += 600.0 if t < FAULT else 6000.0  # 10/s, then 100/s
        vals.append(total)
    s = Series("http_requests_total", "api", {"service": "api"}, ts, vals, query="x_total")
    m = FamilyMatcher()
    assert metric_an.counter_like(s, m)
    r = metric_an.as_rate(s)
    assert r.query.startswith("rate(") and not metric_an.counter_like(r, m)
    assert r.values[0] == pytest.approx(10.0) and r.values[-1] == pytest.approx(100.0)
    # a reset (the process restarted) is not a negative rate
    vals2 = vals[:30] + [v - vals[29] for v in vals[30:]]
    r2 = metric_an.as_rate(Series("x_total", "api", {}, ts, vals2))
    assert min(r2.values) >= 0


def test_a_total_of_failed_requests_only_is_no_demand() -> None:
    """Cloudflare's requests kept by a `403 OR 5*` filter, one series per status: their
    sum is failed requests, not demand, and `prepare` makes no total of them; with a
    success among them it does."""
    m = FamilyMatcher()
    failed = [
        series("requests_status", "edge", 5.0, 100.0, labels={"status_code": c})
        for c in ("403", "500")
    ]
    assert metric_an.demand_totals(failed, m) == []
    ok = series("requests_status", "edge", 900.0, labels={"status_code": "200"})
    (total,) = metric_an.demand_totals([*failed, ok], m)
    assert total.values[-1] > 900.0


def test_a_sum_that_lost_a_member_is_no_surge_and_a_restart_still_counts() -> None:
    """A counter summed over pods falls when one pod goes (22,502 → 17,967 requests):
    read as a restart from zero, the step would be 60 requests a second against 1, a
    surge that never was. The step is left out. A process that restarted counts from
    nothing at its usual rate: that fall is a restart, as in `rate()`."""
    ts = [T0 + i * 300.0 for i in range(8)]
    summed = [21000.0, 21300.0, 21600.0, 21900.0, 17400.0, 17700.0, 18000.0, 18300.0]
    r = metric_an.as_rate(Series("http_requests_total", "api", {}, ts, summed))
    assert max(r.values) == pytest.approx(1.0) and len(r.values) == 6
    inc = metric_an.as_increase(Series("http_requests_total", "api", {}, ts, summed), 900.0)
    assert max(inc.values) == pytest.approx(900.0)
    # restarted: 300 counted in the step after it, as before it
    restarted = [600.0, 900.0, 1200.0, 1500.0, 300.0, 600.0, 900.0, 1200.0]
    r2 = metric_an.as_rate(Series("http_requests_total", "api", {}, ts, restarted))
    assert r2.values == pytest.approx([1.0] * 7)
    # a young counter in a crash loop falls to more than half, at its usual rate
    young = [0.0, 300.0, 600.0, 500.0, 800.0, 1100.0, 600.0, 900.0]
    r3 = metric_an.as_rate(Series("http_requests_total", "api", {}, ts, young))
    assert len(r3.values) == 7 and max(r3.values) <= 2.0
    # a fall to under half is a restart, as `rate()` reads it, however much it then holds
    deep = [21000.0, 21300.0, 21600.0, 21900.0, 6000.0, 6300.0, 6600.0, 6900.0]
    r4 = metric_an.as_rate(Series("http_requests_total", "api", {}, ts, deep))
    assert len(r4.values) == 7 and max(r4.values) == pytest.approx(20.0)


def _cpu_after(deploy_at: float, burst_at: float, minutes: float, stays: bool = False) -> list:
    """api deployed at `deploy_at`; its CPU at 0.9 for `minutes` from `burst_at` (from
    then on with `stays`), 0.1 otherwise: the CPU findings."""
    ts = [T0 + i * STEP for i in range(N)]
    vals = [
        (0.9 if burst_at <= t < burst_at + 60 * minutes or (stays and t >= burst_at) else 0.1)
        * (1 + 0.02 * math.sin(t))
        for t in ts
    ]
    cpu = Series("container_cpu_usage_seconds_rate", "api", {"service": "api"}, ts, vals)
    ch = Change(id="d1", ts=_dt(deploy_at), service="api", kind="deploy", summary="api 1.2")
    a = run(context([cpu], changes=[ch]))
    return [f for f in a.findings.metrics if f.series.name == cpu.name]


def test_a_process_starting_after_its_deploy_costs_cpu_and_is_no_trouble() -> None:
    """A GAIA-style set: an innocent deploy's new process worked hard for three minutes
    and settled; read as trouble, it dated the incident at that deploy and the deploy
    took the blame at .83. CPU over within `START_UP_S` of its service's start is that
    start (`metrics.without_start_up`); CPU that stays up, or a burst ten minutes after
    the deploy, is kept."""
    assert _cpu_after(FAULT - 300, FAULT - 300, 3) == []
    assert _cpu_after(FAULT - 300, FAULT - 300, 3, stays=True)
    assert _cpu_after(FAULT - 900, FAULT - 300, 3)
    # ... and one that began two minutes after the start, however short: not the start
    assert _cpu_after(FAULT - 300, FAULT - 180, 3)


def test_a_start_time_that_moves_on_is_a_restart_and_a_restart_loop_burns_cpu() -> None:
    """An OpenStack set: neutron-server's container segfaulted and came back every two
    minutes; cAdvisor's `container_start_time_seconds` moved on at each start and
    nothing counted restarts, and the loop's CPU (every start works hard) read as
    saturation at .97. A start time that moves on is a restart count
    (`metrics.start_times_as_restarts`), its rises restarts (`restart_times`), and CPU
    over while starts keep coming within `START_UP_S` of each other is start-up
    (`without_start_up`): the crash loop ranks first. A start time that never moves is
    left alone, and so is a timestamp that is no start time."""
    ts = [T0 + i * STEP for i in range(N)]
    started = 1.77e9
    looping = [started + (t - FAULT) if t >= FAULT else started for t in ts]
    # (a new start each minute from the fault: its start time is the sample's)
    box = {"name": "api", "image": "reg/api:1", "id": "/docker/ab"}
    st = Series("container_start_time_seconds", "api", dict(box), ts, looping)
    (r,) = metric_an.start_times_as_restarts([st])
    assert r.name == "container_start_time_seconds_restarts"
    assert r.values[0] == 0.0 and r.values[-1] == sum(1 for t in ts if t > FAULT)
    steady = replace(st, values=[started] * N)
    assert metric_an.start_times_as_restarts([steady]) == [steady]
    other = replace(st, name="app_last_login_time", values=looping)
    assert metric_an.start_times_as_restarts([other]) == [other]
    # (a "start time" of no epoch: seconds into a job's run, not when a process began)
    offset = replace(st, values=[100.0 + 60.0 * i for i in range(N)])
    assert metric_an.start_times_as_restarts([offset]) == [offset]
    times = metric_an.restart_times([r], FamilyMatcher())
    assert times and all(svc == "api" and t > FAULT for svc, t in times)
    cpu = series("container_cpu_usage_seconds_rate", "api", 0.4, 1.4)
    a = run(context([cpu, st]))
    top = max(a.candidates, key=lambda c: c.score)
    assert (top.kind, top.service) == ("crash_loop", "api")
    assert not [f for f in a.findings.metrics if f.series.name == cpu.name]
    # the statement says how many restarts its counters counted
    assert re.search(r"crash-looping \(\d+ restarts from", top.statement), top.statement


def test_a_restart_that_applies_a_change_is_no_crash() -> None:
    """The same set: a config push restarted cinder-api's container (Kolla's
    reconfigure), its start time moved once with it, and read as a restart the push
    "harmed" it at .94, above an expired certificate. Restarts within `START_UP_S` of
    the service's own change are that change applied (`metrics.without_applied`); a
    restart later than that is kept, and so are the restarts of a service with no
    change."""
    ts = [T0 + i * STEP for i in range(N)]
    started = 1.77e9

    def restarted(at: list[float]) -> Series:
        vals = [started + sum(1.0 for a in at if t >= a) * 500.0 for t in ts]
        box = {"name": "api", "image": "reg/api:1", "id": "/docker/ab"}
        return Series("container_start_time_seconds", "api", box, ts, vals)

    push = Change(id="c1", ts=_dt(FAULT - 30), service="api", kind="config", summary="api.conf")

    def restarts(at: list[float], changes: list[Change]) -> list[str]:
        a = run(context([restarted(at)], changes=changes))
        return [f.series.name for f in a.findings.metrics if f.family == "restarts"]

    assert restarts([FAULT], [push]) == []
    assert restarts([FAULT], [])
    assert restarts([FAULT, FAULT + 10 * STEP], [push])


def test_a_disks_io_counted_without_total_is_a_counter_and_its_usage_a_level() -> None:
    """metricbeat's `docker_diskio_write_bytes` counts the bytes a container wrote since
    it started: read as a level, its steady climb was a disk "saturating" (924 MB →
    1.03 GB). Read as a counter (`metrics._DISK_IO`), it is a rate. A disk's usage
    climbing as steadily is a level: a disk filling."""
    ts = [T0 + i * STEP for i in range(N)]
    climb = [9.0e8 + 3.0e6 * i for i in range(N)]
    m = FamilyMatcher()
    io = Series("docker_diskio_write_bytes", "api", {"service": "api"}, ts, climb)
    assert metric_an.counter_like(io, m)
    used = Series("container_fs_usage_bytes", "api", {"service": "api"}, ts, climb)
    assert not metric_an.counter_like(used, m)


@pytest.mark.parametrize(
    ("name", "io"),
    [
        ("container_fs_writes_bytes_rate", True),  # cAdvisor's bytes written, rated
        ("node_disk_written_bytes_rate", True),
        ("node_disk_reads_completed_rate", True),
        ("container_fs_usage_bytes", False),  # how full
    ],
)
def test_a_disks_io_rising_is_load_on_it_not_the_disk_running_out(name: str, io: bool) -> None:
    """A socialNetwork set: nginx's container writing 39 B/s → 1 kB/s (its error log)
    was its disk "saturating" at .93, where a CPU-starved service two calls below was
    the cause. A disk's bytes or operations a second count `IO_SHARE` of a saturation
    (`metrics.disk_io`); its busy time and its fill level count whole."""
    from aisre_cli.investigate.proposers.saturation import IO_SHARE

    assert metric_an.disk_io(name) is io
    # how busy it is (its limit is a second a second) and how long requests wait say
    # how near its limit it is
    assert not metric_an.disk_io("node_disk_io_time_seconds_total")
    assert not metric_an.disk_io("system_diskio_iostat_await")
    (c,) = cands(run(context([series(name, "api", 40.0, 1000.0)])), "resource_saturation", "api")
    full = c.features["kind_signal"] > 0.5
    assert full is not io, c.features["kind_signal"]
    if io:
        assert c.features["kind_signal"] <= IO_SHARE + 1e-9
        # and says what it read: load on the disk, not a disk running out
        assert "disk I/O rose" in c.statement and "saturating" not in c.statement


def test_a_counter_named_without_total_is_read_by_its_shape() -> None:
    """Envoy names counters without `_total`: a whole-number count that never falls and
    climbs is a counter, read as a rate (its connect failures jump at the fault). A
    count per interval that dips, and a memory gauge that climbs, stay as they are."""
    ts = [T0 + i * STEP for i in range(N)]
    vals, total = [], 0.0
    for t in ts:
        total += 3.0 if t < FAULT else 90.0
        vals.append(total)
    m = FamilyMatcher()
    fails = Series("envoy_cluster_upstream_cx_connect_fail", "api", {"service": "api"}, ts, vals)
    assert metric_an.counter_like(fails, m)
    (r,) = [x for x in metric_an.prepare([fails], m) if x.name == fails.name]
    assert r.values[0] == pytest.approx(3.0 / STEP) and r.values[-1] == pytest.approx(90.0 / STEP)
    per_interval = [5.0, 6.0, 5.0, 7.0, 6.0, 8.0, 7.0, 9.0] * (N // 8)
    dips = Series("app_errors", "api", {}, ts[: len(per_interval)], per_interval)
    assert not metric_an.counter_like(dips, m)
    leak = Series("process_resident_memory_bytes", "api", {}, ts, [float(v) for v in vals])
    assert not metric_an.counter_like(leak, m)
    # a delay that keeps growing, in fractions of a second, is a gauge getting worse
    wait = Series("queue_wait_seconds", "api", {}, ts, [0.05 + 0.013 * i for i in range(N)])
    assert not metric_an.counter_like(wait, m)
    # a pod's count of requests summed without rate() (`requests_total_by_pod`), reset by
    # the pod's restart: it ends lower than it began, and is still a counter (no request
    # rate fell from 26 million to 300 thousand)
    served = [26_000_000.0 + 4000.0 * i for i in range(N // 2)]
    served += [4000.0 * (i + 1) for i in range(N - N // 2)]
    pod = Series("http_server_requests_total_by_pod", "api", {"service": "api"}, ts, served)
    assert metric_an.counter_like(pod, m)
    falling = Series("queue_depth_items", "api", {}, ts, [float(500 - 7 * i) for i in range(N)])
    assert not metric_an.counter_like(falling, m)


def test_replicas_are_averaged_into_the_service_and_other_splits_are_not() -> None:
    """Three old pods of api err at 1%; a canary that came up at the deploy errs at 30%.
    No pod's own series has a baseline that moved, but the service's mean over its pods
    jumps when the canary joins. Series split by status code are different signals and
    are not averaged. `prepare` stays idempotent."""
    at = FAULT - 300
    pods = [
        series("http_errors_ratio", "api", 0.01, labels={"pod": f"api-{i}"}, seed=i)
        for i in range(3)
    ]
    canary = _versioned("pod", "api-0", "api-canary", at)[1]
    m = FamilyMatcher()
    once = metric_an.prepare([*pods, canary], m)
    (mean,) = [x for x in once if x.query.startswith(("avg by (", "mean of"))]
    assert "pod" not in mean.labels and mean.service == "api"
    before = [v for t, v in zip(mean.timestamps, mean.values, strict=True) if t < at]
    after = [v for t, v in zip(mean.timestamps, mean.values, strict=True) if t >= at]
    assert max(before) < 0.02 and min(after) > 0.05
    assert len(metric_an.prepare(once, m)) == len(once)
    codes = [
        series("http_errors_ratio", "api", 0.01, labels={"code": c}, seed=i)
        for i, c in enumerate(("500", "503"))
    ]
    means = [x for x in metric_an.prepare(codes, m) if x.query.startswith(("avg by (", "mean of"))]
    assert not means


def _restarts(ts: list[float], values: list[float]) -> Series:
    """kube-state-metrics' restart counter of the `api` container."""
    name = "kube_pod_container_status_restarts_total"
    return Series(name, "api", {"service": "api", "container": "api"}, ts, values, query=name)


def test_restart_counter_proposes_crash_loop() -> None:
    ts = [T0 + i * STEP for i in range(N)]
    restarts = [0.0 if t < FAULT else float(int((t - FAULT) / STEP) + 1) for t in ts]
    s = _restarts(ts, restarts)
    a = run(context([s]))
    (crash,) = cands(a, "crash_loop", "api")
    assert crash.features["kind_signal"] >= 0.5
    assert not cands(a, "resource_saturation", "api")


def test_a_release_that_harmed_its_service_explains_the_crash_loop_it_brought() -> None:
    """api was released 30 minutes before its containers began crashing, and its error
    ratio rose after the release: the crash loop (a leak the release brought) is the
    release's doing, which ranks first, and so is its memory running out. A release
    after which api stayed as it was explains nothing: they keep their readings."""
    ts = [T0 + i * STEP for i in range(N)]
    loop = _restarts(ts, [0.0 if t < FAULT else float(int((t - FAULT) / STEP) + 1) for t in ts])
    rel = _deploy("rel", "api", FAULT - 30 * STEP)
    worse = series("http_errors_ratio", "api", 0.01, 0.2, at=FAULT - 28 * STEP)
    a = run(context([loop, worse], changes=[rel]))
    (crash,) = cands(a, "crash_loop", "api")
    (dep,) = cands(a, "deploy", "api")
    assert dep.features["change_harm"] > 0.5
    assert dep.score > crash.score
    same = run(context([loop, series("http_errors_ratio", "api", 0.01)], changes=[rel]))
    (kept,) = cands(same, "crash_loop", "api")
    assert kept.features["kind_signal"] == pytest.approx(1.0, abs=0.05)
    assert crash.features["kind_signal"] < 0.75 * kept.features["kind_signal"]
    # its memory running out (the leak itself) is the release's doing alike
    leak = series("container_memory_working_set_bytes", "api", 2e8, 9e8)

    def mem(extra: Series) -> float:
        b = run(context([leak, extra], changes=[rel]))
        (sat,) = [c for c in cands(b, "resource_saturation", "api") if c.subject == "memory"]
        return sat.features["kind_signal"]

    assert mem(worse) < 0.75 * mem(series("http_errors_ratio", "api", 0.01))


def test_a_crash_loop_after_its_own_disk_ran_out_is_the_disk_s_saturation() -> None:
    """A broker's volume (kubelet's `kubelet_volume_stats_available_bytes`) ran out a
    step before its containers began restarting: it restarts into the same full disk,
    and the saturation ranks above the loop. A disk that fell by a third, one that ran
    out only after the restarts began, or the node's (evictions, not restarts into it),
    leaves the loop as it was."""
    ts = [T0 + i * STEP for i in range(N)]
    loop = _restarts(ts, [0.0 if t < FAULT else float(int((t - FAULT) / STEP) + 1) for t in ts])

    def disk(after: float, at: float, node: bool = False) -> Series:
        name = "kubelet_volume_stats_available_bytes"
        labels = {"service": "api", "persistentvolumeclaim": "data-api-0"}
        if node:  # the node's root filesystem: everyone's on that node
            name, labels = "node_filesystem_avail_bytes", {"service": "api", "mountpoint": "/"}
        vals = [4e10 if t < at else after for t in ts]
        return Series(name, "api", labels, ts, vals, query=name)

    (alone,) = cands(run(context([loop])), "crash_loop", "api")
    # (seen a scrape after the first restart: the same moment, at the scrape's grain)
    full = run(context([loop, disk(6e6, FAULT + STEP)]))
    (crash,) = cands(full, "crash_loop", "api")
    (sat,) = cands(full, "resource_saturation", "api")
    assert crash.features["kind_signal"] < 0.5 * alone.features["kind_signal"]
    assert "its disk ran out as they began" in crash.statement
    assert sat.score > crash.score
    for kept in (
        disk(2.7e10, FAULT - STEP),
        disk(6e6, FAULT + 3 * STEP),
        disk(6e6, FAULT - STEP, node=True),
    ):
        (same,) = cands(run(context([loop, kept])), "crash_loop", "api")
        assert same.features["kind_signal"] == pytest.approx(alone.features["kind_signal"])
    # node_exporter's filesystem of the pod's own volume (a PersistentVolume mounted
    # under the pod's kubelet directory) is that pod's disk, not the node's
    vol = disk(6e6, FAULT - STEP, node=True)
    vol.labels["mountpoint"] = (
        "/var/lib/kubelet/pods/9a40f9f8/volumes/kubernetes.io~csi/pvc-c4/mount"
    )
    (crash,) = cands(run(context([loop, vol])), "crash_loop", "api")
    assert crash.features["kind_signal"] < 0.5 * alone.features["kind_signal"]
    # ... also when it filled at a steady rate to nothing (read when it ran out)
    vol.values = [max(0.0, 4e10 * (FAULT - t) / (FAULT - T0)) for t in ts]
    (crash,) = cands(run(context([loop, vol])), "crash_loop", "api")
    assert crash.features["kind_signal"] < 0.5 * alone.features["kind_signal"]


def test_one_restart_is_not_a_loop() -> None:
    """A container that died once (a drained node, one liveness failure) restarts once:
    its counter's 10-minute increase is 1, a third of a loop."""
    ts = [T0 + i * STEP for i in range(N)]
    once = run(context([_restarts(ts, [0.0 if t < FAULT else 1.0 for t in ts])]))
    (crash,) = cands(once, "crash_loop", "api")
    assert crash.features["kind_signal"] <= 1.0 / 3.0 + 1e-9
    thrice = [0.0 if t < FAULT else min(3.0, (t - FAULT) / STEP + 1) for t in ts]
    (loop,) = cands(run(context([_restarts(ts, thrice)])), "crash_loop", "api")
    assert loop.features["kind_signal"] > 0.9


def test_restarts_are_counted_over_the_services_pods_whatever_the_counter_is_named() -> None:
    """Datadog's `kubernetes.containers.restarts` is a restart count, not a counter by
    name: 0 → 1 on one pod is one restart (a third of a loop); three pods dying once
    each, five minutes apart, are three restarts of the service: a loop."""
    ts = [T0 + 300.0 * i for i in range(12)]
    at = ts[9]

    def pods(n: int) -> list[Series]:
        return [
            Series(
                "kubernetes.containers.restarts",
                "api",
                {"service": "api", "pod": f"api-{k}"},
                ts,
                [0.0 if t < at + 300.0 * k else 1.0 for t in ts],
                query="kubernetes.containers.restarts",
            )
            for k in range(n)
        ]

    (one,) = cands(run(context(pods(1))), "crash_loop", "api")
    assert one.features["kind_signal"] <= 1.0 / 3.0 + 1e-9
    (three,) = cands(run(context(pods(3))), "crash_loop", "api")
    assert three.features["kind_signal"] > 0.9


def test_oomkilled_log_proposes_crash_loop() -> None:
    logs = [(T0 + i * 30.0, "api", "info", "GET /health 200") for i in range(N * 2)]
    logs += [
        (
            FAULT + i * 20.0,
            "api",
            "error",
            f"container api terminated: OOMKilled (exit code 137) #{i}",
        )
        for i in range(12)
    ]
    a = run(context([series("http_errors_ratio", "api", 0.01, 0.3)], logs=logs))
    (crash,) = cands(a, "crash_loop", "api")
    assert crash.features["kind_signal"] > 0
    assert any(e.ev.kind == "log_template" for e in crash.evidence)


def test_countdown_gauge_proposes_certificate_expiry() -> None:
    ts = [T0 + i * STEP for i in range(N)]
    left = [(FAULT - t) for t in ts]  # reaches zero at the fault
    s = Series("tls_cert_seconds_remaining", "api", {"service": "api"}, ts, left)
    a = run(context([s, series("http_errors_ratio", "api", 0.01, 0.5)]))
    (cert,) = cands(a, "certificate_expiry", "api")
    assert cert.features["kind_signal"] == pytest.approx(1.0)
    # the steady countdown itself is not an anomaly
    assert not [f for f in a.findings.metrics if f.series.name == s.name]


def test_a_countdown_named_by_its_file_is_read_by_its_query() -> None:
    """A recording rule or a file named `21_probe_ssl` holding
    `probe_ssl_earliest_cert_expiry - time()`: the query makes it a countdown."""
    ts = [T0 + i * STEP for i in range(N)]
    q = 'probe_ssl_earliest_cert_expiry{job="blackbox"} - time()'
    # its name says days, its query seconds
    s = Series("ssl_expiry_days", "api", {"service": "api"}, ts, [FAULT - t for t in ts], query=q)
    a = run(context([s, series("http_errors_ratio", "api", 0.01, 0.5)]))
    (cert,) = cands(a, "certificate_expiry", "api")
    assert cert.features["kind_signal"] == pytest.approx(1.0)
    said = " ".join(e.ev.summary for e in cert.evidence if e.ev.kind == "certificate")
    assert "(45 min left at" in said, said
    assert not [f for f in a.findings.metrics if f.series.name == s.name]


@pytest.mark.parametrize(
    ("query", "reads_as"),
    [
        (
            "sum by (pod) (go_sql_stats_connections_in_use{db='x'})",
            "go_sql_stats_connections_in_use",
        ),
        ('sum by (pod) (rate(django_db_errors_total{a="b(c)"}[2m]))', "django_db_errors_total"),
        ("histogram_quantile(0.99, sum by (le) (rate(rpc_duration_bucket[1m])))", "rpc_duration"),
        ("x509_cert_not_after - time()", "x509_cert_not_after_seconds_remaining"),
        (
            "probe_ssl_earliest_cert_expiry - time()",
            "probe_ssl_earliest_cert_expiry_seconds_remaining",
        ),
        ("mysql_up == 1", "mysql_up"),
        # not one metric's own reading: arithmetic on it, two metrics, none
        ("1 - avg by (instance) (rate(node_cpu_seconds_total{mode='idle'}[2m]))", None),
        ("rate(x_total[1m]) * 100", None),
        ("a_bytes / b_bytes", None),
        ("up_a or up_b", None),
        ("time() - last_success_timestamp_seconds", None),
        ('{__name__=~"rabbitmq_alarms_.+"}', None),
        # a share: a count over the whole it is part of, named by it
        (
            "sum by (pod) (rate(container_cpu_cfs_throttled_periods_total[2m]))"
            " / sum by (pod) (rate(container_cpu_cfs_periods_total[2m]))",
            "container_cpu_cfs_throttled_periods_total_ratio",
        ),
        # which share of itself a metric is, its selectors said
        (
            'sum(rate(http_requests_total{code=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))',
            None,
        ),
        ("rate(a_periods_total[1m]) / rate(b_periods_total[1m])", None),
        ("rate(x_throttled_periods_total[1m]) / rate(x_periods_total[1m]) * 100", None),
    ],
)
def test_query_reading(query: str, reads_as: str | None) -> None:
    from aisre_cli.investigate.families import query_reading

    assert query_reading(query) == reads_as


@pytest.mark.parametrize(
    ("name", "query", "family", "shape"),
    [
        # a name the catalogue does not know: the query's metric
        (
            "21_gosql_in_use",
            "sum by (pod) (go_sql_stats_connections_in_use)",
            "connections",
            "gauge",
        ),
        ("job:q20:rate2m", "sum(rate(django_db_errors_total[2m]))", "errors", "counter"),
        # a name it knows keeps its reading ...
        ("07_cpu_usage", "sum(rate(container_memory_working_set_bytes[2m]))", "cpu", "gauge"),
        ("cpu_seconds", "x509_cert_not_after - time()", "cpu", "gauge"),
        # ... unless the query tells a timestamp, or a countdown to one, of its family
        ("21_probe_ssl", "probe_ssl_earliest_cert_expiry - time()", "certificates", "countdown"),
        (
            "03_ssl_expire",
            "nginx_ingress_controller_ssl_expire_time_seconds",
            "certificates",
            "expiry_ts",
        ),
        ("ssl_cert_days_left", "x509_cert_not_after - time()", "certificates", "countdown"),
        (
            "03_ssl_expire",
            "sum(nginx_ingress_controller_ssl_certificate_info)",
            "certificates",
            "gauge",
        ),
        # a query whose metric the catalogue does not know either says nothing
        ("mysterious", "rate(frobnications_total[1m])", None, "gauge"),
        # a share of scheduler periods throttled, which the name `cpu_throttle` hides:
        # read as a ratio, whose floor (one point of the scale) a 1.8% blip stays under
        (
            "cpu_throttle",
            "sum(rate(container_cpu_cfs_throttled_periods_total[2m]))"
            " / sum(rate(container_cpu_cfs_periods_total[2m]))",
            "cpu",
            "ratio",
        ),
    ],
)
def test_a_series_named_by_its_file_is_read_by_its_query(
    name: str, query: str, family: str | None, shape: str
) -> None:
    m = FamilyMatcher()
    before = m.classify(name)  # cached before the query is read: it must not stick
    s = Series(name, "api", {}, [T0, T0 + STEP], [1.0, 1.0], query=query)
    m.read_queries([s])
    c = m.classify(name)
    assert (c.family, c.shape) == (family, shape)
    if family is None:
        assert c == before


def test_a_file_reference_is_no_query_to_read() -> None:
    m = FamilyMatcher()
    s = Series(
        "x1",
        "api",
        {},
        [T0],
        [1.0],
        query="go_sql_stats_connections_in_use.json",
        promql=False,
    )
    m.read_queries([s])
    assert m.classify("x1").family is None


def test_countdown_far_from_zero_is_quiet() -> None:
    ts = [T0 + i * STEP for i in range(N)]
    s = Series(
        "tls_cert_days_left", "api", {"service": "api"}, ts, [40.0 - i / 1440 for i in range(N)]
    )
    assert not cands(run(context([s])), "certificate_expiry")


def test_expiry_timestamp_proposes_certificate_expiry() -> None:
    ts = [T0 + i * STEP for i in range(N)]
    s = Series("probe_ssl_earliest_cert_expiry", "api", {"service": "api"}, ts, [FAULT] * N)
    a = run(context([s]))
    (cert,) = cands(a, "certificate_expiry", "api")
    assert cert.features["kind_signal"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    "name",
    [
        "certmanager_certificate_renewal_timestamp_seconds",  # renewal overdue: weeks left
        "x509_cert_not_before",  # when it was issued
    ],
)
def test_a_certificate_timestamp_that_is_no_expiry_expires_nothing(name: str) -> None:
    """cert-manager's renewal time passed (a renewal failing, the certificate valid for
    weeks), or an issue date in the past: nothing has expired."""
    ts = [T0 + i * STEP for i in range(N)]
    s = Series(name, "api", {"service": "api"}, ts, [T0 - 86400.0] * N)
    assert not cands(run(context([s])), "certificate_expiry", "api")


def _public_cert(url: str, service: str = "", expires: float = FAULT) -> Series:
    """A blackbox probe's certificate expiry of `url` (no `service` label unless given)."""
    ts = [T0 + i * STEP for i in range(N)]
    lab = {"instance": url, "job": "blackbox", **({"service": service} if service else {})}
    return Series("probe_ssl_earliest_cert_expiry", service, lab, ts, [expires] * N)


def test_a_certificate_still_valid_is_as_strong_as_it_was_near_expiring_at_the_alert() -> None:
    """A day or more left after the alert: a warning at the floor, not what failed;
    hours left: weaker the more; a few seconds left at a reading just before the page:
    run out by then."""
    end = T0 + N * STEP
    m = FamilyMatcher()
    (later,) = metric_an.cert_expiry(
        [_public_cert("https://a.example/", "api", ALERT + 26 * 3600)], m, ALERT
    )
    assert later.strength == pytest.approx(metric_an.CERT_EXPIRY_FLOOR)
    (hours,) = metric_an.cert_expiry(
        [_public_cert("https://a.example/", "api", ALERT + 6 * 3600)], m, ALERT
    )
    assert 0.7 < hours.strength < 0.8
    cut = _public_cert("https://a.example/", "api", ALERT + 17)
    cut = replace(cut, timestamps=cut.timestamps[:46], values=cut.values[:46])
    assert cut.timestamps[-1] < ALERT < end
    (gone,) = metric_an.cert_expiry([cut], m, ALERT)
    assert gone.strength > 0.95
    # run out between its last reading and the alert: expired, and no stronger than that
    ran = _public_cert("https://a.example/", "api", ALERT - 30)
    ran = replace(ran, timestamps=ran.timestamps[:46], values=ran.values[:46])
    (out,) = metric_an.cert_expiry([ran], m, ALERT)
    assert out.strength == 1.0


def test_a_certificate_of_an_endpoint_no_service_claims_is_the_endpoints() -> None:
    """The probed public host names no known service: its expired certificate is a
    suspect of its own, named by the host, and the verdict escalates at the doubt an
    unlinked alert gets, since which service serves the host the data does not say."""
    ctx = context([_public_cert("https://tickets.example.com/healthz")])
    probe = Alert(id="p1", name="BlackboxProbeFailed", service=None, starts_at=_dt(ALERT))
    ctx.alert, ctx.alerts = probe, [probe]
    a = run(ctx)
    (cert,) = cands(a, "certificate_expiry", "tickets.example.com")
    assert cert.features["kind_signal"] == pytest.approx(1.0)
    verdict = build_report(a).verdict
    top = verdict.hypotheses[0]
    assert (top.kind, top.service) == ("certificate_expiry", "tickets.example.com")
    assert verdict.escalate and "no known service claims" in verdict.reason
    assert top.confidence <= UNLINKED_PRIOR
    # the same certificate seen at a known service (cert-manager's, expiring at the same
    # moment) is that service's, and nothing doubts it
    own = _public_cert("https://api.shop.svc/", service="api")
    own = replace(own, name="certmanager_certificate_expiration_timestamp_seconds")
    b = run(context([_public_cert("https://tickets.example.com/healthz"), own]))
    assert not cands(b, "certificate_expiry", "tickets.example.com")
    assert cands(b, "certificate_expiry", "api")
    # one expiring at another moment stays the endpoint's (neither has expired yet)
    end = T0 + N * STEP
    soon = _public_cert("https://tickets.example.com/healthz", expires=end + 86400.0)
    later = replace(own, values=[end + 2 * 86400.0] * N)
    c = run(context([soon, later]))
    assert cands(c, "certificate_expiry", "tickets.example.com")
    # a service the topology leaves out but whose own series name it is no endpoint
    billing = _public_cert("https://billing.shop.svc/", service="billing")
    d = run(context([billing]))
    assert cands(d, "certificate_expiry", "billing")
    assert unowned_endpoint(d, "billing") is None
    assert unowned_endpoint(a, "tickets.example.com") == "tickets.example.com"
    # a public host the prober names by a label of its own the topology does not know
    # (`tickets-site`) is still an endpoint no service claims
    site = _public_cert("https://tickets.example.com/healthz", service="tickets-site")
    e = run(context([site]))
    assert unowned_endpoint(e, "tickets-site") == "tickets-site"
    # a target that is no DNS name (control characters, a path only) names no endpoint
    odd = run(context([_public_cert("https://tick\x1bets.example.com/")]))
    assert not [c for c in cands(odd, "certificate_expiry") if c.service != "web"]


def _edge_context(
    services: dict[str, list[str]], logs: list[tuple[float, str, str, str]]
) -> Context:
    """The public certificate of tickets.example.com expired; `services` is the topology."""
    ctx = context([_public_cert("https://tickets.example.com/healthz")], logs=logs)
    probe = Alert(id="p1", name="BlackboxProbeFailed", service=None, starts_at=_dt(ALERT))
    ctx.alert, ctx.alerts = probe, [probe]
    ctx.topology = Topology(depends_on=services)
    return ctx


EDGE_TOPO = {"ingress-nginx-controller": ["web"], "web": ["api"], "api": ["db"], "db": []}
ACCESS = '1.2.3.4 - - "GET / HTTP/2.0" 200 512 "https://tickets.example.com/" "Mozilla/5.0"'
HANDSHAKE = "SSL handshake failure on fe_https from 1.2.3.4:51234"


def test_a_public_certificate_is_the_edges_that_serves_its_host() -> None:
    """The probed host names no service, but the one edge at the top of the topology
    names it in its access log: the certificate is the edge's, and nothing doubts it."""
    lines = [(T0 + i * STEP, "ingress-nginx-controller", "info", ACCESS) for i in range(3)]
    a = run(_edge_context(EDGE_TOPO, lines))
    (cert,) = cands(a, "certificate_expiry", "ingress-nginx-controller")
    assert "serves for tickets.example.com expired" in cert.statement
    assert not cands(a, "certificate_expiry", "tickets.example.com")
    assert unowned_endpoint(a, "ingress-nginx-controller") is None
    top = build_report(a).verdict.hypotheses[0]
    assert (top.kind, top.service) == ("certificate_expiry", "ingress-nginx-controller")
    assert top.confidence > UNLINKED_PRIOR
    # TLS failures the edge logged tie it as well (HAProxy's handshake failures)
    topo = {"haproxy": ["web"], "web": ["api"], "api": ["db"], "db": []}
    fails = [(T0 + i * 30.0, "haproxy", "info", "GET /health 200") for i in range(N * 2)]
    fails += [(FAULT + 20.0 * i, "haproxy", "warn", HANDSHAKE) for i in range(12)]
    b = run(_edge_context(topo, fails))
    assert cands(b, "certificate_expiry", "haproxy")


def _alb(name: str, metric: str = "aws_alb_request_count_sum") -> Series:
    """A CloudWatch metric of an ALB as YACE exports it: no service, the load balancer
    in its `LoadBalancer` dimension."""
    s = series(metric, "", 100.0)
    lab = {"job": "yace", "dimension_LoadBalancer": f"app/{name}/50dc6c495c0c9188"}
    return replace(s, service=None, labels=lab)


def test_a_load_balancers_own_series_are_the_service_called_by_its_name() -> None:
    """YACE names no workload on an ALB's series (its `LoadBalancer` dimension fronts
    one): they are the ALB's where the system calls a service by its name (the
    topology's `alb-public`), and nobody's otherwise."""
    named = tls_edge.attribute_load_balancers(
        [_alb("alb-public"), _alb("other-lb")], {"alb-public", "api"}
    )
    assert [x.service for x in named] == ["alb-public", None]


def test_handshakes_failing_at_a_service_are_its_certificate() -> None:
    """alb-public's clients fail to establish TLS with it from the fault on (CloudWatch's
    `ClientTLSNegotiationErrorCount`) and fewer requests get through: its certificate,
    read as a TLS error in a log is (`LOG_SHARE`). Its 5xx rising instead is no
    certificate's."""
    tls = "aws_applicationelb_client_tlsnegotiation_error_count_sum"
    front = {"alb-public": ["web"], "web": ["api"], "api": ["db"], "db": []}

    def at_front(metric: str) -> list[Candidate]:
        ctx = context(
            [
                series(metric, "alb-public", 2.0, 300.0, noise=0.2),
                series("aws_applicationelb_request_count_sum", "alb-public", 900.0, 250.0),
            ]
        )
        ctx.topology = Topology(depends_on=front)
        return cands(run(ctx), "certificate_expiry", "alb-public")

    (cert,) = at_front(tls)
    assert cert.features["kind_signal"] == pytest.approx(0.6, abs=0.15)
    assert "TLS handshakes with it fail" in cert.statement
    assert not at_front("aws_applicationelb_httpcode_elb_5_xx_count_sum")


def test_an_edge_behind_a_cloud_load_balancer_is_still_the_edge() -> None:
    """An ALB passes TLS through to the ingress gateway, which the topology shows it
    calling: the gateway is still the edge that serves the host, and its expired
    certificate its own. cert-manager names the certificate, not a workload: its
    `tv-shop` Certificate and the probes of tv.shop.example are no service of their own."""
    assert tls_edge.load_balancers([_alb("prod-web")]) == {"prod-web"}
    assert tls_edge.load_balancers([_alb("prod-web", "up")]) == set()
    topo = {"prod-web": ["istio-ingressgateway"], "istio-ingressgateway": ["web"], **EDGE_TOPO}
    del topo["ingress-nginx-controller"]
    expired = "TLS error: 268436501:SSL routines:OPENSSL_internal:SSLV3_ALERT_CERTIFICATE_EXPIRED"
    lines = [
        (T0 + i * 30.0, "istio-ingressgateway", "info", "GET /health 200") for i in range(N * 2)
    ]
    lines += [(FAULT + 20.0 * i, "istio-ingressgateway", "warn", expired) for i in range(12)]
    cm = replace(
        _public_cert("https://tv.shop.example/", service="tv-shop"),
        name="certmanager_certificate_expiration_timestamp_seconds",
        labels={"job": "cert-manager", "name": "tv-shop", "exported_namespace": "istio-system"},
    )
    probe = _public_cert("https://tv.shop.example/healthz", service="tv-shop")
    up = replace(probe, name="probe_success", values=[1.0] * N)
    ctx = _edge_context(topo, lines)
    ctx.series += [cm, probe, up, _alb("prod-web")]
    a = run(ctx)
    assert cands(a, "certificate_expiry", "istio-ingressgateway")
    assert not cands(a, "certificate_expiry", "tv-shop")
    # without the load balancer's own series, the gateway is a service something calls
    ctx = _edge_context(topo, lines)
    ctx.series += [cm, probe]
    assert not cands(run(ctx), "certificate_expiry", "istio-ingressgateway")


@pytest.mark.parametrize(
    ("services", "who", "why"),
    [
        (EDGE_TOPO, "", "the edge's logs do not name the host"),
        (
            {**EDGE_TOPO, "web": ["api", "egress-proxy"], "egress-proxy": []},
            "egress-proxy",
            "a proxy the services call is no edge",
        ),
        ({**EDGE_TOPO, "worker": ["db"]}, "worker", "not named as an edge"),
        (
            {**EDGE_TOPO, "api-gateway": ["api"]},
            "api-gateway",
            "two edges tied to the host: which one the data does not say",
        ),
    ],
)
def test_a_public_certificate_stays_the_hosts_unless_one_edge_serves_it(
    services: dict[str, list[str]], who: str, why: str
) -> None:
    lines = [(T0 + i * STEP, who, "info", ACCESS) for i in range(3)] if who else []
    if "two edges" in why:
        lines += [(T0 + i * STEP, "ingress-nginx-controller", "info", ACCESS) for i in range(3)]
    a = run(_edge_context(services, lines))
    assert cands(a, "certificate_expiry", "tickets.example.com"), why
    assert unowned_endpoint(a, "tickets.example.com") == "tickets.example.com"


@pytest.mark.parametrize(
    ("name", "edge"),
    [
        ("ingress-nginx-controller", True),
        ("istio-ingressgateway", True),
        ("haproxy", True),
        ("traefik", True),
        ("edge-proxy", True),
        ("api-gateway", True),
        ("public-lb", True),
        ("kong", True),
        ("web", False),
        ("frontend", False),
        ("ledger", False),
        ("payments-gateway-db", True),
        ("proxysql", False),
    ],
)
def test_edge_names(name: str, edge: bool) -> None:
    assert tls_edge.is_edge_name(name) is edge


def test_probe_failure_proposes_dependency_failure() -> None:
    a = run(
        context(
            [
                series("probe_success", "db", 1.0, 0.0, noise=0.0),
                series("http_errors_ratio", "api", 0.01, 0.4),
            ]
        )
    )
    (dep,) = cands(a, "dependency_failure", "db")
    assert dep.features["kind_signal"] > 0.3
    assert dep.features["dependency_down"] > 0


def _filling(at: float) -> Series:
    """db's volume: 90 GB free falling to 1 GB over 20 minutes from `at` (a persistent
    volume claim)."""
    s = series("kubelet_volume_stats_available_bytes", "db", 90e9, noise=0.001)
    s.values = [
        v if t < at else max(1e9, 90e9 - (t - at) / 1200.0 * 89e9)
        for t, v in zip(s.timestamps, s.values, strict=True)
    ]
    return s


def test_a_cache_at_its_maxmemory_has_run_out_however_slowly_it_climbed() -> None:
    """cache's memory climbs steadily to its `maxmemory` and stays there from the fault:
    no point stands out against the ramp, but the room left under the limit its
    exporter reports is gone, and writes are refused. A limit of 0 (none) says
    nothing."""
    ts = [T0 + i * STEP for i in range(N)]
    top = 5.0e9
    used_v = [min(top, 3.0e9 + (top - 3.0e9) * (t - T0) / (FAULT - T0)) for t in ts]
    lab = {"service": "cache", "instance": "redis://10.0.0.4:6379"}
    used = Series("redis_memory_used_bytes", "cache", lab, ts, used_v, query="u", ref="m.json")
    cap = replace(used, name="redis_memory_max_bytes", values=[top] * N)
    (room,) = metric_an.headroom([used, cap])
    assert room.name == "redis_memory_free_bytes" and room.values[-1] == 0.0
    found = metric_an.ran_out([room], FamilyMatcher(), ALERT)
    assert found and found[0].family == "memory" and found[0].onset <= FAULT
    assert metric_an.headroom([used, replace(cap, values=[0.0] * N)]) == []
    ctx = context([used, cap])
    ctx.topology = Topology(depends_on={"web": ["api"], "api": ["cache"], "cache": []})
    (sat,) = cands(run(ctx), "resource_saturation", "cache")
    assert sat.features["kind_signal"] > 0.8


def test_a_disk_that_filled_before_the_store_went_down_is_the_cause() -> None:
    """db's volume ran out over 20 minutes, then its probe failed: the full disk is the
    story (resource_saturation), the outage its consequence."""
    probe = series("probe_success", "db", 1.0, 0.0, noise=0.0)
    errs = series("http_errors_ratio", "api", 0.01, 0.4)
    plain = run(context([probe, errs]))
    (dep0,) = cands(plain, "dependency_failure", "db")
    a = run(context([probe, errs, _filling(FAULT - 1200)]))
    (dep,) = cands(a, "dependency_failure", "db")
    (sat,) = cands(a, "resource_saturation", "db")
    assert dep.features["kind_signal"] < 0.5 * dep0.features["kind_signal"]
    assert sat.features["kind_signal"] > dep.features["kind_signal"]
    # a disk that began to fill only as it went down did not stop it
    late = run(context([probe, errs, _filling(FAULT + 120)]))
    (dep_late,) = cands(late, "dependency_failure", "db")
    assert dep_late.features["kind_signal"] == pytest.approx(dep0.features["kind_signal"])


def _cpu_burst(until: float) -> Series:
    """api's CPU at 30% jumping to 95% six minutes before the fault, back at `until`."""
    s = series("container_cpu_usage_percent", "api", 30.0, 95.0, at=FAULT - 360)
    vals = [30.0 if t >= until else v for t, v in zip(s.timestamps, s.values, strict=True)]
    return replace(s, values=vals)


def test_a_cpu_burst_over_before_its_service_slowed_did_not_slow_it() -> None:
    """api's CPU burst came and went; two minutes after it ended api got slow (and web
    errs): the CPU that was back to normal cannot have caused it. A burst still on when
    the latency rose can."""
    lat = series("http_request_duration_p99_seconds", "api", 0.1, 0.9)
    (over,) = cands(run(context([_cpu_burst(FAULT - 120), lat])), "resource_saturation", "api")
    (on,) = cands(run(context([_cpu_burst(FAULT + 600), lat])), "resource_saturation", "api")
    assert over.features["kind_signal"] < 0.3 * on.features["kind_signal"]
    assert "back to normal at" in over.statement
    # over before the page, but not before api slowed: it may have started it
    (after,) = cands(run(context([_cpu_burst(FAULT), lat])), "resource_saturation", "api")
    assert "back to normal at" in after.statement
    assert after.features["kind_signal"] == pytest.approx(on.features["kind_signal"], rel=0.1)


@pytest.mark.parametrize(
    ("msg", "discounted"),
    [
        ("write /data/blobs/41.part: no space left on device", True),
        ("FATAL: could not write to file: No space left on device", True),
        ("java.lang.OutOfMemoryError: Java heap space", True),
        ("high CPU usage detected on worker", False),  # CPU slows a service, not stops it
    ],
)
def test_a_store_that_says_it_ran_out_as_it_fails_is_down_for_that(
    msg: str, discounted: bool
) -> None:
    probe = series("probe_success", "db", 1.0, 0.0, noise=0.0)
    calm = [(T0 + 60.0 * i, "db", "INFO", "checkpoint complete") for i in range(40)]
    said = [(FAULT + 10.0 + i, "db", "ERROR", msg) for i in range(20)]
    (dep0,) = cands(run(context([probe], logs=calm)), "dependency_failure", "db")
    (dep,) = cands(run(context([probe], logs=calm + said)), "dependency_failure", "db")
    if discounted:
        assert dep.features["kind_signal"] < 0.6 * dep0.features["kind_signal"]
    else:
        assert dep.features["kind_signal"] == pytest.approx(dep0.features["kind_signal"])


def _busy_client_of_mysql(said: str) -> Analysis:
    """api burns its CPU from the fault and logs `said` calling db, a MySQL (its
    exporter's series say so) whose threads pile up."""
    lines = [(FAULT + 5.0 + 10 * i, "api", "ERROR", said) for i in range(30)]
    calm = [(T0 + 60.0 * i, "api", "INFO", "request served") for i in range(40)]
    return run(
        context(
            [
                series("container_cpu_usage_percent", "api", 30.0, 99.0),
                series("mysql_global_status_threads_running", "db", 2.0, 9.0),
            ],
            logs=lines + calm,
        )
    )


READ_ONLY = (
    "Error 1290 (HY000): The MySQL server is running with the --read-only option so it "
    "cannot execute this statement"
)


def test_a_database_that_logs_its_clients_rejecting_its_certificate_expired() -> None:
    """PostgreSQL writes `could not accept SSL connection: sslv3 alert certificate
    expired` at its `LOG` level (read as info): its clients reject the certificate it
    serves. api, which calls it, fails from then with errors that name no server: the
    database's certificate is felt where api fails."""
    said = "could not accept SSL connection: sslv3 alert certificate expired"
    lines = [(FAULT + 5.0 + 10 * i, "db", "info", said) for i in range(20)]
    lines += [(T0 + 60.0 * i, "db", "info", "checkpoint complete") for i in range(40)]
    a = run(context([series("http_errors_ratio", "api", 0.01, 0.3)], logs=lines))
    (cert,) = cands(a, "certificate_expiry", "db")
    assert cert.features["symptom_corr"] > 0.5
    quiet = [(T0 + 60.0 * i, "db", "info", "checkpoint complete") for i in range(40)]
    b = run(context([series("http_errors_ratio", "api", 0.01, 0.3)], logs=quiet))
    assert not cands(b, "certificate_expiry", "db")


@pytest.mark.parametrize("said", [READ_ONLY, "dial tcp 10.0.0.7:3306: connect: connection refused"])
def test_a_store_that_refused_a_busy_client_explains_its_errors(said: str) -> None:
    """api's CPU is saturated, and its log says its MySQL refused it: the writes (gone
    read-only) or the connection. Waiting on a slow store costs no CPU, so a starved
    client's timeouts may be its own; a refusal is the store's answer, and the store
    explains api's trouble whatever api's CPU did (retrying costs CPU)."""
    timeout = "retrying MySQL statement after error: Lock wait timeout exceeded (1205)"
    refused = _busy_client_of_mysql(said)
    waited = _busy_client_of_mysql(timeout)
    (sat,) = cands(refused, "resource_saturation", "api")
    (sat0,) = cands(waited, "resource_saturation", "api")
    assert sat.features["deeper"] > 0.3
    assert sat0.features["deeper"] < 0.1
    (dep,) = cands(refused, "dependency_failure", "db")
    (dep0,) = cands(waited, "dependency_failure", "db")
    # refused writes fail every caller as surely as a refused connection
    assert dep.features["dependency_down"] > dep0.features["dependency_down"] + 0.1


def test_a_503_is_no_refusal_that_clears_a_busy_client() -> None:
    """A server shedding load answers 503, and the load may be the busy client's own
    (a release that fans out its calls): its CPU still explains its trouble."""
    shed = (
        "upstream request failed: mysql-router:8443/v1/q: unexpected status 503 Service Unavailable"
    )
    (sat,) = cands(_busy_client_of_mysql(shed), "resource_saturation", "api")
    assert sat.features["deeper"] < 0.1


def test_a_dead_dependency_is_corroborated_by_its_callers_new_errors() -> None:
    """api has no metric anomaly of its own, but right after db's probe fails it logs
    a new error (naming an address, not db): its trouble, as a direct caller, is what
    makes db's death the incident's story."""
    # db dies four minutes after web's symptom began: web's trouble is not its doing
    died = FAULT + 240.0
    probe = series("probe_success", "db", 1.0, 0.0, noise=0.0, at=died)
    quiet = run(context([probe]))
    (alone,) = cands(quiet, "dependency_failure", "db")
    assert alone.features["dependency_down"] == 0.0
    refused = [
        (died + 5.0 + i, "api", "ERROR", "dial tcp 10.0.0.7:5432: connect: connection refused")
        for i in range(30)
    ]
    calm = [(T0 + 60.0 * i, "api", "INFO", "request served") for i in range(40)]
    told = run(context([probe], logs=refused + calm))
    (dep,) = cands(told, "dependency_failure", "db")
    assert dep.features["dependency_down"] > 0.5


def _refused_by_ledger(burst_at: float, own_after: bool, every: float = 2.0) -> Analysis:
    """api (which calls ledger-db) logs 30 refused connections to ledger-db, `every`
    seconds from `burst_at`; api's latency jumps at the fault. With `own_after`,
    ledger-db logs slow queries from the fault on."""
    refused = [
        (
            burst_at + every * i,
            "api",
            "ERROR",
            "dial tcp ledger-db:5432: connect: connection refused",
        )
        for i in range(30)
    ]
    calm = [(T0 + 60.0 * i, svc, "INFO", "ok") for i in range(N) for svc in ("api", "ledger-db")]
    own = [(FAULT + 30.0 * i, "ledger-db", "WARN", "slow query: 2300 ms") for i in range(10)]
    ctx = context(
        [series("http_request_duration_p99_seconds", "api", 0.1, 0.9)],
        logs=refused + calm + (own if own_after else []),
    )
    ctx.topology = Topology(depends_on={"web": ["api"], "api": ["ledger-db"], "ledger-db": []})
    return run(ctx)


@pytest.mark.parametrize(
    ("burst_at", "own_after", "every", "down"),
    [
        (FAULT - 480.0, False, 2.0, False),  # a minute of it ten minutes before the page
        (FAULT - 480.0, True, 2.0, True),  # ... but ledger-db's own trouble went on
        (FAULT, False, 2.0, True),  # refused as the trouble began
        (FAULT - 590.0, False, 13.5, True),  # now and then for 6.5 minutes, 5.3 quiet
    ],
)
def test_callers_refused_for_a_minute_long_before_the_page_is_no_dead_dependency(
    burst_at: float, own_after: bool, every: float, down: bool
) -> None:
    """A GAIA-style set: an innocent redeploy of a Redis front made its callers' calls
    refused for ninety seconds, ten minutes before a permission fault elsewhere paged;
    the dependency read as down dated the incident and took its blame. Callers' errors
    over that long before the page (`logs.over_before`), about a dependency showing
    nothing of its own since, do not make it down (`dependency.without_bygone`). One
    whose own trouble went on keeps the reading: it restarted into its trouble."""
    a = _refused_by_ledger(burst_at, own_after, every)
    assert ("ledger-db" in a.findings.dead) is down


def _client_calls(caller: str, peer: str, status: str, per_min: float, name: str = "") -> Series:
    """A caller's OpenTelemetry client counter of calls to `peer` answered `status`:
    none before the fault, `per_min` a minute from then on."""
    ts = [T0 + i * STEP for i in range(N)]
    total, vals = 0.0, []
    for t in ts:
        total += per_min if t >= FAULT else 0.0
        vals.append(total)
    n = name or "http_client_request_duration_seconds_count"
    lab = {"service": caller, "server_address": peer, "http_response_status_code": status}
    return Series(n, caller, lab, ts, vals, query=n, ref=f"metrics/{n}.json")


def _with_outside_api(ctx: Context) -> Context:
    ctx.topology = Topology(
        depends_on={"web": ["api"], "api": ["db", "stripe-api"], "db": [], "stripe-api": []}
    )
    return ctx


@pytest.mark.parametrize("status", ["500", "503", "429"])
def test_callers_client_metrics_name_a_failing_outside_api(status: str) -> None:
    """stripe-api has no series of its own: its caller's client counter, labelled with
    the host it called (`server.address`) and the status it got back, is how it is
    measured. Its failed answers are its failure, not api's."""
    calls = _client_calls("api", "api.stripe.com", status, 40.0)
    a = run(_with_outside_api(context([calls, series("http_errors_ratio", "api", 0.01, 0.3)])))
    (dep,) = cands(a, "dependency_failure", "stripe-api")
    assert dep.features["dependency_down"] > 0.5
    assert "client metrics count its errors" in dep.statement
    top = max(a.candidates, key=lambda c: c.score)
    assert (top.kind, top.service) == ("dependency_failure", "stripe-api")


@pytest.mark.parametrize(
    ("name", "named"),
    [
        ("api_stripe_requests_total", True),  # api's own counter of its calls to Stripe
        ("stripe_api_requests_total", True),
        ("api_requests_total", False),  # what it serves: `api` is its own name
        ("api_payments_requests_total", False),  # no service it calls
    ],
)
def test_a_callers_metric_named_for_a_callee_counts_its_calls_to_it(name: str, named: bool) -> None:
    """An application names its metric of an outside API for it more often than it
    labels a peer: `billing_stripe_requests_total{outcome="error"}`. Its errors are the
    callee's failures, as a client series' are (`dependency.named_callee`)."""
    ts = [T0 + i * STEP for i in range(N)]
    total, vals = 0.0, []
    for t in ts:
        total += 40.0 if t >= FAULT else 0.0
        vals.append(total)
    calls = Series(name, "api", {"service": "api", "outcome": "error"}, ts, vals, query=name)
    a = run(_with_outside_api(context([calls, series("http_errors_ratio", "api", 0.01, 0.3)])))
    assert ("stripe-api" in a.findings.dead) is named
    assert dep_an.named_callee(calls, a.topology) == ("stripe-api" if named else None)


def test_a_metric_named_for_its_own_service_names_no_callee() -> None:
    """`orders_api_requests_total` of orders-api, which calls orders: the words are its
    own name's, not a callee's."""
    s = Series("orders_api_requests_total", "orders-api", {}, [T0], [1.0])
    topo = Topology(depends_on={"orders-api": ["orders"], "orders": []})
    assert dep_an.named_callee(s, topo) is None
    s = Series("orders_api_ledger_requests_total", "orders-api", {}, [T0], [1.0])
    topo = Topology(depends_on={"orders-api": ["orders", "ledger"], "orders": [], "ledger": []})
    assert dep_an.named_callee(s, topo) == "ledger"


def test_a_faint_drift_of_calls_latency_does_not_date_a_peer_that_failed_later() -> None:
    """stripe-api answers 503 from the fault on (its caller's client counter says so);
    ten minutes earlier the caller's p99 to it drifted 3% (a faint edge, z 8). The peer
    began failing when its strongest readings say (`ONSET_SHARE`): dated by the drift,
    its callers were "anomalous after it, +10 min" and its timing weighed against it."""

    def dep(drift: bool) -> Candidate:
        extra = [
            _client_calls("api", "api.stripe.com", "503", 40.0),
            series("http_errors_ratio", "api", 0.01, 0.3),
        ]
        if drift:
            lab = {"server_address": "api.stripe.com"}
            p99 = series(
                "http_client_request_duration_seconds_p99",
                "api",
                0.30,
                0.309,
                noise=0.005,
                labels=lab,
                at=FAULT - 600,
            )
            extra.append(p99)
        a = run(_with_outside_api(context(extra)))
        if drift:
            assert [(e.caller, e.callee) for e in a.findings.edges] == [("api", "stripe-api")]
        (d,) = cands(a, "dependency_failure", "stripe-api")
        return d

    plain, drifted = dep(False), dep(True)
    assert drifted.features["sync"] == pytest.approx(plain.features["sync"])
    assert any("api (+0s)" in e.ev.summary for e in drifted.evidence)


@pytest.mark.parametrize(
    ("name", "client"),
    [
        ("external_request_duration_seconds_count", True),
        ("outbound_requests_total", True),
        ("http_requests_total", False),  # what the caller serves, whatever `upstream` says
    ],
)
def test_a_timer_of_outside_calls_names_its_peer_by_upstream(name: str, client: bool) -> None:
    """statsd_exporter mappings of a Rails app's outside calls keep the API called as
    `upstream` (`external_request_duration_seconds{upstream="sms-provider"}`): the calls
    the service makes, measured by it, so their failures are the API's. A series of
    the requests a service serves is no client's, whatever its labels."""
    ts = [T0 + i * STEP for i in range(N)]
    total, vals = 0.0, []
    for t in ts:
        total += 40.0 if t >= FAULT else 0.0
        vals.append(total)
    lab = {"service": "api", "upstream": "stripe-api", "outcome": "error"}
    calls = Series(name, "api", lab, ts, vals, query=name, ref=f"metrics/{name}.json")
    assert metric_edges.is_client_side(calls) is client
    known = {"api", "stripe-api", "web", "db"}
    assert client_calls([calls], known) == ({"api": {"stripe-api"}} if client else {})
    if not client:
        return
    a = run(_with_outside_api(context([calls, series("http_errors_ratio", "api", 0.01, 0.3)])))
    (dep,) = cands(a, "dependency_failure", "stripe-api")
    assert dep.features["dependency_down"] > 0.5
    top = max(a.candidates, key=lambda c: c.score)
    assert (top.kind, top.service) == ("dependency_failure", "stripe-api")


def _stripe_timeouts(summary: str) -> Analysis:
    """api's calls to the outside stripe-api time out from the fault on (its client
    counter and its log say so), just after a config change of api's own."""
    cut = Change(id="c", ts=_dt(FAULT - 30), service="api", kind="config", summary=summary)
    calls = _client_calls("api", "api.stripe.com", "504", 40.0)
    timeouts = [
        (
            FAULT + 5.0 + 20 * i,
            "api",
            "ERROR",
            "charge failed: POST https://api.stripe.com/v1/charges "
            "to stripe-api: Read timed out after 500ms",
        )
        for i in range(30)
    ]
    calm = [(T0 + 60.0 * i, "api", "INFO", "request served") for i in range(40)]
    ctx = context(
        [calls, series("http_errors_ratio", "api", 0.01, 0.3)], [cut], logs=timeouts + calm
    )
    return run(_with_outside_api(ctx))


def test_calls_timing_out_after_their_caller_cut_its_timeout_are_the_cuts_doing() -> None:
    """api's client now gives up at 500 ms: its calls to stripe-api timing out from the
    change on say how long it waits, not that stripe-api is down. The change is the
    cause; the same change raising the timeout leaves stripe-api's failure standing."""
    cut = _stripe_timeouts("api: stripe client read-timeout 5000ms -> 500ms")
    top = max(cut.candidates, key=lambda c: c.score)
    assert (top.kind, top.service) == ("config_change", "api")
    assert all(
        c.features["dependency_down"] == 0.0 for c in cands(cut, "dependency_failure", "stripe-api")
    )
    raised = _stripe_timeouts("api: stripe client read-timeout 500ms -> 5000ms")
    (dep,) = cands(raised, "dependency_failure", "stripe-api")
    assert dep.features["dependency_down"] > 0.5


@pytest.mark.parametrize(
    ("kind", "summary", "cut"),
    [
        ("config", "cardnet.client.read-timeout 5000ms -> 500ms (align with staging)", True),
        ("config", "ConfigMap statements-svc-config: UPSTREAM_TIMEOUT_MS 2000 -> 200", True),
        ("config", "eta client timeout 2s -> 70ms, maxRetries 0 -> 3", False),  # retries rose
        ("config", "read-timeout 500ms -> 5s", False),
        ("config", "db.pool.maxSize 50 -> 5", False),  # a pool, not a timeout
        ("config", "raise the timeout", False),  # no value stated
        ("deploy", "orders 6.32.10 -> 6.32.9: revert timeout handling", False),  # versions
    ],
)
def test_a_timeout_cut_is_read_from_what_the_change_says(
    kind: str, summary: str, cut: bool
) -> None:
    from aisre_cli.investigate.analyzers.changes import timeouts_cut

    c = Change(id="c", ts=_dt(FAULT), service="svc", kind=kind, summary=summary)  # type: ignore[arg-type]
    assert (timeouts_cut([c]) == {"svc": [FAULT]}) is cut


@pytest.mark.parametrize(
    ("name", "text", "named"),
    [
        ("postmark-api", "postmark::unexpectedhttpresponseerror: 503 service unavailable", True),
        ("postmark-api", "call to postmark-api failed", True),
        ("carrier-rates-api", "carrier rates returned 503", True),  # prose, less its kind
        ("user-svc", "user not found", False),  # too short a word to be a name alone
        ("fraud-check", "fraud detected", False),  # its last word says which one
        ("postmark-api", "postmarker failed", False),  # a whole word only
        # code's client of it, and an RPC method asking it for something
        ("payment", "paymentclient.charge: rpc error: code = unavailable", True),
        ("product-catalog", "productcatalogserviceclient", False),  # not its whole name
        ("product-catalog", "productcatalogclient.getproduct failed", True),
        ("rate", "searchhandler getrates failed: rpc error", True),
        ("reservation", "makereservation: deadline exceeded", True),
        ("rate", "generate report failed", False),
        ("rate", "getratelimit failed", False),
        # a handler is named after the request it serves, not what it calls
        ("search", "searchhandler: rpc error: code = unavailable", False),
    ],
)
def test_a_service_is_named_as_its_clients_call_it(name: str, text: str, named: bool) -> None:
    """A name ending in a word that says only what kind of thing it is (api, svc,
    service, server) is also named by the rest: a client library calls postmark-api
    `Postmark` (`Postmark::UnexpectedHttpResponseError`)."""
    from aisre_cli.investigate.analyzers.dependency import _name_rx

    assert bool(_name_rx(name).search(text)) is named


STRIPE_TLS = (
    "Stripe::APIConnectionError: Could not establish a secure connection to "
    "api.stripe.com:443 (SSL_connect returned=1 errno=0 state=error: certificate "
    "verify failed (certificate has expired))"
)


def _api_says(said: str, n: int = 30) -> list[tuple[float, str, str, str]]:
    """api logs `said` from the fault on (`n` lines), beside its info lines all along."""
    logs = [(FAULT + 5 + 10 * k, "api", "error", said) for k in range(n)]
    return logs + [(T0 + 60 * k, "api", "info", "GET /v1/items 200") for k in range(40)]


def test_an_outside_api_its_callers_errors_name_explains_them() -> None:
    """stripe-api has no series of its own; from the fault api's new errors name it as
    what failed them (`Charge failed (client stripe-api) … status=500`): its failures
    are what api measured, so they explain api's errors and it comes first. The same
    errors naming nobody leave api its own."""
    errs = series("http_errors_ratio", "api", 0.01, 0.3)
    said = "Charge failed (client stripe-api) payment=p_1 status=500"
    a = run(_with_outside_api(context([errs], logs=_api_says(said))))
    top = max(a.candidates, key=lambda c: c.score)
    assert (top.service, top.kind) == ("stripe-api", "dependency_failure")
    assert min(c.features["deeper"] for c in a.candidates if c.service == "api") > 0.5
    b = run(_with_outside_api(context([errs], logs=_api_says("Charge failed status=500"))))
    assert max(b.candidates, key=lambda c: c.score).service == "api"


def test_a_tls_error_naming_an_outside_host_is_the_certificate_of_the_service_it_names() -> None:
    """api's calls fail with `SSL_connect returned=1 ... certificate verify failed`
    connecting to api.stripe.com:443: the host's words are all of stripe-api's name, so
    the certificate is stripe-api's, not api's own."""
    errs = series("http_errors_ratio", "api", 0.01, 0.3)
    a = run(_with_outside_api(context([errs], logs=_api_says(STRIPE_TLS, 20))))
    assert cands(a, "certificate_expiry", "stripe-api")
    assert not cands(a, "certificate_expiry", "api")


def test_a_service_whose_series_cannot_show_failures_is_read_by_its_error_log() -> None:
    """api exports only its connection counts (nginx's stub_status: no status, no
    timing), flat; from the fault it logs `upstream timed out`. Its error log is where
    its trouble shows: it is anomalous from then. The same log beside a flat error-rate
    series of its own is not: that series says its requests did not fail."""
    said = "upstream timed out (110: Connection timed out) while reading response header"
    logs = [(FAULT + 5 + 10 * k, "api", "error", said) for k in range(20)]
    logs += [(T0 + 60 * k, "api", "info", "GET /v1/items 200") for k in range(40)]
    conns = series("nginx_connections_active", "api", 40.0)
    blind = run(context([conns], logs=logs))
    assert max(c.features["anomaly"] for c in blind.candidates if c.service == "api") > 0.3
    rate = series("http_errors_ratio", "api", 0.01)
    seen = run(context([conns, rate], logs=logs))
    assert (
        max((c.features["anomaly"] for c in seen.candidates if c.service == "api"), default=0.0)
        < 0.3
    )


def _probe(name: str, base: float, after: float) -> Series:
    """A blackbox probe of stripe-api's public endpoint, named by its URL."""
    row = series(name, "stripe-api", base, after)
    row.labels = {"job": "blackbox", "instance": "https://api.stripe.com/v1/charges"}
    return row


def test_a_dependency_measured_only_by_probes_that_take_longer_is_degraded() -> None:
    """Nothing of stripe-api's own is there but the probes of it; from the fault they
    take three times as long, and api, which calls it, slows. stripe-api answering
    slowly is a dependency failing its callers, not an unknown at stripe-api. A
    service with series of its own is read by them instead."""
    errs = series("http_errors_ratio", "api", 0.01, 0.3)
    probes = [_probe("probe_duration_seconds", 0.17, 0.55), _probe("probe_success", 1.0, 1.0)]
    a = run(_with_outside_api(context([errs, *probes])))
    (dep,) = cands(a, "dependency_failure", "stripe-api")
    assert "answers slowly" in dep.statement and dep.features["dependency_down"] > 0.2
    assert _top(a) == ("dependency_failure", "stripe-api")
    own = series("stripe_requests_total", "stripe-api", 40.0)
    b = run(_with_outside_api(context([errs, *probes, own])))
    assert not cands(b, "dependency_failure", "stripe-api")


def _stripe_unavailable(said: str) -> Analysis:
    """api deployed five minutes before the fault; from the fault its new errors say
    `said` (api's error rate jumps with web's symptom). stripe-api has no series."""
    errs = series("http_errors_ratio", "api", 0.01, 0.3)
    d = _deploy("d", "api", FAULT - 300)
    return run(_with_outside_api(context([errs], [d], logs=_api_says(said))))


def test_an_outside_api_its_callers_errors_report_failing_has_their_timing() -> None:
    """api's strongest new errors say stripe-api answered `503 Service Unavailable`:
    stripe-api, which has no series of its own, failed when api's errors began, and
    moved with the symptom as api did; api's deploy five minutes before explains
    nothing those errors do not. The same deploy followed by a bug of api's own is
    the deploy."""
    told = _stripe_unavailable("Stripe::APIError: stripe-api answered 503 Service Unavailable")
    assert _top(told) == ("dependency_failure", "stripe-api")
    (dep,) = cands(told, "dependency_failure", "stripe-api")
    assert dep.features["symptom_corr"] > 0.5
    bug = _stripe_unavailable("NoMethodError: undefined method `total' for nil:NilClass")
    assert _top(bug) == ("deploy", "api")


def test_an_outside_apis_certificate_its_callers_tls_errors_report_has_their_timing() -> None:
    """api deployed five minutes before the fault; from then its strongest new errors
    are TLS failures naming api.stripe.com. stripe-api is known only by a probe of it
    (flat: the prober's own trust store) and by them: its certificate moved with the
    symptom as api did, and explains api's errors, not api's deploy."""
    errs = series("http_errors_ratio", "api", 0.01, 0.3)
    probe = _probe("probe_success", 1.0, 1.0)
    d = _deploy("d", "api", FAULT - 300)
    a = run(_with_outside_api(context([errs, probe], [d], logs=_api_says(STRIPE_TLS))))
    assert _top(a) == ("certificate_expiry", "stripe-api")


def _with_carrier_api(ctx: Context) -> Context:
    """api calls db and carrier-rates-api, an outside API no data of its own names."""
    ctx.topology = Topology(
        depends_on={"web": ["api"], "api": ["db", "carrier-rates-api"], "db": []}
    )
    return ctx


@pytest.mark.parametrize(
    ("host", "who"),
    [
        ("https://api.cardnet-sandbox.example/v2/auth", "cardnet"),  # a one-word name
        ("https://api.stripe.com/v1", "stripe-api"),  # all the words of a longer name
        ("https://api.sandbox.example.com/", None),  # words any host carries name nobody
        ("cardnet.payments.svc.cluster.local", None),  # in-cluster: a namespace, not cardnet's
    ],
)
def test_an_outside_host_names_the_service_its_words_do(host: str, who: str | None) -> None:
    by_flat = {x: x for x in ("cardnet", "stripe-api", "api-gateway", "payments", "sandbox")}
    if "cluster" in host:
        by_flat.pop("payments")
        host = "billing.cardnet.svc.cluster.local"
    assert metric_an.host_service(host, by_flat, first=False) == who


def test_a_word_many_services_carry_is_a_brand_no_outside_host_names_one_by() -> None:
    """`tidewater` (named by a namespace's wildcard certificate) is a word of three more
    services' names (`afd-tidewater`, …): the company's, which its public host carries
    too; the host names none of them. A word two other names carry still names its
    one-word service."""
    brand = ("tidewater", "afd-tidewater", "agw-tidewater", "sb-tidewater", "billing-api")
    host = "https://api.tidewater-energy.example/account/health"
    assert metric_an.host_service(host, {x: x for x in brand}, first=False) is None
    two = ("tidewater", "afd-tidewater", "agw-tidewater", "billing-api")
    assert metric_an.host_service(host, {x: x for x in two}, first=False) == "tidewater"


@pytest.mark.parametrize(
    ("host", "who"),
    [
        # the name but for the word saying what kind of thing it is
        ("https://scheduling.fernhill.local:5001/health", "scheduling-svc"),
        ("records.fernhill.local", "records-api"),
        # a last word that says which, not what kind (`-web`), or two services alike
        ("https://booking.fernhill.example/", None),
        ("https://billing.fernhill.local/", None),
    ],
)
def test_a_host_names_a_service_by_its_name_less_its_kind_word(host: str, who: str | None) -> None:
    names = ("scheduling-svc", "records-api", "booking-web", "billing-api", "billing-service")
    assert metric_an.host_service(host, {x: x for x in names}) == who


def test_an_outside_api_known_by_a_host_its_name_does_not_hold_is_tied_to_it() -> None:
    """carrier-rates-api's host is api.carrierhub.example: its words are not the name's.
    Where api calls that one outside host and the topology gives api one callee with no
    data of its own, the host is that callee (`callee_aliases`), and api's failed calls
    to it are carrier-rates-api's failure."""
    calls = _client_calls("api", "api.carrierhub.example", "503", 40.0)
    errs = series("http_errors_ratio", "api", 0.01, 0.3)
    db = series("pg_stat_activity_count", "db", 10.0)
    ctx = _with_carrier_api(context([calls, errs, db]))
    assert metric_edges.callee_aliases(ctx.series, ctx.topology, {"api", "web", "db"}) == {
        "api.carrierhub.example": "carrier-rates-api"
    }
    # two quiet callees (or a callee with data of its own): which one, nothing says
    two = Topology(depends_on={"api": ["carrier-rates-api", "tax-api"]})
    assert metric_edges.callee_aliases(ctx.series, two, {"api"}) == {}
    heard = {"api", "web", "db", "carrier-rates-api"}
    assert metric_edges.callee_aliases(ctx.series, ctx.topology, heard) == {}
    a = run(ctx)
    top = max(a.candidates, key=lambda c: c.score)
    assert (top.kind, top.service) == ("dependency_failure", "carrier-rates-api")


@pytest.mark.parametrize(
    ("line", "tied"),
    [
        ("Carrier rates API returned 503 for POST https://api.carrierhub.example/v2/rates", True),
        ("carrier_rates_api: POST https://api.carrierhub.example/v2/rates failed", True),
        ("POST https://api.carrierhub.example/v2/rates failed", False),  # names no service
        ("carrier rates API down, db at https://10.0.0.9:8443/ too", False),  # an address
        ("carrier-rates-api and web failed at https://api.carrierhub.example/", False),  # two
    ],
)
def test_an_error_line_naming_a_service_and_a_url_ties_the_host(line: str, tied: bool) -> None:
    """A caller's error line naming one service as people write it (`Carrier rates
    API`) and the URL it called ties the host to that service (`host_aliases`)."""
    msgs = [line] * 12
    a = run(
        _with_carrier_api(
            context(
                [series("http_errors_ratio", "api", 0.01, 0.3)],
                logs=[(FAULT + 10.0 * i, "api", "ERROR", m) for i, m in enumerate(msgs)]
                + [(T0 + 60.0 * i, "api", "INFO", "request served") for i in range(40)],
            )
        )
    )
    known = {"web", "api", "db", "carrier-rates-api"}
    got = dep_an.host_aliases(a.findings.logs.findings, known, a.ctx.logs)
    assert (got.get("api.carrierhub.example") == "carrier-rates-api") is tied
    assert "10.0.0.9" not in got


def test_a_circuit_breaker_is_its_services_view_of_the_dependency_it_guards() -> None:
    """Resilience4j names a breaker after the dependency it guards, as code does
    (`carrierRates`): its failure rate is api's measurement of carrier-rates-api."""
    known = {"api", "db", "carrier-rates-api", "billing-service", "billing-db"}
    assert metric_edges.breaker_target("carrierRates", known) == "carrier-rates-api"
    assert metric_edges.breaker_target("billingService", known) == "billing-service"
    assert metric_edges.breaker_target("inventory", known) is None
    rate = series(
        "resilience4j_circuitbreaker_failure_rate",
        "api",
        0.0,
        62.5,
        labels={"name": "carrierRates"},
    )
    assert metric_edges.is_client_side(rate)
    assert metric_edges.peer_of(rate, known) == "carrier-rates-api"
    a = run(_with_carrier_api(context([rate, series("http_errors_ratio", "api", 0.01, 0.3)])))
    (dep,) = cands(a, "dependency_failure", "carrier-rates-api")
    assert dep.features["dependency_down"] > 0.5


def test_an_outside_api_is_dated_by_its_callers_strongest_readings() -> None:
    """A 500 every few minutes from twenty minutes before, then 429s at every call from
    the fault: the outside API began failing at the fault."""

    def client(status: str, onset: float, strength: float) -> Any:
        s = _client_calls("api", "api.stripe.com", status, 1.0)
        return metric_an.MetricFinding(
            s, "errors", 1, 9.0, 1.0, 0.0, 1.0, 1.0, onset, strength, True
        )

    out: dict[str, dep_an.DependencyFinding] = {}
    found = [client("500", FAULT - 1200, 0.3), client("429", FAULT, 1.0)]
    dep_an._measured_by_callers(out, found, {"api", "stripe-api"}, {})
    assert len(out["stripe-api"].client) == 2
    assert out["stripe-api"].onset == FAULT
    # a peer already dated by something else keeps the earlier date
    out = {"stripe-api": dep_an.DependencyFinding("stripe-api", 0.5, FAULT - 300)}
    dep_an._measured_by_callers(out, found, {"api", "stripe-api"}, {})
    assert out["stripe-api"].onset == FAULT - 300


def test_a_server_side_series_naming_a_host_is_not_a_callers_view() -> None:
    """The same counter measured on the serving side (no `client` in it) is api's own
    errors: it says nothing about the host in its labels."""
    own = _client_calls(
        "api", "api.stripe.com", "500", 40.0, name="http_server_request_duration_seconds_count"
    )
    a = run(_with_outside_api(context([own])))
    assert not cands(a, "dependency_failure", "stripe-api")


def test_a_callee_with_readings_of_its_own_is_read_by_them() -> None:
    """db's own error share rose: it is read by that; api's client errors naming it add
    no dead-dependency finding (they are api's view of what db's readings say)."""
    calls = _client_calls("api", "db", "500", 40.0)
    own = series("db_errors_ratio", "db", 0.01, 0.4)
    a = run(_with_outside_api(context([calls, own])))
    assert not cands(a, "dependency_failure", "db")
    alone = run(_with_outside_api(context([calls])))
    assert cands(alone, "dependency_failure", "db")


def test_a_callee_read_only_by_names_the_catalogue_does_not_know_is_read_by_callers() -> None:
    """The tenth blind generator: a cache whose own series were its keyspace misses and
    its uptime (no family the catalogue reads) went down; its callers' clients counted
    their failed operations on it. A reading of no known meaning says nothing of the
    cache failing: its callers' failed calls still do."""
    calls = _client_calls("api", "db", "500", 40.0)
    misses = series("redis_keyspace_misses_total_rate", "db", 5.0, 0.5)
    assert FamilyMatcher().classify(misses.name, misses.labels).family is None
    a = run(_with_outside_api(context([calls, misses])))
    (dep,) = cands(a, "dependency_failure", "db")
    assert dep.features["dependency_down"] > 0.5


def test_without_a_topology_the_callers_client_metrics_say_who_calls_whom() -> None:
    """No topology and no spans: api's client counter of its calls to db (and to an
    outside host no service is named for) is a call api makes to db, with a note
    saying where the call came from. A given topology is used as it is."""
    calls = _client_calls("api", "db.shop.svc.cluster.local:5432", "200", 40.0)
    outside = _client_calls("api", "api.unknown-vendor.io", "200", 40.0)
    db = series("db_errors_ratio", "db", 0.01, 0.4)
    ctx = context([calls, outside, db])
    ctx.topology = Topology(depends_on={})
    a = run(ctx)
    assert a.topology.depends_on == {"api": ["db"]}
    assert any("read from client metrics" in n.detail for n in ctx.notes)
    assert client_calls([calls, outside], {"api", "db"}) == {"api": {"db"}}
    # a server-side series naming a host is the service's own, not a call
    own = replace(calls, name="http_server_request_duration_seconds_count")
    assert client_calls([own], {"api", "db"}) == {}
    # nor is a client calling itself by its own name
    self_call = _client_calls("api", "api.shop.svc", "200", 40.0)
    assert client_calls([self_call], {"api", "db"}) == {}
    # a mesh's latency summed over its direction: the query says it is outbound
    mesh = Series(
        "06_linkerd_out_p99",
        "api",
        {"deployment": "api", "dst_deployment": "db"},
        calls.timestamps,
        calls.values,
        query="histogram_quantile(0.99, sum by (deployment, dst_deployment, le) (rate("
        'response_latency_ms_bucket{direction="outbound", ns=~"a|b"}[1m])))',
    )
    assert client_calls([mesh], {"api", "db"}) == {"api": {"db"}}
    # Linkerd names the owner of the pods called: a database runs as a StatefulSet
    tcp = replace(
        mesh,
        name="linkerd_tcp_close_err",
        labels={"deployment": "api", "dst_statefulset": "db", "errno": "ECONNREFUSED"},
        query="sum by (deployment, dst_statefulset, errno) "
        '(rate(tcp_close_total{direction="outbound"}[1m]))',
    )
    assert client_calls([tcp], {"api", "db"}) == {"api": {"db"}}
    istio = replace(
        mesh,
        labels={"source_workload": "api", "destination_canonical_service": "db"},
        query='rate(istio_requests_total{reporter="source"}[1m])',
    )
    assert client_calls([istio], {"api", "db"}) == {"api": {"db"}}
    inbound = replace(mesh, query=mesh.query.replace("outbound", "inbound"))
    assert client_calls([inbound], {"api", "db"}) == {}
    # a given topology is used as it is, even where the client metrics say more
    web_db = _client_calls("web", "db", "200", 40.0)
    given = run(context([calls, web_db, db]))
    assert given.topology.depends_on == {"web": ["api"], "api": ["db"], "db": []}


def test_an_oom_killed_service_has_a_local_explanation() -> None:
    """api's containers are killed for their memory limit as db's errors rise with
    api's (no memory series of api's to say so): running out of its own memory is api's
    trouble whatever db does, so db explains api's crashes less than when the cluster
    only says they back off."""

    def crash_of(reason: str, said: str) -> Candidate:
        ctx = context(
            [
                series("http_errors_ratio", "api", 0.01, 0.3),
                series("http_errors_ratio", "db", 0.01, 0.3),
            ]
        )
        ctx.events = [
            Event(
                ts=FAULT + 60 * i,
                service="api",
                reason=reason,
                message=said,
                object="pod/api-1",
                count=3,
                ref="events/k8s.jsonl:1",
            )
            for i in range(5)
        ]
        (c,) = cands(run(ctx), "crash_loop", "api")
        return c

    oom = crash_of("OOMKilled", "Container api in pod api-1 was OOMKilled (exit code 137)")
    backoff = crash_of("BackOff", "Back-off restarting failed container api")
    assert oom.features["deeper"] < 0.5 * backoff.features["deeper"]
    assert oom.score > backoff.score


def test_container_cpu_is_saturation_node_cpu_is_weaker() -> None:
    own = run(context([series("container_cpu_usage_percent", "api", 20.0, 95.0)]))
    (sat,) = cands(own, "resource_saturation", "api")
    assert sat.features["node_only"] == 0.0 and sat.features["kind_signal"] > 0.5
    node = run(context([series("node_cpu_usage_percent", "api", 20.0, 95.0)]))
    (nsat,) = cands(node, "resource_saturation", "api")
    assert nsat.features["node_only"] == 1.0
    assert nsat.features["kind_signal"] < sat.features["kind_signal"]
    # a node's reading is the node's, and the statement says so
    assert sat.statement.startswith("api is saturating its cpu"), sat.statement
    assert nsat.statement.startswith("api's node is saturating its cpu"), nsat.statement
    assert node.candidates and own.candidates
    assert nsat.features["anomaly"] < sat.features["anomaly"]


@pytest.mark.parametrize(
    ("name", "base", "after", "far"),
    [
        # a share of a limit, as a percent: 21% -> 23% has not run out; 20% -> 95% has
        ("container_memory_usage_percent", 21.0, 23.0, True),
        ("container_memory_usage_percent", 20.0, 95.0, False),
        ("container_cpu_usage_percent", 5.0, 40.0, True),
        ("container_cpu_usage_percent", 5.0, 90.0, False),
        # as a ratio of 1
        ("container_memory_working_set_ratio", 0.2, 0.3, True),
        ("container_memory_working_set_ratio", 0.2, 0.92, False),
        # Datadog's "percent" shown as a fraction: 0.93 of a disk is nearly full
        ("kubernetes_filesystem_usage_pct", 0.3, 0.93, False),
        ("kubernetes_filesystem_usage_pct", 0.1, 0.3, True),
        # bytes in use say nothing of the limit: read by their noise floor as before
        ("container_memory_working_set_bytes", 2.0e8, 4.0e8, False),
        # a share of what is left: 5% free is 95% used (it had read as far from full)
        ("node_filesystem_avail_ratio", 0.42, 0.05, False),
    ],
)
def test_a_share_of_a_limit_far_from_full_is_no_saturation(
    name: str, base: float, after: float, far: bool
) -> None:
    """nezha-ob's memory at 21% -> 23% of a pod's limit was a .79 saturation where a
    network delay elsewhere was the cause: a share of a limit that stayed under half of
    it has not run out, however clean its step (`saturation.share_headroom`)."""
    (f,) = [
        m
        for m in run(context([series(name, "api", base, after)])).findings.metrics
        if m.series.service == "api"
    ]
    assert saturation.share_headroom(f) is far
    (sat,) = cands(run(context([series(name, "api", base, after)])), "resource_saturation", "api")
    # the statement says what the reading says: saturating, or rose and stayed far from full
    assert ("is saturating its" in sat.statement) is not far, sat.statement
    assert ("stayed well under its limit" in sat.statement) is far, sat.statement
    if not far:
        assert sat.features["kind_signal"] >= 0.5  # (a node's reading counts half)
        return
    # the same series climbing to full is a saturation
    full = run(context([series(name, "api", base, 97.0 if base > 1 else 0.97)]))
    (fsat,) = cands(full, "resource_saturation", "api")
    assert sat.features["kind_signal"] < 0.5 * fsat.features["kind_signal"]


def test_jittery_series_does_not_outweigh_a_clean_jump() -> None:
    jitter = series("container_cpu_usage_percent", "db", 50.0, 58.0, noise=0.25)
    clean = series("http_errors_ratio", "api", 0.01, 0.3, noise=0.01)
    a = run(context([jitter, clean]))
    f_api = max(c.features["anomaly"] for c in a.candidates if c.service == "api")
    f_db = max((c.features["anomaly"] for c in a.candidates if c.service == "db"), default=0.0)
    assert f_api > f_db


def test_the_traffic_feature_is_a_surge_of_the_service_own_demand() -> None:
    """`traffic` says a service's demand rose (it is then more likely load's victim);
    a fall is not that: callers that failed first, or the service failing the requests
    it counts."""
    err = series("http_errors_ratio", "api", 0.01, 0.3)
    surge = run(context([err, series("http_requests_per_second", "api", 100.0, 400.0)]))
    fall = run(context([err, series("http_requests_per_second", "api", 100.0, 20.0)]))
    up = {c.features.get("traffic", 0.0) for c in surge.candidates if c.service == "api"}
    down = {c.features.get("traffic", 0.0) for c in fall.candidates if c.service == "api"}
    assert min(up) > 0.5
    assert down == {0.0}


def test_a_gauge_named_like_a_counter_is_read_as_a_gauge() -> None:
    """`pg_stat_activity_count` ends in `_count` but is a gauge: it hovers (23, 24, 23)
    and then fills up to max_connections. Read as a counter its rate would be a bump and
    then zero; read as the gauge it is, the climb is a connections anomaly. The
    catalogue knows a `_count` of connections is a level; a series named like a counter
    that hovers is read as a gauge by its shape. A summed counter whose pods restart
    (one or two large falls) stays a counter."""
    ts = [T0 + i * STEP for i in range(N)]
    hover = [23.0 + (i % 3 == 1) - (i % 7 == 3) for i in range(N)]
    vals = [h if t < FAULT else 100.0 for h, t in zip(hover, ts, strict=True)]
    g = Series("pg_stat_activity_count", "db", {"service": "db"}, ts, vals, query="x")
    m = FamilyMatcher()
    assert m.classify(g.name, g.labels).shape == "gauge"  # connections now: a level
    assert not metric_an.counter_like(g, m)
    hovering = replace(g, name="backend_sessions_total")  # named like a counter
    assert m.classify(hovering.name, hovering.labels).shape == "counter"
    assert not metric_an.counter_like(hovering, m)  # ... but it hovers
    a = run(context([g]))
    (f,) = [f for f in a.findings.metrics if f.series.name == "pg_stat_activity_count"]
    assert f.family == "connections" and f.direction > 0
    # flat with three small dips, the rest climbing: few falls, but not a counter's
    dipping = [23.0 - (i in (5, 15, 25)) for i in range(N // 2)] + [23.0 + i for i in range(N // 2)]
    assert not metric_an.counter_like(Series("backend_sessions_total", "db", {}, ts, dipping), m)
    total, summed = 0.0, []
    for i, _t in enumerate(ts):
        total += 50.0
        summed.append(total * (2 / 3 if i in (20, 21) else 1.0))  # a pod of three restarts
    assert metric_an.counter_like(Series("http_requests_total", "db", {}, ts, summed), m)


# ------------------------------------------------------------------ changes


def _deploy(cid: str, svc: str, at: float, version: str = "v2") -> Change:
    return Change(id=cid, ts=_dt(at), service=svc, kind="deploy", version=version)


def test_change_harm_before_and_after() -> None:
    bad = _deploy("d-bad", "api", FAULT - 60)
    innocent = _deploy("d-innocent", "db", FAULT - 30)  # the latest, but db is fine
    a = run(
        context(
            [
                series("http_errors_ratio", "api", 0.01, 0.3),
                series("http_errors_ratio", "db", 0.01),
            ],
            changes=[bad, innocent],
        )
    )
    assert a.findings.harm["d-bad"].harm > 0.5
    assert a.findings.harm["d-innocent"].harm == 0.0
    (cb,) = [c for c in a.candidates if c.subject == "d-bad"]
    (ci,) = [c for c in a.candidates if c.subject == "d-innocent"]
    assert cb.features["change_harm"] > 0.5 and ci.features["change_harm"] == 0.0
    assert cb.score > ci.score


def test_a_failure_counter_without_samples_after_a_deploy_had_no_failures() -> None:
    """A client library creates a labelled error counter at its first increment, again
    after each restart: api's 500s counter has no sample from its deploy until the
    fault eleven minutes later. Those minutes had no 500, so the deploy did no harm;
    the same counter failing from the deploy on did."""
    deployed = FAULT - 660

    def harm(first_failure: float) -> float:
        n = "http_server_requests_total"
        ts = [T0 + i * STEP for i in range(N)]
        kept = [t for t in ts if t < deployed or t >= first_failure]
        vals = [0.0 if t < deployed else 2.0 for t in kept]
        lab = {"service": "api", "status": "500"}
        q = f'sum(rate({n}{{status="500"}}[1m]))'
        row = Series(n, "api", lab, kept, vals, query=q, ref=f"metrics/{n}.json")
        d = _deploy("d", "api", deployed)
        a = run(context([row, series("http_errors_ratio", "web", 0.01, 0.3)], changes=[d]))
        return a.findings.harm["d"].harm

    assert harm(FAULT) < 0.2
    assert harm(deployed) > 0.5


def test_a_changes_harm_is_read_with_the_detectors_noise_floor() -> None:
    """One throttled scheduler period a minute after a flag, over none before, is no harm
    (the detector reads throttling against a floor of half a period a second); ten a
    second is."""

    def harm(after: float) -> float:
        ts = [T0 + i * STEP for i in range(N)]
        total, vals = 0.0, []
        for t in ts:
            total += after * STEP if t >= FAULT - 600 else 0.0
            vals.append(total)
        thr = Series(
            "container_cpu_cfs_throttled_periods_total",
            "api",
            {"service": "api"},
            ts,
            vals,
            query="container_cpu_cfs_throttled_periods_total",
        )
        flag = Change(id="f", ts=_dt(FAULT - 600), service="api", kind="flag")
        a = run(context([thr, series("http_errors_ratio", "web", 0.01, 0.3)], changes=[flag]))
        return a.findings.harm["f"].harm

    assert harm(1 / 60) < 0.1
    assert harm(10.0) > 0.5


def test_a_deploy_at_a_watched_service_that_stayed_quiet_is_marked_quiet() -> None:
    """A deploy at a service whose own series are there and did not move, with no log of
    its own, is `quiet` (its own signals speak for its innocence); an unwatched service
    is not (nothing says it stayed fine), nor one whose series moved, nor one whose logs
    show new errors."""
    api_bad = series("http_errors_ratio", "api", 0.01, 0.3)
    db_flat = series("http_errors_ratio", "db", 0.01)
    d_db = _deploy("d-db", "db", FAULT - 300)
    d_api = _deploy("d-api", "api", FAULT - 60)

    def quiet(a: Analysis, cid: str) -> float:
        (c,) = [c for c in a.candidates if c.subject == cid]
        return c.features["quiet"]

    a = run(context([api_bad, db_flat], changes=[d_db, d_api]))
    assert quiet(a, "d-db") == 1.0
    assert quiet(a, "d-api") == 0.0  # its errors jumped
    assert quiet(run(context([api_bad], changes=[d_db, d_api])), "d-db") == 0.0  # unwatched
    errors = [(FAULT + 30 + 20 * k, "db", "error", "lock wait timeout exceeded") for k in range(6)]
    errors.append((T0 + 10, "db", "info", "started"))  # the logs cover the baseline
    noisy = run(context([api_bad, db_flat], changes=[d_db, d_api], logs=errors))
    assert quiet(noisy, "d-db") == 0.0


def test_canary_version_series_blames_the_new_version() -> None:
    canary = _deploy("d-canary", "api", FAULT - 60, version="v2")
    other = _deploy("d-other", "api", FAULT - 50, version="v9")
    old = series("http_errors_ratio", "api", 0.01, labels={"version": "v1"}, seed=2)
    # the new version's pods look like the old ones until the deploy, then fail
    new = series(
        "http_errors_ratio", "api", 0.01, 0.3, labels={"version": "v2"}, seed=3, at=FAULT - 60
    )
    harm = change_an.attribute([canary, other], [old, new], FamilyMatcher().classify)
    assert harm["d-canary"].version_harm > 0.5
    assert "v2" in harm["d-canary"].version_detail
    assert harm["d-other"].version_harm == 0.0


def _versioned(key: str, old_value: str, new_value: str, new_from: float) -> list[Series]:
    """api's error ratio from old-version pods (all along) and new-version pods that
    came up at `new_from` and fail."""
    old = series("http_errors_ratio", "api", 0.01, labels={key: old_value}, seed=2)
    new = series(
        "http_errors_ratio", "api", 0.01, 0.3, labels={key: new_value}, seed=3, at=new_from
    )
    keep = [i for i, t in enumerate(new.timestamps) if t >= new_from]
    new.timestamps = [new.timestamps[i] for i in keep]
    new.values = [new.values[i] for i in keep]
    return [old, new]


@pytest.mark.parametrize(
    ("key", "old_value", "new_value", "version"),
    [
        ("track", "stable", "canary", "v2.3.1"),  # the Kubernetes docs' canary labels
        ("canary", "false", "true", None),
        ("pod_template_hash", "5d8f7c9b4", "7b9c6d5f8", "v2.3.1"),  # a hash, not a version
        ("rollouts_pod_template_hash", "6f4d", "84c2", None),  # the change did not say
        ("destination_canonical_revision", "v1", "v2", None),  # Istio's standard metrics
        # cAdvisor's image label: the tag is the version the deploy records
        (
            "image",
            "registry.io:5000/shop/api:v2.3.0",
            "registry.io:5000/shop/api:v2.3.1@sha256:ab",
            "v2.3.1",
        ),
    ],
)
def test_canary_pods_are_read_whatever_the_label_says(
    key: str, old_value: str, new_value: str, version: str | None
) -> None:
    at = FAULT - 300
    d = Change(id="d", ts=_dt(at), service="api", kind="deploy", version=version)
    harm = change_an.attribute(
        [d], _versioned(key, old_value, new_value, at), FamilyMatcher().classify
    )
    assert harm["d"].version_harm > 0.5


def test_a_pool_gauge_moving_by_one_connection_is_no_harm_of_a_change() -> None:
    """HikariCP's active connections of a pod, 0 with an odd 1 for half an hour before a
    deploy and 0 or 1 in the minute after it (the pod then replaced): whole numbers,
    whose noise floor is half a connection, not a "10⁸σ" rise. Ten connections held
    after it are harm. So for a baseline that sits on one value and visits another
    (`metrics.quantum_floor`)."""
    at = FAULT - 60
    ts = [T0 + i * STEP for i in range(N)]
    d = _deploy("d", "api", at)

    def pool(after: float) -> Series:
        vals = [(1.0 if i % 30 == 0 else 0.0) if t < at else after for i, t in enumerate(ts)]
        name = "hikaricp_connections_active"
        return Series(
            name, "api", {"service": "api", "pod": "api-1", "pool": "p"}, ts, vals, query=name
        )

    def harm(s: Series) -> float:
        return change_an.attribute([d], [s], FamilyMatcher().classify)["d"].harm

    assert harm(pool(0.5)) == 0.0
    assert harm(pool(10.0)) > 0.5
    # a p99 read off a histogram steps at its bucket edges: 0.25 s, and 0.5 s in one
    # point of six before; alternating after is a level it visited, not a shift
    name = "http_request_duration_seconds_p99"

    def p99(after: list[float]) -> Series:
        vals = [
            (0.5 if i % 6 == 0 else 0.25) if t < at else after[i % len(after)]
            for i, t in enumerate(ts)
        ]
        return Series(name, "api", {"service": "api"}, ts, vals, query=name)

    assert harm(p99([0.25, 0.5])) == 0.0
    assert harm(p99([2.5])) > 0.5


def test_version_labels_that_cannot_tell_the_new_version_blame_nothing() -> None:
    """Both hashes ran long before the deploy, and the deploy does not name either:
    nothing says which pods it brought."""
    d = Change(id="d", ts=_dt(FAULT - 300), service="api", kind="deploy", version=None)
    both = _versioned("pod_template_hash", "5d8f7c9b4", "7b9c6d5f8", T0)
    assert change_an.attribute([d], both, FamilyMatcher().classify)["d"].version_harm == 0.0
    # the new pods came up at the deploy, but they are healthy: no harm either
    fine = _versioned("pod_template_hash", "5d8f7c9b4", "7b9c6d5f8", FAULT - 300)
    fine[1].values = [0.01] * len(fine[1].values)
    assert change_an.attribute([d], fine, FamilyMatcher().classify)["d"].version_harm == 0.0


def _pods(name: str, level: float, noise: float, seed: int, track: str) -> Series:
    return series(
        "container_cpu_usage_seconds_total",
        "api",
        level,
        noise=noise,
        labels={"track": track, "pod": name},
        seed=seed,
    )


def test_a_canary_that_is_always_the_worst_pod_is_harm_though_pods_jitter() -> None:
    """Old pods jitter ±15% around 0.13 cores; the canary runs at 0.17 (+30%) from the
    deploy on. The medians' z against the pods' jitter is small (about 3.5), but the
    canary is the busiest pod at nearly every moment: the release's harm, not load (which
    would weigh on the old pods alike)."""
    at = FAULT - 600
    d = Change(id="d", ts=_dt(at), service="api", kind="deploy", version=None)
    old = [_pods(f"old-{i}", 0.13, 0.15, i, "stable") for i in range(3)]
    canary = _pods("new", 0.17, 0.04, 9, "canary")
    keep = [i for i, t in enumerate(canary.timestamps) if t >= at]
    canary.timestamps = [canary.timestamps[i] for i in keep]
    canary.values = [canary.values[i] for i in keep]
    h = change_an.attribute([d], [*old, canary], FamilyMatcher().classify)["d"]
    assert h.version_by_family["cpu"] > 0.8
    # a footprint, as harm of the change: half of it (errors and latency count whole)
    assert h.version_harm == pytest.approx(change_an.FOOTPRINT_SHARE * h.version_by_family["cpu"])
    # the same canary running like its old pods: the busiest pod by chance only
    canary.values = [0.13 * (1 + 0.1 * ((i * 7919) % 13 - 6) / 6) for i in range(len(keep))]
    h = change_an.attribute([d], [*old, canary], FamilyMatcher().classify)["d"]
    assert h.version_harm < 0.3
    # steadily the busiest pod, by 7%: a difference, not harm
    quiet = [_pods(f"old-{i}", 0.13, 0.002, i, "stable") for i in range(3)]
    canary.values = [0.139] * len(keep)
    h = change_an.attribute([d], [*quiet, canary], FamilyMatcher().classify)["d"]
    assert h.version_harm < 0.3
    # the busiest pod half the time (an old pod spikes above it the rest): no better than
    # chance makes some pod; the busiest nine moments in ten is harm
    steady = _pods("old-0", 0.13, 0.0, 0, "stable")
    spiky = _pods("old-1", 0.13, 0.0, 1, "stable")
    spiky.values = [0.30 if i % 2 else 0.13 for i in range(len(spiky.values))]
    canary.values = [0.17] * len(keep)
    assert change_an._worst_pod([canary], [steady, spiky], at, 1.0, 0.13, 0.0065) == 0.0
    spiky.values = [0.30 if i % 10 == 0 else 0.13 for i in range(len(spiky.values))]
    assert change_an._worst_pod([canary], [steady, spiky], at, 1.0, 0.13, 0.0065) > 0.5


def _pod_info(pod: str, version: str) -> Series:
    """kube-state-metrics' `kube_pod_labels` for one pod: value 1, the pod's labels."""
    ts = [T0 + i * STEP for i in range(N)]
    lab = {"namespace": "shop", "pod": pod, "label_app": "api", "label_version": version}
    return Series("kube_pod_labels", "api", lab, ts, [1.0] * N, query="kube_pod_labels")


def _pod_cpu(pod: str, level: float, seed: int, after: float | None = None) -> Series:
    s = series(
        "container_cpu_usage_percent",
        "api",
        level,
        after,
        noise=0.05,
        labels={"namespace": "shop", "pod": pod},
        seed=seed,
        at=FAULT - 300,
    )
    return s


def test_a_pods_version_is_read_from_kube_pod_labels() -> None:
    """cAdvisor's series name the pod, not its version; `kube_pod_labels` says it (as
    `* on (namespace, pod) group_left (label_version) kube_pod_labels` would). A series
    with a version of its own keeps it; another namespace's pod of the same name is not
    this one."""
    cpu = _pod_cpu("api-7d9f-a", 20.0, 1)
    own = replace(cpu, labels={**cpu.labels, "version": "v9"})
    elsewhere = replace(cpu, labels={**cpu.labels, "namespace": "other"})
    info = _pod_info("api-7d9f-a", "v2")
    joined = metric_an.join_pod_labels([cpu, own, elsewhere, info])
    assert joined[0].labels["label_version"] == "v2"
    assert "label_version" not in joined[1].labels and joined[1].labels["version"] == "v9"
    assert "label_version" not in joined[2].labels
    assert joined[3] is info


def test_a_canary_known_by_its_pod_labels_is_judged_against_the_old_pods() -> None:
    """Three old pods and one canary pod of api, the canary burning CPU from five minutes
    before the fault; only `kube_pod_labels` says which pod runs which version. The deploy
    is the story, not api's CPU running out (the old pods' did not move)."""
    at = FAULT - 600
    old = [_pod_cpu(f"api-old-{i}", 20.0, i) for i in range(3)]
    new = _pod_cpu("api-new-0", 20.0, 9, after=90.0)
    keep = [i for i, t in enumerate(new.timestamps) if t >= at]
    new.timestamps = [new.timestamps[i] for i in keep]
    new.values = [new.values[i] for i in keep]
    info = [_pod_info(f"api-old-{i}", "v1") for i in range(3)] + [_pod_info("api-new-0", "v2")]
    d = Change(id="d", ts=_dt(at), service="api", kind="deploy", version="v2")
    a = run(context([*old, new, *info], changes=[d]))
    (dep,) = cands(a, "deploy", "api")
    assert dep.features["change_harm"] > 0.3
    assert "new version v2" in dep.statement
    top = max(a.candidates, key=lambda c: c.score)
    assert (top.kind, top.service) == ("deploy", "api")


def _counter_pods(
    name: str, family_value: float, n_old: int, new_level: float, key: str = "track"
) -> list[Series]:
    """Old pods with a flat `name` at `family_value` all along, and a new one from the
    deploy on, flat at `new_level`; `key` tells their versions apart (a canary label,
    or a pod-template hash, whose new value is the one first seen after the deploy)."""
    at = FAULT - 300
    old_v, new_v = ("stable", "canary") if key == "track" else ("5d8f7c9b4", "7b9c6d5f8")
    out = []
    for i in range(n_old):
        out.append(
            series(name, "api", family_value, noise=0.0, labels={"pod": f"o{i}", key: old_v})
        )
    new = series(name, "api", new_level, noise=0.0, labels={"pod": "n", key: new_v})
    keep = [i for i, t in enumerate(new.timestamps) if t >= at]
    new.timestamps = [new.timestamps[i] for i in keep]
    new.values = [new.values[i] for i in keep]
    return [*out, new]


@pytest.mark.parametrize("key", ["track", "pod_template_hash"])
def test_restart_counts_are_compared_by_what_each_pod_did_in_the_window(key: str) -> None:
    """The old pods restarted once each, days ago; the canary came up with a count of 2
    and never restarted in the window. Lifetimes are no comparison: no harm. A canary
    that restarts twice in the window is (the old pods still the old version, though
    only their minutes from the deploy on are compared)."""
    d = Change(id="d", ts=_dt(FAULT - 300), service="api", kind="deploy", version=None)
    name = "kube_pod_container_status_restarts_total"
    flat = _counter_pods(name, 1.0, 3, 2.0, key)
    h = change_an.attribute([d], flat, FamilyMatcher().classify)["d"]
    assert h.version_by_family.get("restarts", 0.0) == 0.0
    crashing = _counter_pods(name, 1.0, 3, 2.0, key)
    crashing[-1].values = [2.0 + min(i, 20) // 10 for i in range(len(crashing[-1].values))]
    h = change_an.attribute([d], crashing, FamilyMatcher().classify)["d"]
    assert h.version_by_family["restarts"] > 0.5


def test_memory_is_worse_only_past_the_spread_of_the_old_pods() -> None:
    """A canary holding 15% more memory than its old pods, flat, is within what pods of
    one service differ by (and what another build may hold by design): no harm; nor a
    drift of a percent or two. One whose memory climbs by half and more over the minutes
    the old pods' stays put leaks."""
    d = Change(id="d", ts=_dt(FAULT - 300), service="api", kind="deploy", version=None)
    name = "container_memory_working_set_bytes"
    more = _counter_pods(name, 400e6, 3, 460e6)
    h = change_an.attribute([d], more, FamilyMatcher().classify)["d"]
    assert h.version_by_family.get("memory", 0.0) == 0.0
    drift = _counter_pods(name, 400e6, 3, 400e6)
    for x in drift[:-1]:
        x.values = [400e6 * (1 - 0.01 * i / len(x.values)) for i in range(len(x.values))]
    n = len(drift[-1].values)
    drift[-1].values = [400e6 * (1 + 0.015 * i / n) for i in range(n)]
    h = change_an.attribute([d], drift, FamilyMatcher().classify)["d"]
    assert h.version_by_family.get("memory", 0.0) == 0.0
    leak = _counter_pods(name, 400e6, 3, 400e6)
    leak[-1].values = [400e6 * (1 + 0.05 * i) for i in range(len(leak[-1].values))]
    h = change_an.attribute([d], leak, FamilyMatcher().classify)["d"]
    assert h.version_by_family["memory"] > 0.5


def test_an_image_is_read_as_its_tag() -> None:
    assert change_an._image_tag("registry.io:5000/shop/api:v2.3.1@sha256:ab") == "v2.3.1"
    assert change_an._image_tag("api:1.0") == "1.0"
    assert change_an._image_tag("registry.io:5000/shop/api") == "registry.io:5000/shop/api"
    assert change_an._image_tag("api@sha256:ab") == "sha256:ab"


def test_a_canary_is_judged_by_how_its_pods_do_when_the_trouble_is() -> None:
    """api's canary came up 25 minutes before the fault and did as well as its old pods
    until the fault woke its defect (a scheduled job's code path): from then on its pods
    fail and the old ones do not. Over everything since the deploy the medians match;
    from a little before the onset on, the new version is plainly worse."""
    at = FAULT - 1500
    pods = _versioned("version", "v1", "v2", at)
    new = pods[1]
    new.values = [0.01 if t < FAULT else v for t, v in zip(new.timestamps, new.values, strict=True)]
    d = _deploy("d", "api", at, version="v2")
    classify = FamilyMatcher().classify
    since_deploy = change_an.attribute([d], pods, classify)["d"]
    assert since_deploy.version_compared and since_deploy.version_harm < 0.3
    at_the_trouble = change_an.attribute([d], pods, classify, onset=FAULT)["d"]
    assert at_the_trouble.version_harm > 0.5


@pytest.mark.parametrize(
    ("old_rise", "new_before", "lo", "hi"),
    [
        (0.0, 0.01, 0.5, 1.0),  # old pods flat: a latent defect the incident woke
        (0.15, 0.01, 0.3, 0.65),  # old pods got half of it: half is the release's
        (0.15, 0.05, 0.8, 1.0),  # new pods worse before too: nothing to share
    ],
)
def test_a_canary_as_good_as_its_old_pods_until_the_incident_hit_both_is_worse_by_its_own_share(
    old_rise: float, new_before: float, lo: float, hi: float
) -> None:
    """A gray-release set: a canary's p99 matched its old pods' for twenty minutes,
    then the incident (a batch job saturating the canary's node) raised both, the new
    pods' twice as much, and the deploy was blamed at .90. What the old pods got too is
    the incident's, not the release's (`changes._shared`): old pods flat (a latent
    defect the incident woke, as above) leave all the harm to the release, old pods half
    as much worse leave it half; new pods already worse before the incident share
    nothing."""
    at = FAULT - 1500
    pods = _versioned("version", "v1", "v2", at)
    old, new = pods
    new.values = [
        new_before if t < FAULT else v for t, v in zip(new.timestamps, new.values, strict=True)
    ]
    old.values = [
        v + (old_rise if t >= FAULT else 0.0)
        for t, v in zip(old.timestamps, old.values, strict=True)
    ]
    d = _deploy("d", "api", at, version="v2")
    h = change_an.attribute([d], pods, FamilyMatcher().classify, onset=FAULT)["d"]
    assert h.version_compared and lo <= h.version_harm <= hi, h.version_harm


def test_kubernetes_recommended_version_label_is_read() -> None:
    at = FAULT - 300
    d = _deploy("d", "api", at, version="v2.3.1")
    for key in ("app_kubernetes_io_version", "label_app_kubernetes_io_version"):
        pods = _versioned(key, "v2.3.0", "v2.3.1", at)
        assert change_an.attribute([d], pods, FamilyMatcher().classify)["d"].version_harm > 0.5


def test_failing_canary_pods_are_an_anomaly_that_explains_the_callers() -> None:
    """db's canary pods fail from its deploy on; its old pods are fine, so no series of db
    has a baseline that moved. api (its caller) errs as well. The canary's failure is db's
    anomaly, dated at the deploy: it explains api, and the deploy is the cause."""
    at = FAULT - 300
    pods = _versioned("version", "v1", "v2", at)
    for x in pods:
        x.service = x.labels["service"] = "db"
    d = _deploy("d-db", "db", at, version="v2")
    api = series("http_errors_ratio", "api", 0.01, 0.1, at=at + 60)
    a = run(context([api, *pods], changes=[d]))
    db = [c for c in a.candidates if c.service == "db"]
    assert db and max(c.features["anomaly"] for c in db) > 0.5
    assert max(c.features["deeper"] for c in a.candidates if c.service == "api") > 0.5
    assert max(a.candidates, key=lambda c: c.score).subject == "d-db"


def test_canary_pods_no_worse_than_the_old_ones_clear_the_change() -> None:
    """api errs from before its deploy (a dependency's trouble), so before vs after the
    deploy it got worse; but its new pods err exactly as its old ones do over the same
    minutes. That clears the deploy: no harm, and no reading from proximity alone."""
    at = FAULT + 60  # just after the onset: still 'before' within the grace
    old = series("http_errors_ratio", "api", 0.01, 0.2, labels={"version": "v1"}, seed=2)
    new = series("http_errors_ratio", "api", 0.01, 0.2, labels={"version": "v2"}, seed=3)
    keep = [i for i, t in enumerate(new.timestamps) if t >= at]
    new.timestamps = [new.timestamps[i] for i in keep]
    new.values = [new.values[i] for i in keep]
    d = _deploy("d-api", "api", at, version="v2")
    a = run(context([old, new], changes=[d]))
    assert a.findings.harm["d-api"].version_compared
    (c,) = [c for c in a.candidates if c.subject == "d-api"]
    assert c.features["change_harm"] == 0.0 and c.features["kind_signal"] < 0.1
    # nor from its timing: "it came just before" is the prior the comparison replaces
    assert c.features["change_proximity"] == 0.0
    assert "does no worse than the old" in c.statement
    assert not any(e.key.startswith("h:") for e in c.evidence)  # no before/after harm cited
    # without version labels, the same deploy reads as harmful (before vs after)
    unlabelled = run(context([series("http_errors_ratio", "api", 0.01, 0.2)], changes=[d]))
    (u,) = [c for c in unlabelled.candidates if c.subject == "d-api"]
    assert u.features["kind_signal"] > 0.4 and u.features["change_proximity"] > 0.5
    # nor does a rollout that replaced the old pods clear it: its new pods doing as the
    # old ones did before it is not the same minutes, and proves nothing of them
    # (v2 from 7 minutes before the fault, the last v1 pod gone 6 minutes later; both
    # erring from 5 minutes before it)
    cut, bad = 38, FAULT - 300
    was = series("http_errors_ratio", "api", 0.01, 0.2, labels={"version": "v1"}, seed=2, at=bad)
    gone = replace(was, timestamps=was.timestamps[: cut + 6], values=was.values[: cut + 6])
    early = _deploy("d-api", "api", T0 + cut * STEP, version="v2")
    fresh = series("http_errors_ratio", "api", 0.01, 0.2, labels={"version": "v2"}, seed=3, at=bad)
    fresh = replace(fresh, timestamps=fresh.timestamps[cut:], values=fresh.values[cut:])
    r = run(context([gone, fresh], changes=[early]))
    assert not r.findings.harm["d-api"].version_side_by_side
    (rc,) = [c for c in r.candidates if c.subject == "d-api"]
    assert "does no worse than the old" not in rc.statement
    assert rc.features["change_proximity"] > 0.0


def _latency_alike(at: float) -> list[Series]:
    """api's p99 from its old pods (v1, all along) and its new ones (v2, from `at`): alike."""
    lat = [
        series("http_request_duration_seconds_p99", "api", 0.2, labels={"version": v}, seed=i)
        for i, v in enumerate(("v1", "v2"))
    ]
    keep = [i for i, t in enumerate(lat[1].timestamps) if t >= at]
    lat[1].timestamps = [lat[1].timestamps[i] for i in keep]
    lat[1].values = [lat[1].values[i] for i in keep]
    return lat


def test_a_comparison_that_did_not_look_at_the_crashes_clears_nothing() -> None:
    """api's canary pods answer as fast as its old ones (latency by version, alike), but
    api's restarts climb: its restart counter carries no version (kube-state-metrics
    names the pod only), so the comparison never looked at the crashes, and it cannot
    clear the deploy of them. With the restarts compared by version too, alike, it does."""
    at = FAULT - 300

    def deploy_of(restarts_versioned: bool) -> Candidate:
        lat = _latency_alike(at)
        crash = series("kube_pod_container_status_restarts_total", "api", 0.0, 6.0, noise=0.0)
        crash.values = [
            v if t < FAULT else v + (t - FAULT) / 60
            for t, v in zip(crash.timestamps, crash.values, strict=True)
        ]
        extra = [*lat, crash]
        if restarts_versioned:
            old = replace(crash, labels={**crash.labels, "version": "v1"})
            new = replace(crash, labels={**crash.labels, "version": "v2"})
            extra = [*lat, old, new]
        d = _deploy("d-api", "api", at, version="v2")
        a = run(context(extra, changes=[d]))
        (c,) = [c for c in a.candidates if c.subject == "d-api"]
        return c

    blind = deploy_of(restarts_versioned=False)
    assert "does no worse" not in blind.statement
    assert blind.features["change_proximity"] > 0.0
    seen = deploy_of(restarts_versioned=True)
    assert "does no worse" in seen.statement and seen.features["change_proximity"] == 0.0


def test_crashes_the_cluster_reports_are_failures_a_comparison_must_have_seen() -> None:
    """No restart series at all: the cluster's events say api's containers crash-loop.
    Latency alike on both versions cannot clear the deploy of those crashes."""
    at = FAULT - 300
    lat = _latency_alike(at)

    def deploy_of(crashing: bool) -> Candidate:
        ctx = context(lat, changes=[_deploy("d-api", "api", at, version="v2")])
        if crashing:
            ctx.events = [
                Event(
                    ts=FAULT + 30 + 60 * i,
                    service="api",
                    reason="BackOff",
                    message="Back-off restarting failed container api",
                    object="pod/api-v2-1",
                    count=3,
                    ref="events/k8s.jsonl:1",
                )
                for i in range(5)
            ]
        (c,) = [c for c in run(ctx).candidates if c.subject == "d-api"]
        return c

    assert "does no worse" in deploy_of(crashing=False).statement
    assert "does no worse" not in deploy_of(crashing=True).statement


def test_a_change_whose_service_failed_with_a_deeper_one_is_not_harmed_by_it() -> None:
    """api deployed five minutes before its errors rose; but db, which api calls, went
    down as they rose. api got worse after the deploy, and db's failure explains it:
    the before-and-after is no harm of the deploy (a comparison of its new pods with
    its old ones would be)."""
    d = _deploy("d-api", "api", FAULT - 300)
    errs = series("http_errors_ratio", "api", 0.01, 0.3)
    alone = run(context([errs], changes=[d]))
    (c0,) = [c for c in alone.candidates if c.subject == "d-api"]
    probe = series("probe_success", "db", 1.0, 0.0, noise=0.0)
    both = run(context([errs, probe], changes=[d]))
    (c,) = [c for c in both.candidates if c.subject == "d-api"]
    assert c0.features["change_harm"] > 0.8
    assert c.features["deeper"] > 0.5
    assert c.features["change_harm"] <= c0.features["change_harm"] * (1 - c.features["deeper"])
    assert max(both.candidates, key=lambda x: x.score).service == "db"


def test_a_service_known_by_its_logs_alone_dates_its_trouble() -> None:
    """api exports no series; from the fault its logs time out calling a partner. web
    (which pages) deployed five minutes before and errs from the fault: api's logs are
    deeper trouble as early as web's, not nothing, and web's getting worse after its
    deploy is no longer all the deploy's harm."""
    d = _deploy("d-web", "web", FAULT - 300)
    lines = [
        (
            FAULT + 5.0 + 10 * i,
            "api",
            "ERROR",
            "POST https://partner.example/v2: context deadline exceeded",
        )
        for i in range(30)
    ]
    calm = [(T0 + 60.0 * i, "api", "INFO", "request served") for i in range(40)]
    a = run(context([], changes=[d], logs=lines + calm))
    (c,) = [c for c in a.candidates if c.subject == "d-web"]
    assert c.features["deeper"] > 0.3
    api = [x for x in a.candidates if x.service == "api"]
    assert api and max(x.features["anomaly"] for x in api) > 0.5
    assert c.features["change_harm"] < 0.7  # web's before-and-after: api's doing too


def test_a_shift_that_harms_nothing_does_not_date_the_incident() -> None:
    """The paging service shows nothing of its own. Half an hour before the page, api's
    request rate fell (a release moving traffic to its new pods, a quiet hour ending):
    that harms nothing and does not date the incident, which the page then dates; a rise
    of its errors would."""
    fell = series("http_requests_total_rate", "api", 160.0, 100.0, at=T0 + 20 * STEP)
    ctx = context([fell])
    ctx.series = [s for s in ctx.series if s.service != "web"]
    a = run(ctx)
    assert [f.bad for f in a.findings.metrics if f.series.service == "api"] == [False]
    assert a.onset == ALERT - 120.0
    failing = series("http_errors_ratio", "api", 0.01, 0.3, at=T0 + 20 * STEP)
    ctx = context([fell, failing])
    ctx.series = [s for s in ctx.series if s.service != "web"]
    assert run(ctx).onset == pytest.approx(T0 + 20 * STEP, abs=STEP)


def test_change_after_onset_is_not_harm() -> None:
    hotfix = _deploy("d-hotfix", "api", FAULT + 600)
    a = run(context([series("http_errors_ratio", "api", 0.01, 0.3)], changes=[hotfix]))
    (c,) = [c for c in a.candidates if c.subject == "d-hotfix"]
    assert c.features["change_after_onset"] == 1.0 and c.features["change_harm"] == 0.0


def _config(cid: str, svc: str, at: float, summary: str, kind: str = "config") -> Change:
    return Change(id=cid, ts=_dt(at), service=svc, kind=kind, summary=summary)  # type: ignore[arg-type]


def _pool_incident(summary: str, at: float = FAULT - 180, kind: str = "config") -> Analysis:
    """api raised its database pool at `at`; db's connections (pg_stat_activity) jump at
    the fault, and api's callers err. api's own series stay flat."""
    db = series("pg_stat_activity_count", "db", 14.0, 60.0)
    api = series("http_server_requests_seconds_count", "api", 100.0)
    return run(context([db, api], changes=[_config("c-api", "api", at, summary, kind)]))


@pytest.mark.parametrize(
    "summary",
    [
        "DB_MAX_OPEN_CONNS 25 -> 100",
        "SQLALCHEMY_POOL_SIZE 10 -> 150 (reduce pool wait)",
        "spring.datasource.hikari.maximumPoolSize: 10 → 80",
        "ConnectionStrings__Default Maximum Pool Size 10 -> 200",
        "raise celery concurrency",
        "enable `retry-on-5xx` (maxAttempts=5, no backoff)",
    ],
)
def test_a_callers_pool_raised_before_its_database_ran_out_of_connections(summary: str) -> None:
    """The database's connections jump 3 minutes after its caller's pool grew: the
    caller's change is the cause, though the caller itself looks fine; it is judged
    by what the database shows, and the database's saturation is load from above."""
    a = _pool_incident(summary)
    (c,) = [c for c in a.candidates if c.subject == "c-api"]
    assert c.service == "api" and c.kind == "config_change"
    assert c.features["change_harm"] > 0.8 and c.features["quiet"] == 0.0
    assert c.features["deeper"] < 0.1  # db's own view: nothing below it
    assert "takes more of db's connections" in c.statement
    assert any("pg_stat_activity" in e.ev.summary for e in c.evidence)
    (sat,) = cands(a, "resource_saturation", "db")
    assert sat.features["upstream_surge"] > 0.8
    assert max(a.candidates, key=lambda x: x.score).subject == "c-api"


@pytest.mark.parametrize(
    ("summary", "at", "kind"),
    [
        ("DB_MAX_OPEN_CONNS 100 -> 25", FAULT - 180, "config"),  # it takes less
        ("LOG_LEVEL info -> debug", FAULT - 180, "config"),  # names nothing it takes
        ("DB_MAX_OPEN_CONNS 25 -> 100", FAULT - 1200, "config"),  # 20 min before: not it
        ("DB_MAX_OPEN_CONNS 25 -> 100", FAULT + 600, "config"),  # after the saturation
        ("Node pool ng-general: AMI rotation", FAULT - 180, "infra"),
        # a deploy's message says what its code does now, not a setting it raised
        ("Deploy api v2.35.0: fix: retry on 409 from inventory", FAULT - 180, "deploy"),
        ("add retry with backoff to the payments client", FAULT - 180, "deploy"),
    ],
)
def test_a_change_that_does_not_take_more_claims_nothing(
    summary: str, at: float, kind: str
) -> None:
    a = _pool_incident(summary, at, kind)
    for c in a.candidates:
        if c.subject == "c-api":
            assert c.features["change_harm"] < 0.1 and "takes more" not in c.statement
    (sat,) = cands(a, "resource_saturation", "db")
    assert sat.features["upstream_surge"] == 0.0
    assert max(a.candidates, key=lambda x: x.score).subject != "c-api"


@pytest.mark.parametrize(
    "summary",
    [
        "Deploy api v4.1.0: hikari maximumPoolSize 10 -> 80",
        "Deploy api v4.1.0 (DB_MAX_OPEN_CONNS=100)",
        "Deploy api v4.1.0: raise worker concurrency",
    ],
)
def test_a_deploy_that_states_a_raised_setting_claims_it(summary: str) -> None:
    """A deploy that ships a setting along with its code, and says so, takes more."""
    a = _pool_incident(summary, kind="deploy")
    (c,) = [c for c in a.candidates if c.subject == "c-api"]
    assert c.kind == "deploy" and "takes more of db's connections" in c.statement
    assert c.features["change_harm"] > 0.8
    assert max(a.candidates, key=lambda x: x.score).subject == "c-api"


def test_states_setting_reads_a_value_not_a_colon() -> None:
    ss = change_an.states_setting
    assert ss("pool 10 -> 50") and ss("POOL_SIZE=50") and ss("maximumPoolSize: 80")
    assert ss("enable `retry-on-5xx`") and ss("cache turned off") and ss("increase threads")
    assert ss("set worker concurrency to 16")
    assert not ss("Deploy auth v2.35.0: fix: retry on 409 from inventory")
    assert not ss("bump deps, minor refactor")
    assert not ss("feat: parallel fan-out to shards")


def test_a_service_named_worker_names_no_workers() -> None:
    """`HPA api-worker minReplicas 2 -> 3` sets replicas; the "worker" is its name."""
    ctx = context(
        [series("pg_stat_activity_count", "db", 14.0, 60.0)],
        changes=[
            _config("c-w", "api-worker", FAULT - 180, "HPA api-worker minReplicas 2 -> 3", "scale")
        ],
    )
    ctx.topology = Topology(depends_on={"web": ["api-worker"], "api-worker": ["db"], "db": []})
    a = run(ctx)
    (c,) = [c for c in a.candidates if c.subject == "c-w"]
    assert "takes more" not in c.statement and c.features["change_harm"] < 0.1
    (sat,) = cands(a, "resource_saturation", "db")
    assert sat.features["upstream_surge"] == 0.0


def test_takes_more_reads_the_setting_not_the_name() -> None:
    tm = change_an.takes_more
    assert tm("maxPoolSize 10 -> 50") == {"connections"}
    assert tm("retries 3 -> 10") == {"cpu", "connections"}  # calls in flight hold connections
    assert tm("cache ttl 5 -> 60 (minutes)") == {"memory"}
    assert tm("worker concurrency 4 -> 16") == {"connections", "cpu"}
    assert tm("pool 50 -> 10") == frozenset()
    assert tm("Node pool ng-general: AMI rotation") == frozenset()
    assert tm("bump deps, minor refactor") == frozenset()
    # a cache works the other way: cut or off, what is behind it takes more
    assert tm("manifest: cache ttl 900s -> 30s") == {"cpu", "connections"}
    assert tm("CACHE_TTL 15m -> 30s") == {"cpu", "connections"}  # compared in one unit
    assert tm("cache ttl 30s -> 15m") == {"memory"}
    assert tm("disable response cache for /v1/rates") == {"cpu", "connections"}
    assert tm("RATES_CACHE_ENABLED=false") == {"cpu", "connections"}
    assert tm("pool 10 to 50 connections") == {"connections"}  # a word, not a unit


# ------------------------------------------------------------------ traces


def _calls(n: int, start: float, gap_ms: float, tid: str) -> list[Span]:
    out = []
    for i in range(n):
        t = start + i * 10.0
        trace = f"{tid}{i}"
        out += [
            Span(trace, "w", None, "web", "GET /", t, 30.0 + gap_ms, False),
            Span(trace, "wc", "w", "web", "api.Get", t, 20.0 + gap_ms, False),
            Span(trace, "a", "wc", "api", "api.Get", t, 20.0, False),
        ]
    return out


def test_network_time_on_calls_proposes_network_at_the_callee() -> None:
    spans = _calls(30, FAULT - 600, 1.0, "b") + _calls(10, FAULT + 10, 80.0, "a")
    edges = trace_edges.edge_gaps(spans, FAULT)
    assert [(e.caller, e.callee) for e in edges] == [("web", "api")]
    blame = trace_edges.network_blame(edges)
    assert blame["api"] > blame["web"]
    a = run(context(spans=spans))
    (net,) = cands(a, "network", "api")
    assert net.features["kind_signal"] > 0.5
    assert not cands(a, "network", "db")


def test_a_caller_whose_calls_to_every_callee_grew_is_their_shared_end() -> None:
    """web's calls to api, cart and ads all grow 80 ms on the wire at once: the one
    thing the three edges share is web (its side of the wire, or a CPU too busy to
    read the answers), which the traces blame above any callee. Two callers' calls to
    one callee growing still blame the callee."""

    def fan_out(pairs: list[tuple[str, str]], tag: str) -> list[Span]:
        out = []
        for k, (caller, callee) in enumerate(pairs):
            for i in range(40):
                t = FAULT - 600 + i * 20.0
                gap = 80.0 if t >= FAULT else 1.0
                trace = f"{tag}{k}-{i}"
                out += [
                    Span(trace, "c", None, caller, f"{callee}.Get", t, 20.0 + gap, False),
                    Span(trace, "s", "c", callee, f"{callee}.Get", t, 20.0, False),
                ]
        return out

    spread = trace_edges.edge_gaps(
        fan_out([("web", "api"), ("web", "cart"), ("web", "ads")], "f"), FAULT
    )
    assert len(spread) == 3
    blame = trace_edges.network_blame(spread)
    assert blame["web"] > max(blame["api"], blame["cart"], blame["ads"])
    shared = trace_edges.network_blame(
        trace_edges.edge_gaps(fan_out([("web", "api"), ("mobile", "api")], "g"), FAULT)
    )
    assert shared["api"] > max(shared["web"], shared["mobile"])


def test_time_waiting_in_a_lagging_event_loop_is_not_the_wire() -> None:
    """web's calls to api grow 80 ms between the client's span and the server's, and
    api's own log says its event loop lags: the requests waited in api before its
    server span began. That is api's CPU, not the network to it."""
    spans = _calls(30, FAULT - 600, 1.0, "b") + _calls(10, FAULT + 10, 80.0, "a")
    lag = "503 Service Unavailable: server overloaded (event loop lag 1840ms)"
    logs = [(FAULT + 5 + 10 * k, "api", "error", lag) for k in range(20)]
    logs += [(T0 + 60 * k, "api", "info", "GET /v1/items 200") for k in range(40)]
    a = run(context(spans=spans, logs=logs))
    assert not cands(a, "network", "api")
    assert [c for c in cands(a, "resource_saturation", "api") if c.subject == "cpu"]
    # the same line about something else keeps the wire's reading
    other = [(t, sv, lv, "503 Service Unavailable from upstream") for t, sv, lv, _ in logs]
    assert cands(run(context(spans=spans, logs=other)), "network", "api")


def test_time_waiting_in_a_piled_up_request_queue_is_not_the_wire() -> None:
    """The same grown gap, where api's requests in progress (ASP.NET Core's
    `current-requests`) or its thread pool's queue piled up from the fault: the calls
    waited in api before its server span began. No network reading at api; a count of
    something else (its connections to the database) leaves the wire's reading."""
    spans = _calls(30, FAULT - 600, 1.0, "b") + _calls(10, FAULT + 10, 80.0, "a")
    for name in (
        "microsoftaspnetcorehosting_current_requests",
        "http_requests_inprogress",
        "systemruntime_threadpool_queue_length",
    ):
        piled = series(name, "api", 4.0, 120.0, noise=0.05)
        assert not cands(run(context([piled], spans=spans)), "network", "api"), name
    pool = series("db_client_connections_usage", "api", 4.0, 120.0, noise=0.05)
    assert cands(run(context([pool], spans=spans)), "network", "api")


def test_requests_piling_up_above_a_failing_callee_are_its_wait() -> None:
    """api's requests in progress pile up (no latency series of its own says why) as
    db, which it calls, fails: api waits on db. The pile-up still reads as api's
    saturation, but at half or less of the same reading where db stayed fine."""
    piled = series("microsoftaspnetcorehosting_current_requests", "api", 4.0, 120.0)
    dead = series("up", "db", 1.0, 0.0, noise=0.0)
    (alone,) = cands(run(context([piled])), "resource_saturation", "api")
    (below,) = cands(run(context([piled, dead])), "resource_saturation", "api")
    assert below.features["kind_signal"] <= 0.75 * alone.features["kind_signal"]


def _client_failures(caller: str, peer: str, per_min: float) -> Series:
    """A caller's OpenTelemetry client counter of calls to `peer` that got no answer
    (`error.type`, no status): none before the fault, `per_min` a minute from then on."""
    s = _client_calls(caller, peer, "", per_min)
    lab = {k: v for k, v in s.labels.items() if k != "http_response_status_code"}
    lab["error_type"] = "System.Net.Http.HttpRequestException"
    return replace(s, labels=lab)


def test_failed_calls_to_a_peer_serving_fine_are_the_way_to_it() -> None:
    """api's calls to db fail (its client counter, no answer) while db goes on serving
    its own requests without an error: the calls fail between them, or before db's
    server counts them. Both readings stand at db, neither confidently."""
    fails = _client_failures("api", "db", 40.0)
    served = series("http_server_requests_total", "db", 50.0, 50.0)
    a = run(context([fails, served]))
    (net,) = cands(a, "network", "db")
    (dep,) = cands(a, "dependency_failure", "db")
    assert net.features["kind_signal"] == pytest.approx(dep.features["kind_signal"])
    assert "fail on the way" in net.statement
    # db's own errors rising with them: db is failing, not the way to it
    own = series("http_errors_ratio", "db", 0.01, 0.3)
    b = run(context([fails, served, own]))
    assert not [c for c in cands(b, "network", "db") if "on the way" in c.statement]
    # a peer with no series of its own (an outside API) is measured by its callers alone
    c = run(context([fails]))
    assert cands(c, "dependency_failure", "db")
    assert not cands(c, "network", "db")


def test_a_peers_reading_from_long_before_does_not_speak_for_failed_calls() -> None:
    """db's CPU crept up two hours before api's calls to it began to fail: that is
    about something else, and api's count of the failed calls still says db fails.
    The same CPU rising with the failures speaks for db itself."""
    fails = _client_failures("api", "db", 40.0)
    early = series("process_cpu_seconds_total_ratio", "db", 0.2, 0.6, at=T0 + 5 * STEP)
    a = run(context([fails, early]))
    assert a.findings.dead.get("db") is not None
    now = series("process_cpu_seconds_total_ratio", "db", 0.2, 0.6)
    b = run(context([fails, now]))
    assert b.findings.dead.get("db") is None


def test_steady_network_time_is_quiet() -> None:
    spans = _calls(30, FAULT - 600, 1.0, "b") + _calls(10, FAULT + 10, 1.0, "a")
    assert trace_edges.edge_gaps(spans, FAULT) == []


def test_faint_edge_blames_faintly() -> None:
    spans = _calls(30, FAULT - 600, 1.0, "b") + _calls(10, FAULT + 10, 1.6, "a")
    blame = trace_edges.network_blame(trace_edges.edge_gaps(spans, FAULT))
    assert max(blame.values(), default=0.0) < 0.3


# ------------------------------------------------------------------ ambiguity


def test_diffuse_evidence_raises_crowd() -> None:
    clear = run(context([series("http_errors_ratio", "db", 0.01, 0.5)]))
    diffuse = _diffuse()
    assert max(c.features["crowd"] for c in clear.candidates) < max(
        c.features["crowd"] for c in diffuse.candidates
    )


def _diffuse() -> Analysis:
    ctx = context(
        [
            series("http_errors_ratio", "x1", 0.01, 0.3),
            series("http_errors_ratio", "x2", 0.01, 0.3),
            series("http_errors_ratio", "x3", 0.01, 0.3),
        ]
    )
    ctx.topology = Topology(depends_on={"web": ["x1", "x2", "x3"], "x1": [], "x2": [], "x3": []})
    return run(ctx)


# ------------------------------------------------------------------ registry


def test_builtin_proposers_register_like_a_third_party() -> None:
    names = set(all_proposers())
    assert {"changes", "saturation", "crash_loop", "certificate", "network", "dependency"} <= names

    @register("test-extra")
    def extra(scene, view):  # type: ignore[no-untyped-def]
        return []

    try:
        assert "test-extra" in all_proposers()
    finally:
        from aisre_cli.investigate import proposers

        proposers._REGISTRY.pop("test-extra", None)


def test_edges_out_of_a_cpu_starved_caller_do_not_blame_the_callee() -> None:
    spans = _calls(30, FAULT - 600, 1.0, "b") + _calls(10, FAULT + 10, 80.0, "a")
    starved = run(context([series("container_cpu_usage_percent", "web", 20.0, 98.0)], spans=spans))
    assert not cands(starved, "network", "api")
    assert (
        max((c.features["net_edge"] for c in starved.candidates if c.service == "api"), default=0.0)
        == 0.0
    )


# ------------------------------------------------------------------ timing and load


def test_weak_early_drift_does_not_date_the_incident() -> None:
    """A 10% memory creep 20 minutes before the fault is a real but weak anomaly (5σ at
    the memory floor, `MEMORY_REL_FLOOR`; a 2% creep is none now); the incident (and
    each service's trouble) begins with the strong jump."""
    early = FAULT - 20 * STEP
    ctx = context(
        [
            series("container_memory_usage_bytes", "web", 100.0, 110.0, noise=0.0, at=early),
            series("container_memory_usage_bytes", "api", 100.0, 110.0, noise=0.0, at=early),
            series("http_request_duration_p99_seconds", "api", 0.1, 0.9),
        ]
    )
    a = run(ctx)
    weak = [f for f in a.findings.metrics if f.series.name == "container_memory_usage_bytes"]
    assert weak and all(f.onset <= early + STEP for f in weak)  # the drift is seen ...
    assert abs(a.onset - FAULT) <= 2 * STEP  # ... but does not date the incident
    api = [c for c in a.candidates if c.service == "api"]
    assert api and min(c.features["sync"] for c in api) > 0.8


def _error_ratio(bursts: list[float], gappy: bool = False) -> float:
    """api's error ratio at 1% with three-minute bursts to 20% starting at `bursts`, and
    at 20% from the fault on (every fourth minute back at 1% with `gappy`): its
    finding's onset, in minutes from the fault."""
    ts = [T0 + i * STEP for i in range(N)]
    vals = []
    for i, t in enumerate(ts):
        v = 0.01 * (1 + 0.1 * math.sin(i))
        if any(b <= t < b + 3 * STEP for b in bursts) or (
            t >= FAULT and not (gappy and i % 4 == 0)
        ):
            v = 0.2
        vals.append(v)
    s = Series("http_errors_ratio", "api", {"service": "api"}, ts, vals, query="x", ref="m")
    (f,) = metric_an.detect([s], FamilyMatcher(), ALERT)
    return (f.onset - FAULT) / 60


@pytest.mark.parametrize("numpy_path", [False, True])
@pytest.mark.parametrize(
    ("bursts", "gappy", "onset_min"),
    [
        ([FAULT - 600], False, 0.0),  # one burst, then quiet for 7 minutes: not this one
        ([FAULT - 360], False, -6.0),  # quiet for 3 minutes only: one trouble
        ([FAULT - 900, FAULT - 720], False, -15.0),  # a burst as long as that quiet
        ([FAULT - 1620, FAULT - 1080, FAULT - 540], False, -18.0),  # coming back: a loop
        ([FAULT - 600], True, -10.0),  # what follows is no sustained shift
    ],
)
def test_a_burst_over_well_before_the_trouble_does_not_date_it(
    bursts: list[float],
    gappy: bool,
    onset_min: float,
    numpy_path: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A restart's minute of refused connections ten minutes before an unrelated fault
    dated the fault's errors with it (a GAIA-style set: an innocent redeploy blamed at
    .99, the change that broke the service 'after the onset'). One burst over for
    `EPISODE_S` before a sustained shift began is the tail of something else, as an
    episode that ended that long before the alert is; bursts that keep coming back (a
    crash loop's back-off) and a series that only exceeds now and then stay one
    trouble, dated by their first (`metrics._after_quiet`). The same on the numpy path
    bundles of thousands of points take."""
    if numpy_path:
        monkeypatch.setattr(metric_an, "PURE_MAX_POINTS", -1)
    assert _error_ratio(bursts, gappy) == onset_min


def test_a_faint_drift_of_the_paging_service_alone_does_not_date_the_incident() -> None:
    """The paging service's only finding is a faint rise of a counter the catalogue does
    not know, 35 minutes before the fault; the service it calls jumps at the fault. The
    incident began with the jump (a change between the two must count as before it)."""
    early = FAULT - 35 * STEP
    faint = series("widget_inflight", "web", 100.0, 108.0, noise=0.02, at=early)
    ctx = context([series("http_request_duration_p99_seconds", "api", 0.1, 0.9)])
    ctx.series = [faint, *ctx.series[1:]]  # web's own symptom gone: only the drift
    a = run(ctx)
    (f,) = [f for f in a.findings.metrics if f.series.service == "web"]
    assert f.onset <= early + STEP and 0.0 < f.strength < 0.3
    assert abs(a.onset - FAULT) <= 2 * STEP


@pytest.mark.parametrize(("rise", "lo", "hi"), [(1.3, 0.0, 0.35), (2.5, 0.9, 1.0)])
def test_a_callers_surge_explains_load_below_as_far_as_it_is_large(
    rise: float, lo: float, hi: float
) -> None:
    """web's requests rise five minutes before api's database pool runs out. At x2.5
    that is load from above (`upstream_surge` near 1); +30% on a steady rate is many
    sigmas but no surge, and explains a third of it (as `traffic_surge` reads it)."""
    web = series("http_requests_per_second", "web", 100.0, 100.0 * rise, at=FAULT - 300)
    pool = series("hikaricp_connections_pending", "api", 0.0, 40.0, noise=0.0)
    a = run(context([web, pool]))
    (sat,) = cands(a, "resource_saturation", "api")
    assert lo <= sat.features["upstream_surge"] <= hi


def _db_saturation(surge_at: float | None) -> Candidate:
    """db's CPU runs out at the fault; db's transactions had slowed twenty minutes
    earlier (trouble of its own that dates the service before the surge); web, two
    calls above it, triples its requests at `surge_at` (None: no surge)."""
    extra = [
        series("container_cpu_usage_percent", "db", 30.0, 95.0),
        series("pg_stat_activity_max_tx_duration", "db", 0.1, 0.9, at=FAULT - 20 * STEP),
    ]
    if surge_at is not None:
        extra.append(series("http_requests_per_second", "web", 100.0, 300.0, at=surge_at))
    (sat,) = cands(run(context(extra)), "resource_saturation", "db")
    return sat


def test_a_surge_above_explains_the_saturation_it_came_with_whenever_the_service_began() -> None:
    """A vocab set's surge at the entry ran a Postgres two calls below it out of CPU in
    the same minute, while the clients' chronic errors naming the store dated its
    trouble earlier: `upstream_surge` (the service's first trouble) missed it and the
    store's saturation outranked the surge. The saturation's own onset is what the
    surge is compared with (`saturation.from_above`), and a surge that came long before
    explains less of it."""
    alone = _db_saturation(None)
    with_it = _db_saturation(FAULT)
    earlier = _db_saturation(FAULT - 10 * STEP)
    assert with_it.features["upstream_surge"] == 0.0  # the service-level reading misses it
    assert with_it.features["kind_signal"] < 0.3 * alone.features["kind_signal"]
    assert with_it.features["kind_signal"] < earlier.features["kind_signal"]
    assert earlier.features["kind_signal"] < 0.8 * alone.features["kind_signal"]


def test_a_small_surge_does_not_claim_the_trouble_below_it() -> None:
    """web's requests rise, then api (which it calls) crash-loops. At x3 the crash is
    the surge's effect: it does not count against the surge (`deeper` 0). +30% on a
    steady rate explains it as far as it is a surge: most of api's trouble stays api's."""

    def surge(rise: float) -> Candidate:
        ts = [T0 + i * STEP for i in range(N)]
        crash = [0.0 if t < FAULT else float(int((t - FAULT) / STEP) + 1) for t in ts]
        web = series("http_requests_per_second", "web", 100.0, 100.0 * rise, at=FAULT - 300)
        (c,) = cands(run(context([web, _restarts(ts, crash)])), "traffic_surge", "web")
        return c

    big, small = surge(3.0), surge(1.3)
    assert big.features["deeper"] < 0.05 and small.features["deeper"] > 0.3
    assert small.features["root_local"] < 0.7 * big.features["root_local"]


@pytest.mark.parametrize(
    ("lead_s", "retries"),
    [(-120.0, False), (0.0, False), (120.0, True), (240.0, True), (1800.0, False)],
)
def test_load_that_rose_after_its_callee_broke_is_retries(lead_s: float, retries: bool) -> None:
    """web's requests triple as db (which web calls through api) goes slow; api went
    slow `lead_s` before. Broken two or four minutes before the surge, api's trouble
    came first: web's extra requests are its clients retrying, and the surge does not
    wipe out the claim of what it calls (`deeper` kept). After the surge, at the same
    minute, or half an hour before (trouble of api's own that the incident did not start
    with), the surge explains the trouble below it as before."""
    web = series("http_requests_per_second", "web", 100.0, 300.0)
    slow = series("http_request_duration_p99_seconds", "api", 0.1, 0.9, at=FAULT - lead_s)
    db = series("pg_stat_activity_max_tx_duration", "db", 0.1, 0.9)
    (c,) = cands(run(context([web, slow, db])), "traffic_surge", "web")
    if retries:
        assert c.features["deeper"] > 0.3  # (it fades with the lead, `sync_scale`)
    else:
        assert c.features["deeper"] < 0.05


def _surge_ctx(caller_rate: bool, at: str = "api") -> Context:
    extra = [
        series("http_requests_per_second", at, 100.0, 400.0),
        series("http_request_duration_p99_seconds", at, 0.1, 0.8),
    ]
    if caller_rate:
        extra.append(series("http_requests_per_second", "web", 50.0, 50.0))
    return context(extra)


def test_surge_at_a_service_whose_callers_stayed_flat_came_from_inside() -> None:
    (outside,) = cands(run(_surge_ctx(caller_rate=False)), "traffic_surge", "api")
    (inside,) = cands(run(_surge_ctx(caller_rate=True)), "traffic_surge", "api")
    assert outside.features["kind_signal"] > 0.3
    assert inside.features["kind_signal"] < 0.5 * outside.features["kind_signal"]


def test_a_surge_one_caller_passed_on_is_demand_though_another_caller_stayed_flat() -> None:
    """`internal_load`: api has two callers with request-rate series. web stayed flat,
    batch surged: the load came through a caller (outside demand, which the
    upstream-surge feature attributes), so api's surge is not discounted as internal.
    Only when every caller seen stayed flat did it come from inside."""
    from types import SimpleNamespace

    from aisre_cli.investigate.proposers.traffic import INTERNAL_DISCOUNT, internal_load

    topo = Topology(depends_on={"web": ["api"], "batch": ["api"], "api": ["db"], "db": []})
    observed = {"web": {"traffic"}, "batch": {"traffic"}}

    def load(surged: dict[str, tuple[float, float]]) -> float:
        sc = SimpleNamespace(
            has_topo=True, topo=topo, fnd=SimpleNamespace(observed=observed), surge_at=surged
        )
        return internal_load(sc, "api")  # type: ignore[arg-type]

    assert load({"batch": (0.9, FAULT)}) == 0.0
    assert load({}) == INTERNAL_DISCOUNT
    # a caller edging up (+5%) does not bring a callee's 2.4x: still from inside
    sc = SimpleNamespace(
        has_topo=True, topo=topo, fnd=SimpleNamespace(observed=observed), surge_at={}
    )
    sc.surge_at = {"batch": (0.05, FAULT)}
    assert internal_load(sc, "api", 0.9) == INTERNAL_DISCOUNT  # type: ignore[arg-type]
    assert internal_load(sc, "api", 0.08) == 0.0  # type: ignore[arg-type]


def test_a_surge_behind_callers_with_no_series_is_read_at_the_nearest_seen_above() -> None:
    """`internal_load` through callers that have no request series of their own (C++
    services behind a proxy that counts the requests): the proxy above them is where
    outside demand is seen. A cache's 13x behind a proxy that stayed flat came from
    inside (a refill after its restart, retries); with the proxy surging too it is
    demand; and a way up that ends at an unseen caller with no callers of its own
    (a batch job, unmeasured) may be where it entered: nothing to discount."""
    from types import SimpleNamespace

    from aisre_cli.investigate.proposers.traffic import INTERNAL_DISCOUNT, internal_load

    topo = Topology(
        depends_on={
            "proxy": ["svc"],
            "svc": ["cache"],
            "cache": [],
        }
    )
    observed = {"proxy": {"traffic"}, "cache": {"traffic"}}

    def load(surged: dict[str, tuple[float, float]], t: Topology = topo) -> float:
        sc = SimpleNamespace(
            has_topo=True, topo=t, fnd=SimpleNamespace(observed=observed), surge_at=surged
        )
        return internal_load(sc, "cache", 0.9)  # type: ignore[arg-type]

    assert load({}) == INTERNAL_DISCOUNT
    assert load({"proxy": (0.9, FAULT)}) == 0.0
    # a second way up, through an unseen caller nothing calls: demand may enter there
    cron = Topology(depends_on={**topo.depends_on, "cron": ["cache"]})
    assert load({}, cron) == 0.0


def test_a_surge_nothing_degraded_after_is_no_traffic_surge() -> None:
    """More requests that the service and everything it calls took in their stride are
    not a cause: no `traffic_surge` without a degradation that follows it. (Here db was
    slow well before its requests rose: the surge is not what degraded it.)"""
    ctx = context(
        [
            series("http_request_duration_p99_seconds", "db", 0.1, 0.8, at=FAULT - 10 * STEP),
            series("http_requests_per_second", "db", 100.0, 400.0),
        ]
    )
    a = run(ctx)
    assert cands(a, "unknown", "db"), "db is a suspect"
    assert not cands(a, "traffic_surge", "db")
    slow = context(
        [
            series("http_requests_per_second", "db", 100.0, 400.0),
            series("http_request_duration_p99_seconds", "db", 0.1, 0.8),
        ]
    )
    assert cands(run(slow), "traffic_surge", "db"), "the same surge, then slower: a surge"


def test_surge_at_the_entry_point_is_demand() -> None:
    """The paging service has no callers: its surge is outside demand, not discounted."""
    ctx = context(
        [
            series("http_requests_per_second", "web", 100.0, 400.0),
            series("http_requests_per_second", "api", 100.0, 400.0),
        ]
    )
    (entry,) = cands(run(ctx), "traffic_surge", "web")
    assert entry.features["kind_signal"] > 0.3


def _surge_behind(
    front: str, came: float = 400.0, reached: float = 400.0
) -> tuple[Candidate, Candidate]:
    """`front` in front of web pages on its backend's slow answers; both count four
    times the requests from the fault on. Their traffic_surge candidates."""
    ctx = context(
        [
            series("http_requests_per_second", front, 100.0, came),
            series("http_request_duration_seconds_p99", front, 0.1, 0.8),
            series("http_requests_per_second", "web", 100.0, reached, seed=2),
        ]
    )
    ctx.alert = ctx.alert.model_copy(update={"service": front})
    ctx.alerts = [ctx.alert]
    ctx.topology = Topology(depends_on={front: ["web"], "web": ["api"], "api": ["db"], "db": []})
    a = run(ctx)
    (at_front,) = cands(a, "traffic_surge", front)
    (at_web,) = cands(a, "traffic_surge", "web")
    return at_front, at_web


def test_a_surge_through_a_proxy_landed_on_the_backend_behind_it() -> None:
    """A proxy makes no demand of its own, it passes it on: a surge HAProxy shows that
    its backend shows too is the backend's (the proxy's own surge reading gives way to
    it, and the backend's is not discounted as load from above). An application in
    front (a gateway of our own) is where outside demand entered, and keeps it, as any
    entry point does."""
    px_front, px_web = _surge_behind("haproxy")
    gw_front, gw_web = _surge_behind("edge-gateway")
    assert px_front.features["kind_signal"] < 0.5 * gw_front.features["kind_signal"]
    assert px_web.features["kind_signal"] > 2 * gw_web.features["kind_signal"]
    assert px_web.score > px_front.score and gw_front.score > gw_web.score
    # (the surge candidate's "load from above" is the proxy's only as far as it kept it)
    assert px_web.features.get("upstream_surge", 0.0) < gw_web.features["upstream_surge"]
    # a proxy that turned most of a flood away (6x at it, 2.5x behind it) keeps the part
    # that did not reach its backend
    kept, _ = _surge_behind("haproxy", came=600.0, reached=250.0)
    assert kept.features["kind_signal"] > 2 * px_front.features["kind_signal"]


def test_varnish_passes_a_surge_on_as_any_proxy_does() -> None:
    """Varnish is a caching proxy: a surge it shows that its backend shows too is the
    backend's, as HAProxy's is (`test_a_surge_through_a_proxy_landed_on_the_backend_…`)."""
    front, web = _surge_behind("varnish")
    assert web.score > front.score
    assert front.features["kind_signal"] < 0.5 * web.features["kind_signal"]


def test_surges_one_call_apart_begun_within_minutes_are_one_wave() -> None:
    """A gateway's 1.6x crosses its threshold three minutes after the 4x behind it did:
    one wave of demand, begun when it was first seen; a surge a service below began ten
    minutes later, or one at a service the others do not call, is its own."""
    topo = Topology(depends_on={"gw": ["auth", "api"], "api": ["db"], "auth": [], "db": []})
    surge_at = {
        "gw": (0.4, FAULT + 180),
        "auth": (1.0, FAULT),
        "api": (0.5, FAULT + 60),
        "db": (0.3, FAULT + 660),
        "batch": (0.9, FAULT - 60),
    }
    assert scene_mod.waves(surge_at, topo) == {
        "gw": FAULT,
        "auth": FAULT,
        "api": FAULT,
        "db": FAULT + 660,
        "batch": FAULT - 60,
    }


def _wave(edge_at: float, trouble_at: float = FAULT) -> Analysis:
    """edge (an entry point) → web → api: demand rises 3x at web and api at the fault,
    the edge's own 1.6x (and its latency) read from `edge_at`; api's CPU runs out from
    `trouble_at`."""
    ctx = context(
        [
            series("http_requests_per_second", "edge", 100.0, 160.0, at=edge_at),
            series("http_request_duration_seconds_p99", "edge", 0.1, 0.3, at=edge_at),
            series("http_requests_per_second", "web", 100.0, 300.0, seed=3),
            series("http_requests_per_second", "api", 100.0, 300.0, seed=2),
            series("container_cpu_usage_seconds_total", "api", 0.5, 1.9, at=trouble_at),
        ]
    )
    ctx.topology = Topology(depends_on={"edge": ["web"], "web": ["api"], "api": []})
    return run(ctx)


def test_a_surge_at_the_entry_explains_the_load_its_wave_brought_below() -> None:
    """The entry point's surge read three minutes after the services below it saw the
    same wave: it began with the wave, not after their trouble, and what they suffered
    is its load (`explains`), as with a reading on time. api's CPU running out four
    minutes before the wave came is trouble of its own: the surge explains nothing."""
    late = _wave(FAULT + 180)
    (surge,) = cands(late, "traffic_surge", "edge")
    (on_time,) = cands(_wave(FAULT), "traffic_surge", "edge")
    assert surge.features["explains"] > 0.5 and on_time.features["explains"] > 0.5
    (sat,) = cands(late, "resource_saturation", "api")
    assert surge.score > sat.score
    (before,) = cands(_wave(FAULT + 180, FAULT - 240), "traffic_surge", "edge")
    assert before.features["explains"] == 0.0
    assert before.features["deeper"] > surge.features["deeper"]


@pytest.mark.parametrize(
    ("stable_after", "surge"),
    [(95.0, False), (100.0, False), (200.0, True)],
    ids=["weight-moved", "stable-flat", "both-rose"],
)
def test_a_canarys_share_of_the_requests_growing_is_no_surge(
    stable_after: float, surge: bool
) -> None:
    """web runs two versions during a canary; the rollout steps the canary's weight from
    5% to 10%: its pods' request rate doubles (many σ) while the stable's falls by as
    much, or too little to show. The same demand served by other pods is no surge. Demand
    that rose reaches every version: both rising is one."""
    # a recording rule's per-version rate, as queries.yaml gives it (read series by series)
    q = "sum by (service, version) (rate(http_requests_total[2m]))"
    canary = series("http_requests_per_second", "web", 5.0, 10.0, labels={"version": "1.5.0"})
    stable = series(
        "http_requests_per_second", "web", 100.0, stable_after, labels={"version": "1.4.9"}, seed=2
    )
    canary, stable = replace(canary, query=q), replace(stable, query=q)
    extra = [canary, stable, series("http_errors_ratio", "api", 0.01, 0.3)]
    got = cands(run(context(extra)), "traffic_surge", "web")
    # (a stable version's noise, +1%, is a surge of 1% at most)
    strongest = max((c.features["kind_signal"] for c in got), default=0.0)
    assert strongest > 0.5 if surge else strongest < 0.05


@pytest.mark.parametrize(
    ("api_after", "load", "later", "labels"),
    [
        (400.0, True, 0.0, None),
        (100.0, True, 0.0, None),
        (10.0, False, 0.0, None),
        (10.0, True, -10 * STEP, None),
        (10.0, True, 0.0, {"code": "200"}),
    ],
    ids=["api-got-more", "api-got-the-same", "api-got-less", "api-fell-long-before", "api-ok-fell"],
)
def test_demand_that_never_reached_the_callee_is_no_surge(
    api_after: float, load: bool, later: float, labels: dict[str, str] | None
) -> None:
    """web's requests quadruple and its errors rise. Had api, which web calls, been asked
    for more (or as much), the surge is load; asked for a tenth from that minute, web's
    calls fail on the way to api (a certificate, a refused connection) and web's extra
    requests are its clients retrying: no surge. Not when api's requests fell ten
    minutes before (its own story), nor when only its successes fell."""
    ctx = context(
        [
            series("http_requests_per_second", "web", 100.0, 400.0),
            series(
                "http_requests_per_second", "api", 100.0, api_after, at=FAULT + later, labels=labels
            ),
            series("http_errors_ratio", "api", 0.01, 0.3),
        ]
    )
    a = run(ctx)
    (c,) = cands(a, "traffic_surge", "web")
    # nor is api's trouble load from above (`upstream_surge`, `callees_starved`)
    below = max(x.features.get("upstream_surge", 0.0) for x in a.candidates if x.service == "api")
    if load:
        assert c.features["kind_signal"] > 0.3
        assert below > 0.3
    else:
        assert c.features["kind_signal"] < 0.1
        assert below < 0.1


def _availability(strength: float) -> metric_an.MetricFinding:
    s = series("probe_success", "db", 1.0, 0.0, noise=0.0)
    return metric_an.MetricFinding(
        series=s,
        family="availability",
        direction=-1,
        z=10.0,
        rel=1.0,
        baseline=0.9,
        level=0.0,
        peak=0.0,
        onset=FAULT,
        strength=strength,
        bad=True,
    )


def test_noisy_availability_falling_to_zero_is_weakly_down() -> None:
    from aisre_cli.investigate.analyzers.dependency import find_dead

    steady = find_dead([_availability(1.0)], [], set())["db"].strength
    noisy = find_dead([_availability(0.2)], [], set())["db"].strength
    assert steady == pytest.approx(1.0)
    assert noisy < 0.5 * steady


def _dead_db(lead_steps: int) -> float:
    a = run(
        context(
            [
                series("probe_success", "db", 1.0, 0.0, noise=0.0, at=FAULT - lead_steps * STEP),
                series("http_errors_ratio", "api", 0.01, 0.4),
            ]
        )
    )
    (dep,) = cands(a, "dependency_failure", "db")
    return dep.features["dependency_down"]


def test_dependency_down_long_before_its_callers_degrade_corroborates_little() -> None:
    """A dependency explains its callers' trouble when they degrade about when it dies
    (within a step or so); callers fine for three more steps barely corroborate it."""
    prompt = _dead_db(0)
    late = _dead_db(3)
    assert prompt > 0.8
    assert late < 0.35 * prompt


def _dead_db_serving(db_rps: float) -> float:
    a = run(
        context(
            [
                series("probe_success", "db", 1.0, 0.0, noise=0.0),
                series("http_errors_ratio", "api", 0.01, 0.4),
                series("requests_per_second", "api", 100.0),
                series("requests_per_second", "db", db_rps),
            ]
        )
    )
    (dep,) = cands(a, "dependency_failure", "db")
    return dep.features["dependency_down"]


def test_a_dependency_reached_by_a_sliver_of_its_callers_requests_explains_little() -> None:
    """A dependency that served 2 requests a second while its caller served 100 was on
    the way of 2% of them at most: it going down cannot be why the caller fails. One
    that served 80 can; so can one whose requests no metric counts beside its caller's."""
    sliver = _dead_db_serving(2.0)
    most = _dead_db_serving(80.0)
    assert most == pytest.approx(_dead_db(0))
    assert most > 0.8
    assert sliver < 0.3 * most


def test_volumes_count_requests_served_not_calls_made() -> None:
    """What a service serves is counted once: its total where `prepare` made one, else
    the sum over its series; the calls it makes (a client-side series) are another
    service's requests; other names are counted apart."""
    before = T0 + 20 * STEP
    total = replace(series("requests_per_second", "api", 30.0), query="sum by (service) (x)")
    got = dep_an.volumes(
        [
            series("requests_per_second", "api", 10.0, labels={"pod": "a"}),
            series("requests_per_second", "api", 20.0, labels={"pod": "b"}),
            total,
            series("http_client_requests_per_second", "api", 500.0),
            series("requests_per_second", "db", 3.0, labels={"route": "/get"}),
            series("requests_per_second", "db", 1.0, labels={"route": "/put"}),
            series("grpc_server_handled_per_second", "db", 7.0),
            series("container_cpu_usage_percent", "db", 50.0),
        ],
        FamilyMatcher(),
        before,
    )
    assert got["api"] == {"requests_per_second": pytest.approx(30.0, rel=0.02)}
    assert got["db"]["requests_per_second"] == pytest.approx(4.0, rel=0.02)
    assert "container_cpu_usage_percent" not in got["db"]


def test_reach_is_the_callees_share_of_its_callers_requests() -> None:
    from aisre_cli.investigate.scene import VOLUME_FULL, reach

    vols = {"api": {"rps": 100.0, "bytes": 1e6}, "db": {"rps": 2.0}, "cache": {"ops": 5.0}}
    assert reach(vols, "db", "api") == pytest.approx(0.02 / VOLUME_FULL)
    assert reach(vols, "cache", "api") == 1.0  # no metric counts both
    assert reach(vols, "api", "db") == 1.0
    assert reach(vols, "nobody", "api") == 1.0


def _api_deeper(db_after: float) -> float:
    a = run(
        context(
            [
                series("http_request_duration_p99_seconds", "api", 0.1, 0.9),
                series("http_request_duration_p99_seconds", "db", 0.01, db_after),
            ]
        )
    )
    return max(c.features["deeper"] for c in a.candidates if c.service == "api")


def test_a_dependency_explains_caller_latency_only_up_to_its_own_growth() -> None:
    """Latency adds up along a call: a database 10 ms slower does not explain a caller
    800 ms slower; a database 600 ms slower does."""
    assert _api_deeper(0.6) > 0.6
    assert _api_deeper(0.02) < 0.1


def test_unknown_is_the_lesser_reading_only_where_a_specific_kind_reads_the_service() -> None:
    a = run(
        context(
            [
                series("container_cpu_usage_percent", "api", 20.0, 95.0),
                series("http_request_duration_p99_seconds", "db", 0.1, 0.9),
            ]
        )
    )
    assert cands(a, "resource_saturation", "api")
    (api_unknown,) = cands(a, "unknown", "api")
    (db_unknown,) = cands(a, "unknown", "db")
    assert not [c for c in a.candidates if c.service == "db" and c.kind != "unknown"]
    assert api_unknown.features["fallback"] == pytest.approx(1.0)
    assert db_unknown.features["fallback"] == 0.0


def test_a_faint_specific_reading_makes_unknown_only_faintly_lesser() -> None:
    """A specific kind that reads the service only faintly (node-wide CPU, shared by
    everything on the node) leaves its "unknown" reading only partly penalised: the
    penalty follows the specific signal."""
    a = run(context([series("node_cpu_usage_percent", "api", 20.0, 95.0)]))
    (sat,) = cands(a, "resource_saturation", "api")
    (unk,) = cands(a, "unknown", "api")
    assert 0.0 < sat.features["kind_signal"] < 0.6
    assert unk.features["fallback"] == pytest.approx(sat.features["kind_signal"])


def test_one_early_percentile_does_not_date_the_service() -> None:
    from aisre_cli.investigate.scene import weighted_onset

    # p95 crept up at 8; mean and p99 jumped at 14: the service's trouble starts at 14
    assert weighted_onset([(8.0, 0.81), (14.0, 1.0), (14.0, 1.0)]) == 14.0
    # two equally strong signals: the earlier one dates it (a cause leads its effects)
    assert weighted_onset([(40.0, 1.0), (30.0, 1.0)]) == 30.0
    assert weighted_onset([(5.0, 0.5)]) == 5.0


def _found(name: str, onset: float, strength: float, **labels: str) -> Any:
    s = series(name, "api", 1.0, labels=labels)
    return metric_an.MetricFinding(s, "cpu", 1, 5.0, 1.0, 1.0, 2.0, 2.0, onset, strength, True)


def test_replicas_of_one_metric_date_a_service_as_one_signal() -> None:
    """Six pods throttled at 20 count once beside two latency percentiles at 10: the
    service's trouble began at 10, however many replicas it runs. Series that differ
    in a route or a peer, not a pod, are signals of their own."""
    from aisre_cli.investigate.scene import per_signal, weighted_onset

    pods = [(_found("throttled_seconds", 20.0, 0.85, pod=f"api-{i}"), 0.85) for i in range(6)]
    lat = [(_found(f"latency_p{q}", 10.0, 0.98), 0.98) for q in (50, 99)]
    assert weighted_onset([(f.onset, w) for f, w in pods + lat]) == 20.0  # pods outvote
    assert weighted_onset(per_signal(pods + lat)) == 10.0
    assert sorted(per_signal(pods)) == [(20.0, 0.85)]
    # the replicas' own median dates the signal: one pod that crept up early does not
    early = [(_found("throttled_seconds", 3.0, 0.8, pod="api-9"), 0.8)]
    assert per_signal(pods + early) == [(20.0, 0.85)]
    routes = [(_found("errors", 5.0 * i, 0.9, route=f"/r{i}"), 0.9) for i in range(3)]
    assert len(per_signal(routes)) == 3
    # a version label is a replica's too: a canary's pods and the stable ones are one
    versions = [(_found("errors", 7.0, 0.9, version=v), 0.9) for v in ("v1", "v2")]
    assert per_signal(versions) == [(7.0, 0.9)]


def _six_pods_cpu(svc: str, at: float) -> list[Series]:
    """`svc`'s six pods' CPU, 20% to 98% from `at`."""
    return [
        series(
            "container_cpu_usage_percent",
            svc,
            20.0,
            98.0,
            labels={"pod": f"{svc}-{i}"},
            seed=i,
            at=at,
        )
        for i in range(6)
    ]


def test_a_callee_with_many_replicas_is_dated_by_its_signals_not_its_pods() -> None:
    """web (which pages) changed its config five minutes before the fault; api, which
    web calls, got slow at the fault, and its six pods ran out of CPU five minutes
    later. api's trouble began with its latency, as early as web's, so it explains
    web's getting worse: six pods' CPU series are one signal, not six that outvote it."""
    d = _deploy("c-web", "web", FAULT - 300)
    lat = [series(f"http_request_duration_p{q}_seconds", "api", 0.1, 0.9) for q in (50, 99)]
    pods = _six_pods_cpu("api", FAULT + 300)
    (c,) = [c for c in run(context(lat + pods, changes=[d])).candidates if c.subject == "c-web"]
    assert c.features["deeper"] > 0.3


def test_the_paging_services_replicas_do_not_date_the_incident() -> None:
    """web's error ratio jumped at the fault; its six pods' CPU rose four minutes
    later. The incident began at the fault: a deploy of web 150 s after it came
    after the onset, however many pods web runs."""
    d = _deploy("d-web", "web", FAULT + 150)
    pods = _six_pods_cpu("web", FAULT + 240)
    (c,) = [c for c in run(context(pods, changes=[d])).candidates if c.subject == "d-web"]
    assert c.features["change_after_onset"] == 1.0


def _web_deeper(starved: bool) -> float:
    extra = [series("http_errors_ratio", "api", 0.01, 0.3)]
    if starved:
        extra.append(series("container_cpu_usage_percent", "web", 20.0, 98.0))
    a = run(context(extra))
    return max(c.features["deeper"] for c in a.candidates if c.service == "web")


def test_a_cpu_starved_service_is_not_explained_away_by_its_dependencies() -> None:
    """Waiting on a slow dependency costs no CPU: a service pinned at 98% CPU has a
    local explanation, so the trouble seen at the services it calls explains it less."""
    plain = _web_deeper(starved=False)
    assert plain > 0.5
    assert _web_deeper(starved=True) < 0.2 * plain


def _two_hops(n: int, start: float, web_api_ms: float, api_db_ms: float, tid: str) -> list[Span]:
    out = []
    for i in range(n):
        t = start + i * 10.0
        tr = f"{tid}{i}"
        out += [
            Span(tr, "w", None, "web", "GET /", t, 40.0 + web_api_ms + api_db_ms, False),
            Span(tr, "wc", "w", "web", "api.Get", t, 30.0 + web_api_ms + api_db_ms, False),
            Span(tr, "a", "wc", "api", "api.Get", t, 30.0 + api_db_ms, False),
            Span(tr, "ac", "a", "api", "db.Query", t, 10.0 + api_db_ms, False),
            Span(tr, "d", "ac", "db", "db.Query", t, 10.0, False),
        ]
    return out


def test_network_reading_follows_where_the_grown_network_time_concentrates() -> None:
    """Two calls grew on the wire, one by 80 ms and one by 8: the network hypothesis
    is strong where most of the grown time is, weaker at the other."""
    spans = _two_hops(30, FAULT - 600, 1.0, 1.0, "b") + _two_hops(10, FAULT + 10, 80.0, 8.0, "a")
    a = run(context(spans=spans))
    (big,) = cands(a, "network", "api")
    (small,) = cands(a, "network", "db")
    assert big.features["kind_signal"] > 0.5
    assert small.features["kind_signal"] < 0.7 * big.features["kind_signal"]


def test_saturation_that_follows_its_own_demand_reads_as_load() -> None:
    """CPU climbing as the service's own request rate quadruples is the surge's effect:
    the saturation reading keeps only a part of its signal, the surge outranks it."""
    cpu = series("container_cpu_usage_percent", "web", 20.0, 95.0)
    busy = run(context([cpu, series("http_requests_per_second", "web", 100.0, 400.0)]))
    (sat,) = cands(busy, "resource_saturation", "web")
    (surge,) = cands(busy, "traffic_surge", "web")
    assert surge.features["kind_signal"] > sat.features["kind_signal"]
    # the same CPU with a flat request rate is a resource problem, at full strength
    flat = run(context([cpu, series("http_requests_per_second", "web", 100.0, 100.0)]))
    (alone,) = cands(flat, "resource_saturation", "web")
    assert alone.features["kind_signal"] > 0.5
    assert sat.features["kind_signal"] < 0.5 * alone.features["kind_signal"]
    assert not cands(flat, "traffic_surge", "web")


def _client_to_api(labels: dict[str, str], name: str, api_after: float) -> Analysis:
    return run(
        context(
            [
                series(name, "web", 0.05, 0.9, labels=labels),
                series("http_server_request_duration_seconds_p99", "api", 0.04, api_after),
            ]
        )
    )


def test_client_latency_to_a_peer_that_stayed_fast_proposes_network_at_the_peer() -> None:
    """OTel client metric named by its peer (`server_address`): the caller waits, the
    callee's own latency is flat, so the time went between them."""
    a = _client_to_api(
        {"server_address": "http://api.shop.svc.cluster.local:8080"},
        "http_client_request_duration_seconds_p99",
        0.04,
    )
    (edge,) = a.findings.edges
    assert (edge.caller, edge.callee) == ("web", "api") and edge.series is not None
    assert edge.after_ms > 10 * edge.before_ms
    (net,) = cands(a, "network", "api")
    assert net.features["kind_signal"] > 0.3 and net.features["net_edge"] > 0.5
    assert any("as the caller measures it" in e.ev.summary for e in net.evidence)
    assert any("server_address" in e.ev.query for e in net.evidence)  # pasteable


def test_client_latency_to_a_peer_that_got_slow_itself_is_the_peer_not_the_wire() -> None:
    a = _client_to_api({"server_address": "api"}, "http_client_request_duration_seconds_p99", 0.85)
    assert not a.findings.edges
    assert not cands(a, "network", "api")


def test_mesh_metrics_read_the_calling_side_by_reporter() -> None:
    source = _client_to_api(
        {"reporter": "source", "destination_service_name": "api"},
        "istio_request_duration_milliseconds_p99",
        0.04,
    )
    assert [(e.caller, e.callee) for e in source.findings.edges] == [("web", "api")]
    # the same series reported by the destination's sidecar is the callee's own view
    dest = _client_to_api(
        {"reporter": "destination", "destination_service_name": "api"},
        "istio_request_duration_milliseconds_p99",
        0.04,
    )
    assert not dest.findings.edges


def test_a_mesh_latency_named_by_its_file_is_in_the_unit_its_query_reads() -> None:
    """Linkerd's outbound p99 saved as `05_linkerd_out_p99`: the name says no unit, the
    query reads `response_latency_ms_bucket`, so 50 → 900 is milliseconds (not 50,000)."""
    q = (
        "histogram_quantile(0.99, sum by (deployment, dst_deployment, le) "
        '(rate(response_latency_ms_bucket{direction="outbound"}[1m])))'
    )
    calls = series("05_linkerd_out_p99", "web", 50.0, 900.0, labels={"dst_deployment": "api"})
    calls.query = q
    own = series("04_linkerd_p99", "api", 40.0)
    own.query = q.replace("outbound", "inbound").replace(", dst_deployment", "")
    (edge,) = run(context([calls, own])).findings.edges
    assert (edge.caller, edge.callee) == ("web", "api")
    assert edge.before_ms == pytest.approx(50.0, rel=0.05)
    assert edge.after_ms == pytest.approx(900.0, rel=0.05)


def test_time_spent_calling_a_peer_is_no_call_edge() -> None:
    """A client timer's `_sum` read alone (no count to divide by) is seconds spent calling
    a second: it grows with more calls as much as with slower ones, so it is not one
    call's time, and says nothing of the way to the peer (an OTel bundle cited 94 s)."""
    peer = {"server_address": "api.shop.svc.cluster.local"}
    spent = _client_to_api(peer, "http_client_request_duration_seconds_sum", 0.04)
    assert spent.findings.edges == []
    assert not cands(spent, "network", "api")
    mean = _client_to_api(peer, "http_client_request_duration_seconds_avg", 0.04)
    assert [(e.caller, e.callee) for e in mean.findings.edges] == [("web", "api")]


def test_a_series_naming_its_peer_service_is_the_calling_side() -> None:
    """Datadog APM's client integrations report a database's calls as their own service
    (`web-mongodb`) with `peer_service`: the caller's view, whatever the metric is named
    (`trace.mongodb.query.duration`), so the time that grew went between them."""
    a = _client_to_api({"peer_service": "api"}, "trace.mongodb.query.duration.99p", 0.04)
    assert [(e.caller, e.callee) for e in a.findings.edges] == [("web", "api")]
    # the same series with no peer named is the service's own latency
    b = _client_to_api({}, "trace.mongodb.query.duration.99p", 0.04)
    assert b.findings.edges == []


def test_micrometer_client_timers_name_their_peer_by_client_name() -> None:
    """Spring Boot's `http.client.requests` timer tags the host it called `clientName`."""
    for label in ("clientName", "client_name"):
        a = _client_to_api({label: "api"}, "http_client_requests_seconds_max", 0.04)
        assert [(e.caller, e.callee) for e in a.findings.edges] == [("web", "api")]


def test_a_peer_label_naming_no_known_service_is_ignored() -> None:
    a = _client_to_api(
        {"server_address": "api.stripe.com:443"}, "http_client_request_duration_seconds_p99", 0.04
    )
    assert not a.findings.edges  # an external host is not our `api`


def test_an_outside_apis_host_names_the_topologys_name_for_it() -> None:
    """`api.stripe.com` is the topology's `stripe-api` (every word of the name is in the
    host), not its `api`; a host two names fit, or none, names nobody."""
    from aisre_cli.investigate.analyzers.metric_edges import peer_of

    def peer(host: str, known: set[str]) -> str | None:
        return peer_of(Series("x", "payments", {"server_address": host}, [], []), known)

    assert peer("api.stripe.com:443", {"stripe-api", "api", "payments"}) == "stripe-api"
    assert peer("https://api.stripe.com/v1/charges", {"stripe-api"}) == "stripe-api"
    assert peer("api.stripe.com", {"api"}) is None
    assert peer("api.stripe.com", {"stripe-api", "api-stripe"}) is None


def test_restarts_spaced_by_crashloop_backoff_still_propose_crash_loop() -> None:
    """CrashLoopBackOff spaces restarts out (10 s, 20 s, ... up to 5 minutes): per
    step, the counter is mostly flat, yet the container is crash-looping. The counter
    is read as its increase over the last 10 minutes, as kube-prometheus alerts do."""
    ts = [T0 + i * STEP for i in range(N)]
    # restarts at the fault, then +1, +1, +1 and every 4 steps (a capped back-off)
    at = {0, 1, 2, 3, 7, 11}
    restarts, n = [], 3.0
    for t in ts:
        k = int((t - FAULT) / STEP)
        if t >= FAULT and k in at:
            n += 1.0
        restarts.append(n)
    s = _restarts(ts, restarts)
    (crash,) = cands(run(context([s])), "crash_loop", "api")
    assert crash.features["kind_signal"] >= 0.5
    assert any("increase(" in e.ev.query for e in crash.evidence)
    # the same counter with one old restart long before is no crash loop
    once = [3.0 if t < T0 + 5 * STEP else 4.0 for t in ts]
    calm = Series("kube_pod_container_status_restarts_total", "api", {"service": "api"}, ts, once)
    assert not cands(run(context([calm])), "crash_loop", "api")


def test_callers_naming_a_dead_datastore_only_in_their_lines_corroborate_it() -> None:
    """pgx logs `failed to connect to host=orders-db ...`: the template masks the host,
    the lines still name it; JDBC says `Connection to orders-db:5432 refused`. Both are
    callers who cannot reach `orders-db`."""
    lines = [
        (
            FAULT + 30 + i * 20,
            "api",
            "error",
            f"failed to connect to `host=orders-db user=app{i} database=orders`: dial error"
            f" (dial tcp 10.0.3.{i}:5432: connect: connection refused)",
        )
        for i in range(6)
    ]
    lines += [
        (FAULT + 40 + i * 25, "web", "error", f"Connection to orders-db:{5432 + i} refused.")
        for i in range(4)
    ]
    lines += [
        (T0 + i * 30.0, svc, "info", "GET /health 200")
        for i in range(N * 2)
        for svc in ("api", "web")
    ]
    ctx = context([series("probe_success", "orders-db", 1.0, 0.0, noise=0.0)], logs=lines)
    ctx.topology = Topology(
        depends_on={"web": ["api", "orders-db"], "api": ["orders-db"], "orders-db": []}
    )
    a = run(ctx)
    assert all("<*>" in lf.template for lf in a.findings.logs.findings if lf.service == "api")
    dead = a.findings.dead["orders-db"]
    assert set(dead.callers) == {"api", "web"}
    (dep,) = cands(a, "dependency_failure", "orders-db")
    assert dep.features["dependency_down"] > 0.5


@pytest.mark.parametrize(
    ("stores", "called", "failing"),
    [
        ({"orders-db": "mysql_up", "cache": "redis_up"}, ["orders-db", "cache"], "orders-db"),
        # two MySQLs behind api: the line does not say which
        (
            {"orders-db": "mysql_up", "audit-db": "mysql_global_status_questions"},
            ["orders-db", "audit-db"],
            None,
        ),
        # no store of that kind behind api (web's MySQL is not api's)
        ({"orders-db": "mysql_up", "cache": "redis_up"}, ["cache"], None),
    ],
)
def test_a_caller_naming_the_store_it_calls_by_its_technology(
    stores: dict[str, str], called: list[str], failing: str | None
) -> None:
    """api's driver says `The MySQL server is running with the --read-only option`
    (a failover that left the primary read-only): no service by name, but api calls one
    MySQL, the one exporting `mysql_*`. That store is failing its callers though it is
    up, and its own series barely move."""
    msg = (
        "Error 1290 (HY000): The MySQL server is running with the --read-only option so"
        " it cannot execute this statement"
    )
    lines = [(FAULT + 30 + i * 20, "api", "error", msg) for i in range(8)]
    lines += [(T0 + i * 30.0, "api", "info", "GET /health 200") for i in range(N * 2)]
    ctx = context([series(name, svc, 1.0) for svc, name in stores.items()], logs=lines)
    ctx.topology = Topology(depends_on={"web": ["api", *stores], "api": called})
    for svc in stores:
        ctx.topology.depends_on[svc] = []
    a = run(ctx)
    (lf,) = [x for x in a.findings.logs.findings if x.service == "api"]
    assert lf.family == "dependency"
    named = {s for s, d in a.findings.dead.items() if lf in d.logs}
    assert named == ({failing} if failing else set())
    if failing:
        (dep,) = cands(a, "dependency_failure", failing)
        assert dep.features["kind_signal"] > 0


@pytest.mark.parametrize(
    ("msg", "failing"),
    [
        # Go's net package and redis-py: the address, not the name, of api's one Redis
        ("dial tcp 10.0.230.35:6379: connect: connection refused", "cache"),
        ("Error 111 connecting to 10.0.0.5:6379. Connection refused.", "cache"),
        ("dial tcp [fd00::5]:3306: connect: connection refused", "orders-db"),
        # a PostgreSQL's port, but api calls none
        ("dial tcp 10.0.0.9:5432: connect: connection refused", None),
        # a statsd agent's port is no store; a number that ends in 6379 is no port
        ("failed to emit metric batch: write udp 127.0.0.1:8125: connection refused", None),
        ("upstream connect error after 16379ms: connection refused", None),
        ("upstream connect error (stream a1:63790): connection refused", None),
        # its own listener's port, no host before it: not a store it calls
        ("listen tcp :6379: bind: connection refused", None),
    ],
)
def test_a_caller_that_cannot_reach_a_stores_default_port_names_that_store(
    msg: str, failing: str | None
) -> None:
    """`dial tcp 10.0.230.35:6379: connect: connection refused` names no service and no
    technology, but 6379 is Redis's port, and api calls one Redis (`STORE_PORTS`)."""
    lines = [(FAULT + 30 + i * 20, "api", "error", msg) for i in range(8)]
    lines += [(T0 + i * 30.0, "api", "info", "GET /health 200") for i in range(N * 2)]
    stores = {"orders-db": "mysql_up", "cache": "redis_up"}
    ctx = context([series(name, svc, 1.0) for svc, name in stores.items()], logs=lines)
    ctx.topology = Topology(depends_on={"web": ["api"], "api": list(stores)})
    for svc in stores:
        ctx.topology.depends_on[svc] = []
    a = run(ctx)
    (lf,) = [x for x in a.findings.logs.findings if x.service == "api"]
    assert lf.family in ("dependency", "network"), (lf.family, lf.template)
    named = {s for s, d in a.findings.dead.items() if lf in d.logs}
    assert named == ({failing} if failing else set()), (lf.family, lf.template)


def test_a_service_starting_over_and_over_is_crash_looping() -> None:
    """No restart counter and no cluster events (an App Service, a VM): api's own start
    banner, a dozen times from shortly before the onset, is its restart loop, and the
    statement says what was counted."""
    starts = [
        (FAULT - 540 + k * 120.0, "api", "info", "api v2.1 listening on :8080") for k in range(12)
    ]
    starts += [(T0 + 60.0, "api", "info", "api v2.1 listening on :8080")]
    beat = [(T0 + i * 30.0, "api", "info", "GET /health 200") for i in range(N * 2)]
    a = run(context([series("http_errors_ratio", "api", 0.01, 0.3)], logs=starts + beat))
    (crash,) = cands(a, "crash_loop", "api")
    assert crash.features["kind_signal"] > 0.3
    assert "12 starts in its logs" in crash.statement, crash.statement
    assert "restarts" not in crash.statement and "crash logs" not in crash.statement
    # the same starts within two minutes are a rollout: no crash loop
    once = [
        (FAULT - 540 + k * 10.0, "api", "info", "api v2.1 listening on :8080") for k in range(12)
    ]
    b = run(context([series("http_errors_ratio", "api", 0.01, 0.3)], logs=once + beat))
    assert not cands(b, "crash_loop", "api")


def test_a_process_manager_restarting_the_service_counts_its_restarts() -> None:
    """On a machine, systemd's `restart counter is at N` is the restart counter: four
    of them after the onset are a loop, as strong a crash signal as a counter that
    rose by four (one of them is a process that died once, a third of it), and the
    statement says who counted them."""

    def crash(n: int) -> Candidate:
        lines = [
            (
                FAULT + 60 + k * 150.0,
                "api",
                "info",
                f"api.service: Scheduled restart job, restart counter is at {k + 1}.",
            )
            for k in range(n)
        ]
        lines += [(T0 + i * 30.0, "api", "info", "GET /health 200") for i in range(N * 2)]
        a = run(context([series("http_errors_ratio", "api", 0.01, 0.3)], logs=lines))
        (c,) = cands(a, "crash_loop", "api")
        return c

    four, three = crash(4), crash(3)
    assert four.features["kind_signal"] >= three.features["kind_signal"] > 0.6
    assert "4 restarts by its process manager" in four.statement, four.statement
    assert "crash logs" not in four.statement


def test_a_process_manager_restarting_the_service_dates_its_trouble() -> None:
    """systemd restarting api from eight minutes before the page, its own series moving
    only ten minutes after it: on a machine the process manager's log is what the
    cluster's events are for a pod, and api's trouble began with the restarts, before
    its callers'."""
    lines = [
        (
            FAULT - 480 + k * 40.0,
            "api",
            "info",
            f"api.service: Scheduled restart job, restart counter is at {k + 1}.",
        )
        for k in range(20)
    ]
    lines += [(T0 + i * 30.0, "api", "info", "GET /health 200") for i in range(N * 2)]
    late = series("http_latency_p95_seconds", "api", 0.1, 0.9, at=FAULT + 10 * STEP)
    (c,) = cands(run(context([late], logs=lines)), "crash_loop", "api")
    assert c.features["earliest"] > 0.9
    assert c.features["anomaly"] > 0.5


def test_a_client_retrying_the_server_it_names_says_its_calls_fail_not_that_it_is_down() -> None:
    """`retrying pricing-engine (attempt 2/2) after error` in api's log: api's calls to
    pricing-engine fail, which proposes it (less strongly than a refused connection,
    which says it cannot be reached), and the hypothesis says so, not "down"."""

    def dead_after(msg: str) -> tuple[float, bool, str]:
        lines = [(FAULT + 30 + i * 20, "api", "warn", msg) for i in range(8)]
        lines += [(T0 + i * 30.0, "api", "info", "GET /health 200") for i in range(N * 2)]
        ctx = context([series("http_errors_ratio", "api", 0.01, 0.3)], logs=lines)
        ctx.topology = Topology(
            depends_on={"web": ["api"], "api": ["pricing-engine"], "pricing-engine": []}
        )
        a = run(ctx)
        d = a.findings.dead["pricing-engine"]
        (dep,) = cands(a, "dependency_failure", "pricing-engine")
        return d.strength, d.unreachable, dep.statement

    retry, refused = (
        dead_after("retrying pricing-engine (attempt 2/2) after error"),
        dead_after("retrying pricing-engine after error: connection refused"),
    )
    assert (retry[1], refused[1]) == (False, True)
    assert 0.3 < retry[0] < refused[0]
    assert "calls to pricing-engine fail" in retry[2] and "is down" not in retry[2]
    assert "pricing-engine is down" in refused[2]


PRICE = "price must be positive, got -1 (from pricing) in {svc}"


def _answered(
    msg: str, pricing_moved: bool = False, topology: bool = True, level: str = "error"
) -> tuple[Analysis, list[Candidate]]:
    """api and cart both call pricing; from the fault both fail their own requests and
    log `msg` (with {svc} their name). pricing's own series stay flat unless told."""
    lines = [
        (FAULT + 30 + i * 20, svc, level, msg.format(svc=svc))
        for i in range(10)
        for svc in ("api", "cart")
    ]
    lines += [
        (T0 + i * 30.0, svc, "info", "GET /health 200")
        for i in range(N * 2)
        for svc in ("api", "cart")
    ]
    extra = [
        series("http_errors_ratio", "api", 0.01, 0.3),
        series("http_errors_ratio", "cart", 0.01, 0.3, seed=2),
        series(
            "http_request_duration_seconds_p99", "pricing", 0.05, 0.5 if pricing_moved else None
        ),
    ]
    ctx = context(extra, logs=lines)
    if topology:
        ctx.topology = Topology(
            depends_on={
                "web": ["api", "cart"],
                "api": ["pricing"],
                "cart": ["pricing"],
                "pricing": [],
            }
        )
    a = run(ctx)
    return a, cands(a, "dependency_failure", "pricing")


def test_callers_whose_new_errors_name_a_quiet_callee_blame_what_it_answers() -> None:
    """A wrong return value: pricing answers 200 with a broken payload, so nothing of its
    own moves; api and cart fail, and their new errors say over what they got from it.
    The callee they name, which they call, becomes a suspect, and explains the
    callers' errors in part (weaker than calls that fail outright: `NAMED_BONUS`)."""
    a, (dep,) = _answered(PRICE)
    assert a.findings.dead["pricing"].answered
    assert set(a.findings.dead["pricing"].callers) == {"api", "cart"}
    assert "name pricing, which they call" in dep.statement
    assert dep.features["dependency_down"] > 0.4
    # the callers now have something below them that explains their errors
    (api,) = cands(a, "unknown", "api")
    assert api.features["deeper"] > 0.2


@pytest.mark.parametrize(
    "said",
    [
        'msg="invalid response from upstream" upstream=pricing err="validation failed"',
        "response_validation_failed upstream=pricing error='total: Input should be >= 0'",
        "Failed to read response from pricing: JSON parse error: Cannot deserialize value",
        "unexpected response from pricing: enum value 7 not recognized",
    ],
)
def test_callers_saying_a_quiet_callees_answer_was_invalid_blame_it_as_a_failed_call(
    said: str,
) -> None:
    """Lines that say the callee's *answer* was wrong (invalid, unexpected, failing
    validation, not to be parsed) say the call went through and what came back is the
    callee's: as telling as a refused connection (`ANSWER_BONUS`), more than a business
    error that only names it (`PRICE`). The callers' own errors are then explained by
    it (`deeper`), and it ranks above them."""
    a, (dep,) = _answered(said + " in {svc}")
    b, (weak,) = _answered(PRICE)
    assert a.findings.dead["pricing"].strength > b.findings.dead["pricing"].strength + 0.2
    assert dep.features["dependency_down"] > weak.features["dependency_down"]
    (api,) = cands(a, "unknown", "api")
    (api_b,) = cands(b, "unknown", "api")
    assert api.features["deeper"] > api_b.features["deeper"]
    top = max(a.candidates, key=lambda c: c.score)
    assert (top.kind, top.service) == ("dependency_failure", "pricing")


def test_a_release_whose_callers_fail_on_what_it_answers_harmed_them() -> None:
    """pricing deployed two minutes before the fault; nothing of its own moved (it
    answers 200 with a broken payload), but from the fault its callers fail on what it
    answers them: the release's harm is in its callers, and its candidate cites them.
    Callers failing over something else leave it unharmed."""

    def deploy_of(msg: str) -> Candidate:
        a, _ = _answered(msg)
        d = _deploy("d-pricing", "pricing", FAULT - 120)
        a = run(replace(a.ctx, changes=[d]))
        (c,) = [c for c in a.candidates if c.subject == "d-pricing"]
        return c

    told = deploy_of(PRICE)
    other = deploy_of("order total must be positive, got -1 in {svc}")
    assert told.features["change_harm"] > 0.5
    assert other.features["change_harm"] < 0.1
    assert any("(from pricing)" in e.ev.summary for e in told.evidence)


def test_errors_naming_what_a_troubled_callee_answered_are_its() -> None:
    """pricing's latency rose ten minutes before api's errors began saying what pricing
    answered it, and api's own error ratio rose later still: pricing explains api's
    trouble (api's `deeper`), however far apart the two anomalies began. Errors that do
    not name it leave api its own trouble."""

    def api_after(
        msg: str,
        slow_at: float | None = FAULT - 600,
        level: str = "error",
        failing_at: float = FAULT + 300,
    ) -> Analysis:
        lines = [(FAULT - 300 + i * 20, "api", level, msg.format(svc="api")) for i in range(20)]
        lines += [(T0 + i * 30.0, "api", "info", "GET /health 200") for i in range(N * 2)]
        extra = [
            series("http_errors_ratio", "api", 0.01, 0.3, at=failing_at),
            series(
                "http_request_duration_seconds_p99",
                "pricing",
                0.05,
                None if slow_at is None else 0.5,
                at=slow_at or FAULT,
            ),
        ]
        ctx = context(extra, logs=lines)
        ctx.topology = Topology(depends_on={"web": ["api"], "api": ["pricing"], "pricing": []})
        return run(ctx)

    named = api_after(PRICE)
    (own,) = cands(named, "unknown", "api")
    assert own.features["deeper"] > 0.5
    other = api_after("order total must be positive, got -1 in {svc}")
    (own,) = cands(other, "unknown", "api")
    assert own.features["deeper"] < 0.2
    # naming a callee that stays fine (no series of it moves) explains nothing here
    # (`dependency` reads that as it answering wrongly, weaker)
    fine = api_after(PRICE, slow_at=None)
    (own,) = cands(fine, "unknown", "api")
    assert own.features["deeper"] < 0.5
    # pricing slowing down only after api had been failing over what it answered: its
    # trouble came later, and does not explain api's
    enum = "unexpected response from pricing: enum value 7 not recognized"
    later = api_after(enum, slow_at=FAULT + 300, failing_at=FAULT - 300)
    (own,) = cands(later, "unknown", "api")
    assert own.features["deeper"] < 0.2
    # timing out on it is the way to it as much as what it answered: read by the
    # network and dependency readings, not as its answers
    timeouts = api_after("upstream request timeout calling pricing after 5s")
    assert timeouts.findings.logs.findings[0].family == "network"
    (own,) = cands(timeouts, "unknown", "api")
    assert own.features["deeper"] < 0.5
    # warnings naming it are no failure of api's
    warned = api_after(PRICE, level="warn")
    assert all(c.features["deeper"] < 0.2 for c in warned.candidates if c.service == "api")


@pytest.mark.parametrize(
    ("msg", "moved", "topology", "level"),
    [
        (PRICE, True, True, "error"),  # pricing's own trouble: read as itself
        (PRICE, False, False, "error"),  # no calls known
        (PRICE, False, True, "warn"),  # a warning is no failure
        ("request from web rejected in {svc}: bad token", False, True, "error"),  # its caller
    ],
)
def test_errors_naming_a_service_blame_it_only_where_it_is_quiet_and_called(
    msg: str, moved: bool, topology: bool, level: str
) -> None:
    a, deps = _answered(msg, pricing_moved=moved, topology=topology, level=level)
    assert not any(d.answered for d in a.findings.dead.values())


@pytest.mark.parametrize(
    ("status", "behind"),
    [("502 Bad Gateway", True), ("504 Gateway Timeout", True), ("500 Internal Error", False)],
)
def test_a_gateways_answer_names_the_service_behind_the_proxy(status: str, behind: bool) -> None:
    """api calls an egress proxy, which calls two outside APIs; api's new errors are the
    proxy's gateway answers for calls whose URL names one of them. The proxy got no good
    answer from behind it: that API failed, and the other is not named. A plain 500 is
    the proxy's own answer and names nothing behind it."""
    msg = f"Server error '{status}' for url 'http://egress-proxy.svc:8080/textwave/v1/messages'"
    lines = [(FAULT + 30 + i * 20, "api", "error", msg) for i in range(10)]
    lines += [(T0 + i * 30.0, "api", "info", "GET /health 200") for i in range(N * 2)]
    ctx = context([series("http_errors_ratio", "api", 0.01, 0.3)], logs=lines)
    ctx.topology = Topology(
        depends_on={
            "web": ["api"],
            "api": ["egress-proxy"],
            "egress-proxy": ["textwave", "paynexa"],
            "textwave": [],
            "paynexa": [],
        }
    )
    a = run(ctx)
    assert ("textwave" in a.findings.dead) is behind
    assert "paynexa" not in a.findings.dead
    if behind:
        assert a.findings.dead["textwave"].callers == ["api"]


@pytest.mark.parametrize(("callees", "own"), [(("pricing",), False), (("pricing", "tax"), True)])
def test_timeouts_naming_one_callee_are_about_it_not_the_callers_network(
    callees: tuple[str, ...], own: bool
) -> None:
    """api logs `upstream request timeout calling pricing`: the calls to pricing time out,
    which the dependency reading puts at pricing; it says nothing of api's own network.
    Timeouts to two of its callees are api's side of the wire."""
    lines = [
        (FAULT + 30 + i * 20, "api", "error", f"upstream request timeout calling {c} after 5s")
        for i in range(8)
        for c in callees
    ]
    lines += [(T0 + i * 30.0, "api", "info", "GET /health 200") for i in range(N * 2)]
    ctx = context([series("http_errors_ratio", "api", 0.01, 0.3)], logs=lines)
    ctx.topology = Topology(
        depends_on={"web": ["api"], "api": ["pricing", "tax"], "pricing": [], "tax": []}
    )
    a = run(ctx)
    assert "pricing" in a.findings.dead
    assert bool(cands(a, "network", "api")) is own


def test_a_mesh_callee_that_reports_itself_slow_is_the_callee_not_the_wire() -> None:
    """Istio reports the same call twice: by the caller's sidecar (`reporter="source"`)
    and by the callee's (`reporter="destination"`, naming itself as the destination).
    When the callee's own report grew as much, the time was spent inside it."""
    name = "istio_request_duration_milliseconds_p99"
    mesh = {"destination_service_name": "api"}
    a = run(
        context(
            [
                series(name, "web", 50.0, 900.0, labels={**mesh, "reporter": "source"}),
                series(name, "api", 40.0, 850.0, labels={**mesh, "reporter": "destination"}),
            ]
        )
    )
    assert not a.findings.edges
    assert not cands(a, "network", "api")


def test_a_surge_on_top_of_a_daily_climb_is_dated_at_the_surge() -> None:
    """Requests climb through the morning (a crest that crosses 3 sigma of the flat
    night), ease off, then jump x3.5 just before the page: the surge is the finding, at
    the step, not the drift that came first."""
    ts = [T0 + i * STEP for i in range(N)]
    rate = []
    for i, t in enumerate(ts):
        if t >= FAULT - 3 * STEP:
            v = 1000.0
        elif 25 <= i < 36:
            v = 306.0  # the crest of the climb: past 3 sigma, its level under 4
        elif 36 <= i < 42:
            v = 292.0
        else:
            v = 280.0 + (i % 3)
        rate.append(v)
    s = Series("http_requests_per_second", "web", {"service": "web"}, ts, rate)
    a = run(context([s, series("http_request_duration_p99_seconds", "web", 0.1, 0.6)]))
    (f,) = [x for x in a.findings.metrics if x.series.name == "http_requests_per_second"]
    assert f.onset == FAULT - 3 * STEP and f.level > 900
    assert cands(a, "traffic_surge", "web")


def test_an_expired_certificate_is_a_local_fault_although_no_metric_of_it_moved() -> None:
    """The certificate of `api` expires; its own latency and errors stay flat (clients
    fail the handshake before any request reaches it), its caller `web` pages. The
    reading is at `api`, not explained away, and outranks an innocent deploy of `web`."""
    ts = [T0 + i * STEP for i in range(N)]
    expiry = Series("probe_ssl_earliest_cert_expiry", "api", {"service": "api"}, ts, [FAULT] * N)
    flat = series("http_request_duration_p99_seconds", "api", 0.1, 0.1)
    deploy = _deploy("d-web", "web", FAULT - 15 * STEP)
    a = run(context([expiry, flat], changes=[deploy]))
    (cert,) = cands(a, "certificate_expiry", "api")
    assert cert.features["root_local"] == pytest.approx(1.0)
    assert cert.features["deeper"] == 0.0
    best = max(a.candidates, key=lambda c: c.score)
    assert (best.kind, best.service) == ("certificate_expiry", "api")


def test_a_pool_that_fills_behind_slow_calls_waits_on_them() -> None:
    """web's connection pool fills after its calls to api grew on the wire: the pool
    holds each connection for as long as its call takes, so the saturation is the slow
    calls' doing (WAIT_EXPLAINS), and api's network reading leads."""
    slow = _calls(30, FAULT - 600, 1.0, "b") + _calls(10, FAULT + 10, 80.0, "a")
    pool = series("hikaricp_connections_pending", "web", 0.5, 9.0, at=FAULT + 60)
    a = run(context([pool], spans=slow))
    (sat,) = cands(a, "resource_saturation", "web")
    alone = run(context([pool]))
    (sat_alone,) = cands(alone, "resource_saturation", "web")
    assert sat.features["kind_signal"] < 0.5 * sat_alone.features["kind_signal"]
    (net,) = cands(a, "network", "api")
    assert net.score > sat.score
    # a pool that ran out before the calls slowed is not waiting on them
    early = series("hikaricp_connections_pending", "web", 0.5, 9.0, at=FAULT - 300)
    (sat_early,) = cands(run(context([early], spans=slow)), "resource_saturation", "web")
    (sat_early0,) = cands(run(context([early])), "resource_saturation", "web")
    assert sat_early.features["kind_signal"] == sat_early0.features["kind_signal"]
    # a disk is not held by waiting: a disk filling behind the same calls keeps its signal
    disk = series("container_fs_usage_bytes", "web", 2e9, 9e9, at=FAULT + 60)
    busy = run(context([disk], spans=slow))
    busy_alone = run(context([disk]))
    (c1,) = cands(busy, "resource_saturation", "web")
    (c0,) = cands(busy_alone, "resource_saturation", "web")
    assert c1.features["kind_signal"] == c0.features["kind_signal"]


def _status_counter(code: str, start: int, per_s_before: float, per_s_after: float) -> Series:
    """A request counter of one status code, born at point `start` (Prometheus makes
    the series the first time it sees the label set)."""
    ts = [T0 + i * STEP for i in range(start, N)]
    vals, acc = [], 1000.0
    for t in ts:
        acc += STEP * (per_s_after if t >= FAULT else per_s_before)
        vals.append(acc)
    name = "http_server_requests_total"
    labels = {"service": "web", "code": code}
    return Series(name, "web", labels, ts, vals, query=name, ref="metrics/req.json")


def test_a_surge_shed_as_429s_is_the_service_demand_rising() -> None:
    """When the surge comes, web serves a little more (200s: 100/s to 120/s) and
    rejects the rest with a 429 series that did not exist before (0 to 300/s). Neither
    series alone says demand quadrupled; their sum does."""
    ok = _status_counter("200", 0, 100.0, 120.0)
    shed = _status_counter("429", 45, 0.0, 300.0)
    m = FamilyMatcher()
    once = metric_an.prepare([ok, shed], m)
    (total,) = [s for s in once if s.query.startswith("sum")]
    assert total.labels == {"service": "web"}
    assert total.values[-1] == pytest.approx(420.0)
    assert len(metric_an.prepare(once, m)) == len(once)  # idempotent: no total of totals
    a = run(context([ok, shed]))
    (surge,) = cands(a, "traffic_surge", "web")
    assert surge.features["kind_signal"] > 0.5


def _born_500s(svc: str, start: int = 46, labels: dict[str, str] | None = None) -> Series:
    """`svc`'s failed-call counter, born at point `start` with its first failures
    (a handful a second from then on)."""
    ts = [T0 + i * STEP for i in range(start, N)]
    lab = {"service": svc, "code": "500", **(labels or {})}
    vals = [3.0 + 4.0 * STEP * i for i in range(len(ts))]
    return Series("http_server_requests_total", svc, lab, ts, vals, query="x", ref="m.json")


def _ok_200s(svc: str, labels: dict[str, str] | None = None) -> Series:
    ts = [T0 + i * STEP for i in range(N)]
    lab = {"service": svc, "code": "200", **(labels or {})}
    vals = [1000.0 + 100.0 * STEP * i for i in range(N)]
    return Series("http_server_requests_total", svc, lab, ts, vals, query="x", ref="m.json")


def test_failures_born_with_the_fault_are_a_rise_from_zero() -> None:
    """api's `code="500"` series first appears at the fault: Prometheus makes a series
    at its first sample. Its `code="200"` sibling was scraped all along, so there were
    no failures before; read alone, the 500s are flat and api looks healthy beside a
    service with an unrelated CPU burst."""
    ok, born = _ok_200s("api"), _born_500s("api")
    cpu = series("container_cpu_usage_seconds_total", "batch", 0.03, 0.15, at=FAULT - 240)
    m = FamilyMatcher()
    filled = metric_an.backfill_born([ok, born], m)
    assert filled[0] is ok and filled[1].timestamps[0] == T0
    assert filled[1].values[:46] == [0.0] * 46 and filled[1].values[46:] == born.values
    assert metric_an.backfill_born(filled, m) == filled  # idempotent
    # a connection closed with a socket error Linkerd had not seen before: the refusals
    # begin at the fault beside resets counted all along
    resets = replace(ok, name="tcp_close_total", labels={"service": "api", "errno": "ECONNRESET"})
    refused = replace(
        born, name="tcp_close_total", labels={"service": "api", "errno": "ECONNREFUSED"}
    )
    got = metric_an.backfill_born([resets, refused], m)
    assert got[1].timestamps[0] == T0 and got[1].values[:46] == [0.0] * 46
    # Istio's source-side view of gRPC calls: the failures' series differs from the
    # successes' in its gRPC status and in Envoy's flags for how the call ended
    mesh = {"service": "api", "response_code": "200", "reporter": "source"}
    calls = replace(
        ok,
        name="istio_requests_total",
        labels={**mesh, "grpc_response_status": "0", "response_flags": "-"},
    )
    failed = replace(
        born,
        name="istio_requests_total",
        labels={**mesh, "grpc_response_status": "14", "response_flags": "UF,URX"},
    )
    got = metric_an.backfill_born([calls, failed], m)
    assert got[1].timestamps[0] == T0 and got[1].values[:46] == [0.0] * 46
    found = metric_an.detect([ok, born], m, ALERT)
    assert any(f.series.service == "api" and f.series.labels.get("code") == "500" for f in found)
    a = run(context([ok, born, cpu]))
    cited = [e for c in a.candidates if c.service == "api" for e in c.evidence]
    assert any('code="500"' in e.ev.query for e in cited)


def test_a_few_failed_calls_are_no_failure_reading() -> None:
    """The tenth blind generator: callers' database clients counted one failed call here,
    three in half an hour there, over a baseline of none, and each read as "calls to the
    database fail" at z 100, so the database was a failing dependency at .50 while a code
    defect in another service paged. Failures are counted events: Poisson on how many the
    level amounts to from the onset on. A failure counter born with a handful a second
    (`_born_500s`) still reads at full strength."""
    m = FamilyMatcher()

    def errors_of(found: list[metric_an.MetricFinding]) -> list[metric_an.MetricFinding]:
        return [f for f in found if f.series.labels.get("code") == "500"]

    ok = _ok_200s("api")
    # one failed call, in a series that has that one sample (an exporter that writes a
    # series only when it changes; the tenth generator's clients did)
    one = Series(
        "http_server_requests_total",
        "api",
        {"service": "api", "code": "500"},
        [T0 + 47 * STEP],
        [1.0],
        query="x",
        ref="m.json",
    )
    assert all(f.strength < 0.1 for f in errors_of(metric_an.detect([ok, one], m, ALERT)))
    # a failure series born with a handful a second: the fault, at full strength
    (real,) = errors_of(metric_an.detect([ok, _born_500s("api")], m, ALERT))
    assert real.strength > 0.9
    # and the cap leaves other families, and failures not read as a rate, alone
    c = m.classify("http_server_requests_total", {"code": "500"})
    assert metric_an._few_failures_z(one, c, 1, 1.0, 0.0, 0, None) == math.inf  # not rated
    gauge = m.classify("http_errors_ratio", {})
    rated = replace(
        one,
        timestamps=[T0 + i * STEP for i in range(46, N)],
        values=[0.0] * (N - 46),
        query="rate(x[60s])",
    )
    assert metric_an._few_failures_z(rated, gauge, 1, 0.1, 0.0, 0, None) == math.inf
    demand = m.classify("http_server_requests_total", {"code": "200"})
    assert demand.family == "traffic"
    assert metric_an._few_failures_z(rated, demand, 1, 0.001, 0.0, 0, None) == math.inf
    # over no failures before, z is the number of failures from the onset to the end
    span = (N - 46) * STEP
    assert metric_an._few_failures_z(rated, c, 1, 2.0 / span, 0.0, 0, None) == pytest.approx(2.0)


@pytest.mark.parametrize(("per_s", "harm"), [(1 / 120, (0.4, 0.6)), (2.0, (1.0, 1.0))])
def test_a_few_failed_calls_after_a_change_are_little_harm(
    per_s: float, harm: tuple[float, float]
) -> None:
    """A rate of 504s that went from none before a release to one every two minutes
    after it (ingress-nginx counting a client that gave up) was "999σ worse", harm 1.0,
    and convicted an innocent release. Five failures in ten minutes over none in half an
    hour is a change (Poisson z 5.5), but a small one; a failing release fails a few a
    second."""
    at = FAULT - 10 * STEP
    ts = [T0 + i * STEP for i in range(N)]
    vals = [per_s if t >= at else 0.0 for t in ts]
    lab = {"service": "api", "status": "504"}
    rated = Series(
        "nginx_ingress_controller_requests", "api", lab, ts, vals,
        query='sum by (status) (rate(nginx_ingress_controller_requests{status="504"}[2m]))',
    )  # fmt: skip
    d = Change(id="d", ts=_dt(at), service="api", kind="deploy", summary="v2", version="v2")
    h = change_an.attribute([d], [rated], FamilyMatcher().classify)["d"]
    assert harm[0] <= h.harm <= harm[1], h.harm
    # the same level as a share of calls, not a rate of them, is read against the
    # share's own floor (0.2% of the whole, as the detector reads it): 0 → 0.83% of calls
    # failing is four floors, a share of 5% far more, whatever the count of calls
    share = replace(
        rated,
        name="http_error_ratio",
        labels={"service": "api"},
        values=[1 / 120 if t >= at else 0.0 for t in ts],
        query="x",
    )
    assert 0.2 < change_an.attribute([d], [share], FamilyMatcher().classify)["d"].harm < 0.5
    more = replace(share, values=[v * 6 for v in share.values])
    assert change_an.attribute([d], [more], FamilyMatcher().classify)["d"].harm > 0.9


@pytest.mark.parametrize(
    "case",
    ["no earlier sibling", "same label set before", "not a failure", "sibling is another pod"],
)
def test_a_series_that_was_not_born_with_failures_is_left_alone(case: str) -> None:
    m = FamilyMatcher()
    born = _born_500s("api")
    if case == "no earlier sibling":
        batch = [born, _born_500s("api", labels={"route": "/x"})]
    elif case == "same label set before":  # a restart: its history is its own
        before = _born_500s("api", start=0)
        before.timestamps, before.values = before.timestamps[:40], before.values[:40]
        batch = [_ok_200s("api"), before, born]
    elif case == "not a failure":  # the failed calls' latency was not 0 before them
        slow = replace(born, name="http_server_requests_seconds_max", values=[0.8] * 14)
        batch = [replace(_ok_200s("api"), name=slow.name, values=[0.1] * N), slow]
    else:  # a new pod's failures: the old pod's 200s say nothing of it
        pod2 = _born_500s("api", labels={"pod": "api-2"})
        batch = [_ok_200s("api", labels={"pod": "api-1"}), pod2]
    out = metric_an.backfill_born(batch, m)
    assert [len(s.timestamps) for s in out] == [len(s.timestamps) for s in batch]


def test_no_total_over_series_on_other_grids() -> None:
    ok = _status_counter("200", 0, 100.0, 120.0)
    off = _status_counter("429", 45, 0.0, 300.0)
    off.timestamps = [t + 7.0 for t in off.timestamps]  # scraped at another offset
    out = metric_an.prepare([ok, off], FamilyMatcher())
    assert not [s for s in out if s.query.startswith("sum")]


# ------------------------------------------------------------------ silence


def _cut(s: Series, until: float) -> Series:
    keep = [i for i, t in enumerate(s.timestamps) if t <= until]
    s.timestamps = [s.timestamps[i] for i in keep]
    s.values = [s.values[i] for i in keep]
    return s


def test_a_dependency_whose_series_all_stopped_is_down() -> None:
    """db's exporter stopped answering at the fault (Prometheus writes staleness markers
    when a scrape fails): both its series end there, everyone else's go on."""
    db = [
        _cut(series("pg_stat_database_xact_commit", "db", 50.0), FAULT),
        _cut(series("pg_stat_activity_count", "db", 20.0), FAULT),
    ]
    api = series("http_errors_ratio", "api", 0.01, 0.3)
    silent = dep_an.find_silent([*db, api, series("x_requests", "web", 5.0)], ALERT)
    assert list(silent) == ["db"] and silent["db"].n == 2 and silent["db"].last == FAULT
    a = run(context([*db, api]))
    (down,) = cands(a, "dependency_failure", "db")
    assert down.features["kind_signal"] >= dep_an.SILENT_STRENGTH - 1e-9
    assert any("stopped reporting" in e.ev.summary for e in down.evidence)
    assert max(a.candidates, key=lambda c: c.score).service == "db"


def test_silence_that_says_nothing() -> None:
    live = series("http_errors_ratio", "api", 0.01, 0.3)
    # one pod's series ends (replaced) while the service's other series go on
    old_pod = _cut(series("pg_stat_activity_count", "db", 20.0, labels={"pod": "a"}), FAULT)
    new_pod = series("pg_stat_activity_count", "db", 20.0, labels={"pod": "b"})
    assert dep_an.find_silent([old_pod, new_pod, live], ALERT) == {}
    # a service that stops well after the page is not what paged
    late = _cut(series("pg_stat_activity_count", "db", 20.0), ALERT + 420)
    assert dep_an.find_silent([late, live], ALERT) == {}
    # one scrape behind the others is a scrape, not silence
    now = _cut(series("http_errors_ratio", "api", 0.01, 0.3), ALERT + STEP)
    behind = _cut(series("pg_stat_activity_count", "db", 20.0), ALERT)
    assert dep_an.find_silent([behind, now], ALERT) == {}
    # a series of a few points (born and gone) says nothing by stopping
    blip = _cut(series("pg_stat_activity_count", "db", 20.0), T0 + 3 * STEP)
    assert dep_an.find_silent([blip, live], ALERT) == {}


def test_a_cloud_monitor_reporting_minutes_late_is_not_silent() -> None:
    """Azure Monitor and CloudWatch report minutes after the fact: a Service Bus
    namespace's last three minutes missing while the scraped series go on is their
    delay, not the namespace gone quiet. It is silent only where it stopped before the
    other cloud series did."""
    live = series("http_errors_ratio", "api", 0.01, 0.3)
    sb = "azure_microsoft_servicebus_namespaces_activemessages_average"
    lagging = _cut(series(sb, "servicebus", 20.0), T0 + (N - 4) * STEP)
    assert dep_an.find_silent([lagging, live], ALERT + 600) == {}
    other = series("azure_microsoft_sql_servers_databases_cpu_percent_average", "sql", 20.0)
    stopped = _cut(series(sb, "servicebus", 20.0), FAULT)
    assert list(dep_an.find_silent([stopped, _cut(other, T0 + (N - 4) * STEP), live], ALERT)) == [
        "servicebus"
    ]


@pytest.mark.parametrize(
    ("metric", "observed", "nodes", "want"),
    [
        # the cloud's name for a managed store, the topology's by what it is
        (
            "azure_microsoft_servicebus_namespaces_activemessages_average",
            "sb-claims-prod-weu",
            ["claims-api", "servicebus", "sql-claims"],
            "servicebus",
        ),
        (
            "azure_microsoft_sql_servers_databases_dtu_consumption_percent_average",
            "sqldb-claims",
            ["claims-api", "sql-claims", "sql-audit"],
            "sql-claims",
        ),
        ("azure_microsoft_cache_redis_serverload_average", "redis-prod-weu", ["redis"], "redis"),
        # two of its kind and nothing to tell them apart: neither
        (
            "azure_microsoft_cache_redis_serverload_average",
            "cache-prod",
            ["session-redis", "queue-redis"],
            None,
        ),
        # an exporter's series are not a cloud's resource: a consumer group's lag is
        # the consumer's, not the broker's
        ("kafka_consumergroup_lag", "enricher-cg", ["kafka", "enricher"], None),
        # no store's series: nothing to go by
        ("http_requests_total", "sb-claims-prod-weu", ["servicebus"], None),
    ],
)
def test_a_managed_store_is_the_topologys_store_of_its_kind(
    metric: str, observed: str, nodes: list[str], want: str | None
) -> None:
    s = replace(series(metric, observed, 1.0), labels={"resourceName": observed})
    assert dep_an.store_node(s, observed, nodes) == want


def test_a_page_on_a_stores_cloud_name_follows_its_series_to_the_topology() -> None:
    """Azure Monitor's series and the backlog alert both name the namespace
    `sb-claims-prod-weu`; the topology calls it `servicebus`. The series are read as
    servicebus's (`dependency.store_node`), and the page with them: the alert's service
    is one the topology knows, so its call graph is used."""
    sb = "azure_microsoft_servicebus_namespaces_activemessages_average"
    host = "sb-claims-prod-weu.servicebus.windows.net"
    sends = [
        Span(f"t{i}", "s", None, "api", "ServiceBusSender.Send", FAULT + i, 5.0, False, peer=host)
        for i in range(5)
    ]
    ctx = context([series(sb, "sb-claims-prod-weu", 20.0, 900.0)], spans=sends)
    ctx.topology = Topology(depends_on={"web": ["api"], "api": ["servicebus"], "servicebus": []})
    ctx.alert = ctx.alert.model_copy(update={"service": "sb-claims-prod-weu"})
    ctx.alerts = [ctx.alert]
    a = run(ctx)
    assert a.ctx.alert.service == "servicebus"
    assert {s.service for s in a.ctx.series if s.name == sb} == {"servicebus"}
    # (and the calls to its host, by the cloud's name in its first label)
    assert {sp.peer for sp in a.ctx.spans} == {"servicebus"}


def _db_errors(n: int, start: float, fail: bool, tid: str) -> list[Span]:
    out = []
    for i in range(n):
        t, tr = start + i * 10.0, f"{tid}{i}"
        out += [
            Span(tr, "w", None, "web", "GET /", t, 50.0, fail),
            Span(tr, "a", "w", "api", "api.Get", t, 40.0, fail),
            Span(tr, "d", "a", "db", "db.Query", t, 10.0, fail),
        ]
    return out


def _db_sync(early: Series) -> float:
    spans = _db_errors(30, FAULT - 600, False, "b") + _db_errors(10, FAULT + 10, True, "a")
    a = run(context([early], spans=spans))
    assert any(t.service == "db" for t in a.findings.traces)
    return max(c.features["sync"] for c in a.candidates if c.service == "db")


def test_failing_spans_date_a_service_whose_only_series_are_generic() -> None:
    """db's spans start failing at the fault; its one series the catalogue does not know
    drifted 25 minutes earlier. The drift says nothing of when db's trouble began (the
    spans do); a catalogued symptom of db's own, as early, does date it."""
    early = FAULT - 25 * STEP
    generic = series("db_widget_flux", "db", 100.0, 160.0, noise=0.0, at=early)
    assert _db_sync(generic) > 0.8
    # weaker than the failing spans, and still what dates db
    latency = series("http_request_duration_p99_seconds", "db", 0.1, 0.104, at=early)
    assert _db_sync(latency) < 0.2


def _front_door(
    lb_extra: list[Series] | None = None,
    lb_at: float = FAULT,
    api_calls_lb: bool = False,
    caller: str = "web",
    api_deps: tuple[str, ...] = ("db",),
    lb_latency: Series | None = None,
) -> Analysis:
    """web calls api (which calls db) and `lb`, a leaf known only by the requests made to
    it; api and lb get slow together."""
    ctx = context(
        [
            series("http_request_duration_p99_seconds", "api", 0.1, 0.9),
            lb_latency or series("http_request_duration_p99_seconds", "lb", 0.12, 3.0, at=lb_at),
            series("http_requests_per_second", "lb", 50.0, noise=0.05),
            *(lb_extra or []),
        ]
    )
    deps = {"web": ["api"], "api": list(api_deps), "db": [], "lb": []}
    deps.setdefault(caller, []).append("lb")
    if api_calls_lb:
        deps["api"].append("lb")
    ctx.topology = Topology(depends_on=deps)
    return run(ctx)


def _feature(a: Analysis, service: str, name: str) -> float:
    return max(c.features.get(name, 0.0) for c in a.candidates if c.service == service)


def test_a_leaf_that_moves_with_a_sibling_service_is_the_way_in_to_it() -> None:
    """A load balancer's hostname as its callers see it (an X-Ray remote node, a peer
    endpoint) slows with the service behind it, and more (timeouts, queueing): the
    trouble is the service's. Each condition of the reading holds it back alone."""
    a = _front_door()
    assert _feature(a, "lb", "deeper") > 0.9
    assert _feature(a, "lb", "root_local") < 0.1
    top = max(a.candidates, key=lambda c: c.score)
    assert top.service == "api"
    # the inferred edge is cited as such, not as if the topology said it
    lb = next(c for c in a.candidates if c.service == "lb")
    cited = [e.ev for e in lb.evidence if e.ev.kind == "topology"]
    assert cited and "way in to api" in cited[0].summary and "inferred" in cited[0].query
    # a workload of its own (it reports its CPU): not a mere endpoint
    cpu = series("container_cpu_usage_seconds_total", "lb", 0.2, noise=0.02)
    assert _feature(_front_door(lb_extra=[cpu]), "lb", "deeper") < 0.1
    # slow two minutes before the service: it cannot be the service's mirror
    assert _feature(_front_door(lb_at=FAULT - 2 * STEP), "lb", "deeper") < 0.1
    # slow at the same minute, but only for four minutes: it does not follow the service
    blip = series("http_request_duration_p99_seconds", "lb", 0.12, 1.3)
    blip.values = [
        0.12 if t >= FAULT + 4 * STEP else v
        for t, v in zip(blip.timestamps, blip.values, strict=True)
    ]
    assert _feature(_front_door(lb_latency=blip), "lb", "deeper") < 0.1
    # the service calls it: then the leaf may be the cause, and the topology says so
    assert _feature(_front_door(api_calls_lb=True), "lb", "deeper") < 0.1
    # no caller in common: nothing says the two are the same thing
    assert _feature(_front_door(caller="batch"), "lb", "deeper") < 0.1
    # a service that reports no calls of its own is no better known than the leaf
    assert _feature(_front_door(api_deps=()), "lb", "deeper") < 0.1
    # a mesh proxy of its own counts the calls it serves (flat or not): a workload,
    # measured on its side, not a hostname its callers alone know
    served = series("response_total", "lb", 50.0, noise=0.05)
    served.query = 'sum by (deployment) (rate(response_total{direction="inbound"}[1m]))'
    assert _feature(_front_door(lb_extra=[served]), "lb", "deeper") < 0.1
    served.query = served.query.replace("inbound", "outbound")
    assert _feature(_front_door(lb_extra=[served]), "lb", "deeper") > 0.9


def test_without_a_symptom_of_its_own_the_page_dates_from_its_dependencies_near_it() -> None:
    """web pages but shows nothing itself; db stepped up 25 minutes earlier (stronger,
    but old) and api began failing at the fault. The incident began with api, near the
    page, not at the earliest drift of the hour."""
    ctx = context(
        [
            series("http_request_duration_p99_seconds", "db", 0.1, 0.3, at=FAULT - 25 * STEP),
            series("http_errors_ratio", "api", 0.01, 0.034),
        ]
    )
    ctx.series = [s for s in ctx.series if s.service != "web"]
    a = run(ctx)
    assert abs(a.onset - FAULT) <= 2 * STEP


def test_a_rollout_that_spreads_requests_over_more_pods_is_not_a_traffic_change() -> None:
    """Three pods serve 30 req/s each; a fourth comes up with a rollout and each now
    serves 22.5: every old pod's rate fell, the service's demand did not. Replicas'
    request series are read through their total; series split by route are not
    replicas and are still read one by one."""
    at = FAULT - 10 * STEP
    pods = [
        series("http_requests_per_second", "api", 30.0, 22.5, labels={"pod": f"api-{i}"}, at=at)
        for i in range(3)
    ]
    new = series("http_requests_per_second", "api", 22.5, labels={"pod": "api-3"}, seed=9)
    keep = [i for i, t in enumerate(new.timestamps) if t >= at]
    new.timestamps = [new.timestamps[i] for i in keep]
    new.values = [new.values[i] for i in keep]
    found = metric_an.detect([*pods, new], FamilyMatcher(), ALERT)
    assert not [f for f in found if f.series.service == "api" and f.family == "traffic"]
    routes = [
        series("http_requests_per_second", "api", 30.0, 10.0, labels={"route": "/a"}, at=at),
        series("http_requests_per_second", "api", 30.0, 50.0, labels={"route": "/b"}, at=at),
    ]
    found = metric_an.detect(routes, FamilyMatcher(), ALERT)
    assert {f.series.labels.get("route") for f in found if f.family == "traffic"} >= {"/a", "/b"}


def test_a_resource_only_the_new_pods_burn_is_the_release_not_saturation() -> None:
    """api's CPU rises with a deploy. When its new version's pods burn more CPU than the
    old ones over the same minutes, the release explains the saturation (its kind signal
    falls, and the deploy ranks above it); when new and old pods burn alike, the rise is
    the resource's own story and saturation keeps its signal."""

    def sat_and_deploy(new_cpu: float) -> tuple[float, float, float]:
        at = FAULT - 300
        old = series("container_cpu_usage_cores", "api", 0.3, labels={"version": "v1"}, seed=2)
        new = series("container_cpu_usage_cores", "api", new_cpu, labels={"version": "v2"}, seed=3)
        keep = [i for i, t in enumerate(new.timestamps) if t >= at]
        new.timestamps = [new.timestamps[i] for i in keep]
        new.values = [new.values[i] for i in keep]
        # the service's CPU as a whole (what a dashboard shows) rises with the deploy
        total = series("process_cpu_usage_cores", "api", 0.9, 1.5, at=at)
        d = Change(id="d", ts=_dt(at), service="api", kind="deploy", version="v2")
        a = run(context([old, new, total], changes=[d]))
        (sat,) = cands(a, "resource_saturation", "api")
        dep = max(c.score for c in cands(a, "deploy", "api"))
        return sat.features["kind_signal"], sat.score, dep

    alike, _, _ = sat_and_deploy(0.3)
    burning, sat_score, deploy_score = sat_and_deploy(0.9)
    assert burning < 0.5 * alike
    assert deploy_score > sat_score


def _scaled(summary: str, at: float) -> Analysis:
    """web's demand quadruples at the fault; api (which web calls) fails with it, and a
    scale change of api comes two minutes later (or earlier)."""
    ctx = context(
        [
            series("http_requests_per_second", "web", 100.0, 400.0),
            series("http_errors_ratio", "api", 0.01, 0.3),
        ],
        changes=[Change(id="hpa", ts=_dt(at), service="api", kind="scale", summary=summary)],
    )
    return run(ctx)


def test_an_autoscaler_adding_replicas_after_the_load_rose_is_not_the_cause() -> None:
    """An autoscaler answering the surge is a consequence. Removing replicas, or adding
    them before any demand rose, is still a suspect."""
    up = "HorizontalPodAutoscaler scaled api from 3 to 4 replicas"
    (answer,) = cands(_scaled(up, FAULT + 60), "config_change", "api")
    assert answer.features["kind_signal"] < 0.05
    assert "the autoscaler answering it" in answer.statement
    (down,) = cands(_scaled("scaled api from 4 to 2 replicas", FAULT + 60), "config_change", "api")
    assert down.features["kind_signal"] > 0.3
    # added before any demand rose: not the autoscaler answering it, but the surge that
    # came after explains api's failing as well (`loaded`) ...
    (early,) = cands(_scaled(up, FAULT - 300), "config_change", "api")
    assert "the autoscaler answering it" not in early.statement
    # (and added replicas are capacity: nothing but their new pods failing would speak)
    assert answer.features["kind_signal"] <= early.features["kind_signal"] < 0.3
    # no surge, but api was failing already when the replicas came: still an answer
    ctx = context(
        [series("http_errors_ratio", "api", 0.01, 0.3)],
        changes=[Change(id="hpa", ts=_dt(FAULT + 90), service="api", kind="scale", summary=up)],
    )
    (late,) = cands(run(ctx), "config_change", "api")
    assert late.features["kind_signal"] < 0.05


def test_replicas_added_just_before_the_trouble_are_no_timing_prior() -> None:
    """An HPA adding a replica a minute before web fails (no surge, nothing seen worse at
    the new replicas): "it came just before" says nothing of added capacity, as it does
    of a config push or of replicas taken away."""

    def scaled(summary: str) -> Candidate:
        ctx = context(
            changes=[
                Change(id="hpa", ts=_dt(FAULT - 60), service="web", kind="scale", summary=summary)
            ]
        )
        (c,) = cands(run(ctx), "config_change", "web")
        return c

    up = scaled("HPA web: replicas 6 -> 7 (cpu utilization above target)")
    down = scaled("HPA web: replicas 7 -> 3")
    assert up.features["change_proximity"] == 0.0 < down.features["change_proximity"]
    # the timing half of the reading is gone; what is left is what it did
    assert up.features["kind_signal"] <= 0.5 * down.features["kind_signal"] + 1e-9


def test_replicas_added_before_the_trouble_are_not_harm_done() -> None:
    """An HPA adds a replica to web two minutes before web starts failing: the service's
    before-and-after is whatever made it fail. Added replicas, with no new pods seen
    doing worse, did nothing (a blind generator's incident: "HPA scaled
    order-orchestrator from 3 to 4 replicas", blamed at .996 because push-api, which it
    calls, went down; push-api's own signals moved two minutes after its callers' so
    nothing deeper discounted it). Replicas taken away are still judged by it."""

    def scaled(summary: str) -> Candidate:
        ctx = context(
            changes=[
                Change(id="hpa", ts=_dt(FAULT - 120), service="web", kind="scale", summary=summary)
            ],
        )
        (c,) = cands(run(ctx), "config_change", "web")
        return c

    up = scaled("HPA scaled web from 3 to 4 replicas")
    assert up.features["change_harm"] == 0.0 and up.features["kind_signal"] == 0.0
    assert not any("before the change" in e.ev.summary for e in up.evidence)
    down = scaled("HPA scaled web from 4 to 2 replicas")
    assert down.features["change_harm"] > 0.5


@pytest.mark.parametrize(
    ("after", "harmed"),
    [
        ([1.0] * 15, False),  # one restart: the application exiting to reload its config
        ([1.0 + 2 * i for i in range(15)], True),  # a crash loop: two more a step
    ],
)
def test_one_restart_after_a_change_is_little_harm(after: list[float], harmed: bool) -> None:
    """A restart count that went 0 → 1 after `LOG_LEVEL info -> debug` was "999σ" of harm
    and blamed the change at .985; a crash loop after a change is what a bad one does."""
    at = T0 + 40 * STEP
    ts = [T0 + i * STEP for i in range(55)]
    vals = [0.0] * 40 + after
    s = Series("kube_pod_container_status_restarts_total", "api", {}, ts, vals, query="x")
    d = Change(id="c", ts=_dt(at), service="api", kind="config", summary="LOG_LEVEL info -> debug")
    h = change_an.attribute([d], [s], FamilyMatcher().classify)["c"]
    assert (h.harm > 0.5) is harmed, h.harm
    if not harmed:
        assert h.harm < 0.1
    # counted in restarts only: a latency that stepped up and stayed is not capped
    slow = replace(s, name="http_request_duration_seconds_p99", values=[0.1] * 40 + [2.0] * 15)
    assert change_an.attribute([d], [slow], FamilyMatcher().classify)["c"].harm > 0.5


def test_the_calls_a_service_makes_are_no_harm_of_its_change() -> None:
    """api's client-side failed calls to db rose after api's config change: they are
    db's failures as api measures them, not what api's change did. The same rise in the
    requests api serves is."""
    at = FAULT - 10 * STEP
    ts = [T0 + i * STEP for i in range(N)]
    vals = [0.3 if t >= at else 0.01 for t in ts]
    d = Change(id="c", ts=_dt(at), service="api", kind="config", summary="TIMEOUT 5s -> 2s")
    m = FamilyMatcher()
    served = Series("http_server_requests_errors_ratio", "api", {}, ts, vals, query="x")
    client = replace(served, name="http_client_requests_errors_ratio")
    assert change_an.attribute([d], [served], m.classify)["c"].harm > 0.5
    assert change_an.attribute([d], [client], m.classify)["c"].harm == 0.0
    linkerd = replace(served, name="response_errors_ratio", labels={"direction": "outbound"})
    assert change_an.attribute([d], [linkerd], m.classify)["c"].harm == 0.0


@pytest.mark.parametrize(
    ("summary", "up"),
    [
        ("HorizontalPodAutoscaler scaled accounts from 3 to 4 replicas", True),
        ("Scaled down replica set api-7d9f from 4 to 2", False),
        ("cluster-autoscaler: scale-up of node group ng-1", True),
        ("Scaled up replica set api-7d9f8b6c5d to 5", True),
        ("kubectl scale --replicas=3", False),
        # the arrows tools write
        ("HPA user-lists: 6 -> 12 replicas (cpu utilization above target)", True),
        ("replicas 4 → 8", True),
        ("HPA api: 12 -> 6 replicas", False),
    ],
)
def test_scale_direction(summary: str, up: bool) -> None:
    from aisre_cli.investigate.proposers.changes import scaled_up

    assert scaled_up(summary) is up


def test_a_new_version_the_metrics_show_is_a_rollout_though_nothing_recorded_it() -> None:
    """api's failing new pods (version v2, first seen 25 minutes into the window) and no
    change feed: the metrics show the rollout, so it is a deploy to compare and blame.
    A recorded change at that moment is not doubled, and versions that ran from the
    start of the window are not a rollout."""
    at = FAULT - 300
    a = run(context(_versioned("version", "v1", "v2", at)))
    top = max(a.candidates, key=lambda c: c.score)
    assert (top.kind, top.service, top.subject) == ("deploy", "api", "seen:api:version=v2")
    assert any("first seen in the metrics" in e.ev.summary for e in top.evidence)
    recorded = Change(id="d", ts=_dt(at + 60), service="api", kind="deploy", version="v2")
    both = run(context(_versioned("version", "v1", "v2", at), changes=[recorded]))
    assert [c.subject for c in cands(both, "deploy", "api")] == ["d"]
    steady = _versioned("version", "v1", "v2", T0)
    assert change_an.versions_seen(steady, []) == []
    # a version that came up in the window's first minutes ran from its start, as far as
    # the window can tell
    assert change_an.versions_seen(_versioned("version", "v1", "v2", T0 + 2 * STEP), []) == []
    # one version only, first labelled mid-window (the label was added, or the series
    # began to be scraped): nothing older to have rolled out from
    only_new = [series("http_request_duration_p99_seconds", "api", 0.1)]
    only_new += [s for s in _versioned("version", "v1", "v2", at) if s.labels["version"] == "v2"]
    assert change_an.versions_seen(only_new, []) == []
    canary = change_an.versions_seen(_versioned("track", "stable", "canary", at), [])
    assert [(c.service, c.version) for c in canary] == [("api", None)]


def test_a_change_within_the_onset_step_says_it_came_after_as_measured() -> None:
    """A deploy a minute after the measured onset still counts (the onset is measured
    at the metric step), and its statement does not call it 'before'."""
    a = run(
        context(
            [series("http_errors_ratio", "api", 0.01, 0.3)],
            changes=[_deploy("d", "api", FAULT + 60)],
        )
    )
    (d,) = cands(a, "deploy", "api")
    assert d.features["change_after_onset"] == 0.0
    assert "after the onset as measured" in d.statement and "before the onset" not in d.statement


# ------------------------------------------------------------------ no topology


def test_calls_are_read_from_error_logs_naming_a_service_when_there_is_no_topology() -> None:
    """No topology.yaml and no spans. web and api both fail from the fault on; web's new
    errors name api (`upstream api returned 503`), api's name nothing. The call web → api
    read from them puts api's trouble before web's: api ranks first, and the report
    says where the calls came from."""
    calm = [(T0 + 30.0 * i, s, "info", "request served") for i in range(N * 2) for s in ("web",)]
    told = [
        (FAULT + 10.0 + 20.0 * i, "web", "error", f"upstream api returned 503 for /cart/{i}")
        for i in range(20)
    ]
    own = [
        (FAULT + 5.0 + 20.0 * i, "api", "error", f"handler panicked: nil map #{i}")
        for i in range(20)
    ]
    extra = [series("http_errors_ratio", "api", 0.01, 0.3)]

    def top(logs: list[tuple[float, str, str, str]]) -> tuple[str, Analysis]:
        ctx = context(extra, logs=logs)
        ctx.topology = Topology(depends_on={})
        a = run(ctx)
        return max(a.candidates, key=lambda c: c.score).service, a

    svc, a = top(calm + told + own)
    assert a.topology.depends_on == {"web": ["api"]}
    assert svc == "api"
    assert any("read from error logs" in n.detail for n in a.ctx.notes)
    # the same lines without the name: no call is read, nothing says api is deeper
    anon = [(t, s, lv, m.replace("upstream api", "upstream 10.0.0.7")) for t, s, lv, m in told]
    _, b = top(calm + anon + own)
    assert not any(b.topology.depends_on.values())
    (web_b,) = [c for c in b.candidates if c.service == "web" and c.kind == "unknown"]
    (web_a,) = [c for c in a.candidates if c.service == "web" and c.kind == "unknown"]
    assert web_a.features["deeper"] > web_b.features["deeper"]


def test_mention_topology_reads_direction_names_and_strength() -> None:
    from aisre_cli.investigate.analyzers.logs import LogFinding

    def lf(svc: str, text: str, level: str = "error", strength: float = 0.8) -> LogFinding:
        return LogFinding(svc, text, level, None, 0, 10, 10.0, True, FAULT, strength)

    known = {"web", "api", "cartdb", "ledger", "db"}
    got = dep_an.mention_topology(
        [
            lf("web", "upstream api returned <*>"),
            lf("api", "query to cartdb timed out after <*>"),
            lf("api", "api: retrying"),  # a service naming itself says nothing
            lf("cartdb", "ledger-archive unreachable"),  # not a known name as a whole word
            lf("ledger", "cartdb slow", strength=0.1),  # too weak to read a call from
            lf("web", "cartdb lookup ok", level="info"),  # not an error
            lf("ledger", "db error"),  # names shorter than 3 letters are too ambiguous
        ],
        known,
    )
    assert got.depends_on == {"api": ["cartdb"], "web": ["api"]}
    # two services naming each other say nothing about which calls which
    both = dep_an.mention_topology([lf("web", "api down"), lf("api", "web hung up")], known)
    assert not any(both.depends_on.values())


def test_a_service_the_topology_does_not_know_is_of_unknown_position() -> None:
    """A topology that does not list db (one read from logs covers only what was
    named) leaves db's position unknown (on_path 0.5), not off the path (0)."""
    extra = [series("http_errors_ratio", "db", 0.01, 0.3)]
    ctx = context(extra)
    ctx.topology = Topology(depends_on={"web": ["api"], "api": []})
    a = run(ctx)
    (db,) = [c for c in a.candidates if c.service == "db" and c.kind == "unknown"]
    assert db.features["on_path"] == 0.5
    ctx2 = context(extra)
    b = run(ctx2)  # the full topology: db is on web's path
    (db2,) = [c for c in b.candidates if c.service == "db" and c.kind == "unknown"]
    assert db2.features["on_path"] == 1.0
    # a dead service the topology does not know: its callers are unknown, so its death
    # is half corroborated (as with no topology at all), not refuted
    probe = series("probe_success", "cache", 1.0, 0.0, noise=0.0)
    ctx3 = context([probe])
    ctx3.topology = Topology(depends_on={"web": ["api"], "api": []})
    (dead,) = cands(run(ctx3), "dependency_failure", "cache")
    assert dead.features["dependency_down"] > 0.3
    # ... and so is one the topology knows but lists no caller of (an OpenStack agent, a
    # worker that takes its work from a queue): who calls it is unknown, not "nobody"
    ctx4 = context([probe])
    ctx4.topology = Topology(depends_on={"web": ["api"], "api": [], "cache": []})
    (agent,) = cands(run(ctx4), "dependency_failure", "cache")
    assert agent.features["dependency_down"] > 0.3


# ------------------------------------------------------------------ service in the name


def test_series_named_by_their_service_belong_to_it() -> None:
    """Per-service columns (`api_http_errors_ratio`) with no service label belong to the
    known service their name begins with, read under the rest of the name; the longest
    known name wins, a service name's `-` matches the `_` a metric name must use, and a
    name that begins with no known service stays unowned."""
    from aisre_cli.investigate.analyzers.metrics import attribute_by_name

    def bare(name: str) -> Series:
        return Series(name, None, {}, [T0], [1.0])

    got = attribute_by_name(
        [
            bare("api_http_errors_ratio"),
            bare("cart_service_cpu_seconds"),
            bare("cart-service:latency"),
            bare("node_load1"),
            bare("db_up"),
            Series("web_cpu", "web", {"service": "web"}, [T0], [1.0]),
        ],
        {"api", "cart", "cart-service", "web", "db"},
    )
    assert [(s.name, s.service) for s in got] == [
        ("http_errors_ratio", "api"),
        ("cpu_seconds", "cart-service"),
        ("latency", "cart-service"),
        ("node_load1", None),
        ("db_up", None),  # names shorter than three letters never match
        ("web_cpu", "web"),
    ]


def test_a_products_own_series_belong_to_the_one_service_running_it() -> None:
    """Traefik's entry-point counts and a Redis exporter's clients, with no service label,
    are the one known service running that product by its name; read by the query where
    the name is a file's. Not a proxy's series of one backend (`ingress`), and not where
    two services run the product."""
    from aisre_cli.investigate.analyzers.metrics import attribute_by_product

    def bare(name: str, labels: dict[str, str] | None = None, query: str = "") -> Series:
        return Series(name, None, labels or {}, [T0], [1.0], query=query, promql=bool(query))

    q = 'sum by (code) (rate(traefik_entrypoint_requests_total{code="429"}[2m]))'
    got = attribute_by_product(
        [
            bare("03_entrypoints", {"entrypoint": "websecure", "code": "429"}, query=q),
            bare("redis_connected_clients"),
            bare("nginx_ingress_controller_request_duration_seconds", {"ingress": "shop"}),
            bare("nginx_ingress_controller_nginx_process_connections", {"state": "active"}),
            bare("pg_stat_activity_count"),
            bare("node_load1"),
            bare("traefik"),
        ],
        {"traefik", "session-redis", "web", "orders-postgres", "billing-pg", "ingress-nginx"},
    )
    nginx = "ingress-nginx"
    assert [s.service for s in got] == ["traefik", "session-redis", None, nginx, None, None, None]


@pytest.mark.parametrize(
    ("name", "service"),
    [
        ("saas-portal-bff-80@kubernetes", "portal-bff"),  # Traefik, namespace in front
        ("shop-api-443@kubernetescrd", "api"),
        ("billing@file", "billing"),
        ("outbound|9080||reviews.default.svc.cluster.local", "reviews"),  # an Envoy cluster
        ("shop-payments-8080", "payments"),  # ingress-nginx's upstream name
        ("payments-2024", None),  # a port alone is no mark
        ("portal-bff", None),  # no mark at all
        ("x-unknown-80@kubernetes", None),
    ],
)
def test_a_proxys_routing_name_is_its_backend(name: str, service: str | None) -> None:
    from aisre_cli.investigate.triage import backend_of

    assert backend_of(name, {"portal-bff", "api", "billing", "reviews", "payments"}) == service


def test_a_proxys_series_of_a_backend_are_the_backends() -> None:
    """Traefik's requests of `saas-api-80@kubernetes` are the api's: api starts the
    incident, not a suspect named after the route."""
    col = series("traefik_service_requests_errors_ratio", "saas-api-80@kubernetes", 0.01, 0.3)
    a = run(context([col]))
    assert not [c for c in a.candidates if c.service == "saas-api-80@kubernetes"]
    assert any(m.series.service == "api" for m in a.findings.metrics)


ROUTED = {"exported_service": "api", "ingress": "api", "status": "503"}


def _rejected(
    own: list[Series],
    name: str = "nginx_ingress_controller_requests",
    labels: dict[str, str] = ROUTED,
) -> Analysis:
    """The ingress answers 503 for api from the fault on (api's errors as ingress-nginx
    counts them); `own` is api's own view of the requests it served."""
    ing = replace(series(name, "api", 0.01, 30.0), labels=labels)
    ctx = context([ing, *own])
    ctx.topology = Topology(
        depends_on={
            "ingress-nginx-controller": ["web"],
            "web": ["api", "session-redis"],
            "api": ["db"],
            "db": [],
            "session-redis": [],
        }
    )
    return run(ctx)


def _proxy_findings(
    a: Analysis, name: str = "nginx_ingress_controller_requests"
) -> list[str | None]:
    return [f.series.service for f in a.findings.metrics if f.series.name == name]


def test_errors_a_proxy_answered_itself_are_the_proxys() -> None:
    """503s the ingress counted for api while api's own success rate never moved: the
    ingress answered them itself (a rate limit it was given), so they are its own."""
    fine = series("http_server_success_ratio", "api", 0.999, noise=0.0005)
    assert _proxy_findings(_rejected([fine])) == ["ingress-nginx-controller"]


@pytest.mark.parametrize(
    "own",
    [
        pytest.param([], id="api-has-no-view-of-its-own"),
        pytest.param(
            [series("http_server_success_ratio", "api", 0.999, 0.6, noise=0.0005)],
            id="api-served-the-errors",
        ),
        pytest.param(
            [
                replace(
                    s := series("http_server_success_ratio", "api", 0.999, noise=0.0005),
                    values=[*s.values[:-10], *[math.nan] * 10],
                )
            ],
            id="api-went-silent",
        ),
    ],
)
def test_errors_a_proxy_counted_stay_the_backends(own: list[Series]) -> None:
    assert _proxy_findings(_rejected(own)) == ["api"]


def test_errors_only_a_proxys_series_of_a_backend_are_moved() -> None:
    fine = series("http_server_success_ratio", "api", 0.999, noise=0.0005)
    # a Redis exporter's count is no proxy's answer for api
    name = "redis_errors_total"
    assert _proxy_findings(_rejected([fine], name, {"service": "api"}), name) == ["api"]
    # the ingress' series that name no backend are not one backend's
    bare = {"job": "api", "status": "503"}
    assert _proxy_findings(_rejected([fine], labels=bare)) == ["api"]


def test_an_unlabelled_per_service_column_is_triaged_at_its_service() -> None:
    """api's error ratio, exported as the column `api_http_errors_ratio` with no labels,
    makes api the incident's start as the labelled series does."""
    col = series("http_errors_ratio", "api", 0.01, 0.3)
    col = Series("api_" + col.name, None, {}, col.timestamps, col.values, query="x")
    a = run(context([col]))
    top = max(a.candidates, key=lambda c: c.score)
    assert top.service == "api"
    assert any(m.series.service == "api" for m in a.findings.metrics)


def test_logs_and_spans_that_name_a_pod_are_read_as_its_workloads() -> None:
    """Container log collectors name the pod (`api-7d9f8b6c5d-x2x9q`); the series and
    topology name the workload (`api`). The pod's new errors are api's evidence; a name
    whose workload nothing else knows (`worker-5f6d8c7b9d-q2w3e`) stays as it is."""
    pod = "api-7d9f8b6c5d-x2x9q"
    calm = [(T0 + 30.0 * i, pod, "info", "request served") for i in range(N * 2)]
    errs = [(FAULT + 10.0 * i, pod, "error", f"handler panicked: nil map #{i}") for i in range(20)]
    stray = [(FAULT + 10.0 * i, "worker-5f6d8c7b9d-q2w3e", "error", "boom") for i in range(20)]
    ctx = context([series("http_errors_ratio", "api", 0.01, 0.3)], logs=calm + errs + stray)
    ctx.spans = [
        Span("t", "s", None, pod, "GET /cart", FAULT, 12.0, False),
        Span("t", "s2", "s", "DB", "SELECT", FAULT, 2.0, False),  # the topology's `db`
    ]
    original, logs_before = list(ctx.spans), ctx.logs
    a = run(ctx)
    assert a.ctx.spans[1].service == "db"
    # new objects, not edits: a source may hold the originals in its cache
    assert original[0].service == pod and pod in set(logs_before.service)
    assert {f.service for f in a.findings.logs.findings} >= {"api"}
    assert pod not in set(a.ctx.logs.service)
    assert "worker-5f6d8c7b9d-q2w3e" in set(a.ctx.logs.service)
    assert a.ctx.spans[0].service == "api"
    (api,) = [c for c in a.candidates if c.service == "api" and c.kind == "unknown"]
    assert api.features["logs"] > 0


def test_the_topology_is_read_in_the_series_spelling() -> None:
    """The series and the alert say `web` and `api`; the topology, from another tool,
    says `WEB` and `API`. One service each, on the paging service's path, named as the
    series name them (what an engineer queries and pages by)."""
    ctx = context([series("http_errors_ratio", "api", 0.01, 0.3)])
    ctx.topology = Topology(depends_on={"WEB": ["API"], "API": ["db"], "db": []})
    a = run(ctx)
    assert a.topology.depends_on == {"web": ["api"], "api": ["db"], "db": []}
    assert not {"WEB", "API"} & {c.service for c in a.candidates}
    (api,) = [c for c in a.candidates if c.service == "api" and c.kind == "unknown"]
    assert api.features["on_path"] == 1.0 and api.features["anomaly"] > 0.5


def test_a_series_the_topology_does_not_name_is_its_pods_workload_where_it_does() -> None:
    """CoreDNS scraped through the `kube-dns` Service: `service="kube-dns"`, pod
    `coredns-5d78c9869d-x2x9q`, and the topology calls it `coredns`. Its series are
    coredns'. A service the topology names keeps its series; one whose pod's workload
    the topology does not name either stays as it is."""
    dns = series(
        "coredns_dns_request_duration_seconds_p99",
        "kube-dns",
        0.002,
        0.9,
        labels={"pod": "coredns-5d78c9869d-x2x9q", "container": "coredns"},
    )
    stray = series("foo_requests_total", "edge", 5.0, labels={"pod": "edge-5d78c9869d-x2x9q"})
    # a managed database outside the mesh, named by Istio by its DNS name
    rds = series(
        "istio_tcp_connections_opened_total", "db.cluster-x1.eu-west-1.rds.amazonaws.com", 2.0
    )
    ctx = context([dns, stray, rds, series("http_errors_ratio", "api", 0.01, 0.3)])
    ctx.topology = Topology(
        depends_on={"web": ["api", "coredns"], "api": ["db", "coredns"], "db": [], "coredns": []}
    )
    a = run(ctx)
    by_name = {s.name: s.service for s in a.ctx.series}
    assert by_name["coredns_dns_request_duration_seconds_p99"] == "coredns"
    assert by_name["foo_requests_total"] == "edge"
    assert by_name["istio_tcp_connections_opened_total"] == "db"
    assert dns.service == "kube-dns"  # a new object: the source's cache is left alone
    assert "kube-dns" not in {c.service for c in a.candidates}
    assert any(c.service == "coredns" for c in a.candidates)


def test_a_short_name_of_one_service_is_that_service_and_so_is_its_iis_pool() -> None:
    """The F5 exporter's job says `bigip`, the topology `f5-bigip`; windows_exporter
    labels IIS' pool `BookingPool`, the topology says `booking-web`. Each is the one
    service whose own word it is, for the series and for the page alike. A word two
    services share (`orders` of orders-db and orders-cache) names neither."""
    lb = series("bigip_vs_tot_requests", "bigip", 50.0)
    pool = series("windows_iis_current_application_pool_state", "BookingPool", 1.0, 0.0)
    shared = series("orders_replica_lag_seconds", "orders", 1.0)
    ctx = context([lb, pool, shared, series("http_errors_ratio", "api", 0.01, 0.3)])
    ctx.topology = Topology(
        depends_on={
            "f5-bigip": ["booking-web"],
            "booking-web": ["api", "orders-db"],
            "api": ["orders-db", "orders-cache"],
            "orders-db": [],
            "orders-cache": [],
            "web": ["api"],
        }
    )
    ctx.alert = ctx.alert.model_copy(update={"service": "BookingPool"})
    ctx.alerts = [ctx.alert]
    a = run(ctx)
    by_name = {s.name: s.service for s in a.ctx.series}
    assert by_name["bigip_vs_tot_requests"] == "f5-bigip"
    assert by_name["windows_iis_current_application_pool_state"] == "booking-web"
    assert by_name["orders_replica_lag_seconds"] == "orders"
    # one of a service's parts named after it: an Aurora cluster's instance
    part = series("aws_rds_cpuutilization_average", "orders-db-instance-1", 20.0)
    b = run(replace(ctx, series=[*ctx.series, part]))
    assert {s.name: s.service for s in b.ctx.series}[
        "aws_rds_cpuutilization_average"
    ] == "orders-db"
    # … or its primary as a Helm chart names it (Bitnami's `redis-master`)
    master = series("redis_connected_clients", "orders-db-master", 20.0)
    m = run(replace(ctx, series=[*ctx.series, master]))
    assert {s.name: s.service for s in m.ctx.series}["redis_connected_clients"] == "orders-db"
    # … or one side of a rollout, as the Services that route to it are named (Argo
    # Rollouts' `-stable`/`-canary`, Flagger's `-primary`)
    for side in ("stable", "canary", "preview"):
        ing = series("nginx_ingress_requests_rate", f"api-{side}", 30.0)
        r = run(replace(ctx, series=[*ctx.series, ing]))
        assert {s.name: s.service for s in r.ctx.series}["nginx_ingress_requests_rate"] == "api"
    # … or its brokers (a certificate of a bus' brokers), or its headless Service, or
    # its controller (ingress-nginx's chart names its Deployment and Service so)
    for part_name in (
        "orders-db-broker",
        "orders-db-brokers",
        "orders-db-headless",
        "orders-db-controller",
    ):
        cert = series("certmanager_certificate_expiration_timestamp_seconds", part_name, 9.0)
        k = run(replace(ctx, series=[*ctx.series, cert]))
        got = {s.name: s.service for s in k.ctx.series}
        assert got["certmanager_certificate_expiration_timestamp_seconds"] == "orders-db"
    # … not another service whose name extends it
    other = series("http_requests_total", "orders-db-exporter", 3.0)
    c = run(replace(ctx, series=[*ctx.series, other]))
    assert {s.name: s.service for s in c.ctx.series}["http_requests_total"] == "orders-db-exporter"
    assert a.ctx.alert.service == "booking-web" and a.ctx.alerts[0].service == "booking-web"


def test_a_load_balancers_backend_pools_are_the_services_behind_them() -> None:
    """HAProxy's series of a backend pool (Kolla's `nova_api_back`, `be_api`, the
    built-in exporter's `proxy` label) count the answers of the service behind it, and a
    page on one is on that service; its frontends' series and a pool naming no service
    stay the proxy's. A pool of a service nothing else names (no topology, no logs of
    it) is still that service's (`keystone_internal_back` is keystone). A Docker
    container's name (`api_svc`) takes the spelling the rest of the data gives it, and a
    series scraped by its product's daemon name alone (`job="mysqld"`) is the one
    service running that product."""

    def lb(name: str, pool: str, key: str = "backend") -> Series:
        return series(name, "haproxy", 0.01, 0.3, labels={"job": "haproxy", key: pool})

    extra = [
        lb("haproxy_backend_http_responses_total", "api_back"),
        lb("haproxy_server_up", "be_api", key="proxy"),
        lb("haproxy_backend_response_time_average_seconds", "keystone_internal_back"),
        lb("haproxy_frontend_http_responses_total", "api_front"),
        # (a frontend called after the service, as the built-in exporter labels it)
        lb("haproxy_frontend_http_requests_total", "api", key="proxy"),
        lb("haproxy_backend_current_sessions", "stats"),
    ]
    ctx = context(extra)
    ctx.topology = Topology(depends_on={"haproxy": ["web"], "web": ["api"], "api": []})
    page = Alert(
        id="a2",
        name="HAProxyBackendHigh5xxRate",
        service=None,
        labels={"alertname": "HAProxyBackendHigh5xxRate", "backend": "api_back"},
        starts_at=_dt(ALERT),
    )
    ctx.alert, ctx.alerts = page, [page, *ctx.alerts]
    a = run(ctx)
    got = {s.name: s.service for s in a.ctx.series}
    assert got["haproxy_backend_http_responses_total"] == "api"
    assert got["haproxy_server_up"] == "api"
    assert got["haproxy_backend_response_time_average_seconds"] == "keystone"
    assert got["haproxy_frontend_http_responses_total"] == "haproxy"
    assert got["haproxy_frontend_http_requests_total"] == "haproxy"
    assert got["haproxy_backend_current_sessions"] == "haproxy"
    assert a.ctx.alert.service == "api"
    # a container named as Docker names it, and a database scraped as its daemon
    box = series(
        "container_cpu_usage_seconds_total",
        "x",
        0.2,
        labels={"name": "api_svc", "image": "reg/api-svc:1", "id": "/docker/ab"},
    )
    box = replace(
        box, service="api_svc", labels={k: v for k, v in box.labels.items() if k != "service"}
    )
    db = series("mysql_global_status_threads_connected", "mysqld", 5.0, labels={"job": "mysqld"})
    # … not a pod's workload called after its product (the StatefulSet `memcached`,
    # paged on through its metrics Service `memcached-metrics`)
    pod = series(
        "memcached_up", "memcached", 1.0, labels={"job": "memcached", "pod": "memcached-0"}
    )
    ctx2 = context([box, db, pod])
    ctx2.topology = Topology(
        depends_on={"web": ["api-svc", "mariadb"], "api-svc": [], "mariadb": []}
    )
    other = Alert(id="a3", name="MemcachedDown", service="memcached-metrics", starts_at=_dt(ALERT))
    ctx2.alerts = [*ctx2.alerts, other]
    got2 = {s.name: s.service for s in run(ctx2).ctx.series}
    assert got2["container_cpu_usage_seconds_total"] == "api-svc"
    assert got2["mysql_global_status_threads_connected"] == "mariadb"
    assert got2["memcached_up"] == "memcached"


def test_a_machines_own_log_is_read_as_the_services_on_each_records_machine() -> None:
    """Winlogbeat ships every machine's event log as one file (`windows-events`), each
    record naming its machine only (`LogTable.hosts`). A record is the service's named
    after its machine (sql-01), else the one service whose series place it there
    (web-01: api), else the one service of the machine (or of all) whose own word its
    text holds; otherwise it stays the file's."""
    lines = [
        (FAULT + 30.0, "windows-events", "error", "Login failed for user 'svc-mon'"),
        (FAULT + 31.0, "windows-events", "error", "The W3SVC service entered the stopped state"),
        (
            FAULT + 32.0,
            "windows-events",
            "error",
            "The Fernhill Billing Service service terminated unexpectedly.",
        ),
        (FAULT + 33.0, "windows-events", "error", "The Windows Update service failed"),
        (FAULT + 34.0, "api", "error", "boom"),
        (FAULT + 35.0, "windows-events", "error", "A worker process terminated"),
        # naming two services is naming neither
        (FAULT + 36.0, "windows-events", "error", "Billing lost its connection to SQL"),
    ]
    ctx = context(
        [
            series("windows_cpu_time_total", "", 1.0, labels={"instance": "web-01:9182"}),
            series("http_errors_ratio", "api", 0.01, 0.3, labels={"instance": "web-01:443"}),
            # web-02 runs two services: a record naming neither is neither's
            series("windows_cpu_time_total", "", 1.0, labels={"instance": "web-02:9182"}),
            series("http_latency_p99", "api", 0.1, labels={"instance": "web-02:443"}),
            series("http_latency_p99", "web", 0.1, labels={"instance": "web-02:8443"}),
        ],
        logs=lines,
    )
    ctx.topology = Topology(
        depends_on={
            "web": ["api"],
            "api": ["sql-01", "billing-service"],
            "sql-01": [],
            "billing-service": [],
        }
    )
    # rows are sorted by time: sql-01's machine, web-01, app-03 (nothing placed), app-03
    ctx.logs.hosts = {0: "sql-01", 1: "web-01", 2: "app-03", 3: "app-03", 5: "web-02", 6: "app-03"}
    a = run(ctx)
    assert list(a.ctx.logs.service) == [
        "sql-01",
        "api",
        "billing-service",
        "windows-events",
        "api",
        "windows-events",
        "windows-events",
    ]


def _draining(start: float, hits_zero_at: float) -> Series:
    """Free bytes falling at a steady rate from `start` to 0 at `hits_zero_at`, then 0."""
    ts = [T0 + i * STEP for i in range(N)]
    rate = start / (hits_zero_at - T0)
    vals = [max(0.0, start - rate * (t - T0)) for t in ts]
    return Series(
        "aws_rds_free_storage_space_average",
        "orders-db",
        {"dimension_DBInstanceIdentifier": "orders-db"},
        ts,
        vals,
    )


def test_free_space_draining_to_nothing_ran_out_when_it_did() -> None:
    """RDS FreeStorageSpace falls at a steady rate until the database is full: a ramp,
    against a baseline that ramps too, so no single point stands out. It ran out when it
    reached nothing: a disk saturation at orders-db from then, not before."""
    from aisre_cli.investigate.analyzers.metrics import detect, ran_out

    m = FamilyMatcher()
    c = m.classify("aws_rds_free_storage_space_average", {})
    assert (c.family, c.bad_up) == ("disk", False)
    full = _draining(43e9, FAULT)
    assert not [f for f in detect([full], m, ALERT) if f.strength >= 0.5]
    (f,) = ran_out([full], m, ALERT)
    assert f.family == "disk" and f.direction == -1
    assert abs(f.onset - FAULT) <= STEP
    # full from the start (freed, then full again: its first point is not free space
    # it lost), one bad scrape at 0, or not yet out: nothing
    low = _draining(43e9, FAULT)
    low.values = [0.0] * 5 + low.values[5:]
    blip = _draining(43e9, T0 + 10 * N * STEP)
    blip.values[N // 2] = 0.0
    later = _draining(43e9, ALERT + 600)  # out 10 min after the page: not its cause
    assert ran_out([low, blip, later], m, ALERT) == []
    # end to end: the database that ran out is the saturation, whatever the page said
    ctx = context([full, series("http_errors_ratio", "api", 0.01, 0.3)])
    ctx.topology = Topology(depends_on={"web": ["api"], "api": ["orders-db"], "orders-db": []})
    (sat,) = cands(run(ctx), "resource_saturation", "orders-db")
    assert sat.subject == "disk" and sat.features["kind_signal"] > 0.5


def test_a_managed_stores_namespace_says_its_technology_and_a_reply_names_it() -> None:
    """YACE's `aws_elasticache_*` is a Redis or a Memcached, `aws_rds_*` a MySQL or a
    PostgreSQL: a client's error in Redis' own words (`ResponseError: OOM command not
    allowed when used memory > 'maxmemory'`, no service named) is the one Redis it
    calls."""
    kinds = dep_an.store_kinds(
        [
            series("aws_elasticache_evictions_sum", "rate-cache", 1.0),
            series("aws_rds_cpuutilization_average", "billing-db", 1.0),
            series("aws_lambda_errors_sum", "rate-quote", 1.0),
        ]
    )
    assert kinds == {
        "rate-cache": {"redis", "memcached"},
        "billing-db": {"mysql", "postgresql"},
    }
    calls = Topology(depends_on={"rate-quote": ["rate-cache", "billing-db", "northpost"]})
    reply = "[ERROR] ResponseError: OOM command not allowed when used memory > 'maxmemory'."
    assert dep_an.store_named(reply, "rate-quote", calls, kinds) == "rate-cache"
    assert dep_an.store_named("carrier timed out", "rate-quote", calls, kinds) is None
    # a cache evicting keys is a cache at work (an LRU policy evicts by design), not one
    # out of memory: its refusals say that, in its words
    m = FamilyMatcher()
    for name in ("aws_elasticache_evictions_sum", "redis_evicted_keys_total"):
        assert m.classify(name).family != "memory", name
    # PostgreSQL's own words, through any driver
    pg = "QueryCanceled: canceling statement due to statement timeout"
    assert dep_an.store_named(pg, "rate-quote", calls, kinds) == "billing-db"


def test_an_azure_resource_type_says_its_technology_and_a_busy_reply_names_it() -> None:
    """azure-metrics-exporter's one metric name says nothing; its `resourceType` says
    `sb-tidewater` is a Service Bus namespace. A client's `ServiceBusServerBusyError`
    (the server turned it away) is then that Service Bus's, failing its callers."""
    sb = series(
        "azure_ServerErrors",
        "sb-tidewater",
        1.0,
        labels={"resourceType": "microsoft.servicebus/namespaces"},
    )
    db = series(
        "azure_cpu_percent",
        "sqldb-billing",
        1.0,
        labels={"resourceType": "Microsoft.Sql/servers/databases"},
    )
    kinds = dep_an.store_kinds([sb, db, series("azure_Requests", "afd", 1.0)])
    assert kinds == {"sb-tidewater": {"servicebus"}, "sqldb-billing": {"sqlserver"}}
    calls = Topology(depends_on={"notify-worker": ["sb-tidewater", "sqldb-billing"]})
    busy = (
        "receive failed: azure.servicebus.exceptions.ServiceBusServerBusyError: The service"
        " was unable to process the request; please retry the operation"
    )
    assert dep_an.store_named(busy, "notify-worker", calls, kinds) == "sb-tidewater"
    sql = "Microsoft.Data.SqlClient.SqlException (0x80131904): Execution Timeout Expired"
    assert dep_an.store_named(sql, "notify-worker", calls, kinds) == "sqldb-billing"
    assert log_an.log_family(busy) == "dependency"


def test_a_tables_throughput_exceeded_is_its_capacity_run_out_in_its_own_words() -> None:
    """DynamoDB's `Throughput exceeds the current capacity of your table or index`,
    quoted by any client, is the one table it calls running out of its provisioned
    capacity (read as its CPU, as its consumed capacity is), not the client's; Cosmos
    DB's `Request rate is large` likewise."""
    kinds = dep_an.store_kinds(
        [
            series("aws_dynamodb_throttled_requests_sum", "parcels", 1.0),
            series("aws_lambda_errors_sum", "scan-ingest", 1.0),
        ]
    )
    assert kinds == {"parcels": {"dynamodb"}}
    calls = Topology(depends_on={"scan-ingest": ["parcels", "notify-customer"]})
    reply = (
        "ThrottlingException: An error occurred (ThrottlingException) when calling the"
        " UpdateItem operation: Throughput exceeds the current capacity of your table or"
        " index. DynamoDB is automatically scaling your table or index"
    )
    assert dep_an.store_named(reply, "scan-ingest", calls, kinds) == "parcels"
    assert log_an.log_family(reply) == "cpu"
    cosmos = "CosmosException: Request rate is large. More Request Units may be needed"
    assert log_an.log_family(cosmos) == "cpu"
    # (a line that also says 429 or too many requests is read as throttling, traffic,
    # first; and `TooManyRequests` is no OOM)
    assert log_an.log_family("status code: TooManyRequests (429)") == "traffic"


def test_a_used_share_pinned_at_its_whole_ran_out_when_it_got_there() -> None:
    """ElastiCache's DatabaseMemoryUsagePercentage climbs from 85 to 99.9 of maxmemory
    and stays: a ramp no point of which stands out, full from when it reached 99. A
    share that goes past its whole (a container's memory as a share of its request,
    116%), or that was always nearly full, is no such proof."""
    from aisre_cli.investigate.analyzers.metrics import pinned_full, ran_out

    m = FamilyMatcher()
    name = "aws_elasticache_database_memory_usage_percentage_average"
    ts = [T0 + i * STEP for i in range(N)]

    def climb(top: float, start: float = 85.0) -> Series:
        vals = [min(top, start + (top - start) * (t - T0) / (FAULT - T0)) for t in ts]
        return Series(name, "rate-cache", {}, ts, vals)

    (f,) = ran_out([climb(99.9)], m, ALERT)
    assert f.family == "memory" and f.direction == 1 and abs(f.onset - FAULT) <= 2 * STEP
    assert ran_out([climb(116.0)], m, ALERT) == []
    assert ran_out([climb(99.9, start=97.0)], m, ALERT) == []
    assert pinned_full([(0.0, 80.0), (1.0, 99.5)], "percent") is None  # one point
    assert pinned_full([(0.0, 80.0), (1.0, 99.5), (2.0, 99.6)], "gauge") is None
    # a used ratio of its whole, as node_filesystem's used ratio is written
    assert pinned_full([(0.0, 0.81), (1.0, 0.998), (2.0, 1.0)], "ratio") == 1.0
    assert pinned_full([(0.0, 0.81), (1.0, 0.95), (2.0, 0.97)], "ratio") is None


def test_a_saturation_nothing_followed_off_the_pages_path_explains_little() -> None:
    """A batch job's CPU doubles at `batch`, which web (paging) does not call, and
    nothing else moves there: the resource is real, its claim to be the cause is half
    what the same CPU at api, on web's path, has."""

    def sat(svc: str, page_moved: bool = True) -> float:
        ctx = context([series("container_cpu_usage_seconds_total", svc, 0.4, 0.8)])
        if not page_moved:  # the paging service shows nothing of its own
            ctx.series = [x for x in ctx.series if x.service != "web"]
        ctx.topology = Topology(depends_on={"web": ["api"], "api": ["db"], "db": [], "batch": []})
        (c,) = cands(run(ctx), "resource_saturation", svc)
        return c.features["kind_signal"]

    assert sat("batch") == pytest.approx(0.5 * sat("api"), rel=0.05)
    # on the page's path it keeps its claim, though nothing there moved to explain
    assert sat("api", page_moved=False) == pytest.approx(sat("api"), rel=0.05)


@pytest.mark.parametrize(("ends", "over"), [(FAULT - 120, True), (T0 + N * STEP, False)])
def test_a_resource_burst_back_to_normal_says_when(ends: float, over: bool) -> None:
    """api's CPU jumped fivefold ten minutes before the fault and was back to normal
    two minutes before it: the statement says when it was back, so the reader sees it
    was gone when web's errors began. Still going, it says nothing of the kind."""
    cpu = series("container_cpu_usage_seconds_total", "api", 0.05, 0.25, at=FAULT - 600)
    cpu.values = [0.05 if t >= ends else v for t, v in zip(cpu.timestamps, cpu.values, strict=True)]
    ctx = context([cpu])
    ctx.topology = Topology(depends_on={"web": ["api"], "api": []})
    (c,) = cands(run(ctx), "resource_saturation", "api")
    assert ("back to normal at 22:56" in c.statement) is over, c.statement


@pytest.mark.parametrize(("at", "late"), [(ALERT + 180, True), (ALERT + 60, False)])
def test_a_resource_that_ran_short_after_the_page_did_not_start_it(at: float, late: bool) -> None:
    """web paged two minutes after its errors began; api's CPU climbs three minutes
    after the page: the alert saw trouble already going on, so the CPU is the trouble's
    spill-over or a coincidence. A minute after the page is within what measuring a
    rate can lag, and keeps its claim."""
    cpu = series("container_cpu_usage_seconds_total", "api", 0.05, 0.25, at=at)
    ctx = context([cpu])
    ctx.topology = Topology(depends_on={"web": ["api"], "api": []})
    (c,) = cands(run(ctx), "resource_saturation", "api")
    assert (c.features["kind_signal"] < 0.25) is late, c.features["kind_signal"]


def test_work_in_progress_that_follows_a_slowdown_is_a_fifth_of_a_saturation() -> None:
    """Goroutines 35 → 106 at web as its own latency rises at the same minute: work held
    longer because each piece takes longer (Little's law), a fifth of the claim of the
    same pile-up with the service's latency flat (`SLOWED_EXPLAINS`; at half, such a
    pile-up with nothing else to say why was a saturation at .85 where the truth was "no
    cause found"). A pool with a size of its own (Hikari's active connections) keeps its
    claim."""
    from aisre_cli.investigate.proposers.saturation import SLOWED_EXPLAINS

    assert SLOWED_EXPLAINS == pytest.approx(0.8)

    def sat(name: str, slow: bool, later: float = 0.0) -> float:
        extra = [series(name, "web", 35.0, 106.0)]
        if slow:
            lat = series("http_request_duration_seconds_p99", "web", 0.1, 0.9, at=FAULT + later)
            extra.append(lat)
        (c,) = cands(run(context(extra)), "resource_saturation", "web")
        return c.features["kind_signal"]

    assert sat("go_goroutines", True) == pytest.approx(0.2 * sat("go_goroutines", False), rel=0.05)
    # busy workers are work in progress too (Sidekiq's jobs running)
    busy = "sidekiq_active_workers_count"
    assert sat(busy, True) == pytest.approx(0.2 * sat(busy, False), rel=0.05)
    # the slowdown came five minutes after the pile-up: it does not explain it
    later = sat("go_goroutines", True, later=300.0)
    assert later == pytest.approx(sat("go_goroutines", False), rel=0.05)
    pool = "hikaricp_connections_active"
    assert sat(pool, True) == pytest.approx(sat(pool, False), rel=0.05)
    # a proxy's client connections (nginx's, OpenResty's by state, HAProxy's sessions)
    # are requests being served: a socialNetwork set's nginx "saturating its
    # connections" at 3 → 6.5 writing was its own latency, the cause a service below it
    for proxy in ("nginx_connections_writing", "nginx_http_connections", "current_sessions"):
        assert sat(proxy, True) == pytest.approx(0.2 * sat(proxy, False), rel=0.05), proxy


def test_connections_far_below_the_limit_beside_them_ran_nothing_out() -> None:
    """MySQL's threads_connected 8 → 44 with max_connections 500 reported beside it:
    clients holding connections longer, not a server out of them; at max_connections
    50 the same rise is 88% of it, saturation. With no limit reported and nothing else
    at the server moving, the count alone is held connections more than run out
    (`saturation.held_only`)."""

    def sat(limit: float | None, where: str = "db") -> float:
        extra = [series("mysql_global_status_threads_connected", "db", 8.0, 44.0)]
        if limit is not None:
            extra.append(series("mysql_global_variables_max_connections", where, limit, noise=0.0))
        ctx = context(extra)
        ctx.topology = Topology(depends_on={"web": ["api"], "api": ["db"], "db": []})
        (c,) = cands(run(ctx), "resource_saturation", "db")
        return c.features["kind_signal"]

    near, none = sat(50.0), sat(None)
    assert none == pytest.approx((1.0 - saturation.HELD_ONLY) * near, rel=0.05)
    assert sat(500.0) == pytest.approx(0.4 * near, rel=0.05)
    assert sat(500.0, where="api") == pytest.approx(none, rel=0.05)  # another's limit


@pytest.mark.parametrize(
    ("used", "limit"),
    [
        ("postgresql_backends", "postgresql_connection_max"),  # OpenTelemetry's receiver
        ("pg_stat_database_numbackends", "pg_settings_max_connections"),  # postgres_exporter
    ],
)
def test_a_databases_backends_are_its_connections(used: str, limit: str) -> None:
    """PostgreSQL serves each connection with a backend: 60 → 260 backends is its
    connections filling, against the limit reported beside it (300: 87%, saturation;
    3000: 9%, clients holding on longer)."""

    def sat(cap: float) -> float:
        extra = [series(used, "db", 60.0, 260.0), series(limit, "db", cap, noise=0.0)]
        ctx = context(extra)
        ctx.topology = Topology(depends_on={"web": ["api"], "api": ["db"], "db": []})
        (c,) = cands(run(ctx), "resource_saturation", "db")
        assert c.subject == "connections"
        return c.features["kind_signal"]

    assert sat(3000.0) == pytest.approx(0.4 * sat(300.0), rel=0.05)


def test_a_used_share_over_its_whole_is_not_running_out() -> None:
    """A container's memory "percent" is often of its request, which it can exceed and
    live on (nezha-ob: 26% → 116% for a minute → 26%): no ran-out reading from it."""
    from aisre_cli.investigate.analyzers.metrics import ran_out

    spike = series("container_memory_usage_percent", "cart", 26.0, 116.0)
    assert ran_out([spike], FamilyMatcher(), ALERT) == []


@pytest.mark.parametrize("host", ["10.0.0.5", "db-01", "db-01.internal"])
def test_a_virtual_machines_network_series_belong_to_the_service_scraped_there(
    host: str,
) -> None:
    """No orchestrator names the machines: cassandra is scraped at 10.0.0.5:7070 (or
    at the machine's name, db-01:7070), the machine's node_exporter at port 9100 of the
    same host (and names it `cass-01`). Its dropped packets are cassandra's network
    fault. A service scraped at a host no node_exporter is (a pod's) is placed nowhere
    by it."""
    drops = series("node_network_receive_drop_total", "x", 0.0, 50.0)
    drops.service = None
    drops.labels = {"job": "node", "instance": f"{host}:9100", "host": "cass-01"}
    cass = series("cassandra_clientrequest_latency", "cassandra", 0.01)
    cass.labels = {"job": "cassandra", "instance": f"{host}:7070"}
    pod = series("http_errors_ratio", "api", 0.01, labels={"instance": "10.1.7.3:8080"})
    on = metric_an.placed_on([drops, cass, pod])
    assert on == {host: {"cassandra": 1.0}}
    got = metric_an.host_series([drops, cass, pod], FamilyMatcher(), on)
    assert [(s.service, s.labels["node"]) for s in got if s.name == drops.name] == [
        ("cassandra", host)
    ]


def test_a_nodes_network_series_belong_to_the_services_whose_pods_run_on_it() -> None:
    """node_exporter's conntrack table on ip-1 fills; web's pods run on ip-1 (its
    cAdvisor series say `node="ip-1"`), api's on ip-2. The table is a network fault at
    web, not at a service called node-exporter nor at api. A node's CPU, hot for many
    reasons, is not handed to every pod it hosts."""
    host_series, placed_on = metric_an.host_series, metric_an.placed_on

    conntrack = series("node_nf_conntrack_entries_ratio", "x", 0.3, 1.0)
    conntrack.service, conntrack.labels = None, {"instance": "ip-1:9100"}
    cpu = series("node_cpu_utilisation", "x", 0.3, 0.9)
    cpu.service, cpu.labels = None, {"instance": "ip-1:9100"}
    web = series("container_cpu_usage_seconds_total", "web", 0.2, labels={"node": "ip-1"})
    api = series("container_cpu_usage_seconds_total", "api", 0.2, labels={"node": "ip-2"})
    on = placed_on([conntrack, cpu, web, api])
    assert on == {"ip-1": {"web": 1.0}, "ip-2": {"api": 1.0}}
    got = host_series([conntrack, cpu, web, api], FamilyMatcher(), on)
    spread = [s for s in got if s.name == "node_nf_conntrack_entries_ratio"]
    assert [(s.service, s.labels["node"]) for s in spread] == [("web", "ip-1")]
    assert [s.service for s in got if s.name == "node_cpu_utilisation"] == [None]
    assert conntrack.service is None  # new objects
    ctx = context([conntrack, web, api])
    (net,) = cands(run(ctx), "network", "web")
    assert net.features["kind_signal"] > 0.3
    assert not cands(run(context([conntrack, web, api])), "network", "api")
    # no series says where api runs, but its log records do (a shipper's `node`)
    api_alone = series("http_errors_ratio", "api", 0.01)
    assert placed_on([conntrack, api_alone]) == {}
    assert host_series([conntrack, api_alone], FamilyMatcher(), {}) == [conntrack, api_alone]
    on = placed_on([conntrack, api_alone], {("ip-1", "api", "api-1")})
    placed = host_series([conntrack, api_alone], FamilyMatcher(), on)
    assert [(s.service, s.labels.get("node")) for s in placed][0] == ("api", "ip-1")
    ctx = context([conntrack, api_alone], logs=[(ALERT, "api", "info", "served")])
    ctx.logs.placements.add(("ip-1", "api", "api-1"))
    assert cands(run(ctx), "network", "api")


def test_a_node_fault_weighs_on_a_service_by_its_pods_there() -> None:
    """Retransmits on ip-1, where both of pay's pods run and one of edge's two: the
    node's trouble is all of pay's and half of edge's. Pods are named by the series'
    `pod` label or the log records'; a service seen on a machine with no pod named
    counts each machine as one place."""
    placed_on = metric_an.placed_on
    on = placed_on(
        [
            series(
                "container_cpu_usage_seconds_total", "pay", 0.2, labels={"node": "ip-1", "pod": p}
            )
            for p in ("pay-a", "pay-b")
        ],
        {
            ("ip-1", "edge", "edge-a"),
            ("ip-2", "edge", "edge-b"),
            ("ip-1", "db", ""),
            ("ip-3", "db", ""),
        },
    )
    assert on == {
        "ip-1": {"pay": 1.0, "edge": 0.5, "db": 0.5},
        "ip-2": {"edge": 0.5},
        "ip-3": {"db": 0.5},
    }
    # a record that names no pod, beside series naming the one there, adds no place
    both = placed_on(
        [
            series(
                "container_cpu_usage_seconds_total", "pay", 0.2, labels={"node": "ip-1", "pod": "p"}
            )
        ],
        {("ip-1", "pay", "")},
    )
    assert both == {"ip-1": {"pay": 1.0}}
    retrans = series("node_netstat_Tcp_RetransSegs", "x", 2.0, 400.0)
    retrans.service, retrans.labels = None, {"instance": "ip-1:9100"}
    spread = metric_an.host_series([retrans], FamilyMatcher(), on)
    findings = metric_an.detect(spread, FamilyMatcher(), ALERT)
    weighed = {f.series.service: f.strength for f in metric_an.by_placement(findings, on)}
    full = {f.series.service: f.strength for f in findings}
    assert weighed["pay"] == full["pay"] > 0.5
    assert weighed["edge"] == pytest.approx(0.5 * full["edge"])
    # a service's own network series is all its own, wherever its pods run
    own = series("container_network_receive_errors_total", "edge", 1.0, 300.0)
    own.labels["node"] = "ip-1"
    (f,) = [f for f in metric_an.detect([own], FamilyMatcher(), ALERT) if f.family == "network"]
    assert metric_an.by_placement([f], on) == [f]
    # a node's network series read as one whatever its file is called
    m = FamilyMatcher()
    named = replace(retrans, name="13_node_retrans", query="rate(node_netstat_Tcp_RetransSegs[2m])")
    m.read_queries([named])
    assert m.classify("13_node_retrans").scope == "node"


def test_a_conntrack_table_is_read_by_how_full_it_came() -> None:
    """node_exporter's conntrack entries climb with every busy hour; over the table's
    limit they say when it filled (kube-prometheus' alert reads that share). A table
    that came near full is a network reading; one that only got busier, none."""
    conntrack_fullness = metric_an.conntrack_fullness

    def node(entries_after: float) -> list[Series]:
        lab = {"instance": "ip-1:9100"}
        e = series("node_nf_conntrack_entries", "x", 40_000.0, entries_after, labels=lab)
        m = series("node_nf_conntrack_entries_limit", "x", 131_072.0, noise=0.0, labels=lab)
        for x in (e, m):
            x.service, x.labels = None, dict(lab)
        return [e, m]

    full = [s for s in conntrack_fullness(node(131_000.0)) if s.name.endswith("_ratio")]
    assert len(full) == 1 and max(full[0].values) > 0.9
    assert FamilyMatcher().classify(full[0].name, {}).family == "network"
    busier = conntrack_fullness(node(60_000.0))
    assert not [s for s in busier if s.name.endswith("_ratio")]
    assert FamilyMatcher().classify("node_nf_conntrack_entries", {}).family is None


def test_series_of_a_scrape_target_belong_to_the_service_its_other_series_name() -> None:
    """`up{job="api", instance="10.0.0.5:8080"}` says whose target 10.0.0.5:8080 is; a
    series of that target with no service label is api's. A target two services claim,
    or one no series names, stays unowned."""
    from aisre_cli.investigate.analyzers.metrics import attribute_by_target

    def s(name: str, svc: str | None, inst: str) -> Series:
        return Series(name, svc, {"instance": inst}, [T0], [1.0])

    got = attribute_by_target(
        [
            s("up", "api", "10.0.0.5:8080"),
            s("process_cpu_seconds_total", None, "10.0.0.5:8080"),
            s("up", "web", "10.0.0.9:80"),
            s("up", "cache", "10.0.0.9:80"),
            s("process_cpu_seconds_total", None, "10.0.0.9:80"),
            s("process_cpu_seconds_total", None, "10.0.0.7:80"),
            # cAdvisor: the kubelet's target serves every pod on the node
            Series(
                "container_cpu", "api", {"instance": "node1:10250", "pod": "api-0"}, [T0], [1.0]
            ),
            s("container_cpu", None, "node1:10250"),
        ]
    )
    assert [x.service for x in got] == ["api", "api", "web", "cache", None, None, "api", None]


def test_services_are_read_from_a_grid_of_per_service_columns() -> None:
    """`adservice_cpu`, `adservice_latency-90`, `cartservice_cpu`, `cartservice_latency-90`:
    two words each followed by the same known signals are services. Exporter namespaces
    (`container_cpu_…`, `http_…`), a word with one signal, and a word whose signals no
    other word shares are not."""
    from aisre_cli.investigate.analyzers.metrics import services_in_names

    names = [
        "adservice_cpu",
        "adservice_latency-90",
        "cartservice_cpu",
        "cartservice_latency-90",
        "cartservice_mem",
        "container_cpu_usage_seconds_total",
        "container_memory_working_set_bytes",
        "http_requests_total",
        "http_request_duration_seconds",
        "lonely_cpu",
        "widget_frobs",
        "widget_zorks",
        "mystery_cpu_seconds",  # two known signals, but no other word has them
        "mystery_disk_io",
        "node_cpu",  # the grid's signals, but node_exporter's namespace
        "node_latency-90",
    ]
    got = services_in_names([Series(n, None, {}, [T0], [1.0]) for n in names], FamilyMatcher())
    assert got == {"adservice", "cartservice"}


def test_log_families_feed_only_their_own_kind() -> None:
    """api is unreachable (its probe fails) and logs, after the fault, either TLS
    certificate errors or connection resets. Certificate errors read as an expired
    certificate and not as network faults; connection resets read as network faults
    and not as a certificate (the families each proposer takes its log lines from)."""

    calm = [(T0 + 30.0 * i, "api", "info", "request served") for i in range(N * 2)]

    def logs(msg: str) -> list[tuple[float, str, str, str]]:
        return calm + [(FAULT + 5.0 + 20.0 * i, "api", "error", f"{msg} #{i}") for i in range(20)]

    probe = series("probe_success", "api", 1.0, 0.0, noise=0.0)
    tls = run(context([probe], logs=logs("x509: certificate has expired or is not yet valid")))
    assert cands(tls, "certificate_expiry", "api")
    assert not cands(tls, "network", "api")
    reset = run(context([probe], logs=logs("read tcp 10.0.0.7:443: connection reset by peer")))
    assert cands(reset, "network", "api")
    assert not cands(reset, "certificate_expiry", "api")


def test_a_certificate_expiring_at_one_service_is_read_at_that_service_only() -> None:
    ts = [T0 + i * STEP for i in range(N)]
    expiry = Series("probe_ssl_earliest_cert_expiry", "db", {"service": "db"}, ts, [FAULT] * N)
    a = run(context([expiry, series("http_errors_ratio", "api", 0.01, 0.4)]))
    (cert,) = cands(a, "certificate_expiry", "db")
    assert "expired at" in cert.statement
    assert any(e.ev.kind == "certificate" and e.ev.service == "db" for e in cert.evidence)
    assert not cands(a, "certificate_expiry", "api")
    assert not cands(a, "certificate_expiry", "web")


# ------------------------------------------------------------------ fan-out


def _fan(
    leaves: tuple[str, ...] = ("ddb", "ssm"),
    leaf_family: str = "http_request_duration_p99_seconds",
    caller_slow: bool = True,
    other_caller_of: str | None = None,
    leaf_cpu: str | None = None,
) -> Analysis:
    """`api` (called by web) calls leaves known only by the requests made to them (a
    managed table, a parameter store: measured by api's client). api gets slow and so,
    at the same moment, do its calls to each leaf."""
    extra = [series(leaf_family, leaf, 0.05, 0.6) for leaf in leaves]
    if caller_slow:
        extra.append(series("http_request_duration_p99_seconds", "api", 0.1, 0.9))
    else:
        extra.append(series("http_errors_ratio", "api", 0.01, 0.3))
    deps: dict[str, list[str]] = {"web": ["api"], "api": list(leaves)}
    deps.update({leaf: [] for leaf in leaves})
    if other_caller_of is not None:  # a second caller, slow in its own way
        deps["batch"] = [other_caller_of]
        extra.append(series("http_request_duration_p99_seconds", "batch", 0.1, 0.9))
    if leaf_cpu is not None:  # a workload of its own, with its own resource series
        extra.append(series("container_cpu_usage_seconds_total", leaf_cpu, 0.2, 0.9))
    ctx = context(extra)
    ctx.topology = Topology(depends_on=deps)
    return run(ctx)


def test_leaves_that_get_slow_together_with_their_only_caller_are_its_own_view() -> None:
    """Client-side measurement (X-Ray remote nodes, OpenTelemetry peer.service): a slow
    caller makes every call look slow. api's two leaves slowed with it and nobody else
    calls them, so they do not explain api (no `deeper`), and api explains them."""
    a = _fan()
    assert _feature(a, "api", "deeper") < 0.1
    for leaf in ("ddb", "ssm"):
        assert _feature(a, leaf, "deeper") > 0.8
        assert _feature(a, leaf, "root_local") < 0.2
    best = max(a.candidates, key=lambda c: c.score)
    assert best.service == "api"


def test_fan_out_needs_what_a_slow_client_would_show() -> None:
    """Not read as api's own slowness: one leaf only (it may be the slow one); a leaf
    another caller also finds slow; leaves that fail rather than slow; a caller whose
    own latency did not grow; a leaf with resource series of its own (a workload that
    reports on itself)."""
    one = _fan(leaves=("ddb",))
    assert _feature(one, "api", "deeper") > 0.5
    shared = _fan(other_caller_of="ddb")
    assert _feature(shared, "ddb", "root_local") > 0.5
    failing = _fan(leaf_family="http_errors_ratio")
    assert _feature(failing, "ddb", "root_local") > 0.5
    fine_caller = _fan(caller_slow=False)
    assert _feature(fine_caller, "ddb", "root_local") > 0.5
    worker = _fan(leaf_cpu="ddb")
    assert _feature(worker, "ddb", "root_local") > 0.5
    assert _feature(worker, "ssm", "root_local") > 0.5  # one leaf left: no fan-out


_TIED_CALLERS = """
from aisre_cli.investigate.scene import _topology_evidence
from aisre_cli.model import Topology
callers = [f"svc-{c}" for c in "qwertyuiopasdfgh"]
topo = Topology(depends_on={c: ["db"] for c in callers})
first = {c: 100.0 for c in callers} | {"db": 50.0}
ev = _topology_evidence("db", topo, {"db", *callers}, first, {"db": 1.0}, True)
print(ev.ev.summary, ev.ev.query)
"""


def test_topology_evidence_is_the_same_in_every_process() -> None:
    """Callers that became anomalous at the same moment are listed by name: listed in
    set order, the text (and so a hand-off posted twice) changed with the process's
    string hashing."""
    import os
    import subprocess
    import sys

    outs = {
        subprocess.run(
            [sys.executable, "-c", _TIED_CALLERS],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in (1, 2, 3)
    }
    assert len(outs) == 1, outs
    assert "svc-a (+" in outs.pop()  # the first by name


def test_a_timer_sum_is_read_through_its_count() -> None:
    """`rate(X_sum) / rate(X_count)`: twice the calls at the same speed leave the mean
    flat (the rate of the sum alone doubles: it read as a latency rise, or as traffic);
    slower calls raise it. A `_sum` without its `_count` stays as it is."""
    from aisre_cli.investigate.analyzers.metrics import prepare

    m = FamilyMatcher()

    def cumulative(name: str, per_step: list[float]) -> Series:
        vals, tot = [], 0.0
        for v in per_step:
            tot += v
            vals.append(tot)
        ts = [T0 + i * STEP for i in range(len(vals))]
        return Series(name, "api", {"service": "api", "__name__": name}, ts, vals, query=name)

    n = 40
    calls = [100.0] * 20 + [200.0] * 20  # twice the calls ...
    spent = [10.0] * 20 + [20.0] * 20  # ... at 0.1 s each
    out = prepare([cumulative("rq_seconds_sum", spent), cumulative("rq_seconds_count", calls)], m)
    names = sorted(s.name for s in out)
    assert names == ["rq_seconds_avg", "rq_seconds_count"], names
    avg = next(s for s in out if s.name == "rq_seconds_avg")
    assert all(abs(v - 0.1) < 1e-9 for v in avg.values) and len(avg.values) == n - 1
    assert avg.query.startswith("rate(rq_seconds_sum") and "/ rate(rq_seconds_count" in avg.query
    assert m.classify(avg.name, avg.labels).family == "latency"
    alone = prepare([cumulative("rq_seconds_sum", spent)], m)
    assert [s.name for s in alone] == ["rq_seconds_sum"]
    # cited as the two files it comes from (a bundle records no PromQL for them)
    from dataclasses import replace

    from aisre_cli.investigate.evidence import cite_query

    files = [
        replace(cumulative(n, v), query=f"file metrics/{n}.json", promql=False)
        for n, v in (("rq_seconds_sum", spent), ("rq_seconds_count", calls))
    ]
    (mean,) = [s for s in prepare(files, m) if s.name == "rq_seconds_avg"]
    assert cite_query(mean) == (
        "file metrics/rq_seconds_sum.json divided by file metrics/rq_seconds_count.json,"
        ' each read as its rate over 240s  # series {service="api"}'
    )


def test_a_new_pods_short_counter_is_read_as_a_rate() -> None:
    """A pod that started minutes before the page exports `http_requests_total` at
    0, 0, 4158 (five-minute points): 14 requests a second, not 4158. Read as a level it
    made its service's demand jump a hundredfold. A name says counter: two points are
    enough; a shape alone (`_cumulative`) still takes four."""
    from aisre_cli.investigate.analyzers.metrics import counter_like, prepare

    m = FamilyMatcher()
    ts = [T0 + 300.0 * i for i in range(12)]
    old = Series(
        "http_requests_total",
        "api",
        {"service": "api", "pod": "a-1"},
        ts,
        [3000.0 * i for i in range(12)],
        query="http_requests_total",
    )
    new = Series(
        "http_requests_total", "api", {"service": "api", "pod": "a-2"}, ts[-3:], [0, 0, 4158]
    )
    assert counter_like(new, m)
    assert not counter_like(replace(new, name="widget_level"), m)  # a shape: 8 points
    total = [s for s in prepare([old, new], m) if "pod" not in s.labels]
    assert total and max(total[0].values) < 30.0  # 10/s + 14/s at most


def _histogram(
    per_step: dict[float, list[float]], labels: dict[str, str], query: str | None = None
) -> list[Series]:
    """Cumulative bucket counters (`le` → calls per step at or below it)."""
    out = []
    for le, steps in per_step.items():
        vals, tot = [], 0.0
        for v in steps:
            tot += v
            vals.append(tot)
        lab = {"service": "api", **labels, "le": "+Inf" if le == float("inf") else f"{le:g}"}
        ts = [T0 + i * STEP for i in range(len(vals))]
        name = "http_server_request_duration_seconds_bucket"
        out.append(Series(name, "api", lab, ts, vals, query=query or name, promql=query is None))
    return out


def _bands(n_fast: list[float], n_slow: list[float]) -> dict[float, list[float]]:
    """Calls per step under 0.1 s and between 0.1 s and 1 s (cumulative by bound)."""
    inf = float("inf")
    both = [a + b for a, b in zip(n_fast, n_slow, strict=True)]
    return {0.1: n_fast, 1.0: both, inf: both}


def test_histogram_buckets_are_read_as_their_percentile() -> None:
    """A bucket's rate counts calls in a band: twice the calls at the same speed double
    every bucket (no latency moved) and calls turning slow empty the fast band (a
    *fall*). Read as `histogram_quantile(0.95, sum by (le) (rate(...)))` instead: flat
    under the surge, up when calls slow down. Pods and status codes are summed first,
    versions are kept apart."""
    from aisre_cli.investigate.analyzers.metrics import HISTOGRAM_Q, histogram_quantiles, prepare

    m = FamilyMatcher()
    surge = _bands([100.0] * 20 + [200.0] * 20, [2.0] * 20 + [4.0] * 20)
    (p95,) = prepare(_histogram(surge, {}), m)
    assert p95.name == "http_server_request_duration_seconds_p95" and "le" not in p95.labels
    assert m.classify(p95.name, p95.labels).family == "latency"
    assert max(p95.values) - min(p95.values) < 1e-9  # the same speed at twice the calls
    assert p95.query.startswith(f"histogram_quantile({HISTOGRAM_Q}, sum by (le, service) (")
    slow = _bands([100.0] * 20 + [60.0] * 20, [2.0] * 20 + [42.0] * 20)
    (q,) = prepare(_histogram(slow, {}), m)
    assert q.values[0] < 0.1 and 0.5 < q.values[-1] <= 1.0
    # linear within the bucket the 95th call falls in: 0.1 s + 0.9 s x (96.9 - 60) / 42
    assert q.values[-1] == pytest.approx(0.1 + 0.9 * (0.95 * 102 - 60) / 42)
    # past every finite bound: the highest finite bound (Prometheus' rule)
    over = {0.1: [1.0] * 10, 1.0: [2.0] * 10, float("inf"): [100.0] * 10}
    (cap,) = prepare(_histogram(over, {}), m)
    assert set(cap.values) == {1.0}
    # two pods, each with 200s and 502s: one percentile of all their calls per version
    parts = []
    for pod, ver, code, fast in (
        ("p1", "v1", "200", 90.0),
        ("p1", "v1", "502", 1.0),
        ("p2", "v1", "200", 90.0),
        ("p3", "v2", "200", 10.0),
    ):
        lab = {"pod": pod, "version": ver, "code": code}
        parts += _histogram(_bands([fast] * 10, [fast / 50] * 10), lab)
    got = {s.labels["version"]: s for s in histogram_quantiles([*map(as_rate_, parts)])}
    assert set(got) == {"v1", "v2"}
    assert "pod" not in got["v1"].labels and "code" not in got["v1"].labels  # summed
    assert got["v2"].labels["pod"] == "p3"  # one pod: a label all its buckets share
    # a larger bucket a little short of a smaller one (pods scraped apart) is read as
    # Prometheus reads it, cumulative; a bound that is no number is no bucket
    skewed = {0.1: [60.0] * 10, 0.5: [50.0] * 10, 1.0: [97.0] * 10, float("inf"): [100.0] * 10}
    (mono,) = prepare(_histogram(skewed, {}), m)
    assert mono.values[-1] == pytest.approx(0.5 + 0.5 * (95.0 - 60.0) / (97.0 - 60.0))
    nan = _histogram({0.1: [1.0] * 10, float("nan"): [1.0] * 10, float("inf"): [2.0] * 10}, {})
    names = sorted(s.name for s in prepare(nan, m))
    assert names == [nan[0].name, "http_server_request_duration_seconds_p95"]
    # no +Inf bucket: no histogram to read; the buckets stay
    partial = _histogram({0.1: [1.0] * 10, 1.0: [2.0] * 10}, {})
    assert sorted(s.name for s in prepare(partial, m)) == [partial[0].name] * 2


def test_sparse_histogram_buckets_are_counters_by_name() -> None:
    """Seven five-minute points of `_bucket` counters: too few to call them counters by
    their shape, but a bucket is a counter by name (raw, 1.9 million calls read as a
    level of latency)."""
    from aisre_cli.investigate.analyzers.metrics import counter_like, prepare

    m = FamilyMatcher()
    parts = _histogram(_bands([100.0] * 7, [2.0] * 7), {})
    assert all(counter_like(p, m) for p in parts)
    (p95,) = prepare(parts, m)
    assert p95.name.endswith("_p95") and max(p95.values) < 1.0


def as_rate_(s: Series) -> Series:
    from aisre_cli.investigate.analyzers.metrics import as_rate

    return as_rate(s)


def test_a_histogram_percentile_is_cited_in_words_for_a_bundle_file() -> None:
    from aisre_cli.investigate.analyzers.metrics import prepare
    from aisre_cli.investigate.evidence import cite_query

    files = _histogram(_bands([10.0] * 10, [1.0] * 10), {}, query="file metrics/h.json")
    (p95,) = prepare(files, FamilyMatcher())
    assert cite_query(p95) == (
        "the 95th percentile of file metrics/h.json's buckets summed by le, service,"
        ' each read as its rate over 240s  # series {service="api"}'
    )


@pytest.mark.parametrize(
    ("after", "lo", "hi"),
    [(1.09, None, None), (1.24, 0.0, 0.4), (1.6, 0.4, 0.8), (3.0, 0.9, 1.0)],
)
def test_cpu_in_use_is_judged_against_its_level(
    after: float, lo: float | None, hi: float | None
) -> None:
    """CPU in use moves with every request: on a flat series +9% is nothing, +24% a
    weak reading, x3 saturation (`CPU_REL_FLOOR`, 5% of the level). Memory keeps its
    own floor (2%), throttling its own (a share of periods)."""
    from aisre_cli.investigate.families import CPU_REL_FLOOR, MEMORY_REL_FLOOR

    m = FamilyMatcher()
    assert m.classify("container_cpu_usage_seconds_total").rel_floor == CPU_REL_FLOOR
    assert m.classify("container_memory_working_set_bytes").rel_floor == MEMORY_REL_FLOOR
    assert m.classify("container_cpu_cfs_throttled_seconds_total").rel_floor < CPU_REL_FLOOR
    assert m.classify("node_cpu_utilisation_percent").rel_floor < CPU_REL_FLOOR
    cpu = series("kubernetes.cpu.usage.total", "api", 156e6, 156e6 * after, noise=0.002)
    got = cands(run(context([cpu])), "resource_saturation", "api")
    if lo is None:
        assert not got
    else:
        (sat,) = got
        assert lo <= sat.features["kind_signal"] <= (hi or 1.0)


def test_cpu_throttling_is_read_by_the_share_of_periods_it_costs() -> None:
    """A container flat at zero throttling that is throttled once a minute (0.017
    periods/s of its 10) is no saturation; throttled on a third of its periods is."""
    m = FamilyMatcher()
    c = m.classify("container_cpu_cfs_throttled_periods_total")
    assert c.family == "cpu" and c.floor == pytest.approx(0.5)
    assert m.classify("container_cpu_cfs_throttled_seconds_total").floor == pytest.approx(0.05)
    assert m.classify("namespace_pod:container_cpu_cfs_throttled:ratio_rate5m").floor == 0.01
    assert m.classify("http_errors_ratio").floor == 0.0  # requests keep SHARE_FLOOR
    faint = run(
        context([series("container_cpu_cfs_throttled_periods_total_rate", "api", 0.0, 0.017)])
    )
    assert not cands(faint, "resource_saturation", "api")
    hard = run(context([series("container_cpu_cfs_throttled_periods_total_rate", "api", 0.0, 3.3)]))
    assert cands(hard, "resource_saturation", "api")


@pytest.mark.parametrize(
    ("name", "old_share", "new_share", "harmed"),
    [
        ("service_version:http_server_request_errors:ratio_rate5m", 0.00237, 0.00316, False),
        ("service_version:http_server_request_errors:ratio_rate5m", 0.002, 0.045, True),
        ("http_requests_error_percent", 2.37, 3.16, False),
        ("http_requests_error_percent", 2.0, 6.5, True),
    ],
    ids=["ratio-0.08pt", "ratio-4pt", "percent-0.8pt", "percent-4.5pt"],
)
def test_a_recorded_error_share_a_canary_barely_raises_is_no_harm(
    name: str, old_share: float, new_share: float, harmed: bool
) -> None:
    """A recording rule's error ratio per version (`service_version:…:ratio_rate5m`), or
    the same as a percent: a canary at 0.32% against 0.24% on the old pods is worse by a
    third and many σ of a steady series, and by less than the one percent of its calls
    that pages anyone (`VERSION_SHARE_FLOOR`): it had convicted a canary started the
    minute a queue's consumer crashed elsewhere, at .96. Four points more is harm."""
    at = FAULT - 600
    q = "sum by (service_version) (rate(errors[5m])) / sum by (service_version) (rate(all[5m]))"

    def share(ver: str, level: float, start: float) -> Series:
        ts = [t for t in (T0 + i * STEP for i in range(N)) if t >= start]
        lab = {"service": "api", "service_version": ver}
        return Series(name, "api", lab, ts, [level] * len(ts), query=q)

    d = Change(id="d", ts=_dt(at), service="api", kind="deploy", version="2.0")
    got = [share("1.0", old_share, T0), share("2.0", new_share, at)]
    h = change_an.attribute([d], got, FamilyMatcher().classify)["d"]
    assert (h.version_harm > 0.5) is harmed, h.version_detail


def test_a_canary_is_compared_like_with_like_and_by_its_share_of_failed_calls() -> None:
    """Independent canary bundles: the new pods' `status="500"` series (which the old
    pods never had) and their share of the pod's calls decide, not a mix of statuses or
    a histogram bucket (whose rate is traffic); a new version that only burns more CPU
    is harmed less than one failing its calls."""
    at = FAULT - 600
    n = 40

    def rated(pod: str, ver: str, status: str, level: float, start: float = T0) -> Series:
        ts = [start + i * STEP for i in range(n) if start + i * STEP <= T0 + (n - 1) * STEP]
        lab = {"service": "api", "pod": pod, "version": ver, "status": status}
        q = "rate(http_server_requests_seconds_count[240s])"
        return Series(
            "http_server_requests_seconds_count", "api", lab, ts, [level] * len(ts), query=q
        )

    d = Change(id="d", ts=_dt(at), service="api", kind="deploy", version="2.0")
    old = [rated(f"old-{i}", "1.0", "200", 10.0) for i in range(3)]
    # the canary takes more calls per pod (a third of the traffic on one pod) ...
    new_ok = rated("new", "2.0", "200", 14.0, start=at)
    # ... and fails 4% of them; no old pod ever answered 500
    new_bad = rated("new", "2.0", "500", 0.6, start=at)
    h = change_an.attribute([d], [*old, new_ok, new_bad], FamilyMatcher().classify)["d"]
    assert h.version_harm > 0.8, h.version_detail
    assert 'status="500"} of each pod\'s calls: new version 2.0 at 4.' in h.version_detail
    assert "vs 0.00% on the others" in h.version_detail, h.version_detail
    # the same canary without failures: its larger share of calls is no harm
    h = change_an.attribute([d], [*old, new_ok], FamilyMatcher().classify)["d"]
    assert h.version_harm < 0.3, h.version_detail
    # ... nor, over half an hour, failing 0.4% of them where the old pods fail none
    # (`VERSION_SHARE_FLOOR`): real, the worst pod at every moment, but it pages nobody
    early = T0 + 5 * STEP
    d = Change(id="d", ts=_dt(early), service="api", kind="deploy", version="2.0")
    new_ok = rated("new", "2.0", "200", 14.0, start=early)
    faint = rated("new", "2.0", "500", 0.056, start=early)
    h = change_an.attribute([d], [*old, new_ok, faint], FamilyMatcher().classify)["d"]
    assert h.version_harm == 0.0, h.version_detail
    assert "new version 2.0 at 0.40% vs 0.00%" in h.version_detail
    # 1.5% of them is
    some = rated("new", "2.0", "500", 0.215, start=early)
    h = change_an.attribute([d], [*old, new_ok, some], FamilyMatcher().classify)["d"]
    assert h.version_harm > 0.5, h.version_detail


def test_a_rollout_that_replaced_the_old_pods_is_cited_as_before_and_after() -> None:
    """The tenth blind generator: a rollout replaced every old pod in two minutes, six
    minutes before a cache saturated; the new pods' 502s in the incident's minutes were
    cited as "new version at 7.68% vs 0.04% on the others", though no old pod served
    then. The comparison is kept (changing it moved as many cases wrong as right), and
    the evidence says what it compared."""
    n = 40
    at = T0 + 20 * STEP

    def rated(pod: str, ver: str, status: str, level: float, lo: float, hi: float) -> Series:
        ts = [T0 + i * STEP for i in range(n) if lo <= T0 + i * STEP <= hi]
        lab = {"service": "api", "pod": pod, "version": ver, "status": status}
        q = "rate(http_server_requests_seconds_count[240s])"
        return Series(
            "http_server_requests_seconds_count", "api", lab, ts, [level] * len(ts), query=q
        )

    d = Change(id="d", ts=_dt(at), service="api", kind="deploy", version="2.0")
    end = T0 + (n - 1) * STEP
    new = [rated(f"new-{i}", "2.0", "200", 10.0, at, end) for i in range(2)]
    bad = [rated(f"new-{i}", "2.0", "500", 1.0, at, end) for i in range(2)]

    def harm(old_until: float) -> change_an.ChangeHarm:
        old = [rated(f"old-{i}", "1.0", "200", 10.0, T0, old_until) for i in range(2)]
        return change_an.attribute([d], [*old, *new, *bad], FamilyMatcher().classify)["d"]

    h = harm(at + 2 * STEP)  # gone two minutes after the rollout began
    assert not h.version_side_by_side
    assert h.version_detail.endswith(change_an.REPLACED_SUFFIX), h.version_detail
    from aisre_cli.investigate.proposers.changes import _old

    assert _old(h, "the others") == "what its old pods did before it"
    # old pods still serving to the end: a canary, new against old over the same minutes
    h = harm(end)
    assert h.version_side_by_side and h.version_detail.endswith("on the others")
    assert _old(h, "the others") == "the others"
    # a canary three minutes young at the end of the window, the old pods still there
    late = Change(id="late", ts=_dt(end - 3 * STEP), service="api", kind="deploy", version="2.0")
    young = [rated("new-0", "2.0", s, v, end - 3 * STEP, end) for s, v in (("200", 10), ("500", 1))]
    old = [rated(f"old-{i}", "1.0", "200", 10.0, T0, end) for i in range(2)]
    h = change_an.attribute([late], [*old, *young], FamilyMatcher().classify)["late"]
    assert h.version_side_by_side, h.version_detail
    # ... and old pods that served beside the new ones for SIDE_BY_SIDE_S, then left
    h = harm(at + change_an.SIDE_BY_SIDE_S + 2 * STEP)
    assert h.version_side_by_side, h.version_detail


def test_a_status_series_born_in_the_window_is_no_surge() -> None:
    """A second blind generator: a `status="404"` series that Prometheus first saw in the
    window (0 -> 0.03 requests a second, "100σ") was a traffic surge at confidence .88
    while the service's database was down. Alone it says which calls ended so; the
    service's total says whether demand rose."""
    from aisre_cli.investigate.families import born_status

    ok = series("http_requests_total_rate", "api", 20.0, 20.0, labels={"code": "200"})
    born = series("http_requests_total_rate", "api", 0.0, 0.033, labels={"code": "404"})
    errors = series("http_errors_ratio", "api", 0.01, 0.3)
    a = run(context([ok, born, errors]))
    assert not cands(a, "traffic_surge", "api")
    assert born_status({"code": "404"}, 0.0) and not born_status({"code": "404"}, 0.5)
    assert not born_status({"pod": "api-1"}, 0.0)  # a new pod is not a status
    # demand that did rise still reads as a surge
    up = series("http_requests_total_rate", "api", 20.0, 90.0, labels={"code": "200"})
    assert cands(run(context([up, errors])), "traffic_surge", "api")


def test_memory_in_use_moves_a_few_percent_without_saturating() -> None:
    """A second blind generator: a pod's memory at 435 MB rising to 461 MB (+6%, flat
    before) was `resource_saturation` at confidence .98 on a noisy alert. Memory gauges
    have a floor of MEMORY_REL_FLOOR of their level; a real climb still reads."""
    from aisre_cli.investigate.families import MEMORY_REL_FLOOR

    m = FamilyMatcher()
    assert m.classify("container_memory_working_set_bytes").rel_floor == MEMORY_REL_FLOOR
    assert m.classify("container_memory_usage_percent").rel_floor == 0.002  # a share
    assert m.classify("http_request_duration_seconds").rel_floor == 0.002
    wiggle = series("container_memory_working_set_bytes", "api", 435e6, 461e6, noise=0.0)
    assert not cands(run(context([wiggle])), "resource_saturation", "api")
    climb = series("container_memory_working_set_bytes", "api", 435e6, 700e6, noise=0.0)
    assert cands(run(context([climb])), "resource_saturation", "api")


# ------------------------------------------------------------------ a change during a surge


def _surge_and_change(surge_at: float, change_at: float) -> Analysis:
    """web's requests triple at `surge_at`; api's latency and errors climb at FAULT; a
    config change lands on api at `change_at`."""
    web = series("http_requests_per_second", "web", 100.0, 300.0, at=surge_at)
    api_rps = series("http_requests_per_second", "api", 90.0, 270.0, at=surge_at)
    api_lat = series("http_request_duration_p99_seconds", "api", 0.1, 0.9)
    cfg = Change(id="cfg", ts=_dt(change_at), service="api", kind="config", summary="log level")
    return run(context([web, api_rps, api_lat], changes=[cfg]))


def test_a_change_that_came_as_the_load_rose_did_not_make_it_worse() -> None:
    """A surge reaches api two minutes before its latency climbs; a config change landed
    on api a minute before that. api's before-and-after of the change is the surge's
    doing (`loaded`): the change's harm is mostly explained away, and the surge leads."""
    a = _surge_and_change(FAULT - 120, FAULT - 60)
    (chg,) = [c for c in a.candidates if c.subject == "cfg"]
    calm = _surge_and_change(FAULT + 1200, FAULT - 60)  # the same, with no surge by then
    (alone,) = [c for c in calm.candidates if c.subject == "cfg"]
    assert chg.features["change_harm"] <= 0.3 * alone.features["change_harm"]
    assert alone.features["change_harm"] > 0.5
    top = max(a.candidates, key=lambda c: c.score)
    assert (top.kind, top.service) == ("traffic_surge", "web")


def test_demand_that_rose_after_the_trouble_does_not_clear_the_change() -> None:
    """A release makes api fail at FAULT; its callers retry and api's request rate
    triples three minutes later. The retries came after the trouble: the deploy keeps
    its harm."""
    api_err = series("http_errors_ratio", "api", 0.01, 0.4)
    retries = series("http_requests_per_second", "api", 90.0, 270.0, at=FAULT + 180)
    d = _deploy("d", "api", FAULT - 60)
    a = run(context([api_err, retries], changes=[d]))
    (dep,) = [c for c in a.candidates if c.subject == "d"]
    b = run(context([api_err], changes=[d]))
    (alone,) = [c for c in b.candidates if c.subject == "d"]
    assert dep.features["change_harm"] == pytest.approx(alone.features["change_harm"])


def test_linkerd_failure_classification_is_errors_not_demand() -> None:
    """Linkerd's proxy counts every response in `response_total`, split by
    `classification`: the failures rising are errors, not a surge."""
    m = FamilyMatcher()
    fail = m.classify("response_total", {"classification": "failure", "direction": "inbound"})
    ok = m.classify("response_total", {"classification": "success", "direction": "inbound"})
    assert (fail.family, fail.bad_up) == ("errors", True)
    assert ok.family == "traffic"


@pytest.mark.parametrize(
    ("name", "labels", "bad_up"),
    [
        ("elasticsearch_cluster_health_status", {"color": "green"}, False),
        ("elasticsearch_cluster_health_status", {"color": "yellow"}, True),
        ("elasticsearch_cluster_health_status", {"color": "red"}, True),
        ("kube_pod_status_ready", {"condition": "true"}, False),
        ("kube_pod_status_ready", {"condition": "false"}, True),
        ("up", {}, False),
    ],
)
def test_a_health_gauge_one_series_per_state(
    name: str, labels: dict[str, str], bad_up: bool
) -> None:
    """One series per state, 1 for the state it is in: a bad state's series rising is the
    trouble, the good state's falling is; cached apart though the name is one."""
    m = FamilyMatcher()
    for lab in ({"color": "green"}, {"condition": "false"}):  # fill the cache first
        m.classify(name, lab)
    c = m.classify(name, labels)
    assert (c.family, c.bad_up) == ("availability", bad_up)


def test_a_store_cluster_that_turns_red_is_down() -> None:
    """db's cluster reports itself red (`elasticsearch_cluster_health_status{color=
    "red"}` 0 → 1: primaries unassigned) as api's errors rise: db is down, a dependency
    failure. Red half the time, or yellow (replicas missing), is trouble, not down; a
    pod's not-ready condition is one pod's, not the service's."""

    def down(
        labels: dict[str, str], name: str = "elasticsearch_cluster_health_status", to: float = 1.0
    ) -> float:
        health = series(name, "db", 0.0, to, noise=0.0, labels=labels)
        a = run(context([health, series("http_errors_ratio", "api", 0.01, 0.3)]))
        return max(
            (c.features["dependency_down"] for c in cands(a, "dependency_failure", "db")),
            default=0.0,
        )

    assert down({"color": "red"}) > 0.5
    assert down({"color": "red"}, to=0.5) < 0.5  # red half the time (averaged): not down
    assert down({"color": "yellow"}) < 0.5
    assert down({"condition": "false"}, "kube_pod_status_ready") < 0.5


@pytest.mark.parametrize(
    "name",
    [
        "nodejs_eventloop_lag_seconds",  # prom-client's default metrics
        "nodejs_eventloop_lag_p99_seconds",
        "nodejs_eventloop_utilization",
        "nodejs.eventloop.delay.p99",  # OpenTelemetry's runtime metrics
    ],
)
def test_an_event_loop_running_late_is_cpu(name: str) -> None:
    """Node's one thread has no time left: CPU saturation, though the unit is seconds."""
    c = FamilyMatcher().classify(name, {})
    assert (c.family, c.bad_up) == ("cpu", True)
    assert FamilyMatcher().classify("kafka_consumergroup_lag", {}).family == "latency"


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("kafka_consumergroup_members", None),  # a group's members are no memory
        ("group_membership_count", None),
        ("container_memory_working_set_bytes", "memory"),
        ("node_memory_MemAvailable_bytes", "memory"),
        # `mem` inside another word is none (Kafka's request TotalTimeMs, a latency);
        # `memory` inside one is (JMX's HeapMemoryUsage)
        ("kafka_network_requestmetrics_totaltimems", "latency"),
        ("java_lang_memory_heapmemoryusage_used", "memory"),
        ("go_memstats_heap_inuse_bytes", "memory"),
    ],
)
def test_members_are_not_memory(name: str, family: str | None) -> None:
    assert FamilyMatcher().classify(name, {}).family == family


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("nginx_ingress_controller_requests", "counter"),  # ingress-nginx: no _total
        ("pg_stat_database_xact_commit", "counter"),  # postgres_exporter's columns
        ("pg_stat_database_tup_fetched", "counter"),
        ("mysql_global_status_questions", "counter"),
        ("mysql_global_status_threads_connected", "gauge"),  # how many now: a level
        ("pg_stat_activity_count", "gauge"),
    ],
)
def test_counters_their_exporters_name_without_a_suffix(name: str, shape: str) -> None:
    """Read as counters (rated) by name, whatever their values look like: a sum over
    controller pods or a rate-converted export need not be whole numbers."""
    assert FamilyMatcher().classify(name, {"status": "200"}).shape == shape


@pytest.mark.parametrize(
    ("name", "calls_out"),
    [
        ("external_request_duration_seconds_count", True),  # statsd_exporter's outside calls
        ("outbound_requests_total", True),
        ("cache_gets_total", True),  # Micrometer: an application's cache lookups
        ("mbank_cache_operations_total", True),
        ("redis_commands_processed_total", False),  # the cache server's own demand
        ("http_server_requests_seconds_count", False),
        ("cache_evictions_total", False),
    ],
)
def test_calls_a_service_makes_are_told_by_their_names(name: str, calls_out: bool) -> None:
    """A timer of outside calls and an application's lookups in its cache count calls
    it makes: more of them is retries (a cache failing over, misses going to the
    database), not demand at the service, and no surge of it."""
    from aisre_cli.investigate.families import outbound

    assert outbound(name, {}) is calls_out


def test_envoy_stats_name_the_status_class_by_its_digit_and_the_cluster_called() -> None:
    """Envoy's own Prometheus stats: `upstream_rq_5xx` is tagged
    `envoy_response_code_class="5"`, `upstream_rq_503` `envoy_response_code="503"`, and
    a sidecar's requests to a cluster other than its own application's (Consul's
    `local_app`, Istio's `inbound|…`) are the calls the application makes."""
    from aisre_cli.investigate.families import outbound

    m = FamilyMatcher()
    five = m.classify("envoy_cluster_upstream_rq_xx", {"envoy_response_code_class": "5"})
    two = m.classify("envoy_cluster_upstream_rq_xx", {"envoy_response_code_class": "2"})
    code = m.classify("envoy_cluster_upstream_rq", {"envoy_response_code": "503"})
    assert (five.family, two.family, code.family) == ("errors", "traffic", "errors")
    assert outbound("envoy_cluster_upstream_rq_xx", {"envoy_cluster_name": "billing-db"})
    assert outbound("envoy_cluster_upstream_rq_total", {"cluster_name": "outbound|5432||pg.db.svc"})
    assert not outbound("envoy_cluster_upstream_rq_xx", {"envoy_cluster_name": "local_app"})
    assert not outbound(
        "envoy_cluster_upstream_rq_total", {"envoy_cluster_name": "inbound|8080||api.apps.svc"}
    )
    assert not outbound("envoy_cluster_upstream_rq_total", {})  # no cluster: unknown

    def surge_at_web(cluster: str) -> list[Candidate]:
        """web's sidecar counts four times the requests to `cluster` as api fails."""
        lab = {"envoy_cluster_name": cluster, "envoy_response_code_class": "2"}
        rq = series("envoy_cluster_upstream_rq_total", "web", 100.0, 400.0, labels=lab)
        return cands(
            run(context([rq, series("http_errors_ratio", "api", 0.01, 0.3)])),
            "traffic_surge",
            "web",
        )

    # a sidecar's calls to the service it calls tripling are retries, not demand at it;
    # the requests it passes to its own application are
    assert not surge_at_web("api")
    assert surge_at_web("local_app")


@pytest.mark.parametrize(
    "name",
    [
        "http_requests_in_flight",  # Prometheus' Go and Python client conventions
        "http_server_active_requests",  # OpenTelemetry's http.server.active_requests
        "envoy_cluster_upstream_rq_active",
        "run_googleapis_com:container_max_request_concurrencies",  # Cloud Run
        "aws_lambda_concurrent_executions_maximum",
        "microsoftaspnetcorehosting_current_requests",  # ASP.NET Core's current-requests
        "http_requests_inprogress",  # prometheus_client's track_inprogress gauges
        "starlette_requests_in_progress",
    ],
)
def test_requests_in_progress_are_held_at_once_not_demand(name: str) -> None:
    """Requests in progress are arrivals times how long each takes (Little's law): web's
    tripling while api below it fails is web waiting, not a surge of demand at web."""
    m = FamilyMatcher()
    assert m.classify(name, {}).family == "connections"
    held = series(name, "web", 30.0, 100.0)
    a = run(context([held, series("http_errors_ratio", "api", 0.01, 0.3)]))
    assert not cands(a, "traffic_surge", "web")


def test_a_surge_long_after_a_change_leaves_its_before_and_after_alone() -> None:
    """The surge came 20 minutes after the change: outside the minutes its before-and-
    after compares (`AFTER_S`), so it explains nothing of what the change is read as
    (its signal for its closeness); 8 minutes after, it explains most of it."""

    def per_closeness(change_at: float) -> float:
        a = _surge_and_change(FAULT - 120, change_at)
        (c,) = [c for c in a.candidates if c.subject == "cfg"]
        return c.features["kind_signal"] / c.features["change_proximity"]

    assert per_closeness(FAULT - 600) < 0.3 * per_closeness(FAULT - 1320)
    assert per_closeness(FAULT - 1320) > 0.9


def test_a_network_interfaces_errors_are_network_not_failed_requests() -> None:
    """cAdvisor's `container_network_receive_errors_total` counts frames the interface
    failed to receive: the wire, like node_exporter's `_errs`; a request's errors stay
    errors."""
    m = FamilyMatcher()
    for name in (
        "container_network_receive_errors_total",
        "container_network_transmit_errors_total",
        "node_network_receive_errs_total",
    ):
        assert m.classify(name).family == "network", name
    for name in ("http_server_errors_total", "kafka_network_request_errors"):
        assert m.classify(name).family == "errors", name


def test_the_labels_a_query_pins() -> None:
    """An equality matcher pins its label for every series the query returns, though an
    aggregation dropped it; a regex or negative matcher, or two values, pin nothing."""
    from aisre_cli.investigate.families import label_or_pin, query_pins

    q = 'sum by (pod) (rate(x{direction="outbound",job=~"a|b", code!="200"}[1m]))'
    assert dict(query_pins(q)) == {"direction": "outbound"}
    both = 'sum(rate(x{direction="inbound"}[1m])) / sum(rate(x{direction="outbound"}[1m]))'
    assert dict(query_pins(both)) == {}
    same = 'sum(rate(x{direction="inbound",a="1"}[1m])) / sum(rate(y{direction="inbound"}[1m]))'
    assert dict(query_pins(same)) == {"direction": "inbound", "a": "1"}
    assert label_or_pin({"direction": "inbound"}, q, "direction") == "inbound"
    assert label_or_pin({}, q, "direction") == "outbound"
    assert label_or_pin({}, "", "direction") == ""


def test_the_calls_a_service_makes_are_not_demand_at_it() -> None:
    """A caller retrying a failing callee makes more outgoing calls (Micrometer's
    `http_client_requests`, a mesh's outbound direction): no surge at the caller."""
    from aisre_cli.investigate.families import outbound

    assert outbound("http_client_requests_seconds_count", {})
    assert outbound("grpc_client_started_total", {})
    # OpenTelemetry's client instruments: the database calls and HTTP/RPC calls it makes
    assert outbound("db_client_operation_duration_seconds_count", {})
    assert outbound("http_client_request_duration_seconds_count", {})
    assert outbound("rpc_client_duration_milliseconds_count", {})
    assert not outbound("db_client_connections_usage", {})  # its own pool: held, not made
    assert outbound("response_total", {"direction": "outbound"})
    assert not outbound("http_server_requests_seconds_count", {})
    assert not outbound("response_total", {"direction": "inbound"})
    # summed over the direction, the query still says which calls it counts
    out_q = 'sum by (deployment) (rate(response_total{direction="outbound", ns="x"}[1m]))'
    assert outbound("response_total", {}, out_q)
    assert not outbound("response_total", {}, out_q.replace("outbound", "inbound"))
    assert not outbound("response_total", {}, out_q.replace('="outbound"', '=~"outbound"'))
    assert not outbound("response_total", {"direction": "inbound"}, out_q)  # its own label
    calls = series(
        "http_client_requests_seconds_count", "web", 100.0, 400.0, labels={"client": "api"}
    )
    a = run(context([calls, series("http_errors_ratio", "api", 0.01, 0.3)]))
    assert not cands(a, "traffic_surge", "web")
    served = series("http_server_requests_seconds_count", "web", 100.0, 400.0)
    b = run(context([served, series("http_errors_ratio", "api", 0.01, 0.3)]))
    assert cands(b, "traffic_surge", "web")


def test_tls_errors_naming_the_server_propose_its_certificate_and_explain_the_client() -> None:
    """web's calls to api fail the handshake from the fault on (`x509: certificate has
    expired`, the URL naming api). api is up and exports nothing that moved: its
    certificate is proposed from its clients' errors, and web's errors are explained."""
    msg = 'Post "https://api.shop.svc.cluster.local/v1/items": x509: certificate has expired'
    logs = [(FAULT + 5 + 10 * k, "web", "error", msg) for k in range(20)]
    logs += [(T0 + 60 * k, "web", "info", "GET /v1/items 200") for k in range(40)]
    api_ok = series("http_requests_per_second", "api", 50.0)
    a = run(context([api_ok], logs=logs))
    (cert,) = cands(a, "certificate_expiry", "api")
    assert cert.features["kind_signal"] > 0.4
    assert "clients' TLS errors" in cert.statement
    web = max(cands(a, "unknown", "web"), key=lambda c: c.score)
    assert web.features["deeper"] > 0.3
    # a topology that misses the call (none is read from the logs then): the client's
    # own log still says which server it called
    bare = context([api_ok], logs=logs)
    bare.topology = Topology(depends_on={"web": [], "api": [], "db": []})
    web = max(cands(run(bare), "unknown", "web"), key=lambda c: c.score)
    assert web.features["deeper"] > 0.3
    # the same errors with no server named: api's, as the one server web calls ...
    plain = [(t, s, lv, "x509: certificate has expired") for t, s, lv, _ in logs[:20]] + logs[20:]
    assert cands(run(context([api_ok], logs=plain)), "certificate_expiry", "api")
    # ... but not when web calls two, nor when web is the server logging a client's
    # handshake (mTLS: its client's certificate expired)
    two = context([api_ok], logs=plain)
    two.topology = Topology(depends_on={"web": ["api", "db"], "api": ["db"], "db": []})
    assert not cands(run(two), "certificate_expiry", "api")
    served = [
        (t, s, lv, "http: TLS handshake error from 10.1.2.3:4432: x509: certificate has expired")
        for t, s, lv, _ in logs[:20]
    ] + logs[20:]
    assert not cands(run(context([api_ok], logs=served)), "certificate_expiry", "api")


def _expiry_probe(instance: str, expiry: float) -> Series:
    """The blackbox prober's earliest certificate expiry of api, at `instance`."""
    ts = [T0 + i * STEP for i in range(N)]
    labels = {"service": "api", "instance": instance}
    return Series("probe_ssl_earliest_cert_expiry", "api", labels, ts, [expiry] * N)


def _revealed(tls_after: float, cert: bool = True) -> Analysis:
    """api's certificate expired half an hour before the fault (`cert`: a prober says
    so), but web held its connections open. A deploy of web a minute before the fault
    restarted it; web's errors rise at the fault, and `tls_after` seconds later its
    connections to api (a broker, over AMQPS) fail the handshake: `certificate has
    expired`, the URL naming api."""
    expired = _expiry_probe("api.shop.svc:443", FAULT - 30 * STEP)
    msg = (
        "consumer: Cannot connect to amqps://web:**@api.shop.svc.cluster.local:5671//: "
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired"
    )
    logs = [(FAULT + tls_after + 10 * k, "web", "error", msg) for k in range(20)]
    # and, later, its publisher's (another template naming api: the first one counts)
    pub = 'publish failed: Post "https://api.shop.svc:8443/ev": x509: certificate has expired'
    logs += [(FAULT + tls_after + 300 + 10 * k, "web", "error", pub) for k in range(20)]
    logs += [(T0 + 60 * k, "web", "info", "GET /v1/items 200") for k in range(40)]
    deploy = Change(id="d1", ts=_dt(FAULT - 60), service="web", kind="deploy", version="v2")
    extra = [expired] if cert else []
    ctx = context([*extra, series("http_requests_per_second", "api", 50.0)], [deploy], logs=logs)
    # a consumer of a broker: the call graph (read from request metrics, say) does not
    # know that web talks to api
    ctx.topology = Topology(depends_on={"web": ["db"], "api": [], "db": []})
    return run(ctx)


def test_a_change_that_restarted_a_service_whose_certificate_had_expired_revealed_it() -> None:
    """A broker's inter-broker certificate expired hours ago; a node drain (an infra
    change) restarts it six minutes before the fault, and from the fault its handshakes
    fail. The expiry explains what followed the change: the certificate ranks above it,
    and the change says why. TLS errors that began before the change, no certificate
    reading, or one that expires only after the onset leave the change its reading."""
    expired = _expiry_probe("api.shop.svc:9093", T0 - 6 * 3600.0)
    msg = "Failed authentication with 10.0.0.9 (SSL handshake failed): certificate expired"
    drain = Change(
        id="c1",
        ts=_dt(FAULT - 6 * STEP),
        service="api",
        kind="infra",
        summary="node pool data: rolling OS patch (drain one node at a time)",
    )
    errors = series("http_errors_ratio", "api", 0.01, 0.3)

    def analysis(tls_from: float, cert: Series) -> Analysis:
        logs = [(tls_from + 10 * k, "api", "error", msg) for k in range(30)]
        logs += [(T0 + 60 * k, "api", "info", "GET /v1/items 200") for k in range(40)]
        return run(context([cert, errors], [drain], logs=logs))

    a = analysis(FAULT, expired)
    (cert,) = cands(a, "certificate_expiry", "api")
    (chg,) = cands(a, "config_change", "api")
    assert cert.score > chg.score
    assert "revealed the expiry" in chg.statement
    later = replace(expired, values=[FAULT + 5 * STEP] * N)  # expires after the onset
    for b in (
        analysis(FAULT - 8 * STEP, expired),
        analysis(FAULT, series("x", "api", 1.0)),
        analysis(FAULT, later),
    ):
        (kept,) = cands(b, "config_change", "api")
        assert "revealed" not in kept.statement
        assert kept.features["kind_signal"] > 2 * chg.features["kind_signal"]


def test_a_certificate_long_expired_explains_the_clients_that_fail_on_it_from_then() -> None:
    """The certificate is the cause and the deploy the trigger: the certificate takes
    web's timing and its moving with the symptom, and it explains web's trouble from
    web's first failed handshake on (four minutes into it), as far as that came soon."""
    a = _revealed(240.0)
    (cert,) = cands(a, "certificate_expiry", "api")
    (dep,) = cands(a, "deploy", "web")
    web = max(cands(a, "unknown", "web"), key=lambda c: c.score)
    assert web.features["deeper"] > 0.3
    assert cert.features["sync"] == pytest.approx(web.features["sync"])
    assert cert.features["symptom_corr"] == pytest.approx(web.features["symptom_corr"])
    assert cert.score > dep.score
    # handshakes failing only twelve minutes into web's trouble explain little of it
    late = _revealed(720.0)
    assert (
        max(c.features["deeper"] for c in cands(late, "unknown", "web"))
        < 0.6 * web.features["deeper"]
    )
    # a server with no expired certificate read: its clients' errors that began four
    # minutes into their trouble explain much less of it (their own trouble came first)
    none = _revealed(240.0, cert=False)
    rest = max(c.features["deeper"] for c in cands(none, "unknown", "web"))
    assert rest < 0.5 * web.features["deeper"]


LOOKUP_FAILED = "dial tcp: lookup {n}.shop.svc.cluster.local on 10.96.0.10:53: server misbehaving"


def _lookups(
    names: tuple[str, ...] = ("api", "ledger"),
    resolver: bool = True,
    msg: str = LOOKUP_FAILED,
    resolver_says: bool = False,
) -> Analysis:
    """From the fault on, web's lookups of `names` fail (`msg`); with `resolver`, the
    topology knows coredns, which web calls. With `resolver_says`, coredns' own log
    names what it failed to resolve, as CoreDNS' `errors` plugin does."""
    logs = [
        (FAULT + 5 + 10 * k, "web", "error", msg.format(n=n) + f" ({n})")
        for n in names
        for k in range(20)
    ]
    logs += [(T0 + 60 * k, "web", "info", "GET /x 200") for k in range(40)]
    if resolver_says:
        said = (
            "[ERROR] plugin/errors: 2 {n}.shop.svc.cluster.local. A: "
            "read udp 10.0.0.5:4242->10.0.0.2:53: i/o timeout"
        )
        logs += [
            (FAULT + 7 + 10 * k, "coredns", "error", said.format(n=n))
            for n in ("api", "ledger")
            for k in range(20)
        ]
        logs += [
            (T0 + 60 * k, "coredns", "info", "[INFO] plugin/reload: Running configuration")
            for k in range(40)
        ]
    ctx = context([series("http_requests_per_second", "ledger", 50.0)], logs=logs)
    deps = {
        "web": ["api", "ledger", "coredns"],
        "api": ["db"],
        "ledger": [],
        "db": [],
        "coredns": [],
    }
    if not resolver:
        deps = {"web": ["api", "ledger"], "api": ["db"], "ledger": [], "db": []}
    ctx.topology = Topology(depends_on=deps)
    return run(ctx)


def _top(a: Analysis) -> tuple[str, str]:
    c = max(a.candidates, key=lambda x: x.score)
    return c.kind, c.service


@pytest.mark.parametrize(
    "msg",
    [LOOKUP_FAILED, "dial tcp: lookup {n}.shop.svc.cluster.local: i/o timeout"],
    ids=["misbehaving", "timeout-no-resolver-named"],
)
def test_lookups_of_several_names_the_resolver_failed_are_the_resolvers(msg: str) -> None:
    """web's lookups of api and of ledger fail for want of an answer (Go's `server
    misbehaving`, or a lookup timing out with no resolver named): the resolver,
    coredns, is failing, not api or ledger, whose names were only what web looked up."""
    a = _lookups(msg=msg)
    assert _top(a) == ("network", "coredns")
    assert not a.findings.dead
    # ... whose timing and moving with the symptom are web's, where its lookups fail
    net = max(cands(a, "network", "coredns"), key=lambda c: c.score)
    web = max(cands(a, "unknown", "web"), key=lambda c: c.score)
    assert net.features["sync"] == pytest.approx(web.features["sync"])


@pytest.mark.parametrize(
    ("kw", "top"),
    [
        # one name failing is that name's (its record, the way to it)
        ({"names": ("api",)}, ("network", "api")),
        # no resolver known: web's lookups of everything fail on its side
        ({"resolver": False}, ("network", "web")),
        # a name the resolver said does not exist is no network fault, nor the resolver's
        ({"msg": "dial tcp: lookup {n}.shop.svc.cluster.local: no such host"}, ("unknown", "web")),
        # connections to several servers reset: web's side of the wire, not a lookup
        (
            {"msg": "read tcp 10.0.0.9:4242->{n}.shop.svc.cluster.local:8080: connection reset"},
            ("network", "web"),
        ),
    ],
    ids=["one-name", "no-resolver", "nxdomain", "resets"],
)
def test_lookups_failed_otherwise_are_not_the_resolvers(
    kw: dict[str, Any], top: tuple[str, str]
) -> None:
    assert _top(_lookups(**kw)) == top


def test_a_lookup_a_local_dns_agent_failed_downs_nothing_it_looked_up() -> None:
    """On virtual machines a node's Consul agent answers lookups on port 8600: web's
    `lookup api.service.consul on 127.0.0.1:8600: … i/o timeout` failed before any call
    to api was made. api is not down by it (one name failing may still be the way to
    it, `network`, as a lookup on port 53 is)."""
    msg = (
        "dial tcp: lookup {n}.service.consul on 127.0.0.1:8600: "
        "read udp 127.0.0.1:56679->127.0.0.1:8600: i/o timeout"
    )
    a = _lookups(names=("api",), resolver=False, msg=msg)
    assert "api" not in a.findings.dead
    assert not cands(a, "dependency_failure", "api")
    assert _top(a) == ("network", "api")


def test_a_resolvers_own_log_names_what_it_was_asked_not_what_it_calls() -> None:
    """CoreDNS' `plugin/errors: … api.shop.svc.cluster.local. A: … i/o timeout` says a
    lookup of api failed, not that coredns could not reach api: api and ledger are not
    down by it."""
    a = _lookups(names=(), resolver_says=True)
    assert not a.findings.dead
    assert _top(a) == ("network", "coredns")


def test_a_servers_own_log_of_failed_handshakes_proposes_its_certificate() -> None:
    """api's nginx logs, at info as nginx does, the handshakes its clients broke off
    with an alert about its certificate (`sslv3 alert certificate expired … while SSL
    handshaking`), and api's requests fall: the certificate api presents expired. A
    TLS error api raised itself about the server it called (`x509: certificate has
    expired`, no server named) proposes no certificate of api's own."""
    served = (
        "SSL_do_handshake() failed (SSL: error:0A000415:SSL routines::sslv3 alert "
        "certificate expired:SSL alert number 45) while SSL handshaking, client: "
        "203.0.113.7, server: 0.0.0.0:443"
    )
    ok = [(T0 + 60 * k, "api", "info", "GET /v1/items 200") for k in range(40)]
    logs = [(FAULT + 5 + 10 * k, "api", "info", served) for k in range(20)] + ok
    falls = series("http_requests_per_second", "api", 50.0, 5.0)
    (cert,) = cands(run(context([falls], logs=logs)), "certificate_expiry", "api")
    assert cert.features["kind_signal"] > 0.3
    own = [(t, s, "error", "x509: certificate has expired") for t, s, _, _ in logs[:20]]
    assert not cands(run(context([falls], logs=own + ok)), "certificate_expiry", "api")
    # the same line not at info is read alike; an info line that is no failure is not
    warned = [(t, s, "warn", m) for t, s, _, m in logs[:20]] + ok
    assert cands(run(context([falls], logs=warned)), "certificate_expiry", "api")
    # Go's server says it so (logged without a level), and so does a client whose own
    # certificate (mTLS) its server refused: the peer's alert is about ours
    go = "http: TLS handshake error from 203.0.113.7:5123: remote error: tls: bad certificate"
    mtls = 'call paylane failed: POST "https://pay.example": remote error: tls: expired certificate'
    for line in (go, mtls):
        said = [(t, s, "", line) for t, s, _, _ in logs[:20]] + ok
        assert cands(run(context([falls], logs=said)), "certificate_expiry", "api"), line
    # a handshake that failed for another reason is no certificate of api's
    other = served.replace("sslv3 alert certificate expired", "wrong version number")
    shaken = [(t, s, "info", other) for t, s, _, _ in logs[:20]] + ok
    assert not cands(run(context([falls], logs=shaken)), "certificate_expiry", "api")
    # Erlang's ssl (RabbitMQ) and Java say the alert was received: the certificate it
    # presented was refused. One that says "expired" is the kind itself, and reads as
    # strongly as the line is; a refusal for another reason, as any TLS error
    erlang = "TLS server: In state certify received CLIENT ALERT: Fatal - Certificate Expired"
    java = "javax.net.ssl.SSLHandshakeException: Received fatal alert: certificate_expired"
    unknown = "TLS server: In state certify received CLIENT ALERT: Fatal - Unknown CA"
    ks = {}
    for line in (erlang, java, unknown):
        said = [(t, s, "error", line) for t, s, _, _ in logs[:20]] + ok
        (c,) = cands(run(context([falls], logs=said)), "certificate_expiry", "api")
        ks[line] = c.features["kind_signal"]
    assert ks[erlang] > ks[unknown] > 0 and ks[java] > ks[unknown]
    said = [(t, s, "error", erlang) for t, s, _, _ in logs[:20]] + ok
    (c,) = cands(run(context([falls], logs=said)), "certificate_expiry", "api")
    assert "its peers refuse it as expired" in c.statement
    # Elixir keeps the alert's words in a charlist a template masks: the line says them
    elixir = (
        "PSN entitlement consume failed for order 2d69: %Mint.TransportError{reason: "
        '{:tls_alert, {:certificate_expired, ~c"TLS client: In state certify received '
        'SERVER ALERT: Fatal - Certificate Expired\\n"}}}'
    )
    said = [(t, s, "error", elixir) for t, s, _, _ in logs[:20]] + ok
    (c,) = cands(run(context([falls], logs=said)), "certificate_expiry", "api")
    assert c.features["kind_signal"] == pytest.approx(ks[erlang], abs=0.05)


def test_a_restart_that_reconnected_to_a_callee_whose_certificate_was_refused() -> None:
    """db's own log says its clients refuse its certificate as expired, from before a
    config change of api; api (which calls db) goes down two minutes after the change:
    the change restarted api, which reconnected to db and failed. db's certificate
    explains it, and ranks above the change; refused only after the change, the change
    keeps its reading."""
    rej = "TLS server: In state certify received CLIENT ALERT: Fatal - Certificate Expired"
    ok = [(T0 + 60 * k, "db", "info", "accepting AMQP connection") for k in range(40)]
    down = series("up", "api", 1.0, 0.0)
    push = Change(
        id="cfg", ts=_dt(FAULT - 120), service="api", kind="config", summary="agent.ini: x 0 -> 30"
    )

    def case(first: float) -> tuple[Candidate, Candidate]:
        logs = [(first + 20 * k, "db", "error", rej) for k in range(30)] + ok
        a = run(context([down], changes=[push], logs=logs))
        (cfg,) = cands(a, "config_change", "api")
        (cert,) = cands(a, "certificate_expiry", "db")
        return cfg, cert

    cfg, cert = case(FAULT - 360)
    assert cert.score > cfg.score
    assert "api calls db, whose certificate its clients were rejecting" in cfg.statement
    late_cfg, _ = case(FAULT + 60)
    assert late_cfg.score > cfg.score
    assert "whose certificate" not in late_cfg.statement


def test_a_store_refusing_commands_for_memory_explains_its_client() -> None:
    """db (a Redis, by its series) filled its memory for twenty minutes; from the fault
    on api's commands are refused (`OOM command not allowed`, api's log, in Redis'
    words): db's memory ran out, not api's, and it explains api's errors from when api
    said so, however long db had been filling."""
    oom = "redis command failed: OOM command not allowed when used memory > 'maxmemory'."
    logs = [(FAULT + 5 + 10 * k, "api", "error", oom) for k in range(20)]
    logs += [(T0 + 60 * k, "api", "info", "GET /v1/items 200") for k in range(40)]
    filling = series("redis_memory_used_bytes", "db", 1e9, 2e9, at=FAULT - 20 * STEP)
    errs = series("http_errors_ratio", "api", 0.01, 0.3)
    a = run(context([filling, errs], logs=logs))
    assert not [c for c in cands(a, "resource_saturation", "api") if c.subject == "memory"]
    (mem,) = [c for c in cands(a, "resource_saturation", "db") if c.subject == "memory"]
    assert mem.features["logs"] > 0.5
    api = max(cands(a, "unknown", "api"), key=lambda c: c.score)
    assert api.features["deeper"] > 0.3
    # a Redis that exports no memory reading (its clients flat) is in trouble from
    # api's first refused command all the same
    flat = series("redis_connected_clients", "db", 40.0)
    b = run(context([flat, errs], logs=logs))
    assert [c for c in cands(b, "resource_saturation", "db") if c.subject == "memory"]
    api = max(cands(b, "unknown", "api"), key=lambda c: c.score)
    assert api.features["deeper"] > 0.3


def test_a_search_cluster_blocking_writes_for_its_disk_explains_its_client() -> None:
    """db (an OpenSearch, by its series) crossed its flood-stage watermark; api's bulk
    writes are refused in OpenSearch's words (`cluster_block_exception … disk usage
    exceeded flood-stage watermark`), naming no host: db's disk, not api's."""
    blocked = (
        "bulk index failed: cluster_block_exception: index [tickets-v3] blocked by:"
        " [TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage watermark, index has"
        " read-only-allow-delete block]"
    )
    logs = [(FAULT + 5 + 10 * k, "api", "error", blocked) for k in range(20)]
    logs += [(T0 + 60 * k, "api", "info", "POST /v1/index 200") for k in range(40)]
    nodes = series("opensearch_cluster_status", "db", 0.0)
    errs = series("http_errors_ratio", "api", 0.01, 0.3)
    a = run(context([nodes, errs], logs=logs))
    assert not [c for c in cands(a, "resource_saturation", "api") if c.subject == "disk"]
    assert [c for c in cands(a, "resource_saturation", "db") if c.subject == "disk"]


def test_a_machine_a_broker_runs_on_dropping_packets_is_the_brokers_network() -> None:
    """kafka-2's NIC drops packets: node_exporter scraped at `kafka-2:9100` says so, and
    kafka's log records name kafka-2 as their machine (Vector's `host`). The node's
    errors are kafka's, a network fault at kafka; the kernel's own journal on the same
    machine places no `kernel` workload there to share it."""
    errs = series(
        "node_network_receive_errs_total",
        "",
        0.0,
        140.0,
        labels={"instance": "kafka-2:9100", "job": "node", "device": "bond0"},
    )
    errs = replace(
        errs, service=None, labels={k: v for k, v in errs.labels.items() if k != "service"}
    )
    ctx = context([errs, series("http_errors_ratio", "api", 0.01, 0.3)])
    ctx.topology = Topology(depends_on={"web": ["api"], "api": ["kafka"], "kafka": []})
    ctx.logs.placements |= {("kafka-2", "kafka", ""), ("kafka-2", "kernel", "")}
    a = run(ctx)
    (net,) = cands(a, "network", "kafka")
    assert net.features["kind_signal"] > 0.2
    assert not [c for c in a.candidates if c.service == "kernel"]


def test_a_machine_that_runs_one_service_has_its_disk_and_its_certificates() -> None:
    """On kafka-2, which runs kafka alone, the log volume filling and the certificate
    read from `/etc/kafka/tls/broker.crt` are kafka's; on a machine two services share,
    neither is anyone's by placement; a node's CPU is nobody's by placement."""
    m = FamilyMatcher()

    def on(host: str, name: str) -> Series:
        s = series(name, "", 0.5, labels={"instance": f"{host}:9100", "job": "node"})
        return replace(
            s, service=None, labels={k: v for k, v in s.labels.items() if k != "service"}
        )

    placed = {"kafka-2": {"kafka": 1 / 3}, "shared-1": {"api": 0.5, "db": 0.5}}
    got = metric_an.host_series(
        [
            on("kafka-2", "node_filesystem_used_ratio"),
            on("kafka-2", "x509_cert_not_after"),
            on("kafka-2", "node_cpu_utilisation"),
            on("shared-1", "node_filesystem_used_ratio"),
        ],
        m,
        placed,
    )
    assert [x.service for x in got] == ["kafka", "kafka", None, None]


def test_a_client_calling_two_stores_of_its_words_technology_means_the_one_others_do() -> None:
    """api calls two Redis (sessions and carts); its `OOM command not allowed` could be
    either's. web calls only sessions and says the same: the line is sessions' too, not
    api's own memory. Alone, api's line names neither store."""
    oom = "redis command failed: OOM command not allowed when used memory > 'maxmemory'."
    api_says = [(FAULT + 5 + 10 * k, "api", "error", oom) for k in range(20)]
    web_says = [(FAULT + 7 + 10 * k, "web", "error", oom) for k in range(20)]
    quiet = [
        (T0 + 60 * k, s, "info", "GET /v1/items 200") for k in range(40) for s in ("api", "web")
    ]
    redis = [series("redis_connected_clients", x, 40.0) for x in ("sessions", "carts")]
    errs = series("http_errors_ratio", "api", 0.01, 0.3)

    def memory_logs(logs: list[tuple[float, str, str, str]]) -> dict[str, float]:
        ctx = context([*redis, errs], logs=logs)
        ctx.topology = Topology(
            depends_on={
                "web": ["api", "sessions"],
                "api": ["sessions", "carts"],
                "sessions": [],
                "carts": [],
            }
        )
        a = run(ctx)
        return {
            c.service: c.features["logs"]
            for c in cands(a, "resource_saturation")
            if c.subject == "memory"
        }

    both = memory_logs(api_says + web_says + quiet)
    assert set(both) == {"sessions"}
    alone = memory_logs(api_says + quiet)
    assert "sessions" not in alone and "carts" not in alone


def test_no_surge_from_above_expires_a_certificate() -> None:
    """web's requests quadruple (its retries of failed handshakes, or real demand) as its
    TLS calls to api fail: the surge above explains api's load, not api's expired
    certificate, which keeps its score."""
    msg = 'Post "https://api.shop.svc.cluster.local/v1/items": x509: certificate has expired'
    logs = [(FAULT + 5 + 10 * k, "web", "error", msg) for k in range(20)]
    logs += [(T0 + 60 * k, "web", "info", "GET /v1/items 200") for k in range(40)]
    surge = series("http_requests_per_second", "web", 100.0, 400.0)
    a = run(context([surge, series("http_requests_per_second", "api", 50.0)], logs=logs))
    (cert,) = cands(a, "certificate_expiry", "api")
    assert cert.features["upstream_surge"] == 0.0
    others = [c for c in a.candidates if c.service == "api" and c.kind != "certificate_expiry"]
    assert any(c.features["upstream_surge"] > 0.3 for c in others)


def test_a_pool_filling_at_a_caller_whose_cpu_stayed_flat_is_partly_waiting() -> None:
    """api calls db. Its worker threads fill (5 → 40 busy) while its CPU stays flat:
    threads with nothing to compute wait on something, a callee most often, though no
    trace says which (`saturation.idle_wait`). At a service that calls nothing the pool
    is read whole; with its CPU climbing too, the CPU leads and nothing is discounted."""
    flat_cpu = series("container_cpu_usage_seconds_total", "api", 0.3, 0.3)
    hot_cpu = series("process_cpu_usage", "api", 0.2, 0.9)

    def pool_signal(extra: list[Series], svc: str = "api") -> float:
        p = series("tomcat_threads_busy_threads", svc, 5.0, 40.0, noise=0.0)
        (sat,) = cands(run(context([p, *extra])), "resource_saturation", svc)
        return sat.features["kind_signal"]

    waiting = pool_signal([flat_cpu])
    busy = pool_signal([hot_cpu])
    leaf = pool_signal([], svc="db")
    assert waiting < 0.6 * leaf
    assert busy > 0.9 * leaf


def test_a_deploys_service_erring_long_after_the_trouble_began_speaks_less_for_it() -> None:
    """api deployed five minutes before web began to fail. Its own errors rising with
    web's speak for the deploy; the same errors rising six minutes after web's are what
    api suffered later, not what the deploy did: its reading weakens by that lateness."""
    d = _deploy("d-api", "api", FAULT - 300)

    def reading(at: float) -> Candidate:
        errs = series("http_errors_ratio", "api", 0.01, 0.3, at=at)
        (c,) = [c for c in run(context([errs], changes=[d])).candidates if c.subject == "d-api"]
        return c

    early, late = reading(FAULT), reading(FAULT + 6 * STEP)
    assert early.features["earliest"] > 0.9
    assert late.features["anomaly"] > 0.9  # as strong, only later
    assert late.features["earliest"] < 0.7
    assert late.features["kind_signal"] < early.features["kind_signal"] - 0.1


def test_a_callee_that_relays_its_own_callees_failure_is_not_down() -> None:
    """web's calls to search fail with `rpc error: code = Unknown desc = rpc error: code
    = Unavailable`: search answered, with the failure of a call of its own. search is
    up and relays it (its own errors say to what: `GetRates failed`, rate's); web's
    errors naming search in a single-level error would say search is down."""
    from aisre_cli.investigate.analyzers.logs import LogFinding

    def lf(svc: str, text: str) -> LogFinding:
        return LogFinding(svc, text, "error", "dependency", 0, 10, 10.0, True, FAULT, 0.8)

    known = {"web", "search", "rate"}
    single = "searchClient.Nearby: rpc error: code = Unavailable desc = no healthy upstream"
    nested = single.replace("code = ", "code = Unknown desc = rpc error: code = ", 1)
    own = lf(
        "search",
        "SearchHandler GetRates failed: rpc error: code = Unavailable desc = no healthy upstream",
    )
    relayed = dep_an.find_dead([], [lf("web", nested), own], known)
    assert "search" not in relayed and "rate" in relayed
    assert "search" in dep_an.find_dead([], [lf("web", single)], known)


def test_a_socket_error_names_the_peer_it_could_not_reach_by_host_and_port() -> None:
    """OpenResty's `[lua] compose-post.lua:76: compostPost Failed: Failed to connect to
    Redis (timeline-redis:6379): Connection refused` names two known services: the
    script that raised it (compose-post's) and, by host and port, the store it could
    not reach. The store is the one down (`at_port`); a line naming one service only
    keeps it, and so does a line naming none by a port."""
    from aisre_cli.investigate.analyzers.logs import LogFinding

    def lf(svc: str, text: str, family: str | None = "dependency") -> LogFinding:
        return LogFinding(svc, text, "error", family, 0, 10, 10.0, True, FAULT, 0.8)

    known = {"nginx", "compose-post", "timeline-redis"}
    said = (
        "[lua] compose-post.lua:76: compostPost Failed: Failed to connect to Redis"
        " (timeline-redis:6379): Connection refused"
    )
    assert set(dep_an.find_dead([], [lf("nginx", said)], known)) == {"timeline-redis"}
    timeout = "[lua] compose-post.lua:76: compostPost Failed: connection refused"
    assert set(dep_an.find_dead([], [lf("nginx", timeout)], known)) == {"compose-post"}
    both = "could not connect to compose-post or timeline-redis"
    assert set(dep_an.find_dead([], [lf("nginx", both)], known)) == {
        "compose-post",
        "timeline-redis",
    }
    assert dep_an.at_port(["a-b", "c-d"], "failed to reach c-d:5432 for a-b") == ["c-d"]


def test_a_callee_that_cannot_reach_its_own_store_is_not_blamed_by_its_callers_words() -> None:
    """compose-post's errors name timeline (`Failed to send write-user-timeline to
    timeline`), which it calls; timeline's own lines say it cannot reach its Redis
    (refused). timeline relays that failure: its callers' words name the messenger, and
    the store is the one down (`find_dead` leaves a callee that is itself a caller of a
    store it cannot reach out of `_named_by_callers`)."""
    from aisre_cli.investigate.analyzers.logs import LogFinding

    def lf(svc: str, text: str, family: str | None) -> LogFinding:
        return LogFinding(svc, text, "error", family, 0, 10, 10.0, True, FAULT, 0.8)

    known = {"compose-post", "timeline", "timeline-redis"}
    calls = Topology(depends_on={"compose-post": ["timeline"], "timeline": ["timeline-redis"]})
    sent = lf("compose-post", "Failed to send write-user-timeline to timeline", None)
    own = lf("timeline", "Failed to connect to Redis (timeline-redis:6379): refused", "dependency")
    found = dep_an.find_dead([], [sent, own], known, calls=calls)
    assert set(found) == {"timeline-redis"}
    # with timeline's own lines saying nothing of its store, its callers' words stand
    alone = dep_an.find_dead([], [sent], known, calls=calls)
    assert set(alone) == {"timeline"}


@pytest.mark.parametrize(
    ("kind", "summary", "idle"),
    [
        ("infra", "terraform: pg-main backup retention 7d -> 14d (s3 lifecycle)", True),
        ("infra", "terraform: CloudWatch dashboard for redis node group", True),
        ("config", "alert rules: raise ApiLatencyHigh threshold to 800ms", True),
        ("infra", "Terraform: tag compliance update (cost-center labels)", True),
        ("infra", "terraform: archive bucket lifecycle rule, transition to glacier", True),
        # what runs: a deploy whatever its words, settings, flags, the typo that is the fault
        ("deploy", "Deploy customer-api v3.11.6 (CDR billing tags)", False),
        ("config", "rate-limit policy per-client 600 rps -> 60 rps (typo: missing zero)", False),
        ("config", "REDIS_READ_TIMEOUT=5ms (was 500ms)", False),
        ("flag", "Feature flag courier-heatmap-v2: enabled for ops team", False),
        ("infra", "terraform: pg-main backup schedule moved to 09:00", False),
    ],
)
def test_a_change_to_what_the_service_does_not_run_with_is_inert(
    kind: str, summary: str, idle: bool
) -> None:
    from aisre_cli.investigate.proposers.changes import inert

    assert inert(kind, summary) is idle


def test_an_inert_change_before_the_trouble_is_no_timing_reading() -> None:
    """api's errors rise a minute after two possible changes to it: new dashboards
    for it (nothing it runs with) or a lower pool size. The dashboards' timing says
    nothing and its before-and-after counts a quarter."""
    errs = series("http_errors_ratio", "api", 0.01, 0.3)

    def reading(summary: str) -> Candidate:
        c = Change(id="c1", ts=_dt(FAULT - 60), service="api", kind="infra", summary=summary)
        (cand,) = [x for x in run(context([errs], changes=[c])).candidates if x.subject == "c1"]
        return cand

    idle = reading("terraform: CloudWatch dashboard for the api")
    live = reading("terraform: api db pool size 50 -> 5")
    assert idle.features["change_proximity"] == 0.0 < live.features["change_proximity"]
    assert idle.features["change_harm"] <= 0.25 * live.features["change_harm"] + 1e-9
    assert idle.features["kind_signal"] < 0.5 * live.features["kind_signal"]
    assert "does not run with" in idle.statement


def test_a_deploys_service_logging_new_errors_long_after_the_trouble_speaks_less() -> None:
    """The same for new errors in its logs: api deployed five minutes before web began
    to fail; its new error lines from the fault speak for the deploy, the same lines
    from six minutes later much less."""
    d = _deploy("d-api", "api", FAULT - 300)
    calm = [(T0 + 60.0 * i, "api", "INFO", "request served") for i in range(40)]

    def reading(at: float) -> Candidate:
        lines = [
            (at + 10.0 * i, "api", "ERROR", "render failed: KeyError 'badge'") for i in range(30)
        ]
        a = run(context([], changes=[d], logs=calm + lines))
        (c,) = [c for c in a.candidates if c.subject == "d-api"]
        return c

    early, late = reading(FAULT + 5.0), reading(FAULT + 6 * STEP)
    assert early.features["logs"] > 0.5 and late.features["logs"] > 0.5
    assert late.features["kind_signal"] < early.features["kind_signal"] - 0.05
