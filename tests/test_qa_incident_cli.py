"""QA pass on `aisre incident list|show|track-record|replay` and `aisre memory status`
with hostile input (2026-12-03).

What an on-call engineer relies on: a reference that names no incident is one line and
exit 2 with a hint (never an internal error, never "your memory is unreadable"); a
list filter that matches nothing says so; stored text from anywhere (alert labels, an
imported teammate's file) never reaches the terminal raw and never breaks the table
layout or forges a row; a damaged memory is one clear error and is left in place;
`--json` is valid JSON; replay never touches the real memory, even when interrupted.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aisre_cli.memory.store import MemoryStore
from aisre_cli.settings import paths
from tests.conftest import REPO, SUITE
from tests.fakes.cli import run
from tests.fakes.env import default_sigint
from tests.test_memory_store import SIG, alert, report

ESC = "\x1b[31mRED\x1b]8;;http://evil\x07link\x1b]8;;\x07\x1b[2J"
"""Colour, an OSC 8 hyperlink and a screen clear: none may reach the terminal raw."""


def _record(n: int = 1) -> None:
    """`n` ordinary incidents in the real memory (AISRE_HOME), numbered 1..n."""
    with MemoryStore(paths.memory_db_file()) as st:
        for i in range(n):
            st.record_report(report(alert(i, fid=f"fp{i:04d}")), SIG)


def _hostile() -> None:
    """Three ordinary incidents, then one whose every stored field is hostile."""
    _record(3)
    a = alert(9, fid="fp-hostile").model_copy(
        update={"name": "Alert" + ESC + "[bold red]markup[/]" + "X" * 500, "service": "S" * 300}
    )
    rep = report(a)
    rep.verdict.hypotheses[0].statement = "stmt " + ESC
    with MemoryStore(paths.memory_db_file()) as st:
        inc = st.record_report(rep, SIG)
        st.resolve(
            str(inc.id),
            kind="deploy",
            service="pay" + ESC + "[/]" + "w " * 200,
            change="c-1\r\nstatus   resolved: FORGED",
            note="note " + ESC + "\n forged line",
        )


def _import(tmp_path: Path, capsys: pytest.CaptureFixture[str], data: dict[str, Any]) -> None:
    f = tmp_path / "export.json"
    f.write_text(json.dumps({"schema": "aisre.memory/v1", **data}), encoding="utf-8")
    code, _, err = run(capsys, "incident", "import", str(f))
    assert code == 0, err


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------ incident show


@pytest.mark.parametrize(
    "ref",
    [
        "99999999999999999999999",  # past SQLite's integers: OverflowError, exit 1
        "9" * 5000,  # past Python's int() digit limit
        "²",  # str.isdigit() but not int(): ValueError, exit 1
        "١",  # an Arabic-Indic one: silently showed incident 1
        " ",
        "inc-" + "a" * 60_000,  # SQLite refused the LIKE: "the database is unreadable"
    ],
    ids=["past-int64", "5000-digits", "superscript-two", "arabic-indic-one", "blank", "60k"],
)
def test_show_a_ref_that_names_no_incident_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], ref: str
) -> None:
    _record()
    before = _digest(paths.memory_db_file())
    for argv in (
        ("incident", "show", ref),
        ("incident", "show", ref, "--json"),
        ("incident", "resolve", ref, "--cause", "1"),
        ("incident", "export", ref),
    ):
        code, out, err = run(capsys, *argv)
        assert code == 2, (argv[:2], err)
        assert out == ""
        lines = err.splitlines()
        assert lines[0].startswith("error: ") and lines[1].startswith("hint: "), err
        assert len(lines) == 2 and len(err) < 400, err  # the ref is cut, not echoed whole
        assert "internal error" not in err and "unreadable" not in err, err
    assert _digest(paths.memory_db_file()) == before


def test_show_hints_say_what_a_reference_looks_like(capsys: pytest.CaptureFixture[str]) -> None:
    _record()
    code, _, err = run(capsys, "incident", "show", "inc-0")  # a uid prefix too short
    assert code == 2 and "6 characters" in err, err
    code, _, err = run(capsys, "incident", "show", "--", "-1")
    assert code == 2 and "1, 2, 3" in err, err


def test_show_an_ambiguous_uid_prefix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = {"alert": {"id": "fpA", "name": "A"}}
    incs = [{**base, "uid": "inc-abcdef000001"}, {**base, "uid": "inc-abcdef000002"}]
    _import(tmp_path, capsys, {"incidents": incs})
    code, out, err = run(capsys, "incident", "show", "inc-abcdef")
    assert (code, out) == (2, "") and "ambiguous" in err and "hint:" in err, err
    code, out, _ = run(capsys, "incident", "show", "inc-abcdef000002")
    assert code == 0 and "inc-abcdef000002" in out


@pytest.mark.parametrize("evidence", ["xyz", [1, 2], {"a": 1}, [None], 5])
def test_show_a_stored_report_whose_evidence_is_not_a_list_of_objects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], evidence: Any
) -> None:
    """`show` crashed (exit 1) on such a report. An import now refuses it (naming the
    field); one already in a memory (written before that check) is still shown."""
    import sqlite3

    inc = {"uid": "inc-ev0000000001", "alert": {"id": "fp", "name": "A"}}
    bad = {"schema": "aisre.memory/v1", "incidents": [{**inc, "report": {"evidence": evidence}}]}
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(bad))
    code, _, err = run(capsys, "incident", "import", str(f))
    assert code == 2 and "report.evidence" in err, err
    _import(tmp_path, capsys, {"incidents": [inc]})
    with sqlite3.connect(paths.memory_db_file()) as db:
        db.execute("UPDATE incidents SET report = ?", (json.dumps({"evidence": evidence}),))
    code, out, err = run(capsys, "incident", "show", "inc-ev0000000001")
    assert code == 0, err
    assert out.startswith("incident 1 (inc-ev0000000001)")
    # no hypothesis to point at: the suggestion names the flags that work
    assert "resolve 1 --kind KIND --service SERVICE" in out


# ------------------------------------------------------------------ incident list


def test_list_on_an_empty_memory_says_so_and_json_keeps_its_keys(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "incident", "list")
    assert (code, out) == (0, "") and len(err.splitlines()) == 1, err
    code, out, _ = run(capsys, "incident", "list", "--json")
    empty = json.loads(out)
    _record()
    code, out, _ = run(capsys, "incident", "list", "--json")
    full = json.loads(out)
    assert empty.keys() == full.keys() and empty["incidents"] == [] and full["incidents"]


def test_list_a_filter_that_matches_nothing_does_not_say_the_memory_is_empty(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _record(2)
    code, out, err = run(capsys, "incident", "list", "--status", "resolved")
    assert (code, out) == (0, "")
    assert "no incidents recorded yet" not in err
    assert "no resolved incident among the 2 recorded" in err, err


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("--limit", "99999999999999999999999"), 0),  # was OverflowError, exit 1
        (("--limit", "0"), 2),
        (("--limit", "-3"), 2),
        (("--limit", "many"), 2),
        (("--status", "bogus"), 2),
    ],
)
def test_list_options(capsys: pytest.CaptureFixture[str], args: tuple[str, ...], code: int) -> None:
    _record(2)
    got, out, err = run(capsys, "incident", "list", *args)
    assert got == code, err
    assert "internal error" not in err
    if code == 0:
        assert len(out.splitlines()) == 3  # the header and both incidents


def _rows(text: str) -> list[str]:
    """The table's rows that start an incident (`  4  …`)."""
    return [x for x in text.splitlines() if re.match(r"\s*\d+\s", x)]


