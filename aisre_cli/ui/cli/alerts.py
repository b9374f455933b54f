"""`aisre alerts`: the deduplicated, grouped alert inbox."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from aisre_cli.ui.cli.app import BundleOpt, JsonOpt, ProfileOpt, app
from aisre_cli.ui.cli.common import load, note, print_json

if TYPE_CHECKING:
    from aisre_cli.model import Alert
    from aisre_cli.settings.config import Profile


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
    from aisre_cli.flows.triage import TriageFlow
    from aisre_cli.model import short_ids
    from aisre_cli.ui.render import alerts_table, source_notes
    from aisre_cli.ui.term import echo, visible

    rp, sources = load(ctx, profile, bundle)
    # the console's inbox uses the same listing and grouping
    listed = TriageFlow(rp.profile, sources).inbox(show_all=show_all)
    # in the sources' configured order, not the order they answered in: `--json` is
    # stable from one run to the next
    order = {f"{s.name} alerts": i for i, s in enumerate(sources.alerts)}
    notes = sorted(listed.notes, key=lambda n: order.get(n.source, len(order)))
    source_notes(notes)
    if notes and not listed.alerts and all(n.status == "failed" for n in notes):
        from aisre_cli.errors import SourceError

        raise SourceError(
            "no alert source answered: " + "; ".join(n.render() for n in notes),
            hint="check the sources with `aisre doctor`",
        )
    alerts = listed.shown
    groups = [g.alerts for g in listed.groups]  # oldest first, as documented for --json
    noisy = _noise(alerts, rp.profile)
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
                            "likely_noise": a.id in noisy,
                            "noise": noisy.get(a.id),
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
    # ids unique among every alert `aisre triage` resolves against (silenced ones too)
    ids = short_ids(listed.alerts)
    # an incident's row is its head (most severe, then oldest: what the incidents are
    # sorted by), the others beneath it
    heads = [[g.head, *(a for a in g.alerts if a is not g.head)] for g in listed.groups]
    failed = [n.source for n in notes if n.status == "failed"]
    if not heads and failed:
        # "no active alerts" would be a false all-clear while a source is down
        echo(f"no active alerts from the sources that answered; failed: {', '.join(failed)}")
        return
    alerts_table(heads, ids)
    for a in alerts:
        if a.id in noisy:
            echo(f"likely noise: {visible(a.name, oneline=True)} ({ids[a.id]}): {noisy[a.id]}")


def _noise(alerts: list[Alert], profile: Profile) -> dict[str, str]:
    """Record the alerts' firing episodes in memory; return the noisy ones' histories."""
    from aisre_cli.errors import AisreError
    from aisre_cli.memory.store import open_store

    try:
        with open_store(profile=profile) as st:
            st.record_alerts(alerts)
            out: dict[str, str] = {}
            for a in alerts:
                v = st.noise(a)
                if v.noisy:
                    out[a.id] = v.summary(a.name)
            return out
    except AisreError as err:  # memory is an extra: the inbox must still show
        note(f"incident memory unavailable: {err.message}")
        return {}
