"""Incident memory, exploratory QA findings: input the drivers cannot store, errors that
name the real problem (read-only, disk full) instead of "move the file aside", and
stored text shown later (incident show/list, postmortems, known-issue evidence) that
cannot forge lines of the output around it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from aisre_cli.errors import UsageError
from aisre_cli.memory import backend, postmortem
from aisre_cli.memory.store import Advisor, MemoryStore, MemoryStoreError
from aisre_cli.model import Context, TriageReport, Window
from aisre_cli.settings import paths
from tests.fakes.cli import run
from tests.test_memory_store import SIG, alert, report

FORGED = "status   resolved: FORGED"


# ------------------------------------------------------------------ undecodable input


def test_an_undecodable_byte_in_a_note_or_ref_is_kept_as_its_escape(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`--note $'\\x9b…'` from a terminal not set to UTF-8 arrives as a lone surrogate:
    it was an internal error (UnicodeEncodeError, exit 1) and the cause was not saved."""
    db = paths.memory_db_file()
    with MemoryStore(db) as st:
        st.record_report(report(), SIG)
    code, out, err = run(capsys, "incident", "resolve", "1", "--cause", "1", "--note", "a\udc9bb")
    assert code == 0, err
    assert "resolved" in out
    with MemoryStore(db) as st:
        assert st.get("1").note == "a\\x9bb"
    code, out, err = run(
        capsys, "incident", "resolve", "1", "--kind", "deploy", "--service", "checkout",
        "--change", "c\udc9b1", "--force",
    )  # fmt: skip
    assert code == 0, err
    with MemoryStore(db) as st:
        inc = st.get("1")
        assert inc.cause_change == "c\\x9b1"
        with pytest.raises(UsageError, match="no incident"):
            st.get("inc-\udc9babcdef")
    code, _, err = run(capsys, "incident", "show", "1\udc9b")
    assert code == 2 and "no incident" in err and "internal error" not in err


def test_an_undecodable_byte_reaches_the_spool_as_its_escape(tmp_path: Path) -> None:
    """Team mode with the server down: the write goes to the spool as UTF-8 JSON
    (`spool.canonical`), which raised UnicodeEncodeError on a lone surrogate: the
    confirmed cause (or triage's incident, for a label from a source's JSON) was lost."""
    from aisre_cli.memory.spool import canonical
    from aisre_cli.memory.store import WriteOp

    spooled: list[bytes] = []
    with MemoryStore(tmp_path / "m.db") as st:

        def spooling(op: WriteOp) -> dict[str, object]:
            spooled.append(canonical(op.to_json()))
            return st.apply(op)

        st.writer = spooling
        a = alert(fid="fp\udc9b1").model_copy(
            update={"labels": {"alertname": "A", "team": "pay\udc9bments"}}
        )
        st.record_report(report(a), SIG)
        inc = st.resolve("1", rank=1, note="a\udc9bb")
    assert inc.note == "a\\x9bb" and inc.alert_id == "fp\\x9b1"
    assert inc.labels["team"] == "pay\\x9bments"
    assert len(spooled) == 2 and all(b"\\x9b" in x for x in spooled)


# ------------------------------------------------------------------ errors that say why


def _store_with_one(tmp_path: Path) -> MemoryStore:
    st = MemoryStore(tmp_path / "m.db")
    st.record_report(report(), SIG)
    return st


def test_a_read_only_memory_is_not_called_unreadable(tmp_path: Path) -> None:
    """A memory this user cannot write (a read-only file or data directory) said
    "the incident memory database is unreadable ... move it aside to start a new
    memory": advice that discards a healthy memory. It says what is wrong now."""
    with _store_with_one(tmp_path) as st:
        st.conn.execute("PRAGMA query_only = ON")  # SQLITE_READONLY, as a 0444 file gives
        with pytest.raises(MemoryStoreError) as exc:
            st.record_report(report(alert(fid="fp0002")), SIG)
        err = exc.value
        assert "cannot be written" in err.message and "unreadable" not in err.message
        assert "permissions" in (err.hint or "") and "mv " not in (err.hint or "")
        assert err.exit_code == 2
        st.conn.execute("PRAGMA query_only = OFF")
        assert st.count() == 1  # nothing half-written


