"""Collector: why a step is in its state.

A step skipped by an operator or by the engine as superseded, or cancelled with its ECO,
carries the reason in its event; the ECO page shows it beside the step.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("step_status", sa.Column("reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("step_status") as batch:
        batch.drop_column("reason")
