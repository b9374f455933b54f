"""A source that hangs or answers garbage must cost a triage (or `aisre doctor`) one
line, never the process: it must not keep the process alive after the answer is
printed, block doctor, or crash the triage with a traceback.

The plugins are tests/plugins/hardening.py, installed as a distribution whose
`entry_points.txt` names them (a `*.dist-info` in a temp dir on the path, as
tests/test_qa_plugins.py does); nothing is pip-installed. A hang is a subprocess
that outlives a generous timeout: no assertion here is about speed."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO
from tests.plugins.hardening import ALERT, ALERT_ID, GARBAGE

GENEROUS_S = 60.0
"""What a subprocess may take before it is taken for hung (a loaded 2-core box)."""

DIST = "aisre-hardening-test"
PLUGIN = "hardening = tests.plugins.hardening:register_sources"
"""The entry point, as a note names the plugin."""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A directory that, on the path, installs the hardening plugins."""
    root = tmp_path / "site"
    info = root / "aisre_hardening_test-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {DIST}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[aisre.sources]\n{PLUGIN}\n")
    return root


def _configure(home: Path, sources: dict[str, Any], **profile: Any) -> None:
    cfg = home / "config"
    cfg.mkdir(parents=True, exist_ok=True)
    body = {"lookback_minutes": 10, "lookahead_minutes": 1, **profile, "sources": sources}
    doc = {"version": 1, "default_profile": "t", "profiles": {"t": body}}
    (cfg / "config.yaml").write_text(yaml.safe_dump(doc))


