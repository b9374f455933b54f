"""`resource_saturation`: CPU, memory, disk or connection pools running out at the service.

Node-wide signals (node_exporter, a node column) are shared by everything on the node:
a candidate resting only on them is marked `node_only` and weighs less.

The cluster says so too: pods evicted from a node low on a resource, pods that cannot
be scheduled for lack of CPU or memory, node memory/disk/PID pressure, an autoscaler
at its maximum (capacity events), and containers OOMKilled while the service's
memory climbs (an OOM kill with no memory signal is a crash, `crash_loop`).
"""

from __future__ import annotations

import math
import re

from aisre_cli.investigate.analyzers.changes import ChangeHarm
from aisre_cli.investigate.analyzers.metrics import MetricFinding, disk_io
from aisre_cli.investigate.analyzers.trace_edges import edge_strength
from aisre_cli.investigate.evidence import (
    Candidate,
    _fmt,
    _hm,
    event_evidence,
    is_bad,
    level_said,
    log_evidence,
    metric_evidence,
)
from aisre_cli.investigate.families import (
    REQUESTS_IN_PROGRESS,
    limit_name,
    normalize_name,
    same_pool,
    share_whole,
)
from aisre_cli.investigate.proposers import register
from aisre_cli.investigate.proposers.base import make
from aisre_cli.investigate.scene import LATE_S, TOL_S, Scene, ServiceView

SATURATION_FAMILIES = ("cpu", "memory", "disk", "connections")
LOG_SHARE = 0.7
"""A resource running out that only a log line says counts this much of a reading."""
OOM_SHARE = 0.9
"""An OOM kill backed by a climbing memory signal counts this much toward saturation."""
LOAD_EXPLAINS = 0.8
"""How much of a saturation its own demand can explain away: a service whose request
rate doubled when its CPU climbed is busy, not broken (the surge is the story,
`traffic_surge`); some of it stays, since a service can be both."""

WAIT_EXPLAINS = 0.8
"""How much of a pool running out (connections, threads: the `connections` family) slow
outgoing calls can explain away: a pool holds a connection for as long as the call made
with it takes (Little's law), so a call edge out of the service that grew first fills
it with no leak and no load behind it. The edge's callee is the story (`network`)."""


IDLE_WAIT = 0.5
"""How much of a pool or thread pool filling up (the `connections` family) is taken as
waiting, not the resource's own trouble, at a service that calls others while its CPU
stayed flat (`idle_wait`): threads held with nothing to compute are waiting on
something, most often a callee, even where no trace says which."""


IN_PROGRESS = re.compile(
    r"goroutines|threads?_(busy|active|live|running)|(^|_)(live|active|busy)_threads|concurren|"
    r"(^|_)(active|busy)_(workers|processes)|workers?_(busy|active)|"
    r"(^|_)nginx_(http_)?connections|current_sessions|" + REQUESTS_IN_PROGRESS
)
"""Counts of work in progress: goroutines, busy or live threads (MySQL's
`threads_running`, its queries executing), busy workers or processes (Sidekiq's
`sidekiq_active_workers_count`, php-fpm's `active_processes`), a proxy's client
connections (nginx's `nginx_connections_writing`, OpenResty's `nginx_http_connections`
by state, HAProxy's `current_sessions`: its limit, `worker_connections` or `maxconn`,
is rarely exported), requests in flight. By Little's law they grow with how long each
piece of work takes, so they follow a slowdown as much as they cause one."""
SLOWED_EXPLAINS = 0.8
"""How much of such a count rising a slowdown of the same service as early explains (or
one of the services it calls: `deeper`). At half, goroutines tripling with the latency,
nothing else saying why, were a saturation at .85 where no cause was the truth."""


def slowed_first(view: ServiceView, lead: list[MetricFinding]) -> bool:
    """Every reading of the saturation is work in progress (`IN_PROGRESS`), and the
    service's latency rose no later than it: the work piles up because it is slower."""
    if not lead or not all(IN_PROGRESS.search(f.series.name.lower()) for f in lead):
        return False
    start = min(f.onset for f in lead)
    return any(
        f.family == "latency" and is_bad(f) and f.onset <= start + TOL_S for f in view.metrics
    )


