"""The incident memory on both backends: the same behaviour on SQLite and PostgreSQL.

Behavioural tests take the `store` fixture, parametrized over a local SQLite file and a
fresh database of a throwaway PostgreSQL cluster (tests/pg.py). Then: schema
migrations (Alembic; a memory made by the old hand-written runner; a schema newer than
aisre), the start-up path (no SQLAlchemy when the schema is current), credentials,
concurrent writers, and two engineers sharing one team store through the CLI.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from aisre_cli.errors import ExitCode
from aisre_cli.memory import migrations, postmortem
from aisre_cli.memory.advisor import Advisor
from aisre_cli.memory.backend import (
    MemoryStoreError,
    MemoryUnavailable,
    location_for,
    parse_pg_url,
)
from aisre_cli.memory.replay import replay
from aisre_cli.memory.storage import MemoryStore, RunOutcome, StoreChangeFeed, WriteOp
from tests.conftest import DEMO, PETSHOP, REPO
from tests.pg import PgCluster
from tests.test_memory_store import SIG, T0, alert, report
from tests.test_memory_triage import PAY, PAY_SERVICE, _ctx, triage

FIXTURE = REPO / "tests" / "fixtures" / "memory-v3-handwritten.sqlite3"
BACKENDS = ["sqlite", "postgresql"]
needs_petshop = pytest.mark.skipif(not PETSHOP.exists(), reason="petshop dataset not present")


def open_backend(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> MemoryStore:
    if backend == "sqlite":
        return MemoryStore(tmp_path / "memory.sqlite3")
    url = request.getfixturevalue("pg_url")
    return MemoryStore(location=location_for(url))


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MemoryStore]:
    st = open_backend(request.param, request, tmp_path)
    try:
        yield st
    finally:
        st.close()


# ------------------------------------------------------------------ behaviour, both backends


def test_schema_is_current_and_backend_is_the_one_asked_for(
    store: MemoryStore, request: pytest.FixtureRequest
) -> None:
    assert store.backend == request.node.callspec.params["store"]
    assert store.schema_version() == migrations.HEAD
    assert store.migrations_applied() == list(migrations.REVISIONS)
    assert store.counts() == {
        "incidents": 0,
        "hypotheses": 0,
        "runbook_runs": 0,
        "alert_events": 0,
        "changes": 0,
    }


def test_record_reuse_get_resolve(store: MemoryStore) -> None:
    a = store.record_report(report(), SIG)
    assert a.id >= 1 and a.uid.startswith("inc-") and not a.reused
    assert [h["rank"] for h in a.hypotheses] == [1, 2]
    again = store.record_report(report(), SIG)  # the same episode re-triaged
    assert again.id == a.id and again.reused and store.count() == 1
    other = store.record_report(report(alert(fid="fp0002")))
    assert other.id != a.id and store.count() == 2
    assert store.get(a.uid[:8]).id == a.id  # uid prefix
    done = store.resolve(str(a.id), rank=1, note="bad deploy")
    assert done.resolved and done.cause_text() == "deploy on checkout (change c-1)"
    assert done.note == "bad deploy" and done.resolved_at
    assert [i.id for i in store.recent(status="resolved")] == [a.id]
    assert [i.id for i in store.recent(status="open")] == [other.id]


def test_a_recorded_incident_is_not_read_back(
    store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`record_report` returns the incident as it wrote it, numbered: three round trips
    fewer to a team store on every triage. It is what `get` reads, but for the runbook
    runs of a reused one; an updated incident keeps its first uid and creation time."""
    first = store.record_report(report(), SIG)
    store.record_run(RunOutcome("r-1", "rollback-bad-deploy", "verified", alert_id="fp0001"))
    read = store.get(str(first.id))
    for field in ("uid", "created_at", "alert_id", "labels", "onset", "signature", "report"):
        assert getattr(first, field) == getattr(read, field), field
    assert first.hypotheses == read.hypotheses and first.origin == read.origin

    def no_reads(*_: object, **__: object) -> None:
        raise AssertionError("record_report read the incident back")

    monkeypatch.setattr(store, "get", no_reads)
    with store.db.transaction() as db:  # as `memory migrate` leaves a copied one
        db.execute("UPDATE incidents SET origin = 'migrated' WHERE id = ?", (first.id,))
    again = store.record_report(report(), SIG)
    assert (again.id, again.uid, again.created_at) == (first.id, first.uid, first.created_at)
    assert again.reused and again.runs == [] and again.origin == "migrated"
    monkeypatch.undo()
    assert [r["runbook"] for r in store.get(str(first.id)).runs] == ["rollback-bad-deploy"]


