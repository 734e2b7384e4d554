"""Sync engine: the inbox's problem statuses, and operator operations followed to their end.

``sync_problems`` holds what people said about a problem (acknowledged by whom, assignee,
notes) and when it was resolved; ``sync_operations`` one row per operator action, with
``sync_operation_steps`` the steps it acted on and how each ended.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from threadline.db import JSONDoc

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_problems",
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("acknowledged_by", sa.String(200), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("assignee", sa.String(200), nullable=True),
        sa.Column("notes", JSONDoc, nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sync_problems")),
    )
    op.create_index("ix_sync_problems_status", "sync_problems", ["status"])
    op.create_table(
        "sync_operations",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("role", sa.String(40), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("summary", sa.String(1000), nullable=True),
        sa.Column("filter", JSONDoc, nullable=True),
        sa.Column("left_out", JSONDoc, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_operations")),
    )
    op.create_index("ix_sync_operations_status", "sync_operations", ["status"])
    op.create_table(
        "sync_operation_steps",
        sa.Column("operation_id", sa.String(40), nullable=False),
        sa.Column("step_id", sa.String(200), nullable=False),
        sa.Column("outcome", sa.String(30), nullable=True),
        sa.Column("code", sa.String(100), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["operation_id"],
            ["sync_operations.id"],
            name=op.f("fk_sync_operation_steps_operation_id_sync_operations"),
        ),
        sa.PrimaryKeyConstraint("operation_id", "step_id", name=op.f("pk_sync_operation_steps")),
    )


def downgrade() -> None:
    op.drop_table("sync_operation_steps")
    op.drop_index("ix_sync_operations_status", table_name="sync_operations")
    op.drop_table("sync_operations")
    op.drop_index("ix_sync_problems_status", table_name="sync_problems")
    op.drop_table("sync_problems")
