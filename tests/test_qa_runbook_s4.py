"""QA pass (runbooks and governance from the CLI): hostile or broken runbooks, policy
files and checkpoints give a one-line error with a hint and exit 2, never an internal
error; what an SRE configured is never silently ignored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.cli import run
from tests.fakes.env import FAKES, write_config


@pytest.fixture
def home(_aisre_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PATH", f"{FAKES}:{__import__('os').environ.get('PATH', '')}")
    monkeypatch.setenv("FAKE_KUBECTL_LOG", str(_aisre_home / "kubectl.jsonl"))
    return _aisre_home


def _books(home: Path, files: dict[str, str], policy: dict[str, Any] | None = None) -> Path:
    d = home / "books"
    d.mkdir(exist_ok=True)
    for name, text in files.items():
        (d / name).write_text(text, encoding="utf-8")
    write_config(home, {"runbook_dirs": [str(d)]}, policy)
    return d


OPTIONAL_IN_VERIFY = """\
id: optq
title: optional parameter inside a verify text
params:
  service: {type: name}
  container: {type: name, required: false}
steps:
  - id: scale
    title: Scale
    capability: kubectl.scale
    inputs: {kind: deployment, name: "{{ service }}", replicas: 2}
    verify:
      query: 'up{container="{{ container }}"}'
      expect: "> 0"
"""


def test_optional_parameter_in_a_verify_query_is_a_usage_error(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`runbook run optq --param service=a` ended in `internal error: TemplateError`
    (exit 1): the verify query's template was rendered outside the error handling."""
    _books(home, {"optq.yaml": OPTIONAL_IN_VERIFY})
    code, _, err = run(capsys, "runbook", "run", "optq", "--param", "service=a", "--dry-run")
    assert code == 2, err
    assert "internal error" not in err
    assert "step scale: verify: 'container' has no value" in err
    assert "hint: pass the parameter with --param" in err


