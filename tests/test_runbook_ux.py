"""QA pass on the runbook and governance UI: what a dry run predicts, the console's
stepper before a run starts, the `runbook policy` table, and a `policy_file` that
cannot be read.

Each test names the QA finding it guards (3, 6, 12, 13). The CLI runs in-process
(`tests.fakes.cli.run`, no terminal: the run is not interactive); the console through
Textual's Pilot; kubectl is the recording fake (tests/fakes)."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest
from textual.message import Message
from textual.widgets import RichLog, Static

from aisre_cli.errors import ConfigError, ExitCode
from aisre_cli.govern.audit import AuditLog
from tests.fakes.cli import run
from tests.fakes.env import FAKES, kubectl_calls, write_config, writes

ROLLBACK = ("runbook", "run", "rollback-bad-deploy", "--param", "service=payments")
UNPINNED = "no Kubernetes context: the profile names no kube_context"


@pytest.fixture
def home(_aisre_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PATH", f"{FAKES}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("FAKE_KUBECTL_LOG", str(_aisre_home / "kubectl.jsonl"))
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("NO_COLOR", "1")
    return _aisre_home


def _records(run_id: str) -> list[Any]:
    return [r for r in AuditLog().records() if r.run == run_id]


# ---------------------------------------------------------------- 3: the dry run's verdict


def test_3_a_dry_run_that_would_be_refused_says_so(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """QA 3: `--dry-run` of a plan whose write step governance refuses (no kube_context)
    said `completed`, exit 0, and its JSON held no refusal: a pre-check script concluded
    the runbook would go through."""
    write_config(home, {"kube_context": None})
    code, out, err = run(capsys, *ROLLBACK, "--dry-run", "--json")
    assert code == ExitCode.REFUSED, err
    res = json.loads(out)
    assert res["status"] == "would_stop" and res["dry_run"] is True
    assert res["exit_code"] == 5
    assert res["steps"] == {"inspect": "pending", "rollback": "refused", "wait-rollout": "pending"}
    stop = res["stopped"]
    assert stop["step"] == "rollback" and stop["how"] == "stop"
    assert stop["decision"]["kind"] == "refuse"
    assert stop["decision"]["reasons"][0].startswith(UNPINNED)
    assert "aisre config init --kube-context" in stop["hint"]
    predicted = {p["step"]: p for p in res["predicted"]}
    assert [p["step"] for p in res["predicted"]] == ["inspect", "rollback", "wait-rollout"]
    assert predicted["inspect"]["decision"]["kind"] == "execute"
    assert predicted["rollback"]["decision"]["kind"] == "refuse"
    assert predicted["rollback"]["index"] == 2 and predicted["rollback"]["scope"] == "write"
    # the text's last line says where the real run would stop, and why
    last = err.rstrip("\n").splitlines()[-1]
    assert last.startswith("dry run: the run would stop at step 2 (rollback): refused: " + UNPINNED)
    assert "completed" not in err
    assert kubectl_calls(home) == []  # nothing asked of a cluster that is not pinned


def test_3_the_run_store_and_audit_log_agree_and_a_dry_run_is_never_resumed(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The dry run's status is what `runbook runs` shows; the audit log holds why it
    stopped (the decision); resume refuses it, and the console does not offer it."""
    write_config(home, {"kube_context": None})
    code, out, _ = run(capsys, *ROLLBACK, "--dry-run", "--json")
    assert code == 5
    run_id = json.loads(out)["run_id"]

    code, out, _ = run(capsys, "runbook", "runs", "--json")
    (listed,) = json.loads(out)["runs"]
    assert listed["run_id"] == run_id
    assert listed["status"] == "would_stop" and listed["dry_run"] is True
    assert listed["steps"]["rollback"] == "refused"
    code, out, _ = run(capsys, "runbook", "runs")
    assert "would_stop (dry run)" in out

    recs = _records(run_id)
    events = [r.event for r in recs]
    assert events == ["run_start", "dry_run", "dry_run", "dry_run", "stopped", "run_end"]
    assert recs[0].data["dry_run"] is True
    stopped = recs[-2].data
    assert stopped["step"] == "rollback" and stopped["decision"]["kind"] == "refuse"
    assert stopped["reason"].startswith("dry run: the run would stop here: refuse: ")
    assert recs[-1].data["status"] == "stopped"  # the stored form of would_stop

    code, _, err = run(capsys, "runbook", "resume", run_id)
    assert code == 2 and "was a dry run" in err
    from aisre_cli.flows.runbook import stopped_runs

    assert [r.run_id for r in stopped_runs()] == []  # the console offers no dry run


