"""Team mode, QA pass 2026-12: doctor's team-store row, a damaged spool and its
recovery, confirmed causes that meet a teammate's, `incident resolve` with the server
down, and a team store whose schema is newer than this aisre. On a real PostgreSQL
that the tests stop and restart (tests/pg.py), through the CLI in a subprocess.

Each test names the defect it pins (A-E of the QA report); each failed before its fix.
These tests own their cluster (module scope), as tests/test_team_faults.py does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from aisre_cli.memory import migrations
from aisre_cli.memory.spool import Spool, memory_spool
from tests.conftest import DEMO
from tests.test_team_faults import _aisre, _rows  # the CLI in a subprocess; SQL as the tool

if TYPE_CHECKING:
    from tests.pg import PgCluster

REPO = Path(__file__).resolve().parent.parent


def _config(home: Path, url: str, *, bundle: bool = True) -> None:
    cfg = home / "config" / "config.yaml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    sources = f"    sources:\n      bundle: {json.dumps(str(DEMO))}\n"
    if not bundle:  # a live profile whose one source is down (connection refused)
        sources = (
            "    sources:\n      prometheus:\n        url: http://127.0.0.1:9\n"
            "        http:\n          retries: 0\n"
        )
    cfg.write_text(
        "version: 1\ndefault_profile: team\nprofiles:\n  team:\n    environment: demo\n"
        f"{sources}    memory_url: {json.dumps(url)}\n"
    )


def _raw(cluster: PgCluster, url: str, sql: str) -> list[Any]:
    """As the superuser, past the schema check (a schema newer than aisre)."""
    import psycopg

    with psycopg.connect(cluster.dsn(url.rsplit("/", 1)[1]), autocommit=True) as conn:
        cur = conn.execute(cast(Any, sql))  # test SQL, no parameters
        return list(cur.fetchall()) if cur.description else []


def _set_revision(cluster: PgCluster, url: str, rev: str) -> None:
    _raw(cluster, url, f"UPDATE alembic_version SET version_num = '{rev}'")


def _damage_line(sp: Spool, index: int) -> bytes:
    """Flip a byte inside one spool line (its checksum no longer matches)."""
    lines = sp.path.read_bytes().splitlines(keepends=True)
    bad = lines[index].replace(b'"service":"checkout"', b'"service":"checkoux"')
    assert bad != lines[index]
    lines[index] = bad
    sp.path.write_bytes(b"".join(lines))
    return bad


def _spooled_changes(cluster: PgCluster, home: Path, n: int) -> None:
    cluster.stop_server("fast")
    for i in range(n):
        p = _aisre(home, "change", "record", "--service", "checkout", "--version", f"v{i}")
        assert p.returncode == 0 and "local spool" in p.stderr, p.stderr
    cluster.start_again()


# ------------------------------------------------------------------ A: doctor


def test_doctor_checks_the_team_store_of_a_bundle_profile(
    cluster: PgCluster, url: str, _aisre_home: Path
) -> None:
    """A: doctor said nothing about the team store and exited 0 whatever its state."""
    home = _aisre_home
    _config(home, url)
    p = _aisre(home, "doctor", "--json")
    assert p.returncode == 0, p.stdout + p.stderr
    out = json.loads(p.stdout)
    team = out["team_store"]
    assert team["ok"] and team["reachable"] and team["authenticated"]
    assert team["schema_version"] == team["schema_head"] == migrations.HEAD
    assert isinstance(team["latency_ms"], float) and team["latency_ms"] >= 0
    row = next(s for s in out["sources"] if s["source"] == "team-memory")
    assert row["ok"] and row["version"] == f"{migrations.HEAD} (current)"
    text = _aisre(home, "doctor")
    assert text.returncode == 0 and "team-memory" in text.stdout, text.stdout

    wrong = _aisre(home, "doctor", "--json", env={"AISRE_MEMORY_TOKEN": "wrong-password"})
    assert wrong.returncode == 4, wrong.stdout + wrong.stderr
    team = json.loads(wrong.stdout)["team_store"]
    assert team["reachable"] and team["authenticated"] is False and not team["ok"]
    assert "refused the password" in team["detail"] and "auth set memory" in team["hint"]
    assert "wrong-password" not in wrong.stdout + wrong.stderr

    _set_revision(cluster, url, "0999_from_the_future")
    newer = _aisre(home, "doctor", "--json")
    assert newer.returncode == 3, newer.stdout
    team = json.loads(newer.stdout)["team_store"]
    assert team["schema_version"] == "0999_from_the_future" and "newer" in team["detail"]
    assert "upgrade aisre" in team["hint"]

    cluster.stop_server("fast")
    down = _aisre(home, "doctor", "--json")
    assert down.returncode == 3, down.stdout + down.stderr
    team = json.loads(down.stdout)["team_store"]
    assert team["reachable"] is False and "unreachable" in team["detail"]
    down = _aisre(home, "doctor")
    assert down.returncode == 3 and "team-memory" in down.stdout and "no" in down.stdout


def test_doctor_checks_the_team_store_of_a_live_profile(url: str, _aisre_home: Path) -> None:
    """A: the live branch too: the team store is one more row, checked alongside."""
    _config(_aisre_home, url, bundle=False)
    p = _aisre(_aisre_home, "doctor", "--json")
    assert p.returncode == 3, p.stdout + p.stderr  # the (down) Prometheus
    out = json.loads(p.stdout)
    names = [s["source"] for s in out["sources"]]
    assert names[0] == "prometheus" and names[-1] == "team-memory"  # the last row
    assert out["team_store"]["ok"] and out["sources"][-1]["ok"]
    p = _aisre(_aisre_home, "doctor", env={"AISRE_MEMORY_TOKEN": "wrong-password"})
    assert p.returncode == 4 and "team-memory" in p.stdout  # auth ranks above a source


def test_doctor_shows_a_damaged_spool_and_fails(
    cluster: PgCluster, url: str, _aisre_home: Path
) -> None:
    """A/B: a damaged spool was a depth of None, hidden by the bundle branch, exit 0."""
    _config(_aisre_home, url)
    _spooled_changes(cluster, _aisre_home, 2)
    _damage_line(memory_spool(), 0)
    p = _aisre(_aisre_home, "doctor")
    assert p.returncode == 6, p.stdout + p.stderr
    assert "spool: DAMAGED" in p.stdout and "--set-aside-damaged" in p.stdout
    p = _aisre(_aisre_home, "doctor", "--json")
    assert p.returncode == 6
    sp = json.loads(p.stdout)["spool"]
    assert "line 1" in sp["error"] and "--set-aside-damaged" in sp["hint"]
    assert sp["memory"]["damaged_lines"] == 1 and sp["depth"] == 1


# ------------------------------------------------------------------ B: a damaged spool


def test_a_damaged_spool_line_is_reported_then_set_aside_and_the_rest_sent(
    cluster: PgCluster, url: str, _aisre_home: Path
) -> None:
    """B: a damaged line blocked every team write of this machine for good (exit 5),
    `memory status` printed nothing, and triage blamed the (healthy) server."""
    home = _aisre_home
    _config(home, url)
    _spooled_changes(cluster, home, 3)
    bad = _damage_line(memory_spool(), 1)

    st = _aisre(home, "memory", "status", "--json")
    assert st.returncode == 6, st.stderr  # integrity damage: not 5 (governance refused)
    out = json.loads(st.stdout)  # the output is there, damage and all
    assert out["reachable"] and out["tables"]["changes"] == 0
    assert "line 2" in out["spool"]["error"] and out["spool"]["depth"] == 2
    assert "--set-aside-damaged" in st.stderr  # the hint
    st = _aisre(home, "memory", "status")
    assert st.returncode == 6 and "backend:  postgresql" in st.stdout
    assert "spool: DAMAGED" in st.stdout

    for args in (("change", "record", "--service", "checkout"), ("memory", "sync")):
        p = _aisre(home, *args)
        assert p.returncode == 6, (args, p.stderr)
        err = p.stderr.strip().splitlines()
        assert err[0].startswith("error: the local spool") and "is damaged" in err[0]
        assert err[1].startswith("hint: run `aisre memory sync --set-aside-damaged`")

    tri = _aisre(home, "triage")
    assert tri.returncode == 0, tri.stderr
    assert "team memory unavailable" not in tri.stderr
    assert "the local spool" in tri.stderr and "is damaged" in tri.stderr
    assert "--set-aside-damaged" in tri.stderr

    fix = _aisre(home, "memory", "sync", "--set-aside-damaged")
    assert fix.returncode == 0, fix.stderr
    sidecars = list(memory_spool().dir.glob("spool.jsonl.damaged-*"))
    assert len(sidecars) == 1
    assert f"moved 1 damaged line(s) (line 2) to {sidecars[0]}" in fix.stderr
    assert "sent 2 memory write(s)" in fix.stdout
    assert sidecars[0].read_bytes() == bad  # kept as it was, for inspection
    assert oct(sidecars[0].stat().st_mode & 0o777) == "0o600"
    versions = [r[0] for r in _rows(url, "SELECT version FROM changes ORDER BY ts")]
    assert versions == ["v0", "v2"]  # the rest, in order; the damaged one set aside

    st = _aisre(home, "memory", "status", "--json")
    assert st.returncode == 0, st.stderr
    assert json.loads(st.stdout)["spool"]["memory"]["damaged_sidecars"] == 1
    p = _aisre(home, "change", "record", "--service", "checkout", "--version", "v9")
    assert p.returncode == 0 and "in postgresql://" in p.stderr, p.stderr
    assert len(_rows(url, "SELECT id FROM changes")) == 3


def test_a_damaged_last_spool_line_is_set_aside_too(
    cluster: PgCluster, url: str, _aisre_home: Path
) -> None:
    """B: with the last line damaged nothing could even be appended."""
    _config(_aisre_home, url)
    _spooled_changes(cluster, _aisre_home, 2)
    _damage_line(memory_spool(), 1)
    p = _aisre(_aisre_home, "change", "record", "--service", "checkout")
    assert p.returncode == 6 and "--set-aside-damaged" in p.stderr, p.stderr
    p = _aisre(_aisre_home, "memory", "sync", "--set-aside-damaged", "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["set_aside"]["memory"]["moved"] == 1 and out["set_aside"]["memory"]["lines"] == [2]
    assert out["memory"]["replayed"] == 1 and out["remaining"] == 0
    p = _aisre(_aisre_home, "change", "record", "--service", "checkout")
    assert p.returncode == 0, p.stderr
    assert len(_rows(url, "SELECT id FROM changes")) == 2


# ------------------------------------------------------------------ C and D: confirmed causes


RUNNER_UP = ("--kind", "network", "--service", "checkout")
"""A cause the demo's triage did not rank first, named outright: its runners-up all stand
at 0.00, so their order is no contract."""


def _triage_rank(home: Path) -> str:
    """Triage the demo; the rank it gave `RUNNER_UP`'s hypothesis, for `--cause`."""
    p = _aisre(home, "triage", "--json")
    assert p.returncode == 0, p.stderr
    ranks = [
        h["rank"]
        for h in json.loads(p.stdout)["hypotheses"]
        if (h["kind"], h["service"]) == (RUNNER_UP[1], RUNNER_UP[3])
    ]
    assert len(ranks) == 1 and ranks[0] > 1, ranks
    return str(ranks[0])


