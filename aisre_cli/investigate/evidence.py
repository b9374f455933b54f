"""Candidates and the evidence they cite: the vocabulary shared by the proposers.

A proposer (`investigate/proposers/`) turns what the analyzers found at one service
into `Candidate`s; each candidate cites `_Ev` evidence built here, so that the same
finding reads the same way (and gets the same id) wherever it is cited.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aisre_cli.investigate.analyzers.changes import ChangeFinding, ChangeHarm
from aisre_cli.investigate.analyzers.dependency import DependencyFinding
from aisre_cli.investigate.analyzers.events import EventFinding
from aisre_cli.investigate.analyzers.events import excerpt as event_excerpt
from aisre_cli.investigate.analyzers.logs import LogFinding, LogStats
from aisre_cli.investigate.analyzers.metrics import Z_ANOMALY, Z_ONSET, MetricFinding, median
from aisre_cli.investigate.analyzers.trace_edges import EdgeFinding
from aisre_cli.investigate.analyzers.traces import TraceFinding
from aisre_cli.model import Context, Evidence, EvidenceKind, HypothesisKind, Series
from aisre_cli.sources.promql import scope_query


@dataclass
class _Ev:
    """Evidence before ids are assigned (ids follow citation order)."""

    key: str
    ev: Evidence


@dataclass
class Candidate:
    service: str
    kind: HypothesisKind
    subject: str | None
    statement: str
    features: dict[str, float]
    evidence: list[_Ev]
    score: float = 0.0
    prob: float = 0.0
    waits_on: list[str] = field(default_factory=list)
    """For an `unknown` at a service whose calls out slowed (`fallback.waits_on_callees`):
    the services it calls, one of which (or the way to it) it waits on. Not scored."""


@dataclass
class Findings:
    metrics: list[MetricFinding]
    logs: LogStats
    changes: list[ChangeFinding]
    dead: dict[str, DependencyFinding]
    traces: list[TraceFinding]
    certs: list[MetricFinding]
    harm: dict[str, ChangeHarm] = field(default_factory=dict)
    """change id → evidence that the change hurt (`analyzers.changes.attribute`)."""
    edges: list[EdgeFinding] = field(default_factory=list)
    """call edges whose network time grew (`analyzers.trace_edges`)."""
    events: list[EventFinding] = field(default_factory=list)
    """cluster events by service and meaning (`analyzers.events`)."""
    memory: dict[tuple[str, str], float] = field(default_factory=dict)
    memory_evidence: list[Evidence] = field(default_factory=list)
    known_issue: bool = False
    """Memory matched a past incident unambiguously (it may then add a hypothesis)."""
    observed: dict[str, set[str]] = field(default_factory=dict)
    """service → the signal families it has series for, moved or not: what we could
    have seen (a flat request rate at a caller is evidence, its absence is none)."""
    probed: set[str] = field(default_factory=set)
    """Services whose every series is a probe of them (`dependency.probed_only`):
    measured only from outside."""
    served: set[str] = field(default_factory=set)
    """Services with a series that says it counts the calls they serve (a mesh proxy's
    `direction="inbound"`: `metric_edges.is_server_side`): workloads of their own."""
    stores: dict[str, set[str]] = field(default_factory=dict)
    """service → the store technologies it is, by the series it exports
    (`analyzers.dependency.store_kinds`)."""
    aliases: dict[str, str] = field(default_factory=dict)
    """host → the known service the data ties it to (`dependency.host_aliases`,
    `metric_edges.callee_aliases`): an outside API known by its host."""
    spanned: set[str] = field(default_factory=set)
    """Services with spans of their own after the traces' split: where the traces can
    say how much of a latency increase sits in the service itself."""
    volumes: dict[str, dict[str, float]] = field(default_factory=dict)
    """service → {request metric: requests served per step before the incident}
    (`dependency.volumes`), read for the dependencies found down only."""


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _hm(ts: float) -> str:
    return _dt(ts).strftime("%H:%M:%S")


def _gap(seconds: float) -> str:
    s = abs(seconds)
    if s < 90:
        txt = f"{s:.0f}s"
    elif s < 5400:
        txt = f"{s / 60:.0f} min"
    else:
        txt = f"{s / 3600:.1f} h"
    return txt


_SI = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))

_DEC_BYTES = ("B", "kB", "MB", "GB", "TB", "PB")
_BIN_BYTES = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
_BITS = ("bit", "kbit", "Mbit", "Gbit", "Tbit")
_BPS = ("bps", "kbps", "Mbps", "Gbps", "Tbps")
_UNITS: dict[str, tuple[tuple[str, ...], int, float]] = {
    # name token → (the unit's ladder, the rung the series is in, the ladder's step)
    "bytes": (_DEC_BYTES, 0, 1e3),
    "kilobytes": (_DEC_BYTES, 1, 1e3),
    "kb": (_DEC_BYTES, 1, 1e3),
    "megabytes": (_DEC_BYTES, 2, 1e3),
    "mb": (_DEC_BYTES, 2, 1e3),
    "gigabytes": (_DEC_BYTES, 3, 1e3),
    "gb": (_DEC_BYTES, 3, 1e3),
    "kibibytes": (_BIN_BYTES, 1, 1024.0),
    "mebibytes": (_BIN_BYTES, 2, 1024.0),
    "gibibytes": (_BIN_BYTES, 3, 1024.0),
    "bits": (_BITS, 0, 1e3),
    "kbits": (_BITS, 1, 1e3),
    "mbits": (_BITS, 2, 1e3),
    "gbits": (_BITS, 3, 1e3),
    "bps": (_BPS, 0, 1e3),
    "kbps": (_BPS, 1, 1e3),
    "mbps": (_BPS, 2, 1e3),
    "gbps": (_BPS, 3, 1e3),
}
"""The units a series name says it is in, by whole name token (`_mb` is megabytes,
`_mbps` megabits a second): the unit's ladder of prefixes, the rung the values are on,
and how far apart the rungs are (1024 for the binary `KiB`, `MiB`, `GiB`)."""


def _unit(name: str) -> tuple[tuple[str, ...], int, float] | None:
    """The unit a series name declares (its last unit token), None for none. A name
    with `bytes` inside a token (`kafka_server_bytesin_total`) is in bytes too."""
    tokens = re.split(r"[^a-z0-9]+", name.lower())
    found = next((_UNITS[t] for t in reversed(tokens) if t in _UNITS), None)
    if found is None and "bytes" in name.lower():
        found = _UNITS["bytes"]
    return found


def _fmt(v: float, name: str = "") -> str:
    """A value as a summary quotes it: three significant digits, large values with an SI
    suffix (`364M`, never `3.64e+08` beside `716575`), small ones in positional notation
    (`0.0000523`, never `5.23e-05`), and the unit a series' name says it is in, scaled
    (`_bytes` `364MB`, `_mebibytes` `15.8MiB`, 1500 of them `1.46GiB`; `_UNITS`)."""
    if not math.isfinite(v):
        return str(v)
    unit = _unit(name)
    if unit is None:
        return _num(v)
    ladder, rung, step = unit
    r, top = float(f"{v:.3g}"), rung  # rounded first: 999.6 B is 1kB, not 1000B
    while rung < len(ladder) - 1 and abs(r) >= step:
        r /= step
        rung += 1
    return _num(v if rung == top else r) + ladder[rung]


def _num(v: float) -> str:
    """`_fmt` of a finite value with no unit."""
    r = float(f"{v:.3g}")  # rounded first: 999,600 is 1.00M, not 1000k
    a = abs(r)
    if a >= 1e4:
        div, suffix = next((d, x) for d, x in _SI if a >= d)
        return f"{r / div:.3g}{suffix}"
    if 0 < a < 1e-3:
        return f"{r:.{2 - math.floor(math.log10(a))}f}".rstrip("0")
    if a >= 100:
        return f"{v:.0f}"
    return f"{r:.3g}"


_QUANTILE = re.compile(r"histogram_quantile\(([\d.]+), sum by \(([^)]*)\) \((.*)\)\)")
"""A histogram's percentile over its buckets (`metrics.histogram_quantiles`)."""
_READ_AS = re.compile(r"(rate|increase)\(\(?(.*?)\)?\[(\d+)s:?\]\)")
"""A range function `analyzers.metrics` wrapped around a series' query (`_derived`)."""


