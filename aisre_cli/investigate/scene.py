"""The scene of an incident: one shared feature object per service, built once.

Every proposer (`investigate/proposers/`) reads the same `ServiceView`: the
service's anomalies (pods aggregated to their service), when they began, which
signal families moved, its logs, traces and network time, and its position in the
topology relative to the paging service. Proposers add only what is specific to
their hypothesis kind (`kind_signal` and a few kind features), so a new kind is one
module that reads this object, and every kind is scored on the same footing.

Anomaly strength is relative to each series' own noise (the metric analyzer's robust
baseline with a noise floor). A node-wide signal is shared by everything on the node
and counts at half strength; a signal the catalogue does not know counts at a lower
prior. The scene also measures how many services moved comparably with no clear
precedence between them (`crowd`): diffuse evidence feeds the "no cause" option.

A leaf endpoint known only by the requests made to it (a load balancer's hostname, a
proxy: X-Ray remote nodes, peer endpoints) that moves with a service its callers also
reach is read as the way in to that service (`_mirrors`): its trouble is the service's.
Several such dependencies of one caller that degrade together with it, seen slow by no
other caller, are that caller's own slowness measured from its side (`_fan_out`).

A change on a caller that takes more of something its callee then ran out of (a bigger
pool before the database's connections filled: `Claim`) is load from above at the callee,
like a surge, and the change proposer judges the change by the callee's evidence. A
service that exports no series is in trouble from its new error logs (`LOG_ANOMALY`).

Cluster events (`analyzers.events`) are part of the scene: a fault the cluster reported
at a service (crash, failed start, failed probes, no capacity) is an anomaly there from
when it began, feeds `k8s_events`, and is cited by every candidate at the service.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

from aisre_cli.investigate.analyzers.changes import (
    AFTER_S,
    ChangeFinding,
    states_setting,
    takes_more,
    version_of,
)
from aisre_cli.investigate.analyzers.dependency import (
    MENTION_MIN,
    DependencyFinding,
    named_in,
    resolver_failed,
    server_answered,
    stores_named,
    text_of,
    unresolved_lookups,
)
from aisre_cli.investigate.analyzers.events import EventFinding
from aisre_cli.investigate.analyzers.logs import LogFinding
from aisre_cli.investigate.analyzers.metrics import (
    POD_KEYS,
    PROXY_PRODUCTS,
    MetricFinding,
    host_service,
    product_owners,
)
from aisre_cli.investigate.analyzers.trace_edges import EdgeFinding, edge_strength, network_blame
from aisre_cli.investigate.evidence import (
    SUMMARY_MAX,
    Findings,
    _dt,
    _Ev,
    _gap,
    edge_evidence,
    event_evidence,
    is_bad,
    log_evidence,
    metric_evidence,
    shorten,
    shorten_parts,
    trace_evidence,
)
from aisre_cli.investigate.families import (
    READ_ONLY_LOG,
    REQUESTS_IN_PROGRESS,
    STATUS_LABELS,
    born_status,
    normalize_name,
    outbound,
)
from aisre_cli.model import Change, Context, Evidence, LogTable, Series, Topology


def demand_rose(
    f: MetricFinding,
    others: Sequence[MetricFinding] = (),
    versions: Mapping[tuple[str, str], set[str]] | None = None,
) -> bool:
    """A request reading that rose: not one status whose series was born in the window
    (`families.born_status`: which calls ended so, not how many came), nor the calls the
    service makes (`families.outbound`: retries, not demand), nor one version's share of
    the requests growing while the others' did not (`version_shift`)."""
    return (
        f.family == "traffic"
        and f.direction > 0
        and not born_status(f.series.labels, f.baseline)
        and not outbound(f.series.name, f.series.labels, f.series.query)
        and not version_shift(f, others, versions or {})
    )


SHIFT_S = 600.0
"""How far apart two versions' requests rising may begin and still be one rise of
demand (seen through `rate()` windows)."""
SHIFT_SHARE = 0.5
"""Demand that rose rises on every version by about the same factor: another version's
rise counts with this one's only if it is at least this share of it (relative), not a
stable version's noise while its canary's weight doubled."""
LATE_S = 600.0
"""How fast a service's `earliest` falls as its trouble begins after the onset: e-fold
every ten minutes."""


def versions_by_metric(series: Sequence[Series]) -> dict[tuple[str, str], set[str]]:
    """(service, metric) → the versions its series carry (`changes.VERSION_LABELS`), ""
    for a series with none (ingress-nginx's `canary=""`: the stable backend's requests,
    or a total over every version), where some other series of the metric has one."""
    out: dict[tuple[str, str], set[str]] = {}
    for x in series:
        if x.service:
            v = version_of(x.labels)
            out.setdefault((x.service, x.name), set()).add(v[1] if v is not None else "")
    return {k: v for k, v in out.items() if v != {""}}


def version_shift(
    f: MetricFinding,
    others: Sequence[MetricFinding],
    versions: Mapping[tuple[str, str], set[str]],
) -> bool:
    """A request reading of one version of a service, where other versions of it serve
    the same metric (`versions`), that rose while none of theirs did: a rollout moving
    weight to its canary (Argo Rollouts' 10% → 25%), the same demand served by other
    pods. Demand that rose rises on every version serving it (`SHIFT_SHARE`)."""
    mine = version_of(f.series.labels)
    key = (f.series.service or "", f.series.name)
    if mine is None or len(versions.get(key, ())) < 2:
        return False
    for g in others:
        if g.family != "traffic" or g.direction <= 0 or g.series.name != f.series.name:
            continue
        theirs = version_of(g.series.labels)
        if (
            (theirs[1] if theirs else "") != mine[1]
            and abs(g.onset - f.onset) <= SHIFT_S
            and g.rel >= SHIFT_SHARE * f.rel
        ):
            return False
    return True


def callees_starved(
    findings: Sequence[MetricFinding], topo: Topology | None, s: str, onset: float
) -> float:
    """How much less the services `s` calls directly were asked for from the moment its
    own demand rose (0 to 1: the strongest fall of a callee's whole request rate, by
    its size). A surge of load carries down the call graph: callees get more. Demand
    that rose while what reached a callee fell is calls failing on the way to it (a
    certificate, a refused connection, a callee crashing) and being retried from above."""
    if topo is None:
        return 0.0
    callees = set(topo.depends_on.get(s, []))
    falls = [0.0]
    for f in findings:
        if (
            f.series.service in callees
            and f.family == "traffic"
            and f.direction < 0
            and not any(f.series.labels.get(k) for k in STATUS_LABELS)
            and not outbound(f.series.name, f.series.labels, f.series.query)
            and abs(f.onset - onset) <= TOL_S
        ):
            falls.append(f.strength * min(1.0, abs(f.rel)))
    return max(falls)


def surge_size(f: MetricFinding) -> float:
    """A surge that overwhelms a service is large in relative terms (x2 and more);
    +20% on a steady counter is many sigmas but no surge."""
    return min(1.0, max(f.rel, 0.0)) if f.baseline > 0 else 1.0


TOL_S = 90.0
NODE_WEIGHT = 0.5
"""A node-scoped signal (node_exporter, a node column of a pod table) counts this much."""
GENERIC_WEIGHT = 0.6
"""A signal the catalogue does not know counts this much (a generic anomaly)."""
CROWD_SHARE = 0.7
"""Services whose lead score is within this share of the best are 'comparable'."""
EVENT_ANOMALY = 0.8
"""A fault the cluster reported (crash, failed start, probe, capacity) counts as an
anomaly at the service this much, like a span finding: the service is in trouble from
then on, even when its own series stopped (a crashed pod exports nothing)."""
FAILURE_FAMILIES = frozenset({"errors", "latency"})
"""Families whose series show a service's requests failing or slowing."""
LOG_ANOMALY = 0.8
"""New error logs count as an anomaly this much at a service that exports no series
(like a span finding or a cluster event): its only evidence of trouble."""
RESOURCE_LOG_FAMILIES = ("cpu", "memory", "disk", "connections")
"""Log families that say a resource ran out (`relay_resource_logs`)."""
EVENT_MIN = 0.1
"""Event groups weaker than this (old, or one Warning long after the page) are ignored."""
ONSET_SHARE = 0.8
"""A service's anomaly begins with its strongest findings (within this share of the
strongest): a weak early drift (a 1% memory creep, one noisy percentile) is not when
its trouble started, and dating it there breaks every timing comparison. Among those
strongest findings the service is dated by their strength-weighted median onset
(`weighted_onset`)."""


@dataclass
class ServiceView:
    """What the engine knows about one service in this incident."""

    name: str
    features: dict[str, float]
    """The shared features (`rank.FEATURES` minus the kind-specific ones)."""
    metrics: list[MetricFinding] = field(default_factory=list)
    """Findings in the incident's time range, strongest first."""
    logs: list[LogFinding] = field(default_factory=list)
    shared_evidence: list[_Ev] = field(default_factory=list)
    """What every candidate at this service cites (top metrics, logs, traces, topology)."""
    topo_evidence: _Ev | None = None
    first: float | None = None
    families: set[str] = field(default_factory=set)
    events: list[EventFinding] = field(default_factory=list)
    """Cluster events at the service by class, strongest first (`analyzers.events`)."""

    def event(self, cls: str) -> EventFinding | None:
        return next((f for f in self.events if f.cls == cls), None)


CLAIM_WINDOW_S = 900.0
"""A callee's resource running out up to this long after a change that takes more of it
(a rollout restarts its pods one by one, each with the new pool) is the change's doing."""


