"""Dead dependencies: `up == 0` / `probe_success == 0`, silence, and callers saying so.

Three independent signals point at a dependency that is down:

* an availability series (`up`, `probe_success`, ...) of that service falls to zero;
* every series of that service stops (`find_silent`): Prometheus writes a staleness
  marker when a scrape fails, so a target that is down has no points from then on,
  while every other service's series go on;
* its callers log "connection refused" (or similar) *naming it*: we look for known
  service names inside the error lines of the dependency log family (their template
  and example lines: a template masks the host). The service
  names come from the topology and the metrics, never from the log text itself, so
  a log line cannot invent a new suspect;
* its callers' own client metrics count its failed answers: an OpenTelemetry
  `http.client.*` series with `server.address` and a 5xx status, a mesh's
  `reporter="source"` series with the destination and its response code
  (`metric_edges.peer_of` names the peer). A third-party API (`api.stripe.com`) has no
  series of its own; its callers measure it.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from aisre_cli.investigate.analyzers.changes import OWN_TIMEOUT_S
from aisre_cli.investigate.analyzers.logs import LogFinding
from aisre_cli.investigate.analyzers.metric_edges import is_client_side, peer_of, words_begin
from aisre_cli.investigate.analyzers.metrics import KIND_WORDS as _KIND_WORDS
from aisre_cli.investigate.analyzers.metrics import TOTAL_QUERY, MetricFinding, median
from aisre_cli.investigate.families import DOWN_LOG, READ_ONLY_LOG, FamilyMatcher, outbound
from aisre_cli.model import LogTable, Series, Topology


@dataclass(slots=True)
class Silence:
    """Every series of a service stopped at `last` while others went on to `end`."""

    last: float
    step: float
    end: float
    series: Series
    """One of its series (the longest), to cite."""
    n: int
    """How many series it has."""


@dataclass(slots=True)
class DependencyFinding:
    service: str
    strength: float
    onset: float
    metric: MetricFinding | None = None
    logs: list[LogFinding] = field(default_factory=list)
    callers: list[str] = field(default_factory=list)
    silence: Silence | None = None
    unreachable: bool = True
    """Something says it is down or cannot be reached (a failed availability reading,
    silence, a refused connection); False when only its callers' timeouts and retries
    say their calls to it fail (it may be slow or failing, not down)."""
    answered: bool = False
    """Only its callers' new errors naming it say anything (`what it returned`, `from
    X`): no call to it failed as a call; it answered, and what it answered broke them."""
    client: list[MetricFinding] = field(default_factory=list)
    """Its callers' client-side error readings that name it (`_measured_by_callers`)."""
    slow: bool = False
    """Only the probes of it say anything: they take longer (`SLOW_SHARE`)."""


def without_bygone(
    dead: dict[str, DependencyFinding],
    recent: dict[str, DependencyFinding],
    recent_logs: list[LogFinding],
    metrics: list[MetricFinding],
) -> dict[str, DependencyFinding]:
    """`dead`, where a dependency shows nothing going on of its own (no bad reading, no
    new or spiking log line of its own among `recent_logs`: those not over well before
    the page, `logs.over_before`), read as `recent` reads it: from its callers' errors
    among `recent_logs` only (without a restart's minute of refused connections ten
    minutes before the page), or not at all. It came back; the page is about something
    else. One whose own lines went on (it restarted into a bad configuration) keeps every
    reading: the burst is when its trouble began."""
    going_on = {x.service for x in recent_logs} | {
        f.series.service for f in metrics if f.bad and f.series.service
    }
    out: dict[str, DependencyFinding] = {}
    for s, d in dead.items():
        keep = d if s in going_on else recent.get(s)
        if keep is not None:
            out[s] = keep
    return out


SLOW_SHARE = 0.5
"""A service measured only by the probes of it (an outside API, a public endpoint)
whose probes take longer is answering slowly: failing its callers' timeouts as a
dependency does, a weaker reading than one that does not answer at all."""


def probed_only(series: Iterable[Series]) -> set[str]:
    """Services whose every series is a probe of them (blackbox's `probe_*`, named by
    the target's URL): measured only from outside."""
    kinds: dict[str, bool] = {}
    for x in series:
        if x.service:
            kinds[x.service] = kinds.get(x.service, True) and x.name.startswith("probe_")
    return {svc for svc, only in kinds.items() if only}


SILENT_STEPS = 3
"""A service is silent when its last point is this many of its steps (and at least
SILENT_MIN_S) before the end of everyone else's data ..."""
SILENT_MIN_S = 120.0
SILENT_POINTS = 5
"""... and it reported at least this many points before (a series that has just been
born, or a one-off, says nothing by stopping)."""
SILENT_STRENGTH = 0.8
"""A target that stopped answering is down or unreachable, or its exporter is: strong,
not certain."""


def find_silent(
    series: list[Series], alert_ts: float, lookahead_s: float = 300.0
) -> dict[str, Silence]:
    """Services all of whose series stopped reporting before the others from the same
    kind of source did (`_source_of`: a cloud's monitoring API reports minutes late,
    a scrape at once), at most `lookahead_s` after the alert (a service that stops
    later is not what paged)."""
    last_of: dict[str, float] = {}
    source_of: dict[str, str] = {}
    steps: dict[str, list[float]] = {}
    longest: dict[str, Series] = {}
    count: dict[str, int] = {}
    ends: dict[str, float] = {}
    for s in series:
        tail = _finite_tail(s)
        if tail is None:
            continue
        last, step = tail
        src = _source_of(s)
        ends[src] = max(ends.get(src, -math.inf), last)
        if not s.service:
            continue
        svc = s.service
        if last >= last_of.get(svc, -math.inf):
            last_of[svc], source_of[svc] = last, src
        steps.setdefault(svc, []).append(step)
        count[svc] = count.get(svc, 0) + 1
        if svc not in longest or len(s.timestamps) > len(longest[svc].timestamps):
            longest[svc] = s
    out: dict[str, Silence] = {}
    for svc, last in last_of.items():
        step = median(steps[svc])
        end = ends[source_of[svc]]
        if end - last < max(SILENT_STEPS * step, SILENT_MIN_S) or last > alert_ts + lookahead_s:
            continue
        out[svc] = Silence(last, step, end, longest[svc], count[svc])
    return out


_CLOUD_MONITOR = re.compile(r"^(aws|azure|stackdriver|gcp)_")
"""Metrics a cloud's monitoring API reports (CloudWatch through YACE, Azure Monitor,
Google Cloud Monitoring through stackdriver_exporter): they arrive minutes after the
fact, so their last minutes are missing from a snapshot while scraped series have them."""


def _source_of(s: Series) -> str:
    """Which kind of source a series came from, as far as it reports late or not."""
    return "cloud" if _CLOUD_MONITOR.match(s.name) else "scrape"


def _finite_tail(s: Series) -> tuple[float, float] | None:
    """(last finite point's time, median step of the last points), or None for a series
    of fewer than SILENT_POINTS finite points. Reads from the end: cheap on long series."""
    ts: list[float] = []
    for t, v in zip(reversed(s.timestamps), reversed(s.values), strict=False):
        if math.isfinite(v):
            ts.append(t)
            if len(ts) > 2 * SILENT_POINTS:
                break
    if len(ts) < SILENT_POINTS:
        return None
    return ts[0], median([a - b for a, b in zip(ts, ts[1:], strict=False)])


def volumes(
    series: Iterable[Series], matcher: FamilyMatcher, before: float
) -> dict[str, dict[str, float]]:
    """service → {request metric: how many requests it served per step, typically,
    before `before`}: the median of each series it serves requests by (counters read as
    rates, as `prepare` leaves them), summed over its routes, statuses and pods, or its
    total where `prepare` made one. Not the calls it makes (`outbound`, a client-side
    series): those count another service's requests. A service reached by no more
    requests than a small share of its caller's is on the way of that share at most
    (`scene.reach`)."""
    made = {(s.service, s.name) for s in series if s.service and s.query.startswith(TOTAL_QUERY)}
    out: dict[str, dict[str, float]] = {}
    for s in series:
        if not s.service or matcher.classify(s.name, s.labels).family != "traffic":
            continue
        if outbound(s.name, s.labels, s.query) or is_client_side(s):
            continue
        if (s.service, s.name) in made and not s.query.startswith(TOTAL_QUERY):
            continue  # a member of a total already counted
        vals = [
            v
            for t, v in zip(s.timestamps, s.values, strict=False)
            if t < before and math.isfinite(v)
        ]
        if len(vals) < SILENT_POINTS:
            continue
        mine = out.setdefault(s.service, {})
        mine[s.name] = mine.get(s.name, 0.0) + max(0.0, median(vals))
    return out


_DOWN = re.compile(DOWN_LOG, re.IGNORECASE)
_READ_ONLY = re.compile(READ_ONLY_LOG, re.IGNORECASE)

STEADY = 0.5
"""Anomaly strength (z about 9.5) from which a fall to zero reads as "down" in full."""


@functools.lru_cache(maxsize=4096)
def _name_rx(name: str) -> re.Pattern[str]:
    """A service's name as a whole word, in lower case; a name of several words also
    as people write it in prose and code: `Carrier rates API returned 503`,
    `carrier_rates_api`, `carrier.rates.api` (a space, an underscore or a dot for the
    dash); and a name that ends in a word saying only what kind of thing it is
    (`_KIND_WORDS`) also by the rest, as its client's code and errors call it:
    `Postmark::UnexpectedHttpResponseError` is postmark-api's."""
    words = [re.escape(w) for w in re.split(r"[-_.]", name.lower()) if w]
    body = r"[-_. ]".join(words) if len(words) >= 2 else re.escape(name.lower())
    if len(words) >= 2 and words[-1] in _KIND_WORDS and sum(map(len, words[:-1])) >= 5:
        body = f"{body}|" + r"[-_. ]".join(words[:-1])
    # ... and as code names the client that calls it, in one identifier
    # (`PaymentClient`, `reservationStub`), and as an RPC's method names what it asks of
    # it (`GetRates` of rate, `MakeReservation` of reservation). Not a handler: it is
    # named after the request it serves (`searchHandler`), whatever it calls for it.
    code = "".join(words)
    named = f"(?:{body})(?![\\w-])"
    client = f"(?:{code}){_CODE_WORD}"
    method = f"{_RPC_VERB}(?:{code})s?(?![a-z])"
    return re.compile(f"(?<![\\w-])(?:{named}|{client}|{method})")


_SOURCE_FILES = frozenset(
    {"java", "kt", "scala", "py", "go", "js", "ts", "rb", "cs", "cpp", "cc", "h", "hpp", "rs"}
    | {"lua", "php", "ex", "exs", "erl"}
)
"""What a stack frame's `(Thread.java:833)` ends in: a file and a line, not a host."""


def at_port(hit: list[str], text: str) -> list[str]:
    """Of the services a failed call's line names, those it names by host and port
    where it names some so (`Failed to connect to Redis (user-timeline-redis:6379)`):
    a socket error names the peer it could not reach that way, and the other names
    are where it was raised (OpenResty's `[lua] compose-post.lua:76:`), or the caller."""
    if len(hit) < 2:
        return hit
    ported = [s for s in hit if re.search(rf"(?<![\w-]){re.escape(s)}:\d{{2,5}}\b", text, re.I)]
    return ported or hit


_CODE_WORD = r"(?:client|stub)s?(?![a-z])"
"""The word code names a peer's caller by, right after the peer's name in one identifier."""
_RPC_VERB = r"(?:get|list|make|create|update|delete|check|fetch)"
"""The verb an RPC method's name begins with, before the thing it asks the peer for."""


def named_in(lf: LogFinding, services: Iterable[str], logs: LogTable | None) -> list[str]:
    """Those of `services` the finding's template or example lines name (as whole
    words); its text is read once."""
    wanted = list(services)
    if not wanted:
        return []
    text = text_of(lf, logs)
    return [s for s in wanted if _name_rx(s).search(text)]


_SERVER_ANSWERED = re.compile(
    # Spring's RestTemplate and WebClient, OpenFeign, Python's requests and httpx, axios,
    # .NET's HttpClient, and the usual words of a client that checked the status
    r"HttpServerErrorException|WebClientResponseException\$(InternalServerError|BadGateway"
    r"|ServiceUnavailable|GatewayTimeout)|FeignException\$(InternalServerError|BadGateway"
    r"|ServiceUnavailable|GatewayTimeout)"
    r"|\b5\d\d Server Error\b|Server error '5\d\d|Request failed with status code 5\d\d"
    r"|does not indicate success: 5\d\d|\bunexpected (http )?status( code)?:? 5\d\d",
    re.IGNORECASE,
)


def server_answered(lf: LogFinding, logs: LogTable | None) -> bool:
    """The caller's error says a server it called answered with a server error (5xx),
    in its HTTP client's words, without naming the server: Spring's
    `HttpServerErrorException: 500 Internal Server Error`, axios' `Request failed with
    status code 502`. The call went out and came back failed: the callee's trouble."""
    return _SERVER_ANSWERED.search(text_of(lf, logs)) is not None


_URL_HOST = re.compile(r"\bhttps?://([a-z0-9][a-z0-9.-]*[a-z0-9])", re.IGNORECASE)


def host_aliases(
    log_findings: Iterable[LogFinding], known: set[str], logs: LogTable | None
) -> dict[str, str]:
    """Hosts the logs tie to a known service: an error line that names one service (as
    a word, `_name_rx`: `Carrier rates API returned 503 for POST
    https://api.carrierhub.example/v2/rates`) and calls a URL names that service's host,
    which its callers' client metrics and the prober know it by. A host two services
    are tied to, a host that is itself a known name, or an IP address (one of many a
    name resolves to) is nobody's alias."""
    rxs = {x: _name_rx(x) for x in known if len(x) >= 3}
    tied: dict[str, set[str]] = {}
    for lf in log_findings:
        if lf.level not in ("error", "fatal", "warn"):
            continue
        text = text_of(lf, logs)
        hosts = {h.lower() for h in _URL_HOST.findall(text)}
        if not hosts:
            continue
        named = [x for x, rx in rxs.items() if x != lf.service and rx.search(text)]
        if len(named) != 1:
            continue
        for h in hosts:
            tied.setdefault(h, set()).add(named[0])
    lower = {x.lower() for x in known}
    return {
        h: next(iter(v))
        for h, v in tied.items()
        if len(v) == 1 and h not in lower and not h.replace(".", "").isdigit()
    }


