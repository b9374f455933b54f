"""Terminal safety in a real terminal, and a closed pipe (issue 11, findings 1 and 10).

`aisre triage`, `aisre alerts` and `aisre console` run in a pseudo-terminal (colour
on: rich's and Textual's own escape sequences are expected) on the hostile bundle;
none of the payloads' sequences (clipboard, title, clear screen, hyperlink, DCS, APC,
PM, SOS, 8-bit CSI/OSC, bidi override) may appear raw in the bytes the terminal got.

A closed pipe (`aisre triage | head -2`) ends quietly: nothing on stderr but talk,
no traceback, exit 141 (128 + SIGPIPE, what a shell reports for `grep | head`).
The console refuses to start without a terminal: exit 2 and one line.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

import pexpect
import pytest

from tests.fakes.env import AISRE, make_env
from tests.hostile import assert_no_raw_payload, hostile_bundle, joined

# payload-unique markers: Textual and rich emit their own CSI/OSC/DCS for styling and
# terminal queries, but never these
CONSOLE_RAW = [
    re.compile(r"\x1b\]52;"),
    re.compile(r"\x1b\]\d;PWNED"),
    re.compile(r"\x1b\]8;[^;]*;http://evil"),
    re.compile(r"\x1b\[2J\x1b\[H all clear"),
    re.compile(r"\x1bP1\$qm|\x1bP\+q544e"),
    re.compile(r"\x1b_Gf=100"),
    re.compile(r"\x1b\^privacy"),
    re.compile(r"\x1bXstart"),
    re.compile("[\x90\x98\x9b\x9d\x9e\x9f]"),
    re.compile("\u202e"),
]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return hostile_bundle(tmp_path_factory.mktemp("pty") / "bundle")


def pty_env(home: Path) -> dict[str, str]:
    env = make_env(home, TERM="xterm-256color", COLUMNS="160")
    env.pop("NO_COLOR", None)
    return env


def run_in_pty(home: Path, args: list[str]) -> str:
    child = pexpect.spawn(
        AISRE[0],
        [*AISRE[1:], *args],
        env=pty_env(home),
        encoding="utf-8",
        codec_errors="surrogateescape",
        timeout=90,
        dimensions=(50, 160),
    )
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before[-2000:]
    return child.before or ""


@pytest.mark.parametrize(
    "args",
    [["triage", "-v"], ["triage", "--markdown"], ["alerts"]],
    ids=["triage", "triage-markdown", "alerts"],
)
def test_hostile_bundle_in_a_real_terminal(args: list[str], bundle: Path, tmp_path: Path) -> None:
    out = run_in_pty(tmp_path, [*args, "--bundle", str(bundle)])
    assert "\x1b[" in out or args[-1] == "--markdown"  # a terminal: rich styled it
    assert "\\x1b]52;c;" in out  # the payload arrived, made visible
    assert_no_raw_payload(out, "aisre " + " ".join(args))
    for pat in CONSOLE_RAW:
        assert not pat.search(out), pat.pattern


def test_console_in_a_real_terminal(bundle: Path, tmp_path: Path) -> None:
    child = pexpect.spawn(
        AISRE[0],
        [*AISRE[1:], "console", "--refresh", "0", "--bundle", str(bundle), "179e723e"],
        env=pty_env(tmp_path),
        encoding="utf-8",
        codec_errors="surrogateescape",
        timeout=60,
        dimensions=(50, 160),
    )
    seen = ""
    try:
        child.expect("CheckoutHighErrorRate")
        child.expect(r"x1b\]52;c;")  # the payload, visible, on the incident screen
        for key in ("l", "t", "e", "\x1b", "u", "\x1b"):
            child.send(key)
            try:
                child.expect(r"x1b", timeout=5)
            except pexpect.TIMEOUT:
                pass
            seen += child.before or ""
        child.send("\x11")  # ctrl+q
        child.expect(pexpect.EOF)
        seen += child.before or ""
    finally:
        child.close()
    for pat in CONSOLE_RAW:
        m = pat.search(seen)
        assert m is None, (
            f"{pat.pattern!r} raw in the console: {seen[m.start() - 40 : m.end() + 40]!r}"
        )


# ------------------------------------------------------------------ pipes and no terminal


@pytest.fixture(scope="module")
def big_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Output well past a pipe's buffer, so `head` closes it while aisre still writes."""
    payload = joined() + " " + "B" * 250_000  # more than a pipe plus head's 128 KiB read
    b = hostile_bundle(tmp_path_factory.mktemp("pipe") / "bundle", payload, logs=False)
    # the alerts table cuts long cells (name, service, summary), so its size comes from
    # rows: 3,000 more alerts, each its own row
    alerts = json.loads((b / "alerts.json").read_text())
    base = alerts[-1]
    for i in range(3000):
        a = {k: v for k, v in base.items() if k not in ("labels", "annotations")}
        a["fingerprint"] = f"{0xB16B00B5_0000 + i:016x}"
        a["labels"] = {"alertname": f"PipeFiller{i}", "service": f"svc{i % 40}"}
        a["annotations"] = {"summary": f"row {i} of an inbox longer than a pipe holds"}
        alerts.append(a)
    (b / "alerts.json").write_text(json.dumps(alerts))
    return b


@pytest.mark.parametrize(
    ("args", "codes"),
    [
        (["triage", "-v"], {"141"}),
        (["alerts"], {"141"}),
        # one big write: CPython may report it complete when the reader leaves mid-way
        (["triage", "--markdown"], {"0", "141"}),
        (["triage", "--json"], {"0", "141"}),
    ],
    ids=["triage", "alerts", "markdown", "json"],
)
def test_closed_pipe_exits_quietly(
    args: list[str], codes: set[str], big_bundle: Path, tmp_path: Path
) -> None:
    """Finding 10: `aisre triage | head -2` exited 1 silently (typer's EPIPE exit)."""
    cmd = " ".join(shlex.quote(a) for a in [*AISRE, *args, "--bundle", str(big_bundle)])
    proc = subprocess.run(
        ["bash", "-c", f"{cmd} 2>{tmp_path / 'err'} | head -2 >/dev/null; echo ${{PIPESTATUS[0]}}"],
        env=make_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    err = (tmp_path / "err").read_text()
    assert proc.stdout.strip() in codes, (proc.stdout, err)
    for word in ("error", "Traceback", "Broken", "Exception"):
        assert word not in err, err


def test_console_refuses_without_a_terminal(tmp_path: Path) -> None:
    """Finding 10: `aisre console </dev/null >/dev/null` drew escape codes forever."""
    proc = subprocess.run(
        [*AISRE, "console", "--refresh", "0"],
        env=make_env(tmp_path),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: aisre console needs a terminal")
    assert lines[1].startswith("hint:")
