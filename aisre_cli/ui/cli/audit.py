"""`aisre audit`: show the audit log and verify its hash chain."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from aisre_cli.errors import ExitCode
from aisre_cli.ui.cli.app import JsonOpt, ProfileOpt, app, state
from aisre_cli.ui.cli.common import print_json
from aisre_cli.ui.term import echo

if TYPE_CHECKING:
    from aisre_cli.govern.audit import AuditSink, Problem

audit_app = typer.Typer(help="The tamper-evident audit log: show, verify.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


def _log(ctx: typer.Context, profile: str | None) -> AuditSink:
    """The profile's audit log: the team chain (memory_url: postgresql://) or the local one."""
    from aisre_cli.govern.audit import open_audit_log
    from aisre_cli.settings.config import resolve_profile

    return open_audit_log(resolve_profile(state(ctx, profile).profile).profile)


@audit_app.command("show")
def show_cmd(
    ctx: typer.Context,
    run: str | None = typer.Option(None, "--run", help="Only the records of this run."),
    limit: int | None = typer.Option(
        None, "--limit", "-n", min=1, help="Only the last N records (default: all)."
    ),
    profile: ProfileOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Print audit records (oldest first).

    Example: aisre audit show --run r-20260101T120000Z-abc123
    """
    log = _log(ctx, profile)
    every = list(log.records())
    recs = [r for r in every if run is None or r.run == run]
    if run is not None and not recs:
        runs = list(dict.fromkeys(r.run for r in every if r.run))
        starting = [x for x in runs if x.startswith(run)]
        if len(starting) == 1:  # a unique prefix of a run id, as `git` accepts
            recs = [r for r in every if r.run == starting[0]]
        else:
            from aisre_cli.errors import UsageError

            what = f"{len(starting)} runs start with it" if starting else "no run has that id"
            latest = ", ".join(runs[-3:]) or "none"
            raise UsageError(
                f"no audit record of run {run!r}: {what} ({len(every)} records,"
                f" {len(runs)} runs in {_where(log)})",
                hint=f"the latest runs: {latest}; `aisre audit show` lists every record",
            )
    if limit is not None:
        recs = recs[-limit:]
    skipped = int(getattr(log, "unreadable", 0))
    torn = int(getattr(log, "torn", 0))
    if torn:
        echo(
            f"note: the final line of {_where(log)} is a torn record ({torn} bytes): a write"
            " interrupted by a crash, not tampering; not shown, and set aside to a sidecar"
            " file by the next append (`aisre audit verify` reports it)",
            err=True,
        )
    if skipped:
        echo(
            f"warning: {skipped} line(s) of {_where(log)} are not readable audit records"
            " (damaged or edited); check the chain with `aisre audit verify`",
            err=True,
        )
    if json_out:
        print_json(
            {
                "schema": "aisre.audit/v1",
                "path": _where(log),
                "unreadable": skipped,
                "torn_tail_bytes": torn,
                "records": [
                    {
                        "seq": r.seq,
                        "ts": r.ts,
                        "event": r.event,
                        "run": r.run,
                        "actor": r.actor,
                        "data": r.data,
                        "hash": r.hash,
                        "prev": r.prev,
                    }
                    for r in recs
                ],
            }
        )
        return
    from aisre_cli.ui.term import console, markup

    con = console(soft_wrap=True)
    for r in recs:
        # records are files anyone with write access can edit: every field is outside text
        fields = [f"#{r.seq:<5} {r.ts}", f"{r.event:<12}", f"{r.run or '-':28}", r.summary()]
        m = [markup(x, oneline=True) for x in fields]
        con.print(f"[dim]{m[0]}[/] {m[1]} {m[2]} {m[3]}")
    if not recs:
        echo(f"no audit records in {_where(log)}", err=True)


def _where(log: AuditSink) -> str:
    return str(getattr(log, "where", None) or log.path)


@audit_app.command("verify")
def verify_cmd(
    ctx: typer.Context,
    expect_head: str | None = typer.Option(
        None,
        "--expect-head",
        metavar="HASH",
        help="A head hash kept elsewhere (printed at the end of a run): it must be a record"
        " of the log (full hash, or a prefix of at least 12 hex digits).",
    ),
    profile: ProfileOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Check the hash chain; report the first bad record and any torn final record.

    Exit 0 when the chain is intact (a torn final record from a crash is reported but
    is not tampering), 6 when a record was modified, inserted, deleted, duplicated or
    reordered, when the head anchor file is missing while records exist (a truncation
    cannot be ruled out), when --expect-head names no record of the log, or when an
    audit HMAC key is set (`aisre auth set audit-hmac`) and a record's MAC is wrong or
    missing.

    In team mode (the profile's memory_url is postgresql://) the team chain in the
    database is checked, and so is the local chain of audit records still waiting in
    the spool (written while the database was unreachable).

    Example: aisre audit verify --expect-head 3f1c0a9e5b7d
    """
    from aisre_cli.govern.audit import AuditLog, verify
    from aisre_cli.govern.audit_pg import PgAuditLog

    log = _log(ctx, profile)
    spooled: tuple[int, Problem | None] = (0, None)
    if isinstance(log, PgAuditLog):
        try:
            rep = log.verify(expect_head=expect_head)
            spooled = log.verify_spooled()
        finally:
            log.close()
        if rep.problem is None and spooled[1] is not None:
            rep = replace(rep, problem=spooled[1])
    else:
        assert isinstance(log, AuditLog)
        rep = verify(log.path, expect_head=expect_head)
    if json_out:
        extra = {"spooled": spooled[0]} if isinstance(log, PgAuditLog) else {}
        print_json({"schema": "aisre.audit.verify/v1", **rep.to_dict(), **extra})
    else:
        if rep.ok:
            mac = {"checked": "; MACs valid", "unchecked": "; MACs present but no key to check"}
            anchored = (
                f"; expected head is record #{rep.expected_head_seq}"
                if rep.expected_head_seq is not None
                else ""
            )
            waiting = (
                f"; {spooled[0]} more in the local spool (chain intact), not yet replayed"
                if spooled[0]
                else ""
            )
            echo(
                f"ok: {rep.records} record(s), chain intact; head {rep.head}"
                f"{anchored}{mac.get(rep.mac, '')}{waiting}"
            )
        elif rep.problem is not None:
            echo(
                f"TAMPERED: {rep.path}: record {rep.problem.line}: {rep.problem.reason}"
                f" ({rep.records} good record(s) before it)"
            )
        if rep.unanchored:
            # an anchor file that is there but cannot be read is no anchor either; say
            # which, so nobody goes looking for a file that exists
            state = "UNREADABLE" if Path(f"{rep.path}.head").exists() else "MISSING"
            echo(
                f"UNANCHORED: {rep.path}: {rep.records} record(s) but the head anchor"
                f" {rep.path}.head is {state}: records removed from the end cannot be detected",
                err=False,
            )
            echo(
                f"WARNING: the audit head anchor is {state.lower()}; compare with a head kept"
                " elsewhere: `aisre audit verify --expect-head HASH`",
                err=True,
            )
        if rep.torn_tail is not None:
            echo(
                f"warning: torn final record at line {rep.torn_tail.line}"
                f" ({rep.torn_tail.bytes} bytes, an interrupted write; set aside on next append)",
                err=True,
            )
    if not rep.ok:
        raise typer.Exit(int(ExitCode.VERIFY))