@pytest.mark.parametrize("columns", [60, 80, 100, 132])
def test_list_a_hostile_name_does_not_break_the_table(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, columns: int
) -> None:
    """One 500-character alert name made rich squeeze every other column to nothing:
    at any width the incident numbers, verdicts and statuses of all rows vanished."""
    _hostile()
    monkeypatch.setenv("COLUMNS", str(columns))
    code, out, err = run(capsys, "incident", "list")
    assert code == 0, err
    lines = out.splitlines()
    assert all(len(x) <= columns for x in lines), max(len(x) for x in lines)
    assert [r.split()[0] for r in _rows(out)] == ["4", "3", "2", "1"], out
    assert sum(r.rstrip().endswith("open") for r in _rows(out)) == 3, out
    assert "\x1b" not in out and "\x07" not in out
    assert "Alert\\x1b[3" in out  # shown as its escape
    assert "…" in out and "X" * 200 not in out  # the long name is cut with an ellipsis
    if columns >= 100:
        assert "CheckoutHighErrorRate" in out  # the ordinary names stay whole


def test_list_into_a_pipe_is_not_padded_to_thousands_of_columns(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _hostile()
    monkeypatch.delenv("COLUMNS", raising=False)
    code, out, err = run(capsys, "incident", "list")
    assert code == 0, err
    assert max(len(x) for x in out.splitlines()) <= 620  # was 1,300 for this memory
    assert len(_rows(out)) == 4
    assert not [x for x in out.splitlines() if x.lstrip().startswith("status")]  # no forged row


def test_list_in_a_terminal_shows_no_raw_control_and_keeps_its_columns(tmp_path: Path) -> None:
    """The real thing: `aisre incident list` on an 80-column pty."""
    import fcntl
    import pty
    import struct
    import termios

    _hostile()
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env.update(PYTHONPATH=str(REPO), TERM="xterm-256color")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 80, 0, 0))
    p = subprocess.Popen(
        [sys.executable, "-m", "aisre_cli", "incident", "list"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        close_fds=True,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the pty
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert p.wait(timeout=60) == 0
    raw = b"".join(chunks).decode("utf-8", "replace")
    text = re.sub(r"\x1b\[[0-9;]*m", "", raw)  # rich's own styles (the bold header)
    assert "\x1b" not in text and "\x07" not in text, repr(text[:300])
    lines = text.replace("\r", "").splitlines()
    assert all(len(x) <= 80 for x in lines), lines
    assert [r.split()[0] for r in _rows("\n".join(lines))] == ["4", "3", "2", "1"], text


# ------------------------------------------------------------------ incident track-record


def test_track_record_an_imported_runbook_name_cannot_forge_a_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    forged = "FORGED-runbook   deploy   success 100%  (verified 99)"
    runs = [
        {"run_id": "r1", "runbook": "rb-ok", "kind": "deploy", "outcome": "verified"},
        {"run_id": "r2", "runbook": f"evil\n{forged}", "kind": "deploy", "outcome": "failed"},
        {"run_id": "r3", "runbook": "esc" + ESC, "kind": "k\t" + ESC, "outcome": "o\nut" + ESC},
        {"run_id": "r4", "runbook": "L" * 3000, "kind": "deploy", "outcome": "verified"},
    ]
    _import(tmp_path, capsys, {"runbook_runs": runs})
    code, out, err = run(capsys, "incident", "track-record")
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 4, out  # one line per (runbook, kind)
    assert not [x for x in lines if x.startswith("FORGED")], out
    assert "\x1b" not in out and "\x07" not in out
    assert max(len(x) for x in lines) < 200
    code, out, _ = run(capsys, "incident", "track-record", "--json")
    assert {r["runbook"] for r in json.loads(out)["runbooks"]} >= {f"evil\n{forged}", "L" * 3000}


def test_track_record_on_an_empty_memory(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "incident", "track-record")
    assert (code, out) == (0, "") and len(err.splitlines()) == 1
    code, out, _ = run(capsys, "incident", "track-record", "--json")
    assert json.loads(out) == {"schema": "aisre.track-record/v1", "runbooks": []}


# ------------------------------------------------------------------ a damaged memory


def _truncate(db: Path) -> None:
    db.write_bytes(db.read_bytes()[:1000])


def _garbage(db: Path) -> None:
    db.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 40)


def _directory(db: Path) -> None:
    db.unlink()
    db.mkdir()


@pytest.mark.parametrize("damage", [_truncate, _garbage, _directory])
def test_a_damaged_memory_is_one_error_and_is_left_in_place(
    capsys: pytest.CaptureFixture[str], damage: Any
) -> None:
    _record()
    db = paths.memory_db_file()
    for side in (db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        side.unlink(missing_ok=True)
    damage(db)
    snapshot = _digest(db) if db.is_file() else None
    for argv in (
        ("incident", "list"),
        ("incident", "list", "--json"),
        ("incident", "show", "1"),
        ("incident", "track-record", "--json"),
        ("memory", "status"),
    ):
        code, out, err = run(capsys, *argv)
        assert code == 2, (argv, err)
        assert "Traceback" not in err and "internal error" not in err
        errs = [x for x in err.splitlines() if x.startswith("error: ")]
        assert len(errs) == 1 and str(db) in errs[0], err
        if "--json" in argv or argv[0] == "incident":
            assert out == ""
    code, out, err = run(capsys, "memory", "status", "--json")
    assert code == 2
    status = json.loads(out)
    assert status["error"] and status["tables"] == {}
    # never replaced by a new, empty memory
    assert (_digest(db) if db.is_file() else None) == snapshot
    assert db.is_dir() == (damage is _directory)


def test_memory_status_json_when_the_data_directory_is_a_file(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """It printed nothing on stdout (an OSError from mkdir, not the store's error)."""
    data = paths.memory_db_file().parent
    shutil.rmtree(data, ignore_errors=True)
    data.parent.mkdir(parents=True, exist_ok=True)
    data.write_text("not a directory")
    code, out, err = run(capsys, "memory", "status", "--json")
    assert code == 2, err
    status = json.loads(out)
    assert "not a directory" in status["error"] and str(data) in status["error"]
    assert status["schema"] == "aisre.memory.status/v1" and status["tables"] == {}
    assert data.read_text() == "not a directory"
    code, out, err = run(capsys, "memory", "status")
    assert code == 2 and "FAILED:" in out and "hint:" in err


# ------------------------------------------------------------------ incident replay


@pytest.mark.parametrize("weight", ["nan", "inf", "-inf"])
def test_replay_refuses_a_memory_weight_that_is_not_a_number(
    capsys: pytest.CaptureFixture[str], weight: str
) -> None:
    """NaN ranked every hypothesis alike (top-1 100% -> 0%, even without memory) and
    `--json` printed `NaN`, which no JSON parser accepts."""
    bundle = str(SUITE / "fleet-002")
    code, out, err = run(capsys, "incident", "replay", bundle, "--memory-weight", weight, "--json")
    assert (code, out) == (2, ""), out[-200:]
    assert "--memory-weight" in err and "hint:" in err


def test_replay_counts_bundles_it_cannot_use_and_reports_valid_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "bundles"
    for name in ("fleet-001", "fleet-002", "fleet-003"):
        shutil.copytree(SUITE / name, folder / name)
    (folder / "fleet-001" / "truth.yaml").unlink()
    (folder / "fleet-003" / "alerts.json").write_text("{")
    code, out, err = run(capsys, "incident", "replay", str(folder), "--json")
    assert code == 2
    rep = json.loads(out, parse_constant=lambda c: pytest.fail(f"not JSON: {c}"))
    assert rep["summary"]["bundles"] == 3 and rep["summary"]["errors"] == 2
    assert "fleet-001: not replayed" in err and "fleet-003: not replayed" in err
    assert not paths.memory_db_file().exists()  # the real memory is not even opened
    code, out, err = run(capsys, "incident", "replay", str(tmp_path / "empty-and-missing"))
    assert (code, out) == (2, "") and "error:" in err


def test_replay_counts_a_bundle_with_a_broken_bundle_yaml_and_replays_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A malformed bundle.yaml has no window to order the folder by: it used to end the
    whole replay (exit 2, nothing replayed)."""
    folder = tmp_path / "bundles"
    for name in ("fleet-001", "fleet-002", "fleet-003"):
        shutil.copytree(SUITE / name, folder / name)
    (folder / "fleet-001" / "bundle.yaml").write_text("id: [\n")
    code, out, err = run(capsys, "incident", "replay", str(folder), "--json")
    rep = json.loads(out)
    assert rep["summary"]["bundles"] == 3 and rep["summary"]["errors"] == 1, err
    assert rep["summary"]["all"]["before"]["n"] == 2
    assert [c["bundle"].rsplit("/", 1)[-1] for c in rep["cases"]][-1] == "fleet-001"


_INTERRUPTING_REPLAY = """
import os, signal, sys
import aisre_cli.memory.replay as replay_mod
real = replay_mod.replay
def replay(paths, triage, store, progress=None):
    calls = []
    def interrupting(path, adv):
        calls.append(path)
        if len(calls) == 3:  # the second bundle, after the first was recorded
            os.kill(os.getpid(), signal.SIGINT)
        return triage(path, adv)
    return real(paths, interrupting, store, progress)
replay_mod.replay = replay
from aisre_cli.ui.cli.app import main
main(sys.argv[1:])
"""


def test_replay_interrupted_exits_130_and_leaves_the_real_memory_untouched(
    tmp_path: Path,
) -> None:
    _record(2)
    db = paths.memory_db_file()
    before = (_digest(db), sorted(os.listdir(db.parent)))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(scratch)}
    bundles = [str(SUITE / n) for n in ("fleet-001", "fleet-002", "fleet-003")]
    cp = subprocess.run(
        [sys.executable, "-c", _INTERRUPTING_REPLAY, "incident", "replay", *bundles, "--json"],
        env=env,
        preexec_fn=default_sigint,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cp.returncode == 130, cp.stderr
    assert cp.stdout == "" and cp.stderr.strip() == "interrupted", cp.stderr
    assert (_digest(db), sorted(os.listdir(db.parent))) == before
    assert os.listdir(scratch) == []  # the scratch memory went with it


def test_list_shows_which_verdicts_said_escalate(capsys: pytest.CaptureFixture[str]) -> None:
    """`incident show` says "actionable (escalated)"; the list said only "actionable",
    so the incidents the engine could not explain did not stand out."""
    with MemoryStore(paths.memory_db_file()) as st:
        plain = report(alert(1, fid="fp-plain"))
        esc = report(alert(2, fid="fp-esc"))
        esc.verdict.escalate = True
        st.record_report(plain, SIG)
        st.record_report(esc, SIG)
    code, out, _ = run(capsys, "incident", "list")
    assert code == 0
    rows = _rows(out)
    assert len(rows) == 2
    assert "escalated" in rows[0] and "actionable" not in rows[0]  # newest first
    assert "actionable" in rows[1] and "escalated" not in rows[1]
    code, out, _ = run(capsys, "incident", "list", "--json")
    assert [i["escalate"] for i in json.loads(out)["incidents"]] == [True, False]
