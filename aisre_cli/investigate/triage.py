"""The triage pipeline: gather → analyzers → rank → verdict, as one call.

`run_triage` is the entry point shared by the CLI, the console and `aisre eval`.
`analyze_context` is split out so evaluation and tests can work on a Context
directly (for example to add injected log lines and compare rankings).

Optional collaborators are injected, never imported from higher layers:
`runbook_matcher` (from remediate) names runbooks per hypothesis, and `memory`
(from the memory store) adds priors and known-issue evidence.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Protocol

from aisre_cli.investigate import alert_service
from aisre_cli.investigate.analyzers import changes as change_an
from aisre_cli.investigate.analyzers import dependency as dep_an
from aisre_cli.investigate.analyzers import events as event_an
from aisre_cli.investigate.analyzers import logs as log_an
from aisre_cli.investigate.analyzers import metric_edges as metric_edge_an
from aisre_cli.investigate.analyzers import metrics as metric_an
from aisre_cli.investigate.analyzers import tls_edge as tls_edge_an
from aisre_cli.investigate.analyzers import trace_edges as edge_an
from aisre_cli.investigate.analyzers import traces as trace_an
from aisre_cli.investigate.families import FamilyMatcher
from aisre_cli.investigate.gather import (
    ProgressFn,
    alerts_command,
    gather_for,
    list_alerts,
    no_alert_id,
    resolve_alert,
)
from aisre_cli.investigate.rank import Candidate, Findings, Ranker, Weights
from aisre_cli.model import (
    Alert,
    Classification,
    Context,
    Evidence,
    Hypothesis,
    LogTable,
    Series,
    SourceNote,
    Topology,
    TriageReport,
    Verdict,
)
from aisre_cli.settings.config import Profile
from aisre_cli.sources.registry import SourceSet

RunbookMatcher = Callable[[Hypothesis, Alert], list[str]]


class MemoryAdvisor(Protocol):
    """What the memory store offers triage (implemented in `memory/`).

    Called in this order for one alert: `observe`, `priors`, `classify`.
    """

    def observe(self, ctx: Context, facets: dict[str, list[str]]) -> None:
        """This incident's evidence signature (see `memory_facets`), for matching."""
        ...

    def priors(self, ctx: Context) -> tuple[dict[tuple[str, str], float], list[Evidence]]:
        """(service, kind) → prior strength 0-1, plus memory evidence to cite."""
        ...

    def classify(self, ctx: Context) -> str | None:
        """`known_issue` (strong match with a resolved incident), `likely_noise`, or None."""
        ...


def memory_facets(fnd: Findings) -> dict[str, list[str]]:
    """The evidence signature memory matches past incidents on: plain strings, so the
    memory layer never sees the analyzers' types."""
    return {
        "families": sorted(
            {
                f"{f.series.service}|{f.family or 'other'}"
                for f in fnd.metrics
                if f.series.service and f.bad and f.strength >= 0.3
            }
        ),
        "templates": sorted({f"{lf.service}|{lf.template}" for lf in fnd.logs.findings})[:40],
        "changes": sorted({f"{cf.change.kind}|{cf.change.service}" for cf in fnd.changes}),
        "dead": sorted(fnd.dead),
    }


@dataclass
class Analysis:
    """Everything the engine computed for one Context (for eval and explanations)."""

    ctx: Context
    onset: float
    topology: Topology
    findings: Findings
    candidates: list[Candidate]
    null_prob: float
    memory_class: str | None = None
    """`known_issue` / `likely_noise` from the memory advisor, if it has an opinion."""
    unlinked: str | None = None
    """The alert's service when nothing gathered knows it (no series, logs, spans or
    events of it, not in the topology): then no evidence links this alert to the
    hypotheses, which are about the services the data does know."""


UNLINKED_PRIOR = 0.3
"""How likely an alert on a service the data does not know belongs to the incident the
data shows (they overlap in time, nothing more). Every hypothesis' confidence is scaled
by it, so such a verdict escalates instead of naming another service's cause at 0.99;
a judgement, not fitted: no dataset we hold has such alerts."""


def link_doubt(analysis: Analysis, service: str) -> float:
    """The factor on a hypothesis' confidence for what the data cannot link: an alert no
    gathered data knows (`Analysis.unlinked`), or a cause at an endpoint no service
    claims (`unowned_endpoint`: the reading may be certain, whose it is is not). The
    confidence shown, escalated on and graded is the one after it."""
    if analysis.unlinked is not None or unowned_endpoint(analysis, service) is not None:
        return UNLINKED_PRIOR
    return 1.0


def unowned_endpoint(analysis: Analysis, service: str) -> str | None:
    """`service` when it is an endpoint known only by its host: a certificate probed at a
    URL that names no known service (`metrics.endpoint_certs`) and no edge serves
    (`tls_edge.edge_certs`), so no series, log or topology names it; or a public host
    known only by the probes of it, under a name of the prober's (a target's `service`
    label, `tickets-site` for `tickets.lanternfish.example`) that the topology does not
    know."""
    certs = [f for f in analysis.findings.certs if f.series.service == service]
    if not certs:
        return None
    ctx = analysis.ctx
    topo = analysis.topology
    if service in ctx.logs.service or service in topo.services():
        return None  # the edge that serves the host (`tls_edge.edge_certs`)
    if (
        topo.depends_on
        and service in analysis.findings.probed
        and all(metric_an.public_host(metric_an.probe_target(f.series)) for f in certs)
    ):
        return service
    return None if any(s.service == service for s in ctx.series) else service


def unlinked_service(ctx: Context, topo: Topology) -> str | None:
    """The alert's service if no gathered data knows it (see `Analysis.unlinked`)."""
    svc = ctx.alert.service
    if not svc:
        return None  # which service it is about is unknown: the whole incident is fair game
    seen = (
        topo.services()
        | {s.service for s in ctx.series if s.service}
        | set(ctx.logs.service)
        | {sp.service for sp in ctx.spans}
        | {ev.service for ev in ctx.events if ev.service}
    )
    key = alert_service.squash(svc)
    if not seen or any(alert_service.squash(x) == key for x in seen):
        return None
    return svc


