"""`aisre bundle capture|validate`: freeze a live incident as a bundle v1, check one.

`capture ALERT_ID -o DIR` lists the alerts, gathers everything around the alert from
the live sources (the same code path and time budget as `aisre triage`) and writes
the bundle (see `sources/capture.py`), so the incident can be replayed offline with
`aisre triage --bundle DIR`, attached to a ticket or added to the evaluation suite.
"""

from __future__ import annotations

from pathlib import Path

import typer

from aisre_cli.ui.cli.app import JsonOpt, ProfileOpt, app, state

CAPTURE_SCHEMA = "aisre.bundle.capture/v1"
VALIDATE_SCHEMA = "aisre.bundle.validate/v1"

bundle_app = typer.Typer(
    name="bundle",
    help="Capture live incidents as bundles and validate bundles.",
    no_args_is_help=True,
)
app.add_typer(bundle_app, name="bundle")


@bundle_app.command("capture")
def capture_cmd(
    ctx: typer.Context,
    alert_id: str = typer.Argument(..., help="Fingerprint, unique prefix or alertname."),
    out: Path = typer.Option(..., "--out", "-o", help="Directory to write.", file_okay=False),
    title: str = typer.Option("", "--title", help="Title for bundle.yaml."),
    force: bool = typer.Option(False, "--force", help="Replace an earlier bundle there."),
    profile: ProfileOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Write a bundle v1 of one live alert: alerts, metrics, logs, changes, topology.

    Example: aisre bundle capture HighErrorRate -o ./incident-42
    """
    from aisre_cli.errors import UsageError
    from aisre_cli.flows.triage import TriageFlow
    from aisre_cli.settings.config import resolve_profile
    from aisre_cli.sources.capture import capture_bundle, check_output, raw_alerts
    from aisre_cli.sources.registry import build_sources
    from aisre_cli.ui.render import source_notes

    st = state(ctx, profile)
    if st.bundle is not None:
        raise UsageError("capture reads live sources; --bundle makes no sense here")
    # a wrong -o fails now, not after the gather budget was spent on the sources
    check_output(out, force=force)
    rp = resolve_profile(st.profile)
    sources = build_sources(rp.profile, None)
    # the same alert resolution, window, "now" and budget as `aisre triage`
    gctx = TriageFlow(rp.profile, sources, memory=False, runbooks=[]).collect(alert_id)
    alert = gctx.alert
    source_notes(gctx.notes)
    raw = raw_alerts(sources.alerts)
    path = capture_bundle(
        gctx, out, title=title, raw_alerts=raw, force=force, events=bool(sources.events)
    )
    summary = {
        "schema": CAPTURE_SCHEMA,
        "bundle": str(path),
        "alert": alert.id,
        "alerts": len(gctx.alerts),
        "series": len(gctx.series),
        "log_records": len(gctx.logs),
        "changes": len(gctx.changes),
        "events": len(gctx.events),
        "services_in_topology": len(gctx.topology.services()),
        "notes": [n.render() for n in gctx.notes if n.status != "ok"],
    }
    if json_out:
        import json

        typer.echo(json.dumps(summary, indent=2))
    else:
        typer.echo(str(path))
        typer.echo(
            f"captured {summary['alerts']} alerts, {summary['series']} series,"
            f" {summary['log_records']} log records, {summary['changes']} changes"
            + (f", {summary['events']} events" if sources.events else ""),
            err=True,
        )


@bundle_app.command("validate")
def validate_cmd(
    path: Path = typer.Argument(..., file_okay=False),
    json_out: JsonOpt = False,
) -> None:
    """Read every file of a bundle; exit 2 listing each problem with its file and place.

    Checks every file against docs/bundle-format.md, and the bundle as a whole:
    alerts.json is there, `format_version` is 1 (or absent), `focus_alert` names an alert.

    Example: aisre bundle validate ./incident-42 --json
    """
    from aisre_cli.errors import BundleError, ExitCode
    from aisre_cli.sources.bundle import validate_bundle
    from aisre_cli.ui.cli.app import render_error

    b, problems = validate_bundle(path)
    notes = b.reading_notes() if b is not None else []
    if json_out:
        from aisre_cli.ui.cli.common import print_json

        print_json(
            {
                "schema": VALIDATE_SCHEMA,
                "bundle": str(path),
                "id": b.meta.id if b is not None else None,
                "ok": not problems,
                "problems": [p.to_dict() for p in problems],
                "notes": notes,
            }
        )
    else:
        for p in problems:
            render_error(BundleError(p.text, p.hint))
        if notes:
            from aisre_cli.ui.cli.common import note

            for text in notes:
                note(text)
        if not problems and b is not None:
            from aisre_cli.ui.term import echo

            # the path and the id are outside text (a directory name, bundle.yaml)
            echo(f"{path}: valid bundle {b.meta.id!r}", err=True)
    if problems:
        raise typer.Exit(int(ExitCode.USAGE))