def text_of(lf: LogFinding, logs: LogTable | None) -> str:
    """The template and its example lines: a template masks the host a line names
    (`host=<*>`), the lines still say it."""
    parts = [lf.template]
    if logs is not None:
        parts += [logs.msg[i] for i in lf.examples if 0 <= i < len(logs.msg)]
    return "\n".join(parts).lower()


def _fails_all(f: MetricFinding) -> bool:
    """Its availability fell to (almost) nothing compared to its baseline, or its
    cluster reports itself red, or, for a share of requests, (almost) every request now
    fails: success down to a tenth of what it was, or errors up to nine in ten of the
    whole. The same dead service in whichever way its metrics put it."""
    if f.family == "availability" and f.direction < 0:
        return f.level <= 0.1 * (abs(f.baseline) or 1.0)
    if f.family == "availability" and f.bad and f.direction > 0:
        # a cluster that reports itself red (Elasticsearch's and OpenSearch's
        # `cluster_health_status{color="red"}` at 1): primaries unassigned, requests
        # to them fail
        return f.series.labels.get("color", "").lower() == "red" and f.level >= 0.9
    if f.family != "errors" or not f.bad or f.shape not in ("percent", "ratio"):
        return False
    if f.direction < 0:  # a success share
        return f.level <= 0.1 * (abs(f.baseline) or 1.0)
    whole = 100.0 if f.shape == "percent" else 1.0
    return f.level >= 0.9 * whole


