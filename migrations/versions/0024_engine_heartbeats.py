"""Sync engine: a heartbeat per engine process, and the outbox's undelivered rows indexed.

The console reads both to say when the pipeline is behind: no engine heartbeat for a
minute, or the oldest undelivered outbox event too old.

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_heartbeats",
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("holder", name=op.f("pk_sync_heartbeats")),
    )
    op.create_index(
        "ix_sync_outbox_undelivered",
        "sync_outbox",
        ["id"],
        postgresql_where=sa.text("delivered_at IS NULL"),
        sqlite_where=sa.text("delivered_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_sync_outbox_undelivered", table_name="sync_outbox")
    op.drop_table("sync_heartbeats")