@dataclass(frozen=True)
class Claim:
    """A change on a caller that takes more of a resource (`changes.takes_more`: a larger
    connection pool, more workers) of a service it calls, which then ran out of it: load
    from above in that resource, put there by the change."""

    callee: str
    finding: MetricFinding
    """The callee's saturation the change explains."""
    strength: float
    code: bool = False
    """A deploy that states no setting: new code, whose heavier calls are read from the
    timing alone (`CODE_CLAIM_WINDOW_S`, `CODE_CLAIM`)."""


CODE_CLAIM_WINDOW_S = 300.0
"""A callee's CPU or disk running short this soon after a deploy of one of its
callers that states no setting: new code's heavier queries or calls load it as its pods
come up."""
CODE_CLAIM = 0.5
"""How much of the callee's saturation such a deploy claims: the timing is its only tie."""
CODE_LOADS = frozenset({"cpu", "disk"})
"""What new code's heavier calls use up at a service it calls. Not its connections: a
callee's pool fills as much when the callee slows for its own reasons."""


def _claims(
    changes: list[ChangeFinding], per_svc: dict[str, list[MetricFinding]], topo: Topology
) -> dict[str, Claim]:
    """Change id → the strongest saturation at a direct callee of its service, in a
    family the change takes more of, that began with it or within `CLAIM_WINDOW_S`
    after it (not before: a resource already short is not the change's doing)."""
    out: dict[str, Claim] = {}
    for cf in changes:
        c = cf.change
        if not cf.before_onset:
            continue
        # what it set, not who it is (`ticketing-worker` names no workers)
        said = c.summary.replace(c.service, "")
        # a code change's message says what it fixed, not a setting it raised: new code
        # is tied to its callee's shortage by a close timing only
        code = c.kind == "deploy" and not states_setting(said)
        fams = CODE_LOADS if code else takes_more(said)
        if not fams:
            continue
        t = c.ts.timestamp()
        window, share = (CODE_CLAIM_WINDOW_S, CODE_CLAIM) if code else (CLAIM_WINDOW_S, 1.0)
        for d in topo.callees(c.service):
            for f in per_svc.get(d, []):
                if f.family not in fams or f.scope == "node" or not is_bad(f):
                    continue
                # an onset is known to its series' step: the change may still be first
                if not -max(TOL_S, _step(f)) <= f.onset - t <= window:
                    continue
                held = out.get(c.id)
                if held is None or share * f.strength > held.strength:
                    out[c.id] = Claim(d, f, share * f.strength, code)
    return out


REPOINT_S = 600.0
"""A callee its caller could not reach this soon after a change of the caller that moved
where it calls it (`repointed`) is the change's doing."""
_ADDRESS_MOVE = re.compile(
    r"(?:://|\b(?:url|uri|host|hostname|port|endpoint|address|addr|dsn|upstream|backend)s?\b)"
    r".*(?:->|→|=>|\bto\b)",
    re.IGNORECASE,
)


def repointed(
    changes: list[ChangeFinding], dead: Mapping[str, DependencyFinding], topo: Topology
) -> dict[str, str]:
    """Change id → the callee it moved where its service calls, when that service alone
    could not reach the callee from then on: a backend's URL, host or port set anew
    (`BACKENDS__MISTRAL__URL http://vllm-mistral…:8000/v1 -> …:8080/v1`), then
    connections refused. The address is wrong; the callee, which its other callers still
    reach, is not down."""
    out: dict[str, str] = {}
    for cf in changes:
        c = cf.change
        if c.kind == "deploy" or not _ADDRESS_MOVE.search(c.summary):
            continue
        said = c.summary.lower()
        t = c.ts.timestamp()
        for d in topo.callees(c.service):
            dd = dead.get(d)
            if dd is None or not dd.unreachable or set(dd.callers) != {c.service}:
                continue
            if not re.search(r"(?<![\w-])" + re.escape(d.lower()) + r"(?![\w-])", said):
                continue
            if t - TOL_S <= dd.onset <= t + REPOINT_S:
                out[c.id] = d
    return out


@dataclass
class Scene:
    ctx: Context
    fnd: Findings
    onset: float
    topo: Topology
    has_topo: bool
    cone: set[str]
    first: dict[str, float]
    anom: dict[str, float]
    anomalous: set[str]
    surge_at: dict[str, tuple[float, float]]
    step: float
    views: dict[str, ServiceView]
    edges: list[EdgeFinding] = field(default_factory=list)
    """Grown call edges that speak about the wire (not out of a starved caller)."""
    claims: dict[str, Claim] = field(default_factory=dict)
    """change id → the callee's saturation the change explains (`_claims`)."""
    repointed: dict[str, str] = field(default_factory=dict)
    """change id → the callee it moved where its service calls, which that service then
    could not reach (`repointed`)."""
    wave_at: dict[str, float] = field(default_factory=dict)
    """service → when the wave of demand its surge belongs to was first seen (`waves`)."""
    echoes: dict[str, list[LogFinding]] = field(default_factory=dict)
    """change id → other services' new errors, from just after it, that name what it
    touched (`echoed`), strongest first."""
    answers: dict[str, list[LogFinding]] = field(default_factory=dict)
    """callee → its callers' new errors that say what it answered them (`unexpected
    response from eta-service: enum value 7 not recognized`; a callee quiet but for
    them is in trouble from them, `dependency`'s answered): a release that breaks its
    contract shows in its callers."""
    told: dict[str, dict[str, float]] = field(default_factory=dict)
    """service with no series of its own → {a client whose new errors report its
    failures: their share of that client's strongest new errors} (`told_by`)."""
    versions: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    """(service, metric) → the versions its series carry (`versions_by_metric`)."""
    relays: set[str] = field(default_factory=set)
    """The services that are a proxy product (`metrics.PROXY_PRODUCTS`: HAProxy, NGINX,
    Envoy, Traefik, Kong) by their name: they relay demand to their backends and make
    none of their own."""

    @cached_property
    def series_by_service(self) -> dict[str, list[Series]]:
        """The context's series per service (read once, for readings that look beside
        a finding: the limit reported next to a usage)."""
        out: dict[str, list[Series]] = {}
        for x in self.ctx.series:
            if x.service:
                out.setdefault(x.service, []).append(x)
        return out

    @property
    def alert_service(self) -> str | None:
        return self.ctx.alert.service

    def downstream(self, s: str) -> set[str]:
        return self.topo.downstream(s) if self.has_topo else set()

    def upstream(self, s: str) -> set[str]:
        return self.topo.upstream(s) if self.has_topo else set()

    def effect(self, s: str, skip: str | None = None) -> str:
        v = self.views[s]
        f = sorted(v.families - {"other", skip or ""})
        if not f and v.features.get("logs", 0.0) > 0:
            return "is followed by new errors in its logs"
        if not f and v.events:
            said = sorted(
                ((r, n) for x in v.events for r, n in x.reasons.items()), key=lambda rn: -rn[1]
            )[:2]
            told = " and ".join(f"{r} x{n}" if n > 1 else r for r, n in said)
            return f"is followed by {told} at {s}"
        if not f:
            return "precedes no measurable anomaly at it"
        return f"is followed by {', '.join(f)} anomalies at {s}"


VERSION_WORSE = 0.3
"""A change's new pods this much worse than its old ones (`ChangeHarm.version_harm`) are
an anomaly of its service; a comparison that could be made and found less clears the
change (`proposers.changes`)."""


WAVE_S = 300.0
"""Requests reach the services a call graph leads to at once, but rate windows and
thresholds date one surge minutes apart at them: a login storm's 4.7x at `auth` crosses
before the 1.6x at the gateway in front of it. Surges at a caller and its callee that
began within this long of each other are one wave of demand (`waves`)."""


def waves(surge_at: Mapping[str, tuple[float, float]], topo: Topology) -> dict[str, float]:
    """When the wave of demand each surge belongs to began: the services that surged,
    joined where one calls the other and their surges began within `WAVE_S`, all begin
    when the first of them was seen to. So whether a surge at an entry point came before
    the trouble below it does not hang on which reading crossed first. (Only there: a
    caller's retries after its callee broke join the callee's wave too, and must not
    become load that came from above.)"""
    parent = {s: s for s in surge_at}

    def root(s: str) -> str:
        while parent[s] != s:
            parent[s] = parent[parent[s]]
            s = parent[s]
        return s

    for s, (_, at) in surge_at.items():
        for d in topo.callees(s):
            if d in surge_at and abs(surge_at[d][1] - at) <= WAVE_S:
                parent[root(d)] = root(s)
    begun: dict[str, float] = {}
    for s, (_, at) in surge_at.items():
        r = root(s)
        begun[r] = min(begun.get(r, at), at)
    return {s: begun[root(s)] for s in surge_at}


def _weight(f: MetricFinding) -> float:
    w = NODE_WEIGHT if f.scope == "node" else 1.0
    return w * (1.0 if f.known else GENERIC_WEIGHT)


_WAITING = re.compile(
    REQUESTS_IN_PROGRESS + r"|threadpool_queue|(^|_)(work_?)?queue_(depth|size|length)|backlog"
)
"""Requests waiting their turn inside a service: in progress, or queued for a thread or
an accept (counts of the `connections` family), unlike the pools it holds towards its
own dependencies."""