def _down_strength(f: MetricFinding) -> float:
    """How strongly a reading of a service failing outright says it is down: falling to
    nothing is telling only as far as the series is steady (a noisy ratio over a handful
    of requests swings to zero by chance)."""
    return min(1.0, 0.6 + 0.4 * f.strength) * min(1.0, f.strength / STEADY)


NAMED_BONUS = 0.15
"""What a caller's new error line naming a service it calls adds to that service's
reading (a refused connection adds 0.35, a timeout or retry 0.2): a business error
about what it got back (`price must be positive (from pricing)`, `cannot deserialize
… returned by pricing`) blames the answer, weaker than a call that failed outright."""


ANSWER_BONUS = 0.35
"""What a caller's new error line adds to a callee it names when the line says the
callee's *answer* was wrong: invalid, malformed or unexpected, failing its validation,
not to be parsed or deserialized. The call went through and the callee answered; what
it answered is its own (a wrong return value), as telling as a refused connection."""
_BAD_ANSWER = re.compile(
    r"\b(invalid|malformed|unexpected|bad|corrupt(ed)?|inconsistent)\s+(response|answer|reply"
    r"|payload|body|data|result|value)"
    r"|\b(response|payload|result)[_ ]validation"
    r"|\bvalidation (failed|error)"
    r"|\b(cannot|can't|could not|couldn't|failed to|unable to) (parse|decode|deserializ|unmarshal"
    r"|read response)"
    r"|\b(json|xml|protobuf) (parse|decode|deserializ|syntax|mapping)",
    re.IGNORECASE,
)


