"""Memory in the loop: known issues, noise, replay, the incident CLI, runbook outcomes."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest

from aisre_cli.investigate.rank import DEFAULT_WEIGHTS, Weights
from aisre_cli.investigate.triage import run_triage
from aisre_cli.memory.replay import discover, replay
from aisre_cli.memory.store import Advisor, MemoryStore, open_store
from aisre_cli.model import TriageReport
from aisre_cli.settings.config import Profile
from aisre_cli.sources.registry import bundle_set
from tests.conftest import PETSHOP
from tests.fakes.cli import run

pytestmark = pytest.mark.skipif(not PETSHOP.exists(), reason="petshop dataset not present")

PROFILE = Profile()
# the same failure class (config_change on payforadoption) in three traffic regimes
PAY = [
    PETSHOP / "petshop-high_traffic-test-issue6",
    PETSHOP / "petshop-high_traffic-test-issue9",
    PETSHOP / "petshop-low_traffic-test-issue2",
]
PAY_SERVICE = "payforadoption_AWS::ECS::Container"


def weights(memory_prior: float | None = None) -> Weights:
    w = Weights.load()
    w.w["memory_prior"] = DEFAULT_WEIGHTS["memory_prior"] if memory_prior is None else memory_prior
    return w


def triage(path: Path, adv: Advisor | None, w: Weights | None = None) -> TriageReport:
    return run_triage(
        bundle_set(path, PROFILE.service_labels), None, PROFILE, memory=adv, weights=w
    )


def test_resolved_incident_becomes_known_issue_with_memory_evidence(tmp_path: Path) -> None:
    with MemoryStore(tmp_path / "m.db") as st:
        adv0 = Advisor(st)
        first = triage(PAY[0], adv0)
        assert not [e for e in first.evidence if e.kind == "memory"]
        inc = adv0.record(first)
        st.resolve(str(inc.id), kind="config_change", service=PAY_SERVICE, note="bad env var")
        adv = Advisor(st)
        again = triage(PAY[0], adv)
        mem = [e for e in again.evidence if e.kind == "memory"]
        assert mem and mem[0].service == PAY_SERVICE
        assert "seen once before" in mem[0].summary
        assert f"last confirmed cause: config_change on {PAY_SERVICE}" in mem[0].summary
        assert 'note: "bad env var"' in mem[0].summary
        assert mem[0].query == f"aisre incident show {inc.id}"
        assert again.verdict.classification == "known_issue"
        assert mem[0].id in {e.id for e in again.evidence}  # numbered like any evidence
        # the prior reaches the ranker as a feature of the culprit's hypotheses
        priors, _ = adv.priors(adv_ctx := _ctx(PAY[0]))
        assert priors[(PAY_SERVICE, "config_change")] >= 0.7
        assert priors[(PAY_SERVICE, "unknown")] > 0  # same culprit, other kind: weaker
        assert adv.classify(adv_ctx) in ("known_issue", None)


def _ctx(path: Path):  # type: ignore[no-untyped-def]
    from aisre_cli.investigate.gather import gather, list_alerts, resolve_alert

    s = bundle_set(path, PROFILE.service_labels)
    alerts, _ = list_alerts(s, 10)
    assert s.bundle is not None and s.bundle.meta.focus_alert
    a = resolve_alert(alerts, s.bundle.meta.focus_alert)
    return gather(s, a, alerts, lookback_s=3600, lookahead_s=600, budget_s=10)


def test_flapping_alert_with_no_action_is_likely_noise(tmp_path: Path) -> None:
    with MemoryStore(tmp_path / "m.db") as st:
        a = _ctx(PAY[0]).alert
        for k in range(4):
            start = a.starts_at - timedelta(days=k + 1)
            st.record_alerts(
                [a.model_copy(update={"starts_at": start, "ends_at": start + timedelta(minutes=7)})]
            )
        rep = triage(PAY[0], Advisor(st))
        assert rep.verdict.classification == "likely_noise"
        (noise,) = [e for e in rep.evidence if e.kind == "memory"]
        assert "fired 4 times" in noise.summary and "no runbook run" in noise.summary


def test_replay_recurring_failure_class_improves_top1(tmp_path: Path) -> None:
    """Acceptance: after the first of a class is resolved, later ones cite memory and
    top-1 on the recurring classes improves (petshop: 68 incidents, 5 classes)."""
    bundles = discover([PETSHOP])
    w = Weights.load()  # as shipped: memory_prior pinned, on the fit's scale
    with MemoryStore(tmp_path / "m.db") as st:
        rep = replay(bundles, lambda p, adv: triage(p, adv, w), st)
    s = rep.summary()
    rec = s["recurring"]
    print("replay petshop:", json.dumps(s))
    assert s["errors"] == 0 and rec["before"]["n"] >= 60
    assert rec["with_memory_evidence"] >= 0.9 * rec["before"]["n"]
    # Memory lifts at least two of the recurring bundles to rank 1 and MRR by .025 or
    # more. The engine alone gets most of them right (.746 top-1 before memory, .70 at
    # the weights before, .62 when this was first written), so there are fewer left for
    # memory to rescue: with memory, .778 (.750 with the weights before). Without a
    # memory prior (weight 0) the lift is nil.
    n = rec["before"]["n"]
    assert round(rec["after"]["top1"] * n) - round(rec["before"]["top1"] * n) >= 2
    assert rec["after"]["mrr"] >= rec["before"]["mrr"] + 0.025
    # The first incident of each class has no memory of its own cause, but PetShop's
    # incidents all page with the same alert, so memory of *other* classes is similar
    # and its priors can nudge a first-seen case: allow at most one of them to move.
    fs = s["first_seen"]
    assert fs["after"]["top1"] >= fs["before"]["top1"] - 1.0 / fs["before"]["n"] - 1e-9
    assert rep.cases[0].memory_evidence == 0  # an empty memory has nothing to say


def test_incident_cli_lifecycle_export_import(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run(capsys, "triage", "--bundle", str(PAY[0]), "--json")
    assert code == 0, err
    code, out, _ = run(capsys, "incident", "list", "--json")
    (row,) = json.loads(out)["incidents"]
    assert row["status"] == "open" and row["alert"] == "PetSiteHighLatency"
    code, out, err = run(capsys, "incident", "resolve", "1")
    assert code == 2 and "--cause RANK" in err
    code, out, _ = run(capsys, "incident", "show", "1", "--json")
    top = json.loads(out)["hypotheses"][0]
    code, out, err = run(capsys, "incident", "resolve", "1", "--cause", "1", "--note", "x|y")
    assert code == 0, err
    assert f"{top['kind']} on {top['service']}" in out
    code, out, _ = run(capsys, "incident", "export", "1", "--format", "markdown")
    assert code == 0 and out.startswith("# Postmortem draft: PetSiteHighLatency")
    for part in ("## Timeline", "## Hypotheses", "Confirmed cause", "## Open questions", "x\\|y"):
        assert part in out, part
    code, out, _ = run(capsys, "incident", "export", "1", "--format", "json")
    pm = json.loads(out)
    assert pm["schema"] == "aisre.postmortem/v1" and pm["incident"]["cause"]["rank"] == 1
    assert "What action fixed it?" in " ".join(pm["open_questions"])
    code, _, err = run(capsys, "incident", "export", "--all", "--format", "markdown")
    assert code == 2 and "json only" in err
    team = tmp_path / "team.json"
    code, _, err = run(capsys, "incident", "export", "--all", "--format", "json", "-o", str(team))
    assert code == 0, err
    monkeypatch.setenv("AISRE_HOME", str(tmp_path / "teammate"))
    code, out, _ = run(capsys, "incident", "import", str(team), "--json")
    assert json.loads(out)["added"] == 1
    code, out, _ = run(capsys, "incident", "import", str(team), "--json")
    assert json.loads(out)["added"] == 0 and json.loads(out)["unchanged"] == 1
    code, out, _ = run(capsys, "incident", "list", "--json")
    assert [r["origin"] for r in json.loads(out)["incidents"]] == ["import:team.json"]
    # the teammate's next triage of that failure knows it
    code, out, _ = run(capsys, "triage", "--bundle", str(PAY[0]), "--json")
    assert any(e["kind"] == "memory" for e in json.loads(out)["evidence"])
    code, _, err = run(capsys, "incident", "show", "42")
    assert code == 2 and "no incident" in err


def test_replay_cli_reports_before_and_after(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    seq = tmp_path / "seq"
    seq.mkdir()
    for p in PAY:
        (seq / p.name).symlink_to(p)
    code, out, err = run(capsys, "incident", "replay", str(seq), "--json", "--memory-weight", "1.5")
    assert code == 0, err
    data = json.loads(out)
    assert data["memory_prior_weight"] == 1.5
    assert [c["recurring"] for c in data["cases"]] == [False, True, True]
    assert all(c["memory_evidence"] for c in data["cases"][1:])
    assert open_store().count() == 0  # replay uses a scratch store, never yours


RUNBOOK = """\
id: mem-test
title: Two writes
params:
  a: {type: name, default: one}
