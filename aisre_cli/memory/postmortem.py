"""Postmortem drafts: one incident from memory, plus its actions from the audit log.

The draft is what an engineer would otherwise assemble by hand the next morning:
a timeline (alert, changes, onset, triage, every runbook action with the hash of its
audit record, the resolution), the ranked hypotheses and the confirmed cause, the
actions and their verification results, and open questions derived from what is
missing or surprising (no confirmed cause, the cause ranked low, a failed
verification, a source that was down).

Audit records come in as plain dicts (`seq`, `hash`, `event`, `run`, `ts`, `data`):
the audit log belongs to govern, a layer above this one, so the UI reads it and
hands it over. Text that came from alerts and logs is data: it is escaped for the
Markdown table it lands in and never interpreted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from aisre_cli.memory.store import Incident

SCHEMA = "aisre.postmortem/v1"
AUDIT_EVENTS = ("run_start", "intent", "result", "verify", "skip", "abort", "stopped", "run_end")


def _cell(text: Any) -> str:
    s = " ".join(str(text if text is not None else "").split())
    return s.replace("\\", "\\\\").replace("|", "\\|").replace("`", "'")


def _code(text: Any) -> str:
    """An identifier from outside (a fingerprint, change or run id) as a code span: on
    one line, with no backtick that could close the span early."""
    return "`" + " ".join(str(text if text is not None else "").split()).replace("`", "'") + "`"


PARAM_LIMIT = 60
"""One run parameter in the timeline at most (an escalation's `handoff` is the whole
hand-off: thousands of characters and many lines, in one table cell)."""


def _params(params: Any) -> str:
    if not isinstance(params, Mapping):
        return str(params)
    out = []
    for k, v in params.items():
        s = " ".join(str(v).split())
        out.append(f"{k}={s if len(s) <= PARAM_LIMIT else s[: PARAM_LIMIT - 1] + '…'}")
    return ", ".join(out)


def _utc(ts: Any) -> Any:
    """A timestamp as RFC 3339 UTC (`…Z`), as the timeline's "time (UTC)" column says:
    an imported memory may carry local offsets (`+02:00`). Left as is when unreadable
    or without a zone (nothing says which zone it is in)."""
    if not isinstance(ts, str):
        return ts
    try:
        t = datetime.fromisoformat(ts.strip().replace("z", "Z"))
    except ValueError:
        return ts
    if t.tzinfo is None:
        return ts
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _when(ts: Any) -> tuple[int, Any]:
    """Sort key: readable zoned timestamps in time order, then the rest as text."""
    try:
        t = datetime.fromisoformat(str(ts).strip().replace("z", "Z"))
    except ValueError:
        return 1, str(ts or "")
    if t.tzinfo is None:
        return 1, str(ts)
    return 0, t.astimezone(UTC)


def _audit_line(r: Mapping[str, Any]) -> str:
    d = r.get("data") or {}
    ev = r.get("event")
    if ev == "run_start":
        return f"runbook {d.get('runbook')} started (params {_params(d.get('params'))})"
    if ev == "intent":
        return f"step {d.get('step')}: {d.get('action')} (confirmed via {d.get('confirmed_via')})"
    if ev == "result":
        ok = "ok" if d.get("ok") else f"FAILED: {d.get('error')}"
        return f"step {d.get('step')}{' (undo)' if d.get('undo_of') else ''}: {ok}"
    if ev == "verify":
        ok = "verified" if d.get("ok") else "verification FAILED"
        return f"step {d.get('step')}: {ok} ({d.get('detail')})"
    if ev == "skip":
        return f"step {d.get('step')} skipped: {d.get('reason')}"
    if ev in ("abort", "stopped"):
        return f"run {ev}: {d.get('reason')}"
    if ev == "run_end":
        return f"run ended: {d.get('status')}"
    return str(ev)


def build(incident: Incident, audit: Iterable[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """The postmortem as data (`--format json`); `markdown()` renders it."""
    rep = incident.report or {}
    run_ids = {r["run_id"] for r in incident.runs}
    records = [r for r in audit if r.get("run") in run_ids and r.get("event") in AUDIT_EVENTS]
    timeline: list[dict[str, Any]] = []
    if incident.starts_at:
        timeline.append(
            {"ts": incident.starts_at, "what": f"alert {incident.alert_name} fired", "ref": None}
        )
    for e in rep.get("evidence") or []:
        if e.get("kind") == "change" and e.get("start"):
            timeline.append(
                {"ts": e["start"], "what": f"change: {e.get('summary')}", "ref": e["id"]}
            )
    if incident.onset:
        timeline.append(
            {"ts": incident.onset, "what": "incident onset (first anomaly)", "ref": None}
        )
    hyps = incident.hypotheses
    top = f"; top hypothesis: {hyps[0]['kind']} on {hyps[0]['service']}" if hyps else ""
    timeline.append(
        {
            "ts": incident.created_at,
            "what": f"triage: {incident.classification}"
            f"{', escalated' if incident.escalate else ''}{top}",
            "ref": f"incident {incident.uid}",
        }
    )
    for r in records:
        timeline.append(
            {
                "ts": r.get("ts"),
                "what": _audit_line(r),
                "ref": f"audit #{r.get('seq')} {str(r.get('hash', ''))[:16]}",
            }
        )
    if incident.resolved and incident.resolved_at:
        timeline.append(
            {
                "ts": incident.resolved_at,
                "what": f"resolved: {incident.cause_text()}",
                "ref": None,
            }
        )
    for t in timeline:
        t["ts"] = _utc(t["ts"])
    timeline.sort(key=lambda x: _when(x["ts"]))
    actions = []
    for run in incident.runs:
        verifies = [
            {
                "step": (r.get("data") or {}).get("step"),
                "ok": (r.get("data") or {}).get("ok"),
                "detail": (r.get("data") or {}).get("detail"),
                "audit": f"#{r.get('seq')} {r.get('hash')}",
            }
            for r in records
            if r.get("run") == run["run_id"] and r.get("event") == "verify"
        ]
        actions.append({**run, "verification": verifies})
    return {
        "schema": SCHEMA,
        "incident": {k: v for k, v in incident.to_dict().items() if k != "report"},
        "summary": incident.reason,
        "timeline": timeline,
        "evidence": rep.get("evidence") or [],
        "actions": actions,
        "open_questions": open_questions(incident, rep),
    }


def open_questions(incident: Incident, rep: Mapping[str, Any]) -> list[str]:
    qs: list[str] = []
    if not incident.resolved:
        qs.append(
            "What was the root cause? Confirm it with "
            f"`aisre incident resolve {incident.id} --cause RANK` (or --kind/--service)."
        )
    elif incident.cause_rank is None:
        qs.append(
            f"Triage did not list the confirmed cause ({incident.cause_text()}) at all: "
            "which signal would have shown it?"
        )
    elif incident.cause_rank > 1:
        qs.append(
            f"Triage ranked the confirmed cause #{incident.cause_rank}: why did "
            f"{incident.hypotheses[0]['kind']} on {incident.hypotheses[0]['service']} look "
            "more likely?"
        )
    if incident.escalate:
        qs.append(f"Triage escalated ({incident.reason}): what evidence was missing?")
    if not incident.runs:
        qs.append("What action fixed it? No runbook run is recorded for this incident.")
    for run in incident.runs:
        if run["outcome"] in ("failed", "undone"):
            qs.append(f"Runbook {run['runbook']} {run['outcome']} (run {run['run_id']}): why?")
    for s in rep.get("sources") or []:
        if s.get("status") not in (None, "ok"):
            qs.append(f"Source {s.get('source')} was {s.get('status')}: {s.get('detail')}")
    return qs


def markdown(pm: Mapping[str, Any]) -> str:
    inc = pm["incident"]
    alert = inc["alert"]
    cause = inc.get("cause")
    out: list[str] = [
        f"# Postmortem draft: {_cell(alert['name'])} ({_cell(inc['uid'])})",
        "",
        f"- **Alert:** {_cell(alert['name'])} on {_cell(alert['service'] or '?')}"
        f" (severity {_cell(alert['severity'])}, fingerprint {_code(alert['id'])})",
        f"- **Fired:** {_cell(_utc(alert['starts_at']) or '?')};"
        f" **onset:** {_cell(_utc(inc['onset']) or '?')}",
        f"- **Triage verdict:** {_cell(inc['classification'])}"
        f"{' (escalated)' if inc['escalate'] else ''}: {_cell(inc['reason'])}",
        f"- **Status:** {_cell(inc['status'])}",
    ]
    if cause:
        tail = f", change {_code(cause['change_id'])}" if cause.get("change_id") else ""
        rank = (
            f" (triage rank {_cell(cause['rank'])})"
            if cause.get("rank")
            else " (not ranked by triage)"
        )
        out.append(
            f"- **Confirmed cause:** {_cell(cause['kind'])} on {_cell(cause['service'])}"
            f"{tail}{rank}"
        )
    if inc.get("note"):
        out.append(f"- **Note:** {_cell(inc['note'])}")
    out += ["", "## Timeline", "", "| time (UTC) | what | reference |", "| --- | --- | --- |"]
    for t in pm["timeline"]:
        out.append(f"| {_cell(t['ts'])} | {_cell(t['what'])} | {_cell(t['ref'] or '')} |")
    out += [
        "",
        "## Hypotheses",
        "",
        "| rank | kind | service | confidence | statement |",
        "| --- | --- | --- | --- | --- |",
    ]
    for h in inc["hypotheses"]:
        mark = ""
        if cause and h["kind"] == cause["kind"] and h["service"] == cause["service"]:
            mark = " ✔"
        out.append(
            f"| {_cell(h['rank'])}{mark} | {_cell(h['kind'])} | {_cell(h['service'])} | "
            f"{float(h['confidence']):.2f} | {_cell(h['statement'])} |"
        )
    if pm["evidence"]:
        out += [
            "",
            "## Evidence",
            "",
            "| id | kind | summary | reproduce |",
            "| --- | --- | --- | --- |",
        ]
        for e in pm["evidence"]:
            out.append(
                f"| {_cell(e.get('id'))} | {_cell(e.get('kind'))} | {_cell(e.get('summary'))}"
                f" | {_cell(e.get('query'))} |"
            )
    out += ["", "## Actions and verification", ""]
    if not pm["actions"]:
        out.append("No runbook run is recorded for this incident.")
    for a in pm["actions"]:
        out.append(
            f"- runbook **{_cell(a['runbook'])}** run {_code(a['run_id'])}:"
            f" {_cell(a['outcome'])} (audit head {_code(str(a.get('audit_head') or '')[:16])})"
        )
        for v in a["verification"]:
            ok = "verified" if v["ok"] else "verification failed"
            out.append(
                f"  - step {_cell(v['step'])}: {ok}: {_cell(v['detail'])} ({_cell(v['audit'])})"
            )
    out += ["", "## Open questions", ""]
    out += [f"- {_cell(q)}" for q in pm["open_questions"]] or ["- none"]
    return "\n".join(out) + "\n"
