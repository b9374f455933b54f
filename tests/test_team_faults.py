"""Team mode under faults, on a real PostgreSQL that the tests stop and restart.

* the server is stopped mid-run: writes (changes, runbook outcomes, incidents, audit
  records) go to the local spools; it restarts: the spools drain, nothing lost or
  duplicated (rows counted, ids checked), the audit chain intact with both hashes kept;
* `kill -9` of `aisre memory sync` in the middle of replaying a large spool, and at the
  worst moment (after a commit, before the cursor moves): replayed again, exactly once;
* the whole CLI path: a triage while the server is down still runs (with a note) and
  its incident is spooled; the next triage sends it;
* a bad password: one line, exit 4, no traceback, the password never printed;
* 8 processes x 100 mixed writes (incidents, changes, audit appends): 800 rows and one
  intact audit chain.

These tests own their cluster (module scope): stopping the session's shared one would
break the other tests of the same worker. Under CI=true a missing PostgreSQL fails.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from aisre_cli.govern.audit_pg import PgAuditLog
from aisre_cli.govern.team import open_team_audit, sync
from aisre_cli.memory.backend import location_for
from aisre_cli.memory.spool import audit_spool, memory_spool
from aisre_cli.memory.storage import MemoryStore, RunOutcome, open_store
from aisre_cli.memory.teamstore import OfflineStore, TeamStore
from aisre_cli.model import Change
from aisre_cli.settings.config import Profile, Sources
from tests.conftest import DEMO

if TYPE_CHECKING:
    from tests.pg import PgCluster

REPO = Path(__file__).resolve().parent.parent


def _profile(url: str) -> Profile:
    return Profile(environment="demo", memory_url=url, sources=Sources(bundle=str(DEMO)))


def _change(i: int, tag: str = "") -> Change:
    return Change(
        id=f"chg-{tag}{i}",
        source="test",
        ts=datetime(2026, 3, 1, tzinfo=UTC) + timedelta(seconds=i),
        service="checkout",
        kind="deploy",
        summary=f"deploy {i}",
        version=f"v{i}",
    )


def _rows(url: str, sql: str) -> list[Any]:
    with MemoryStore(location=location_for(url)) as st:
        return list(st.db.query(sql))


def _aisre(home: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "aisre_cli", *args],
        cwd=REPO,
        env={**os.environ, "AISRE_HOME": str(home), **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )


def _config(home: Path, url: str) -> None:
    cfg = home / "config" / "config.yaml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(
        "version: 1\ndefault_profile: team\nprofiles:\n  team:\n    environment: demo\n"
        f"    sources:\n      bundle: {json.dumps(str(DEMO))}\n"
        f"    memory_url: {json.dumps(url)}\n"
    )


# ------------------------------------------------------------------ server stopped mid-run


def test_server_stopped_mid_run_spools_then_drains_exactly(cluster: PgCluster, url: str) -> None:
    prof = _profile(url)
    st = open_store(profile=prof)
    assert isinstance(st, TeamStore)
    log = open_team_audit(prof)
    for i in range(5):
        st.record_change(_change(i))
        log.append("intent", {"i": i}, run="r-up")
    assert not log.last_spooled

    cluster.stop_server("fast")  # mid-run: the open connections die
    for i in range(5, 10):
        st.record_change(_change(i))  # the live store's connection is gone: spooled
    st.record_run(RunOutcome("run-1", "rollback", "verified", kind="deploy"))
    down = [log.append("intent", {"i": i}, run="r-down") for i in range(5, 8)]
    assert log.last_spooled
    assert [r.seq for r in down] == [1, 2, 3]  # the local chain of the audit spool
    assert down[1].prev == down[0].hash
    off = open_store(profile=prof)  # a new command while down: offline, spooling
    assert isinstance(off, OfflineStore) and off.notes
    off.record_change(_change(10))
    assert memory_spool().status().depth == 7
    assert audit_spool().status().depth == 3
    spooled_ids = [r.id for r in memory_spool().pending()]
    assert len(set(spooled_ids)) == 7

    cluster.start_again()
    res = sync(prof)
    assert (res.memory.replayed, res.memory.remaining) == (7, 0)
    assert (res.audit.replayed, res.audit.remaining) == (3, 0)
    assert memory_spool().status().depth == 0 and audit_spool().status().depth == 0

    ids = [r[0] for r in _rows(url, "SELECT id FROM changes ORDER BY ts")]
    assert ids == [f"chg-{i}" for i in range(11)]  # nothing lost, nothing twice, in order
    assert _rows(url, "SELECT outcome FROM runbook_runs")[0][0] == "verified"
    ops = {r[0] for r in _rows(url, "SELECT op_id FROM applied_ops")}
    assert set(spooled_ids) <= ops

    team = PgAuditLog(url, key=None)
    rep = team.verify()
    assert rep.ok and rep.records == 8
    recs = list(team.records())
    assert [r.data["i"] for r in recs] == list(range(8))
    rows = _rows(url, "SELECT seq, local_seq, local_hash FROM audit_log ORDER BY seq")
    assert [(r[1], r[2]) for r in rows[5:]] == [(d.seq, d.hash) for d in down]
    assert all(r[1] is None for r in rows[:5])
    # the hash printed at the end of the run while down still anchors after the replay
    assert team.verify(expect_head=down[-1].hash).expected_head_seq == 8

    sync(prof)  # a second sync has nothing to send
    assert len(_rows(url, "SELECT id FROM changes")) == 11
    assert PgAuditLog(url, key=None).verify().records == 8


def test_a_write_resumes_the_spool_first_when_the_server_is_back(
    cluster: PgCluster, url: str
) -> None:
    """Order: a write made after the server came back does not overtake spooled ones."""
    prof = _profile(url)
    cluster.stop_server("fast")
    off = open_store(profile=prof)
    assert isinstance(off, OfflineStore)
    off.record_change(_change(0, "a"))
    log = open_team_audit(prof)
    first = log.append("intent", {"n": 0})
    cluster.start_again()
    st = open_store(profile=prof)  # replays on open
    assert isinstance(st, TeamStore)
    assert any("sent 1 write" in n for n in st.notes)
    st.record_change(_change(1, "a"))
    log2 = open_team_audit(prof)
    second = log2.append("intent", {"n": 1})  # drains the audit spool first
    assert not log2.last_spooled
    recs = list(PgAuditLog(url, key=None).records())
    assert [r.data["n"] for r in recs] == [0, 1]
    assert recs[0].hash != first.hash and second.seq == 2
    assert [r[0] for r in _rows(url, "SELECT id FROM changes ORDER BY ts")] == ["chg-a0", "chg-a1"]


# ------------------------------------------------------------------ kill -9 during a replay


def _fill_spools(cluster: PgCluster, url: str, n_mem: int, n_audit: int) -> None:
    prof = _profile(url)
    cluster.stop_server("fast")
    off = open_store(profile=prof)
    assert isinstance(off, OfflineStore)
    for i in range(n_mem):
        off.record_change(_change(i, "k"))
    log = open_team_audit(prof)
    for i in range(n_audit):
        log.append("intent", {"i": i})
    cluster.start_again()


def _cursor(kind: str) -> int:
    sp = memory_spool() if kind == "memory" else audit_spool()
    try:
        return int(json.loads(sp.cursor_path.read_text())["seq"])
    except (OSError, ValueError):
        return 0


def _check_exactly_once(url: str, n_mem: int, n_audit: int) -> None:
    ids = [r[0] for r in _rows(url, "SELECT id FROM changes")]
    assert len(ids) == n_mem and set(ids) == {f"chg-k{i}" for i in range(n_mem)}
    log = PgAuditLog(url, key=None)
    rep = log.verify()
    assert rep.ok and rep.records == n_audit, rep.to_dict()
    local = [r[0] for r in _rows(url, "SELECT local_seq FROM audit_log ORDER BY seq")]
    assert local == list(range(1, n_audit + 1))  # each spooled record once, in order
    assert memory_spool().status().depth == 0 and audit_spool().status().depth == 0


def test_kill_9_after_commit_before_cursor_replays_once(
    cluster: PgCluster, url: str, _aisre_home: Path
) -> None:
    _config(_aisre_home, url)
    _fill_spools(cluster, url, 3, 3)
    env = {"AISRE_MEMORY_TOKEN": cluster.app_password}
    p = _aisre(
        _aisre_home, "memory", "sync", env={**env, "AISRE_CRASHPOINT": "spool-replay:after-commit"}
    )
    assert p.returncode == -9, p.stderr
    assert len(_rows(url, "SELECT id FROM changes")) == 1  # committed...
    assert memory_spool().status().depth == 3  # ...but the cursor did not move
    p = _aisre(_aisre_home, "memory", "sync", "--json", env=env)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["memory"]["replayed"] == 3 and out["audit"]["replayed"] == 3
    assert out["remaining"] == 0
    _check_exactly_once(url, 3, 3)


def test_kill_9_during_a_large_replay_then_again_is_exactly_once(
    cluster: PgCluster, url: str, _aisre_home: Path
) -> None:
    n_mem, n_audit = 600, 300
    _config(_aisre_home, url)
    _fill_spools(cluster, url, n_mem, n_audit)
    env = {**os.environ, "AISRE_HOME": str(_aisre_home)}
    env["AISRE_MEMORY_TOKEN"] = cluster.app_password
    proc = subprocess.Popen(
        [sys.executable, "-m", "aisre_cli", "memory", "sync"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 600
    while _cursor("memory") < 20 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.kill()  # SIGKILL, in the middle of the memory spool
    proc.wait(timeout=60)
    assert proc.returncode == -9
    assert 0 < memory_spool().status().depth < n_mem  # it was killed part-way
    stored = len(_rows(url, "SELECT id FROM changes"))
    assert stored >= _cursor("memory")  # the cursor never runs ahead of the database

    p = _aisre(_aisre_home, "memory", "sync", env={"AISRE_MEMORY_TOKEN": cluster.app_password})
    assert p.returncode == 0, p.stderr
    _check_exactly_once(url, n_mem, n_audit)


# ------------------------------------------------------------------ the CLI while down


def test_triage_while_down_runs_with_a_note_and_the_next_one_sends_it(
    cluster: PgCluster, url: str, _aisre_home: Path
) -> None:
    _config(_aisre_home, url)
    env = {"AISRE_MEMORY_TOKEN": cluster.app_password}
    cluster.stop_server("fast")
    p = _aisre(_aisre_home, "triage", "--json", env=env)
    assert p.returncode == 0, p.stderr
    report = json.loads(p.stdout)
    assert report["hypotheses"]  # triage ran
    assert "team memory unavailable" in p.stderr and "local spool" in p.stderr
    assert p.stderr.count("team memory") == 1, p.stderr  # said once, not by every layer
    # the report itself says its past incidents were not read
    assert any(n.startswith("memory failed") and "unreachable" in n for n in report["notes"])
    assert "Traceback" not in p.stderr
    assert memory_spool().status().by_kind == {"incident.record": 1}
    st = _aisre(_aisre_home, "memory", "status", "--json", env=env)
    assert st.returncode == 3
    assert json.loads(st.stdout)["spool"]["depth"] == 1
    doc = _aisre(_aisre_home, "doctor", "--json", env=env)
    assert json.loads(doc.stdout)["spool"]["depth"] == 1

    cluster.start_again()
    p = _aisre(_aisre_home, "triage", env=env)
    assert p.returncode == 0, p.stderr
    assert "sent 1 write(s)" in p.stderr
    assert memory_spool().status().depth == 0
    n = _rows(url, "SELECT count(*), count(DISTINCT uid) FROM incidents")[0]
    assert (n[0], n[1]) in ((1, 1), (2, 2))  # the spooled one is there, once
    st = _aisre(_aisre_home, "memory", "status", "--json", env=env)
    assert st.returncode == 0
    out = json.loads(st.stdout)
    assert out["reachable"] and out["spool"]["depth"] == 0
    assert out["tables"]["incidents"] == n[0]


def test_a_bad_password_is_one_line_exit_4_never_printed(
    cluster: PgCluster, url: str, _aisre_home: Path
) -> None:
    _config(_aisre_home, url)
    wrong = "wrong-" + secrets.token_hex(6)
    for args in (("memory", "status"), ("memory", "sync"), ("audit", "verify")):
        p = _aisre(_aisre_home, *args, env={"AISRE_MEMORY_TOKEN": wrong})
        assert p.returncode == 4, (args, p.stdout, p.stderr)
        err = p.stderr.strip().splitlines()
        assert err[0].startswith("error: ") and "refused the password" in err[0]
        assert any(line.startswith("hint: ") and "aisre auth set" in line for line in err)
        assert "Traceback" not in p.stderr
        assert wrong not in p.stdout + p.stderr
        assert cluster.app_password not in p.stdout + p.stderr


def test_migrate_twice_gives_the_same_rows(cluster: PgCluster, url: str, _aisre_home: Path) -> None:
    from aisre_cli.govern.audit import AuditLog
    from tests.test_memory_store import alert, report

    with MemoryStore() as local:  # the local SQLite memory of this AISRE_HOME
        for i in range(3):
            local.record_report(report(alert(i, fid=f"m{i}")))
        local.record_run(RunOutcome("run-9", "rollback", "verified", kind="deploy"))
    for i in range(4):
        AuditLog().append("intent", {"i": i}, run="r-local")
    env = {"AISRE_MEMORY_TOKEN": cluster.app_password}
    outs = []
    for _ in range(2):
        p = _aisre(_aisre_home, "memory", "migrate", "--to", url, "--json", env=env)
        assert p.returncode == 0, p.stderr
        outs.append(json.loads(p.stdout))
    assert outs[0]["tables"] == outs[1]["tables"]
    assert outs[0]["tables"]["incidents"] == 3 and outs[0]["tables"]["runbook_runs"] == 1
    assert outs[0]["tables"]["audit_log"] == 4
    assert outs[0]["copied"]["memory"]["added"] == 3
    assert outs[1]["copied"]["memory"]["added"] == 0
    assert outs[1]["copied"]["audit"]["added"] == 0
    log = PgAuditLog(url, key=None)
    assert log.verify().ok
    local_hashes = [r.hash for r in AuditLog().records()]
    rows = _rows(url, "SELECT local_hash FROM audit_log ORDER BY seq")
    assert [r[0] for r in rows] == local_hashes


# ------------------------------------------------------------------ 8 x 100 mixed


MIXED = """
import sys
from aisre_cli.govern.audit_pg import PgAuditLog
from aisre_cli.memory.backend import location_for
from aisre_cli.memory.storage import MemoryStore, StoreChangeFeed
from tests.test_memory_store import alert, report

