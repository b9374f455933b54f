"""Cluster events as triage evidence: what a Kubernetes event *means*, and how much it says.

Kubernetes records what happened to a workload as events (`kubectl get events`) and as
pod state (a container's last termination reason, its waiting reason). The source
(`sources/kubernetes.py`, or a bundle's `events/*.jsonl`) hands them over as
`model.Event`s; this analyzer reads them by meaning, never by the names of one
cluster or dataset:

* **crash**: the container died or is restarted in a loop: `OOMKilled` (pod state),
  `OOMKilling` (the kernel's OOM killer, from node-problem-detector), `CrashLoopBackOff`,
  `BackOff` *restarting a failed container* (the same reason word also means an image
  pull back-off, told apart by its message), `Error` with exit code 137 (SIGKILL), 143
  (SIGTERM), 1 or any other non-zero code (Amazon ECS's `EssentialContainerExited` stop
  code alike), and restart observations (`restarts`);
* **config**: the new pod spec cannot start: `ImagePullBackOff`, `ErrImagePull`,
  `InvalidImageName`, a `BackOff` / `Failed` pulling an image, `RunContainerError`,
  `ContainerCannotRun`, `CreateContainerConfigError` (a missing ConfigMap / Secret
  key), `FailedMount` of a ConfigMap or Secret volume: evidence that a deploy or a
  config change broke the workload;
* **probe**: `Unhealthy` readiness, liveness or startup probe failures, and a running
  pod observed not ready (`PodNotReady`); not a new pod's readiness failing while it
  warms up (`warming_up`);
* **capacity**: the cluster is out of room: `Evicted` (node low on a resource),
  `FailedScheduling` / `Unschedulable` with `Insufficient cpu/memory` (not a taint or
  affinity mismatch), node pressure (`NodeMemoryPressure`/`DiskPressure`/`PIDPressure`,
  the kubelet's `NodeHasInsufficientMemory`..., `EvictionThresholdMet`), `NodeNotReady`,
  an autoscaler at its maximum (`HPAAtMaxReplicas`, `ScalingLimited` /
  `TooManyReplicas`), `FailedCreate` over a resource quota.

These are also the shapes the Kubernetes source (`sources/kubernetes.py`) reports pod
state in: a container's last termination (`OOMKilled`, `Error` with `exit_code` and
`restarts`), its waiting reason, a failed pod's reason (`Evicted`), an unscheduled
pod (`Unschedulable`), node conditions per service on the node (`object: node/NAME`).

A `Normal` event is never a fault (`Scheduled`, `Pulled`, `Started`, `Killing` as
part of a rollout, `ScalingReplicaSet`): it is context only. A new ReplicaSet scaled
up is a rollout the cluster recorded (`rollouts`), and becomes a `deploy` change when
nothing else recorded it.

Weight: a group of events (one service, one class) is as strong as its most severe
event after recency weighting, times a count factor (one event says less than a
dozen). Recency is read against the incident onset and the alert start: events from
a few minutes before the onset to minutes after the page count in full, events an
hour or more before it (a chronic, pre-existing condition) or long after the page (a
consequence) count little. Event text is untrusted: it is matched against fixed
patterns only, and excerpts are single-line and bounded.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from aisre_cli.investigate.analyzers.changes import Shortage, recorded_near
from aisre_cli.model import Change, Event

EventClass = Literal["crash", "config", "probe", "capacity"]
CLASSES: tuple[EventClass, ...] = ("crash", "config", "probe", "capacity")

BEFORE_FULL_S = 300.0
"""Events up to this long before the onset count in full (the fault precedes its symptoms)."""
BEFORE_DECAY_S = 1200.0
"""Earlier than that, the weight decays with this scale (an hour before: about 0.1)."""
AFTER_FULL_S = 600.0
"""Events up to this long after the alert started count in full (back-off follows crashes)."""
AFTER_DECAY_S = 900.0
CHRONIC_WEIGHT = 0.15
"""The floor for a condition that began long before the onset and is still seen."""
EXCERPT_CHARS = 200
EXCERPT_LINES = 3


@dataclass(frozen=True, slots=True)
class Meaning:
    """What one event says: its class, a finer detail, and how severe it is (0-1)."""

    cls: EventClass
    detail: str
    severity: float
    node_scope: bool = False
    resource: str | None = None
    """For capacity and OOM: the resource that ran out (memory, cpu, disk, pid)."""


@dataclass(slots=True)
class EventFinding:
    """One service's events of one class, weighed."""

    service: str
    cls: EventClass
    strength: float
    """0-1: severity x recency x count."""
    first: float
    """Time of the earliest counted event (its first occurrence when known)."""
    last: float
    count: int
    """How many times the cluster saw them (sum of `count`)."""
    reasons: dict[str, int]
    details: set[str]
    events: list[Event] = field(default_factory=list)
    """The counted events, most telling first."""
    node_scope: bool = False
    """Every counted event is about a node, shared by what runs on it."""
    resource: str | None = None

    @property
    def oom(self) -> bool:
        return "oom" in self.details


