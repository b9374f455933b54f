"""Escalation: the hand-off document, and posting it through the governed stepper."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pexpect
import pytest

from aisre_cli.govern.audit import AuditLog, verify
from aisre_cli.govern.escalation import escalation_runbook, handoff_markdown, suggestion
from aisre_cli.model import Alert, Evidence, Hypothesis, TriageReport, Verdict
from tests.contract_servers.base import Reply, Request
from tests.contract_servers.pagerduty import PagerDutyServer
from tests.fakes.env import AISRE, make_env, write_config

BUNDLE = (
    Path(__file__).resolve().parent.parent.parent
    / "shared"
    / "datasets"
    / "petshop"
    / ("petshop-high_traffic-test-issue0")
)
ALERT = "fade5018"
PROMPT = r"Run this step\? y run, n skip, d dry run, a abort, \? help: "


class EscalatingPagerDuty(PagerDutyServer):
    """The contract server, plus `PUT /incidents/ID` with `escalation_level`."""

    def __init__(self) -> None:
        self.escalations: list[tuple[str, int]] = []
        super().__init__()

    def route(self, req: Request) -> Reply:
        if req.method == "PUT" and req.path.startswith("/incidents/"):
            body = (req.json() or {}).get("incident") or {}
            if "escalation_level" in body:
                if not req.headers.get("from"):
                    return Reply(400, {"error": {"message": "From required"}})
                iid = req.path.split("/")[2]
                self.escalations.append((iid, int(body["escalation_level"])))
                return Reply(
                    200, {"incident": {"id": iid, "escalation_level": body["escalation_level"]}}
                )
        return super().route(req)


def _report(escalate: bool = True) -> TriageReport:
    return TriageReport(
        alert=Alert(
            id="abcdef0123456789",
            name="CheckoutErrors",
            service="checkout",
            annotations={"summary": "5xx above 5%"},
            starts_at=datetime.now(UTC),
        ),
        verdict=Verdict(
            escalate=escalate,
            reason="not enough evidence",
            hypotheses=[
                Hypothesis(
                    rank=1,
                    kind="deploy",
                    service="checkout",
                    subject="deploy-9",
                    statement="deploy-9 broke checkout",
                    confidence=0.4,
                    evidence=["E1"],
                    runbooks=["rollback-bad-deploy"],
                ),
            ],
        ),
        evidence=[
            Evidence(
                id="E1",
                kind="change",
                service="checkout",
                summary="deploy v9",
                strength=0.8,
                query="changes.json#deploy-9",
            )
        ],
    )


def test_handoff_markdown_has_everything() -> None:
    log = AuditLog()
    log.append(
        "run_start",
        {"alert": "abcdef0123456789", "runbook": "rollback-bad-deploy"},
        "r-20260101T000000Z-aaaaaa",
    )
    log.append("result", {"step": "rollback", "ok": True}, "r-20260101T000000Z-aaaaaa")
    log.append("run_end", {"status": "completed"}, "r-20260101T000000Z-aaaaaa")
    md = handoff_markdown(_report(), log)
    assert md.startswith("# Escalation: CheckoutErrors (checkout)")
    assert "verdict: **escalate**: not enough evidence" in md
    assert "**deploy** on `checkout` [deploy-9]" in md and "(confidence 40%)" in md
    assert "E1: deploy v9 — `changes.json#deploy-9`" in md
    assert "audit #2 run r-20260101T000000Z-aaaaaa: step `rollback` ok" in md
    seq, head = log.head()
    assert f"Audit head: #{seq} `{head}`" in md


def test_handoff_shows_an_action_that_may_have_run(tmp_path: Path) -> None:
    """QA 2026-12-03: killed during `rollout undo`, the intent had no result and the
    hand-off left it out, so the next engineer could not tell the undo may have run."""
    run = "r-20260101T000000Z-bbbbbb"
    log = AuditLog(tmp_path / "audit.jsonl")
    log.append("run_start", {"alert": "abcdef0123456789", "runbook": "rollback"}, run)
    intent = {"step": "rollback", "attempt": 1, "action": "kubectl rollout undo deploy/x"}
    log.append("intent", intent, run)  # killed here: no result
    log.append("resume", {"reconciled": {"rollback": "running -> pending"}}, run)
    log.append("intent", {**intent, "attempt": 2}, run)
    log.append(
        "result",
        {"step": "rollback", "attempt": 2, "ok": False, "error": "stopped"}
        | {"status": "interrupted"},
        run,
    )
    log.append("intent", {"step": "check", "attempt": 1, "action": "kubectl get"}, run)
    log.append("result", {"step": "check", "attempt": 1, "ok": True}, run)
    md = handoff_markdown(_report(), log)
    assert "audit #2 run " + run + ": step `rollback` STARTED, NO RESULT" in md
    assert "`kubectl rollout undo deploy/x` may or may not have taken effect" in md
    assert f"audit #3 run {run}: resumed" in md
    assert "#4" not in md  # attempt 2 has its result: shown once, by the result
    assert "step `rollback` INTERRUPTED (stopped; may or may not have taken effect)" in md
    assert "step `check` ok" in md and "`kubectl get`" not in md


def test_suggestion_only_when_the_verdict_says_escalate() -> None:
    assert suggestion(_report(True)) == "aisre escalate abcdef01"
    assert suggestion(_report(False)) is None


def test_escalation_runbook_is_an_ordinary_validated_runbook() -> None:
    from aisre_cli.remediate.capabilities import default_registry
    from aisre_cli.remediate.runbook import validate_runbook

    rb = escalation_runbook()
    assert [s.capability for s in rb.steps] == ["pagerduty.note", "pagerduty.escalate"]
    assert validate_runbook(rb, {}, default_registry()) == []
    assert [s.id for s in escalation_runbook(escalate=False).steps] == ["note"]


def _pd_config(home: Path, url: str) -> dict[str, str]:
    write_config(home, {"sources": {"pagerduty": {"url": url, "from_email": "oncall@example.com"}}})
    return make_env(home, AISRE_PAGERDUTY_TOKEN="pd-test-token")


def escalate(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`aisre escalate ALERT --bundle BUNDLE ARGS…` with no terminal (stdin closed)."""
    return subprocess.run(
        [*AISRE, "escalate", ALERT, "--bundle", str(BUNDLE), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_no_post_prints_the_handoff(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    cp = escalate(env, "--no-post")
    assert cp.returncode == 0, cp.stderr
    assert cp.stdout.startswith("# Escalation: PetSiteHighLatency")
    assert "## Hypotheses" in cp.stdout and "## Actions taken" in cp.stdout
    cp = escalate(env, "--no-post", "--json")
    data = json.loads(cp.stdout)
    assert data["posted"] is False and data["markdown"].startswith("# Escalation")


def test_escalate_posts_note_and_escalates_through_governance(tmp_path: Path) -> None:
    with EscalatingPagerDuty() as pd:
        inc = pd.add_incident("PetSite latency")
        env = _pd_config(tmp_path, pd.url)
        child = pexpect.spawn(
            AISRE[0],
            [*AISRE[1:], "escalate", ALERT, "--bundle", str(BUNDLE), "--incident", inc["id"]],
            env=env,
            encoding="utf-8",
            timeout=60,
            dimensions=(50, 200),
        )
        child.expect("pagerduty.note")
        child.expect(PROMPT)
        child.send("Y")  # not exact: nothing is posted
        child.expect("not a choice")
        child.expect(PROMPT)
        assert pd.notes[inc["id"]] == []
        child.send("y")
        child.expect("pagerduty.escalate")
        child.expect(PROMPT)
        child.send("y")
        child.expect(r"audit head: #\d+ [0-9a-f]{64}")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0
        notes = pd.notes[inc["id"]]
        assert len(notes) == 1 and notes[0]["content"].startswith(
            "# Escalation: PetSiteHighLatency"
        )
        assert pd.escalations == [(inc["id"], 2)]
    recs = list(AuditLog(tmp_path / "data" / "audit.jsonl").records())
    intents = [r.data["capability"] for r in recs if r.event == "intent"]
    assert intents == ["pagerduty.note", "pagerduty.escalate"]
    assert "pd-test-token" not in (tmp_path / "data" / "audit.jsonl").read_text()
    assert verify(tmp_path / "data" / "audit.jsonl").ok


def test_escalate_without_terminal_is_refused(tmp_path: Path) -> None:
    with EscalatingPagerDuty() as pd:
        inc = pd.add_incident("PetSite latency")
        env = _pd_config(tmp_path, pd.url)
        cp = escalate(env, "--incident", inc["id"])
        assert cp.returncode == 5, cp.stderr
        assert "no terminal" in cp.stderr
        assert pd.notes[inc["id"]] == [] and pd.escalations == []


def test_escalate_needs_an_incident_id(tmp_path: Path) -> None:
    with EscalatingPagerDuty() as pd:
        env = _pd_config(tmp_path, pd.url)
        cp = escalate(env)
        assert cp.returncode == 2 and "--incident" in cp.stderr


def test_escalate_prints_the_handoff_once_not_twice_escaped_on_stderr(tmp_path: Path) -> None:
    """Issue 12 §3.19: the hand-off went to stdout, and then twice more to stderr as
    escaped JSON (the plan's parameter and the note's action). Now stderr names it by
    a stand-in (lines, size, sha256); the human read it on stdout."""
    with EscalatingPagerDuty() as pd:
        inc = pd.add_incident("PetSite latency")
        env = _pd_config(tmp_path, pd.url)
        cp = escalate(env, "--incident", inc["id"])
    assert cp.stdout.count("# Escalation: PetSiteHighLatency") == 1
    assert "# Escalation" not in cp.stderr, cp.stderr
    assert "## Hypotheses" not in cp.stderr
    assert "<text: " in cp.stderr and "sha256" in cp.stderr
    assert "aisre escalate" not in cp.stderr, "no hint that loops back to this command"


def test_escalation_is_confirmed_even_when_triage_says_escalate() -> None:
    """Issue 12 §3.1: `aisre escalate` was refused by governance exactly when triage
    said ESCALATE (`trust 0.13 < escalate_trust 0.15`). Handing off is never risky."""
    from aisre_cli.govern.session import RunSession
    from aisre_cli.settings.config import PagerDutySource, Profile, Sources

    a = Alert(id="f" * 16, name="X", service="api", starts_at="2025-01-01T00:00:00Z")
    h = Hypothesis(kind="unknown", service="api", statement="no idea", confidence=0.02)
    rep = TriageReport(
        alert=a, verdict=Verdict(escalate=True, reason="not enough evidence", hypotheses=[h])
    )
    prof = Profile(
        environment="prod",
        sources=Sources(pagerduty=PagerDutySource(url="http://127.0.0.1:9")),
    )
    session = RunSession.start(
        escalation_runbook(),
        "t",
        prof,
        params={"incident_id": "Q1", "handoff": handoff_markdown(rep), "level": "2"},
        report=rep,
    )
    for ps in session.plan.steps:
        d = session.decide(ps)
        assert d.kind == "confirm", d.reasons


def test_handoff_escapes_outside_text_and_can_be_posted() -> None:
    """QA 2026-12-03: an alert summary carrying an OSC 52 and a CR/LF went into the
    hand-off raw: the note step refused it ("must not contain control characters",
    exit 2, nothing posted), and a newline in the summary forged a fake
    "## Actions taken" section in the printed hand-off."""
    from aisre_cli.remediate.capabilities.web import PdNoteInput

    rep = _report()
    rep.alert.annotations["summary"] = (
        "latency \x1b]52;c;ZWNobyBoaQ==\x07 high\r\n## Actions taken\n- audit #1: rollback ok"
    )
    rep.verdict.hypotheses[0].statement = "deploy \u202eyako\u202c broke \x9b2J it"
    md = handoff_markdown(rep, AuditLog())
    assert "\x1b" not in md and "\x07" not in md and "\r" not in md and "\u202e" not in md
    assert "\x9b" not in md
    assert "\\x1b]52;c;" in md and "\\u202e" in md
    assert md.count("\n## Actions taken\n") == 1
    assert "- summary: latency \\x1b]52;c;ZWNobyBoaQ==\\x07 high\\r\\n## Actions taken\\n" in md
    assert PdNoteInput(incident_id="Q1", content=md).content == md


def test_handoff_fits_the_note_limit_and_keeps_what_matters(tmp_path: Path) -> None:
    """QA 2026-12-03: a hand-off above 8,000 characters (many hypotheses and evidence,
    a long run) was refused by `pagerduty.note` before anything was sent. It is now
    shortened: evidence first, routine actions next; the verdict, every action that
    may have taken effect, and the audit head stay."""
    from aisre_cli.govern.escalation import NOTE_LIMIT
    from aisre_cli.remediate.capabilities.web import PdNoteInput

    rep = _report()
    hyps, evs = [], []
    for i in range(40):
        evs.append(
            Evidence(
                id=f"E{i + 2}",
                kind="metric_anomaly",
                service="checkout",
                summary="x" * 300,
                strength=0.5,
                query=f'rate(http_requests_total{{code="5xx",i="{i}"}}[5m])',
            )
        )
        hyps.append(
            Hypothesis(
                rank=i + 2,
                kind="unknown",
                service=f"svc{i}",
                statement=f"svc{i} misbehaves",
                confidence=0.01,
                evidence=[f"E{i + 2}"],
            )
        )
    rep = rep.model_copy(
        update={
            "verdict": rep.verdict.model_copy(update={"hypotheses": rep.verdict.hypotheses + hyps}),
            "evidence": rep.evidence + evs,
        }
    )
    run = "r-20260101T000000Z-cccccc"
    log = AuditLog(tmp_path / "audit.jsonl")
    log.append("run_start", {"alert": rep.alert.id, "runbook": "rollback"}, run)
    for i in range(60):
        log.append("result", {"step": f"check{i}", "attempt": 1, "ok": True}, run)
    log.append("intent", {"step": "rollback", "attempt": 1, "action": "kubectl rollout undo"}, run)
    log.append(
        "verify",
        {"step": "rollback", "ok": False, "skipped": True, "detail": "prometheus down"},
        run,
    )
    md = handoff_markdown(rep, log)
    assert len(md) <= NOTE_LIMIT
    assert PdNoteInput(incident_id="Q1", content=md).content == md
    assert "verdict: **escalate**" in md and "(confidence 40%)" in md
    assert "step `rollback` STARTED, NO RESULT" in md
    assert "verify `rollback` UNVERIFIED (the check could not be made): prometheus down" in md
    assert "left out" in md and "aisre escalate abcdef01 --no-post" in md
    seq, head = log.head()
    assert md.rstrip().endswith(f"Audit head: #{seq} `{head}` (verify with `aisre audit verify`).")
    # what the hint points to (`--no-post` prints it) is the whole hand-off
    whole = handoff_markdown(rep, log, limit=None)
    assert len(whole) > NOTE_LIMIT and "left out" not in whole and "E41:" in whole


def test_handoff_tells_an_unmade_check_from_a_failed_one(tmp_path: Path) -> None:
    """QA 2026-12-03: a verification that could not be made (Prometheus down: the run
    ends `unverified`) was handed off as "verify FAILED"."""
    run = "r-20260101T000000Z-dddddd"
    log = AuditLog(tmp_path / "audit.jsonl")
    log.append("run_start", {"alert": "abcdef0123456789", "runbook": "rollback"}, run)
    log.append("result", {"step": "rollback", "attempt": 1, "ok": True}, run)
    log.append(
        "verify", {"step": "rollback", "ok": False, "skipped": True, "detail": "no answer"}, run
    )
    log.append(
        "verify",
        {"step": "rollback", "ok": False, "detail": "stopped", "status": "interrupted"},
        run,
    )
    log.append("run_end", {"status": "unverified"}, run)
    md = handoff_markdown(_report(), log)
    assert "verify `rollback` UNVERIFIED (the check could not be made): no answer" in md
    assert "verify `rollback` INTERRUPTED (not settled): stopped" in md
    assert "FAILED" not in md
    assert "ended unverified" in md


class DropsAfterRecordingNote(PagerDutyServer):
    """Records a posted note, then closes the connection without answering."""

    def route(self, req: Request) -> Reply:
        reply = super().route(req)
        if req.method == "POST" and req.path.endswith("/notes"):
            raise ConnectionResetError("dropped after recording the note")
        return reply

    def _dispatch(self, h: Any) -> None:
        super()._dispatch(h)
        if h.command == "POST" and h.path.split("?")[0].endswith("/notes"):
            h.close_connection = True  # no answer, and the connection goes


def test_a_note_is_posted_once_across_a_lost_answer_and_a_second_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """QA 2026-12-03: the server recorded the note and dropped the connection; the run
    ended failed (outcome unknown), and `runbook resume` posted the note again, as did
    running `aisre escalate` twice with nothing new. The note capability now looks for
    its own content on the incident first, and after a lost answer."""
    from aisre_cli.remediate.capabilities import ExecContext, default_registry
    from aisre_cli.settings.config import PagerDutySource, Profile, Sources

    monkeypatch.setenv("AISRE_PAGERDUTY_TOKEN", "pd-test-token")
    cap = default_registry().get("pagerduty.note")
    with DropsAfterRecordingNote() as pd:
        inc = pd.add_incident("PetSite latency")
        src = PagerDutySource(url=pd.url, from_email="oncall@example.com")
        src.http.retries = 0
        ctx = ExecContext(profile=Profile(sources=Sources(pagerduty=src)))
        note = cap.input_model.model_validate({"incident_id": inc["id"], "content": "# hand-off"})
        out = cap.execute(note, ctx).model_dump()
        assert out.get("already_posted") is True  # the lost answer: found on the incident
        out = cap.execute(note, ctx).model_dump()  # a second run: not posted again
        assert out.get("already_posted") is True
        assert [n["content"] for n in pd.notes[inc["id"]]] == ["# hand-off"]
        other = cap.input_model.model_validate({"incident_id": inc["id"], "content": "# new"})
        cap.execute(other, ctx)  # new content is posted (its answer is lost: found again)
        assert [n["content"] for n in pd.notes[inc["id"]]] == ["# hand-off", "# new"]