FAR_FROM_LIMIT = 0.6
"""How much of a connection count's rise is discounted when it stayed under
`LIMIT_SHARE` of the limit its exporter reports: nothing ran out."""
LIMIT_SHARE = 0.7


def limit_of(scene: Scene, f: MetricFinding) -> float:
    """The limit reported beside a count or a memory in use (`families.LIMIT_OF`), of the
    same pool (`families.same_pool`); 0 where none is."""
    lim = limit_name(f.series.name)
    if lim is None:
        return 0.0
    limits = [
        max((v for v in s.values if math.isfinite(v)), default=0.0)
        for s in scene.series_by_service.get(f.series.service or "", [])
        if lim.search(normalize_name(s.name)) and same_pool(s.labels, f.series.labels)
    ]
    return max(limits, default=0.0)


def headroom(scene: Scene, f: MetricFinding) -> bool:
    """The count stayed well under the limit reported beside it (`limit_of`):
    `threads_connected` 8 → 44 of `max_connections` 500 is clients holding connections
    longer (a slow network, slow queries), not a server out of them; a JVM's Old Gen
    at 103 MB of its 288 MB is a collector's cycle, not memory running out."""
    limit = limit_of(scene, f)
    return limit > 0 and max(f.peak, f.level) < LIMIT_SHARE * limit


HELD_ONLY = 0.5
"""How much of a connection count's rise is discounted where no limit is reported and
nothing else at the service moved (`held_only`)."""


def held_only(scene: Scene, view: ServiceView) -> bool:
    """Connections held, and nothing else: no limit reported beside the count, no other
    reading of the service's own (latency, errors, CPU), no log, no event moved, and no
    caller says its calls to it fail. A server out of connections refuses or queues its
    clients; one whose clients hold more connections for longer (waiting on something
    else, more of them) shows only the count (`mysql_threads_connected` 61 → 110,
    nothing else at MySQL)."""
    return (
        view.name not in scene.fnd.dead
        # no limit beside any of its counts, nor a count stated as a share of one
        # (Datadog's `postgresql.percent_usage_connections`)
        and all(
            limit_of(scene, f) <= 0 and f.shape not in ("percent", "ratio")
            for f in view.metrics
            if f.family == "connections"
        )
        and not (view.families - {"other", "connections", "traffic"})
        and view.features.get("logs", 0.0) <= 0
        and not view.events
    )


SHARE_FULL = 0.5
"""A resource stated as a share of its limit (a percent, a ratio) that stayed under this
share of it has not run out, however clean its step: nezha-ob's memory at 21% → 23% of
a pod's limit, 23 minutes before the incident, was a .79 saturation where a network
delay elsewhere was the cause. Its injected CPU faults reach 89% to 111%."""


def share_headroom(f: MetricFinding) -> bool:
    """A share of a limit (`families.Shape` percent or ratio) of CPU, memory or disk
    that peaked under `SHARE_FULL` of it. Connection counts are read by `headroom`.

    A "percent" that never passed 1 is read as a fraction of 1 (`share_whole`): read as a
    percent, Datadog's fraction 0.93 would look nearly empty. A share of what is left
    (free disk, available memory: bad when it falls) is read as the rest of the whole
    used: 5% free is 95% used, not a share far from full."""
    if f.family not in ("cpu", "memory", "disk") or f.shape not in ("percent", "ratio"):
        return False
    whole = share_whole(f.shape, f.peak, f.level, f.baseline)
    used = whole - min(f.peak, f.level) if f.direction < 0 else max(f.peak, f.level)
    return used < SHARE_FULL * whole


RAN_OUT = 0.05
"""What is left of a free-space reading, as a share of its level before, that is a disk
run out (`ran_out`)."""


def ran_out(f: MetricFinding) -> bool:
    """A disk reading that reached its end: a share of it used past `SHARE_FULL`, or free
    space down to `RAN_OUT` of what it was. A rise of bytes used says nothing of the
    limit, and is not read so."""
    if f.family != "disk" or not is_bad(f):
        return False
    if f.shape in ("percent", "ratio"):
        return not share_headroom(f)
    return f.direction < 0 and f.baseline > 0 and min(f.level, f.peak) <= RAN_OUT * f.baseline


