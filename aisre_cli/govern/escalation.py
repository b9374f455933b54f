"""Escalation: a hand-off document, and posting it through the governed path.

`handoff_markdown()` turns a triage report plus the audit trail of what was already
tried into a Markdown hand-off: the alert, the verdict, each hypothesis with the
evidence it cites (and the query that reproduces it), and every action taken with its
audit sequence number and the head hash, so the receiver can verify the record.

Posting is not a side channel: `escalation_runbook()` builds an ordinary in-memory
runbook (`pagerduty.note`, then `pagerduty.escalate`) that runs through `RunSession`
like any other, so the policy, the confirm prompt and the audit log apply.
"""

from __future__ import annotations

from collections.abc import Iterable

from aisre_cli.govern.audit import AuditRecord, AuditSink, open_audit_log
from aisre_cli.model import TriageReport
from aisre_cli.remediate.runbook import Param, Runbook, Step


def suggestion(report: TriageReport) -> str | None:
    """What triage should print when its verdict says escalate."""
    if not report.verdict.escalate:
        return None
    return f"aisre escalate {report.alert.short_id}"


ACTION_EVENTS = ("intent", "result", "skip", "stopped", "abort", "verify", "resume", "run_end")


def actions_for(alert_id: str, records: Iterable[AuditRecord]) -> list[AuditRecord]:
    """What runs started for this alert did: each action's result, and an intent whose
    result was never recorded (the process died during the action, so it may or may not
    have taken effect: the next engineer must know before running it again)."""
    runs: set[str] = set()
    out: list[AuditRecord] = []
    for r in records:
        if r.event == "run_start" and r.data.get("alert") == alert_id and r.run:
            runs.add(r.run)
        if r.run in runs and r.event in ACTION_EVENTS:
            out.append(r)
    answered = {
        (r.run, r.data.get("step"), r.data.get("attempt"), r.data.get("undo_of"))
        for r in out
        if r.event == "result"
    }
    return [
        r
        for r in out
        if r.event != "intent"
        or (r.run, r.data.get("step"), r.data.get("attempt"), r.data.get("undo_of")) not in answered
    ]


def handoff_markdown(report: TriageReport, audit: AuditSink | None = None) -> str:
    log = audit or open_audit_log()
    a = report.alert
    v = report.verdict
    ev = report.evidence_by_id()
    lines = [
        f"# Escalation: {a.name}" + (f" ({a.service})" if a.service else ""),
        "",
        f"- alert: `{a.id}` severity {a.severity}, started"
        f" {a.starts_at.isoformat().replace('+00:00', 'Z')}",
    ]
    if a.summary:
        lines.append(f"- summary: {a.summary}")
    lines.append(
        f"- verdict: **{'escalate' if v.escalate else v.classification}**"
        + (f": {v.reason}" if v.reason else "")
    )
    if v.related_alerts:
        lines.append(f"- related alerts: {', '.join(v.related_alerts)}")
    if report.notes:
        lines.append(f"- degraded sources: {'; '.join(report.notes)}")
    lines += ["", "## Hypotheses", ""]
    if not v.hypotheses:
        lines.append("_No hypothesis reached the evidence bar._")
    for h in v.hypotheses:
        subj = f" [{h.subject}]" if h.subject else ""
        lines.append(
            f"{h.rank or '-'}. **{h.kind}** on `{h.service}`{subj}: {h.statement}"
            f" (confidence {h.confidence:.0%})"
        )
        for eid in h.evidence:
            e = ev.get(eid)
            if e is None:
                continue
            q = f" — `{e.query}`" if e.query else ""
            lines.append(f"   - {e.id}: {e.summary}{q}")
        if h.runbooks:
            lines.append(f"   - runbooks: {', '.join(h.runbooks)}")
    lines += ["", "## Actions taken", ""]
    taken = actions_for(a.id, log.records())
    if not taken:
        lines.append("_None recorded by aisre._")
    for r in taken:
        d = r.data
        if r.event == "intent":
            lines.append(
                f"- audit #{r.seq} run {r.run}: step `{d.get('step')}` STARTED, NO RESULT"
                f" (the run died during it: `{d.get('action')}` may or may not have taken"
                " effect; check before running it again)"
            )
        elif r.event == "resume":
            lines.append(f"- audit #{r.seq} run {r.run}: resumed")
        elif r.event == "result":
            if d.get("status") == "interrupted":
                state = f"INTERRUPTED ({d.get('error')}; may or may not have taken effect)"
            else:
                state = "ok" if d.get("ok") else f"FAILED ({d.get('error')})"
            lines.append(f"- audit #{r.seq} run {r.run}: step `{d.get('step')}` {state}")
        elif r.event == "verify":
            lines.append(
                f"- audit #{r.seq} run {r.run}: verify `{d.get('step')}`"
                f" {'ok' if d.get('ok') else 'FAILED'}: {d.get('detail')}"
            )
        elif r.event == "run_end":
            lines.append(f"- audit #{r.seq} run {r.run}: ended {d.get('status')}")
        else:
            lines.append(
                f"- audit #{r.seq} run {r.run}: {r.event} {d.get('step') or ''}"
                f" {d.get('reason') or ''}".rstrip()
            )
    seq, head = log.head()
    lines += ["", f"Audit head: #{seq} `{head}` (verify with `aisre audit verify`)."]
    return "\n".join(lines) + "\n"


def escalation_runbook(*, escalate: bool = True) -> Runbook:
    """The in-memory runbook that posts the hand-off and escalates."""
    steps = [
        Step(
            id="note",
            title="Post the hand-off as an incident note",
            capability="pagerduty.note",
            inputs={"incident_id": "{{ incident_id }}", "content": "{{ handoff }}"},
        )
    ]
    if escalate:
        steps.append(
            Step(
                id="escalate",
                title="Escalate to the next level",
                capability="pagerduty.escalate",
                inputs={"incident_id": "{{ incident_id }}", "escalation_level": "{{ level }}"},
            )
        )
    rb = Runbook(
        id="escalate",
        title="Escalate the incident",
        description="Post the hand-off note to PagerDuty and escalate.",
        params={
            "incident_id": Param(type="version", from_="incident_id"),
            "handoff": Param(type="text"),
            "level": Param(type="int", default=2),
        },
        steps=steps,
    )
    rb.source = "builtin:escalate"
    return rb
