"""Traces as evidence: call edges, and which service's OWN spans got slow or started failing.

Who reads this: the ranker (`TraceFinding` per service, `trace_blame` as a feature) and
triage (`derive_topology` when `topology.yaml` is missing).

Why it is shaped this way:

- **Self-time, not duration.** A caller's span lasts as long as its slowest child, so
  comparing durations blames every service on the path. We compare each span's *self-time*:
  its duration minus the union of its children's intervals, clipped to the span (clock skew
  can make a child outlast its parent). Latency then lands on the deepest span that grew.
- **Client spans belong to the callee.** A span called from its own service whose only
  child is in another service is the caller's client span; its self-time is the wire and
  the callee's queue (a callee starved of CPU or behind a network delay answers late before
  its server span even starts), so it is grouped under the callee, unless the caller's
  calls to several callees all grew (then the caller is the common factor). Roots and
  spans called from another service are server spans and keep their own service.
- **Sampled traces, no clean baseline.** Retention is often only around the incident and
  spans may carry no status. So besides before-versus-after (`ref` splits the spans) we
  compare *within* the traces: each span's log self-time against the same operation's other
  spans (robust z: median/MAD with a noise floor), and each service's share of end-to-end
  (root span) latency in slow versus fast traces of the same root operation.
- **Calls to what leaves no spans.** A database, a cache or an outside API is rarely
  instrumented, so a call to it is only the caller's client span, with no child. Where
  the span names its peer (`peer.service`, `server.address`, `net.peer.name`, Zipkin's
  remote endpoint: `Span.peer`), its self-time and its failures are the peer's, as a
  client span with its callee's server span below it is the callee's.
- **Errors go to the deepest failing span**: an error span none of whose children failed.
- **Requests cut short, for spans with no status.** An exception or an error answer makes
  a request end early: its trace has far fewer spans than the same root operation's usual
  tree, and its last call leads to the service that failed. Where more requests of a root
  operation end that way after `ref` than before, the service they end at gets the excess
  (`truncated`), the way a status would have shown it.

Everything is plain Python over dicts and sorted lists, linear in the number of spans apart
from per-operation sorts: 100k spans take about a second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from aisre_cli.model import Span, Topology

EvidenceKind = Literal["self_time", "errors", "share", "outlier", "truncated"]

MIN_SIDE = 3  # spans per operation needed on each side of `ref` for before-versus-after
MIN_OP = 4  # spans per operation needed for a within-operation comparison
LOG_FLOOR_MS = 1.0  # log(self + 1 ms): sub-millisecond jitter is noise, not a fault
MAD_FLOOR = 0.15  # noise floor on the robust spread of log self-time (about ±15 %)
OUTLIER_Z = 3.0
SHIFT_Z = 1.0  # a post-ref median this many robust spreads above the pre-ref one counts
MIN_STRENGTH = 0.2
SHARE_FLOOR = 0.02  # a service's share of root latency moving less than this is noise
CLEAR_Z = 3.0  # a clear change: median shift of this many spreads ...
CLEAR_OUTLIERS = 0.3  # ... or this share of the spans after ref outlying
CALLER_FANOUT = 3  # clearly grown calls to this many callees blame the caller
CUT_SHARE = 0.6  # a trace with at most this share of its root operation's usual span count
CUT_MIN_TREE = 4  # ... when that usual count is at least this (smaller trees: no signal)
CUT_MIN = 3  # requests cut short beyond the pre-ref rate needed to blame a service
CUT_BASE = 10  # requests of a root operation before ref needed to know its usual tree


def page_ref(onset: float, alert_ts: float) -> float:
    """Where traces split before from after: around the page itself. An onset dated long
    before the alert (a slow ramp, an earlier wobble) would put the incident's own spans in
    the baseline, and retention around an incident is often only minutes, so the split is
    the onset clamped to the five minutes before the alert, less a minute."""
    return min(max(onset, alert_ts - 300.0), alert_ts) - 60.0


SPLIT_MIN = 12
"""Requests needed on each side of a split the spans themselves show (`split_ref`)."""
SPLIT_Z = 4.0
"""How clear that split must be: the shift of mean log end-to-end latency, weighted by
how evenly it splits the requests, in robust spreads of the requests before it (and the
shift of the medians at least SHIFT_Z spreads)."""
SPLIT_LOOKBACK_S = 300.0
"""How far before `page_ref` a split the spans show is searched for ..."""
SPLIT_GAP_S = 120.0
"""... and never across a gap in the spans this long: retention often keeps only the
minutes around incidents, and the spans before such a gap are another incident's."""


