"""QA pass on the local incident memory and the audit commands (2026-12-03, s4).

A memory export handed to `incident import` and an audit log are files from outside
(a teammate, an editor, an attacker): a wrong type in them is one clear error naming
the field or the line, never a crash, never a memory that breaks later commands, and
never "the memory database is unreadable" about a healthy memory.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aisre_cli.govern.audit import AuditError, AuditLog, verify
from aisre_cli.memory.store import MemoryStore
from aisre_cli.settings import paths
from tests.fakes.cli import run
from tests.test_memory_store import SIG, report

# ------------------------------------------------------------------ incident import


def _export(tmp_path: Path) -> dict[str, Any]:
    """A real export of one resolved incident (made in a scratch memory)."""
    with MemoryStore(tmp_path / "teammate.sqlite3") as st:
        inc = st.record_report(report(), SIG)
        st.resolve(str(inc.id), rank=1, note="rolled back")
        data: dict[str, Any] = json.loads(json.dumps(st.export_all()))
    data["incidents"][0]["uid"] = "inc-0123456789ab"
    return data


def _inc(d: dict[str, Any]) -> dict[str, Any]:
    i: dict[str, Any] = d["incidents"][0]
    return i


Edit = Callable[[dict[str, Any]], None]

HOSTILE: dict[str, tuple[Edit, str]] = {
    # every later triage that compared against it crashed (exit 1)
    "signature-not-an-object": (lambda d: _inc(d).update(signature="x"), "signature"),
    # `incident show` / `incident export N` crashed on it (exit 1)
    "report-not-an-object": (lambda d: _inc(d).update(report="x"), "report"),
    # `incident export N` (the postmortem) and `incident show` crashed on these
    "report-evidence-not-objects": (lambda d: _inc(d)["report"].update(evidence=[1]), "evidence"),
    "report-evidence-text": (lambda d: _inc(d)["report"].update(evidence="xyz"), "evidence"),
    "report-alert-a-list": (lambda d: _inc(d)["report"].update(alert=[1]), "report.alert"),
    # these two were reported as "the incident memory database is unreadable ... move
    # it aside": advice to throw away a healthy memory
    "confidence-nan": (lambda d: _inc(d)["hypotheses"][0].update(confidence="NaN"), "confidence"),
    "cause-service-a-list": (lambda d: _inc(d)["cause"].update(service=["a"]), "service"),
    "labels-not-an-object": (lambda d: _inc(d)["alert"].update(labels="x"), "labels"),
    # a uid that is a number shadows incident numbers; one with escapes is not a uid
    "uid-all-digits": (lambda d: _inc(d).update(uid="1"), "uid"),
    "uid-escape-sequence": (lambda d: _inc(d).update(uid="inc-\x1b]0;pwned\x07"), "uid"),
    "event-alert-id-null": (
        lambda d: d["alert_events"][0].update(alert_id=None),
        "alert_events.0.alert_id",
    ),
    "run-steps-not-an-object": (
        lambda d: d["runbook_runs"].append(
            {"run_id": "r-1", "runbook": "rb", "outcome": "verified", "steps": "x"}
        ),
        "runbook_runs.0.steps",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_import_names_the_bad_field_and_changes_nothing(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _export(tmp_path)
    edit, field = HOSTILE[case]
    edit(data)
    f = tmp_path / "team-memory.json"
    f.write_text(json.dumps(data))
    with MemoryStore(paths.memory_db_file()) as st:
        mine = st.record_report(report(), SIG)
        before = json.dumps(st.export_all()["incidents"], sort_keys=True)
    code, out, err = run(capsys, "incident", "import", str(f))
    assert code == 2, (out, err)
    assert "malformed memory export" in err and field in err, err
    assert "unreadable" not in err and "\x1b" not in err, err
    with MemoryStore(paths.memory_db_file()) as st:
        assert json.dumps(st.export_all()["incidents"], sort_keys=True) == before
    code, out, err = run(capsys, "incident", "show", str(mine.id))
    assert code == 0, err


def test_import_cannot_give_a_known_incident_an_unknown_cause_kind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The kind was checked for new incidents only: a re-import taught a known open one
    a cause "bogus on x", which the next triage then cited as a known issue."""
    with MemoryStore(paths.memory_db_file()) as st:
        mine = st.record_report(report(), SIG)
        data = json.loads(json.dumps(st.export_all()))
    _inc(data)["cause"] = {"kind": "bogus", "service": "x", "change_id": None, "rank": None}
    f = tmp_path / "team-memory.json"
    f.write_text(json.dumps(data))
    code, out, err = run(capsys, "incident", "import", str(f))
    assert code == 2 and "cause.kind" in err and "bogus" in err, (out, err)
    with MemoryStore(paths.memory_db_file()) as st:
        assert st.get(str(mine.id)).status == "open"


