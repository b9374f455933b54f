"""The metric detector's two paths agree to the bit: `_detect_rows` (pure Python, for
small inputs, so a triage need not import numpy) and `_detect_matrix` (numpy).

Every float of every finding is compared by `repr` (so even -0.0 against 0.0 would
fail), on seeded random groups built to reach each branch: steps up and down, ramps,
spikes that recover, flat and integer series, missing points, signed zeros, huge and
tiny magnitudes, block lengths around numpy's pairwise-summation boundaries (8, 128),
alerts before, inside and after the data.
"""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np
import pytest

from aisre_cli.investigate.analyzers import metrics
from aisre_cli.investigate.analyzers.metrics import (
    MetricFinding,
    _detect_matrix,
    _detect_rows,
    _np_median,
    _np_sum,
)
from aisre_cli.investigate.families import FamilyMatcher
from aisre_cli.model import Series

NAMES = [
    "http_server_errors_ratio",  # errors: up is bad
    "container_cpu_usage_percent",  # saturation
    "http_requests_per_second",  # traffic: either way
    "frontend_success_rate_percent",  # down is bad
    "pod_server_latency_p99_seconds",
    "widget_frobnication_level",  # unknown to the catalogue
    "kube_pod_container_status_restarts",
    "hikaricp_connections_active",  # things held at once: a unit floor
]


def _key(f: MetricFinding) -> tuple[Any, ...]:
    return (
        id(f.series),
        f.family,
        f.direction,
        repr(f.z),
        repr(f.rel),
        repr(f.baseline),
        repr(f.level),
        repr(f.peak),
        repr(f.onset),
        repr(f.strength),
        f.bad,
        f.scope,
        f.known,
        repr(f.until),
    )


def _row(rng: random.Random, n: int) -> list[float]:
    kind = rng.choice(["step", "ramp", "spike", "flat", "int", "noise", "zeros", "drop", "flap"])
    mag = 10.0 ** rng.choice([-12, -3, 0, 0, 2, 6, 50])
    noise = rng.choice([0.0, 0.001, 0.05, 0.3, 1.0])
    at = rng.randrange(0, n)
    jump = rng.choice([-8.0, -2.0, 2.0, 5.0, 40.0])
    negzero = rng.random() < 0.5
    out: list[float] = []
    for i in range(n):
        v = 1.0 + noise * rng.gauss(0.0, 1.0)
        if kind == "step" and i >= at:
            v += jump
        elif kind == "drop" and i >= at:
            v = -0.0 if negzero else 0.0
        elif kind == "ramp" and i >= at:
            v += jump * (i - at) / max(1, n - at)
        elif kind == "spike" and at <= i < at + 3:
            v += jump
        elif kind == "flat":
            v = 3.0
        elif kind == "zeros":
            v = rng.choice([0.0, -0.0, 0.0, 1e-300])
        elif kind == "flap":  # a few values repeating (MAD 0): the VISITED floor
            v = rng.choice([0.0, 0.0, 0.0, 1.0, 2.0]) + (jump if i >= at else 0.0)
        if kind == "int":
            v = float(round(v * 10))
        out.append(v * mag)
    if rng.random() < 0.2:  # missing points, NaN and ±Inf, sometimes at the start
        for _ in range(rng.randint(1, 4)):
            out[rng.randrange(0, n)] = rng.choice([math.nan, math.inf, -math.inf])
        if rng.random() < 0.3:
            out[0] = math.nan
    if rng.random() < 0.02:
        out = [math.nan] * n
    return out


def _group(rng: random.Random) -> tuple[list[Series], float]:
    n = rng.choice([5, 6, 7, 8, 9, 15, 16, 17, 30, 60, 127, 128, 129, 200, 257, 400])
    m = rng.randint(1, 8)
    step = rng.choice([15.0, 60.0, 300.0])
    t0 = 1_700_000_000.0
    ts = [t0 + i * step for i in range(n)]
    if rng.random() < 0.2:  # irregular scrapes
        ts = [t + rng.uniform(-step / 4, step / 4) for t in ts]
        ts.sort()
    rows = [
        Series(
            name=rng.choice(NAMES),
            service=f"svc{j}",
            labels={},
            timestamps=list(ts),
            values=_row(rng, n),
            query="q",
            ref="f.json",
        )
        for j in range(m)
    ]
    where = rng.choice(["end", "inside", "inside", "before", "after"])
    alert = {
        "end": ts[-1] - 300.0,
        "inside": ts[rng.randrange(0, n)],
        "before": ts[0] - 3600.0,
        "after": ts[-1] + 3600.0,
    }[where]
    return rows, alert


