"""Issue 11 acceptance: no canary credential in any output, file, bundle, SQLite row or
argv.

Canary secrets are configured the ways credentials reach aisre: a Prometheus bearer
token (environment/keyring), a password in the Alertmanager URL's userinfo (sent as
Basic auth), a password in the Prometheus URL's userinfo (the URL every evidence link
and query is built from), and a PagerDuty token. The loopback servers behave like
misconfigured ones: they echo the credentials they received (header, decoded Basic
password, userinfo URLs, `?token=` links) back inside alert annotations, series labels,
versions, error bodies and incident titles. Then triage (rich, --json, --markdown),
alerts, doctor, bundle capture, escalate and a runbook dry run go through every surface,
and we grep every byte they wrote: stdout, stderr, every file under AISRE_HOME (the
config file, which the user wrote the URL into, excepted), the bundle, every SQLite row,
the audit log and the argv the fake kubectl recorded.
"""

from __future__ import annotations

import base64
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.contract_servers.pagerduty import PagerDutyServer
from tests.fakes.echo_server import Answer, EchoServer, Seen
from tests.fakes.env import AISRE, REPO, make_env, write_config

CANARY_TOKEN = "cnry-tok-4f9a2b7e1d"
CANARY_PW = "cnry-pw-8c3e5a0f6b"
CANARY_PD = "cnry-pd-2d7f9b1c4e"
CANARY_PROM_PW = "cnry-prompw-6a1b3c"
USER = "opsuser"
FORBIDDEN = [
    CANARY_TOKEN,
    CANARY_PW,
    CANARY_PD,
    CANARY_PROM_PW,
    "promuser:",
    base64.b64encode(f"{USER}:{CANARY_PW}".encode()).decode(),
    f"{USER}:",  # the userinfo itself, in any URL
]


def _creds(seen: Seen) -> tuple[str, str]:
    """(the Authorization header as received, and its decoded Basic part if any)."""
    auth = seen.header("authorization") or ""
    decoded = ""
    if auth.startswith("Basic "):
        decoded = base64.b64decode(auth[6:]).decode()
    return auth, decoded


def _am_alerts(seen: Seen) -> Answer:
    auth, decoded = _creds(seen)
    pw = decoded.partition(":")[2]
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 600))
    return Answer(
        200,
        [
            {
                "labels": {
                    "alertname": "CanaryAlert",
                    "service": "checkout",
                    "severity": "critical",
                },
                "annotations": {
                    "summary": f"upstream received {auth} ({decoded})",
                    "description": f"retry http://{decoded}@127.0.0.1/x?token={pw} now",
                    "runbook_url": f"https://{decoded}@wiki.example/rb?password={pw}",
                },
                "startsAt": now,
                "endsAt": "2099-01-01T00:00:00Z",
                "updatedAt": now,
                "fingerprint": "c0ffee0123456789",
                "status": {"state": "active", "silencedBy": [], "inhibitedBy": []},
                "receivers": [{"name": "oncall"}],
                "generatorURL": f"http://{decoded}@prometheus.example/graph?g0.expr=up",
            }
        ],
    )


def _prom_range(seen: Seen) -> Answer:
    auth, _ = _creds(seen)
    start = float(seen.query.get("start", ["0"])[0])
    end = float(seen.query.get("end", ["0"])[0])
    step = max(1.0, float(seen.query.get("step", ["15"])[0]))
    n = max(2, min(400, int((end - start) / step) + 1))
    values = [[start + i * step, "0.5" if i > n * 0.8 else "0.01"] for i in range(n)]
    return Answer(
        200,
        {
            "status": "success",
            "data": {
                "resultType": "matrix",
                "result": [
                    {
                        "metric": {
                            "__name__": "http_error_ratio",
                            "service": "checkout",
                            "echo": auth,
                        },
                        "values": values,
                    }
                ],
            },
        },
    )


def _prom_version(seen: Seen) -> Answer:
    auth, _ = _creds(seen)
    return Answer(200, {"status": "success", "data": {"version": f"2.53 ({auth})"}})


def _prom_error(seen: Seen) -> Answer:
    auth, _ = _creds(seen)
    return Answer(500, {"status": "error", "error": f"backend refused {auth}"})


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[EchoServer, EchoServer, PagerDutyServer]]:
    am, prom = EchoServer(), EchoServer()
    am.route("/api/v2/alerts", _am_alerts)
    am.json("/api/v2/alerts/groups", [])
    am.json("/api/v2/silences", [])
    am.route(
        "/api/v2/status",
        lambda s: Answer(200, {"versionInfo": {"version": f"0.27 {_creds(s)[1]}"}, "uptime": ""}),
    )
    prom.route("/api/v1/query_range", _prom_range)
    prom.json(
        "/api/v1/query", {"status": "success", "data": {"resultType": "vector", "result": []}}
    )
    prom.json("/api/v1/label/", {"status": "success", "data": ["checkout"]})
    prom.route("/api/v1/series", _prom_error)
    prom.json("/api/v1/rules", {"status": "success", "data": {"groups": []}})
    prom.route("/api/v1/status/buildinfo", _prom_version)
    pd = PagerDutyServer(token=CANARY_PD)
    pd.add_incident(
        f"CanaryAlert (server echoed token={CANARY_PD})",
        service="checkout",
        alerts=[{"summary": f"Authorization: Token token={CANARY_PD}", "details": {}}],
    )
    yield am, prom, pd
    am.stop()
    prom.stop()
    pd.stop()


