"""Incident bundle v1 reader (docs/bundle-format.md: a public contract).

A bundle is a directory that freezes an incident in the formats the real systems
speak, so this reader is an offline implementation of every source protocol. Rules:

* every documented field and file is accepted; unknown fields and files are ignored;
* malformed input raises `BundleError` with one line naming the file and the place
  (line number for JSONL, a JSON path such as `$[2].labels` for JSON, a YAML key);
* bulk data (log lines, metric points) is validated by hand rather than through a
  pydantic model per row: a bundle may hold a million log lines and the whole triage
  has a budget of 1.5x the time it takes just to parse them.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import re
import time
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import IO, Any

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from aisre_cli.errors import BundleError
from aisre_cli.model import (
    HYPOTHESIS_KINDS,
    Alert,
    Change,
    Event,
    LogTable,
    Series,
    SourceNote,
    Span,
    Topology,
    Window,
    host_of,
    page_among,
    span_peer,
)
from aisre_cli.settings.config import DEFAULT_SERVICE_LABELS, InputLimits
from aisre_cli.settings.safeyaml import YamlLimits, load_yaml, open_regular, read_bytes
from aisre_cli.sources.querylog import QueryStat, record
from aisre_cli.sources.timeparse import (
    UNIX_MAX,
    UNIX_MIN,
    TimestampError,
    to_datetime,
    to_unix,
)

TOPOLOGY_YAML_LIMITS = YamlLimits(
    max_bytes=16_000_000,
    max_nodes=2_000_000,
    max_entries=InputLimits().max_topology_services,
    entries_name="services or dependencies (limits.max_topology_services)",
)
"""A topology may list thousands of services; other YAML in a bundle is small."""

_MB = 1_000_000
_BOM = b"\xef\xbb\xbf"
"""UTF-8's byte order mark: Windows tools (PowerShell 5's `-Encoding utf8`) start a file
with it. It is skipped, never read as data."""


# ---------------------------------------------------------------- boundary models


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Coercing(_Lenient):
    """A model whose text fields also take a number: hand-written YAML reads `id: 42` as
    an integer, and change feeds give ids and versions as numbers (GitHub deployments)."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


_GO_ZERO_TIME = "0001-01-01T00:00:00"
"""Go's zero time: what Alertmanager writes for an unset `endsAt` (every firing alert of
a webhook notification) or `updatedAt`."""


def _unset_time(v: Any) -> Any:
    """An optional alert time that is Go's zero time reads as absent."""
    return None if isinstance(v, str) and v.startswith(_GO_ZERO_TIME) else v


class _WindowIn(_Lenient):
    start: Any
    end: Any


class BundleMeta(_Coercing):
    """bundle.yaml."""

    id: str
    title: str = ""
    window: _WindowIn
    focus_alert: str | None = None
    format_version: Any = None
    """Absent in most bundles (read as 1); checked by `_check_format_version`."""
    notes: Any = None
    """What went wrong when the bundle was captured (`aisre bundle capture` writes a
    list: "loki failed (2.0s): …"); see `capture_notes`. Any shape is accepted: a
    hand-written bundle may hold a free-text note here."""

    def capture_notes(self) -> list[str]:
        """`notes` as at most 20 lines of text (a string is one; other values are
        ignored): a replay says which sources were missing when it was captured."""
        raw = self.notes
        items = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
        out = [" ".join(str(x).split())[:300] for x in items if isinstance(x, str | int | float)]
        return [x for x in out if x][:20]


class _AlertStatusIn(_Lenient):
    state: str = "active"
    silencedBy: list[str] = Field(default_factory=list)  # noqa: N815 (wire name)
    inhibitedBy: list[str] = Field(default_factory=list)  # noqa: N815

    @field_validator("silencedBy", "inhibitedBy", mode="before")
    @classmethod
    def _nil_list(cls, v: Any) -> Any:
        return [] if v is None else v  # Go encodes an empty (nil) slice as null


class _ReceiverIn(_Lenient):
    name: str


class AlertIn(_Lenient):
    """One element of Alertmanager API v2 `GET /api/v2/alerts`."""

    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: str  # noqa: N815
    endsAt: str | None = None  # noqa: N815
    updatedAt: str | None = None  # noqa: N815
    fingerprint: str
    status: _AlertStatusIn = Field(default_factory=_AlertStatusIn)
    generatorURL: str | None = None  # noqa: N815
    receivers: list[_ReceiverIn] = Field(default_factory=list)

    @field_validator("endsAt", "updatedAt", mode="before")
    @classmethod
    def _go_zero(cls, v: Any) -> Any:
        return _unset_time(v)

    @field_validator("annotations", "receivers", "status", mode="before")
    @classmethod
    def _nil(cls, v: Any, info: ValidationInfo) -> Any:
        # Go encodes an empty (nil) map or slice as null
        if v is not None:
            return v
        return {} if info.field_name != "receivers" else []


class ChangeIn(_Coercing):
    id: str
    ts: str | int | float
    service: str
    kind: str
    summary: str = ""
    version: str | None = None
    previous_version: str | None = None
    author: str | None = None
    url: str | None = None


class _ServiceIn(_Lenient):
    depends_on: list[str] = Field(default_factory=list)


class TopologyIn(_Lenient):
    services: dict[str, _ServiceIn | None] = Field(default_factory=dict)


class TruthCause(_Coercing):
    kind: str
    service: str
    change_id: str | None = None


class Truth(_Lenient):
    """truth.yaml (evaluation only)."""

    root_cause: TruthCause
    match: str | None = None

    @property
    def service_only(self) -> bool:
        return (self.match or "").strip().lower() == "service"


# ---------------------------------------------------------------- helpers


def _json_path(loc: Sequence[int | str]) -> str:
    out = "$"
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _first_error(exc: ValidationError) -> str:
    """`$.loc: message` of the first error. pydantic names the model a mapping would
    have been ("or instance of TruthCause"): a class name is no help to whoever wrote
    the file, so that clause goes."""
    err = exc.errors()[0]
    msg = re.sub(r" or instance of \w+", "", str(err["msg"])).lower()
    return f"{_json_path(err['loc'])}: {msg}"


FORMAT_MAJOR = 1
"""The bundle format major version this reader reads (`format_version` in bundle.yaml)."""
_VERSION_TEXT = re.compile(r"v?(\d+)(?:\.\d+){0,2}")


def _check_format_version(meta_path: Path, value: Any) -> None:
    """Refuse a bundle.yaml whose `format_version` is not a v1 version.

    Absent (or null) reads as 1: most bundles, and every bundle written before the
    field existed, have none. Minor versions of 1 (`1.2`, "1.2") are read: they may
    only add fields. Anything else is refused rather than misread."""
    if value is None:
        return
    major: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        major = value
    elif isinstance(value, float) and math.isfinite(value) and value >= 0:
        major = int(value)
    elif isinstance(value, str) and (m := _VERSION_TEXT.fullmatch(value.strip())):
        major = int(m.group(1))
    if major is None:
        raise BundleError(
            f"{meta_path}: format_version: expected a version number such as 1,"
            f" got {str(value)[:40]!r}",
            hint=f"write `format_version: {FORMAT_MAJOR}`, or leave the field out",
        )
    if major != FORMAT_MAJOR:
        raise BundleError(
            f"{meta_path}: format_version: {str(value)[:40]} is not supported"
            f" (this aisre reads bundle format v{FORMAT_MAJOR})",
            hint="docs/bundle-format.md describes v1; read a bundle of another version"
            " with an aisre that supports it",
        )


TRUTH_MATCH = ("service",)
"""The values `match` may take in truth.yaml (absent: kind, service and change)."""


def check_truth(truth: Truth, path: Path | str) -> None:
    """The checks of truth.yaml a schema cannot say: `match` is `service` or absent, and
    without `match: service` the kind is a hypothesis kind (with it, the kind is never
    compared and may be any label, such as nezha-ob's `code_defect`)."""
    if truth.match is not None and truth.match.strip().lower() not in TRUTH_MATCH:
        raise BundleError(
            f"{path}: match: expected 'service' or no match, got {truth.match[:40]!r}",
            hint="`match: service` compares only the service; leave it out to compare kind"
            " and service too (docs/eval.md)",
        )
    kind = truth.root_cause.kind
    if not kind.strip():
        raise BundleError(f"{path}: root_cause.kind: empty", hint="name the cause's kind")
    if not truth.service_only and kind not in HYPOTHESIS_KINDS:
        raise BundleError(
            f"{path}: root_cause.kind: unknown kind {kind[:40]!r}",
            hint="one of: " + ", ".join(HYPOTHESIS_KINDS) + "; or add `match: service` to"
            " compare only the service (docs/eval.md)",
        )


def focus_matches(alerts: Sequence[Alert], query: str) -> list[Alert]:
    """The alerts `focus_alert` names, as `aisre triage` resolves an alert id: an exact
    fingerprint or alias, else an alertname (several alerts of that name: the one that
    paged, `model.page_among`), else a unique fingerprint prefix of four characters or
    more. One alert: it resolves; none or several: it does not."""
    q = query.strip()
    if not q:
        return []
    exact = [a for a in alerts if a.id == q or q in a.aliases]
    if exact:
        return exact[:1]
    named = [a for a in alerts if a.name == q]
    if named:
        page = page_among(named)
        return [page] if page is not None else named
    return [a for a in alerts if len(q) >= 4 and a.id.startswith(q)]


def focus_problem(alerts: Sequence[Alert], focus: str) -> str | None:
    """Why bundle.yaml's `focus_alert` does not resolve to one alert (None: it does)."""
    hits = focus_matches(alerts, focus)
    if len(hits) == 1:
        return None
    what = "matches no alert" if not hits else f"is ambiguous: {len(hits)} alerts match"
    return f"focus_alert {focus[:80]!r} {what} in alerts.json"


def focus_hint(root: Path | str) -> str:
    """Where to look when a bundle's `focus_alert` names no alert."""
    return f"fix focus_alert in bundle.yaml; `aisre alerts --bundle {root}` lists the alerts"