def split_ref(spans: list[Span], onset: float, alert_ts: float) -> float:
    """Where traces split before from after: `page_ref`, or earlier where the requests
    themselves show the change began earlier (an alert that fires minutes after its
    cause, with a `for:` clause or a slow evaluation, would put the incident's own spans
    before the split, and the short retention around an incident would leave nothing
    after it). The change is the most likely change point of end-to-end latency (root
    spans, log scale) in the five minutes before `page_ref`, within the stretch of
    requests without a gap (`SPLIT_GAP_S`) that reaches it; it is taken only when clear
    (`SPLIT_Z`)."""
    ref = page_ref(onset, alert_ts)
    roots = sorted(
        (s.start, _lg(s.duration_ms))
        for s in spans
        if not s.parent_id and s.duration_ms > 0 and s.start <= alert_ts
    )
    # the contiguous stretch of requests that reaches the split
    first = 0
    for i in range(1, len(roots)):
        if roots[i][0] >= ref:
            break
        if roots[i][0] - roots[i - 1][0] > SPLIT_GAP_S:
            first = i
    roots = roots[first:]
    lo = ref - SPLIT_LOOKBACK_S
    if len(roots) < 2 * SPLIT_MIN:
        return ref
    ys = [y for _, y in roots]
    n = len(ys)
    csum = [0.0]
    for y in ys:
        csum.append(csum[-1] + y)
    # the most likely change point: the largest shift of the mean, weighted by how
    # evenly it splits the requests (the statistic the metric baseline uses)
    best_k, best = -1, 0.0
    for k in range(SPLIT_MIN, n - SPLIT_MIN + 1):
        if not lo <= roots[k][0] < ref or roots[k][0] == roots[k - 1][0]:
            continue
        pre, post = csum[k] / k, (csum[n] - csum[k]) / (n - k)
        stat = abs(post - pre) * math.sqrt(k * (n - k) / n)
        if stat > best:
            best_k, best = k, stat
    if best_k < 0:
        return ref
    # clear: a shift either way (fast failures shorten requests) of at least SHIFT_Z
    # robust spreads of the requests before it, and SPLIT_Z with the sample size
    b_med, b_sd = _robust(ys[:best_k])
    spread = max(b_sd, MAD_FLOOR)
    shift = abs(_median(ys[best_k:]) - b_med) / spread
    if shift < SHIFT_Z or best / spread < SPLIT_Z:
        return ref
    return roots[best_k][0]


def derive_topology(spans: list[Span]) -> Topology:
    """Call edges from parent links: parent service calls child service.

    Self edges (same service) are ignored; a span whose parent was not kept (sampling,
    a missing file) gives no edge but its service is still listed. A client span that
    names its peer (`Span.peer`) gives the edge to that peer, which has no spans.
    """
    by_id: dict[tuple[str, str], Span] = {}
    for s in spans:
        by_id.setdefault((s.trace_id, s.span_id), s)
    deps: dict[str, set[str]] = {}
    for s in spans:
        if not s.service:
            continue
        deps.setdefault(s.service, set())
        if s.peer and s.peer != s.service:  # a callee that leaves no spans of its own
            deps[s.service].add(s.peer)
            deps.setdefault(s.peer, set())
        if not s.parent_id or s.parent_id == s.span_id:
            continue
        parent = by_id.get((s.trace_id, s.parent_id))
        if parent is None or not parent.service or parent.service == s.service:
            continue
        deps.setdefault(parent.service, set()).add(s.service)
    return Topology(depends_on={k: sorted(v) for k, v in sorted(deps.items())})


@dataclass(slots=True)
class TraceFinding:
    """One service's trace evidence. Durations in ms, shares in 0..1, `onset` unix seconds."""

    service: str
    err_before: float  # share of its spans that are the deepest failure, before / after
    err_after: float
    p50_before: float  # median self-time of the service's spans before / after `ref`
    p50_after: float
    strength: float
    onset: float
    ref: str
    self_p50_before: float = 0.0  # median self-time of the worst operation
    self_p50_after: float = 0.0
    share_before: float = 0.0  # mean share of root-span latency, traces before / after ref
    share_after: float = 0.0
    share_slow: float = 0.0  # mean share in the slowest quarter vs fastest half of traces
    share_fast: float = 0.0
    within_z: float = 0.0  # median robust z of the worst operation's outlying spans
    blame: float = 0.0  # this service's share of the latency/error increase (trace_blame)
    ops: list[str] = field(default_factory=list)  # worst operations, worst first
    evidence_kind: EvidenceKind = "self_time"
    summary: str = ""
    query: str = ""


