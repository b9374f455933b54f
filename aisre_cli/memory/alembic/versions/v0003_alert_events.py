"""Alert firing episodes (noise detection) and an incident's origin (was `m003_alert_events`).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_events",
        sa.Column("alert_id", sa.Text, nullable=False),
        sa.Column("starts_at", sa.Text, nullable=False),
        sa.Column("alert_name", sa.Text, nullable=False),
        sa.Column("service", sa.Text),
        sa.Column("ends_at", sa.Text),
        sa.Column("seen_at", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("alert_id", "starts_at"),
    )
    op.create_index("alert_events_name", "alert_events", ["alert_name", "service"])
    op.add_column("incidents", sa.Column("origin", sa.Text, nullable=False, server_default="local"))


def downgrade() -> None:
    raise NotImplementedError("the incident memory only migrates forward")