def test_a_teammates_confirmed_cause_is_not_overwritten_from_the_cli(
    url: str, tmp_path: Path
) -> None:
    """C: bob's `incident resolve` replaced alice's confirmed cause and note, silently."""
    alice, bob = tmp_path / "alice", tmp_path / "bob"
    for h in (alice, bob):
        _config(h, url)
    rank = _triage_rank(alice)
    p = _aisre(alice, "incident", "resolve", "1", "--cause", "1", "--note", "alice: payments")
    assert p.returncode == 0, p.stderr
    p = _aisre(bob, "incident", "resolve", "1", "--cause", rank, "--note", "bob: network")
    assert p.returncode == 2, p.stdout + p.stderr
    err = p.stderr.strip().splitlines()
    assert err[0].startswith("error: incident 1 already has a confirmed cause: deploy on payments")
    assert "confirmed 20" in err[0] and '"alice: payments"' in err[0]
    assert err[1].startswith("hint: ") and "--force" in err[1]
    shown = json.loads(_aisre(bob, "incident", "show", "1", "--json").stdout)
    assert shown["cause"]["service"] == "payments" and shown["note"] == "alice: payments"
    p = _aisre(bob, "incident", "resolve", "1", *RUNNER_UP, "--note", "bob", "--force")
    assert p.returncode == 0, p.stderr
    shown = json.loads(_aisre(alice, "incident", "show", "1", "--json").stdout)
    assert shown["cause"]["kind"] == "network" and shown["note"] == "bob"


