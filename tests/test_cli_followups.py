"""A hint's command, pasted, reads the same sources as the command that printed it.

`aisre triage --bundle DIR` once suggested `aisre escalate ID`, which then looked the
alert up in the default profile: "no alert matches". The suggested command now carries
`--bundle DIR` (and `-p NAME` when a profile was named), quoted for the shell."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest

from tests.conftest import DEMO, PETSHOP
from tests.contract_servers.cli import run_cli
from tests.test_eval import require


def _suggested(text: str) -> list[str]:
    """The argv of the one `aisre …` command quoted in backticks in `text`."""
    cmds = re.findall(r"`(aisre [^`]*)`", text)
    assert len(cmds) == 1, text
    argv = shlex.split(cmds[0])
    assert argv[0] == "aisre"
    return argv[1:]


def test_hint_after_triage_of_a_bundle_names_the_bundle(tmp_path: Path) -> None:
    bundle = tmp_path / "incident 42"  # a space: the hint must quote it
    shutil.copytree(DEMO, bundle)
    r = run_cli(["triage", "--no-record", "--bundle", str(bundle)])
    assert r.code == 0, r.err
    nxt = next(x for x in r.out.splitlines() if x.startswith("next:"))
    argv = _suggested(nxt)
    assert argv[:2] == ["runbook", "run"] and argv[-2:] == ["--bundle", str(bundle)]
    # the pasted command finds the alert (a dry run, nothing is executed)
    pasted = run_cli([*argv, "--dry-run"])
    assert pasted.code != 2 and "no alert matches" not in pasted.err, pasted.err
    assert "Roll back a bad deploy (rollback-bad-deploy)" in pasted.out + pasted.err
    # --json carries the same command (a bot may show it)
    j = run_cli(["triage", "--no-record", "--bundle", str(bundle), "--json"])
    assert _suggested(json.loads(j.out)["verdict"]["next_step"]) == argv


def test_escalation_hint_after_a_bundle_hands_off_that_incident() -> None:
    bundle = PETSHOP / "petshop-high_traffic-test-issue3"
    require(bundle, "the PetShop dataset")
    r = run_cli(["triage", "--no-record", "--bundle", str(bundle), "--json"])
    assert r.code == 0, r.err
    v = json.loads(r.out)["verdict"]
    assert v["escalate"], v
    argv = _suggested(v["next_step"])
    assert argv[0] == "escalate" and argv[-2:] == ["--bundle", str(bundle)]
    pasted = run_cli([*argv, "--no-post"])
    assert pasted.code == 0, pasted.err
    assert pasted.out.startswith("# Escalation: PetSiteHighLatency")


def test_hint_names_the_profile_and_is_unchanged_without_flags(tmp_path: Path) -> None:
    from aisre_cli.settings import paths

    cfg = paths.config_file()
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(
        "version: 1\ndefault_profile: other\nprofiles:\n"
        f"  other: {{environment: demo, sources: {{bundle: {DEMO}}}}}\n"
        f"  on-call: {{environment: demo, sources: {{bundle: {DEMO}}}}}\n"
    )
    r = run_cli(["-p", "on-call", "triage", "--no-record", "--json"])
    assert r.code == 0, r.err
    argv = _suggested(json.loads(r.out)["verdict"]["next_step"])
    assert argv[-2:] == ["-p", "on-call"] and "--bundle" not in argv
    r = run_cli(["triage", "--no-record", "--json"])  # the default profile: nothing added
    nxt = json.loads(r.out)["verdict"]["next_step"]
    assert _suggested(nxt) == ["runbook", "run", "rollback-bad-deploy", "--alert", "179e723e"]


def test_next_step_is_one_line_on_a_narrow_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hint is never hard-wrapped: a command cut by a newline cannot be pasted."""
    bundle = tmp_path / "a-bundle-folder-with-a-long-name-as-captured-bundles-have"
    shutil.copytree(DEMO, bundle)
    monkeypatch.setenv("COLUMNS", "60")
    r = run_cli(["triage", "--no-record", "--bundle", str(bundle)])
    nxt = next(x for x in r.out.splitlines() if x.startswith("next:"))
    assert _suggested(nxt)[-2:] == ["--bundle", str(bundle)]


def test_next_step_asks_for_the_parameters_the_verdict_cannot_give(tmp_path: Path) -> None:
    """`scale-out-saturation` needs `replicas`, which no verdict says: the hint once
    quoted `aisre runbook run scale-out-saturation --alert ID`, which stopped on "no
    value for parameter(s) replicas". It now asks for it."""
    from aisre_cli.flows.triage import ask_for_params
    from aisre_cli.model import Hypothesis, Verdict
    from aisre_cli.remediate.matching import AppliesToRef, RunbookRef
    from tests.test_memory_store import alert

    a = alert(1, fid="fp-sat")
    cmd = f"aisre runbook run scale-out-saturation --alert {a.short_id}"
    hyp = Hypothesis(
        rank=1,
        kind="resource_saturation",
        service="checkout",
        statement="s",
        confidence=0.9,
        runbooks=["scale-out-saturation"],
    )
    from aisre_cli.model import TriageReport

    def report() -> TriageReport:
        v = Verdict(hypotheses=[hyp], next_step=f"run `{cmd}`")
        return TriageReport(alert=a, onset=a.starts_at, verdict=v)

    book = RunbookRef(
        "scale-out-saturation",
        AppliesToRef(),
        {"replicas": "", "deployment": "deployment"},  # the verdict gives `deployment`
    )
    r = report()
    ask_for_params(r, [book])
    assert r.verdict.next_step == (
        f"run `{cmd} --param replicas=VALUE` (the verdict does not give replicas)"
    )
    r = report()  # every parameter from the verdict: the hint is left alone
    ask_for_params(r, [RunbookRef("scale-out-saturation", AppliesToRef(), {"x": "service"})])
    assert r.verdict.next_step == f"run `{cmd}`"
    # the shipped runbook, as the cache and the full model both say it
    from aisre_cli.remediate.matching import load_runbooks

    full = {rb.id: rb for rb in load_runbooks(None)}
    assert full["scale-out-saturation"].needs.get("replicas") == ""
    r = report()
    ask_for_params(r, list(full.values()))
    assert "--param replicas=VALUE" in r.verdict.next_step