def build(ctx: Context, fnd: Findings, onset: float, topo: Topology) -> Scene:
    a = ctx.alert.service
    alert_ts = ctx.alert.starts_at.timestamp()
    known = topo.services()
    has_topo = bool(a and a in known)
    cone = ({a} | topo.downstream(a)) if (has_topo and a) else set()
    lo = onset - 3600.0
    hi = max(alert_ts, onset) + 600.0

    per_svc: dict[str, list[MetricFinding]] = {}
    for f in fnd.metrics:
        s = f.series.service
        if not s or f.onset < lo or f.onset > hi:
            continue
        per_svc.setdefault(s, []).append(f)

    anom: dict[str, float] = {}
    first: dict[str, float] = {}
    fams: dict[str, set[str]] = {}
    traffic: dict[str, float] = {}
    nser: dict[str, int] = {}
    generic_only: dict[str, float] = {}
    for s, lst in per_svc.items():
        core = [f for f in lst if f.family != "traffic"]
        # its own demand rose: a victim of load more than a cause (a fall is ambiguous:
        # callers that fail first, or this service failing the requests it counts)
        tr = [f for f in lst if f.family == "traffic" and f.direction > 0]
        if tr:
            traffic[s] = max(f.strength for f in tr)
        score = max([f.strength * _weight(f) for f in core] + [0.0])
        if score <= 0:
            continue
        anom[s] = score
        strong = [f for f in core if f.strength * _weight(f) >= ONSET_SHARE * score]
        first[s] = weighted_onset(per_signal([(f, f.strength * _weight(f)) for f in strong]))
        fams[s] = {f.family or "other" for f in core}
        nser[s] = len(core)
        generic_only[s] = 1.0 if all(not f.known for f in core) else 0.0
    surge_at: dict[str, tuple[float, float]] = {}
    versions = versions_by_metric(ctx.series)
    for s, lst in per_svc.items():
        ups = [f for f in lst if demand_rose(f, lst, versions)]
        if ups:
            # as strong as the traffic proposer reads it: sigmas times relative size, as
            # far as it reached the services it calls (`callees_starved`)
            at = min(f.onset for f in ups)
            size = max(f.strength * surge_size(f) for f in ups)
            lost = callees_starved(fnd.metrics, topo if has_topo else None, s, at)
            surge_at[s] = (size * (1.0 - lost), at)
    claims = _claims(fnd.changes, per_svc, topo) if has_topo else {}
    symptom = _symptom(a, per_svc)
    for svc, d in fnd.dead.items():
        anom[svc] = max(anom.get(svc, 0.0), d.strength)
        first[svc] = min(first.get(svc, d.onset), d.onset)
    traced: dict[str, list[tuple[float, float]]] = {}
    for tf in fnd.traces:
        if tf.strength > 0:
            traced.setdefault(tf.service, []).append((tf.onset, 0.8 * tf.strength))
    for s, pts in traced.items():
        # Trace evidence is split at the page reference, so its onset says "after the
        # page", not when the trouble began: a service's own catalogued series date it.
        # With none (nothing but generic series, whose drift half an hour earlier may be
        # unrelated), its spans failing in the incident's minutes date it instead.
        top = max(w for _, w in pts)
        if s not in first or (generic_only.get(s) and top > anom.get(s, 0.0)):
            first[s] = weighted_onset([(t, w) for t, w in pts if w >= ONSET_SHARE * top])
        anom[s] = max(anom.get(s, 0.0), top)
    for cf in fnd.changes:
        # a canary whose new pods did worse than the old ones over the same minutes: an
        # anomaly of its service from the change on, though no single series of it has
        # a baseline to move from (the new pods came up with the change)
        h = fnd.harm.get(cf.change.id)
        if h is None or h.version_harm < VERSION_WORSE or not cf.before_onset:
            continue
        s, at = cf.change.service, cf.change.ts.timestamp()
        if s not in first or h.version_harm > anom.get(s, 0.0):
            first[s] = at
        anom[s] = max(anom.get(s, 0.0), h.version_harm)
    events_at: dict[str, list[EventFinding]] = {}
    for ef in fnd.events:
        if ef.strength < EVENT_MIN:
            continue
        events_at.setdefault(ef.service, []).append(ef)
        anom[ef.service] = max(anom.get(ef.service, 0.0), EVENT_ANOMALY * ef.strength)
        # a chronic condition's onset is not this incident's: no earlier than the
        # metric findings the scene considers
        began = max(ef.first, lo)
        first[ef.service] = min(first.get(ef.service, began), began)
    # a process manager's log of restarting it (systemd's `Scheduled restart job, restart
    # counter is at 7`, supervisord's `exited … not expected`), or its start banner again
    # and again: on a machine, what the cluster's events say of a pod
    for lf in fnd.logs.findings:
        if lf.family == "restarts" and (lf.restarted or lf.start) and lf.strength >= EVENT_MIN:
            anom[lf.service] = max(anom.get(lf.service, 0.0), EVENT_ANOMALY * lf.strength)
            began = max(lf.first_after, lo)
            first[lf.service] = min(first.get(lf.service, began), began)
    for found_ev in events_at.values():
        found_ev.sort(key=lambda x: (-x.strength, x.cls))
    for cf_cert in fnd.certs:
        # a certificate that expired in the incident's minutes is trouble at its service
        # from that moment, though none of its series moves (the handshake fails first)
        cert_svc = cf_cert.series.service
        if not cert_svc or cf_cert.until is not None or not lo <= cf_cert.onset <= hi:
            continue
        if cf_cert.strength >= 1.0:  # expired, not only near its end
            first[cert_svc] = min(first.get(cert_svc, cf_cert.onset), cf_cert.onset)
            anom[cert_svc] = max(anom.get(cert_svc, 0.0), cf_cert.strength)
    # An endpoint seen only from its callers (a leaf: a load balancer's hostname, a
    # proxy) that moves with a service those callers also reach is, most likely, the
    # route to that service: its trouble is that service's, seen from the outside.
    step = _step(symptom) if symptom is not None else 60.0
    mirrors = _mirrors(
        topo,
        per_svc,
        first,
        {s for s, v in anom.items() if v >= 0.2},
        max(TOL_S, step),
        fnd.observed,
        fnd.served,
    )
    file_topo = topo
    if mirrors:
        deps = {k: list(v) for k, v in topo.depends_on.items()}
        for s, (m, _) in mirrors.items():
            deps[s] = [*deps.get(s, []), m]
        topo = Topology(depends_on=deps)
        cone = ({a} | topo.downstream(a)) if (has_topo and a) else set()
    # A caller starved of CPU or memory is slow to send and to read: its client spans
    # grow although the wire and the callee are fine. Edges out of such a caller say
    # nothing about the callee.
    starved = {
        s
        for s, lst in per_svc.items()
        if any(
            f.family in ("cpu", "memory") and f.scope != "node" and is_bad(f) and f.strength >= 0.5
            for f in lst
        )
    }
    own_starve = {
        s: max(
            [
                f.strength
                for f in lst
                if f.family in ("cpu", "memory") and f.scope != "node" and is_bad(f)
            ]
            + [0.0]
        )
        for s, lst in per_svc.items()
    }
    # the cluster killing a container for its memory limit says as much: it ran out of
    # its own memory, whatever its callees did (a memory series may be missing)
    for s, found_ev in events_at.items():
        oom = max((x.strength for x in found_ev if x.cls == "crash" and x.oom), default=0.0)
        if oom > own_starve.get(s, 0.0):
            own_starve[s] = oom
    # ... nor do edges into a callee whose own log says its CPU is out (a Node
    # service's event loop lagging): a request waits in it before its server span
    # starts, and the client's span counts the wait as the wire's
    lagging = {lf.service for lf in fnd.logs.findings if lf.family == "cpu" and lf.strength >= 0.5}
    # ... and the same where its requests visibly wait their turn: its in-flight
    # requests or its work queue (a thread pool's, an accept backlog) piled up
    lagging |= {
        s
        for s, lst in per_svc.items()
        if any(
            f.family == "connections"
            and f.scope == "service"
            and is_bad(f)
            and f.strength >= 0.5
            and _WAITING.search(normalize_name(f.series.name))
            for f in lst
        )
    }
    edges = [e for e in fnd.edges if e.caller not in starved and e.callee not in lagging]
    net = network_blame(edges)
    edge_anom: dict[str, float] = {}
    for e in edges:
        w = 0.8 * edge_strength(e.z)
        edge_anom[e.callee] = max(edge_anom.get(e.callee, 0.0), w)
        # a call edge whose network time grew is an anomaly at its callee: the callers'
        # slowness is then explained by something deeper; it dates the callee only as
        # its strongest readings do (`ONSET_SHARE`): a faint drift of the calls' latency
        # ten minutes before an outside API's 503s is not when it began to fail
        if w >= ONSET_SHARE * anom.get(e.callee, 0.0):
            first[e.callee] = min(first.get(e.callee, e.onset), e.onset)
        anom[e.callee] = max(anom.get(e.callee, 0.0), w)

    logs_at: dict[str, list[LogFinding]] = {}
    for lf in fnd.logs.findings:
        if lf.first_after < onset - 1800 or lf.first_after > hi:
            continue
        logs_at.setdefault(lf.service, []).append(lf)
    for found in logs_at.values():
        found.sort(key=lambda x: -x.strength)
    # a server whose certificate its clients' handshakes reject, or whose name or path
    # their calls cannot get through, is in trouble from the first of those errors,
    # though none of its own series moves (as for an expired reading)
    # client → {server its TLS or network errors name: when they began}
    failed_peers: dict[str, dict[str, float]] = {}
    relayed = relay_peer_logs(
        logs_at,
        ctx.logs.msg,
        topo.services() | {x.service for x in ctx.series if x.service} | set(logs_at),
        fnd.aliases,
        {x: set(topo.callees(x)) for x in logs_at} if has_topo else None,
    )
    for peer, lf in relayed:
        anom[peer] = max(anom.get(peer, 0.0), LOG_ANOMALY * lf.strength)
        first[peer] = min(first.get(peer, lf.first_after), lf.first_after)
        _said(failed_peers, lf.service, peer, lf.first_after)
    # client → {store: when its log began saying the store ran out}
    refused_by: dict[str, dict[str, float]] = {}
    for store, lf in relay_resource_logs(
        logs_at,
        topo,
        # in trouble: anomalous, and a service that went down above any that did not
        {x: v for x, v in anom.items() if v >= 0.2} | {x: 1.0 + anom[x] for x in fnd.dead},
        {x: {f.family for f in lst if f.family and is_bad(f)} for x, lst in per_svc.items()},
        fnd.stores,
    ):
        # a store its client says ran out (in the store's own words) is in trouble from
        # then, though it exports no reading of that resource
        anom[store] = max(anom.get(store, 0.0), LOG_ANOMALY * lf.strength)
        first[store] = min(first.get(store, lf.first_after), lf.first_after)
        _said(refused_by, lf.service, store, lf.first_after)
    # ... or refused its connections, or its writes (`The MySQL server is running with
    # the --read-only option`): the callee's own answer, which no CPU the client lacked
    # explains (a timeout might be the client's slowness; a refusal is not)
    for d in fnd.dead.values():
        for lf in d.logs:
            if d.service in topo.depends_on.get(lf.service, []) and _REFUSED.search(lf.template):
                _said(refused_by, lf.service, d.service, lf.first_after)

    # A service that exports no series at all, known by its logs alone (a legacy
    # service, a crashed pod that scrapes nothing), is in trouble from when its new
    # errors began, as far as they are strong: without it, its callers' metrics are the
    # earliest trouble and their innocent change "comes first".
    watched = {x.service for x in ctx.series if x.service}
    for s, found in logs_at.items():
        # ... or one whose series cannot show a request failing or slowing (nginx's
        # stub_status counts connections and requests, not their outcome): its error
        # log is where it says so
        if s in anom or (s in watched and fnd.observed.get(s, set()) & FAILURE_FAMILIES):
            continue
        top = found[0].strength
        anom[s] = LOG_ANOMALY * top
        first[s] = min(x.first_after for x in found if x.strength >= ONSET_SHARE * top)
    # client → {callee: when its new errors began naming what that callee answered}:
    # `unexpected response from eta-service: enum value 7 not recognized` where
    # eta-service is in trouble of its own from before (a callee with nothing of its own
    # is read by `dependency`, as answering wrongly)
    answered_by: dict[str, dict[str, float]] = {}
    answers: dict[str, list[LogFinding]] = {}

    def failed_by(c: str) -> float:
        """When service `c`'s own requests began failing (its error readings, or its
        new error logs), inf if they did not."""
        times = [f.onset for f in per_svc.get(c, []) if f.family == "errors" and is_bad(f)]
        times += [x.first_after for x in logs_at.get(c, []) if x.level in ("error", "fatal")]
        return min(times, default=math.inf)

    for s, found in logs_at.items():
        for lf in found:
            if lf.family is not None or lf.level not in ("error", "fatal"):
                continue
            if lf.strength < MENTION_MIN:
                continue
            # in trouble of its own, from before these errors began
            troubled = [
                c
                for c in topo.depends_on.get(s, [])
                if anom.get(c, 0.0) >= 0.2
                and first.get(c, math.inf) <= lf.first_after + TOL_S
                or (c in fnd.dead and fnd.dead[c].answered)
            ]
            named = named_in(lf, troubled, ctx.logs)
            if not named and server_answered(lf, ctx.logs):
                # a server it called answered 5xx, the line does not say which: the one
                # troubled callee failing its own requests from as early is the one
                failing = [c for c in troubled if failed_by(c) <= lf.first_after + TOL_S]
                named = failing if len(failing) == 1 else []
            for callee in named:
                _said(answered_by, s, callee, lf.first_after)
                answers.setdefault(callee, []).append(lf)
    # change → the errors of those it broke that name what it touched: a dependency's
    # change (a topic's size limit lowered) is in trouble from when it was made, as
    # their errors say, and explains them as a callee's answers do
    echoes: dict[str, list[LogFinding]] = {}
    for cf in fnd.changes:
        ch = cf.change
        if not ch.service or not cf.before_onset:
            continue
        said = echoed(ch, logs_at, topo.services() | set(anom) | set(logs_at), ctx.logs)
        if not said:
            continue
        echoes[ch.id] = said
        at = ch.ts.timestamp()
        for lf in said:
            if ch.service in topo.depends_on.get(lf.service, []):
                _said(answered_by, lf.service, ch.service, lf.first_after)
        anom[ch.service] = max(anom.get(ch.service, 0.0), LOG_ANOMALY * said[0].strength)
        first[ch.service] = min(first.get(ch.service, at), at)
    # client → {a direct callee with no series of its own: (when the client's errors
    # began reporting its failures, their share of the client's strongest new errors)}:
    # its answers (refused, unavailable, 5xx), or its calls timing out where they are
    # the only calls of the client's that fail on the way (not lookups of its name,
    # not resets on the way to several servers: the client's side, or the resolver)
    told_by_dataless: dict[str, dict[str, tuple[float, float]]] = {}
    on_the_way: dict[str, set[str]] = {}
    for d in fnd.dead.values():
        for lf in d.logs:
            if lf.family == "network":
                on_the_way.setdefault(lf.service, set()).add(d.service)
    # ... and its handshakes, where the client's TLS errors name it (`relay_peer_logs`)
    reports = [(d.service, lf) for d in fnd.dead.values() for lf in d.logs]
    reports += [(peer, lf) for peer, lf in relayed if lf.family == "certificates"]
    # (no series of its own: none, or only the probes of it from outside)
    inside = watched - fnd.probed
    for callee, lf in reports:
        if callee in inside or callee not in topo.depends_on.get(lf.service, []):
            continue
        # (or its new errors name it as what failed them: `dependency._named_by_callers`;
        # not a lookup of its name, which never reached it)
        by_name = (
            lf.family is None
            and callee in fnd.dead
            and fnd.dead[callee].answered
            and not _LOOKUP.search(lf.template)
        )
        if (
            not by_name
            and lf.family not in ("dependency", "certificates")
            and (
                lf.family != "network"
                or on_the_way.get(lf.service) != {callee}
                or _LOOKUP.search(lf.template)
                or resolver_failed(lf, ctx.logs.msg)
            )
        ):
            continue
        top = max((x.strength for x in logs_at.get(lf.service, [])), default=0.0)
        share = min(1.0, lf.strength / top) if top > 0 else 0.0
        was = told_by_dataless.setdefault(lf.service, {}).get(callee, (math.inf, 0.0))
        told_by_dataless[lf.service][callee] = (min(was[0], lf.first_after), max(was[1], share))
    told: dict[str, dict[str, float]] = {}  # the same, by the callee (`Scene.told`)
    for c, by in told_by_dataless.items():
        for x, (_, share) in by.items():
            told.setdefault(x, {})[c] = share
    lat = _latency_growth(per_svc)
    anomalous = {s for s, v in anom.items() if v >= 0.2}
    fan = _fan_out(topo, anomalous, first, max(TOL_S, step), fnd.observed, fnd.served, fams)
    seen_by = {d: s for s, lone in fan.items() for d in lone}
    ref_onset = first.get(a, onset) if a else onset
    sync_scale = max(2 * step, 300.0)

    def caller_trouble(x: str, direct: bool) -> float | None:
        """When caller `x` first showed trouble: its anomalies and, for a direct caller,
        its new error logs (which need not name the dependency)."""
        times = [first[x]] if x in first else []
        if direct:
            times += [lf.first_after for lf in logs_at.get(x, [])]
        return min(times) if times else None

    def corroboration(s: str) -> float:
        """A dead dependency explains an incident only if its callers degrade soon
        after it dies, or say so in their logs."""
        d = fnd.dead[s]
        direct = set(topo.callers(s))
        caller_on = (
            [
                (x, x_on)
                for x in topo.upstream(s)
                if (x_on := caller_trouble(x, x in direct)) is not None and x_on >= d.onset - TOL_S
            ]
            if has_topo
            else []
        )
        # the callers' trouble decays as evidence one step at a time: fine for two
        # more steps (ten minutes at a 5-minute step) is not "they could not reach it";
        # and it is the dependency's only as far as the dependency is on the way of
        # their requests (`reach`): a caller further up reaches it through its direct
        # callers, as far as they do
        via = max((reach(fnd.volumes, s, x) for x in direct), default=1.0)
        near = [
            math.exp(-max(0.0, c - d.onset - TOL_S) / max(step, 60.0))
            * min(reach(fnd.volumes, s, x), 1.0 if x in direct else via)
            for x, c in caller_on
        ]
        # no topology, or one that does not know the service or who calls it (a worker
        # that takes its work from a queue, an agent): its callers are unknown
        known_callers = has_topo and s in known and bool(direct)
        return max([*near, 0.9 if d.logs else 0.0, 0.0 if known_callers else 0.5])

    # services whose own series are there (`watched`), and those with a certificate reading
    certified = {f.series.service for f in fnd.certs if f.series.service}

    trace_held: dict[str, tuple[float, float]] = {}
    """service → (its share of the trace latency and error increase, when it began)."""
    for tf in fnd.traces:
        # a shift of its spans' own time after the split, or their failures: outlying
        # spans of an operation, or a share of slow traces, say less about where the
        # increase sits
        if (
            tf.evidence_kind in ("self_time", "errors")
            and tf.blame > trace_held.get(tf.service, (0.0, 0.0))[0]
        ):
            trace_held[tf.service] = (tf.blame, tf.onset)

    def svc_features(s: str) -> dict[str, float]:
        an = anom.get(s, 0.0)
        on = first.get(s)
        deeper = 0.0

        def as_strong(d: str) -> float:
            """How much of this service's trouble `d`'s can explain: its strength, and
            only as far as it is as strong as this service's own (`an`)."""
            return anom[d] * (min(1.0, anom[d] / an) if an else 1.0)

        if has_topo:
            for d in topo.downstream(s):
                od = first.get(d, math.inf)
                if d in fan.get(s, ()):
                    continue  # its own calls, seen slow from its side (`_fan_out`)
                if d in anom and (on is None or od <= on + TOL_S):
                    # a deeper anomaly explains this one only if it started about when
                    # this one did, and only as far as it is as strong
                    near = 1.0 if on is None else math.exp(-abs(on - od) / sync_scale)
                    deeper = max(deeper, as_strong(d) * near * _latency_share(s, d, lat))
                # calls to a deeper service that got slow on the wire explain this
                # service's slowness whenever they happened in the incident's minutes
                deeper = max(deeper, edge_anom.get(d, 0.0) * (0.0 if s == d else 1.0))
            if s in mirrors and on is not None:
                # the view from outside of a service in trouble: how much worse it looks
                # from there (timeouts, refused connections) is that service's too
                near = math.exp(-abs(on - first[mirrors[s][0]]) / sync_scale)
                deeper = max(deeper, near)
        for d, said_at in failed_peers.get(s, {}).items():
            # its handshakes with a server failed, or its calls could not get through
            # to it (its own log says which, topology or not): that server's
            # certificate, or the way to it, explains this service's errors as far as
            # it began as early
            if on is None or first[d] <= on + TOL_S:
                near = 1.0 if on is None else math.exp(-abs(on - first[d]) / sync_scale)
                deeper = max(deeper, as_strong(d) * near)
            if on is not None:
                # ... and, whenever its own trouble began (a certificate that expired an
                # hour ago, while its clients held their connections open), from when
                # they began to fail on it (a restart made them reconnect): whatever of
                # their own trouble came after that is the server's, as `answered_by`
                # reads a callee's answers
                late = max(0.0, said_at - on - TOL_S)
                deeper = max(deeper, as_strong(d) * math.exp(-late / sync_scale))
        caller = seen_by.get(s)
        if caller is not None and on is not None and an > 0:
            # known only by the calls of one caller whose other calls degraded with it:
            # the slowness measured is that caller's (`_fan_out`), as far as it is as
            # strong and began as this one did
            near = math.exp(-abs(on - first[caller]) / sync_scale)
            deeper = max(deeper, near * min(1.0, anom[caller] / an))
        if s in fnd.spanned and has_topo:
            # its own spans show where its latency went: a deeper service whose calls
            # hold the increase (trace self-time blame) while its own spans kept their
            # time explains it, by their shares of the blame
            own_tb = trace_held.get(s, (0.0, 0.0))[0]
            for d, (tb_d, on_d) in trace_held.items():
                if d != s and tb_d >= TRACE_HOLDS and d in topo.downstream(s):
                    near = (
                        1.0 if on is None else math.exp(-max(0.0, on_d - on - TOL_S) / sync_scale)
                    )
                    deeper = max(deeper, near * tb_d / (tb_d + own_tb))
        # a service starved of its own CPU or memory has a local explanation: waiting on
        # a slow dependency costs no CPU, and its callees' slowness seen from it is
        # partly its own (it is slow to send and to read)
        deeper *= 1.0 - own_starve.get(s, 0.0)
        for d, said_at in answered_by.get(s, {}).items():
            # its new errors say what a callee in trouble answered it: that callee
            # explains them, and whatever of its own trouble came after they began
            late = 0.0 if on is None else max(0.0, said_at - on - TOL_S)
            near = math.exp(-late / sync_scale)
            deeper = max(deeper, as_strong(d) * near)
        for said_at, share in told_by_dataless.get(s, {}).values():
            # an outside API with no series of its own, whose failures its own new
            # errors report (`Postmark::…: 503 Service Unavailable`): that API's trouble
            # is what it measured, as strong as those errors are among its own
            near = 1.0 if on is None else math.exp(-abs(on - said_at) / sync_scale)
            deeper = max(deeper, share * near)
        for d, said_at in refused_by.get(s, {}).items():
            # its store refused its commands for want of a resource (its own log says
            # so, in the store's words): that explains its errors from when it said
            # so, however long the store had been filling, and whatever its own CPU
            # did (retrying costs CPU)
            near = 1.0 if on is None else math.exp(-abs(on - said_at) / sync_scale)
            deeper = max(deeper, as_strong(d) * near)
        up_surge = 0.0
        if has_topo:
            for x in topo.upstream(s):
                if x in surge_at and (on is None or surge_at[x][1] <= on + TOL_S):
                    up_surge = max(up_surge, surge_at[x][0])
        # a caller's change that takes more of what ran out here: load from above too
        for cl in claims.values():
            if cl.callee == s:
                up_surge = max(up_surge, cl.strength)
        others = [x for x in anomalous if x != s and (not cone or x in cone)]
        explains = 0.0
        if others and has_topo:
            up = topo.upstream(s)
            explains = sum(1 for x in others if x in up) / len(others)
        earliest = 0.0 if on is None else math.exp(-max(on - ref_onset - TOL_S, 0.0) / LATE_S)
        sync = math.exp(-abs(on - ref_onset) / sync_scale) if on is not None else 0.0
        corr = 0.0
        if symptom is not None:
            for f in per_svc.get(s, []):
                if f.family != "traffic":
                    corr = max(corr, _corr(f, symptom))
        # a service the topology does not know (one read from logs covers only what was
        # named) is of unknown position, not off the path
        on_path = 0.5 if not has_topo or s not in known else (1.0 if s in cone else 0.0)
        lg = max((x.strength for x in logs_at.get(s, [])), default=0.0)
        dd = fnd.dead[s].strength * corroboration(s) if s in fnd.dead else 0.0
        tr = max((t.strength for t in fnd.traces if t.service == s), default=0.0)
        tb = max((t.blame for t in fnd.traces if t.service == s), default=0.0)
        # any evidence of its own; a watched service without any stayed fine by its own view
        own = bool(an or lg or dd or tr or tb) or net.get(s, 0.0) >= 0.1
        own = own or s in events_at or s in certified
        return {
            "quiet": 1.0 if s in watched and not own else 0.0,
            "anomaly": an,
            "root_local": an * (1.0 - deeper) * sync,
            "deeper": deeper,
            "explains": explains,
            "earliest": earliest,
            "on_path": on_path,
            "upstream": 1.0 if has_topo and a and s in topo.upstream(a) else 0.0,
            "is_alert_service": 1.0 if s == a else 0.0,
            "logs": lg,
            "dependency_down": dd,
            "trace": tr,
            "trace_blame": tb,
            "net_edge": net.get(s, 0.0),
            "generic_only": generic_only.get(s, 0.0),
            "families": min(1.0, len(fams.get(s, ())) / 4.0),
            "breadth": min(1.0, nser.get(s, 0) / 6.0),
            "upstream_surge": up_surge,
            "symptom_corr": corr,
            "sync": sync,
            "traffic": traffic.get(s, 0.0),
            "k8s_events": max((x.strength for x in events_at.get(s, [])), default=0.0),
        }

    services: set[str] = set(anomalous) | set(logs_at) | set(fnd.dead)
    services |= {cf.change.service for cf in fnd.changes}
    services |= {s for s, v in net.items() if v >= 0.1}
    services |= {f.series.service for f in fnd.certs if f.series.service}
    services |= set(events_at)
    if a:
        services.add(a)
    bases = {s: svc_features(s) for s in sorted(services)}
    # Relative to the other suspects of this incident: how a service compares with the
    # best-correlated / most anomalous one carries across systems better than the raw
    # value does.
    top_corr = max((b["symptom_corr"] for b in bases.values()), default=0.0)
    top_anom = max((b["anomaly"] for b in bases.values()), default=0.0)
    top_net = max((b["net_edge"] for b in bases.values()), default=0.0)
    for b in bases.values():
        b["corr_rel"] = b["symptom_corr"] / top_corr if top_corr > 0 else 0.0
        b["anomaly_rel"] = b["anomaly"] / top_anom if top_anom > 0 else 0.0
        b["net_rel"] = b["net_edge"] / top_net if top_net > 0 else 0.0
    crowd = _crowd(bases)
    for b in bases.values():
        b["crowd"] = crowd

    views: dict[str, ServiceView] = {}
    for s in sorted(services):
        svc_metric = sorted(per_svc.get(s, []), key=lambda f: (-f.strength, f.onset, f.series.name))
        common: list[_Ev] = []
        seen_fam: set[str | None] = set()
        for f in svc_metric:
            if f.family in seen_fam:
                continue
            seen_fam.add(f.family)
            common.append(metric_evidence(f))
            if len(seen_fam) >= 2:
                break
        log_ev = [log_evidence(lf, ctx) for lf in logs_at.get(s, [])[:2]]
        trace_ev = [trace_evidence(t) for t in fnd.traces if t.service == s][:1]
        edge_ev = [
            edge_evidence(e)
            for e in sorted(edges, key=lambda e: -e.z)
            if e.callee == s or e.caller == s
        ][:1]
        ev_rows = [event_evidence(x, onset) for x in events_at.get(s, [])[:2]]
        views[s] = ServiceView(
            name=s,
            features=bases[s],
            metrics=svc_metric,
            logs=logs_at.get(s, []),
            shared_evidence=common + ev_rows + log_ev + trace_ev + edge_ev,
            topo_evidence=(
                _mirror_evidence(s, *mirrors[s], file_topo, first)
                if s in mirrors
                else _topology_evidence(
                    s, file_topo, anomalous, first, anom, has_topo, _topology_ref(ctx)
                )
            ),
            first=first.get(s),
            families=fams.get(s, set()),
            events=events_at.get(s, []),
        )
    owners = product_owners(set(views) | (topo.services() if has_topo else set()))
    return Scene(
        ctx=ctx,
        fnd=fnd,
        onset=onset,
        topo=topo,
        has_topo=has_topo,
        cone=cone,
        first=first,
        anom=anom,
        anomalous=anomalous,
        surge_at=surge_at,
        wave_at=waves(surge_at, topo) if has_topo else {},
        step=step,
        views=views,
        edges=edges,
        claims=claims,
        repointed=repointed(fnd.changes, fnd.dead, topo) if has_topo else {},
        answers=answers,
        echoes=echoes,
        told=told,
        versions=versions,
        relays={owners[p] for p in PROXY_PRODUCTS if p in owners},
    )


