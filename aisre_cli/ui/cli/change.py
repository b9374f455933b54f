"""`aisre change record|list`: the file change source for pipelines without GitHub.

A deploy pipeline appends one event per change (`aisre change record --service
checkout --version v1.5.0`); triage reads them back as change evidence. The feed is
`$XDG_DATA_HOME/aisre/changes.jsonl` unless the profile names `sources.changes_file`;
a profile with a team store (`memory_url`) records into the store's change feed
instead, so a change recorded by CI is seen by every engineer's triage.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from aisre_cli.errors import AisreError
from aisre_cli.ui.cli.app import JsonOpt, ProfileOpt, app, state
from aisre_cli.ui.cli.common import note
from aisre_cli.ui.term import echo, visible

FUTURE_SLACK_S = 300.0
"""How far ahead of this clock `--at` may be: another machine's clock may run ahead."""

if TYPE_CHECKING:
    from aisre_cli.memory.storage import StoreChangeFeed
    from aisre_cli.sources.changefile import ChangeFile

change_app = typer.Typer(
    name="change",
    help="Record change events (deploys, config, flags) for triage to correlate.",
    no_args_is_help=True,
)
app.add_typer(change_app, name="change")


def _feed(ctx: typer.Context, profile: str | None) -> ChangeFile | StoreChangeFeed:
    """The profile's change feed: its team store (`memory_url`), else the JSON-lines file."""
    from aisre_cli.settings import paths
    from aisre_cli.settings.config import resolve_profile
    from aisre_cli.sources.changefile import ChangeFile

    st = state(ctx, profile)
    try:
        rp = resolve_profile(st.profile)
    except AisreError as err:  # recording a deploy must not depend on a valid profile
        note(f"config not usable ({err.message}); recording to {paths.changes_file()}")
        return ChangeFile(paths.changes_file())
    if rp.profile.memory_url:
        from aisre_cli.memory.storage import StoreChangeFeed, open_store

        return StoreChangeFeed(open_store(profile=rp.profile))
    custom = rp.profile.sources.changes_file
    return ChangeFile(Path(custom).expanduser() if custom else paths.changes_file())


@change_app.command("record")
def record_cmd(
    ctx: typer.Context,
    service: str = typer.Option(..., "--service", "-s", help="The service that changed."),
    version: str | None = typer.Option(None, "--version", help="The new version."),
    kind: str = typer.Option(
        "deploy", "--kind", "-k", help="deploy | config | flag | infra | scale."
    ),
    summary: str = typer.Option("", "--summary", "-m", help="One line describing the change."),
    previous_version: str | None = typer.Option(
        None, "--previous-version", help="Default: the last recorded version of the service."
    ),
    url: str | None = typer.Option(None, "--url", help="Link to the pipeline run or PR."),
    author: str | None = typer.Option(None, "--author", help="Default: $AISRE_AUTHOR or $USER."),
    at: str | None = typer.Option(None, "--at", help="When (RFC 3339); default: now."),
    profile: ProfileOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Append one change event to the change feed.

    Example: aisre change record --service checkout --version v1.5.0 --summary "new cart"
    """
    from aisre_cli.errors import UsageError
    from aisre_cli.memory.storage import StoreChangeFeed
    from aisre_cli.sources.timeparse import TimestampError, iso, to_datetime

    ts: datetime | None = None
    if at:
        try:
            ts = to_datetime(at)
        except TimestampError as exc:
            raise UsageError(
                f"--at: {exc}",
                hint="give an RFC 3339 time such as --at 2026-03-11T13:30:00Z"
                " (or unix seconds); omit --at for now",
            ) from None
        ahead = (ts - datetime.now(UTC)).total_seconds()
        if ahead > FUTURE_SLACK_S:
            # a change that has not happened would sit "before the onset" of no incident
            # and mislead every triage near that date
            raise UsageError(
                f"--at {at!r} is {ahead / 3600:.1f} h in the future",
                hint="record a change when it happens (omit --at for now)",
            )
    feed = _feed(ctx, profile)
    where = feed.path
    said: list[str] = []
    if isinstance(feed, StoreChangeFeed):
        from aisre_cli.memory.teamstore import store_notes

        said = store_notes(feed.store)  # offline and why; what a replay had to say
    try:
        c = feed.record(
            service=service,
            kind=kind,
            version=version,
            summary=summary,
            previous_version=previous_version,
            author=author,
            url=url,
            ts=ts,
        )
        spooled = isinstance(feed, StoreChangeFeed) and _spooled(feed.store, c.id)
    finally:
        if isinstance(feed, StoreChangeFeed):
            feed.close()
    if spooled:  # said where it went, not where it will
        where = f"the local spool, for {feed.path}"
    for text in said:
        note(text)
    if json_out:
        import json

        out = {**c.model_dump(mode="json"), "ts": iso(c.ts), "spooled": spooled}
        typer.echo(json.dumps(out, indent=2))
    else:
        echo(c.id)
        echo(f"recorded {c.kind} of {c.service} in {where}", err=True)


def _spooled(store: object, change_id: str) -> bool:
    """Did the change go to the local spool? Always when the team store is offline;
    also when it answered but older spooled writes could not be sent first (the order
    holds, so this one waits behind them)."""
    from aisre_cli.memory.teamstore import OfflineStore, TeamStore

    if isinstance(store, OfflineStore):
        return True
    if not isinstance(store, TeamStore):
        return False
    try:
        pending = store.spool.pending()
    except AisreError:
        return False
    for r in pending:
        op = r.payload.get("op")
        if not isinstance(op, dict) or op.get("kind") != "change.record":
            continue
        data = op.get("data")
        if isinstance(data, dict) and data.get("id") == change_id:
            return True
    return False


@change_app.command("list")
def list_cmd(
    ctx: typer.Context,
    since: float = typer.Option(24.0, "--since-hours", help="How far back to list."),
    profile: ProfileOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List recorded change events (newest last)."""
    from datetime import timedelta

    from aisre_cli.memory.storage import StoreChangeFeed
    from aisre_cli.model import utcnow
    from aisre_cli.sources.timeparse import iso

    feed = _feed(ctx, profile)
    end = utcnow()
    try:
        changes = sorted(feed.fetch_changes(end - timedelta(hours=since), end), key=lambda c: c.ts)
    finally:
        if isinstance(feed, StoreChangeFeed):
            feed.close()
    for n in feed.drain_notes():
        echo(f"warning: {n.detail}", err=True)
    if json_out:
        import json

        typer.echo(
            json.dumps([{**c.model_dump(mode="json"), "ts": iso(c.ts)} for c in changes], indent=2)
        )
        return
    if not changes:
        echo(f"no changes recorded in the last {since:g} hours ({feed.path})", err=True)
        return
    rows = [
        tuple(
            visible(x, oneline=True)
            for x in (
                iso(c.ts) or "",
                c.kind,
                c.service,
                f"{c.previous_version or '?'} -> {c.version}" if c.version else "-",
                c.summary,
            )
        )
        for c in changes
    ]
    header = ("TIME", "KIND", "SERVICE", "VERSION", "SUMMARY")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    for r in [header, *rows]:
        echo("  ".join(f"{r[i]:<{widths[i]}}" for i in range(4)) + "  " + r[4])
