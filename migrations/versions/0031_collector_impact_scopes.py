"""Collector: the newest impact assessment of each scope, kept as assessments arrive, so
the console reads what is at risk now without grouping every assessment ever made;
backfilled from the assessments stored.

Revision ID: 0031
Revises: 0019
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0019"
branch_labels = None
depends_on = None

COLUMNS = (
    "event_seq",
    "eco",
    "plant",
    "item",
    "superseded_revision",
    "purchase_orders",
    "purchase_value",
    "earliest_due",
    "production_orders",
    "production_quantity",
    "earliest_start",
    "read_at",
)


def upgrade() -> None:
    op.create_table(
        "impact_scopes",
        sa.Column("scope_eco", sa.String(100), nullable=False),
        sa.Column("scope_plant", sa.String(100), nullable=False),
        sa.Column("scope_item", sa.String(100), nullable=False),
        sa.Column("event_seq", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("eco", sa.String(100)),
        sa.Column("plant", sa.String(100)),
        sa.Column("item", sa.String(100)),
        sa.Column("superseded_revision", sa.String(40)),
        sa.Column("purchase_orders", sa.Integer(), nullable=False),
        sa.Column("purchase_value", sa.Float(), nullable=False),
        sa.Column("earliest_due", sa.Date()),
        sa.Column("production_orders", sa.Integer(), nullable=False),
        sa.Column("production_quantity", sa.Float(), nullable=False),
        sa.Column("earliest_start", sa.Date()),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "scope_eco", "scope_plant", "scope_item", name=op.f("pk_impact_scopes")
        ),
    )
    columns = ", ".join(COLUMNS)
    scope = "COALESCE(eco, ''), COALESCE(plant, ''), COALESCE(item, '')"
    op.execute(
        f"INSERT INTO impact_scopes (scope_eco, scope_plant, scope_item, {columns}) "
        f"SELECT {scope}, {columns} FROM impact_assessments WHERE event_seq IN "
        f"(SELECT max(event_seq) FROM impact_assessments GROUP BY {scope})"
    )


def downgrade() -> None:
    op.drop_table("impact_scopes")