def cite_query(s: Series) -> str:
    """What reproduces one series: its PromQL narrowed to the series, or, for a bundle
    file that records no PromQL, the file and the series' labels, with the range
    function the analyzers read it through in words (`rate(file x.json[240s])` is
    neither PromQL nor a file name)."""
    q = s.query or s.name
    if s.promql:
        return scope_query(q, s.labels)
    if (m := _QUANTILE.fullmatch(q)) is not None:  # `metrics.histogram_quantiles`
        inner, reads = _unwrap(m.group(3))
        how = f", each read as its {' of its '.join(reads)}" if reads else ""
        pct = f"{float(m.group(1)) * 100:g}th percentile"
        return scope_query(f"the {pct} of {inner}'s buckets summed by {m.group(2)}{how}", s.labels)
    if " / " in q:  # a timer's mean (`metrics.timer_means`): two files, one label set
        (a, ra), (b, rb) = (_unwrap(x) for x in q.split(" / ", 1))
        how = f", each read as its {' of its '.join(ra)}" if ra and ra == rb else ""
        return scope_query(f"{a} divided by {b}{how}", s.labels)
    q, reads = _unwrap(q)
    cited = scope_query(q, s.labels)
    return f"{cited}, read as its {' of its '.join(reads)}" if reads else cited


