"""`aisre memory`: the incident memory's storage: status, sync, migrate.

`status` says where the memory is (the local SQLite file, or the team's PostgreSQL),
its schema version, the rows per table and the local spool (writes kept while the team
store was unreachable). It says all it can also when something is wrong (the store
unreachable, a refused password, a schema newer than aisre, a damaged spool), then
exits with that error's code. `sync` replays the spool now (any command that talks to
the team store also does, quietly); `sync --set-aside-damaged` first moves damaged
spool lines to a private sidecar file, so the rest can be sent. `migrate --to
postgresql://…` creates or upgrades the team schema and copies the local memory
(incidents, runbook outcomes, alert episodes, the local change feed and, unless
--no-audit, the local audit log) into it; running it again copies nothing new.
docs/team-mode.md has the roles and grants.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from aisre_cli.errors import AisreError, ExitCode, UsageError
from aisre_cli.ui.cli.app import JsonOpt, ProfileOpt, app, state
from aisre_cli.ui.cli.common import json_errors, note, print_json
from aisre_cli.ui.term import echo

if TYPE_CHECKING:
    from aisre_cli.memory.backend import MemoryStoreError
    from aisre_cli.memory.spool import Status
    from aisre_cli.memory.storage import MemoryStore
    from aisre_cli.settings.config import ResolvedProfile

memory_app = typer.Typer(
    help="The memory's storage: status, sync the local spool, migrate to a team store.",
    no_args_is_help=True,
)
app.add_typer(memory_app, name="memory")


def _spools() -> dict[str, dict[str, Status]]:
    from aisre_cli.memory.spool import all_status

    return all_status()


def _merged(kinds: list[Status]) -> dict[str, Any]:
    """Several spools of one kind as one (`--json`'s `memory` and `audit`)."""
    by_kind: dict[str, int] = {}
    for s in kinds:
        for k, n in s.by_kind.items():
            by_kind[k] = by_kind.get(k, 0) + n
    oldest = sorted(s.oldest for s in kinds if s.oldest)
    damaged = [s for s in kinds if s.damaged]
    out = kinds[0].to_dict() if len(kinds) == 1 else {"path": None, "replayed_through": None}
    return {
        **out,
        "depth": sum(s.depth for s in kinds),
        "oldest": oldest[0] if oldest else None,
        "by_kind": by_kind,
        "torn_sidecars": sum(s.torn_sidecars for s in kinds),
        "damaged": damaged[0].damaged if damaged else None,
        "damaged_hint": damaged[0].damaged_hint if damaged else None,
        "damaged_lines": sum(s.damaged_lines for s in kinds),
        "damaged_sidecars": sum(s.damaged_sidecars for s in kinds),
    }


def stores_of(rp: ResolvedProfile) -> tuple[str | None, dict[str, list[str]]]:
    """The `store_key` of the profile's team store (None without one), and the names of
    the config file's profiles by the store their memory_url names: who can send a
    store's spooled writes (`aisre memory sync --profile NAME`)."""
    from aisre_cli.govern.team import profile_store
    from aisre_cli.settings.config import load_config

    def key(prof: Any) -> str | None:
        try:
            return profile_store(prof)
        except AisreError:  # a memory_url that cannot be parsed: no store
            return None

    names: dict[str, list[str]] = {}
    try:
        cfg = load_config(rp.from_file) if rp.from_file is not None else None
    except AisreError:
        cfg = None
    for name, prof in cfg.profiles.items() if cfg is not None else ():
        k = key(prof)
        if k is not None:
            names.setdefault(k, []).append(name)
    return key(rp.profile), names


def _spool_dict(
    sp: dict[str, dict[str, Status]],
    here: str | None = None,
    names: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """Every spool, as `--json` shows them: the totals (`depth`, `oldest`; `error` and
    `hint` when one is damaged; `memory` and `audit` summed over the stores), the
    profile's own store (`profile_store`, `here`: null without a team store), then
    `stores`, one entry per team store with its own depth, whether it is the profile's
    (`this_profile`) and the profiles whose memory_url names it (`profiles`, from
    `names`), and `legacy`, the machine-wide spools of older releases while they hold
    records (else null)."""
    from aisre_cli.memory.spool import store_spool_dir

    every = [s for kinds in sp.values() for s in kinds.values()]
    oldest = sorted(s.oldest for s in every if s.oldest)
    damaged = [s for s in every if s.damaged]

    def one(kinds: dict[str, Status]) -> dict[str, Any]:
        old = sorted(s.oldest for s in kinds.values() if s.oldest)
        bad = [s for s in kinds.values() if s.damaged]
        return {
            "depth": sum(s.depth for s in kinds.values()),
            "oldest": old[0] if old else None,
            "error": bad[0].damaged if bad else None,
            **{k: s.to_dict() for k, s in kinds.items()},
        }

    legacy = sp.get("legacy", {})
    legacy_shown = any(s.depth or s.damaged for s in legacy.values())
    return {
        "depth": sum(s.depth for s in every),
        "oldest": oldest[0] if oldest else None,
        "error": damaged[0].damaged if damaged else None,
        "hint": damaged[0].damaged_hint if damaged else None,
        **{
            kind: _merged([k[kind] for k in sp.values() if kind in k])
            for kind in ("memory", "audit")
        },
        "profile_store": here,
        "stores": [
            {
                "store": key,
                "this_profile": key == here,
                "profiles": sorted((names or {}).get(key, [])),
                "dir": str(store_spool_dir(key)),
                **one(kinds),
            }
            for key, kinds in sp.items()
            if key != "legacy"
        ],
        "legacy": one(legacy) if legacy_shown else None,
    }


def _damage(sp: dict[str, Any]) -> AisreError | None:
    """The damaged spool as the error to exit with (6), or None."""
    if not sp.get("error"):
        return None
    from aisre_cli.memory.spool import SpoolDamaged

    return SpoolDamaged(str(sp["error"]), hint=sp.get("hint"))


LINE_WIDTH = 80
"""The spool lines are wrapped to this width (at spaces; a `command`, a URL or a path
is never cut), each continuation indented under its line."""

_GLUE = "\x00"
"""A space `_wrap` does not break at (made a space again after wrapping)."""


def spool_line(sp: dict[str, Any]) -> str:
    """The lines about the spools (also `aisre doctor`'s): the total, then one per
    team store and one for the legacy spool while they hold records. Writes waiting
    for another store than the profile's (`stores[].this_profile` false: its memory_url
    changed, or another profile's) are said not to be sent by this profile's sync, with
    the profile that sends them, or else how to, and where they are."""
    if sp.get("error"):
        hint = f"; {sp['hint']}" if sp.get("hint") else ""
        return _wrap(f"spool: DAMAGED: {sp['error']}{hint}")
    if not sp["depth"]:
        return "spool: empty"
    kinds = ", ".join(f"{n} {k}" for s in ("memory", "audit") for k, n in sp[s]["by_kind"].items())
    stores = sp.get("stores") or []
    # without `this_profile` (a dict made without the profile) no store is called foreign
    foreign = [e for e in stores if e["depth"] and e.get("this_profile") is False]
    parts = [(f"store {e['store']}", e) for e in stores]
    n = len(parts) + bool(sp.get("legacy"))
    oldest = f"oldest {sp['oldest']}"
    if n > 1:
        head = f"({kinds}) in {n} spools, one per team store, {oldest}:"
        head += " `aisre memory sync --profile NAME` sends a store's"
    elif foreign:
        head = f"({kinds}), {oldest}"
    else:
        head = f"for the team store ({kinds}), {oldest}: `aisre memory sync` sends them"
    lines = [_wrap(f"spool: {sp['depth']} write(s) waiting {head}")]
    if sp.get("legacy"):
        parts.append(("legacy spool (before one per store)", sp["legacy"]))
    if n > 1 or foreign or sp.get("legacy"):
        for name, e in parts:
            at = f", oldest{_GLUE}{e['oldest']}" if e["oldest"] else ""
            count = f"{name}: {e['depth']} waiting".replace(" ", _GLUE)  # kept whole
            lines.append(_wrap(f"{count}{at}", "  ", "    "))
            if e in foreign:
                lines.append(_wrap(_foreign(e, sp.get("profile_store")), "    ", "    "))
    return "\n".join(lines)


def _foreign(e: dict[str, Any], here: str | None) -> str:
    """Why a store's spooled writes are not sent by this profile, and how they are."""
    mine = (
        f"not this profile's store ({here}): its `aisre memory sync` does not send them"
        if here is not None
        else "this profile has no team store: its `aisre memory sync` does not send them"
    )
    if e.get("profiles"):
        who = " or ".join(f"`aisre memory sync --profile {p}`" for p in e["profiles"][:2])
        return f"{mine}; {who} does."
    where = f" They are in {e['dir']}." if e.get("dir") else ""
    return (
        f"{mine}, and no profile's memory_url names it. To send them, point a profile's"
        " memory_url at that store (with its role) and run `aisre memory sync --profile"
        f" NAME`.{where}"
    )


def _wrap(text: str, first: str = "", rest: str = "  ") -> str:
    """`text` wrapped to `LINE_WIDTH` at spaces, a `code span` kept whole."""
    import re
    import textwrap

    keep = re.sub(r"`[^`]*`", lambda m: m.group().replace(" ", _GLUE), text)
    out = textwrap.fill(
        keep,
        LINE_WIDTH,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return out.replace(_GLUE, " ")


@memory_app.command("status")
def status_cmd(
    ctx: typer.Context,
    profile: ProfileOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Backend, schema version, rows per table, and the local spool.

    Exit 0; 3 when the team store cannot be reached (or its schema is older than this
    aisre and waits for its owner to upgrade it), 4 when it refuses the password, 2
    when its schema is newer than this aisre, 6 when the local spool is damaged (all
    that can be read is still shown).

    Example: aisre memory status --json
    """
    from aisre_cli.govern.team import team_url
    from aisre_cli.memory import migrations
    from aisre_cli.memory.backend import MemoryStoreError, MemoryUnavailable
    from aisre_cli.memory.migrations import SchemaNeedsOwner, SchemaTooNew
    from aisre_cli.memory.storage import open_store
    from aisre_cli.settings.config import resolve_profile

    rp = resolve_profile(state(ctx, profile).profile)
    p = rp.profile
    team = team_url(p) is not None
    sp = _spool_dict(_spools(), *stores_of(rp))
    out: dict[str, Any] = {
        "schema": "aisre.memory.status/v1",
        "backend": "postgresql" if team else "sqlite",
        "location": None,
        "reachable": None,
        "schema_version": None,
        "schema_head": migrations.HEAD,
        "tables": {},
        "spool": sp,
        "error": None,
    }
    st: MemoryStore | None = None
    failed: MemoryStoreError | None = None
    try:
        try:
            st = open_store(profile=p, spool=False)
        except OSError as exc:  # the data directory is a file, or cannot be made
            raise _data_dir_error(exc) from None
        out["location"] = st.location.display
        out["reachable"] = True
        out["schema_version"] = st.schema_version()
        out["tables"] = st.counts()
        out["tables"]["audit_log"] = _audit_rows(p) if team else _local_audit_rows()
    except MemoryStoreError as exc:  # said after what can still be shown (the spool)
        from aisre_cli.memory.backend import location_for

        failed = exc
        out["location"] = location_for(p.memory_url, p.memory_password_name).display
        behind = isinstance(exc, SchemaNeedsOwner)  # it answered: only its owner may migrate
        out["reachable"] = behind or not isinstance(exc, MemoryUnavailable)
        out["error"] = exc.message
        if behind or isinstance(exc, SchemaTooNew):
            out["schema_version"] = _revision(p)
        if isinstance(exc, SchemaTooNew) and team:
            failed = SchemaTooNew(
                exc.message,
                hint="upgrade aisre on this machine; the upgraded aisre sends what waits"
                " in the local spool",
            )
    finally:
        if st is not None:
            st.close()
    damage = _damage(sp)
    if json_out:
        print_json(out)
    else:
        echo(f"backend:  {out['backend']} ({out['location']})")
        if failed is None:
            ver = out["schema_version"]
            cur = " (current)" if ver == migrations.HEAD else f" (this aisre: {migrations.HEAD})"
            echo(f"schema:   {ver}{cur}")
            for t, n in out["tables"].items():
                echo(f"  {t:<14} {n:>8}")
        elif isinstance(failed, MemoryUnavailable) and not out["reachable"]:
            echo(f"UNREACHABLE: {out['error']}")
        else:
            ver = out["schema_version"]
            if ver is not None:
                echo(f"schema:   {ver} (this aisre: {migrations.HEAD})")
            echo(f"FAILED: {out['error']}")
        echo(spool_line(sp))
    if damage is not None:  # integrity first: the spool holds writes not yet sent
        if failed is not None:
            note(f"team store: {failed.message}")
        raise damage
    if isinstance(failed, MemoryUnavailable) and not out["reachable"]:
        raise typer.Exit(int(ExitCode.SOURCE))
    if failed is not None:  # a schema behind: exit 3 too, with who must upgrade it
        raise failed


def _data_dir_error(exc: OSError) -> MemoryStoreError:
    """The store's error for a data directory that cannot be used (`data` is a file,
    or cannot be created): `status --json` printed nothing at all for it."""
    from aisre_cli.memory.backend import MemoryStoreError as Error

    where = exc.filename or "the data directory"
    why = "not a directory" if isinstance(exc, FileExistsError) else exc.strerror or str(exc)
    return Error(
        f"{where}: cannot use it for the incident memory ({why})",
        hint="it must be a writable directory: check it, or point AISRE_HOME (or"
        " XDG_DATA_HOME) elsewhere; nothing was changed",
    )


def _revision(p: Any) -> str | None:
    """The schema revision of a store this aisre may not open (newer than it, or older
    and waiting for its owner)."""
    from aisre_cli.memory import migrations
    from aisre_cli.memory.backend import connect, location_for

    try:
        db = connect(location_for(p.memory_url, p.memory_password_name))
    except AisreError:
        return None
    try:
        rows = db.version_rows()
        return str(rows[0][0]) if rows else migrations.current(db)
    except AisreError:
        return None
    finally:
        db.close()


def _say_set_aside(what: str, a: Any) -> None:
    if a.moved:
        lines = ", ".join(str(n) for n in a.lines)
        note(
            f"{what} spool: moved {a.moved} damaged line(s) (line {lines}) to {a.sidecar}"
            " (private; a write it held was not sent: inspect it)"
        )
    if a.renumbered or a.gap:
        gap = "; records were missing or reordered" if a.gap else ""
        note(f"{what} spool: renumbered {a.renumbered} record(s) after the damage{gap}")


def _audit_rows(p: Any) -> int:
    from aisre_cli.govern.team import open_team_audit

    log = open_team_audit(p)
    try:
        return log.count()
    finally:
        log.close()


def _local_audit_rows() -> int:
    from aisre_cli.govern.audit import AuditLog

    return sum(1 for _ in AuditLog().records())


@memory_app.command("sync")
def sync_cmd(
    ctx: typer.Context,
    profile: ProfileOpt = None,
    set_aside: bool = typer.Option(
        False,
        "--set-aside-damaged",
        help="First move damaged spool lines to a private file next to the spool"
        " (spool.jsonl.damaged-TIME, for inspection), then send the rest.",
    ),
    json_out: JsonOpt = False,
) -> None:
    """Send the writes kept in the local spool to the team store, oldest first.

    Exactly once: a sync interrupted at any point (even kill -9) and run again stores
    nothing twice. Exit 0 when the profile's spool is empty afterwards (also with the
    team store down and nothing to send: a note says it is down), 3 when writes are
    left in it (the team store could not be reached or was busy: they stay spooled), 6
    when a spool line is damaged: then `--set-aside-damaged` moves the damaged line(s)
    aside (a write they held is not sent: inspect the sidecar file) and sends the rest.
    Writes spooled for another team store are not this profile's: a note names them.

    Examples:

      aisre memory sync

      aisre memory sync --set-aside-damaged
    """
    from aisre_cli.govern.team import profile_store, sync
    from aisre_cli.memory.migrations import SchemaTooNew
    from aisre_cli.memory.spool import (
        SetAside,
        audit_spool,
        legacy_audit_spool,
        legacy_memory_spool,
        memory_spool,
    )
    from aisre_cli.settings.config import resolve_profile

    p = resolve_profile(state(ctx, profile).profile).profile
    aside: dict[str, SetAside] = {}
    if set_aside:  # this profile's store's spools, and the legacy ones (before per store)
        key = profile_store(p)
        legacy = {"memory": legacy_memory_spool(), "audit": legacy_audit_spool()}
        if key is None:
            aside = {what: sp.set_aside_damaged() for what, sp in legacy.items()}
        else:
            for what, sp in legacy.items():
                a = sp.set_aside_damaged()
                if a.moved or a.renumbered or a.gap:
                    aside[f"legacy {what}"] = a
            aside["memory"] = memory_spool(key).set_aside_damaged()
            aside["audit"] = audit_spool(key).set_aside_damaged()
        if not json_out:
            for what, a in aside.items():
                _say_set_aside(what, a)
    try:
        res = sync(p)
    except SchemaTooNew as err:
        raise SchemaTooNew(
            err.message,
            hint="upgrade aisre on this machine: the upgraded aisre sends what waits in the"
            " local spool (nothing was sent or changed)",
        ) from None
    left = res.memory.remaining + res.audit.remaining
    others = _other_stores(profile_store(p))
    if json_out:
        extra = {"set_aside": {k: a.to_dict() for k, a in aside.items()}} if set_aside else {}
        print_json(
            {
                "schema": "aisre.memory.sync/v1",
                **res.to_dict(),
                "remaining": left,
                "other_stores": others,
                **extra,
            }
        )
    else:
        echo(
            f"sent {res.memory.replayed} memory write(s) and {res.audit.replayed} audit"
            f" record(s); {left} left in the spool"
        )
        for what, r in (("memory", res.memory), ("audit", res.audit)):
            for text in r.notes:
                note(text)
            if r.stopped and r.remaining:
                note(f"{what}: stopped: {r.stopped}")
            elif r.stopped:  # nothing to send: the store being down fails nothing
                note(f"{what}: nothing was waiting to be sent; {r.stopped}")
        for o in others:
            note(
                f"{o['depth']} write(s) in the local spool wait for another team store,"
                f" {o['store']}: this profile's sync does not send them (`aisre memory"
                " status` says what does)"
            )
    # Only what stays spooled fails the sync: with nothing to send, a team store that is
    # down is not this command's failure (a note says so; `aisre doctor` checks it).
    if left:
        raise typer.Exit(int(ExitCode.SOURCE))


def _other_stores(here: str | None) -> list[dict[str, Any]]:
    """The team stores other than `here` whose spools hold writes (`store`, `depth`)."""
    from aisre_cli.memory.spool import all_status

    try:
        sp = all_status()
    except AisreError:
        return []
    return [
        {"store": key, "depth": d}
        for key, kinds in sp.items()
        if key not in ("legacy", here) and (d := sum(s.depth for s in kinds.values()))
    ]


@memory_app.command("migrate")
def migrate_cmd(
    to: str = typer.Option(
        ...,
        "--to",
        metavar="URL",
        help="The team store: postgresql://USER@HOST:PORT/DATABASE (no password in it).",
    ),
    password_name: str = typer.Option(
        "memory",
        "--password-name",
        metavar="NAME",
        help="The keyring entry holding that role's password (CI: AISRE_<NAME>_TOKEN).",
    ),
    source: Path | None = typer.Option(
        None, "--from", metavar="FILE", help="The local memory (default: the data directory's)."
    ),
    audit: bool = typer.Option(
        True, "--audit/--no-audit", help="Also copy the local audit log into the team chain."
    ),
    json_out: JsonOpt = False,
) -> None:
    """Create or upgrade the team schema, then copy the local memory into it.

    Run it as the database's owner role (docs/team-mode.md). Idempotent: incidents are
    keyed by their global uid, runs by run id, alert episodes by (alert, start), changes
    by id, audit records by their hash; a second run copies nothing.

    Example: aisre memory migrate --to postgresql://aisre_owner@db:5432/aisre
    """
    from aisre_cli.memory.backend import MemoryStoreError, location_for
    from aisre_cli.memory.migrations import SchemaNeedsOwner
    from aisre_cli.memory.storage import MemoryStore, open_store
    from aisre_cli.settings import paths

    loc = location_for(to, password_name)
    if loc.pg is None:
        raise UsageError(
            f"--to {to!r}: not a postgresql:// URL",
            hint="e.g. --to postgresql://aisre_owner@db.internal:5432/aisre",
        )
    src = source or paths.memory_db_file()
    if source is not None and not source.is_file():  # before the target is touched
        raise UsageError(f"--from {source}: no such file", hint="give a memory.sqlite3")
    # --json: a failure is a document too (with the error), as `memory status` gives
    with json_errors(json_out, "aisre.memory.migrate/v1", target=loc.display):
        try:
            target = open_store(memory_url=to, password_name=password_name, spool=False)
        except SchemaNeedsOwner as exc:  # a tool role: not an outage, nothing waits
            raise MemoryStoreError(
                exc.message,
                hint="run `aisre memory migrate` as the database owner role, with its password in"
                f" the keyring entry {password_name!r} (docs/team-mode.md)",
            ) from None
        except MemoryStoreError as exc:
            if exc.exit_code != ExitCode.AUTH:
                raise
            raise MemoryStoreError(
                exc.message,
                hint=f"put that role's password in the keyring entry {password_name!r}"
                f" (`aisre auth set {password_name}`; CI: AISRE_{password_name.upper()}_TOKEN)"
                " or name another entry with --password-name",
                exit_code=ExitCode.AUTH,
            ) from None
        copied: dict[str, Any] = {}
        try:
            copied["memory"] = {
                "added": 0,
                "updated": 0,
                "unchanged": 0,
                "runs_added": 0,
                "events_added": 0,
            }
            if src.exists():
                with MemoryStore(src) as local:
                    data = local.export_all()
                copied["memory"] = target.import_data(data, origin="migrated")
            copied["changes"] = _copy_changes(target)
            counts = target.counts()
            version = target.schema_version()
        finally:
            target.close()
        if audit:
            copied["audit"], counts["audit_log"] = _copy_audit(to, password_name)
        out = {
            "schema": "aisre.memory.migrate/v1",
            "target": loc.display,
            "schema_version": version,
            "copied": copied,
            "tables": counts,
        }
    if json_out:
        print_json(out)
        return
    echo(f"{loc.display}: schema {version}")
    m = copied["memory"]
    if src.exists():
        echo(
            f"incidents: {m['added']} added, {m['updated']} updated, {m['unchanged']} already"
            f" there; runbook runs: {m['runs_added']} added; alert episodes:"
            f" {m['events_added']} added"
        )
    echo(f"changes: {copied['changes']['added']} added of {copied['changes']['read']}")
    if audit:
        a = copied["audit"]
        echo(f"audit records: {a['added']} added of {a['read']}")
    echo("rows: " + ", ".join(f"{t} {n}" for t, n in counts.items()))


def _copy_changes(target: MemoryStore) -> dict[str, int]:
    """The local change feed (`aisre change record` without a team store) into the
    team's change feed (keyed by change id)."""
    from aisre_cli.settings import paths
    from aisre_cli.sources.changefile import ChangeFile

    feed = paths.changes_file()
    if not feed.exists():
        return {"read": 0, "added": 0}
    changes = ChangeFile(feed).read_all()
    before = target.counts()["changes"]
    for c in changes:
        target.record_change(c)
    return {"read": len(changes), "added": target.counts()["changes"] - before}


def _copy_audit(url: str, password_name: str) -> tuple[dict[str, int], int]:
    """The local audit log into the team chain: each record chained in, keeping its local
    seq and hash (keyed by that hash). Refused when the local chain does not verify."""
    from aisre_cli.govern.audit import AuditLog, verify
    from aisre_cli.govern.audit_pg import PgAuditLog

    local = AuditLog()
    if not local.path.exists():
        return {"read": 0, "added": 0}, _team_audit_count(url, password_name)
    rep = verify(local.path)
    if rep.problem is not None:
        raise AisreError(
            f"the local audit log does not verify (record {rep.problem.line}:"
            f" {rep.problem.reason}); not copied",
            hint="inspect it with `aisre audit verify`, or migrate with --no-audit",
            exit_code=ExitCode.VERIFY,
        )
    log = PgAuditLog(url, password_name=password_name)
    try:
        before = log.count()
        n = 0
        for r in local.records():
            log.import_local(r)
            n += 1
        after = log.count()
    finally:
        log.close()
    return {"read": n, "added": after - before}, after


def _team_audit_count(url: str, password_name: str) -> int:
    from aisre_cli.govern.audit_pg import PgAuditLog

    log = PgAuditLog(url, password_name=password_name)
    try:
        return log.count()
    finally:
        log.close()