def idle_wait(scene: Scene, view: ServiceView) -> bool:
    """The service calls others: asked where its saturation is all pools (its own CPU
    did not rise, or it would lead), its busy threads wait on them."""
    return scene.has_topo and bool(scene.topo.callees(view.name))


CUT_EXPLAINS = 0.8
"""How much of a resource running out a config change that cut that capacity of the
service's explains away (`cut_by`): the limit was lowered and then reached. Some stays:
the load that reached it may be unusual too."""


def cut_by(scene: Scene, s: str, family: str | None) -> float:
    """0-1: how clearly a config change before the onset cut `s`'s capacity in `family`,
    which `s` then ran out of (`ChangeHarm.cut`)."""
    return max(
        (h.cut for h in harms_before(scene, s) if h.cut_of and h.cut_of.family == family),
        default=0.0,
    )


RELEASE_EXPLAINS = 0.8
"""How much of a saturation a release can explain away: the new version's pods using
more of the resource than the old ones over the same minutes (a canary that burns CPU
or leaks memory) is the release's defect (`deploy`), which load or a noisy neighbour
would not be: they weigh on the old pods alike."""


def harms_before(scene: Scene, s: str) -> list[ChangeHarm]:
    """What each change of `s` before the onset was found to do (`ChangeHarm`)."""
    return [
        h
        for cf in scene.fnd.changes
        if cf.change.service == s
        and cf.before_onset
        and (h := scene.fnd.harm.get(cf.change.id)) is not None
    ]


def released(scene: Scene, s: str, family: str | None) -> float:
    """0-1: how much worse than the old pods a release of `s` before the onset made
    `family` (`ChangeHarm.version_by_family`)."""
    if not family:
        return 0.0
    return max((h.version_by_family.get(family, 0.0) for h in harms_before(scene, s)), default=0.0)


def waiting(scene: Scene, s: str, onset: float) -> float:
    """0-1: how strongly a call out of `s` grew at or before `onset` (`scene.edges`)."""
    return max(
        (edge_strength(e.z) for e in scene.edges if e.caller == s and e.onset <= onset + TOL_S),
        default=0.0,
    )


def demand(view: ServiceView, onset: float) -> float:
    """0-1: how far a rise of the service's own request rate, at or before `onset`,
    explains a saturation starting then (relative size, capped at x2, times strength)."""
    ups = [
        f
        for f in view.metrics
        if f.family == "traffic"
        and f.direction > 0
        and f.scope != "node"
        and f.onset <= onset + TOL_S
    ]
    return max((min(1.0, max(f.rel, 0.0)) * f.strength for f in ups), default=0.0)


def from_above(scene: Scene, s: str, onset: float) -> float:
    """0-1: how strongly demand rose at a service calling `s`, directly or through
    others (`scene.surge_at`), at or before `onset`: a store or a service below an entry
    point whose users surged runs short of the load they sent it. The service's own first
    trouble may be earlier and unrelated (its callers' chronic errors naming it), so the
    saturation's own onset is the one compared (`scene` features compare the service's
    first trouble, `upstream_surge`)."""
    up = scene.upstream(s)
    return max(
        (
            st * math.exp(-max(0.0, onset - on - TOL_S) / LATE_S)
            for x, (st, on) in scene.surge_at.items()
            if x in up and on <= onset + TOL_S
        ),
        default=0.0,
    )


BARREN = 0.5
"""How much a saturation loses that nothing followed: no other anomaly, log or event at
its service, no caller in trouble it explains, off the paging service's path."""


AFTER_PAGE = 0.8
"""How much of a saturation is discounted that began after the alert fired: the alert
saw something already going on, so a resource that ran short only later did not start
it (the trouble's load spilling onto it, or a burst that happened to come then)."""


def after_page(scene: Scene, f: MetricFinding) -> bool:
    """The reading began two steps (a minute at least) or more after the alert fired:
    later than the lag of measuring it (a step, a rate's window)."""
    slack = max(2.0 * scene.step, 60.0)
    return f.onset >= scene.ctx.alert.starts_at.timestamp() + slack