@dataclass(slots=True)
class _Op:
    """All spans of one operation, grouped under the service that owns their self-time."""

    owner: str
    name: str
    pre: list[int] = field(default_factory=list)
    post: list[int] = field(default_factory=list)


@dataclass(slots=True)
class _Svc:
    lat_shift: float = 0.0  # ms of median self-time growth x post spans (before/after)
    lat_outlier: float = 0.0  # ms above the operation median, outlying post spans
    err_excess: float = 0.0  # deepest error spans after ref beyond the pre-ref rate
    cut_excess: float = 0.0  # requests cut short at it after ref beyond the pre-ref rate
    cut_before: float = 0.0  # share of requests cut short at it, before / after ref
    cut_after: float = 0.0
    cut_op: tuple[str, str] = ("", "")  # the root (service, operation) most belong to
    shift_z: float = 0.0
    out_frac: float = 0.0
    out_z: float = 0.0
    worst: tuple[float, str] = (0.0, "")
    worst_pre: float = 0.0
    worst_post: float = 0.0
    onset: float = math.inf
    ref: str = ""
    ops: dict[str, float] = field(default_factory=dict)


def _median(xs: list[float]) -> float:
    s = sorted(xs)
    n = len(s)
    if n == 0:
        return 0.0
    m = n // 2
    return s[m] if n % 2 else 0.5 * (s[m - 1] + s[m])


def _robust(xs: list[float]) -> tuple[float, float]:
    """Median and MAD-based spread (scaled to a normal sigma), never below MAD_FLOOR."""
    med = _median(xs)
    mad = _median([abs(x - med) for x in xs]) * 1.4826
    return med, max(mad, MAD_FLOOR)


def _lg(ms: float) -> float:
    return math.log(ms + LOG_FLOOR_MS)


def _clip(x: float) -> float:
    return 0.0 if x <= 0.0 else 1.0 if x >= 1.0 else x


class _Spans:
    """Span tree: children, self-time, owner, deepest errors, root per span."""

    def __init__(self, spans: list[Span]) -> None:
        self.spans = spans
        idx: dict[tuple[str, str], int] = {}
        for i, s in enumerate(spans):
            idx.setdefault((s.trace_id, s.span_id), i)
        n = len(spans)
        self.parent: list[int] = [-1] * n
        kids: dict[int, list[int]] = {}
        for i, s in enumerate(spans):
            if not s.parent_id or s.parent_id == s.span_id:
                continue
            p = idx.get((s.trace_id, s.parent_id), -1)
            if p < 0 or p == i:
                continue  # parent not kept: this span heads its own fragment
            self.parent[i] = p
            kids.setdefault(p, []).append(i)
        self.kids = kids
        """Each span's children, for the spans that have any."""
        self.self_ms: list[float] = [max(0.0, s.duration_ms) for s in spans]
        # a client span that leads to no span of another service, and names the service
        # it calls (`Span.peer`: a database, a cache, an outside API that is not
        # instrumented), is that callee's, as a client span with its callee's server span
        # below it is (below)
        self.owner: list[str] = [
            s.peer if s.peer and s.peer != s.service and i not in kids else s.service
            for i, s in enumerate(spans)
        ]
        self.deep_err: list[bool] = [s.error for s in spans]
        for p, ks in kids.items():
            ps = spans[p]
            lo = ps.start
            hi = ps.start + max(0.0, ps.duration_ms) / 1000.0
            # a child starting before its parent (clock skew) is clipped by the running
            # interval, which starts at the parent's start; its end is clipped here
            ivs = sorted(
                (spans[k].start, min(hi, spans[k].start + spans[k].duration_ms / 1000.0))
                for k in ks
            )
            covered = 0.0
            cur_lo, cur_hi = lo, lo
            for a, b in ivs:
                if b <= a:
                    continue
                if a > cur_hi:
                    covered += cur_hi - cur_lo
                    cur_lo, cur_hi = a, b
                elif b > cur_hi:
                    cur_hi = b
            covered += cur_hi - cur_lo
            self.self_ms[p] = max(0.0, ps.duration_ms - covered * 1000.0)
            # a client span: called from inside its own service, its one child is the
            # callee's server span. Its self-time is the wire plus the callee's queue.
            # (A root or a span called from another service is a server span: its own.)
            up = self.parent[p]
            if (
                len(ks) == 1
                and up >= 0
                and spans[up].service == ps.service
                and spans[ks[0]].service not in ("", ps.service)
            ):
                self.owner[p] = spans[ks[0]].service
            elif (
                ps.peer
                and ps.peer != ps.service
                and all(spans[k].service == ps.service for k in ks)
            ):
                self.owner[p] = ps.peer  # its children are the client library's own steps
            if ps.error and any(spans[k].error for k in ks):
                self.deep_err[p] = False  # a child failed first: the error is deeper
        self.root = self._roots(n)

    def failed_at(self, i: int) -> str:
        """Whose failure span `i`'s error status records: its own service's, or the
        peer's for a call to a peer that leaves no spans."""
        s = self.spans[i]
        return s.peer if s.peer and self.owner[i] == s.peer else s.service

    def _roots(self, n: int) -> list[int]:
        root: list[int] = [-1] * n
        for i in range(n):
            path: list[int] = []
            r = i
            while root[r] < 0 and self.parent[r] >= 0 and len(path) <= n:
                path.append(r)
                r = self.parent[r]
            top = root[r] if root[r] >= 0 else r
            for j in path:
                root[j] = top
            root[r] = top
        return root


