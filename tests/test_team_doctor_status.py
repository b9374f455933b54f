"""Team mode, QA pass on doctor, `memory status` and `memory sync` against a real
PostgreSQL (tests/pg.py), through the CLI in a subprocess. Each test names the defect
it pins; each failed before its fix:

A. doctor was all green for a tool role that lacks grants (`memory status`, `change
   record` and runbook runs then fail on "permission denied");
B. writes spooled for another team store (the profile's memory_url changed since) were
   reported as if `aisre memory sync` would send them, on one ~160-column line;
C. `aisre memory sync` exited 3 with nothing to send when the server was down;
D. `aisre doctor > file` was a table hundreds of columns wide, padded with blanks.

These tests own their cluster (module scope), as tests/test_team_qa.py does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from aisre_cli.memory import migrations
from aisre_cli.memory.teamstore import TOOL_PRIVILEGES
from tests.conftest import DEMO
from tests.test_audit_pg import _Roles, _run, migrate
from tests.test_team_faults import _aisre, _rows  # the CLI in a subprocess; SQL as the tool
from tests.test_team_qa import _config

if TYPE_CHECKING:
    from tests.pg import PgCluster

DOWN = "postgresql://aisre@127.0.0.1:9/team"
"""A team store nothing listens on (the discard port): connection refused at once."""
DOWN_KEY = "postgresql://127.0.0.1:9/team"


def _profiles(home: Path, **urls: str) -> None:
    """A config with one bundle profile per name, each with its memory_url; the first
    is the default."""
    cfg = home / "config" / "config.yaml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    body = f"version: 1\ndefault_profile: {next(iter(urls))}\nprofiles:\n"
    for name, url in urls.items():
        body += (
            f"  {name}:\n    environment: demo\n    sources:\n"
            f"      bundle: {json.dumps(str(DEMO))}\n    memory_url: {json.dumps(url)}\n"
        )
    cfg.write_text(body)


def _doctor_json(home: Path, env: dict[str, str]) -> tuple[int, dict[str, object]]:
    p = _aisre(home, "doctor", "--json", env=env)
    return p.returncode, json.loads(p.stdout)


# ------------------------------------------------------------------ A: grants


def test_doctor_fails_with_exit_4_when_the_tool_role_lacks_grants(
    cluster: PgCluster, _aisre_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A: with docs/team-mode.md's owner and tool roles, a revoked grant left doctor at
    `yes yes 0005 (current)`, exit 0, while `memory status` failed on it."""
    roles = _Roles.created(cluster)  # steps 1 and 2 of the docs, as a superuser
    owner, tool, db, pw_owner, pw_tool = roles.names
    owner_dsn = f"postgresql://{owner}:{pw_owner}@127.0.0.1:{cluster.port}/{db}"
    owner_url = f"postgresql://{owner}@127.0.0.1:{cluster.port}/{db}"
    tool_url = f"postgresql://{tool}@127.0.0.1:{cluster.port}/{db}"
    home = _aisre_home
    try:
        monkeypatch.setenv("AISRE_MEMORY_TOKEN", pw_owner)  # the owner's `memory migrate`
        migrate(owner_url)
        _run(owner_dsn, roles.sub(roles.steps[3]))
        _run(owner_dsn, roles.sub(roles.steps[4]))
        as_tool = {"AISRE_MEMORY_TOKEN": pw_tool}
        _config(home, tool_url)

        # the documented grants are enough: green
        code, out = _doctor_json(home, as_tool)
        team = out["team_store"]
        assert isinstance(team, dict)
        assert code == 0 and team["ok"] and team["missing_grants"] == {}, out
        assert team["role"] == tool

        # the QA's revoke: every privilege on changes
        _run(owner_dsn, f"REVOKE ALL ON changes FROM {tool}")
        status = _aisre(home, "memory", "status", env=as_tool)
        assert status.returncode == 2 and "permission denied" in status.stdout  # as found
        code, out = _doctor_json(home, as_tool)
        team = out["team_store"]
        assert isinstance(team, dict)
        assert code == 4, out
        assert team["ok"] is False and team["authenticated"] is True
        assert team["schema_version"] == migrations.HEAD
        assert team["missing_grants"] == {"changes": ["SELECT", "INSERT"]}
        assert team["detail"] == f"the role {tool} lacks SELECT, INSERT on changes"
        assert "docs/team-mode.md steps 3 and 4" in team["hint"]
        sources = out["sources"]
        assert isinstance(sources, list)
        row = next(s for s in sources if s["source"] == "team-memory")
        assert row["ok"] is False and "lacks SELECT, INSERT on changes" in row["detail"]
        text = _aisre(home, "doctor", env=as_tool)
        assert text.returncode == 4, text.stdout + text.stderr
        assert "lacks SELECT, INSERT on changes" in text.stdout
        assert "steps 3 and 4" in text.stdout

        # the audit trail's INSERT, and the incidents' sequence, are checked too
        _run(owner_dsn, roles.sub(roles.steps[4]))  # re-granted
        _run(owner_dsn, f"REVOKE INSERT ON audit_log FROM {tool}")
        _run(owner_dsn, f"REVOKE USAGE ON SEQUENCE incidents_id_seq FROM {tool}")
        code, out = _doctor_json(home, as_tool)
        team = out["team_store"]
        assert isinstance(team, dict)
        assert code == 4, out
        assert team["missing_grants"] == {"audit_log": ["INSERT"], "incidents_id_seq": ["USAGE"]}

        # the owner (a single-role setup) has every privilege on what it owns
        _config(home, owner_url)
        code, out = _doctor_json(home, {"AISRE_MEMORY_TOKEN": pw_owner})
        team = out["team_store"]
        assert isinstance(team, dict)
        assert code == 0 and team["ok"] and team["missing_grants"] == {}, out
    finally:
        cluster.admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def test_the_checked_grants_cover_every_table_of_the_schema(url: str) -> None:
    """A: a table a migration adds must be in `TOOL_PRIVILEGES`, or doctor would not
    see a grant on it missing (the owner re-grants after each migration)."""
    tables = {
        str(r[0])
        for r in _rows(
            url,
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema()",
        )
    }
    assert tables == {t for t, _ in TOOL_PRIVILEGES}