def _key_line(path: Path, key: str) -> int | None:
    """The line of a top-level `key:` in a small YAML file (None: not found)."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    pat = re.compile(rf"{re.escape(key)}\s*:")
    return next((i for i, text in enumerate(lines, 1) if pat.match(text)), None)


@dataclass(frozen=True)
class BundleProblem:
    """One finding of `aisre bundle validate`: the file (relative to the bundle), the
    line when the reader knows it, and what is wrong."""

    file: str
    line: int | None
    message: str
    text: str
    """The whole one-line message, as the reader raised it."""
    hint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "message": self.message}


_PROBLEM_AT = re.compile(r"(?P<file>.+?)(?::(?P<line>\d+))?: (?P<rest>.+)", re.DOTALL)


def _problem(root: Path, exc: BundleError, default_file: str) -> BundleProblem:
    """A reader's error as a problem: the `FILE[:LINE]: ` the message starts with (every
    reader names the file first), relative to the bundle; else `default_file`."""
    text = exc.message
    m = _PROBLEM_AT.fullmatch(text)
    if m is not None:
        where = Path(m.group("file"))
        try:
            rel = where.relative_to(root)
        except ValueError:
            rel = where
        if rel.as_posix() == default_file or (root / rel).exists() or (root / rel).is_symlink():
            line = int(m.group("line")) if m.group("line") else None
            return BundleProblem(rel.as_posix(), line, m.group("rest"), text, exc.hint)
    return BundleProblem(default_file, None, text, text, exc.hint)


def _load_json(
    path: Path,
    *,
    root: Path | None = None,
    max_bytes: int = 1024 * _MB,
    display: str | None = None,
) -> Any:
    data = read_bytes(
        path,
        max_bytes=max_bytes,
        error=BundleError,
        root=root,
        display=display,
        limit_name="limits.max_file_mb",
    )
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        bad = _not_utf8(data, exc)
        if bad is not None:
            line = data.count(b"\n", 0, bad) + 1
            raise BundleError(
                f"{display or path}: not UTF-8 text at byte {bad} (line {line})",
                hint="save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)",
            ) from None
        # orjson reports "... : line 3 column 5 (char 40)" like the stdlib.
        raise BundleError(
            f"{display or path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
            hint="check the file with `python -m json.tool`",
        ) from None


def _load_yaml(
    path: Path,
    *,
    root: Path | None = None,
    limits: YamlLimits | None = None,
    display: str | None = None,
) -> Any:
    return load_yaml(
        path, error=BundleError, limits=limits or YamlLimits(), root=root, display=display
    )


def _present(p: Path) -> bool:
    """Is there a file (or a symlink, even a dangling one) at `p`? A documented file that
    is a broken link is read (and refused as unreadable), never taken for absent."""
    return p.exists() or p.is_symlink()


def _ts(path: Path, place: str, value: Any) -> datetime:
    try:
        return to_datetime(value)
    except TimestampError as exc:
        raise BundleError(f"{path}: {place}: {exc}") from None


_COLLECTOR_JOB = re.compile(
    r"(^|[/_-])(kubelet|cadvisor|kube-state-metrics|node-exporter|node_exporter|"
    r"kubernetes-nodes|otel-collector|opentelemetry-collector|apiserver|"
    r"blackbox|yace|cloudwatch|pushgateway|[a-z0-9]+[_-]exporter)$"
    # Prometheus' own example Kubernetes scrape jobs (kubernetes-pods,
    # kubernetes-service-endpoints, ...), a blackbox module's job (blackbox-tls),
    # Nomad's client telemetry, dotnet-monitor, and agents that forward what they got
    r"|^kubernetes-[a-z-]+$|(^|[/_-])blackbox([_-][a-z0-9_-]+)?$|^nomad(-(clients?|servers?))?$"
    # node_exporter scraped as the Prometheus docs name the job, and windows_exporter
    # (formerly wmi_exporter) as its docs name it: the machine's collectors
    r"|^node$|^windows$|^wmi$"
    # a CloudWatch namespace as YACE names its metrics (`aws_lambda`, `aws_rds`): where
    # the series came from; its `dimension_*` labels name the resource
    r"|^aws_[a-z0-9_]+$"
    # azure-metrics-exporter's scrape jobs (`azure-metrics-sql`): where the series came
    # from; its `resourceName` label names the resource
    r"|^azure-metrics(-[a-z0-9-]+)?$"
    r"|^dotnet-monitor$|^(telegraf|grafana-agent|alloy|vmagent|datadog-agent|fluent-bit)$"
    # a mesh's sidecar scrape (Istio's envoy-stats, Consul Connect's): the proxy of
    # whichever service it sits beside (`local_cluster`, the pod)
    r"|^(envoy-stats|consul-connect-envoy|envoy-sidecars?|istio-proxy|linkerd-proxy)$"
    # a collector's receiver, as `namespace/name` (`otel-collector/redis`: the
    # collector's Redis receiver, whichever Redis it read; its `service_name` says which)
    r"|^(otel-?collector|opentelemetry-collector|otelcol(-contrib)?|grafana-agent|alloy)/"
)
"""`job` (or `service`) values that name the collector that scraped a series, not the
workload it describes: kube-prometheus' cAdvisor and kube-state-metrics (whose
ServiceMonitors also set `service="kubelet"` / `"kube-state-metrics"`), node-exporter,
an OpenTelemetry collector, the blackbox prober (its `instance` is the URL it probed),
YACE and other CloudWatch exporters (their `dimension_*` labels name the AWS resource),
a Pushgateway, any `*-exporter` (kafka-exporter's consumer lag is the consumer group's),
the scrape jobs of Prometheus' example Kubernetes configuration (`kubernetes-pods`,
`kubernetes-service-endpoints`: the service is in `kubernetes_name` or the pod), Nomad's
client telemetry (`nomad-clients`: the task group names it), dotnet-monitor, and agents
that forward what they scraped."""
_K8S_RAND = "[bcdfghjklmnpqrstvwxz2-9]"
_POD_SUFFIX = re.compile(
    rf"-(?:{_K8S_RAND}{{6,10}}-{_K8S_RAND}{{5}}|{_K8S_RAND}{{5}}|[0-9]{{1,4}})$"
)
"""What Kubernetes appends to a workload's name to name its pods: a Deployment's
pod-template hash and random suffix, a DaemonSet's suffix (both drawn from the
vowel-free alphabet Kubernetes uses, so `api-proxy` keeps its `proxy`), a StatefulSet's
ordinal."""


def workload_of(pod: str) -> str:
    """The workload a pod belongs to, by its name (`checkout-7d9f8b6c5d-x2x9q` → checkout)."""
    return _POD_SUFFIX.sub("", pod) or pod


WELL_KNOWN_SERVICE_LABELS: tuple[str, ...] = (
    "service_name",  # OpenTelemetry's service.name as a Prometheus label
    "app_kubernetes_io_name",  # Kubernetes' recommended app label, as a target label
    "label_app_kubernetes_io_name",  # the same, through kube-state-metrics' *_labels
    "label_app",
    "k8s_app",  # the `k8s-app` pod label (kube-dns, add-ons) as a target label
    "k8s_deployment_name",  # OpenTelemetry's k8sattributes
    # Istio's standard metrics: the service requests went to (its workload, last, may
    # be one version of it: reviews-v2)
    "destination_canonical_service",
    "destination_app",
    "destination_service_name",
    "destination_workload",
    "deployment",  # kube-state-metrics' deployment series
    "statefulset",
    "daemonset",
    "kubernetes_name",  # Prometheus' example kubernetes-service-endpoints relabelling
    "exported_job",  # the job a series had before the collector's job replaced it
    "task_group",  # Nomad's allocation metrics
    "local_cluster",  # Envoy: the cluster of the sidecar's own service
    # CloudWatch through YACE: the managed resource that is itself the workload (an RDS
    # instance, an ElastiCache cluster, a Lambda function, an SQS queue, an ECS
    # service); not a load balancer or target group, which front one
    "dimension_DBInstanceIdentifier",
    "dimension_DBClusterIdentifier",
    "dimension_CacheClusterId",
    "dimension_FunctionName",
    "dimension_QueueName",
    "dimension_TableName",
    "dimension_DomainName",
    "dimension_ServiceName",
    # … an API Gateway API by its name, a Kinesis stream, an RDS Proxy, an EventBridge
    # bus, an SNS topic; and the `service` dimension Powertools for AWS Lambda puts on
    # the metrics a function emits (EMF), as YACE exports them
    "dimension_ApiName",
    "dimension_StreamName",
    "dimension_DBProxyName",
    "dimension_EventBusName",
    "dimension_TopicName",
    "dimension_service",
    # azure-metrics-exporter: the Azure resource the metric is of (`redis-sessions`,
    # `sql-tidewater-prod/sqldb-billing`, read as its last part)
    "resourceName",
    # stackdriver_exporter: the Google Cloud resource a Cloud Monitoring metric is of
    # (a Cloud SQL instance as `project:instance`, read as the instance; a Cloud
    # Function; a Memorystore instance; a Pub/Sub topic or subscription; Cloud Run's is
    # its `service_name`, above)
    "database_id",
    # … and a Memorystore instance by its resource path
    # (`projects/p/locations/us-central1/instances/session-redis`; a VM's numeric
    # `instance_id` names a machine, not a service, and is passed over)
    "instance_id",
    "function_name",
    "topic_id",
    "subscription_id",
)
"""Labels other stacks name a service by, tried after a profile's `service_labels` and
before the pod's workload."""


_ONE_NAME_EXPORTERS = frozenset({"azurerm_resource_metric", "azurerm_resourcegroup_metric"})

_ORDER_PREFIX = re.compile(r"^\d+[_.-]+(?=[A-Za-z_:])")
"""A file's ordering number (`34_pg_stat_activity.json`): no metric name begins with a
digit, so it is the file's place in a list, not part of the name."""
_AGGREGATE = re.compile(
    r"^(?:sum|max|min|avg)\s*(?:(?:by|without)\s*\([^()]*\)\s*)?\((.*?)\)"
    r"\s*(?:(?:by|without)\s*\([^()]*\))?$",
    re.DOTALL,
)
_LABEL_REPLACE = re.compile(r'^label_replace\s*\((.*?)(?:,\s*"[^"]*"){4}\s*\)$', re.DOTALL)
_SELECTOR = re.compile(r"^([A-Za-z_:][A-Za-z0-9_:]*)\s*(?:\{([^{}]*)\})?$")
_MEANING_MATCHERS = re.compile(
    r"\b(?:code|status\w*|\w*_code|outcome|result|reason|state|phase|condition|le|quantile|"
    r"type|kind|direction|reporter|error\w*)\s*(?:=~|!~|!=|=)",
    re.IGNORECASE,
)
"""Matchers that select what the series mean (`{code=~"5.."}`: the failures of a
request counter), which the metric's name alone does not say."""


def series_name(stem: str, query: str) -> str:
    """The metric name of a file's series that carry no `__name__`.

    A query that selects one metric, at most summed, maxed or averaged over some labels
    or relabelled (`sum by (pod, state) (pg_stat_activity_count{datname="game"})`),
    returns that metric: its name says what the series are, whatever the file is
    called. Anything else (a rate, a quantile, a ratio of two queries, or a selection
    by what the series mean, `http_requests_total{code=~"5.."}`) is what the file's
    name says it is, without an ordering number (`05_login_success_ratio`)."""
    q = query.strip()
    for _ in range(4):
        m = _AGGREGATE.match(q) or _LABEL_REPLACE.match(q)
        if m is None:
            break
        q = m.group(1).strip()
    sel = _SELECTOR.match(q)
    if sel is not None and not _MEANING_MATCHERS.search(sel.group(2) or ""):
        return sel.group(1)
    return _ORDER_PREFIX.sub("", stem)


"""Exporters that give every metric one name and say which in a `metric` label
(webdevops' azure-metrics-exporter): the series is read by that label, as
`azure_<metric>`."""


def _resource_name(v: str) -> str:
    """An Azure resource's own name, the last part of a nested one
    (`sql-tidewater-prod/sqldb-billing`: the database, on its server)."""
    return v.rsplit("/", 1)[-1] or v


_NODE_COLLECTOR = re.compile(r"(^|[-_])(node[-_]exporter|cadvisor|kubelet)([-_]|$)")
"""Collectors whose own pods measure the machine they run on."""
_CACHE_NODE = re.compile(r"-\d{3}$")
"""ElastiCache names a replication group's nodes `<group>-001`, `-002`, …"""
_RESOURCE_NAMES: dict[str, Callable[[str], str]] = {
    # ElastiCache's node `cart-redis-002` is of cart-redis
    "dimension_CacheClusterId": lambda v: _CACHE_NODE.sub("", v),
    # Azure's nested `sql-tidewater-prod/sqldb-billing` is the database
    "resourceName": _resource_name,
    # Cloud SQL's `lanternfish-prod:orders-db` is the instance, in its project
    "database_id": lambda v: v.rsplit(":", 1)[-1],
    "instance_id": lambda v: v.rsplit("/instances/", 1)[-1].split("/", 1)[0],
}
"""How a managed resource's label names the resource itself, where the value says more
(`WELL_KNOWN_SERVICE_LABELS`); a value left empty by it stays as it was."""


_CERT_COLLECTOR = re.compile(
    r"(^|[/_-])(cert-manager|x509-certificate-exporter|cert-exporter|ssl-exporter)$"
)
"""Collectors of certificates: cert-manager's controller, enix's x509-certificate-exporter
and the like. Their series describe the certificate of a service, not themselves."""
_CERT_OWNER_LABELS = ("secret_name", "name", "certificate", "secret")
"""Where a certificate collector names the certificate: x509-certificate-exporter's
`secret_name`, cert-manager's Certificate `name`."""
_TLS_SUFFIX = re.compile(
    r"([-_.](server|client|ingress|internal|public|serving|grpc|https?))?"
    r"[-_.](m?tls|ssl|certs?|certificate|crt)([-_.](secret|keypair))?$",
    re.I,
)
"""How a certificate's name says it is one (`auth-mtls`, `web-bff-tls`, `ledger-server-
cert-secret`, `inventory-grpc-tls` for the port it serves on): what is left names the
service it serves."""
_CLIENT_CERT = re.compile(
    r"[-_.]client[-_.](m?tls|ssl|certs?|certificate|crt)([-_.](secret|keypair))?$", re.I
)
"""A client certificate's name (`gridops-client-mtls`): it says which server the
certificate is presented to, not whose it is."""
_SUBJECT_LABELS = ("subject_CN", "subject_cn", "common_name")
"""Where a certificate collector gives the certificate's subject (x509-certificate-
exporter's `subject_CN`)."""