LATENCY_FANOUT = 2.0
"""A caller may wait on a dependency more than once per request: up to this many
times its growth is still the dependency's doing."""


VOLUME_FULL = 0.1
"""The share of a caller's requests a dependency must serve (`reach`) to explain the
caller's trouble in full."""


def reach(volumes: Mapping[str, Mapping[str, float]], callee: str, caller: str) -> float:
    """0-1: how much of `caller`'s trouble `callee` being down can explain, by how many
    requests it serves against the caller's, counted by the same metric (`volumes`):
    each request the callee served touched one of the caller's at most, so a callee
    that served 15 requests while its caller served 680 failed 2% of them at most, and
    cannot be why the caller's typical request got slow. 1.0 where no metric counts
    both."""
    mine, theirs = volumes.get(callee, {}), volumes.get(caller, {})
    shares = [mine[n] / theirs[n] for n in mine.keys() & theirs.keys() if theirs[n] > 0]
    return min(1.0, max(shares) / VOLUME_FULL) if shares else 1.0


def _latency_growth(per_svc: dict[str, list[MetricFinding]]) -> dict[str, dict[str, float]]:
    """service → metric name → how much that latency grew, in the metric's own unit."""
    out: dict[str, dict[str, float]] = {}
    for s, lst in per_svc.items():
        for f in lst:
            if f.family == "latency" and f.direction > 0 and f.level > f.baseline:
                cur = out.setdefault(s, {})
                cur[f.series.name] = max(cur.get(f.series.name, 0.0), f.level - f.baseline)
    return out


