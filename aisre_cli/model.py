"""The domain vocabulary shared by every layer (DESIGN.md, "Domain vocabulary").

Two kinds of types live here:

* pydantic models for what crosses a boundary or is shown to a user: `Alert`,
  `Change`, `Topology`, `Evidence`, `Hypothesis`, `Verdict`, `TriageReport`. They are
  validated when built from outside data and serialise to the documented `--json`
  schema.
* plain dataclasses for bulk data held in memory during one investigation: `Series`,
  `LogTable`, `Span`, `Context`. A bundle can hold a million log lines; building a
  pydantic object per line would cost more than the whole investigation is allowed
  to take, so the readers validate those rows by hand and store them column-wise.

Nothing here imports a UI library, numpy or httpx.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

HypothesisKind = Literal[
    "deploy",
    "config_change",
    "resource_saturation",
    "dependency_failure",
    "traffic_surge",
    "crash_loop",
    "certificate_expiry",
    "network",
    "unknown",
]
HYPOTHESIS_KINDS: tuple[str, ...] = (
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

ChangeKind = Literal["deploy", "config", "flag", "infra", "scale"]

EvidenceKind = Literal[
    "change",
    "metric_anomaly",
    "log_template",
    "dependency_down",
    "topology",
    "trace",
    "saturation",
    "certificate",
    "memory",
    "alert",
    "event",
]

Classification = Literal["actionable", "likely_noise", "duplicate", "known_issue"]


def utcnow() -> datetime:
    return datetime.now(UTC)


def from_unix(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=False)


class Alert(_Model):
    """One firing alert, normalised from Alertmanager, PagerDuty or a bundle."""

    id: str = Field(description="Stable id: the source fingerprint.")
    name: str = Field(description="The alertname label (or the PagerDuty summary).")
    service: str | None = Field(default=None, description="Service, from the label mapping.")
    severity: str = Field(default="none", description="The severity label, lower-cased.")
    state: str = Field(default="active", description="active | suppressed | unprocessed.")
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime
    ends_at: datetime | None = None
    updated_at: datetime | None = None
    generator_url: str | None = None
    source: str = Field(default="bundle", description="Where the alert came from.")
    silenced_by: list[str] = Field(default_factory=list)
    inhibited_by: list[str] = Field(default_factory=list)
    receivers: list[str] = Field(default_factory=list)
    aliases: list[str] = Field(
        default_factory=list,
        description="Other keys this alert is known by (a PagerDuty alert key, a dedup key);"
        " used to merge the same incident seen through several sources.",
    )
    sources: list[str] = Field(
        default_factory=list, description="Every source this alert was seen in (after dedup)."
    )

    _short: str | None = PrivateAttr(default=None)

    @property
    def short_id(self) -> str:
        """The id to show and to suggest in commands (`aisre triage <short_id>`):
        `short_alert_id(id)`, or the longer one that `short_ids` found unique in the
        listing this alert was resolved from (`gather.resolve_alert` records it)."""
        return self._short or short_alert_id(self.id)

    def remember_short_id(self, short: str) -> None:
        """Record the id that names this alert alone in its listing (see `short_ids`)."""
        self._short = short if short != short_alert_id(self.id) else None

    @property
    def summary(self) -> str:
        return self.annotations.get("summary") or self.annotations.get("description") or ""


SHORT_ID_LEN = 8
"""Characters of a hex fingerprint shown as its short id (Alertmanager's have 16)."""

_HEX_ID = re.compile(r"[0-9a-fA-F]+")


def short_alert_id(alert_id: str) -> str:
    """The id shown for an alert on its own: a hex fingerprint (Alertmanager, a bundle)
    cut to its first 8 characters, which tell fingerprints apart; any other id whole,
    because its prefix is shared by every alert of its source (`pd-A0000…`)."""
    if len(alert_id) > SHORT_ID_LEN and _HEX_ID.fullmatch(alert_id):
        return alert_id[:SHORT_ID_LEN]
    return alert_id


SEVERITY_ORDER = ("critical", "page", "high", "error", "warning", "warn", "info", "none")
"""Severity labels, most severe first; any other label ranks after them."""


def severity_rank(sev: str) -> int:
    return SEVERITY_ORDER.index(sev) if sev in SEVERITY_ORDER else len(SEVERITY_ORDER)


def _page_key(a: Alert) -> tuple[bool, int, datetime]:
    return (a.state != "active", severity_rank(a.severity), a.starts_at)


def head_alert(alerts: Sequence[Alert]) -> Alert:
    """The alert that stands for several: firing before silenced or inhibited, then the
    most severe, then the oldest (the one that paged)."""
    return min(alerts, key=_page_key)


def page_among(alerts: Sequence[Alert]) -> Alert | None:
    """Of several alerts of one name (a rule that fired on several services), the one
    that paged (`head_alert`); None when two are alike in state, severity and start,
    so nothing tells them apart."""
    if not alerts:
        return None
    page = head_alert(alerts)
    alike = sum(1 for a in alerts if _page_key(a) == _page_key(page))
    return page if alike == 1 else None


def short_ids(alerts: Sequence[Alert]) -> dict[str, str]:
    """Alert id → the id to show for it in this listing, one that `aisre triage`
    (`gather.resolve_alert`) resolves to that alert and no other: `short_alert_id`,
    lengthened while it is also a prefix of another alert's id or alias, or another
    alert's name. The keys are sorted once, so a 5,000-alert inbox costs O(n log n)."""
    from bisect import bisect_left

    keys = sorted((k, i) for i, a in enumerate(alerts) for k in (a.id, *a.aliases))
    names: dict[str, set[int]] = {}
    for i, a in enumerate(alerts):
        names.setdefault(a.name, set()).add(i)

    def clash(q: str, me: int) -> bool:
        if names.get(q, {me}) - {me}:
            return True
        j = bisect_left(keys, (q, -1))
        while j < len(keys) and keys[j][0].startswith(q):
            if keys[j][1] != me:
                return True
            j += 1
        return False

    out: dict[str, str] = {}
    for i, a in enumerate(alerts):
        n = len(short_alert_id(a.id))
        while n < len(a.id) and clash(a.id[:n], i):
            n += 1
        out[a.id] = a.id[:n]
    return out


class Change(_Model):
    """A change event: a deploy, config change, feature flag, infra change or scaling."""

    id: str
    ts: datetime
    service: str
    kind: ChangeKind
    summary: str = ""
    version: str | None = None
    previous_version: str | None = None
    author: str | None = None
    url: str | None = None
    source: str = Field(default="bundle", description="Where the change came from.")
    ref: str | None = Field(default=None, description="file:line or URL that reproduces it.")


class Topology(_Model):
    """Who calls whom. `depends_on[A]` lists the services A calls."""

    depends_on: dict[str, list[str]] = Field(default_factory=dict)

    def services(self) -> set[str]:
        out = set(self.depends_on)
        for deps in self.depends_on.values():
            out.update(deps)
        return out

    def callees(self, service: str) -> list[str]:
        return list(self.depends_on.get(service, []))

    def callers(self, service: str) -> list[str]:
        return [s for s, deps in self.depends_on.items() if service in deps]

    def downstream(self, service: str) -> set[str]:
        """Every service `service` calls, directly or transitively."""
        seen: set[str] = set()
        stack = list(self.depends_on.get(service, []))
        while stack:
            s = stack.pop()
            if s in seen or s == service:
                continue
            seen.add(s)
            stack.extend(self.depends_on.get(s, []))
        return seen

    def upstream(self, service: str) -> set[str]:
        """Every service that calls `service`, directly or transitively."""
        rev: dict[str, list[str]] = {}
        for s, deps in self.depends_on.items():
            for d in deps:
                rev.setdefault(d, []).append(s)
        seen: set[str] = set()
        stack = list(rev.get(service, []))
        while stack:
            s = stack.pop()
            if s in seen or s == service:
                continue
            seen.add(s)
            stack.extend(rev.get(s, []))
        return seen

    def distance(self, src: str, dst: str) -> int | None:
        """Hops from src to dst following calls (src calls … calls dst), or None."""
        if src == dst:
            return 0
        frontier = [src]
        seen = {src}
        hops = 0
        while frontier:
            hops += 1
            nxt: list[str] = []
            for s in frontier:
                for d in self.depends_on.get(s, []):
                    if d == dst:
                        return hops
                    if d not in seen:
                        seen.add(d)
                        nxt.append(d)
            frontier = nxt
        return None


@dataclass(slots=True)
class Series:
    """One metric time series. Timestamps are unix seconds, ascending."""

    name: str
    service: str | None
    labels: dict[str, str]
    timestamps: list[float]
    values: list[float]
    query: str = ""
    """The PromQL (or file reference) that reproduces this series."""
    ref: str = ""
    """Where it came from: `metrics/foo.json` or a Prometheus URL."""
    promql: bool = True
    """`query` is PromQL a Prometheus datasource can run (False: a file reference)."""


@dataclass(slots=True)
class LogTable:
    """Log records stored column-wise (one list per field) for speed and memory.

    `file_idx[i]`/`line[i]` locate record i in `files` so evidence can cite file:line.
    Extra keys of a record (trace_id, pod, ...) are not kept: the citation lets an
    engineer open the full line.
    """

    ts: array[float] = field(default_factory=lambda: array("d"))
    service: list[str] = field(default_factory=list)
    level: list[str] = field(default_factory=list)
    msg: list[str] = field(default_factory=list)
    file_idx: array[int] = field(default_factory=lambda: array("i"))
    line: array[int] = field(default_factory=lambda: array("i"))
    files: list[str] = field(default_factory=list)
    query: dict[str, str] = field(default_factory=dict)
    """Per service: the LogQL (or grep) that reproduces its records."""
    notes: list[str] = field(default_factory=list)
    """What reading lost, one line each (a file's cut-off last record): said in triage
    rather than dropped without a word."""
    placements: set[tuple[str, str, str]] = field(default_factory=set)
    """(machine, service, pod) the records say: a shipper's `node` field (Fluent Bit's
    and Vector's Kubernetes metadata) puts the service's pod (`pod`, or "") on that
    machine."""
    hosts: dict[int, str] = field(default_factory=dict)
    """Row → the machine a record names, for records that name no service (ECS'
    `host.name`, `hostname`, `host`, Windows' `computer_name`): a machine's own log
    shipped as one file (Winlogbeat's event log, a syslog relay) is read as the
    services' on each record's machine (`triage._align_services`)."""

    def __len__(self) -> int:
        return len(self.msg)

    def ref(self, i: int) -> str:
        return f"{self.files[self.file_idx[i]]}:{self.line[i]}"

    def extend(self, other: LogTable) -> None:
        rows = len(self.msg)
        self.hosts.update({r + rows: h for r, h in other.hosts.items()})
        base = len(self.files)
        self.files.extend(other.files)
        self.ts.extend(other.ts)
        self.service.extend(other.service)
        self.level.extend(other.level)
        self.msg.extend(other.msg)
        self.file_idx.extend(i + base for i in other.file_idx)
        self.line.extend(other.line)
        self.query.update(other.query)
        self.notes.extend(other.notes)
        self.placements |= other.placements


@dataclass(slots=True)
class Span:
    """One trace span (optional `traces/*.jsonl`)."""

    trace_id: str
    span_id: str
    parent_id: str | None
    service: str
    name: str
    start: float
    duration_ms: float
    error: bool
    ref: str = ""
    peer: str = ""
    """The host or service a client span calls, as its attributes name it (`span_peer`):
    a database, cache or outside API that leaves no spans of its own. Empty for server
    and internal spans, and for client spans that name no peer."""

    def __post_init__(self) -> None:
        # An all-zero id is W3C trace context's "invalid": what Zipkin-style converters
        # and some exporters write for a root's parent (`0`, `0000000000000000`, base64
        # `AAAAAAAAAAA=` once read as hex). It names no span: the span is a root.
        p = self.parent_id
        if p is not None and not p.strip().strip("0"):
            self.parent_id = None


_CLIENT_KINDS = frozenset(
    {"client", "producer", "span_kind_client", "span_kind_producer", "3", "4"}
)
_NOT_CLIENT_KINDS = frozenset(
    {
        "server",
        "consumer",
        "internal",
        "span_kind_server",
        "span_kind_consumer",
        "span_kind_internal",
        "1",
        "2",
        "5",
    }
)
_PEER_KEYS = (
    "peer.service",  # OpenTelemetry and OpenTracing: the remote service's own name
    "server.address",  # OpenTelemetry (semantic conventions 1.21 and later)
    "net.peer.name",  # OpenTelemetry before 1.21
    "peer.hostname",  # OpenTracing
    "peer.address",  # OpenTracing: host:port or a URL
    "db.connection_string",
    "url.full",
    "http.url",
)


def host_of(value: str) -> str:
    """The host a URL, `host:port` or host names, lower-cased, without scheme,
    credentials, port or path: `http://playback-api.media.svc.cluster.local:8080/x` →
    `playback-api.media.svc.cluster.local`; an IPv6 address as it is, or out of its
    brackets (`[fd00::1]:443` → `fd00::1`)."""
    v = value.strip().lower()
    if "://" in v:
        v = v.split("://", 1)[1]
    v = re.split(r"[/?#]", v, maxsplit=1)[0].rsplit("@", 1)[-1]
    if v.startswith("["):
        return v[1:].split("]", 1)[0]
    if v.count(":") == 1:  # host:port (an IPv6 address has several)
        v = v.split(":", 1)[0]
    return v


def span_peer(attrs: dict[str, Any], kind: Any = None) -> str:
    """The host or service a span calls, from its attributes (OpenTelemetry, OpenTracing,
    Jaeger tags, Zipkin's remote endpoint already put under `peer.service`), lowercased,
    without scheme, credentials, port or path; "" when it names none.

    Only a client or producer span calls out. A server span's `net.peer.name` names its
    *caller*, so a span of another kind names no peer; one whose kind is not given names
    one only by `peer.service`, or when it is a database call (`db.system`)."""
    k = str(kind if kind is not None else attrs.get("span.kind", "")).strip().lower()
    if k in _NOT_CLIENT_KINDS:
        return ""
    keys = _PEER_KEYS if k in _CLIENT_KINDS or attrs.get("db.system") else _PEER_KEYS[:1]
    for key in keys:
        v = attrs.get(key)
        if not isinstance(v, str) or not v.strip():
            continue
        host = host_of(v).rstrip(".")
        if host and host not in ("localhost", "127.0.0.1", "::1"):
            return host
    return ""


@dataclass(slots=True)
class Event:
    """One cluster event or pod-state observation (Kubernetes events, `events/*.jsonl`).

    `reason` is the Kubernetes reason word (`OOMKilled`, `BackOff`, `Unhealthy`,
    `FailedScheduling`, `Evicted`, `NodeNotReady`, `CrashLoopBackOff`, ...); `type` is
    `Normal` or `Warning`; `object` is `kind/name` of what it is about; `count` how many
    times the cluster saw it. `attrs` keeps any other keys (exit_code, container, node).
    `query` is the command that reproduces it (a `kubectl` line); `ref` the file:line
    or URL of the raw record."""

    ts: float
    service: str
    reason: str
    type: str = "Warning"
    message: str = ""
    object: str = ""
    count: int = 1
    attrs: dict[str, Any] = field(default_factory=dict)
    query: str = ""
    ref: str = ""


@dataclass(slots=True)
class SourceNote:
    """How one source fared during gather: shown as a degradation note when not ok."""

    source: str
    status: Literal["ok", "partial", "failed", "skipped"]
    detail: str = ""
    seconds: float = 0.0

    def render(self) -> str:
        tail = f": {self.detail}" if self.detail else ""
        return f"{self.source} {self.status} ({self.seconds:.1f}s){tail}"


@dataclass(slots=True)
class Window:
    start: datetime
    end: datetime


@dataclass
class Context:
    """Everything gathered for one alert, from every configured source."""

    alert: Alert
    alerts: list[Alert]
    window: Window
    series: list[Series] = field(default_factory=list)
    logs: LogTable = field(default_factory=LogTable)
    changes: list[Change] = field(default_factory=list)
    topology: Topology = field(default_factory=Topology)
    spans: list[Span] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    notes: list[SourceNote] = field(default_factory=list)
    bundle_id: str | None = None


class Link(_Model):
    """A place a person can open to see the evidence (a Grafana Explore view)."""

    label: str
    url: str


QueryLanguage = Literal["promql", "logql"]


class Evidence(_Model):
    """One cited fact. `query` reproduces it; `ref` points at the file:line or URL."""

    id: str = Field(description="E1, E2, ... stable within one report.")
    kind: EvidenceKind
    service: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    summary: str
    strength: float = Field(ge=0.0, le=1.0)
    query: str = Field(default="", description="PromQL, LogQL, URL or file that reproduces it.")
    ref: str | None = Field(default=None, description="file:line or URL of the raw datum.")
    excerpt: list[str] = Field(default_factory=list, description="A few raw lines or points.")
    family: str | None = Field(default=None, description="Signal family (errors, latency, ...).")
    subject: str | None = Field(default=None, description="Change id, resource or dependency.")
    data: dict[str, Any] = Field(default_factory=dict, description="Analyzer-specific numbers.")
    language: QueryLanguage | None = Field(
        default=None, description="The language of `query` when a datasource runs it."
    )
    links: list[Link] = Field(
        default_factory=list, description="Where to open it (Grafana Explore), if configured."
    )


class Hypothesis(_Model):
    """A candidate root cause with its evidence and why it ranks where it does."""

    rank: int = 0
    kind: HypothesisKind
    service: str
    subject: str | None = None
    statement: str
    confidence: float = Field(ge=0.0, le=1.0)
    service_confidence: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="Probability that the cause lies in this service, whatever its kind: the"
        " sum over every candidate on the service (at least `confidence`).",
    )
    evidence: list[str] = Field(default_factory=list, description="Supporting evidence ids.")
    contradicting: list[str] = Field(default_factory=list)
    runbooks: list[str] = Field(default_factory=list)
    features: dict[str, float] = Field(
        default_factory=dict, description="Feature contributions to the score (explainability)."
    )
    score: float = 0.0