@dataclass(slots=True)
class _OpStat:
    """What one operation showed after `ref`: median shift and within-operation outliers."""

    op: _Op
    caller: str  # the client span's service when the op is a client span, else ""
    shift_ex: float = 0.0
    shift_z: float = 0.0
    pre_med: float = 0.0
    post_med: float = 0.0
    out_ex: float = 0.0
    out_frac: float = 0.0
    out_z: float = 0.0
    first: int = -1  # earliest span that showed the change


def _op_stat(op: _Op, caller: str, spans: list[Span], sm: list[float], lg: list[float]) -> _OpStat:
    st = _OpStat(op, caller)
    post_ms = [sm[i] for i in op.post]
    st.post_med = _median(post_ms)
    if len(op.pre) >= MIN_SIDE and len(op.post) >= MIN_SIDE:
        med, spread = _robust([lg[i] for i in op.pre])
        st.shift_z = (_median([lg[i] for i in op.post]) - med) / spread
        st.pre_med = _median([sm[i] for i in op.pre])
        grow = st.post_med - st.pre_med
        if st.shift_z >= SHIFT_Z and grow > 0:
            st.shift_ex = grow * len(op.post)
            late = [i for i in op.post if lg[i] >= med + SHIFT_Z * spread] or op.post
            st.first = min(late, key=lambda i: spans[i].start)
    every = op.pre + op.post
    if len(every) >= MIN_OP:
        med, spread = _robust([lg[i] for i in every])
        typical = math.exp(med) - LOG_FLOOR_MS
        out = [i for i in op.post if (lg[i] - med) / spread > OUTLIER_Z]
        if out:
            st.out_ex = sum(sm[i] - typical for i in out)
            st.out_frac = len(out) / len(op.post)
            st.out_z = _median([(lg[i] - med) / spread for i in out]) if len(out) >= 2 else 0.0
            if not st.pre_med:
                st.pre_med = typical
            first = min(out, key=lambda i: spans[i].start)
            if st.first < 0 or spans[first].start < spans[st.first].start:
                st.first = first
    return st


def _clear(st: _OpStat) -> bool:
    """The operation changed beyond doubt: a large median shift or many outliers."""
    return (st.shift_ex > 0 and st.shift_z >= CLEAR_Z) or st.out_frac >= CLEAR_OUTLIERS


_Result = tuple[dict[str, "_Svc"], dict[str, float], "_Spans", dict[str, "_Share"]]
_Share = tuple[float, float, float, float]


