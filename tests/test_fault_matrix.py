"""Fault matrix (issue 4 acceptance): each of Prometheus, Alertmanager, Loki,
PagerDuty and Kubernetes × {hang, slow, 500, 503+Retry-After, 429+reset, 401,
malformed JSON, truncated body, 50 MB body, connection refused}, plus every source
down at once.

Healthy sources are real (Prometheus, Alertmanager) or contract servers (Loki,
PagerDuty, Kubernetes); the faulty one points at the FaultServer (or a closed port).
Kubernetes is reached through a kubeconfig over TLS (its credentials are sent only
over https), so its faulty server is a TLS FaultServer answering `kind: Status` errors. For every
cell `aisre triage MatrixAlert --json` must: finish within its budget (one
`gather_budget_s` for the alert listing and the gather together, plus the time to
analyse and print), exit with the documented code (0: a verdict was produced; 3: no
alert source answered), name the faulty source in a per-source note on stderr and
in the JSON, and never show a traceback.

Set AISRE_MATRIX_REPORT=path to write the results as a Markdown table.

Timing: the suite runs on loaded 2-core machines, so these tests do not assert tight
wall-clock numbers. They assert that the deadline machinery fired (a hanging or
trickling source is cut off and its note says it ran out of time) and that the run
ends far sooner than the fault would last on its own (the fault server hangs for 30 s).
The tight number (budget + analysis overhead) is measured by `bench/fault_deadline.py`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from aisre_cli.settings import paths
from tests.contract_servers.base import FAULTS, FaultServer, closed_port_url
from tests.contract_servers.cli import Result, run_cli
from tests.contract_servers.kube import KubeServer, Pki, kubeconfig, make_pki, shop, status_body
from tests.contract_servers.loki import LokiServer
from tests.contract_servers.pagerduty import PagerDutyServer
from tests.servers import Stack, shared_stack, wait_until

pytestmark = pytest.mark.integration

BUDGET_S = 2.5
SOURCES = ("prometheus", "alertmanager", "loki", "pagerduty", "kubernetes")
CELLS = [*FAULTS, "refused"]
FAULT_LASTS_S = 30.0
"""How long the fault server's `hang` and `slow` faults last on their own."""
CEILING_S = FAULT_LASTS_S * 2 / 3
"""Generous: a run under this was cut off by aisre's deadline, not by the fault ending."""
TIMED_OUT = ("budget", "timeout", "no response within", "no answer within", "ran out")
RESULTS: dict[tuple[str, str], dict[str, Any]] = {}
TOKEN = "pd-matrix-token"
KUBE_TOKEN = "kube-matrix-token"
_KUBE_REASONS = {
    401: "Unauthorized",
    403: "Forbidden",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
}


