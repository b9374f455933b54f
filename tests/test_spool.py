"""The local spool (memory/spool.py) on its own: durability, order, exactly-once replay.

The PostgreSQL side (a real server stopped and restarted, `kill -9` during a replay)
is in tests/test_team_faults.py; here the handlers are plain functions, so each
mechanism is shown without a server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aisre_cli.memory.spool import Spool, SpoolError, SpoolRecord, Unavailable

REPO = Path(__file__).resolve().parent.parent


def _kinds(sp: Spool) -> list[tuple[int, str]]:
    return [(r.seq, r.kind) for r in sp.pending()]


def test_append_is_fsynced_jsonl_with_seq_and_checksum(tmp_path: Path) -> None:
    sp = Spool(tmp_path / "spool")
    a = sp.append("memory", {"op": {"kind": "change.record", "data": {"service": "checkout"}}})
    b = sp.append("audit", {"record": {"event": "intent"}})
    assert (a.seq, b.seq) == (1, 2)
    assert a.id != b.id and a.id.startswith("sp-")
    lines = sp.path.read_bytes().splitlines()
    assert len(lines) == 2
    d = json.loads(lines[0])
    assert set(d) == {"v", "seq", "id", "kind", "ts", "payload", "sum"}
    assert d["payload"]["op"]["data"] == {"service": "checkout"}
    assert oct(sp.path.stat().st_mode & 0o777) == "0o600"
    st = sp.status()
    assert st.depth == 2 and st.by_kind == {"change.record": 1, "audit": 1}
    assert st.oldest == a.ts


def test_replay_in_order_then_truncates_and_seq_continues(tmp_path: Path) -> None:
    sp = Spool(tmp_path / "spool")
    for i in range(5):
        sp.append("memory" if i % 2 else "audit", {"i": i})
    seen: list[int] = []

    def h(r: SpoolRecord) -> None:
        seen.append(r.payload["i"])

    res = sp.replay({"memory": h, "audit": h})
    assert res.replayed == 5 and res.remaining == 0 and res.stopped is None
    assert seen == [0, 1, 2, 3, 4]
    assert sp.path.read_bytes() == b""  # drained: emptied
    assert sp.status().depth == 0
    # numbering never restarts (a record replayed earlier is never confused with a new one)
    assert sp.append("memory", {"i": 5}).seq == 6
    assert _kinds(sp) == [(6, "memory")]


def test_replay_stops_when_the_server_goes_away_and_resumes_in_order(tmp_path: Path) -> None:
    sp = Spool(tmp_path / "spool")
    for i in range(6):
        sp.append("memory", {"i": i})
    stored: list[int] = []
    up = {"ok": True}

    def h(r: SpoolRecord) -> None:
        if r.payload["i"] == 3 and up["ok"]:
            up["ok"] = False
            raise Unavailable("connection refused")
        stored.append(r.payload["i"])

    res = sp.replay({"memory": h})
    assert res.replayed == 3 and res.remaining == 3 and res.stopped == "connection refused"
    assert [r.payload["i"] for r in sp.pending()] == [3, 4, 5]
    sp.append("memory", {"i": 6})  # a write made while still down queues behind
    res = sp.replay({"memory": h})
    assert res.replayed == 4 and res.remaining == 0
    assert stored == [0, 1, 2, 3, 4, 5, 6]


def test_a_handler_bug_is_not_skipped(tmp_path: Path) -> None:
    sp = Spool(tmp_path / "spool")
    sp.append("memory", {"i": 0})
    sp.append("memory", {"i": 1})

    def h(r: SpoolRecord) -> None:
        if r.payload["i"] == 1:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        sp.replay({"memory": h})
    assert [r.payload["i"] for r in sp.pending()] == [1]


def test_missing_handler_refuses_before_replaying_anything(tmp_path: Path) -> None:
    sp = Spool(tmp_path / "spool")
    sp.append("memory", {})
    sp.append("audit", {"record": {}})
    calls: list[int] = []
    with pytest.raises(SpoolError, match="audit"):
        sp.replay({"memory": lambda r: calls.append(r.seq)})
    assert calls == [] and sp.status().depth == 2


def test_torn_last_line_is_set_aside_and_never_replayed(tmp_path: Path) -> None:
    sp = Spool(tmp_path / "spool")
    sp.append("memory", {"i": 0})
    good = sp.path.read_bytes()
    with open(sp.path, "ab") as fh:  # a crash in the middle of the second write
        fh.write(b'{"id":"sp-x","kind":"memory","payload":{"i":1},"seq":2,"su')
    assert [r.seq for r in sp.pending()] == [1]  # readers ignore the torn tail
    rec = sp.append("memory", {"i": 2})
    assert rec.seq == 2  # the torn record never existed for the chain of seqs
    assert sp.path.read_bytes().startswith(good)
    side = list(sp.dir.glob("spool.jsonl.torn-*"))
    assert len(side) == 1 and side[0].read_bytes().startswith(b'{"id":"sp-x"')
    assert sp.status().torn_sidecars == 1


def test_torn_write_crash_in_a_real_process(tmp_path: Path) -> None:
    """kill -9 in the middle of a write (AISRE_CRASHPOINT): the acknowledged records stay."""
    d = tmp_path / "spool"
    code = (
        "import sys; from pathlib import Path; from aisre_cli.memory.spool import Spool;"
        "sp = Spool(Path(sys.argv[1])); sp.append('audit', {'i': 0});"
        "sp.append('memory', {'i': 1})"
    )
    env = dict(os.environ, AISRE_CRASHPOINT="spool-torn:memory")
    proc = subprocess.run(
        [sys.executable, "-c", code, str(d)], env=env, cwd=REPO, timeout=120, check=False
    )
    assert proc.returncode == -9
    sp = Spool(d)
    assert [(r.seq, r.payload) for r in sp.pending()] == [(1, {"i": 0})]
    assert sp.append("memory", {"i": 2}).seq == 2
    assert [r.payload["i"] for r in sp.pending()] == [0, 2]


def test_a_damaged_record_in_the_middle_stops_everything(tmp_path: Path) -> None:
    sp = Spool(tmp_path / "spool")
    for i in range(3):
        sp.append("memory", {"i": i})
    lines = sp.path.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b'"i":1', b'"i":7')  # bit flip: checksum no longer matches
    sp.path.write_bytes(b"".join(lines))
    calls: list[int] = []
    with pytest.raises(SpoolError, match="damaged \\(line 2: bad checksum") as err:
        sp.replay({"memory": lambda r: calls.append(r.seq)})
    assert err.value.exit_code == 6  # integrity damage, as a tampered audit log: not 5
    assert "--set-aside-damaged" in (err.value.hint or "")
    assert calls == []
    sp.append("memory", {"i": 3})  # appends read the last line only: kept behind it
    with pytest.raises(SpoolError, match="damaged \\(line 2: bad checksum"):
        sp.replay({"memory": lambda r: calls.append(r.seq)})
    assert calls == []


def test_a_damaged_last_record_refuses_appends(tmp_path: Path) -> None:
    sp = Spool(tmp_path / "spool")
    sp.append("memory", {"i": 0})
    sp.path.write_bytes(sp.path.read_bytes().replace(b'"i":0', b'"i":9'))
    with pytest.raises(SpoolError, match="damaged"):
        sp.append("memory", {"i": 1})


def test_a_damaged_spool_reports_its_status_instead_of_failing(tmp_path: Path) -> None:
    sp = Spool(tmp_path / "spool")
    for i in range(3):
        sp.append("memory", {"i": i})
    lines = sp.path.read_bytes().splitlines(keepends=True)
    sp.path.write_bytes(lines[0] + b"not a record\n" + b"".join(lines[1:]))
    st = sp.status()  # no exception: `memory status` and `doctor` show it
    assert st.damaged and "line 2" in st.damaged
    assert st.damaged_lines == 1 and st.depth == 3 and st.oldest is not None


def test_set_aside_moves_damaged_lines_to_a_private_sidecar_and_renumbers(
    tmp_path: Path,
) -> None:
    sp = Spool(tmp_path / "spool")
    recs = [sp.append("memory", {"i": i}) for i in range(5)]
    assert sp.replay({"memory": lambda r: None if r.seq < 2 else _stop()}).replayed == 1
    lines = sp.path.read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace(b'"i":2', b'"i":7')  # seq 3: damaged
    sp.path.write_bytes(b"".join(lines))
    with pytest.raises(SpoolError, match="line 3"):
        sp.pending()
    res = sp.set_aside_damaged()
    assert res.moved == 1 and res.lines == (3,) and res.renumbered == 2 and not res.gap
    assert res.sidecar is not None
    side = Path(res.sidecar)
    assert side.parent == sp.dir and side.name.startswith("spool.jsonl.damaged-")
    assert side.read_bytes() == lines[2] and oct(side.stat().st_mode & 0o777) == "0o600"
    pend = sp.pending()  # the replayed record is gone, the rest renumbered after the cursor
    assert [(r.seq, r.payload["i"]) for r in pend] == [(2, 1), (3, 3), (4, 4)]
    assert [r.id for r in pend] == [recs[1].id, recs[3].id, recs[4].id]  # exactly-once keys
    assert sp.append("memory", {"i": 5}).seq == 5
    assert sp.status().damaged is None and sp.status().damaged_sidecars == 1
    assert sp.set_aside_damaged().moved == 0  # nothing left to do


def _stop() -> None:
    raise Unavailable("down")


def test_set_aside_closes_a_sequence_gap_and_says_so(tmp_path: Path) -> None:
    sp = Spool(tmp_path / "spool")
    for i in range(3):
        sp.append("memory", {"i": i})
    lines = sp.path.read_bytes().splitlines(keepends=True)
    sp.path.write_bytes(lines[0] + lines[2])  # a record missing: no damaged line
    with pytest.raises(SpoolError, match="sequence 3 follows 1") as err:
        sp.pending()
    assert err.value.exit_code == 6
    res = sp.set_aside_damaged()
    assert res.moved == 0 and res.sidecar is None and res.gap and res.renumbered == 1
    assert [r.payload["i"] for r in sp.pending()] == [0, 2]


def test_an_append_waiting_for_the_lock_writes_to_the_set_aside_result(tmp_path: Path) -> None:
    """The set-aside replaces the file with a rename while holding the append lock: an
    appender that waited on the old file must not write into it (it would be lost)."""
    import fcntl
    import time

    sp = Spool(tmp_path / "spool")
    sp.append("memory", {"i": 0})
    fd = os.open(sp.path, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    code = (
        "import sys; from pathlib import Path; from aisre_cli.memory.spool import Spool;"
        "Spool(Path(sys.argv[1])).append('memory', {'i': 1})"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(sp.dir)], cwd=REPO)
    try:
        deadline = time.monotonic() + 60  # until it holds the old file, waiting for the lock
        fds = Path(f"/proc/{proc.pid}/fd")
        while time.monotonic() < deadline and not any(
            _points_to(f, sp.path) for f in (fds.iterdir() if fds.exists() else [])
        ):
            time.sleep(0.02)
        new = sp.path.with_name("new")
        new.write_bytes(sp.path.read_bytes())
        os.replace(new, sp.path)
    finally:
        os.close(fd)  # releases the lock
    assert proc.wait(timeout=120) == 0
    assert [(r.seq, r.payload["i"]) for r in sp.pending()] == [(1, 0), (2, 1)]


def _points_to(fd_link: Path, target: Path) -> bool:
    try:
        return os.readlink(fd_link) == str(target)
    except OSError:
        return False


def test_cursor_makes_a_crash_after_commit_replay_once(tmp_path: Path) -> None:
    """kill -9 after the handler's commit but before the cursor moves: the record is
    handed over again, and the handler's unique key (here: a set of ids) drops it."""
    d = tmp_path / "spool"
    store = tmp_path / "store.jsonl"
    sp = Spool(d)
    ids = [sp.append("memory", {"i": i}).id for i in range(4)]
    code = (
        "import sys, json; from pathlib import Path; from aisre_cli.memory.spool import Spool\n"
        "store = Path(sys.argv[2])\n"
        "def h(r):\n"
        "    seen = {json.loads(x)['id'] for x in store.read_text().splitlines()}"
        " if store.exists() else set()\n"
        "    if r.id in seen: return\n"
        "    with open(store, 'a') as fh: fh.write(json.dumps({'id': r.id}) + '\\n')\n"
        "Spool(Path(sys.argv[1])).replay({'memory': h})\n"
    )
    env = dict(os.environ, AISRE_CRASHPOINT="spool-replay:after-commit")
    proc = subprocess.run(
        [sys.executable, "-c", code, str(d), str(store)],
        env=env,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert proc.returncode == -9
    assert sp.status().depth == 4  # committed, but the cursor did not move
    env.pop("AISRE_CRASHPOINT")
    proc = subprocess.run(
        [sys.executable, "-c", code, str(d), str(store)], env=env, cwd=REPO, timeout=120
    )
    assert proc.returncode == 0
    got = [json.loads(x)["id"] for x in store.read_text().splitlines()]
    assert got == ids  # each exactly once, in order
    assert sp.status().depth == 0


def test_concurrent_appenders_get_distinct_consecutive_seqs(tmp_path: Path) -> None:
    d = tmp_path / "spool"
    code = (
        "import sys; from pathlib import Path; from aisre_cli.memory.spool import Spool;"
        "sp = Spool(Path(sys.argv[1]));"
        "[sp.append('memory', {'w': sys.argv[2], 'i': i}) for i in range(40)]"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(d), str(w)], cwd=REPO) for w in range(4)
    ]
    assert [p.wait(timeout=300) for p in procs] == [0, 0, 0, 0]
    recs = Spool(d).pending()
    assert [r.seq for r in recs] == list(range(1, 161))
    assert len({r.id for r in recs}) == 160
    for w in range(4):  # each writer's records keep their order
        mine = [r.payload["i"] for r in recs if r.payload["w"] == str(w)]
        assert mine == list(range(40))


