"""Hostile-input QA of `aisre bundle capture` and `aisre bundle validate`: one test per
defect fixed, plus the capture-time behaviours an on-call engineer relies on (a source
that fails mid-capture, Ctrl-C), run against loopback contract servers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from aisre_cli.settings import paths
from aisre_cli.sources import capture as capture_mod
from aisre_cli.sources.bundle import BundleSource, validate_bundle
from aisre_cli.sources.capture import capture_bundle
from tests.conftest import REPO
from tests.contract_servers.base import FaultServer
from tests.contract_servers.cli import run_cli
from tests.contract_servers.loki import LokiServer
from tests.contract_servers.pagerduty import PagerDutyServer
from tests.fakes.env import default_sigint
from tests.servers import wait_until
from tests.test_sources_capture import _ctx

TOKEN = "pd-qa-capture-token"


@pytest.fixture
def pd(monkeypatch: pytest.MonkeyPatch) -> Iterator[PagerDutyServer]:
    """A PagerDuty contract server with one triggered incident ("QaCapture")."""
    monkeypatch.setenv("AISRE_PAGERDUTY_TOKEN", TOKEN)
    server = PagerDutyServer(token=TOKEN)
    server.add_incident(
        "QaCapture",
        service="checkout",
        alerts=[{"summary": "QaCapture", "details": {"alertname": "QaCapture"}}],
    )
    yield server
    server.stop()


def _profile(pd: PagerDutyServer, **sources: Any) -> None:
    http = {"connect_timeout": 0.5, "read_timeout": 1.0, "retries": 0}
    prof = {
        "environment": "test",
        "gather_budget_s": 5,
        "lookback_minutes": 5,
        "lookahead_minutes": 1,
        "sources": {
            "pagerduty": {"url": pd.url, "http": http},
            "changes_file": str(paths.data_dir() / "none.jsonl"),
            **{k: {**v, "http": http} for k, v in sources.items()},
        },
    }
    cfg = {"version": 1, "default_profile": "qa", "profiles": {"qa": prof}}
    p = paths.config_file()
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(yaml.safe_dump(cfg))


# ------------------------------------------------------------------ the output directory


def test_a_wrong_output_is_refused_before_any_source_is_asked(
    tmp_path: Path, pd: PagerDutyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A non-empty directory, a path through a file, a parent that cannot be written:
    refused at once (exit 2, one line, a hint), not after the whole gather budget."""
    _profile(pd)
    full = tmp_path / "full"
    full.mkdir()
    (full / "notes.txt").write_text("keep me")
    afile = tmp_path / "afile"
    afile.write_text("x")
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access

    def access(p: Any, mode: int, **kw: Any) -> bool:
        if Path(p) == locked and mode & os.W_OK:
            return False  # as for a non-root user on a 0555 directory (or a read-only mount)
        return real_access(p, mode, **kw)

    monkeypatch.setattr(capture_mod.os, "access", access)
    cases = [
        (full, "exists and is not empty", "--force"),
        (afile / "b", f"{afile} is not a directory", "folders are directories"),
        (locked / "new" / "b", f"no permission to write in {locked}", "parent you can write"),
    ]
    for out, message, hint in cases:
        r = run_cli(["bundle", "capture", "QaCapture", "-o", str(out)])
        assert r.code == 2, (out, r.code, r.err)
        assert message in r.err and hint in r.err, r.err
        assert "Traceback" not in r.err
        assert pd.requests == [], [q.path for q in pd.requests]  # nothing was asked
    assert (full / "notes.txt").read_text() == "keep me"
    assert not (locked / "new").exists()


def test_a_long_output_name_is_captured(tmp_path: Path) -> None:
    """A valid 250-byte directory name: the staging directory beside it must not be
    named longer than a file name may be (ENAMETOOLONG)."""
    out = tmp_path / "w" / ("incident-" + "x" * 241)
    capture_bundle(_ctx(), out)
    BundleSource(out).validate()
    assert [p.name for p in out.parent.iterdir()] == [out.name]


