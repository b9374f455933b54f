"""The change feed (`aisre change record` into the store) and the applied-write log.

`changes`: one row per change event, keyed by its id. `applied_ops`: the id of every
write operation applied (memory.storage.WriteOp), recorded in the same transaction as
the write, so a write replayed from a spool after a crash is applied exactly once.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "changes",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("ts", sa.Text, nullable=False),
        sa.Column("service", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False, server_default=""),
        sa.Column("version", sa.Text),
        sa.Column("previous_version", sa.Text),
        sa.Column("author", sa.Text),
        sa.Column("url", sa.Text),
        sa.Column("recorded_at", sa.Text, nullable=False),
    )
    op.create_index("changes_ts", "changes", ["ts"])
    op.create_index("changes_service", "changes", ["service", "ts"])
    op.create_table(
        "applied_ops",
        sa.Column("op_id", sa.Text, primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("applied_at", sa.Text, nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("the incident memory only migrates forward")