def _workload_places(ctx: Context, topo: Topology) -> set[tuple[str, str, str]]:
    """The log records' placements of services the topology or the metrics know: a
    machine's own daemons (the kernel's and systemd's journal, an agent's) log there
    too, and are no workload of it."""
    if not topo.depends_on:
        return ctx.logs.placements
    known = topo.services() | {s.service for s in ctx.series if s.service}
    return {p for p in ctx.logs.placements if p[1] in known}


def observed_families(series: list[Series], matcher: FamilyMatcher) -> dict[str, set[str]]:
    """service → the signal families it has at least one series of."""
    out: dict[str, set[str]] = {}
    for s in series:
        fam = matcher.classify(s.name, s.labels).family
        if s.service and fam:
            out.setdefault(s.service, set()).add(fam)
    return out


_PART = re.compile(
    r"(?:(?:instance|node|replica|reader|writer|primary|secondary|shard|master)-?)?\d+"
    r"|reader|writer|primary|secondary|replicas?|master|leader|follower"
    r"|stable|canary|preview|active|baseline|brokers?|headless|controller",
    re.IGNORECASE,
)
"""What a name adds to its service's to name one of its parts: an instance, a node, a
replica, a shard, the primary as Helm charts name it (`-instance-1`, `-reader`, `-2`,
Bitnami's `redis-master`), the pods of one side of a rollout as the Services that route
to them are named (Argo Rollouts' `-stable`/`-canary` and `-active`/`-preview`,
Flagger's `-primary`/`-canary`), a message bus' brokers (`kafka-broker-tls`, the
certificate of kafka's brokers; Strimzi's `-kafka-brokers`), a StatefulSet's headless
Service (Bitnami's `-headless`), an ingress controller's Deployment and Service as its
chart names them (`ingress-nginx-controller`); not another word (`rw-trip-express` is no part of
rw-trip)."""
_POOL_SUFFIX = re.compile(r"[-_.]?(?:app)?pool$", re.IGNORECASE)
"""IIS names an application's pool after it (`BookingPool`, `Records_AppPool`), and
windows_exporter labels the pool's series with it (`app`)."""


def _word_alias(service: str, by_word: dict[str, set[str]]) -> str:
    """The topology's service a series' service is a short name of: the one service
    whose own distinctive word it is (`bigip` for f5-bigip), an IIS application pool
    named after its application included (`BookingPool` is booking-web's). "" when
    none, or several, are."""
    short = _POOL_SUFFIX.sub("", service).lower()
    hits = by_word.get(short, set()) if len(short) >= 3 else set()
    return next(iter(hits)) if len(hits) == 1 else ""


def _series_in_topology(
    s: Series,
    named: set[str],
    workload_of: Callable[[str], str],
    by_word: dict[str, set[str]] | None = None,
) -> Series:
    """A series whose service the topology does not name, read as the workload its pod
    or container belongs to where the topology names that: CoreDNS scraped through the
    `kube-dns` Service (`service="kube-dns"`, pod `coredns-…`) is the topology's
    `coredns`. A service named by its DNS name (Istio's `destination_service_name` for a
    destination outside the mesh, `accounts-db.cluster-….rds.amazonaws.com`) is the one
    the topology names by its first label. A new object: a source may hold the series
    in its cache. A managed store the cloud names otherwise than the topology does is
    the topology's store of its kind (`dependency.store_node`)."""
    if not s.service or s.service in named:
        return s
    pod = s.labels.get("pod") or s.labels.get("pod_name") or ""
    first = s.service.split(".", 1)[0] if "." in s.service else ""
    for alt in (workload_of(pod) if pod else "", s.labels.get("container") or "", first):
        if alt and alt in named:
            return replace(s, service=alt)
    alias = _word_alias(s.service, by_word) if by_word else ""
    if not alias:
        # one of a service's parts, named after it: an Aurora cluster's instance
        # (`billing-db-instance-1`), a cache's node, a replica
        parts = [
            n
            for n in named
            if s.service.startswith(n + "-") and _PART.fullmatch(s.service[len(n) + 1 :])
        ]
        alias = max(parts, key=len) if parts else ""
    if not alias:
        # a managed store by its cloud name (`sb-claims-prod-weu`), the topology's by
        # what it is (`servicebus`)
        alias = dep_an.store_node(s, s.service, named) or ""
    return replace(s, service=alias) if alias else s


_QUEUE_LABELS = ("queue", "queue_name", "task_queue")
_WORKER_WORDS = frozenset({"worker", "workers", "consumer", "consumers", "processor"})


def _queue_workers(s: Series, known: set[str]) -> Series:
    """A series of no service that counts a task queue's work (celery-exporter's
    `celery_task_failed_total{job="celery-exporter", queue_name="dispatch"}`, where the
    job names the exporter) is of the workers that consume that queue: the one known
    service named by the queue and a worker word after it (`dispatch-worker`)."""
    if s.service:
        return s
    for key in _QUEUE_LABELS:
        q = s.labels.get(key)
        hits = alert_service.with_role(q, known, _WORKER_WORDS) if q else set()
        if len(hits) == 1:
            return replace(s, service=hits.pop())
    return s


_CLAIM_TAIL = re.compile(r"(?:-(?:\d+|wal|data|log|logs))+$")