def _cert_owner(name: str, labels: dict[str, str]) -> str:
    """The service a certificate named `name` is of: what its name says besides that it
    is a certificate (`web-bff-tls` is web-bff's); for a client certificate, which is
    named after the server it is presented to (`gridops-client-mtls`), the first label
    of its subject where one is given (`outage-svc.tidewater-energy.example`): who
    presents it."""
    if _CLIENT_CERT.search(name):
        cn = next((labels[k] for k in _SUBJECT_LABELS if labels.get(k)), "")
        first = cn.split(".", 1)[0].strip().lower()
        if first and "*" not in first and "." in cn:
            return first
    return _TLS_SUFFIX.sub("", name) or name


_EXPORTER_RELEASE = re.compile(r"^(.+?)-prometheus-([a-z0-9]+)-exporter$")
"""A Helm release of a prometheus-community exporter chart (`payments-db-prometheus-
postgres-exporter`): the release is named after what it watches. Not an exporter that
watches machines or probes endpoints (`_MACHINE_EXPORTERS`): kube-prometheus-stack
installs node-exporter as `kube-prometheus-stack-prometheus-node-exporter`, and its
retransmits are a node's, not a service called `kube-prometheus-stack`."""
_MACHINE_EXPORTERS = frozenset({"node", "windows", "blackbox", "process", "systemd", "smartctl"})
_TARGET_LABELS = ("server", "addr")
"""Where an exporter names the server it watches: postgres_exporter's `server`
(`payments-db.databases.svc:5432`), redis_exporter's `addr`. Not a prober's `target` or
`instance`, a URL that may name anything (`attribute_by_url` matches those against the
services known)."""


_WEB_URL = re.compile(r"^\s*https?://", re.IGNORECASE)


def _target_of(labels: dict[str, str], collector: str) -> str | None:
    """The workload an exporter's series describe: the first DNS label of the server it
    names, or, for one product's exporter scraped per target (redis_exporter's and
    mysqld_exporter's multi-target mode, `instance` relabelled to the target), of its
    `instance` where that is a name and not the exporter's own pod; or the release its
    chart was installed as."""
    for key in _TARGET_LABELS:
        v = labels.get(key, "")
        if _WEB_URL.match(v):
            # a web endpoint checked (Telegraf's http_response `server`): its host may be a
            # public name (`www.shop.example`) of no workload; `attribute_by_url` matches
            # it against the services known
            continue
        first = _first_label(v)
        if first:
            return first
    worker = labels.get("hostname", "")
    if "@" in worker:
        # a worker as Celery names it, `celery@<its host>` (celery-exporter's `hostname`):
        # the pod it runs in, read as its workload
        host = worker.rsplit("@", 1)[1].split(".", 1)[0].strip().lower()
        if host:
            return workload_of(host)
    m = _EXPORTER_RELEASE.match(collector)
    if m:
        return m.group(1) if m.group(2) not in _MACHINE_EXPORTERS else None
    m = _PRODUCT_EXPORTER.match(collector)
    if m and m.group(1) not in _MACHINE_EXPORTERS:
        first = _first_label(labels.get("instance", ""))
        pod = (labels.get("pod") or labels.get("pod_name") or "").lower()
        # (a sidecar exporter is scraped at its own pod's address, and one scraped at
        # its own pod's name is called after its job: `stackdriver-exporter-gx87d`)
        own = collector.lower()
        if first and first not in (pod, workload_of(pod), own) and not first.startswith(own):
            return first
    return None


_PRODUCT_EXPORTER = re.compile(r"^([a-z0-9]+)[_-]exporter$", re.IGNORECASE)
"""One product's exporter by its usual job name (`redis-exporter`, `mysqld_exporter`)."""


_KEYWORD_DSN = re.compile(r"^\s*\w+\s*=")
_DSN_HOST = re.compile(r"(?:^|\s)host\s*=\s*'?([^\s']+)")


def _first_label(v: str) -> str:
    """The first DNS label of a server's address (`redis://cart-redis.shop.svc:6379` →
    `cart-redis`), or "" for none, an IP address or localhost. A connection string of
    keywords (libpq's `host=db01 port=5432 dbname=app`, as Telegraf's `server` tag
    carries it) by its `host`."""
    if _KEYWORD_DSN.match(v):
        m = _DSN_HOST.search(v)
        v = m.group(1) if m else ""
    first = host_of(v).split(".", 1)[0]
    if not first or first.replace("-", "").isdigit() or ":" in first or first == "localhost":
        return ""  # none, an IPv4 or IPv6 address, or the exporter's own machine
    return first


def _metrics_endpoint_owner(name: str, labels: dict[str, str]) -> str:
    """`session-redis` for the Service `session-redis-metrics` that exposes the exporter
    sidecar of `session-redis-master-0` (Helm charts name their metrics Service
    `<release>-metrics`): only where the series' pod or container bears it out."""
    if not name.endswith("-metrics"):
        return name
    owner = name.removesuffix("-metrics")
    pod = labels.get("pod") or labels.get("pod_name") or ""
    workload = workload_of(pod) if pod else ""
    if workload == name:  # the pods of an application called so
        return name
    if owner and (
        labels.get("container") == "metrics"
        or workload == owner
        or workload.startswith(owner + "-")
    ):
        return owner
    return name


def service_of(labels: dict[str, str], service_labels: Sequence[str]) -> str | None:
    """A series' or alert's service: the first of `service_labels` present, where a
    `job` naming the collector (`_COLLECTOR_JOB`) does not count and a `namespace/name`
    job (Promtail, Grafana Agent) is its name; then the labels other stacks name a
    service by (`WELL_KNOWN_SERVICE_LABELS`). With none, the workload of its pod: a
    cAdvisor or kube-state-metrics series names its pod, not its service; with no pod,
    its container (Nomad, Docker), unless a sidecar's."""
    group = labels.get("consumergroup") or labels.get("consumer_group")
    if group:
        # a consumer group's lag or offsets (kafka_exporter's `consumergroup`, Datadog's
        # and Burrow's `consumer_group`) measure the consumer, whichever broker's job
        # scraped them
        return group
    own = labels.get("exported_service")
    if own and not _COLLECTOR_JOB.search(own):
        # the series' own `service`, renamed because the scrape target had one (the
        # ingress controller's metrics endpoint): the backend it describes
        return own
    for key in (*service_labels, *WELL_KNOWN_SERVICE_LABELS):
        v = labels.get(key)
        if not v or v.lower() in _NO_NAME:
            continue
        if key == "instance_id" and "/instances/" not in v:
            continue  # a machine's id (GCE, EC2), not a managed resource's path
        # `kubernetes_name` is a Service's name as `service` is (Prometheus' example
        # kubernetes-service-endpoints job): `prometheus-node-exporter` names the collector
        if key in ("job", "service", "exported_job", "kubernetes_name"):
            if _CERT_COLLECTOR.search(v):
                owner = next((labels[k] for k in _CERT_OWNER_LABELS if labels.get(k)), "")
                if owner:
                    return _cert_owner(owner, labels)
                continue
            if _COLLECTOR_JOB.search(v):
                target = _target_of(labels, v)
                if target:
                    return target
                continue
        if key in ("job", "exported_job"):
            v = v.rsplit("/", 1)[-1] or v
            # the JMX exporter scraped as `<app>-jmx` (a javaagent in the app's own JVM,
            # Kafka's, Cassandra's): the application's series
            v = _JMX_JOB.sub("", v) or v
        if key in ("job", "service", "kubernetes_name"):
            v = _metrics_endpoint_owner(v, labels)
        own_name = _RESOURCE_NAMES.get(key)
        return (own_name(v) or v) if own_name else v
    pod = labels.get("pod") or labels.get("pod_name")
    if pod:
        w = workload_of(pod)
        # a collector's own pod (node-exporter's DaemonSet, stackdriver-exporter's and
        # redis-exporter's Deployments, as Managed Prometheus labels every target): what
        # it measures is another's, not a service called after the collector
        return None if _NODE_COLLECTOR.search(w) or _COLLECTOR_JOB.search(w) else w
    container = labels.get("container") or labels.get("container_name")
    if container and container.lower() not in _NOT_APP_CONTAINERS:
        return container
    return docker_service(labels)


_SWARM_TASK = re.compile(r"^(?P<service>.+)\.\d+\.[a-z0-9]{20,}$")
"""A Swarm task's container name: `<stack>_<service>.<slot>.<task id>`."""
_REPLICA_INDEX = re.compile(r"[-_]\d{1,3}$")
"""Compose's replica number at the end of a container's name (`shop_cart_1`)."""


def docker_service(labels: dict[str, str]) -> str | None:
    """The service of a container cAdvisor reports on plain Docker (its series carry
    the container's `name`, its `image` and cgroup `id`, not a pod): Compose's own
    service label; Swarm's service (`<stack>_<service>`, the stack's name taken off);
    else the container's name, less a Swarm task's slot and id or Compose's replica
    number (Kolla's `nova_api`, read as nova-api where the rest of the data spells it
    so). None for labels of no Docker container."""
    compose = labels.get("container_label_com_docker_compose_service")
    if compose:
        return compose
    swarm = labels.get("container_label_com_docker_swarm_service_name")
    name = labels.get("name", "")
    if not swarm and not (
        name
        and (
            labels.get("image")
            or labels.get("id", "").startswith(("/docker", "/system.slice/docker"))
        )
    ):
        return None
    task = _SWARM_TASK.match(name) if name else None
    if swarm or task:
        full = swarm or (task.group("service") if task else "")
        stack = labels.get("container_label_com_docker_stack_namespace", "")
        if stack and full.startswith(stack + "_"):
            return full[len(stack) + 1 :]
        _, sep, rest = full.partition("_")
        return rest if sep and len(rest) >= 3 else full
    return _REPLICA_INDEX.sub("", name.lstrip("/")) or None


_JMX_JOB = re.compile(r"[-_]jmx$", re.IGNORECASE)
"""The JMX exporter's job named after the application it runs in (`kafka-jmx`)."""
_NOT_APP_CONTAINERS = frozenset({"pod", "istio-proxy", "linkerd-proxy", "envoy", "istio-init"})
_NO_NAME = frozenset({"unknown"})
"""A label value that names nothing: Istio's `destination_workload="unknown"` for a
destination outside the mesh (a managed database), its `source_workload` for a caller
without a sidecar. The next label says more (`destination_service_name`)."""
"""Containers that are not the application: the pause container cAdvisor reports as
`POD`, and mesh sidecars."""


def alert_from_wire(a: AlertIn, service_labels: Sequence[str], source: str) -> Alert:
    """Normalise an Alertmanager v2 alert (bundle or live API) into the domain model."""
    labels = dict(a.labels)
    return Alert(
        id=a.fingerprint,
        name=labels.get("alertname", "unnamed"),
        service=service_of(labels, service_labels),
        severity=(labels.get("severity") or "none").lower(),
        state=a.status.state,
        labels=labels,
        annotations=dict(a.annotations),
        starts_at=to_datetime(a.startsAt),
        ends_at=to_datetime(a.endsAt) if a.endsAt else None,
        updated_at=to_datetime(a.updatedAt) if a.updatedAt else None,
        generator_url=a.generatorURL,
        source=source,
        silenced_by=list(a.status.silencedBy),
        inhibited_by=list(a.status.inhibitedBy),
        receivers=[r.name for r in a.receivers],
        sources=[source],
    )


def _is_groups(data: Any) -> bool:
    """Is `data` the body of Alertmanager API v2 `GET /api/v2/alerts/groups`: a list of
    `{labels, receiver, alerts}` (an alert has `startsAt`, a group does not)?"""
    return (
        isinstance(data, list)
        and bool(data)
        and all(
            isinstance(g, dict) and "alerts" in g and "receiver" in g and "startsAt" not in g
            for g in data
        )
    )


def _group_alerts(groups: list[dict[str, Any]]) -> tuple[list[Any], list[str]]:
    """The alerts of an `/api/v2/alerts/groups` body and their JSON paths: each alert
    once (an alert routed to several receivers is in a group per receiver), with the
    receivers of its groups when it names none itself."""
    out: list[Any] = []
    paths: list[str] = []
    seen: dict[str, dict[str, Any]] = {}
    named_by_group: set[str] = set()  # fingerprints whose receivers are their groups'
    for i, group in enumerate(groups):
        alerts = group.get("alerts")
        if alerts is None:  # Go writes an empty slice as null
            continue
        if not isinstance(alerts, list):
            out.append(alerts)  # refused below, at its path
            paths.append(f"$[{i}].alerts")
            continue
        rcv = group.get("receiver")
        name = rcv.get("name") if isinstance(rcv, dict) else rcv
        for j, a in enumerate(alerts):
            fp = a.get("fingerprint") if isinstance(a, dict) else None
            if isinstance(fp, str) and fp in seen:
                if isinstance(name, str) and fp in named_by_group:
                    receivers = seen[fp]["receivers"]
                    if {"name": name} not in receivers:
                        receivers.append({"name": name})
                continue
            if isinstance(a, dict):
                a = dict(a)
                if not a.get("receivers") and isinstance(name, str):
                    a["receivers"] = [{"name": name}]
                    if isinstance(fp, str):
                        named_by_group.add(fp)
                if isinstance(fp, str):
                    seen[fp] = a
            out.append(a)
            paths.append(f"$[{i}].alerts[{j}]")
    return out, paths