def _run(args: list[str], env: dict[str, str]) -> tuple[str, subprocess.CompletedProcess[str]]:
    cp = subprocess.run(
        [*AISRE, *args],
        env=env,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return " ".join(args), cp


def _sqlite_rows(db: Path) -> Iterator[str]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for t in tables:
            for row in con.execute(f'SELECT * FROM "{t}"'):  # noqa: S608 - table names from sqlite
                yield f"{t}: {row!r}"
    finally:
        con.close()


def _leaks(text: str) -> list[str]:
    return [c for c in FORBIDDEN if c in text]


def test_no_canary_anywhere(
    tmp_path: Path, servers: tuple[EchoServer, EchoServer, PagerDutyServer]
) -> None:
    am, prom, pd = servers
    home = tmp_path / "home"
    am_url = am.url.replace("http://", f"http://{USER}:{CANARY_PW}@")
    write_config(
        home,
        {
            "gather_budget_s": 20,
            "lookback_minutes": 30,
            "sources": {
                "alertmanager": {"url": am_url},
                "prometheus": {
                    "url": prom.url.replace("http://", f"http://promuser:{CANARY_PROM_PW}@"),
                    "token_name": "prom",
                },
                "pagerduty": {"url": pd.url, "from_email": pd.email},
            },
        },
    )
    env = make_env(home, AISRE_PROM_TOKEN=CANARY_TOKEN, AISRE_PAGERDUTY_TOKEN=CANARY_PD)
    bundle = tmp_path / "bundle"
    incident = pd.incidents[0]["id"]
    runs = [
        _run(["triage", "CanaryAlert"], env),
        _run(["triage", "CanaryAlert", "--json"], env),
        _run(["triage", "CanaryAlert", "--markdown"], env),
        _run(["alerts"], env),
        _run(["alerts", "--json"], env),
        _run(["doctor"], env),
        _run(["doctor", "--json"], env),
        _run(["bundle", "capture", "CanaryAlert", "--out", str(bundle)], env),
        _run(["escalate", "CanaryAlert", "--no-post"], env),
        _run(["escalate", "CanaryAlert", "--incident", incident], env),
        _run(
            ["runbook", "run", "rollback-bad-deploy", "--param", "service=checkout", "--dry-run"],
            env,
        ),
        _run(["audit", "show"], env),
        _run(["audit", "show", "--json"], env),
    ]
    # the servers did see the credentials (the test is not vacuous) and echoed them
    assert any(s.header("authorization") == f"Bearer {CANARY_TOKEN}" for s in prom.seen)
    basic = "Basic " + base64.b64encode(f"{USER}:{CANARY_PW}".encode()).decode()
    assert any(s.header("authorization") == basic for s in am.seen)
    triage_json = runs[1][1]
    assert triage_json.returncode == 0, triage_json.stderr[-2000:]
    assert '"CanaryAlert"' in triage_json.stdout or "CanaryAlert" in triage_json.stdout
    assert (bundle / "alerts.json").exists(), runs[7][1].stderr[-2000:]

    problems: list[str] = []
    for what, cp in runs:
        assert "Traceback" not in cp.stderr, (what, cp.stderr[-3000:])
        for stream, text in (("stdout", cp.stdout), ("stderr", cp.stderr)):
            for c in _leaks(text):
                problems.append(f"`aisre {what}` {stream} contains {c!r}")
    config = home / "config" / "config.yaml"
    files = [p for p in [*home.rglob("*"), *bundle.rglob("*")] if p.is_file() and p != config]
    assert any(p.name.startswith("memory.sqlite3") for p in files), files
    for p in files:
        text = p.read_bytes().decode("utf-8", "replace")
        for c in _leaks(text):
            problems.append(f"{p.relative_to(tmp_path)} contains {c!r}")
        if p.name == "memory.sqlite3":
            for row in _sqlite_rows(p):
                for c in _leaks(row):
                    problems.append(f"SQLite row {row[:80]!r} contains {c!r}")
    argv_log = home / "kubectl.jsonl"
    assert argv_log.exists(), "the runbook dry run should have called kubectl"
    for c in _leaks(argv_log.read_text()):
        problems.append(f"kubectl argv contains {c!r}")
    assert not problems, "\n".join(problems)
