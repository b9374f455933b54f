"""The signal catalogue: what a metric *means*, read from the vocabularies real systems export.

The engine never looks at exact metric names of one system. A series' name (its
`__name__` or the bundle file stem) and a few telling label values are matched
against a catalogue grounded in what exporters, frameworks and meshes emit:

* exporters: cAdvisor (`container_*`), kube-state-metrics (`kube_pod_*`, `kube_deployment_*`),
  node_exporter (`node_*`), blackbox (`probe_*`);
* frameworks and meshes: OpenTelemetry HTTP/RPC semantic conventions
  (`http_server_request_duration`, `rpc_server_duration`), Istio/Envoy
  (`istio_requests_total`, `envoy_cluster_upstream_*`), Micrometer/Spring Boot
  (`http_server_requests_seconds`, `jvm_*`, `hikaricp_*`), the Go, Java and Python client
  libraries' defaults (`go_*`, `process_*`, `python_gc_*`).

Each entry gives a *family* (what the signal speaks about), its *bad direction*, a
*shape* (how to read the numbers: a counter to rate, a gauge, a ratio or percent, an
expiry timestamp, a countdown, a restart counter, an up/down probe) and a *scope*
(container, pod, node, probe or service: a node-wide CPU shift is shared by everything
on the node and is weaker evidence against one service than the service's own CPU).

A metric the catalogue does not know still counts as a generic anomaly (`family=None`,
`known=False`) with a lower prior, never as a specific kind. Profiles extend or
override the catalogue per family (`signal_families` in config).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from aisre_cli.model import Series

Shape = Literal["gauge", "counter", "ratio", "percent", "expiry_ts", "countdown", "updown"]
Scope = Literal["container", "pod", "node", "probe", "service"]

FAMILIES: tuple[str, ...] = (
    "certificates",
    "restarts",
    "availability",
    "errors",
    "latency",
    "connections",
    "disk",
    "memory",
    "cpu",
    "network",
    "traffic",
)

REQUESTS_IN_PROGRESS = (
    r"in_?flight|in_?progress|(^|_)current_requests|(^|_)active_requests|requests_active"
    r"|(^|_)rq_active"
)
"""Requests a service is handling at once (`http_requests_in_flight`, OpenTelemetry's
`http.server.active_requests`, ASP.NET Core's `current-requests`, Python clients'
`track_inprogress` gauges, Envoy's `upstream_rq_active`): by Little's law arrivals times
how long each takes, so they pile up when calls get slower as much as when more arrive."""

DEFAULT_PATTERNS: dict[str, list[str]] = {
    "certificates": [
        r"cert",
        r"ssl",
        r"tls_.*expir",
        # TLS sessions clients failed to establish (CloudWatch's ALB
        # `ClientTLSNegotiationErrorCount`): handshakes, as a proxy's ssl handshake errors
        r"tls_?negotiation_?errors?",
        r"x509",
        r"not_?after",
    ],
    "restarts": [
        r"restart",
        r"crashloop",
        r"oom_?kill",
        r"oom_events",
        r"waiting_reason",
        r"terminated_reason",
        r"last_terminat",
        r"container_status_(waiting|terminated)",
    ],
    "availability": [
        r"(^|_)up$",
        r"^up(_|$)",
        r"probe_success",
        r"availability",
        r"uptime_ratio",
        r"health(y|check)?(_|$)",
        r"replicas_(available|ready|unavailable)",
        r"status_ready",
        r"endpoints?_(ready|available)",
        r"endpoint_address_(available|not_ready)",
        r"healthy_host",
        # how many of a cluster's members are serving: Kafka's brokers, HAProxy's active
        # servers behind a backend
        r"(^|_)brokers$",
        r"active_servers",
        r"deployment_(available|ready)",  # OpenTelemetry's k8s cluster receiver
        # partitions short of their replicas: a Kafka broker gone or falling behind
        r"under_?replicated",
        # OpenStack's agents as openstack-exporter reports them (1 up, 0 down), and a
        # Galera node ready for queries (`wsrep_ready` 1 ON / 0 OFF)
        r"agent_state$",
        r"wsrep_ready$",
        # a check that it can connect (Datadog's `http.can_connect`, `tcp.can_connect`)
        r"can_connect$",
    ],
    "errors": [
        # connections a server dropped: failed handshakes and clients gone without closing
        # (MySQL's `aborted_connects`, `aborted_clients`)
        r"aborted_(connects|clients)",
        # clients dropped (a WebSocket gateway's disconnects)
        r"(^|_)disconnect(s|ions|ed)?($|_)",
        r"error",
        r"err(_|s?$)",
        r"5_?xx",
        r"fail",
        r"exception",
        r"fault",
        r"reject",
        r"_panic",
        r"unsuccess",
        r"success_(rate|ratio)",
        r"(^|_)success(_|$)",
        r"(^|_)(succ|sr)($|_)",  # success rate, abbreviated (AIOps-style KPIs)
        r"^(?!.*(tcp|net|socket)).*(^|_)time_?outs?($|_)",  # request timeouts, not TCP's
        r"(^|_)retr(y|ies)($|_)",
        r"(^|_)ok_(percent|pct|ratio|rate|fraction)",  # X-Ray's OK share of requests
        r"upstream_rq_5",
        r"grpc_.*(unavailable|internal|deadline)",
        r"deadlock",  # postgres_exporter's `pg_stat_database_deadlocks`: transactions aborted
        # CloudWatch: Step Functions' executions that timed out, Lambda's asynchronous
        # events it dropped (not the wire's packets)
        r"^(?!.*(tcp|net|socket)).*(^|_)timed_out($|_)",
        r"events_dropped",
        # Azure Service Bus' messages moved to the dead-letter queue: failed deliveries
        r"dead_?lettered",
    ],
    "latency": [
        # how long connecting takes (HAProxy's `connect_time_average_seconds`)
        r"connect_time",
        r"latenc",
        r"duration",
        r"response_time",
        r"_seconds_bucket",
        r"(^|_)p(50|90|95|99|999)($|_)",
        r"rtt",
        r"(^|_)lag($|_)",
        r"wait_time",
        r"_time_(ms|seconds)",
        # JMX's `TotalTimeMs`, `RemoteTimeMs` (Kafka's request metrics), lower-cased
        r"timems($|_)",
        r"upstream_rq_time",
        r"gc_pause",
        r"_seconds_max$",  # Micrometer timers: the slowest call of the last interval
        # StatsD timers as Graphite names them (`stats.timers.<name>.mean`, `upper_95`);
        # their `count` is how many calls, traffic
        r"(^|_)timers?_.*_(upper|lower|mean|median|std)(_\d+)?$",
        r"(^|_)upper_\d\d$",
        r"(^|_)(seconds|milliseconds|ms)_(avg|mean)$",  # a timer's sum / count
        r"seconds_behind",  # replication behind its primary
        r"(^|_)(m|avg_?|mean_?)?rt($|_)",  # response time, abbreviated (AIOps-style KPIs)
        r"(^|_)resp(onse)?_?time",
        r"(^|_)elapsed($|_)",
        # a database's slow statements (mysqld_exporter's `slow_queries`, postgres_exporter's
        # `pg_stat_statements_mean_exec_time`), a server's slow requests (php-fpm's
        # `phpfpm_slow_requests`, past its slowlog timeout), Envoy's `downstream_rq_time`,
        # and how old the oldest message waiting is (SQS)
        r"slow_quer",
        r"(^|_)slow_(requests?|calls?|ops|operations|commands)($|_)",
        r"mean_exec",
        r"(^|_)rq_time",
        r"age_of_oldest",
        r"(^|_)mean_(seconds|milliseconds|ms)$",  # a statement's or search's mean time
        # how far behind a stream's consumer reads (Kinesis' and Lambda's IteratorAge),
        # how old an asynchronous event is when a function gets it, and the messages an
        # SQS queue holds waiting or taken and not yet done: its consumer's backlog, as
        # a Kafka consumer's lag is (a managed queue does not run out of room)
        r"iterator_age|(^|_)event_age|messages_(not_)?visible",
        # … and Azure Service Bus' active messages: a queue's backlog, by its name there
        r"(^|_)active_messages",
    ],
    "connections": [
        # connections held (not the counters of those ever accepted: traffic); not a
        # product or a component called "connect" or a "connector" (Kafka Connect's
        # records polled, Tomcat's connector's requests), nor the time a connect takes
        r"(?<!accepted_)(?<!handled_)conn"
        r"(?!track|ect(?!ed|ion)|ections?_(accepted|handled)|s_(accepted|handled))",
        # a pool of connections or workers, not a runtime's memory pool
        # (`jvm_memory_pool_bytes_used`, `jvm_buffer_pool_used_bytes`: memory)
        r"(?<!memory_)pool(?!(_[a-z]+)*_bytes)",
        # sessions held at once (HAProxy's `current_sessions`, a pool's sessions in use),
        # not an application named for sessions (`session_api_logins_total`)
        r"(^|_)(current|active|open|cur|max)_sessions?(_|$)|(^|_)sessions?$",
        r"sessions?_(active|current|open|count|percent|in_use|used|limit|max)",
        r"pg_stat_activity",
        # a database server's backends are its connections (OpenTelemetry's
        # `postgresql.backends`, postgres_exporter's `pg_stat_database_numbackends`)
        r"(^|_)(num)?backends$",
        r"threads_(busy|active)",
        r"active_workers",
        r"queue_(depth|size|length)",
        r"queued_tasks|current_queue|(^|_)active_threads",
        r"backlog",
        r"hikaricp",
        r"goroutines",
        r"open_fds",
        r"file_descriptors",
        r"(^|_)sockets?($|_)",
        r"(^|_)threads?($|_)",
        # requests in progress: a count held at once, not demand (Cloud Run's
        # `max_request_concurrencies`, Lambda's `concurrent_executions` too)
        REQUESTS_IN_PROGRESS,
        r"concurren(t|cy|cies)",
        # a function's invocations throttled: its concurrency ran out, not a CPU quota
        r"lambda_throttles",
        # Azure SQL's worker threads in use, as a share of its limit
        r"(^|_)workers_percent",
        r"active_quer(y|ies)",  # a database's statements running now (Datadog, OTel)
    ],
    "disk": [
        r"disk",
        r"filesystem",
        r"(^|_)fs_",
        r"inode",
        r"volume",
        r"iops",
        r"io_time",
        # a managed database's storage (CloudWatch's RDS FreeStorageSpace, Azure's
        # storage_percent, Cloud SQL's disk quota): its disk by another name
        r"(free|used|allocated)_storage|storage_(space|used|percent|utili[sz]ation|bytes)",
    ],
    "memory": [
        # memory anywhere (JMX's `heapmemoryusage`), `mem` where a word starts: not
        # memcached's own metrics, nor a group's members, nor inside another word
        # (Kafka's request `totaltimems`)
        r"memory|(?<![a-z])mem(?!cache|ber)",
        r"heap",
        r"rss",
        r"working_set",
        r"(^|_)gc_",
        r"swap",
        r"oom",
        r"resident",
        r"mebibytes",
    ],
    "cpu": [
        r"cpu",
        r"throttl",
        r"(^|_)load(1|5|15)?$",
        r"(^|_)load_(1|5|15)$",  # Datadog's `system.load.1`
        r"(^|_)load_average",
        r"millicores",
        # a stream's or a table's provisioned throughput exceeded: its calls throttled
        # (Kinesis' ProvisionedThroughputExceeded), capacity and not demand
        r"throughput_exceeded",
        # Azure Monitor: a Cosmos DB account's provisioned request units used (RU/s: its
        # throughput capacity), a Windows or Redis host's processor time
        r"normalized_?ru_?consumption|processor_time",
    ],
    "network": [
        # faults on the wire, not volume: drops, loss, retransmits, resets, interface
        # errors, DNS failures, round-trip time
        r"packet_?loss",
        r"retrans",
        r"(^|_)drop",
        r"(^|_)(rx|tx|receive|transmit)_(errs|errors|drop)",
        r"_errs(_total)?$",
        r"dns",
        r"(^|_)tcp_.*(reset|timeout|fail|abort)",
        r"(network|net|socket)_.*(error|drop|loss|timeout|unreachable)",
        r"(^|_)rtt",
        r"network_latency",
        r"netstat_tcp_(retrans|timeouts|abort)",
        # the kernel's connection tracking table: full, it drops new flows' packets (its
        # entries alone are how busy the node is; `metrics.conntrack_fullness` divides
        # them by the table's limit)
        r"conntrack.*(ratio|usage|percent|fullness|drop|insert_failed)",
    ],
    "traffic": [
        # php-fpm's and nginx's counters of connections accepted or handled: arrivals
        r"(accepted|handled)_conn|conn(ection)?s?_(accepted|handled)",
        # … and of anything else a server accepted, counted (Kamailio's registrar's
        # `accepted_regs`): arrivals it took in, however its domain names them
        r"(^|_)accepted_[a-z]+_(rate|total|count)$",
        r"(^|_)timers?_.*_count(_ps)?$",  # a StatsD timer's calls (`stats.timers.x.count`)
        r"(receive|transmit|rx|tx)_(bytes|packets)",
        r"bytes_(received|rcvd|sent|in|out|rate|total)",
        r"network_.*(bytes|packets)",
        r"(?<!resource_)request",  # not kube-state-metrics' resource requests
        r"(^|_)rps($|_)",
        r"(^|_)qps($|_)",
        r"throughput",
        r"(^|_)hits?($|_)",
        r"http_.*_total",
        r"grpc_(server|client)_(handled|started|msg_received|msg_sent)",
        r"messages_(in|received)",
        r"(^|_)calls($|_)",
        r"ingress",
        r"workload",
        r"(^|_)ops($|_)",
        r"(up|down)stream_rq(_total|_xx)?$",
        r"(^|_)responses?_total$",
        r"(^|_)responses?_count(_total)?$",  # Apigee's `apigee_proxy_response_count_total`
        r"(^|_)tps($|_)",
        r"invocations?",
        r"(^|_)net_(send|sent|recv|receive|received|in|out)($|_)",
        # work done, by the stores' own exporters: commands, statements, transactions,
        # operations, messages in
        r"grpc_(server|client)_handling_seconds_count",
        r"commands_(processed|total)|(^|_)commands_total",
        r"(^|_)questions($|_)",
        r"xact_commit|tup_fetched",
        r"op_?counters",
        r"messages_?in(_total)?$|messages_published|(^|_)in_msgs($|_)",
        r"(^|_)(client|backend)_req($|_)",  # Varnish's requests, from clients and to backends
        # OpenTelemetry's receivers for PostgreSQL and RabbitMQ
        r"(^|_)(commits|operations)_total$|message_(published|acknowledged|delivered)",
        # a consumer's own work, its demand: Kafka's fetch manager's records consumed,
        # RabbitMQ's messages delivered to consumers
        r"records?_consumed|messages?_consumed|consumed_(records|messages)|messages_delivered",
        # … and a Kafka Connect task's records polled from its source or sent to its sink
        r"(source|sink)_records?_(poll|write|read|send)",
        # CloudWatch's demand: API Gateway's Count of requests, a Kinesis stream's
        # incoming records, messages sent to an SQS queue, Step Functions' executions
        # started, the capacity units a DynamoDB table consumed
        r"apigateway_count|(^|_)incoming_(records|bytes)|messages_sent|executions_started",
        r"consumed_(read|write)_capacity",
        # … and Azure's: messages arriving at an Event Hub or a Service Bus namespace
        r"(^|_)incoming_messages",
    ],
}

# Names matching these are "bad when they go DOWN" (free space, remaining validity...).
_DOWN_IS_BAD = re.compile(
    # whole words where a substring lies: "unavailable" / "unsuccessful" / "unhealthy"
    # are bad going up, and "throttled" holds "ttl"
    r"(?<!un)avail|free|remaining|expiry|expir(e(?!d)|ation)|not_?after|(^|_)up$|^up(_|$)|probe_success|"
    r"(?<!un)success|(?<!un)healthy|(?<!un)usable|uptime|replicas_(available|ready)|status_ready|headroom|"
    r"(^|_)left($|_)|(^|_)until($|_)|(^|_)ttl($|_)|(^|_)ok_(percent|pct|ratio|rate|fraction)|"
    r"(^|_)(succ|sr)($|_)|(^|_)brokers$|active_servers|can_connect$|"
    # what a server can still take on: Puma's `pool_capacity` (threads free for
    # requests), the spare workers or threads of a pool
    r"pool_capacity|(^|_)spare(_|$)|"
    # an agent or a node that is up (OpenStack's agents, 1 up; a Galera node ready)
    r"agent_state$|wsrep_ready$"
)
_ALARM = re.compile(r"(^|_)(alarms?|alerts?_firing|in_alarm)(_|$)")
"""A flag an exporter raises (1) while a condition holds, whatever the condition's words
say: RabbitMQ's `rabbitmq_alarms_free_disk_space_watermark` is 1 when free disk ran
short (and publishers are blocked), not a free-space reading falling."""
# Separators other exporters use where Prometheus has "_": StatsD/Datadog/OpenTelemetry
# dots, hyphens, slashes, spaces; and camelCase (JMX, many KPI exports). The catalogue
# reads the name with all of them as "_", so that `(^|_)` token boundaries hold.
_SEP = re.compile(r"[.\-\s/:]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def normalize_name(name: str) -> str:
    """A metric name as the catalogue reads it: lower case, "_" between words."""
    return _SEP.sub("_", _CAMEL.sub("_", name)).lower()


_REQUESTS = re.compile(r"request|response|http|rpc|grpc|handl|operation|messag|proxy|(^|_)calls?_")
_START_TIME = re.compile(r"(^|_)(start|boot)_time_seconds$|^node_time_seconds$")
_TIMER_SUM = re.compile(r"(^|_)(seconds|milliseconds|ms|duration|latency)_sum$")


def timer_sum(name: str) -> bool:
    """A timer's `_sum` (time spent, seconds of work a second), not a duration per call:
    read alone it grows with more calls as much as with slower ones."""
    return bool(_TIMER_SUM.search(normalize_name(name)))


# Shapes, by name (values confirm them where a name cannot: see `metrics.counter_like`).
_COUNTER = re.compile(
    r"(_total|_count|_sum|_bucket|_seconds_total|_bytes_total)$"
    # counters their exporters name without the suffix: ingress-nginx's requests,
    # postgres_exporter's pg_stat_database columns, mysqld_exporter's status counters
    r"|^nginx_ingress_controller_requests$"
    r"|^pg_stat_database_(xact_commit|xact_rollback|tup_[a-z]+|blks_(read|hit)|deadlocks"
    r"|conflicts|temp_(files|bytes))$"
    r"|^mysql_global_status_(questions|queries|slow_queries|aborted_[a-z]+|com_[a-z_]+)$"
)
_LEVEL_COUNT = re.compile(r"(?<!seconds)(?<!milliseconds)(?<!bytes)(?<!duration)(?<!size)_count$")
"""A `_count` of connections, sessions or workers is how many there are now (postgres'
`pg_stat_activity_count`), a level, not events counted: unless a histogram or summary
names it (`hikaricp_connections_acquire_seconds_count` counts acquisitions)."""
_EVENT_LOOP = re.compile(r"event_?loop_?(lag|delay|utili[sz]ation|blocked|busy)")
_PERCENT = re.compile(r"percent|pct|_perc$|(^|_)percentage")
_RATIO = re.compile(r"(^|_)ratio|fraction|(^|_)rate_of|utili[sz]ation|saturation")
_EXPIRY_TS = re.compile(r"expiry|expiration|not_?after|expire(s|_at|_time)|valid_until")
_COUNTDOWN = re.compile(
    r"remaining|(^|_)left($|_)|(^|_)until($|_)|(^|_)ttl($|_)|time_to_expir|days_to|expires_in"
)
_UPDOWN = re.compile(
    r"(^|_)up$|^up(_|$)|probe_success|(^|_)healthy?($|_)|status_ready|agent_state$|wsrep_ready$"
    r"|can_connect$"
)
# Scopes, by the exporter that names them.
_WIRE_ERRORS = re.compile(r"(^|_)(rx|tx|receive|transmit)_(errs|errors)(_|$)")
_NODE = re.compile(
    r"^node_|(^|_)node_(cpu|memory|network|load|disk|filesystem)|^machine_|^host_|"
    r"^system_(cpu|mem|net|load|disk|filesystem|paging|swap)"  # OTel hostmetrics, Datadog
)
_PROBE = re.compile(r"^probe_")
_CONTAINER = re.compile(r"^container_|^kube_pod_container")
_REASON_LABELS = (
    "reason",
    # Istio's gRPC status, numeric: a gRPC call's HTTP `response_code` is 200 whether
    # it succeeded or not (`grpc_response_status="14"` is Unavailable); empty for HTTP
    "grpc_response_status",
    "code",
    "response_code",
    "envoy_response_code",  # Envoy's own stats (tag extraction of `upstream_rq_503`)
    "status_code",
    "grpc_code",
    "http_response_status_code",  # OpenTelemetry HTTP semantic conventions (1.21+)
    "http_status_code",  # OpenTelemetry, before 1.21
    "rpc_grpc_status_code",  # OpenTelemetry RPC: the numeric gRPC code
    "status",
    # classes of status codes: recording rules (`code_class="5xx"`), Istio
    # (`response_code_class`), Micrometer (`outcome="SERVER_ERROR"`)
    "code_class",
    "response_code_class",
    "envoy_response_code_class",  # Envoy's own stats: "5" for `upstream_rq_5xx`
    "status_class",
    "http_status_class",
    "outcome",
    "classification",  # Linkerd's proxy: `response_total{classification="failure"}`
    "result",  # `outbound_requests_total{result="error"}`
    "event_outcome",  # Elastic APM's span metrics (`event.outcome="failure"`)
    "httpstatusgroup",  # Azure Front Door / Application Gateway's `HttpStatusGroup`
    "rcode",  # CoreDNS's answers: SERVFAIL is the resolver failing the lookup
    # OpenTelemetry's `error.type`, set only on a call that failed: its status code when
    # there was one (read above, or as a status here), else what it failed with
    # (`timeout`, an exception's class, `_OTHER`)
    "error_type",
    # the socket error a connection closed with, set only when there was one (Linkerd's
    # `tcp_close_total{errno="ECONNREFUSED"}`)
    "errno",
)
_GRPC_FAILURES = frozenset(
    {
        "unavailable",
        "internal",
        "deadline_exceeded",
        "deadlineexceeded",
        "unknown",
        "resource_exhausted",
        "resourceexhausted",
        "data_loss",
        "dataloss",
    }
)
"""gRPC status names that mean the server failed or shed the call (not the caller's fault)."""
_SERVER_FAILURE = re.compile(r"5\d\d|5xx|5\.\.|server_?error|429|servfail")
"""A status (or status class) that says the server failed the request: 503, `5xx`,
PromQL's `5..`, Micrometer's `outcome="SERVER_ERROR"`; and 429, the server shedding it
(gRPC's ResourceExhausted, which `_GRPC_FAILURES` counts, is 429 over HTTP: a
third-party API's rate limit fails its callers' calls as a 503 would); a DNS server's
SERVFAIL (it could not answer; NXDOMAIN is an answer, and search paths make many)."""
_FAILED_STATUS = frozenset(
    {"error", "errors", "failure", "failed", "fail", "fault", "io_error", "status_code_error"}
)
"""A request counter's status in words (`status="error"`, `result="failure"`, Micrometer's
client `status="IO_ERROR"`: no answer came; a span's status as the OpenTelemetry
Collector's spanmetrics connector and Tempo's metrics-generator label the calls they
count, `traces_span_metrics_calls_total{status_code="STATUS_CODE_ERROR"}`): the calls
that failed, not a container's exit (`reason="Error"` only says that)."""
_GRPC_FAILURE_NUMBERS = frozenset({"2", "4", "8", "13", "14", "15"})
"""The same, as numbers (`rpc.grpc.status_code`): Unknown, DeadlineExceeded,
ResourceExhausted, Internal, Unavailable, DataLoss."""


@dataclass(frozen=True, slots=True)
class SignalClass:
    family: str | None
    bad_up: bool
    """True when an increase is the bad direction."""
    shape: Shape = "gauge"
    scope: Scope = "service"
    known: bool = True
    """False: the catalogue does not know this signal (a generic anomaly, lower prior)."""
    floor: float = 0.0
    rel_floor: float = 0.002
    """The noise floor as a share of the series' level: 0.2% (a flat series' float noise
    is no event), MEMORY_REL_FLOOR for a memory gauge (`meaning_floor`)."""
    """The smallest change that means something for this signal, whatever its history
    (`meaning_floor`): a container flat at zero throttling that is throttled once a
    minute moved by 100σ of its own noise, and by nothing that slows a request."""


_BAD_STATES = frozenset(
    {
        "yellow",
        "red",
        "false",
        "unknown",
        "unhealthy",
        "critical",
        "down",
        "failed",
        "failing",
        "notready",
        "not_ready",
        "degraded",
    }
)
_GOOD_STATES = frozenset({"green", "true", "healthy", "up", "ready", "ok", "running"})


_POOL_LABELS = ("id", "pool", "jvm_memory_pool_name", "generation", "gc_heap_generation")
"""Where a runtime names the memory pool or heap generation a series is of: Micrometer's
`id="G1 Eden Space"`, the Prometheus Java client's `pool`, OpenTelemetry's
`jvm.memory.pool.name`, .NET's `generation="gen0"`."""
_YOUNG = re.compile(r"eden|survivor|nursery|young|^gen ?[01]$", re.IGNORECASE)


def same_pool(a: Mapping[str, str], b: Mapping[str, str]) -> bool:
    """Two series of one memory pool or area, where either names one (`_POOL_LABELS`,
    `area`): a JVM's Old Gen used against the Old Gen's maximum, not Metaspace's."""
    keys = (*_POOL_LABELS, "area")
    return all(a[k] == b[k] for k in keys if k in a and k in b)


def _young_pool(labels: Mapping[str, str]) -> bool:
    """The series is of a collector's young generation (`_POOL_LABELS`, `_YOUNG`)."""
    return any(_YOUNG.search(labels.get(k, "")) for k in _POOL_LABELS)


def _state_of(labels: Mapping[str, str]) -> bool | None:
    """For a health gauge exported one series per state (Elasticsearch's
    `cluster_health_status{color}`, kube-state-metrics' `kube_pod_status_ready
    {condition="true|false|unknown"}`): True when this series is a bad state's (its
    rising is bad), False for the good state's, None where no such label says."""
    for key in ("color", "condition"):
        v = labels.get(key, "").lower()
        if v in _BAD_STATES:
            return True
        if v in _GOOD_STATES:
            return False
    return None


_Q_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_Q_GROUPING = re.compile(
    r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", re.IGNORECASE
)
_Q_SELECTOR = re.compile(r"\{[^}]*\}|\[[^\]]*\]")
_Q_WORD = re.compile(r"(?<![\w.:])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:]|\s*\()")
_Q_KEYWORDS = frozenset(
    "by without on ignoring group_left group_right bool and or unless offset inf nan".split()
)
_Q_ARITHMETIC = re.compile(r"[-+*/%^]")
_Q_QUANTILE = re.compile(r"\s*histogram_quantile\s*\(")
_Q_MINUS_TIME = re.compile(r"^\s*\(?\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\)?\s*-\s*time\(\s*\)\s*$")


def query_metrics(query: str) -> list[str]:
    """The metric names a PromQL query reads, in order, each once: its selectors, without
    the functions, the grouping labels, the label matchers and the range durations."""
    q = _Q_SELECTOR.sub(" ", _Q_GROUPING.sub(" ", _Q_STRING.sub('""', query)))
    out: list[str] = []
    for w in _Q_WORD.findall(q):
        if w.lower() not in _Q_KEYWORDS and w not in out:
            out.append(w)
    return out


_Q_PIN = re.compile(r'(?:^|[{,])\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"')
_Q_BRACES = re.compile(r"\{([^}]*)\}")


@functools.lru_cache(maxsize=4096)
def query_pins(query: str) -> Mapping[str, str]:
    """The labels a PromQL query pins with an equality matcher (`direction="outbound"`),
    which every series it returns has had even where an aggregation dropped the label
    (`sum by (deployment) (…{direction="outbound"})`). A label pinned to two values (a
    ratio of inbound to outbound) is no pin; `=~` and `!=` pin nothing."""
    seen: dict[str, str | None] = {}
    for body in _Q_BRACES.findall(query):
        for key, value in _Q_PIN.findall(body):
            seen[key] = value if seen.get(key, value) == value else None
    return MappingProxyType({k: v for k, v in seen.items() if v is not None})


def label_or_pin(labels: Mapping[str, str], query: str, key: str) -> str:
    """A series' label, or where it has none the value its query pins (`query_pins`)."""
    value = labels.get(key)
    if value is not None:
        return value
    return query_pins(query).get(key, "") if query else ""


def _share_of(names: list[str], q: str) -> str | None:
    """`<part>_ratio` for a query dividing a count by the whole it is part of, named by
    a metric whose words it holds all of and more (`rate(container_cpu_cfs_throttled_
    periods_total) / rate(container_cpu_cfs_periods_total)`): a share, read as a ratio.
    Not a metric over itself (`rate(x{code=~"5.."}) / rate(x)`): which share that is
    its selectors say, and they are gone from `q`. None for anything else (`bytes /
    1024`, a sum of several, a product)."""
    parts = q.split("/")
    if len(parts) != 2 or re.search(r"[-+*%^]", q):
        return None
    top = [n for n in names if re.search(rf"\b{re.escape(n)}\b", parts[0])]
    bottom = [n for n in names if re.search(rf"\b{re.escape(n)}\b", parts[1])]
    if len(top) != 1 or len(bottom) != 1:
        return None
    part, whole = top[0], bottom[0]
    if set(whole.split("_")) < set(part.split("_")):
        return f"{part}_ratio"
    return None


def query_reading(query: str) -> str | None:
    """The name a series is read by when its own name is no metric (a recording rule,
    a file named `21_gosql_in_use`) but its query is: the one metric the query reads
    (`sum by (pod) (rate(go_sql_stats_connections_waited_for[1m]))`). An expiry
    timestamp less the time (`probe_ssl_earliest_cert_expiry - time()`) is the seconds
    remaining, a countdown. A query that reads several metrics (a ratio, a join) says
    no one of them: None."""
    q = _Q_SELECTOR.sub("", _Q_STRING.sub('""', query))
    m = _Q_MINUS_TIME.match(q)
    if m is not None:
        return f"{m.group(1).removesuffix('_seconds')}_seconds_remaining"
    names = query_metrics(query)
    share = _share_of(names, _Q_GROUPING.sub(" ", q))
    if share is not None:
        return share
    if len(names) != 1 or _Q_ARITHMETIC.search(_Q_GROUPING.sub(" ", q)):
        # `1 - idle`, `x * 100`, `bytes / 1024`: not the metric's own reading
        return None
    if _Q_QUANTILE.match(q):
        return names[0].removesuffix("_bucket")  # a quantile of the histogram's values
    return names[0]


class FamilyMatcher:
    """The compiled catalogue; caches per name because a bundle repeats names a lot.

    A series named by its file or its recording rule (`21_gosql_in_use`,
    `job:errors:rate5m`) is read by the metric its query reads where its own name says
    nothing the catalogue knows, or where the query tells a timestamp or a countdown that
    the name cannot, or that it was measured on a machine (`read_queries`,
    `query_reading`)."""

    def __init__(self, overrides: Mapping[str, list[str]] | None = None):
        pats = {k: list(v) for k, v in DEFAULT_PATTERNS.items()}
        for fam, extra in (overrides or {}).items():
            # An override replaces the family's patterns; a new family is appended.
            pats[fam] = list(extra)
        order = [f for f in FAMILIES if f in pats] + [f for f in pats if f not in FAMILIES]
        self._compiled = [
            (fam, re.compile("|".join(f"(?:{p})" for p in pats[fam]))) for fam in order
        ]
        self._cache: dict[str, SignalClass] = {}
        self._reads_as: dict[str, str] = {}

    def read_queries(self, series: Iterable[Series]) -> None:
        """Learn, for each series name, the name its query says it is read by
        (`query_reading`): where the name is unknown to the catalogue and the query's
        metric is known, or where the query's metric is of the name's family and an
        expiry timestamp or a countdown, which a name like `03_ssl_expire` does not
        tell. A name is read one way for every series of it: the first query wins."""
        for s in series:
            if not s.query or s.name in self._reads_as or not s.promql:
                continue
            alias = query_reading(s.query)
            if alias is None or alias == s.name:
                self._reads_as[s.name] = s.name
                continue
            own, other = self.classify(s.name), self.classify(alias)
            # the same family, in the shape a timestamp or a countdown has, which a name
            # like `03_ssl_expire` cannot tell, or measured on a machine, which
            # `13_node_retrans` does not say (node_exporter's retransmits are a node's)
            sharper = own.family == other.family and (
                (other.shape in ("countdown", "expiry_ts") and own.shape in ("gauge", "expiry_ts"))
                or (other.scope == "node" and own.scope == "service")
                # a share of a whole (`throttled / periods`), which `cpu_throttle` hides
                or (other.shape == "ratio" and own.shape == "gauge")
            )
            if other.known and (not own.known or sharper):
                self._reads_as[s.name] = alias
            else:
                self._reads_as[s.name] = s.name

    def reads_as(self, name: str) -> str:
        """The name `name` is read by (itself, unless `read_queries` learned otherwise)."""
        return self._reads_as.get(name, name)

    def classify(self, name: str, labels: Mapping[str, str] | None = None) -> SignalClass:
        name = self._reads_as.get(name, name)
        reason = ""
        numeric_rpc = False
        why = False  # the value is a container's reason (kube-state-metrics), not a status
        if labels:
            # kube-state-metrics / mesh style: the telling bit is in a label value
            for key in _REASON_LABELS:
                if labels.get(key):
                    reason = labels[key]
                    numeric_rpc = key in ("rpc_grpc_status_code", "grpc_response_status")
                    why = key == "reason"
                    if key == "errno" or (key == "error_type" and not reason.isdigit()):
                        reason = "failed"  # no answer, or none that a status says
                    if key.endswith("_class") and reason.isdigit() and len(reason) == 1:
                        reason += "xx"  # Envoy names the class by its digit: "5" is 5xx
                    break
        state = _state_of(labels) if labels else None
        young = labels is not None and _young_pool(labels)
        key = f"{name}|{reason}|{numeric_rpc}|{why}|{state}|{young}"
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        raw = name.lower()
        text = normalize_name(name)
        fam: str | None = None
        for f, rx in self._compiled:
            # the normalized name, or the name as written (a profile's own pattern may
            # spell its dots)
            if rx.search(text) or rx.search(raw):
                fam = f
                break
        if _EVENT_LOOP.search(text):
            # a runtime's event loop running late or busy (Node's eventloop lag, delay,
            # utilization): its one thread has no time left, CPU saturation, however
            # its unit reads like a latency
            fam = "cpu"
        if fam == "connections" and _CONN_EVENTS.search(text):
            # connections opened or closed (RabbitMQ's `connections_closed_total`,
            # Django's `db_new_connections_total`, Redis' connections received): events
            # counted, not connections held at once. Those a server received are
            # demand, as accepted ones are; a client's pool making new ones and anyone
            # closing them is churn, of no family
            fam = None if _CONN_CHURN.search(text) else "traffic"
        if fam == "memory" and young:
            # a garbage collector's young generation (a JVM's Eden and Survivor spaces,
            # .NET's gen0/gen1): filled and emptied every few seconds by design, its use
            # says how fast the program allocates, not that memory runs short
            fam = None
        if fam == "cpu" and _CFS_PERIODS.search(text) and not _THROTTLED.search(text):
            # the scheduler periods a container ran in (cAdvisor's
            # `container_cpu_cfs_periods_total`): the whole its throttled share is of;
            # more of them is more activity, no limit reached
            fam = None
        if fam == "errors" and _WIRE_ERRORS.search(text):
            # a network interface's errors (cAdvisor's `container_network_receive_errors`):
            # frames and packets that failed, not requests
            fam = "network"
        if fam == "latency" and text.endswith("_count") and _REQUESTS.search(text):
            fam = "traffic"  # a request-duration histogram's count: how many, not how long
        if fam in (None, "traffic") and _TIMER_SUM.search(text):
            # a timer's `_sum` is time spent (seconds of work a second), not requests:
            # it grows with slower calls as much as with more of them
            fam = "latency"
        r = reason.lower()
        if r:
            if "crashloop" in r or "oomkill" in r or (why and r == "error"):
                fam = "restarts"  # a container that exited with an error (`reason="Error"`)
            elif (_SERVER_FAILURE.fullmatch(r) or r in _FAILED_STATUS) and fam in (
                None,
                "traffic",
                "errors",
            ):
                # the requests that failed: `_count{code="503"}` of a request-duration
                # histogram too (read as traffic above)
                fam = "errors"
            elif (r in _GRPC_FAILURES or (numeric_rpc and r in _GRPC_FAILURE_NUMBERS)) and fam in (
                None,
                "traffic",
            ):
                fam = "errors"
            elif r == "noerror" and fam == "network":
                fam = "traffic"  # a DNS server's answered lookups: demand, not a fault
            elif r in ("miss", "misses") and fam == "traffic":
                # a cache's lookups that found nothing (memcached_exporter's
                # `commands_total{status="miss"}`): not demand; more of them says the
                # cache lost what it held (a restart, a flush, evictions), as Redis'
                # `keyspace_misses` says, read as a signal of no family
                fam = None
        if _START_TIME.search(text):
            # a timestamp, not a duration: it moves when the process starts again (a
            # rollout as much as a crash), so it says "something restarted", no kind
            fam = None
        bad_up = not bool(_DOWN_IS_BAD.search(text)) or bool(_ALARM.search(text))
        if fam == "availability" and state is not None:
            # one series per state, 1 for the state it is in: the bad state's rising
            # is the trouble, the good one's falling is (`_state_of`)
            bad_up = state
        shape = _shape(text, fam)
        if fam == "errors" and re.search(r"(?<!un)success", text):
            bad_up = False
            if shape == "counter":
                # a count of calls that succeeded (`transaction.success.count`) is
                # demand: fewer of them is fewer calls as much as more failures, and a
                # new version given a tenth of the traffic has a tenth of them
                fam, bad_up = "traffic", True
                shape = _shape(text, fam)
        out = SignalClass(
            family=fam,
            bad_up=bad_up,
            shape=shape,
            scope=_scope(text),
            known=fam is not None,
            floor=meaning_floor(text, fam, shape),
            rel_floor=rel_floor(text, fam, shape, _scope(text)),
        )
        self._cache[key] = out
        return out


SHARE_FLOOR = 0.002
"""A share of requests (success or errors, as a percent or a ratio) has a noise floor of
this fraction of its full scale, whichever way it is expressed: 99.6% success and 0.4%
errors are one measurement, and the floor of the first (0.2% of its level) must not
vanish from the second because its level is near zero (`metrics.share_floor`; the
canary comparison's error shares too, `changes._version_harm`)."""
THROTTLED_PERIODS_FLOOR = 0.5
"""Throttled CFS periods a second that matter: 5% of the 10 periods a second of the
kernel's default 100 ms period (`cpu.cfs_period_us`)."""
THROTTLED_SECONDS_FLOOR = 0.05
"""Seconds throttled a second that matter: 50 ms of every second."""
MEMORY_REL_FLOOR = 0.02
"""Memory in use (bytes, a working set, a heap) moves with load, caches and collections:
a rise under 8% of its level (4σ at a floor of 2%) says nothing about saturation,
however flat its few points before were (seven 5-minute points of a pod at 435 MB made
461 MB a 30σ "saturation" at confidence .98). Shares of a limit (percent, ratio) keep
their own history's floors: 30.2% → 30.5% of one nezha-ob pod's limit is that pod's."""
CPU_REL_FLOOR = 0.05
"""CPU in use (cores, CPU-seconds a second, nanocores) moves with every request: a rise
under a fifth of its level (4σ at a floor of 5%) is the service being busier, not
running out (Datadog's `kubernetes.cpu.usage.total` 156M → 193M nanocores on twelve
5-minute points read as a .91 saturation while a DNS server failed). Shares of a limit
and throttling keep their own floors."""


def rel_floor(text: str, fam: str | None, shape: str, scope: str) -> float:
    """The noise floor of a series as a fraction of its level, by what it measures: a
    memory gauge `MEMORY_REL_FLOOR`, a workload's CPU in use `CPU_REL_FLOOR`, else
    0.2%. A node's CPU readings are not all in use (Datadog's `system.cpu.user` is a
    percent by another name, `node_load1` a queue): they keep their history's floor."""
    if fam == "memory" and shape == "gauge":
        return MEMORY_REL_FLOOR
    cpu_in_use = fam == "cpu" and shape in ("gauge", "counter") and scope != "node"
    if cpu_in_use and not _THROTTLED.search(text):
        return CPU_REL_FLOOR
    return 0.002


THROTTLED_SHARE_FLOOR = 0.01
"""A throttled share of CFS periods (a ratio recording rule) that matters: one point of
the scale (a 4σ anomaly is then 4% of periods or more). Utilisation shares keep the
floors of their own history: memory flat at 30.20% that steps to 30.50% on one pod of
nezha-ob is that pod's, and a floor here shifted what the engine learns from it."""
_CONN_EVENTS = re.compile(
    r"(^|_)(new|opened|created|received|established|closed)_conn"
    r"|conn(ection)?s?_(opened|created|creation|received|established|closed)"
    # clients that connected, as a rate or a running total (EMQX's `client.connected`
    # hook counter): arrivals, where `redis_clients_connected` is how many are now
    r"|(^|_)connected_(rate|total|per_(second|sec|s)|ps)$"
)
_CONN_CHURN = re.compile(
    r"(^|_)(new|created|closed)_conn|conn(ection)?s?_(created|creation|closed)"
)
_THROTTLED = re.compile(r"throttl")
_CFS_PERIODS = re.compile(r"cfs_periods|nr_periods")
_THROTTLED_PERIODS = re.compile(r"throttled_periods")
_THROTTLED_SECONDS = re.compile(r"throttled_(seconds|time|usec|us)")


LIMIT_OF: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = tuple(
    (re.compile(use), re.compile(limit))
    for use, limit in (
        (r"^pg_stat_activity_count$", r"^pg_settings_max_connections$"),
        (r"^pg_stat_database_numbackends$", r"^pg_settings_max_connections$"),
        (r"^postgresql_backends$", r"^postgresql_connection_max$"),  # OpenTelemetry's
        (
            r"^mysql_global_status_threads_(connected|running)$",
            r"^mysql_global_variables_max_connections$",
        ),
        # Telegraf's mysql input, with its global variables gathered
        (r"^mysql_threads_(connected|running)$", r"^mysql_variables_max_connections$"),
        (r"^redis_connected_clients$", r"^redis_config_maxclients$"),
        (r"^memcached_current_connections$", r"^memcached_max_connections$"),
        (r"^hikaricp_connections(_active)?$", r"^hikaricp_connections_max$"),
        (r"^tomcat_threads_(busy|current)(_threads)?$", r"^tomcat_threads_config_max(_threads)?$"),
        (r"^go_sql_stats_connections_in_use$", r"^go_sql_stats_connections_max_open$"),
        # a process' file descriptors (every Prometheus client library's defaults)
        (r"^process_open_fds$", r"^process_max_fds$"),
        # a JVM's memory by pool or area and the most it may take (Micrometer, the
        # Prometheus Java client, OpenTelemetry's runtime metrics)
        (r"^jvm_memory_used_bytes$", r"^jvm_memory_max_bytes$"),
        (r"^jvm_memory_bytes_used$", r"^jvm_memory_bytes_max$"),
        (r"^jvm_memory_pool_bytes_used$", r"^jvm_memory_pool_bytes_max$"),
        (r"^jvm_memory_used(_bytes)?$", r"^jvm_memory_limit(_bytes)?$"),
        (r"^process_runtime_jvm_memory_usage$", r"^process_runtime_jvm_memory_limit$"),
    )
)
"""A count of things held at once, or memory in use, and the limit its exporter reports
beside it: a pool or a server's connections are exhausted at their limit, a JVM's old
generation full at its maximum, not at a rise far below it."""


def limit_name(name: str) -> re.Pattern[str] | None:
    """The pattern of the limit series that goes with a usage series `name`, if any."""
    n = normalize_name(name)
    return next((lim for use, lim in LIMIT_OF if use.search(n)), None)


STATUS_LABELS: tuple[str, ...] = tuple(k for k in _REASON_LABELS if k != "reason")
"""Labels that split a request metric by how the calls ended (`code`, `status`,
`code_class`, `outcome`, …)."""


_OUTBOUND_NAME = re.compile(
    r"(^|_)client_(requests?|calls?|rpcs?|operations?|duration)|^grpc_client_|_client_started"
    r"|(^|_)(external|outbound|outgoing|egress)_(http_)?(requests?|calls?|rpcs?)(_|$)"
    # an application's lookups in its cache (`cache_gets_total{result="miss"}`,
    # `<app>_cache_operations_total`): calls it makes, retried after a failover
    r"|(^|_)cache_(gets?|puts?|operations?|lookups?|requests?|calls?)(_|$)"
)
_OUTBOUND_LABELS = ("direction", "traffic_direction", "flow")
_ENVOY_UPSTREAM = re.compile(r"^envoy_cluster_(upstream_rq|upstream_cx|external_upstream_rq)")
_ENVOY_CLUSTER_LABELS = ("envoy_cluster_name", "cluster_name")
_LOCAL_CLUSTER = re.compile(r"^(local_app|inbound\b|inbound\||self$)")
"""Envoy clusters that are the sidecar's own application: Consul Connect's `local_app`,
Istio's `inbound|8080||`. Any other cluster is a service the application calls."""


def outbound(name: str, labels: Mapping[str, str], query: str = "") -> bool:
    """A request metric that counts the calls a service makes, not the ones it serves:
    Micrometer's `http_client_requests_seconds_count`, `grpc_client_started_total`,
    a timer of outside calls (`external_request_duration_seconds`, `outbound_requests`),
    an application's lookups in its cache (Micrometer's `cache_gets`),
    a mesh proxy's `direction="outbound"` (Linkerd; in its labels or pinned by its
    `query`), an Envoy sidecar's `envoy_cluster_upstream_rq*` to any cluster but its own
    application's (`local_app`, `inbound|…`). More of them is retries or a wider
    fan-out, not demand at the service."""
    text = normalize_name(name)
    if _OUTBOUND_NAME.search(text):
        return True
    if any(
        label_or_pin(labels, query, k).lower() in ("outbound", "egress") for k in _OUTBOUND_LABELS
    ):
        return True
    if _ENVOY_UPSTREAM.search(text):
        # a sidecar's requests to a cluster: the calls its application makes, unless
        # the cluster is the application itself (the requests it serves)
        cluster = next((labels[k] for k in _ENVOY_CLUSTER_LABELS if labels.get(k)), "")
        return bool(cluster) and not _LOCAL_CLUSTER.match(cluster.lower())
    return False


def share_whole(shape: str, *values: float) -> float:
    """What a share of a whole is a share of: 100 for a percent that passed 1 somewhere
    in `values`; 1 for a ratio, and for a "percent" that never did (Datadog documents
    its `kubernetes.filesystem.usage_pct` "shown as fraction": 0.93 is nearly full)."""
    return 100.0 if shape == "percent" and max(values, default=0.0) > 1.0 else 1.0


def born_status(labels: Mapping[str, str], baseline: float) -> bool:
    """One status of a request metric whose series was born in the window (its baseline
    is 0: Prometheus makes a series when it first sees its labels). Alone it says which
    calls ended so, not that demand rose: 0 → 0.03 requests a second of 404s is two a
    minute, however many σ; the service's total (`metrics.demand_totals`) says whether
    demand rose."""
    return baseline <= 0.0 and any(labels.get(k) for k in STATUS_LABELS)


def meaning_floor(text: str, fam: str | None, shape: Shape) -> float:
    """`SignalClass.floor` for a normalized name: CPU throttling by the share of
    scheduler periods (or seconds) it costs; 0 (none) for everything else."""
    if fam != "cpu" or not _THROTTLED.search(text):
        return 0.0
    if shape == "ratio":
        return THROTTLED_SHARE_FLOOR
    if shape == "percent":
        return THROTTLED_SHARE_FLOOR * 100.0
    if _THROTTLED_PERIODS.search(text):
        return THROTTLED_PERIODS_FLOOR
    if _THROTTLED_SECONDS.search(text):
        return THROTTLED_SECONDS_FLOOR
    return 0.0


def _shape(text: str, fam: str | None) -> Shape:
    if fam == "certificates" and _EXPIRY_TS.search(text) and not _COUNTDOWN.search(text):
        return "expiry_ts"
    if _COUNTDOWN.search(text):
        return "countdown"
    if _UPDOWN.search(text):
        return "updown"
    if _COUNTER.search(text) and not (fam == "connections" and _LEVEL_COUNT.search(text)):
        return "counter"
    if _PERCENT.search(text):
        return "percent"
    if _RATIO.search(text):
        return "ratio"
    return "gauge"


def _scope(text: str) -> Scope:
    if _NODE.search(text):
        return "node"
    if _PROBE.search(text):
        return "probe"
    if _CONTAINER.search(text):
        return "container"
    if text.startswith("pod_") or text.startswith("kube_pod"):
        return "pod"
    return "service"


def countdown_seconds(name: str) -> float:
    """The unit of a countdown gauge, in seconds (days/hours/minutes left)."""
    t = name.lower()
    if "day" in t:
        return 86400.0
    if "hour" in t:
        return 3600.0
    if "minute" in t:
        return 60.0
    if t.endswith("_ms") or "millis" in t:
        return 0.001
    return 1.0


# Log message patterns that speak about a family (used to type log evidence).
DOWN_LOG = (
    r"connection refused|connect: connection refused|econnrefused|"
    r"could not connect|unable to connect|failed to connect|connection to .* failed|"
    r"connection to \S+ refused|service unavailable|"
    r"name or service not known|no healthy upstream|upstream connect error|"
    # what client libraries say when they cannot reach their server: MySQL Connector/J's
    # `Communications link failure`, libmemcached's `CONNECTION FAILURE` and `SERVER IS
    # MARKED DEAD` / `… DISABLED UNTIL TIMED RETRY`, the Kafka client's `Connection to
    # node 1 (…) could not be established. Broker may not be available.`, the MongoDB C
    # driver's `No suitable servers found`, libpq's `server closed the connection
    # unexpectedly` (the server process terminated)
    r"communications link failure|connection failure|marked (as )?dead|"
    r"disabled until timed retry|could not be established|broker may not be available|"
    r"no suitable servers? found|server closed the connection unexpectedly"
)
"""A client that could not reach the server at all: refused, unreachable, no upstream;
or a server that turned it away unserved (`503 Service Unavailable`)."""
RETRY_LOG = (
    r"retr(y|ying|ied)\b.*\b(after|due to|because of)\b.*"
    r"(error|fail|timeout|timed out|refused|reset|unavailable)|"
    r"retries exhausted|giving up on"
)
"""A client retrying the server it names, or giving up on it: the call failed, though
the line does not say the server is down (`analyzers.dependency.find_dead` counts it
as much as a timeout, less than a refused connection). Read only when no family of
`LOG_FAMILY_PATTERNS` says more (`LOG_FALLBACK_PATTERNS`). Not urllib3's `Max retries
exceeded`: it wraps whatever failed (`… Temporary failure in name resolution` is the
resolver's), which its template masks."""

READ_ONLY_LOG = (
    r"--read-only|read[- ]only (?:option|mode|replica|transaction)|"
    r"write against a read only|not ?writable ?primary|\bnot master\b|"
    r"fewer in-sync replicas than required|not_?enough_?replicas"
)
"""A store that refuses writes: MySQL's `--read-only` option (error 1290), PostgreSQL's
`cannot execute … in a read-only transaction` on a standby, Redis' `READONLY You can't
write against a read only replica`, MongoDB's `NotWritablePrimary` / `not master`,
Kafka's `NotEnoughReplicasException` (`Messages are rejected since there are fewer
in-sync replicas than required`: brokers down below `min.insync.replicas`). A failover
gone wrong, writes sent to a replica, or too few replicas left: the store is failing
its callers, though it is up."""

LOG_FAMILY_PATTERNS: dict[str, str] = {
    "certificates": r"x509|certificate|ssl|tls handshake|cert(ificate)? (has )?expired|"
    r"unknown[ _]ca\b",
    "restarts": r"back-?off restarting|crashloop|oomkilled|panic:|segmentation fault|"
    r"fatal error|exited with code|killed|core dumped|"
    # a process manager restarting what died (`logs._SUPERVISOR_RESTARTS`)
    r"restart counter is at|repeated too quickly|too many start retries|"
    # (Windows' Service Control Manager: `The X service terminated unexpectedly`; not a
    # client's `Connection terminated unexpectedly`, node-postgres' lost connection)
    r"service terminated unexpectedly|automatically disabled due to a series of failures|"
    # .NET's and Windows' own word that a process died: the runtime's unhandled
    # exception (event 1026), Windows Error Reporting's faulting application (1000),
    # IIS' worker process lost (WAS 5011)
    r"process was terminated due to an unhandled exception|faulting application name|"
    r"suffered a fatal communication error",
    "connections": r"pool (is )?exhausted|too many connections|connection pool|"
    r"max_connections|remaining connection slots|could not obtain connection",
    "disk": r"no space left|disk (is )?full|read-only file system|quota exceeded|inode|"
    r"disk watermark|flood.stage",
    "memory": r"out ?of ?memory|outofmemory|gc overhead|heap space|memory limit",
    "cpu": r"cpu throttl|high cpu|thread starvation|event ?loop (lag|delay|blocked)",
    "dependency": DOWN_LOG,
    "network": r"i/o timeout|no route to host|connection reset|network is unreachable|"
    r"broken pipe|packet loss|dns|temporary failure in name resolution|econnreset|"
    r"timed out|timeout|"
    # a name lookup the resolver failed to answer (Go's, Node's); a name it said does
    # not exist (`no such host`, `ENOTFOUND`) is no fault of the network
    r"server misbehaving|eai_again",
    "traffic": r"rate limit|too many requests|429|queue full|load shedding|overload",
}
LOG_GUARDED_PATTERNS: dict[str, tuple[str, tuple[str, ...]]] = {
    # a store refusing writes, or turning callers away busy (Azure's `ServerBusy`)
    "dependency": (
        READ_ONLY_LOG + r"|server ?busy",
        ("read", "master", "writable", "replicas", "busy"),
    ),
    # `oom` as a word or a kill (`OOM command not allowed`, `oom-kill`, `OOMKilling`),
    # not inside one (`TooManyRequests`, `zoom`, `no room`)
    "memory": (r"\boom(?![a-z])|\boom[-_ ]?kill", ("oom",)),
    # a store's provisioned capacity run out, in its own words (DynamoDB's
    # `ProvisionedThroughputExceededException` and `Throughput exceeds the current
    # capacity of your table or index`, Cosmos DB's `Request rate is large`, where the
    # line does not also say 429, read as throttling first): read as its CPU, as the
    # metrics of the capacity it consumed are
    "cpu": (
        r"provisionedthroughputexceeded|throughput exceeds the current capacity"
        r"|request rate is large",
        ("throughput", "request rate"),
    ),
}
"""Families a line has by a pattern tried only on lines holding one of its words
(lower-cased): read after `LOG_FAMILY_PATTERNS`, and cheap on the lines without them
(a million distinct error lines pay one substring test each, not the regex)."""
LOG_FALLBACK_PATTERNS: dict[str, str] = {"dependency": RETRY_LOG}
"""Families a line has when none of `LOG_FAMILY_PATTERNS` matches it."""
