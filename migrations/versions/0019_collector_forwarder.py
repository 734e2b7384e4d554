"""Collector: the NATS JetStream forwarder's cursor, per stream.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "forwarder_cursors",
        sa.Column("stream", sa.String(512), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("stream", name=op.f("pk_forwarder_cursors")),
    )


def downgrade() -> None:
    op.drop_table("forwarder_cursors")
