"""A p99 past the highest histogram bucket: Prometheus answers +Inf, and the analysis
reads it as INF_CEILING times the row's largest finite value (it was read as a gap,
and the strongest latency signal of an incident vanished). The summary says +Inf."""

from __future__ import annotations

import math

import numpy as np

from aisre_cli.investigate.analyzers.metrics import (
    INF_CEILING,
    _detect_matrix,
    _detect_rows,
    _fill,
    detect,
)
from aisre_cli.investigate.evidence import metric_evidence
from aisre_cli.investigate.families import FamilyMatcher
from aisre_cli.model import Series

T0 = 1_700_000_000.0
STEP = 30.0
N = 80


def _p99(tail: list[float]) -> Series:
    vals = [0.21 + 0.01 * ((i * 7) % 5 - 2) for i in range(N - len(tail))] + tail
    return Series(
        name="http_request_duration_seconds_p99",
        labels={"service": "checkout"},
        timestamps=[T0 + STEP * i for i in range(N)],
        values=vals,
        service="checkout",
        ref="metrics/p99.json",
        query="histogram_quantile(0.99, ...)",
    )


ALERT = T0 + STEP * (N - 1)


def _both(row: Series) -> list[list[object]]:
    m = FamilyMatcher()
    x = np.array([row.values], dtype=np.float64)
    got = [_detect_rows([row], m, ALERT, 300.0), _detect_matrix(x, [row], m, ALERT, 300.0)]
    keys = [[(f.onset, f.level, f.peak, f.direction, round(f.z, 9)) for f in g] for g in got]
    assert keys[0] == keys[1], "the pure and the numpy paths agree"
    return [[f.onset, f.level, f.peak, f.direction] for f in got[0]]


def test_a_p99_at_inf_is_a_latency_rise_not_a_gap() -> None:
    row = _p99([math.inf] * 8)
    (found,) = _both(row)
    onset, level, peak, direction = found
    top = max(v for v in row.values if math.isfinite(v))
    assert onset == T0 + STEP * (N - 8) and direction == 1
    assert level == peak == INF_CEILING * top
    (f,) = detect([row], FamilyMatcher(), ALERT)
    assert f.family == "latency" and f.bad
    ev = metric_evidence(f).ev
    assert "to +Inf (past the top of its scale" in ev.summary
    assert "twice its largest finite value" in ev.summary
    assert ev.excerpt[-1].endswith("inf"), "the excerpt quotes the points as they are"


def test_a_mix_of_inf_and_finite_points_keeps_the_finite_ones() -> None:
    row = _p99([0.9, math.inf, 1.1, math.inf, math.inf, 1.2, math.inf, math.inf])
    filled = _fill(row.values)
    assert filled[-8:] == [0.9, 2.4, 1.1, 2.4, 2.4, 1.2, 2.4, 2.4]
    assert len(_both(row)) == 1


def test_inf_with_nothing_to_scale_and_minus_inf_are_still_gaps() -> None:
    # no positive finite value: +Inf cannot be scaled, it stays a gap (as -Inf, NaN)
    assert _fill([0.0, 0.0, math.inf, 0.0]) == [0.0, 0.0, 0.0, 0.0]
    assert _fill([math.inf, math.inf]) == [0.0, 0.0]
    assert _fill([1.0, -math.inf, math.nan, 2.0]) == [1.0, 1.0, 1.0, 2.0]
    row = _p99([-math.inf] * 8)
    assert _both(row) == [], "-Inf reads as a gap: nothing moved"


def test_a_summary_without_inf_is_unchanged() -> None:
    row = _p99([0.9] * 8)
    (f,) = detect([row], FamilyMatcher(), ALERT)
    summary = metric_evidence(f).ev.summary
    assert "+Inf" not in summary and " to 0.9 (peak 0.9," in summary
