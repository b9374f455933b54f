"""Escalating as one use case: the hand-off, where it goes, and the governed run.

The CLI (`aisre escalate`) and the console's hand-off screen both build the hand-off
here, from one triage report: the Markdown (alert, verdict, hypotheses with their
evidence, actions taken from the audit log), the PagerDuty incident it belongs to, and
the escalation runbook run through the same governed stepper as any runbook. Handing
off to a human is never a risky action (`start_run(..., handoff=True)`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aisre_cli.errors import ConfigError
from aisre_cli.flows.runbook import RunFlow, start_run
from aisre_cli.govern.escalation import escalation_runbook, handoff_markdown
from aisre_cli.model import Alert, TriageReport
from aisre_cli.settings.config import Profile

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass
class Handoff:
    report: TriageReport
    markdown: str
    incident: str | None
    """The PagerDuty incident this alert belongs to, when the alert tells."""


def prepare(report: TriageReport, incident: str | None = None, *, whole: bool = False) -> Handoff:
    """The hand-off for one triage report (reads the audit log for actions taken): cut
    to what a PagerDuty note takes, unless `whole` (only printed, never posted)."""
    md = handoff_markdown(report, limit=None) if whole else handoff_markdown(report)
    return Handoff(report, md, incident or incident_of(report.alert))


def incident_of(alert: Alert) -> str | None:
    """The PagerDuty incident id an alert carries: a label, its own id when it came from
    PagerDuty, or a `pagerduty:` alias from deduplication."""
    for key in ("pagerduty_incident", "pd_incident", "incident_id"):
        if alert.labels.get(key):
            return alert.labels[key]
    if alert.source.startswith("pagerduty"):
        return alert.id.removeprefix("pd-")
    for a in alert.aliases:
        if a.startswith("pagerduty:"):
            return a.split(":", 1)[1]
    return None


def start_escalation(
    handoff: Handoff,
    incident: str,
    profile_name: str,
    profile: Profile,
    *,
    level: int = 2,
    note_only: bool = False,
    interactive: bool = True,
) -> RunFlow:
    """Plan the hand-off run (a PagerDuty note, then the escalation unless `note_only`).

    PagerDuty refuses a write without a `From` user ("Requester User Not Found"): a
    profile without a usable `from_email` is refused here, before a run is started and
    before anyone confirms a note that cannot be posted."""
    pd = profile.sources.pagerduty
    email = (pd.from_email or "").strip() if pd is not None else ""
    if pd is not None and not _EMAIL.fullmatch(email):
        shown = f" ({email[:60]!r} is not an email address)" if email else ""
        raise ConfigError(
            f"pagerduty: writes need the From header (a PagerDuty user's email){shown}",
            hint="set pagerduty.from_email in the profile (`aisre config init`)",
        )
    return start_run(
        escalation_runbook(escalate=not note_only),
        profile_name,
        profile,
        params={"incident_id": incident, "handoff": handoff.markdown, "level": str(level)},
        report=handoff.report,
        interactive=interactive,
        handoff=True,
    )