def _both(rows: list[Series], alert: float, lookahead: float = 300.0) -> tuple[list[Any], ...]:
    matcher = FamilyMatcher()
    x = np.array([r.values for r in rows], dtype=np.float64)
    want = [_key(f) for f in _detect_matrix(x, rows, matcher, alert, lookahead)]
    got = [_key(f) for f in _detect_rows(rows, matcher, alert, lookahead)]
    return want, got


@pytest.mark.parametrize("seed", range(8))
def test_pure_path_equals_numpy_path(seed: int) -> None:
    rng = random.Random(seed)
    found = 0
    for case in range(150):
        rows, alert = _group(rng)
        lookahead = rng.choice([0.0, 300.0, 900.0])
        want, got = _both(rows, alert, lookahead)
        assert got == want, f"seed {seed} case {case}"
        found += len(want)
    assert found > 20, "the random groups must produce findings to compare"


def test_sum_and_median_helpers_are_numpy_bit_for_bit() -> None:
    rng = random.Random(7)
    for _ in range(400):
        n = rng.choice([1, 2, 3, 7, 8, 9, 16, 100, 128, 129, 255, 256, 300, 1000, 1031])
        a = [rng.gauss(0, 1) * 10.0 ** rng.randint(-5, 9) for _ in range(n)]
        assert repr(_np_sum(a)) == repr(float(np.sum(np.array([a]), axis=1)[0]))
        assert repr(_np_median(a)) == repr(float(np.median(np.array([a]), axis=1)[0]))
    for zeros in ([-0.0] * 2, [-0.0] * 8, [-0.0] * 200):
        assert repr(_np_sum(zeros)) == repr(float(np.sum(np.array([zeros]), axis=1)[0]))


