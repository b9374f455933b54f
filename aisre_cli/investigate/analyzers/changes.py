"""Change correlation: which change events sit just before the incident onset.

A change is a candidate cause when it precedes the onset on a service in the
incident's dependency cone. Its strength decays with the gap (a deploy 2 minutes
before the errors is far more telling than one 50 minutes before); a change after
the onset (typically a hot-fix) is kept as context but cannot explain the onset. A
change that shipped a memory leak (`leak_harm`) is the exception: its harm shows as a
climb from it, hours long, and its timing is that climb, not the gap.
"""

from __future__ import annotations

import itertools
import math
import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from aisre_cli.investigate.families import (
    SHARE_FLOOR,
    STATUS_LABELS,
    SignalClass,
    outbound,
    share_whole,
)
from aisre_cli.model import Change, Series

LOOKBACK_S = 3600.0
"""Changes earlier than this before the onset are not candidates."""
DECAY_S = 1200.0
"""Proximity weight halves roughly every 14 minutes (exp(-gap / 20 min))."""
GRACE_S = 120.0
"""A change this soon after the detected onset still counts as before: onsets are
measured at the metric step and a deploy rollout takes time."""
LEAK_LOOKBACK_S = 6 * 3600.0
"""How long before the onset a change that started a leak (`leak_harm`) is still a
candidate: a slow leak takes hours to reach its limit."""
LEAK_MIN_S = 1800.0
"""A climb shorter than this is a process warming up, not a leak."""
LEAK_FACTOR = 1.5
"""How far above what its service's pods held before the change the memory must climb:
a fresh pod's heap fills back to the old pods' level, and no further, as it warms up."""
LEAK_HELD_Q = 0.9
"""The quantile of a series' values before the change that says what its pods held."""
LEAK_TAU = 0.7
"""How steadily it must climb (Kendall's tau of the values against time, up to the peak):
a leak grows sample after sample; load moves it up and down."""


@dataclass(slots=True)
class ChangeFinding:
    change: Change
    gap_s: float
    """onset - change time; negative when the change came after the onset."""
    proximity: float
    before_onset: bool


# A change that sets how much of a dependency's resource its service takes: a
# connection pool, how many workers/threads call out, or retries (each a call in flight
# holding a connection: connections at the callee),
# how much work each call asks of it (CPU), how much it keeps there (memory). Read by
# what the setting means in the frameworks that have it (`DB_MAX_OPEN_CONNS`,
# `SQLALCHEMY_POOL_SIZE`, Hikari `maximumPoolSize`, ADO.NET `Max Pool Size`, pgbouncer
# `default_pool_size`, `spring.task.execution.pool`, Celery `concurrency`), not by name.
_TAKES: dict[str, re.Pattern[str]] = {
    "connections": re.compile(
        r"(?<!node )pool|conn(?:ection)?s?\b|max_?open|maxopen|max_?idle|hikari|pgbouncer|"
        r"sessions?\b|concurren|workers?\b|threads?\b|parallel|retr(?:y|ies)",
        re.IGNORECASE,
    ),
    "cpu": re.compile(
        r"concurren|workers?\b|parallel|retr(?:y|ies)|batch|prefetch|fan-?out", re.IGNORECASE
    ),
    "memory": re.compile(r"\bttl\b|cache|batch|prefetch", re.IGNORECASE),
}
_SETTING_MOVE = re.compile(
    r"(\d+(?:\.\d+)?)\s*([a-z]*)\s*(?:->|→|=>|\bto\b)\s*(\d+(?:\.\d+)?)\s*([a-z]*)", re.IGNORECASE
)
_SETTING_UNITS: dict[str, float] = {
    "ms": 1e-3, "s": 1.0, "sec": 1.0, "secs": 1.0, "m": 60.0, "min": 60.0, "mins": 60.0,
    "h": 3600.0, "hr": 3600.0, "d": 86400.0, "k": 1e3, "kb": 1e3, "mb": 1e6, "gb": 1e9,
}  # fmt: skip
"""Units a setting is written in (`ttl 15m -> 30s`, `cache 2GB -> 512MB`): a move is
compared in one unit. A word that is no unit (`pool 10 to 50 connections`) is none."""
_SHIELDS = re.compile(r"\bttl\b|cach(e|ing)|expir", re.IGNORECASE)
"""A setting that keeps work off a backend: a cache, how long it holds entries. Cut, it
sends more to what is behind it (its misses are queries), which takes more CPU and more
connections there."""
_SHIELD_OFF = re.compile(
    r"(disabl\w*|turn(?:ed|s)? off|bypass\w*)\W+(?:\w+\W+)?cach|cach\w*\W+(?:\w+\W+)?"
    r"(?:disabled|off|bypassed)|cache\w*\s*[=:]\s*(?:false|off|0|none)\b",
    re.IGNORECASE,
)


def _moves(summary: str) -> list[tuple[float, float]]:
    """Each `A -> B` the summary states, in one unit where both name one."""
    out: list[tuple[float, float]] = []
    for a, ua, b, ub in _SETTING_MOVE.findall(summary):
        fa, fb = _SETTING_UNITS.get(ua.lower(), 1.0), _SETTING_UNITS.get((ub or ua).lower(), 1.0)
        out.append((float(a) * fa, float(b) * fb))
    return out


_STATED = re.compile(
    r"[=:]\s*(?:\d|true\b|false\b|on\b|off\b|none\b|[`'\"])|\b(?:enabl|disabl)\w*|"
    r"\bturn(?:ed|s)?\s+(?:on|off)\b|\bset\b|\b(?:rais|increas|doubl|tripl)\w*",
    re.IGNORECASE,
)
"""A setting given its value (`POOL=50`, `maximumPoolSize: 80`), turned on or off, set
or raised: what a config change is, and what a deploy's message only sometimes says."""


def states_setting(summary: str) -> bool:
    """Whether a change's summary states a setting it moved (`pool 10 -> 50`), gave a
    value, enabled or disabled. A deploy ships code: `fix: retry on 409 from inventory`
    describes what the code does now, not a pool or a retry budget it raised, so a
    deploy takes more of its dependencies only where its message states such a setting
    (`scene._claims`)."""
    return bool(_moves(summary)) or _STATED.search(summary) is not None