def _claim_owner(s: Series, known: set[str]) -> Series:
    """A series of no service about a persistent volume claim (the kubelet's
    `kubelet_volume_stats_available_bytes{persistentvolumeclaim="data-redis-0"}`, whose
    job names the kubelet) is of the workload the claim belongs to: a StatefulSet's claim
    is `<template>-<statefulset>-<ordinal>` (`data-redis-0` is `redis`'s), an operator's
    often `<cluster>-<n>` (`pg-main-1`, `pg-main-1-wal`). The known service whose name is
    the claim's end once its ordinal is off, else the one known service whose name is a
    run of its words."""
    claim = s.labels.get("persistentvolumeclaim") if not s.service else None
    if not claim:
        return s
    words = _CLAIM_TAIL.sub("", claim.lower()).split("-")
    runs = {
        "-".join(words[i:j]): (j == len(words), j - i)
        for i in range(len(words))
        for j in range(i + 1, len(words) + 1)
    }
    hits = sorted(
        ((runs[n.lower()], n) for n in known if n.lower() in runs), key=lambda x: x[0], reverse=True
    )
    if not hits or (len(hits) > 1 and hits[0][0] == hits[1][0]):
        return s
    return replace(s, service=hits[0][1])


_ROUTE = re.compile(
    r"^(?:(?:outbound|inbound)\|\d*\|[^|]*\|(?P<fqdn>[a-z0-9.-]+))$"
    r"|^(?P<name>[a-z0-9][a-z0-9-]*?)(?:-(?P<port>\d{2,5}))?(?:@(?P<provider>[a-z][a-z0-9-]*))?$",
    re.IGNORECASE,
)


def backend_route(name: str) -> str | None:
    """The backend a proxy's routing name stands for, when the name is one: Traefik's
    `<namespace>-<service>-<port>@<provider>`, an Envoy cluster `outbound|<port>||<fqdn>`
    (its host's first label); ingress-nginx's `<namespace>-<service>-<port>`, returned
    with a trailing `-`: a port alone (`payments-2024`) is no mark, so a namespace must
    be in front too. The namespace is still in front (`backend_of` takes it off). None
    for a name with none of these marks."""
    m = _ROUTE.match(name)
    if m is None:
        return None
    if m.group("fqdn"):
        return m.group("fqdn").split(".", 1)[0]
    if m.group("provider"):
        return m.group("name")
    if m.group("port"):
        return f"{m.group('name')}-"  # a namespace must be in front: `backend_of`
    return None


def _route_alerts(ctx: Context, routed: Mapping[str, str]) -> None:
    """Pages on a proxy's routing name are on the backend it routes to (`backend_of`)."""

    def routed_to(a: Alert) -> Alert:
        to = routed.get(a.service or "")
        return a if to is None else a.model_copy(update={"service": to})

    ctx.alerts = [routed_to(a) for a in ctx.alerts]
    ctx.alert = routed_to(ctx.alert)


def backend_of(name: str, services: set[str]) -> str | None:
    """The known service a proxy's routing name (`backend_route`) routes to: the route
    itself, or the longest service it ends with after a namespace (`saas-portal-bff-80@
    kubernetes` → portal-bff). None when it names none of them."""
    route = backend_route(name)
    if route is None:
        return None
    if route in services:
        return route
    bare = route.removesuffix("-")
    ends = [x for x in services if bare.endswith("-" + x)]
    return max(ends, key=len) if ends else None


def _with_client_calls(topo: Topology, ctx: Context, known: set[str]) -> Topology:
    """No topology given: the calls the callers' client metrics count (a database
    client's operations on `shop-redis`, an HTTP client's on `payments`) added to those
    the spans show, which sampling and uninstrumented stores leave out."""
    from aisre_cli.investigate.analyzers.metric_edges import client_calls

    calls = client_calls(ctx.series, known)
    added = sum(1 for a, bs in calls.items() for b in bs if b not in topo.depends_on.get(a, []))
    if not added:
        return topo
    deps = {a: set(bs) for a, bs in topo.depends_on.items()}
    for a, bs in calls.items():
        deps.setdefault(a, set()).update(bs)
    ctx.notes.append(
        SourceNote("topology", "partial", f"no topology: {added} call(s) read from client metrics")
    )
    return Topology(depends_on={a: sorted(bs) for a, bs in sorted(deps.items())})


_GENERIC_NAME_WORDS = metric_an.KIND_WORDS | {"web", "app", "worker", "db", "the", "prod"}
"""Words of a service's name that say what kind of thing it is, not which: the kind words
hosts and log lines drop (`metrics.KIND_WORDS`), and a few more that name no one
service of many."""


def _own_words(service: str) -> list[str]:
    """The words of a service's name that tell it apart (`billing` of billing-service,
    `sql` of sql-01): not the kind words, nor numbers."""
    return [
        w
        for w in re.split(r"[-_.\s]+", service.lower())
        if len(w) >= 3 and not w.isdigit() and w not in _GENERIC_NAME_WORDS
    ]


def _by_machine(table: LogTable, known: set[str], series: list[Series]) -> LogTable:
    """Records that named no service but their machine (`LogTable.hosts`: Winlogbeat's
    event log, a syslog relay), in a file whose name is no service, read as the
    service's on that machine: the service named after the machine (`sql-01`), else
    the one service whose series place it there (`metrics.placed_on`), else the one of
    the machine's services (of all, when none is placed there) whose own word the
    record's text holds (`The Fernhill Billing Service service terminated
    unexpectedly` is billing-service's; `Application pool 'BookingPool'` is
    booking-web's). Otherwise a record stays the file's. A new table."""
    on = metric_an.placed_on(series)
    words = {s: ws for s in known if (ws := _own_words(s))}
    every = sorted(words)
    svc = list(table.service)
    moved = False
    for row, host in table.hosts.items():
        if svc[row] in known:
            continue
        cands = [host] if host in known else sorted(on.get(host, {}))
        if len(cands) != 1:
            text = table.msg[row].lower()
            named = [
                s
                for s in (cands or every)
                if any(
                    w in text and re.search(rf"(?<![a-z0-9]){re.escape(w)}", text)
                    for w in words.get(s, ())
                )
            ]
            cands = named
        if len(cands) == 1:
            svc[row] = cands[0]
            moved = True
    return replace(table, service=svc) if moved else table