def test_a_second_replayer_does_not_wait_or_double_store(tmp_path: Path) -> None:
    import fcntl

    sp = Spool(tmp_path / "spool")
    sp.append("memory", {})
    fd = os.open(sp.lock_path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        res = sp.replay({"memory": lambda r: None})
        assert res.busy and res.replayed == 0 and res.remaining == 1
    finally:
        os.close(fd)
    assert sp.replay({"memory": lambda r: None}).replayed == 1


def test_no_spool_no_files(tmp_path: Path) -> None:
    sp = Spool(tmp_path / "spool")
    assert sp.status().depth == 0
    assert sp.replay({}).replayed == 0
    assert not sp.dir.exists()


# ------------------------------------------------------------------ CLI (no server needed)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aisre_cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ),
    )


def test_memory_status_local_and_doctor_show_the_spool() -> None:
    from aisre_cli.memory.spool import memory_spool

    p = _cli("memory", "status", "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["backend"] == "sqlite" and out["reachable"] is True
    assert out["schema_version"] == out["schema_head"]
    assert set(out["tables"]) >= {"incidents", "changes", "runbook_runs", "audit_log"}
    assert out["spool"]["depth"] == 0
    memory_spool().append("memory", {"op": {"kind": "change.record", "data": {}, "op_id": "x"}})
    p = _cli("doctor", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["spool"]["depth"] == 1
    p = _cli("memory", "status")
    assert "spool: 1 write(s) waiting" in p.stdout and "change.record" in p.stdout


def test_sync_refuses_a_spool_without_a_team_profile() -> None:
    from aisre_cli.memory.spool import audit_spool

    assert _cli("memory", "sync").returncode == 0  # nothing spooled, nothing to do
    audit_spool().append("audit", {"record": {}})
    p = _cli("memory", "sync")
    assert p.returncode == 5
    assert "no postgresql:// memory_url" in p.stderr and "Traceback" not in p.stderr
