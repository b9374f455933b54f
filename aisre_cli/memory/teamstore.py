"""The team store with its spool: what `open_store` returns for a `postgresql://` memory.

* `TeamStore`: the server answered. Before anything else it replays the memory spool
  (writes kept while the server was down), oldest first; then every write goes to the
  server, or to the spool if the server goes away meanwhile (and behind older spooled
  writes while any are left, so their order holds).
* `OfflineStore`: the server cannot be reached, or its schema is older than this aisre
  and only the database owner may upgrade it (`migrations.SchemaNeedsOwner`). Every
  write (`record_report`, `record_alerts`, `record_run`, `record_change`, …) is a
  `WriteOp` appended to the spool, fsynced, and replayed later. Every read raises
  `MemoryUnavailable`, which the readers already treat as "no memory this time"
  (triage's advisor notes it and ranks without priors); the track record reads as
  empty, as for a new runbook: no autonomy is earned from a history that cannot be seen.

Both carry `notes`: what to tell the user (replayed N writes; unreachable, spooling).
The audit trail has a spool of its own (govern/audit_pg.py, `audit_spool()`), so the
memory's writes replay here, in the memory layer, without the governance code.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from aisre_cli.errors import AisreError
from aisre_cli.memory.backend import Cursor, Database, Location, MemoryUnavailable
from aisre_cli.memory.migrations import SchemaNeedsOwner
from aisre_cli.memory.spool import (
    ReplayResult,
    Spool,
    memory_handler,
    memory_spool,
    spool_op,
    spooling_writer,
)
from aisre_cli.memory.storage import MemoryStore, WriteOp


def replay_memory(store: MemoryStore, spool: Spool | None = None) -> ReplayResult:
    """Replay the memory spool into `store` (oldest first, exactly once per write)."""
    sp = spool or memory_spool()
    if not sp.path.exists():
        return ReplayResult()
    return sp.replay({"memory": memory_handler(store)})


class TeamStore(MemoryStore):
    """See the module docstring."""

    def __init__(self, location: Location, spool: Spool | None = None) -> None:
        super().__init__(location=location)
        self.spool = spool or memory_spool()
        self.notes: list[str] = []
        if self.spool.path.exists() and self.spool.has_pending():
            try:
                res = replay_memory(self, self.spool)
            except AisreError as err:
                self.notes.append(f"local spool not replayed: {err.message}")
            else:
                if res.replayed:
                    self.notes.append(
                        f"sent {res.replayed} write(s) kept in the local spool while the team"
                        " memory was unreachable"
                    )
                if res.remaining and not res.busy:
                    self.notes.append(f"{res.remaining} write(s) still in the local spool")
        self.writer = spooling_writer(self, self.spool, lambda: replay_memory(self, self.spool))


UNREACHABLE_HINT = (
    "check that the PostgreSQL server is up and reachable from here; writes"
    " are kept in the local spool meanwhile (`aisre memory status`)"
)


SCHEMA_BEHIND = "waits for its owner to upgrade its schema"


class _NoDatabase(Database):
    backend = "postgresql"

    def __init__(self, location: str, reason: str, hint: str | None = None) -> None:
        super().__init__()
        self.location = location
        self.reason = reason
        self.hint = hint or UNREACHABLE_HINT

    def _fail(self) -> MemoryUnavailable:
        return MemoryUnavailable(self.reason, hint=self.hint)

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

    def error(self, exc: Exception) -> MemoryUnavailable:
        return self._fail()


class OfflineStore(MemoryStore):
    """See the module docstring."""

    def __init__(self, location: Location, spool: Spool, why: MemoryUnavailable) -> None:
        # no super().__init__: it would connect (and fail again)
        self.location = location
        self.path = location.path
        self.db = _NoDatabase(location.display, why.message, why.hint)
        self.spool = spool
        self.reason = why.message
        state = SCHEMA_BEHIND if isinstance(why, SchemaNeedsOwner) else "is unreachable"
        self.writer = self._spool
        waiting = spool.status().depth
        held = f"; {waiting} earlier write(s) are waiting there too" if waiting else ""
        self.notes = [
            f"the team memory at {location.display} {state}: what this command"
            f" records is kept in the local spool and sent when it can be{held}"
        ]

    def _spool(self, op: WriteOp) -> dict[str, Any]:
        return spool_op(self.spool, op)

    def last_version(self, service: str, before: datetime | None = None) -> str | None:
        return None  # unknown while offline: a change is recorded without it

    def successes(self, runbook_id: str, kind: str, environment: str | None = None) -> int:
        return 0

    def failures(self, runbook_id: str, kind: str, environment: str | None = None) -> int:
        return 0


def open_team_store(location: Location, spool: Spool | None = None) -> MemoryStore:
    """A `TeamStore`, or an `OfflineStore` when the server cannot be reached."""
    sp = spool or memory_spool()
    try:
        return TeamStore(location, sp)
    except MemoryUnavailable as exc:  # down, or a schema only its owner may upgrade
        return OfflineStore(location, sp, exc)


def store_notes(store: object) -> list[str]:
    """What a store opened by `open_store` has to say (team mode), else nothing."""
    notes = getattr(store, "notes", None)
    return list(notes) if isinstance(notes, list) else []