# ------------------------------------------------------------------ B: another store


def test_status_and_doctor_say_who_sends_writes_spooled_for_another_store(
    url: str, _aisre_home: Path
) -> None:
    """B: writes spooled while memory_url named another store were reported as sent by
    `aisre memory sync`, which sent 0; the store showed only in --json."""
    home = _aisre_home
    _profiles(home, team=DOWN)
    p = _aisre(home, "change", "record", "--service", "checkout", "--version", "v1", "--spool")
    assert p.returncode == 0 and "local spool" in p.stderr, p.stderr
    _profiles(home, team=url)  # memory_url fixed to the real server

    st = _aisre(home, "memory", "status")
    assert st.returncode == 0, st.stdout + st.stderr
    text = st.stdout
    assert "`aisre memory sync` sends them" not in text
    flat = " ".join(text.split())
    assert f"store {DOWN_KEY}: 1 waiting" in text
    assert "not this profile's store" in flat and "does not send them" in flat
    assert "no profile's memory_url names it" in flat
    assert "`aisre memory sync --profile NAME`" in text  # kept whole, never wrapped
    sp = json.loads(_aisre(home, "memory", "status", "--json").stdout)["spool"]
    (entry,) = sp["stores"]
    assert entry["store"] == DOWN_KEY and entry["this_profile"] is False
    assert entry["profiles"] == [] and sp["profile_store"] != DOWN_KEY
    assert entry["dir"] in flat  # where to inspect them
    for line in text.splitlines():  # readable at 80 columns: only a path may overflow
        assert len(line) <= 80 or len(line.split()) == 1, line

    s = _aisre(home, "memory", "sync")
    assert s.returncode == 0, s.stderr
    assert f"wait for another team store, {DOWN_KEY}" in " ".join(s.stderr.split())

    doc = _aisre(home, "doctor")
    assert doc.returncode == 0, doc.stdout + doc.stderr
    spool = doc.stdout[doc.stdout.index("spool:") :]
    assert f"store {DOWN_KEY}: 1 waiting" in spool
    assert "no profile's memory_url names it" in " ".join(spool.split())
    for line in spool.splitlines():
        assert len(line) <= 80 or len(line.split()) == 1, line

    # a profile that names the old store: that profile's sync is the way
    _profiles(home, team=url, old=DOWN)
    st = _aisre(home, "memory", "status")
    flat = " ".join(st.stdout.split())
    assert "`aisre memory sync --profile old` does." in flat, st.stdout
    assert "no profile's memory_url" not in flat
    # ... and for that profile the writes are its own: the usual line
    st = _aisre(home, "memory", "status", "--profile", "old")
    assert "`aisre memory sync` sends them" in st.stdout and "not this" not in st.stdout


