"""Optional traces: call edges for a missing topology, and span errors/latency by service.

Spans whose parent belongs to another service give a call edge (parent service calls
child service). Per service we compare the error ratio and the median span duration
before and after the reference time.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from aisre_cli.model import Span, Topology


def derive_topology(spans: list[Span]) -> Topology:
    by_id = {(s.trace_id, s.span_id): s for s in spans}
    deps: dict[str, list[str]] = {}
    for s in spans:
        deps.setdefault(s.service, [])
        if not s.parent_id:
            continue
        parent = by_id.get((s.trace_id, s.parent_id))
        if parent is None or parent.service == s.service:
            continue
        lst = deps.setdefault(parent.service, [])
        if s.service not in lst:
            lst.append(s.service)
    return Topology(depends_on=deps)


@dataclass(slots=True)
class TraceFinding:
    service: str
    err_before: float
    err_after: float
    p50_before: float
    p50_after: float
    strength: float
    onset: float
    ref: str


def analyze(spans: list[Span], ref: float) -> list[TraceFinding]:
    by_svc: dict[str, list[Span]] = {}
    for s in spans:
        by_svc.setdefault(s.service, []).append(s)
    out: list[TraceFinding] = []
    for svc, lst in by_svc.items():
        pre = [s for s in lst if s.start < ref]
        post = [s for s in lst if s.start >= ref]
        if len(pre) < 5 or len(post) < 5:
            continue
        eb = sum(s.error for s in pre) / len(pre)
        ea = sum(s.error for s in post) / len(post)
        pb = statistics.median(s.duration_ms for s in pre)
        pa = statistics.median(s.duration_ms for s in post)
        err_jump = max(0.0, ea - eb)
        lat_ratio = pa / pb if pb > 0 else 1.0
        strength = max(min(1.0, err_jump * 3.0), min(1.0, max(0.0, (lat_ratio - 1.5) / 3.0)))
        if strength < 0.2:
            continue
        bad = [s for s in post if s.error] or post
        out.append(
            TraceFinding(
                service=svc,
                err_before=eb,
                err_after=ea,
                p50_before=pb,
                p50_after=pa,
                strength=strength,
                onset=min(s.start for s in bad),
                ref=bad[0].ref,
            )
        )
    return out
