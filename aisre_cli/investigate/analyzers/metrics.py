"""Metric anomaly and onset detection against a robust baseline.

The alert tells us where to look: the *recent window* is the last
`max(RECENT_S, 4 steps)` before the alert plus a little after it; everything earlier
is the baseline. For every series we report:

* `z`: how many robust standard deviations (median/MAD of the baseline, with floors
  so a flat baseline cannot turn float noise into a 1e9-sigma event, and a Poisson
  floor for whole-number counts of requests or errors) the level of the
  anomalous stretch sits from the baseline, in the family's bad direction;
* `onset`: the first point that starts a run (3 points, or 3 minutes) beyond 3 sigma and from
  which at least half of the points up to the end of the recent window stay beyond
  it, walked back while the run started earlier
  (so a ramp reports where it starts, and a fault that began before the window is
  still dated correctly);
* `rel`: the relative change of the level;
* `until`, for an *episode* that is already over when the page fires (a CPU burst, a
  latency spike that recovered; `_episode`): a stretch of at least `RUN` points and
  EPISODE_MIN_S whose own median clears EPISODE_Z (three times the sustained bar) and
  that ended at most EPISODE_S before the alert. One that ended earlier belongs to
  something else.

Looking only up to just after the alert keeps transient faults (a dip that already
recovered) visible, and keeps baseline noise an hour earlier from being mistaken for
the incident.

Series that share a timestamp grid are processed as one numpy matrix: a bundle or a
Prometheus answer typically has thousands of series on a handful of grids, and
doing this row by row in Python would dominate triage time.

Small inputs (up to `PURE_MAX_POINTS` points in all, e.g. a bundle with a few hundred
short series) take a pure-Python path instead, because importing numpy costs more
than the whole analysis: `_detect_rows` repeats `_detect_matrix` operation for
operation, with numpy's own float semantics (pairwise summation as in `add.reduce`,
medians as `np.median`/`np.ma.median` compute them), so the findings are identical to
the bit. tests/test_metric_paths.py holds the two paths to that on random and
adversarial matrices. Inputs the pure path does not replicate (values so large that
intermediate sums could overflow, timestamps out of order) always go to numpy.
"""

from __future__ import annotations

import itertools
import math
import re
import warnings
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from aisre_cli.investigate.analyzers.changes import REPLICA_LABELS, VERSION_LABELS
from aisre_cli.investigate.families import (
    SHARE_FLOOR,
    STATUS_LABELS,
    FamilyMatcher,
    Scope,
    Shape,
    SignalClass,
    countdown_seconds,
    normalize_name,
    query_reading,
)
from aisre_cli.model import Series

if TYPE_CHECKING:
    import numpy as np

Z_ONSET = 3.0
Z_ANOMALY = 4.0
MIN_BASE_POINTS = 3
SHORT_BASE_POINTS = 2
"""A window too short for MIN_BASE_POINTS before its recent part (a 20-minute window of
5-minute points: five in all, the fewest `detect` reads) takes its first half as the
baseline, down to this many points: three of five would run into a fault that began in
the third."""
RUN = 3
"""Consecutive exceeding points that mark an onset (fewer where the data ends) ..."""
RUN_S = 180.0
"""... but a run need not last longer than this (coarse data: one 5-minute point)."""
RECENT_S = 1200.0
"""The recent window before the alert in which an onset is searched (at least 4 steps)."""
PURE_MAX_POINTS = 50_000
"""Up to this many points in all, `detect` runs without numpy (see the module doc): at
50k points the pure path takes about 30 ms, numpy 10 ms plus about 70 ms to import."""
_PURE_MAX_ABS = 1e100
"""Values beyond this magnitude go to numpy (sums of squares could overflow)."""
_COUNTED = ("traffic", "errors")
"""Families whose whole-number series are event counts per interval (requests, errors):
Poisson at least, so their noise floor is the square root of their level. Two requests
per interval falling to one is noise, not a drop."""

VISITED = 0.1
"""A level the baseline itself held in this share of its points is noise, whatever its
MAD says: a pool gauge that flapped between 0 and 1 connections for an hour has a MAD
of 0, yet a stretch at 1 is not saturation. Where the MAD is 0 (more than half the
baseline sits on one value: a few values repeat), the noise floor `_visited` puts the
baseline's 10th and 90th percentiles (lower and higher order statistics, no
interpolation: both detection paths pick the same float) no further than Z_ONSET from
its median. Elsewhere the MAD reads the noise and this floor is not used: on a
heavy-tailed latency percentile it would hide a real shift behind its tail."""

INF_CEILING = 2.0
"""An +Inf point reads as this many times the row's largest finite value. Prometheus
answers +Inf for a `histogram_quantile` whose quantile is above the highest finite
bucket (a p99 past the largest latency the histogram measures: requests timing out),
and for a positive number divided by zero. Read as a gap, the strongest latency signal
of an incident vanished; the bucket bound is not in the series, so "above everything
seen, by a clear margin" is what can be said."""


def _visited(ordered: Sequence[float], base: float) -> float:
    """The `VISITED` noise floor from the sorted baseline `ordered`."""
    last = len(ordered) - 1
    hi = int(last * (1.0 - VISITED) + 1e-9)
    return max(ordered[hi] - base, base - ordered[last - hi], 0.0) / Z_ONSET


_UNITS = ("connections",)
"""Families whose whole-number series count things held at once (connections, threads,
queued tasks, goroutines): at least one of them is noise. A thread-pool queue that
goes from 0 to 1, or a pool from 0 to 1 connection in use, is no saturation however
flat its baseline was: their noise floor is half of one (`UNIT_FLOOR`). Not the
square root of the level, as for requests: a pool holds its connections steadily,
and 13 of them becoming 40 is no Poisson wobble."""


UNIT_FLOOR = 0.5
"""The noise floor of a count of things held at once (`_UNITS`), in things: one more
is twice the floor (under Z_ONSET), two more make an anomaly barely, and a database
whose running threads go from a flat 2 to 6 is one (z 8)."""


def _count_floor(c: SignalClass, base: float) -> float:
    """The noise floor of a whole-number series of class `c` at level `base` (`_COUNTED`
    and `_UNITS`); the caller checks that the series is whole numbers."""
    if _unit(c):
        return UNIT_FLOOR
    return math.sqrt(abs(base)) if _counted(c) else 0.0


