"""Sync engine: the drift reconciliation last reported per (plant, item).

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_drift",
        sa.Column("plant", sa.String(40), nullable=False),
        sa.Column("item", sa.String(40), nullable=False),
        sa.Column("fingerprint", sa.String(300), nullable=False),
        sa.Column("plm_revision", sa.String(3), nullable=True),
        sa.Column("erp_revision", sa.String(3), nullable=True),
        sa.Column("mes_revision", sa.String(3), nullable=True),
        sa.Column("expected_revision", sa.String(3), nullable=True),
        sa.Column("eco", sa.String(20), nullable=True),
        sa.Column("eco_state", sa.String(40), nullable=True),
        sa.Column("cause", sa.String(20), nullable=False),
        sa.Column("detail", sa.String(500), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("plant", "item", name=op.f("pk_sync_drift")),
    )


def downgrade() -> None:
    op.drop_table("sync_drift")