def test_3_a_read_only_policy_is_predicted_and_the_real_run_agrees(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The dry run ends where, and with the exit code with which, the real run stops; a
    real run after the dry run plans afresh and is not confused by it."""
    write_config(home, {}, {"classes": {"write": "read_only"}})
    code, out, err = run(capsys, *ROLLBACK, "--dry-run", "--json")
    assert code == 5, err
    dry = json.loads(out)
    assert dry["status"] == "would_stop"
    assert dry["stopped"]["decision"]["autonomy"] == "read_only"
    last = err.rstrip().splitlines()[-1]
    assert last.startswith("dry run: the run would stop at step 2 (rollback): refused: policy")
    assert "is read_only" in last
    assert writes(home) == [] and writes(home, "get") == []

    code, out, err = run(capsys, *ROLLBACK, "--json")
    real = json.loads(out)
    assert code == dry["exit_code"] == real["exit_code"] == ExitCode.REFUSED, err
    assert real["run_id"] != dry["run_id"] and real["dry_run"] is False
    assert real["status"] == "stopped" and real["predicted"] is None
    assert real["steps"] == {"inspect": "done", "rollback": "refused", "wait-rollout": "pending"}
    assert real["stopped"]["step"] == dry["stopped"]["step"] == "rollback"
    assert real["stopped"]["decision"]["reasons"] == dry["stopped"]["decision"]["reasons"]
    assert writes(home) == []


def test_3_a_dry_run_where_every_step_is_allowed_stays_completed(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(home, {})
    code, out, err = run(capsys, *ROLLBACK, "--dry-run", "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["status"] == "completed" and res["stopped"] is None and res["exit_code"] == 0
    assert [p["decision"]["kind"] for p in res["predicted"]] == ["execute", "confirm", "execute"]
    assert err.rstrip().splitlines()[-1] == (
        "dry run: no step would be refused (2 would run without asking, 1 would ask you to confirm)"
    )
    assert writes(home) == []
    assert [a for a in kubectl_calls(home) if "--dry-run=server" in a]


# ---------------------------------------------------------------- 6: the console before a run


def _console_app(profile_update: dict[str, Any] | None = None) -> Any:
    from tests.test_console import demo_app, demo_backend, demo_profile

    prof = demo_profile().model_copy(update=profile_update or {})
    return demo_app(demo_backend(profile=prof))


async def _planned(pilot: Any, messages: list[Message]) -> Any:
    from aisre_cli.ui.tui.messages import RunStarted
    from tests.test_console import of, open_incident, open_runbooks, settle

    await open_incident(pilot, messages)
    screen = await open_runbooks(pilot)
    await pilot.press("enter")
    await settle(pilot)
    assert of(messages, RunStarted) and screen.mode == "planned"
    return screen


NO_STEP_WAITING = "no step is waiting for an answer: enter starts the run"


def _previewed(messages: list[Message]) -> list[Any]:
    """The dry runs of the plan the screen reported (`PlanPreviewed`), each once."""
    from tests.test_console import of

    return [m for m in of(messages, Message) if type(m).__name__ == "PlanPreviewed"]


def _footer_keys(screen: Any) -> set[str]:
    """The keys the footer offers (a binding whose check_action is False is not shown)."""
    return {k for k, b in screen.active_bindings.items() if b.binding.show}


def _prompt(screen: Any) -> str:
    return str(screen.query_one("#rb-prompt", Static).render())


def _output(screen: Any) -> str:
    return "\n".join(line.text for line in screen.query_one("#rb-output", RichLog).lines)


def test_6_before_the_run_d_dry_runs_the_plan_and_y_n_say_nothing_waits(
    _aisre_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """QA 6: on a planned run the footer offered y/n/d, which did nothing, and enter ran
    the read step at once with no chance to preview it."""
    from tests.test_console import kubectl_argv, real_undo_calls, settle, use_fake_kubectl

    log = use_fake_kubectl(_aisre_home, monkeypatch)

    async def flow() -> None:
        messages: list[Message] = []
        app = _console_app()
        async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
            screen = await _planned(pilot, messages)
            keys = _footer_keys(screen)
            assert {"enter", "d", "a"} <= keys
            assert "y" not in keys and "n" not in keys, keys

            for key in ("y", "n"):
                await pilot.press(key)
                await settle(pilot)
                assert screen.mode == "planned" and screen.state is None
                assert _prompt(screen) == NO_STEP_WAITING
            assert kubectl_argv(log) == [], "y or n before the start ran something"

            await pilot.press("d")
            await settle(pilot)
            (pv,) = _previewed(messages)
            rep = pv.report
            assert [p.step.id for p in rep.predictions] == ["inspect", "rollback", "wait-rollout"]
            assert [p.decision.kind for p in rep.predictions] == ["execute", "confirm", "execute"]
            assert rep.stop is None and all(p.preview is not None for p in rep.predictions)
            # the write's server-side dry run, nothing else: the read step did not run
            argv = kubectl_argv(log)
            assert argv and all("--dry-run=server" in a for a in argv), argv
            assert real_undo_calls(log) == []
            out = _output(screen)
            assert "step 1/3 inspect: execute (runs without asking)" in out
            assert "step 2/3 rollback: confirm (asks you to confirm)" in out
            assert "dry run: no step would be refused" in out
            # still planned, audited under the run, and enter starts it as before
            assert screen.mode == "planned" and screen.finished is None
            assert {"enter", "d", "a"} <= _footer_keys(screen)
            assert "enter: start the run" in _prompt(screen)
            assert screen.flow is not None
            dry = [r.data["step"] for r in _records(screen.flow.run_id) if r.event == "dry_run"]
            assert dry == ["inspect", "rollback", "wait-rollout"]

            await pilot.press("enter")
            await settle(pilot)
            assert screen.mode == "ask" and screen.current.id == "rollback"
            assert {"y", "n", "d", "a"} <= _footer_keys(screen)
            await pilot.press("a")
            await settle(pilot)
            assert screen.mode == "done"
            assert not {"y", "n", "d", "a", "enter"} & _footer_keys(screen)

    asyncio.run(flow())


def test_6_the_plan_dry_run_says_where_the_run_would_stop(
    _aisre_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The console's dry run is the CLI's: the same predictions and the same verdict."""
    from tests.test_console import kubectl_argv, settle, use_fake_kubectl

    log = use_fake_kubectl(_aisre_home, monkeypatch)

    async def flow() -> None:
        messages: list[Message] = []
        app = _console_app({"kube_context": None})
        async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
            screen = await _planned(pilot, messages)
            await pilot.press("d")
            await settle(pilot)
            (pv,) = _previewed(messages)
            assert pv.report.stop is not None and pv.report.stop.step.id == "rollback"
            line = pv.report.headline()
            assert line.startswith("dry run: the run would stop at step 2 (rollback): refused: ")
            assert " ".join(_output(screen).split()).count(" ".join(line.split())) == 1
            assert screen.mode == "planned" and kubectl_argv(log) == []

    asyncio.run(flow())


# ---------------------------------------------------------------- 12: the policy table


def _table(out: str) -> tuple[str, dict[str, str]]:
    lines = out.splitlines()
    head = next(x for x in lines if x.startswith("capability"))
    rows = {x.split()[0]: x for x in lines[lines.index(head) + 1 :] if x.strip()}
    return head, rows


def test_12_the_policy_table_has_a_header_and_says_what_happens(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """QA 12: rows read `kubectl.rollout_undo  write approved (autonomy)` (as if
    pre-approved to run unattended), had no header, and `destructive` broke the row."""
    write_config(home, {"kube_context": None, "environment": "staging"})
    code, out, err = run(capsys, "runbook", "policy")
    assert code == 0, err
    head, rows = _table(out)
    assert head.split() == ["capability", "scope", "decision", "why"]
    assert "(autonomy)" not in out
    assert rows["exec"].split()[1:] == ["destructive", "asks", "you", "to", "confirm", "approved"]
    assert rows["kubectl.get"].split()[1:] == [
        "read",
        "runs",
        "without",
        "asking",
        "read-only",
        "step",
    ]
    assert rows["kubectl.rollout_undo"].split()[1:] == ["write", "refused", "no", "kube_context"]
    # aligned: every column starts where its header does, within 80 columns
    starts = [head.index(c) for c in ("scope", "decision", "why")]
    for name in ("exec", "kubectl.get", "kubectl.rollout_undo", "alertmanager.silence.create"):
        row = rows[name]
        assert row[starts[0] - 1] == " " and row[starts[0]] != " ", row
        assert row[starts[1] - 1] == " " and row[starts[1]] != " ", row
        assert row[starts[2] - 1] == " " and row[starts[2]] != " ", row
    assert max(len(x.rstrip()) for x in out.splitlines()) <= 80


def test_12_the_why_names_the_policy_key_and_the_json_is_extended(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(
        home,
        {},
        {
            "autonomy": "autonomous",
            "environments": {"prod": {"classes": {"write": "approved"}}},
            "capabilities": {"exec": "advised", "kubectl.scale": "read_only"},
        },
    )
    code, out, err = run(capsys, "runbook", "policy")
    assert code == 0, err
    _, rows = _table(out)
    assert rows["kubectl.rollout_undo"].split()[1:] == [
        *("write", "asks", "you", "to", "confirm", "approved", "(1)")
    ]
    assert rows["exec"].split()[1:] == ["destructive", "refused", "advised", "(2)"]
    assert rows["kubectl.scale"].split()[1:] == ["write", "refused", "read_only", "(3)"]
    assert "(1) environments.prod.classes.write" in out
    assert "(2) capabilities.exec" in out and "(3) capabilities.kubectl.scale" in out
    code, out, _ = run(capsys, "runbook", "policy", "--json")
    d = json.loads(out)
    # the existing keys are unchanged; `decisions` says what a step gets
    assert d["autonomy"]["kubectl.scale"] == {
        "level": "read_only",
        "rule": "capabilities.kubectl.scale",
    }
    assert d["decisions"]["kubectl.scale"]["decision"] == "refuse"
    assert d["decisions"]["kubectl.rollout_undo"]["says"] == "asks you to confirm"
    assert d["decisions"]["kubectl.rollout_undo"]["why"] == (
        "approved (environments.prod.classes.write)"
    )
    assert d["decisions"]["kubectl.get"]["says"] == "runs without asking"


def test_12_autonomous_writes_in_prod_still_ask_when_risk_is_above_the_threshold(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A table that said `autonomous` for a prod write would promise an unattended run
    that routing never grants (risk 0.55 > max_risk 0.50)."""
    write_config(home, {}, {"autonomy": "autonomous"})
    code, out, _ = run(capsys, "runbook", "policy")
    assert code == 0
    _, rows = _table(out)
    assert "asks you to confirm" in rows["kubectl.rollout_undo"]
    assert "autonomous, but risk 0.55 > max_risk 0.50" in " ".join(out.split())
    write_config(home, {"environment": "dev"}, {"autonomy": "autonomous"})
    _, out, _ = run(capsys, "runbook", "policy")
    _, rows = _table(out)
    assert rows["kubectl.rollout_undo"].split()[1:] == [
        *("write", "runs", "without", "asking", "autonomous")
    ]


# ---------------------------------------------------------------- 13: policy_file unreadable


def test_13_runbook_list_lists_with_a_policy_file_that_is_not_there(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """QA 13: `runbook list` failed (exit 2, no hint) because `policy_file` named a
    missing file, and the error did not say the path came from `policy_file`."""
    write_config(home, {"policy_file": "/nonexistent/qa/nopolicy.yaml"})
    code, out, err = run(capsys, "runbook", "list")
    assert code == 0, err
    assert "rollback-bad-deploy" in out and "restart-crashloop" in out
    assert "note: policy_file of profile t: /nonexistent/qa/nopolicy.yaml: cannot read" in err
    assert "hint: fix the path in profile t" in err and "remove `policy_file`" in err
    code, out, _ = run(capsys, "runbook", "list", "--json")
    assert code == 0
    res = json.loads(out)
    assert "rollback-bad-deploy" in {r["id"] for r in res["runbooks"]}
    assert res["policy_error"].startswith("policy_file of profile t: ")


def test_13_commands_that_need_the_policy_name_the_setting_and_the_fix(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(home, {"policy_file": "/nonexistent/qa/nopolicy.yaml"})
    for args in (("runbook", "policy"), (*ROLLBACK, "--dry-run")):
        code, _, err = run(capsys, *args)
        assert code == 2, args
        assert "error: policy_file of profile t: /nonexistent/qa/nopolicy.yaml: cannot read" in err
        assert "hint: fix the path in profile t (`aisre config edit`), or remove" in err
    # a malformed policy keeps its own hint (where the format is documented)
    write_config(home, {}, {})
    (home / "policy.yaml").write_text("- autonomy: approved\n")
    code, _, err = run(capsys, "runbook", "policy")
    assert code == 2
    assert "error: policy_file of profile t: " in err and "a policy is a YAML mapping" in err
    assert "hint: `aisre runbook policy --help` documents the format" in err


def test_13_the_policy_loader_gives_a_hint_for_a_missing_file(tmp_path: Path) -> None:
    """The other callers (a run planned in the console) get a hint too."""
    from aisre_cli.govern.policy import load_policy

    with pytest.raises(ConfigError) as exc:
        load_policy(tmp_path / "missing.yaml")
    assert exc.value.hint is not None and "policy_file" in exc.value.hint