# ------------------------------------------------------------------ what is written


def test_log_services_with_one_file_name_keep_all_their_records(tmp_path: Path) -> None:
    """ "ns/app" and "ns_app" (or "App" and "app" on a case-insensitive disk) make the
    same logs/ file name: the second service's records used to overwrite the first's."""
    ctx = _ctx()
    ctx.logs.service[0] = "shop/checkout"
    ctx.logs.service[1] = "shop_checkout"
    out = capture_bundle(ctx, tmp_path / "b")
    got = BundleSource(out).all_logs()
    assert sorted(zip(got.service, got.msg, strict=True)) == sorted(
        zip(ctx.logs.service, ctx.logs.msg, strict=True)
    )
    ctx = _ctx()
    ctx.logs.service[0] = "Checkout"
    ctx.logs.service[1] = "checkout"
    out = capture_bundle(ctx, tmp_path / "case")
    assert len({p.name.casefold() for p in (out / "logs").iterdir()}) == len(
        list((out / "logs").iterdir())
    )
    assert len(BundleSource(out).all_logs().msg) == 2


def test_capture_scrubs_credentials_redaction_used_to_miss(tmp_path: Path) -> None:
    """Credential parameters with a prefix, quoted password pairs, token headers,
    well-known token shapes and fields named after a credential never reach the bundle;
    names of things (a Kubernetes secret's name, `max_tokens=`) are kept."""
    ghp = "ghp_" + "A1b2C3d4" * 5
    leaks = {
        "client-secret-v4lue": "https://sso.example/cb?client_secret=client-secret-v4lue",
        "priv-t0ken-v4lue": "GET /api?private_token=priv-t0ken-v4lue&page=2",
        "json-pw-v4lue": 'login {"user": "bob", "password": "json-pw-v4lue"}',
        "auth-hdr-v4lue": "upstream headers X-Auth-Token: auth-hdr-v4lue",
        "cookie-v4lue": "request Cookie: session=cookie-v4lue; theme=dark",
        ghp: f"cloned with {ghp}",
        "AKIAQQQQQQQQQQQQQQQQ": "aws key AKIAQQQQQQQQQQQQQQQQ in use",
    }
    ctx = _ctx()
    for i, text in enumerate(leaks.values()):
        ctx.alert.annotations[f"note{i}"] = text
    ctx.alert.annotations["db_password"] = "field-pw-v4lue"
    ctx.alert.labels["secret"] = "ingress-tls"  # the name of a Kubernetes Secret: kept
    ctx.logs.msg[0] = 'config {"max_tokens": "512"} max_tokens=512 dump ' + leaks["json-pw-v4lue"]
    ctx.changes[0].summary = leaks["client-secret-v4lue"]
    out = capture_bundle(ctx, tmp_path / "b")
    blob = b"".join(p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file())
    for leaked in [*leaks, "field-pw-v4lue"]:
        assert leaked.encode() not in blob, leaked
    b = BundleSource(out)
    b.validate()
    (alert, _) = b.list_alerts()
    assert alert.labels["secret"] == "ingress-tls"
    assert alert.annotations["db_password"] == "***"
    assert "client_secret=***" in alert.annotations["note0"]
    assert "max_tokens=512" in b.all_logs().msg[0] or "max_tokens=512" in b.all_logs().msg[1]