def test_a_verify_query_that_is_only_an_unset_optional_parameter_is_refused(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`query: "{{ check }}"` with `check` optional and not given rendered as the
    PromQL text `None`, which fails only at the end of the step, after the write."""
    book = OPTIONAL_IN_VERIFY.replace("id: optq", "id: optwhole").replace(
        """query: 'up{container="{{ container }}"}'""", 'query: "{{ container }}"'
    )
    _books(home, {"optwhole.yaml": book})
    code, _, err = run(capsys, "runbook", "run", "optwhole", "--param", "service=a", "--dry-run")
    assert code == 2, err
    assert "step scale: verify: the query '{{ container }}' is empty without its parameter" in err
    code, out, err = run(
        capsys,
        "runbook",
        "run",
        "optwhole",
        "--param",
        "service=a",
        "--param",
        "container=up",
        "--dry-run",
    )
    assert code == 0, err


RESTART = (
    Path(__file__).resolve().parent.parent / "runbooks" / "restart-crashloop.yaml"
).read_text()


def _stopped_run(home: Path, capsys: pytest.CaptureFixture[str]) -> tuple[str, Path]:
    """A run of a user runbook stopped at its write step (no terminal): resumable."""
    _books(home, {"mine.yaml": RESTART.replace("id: restart-crashloop", "id: mine")})
    code, out, err = run(capsys, "runbook", "run", "mine", "--param", "service=payments", "--json")
    assert code == 5, err
    run_id = json.loads(out)["run_id"]
    return run_id, home / "data" / "runs" / f"{run_id}.json"


def _edit(path: Path, **changes: Any) -> None:
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("truncate", "unreadable checkpoint (Invalid JSON"),
        ("status", "unreadable checkpoint (status: Input should be"),
        ("runbook_json", "its checkpoint holds no usable runbook (id: Field required)"),
        ("fewer_steps", "its checkpoint's steps (pods) are not those of runbook mine"),
        ("more_steps", "its checkpoint's steps (pods, restart, zzz) are not those of runbook"),
        ("other_run", "the checkpoint is of run 'r-20260101T000000Z-aaaaaa'"),
    ],
)
def test_resume_of_a_damaged_checkpoint_is_a_one_line_error(
    home: Path, capsys: pytest.CaptureFixture[str], damage: str, message: str
) -> None:
    """`runbook resume` of a damaged checkpoint: `internal error: ValidationError` (its
    runbook copy unusable) or `KeyError: 'restart'` after auditing a `resume` (steps
    that do not match), resumed as a *different* run (a copied file), or said only
    `(1 validation error for RunState)` with no hint."""
    run_id, path = _stopped_run(home, capsys)
    data = json.loads(path.read_text())
    if damage == "truncate":
        path.write_text(path.read_text()[:200])
    elif damage == "status":
        _edit(path, status="weird")
    elif damage == "runbook_json":
        _edit(path, runbook_json={})
    elif damage == "fewer_steps":
        _edit(path, steps=data["steps"][:1])
    elif damage == "more_steps":
        _edit(path, steps=[*data["steps"], {"id": "zzz"}])
    elif damage == "other_run":
        _edit(path, run_id="r-20260101T000000Z-aaaaaa")
    audit_before = (home / "data" / "audit.jsonl").read_text()
    code, out, err = run(capsys, "runbook", "resume", run_id)
    assert code == 2, err
    assert "internal error" not in err
    assert message in err, err
    assert "hint: start a new run" in err
    assert not list(path.parent.glob("r-20260101T000000Z-aaaaaa.*"))
    assert (home / "data" / "audit.jsonl").read_text() == audit_before  # nothing audited


UNKNOWN_CAP = """\
id: mine
title: uses a capability that does not exist
steps:
  - id: a
    title: a
    capability: shell.exec
"""


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"mine.yaml": UNKNOWN_CAP}, "mine.yaml:6: unknown capability 'shell.exec'"),
        (
            {
                "mine.yaml": RESTART.replace("id: restart-crashloop", "id: mine").replace(
                    "title: Rolling restart", "title: [1]"
                )
            },
            "mine.yaml:27: steps.1.title: Input should be a valid string",
        ),
    ],
)
def test_running_an_invalid_user_runbook_says_it_is_invalid(
    home: Path, capsys: pytest.CaptureFixture[str], files: dict[str, str], message: str
) -> None:
    """`runbook run mine` with a broken books/mine.yaml said `no runbook 'mine'`, and
    `runbook list` left it out without a word: the SRE looks for a typo in the id."""
    _books(home, files)
    code, _, err = run(capsys, "runbook", "run", "mine", "--dry-run")
    assert code == 2, err
    assert "no runbook 'mine'" not in err
    assert "runbook 'mine' cannot be used:" in err and message in err, err
    assert "`aisre runbook validate" in err
    code, out, err = run(capsys, "runbook", "list", "--json")
    assert code == 0
    assert "mine" not in {r["id"] for r in json.loads(out)["runbooks"]}
    assert "note: 1 invalid runbook file(s) not listed" in err and message in err


def test_a_user_copy_of_a_shipped_runbook_is_not_silently_ignored(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A user edits a copy of restart-crashloop in runbook_dirs, keeping its id:
    `runbook run restart-crashloop` ran the shipped one, ignoring the edit."""
    _books(home, {"restart.yaml": RESTART.replace("timeout: 4m", "timeout: 5m")})
    code, _, err = run(capsys, "runbook", "show", "restart-crashloop")
    assert code == 2, err
    assert "duplicate runbook id 'restart-crashloop'" in err
    assert "hint: ids must be unique" in err


def test_validate_reports_a_missing_runbook_dir(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A typo in the profile's runbook_dirs: `runbook validate` said `6 file(s), 6 valid`
    and exited 0; `runbook list` and `runbook run` were silent about the folder."""
    write_config(home, {"runbook_dirs": [str(home / "typo")]})
    code, out, err = run(capsys, "runbook", "validate")
    assert code == 2, (out, err)
    assert f"{home / 'typo'}:1: runbook_dirs: no such folder" in out
    code, out, _ = run(capsys, "runbook", "validate", "--json")
    assert code == 2 and json.loads(out)["ok"] is False
    code, _, err = run(capsys, "runbook", "list")
    assert code == 0 and f"runbook_dirs folder {home / 'typo'} does not exist" in err
    code, _, err = run(capsys, "runbook", "run", "mine")
    assert code == 2 and f"runbook_dirs folder {home / 'typo'} does not exist" in err


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        (
            {"capabilities": {"kubectl.rollout-restart": "read_only"}},
            ":2: capabilities.kubectl.rollout-restart: unknown capability"
            " 'kubectl.rollout-restart' (did you mean kubectl.rollout_restart?)",
        ),
        (
            {"environments": {"prod": {"capabilities": {"kubectl.scal": "read_only"}}}},
            ":6: environments.prod.capabilities.kubectl.scal: unknown capability",
        ),
    ],
)
def test_a_policy_rule_for_an_unknown_capability_is_refused(
    home: Path, capsys: pytest.CaptureFixture[str], policy: dict[str, Any], message: str
) -> None:
    """A typo in a policy meant to lock a capability down was accepted silently: the step
    kept its class's autonomy (`classes: {write: autonomous}` ran it unasked)."""
    write_config(home, {}, {"classes": {"write": "autonomous"}, **policy})
    code, out, err = run(capsys, "runbook", "policy", "--json")
    assert code == 2, out
    assert message in err, err
    assert "hint: `aisre runbook capabilities` lists them" in err


def test_policy_unquoted_time_and_non_mapping_have_clear_errors(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`start: 16:00` (unquoted: YAML 1.1 reads the number 960) said `Input should be a
    valid string`; a policy that is a list said `policy.yaml:1: : Input should be a valid
    dictionary or instance of Policy`."""
    write_config(home, {}, {})
    pol = home / "policy.yaml"
    pol.write_text(
        "freeze_windows:\n  - name: evening\n"
        '    weekly: {days: [fri], start: 16:00, end: "23:00"}\n'
    )
    code, _, err = run(capsys, "runbook", "policy")
    assert code == 2
    assert 'weekly.start: write the time in quotes ("16:00")' in err, err
    pol.write_text("- autonomy: approved\n")
    code, _, err = run(capsys, "runbook", "policy")
    assert code == 2
    assert f"{pol}:1: a policy is a YAML mapping" in err, err


def test_a_huge_malformed_template_gives_a_short_finding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 800 kB template of `{{` (within the 2 MB limit) was echoed whole into one
    finding line, `inputs.name: malformed template '{{{{…` 800,000 characters long."""
    f = tmp_path / "huge.yaml"
    f.write_text(
        "id: huge\ntitle: x\nsteps:\n  - id: a\n    title: a\n    capability: kubectl.get\n"
        f'    inputs: {{kind: pod, name: "{"{{" * 400_000}"}}\n'
        f"  - id: b\n    title: b\n    capability: {'k' * 100_000}\n"
    )
    code, out, _ = run(capsys, "runbook", "validate", str(f))
    assert code == 2
    lines = out.splitlines()
    assert len(lines) == 2 and all(len(line) < 400 for line in lines), [len(x) for x in lines]
    assert "malformed template '{{{{" in lines[0] and "(800,000 characters)" in lines[0]
    assert "unknown capability 'kkk" in lines[1] and "(100,000 characters)" in lines[1]


@pytest.mark.parametrize("bad", ["service", "=payments"])
def test_a_malformed_param_has_a_hint(
    home: Path, capsys: pytest.CaptureFixture[str], bad: str
) -> None:
    """`--param service` said only `expected NAME=VALUE`, with no hint."""
    code, _, err = run(capsys, "runbook", "run", "restart-crashloop", "--param", bad, "--dry-run")
    assert code == 2
    assert "expected NAME=VALUE" in err and "hint: e.g. --param service=checkout" in err


def test_validate_checks_run_id_templates_with_a_real_run_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`name: "job-{{ run_id }}"` passed `runbook validate` (checked with the stand-in
    `run-0`) and then failed every `runbook run`: real run ids hold upper-case T and Z."""
    f = tmp_path / "rid.yaml"
    f.write_text(
        "id: rid\ntitle: x\nsteps:\n  - id: a\n    title: a\n    capability: kubectl.get\n"
        '    inputs: {kind: pod, name: "job-{{ run_id }}"}\n'
    )
    code, out, _ = run(capsys, "runbook", "validate", str(f))
    assert code == 2
    assert f"{f}:7: inputs.name: must be a Kubernetes name" in out, out