_OOM = re.compile(r"oom|out of memory", re.I)
_RESTART_BACKOFF = re.compile(r"restarting failed container|back-?off restarting", re.I)
_IMAGE = re.compile(
    r"pull(ing)? image|errimagepull|imagepullbackoff|image.*not found|manifest unknown"
    r"|pull access denied|invalidimagename",
    re.I,
)
_CONFIG_REF = re.compile(r"configmap|secret|couldn't find key|couldn.t find key", re.I)
_EXIT = re.compile(r"exit(?:ed)?(?: with)?(?:[ _]?code| status)?[ :=]*(\d{1,3})", re.I)
"""An exit code in a message: `exit code 143`, `exited with 1`, and as `docker events`
prints a container's death, `container die 528f… (exitCode=137, image=…)`."""
_FAULT_EXIT = {137, 143, 1}
"""The exit codes that say most: SIGKILL (OOM or liveness kill), SIGTERM, an app error."""
_EXITED = frozenset(
    {"error", "terminated", "containerdied", "die", "died", "essentialcontainerexited"}
)
"""Reasons that say a container exited, its exit code saying how: Kubernetes' `Error` /
`Terminated`, Docker's `die` (`docker events`' action, its `exitCode` attribute), and
Amazon ECS's stop code `EssentialContainerExited` (a task stopped because its essential
container exited: `OutOfMemoryError: Container killed due to memory usage`, exit 137,
or its own non-zero exit)."""
_HEALTH_KILL = re.compile(r"failed (?:elb|container|load ?balancer|target) health ?checks?", re.I)
"""A task the scheduler stopped because it failed its health checks (Amazon ECS: `Task
failed ELB health checks in (target-group …)`, `Task failed container health checks`,
stop code `ServiceSchedulerInitiated`): killed and replaced, as a liveness probe kills
a pod, so the service restarts again and again."""
_INSUFFICIENT = re.compile(r"insufficient (cpu|memory|ephemeral-storage|pods|nvidia)", re.I)
_QUOTA = re.compile(r"exceeded quota|quota exceeded", re.I)
_PROBE = re.compile(r"(readiness|liveness|startup) probe (failed|errored)", re.I)
_LOW_ON = re.compile(r"low on resource:?\s*(memory|ephemeral-storage|cpu|pid|disk)", re.I)

_NODE_PRESSURE: dict[str, str] = {
    "nodememorypressure": "memory",
    "nodehasinsufficientmemory": "memory",
    "memorypressure": "memory",
    "systemoom": "memory",
    "nodediskpressure": "disk",
    "nodehasdiskpressure": "disk",
    "diskpressure": "disk",
    "freediskspacefailed": "disk",
    "nodepidpressure": "pid",
    "nodehasinsufficientpid": "pid",
    "pidpressure": "pid",
}


def _exit_code(e: Event) -> int | None:
    for k in ("exit_code", "exitCode", "exitcode"):
        v = e.attrs.get(k)
        if isinstance(v, int | str) and str(v).strip().lstrip("-").isdigit():
            return int(v)
    m = _EXIT.search(e.message)
    return int(m.group(1)) if m else None


def _restarts(e: Event) -> int:
    for k in ("restart_count", "restartCount", "restarts"):
        v = e.attrs.get(k)
        if isinstance(v, int | str) and str(v).strip().isdigit():
            return int(v)
    return 0


def _resource(text: str) -> str | None:
    t = text.lower()
    if "memory" in t:
        return "memory"
    if "ephemeral-storage" in t or "disk" in t:
        return "disk"
    if "cpu" in t:
        return "cpu"
    if "pid" in t:
        return "pid"
    return None


