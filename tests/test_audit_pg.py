"""The team audit trail on a real PostgreSQL (govern/audit_pg.py).

Chain and HMAC, concurrent writers (one chain, no fork), the roles and grants of
docs/team-mode.md run as written (insert-only tool role), and tampering by a superuser
found by verify. Server faults (stopped mid-run, kill -9 during a replay) are in
tests/test_team_faults.py.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from aisre_cli.errors import AisreError
from aisre_cli.govern.audit import GENESIS, AuditError
from aisre_cli.govern.audit_pg import TABLE, PgAuditLog

if TYPE_CHECKING:
    from tests.pg import PgCluster

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs" / "team-mode.md"


def _db(url: str) -> str:
    return url.rsplit("/", 1)[1]


def migrate(url: str) -> None:
    """Create the team schema (the memory tables and the audit table) as the owner."""
    from aisre_cli.memory.storage import open_store

    open_store(memory_url=url).close()


@pytest.fixture
def team(pg_url: str) -> str:
    migrate(pg_url)
    return pg_url


def test_append_chain_and_verify(team: str) -> None:
    log = PgAuditLog(team, key=None)
    recs = [log.append("intent", {"step": f"s{i}"}, run="r-1") for i in range(5)]
    assert [r.seq for r in recs] == [1, 2, 3, 4, 5]
    assert recs[0].prev == GENESIS and recs[1].prev == recs[0].hash
    assert log.head() == (5, recs[-1].hash)
    assert [r.data["step"] for r in log.records()] == [f"s{i}" for i in range(5)]
    rep = log.verify()
    assert rep.ok and rep.records == 5 and rep.head == recs[-1].hash and rep.mac == "off"
    rep = log.verify(expect_head=recs[2].hash[:16])
    assert rep.ok and rep.expected_head_seq == 3
    rep = log.verify(expect_head="ab" * 10)
    assert not rep.ok and "not a record" in (rep.problem.reason if rep.problem else "")
    log.close()


def test_hmac_chain(team: str) -> None:
    key = secrets.token_bytes(32)
    log = PgAuditLog(team, key=key)
    for i in range(3):
        log.append("intent", {"i": i})
    rep = log.verify()
    assert rep.ok and rep.mac == "checked"
    other = PgAuditLog(team, key=b"another key")
    rep = other.verify()
    assert not rep.ok and rep.problem is not None and "MAC" in rep.problem.reason
    assert PgAuditLog(team, key=None).verify().mac == "unchecked"


def test_missing_table_is_a_clear_error(pg_url: str) -> None:
    log = PgAuditLog(pg_url, key=None)
    with pytest.raises(AuditError, match="audit table is missing") as ei:
        log.append("intent", {})
    assert "aisre memory migrate" in (ei.value.hint or "")


def test_bad_password_is_an_auth_error_without_the_password(
    team: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "not-the-password-" + secrets.token_hex(4)
    monkeypatch.setenv("AISRE_MEMORY_TOKEN", wrong)
    log = PgAuditLog(team, key=None)
    with pytest.raises(AisreError) as ei:
        log.append("intent", {})
    assert wrong not in str(ei.value) and wrong not in (ei.value.hint or "")
    assert "aisre auth set memory" in (ei.value.hint or "")
    assert int(ei.value.exit_code) == 4


def test_concurrent_writers_make_one_chain(pg_cluster: PgCluster, team: str) -> None:
    writers, each = 6, 25
    code = (
        "import sys; from aisre_cli.govern.audit_pg import PgAuditLog\n"
        "log = PgAuditLog(sys.argv[1], key=None)\n"
        "for i in range(int(sys.argv[3])):\n"
        "    log.append('intent', {'w': sys.argv[2], 'i': i}, run='r-' + sys.argv[2])\n"
    )
    env = dict(os.environ, AISRE_MEMORY_TOKEN=pg_cluster.app_password)
    procs = [
        subprocess.Popen([sys.executable, "-c", code, team, str(w), str(each)], cwd=REPO, env=env)
        for w in range(writers)
    ]
    assert [p.wait(timeout=600) for p in procs] == [0] * writers
    log = PgAuditLog(team, key=None)
    rep = log.verify()
    assert rep.ok, rep.to_dict()
    assert rep.records == writers * each
    recs = list(log.records())
    assert [r.seq for r in recs] == list(range(1, writers * each + 1))
    for w in range(writers):  # each writer's records in its own order, none lost
        assert [r.data["i"] for r in recs if r.data["w"] == str(w)] == list(range(each))


# ------------------------------------------------------------------ docs/team-mode.md


def _doc_steps() -> dict[int, str]:
    text = DOCS.read_text(encoding="utf-8")
    out: dict[int, str] = {}
    for block in re.findall(r"```sql\n(.*?)```", text, flags=re.S):
        m = re.match(r"-- step (\d+)", block)
        assert m, f"every sql block of {DOCS.name} starts with '-- step N': {block[:40]!r}"
        out[int(m.group(1))] = block
    assert sorted(out) == [1, 2, 3, 4]
    return out


def _run(dsn: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as c:
        for stmt in (s.strip() for s in sql.split(";")):
            body = "\n".join(x for x in stmt.splitlines() if not x.strip().startswith("--"))
            if body.strip():
                c.execute(body)  # type: ignore[arg-type]


@dataclass
class _Roles:
    """Fresh names for the documented roles and database (one set per test), and the
    docs' SQL with them put in."""

    owner: str = field(default_factory=lambda: f"aisre_owner_{secrets.token_hex(3)}")
    tool: str = field(default_factory=lambda: f"aisre_tool_{secrets.token_hex(3)}")
    db: str = field(default_factory=lambda: f"aisre_{secrets.token_hex(3)}")
    pw_owner: str = field(default_factory=lambda: secrets.token_hex(8))
    pw_tool: str = field(default_factory=lambda: secrets.token_hex(8))

    steps: dict[int, str] = field(default_factory=dict)

    @classmethod
    def created(cls, cluster: PgCluster) -> _Roles:
        """New names, with the docs' steps 1 and 2 run as a superuser."""
        r = cls(steps=_doc_steps())
        _run(cluster.dsn("postgres"), r.sub(r.steps[1]))
        _run(cluster.dsn(r.db), r.sub(r.steps[2]))
        return r

    @property
    def names(self) -> tuple[str, str, str, str, str]:
        return self.owner, self.tool, self.db, self.pw_owner, self.pw_tool

    def sub(self, sql: str) -> str:
        sql = sql.replace("'change-me-owner'", f"'{self.pw_owner}'")
        sql = sql.replace("'change-me-tool'", f"'{self.pw_tool}'")
        sql = re.sub(r"\baisre_owner\b", self.owner, sql)
        sql = re.sub(r"\baisre_tool\b", self.tool, sql)
        return re.sub(r"DATABASE aisre\b", f"DATABASE {self.db}", sql)