def timely(scene: Scene, f: MetricFinding) -> float:
    """How much of a reading counts for its timing: all of it, unless it began after
    the page (`AFTER_PAGE`).

    A reading back to normal before the incident's onset is not discounted for that
    alone: tried, it ranked one eighth-set incident right but moved the weights fitted
    without PetShop enough to take PetShop's leave-one-dataset-out top-3 from .853 to
    .838 (at 0.8; at 0.5 it changed no top-1 anywhere and cost PetShop's ECE .115 ->
    .135). The narrower reading, over before its own service's other trouble began, is
    `over_before`."""
    return 1.0 - AFTER_PAGE if after_page(scene, f) else 1.0


OVER_BEFORE = 0.8
"""How much of a saturation is discounted that was over before its own service's other
trouble began (`over_before`)."""


def over_before(view: ServiceView, f: MetricFinding, step: float) -> bool:
    """The reading was back to normal a step (a minute at least) before the service's
    first other bad reading (its errors, its latency) began: a burst that came and went
    before any of the trouble at its service, which the resource running short cannot
    have caused. A service with no other reading of its own is not judged so (its
    callers' trouble may lag by their own steps)."""
    if f.until is None:
        return False
    other = [
        x.onset
        for x in view.metrics
        if is_bad(x) and x.family not in SATURATION_FAMILIES and x.family != "traffic"
    ]
    return bool(other) and f.until <= min(other) - max(step, 60.0)


IO_SHARE = 0.3
"""What a disk's input and output rising counts toward its saturation (`metrics.disk_io`):
bytes written a second are load on a disk (a proxy writing its error log), not a disk
running out; its busy time, its wait, or its free space say that."""


def counts(scene: Scene, f: MetricFinding, view: ServiceView | None = None) -> float:
    """How much of a reading's strength counts toward a saturation: its timing
    (`timely`; over before its service's other trouble, `over_before`), for a share
    of a limit that stayed far from full (`share_headroom`) what is left after
    `FAR_FROM_LIMIT`, and for a disk's I/O rate `IO_SHARE`."""
    t = timely(scene, f)
    if view is not None and over_before(view, f, scene.step):
        t *= 1.0 - OVER_BEFORE
    if f.family == "disk" and disk_io(f.series.name):
        t *= IO_SHARE
    return t * (1.0 - FAR_FROM_LIMIT if far_from_limit(scene, f) else 1.0)


def far_from_limit(scene: Scene, f: MetricFinding) -> bool:
    """A share of a limit that stayed far from full (`share_headroom`), or memory in use
    that stayed well under the limit reported beside it (`headroom`). Connection counts
    are judged by `headroom` where they lead."""
    return share_headroom(f) or (f.family == "memory" and headroom(scene, f))


def barren(view: ServiceView, res: str) -> bool:
    """A resource running short with no consequence anywhere the page can see (a batch
    job's CPU at a service the page does not reach): the resource is real, its claim to
    be the incident's cause is not."""
    return (
        not (view.families - {"other", res})
        and view.features.get("logs", 0.0) <= 0
        and not view.events
        and view.features.get("explains", 0.0) <= 0
        and view.features.get("on_path", 0.0) <= 0
    )


