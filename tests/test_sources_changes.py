"""The file change source and `aisre change record`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from aisre_cli.model import utcnow
from aisre_cli.settings import paths
from aisre_cli.sources.changefile import ChangeFile, TopologyFile
from tests.contract_servers.cli import run_cli


def test_record_then_read_back() -> None:
    r = run_cli(["change", "record", "--service", "checkout", "--version", "v1"])
    assert r.code == 0, r.err
    r = run_cli(["change", "record", "-s", "checkout", "--version", "v2", "-m", "new cart"])
    assert r.code == 0, r.err
    feed = ChangeFile(paths.changes_file())
    now = utcnow()
    changes = feed.fetch_changes(now - timedelta(minutes=1), now + timedelta(seconds=1))
    assert [c.version for c in changes] == ["v1", "v2"]
    assert changes[1].previous_version == "v1" and changes[1].summary == "new cart"
    assert changes[1].ref and changes[1].ref.endswith(":2")
    r = run_cli(["change", "list", "--json"])
    assert r.code == 0 and '"version": "v2"' in r.out


def test_bad_kind_is_usage_error() -> None:
    r = run_cli(["change", "record", "--service", "x", "--kind", "nope"])
    assert r.code == 2 and "not a change kind" in r.err


def test_malformed_lines_are_skipped_and_noted(tmp_path: Path) -> None:
    p = tmp_path / "c.jsonl"
    p.write_text(
        '{"id": "a", "ts": "2026-01-01T00:00:00Z", "service": "s", "kind": "deploy"}\n'
        "not json\n"
        '{"id": "b", "ts": "2026-01-01T00:01:00Z", "service": "s", "kind": "oops"}\n'
    )
    feed = ChangeFile(p)
    assert [c.id for c in feed.read_all()] == ["a"]
    notes = feed.drain_notes()
    assert notes and "skipped 2 malformed lines" in notes[0].detail


def test_topology_file(tmp_path: Path) -> None:
    p = tmp_path / "t.yaml"
    p.write_text("services:\n  frontend: {depends_on: [checkout]}\n  checkout: {}\n")
    topo = TopologyFile(p).fetch_topology()
    assert topo.callees("frontend") == ["checkout"]