def test_a_capture_cut_short_without_cleanup_never_reads_as_a_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C at any file, and the cleanup of the staging directory does not run (a
    second Ctrl-C, kill -9): what is left beside the output must not validate."""
    work = tmp_path / "work"
    out = work / "b"
    real_write = capture_mod._write
    calls: list[Path] = []

    def counting(path: Path, data: bytes) -> None:
        calls.append(path)
        real_write(path, data)

    monkeypatch.setattr(capture_mod, "_write", counting)
    capture_bundle(_ctx(), tmp_path / "whole")
    total = len(calls)
    assert total >= 5

    real_rmtree = capture_mod.shutil.rmtree

    def no_cleanup(p: Any, *a: Any, **kw: Any) -> None:
        if ".capture-" not in str(p):
            real_rmtree(p, *a, **kw)

    monkeypatch.setattr(capture_mod.shutil, "rmtree", no_cleanup)
    for n in range(1, total + 1):
        count = {"n": 0}

        def dies_at(path: Path, data: bytes, n: int = n, count: dict[str, int] = count) -> None:
            count["n"] += 1
            if count["n"] == n:
                raise KeyboardInterrupt
            real_write(path, data)

        monkeypatch.setattr(capture_mod, "_write", dies_at)
        with pytest.raises(KeyboardInterrupt):
            capture_bundle(_ctx(), out)
        assert not out.exists()
        (left,) = [p for p in work.iterdir() if ".capture-" in p.name]
        _, problems = validate_bundle(left)
        assert problems, f"a capture cut at write {n} of {total} reads as a valid bundle"
        real_rmtree(left)


# ------------------------------------------------------------------ bundle validate


def test_validate_shows_no_raw_escape_from_the_directory_name(tmp_path: Path) -> None:
    """The success line names the bundle's directory: a name with terminal escapes
    (a bundle unpacked from a ticket) is shown with its escapes made visible."""
    evil = tmp_path / "inc\x1b]0;owned\x07\x1b[2Jdir"
    capture_bundle(_ctx(), evil)
    r = run_cli(["bundle", "validate", str(evil)])
    assert r.code == 0, r.err
    assert "valid bundle" in r.err
    assert "\x1b" not in r.err and "\x07" not in r.err, repr(r.err)
    assert "\\x1b]0;owned\\x07" in r.err


# ------------------------------------------------------------------ live sources


def test_a_source_failing_mid_capture_is_named_and_the_bundle_is_valid(
    tmp_path: Path, pd: PagerDutyServer
) -> None:
    """Loki answers 500 during the capture: the capture writes what the other sources
    gave, says on stderr and in bundle.yaml that loki failed, and the bundle validates
    and triages offline."""
    fault = FaultServer("500")
    try:
        _profile(pd, loki={"url": fault.url})
        out = tmp_path / "b"
        r = run_cli(["bundle", "capture", "QaCapture", "-o", str(out), "--json"])
        assert r.code == 0, r.err
        assert "Traceback" not in r.err
        assert any("loki" in line and "failed" in line for line in r.err.splitlines()), r.err
        summary = json.loads(r.out)
        assert any(n.startswith("loki") for n in summary["notes"]), summary
        meta = yaml.safe_load((out / "bundle.yaml").read_text())
        assert any(n.startswith("loki") for n in meta["notes"]), meta
        assert TOKEN.encode() not in b"".join(p.read_bytes() for p in out.rglob("*.*"))
        r = run_cli(["bundle", "validate", str(out), "--json"])
        assert r.code == 0 and json.loads(r.out)["ok"] is True, r.out + r.err
        r = run_cli(["triage", "--bundle", str(out), "--json"])
        assert r.code == 0, r.err
    finally:
        fault.stop()


def test_ctrl_c_during_the_gather_exits_130_and_writes_nothing(
    tmp_path: Path, pd: PagerDutyServer
) -> None:
    """SIGINT while a source hangs: one line, exit 130, no output directory and nothing
    left beside it."""
    loki = LokiServer()
    loki.set_fault("hang")
    try:
        _profile(pd, loki={"url": loki.url})
        parent = tmp_path / "work"
        parent.mkdir()
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "aisre_cli", "bundle", "capture", "QaCapture", "-o", "b"],
            cwd=parent,
            env=env,
            preexec_fn=default_sigint,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            wait_until(lambda: loki.requests, 20, "the capture to ask Loki")
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 130, err.decode()
        assert err.decode().startswith("interrupted"), err.decode()
        assert b"Traceback" not in err
        assert list(parent.iterdir()) == []
    finally:
        loki.stop()