def test_resolve_while_the_team_store_is_down_is_spooled_and_applied_on_replay(
    cluster: PgCluster, url: str, _aisre_home: Path
) -> None:
    """D: `incident resolve` failed with exit 3 while the server was down, although the
    docs list confirmed causes among the spooled writes."""
    home = _aisre_home
    _config(home, url)
    assert _aisre(home, "triage").returncode == 0
    cluster.stop_server("fast")
    p = _aisre(home, "incident", "resolve", "1", "--cause", "1", "--note", "rolled back")
    assert p.returncode == 0, p.stderr
    assert "kept in the local spool" in p.stdout
    assert "is unreachable: what this command records is kept in the local spool" in p.stderr
    j = _aisre(home, "incident", "resolve", "1", "--cause", "1", "--json")
    assert j.returncode == 0 and json.loads(j.stdout)["spooled"] is True
    assert memory_spool().status().by_kind == {"incident.resolve": 2}
    cluster.start_again()
    s = _aisre(home, "memory", "sync")
    assert s.returncode == 0 and "sent 2 memory write(s)" in s.stdout, s.stderr
    row = _rows(url, "SELECT status, cause_kind, cause_service, cause_rank, note FROM incidents")
    assert tuple(row[0]) == ("resolved", "deploy", "payments", 1, "rolled back")


