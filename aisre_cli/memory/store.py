"""The incident memory's public names, where callers have always imported them.

The memory is split in two: storage (storage.py: the database, on SQLite or
PostgreSQL, and every read and write) and inference (advisor.py: known-issue matching,
priors, noise verdicts for triage). This module re-exports both so
`from aisre_cli.memory.store import MemoryStore, Advisor, open_advisor` keeps working.
"""

from __future__ import annotations

from aisre_cli.memory.advisor import (
    MATCH_BAND,
    OTHER_KIND_PRIOR,
    Advisor,
    open_advisor,
    open_track_record,
)
from aisre_cli.memory.backend import (
    BUSY_TIMEOUT_MS,
    TRIAGE_LOCK_WAIT_MS,
    MemoryLocked,
    MemoryStoreError,
    MemoryUnavailable,
)
from aisre_cli.memory.storage import (
    EXPORT_SCHEMA,
    FAILURE,
    MIN_MATCH,
    OUTCOMES,
    SUCCESS,
    Incident,
    MemoryStore,
    RunOutcome,
    StoreChangeFeed,
    WriteOp,
    open_store,
)

__all__ = [
    "BUSY_TIMEOUT_MS",
    "EXPORT_SCHEMA",
    "FAILURE",
    "MATCH_BAND",
    "MIN_MATCH",
    "OTHER_KIND_PRIOR",
    "OUTCOMES",
    "SUCCESS",
    "TRIAGE_LOCK_WAIT_MS",
    "Advisor",
    "Incident",
    "MemoryLocked",
    "MemoryStore",
    "MemoryStoreError",
    "MemoryUnavailable",
    "RunOutcome",
    "StoreChangeFeed",
    "WriteOp",
    "open_advisor",
    "open_store",
    "open_track_record",
]