def _analyze(spans: list[Span], ref: float) -> _Result:
    tree = _Spans(spans)
    ops: dict[tuple[str, str, str], _Op] = {}
    for i, s in enumerate(spans):
        if not s.service:
            continue
        owner = tree.owner[i]
        key = (owner, s.service, s.name)
        op = ops.get(key)
        if op is None:
            op = ops[key] = _Op(owner, s.name if owner == s.service else f"{s.service}→{s.name}")
        (op.pre if s.start < ref else op.post).append(i)

    sm = tree.self_ms
    lg = [math.log(x + LOG_FLOOR_MS) for x in sm]
    stats = [
        _op_stat(op, svc if op.owner != svc else "", spans, sm, lg)
        for (_, svc, _), op in ops.items()
        if op.post
    ]

    # A client span's self-time is the wire plus the callee's queue: it grows when the
    # callee is slow to answer, so it is the callee's by default. Only when one caller's
    # calls to several callees all grew clearly is the caller the common factor (a starved
    # caller reads every answer late); then the edges are shared by that count.
    clear: dict[str, set[str]] = {}
    into: dict[str, set[str]] = {}
    for st in stats:
        if st.caller and _clear(st):
            clear.setdefault(st.caller, set()).add(st.op.owner)
            into.setdefault(st.op.owner, set()).add(st.caller)

    svcs: dict[str, _Svc] = {}
    for st in stats:
        split = [(st.op.owner, 1.0)]
        fan_out = len(clear.get(st.caller, ())) if st.caller else 0
        if fan_out >= CALLER_FANOUT:
            f = len(into.get(st.op.owner, ())) / (len(into.get(st.op.owner, ())) + fan_out)
            split = [(st.op.owner, f), (st.caller, 1.0 - f)]
        for svc, f in split:
            sv = svcs.setdefault(svc, _Svc())
            if f <= 0:
                continue
            sv.lat_shift += f * st.shift_ex
            sv.lat_outlier += f * st.out_ex
            if st.shift_ex + st.out_ex <= 0:
                continue
            sv.ops[st.op.name] = sv.ops.get(st.op.name, 0.0) + f * (st.shift_ex + st.out_ex)
            if st.shift_ex > 0 and st.shift_z > sv.shift_z:
                sv.shift_z = st.shift_z
            if st.out_z > 0 and st.out_frac > sv.out_frac:
                sv.out_frac, sv.out_z = st.out_frac, st.out_z
            if st.shift_z > sv.worst[0] or not sv.worst[1]:
                sv.worst = (max(st.shift_z, 0.0), st.op.name)
                sv.worst_pre, sv.worst_post = st.pre_med, st.post_med
            if st.first >= 0 and spans[st.first].start < sv.onset:
                sv.onset, sv.ref = spans[st.first].start, spans[st.first].ref

    # errors: deepest failing spans, by the service that emitted them (a call to a peer
    # that leaves no spans: by that peer, whose failure the caller's client span records)
    err_pre: dict[str, list[int]] = {}
    err_post: dict[str, list[int]] = {}
    first_err: dict[str, int] = {}
    for i, s in enumerate(spans):
        if not s.service:
            continue
        who = tree.failed_at(i)
        side = err_pre if s.start < ref else err_post
        cnt = side.setdefault(who, [0, 0])
        cnt[0] += 1
        if s.error and tree.deep_err[i]:
            cnt[1] += 1
            if s.start >= ref and (who not in first_err or s.start < spans[first_err[who]].start):
                first_err[who] = i
    for svc, (n_post, e_post) in err_post.items():
        n_pre, e_pre = err_pre.get(svc, [0, 0])
        rate_pre = e_pre / n_pre if n_pre else 0.0
        excess = e_post - rate_pre * n_post
        if excess > 0 and e_post >= 2:
            sv = svcs.setdefault(svc, _Svc())
            sv.err_excess = excess
            first = first_err[svc]
            if spans[first].start < sv.onset or not sv.ref:
                sv.onset, sv.ref = spans[first].start, spans[first].ref

    for svc, (excess, before, after, head, root_op) in _cut_short(spans, tree, ref).items():
        sv = svcs.setdefault(svc, _Svc())
        sv.cut_excess, sv.cut_before, sv.cut_after, sv.cut_op = excess, before, after, root_op
        if spans[head].start < sv.onset or not sv.ref:
            sv.onset, sv.ref = spans[head].start, spans[head].ref

    shares, per_trace_ms, mean_root = _shares(spans, tree, ref)
    # share of end-to-end latency that moved to the service: after vs before (when there
    # are traces before) plus slow vs fast traces of the same root operation
    moved: dict[str, float] = {}
    for svc, (mb, ma, slow, fast) in per_trace_ms.items():
        x = (max(0.0, ma - mb) if mb > 0 else 0.0) + max(0.0, slow - fast)
        if x > SHARE_FLOOR * mean_root:
            moved[svc] = x
    post_total = sum(sm[i] for i, s in enumerate(spans) if s.start >= ref)
    blame = _blame(svcs, post_total, moved)
    return svcs, blame, tree, shares


