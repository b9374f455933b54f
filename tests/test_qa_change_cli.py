"""Hostile-input QA of `aisre change record` and `aisre change list` on the local
change file (no team store): what a deploy pipeline hands it unattended, and what a
damaged feed looks like. Each test names the defect it pins."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from aisre_cli.model import utcnow
from aisre_cli.settings import paths
from aisre_cli.sources.changefile import ChangeFile
from aisre_cli.sources.timeparse import iso
from tests.contract_servers.cli import Result, run_cli

REPO = Path(__file__).resolve().parent.parent


def feed() -> ChangeFile:
    return ChangeFile(paths.changes_file())


def record(*args: str) -> Result:
    return run_cli(["change", "record", *args])


def refused(r: Result, *words: str) -> None:
    """Exit 2, one `error:` line (and its hint), no traceback, nothing on stdout."""
    assert r.code == 2, (r.code, r.out, r.err)
    assert r.out == ""
    lines = r.err.splitlines()
    assert lines and lines[0].startswith("error: "), r.err
    assert all(ln.startswith(("error: ", "hint: ")) for ln in lines), r.err
    assert "Traceback" not in r.err and "internal error" not in r.err
    for w in words:
        assert w in lines[0], r.err


def cli_env(home: Path) -> dict[str, str]:
    return {**os.environ, "AISRE_HOME": str(home), "AISRE_RAISE_ERRORS": "0"}


def cli(
    home: Path,
    *args: str | bytes,
    preexec_fn: Callable[[], None] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[bytes]:
    """`aisre args` in a subprocess (bytes arguments pass as they are)."""
    argv: list[str | bytes] = [sys.executable, "-m", "aisre_cli", *args]
    return subprocess.run(
        argv,
        env=cli_env(home),
        capture_output=True,
        cwd=REPO,
        preexec_fn=preexec_fn,
        timeout=timeout,
        check=False,
    )


# ---------------------------------------------------------------- bad option values


@pytest.mark.parametrize(
    "service",
    ["check out", " checkout", "check\nout", "check\x1b[31mout", "check\u202eout", "a\tb"],
)
def test_a_service_with_spaces_or_controls_is_refused(service: str) -> None:
    """Was recorded (exit 0): a name no alert label can match, with a raw newline or
    ESC written into the feed and echoed in `recorded deploy of ...`."""
    refused(record("--service", service, "--version", "v1"), "--service")
    assert not paths.changes_file().exists()


def test_arguments_that_are_not_utf8_are_a_usage_error(_aisre_home: Path) -> None:
    """A Latin-1 byte in an argument (Python reads it as a lone surrogate) crashed the
    JSON encoder: `internal error: TypeError: str is not valid UTF-8` (exit 1)."""
    for opt in ("--service", "--summary", "--version", "--author", "--previous-version"):
        args = ["--service", "ok", opt, "caf\udce9"]
        refused(record(*args), opt, "not valid UTF-8", "0xe9")
    p = cli(_aisre_home, "change", "record", "--service", b"caf\xe9", "--summary", b"\xff")
    assert p.returncode == 2, p.stderr
    assert b"--service is not valid UTF-8 (byte 0xe9)" in p.stderr
    assert b"Traceback" not in p.stderr and p.stdout == b""
    assert not paths.changes_file().exists()


def test_megabyte_values_are_refused() -> None:
    """A 1 MB --summary or --version was written as one 1 MB line, shown whole in
    every `change list` row and triage's evidence."""
    big = "a" * 1_000_000
    for opt in ("--summary", "--version", "--previous-version", "--author", "--url"):
        refused(record("--service", "checkout", opt, big), opt, "1,000,000 characters")
    refused(record("--service", "s" * 300), "--service", "300 characters")
    assert not paths.changes_file().exists()
    r = record("--service", "checkout", "--summary", "x" * 1000)  # at the limit
    assert r.code == 0, r.err