def _aisre(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m aisre_cli ARGS` with the plugins installed; a hang fails the test."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(REPO)])}
    env.pop("AISRE_NO_PLUGINS", None)
    env.update(NO_COLOR="1", COLUMNS="1000")  # a note on one line, unwrapped
    try:
        return subprocess.run(
            [sys.executable, "-m", "aisre_cli", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=GENEROUS_S,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else exc.stderr or ""
        pytest.fail(
            f"`aisre {' '.join(args)}` still running after {GENEROUS_S:g}s"
            f"\n--- stdout (tail)\n{out[-1500:]}\n--- stderr (tail)\n{err[-1500:]}"
        )


def _sources(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["source"]: n for n in report["sources"]}


def _clean(line: str) -> bool:
    """One short printable line."""
    return "\n" not in line and "\x1b" not in line and line.isprintable() and len(line) < 600


# ------------------------------------------------------------ 1. hangs past the budget


def test_a_plugin_source_that_hangs_past_the_budget_does_not_hold_the_exit(
    site: Path, _aisre_home: Path
) -> None:
    _configure(_aisre_home, {"hardalerts": {}, "hardhang": {}}, gather_budget_s=30)
    run = _aisre(site, "triage", ALERT, "--json", "--no-record", "--budget", "3")
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(run.stdout)
    assert report["alert"]["id"] == ALERT_ID
    by = _sources(report)
    assert by["hardhang logs"]["status"] == "failed", by
    assert "no answer within" in by["hardhang logs"]["detail"], by
    assert by["hardalerts alerts"]["status"] == "ok", by
    assert "Traceback" not in run.stderr


def test_the_text_triage_names_the_source_that_gave_no_answer(
    site: Path, _aisre_home: Path
) -> None:
    _configure(_aisre_home, {"hardalerts": {}, "hardhang": {}}, gather_budget_s=30)
    run = _aisre(site, "triage", ALERT, "--no-record", "--budget", "3")
    assert run.returncode == 0, run.stderr[-2000:]
    said = run.stdout + run.stderr
    assert ALERT in run.stdout
    assert re.search(r"hardhang logs.*no answer within", said), said[-3000:]
    assert "Traceback" not in run.stderr


class _Silent:
    """Accepts TCP connections and never answers: a source stuck in a socket read."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self) -> None:
        self.sock.close()
        for c in self.conns:
            c.close()


@pytest.fixture
def silent() -> Iterator[_Silent]:
    s = _Silent()
    yield s
    s.close()


def test_a_builtin_source_stuck_in_a_socket_read_does_not_hold_the_exit(
    site: Path, _aisre_home: Path, silent: _Silent
) -> None:
    """Alertmanager's own deadline is the profile's 300 s budget, its read timeout 300 s:
    `--budget 3` gives up on it, and the process must not wait for the read."""
    http = {"connect_timeout": 60, "read_timeout": 300, "retries": 0}
    _configure(
        _aisre_home,
        {"alertmanager": {"url": silent.url, "http": http}, "hardalerts": {}},
        gather_budget_s=300,
    )
    run = _aisre(site, "triage", ALERT, "--json", "--no-record", "--budget", "3")
    assert run.returncode == 0, run.stderr[-2000:]
    assert silent.conns, "alertmanager was never asked"
    report = json.loads(run.stdout)
    by = _sources(report)
    assert by["alertmanager alerts"]["status"] == "failed", by
    assert "no answer within" in by["alertmanager alerts"]["detail"], by
    assert report["alert"]["id"] == ALERT_ID


# ------------------------------------------------------------ 2. doctor's time limit


@pytest.mark.parametrize(
    ("own", "json_out"),
    [(1.5, True), (1.5, False), (None, True)],
    ids=["own-timeout-json", "own-timeout-text", "default-json"],
)
def test_doctor_reports_a_check_that_hangs_and_exits(
    site: Path, _aisre_home: Path, own: float | None, json_out: bool
) -> None:
    """The check waits forever: doctor waits the source's own timeout (here 1.5 s) or
    `CHECK_TIMEOUT_S`, reports the row as failed, and exits 3 like any failed check."""
    from aisre_cli.ui.cli.doctor import CHECK_TIMEOUT_S

    hang = {} if own is None else {"timeout_s": own}
    _configure(_aisre_home, {"hardalerts": {}, "hardhang": hang})
    run = _aisre(site, "doctor", *(["--json"] if json_out else []))
    assert run.returncode == 3, (run.returncode, run.stderr[-2000:])
    assert "Traceback" not in run.stderr
    if json_out:
        rows = {r["source"]: r for r in json.loads(run.stdout)["sources"]}
        assert rows["hardhang"]["ok"] is False, rows
        said = re.fullmatch(r"no answer within ([\d.]+)s", rows["hardhang"]["detail"])
        assert said, rows
        if own is None:
            assert float(said.group(1)) == CHECK_TIMEOUT_S
        assert rows["hardalerts"]["ok"] is True, rows  # the other checks still ran
        assert rows["changes"]["ok"] is True, rows
    else:
        assert re.search(r"hardhang .*no answer within [\d.]+s", run.stdout), run.stdout
        assert re.search(r"hardalerts .*yes", run.stdout), run.stdout


def test_a_check_limit_is_the_sources_own_timeout_or_the_default() -> None:
    from aisre_cli.ui.cli import doctor

    class Plain:
        name = "plain"

    class Own:
        name = "own"
        timeout_s = 2.0

    class Huge:
        name = "huge"
        timeout_s = float("inf")

    assert doctor._check_limit(Plain()) == doctor.CHECK_TIMEOUT_S
    assert doctor._check_limit(Own()) == 2.0 + doctor.CHECK_GRACE_S
    assert doctor._check_limit(Huge()) == doctor.CHECK_TIMEOUT_S + doctor.CHECK_GRACE_S


# ------------------------------------------------------------ 3. garbage answers


@pytest.fixture
def installed(site: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The hardening plugins installed in this process."""
    from aisre_cli.sources import catalog

    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv("AISRE_NO_PLUGINS", raising=False)
    catalog.reset_catalog()
    yield
    catalog.reset_catalog()


_ROLE_OF = {
    "list_alerts": "alerts",
    "fetch_series": "metrics",
    "fetch_logs": "logs",
    "fetch_changes": "changes",
    "fetch_topology": "topology",
    "fetch_spans": "traces",
    "fetch_events": "events",
}


@pytest.mark.parametrize("shape", sorted(GARBAGE))
def test_a_plugin_answering_garbage_fails_that_source_only(installed: None, shape: str) -> None:
    from aisre_cli.flows.triage import TriageFlow, TriageOptions
    from aisre_cli.settings.config import Profile
    from aisre_cli.sources.live import live_sources

    profile = Profile.model_validate(
        {
            "sources": {"hardalerts": {}, "hardjunk": {"shape": shape}},
            "lookback_minutes": 10,
            "lookahead_minutes": 1,
        }
    )
    flow = TriageFlow(profile, live_sources(profile), memory=False)
    result = flow.triage(ALERT, TriageOptions(budget_s=30, record=False))
    method, _ = GARBAGE[shape]
    bad = f"hardjunk {_ROLE_OF[method]}"
    by = {n["source"]: n for n in result.report.sources}
    assert by[bad]["status"] == "failed", by
    detail = by[bad]["detail"]
    assert f"plugin {PLUGIN}" in detail and DIST in detail and method in detail, detail
    assert _clean(detail), repr(detail)
    assert "Evil" not in detail and "[2J" not in detail  # no text the plugin chose
    others = {k: v["status"] for k, v in by.items() if k != bad}
    assert set(others.values()) <= {"ok"}, others  # every other source still answered
    assert {"hardalerts alerts", *(f"hardjunk {r}" for r in _ROLE_OF.values())} <= set(by)
    assert result.report.alert.id == ALERT_ID


@pytest.mark.parametrize("shape", ["hostile-label", "none"])
def test_the_cli_reports_a_garbage_answer_in_one_line(
    site: Path, _aisre_home: Path, shape: str
) -> None:
    _configure(_aisre_home, {"hardalerts": {}, "hardjunk": {"shape": shape}})
    run = _aisre(site, "triage", ALERT, "--no-record")
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr
    assert ALERT in run.stdout
    said = [x for x in (run.stdout + run.stderr).splitlines() if f"plugin {PLUGIN}" in x]
    assert said, run.stdout + run.stderr
    assert all("\x1b" not in x for x in said)