def _unwrap(q: str) -> tuple[str, list[str]]:
    """A bundle file's query without the range functions wrapped around it, and those
    in words (`rate over 240s`)."""
    reads: list[str] = []
    while (m := _READ_AS.fullmatch(q)) is not None and "file " in m.group(2):
        reads.append(f"{m.group(1)} over {m.group(3)}s")
        q = m.group(2)
    return q, reads


def _selector(labels: dict[str, str]) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return "{" + inner + "}"


def cert_left(seconds: float) -> str:
    """Time left on a certificate, in the unit a reader thinks in (days past two)."""
    s = abs(seconds)
    if s >= 2 * 86400:
        return f"{s / 86400:.0f} days" if s >= 10 * 86400 else f"{s / 86400:.1f} days"
    return _gap(s)


def _is_epoch(v: float) -> bool:
    """A unix timestamp in seconds (an expiry time as blackbox and cert-manager give it)."""
    return 1e9 < v < 1e11


def cert_expired_at(f: MetricFinding) -> float | None:
    """When a certificate finding's certificate expired (unix seconds), None while it
    is still valid: the expiry time itself for a series of expiry timestamps, else the
    first point whose countdown reached zero (`cert_expiry` sets the onset there)."""
    if f.level > 0:
        return None
    last = next((v for v in reversed(f.series.values) if math.isfinite(v)), None)
    if last is not None and _is_epoch(last) and last <= f.series.timestamps[-1]:
        return last
    return f.onset


def _cert_summary(f: MetricFinding) -> str:
    """A certificate finding in words: `cert_expiry` measures seconds left on the
    certificate (whatever unit the series is in: days, seconds, an expiry timestamp),
    so its baseline and level are durations, never the series' own values, and the
    change-point σ it carries is nominal."""
    s = f.series
    where = f"{s.name}{' on ' + s.service if s.service else ''}"
    t0, t1 = s.timestamps[0], s.timestamps[-1]
    gone = cert_expired_at(f)
    if gone is None:
        return f"{where}: the TLS certificate expires in {cert_left(f.level)} (as of {_hm(t1)})"
    return (
        f"{where}: the TLS certificate expired at {_hm(gone)}"
        f" ({cert_left(f.baseline)} left at {_hm(t0)})"
    )


def _point(v: float, cert: bool) -> str:
    """One sample as the excerpt shows it: an expiry timestamp whole and as a time."""
    if cert and _is_epoch(v):
        return f"{v:.0f} ({_dt(v).strftime('%Y-%m-%d %H:%M:%SZ')})"
    return _fmt(v)


def _over_scale(f: MetricFinding) -> bool:
    """Did the series answer +Inf during the finding (a histogram_quantile above the
    highest bucket)? The analysis scores such a point as `INF_CEILING` times the
    largest finite value; the summary must not quote that number as if measured."""
    s = f.series
    end = f.until if f.until is not None else math.inf
    return any(
        v == math.inf and f.onset <= t <= end for t, v in zip(s.timestamps, s.values, strict=False)
    )