STORE_SERIES: dict[str, re.Pattern[str]] = {
    tech: re.compile(rx)
    for tech, rx in {
        "mysql": r"^mysql_|^aws_rds_|^azure_microsoft_dbformysql_",
        "postgresql": r"^(pg_|postgres_|postgresql_)|^aws_rds_|^azure_microsoft_dbforpostgresql_",
        "redis": r"^redis_|^aws_(elasticache|memorydb)_|^azure_microsoft_cache_redis",
        "mongodb": r"^mongodb_|^aws_docdb_",
        "kafka": r"^kafka_|^aws_kafka_",
        "rabbitmq": r"^rabbitmq_|^aws_amazonmq_",
        "memcached": r"^memcached_|^aws_elasticache_",
        "elasticsearch": r"^(elasticsearch_|opensearch_)|^aws_es_",
        "cassandra": r"^cassandra_|^aws_cassandra_",
        "sqlserver": r"^(mssql_|windows_mssql_)|^azure_microsoft_sql_",
        "dynamodb": r"^aws_dynamodb_",
        # … and Azure Monitor's, its resource provider and type in the name
        # (`azure_microsoft_servicebus_namespaces_activemessages_average`)
        "servicebus": r"^azure_microsoft_servicebus_",
        "eventhubs": r"^azure_microsoft_eventhub_",
        "cosmosdb": r"^azure_microsoft_documentdb_",
    }.items()
}
"""Which store a service is, by its exporter's metric names (mysqld_exporter's
`mysql_*`, postgres_exporter's `pg_*`, …), by the Azure resource type in an Azure
Monitor metric's name, or by the CloudWatch namespace of the managed store it is, as
YACE names it: an RDS instance is MySQL or PostgreSQL, an
ElastiCache cluster Redis or Memcached, MemoryDB Redis, DocumentDB MongoDB, MSK Kafka,
Amazon MQ RabbitMQ, OpenSearch Service OpenSearch, Keyspaces Cassandra, a DynamoDB
table DynamoDB. A client's error in one of those technologies' words is then that
store's (`store_named`)."""
STORE_NAME_WORDS: dict[str, frozenset[str]] = {
    "mysql": frozenset({"mysql", "mariadb"}),
    "postgresql": frozenset({"postgres", "postgresql", "pg", "psql"}),
    "redis": frozenset({"redis"}),
    "mongodb": frozenset({"mongo", "mongodb", "docdb"}),
    "kafka": frozenset({"kafka", "msk"}),
    "rabbitmq": frozenset({"rabbitmq", "rabbit", "amqp"}),
    "memcached": frozenset({"memcached", "memcache"}),
    "elasticsearch": frozenset({"elasticsearch", "opensearch", "elastic"}),
    "cassandra": frozenset({"cassandra", "keyspaces"}),
    "sqlserver": frozenset({"sql", "sqldb", "mssql", "sqlserver"}),
    "dynamodb": frozenset({"dynamodb", "dynamo", "ddb"}),
    "servicebus": frozenset({"servicebus", "sb", "sbns", "bus"}),
    "eventhubs": frozenset({"eventhub", "eventhubs", "evh", "evhns"}),
    "cosmosdb": frozenset({"cosmos", "cosmosdb", "documentdb"}),
}
"""The words a team names a service running each store by (`sql-claims`, `servicebus`,
`cosmos-audit`, the Cloud Adoption Framework's `sb-` and `evh-` prefixes)."""


def store_node(series: Series, observed: str, nodes: Iterable[str]) -> str | None:
    """The one of `nodes` (the topology's names) that is the managed store a cloud's
    monitoring reports a series of (`_CLOUD_MONITOR`, or a resource type label) where
    the cloud's name for it is none of them: Azure names a Service Bus namespace
    `sb-claims-prod-weu` and a database `sqldb-claims`, the topology `servicebus` and
    `sql-claims`. The store's technology (`STORE_SERIES`, `STORE_RESOURCE_TYPES`) picks
    the nodes named by its words (`STORE_NAME_WORDS`); of several, the one sharing the
    most other words with `observed`, if one does. None otherwise, and for an exporter's
    series (kafka_exporter's lag of a consumer group is the consumer's)."""
    kind = next((series.labels[k] for k in _RESOURCE_TYPE_LABELS if series.labels.get(k)), "")
    if not kind and not _CLOUD_MONITOR.match(series.name):
        return None
    techs = {t for t, rx in STORE_SERIES.items() if rx.search(series.name.lower())}
    if kind.lower() in STORE_RESOURCE_TYPES:
        techs.add(STORE_RESOURCE_TYPES[kind.lower()])
    tech_words = frozenset().union(*(STORE_NAME_WORDS.get(t, frozenset()) for t in techs))
    said = set(_words(observed))
    hits: list[tuple[int, str]] = []
    for n in nodes:
        own = set(_words(n))
        if own & tech_words:
            hits.append((len((own & said) - tech_words), n))
    if not hits:
        return None
    best = max(k for k, _ in hits)
    top = [n for k, n in hits if k == best]
    return top[0] if len(top) == 1 else None


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[-_./\s]+", name.lower()) if w]


STORE_RESOURCE_TYPES: dict[str, str] = {
    "microsoft.servicebus/namespaces": "servicebus",
    "microsoft.eventhub/namespaces": "eventhubs",
    "microsoft.documentdb/databaseaccounts": "cosmosdb",
    "microsoft.sql/servers/databases": "sqlserver",
    "microsoft.sql/servers": "sqlserver",
    "microsoft.sql/managedinstances": "sqlserver",
    "microsoft.cache/redis": "redis",
    "microsoft.cache/redisenterprise": "redis",
    "microsoft.dbforpostgresql/flexibleservers": "postgresql",
    "microsoft.dbforpostgresql/servers": "postgresql",
    "microsoft.dbformysql/flexibleservers": "mysql",
    "microsoft.dbformysql/servers": "mysql",
}
"""Which store a managed resource is, by the type Azure Monitor gives it (the
`resourceType` label of azure-metrics-exporter's series)."""
_RESOURCE_TYPE_LABELS = ("resourceType", "resource_type")


STORE_PORTS: dict[str, tuple[int, ...]] = {
    "mysql": (3306,),
    "postgresql": (5432,),
    "redis": (6379, 26379),
    "mongodb": (27017,),
    "kafka": (9092,),
    "rabbitmq": (5672, 5671),
    "memcached": (11211,),
    "elasticsearch": (9200, 9300),
    "cassandra": (9042,),
    "sqlserver": (1433,),
}
"""Each store's registered default port (IANA, and the projects' own docs): a client's
`dial tcp 10.0.230.35:6379: connect: connection refused` names no service and no
technology, but the address it could not reach is a Redis's."""


