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
# One transaction for the whole upgrade. Alembic's SQLite impl declares no transactional
# DDL and would commit after each revision, releasing the lock between them: a second
# process then started from a revision it had read before, and re-created a table the
# first had just made. SQLite's DDL is transactional; say so.
context.configure(connection=connection, transaction_per_migration=False, transactional_ddl=True)

with context.begin_transaction():
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_WRITE_LOCK})
    context.run_migrations()