def test_resolve_keeps_a_different_confirmed_cause_unless_forced(store: MemoryStore) -> None:
    """QA 2026-12: `incident resolve N` silently overwrote a teammate's confirmed cause
    and note. A different cause is refused (exit 2, naming the one kept and when); the
    same cause again is fine; --force replaces it, and the old note with it."""
    from aisre_cli.errors import UsageError

    inc = store.record_report(report(), SIG)
    first = store.resolve(str(inc.id), rank=1, note="alice: bad deploy c-1")
    assert first.cause_text() == "deploy on checkout (change c-1)"
    with pytest.raises(UsageError) as err:
        store.resolve(str(inc.id), kind="resource_saturation", service="db", note="bob: db")
    assert err.value.exit_code == ExitCode.USAGE
    msg = err.value.message
    assert (
        f"incident {inc.id} already has a confirmed cause: deploy on checkout (change c-1)" in msg
    )
    assert f"confirmed {first.resolved_at[:19]}" in msg and '"alice: bad deploy c-1"' in msg
    assert "resource_saturation on db" in msg and "--force" in (err.value.hint or "")
    kept = store.get(str(inc.id))
    assert kept.cause_text() == first.cause_text() and kept.note == "alice: bad deploy c-1"
    # the same cause, less precise (no change id): not a conflict, and nothing is lost
    same = store.resolve(str(inc.id), kind="deploy", service="checkout")
    assert same.cause_text() == "deploy on checkout (change c-1)"
    assert same.note == "alice: bad deploy c-1"
    forced = store.resolve(str(inc.id), rank=2, note="bob: db", force=True)
    assert forced.cause_text() == "resource_saturation on db" and forced.note == "bob: db"
    again = store.resolve(str(inc.id), rank=1, force=True)  # the old note went with its cause
    assert again.cause_text() == "deploy on checkout (change c-1)" and again.note is None


@needs_petshop
def test_known_issue_matching(store: MemoryStore) -> None:
    adv0 = Advisor(store)
    first = triage(PAY[0], adv0)
    assert not [e for e in first.evidence if e.kind == "memory"]
    assert first.verdict.classification != "known_issue"
    inc = adv0.record(first)
    store.resolve(str(inc.id), kind="config_change", service=PAY_SERVICE, note="bad env var")
    adv = Advisor(store)
    again = triage(PAY[0], adv)
    assert again.verdict.classification == "known_issue"
    mem = [e for e in again.evidence if e.kind == "memory"]
    assert mem and mem[0].service == PAY_SERVICE
    assert f"last confirmed cause: config_change on {PAY_SERVICE}" in mem[0].summary
    assert 'note: "bad env var"' in mem[0].summary
    priors, _ = adv.priors(_ctx(PAY[0]))
    assert priors[(PAY_SERVICE, "config_change")] >= 0.7
    # "unknown" there claims only the service, which the confirmed cause names; another
    # specific kind gets a share
    assert priors[(PAY_SERVICE, "unknown")] == priors[(PAY_SERVICE, "config_change")]
    assert priors[(PAY_SERVICE, "deploy")] < priors[(PAY_SERVICE, "config_change")]