def _latency_share(s: str, d: str, lat: dict[str, dict[str, float]]) -> float:
    """How much of caller `s`'s latency growth its dependency `d` can account for.

    Latency adds up along a call path: a caller waits for its dependency, so the
    dependency's growth can explain the caller's only up to its own size (times a
    small fan-out). A database 2 ms slower does not explain a caller 400 ms slower:
    that caller has trouble of its own. Compared on the same metric (same name, same
    unit) where both have one; 1.0 (no say) otherwise."""
    mine, theirs = lat.get(s, {}), lat.get(d, {})
    shared = [n for n in mine if n in theirs and mine[n] > 0]
    if not shared:
        return 1.0
    return min(1.0, max(LATENCY_FANOUT * theirs[n] / mine[n] for n in shared))


_PEER = re.compile(
    r"(?:[a-z][a-z0-9+.-]*://|\bhost\s*[=:]\s*['\"]?|\blookup\s+|(?<![\w.-]))"
    r"([a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)+)",
    re.I,
)
"""Where a line names the server it called: a URL, `host='...'` (urllib3), Go's
`lookup NAME`, or any dotted host name (`UnknownHostException: metadata-db.internal`,
`getaddrinfo EAI_AGAIN metadata-db.internal`). Only a first DNS label that is a known
service counts (`java.net...` names none)."""
PEER_FAMILIES = ("certificates", "network")
"""Client log families that are about the server called (`relay_peer_logs`)."""