def _wire_alerts(data: Any) -> tuple[Any, str | list[str]]:
    """The alert list of what was saved as alerts.json, and the JSON path it sits at
    (or the path of each alert).

    Besides the API v2 body (a list), three other shapes that engineers save from
    Alertmanager are read: the API v2 groups body (`GET /api/v2/alerts/groups`, a list
    of `{labels, receiver, alerts}`), a webhook notification (`{"alerts": [...],
    "receiver": ...}`, each alert's `status` a string, its fingerprint missing before
    Alertmanager 0.19) and the API v1 envelope (`{"status": "success", "data": [...]}`,
    receivers as names)."""
    if _is_groups(data):
        return _group_alerts(data)
    if not isinstance(data, dict):
        return data, "$"
    if isinstance(data.get("alerts"), list):
        receiver = data.get("receiver")
        out = []
        for a in data["alerts"]:
            if isinstance(a, dict):
                a = dict(a)
                st = a.get("status")
                if isinstance(st, str):
                    a["status"] = {"state": "active" if st == "firing" else st}
                if not a.get("fingerprint") and isinstance(a.get("labels"), dict):
                    canon = orjson.dumps(a["labels"], option=orjson.OPT_SORT_KEYS)
                    a["fingerprint"] = hashlib.sha256(canon).hexdigest()[:16]
                if isinstance(receiver, str) and "receivers" not in a:
                    a["receivers"] = [{"name": receiver}]
            out.append(a)
        return out, "$.alerts"
    if isinstance(data.get("data"), list):
        out = []
        for a in data["data"]:
            if isinstance(a, dict) and isinstance(a.get("receivers"), list):
                a = dict(a)
                a["receivers"] = [{"name": r} if isinstance(r, str) else r for r in a["receivers"]]
            out.append(a)
        return out, "$.data"
    return data, "$"


def parse_alerts(
    data: Any, path: Path | str, service_labels: Sequence[str], source: str
) -> list[Alert]:
    data, at = _wire_alerts(data)
    if not isinstance(data, list):
        raise BundleError(f"{path}: $: expected a list of alerts (GET /api/v2/alerts body)")
    places = at if isinstance(at, list) else [f"{at}[{i}]" for i in range(len(data))]
    out: list[Alert] = []
    for place, item in zip(places, data, strict=True):
        try:
            a = AlertIn.model_validate(item)
        except ValidationError as exc:
            raise BundleError(f"{path}: {place}{_first_error(exc)[1:]}") from None
        for field_name in ("startsAt", "endsAt", "updatedAt"):
            value = getattr(a, field_name)
            if value:
                try:
                    to_unix(value)
                except TimestampError as exc:
                    raise BundleError(f"{path}: {place}.{field_name}: {exc}") from None
        out.append(alert_from_wire(a, service_labels, source))
    return out


def _float(v: Any) -> float:
    if isinstance(v, str):
        return float(v)  # accepts "NaN", "+Inf", "-Inf" as Prometheus writes them
    if isinstance(v, int | float) and not isinstance(v, bool):
        return float(v)
    raise ValueError(f"not a number: {v!r}")


def _same(a: float, b: float) -> bool:
    return a == b or (a != a and b != b)  # NaN repeats NaN


def _conflict(ts: list[float], vs: list[float]) -> int | None:
    """In points sorted by time: the index of the first of two at one time with
    different values (None: every repeated point repeats its value)."""
    for k in range(len(ts) - 1):
        if ts[k] == ts[k + 1] and not _same(vs[k], vs[k + 1]):
            return k
    return None


def _dedup(ts: list[float], vs: list[float]) -> tuple[list[float], list[float]]:
    """Sorted points without the repeats of a point (same time, same value): two range
    answers concatenated repeat their boundary step."""
    keep = [k for k in range(len(ts)) if k == 0 or ts[k] != ts[k - 1]]
    if len(keep) == len(ts):
        return ts, vs
    return [ts[k] for k in keep], [vs[k] for k in keep]


def parse_query_range(
    data: Any,
    ref: str,
    stem: str,
    service_labels: Sequence[str],
    query: str = "",
) -> list[Series]:
    """Series from a Prometheus `GET /api/v1/query_range` response body."""
    if not isinstance(data, dict):
        raise BundleError(f"{ref}: $: expected a query_range response object")
    if data.get("status", "success") != "success":
        raise BundleError(f"{ref}: $.status: {data.get('status')!r} (error: {data.get('error')})")
    body = data.get("data")
    if not isinstance(body, dict):
        raise BundleError(f"{ref}: $.data: missing or not an object")
    rtype = body.get("resultType")
    if rtype != "matrix":
        raise BundleError(
            f"{ref}: $.data.resultType: expected 'matrix' (a query_range result), got {rtype!r}",
            hint="save the body of GET /api/v1/query_range (start, end, step) for this query;"
            " an instant query (/api/v1/query) has one point and cannot show a change",
        )
    result = body.get("result")
    if not isinstance(result, list):
        raise BundleError(f"{ref}: $.data.result: expected a list")
    out: list[Series] = []
    for i, s in enumerate(result):
        if not isinstance(s, dict):
            raise BundleError(f"{ref}: $.data.result[{i}]: expected an object")
        metric = s.get("metric", {})
        if not isinstance(metric, dict):
            raise BundleError(f"{ref}: $.data.result[{i}].metric: expected an object")
        values = s.get("values")
        if values is None and isinstance(s.get("histograms"), list):
            values = []  # native histograms only: no float sample (dropped with a note)
        if not isinstance(values, list):
            raise BundleError(f"{ref}: $.data.result[{i}].values: expected a list of pairs")
        ts: list[float] = []
        vs: list[float] = []
        for j, pair in enumerate(values):
            try:
                try:
                    t = float(pair[0])
                except ValueError:
                    # an RFC 3339 time where Prometheus writes unix seconds
                    t = to_unix(pair[0]) if isinstance(pair[0], str) else math.nan
                v = _float(pair[1])
            except (TypeError, ValueError, IndexError, KeyError):
                raise BundleError(
                    f'{ref}: $.data.result[{i}].values[{j}]: expected [unix_ts, "value"],'
                    f" got {str(pair)[:60]}"
                ) from None
            if not UNIX_MIN <= t <= UNIX_MAX:  # also NaN and infinities
                try:  # milliseconds (or finer) where Prometheus writes seconds
                    t = to_unix(t) if t >= 1e11 else math.nan
                except TimestampError:
                    t = math.nan
                if not UNIX_MIN <= t <= UNIX_MAX:
                    raise BundleError(
                        f"{ref}: $.data.result[{i}].values[{j}]: timestamp {pair[0]!r}"
                        " out of range (unix seconds between 1970 and 3000)"
                    )
            ts.append(t)
            vs.append(v)
        labels = {str(k): str(v) for k, v in metric.items()}
        name = labels.pop("__name__", None) or series_name(stem, query)
        if name in _ONE_NAME_EXPORTERS and labels.get("metric"):
            # azure-metrics-exporter: one name for every Azure Monitor metric, the
            # measurement in `metric` (`cpu_percent`, `Http5xx`, `NormalizedRUConsumption`)
            name = f"azure_{labels['metric']}"
        if ts and any(b <= a for a, b in zip(ts, ts[1:], strict=False)):
            order = sorted(range(len(ts)), key=ts.__getitem__)
            ts = [ts[k] for k in order]
            vs = [vs[k] for k in order]
            dup = _conflict(ts, vs)
            if dup is not None:
                first, second = sorted((order[dup], order[dup + 1]))
                at = f"{ts[dup]:.6f}".rstrip("0").rstrip(".")
                raise BundleError(
                    f"{ref}: $.data.result[{i}].values[{first}] and [{second}] are both at"
                    f" timestamp {at} (a range query returns one point per step)"
                )
            ts, vs = _dedup(ts, vs)
        out.append(
            Series(
                name=name,
                service=service_of(labels, service_labels),
                labels=labels,
                timestamps=ts,
                values=vs,
                query=query,
                ref=ref,
            )
        )
    return out


_LEVELS = {
    "err": "error",
    "error": "error",
    "fatal": "fatal",
    "crit": "fatal",
    "critical": "fatal",
    "panic": "fatal",
    "emerg": "fatal",
    "alert": "fatal",
    "warn": "warn",
    "warning": "warn",
    "info": "info",
    "notice": "info",
    "log": "info",  # PostgreSQL: routine messages (checkpoints, connections)
    "note": "info",  # MySQL: [Note]
    "debug": "debug",
    "trace": "debug",
    # long names (syslog's), .NET's and Serilog's, winston's, zap's
    "emergency": "fatal",
    "information": "info",
    "informational": "info",
    "verbose": "debug",
    "silly": "debug",
    "dpanic": "error",
    # Serilog's three-letter levels (`{Level:u3}`)
    "ftl": "fatal",
    "wrn": "warn",
    "inf": "info",
    "dbg": "debug",
    "vrb": "debug",
    "trc": "debug",
    # java.util.logging
    "severe": "error",
    "config": "info",
    "fine": "debug",
    "finer": "debug",
    "finest": "debug",
    # glog / klog line prefixes
    "f": "fatal",
    "e": "error",
    "w": "warn",
    "i": "info",
    "d": "debug",
}
_NUMERIC_LEVELS = {
    # pino and bunyan (Node.js)
    10: "debug",
    20: "debug",
    30: "info",
    40: "warn",
    50: "error",
    60: "fatal",
    # syslog severities (RFC 5424)
    0: "fatal",
    1: "fatal",
    2: "fatal",
    3: "error",
    4: "warn",
    5: "info",
    6: "info",
    7: "debug",
}


_KNOWN_LEVELS = frozenset(_LEVELS.values())


_LEVEL_KEYS = (
    "severity",
    "levelname",
    "log.level",
    "severity_text",
    "SeverityText",
    "lvl",
    "@l",
    "LogLevel",
)
"""Where structured loggers other than the `level` convention put the level: GCP and
Serilog, Python's logging, Elastic Common Schema, OpenTelemetry, .NET's JSON console
formatter (`LogLevel`)."""
_TIME_KEYS = (
    "timestamp",
    "time",
    "@timestamp",
    "@t",
    "timeUnixNano",
    "time_unix_nano",
    "observedTimeUnixNano",
    "datetime",
    "date",
)
"""Where a record keeps its time when it has no `ts`: the common names, Elastic Common
Schema and Logstash (`@timestamp`), OpenTelemetry's log data model (`timeUnixNano`)."""
_MSG_KEYS = (
    "message",
    "log",
    "body",
    "event",
    "textPayload",
    "MESSAGE",
    "short_message",
    "line",
    "@m",
    "@mt",
    "Message",
)
"""Where a record keeps its text when it has no `msg`: the common names, Docker's json
log driver (`log`), OpenTelemetry's log data model (`body`), structlog (`event`), GCP
(`textPayload`), journald (`MESSAGE`), GELF (`short_message`), Loki's `logcli -o jsonl`
(`line`), Serilog's compact JSON (CLEF: the rendered `@m`, else the template `@mt`,
rendered by `clef_message`), and .NET's JSON console formatter (`Message`)."""
_CLEF_HOLE = re.compile(r"\{[@$]?([A-Za-z_][\w.]*)(?:,-?\d+)?(?::[^}]*)?\}")
"""A hole of a Serilog message template: `{Name}`, `{@Name}` (destructured), `{$Name}`,
with an alignment or a format (`{Elapsed:0.0000}`)."""
_CLEF_INNER = re.compile(r"\s*---> ([\w.`]+(?:Exception|Error)\b[^\r\n]*)")
"""An inner exception in .NET's `Exception.ToString()`: ` ---> System.IO.IOException: …`."""


