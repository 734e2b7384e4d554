"""Collector: plant revisions keep when ERP and MES last confirmed them and every target.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from threadline.db import JSONDoc

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("plant_revisions") as batch:
        batch.add_column(sa.Column("erp_confirmed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("mes_confirmed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("targets", JSONDoc, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("plant_revisions") as batch:
        batch.drop_column("targets")
        batch.drop_column("mes_confirmed_at")
        batch.drop_column("erp_confirmed_at")