def test_a_spooled_cause_that_meets_a_teammates_is_not_applied_and_says_so(
    cluster: PgCluster, url: str, tmp_path: Path
) -> None:
    """C+D: the check cannot be made offline; at replay a different cause confirmed by a
    teammate meanwhile is kept, the sync says what was not applied and how to force it,
    and a spooled --force replaces it."""
    me, mate = tmp_path / "me", tmp_path / "mate"
    for h in (me, mate):
        _config(h, url)
    rank = _triage_rank(me)
    cluster.stop_server("fast")
    # the rank's hypothesis is looked up when the spooled confirmation is sent
    p = _aisre(me, "incident", "resolve", "1", "--cause", rank, "--note", "mine")
    assert p.returncode == 0, p.stderr
    cluster.start_again()
    p = _aisre(mate, "incident", "resolve", "1", "--cause", "1", "--note", "theirs")
    assert p.returncode == 0, p.stderr
    s = _aisre(me, "memory", "sync", "--json")
    assert s.returncode == 0, s.stderr
    notes = json.loads(s.stdout)["memory"]["notes"]
    assert len(notes) == 1 and "was not applied: it already has deploy on payments" in notes[0]
    # the command to replace it carries the spooled note (it dropped it)
    cmd = "aisre incident resolve 1 --kind network --service checkout --note mine --force"
    assert cmd in notes[0]
    row = _rows(url, "SELECT cause_kind, note FROM incidents")[0]
    assert tuple(row) == ("deploy", "theirs")

    cluster.stop_server("fast")
    p = _aisre(me, "incident", "resolve", "1", *RUNNER_UP, "--note", "mine", "--force")
    assert p.returncode == 0, p.stderr
    cluster.start_again()
    s = _aisre(me, "memory", "sync")
    assert s.returncode == 0 and "not applied" not in s.stderr, s.stderr
    row = _rows(url, "SELECT cause_kind, cause_service, note FROM incidents")[0]
    assert tuple(row) == ("network", "checkout", "mine")


