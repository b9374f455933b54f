"""The local memory held by another process, and a memory file emptied under us.

* A memory another process holds (a long `aisre incident import`, a stuck process in
  a write transaction) made `aisre triage` wait the whole busy timeout (30 s) before
  answering. A triage waits only briefly (`TRIAGE_LOCK_WAIT_MS`), then answers
  without the memory and says why, and that the triage is not recorded. Commands whose
  whole purpose is the memory keep the long wait and end in a one-line error.
* A memory file truncated to 0 bytes was silently read as a new, empty memory: the
  team's history gone and nobody told.

Every lock is held by a real second sqlite3 connection: another process for the
triage runs (run as subprocesses, as on a laptop), this process's own connection for
the in-process commands.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from aisre_cli.memory import backend
from aisre_cli.memory.store import BUSY_TIMEOUT_MS, MemoryStore, open_advisor, open_store
from aisre_cli.settings import paths
from tests.conftest import REPO
from tests.fakes.cli import run
from tests.test_memory_store import SIG, report

LOCKED = "locked by another aisre process"
EMPTY = "was an empty file"

HOLDER = textwrap.dedent(
    """
    import sqlite3, sys
    path, begin, *pragmas = sys.argv[1:]
    conn = sqlite3.connect(path, isolation_level=None)
    for p in pragmas:
        conn.execute(f"PRAGMA {p}").fetchall()
    conn.execute(f"BEGIN {begin}")
    conn.execute("CREATE TABLE IF NOT EXISTS held_by_test (x)")
    conn.execute("INSERT INTO held_by_test VALUES (1)")
    print("held", flush=True)
    sys.stdin.read()  # until the test lets go
    conn.execute("ROLLBACK")
    conn.close()
    """
)


def _env() -> dict[str, str]:
    env = dict(os.environ)  # AISRE_HOME: the test's (conftest's _aisre_home)
    env["PYTHONPATH"] = str(REPO)
    return env


@contextmanager
def _held_by_another_process(db: Path, begin: str, *pragmas: str) -> Iterator[None]:
    """Another process holding `BEGIN <begin>` (and a written row) on `db`."""
    db.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db), begin, *pragmas],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        line = holder.stdout.readline()
        if line.strip() != "held":
            holder.kill()
            _, err = holder.communicate(timeout=10)
            pytest.fail(f"the lock holder did not start: {err[-500:]}")
        yield
    finally:
        if holder.poll() is None:
            try:
                holder.communicate(input="", timeout=10)
            except subprocess.TimeoutExpired:
                holder.kill()
                holder.communicate()


def _triage() -> tuple[subprocess.CompletedProcess[str], float]:
    demo = paths.demo_bundle_dir()
    t0 = time.monotonic()
    p = subprocess.run(
        [sys.executable, "-m", "aisre_cli", "--bundle", str(demo), "triage", "--json"],
        env=_env(),
        cwd=str(REPO),
        capture_output=True,
        text=True,
        timeout=60,
    )
    return p, time.monotonic() - t0


def _one_incident(db: Path) -> None:
    with MemoryStore(db) as st:
        st.record_report(report(), SIG)


# ------------------------------------------------------------------ a held memory


@pytest.mark.parametrize(
    ("begin", "pragmas", "unavailable"),
    [
        # WAL: readers pass, the incident write at the end cannot
        ("IMMEDIATE", (), False),
        ("EXCLUSIVE", (), False),
        # the holder took the file out of WAL (a sqlite3 shell, an old tool): even the
        # integrity check at open cannot read
        ("EXCLUSIVE", ("journal_mode = DELETE",), True),
        # exclusive locking mode: no other connection may read either
        ("EXCLUSIVE", ("locking_mode = EXCLUSIVE",), True),
    ],
    ids=["write-lock", "exclusive-wal", "exclusive-rollback-journal", "exclusive-locking-mode"],
)
def test_triage_answers_without_a_memory_another_process_holds(
    begin: str, pragmas: tuple[str, ...], unavailable: bool
) -> None:
    db = paths.memory_db_file()
    _one_incident(db)
    with _held_by_another_process(db, begin, *pragmas):
        p, elapsed = _triage()
    assert p.returncode == 0, p.stderr[-800:]
    out = json.loads(p.stdout)
    assert out["hypotheses"], "the ranked answer is there"
    assert "incident" not in out  # nothing was recorded
    assert "Traceback" not in p.stderr
    said = [ln for ln in p.stderr.splitlines() if LOCKED in ln]
    assert len(said) == 1, p.stderr
    assert "not recorded" in said[0]
    if unavailable:
        assert "incident memory unavailable" in said[0], said[0]
        assert "this triage is not recorded" in said[0]
    else:
        assert said[0].startswith("incident not recorded"), said[0]
    assert elapsed < BUSY_TIMEOUT_MS / 1000  # very loose: it did not wait the full 30 s
    with MemoryStore(db) as st:  # the memory is intact, and holds no half-written triage
        assert st.count() == 1


def test_triage_does_not_wait_for_a_new_memory_another_process_is_creating() -> None:
    """The memory does not exist yet and another process created it and holds it (a
    first `aisre incident import`): the schema cannot be made, and Alembic's own wait
    is the long one; the triage is told at once instead."""
    db = paths.memory_db_file()
    with _held_by_another_process(db, "IMMEDIATE", "journal_mode = WAL"):
        p, _ = _triage()
    assert p.returncode == 0, p.stderr[-800:]
    assert json.loads(p.stdout)["hypotheses"]
    assert "Traceback" not in p.stderr
    said = [ln for ln in p.stderr.splitlines() if LOCKED in ln]
    assert len(said) == 1 and "this triage is not recorded" in said[0], p.stderr


def test_triage_records_once_the_holder_has_let_go() -> None:
    db = paths.memory_db_file()
    _one_incident(db)
    with _held_by_another_process(db, "IMMEDIATE"):
        pass
    p, _ = _triage()
    assert p.returncode == 0, p.stderr[-800:]
    assert LOCKED not in p.stderr and EMPTY not in p.stderr
    assert json.loads(p.stdout)["incident"]["id"] == 2


def test_only_the_triage_waits_briefly() -> None:
    """The triage's connection waits `TRIAGE_LOCK_WAIT_MS`; every other opener (incident
    resolve/import, memory status, a runbook run's track record) keeps the long wait."""
    from aisre_cli.memory.store import TRIAGE_LOCK_WAIT_MS

    assert 1000 <= TRIAGE_LOCK_WAIT_MS <= 10_000 < BUSY_TIMEOUT_MS
    with open_store() as st:
        assert st.conn.execute("PRAGMA busy_timeout").fetchone()[0] == BUSY_TIMEOUT_MS
    adv = open_advisor(busy_timeout_ms=TRIAGE_LOCK_WAIT_MS)
    try:
        got = adv.store.conn.execute("PRAGMA busy_timeout").fetchone()[0]
        assert got == TRIAGE_LOCK_WAIT_MS
    finally:
        adv.store.close()