def clef_message(obj: dict[str, Any], text: str, template: bool) -> str:
    """A Serilog compact JSON record's text: its template (`@mt`) with the holes filled
    from the record's properties where it has them, and the exception it carries (`@x`,
    .NET's `Exception.ToString()`) as its first line and innermost cause, which is
    what an engineer reads of it (`Error when executing service method 'ReserveSlot'.:
    System.OperationCanceledException: The operation was canceled.`)."""
    if template and "{" in text:

        def fill(m: re.Match[str]) -> str:
            v = obj.get(m.group(1))
            return m.group(0) if v is None or isinstance(v, dict | list) else str(v)

        text = _CLEF_HOLE.sub(fill, text)
    exc = obj.get("@x")
    if type(exc) is str and exc:
        said = dotnet_exception(exc)
        text = f"{text}: {said}" if text else said
    return text


def dotnet_exception(exc: str) -> str:
    """What .NET's `Exception.ToString()` says failed: its first line, and the innermost
    exception (` ---> X: …`) where that is not in it."""
    first = exc.split("\n", 1)[0].strip()
    inner = _CLEF_INNER.findall(exc)
    return first if not inner or inner[-1].strip() in first else f"{first} ---> {inner[-1]}"


FAILED_LEVELS = frozenset({"warn", "error", "fatal"})
"""Levels whose records' `error`/`err` field is read with their message (`with_failure`)."""


def with_failure(msg: str, obj: dict[str, Any]) -> str:
    """A record's message with what failed, where its logger keeps that beside it: zap,
    zerolog and logrus write `"msg": "call paylane failed", "error": "…tls: expired
    certificate"`; Powertools for AWS Lambda writes an exception's traceback under
    `exception` (Python: its last line is the exception, `QueryCanceled: canceling
    statement due to statement timeout`) or an `error` object (TypeScript: its `name` and
    `message`); Java's logstash encoder a `stack_trace` (`java_throwable`), .NET's JSON
    console formatter an `Exception` (`dotnet_exception`). Unchanged where the message
    already says it."""
    err = obj.get("error")
    if err is None:
        err = obj.get("err")
    if isinstance(err, dict):
        # (Elastic Common Schema's `error` is a `type` and a `message`)
        said = [x for k in ("name", "type", "message") if type(x := err.get(k)) is str and x]
        err = ": ".join(said) if said else None
    if err is None and type(exc := obj.get("exception")) is str:
        last = [x.strip() for x in exc.strip().splitlines() if x.strip()]
        err = last[-1] if last else None
    if err is None and type(trace := obj.get("stack_trace")) is str:
        err = java_throwable(trace)
    if err is None and type(exc := obj.get("Exception")) is str and exc.strip():
        err = dotnet_exception(exc)
    if type(err) is str and err and err not in msg:
        return f"{msg}: {err}"
    return msg


def java_throwable(trace: str) -> str | None:
    """What a Java stack trace says failed (logstash-logback-encoder's `stack_trace`):
    its first line, the exception and its message, and the last `Caused by:` under it,
    where the one that began it is named (`DynamoDbException: Internal server error
    (Service: DynamoDb, Status Code: 500, …)`)."""
    lines = [x.strip() for x in trace.strip().splitlines() if x.strip()]
    if not lines:
        return None
    causes = [x[len("Caused by:") :].strip() for x in lines if x.startswith("Caused by:")]
    if causes and causes[-1] not in lines[0]:
        return f"{lines[0]} ---> {causes[-1]}"
    return lines[0]


_HOST_KEYS = ("host.name", "hostname", "host", "computer_name", "winlog.computer_name")
"""Where a record names the machine it was written on: Elastic Common Schema's
`host.name` (Beats, Elastic Agent; also nested as `host: {name}`), syslog relays'
`hostname`/`host`, Windows event forwarding's `computer_name`."""


def _short_host(v: str) -> str:
    """A machine's short name in lower case (`APP-03.fernhill.local` → `app-03`); an
    address as it is."""
    v = v.strip()
    return v if v.replace(".", "").isdigit() else v.split(".", 1)[0].lower()


def _first_time(host: str, svc: str, seen: set[tuple[str, str]]) -> bool:
    """True the first time (host, svc) is seen: a machine is read once per service."""
    key = (host, svc)
    if key in seen:
        return False
    seen.add(key)
    return True


def machine_of(obj: dict[str, Any]) -> str:
    """The machine a record names (`_HOST_KEYS`), as its short name in lower case
    (`APP-03.fernhill.local` → `app-03`), or "" when it names none."""
    for key in _HOST_KEYS:
        v = obj.get(key)
        if isinstance(v, dict):
            v = v.get("name") or v.get("hostname")
        if type(v) is str and v.strip():
            return _short_host(v)
    return ""


_SERVICE_KEYS = ("service.name", "service_name", "app")
"""Where a record names its service when it has no `service` key (OpenTelemetry)."""
_LEVEL_GUESS = re.compile(r"\b(FATAL|PANIC|CRITICAL|ERROR|ERR|WARN(?:ING)?|INFO|DEBUG)\b", re.I)


def guess_level(text: str) -> str | None:
    """The level a line written without one states in its text (`2024-… ERROR …`,
    `level=warn`), from its first 200 characters; None when it names none."""
    g = _LEVEL_GUESS.search(text[:200])
    return normalize_level(g.group(1)) if g else None


def normalize_level(raw: Any) -> str:
    """A record's level as one of fatal/error/warn/info/debug where it says one: names
    (syslog's, java.util.logging's, glog's letters), and numbers (pino and bunyan's
    10-60, syslog's 0-7). Anything else is kept, lower-cased (the log analyzer reads an
    unknown level as an error)."""
    if raw is None:
        return "info"
    if isinstance(raw, int) and not isinstance(raw, bool):
        return _NUMERIC_LEVELS.get(raw, str(raw))
    if isinstance(raw, float) and raw.is_integer():
        return _NUMERIC_LEVELS.get(int(raw), str(raw))
    if not isinstance(raw, str):
        return str(raw).lower()
    low = raw.strip().lower()
    if low.isdigit():
        return _NUMERIC_LEVELS.get(int(low), low)
    return _LEVELS.get(low, low)


_BULK_TIMES = 20_000
"""Log times in one file from which numpy parses them in bulk."""


def _iso_seconds(t: str, cache: dict[str, float]) -> float | None:
    """Fast path for `YYYY-MM-DDTHH:MM:SS.fffZ` (any fraction digits): the minute is
    parsed once per distinct minute, the seconds and the fraction added (a log rarely
    repeats a second, but it repeats minutes). None when `t` has another shape (the
    caller parses it in full)."""
    if len(t) < 22 or t[19] != "." or t[-1] != "Z" or t[10] != "T":
        return None
    frac = t[20:-1]
    if not frac.isdigit():
        return None
    tens, ones = t[17], t[18]
    if t[16] == ":" and tens in "012345" and ones in "0123456789":
        minute = cache.get(t[:16])
        if minute is None:
            try:
                minute = to_unix(t[:16] + ":00Z")
            except TimestampError:
                minute = -1.0  # not a valid minute: the full parse below says why
            if len(cache) >= 65536:
                cache.clear()
            cache[t[:16]] = minute
        secs = minute + ((ord(tens) - 48) * 10 + ord(ones) - 48)
        if minute >= 0 and secs <= UNIX_MAX:
            return secs + float("0." + frac)
    base = cache.get(t[:19])
    if base is None:
        base = to_unix(t[:19] + "Z")
        if len(cache) >= 65536:
            cache.clear()
        cache[t[:19]] = base
    return base + float("0." + frac)


def _inner_record(msg: str) -> tuple[str, Any] | None:
    """(message, level) of a JSON record logged as the message of an outer record (a
    container runtime wrapping an app's structured log line), or None."""
    try:
        inner = orjson.loads(msg)
    except orjson.JSONDecodeError:
        return None
    if type(inner) is not dict:
        return None
    text = inner.get("message", inner.get("msg"))
    if not isinstance(text, str):
        return None
    return text, inner.get("severity", inner.get("level"))


def read_jsonl_logs(
    path: Path,
    display: str,
    table: LogTable,
    *,
    root: Path | None = None,
    limits: InputLimits | None = None,
) -> None:
    """Append the records of one logs/*.jsonl file to `table` (validated by hand).

    When a record's level is missing or not a known level and its message is itself a
    JSON object with a message (a runtime wrapping an app's structured line), the inner
    message and level are used. The file must be a regular file (inside `root` when
    given) within `limits.max_file_mb`, and the table may not grow past
    `limits.max_log_lines`.
    """
    lim = limits or InputLimits()
    max_lines = lim.max_log_lines - len(table)
    file_idx = len(table.files)
    table.files.append(display)
    default_service = path.stem
    loads = orjson.loads
    ts_col, svc_col, lvl_col, msg_col = table.ts, table.service, table.level, table.msg
    fi_col, ln_col = table.file_idx, table.line
    level_cache: dict[Any, str] = {}
    ts_cache: dict[str, float] = {}
    svc_names: dict[str, str] = {}
    # Timestamps of the common shape (`YYYY-MM-DDTHH:MM:SS.fffZ`) are parsed in bulk once
    # the file is read: their rows, and the text without the `Z`.
    iso_rows = array("l")
    iso_text: list[str] = []
    row = len(ts_col)
    place = table.placements.add
    seen_hosts: set[tuple[str, str]] = set()
    read_host: bool | None = None
    ts_append, svc_append, lvl_append = ts_col.append, svc_col.append, lvl_col.append
    msg_append, fi_append, ln_append = msg_col.append, fi_col.append, ln_col.append
    fh = _open_data(path, display, root, lim)
    with fh:
        for lineno, raw in enumerate(islice(fh, max_lines), 1):
            if lineno == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM) :]
            if not raw.strip():
                continue
            try:
                obj = loads(raw)
            except orjson.JSONDecodeError as exc:
                if _cut_short(raw, lineno, exc):
                    table.notes.append(cut_note(display, lineno))
                    break
                if _not_utf8(raw, exc) is None:
                    raise _jsonl_error(display, lineno, raw, exc) from None
                # a log line with a stray byte (Latin-1 text, a truncated multi-byte
                # character) keeps its record: the bad bytes are read as U+FFFD
                try:
                    obj = loads(raw.decode("utf-8", "replace"))
                except orjson.JSONDecodeError as exc2:
                    raise _jsonl_error(display, lineno, raw, exc2) from None
            if type(obj) is not dict:
                raise BundleError(
                    f"{display}:{lineno}: expected a JSON object, got {type(obj).__name__}"
                )
            t = obj.get("ts")
            if t is None:
                for key in _TIME_KEYS:
                    t = obj.get(key)
                    if t is not None:
                        break
            if type(t) is str and len(t) >= 22 and t[-1] == "Z" and t[19] == "." and t[10] == "T":
                iso_rows.append(row)
                iso_text.append(t[:-1])
                tv = 0.0  # filled in below
            else:
                try:
                    cached = ts_cache.get(t) if type(t) is str else None
                    if cached is not None:
                        tv = cached
                    else:
                        tv = to_unix(t)
                        if type(t) is str and len(ts_cache) < 4096:
                            ts_cache[t] = tv
                except TimestampError as exc:
                    raise BundleError(f"{display}:{lineno}: ts: {exc}") from None
            lvl_raw = obj.get("level")
            if lvl_raw is None:
                for key in _LEVEL_KEYS:
                    lvl_raw = obj.get(key)
                    if lvl_raw is not None:
                        break
            try:
                lvl = level_cache[lvl_raw]
            except (KeyError, TypeError):
                lvl = normalize_level(lvl_raw)
                if isinstance(lvl_raw, str | None):
                    level_cache[lvl_raw] = lvl
            msg = obj.get("msg")
            if msg is None:
                for key in _MSG_KEYS:
                    msg = obj.get(key)
                    if msg is not None:
                        break
                else:
                    msg = key = ""
                if key[:1] == "@" and type(msg) is str:
                    # Serilog's compact JSON: no `@l` is Information
                    msg = clef_message(obj, msg, key == "@mt")
                    if lvl_raw is None:
                        lvl_raw, lvl = "Information", "info"
            elif msg == "record" and type(rec := obj.get("record")) is dict:
                # CloudNativePG: the instance manager wraps each PostgreSQL log record
                # (`"msg": "record", "record": {"error_severity", "message", …}`), and
                # its own level is `info` whatever the record's severity
                msg = rec.get("message", msg)
                if rec.get("error_severity") is not None:
                    lvl_raw = rec["error_severity"]
                    lvl = normalize_level(lvl_raw)
            if lvl_raw is None and type(msg) is str and msg[:1] != "{":
                # no level anywhere: the one its text states, else info
                lvl = guess_level(msg) or lvl
            if (
                (lvl_raw is None or lvl not in _KNOWN_LEVELS)
                and type(msg) is str
                and msg[:1] == "{"
            ):
                inner = _inner_record(msg)
                if inner is not None:
                    msg, lvl = inner[0], normalize_level(inner[1]) if inner[1] else lvl
            svc = obj.get("service")
            own = True
            if not svc:
                for key in _SERVICE_KEYS:
                    svc = obj.get(key)
                    if svc:
                        break
                else:
                    svc, own = default_service, False
                    host = machine_of(obj)
                    if host:
                        table.hosts[row] = host
            if type(svc) is not str:
                svc = str(svc)
            node = obj.get("node")
            if node is not None and type(node) is str:
                pod = obj.get("pod")
                place((node, svc, pod if type(pod) is str else ""))
            elif own and read_host is not False:
                # a shipper's machine field beside the record's own service (Vector's
                # and syslog's `host`): the service runs on that machine. Whether the
                # file has one is read from its first such record (a million records
                # without one pay one test each, not two lookups)
                if read_host is None:
                    read_host = "host" in obj or "hostname" in obj
                node = obj.get("host") or obj.get("hostname") if read_host else None
                if type(node) is str and node and _first_time(node, svc, seen_hosts):
                    place((_short_host(node), svc, ""))
            ts_append(tv)
            # one string object per service name, not one per record
            svc_append(svc_names.setdefault(svc, svc))
            lvl_append(lvl)
            if type(msg) is not str:
                msg = str(msg)
            if lvl in FAILED_LEVELS and (
                "error" in obj
                or "err" in obj
                or "exception" in obj
                or "stack_trace" in obj
                or "Exception" in obj
            ):
                msg = with_failure(msg, obj)
            msg_append(msg)
            fi_append(file_idx)
            ln_append(lineno)
            row += 1
        _check_line_cap(fh, display, lim.max_log_lines, "log lines", "limits.max_log_lines")
    if iso_text:
        _fill_iso_times(table, iso_rows, iso_text, display)