def test_a_spooled_cause_for_an_unknown_incident_does_not_block_the_spool(
    cluster: PgCluster, url: str, _aisre_home: Path
) -> None:
    """D: offline nothing can be checked; at replay a bad reference is a note, and the
    writes behind it are still sent."""
    _config(_aisre_home, url)
    cluster.stop_server("fast")
    p = _aisre(_aisre_home, "incident", "resolve", "42", "--cause", "1")
    assert p.returncode == 0, p.stderr
    p = _aisre(_aisre_home, "change", "record", "--service", "checkout")
    assert p.returncode == 0, p.stderr
    cluster.start_again()
    s = _aisre(_aisre_home, "memory", "sync")
    assert s.returncode == 0, s.stderr
    assert "not applied: no incident '42'" in s.stderr
    assert len(_rows(url, "SELECT id FROM changes")) == 1


def test_an_incident_recorded_offline_and_merged_keeps_its_uid_and_its_spooled_cause(
    cluster: PgCluster, url: str, tmp_path: Path
) -> None:
    """QA 2026-12-03: triaged offline, I was given incident uid X; a teammate had
    recorded the same page meanwhile, so X was added to their incident when my spool
    was sent. `incident show X` then found nothing, and my spooled `incident resolve X`
    was dropped with a note: the confirmed cause was lost."""
    me, mate = tmp_path / "me", tmp_path / "mate"
    for h in (me, mate):
        _config(h, url)
    assert _aisre(mate, "triage").returncode == 0
    cluster.stop_server("fast")
    t = _aisre(me, "triage", "--json")
    assert t.returncode == 0, t.stderr
    inc = json.loads(t.stdout)["incident"]
    assert inc["spooled"] is True and inc["id"] is None
    uid = inc["uid"]
    p = _aisre(me, "incident", "resolve", uid[:8], "--cause", "1", "--note", "mine")
    assert p.returncode == 0 and "kept in the local spool" in p.stdout, p.stderr
    cluster.start_again()
    s = _aisre(me, "memory", "sync", "--json")
    assert s.returncode == 0, s.stderr
    notes = json.loads(s.stdout)["memory"]["notes"]
    assert len(notes) == 1, notes
    assert f"incident {uid}, kept in the local spool until now, was added" in notes[0]
    assert "was added to incident 1 (" in notes[0]
    rows = _rows(url, "SELECT id, status, cause_kind, cause_service, note FROM incidents")
    assert [tuple(r) for r in rows] == [(1, "resolved", "deploy", "payments", "mine")]
    for ref in (uid, uid[:8]):
        shown = _aisre(me, "incident", "show", ref, "--json")
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["id"] == 1
    # a teammate never had that uid: it finds nothing (it is this machine's receipt)
    assert _aisre(mate, "incident", "show", uid).returncode == 2


