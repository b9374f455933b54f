"""The team store with its spool: what `open_store` returns for a `postgresql://` memory.

* `TeamStore`: the server answered. Before anything else it replays the memory spool
  (writes kept while the server was down), oldest first; then every write goes to the
  server, or to the spool if the server goes away meanwhile (and behind older spooled
  writes while any are left, so their order holds).
* `OfflineStore`: the server cannot be reached, or its schema is older than this aisre
  and only the database owner may upgrade it (`migrations.SchemaNeedsOwner`), or newer
  than this aisre (`migrations.SchemaTooNew`: upgrade aisre; the spool is sent by the
  upgraded one, and reads are refused with exit 2 as for a local memory). Every
  write (`record_report`, `record_alerts`, `record_run`, `record_change`, …) is a
  `WriteOp` appended to the spool, fsynced, and replayed later. Every read raises
  `MemoryUnavailable`, which the readers already treat as "no memory this time"
  (triage's advisor notes it and ranks without priors); the track record reads as
  empty, as for a new runbook: no autonomy is earned from a history that cannot be seen.

Both carry `notes`: what to tell the user (replayed N writes; unreachable, spooling;
a spooled confirmed cause not applied because a teammate confirmed another one first).

A damaged spool (`spool.SpoolDamaged`) does not stop a `TeamStore` from reading: triage
still gets its priors. Its writes are refused with that error (exit 6, whose hint is
`aisre memory sync --set-aside-damaged`) rather than queued behind a line that cannot
be replayed. `health` is `aisre doctor`'s row for the team store, with the grants
the connected role lacks (`TOOL_PRIVILEGES`).
The audit trail has a spool of its own (govern/audit_pg.py, `audit_spool()`), so the
memory's writes replay here, in the memory layer, without the governance code.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from aisre_cli.errors import AisreError, ExitCode, UsageError
from aisre_cli.memory import migrations
from aisre_cli.memory.backend import (
    Cursor,
    Database,
    Location,
    MemoryStoreError,
    MemoryUnavailable,
    PostgresDatabase,
    connect,
    password_for,
)
from aisre_cli.memory.migrations import SchemaNeedsOwner, SchemaTooNew
from aisre_cli.memory.spool import (
    ReplayResult,
    Spool,
    SpoolDamaged,
    memory_handler,
    memory_spool,
    spool_op,
    spooling_writer,
    store_key,
)
from aisre_cli.memory.storage import (
    Incident,
    MemoryStore,
    Resolution,
    WriteOp,
    check_cause_args,
)
from aisre_cli.runtime import heavy_import


def replay_memory(store: MemoryStore, spool: Spool | None = None) -> ReplayResult:
    """Replay the memory spool of `store`'s team store into it (the legacy machine-wide
    spool's records for it first; oldest first, exactly once per write)."""
    sp = spool or memory_spool(store_key(store.location))
    if not sp.has_pending():
        return ReplayResult()
    return sp.replay({"memory": memory_handler(store, sp)})


class TeamStore(MemoryStore):
    """See the module docstring."""

    def __init__(self, location: Location, spool: Spool | None = None) -> None:
        super().__init__(location=location)
        self.spool = spool or memory_spool(store_key(location))
        self.notes: list[str] = []
        self.damaged: SpoolDamaged | None = None
        """The local spool is damaged: reads work, writes raise this."""
        try:
            if self.spool.has_pending():
                res = replay_memory(self, self.spool)
                self.notes.extend(res.notes)
                if res.replayed:
                    self.notes.append(f"sent {res.replayed} write(s) kept in the local spool")
                if res.remaining and not res.busy:
                    why = f" ({res.stopped})" if res.stopped else ""
                    self.notes.append(f"{res.remaining} write(s) still in the local spool{why}")
        except SpoolDamaged as err:
            self.damaged = err
            fix = f": {err.hint}" if err.hint else ""
            self.notes.append(
                f"{err.message}; this machine's team writes are refused until it is repaired{fix}"
            )
        except AisreError as err:
            self.notes.append(f"local spool not replayed: {err.message}")
        self.writer = spooling_writer(self, self.spool, self._drain)

    def merged_into(self, ref: str) -> str | None:
        return self.spool.merged_into(ref)

    def get(self, ref: str) -> Incident:
        """`MemoryStore.get`; an incident still in the local spool is said to be there."""
        try:
            return super().get(ref)
        except UsageError:
            if self.spool.holds_incident(ref):
                raise UsageError(
                    f"incident {ref.strip()!r} was recorded while the team memory was"
                    " unreachable and is still in the local spool",
                    hint="run `aisre memory sync` (`aisre memory status` shows what waits)",
                ) from None
            raise

    def _drain(self) -> None:
        """Replay the spool before a write (order holds); notes go with the store's."""
        self.notes.extend(replay_memory(self, self.spool).notes)


