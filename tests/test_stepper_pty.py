"""The one-keystroke stepper in a real pseudo-terminal (pexpect).

Only an exact, lone `y` runs a write step. Every other answer, including things
that *start* with y (`yes`, `y;rm`, `y\\r`), look like y (`Y`, Cyrillic `у`,
full-width `ｙ`), or end the conversation (EOF, Ctrl-C, SIGINT, SIGTERM, no terminal),
must leave the fake kubectl without a single real `rollout undo` call.

Most bad inputs are fed, one burst each, to one long-lived stepper process (the
prompt must come back after each, and nothing may have run); the inputs that end
the process get a process each.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import pexpect
import pytest

from tests.fakes.env import AISRE, kubectl_calls, make_env, write_config, writes

PROMPT = r"Run this step\? y run, n skip, d dry run, a abort, \? help: "
ARGS = ["runbook", "run", "rollback-bad-deploy", "--param", "service=checkout"]

BAD_INPUTS: list[tuple[str, str]] = [
    ("enter-cr", "\r"),
    ("enter-lf", "\n"),
    ("crlf", "\r\n"),
    ("space", " "),
    ("spaces", "   "),
    ("upper-Y", "Y"),
    ("upper-Y-space", "Y "),
    ("space-y", " y"),
    ("y-space", "y "),
    ("yes", "yes"),
    ("Yes", "Yes"),
    ("YES", "YES"),
    ("yy", "yy"),
    ("y-enter", "y\r"),
    ("y-newline", "y\n"),
    ("cyrillic-u", "у"),
    ("cyrillic-U", "У"),
    ("fullwidth-y", "ｙ"),
    ("fullwidth-Y", "Ｙ"),
    ("y-acute", "ý"),
    ("y-semicolon-rm", "y;rm -rf /"),
    ("y-semicolon-space-rm", "y; rm"),
    ("y-and-and", "y&&true"),
    ("y-pipe-sh", "y|sh"),
    ("dollar-paren", "$(y)"),
    ("backticks", "`y`"),
    ("arrow-up", "\x1b[A"),
    ("escape", "\x1b"),
    ("tab", "\t"),
    ("zero", "0"),
    ("one", "1"),
    ("true", "true"),
    ("ok", "ok"),
    ("ja", "j"),
    ("oui", "o"),
    ("si", "s"),
    ("plus", "+"),
    ("nul", "\x00"),
    ("backspace", "\x7f"),
    ("ctrl-z-byte", "\x1a"),
    ("ctrl-backslash-byte", "\x1c"),
    ("y-nul", "y\x00"),
    ("nul-y", "\x00y"),
    ("yn", "yn"),
    ("ny", "ny"),
    ("hundred-y", "y" * 100),
    ("zwsp-y", "\u200by"),
    ("y-zwsp", "y\u200b"),
    ("ye", "ye"),
    ("bracketed-paste-y", "\x1b[200~y\x1b[201~"),
    ("Y-enter", "Y\r"),
    ("dry-run-key", "d"),
    ("help-key", "?"),
]


def _spawn(home: Path, args: list[str] | None = None) -> pexpect.spawn:
    env = make_env(home)
    child = pexpect.spawn(
        AISRE[0],
        [*AISRE[1:], *(args or ARGS)],
        env=env,
        encoding="utf-8",
        timeout=15,
        dimensions=(50, 200),
    )
    return child


@pytest.fixture(scope="module")
def stepper(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("stepper-home")
    write_config(home, {})
    child = _spawn(home)
    child.expect(PROMPT)
    yield child, home
    if child.isalive():
        child.send("a")
        child.expect(pexpect.EOF)
    child.close()
    assert writes(home) == [], "a bad answer ran the write step"


@pytest.mark.parametrize(("name", "answer"), BAD_INPUTS, ids=[n for n, _ in BAD_INPUTS])
def test_bad_input_runs_nothing(
    stepper: tuple[pexpect.spawn, Path], name: str, answer: str
) -> None:
    child, home = stepper
    child.send(answer)
    if answer == "d":
        child.expect("dry run")
    elif answer == "?":
        child.expect("exactly one lower-case y")
    else:
        child.expect("not a choice: only an exact y runs the step")
    child.expect(PROMPT)
    assert writes(home) == [], f"{name!r} ran the step"


def test_bad_input_case_count() -> None:
    ending = 9  # the process-ending cases below
    assert len(BAD_INPUTS) + ending >= 50


def _run_until_prompt(tmp_path: Path) -> tuple[pexpect.spawn, Path]:
    write_config(tmp_path, {})
    child = _spawn(tmp_path)
    child.expect(PROMPT)
    return child, tmp_path


def test_exact_y_runs_the_step_and_prints_the_head(tmp_path: Path) -> None:
    child, home = _run_until_prompt(tmp_path)
    child.send("y")
    # no Prometheus in this profile: the rollback's check cannot be made (issue 12 §3.4)
    child.expect("unverified: cannot verify")
    child.expect(r"run r-\S+: unverified")
    child.expect(r"audit head: #\d+ ([0-9a-f]{64})")
    child.expect(pexpect.EOF)
    child.close()
    undo = writes(home)
    assert undo == [
        ["--context", "ctx-test", "--namespace", "shop", "rollout", "undo", "deployment/checkout"]
    ]
    assert child.exitstatus == 6


def test_n_skips(tmp_path: Path) -> None:
    child, home = _run_until_prompt(tmp_path)
    child.send("n")
    child.expect("skipped")
    # issue 12 §3.15: "wait for the rollback" depends on the rollback: skipped with it
    child.expect("skipped.* step wait-rollout: depends on step rollback, which was skipped")
    child.expect(r"run r-\S+: completed")
    child.expect(pexpect.EOF)
    child.close()
    assert writes(home) == []
    assert not [a for a in kubectl_calls(home) if "status" in a]
    assert child.exitstatus == 0


def test_a_aborts(tmp_path: Path) -> None:
    child, home = _run_until_prompt(tmp_path)
    child.send("a")
    child.expect("aborted")
    child.expect(pexpect.EOF)
    child.close()
    assert writes(home) == []
    assert child.exitstatus == 130
    # an aborted run resumes where it stopped: the read step is not repeated
    run_id = re.search(r"resume (r-[0-9TZ]+-[0-9a-f]{6})", child.before or "")
    runs = list((home / "data" / "runs").glob("r-*.json"))
    rid = runs[0].stem if run_id is None else run_id.group(1)
    child = _spawn(home, ["runbook", "resume", rid])
    child.expect(PROMPT)
    child.send("y")
    child.expect(r"run r-\S+: unverified")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 6
    assert len(writes(home)) == 1
    assert len([a for a in kubectl_calls(home) if "get" in a]) == 1


@pytest.mark.parametrize(
    ("name", "byte"), [("ctrl-c-byte", "\x03"), ("ctrl-d-eof", "\x04")], ids=["ctrl-c", "eof"]
)
def test_ctrl_keys_stop(tmp_path: Path, name: str, byte: str) -> None:
    child, home = _run_until_prompt(tmp_path)
    child.send(byte)
    child.expect("interrupted")
    child.expect(pexpect.EOF)
    child.close()
    assert writes(home) == []
    assert child.exitstatus == 130


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signals_stop(tmp_path: Path, sig: signal.Signals) -> None:
    child, home = _run_until_prompt(tmp_path)
    child.kill(sig)
    child.expect("interrupted")
    child.expect(pexpect.EOF)
    child.close()
    assert writes(home) == []
    assert child.exitstatus == 130
    # the run is resumable: nothing finished is repeated, the write is offered again
    child = _spawn(home, ["runbook", "runs"])
    child.expect("stopped")
    child.close()


def test_pty_closed_runs_nothing(tmp_path: Path) -> None:
    child, home = _run_until_prompt(tmp_path)
    child.close(force=True)
    time.sleep(0.3)
    assert writes(home) == []


@pytest.mark.parametrize("stdin", ["y\n", "y", ""], ids=["pipe-y-newline", "pipe-y", "devnull"])
def test_no_terminal_refuses_write_steps(tmp_path: Path, stdin: str) -> None:
    write_config(tmp_path, {})
    cp = subprocess.run(
        [*AISRE, *ARGS],
        input=stdin.encode(),
        env=make_env(tmp_path),
        capture_output=True,
        timeout=30,
    )
    assert cp.returncode == 5, cp.stderr.decode()
    assert b"no terminal" in cp.stderr
    assert writes(tmp_path) == []
    # the read step before it did run
    assert any("get" in a for a in kubectl_calls(tmp_path))


def test_no_terminal_autonomy_needs_trust_from_a_report(tmp_path: Path) -> None:
    policy = {
        "capabilities": {"kubectl.rollout_restart": "autonomous"},
        "thresholds": {"min_successes": 0, "min_trust": 0.0, "max_risk": 1.0},
    }
    write_config(tmp_path, {}, policy)
    # without a triage report trust is unknown, so even granted autonomy needs a human
    cp = subprocess.run(
        [*AISRE, "runbook", "run", "restart-crashloop", "--param", "service=payments"],
        stdin=subprocess.DEVNULL,
        env=make_env(tmp_path),
        capture_output=True,
        timeout=30,
    )
    assert cp.returncode == 5
    assert b"trust unknown" in cp.stderr
    assert writes(tmp_path, "restart") == []


BUNDLE = (
    Path(__file__).resolve().parent.parent.parent
    / "shared"
    / "datasets"
    / "petshop"
    / ("petshop-high_traffic-test-issue0")
)


@pytest.mark.integration
def test_alert_fills_params_from_triage_and_silences_on_a_real_alertmanager(
    tmp_path: Path,
) -> None:
    from tests.servers import http_json, shared_stack

    stack = shared_stack()
    write_config(tmp_path, {"sources": {"alertmanager": {"url": stack.am_url}}})
    child = _spawn(
        tmp_path,
        [
            "runbook",
            "run",
            "silence-noisy-alert",
            "--alert",
            "fade5018",
            "--bundle",
            str(BUNDLE),
            "--param",
            "duration=20m",
        ],
    )
    child.expect(r"alertname = 'PetSiteHighLatency'\s+\(verdict \(alertname\)\)")
    child.expect(r"POST http://127\.0\.0\.1:\d+/api/v2/silences")
    child.expect(PROMPT)
    child.send("d")  # a dry run sends nothing
    child.expect("nothing is sent in a dry run")
    child.expect(PROMPT)
    child.send("y")
    # the operator sees the id, to expire the silence by hand
    child.expect(r"note: silence ([0-9a-f-]{36}) created \(ends [^)]+\); expire it with:")
    sid = child.match.group(1)
    child.expect(f"amtool silence expire {sid}")
    child.expect("done")
    child.expect(r"run (r-\S+): completed")
    run_id = child.match.group(1)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    mine = [
        s for s in http_json(f"{stack.am_url}/api/v2/silences") if run_id in s.get("comment", "")
    ]
    assert len(mine) == 1
    matchers = {m["name"]: m["value"] for m in mine[0]["matchers"]}
    assert matchers["alertname"] == "PetSiteHighLatency"
    assert mine[0]["status"]["state"] == "active" and mine[0]["id"] == sid


AUTONOMOUS_SILENCE = {
    "capabilities": {"alertmanager.silence.create": "autonomous"},
    "thresholds": {"min_successes": 0, "min_trust": 0.05, "max_risk": 1.0},
}
SILENCE_ARGS = ["runbook", "run", "silence-noisy-alert", "--alert", "fade5018", "--bundle"]


def _silences(url: str, run_id: str) -> list[dict[str, object]]:
    from tests.servers import http_json

    return [s for s in http_json(f"{url}/api/v2/silences") if run_id in s.get("comment", "")]


@pytest.mark.integration
def test_no_terminal_runs_a_write_step_the_policy_grants_autonomy(tmp_path: Path) -> None:
    import json

    from tests.servers import shared_stack

    stack = shared_stack()
    write_config(tmp_path, {"sources": {"alertmanager": {"url": stack.am_url}}}, AUTONOMOUS_SILENCE)
    cp = subprocess.run(
        [*AISRE, *SILENCE_ARGS, str(BUNDLE), "--json"],
        stdin=subprocess.DEVNULL,
        env=make_env(tmp_path),
        capture_output=True,
        timeout=60,
    )
    assert cp.returncode == 0, cp.stderr.decode()
    out = json.loads(cp.stdout)
    assert out["status"] == "completed" and len(out["audit_head"]) == 64
    assert b"autonomous" in cp.stderr
    assert len(_silences(stack.am_url, out["run_id"])) == 1


@pytest.mark.integration
def test_freeze_blocks_autonomy_and_break_glass_still_needs_a_human(tmp_path: Path) -> None:
    import json

    from aisre_cli.govern.audit import AuditLog
    from tests.servers import shared_stack

    stack = shared_stack()
    policy = {
        **AUTONOMOUS_SILENCE,
        "freeze_windows": [
            {
                "name": "release-freeze",
                "start": "2000-01-01T00:00:00Z",
                "end": "2100-01-01T00:00:00Z",
            }
        ],
    }
    write_config(tmp_path, {"sources": {"alertmanager": {"url": stack.am_url}}}, policy)
    env = make_env(tmp_path)
    cp = subprocess.run(
        [*AISRE, *SILENCE_ARGS, str(BUNDLE), "--json"],
        stdin=subprocess.DEVNULL,
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert cp.returncode == 5
    assert b"freeze window active (release-freeze)" in cp.stderr
    assert _silences(stack.am_url, json.loads(cp.stdout)["run_id"]) == []
    # break-glass: audited, and the step now waits for a human yes
    child = _spawn(
        tmp_path,
        [*SILENCE_ARGS, str(BUNDLE), "--break-glass", "INC-42 pager storm, approved by the IC"],
    )
    child.expect("break-glass: INC-42 pager storm")
    child.expect(PROMPT)
    child.send("y")
    child.expect(r"run (r-\S+): completed")
    run_id = child.match.group(1)
    child.expect(pexpect.EOF)
    child.close()
    assert len(_silences(stack.am_url, run_id)) == 1
    recs = [r for r in AuditLog(tmp_path / "data" / "audit.jsonl").records() if r.run == run_id]
    assert [r.data["reason"] for r in recs if r.event == "break_glass"] == [
        "INC-42 pager storm, approved by the IC"
    ]


def test_dry_run_mode_changes_nothing(tmp_path: Path) -> None:
    write_config(tmp_path, {})
    cp = subprocess.run(
        [
            *AISRE,
            "runbook",
            "run",
            "restart-crashloop",
            "--param",
            "service=payments",
            "--dry-run",
            "--json",
        ],
        stdin=subprocess.DEVNULL,
        env=make_env(tmp_path),
        capture_output=True,
        timeout=30,
    )
    assert cp.returncode == 0, cp.stderr.decode()
    assert writes(tmp_path, "restart") == []
    # issue 12 §3.15: a dry run is complete when shown; it never offers a resume
    assert b"resume" not in cp.stderr
    assert json.loads(cp.stdout)["status"] == "completed"
    dry = [a for a in kubectl_calls(tmp_path) if "--dry-run=server" in a]
    assert dry == [
        [
            "--context",
            "ctx-test",
            "--namespace",
            "shop",
            "rollout",
            "restart",
            "deployment/payments",
            "--dry-run=server",
        ]
    ]


SCALE_RUNBOOK = """\
id: scale-and-check
title: Scale and check
params:
  service: {type: name}
