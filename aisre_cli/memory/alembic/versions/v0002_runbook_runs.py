"""Runbook run outcomes: the track record governance reads (was `m002_runbook_runs`).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runbook_runs",
        sa.Column("run_id", sa.Text, primary_key=True),
        sa.Column("runbook_id", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False, server_default="unknown"),
        sa.Column("alert_id", sa.Text),
        sa.Column("incident_uid", sa.Text),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("environment", sa.Text),
        sa.Column("audit_head", sa.Text),
        sa.Column("steps", sa.Text, nullable=False, server_default="{}"),
        sa.Column("finished_at", sa.Text, nullable=False),
    )
    op.create_index("runbook_runs_book", "runbook_runs", ["runbook_id", "kind"])
    op.create_index("runbook_runs_alert", "runbook_runs", ["alert_id"])


def downgrade() -> None:
    raise NotImplementedError("the incident memory only migrates forward")
