"""Grafana Explore links on metric and log evidence (issue 13, item 4).

The URL is parsed back (datasource uid, the exact PromQL/LogQL, the time range); the
links are in `triage --json`, in the triage text, and in the console's evidence pane.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from array import array
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aisre_cli.investigate.evidence import log_evidence
from aisre_cli.investigate.links import LEAD, TRAIL, add_links, evidence_links, explore_url
from aisre_cli.model import Alert, Context, Evidence, LogTable, TriageReport, Verdict, Window
from aisre_cli.settings.config import GrafanaSettings, Profile, Sources
from tests.conftest import DEMO
from tests.fakes.env import AISRE, make_env, write_config

T0 = datetime(2025, 3, 11, 13, 20, tzinfo=UTC)
T1 = datetime(2025, 3, 11, 13, 40, tzinfo=UTC)
GRAFANA = GrafanaSettings(
    url="https://grafana.example.com/grafana/", prometheus_uid="prom-main", loki_uid="loki-a"
)


def parse(url: str) -> tuple[str, dict[str, list[str]], dict[str, Any]]:
    """(base path, query parameters, the one pane) of an Explore URL."""
    parts = urlsplit(url)
    q = parse_qs(parts.query, strict_parsing=True)
    panes = json.loads(q["panes"][0])
    assert len(panes) == 1
    return f"{parts.scheme}://{parts.netloc}{parts.path}", q, next(iter(panes.values()))


def ms(d: datetime) -> str:
    return str(int(d.timestamp() * 1000))


def test_promql_url_parses_back_to_uid_expr_and_range() -> None:
    expr = 'sum by (service) (rate(http_requests_total{code=~"5..",service="a b&c"}[5m])) > 0.5'
    url = explore_url(GRAFANA, "promql", expr, T0, T1)
    base, q, pane = parse(url)
    assert base == "https://grafana.example.com/grafana/explore"  # the sub-path is kept
    assert q["schemaVersion"] == ["1"] and "orgId" not in q
    assert pane["datasource"] == "prom-main"
    (query,) = pane["queries"]
    assert query["datasource"] == {"type": "prometheus", "uid": "prom-main"}
    assert query["expr"] == expr and query["refId"] == "A"
    assert pane["range"] == {"from": ms(T0), "to": ms(T1)}
    # nothing in the URL needs further quoting (no raw space, quote, brace or newline)
    assert not any(c in url for c in ' "{}\n<>')


def test_logql_url_uses_the_loki_uid_and_the_org() -> None:
    g = GRAFANA.model_copy(update={"org_id": 3})
    expr = '{service="checkout"} |= "timeout"'
    _, q, pane = parse(explore_url(g, "logql", expr, T0, T1))
    assert q["orgId"] == ["3"]
    assert pane["datasource"] == "loki-a"
    assert pane["queries"][0]["datasource"] == {"type": "loki", "uid": "loki-a"}
    assert pane["queries"][0]["expr"] == expr


def _ev(**kw: Any) -> Evidence:
    base: dict[str, Any] = {
        "id": "E1",
        "kind": "metric_anomaly",
        "summary": "s",
        "strength": 0.5,
        "query": "up",
        "language": "promql",
    }
    return Evidence.model_validate({**base, **kw})


def test_evidence_range_leads_and_trails_and_falls_back_to_the_window() -> None:
    w = (T0 - timedelta(hours=1), T1)
    (link,) = evidence_links(_ev(start=T0, end=T1), GRAFANA, w)
    assert link.label == "Grafana Explore (Prometheus)"
    assert parse(link.url)[2]["range"] == {"from": ms(T0 - LEAD), "to": ms(T1 + TRAIL)}
    (link,) = evidence_links(_ev(), GRAFANA, w)  # no start/end: the triage window
    assert parse(link.url)[2]["range"] == {"from": ms(w[0] - LEAD), "to": ms(w[1] + TRAIL)}
    # not a datasource query: no link
    assert evidence_links(_ev(language=None, query="file metrics/x.json"), GRAFANA, w) == []
    assert (
        evidence_links(_ev(kind="change", language=None, query="changes: id=1"), GRAFANA, w) == []
    )


def test_add_links_needs_grafana_configured() -> None:
    report = TriageReport(
        alert=Alert(id="a", name="A", starts_at=T0), verdict=Verdict(), evidence=[_ev()]
    )
    add_links(report, None, (T0, T1))
    assert report.evidence[0].links == []
    add_links(report, GRAFANA, (T0, T1))
    add_links(report, GRAFANA, (T0, T1))  # idempotent
    assert len(report.evidence[0].links) == 1
    assert report.to_public()["evidence"][0]["links"][0]["url"].startswith(
        "https://grafana.example.com/grafana/explore?schemaVersion=1&panes="
    )


def test_log_evidence_from_loki_is_logql_and_from_a_bundle_is_not() -> None:
    from aisre_cli.investigate.analyzers.logs import LogFinding

    def finding() -> LogFinding:
        import dataclasses

        names = {f.name for f in dataclasses.fields(LogFinding)}
        values: dict[str, Any] = {
            "service": "checkout",
            "template": "timeout calling <*>",
            "level": "error",
            "new": True,
            "rate_ratio": 1.0,
            "first_after": T0.timestamp(),
            "after": 5,
            "before": 0,
            "strength": 0.8,
            "family": "errors",
            "examples": [0],
        }
        return LogFinding(**{k: v for k, v in values.items() if k in names})

    def ctx(query: str) -> Context:
        logs = LogTable(
            ts=array("d", [T0.timestamp()]),
            service=["checkout"],
            level=["error"],
            msg=["timeout calling payments"],
            file_idx=array("i", [0]),
            line=array("i", [1]),
            files=["logs/checkout.jsonl"],
            query={"checkout": query},
        )
        return Context(
            alert=Alert(id="a", name="A", starts_at=T0),
            alerts=[],
            window=Window(T0 - timedelta(hours=1), T1),
            logs=logs,
        )

    ev = log_evidence(finding(), ctx('{service="checkout"}')).ev
    assert ev.language == "logql"
    (link,) = evidence_links(ev, GRAFANA, (T0, T1))
    pane = parse(link.url)[2]
    assert pane["datasource"] == "loki-a" and pane["queries"][0]["expr"] == '{service="checkout"}'
    ev = log_evidence(finding(), ctx('grep \'"service": *"checkout"\' logs/*.jsonl')).ev
    assert ev.language is None and evidence_links(ev, GRAFANA, (T0, T1)) == []


def _triage(home: Path, bundle: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*AISRE, "triage", "--bundle", str(bundle), *extra],
        env=make_env(home),
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def test_triage_json_and_text_carry_the_links(tmp_path: Path) -> None:
    home = tmp_path / "h"
    write_config(
        home,
        {"grafana": {"url": "https://grafana.example.com", "prometheus_uid": "prom-main"}},
    )
    cp = _triage(home, DEMO, "--json")
    assert cp.returncode == 0, cp.stderr
    report = json.loads(cp.stdout)
    metric = [e for e in report["evidence"] if e["language"] == "promql"]
    assert metric, [e["kind"] for e in report["evidence"]]
    for e in report["evidence"]:
        if e["language"] is None:
            assert e["links"] == [], e  # bundle logs (grep), changes, traces: no link
            continue
        (link,) = e["links"]
        base, q, pane = parse(link["url"])
        assert base == "https://grafana.example.com/explore"
        assert pane["datasource"] == "prom-main"
        assert pane["queries"][0]["expr"] == e["query"]  # exactly the query next to it
        start = datetime.fromisoformat(e["start"]) if e["start"] else None
        if start is not None:
            assert pane["range"]["from"] == ms(start - LEAD)
        if e["end"]:
            assert pane["range"]["to"] == ms(datetime.fromisoformat(e["end"]) + TRAIL)
    text = _triage(home, DEMO)
    assert text.returncode == 0, text.stderr
    for e in metric:
        assert any(e["links"][0]["url"] in line for line in text.stdout.splitlines())
    assert "↗ Grafana Explore (Prometheus): https://grafana.example.com/explore?" in text.stdout


def test_no_grafana_no_links_and_file_metrics_get_none(tmp_path: Path) -> None:
    home = tmp_path / "h"
    write_config(home, {})
    report = json.loads(_triage(home, DEMO, "--json").stdout)
    assert all(e["links"] == [] for e in report["evidence"])
    assert "Grafana" not in _triage(home, DEMO).stdout
    # a bundle without metrics/queries.yaml has no PromQL to link
    bundle = tmp_path / "b"
    shutil.copytree(DEMO, bundle)
    (bundle / "metrics" / "queries.yaml").unlink()
    write_config(home, {"grafana": {"url": "https://grafana.example.com"}})
    report = json.loads(_triage(home, bundle, "--json").stdout)
    assert report["evidence"]
    assert all(e["links"] == [] and e["language"] is None for e in report["evidence"])


def test_config_init_writes_grafana() -> None:
    import yaml

    from aisre_cli.settings import paths
    from tests.contract_servers.cli import run_cli

    r = run_cli(
        [
            *("config", "init", "-y", "--prometheus-url", "http://prom:9090"),
            *("--grafana-url", "https://g.example.com", "--grafana-loki-uid", "logs"),
        ]
    )
    assert r.code == 0, r.err
    prof = yaml.safe_load(paths.config_file().read_text())["profiles"]["prod"]
    assert prof["grafana"] == {"url": "https://g.example.com", "loki_uid": "logs"}
    got = Profile.model_validate(prof).grafana
    assert got is not None and got.prometheus_uid == "prometheus"  # the default
    r = run_cli(
        [
            "config",
            "init",
            "-y",
            "--name",
            "x",
            "--prometheus-url",
            "http://p:1",
            "--grafana-url",
            "g.example.com",
        ]
    )
    assert r.code == 2 and "http" in r.err  # not a URL: one line, exit 2
    r = run_cli(
        ["config", "init", "-y", "--name", "y", "--prometheus-url", "http://p:1"]
        + ["--grafana-loki-uid", "l"]
    )
    assert r.code == 2 and "--grafana-url" in r.err


def test_console_evidence_pane_shows_the_links() -> None:
    import asyncio

    from textual.message import Message

    from aisre_cli.ui.tui.widgets.evidence import EvidencePane
    from tests.test_console import demo_app, demo_backend, open_incident

    prof = Profile(
        environment="demo",
        kube_context="ctx-test",
        sources=Sources(bundle=str(DEMO)),
        grafana=GrafanaSettings(url="https://grafana.example.com", prometheus_uid="pm"),
    )

    async def flow() -> None:
        messages: list[Message] = []
        app = demo_app(demo_backend(profile=prof))
        async with app.run_test(size=(200, 60), message_hook=messages.append) as pilot:
            incident = await open_incident(pilot, messages)
            pane = incident.query_one(EvidencePane)
            text = str(pane.body.render())
            assert "Grafana Explore (Prometheus): https://grafana.example.com/explore?" in text
            url = text.split("Grafana Explore (Prometheus): ", 1)[1].split()[0]
            assert parse(url)[2]["datasource"] == "pm"
            assert "\x1b]" not in text  # a URL as text, never an OSC 8 hyperlink

    asyncio.run(flow())