class Env:
    def __init__(
        self,
        stack: Stack,
        loki: LokiServer,
        pd: PagerDutyServer,
        fault: FaultServer,
        kube: KubeServer,
        kube_fault: FaultServer,
        pki: Pki,
    ):
        self.stack, self.loki, self.pd, self.fault = stack, loki, pd, fault
        self.kube, self.kube_fault, self.pki = kube, kube_fault, pki

    def fault_url(self, source: str) -> str:
        return self.kube_fault.url if source == "kubernetes" else self.fault.url

    def set_fault(self, kind: str | None) -> None:
        self.fault.set_fault(kind)
        self.kube_fault.set_fault(kind)

    def profile(
        self, broken: dict[str, str], extra: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        http = {"connect_timeout": 0.5, "read_timeout": 1.0, "retries": 1}
        url = {
            "alertmanager": self.stack.am_url,
            "prometheus": self.stack.prom_url,
            "loki": self.loki.url,
            "pagerduty": self.pd.url,
            "kubernetes": self.kube.url,
        }
        url.update(broken)
        kc = paths.config_file().parent / "kubeconfig"
        kc.parent.mkdir(parents=True, exist_ok=True)
        kube_url = url["kubernetes"].replace("http://", "https://")
        kc.write_text(
            yaml.safe_dump(kubeconfig(kube_url, context="matrix", token=KUBE_TOKEN, ca=self.pki.ca))
        )
        return {
            "environment": "test",
            "gather_budget_s": BUDGET_S,
            "lookback_minutes": 5,
            "lookahead_minutes": 1,
            "sources": {
                "alertmanager": {"url": url["alertmanager"], "http": http},
                "prometheus": {"url": url["prometheus"], "http": http, "rate_window": "5s"},
                "loki": {"url": url["loki"], "http": http},
                "pagerduty": {"url": url["pagerduty"], "http": http},
                "kubernetes": {"kubeconfig": str(kc), "context": "matrix", "http": http},
                "changes_file": str(paths.data_dir() / "none.jsonl"),
                **(extra or {}),
            },
        }

    def triage(self, broken: dict[str, str], extra: dict[str, Any] | None = None) -> Result:
        prof = self.profile(broken, extra)
        cfg = {"version": 1, "default_profile": "m", "profiles": {"m": prof}}
        p = paths.config_file()
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(yaml.safe_dump(cfg))
        return run_cli(["triage", "MatrixAlert", "--json"])


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    stack = shared_stack()
    stack.post_alerts(
        [
            {
                "labels": {
                    "alertname": "MatrixAlert",
                    "service": "checkout",
                    "severity": "critical",
                },
                "annotations": {"summary": "fault matrix"},
            }
        ]
    )
    fired = wait_until(
        lambda: [a for a in stack.am_alerts() if a["labels"]["alertname"] == "MatrixAlert"],
        10,
        "MatrixAlert",
    )
    loki = LokiServer()
    pd = PagerDutyServer(token=TOKEN)
    pd.add_incident(
        "MatrixAlert",
        service="checkout",
        alerts=[
            {
                "summary": "MatrixAlert",
                "alert_key": fired[0]["fingerprint"],
                "details": {"alertname": "MatrixAlert", "service": "checkout"},
            }
        ],
    )
    fault = FaultServer()
    pki = make_pki(tmp_path_factory.mktemp("matrix-pki"))
    kube = KubeServer(token=KUBE_TOKEN, pki=pki)
    shop(kube, "shop")
    kube_fault = FaultServer(
        error_body=lambda status, msg: status_body(status, _KUBE_REASONS.get(status, ""), msg),
        tls=pki.server_context(),
    )
    yield Env(stack, loki, pd, fault, kube, kube_fault, pki)
    kube_fault.stop()
    kube.stop()
    fault.stop()
    loki.stop()
    pd.stop()
    report = os.environ.get("AISRE_MATRIX_REPORT")
    if report:
        Path(report).write_text(_table())


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AISRE_PAGERDUTY_TOKEN", TOKEN)


def _check(r: Result, source: str | None, expect_code: int) -> dict[str, Any]:
    assert "Traceback" not in r.err and "Traceback" not in r.out, r.err[-3000:]
    assert r.code == expect_code, (r.code, r.err[-2000:])
    assert r.seconds < CEILING_S, r.seconds
    row: dict[str, Any] = {"code": r.code, "seconds": round(r.seconds, 2)}
    if expect_code == 0:
        report = json.loads(r.out)
        notes = [n for n in report["notes"] if source and n.startswith(source)]
        assert notes, (report["notes"], r.err)
        assert any(
            line.strip().startswith(("failed", "partial")) and str(source) in line
            for line in r.err.splitlines()
        ), r.err
        row["note"] = notes[0]
        row["top"] = report["hypotheses"][0]["kind"] if report["hypotheses"] else "-"
    else:
        row["note"] = r.err.strip().splitlines()[0] if r.err.strip() else ""
    return row


@pytest.mark.parametrize("fault", CELLS)
@pytest.mark.parametrize("source", SOURCES)
def test_fault_cell(env: Env, source: str, fault: str) -> None:
    if fault == "refused":
        url = closed_port_url()
        env.set_fault(None)
    else:
        env.set_fault(fault)
        url = env.fault_url(source)
    r = env.triage({source: url})
    env.set_fault(None)
    row = _check(r, source, 0)
    if fault in ("hang", "slow"):
        # the deadline fired: the source's note says it ran out of time
        assert any(w in str(row["note"]) for w in TIMED_OUT), row["note"]
    RESULTS[(source, fault)] = row


def test_kubernetes_forbidden_cell(env: Env) -> None:
    """The 403 row for Kubernetes (RBAC refused): a note naming the refusal."""
    env.set_fault("403")
    r = env.triage({"kubernetes": env.fault_url("kubernetes")})
    env.set_fault(None)
    row = _check(r, "kubernetes", 0)
    assert "forbidden (HTTP 403)" in str(row["note"]), row["note"]
    RESULTS[("kubernetes", "403")] = row


@pytest.mark.parametrize("mode", ["refused", "hang"])
def test_all_sources_down(env: Env, mode: str) -> None:
    if mode == "refused":
        broken = {s: closed_port_url() for s in SOURCES}
    else:
        env.set_fault("hang")
        broken = {s: env.fault_url(s) for s in SOURCES}
    r = env.triage(broken)
    env.set_fault(None)
    row = _check(r, None, 3)
    assert "no alert source answered" in r.err
    assert "alertmanager" in r.err and "pagerduty" in r.err
    if mode == "hang":
        assert any(w in r.err for w in TIMED_OUT), r.err
    RESULTS[("all", mode)] = row


def _table() -> str:
    lines = ["| source | fault | exit | seconds | note |", "| --- | --- | --- | --- | --- |"]
    for (src, fault), row in RESULTS.items():
        note = str(row.get("note", "")).replace("|", "/")[:110]
        lines.append(f"| {src} | {fault} | {row['code']} | {row['seconds']} | {note} |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- trace backends
# Tempo and Jaeger rows: the profile adds the trace source pointing at the fault (the
# other sources are healthy); the cell passes when triage still produces a verdict
# within its budget and names the trace source in a note. 403 is tested here too.

TRACE_SOURCES = ("tempo", "jaeger")
TRACE_CELLS = [*FAULTS, "403", "refused"]


@pytest.mark.parametrize("fault", TRACE_CELLS)
@pytest.mark.parametrize("source", TRACE_SOURCES)
def test_trace_source_fault_cell(env: Env, source: str, fault: str) -> None:
    if fault == "refused":
        url = closed_port_url()
        env.fault.set_fault(None)
    else:
        env.fault.set_fault(fault)
        url = env.fault.url
    http = {"connect_timeout": 0.5, "read_timeout": 1.0, "retries": 1}
    r = env.triage({}, {source: {"url": url, "http": http, "max_traces": 50}})
    env.fault.set_fault(None)
    row = _check(r, source, 0)
    if fault in ("hang", "slow"):
        assert any(w in str(row["note"]) for w in TIMED_OUT), row["note"]
    RESULTS[(source, fault)] = row