TRACE_HOLDS = 0.3
"""The share of the traces' latency and error increase (`TraceFinding.blame`) a deeper
service must hold for it to explain a caller whose own spans show the rest: a third, a
judgement, not fitted."""
CLIENT_FELT = ("symptom_corr", "corr_rel", "sync")
"""What a server takes from the clients whose errors name it (`felt_by_clients`)."""


def felt_by_clients(scene: Scene, view: ServiceView, family: str) -> dict[str, float]:
    """A fault its clients' errors of `family` name this server for (relayed to it,
    `relay_peer_logs`) shows where those clients fail: when and how they moved with the
    symptom is its own timing (an hour-old expired certificate that a restart of its
    clients revealed, a resolver whose lookups fail while its own series look fine)."""
    clients = {x.service for x in view.logs if x.family == family and x.service != view.name}
    if (
        family == "certificates"
        and scene.has_topo
        and any(x.family == family and x.service == view.name for x in view.logs)
    ):
        # the server's own log says its clients rejected its certificate (PostgreSQL's
        # `could not accept SSL connection: … certificate expired`): its callers in
        # trouble are those clients, though their own errors name no server
        clients |= {c for c in scene.topo.callers(view.name) if scene.anom.get(c, 0.0) >= 0.2}
    out: dict[str, float] = {}
    for k in CLIENT_FELT:
        felt = [scene.views[c].features.get(k, 0.0) for c in clients if c in scene.views]
        out[k] = max([view.features.get(k, 0.0), *felt])
    return out


_LOOKUP = re.compile(
    r"lookup|no such host|resolv|getaddrinfo|unknownhost|enotfound|name or service",
    re.IGNORECASE,
)
"""A client's error about looking a name up, not about a call to it."""
TOLD_SHARE = 0.8
"""How much of a client's strongest new errors must report a service's failures for
the client's timing to be that service's (`told_by`)."""


def told_by(scene: Scene, view: ServiceView) -> dict[str, float]:
    """A service with no series of its own whose failures its clients' strongest new
    errors report (an outside API answering `503 Service Unavailable`): when and how
    those clients moved with the symptom is its own timing, as far as those errors are
    theirs (`CLIENT_FELT`, `TOLD_SHARE`)."""
    out: dict[str, float] = {}
    for k in CLIENT_FELT:
        felt = [
            scene.views[c].features.get(k, 0.0) * share
            for c, share in scene.told.get(view.name, {}).items()
            if share >= TOLD_SHARE and c in scene.views
        ]
        out[k] = max([view.features.get(k, 0.0), *felt])
    return out


def _server_of(
    host: str, family: str | None, aliases: Mapping[str, str] | None, by_flat: dict[str, str]
) -> str | None:
    """The service a host a client's error names is: one the data ties it to
    (`aliases`), else its first DNS label (in-cluster DNS puts the service first); for a
    certificate, also a service all of whose words the host holds (`host_service`:
    api.stripe.com's certificate is stripe-api's). Not for a network error: a call to an
    outside API timing out says the way there or the API failed, not which."""
    h = host.lower()
    if (tied := (aliases or {}).get(h)) is not None:
        return tied
    if family == "certificates":
        return host_service(h, by_flat)
    return h.split(".", 1)[0]


PEER_CERT_EXPIRED = re.compile(
    r"certificate has expired|x509: certificate (has )?expired|certificate expired"
    r"|CertificateExpiredException|PKIX path validation failed",
    re.IGNORECASE,
)
"""A client's own verification failing on the certificate its server presented
(OpenSSL's `certificate verify failed: certificate has expired`, Go's `x509: certificate
has expired or is not yet valid`, Java's `CertificateExpiredException`): the server's
certificate, not the client's. A TLS *alert* the client received (`remote error: tls:
expired certificate`, `sslv3 alert certificate expired`) is the reverse: the server
refused the client's certificate (`proposers.certificate.OWN_CERT_REJECTED`); so is a
server's own log of a handshake from a client failing (`_TLS_ALERT`)."""

_TLS_ALERT = re.compile(r"remote error|alert|handshake error from", re.IGNORECASE)
"""Not a client's verification: a TLS alert it received, or a server's log of a
client's handshake failing (Go's `http: TLS handshake error from ADDR: …`)."""


def _sole_server(lf: LogFinding, client_calls: set[str] | None) -> str | None:
    """The server a client's expired-certificate error is about when its lines name
    none: the one service the client calls (topology), if it calls exactly one."""
    if (
        lf.family != "certificates"
        or not client_calls
        or len(client_calls) != 1
        or not PEER_CERT_EXPIRED.search(lf.template)
        or _TLS_ALERT.search(lf.template)
    ):
        return None
    return next(iter(client_calls))


def relay_peer_logs(
    logs_at: dict[str, list[LogFinding]],
    msgs: list[str],
    known: set[str],
    aliases: dict[str, str] | None = None,
    calls: Mapping[str, set[str]] | None = None,
) -> list[tuple[str, LogFinding]]:
    """Give an error a client logged about the one server it called to that server, in
    place: `Post "https://recommender.svc.cluster.local/v1": x509: certificate has
    expired` is recommender's certificate, `UnknownHostException: metadata-db.internal`
    a fault on the way to metadata-db, not the caller's. TLS and network errors
    (`PEER_FAMILIES`) only: the template has the host masked, so its example lines are
    read; a host whose first DNS label is a known service (in-cluster DNS puts it
    first) or a host the data ties to one (`aliases`: `api.carrierhub.example` is
    carrier-rates-api), other than the client, is the server, when there is one (a client whose
    calls to every server fail has trouble of its own), and, for network errors, when
    all of them name that one. Lookups of several names that the resolver failed to
    answer go to the resolver, when the data knows one (`unresolved_lookups`). The
    client keeps the line as an error of its own (the `logs` feature), not as a
    certificate or a network fault of its own. A client's expired-certificate error that
    names no host is about the one server it calls, when `calls` (client → the services
    it calls) says it calls one (`_sole_server`). Returns what moved: (server, the
    client's finding)."""
    named: list[tuple[str, int, str, LogFinding]] = []
    by_flat = {x.lower(): x for x in known}
    resolver, unresolved = unresolved_lookups(
        [x for found in logs_at.values() for x in found], known, msgs
    )
    for svc, found in logs_at.items():
        for k, lf in enumerate(found):
            if lf.family not in PEER_FAMILIES:
                continue
            if resolver is not None and id(lf) in unresolved:
                # lookups of several names the resolver failed to answer: its fault
                named.append((svc, k, resolver, lf))
                continue
            peers = {
                first
                for i in lf.examples
                if 0 <= i < len(msgs)
                for host in _PEER.findall(msgs[i])
                if (first := _server_of(host, lf.family, aliases, by_flat)) in known
                and first != svc
            }
            if len(peers) == 1:
                named.append((svc, k, peers.pop(), lf))
            elif (
                not peers
                and (sole := _sole_server(lf, (calls or {}).get(svc))) is not None
                and sole in known
            ):
                named.append((svc, k, sole, lf))
    # network errors naming several servers (lookups of every name failing) are the
    # network's or the resolver's, not one server's
    servers = {
        peer for _, _, peer, lf in named if lf.family == "network" and id(lf) not in unresolved
    }
    moved: list[tuple[str, LogFinding]] = []
    for svc, k, peer, lf in named:
        if lf.family == "network" and len(servers) > 1 and id(lf) not in unresolved:
            continue
        moved.append((peer, lf))
        logs_at[svc][k] = replace(lf, family=None)
    for peer, lf in moved:
        _add_log(logs_at, peer, lf)
    return moved