UNREACHABLE_HINT = (
    "check that the PostgreSQL server is up and reachable from here; writes"
    " are kept in the local spool meanwhile (`aisre memory status`)"
)


SCHEMA_BEHIND = "waits for its owner to upgrade its schema"


class _NoDatabase(Database):
    backend = "postgresql"

    def __init__(self, location: str, why: MemoryStoreError) -> None:
        super().__init__()
        self.location = location
        self.why = why
        self.reason = why.message
        self.hint = why.hint or UNREACHABLE_HINT

    def _fail(self) -> MemoryStoreError:
        """A read: what kept the store offline, again (a schema newer than aisre: exit
        2 as for a local memory; unreachable or waiting for its owner: exit 3)."""
        cls = SchemaTooNew if isinstance(self.why, SchemaTooNew) else MemoryUnavailable
        return cls(self.reason, hint=self.hint)

    def _exec(self, sql: str, args: Sequence[Any]) -> Cursor:
        raise self._fail()

    def _exec_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        raise self._fail()

    def _begin(self) -> None:
        raise self._fail()

    def close(self) -> None:
        pass

    def tables(self) -> set[str]:
        raise self._fail()

    def version_rows(self) -> list[Any] | None:
        raise self._fail()

    def error(self, exc: Exception) -> MemoryStoreError:
        return self._fail()


class OfflineStore(MemoryStore):
    """See the module docstring."""

    def __init__(self, location: Location, spool: Spool, why: MemoryStoreError) -> None:
        # no super().__init__: it would connect (and fail again)
        self.location = location
        self.path = location.path
        self.db = _NoDatabase(location.display, why)
        self.spool = spool
        self.reason = why.message
        self.writer = self._spool
        self.hint = why.hint
        self.refused = why.exit_code == ExitCode.AUTH
        """The server refused this machine's credentials (`open_team_store(keep_refused=
        True)`, triage only): nothing is sent until they are fixed."""
        waiting = spool.status().depth
        held = f"; {waiting} earlier write(s) are waiting there too" if waiting else ""
        if isinstance(why, SchemaTooNew):  # see _newer
            self.notes = [f"{why.message}{held}"]
            return
        state = (
            SCHEMA_BEHIND
            if isinstance(why, SchemaNeedsOwner)
            else "refuses the password"
            if self.refused
            else "is unreachable"
        )
        self.notes = [
            f"the team memory at {location.display} {state}: what this command"
            f" records is kept in the local spool and sent when it can be{held}"
        ]

    def _spool(self, op: WriteOp) -> dict[str, Any]:
        return spool_op(self.spool, op, store_key(self.location))

    def confirm_cause(
        self,
        ref: str,
        *,
        rank: int | None = None,
        kind: str | None = None,
        service: str | None = None,
        change: str | None = None,
        note: str | None = None,
        force: bool = False,
    ) -> Resolution:
        """Spooled as typed: the incident (`ref`), the rank's hypothesis and the check
        against a cause a teammate confirmed meanwhile are looked up at replay
        (`MemoryStore._apply_resolve`)."""
        check_cause_args(ref, rank, kind, service, change)
        self.submit(
            WriteOp(
                "incident.resolve",
                {
                    "ref": ref.strip(),
                    "rank": rank,
                    "kind": kind,
                    "service": service,
                    "change": change,
                    "note": note,
                    "at": datetime.now(UTC).isoformat(),
                    "force": force,
                },
            )
        )
        return Resolution(
            ref, {"kind": kind, "service": service, "change_id": change, "rank": rank}
        )

    def last_version(self, service: str, before: datetime | None = None) -> str | None:
        return None  # unknown while offline: a change is recorded without it

    def successes(self, runbook_id: str, kind: str, environment: str | None = None) -> int:
        return 0

    def failures(self, runbook_id: str, kind: str, environment: str | None = None) -> int:
        return 0