def classify(e: Event) -> Meaning | None:
    """What `e` means for triage, or None (Normal events, and Warnings that say
    nothing about a fault of the service: a taint mismatch, a probe warning)."""
    if e.type != "Warning":
        return None
    r = e.reason.strip().lower()
    msg = e.message
    # --- the container cannot start with its new spec (image or config)
    if r in ("imagepullbackoff", "errimagepull", "invalidimagename", "errimageneverpull"):
        return Meaning("config", "image", 0.9)
    if r in ("backoff", "failed") and _IMAGE.search(msg):
        return Meaning("config", "image", 0.85)
    if r in ("runcontainererror", "containercannotrun", "starterror"):
        return Meaning("config", "start", 0.75)
    if r in ("createcontainerconfigerror", "createcontainererror") or (
        r == "failed"
        and ("createcontainerconfigerror" in msg.lower() or _CONFIG_REF.search(msg) is not None)
    ):
        return Meaning("config", "config", 0.9)
    if r == "failedmount" and _CONFIG_REF.search(msg):
        return Meaning("config", "config", 0.8)
    # --- the container dies
    # (Docker's own event for the kernel killing a container for its memory is `oom`)
    if r in ("oomkilled", "oomkilling", "oom") or (r in _EXITED and _OOM.search(msg)):
        return Meaning("crash", "oom", 0.9, node_scope=False, resource="memory")
    if r == "crashloopbackoff":
        return Meaning("crash", "backoff", 0.9)
    if _HEALTH_KILL.search(msg):
        return Meaning("crash", "liveness", 0.75)
    if r == "backoff" and _RESTART_BACKOFF.search(msg):
        return Meaning("crash", "backoff", 0.8)
    if r in _EXITED:
        code = _exit_code(e)
        if code is None or code == 0:
            return None
        # 137 is SIGKILL (the OOM killer, or a liveness kill), 143 SIGTERM, 1 an
        # application error; any other non-zero exit (139 SIGSEGV, 134 abort) is a crash too
        return Meaning(
            "crash", "oom" if code == 137 else "exit", 0.75 if code in _FAULT_EXIT else 0.7
        )
    if r in ("restarted", "containerrestarted", "restarting") or (
        r in ("podstate", "containerstatus") and _restarts(e) > 0
    ):
        return Meaning("crash", "restart", 0.6)
    # --- probes
    if r == "unhealthy" and _PROBE.search(msg):
        kind = _PROBE.search(msg)
        word = kind.group(1).lower() if kind else "readiness"
        return Meaning("probe", word, 0.7 if word == "liveness" else 0.6)
    if r == "podnotready":
        return Meaning("probe", "readiness", 0.5)
    # --- the cluster is out of room
    if r == "evicted" or (r == "evict" and "evict" in msg.lower()):
        m = _LOW_ON.search(msg)
        res = _resource(m.group(1)) if m else _resource(msg)
        return Meaning("capacity", "evicted", 0.8, resource=res)
    if r in ("failedscheduling", "unschedulable"):
        m = _INSUFFICIENT.search(msg)
        if m:
            return Meaning("capacity", "scheduling", 0.6, resource=_resource(m.group(1)))
        return None
    if r in _NODE_PRESSURE:
        return Meaning(
            "capacity", "node_pressure", 0.7, node_scope=True, resource=_NODE_PRESSURE[r]
        )
    if r == "evictionthresholdmet":
        return Meaning("capacity", "node_pressure", 0.7, node_scope=True, resource=_resource(msg))
    if r in ("nodenotready", "notready"):
        return Meaning("capacity", "node_not_ready", 0.6, node_scope=True)
    if r in ("hpaatmaxreplicas", "toomanyreplicas") or (
        r == "scalinglimited" and re.search(r"toomanyreplicas|max(imum)? replica", msg, re.I)
    ):
        return Meaning("capacity", "hpa_max", 0.5)
    if r in ("failedcreate", "failedscheduling") and _QUOTA.search(msg):
        return Meaning("capacity", "quota", 0.6, resource=_resource(msg))
    return None


def first_seen(e: Event) -> float:
    """When the cluster first saw this event (its `first_timestamp` attribute when the
    source kept it; `ts` otherwise)."""
    for k in ("first_ts", "first_timestamp", "firstTimestamp", "first_seen"):
        v = e.attrs.get(k)
        t = _to_ts(v)
        if t is not None and t <= e.ts:
            return t
    return e.ts


