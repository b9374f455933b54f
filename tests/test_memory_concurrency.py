"""Two aisre processes writing to one memory lose no record (real subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from aisre_cli.memory import migrations
from aisre_cli.memory.store import MemoryStore
from aisre_cli.settings import paths
from tests.conftest import PETSHOP, REPO

BUNDLE = PETSHOP / "petshop-high_traffic-test-issue6"


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["AISRE_HOME"] = str(home)
    env["PYTHONPATH"] = str(REPO)
    return env


@pytest.mark.skipif(not BUNDLE.exists(), reason="petshop dataset not present")
def test_concurrent_triage_processes_lose_no_record(_aisre_home: Path) -> None:
    aisre = Path(sys.executable).with_name("aisre")
    cmd = (
        [str(aisre)]
        if aisre.exists()
        else [sys.executable, "-c", "from aisre_cli.ui.cli.app import main; main()"]
    )
    n = 4  # all started at once, all writing to one fresh store (migrations race too)
    procs = [
        subprocess.Popen(
            [*cmd, "triage", "--bundle", str(BUNDLE), "--json"],
            env=_env(_aisre_home),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(n)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert "memory unavailable" not in err, err
        json.loads(out)
    with MemoryStore(paths.memory_db_file()) as st:
        incidents = st.all_incidents()
        # concurrent triages of one alert episode: exactly one open incident, never a
        # duplicate (the look-up and the insert are one write transaction)
        assert len(incidents) == 1, [i.uid for i in incidents]
        assert len(incidents[0].hypotheses) >= 1
        assert st.schema_version() == migrations.HEAD
        assert st.conn.execute("SELECT count(*) FROM alembic_version").fetchone()[0] == 1


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from datetime import UTC, datetime
    from aisre_cli.memory.store import MemoryStore, RunOutcome
    from aisre_cli.model import Alert, TriageReport, Verdict
    tag, n = sys.argv[1], int(sys.argv[2])
    st = MemoryStore(Path(sys.argv[3]))
    for i in range(n):
        # a new alert each time: the same open alert would update one incident
        a = Alert(id=f"fp-{tag}-{i}", name="A", starts_at=datetime.now(UTC))
        st.record_report(TriageReport(alert=a, verdict=Verdict()))
        st.record_run(RunOutcome(f"r-{tag}-{i}", "rb", "verified", kind="deploy"))
    print("ok")
    """
)


def test_two_writers_hammering_one_store(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    n = 150
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, tag, str(n), str(db)],
            env=_env(tmp_path),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("a", "b")
    ]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0 and out.strip() == "ok", err
    with MemoryStore(db) as st:
        assert st.count() == 2 * n
        assert st.successes("rb", "deploy") == 2 * n


def test_a_fresh_sqlite_memory_is_migrated_in_one_transaction(tmp_path: Path) -> None:
    """Alembic's SQLite impl commits after each revision unless told that SQLite's DDL is
    transactional. Between those commits a second process, holding the revision it had
    read, re-created tables the first had just made (`table ... already exists`). The
    whole upgrade is one transaction: one BEGIN IMMEDIATE, one COMMIT."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    commits: list[str] = []

    def on_commit(conn: object) -> None:
        commits.append("commit")

    event.listen(Engine, "commit", on_commit)
    try:
        with MemoryStore(tmp_path / "m.db") as st:
            assert st.schema_version() == migrations.HEAD
    finally:
        event.remove(Engine, "commit", on_commit)
    assert len(migrations.REVISIONS) > 1 and commits == ["commit"]


def test_opening_waits_out_another_process_holding_a_new_memory(tmp_path: Path) -> None:
    """Switching a new memory to WAL needs it to itself, and SQLite answers "locked" at
    once rather than waiting. Another process holding the file for a moment (its own
    first open) must be waited out, not reported as a memory locked for 30 s."""
    import sqlite3
    import threading
    import time

    db = tmp_path / "m.db"
    holder = sqlite3.connect(str(db), isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")  # a writer: readers pass, the WAL switch cannot
    holder.execute("INSERT INTO t VALUES (1)")
    release = threading.Timer(0.5, lambda: holder.execute("COMMIT"))
    release.start()
    t0 = time.monotonic()
    try:
        with MemoryStore(db) as st:
            assert st.schema_version() == migrations.HEAD
    finally:
        release.join()
        holder.close()
    assert time.monotonic() - t0 >= 0.4  # it waited for the holder