def takes_more(summary: str) -> frozenset[str]:
    """The resource families of its dependencies a change makes its service take more
    of, read from what it says it set: a pool, workers, retries, a cache... A setting
    it lowered (`pool 100 -> 25`) takes less and says nothing; one stated without
    numbers counts (a rise is what such a change usually is). A cache works the other
    way (`_SHIELDS`): cut or turned off, its backend takes more CPU and connections."""
    moves = _moves(summary)
    lowered = bool(moves) and all(b < a for a, b in moves)
    if _SHIELDS.search(summary) and (lowered or _SHIELD_OFF.search(summary)):
        return frozenset({"cpu", "connections"})
    fams = frozenset(f for f, rx in _TAKES.items() if rx.search(summary))
    if not fams:
        return fams
    if moves and all(b <= a for a, b in moves):
        return frozenset()
    return fams


# The capacity a service is given, read by what the setting means where it is set: a
# container's or a JVM's memory (`resources.limits.memory`, `spark.executor.memory`,
# `-Xmx`, `innodb_buffer_pool_size`, Redis `maxmemory`), its CPUs, and how many
# connections or workers it may hold (`max_connections`, PHP-FPM `pm.max_children`, a
# pool's `maxPoolSize`, Connect's `tasks.max`, Airflow's `parallelism`).
_OWN_LIMITS: dict[str, re.Pattern[str]] = {
    "memory": re.compile(r"mem(?:ory)?|heap|xmx|\bram\b|buffer[_ ]?pool|maxmemory", re.IGNORECASE),
    "cpu": re.compile(r"\bv?cpus?\b|\bcores?\b|millicores|cpu[_.-]?(?:limit|quota|shares)", re.I),
    "connections": re.compile(
        r"(?<!node )(?<!buffer[_ ])pool|max_?conn\w*|max_children|workers?\b|threads?\b|"
        r"concurren\w*|parallelism|tasks\.max|slots?\b",
        re.IGNORECASE,
    ),
}
_SIZE_UNITS: dict[str, float] = {
    "k": 2**10, "kb": 1e3, "ki": 2**10, "kib": 2**10, "m": 2**20, "mb": 1e6, "mi": 2**20,
    "mib": 2**20, "g": 2**30, "gb": 1e9, "gi": 2**30, "gib": 2**30, "t": 2**40, "tb": 1e12,
    "ti": 2**40, "tib": 2**40,
}  # fmt: skip
"""A memory setting's units (`8g`, `1400m`, `2Gi`, `512MB`): in a memory setting `m` is
mebibytes, not minutes."""
_CPU_UNITS: dict[str, float] = {"m": 1e-3}
"""A CPU setting's: `500m` is half a core."""
_CLAUSES = re.compile(r"[,;]\s+|\s+and\s+")
"""Where one setting's move ends and the next one's begins."""


def _limit_moves(c: Change, down: bool) -> frozenset[str]:
    """The families of its own capacity a config change moved one way: every move its
    summary states for the setting goes that way, and the setting names memory, CPUs, or
    a pool or workers. Not a deploy (the numbers in its message are versions)."""
    if c.kind == "deploy" or not c.service:
        return frozenset()
    out: set[str] = set()
    # each setting with its own move (`memory 8g -> 4g, workers 4 -> 8` cut memory only)
    for said in _CLAUSES.split(c.summary.replace(c.service, "")):
        for fam, rx in _OWN_LIMITS.items():
            if not rx.search(said):
                continue
            units = _SIZE_UNITS if fam == "memory" else _CPU_UNITS if fam == "cpu" else {}
            moves = [
                (float(a) * units.get(ua.lower(), 1.0), float(b) * units.get(to.lower(), 1.0))
                for a, ua, b, ub in _SETTING_MOVE.findall(said)
                for to in (ub or ua,)
            ]
            if moves and all((b < a) if down else (b > a) for a, b in moves):
                out.add(fam)
    return frozenset(out)


def limits_cut(c: Change) -> frozenset[str]:
    """The families of its own capacity a config change cut (`spark.executor.memory 8g ->
    4g`, `pm.max_children 50 -> 10`, `cpu 2 -> 500m`)."""
    return _limit_moves(c, down=True)


def limits_raised(c: Change) -> frozenset[str]:
    """The families of its own capacity a config change raised (RabbitMQ's
    `vm_memory_high_watermark 0.4 -> 0.5`, `-Xmx2g -> -Xmx4g`, `max_connections 200 ->
    400`): room given, which its service may then use without harm."""
    return _limit_moves(c, down=False)


@dataclass(frozen=True, slots=True)
class Shortage:
    """A service running out of a resource: a disk or memory that ran out, or its
    containers killed for memory."""

    service: str
    family: str
    at: float
    """When it began (unix seconds)."""
    strength: float
    said: str
    """What shows it, to cite (`OOMKilled x13`, a series' name)."""


@dataclass(frozen=True, slots=True)
class Cut:
    """A config change that cut its service's own capacity in a resource, which the
    service then ran short of (`cut_harm`)."""

    family: str
    shortage: Shortage


CUT_AHEAD_S = 2 * 3600.0
"""How long after a cut its service may first run short and still be its doing: the
load that needs what was cut comes with the next batch run or the next peak."""
CUT_DECAY_S = 3600.0
"""How fast a cut's timing reading fades with the wait for that shortage: slower than a
change's gap to the onset, since what it cut is needed only when the load comes."""


def cut_harm(c: Change, shortages: list[Shortage]) -> Cut | None:
    """A config change that cut its service's capacity in a resource (`limits_cut`),
    after which the service ran short of that resource, for the first time in the
    window: the strongest such shortage within `CUT_AHEAD_S`. One already going before
    the change is not the cut's doing."""
    fams = limits_cut(c)
    if not fams:
        return None
    t = c.ts.timestamp()
    mine = [x for x in shortages if x.service == c.service and x.family in fams]
    if any(x.at < t - GRACE_S for x in mine):
        return None
    later = [x for x in mine if x.at <= t + CUT_AHEAD_S]
    if not later:
        return None
    best = max(later, key=lambda x: x.strength)
    return Cut(best.family, best)