def test_import_reads_escalate_false_as_false(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`bool("false")` is True: a hand-edited `"escalate": "false"` became escalated."""
    data = _export(tmp_path)
    _inc(data)["escalate"] = "false"
    f = tmp_path / "team-memory.json"
    f.write_text(json.dumps(data))
    code, out, err = run(capsys, "incident", "import", str(f))
    assert code == 0, err
    with MemoryStore(paths.memory_db_file()) as st:
        assert st.get("inc-0123456789ab").escalate is False


def test_a_good_export_still_imports_and_twice_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = copy.deepcopy(_export(tmp_path))
    data["future_key"] = {"from": "a newer aisre"}
    _inc(data)["future_field"] = 1
    f = tmp_path / "team-memory.json"
    f.write_text(json.dumps(data))
    code, out, err = run(capsys, "incident", "import", "--json", str(f))
    assert code == 0, err
    assert json.loads(out)["added"] == 1
    code, out, err = run(capsys, "incident", "import", "--json", str(f))
    assert code == 0 and json.loads(out)["unchanged"] == 1, (out, err)


def test_import_of_json_nested_too_deeply_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It was "internal error: RecursionError" (exit 1)."""
    f = tmp_path / "deep.json"
    f.write_text("[" * 100_000 + "]" * 100_000)
    code, out, err = run(capsys, "incident", "import", str(f))
    assert code == 2, (out, err)
    assert "deep.json" in err and "internal error" not in err, err


def test_a_postmortem_written_with_output_has_its_controls_made_visible(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`export N` to stdout made controls visible, `-o FILE` wrote them raw: an OSC 52
    (clipboard write) in a note ran when someone did `cat postmortem.md`."""
    with MemoryStore(paths.memory_db_file()) as st:
        inc = st.record_report(report(), SIG)
    hostile = "rolled back\x1b]52;c;aGk=\x07 \x1b[2J"
    code, _, err = run(
        capsys, "incident", "resolve", str(inc.id), "--cause", "1", "--note", hostile
    )
    assert code == 0, err
    for fmt in ("markdown", "json"):
        f = tmp_path / f"pm.{fmt}"
        code, _, err = run(capsys, "incident", "export", str(inc.id), "-f", fmt, "-o", str(f))
        assert code == 0, err
        text = f.read_text(encoding="utf-8")
        assert "\x1b" not in text and "\x07" not in text, text
        assert "rolled back" in text


# ------------------------------------------------------------------ audit log


def _log_with_line3(tmp_path: Path, line: bytes) -> AuditLog:
    log = AuditLog(paths.audit_log_file(), key=None)
    for i in range(5):
        log.append("intent", {"step": f"s{i}"}, "r-1")
    lines = log.path.read_bytes().splitlines(keepends=True)
    lines[2] = line + b"\n"
    log.path.write_bytes(b"".join(lines))
    return log


EDITED = {
    "nested-too-deeply": b"[" * 100_000 + b"]" * 100_000,
    "seq-overflows": b'{"seq":1e400,"event":"intent","hash":"x","prev":"y","data":{}}',
    "run-an-object": b'{"seq":3,"run":{"a":1},"event":"intent","hash":"x","prev":"y","data":{}}',
    "data-a-string": b'{"seq":3,"run":"r-1","event":"intent","hash":"x","prev":"y","data":"zz"}',
}


@pytest.mark.parametrize("case", sorted(EDITED))
def test_an_edited_audit_line_is_named_by_verify_and_skipped_by_show(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each of these crashed `audit show` (and the first `audit verify` too) with an
    internal error, exit 1, instead of naming the line."""
    _log_with_line3(tmp_path, EDITED[case])
    code, out, err = run(capsys, "audit", "verify")
    assert code == 6, (out, err)
    assert "record 3" in out, out
    code, out, err = run(capsys, "audit", "show", "--json")
    assert code == 0, err
    recs = json.loads(out)["records"]
    assert [r["seq"] for r in recs][:2] == [1, 2] and 5 in [r["seq"] for r in recs]
    assert all(isinstance(r["run"], str | None) for r in recs)
    code, out, err = run(capsys, "audit", "show")
    assert code == 0 and "internal error" not in err, (out, err)
    code, out, err = run(capsys, "audit", "show", "--run", "r-")
    assert code == 0 and "internal error" not in err, (out, err)
    code, out, err = run(capsys, "memory", "status")
    assert code == 0 and "internal error" not in err, (out, err)


def test_an_edited_last_audit_line_refuses_the_append_with_an_audit_error(
    tmp_path: Path,
) -> None:
    """`"seq": 1e400` on the last line: OverflowError out of `append` (an internal
    error) instead of the AuditError that stops the run cleanly."""
    log = _log_with_line3(tmp_path, EDITED["seq-overflows"])
    lines = log.path.read_bytes().splitlines(keepends=True)
    log.path.write_bytes(b"".join(lines[:3]))
    with pytest.raises(AuditError, match="damaged"):
        log.append("intent", {"step": "next"}, "r-2")


def test_a_head_anchor_with_an_overflowing_seq_fails_verification(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = _log_with_line3(tmp_path, b"x")
    log.path.write_bytes(b"")
    for i in range(2):
        log.append("intent", {"step": f"s{i}"}, "r-1")
    log.head_path.write_text('{"seq":1e400,"hash":"x"}\n')
    assert not verify(log.path, key=None).ok
    code, out, err = run(capsys, "audit", "verify")
    assert code == 6 and "internal error" not in err, (out, err)


def test_resolve_json_is_the_incident_as_show_json_prints_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`aisre.incident/v1` had two shapes: `incident show --json` printed the incident
    (alert an object, the cause with its rank), `incident resolve --json` a list row
    (alert a name, no rank). One schema id now means one shape."""
    with MemoryStore(paths.memory_db_file()) as st:
        inc = st.record_report(report(), SIG)
    code, out, err = run(capsys, "incident", "resolve", str(inc.id), "--cause", "1", "--json")
    assert code == 0, err
    resolved = json.loads(out)
    code, out, err = run(capsys, "incident", "show", str(inc.id), "--json")
    assert code == 0, err
    shown = json.loads(out)
    assert resolved["schema"] == shown["schema"] == "aisre.incident/v1"
    assert resolved.pop("spooled") is False
    assert resolved == shown
    assert isinstance(shown["alert"], dict) and shown["cause"]["rank"] == 1