def test_track_record(store: MemoryStore) -> None:
    store.record_report(report())
    for i, out in enumerate(["verified", "verified", "failed", "undone", "aborted"]):
        store.record_run(RunOutcome(f"r-{i}", "rollback", out, kind="deploy", alert_id="fp0001"))
    store.record_run(RunOutcome("r-9", "rollback", "verified", kind="crash_loop"))
    assert (store.successes("rollback", "deploy"), store.failures("rollback", "deploy")) == (2, 2)
    store.record_run(RunOutcome("r-2", "rollback", "verified", kind="deploy"))  # resumed
    assert (store.successes("rollback", "deploy"), store.failures("rollback", "deploy")) == (3, 1)
    assert len(store.get("1").runs) == 5  # linked to the incident of the same alert
    rows = {(r["runbook"], r["kind"]): r for r in store.track_record()}
    assert rows[("rollback", "deploy")]["success_rate"] == 0.75
    assert rows[("rollback", "crash_loop")]["successes"] == 1


def test_noise(store: MemoryStore) -> None:
    def episodes(n: int, minutes: int, fid: str) -> None:
        for k in range(n):
            s = T0 - timedelta(days=k + 1)
            store.record_alerts([alert(fid=fid, start=s, ends_at=s + timedelta(minutes=minutes))])

    episodes(2, 10, "flappy")
    assert not store.noise(alert(fid="flappy")).noisy  # two episodes are not a pattern
    episodes(5, 10, "flappy")
    v = store.noise(alert(fid="flappy"))
    assert v.noisy and v.episodes == 5 and v.self_resolved == 5
    store.record_run(RunOutcome("r-1", "restart", "verified", alert_id="flappy"))
    assert not store.noise(alert(fid="flappy")).noisy  # someone acted on it once
    episodes(5, 240, "outage")
    assert not store.noise(alert(fid="outage")).noisy  # long outages that needed someone
    # a confirmed cause is someone acting on it too
    episodes(5, 10, "fp0001")
    assert store.noise(alert()).noisy
    store.resolve(str(store.record_report(report(), SIG).id), rank=1)
    assert not store.noise(alert()).noisy


def test_postmortem_export(store: MemoryStore) -> None:
    inc = store.record_report(report(), SIG)
    store.resolve(str(inc.id), rank=1, note="rolled back")
    store.record_run(
        RunOutcome(
            "run-pm", "rollback", "verified", kind="deploy", alert_id="fp0001", audit_head="ab" * 32
        )
    )
    pm = postmortem.build(store.get(str(inc.id)))
    md = postmortem.markdown(pm)
    assert "deploy on checkout" in md and "rolled back" in md
    assert "runbook **rollback**" in md
    assert json.loads(json.dumps(pm))["incident"]["uid"] == inc.uid


@needs_petshop
def test_replay(store: MemoryStore) -> None:
    rep = replay(PAY, lambda p, adv: triage(p, adv), store)
    assert [c.memory_evidence > 0 for c in rep.cases] == [False, True, True]
    assert store.count() == 3 and len(store.recent(status="resolved")) == 3


def test_change_feed(store: MemoryStore) -> None:
    feed = StoreChangeFeed(store)
    c1 = feed.record(service="checkout", version="v1", ts=T0 - timedelta(hours=2))
    c2 = feed.record(service="checkout", version="v2", ts=T0 - timedelta(minutes=5), summary="x")
    feed.record(service="payments", kind="config", ts=T0 - timedelta(days=3))
    assert c1.previous_version is None and c2.previous_version == "v1"
    got = feed.fetch_changes(T0 - timedelta(hours=3), T0)
    assert [(c.id, c.version, c.summary) for c in got] == [
        (c1.id, "v1", "deploy checkout v1"),
        (c2.id, "v2", "x"),
    ]
    assert got[0].source == "memory" and got[0].ts == c1.ts and got[0].kind == "deploy"
    assert feed.last_version("checkout", T0 - timedelta(hours=1)) == "v1"
    assert feed.last_version("checkout") == "v2"
    store.record_change(c2)  # the same change again (a retried pipeline step)
    assert store.counts()["changes"] == 3