def _port_rx(ports: tuple[int, ...]) -> str:
    """An address ending in one of `ports` (`10.0.0.5:6379`, `[fd00::5]:6379`,
    `redis-0.cache:6379`), not a number that merely contains it."""
    return r"(?<=[\w\]]):(?:" + "|".join(str(p) for p in ports) + r")(?![\d])"


STORE_LOG: dict[str, re.Pattern[str]] = {
    tech: re.compile(
        rx + ("|" + _port_rx(STORE_PORTS[tech]) if tech in STORE_PORTS else ""), re.IGNORECASE
    )
    for tech, rx in {
        "mysql": r"\bmysql|mariadb|innodb",
        # … and PostgreSQL's own words, quoted by any driver: `canceling statement due to
        # statement timeout` (SQLSTATE 57014)
        "postgresql": r"postgres|\bpq: |sqlstate|psycopg|npgsql|canceling statement due to",
        # Redis' own replies, quoted by any client: `OOM command not allowed when used
        # memory > 'maxmemory'`, `READONLY You can't write against a read only replica`
        "redis": r"\bredis|\breadonly you can|\boom command not allowed",
        "mongodb": r"mongo|notwritableprimary",
        "kafka": r"\bkafka",
        "rabbitmq": r"rabbitmq|\bamqp",
        "memcached": r"memcache",
        # … and its own replies, quoted by any client: an index blocked past the disk's
        # flood-stage watermark, a search or write queue full
        "elasticsearch": r"elasticsearch|opensearch|cluster_block_exception|"
        r"es_rejected_execution|search_phase_execution_exception|flood[- ]stage watermark",
        "cassandra": r"cassandra",
        # the managed services' SDKs: `Azure.Messaging.ServiceBus.ServiceBusException`,
        # `Microsoft.Azure.Cosmos.CosmosException`, `Microsoft.Data.SqlClient.SqlException`
        "servicebus": r"service ?bus",
        "eventhubs": r"event ?hubs?\b|eventhubs",
        "cosmosdb": r"\bcosmos|request rate is large",
        # DynamoDB's own reply to a table or index out of its provisioned throughput
        "dynamodb": r"dynamodb|provisionedthroughputexceeded|"
        r"throughput exceeds the current capacity",
        "sqlserver": r"sql ?server|\bsqlexception|sqlclient|\bmssql",
    }.items()
}
"""How a client's error names the store it calls: the driver's words (`Error 1290
(HY000): The MySQL server is running with the --read-only option`, `pq: …`), or the
store's default port in the address it failed to reach (`STORE_PORTS`)."""


def store_kinds(series: Iterable[Series]) -> dict[str, set[str]]:
    """service → the stores it is, by the series it exports (`STORE_SERIES`) or the
    type of managed resource they say it is (`STORE_RESOURCE_TYPES`)."""
    out: dict[str, set[str]] = {}
    seen: set[tuple[str, str, str]] = set()
    for s in series:
        if not s.service:
            continue
        kind = next((s.labels[k] for k in _RESOURCE_TYPE_LABELS if s.labels.get(k)), "")
        key = (s.service, s.name.lower(), kind.lower())
        if key in seen:
            continue
        seen.add(key)
        for tech, rx in STORE_SERIES.items():
            if rx.search(key[1]):
                out.setdefault(s.service, set()).add(tech)
        if key[2] in STORE_RESOURCE_TYPES:
            out.setdefault(s.service, set()).add(STORE_RESOURCE_TYPES[key[2]])
    return out


def stores_named(text: str, caller: str, calls: Topology, stores: dict[str, set[str]]) -> list[str]:
    """The services `caller` calls that are of the store technology its error line
    names (no service by name): `The MySQL server is running with the --read-only
    option` from a service whose MySQLs are `trips-db` and `audit-db`."""
    named = {tech for tech, rx in STORE_LOG.items() if rx.search(text)}
    if not named:
        return []
    return [c for c in calls.depends_on.get(caller, []) if stores.get(c, set()) & named]


def store_named(text: str, caller: str, calls: Topology, stores: dict[str, set[str]]) -> str | None:
    """The one service `caller` calls that is the store its error line names by
    technology (`stores_named`). None for no such store, or for two of that
    technology."""
    hits = stores_named(text, caller, calls, stores)
    return hits[0] if len(hits) == 1 else None


DNS_SERVICE = re.compile(
    r"^(?:core-?dns|kube-?dns|node-?local-?dns|dns|dnsmasq|unbound|bind9?|named)$", re.I
)
"""A service that is the cluster's or the network's resolver, by its name: the names
its log lines carry are what it was asked to resolve, not servers it called."""
RESOLVER_DOWN = re.compile(
    r"temporary failure in name resolution|eai_again|"
    r"\blookup \S+ on \S+:\d{2,5}\b.*(?:i/o timeout|connection refused|server misbehaving)|"
    r"\blookup [^\s:]+: i/o timeout|"
    r"server misbehaving|\bservfail\b|no servers could be reached",
    re.I,
)
"""A name lookup the resolver failed to answer (glibc's and Java's `Temporary failure in
name resolution`, Node's `EAI_AGAIN`, Go's `lookup X on 10.96.0.10:53: … i/o timeout`
and `server misbehaving`, on any port, or with no resolver named, `lookup X: i/o
timeout`: a node's Consul agent answers on 8600; SERVFAIL,
dig's `no servers could be reached`): the resolver's fault when lookups of several names
fail so (`unresolved_lookups`), and never the fault of the service looked up, which was
not called (`find_dead`). A name the resolver said does not exist (`no such host`,
`UnknownHostException` alone, `ENOTFOUND`) is the name's: its record is gone."""


def resolver_of(known: Iterable[str]) -> str | None:
    """The one known service that is a resolver (`DNS_SERVICE`), or None."""
    found = [x for x in known if DNS_SERVICE.match(x)]
    return found[0] if len(found) == 1 else None