def test_documented_roles_make_the_audit_insert_only(
    pg_cluster: PgCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    roles = _Roles.created(pg_cluster)  # steps 1 and 2 of the docs, as a superuser
    steps, sub = roles.steps, roles.sub
    owner, tool, db, pw_owner, pw_tool = roles.names
    base = f"postgresql://{{}}:{{}}@127.0.0.1:{pg_cluster.port}/"
    monkeypatch.setenv("AISRE_MEMORY_TOKEN", pw_owner)
    migrate(f"postgresql://{owner}@127.0.0.1:{pg_cluster.port}/{db}")  # `memory migrate`
    _run(base.format(owner, pw_owner) + db, sub(steps[3]))
    _run(base.format(owner, pw_owner) + db, sub(steps[4]))

    # the tool role appends and reads through the normal path
    monkeypatch.setenv("AISRE_MEMORY_TOKEN", pw_tool)
    url = f"postgresql://{tool}@127.0.0.1:{pg_cluster.port}/{db}"
    log = PgAuditLog(url, key=None)
    for i in range(3):
        log.append("intent", {"i": i})
    assert log.verify().ok
    log.close()
    # ... and uses the memory (steps 2 and 4): opens it (schema current, nothing to
    # migrate), records, reads back
    from aisre_cli.memory.storage import StoreChangeFeed, open_store

    with open_store(memory_url=url, spool=False) as st:
        c = StoreChangeFeed(st).record(service="checkout", version="v2")
        assert [x.id for x in st.changes(c.ts - timedelta(minutes=1), c.ts)] == [c.id]

    tool_dsn = base.format(tool, pw_tool) + db
    for sql in (
        f"UPDATE {TABLE} SET event = 'x' WHERE seq = 2",
        f"DELETE FROM {TABLE} WHERE seq = 3",
        f"TRUNCATE {TABLE}",
    ):
        with (
            psycopg.connect(tool_dsn, autocommit=True) as c,
            pytest.raises(psycopg.errors.InsufficientPrivilege),
        ):
            c.execute(sql)  # type: ignore[arg-type]
    # the owner is stopped by the trigger
    with (
        psycopg.connect(base.format(owner, pw_owner) + db, autocommit=True) as c,
        pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"),
    ):
        c.execute(f"DELETE FROM {TABLE} WHERE seq = 3")  # type: ignore[arg-type]
    assert PgAuditLog(url, key=None).verify().records == 3
    pg_cluster.admin(f'DROP DATABASE "{db}" WITH (FORCE)')


def test_an_older_schema_waits_for_the_owner_and_nothing_is_lost(
    pg_cluster: PgCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new aisre on a team store still at an older revision: the tool role may not
    run DDL (the roles above), so it says in one line who must upgrade and how; writes
    wait in the local spool; once the owner has migrated and re-granted (steps 3 and
    4), the tool's next open sends them, once."""
    from aisre_cli.memory.backend import location_for
    from aisre_cli.memory.migrations import REVISIONS, SchemaNeedsOwner
    from aisre_cli.memory.spool import memory_spool
    from aisre_cli.memory.storage import MemoryStore, StoreChangeFeed, open_store
    from aisre_cli.memory.teamstore import OfflineStore

    roles = _Roles.created(pg_cluster)  # steps 1 and 2 of the docs, as a superuser
    steps, sub = roles.steps, roles.sub
    owner, tool, db, pw_owner, pw_tool = roles.names
    owner_dsn = f"postgresql://{owner}:{pw_owner}@127.0.0.1:{pg_cluster.port}/{db}"
    owner_url = f"postgresql://{owner}@127.0.0.1:{pg_cluster.port}/{db}"
    tool_url = f"postgresql://{tool}@127.0.0.1:{pg_cluster.port}/{db}"
    older = REVISIONS[-2]  # what the previous aisre release migrated to
    monkeypatch.setenv("AISRE_MEMORY_TOKEN", pw_owner)
    MemoryStore(location=location_for(owner_url), upto=older).close()
    _run(
        owner_dsn,
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {tool};"
        f" GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {tool}",
    )

    monkeypatch.setenv("AISRE_MEMORY_TOKEN", pw_tool)
    with pytest.raises(SchemaNeedsOwner) as err:
        open_store(memory_url=tool_url, spool=False)
    assert f"revision {older}" in err.value.message and tool in err.value.message
    assert "may not upgrade" in err.value.message
    assert err.value.hint is not None and "aisre memory migrate" in err.value.hint
    assert pw_tool not in err.value.message
    assert _query(owner_dsn, "SELECT version_num FROM alembic_version") == [(older,)]

    # the spooling store: writes wait, and it says why (the owner's job, not the server's)
    st = open_store(memory_url=tool_url)
    assert isinstance(st, OfflineStore)
    assert any("waits for its owner" in n for n in st.notes)
    StoreChangeFeed(st).record(service="checkout", version="v3")
    assert memory_spool().status().depth == 1

    # `memory status` says so: reachable, the store's revision, who must upgrade it
    # (it said UNREACHABLE, with no schema line, as for a server that is down)
    from tests.test_team_faults import _aisre, _config

    home = Path(os.environ["AISRE_HOME"])
    _config(home, tool_url)
    js = _aisre(home, "memory", "status", "--json")
    assert js.returncode == 3, js.stderr
    doc = json.loads(js.stdout)
    assert doc["reachable"] is True and doc["schema_version"] == older
    assert doc["spool"]["depth"] == 1
    txt = _aisre(home, "memory", "status")
    assert txt.returncode == 3
    assert f"schema:   {older} (this aisre: {REVISIONS[-1]})" in txt.stdout, txt.stdout
    assert "UNREACHABLE" not in txt.stdout + txt.stderr
    assert "hint: " in txt.stderr and "aisre memory migrate" in txt.stderr

    # the owner upgrades and re-grants ...
    monkeypatch.setenv("AISRE_MEMORY_TOKEN", pw_owner)
    MemoryStore(location=location_for(owner_url)).close()  # `memory migrate`, elsewhere
    _run(owner_dsn, sub(steps[3]))
    _run(owner_dsn, sub(steps[4]))
    # ... and the tool's next open sends what waited, once
    monkeypatch.setenv("AISRE_MEMORY_TOKEN", pw_tool)
    with open_store(memory_url=tool_url) as st2:
        assert not isinstance(st2, OfflineStore)
        assert any("sent 1 write(s)" in n for n in getattr(st2, "notes", []))
    assert memory_spool().status().depth == 0
    assert _query(owner_dsn, "SELECT service, version FROM changes") == [("checkout", "v3")]
    pg_cluster.admin(f'DROP DATABASE "{db}" WITH (FORCE)')


def _query(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as c:
        return [tuple(r) for r in c.execute(sql).fetchall()]  # type: ignore[arg-type]


def test_a_cut_tail_is_found_by_the_machine_that_wrote_it(
    pg_cluster: PgCluster, team: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deleting the newest rows leaves a chain that still links; the local anchor of
    the machine that stored them catches it (another machine needs --expect-head)."""
    log = PgAuditLog(team, key=None)
    for i in range(4):
        log.append("intent", {"i": i})
    assert log.verify().ok
    anchor = json.loads(log.anchor_path.read_text())
    assert (anchor["seq"], anchor["log"]) == (4, log.where)
    db = _db(team)
    off, on = (
        f"ALTER TABLE audit_log {x} TRIGGER audit_log_no_update" for x in ("DISABLE", "ENABLE")
    )
    pg_cluster.admin(f"{off}; DELETE FROM audit_log WHERE seq >= 3; {on}", db)
    rep = log.verify()
    assert not rep.ok and rep.problem is not None and rep.records == 2
    assert "record(s) 3..4 missing" in rep.problem.reason
    # the tail rewritten: two new records take seq 3 and 4, the chain links again
    log.append("intent", {"i": 2})
    log.append("intent", {"i": 3})
    rep = log.verify()
    assert not rep.ok and rep.problem is not None and rep.problem.line == 4
    assert "rewritten" in rep.problem.reason
    # a machine that never wrote here has no anchor: the chain alone looks intact
    monkeypatch.setenv("AISRE_HOME", str(tmp_path / "other"))
    assert PgAuditLog(team, key=None).verify().ok
    log.close()


def test_later_appends_do_not_move_the_anchor_past_a_cut(pg_cluster: PgCluster, team: str) -> None:
    """The anchor moved forward over a cut tail once this machine wrote past the old
    head again, and `audit verify` then said ok: the evidence was gone. An append now
    checks, under the chain's lock, that the anchored record is still there unchanged;
    when it is not, the record is stored, the anchor stays, verify keeps failing, and
    `integrity_warning` says so (a run shows it with the audit head)."""
    log = PgAuditLog(team, key=None)
    for i in range(4):
        log.append("intent", {"i": i})
    assert log.integrity_warning == ""
    db = _db(team)
    off, on = (
        f"ALTER TABLE audit_log {x} TRIGGER audit_log_no_update" for x in ("DISABLE", "ENABLE")
    )
    pg_cluster.admin(f"{off}; DELETE FROM audit_log WHERE seq >= 3; {on}", db)
    for i in range(5):  # well past the old head (seq 4): the old code moved to 7
        rec = log.append("intent", {"after": i})
    assert rec.seq == 7
    anchor = json.loads(log.anchor_path.read_text())
    assert anchor["seq"] == 4
    rep = log.verify()
    assert not rep.ok and rep.problem is not None and "rewritten" in rep.problem.reason
    assert "record 4 (" in log.integrity_warning and "was rewritten" in log.integrity_warning
    assert "audit verify" in log.integrity_warning
    # a fresh process (no warning carried over) finds it on its first append too
    again = PgAuditLog(team, key=None)
    again.append("intent", {"later": 1})
    assert again.integrity_warning and json.loads(again.anchor_path.read_text())["seq"] == 4
    # the anchored record deleted outright: "is gone", and the anchor still stays
    pg_cluster.admin(f"{off}; DELETE FROM audit_log WHERE seq >= 4; {on}", db)
    gone = PgAuditLog(team, key=None)
    gone.append("intent", {"x": 1})
    assert "record 4 (" in gone.integrity_warning and "is gone" in gone.integrity_warning
    assert json.loads(gone.anchor_path.read_text())["seq"] == 4
    log.close()
    again.close()
    gone.close()


@pytest.mark.parametrize(
    "tamper, reason",
    [
        (
            "UPDATE audit_log SET record = replace(record, '\"i\":1', '\"i\":7') WHERE seq = 2",
            "does not match its hash",
        ),
        ("UPDATE audit_log SET event = 'result' WHERE seq = 2", "columns do not match"),
        ("DELETE FROM audit_log WHERE seq = 2", "sequence 3, expected 2"),
    ],
)
def test_superuser_tampering_is_found(
    pg_cluster: PgCluster, team: str, tamper: str, reason: str
) -> None:
    log = PgAuditLog(team, key=None)
    for i in range(4):
        log.append("intent", {"i": i})
    assert log.verify().ok
    pg_cluster.admin(
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update;"
        f" {tamper}; ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update",
        _db(team),
    )
    rep = log.verify()
    assert not rep.ok and rep.problem is not None
    assert rep.problem.line == 2 and reason in rep.problem.reason
    assert rep.records == 1


def test_an_append_under_a_held_lock_waits_then_chains(pg_cluster: PgCluster, team: str) -> None:
    """Another writer inside its transaction holds the chain's lock: our append queues
    behind it instead of forking the chain from the same head."""
    import threading

    import psycopg

    from aisre_cli.govern.audit_pg import AUDIT_LOCK

    log = PgAuditLog(team, key=None)
    log.append("intent", {"i": 0})
    holder = psycopg.connect(pg_cluster.dsn(_db(team), user="aisre"))
    holder.execute("SELECT pg_advisory_xact_lock(%s)", (AUDIT_LOCK,))
    out: list[Any] = []
    t = threading.Thread(target=lambda: out.append(PgAuditLog(team, key=None).append("x", {})))
    t.start()
    t.join(timeout=2)
    assert t.is_alive() and not out  # queued on the lock
    holder.rollback()
    holder.close()
    t.join(timeout=120)
    assert out and out[0].seq == 2
    assert log.verify().ok