def _recovered(f: MetricFinding) -> tuple[list[float], int] | None:
    """A finding that is over by the series' last points, though it dates no end
    (`until` is None: a spike, or a burst that ended in the lookahead): the values of
    its anomalous stretch (the points from the onset that exceed `Z_ONSET`, as
    `metrics._episode` counts them) and the index of the first point back, else None.

    Back is back for good: every point after the stretch within the baseline's noise,
    none of them an anomaly (`Z_ANOMALY`) by itself; one such point after a stretch
    of one or two, two after a longer one (one quiet point does not end a shift). The
    noise is the finding's own, from its level and σ: z = (level - baseline) / scale."""
    s, d = f.series, f.direction
    if f.until is not None or not 0 < f.z < 1e6:
        return None
    scale = (f.level - f.baseline) * d / f.z
    i0 = next((i for i, t in enumerate(s.timestamps) if t == f.onset), None)
    if not scale > 0 or i0 is None or not all(math.isfinite(v) for v in s.values[i0:]):
        return None
    zs = [(v - f.baseline) * d / scale for v in s.values[i0:]]
    run = next((i for i, z in enumerate(zs) if z <= Z_ONSET), len(zs))
    after = zs[run:]
    if run == 0 or len(after) < (1 if run <= 2 else 2) or max(after) >= Z_ANOMALY:
        return None
    return list(s.values[i0 : i0 + run]), i0 + run


def level_said(f: MetricFinding) -> tuple[float, bool]:
    """The level a statement quotes for a finding, and whether the series is back to
    normal: `level` (the median from the onset on) while it lasts; for one that is over
    (`_recovered`), a spike's peak or the median of the stretch it held, as the
    evidence's summary says it."""
    rec = _recovered(f)
    if rec is None:
        return f.level, False
    held, _ = rec
    if len(held) <= 2:
        return (max(held) if f.direction > 0 else min(held)), True
    return median(held), True


def _metric_summary(f: MetricFinding) -> str:
    """A metric finding in words: where the series went from where, and when. One that
    is over (`_recovered`) says so, and quotes what the series did: a spike its peak, a
    burst the level it held; not the median from the onset on (`level`), which for a
    series back to normal is a value it may never have had."""
    s = f.series
    where = f"{s.name}{' on ' + s.service if s.service else ''}"
    z = f"{min(f.z, 999):.0f}σ"
    if f.direction > 0 and _over_scale(f):  # INF_CEILING: say what the data said
        to = (
            f"+Inf (past the top of its scale, scored as {_fmt(f.peak, s.name)}:"
            f" twice its largest finite value; {z})"
        )
        return f"{where} rose from {_fmt(f.baseline, s.name)} to {to} from {_hm(f.onset)}"
    word = "rose" if f.direction > 0 else "fell"
    rec = _recovered(f)
    if rec is None:
        to = f"{_fmt(f.level, s.name)} (peak {_fmt(f.peak, s.name)}, {z})"
        return f"{where} {word} from {_fmt(f.baseline, s.name)} to {to} from {_hm(f.onset)}"
    held, back = rec
    ts, now = s.timestamps, _fmt(s.values[back], s.name)
    if len(held) <= 2:  # a spike: its peak, when, and that it is over
        k = max(range(len(held)), key=lambda i: held[i] * f.direction)
        return (
            f"{where} {'spiked' if f.direction > 0 else 'dipped'} from"
            f" {_fmt(f.baseline, s.name)} to {_fmt(held[k], s.name)} at"
            f" {_hm(ts[back - len(held) + k])} ({z}), then back to normal: {now} at"
            f" {_hm(ts[back])}"
        )
    peak = max(held) if f.direction > 0 else min(held)
    return (
        f"{where} {word} from {_fmt(f.baseline, s.name)} to {_fmt(median(held), s.name)}"
        f" (peak {_fmt(peak, s.name)}, {z}) from {_hm(f.onset)} until {_hm(ts[back])},"
        f" then back to normal ({now})"
    )


def metric_evidence(f: MetricFinding, kind: EvidenceKind = "metric_anomaly") -> _Ev:
    s = f.series
    cert = kind == "certificate"
    if cert:
        summary = _cert_summary(f)
    else:
        summary = _metric_summary(f)
    if f.until is not None:
        summary += f" until {_hm(f.until)}, then back to normal"
    query = cite_query(s)
    points = list(zip(s.timestamps, s.values, strict=False))
    if f.until is not None:  # the episode's last points and the first normal one
        points = [p for p in points if p[0] <= f.until]
    ev = Evidence(
        id="",
        kind=kind,
        service=s.service,
        start=_dt(f.onset),
        end=_dt(f.until if f.until is not None else s.timestamps[-1]),
        summary=summary,
        strength=round(f.strength, 4),
        query=query,
        ref=s.ref,
        excerpt=[f"{_hm(t)} {_point(v, cert)}" for t, v in points[-4:]],
        family=f.family,
        data={"z": round(min(f.z, 1e6), 2), "baseline": f.baseline, "level": f.level},
        language="promql" if s.promql else None,
    )
    return _Ev(f"m:{s.ref}:{s.name}:{_selector(s.labels)}", ev)


