"""Alembic environment for the incident memory, configured by `memory.migrations`.

No alembic.ini: `migrations.upgrade` builds the `Config` in code and hands over an open
SQLAlchemy connection (`config.attributes["connection"]`). Concurrent upgraders are
serialized inside the migration transaction: `BEGIN IMMEDIATE` on SQLite (the engine's
begin hook), a transaction-level advisory lock on PostgreSQL; Alembic reads the current
revision only after that, so the second process finds nothing left to do.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from aisre_cli.memory.backend import PG_WRITE_LOCK

connection = context.config.attributes["connection"]
context.configure(connection=connection, transaction_per_migration=False)

with context.begin_transaction():
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_WRITE_LOCK})
    context.run_migrations()