def resolver_failed(lf: LogFinding, msgs: list[str]) -> bool:
    """Whether every example line of `lf` is a lookup the resolver failed to answer."""
    lines = [msgs[i] for i in lf.examples if 0 <= i < len(msgs)]
    return bool(lines) and all(RESOLVER_DOWN.search(x) for x in lines)


def unresolved_lookups(
    log_findings: Iterable[LogFinding], known: set[str], msgs: list[str]
) -> tuple[str | None, set[int]]:
    """The resolver, and the findings (by `id`) whose lines are lookups it failed to
    answer, when those name several known services between them (one name failing is
    that name's record) and one known service is the resolver. Else (None, empty)."""
    resolver = resolver_of(known)
    if resolver is None:
        return None, set()
    rxs = {s: _name_rx(s) for s in known if len(s) >= 3 and s != resolver}
    found: list[LogFinding] = []
    names: set[str] = set()
    for lf in log_findings:
        if lf.family != "network" or lf.service == resolver or not resolver_failed(lf, msgs):
            continue
        text = "\n".join(msgs[i] for i in lf.examples if 0 <= i < len(msgs))
        found.append(lf)
        names |= {s for s, rx in rxs.items() if s != lf.service and rx.search(text)}
    if len(names) < 2:
        return None, set()
    return resolver, {id(lf) for lf in found}


def find_dead(
    metric_findings: list[MetricFinding],
    log_findings: list[LogFinding],
    known_services: set[str],
    logs: LogTable | None = None,
    silent: dict[str, Silence] | None = None,
    calls: Topology | None = None,
    stores: dict[str, set[str]] | None = None,
    aliases: dict[str, str] | None = None,
    timeouts_cut: dict[str, list[float]] | None = None,
    probed: set[str] | None = None,
    unseen: set[str] | None = None,
) -> dict[str, DependencyFinding]:
    """Dependencies that are down or failing, from availability readings, silence and
    callers' logs. With `calls` (the topology), a caller's new error lines of no
    dependency family that name a service it calls count too (`NAMED_BONUS`): a
    service that answers wrongly (a wrong return value, a broken payload) shows
    nothing itself, only its callers fail, and say over what. A caller's dependency
    or network error that names no service but a store's technology (`STORE_LOG`) is
    of the one store of that kind it calls (`stores`, by the series each exports).
    A caller's calls that time out (or fail, by its client metrics) from just after a
    change that cut its own timeout (`timeouts_cut`: service → when) say nothing of
    what it calls: it gives up sooner than the callee answers. A service measured only
    by the probes of it (`probed`) whose probes take longer answers slowly
    (`SLOW_SHARE`). A caller's dependency error that names nothing known is of its one
    callee no data of its own names (`unseen`: an outside API the topology calls
    `maps-provider` and the caller's log `routeatlas`), where none of its other callees
    was in trouble as early (`_unseen_callee`)."""
    out: dict[str, DependencyFinding] = {}
    troubled: dict[str, float] = {}
    for f in metric_findings:
        if f.bad and f.series.service:
            was = troubled.get(f.series.service, math.inf)
            troubled[f.series.service] = min(was, f.onset)
    for svc, quiet in (silent or {}).items():
        out[svc] = DependencyFinding(svc, SILENT_STRENGTH, quiet.last + quiet.step, silence=quiet)
    for f in metric_findings:
        if not f.series.service or not _fails_all(f):
            continue
        svc = f.series.labels.get("target_service") or f.series.service
        cur = out.get(svc)
        strength = _down_strength(f)
        if cur is None:
            out[svc] = DependencyFinding(svc, strength, f.onset, metric=f)
        elif cur.metric is None or strength > cur.strength:
            cur.metric = f
            cur.strength = max(cur.strength, strength)
            cur.onset = min(cur.onset, f.onset)
    for f in metric_findings:
        who = f.series.service
        if who and who in (probed or ()) and f.family == "latency" and f.bad and who not in out:
            out[who] = DependencyFinding(
                who, SLOW_SHARE * f.strength, f.onset, metric=f, unreachable=False, slow=True
            )
    if known_services:
        rxs = {s: _name_rx(s) for s in known_services if len(s) >= 3}
        msgs = logs.msg if logs is not None else []
        _, unresolved = unresolved_lookups(log_findings, known_services, msgs)
        for lf in log_findings:
            if lf.family not in ("dependency", "network") or DNS_SERVICE.match(lf.service):
                continue  # (a resolver's log names what it was asked about, not calls)
            if id(lf) in unresolved or resolver_failed(lf, msgs):
                # lookups the resolver failed to answer: the resolver's where the data
                # knows one (`scene`), else the way to it (a node's local DNS agent);
                # the service looked up was never called
                continue
            # timeouts from just after it cut its own timeout: it gives up sooner now
            if _TIMED_OUT.search(lf.template) and _after_cut(
                timeouts_cut, lf.service, lf.first_after
            ):
                continue
            text = text_of(lf, logs)
            if _RELAYED.search(text):
                # the service it called answered, with an error that is itself a call
                # of its own that failed (`rpc error: code = Unknown desc = rpc error:
                # code = Unavailable`): it is up and relays a deeper failure, which its
                # own errors tell
                continue
            hit = at_port(
                [svc for svc, rx in rxs.items() if svc != lf.service and rx.search(text)], text
            )
            if not hit and calls is not None and stores:
                store = store_named(text, lf.service, calls, stores)
                hit = [store] if store is not None else []
            if (
                not hit
                and calls is not None
                and unseen
                and (
                    # a failure the callee answered, or calls to an outside host's address
                    # that timed out or were reset (`timed out calling https://api.…`,
                    # `Connection reset by peer (api.routeatlas.io:443)`)
                    lf.family == "dependency" or _hosts_in(text)
                )
            ):
                hit = _unseen_callee(lf, calls, unseen, troubled, text)
            for svc in hit:
                down = lf.family == "dependency" and bool(_DOWN.search(lf.template))
                d = out.get(svc)
                if d is None:
                    d = DependencyFinding(svc, 0.0, lf.first_after, unreachable=down)
                    out[svc] = d
                d.unreachable = d.unreachable or down
                d.logs.append(lf)
                if lf.service not in d.callers:
                    d.callers.append(lf.service)
                d.onset = min(d.onset, lf.first_after)
                # refused, unreachable, no healthy upstream: down; writes refused by a
                # store gone read-only: up, but failing every write as surely; a
                # timeout or a retry: the call failed, the server may only be slow
                refused = down or bool(_READ_ONLY.search(lf.template))
                bonus = 0.35 if refused else 0.2
                d.strength = min(1.0, max(d.strength, 0.3) + bonus * lf.strength)
        moved = {f.series.service for f in metric_findings if f.bad and f.series.service}
        # a peer is read by its own readings of what they mean; one the catalogue does
        # not know (a cache's keyspace misses) leaves its callers' failed calls to say,
        # and so does one whose readings moved at another time (`OWN_LEAD_S`)
        told: dict[str, list[float]] = {}
        for f in metric_findings:
            if f.bad and f.family and f.series.service:
                told.setdefault(f.series.service, []).append(f.onset)
        _measured_by_callers(
            out, metric_findings, known_services, told, aliases, timeouts_cut, calls
        )
        if calls is not None:
            # (a callee that itself cannot reach what it calls relays that failure)
            relaying = {c for d in out.values() if d.unreachable for c in d.callers}
            _named_by_callers(out, log_findings, calls, logs, moved | set(out) | relaying)
    return out


