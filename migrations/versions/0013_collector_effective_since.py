"""Collector: when a withdrawal found its change already effective.

A cancelled ECO's withdrawal step that ERP refused because the change had become
effective records since when; the ECO page lists it as "effective — needs a new ECO to
revert".

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "step_status", sa.Column("effective_since", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("step_status") as batch:
        batch.drop_column("effective_since")
