"""`aisre alerts`: the deduplicated, grouped alert inbox."""

from __future__ import annotations

import typer

from aisre_cli.ui.cli.app import BundleOpt, JsonOpt, ProfileOpt, app
from aisre_cli.ui.cli.common import load, print_json


@app.command("alerts")
def alerts_cmd(
    ctx: typer.Context,
    profile: ProfileOpt = None,
    bundle: BundleOpt = None,
    json_out: JsonOpt = False,
    show_all: bool = typer.Option(
        False, "--all", help="Include silenced and inhibited alerts (hidden by default)."
    ),
) -> None:
    """List firing alerts, deduplicated across sources and grouped into incidents.

    Example: aisre alerts --bundle ./incident-42
    """
    from aisre_cli.investigate.gather import group_alerts, list_alerts
    from aisre_cli.ui.render import alerts_table, source_notes

    rp, sources = load(ctx, profile, bundle)
    alerts, notes = list_alerts(sources, rp.profile.gather_budget_s)
    source_notes(notes)
    if not show_all:
        alerts = [a for a in alerts if not a.silenced_by and not a.inhibited_by]
    groups = group_alerts(alerts)
    if json_out:
        print_json(
            {
                "schema": "aisre.alerts/v1",
                "incidents": [
                    [
                        {
                            "id": a.id,
                            "name": a.name,
                            "service": a.service,
                            "severity": a.severity,
                            "state": a.state,
                            "starts_at": a.starts_at.isoformat().replace("+00:00", "Z"),
                            "summary": a.summary,
                            "sources": a.sources,
                            "aliases": a.aliases,
                        }
                        for a in g
                    ]
                    for g in groups
                ],
                "sources": [
                    {"source": n.source, "status": n.status, "detail": n.detail} for n in notes
                ],
            }
        )
        return
    alerts_table(groups)
