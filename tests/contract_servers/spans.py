"""Trace data the Tempo and Jaeger contract servers serve: plain spans, stored once,
rendered in each backend's wire shape by the server."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any


@dataclass
class StoredSpan:
    trace_id: str  # 32 hex digits
    span_id: str  # 16 hex digits
    parent_id: str | None
    service: str
    name: str
    start_ns: int
    end_ns: int
    error: bool = False
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def duration_ns(self) -> int:
        return self.end_ns - self.start_ns


@dataclass
class StoredTrace:
    trace_id: str
    spans: list[StoredSpan]

    @property
    def start_ns(self) -> int:
        return min(s.start_ns for s in self.spans)

    @property
    def end_ns(self) -> int:
        return max(s.end_ns for s in self.spans)

    @property
    def root(self) -> StoredSpan:
        ids = {s.span_id for s in self.spans}
        return next((s for s in self.spans if s.parent_id not in ids), self.spans[0])


def chain_trace(
    rnd: random.Random,
    t0: float,
    calls: list[tuple[str, str, float, bool]],
    trace_id: str | None = None,
    high_zero: bool = False,
) -> StoredTrace:
    """A call chain: [(service, operation, own ms, error), ...], each calling the next,
    every child starting 1 ms after its parent and the parent ending 1 ms after it.
    `high_zero` gives a 64-bit id (upper half zero), as Jaeger clients produce."""
    tid = trace_id or (
        "0" * 16 + f"{rnd.getrandbits(64):016x}" if high_zero else f"{rnd.getrandbits(128):032x}"
    )
    spans: list[StoredSpan] = []
    total_ms = [0.0] * len(calls)
    acc = 0.0
    for i in range(len(calls) - 1, -1, -1):
        acc += calls[i][2] + (2.0 if i < len(calls) - 1 else 0.0)
        total_ms[i] = acc
    start = t0
    parent: str | None = None
    for i, (svc, op, _own, err) in enumerate(calls):
        sid = f"{rnd.getrandbits(64):016x}"
        start_ns = int(start * 1e9)
        spans.append(
            StoredSpan(tid, sid, parent, svc, op, start_ns, start_ns + int(total_ms[i] * 1e6), err)
        )
        parent = sid
        start += 0.001
    return StoredTrace(tid, spans)