def _fill_iso_times(table: LogTable, rows: array[int], text: list[str], display: str) -> None:
    """Write the unix seconds of `text` (ISO 8601 UTC without the `Z`) into `table.ts` at
    `rows`. A large file's times are parsed by numpy in one call; a small file's (numpy
    is not worth its import), or a large one's where one time does not parse or is out
    of range, one by one, so that the error names the first bad line."""
    ts = table.ts
    if len(text) >= _BULK_TIMES:
        import numpy as np

        try:
            secs = np.array(text, dtype="datetime64[us]").astype(np.int64) / 1e6
        except ValueError:
            pass
        else:
            if secs.min() >= UNIX_MIN and secs.max() <= UNIX_MAX:
                first = rows[0]
                if rows[-1] - first == len(rows) - 1:  # contiguous: every record's shape
                    ts[first : first + len(rows)] = array("d", secs.tobytes())
                else:
                    for r, v in zip(rows, secs.tolist(), strict=True):
                        ts[r] = v
                return
    cache: dict[str, float] = {}
    for r, t in zip(rows, text, strict=True):
        try:
            v = _iso_seconds(t + "Z", cache)
            ts[r] = to_unix(t + "Z") if v is None else v
        except TimestampError as exc:
            raise BundleError(f"{display}:{table.line[r]}: ts: {exc}") from None


def _open_data(path: Path, display: str, root: Path | None, limits: InputLimits) -> IO[bytes]:
    return open_regular(
        path,
        max_bytes=int(limits.max_file_mb * _MB),
        error=BundleError,
        root=root,
        display=display,
        limit_name="limits.max_file_mb",
    )


def _check_line_cap(fh: IO[bytes], display: str, cap: int, what: str, setting: str) -> None:
    """After reading `cap` lines in total: refuse when the file still has content."""
    if fh.read(1):
        raise BundleError(
            f"{display}: the bundle holds more than {cap:,} {what} ({setting})",
            hint=f"raise {setting} in the profile, or cut the bundle to the incident window",
        )


_CHANGE_KIND_SYNONYMS = {
    "deployment": "deploy",
    "rollout": "deploy",
    "release": "deploy",
    "canary": "deploy",
    "rollback": "deploy",
    "configuration": "config",
    "config_change": "config",
    "configmap": "config",
    "feature_flag": "flag",
    "featureflag": "flag",
    "toggle": "flag",
    "infrastructure": "infra",
    "terraform": "infra",
    "scaling": "scale",
    "autoscale": "scale",
    "hpa": "scale",
}
"""What other change feeds call the five kinds."""


def parse_changes(data: Any, path: Path | str, source: str = "bundle") -> list[Change]:
    if not isinstance(data, list):
        raise BundleError(f"{path}: $: expected a list of change events")
    out: list[Change] = []
    for i, item in enumerate(data):
        try:
            c = ChangeIn.model_validate(item)
        except ValidationError as exc:
            raise BundleError(f"{path}: $[{i}]{_first_error(exc)[1:]}") from None
        kind = c.kind.lower().strip()
        kind = _CHANGE_KIND_SYNONYMS.get(kind.replace("-", "_").replace(" ", "_"), kind)
        if kind not in ("deploy", "config", "flag", "infra", "scale"):
            raise BundleError(
                f"{path}: $[{i}].kind: {c.kind!r} is not one of deploy, config, flag, infra, scale"
            )
        try:
            ts = to_datetime(c.ts)
        except TimestampError as exc:
            raise BundleError(f"{path}: $[{i}].ts: {exc}") from None
        out.append(
            Change(
                id=c.id,
                ts=ts,
                service=c.service,
                kind=kind,  # checked against the ChangeKind literal above
                summary=c.summary,
                version=c.version,
                previous_version=c.previous_version,
                author=c.author,
                url=c.url,
                source=source,
                ref=f"{path} $[{i}]",
            )
        )
    return out


def parse_topology(data: Any, path: Path | str, max_services: int | None = None) -> Topology:
    if data is None:
        return Topology()
    if not isinstance(data, dict) or "services" not in data:
        raise BundleError(
            f"{path}: expected `services: {{NAME: {{depends_on: [NAME, ...]}}}}` at the top level"
        )
    services = data["services"]
    if services is None:
        return Topology()
    if not isinstance(services, dict):
        raise BundleError(f"{path}: services: expected a mapping of service name to its entry")
    cap = InputLimits().max_topology_services if max_services is None else max_services
    if len(services) > cap:
        raise BundleError(
            f"{path}: {len(services):,} services, above the limit of {cap:,}"
            " (limits.max_topology_services)",
            hint="raise limits.max_topology_services in the profile, or trim the topology",
        )
    deps: dict[str, list[str]] = {}
    for name, entry in services.items():
        if entry is None:
            deps[str(name)] = []
            continue
        if not isinstance(entry, dict):
            raise BundleError(
                f"{path}: services.{name}: expected a mapping with depends_on, got"
                f" {type(entry).__name__}"
            )
        d = entry.get("depends_on", [])
        if d is None:
            d = []
        if not isinstance(d, list) or not all(isinstance(x, str) for x in d):
            raise BundleError(f"{path}: services.{name}.depends_on: expected a list of names")
        deps[str(name)] = list(d)
    return Topology(depends_on=deps)


# ---------------------------------------------------------------- the source


def _failed_query_note(source: str, ref: str, body: dict[str, Any]) -> SourceNote:
    """The note for a metrics file holding Prometheus' answer to a query that failed
    (`status: error`): it has no series, and the report says why."""
    kind, why = body.get("errorType"), body.get("error")
    reason = ": ".join(str(x)[:200] for x in (kind, why) if x not in (None, "")) or "no reason"
    return SourceNote(f"{source} metrics", "partial", f"skipped {ref}: the query failed ({reason})")


def _join_split(series: list[Series]) -> list[Series]:
    """One series per name and labels across files: a long range is saved in pieces
    (Prometheus answers at most 11,000 points a series), each piece a file. The pieces'
    points are merged into the first file's series (a boundary point both repeat, once).
    Series of two different queries (queries.yaml), or that disagree where they overlap,
    are not pieces of one answer: they stay apart, as they were read before."""
    first: dict[tuple[str, frozenset[tuple[str, str]]], Series] = {}
    out: list[Series] = []
    for s in series:
        key = (s.name, frozenset(s.labels.items()))
        head = first.get(key)
        if head is None:
            first[key] = s
            out.append(s)
            continue
        if head.ref == s.ref or (head.promql and s.promql and head.query != s.query):
            out.append(s)  # twice in one file, or another query's answer
            continue
        all_ts, all_vs = head.timestamps + s.timestamps, head.values + s.values
        order = sorted(range(len(all_ts)), key=all_ts.__getitem__)
        ts, vs = [all_ts[k] for k in order], [all_vs[k] for k in order]
        if _conflict(ts, vs) is not None:
            out.append(s)
            continue
        head.timestamps, head.values = _dedup(ts, vs)
    return out


_META_HINT = (
    "bundle.yaml holds id: TEXT, title: TEXT, window: {start: RFC3339, end: RFC3339} and"
    " optional focus_alert: FINGERPRINT-OR-ALERTNAME (docs/bundle-format.md)"
)

_FOLDERS = {
    "metrics": "query_range bodies (*.json)",
    "logs": "log records (*.jsonl)",
    "events": "events (*.jsonl)",
    "traces": "spans (*.jsonl)",
}
"""The bundle's documented folders, with what goes in them."""

_COMPRESSED = (".gz", ".zst", ".bz2", ".xz", ".zip", ".tgz")
UNREAD_SHOWN = 3
"""How many unread files `BundleSource.unread_files` names before "and N more"."""


@dataclass
class _Cache:
    alerts: list[Alert] | None = None
    series: list[Series] | None = None
    logs: LogTable | None = None
    changes: list[Change] | None = None
    topology: Topology | None = None
    spans: list[Span] | None = None
    events: list[Event] | None = None


