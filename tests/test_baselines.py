"""The naive baselines `aisre eval` reports beside the engine: each orders services as
its docstring says, and the service-level numbers compare them on the same bundles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from aisre_cli.investigate.analyzers.metrics import MetricFinding
from aisre_cli.investigate.baselines import NAMES, rank_of, rankings
from aisre_cli.investigate.evaluate import (
    CaseFeatures,
    CaseResult,
    TruthSpec,
    evaluate,
    rank_case,
    service_level,
)
from aisre_cli.investigate.rank import FEATURES, Weights
from aisre_cli.model import Alert, Change, Series, Topology
from tests.conftest import DEMO

PAGE = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _finding(service: str, z: float, bad: bool = True) -> MetricFinding:
    s = Series("latency", service, {"service": service}, [0.0, 60.0], [1.0, 2.0])
    return MetricFinding(s, "latency", 1, z, 1.0, 1.0, 2.0, 2.0, 0.0, 0.5, bad)


def _analysis(
    findings: list[MetricFinding],
    topo: dict[str, list[str]],
    alert_service: str | None = "web",
    changes: list[Change] | None = None,
) -> Any:
    alert = Alert(id="a", name="WebDown", service=alert_service, starts_at=PAGE)
    ctx = SimpleNamespace(alert=alert, changes=changes or [])
    return SimpleNamespace(
        ctx=ctx,
        topology=Topology(depends_on=topo),
        findings=SimpleNamespace(metrics=findings),
    )


def _change(service: str, minutes_before: float, cid: str) -> Change:
    return Change(
        id=cid, ts=PAGE - timedelta(minutes=minutes_before), service=service, kind="deploy"
    )


TOPO = {"web": ["api"], "api": ["db", "cache"], "db": [], "cache": []}


def test_zscore_orders_services_by_their_worst_series_and_ignores_good_moves() -> None:
    a = _analysis(
        [
            _finding("web", 9.0),
            _finding("api", 5.0),
            _finding("api", 30.0),  # a service's worst series counts
            _finding("cache", 50.0, bad=False),  # a good-direction move is no suspect
            _finding("db", 6.0),
        ],
        TOPO,
    )
    assert rankings(a)["z-score"] == ["api", "web", "db"]


def test_topology_walk_follows_the_most_anomalous_dependency_down() -> None:
    a = _analysis(
        [_finding("web", 40.0), _finding("api", 8.0), _finding("db", 6.0), _finding("cache", 5.0)],
        TOPO,
    )
    # web → api → (db 6 > cache 5) db: stops at db, then back up the path
    assert rankings(a)["topology walk"] == ["db", "api", "web"]
    # a healthy middle hop stops the walk at the paging service
    b = _analysis([_finding("web", 40.0), _finding("db", 60.0)], TOPO)
    assert rankings(b)["topology walk"] == ["web", "db"]


def test_topology_walk_without_a_map_is_the_zscore_order() -> None:
    a = _analysis([_finding("web", 4.5), _finding("db", 6.0)], {}, alert_service="web")
    r = rankings(a)
    assert r["topology walk"] == r["z-score"] == ["db", "web"]


def test_latest_change_blames_the_newest_change_before_the_page() -> None:
    changes = [
        _change("api", 30, "c1"),
        _change("db", 5, "c2"),
        _change("api", 2, "c3"),
        _change("cache", -10, "c4"),  # after the page: not a suspect
    ]
    a = _analysis([], TOPO, changes=changes)
    assert rankings(a)["latest change"] == ["api", "db"]
    assert rankings(_analysis([], TOPO))["latest change"] == []


def test_alert_service_baseline_and_rank_of() -> None:
    r = rankings(_analysis([], TOPO))
    assert r["alert service"] == ["web"]
    assert set(r) == set(NAMES)
    assert rank_of("web", r["alert service"]) == 1
    assert rank_of("db", r["alert service"]) is None
    assert rankings(_analysis([], TOPO, alert_service=None))["alert service"] == []


def _case(truth: TruthSpec, keys: list[tuple[str, str, str | None]], **base: list[str]) -> Any:
    rows = [[0.0] * len(FEATURES) for _ in keys]
    for i, row in enumerate(rows):  # first key scores highest
        row[FEATURES.index("anomaly")] = float(len(keys) - i)
    c = CaseResult(path="x", id="x", truth=truth, dataset="d", baselines=dict(base))
    c.features = CaseFeatures(keys=keys, rows=rows)
    return c


def test_service_level_compares_engine_and_baselines_on_known_causes() -> None:
    w = Weights(w={"anomaly": 1.0}, null_score=-5.0, escalate_below=0.0)
    hit = _case(
        TruthSpec("deploy", "api"),
        [("api", "config_change", None), ("db", "deploy", None)],  # kind wrong, service right
        **{"z-score": ["db", "api"], "topology walk": ["api"]},
    )
    miss = _case(
        TruthSpec("network", "db", match="service"),
        [("api", "network", None), ("web", "network", None), ("db", "network", None)],
        **{"z-score": ["db"], "topology walk": ["web", "api"]},
    )
    unknown = _case(TruthSpec("unknown", "web"), [("web", "deploy", None)])
    cases = [rank_case(c, w) for c in (hit, miss, unknown)]
    assert [c.service_rank for c in cases] == [1, 3, None]
    assert cases[0].baselines == hit.baselines  # re-ranking keeps them
    sl = service_level(cases)
    assert sl.n == 2  # the unknown case has no cause to find
    assert (sl.top1, sl.top3) == (0.5, 1.0)
    assert sl.baselines["z-score"] == (0.5, 1.0)
    assert sl.baselines["topology walk"] == (0.5, 0.5)
    assert sl.baselines["latest change"] == (0.0, 0.0)
    assert sl.best_baseline == "z-score"  # ties on AC@1 go to AC@3
    assert sl.margin == 0.0
    d = sl.to_dict()
    assert d["best_baseline"] == "z-score" and d["margin_top1"] == 0.0
    assert set(d["baselines"]) == set(NAMES)


def test_the_demo_bundle_carries_every_baseline() -> None:
    report = evaluate(DEMO, jobs=1)
    (case,) = report.cases
    assert case.ok and case.truth is not None and case.service_rank == 1
    assert case.baselines["alert service"] == ["checkout"]
    # the demo's deploys before the page, newest first: payments' bad one is the latest
    assert case.baselines["latest change"][0] == "payments"
    assert case.baselines["z-score"] and case.baselines["topology walk"]
    sl = report.summary.service
    assert sl.n == 1 and sl.top1 == 1.0 and sl.baselines["alert service"] == (0.0, 0.0)
    body = case.to_dict()
    assert body["service_rank"] == 1 and set(body["baselines"]) == set(NAMES)