def _align_services(ctx: Context, topo: Topology) -> Topology:
    """One name per service across the sources; returns the topology in the series'
    spelling.

    - A topology that spells a service differently from the series and alerts only in
      case and separators (`Cart-Service` for their `cart_service`) is read in their
      spelling, the one an engineer queries and pages by.
    - Logs and spans that name a pod (`cartservice-7d9f8b6c5d-x2x9q`, as container log
      collectors and some tracers do) are read as the workload's (`cartservice`) when
      the series, topology or alerts know it, spelled as they spell it.
    - A Docker container's name (cAdvisor's `name`, `neutron_server`) takes the
      spelling the topology, logs, alerts or other series give it (`_spelled_as`).
    - A load balancer's series of a backend pool (`nova_api_back`) and a page on one
      are the service behind it (`metrics.attribute_proxy_pools`, `_alerts_of_pools`);
      a series scraped by its product's daemon name alone (`mysqld`) is the one service
      running that product (`metrics.attribute_product_jobs`).
    Names the rest of the data knows as they are, or whose workload it does not know,
    stay as they are."""
    from aisre_cli.sources.bundle import docker_service, workload_of

    def resolver(known: set[str]) -> Callable[[set[str]], dict[str, str]]:
        by_key: dict[str, str] = {}
        for k in sorted(known):
            by_key.setdefault(alert_service.squash(k), k)

        def canon(names: set[str]) -> dict[str, str]:
            out = {}
            for n in names:
                if n and n not in known:
                    w = workload_of(n)
                    hit = w if w in known else by_key.get(alert_service.squash(w))
                    if hit is not None and hit != n:
                        out[n] = hit
            return out

        return canon

    # a Docker container's name (`neutron_server`) is the weakest name a service has: it
    # takes the spelling the topology, the logs, the alerts or other series give it
    docker = [s for s in ctx.series if s.service and s.service == docker_service(s.labels)]
    if docker:
        said = (
            topo.services() | set(ctx.logs.service) | {x.service for x in ctx.alerts if x.service}
        )
        dashed = {s.service for s in ctx.series if s.service and "-" in s.service}
        ctx.series = _spelled_as(ctx.series, said, dashed, only=set(map(id, docker)))
    observed = {s.service for s in ctx.series if s.service} | {
        x.service for x in ctx.alerts if x.service
    }
    if topo.depends_on and observed:
        moved = resolver(observed)(topo.services())
        if moved:
            deps: dict[str, list[str]] = {}
            for k, v in topo.depends_on.items():
                cur = deps.setdefault(moved.get(k, k), [])
                for d in v:
                    if moved.get(d, d) not in cur:
                        cur.append(moved.get(d, d))
            topo = Topology(depends_on=deps)
    named = topo.services()
    # observed names read as the topology's others (`_series_in_topology`): the logs,
    # spans and pages that use them follow
    read_as: dict[str, str] = {}
    if named and any(s.service and s.service not in named for s in ctx.series):
        by_word: dict[str, set[str]] = {}
        for n in named:
            for w in _own_words(n):
                by_word.setdefault(w, set()).add(n)
        was = ctx.series
        ctx.series = [_series_in_topology(s, named, workload_of, by_word) for s in was]
        # the page too: windows_exporter's `IISAppPoolNotRunning{app="BookingPool"}`, and
        # one on a service whose series were read as another's (a Service Bus backlog
        # alert on `sb-claims-prod-weu`, the topology's `servicebus`)
        renamed: dict[str, set[str]] = {}
        for x, y in zip(was, ctx.series, strict=True):
            if x.service and y.service and x.service != y.service:
                renamed.setdefault(x.service, set()).add(y.service)
        read_as = {k: next(iter(v)) for k, v in renamed.items() if len(v) == 1}
        alias = {
            a.service: w
            for a in ctx.alerts
            if a.service
            and a.service not in named
            and (w := _word_alias(a.service, by_word) or read_as.get(a.service, ""))
        }
        if alias:
            ctx.alerts = [
                a.model_copy(update={"service": alias[a.service]}) if a.service in alias else a
                for a in ctx.alerts
            ]
            if ctx.alert.service in alias:
                ctx.alert = ctx.alert.model_copy(update={"service": alias[ctx.alert.service]})
    known = (named | observed) - set(read_as)
    # a proxy's name for the backend it routes to (Traefik's `ns-name-port@kubernetes`)
    # (and a page on one: Traefik's alert rules keep its `service="api@consulcatalog"`)
    marked = {s.service for s in ctx.series if s.service and backend_route(s.service)}
    marked |= {x.service for x in ctx.alerts if x.service and "@" in x.service}
    routed: dict[str, str] = {}
    if marked:
        plain = named | set(ctx.logs.service)
        plain |= {x.service for x in ctx.alerts if x.service and x.service not in marked}
        plain |= {s.service for s in ctx.series if s.service and s.service not in marked}
        routed = {n: b for n in marked - plain if (b := backend_of(n, plain)) is not None}
    # a load balancer's series of a backend pool (HAProxy's `nova_api_back`), and a page
    # on one: the service behind it, where the pool's name is one the rest of the data
    # names
    said = named | set(ctx.logs.service) | {x.service for x in ctx.alerts if x.service}
    pools = metric_an.attribute_proxy_pools(
        metric_an.attribute_product_jobs(ctx.series, said), said
    )
    pool_names = {
        a.service for a, b in zip(pools, ctx.series, strict=True) if a is not b and a.service
    }
    dashed = {x.service for x in pools if x.service and "-" in x.service}
    pools = _spelled_as(pools, said | pool_names, dashed)
    pooled = any(a is not b for a, b in zip(pools, ctx.series, strict=True))
    if pooled:
        ctx.series = pools
        _alerts_of_pools(ctx, said)
    if routed:
        ctx.series = [
            replace(s, service=routed[s.service]) if s.service in routed else s for s in ctx.series
        ]
        _route_alerts(ctx, routed)
    if routed or pooled:
        known = (
            named
            | {s.service for s in ctx.series if s.service}
            | {x.service for x in ctx.alerts if x.service}
        )
    if not known:
        _resolve_peers(ctx, known, None)
        return topo
    if any(not x.service for x in ctx.series):
        ctx.series = [_claim_owner(_queue_workers(x, known), known) for x in ctx.series]
    spelled = resolver(known)

    def canon(names: set[str]) -> dict[str, str]:
        return {**spelled(names), **{n: read_as[n] for n in names if n in read_as}}

    # new objects, not edits: a source may hold these in its cache
    table = ctx.logs
    if table.hosts:
        ctx.logs = table = _by_machine(table, known, ctx.series)
    if len(table):
        moved = canon(set(table.service))
        if moved:
            query = dict(table.query)
            for pod, w in sorted(moved.items()):
                if pod in query:  # one pod's query still finds the lines cited
                    query.setdefault(w, query[pod])
            ctx.logs = replace(table, service=[moved.get(x, x) for x in table.service], query=query)
    if ctx.spans:
        moved = canon({sp.service for sp in ctx.spans})
        if moved:
            ctx.spans = [
                replace(sp, service=moved[sp.service]) if sp.service in moved else sp
                for sp in ctx.spans
            ]
    _resolve_peers(ctx, known, canon)
    return topo


