"""Incidents (one per recorded triage) and their ranked hypotheses.

The same schema as the hand-written runner's `m001_incidents`, so a memory it made is
stamped at this revision rather than rebuilt.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("uid", sa.Text, nullable=False, unique=True),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("alert_id", sa.Text, nullable=False),
        sa.Column("alert_name", sa.Text, nullable=False),
        sa.Column("service", sa.Text),
        sa.Column("severity", sa.Text),
        sa.Column("labels", sa.Text, nullable=False, server_default="{}"),
        sa.Column("starts_at", sa.Text),
        sa.Column("onset", sa.Text),
        sa.Column("bundle_id", sa.Text),
        sa.Column("classification", sa.Text, nullable=False, server_default="actionable"),
        sa.Column("escalate", sa.Integer, nullable=False, server_default="0"),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("signature", sa.Text, nullable=False, server_default="{}"),
        sa.Column("report", sa.Text, nullable=False, server_default="{}"),
        sa.Column("status", sa.Text, nullable=False, server_default="open"),
        sa.Column("cause_kind", sa.Text),
        sa.Column("cause_service", sa.Text),
        sa.Column("cause_change", sa.Text),
        sa.Column("cause_rank", sa.Integer),
        sa.Column("note", sa.Text),
        sa.Column("resolved_at", sa.Text),
        sqlite_autoincrement=True,
    )
    op.create_index("incidents_alert", "incidents", ["alert_id"])
    op.create_table(
        "hypotheses",
        sa.Column(
            "incident_id",
            sa.Integer,
            sa.ForeignKey("incidents.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("service", sa.Text, nullable=False),
        sa.Column("subject", sa.Text),
        sa.Column("statement", sa.Text, nullable=False, server_default=""),
        sa.Column("confidence", sa.Float, nullable=False, server_default="0"),
        sa.Column("signature", sa.Text, nullable=False, server_default="{}"),
        sa.PrimaryKeyConstraint("incident_id", "rank"),
    )


def downgrade() -> None:
    raise NotImplementedError("the incident memory only migrates forward")
