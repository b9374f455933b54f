"""`aisre change record|list`: the file change source for pipelines without GitHub.

A deploy pipeline appends one event per change (`aisre change record --service
checkout --version v1.5.0`); triage reads them back as change evidence. The feed is
`$XDG_DATA_HOME/aisre/changes.jsonl` unless the profile names `sources.changes_file`;
a profile with a team store (`memory_url`) records into the store's change feed
instead, so a change recorded by CI is seen by every engineer's triage.

`--id` is the pipeline's own change id: a re-run step records nothing new (the same id
with another service, version or time is refused, exit 2). With the team store down
the change waits in this machine's local spool (`--spool`) or, by default under CI
(`$CI` true: a runner is often deleted after the job, its spool with it), is an error
that records nothing (`--no-spool`, exit 3).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from aisre_cli.errors import AisreError
from aisre_cli.ui.cli.app import JsonOpt, ProfileOpt, app, state
from aisre_cli.ui.cli.common import note
from aisre_cli.ui.term import clip, echo, visible

FUTURE_SLACK_S = 300.0
"""How far ahead of this clock `--at` may be: another machine's clock may run ahead."""
PAST_LIMIT_DAYS = 3653
"""How far back `--at` may be (ten years): older is a mistake (`--at 0`, an unset
variable's epoch, seconds read as milliseconds), not a change triage could cite."""
_TIME_PART = re.compile(r"\d{4}-?\d\d-?\d\d[Tt ](.+)\Z")
"""The time of day after an RFC 3339 date; its zone is `Z` or a `+`/`-` offset."""

if TYPE_CHECKING:
    from aisre_cli.memory.storage import StoreChangeFeed
    from aisre_cli.sources.changefile import ChangeFile

change_app = typer.Typer(
    name="change",
    help="Record change events (deploys, config, flags) for triage to correlate.",
    no_args_is_help=True,
)
app.add_typer(change_app, name="change")


