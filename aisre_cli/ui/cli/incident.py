"""`aisre incident`: the incident memory (list, show, resolve, export, import, replay).

Every `aisre triage` records an incident; confirming its cause here is what teaches
the next triage ("seen 3 times; last confirmed cause: ..."). Exports are postmortem
drafts (one incident) or a team file (`--all`) that `import` merges idempotently.
"""

from __future__ import annotations

import math
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from aisre_cli.errors import UsageError
from aisre_cli.ui.cli.app import JsonOpt, ProfileOpt, app, state
from aisre_cli.ui.cli.common import note, print_json
from aisre_cli.ui.term import clip, console, echo, json_text, visible

if TYPE_CHECKING:
    from aisre_cli.memory.store import Incident, MemoryStore

incident_app = typer.Typer(
    help="Incident memory: past incidents, confirmed causes, postmortems, team sharing.",
    no_args_is_help=True,
)
app.add_typer(incident_app, name="incident")


class ExportFormat(StrEnum):
    markdown = "markdown"
    json = "json"


def _store(ctx: typer.Context, profile: str | None) -> MemoryStore:
    """The profile's memory: its team store (`memory_url`), else the local one."""
    from aisre_cli.memory.store import open_store
    from aisre_cli.settings.config import resolve_profile

    return open_store(profile=resolve_profile(state(ctx, profile).profile).profile)


def _row(i: Incident) -> dict[str, Any]:
    return {
        "id": i.id,
        "uid": i.uid,
        "created_at": i.created_at,
        "alert": i.alert_name,
        "alert_id": i.alert_id,
        "service": i.service,
        "classification": i.classification,
        "escalate": i.escalate,
        "status": i.status,
        "cause": (
            {"kind": i.cause_kind, "service": i.cause_service, "change_id": i.cause_change}
            if i.resolved
            else None
        ),
        "bundle": i.bundle_id,
        "origin": i.origin,
    }


def _incident_json(inc: Incident, **extra: Any) -> dict[str, Any]:
    """`aisre.incident/v1`: one incident as `incident show --json` prints it (and
    `incident resolve --json` once the cause is confirmed), without the stored report."""
    d = inc.to_dict()
    d.pop("report", None)
    return {"schema": "aisre.incident/v1", **d, **extra}