def test_a_write_op_is_applied_exactly_once(store: MemoryStore) -> None:
    """The spool contract: an op replayed after it was applied changes nothing."""
    op = MemoryStore.prepare_report(report())
    op2 = WriteOp.from_json(json.loads(json.dumps(op.to_json())))  # through a spool file
    first = store.apply(op)
    assert first["incident_id"] >= 1
    assert store.apply(op2) == {"duplicate": True}
    assert store.count() == 1 and len(store.get("1").hypotheses) == 2


def test_writes_go_through_the_writer_hook(store: MemoryStore) -> None:
    held: list[WriteOp] = []

    def spool(op: WriteOp) -> dict[str, object]:
        held.append(op)
        return {"spooled": True}

    store.writer = spool
    inc = store.record_report(report(), SIG)
    store.record_run(RunOutcome("r-1", "rollback", "verified", alert_id="fp0001"))
    store.record_alerts([alert(fid="fpx")])
    assert inc.id == 0 and inc.status == "open" and inc.alert_id == "fp0001"
    assert [op.kind for op in held] == ["incident.record", "run.record", "alerts.record"]
    assert store.count() == 0
    store.writer = store.apply
    for op in held:  # replay, in order
        store.apply(op)
    assert store.get(inc.uid).id >= 1 and store.successes("rollback", "unknown") == 1


def test_export_from_sqlite_imports_into_either(
    store: MemoryStore, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    with MemoryStore(tmp_path / "laptop.sqlite3") as laptop:
        i1 = laptop.record_report(report(), SIG)
        laptop.resolve(str(i1.id), rank=1)
        laptop.record_run(RunOutcome("r-1", "rollback", "verified", kind="deploy"))
        data = json.loads(json.dumps(laptop.export_all()))
    assert store.import_data(data, "import:laptop")["added"] == 1
    assert store.import_data(data, "import:laptop")["unchanged"] == 1
    assert store.get(i1.uid).cause_text() == "deploy on checkout (change c-1)"
    assert store.successes("rollback", "deploy") == 1


def test_a_migrated_open_incident_is_updated_by_the_next_triage(
    store: MemoryStore, tmp_path: Path
) -> None:
    """`memory migrate` moves the team's own incidents: re-triaging one of them updates
    it, as on the laptop, instead of opening a second incident. An imported postmortem
    (another team's record) is never updated by a local triage."""
    with MemoryStore(tmp_path / "laptop.sqlite3") as laptop:
        first = laptop.record_report(report(), SIG)
        data = json.loads(json.dumps(laptop.export_all()))
    store.import_data(data, "migrated")
    again = store.record_report(report(), SIG)
    assert again.uid == first.uid and again.origin == "migrated"
    assert store.count() == 1

    other = MemoryStore(tmp_path / "other.sqlite3")
    try:
        other.import_data(data, "import:postmortem.json")
        fresh = other.record_report(report(), SIG)
        assert fresh.uid != first.uid and fresh.origin == "local"
    finally:
        other.close()


# ------------------------------------------------------------------ migrations


def test_head_is_alembics_head_and_revisions_are_linear() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations.SCRIPTS))
    script = ScriptDirectory.from_config(cfg)
    assert script.get_heads() == [migrations.HEAD]
    walked = [r.revision for r in script.walk_revisions()]
    assert list(reversed(walked)) == list(migrations.REVISIONS)


def test_old_handwritten_memory_upgrades_in_place(tmp_path: Path) -> None:
    """A memory made by aisre before Alembic (the fixture was written by that code)."""
    db = tmp_path / "memory.sqlite3"
    shutil.copy(FIXTURE, db)
    inode = db.stat().st_ino
    with MemoryStore(db) as st:
        assert st.schema_version() == migrations.HEAD
        inc = st.get("1")
        assert inc.resolved and inc.cause_text().startswith("deploy on payments")
        assert inc.note == "bad cart deploy" and inc.hypotheses
        assert st.track_record()[0]["successes"] == 1
        assert st.counts()["alert_events"] == 2
        st.record_report(report())  # and it is writable
        assert st.count() == 2
    assert db.stat().st_ino == inode
    raw = sqlite3.connect(db)
    legacy = [r[0] for r in raw.execute("SELECT name FROM _migrations ORDER BY rowid")]
    raw.close()
    assert legacy == ["m001_incidents", "m002_runbook_runs", "m003_alert_events"]


