"""QA pass on team mode from the CLI (session 4): a real PostgreSQL per module.

* a typo in a memory_url option (`sslmode=requier`) was "unreachable" (exit 3) and every
  write waited in the local spool for a connection that could never be made;
* a role without grants was told "see the PostgreSQL server log";
* a NUL character in a spooled write (a change feed line with `\\u0000`) blocked the
  spool for good: PostgreSQL text cannot hold it, every replay failed (exit 2);
* two team profiles on one machine share the spool: what was spooled for one store was
  replayed into the other (memory writes and audit records);
* `aisre memory status` with the server stopped mid-command: an internal error (exit 1);
* `aisre change record` said "recorded … in postgresql://…" for a change that waited in
  the spool behind older writes, and its --json did not say it was spooled;
* `aisre memory migrate` as a tool role: exit 3 ("unreachable") with a hint about the
  spool; with a bad --from it upgraded the target's schema before failing; its --json
  had no `copied.memory` without a local memory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from aisre_cli.errors import ExitCode
from aisre_cli.govern.audit import AuditRecord
from aisre_cli.govern.audit_pg import PgAuditLog
from aisre_cli.govern.team import open_team_audit, sync
from aisre_cli.memory.backend import (
    MemoryStoreError,
    MemoryUnavailable,
    connect,
    location_for,
    parse_pg_url,
)
from aisre_cli.memory.spool import audit_spool, memory_spool, store_key
from aisre_cli.memory.storage import MemoryStore, open_store
from aisre_cli.memory.teamstore import OfflineStore, TeamStore
from aisre_cli.model import Change
from aisre_cli.settings.config import Profile

if TYPE_CHECKING:
    from tests.pg import PgCluster

REPO = Path(__file__).resolve().parent.parent


def _profile(url: str) -> Profile:
    return Profile(environment="demo", memory_url=url)


def _change(cid: str, summary: str = "deploy") -> Change:
    return Change(
        id=cid,
        source="test",
        ts=datetime(2026, 3, 1, tzinfo=UTC),
        service="checkout",
        kind="deploy",
        summary=summary,
        version="v1",
    )


def _rows(url: str, sql: str) -> list[Any]:
    with MemoryStore(location=location_for(url)) as st:
        return list(st.db.query(sql))


def _config(home: Path, **profiles: str) -> None:
    cfg = home / "config" / "config.yaml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(
        f"  {name}:\n    environment: demo\n    memory_url: {json.dumps(u)}\n"
        for name, u in profiles.items()
    )
    first = next(iter(profiles))
    cfg.write_text(f"version: 1\ndefault_profile: {first}\nprofiles:\n{body}")


def _aisre(home: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "aisre_cli", *args],
        cwd=REPO,
        env={
            **os.environ,
            "AISRE_HOME": str(home),
            "AISRE_RAISE_ERRORS": "0",
            "NO_COLOR": "1",
            "COLUMNS": "200",
            **(env or {}),
        },
        capture_output=True,
        text=True,
        timeout=300,
    )


# ------------------------------------------------------------------ memory_url options


@pytest.mark.parametrize(
    "query", ["sslmode=requier", "channel_binding=bogus", "keepalives=abc", "gssencmode=on"]
)
def test_an_invalid_url_option_value_is_a_config_error_not_an_outage(query: str) -> None:
    with pytest.raises(MemoryStoreError) as err:
        parse_pg_url(f"postgresql://aisre@127.0.0.1:5432/team?{query}")
    assert not isinstance(err.value, MemoryUnavailable)
    assert err.value.exit_code == ExitCode.USAGE
    assert query.split("=")[0] in (err.value.hint or "")


def test_options_libpq_refuses_are_a_config_error(cluster: PgCluster, url: str) -> None:
    """Values each valid alone, refused together by libpq before connecting."""
    with pytest.raises(MemoryStoreError) as err:
        connect(location_for(url + "?sslnegotiation=direct&sslmode=prefer"))
    assert not isinstance(err.value, MemoryUnavailable)
    assert "memory_url" in (err.value.hint or "")


def test_change_record_with_an_option_typo_fails_instead_of_spooling(
    cluster: PgCluster, url: str, _aisre_home: Path
) -> None:
    _config(_aisre_home, team=url + "?sslmode=requier")
    p = _aisre(_aisre_home, "change", "record", "-s", "checkout", "--version", "v1")
    assert p.returncode == 2, p.stdout + p.stderr
    assert "sslmode" in p.stderr and "Traceback" not in p.stderr
    assert memory_spool().status().depth == 0


# ------------------------------------------------------------------ a role without grants


def test_a_role_without_grants_is_told_which_grants(
    cluster: PgCluster, url: str, _aisre_home: Path
) -> None:
    cluster.admin(f"CREATE ROLE qa_nogrant LOGIN PASSWORD '{cluster.app_password}'")
    try:
        bare = url.replace("//aisre@", "//qa_nogrant@")
        _config(_aisre_home, team=bare)
        p = _aisre(_aisre_home, "memory", "status")
        assert p.returncode == 2, p.stdout + p.stderr
        err = [ln for ln in p.stderr.splitlines() if ln.startswith("hint:")]
        assert err and "docs/team-mode.md" in err[0], p.stderr
        assert "qa_nogrant" in p.stderr and cluster.app_password not in p.stdout + p.stderr
    finally:
        cluster.admin("DROP OWNED BY qa_nogrant; DROP ROLE qa_nogrant", url.rsplit("/", 1)[1])


# ------------------------------------------------------------------ NUL characters


def test_a_nul_character_neither_fails_a_write_nor_blocks_the_spool(
    cluster: PgCluster, url: str
) -> None:
    prof = _profile(url)
    with open_store(profile=prof) as st:
        assert isinstance(st, TeamStore)
        st.record_change(_change("chg-live", "a\x00b"))  # refused by PostgreSQL before
    cluster.stop_server("fast")
    off = open_store(profile=prof)
    assert isinstance(off, OfflineStore)
    off.record_change(_change("chg-spooled", "c\x00d"))
    off.record_change(_change("chg-after"))
    cluster.start_again()
    res = sync(prof)
    assert (res.memory.replayed, res.memory.remaining, res.memory.stopped) == (2, 0, None)
    rows = dict(_rows(url, "SELECT id, summary FROM changes"))
    assert rows == {"chg-live": "a\\x00b", "chg-spooled": "c\\x00d", "chg-after": "deploy"}


# ------------------------------------------------------------------ two team stores


def test_a_write_spooled_for_one_team_store_is_never_sent_to_another(
    cluster: PgCluster, url: str, _aisre_home: Path
) -> None:
    """Each team store has its own spool: prod's spooled writes wait in prod's spool
    and go to prod only; staging's never wait behind them (they used to: one spool
    for the machine, its head for another store held the rest)."""
    prod, staging = url, cluster.create_database()
    MemoryStore(location=location_for(staging)).close()
    cluster.stop_server("fast")
    off = open_store(profile=_profile(prod))
    assert isinstance(off, OfflineStore)
    off.record_change(_change("chg-prod"))
    log = open_team_audit(_profile(prod))
    log.append("intent", {"for": "prod"})
    assert log.last_spooled
    log.close()
    cluster.start_again()

    st = open_store(profile=_profile(staging))
    assert isinstance(st, TeamStore)
    assert not any("recorded for the team store" in n for n in st.notes), st.notes
    st.record_change(_change("chg-staging"))  # straight to staging: nothing ahead of it
    st.close()
    assert [r[0] for r in _rows(staging, "SELECT id FROM changes")] == ["chg-staging"]
    res = sync(_profile(staging))
    assert res.memory.replayed == 0 and res.audit.replayed == 0
    assert not res.memory.stopped and not res.audit.stopped
    assert _rows(staging, "SELECT count(*) FROM audit_log")[0][0] == 0

    res = sync(_profile(prod))  # prod's profile sends prod's spool
    assert (res.memory.replayed, res.memory.remaining) == (1, 0)
    assert res.audit.replayed == 1
    assert [r[0] for r in _rows(prod, "SELECT id FROM changes")] == ["chg-prod"]
    assert [r[0] for r in _rows(staging, "SELECT id FROM changes")] == ["chg-staging"]
    assert PgAuditLog(prod, key=None).verify().records == 1
    for u in (prod, staging):
        key = store_key(location_for(u))
        assert memory_spool(key).status().depth == 0 and audit_spool(key).status().depth == 0


def test_a_change_does_not_wait_behind_another_team_store_spooled_write(
    cluster: PgCluster, url: str, _aisre_home: Path
) -> None:
    other = cluster.create_database()
    MemoryStore(location=location_for(other)).close()
    _config(_aisre_home, team=url, other=other)
    p = _aisre(_aisre_home, "change", "record", "-s", "checkout", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["spooled"] is False
    cluster.stop_server("fast")
    p = _aisre(_aisre_home, "change", "record", "-p", "other", "-s", "checkout", "--json")
    assert p.returncode == 0 and json.loads(p.stdout)["spooled"] is True, p.stderr
    cluster.start_again()
    # the team store answers; the other store's spooled write is in that store's spool
    p = _aisre(_aisre_home, "change", "record", "-s", "checkout", "--version", "v2")
    assert p.returncode == 0, p.stderr
    assert "in the local spool" not in p.stderr, p.stderr
    p = _aisre(_aisre_home, "change", "record", "-s", "checkout", "--version", "v3", "--json")
    assert json.loads(p.stdout)["spooled"] is False
    assert [r[0] for r in _rows(other, "SELECT count(*) FROM changes")] == [0]
    p = _aisre(_aisre_home, "memory", "sync", "-p", "other")
    assert p.returncode == 0, p.stderr
    assert [r[0] for r in _rows(other, "SELECT count(*) FROM changes")] == [1]


# ------------------------------------------------------------------ server stopped mid-command


def test_the_audit_count_with_the_server_gone_is_unreachable_not_internal(
    cluster: PgCluster, url: str
) -> None:
    log = PgAuditLog(url, key=None)
    assert log.count() == 0
    cluster.stop_server("fast")
    with pytest.raises(MemoryUnavailable):
        log.count()
    rec = AuditRecord.from_dict(
        {
            "v": 1,
            "seq": 1,
            "ts": "2026-03-01T00:00:00Z",
            "prev": "0" * 64,
            "event": "intent",
            "run": None,
            "actor": "qa",
            "data": {},
            "hash": "f" * 64,
        }
    )
    with pytest.raises(MemoryUnavailable):
        log.import_local(rec)
    log.close()


# ------------------------------------------------------------------ memory migrate


def test_migrate_as_a_role_that_may_not_create_the_schema(
    cluster: PgCluster, url: str, _aisre_home: Path
) -> None:
    name = url.rsplit("/", 1)[1] + "_owned"
    cluster.admin(f'CREATE DATABASE "{name}" OWNER postgres')
    cluster.admin("REVOKE CREATE ON SCHEMA public FROM PUBLIC", name)
    tool = cluster.url(name)
    p = _aisre(_aisre_home, "memory", "migrate", "--to", tool)
    assert p.returncode == 2, p.stdout + p.stderr
    assert "owner" in p.stderr and "spool" not in p.stderr, p.stderr
    p = _aisre(_aisre_home, "memory", "migrate", "--to", tool, env={"AISRE_MEMORY_TOKEN": "x"})
    assert p.returncode == 4 and "--password-name" in p.stderr, p.stderr


def test_migrate_from_a_missing_file_touches_nothing(
    cluster: PgCluster, _aisre_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AISRE_MEMORY_TOKEN", cluster.app_password)
    empty = cluster.create_database()
    p = _aisre(_aisre_home, "memory", "migrate", "--to", empty, "--from", "/nonexistent.db")
    assert p.returncode == 2 and "--from" in p.stderr, p.stderr
    db = connect(location_for(empty))
    try:
        assert db.version_rows() is None  # no schema was created
    finally:
        db.close()


def test_migrate_json_always_has_the_memory_counts(url: str, _aisre_home: Path) -> None:
    p = _aisre(_aisre_home, "memory", "migrate", "--to", url, "--json")
    assert p.returncode == 0, p.stderr
    copied = json.loads(p.stdout)["copied"]
    assert copied["memory"]["added"] == 0 and set(copied) == {"memory", "changes", "audit"}
