"""What aisre keeps in its data folder is private to the user (0700 folder, 0600 files).

The memory holds whole triage reports, log excerpts included; the change feed, run
checkpoints and the audit trail say what was done where. On a shared bastion with the
usual umask 022 these were world-readable (memory.sqlite3 and changes.jsonl 0644)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from aisre_cli.settings import paths
from tests.contract_servers.cli import run_cli


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_data_folder_and_its_records_are_private(umask_022: None) -> None:
    assert run_cli(["triage"]).code == 0
    assert run_cli(["change", "record", "-s", "checkout", "--version", "v2"]).code == 0
    r = run_cli(["runbook", "run", "rollback-bad-deploy", "--alert", "179e723e", "--dry-run"])
    assert "Traceback" not in r.err, r.err
    data = paths.data_dir()
    assert _mode(data) == 0o700
    private = [
        paths.memory_db_file(),
        paths.changes_file(),
        paths.audit_log_file(),
        *paths.runs_dir().glob("*.json"),
    ]
    assert len(private) >= 4 and all(p.exists() for p in private)
    for p in private:
        assert _mode(p) == 0o600, p
    assert _mode(paths.runs_dir()) == 0o700
    # SQLite's -wal and -shm files, while the memory is open, take the database's mode
    import sqlite3

    conn = sqlite3.connect(paths.memory_db_file())
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        sides = list(data.glob("memory.sqlite3-*"))
        assert sides
        for side in sides:
            assert _mode(side) == 0o600, side
    finally:
        conn.close()


def test_a_change_file_outside_the_data_folder_keeps_the_umask(
    umask_022: None, tmp_path: Path
) -> None:
    """A change file a team shares (`sources.changes_file` elsewhere) is not made
    private: readable by the group as the umask says."""
    from aisre_cli.sources.changefile import ChangeFile

    shared = tmp_path / "team" / "changes.jsonl"
    ChangeFile(shared).record(service="checkout", version="v3")
    assert _mode(shared) == 0o644
    assert paths.private_file_mode(shared) == 0o644
    assert paths.private_file_mode(paths.data_dir() / "x" / "y") == 0o600


def test_an_existing_data_folder_keeps_its_mode(umask_022: None) -> None:
    """aisre does not chmod a folder the user made (they may share it on purpose)."""
    data = paths.data_dir()
    data.mkdir(parents=True, mode=0o750)
    os.chmod(data, 0o750)
    assert run_cli(["change", "record", "-s", "checkout", "--version", "v2"]).code == 0
    assert _mode(data) == 0o750
    assert _mode(paths.changes_file()) == 0o600