def test_partly_migrated_handwritten_memory_is_stamped_where_it_was(tmp_path: Path) -> None:
    db = tmp_path / "m.sqlite3"
    shutil.copy(FIXTURE, db)
    raw = sqlite3.connect(db)
    raw.execute("DELETE FROM _migrations WHERE name = 'm003_alert_events'")
    raw.execute("DROP TABLE alert_events")
    raw.execute("ALTER TABLE incidents DROP COLUMN origin")
    raw.commit()
    raw.close()
    with MemoryStore(db) as st:  # 0003 runs again: alert_events and origin come back
        assert st.schema_version() == migrations.HEAD
        assert st.get("1").origin == "local"
        st.record_alerts([alert(fid="again")])
        assert st.counts()["alert_events"] == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_schema_newer_than_aisre_is_refused_untouched(
    backend: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from aisre_cli.settings import paths
    from aisre_cli.ui.cli.app import main

    if backend == "sqlite":  # the default memory of this AISRE_HOME
        st = MemoryStore(paths.memory_db_file())
    else:
        st = open_backend(backend, request, tmp_path)
    st.record_report(report())
    st.db.execute("UPDATE alembic_version SET version_num = '0999_from_the_future'")
    location = st.location
    st.close()
    before = location.path.read_bytes() if location.path else None
    with pytest.raises(MemoryStoreError) as exc:
        MemoryStore(location=location)
    assert exc.value.exit_code == ExitCode.USAGE
    assert "newer than this aisre" in exc.value.message and "0999" in exc.value.message
    if location.path is not None:
        assert location.path.read_bytes() == before
    else:
        assert location.pg is not None
        _write_config(Path(os.environ["AISRE_HOME"]), location.pg.url)
    try:
        main(["incident", "list"])
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    err = capsys.readouterr().err
    assert code == 2 and "newer than this aisre" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) <= 2  # the error line and its hint


