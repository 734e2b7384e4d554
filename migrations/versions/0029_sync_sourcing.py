"""Sync engine: the duplicate supplier records reconciliation last reported, and the
business impact last assessed per stuck ECO, plant and item.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_supplier_duplicates",
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("fingerprint", sa.String(500), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "key", name=op.f("pk_sync_supplier_duplicates")),
    )
    op.create_table(
        "sync_impact",
        sa.Column("eco", sa.String(20), nullable=False),
        sa.Column("plant", sa.String(40), nullable=False),
        sa.Column("item", sa.String(40), nullable=False),
        sa.Column("fingerprint", sa.String(300), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("eco", "plant", "item", name=op.f("pk_sync_impact")),
    )


def downgrade() -> None:
    op.drop_table("sync_impact")
    op.drop_table("sync_supplier_duplicates")
