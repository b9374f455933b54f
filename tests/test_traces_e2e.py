"""End to end: `aisre triage` with a live profile whose only evidence of the cause is
in a tracing backend (Tempo or Jaeger contract server), the alert coming from the
PagerDuty contract server, and no Prometheus, Loki or topology file.

The alert is on `checkout`; the traces show that since a few minutes before the page
`payments` (called by checkout) fails and is slow in its own spans. The trace source
must contribute both the call graph (frontend → checkout → payments, derived from
parent links since no topology is configured) and the trace evidence, and the top
hypothesis must be about payments, cited by a query over spans. Without the trace
source the same profile gives no such hypothesis (checked), so the traces are what
found it. The token of each source never appears in the output. `bundle capture`
writes the sampled spans to `traces/spans.jsonl`, and triage on that bundle ranks the
same top hypothesis.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from aisre_cli.settings import paths
from tests.contract_servers.cli import Result, run_cli
from tests.contract_servers.jaeger import JaegerServer
from tests.contract_servers.pagerduty import PagerDutyServer
from tests.contract_servers.spans import chain_trace
from tests.contract_servers.tempo import TempoServer

pytestmark = pytest.mark.integration

PD_TOKEN = "pd-traces-token"
TRACE_TOKEN = "trace-backend-token-789"


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def pd() -> Iterator[tuple[PagerDutyServer, datetime]]:
    now = datetime.now(UTC).replace(microsecond=0)
    alert_at = now - timedelta(minutes=2)
    s = PagerDutyServer(token=PD_TOKEN)
    s.add_incident("CheckoutErrors", service="checkout", created_at=_iso(alert_at))
    yield s, alert_at
    s.stop()


def _fill(server: TempoServer | JaegerServer, alert_at: datetime) -> None:
    """Traces every 10 s for 40 min; from 4 min before the page payments fails in
    half of the traces and its own spans take 80 ms instead of 8."""
    rnd = random.Random(11)
    onset = alert_at.timestamp() - 240
    t = alert_at.timestamp() - 2400
    end = alert_at.timestamp() + 110
    while t < end:
        bad = t >= onset
        err = bad and rnd.random() < 0.5
        calls = [
            ("frontend", "GET /cart", 3.0 * rnd.uniform(0.9, 1.1), False),
            ("checkout", "POST /checkout", 6.0 * rnd.uniform(0.9, 1.1), False),
            ("payments", "charge", (80.0 if bad else 8.0) * rnd.uniform(0.9, 1.1), err),
        ]
        server.add(chain_trace(rnd, t, calls))
        t += 10


def _triage(pd_url: str, trace: dict[str, Any] | None) -> Result:
    sources: dict[str, Any] = {
        "pagerduty": {"url": pd_url},
        "changes_file": str(paths.data_dir() / "none.jsonl"),
    }
    if trace:
        sources.update(trace)
    prof = {
        "environment": "test",
        "gather_budget_s": 30,  # generous: the machine may be loaded; nothing waits for it
        "lookback_minutes": 40,
        "lookahead_minutes": 5,
        "sources": sources,
    }
    p = paths.config_file()
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(yaml.safe_dump({"version": 1, "default_profile": "t", "profiles": {"t": prof}}))
    return run_cli(["triage", "CheckoutErrors", "--json"])


@pytest.mark.parametrize("backend", ["tempo", "jaeger"])
def test_trace_backend_supplies_the_call_graph_and_the_evidence(
    backend: str,
    pd: tuple[PagerDutyServer, datetime],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    server, alert_at = pd
    monkeypatch.setenv("AISRE_PAGERDUTY_TOKEN", PD_TOKEN)
    monkeypatch.setenv("AISRE_TRACES_TOKEN", TRACE_TOKEN)
    traces: TempoServer | JaegerServer = (
        TempoServer(token=TRACE_TOKEN) if backend == "tempo" else JaegerServer(token=TRACE_TOKEN)
    )
    try:
        _fill(traces, alert_at)
        cfg = {backend: {"url": traces.url, "token_name": "traces", "max_traces": 120}}
        r = _triage(server.url, cfg)
        assert r.code == 0, r.err[-2000:]
        assert TRACE_TOKEN not in r.out + r.err and PD_TOKEN not in r.out + r.err
        report = json.loads(r.out)
        # the call graph came from the spans (no topology source is configured)
        assert any("derived from" in n for n in report["notes"]), report["notes"]
        assert not any(n.startswith(f"{backend} traces") for n in report["notes"]), report["notes"]
        asked = {r.q("service") or r.q("q") or "" for r in traces.requests}
        assert any("checkout" in a for a in asked), asked
        top = report["hypotheses"][0]
        assert top["service"] == "payments", [
            (h["kind"], h["service"]) for h in report["hypotheses"][:4]
        ]
        by_id = {e["id"]: e for e in report["evidence"]}
        cited = [by_id[i] for i in top["evidence"]]
        spans = [e for e in cited if e["kind"] == "trace" and e["service"] == "payments"]
        assert spans, cited
        assert spans[0]["query"].startswith("spans where service=payments"), spans[0]
        # the span evidence links to the trace in the backend
        assert traces.url in json.dumps(spans), spans

        # `bundle capture` keeps the sampled spans; triage on the bundle agrees
        out = tmp_path / "bundle"
        r = run_cli(["bundle", "capture", "CheckoutErrors", "-o", str(out)])
        assert r.code == 0, r.err[-2000:]
        lines = (out / "traces" / "spans.jsonl").read_text().splitlines()
        assert len(lines) >= 30 and TRACE_TOKEN not in "".join(lines)
        first = json.loads(lines[0])
        assert {"trace_id", "span_id", "parent_id", "service", "name", "start"} <= set(first)
        assert first["status"] in ("ok", "error") and first["ref"].startswith(traces.url)
        r = run_cli(["triage", "--bundle", str(out), "--json"])
        assert r.code == 0, r.err[-2000:]
        again = json.loads(r.out)["hypotheses"][0]
        assert (again["kind"], again["service"]) == (top["kind"], top["service"])
    finally:
        traces.stop()

    # the same incident without the trace backend: nothing points at payments
    r = _triage(server.url, None)
    assert r.code == 0, r.err[-2000:]
    report = json.loads(r.out)
    assert not any(h["service"] == "payments" for h in report["hypotheses"][:1])
