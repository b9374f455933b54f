"""Incident memory store: migrations, corruption, lifecycle, track record, noise, sharing."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aisre_cli.errors import ExitCode, UsageError
from aisre_cli.memory import migrations, similarity
from aisre_cli.memory.store import MemoryStore, MemoryStoreError, RunOutcome
from aisre_cli.model import Alert, Hypothesis, TriageReport, Verdict
from aisre_cli.settings import paths

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def alert(i: int = 0, fid: str = "fp0001", start: datetime = T0, **kw: object) -> Alert:
    return Alert(
        id=fid,
        name="CheckoutHighErrorRate",
        service="checkout",
        severity="critical",
        labels={"alertname": "CheckoutHighErrorRate", "service": "checkout", "pod": f"p{i}"},
        starts_at=start,
        **kw,  # type: ignore[arg-type]
    )


def report(a: Alert | None = None) -> TriageReport:
    a = a or alert()
    hyps = [
        Hypothesis(
            rank=1, kind="deploy", service="checkout", subject="c-1", statement="s", confidence=0.7
        ),
        Hypothesis(rank=2, kind="resource_saturation", service="db", statement="t", confidence=0.2),
    ]
    return TriageReport(alert=a, onset=a.starts_at, verdict=Verdict(hypotheses=hyps))


SIG = similarity.make_signature(
    {"alertname": "CheckoutHighErrorRate"},
    "checkout",
    {"families": ["checkout|errors", "checkout|latency"], "changes": ["deploy|checkout"]},
)


# ------------------------------------------------------------------ migrations


def test_fresh_store_applies_every_migration_in_order_wal(tmp_path: Path) -> None:
    with MemoryStore(tmp_path / "m.db") as st:
        assert st.migrations_applied() == list(migrations.REVISIONS)
        assert st.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert st.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    with MemoryStore(tmp_path / "m.db") as st:  # reopening applies nothing twice
        assert len(st.migrations_applied()) == len(migrations.REVISIONS)


def test_database_created_by_revision_0001_upgrades_in_place(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    with MemoryStore(db, upto="0001") as old:
        assert old.migrations_applied() == ["0001"]
        old.conn.execute(
            "INSERT INTO incidents (uid, created_at, alert_id, alert_name, status, cause_kind,"
            " cause_service) VALUES ('inc-old', '2025-01-01', 'fp', 'A', 'resolved', 'deploy',"
            " 'api')"
        )
        cols = {r[1] for r in old.conn.execute("PRAGMA table_info(incidents)")}
        assert "origin" not in cols
    inode = db.stat().st_ino
    with MemoryStore(db) as st:
        assert st.migrations_applied() == list(migrations.REVISIONS)
        inc = st.get("inc-old")
        assert inc.origin == "local" and inc.cause_text() == "deploy on api"
        st.record_run(RunOutcome("r-1", "rollback", "verified", kind="deploy"))
        assert st.successes("rollback", "deploy") == 1
    assert db.stat().st_ino == inode  # the same file, upgraded, not a new one


@pytest.mark.parametrize("how", ["garbage", "torn"])
def test_corrupted_database_is_a_clear_error_and_never_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    from aisre_cli.ui.cli.app import main

    db = paths.memory_db_file()
    db.parent.mkdir(parents=True)
    if how == "garbage":
        db.write_bytes(b"this is not sqlite" * 300)
    else:
        with MemoryStore(db) as st:
            for i in range(30):
                st.record_report(report(alert(i, fid=f"fp{i:04d}")))
        raw = bytearray(db.read_bytes())
        raw[4096:12288] = b"\xff" * 8192  # scribble over the b-tree pages
        db.write_bytes(bytes(raw))
    before = db.read_bytes()
    with pytest.raises(MemoryStoreError) as exc:
        MemoryStore(db)
    assert exc.value.exit_code == ExitCode.USAGE == 2
    assert str(db) in exc.value.message and "mv" in (exc.value.hint or "")
    try:
        main(["incident", "list"])
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    err = capsys.readouterr().err
    assert code == 2 and "unreadable" in err and "Traceback" not in err
    assert db.read_bytes() == before
    assert sorted(p.name for p in db.parent.iterdir()) == [db.name]  # no new db beside it


# ------------------------------------------------------------------ lifecycle


def test_record_get_resolve(tmp_path: Path) -> None:
    with MemoryStore(tmp_path / "m.db") as st:
        inc = st.record_report(report(), SIG)
        assert inc.id == 1 and inc.status == "open" and len(inc.hypotheses) == 2
        assert st.get(inc.uid[:8]).id == 1 and st.get("1").uid == inc.uid
        done = st.resolve("1", rank=1, note="rolled back")
        assert done.cause_text() == "deploy on checkout (change c-1)"
        assert done.cause_rank == 1 and done.note == "rolled back"
        other = st.record_report(report())
        r2 = st.resolve(str(other.id), kind="resource_saturation", service="db")
        assert r2.cause_rank == 2
        with pytest.raises(UsageError, match="unknown kind"):
            st.resolve("1", kind="gremlins", service="x")
        with pytest.raises(UsageError, match="no hypothesis ranked 9"):
            st.resolve("1", rank=9)
        with pytest.raises(UsageError, match="no incident"):
            st.get("999")
        assert [i.id for i in st.recent()] == [2, 1]
        assert [i.id for i in st.recent(status="open")] == []


def test_similar_finds_resolved_incidents_only(tmp_path: Path) -> None:
    with MemoryStore(tmp_path / "m.db") as st:
        inc = st.record_report(report(), SIG)
        assert st.similar(SIG) == []  # not resolved yet: nothing learned
        st.resolve(str(inc.id), rank=1)
        (m, found), *_ = st.similar(SIG)
        assert found.uid == inc.uid and m.score == 1.0 and m.strong


def test_similarity_needs_evidence_not_just_labels() -> None:
    a = similarity.make_signature({"alertname": "HighLatency"}, "site", {})
    b = similarity.make_signature({"alertname": "HighLatency"}, "site", {"families": ["x|errors"]})
    m = similarity.similarity(a, a)
    assert m.score == 1.0 and m.support < 0.6 and not m.strong
    other = similarity.make_signature(
        {"alertname": "HighLatency"}, "site", {"families": ["db|connections"]}
    )
    assert similarity.similarity(b, other).score < similarity.similarity(b, b).score
    assert similarity.template_of("user 1234 failed id=0xdeadbeef") == "user <*> failed id=<*>"


# ------------------------------------------------------------------ track record


def test_track_record_counts_per_runbook_and_class(tmp_path: Path) -> None:
    with MemoryStore(tmp_path / "m.db") as st:
        st.record_report(report())
        for i, out in enumerate(["verified", "verified", "failed", "undone", "aborted"]):
            st.record_run(RunOutcome(f"r-{i}", "rollback", out, kind="deploy", alert_id="fp0001"))
        st.record_run(RunOutcome("r-9", "rollback", "verified", kind="crash_loop"))
        assert (st.successes("rollback", "deploy"), st.failures("rollback", "deploy")) == (2, 2)
        assert st.successes("rollback", "crash_loop") == 1
        st.record_run(RunOutcome("r-2", "rollback", "verified", kind="deploy"))  # resumed
        assert (st.successes("rollback", "deploy"), st.failures("rollback", "deploy")) == (3, 1)
        assert len(st.get("1").runs) == 5  # linked to the incident of the same alert
        rows = {(r["runbook"], r["kind"]): r for r in st.track_record()}
        assert rows[("rollback", "deploy")]["success_rate"] == 0.75


# ------------------------------------------------------------------ noise


def episodes(st: MemoryStore, n: int, minutes: int = 10) -> Alert:
    for k in range(n):
        s = T0 - timedelta(days=k + 1)
        st.record_alerts([alert(fid="flappy", start=s, ends_at=s + timedelta(minutes=minutes))])
    return alert(fid="flappy", start=T0)


def test_noise_needs_repeats_self_resolution_and_no_action(tmp_path: Path) -> None:
    with MemoryStore(tmp_path / "m.db") as st:
        now = episodes(st, 2)
        assert not st.noise(now).noisy  # two episodes are not a pattern
        episodes(st, 5)
        v = st.noise(now)
        assert v.noisy and v.episodes == 5 and v.self_resolved == 5
        assert "fired 5 times" in v.summary("X")
        st.record_run(RunOutcome("r-1", "restart", "verified", alert_id="flappy"))
        assert not st.noise(now).noisy  # someone acted on it once: not noise
    with MemoryStore(tmp_path / "n.db") as st:
        now = episodes(st, 5, minutes=240)
        assert not st.noise(now).noisy  # long outages that needed someone


# ------------------------------------------------------------------ team sharing


def test_export_import_is_idempotent(tmp_path: Path) -> None:
    with MemoryStore(tmp_path / "a.db") as a:
        i1 = a.record_report(report(), SIG)
        a.resolve(str(i1.id), rank=1, note="bad deploy")
        a.record_report(report(alert(fid="fp0002")))
        a.record_run(RunOutcome("r-1", "rollback", "verified", kind="deploy", alert_id="fp0001"))
        episodes(a, 3)
        data = json.loads(json.dumps(a.export_all()))
    with MemoryStore(tmp_path / "b.db") as b:
        first = b.import_data(data, "import:team.json")
        assert first == {
            "added": 2,
            "updated": 0,
            "unchanged": 0,
            "runs_added": 1,
            "events_added": 5,
        }
        snapshot = json.dumps(b.export_all()["incidents"], sort_keys=True)
        again = b.import_data(data, "import:team.json")
        assert again == {
            "added": 0,
            "updated": 0,
            "unchanged": 2,
            "runs_added": 0,
            "events_added": 0,
        }
        assert json.dumps(b.export_all()["incidents"], sort_keys=True) == snapshot
        assert b.count() == 2 and b.successes("rollback", "deploy") == 1
        got = b.get(i1.uid)
        assert got.cause_text() == "deploy on checkout (change c-1)"
        assert got.origin == "import:team.json" and got.signature == similarity.to_json(SIG)
        # a teammate resolved the other one meanwhile: a re-import learns the cause only
        data["incidents"][1]["cause"] = {"kind": "network", "service": "lb", "rank": None}
        assert b.import_data(data, "import:team.json")["updated"] == 1
        assert b.import_data(data, "import:team.json")["updated"] == 0
    with MemoryStore(tmp_path / "c.db") as c, pytest.raises(UsageError, match="not an aisre"):
        c.import_data({"incidents": []}, "x")
    with MemoryStore(tmp_path / "c.db") as c:
        bad = {"schema": "aisre.memory/v1", "incidents": [{"uid": "u"}]}
        with pytest.raises(UsageError, match="malformed"):
            c.import_data(bad, "x")
        assert c.count() == 0  # all or nothing


def test_store_is_usable_from_a_second_connection_while_one_writes(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    with MemoryStore(db) as a, MemoryStore(db) as b:
        a.conn.execute("BEGIN IMMEDIATE")
        a.conn.execute(
            "INSERT INTO incidents (uid, created_at, alert_id, alert_name) VALUES"
            " ('inc-x', 'now', 'fp', 'A')"
        )
        assert b.count() == 0  # WAL: readers are not blocked by the writer
        a.conn.execute("COMMIT")
        assert b.count() == 1
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_advisor_cites_the_runbook_that_fixed_it(tmp_path: Path) -> None:
    from aisre_cli.memory.store import Advisor
    from aisre_cli.model import Context, Window

    facets = {"families": ["checkout|errors", "checkout|latency"], "changes": ["deploy|checkout"]}
    with MemoryStore(tmp_path / "m.db") as st:
        a = alert()
        ctx = Context(alert=a, alerts=[a], window=Window(T0 - timedelta(hours=1), T0))
        adv = Advisor(st)
        adv.observe(ctx, facets)
        assert adv.priors(ctx) == ({}, []) and adv.classify(ctx) is None
        inc = adv.record(report(a))
        st.resolve(str(inc.id), rank=1)
        st.record_run(RunOutcome("r-1", "rollback", "verified", kind="deploy", alert_id=a.id))
        later = alert(fid="fp0002", start=T0 + timedelta(days=3))
        ctx2 = Context(alert=later, alerts=[later], window=ctx.window)
        adv2 = Advisor(st)
        adv2.observe(ctx2, facets)
        priors, (ev,) = adv2.priors(ctx2)
        assert priors[("checkout", "deploy")] == 1.0
        assert "fixed by runbook rollback, verified" in ev.summary
        assert "(change c-1)" in ev.summary and ev.kind == "memory"
        assert adv2.classify(ctx2) == "known_issue"
        adv3 = Advisor(st)  # same alert, other evidence: not the known issue
        adv3.observe(ctx2, {"families": ["search|cpu"], "templates": ["search|oom <*>"]})
        priors3, _ = adv3.priors(ctx2)
        assert adv3.classify(ctx2) is None


def test_alerts_command_flags_likely_noise(capsys: pytest.CaptureFixture[str]) -> None:
    from aisre_cli.ui.cli.app import main
    from tests.conftest import PETSHOP

    b = PETSHOP / "petshop-high_traffic-test-issue6"
    if not b.exists():
        pytest.skip("petshop dataset not present")
    fp = json.loads((b / "alerts.json").read_text())[0]["fingerprint"]
    start = datetime.fromisoformat(
        json.loads((b / "alerts.json").read_text())[0]["startsAt"].replace("Z", "+00:00")
    )
    with MemoryStore(paths.memory_db_file()) as st:
        for k in range(3):
            s = start - timedelta(hours=6 * (k + 1))
            st.record_alerts([alert(fid=fp, start=s, ends_at=s + timedelta(minutes=5))])
    try:
        main(["alerts", "--bundle", str(b), "--json"])
    except SystemExit as exc:
        assert not exc.code
    doc = json.loads(capsys.readouterr().out)
    (a,) = [x for g in doc["incidents"] for x in g]
    assert a["likely_noise"] is True and "fired 3 times" in a["noise"]
    import jsonschema  # the published contract describes what a noisy alert looks like

    schema = Path(__file__).resolve().parent.parent / "docs" / "alerts.schema.json"
    jsonschema.validate(doc, json.loads(schema.read_text()))
    try:
        main(["alerts", "--bundle", str(b)])
    except SystemExit as exc:
        assert not exc.code
    assert "likely noise: PetSiteHighLatency" in capsys.readouterr().out