_TIMEOUT_SETTING = re.compile(r"time-?outs?|deadline", re.IGNORECASE)
OWN_TIMEOUT_S = 300.0
"""How soon after a change that cut its service's timeout its calls' timeouts are that
setting's doing (`timeouts_cut`): a config rolls out in seconds to minutes."""


def timeouts_cut(changes: list[Change]) -> dict[str, list[float]]:
    """Service → when a change cut how long it waits on its calls (`read-timeout
    5000ms -> 500ms`, `UPSTREAM_TIMEOUT_MS 2000 -> 200`): every move the summary states
    downward, and a timeout or deadline named. Its calls timing out from then on are
    its own setting's doing, whatever they call (`dependency.find_dead`): an outside
    API answering in 800 ms is not down because its caller now gives up at 500. Not a
    deploy: the numbers in its message are versions (`6.32.10 -> 6.32.11`)."""
    out: dict[str, list[float]] = {}
    for c in changes:
        if not c.service or c.kind == "deploy":
            continue
        said = c.summary.replace(c.service, "")
        if not _TIMEOUT_SETTING.search(said):
            continue
        moves = _moves(said)
        if moves and all(b < a for a, b in moves):
            out.setdefault(c.service, []).append(c.ts.timestamp())
    return out


def correlate(
    changes: list[Change], onset: float, harm: dict[str, ChangeHarm] | None = None
) -> list[ChangeFinding]:
    """The changes that may explain the onset: those up to `LOOKBACK_S` before it, their
    proximity decaying with the gap; and an older one that started a leak at its service
    (`ChangeHarm.leak`, up to `LEAK_LOOKBACK_S`), whose timing is the climb it began
    and not the gap to the onset: a leak reaches its limit hours after its release. So
    is one that cut a capacity its service then ran short of (`ChangeHarm.cut`): timed
    by that shortage, not by the onset its callers' trouble set later."""
    out: list[ChangeFinding] = []
    for c in changes:
        gap = onset - c.ts.timestamp()
        before = gap >= -GRACE_S
        h = (harm or {}).get(c.id)
        leak = h.leak if h is not None and gap <= LEAK_LOOKBACK_S else 0.0
        # ... and one that cut what its service then ran short of: timed by the shortage
        cut = h.cut if h is not None and gap <= LEAK_LOOKBACK_S else 0.0
        if gap > LOOKBACK_S and leak <= 0.0 and cut <= 0.0:
            continue
        prox = math.exp(-max(gap, 0.0) / DECAY_S) if before else 0.0
        prox = max(prox, leak, cut) if before else prox
        out.append(ChangeFinding(change=c, gap_s=gap, proximity=prox, before_onset=before))
    return out


# ------------------------------------------------------------------ attribution

VERSION_LABELS: tuple[str, ...] = (
    "version",
    "app_version",
    "service_version",
    "service.version",
    "revision",
    "canary",
    "track",
    "rollouts_pod_template_hash",
    "pod_template_hash",
    "image_tag",
    "tag",
    "destination_version",
    "destination_canonical_revision",  # Istio's standard metrics
    "service_istio_io_canonical_revision",
    "app_kubernetes_io_version",
    "serving_knative_dev_revision",
    "controller_revision_hash",
    "container_image_tag",
    "image",
    "container_image",
)
"""Labels that tell a series' software version (Kubernetes, Argo Rollouts, Istio,
OpenTelemetry `service.version`, the Kubernetes recommended `app.kubernetes.io/version`
as Prometheus relabels it, Knative revisions, StatefulSet and DaemonSet revision hashes,
and, last, the image a container runs (cAdvisor's `image`, read as its tag)): with them a
canary can be compared with its baseline. A `label_` prefix (kube-state-metrics' pod
labels) is read through."""
_IMAGE_LABELS = frozenset({"image", "container_image"})
HARM_FAMILIES = frozenset(
    {"errors", "latency", "availability", "restarts", "memory", "cpu", "connections"}
)
FOOTPRINT_FAMILIES = frozenset({"cpu", "memory", "connections"})
FOOTPRINT_SHARE = 0.5
"""A new version that uses more CPU, memory or threads than its old pods shows its
footprint, which a release may change on purpose (and a JVM warming up does for
minutes): as harm of the change it counts this share; errors, latency, availability and
restarts, what the users of the service feel, count whole. (`version_by_family` keeps
the full reading: the saturation proposer asks whether the new pods are the ones
saturating.)"""
AFTER_S = 900.0
"""How long after a change its effect is looked for."""
BEFORE_S = 1800.0


@dataclass(slots=True)
class ChangeHarm:
    """Evidence that one change hurt: its service's signals before vs after it, and its
    new version's series vs the old version's over the same minutes."""

    change_id: str
    harm: float
    """0-1: how clearly the changed service's bad-direction signals moved at the change."""
    series: Series | None = None
    before: float = 0.0
    after: float = 0.0
    z: float = 0.0
    version_harm: float = 0.0
    """0-1: the new version is worse than the other versions over the same minutes."""
    version_detail: str = ""
    version_by_family: dict[str, float] = field(default_factory=dict)
    """`version_harm` per signal family (`cpu`, `errors`, ...): what the new version is
    worse at."""
    at: float = 0.0
    """When the change happened (unix seconds): where the before/after split is."""
    version_compared: bool = False
    """The new version's pods could be compared with the old ones' (both were there after
    the change, in a family that shows harm). With `version_harm` near 0 that clears the
    change: whatever its service suffers, its old pods suffer alike."""
    version_side_by_side: bool = True
    """False: the rollout replaced the old pods, which served beside the new ones for less
    than `SIDE_BY_SIDE_S`, so the comparison is of the new pods after it against the old
    ones before it (and `version_detail` says so)."""
    leak_of: Leak | None = None
    """Its service's memory climbed steadily from the change on, far above what its pods
    held before it (`leak_harm`)."""
    cut_of: Cut | None = None
    """It cut its service's capacity in a resource the service then ran short of
    (`cut_harm`)."""

    @property
    def cut(self) -> float:
        """0-1: how clearly the change's cut explains its service's shortage: the
        shortage's strength, fading with how long after the change it began
        (`CUT_DECAY_S`)."""
        if self.cut_of is None:
            return 0.0
        x = self.cut_of.shortage
        return x.strength * math.exp(-max(x.at - self.at, 0.0) / CUT_DECAY_S)

    @property
    def leak(self) -> float:
        """0-1: how clearly the change started a leak (`Leak.strength`; 0 for none)."""
        return self.leak_of.strength if self.leak_of is not None else 0.0

    @property
    def measured(self) -> float:
        """The stronger of its before-and-after and its new-versus-old readings."""
        return max(self.harm, self.version_harm)