url, proc, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
log = PgAuditLog(url, key=None)
with MemoryStore(location=location_for(url)) as st:
    feed = StoreChangeFeed(st)
    for i in range(n):
        if i % 3 == 0:
            st.record_report(report(alert(i, fid=f"p{proc}-{i}")))
        elif i % 3 == 1:
            feed.record(service=f"svc{proc}", version=f"v{i}")
        else:
            log.append("intent", {"proc": proc, "i": i}, run=f"r-{proc}")
log.close()
print("ok")
"""


@pytest.mark.slow
def test_eight_processes_times_100_mixed_writes_one_audit_chain(
    cluster: PgCluster, url: str
) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "AISRE_MEMORY_TOKEN": cluster.app_password}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", MIXED, url, str(p), "100"],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for p in range(8)
    ]
    for p in procs:
        out, err = p.communicate(timeout=900)
        assert p.returncode == 0 and out.strip() == "ok", err[-2000:]
    with MemoryStore(location=location_for(url)) as st:
        c = st.counts()
    log = PgAuditLog(url, key=None)
    rep = log.verify()
    assert rep.ok, rep.to_dict()
    assert (c["incidents"], c["changes"], rep.records) == (8 * 34, 8 * 33, 8 * 33)
    assert c["incidents"] + c["changes"] + rep.records == 800
    recs = list(log.records())
    for p in range(8):  # each writer's audit records in its order, none lost
        mine = [r.data["i"] for r in recs if r.data["proc"] == p]
        assert mine == [i for i in range(100) if i % 3 == 2]


# ------------------------------------------------------------------ a governed run while down

PROMPT = r"Run this step\? y run, n skip, d dry run, a abort, \? help: "


def test_a_runbook_run_while_down_audits_to_the_spool_then_chains_in(
    cluster: PgCluster, url: str, _aisre_home: Path
) -> None:
    """The actions of a page are audited even with the team database down: intent and
    result records go to the audit spool (fsynced, locally chained) before each action
    runs, the run's outcome to the memory spool; `memory sync` chains them into the team
    trail, and the head printed at the end of the run verifies there."""
    import re

    import pexpect

    from aisre_cli.govern.audit_pg import PgAuditLog
    from tests.fakes.env import AISRE, make_env, write_config, writes

    home = _aisre_home
    write_config(home, {"memory_url": url})
    env = make_env(home, AISRE_MEMORY_TOKEN=cluster.app_password)
    cluster.stop_server("fast")
    child = pexpect.spawn(
        AISRE[0],
        [*AISRE[1:], "runbook", "run", "rollback-bad-deploy", "--param", "service=checkout"],
        env=env,
        encoding="utf-8",
        timeout=120,
    )
    child.expect(PROMPT)
    child.send("y")
    child.expect(r"audit head: #(\d+) ([0-9a-f]{64})")
    head = child.match.group(2)
    child.expect("in the local audit spool")  # said: the head is a local hash for now
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 6  # no Prometheus here: the rollback's check cannot be made
    assert len(writes(home)) == 1  # the action ran once, with the database down
    assert not (home / "data" / "audit.jsonl").exists()  # team mode: no local log
    spooled = [r.payload["record"] for r in audit_spool().pending()]
    assert spooled and spooled[-1]["hash"] == head
    assert [r["seq"] for r in spooled] == list(range(1, len(spooled) + 1))
    events = [r["event"] for r in spooled]
    assert "intent" in events and "result" in events
    assert memory_spool().status().by_kind.get("run.record") == 1

    cluster.start_again()
    p = _aisre(home, "memory", "sync", env={"AISRE_MEMORY_TOKEN": cluster.app_password})
    assert p.returncode == 0, p.stderr
    log = PgAuditLog(url, key=None)
    rep = log.verify(expect_head=head)
    assert rep.ok and rep.records == len(spooled) and rep.expected_head_seq == len(spooled)
    v = _aisre(
        home,
        "audit",
        "verify",
        "--expect-head",
        head,
        env={"AISRE_MEMORY_TOKEN": cluster.app_password},
    )
    assert v.returncode == 0 and re.search(r"ok: \d+ record\(s\), chain intact", v.stdout)
    assert _rows(url, "SELECT count(*) FROM runbook_runs")[0][0] == 1


def test_the_next_triage_chains_spooled_audit_records(
    cluster: PgCluster, url: str, _aisre_home: Path
) -> None:
    _config(_aisre_home, url)
    prof = _profile(url)
    cluster.stop_server("fast")
    log = open_team_audit(prof)
    recs = [log.append("intent", {"i": i}, run="r-x") for i in range(2)]
    assert log.last_spooled and audit_spool().status().depth == 2
    cluster.start_again()
    p = _aisre(_aisre_home, "triage", env={"AISRE_MEMORY_TOKEN": cluster.app_password})
    assert p.returncode == 0, p.stderr
    assert "chained 2 audit record(s)" in p.stderr
    assert audit_spool().status().depth == 0
    rep = PgAuditLog(url, key=None).verify(expect_head=recs[-1].hash)
    assert rep.ok and rep.records == 2 and rep.expected_head_seq == 2


# ------------------------------------------------------------------ a stalled teammate


def test_a_teammate_holding_the_write_lock_costs_seconds_not_the_page(
    cluster: PgCluster, url: str, _aisre_home: Path
) -> None:
    """QA 2026-12-03: a client that stalls holding the team store's write lock (a laptop
    suspended mid-transaction) made every triage and `change record` wait forever, with
    no output. Lock waits are bounded: the write goes to the spool, triage answers."""
    import psycopg

    from aisre_cli.memory.backend import PG_WRITE_LOCK

    _config(_aisre_home, url)
    env = {"AISRE_MEMORY_TOKEN": cluster.app_password}
    dbname = url.rsplit("/", 1)[1]
    with psycopg.connect(cluster.dsn(dbname)) as holder:
        holder.execute(f"SELECT pg_advisory_lock({int(PG_WRITE_LOCK)})")
        t0 = time.monotonic()
        p = _aisre(_aisre_home, "triage", "--json", env=env)
        took = time.monotonic() - t0
        assert p.returncode == 0, p.stderr
        assert json.loads(p.stdout)["hypotheses"]
        assert "kept in the local spool" in p.stderr, p.stderr
        assert took < 120  # bounded (5 s lock timeout); it used to hang until killed
        c = _aisre(_aisre_home, "change", "record", "--service", "checkout", env=env)
        assert c.returncode == 0, c.stderr
        assert memory_spool().status().depth == 2
    p = _aisre(_aisre_home, "memory", "sync", env=env)  # the lock is gone: it drains
    assert p.returncode == 0, p.stderr
    assert memory_spool().status().depth == 0
    assert _rows(url, "SELECT count(*) FROM changes")[0][0] == 1


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("password=hunter2hunter2", "auth set memory"),
        ("passfile=/tmp/x", "auth set memory"),
        ("host=evil.example", "allowed options"),
        ("options=-c%20search_path%3Dx", "allowed options"),
    ],
)
def test_a_memory_url_may_not_smuggle_libpq_options(query: str, said: str) -> None:
    """QA 2026-12-03: `?password=…` was passed to libpq and used, although a password in
    the URL is refused; any libpq option could be injected through the query string."""
    from aisre_cli.memory.backend import MemoryStoreError, parse_pg_url

    with pytest.raises(MemoryStoreError) as err:
        parse_pg_url(f"postgresql://aisre@127.0.0.1:5432/team?{query}")
    assert "not allowed in the URL" in err.value.message
    assert said in (err.value.hint or "")
    assert "hunter2" not in err.value.message


def test_a_memory_url_keeps_its_tls_options(cluster: PgCluster, url: str) -> None:
    """The allowed options reach libpq decoded (sslmode=disable works on loopback)."""
    st = MemoryStore(location=location_for(url + "?sslmode=disable&keepalives=1"))
    try:
        assert st.db.query("SHOW lock_timeout")[0][0] == "5s"
    finally:
        st.close()


def test_offline_and_refused_writes_say_where_they_went(
    cluster: PgCluster, url: str, _aisre_home: Path
) -> None:
    """QA 2026-12-03: offline, `change record` said it wrote to the database; with a
    wrong password, triage's note did not say the incident went unrecorded, nor how to
    fix it. Since 2026-12-04 a refused password no longer costs the page its record:
    triage keeps the incident in the spool and says it waits for the password, which
    the next command with the right one sends; `change record` still fails (exit 4)."""
    _config(_aisre_home, url)
    wrong = {"AISRE_MEMORY_TOKEN": "wrong-" + secrets.token_hex(4)}
    p = _aisre(_aisre_home, "triage", env=wrong)
    assert p.returncode == 0, p.stderr
    assert "refused the password" in p.stderr and "aisre auth set memory" in p.stderr
    assert "kept in the local spool" in p.stderr
    assert "not recorded" not in p.stderr
    assert memory_spool().status().depth == 1
    c = _aisre(_aisre_home, "change", "record", "--service", "checkout", env=wrong)
    assert c.returncode == 4, c.stderr  # a pipeline's deploy is not queued behind a bad secret
    assert memory_spool().status().depth == 1
    env = {"AISRE_MEMORY_TOKEN": cluster.app_password}
    s = _aisre(_aisre_home, "memory", "sync", env=env)
    assert s.returncode == 0, s.stderr
    assert memory_spool().status().depth == 0
    assert _rows(url, "SELECT count(*) FROM incidents")[0][0] == 1  # the page's incident

    cluster.stop_server("fast")
    c = _aisre(_aisre_home, "change", "record", "--service", "checkout", env=env)
    assert c.returncode == 0, c.stderr
    assert "in the local spool, for postgresql://" in c.stderr
    assert "is unreachable" in c.stderr  # and why it went there
