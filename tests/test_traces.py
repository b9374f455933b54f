"""Optional traces: call edges when topology.yaml is missing, span evidence per service."""

from __future__ import annotations

import shutil
from pathlib import Path

from aisre_cli.investigate.analyzers.traces import analyze, derive_topology
from aisre_cli.investigate.triage import run_triage
from aisre_cli.model import Span
from aisre_cli.settings.config import Profile
from aisre_cli.sources.bundle import BundleSource
from aisre_cli.sources.registry import bundle_set
from tests.conftest import DEMO


def span(
    tid: str,
    sid: str,
    parent: str | None,
    svc: str,
    start: float,
    err: bool = False,
    dur: float = 10.0,
) -> Span:
    return Span(tid, sid, parent, svc, "op", start, dur, err)


def test_derive_topology_from_parent_links() -> None:
    spans = [
        span("t1", "a", None, "web", 0),
        span("t1", "b", "a", "checkout", 1),
        span("t1", "c", "b", "payments", 2),
        span("t1", "d", "b", "checkout", 3),  # same-service child: no edge
        span("t2", "e", "missing", "orphan", 4),  # unknown parent: no edge
    ]
    topo = derive_topology(spans)
    assert topo.depends_on["web"] == ["checkout"]
    assert topo.depends_on["checkout"] == ["payments"]
    assert topo.depends_on["orphan"] == []


def test_span_errors_and_latency_become_findings() -> None:
    before = [span("t", f"p{i}", None, "payments", i, dur=20) for i in range(20)]
    after = [
        span("t", f"q{i}", None, "payments", 100 + i, err=i % 2 == 0, dur=90) for i in range(20)
    ]
    healthy = [span("t", f"h{i}", None, "search", i * 10, dur=15) for i in range(20)]
    (f,) = analyze(before + after + healthy, ref=100)
    assert f.service == "payments" and f.err_after > f.err_before and f.p50_after > f.p50_before
    assert f.strength > 0.5


def test_triage_without_topology_uses_traces(tmp_path: Path) -> None:
    b = tmp_path / "demo"
    shutil.copytree(DEMO, b)
    (b / "topology.yaml").unlink()
    assert BundleSource(b).fetch_topology().depends_on == {}
    report = run_triage(bundle_set(b), None, Profile())
    assert any("derived from" in n for n in report.notes)
    top = report.verdict.hypotheses[0]
    assert (top.kind, top.service) == ("deploy", "payments")
