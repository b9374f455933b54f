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

import re
from collections.abc import Iterable

from aisre_cli.govern.audit import GENESIS, AuditRecord, AuditSink, open_audit_log
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


NOTE_LIMIT = 8000
"""The longest hand-off that can be posted: `pagerduty.note` takes free text
(`remediate.types.Text`) of at most 8,000 characters. A longer hand-off was refused
before anything was sent, so the next responder got nothing; it is shortened instead,
keeping the verdict, every action taken and the audit head."""
LINE_LIMIT = 600
"""One line of outside text (a summary, a statement, a log excerpt) at most."""

# What can drive a terminal, reorder what a reader sees, or forge a line of the
# hand-off: C0 (a raw newline in a summary could start a fake "## Actions taken"),
# DEL, C1, bidi marks/overrides/isolates, line and paragraph separators, lone
# surrogates. The same set `ui.term.visible` escapes, written the same way (`\x1b`).
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]"
)
_NAMED = {"\r": "\\r", "\t": "\\t", "\n": "\\n"}


def _escape(m: re.Match[str]) -> str:
    ch = m.group()
    if ch in _NAMED:
        return _NAMED[ch]
    cp = ord(ch)
    return f"\\x{cp:02x}" if cp < 0x100 else f"\\u{cp:04x}"


def _t(value: object) -> str:
    """Outside text as one safe line: controls and bidi shown as their escapes, bounded."""
    s = _UNSAFE.sub(_escape, str(value))
    return s if len(s) <= LINE_LIMIT else s[: LINE_LIMIT - 1] + "…"


# Markdown that outside text could start in prose (PagerDuty renders the note): a code
# span, emphasis, a link or image (`[`, and `](` after our own `[subject]`), raw HTML or
# an autolink. A backslash before punctuation is doubled so it cannot undo an escape.
_MD = re.compile(r"\\(?=[!-/:-@\[-`{-~])|[`*\[<]|\](?=[(\[])")


def _md(value: object) -> str:
    """Outside text for Markdown prose: one safe line (`_t`) that renders as written."""
    return _MD.sub(lambda m: "\\" + m.group(), _t(value))


def _code(value: object) -> str:
    """Outside text as a code span (a query, an id): one safe line, verbatim. The fence
    is longer than any run of backticks inside (LogQL quotes a regex in backticks), as
    CommonMark requires, so the span cannot close early."""
    s = _t(value)
    fence = "`" * (max((len(r) for r in re.findall("`+", s)), default=0) + 1)
    pad = " " if s.startswith("`") or s.endswith("`") else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def _action_line(r: AuditRecord) -> tuple[str, bool]:
    """One action of the hand-off, and whether it must never be left out (a step that
    may or may not have taken effect, a failure, a check that could not be made)."""
    d = r.data
    at = f"- audit #{r.seq} run {_md(r.run)}:"
    step = _code(d.get("step"))
    if r.event == "intent":
        return (
            f"{at} step {step} STARTED, NO RESULT (the run died during it:"
            f" {_code(d.get('action'))} may or may not have taken effect; check before"
            " running it again)",
            True,
        )
    if r.event == "resume":
        return f"{at} resumed", False
    if r.event == "result":
        if d.get("status") == "interrupted":
            err = _md(d.get("error"))
            return f"{at} step {step} INTERRUPTED ({err}; may or may not have taken effect)", True
        if d.get("ok"):
            return f"{at} step {step} ok", False
        return f"{at} step {step} FAILED ({_md(d.get('error'))})", True
    if r.event == "verify":
        detail = _md(d.get("detail"))
        if d.get("status") == "interrupted":
            return f"{at} verify {step} INTERRUPTED (not settled): {detail}", True
        if d.get("ok"):
            return f"{at} verify {step} ok: {detail}", False
        if d.get("skipped"):
            return f"{at} verify {step} UNVERIFIED (the check could not be made): {detail}", True
        return f"{at} verify {step} FAILED: {detail}", True
    if r.event == "run_end":
        status = d.get("status")
        return f"{at} ended {_md(status)}", status not in ("completed", "done")
    tail = f"{r.event} {_md(d.get('step') or '')} {_md(d.get('reason') or '')}".rstrip()
    return f"{at} {tail}", r.event in ("stopped", "abort")


