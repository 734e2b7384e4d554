"""Sync engine: the root ``traceparent`` of each ECO's trace, kept with the ECO and its steps.

An ECO's trace starts where the engine receives it; every later span of the ECO (a step
attempt in any tick or process) is parented on this root, and every event it emits
carries it.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_ecos") as batch:
        batch.add_column(sa.Column("traceparent", sa.String(55), nullable=True))
    with op.batch_alter_table("sync_steps") as batch:
        batch.add_column(sa.Column("traceparent", sa.String(55), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_steps") as batch:
        batch.drop_column("traceparent")
    with op.batch_alter_table("sync_ecos") as batch:
        batch.drop_column("traceparent")
