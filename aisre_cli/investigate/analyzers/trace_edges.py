"""Network time on call edges: where a network fault shows in traces.

A call from service A to service B leaves a client span in A whose child is B's
server span. The client span's duration minus the server span's is time spent
between the two: on the wire, in proxies, in queues. A network fault at B (delay,
loss and retransmits, a saturated link) grows that gap on every edge that touches
B, while B's own server spans stay as fast as before, and so does the work done
inside A. Metrics often cannot see this (a pod's own latency does not move), so
this is the trace signal for the `network` kind.

Per edge (caller, callee) we compare the gap after the reference time with before
it (robust median/MAD with a noise floor). Sampled traces often keep little before
the incident: then the gap after is compared with every gap of the edge, which
still finds an edge that went slow in the incident's minutes. A grown edge blames
its callee fully and its caller by half (the fault sits at whichever end is shared
by the grown edges), and the blame is normalised across services.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from aisre_cli.model import Series, Span

MIN_AFTER = 2
MIN_BEFORE = 5
Z_EDGE = 2.0
FLOOR_MS = 0.2
"""Gaps under a fifth of a millisecond are serialisation noise."""


@dataclass(slots=True)
class EdgeFinding:
    caller: str
    callee: str
    before_ms: float
    after_ms: float
    z: float
    n_after: int
    onset: float
    ref: str
    series: Series | None = None
    """Read from a client-side latency series (`metric_edges`) rather than from spans."""


def _median(v: list[float]) -> float:
    s = sorted(v)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def edge_gaps(spans: list[Span], ref: float) -> list[EdgeFinding]:
    """Edges whose network gap grew after `ref` (unix seconds)."""
    by_id = {(s.trace_id, s.span_id): s for s in spans}
    gaps: dict[tuple[str, str], list[tuple[float, float, str]]] = {}
    for s in spans:
        if not s.parent_id:
            continue
        p = by_id.get((s.trace_id, s.parent_id))
        if p is None or p.service == s.service:
            continue
        gap = p.duration_ms - s.duration_ms
        if not math.isfinite(gap):
            continue
        gaps.setdefault((p.service, s.service), []).append((s.start, max(gap, 0.0), s.ref))
    out: list[EdgeFinding] = []
    for (caller, callee), lst in gaps.items():
        after = [g for t, g, _ in lst if t >= ref]
        if len(after) < MIN_AFTER:
            continue
        before = [g for t, g, _ in lst if t < ref]
        base = before if len(before) >= MIN_BEFORE else [g for _, g, _ in lst]
        med = _median(base)
        mad = 1.4826 * _median([abs(g - med) for g in base])
        scale = max(mad, FLOOR_MS, 0.05 * abs(med))
        level = _median(after)
        z = (level - med) / scale
        if z < Z_EDGE:
            continue
        slow = [(t, r) for t, g, r in lst if t >= ref and g > med + Z_EDGE * scale]
        first = min(slow) if slow else min((t, r) for t, _, r in lst if t >= ref)
        out.append(EdgeFinding(caller, callee, med, level, z, len(after), first[0], first[1]))
    return out


def edge_strength(z: float) -> float:
    return float(min(1.0, math.log1p(max(z - Z_EDGE, 0.0)) / math.log1p(50.0)))


def network_blame(edges: list[EdgeFinding]) -> dict[str, float]:
    """Per service, how strongly the grown network time points at it (0-1): each grown
    edge blames its callee fully and its caller by half, in absolute strength (a
    faint edge blames faintly however alone it is), then shared out where several
    services are blamed.

    A caller whose calls to several callees all grew is their shared end: its own
    side of the wire, or a process too busy to send and read on time (a CPU starved
    that no series of its own shows). Each of its n grown edges blames its callee by
    1/n, as one of n alternatives to that shared cause; the caller's half of each still
    adds up. Several callers' calls to one callee growing blame the callee fully from
    each, as before."""
    raw: dict[str, float] = {}
    fan: dict[str, int] = {}
    for e in edges:
        if edge_strength(e.z) > 0:
            fan[e.caller] = fan.get(e.caller, 0) + 1
    for e in edges:
        w = edge_strength(e.z)
        raw[e.callee] = raw.get(e.callee, 0.0) + w / max(1, fan.get(e.caller, 1))
        raw[e.caller] = raw.get(e.caller, 0.0) + 0.5 * w
    total = sum(raw.values())
    if total <= 0:
        return {}
    top = max(raw.values())
    return {s: min(1.0, top) * v / total for s, v in raw.items()}