_RELAYED = re.compile(r"rpc error: code = \w+ desc = [^\n]*?rpc error: code = ", re.IGNORECASE)
"""A gRPC error whose description is another gRPC error: the server called relayed the
failure of a call it made itself."""


_HOST_PORT = re.compile(r"(?<![\w.-])((?:[a-z0-9-]++\.)++[a-z]{2,}+):\d{2,5}\b", re.IGNORECASE)
"""A host by its name and port (`api.routeatlas.io:443`), as socket errors name it; a
class name (`java.lang.Error`) has no port."""


def _hosts_in(text: str) -> set[str]:
    """The hosts a line calls: those of its URLs, and names with a port (not a stack
    frame's file and line)."""
    named = (
        h for h in _HOST_PORT.findall(text) if h.rsplit(".", 1)[-1].lower() not in _SOURCE_FILES
    )
    return {h.lower() for h in (*_URL_HOST.findall(text), *named)}


_IN_CLUSTER = re.compile(r"\.svc(\.cluster\.local)?\b|\.cluster\.local\b", re.IGNORECASE)
"""A Kubernetes Service's DNS name: a call inside the cluster, to a service the data
would know by that name (or to a wrong one a change set), not to an outside API."""


def _unseen_callee(
    lf: LogFinding,
    calls: Topology,
    unseen: set[str],
    troubled: Mapping[str, float],
    text: str,
) -> list[str]:
    """The one callee of `lf`'s service that no data names (`unseen`), as a list, where
    its other callees showed no trouble of their own (a bad reading) by the time its
    errors began: the failure its dependency error reports, in a name the data does
    not otherwise use, is that callee's. Empty where that is not so, or where the line
    (`text`) names a host inside the cluster."""
    callees = calls.depends_on.get(lf.service, [])
    # (a resolver is asked, not called: its failures are read as lookups)
    quiet = [c for c in callees if c in unseen and c != lf.service and not DNS_SERVICE.match(c)]
    if len(quiet) > 1:
        # several: the one whose words begin those of the host the line calls
        quiet = [c for c in quiet if any(words_begin(c, h) for h in _hosts_in(text))]
    if len(quiet) != 1 or _IN_CLUSTER.search(text):
        return []
    early = lf.first_after + UNSEEN_TOL_S
    if any(troubled.get(c, math.inf) <= early for c in callees if c not in unseen):
        return []
    return quiet


UNSEEN_TOL_S = 120.0
"""How much later than a caller's dependency errors another callee's trouble may begin
and still speak for them (`_unseen_callee`)."""


_WORD_SPLIT = re.compile(r"[-_.:]+")


def named_callee(s: Series, calls: Topology | None) -> str | None:
    """The one service its service calls that a series of its own is named for, every
    word of that callee's name (but `api`, `svc`: `KIND_WORDS`) a word of the metric's
    and none of its own service's: `billing_stripe_requests_total{outcome}` of billing,
    which calls stripe, counts billing's calls to Stripe. An application's metrics of
    an outside API are named so more often than labelled by a peer."""
    svc = s.service
    if calls is None or not svc:
        return None
    words = set(_WORD_SPLIT.split(s.name.lower()))
    own = set(_WORD_SPLIT.split(svc.lower()))
    hits = []
    for d in calls.callees(svc):
        want = {w for w in _WORD_SPLIT.split(d.lower()) if w and w not in _KIND_WORDS}
        if want and want <= words and not want <= own:
            hits.append(d)
    return hits[0] if len(hits) == 1 else None


def _measured_by_callers(
    out: dict[str, DependencyFinding],
    metric_findings: list[MetricFinding],
    known_services: set[str],
    moved: dict[str, list[float]],
    aliases: dict[str, str] | None = None,
    timeouts_cut: dict[str, list[float]] | None = None,
    calls: Topology | None = None,
) -> None:
    """Callers' client-side error readings (`metric_edges.is_client_side`) that name a
    known service as the peer, where that service shows nothing of its own from near
    them (`moved`: service → onsets of its bad readings; one from `OWN_LEAD_S` or more
    before is about something else). For such a peer (a third-party API, a managed
    store) they are the only measurement there is, and they read as its own would: as
    strong as an availability reading that fell to nothing (`find_dead`), however many
    pods or callers repeat it.
    A peer with readings of its own is read by them; its callers' view of it says
    nothing new (and their errors are already theirs). The readings date it by the
    strongest of them (`CLIENT_ONSET_SHARE`): a 500 every few minutes twenty minutes
    before the 429s began is not when it started failing. With `calls` (the topology),
    a caller's own metric named for a service it calls is its calls to it
    (`named_callee`)."""
    before = {k: d.onset for k, d in out.items()}
    for f in metric_findings:
        caller = f.series.service
        if f.family != "errors" or not f.bad or not caller:
            continue
        client = is_client_side(f.series)
        named = None if client else named_callee(f.series, calls)
        if not client and named is None:
            continue
        if _after_cut(timeouts_cut, caller, f.onset):
            continue  # its own shorter timeout failing its calls (`find_dead`)
        peer = named or peer_of(f.series, known_services, aliases)
        if peer is None or peer == caller:
            continue
        if any(t >= f.onset - OWN_LEAD_S for t in moved.get(peer, ())):
            continue
        d = out.get(peer)
        if d is None:
            d = DependencyFinding(peer, 0.0, f.onset, unreachable=False)
            out[peer] = d
        d.client.append(f)
        if caller not in d.callers:
            d.callers.append(caller)
        d.strength = max(d.strength, _down_strength(f))
    for k, d in out.items():
        if d.client:
            top = max(f.strength for f in d.client)
            strong = [f.onset for f in d.client if f.strength >= CLIENT_ONSET_SHARE * top]
            d.onset = min(before.get(k, math.inf), *strong)


