"""What the tracing backends (Tempo, Jaeger) share: trace-id normalisation, the
sampling plan, and a budget clock.

Why sampling: a busy service records thousands of traces an hour, and a triage has
seconds. Each backend asks for at most `max_traces` traces per service, and spends
them on what helps the engine most (`investigate/analyzers/traces.py`):

1. **error traces** (up to 2/5 of the cap): the deepest failing span is evidence on
   its own;
2. **slow traces** (up to 1/5): traces in which the service's own spans took longer
   than the 90th percentile of its spans in the baseline sample;
3. **a baseline** (the rest): ordinary traces, so self-time before versus after the
   page and within-operation outliers have something to be compared with.

Every search is spread over `SLICES` equal time slices of the window, each with its
share of the quota: a backend answers a search with the most recent traces first, and
a sample taken only from the last minutes would have no "before" to compare with.
Traces are deduplicated by id (one trace often holds several of the wanted services).

Time: the source gets the gather budget as `budget_s`. It starts no new request once
`SOFT` of it is spent and gives every request the `HARD` deadline, so it returns what
it has, with a partial note, before the gather gives up on it.
"""

from __future__ import annotations

import base64
import binascii
import math
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from aisre_cli.errors import SourceError
from aisre_cli.model import SourceNote
from aisre_cli.sources.querylog import QueryStat, record

Kind = Literal["error", "slow", "normal"]
KINDS: tuple[Kind, ...] = ("error", "slow", "normal")
SLICES = 4
"""Each search is spread over this many equal time slices of the window."""
SOFT = 0.6
"""Share of the budget after which no new request is started."""
HARD = 0.85
"""Share of the budget by which every request must be over."""
ERROR_SHARE = 0.4
SLOW_SHARE = 0.2
SLOW_QUANTILE = 0.9
FETCH_WORKERS = 4
"""Traces fetched by id at once (Tempo): bounded so a backend is not flooded."""


def norm_id(raw: str, nbytes: int) -> str:
    """A trace or span id as lowercase hex of `nbytes` bytes (zero-padded).

    Accepts hex of any length up to 2*nbytes (Tempo's search and Jaeger drop leading
    zeros) and base64 of exactly `nbytes` bytes (Tempo's `/api/traces` JSON encodes
    the OTLP bytes fields as base64; hex of the full length is never the same length
    as base64 of the same bytes, so the two cannot be confused). A 64-bit Jaeger trace
    id becomes 32 digits with leading zeros, which Jaeger reads as the same id.
    Anything else is returned lowercased and stripped."""
    s = raw.strip()
    if not s:
        return ""
    hex_len = 2 * nbytes
    if len(s) <= hex_len and all(c in "0123456789abcdefABCDEF" for c in s):
        return s.lower().zfill(hex_len)
    padded = s + "=" * (-len(s) % 4)
    if len(padded) == 4 * math.ceil(nbytes / 3):
        try:
            raw_bytes = base64.b64decode(padded, validate=True)
        except (binascii.Error, ValueError):
            raw_bytes = b""
        if len(raw_bytes) == nbytes:
            return raw_bytes.hex()
    return s.lower()


def trace_key(trace_id: str) -> str:
    """The id used to deduplicate traces: hex without leading zeros."""
    return trace_id.lower().lstrip("0") or "0"


def time_slices(start: datetime, end: datetime, n: int = SLICES) -> list[tuple[float, float]]:
    """[start, end] as `n` equal (unix seconds) slices, fewer for a window under a minute
    per slice."""
    a, b = start.timestamp(), end.timestamp()
    n = max(1, min(n, int((b - a) // 60) or 1))
    return [(a + (b - a) * i / n, a + (b - a) * (i + 1) / n) for i in range(n)]


def quantile(xs: list[float], q: float) -> float:
    s = sorted(xs)
    if not s:
        return 0.0
    return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))]


GATHER_DEADLINE: ContextVar[float | None] = ContextVar("aisre_gather_deadline", default=None)
"""The monotonic time at which the gather stops waiting for sources. The gather sets it
around every source's call (a trace source's tighter still); the source's own budget
(the profile's whole gather budget) is cut to it, so what listing the alerts already
used is not spent twice, `triage --budget` bounds a source built with the profile's
budget, and the partial result arrives before the gather gives up on it."""


@dataclass
class Clock:
    """The source's own budget: `soft` (start nothing new after it) and `hard` (the
    deadline of every request)."""

    budget_s: float
    t0: float = field(default_factory=time.monotonic)

    @classmethod
    def start(cls, budget_s: float) -> Clock:
        """A clock for one call: `budget_s`, or less when the gather ends sooner."""
        t0 = time.monotonic()
        cap = GATHER_DEADLINE.get()
        if cap is not None:
            budget_s = max(0.1, min(budget_s, cap - t0))
        return cls(budget_s, t0)

    @property
    def soft(self) -> float:
        return self.t0 + self.budget_s * SOFT

    @property
    def hard(self) -> float:
        return self.t0 + self.budget_s * HARD

    def spent(self) -> bool:
        return time.monotonic() >= self.soft

    def elapsed(self) -> float:
        return time.monotonic() - self.t0


@dataclass
class Pick:
    trace_id: str
    kind: Kind
    service: str


@dataclass
class Plan:
    """The traces chosen so far: per wanted service, by kind, deduplicated, capped."""

    cap: int
    picks: dict[str, Pick] = field(default_factory=dict)
    counts: dict[tuple[str, Kind], int] = field(default_factory=dict)

    def quota(self, kind: Kind) -> int:
        if kind == "error":
            return max(1, int(self.cap * ERROR_SHARE))
        if kind == "slow":
            return max(1, int(self.cap * SLOW_SHARE))
        return self.cap

    def taken(self, service: str) -> int:
        return sum(n for (s, _), n in self.counts.items() if s == service)

    def room(self, service: str, kind: Kind) -> int:
        """How many more traces of `kind` the service may take."""
        left = self.cap - self.taken(service)
        return max(0, min(left, self.quota(kind) - self.counts.get((service, kind), 0)))

    def seen(self, trace_id: str) -> bool:
        return trace_key(trace_id) in self.picks

    def add(self, service: str, kind: Kind, trace_id: str) -> bool:
        """Take a trace unless it is already taken or the service's room is used up."""
        key = trace_key(trace_id)
        if not key or key in self.picks or self.room(service, kind) <= 0:
            return False
        self.picks[key] = Pick(trace_id, kind, service)
        self.counts[(service, kind)] = self.counts.get((service, kind), 0) + 1
        return True

    def ordered(self) -> list[Pick]:
        """Errors first, then slow traces, then the baseline (each in the order found)."""
        rank = {k: i for i, k in enumerate(KINDS)}
        return sorted(self.picks.values(), key=lambda p: rank[p.kind])

    def summary(self) -> str:
        by_kind = {k: sum(n for (_, kk), n in self.counts.items() if kk == k) for k in KINDS}
        return ", ".join(f"{n} {k}" for k, n in by_kind.items() if n)


def partial(source: str, detail: str) -> SourceNote:
    return SourceNote(source, "partial", detail)


class TraceNotFound(SourceError):
    """The backend holds no trace with that id (404)."""


class TraceUnreadable(SourceError):
    """The backend answered for one trace, but the answer is not a trace this reader
    understands: that trace is skipped, the others are still read."""


def record_search(
    source: str, kind: str, query: str, t0: float, found: int, error: str | None = None
) -> None:
    """One trace search in the query log (`-vv`): what was asked, how long, how many."""
    seconds = time.monotonic() - t0
    record(QueryStat(source, f"search {kind}", query, seconds, found, "traces", error))