def _blame(
    svcs: dict[str, _Svc], post_total_ms: float, moved: dict[str, float]
) -> dict[str, float]:
    """Each service's share of the latency and error increase, summing to at most 1."""
    parts: list[tuple[dict[str, float], float]] = []
    shift = {s: v.lat_shift for s, v in svcs.items() if v.lat_shift > 0}
    outl = {s: v.lat_outlier for s, v in svcs.items() if v.lat_outlier > 0}
    for vals in (shift, outl):
        tot = sum(vals.values())
        if tot > 0:
            # a few ms above typical in a second of spans is not an incident
            conf = _clip(tot / (0.1 * post_total_ms)) if post_total_ms > 0 else 1.0
            parts.append(({s: x / tot for s, x in vals.items()}, conf))
    if moved and parts:
        # slow traces always differ from fast ones somewhere: this only says where an
        # increase that the self-times show went, so it is as sure as they are
        tot = sum(moved.values())
        parts.append(({s: x / tot for s, x in moved.items()}, max(c for _, c in parts)))
    errs = {s: v.err_excess + v.cut_excess for s, v in svcs.items()}
    errs = {s: x for s, x in errs.items() if x > 0}
    etot = sum(errs.values())
    if etot > 0:
        parts.append(({s: x / etot for s, x in errs.items()}, 1.0))
    out: dict[str, float] = {}
    for shares, conf in parts:
        for s, x in shares.items():
            out[s] = out.get(s, 0.0) + x * conf / len(parts)
    return out


def _cut_short(
    spans: list[Span], tree: _Spans, ref: float
) -> dict[str, tuple[float, float, float, int, tuple[str, str]]]:
    """Requests that end early, by the service they end at: per service, (excess after
    ref over the pre-ref rate, share before, share after, first such root after ref,
    root operation).

    A request is cut short when its trace has at most `CUT_SHARE` of its root
    operation's median span count before ref. It ends at its last call (the
    latest-starting child), followed down while that call's own subtree is cut short
    too (measured the same way against its operation): the service the followed call
    leads to raised the failure; a root that called nothing failed by itself. Only root
    operations with `CUT_BASE` requests before ref (fewer say little about a usual tree:
    request shapes vary) and a usual tree of `CUT_MIN_TREE` spans count."""
    n = len(spans)
    kids = tree.kids
    order = [i for i in range(n) if tree.parent[i] < 0]  # breadth-first from the heads
    for i in order:  # (the list grows as it is walked)
        order.extend(kids.get(i, ()))
    sub = [1] * n  # spans in each subtree, summed children first
    for i in reversed(order):
        if tree.parent[i] >= 0:
            sub[tree.parent[i]] += sub[i]
    pre_sizes: dict[tuple[str, str], list[float]] = {}
    for i, sp in enumerate(spans):
        if sp.start < ref:
            pre_sizes.setdefault((sp.service, sp.name), []).append(float(sub[i]))
    usual = {k: _median(v) for k, v in pre_sizes.items() if len(v) >= MIN_OP}

    def cut(i: int) -> bool:
        u = usual.get((spans[i].service, spans[i].name), 0.0)
        return u >= 2 and sub[i] <= CUT_SHARE * u

    def ends_at(r: int) -> str:
        node, steps = r, 0
        while node in kids and steps <= n:  # (a tree from a head: no cycle to follow)
            steps += 1
            c = max(kids[node], key=lambda k: (spans[k].start, k))
            if cut(c):
                node = c
                continue
            if spans[c].service != spans[node].service:
                return spans[c].service
            # a client span: the callee it leads to; an own step: the service itself
            nxt = [k for k in kids.get(c, []) if spans[k].service != spans[c].service]
            if not nxt and spans[c].peer and tree.owner[c] == spans[c].peer:
                return spans[c].peer  # a call to a peer that leaves no spans
            return spans[nxt[0]].service if nxt else spans[c].service
        return spans[node].service

    by_op: dict[tuple[str, str], list[int]] = {}
    for r in range(n):
        if tree.parent[r] < 0 and not spans[r].parent_id and spans[r].service:
            by_op.setdefault((spans[r].service, spans[r].name), []).append(r)
    acc: dict[str, list[float]] = {}  # excess, cut before, cut after, roots before, after
    first: dict[str, int] = {}
    ops: dict[str, dict[tuple[str, str], float]] = {}
    for key, roots in by_op.items():
        pre = [r for r in roots if spans[r].start < ref]
        post = [r for r in roots if spans[r].start >= ref]
        if len(pre) < CUT_BASE or not post:
            continue
        u = _median([float(sub[r]) for r in pre])
        if u < CUT_MIN_TREE:
            continue
        cut_pre: dict[str, int] = {}
        cut_post: dict[str, list[int]] = {}
        for r in pre:
            if sub[r] <= CUT_SHARE * u:
                w = ends_at(r)
                cut_pre[w] = cut_pre.get(w, 0) + 1
        for r in post:
            if sub[r] <= CUT_SHARE * u:
                cut_post.setdefault(ends_at(r), []).append(r)
        for w in set(cut_pre) | set(cut_post):
            got = cut_post.get(w, [])
            a = acc.setdefault(w, [0.0, 0.0, 0.0, 0.0, 0.0])
            a[0] += len(got) - cut_pre.get(w, 0) / len(pre) * len(post)
            a[1] += cut_pre.get(w, 0)
            a[2] += len(got)
            a[3] += len(pre)
            a[4] += len(post)
            if got:
                f = min(got, key=lambda r: spans[r].start)
                if w not in first or spans[f].start < spans[first[w]].start:
                    first[w] = f
                ops.setdefault(w, {})[key] = ops.get(w, {}).get(key, 0.0) + len(got)
    out: dict[str, tuple[float, float, float, int, tuple[str, str]]] = {}
    for w, (excess, cb, ca, nb, na) in acc.items():
        if excess >= CUT_MIN and w in first:
            op = max(ops[w].items(), key=lambda kv: (kv[1], kv[0]))[0]
            out[w] = (excess, cb / nb, ca / na, first[w], op)
    return out