class BundleSource:
    """Reads one bundle directory; implements every source protocol offline."""

    def __init__(
        self,
        root: Path | str,
        service_labels: Sequence[str] = DEFAULT_SERVICE_LABELS,
        limits: InputLimits | None = None,
    ):
        self.root = Path(root)
        self.limits = limits or InputLimits()
        self._yaml_limits = YamlLimits(max_bytes=int(self.limits.max_yaml_mb * _MB))
        self.name = f"bundle:{self.root.name}"
        self.service_labels = tuple(service_labels)
        self._cache = _Cache()
        self._notes: list[SourceNote] = []
        where = "a bundle is a directory holding bundle.yaml and alerts.json"
        if not self.root.exists():
            raise BundleError(
                f"{self.root}: no such bundle directory",
                hint=f"check the path; {where} (`aisre bundle capture` writes one)",
            )
        if not self.root.is_dir():
            raise BundleError(f"{self.root}: not a directory", hint=f"{where}: pass the directory")
        meta_path = self.root / "bundle.yaml"
        if not _present(meta_path):
            raise BundleError(
                f"{meta_path}: missing (every incident bundle has a bundle.yaml)",
                hint="a bundle has bundle.yaml (id, title, window) and alerts.json; the format"
                " is docs/bundle-format.md in the aisre sources; or `aisre bundle capture` one",
            )
        raw = self._yaml(meta_path)
        if not isinstance(raw, dict):
            raise BundleError(
                f"{meta_path}: expected a mapping with id, title and window", hint=_META_HINT
            )
        try:
            self.meta = BundleMeta.model_validate(raw)
        except ValidationError as exc:
            raise BundleError(f"{meta_path}: {_first_error(exc)[2:]}", hint=_META_HINT) from None
        _check_format_version(meta_path, self.meta.format_version)
        self.window = Window(
            start=_ts(meta_path, "window.start", self.meta.window.start),
            end=_ts(meta_path, "window.end", self.meta.window.end),
        )
        if self.window.end <= self.window.start:
            raise BundleError(f"{meta_path}: window.end is not after window.start")

    def _yaml(self, p: Path, limits: YamlLimits | None = None) -> Any:
        return _load_yaml(p, root=self.root, limits=limits or self._yaml_limits)

    def _json(self, p: Path, display: str | None = None) -> Any:
        max_bytes = int(self.limits.max_file_mb * _MB)
        return _load_json(p, root=self.root, max_bytes=max_bytes, display=display or self._rel(p))

    def _rel(self, p: Path) -> str:
        try:
            return str(p.relative_to(self.root))
        except ValueError:
            return str(p)

    # AlertSource
    def list_alerts(self) -> list[Alert]:
        if self._cache.alerts is None:
            p = self.root / "alerts.json"
            if not _present(p):
                # required (`bundle validate` says so): reading "no alerts" here told a
                # user with a half-copied bundle that nothing was firing
                raise BundleError(
                    f"{p}: missing (required: the alerts of the incident)",
                    hint="write the Alertmanager `GET /api/v2/alerts` body there"
                    " (docs/bundle-format.md), or `aisre bundle capture` the incident",
                )
            else:
                self._cache.alerts = parse_alerts(
                    self._json(p), p, self.service_labels, source=self.name
                )
        return self._cache.alerts

    # MetricSource
    def _queries(self) -> dict[str, str]:
        p = self.root / "metrics" / "queries.yaml"
        if not _present(p):
            return {}
        raw = self._yaml(p)
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            raise BundleError(f"{p}: expected a mapping of file stem to PromQL")
        out: dict[str, str] = {}
        for k, v in raw.items():
            if not isinstance(v, str | int | float) or isinstance(v, bool):
                raise BundleError(f"{p}: {k}: expected a PromQL string")
            out[str(k)] = str(v)
        return out

    def all_series(self) -> list[Series]:
        if self._cache.series is None:
            mdir = self.root / "metrics"
            out: list[Series] = []
            if mdir.is_dir():
                queries = self._queries()
                for p in sorted(mdir.glob("*.json")):
                    out.extend(self._metric_file(p, queries))
            self._cache.series = self._screen_series(_join_split(out))
            self._notes.extend(SourceNote(self.name, "partial", n) for n in self.unread_files())
        return self._cache.series

    def unread_files(self) -> list[str]:
        """The files in the bundle's data folders the reader skips, one note per folder:
        a CSV export in metrics/, plain-text or compressed logs (`app.log`,
        `app.jsonl.gz`). Extra files are never fatal, but data dropped unseen could
        change the answer, so triage and `bundle validate` say which were not read."""
        out: list[str] = []
        for folder in _FOLDERS:
            d = self.root / folder
            if not d.is_dir():
                continue
            pattern = "*.json" if folder == "metrics" else "*.jsonl"
            try:
                skipped = [
                    p.name
                    for p in sorted(d.iterdir())
                    if p.is_file()
                    and not p.name.startswith(".")
                    and not p.match(pattern)
                    and not (folder == "metrics" and p.name == "queries.yaml")
                ]
            except OSError:  # unlistable: reading the folder says so, not this note
                continue
            if not skipped:
                continue
            named = ", ".join(skipped[:UNREAD_SHOWN])
            if len(skipped) > UNREAD_SHOWN:
                named += f" and {len(skipped) - UNREAD_SHOWN} more"
            packed = any(n.lower().endswith(_COMPRESSED) for n in skipped)
            out.append(
                f"{folder}/: {len(skipped)} file{'s' if len(skipped) > 1 else ''} not read"
                f" ({named}): only {folder}/{pattern} is read"
                + ("; decompress them" if packed else "")
            )
        return out

    def _metric_file(self, p: Path, queries: dict[str, str]) -> list[Series]:
        """The series of one metrics/*.json (none for a failed query, noted)."""
        ref = self._rel(p)
        query = queries.get(p.stem, f"file {ref}")
        t0 = time.monotonic()
        body = self._json(p, ref)
        if isinstance(body, dict) and body.get("status") == "error":
            self._notes.append(_failed_query_note(self.name, ref, body))
            return []
        got = parse_query_range(body, ref, p.stem, self.service_labels, query)
        record(QueryStat("bundle", ref, query, time.monotonic() - t0, len(got)))
        if p.stem not in queries:  # no PromQL recorded: a file reference
            for sr in got:
                sr.promql = False
        return got

    def _screen_series(self, series: list[Series]) -> list[Series]:
        """Drop series without a single number, and any beyond limits.max_series (noted)."""
        kept = [s for s in series if any(v == v for v in s.values)]
        if len(kept) < len(series):
            gone = [s for s in series if not any(v == v for v in s.values)]
            self._notes.append(
                SourceNote(
                    f"{self.name} metrics",
                    "partial",
                    f"dropped {len(gone)} series with no numeric value (all NaN, empty, or"
                    " native histograms only),"
                    f" first: {gone[0].ref} {gone[0].name}",
                )
            )
        cap = self.limits.max_series
        if len(kept) > cap:
            self._notes.append(
                SourceNote(
                    f"{self.name} metrics",
                    "partial",
                    f"kept the first {cap:,} of {len(kept):,} series (limits.max_series);"
                    f" dropped from {kept[cap].ref} on",
                )
            )
            kept = kept[:cap]
        return kept

    def fetch_series(
        self, start: datetime, end: datetime, services: set[str] | None
    ) -> tuple[list[Series], list[SourceNote]]:
        # A bundle is already cut to its window: return everything so baselines that
        # start before the requested window are kept.
        series = self.all_series()
        if services is not None:
            series = [s for s in series if s.service is None or s.service in services]
        notes, self._notes = self._notes, []
        return series, notes

    # LogSource
    def all_logs(self) -> LogTable:
        if self._cache.logs is None:
            table = LogTable()
            ldir = self.root / "logs"
            if ldir.is_dir():
                for p in sorted(ldir.glob("*.jsonl")):
                    read_jsonl_logs(p, self._rel(p), table, root=self.root, limits=self.limits)
            for svc in set(table.service):
                table.query.setdefault(svc, f'grep \'"service": *"{svc}"\' logs/*.jsonl')
            self._cache.logs = table
        return self._cache.logs

    def fetch_logs(self, start: datetime, end: datetime, services: set[str] | None) -> LogTable:
        return self.all_logs()

    def reading_notes(self) -> list[str]:
        """What reading the bundle dropped without it being a problem (a cut-off last
        log line), once `problems` has read it: `bundle validate` shows these."""
        logs = self._cache.logs
        return (list(logs.notes) if logs is not None else []) + self.unread_files()

    # ChangeSource
    def fetch_changes(self, start: datetime, end: datetime) -> list[Change]:
        if self._cache.changes is None:
            p = self.root / "changes.json"
            self._cache.changes = (
                parse_changes(self._json(p), self._rel(p), source=self.name) if _present(p) else []
            )
        return self._cache.changes

    # TopologySource
    def fetch_topology(self) -> Topology:
        if self._cache.topology is None:
            p = self.root / "topology.yaml"
            cap = self.limits.max_topology_services
            limits = YamlLimits(
                max_bytes=int(self.limits.max_yaml_mb * _MB),
                max_nodes=max(TOPOLOGY_YAML_LIMITS.max_nodes, 20 * cap),
                max_entries=cap,
                entries_name=TOPOLOGY_YAML_LIMITS.entries_name,
            )
            self._cache.topology = (
                parse_topology(self._yaml(p, limits), self._rel(p), cap)
                if _present(p)
                else Topology()
            )
        return self._cache.topology

    # TraceSource
    def fetch_spans(
        self, start: datetime, end: datetime, services: set[str] | None = None
    ) -> list[Span]:
        """Every span of the bundle: a bundle is one incident, already sampled, so
        `services` is ignored (the engine decides what matters)."""
        if self._cache.spans is None:
            spans: list[Span] = []
            tdir = self.root / "traces"
            if tdir.is_dir():
                for p in sorted(tdir.glob("*.jsonl")):
                    spans.extend(
                        read_spans(
                            p, self._rel(p), root=self.root, limits=self.limits, already=len(spans)
                        )
                    )
            self._cache.spans = spans
        return self._cache.spans

    # EventSource
    def fetch_events(
        self, start: datetime, end: datetime, services: set[str] | None = None
    ) -> list[Event]:
        """Every event of `events/*.jsonl` (the bundle is the window, like its spans)."""
        if self._cache.events is None:
            events: list[Event] = []
            edir = self.root / "events"
            if edir.is_dir():
                for p in sorted(edir.glob("*.jsonl")):
                    events.extend(
                        read_events(
                            p, self._rel(p), root=self.root, limits=self.limits, already=len(events)
                        )
                    )
            self._cache.events = events
        if services is None:
            return self._cache.events
        return [e for e in self._cache.events if e.service in services]

    def truth(self) -> Truth | None:
        p = self.root / "truth.yaml"
        if not _present(p):
            return None
        raw = self._yaml(p)
        shape = "root_cause: {kind: KIND, service: SERVICE}, optional change_id and match"
        if raw is None:
            raise BundleError(f"{p}: the file is empty", hint=f"a truth.yaml holds {shape}")
        if not isinstance(raw, dict):
            raise BundleError(f"{p}: expected a mapping", hint=f"a truth.yaml holds {shape}")
        try:
            truth = Truth.model_validate(raw)
        except ValidationError as exc:
            raise BundleError(
                f"{p}: {_first_error(exc)[2:]}", hint=f"a truth.yaml holds {shape}"
            ) from None
        check_truth(truth, p)
        return truth

    def problems(self) -> list[BundleProblem]:
        """Read every file once and return what is wrong, in file order: the first
        problem of each file (a reader stops at it; every broken file of metrics/ and
        logs/), then those of the bundle as a whole (a missing alerts.json, a
        focus_alert that names no alert)."""
        found: list[BundleProblem] = []
        w = self.window

        def check(default_file: str, read: Callable[[], object]) -> bool:
            try:
                read()
            except BundleError as exc:
                found.append(_problem(self.root, exc, default_file))
                return False
            return True

        alerts_file = self.root / "alerts.json"
        if not alerts_file.exists() and not alerts_file.is_symlink():
            found.append(
                BundleProblem(
                    "alerts.json",
                    None,
                    "missing (required: the alerts of the incident)",
                    f"{alerts_file}: missing (required: the alerts of the incident)",
                    "write the Alertmanager `GET /api/v2/alerts` body there"
                    " (docs/bundle-format.md), or `aisre bundle capture` the incident",
                )
            )
        elif check("alerts.json", self.list_alerts) and self.meta.focus_alert:
            msg = focus_problem(self.list_alerts(), self.meta.focus_alert)
            if msg is not None:
                meta = self.root / "bundle.yaml"
                line = _key_line(meta, "focus_alert")
                text = f"{meta}:{line}: {msg}" if line else f"{meta}: {msg}"
                found.append(BundleProblem("bundle.yaml", line, msg, text, focus_hint(self.root)))
        for folder, files in _FOLDERS.items():
            p = self.root / folder
            if _present(p) and not p.is_dir():
                # the reader only looks inside a folder: its data would be dropped unseen
                msg = f"not a directory (the bundle's {files} go in a {folder}/ folder)"
                found.append(
                    BundleProblem(
                        folder,
                        None,
                        msg,
                        f"{p}: {msg}",
                        f"put the file into a {folder}/ folder (docs/bundle-format.md)",
                    )
                )
        if not check("metrics", self.all_series):
            # the reader stops at the first broken file: name every broken one
            queries: dict[str, str] = {}
            with contextlib.suppress(BundleError):  # a broken queries.yaml: found above
                queries = self._queries()
            kept = len(self._notes)
            self._each_file(found, "metrics", "*.json", lambda p: self._metric_file(p, queries))
            del self._notes[kept:]  # notes of failed queries: said once, by the first read
        if not check("logs", self.all_logs):
            self._each_file(
                found,
                "logs",
                "*.jsonl",
                lambda p: read_jsonl_logs(
                    p, self._rel(p), LogTable(), root=self.root, limits=self.limits
                ),
            )
        check("changes.json", lambda: self.fetch_changes(w.start, w.end))
        check("topology.yaml", self.fetch_topology)
        check("events", lambda: self.fetch_events(w.start, w.end))
        check("traces", lambda: self.fetch_spans(w.start, w.end))
        check("truth.yaml", self.truth)
        return found

    def _each_file(
        self,
        found: list[BundleProblem],
        folder: str,
        pattern: str,
        read: Callable[[Path], object],
    ) -> None:
        """After a folder's first broken file: the problems of the others, each once."""
        seen = {(x.file, x.message) for x in found}
        for p in sorted((self.root / folder).glob(pattern)):
            try:
                read(p)
            except BundleError as exc:
                prob = _problem(self.root, exc, f"{folder}/{p.name}")
                if (prob.file, prob.message) not in seen:
                    seen.add((prob.file, prob.message))
                    found.append(prob)

    def validate(self) -> None:
        """Read every file once; raise the first of `problems()` (used by tests)."""
        found = self.problems()
        if found:
            raise BundleError(found[0].text, hint=found[0].hint)