def test_controls_are_refused_in_one_line_fields_but_kept_visible_in_a_summary() -> None:
    """An author or version carrying an OSC title sequence or a newline was stored;
    a summary (a commit subject) may hold anything printable and is shown escaped."""
    refused(record("-s", "ok", "--author", "\x1b]0;pwned\x07"), "--author", "control")
    refused(record("-s", "ok", "--version", "v1\n"), "--version", "control")
    refused(record("-s", "ok", "--url", "https://ci/run 1"), "--url", "white space")
    r = record("-s", "ok", "--summary", "fix \x1b[2J cart\nbody", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["summary"] == "fix \x1b[2J cart\nbody"


def test_url_must_be_http() -> None:
    """`--url javascript:alert(1)` became the evidence's query, where a link belongs."""
    for url in ("javascript:alert(1)", "file:///etc/passwd", "ci.example.com/run/1"):
        refused(record("-s", "ok", "--url", url), "--url", "not an http(s) URL")
    r = record("-s", "ok", "--url", "https://ci.example.com/run/1", "--json")
    assert r.code == 0 and json.loads(r.out)["url"] == "https://ci.example.com/run/1"


def test_empty_optional_values_are_options_not_given() -> None:
    """`--previous-version "$PREV"` with PREV unset stored `""` and skipped the lookup
    of the last recorded version; `--version ""` and `--url ""` were stored as `""`."""
    assert record("-s", "checkout", "--version", "v1").code == 0
    r = record("-s", "checkout", "--version", "v2", "--previous-version", "", "--url", "", "--json")
    assert r.code == 0, r.err
    out = json.loads(r.out)
    assert out["previous_version"] == "v1" and out["url"] is None
    r = record("-s", "checkout", "--version", "", "--author", "", "--json")
    assert r.code == 0 and json.loads(r.out)["version"] is None
    assert b'""' not in paths.changes_file().read_bytes()


def test_at_without_a_zone_or_years_back_is_refused() -> None:
    """A pipeline's local time without an offset was read as UTC (the change hours off
    its place); `--at 0` (an unset variable) was recorded in 1970."""
    for at in ("2026-03-11T13:30:00", "2026-03-11", "2026-03-11 13:30"):
        refused(record("-s", "ok", "--at", at), "has no time zone")
    for at in ("0", "1970-01-01T00:00:00Z", "2000-01-01T00:00:00+01:00"):
        refused(record("-s", "ok", "--at", at), "days in the past")
    refused(record("-s", "ok", "--at", "nan"), "--at")
    refused(record("-s", "ok", "--at", "2999-01-01T00:00:00Z"), "in the future")
    assert not paths.changes_file().exists()
    when = utcnow().replace(microsecond=0) - timedelta(hours=1)
    for at in (
        when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        when.astimezone().isoformat(),  # a local offset
        when.strftime("%Y-%m-%dT%H:%M:%S.123456789Z"),
        str(int(when.timestamp())),
    ):
        r = record("-s", "ok", "--at", at, "--json")
        assert r.code == 0, (at, r.err)
        assert json.loads(r.out)["ts"].startswith(when.strftime("%Y-%m-%dT%H:%M:%S")), at


def test_record_json_is_json_on_stdout_and_talk_on_stderr(_aisre_home: Path) -> None:
    cfg = paths.config_file()
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text("profiles: [\n")  # a broken config: still records, says so
    r = record("-s", "checkout", "--version", "v1", "--summary", "\x1b[1mnew", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["summary"] == "\x1b[1mnew" and "\x1b" not in r.out
    assert "config not usable" in r.err and "recording to" in r.err
    r = run_cli(["change", "list", "--json"])
    assert r.code == 0 and len(json.loads(r.out)) == 1
    # listing reads the feed: it said "recording to" there as well
    assert "reading" in r.err and "recording" not in r.err


# ---------------------------------------------------------------- a damaged feed


def test_a_record_after_a_torn_last_line_is_not_lost() -> None:
    """The append went on the end of the torn line (a disk that filled up, a killed
    writer): one malformed line, and the new change, reported recorded, was gone."""
    assert record("-s", "checkout", "--version", "v1").code == 0
    with paths.changes_file().open("ab") as fh:
        fh.write(b'{"id":"torn","ts":"2026-')
    r = record("-s", "checkout", "--version", "v2", "--json")
    assert r.code == 0, r.err
    assert "warning:" in r.err and "skipped 1 malformed line" in r.err  # said in CI's log
    f = feed()
    assert [c.version for c in f.read_all()] == ["v1", "v2"]
    assert json.loads(r.out)["previous_version"] == "v1"


def test_a_change_glued_to_a_torn_line_by_an_older_aisre_is_read_back(tmp_path: Path) -> None:
    p = tmp_path / "c.jsonl"
    good = '{"id":"a","ts":"2026-01-01T00:00:00Z","service":"s","kind":"deploy"}'
    glued = '{"id":"b","ts":"2026-01-01T00:05:00Z","service":"s","kind":"deploy","version":"v2"}'
    p.write_text(f'{good}\n{{"id":"torn","ts":"2026-{glued}\nnot json {{"id": at all\n{good}\n')
    f = ChangeFile(p)
    changes = f.read_all()
    assert sorted(c.id for c in changes) == ["a", "b"]
    assert next(c for c in changes if c.id == "b").ref == f"{p}:2"
    notes = [n.detail for n in f.drain_notes()]
    assert any("skipped 2 malformed lines" in n for n in notes), notes


def _fsize_limit(limit: int) -> Callable[[], None]:
    import resource

    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_FSIZE semantics")
def test_a_short_write_is_an_error_and_the_next_record_recovers(_aisre_home: Path) -> None:
    """A full disk (here: `ulimit -f`) cut the line short and `record` still printed the
    id and exited 0: the pipeline believed the deploy recorded."""
    assert cli(_aisre_home, "change", "record", "-s", "a", "--version", "v1").returncode == 0
    size = paths.changes_file().stat().st_size
    p = cli(
        _aisre_home,
        *("change", "record", "-s", "a", "--version", "v2", "-m", "x" * 300),
        preexec_fn=_fsize_limit(size + 50),
    )
    assert p.returncode == 2, p.stderr
    assert b"bytes written; the change is not recorded" in p.stderr and p.stdout == b""
    assert b"Traceback" not in p.stderr
    assert cli(_aisre_home, "change", "record", "-s", "a", "--version", "v3").returncode == 0
    assert [c.version for c in feed().read_all()] == ["v1", "v3"]


def test_a_fifo_in_place_of_the_feed_is_refused_not_waited_on() -> None:
    """With --previous-version (no read first), opening the FIFO for writing blocked
    forever: a CI step that never ends."""
    p = paths.changes_file()
    p.parent.mkdir(parents=True)
    os.mkfifo(p)
    home = paths.changes_file().parent.parent
    proc = cli(home, "change", "record", "-s", "a", "--previous-version", "v0", timeout=60)
    assert proc.returncode == 2 and b"not a regular file" in proc.stderr, proc.stderr


def test_a_directory_or_a_file_in_the_way_is_one_clear_line() -> None:
    p = paths.changes_file()
    p.parent.mkdir(parents=True)
    p.mkdir()
    refused(record("-s", "a", "--previous-version", "v0"), "Is a directory")
    refused(record("-s", "a"), "Is a directory")  # the read for the previous version
    p.rmdir()
    p.parent.rmdir()
    p.parent.write_text("")  # the data folder is a file: "File exists" said nothing
    refused(record("-s", "a"), "a file is in the way", str(p.parent))


def test_a_feed_above_the_read_limit_still_takes_a_record() -> None:
    """A feed too big to read (256 MB) failed every record without --previous-version
    (exit 3), and its hint sent the user to a profile setting that does not exist."""
    p = paths.changes_file()
    p.parent.mkdir(parents=True)
    with p.open("wb") as fh:
        fh.truncate(300_000_000)  # sparse
    r = record("-s", "checkout", "--version", "v1")
    assert r.code == 0, r.err
    assert "warning: previous version unknown" in r.err
    r = run_cli(["change", "list"])
    assert r.code == 3 and "mv " in r.err and "in the profile" not in r.err


def test_concurrent_records_lose_nothing_and_tear_no_line(_aisre_home: Path) -> None:
    env = cli_env(_aisre_home)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "aisre_cli", "change", "record", "-s", f"svc{i}"]
            + ["--version", f"v{i}", "--summary", chr(65 + i) * 900],
            env=env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i in range(8)
    ]
    ids = set()
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        ids.add(out.decode().strip())
    lines = paths.changes_file().read_bytes().splitlines()
    assert len(lines) == 8
    rows = [json.loads(ln) for ln in lines]
    assert {r["id"] for r in rows} == ids
    assert all(set(r["summary"]) == {r["summary"][0]} for r in rows)