def open_team_store(
    location: Location, spool: Spool | None = None, *, keep_refused: bool = False
) -> MemoryStore:
    """A `TeamStore`, or an `OfflineStore` when the server cannot be reached or its
    schema is one this aisre may not write (older: the owner upgrades it; newer:
    upgrade aisre).

    `keep_refused`: a refused password (exit 4) is an `OfflineStore` too, so a page's
    triage keeps its incident in the spool while someone fixes the password (a rotated
    secret must not cost the record). Other commands leave it an error: `change record`
    in a pipeline must fail with exit 4, not queue deploys nobody will send."""
    sp = spool or memory_spool(store_key(location))
    try:
        return TeamStore(location, sp)
    except MemoryUnavailable as exc:  # down, or a schema only its owner may upgrade
        return OfflineStore(location, sp, exc)
    except SchemaTooNew as exc:
        return OfflineStore(location, sp, _newer(exc))
    except MemoryStoreError as exc:
        if keep_refused and exc.exit_code == ExitCode.AUTH:
            return OfflineStore(location, sp, exc)
        raise


def _newer(exc: SchemaTooNew) -> SchemaTooNew:
    """The refusal as team mode says it: the writes are not lost, they wait."""
    return SchemaTooNew(
        f"{exc.message}: upgrade aisre; until then what this machine records waits in the"
        " local spool",
        hint="the upgraded aisre sends what waits there (`aisre memory status` shows it)",
    )


TOOL_PRIVILEGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("alembic_version", ("SELECT",)),  # the schema check every command makes
    ("incidents", ("SELECT", "INSERT", "UPDATE")),  # UPDATE: a confirmed cause
    ("hypotheses", ("SELECT", "INSERT", "DELETE")),  # DELETE: an incident recorded again
    ("runbook_runs", ("SELECT", "INSERT", "UPDATE")),  # ON CONFLICT DO UPDATE
    ("alert_events", ("SELECT", "INSERT", "UPDATE")),  # ON CONFLICT DO UPDATE
    ("changes", ("SELECT", "INSERT")),
    ("applied_ops", ("SELECT", "INSERT")),
    ("audit_log", ("SELECT", "INSERT")),  # insert-only (docs step 3)
)
"""What the tool role needs on each table of the schema (every table the migrations
create: tests/test_team_doctor_status.py checks that none is left out), and USAGE on
the sequences they own (`incidents.id`). A subset of what docs/team-mode.md steps 3 and
4 grant; an owner (or a superuser) has all of it implicitly."""

GRANTS_HINT = (
    "the database owner runs the GRANTs of docs/team-mode.md steps 3 and 4 (again after"
    " every `aisre memory migrate`), or memory_url names the wrong role"
)

_NEEDED = ", ".join(f"('{t}', '{p}')" for t, privs in TOOL_PRIVILEGES for p in privs)
_GRANTS_SQL = f"""WITH need(t, p) AS (VALUES {_NEEDED})
SELECT current_user::text, t, p, has_table_privilege(to_regclass(t), p) FROM need
UNION ALL
SELECT current_user::text, s.relname::text, 'USAGE', has_sequence_privilege(s.oid, 'USAGE')
FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
  AND d.deptype = 'a' AND d.refobjid IN (SELECT to_regclass(t) FROM need)"""
"""One query, no table read: the role, then each (table, privilege) the tool needs and
whether the role has it (NULL for a table that does not exist: an older schema), then
USAGE on each sequence a serial column of those tables owns."""


def missing_privileges(db: Database) -> tuple[str | None, tuple[tuple[str, str], ...]]:
    """The connected role, and the (table, privilege) pairs it lacks among
    `TOOL_PRIVILEGES` (a table the schema does not have is left to the schema check).
    One round trip; a SQLite memory has no grants: (None, ())."""
    if db.backend != "postgresql":
        return None, ()
    rows = db.query(_GRANTS_SQL)
    role = str(rows[0][0]) if rows else None
    return role, tuple((str(r[1]), str(r[2])) for r in rows if r[3] is False)


def grants_text(role: str | None, missing: Sequence[tuple[str, str]]) -> str:
    """`the role R lacks SELECT, INSERT on changes; INSERT on audit_log`."""
    what = "; ".join(f"{', '.join(p)} on {t}" for t, p in _by_table(missing).items())
    return f"the role {role or '(this role)'} lacks {what}"


