"""Collector: the drift read model and when each plant was last reconciled.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "drift",
        sa.Column("plant", sa.String(100), nullable=False),
        sa.Column("item", sa.String(100), nullable=False),
        sa.Column("open", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("plm_revision", sa.String(40), nullable=True),
        sa.Column("erp_revision", sa.String(40), nullable=True),
        sa.Column("mes_revision", sa.String(40), nullable=True),
        sa.Column("expected_revision", sa.String(40), nullable=True),
        sa.Column("eco", sa.String(100), nullable=True),
        sa.Column("eco_state", sa.String(40), nullable=True),
        sa.Column("cause", sa.String(40), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("since", TS, nullable=True),
        sa.Column("detected_at", TS, nullable=True),
        sa.Column("resolved_at", TS, nullable=True),
        sa.Column("last_key", sa.String(120), nullable=True),
        sa.PrimaryKeyConstraint("plant", "item", name=op.f("pk_drift")),
    )
    op.create_index(op.f("ix_drift_open"), "drift", ["open", "plant", "since"])
    op.create_index(op.f("ix_drift_eco"), "drift", ["eco"])
    op.create_table(
        "reconciliations",
        sa.Column("plant", sa.String(100), nullable=False),
        sa.Column("reconciled_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("plant", name=op.f("pk_reconciliations")),
    )


def downgrade() -> None:
    op.drop_table("reconciliations")
    op.drop_index(op.f("ix_drift_eco"), table_name="drift")
    op.drop_index(op.f("ix_drift_open"), table_name="drift")
    op.drop_table("drift")
