"""Terminal safety: outside text never drives the terminal (issue 11, finding 1).

Every hostile string of `tests/hostile.CORPUS` (OSC 52/0/2/8, CSI, 7- and 8-bit
DCS/APC/PM/SOS, BEL, NUL, DEL, CR, bidi overrides, a lone trailing ESC, a 5000-char
line, rich markup) is put in every field that comes from outside: alert labels and
annotations, an alert's name and service, log lines, change summary/author/version/
url, runbook title/description/step/parameter texts, kubectl's stdout and stderr
during `runbook run`, the audit records `audit show` prints, and an error message
quoting user input. Each output surface then runs with colour off (not a terminal),
so any ESC byte in what it wrote is hostile; the assertions are on the exact bytes.

Two tiers: every surface once with every payload in every field (joined), and the
cheap surfaces once per payload. The console's screens are in
`test_terminal_safety_console.py`, the real-pty runs in `test_terminal_safety_pty.py`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aisre_cli.ui.cli.app import main
from aisre_cli.ui.term import json_text, visible
from tests.fakes.env import write_config
from tests.hostile import (
    CORPUS,
    assert_terminal_safe,
    fake_kubectl,
    hostile_bundle,
    hostile_runbook_dir,
    joined,
    per_alert_bundle,
    short_joined,
)


@pytest.fixture(autouse=True)
def _no_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("TERM", "dumb")


def run(cap: pytest.CaptureFixture[bytes], *args: str) -> tuple[int, bytes, bytes]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    got = cap.readouterr()
    return code, got.out, got.err


def check(cap: pytest.CaptureFixture[bytes], *args: str, ok: tuple[int, ...] = (0,)) -> str:
    code, out, err = run(cap, *args)
    assert code in ok, (code, err.decode("utf-8", "replace")[-2000:])
    where = "aisre " + " ".join(a if len(a) < 40 else a[:40] + "…" for a in args)
    assert_terminal_safe(out, where + " (stdout)")
    assert_terminal_safe(err, where + " (stderr)")
    return out.decode() + err.decode()


# ------------------------------------------------------------------ the function


@pytest.mark.parametrize("payload", CORPUS, ids=range(len(CORPUS)))
def test_visible_leaves_no_control(payload: str) -> None:
    for oneline in (False, True):
        shown = visible(payload, oneline=oneline)
        assert_terminal_safe(shown, "visible()")
        if oneline:
            assert "\n" not in shown and "\t" not in shown


def test_visible_shows_what_it_replaced() -> None:
    assert visible("a\x1b]0;t\x07b") == "a\\x1b]0;t\\x07b"
    assert visible("\x9b2J\x9d") == "\\x9b2J\\x9d"
    assert visible("\u202eabc") == "\\u202eabc"
    assert visible("x\r\ny\tz\rw") == "x\ny\tz\\rw"
    assert visible("x\r\ny\tz", oneline=True) == "x y z"
    assert visible("plain ünïcödé ✓ █░") == "plain ünïcödé ✓ █░"
    assert visible("\udc9b") == "\\udc9b"  # an undecodable byte: shown, not a crash
    # invisible characters that make two names look alike
    assert visible("pay\u200bments\u2060\ufeff") == "pay\\u200bments\\u2060\\ufeff"
    assert json_text("pay\u200bments") == '"pay\\u200bments"'
    assert visible("👨\u200d👩") == "👨\u200d👩"  # a joiner inside an emoji sequence stays


@pytest.mark.parametrize("payload", CORPUS, ids=range(len(CORPUS)))
def test_json_keeps_the_exact_data_without_raw_controls(payload: str) -> None:
    text = json_text({"v": payload, "k": [payload]})
    assert json.loads(text) == {"v": payload, "k": [payload]}
    assert_terminal_safe(text, "json_text()")


# ------------------------------------------------------------------ every payload at once


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return hostile_bundle(tmp_path_factory.mktemp("hostile") / "bundle")


def test_alerts_table(capsysbinary: pytest.CaptureFixture[bytes], bundle: Path) -> None:
    check(capsysbinary, "alerts", "--bundle", str(bundle))  # every payload in every field


def test_alerts_table_shows_each_payload_visibly(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    """One alert per payload (in its name, service and summary): each row shows its
    payload with the controls made visible. (With every payload joined in one field the
    long cells are cut with an ellipsis, so what they show depends on the width.)"""
    b = per_alert_bundle(tmp_path / "b")
    shown = check(capsysbinary, "alerts", "--bundle", str(b))
    assert "\\x1b]52;c;" in shown and "\\x9b2J" in shown and "\\u202e" in shown


def test_alerts_summary_column_stays_readable(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding 1: a hostile summary collapsed the summary column to one character."""
    monkeypatch.setenv("COLUMNS", "120")
    b = hostile_bundle(tmp_path / "b", "\x1b]0;PWNED-TITLE\x07\x1b[2J" * 3)
    shown = check(capsysbinary, "alerts", "--bundle", str(b))
    rows = [ln for ln in shown.splitlines() if "179e723e" in ln]
    assert rows, shown
    # the summary starts on the alert's own row, with its words, not one char per line
    assert "checkout: error" in rows[0], rows[0]
    assert max(len(ln) for ln in shown.splitlines()) <= 120