@contextmanager
def _held_here(db: Path, *pragmas: str) -> Iterator[None]:
    """This process's own connection holding a write transaction (and a written row)
    on `db`."""
    conn = sqlite3.connect(str(db), isolation_level=None, check_same_thread=False)
    try:
        for p in pragmas:
            conn.execute(f"PRAGMA {p}").fetchall()
        conn.execute("BEGIN EXCLUSIVE")
        conn.execute("CREATE TABLE IF NOT EXISTS held_by_test (x)")
        conn.execute("INSERT INTO held_by_test VALUES (1)")
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def _one_line_error(code: int, err: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err and "internal error" not in err, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error:")]
    assert len(errors) == 1 and LOCKED in errors[0], err
    assert any(ln.startswith("hint:") for ln in lines), err


def test_memory_commands_end_in_a_one_line_error_while_it_is_held(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`incident resolve`, `incident import`, `memory status` wait the long busy timeout
    (made short here), then say in one line that another process holds the memory."""
    monkeypatch.setattr(backend, "BUSY_TIMEOUT_MS", 300)
    db = paths.memory_db_file()
    _one_incident(db)
    export = tmp_path / "team.json"
    with MemoryStore(db) as st:
        export.write_text(json.dumps(st.export_all()), encoding="utf-8")
    with _held_here(db):  # a writer: these two write
        code, _, err = run(capsys, "incident", "resolve", "1", "--cause", "1")
        _one_line_error(code, err)
        code, _, err = run(capsys, "incident", "import", str(export))
        _one_line_error(code, err)
    with _held_here(db, "locking_mode = EXCLUSIVE"):  # readers locked out too
        code, _, err = run(capsys, "memory", "status")
        _one_line_error(code, err)
    with MemoryStore(db) as st:
        assert st.get("1").status == "open"


def test_a_write_refused_by_the_lock_says_what_holds_it(tmp_path: Path) -> None:
    from aisre_cli.memory.store import MemoryLocked

    db = tmp_path / "m.db"
    with MemoryStore(db, busy_timeout_ms=100) as st, _held_here(db):
        with pytest.raises(MemoryLocked, match=LOCKED) as exc:
            st.record_report(report(), SIG)
        assert exc.value.hint
        assert "waited 0.1s" in exc.value.message


# ------------------------------------------------------------------ an emptied memory


def test_an_emptied_memory_file_is_said_once_and_the_triage_goes_on() -> None:
    db = paths.memory_db_file()
    _one_incident(db)
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    db.write_bytes(b"")  # a disk-full write, a bad copy, a sync tool
    p, _ = _triage()
    assert p.returncode == 0, p.stderr[-800:]
    out = json.loads(p.stdout)
    assert out["hypotheses"] and out["incident"]["id"] == 1  # a new memory
    said = [ln for ln in p.stderr.splitlines() if EMPTY in ln]
    assert len(said) == 1, p.stderr
    assert str(db) in said[0] and "new memory" in said[0] and "past incidents" in said[0]
    again, _ = _triage()  # told once: the memory is a real one now
    assert again.returncode == 0, again.stderr[-800:]
    assert EMPTY not in again.stderr
    assert json.loads(again.stdout)["incident"]["id"] == 1  # the same open incident


def test_a_brand_new_memory_is_silent() -> None:
    assert not paths.memory_db_file().exists()
    p, _ = _triage()
    assert p.returncode == 0, p.stderr[-800:]
    assert EMPTY not in p.stderr and "incident memory" not in p.stderr, p.stderr
    assert json.loads(p.stdout)["incident"]["id"] == 1


def test_found_empty_only_for_an_empty_file_without_a_wal(tmp_path: Path) -> None:
    new = tmp_path / "new.db"
    with MemoryStore(new) as st:
        assert not st.found_empty  # no file at all: a brand-new memory
    with MemoryStore(new) as st:
        assert not st.found_empty  # a real memory
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    with MemoryStore(empty) as st:
        assert st.found_empty
        assert st.count() == 0
    with MemoryStore(empty) as st:
        assert not st.found_empty  # said once: it is a memory now
    walled = tmp_path / "walled.db"
    walled.write_bytes(b"")
    Path(f"{walled}-wal").write_bytes(b"")  # SQLite owns what is in the WAL: not ours to judge
    with MemoryStore(walled) as st:
        assert not st.found_empty


def _open_at_once(db: Path, n: int) -> list[bool]:
    """`found_empty` of `n` connections opening `db` at the same moment."""
    start = threading.Barrier(n)
    seen: list[bool] = []
    failed: list[BaseException] = []

    def open_it() -> None:
        start.wait()
        try:
            opened = backend.SqliteDatabase(db)
            seen.append(opened.found_empty)
            opened.close()
        except BaseException as exc:  # reported below, on the test's thread
            failed.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not failed, failed
    return seen


def test_memories_created_at_once_are_never_taken_for_emptied_ones(tmp_path: Path) -> None:
    """A new memory appears whole (already a database), never as the empty file another
    opener, at that very moment, would report as a lost memory."""
    for round_ in range(5):
        assert _open_at_once(tmp_path / f"m{round_}.db", 6) == [False] * 6
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left
