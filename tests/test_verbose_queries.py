"""`-vv` shows every query that ran, its latency, its result size, and which were empty
(issue 12, item 17)."""

from __future__ import annotations

import logging
import subprocess
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import respx

from aisre_cli.model import utcnow
from aisre_cli.settings.config import PrometheusSource
from aisre_cli.sources.prometheus import Prometheus
from aisre_cli.sources.querylog import QueryStat
from tests.conftest import DEMO
from tests.fakes.env import AISRE, make_env


def test_triage_dash_vv_after_the_subcommand_lists_the_queries(tmp_path: Path) -> None:
    env = make_env(tmp_path / "home")
    cp = subprocess.run(
        [*AISRE, "triage", "-vv", "--bundle", str(DEMO)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cp.returncode == 0, cp.stderr
    lines = [x for x in cp.stderr.splitlines() if x.startswith("aisre.query: ")]
    assert len(lines) == len(list((DEMO / "metrics").glob("*.json"))), cp.stderr
    hit = next(x for x in lines if "metrics/http_error_ratio.json" in x)
    assert " series in " in hit and "http_requests_total" in hit
    # -v alone does not turn the debug log on
    cp = subprocess.run(
        [*AISRE, "triage", "-v", "--bundle", str(DEMO)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cp.returncode == 0 and "aisre.query" not in cp.stderr


def test_prometheus_logs_latency_size_empty_and_failed(caplog: pytest.LogCaptureFixture) -> None:
    base = "http://prom.test"

    def answer(request: httpx.Request) -> httpx.Response:
        q = request.url.params["query"]
        if q == "broken(":
            return httpx.Response(
                400, json={"status": "error", "errorType": "bad_data", "error": "parse error"}
            )
        result = (
            [{"metric": {"job": "api"}, "values": [[1.0, "1"], [2.0, "1"]]}] if q == "up" else []
        )
        return httpx.Response(
            200, json={"status": "success", "data": {"resultType": "matrix", "result": result}}
        )

    queries = {"up": "up", "restarts": "kube_restarts_total", "bad": "broken("}
    with respx.mock:
        respx.get(f"{base}/api/v1/query_range").mock(side_effect=answer)
        p = Prometheus(
            PrometheusSource(url=base, default_queries=False, queries=queries),
            client=httpx.Client(),
        )
        with caplog.at_level(logging.DEBUG, logger="aisre.query"):
            p.fetch_series(utcnow() - timedelta(minutes=5), utcnow(), None)
    got = {r.getMessage().split(":")[0]: r.getMessage() for r in caplog.records}
    assert got["prometheus up"].startswith("prometheus up: 1 series in ")
    assert "EMPTY (0 series)" in got["prometheus restarts"]
    assert "kube_restarts_total" in got["prometheus restarts"]
    assert "FAILED (" in got["prometheus bad"] and "parse error" in got["prometheus bad"]


def test_render() -> None:
    s = QueryStat("loki", "logs", '{service="a"}', 0.25, 0, "lines")
    assert s.render() == 'loki logs: EMPTY (0 lines) in 0.250s: {service="a"}'