def test_alerts_json_keeps_exact_data(
    capsysbinary: pytest.CaptureFixture[bytes], bundle: Path
) -> None:
    shown = check(capsysbinary, "alerts", "--bundle", str(bundle), "--json")
    data = json.loads(shown.split("\n{", 1)[-1] if not shown.startswith("{") else shown)
    summaries = [a["summary"] for g in data["incidents"] for a in g]
    assert any(s.endswith(joined()) for s in summaries)


def test_triage_rich(capsysbinary: pytest.CaptureFixture[bytes], bundle: Path) -> None:
    shown = check(capsysbinary, "triage", "--bundle", str(bundle), "-v")
    assert "\\x1b]52;c;" in shown and "\\x1b" in shown


def test_triage_markdown(capsysbinary: pytest.CaptureFixture[bytes], bundle: Path) -> None:
    shown = check(capsysbinary, "triage", "--bundle", str(bundle), "--markdown")
    assert "\\x1b]52;c;" in shown


def test_triage_json_is_exact(capsysbinary: pytest.CaptureFixture[bytes], bundle: Path) -> None:
    code, out, err = run(capsysbinary, "triage", "--bundle", str(bundle), "--json")
    assert code == 0, err
    assert_terminal_safe(out, "triage --json")
    assert_terminal_safe(err, "triage --json (stderr)")
    data = json.loads(out)
    assert data["alert"]["labels"]["team"] == joined()  # exact, not escaped


def test_escalate(capsysbinary: pytest.CaptureFixture[bytes], bundle: Path) -> None:
    shown = check(capsysbinary, "escalate", "179e723e", "--bundle", str(bundle), "--no-post")
    assert "\\x1b]52;c;" in shown