def _by_table(missing: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    """{table: [privilege, …]}, in the order found (`TOOL_PRIVILEGES`'s)."""
    out: dict[str, list[str]] = {}
    for table, privilege in missing:
        out.setdefault(table, []).append(privilege)
    return out


@dataclass(frozen=True)
class StoreHealth:
    """`aisre doctor`'s row for the team store."""

    url: str
    reachable: bool
    authenticated: bool | None
    """None: not known (the server refused before or without asking)."""
    schema_version: str | None = None
    schema_head: str = migrations.HEAD
    """The revision this aisre writes."""
    latency_ms: float | None = None
    """Connecting (with authentication) plus reading the grants and the schema revision."""
    detail: str = ""
    hint: str = ""
    role: str | None = None
    """The role connected as (what `current_user` said), when the grants were read."""
    missing_grants: tuple[tuple[str, str], ...] = ()
    """(table, privilege) the role needs and lacks (`TOOL_PRIVILEGES`): doctor exits 4."""

    @property
    def ok(self) -> bool:
        return self.reachable and self.authenticated is not False and not self.detail

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "ok": self.ok,
            "reachable": self.reachable,
            "authenticated": self.authenticated,
            "schema_version": self.schema_version,
            "schema_head": self.schema_head,
            "latency_ms": self.latency_ms,
            "detail": self.detail,
            "hint": self.hint,
            "role": self.role,
            "missing_grants": _by_table(self.missing_grants),
        }


def health(location: Location) -> StoreHealth:
    """Connect to the team store, read the grants the role lacks (`missing_privileges`,
    one query) and its schema revision; never writes, never migrates, never raises for
    what it finds. The latency is the server's: connecting (with authentication) and
    the two queries, not the keyring or the driver's import."""
    url = location.display
    if location.pg is not None:
        heavy_import("psycopg")  # loaded before the clock starts

        password = password_for(location)
    t0 = time.monotonic()

    def ms() -> float:
        return round((time.monotonic() - t0) * 1000, 1)

    try:
        db = PostgresDatabase(location.pg, password) if location.pg else connect(location)
    except MemoryUnavailable as exc:
        return StoreHealth(url, False, None, detail=exc.message, hint=exc.hint or "")
    except MemoryStoreError as exc:  # the server answered: a refused password, no database
        auth = False if exc.exit_code == ExitCode.AUTH else None
        return StoreHealth(
            url, True, auth, None, latency_ms=ms(), detail=exc.message, hint=exc.hint or ""
        )
    role: str | None = None
    missing: tuple[tuple[str, str], ...] = ()
    try:
        role, missing = missing_privileges(db)
        # without SELECT on alembic_version the revision cannot be read: the grants say why
        rev = None if ("alembic_version", "SELECT") in missing else migrations.current(db)
    except MemoryUnavailable as exc:
        return StoreHealth(url, False, True, detail=exc.message, hint=exc.hint or "")
    except MemoryStoreError as exc:  # an unknown legacy schema, several heads
        return StoreHealth(url, True, True, detail=exc.message, hint=exc.hint or "")
    finally:
        db.close()
    ok = StoreHealth(url, True, True, rev, latency_ms=ms(), role=role, missing_grants=missing)
    if missing:
        ok = replace(ok, detail=grants_text(role, missing), hint=GRANTS_HINT)
        if ("alembic_version", "SELECT") in missing:
            return ok
    head = migrations.HEAD
    if rev == head:
        return ok
    grants = f"; {ok.detail}" if missing else ""
    owner = (
        "the database owner runs `aisre memory migrate --to postgresql://OWNER@HOST/DB`,"
        " then the GRANTs of docs/team-mode.md steps 3 and 4; writes wait in the local"
        " spool until then"
    )
    if rev is None:
        return replace(
            ok,
            detail=f"no aisre schema in this database (this aisre: {head}){grants}",
            hint=owner,
        )
    if rev.startswith("legacy:") or rev in migrations.REVISIONS:
        return replace(
            ok, detail=f"schema {rev} is older than this aisre ({head}){grants}", hint=owner
        )
    return replace(
        ok,
        detail=f"schema {rev} is newer than this aisre ({head}){grants}",
        hint="upgrade aisre on this machine; writes wait in the local spool until then",
    )


def store_notes(store: object) -> list[str]:
    """What a store opened by `open_store` has to say (team mode), else nothing."""
    notes = getattr(store, "notes", None)
    return list(notes) if isinstance(notes, list) else []