def _to_ts(v: object) -> float | None:
    if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
        return float(v / 1000.0 if v > 1e11 else v)
    if isinstance(v, str) and v:
        try:
            dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:
            return None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return dt.timestamp()
    return None


def recency(first: float, last: float, onset: float, alert_ts: float) -> float:
    """How much an event seen from `first` to `last` speaks about an incident that began
    at `onset` and paged at `alert_ts` (0-1)."""
    page = max(onset, alert_ts)
    if first > page + AFTER_FULL_S:
        return math.exp(-(first - page - AFTER_FULL_S) / AFTER_DECAY_S)
    gap = onset - first
    if gap <= BEFORE_FULL_S:
        return 1.0
    w = math.exp(-(gap - BEFORE_FULL_S) / BEFORE_DECAY_S)
    # a condition that began long ago and is still seen around the onset is chronic:
    # context, not the cause
    if last >= onset - BEFORE_FULL_S:
        return max(w, CHRONIC_WEIGHT)
    return w


CHRONIC_RISE = 2.0
"""A group seen before the incident counts in full only if it came at least this many
times as often around it (`steady_rate`)."""
CHRONIC_MIN = 3
"""... and is read so only from this many events before (one early warning is a
precursor, not a rate)."""


def steady_rate(
    items: list[tuple[Event, float]], onset: float, alert_ts: float, since: float | None = None
) -> bool:
    """Whether a group of events (each with its first sighting) came about as often
    before the incident as around it: a readiness probe failing a few times every five
    minutes all hour is a flaky probe, not the fault. Before: from the start of what
    was looked at (`since`, else its first sighting) to `BEFORE_FULL_S` before the
    onset: tasks that began exiting every minute ten minutes before the onset, after
    half an hour of none, began then; around: from then to its last event (the page
    at least)."""
    cut = onset - BEFORE_FULL_S
    before = [(e, t) for e, t in items if t < cut]
    n_before = sum(e.count for e, _ in before)
    if n_before < CHRONIC_MIN:
        return False
    near = [e for e, t in items if t >= cut]
    if not near:
        return False  # over before the incident: `recency` weighs that
    start = min(t for _, t in before)
    if since is not None:
        start = min(start, since)
    span_before = max(cut - start, BEFORE_FULL_S)
    span_near = max(max([e.ts for e in near] + [alert_ts]) - cut, BEFORE_FULL_S)
    rate_before = n_before / span_before
    rate_near = sum(e.count for e in near) / span_near
    return rate_near < CHRONIC_RISE * rate_before


def count_factor(n: float) -> float:
    """One event counts half; a dozen count nearly in full."""
    return 0.5 + 0.5 * (1.0 - math.exp(-max(0.0, n - 1.0) / 3.0))


KILLED = Meaning("crash", "killed", 0.6)
"""Pods of a service killed again and again with no rollout or scaling (`killed_pods`)."""
KILLED_MIN = 2
_LIVENESS_KILL = re.compile(r"liveness|startup probe", re.I)
ROLLOUT_KILLS_S = 900.0
"""How long after a recorded change of a service its pods being killed is that change
rolling out (a scheduler that records no scaling event of its own: Nomad, ECS)."""


def killed_pods(events: list[Event], changes: Iterable[Change] = ()) -> set[int]:
    """The indexes of `Killing` events that say a service's pods are being killed from
    outside: at least `KILLED_MIN` pods of the service killed (the kubelet's `Killing:
    Stopping container …`) while the cluster recorded no rollout or scaling of it
    (`ScalingReplicaSet`, `SuccessfulDelete`), so its ReplicaSet only replaced them: a
    node drained, pods deleted or preempted, a chaos experiment. Each is a `Normal`
    event; together they are the service losing its pods. A kill for a failed liveness
    probe is the probe's reading (`Unhealthy`), not this, and so is one within
    `ROLLOUT_KILLS_S` after a change of the service on record (`changes`): a scheduler
    that records no scaling (Nomad's `Killing` of a job's old allocations) rolling it
    out."""
    kills: dict[str, set[str]] = {}
    idx: dict[str, list[int]] = {}
    scaled: set[str] = set()
    rolled: dict[str, list[float]] = {}
    for c in changes:
        rolled.setdefault(c.service, []).append(c.ts.timestamp())
    for i, e in enumerate(events):
        r = e.reason.strip().lower()
        if r in ("scalingreplicaset", "successfuldelete"):
            scaled.add(e.service)
        elif (
            r == "killing"
            and not _LIVENESS_KILL.search(e.message)
            and not any(t - 60.0 <= e.ts <= t + ROLLOUT_KILLS_S for t in rolled.get(e.service, ()))
        ):
            kills.setdefault(e.service, set()).add(e.object)
            idx.setdefault(e.service, []).append(i)
    return {
        i
        for svc, pods in kills.items()
        if len(pods) >= KILLED_MIN and svc not in scaled
        for i in idx[svc]
    }