def relay_resource_logs(
    logs_at: dict[str, list[LogFinding]],
    topo: Topology,
    troubled: dict[str, float],
    own: dict[str, set[str]],
    stores: dict[str, set[str]] | None = None,
) -> list[tuple[str, LogFinding]]:
    """Move a resource running out, said in the logs of several services at once, to the
    one service they all call that is in trouble, in place; or said by one service in
    its store's words (`redis command failed: OOM command not allowed`), to the one
    store of that technology it calls (`dependency.store_named`; `stores`: service →
    the store technologies it is), or, calling several, to the one of them another
    client's line in those words went to.

    Two services do not run out of disk in the same minutes: the database's `could not
    extend file: No space left on device` (or `too many connections`, or a cache's `OOM
    command not allowed`) is relayed to each client that called it, in each client's
    words (a driver prefixes its exception class). Services saying a resource ran out
    that show no reading of their own of that resource (`own`: service -> families
    of its bad series) keep the line as an error of their own (a new error template:
    the `logs` feature), not as their resource running out. The service they can all
    have it from gets it: one they all call (directly or not), or one of them that all
    the others call, which says it first hand and keeps its line. Of those in trouble
    (`troubled`: service -> anomaly, a service that went down counting above any),
    the one most in trouble, when it is alone there. Without a topology, or with a
    tie, the clients only lose it. Returns the lines moved to a store named by its
    technology: (store, the client's finding)."""
    said: dict[str, list[LogFinding]] = {}
    moved: list[tuple[str, LogFinding]] = []
    several: list[tuple[list[str], int, str, LogFinding]] = []
    for svc, found in list(logs_at.items()):
        for k, lf in enumerate(found):
            if lf.family not in RESOURCE_LOG_FAMILIES or lf.family in own.get(svc, set()):
                continue
            hits = stores_named(lf.template, svc, topo, stores) if stores else []
            if len(hits) == 1:
                moved.append((hits[0], lf))
                found[k] = replace(lf, family=None)
            else:
                said.setdefault(lf.family, []).append(lf)
                if hits:
                    several.append((hits, k, lf.family, lf))
    # a client calling two stores of the technology its line names: the one another
    # client's line in the same words was moved to, where that is one of them
    named = {store for store, _ in moved}
    for hits, k, fam, lf in several:
        mine = [x for x in hits if x in named]
        if len(mine) == 1:
            moved.append((mine[0], lf))
            logs_at[lf.service][k] = replace(lf, family=None)
            said[fam] = [x for x in said[fam] if x is not lf]
    for store, lf in moved:
        _add_log(logs_at, store, lf)
    for shared in said.values():
        services = sorted({lf.service for lf in shared})
        if len(services) < 2:
            continue
        # where every one of them can have it from: a service they all call, or one of
        # them that all the others call (it says it first hand)
        common = set.intersection(*({svc} | topo.downstream(svc) for svc in services))
        ranked = sorted(((troubled[x], x) for x in common if x in troubled), reverse=True)
        source = ""
        if ranked and (len(ranked) == 1 or ranked[0][0] > ranked[1][0]):
            source = ranked[0][1]
        ids = {id(lf) for lf in shared if lf.service != source}
        for svc in services:
            logs_at[svc] = [
                lf if id(lf) not in ids else replace(lf, family=None) for lf in logs_at[svc]
            ]
        if source and source not in services:
            _add_log(logs_at, source, max(shared, key=lambda lf: lf.strength))
    return moved


_REFUSED = re.compile(f"connection refused|econnrefused|{READ_ONLY_LOG}", re.IGNORECASE)
"""A client's line saying its callee refused it: the connection, or its writes. Not a
503 (`DOWN_LOG`'s `service unavailable`): a server shedding load answers so, and the
load may be the client's own."""


_IDENT = re.compile(r"(?<![a-z0-9._-])[a-z][a-z0-9]*+(?:[._-][a-z0-9]++)++")
"""An identifier a change summary names: a topic, a setting, a table, a tenant
(`surge-multipliers`, `max.message.bytes`, `num.stream.threads`)."""
ECHO_MIN_LEN = 8
SUMMARY_READ = 2000
"""How much of a change's summary `touched` reads."""


def touched(summary: str, services: set[str]) -> set[str]:
    """The identifiers a change says it touched (`_IDENT`, at least `ECHO_MIN_LEN`
    long): not a service's name, which many errors name for other reasons, nor a
    version or an address (no word of three letters)."""
    out = set()
    # (a summary is outside text: the first of it says what the change was)
    for w in _IDENT.findall(summary[:SUMMARY_READ].lower()):
        w = w.strip("._-")
        if len(w) < ECHO_MIN_LEN or w in services or not re.search(r"[a-z]{3}", w):
            continue
        out.add(w)
    return out


def echoed(
    c: Change, logs_at: Mapping[str, list[LogFinding]], services: set[str], logs: LogTable
) -> list[LogFinding]:
    """Other services' new errors that began after change `c`, within `AFTER_S`, and
    name what it touched (`touched`): a topic whose size limit it lowered, which a
    producer's `Failed to send data to Kafka surge-multipliers-7` names. Strongest
    first."""
    words = touched(c.summary, services)
    if not words:
        return []
    rxs = [re.compile(r"(?<![\w.-])" + re.escape(w) + r"(?![a-z])") for w in words]
    t = c.ts.timestamp()
    found = [
        lf
        for svc, lst in logs_at.items()
        if svc != c.service
        for lf in lst
        if lf.level in ("error", "fatal", "warn")
        and t <= lf.first_after <= t + AFTER_S
        and lf.strength >= MENTION_MIN
        and any(rx.search(text_of(lf, logs)) for rx in rxs)
    ]
    return sorted(found, key=lambda x: -x.strength)


def _said(told: dict[str, dict[str, float]], client: str, peer: str, at: float) -> None:
    """Record that `client`'s log spoke of `peer` from `at` (the earliest time kept)."""
    mine = told.setdefault(client, {})
    mine[peer] = min(mine.get(peer, at), at)


def _add_log(logs_at: dict[str, list[LogFinding]], svc: str, lf: LogFinding) -> None:
    """Give `svc` another service's finding (a relayed line), strongest first."""
    mine = logs_at.setdefault(svc, [])
    mine.append(lf)
    mine.sort(key=lambda x: -x.strength)


def per_signal(found: list[tuple[MetricFinding, float]]) -> list[tuple[float, float]]:
    """(onset, weight) per signal: a metric's series that differ only in their pod,
    instance or version (`metrics.POD_KEYS`) are one signal, dated by their own weighted
    median onset and weighing as their strongest. Six replicas throttled count once
    beside one latency percentile: how many pods a service runs does not decide when its
    trouble began. Routes, status codes and peers stay signals of their own."""
    groups: dict[tuple[str, str | None, frozenset[tuple[str, str]]], list[tuple[float, float]]] = {}
    for f, w in found:
        own = frozenset((k, v) for k, v in f.series.labels.items() if k not in POD_KEYS)
        groups.setdefault((f.series.name, f.family, own), []).append((f.onset, w))
    return [(weighted_onset(pts), max(w for _, w in pts)) for pts in groups.values()]


def weighted_onset(pts: list[tuple[float, float]]) -> float:
    """The strength-weighted (lower) median of onsets: when most of a service's strong
    evidence had begun. One percentile that crept up a few minutes early does not
    date the whole service; two equal signals date it at the earlier."""
    pts = sorted(pts)
    half = 0.5 * sum(w for _, w in pts)
    acc = 0.0
    for t, w in pts:
        acc += w
        if acc >= half - 1e-12:
            return t
    return pts[-1][0]


def _crowd(bases: dict[str, dict[str, float]]) -> float:
    """How many services have comparable evidence with no precedence between them,
    scaled 0-1 (0: one clear lead; 1: four or more look alike)."""
    lead = {
        s: max(b["root_local"], 0.5 * b["anomaly"] * (1.0 - b["deeper"]), b["net_edge"])
        for s, b in bases.items()
    }
    top = max(lead.values(), default=0.0)
    if top <= 0.05:
        return 0.0
    n = sum(1 for v in lead.values() if v >= CROWD_SHARE * top)
    return min(1.0, (n - 1) / 3.0)


def _symptom(a: str | None, per_svc: dict[str, list[MetricFinding]]) -> MetricFinding | None:
    """The paging service's main symptom: its strongest non-traffic anomaly."""
    if not a:
        return None
    own = [f for f in per_svc.get(a, []) if f.family != "traffic"]
    if not own:
        return None
    return max(own, key=lambda f: (f.strength, -f.onset))