# ---------------------------------------------------------------- change list


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-1", "0", "1e308"])
def test_list_since_hours_bad_values(value: str) -> None:
    """nan, inf and huge values crashed (`internal error: OverflowError`, exit 1); a
    negative or zero window listed nothing without a word."""
    assert record("-s", "a").code == 0
    r = run_cli(["change", "list", "--since-hours", value])
    if value == "1e308":  # everything since 1970
        assert r.code == 0 and "deploy" in r.out, r.err
    else:
        refused(r, "--since-hours")


def test_list_columns_line_up_by_terminal_cells_in_a_pipe() -> None:
    """A CJK service name counted one column a character and pushed its row's columns
    right of the others'; a 3000-character version was a 3000-column VERSION."""
    t = utcnow() - timedelta(minutes=5)
    f = feed()
    f.record(service="日本語サービス", version="v2", summary="s1", ts=t)
    f.record(service="checkout", version="v1", summary="s2", ts=t + timedelta(seconds=1))
    with paths.changes_file().open("ab") as fh:  # hand-written: no limits applied
        row = {"id": "h", "ts": iso(utcnow()), "service": "x", "kind": "deploy"}
        fh.write(json.dumps({**row, "version": "V" * 3000, "summary": "y" * 50_000}).encode())
        fh.write(b"\n")
    r = run_cli(["change", "list"])
    assert r.code == 0, r.err
    from rich.cells import cell_len

    lines = r.out.splitlines()
    starts = [
        cell_len(ln[: ln.index(tok)])
        for ln, tok in zip(lines[:3], ["SUMMARY", "s1", "s2"], strict=True)
    ]
    assert len(set(starts)) == 1, r.out
    assert max(len(ln) for ln in lines) < 1400 and lines[-1].endswith("…")