_TIMED_OUT = re.compile(r"time[sd]?[ _-]?out|deadline", re.IGNORECASE)


def _after_cut(cuts: dict[str, list[float]] | None, service: str, t: float) -> bool:
    """Whether `t` falls just after a change that cut `service`'s own timeout (from a
    measuring step before it, up to `OWN_TIMEOUT_S` after)."""
    return any(c - CUT_GRACE_S <= t <= c + OWN_TIMEOUT_S for c in (cuts or {}).get(service, ()))


CUT_GRACE_S = 60.0
"""A failure dated up to this long before the change is still its doing: onsets are
measured at the step, and a change's record may lag its rollout."""

CLIENT_ONSET_SHARE = 0.8
"""Callers' readings of a peer within this share of the strongest date it (as a
service's own strongest findings do, `scene.ONSET_SHARE`)."""


def _named_by_callers(
    out: dict[str, DependencyFinding],
    log_findings: list[LogFinding],
    calls: Topology,
    logs: LogTable | None,
    moved: set[str],
) -> None:
    """Callers' new error lines (no dependency or network family: those are read
    above) that name a service they call, per the topology, where that service shows
    nothing of its own (not in `moved`: no bad reading, no other reason to think it
    down; `find_dead` also leaves out a callee whose own lines say it cannot reach what
    it calls: it relays that failure). A callee in trouble of its own is read by what
    it shows; callers naming it are then its victims, and say nothing new."""
    for lf in log_findings:
        if lf.family is not None or lf.level not in ("error", "fatal"):
            continue
        if lf.strength < MENTION_MIN:
            continue
        callees = [c for c in calls.depends_on.get(lf.service, []) if len(c) >= 3]
        if not callees:
            continue
        text = text_of(lf, logs)
        # a gateway's answer (502 Bad Gateway, 504 Gateway Timeout) says the proxy
        # called got no good answer from behind it: the service behind it that the
        # call names (`/textwave/v1/messages` through an egress proxy) failed
        behind = [
            up
            for svc in (callees if _GATEWAY.search(text) else [])
            for up in calls.depends_on.get(svc, [])
            if up != lf.service and len(up) >= 3 and up not in callees
        ]
        for svc in dict.fromkeys([*callees, *behind]):
            if svc == lf.service or svc in moved or not _name_rx(svc).search(text):
                continue
            d = out.get(svc)
            if d is None:
                d = DependencyFinding(svc, 0.0, lf.first_after, unreachable=False, answered=True)
                out[svc] = d
            d.logs.append(lf)
            if lf.service not in d.callers:
                d.callers.append(lf.service)
            d.onset = min(d.onset, lf.first_after)
            bonus = ANSWER_BONUS if _BAD_ANSWER.search(text) else NAMED_BONUS
            d.strength = min(1.0, max(d.strength, 0.3) + bonus * lf.strength)


_GATEWAY = re.compile(r"\b(502|504)\b|bad gateway|gateway time-?out", re.IGNORECASE)
"""A proxy's answer that the service behind it failed (RFC 9110 15.6.3, 15.6.5)."""
MENTION_MIN = 0.2
"""Log findings weaker than this (a template barely above its baseline) infer no call."""
OWN_LEAD_S = 900.0
"""A peer's own reading that began more than this before its callers' calls to it
failed (its CPU creeping up two hours before) is about something else: it does not
speak for those failures, and the callers' count of them still does."""


def mention_topology(
    log_findings: list[LogFinding], known_services: set[str], logs: LogTable | None = None
) -> Topology:
    """Calls read from what callers say when there is no topology and no spans: a
    service whose new or spiking error lines name another known service
    (`call to payments failed`, `upstream checkout responded 503`) calls it. The
    names come from the metrics and alerts, never from the log text, so a log line
    cannot invent a suspect; a service naming itself says nothing."""
    names = sorted((s for s in known_services if len(s) >= 3), key=lambda s: (-len(s), s))
    deps: dict[str, set[str]] = {}
    if not names:
        return Topology(depends_on={})
    # one pass per finding, whatever the number of services (longest names first, so
    # that `cart-api` is read as itself and not as `cart`)
    by_lower = {s.lower(): s for s in reversed(names)}
    rx = re.compile(r"(?<![\w-])(" + "|".join(re.escape(s.lower()) for s in names) + r")(?![\w-])")
    for lf in log_findings:
        if lf.level not in ("error", "fatal", "warn") or lf.strength < MENTION_MIN:
            continue
        for m in rx.finditer(text_of(lf, logs)):
            svc = by_lower[m.group(1)]
            if svc != lf.service:
                deps.setdefault(lf.service, set()).add(svc)
    # a pair naming each other says nothing about the direction of the calls
    both = {(a, b) for a, bs in deps.items() for b in bs if a in deps.get(b, set())}
    return Topology(
        depends_on={
            a: sorted(b for b in bs if (a, b) not in both) for a, bs in sorted(deps.items())
        }
    )