def _topology_ref(ctx: Context) -> str:
    """Where the calls the topology evidence cites came from (`triage.analyze_context`:
    the topology given, else the spans, else error logs naming a service)."""
    if ctx.topology.depends_on:
        return "topology.yaml"
    if ctx.spans:
        return "calls derived from the spans"
    return "calls read from error logs naming a service"


def _topology_evidence(
    s: str,
    topo: Topology,
    anomalous: set[str],
    first: dict[str, float],
    anom: dict[str, float],
    has_topo: bool,
    ref: str = "topology.yaml",
) -> _Ev | None:
    if not has_topo or s not in anomalous:
        return None
    up = sorted(
        (x for x in topo.upstream(s) if x in anomalous and x in first), key=lambda x: (first[x], x)
    )
    down_bad = [d for d in topo.downstream(s) if d in anomalous]
    if not up and not down_bad:
        return None
    parts = []
    lags: list[str] = []
    head = ""
    if up:
        lags = [
            f"{x} (+{_gap(first[x] - first[s])})" if first[x] >= first[s] else f"{x} (earlier)"
            for x in up[:4]
        ]
        after = all(first[x] >= first[s] for x in up[:4])
        head = f"callers of {s} anomalous{' after it' if after else ''}: "
        parts.append(head + ", ".join(lags))
    if down_bad:
        parts.append(f"its anomalous dependencies: {', '.join(sorted(down_bad)[:3])}")
    else:
        n_deps = len(topo.downstream(s))
        parts.append(
            "it depends on no other service"
            if n_deps == 0
            else "the one service it depends on is not anomalous"
            if n_deps == 1
            else f"none of the {n_deps} services it depends on is anomalous"
        )
    # too long: the list of callers gives way first, whole names at a time; what the
    # dependencies did (the last part) says whether `s` is a cause or a symptom
    k = len(lags)
    while k > 1 and len("; ".join(parts)) > SUMMARY_MAX:
        k -= 1
        parts[0] = head + ", ".join([*lags[:k], f"… (+{len(up) - k} more)"])
    strength = max(0.05, anom.get(s, 0.0) * (1.0 if not down_bad else 0.4))
    ev = Evidence(
        id="",
        kind="topology",
        service=s,
        start=_dt(first[s]) if s in first else None,
        summary=shorten_parts(parts),
        strength=round(min(1.0, strength), 4),
        query=(
            f"topology: {', '.join(up[:3])} depends_on … {s}"
            if up
            else f"topology: {s} depends_on {', '.join(sorted(down_bad)[:3])}"
        ),
        ref=ref,
    )
    return _Ev(f"t:{s}", ev)


REQUEST_FAMILIES = frozenset({"latency", "errors", "availability", "traffic"})
"""What a caller sees of a request: how many, how long, how many failed."""
FAN_OUT_MIN = 2
"""How many of a caller's dependencies must degrade together (`_fan_out`)."""


def _seen_from_callers(s: str, observed: dict[str, set[str]], served: set[str]) -> bool:
    """`s` is known only by the requests made to it: no CPU, memory, restart or other
    series but requests (`REQUEST_FAMILIES`), and no proxy of its own counting the calls
    it serves (`Findings.served`). Else it is a workload, measured on its own side."""
    return s not in served and not observed.get(s, set()) - REQUEST_FAMILIES


def _fan_out(
    topo: Topology,
    anomalous: set[str],
    first: dict[str, float],
    tol: float,
    observed: dict[str, set[str]],
    served: set[str],
    fams: dict[str, set[str]],
) -> dict[str, set[str]]:
    """Callers whose calls to several dependencies got slow at once: caller → those
    dependencies.

    A leaf dependency known only by the requests made to it (a managed database, a queue,
    an external API: X-Ray remote and AWS nodes, OpenTelemetry `peer.service`, a
    mesh's destination seen from the source proxy) is measured by its callers' clients.
    A caller that is slow to send and to read (CPU-starved, paused, its own thread
    pool full) is slow itself and makes every one of its calls look slow. So when
    `FAN_OUT_MIN` or more such dependencies of one caller whose own latency grew get
    slow together with it (within `tol`), and no other caller of theirs degrades, their
    slowness is the caller's view of its own: it does not explain the caller (it is no
    `deeper` cause of it), and the caller explains them. A dependency that is really
    down is seen by each of its callers; one that another caller also finds slow, or
    that fails rather than slows, is not counted here."""
    out: dict[str, set[str]] = {}
    for s in sorted(anomalous):
        if s not in first or "latency" not in fams.get(s, ()):
            continue
        lone = {
            d
            for d in topo.depends_on.get(s, []) or []
            if d != s
            and d in anomalous
            and d in first
            and abs(first[d] - first[s]) <= tol
            and not topo.depends_on.get(d)
            and "latency" in fams.get(d, ())
            and _seen_from_callers(d, observed, served)
            and not any(c != s and c in anomalous for c in topo.callers(d))
        }
        if len(lone) >= FAN_OUT_MIN:
            out[s] = lone
    return out


MIRROR_CORR = 0.9
"""How closely a leaf endpoint's series must follow a service's to be read as the
caller-side view of it (`_mirrors`)."""


def _mirrors(
    topo: Topology,
    per_svc: dict[str, list[MetricFinding]],
    first: dict[str, float],
    anomalous: set[str],
    tol: float,
    observed: dict[str, set[str]],
    served: set[str],
) -> dict[str, tuple[str, float]]:
    """Leaf endpoints that look like the way in to another service: leaf → (that
    service, how closely they follow each other).

    Service maps built from client-side spans (X-Ray "remote" nodes, Zipkin and Jaeger
    peer endpoints, a mesh's destination hosts) show a load balancer or proxy as a leaf
    of its callers, beside the service it fronts, which reports on its own. A leaf `s`
    known only by the requests made to it (no CPU, memory, restart or other resource
    series, nor a mesh proxy's count of the calls it serves: not a workload of its own)
    mirrors service `m` when all of these hold:
    - they share a caller;
    - `m` does not call `s` (then `m`'s trouble could be `s`'s doing);
    - `m` reports calls of its own (it is instrumented);
    - both became anomalous at the same time (within `tol`: a sampling step);
    - their anomalies follow each other (correlation ≥ `MIRROR_CORR`, `_follow`).
    Nothing else links the two in the topology, so the only causal path left is through
    the leaf to `m`."""
    out: dict[str, tuple[str, float]] = {}
    for s in sorted(anomalous):
        if topo.depends_on.get(s) or s not in first or not _seen_from_callers(s, observed, served):
            continue
        callers = set(topo.callers(s))
        if not callers:
            continue
        mine = [f for f in per_svc.get(s, []) if f.family and f.family != "traffic"]
        best: tuple[float, str] | None = None
        for m in sorted(anomalous):
            if m == s or m not in first or not topo.depends_on.get(m):
                continue
            if abs(first[s] - first[m]) > tol or not callers & set(topo.callers(m)):
                continue
            if s in topo.downstream(m):
                continue
            c = _follow(mine, per_svc.get(m, []))
            if c >= MIRROR_CORR and (best is None or c > best[0]):
                best = (c, m)
        if best is not None:
            out[s] = (best[1], best[0])
    return out


def _mirror_evidence(s: str, m: str, r: float, topo: Topology, first: dict[str, float]) -> _Ev:
    """Why a leaf's trouble is read as another service's (`_mirrors`): cited where the
    topology evidence would be, since the edge is inferred, not in the topology."""
    shared = sorted(set(topo.callers(s)) & set(topo.callers(m)))
    ev = Evidence(
        id="",
        kind="topology",
        service=s,
        start=_dt(first[s]),
        summary=shorten(
            f"{s} has no resource series of its own and is called by "
            f"{', '.join(shared[:2])}, as {m} is; both turned anomalous at "
            f"{_dt(first[s]):%H:%M} and follow each other (r={r:.2f}): read as the way in "
            f"to {m} (a load balancer or proxy in front of it)"
        ),
        strength=0.05,
        query=f"topology: {shared[0]} depends_on {s}, {m}  # {s} -> {m} inferred",
        ref="topology.yaml",
    )
    return _Ev(f"t:{s}", ev)


def _follow(mine: list[MetricFinding], theirs: list[MetricFinding]) -> float:
    """How closely two services' anomalies follow each other: the best correlation
    between anomalies of the same metric (the same measurement of both), or else
    between the strongest anomalies of a shared signal family."""
    same = [_corr(f, g) for f in mine for g in theirs if f.series.name == g.series.name]
    if same:
        return max(same)
    out = 0.0
    for f in mine:
        fam = [g for g in theirs if g.family == f.family]
        if fam:
            g = max(fam, key=lambda g: (g.strength, -g.onset))
            out = max(out, _corr(f, g))
    return out


def _step(f: MetricFinding) -> float:
    ts = f.series.timestamps
    if len(ts) < 2:
        return 60.0
    gaps = sorted(b - a for a, b in zip(ts, ts[1:], strict=False))
    return max(1.0, gaps[len(gaps) // 2])


def _corr(f: MetricFinding, g: MetricFinding) -> float:
    """Correlation of two anomalies' series on shared timestamps, sign-adjusted so that
    both moving in their anomalous direction counts as positive."""
    if f.series is g.series:
        return 1.0
    gv = dict(zip(g.series.timestamps, g.series.values, strict=False))
    xs: list[float] = []
    ys: list[float] = []
    for t, v in zip(f.series.timestamps, f.series.values, strict=False):
        w = gv.get(t)
        if w is not None and math.isfinite(v) and math.isfinite(w):
            xs.append(v)
            ys.append(w)
    n = len(xs)
    if n < 5:
        return 0.0
    mx = sum(xs) / n
    my = sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx <= 0 or syy <= 0:
        return 0.0
    r = sxy / math.sqrt(sxx * syy) * f.direction * g.direction
    return max(0.0, r)