def quantum_floor(c: SignalClass, vals: Sequence[float], base: float) -> float:
    """The noise floor whole-number values give a series of class `c` at level `base`
    (`_count_floor`: half a thing held, the square root of a count per interval), and
    the one a baseline sitting on one value leaves (`_visited`), for readers that
    compare levels outside the detector (a change's before and after)."""
    ordered = sorted(v for v in vals if math.isfinite(v))
    if not ordered:
        return 0.0
    whole = _count_floor(c, base) if _whole(ordered) else 0.0
    dev = sorted(abs(v - base) for v in ordered)
    return max(whole, _visited(ordered, base) if dev[len(dev) // 2] == 0 else 0.0)


def _unit(c: SignalClass) -> bool:
    """Could its whole-number values be things held at once (`_UNITS`)? Not a percent
    or a ratio of a pool."""
    return c.family in _UNITS and c.shape not in ("percent", "ratio")


def _counted(c: SignalClass) -> bool:
    """Could its whole-number values be event counts per interval (`_COUNTED`)? Not a
    percent or a ratio: 100.0% success is a share, not a hundred requests."""
    return c.family in _COUNTED and c.shape not in ("percent", "ratio")


def share_floor(c: SignalClass) -> float:
    """The noise floor that comes from what the signal means, not from its history:
    a share of requests (`SHARE_FLOOR`), or the catalogue's `SignalClass.floor` (CPU
    throttling: the share of scheduler periods that makes a difference)."""
    if c.family not in ("errors", "availability"):
        return c.floor
    if c.shape == "percent":
        return SHARE_FLOOR * 100.0
    if c.shape == "ratio":
        return SHARE_FLOOR
    return 0.0


EPISODE_Z = 3.0 * Z_ANOMALY
"""An episode that is over before the page (a burst of errors, a latency spike, a pod
that churned for four minutes and then recovered) is a finding only when its own level
clears this: a sustained shift needs Z_ANOMALY, a burst three times that."""
EPISODE_MIN_S = 60.0
"""An episode lasts at least RUN points and at least this long (on 1-second data, three
points over 12σ are a hiccup, not an incident)."""
EPISODE_S = 300.0
"""... and only when it was still on this close to the alert: an episode that ended
earlier is the tail of something else (a previous incident, a deploy's warm-up)."""
LATER_STARTS = 64
"""A request rate's earliest start may sit on its daily climb, whose level, taken from
there, stays under Z_ANOMALY although a step well above it follows (the surge): then
the next starts are tried, in order, and the first whose level clears Z_ANOMALY dates
the finding. Traffic only (demand drifts by design); a finding the earliest start
already makes is unchanged."""


@dataclass(slots=True)
class MetricFinding:
    series: Series
    family: str | None
    direction: int
    """+1: went up, -1: went down."""
    z: float
    rel: float
    baseline: float
    level: float
    peak: float
    onset: float
    """Unix seconds of the first anomalous point."""
    strength: float
    bad: bool
    """True when the move is in the family's bad direction (False: a drop of traffic...)."""
    scope: str = "service"
    """Where the signal is measured (`families.Scope`): node-wide signals are shared."""
    known: bool = True
    """False for a signal the catalogue does not know (a generic anomaly)."""
    until: float | None = None
    """For an episode that already ended (`_episode`): the first point back to normal."""
    shape: Shape = "gauge"
    """The series' shape (`families.Shape`): a percent or ratio is a share of a whole."""


def _strength(z: float) -> float:
    return float(min(1.0, math.log1p(max(z - Z_ONSET, 0.0)) / math.log1p(40.0)))


def _episode(
    x: Sequence[float],
    exceed: Sequence[bool],
    ie: int,
    ir: int,
    min_len: int,
    base: float,
    scale: float,
    d: int,
) -> tuple[int, int, float, float] | None:
    """An episode that is over: the strongest stretch of at least `min_len` consecutive
    exceeding points that ends in [ie, ir) (after `ie`, EPISODE_S before the alert, and
    before the recent window ends: a stretch still on at its end is a sustained shift,
    `detect`'s main rule). (start, end, level, z), `end` the first point back to
    normal and `level` the stretch's median; None when no stretch clears EPISODE_Z.

    The same on both detection paths: they pass the same floats."""
    best: tuple[int, int, float, float] | None = None
    j = ie
    while j < ir:
        if not exceed[j]:
            j += 1
            continue
        k = j
        while k < ir and exceed[k]:
            k += 1
        start = j  # it may have started earlier, even before the baseline's end
        while start - 1 >= MIN_BASE_POINTS and exceed[start - 1]:
            start -= 1
        if k - start >= min_len and k < ir:
            lv = _np_median(x[start:k])
            z = min((lv - base) / scale * d, 1e6)
            if z >= EPISODE_Z and (best is None or z > best[3]):
                best = (start, k, lv, z)
        j = k
    return best


def detect(
    series: list[Series],
    matcher: FamilyMatcher,
    alert_ts: float,
    lookahead_s: float = 300.0,
) -> list[MetricFinding]:
    """Return one finding per anomalous series (|z| >= Z_ANOMALY), unordered.

    Counters (by name and by values: non-decreasing but for resets) are read as
    rates first: a raw `_total` climbs forever and says nothing until differenced.
    Restart counters are read as their increase over 10 minutes (`as_increase`)."""
    series = prepare(series, matcher)
    groups: dict[tuple[int, float, float], list[int]] = defaultdict(list)
    for i, s in enumerate(series):
        n = len(s.timestamps)
        if n < MIN_BASE_POINTS + 2:
            continue
        groups[(n, s.timestamps[0], s.timestamps[-1])].append(i)
    total = sum(len(idxs) * key[0] for key, idxs in groups.items())
    pure = total <= PURE_MAX_POINTS and all(_pure_ok(series, idxs) for idxs in groups.values())
    findings: list[MetricFinding] = []
    for idxs in groups.values():
        # Rows in one group have the same length and end points; timestamps can still
        # differ in between, which only shifts the reported onset slightly: use each
        # row's own timestamps for the onset.
        rows = [series[i] for i in idxs]
        if pure:
            findings.extend(_detect_rows(rows, matcher, alert_ts, lookahead_s))
        else:
            import numpy as np

            x = np.array([r.values for r in rows], dtype=np.float64)
            findings.extend(_detect_matrix(x, rows, matcher, alert_ts, lookahead_s))
    return findings


def _pure_ok(series: list[Series], idxs: list[int]) -> bool:
    """Whether `_detect_rows` gives `_detect_matrix`'s exact result for this group."""
    ts = series[idxs[0]].timestamps
    if not all(math.isfinite(t) for t in ts):
        return False
    if any(b < a for a, b in zip(ts, ts[1:], strict=False)):
        return False
    for i in idxs:
        for v in series[i].values:
            if abs(v) > _PURE_MAX_ABS and math.isfinite(v):
                return False
    return True


def _detect_matrix(
    x: np.ndarray,
    rows: list[Series],
    matcher: FamilyMatcher,
    alert_ts: float,
    lookahead_s: float,
) -> list[MetricFinding]:
    import numpy as np

    m, n = x.shape
    # +Inf as INF_CEILING times the row's largest finite value (when positive), as `_fill`
    posinf = np.isposinf(x)
    if posinf.any():
        top = np.where(np.isfinite(x), x, -np.inf).max(axis=1)
        ceiling = np.where(top > 0, INF_CEILING * top, np.nan)
        x = np.where(posinf, ceiling[:, None], x)
    # Missing points (NaN, -Inf) are filled from the previous valid value (or the row median).
    bad = ~np.isfinite(x)
    if bad.any():
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN row: 0.0 below
            med = np.nanmedian(np.where(bad, np.nan, x), axis=1)
        med = np.where(np.isfinite(med), med, 0.0)
        idx = np.where(~bad, np.arange(n), 0)
        np.maximum.accumulate(idx, axis=1, out=idx)
        filled = x[np.arange(m)[:, None], idx]
        first_bad = bad[np.arange(m)[:, None], idx]
        x = np.where(first_bad, med[:, None], filled)

    ts0 = np.array(rows[0].timestamps, dtype=np.float64)
    step = float(np.median(np.diff(ts0))) if n > 1 else 60.0
    # Baseline: everything before the recent window; recent: up to just after the alert.
    recent_s = max(RECENT_S, 4 * step)
    ib = int(np.searchsorted(ts0, alert_ts - recent_s, side="left"))
    ir = int(np.searchsorted(ts0, alert_ts + max(lookahead_s, 2 * step), side="right"))
    ir = min(max(ir, 1), n)
    if ib < MIN_BASE_POINTS or ib >= ir:
        ib = max(SHORT_BASE_POINTS, min(n // 2, ir - 1))
    if ib >= ir or ib < SHORT_BASE_POINTS:
        return []
    # an episode that is over must have ended inside the recent window, near the alert
    ie = max(ib, int(np.searchsorted(ts0, alert_ts - max(EPISODE_S, 2 * step), side="left")))

    classes = [matcher.classify(r.name, r.labels) for r in rows]
    # direction: +1 up is bad, -1 down is bad, 0 both (traffic, or unknown family)
    dirs = np.array(
        [0 if c.family in ("traffic", None) else (1 if c.bad_up else -1) for c in classes],
        dtype=np.float64,
    )
    # A fault that started long before the alert (a slow ramp that pages only when a
    # threshold is crossed) would contaminate that baseline: end the baseline at the
    # most likely change point in the bad direction when it comes earlier.
    kmin = max(MIN_BASE_POINTS, n // 6)
    be = np.full(m, ib, dtype=np.int64)
    if ir - 1 > kmin:
        seg_x = x[:, :ir]
        csum = np.cumsum(seg_x, axis=1)
        total = csum[:, -1:]
        k = np.arange(kmin, ir, dtype=np.float64)
        pre_mean = csum[:, kmin - 1 : ir - 1] / k
        post_mean = (total - csum[:, kmin - 1 : ir - 1]) / (ir - k)
        shift = post_mean - pre_mean
        weight = np.sqrt(k * (ir - k) / ir)
        signed = np.where(dirs[:, None] == 0, np.abs(shift), shift * dirs[:, None]) * weight
        kcp = np.argmax(signed, axis=1) + kmin
        be = np.minimum(be, kcp)
    cols = np.arange(n)
    in_base = cols[None, :] < be[:, None]
    basex = np.where(in_base, x, np.nan)
    base = np.nanmedian(basex, axis=1)
    mad = np.nanmedian(np.abs(basex - base[:, None]), axis=1)
    sd = np.nanstd(basex, axis=1)
    # Floors keep a perfectly flat baseline from turning float noise into a 1e9 sigma
    # event: 0.2% of the baseline level, 1% of the largest deviation in the series.
    span = np.max(np.abs(x - base[:, None]), axis=1)
    # whole numbers that count events or things held: `_count_floor`, as the pure path
    whole = np.all(x == np.floor(x), axis=1)
    floors = np.array([_count_floor(c, b) for c, b in zip(classes, base.tolist(), strict=True)])
    poisson = np.where(whole, floors, 0.0)
    shares = np.array([share_floor(c) for c in classes])
    # `_visited`: the baseline's order statistics (NaN, past each row's end, sort last)
    ordered = np.sort(basex, axis=1)
    last = be - 1
    hi = (last * (1.0 - VISITED) + 1e-9).astype(np.int64)
    rix = np.arange(m)
    spread = np.maximum.reduce(
        [ordered[rix, hi] - base, base - ordered[rix, last - hi], np.zeros(m)]
    )
    visited = np.where(mad == 0, spread / Z_ONSET, 0.0)
    scale = np.maximum.reduce(
        [
            1.4826 * mad,
            visited,
            0.25 * sd,
            np.array([c.rel_floor for c in classes]) * np.abs(base),
            0.01 * span,
            poisson,
            shares,
            np.full(m, 1e-9),
        ]
    )
    rec = x[:, ib:ir]
    rmed = np.median(rec, axis=1)
    lo = int(be.min())
    eff_dir = np.where(dirs == 0, np.sign(rmed - base), dirs)
    eff_dir = np.where(eff_dir == 0, 1.0, eff_dir)
    win = _Window(lo, ib, ie, ir, n, step)
    found = _scan_matrix(x, rows, classes, dirs, eff_dir, base, scale, be, win)
    # a signal that may move either way (traffic, an unknown metric) is read the other
    # way too: the recent window's median says which way most of it sits, but a surge
    # in its last minutes leaves that median on the other side; the stronger reading wins
    two = np.nonzero(dirs == 0)[0]
    if len(two):
        sub = [rows[i] for i in two.tolist()]
        other = _scan_matrix(
            x[two],
            sub,
            [classes[i] for i in two.tolist()],
            dirs[two],
            -eff_dir[two],
            base[two],
            scale[two],
            be[two],
            win,
        )
        for j, f in other.items():
            r = int(two[j])
            if r not in found or f.z > found[r].z:
                found[r] = f
    return [found[r] for r in sorted(found)]


SOLID = 0.8
"""The share of its points past the onset bar that makes a stretch a sustained shift."""


def _after_quiet(exceed: Sequence[bool], quiet_n: int) -> int:
    """Where the trouble a series is in began, when an earlier burst came and went: the
    index of the first exceeding point after the last stretch of at least `quiet_n`
    points (`EPISODE_S`) that do not exceed, where everything before that stretch is
    shorter than it and the series has exceeded almost throughout since (`SOLID`); 0
    otherwise. A blip over that long before the rest began is the tail of something
    else (a restart's refused connections, a previous incident), as an episode is.
    Bursts that keep coming back (a crash loop's back-off, a flapping link) and a noisy
    series that exceeds now and then are one trouble, dated by the first."""
    quiet, last, before = 0, 0, 0
    for i, e in enumerate(exceed):
        if e:
            if quiet >= quiet_n:
                before, last = i - quiet, i
            quiet = 0
        else:
            quiet += 1
    if not last or before >= quiet_n:
        return 0
    rest = exceed[last:]
    return last if sum(rest) >= SOLID * len(rest) else 0


@dataclass(frozen=True, slots=True)
class _Window:
    """Where `_detect_matrix` looks, in point indices: `lo` the earliest baseline end,
    [ib, ir) the recent window, `ie` the earliest end of an episode (`_episode`), `n`
    the points, `step` the median step in seconds."""

    lo: int
    ib: int
    ie: int
    ir: int
    n: int
    step: float


def _scan_matrix(
    x: np.ndarray,
    rows: list[Series],
    classes: list[SignalClass],
    dirs: np.ndarray,
    eff_dir: np.ndarray,
    base: np.ndarray,
    scale: np.ndarray,
    be: np.ndarray,
    w: _Window,
) -> dict[int, MetricFinding]:
    """Findings by row index, reading every row in direction `eff_dir` (+1 up, -1 down)."""
    import numpy as np

    lo, ib, ie, ir, n, step = w.lo, w.ib, w.ie, w.ir, w.n, w.step
    cols = np.arange(n)
    zz = (x - base[:, None]) / scale[:, None] * eff_dir[:, None]
    exceed = zz > Z_ONSET
    # search from the (earliest) baseline end to the end of the recent window
    rex = exceed[:, lo:ir] & (cols[None, lo:ir] >= be[:, None])
    width = ir - lo
    # fraction of exceeding points from each index to the end of the recent window
    remaining = width - np.arange(width)
    suffix = np.cumsum(rex[:, ::-1], axis=1)[:, ::-1] / remaining[None, :]
    # a sustained start: RUN consecutive exceeding points (fewer at the window's end)
    run = rex.copy()
    run_len = min(RUN, max(1, math.ceil(RUN_S / step)))
    ep_len = max(run_len, math.ceil(EPISODE_MIN_S / step))
    quiet_n = max(RUN, math.ceil(EPISODE_S / step))
    for j in range(1, run_len):
        shifted = np.ones_like(rex)
        shifted[:, :-j] = rex[:, j:]
        run &= shifted
    ok = run & (suffix >= 0.5)
    # the anomaly must still be there in the recent window
    ok &= exceed[:, ib:ir].any(axis=1)[:, None]
    # a sustained shift, or maybe an episode (exceeding points near the alert)
    has = ok.any(axis=1) | exceed[:, ie:ir].any(axis=1)
    cand = np.nonzero(has)[0]
    out: dict[int, MetricFinding] = {}
    for r in cand.tolist():
        d = int(eff_dir[r])
        b = float(base[r])
        # the earliest start whose level clears Z_ANOMALY (see `LATER_STARTS`)
        oi, zr, until, end = -1, -math.inf, None, n
        tries = LATER_STARTS if classes[r].family == "traffic" else 1
        for k in (lo + np.nonzero(ok[r])[0][:tries]).tolist():
            # the run may have started before the recent window: walk back while exceeding
            while k - 1 >= MIN_BASE_POINTS and exceed[r, k - 1]:
                k -= 1
            lv = float(np.median(x[r, k:ir]))
            zr = float(min((lv - b) / scale[r] * d, 1e6))
            if zr >= Z_ANOMALY:
                oi = k
                # a burst that came and went, quiet for a while before the trouble
                # the page is about began: that trouble's start is the onset
                k2 = oi + _after_quiet(exceed[r, oi:ir].tolist(), quiet_n)
                if k2 > oi:
                    lv2 = float(np.median(x[r, k2:ir]))
                    z2 = float(min((lv2 - b) / scale[r] * d, 1e6))
                    if z2 >= Z_ANOMALY:
                        oi, lv, zr = k2, lv2, z2
                break
        if oi < 0:
            ep = _episode(
                x[r].tolist(),
                exceed[r].tolist(),
                ie,
                ir,
                ep_len,
                b,
                float(scale[r]),
                d,
            )
            if ep is None:
                continue
            oi, end, lv, zr = ep
            until = float(rows[r].timestamps[end])
        post = x[r, oi:end]
        peak = float(post.max() if d > 0 else post.min())
        out[r] = _finding(rows[r], classes[r], float(dirs[r]), d, zr, lv, b, peak, oi, until)
    return out


def _few_failures_z(
    row: Series, c: SignalClass, d: int, lv: float, base: float, oi: int, until: float | None
) -> float:
    """The most a rate of failed calls can say by how many failures it holds from the
    onset on (`failures_z`). A database client that counted one failed call, or three in
    half an hour, over a baseline of none read as "calls to the database fail" at z 100
    in a blind generator's incidents with no database trouble; a failing database fails
    hundreds, and a defect throwing on every fourth call of an endpoint, dozens a minute."""
    ts = row.timestamps
    if d <= 0 or len(ts) < 2:
        return math.inf
    span = (until if until is not None else ts[-1]) - ts[oi] + mean_step(row)
    return failures_z(row, c, lv, base, span)


def mean_step(s: Series) -> float:
    """The series' mean step, in seconds (0 with fewer than two points)."""
    ts = s.timestamps
    return (ts[-1] - ts[0]) / (len(ts) - 1) if len(ts) > 1 else 0.0


def counts_failures(row: Series, c: SignalClass) -> bool:
    """A rate of failed calls counted by a counter: a client library creates such a
    labelled counter at its first increment (and again after each restart), so
    minutes without a sample are minutes without a failure, not a gap in what is
    known (`changes.attribute`)."""
    return c.family == "errors" and _counted(c) and RATED_QUERY.search(row.query) is not None


def failures_z(row: Series, c: SignalClass, level: float, base: float, span: float) -> float:
    """The most a rate of failed calls (`level` a second, against `base`) can say by how
    many failures it amounts to over `span` seconds: Poisson on that count, never under
    one failure. inf for any other series: a share, a gauge, demand, a series that is not
    a rate. The anomaly detector (`_few_failures_z`) and a change's before-and-after
    (`changes.attribute`) both cap by it."""
    if c.family != "errors" or not _counted(c) or span <= 0 or not RATED_QUERY.search(row.query):
        return math.inf
    floor = math.sqrt(max(abs(base) * span, 1.0)) / span
    return (level - base) / floor


POD_VOLUME = re.compile(r"/var/lib/kubelet/pods/[^/]+/volumes/")
"""node_exporter's filesystem of a pod's own volume (a PersistentVolume the kubelet
mounts under the pod's directory): measured on the node, but one pod's disk."""


def scope_of(c: SignalClass, s: Series) -> Scope:
    """The scope a finding of series `s` has: its class's (`families`), except that a
    node's filesystem mounted as a pod's volume (`POD_VOLUME`) is that pod's."""
    if c.scope == "node" and POD_VOLUME.search(s.labels.get("mountpoint", "")):
        return "pod"
    return c.scope


def _finding(
    row: Series,
    c: SignalClass,
    dirn: float,
    d: int,
    zr: float,
    lv: float,
    base: float,
    peak: float,
    oi: int,
    until: float | None,
) -> MetricFinding:
    """One finding, the same on both paths: `dirn` the family's bad direction (0: either
    way), `d` the direction read, `oi` the onset's index."""
    fam = c.family
    zr = min(zr, _few_failures_z(row, c, d, lv, base, oi, until))
    return MetricFinding(
        series=row,
        family=fam,
        direction=d,
        z=zr,
        rel=float((lv - base) / max(abs(base), 1e-9) * d),
        baseline=base,
        level=lv,
        peak=peak,
        onset=float(row.timestamps[oi]),
        strength=_strength(zr),
        bad=bool(dirn != 0 or (fam == "traffic" and d > 0) or fam is None),
        scope=scope_of(c, row),
        known=c.known,
        until=until,
        shape=c.shape,
    )


# ------------------------------------------------------------------ pure-Python path
# `_detect_rows` is `_detect_matrix` one row at a time, with numpy's float semantics.


def _np_sum(a: Sequence[float]) -> float:
    """numpy's float64 `add.reduce` of one row, bit for bit: pairwise summation (8
    partial sums over blocks of up to 128 values, halves beyond) added to 0.0."""
    return 0.0 + _pairwise(a, 0, len(a))


def _pairwise(a: Sequence[float], lo: int, n: int) -> float:
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    if n <= 128:
        r0, r1, r2, r3, r4, r5, r6, r7 = a[lo : lo + 8]
        end = lo + n - n % 8
        i = lo + 8
        while i < end:
            r0 += a[i]
            r1 += a[i + 1]
            r2 += a[i + 2]
            r3 += a[i + 3]
            r4 += a[i + 4]
            r5 += a[i + 5]
            r6 += a[i + 6]
            r7 += a[i + 7]
            i += 8
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        for j in range(end, lo + n):
            res += a[j]
        return res
    n2 = n // 2
    n2 -= n2 % 8
    return _pairwise(a, lo, n2) + _pairwise(a, lo + n2, n - n2)


def _np_median(a: Sequence[float]) -> float:
    """`np.median` of finite values (the mean of the middle one or two, from 0.0)."""
    v = sorted(a)
    h = len(v) // 2
    if len(v) % 2:
        return 0.0 + v[h]
    return (0.0 + v[h - 1] + v[h]) / 2.0


median = _np_median
"""The median of finite values as numpy defines it (for the other analyzers)."""


def _whole(vals: Sequence[float]) -> bool:
    """Every value a whole number: a count per interval, not a rate."""
    return all(v == math.floor(v) for v in vals)


def _ma_median(a: Sequence[float]) -> float:
    """`np.nanmedian` (`np.ma.median` below 600 values) of finite values: the sum of the
    middle two (the middle one twice for an odd count) halved."""
    v = sorted(a)
    h = len(v) // 2
    lo = v[h] if len(v) % 2 else v[h - 1]
    return (0.0 + lo + v[h]) / 2.0


def _fill(vals: Sequence[float]) -> list[float]:
    """+Inf points as `INF_CEILING` times the row's largest finite value (when it is
    positive); missing points (NaN, -Inf, an +Inf with nothing to scale) from the
    previous valid value, or the row's median before the first one (0.0 for a row with
    none)."""
    x = [float(v) for v in vals]
    if all(math.isfinite(v) for v in x):
        return x
    good = [v for v in x if math.isfinite(v)]
    top = max(good) if good else 0.0
    if top > 0 and math.inf in x:
        ceiling = INF_CEILING * top
        x = [ceiling if v == math.inf else v for v in x]
        good = [v for v in x if math.isfinite(v)]
    med = _ma_median(good) if good else 0.0
    out: list[float] = []
    last: float | None = None
    for v in x:
        if math.isfinite(v):
            last = v
        out.append(last if last is not None else med)
    return out


def _detect_rows(
    rows: list[Series],
    matcher: FamilyMatcher,
    alert_ts: float,
    lookahead_s: float,
) -> list[MetricFinding]:
    n = len(rows[0].values)
    ts0 = [float(t) for t in rows[0].timestamps]
    step = _np_median([b - a for a, b in zip(ts0, ts0[1:], strict=False)]) if n > 1 else 60.0
    recent_s = max(RECENT_S, 4 * step)
    ib = bisect_left(ts0, alert_ts - recent_s)
    ir = bisect_right(ts0, alert_ts + max(lookahead_s, 2 * step))
    ir = min(max(ir, 1), n)
    if ib < MIN_BASE_POINTS or ib >= ir:
        ib = max(SHORT_BASE_POINTS, min(n // 2, ir - 1))
    if ib >= ir or ib < SHORT_BASE_POINTS:
        return []
    kmin = max(MIN_BASE_POINTS, n // 6)
    # an episode that is over must have ended inside the recent window, near the alert
    ie = max(ib, bisect_left(ts0, alert_ts - max(EPISODE_S, 2 * step)))
    # change-point weights, shared by every row
    ks = [float(k) for k in range(kmin, ir)] if ir - 1 > kmin else []
    weights = [math.sqrt(k * (ir - k) / ir) for k in ks]
    out: list[MetricFinding] = []
    for row in rows:
        c = matcher.classify(row.name, row.labels)
        x = _fill(row.values)
        dirn = 0.0 if c.family in ("traffic", None) else (1.0 if c.bad_up else -1.0)
        be = ib
        if ks:
            csum: list[float] = []
            acc = x[0]
            csum.append(acc)
            for v in x[1:ir]:
                acc += v
                csum.append(acc)
            total = csum[-1]
            best = -math.inf
            kcp = 0
            for j, k in enumerate(ks):
                cs = csum[kmin - 1 + j]
                shift = (total - cs) / (ir - k) - cs / k
                sig = (abs(shift) if dirn == 0 else shift * dirn) * weights[j]
                if sig > best:
                    best, kcp = sig, j
            be = min(be, kcp + kmin)
        basev = x[:be]
        base = _ma_median(basev)
        mad = _ma_median([abs(v - base) for v in basev])
        padded = basev + [0.0] * (n - be)
        avg = _np_sum(padded) / be
        sq = [(v - avg) * (v - avg) for v in basev] + [0.0] * (n - be)
        sd = math.sqrt(_np_sum(sq) / be)
        span = max(abs(v - base) for v in x)
        poisson = _count_floor(c, base) if _whole(x) else 0.0
        share = share_floor(c)
        visited = _visited(sorted(basev), base) if mad == 0 else 0.0
        scale = max(
            1.4826 * mad,
            visited,
            0.25 * sd,
            c.rel_floor * abs(base),
            0.01 * span,
            poisson,
            share,
            1e-9,
        )
        rmed = _np_median(x[ib:ir])
        if dirn != 0:
            d = dirn
        else:
            d = 1.0 if rmed - base > 0 else (-1.0 if rmed - base < 0 else 1.0)
        win = _Window(be, ib, ie, ir, n, step)
        best_f: MetricFinding | None = None
        for way in (d,) if dirn != 0 else (d, -d):  # both ways: see _detect_matrix
            f = _scan_row(row, c, x, dirn, way, base, scale, win)
            if f is not None and (best_f is None or f.z > best_f.z):
                best_f = f
        if best_f is not None:
            out.append(best_f)
    return out


def _scan_row(
    row: Series,
    c: SignalClass,
    x: list[float],
    dirn: float,
    d: float,
    base: float,
    scale: float,
    w: _Window,
) -> MetricFinding | None:
    """`_scan_matrix` for one row read in direction `d`; `w.lo` is this row's own
    baseline end."""
    be, ib, ie, ir, n, step = w.lo, w.ib, w.ie, w.ir, w.n, w.step
    run_len = min(RUN, max(1, math.ceil(RUN_S / step)))
    ep_len = max(run_len, math.ceil(EPISODE_MIN_S / step))
    exceed = [(v - base) / scale * d > Z_ONSET for v in x]
    if not any(exceed[ib:ir]):
        return None
    # the first index from the baseline end that starts a run and from which at
    # least half of the points up to the end of the recent window exceed
    rex = exceed[be:ir]
    width = len(rex)
    after = [0] * (width + 1)
    for j in range(width - 1, -1, -1):
        after[j] = after[j + 1] + rex[j]
    di = int(d)
    oi, tried = -1, 0
    lv, zr = 0.0, -math.inf
    tries = LATER_STARTS if c.family == "traffic" else 1
    for j in range(width):
        if tried >= tries:
            break
        if not rex[j] or after[j] / (width - j) < 0.5:
            continue
        if not all(rex[j + t] for t in range(1, run_len) if j + t < width):
            continue
        tried += 1
        k = be + j
        while k - 1 >= MIN_BASE_POINTS and exceed[k - 1]:
            k -= 1
        lv = _np_median(x[k:ir])
        zr = float(min((lv - base) / scale * di, 1e6))
        if zr >= Z_ANOMALY:
            oi = k
            # as `_scan_matrix` does: after a burst that came and went, the onset of
            # the trouble still going on
            k2 = oi + _after_quiet(exceed[oi:ir], max(RUN, math.ceil(EPISODE_S / step)))
            if k2 > oi:
                lv2 = _np_median(x[k2:ir])
                z2 = float(min((lv2 - base) / scale * di, 1e6))
                if z2 >= Z_ANOMALY:
                    oi, lv, zr = k2, lv2, z2
            break
    end, until = n, None
    if oi < 0:
        ep = _episode(x, exceed, ie, ir, ep_len, base, scale, di)
        if ep is None:
            return None
        oi, end, lv, zr = ep
        until = float(row.timestamps[end])
    post = x[oi:end]
    peak = max(post) if di > 0 else min(post)
    return _finding(row, c, dirn, di, zr, lv, base, peak, oi, until)


LOW_VOLUME = 5.0
"""Requests per interval under which a service's latency, error and availability
readings are mostly sampling noise: one slow call of five moves a p99, one failure of
two makes availability 50%. Their strength scales with volume / LOW_VOLUME (at least
THIN_FLOOR)."""
THIN_FLOOR = 0.2
_THIN_FAMILIES = ("latency", "errors", "availability")


START_UP_S = 300.0
"""How long a process's start may cost CPU: a JVM compiling its hot paths, caches and
pools filling (as `events.WARMUP_S` gives a pod to turn ready)."""


def without_start_up(
    findings: list[MetricFinding], starts: Iterable[tuple[str, float]]
) -> list[MetricFinding]:
    """`findings` without the CPU bursts of a service's process starting: one that began
    within a step or a minute of a start of its service (`starts`: each change's service
    and time, a deploy or a restart) and was over (`until`, else the series' end) within
    `START_UP_S` of it, or of the last of the starts that followed each within that
    (a restart loop: each start burns CPU again).
    A rollout's new process working hard for its first minutes is no trouble: read as
    one, it dated an innocent deploy's service as the incident's start and the deploy
    as its cause. CPU that stays up after the start is kept (a release that burns it)."""
    at: dict[str, list[float]] = {}
    for svc, t in starts:
        at.setdefault(svc, []).append(t)

    def start_up(f: MetricFinding) -> bool:
        if f.family != "cpu" or not f.series.service:
            return False
        slack = max(mean_step(f.series), 60.0)
        times = sorted(at.get(f.series.service, ()))
        first = next((t for t in times if t - slack <= f.onset <= t + slack), None)
        if first is None:
            return False
        # starts that keep coming (a restart loop) keep it a start-up while each comes
        # within `START_UP_S` of the one before
        cover = first + START_UP_S
        for t in times:
            if first < t <= cover:
                cover = t + START_UP_S
        last = f.series.timestamps[-1] if f.series.timestamps else math.inf
        end = f.until if f.until is not None else last
        return end <= cover

    return [f for f in findings if not start_up(f)]


def without_applied(
    findings: list[MetricFinding], changes: Iterable[tuple[str, float]]
) -> list[MetricFinding]:
    """`findings` without a service's restarts that are its own change being applied: a
    deploy or a config push on machines or plain Docker restarts the process (Kolla's
    reconfigure, a systemd unit's restart), and its start time or restart count moves
    with it. Restarts all within a step or a minute before to `START_UP_S` after one of
    the service's changes (`changes`: service and time) are that change, not a crash;
    one more later is kept, and so is every one of a service with no change."""
    at: dict[str, list[float]] = {}
    for svc, t in changes:
        at.setdefault(svc, []).append(t)

    def applied(f: MetricFinding) -> bool:
        if f.family != "restarts" or not f.series.service or f.series.service not in at:
            return False
        slack = max(mean_step(f.series), 60.0)
        rises = count_rises(f.series)
        return bool(rises) and all(
            any(c - slack <= t <= c + START_UP_S for c in at[f.series.service]) for t in rises
        )

    return [f for f in findings if not applied(f)]


def restart_times(series: list[Series], matcher: FamilyMatcher) -> list[tuple[str, float]]:
    """(service, when) of each restart a restart count shows (a counter's or a count's
    rise between two samples: `kube_pod_container_status_restarts_total`, a start time
    read as restarts, `start_times_as_restarts`): a start, as a deploy's is."""
    return [
        (s.service, t)
        for s in series
        if s.service and matcher.classify(s.name, s.labels).family == "restarts"
        for t in count_rises(s)
    ]


def count_rises(s: Series) -> list[float]:
    """When a count rose: each sample above the last finite one before it."""
    out: list[float] = []
    prev = math.nan
    for t, v in zip(s.timestamps, s.values, strict=True):
        if math.isfinite(v):
            if math.isfinite(prev) and v > prev:
                out.append(t)
            prev = v
    return out


def thin_out(
    findings: list[MetricFinding], series: list[Series], matcher: FamilyMatcher
) -> list[MetricFinding]:
    """Findings of services that serve few requests per interval, weakened (LOW_VOLUME).

    A service's volume is the median of its largest request series over the window,
    read as requests per interval: a whole-number series counts them, any other is a
    rate per second (times the step; a rate that is a whole number at every point is
    read as counts, which only errs toward weakening). A service without a request
    series is left as it is."""
    volume: dict[str, float] = {}
    for s in series:
        if not s.service or matcher.classify(s.name, s.labels).family != "traffic":
            continue
        vals = [v for v in s.values if math.isfinite(v)]
        if len(vals) < MIN_BASE_POINTS + 2:
            continue
        level = _np_median(vals)
        if not _whole(vals):
            ts = s.timestamps
            level *= _np_median([b - a for a, b in zip(ts, ts[1:], strict=False)])
        volume[s.service] = max(volume.get(s.service, 0.0), level)
    out: list[MetricFinding] = []
    for f in findings:
        v = volume.get(f.series.service or "")
        if v is not None and v < LOW_VOLUME and f.family in _THIN_FAMILIES:
            f = replace(f, strength=f.strength * max(THIN_FLOOR, v / LOW_VOLUME))
        out.append(f)
    return out


_NAME_SEP = re.compile(r"[^0-9a-z]+")


def _flat(name: str) -> str:
    """A name lower-cased with every run of non-alphanumerics as one `_`."""
    return _NAME_SEP.sub("_", name.lower()).strip("_")


def attribute_by_name(series: list[Series], services: set[str]) -> list[Series]:
    """Series with no service label whose metric name begins with a known service's name
    (`cartservice_cpu`, `payments_http_latency_p99`: one column per service and signal,
    as per-service CSV exports and some converters write them) belong to that service,
    read under the rest of the name. The longest matching name wins; names compare with
    any run of non-alphanumerics as one separator (Prometheus names cannot hold the `-`
    a service name may); names shorter than three letters never match. Series with a
    service, or with no known name in front, are left as they are."""
    heads = sorted(
        ((k, x) for x in services if len(x) >= 3 and (k := _flat(x))), key=lambda kv: -len(kv[0])
    )
    # the service's words, any separators between them and after them, then the rest
    rxs = [
        (re.compile("[^0-9a-z]+".join(map(re.escape, k.split("_"))) + "[^0-9a-z]+", re.I), x)
        for k, x in heads
    ]
    out: list[Series] = []
    for s in series:
        if not s.service:
            for rx, svc in rxs:
                m = rx.match(s.name)
                if m is not None and m.end() < len(s.name):
                    s = replace(s, name=s.name[m.end() :], service=svc)
                    break
        out.append(s)
    return out


UNIT_LABELS = ("systemd_unit", "unit", "service_name")
"""Labels that name the process group a process-level series measures: systemd's unit
(Telegraf's procstat `systemd_unit`, systemd-exporter's `name`-less `unit`)."""
_POOL_OWNERS = re.compile(r"^(phpfpm|php_fpm)_")
"""Metrics whose `pool` label is an application's own pool of workers: PHP-FPM runs one
pool per app (`[storefront]`), where a JDBC pool's name (Hikari's `pool`) is a client's."""
_UNIT_SUFFIX = re.compile(r"\.(service|socket|scope|timer)$")


def _unit_names(value: str) -> list[str]:
    """The names a systemd unit is known by: `php8.2-fpm@storefront.service` is an
    instance (`storefront`) of a template (`php8.2-fpm`); `queue-worker@1.service` an
    instance (`1`) of `queue-worker`; `nginx.service` just `nginx`."""
    unit = _UNIT_SUFFIX.sub("", value.strip())
    base, _, inst = unit.partition("@")
    return [x for x in (inst, base) if x]


def attribute_by_unit(series: list[Series], services: set[str]) -> list[Series]:
    """Series with no service whose process group names a known service: its systemd
    unit (`UNIT_LABELS`: `php8.2-fpm@checkout.service` is checkout's, `queue-worker@2.service`
    queue-worker's), or a PHP-FPM pool (`phpfpm_active_processes{pool="checkout"}`,
    `_POOL_OWNERS`). A VM's agent (Telegraf, collectd) labels process and pool series
    so, by host and unit, with no service label. Names compare as `_flat` does; a
    value naming no known service leaves the series as it is."""
    known = {_flat(x): x for x in services if x}
    out: list[Series] = []
    for s in series:
        if not s.service:
            said = [v for k in UNIT_LABELS if (v := s.labels.get(k))]
            names = [n for v in said for n in _unit_names(v)]
            if _POOL_OWNERS.match(normalize_name(s.name)) and s.labels.get("pool"):
                names.insert(0, s.labels["pool"])
            hit = next((known[f] for n in names if (f := _flat(n)) in known), None)
            if hit is not None:
                s = replace(s, service=hit)
        out.append(s)
    return out


PRODUCT_WORDS: dict[str, tuple[str, ...]] = {
    "traefik": ("traefik",),
    "haproxy": ("haproxy",),
    "nginx": ("nginx",),
    "envoy": ("envoy",),
    "kong": ("kong",),
    "varnish": ("varnish",),
    "redis": ("redis",),
    "memcached": ("memcached",),
    "rabbitmq": ("rabbitmq", "rabbit"),
    "kafka": ("kafka",),
    "mysql": ("mysql", "mariadb", "mysqld"),
    "pg": ("postgres", "postgresql", "pg"),
    "mongodb": ("mongo", "mongodb", "mongod"),
    "elasticsearch": ("elasticsearch", "opensearch"),
    "coredns": ("coredns",),
    "etcd": ("etcd",),
}
"""The first word of an exporter's or a server's own metric names (`traefik_entrypoint_
requests_total`, `redis_connected_clients`, `pg_stat_activity_count`) and the words a
service running that product is called by."""


ROUTE_LABELS = (
    "ingress",
    "exported_service",
    "service",
    "backend",
    "upstream",
    "router",
    "route",
    "cluster_name",
    "envoy_cluster_name",
    "host",
    "server",
)
"""Labels by which a proxy's series name the route or backend they measure (ingress-
nginx's `ingress`, Traefik's `service` and `router`, HAProxy's `backend` and `server`,
Envoy's cluster): such a series is the backend's (the latency of the requests it
served), not the proxy's own."""


def product_of(s: Series) -> str:
    """The first word of the metric a series measures (its query's, where its name is a
    file's): the product whose own metric it is, if `PRODUCT_WORDS` knows it."""
    metric = (query_reading(s.query) if s.query and s.promql else None) or s.name
    return metric.split("_", 1)[0].lower() if "_" in metric else ""


def product_of_name(name: str) -> str | None:
    """The product (`PRODUCT_WORDS`) a service's name says it runs (`haproxy`,
    `edge-haproxy`, `session-redis`): None for a name with no product's word, or two."""
    words = set(re.split(r"[-_.]+", name.lower()))
    hits = [p for p, names in PRODUCT_WORDS.items() if words & set(names)]
    return hits[0] if len(hits) == 1 else None


def product_owners(services: set[str]) -> dict[str, str]:
    """Product (`PRODUCT_WORDS`) → the one known service named after it."""
    words = {x: set(re.split(r"[-_.]+", x.lower())) for x in services}
    owner: dict[str, str] = {}
    for product, names in PRODUCT_WORDS.items():
        hits = [x for x, w in words.items() if w & set(names)]
        if len(hits) == 1:
            owner[product] = hits[0]
    return owner


def attribute_by_product(series: list[Series], services: set[str]) -> list[Series]:
    """Series with no service whose metric is a product's own (`PRODUCT_WORDS`: Traefik's
    entry points, a Redis exporter's clients) belong to the one known service running
    that product by its name (`traefik`, `session-redis`). Not a proxy's series of a
    route or a backend (`ROUTE_LABELS`); a product two services are named after, or
    none, leaves them as they are. New objects."""
    owner = product_owners(services)
    out: list[Series] = []
    for s in series:
        if not s.service and not any(s.labels.get(k) for k in ROUTE_LABELS):
            who = owner.get(product_of(s))
            if who is not None:
                s = replace(s, service=who)
        out.append(s)
    return out


def attribute_product_jobs(series: list[Series], services: set[str]) -> list[Series]:
    """Series whose service is only the product they measure (`job="mysqld"`, the
    daemon's name as an exporter's job is often called) and that nothing else names,
    read as the one service (`services`: the topology's, logs', alerts') running that
    product by its name: MariaDB's series scraped as `mysqld` are `mariadb`'s. A product
    two services run, or none, leaves them as they are. New objects."""
    owner = product_owners(services)
    out: list[Series] = []
    for s in series:
        # (named by its scrape job alone: a pod's workload is a name of its own)
        by_job = s.labels.get("job") == s.service and not (
            s.labels.get("pod") or s.labels.get("pod_name")
        )
        if s.service and by_job and s.service not in services:
            product = product_of_name(s.service)
            who = owner.get(product) if product and s.service.lower() in _PRODUCT_NAMES else None
            if who is not None:
                s = replace(s, service=who)
        out.append(s)
    return out


_PRODUCT_NAMES = frozenset(w for ws in PRODUCT_WORDS.values() for w in ws)
"""Every word a product is called by (`PRODUCT_WORDS`)."""


def by_squashed(services: Iterable[str]) -> dict[str, str]:
    """`alert_service.squash`ed name → the service so spelled (the first in order)."""
    from aisre_cli.investigate.alert_service import squash

    out: dict[str, str] = {}
    for x in sorted(services):
        out.setdefault(squash(x), x)
    return out


_HAPROXY_POOL = re.compile(r"(?:^|_)haproxy_(?:backend|server)_")
"""HAProxy's series of a backend or of one of its servers (the community exporter's
`haproxy_backend_*`/`haproxy_server_*`, the built-in exporter's the same): the answers
and response times of the service behind it, as the proxy measured them."""
_POOL_AFFIX = re.compile(
    r"^(?:be|bk|back|backend)[-_.]+|[-_.]+(?:be|bk|back|backend|servers|pool|upstream)$",
    re.IGNORECASE,
)
"""How a load balancer's configuration marks a name as a backend pool (`be_api`,
`bk_web`, Kolla's `nova_api_back`, `api-backend`, `web_servers`): what is left names the
service it balances."""
_SIDE_WORDS = frozenset({"internal", "external", "public", "admin", "private", "int", "ext"})
"""Words a pool's name adds for which side it serves (Kolla's `keystone_internal_back`
and `keystone_external_back`, both keystone's)."""


def pool_service(pool: str, by_key: Mapping[str, str]) -> str | None:
    """The service a backend pool's name stands for, its pool marks and side words
    taken off: `nova_api_back` is nova-api, `keystone_internal_back` keystone. The known
    service (`by_key`: `alert_service.squash`ed name → name) so spelled; else, for a
    name the pool marks say is one (a backend is a service's pool), that name, its words
    joined by dashes. None for a name that is neither."""
    from aisre_cli.investigate.alert_service import squash

    bare = _POOL_AFFIX.sub("", pool) or pool  # a mark at either end, once
    words = [w for w in re.split(r"[-_.]+", bare) if w]
    own = "-".join(w for w in words if w.lower() not in _SIDE_WORDS).lower()
    for cand in (bare, own):
        hit = by_key.get(squash(cand)) if cand else None
        if hit is not None:
            return hit
    return own if bare != pool and len(own) >= 3 else None


def attribute_proxy_pools(series: list[Series], services: set[str]) -> list[Series]:
    """HAProxy's series of a backend (`_HAPROXY_POOL`) are the service behind it, where
    the backend's name (`backend`, or `proxy` as HAProxy's built-in exporter labels it)
    stands for a known service (`pool_service`): `haproxy_backend_http_responses_total
    {backend="nova_api_back"}` counts nova-api's answers, not the proxy's own. Its
    frontends' series stay the proxy's; so does a pool that names no service. (A 5xx
    the proxy made itself, with the backend's own view clean, goes back to the proxy:
    `proxy_rejections`.) New objects."""
    by_key = by_squashed(services)
    out: list[Series] = []
    for s in series:
        pool = s.labels.get("backend") or s.labels.get("proxy")
        metric = (query_reading(s.query) if s.query else None) or s.name
        if pool and _HAPROXY_POOL.search(metric):
            who = pool_service(pool, by_key)
            if who is not None and who != s.service:
                s = replace(s, service=who)
        out.append(s)
    return out


PROXY_PRODUCTS = frozenset({"nginx", "traefik", "haproxy", "envoy", "kong", "varnish"})
"""Products whose series of a backend (`ROUTE_LABELS`) count what the proxy answered for
it: the backend's answers, or the proxy's own (its rate limit, its route)."""


def proxy_rejections(
    findings: list[MetricFinding],
    series: Sequence[Series],
    classify: Callable[[str, dict[str, str]], SignalClass],
    services: set[str],
) -> list[MetricFinding]:
    """Errors a proxy counted for a backend that the backend's own view of the requests
    it served does not show are the proxy's own answers (a rate limit it was given, a
    route it lost), not the backend's: such a finding is moved to the proxy (the one
    known service running the product, `product_owners`). The backend's own view is
    its error series that are no proxy's (its server's counts, its sidecar's inbound
    success rate); only where one has data up to the end and none of them moved, so a
    backend that went down (its series gone) keeps the proxy's 502s. New objects."""
    owner = product_owners(services)
    # each of the proxy's findings of one backend's errors → the proxy (read once)
    to_proxy: dict[int, str] = {}
    for f in findings:
        if not (f.bad and f.family == "errors" and f.series.service):
            continue
        if not any(f.series.labels.get(k) for k in ROUTE_LABELS):
            continue
        prod = product_of(f.series)
        if prod in PROXY_PRODUCTS and prod in owner:
            to_proxy[id(f)] = owner[prod]
    if not to_proxy:
        return findings
    moved_own = {
        f.series.service
        for f in findings
        if f.bad and f.family == "errors" and id(f) not in to_proxy
    }
    watched: set[str] = set()
    for s in series:
        if (
            s.service
            and s.values
            and math.isfinite(s.values[-1])
            and classify(s.name, s.labels).family == "errors"
            and product_of(s) not in PROXY_PRODUCTS
        ):
            watched.add(s.service)
    out: list[MetricFinding] = []
    for f in findings:
        backend = f.series.service
        proxy = to_proxy.get(id(f))
        if proxy is not None and backend in watched and backend not in moved_own:
            f = replace(f, series=replace(f.series, service=proxy))
        out.append(f)
    return out


_NAMESPACES = frozenset(
    {
        "container", "node", "pod", "kube", "kubelet", "process", "go", "jvm", "python",
        "http", "https", "grpc", "rpc", "istio", "envoy", "nginx", "system", "host",
        "machine", "probe", "up", "net", "network", "disk", "fs", "cpu", "mem", "memory",
        "hikaricp", "tomcat", "redis", "mysql", "pg", "postgres", "kafka", "rabbitmq",
        "aws", "azure", "gcp", "otel", "otelcol", "prometheus", "alertmanager", "traefik",
        "coredns", "etcd", "apiserver", "scheduler", "controller", "haproxy", "consul",
    }
)  # fmt: skip
"""First words of metric names that name an exporter or a runtime, never a service."""


def services_in_names(series: list[Series], matcher: FamilyMatcher) -> set[str]:
    """Services read from the names of unlabelled series alone, which matters when
    nothing else names them (no topology, logs, spans or labelled series; otherwise it
    only adds to those names): per-service columns look like
    `<service>_<signal>` over a grid, several services each with several signals the
    catalogue knows, the same signals for each (`adservice_cpu`, `adservice_latency-90`,
    `cartservice_cpu`, `cartservice_latency-90`). A first word is a service when
    - what follows it is a signal the catalogue knows;
    - it has at least two such signals;
    - at least one of its signals also follows another such word;
    - it is not an exporter's or runtime's namespace (`container`, `http`, `jvm`, ...).
    The first word is everything before the first separator (`-` within a service name
    is kept: Prometheus names cannot hold it, and CSV columns keep it)."""
    grid: dict[str, set[str]] = defaultdict(set)
    for s in series:
        if s.service:
            continue
        head, sep, rest = s.name.partition("_")
        if not sep or not rest or len(head) < 3 or head.lower() in _NAMESPACES:
            continue
        if matcher.classify(rest, s.labels).known:
            grid[head].add(_flat(rest))
    heads = {h for h, sigs in grid.items() if len(sigs) >= 2}
    out: set[str] = set()
    for h in heads:
        if any(grid[h] & grid[o] for o in heads if o != h):
            out.add(h)
    return out


def attribute_by_target(series: list[Series]) -> list[Series]:
    """Series with no service but an `instance` (the scrape target, `10.0.0.5:8080`)
    belong to the service that other series of the same target name: the series of one
    scrape share its target, and `up{job="checkout", instance=…}` says whose it is. A
    target two services claim is left alone."""
    owners: dict[str, set[str]] = {}
    for s in series:
        inst = s.labels.get("instance")
        # a series that names a pod speaks for the pod, not for the target that
        # scraped it (cAdvisor's kubelet serves every pod on its node)
        if s.service and inst and not (s.labels.get("pod") or s.labels.get("pod_name")):
            owners.setdefault(inst, set()).add(s.service)
    if not owners:
        return series
    out: list[Series] = []
    for s in series:
        inst = s.labels.get("instance")
        who = owners.get(inst, set()) if inst and not s.service else set()
        out.append(replace(s, service=next(iter(who))) if len(who) == 1 else s)
    return out


_URL_LABELS = ("instance", "target", "url", "endpoint")
_HOST = re.compile(r"^(?:[a-z][a-z0-9+.-]*://)?(?:[^@/]*@)?\[?([^/:\[\]?#]+)", re.I)


_SCHEMED = re.compile(r"^\s*[a-z][a-z0-9+.-]*://", re.I)
_PROBED_FIRST = ("url", "instance", "target", "endpoint")
"""A bare host: what an agent pinged or checked (Telegraf's ping `url`) before the
`instance` it was scraped at, which is the agent's own where both are given."""


def probe_target(s: Series) -> str:
    """The URL or host a series names as what it measured (a prober's `instance`), or "".
    A URL given in full wins over a bare host: Telegraf's http_response check keeps its
    URL in `server` (or `url`) and its own agent in `instance` (`mon01:9273`)."""
    said = [s.labels[k] for k in ("server", *_URL_LABELS) if s.labels.get(k)]
    return next((v for v in said if _SCHEMED.match(v)), None) or next(
        (s.labels[k] for k in _PROBED_FIRST if s.labels.get(k)), ""
    )


def host_words(target: str) -> tuple[list[str], set[str]]:
    """The DNS labels of a probe target's host (`https://catalog.shop.svc:8443/health` →
    catalog, shop, svc) and every word in them."""
    m = _HOST.match(target.strip())
    if m is None:
        return [], set()
    labels = [x for x in m.group(1).lower().split(".") if x]
    if all(x.isdigit() for x in labels):  # an IP address names no service
        return [], set()
    return labels, {w for x in labels for w in re.split(r"[-_]", x) if w}


def public_host(target: str) -> bool:
    """A probe target's host is a public name (`tickets.lanternfish.example`): several
    labels, none of an in-cluster or private name's (`_INTERNAL_HOST`). What serves it is
    an edge or an outside party, which its name alone does not say."""
    labels, _ = host_words(target)
    return len(labels) >= 2 and not _INTERNAL_HOST & set(labels)


def attribute_by_url(
    series: list[Series], services: set[str], machines: Mapping[str, str] | None = None
) -> list[Series]:
    """Series with no service whose target is a URL or a host (the blackbox prober's
    `instance`: what it probed) belong to the service the host names: in-cluster DNS
    puts it first (`catalog.shop.svc.cluster.local`, `core-db:5432`), an external API's
    host holds its words (`api.surescripts.com` for `surescripts-api`); or, given the
    `machines` each known service alone runs on (`service_machines`), the service of the
    machine it is (`db01.shop.internal` pinged, where db01 runs only mysql). A host that
    names none of them, or two alike, is left alone (an outside endpoint of nobody)."""
    by_flat = {x.lower(): x for x in services if len(x) >= 3}
    out: list[Series] = []
    for s in series:
        target = "" if s.service else probe_target(s)
        who = host_service(target, by_flat) if target else None
        if who is None and target and machines and target != s.labels.get("instance"):
            # a machine checked from elsewhere (not the one a series was scraped on: a
            # node's own series are placed by `placed_on`)
            labels, _ = host_words(target)
            who = machines.get(labels[0]) if labels else None
        out.append(replace(s, service=who) if who else s)
    return out


def service_machines(series: list[Series]) -> dict[str, str]:
    """Machine → the one service whose series name it (`host`, `hostname`, `nodename`,
    or the host of `instance`), lower-cased: a VM fleet runs one service per machine
    (`db01` mysql's, `redis01` redis's). A machine two services' series name (a web host
    with several pools) is nobody's; so is a prober's or an agent's own."""
    seen: dict[str, set[str]] = {}
    for s in series:
        if not s.service:
            continue
        for key in ("host", "hostname", "nodename"):
            if v := s.labels.get(key):
                seen.setdefault(v.lower(), set()).add(s.service)
        if h := _instance_host(s):
            seen.setdefault(h.lower(), set()).add(s.service)
    return {m: next(iter(v)) for m, v in seen.items() if len(v) == 1}


KIND_WORDS = frozenset({"api", "svc", "service", "server"})
"""Last words of a service's name that say what it is, not which one: people and code
write `scheduling-svc` as `scheduling`, `postmark-api` as `Postmark`."""


_ORDINAL = re.compile(r"(.+)-\d+")
"""A StatefulSet's pod name: the set's name and the pod's ordinal (`kafka-1`)."""


def host_service(target: str, by_flat: dict[str, str], first: bool = True) -> str | None:
    """The service (`by_flat`: lower-cased name → name) a URL or host names: one whose
    name has several words, all of them in the host (`api.surescripts.com` is
    surescripts-api's, not api's), else (`first`) the one its first DNS label is
    (in-cluster DNS puts the service first), or a StatefulSet's pod of it (`kafka-1`), or
    whose name it is but for a last word saying what kind of thing it is
    (`KIND_WORDS`), else, for an outside host, the one-word
    service a word of its later labels is (`api.cardnet-sandbox.example` is
    cardnet's). None for a host naming none, or two."""
    labels, words = host_words(target)
    if not labels:
        return None
    fits = [
        x
        for k, x in by_flat.items()
        if len(parts := [w for w in re.split(r"[-_.]", k) if w]) >= 2 and set(parts) <= words
    ]
    if len(fits) == 1:
        return fits[0]
    if not fits and first and labels[0] in by_flat:
        return by_flat[labels[0]]
    if not fits and first and (pod := _ORDINAL.fullmatch(labels[0])) and pod[1] in by_flat:
        # a StatefulSet's pod by its own DNS name (`kafka-1.kafka-headless.ns.svc`)
        return by_flat[pod[1]]
    if not fits and first:
        # the service's name without the word saying what kind of thing it is
        # (`scheduling.fernhill.local` is scheduling-svc's)
        kin = [
            x
            for k, x in by_flat.items()
            if (p := k.rsplit("-", 1))[0] == labels[0] and len(p) == 2 and p[1] in KIND_WORDS
        ]
        if len(kin) == 1:
            return kin[0]
    if not fits and not _INTERNAL_HOST & set(labels):
        # an outside host naming a one-word service past its first label
        # (`api.cardnet-sandbox.example` is cardnet's), not a generic word of hosts
        later = {w for x in labels[1:] for w in re.split(r"[-_]", x) if w} - _HOST_WORDS
        later -= _brand_words(by_flat)
        one = [x for k, x in by_flat.items() if k in later]
        if len(one) == 1:
            return one[0]
    return None


def _brand_words(by_flat: dict[str, str]) -> set[str]:
    """Words that more than `BRAND_NAMES` names carry besides the one of that word
    alone (`afd-tidewater`, `agw-tidewater`, `sb-tidewater`): the company's or the
    namespace's, which its public hosts carry too (`api.tidewater-energy.example`), not
    one service's, even where something is named by that word alone (a namespace's
    wildcard certificate, `tidewater-internal-tls`)."""
    count: dict[str, int] = {}
    for k in by_flat:
        for w in {w for w in re.split(r"[-_.]", k) if w}:
            count[w] = count.get(w, 0) + (0 if w == k else 1)
    return {w for w, n in count.items() if n > BRAND_NAMES}


BRAND_NAMES = 2
"""How many other services' names a word may be part of and still name one service."""


_INTERNAL_HOST = frozenset({"svc", "cluster", "local", "internal", "consul"})
"""DNS labels of an in-cluster or private name, whose later labels are namespaces."""
_HOST_WORDS = frozenset(
    {"api", "www", "com", "net", "org", "io", "example", "sandbox", "prod", "staging", "dev"}
)
"""Words any host may carry: no service's name by themselves."""


_CONNTRACK = "node_nf_conntrack_entries"
CONNTRACK_FULL = 0.9
"""A conntrack table this full drops packets soon (kube-prometheus alerts at 75%)."""


def conntrack_fullness(series: list[Series]) -> list[Series]:
    """node_exporter's conntrack entries over the table's limit, per machine, as
    `node_nf_conntrack_entries_ratio` (the share kube-prometheus' alert reads): entries
    rise with every busy hour, a table near its limit drops new flows' packets. Only
    where it came near full (`CONNTRACK_FULL`)."""
    limits = {tuple(sorted(s.labels.items())): s for s in series if s.name == _CONNTRACK + "_limit"}
    out = list(series)
    for s in series:
        lim = limits.get(tuple(sorted(s.labels.items()))) if s.name == _CONNTRACK else None
        if lim is None or len(lim.values) != len(s.values):
            continue
        vals = [e / m if m > 0 else math.nan for e, m in zip(s.values, lim.values, strict=True)]
        if max((v for v in vals if math.isfinite(v)), default=0.0) < CONNTRACK_FULL:
            continue  # never near full: how busy the node was, nothing dropped
        out.append(
            replace(
                s,
                name=_CONNTRACK + "_ratio",
                values=vals,
                query=f"{_CONNTRACK} / {_CONNTRACK}_limit" if s.promql else s.query,
            )
        )
    return out


_START_TIME = re.compile(r"(?:^|_)(?:start_time(?:_seconds)?|state_started)$")
"""A process' or container's start time as a gauge of epoch seconds: every Prometheus
client library's `process_start_time_seconds`, cAdvisor's `container_start_time_seconds`,
kube-state-metrics' `kube_pod_container_state_started`."""
_EPOCH = (1e9, 1e11)
"""Epoch seconds (2001 to 5138): a start time, not a duration."""


def start_times_as_restarts(series: list[Series]) -> list[Series]:
    """A start time (`_START_TIME`) that moves on is the process started again: each
    later start time is a restart. Such a series is read as its restart count (0, then
    one more at each new start: `<metric>_restarts`, its query still the start time's),
    a restart counter the catalogue knows, instead of a timestamp whose jumps would read
    as a level shift. One whose start time never moved is left as it is. New objects."""
    out: list[Series] = []
    for s in series:
        metric = (query_reading(s.query) if s.query else None) or s.name
        if not _START_TIME.search(normalize_name(metric)):
            out.append(s)
            continue
        vals = [v for v in s.values if math.isfinite(v)]
        if not vals or not all(_EPOCH[0] <= v < _EPOCH[1] for v in vals):
            out.append(s)
            continue
        count, last, counted = 0.0, math.nan, []
        for v in s.values:
            if math.isfinite(v):
                if math.isfinite(last) and v > last + 1.0:
                    count += 1.0
                last = v if not math.isfinite(last) else max(last, v)
            counted.append(count if math.isfinite(v) else math.nan)
        if count == 0:
            out.append(s)
            continue
        out.append(
            replace(
                s,
                name=f"{normalize_name(metric)}_restarts",
                values=counted,
            )
        )
    return out


BOUNCE_MAX_S = 600.0
"""A down this short, then up again, is a process that went away and came back: a
restart (its supervisor or its container runtime starting it again)."""
_PROCESS_UP = re.compile(r"(^|_)up$")
"""Whether the process answers its scraper: Prometheus' `up`, an exporter's
`memcached_up`. Not a state others report of it (an OpenStack agent's heartbeat, a
Galera node's `wsrep_ready`): those flap when what carries the report does."""
BOUNCES_MIN = 2
"""How many such returns make a loop: one is a restart, anything may cause one."""


def up_bounces_as_restarts(series: list[Series], matcher: FamilyMatcher) -> list[Series]:
    """An up/down gauge of whether a service's process answers (`memcached_up`, the
    target's `up`, `_PROCESS_UP`; not a prober's `probe_success`, which a lossy path
    flaps alike, nor an agent's reported state) that went down and came back up, again
    and again, each time within `BOUNCE_MAX_S`: the process restarting, where nothing
    counts its restarts. Each such series gets a companion counting those returns
    (`<metric>_restarts_total`, its query and labels the gauge's), which the catalogue
    reads as a restart counter; the gauge stays, since its service was down meanwhile.
    `BOUNCES_MIN` returns or more; a series that went down and stayed down is left as
    it is. New objects."""
    out = list(series)
    for s in series:
        cls = matcher.classify(s.name, s.labels)
        metric = normalize_name((query_reading(s.query) if s.query else None) or s.name)
        if cls.shape != "updown" or cls.scope == "probe" or not _PROCESS_UP.search(metric):
            continue
        pts = [(t, v) for t, v in zip(s.timestamps, s.values, strict=False) if math.isfinite(v)]
        if len(pts) < 3:
            continue
        hi = max(v for _, v in pts)
        if hi <= 0:
            continue
        count, went, counted = 0.0, None, []
        for t, v in pts:
            if v < 0.5 * hi:
                went = t if went is None else went
            elif went is not None:
                if t - went <= BOUNCE_MAX_S:
                    count += 1.0
                went = None
            counted.append(count)
        if count < BOUNCES_MIN:
            continue
        name = f"target_{metric}" if metric.startswith("up") else metric
        out.append(
            replace(
                s,
                name=f"{name}_restarts_total",
                timestamps=[t for t, _ in pts],
                values=counted,
            )
        )
    return out


_HOST_LABELS = ("node", "kubernetes_node", "k8s_node_name", "nodename")
"""Where a series names the machine it was measured on (cAdvisor's and kube-state-
metrics' `node`, node_exporter's `nodename`)."""


def _host_label(s: Series) -> str:
    """The machine a series names in a label of `_HOST_LABELS`, or ""."""
    return next((s.labels[k] for k in _HOST_LABELS if s.labels.get(k)), "")


def _instance_host(s: Series) -> str:
    """Its scrape target's host: `instance` less the port."""
    inst = s.labels.get("instance", "")
    return inst.rsplit(":", 1)[0] if inst.count(":") == 1 else inst


def _host_of(s: Series) -> str:
    """The machine a series was measured on: a host label, else its scrape target's
    host (node_exporter's `instance`, less the port)."""
    return _host_label(s) or _instance_host(s)


MACHINE_PREFIXES = ("node_", "windows_")
"""Metric names of the collectors that measure a machine: node_exporter's and
windows_exporter's. The host they are scraped at is a machine (`placed_on`)."""


def placed_on(
    series: list[Series], placements: Iterable[tuple[str, str, str]] = ()
) -> dict[str, dict[str, float]]:
    """Machine → the services whose pods run on it, each with the share of its pods
    there: as the workloads' series with a `node` label say (and their `pod`), and their
    log records (`placements`: machine, service, pod). A service whose pods are not
    named counts each machine it is seen on as one of its places. A service on virtual
    machines (no node label) is placed by the host it is scraped at, an address or a
    name (`db-01:9187`): the machine node_exporter is scraped at on that host
    (`host_series`); in a cluster a pod's address is not its node's, and places
    nothing."""
    nodes = {h for x in series if x.name.startswith(MACHINE_PREFIXES) and (h := _instance_host(x))}
    pods: dict[tuple[str, str], set[str]] = defaultdict(set)
    for s in series:
        host = _host_label(s) or (h if (h := _instance_host(s)) in nodes else "")
        if s.service and host:
            pods[(host, s.service)].add(s.labels.get("pod") or s.labels.get("pod_name") or "")
    for host, svc, pod in placements:
        pods[(host, svc)].add(pod)
    # a pod not named is one place on its machine
    places = {k: {p for p in names if p} or {""} for k, names in pods.items()}
    total: dict[str, int] = defaultdict(int)
    for (_, svc), mine in places.items():
        total[svc] += len(mine)
    out: dict[str, dict[str, float]] = {}
    for (host, svc), mine in places.items():
        out.setdefault(host, {})[svc] = len(mine) / total[svc]
    return out


def host_series(
    series: list[Series],
    matcher: FamilyMatcher,
    on: dict[str, dict[str, float]],
) -> list[Series]:
    """A machine's own network series (node_exporter's conntrack, retransmits, drops)
    that name no service, given to each service whose pods run on it (`placed_on`): a
    full conntrack table on a node is a network fault of every service there. The node
    scope weighs it down (`scene.NODE_WEIGHT`), and so does the share of a service's
    pods on that machine (`by_placement`): the service whose own signals moved with it
    stands out among them. Not a node's CPU or memory: a node runs hot for many
    reasons, and spread over every pod it hosts it is a saturation reading at each
    (canaries lost to it). On a machine that runs one service, its disk and the
    certificates read from its files are that service's. New objects."""
    if not on:
        return series
    out: list[Series] = []
    for s in series:
        host = _host_of(s) if not s.service else ""
        fam = matcher.classify(s.name, s.labels).family if host in on else None
        if fam == "network":
            out.extend(
                replace(s, service=svc, labels={**s.labels, "node": host})
                for svc in sorted(on[host])
            )
        elif fam in _DEDICATED_FAMILIES and len(on[host]) == 1:
            # a machine that runs one service (a broker's, a database's own VM): its
            # disk filling is that service's disk, and a certificate read from its files
            # (x509-certificate-exporter: `/etc/kafka/tls/broker.crt`) that service's
            (svc,) = on[host]
            out.append(replace(s, service=svc, labels={**s.labels, "node": host}))
        else:
            out.append(s)
    return out


_DEDICATED_FAMILIES = frozenset({"certificates", "disk"})
"""A machine's readings that are its one service's where it runs one (`host_series`)."""


def by_placement(
    findings: list[MetricFinding], on: dict[str, dict[str, float]]
) -> list[MetricFinding]:
    """A machine's network finding given to a service (`host_series`) as strong as the
    share of the service's pods on that machine: a node dropping packets hurts a service
    all of whose pods run there wholly, one with one pod in six there hardly."""
    out: list[MetricFinding] = []
    for f in findings:
        share = 1.0
        if f.scope == "node" and f.family == "network" and f.series.service:
            share = on.get(f.series.labels.get("node", ""), {}).get(f.series.service, 1.0)
        out.append(f if share >= 1.0 else replace(f, strength=f.strength * share))
    return out


_OUTCOME_KEYS = frozenset(STATUS_LABELS) | {
    "exception",
    "error_type",
    "error_code",
    "response_flags",
}
"""Labels that say how a call ended (its status, the exception it threw, Envoy's flags
for how the proxy ended it: `UF,URX`, `UH`): a metric's series that differ only in
these count the same calls, split by outcome."""


def backfill_born(series: list[Series], matcher: FamilyMatcher) -> list[Series]:
    """Failure series given zeros for the time before they existed.

    Prometheus makes a series when it first sees its label set: a service that starts
    failing gets a `status="500"` series at its first failure, with no history of its
    own, so read alone it is flat from its first point and nothing moved. Where the
    same metric's other outcomes of the same calls (its `status="200"`, same pod and
    route) were reported for at least `MIN_BASE_POINTS` points before, the scrape was
    working and this outcome had not happened: it was 0 at each of those points. A
    series with no earlier sibling (a new pod's, a new route's), or whose own label set
    was reported before (a restarted process's), is left as it is.
    Idempotent: a series filled once starts with its siblings."""
    groups: dict[tuple[str, tuple[tuple[str, str], ...]], list[int]] = defaultdict(list)
    for i, s in enumerate(series):
        if s.timestamps:
            key = tuple(sorted((k, v) for k, v in s.labels.items() if k not in _OUTCOME_KEYS))
            groups[(s.name, key)].append(i)
    out = list(series)
    for members in groups.values():
        if len(members) < 2:
            continue
        first = min((series[i] for i in members), key=lambda s: s.timestamps[0])
        grid = first.timestamps
        for i in members:
            s = series[i]
            born = bisect_left(grid, s.timestamps[0])
            if born < MIN_BASE_POINTS:
                continue
            c = matcher.classify(s.name, s.labels)
            if c.family != "errors" or not c.bad_up:
                continue
            if any(
                series[j].labels == s.labels and series[j].timestamps[0] < s.timestamps[0]
                for j in members
            ):
                continue  # the same outcome reported before (a restart): not born here
            gap = s.timestamps[1] - s.timestamps[0] if len(s.timestamps) > 1 else 0.0
            before = [t for t in grid[:born] if t < s.timestamps[0] - 0.5 * gap]
            if len(before) >= MIN_BASE_POINTS:
                out[i] = replace(
                    s, timestamps=before + s.timestamps, values=[0.0] * len(before) + s.values
                )
    return out


POD_INFO = frozenset({"kube_pod_labels"})
"""kube-state-metrics' info series: one per pod, value 1, its labels as `label_<name>`
(`--metric-labels-allowlist`): where a pod's version is said when its own series do not."""


def join_pod_labels(series: list[Series]) -> list[Series]:
    """Give a pod's series the version its `kube_pod_labels` says (`label_version`,
    `label_app_kubernetes_io_version`, `label_rollouts_pod_template_hash`, …), as PromQL's
    `* on (namespace, pod) group_left (label_version) kube_pod_labels` would: cAdvisor's
    and kube-state-metrics' series name the pod, not its version, so a canary's CPU or
    restarts can be told from the stable pods' only through it. A series that has a
    version label of its own keeps it."""
    keys = [f"label_{k}" for k in VERSION_LABELS]
    by_pod: dict[tuple[str, str], dict[str, str]] = {}
    for s in series:
        if s.name not in POD_INFO or not s.labels.get("pod"):
            continue
        said = {k: s.labels[k] for k in keys if s.labels.get(k)}
        if said:
            by_pod[(s.labels.get("namespace", ""), s.labels["pod"])] = said
    if not by_pod:
        return series
    own = set(VERSION_LABELS) | set(keys)
    out: list[Series] = []
    for s in series:
        pod = s.labels.get("pod")
        joined = by_pod.get((s.labels.get("namespace", ""), pod)) if pod else None
        if joined is None or s.name in POD_INFO or own & s.labels.keys():
            out.append(s)
        else:
            out.append(replace(s, labels={**s.labels, **joined}))
    return out


def prepare(series: list[Series], matcher: FamilyMatcher) -> list[Series]:
    """Series as the anomaly detector reads them: failure series filled back to when
    their siblings began (`backfill_born`), counters as rates, expiry timestamps and
    countdowns left out (`cert_expiry` reads those). Idempotent."""
    out: list[Series] = []
    for s in backfill_born(series, matcher):
        c = matcher.classify(s.name, s.labels)
        if _is_expiry(c):
            continue
        if not counter_like(s, matcher):
            out.append(s)
        elif c.family == "restarts":
            out.append(as_increase(s, RESTART_WINDOW_S))
        else:
            out.append(as_rate(s))
    out = histogram_quantiles(out)
    out = timer_means(out, matcher)
    totals = demand_totals(out, matcher)
    # a service's demand is its total: how its requests spread over its pods shifts with
    # every rollout (new pods take a share, each old pod's rate falls), so replicas'
    # request series are read through their total, not one by one
    # ... and so are its scrape targets, where their count held (`targets_up`)
    ups = targets_up(out)
    spread = _replica_members(out, totals + ups)
    if spread:
        out = [s for s in out if id(s) not in spread]
    return out + totals + ups + pod_means(out, matcher)


HISTOGRAM_Q = 0.95
"""The quantile a histogram's buckets are read as (`histogram_quantiles`)."""


def _le(v: str | None) -> float | None:
    if v is None:
        return None
    try:
        b = float(v)  # "+Inf", "0.25", "1e+00"
    except ValueError:
        return None
    return None if math.isnan(b) else b


def histogram_quantiles(series: list[Series]) -> list[Series]:
    """A histogram's buckets, read as rates, become its 95th percentile per service (and
    per version, where the series carry one), as `histogram_quantile(0.95, sum by (le)
    (rate(X_bucket[...])))` computes it, named `X_p95`, in place of the buckets.

    A bucket's rate counts the calls faster than its bound: read alone it is traffic in
    a band (it rises with the load, and a fast band can fall when calls get slow), not
    latency. The percentile over all of them is how long calls take. Pods, routes and
    status codes are summed first, as a dashboard does: one pod's 502s are a handful of
    calls a minute, whose percentile jumps between bucket bounds from one point to the
    next. A point whose quantile falls in the +Inf bucket is the highest finite bound
    (Prometheus' rule); a point without calls has none. Buckets that make no histogram
    (one bound, no +Inf) stay as they are; a histogram with fewer than four points with
    calls gives no percentile, and its bands are not read as latency either."""
    groups: dict[tuple[object, ...], dict[float, list[Series]]] = {}
    for s in series:
        le = _le(s.labels.get("le"))
        if le is None or not s.name.endswith("_bucket") or not s.query.startswith("rate("):
            continue
        ver = tuple((k, s.labels[k]) for k in VERSION_LABELS if k in s.labels)
        groups.setdefault((s.name, s.service, ver), {}).setdefault(le, []).append(s)
    made: list[Series] = []
    used: set[int] = set()
    for by_le in groups.values():
        bounds = sorted(by_le)
        if len(bounds) < 2 or not math.isinf(bounds[-1]):
            continue
        sums: list[dict[float, float]] = []
        for b in bounds:
            acc: dict[float, float] = defaultdict(float)
            for m in by_le[b]:
                for t, v in zip(m.timestamps, m.values, strict=True):
                    acc[t] += v
            sums.append(acc)
        grid = sorted(set.intersection(*(set(a) for a in sums)))
        pts: list[tuple[float, float]] = []
        for t in grid:
            # cumulative by bound, as Prometheus makes them (`ensureMonotonic`): pods
            # scraped apart can leave a larger bucket a little short of a smaller one
            counts = list(itertools.accumulate((a[t] for a in sums), max))
            total = counts[-1]
            if not total > 0 or not all(math.isfinite(c) for c in counts):
                continue  # no calls: no duration
            rank = HISTOGRAM_Q * total
            j = next(k for k, c in enumerate(counts) if c >= rank)
            if j == len(counts) - 1:  # past every finite bound
                pts.append((t, bounds[-2]))
                continue
            lo_b, lo_c = (bounds[j - 1], counts[j - 1]) if j > 0 else (0.0, 0.0)
            width = counts[j] - lo_c
            frac = (rank - lo_c) / width if width > 0 else 1.0
            pts.append((t, lo_b + (bounds[j] - lo_b) * frac))
        members = [m for b in bounds for m in by_le[b]]
        used |= {id(m) for m in members}
        if len(pts) < 4:
            continue
        first = members[0]
        base = first.name[: -len("_bucket")]
        # the labels every bucket summed shares (`sum by`): service, version, namespace
        labels = {
            k: v
            for k, v in first.labels.items()
            if k != "le" and all(m.labels.get(k) == v for m in members)
        }
        if "__name__" in labels:
            labels["__name__"] = f"{base}_p95"
        by = ", ".join(["le", *sorted(k for k in labels if k != "__name__")])
        made.append(
            replace(
                first,
                name=f"{base}_p95",
                labels=labels,
                timestamps=[t for t, _ in pts],
                values=[v for _, v in pts],
                query=f"histogram_quantile({HISTOGRAM_Q}, sum by ({by}) ({first.query}))",
            )
        )
    if not used:
        return series
    return [s for s in series if id(s) not in used] + made


def timer_means(series: list[Series], matcher: FamilyMatcher) -> list[Series]:
    """A timer's mean duration where both its `_sum` and `_count` were read as rates:
    `rate(X_sum) / rate(X_count)`, named `X_avg`, in place of the `_sum` rate.

    The rate of a `_sum` is seconds of work a second: it doubles when twice the requests
    take as long as before, so read alone it blames latency for a surge of traffic.
    Their quotient is how long one call takes. A `_sum` without its `_count` (same
    labels, same grid) stays as it is, read as latency (the catalogue's `_TIMER_SUM`).
    Points where the count's rate is 0 (no calls) have no mean and are left out."""
    counts: dict[tuple[str, tuple[tuple[str, str], ...]], Series] = {}
    for s in series:
        if s.name.endswith("_count") and s.query.startswith("rate("):
            counts[(s.name[: -len("_count")], _label_key(s))] = s
    if not counts:
        return series
    out: list[Series] = []
    for s in series:
        base = s.name[: -len("_sum")] if s.name.endswith("_sum") else None
        c = counts.get((base, _label_key(s))) if base and s.query.startswith("rate(") else None
        if (
            c is None
            or c.timestamps != s.timestamps
            or matcher.classify(s.name, s.labels).family != "latency"
        ):
            out.append(s)
            continue
        pts = [
            (t, a / b)
            for t, a, b in zip(s.timestamps, s.values, c.values, strict=True)
            if b > 0 and math.isfinite(a) and math.isfinite(b)
        ]
        if len(pts) < 4:
            out.append(s)
            continue
        labels = dict(s.labels)
        if "__name__" in labels:
            labels["__name__"] = f"{base}_avg"
        out.append(
            replace(
                s,
                name=f"{base}_avg",
                labels=labels,
                timestamps=[t for t, _ in pts],
                values=[v for _, v in pts],
                query=f"{s.query} / {c.query}",
            )
        )
    return out


def _label_key(s: Series) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in s.labels.items() if k != "__name__"))


def _replica_members(series: list[Series], totals: list[Series]) -> set[int]:
    """ids of the series summed into a total (`demand_totals`) whose members differ only
    in which pod or version they come from (`POD_KEYS`)."""
    made = {(t.name, t.service): set(t.timestamps) for t in totals}
    groups: dict[tuple[str, str | None], list[Series]] = defaultdict(list)
    for s in series:
        if (s.name, s.service) in made:
            groups[(s.name, s.service)].append(s)
    out: set[int] = set()
    for key, members in groups.items():
        keys = {k for m in members for k in m.labels}
        varying = {k for k in keys if len({m.labels.get(k) for m in members}) > 1}
        if not varying or not varying <= POD_KEYS:
            continue  # routes, status codes: the spread says something
        grid = made[key]
        out |= {id(m) for m in members if set(m.timestamps) <= grid}
    return out


def demand_totals(series: list[Series], matcher: FamilyMatcher) -> list[Series]:
    """A service's whole demand per request metric: the sum of its series (status codes,
    routes, pods) on a shared grid, where it has several.

    Prometheus creates a series the first time it sees its label set: the `code="429"`
    series of a service that starts shedding load is born with the surge, so it has no
    baseline of its own, and the `code="200"` series grows only by what the service still
    serves. Their sum is the demand that rose. A member that did not exist yet counts 0.
    Members whose points do not all sit on the longest member's grid are left out (a sum
    over interleaved scrapes would be jagged); `detect` already reads each member."""

    def wanted(s: Series) -> bool:
        return (
            not s.name.startswith(_NOT_SUMMED) and matcher.classify(s.name, {}).family == "traffic"
        )

    return [
        t
        for g in _groups(series, wanted)
        if _served_some(g) and (t := _combine(g, mean=False)) is not None
    ]


def targets_up(series: list[Series]) -> list[Series]:
    """How many of a service's scrape targets answer, where that count held: the sum of
    its `up` series (Prometheus' own, one per target) that differ only in which pod,
    instance or version they are (`POD_KEYS`); its members are read through it
    (`_replica_members`). A rollout retires the old pods as their replacements come up: pod
    by pod, each old one's `up` ends or falls to 0 and would read as "down", while
    their count does not move. Where the count fell and stayed lower (one memcached of
    three gone), the pods are read one by one as before: one of them is down."""
    out: list[Series] = []
    for members in _groups(series, lambda s: s.name == "up"):
        keys = {k for m in members for k in m.labels}
        varying = {k for k in keys if len({m.labels.get(k) for m in members}) > 1}
        if not varying or not varying <= POD_KEYS:
            continue
        total = _combine(members, mean=False, union=True)
        if total is None or len(total.values) < 8:
            continue
        q = len(total.values) // 4
        if median(total.values[-q:]) < median(total.values[:q]):
            continue
        out.append(total)
    return out


def _served_some(members: list[Series]) -> bool:
    """Members that count, besides failures, requests served: one with no status, or a
    success (`2xx`, `3xx`, `OK`). Members that are all failures (a query keeping only
    `403 OR 5*`) sum to failed requests, not demand."""
    for m in members:
        st = next((m.labels[k] for k in STATUS_LABELS if m.labels.get(k)), None)
        if st is None or st[:1] in "23" or st.lower() in ("ok", "success", "succeeded"):
            return True
    return False


TOTAL_QUERY = ("sum by (", "sum of ", "avg by (", "mean of ")
"""How a total's (`demand_totals`) or a mean's (`pod_means`) query starts."""
POD_KEYS = frozenset(REPLICA_LABELS | set(VERSION_LABELS) | {f"label_{k}" for k in VERSION_LABELS})
"""Labels that name one replica of a service, or the version it runs: series that
differ only in these are the same signal, pod by pod."""
_MEAN_FAMILIES = ("errors", "latency")


def pod_means(series: list[Series], matcher: FamilyMatcher) -> list[Series]:
    """A service's typical replica per error or latency metric: the mean over the pods
    reporting at each point, where its series differ only in which pod (or version)
    they come from.

    A pod that comes up with a deploy has no baseline of its own, so its trouble is
    invisible series by series; a canary failing beside three healthy pods moves the
    mean from the first minute. Members off the longest member's grid are left out."""

    def wanted(s: Series) -> bool:
        return matcher.classify(s.name, {}).family in _MEAN_FAMILIES

    out: list[Series] = []
    for members in _groups(series, wanted):
        keys = {k for m in members for k in m.labels}
        varying = {k for k in keys if len({m.labels.get(k) for m in members}) > 1}
        if not varying or not varying <= POD_KEYS:
            continue  # routes, status codes, peers: different signals, not replicas
        mean = _combine(members, mean=True)
        if mean is not None:
            out.append(mean)
    return out


def _groups(series: list[Series], wanted: Callable[[Series], bool]) -> list[list[Series]]:
    """A service's `wanted` series by metric name, where it has several and no aggregate
    of them was made before (`prepare` is idempotent)."""
    groups: dict[tuple[str, str], list[Series]] = defaultdict(list)
    done: set[tuple[str, str]] = set()
    for s in series:
        if not s.service:
            continue
        if s.query.startswith(TOTAL_QUERY):
            done.add((s.name, s.service))
        elif wanted(s):
            groups[(s.name, s.service)].append(s)
    return [g for key, g in groups.items() if len(g) >= 2 and key not in done]


def _combine(members: list[Series], mean: bool, union: bool = False) -> Series | None:
    """The sum (a missing member counts 0) or the mean (over the members present) of
    `members` on the longest member's grid, with the labels they share; None with fewer
    than two members on that grid. `union`: on every member's points where together
    they keep one step (replicas that came and went, one after another)."""
    grid = max(members, key=lambda m: len(m.timestamps)).timestamps
    if union:
        every = sorted({t for m in members for t in m.timestamps})
        steps = [b - a for a, b in zip(every, every[1:], strict=False)]
        if steps and max(steps) - min(steps) <= 0.1 * median(steps):
            grid = every
    at = {t: i for i, t in enumerate(grid)}
    used = [m for m in members if all(t in at for t in m.timestamps)]
    if len(used) < 2:
        return None
    total = [0.0] * len(grid)
    count = [0] * len(grid)
    for m in used:
        for t, v in zip(m.timestamps, m.values, strict=False):
            if math.isfinite(v):
                total[at[t]] += v
                count[at[t]] += 1
    if mean:
        pts = [(t, total[i] / count[i]) for i, t in enumerate(grid) if count[i]]
    else:
        pts = list(zip(grid, total, strict=True))
    first = used[0]
    common = {k: v for k, v in first.labels.items() if all(m.labels.get(k) == v for m in used)}
    by = ", ".join(k for k in sorted(common) if k != "__name__")
    q = first.query or first.name
    op, word = ("avg", "mean") if mean else ("sum", "sum")
    return replace(
        first,
        labels=common,
        timestamps=[t for t, _ in pts],
        values=[v for _, v in pts],
        query=f"{op} by ({by}) ({q})" if first.promql else f"{word} of {q}",
    )


_NOT_SUMMED = ("node_",)
"""Node-wide traffic (NIC bytes) is the node's, not a service's demand."""


RESTART_WINDOW_S = 600.0
"""Restart counters are read as their increase over the last 10 minutes, the way the
crash-loop alerts of kube-prometheus read them: a container in CrashLoopBackOff
restarts with a back-off of up to 5 minutes, so its per-step rate is mostly zero
between restarts and would never look sustained."""


DIP_IMPLAUSIBLE = 10.0
"""How many times its usual rate a counter's fall, read as a restart, must imply to be
no restart at all (`_implausible_resets`)."""


def _implausible_resets(ts: Sequence[float], vs: Sequence[float]) -> set[int]:
    """Steps `i` where a counter fell, but to more than half of what it was, and
    reading the fall as a restart from zero (Prometheus' `rate()`: the whole new value
    is the step's increase) would make the step `DIP_IMPLAUSIBLE` times the counter's
    usual rate. A restarted process counts from nothing, so its first value after the
    restart is at most its usual rate times the step; a sum that lost a member, or an
    exporter that lost part of its count, falls a little and goes on. 22,502 → 17,967
    requests in five minutes was "60 requests a second" against 1 before, a surge that
    never was. Such a step says nothing of the rate, and is left out. A young counter
    restarting (a crash loop) lands at its usual rate and stays a restart."""
    rates = [
        (vs[i] - vs[i - 1]) / (ts[i] - ts[i - 1])
        for i in range(1, len(vs))
        if ts[i] > ts[i - 1] and math.isfinite(vs[i - 1]) and math.isfinite(vs[i])
        and vs[i] >= vs[i - 1]
    ]  # fmt: skip
    usual = median(rates) if rates else 0.0
    out: set[int] = set()
    for i in range(1, len(vs)):
        a, b, dt = vs[i - 1], vs[i], ts[i] - ts[i - 1]
        if dt > 0 and a > b > a / 2 and b / dt > DIP_IMPLAUSIBLE * max(usual, 1e-9):
            out.add(i)
    return out


def as_increase(s: Series, window_s: float) -> Series:
    """A counter's increase over the trailing `window_s` at every point (resets count as
    a restart from zero, as in `increase()`)."""
    ts, vs = s.timestamps, s.values
    steps: list[tuple[float, float]] = []
    skip = _implausible_resets(ts, vs)
    for i in range(1, len(vs)):
        a, b = vs[i - 1], vs[i]
        if ts[i] - ts[i - 1] <= 0 or not (math.isfinite(a) and math.isfinite(b)) or i in skip:
            continue
        steps.append((ts[i], b - a if b >= a else b))
    out_t: list[float] = []
    out_v: list[float] = []
    lo = 0
    for i, (t, _) in enumerate(steps):
        while steps[lo][0] <= t - window_s:
            lo += 1
        out_t.append(t)
        out_v.append(float(sum(x for _, x in steps[lo : i + 1])))  # exact: no running drift
    return _derived(s, "increase", int(window_s), out_t, out_v)


def _derived(s: Series, fn: str, range_s: int, ts: list[float], vs: list[float]) -> Series:
    """`s` read through a PromQL range function (`rate`, `increase`), with the query
    that reproduces it (a subquery when the original is already an expression)."""
    q = s.query or s.name
    query = f"{fn}({q}[{range_s}s])" if "(" not in q else f"{fn}(({q})[{range_s}s:])"
    return replace(s, timestamps=ts, values=vs, query=query)


def _is_expiry(c: SignalClass) -> bool:
    """Expiry timestamps and countdowns are read by `cert_expiry`, not as anomalies: a
    countdown falls steadily by design."""
    return c.family == "certificates" and c.shape in ("countdown", "expiry_ts")


RATED_QUERY = re.compile(r"(^|[^a-z_])(i?rate|increase)\(")
"""A query that already asks for a rate or an increase (`as_rate`, `as_increase`, a sum
of them, or a query that asked for one)."""
_COUNTER_DIPS = 2
"""Small falls (to more than half the value) a counter may show: pods of a sum restarting."""


_UNSUFFIXED = ("errors", "traffic", "latency", None)
"""Families (None: a name the catalogue does not know) whose counters some exporters
name without `_total` (Envoy's `envoy_cluster_upstream_rq_timeout`,
`..._cx_connect_fail`, `..._rq_retry`)."""
UNSUFFIXED_MIN_POINTS = 8


_DISK_IO = re.compile(
    r"(^|_)(read|write|written)_(bytes|ops|operations|requests|count)(_|$)"
    r"|(^|_)(reads|writes)(_|$)"
)
"""A disk's input and output counted (metricbeat's `docker_diskio_write_bytes`, bytes
written since the container started; cAdvisor's `container_fs_writes_bytes_total`,
node_exporter's `node_disk_reads_completed_total`): activity, a counter whatever its
name, where the bytes a disk holds (`container_fs_usage_bytes`) are a level that may
climb as steadily. Not the disk's busy time (`node_disk_io_time_seconds_total`) or its
wait (`iostat_await`): those say how close it is to its limit."""


def disk_io(name: str) -> bool:
    """A series counting a disk's input and output (`_DISK_IO`): bytes or operations a
    second, not how busy the disk is or how full."""
    return _DISK_IO.search(normalize_name(name)) is not None


def _cumulative(s: Series, cls: SignalClass) -> bool:
    """Could be a counter by its shape though not by its name: a count of events (whole
    numbers) in a family counted so (or a disk's I/O, `_DISK_IO`), long enough to tell,
    that rose (before or after a restart reset it). `counter_like` then
    asks what it asks of every counter: it never falls but to restart."""
    io = cls.family == "disk" and disk_io(s.name)
    if cls.shape != "gauge" or (cls.family not in _UNSUFFIXED and not io):
        return False
    v = [x for x in s.values if math.isfinite(x)]
    if len(v) < UNSUFFIXED_MIN_POINTS or not _whole(v):
        return False
    # it rose: ends higher, or, where a restart reset it (a pod's count of requests
    # back near zero), rose at most steps, as a count of requests served does
    rises = sum(1 for a, b in zip(v, v[1:], strict=False) if b > a)
    return v[-1] > v[0] or rises >= (len(v) - 1) // 2


def counter_like(s: Series, matcher: FamilyMatcher) -> bool:
    """A cumulative counter: named like one (or shaped like one, `_cumulative`) and
    non-decreasing except for resets.

    Named like one, two points are enough: a pod that started minutes before the page
    exports its `requests_total` at 4158 after two zeros, and read as a level that is
    4158 requests a second, summed into its service's demand. A shape alone takes
    `UNSUFFIXED_MIN_POINTS` (`_cumulative`)."""
    cls = matcher.classify(s.name, s.labels)
    if len(s.values) < 2 or (cls.shape != "counter" and not _cumulative(s, cls)):
        return False
    if RATED_QUERY.search(s.query):
        # already a rate or an increase (`as_rate`, `as_increase`, a sum of them, or a
        # query that asked for one)
        return False
    v = [x for x in s.values if math.isfinite(x)]
    if len(v) < 2 or v[-1] <= v[0] and max(v) == min(v):
        return False
    pairs = list(zip(v, v[1:], strict=False))
    drops = sum(1 for a, b in pairs if b < a)
    # A counter only falls when it restarts (towards zero), or, summed over pods, when
    # one pod restarts: a few falls, each large. A gauge that hovers (`*_count` is
    # also a gauge's name: pg_stat_activity_count) dips by a little, often.
    dips = sum(1 for a, b in pairs if a > b > a / 2)
    return drops <= max(1, len(v) // 10) and dips <= _COUNTER_DIPS


def as_rate(s: Series) -> Series:
    """Per-second rate of a counter, with resets handled as Prometheus' `rate()` does,
    but for falls no restart could make (`_implausible_resets`)."""
    ts, vs = s.timestamps, s.values
    out_t: list[float] = []
    out_v: list[float] = []
    skip = _implausible_resets(ts, vs)
    for i in range(1, len(vs)):
        dt = ts[i] - ts[i - 1]
        a, b = vs[i - 1], vs[i]
        if dt <= 0 or not (math.isfinite(a) and math.isfinite(b)) or i in skip:
            continue
        inc = b - a if b >= a else b  # a reset: the counter restarted from zero
        out_t.append(ts[i])
        out_v.append(inc / dt)
    step = int(round(ts[1] - ts[0])) if len(ts) > 1 else 60
    return _derived(s, "rate", max(4 * step, 60), out_t, out_v)


_DNS_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
SAME_CERT_S = 120.0
"""Two certificate readings whose time left agrees this closely, expiring at the same
step, read one certificate (a prober's view of a host and cert-manager's of a secret)."""


def endpoint_certs(certs: list[MetricFinding]) -> list[MetricFinding]:
    """A certificate of an endpoint no known service's name matches (a probe of the
    public `https://tickets.example.com/`, `attribute_by_url`) is the one service's
    whose own certificate expires at the same moment (the same certificate, seen by the
    prober and by cert-manager); else the endpoint's: named by its host, it is a
    suspect of its own, as a third-party API's is, rather than a reading of nobody's.
    Which service serves that host (an ingress, a load balancer) the data then does
    not say; the engineer reading the host knows."""
    out: list[MetricFinding] = []
    for f in certs:
        labels, _ = host_words(probe_target(f.series)) if not f.series.service else ([], set())
        if not labels or not all(_DNS_LABEL.fullmatch(x) for x in labels):
            out.append(f)  # no host, or not a DNS name: nobody's, as before
            continue
        same = {
            g.series.service
            for g in certs
            if g.series.service
            and abs(g.level - f.level) <= SAME_CERT_S
            and abs(g.onset - f.onset) <= SAME_CERT_S
        }
        who = next(iter(same)) if len(same) == 1 else ".".join(labels)
        out.append(replace(f, series=replace(f.series, service=who)))
    return out


def cert_expiry(
    series: list[Series], matcher: FamilyMatcher, alert_ts: float
) -> list[MetricFinding]:
    """Certificates whose expiry (a unix timestamp, as blackbox exporter's
    `probe_ssl_earliest_cert_expiry` reports it) is passed or near at the alert
    (`CERT_NEAR_S`), or at most three days away (a warning).

    Such a series is flat until the certificate is renewed, so change-point detection
    cannot see it; we compare the value with the time of each point instead. Series
    that already count down ("seconds/days left") are handled by `detect`.
    """
    out: list[MetricFinding] = []
    for s in series:
        if not s.values:
            continue
        cls = matcher.classify(s.name, s.labels)
        if cls.family != "certificates":
            continue
        v = [x for x in s.values if math.isfinite(x)]
        if not v:
            continue
        if cls.shape == "countdown" or not (1e9 < v[-1] < 1e11):
            # a gauge counting down ("seconds/days remaining"), in the unit its name says
            unit = countdown_seconds(matcher.reads_as(s.name))
            if cls.shape != "countdown" and not _counts_down(s):
                continue
            left = [val * unit for val in s.values]
        elif cls.shape != "expiry_ts":
            # a timestamp that is no expiry: when cert-manager will renew it
            # (`certmanager_certificate_renewal_timestamp_seconds`, past when a renewal
            # is overdue while the certificate has weeks left), when it was issued
            continue
        else:
            left = [val - t for t, val in zip(s.timestamps, s.values, strict=False)]
        expired_at = next(
            (
                t
                for t, rem in zip(s.timestamps, left, strict=False)
                if math.isfinite(rem) and rem <= 0
            ),
            None,
        )
        last_left = left[-1]
        # still valid: as strong as it was near expiring when the alert fired (one a
        # reading put 17 s from expiry just before the page had run out by then; one
        # with days left fails no handshake today)
        if expired_at is None and last_left > 3 * 86400:
            continue
        after = max(0.0, s.timestamps[-1] + last_left - alert_ts)
        onset = expired_at if expired_at is not None else s.timestamps[-1]
        strength = (
            1.0 if expired_at is not None else max(CERT_EXPIRY_FLOOR, 1.0 - after / CERT_NEAR_S)
        )
        out.append(
            MetricFinding(
                series=s,
                family="certificates",
                direction=-1,
                z=50.0,
                rel=-1.0,
                baseline=left[0],
                level=last_left,
                peak=min(left),
                onset=float(onset),
                strength=float(strength),
                bad=True,
                scope=cls.scope,
            )
        )
    return out


CERT_NEAR_S = 86400.0
"""A certificate that expires this long after the alert or later failed nothing yet:
it reads as a warning (`CERT_EXPIRY_FLOOR`), not as what failed."""
CERT_EXPIRY_FLOOR = 0.1
"""How strongly a certificate still valid for a day or more (up to three) reads."""


RAN_OUT_SHARE = 0.01
"""Free space at or under this share of the most the window saw is none left."""
RAN_OUT_FROM = 0.10
"""... having held at least this share of it before: a volume that was always nearly
full is how it is provisioned, not an event."""
RAN_OUT_FAMILIES = ("disk", "memory")


MEMORY_CAPS: tuple[tuple[str, str, str], ...] = (
    ("redis_memory_used_bytes", "redis_memory_max_bytes", "redis_memory_free_bytes"),
)
"""Memory in use and the limit its exporter reports beside it (Redis' `maxmemory`),
with the name of the room left between them (`headroom`)."""


def headroom(series: list[Series]) -> list[Series]:
    """The room left under a reported memory limit (`MEMORY_CAPS`): the limit less the
    use, point by point, for each used series with a limit series of the same labels
    (new series, read by `ran_out` as free space is: a store at its `maxmemory` refuses
    writes, however slowly it climbed there). A limit of 0 is no limit (Redis' default)."""
    out: list[Series] = []
    for used, cap, free in MEMORY_CAPS:
        limits = {_label_key(x): x for x in series if x.name == cap}
        for x in series:
            if x.name != used:
                continue
            lim = limits.get(_label_key(x))
            if lim is None:
                continue
            at = dict(zip(lim.timestamps, lim.values, strict=False))
            pts = [
                (t, at[t] - v)
                for t, v in zip(x.timestamps, x.values, strict=False)
                if at.get(t, 0.0) > 0
            ]
            if len(pts) >= MIN_BASE_POINTS:
                out.append(
                    replace(
                        x,
                        name=free,
                        timestamps=[t for t, _ in pts],
                        values=[v for _, v in pts],
                        query=f"{cap} - {used}",
                    )
                )
    return out


def ran_out(
    series: list[Series],
    matcher: FamilyMatcher,
    alert_ts: float,
    seen: Sequence[MetricFinding] = (),
    lookahead_s: float = 300.0,
) -> list[MetricFinding]:
    """Disk or memory that ran out in the window: free space (RDS `FreeStorageSpace`,
    `node_filesystem_avail_bytes`) down to nothing, for two points running or to the
    end.

    A volume filling at a steady rate is a ramp, not a step: against a baseline that
    ramps too, no point stands out (`detect` sees nothing), yet it is the cause the
    moment it is full. Read by meaning, as `cert_expiry` reads an expiry: when it ran
    out, not how unusual each point was. Series `seen` already found are left alone."""
    found = {id(f.series) for f in seen}
    out: list[MetricFinding] = []
    for s in series:
        if id(s) in found or len(s.values) < MIN_BASE_POINTS:
            continue
        cls = matcher.classify(s.name, s.labels)
        if cls.family not in RAN_OUT_FAMILIES:
            continue
        pts = [(t, v) for t, v in zip(s.timestamps, s.values, strict=False) if math.isfinite(v)]
        if len(pts) < MIN_BASE_POINTS:
            continue
        if cls.bad_up:
            # a used share over its whole is no proof in general (a container's memory
            # "percent" is often of its request, which it may exceed, 116%, and live);
            # one pinned at its whole is (`pinned_full`)
            pinned = pinned_full(pts, cls.shape)
            if pinned is not None and pinned <= alert_ts + lookahead_s:
                out.append(_ran_out_finding(s, cls, pts, pinned, up=True))
            continue
        whole = max(v for _, v in pts)
        if whole <= 0 or pts[0][1] < RAN_OUT_FROM * whole:
            continue
        out_at = [i for i, (_, v) in enumerate(pts) if v <= RAN_OUT_SHARE * whole]
        # out for good, or for two points running: not one bad scrape
        at = next((pts[i][0] for i in out_at if i + 1 == len(pts) or i + 1 in out_at), None)
        if at is None or at > alert_ts + lookahead_s:
            continue
        out.append(_ran_out_finding(s, cls, pts, float(at), up=False))
    return out


FULL_FROM = 99.0
"""A used percentage at or over this, and not past 100.5, is its whole."""
FULL_BEFORE = 95.0
"""... having been under this before: a store that sits full is how it is run (a cache
that evicts), not an event."""


def pinned_full(pts: Sequence[tuple[float, float]], shape: str) -> float | None:
    """When a used percentage (`shape` percent, or a ratio of 1) reached its whole and
    stayed there to the end, two points at least (ElastiCache's
    `DatabaseMemoryUsagePercentage` at 99.9 of maxmemory, a volume 100% used, a used
    ratio of .998); None when it did not, went past 100.5 (a share of a request, not of
    a limit), or was always that full."""
    if shape not in ("percent", "ratio") or len(pts) < 2:
        return None
    if shape == "ratio":
        pts = [(t, 100.0 * v) for t, v in pts]
    if max(v for _, v in pts) > 100.5 or min(v for _, v in pts) >= FULL_BEFORE:
        return None
    k = len(pts)
    while k > 0 and pts[k - 1][1] >= FULL_FROM:
        k -= 1
    return pts[k][0] if len(pts) - k >= 2 else None


def _ran_out_finding(
    s: Series, cls: SignalClass, pts: Sequence[tuple[float, float]], at: float, up: bool
) -> MetricFinding:
    level = pts[-1][1]
    return MetricFinding(
        series=s,
        family=cls.family,
        direction=1 if up else -1,
        z=50.0,
        rel=(level - pts[0][1]) / pts[0][1] if pts[0][1] else 1.0,
        baseline=pts[0][1],
        level=level,
        peak=(max if up else min)(v for _, v in pts),
        onset=float(at),
        strength=1.0,
        bad=True,
        scope=scope_of(cls, s),
        known=cls.known,
        shape=cls.shape,
    )


def _counts_down(s: Series) -> bool:
    """Values that fall by about one per second of wall time: a seconds-left gauge."""
    pts = [(t, v) for t, v in zip(s.timestamps, s.values, strict=False) if math.isfinite(v)]
    if len(pts) < 3:
        return False
    (t0, v0), (t1, v1) = pts[0], pts[-1]
    if t1 <= t0:
        return False
    slope = (v1 - v0) / (t1 - t0)
    return -1.5 < slope < -0.5
