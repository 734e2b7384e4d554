"""Sync engine: which SLA stage each step and ECO is in, since when, and the family.

The engine's SLA sweep remembers the stage it last saw a step (or an ECO) in and when
that stage began, so it reports the work overdue once when it passes its due time and
resolved once when it leaves the stage. An ECO's product family picks its SLA overrides.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("sync_steps", sa.Column("sla_stage", sa.String(40), nullable=True))
    op.add_column("sync_steps", sa.Column("sla_since", TS, nullable=True))
    op.add_column("sync_ecos", sa.Column("product_family", sa.String(100), nullable=True))
    op.add_column("sync_ecos", sa.Column("sla_stage", sa.String(40), nullable=True))
    op.add_column("sync_ecos", sa.Column("overdue_at", TS, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_ecos") as batch:
        batch.drop_column("overdue_at")
        batch.drop_column("sla_stage")
        batch.drop_column("product_family")
    with op.batch_alter_table("sync_steps") as batch:
        batch.drop_column("sla_since")
        batch.drop_column("sla_stage")