@pytest.mark.skipif(shutil.which("script") is None, reason="needs script(1) for a pty")
def test_list_in_a_terminal_shows_no_raw_escape_and_fits_the_width(_aisre_home: Path) -> None:
    f = feed()
    t = utcnow() - timedelta(minutes=5)
    f.record(service="checkout", version="v1", summary="\x1b[2J\x1b]0;pwned\x07\u009b31m", ts=t)
    with paths.changes_file().open("ab") as fh:
        row = {"id": "h", "ts": iso(utcnow()), "service": "s" * 500, "kind": "deploy"}
        fh.write(json.dumps({**row, "version": "V" * 500, "summary": "z" * 5000}).encode())
        fh.write(b"\n")
    aisre = f"{sys.executable} -m aisre_cli change list"
    p = subprocess.run(
        ["script", "-qec", f"stty cols 100 rows 40; {aisre}", "/dev/null"],
        env={**cli_env(_aisre_home), "COLUMNS": "100", "TERM": "dumb"},
        capture_output=True,
        cwd=REPO,
        timeout=120,
    )
    assert p.returncode == 0, p.stdout + p.stderr
    text = p.stdout.decode()
    assert "\x1b" not in text and "\x9b" not in text and "\x07" not in text
    assert "\\x1b[2J" in text
    lines = [ln.rstrip("\r") for ln in text.splitlines() if ln.strip()]
    assert len(lines) == 3, text  # header + 2 rows: nothing wrapped
    assert all(len(ln) <= 100 for ln in lines), [len(ln) for ln in lines]