def handoff_markdown(
    report: TriageReport, audit: AuditSink | None = None, *, limit: int | None = NOTE_LIMIT
) -> str:
    """The hand-off, at most `limit` characters: every piece of outside text is one
    line with its controls escaped; when it does not fit, the lowest-ranked evidence
    and then the oldest routine actions are left out (and the hand-off says so).
    `limit=None`: the whole hand-off (`aisre escalate --no-post` prints it)."""
    log = audit or open_audit_log()
    a = report.alert
    v = report.verdict
    ev = report.evidence_by_id()
    head = [
        f"# Escalation: {_md(a.name)}" + (f" ({_md(a.service)})" if a.service else ""),
        "",
        f"- alert: {_code(a.id)} severity {_md(a.severity)}, started"
        f" {a.starts_at.isoformat().replace('+00:00', 'Z')}",
    ]
    if a.summary:
        head.append(f"- summary: {_md(a.summary)}")
    head.append(
        f"- verdict: **{'escalate' if v.escalate else _md(v.classification)}**"
        + (f": {_md(v.reason)}" if v.reason else "")
    )
    if v.related_alerts:
        head.append(f"- related alerts: {_md(', '.join(v.related_alerts))}")
    if report.notes:
        head.append(f"- degraded sources: {_md('; '.join(report.notes))}")
    head += ["", "## Hypotheses", ""]

    # (line, keep): a hypothesis' own line is kept, its evidence lines may be dropped
    hyp: list[tuple[str, bool]] = []
    if not v.hypotheses:
        hyp.append(("_No hypothesis reached the evidence bar._", True))
    for h in v.hypotheses:
        subj = f" [{_md(h.subject)}]" if h.subject else ""
        hyp.append(
            (
                f"{h.rank or '-'}. **{_md(h.kind)}** on {_code(h.service)}{subj}:"
                f" {_md(h.statement)} (confidence {h.confidence:.0%})",
                True,
            )
        )
        for eid in h.evidence:
            e = ev.get(eid)
            if e is None:
                continue
            q = f" — {_code(e.query)}" if e.query else ""
            hyp.append((f"   - {_md(e.id)}: {_md(e.summary)}{q}", False))
        if h.runbooks:
            hyp.append((f"   - runbooks: {_md(', '.join(h.runbooks))}", False))

    # The hand-off leaves out the hand-off runs themselves (posting it, escalating):
    # with them, a second `aisre escalate` (after a Ctrl-C or a lost answer) built a
    # different text, and the note step's "already on the incident" check posted it
    # again. The audit head it cites is then the newest record that is not theirs.
    records = list(log.records())
    own = {
        r.run
        for r in records
        if r.event == "run_start" and r.run and r.data.get("runbook_source") == SOURCE
    }
    taken = [_action_line(r) for r in actions_for(a.id, (r for r in records if r.run not in own))]
    seq, head_hash = log.head()
    if records and records[-1].run in own and records[-1].seq == seq:
        last = next((r for r in reversed(records) if r.run not in own), None)
        seq, head_hash = (last.seq, last.hash) if last is not None else (0, GENESIS)
    foot = ["", f"Audit head: #{seq} `{head_hash}` (verify with `aisre audit verify`)."]

    def render(hl: list[str], al: list[str]) -> str:
        acts = al or ["_None recorded by aisre._"]
        return "\n".join([*head, *hl, "", "## Actions taken", "", *acts, *foot]) + "\n"

    hyp_lines = [x for x, _ in hyp]
    act_lines = [x for x, _ in taken]
    md = render(hyp_lines, act_lines)
    if limit is None or len(md) <= limit:
        return md
    # Too long to post: drop evidence from the last hypothesis up, then routine actions
    # from the oldest, each time saying what was left out and where to see it all.
    full = _code(f"aisre escalate {a.short_id} --no-post")
    hyp_keep = list(hyp)
    act_keep = list(taken)
    dropped_ev = dropped_act = 0
    while True:
        hl = [x for x, _ in hyp_keep]
        if dropped_ev:
            hl.append(f"_{dropped_ev} evidence line(s) left out to fit; all of them: {full}._")
        al = [x for x, _ in act_keep]
        if dropped_act:
            al.insert(
                0, f"_{dropped_act} earlier routine action(s) left out; all: `aisre audit show`._"
            )
        md = render(hl, al)
        if len(md) <= limit:
            return md
        i = next((j for j in range(len(hyp_keep) - 1, -1, -1) if not hyp_keep[j][1]), None)
        if i is not None:
            del hyp_keep[i]
            dropped_ev += 1
            continue
        i = next((j for j, (_, must) in enumerate(act_keep) if not must), None)
        if i is not None:
            del act_keep[i]
            dropped_act += 1
            continue
        # Still too long (hundreds of hypotheses or failures): cut, keeping the head.
        cut = "\n\n_(cut to fit; the full hand-off: " + full + ")_\n"
        return md[: limit - len(cut) - len("".join(foot)) - 2] + cut + "\n".join(foot) + "\n"


SOURCE = "builtin:escalate"
"""The escalation runbook's `source`, as its runs' `run_start` records it."""


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
    rb.source = SOURCE
    return rb