@register("saturation")
def propose(scene: Scene, view: ServiceView) -> list[Candidate]:
    s = view.name
    sat = [f for f in view.metrics if f.family in SATURATION_FAMILIES and is_bad(f)]
    sat_logs = [x for x in view.logs if x.family in SATURATION_FAMILIES]
    cap = view.event("capacity")
    crash = view.event("crash")
    memory_seen = any(f.family == "memory" for f in sat) or any(
        x.family == "memory" for x in sat_logs
    )
    oom = crash if crash is not None and crash.oom and memory_seen else None
    if not sat and not sat_logs and cap is None:
        return []
    own = [f for f in sat if f.scope != "node"]
    own_events = cap is not None and not cap.node_scope
    node_only = 1.0 if (sat or cap) and not own and not sat_logs and not own_events else 0.0
    # the service's own signal first; a node-wide one counts at half (node-wide events
    # are halved by the analyzer)
    sig = max(
        [f.strength * counts(scene, f, view) for f in own]
        + [0.5 * f.strength * counts(scene, f, view) for f in sat if f.scope == "node"]
        + [LOG_SHARE * x.strength for x in sat_logs]
        + [cap.strength if cap is not None else 0.0]
        + [OOM_SHARE * oom.strength if oom is not None else 0.0]
    )
    # the reading that says most, as it counts (`counts`), leads (and names the resource)
    lead = sorted(own or sat, key=lambda f: -f.strength * counts(scene, f, view))
    if lead:  # demand first, then the resource: load, not a leak or a noisy neighbour
        t0 = min(f.onset for f in lead)
        sig *= 1.0 - LOAD_EXPLAINS * max(demand(view, t0), from_above(scene, s, t0))
    if lead:  # only the new pods use more: the release's doing, not the resource's
        sig *= 1.0 - RELEASE_EXPLAINS * released(scene, s, lead[0].family)
    if lead and all(f.family == "connections" for f in lead):
        # slow calls out first, then the pool: the pool waits on them
        sig *= 1.0 - WAIT_EXPLAINS * waiting(scene, s, min(f.onset for f in lead))
        if idle_wait(scene, view):
            sig *= 1.0 - IDLE_WAIT
        if slowed_first(view, lead):
            sig *= 1.0 - SLOWED_EXPLAINS
        if all(headroom(scene, f) for f in lead):
            sig *= 1.0 - FAR_FROM_LIMIT
        elif held_only(scene, view):
            sig *= 1.0 - HELD_ONLY
    if lead and IN_PROGRESS.search(normalize_name(lead[0].series.name)):
        # work in progress piling up where the services it calls went wrong as early:
        # it waits on them (no latency series of its own need say so)
        sig *= 1.0 - SLOWED_EXPLAINS * view.features["deeper"]
    res = (
        (lead[0].family if lead else sat_logs[0].family if sat_logs else None)
        or (cap.resource if cap is not None else None)
        or "resource"
    )
    if barren(view, res):
        sig *= 1.0 - BARREN
    # a limit lowered, then reached: the config change's doing
    sig *= 1.0 - CUT_EXPLAINS * cut_by(scene, s, res)

    detail = ""
    claim, sep = f"{s} is saturating its {res}", ","
    if lead:
        f = lead[0]
        n = f.series.name
        lvl, over = level_said(f)
        back = (
            f", back to normal at {_hm(f.until)}"
            if f.until is not None
            else ", then back to normal"
            if over
            else ""
        )
        detail = f" ({n} {_fmt(f.baseline, n)} → {_fmt(lvl, n)} from {_hm(f.onset)}{back})"
        whose = f"{s}'s node" if f.scope == "node" else s
        if f.scope == "node":
            claim = f"{whose} is saturating its {res}"
        if far_from_limit(scene, f) or (f.family == "connections" and headroom(scene, f)):
            # what the reading says, not more: it rose, and nothing ran out
            claim = f"{whose}'s {res} use rose{detail} but stayed well under its limit"
            detail, sep = "", ", and"
        elif f.family == "disk" and disk_io(n):
            # bytes or operations a second: load on the disk, no limit reached (`IO_SHARE`)
            claim = f"{whose}'s disk I/O rose{detail}, load on it more than a disk running out"
            detail, sep = "", ", and"
    elif cap is not None:
        said = ", ".join(sorted(cap.reasons, key=lambda r: -cap.reasons[r])[:2])
        detail = f" (the cluster reports {said} from {_hm(cap.first)})"
    spec = [metric_evidence(f, "saturation") for f in lead[:2]]
    spec += [event_evidence(x, scene.onset) for x in (cap, oom) if x is not None]
    spec += [log_evidence(x, scene.ctx) for x in sat_logs[:1]]
    return [
        make(
            scene,
            view,
            "resource_saturation",
            res,
            f"{claim}{detail}{sep} {scene.effect(s, skip=res)}.",
            sig,
            spec,
            {"node_only": node_only},
        )
    ]