# ------------------------------------------------------------------ C: sync, server down


def test_sync_with_nothing_to_send_exits_0_when_the_server_is_down(
    cluster: PgCluster, url: str, _aisre_home: Path
) -> None:
    """C: `memory sync` printed `0 left in the spool` and exited 3; its help and the
    docs promise 0 when the spool is empty afterwards. 3 is for writes left in it."""
    home = _aisre_home
    _config(home, url)
    cluster.stop_server("fast")
    try:
        s = _aisre(home, "memory", "sync")
        assert s.returncode == 0, s.stdout + s.stderr
        assert "0 left in the spool" in s.stdout
        assert "nothing was waiting to be sent" in s.stderr and "unreachable" in s.stderr
        s = _aisre(home, "memory", "sync", "--json")
        assert s.returncode == 0 and json.loads(s.stdout)["remaining"] == 0

        p = _aisre(home, "change", "record", "--service", "checkout", "--spool")
        assert p.returncode == 0 and "local spool" in p.stderr, p.stderr
        s = _aisre(home, "memory", "sync")
        assert s.returncode == 3, s.stdout + s.stderr  # a write stays spooled
        assert "1 left in the spool" in s.stdout and "stopped" in s.stderr
    finally:
        cluster.start_again()
    s = _aisre(home, "memory", "sync")
    assert s.returncode == 0 and "sent 1 memory write(s)" in s.stdout, s.stderr


# ------------------------------------------------------------------ D: doctor > file


def test_doctor_into_a_file_is_not_padded(
    url: str, _aisre_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """D: into a pipe (no terminal, no width) every line of doctor's table was padded
    with blanks to its widest row (289 columns: the fix of one source), a fix's hint
    indented by a hundred blanks on a line of its own."""
    _config(_aisre_home, url)
    monkeypatch.delenv("COLUMNS", raising=False)  # `aisre doctor > file`: no width
    p = _aisre(_aisre_home, "doctor", env={"AISRE_MEMORY_TOKEN": "wrong-password"})
    assert p.returncode == 4, p.stdout + p.stderr
    lines = p.stdout.splitlines()
    assert all(line == line.rstrip() for line in lines), p.stdout  # no trailing blanks
    assert not any(line.startswith(" " * 20) for line in lines), p.stdout  # no indented hint
    row = next(x for x in lines if x.lstrip().startswith("team-memory"))
    longest = len(row)  # the one row with a fix: content, not padding
    assert "refused the password" in row and "aisre auth set memory" in row  # one line
    for name in ("source", "bundle"):  # the other rows end at their last cell
        line = next(x for x in lines if x.lstrip().startswith(name))
        assert len(line) < longest - 60, p.stdout
    assert all(len(x) < longest - 60 for x in lines if x != row), p.stdout  # no wide rule

    # with a width exported (COLUMNS=80): wrapped to it, fixes under the table, unpadded
    p = _aisre(_aisre_home, "doctor", env={"AISRE_MEMORY_TOKEN": "wrong-password", "COLUMNS": "80"})
    assert p.returncode == 4, p.stdout + p.stderr
    lines = p.stdout.splitlines()
    assert all(line == line.rstrip() for line in lines), p.stdout
    assert all(len(x) <= 80 for x in lines), p.stdout
    assert any(x.startswith("team-memory: ") for x in lines), p.stdout