def test_current_schema_opens_without_sqlalchemy(tmp_path: Path) -> None:
    """Start-up cost: SQLAlchemy/Alembic load only when a migration is due."""
    db = tmp_path / "m.sqlite3"
    code = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from aisre_cli.memory.storage import MemoryStore
        with MemoryStore(Path(sys.argv[1])) as st:
            st.count()
        print("sqlalchemy" in sys.modules, "alembic" in sys.modules)
        """
    )
    first = subprocess.run([sys.executable, "-c", code, str(db)], capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert first.stdout.split() == ["True", "True"]  # a new memory: created by Alembic
    again = subprocess.run([sys.executable, "-c", code, str(db)], capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert again.stdout.split() == ["False", "False"]


# ------------------------------------------------------------------ credentials, reachability


def test_a_password_in_memory_url_is_refused_and_never_echoed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from aisre_cli.ui.cli.app import main

    _write_config(Path(os.environ["AISRE_HOME"]), "postgresql://aisre:s3cr3t-pw@db:5432/mem")
    try:
        main(["incident", "list"])
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    err = capsys.readouterr().err
    assert code == 2 and "must not contain a password" in err
    assert "s3cr3t-pw" not in err
    with pytest.raises(MemoryStoreError) as exc:
        location_for("postgresql://aisre:s3cr3t-pw@db:5432/mem")
    assert "s3cr3t-pw" not in exc.value.message


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("postgresql://aisre@db:99999/mem", "Port out of range 0-65535"),
        ("postgresql://aisre@db:5432x/mem", "could not be cast to integer"),
    ],
)
def test_a_bad_port_in_memory_url_says_what_is_wrong(
    url: str, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """QA: a port out of range read "memory_url is not a URL", nothing more."""
    from aisre_cli.ui.cli.app import main

    _write_config(Path(os.environ["AISRE_HOME"]), url)
    with pytest.raises(SystemExit) as e:
        main(["incident", "list"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and said in err and "postgresql://USER@HOST:PORT/DATABASE" in err


def test_a_bad_password_is_a_clear_error_without_the_password(
    pg_cluster: PgCluster, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AISRE_MEMORY_TOKEN", "wrong-password-xyz")
    with pytest.raises(MemoryStoreError) as exc:
        MemoryStore(location=location_for(pg_url))
    assert not isinstance(exc.value, MemoryUnavailable)  # configuration, not an outage
    assert exc.value.exit_code == ExitCode.AUTH  # errors.py: refused credentials exit 4
    assert "refused the password" in exc.value.message
    assert "wrong-password-xyz" not in f"{exc.value.message} {exc.value.hint}"
    assert pg_cluster.app_password not in exc.value.message
    # the hint names where the refused password came from (it said `aisre auth set
    # memory` for a password that came from the environment)
    assert exc.value.hint is not None and "AISRE_MEMORY_TOKEN holds a password" in exc.value.hint
    # none at all: said so, with where one is looked for
    monkeypatch.delenv("AISRE_MEMORY_TOKEN")
    monkeypatch.setenv("PGPASSWORD", "")
    with pytest.raises(MemoryStoreError) as exc:
        MemoryStore(location=location_for(pg_url))
    assert "no password is configured" in exc.value.message, exc.value.message
    assert exc.value.hint is not None and "aisre auth set memory" in exc.value.hint
    assert "AISRE_MEMORY_TOKEN" in exc.value.hint


def test_libpq_lines_read_as_clauses() -> None:
    """libpq's two lines ("…: Connection refused" / "Is the server running…?") were
    joined with a space: "Connection refused Is the server running"."""
    from aisre_cli.memory.backend import PostgresDatabase

    db = PostgresDatabase.__new__(PostgresDatabase)
    db.target = parse_pg_url("postgresql://aisre@127.0.0.1:1/mem")
    db._password = None
    db._origin = ""
    db._password_name = "memory"
    err = db.error(
        RuntimeError(
            'connection failed: connection to server at "127.0.0.1", port 1 failed:'
            " Connection refused\n\tIs the server running on that host and accepting"
            " TCP/IP connections?"
        )
    )
    assert "Connection refused; Is the server running" in err.message, err.message


def test_an_unreachable_server_is_memory_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    monkeypatch.setenv("AISRE_MEMORY_TOKEN", "pw-1234")
    with pytest.raises(MemoryUnavailable) as exc:
        MemoryStore(location=location_for(f"postgresql://aisre@127.0.0.1:{port}/mem"))
    assert exc.value.exit_code == ExitCode.SOURCE
    assert f"127.0.0.1:{port}/mem" in exc.value.message and "pw-1234" not in exc.value.message


# ------------------------------------------------------------------ concurrency


WRITER = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime, timedelta
    from pathlib import Path
    from aisre_cli.memory.backend import location_for
    from aisre_cli.memory.storage import MemoryStore, StoreChangeFeed
    from tests.test_memory_store import alert, report

    target, proc, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    loc = location_for(target) if "://" in target else location_for(None, path=Path(target))
    with MemoryStore(location=loc) as st:
        feed = StoreChangeFeed(st)
        t0 = datetime(2026, 3, 1, tzinfo=UTC)
        for i in range(n):
            if i % 2 == 0:
                st.record_report(report(alert(i, fid=f"p{proc}-{i}")))
            else:
                feed.record(service=f"svc{proc}", version=f"v{i}", ts=t0 + timedelta(seconds=i))
    print("ok")
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_eight_processes_times_100_mixed_writes_lose_nothing(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """8 processes x 100 writes (incidents and change events, interleaved) -> 800 rows.

    Audit appends are not part of this store (the team audit trail is its own table)."""
    if backend == "sqlite":
        target = str(tmp_path / "memory.sqlite3")
        MemoryStore(Path(target)).close()
    else:
        target = request.getfixturevalue("pg_url")
        MemoryStore(location=location_for(target)).close()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, target, str(p), "100"],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for p in range(8)
    ]
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0 and out.strip() == "ok", err[-2000:]
    loc = location_for(target) if "://" in target else location_for(None, path=Path(target))
    with MemoryStore(location=loc) as st:
        counts = st.counts()
        assert counts["incidents"] + counts["changes"] == 800
        assert (counts["incidents"], counts["changes"]) == (400, 400)
        assert counts["hypotheses"] == 800
        ids = [i.id for i in st.recent(limit=1000)]
        assert len(set(ids)) == 400
        assert int(st.db.query("SELECT count(*) FROM applied_ops")[0][0]) == 800


# ------------------------------------------------------------------ two engineers, one store


def _write_config(home: Path, memory_url: str, bundle: Path = DEMO) -> None:
    cfg = home / "config" / "config.yaml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(
        "version: 1\n"
        "default_profile: team\n"
        "profiles:\n"
        "  team:\n"
        "    environment: demo\n"
        "    sources:\n"
        f"      bundle: {json.dumps(str(bundle))}\n"
        f"    memory_url: {json.dumps(memory_url)}\n"
    )


def _aisre(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AISRE_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "aisre_cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_two_engineers_share_a_confirmed_cause_through_the_team_store(
    pg_url: str, tmp_path: Path
) -> None:
    alice, bob = tmp_path / "alice", tmp_path / "bob"
    for home in (alice, bob):
        _write_config(home, pg_url)
    first = _aisre(alice, "triage", "CheckoutHighErrorRate", "--json")
    assert first.returncode == 0, first.stderr
    rep = json.loads(first.stdout)
    assert rep["verdict"]["classification"] != "known_issue"
    assert "recorded as incident 1" in first.stderr
    resolved = _aisre(alice, "incident", "resolve", "1", "--cause", "1", "--note", "cart v2")
    assert resolved.returncode == 0, resolved.stderr
    # a deploy recorded by CI from a third machine lands in the same store
    ci = _aisre(bob, "change", "record", "--service", "checkout", "--version", "v9")
    assert ci.returncode == 0 and "postgresql://aisre@127.0.0.1" in ci.stderr, ci.stderr

    second = _aisre(bob, "triage", "CheckoutHighErrorRate", "--json")
    assert second.returncode == 0, second.stderr
    rep2 = json.loads(second.stdout)
    assert rep2["verdict"]["classification"] == "known_issue"
    mem = [e for e in rep2["evidence"] if e["kind"] == "memory"]
    assert mem and "seen once before (#1" in mem[0]["summary"]
    assert 'note: "cart v2"' in mem[0]["summary"]
    # nothing of it is on either laptop: both homes have no local memory file
    for home in (alice, bob):
        assert not (home / "data" / "memory.sqlite3").exists()
    listed = _aisre(bob, "incident", "list", "--json")
    assert [i["status"] for i in json.loads(listed.stdout)["incidents"]] == ["open", "resolved"]


def test_the_team_change_feed_is_a_change_source_of_live_triage(pg_url: str) -> None:
    from aisre_cli.flows.triage import TriageFlow
    from aisre_cli.settings.config import Profile
    from aisre_cli.sources.registry import SourceSet

    prof = Profile(memory_url=pg_url)
    with MemoryStore(location=location_for(pg_url)) as st:
        ci = StoreChangeFeed(st).record(service="checkout", version="v9", ts=T0)
        flow = TriageFlow(prof, SourceSet(), memory=Advisor(st))
        (src,) = flow.sources.changes
        got = src.fetch_changes(T0 - timedelta(hours=1), T0 + timedelta(minutes=1))
        assert [c.id for c in got] == [ci.id] and got[0].source == "memory"
    assert TriageFlow(prof, SourceSet(), memory=False).sources.changes == []