def silence_evidence(d: DependencyFinding) -> _Ev | None:
    """Every series of the service stopped (`dependency.find_silent`)."""
    q = d.silence
    if q is None:
        return None
    s = q.series
    n = {1: "its only series", 2: "both its series"}.get(q.n, f"all {q.n} of its series")
    summary = (
        f"{d.service} stopped reporting at {_hm(q.last)}: {n} end there (last: {s.name}),"
        f" while the other services' go on to {_hm(q.end)}; a target that cannot be"
        " scraped is down, unreachable, or its exporter is"
    )
    ev = Evidence(
        id="",
        kind="dependency_down",
        service=d.service,
        start=_dt(q.last),
        end=_dt(q.end),
        summary=summary,
        strength=round(d.strength, 4),
        query=cite_query(s),
        ref=s.ref,
        excerpt=[
            f"{_hm(t)} {_fmt(v)}" for t, v in list(zip(s.timestamps, s.values, strict=False))[-3:]
        ],
        family="availability",
        language="promql" if s.promql else None,
    )
    return _Ev(f"silent:{d.service}", ev)


TEMPLATE_SHOWN = 90
"""Characters of a log template a summary quotes (the excerpt has whole lines)."""


def _clip(text: str, n: int) -> str:
    """`text` cut to `n` characters with an ellipsis that says so, never inside a `<*>`
    wildcard (a quote that ends `request_id=<` reads as the line's own text)."""
    if len(text) <= n:
        return text
    cut = text[: n - 1]
    tail = cut[-2:]
    if tail.endswith("<") or tail == "<*":
        cut = cut[: cut.rfind("<")]
    return cut.rstrip() + "…"


SUMMARY_MAX = 320
"""Characters of an evidence summary: enough for the long names of a managed cloud's
services, and a bound on the outside text (names, messages) a summary quotes."""


def shorten(text: str, limit: int = SUMMARY_MAX) -> str:
    """`text` whole when it fits in `limit` characters, else cut at its last clause
    (`, ` or `; `) or word boundary before the limit, ending in an ellipsis that says so
    (a cut mid-word, as in `its anomalous d`, reads as the whole of what was said)."""
    if len(text) <= limit:
        return text
    if limit < 1:
        return ""
    cut = text[: limit - 1]
    clause = max(cut.rfind(", "), cut.rfind("; "))
    space = cut.rfind(" ")
    if clause >= limit * 2 // 3:  # a whole clause, unless it leaves too little
        cut = cut[:clause]
    elif space >= limit // 2:  # else whole words (a long token is cut, say a URL)
        cut = cut[:space]
    opened = cut.rfind("(")
    if opened >= limit // 2 and cut.count("(") > cut.count(")"):  # not `Stage (a load…`
        cut = cut[:opened]
    return cut.rstrip(" ,;:(") + "…"


def shorten_parts(parts: Sequence[str], limit: int = SUMMARY_MAX, sep: str = "; ") -> str:
    """`parts` joined by `sep`, within `limit` characters: as many whole parts as fit,
    then `… (+N more)` naming how many were left off (`shorten` the first if even it
    does not fit)."""
    whole = sep.join(parts)
    if len(whole) <= limit:
        return whole
    for k in range(len(parts) - 1, 0, -1):
        head = sep.join(parts[:k]) + f"{sep}… (+{len(parts) - k} more)"
        if len(head) <= limit:
            return head
    more = f" (+{len(parts) - 1} more)" if len(parts) > 1 else ""
    more = more if len(more) < limit else ""
    return shorten(parts[0], limit - len(more)) + more