def test_a_full_disk_is_not_called_a_damaged_memory(tmp_path: Path) -> None:
    with _store_with_one(tmp_path) as st:
        pages = st.conn.execute("PRAGMA page_count").fetchone()[0]
        st.conn.execute(f"PRAGMA max_page_count = {pages}")  # SQLITE_FULL on growth
        big = report(alert(fid="fp0003"))
        big.verdict.reason = "x" * 200_000
        with pytest.raises(MemoryStoreError) as exc:
            st.record_report(big, SIG)
        err = exc.value
        assert "disk is full" in err.message and "unreadable" not in err.message
        assert "free space" in (err.hint or "")
        assert st.count() == 1


def test_a_damaged_memory_error_is_one_line() -> None:
    """SQLite's integrity check lists one problem per line; the error is one line."""
    err = backend._corrupt(Path("/x/memory.sqlite3"), sqlite3.DatabaseError("a ***\nPage 12: b"))
    assert "\n" not in err.message and "a *** Page 12: b" in err.message


# ------------------------------------------------------------------ stored text, shown


def _hostile_incident(db: Path, note: str) -> None:
    a = alert(fid="179e723e`\n\n# Injected heading\n").model_copy(
        update={"name": f"CheckoutHighErrorRate\n{FORGED}"}
    )
    rep = report(a)
    rep.verdict.hypotheses[0].statement = f"first line\n{FORGED}"
    with MemoryStore(db) as st:
        st.record_report(rep, SIG)
        st.resolve("1", rank=1, note=note)