def validate_bundle(
    root: Path | str, limits: InputLimits | None = None
) -> tuple[BundleSource | None, list[BundleProblem]]:
    """`aisre bundle validate`: the bundle (None when bundle.yaml is unusable) and every
    problem found. A path that is not a directory raises: there is no bundle to check."""
    root = Path(root)
    try:
        b = BundleSource(root, limits=limits)
    except BundleError as exc:
        if not root.is_dir():
            raise
        return None, [_problem(root, exc, "bundle.yaml")]
    return b, b.problems()


def _not_utf8(raw: bytes, exc: orjson.JSONDecodeError) -> int | None:
    """The offset of the first byte that is not UTF-8, when that is why parsing failed."""
    if "UTF-8" not in exc.msg:
        return None
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as u:
        return u.start
    return None


def cut_note(display: str, lineno: int) -> str:
    """What a triage and `bundle validate` say of a JSONL file whose last line is cut."""
    return (
        f"{display}:{lineno}: the last line is cut off (an incomplete record, as when a"
        " file is copied while it is written): dropped, the lines before it are read"
    )


def _cut_short(raw: bytes, lineno: int, exc: orjson.JSONDecodeError) -> bool:
    """Is `raw` the last line of a JSONL file cut off mid-record (a file copied while it
    was being written)? Only the last line of a file lacks its newline; a file whose
    only line is cut is not read as empty but refused."""
    return (
        lineno > 1
        and not raw.endswith(b"\n")
        and exc.msg == "unexpected end of data"
        and exc.pos >= len(raw.rstrip())
    )


def _jsonl_error(display: str, lineno: int, raw: bytes, exc: orjson.JSONDecodeError) -> BundleError:
    bad = _not_utf8(raw, exc)
    if bad is not None:
        return BundleError(
            f"{display}:{lineno}: not UTF-8 text at byte {bad} of the line",
            hint="save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)",
        )
    return BundleError(f"{display}:{lineno}: invalid JSON: {exc.msg}")


def _json_objects(fh: IO[bytes], display: str, cap: int) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for the first `cap` lines of a JSONL file; blank lines are
    skipped, anything but a JSON object is a one-line error naming file:line."""
    for lineno, raw in enumerate(islice(fh, cap), 1):
        if lineno == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]
        if not raw.strip():
            continue
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            if _cut_short(raw, lineno, exc):
                return
            raise _jsonl_error(display, lineno, raw, exc) from None
        if not isinstance(obj, dict):
            raise BundleError(f"{display}:{lineno}: expected a JSON object")
        yield lineno, obj


def _unix(t: Any, sec_cache: dict[str, float]) -> float:
    """A timestamp as unix seconds: the cached RFC 3339 fast path, else `to_unix`."""
    fast = _iso_seconds(t, sec_cache) if type(t) is str else None
    return fast if fast is not None else to_unix(t)


_SPAN_START_KEYS = (
    "start",
    "start_time",
    "startTime",
    "startTimeUnixNano",
    "start_time_unix_nano",
    "timestamp",  # Zipkin v2 (microseconds)
)
_SPAN_ERROR = frozenset({"error", "err", "failed", "2", "status_code_error"})
_OTLP_VALUE_KEYS = ("stringValue", "intValue", "boolValue", "doubleValue")


def _tag_dict(raw: Any) -> dict[str, Any]:
    """Attributes given as a JSON object, or as a list of `{key, value}` (Jaeger's tags;
    OpenTelemetry's `{key, value: {stringValue: …}}`)."""
    if isinstance(raw, dict):
        return raw
    out: dict[str, Any] = {}
    if isinstance(raw, list):
        for kv in raw:
            if not isinstance(kv, dict) or not isinstance(kv.get("key"), str):
                continue
            v = kv.get("value")
            if isinstance(v, dict):
                v = next((v[k] for k in _OTLP_VALUE_KEYS if k in v), None)
            out[kv["key"]] = v
    return out


def _span_attrs(obj: dict[str, Any]) -> dict[str, Any]:
    """A span line's attributes: its own keys, then those nested as OpenTelemetry's
    `attributes`, Jaeger's `tags` or Zipkin's `tags`; Zipkin's remote endpoint is the
    peer it calls."""
    nested = [obj[k] for k in ("attributes", "tags") if obj.get(k)]
    remote = obj.get("remoteEndpoint")
    if not nested and not isinstance(remote, dict):
        return obj
    attrs: dict[str, Any] = {}
    for raw in nested:
        attrs.update(_tag_dict(raw))
    attrs.update(obj)
    if isinstance(remote, dict) and remote.get("serviceName"):
        attrs.setdefault("peer.service", remote["serviceName"])
    return attrs


def _span_parent(obj: dict[str, Any]) -> Any:
    """The parent span id: a field of its own, else Jaeger's `CHILD_OF` reference (or
    the first reference)."""
    parent = _first(obj, ("parent_id", "parentSpanId", "parent_span_id", "parentId"))
    refs = obj.get("references")
    if parent is None and isinstance(refs, list):
        refs = [r for r in refs if isinstance(r, dict) and r.get("spanID")]
        child_of = [r for r in refs if r.get("refType", "CHILD_OF") == "CHILD_OF"]
        if child_of or refs:
            parent = (child_of or refs)[0]["spanID"]
    return parent


def _span_service(obj: dict[str, Any]) -> str:
    """The span's service: a field of its own, else Jaeger's `process` or Zipkin's
    `localEndpoint`."""
    name = _first(obj, ("service", "service.name", "serviceName"))
    if name is None:
        for k in ("process", "localEndpoint"):
            v = obj.get(k)
            if isinstance(v, dict) and v.get("serviceName"):
                return str(v["serviceName"])
    return str(name or "")


def _span_error(obj: dict[str, Any], attrs: dict[str, Any]) -> bool:
    """A status given (`ok`/`error`, OpenTelemetry's code) decides; without one, an
    `error` tag, `otel.status_code: ERROR` or an HTTP status of 500 or more."""
    if obj.get("error") is True:
        return True
    status = obj.get("status")
    if isinstance(status, dict):  # OpenTelemetry: {"code": 2 | "STATUS_CODE_ERROR"}
        status = status.get("code")
    if status is not None and str(status).lower() not in ("", "0", "unset", "status_code_unset"):
        return str(status).lower() in _SPAN_ERROR
    err = attrs.get("error")
    if err is True or str(err).lower() == "true":
        return True
    if str(attrs.get("otel.status_code", "")).upper() == "ERROR":
        return True
    for key in ("http.status_code", "http.response.status_code"):
        code = attrs.get(key)
        if isinstance(code, (int, str)) and str(code).isdigit() and int(code) >= 500:
            return True
    return False


def _first(obj: dict[str, Any], keys: Sequence[str]) -> Any:
    """The value of the first of `keys` that `obj` has (not None)."""
    for k in keys:
        v = obj.get(k)
        if v is not None:
            return v
    return None


def _span_ms(obj: dict[str, Any], start: float, sec_cache: dict[str, float]) -> float:
    """A span's duration in milliseconds: `duration_ms`, else `duration_us` (Zipkin and
    Jaeger count microseconds), else its end time (OpenTelemetry) minus its start."""
    if obj.get("duration_ms") is not None:
        return float(obj["duration_ms"])
    if obj.get("duration_us") is not None:
        return float(obj["duration_us"]) / 1000.0
    if obj.get("duration") is not None:  # Jaeger's and Zipkin's JSON: microseconds
        return float(obj["duration"]) / 1000.0
    end = _first(obj, ("end", "end_time", "endTime", "endTimeUnixNano", "end_time_unix_nano"))
    if end is None:
        return 0.0
    a, b = _whole(_first(obj, _SPAN_START_KEYS)), _whole(end)
    if a is not None and b is not None and a >= 10**11 and b >= 10**11:
        # integer epochs in one unit (nanoseconds, mostly): subtract before scaling,
        # as a float of seconds since 1970 keeps only a quarter of a microsecond
        per_s = 10**9 if a >= 10**17 else 10**6 if a >= 10**14 else 10**3
        return max(0.0, (b - a) * 1000.0 / per_s)
    return max(0.0, (_unix(end, sec_cache) - start) * 1000.0)


def _whole(v: Any) -> int | None:
    """An integer given as a number or a string of digits, else None."""
    if type(v) is int:
        return v
    if type(v) is str and v.isdigit():
        return int(v)
    return None


def read_spans(
    path: Path,
    display: str,
    *,
    root: Path | None = None,
    limits: InputLimits | None = None,
    already: int = 0,
) -> Iterable[Span]:
    """The spans of one traces/*.jsonl file; `already` spans were read from earlier files."""
    lim = limits or InputLimits()
    out: list[Span] = []
    sec_cache: dict[str, float] = {}
    with _open_data(path, display, root, lim) as fh:
        for lineno, obj in _json_objects(fh, display, max(0, lim.max_trace_spans - already)):
            try:
                start = _unix(_first(obj, _SPAN_START_KEYS), sec_cache)
            except TimestampError as exc:
                raise BundleError(f"{display}:{lineno}: start: {exc}") from None
            try:
                dur = _span_ms(obj, start, sec_cache)
            except (TypeError, ValueError, TimestampError):
                raise BundleError(
                    f"{display}:{lineno}: duration: not a number of milliseconds or"
                    " microseconds, nor an end time"
                ) from None
            attrs = _span_attrs(obj)
            parent = _span_parent(obj)
            out.append(
                Span(
                    trace_id=str(_first(obj, ("trace_id", "traceId", "traceID")) or ""),
                    span_id=str(_first(obj, ("span_id", "spanId", "spanID", "id")) or ""),
                    parent_id=str(parent) if parent not in (None, "") else None,
                    service=_span_service(obj),
                    name=str(_first(obj, ("name", "operationName", "operation")) or ""),
                    start=start,
                    duration_ms=dur,
                    error=_span_error(obj, attrs),
                    ref=f"{display}:{lineno}",
                    peer=span_peer(attrs, _first(obj, ("kind", "span_kind", "spanKind"))),
                )
            )
        _check_line_cap(fh, display, lim.max_trace_spans, "trace spans", "limits.max_trace_spans")
    return out


_EVENT_KEYS = frozenset({"ts", "service", "reason", "type", "message", "object", "count", "query"})


def read_events(
    path: Path,
    display: str,
    *,
    root: Path | None = None,
    limits: InputLimits | None = None,
    already: int = 0,
) -> list[Event]:
    """The events of one events/*.jsonl file (bundle v1, optional).

    One JSON object a line: `ts` and `service` and `reason` are required; `type`
    (Normal/Warning, default Warning), `message`, `object`, `count` (default 1) are
    optional, and so is `query` (the command that reproduces it, a `kubectl` line, as
    `bundle capture` writes it); any other key is kept in `attrs`."""
    lim = limits or InputLimits()
    out: list[Event] = []
    sec_cache: dict[str, float] = {}
    with _open_data(path, display, root, lim) as fh:
        for lineno, obj in _json_objects(fh, display, max(0, lim.max_events - already)):
            for key in ("ts", "service", "reason"):
                if obj.get(key) in (None, ""):
                    raise BundleError(f"{display}:{lineno}: {key}: required")
            try:
                ts = _unix(obj["ts"], sec_cache)
            except TimestampError as exc:
                raise BundleError(f"{display}:{lineno}: ts: {exc}") from None
            try:
                count = int(obj.get("count", 1))
            except (TypeError, ValueError):
                raise BundleError(f"{display}:{lineno}: count: not an integer") from None
            etype = str(obj.get("type", "Warning"))
            if etype not in ("Normal", "Warning"):
                raise BundleError(f"{display}:{lineno}: type: expected Normal or Warning")
            out.append(
                Event(
                    ts=ts,
                    service=str(obj["service"]),
                    reason=str(obj["reason"]),
                    type=etype,
                    message=str(obj.get("message", "")),
                    object=str(obj.get("object", "")),
                    count=max(1, count),
                    attrs={k: v for k, v in obj.items() if k not in _EVENT_KEYS},
                    query=q if isinstance(q := obj.get("query"), str) else "",
                    ref=f"{display}:{lineno}",
                )
            )
        _check_line_cap(fh, display, lim.max_events, "events", "limits.max_events")
    return out