WARMUP_S = 300.0
"""How long after its container started a pod's readiness may fail while it warms up."""
_READINESS = re.compile(r"readiness probe (failed|errored)", re.I)


def warming_up(events: list[Event]) -> set[int]:
    """The indexes of readiness failures of a pod warming up: every sighting within
    `WARMUP_S` after the kubelet started its container (`Started`). A rolling update
    starts each new pod so, and the pod takes no traffic until it is ready: nothing
    failed. A pod that stays unready past that (a release that never comes up), or an
    old pod turning unready, is still the probe's reading; a liveness failure, which
    kills, always is."""
    started: dict[str, list[float]] = {}
    for e in events:
        if e.reason.strip().lower() == "started" and e.object:
            started.setdefault(e.object, []).append(e.ts)
    out: set[int] = set()
    for i, e in enumerate(events):
        if e.reason.strip().lower() != "unhealthy" or not _READINESS.search(e.message):
            continue
        t0 = first_seen(e)
        if any(s <= t0 and e.ts <= s + WARMUP_S for s in started.get(e.object, ())):
            out.add(i)
    return out


def analyze(
    events: Iterable[Event],
    onset: float,
    alert_ts: float,
    changes: Iterable[Change] = (),
    since: float | None = None,
) -> list[EventFinding]:
    """Group the fault events by (service, class) and weigh each group (`changes`: the
    ones on record, whose rollouts' kills are no fault, `killed_pods`; `since`: the
    start of the window looked at, `steady_rate`)."""
    groups: dict[tuple[str, EventClass], list[tuple[Event, Meaning, float]]] = {}
    events = list(events)
    killed = killed_pods(events, changes)
    warm = warming_up(events)
    for i, e in enumerate(events):
        if i in warm:
            continue
        m = KILLED if i in killed else classify(e)
        if m is None:
            continue
        r = recency(first_seen(e), e.ts, onset, alert_ts)
        if r < 0.01:
            continue
        groups.setdefault((e.service, m.cls), []).append((e, m, r))
    out: list[EventFinding] = []
    for (svc, cls), items in sorted(groups.items()):
        items.sort(key=lambda x: (-x[1].severity * x[2], first_seen(x[0]), x[0].ref))
        eff = sum(e.count * r for e, _, r in items)
        top = max(m.severity * r * (0.5 if m.node_scope else 1.0) for _, m, r in items)
        reasons: dict[str, int] = {}
        for e, _, _ in items:
            reasons[e.reason] = reasons.get(e.reason, 0) + e.count
        res = [m.resource for _, m, _ in items if m.resource]
        strength = min(1.0, top * count_factor(eff))
        if steady_rate([(e, first_seen(e)) for e, _, _ in items], onset, alert_ts, since):
            strength *= CHRONIC_WEIGHT  # as often before the incident as in it
        out.append(
            EventFinding(
                service=svc,
                cls=cls,
                strength=round(strength, 4),
                first=min(first_seen(e) for e, _, _ in items),
                last=max(e.ts for e, _, _ in items),
                count=sum(e.count for e, _, _ in items),
                reasons=reasons,
                details={m.detail for _, m, _ in items},
                events=[e for e, _, _ in items],
                node_scope=all(m.node_scope for _, m, _ in items),
                resource=max(set(res), key=res.count) if res else None,
            )
        )
    return out


def memory_kills(events: Iterable[Event]) -> list[Shortage]:
    """Per service, its containers killed for running out of memory (OOMKilled, exit 137
    with an OOM message): a shortage of memory from the first kill, as strong as one
    such kill is severe and as many as there were (`count_factor`). Not a node's:
    what runs there shares it."""
    kills: dict[str, list[tuple[Event, Meaning]]] = {}
    for e in events:
        m = classify(e)
        if m is not None and m.detail == "oom" and not m.node_scope and e.service:
            kills.setdefault(e.service, []).append((e, m))
    out: list[Shortage] = []
    for svc, items in sorted(kills.items()):
        n = sum(e.count for e, _ in items)
        reasons = sorted({e.reason for e, _ in items})
        out.append(
            Shortage(
                svc,
                "memory",
                min(first_seen(e) for e, _ in items),
                min(1.0, max(m.severity for _, m in items) * count_factor(n)),
                f"{'/'.join(reasons)} x{n}",
            )
        )
    return out