def _robust(vals: list[float]) -> tuple[float, float]:
    v = sorted(x for x in vals if math.isfinite(x))
    if not v:
        return 0.0, 0.0
    med = v[len(v) // 2] if len(v) % 2 else 0.5 * (v[len(v) // 2 - 1] + v[len(v) // 2])
    dev = sorted(abs(x - med) for x in v)
    mad = dev[len(dev) // 2]
    return med, 1.4826 * mad


def _restarts_z(cls: SignalClass, pre: list[float], post: list[float]) -> float:
    """The most a restart counter can say by how many restarts it added after a change:
    Poisson, over at least one a window before. One restart after a configuration push
    (an application that exits to reload it) was "999σ" of harm from a count that went
    0 → 1; a crash loop adds a restart every few minutes. inf for anything but a
    cumulative count of restarts (one that never falls)."""
    if cls.family != "restarts":
        return math.inf
    vals = [v for v in (*pre, *post) if math.isfinite(v)]
    if len(vals) < 2 or any(b < a for a, b in zip(vals, vals[1:], strict=False)):
        return math.inf
    added = max(post) - max(pre)
    before = max(pre) - min(pre)
    return (added - before) / math.sqrt(max(before, 1.0))


VERSION_SHARE_FLOOR = 0.01
"""The least excess of failed calls, as a share of a new version's calls, that counts as
worse than its old pods, however sure the difference: one percent, about what the
fastest SLO burn-rate page needs (14.4 times a 99.9% budget). A canary failing 0.4% of
its calls where the old pods fail none is real, but adds a tenth of a percent to its
service and pages nobody."""


def _z_strength(z: float) -> float:
    return float(min(1.0, math.log1p(max(z - 2.0, 0.0)) / math.log1p(30.0)))


def version_of(labels: dict[str, str]) -> tuple[str, str] | None:
    for k in VERSION_LABELS:
        v = labels.get(k) or labels.get(f"label_{k}")
        if v:
            return k, (_image_tag(v) if k in _IMAGE_LABELS else v)
    return None


def _image_tag(image: str) -> str:
    """`registry/app:v1.4.2@sha256:…` → `v1.4.2`; an image without a tag is its digest
    or its name (still one value per image)."""
    ref, _, digest = image.partition("@")
    name, colon, tag = ref.rpartition(":")
    if colon and "/" not in tag:
        return tag
    return digest or ref


INCIDENT_LEAD_S = 300.0
"""The new pods are compared with the old from this long before the incident's onset (or
from the change, if later): how a release's pods do when the trouble is. A latent defect
that a schedule or a flag wakes twenty minutes after the canary started shows then, and
twenty quiet minutes before it would drown it in a median."""


KENDALL_POINTS = 48
"""At most this many points, evenly spaced, go into `_kendall` (pairs grow as n²)."""


def _kendall(vals: list[float]) -> float:
    """Kendall's tau of `vals` against their order: 1 for a steady climb. A long series
    is read at `KENDALL_POINTS` evenly spaced points: a climb over hours shows at that
    grain, and a 15 s scrape over six hours would be 1,440 points, a million pairs."""
    if len(vals) > KENDALL_POINTS:
        step = (len(vals) - 1) / (KENDALL_POINTS - 1)
        vals = [vals[round(i * step)] for i in range(KENDALL_POINTS)]
    n = len(vals)
    if n < 2:
        return 0.0
    agree = sum(
        (vals[j] > vals[i]) - (vals[j] < vals[i]) for i in range(n) for j in range(i + 1, n)
    )
    return agree / (n * (n - 1) / 2)


@dataclass(slots=True)
class Leak:
    """A change that started a memory leak (`leak_harm`)."""

    strength: float
    """0-1: log2 of how many times the old pods' level the memory reached (2x: 1)."""
    series: Series
    """The series that climbed the furthest."""
    before: float
    """What the service's pods held of that metric in the `BEFORE_S` before the change
    (the `LEAK_HELD_Q` quantile of each series, the median over its series)."""
    after: float
    """Where that series had climbed to at its peak."""
    until: float
    """When it peaked (unix seconds)."""
    climbed: int
    """How many of the service's memory series spanning the climb climbed so."""
    spanned: int


def leak_harm(
    c: Change,
    series: list[Series],
    classify: Callable[[str, dict[str, str]], SignalClass],
    onset: float,
) -> Leak | None:
    """The change started a memory leak at its service, or None.

    Its service's memory (its pods', not its node's) climbed steadily from the change
    towards the onset, for at least `LEAK_MIN_S`, up to `LEAK_FACTOR` times or more what
    the service's pods held in the `BEFORE_S` before it (near the top of what they
    held: `LEAK_HELD_Q`), on at least half of its series that span the climb. Each
    series is read up to its peak: a pod killed for running out of memory starts again
    from low. A fresh pod warming up fills back to the old pods' level and levels off;
    a leak keeps going past it. Without the pods' level before the change (the window
    starts after it) nothing is said. Old pods still serving beside the new ones (a
    canary) count among the series that span the climb and did not climb: a canary's
    footprint is read by comparing versions instead (`_version_harm`)."""
    t = c.ts.timestamp()
    if onset - t < LEAK_MIN_S:
        return None
    mem = []
    for s in series:
        cls = classify(s.name, s.labels)
        if (
            cls.family == "memory"
            and cls.scope != "node"
            and cls.bad_up
            and not outbound(s.name, s.labels, s.query)
        ):
            mem.append(s)
    # what the pods held before it, per metric (a heap and a container's working set
    # are on scales of their own): near the top of each series (`LEAK_HELD_Q`; a heap's
    # sawtooth climbs between collections and must not count as a leak when one of the
    # new pods' teeth tops out just before the onset), the median over its series
    held: dict[str, list[float]] = {}
    for s in mem:
        pre = sorted(
            v
            for ts, v in zip(s.timestamps, s.values, strict=False)
            if t - BEFORE_S <= ts < t and math.isfinite(v)
        )
        if len(pre) >= 3 and (m := pre[min(len(pre) - 1, int(LEAK_HELD_Q * len(pre)))]) > 0:
            held.setdefault(s.name, []).append(m)
    olds = {k: sorted(v)[len(v) // 2] for k, v in held.items()}
    spanned = 0
    hits: list[tuple[float, Series, float, float, float]] = []
    for s in mem:
        old = olds.get(s.name)
        if old is None:
            continue
        pts = [
            (ts, v)
            for ts, v in zip(s.timestamps, s.values, strict=False)
            if t < ts <= onset and math.isfinite(v)
        ]
        if len(pts) < 6 or pts[-1][0] - pts[0][0] < LEAK_MIN_S:
            continue
        spanned += 1
        peak = max(range(len(pts)), key=lambda i: pts[i][1])
        climb = [v for _, v in pts[: peak + 1]]
        if len(climb) < 6 or pts[peak][0] - t < LEAK_MIN_S or _kendall(climb) < LEAK_TAU:
            continue
        top, _ = _robust(climb[-3:])
        if top >= LEAK_FACTOR * old:
            hits.append((top / old, s, old, top, pts[peak][0]))
    if not hits or 2 * len(hits) < spanned:
        return None
    growth, s, old, top, until = max(hits, key=lambda h: h[0])
    return Leak(min(1.0, math.log2(growth)), s, old, top, until, len(hits), spanned)


def attribute(
    changes: list[Change],
    series: list[Series],
    classify: Callable[[str, dict[str, str]], SignalClass],
    onset: float | None = None,
    shortages: list[Shortage] | None = None,
) -> dict[str, ChangeHarm]:
    """For each change, how much worse its service's signals are after it than before.

    Step test per series of the changed service (bad direction only, robust scale
    with a noise floor): the median of the `AFTER_S` after the change against the
    `BEFORE_S` before; not the calls it makes (`families.outbound`), which fail when
    their callee does. Where series carry a version label, the series of the change's
    new version are compared with the other versions' over the same minutes: those
    from the change on, or, given the incident's `onset`, from `INCIDENT_LEAD_S`
    before it if that is later. Given the `shortages` the window shows, a config change
    that cut a capacity its service then ran short of says so (`cut_harm`)."""
    from aisre_cli.investigate.analyzers.metrics import (
        counts_failures,
        failures_z,
        mean_step,
        quantum_floor,
        share_floor,
    )

    by_svc: dict[str, list[Series]] = {}
    for s in series:
        if s.service:
            by_svc.setdefault(s.service, []).append(s)
    out: dict[str, ChangeHarm] = {}
    for c in changes:
        t = c.ts.timestamp()
        best = ChangeHarm(c.id, 0.0)
        for s in by_svc.get(c.service, []):
            cls = classify(s.name, s.labels)
            if cls.family not in HARM_FAMILIES or outbound(s.name, s.labels, s.query):
                # the calls it makes fail or slow down when their callee does, whatever
                # it changed (its new pods against its old ones still compare them)
                continue
            pre = [
                v for ts, v in zip(s.timestamps, s.values, strict=False) if t - BEFORE_S <= ts < t
            ]
            post = [
                v for ts, v in zip(s.timestamps, s.values, strict=False) if t <= ts <= t + AFTER_S
            ]
            if len(pre) < 3 or len(post) < 2:
                continue
            if counts_failures(s, cls):
                # the minutes after it with no sample had no failure (a counter born
                # again at its first failure after the restart): without them, errors
                # from ten minutes later would be all the "after" there is
                post += [0.0] * (_samples_in(pre, s, t) - len(post))
            base, sd = _robust(pre)
            level, _ = _robust(post)
            # the noise floor the detector reads it with (`metrics.share_floor`): one
            # throttled period a minute, a failure share of a fraction of a percent; and
            # of whole numbers (`metrics.quantum_floor`): a pool that held 0 or 1
            # connection before and 0 or 1 after moved by no "10⁸σ"
            scale = max(sd, 0.05 * abs(base), share_floor(cls), quantum_floor(cls, pre, base), 1e-9)
            sign = 1.0 if cls.bad_up else -1.0
            z = (level - base) / scale * sign
            if sign > 0:
                # a few failed calls after it, over none before, are no harm done
                span = min(s.timestamps[-1], t + AFTER_S) - t + mean_step(s)
                z = min(z, failures_z(s, cls, level, base, span))
                z = min(z, _restarts_z(cls, pre, post))
            h = _z_strength(z)
            if h > best.harm:
                best = ChangeHarm(c.id, h, s, base, level, z)
        if onset is not None:
            best.leak_of = leak_harm(c, by_svc.get(c.service, []), classify, onset)
        vh, detail, compared, fams, side = _version_harm(
            c, by_svc.get(c.service, []), classify, onset
        )
        best.version_side_by_side = side
        best.at = t
        best.cut_of = cut_harm(c, shortages or [])
        best.version_harm = vh
        best.version_detail = detail
        best.version_compared = compared
        best.version_by_family = fams
        out[c.id] = best
    return out


def _samples_in(pre: list[float], s: Series, t: float) -> int:
    """How many samples the `AFTER_S` after `t` hold at the series' step before `t`
    (up to its last sample)."""
    ts = [x for x in s.timestamps if t - BEFORE_S <= x < t]
    step = statistics.median(b - a for a, b in itertools.pairwise(ts)) if len(ts) > 1 else 0.0
    if step <= 0:
        return len(pre)
    return int((min(s.timestamps[-1], t + AFTER_S) - t) / step) + 1


def recorded_near(changes: list[Change], service: str, t: float, within_s: float) -> bool:
    """A change of `service` is already on record within `within_s` of `t` (so a change
    read from elsewhere, the cluster's events or the metrics, would repeat it)."""
    return any(c.service == service and abs(c.ts.timestamp() - t) <= within_s for c in changes)


SEEN_AFTER_S = 600.0
"""A version first seen at least this long after its service's first sample (the
window's start) came up inside the window (`versions_seen`)."""


def versions_seen(
    series: list[Series], changes: list[Change], dedupe_s: float = 300.0
) -> list[Change]:
    """Rollouts the metrics show and nothing recorded: a new value of a version label
    (`VERSION_LABELS`; a canary label's `canary` value) whose first sample comes
    `SEEN_AFTER_S` or more after its service's first one, while another value of it
    ran before. It becomes a `deploy` change at that moment unless a change on the
    same service within `dedupe_s` already records it. Teams without a change feed
    still get their canaries compared with the old pods (`attribute`)."""
    start: dict[str, float] = {}
    seen: dict[tuple[str, str, str], float] = {}
    for s in series:
        if not s.service or not s.timestamps:
            continue
        t0 = s.timestamps[0]
        start[s.service] = min(start.get(s.service, t0), t0)
        ver = version_of(s.labels)
        if ver is None:
            continue
        key, value = ver
        if key in CANARY_KEYS and value.lower() not in CANARY_VALUES:
            value = "stable"
        k = (s.service, key, value)
        seen[k] = min(seen.get(k, t0), t0)
    out: list[Change] = []
    for (svc, key, value), t in sorted(seen.items(), key=lambda kv: (kv[1], kv[0])):
        if t - start[svc] < SEEN_AFTER_S:
            continue
        if not any(s2 == svc and k2 == key and t2 < t for (s2, k2, _), t2 in seen.items()):
            continue
        if recorded_near(changes, svc, t, dedupe_s):
            continue
        canary = key in CANARY_KEYS
        out.append(
            Change(
                id=f"seen:{svc}:{key}={value}",
                ts=datetime.fromtimestamp(t, UTC),
                service=svc,
                kind="deploy",
                version=None if canary or key.endswith("hash") else value,
                summary=(
                    f"{'canary' if canary else key + ' ' + value} of {svc} first seen in "
                    "the metrics (no change recorded)"
                ),
                source="metrics",
            )
        )
    return out


CANARY_KEYS = frozenset({"canary", "track"})
CANARY_VALUES = frozenset({"canary", "true", "yes", "1", "preview"})
"""Values of a `canary`/`track` label that mark the new version's pods (the Kubernetes
docs' `track: canary` beside `track: stable`, a boolean `canary` label)."""
APPEAR_S = 300.0
"""A version whose first point is within this long of a change, while another version
ran before it, is the version the change brought."""


def _new_versions(c: Change, first_seen: dict[str, float], t: float) -> set[str] | None:
    """The version-label values that name the change's new version: the version the
    change records; else (the label is a pod-template hash, or the change did not say
    its version) the one version whose pods first appeared at the change while another
    ran before it. None: the labels cannot tell, or the change is a flag's (a flag
    switches running processes over: no pods roll, and a canary that happened to come up
    in the same minutes is another change's)."""
    if c.kind == "flag":
        return None
    if c.version:
        v = c.version
        named = {x for x in first_seen if x == v or x.endswith(v) or v.endswith(x)}
        if named:
            return named
    fresh = {x for x, t0 in first_seen.items() if abs(t0 - t) <= APPEAR_S}
    if len(fresh) == 1 and len(first_seen) >= 2:
        return fresh
    return None


SIDE_BY_SIDE_S = 300.0
"""A rollout that replaced the old pods after serving beside them for less than this is
read as before vs after it, not as new pods against old over the same minutes
(`_replaced`): the incident's minutes then fall on the new pods whatever its cause.
Measured (docs/eval.md): comparing such rollouts differently moved as many cases wrong as
right, so only what the evidence says changes."""
WORST_MIN_POINTS = 10
"""Timestamps after the change where new and old pods both answered, at the least, before
`_worst_pod` judges who is worst."""
WORST_MIN_REL = 0.1
"""The new pods' level must be at least this much (relative) and one noise scale worse
than the old pods' before being worst counts: a steady 2% difference is not harm."""


QUIET_MIN = 3
"""Points each side needs in the minutes before the incident to compare a new version's
pods with its old ones there (`_shared`)."""


def _shared(
    new: list[Series],
    old: list[Series],
    t: float,
    frm: float,
    sign: float,
    scale: float,
    n_med: float,
    o_med: float,
) -> float:
    """0-1: how much of the new pods' getting worse at the incident the old pods got too,
    where the two did alike from the change until `INCIDENT_LEAD_S` before the onset
    (`frm`): a canary as good as its old pods for its first minutes, then worse as the
    incident hit both (its one pod on a node a batch job saturates, say), is worse by
    what only it got, not by all it got. A latent defect the incident woke in the new
    pods alone leaves the old pods flat: nothing is shared. 0 without such a quiet
    stretch (`QUIET_MIN` points on each side)."""

    def within(ss: list[Series]) -> list[float]:
        return [
            v
            for s in ss
            for ts, v in zip(s.timestamps, s.values, strict=False)
            if t <= ts < frm and math.isfinite(v)
        ]

    nq, oq = within(new), within(old)
    if len(nq) < QUIET_MIN or len(oq) < QUIET_MIN:
        return 0.0
    n_q, o_q = statistics.median(nq), statistics.median(oq)
    if (n_q - o_q) * sign > scale:
        return 0.0  # worse already before the incident: nothing to share
    grew, old_grew = (n_med - n_q) * sign, (o_med - o_q) * sign
    if grew <= scale or old_grew <= 0.0:
        return 0.0
    return min(1.0, old_grew / grew)


def _worst_pod(
    new: list[Series], old: list[Series], t: float, sign: float, o_med: float, scale: float
) -> float:
    """0-1: the new version's pods are the worst pods at nearly every moment after the
    change (each moment: the new pods' median against the worst old pod, in the bad
    direction). A canary that burns a third more CPU than its old pods all the time is
    harm beyond doubt even when the pods' own jitter keeps the z of the medians small;
    by chance the new pods are the worst 1 in (old pods + 1) moments at best, so
    strength starts above max(chance, half) and is full at 95%."""

    def at(ss: list[Series]) -> dict[float, list[float]]:
        m: dict[float, list[float]] = {}
        for s in ss:
            for ts, v in zip(s.timestamps, s.values, strict=False):
                if ts >= t and math.isfinite(v):
                    m.setdefault(ts, []).append(v * sign)
        return m

    n_at, o_at = at(new), at(old)
    moments = [ts for ts in n_at if ts in o_at]
    if len(moments) < WORST_MIN_POINTS:
        return 0.0
    n_level = statistics.median(v for ts in moments for v in n_at[ts])
    if n_level - o_med * sign < max(scale, WORST_MIN_REL * abs(o_med)):
        return 0.0
    worst = sum(1 for ts in moments if statistics.median(n_at[ts]) > max(o_at[ts]))
    frac = worst / len(moments)
    pods_old = len(old)
    floor = max(0.5, 1.0 / (pods_old + 1))
    return float(min(1.0, max(0.0, (frac - floor) / (0.95 - floor))))


MEMORY_LEVEL_SHARE = 0.25
"""How far above the old pods' memory a new version's must sit to count as worse: pod to
pod, a service's memory differs by a tenth or more (caches, heap sizing, when each last
collected), and a new version's may well hold more by design. A leak climbs past it."""


def _since(s: Series, frm: float) -> Series:
    """A restart counter left as it is (flat over the window, so not read as a counter) as
    the restarts each pod made from `frm` (or its first sample after it) on: an old pod's
    lifetime count and a new pod's are no comparison, the restarts each made in the same
    minutes are (ones a new pod made before its first sample are not seen)."""
    pts = [(t, v) for t, v in zip(s.timestamps, s.values, strict=False) if t >= frm]
    base = next((v for _, v in pts if math.isfinite(v)), None)
    if base is None:
        return s
    return replace(
        s,
        timestamps=[t for t, _ in pts],
        values=[v - base if math.isfinite(v) else v for _, v in pts],
    )


def _version_harm(
    c: Change,
    series: list[Series],
    classify: Callable[[str, dict[str, str]], SignalClass],
    onset: float | None = None,
) -> tuple[float, str, bool, dict[str, float], bool]:
    """(harm 0-1, what to cite, whether the new pods could be compared at all, harm per
    signal family, whether they were compared side by side and not with old pods the
    rollout replaced: `_replaced`), over the minutes from the change, or from
    `INCIDENT_LEAD_S` before the incident's onset if that is later."""
    # the metrics analyzer imports this module: its query reading comes in here
    from aisre_cli.investigate.analyzers.metrics import RATED_QUERY

    rated = RATED_QUERY.search
    t = c.ts.timestamp()
    frm = t if onset is None else max(t, onset - INCIDENT_LEAD_S)
    labelled: list[tuple[Series, str, str]] = []
    calls: list[tuple[Series, str, str]] = []
    first_seen: dict[str, float] = {}
    shares = _request_shares(series, classify)
    shared = {id(x) for x in shares.values()}
    for s in series:
        ver = version_of(s.labels)
        if ver is None or not s.timestamps or "le" in s.labels:
            continue  # a histogram bucket counts calls (more traffic, more of it): no level
        cls = classify(s.name, s.labels)
        if cls.family not in HARM_FAMILIES:
            calls.append((s, ver[0], ver[1]))  # the old pods' successful calls, say
            continue
        if ver[0] not in CANARY_KEYS:
            first_seen[ver[1]] = min(first_seen.get(ver[1], math.inf), s.timestamps[0])
        if cls.family == "restarts" and cls.shape == "counter" and not rated(s.query):
            s = _since(s, frm)
        labelled.append((shares.get(id(s), s), ver[0], ver[1]))
    new_versions = _new_versions(c, first_seen, t)
    # like with like: the new pods' `status="500"` rate against the old pods' own, not
    # against a mix of every status, route and outcome of the metric
    groups: dict[tuple[str, tuple[tuple[str, str], ...]], dict[bool, list[Series]]] = {}
    old_of: dict[str, list[Series]] = {}
    served: dict[bool, tuple[float, float]] = {}  # when each side reported at all
    for (s, key, value), harmful in [*((x, True) for x in labelled), *((x, False) for x in calls)]:
        if key in CANARY_KEYS:
            is_new = value.lower() in CANARY_VALUES
        elif new_versions is None:
            continue
        else:
            is_new = value in new_versions
        if s.timestamps:
            lo, hi = served.get(is_new, (math.inf, -math.inf))
            served[is_new] = (min(lo, s.timestamps[0]), max(hi, s.timestamps[-1]))
        if not is_new:
            old_of.setdefault(s.name, []).append(s)
        if harmful:
            where = (s.name, _signal_key(s.labels))
            groups.setdefault(where, {}).setdefault(is_new, []).append(s)
    best, best_z, detail, compared = 0.0, -math.inf, "", False
    fams: dict[str, float] = {}
    for (name, sig), g in groups.items():
        if True not in g:
            continue
        cls = classify(name, g[True][0].labels)
        if False not in g and cls.family == "errors" and old_of.get(name):
            # Prometheus makes a series when it first sees its labels: failures only the
            # new pods have (`status="500"`) have no old-pod series; the old pods' rate
            # of them is 0, one reading per old pod
            g = {True: g[True], False: _zeros_per_replica(old_of[name])}
        if False not in g:
            continue
        sign = 1.0 if cls.bad_up else -1.0

        def after(ss: list[Series]) -> list[float]:
            return [
                v
                for s in ss
                for ts, v in zip(s.timestamps, s.values, strict=False)
                if ts >= frm and math.isfinite(v)
            ]

        new, old = after(g[True]), after(g[False])
        if len(new) < 2 or len(old) < 3:
            continue
        compared = True
        n_med, _ = _robust(new)
        o_med, o_sd = _robust(old)
        # a share of calls: SHARE_FLOOR; a bare rate of events: one event in the window
        floor = (
            (SHARE_FLOOR if id(g[True][0]) in shared else 1.0 / AFTER_S)
            if cls.family == "errors" and cls.shape == "counter"
            else 1e-9
        )
        rel = MEMORY_LEVEL_SHARE if cls.family == "memory" else 0.05
        scale = max(o_sd, rel * abs(o_med), floor)
        z = (n_med - o_med) / scale * sign
        h = max(_z_strength(z), _worst_pod(g[True], g[False], frm, sign, o_med, scale))
        h *= 1.0 - _shared(g[True], g[False], t, frm, sign, scale, n_med, o_med)
        if cls.family == "errors" and (
            id(g[True][0]) in shared or cls.shape in ("ratio", "percent")
        ):
            # a share of calls failing, derived or recorded so (`…:ratio_rate5m`, a
            # percent): real, perhaps, but too little to be anyone's incident
            if (n_med - o_med) * sign < VERSION_SHARE_FLOOR * share_whole(cls.shape, n_med, o_med):
                h = 0.0
        if cls.family:
            fams[cls.family] = max(fams.get(cls.family, 0.0), h)
        if cls.family in FOOTPRINT_FAMILIES:
            h *= FOOTPRINT_SHARE
        # the worst comparison is cited, also when it clears the change (all harm 0)
        if h > best or (h == best and z > best_z):
            best, best_z = h, z
            which = f"new version {c.version}" if c.version else "the new version"
            what = name + ("{" + ", ".join(f'{k}="{v}"' for k, v in sig) + "}" if sig else "")
            if id(g[True][0]) in shared:  # a share of each pod's calls, as a percent
                what += " of each pod's calls"
                nv, ov = f"{n_med:.2%}", f"{o_med:.2%}"
            else:
                nv, ov = f"{n_med:.3g}", f"{o_med:.3g}"
            detail = f"{what}: {which} at {nv} vs {ov} on the others"
    side = not (detail and _replaced(served, frm))
    if not side:
        detail = detail.removesuffix(" on the others") + REPLACED_SUFFIX
    return best, detail, compared, fams, side


REPLACED_SUFFIX = " on the old pods, which it replaced (before vs after, not side by side)"


def _replaced(served: dict[bool, tuple[float, float]], frm: float) -> bool:
    """The rollout replaced the old pods: they stopped reporting `SIDE_BY_SIDE_S` or more
    before the new ones did, having served beside them for less than that."""
    if len(served) < 2:
        return False
    (o_lo, o_hi), (n_lo, n_hi) = served[False], served[True]
    return o_hi < n_hi - SIDE_BY_SIDE_S and o_hi - max(frm, o_lo, n_lo) < SIDE_BY_SIDE_S


REPLICA_LABELS = frozenset(
    {"pod", "pod_name", "kubernetes_pod_name", "instance", "container_id", "node", "host"}
)
"""Labels that name one replica of a service (`metrics.POD_KEYS` adds the version)."""
_REPLICA_KEYS = REPLICA_LABELS | {"__name__", "uid"}
_SIGNAL_KEYS = frozenset(
    {*STATUS_LABELS, "le", "quantile", "method", "uri", "route", "http_route", "path", "area", "id"}
)
"""Labels that say which signal of a metric a series is: how its calls ended, which
route, bucket or quantile, which memory pool."""


def _request_shares(
    series: list[Series], classify: Callable[[str, dict[str, str]], SignalClass]
) -> dict[int, Series]:
    """A replica's failed calls as a share of all its calls of that metric: `{status=
    "500"}` over the sum of its every status, point by point (a canary pod that takes a
    third of the traffic fails more calls than an old pod taking a sixth, at the same
    error ratio). By id of the rate series of failed calls; a series with no sibling
    statuses is left out (its total is itself)."""
    totals: dict[tuple[str, tuple[str, ...]], dict[float, float]] = {}
    members: dict[tuple[str, tuple[str, ...]], int] = {}
    rated = [s for s in series if "le" not in s.labels and s.query.startswith("rate(")]
    for s in rated:
        who = (s.name, _replica(s))
        tot = totals.setdefault(who, {})
        members[who] = members.get(who, 0) + 1
        for ts, v in zip(s.timestamps, s.values, strict=False):
            if math.isfinite(v):
                tot[ts] = tot.get(ts, 0.0) + v
    out: dict[int, Series] = {}
    for s in rated:
        who = (s.name, _replica(s))
        if members.get(who, 0) < 2 or classify(s.name, s.labels).family != "errors":
            continue
        tot = totals[who]
        pts = [
            (ts, v / tot[ts])
            for ts, v in zip(s.timestamps, s.values, strict=False)
            if math.isfinite(v) and tot.get(ts, 0.0) > 0
        ]
        out[id(s)] = replace(
            s, timestamps=[t for t, _ in pts], values=[v for _, v in pts], query=s.query
        )
    return out


_REPLICA_ORDER = tuple(sorted(_REPLICA_KEYS))


def _replica(s: Series) -> tuple[str, ...]:
    """Which replica reports `s` (its pod, instance, node… labels)."""
    return tuple(s.labels.get(k, "") for k in _REPLICA_ORDER)


def _zeros_per_replica(old: list[Series]) -> list[Series]:
    """One all-zero series per old replica (its points where it reported)."""
    seen: dict[tuple[str, ...], Series] = {}
    for s in old:
        who = _replica(s)
        if who not in seen:
            seen[who] = replace(s, values=[0.0] * len(s.values))
    return list(seen.values())


def _signal_key(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """The labels that say which signal a series is (its status, route, quantile…),
    without those that say which replica or version reports it."""
    out = []
    for k, v in labels.items():
        bare = k[len("label_") :] if k.startswith("label_") else k
        if k in _REPLICA_KEYS or bare in VERSION_LABELS:
            continue
        if k in _SIGNAL_KEYS:
            out.append((k, v))
    return tuple(sorted(out))