steps:
  - id: scale
    title: Scale out
    capability: kubectl.scale
    inputs: {name: "{{ service }}", replicas: 7}
    undo: auto
    verify: {query: "vector(1)", expect: "< 0.5", timeout: 1s, interval: 1s}
  - id: after
    title: Never reached
    capability: kubectl.rollout_restart
    inputs: {name: "{{ service }}"}
"""


@pytest.mark.integration
def test_failed_verification_offers_the_undo_at_the_prompt(tmp_path: Path) -> None:
    from tests.servers import shared_stack

    stack = shared_stack()
    books = tmp_path / "books"
    books.mkdir()
    (books / "scale-and-check.yaml").write_text(SCALE_RUNBOOK)
    write_config(
        tmp_path, {"runbook_dirs": [str(books)], "sources": {"prometheus": {"url": stack.prom_url}}}
    )
    env = make_env(tmp_path, FAKE_KUBECTL_REPLICAS="3")
    child = pexpect.spawn(
        AISRE[0],
        [*AISRE[1:], "runbook", "run", "scale-and-check", "--param", "service=api"],
        env=env,
        encoding="utf-8",
        timeout=30,
        dimensions=(50, 200),
    )
    child.expect(PROMPT)
    child.send("y")
    child.expect("verify:.*expected < 0.5")
    child.expect(r"--replicas=3")  # the undo, shown before it is offered
    child.expect(r"Undo this step\? y run")
    child.send("yes")  # not exact: the undo does not run either
    child.expect("not a choice")
    child.expect(r"Undo this step\? y run")
    child.send("y")
    child.expect("undone")
    child.expect(r"run r-\S+: failed")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 6
    scales = [a[-2:] for a in kubectl_calls(tmp_path) if "scale" in a]
    assert scales == [["deployment/api", "--replicas=7"], ["deployment/api", "--replicas=3"]]
    assert writes(tmp_path, "restart") == []