def test_the_demo_and_a_real_bundle_find_the_same_with_either_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`detect` end to end on real inputs: the pure path (the default for these sizes)
    and the numpy path (forced) give the same findings."""
    from aisre_cli.investigate.gather import gather, list_alerts, resolve_alert
    from aisre_cli.settings.config import Profile
    from aisre_cli.sources.registry import bundle_set
    from tests.conftest import DEMO, REPO

    nezha = REPO.parent / "shared" / "datasets" / "nezha-ob"
    bundles = [DEMO, *sorted(p for p in nezha.glob("*") if (p / "bundle.yaml").exists())[:3]]
    prof = Profile()
    for path in bundles:
        sources = bundle_set(path, prof.service_labels, prof.limits)
        assert sources.bundle is not None
        alerts, _ = list_alerts(sources, prof.gather_budget_s)
        focus = sources.bundle.meta.focus_alert
        alert = resolve_alert(alerts, focus) if focus else alerts[0]
        ctx = gather(sources, alert, alerts, lookback_s=3600, lookahead_s=300, budget_s=30)
        matcher = FamilyMatcher()
        ts = alert.starts_at.timestamp()
        pure = [_key(f) for f in metrics.detect(ctx.series, matcher, ts)]
        monkeypatch.setattr(metrics, "PURE_MAX_POINTS", -1)
        forced = [_key(f) for f in metrics.detect(ctx.series, matcher, ts)]
        monkeypatch.undo()
        assert pure == forced, path.name
        assert pure, f"{path.name}: expected metric findings"


# ------------------------------------------------------------------ episodes that ended
# A fault that is already over when the page fires (a burst of CPU, a latency spike that
# recovered) has no sustained shift up to the end of the recent window; `_episode`
# reads it, on both paths, when it is strong and still on near the alert.

STEP = 60.0
T0 = 1_700_000_000.0


def _cpu(burst: tuple[int, int], level: float, n: int = 40) -> Series:
    """A container CPU series: 1.2 ± 0.2 (a fixed wobble), `level` over burst [a, b)."""
    vals = [1.2 + 0.2 * ((i * 7) % 5 - 2) / 2 for i in range(n)]
    a, b = burst
    for i in range(a, b):
        vals[i] = level
    ts = [T0 + STEP * i for i in range(n)]
    return Series(
        name="container_cpu_usage_millicores",
        labels={"service": "checkout", "pod": "checkout-1"},
        timestamps=ts,
        values=vals,
        service="checkout",
        ref="metrics/cpu.json",
    )


def _episodes(row: Series, alert: float) -> list[list[Any]]:
    m = FamilyMatcher()
    x = np.array([row.values], dtype=np.float64)
    both = [_detect_rows([row], m, alert, 300.0), _detect_matrix(x, [row], m, alert, 300.0)]
    assert [_key(f) for f in both[0]] == [_key(f) for f in both[1]]
    return [[f.onset, f.until, round(f.level, 3)] for f in both[0]]


def test_a_burst_over_before_the_alert_is_a_finding_with_its_end() -> None:
    # 5 minutes at 20 (z far above EPISODE_Z) ending 4 minutes before the page
    row = _cpu((28, 33), 20.0)
    alert = T0 + STEP * 36 + 55
    assert _episodes(row, alert) == [[T0 + STEP * 28, T0 + STEP * 33, 20.0]]


def test_a_burst_long_over_before_the_alert_is_the_tail_of_something_else() -> None:
    # the same burst, over 8 minutes before the page (EPISODE_S is 5)
    row = _cpu((24, 29), 20.0)
    assert _episodes(row, T0 + STEP * 36 + 55) == []
    # ... still a finding at 4 minutes
    assert len(_episodes(row, T0 + STEP * 32 + 55)) == 1


def test_a_burst_needs_a_run_and_three_times_the_sustained_bar() -> None:
    alert = T0 + STEP * 36 + 55
    # two points are a blip, not a run
    assert _episodes(_cpu((31, 33), 20.0), alert) == []
    # about 10σ (robust sd 0.148 here): a sustained finding, too weak for a burst
    weak = _cpu((28, 33), 2.76)
    assert metrics.Z_ANOMALY < (2.76 - 1.2) / 0.148 < metrics.EPISODE_Z
    assert _episodes(weak, alert) == []
    assert _episodes(_cpu((28, 40), 2.76), alert) != []


def test_a_shift_still_on_at_the_alert_is_not_an_episode() -> None:
    row = _cpu((28, 40), 20.0)
    found = _episodes(row, T0 + STEP * 36 + 55)
    assert found == [[T0 + STEP * 28, None, 20.0]]


def test_of_two_bursts_near_the_alert_the_stronger_is_the_episode() -> None:
    row = _cpu((30, 33), 14.0, n=50)
    for i in range(34, 37):
        row.values[i] = 30.0
    found = _episodes(row, T0 + STEP * 37)
    assert found == [[T0 + STEP * 34, T0 + STEP * 37, 30.0]]


def test_on_second_resolution_an_episode_lasts_a_minute() -> None:
    def fine(burst: tuple[int, int]) -> Series:
        row = _cpu(burst, 20.0, n=1500)
        row.timestamps = [T0 + i for i in range(1500)]
        return row

    alert = T0 + 1400
    assert _episodes(fine((1300, 1303)), alert) == []  # three points, three seconds
    assert _episodes(fine((1300, 1370)), alert) == [[T0 + 1300, T0 + 1370, 20.0]]


# ------------------------------------------------------------------ either way
# Traffic and unknown metrics may move either way. Which way the recent window's median
# sits decides nothing when a surge fills only its last minutes: both ways are read.


def _requests(vals: list[float]) -> Series:
    return Series(
        name="http_requests_per_second",
        labels={"service": "edge"},
        timestamps=[T0 + 30.0 * i for i in range(len(vals))],
        values=vals,
        service="edge",
        ref="metrics/rps.json",
    )


def _both_ways(row: Series, alert: float) -> list[tuple[int, float]]:
    m = FamilyMatcher()
    x = np.array([row.values], dtype=np.float64)
    got = [_detect_rows([row], m, alert, 300.0), _detect_matrix(x, [row], m, alert, 300.0)]
    assert [_key(f) for f in got[0]] == [_key(f) for f in got[1]]
    return [(f.direction, f.onset) for f in got[0]]


def test_a_surge_in_the_last_minutes_of_a_slightly_lower_window_is_a_surge() -> None:
    # 230 ± 3 for an hour, 220 ± 3 in most of the recent window, then 10 points climbing
    # to 950: the window's median (about 221) sits below the baseline
    wob = [((i * 7) % 5 - 2) * 1.5 for i in range(122)]
    vals = [230.0 + wob[i] for i in range(82)] + [220.0 + wob[i] for i in range(82, 112)]
    vals += [300.0 + 70.0 * k for k in range(10)]
    alert = T0 + 30.0 * 112
    assert _both_ways(_requests(vals), alert) == [(1, T0 + 30.0 * 112)]


def test_a_drop_is_still_read_as_a_drop() -> None:
    wob = [((i * 7) % 5 - 2) * 1.5 for i in range(122)]
    vals = [230.0 + wob[i] for i in range(100)] + [40.0 + wob[i] for i in range(100, 122)]
    found = _both_ways(_requests(vals), T0 + 30.0 * 104)
    assert found == [(-1, T0 + 30.0 * 100)]


# ------------------------------------------------------------------ counts are Poisson


def test_few_requests_per_interval_falling_by_one_are_noise() -> None:
    """Requests counted per interval, 2 each (PetShop's low-traffic nodes): one fewer
    is within a Poisson count's sqrt(level), not a drop, however flat the baseline. The
    same shape a hundred times larger is a drop."""
    few = [2.0] * 100 + [1.0] * 22
    many = [v * 100.0 for v in few]
    alert = T0 + 30.0 * 104
    assert _both_ways(_requests(few), alert) == []
    assert [d for d, _ in _both_ways(_requests(many), alert)] == [-1]
    # a rate (not whole numbers) has no such floor: its own noise decides
    rate = [v + 0.25 for v in few]
    assert [d for d, _ in _both_ways(_requests(rate), alert)] == [-1]


def test_readings_over_a_few_requests_per_interval_are_thin() -> None:
    """Availability at a node that serves about two requests per 5 minutes falls to 0
    when both fail: that reading is weakened (LOW_VOLUME); the same fall at a service
    with hundreds of requests, or at one with no request series, keeps its strength."""
    m = FamilyMatcher()
    ts = [T0 + 300.0 * i for i in range(40)]
    avail = [100.0] * 30 + [0.0] * 10

    def svc(name: str, rate: float | None) -> list[Series]:
        out = [Series("availability_average", name, {"service": name}, ts, list(avail))]
        if rate is not None:  # requests per second, over 5-minute steps
            out.append(Series("requests_per_second", name, {"service": name}, ts, [rate] * 40))
        return out

    rows = svc("edge", 2 / 300) + svc("busy", 2.5) + svc("unmetered", None)
    found = metrics.detect(rows, m, T0 + 300.0 * 31)
    thin = {f.series.service: f.strength for f in metrics.thin_out(found, rows, m)}
    full = {f.series.service: f.strength for f in found}
    k = max(metrics.THIN_FLOOR, 2.0 / metrics.LOW_VOLUME)  # two requests per interval
    assert k < 1.0 and thin["edge"] == pytest.approx(full["edge"] * k)
    assert thin["busy"] == full["busy"] and thin["unmetered"] == full["unmetered"]


def test_a_five_point_window_keeps_a_two_point_baseline() -> None:
    """A 20-minute window of 5-minute points, the page between the second and third:
    availability falls from the second point on. With a three-point baseline the fall
    would be half the baseline and nothing would stand out; with the first two points
    as the baseline it is a finding from the third, on both paths alike."""
    t0 = 1_700_000_000.0
    ts = [t0 + i * 300.0 for i in range(5)]
    rows = [
        Series(
            name="availability_percent",
            service="svc",
            labels={},
            timestamps=ts,
            values=[100.0, 99.4, 91.6, 90.6, 100.0],
            query="q",
            ref="f.json",
        )
    ]
    want, got = _both(rows, ts[1] + 230.0)
    assert got == want
    assert len(got) == 1
    assert got[0][8] == repr(ts[2])  # the onset: the third point


@pytest.mark.parametrize(("name", "whole"), [("percent", 100.0), ("ratio", 1.0)])
def test_a_share_reads_the_same_as_success_or_as_errors(name: str, whole: float) -> None:
    """99.7% success and 0.3% errors are one measurement: the same finding, or none,
    whichever way the share is put. A flat 0% error baseline is not a zero noise floor
    under which one failed request in a thousand would be a hundred-sigma event."""
    t0 = 1_700_000_000.0
    ts = [t0 + i * 60.0 for i in range(60)]
    rnd = random.Random(3)
    for dip in (0.003, 0.05):
        ok = [whole * (1.0 - (dip if i >= 45 else 0.0)) for i in range(60)]
        ok = [min(whole, v * (1 + rnd.uniform(-2e-4, 2e-4))) for v in ok]
        rows = {
            kind: [
                Series(
                    name=f"http_requests_{kind}_{name}",
                    service="svc",
                    labels={},
                    timestamps=ts,
                    values=vals,
                    query="q",
                    ref="f.json",
                )
            ]
            for kind, vals in (("success", ok), ("error", [whole - v for v in ok]))
        }
        found = {}
        for kind, rs in rows.items():
            want, got = _both(rs, ts[47])
            assert got == want
            found[kind] = [round(float(k[3]), 6) for k in got]  # z
        assert found["success"] == found["error"], (dip, found)
        assert bool(found["error"]) == (dip > 0.01), (dip, found)