def test_incident_show_and_list_keep_each_stored_field_on_its_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Alert labels, triage's statements and notes are stored text: a newline in one
    printed a line of its own (`status   resolved: FORGED` under the real status)."""
    monkeypatch.setenv("COLUMNS", "200")  # wide enough that nothing wraps: one row
    _hostile_incident(paths.memory_db_file(), f"rolled back\n{FORGED}\r\nmore")
    code, out, err = run(capsys, "incident", "show", "1")
    assert code == 0, err
    lines = out.splitlines()
    assert not [x for x in lines if x.startswith(FORGED)], out
    assert [x[:9] for x in lines[:4]] == ["incident ", "alert    ", "verdict  ", "status   "]
    assert any(x.startswith("note     rolled back status") for x in lines)
    code, out, err = run(capsys, "incident", "list")
    assert code == 0, err
    assert len(out.strip().splitlines()) == 2, out  # the header and one row
    assert "status resolved: FOR" in out  # folded into the row (cut to the column's width)


def test_postmortem_markdown_cannot_be_restructured_by_stored_text() -> None:
    """The fingerprint (from alerts.json) went into a code span raw: a backtick and
    newlines in it closed the span and started a heading of its own."""
    db = paths.memory_db_file()
    _hostile_incident(db, "n")
    with MemoryStore(db) as st:
        md = postmortem.markdown(postmortem.build(st.get("1")))
    lines = md.splitlines()
    assert not [x for x in lines if x.startswith("# Injected")], md
    assert [x for x in lines if x.startswith("# ")] == [lines[0]]
    (alert_line,) = [x for x in lines if x.startswith("- **Alert:**")]
    assert alert_line.count("`") == 2 and "# Injected heading" in alert_line


def test_known_issue_evidence_and_conflict_quote_a_note_on_one_line(tmp_path: Path) -> None:
    with MemoryStore(tmp_path / "m.db") as st:
        st.record_report(report(), SIG)
        st.resolve("1", rank=1, note=f"rolled back\n\n{FORGED}\n| x | y |")
        adv = Advisor(st)
        a = alert(fid="fp0009")
        ctx = Context(alert=a, alerts=[a], window=Window(start=a.starts_at, end=a.starts_at))
        adv.observe(ctx, {k: v for k, v in SIG.items() if k != "labels"})
        _, evidence = adv.priors(ctx)
        (mem,) = [e for e in evidence if e.subject != "noise"]
        assert "\n" not in mem.summary
        assert 'note: "rolled back status resolved: FORGED | x | y |"' in mem.summary
        with pytest.raises(UsageError) as exc:
            st.resolve("1", rank=2)
        msg = exc.value.message
        assert "\n" not in msg and "already has a confirmed cause" in msg


# ------------------------------------------------------------------ replay


def _truth_bundle(root: Path, name: str, truth: str) -> Path:
    d = root / name
    d.mkdir(parents=True)
    (d / "bundle.yaml").write_text(
        f"id: {name}\ntitle: t\nwindow: {{start: '2026-03-01T11:00:00Z',"
        " end: '2026-03-01T13:00:00Z'}\n"
    )
    (d / "truth.yaml").write_text(truth)
    return d


def test_replay_confirms_a_service_only_label_and_goes_on_past_a_bad_bundle(
    tmp_path: Path,
) -> None:
    """nezha-ob's truths are `match: service` with kinds such as `code_defect`: replay
    resolved with that kind, `unknown kind 'code_defect'` stopped the whole replay
    (exit 2, no figures) at the first one. A bundle it cannot use is now an error row."""
    from aisre_cli.memory.replay import replay

    nezha = "root_cause: {kind: code_defect, service: checkout}\nmatch: service\n"
    bundles = [
        _truth_bundle(tmp_path, "a", nezha),
        _truth_bundle(tmp_path, "b", "root_cause: {kind: gremlins, service: x}\n"),
        _truth_bundle(tmp_path, "c", nezha),
    ]
    fids = iter(["fp-a", "fp-b", "fp-c"])

    def triage(path: Path, adv: Advisor | None) -> TriageReport:
        return report(alert(fid=next(fids) if adv is not None else "fp-none"))

    with MemoryStore(tmp_path / "m.db") as st:
        rep = replay(bundles, triage, st)
        assert [c.error is None for c in rep.cases] == [True, False, True]
        assert "unknown kind 'gremlins'" in (rep.cases[1].error or "")
        assert [c.recurring for c in rep.cases] == [False, False, True]
        assert rep.cases[2].rank_after == 1  # the service, as `aisre eval` counts it
        first = st.get(rep.cases[0].incident)
        assert (first.cause_kind, first.cause_service) == ("unknown", "checkout")
    assert rep.summary()["errors"] == 1


def test_replay_cli_shows_the_figures_then_names_the_bundles_it_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json
    import shutil

    from tests.conftest import SUITE

    seq = tmp_path / "seq"
    for name in ("fleet-006", "fleet-015"):
        shutil.copytree(SUITE / name, seq / name)
    bad = shutil.copytree(SUITE / "fleet-007", seq / "zz-bad")
    (bad / "truth.yaml").write_text("root_cause: {kind: gremlins, service: x}\n")
    code, out, err = run(capsys, "incident", "replay", str(seq), "--json")
    assert code == 2
    data = json.loads(out)
    assert data["summary"]["bundles"] == 3 and data["summary"]["errors"] == 1
    assert [c["recurring"] for c in data["cases"] if c["error"] is None] == [False, True]
    assert "zz-bad: not replayed:" in err and "unknown kind 'gremlins'" in err
    assert "1 bundle(s) could not be replayed" in err and "Traceback" not in err


def test_weak_matches_lend_half_their_similarity_as_a_prior() -> None:
    """QA 2026-12-03 (nezha-ob T1447): two incidents alike only in labels and services
    (similarity 0.53-0.62, no signal support) added up by noisy-or to a prior of about
    0.8 that lifted `unknown` on frontend over the live evidence's cause. A match too
    weak to name a known issue now lends half its similarity; a strong one all of it."""
    from types import SimpleNamespace

    from aisre_cli.memory.advisor import Advisor
    from aisre_cli.memory.noise import NoiseVerdict
    from aisre_cli.memory.similarity import Match
    from aisre_cli.model import Alert, Context, Window

    def inc(n: int, svc: str) -> SimpleNamespace:
        return SimpleNamespace(
            id=n, uid=f"inc-{n:012d}", cause_service=svc, cause_kind="network",
            cause_change=None, note=None,
        )  # fmt: skip

    weak = [(Match(0.62, 0.2), inc(1, "frontend")), (Match(0.55, 0.1), inc(2, "frontend"))]
    strong = [(Match(0.9, 0.8), inc(3, "cart"))]

    class Store:
        def __init__(self, matches: list[tuple[Match, SimpleNamespace]]) -> None:
            self.matches = matches

        def similar(self, sig: object) -> list[tuple[Match, SimpleNamespace]]:
            return self.matches

        def noise(self, alert: Alert) -> NoiseVerdict:
            return NoiseVerdict(False, 0, 0, 0, None)

        def runs_for(self, inc: object) -> list[object]:
            return []

    from datetime import UTC, datetime

    alert = Alert(
        id="a1", name="HighLatency", service="frontend", labels={}, starts_at=datetime.now(UTC)
    )
    for matches, want in ((weak, 1 - (1 - 0.31) * (1 - 0.275)), (strong, 0.9)):
        adv = Advisor(Store(matches))  # type: ignore[arg-type]
        ctx = Context(alert=alert, alerts=[alert], window=Window(alert.starts_at, alert.starts_at))
        priors, _ = adv.priors(ctx)
        svc = matches[0][1].cause_service
        assert priors[(svc, "unknown")] == pytest.approx(want, abs=1e-3)


def _demo_triage(st: object) -> object:
    from aisre_cli.flows.triage import TriageFlow, TriageOptions
    from aisre_cli.memory.advisor import Advisor
    from aisre_cli.settings.config import demo_profile
    from aisre_cli.sources.registry import build_sources
    from tests.conftest import DEMO

    prof = demo_profile()
    adv = Advisor(st)  # type: ignore[arg-type]
    flow = TriageFlow(prof, build_sources(prof, DEMO), memory=adv)
    out = flow.triage("CheckoutHighErrorRate", TriageOptions(record=False))
    return out, adv


def test_a_known_issue_the_evidence_does_not_point_to_is_not_called_one(tmp_path: Path) -> None:
    """QA 2026-12-03: the demo resolved as network on checkout (hypothesis 2), then
    triaged again, was classified `known_issue` while its reason named the deploy on
    payments at 1.00 and the remembered cause sat at 0.00."""
    from aisre_cli.memory.storage import MemoryStore

    with MemoryStore(tmp_path / "m.db") as st:
        first, adv = _demo_triage(st)  # type: ignore[misc]
        inc = adv.record(first.report)
        st.resolve(str(inc.id), kind="network", service="checkout")
        again, _ = _demo_triage(st)  # type: ignore[misc]
        v = again.report.verdict
        assert v.hypotheses[0].service == "payments" and v.hypotheses[0].kind == "deploy"
        assert v.classification == "actionable"
        assert "resembles a known issue (network on checkout" in v.reason
        # the remembered cause confirmed as it is: a known issue again
        st.resolve(str(inc.id), kind="deploy", service="payments", force=True)
        third, _ = _demo_triage(st)  # type: ignore[misc]
        assert third.report.verdict.classification == "known_issue"


def test_a_noisy_alert_with_a_clear_cause_this_time_is_actionable(tmp_path: Path) -> None:
    """QA 2026-12-03: a flapping alert that now comes with a 185σ error jump after a
    deploy was `likely_noise: deploy on payments explains the alert (confidence 1.00)`,
    and the reason never said why it was called noise."""
    from datetime import timedelta

    from aisre_cli.memory.storage import MemoryStore

    with MemoryStore(tmp_path / "m.db") as st:
        first, _ = _demo_triage(st)  # type: ignore[misc]
        a = first.report.alert
        for k in range(4):
            start = a.starts_at - timedelta(days=k + 1)
            st.record_alerts(
                [a.model_copy(update={"starts_at": start, "ends_at": start + timedelta(minutes=7)})]
            )
        again, adv = _demo_triage(st)  # type: ignore[misc]
        v = again.report.verdict
        assert adv.classify(again.ctx) == "likely_noise"  # memory's opinion stands
        assert not v.escalate and v.classification == "actionable"
        assert "the alert is usually noise (" in v.reason and "fired 4 times" in v.reason


def test_resolve_by_kind_and_service_takes_the_change_its_hypothesis_names(
    tmp_path: Path,
) -> None:
    """QA 2026-12-03: `--kind deploy --service payments` confirmed the deploy without its
    change id (`--cause 1` took it), so the next known_issue could not name the change."""
    from aisre_cli.memory.storage import MemoryStore

    with MemoryStore(tmp_path / "m.db") as st:
        first, adv = _demo_triage(st)  # type: ignore[misc]
        inc = adv.record(first.report)
        done = st.resolve(str(inc.id), kind="deploy", service="payments")
        assert (done.cause_kind, done.cause_service) == ("deploy", "payments")
        assert done.cause_change == "deploy-48213" and done.cause_rank == 1


def test_the_sqlite_result_codes_the_backend_reads_are_sqlite3s() -> None:
    """backend.py names SQLite's primary result codes without importing sqlite3 (a
    team-store process never loads it): they must be the module's."""
    import sqlite3

    from aisre_cli.memory import backend

    assert backend._SQLITE_LOCKED == (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    assert backend._SQLITE_UNWRITABLE == (
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_PERM,
        sqlite3.SQLITE_CANTOPEN,
    )
    assert (backend._SQLITE_FULL, backend._SQLITE_IOERR) == (
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_IOERR,
    )
    assert backend._is_driver_error(sqlite3.OperationalError("x"))
    assert not backend._is_driver_error(ValueError("x"))
