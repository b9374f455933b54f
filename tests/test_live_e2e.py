"""Live end to end: real Prometheus + Alertmanager, an instrumented demo service, a
bad deploy, a real alert rule firing, `aisre alerts`, `aisre triage`, `aisre bundle
capture` and triage on the captured bundle.

Timeline (about 35 s): the stack and two demo services (checkout, frontend; logs
pushed to the Loki contract server) start; after ~15 s of healthy traffic the test
records a deploy with `aisre change record` and switches checkout into its fault
(45% errors). `CheckoutHighErrorRate` fires in Prometheus, reaches Alertmanager, and
a PagerDuty incident for the same alert (alert key = the Alertmanager fingerprint)
is opened on the PagerDuty contract server. Then:

* `aisre alerts --json` shows ONE row for the incident, seen through both sources;
* `aisre triage CheckoutHighErrorRate --json` ranks the recorded deploy of checkout
  first, citing live PromQL;
* `aisre bundle capture` writes a bundle and triage on it ranks the same hypotheses.
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from aisre_cli.settings import paths
from tests.contract_servers.cli import run_cli
from tests.contract_servers.loki import LokiServer
from tests.contract_servers.pagerduty import PagerDutyServer
from tests.servers import CHECKOUT_ERROR_RULE, free_port, start_stack, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BASELINE_S = 15.0


def _ranking(report: dict[str, Any], n: int = 3) -> list[tuple[str, str, str | None]]:
    return [(h["kind"], h["service"], h["subject"]) for h in report["hypotheses"][:n]]


def test_live_triage_ranks_the_injected_deploy_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loki = LokiServer()
    pd = PagerDutyServer(token="pd-e2e-token")
    checkout_port, frontend_port = free_port(), free_port()
    stack = start_stack(
        scrape_targets={
            "checkout": f"127.0.0.1:{checkout_port}",
            "frontend": f"127.0.0.1:{frontend_port}",
        },
        rules=[CHECKOUT_ERROR_RULE],
    )
    try:
        stack.start_demo("checkout", checkout_port, loki=loki.url)
        stack.start_demo("frontend", frontend_port, loki=loki.url)

        topo = tmp_path / "topology.yaml"
        topo.write_text("services:\n  frontend: {depends_on: [checkout]}\n  checkout: {}\n")
        monkeypatch.setenv("AISRE_PAGERDUTY_TOKEN", "pd-e2e-token")
        r = run_cli(
            [
                "config",
                "init",
                "-y",
                "--name",
                "e2e",
                "--alertmanager-url",
                stack.am_url,
                "--prometheus-url",
                stack.prom_url,
                "--loki-url",
                loki.url,
                "--pagerduty",
                "--pagerduty-url",
                pd.url,
                "--topology-file",
                str(topo),
                "--budget",
                "10",
            ]
        )
        assert r.code == 0, r.err
        cfg_path = paths.config_file()
        assert (cfg_path.stat().st_mode & 0o777) == 0o600
        cfg = yaml.safe_load(cfg_path.read_text())
        prof = cfg["profiles"]["e2e"]
        prof["lookback_minutes"] = 0.75
        prof["lookahead_minutes"] = 0.5
        prof["sources"]["prometheus"]["rate_window"] = "5s"
        cfg_path.write_text(yaml.safe_dump(cfg))

        r = run_cli(["doctor", "--json"])
        doctor = json.loads(r.out)
        assert r.code == 0, r.out + r.err
        assert {s["source"] for s in doctor["sources"]} >= {
            "alertmanager",
            "prometheus",
            "loki",
            "pagerduty",
            "topology",
        }

        # healthy baseline
        wait_until(lambda: stack.prom_query('up{job="checkout"} == 1'), 20, "checkout scraped")
        time.sleep(BASELINE_S)

        # the bad deploy, then the fault it causes
        r = run_cli(
            [
                "change",
                "record",
                "--service",
                "checkout",
                "--version",
                "v2.0.0",
                "--summary",
                "cart rewrite",
            ]
        )
        assert r.code == 0, r.err
        change_id = r.out.strip()
        req = urllib.request.Request(
            f"http://127.0.0.1:{checkout_port}/fault?mode=errors", method="POST"
        )
        urllib.request.urlopen(req, timeout=2).read()

        fired = stack.wait_alert("CheckoutHighErrorRate", 40)
        fp = fired["fingerprint"]
        pd.page_for(fired, service="checkout")

        r = run_cli(["alerts", "--json"])
        assert r.code == 0, r.err
        listing = json.loads(r.out)
        rows = [a for g in listing["incidents"] for a in g if a["name"] == "CheckoutHighErrorRate"]
        assert len(rows) == 1, rows
        assert rows[0]["id"] == fp and set(rows[0]["sources"]) == {"alertmanager", "pagerduty"}

        time.sleep(6)  # a few points after the onset
        r = run_cli(["triage", "CheckoutHighErrorRate", "--json"])
        ran_until = time.time()
        assert r.code == 0, r.err
        assert "Traceback" not in r.err
        live = json.loads(r.out)
        top = live["hypotheses"][0]
        assert (top["kind"], top["service"], top["subject"]) == ("deploy", "checkout", change_id), (
            live["hypotheses"][:3],
            live["notes"],
        )
        cited = {e["id"]: e for e in live["evidence"]}
        queries = [cited[i]["query"] for i in top["evidence"] if i in cited]
        assert any("http_requests_total" in q for q in queries), queries
        _assert_evidence_reproducible(stack.prom_url, live, ran_until)

        # capture, then replay offline: same ranking
        out = tmp_path / "bundle"
        r = run_cli(["bundle", "capture", fp, "-o", str(out)])
        captured_at = time.time()
        assert r.code == 0, r.err
        stamps = [
            float(pair[0])
            for f in (out / "metrics").glob("*.json")
            for series in json.loads(f.read_text())["data"]["result"]
            for pair in series["values"]
        ]
        assert stamps and max(stamps) <= captured_at, (max(stamps), captured_at)
        for name in (
            "bundle.yaml",
            "alerts.json",
            "changes.json",
            "topology.yaml",
            "metrics/queries.yaml",
        ):
            assert (out / name).exists(), name
        assert list((out / "logs").glob("*.jsonl"))
        r = run_cli(["bundle", "validate", str(out)])
        assert r.code == 0, r.err
        r = run_cli(["triage", "--bundle", str(out), "--json"])
        assert r.code == 0, r.err
        replay = json.loads(r.out)
        assert replay["hypotheses"][0]["kind"] == "deploy"
        assert replay["hypotheses"][0]["subject"] == change_id
        assert [h["service"] for h in replay["hypotheses"][:3]] == [
            h["service"] for h in live["hypotheses"][:3]
        ] or _ranking(replay, 1) == _ranking(live, 1)
        # exact round trip: one live Context, analysed directly and via its bundle
        _assert_round_trip(fp, tmp_path / "exact")
    finally:
        stack.stop()
        loki.stop()
        pd.stop()


def _ts(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _assert_evidence_reproducible(prom_url: str, report: dict[str, Any], ran_until: float) -> None:
    """Every PromQL that triage cites parses and returns the series; none is in the future."""
    from urllib.error import HTTPError
    from urllib.parse import urlencode

    promql = [e for e in report["evidence"] if str(e.get("ref") or "").startswith(prom_url)]
    assert promql, [(e["kind"], e["ref"]) for e in report["evidence"]]
    for e in report["evidence"]:
        for key in ("start", "end"):
            assert e[key] is None or _ts(e[key]) <= ran_until, (e["id"], key, e[key], ran_until)
    for e in promql:
        end = _ts(e["end"]) if e["end"] else ran_until
        start = _ts(e["start"]) if e["start"] else end - 300
        args = {"query": e["query"], "start": start, "end": end, "step": 1}
        try:
            body = urllib.request.urlopen(
                f"{prom_url}/api/v1/query_range?{urlencode(args)}", timeout=10
            ).read()
        except HTTPError as exc:
            raise AssertionError(f"{e['id']} {e['query']!r}: {exc.read()[:300]!r}") from None
        data = json.loads(body)
        assert data["status"] == "success", (e["query"], data)
        if e["kind"] == "metric_anomaly":
            assert data["data"]["result"], f"{e['id']} {e['query']!r} returns no series"


def _assert_round_trip(alert_id: str, out: Path) -> None:
    from aisre_cli.investigate.gather import gather_for, list_alerts, resolve_alert
    from aisre_cli.investigate.rank import Weights
    from aisre_cli.investigate.triage import analyze_context, build_report, run_triage
    from aisre_cli.settings.config import resolve_profile
    from aisre_cli.sources.capture import capture_bundle, raw_alerts
    from aisre_cli.sources.registry import build_sources, bundle_set

    prof = resolve_profile("e2e").profile
    sources = build_sources(prof)
    alerts, _ = list_alerts(sources, prof.gather_budget_s)
    alert = resolve_alert(alerts, alert_id)
    ctx = gather_for(sources, alert, alerts, prof)
    assert all(n.status == "ok" for n in ctx.notes), ctx.notes
    raw = raw_alerts(sources.alerts)
    capture_bundle(ctx, out, raw_alerts=raw)
    w = Weights.load()
    live = build_report(analyze_context(ctx, prof, w), w, None, 0.0)
    replay = run_triage(bundle_set(out, prof.service_labels), alert.id, prof, weights=w)

    def ranked(r: Any) -> list[tuple[str, str, str | None, float]]:
        return [
            (h.kind, h.service, h.subject, round(h.confidence, 6))
            for h in r.verdict.hypotheses
            if h.confidence > 0
        ]

    def unranked(r: Any) -> list[tuple[str, str, str]]:
        return sorted(
            (h.kind, h.service, h.subject or "") for h in r.verdict.hypotheses if h.confidence <= 0
        )

    # the ranked hypotheses are identical, in order; zero-confidence ones have no order
    assert ranked(live) and ranked(replay) == ranked(live)
    assert unranked(replay) == unranked(live)
    assert replay.verdict.classification == live.verdict.classification