def _spelled_as(
    series: list[Series], said: set[str], also: set[str], only: set[int] | None = None
) -> list[Series]:
    """Series whose service the topology, logs and alerts (`said`), else other series
    (`also`: names in dashes, as services are spelled), spell otherwise only in case and
    separators (cAdvisor's Docker container `cinder_api`, the logs' cinder-api), read in
    that spelling, where one name is so spelled; with `only`, those series (by `id`)
    alone. The same objects where nothing moves."""

    def keyed(names: set[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for n in sorted(names):
            out.setdefault(alert_service.squash(n), []).append(n)
        return out

    first, second = keyed(said), keyed(also - said)

    def respelled(s: Series) -> Series:
        if not s.service or (only is not None and id(s) not in only):
            return s
        if s.service in said:
            return s
        key = alert_service.squash(s.service)
        hit = first.get(key) or second.get(key, [])
        return replace(s, service=hit[0]) if len(hit) == 1 and hit[0] != s.service else s

    return [respelled(s) for s in series]


def _alerts_of_pools(ctx: Context, services: set[str]) -> None:
    """Pages on a load balancer's backend pool (`HAProxyBackendHigh5xxRate{backend=
    "keystone_internal_back"}`) read as the service behind it, as its series are
    (`metrics.attribute_proxy_pools`): the symptom paged on is that service's answers."""
    by_key = metric_an.by_squashed(services)

    def moved(a: Alert) -> Alert:
        pool = a.labels.get("backend") or a.labels.get("proxy")
        # (HAProxy's page by its rule's name where the alert names no job:
        # `HaproxyBackendDown`, `HAProxyBackendHigh5xxRate`)
        of_proxy = metric_an.product_of_name(a.service or "") == "haproxy"
        if not pool or not (of_proxy or a.name.lower().startswith("haproxy")):
            return a
        who = metric_an.pool_service(pool, by_key)
        return a.model_copy(update={"service": who}) if who and who != a.service else a

    ctx.alerts = [moved(a) for a in ctx.alerts]
    ctx.alert = moved(ctx.alert)


def _resolve_peers(
    ctx: Context, known: set[str], canon: Callable[[set[str]], dict[str, str]] | None
) -> None:
    """The service each client span's peer host names (`Span.peer`): the host itself, or
    its first DNS label (`redis-cart.shop.svc.cluster.local`, `mongodb-rate:27017`), as
    the rest of the data spells a service. A host the data does not know is dropped when
    the data names its services (an address, an outside host: no service of its own to
    blame); with spans alone, the peer keeps its first label, so the callee still has a
    name."""
    peers = {sp.peer for sp in ctx.spans if sp.peer}
    if not peers:
        return
    own = known | {sp.service for sp in ctx.spans if sp.service}
    hit: dict[str, str] = {}
    for host in peers:
        label = host.split(".", 1)[0]
        if host.replace(".", "").isdigit() or ":" in host:
            continue  # an address names no service
        for name in (host, label):
            found = name if name in own else (canon({name}).get(name) if canon else None)
            if found:
                hit[host] = found
                break
        else:
            if not known:
                hit[host] = label
    ctx.spans = [
        replace(sp, peer=hit.get(sp.peer, "")) if sp.peer and hit.get(sp.peer) != sp.peer else sp
        for sp in ctx.spans
    ]


def analyze_context(
    ctx: Context,
    profile: Profile | None = None,
    weights: Weights | None = None,
    memory: MemoryAdvisor | None = None,
) -> Analysis:
    prof = profile or Profile()
    matcher = FamilyMatcher(prof.signal_families)
    matcher.read_queries(ctx.series)
    ranker = Ranker(weights or Weights.load())
    alert_ts = ctx.alert.starts_at.timestamp()

    topo = _align_services(ctx, ctx.topology)
    placed = metric_an.placed_on(ctx.series, _workload_places(ctx, topo))
    ctx.series = metric_an.host_series(
        metric_an.up_bounces_as_restarts(
            metric_an.start_times_as_restarts(metric_an.conntrack_fullness(ctx.series)),
            matcher,
        ),
        matcher,
        placed,
    )
    if not topo.depends_on and ctx.spans:
        topo = trace_an.derive_topology(ctx.spans)
        ctx.notes.append(
            SourceNote("topology", "partial", f"no topology: derived from {len(ctx.spans)} spans")
        )
    if any(not s.service for s in ctx.series):
        # a process group that names a known service (a systemd unit, a PHP-FPM pool)
        named = (
            topo.services() | {s.service for s in ctx.series if s.service} | set(ctx.logs.service)
        )
        ctx.series = metric_an.attribute_by_unit(ctx.series, named)
    if any(not s.service for s in ctx.series):
        # series of a scrape target whose other series name its service
        ctx.series = metric_an.attribute_by_target(ctx.series)
    if any(not s.service for s in ctx.series):
        # series named by their service (`cartservice_cpu`) where no label says it
        named = (
            topo.services()
            | {s.service for s in ctx.series if s.service}
            | set(ctx.logs.service)
            | {sp.service for sp in ctx.spans}
            | {x.service for x in ctx.alerts if x.service}
        )
        # and, where nothing else names them, the grid the columns' names form
        named |= metric_an.services_in_names(ctx.series, matcher)
        # probes of a URL or host that names a service (the blackbox prober's target)
        ctx.series = metric_an.attribute_by_url(
            ctx.series, named, metric_an.service_machines(ctx.series)
        )
        ctx.series = metric_an.attribute_by_name(ctx.series, named)
        # an exporter's or a server's own series: the one service running that product
        ctx.series = metric_an.attribute_by_product(ctx.series, named)
        # a cloud load balancer's own, where the system calls it by its name
        ctx.series = tls_edge_an.attribute_load_balancers(ctx.series, named)
    known = topo.services() | {s.service for s in ctx.series if s.service}
    if not ctx.topology.depends_on:
        topo = _with_client_calls(topo, ctx, known)
    hit = alert_service.infer(ctx.alert, prof.service_labels, known)
    if hit is not None:
        svc, where = hit
        first = ctx.alert
        said = f"service label {first.service!r}" if first.service else "no service label"
        ctx.alert = first.model_copy(update={"service": svc})
        ctx.alerts = [ctx.alert if x.id == first.id else x for x in ctx.alerts]
        ctx.notes.append(SourceNote("alert", "partial", f"{said}: {svc}, read from {where}"))

    series = metric_an.prepare(metric_an.join_pod_labels(ctx.series), matcher)
    metric_findings = metric_an.by_placement(
        metric_an.thin_out(metric_an.detect(series, matcher, alert_ts), series, matcher), placed
    )
    ran = metric_an.ran_out(series + metric_an.headroom(series), matcher, alert_ts, metric_findings)
    metric_findings += ran
    # errors a proxy answered itself, which its backend never served
    heard = known | set(ctx.logs.service)  # every service some data names
    metric_findings = metric_an.proxy_rejections(metric_findings, series, matcher.classify, heard)
    certs = metric_an.endpoint_certs(metric_an.cert_expiry(ctx.series, matcher, alert_ts))
    # rollouts only the cluster recorded (new ReplicaSets in its events) are changes too
    changes = [*ctx.changes, *event_an.rollouts(ctx.events, ctx.changes)]
    # and new versions the metrics show coming up, where nothing recorded them
    changes += change_an.versions_seen(series, changes)
    # a process's first minutes after a deploy or a restart cost CPU: no trouble
    applied = [(c.service, c.ts.timestamp()) for c in changes]
    metric_findings = metric_an.without_start_up(
        metric_an.without_applied(metric_findings, applied),
        applied + metric_an.restart_times(series, matcher),
    )
    a = ctx.alert.service
    cone = ({a} | topo.downstream(a)) if a and a in topo.services() else set()
    onset = ranker.incident_onset(ctx, metric_findings, alert_ts, cone)
    ref = onset - 600.0  # guard: a deploy usually precedes the metric onset by minutes
    start = ctx.window.start.timestamp()
    end = ctx.window.end.timestamp()
    log_stats = log_an.analyze(ctx.logs, ref, start, end)
    # a certificate kept under a public host: the edge's that serves it, where one is
    fronts = tls_edge_an.load_balancers(ctx.series)
    # ... or kept under a certificate's own name (cert-manager's `tv-meridian-tv`), which
    # no workload answers to: named by nothing but certificates and probes of it
    own = set(ctx.logs.service) | {sp.service for sp in ctx.spans}
    workloads = (
        topo.services()
        | own
        | {x.service for x in ctx.series if x.service and tls_edge_an.workload_signal(x, matcher)}
    )
    # hosts the data ties to a known service (an error line naming both, a caller's one
    # outside host): its callers' client metrics and its certificate are then its own
    aliases = {
        **metric_edge_an.callee_aliases(
            ctx.series, topo, own | {x.service for x in ctx.series if x.service}
        ),
        **dep_an.host_aliases(log_stats.findings, known, ctx.logs),
    }
    certs = tls_edge_an.edge_certs(
        certs, topo, workloads, log_stats.findings, ctx.logs, fronts, aliases
    )
    # what services ran out of (killed for memory, a volume or memory full): a config
    # change that cut it before is its cause (`change_an.cut_harm`)
    shortages = [
        change_an.Shortage(f.series.service, f.family, f.onset, f.strength, f.series.name)
        for f in ran
        if f.series.service and f.family and f.scope != "node"
    ] + event_an.memory_kills(ctx.events)
    harm = change_an.attribute(changes, series, matcher.classify, onset, shortages)
    change_findings = change_an.correlate(changes, onset, harm)
    silent = dep_an.find_silent(ctx.series, alert_ts)
    stores = dep_an.store_kinds(ctx.series)
    probed = dep_an.probed_only(ctx.series)
    cuts = change_an.timeouts_cut(changes)
    # callees no data names (no series, log or span): an outside API
    unnamed = topo.services() - own - {x.service for x in ctx.series if x.service}

    def dead_from(found: list[log_an.LogFinding]) -> dict[str, dep_an.DependencyFinding]:
        return dep_an.find_dead(
            metric_findings,
            found,
            known,
            ctx.logs,
            silent,
            topo,
            stores,
            aliases,
            cuts,
            probed,
            unnamed,
        )

    dead = dead_from(log_stats.findings)
    recent = [x for x in log_stats.findings if not log_an.over_before(x, alert_ts)]
    if dead and len(recent) < len(log_stats.findings):
        # its callers' bursts over well before the page, at a service showing nothing
        # going on of its own, are the tail of something else (`dep_an.without_bygone`)
        dead = dep_an.without_bygone(dead, dead_from(recent), recent, metric_findings)
    if not topo.depends_on and log_stats.findings:
        from_logs = dep_an.mention_topology(log_stats.findings, known, ctx.logs)
        if any(from_logs.depends_on.values()):
            topo = from_logs
            n_edges = sum(len(v) for v in from_logs.depends_on.values())
            ctx.notes.append(
                SourceNote(
                    "topology",
                    "partial",
                    f"no topology: {n_edges} call(s) read from error logs naming a service",
                )
            )
    # traces are compared around the page, or where their requests changed before it
    # (trace_an.split_ref)
    t_ref = trace_an.split_ref(ctx.spans, onset, alert_ts)
    trace_findings = trace_an.analyze(ctx.spans, t_ref) if ctx.spans else []
    edges = edge_an.edge_gaps(ctx.spans, t_ref) if ctx.spans else []
    # the same reading from client-side latency metrics named by their peer
    traced = {(e.caller, e.callee) for e in edges}
    from_metrics = metric_edge_an.metric_edges(metric_findings, known, aliases)
    edges += [e for e in from_metrics if (e.caller, e.callee) not in traced]
    event_findings = event_an.analyze(
        ctx.events, onset, alert_ts, ctx.changes, ctx.window.start.timestamp()
    )
    fnd = Findings(
        metrics=metric_findings,
        logs=log_stats,
        changes=change_findings,
        dead=dead,
        traces=trace_findings,
        certs=certs,
        harm=harm,
        edges=edges,
        events=event_findings,
        observed=observed_families(series, matcher),
        served={s.service for s in series if s.service and metric_edge_an.is_server_side(s)},
        stores=stores,
        aliases=aliases,
        probed=probed,
        volumes=dep_an.volumes(series, matcher, ref) if dead else {},
        spanned={sp.service for sp in ctx.spans if sp.start >= t_ref and sp.service},
    )
    memory_class: str | None = None
    if memory is not None:
        memory.observe(ctx, memory_facets(fnd))
        fnd.memory, fnd.memory_evidence = memory.priors(ctx)
        memory_class = memory.classify(ctx)
        fnd.known_issue = memory_class == "known_issue"
    cands = ranker.candidates(ctx, fnd, onset, topo)
    null_prob = ranker.score(cands)
    return Analysis(
        ctx, onset, topo, fnd, cands, null_prob, memory_class, unlinked_service(ctx, topo)
    )


def _classify(
    alert: Alert, analysis: Analysis, top: Hypothesis | None, escalate: bool
) -> tuple[Classification, str]:
    """The alert's classification, and what to add to the verdict's reason.

    Memory's opinion must agree with today's evidence: `known_issue` only when the top
    hypothesis is the remembered cause (the demo resolved as network on checkout, then
    triaged again, was a "known issue" whose reason named the deploy on payments), and
    `likely_noise` only when no cause clearly explains the alert (a flapping alert that
    now comes with a 185σ error jump after a deploy is not noise this time)."""
    if alert.inhibited_by:
        return "duplicate", ""
    mem = analysis.findings.memory_evidence
    if analysis.memory_class == "known_issue" and top is not None:
        cause = next((e.data["cause"] for e in mem if isinstance(e.data.get("cause"), dict)), None)
        if cause is None:
            return "known_issue", ""
        svc, kind = str(cause.get("service")), str(cause.get("kind"))
        if top.service == svc and (top.kind == kind or "unknown" in (top.kind, kind)):
            return "known_issue", ""
        return "actionable", (
            f"; it resembles a known issue ({kind} on {svc}, confirmed before), but"
            " today's evidence points elsewhere"
        )
    if analysis.memory_class == "likely_noise":
        noise = next((e.summary for e in mem if e.subject == "noise"), "")
        if escalate:
            return "likely_noise", (f"; likely noise: {noise}" if noise else "")
        return "actionable", (
            f"; the alert is usually noise ({noise}), but this time the evidence names a cause"
            if noise
            else ""
        )
    return "actionable", ""


def build_report(
    analysis: Analysis,
    weights: Weights | None = None,
    runbook_matcher: RunbookMatcher | None = None,
    elapsed_s: float = 0.0,
) -> TriageReport:
    w = weights or Weights.load()
    ranker = Ranker(w)
    ctx = analysis.ctx
    hyps, evidence = ranker.to_hypotheses(analysis.candidates)
    sure: dict[str, float] = {}
    for h in hyps:
        if (doubt := link_doubt(analysis, h.service)) < 1.0:
            sure.setdefault(h.service, h.confidence)
            h.confidence = round(h.confidence * doubt, 4)
            h.service_confidence = round(h.service_confidence * doubt, 4)
    cited_refs = {(e.kind, e.ref, e.summary) for e in evidence}
    for mev in analysis.findings.memory_evidence:
        if (mev.kind, mev.ref, mev.summary) not in cited_refs:
            evidence.append(mev.model_copy(update={"id": f"E{len(evidence) + 1}"}))
    if runbook_matcher is not None:
        for h in hyps:
            h.runbooks = runbook_matcher(h, ctx.alert)
    top = hyps[0] if hyps else None
    related = sorted(
        {x.id for x in ctx.alerts if x.id != ctx.alert.id and _related(x, ctx, analysis)}
    )
    if top is None:
        escalate = True
        reason = "no signal supports any cause: no anomaly, change, log or dependency evidence"
    elif analysis.unlinked is not None:
        escalate = True
        reason = (
            f"nothing links the alert to the evidence: no metrics, logs, traces or events of"
            f" {analysis.unlinked} were gathered and the topology does not name it; the"
            f" hypotheses are about the incident in the services that have data (best:"
            f" {top.kind} on {top.service}, confidence {top.confidence:.2f} after that doubt)"
        )
    elif (host := unowned_endpoint(analysis, top.service)) is not None:
        escalate = True
        reason = (
            f"{top.kind} on {host}, an endpoint no known service claims: the reading is"
            f" {sure.get(host, top.confidence):.2f} sure, but which service serves it (an"
            " ingress, a load balancer, a third party) the data does not say; hand it to"
            " whoever owns it"
        )
    elif w.escalates(top.confidence, analysis.null_prob, top.kind):
        escalate = True
        below = next(
            (
                c.waits_on
                for c in analysis.candidates
                if (c.kind, c.service) == ("unknown", top.service)
            ),
            [],
        )
        if top.kind == "unknown" and below:
            # its calls out slowed, and nothing below says which: where it shows is
            # not where it starts
            reason = (
                f"no cause found: the trouble shows at {top.service} (confidence"
                f" {top.confidence:.2f}) as slower calls to the services it depends on"
                f" ({', '.join(below[:4])}{', …' if len(below) > 4 else ''}); which one, or"
                " the way to it, the data does not say"
            )
        elif top.kind == "unknown":
            # however sure it is of the service, an `unknown` names no cause: "not
            # enough evidence ... has confidence 0.95" read as a contradiction
            reason = (
                f"no cause found: the trouble most likely starts at {top.service}"
                f" (confidence {top.confidence:.2f}), but no change, resource or dependency"
                " signal says why it starts there"
            )
        else:
            if analysis.null_prob >= top.confidence:
                why = f"'no cause found' ({analysis.null_prob:.2f}) is at least as likely"
            else:
                why = f"below the calibrated threshold {w.escalate_below:.2f}"
            reason = (
                f"not enough evidence: the best hypothesis ({top.kind} on {top.service}) has "
                f"confidence {top.confidence:.2f}; {why}"
            )
        crowd = max((c.features.get("crowd", 0.0) for c in analysis.candidates), default=0.0)
        if crowd > 0.3:
            n = "4 or more" if crowd >= 1.0 else str(round(crowd * 3) + 1)
            reason += (
                f"; the evidence is diffuse: {n} services moved comparably with no clear "
                "precedence between them"
            )
    else:
        escalate = False
        reason = f"{top.kind} on {top.service} explains the alert (confidence {top.confidence:.2f})"
    classification, said = _classify(ctx.alert, analysis, top, escalate)
    reason += said
    if escalate:
        next_step = (
            f"escalate: run `aisre escalate {ctx.alert.short_id}` to hand off with this report"
        )
    elif top and top.runbooks:
        next_step = f"run `aisre runbook run {top.runbooks[0]} --alert {ctx.alert.short_id}`"
    elif top:
        cited = ", ".join(top.evidence[:3])
        next_step = f"check the evidence {cited} for {top.service}, then act on {top.kind}"
    else:
        next_step = "escalate"
    notes = [n.render() for n in ctx.notes if n.status != "ok"]
    verdict = Verdict(
        classification=classification,
        escalate=escalate,
        reason=reason,
        related_alerts=related,
        hypotheses=hyps,
        next_step=next_step,
    )
    from aisre_cli.model import from_unix

    return TriageReport(
        alert=ctx.alert,
        onset=from_unix(analysis.onset),
        verdict=verdict,
        evidence=evidence,
        notes=notes,
        sources=[
            {
                "source": n.source,
                "status": n.status,
                "detail": n.detail,
                "seconds": round(n.seconds, 3),
            }
            for n in ctx.notes
        ],
        bundle_id=ctx.bundle_id,
        elapsed_s=elapsed_s,
    )


def _related(x: Alert, ctx: Context, analysis: Analysis) -> bool:
    dt = abs((x.starts_at - ctx.alert.starts_at).total_seconds())
    if dt > 1800:
        return False
    a = ctx.alert.service
    if not x.service or not a:
        return x.name == ctx.alert.name
    topo = analysis.topology
    return x.service == a or x.service in topo.downstream(a) or x.service in topo.upstream(a)


def run_triage(
    sources: SourceSet,
    alert_query: str | None,
    profile: Profile,
    *,
    runbook_matcher: RunbookMatcher | None = None,
    memory: MemoryAdvisor | None = None,
    weights: Weights | None = None,
    progress: ProgressFn | None = None,
) -> TriageReport:
    """Triage one alert: resolve the id, gather, analyze, rank, decide."""
    t0 = time.monotonic()
    # One budget for the whole triage: what listing the alerts used, gathering cannot.
    deadline = t0 + profile.gather_budget_s
    alerts, notes = list_alerts(sources, profile.gather_budget_s, progress)
    if alert_query is None:
        focus = sources.bundle.meta.focus_alert if sources.bundle is not None else None
        if not focus:
            raise no_alert_id(sources)
        alert_query = focus
    if not alerts:
        from aisre_cli.errors import SourceError, UsageError

        failed = [n for n in notes if n.status == "failed"]
        if failed:
            raise SourceError(
                "no alert source answered: " + "; ".join(n.render() for n in failed),
                hint="check the sources with `aisre doctor`",
            )
        raise UsageError("there are no alerts to triage", hint="nothing is firing")
    alert = resolve_alert(alerts, alert_query, alerts_command(sources))
    ctx = gather_for(
        sources,
        alert,
        alerts,
        profile,
        budget_s=max(0.5, deadline - time.monotonic()),
        progress=progress,
    )
    ctx.notes = [*notes, *ctx.notes]
    w = weights or Weights.load()
    analysis = analyze_context(ctx, profile, w, memory)
    return build_report(analysis, w, runbook_matcher, time.monotonic() - t0)