def test_error_message_quoting_input(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    """The one error renderer: a message quoting an argument full of escapes."""
    shown = check(capsysbinary, "triage", short_joined(), ok=(2,))
    assert "error:" in shown and "\\x1b]52;c;" in shown


@pytest.fixture
def hostile_profile(tmp_path: Path) -> Path:
    home = Path(__import__("os").environ["AISRE_HOME"])
    rbdir = hostile_runbook_dir(tmp_path / "runbooks")
    write_config(home, {"runbook_dirs": [str(rbdir)]})
    return home


def test_runbook_list_and_show(
    capsysbinary: pytest.CaptureFixture[bytes], hostile_profile: Path
) -> None:
    shown = check(capsysbinary, "runbook", "list")
    assert "hostile-inspect" in shown and "\\x1b]52;c;" in shown
    shown = check(capsysbinary, "runbook", "show", "hostile-inspect")
    assert "\\x1b]0;PWNED-TITLE" in shown and "\\u202e" in shown


def _kubectl_run(
    cap: pytest.CaptureFixture[bytes],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    rc: int,
    payload: str,
) -> str:
    home = Path(__import__("os").environ["AISRE_HOME"])
    write_config(home, {})
    bin_dir = tmp_path / "bin"
    monkeypatch.setenv("HOSTILE_PAYLOAD_FILE", str(fake_kubectl(bin_dir, payload)))
    monkeypatch.setenv("HOSTILE_KUBECTL_RC", str(rc))
    monkeypatch.setenv("PATH", f"{bin_dir}:{__import__('os').environ['PATH']}")
    args = ("runbook", "run", "rollback-bad-deploy", "--param", "service=checkout")
    return check(cap, *args, ok=(5, 6))


def test_runbook_run_kubectl_stdout(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown = _kubectl_run(capsysbinary, tmp_path, monkeypatch, rc=0, payload=joined())
    assert "\\x1b]52;c;" in shown  # kubectl's stdout, shown escaped
    assert "raw bytes \\x9b2J \\x9d0;PWNED-RAW" in shown  # bytes that are not UTF-8 too


def test_runbook_run_kubectl_stderr_and_audit_show(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown = _kubectl_run(capsysbinary, tmp_path, monkeypatch, rc=1, payload=short_joined())
    assert "failed:" in shown and "\\x1b" in shown  # kubectl's stderr, shown escaped
    # the audit now holds kubectl's error text: `audit show` prints it
    shown = check(capsysbinary, "audit", "show")
    assert "error=" in shown and "\\x1b" in shown
    out = check(capsysbinary, "audit", "show", "--json")
    errors = [str(r["data"].get("error", "")) for r in json.loads(out)["records"]]
    assert any("\x1b" in e for e in errors)  # --json keeps the exact text


# ------------------------------------------------------------------ one payload at a time


@pytest.mark.parametrize("payload", CORPUS, ids=range(len(CORPUS)))
def test_each_payload_alerts_runbook_audit_error(
    payload: str,
    capsysbinary: pytest.CaptureFixture[bytes],
    tmp_path: Path,
    hostile_profile: Path,
) -> None:
    b = hostile_bundle(tmp_path / "b", payload)
    check(capsysbinary, "alerts", "--bundle", str(b))
    check(capsysbinary, "change", "list", "--bundle", str(b), ok=(0, 2))
    rbdir = hostile_runbook_dir(tmp_path / "rb1", payload)
    write_config(hostile_profile, {"runbook_dirs": [str(rbdir)]})
    check(capsysbinary, "runbook", "list")
    check(capsysbinary, "runbook", "show", "hostile-inspect")
    from aisre_cli.govern.audit import AuditLog

    AuditLog().append("step.failed", {"step": payload, "error": payload}, run=payload[:40])
    check(capsysbinary, "audit", "show")
    check(capsysbinary, "triage", payload, "--bundle", str(b), ok=(2,))


def test_emoji_codes_in_outside_text_stay_text(
    tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    """An alert annotation, a log line or a change summary can hold `:fire:`; rich's
    markup would turn it into a glyph even in escaped text. The engineer sees what the
    source said (and can search for it)."""
    import shutil

    from tests.conftest import DEMO

    bundle = tmp_path / "b"
    shutil.copytree(DEMO, bundle)
    alerts = json.loads((bundle / "alerts.json").read_text())
    for a in alerts:
        a["labels"]["alertname"] = a["labels"]["alertname"] + ":fire:"
        a["annotations"]["summary"] = "disk :warning: full :x:"
    (bundle / "alerts.json").write_text(json.dumps(alerts))
    out = check(capfdbinary, "triage", "--bundle", str(bundle), "--no-record")
    assert ":fire:" in out
    assert "\U0001f525" not in out and "\u26a0" not in out and "\u274c" not in out


def test_a_huge_service_name_is_cut_not_folded_over_screens(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime

    from aisre_cli.model import Alert
    from aisre_cli.ui.render import alerts_table

    monkeypatch.setenv("COLUMNS", "100")
    a = Alert(id="fp1", name="X", service="s" * 50_000, starts_at=datetime.now(UTC))
    alerts_table([[a]])
    shown = capsys.readouterr().out
    assert len(shown.splitlines()) < 12, len(shown.splitlines())
    assert "…" in shown