def log_evidence(f: LogFinding, ctx: Context) -> _Ev:
    logs = ctx.logs
    what = "new" if f.new else f"{f.rate_ratio:.0f}x more frequent"
    summary = (
        f"{f.level.upper()} template {what} on {f.service} after {_hm(f.first_after)}: "
        f'"{_clip(f.template, TEMPLATE_SHOWN)}" ({f.after} after, {f.before} before)'
    )
    refs = [logs.ref(i) for i in f.examples]
    excerpt = [logs.msg[i][:200] for i in f.examples]
    query = logs.query.get(f.service, "") or (refs[0] if refs else "")
    ev = Evidence(
        id="",
        kind="log_template",
        service=f.service,
        start=_dt(f.first_after),
        end=ctx.window.end,
        summary=summary,
        strength=round(f.strength, 4),
        query=query,
        ref=refs[0] if refs else None,
        excerpt=excerpt,
        family=f.family,
        data={"before": f.before, "after": f.after, "new": f.new},
        # a LogQL query always starts with its stream selector; a bundle's is a grep line
        language="logql" if query.lstrip().startswith("{") else None,
    )
    return _Ev(f"l:{f.service}:{f.template}", ev)


def change_evidence(cf: ChangeFinding, onset: float) -> _Ev:
    c = cf.change
    when = "before" if cf.gap_s >= 0 else "after"
    ver = ""
    if c.version:
        ver = f" {c.previous_version + ' → ' if c.previous_version else ''}{c.version}"
    summary = (
        f"{c.kind} of {c.service}{ver} at {_hm(c.ts.timestamp())}, {_gap(cf.gap_s)} {when} "
        f"the onset{': ' + c.summary if c.summary else ''}"
    )
    ev = Evidence(
        id="",
        kind="change",
        service=c.service,
        start=c.ts,
        end=None,
        summary=shorten(summary),
        strength=round(cf.proximity, 4),
        query=c.url or (c.ref or f"changes: id={c.id}"),
        ref=c.ref or c.url,
        excerpt=[f"{c.id} by {c.author}" if c.author else c.id],
        subject=c.id,
        data={"gap_s": round(cf.gap_s, 1), "kind": c.kind},
    )
    return _Ev(f"c:{c.id}", ev)


def is_bad(f: MetricFinding) -> bool:
    """A move in the signal's bad direction (a traffic drop is not a fault by itself)."""
    return f.bad and not (f.family == "traffic" and f.direction < 0)


def harm_evidence(h: ChangeHarm) -> _Ev | None:
    """The changed service's signal before vs after the change (or new vs old version,
    or the leak it started)."""
    lk = h.leak_of
    if lk is not None and lk.strength >= h.measured:
        ls = lk.series
        ev = Evidence(
            id="",
            kind="metric_anomaly",
            service=ls.service,
            start=_dt(h.at) if h.at else None,
            summary=shorten(
                f"{ls.name} on {ls.service} climbed steadily from {_fmt(lk.before, ls.name)}"
                f" (its pods before the change {h.change_id}) to {_fmt(lk.after, ls.name)}"
                f" by {_hm(lk.until)}, {_gap(lk.until - h.at)} after it: a leak"
                + (f" ({lk.climbed} of {lk.spanned} series)" if lk.spanned > 1 else "")
            ),
            strength=round(lk.strength, 4),
            query=cite_query(ls),
            ref=ls.ref,
            subject=h.change_id,
            data={"before": lk.before, "after": lk.after, "leak": round(lk.strength, 4)},
            language="promql" if ls.promql else None,
        )
        return _Ev(f"lk:{h.change_id}", ev)
    if h.version_harm >= h.harm and h.version_detail:
        ev = Evidence(
            id="",
            kind="change",
            service=None,
            summary=shorten(
                ("canary comparison: " if h.version_side_by_side else "rollout: ")
                + h.version_detail
            ),
            strength=round(h.version_harm, 4),
            query=h.version_detail.split(":", 1)[0],
            subject=h.change_id,
            data={"version_harm": round(h.version_harm, 4)},
        )
        return _Ev(f"vh:{h.change_id}", ev)
    s = h.series
    if s is None or h.harm <= 0:
        return None
    q = cite_query(s)
    ev = Evidence(
        id="",
        kind="metric_anomaly",
        service=s.service,
        start=_dt(h.at) if h.at else None,  # the split: before vs after the change
        summary=shorten(
            f"{s.name} on {s.service} went from {_fmt(h.before, s.name)} before the change "
            f"{h.change_id} to {_fmt(h.after, s.name)} after it ({min(h.z, 999):.0f}σ)"
        ),
        strength=round(h.harm, 4),
        query=q,
        ref=s.ref,
        subject=h.change_id,
        data={"z": round(min(h.z, 1e6), 2), "before": h.before, "after": h.after},
        language="promql" if s.promql else None,
    )
    return _Ev(f"h:{h.change_id}", ev)


