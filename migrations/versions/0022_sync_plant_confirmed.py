"""Sync engine: when each plant revision was last confirmed by ERP and by MES.

Revision ID: 0022
Revises: 0020
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_plant_revisions") as batch:
        batch.add_column(sa.Column("erp_confirmed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("mes_confirmed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_plant_revisions") as batch:
        batch.drop_column("mes_confirmed_at")
        batch.drop_column("erp_confirmed_at")