def after(f: EventFinding, t: float, grace: float = 60.0) -> EventFinding | None:
    """The part of `f` first seen at or after `t` (a change's time), or None: only
    events that began after a change can speak against it."""
    kept = [e for e in f.events if first_seen(e) >= t - grace]
    if not kept:
        return None
    share = sum(e.count for e in kept) / max(1, f.count)
    return EventFinding(
        service=f.service,
        cls=f.cls,
        strength=round(f.strength * (0.5 + 0.5 * share), 4),
        first=min(first_seen(e) for e in kept),
        last=max(e.ts for e in kept),
        count=sum(e.count for e in kept),
        reasons={r: n for r, n in f.reasons.items() if any(e.reason == r for e in kept)},
        details=set(f.details),
        events=kept,
        node_scope=f.node_scope,
        resource=f.resource,
    )


def excerpt(events: Iterable[Event]) -> list[str]:
    """A few raw messages, one line each and bounded (the text is untrusted; terminal
    safety is applied where it is shown, `ui/term.py`)."""
    out: list[str] = []
    seen: set[str] = set()
    for e in events:
        line = " ".join(f"{e.reason} {e.object}: {e.message}".split())
        if e.count > 1:
            line = f"{line} (x{e.count})"
        if len(line) > EXCERPT_CHARS:
            line = line[: EXCERPT_CHARS - 1] + "…"
        if line in seen:
            continue
        seen.add(line)
        out.append(line)
        if len(out) >= EXCERPT_LINES:
            break
    return out


# ------------------------------------------------------------------ rollouts

_SCALED = re.compile(
    r"scaled (up|down) replica set ([a-z0-9][a-z0-9.-]*) (?:to|from \d+ to) (\d+)", re.I
)
ROLLOUT_PAIR_S = 900.0
"""A scale-down of another ReplicaSet of the service this soon after marks a rollout."""


def rollouts(
    events: Iterable[Event], changes: list[Change], dedupe_s: float = 300.0
) -> list[Change]:
    """Rollouts the cluster recorded and nothing else did.

    The Deployment controller records a rollout as `ScalingReplicaSet` events: "Scaled
    up replica set NEW to 1", then "Scaled down replica set OLD to 2", and so on. A
    ReplicaSet scaled up while another ReplicaSet of the same service is scaled down
    (before it in the window, or within `ROLLOUT_PAIR_S` after) is a new revision going
    out; an autoscaler resizing one ReplicaSet is not. It becomes a `deploy` change
    unless a change on the same service within `dedupe_s` already records it (a
    pipeline's `change record`, or the Kubernetes source's own rollout change)."""
    moves: list[tuple[float, str, str, str, Event]] = []
    for e in events:
        if e.reason != "ScalingReplicaSet":
            continue
        m = _SCALED.search(e.message)
        if m:
            moves.append((e.ts, e.service, m.group(1).lower(), m.group(2), e))
    moves.sort(key=lambda x: (x[0], x[1], x[3]))
    out: list[Change] = []
    done: set[str] = set()
    for t, svc, way, rs, e in moves:
        if way != "up" or rs in done:
            continue
        others = [
            (t2, rs2)
            for t2, s2, w2, rs2, _ in moves
            if s2 == svc and rs2 != rs and (t2 <= t or (w2 == "down" and t2 - t <= ROLLOUT_PAIR_S))
        ]
        if not others:
            continue
        done.add(rs)
        before = [x for x in others if x[0] <= t]
        prev = max(before)[1] if before else min(others)[1]
        ts = first_seen(e)
        if recorded_near(changes, svc, ts, dedupe_s):
            continue
        obj = e.object or f"deployment/{svc}"
        out.append(
            Change(
                id=f"rollout:{obj}:{rs}",
                ts=datetime.fromtimestamp(ts, UTC),
                service=svc,
                kind="deploy",
                summary=f"rollout of {obj} recorded by the cluster: ReplicaSet {prev} → {rs}",
                version=rs,
                previous_version=prev,
                source="kubernetes-events",
                ref=e.query or e.ref or None,
            )
        )
    return out