def edge_evidence(e: EdgeFinding) -> _Ev:
    strength = round(min(1.0, max(0.0, (e.z - 2.0) / 20.0)), 4)
    if e.series is not None:  # a client-side latency series named by its peer
        s = e.series
        ev = Evidence(
            id="",
            kind="metric_anomaly",
            service=e.callee,
            start=_dt(e.onset),
            end=_dt(s.timestamps[-1]),
            summary=(
                f"latency of calls {e.caller} → {e.callee}, as the caller measures it"
                f" ({s.name}), grew from {e.before_ms:.1f} ms to {e.after_ms:.1f} ms"
                f" ({min(e.z, 999):.0f}σ) from {_hm(e.onset)}, while {e.callee}'s own"
                " latency did not grow as much: the time went between them"
            ),
            strength=strength,
            query=cite_query(s),
            ref=s.ref,
            family="latency",
            language="promql" if s.promql else None,
        )
        return _Ev(f"edge:{e.caller}>{e.callee}", ev)
    ev = Evidence(
        id="",
        kind="trace",
        service=e.callee,
        start=_dt(e.onset),
        summary=(
            f"network time on calls {e.caller} → {e.callee} (client span minus server span) "
            f"grew from {e.before_ms:.1f} ms to {e.after_ms:.1f} ms (median, {e.n_after} calls)"
        ),
        strength=strength,
        query=f"spans where service={e.caller} and child service={e.callee}: duration - child",
        ref=e.ref,
    )
    return _Ev(f"edge:{e.caller}>{e.callee}", ev)


def trace_evidence(t: TraceFinding) -> _Ev:
    ev = Evidence(
        id="",
        kind="trace",
        service=t.service,
        start=_dt(t.onset),
        summary=t.summary
        or (
            f"spans of {t.service}: errors {t.err_before:.0%} → {t.err_after:.0%}, "
            f"median self-time {t.p50_before:.0f} → {t.p50_after:.0f} ms"
        ),
        strength=round(t.strength, 4),
        query=t.query or f"spans where service={t.service}",
        ref=t.ref,
    )
    return _Ev(f"tr:{t.service}", ev)


_EVENT_WHAT = {
    "crash": "containers crash",
    "config": "pods cannot start (image or config)",
    "probe": "probes fail",
    "capacity": "the cluster is out of capacity",
}
_EVENT_FAMILY = {"crash": "restarts", "probe": "availability"}


def event_evidence(f: EventFinding, onset: float) -> _Ev:
    """One row per service and event class: what the cluster said, how often, from when."""
    reasons = ", ".join(
        f"{r} x{n}" if n > 1 else r for r, n in sorted(f.reasons.items(), key=lambda x: -x[1])
    )
    gap = onset - f.first
    when = f"{_gap(gap)} {'before' if gap >= 0 else 'after'} the onset"
    where = " (node-wide)" if f.node_scope else ""
    what = "pods are killed" if f.details == {"killed"} else _EVENT_WHAT[f.cls]
    summary = f"Kubernetes: {what} at {f.service}{where}: {reasons}, from "
    summary += f"{_hm(f.first)}, {when}"
    lead = f.events[0]
    query = next((e.query for e in f.events if e.query), "") or lead.ref
    ev = Evidence(
        id="",
        kind="event",
        service=f.service,
        start=_dt(f.first),
        end=_dt(f.last),
        summary=shorten(summary),
        strength=round(f.strength, 4),
        query=query,
        ref=lead.ref or None,
        excerpt=event_excerpt(f.events),
        family=f.resource if f.cls == "capacity" else _EVENT_FAMILY.get(f.cls),
        data={
            "class": f.cls,
            "count": f.count,
            "reasons": dict(f.reasons),
            "details": sorted(f.details),
            "node_scope": f.node_scope,
        },
    )
    return _Ev(f"ev:{f.service}:{f.cls}", ev)


def dedupe(evs: Iterable[_Ev]) -> list[_Ev]:
    seen: set[str] = set()
    out: list[_Ev] = []
    for e in evs:
        if e.key in seen:
            continue
        seen.add(e.key)
        out.append(e)
    return out