@incident_app.command("list")
def list_cmd(
    ctx: typer.Context,
    status: str | None = typer.Option(None, "--status", help="open or resolved."),
    limit: int = typer.Option(50, "--limit", "-n", min=1, help="At most this many, newest first."),
    profile: ProfileOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List recorded incidents, newest first.

    Example: aisre incident list --status open
    """
    if status not in (None, "open", "resolved"):
        raise UsageError(
            f"--status {clip(_one(status), 40)!r}: expected open or resolved",
            hint="--status open, --status resolved, or leave it out for every incident",
        )
    # more than any memory can hold means all of them (SQLite's LIMIT is 64-bit: a
    # bigger number was an internal error, exit 1)
    limit = min(limit, _SQL_INT_MAX)
    with _store(ctx, profile) as st:
        rows = st.recent(status=status, limit=limit)
        total = st.count() if not rows and status else 0
    if json_out:
        print_json({"schema": "aisre.incidents/v1", "incidents": [_row(i) for i in rows]})
        return
    if not rows:
        if total:  # the filter left nothing out of a memory that is not empty
            note(f"no {status} incident among the {total} recorded: aisre incident list")
        else:
            note("no incidents recorded yet: every `aisre triage` records one")
        return
    _incident_table(rows)


_SQL_INT_MAX = 2**63 - 1
"""The largest integer SQLite (and PostgreSQL's bigint) can take as a parameter."""
_REF_MAX = 128
"""The longest incident uid there can be (`memory.exportfile`: 128 characters)."""
_NAME_MAX = 120
"""Characters of an alert or service cell at most (a pipe has no width to cut to)."""
_CAUSE_MAX = 200
"""Characters of a status / cause cell: a cause service from an imported file can be
10 KB, which folded into a column was screens of one row."""


def _verdict_cell(classification: str, escalate: bool) -> str:
    """`actionable`, `escalated` (an actionable verdict that said escalate), or another
    classification with " (escalated)" when it said so too."""
    cls = clip(_one(classification), 12)
    if not escalate:
        return cls
    return "escalated" if classification == "actionable" else f"{cls} (escalated)"


def _incident_table(rows: list[Incident]) -> None:
    """The table of `incident list`, fitted to the terminal. Names are never broken
    mid-word: an alert or service name longer than its share (a third, a sixth of the
    width) ends in an ellipsis (the whole of it is in `--json` and `incident show`), so
    one stored name longer than the terminal (an imported teammate's file, a hostile
    alert label) cannot squeeze the numbers, verdicts and causes of every row away.
    Below 120 columns the uid makes room, below 72 the date; only the cause wraps, at
    word boundaries."""
    from rich.table import Table
    from rich.text import Text

    con = console()
    width = con.width
    t = Table(box=None, header_style="bold")
    uid, recorded = width >= 120, width >= 72  # narrow terminals give up these first
    cols = ["#", *(["uid"] if uid else []), *(["recorded"] if recorded else []), "verdict"]
    for col in cols:
        t.add_column(col, no_wrap=True)
    for col, share in (("alert", 3), ("service", 6)):
        t.add_column(col, no_wrap=True, overflow="ellipsis", max_width=max(10, width // share))
    t.add_column("status / cause", overflow="fold", ratio=1, min_width=12)
    for i in rows:
        cells = [
            str(i.id),
            *([clip(_one(i.uid), 24)] if uid else []),
            *([_one(i.created_at[5:16].replace("T", " "))] if recorded else []),
            # what the verdict told the on-call to do, as `incident show` says it
            _verdict_cell(i.classification, i.escalate),
            clip(_one(i.alert_name), _NAME_MAX),
            clip(_one(i.service or ""), _NAME_MAX),
            clip(_one(i.cause_text() if i.resolved else i.status), _CAUSE_MAX),
        ]
        # plain Text: stored text is never read as markup (`[/]` in a name)
        t.add_row(*(Text(c) for c in cells))
    con.print(t)


@incident_app.command("show")
def show_cmd(
    ctx: typer.Context,
    incident: str = typer.Argument(..., help="Incident number or uid (prefix)."),
    profile: ProfileOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show one incident: alert, verdict, hypotheses, confirmed cause, runbook runs."""
    ref = _ref(incident)
    with _store(ctx, profile) as st:
        inc = _get(st, ref)
    if json_out:
        print_json(_incident_json(inc))
        return
    # every line is built from stored text (alert labels, triage's statements, notes,
    # an imported teammate's file): each field is shown on one line, so a newline in
    # it cannot forge a line of its own ("status   resolved: ...")
    out = [
        f"incident {inc.id} ({_one(inc.uid)})  recorded {_one(inc.created_at[:19])}"
        f"  [{_one(inc.origin)}]",
        f"alert    {_one(inc.alert_name)} on {_one(inc.service or '?')}"
        f" ({_one(inc.alert_id[:8])}), fired {_one(inc.starts_at or '?')}",
        f"verdict  {_one(inc.classification)}{' (escalated)' if inc.escalate else ''}:"
        f" {_one(inc.reason)}",
        f"status   {_one(inc.status)}" + (f": {_one(inc.cause_text())}" if inc.resolved else ""),
    ]
    if inc.note:
        out.append(f"note     {_one(inc.note)}")
    out.append("hypotheses:")
    for h in inc.hypotheses:
        out.append(
            f"  {h['rank']}. {_one(h['kind'])} on {_one(h['service'])}"
            f" ({float(h['confidence']):.2f})  {_one(h['statement'])}"
        )
    # the stored report of an imported incident is the teammate's file, checked only
    # to be an object: evidence that is not a list of objects crashed `show` (exit 1)
    evidence = inc.report.get("evidence") if isinstance(inc.report, dict) else None
    for e in evidence if isinstance(evidence, list) else []:
        if isinstance(e, dict) and e.get("kind") == "memory":
            out.append(f"memory   {_one(e.get('id'))}: {_one(e.get('summary'))}")
    if inc.runs:
        out.append("runbook runs:")
        out += [
            f"  {_one(r['run_id'])}  {_one(r['runbook'])}  {_one(r['outcome'])}" for r in inc.runs
        ]
    if not inc.resolved:
        how = "--cause 1" if inc.hypotheses else "--kind KIND --service SERVICE"
        out.append(f"confirm the cause: aisre incident resolve {inc.id} {how}")
    echo("\n".join(out))


def _ref(text: str) -> str:
    """An incident reference as typed (a number, a uid, a uid prefix), checked for
    what the store cannot look up: a number past SQLite's 64-bit integers (an internal
    error, exit 1), digits that are not 0-9 (`²` crashed, `١` silently meant 1), and a
    reference longer than any uid (from 50,000 characters SQLite refuses the LIKE
    pattern, and that was reported as a damaged memory to move aside)."""
    ref = text.strip()
    shown = clip(_one(ref), 40)
    hint = "give an incident number or uid (or 6+ characters of one): aisre incident list"
    if not ref:
        raise UsageError("no incident given", hint=hint)
    if ref.isdigit() and not ref.isascii():
        raise UsageError(f"incident {shown!r}: not a number or a uid", hint=hint)
    if len(ref) > _REF_MAX or (ref.isdigit() and int(ref) > _SQL_INT_MAX):
        raise UsageError(f"no incident {shown!r} in the memory", hint=hint)
    return ref


def _get(st: MemoryStore, ref: str) -> Incident:
    """`st.get(ref)`; a short uid prefix that matched nothing says how long one must be."""
    try:
        return st.get(ref)
    except UsageError as err:
        if ref.isdigit() or len(ref) >= 6:  # (only those can be ambiguous)
            raise
        hint = "a uid prefix needs at least 6 characters (inc-4f…): aisre incident list"
        if ref.lstrip("+-").isdigit():
            hint = "incident numbers are 1, 2, 3…: aisre incident list"
        raise UsageError(err.message, hint=hint) from None


def _one(text: object) -> str:
    """Stored text for one line of `incident show`/`list`: controls made visible, and
    newlines, tabs and runs of spaces folded to one space."""
    return " ".join(visible(str(text if text is not None else ""), oneline=True).split())


@incident_app.command("resolve")
def resolve_cmd(
    ctx: typer.Context,
    incident: str = typer.Argument(..., help="Incident number or uid (prefix)."),
    cause: int | None = typer.Option(
        None, "--cause", min=1, help="The rank of the hypothesis that was the cause."
    ),
    kind: str | None = typer.Option(None, "--kind", help="Cause kind (when not ranked)."),
    service: str | None = typer.Option(None, "--service", help="Cause service."),
    change: str | None = typer.Option(None, "--change", help="The change id that caused it."),
    note_text: str | None = typer.Option(None, "--note", help="What was learned (free text)."),
    force: bool = typer.Option(
        False, "--force", help="Replace a different cause confirmed before (and its note)."
    ),
    profile: ProfileOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Confirm an incident's root cause, so the next triage can learn from it.

    A different cause already confirmed (by a teammate, on a team store) is kept and
    the command exits 2 naming it, unless --force. With the team store down, the
    confirmation waits in the local spool; the incident, the rank's hypothesis and that
    check are looked up when it is sent (a conflicting one is then not applied, and
    the command that sends it says so).

    Examples:

      aisre incident resolve 12 --cause 1 --note "rolled back v2.3.1"

      aisre incident resolve 12 --kind config_change --service payments --change c-42
    """
    from aisre_cli.memory.spool import SpoolDamaged
    from aisre_cli.memory.teamstore import store_notes

    if change and cause is None and not (kind and service):
        raise UsageError("--change needs --kind and --service")
    with _store(ctx, profile) as st:
        refused = False
        try:
            res = st.confirm_cause(
                _ref(incident),
                rank=cause,
                kind=kind,
                service=service,
                change=change,
                note=note_text,
                force=force,
            )
        except SpoolDamaged:
            # refused (exit 6), neither sent nor spooled: the store's notes would say
            # it is "kept in the local spool", or repeat the damage the error names
            refused = True
            raise
        finally:
            if not refused:
                for text in store_notes(st):
                    note(text)
    inc = res.incident
    if inc is None:  # the team store is down: kept in the local spool
        c = res.cause
        if c["kind"] is None:  # --cause RANK: the hypothesis is looked up when sent
            what = f"hypothesis {c['rank']}"
        else:
            what = f"{c['kind']} on {c['service']}"
            what += f" (change {c['change_id']})" if c["change_id"] else ""
        if json_out:
            print_json(
                {
                    # not an incident yet: what waits in the spool (its own shape)
                    "schema": "aisre.spooled-resolve/v1",
                    "ref": res.ref,
                    "status": "spooled",
                    "spooled": True,
                    "cause": c,
                    "note": note_text,
                }
            )
            return
        echo(f"incident {res.ref}: cause {what} kept in the local spool, confirmed when sent")
        return
    if json_out:  # the same shape as `incident show --json`: one schema, one shape
        print_json(_incident_json(inc, spooled=False))
        return
    echo(f"incident {inc.id} resolved: {inc.cause_text()}")


@incident_app.command("export")
def export_cmd(
    ctx: typer.Context,
    incident: str | None = typer.Argument(None, help="Incident number or uid (prefix)."),
    fmt: ExportFormat | None = typer.Option(
        None,
        "--format",
        "-f",
        help="markdown (postmortem draft; the default for one incident) or json"
        " (the only format, and the default, for --all).",
    ),
    all_: bool = typer.Option(False, "--all", help="Every incident, for `incident import`."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write to this file instead of stdout.", dir_okay=False
    ),
    profile: ProfileOpt = None,
) -> None:
    """Export a postmortem draft for one incident, or the whole memory for your team.

    Examples:

      aisre incident export 12 --format markdown > postmortem.md

      aisre incident export --all --format json -o team-memory.json
    """

    from aisre_cli.memory import postmortem

    if all_ == (incident is not None):
        raise UsageError(
            "give one incident, or --all",
            hint="aisre incident export 12 --format markdown | aisre incident export --all",
        )
    with _store(ctx, profile) as st:
        if all_:
            if fmt is ExportFormat.markdown:
                raise UsageError(
                    "--all exports json only (a memory export for `aisre incident import`)",
                    hint="drop --format, or export one incident as markdown:"
                    " aisre incident export 12",
                )
            text = json_text(st.export_all()) + "\n"
        else:
            assert incident is not None
            inc = _get(st, _ref(incident))
            pm = postmortem.build(inc, _audit_records())
            if fmt is ExportFormat.json:
                text = json_text(pm) + "\n"
            else:
                text = postmortem.markdown(pm)
    # stored text may come from an imported file: its controls are made visible in
    # the file too, where `cat postmortem.md` would otherwise run them
    text = visible(text)  # (json_text is already free of controls)
    if output is None:
        sys.stdout.write(text)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)  # as `bundle capture -o` does
        output.write_text(text, encoding="utf-8")
        note(f"wrote {output}")


def _audit_records() -> list[dict[str, Any]]:
    from aisre_cli.govern.audit import open_audit_log

    return [
        {"seq": r.seq, "hash": r.hash, "event": r.event, "run": r.run, "ts": r.ts, "data": r.data}
        for r in open_audit_log().records()
    ]


@incident_app.command("import")
def import_cmd(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="A file written by `incident export --all`."),
    profile: ProfileOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Merge a teammate's memory export. Importing the same file twice changes nothing."""
    import json

    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(
            f"{file}: {exc.strerror}",
            hint="give the file written by `aisre incident export --all`",
        ) from None
    except RecursionError:  # nested deeper than any export: hand-made or hostile
        raise UsageError(
            f"{file}: not a memory export (JSON nested too deeply)",
            hint="`incident import` reads a memory export: create it with"
            " `aisre incident export --all -o team-memory.json`",
        ) from None
    except ValueError as exc:
        raise UsageError(
            f"{file}: not JSON ({exc})",
            hint="`incident import` reads a memory export: create it with"
            " `aisre incident export --all -o team-memory.json`",
        ) from None
    with _store(ctx, profile) as st:
        counts = st.import_data(data, origin=f"import:{file.name}")
    if json_out:
        print_json({"schema": "aisre.import/v1", **counts})
        return
    echo(
        f"imported {file}: {counts['added']} new incident(s), {counts['updated']} updated,"
        f" {counts['unchanged']} unchanged; {counts['runs_added']} runbook run(s),"
        f" {counts['events_added']} alert episode(s)"
    )


@incident_app.command("track-record")
def track_record_cmd(
    ctx: typer.Context, profile: ProfileOpt = None, json_out: JsonOpt = False
) -> None:
    """Runbook outcomes per failure class (what governance's trust signal reads)."""
    with _store(ctx, profile) as st:
        rows = st.track_record()
    if json_out:
        print_json({"schema": "aisre.track-record/v1", "runbooks": rows})
        return
    if not rows:
        note("no runbook run recorded yet")
        return
    for r in rows:
        # runbook ids, kinds and outcomes come from imported files too: a newline in
        # one printed a forged row ("FORGED  deploy  success 100%  (verified 99)")
        rate = "n/a" if r["success_rate"] is None else f"{r['success_rate']:.0%}"
        outs = ", ".join(f"{clip(_one(k), 24)} {v}" for k, v in sorted(r["outcomes"].items()))
        runbook, kind = clip(_one(r["runbook"]), 64), clip(_one(r["kind"]), 24)
        echo(f"{runbook:28} {kind:20} success {rate:>4}  ({outs})")


@incident_app.command("replay")
def replay_cmd(
    ctx: typer.Context,
    bundles: list[Path] = typer.Argument(
        ..., help="Bundles, or folders of bundles (replayed in time order)."
    ),
    memory_weight: float | None = typer.Option(
        None,
        "--memory-weight",
        help="Override the ranker's memory_prior weight (default: the shipped weights).",
    ),
    profile: ProfileOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Replay bundles with truth through a scratch memory: does memory help recurrences?

    Each bundle is triaged without and with the memory built so far, then recorded and
    resolved with its truth.yaml. Your own memory is not touched.

    Example: aisre incident replay ../shared/datasets/petshop --memory-weight 1.5
    """
    import tempfile

    from aisre_cli.flows.triage import TriageFlow, TriageOptions
    from aisre_cli.investigate.rank import Weights
    from aisre_cli.memory.replay import discover, replay
    from aisre_cli.memory.store import Advisor, MemoryStore
    from aisre_cli.model import TriageReport
    from aisre_cli.settings.config import resolve_profile
    from aisre_cli.sources.registry import bundle_set

    if memory_weight is not None and not math.isfinite(memory_weight):
        # NaN scored every hypothesis alike (top-1 100% -> 0%, even without memory)
        # and `--json` printed `NaN`, which is not JSON
        raise UsageError(
            f"--memory-weight {memory_weight}: not a finite number",
            hint="e.g. --memory-weight 1.5 (leave it out for the shipped weights)",
        )
    prof = resolve_profile(state(ctx, profile).profile).profile
    paths = discover(bundles)
    weights = Weights.load()
    if memory_weight is not None:
        weights.w["memory_prior"] = memory_weight
    mw = weights.w.get("memory_prior", 0.0)
    if mw == 0.0:
        note("the ranker's memory_prior weight is 0: memory adds evidence but cannot change ranks")

    def triage(path: Path, adv: Advisor | None) -> TriageReport:
        sources = bundle_set(path, prof.service_labels, prof.limits)
        alert: str | None = None
        if sources.bundle is not None and not sources.bundle.meta.focus_alert:
            first = min(
                sources.bundle.list_alerts(), key=lambda a: (a.starts_at, a.id), default=None
            )
            alert = first.id if first else None
        flow = TriageFlow(
            prof, sources, memory=adv if adv is not None else False, runbooks=[], weights=weights
        )
        # replay records and resolves each incident itself, in a scratch memory
        return flow.triage(alert, TriageOptions(record=False)).report

    with tempfile.TemporaryDirectory(prefix="aisre-replay-") as tmp:
        with MemoryStore(Path(tmp) / "memory.sqlite3") as st:
            rep = replay(paths, triage, st)
    failed = [c for c in rep.cases if c.error is not None]
    if json_out:
        print_json({**rep.to_dict(), "memory_prior_weight": mw})
        _replay_errors(failed)
        return
    s = rep.summary()

    def line(name: str, part: dict[str, Any]) -> str:
        b, a = part["before"], part["after"]
        return (
            f"{name:12} n={b['n']:<4} top-1 {b['top1']:.1%} -> {a['top1']:.1%}"
            f"   MRR {b['mrr']:.3f} -> {a['mrr']:.3f}"
        )

    echo(
        f"replayed {s['bundles']} bundles (before: no memory, after: with memory;"
        f" memory_prior weight {mw:g})"
    )
    echo(line("all", s["all"]))
    echo(line("recurring", s["recurring"]))
    echo(line("first seen", s["first_seen"]))
    r = s["recurring"]
    echo(
        f"recurring cases citing memory evidence: {r['with_memory_evidence']}/{r['before']['n']};"
        f" classified known_issue: {r['known_issue']}"
    )
    mp, kp = s["memory_precision"], s["known_issue_precision"]
    echo(
        f"cited past cause was the right class: {mp['right']}/{mp['n']} ({mp['rate']:.0%});"
        f" known_issue verdicts right: {kp['right']}/{kp['n']} ({kp['rate']:.0%})"
    )
    _replay_errors(failed)


def _replay_errors(failed: list[Any]) -> None:
    """Bundles the replay could not use: each named on stderr, then exit 2 (the other
    bundles' results are above; before, the first such bundle stopped the replay)."""
    if not failed:
        return
    for c in failed:
        note(f"{c.bundle}: not replayed: {c.error}")
    raise UsageError(
        f"{len(failed)} bundle(s) could not be replayed; the figures above leave them out",
        hint="fix or remove them (aisre bundle validate DIR says what is wrong)",
    )
