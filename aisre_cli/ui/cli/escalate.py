"""`aisre escalate`: hand the incident off, with evidence and the actions taken.

Prints the Markdown hand-off on stdout. When PagerDuty is configured, posts it as an
incident note and escalates, through the same governed stepper as any runbook (the
policy decides, a human confirms each write, everything is audited).
"""

from __future__ import annotations

import typer

from aisre_cli.errors import UsageError
from aisre_cli.ui.cli.app import BundleOpt, JsonOpt, ProfileOpt, app


@app.command("escalate")
def escalate_cmd(
    ctx: typer.Context,
    alert_id: str = typer.Argument(..., help="The alert to escalate (id, prefix or alertname)."),
    incident: str | None = typer.Option(
        None, "--incident", help="PagerDuty incident id (default: from the alert)."
    ),
    level: int = typer.Option(2, "--level", min=1, max=20, help="Escalation level to move to."),
    note_only: bool = typer.Option(False, "--note-only", help="Post the note, do not escalate."),
    no_post: bool = typer.Option(False, "--no-post", help="Only print the hand-off."),
    profile: ProfileOpt = None,
    bundle: BundleOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Build a hand-off (alert, verdict, hypotheses with evidence, actions taken) and escalate.

    Examples:

      aisre escalate CheckoutHighErrorRate --no-post

      aisre escalate 3f2a --incident Q1ABC23 --level 2
    """
    from aisre_cli.flows.escalate import prepare, start_escalation
    from aisre_cli.flows.triage import TriageFlow
    from aisre_cli.ui.cli.common import load, note, print_json
    from aisre_cli.ui.term import echo

    rp, sources = load(ctx, profile, bundle)
    result = TriageFlow(rp.profile, sources).triage(alert_id)
    for text in result.notes:
        note(text)
    report = result.report
    post = not no_post and rp.profile.sources.pagerduty is not None
    handoff = prepare(report, incident, whole=not post)
    md = handoff.markdown
    if json_out and not post:
        print_json(
            {
                "schema": "aisre.escalation/v1",
                "alert": report.alert.id,
                "markdown": md,
                "posted": False,
            }
        )
        return
    if not json_out:  # with --json, stdout is one JSON document: the hand-off is in it
        echo(md)
    if not post:
        if not no_post:
            note("PagerDuty is not configured: the hand-off was printed only")
        return
    inc = handoff.incident
    if inc is None:
        raise UsageError(
            "no PagerDuty incident id for this alert",
            hint="pass --incident ID (see the incident URL in PagerDuty)",
        )
    from aisre_cli.ui.cli.runbook import KeyReader, _console, drive

    reader = KeyReader.for_stdin()
    flow = start_escalation(
        handoff,
        inc,
        rp.name,
        rp.profile,
        level=level,
        note_only=note_only,
        interactive=reader is not None,
    )
    rc, summary = drive(flow, reader, _console())
    if json_out:
        print_json(
            {
                "schema": "aisre.escalation/v1",
                "alert": report.alert.id,
                "markdown": md,
                "posted": True,
                "run": summary,
            }
        )
    if rc:
        raise typer.Exit(rc)