def test_merge_receipts_and_spooled_incidents_are_found_by_uid_or_prefix(
    tmp_path: Path,
) -> None:
    sp = Spool(tmp_path / "memory")
    assert sp.merged_into("inc-0123456789ab") is None  # no file yet
    sp.remember_merge("inc-0123456789ab", "inc-ffffffffffff", 7)
    sp.remember_merge("inc-0123999999ab", "inc-eeeeeeeeeeee", 8)
    with sp.merged_path.open("ab") as f:
        f.write(b'{"uid": "inc-torn')  # a torn last line is ignored
    assert sp.merged_into("inc-0123456789ab") == "inc-ffffffffffff"
    assert sp.merged_into("inc-01234567") == "inc-ffffffffffff"
    assert sp.merged_into("inc-0123") is None  # ambiguous
    assert sp.merged_into("inc-01") is None  # too short to be a prefix
    assert sp.merged_path.stat().st_mode & 0o777 == 0o600
    assert not sp.holds_incident("inc-abcdefabcdef")
    sp.append(
        "memory",
        {"op": {"op_id": "op-1", "kind": "incident.record", "data": {"uid": "inc-abcdefabcdef"}}},
    )
    assert sp.holds_incident("inc-abcdefabcdef") and sp.holds_incident("inc-abcdef")
    assert not sp.holds_incident("inc-abcdee")


# ------------------------------------------------------------------ E: a newer schema


def test_a_schema_newer_than_aisre_spools_writes_until_the_upgrade(
    cluster: PgCluster, url: str, _aisre_home: Path
) -> None:
    """E: triage dropped its incident silently and `change record` failed (exit 2)."""
    home = _aisre_home
    _config(home, url)
    _set_revision(cluster, url, "0999_from_the_future")
    tri = _aisre(home, "triage", "--json")
    assert tri.returncode == 0, tri.stderr
    notes = json.loads(tri.stdout)["notes"]
    said = [n for n in notes if "newer than this aisre" in n]
    assert said and "upgrade aisre" in said[0] and "local spool" in said[0]
    assert "kept in the local spool" in tri.stderr
    c = _aisre(home, "change", "record", "--service", "checkout", "--version", "v7")
    assert c.returncode == 0 and "local spool" in c.stderr, c.stderr
    assert memory_spool().status().by_kind == {"incident.record": 1, "change.record": 1}
    st = _aisre(home, "memory", "status", "--json")
    assert st.returncode == 2, st.stderr
    out = json.loads(st.stdout)
    assert out["schema_version"] == "0999_from_the_future" and out["spool"]["depth"] == 2
    assert "newer than this aisre" in st.stderr and "upgrade aisre" in st.stderr
    st = _aisre(home, "memory", "status")
    assert "spool: 2 write(s) waiting" in st.stdout
    s = _aisre(home, "memory", "sync")
    assert s.returncode == 2 and "upgrade aisre" in s.stderr
    assert _raw(cluster, url, "SELECT count(*) FROM changes")[0][0] == 0  # nothing written

    # a runbook runs too (a colleague who upgraded first takes no runbook away mid-page):
    # its audit records wait in the spool, as with the server down (it was refused, exit 5)
    rb = _aisre(
        home,
        "runbook",
        "run",
        "rollback-bad-deploy",
        "-P",
        "service=payments",
        "-P",
        "namespace=shop",
        "--dry-run",
    )
    assert rb.returncode in (0, 5) and "newer than this aisre" not in rb.stderr, rb.stderr
    assert "audit head" in rb.stderr
    assert _raw(cluster, url, "SELECT count(*) FROM audit_log")[0][0] == 0

    _set_revision(cluster, url, migrations.HEAD)  # what the upgraded aisre finds
    s = _aisre(home, "memory", "sync")
    assert s.returncode == 0 and "sent 2 memory write(s)" in s.stdout, s.stderr
    assert _rows(url, "SELECT version FROM changes")[0][0] == "v7"
    assert _rows(url, "SELECT count(*) FROM incidents")[0][0] == 1
    assert _rows(url, "SELECT count(*) FROM audit_log")[0][0] > 0  # the run's audit, sent
