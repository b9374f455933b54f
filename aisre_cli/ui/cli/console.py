"""`aisre console`: open the full-screen incident console (Textual).

Textual is imported inside the command, so `aisre --help` and every other command
never pay for it.
"""

from __future__ import annotations

import os
import sys

import typer

from aisre_cli.errors import UsageError
from aisre_cli.ui.cli.app import BundleOpt, ProfileOpt, app


@app.command("console")
def console_cmd(
    ctx: typer.Context,
    profile: ProfileOpt = None,
    bundle: BundleOpt = None,
    alert_id: str | None = typer.Argument(
        None, help="Open directly on this alert (fingerprint, unique prefix or alertname)."
    ),
    refresh: float = typer.Option(
        30.0, "--refresh", min=0.0, help="Seconds between inbox refreshes (0: never)."
    ),
    light: bool = typer.Option(False, "--light", help="Start with the light theme."),
) -> None:
    """The full-screen incident console: inbox, incident, runbook stepper, audit.

    Keys are shown in the footer; press ? for help and ctrl+p for the command palette.

    Examples:

      aisre console

      aisre console CheckoutHighErrorRate

      aisre console --bundle ./incident-42
    """
    _need_terminal()
    from aisre_cli.settings.config import resolve_profile
    from aisre_cli.sources.registry import build_sources
    from aisre_cli.ui.cli.app import state
    from aisre_cli.ui.term import echo
    from aisre_cli.ui.tui.app import DARK, LIGHT, ConsoleApp
    from aisre_cli.ui.tui.backend import Backend

    st = state(ctx, profile, bundle)
    rp = resolve_profile(st.profile)
    sources = build_sources(rp.profile, st.bundle)
    backend = Backend(rp.name, rp.profile, sources)
    greeting = None
    if rp.implicit_demo and st.bundle is None:
        # said inside the console: a note on stderr would vanish under the full screen
        greeting = (
            "no config file: showing the built-in demo incident (aisre config init to set up)"
        )
    console = ConsoleApp(
        backend,
        alert_id=alert_id,
        refresh_s=refresh,
        theme=LIGHT if light else DARK,
        greeting=greeting,
    )
    console.run()
    # the full screen is gone: what it said last (a stopped run's resume command) stays
    for note in console.exit_notes:
        echo(note, err=True)


def _need_terminal() -> None:
    """The console draws a full screen and reads keys: without a terminal on both ends it
    would draw escape codes into a file or pipe forever. Refuse before starting."""
    missing = [
        name
        for name, stream in (("stdin", sys.stdin), ("stdout", sys.stdout))
        if not _is_tty(stream)
    ]
    if missing:
        raise UsageError(
            f"aisre console needs a terminal (not a tty: {', '.join(missing)})",
            hint="for scripts and pipes use `aisre alerts` and `aisre triage` (with --json)",
        )


def _is_tty(stream: object) -> bool:
    try:
        return os.isatty(getattr(stream, "fileno")())  # noqa: B009 (any stream-like)
    except (AttributeError, OSError, ValueError):
        return False