steps:
  - {id: s1, title: first, capability: test.touch, inputs: {name: "{{ a }}"}}
  - {id: s2, title: second, capability: test.touch, inputs: {name: two}}
"""


def test_runbook_runs_feed_the_track_record_and_the_postmortem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from aisre_cli.govern.session import RunSession, run_outcome
    from aisre_cli.remediate.runbook import load_file
    from tests.fakes.crash_runner import PROFILE as RB_PROFILE
    from tests.fakes.crash_runner import drive, registry

    monkeypatch.setenv("CRASH_EFFECTS", str(tmp_path / "effects.txt"))
    rb_file = tmp_path / "mem-test.yaml"
    rb_file.write_text(RUNBOOK)
    loaded = load_file(rb_file)
    assert loaded.runbook is not None
    with open_store() as st:
        rep = triage(PAY[0], None)
        inc = st.record_report(rep)
    session = RunSession.start(loaded.runbook, "t", RB_PROFILE, registry=registry(), report=rep)
    assert isinstance(session.record, MemoryStore)  # the trust signal reads memory
    assert drive(session) == "completed"
    assert run_outcome(session.state) == "completed"  # nothing verified: not a success
    with open_store() as st:
        (tr,) = st.track_record()
        assert tr["runbook"] == "mem-test" and tr["outcomes"] == {"completed": 1}
        (r,) = st.get(str(inc.id)).runs
        assert r["run_id"] == session.run_id and r["audit_head"]
    code, out, _ = run(capsys, "incident", "export", str(inc.id), "--format", "markdown")
    assert code == 0 and "runbook **mem-test**" in out
    assert "step s2: touch two" in out and "audit #" in out
    assert r["audit_head"][:16] in out
    # outcome mapping
    st8 = session.state.model_copy(deep=True)
    st8.steps[0].verified = True
    st8.steps[1].verified = True
    assert run_outcome(st8) == "verified"
    st8.steps[1].status = "undone"
    assert run_outcome(st8) == "undone"
    st8.status = "aborted"
    assert run_outcome(st8) == "aborted"
    assert os.environ["CRASH_EFFECTS"]