def _feed(
    ctx: typer.Context, profile: str | None, verb: str = "recording to"
) -> ChangeFile | StoreChangeFeed:
    """The profile's change feed: its team store (`memory_url`), else the JSON-lines file."""
    from aisre_cli.settings import paths
    from aisre_cli.settings.config import resolve_profile
    from aisre_cli.sources.changefile import ChangeFile

    st = state(ctx, profile)
    try:
        rp = resolve_profile(st.profile)
    except AisreError as err:  # recording a deploy must not depend on a valid profile
        note(f"config not usable ({err.message}); {verb} {paths.changes_file()}")
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
    change_id: str | None = typer.Option(
        None,
        "--id",
        help="The pipeline's own id for the change (a deploy or run id): recording it again"
        " records nothing; the same id with another service, version or --at is refused."
        " Default: a generated id.",
    ),
    spool: bool | None = typer.Option(
        None,
        "--spool/--no-spool",
        help="Team store unreachable: keep the change in this machine's local spool until"
        " `aisre memory sync` (--spool), or fail and record nothing (--no-spool). Default: --spool,"
        " and --no-spool when $CI is true (an ephemeral runner's spool is lost with it).",
        show_default=False,
    ),
    profile: ProfileOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Append one change event to the change feed.

    With a team store (memory_url) that cannot be reached, the change waits in this
    machine's local spool until `aisre memory sync` sends it; under CI ($CI true) it
    fails instead (exit 3) unless --spool is given.

    Examples:

      aisre change record --service checkout --version v1.5.0 -m "new cart"

      aisre change record -s checkout --version v1.5.0 --id "$CI_PIPELINE_ID"

      aisre change record -s checkout --id "$CI_PIPELINE_ID" --no-spool
    """
    from aisre_cli.memory.storage import StoreChangeFeed
    from aisre_cli.sources.changefile import check_change_id
    from aisre_cli.sources.timeparse import iso

    if change_id is not None:
        check_change_id(change_id)  # before the team store is opened
    ts: datetime | None = None
    if at:
        ts = _at(at)
    keep = spool if spool is not None else not in_ci()
    feed = _feed(ctx, profile)
    said: list[str] = []
    if isinstance(feed, StoreChangeFeed):
        from aisre_cli.memory.teamstore import store_notes

        said = store_notes(feed.store)  # offline and why; what a replay had to say
    try:
        done = feed.record_once(  # `spool`: the team store's; a local file has none
            service=service,
            kind=kind,
            version=version,
            summary=summary,
            previous_version=previous_version,
            author=author,
            url=url,
            ts=ts,
            change_id=change_id,
            spool=keep,
        )
    finally:
        if isinstance(feed, StoreChangeFeed):
            feed.close()
    c = done.change
    where = feed.path
    if done.spooled:  # said where it went, not where it will
        where = f"the local spool, for {feed.path}"
    for text in said:
        note(text)
    for n in feed.drain_notes():  # a damaged feed: say so to the pipeline's log
        echo(f"warning: {n.detail}", err=True)
    # spooled: on this machine only; CI runners are often deleted after the job
    tail = (
        ": it is on this machine only until `aisre memory sync` sends it to the team store"
        if done.spooled
        else ""
    )
    if json_out:
        import json

        out = {
            **c.model_dump(mode="json"),
            "ts": iso(c.ts),
            "spooled": done.spooled,
            "already_recorded": not done.new,
        }
        typer.echo(json.dumps(out, indent=2))
    else:
        echo(c.id)
    if not done.new:
        echo(f"change {c.id} already recorded in {where}; nothing new recorded{tail}", err=True)
    elif done.spooled or not json_out:
        echo(f"recorded {c.kind} of {c.service} in {where}{tail}", err=True)


def in_ci() -> bool:
    """Is this a CI job? `$CI` set to true, 1 or yes (any case): what GitHub Actions,
    GitLab CI and most runners set. Their machines are often thrown away after the job,
    and a local spool with them."""
    import os

    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _at(at: str) -> datetime:
    """`--at` as an aware UTC time: RFC 3339 with its zone (or unix seconds), neither
    in the future (beyond a clock skew) nor years back."""
    from aisre_cli.errors import UsageError
    from aisre_cli.sources.timeparse import TimestampError, to_datetime

    example = "--at 2026-03-11T13:30:00Z"
    try:
        ts = to_datetime(at)
    except TimestampError as exc:
        raise UsageError(
            f"--at: {exc}",
            hint=f"give an RFC 3339 time such as {example} (or unix seconds); omit --at for now",
        ) from None
    text = at.strip()
    unix = text[:1].isdigit() and text.replace(".", "", 1).isdigit()
    time_part = _TIME_PART.match(text)
    zoned = time_part is not None and any(c in time_part[1] for c in "Zz+-")
    if not unix and not zoned:
        # read as UTC, a pipeline's local time would put the change hours off its place
        raise UsageError(
            f"--at {at!r} has no time zone",
            hint=f"add Z for UTC or the offset, as in {example} or 2026-03-11T14:30:00+01:00",
        )
    ahead = (ts - datetime.now(UTC)).total_seconds()
    if ahead > FUTURE_SLACK_S:
        # a change that has not happened would sit "before the onset" of no incident
        # and mislead every triage near that date
        raise UsageError(
            f"--at {at!r} is {ahead / 3600:.1f} h in the future",
            hint="record a change when it happens (omit --at for now)",
        )
    if -ahead > PAST_LIMIT_DAYS * 86400:
        raise UsageError(
            f"--at {at!r} is {-ahead / 86400:,.0f} days in the past",
            hint="check the value (unix seconds, not milliseconds?); omit --at for now",
        )
    return ts


@change_app.command("list")
def list_cmd(
    ctx: typer.Context,
    since: float = typer.Option(24.0, "--since-hours", help="How far back to list."),
    profile: ProfileOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List recorded change events (newest last)."""
    from datetime import timedelta

    from aisre_cli.errors import UsageError
    from aisre_cli.memory.storage import StoreChangeFeed
    from aisre_cli.model import utcnow
    from aisre_cli.sources.timeparse import iso

    if not math.isfinite(since) or since <= 0:
        raise UsageError(
            f"--since-hours {since:g}: give a positive number of hours",
            hint="e.g. --since-hours 72 for the last three days",
        )
    end = utcnow()
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    # more hours than since 1970 (`--since-hours 1e9`) is everything, not an overflow
    start = max(epoch, end - timedelta(hours=min(since, (end - epoch).total_seconds() / 3600)))
    feed = _feed(ctx, profile, "reading")
    try:
        changes = sorted(feed.fetch_changes(start, end), key=lambda c: c.ts)
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
    rows: list[tuple[str, ...]] = [
        (
            iso(c.ts) or "",
            c.kind,
            c.service,
            f"{c.previous_version or '?'} -> {c.version}" if c.version else "-",
            c.summary,
        )
        for c in changes
    ]
    for line in _table(("TIME", "KIND", "SERVICE", "VERSION", "SUMMARY"), rows):
        echo(line)


_CELL_MAX = 120
"""Characters of a service or version cell at most (the whole is in `--json`)."""
_SUMMARY_MAX = 1000
"""Characters of a summary cell at most when the output is not a terminal."""


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    """The lines of `change list`: cells on one line with their controls made visible,
    aligned by terminal cells (a CJK character takes two). A service or version longer
    than its share of the terminal, or a summary longer than the rest of the line, ends
    in an ellipsis, so one stored value (a hand-edited feed, an older record) cannot
    push every row's summary off the screen or wrap it across the next rows."""
    import shutil
    import sys

    from rich.cells import cell_len

    def cut(text: str, width: int) -> str:
        return clip(visible(text[: 2 * _SUMMARY_MAX], oneline=True), width)  # escapes: 4-6 each

    tty = sys.stdout.isatty()
    width = shutil.get_terminal_size().columns if tty else 0
    # on a terminal: service a sixth of the line, version a fifth
    caps = (40, 8, max(10, width // 6), max(12, width // 5)) if tty else (40, 8, *[_CELL_MAX] * 2)
    cells = [[cut(r[i], caps[i]) for i in range(4)] for r in [header, *rows]]
    widths = [max(cell_len(r[i]) for r in cells) for i in range(4)]
    rest = max(20, width - sum(widths) - 2 * 4) if tty else _SUMMARY_MAX
    out = []
    for r, full in zip(cells, [header, *rows], strict=True):
        head = "  ".join(r[i] + " " * (widths[i] - cell_len(r[i])) for i in range(4))
        out.append(f"{head}  {cut(full[4], rest)}")
    return out