class Verdict(_Model):
    """The classification of the alert, the ranked hypotheses and escalation advice."""

    classification: Classification = "actionable"
    escalate: bool = False
    reason: str = ""
    related_alerts: list[str] = Field(default_factory=list)
    hypotheses: list[Hypothesis] = Field(default_factory=list)
    next_step: str = ""


class TriageReport(_Model):
    """The result of `aisre triage`; `to_public()` is the documented --json schema."""

    alert: Alert
    onset: datetime | None = None
    verdict: Verdict
    evidence: list[Evidence] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    sources: list[dict[str, Any]] = Field(default_factory=list)
    bundle_id: str | None = None
    elapsed_s: float = 0.0

    def evidence_by_id(self) -> dict[str, Evidence]:
        return {e.id: e for e in self.evidence}

    def to_public(self) -> dict[str, Any]:
        """The stable JSON schema (docs/json-schema.md, schema version 1)."""

        def iso(d: datetime | None) -> str | None:
            return d.astimezone(UTC).isoformat().replace("+00:00", "Z") if d else None

        return {
            "schema": "aisre.triage/v1",
            "alert": {
                "id": self.alert.id,
                "name": self.alert.name,
                "service": self.alert.service,
                "severity": self.alert.severity,
                "starts_at": iso(self.alert.starts_at),
                "labels": self.alert.labels,
            },
            "onset": iso(self.onset),
            "verdict": {
                "classification": self.verdict.classification,
                "escalate": self.verdict.escalate,
                "reason": self.verdict.reason,
                "related_alerts": self.verdict.related_alerts,
                "next_step": self.verdict.next_step,
            },
            "hypotheses": [
                {
                    "rank": h.rank,
                    "kind": h.kind,
                    "service": h.service,
                    "subject": h.subject,
                    "statement": h.statement,
                    "confidence": round(h.confidence, 4),
                    "service_confidence": round(max(h.service_confidence, h.confidence), 4),
                    "evidence": h.evidence,
                    "contradicting": h.contradicting,
                    "runbooks": h.runbooks,
                    "features": {k: round(v, 4) for k, v in h.features.items()},
                }
                for h in self.verdict.hypotheses
            ],
            "evidence": [
                {
                    "id": e.id,
                    "kind": e.kind,
                    "service": e.service,
                    "start": iso(e.start),
                    "end": iso(e.end),
                    "summary": e.summary,
                    "strength": round(e.strength, 4),
                    "query": e.query,
                    "ref": e.ref,
                    "excerpt": e.excerpt,
                    "family": e.family,
                    "subject": e.subject,
                    "language": e.language,
                    "links": [{"label": x.label, "url": x.url} for x in e.links],
                }
                for e in self.evidence
            ],
            "notes": self.notes,
            "sources": self.sources,
            "bundle": self.bundle_id,
            "elapsed_s": round(self.elapsed_s, 3),
        }
