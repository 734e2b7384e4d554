"""Sync engine: alert state (firing, resolved, notified, acknowledged or silenced) and the
last delivery result of each notification target.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

JSONDoc = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", AutoId, autoincrement=True, nullable=False),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("lines", JSONDoc, nullable=False),
        sa.Column("link", sa.String(1000), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notifications", sa.Integer(), server_default="0", nullable=False),
        sa.Column("owed", sa.String(20), nullable=True),
        sa.Column("owed_targets", JSONDoc, nullable=True),
        sa.Column("next_delivery_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivery_attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(200), nullable=True),
        sa.Column("acknowledge_reason", sa.Text(), nullable=True),
        sa.Column("silenced_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("silenced_by", sa.String(200), nullable=True),
        sa.Column("silence_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    op.create_index("ix_alerts_rule_key_state", "alerts", ["rule", "key", "state"])
    op.create_index("ix_alerts_owed", "alerts", ["owed", "next_delivery_at"])
    op.create_table(
        "alert_targets",
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("label", sa.String(300), nullable=False),
        sa.Column("last_ok_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("failures", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("target", name=op.f("pk_alert_targets")),
    )


def downgrade() -> None:
    op.drop_table("alert_targets")
    op.drop_index("ix_alerts_owed", table_name="alerts")
    op.drop_index("ix_alerts_rule_key_state", table_name="alerts")
    op.drop_table("alerts")