def self_times(spans: list[Span]) -> list[float]:
    """Each span's self-time in ms: its duration minus the union of its children's
    intervals clipped to the span (so a skewed child never makes it negative)."""
    return list(_Spans(spans).self_ms)


def trace_blame(spans: list[Span], ref: float) -> dict[str, float]:
    """Per service, the share (0..1, summing to ≤ 1) of the latency/error increase after
    `ref` that its own spans account for: a ranking feature, 0 for services not blamed."""
    return _analyze(spans, ref)[1] if spans else {}


def _shares(
    spans: list[Span], tree: _Spans, ref: float
) -> tuple[dict[str, _Share], dict[str, _Share], float]:
    """Per service, over traces before/after ref and over slow/fast traces of the same root
    operation: the mean share of root latency, the mean self-time per trace (ms); and the
    mean root duration."""
    per_root: dict[int, dict[str, float]] = {}
    for i in range(len(spans)):
        r = tree.root[i]
        d = per_root.setdefault(r, {})
        d[tree.owner[i]] = d.get(tree.owner[i], 0.0) + tree.self_ms[i]
    by_op: dict[tuple[str, str], list[int]] = {}
    for r in per_root:
        if spans[r].duration_ms > 0:
            by_op.setdefault((spans[r].service, spans[r].name), []).append(r)
    acc: dict[str, list[float]] = {}  # summed share: before, after, slow, fast
    acc_ms: dict[str, list[float]] = {}
    n_slot = [0, 0, 0, 0]

    def add(r: int, svc_share: dict[str, float], slot: int) -> None:
        n_slot[slot] += 1
        for svc, x in svc_share.items():
            acc.setdefault(svc, [0.0] * 4)[slot] += x
            acc_ms.setdefault(svc, [0.0] * 4)[slot] += per_root[r][svc]

    for roots in by_op.values():
        roots.sort(key=lambda r: spans[r].duration_ms)
        n = len(roots)
        for k, r in enumerate(roots):
            tot = sum(per_root[r].values()) or 1.0
            share = {svc: x / tot for svc, x in per_root[r].items()}
            add(r, share, 0 if spans[r].start < ref else 1)
            if n >= 4 and k >= n - max(1, n // 4):
                add(r, share, 2)
            elif n >= 4 and k < n // 2:
                add(r, share, 3)

    def means(a: list[float]) -> _Share:
        m = [a[j] / n_slot[j] if n_slot[j] else 0.0 for j in range(4)]
        return (m[0], m[1], m[2], m[3])

    n_roots = sum(len(v) for v in by_op.values())
    mean_root = sum(spans[r].duration_ms for v in by_op.values() for r in v) / max(1, n_roots)
    return (
        {svc: means(a) for svc, a in acc.items()},
        {svc: means(a) for svc, a in acc_ms.items()},
        mean_root,
    )


def analyze(spans: list[Span], ref: float) -> list[TraceFinding]:
    """Trace findings per service, strongest first; `ref` splits before from after."""
    if not spans:
        return []
    svcs, blame, tree, shares = _analyze(spans, ref)
    pre_ms: dict[str, list[float]] = {}
    post_ms: dict[str, list[float]] = {}
    counts: dict[str, list[int]] = {}  # spans and deepest errors, before and after
    heaviest: dict[str, int] = {}
    """Per service, its span with the most self-time after `ref`: what a finding with no
    span of its own to point at (a share of latency that moved) cites."""
    for i, s in enumerate(spans):
        (pre_ms if s.start < ref else post_ms).setdefault(tree.owner[i], []).append(tree.self_ms[i])
        if s.start >= ref and s.ref:
            h = heaviest.get(tree.owner[i])
            if h is None or tree.self_ms[i] > tree.self_ms[h]:
                heaviest[tree.owner[i]] = i
        c = counts.setdefault(tree.failed_at(i), [0, 0, 0, 0])
        j = 0 if s.start < ref else 2
        c[j] += 1
        c[j + 1] += 1 if s.error and tree.deep_err[i] else 0
    top_blame = max(blame.values(), default=0.0)
    out: list[TraceFinding] = []
    for svc, v in svcs.items():
        sb, sa, slow, fast = shares.get(svc, (0.0, 0.0, 0.0, 0.0))
        c = counts.get(svc, [0, 0, 0, 0])
        eb = c[1] / c[0] if c[0] else 0.0
        ea = c[3] / c[2] if c[2] else 0.0
        kinds: dict[EvidenceKind, float] = {
            "self_time": _clip((v.shift_z - 1.5) / 3.0),
            "outlier": _clip((v.out_frac - 0.02) / 0.25) * _clip((v.out_z - 1.0) / 3.0),
            "errors": _clip((ea - eb) * 3.0) if v.err_excess > 0 else 0.0,
            "truncated": _clip((v.cut_after - v.cut_before) * 2.5) if v.cut_excess > 0 else 0.0,
            "share": 0.8 * _clip(max(slow - fast, sa - sb if sb > 0 else 0.0) / 0.4 - 0.1),
        }
        # a share that moved without any self-time increase behind it is only a hint
        kinds["share"] *= _clip(2.0 * sum(blame.values()))
        kind = max(kinds, key=lambda k: kinds[k])
        raw = kinds[kind]
        b = blame.get(svc, 0.0)
        # a service owning little of the increase is a bystander, whatever its own numbers
        dominance = b / top_blame if top_blame > 0 else 0.0
        strength = raw * (0.3 + 0.7 * dominance)
        if strength < MIN_STRENGTH:
            continue
        ops = [k for k, _ in sorted(v.ops.items(), key=lambda kv: -kv[1])[:3]]
        op = v.cut_op[1] if kind == "truncated" else v.worst[1] or (ops[0] if ops else "")
        where = v.cut_op[0] if kind == "truncated" else svc  # the requests that end early
        query = f"spans where service={where}" + (f" and name={op}" if op else "")
        summary = _summary(svc, kind, v, eb, ea, sb, sa, slow, fast, b, op)
        out.append(
            TraceFinding(
                service=svc,
                err_before=eb,
                err_after=ea,
                p50_before=_median(pre_ms.get(svc, [])),
                p50_after=_median(post_ms.get(svc, [])),
                strength=round(strength, 4),
                onset=v.onset if math.isfinite(v.onset) else ref,
                ref=v.ref or (spans[heaviest[svc]].ref if svc in heaviest else ""),
                self_p50_before=v.worst_pre,
                self_p50_after=v.worst_post,
                share_before=sb,
                share_after=sa,
                share_slow=slow,
                share_fast=fast,
                within_z=v.out_z,
                blame=round(b, 4),
                ops=ops,
                evidence_kind=kind,
                summary=summary,
                query=query,
            )
        )
    out.sort(key=lambda f: (-f.strength, f.service))
    return out


def _summary(
    svc: str,
    kind: EvidenceKind,
    v: _Svc,
    eb: float,
    ea: float,
    sb: float,
    sa: float,
    slow: float,
    fast: float,
    blame: float,
    op: str,
) -> str:
    what = f"{svc} {op}" if op else svc
    if kind == "errors":
        head = f"deepest error spans of {svc}: {eb:.0%} → {ea:.0%}"
    elif kind == "truncated":
        head = (
            f"{v.cut_before:.0%} → {v.cut_after:.0%} of {op} requests end early, right after"
            f" their call reaching {svc} (how a failure looks when spans carry no status)"
        )
    elif kind == "self_time":
        head = f"self-time of {what}: median {v.worst_pre:.1f} → {v.worst_post:.1f} ms"
    elif kind == "outlier":
        head = (
            f"{v.out_frac:.0%} of {what} spans after onset are outliers in self-time "
            f"(robust z {v.out_z:.1f} against the same operation)"
        )
    else:
        head = (
            f"{svc} share of end-to-end latency: {fast:.0%} in fast traces → {slow:.0%} in "
            f"slow ones ({sb:.0%} → {sa:.0%} before/after)"
        )
    return f"{head}; trace blame {blame:.0%}"
