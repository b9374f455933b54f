"""Named, ordered schema migrations for the incident memory (after simonw/llm).

Each migration is a function `mNNN_name(conn)` registered with `@migration`; they run
in definition order, each inside the caller's `BEGIN IMMEDIATE` transaction, and each
one's name is written to `_migrations` in the same transaction. A database created by
an older aisre therefore upgrades in place, and two processes that open a fresh store
at the same moment cannot both apply a migration: the second one waits for the write
lock, re-reads `_migrations` and finds nothing left to do.

Never edit a migration that has shipped; add a new one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[tuple[str, Migration]] = []


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append((fn.__name__, fn))
    return fn


@migration
def m001_incidents(conn: sqlite3.Connection) -> None:
    """Incidents (one per recorded triage) and their ranked hypotheses."""
    conn.execute(
        """
        CREATE TABLE incidents (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            uid TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            alert_id TEXT NOT NULL,
            alert_name TEXT NOT NULL,
            service TEXT,
            severity TEXT,
            labels TEXT NOT NULL DEFAULT '{}',
            starts_at TEXT,
            onset TEXT,
            bundle_id TEXT,
            classification TEXT NOT NULL DEFAULT 'actionable',
            escalate INTEGER NOT NULL DEFAULT 0,
            reason TEXT NOT NULL DEFAULT '',
            signature TEXT NOT NULL DEFAULT '{}',
            report TEXT NOT NULL DEFAULT '{}',
            status TEXT NOT NULL DEFAULT 'open',
            cause_kind TEXT,
            cause_service TEXT,
            cause_change TEXT,
            cause_rank INTEGER,
            note TEXT,
            resolved_at TEXT
        )
        """
    )
    conn.execute("CREATE INDEX incidents_alert ON incidents(alert_id)")
    conn.execute(
        """
        CREATE TABLE hypotheses (
            incident_id INTEGER NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
            rank INTEGER NOT NULL,
            kind TEXT NOT NULL,
            service TEXT NOT NULL,
            subject TEXT,
            statement TEXT NOT NULL DEFAULT '',
            confidence REAL NOT NULL DEFAULT 0,
            signature TEXT NOT NULL DEFAULT '{}',
            PRIMARY KEY (incident_id, rank)
        )
        """
    )


@migration
def m002_runbook_runs(conn: sqlite3.Connection) -> None:
    """Runbook run outcomes: the track record governance reads."""
    conn.execute(
        """
        CREATE TABLE runbook_runs (
            run_id TEXT PRIMARY KEY,
            runbook_id TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT 'unknown',
            alert_id TEXT,
            incident_uid TEXT,
            outcome TEXT NOT NULL,
            environment TEXT,
            audit_head TEXT,
            steps TEXT NOT NULL DEFAULT '{}',
            finished_at TEXT NOT NULL
        )
        """
    )
    conn.execute("CREATE INDEX runbook_runs_book ON runbook_runs(runbook_id, kind)")
    conn.execute("CREATE INDEX runbook_runs_alert ON runbook_runs(alert_id)")


@migration
def m003_alert_events(conn: sqlite3.Connection) -> None:
    """Alert firing episodes (for noise detection) and the origin of an incident row."""
    conn.execute(
        """
        CREATE TABLE alert_events (
            alert_id TEXT NOT NULL,
            starts_at TEXT NOT NULL,
            alert_name TEXT NOT NULL,
            service TEXT,
            ends_at TEXT,
            seen_at TEXT NOT NULL,
            PRIMARY KEY (alert_id, starts_at)
        )
        """
    )
    conn.execute("CREATE INDEX alert_events_name ON alert_events(alert_name, service)")
    conn.execute("ALTER TABLE incidents ADD COLUMN origin TEXT NOT NULL DEFAULT 'local'")


def applied(conn: sqlite3.Connection) -> list[str]:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    return [r[0] for r in conn.execute("SELECT name FROM _migrations ORDER BY rowid")]


def migrate(conn: sqlite3.Connection, upto: str | None = None) -> list[str]:
    """Apply every pending migration (up to and including `upto`) in one transaction.

    `conn` must be in autocommit mode (`isolation_level=None`). Returns the names applied.
    """
    names = [n for n, _ in MIGRATIONS]
    if upto is not None and upto not in names:
        raise ValueError(f"unknown migration {upto!r}")
    conn.execute("BEGIN IMMEDIATE")
    try:
        done = set(applied(conn))
        ran: list[str] = []
        for name, fn in MIGRATIONS:
            if name not in done:
                fn(conn)
                conn.execute(
                    "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                    (name, datetime.now(UTC).isoformat()),
                )
                ran.append(name)
            if name == upto:
                break
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return ran
