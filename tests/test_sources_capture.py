"""`sources/capture.py`: a Context written as bundle v1 reads back identically."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path

import pytest

from aisre_cli.errors import UsageError
from aisre_cli.model import Alert, Change, Context, LogTable, Series, Topology, Window, utcnow
from aisre_cli.sources.bundle import BundleSource
from aisre_cli.sources.capture import capture_bundle


def _ctx() -> Context:
    now = utcnow().replace(microsecond=123456)
    am = Alert(
        id="a1b2c3d4e5f60718",
        name="HighErrors",
        service="checkout",
        severity="critical",
        labels={"alertname": "HighErrors", "service": "checkout"},
        annotations={"summary": "boom"},
        starts_at=now,
        source="alertmanager",
        receivers=["oncall"],
        aliases=["pd-key"],
        sources=["alertmanager", "pagerduty"],
    )
    pd = Alert(
        id="pd-A000123",
        name="Disk",
        service="db",
        starts_at=now - timedelta(minutes=3),
        source="pagerduty",
        labels={"pagerduty_incident": "7"},
    )
    t0 = now.timestamp() - 300
    series = [
        Series(
            "http_error_ratio",
            "checkout",
            {"job": "checkout"},
            [t0, t0 + 15, t0 + 30],
            [0.1, math.nan, math.inf],
            query="sum by (job) (x)",
            ref="http://prom/graph",
        ),
        Series(
            "http_error_ratio",
            "frontend",
            {"job": "frontend"},
            [t0, t0 + 15, t0 + 30],
            [0.1 + 0.2, 1e-300, -math.inf],
            query="sum by (job) (x)",
        ),
        Series("up", "checkout", {"job": "checkout", "instance": "c:1"}, [t0], [1.0], query="up"),
    ]
    logs = LogTable()
    logs.files.append('{service="checkout"}')
    for i, (svc, lvl, msg) in enumerate(
        [("checkout", "error", "NPE in cart"), ("frontend", "info", "ok \u2713")]
    ):
        logs.ts.append(t0 + i + 0.123456)
        logs.service.append(svc)
        logs.level.append(lvl)
        logs.msg.append(msg)
        logs.file_idx.append(0)
        logs.line.append(i + 1)
    change = Change(
        id="chg-1",
        ts=now - timedelta(minutes=2),
        service="checkout",
        kind="deploy",
        version="v2",
        previous_version="v1",
        summary="cart rewrite",
        source="changes",
    )
    return Context(
        alert=am,
        alerts=[am, pd],
        window=Window(now - timedelta(hours=1), now),
        series=series,
        logs=logs,
        changes=[change],
        topology=Topology(depends_on={"frontend": ["checkout"], "checkout": []}),
    )


def test_round_trip(tmp_path: Path) -> None:
    ctx = _ctx()
    capture_bundle(ctx, tmp_path / "b")
    b = BundleSource(tmp_path / "b")
    b.validate()
    assert b.meta.focus_alert == ctx.alert.id
    assert b.window.start == ctx.window.start and b.window.end == ctx.window.end
    alerts = b.list_alerts()
    assert [a.id for a in alerts] == ["a1b2c3d4e5f60718", "pd-A000123"]
    assert alerts[0].starts_at == ctx.alert.starts_at and alerts[0].receivers == ["oncall"]
    got = b.all_series()
    assert [(s.name, s.service, s.labels) for s in got] == [
        (s.name, s.service, s.labels) for s in ctx.series
    ]
    for a, e in zip(got, ctx.series, strict=True):
        assert a.timestamps == e.timestamps and a.query == e.query
        assert all(
            (x == y) or (math.isnan(x) and math.isnan(y))
            for x, y in zip(a.values, e.values, strict=True)
        )
    logs = b.all_logs()
    assert sorted(zip(logs.ts, logs.msg, strict=True)) == sorted(
        zip(ctx.logs.ts, ctx.logs.msg, strict=True)
    )
    ch = b.fetch_changes(ctx.window.start, ctx.window.end)[0]
    assert (ch.id, ch.ts, ch.version, ch.previous_version) == (
        "chg-1",
        ctx.changes[0].ts,
        "v2",
        "v1",
    )
    assert b.fetch_topology().depends_on == ctx.topology.depends_on


def test_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x").write_text("keep me")
    with pytest.raises(UsageError, match="not empty"):
        capture_bundle(_ctx(), tmp_path / "b")
    assert (tmp_path / "b" / "x").read_text() == "keep me"  # refused: nothing touched
    # not a bundle: --force must not empty a folder that happens to be named
    with pytest.raises(UsageError, match="not an incident bundle"):
        capture_bundle(_ctx(), tmp_path / "b", force=True)
    assert (tmp_path / "b" / "x").read_text() == "keep me"
    (tmp_path / "b" / "bundle.yaml").write_text("id: earlier\n")
    capture_bundle(_ctx(), tmp_path / "b", force=True)
    assert not (tmp_path / "b" / "x").exists()  # --force replaces a bundle, never mixes


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_force_over_an_earlier_bundle_leaves_only_the_new_capture(tmp_path: Path) -> None:
    """`--force` over an earlier capture: no stale logs, metrics or truth.yaml remain
    (triage would read two incidents), and nothing is left beside the directory."""
    out = tmp_path / "work" / "b"
    capture_bundle(_ctx(), out)
    fresh = _files(out)
    (out / "logs" / "old-service.jsonl").write_text('{"ts": 1, "msg": "old incident"}\n')
    (out / "metrics" / "99_old.json").write_text("{}")
    (out / "truth.yaml").write_text("root_cause: {kind: deploy, service: old}\n")
    (out / "events").mkdir()
    (out / "events" / "old.jsonl").write_text("")
    out.chmod(0o750)
    capture_bundle(_ctx(), out, force=True)
    assert _files(out) == fresh
    assert (out.stat().st_mode & 0o777) == 0o750  # the directory keeps its mode
    assert sorted(p.name for p in out.parent.iterdir()) == ["b"]
    BundleSource(out).validate()


def test_an_interrupted_capture_leaves_the_earlier_bundle_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aisre_cli.sources import capture as capture_mod

    out = tmp_path / "work" / "b"
    capture_bundle(_ctx(), out)
    before = {p: (out / p).read_bytes() for p in _files(out)}
    real_write = capture_mod._write
    calls = {"n": 0}

    def dies_midway(path: Path, data: bytes) -> None:
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        real_write(path, data)

    monkeypatch.setattr(capture_mod, "_write", dies_midway)
    with pytest.raises(KeyboardInterrupt):  # after bundle.yaml, alerts.json, a metric
        capture_bundle(_ctx(), out, force=True, title="a second incident")
    assert {p: (out / p).read_bytes() for p in _files(out)} == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["b"]  # the staging dir is gone


def test_force_through_a_symlink_replaces_its_target(tmp_path: Path) -> None:
    real = tmp_path / "real"
    capture_bundle(_ctx(), real)
    (real / "stale.txt").write_text("x")
    link = tmp_path / "link"
    link.symlink_to(real)
    capture_bundle(_ctx(), link, force=True)
    assert link.is_symlink() and not (real / "stale.txt").exists()
    assert (real / "bundle.yaml").exists()


def test_capture_refuses_a_file_and_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(UsageError, match="not a directory"):
        capture_bundle(_ctx(), tmp_path / "f", force=True)
    here = tmp_path / "here"
    capture_bundle(_ctx(), here)
    monkeypatch.chdir(here)
    with pytest.raises(UsageError, match="current directory"):
        capture_bundle(_ctx(), Path("."), force=True)
    assert (here / "bundle.yaml").exists()


def test_capture_json_has_a_schema_and_force_replaces(tmp_path: Path) -> None:
    """`bundle capture --json` (from the demo profile's bundle source) names its schema."""
    import json

    from tests.contract_servers.cli import run_cli

    out = tmp_path / "cap"
    r = run_cli(["bundle", "capture", "179e723e8f1abc96", "-o", str(out), "--json"])
    assert r.code == 0, r.err
    body = json.loads(r.out)
    assert body["schema"] == "aisre.bundle.capture/v1" and body["bundle"] == str(out)
    (out / "logs" / "stale.jsonl").write_text("{}\n")
    r = run_cli(["bundle", "capture", "179e723e8f1abc96", "-o", str(out)])
    assert r.code == 2 and "--force" in r.err
    r = run_cli(["bundle", "capture", "179e723e8f1abc96", "-o", str(out), "--force"])
    assert r.code == 0, r.err
    assert not (out / "logs" / "stale.jsonl").exists()


# ------------------------------------------------------------------ issue 11, finding 12


def test_capture_redacts_secrets_echoed_by_sources(tmp_path: Path) -> None:
    from aisre_cli.settings.secrets import register_secret

    secret = "capture-canary-9d1e4b7f"
    register_secret(secret)  # what get_token does for every configured token
    ctx = _ctx()
    ctx.alert.annotations["summary"] = f"upstream said: token {secret}"
    ctx.alert.annotations["debug"] = "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.zz9"
    ctx.alerts[1].labels["url"] = "https://ops:hunter2-pw@status.example/x?api_key=k3y-v4lue"
    ctx.logs.msg[0] = "sent headers {'authorization': 'Basic YWxpY2U6czNjcjN0'} ok"
    ctx.logs.msg[1] = "basic authentication enabled for realm ops"  # prose survives
    ctx.changes[0].summary = f"deploy by bot (PRIVATE-TOKEN: {secret})"
    ctx.series[2].labels["instance"] = f"c:1?token={secret}"
    out = capture_bundle(ctx, tmp_path / "b")
    blob = b"".join(p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file())
    for leaked in (
        secret,
        "eyJhbGciOiJIUzI1NiJ9",
        "hunter2-pw",
        "ops:",
        "k3y-v4lue",
        "YWxpY2U6czNjcjN0",
    ):
        assert leaked.encode() not in blob, leaked
    assert b"basic authentication enabled for realm ops" in blob
    # the bundle still reads back
    b = BundleSource(out)
    b.validate()
    assert "***" in b.list_alerts()[0].annotations["summary"]
