"""The team store while it cannot be reached: writes go to the spool, reads have nothing.

`OfflineStore` is a `MemoryStore` without a connection. Every write (`record_report`,
`record_alerts`, `record_run`, `record_change`, …) is a `WriteOp` handed to the
spool, fsynced, and replayed when the server is back (spool.py). Every read raises
`MemoryUnavailable`, which the readers already treat as "no memory this time" (triage's
advisor notes it and ranks without priors). The track record reads as empty, as for a
new runbook: no autonomy is earned from a history we cannot see.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aisre_cli.memory.backend import Cursor, Database, Location, MemoryUnavailable
from aisre_cli.memory.spool import Spool, spool_op
from aisre_cli.memory.storage import MemoryStore, WriteOp


class _NoDatabase(Database):
    backend = "postgresql"

    def __init__(self, location: str, reason: str) -> None:
        super().__init__()
        self.location = location
        self.reason = reason

    def _fail(self) -> MemoryUnavailable:
        return MemoryUnavailable(
            f"{self.location}: the team memory is unreachable ({self.reason})",
            hint="check that the PostgreSQL server is up and reachable from here; writes"
            " are kept in the local spool meanwhile (`aisre memory status`)",
        )

    def _exec(self, sql: str, args: Sequence[Any]) -> Cursor:
        raise self._fail()

    def _begin(self) -> None:
        raise self._fail()

    def close(self) -> None:
        pass

    def tables(self) -> set[str]:
        raise self._fail()

    def error(self, exc: Exception) -> MemoryUnavailable:
        return self._fail()


class OfflineStore(MemoryStore):
    """See the module docstring."""

    def __init__(self, location: Location, spool: Spool, reason: str) -> None:
        # no super().__init__: it would connect (and fail again)
        self.location = location
        self.path = location.path
        self.db = _NoDatabase(location.display, reason)
        self.spool = spool
        self.reason = reason
        self.writer = self._spool

    def _spool(self, op: WriteOp) -> dict[str, Any]:
        return spool_op(self.spool, op)

    def successes(self, runbook_id: str, kind: str) -> int:
        return 0

    def failures(self, runbook_id: str, kind: str) -> int:
        return 0
