"""Collector: work past its SLA, per step and per ECO.

The engine reports a step or an ECO overdue when it passes its stage's due time and
resolved when it leaves the stage; the read models keep the open report, so the console
counts overdue work by stage and lists exactly those rows.

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0014"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _report_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("sla_stage", sa.String(40), nullable=True),
        sa.Column("overdue_since", TS, nullable=True),
        sa.Column("overdue_due_at", TS, nullable=True),
        sa.Column("overdue_open", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("overdue_key", sa.String(120), nullable=True),
    ]


def upgrade() -> None:
    for column in _report_columns():
        op.add_column("step_status", column)
    op.add_column(
        "eco_status", sa.Column("overdue", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.add_column("eco_status", sa.Column("overdue_reported_at", TS, nullable=True))
    for column in _report_columns():
        op.add_column("eco_status", column)
    op.create_index(op.f("ix_step_status_overdue"), "step_status", ["overdue", "sla_stage"])
    op.create_index(op.f("ix_eco_status_overdue"), "eco_status", ["overdue", "sla_stage"])


def downgrade() -> None:
    op.drop_index(op.f("ix_eco_status_overdue"), table_name="eco_status")
    op.drop_index(op.f("ix_step_status_overdue"), table_name="step_status")
    names = [column.name for column in _report_columns()]
    with op.batch_alter_table("eco_status") as batch:
        for name in [*names, "overdue_reported_at", "overdue"]:
            batch.drop_column(name)
    with op.batch_alter_table("step_status") as batch:
        for name in names:
            batch.drop_column(name)
