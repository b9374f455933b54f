"""`aisre triage`: ranked, evidence-cited root-cause hypotheses for one alert.

Only parses options and renders: the triage itself (sources, memory priors, runbook
matching, incident recording) is `flows.triage.TriageFlow`, shared with the console,
`runbook run --alert` and `escalate`.
"""

from __future__ import annotations

from typing import Any

import typer

from aisre_cli.errors import UsageError
from aisre_cli.ui.cli.app import BundleOpt, JsonOpt, ProfileOpt, VerboseOpt, app, state
from aisre_cli.ui.cli.common import follow_up, load, note, print_json


@app.command("triage")
def triage_cmd(
    ctx: typer.Context,
    profile: ProfileOpt = None,
    bundle: BundleOpt = None,
    alert_id: str | None = typer.Argument(
        None,
        help="Fingerprint, unique prefix (>= 4 chars) or unique alertname. "
        "With --bundle, defaults to the bundle's focus alert.",
    ),
    json_out: JsonOpt = False,
    markdown: bool = typer.Option(False, "--markdown", help="A Markdown report (for tickets)."),
    at: str | None = typer.Option(
        None,
        "--at",
        help="Triage as of this past moment (RFC 3339, unix seconds, or a time ago like 90m):"
        " only alerts started by then, no data after it.",
    ),
    window: str | None = typer.Option(
        None, "--window", help="History to gather before the alert (e.g. 30m, 2h)."
    ),
    budget: float | None = typer.Option(
        None, "--budget", min=0.5, help="Time budget for the whole triage, in seconds."
    ),
    no_record: bool = typer.Option(
        False, "--no-record", help="Do not record (or update) the incident in the memory."
    ),
    verbose: VerboseOpt = 0,
) -> None:
    """Investigate one alert and rank its likely root causes, each citing evidence.

    Triaging the same alert again updates its open incident instead of adding one.

    Exit codes: 0 a verdict was produced (also when it says escalate: read `escalate`
    in --json); 2 bad usage or input (unknown or ambiguous alert, malformed bundle or
    config); 3 no alert source answered; 130 interrupted. A source that fails
    while gathering is a note, not an exit code.

    Examples:

      aisre triage CheckoutHighErrorRate

      aisre triage 3f2a --json

      aisre triage --bundle ./incident-42 --at 2025-03-11T12:50:00Z
    """
    from contextlib import nullcontext

    from aisre_cli.flows.triage import TriageFlow, TriageOptions, parse_at, parse_window, utc_now
    from aisre_cli.ui.term import echo

    # Every flag is checked before anything is gathered or recorded.
    if json_out and markdown:
        raise UsageError("--json and --markdown are exclusive", hint="pick one output format")
    opts = TriageOptions(
        at=parse_at(at, utc_now()) if at is not None else None,
        lookback_s=parse_window(window) if window is not None else None,
        budget_s=budget,
        record=not no_record,
    )
    rp, sources = load(ctx, profile, bundle)
    flow = TriageFlow(rp.profile, sources)
    if sources.bundle is None:  # live sources: a per-source status while gathering
        from aisre_cli.ui.render import source_progress

        progress_cm: Any = source_progress()
    else:  # a bundle is read in a blink: no spinner (and no rich import)
        progress_cm = nullcontext(None)
    with progress_cm as progress:
        result = flow.triage(alert_id, opts, progress)
    for text in result.notes:
        note(text)
    report = result.report
    nxt = follow_up(report.verdict.next_step, ctx)
    if nxt != report.verdict.next_step:  # a pasted hint reads the same sources
        verdict = report.verdict.model_copy(update={"next_step": nxt})
        report = report.model_copy(update={"verdict": verdict})
    inc = result.incident
    if inc is not None and inc.id == 0:  # team store unreachable: spooled, not numbered yet
        note(
            f"team memory unavailable: incident {inc.uid} kept in the local spool and sent"
            " when it can be (`aisre memory status` shows why, and the spool)"
        )
    elif inc is not None:
        what = "updated open incident" if inc.reused else "recorded as incident"
        note(
            f"{what} {inc.id}; once you know the cause: "
            f"aisre incident resolve {inc.id} --cause RANK"
        )
    if json_out:
        out = report.to_public()
        if inc is not None:  # what `aisre incident resolve` takes (a bot closes the loop)
            out["incident"] = {
                "id": inc.id or None,
                "uid": inc.uid,
                "reused": inc.reused,
                "spooled": inc.id == 0,
            }
        print_json(out)
    elif markdown:
        from aisre_cli.ui.render import report_markdown

        echo(report_markdown(report))
    else:
        from aisre_cli.ui.render import render_report

        render_report(report, verbose=max(verbose, state(ctx).verbose))
