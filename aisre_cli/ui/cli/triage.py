"""`aisre triage`: ranked, evidence-cited root-cause hypotheses for one alert."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from aisre_cli.errors import AisreError, UsageError
from aisre_cli.ui.cli.app import BundleOpt, JsonOpt, ProfileOpt, VerboseOpt, app, state
from aisre_cli.ui.cli.common import load, note, print_json

if TYPE_CHECKING:
    from aisre_cli.investigate.triage import RunbookMatcher
    from aisre_cli.memory.store import Advisor
    from aisre_cli.model import Alert, Hypothesis
    from aisre_cli.settings.config import Profile


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
    verbose: VerboseOpt = 0,
) -> None:
    """Investigate one alert and rank its likely root causes, each citing evidence.

    Examples:

      aisre triage CheckoutHighErrorRate

      aisre triage 3f2a --json

      aisre triage --bundle ./incident-42
    """
    from contextlib import nullcontext

    from aisre_cli.investigate.triage import run_triage
    from aisre_cli.ui.term import echo

    if json_out and markdown:
        raise UsageError("--json and --markdown are exclusive", hint="pick one output format")
    rp, sources = load(ctx, profile, bundle)
    matcher = _runbook_matcher(rp.profile)
    memory = _memory()
    if sources.bundle is None:  # live sources: a per-source status while gathering
        from aisre_cli.ui.render import source_progress

        progress_cm: Any = source_progress()
    else:  # a bundle is read in a blink: no spinner (and no rich import)
        progress_cm = nullcontext(None)
    with progress_cm as progress:
        report = run_triage(
            sources,
            alert_id,
            rp.profile,
            runbook_matcher=matcher,
            memory=memory,
            progress=progress,
        )
    if memory is not None:
        incident = memory.record(report)
        note(
            f"recorded as incident {incident.id}; once you know the cause: "
            f"aisre incident resolve {incident.id} --cause RANK"
        )
    if json_out:
        print_json(report.to_public())
    elif markdown:
        from aisre_cli.ui.render import report_markdown

        echo(report_markdown(report))
    else:
        from aisre_cli.ui.render import render_report

        render_report(report, verbose=max(verbose, state(ctx).verbose))


def _runbook_matcher(profile: Profile) -> RunbookMatcher | None:
    """The remediate layer's matcher (the UI composes the layers)."""
    from aisre_cli.remediate.matching import load_for_matching, match_runbooks

    try:
        books = load_for_matching(profile, on_skip=lambda m: note(f"runbook skipped: {m}"))
    except AisreError as err:  # a broken runbook folder must not stop a triage
        note(f"runbooks not loaded: {err.message}")
        return None

    def match(h: Hypothesis, alert: Alert) -> list[str]:
        return list(match_runbooks(h, alert, books))

    return match


def _memory() -> Advisor | None:
    """Incident memory; a broken store is a note, never a failed triage."""
    from aisre_cli.memory.store import open_advisor

    try:
        return open_advisor()
    except AisreError as err:
        note(f"incident memory unavailable: {err.message}")
        return None
