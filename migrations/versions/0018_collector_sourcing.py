"""Collector: the purchasing read models (qualifications, info records activated,
duplicate supplier records, business impact), one row per fact.

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from threadline.db import JSONDoc

revision = "0018"
down_revision = "0016"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
SEQ = sa.BigInteger()


def upgrade() -> None:
    op.create_table(
        "qualification_facts",
        sa.Column("event_seq", SEQ, autoincrement=False, nullable=False),
        sa.Column("supplier", sa.String(100), nullable=False),
        sa.Column("component", sa.String(100), nullable=False),
        sa.Column("revision", sa.String(40), nullable=False),
        sa.Column("qualification_id", sa.String(200), nullable=False),
        sa.Column("eco", sa.String(100), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("plants", JSONDoc, nullable=True),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("event_seq", name=op.f("pk_qualification_facts")),
    )
    op.create_index(
        "ix_qualification_facts_key",
        "qualification_facts",
        ["supplier", "component", "revision"],
    )
    op.create_table(
        "info_record_activations",
        sa.Column("event_seq", SEQ, autoincrement=False, nullable=False),
        sa.Column("eco", sa.String(100), nullable=False),
        sa.Column("supplier", sa.String(100), nullable=False),
        sa.Column("component", sa.String(100), nullable=False),
        sa.Column("revision", sa.String(40), nullable=False),
        sa.Column("plant", sa.String(100), nullable=True),
        sa.Column("plants", JSONDoc, nullable=False),
        sa.Column("info_record", sa.String(200), nullable=False),
        sa.Column("activated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("event_seq", name=op.f("pk_info_record_activations")),
    )
    op.create_index(
        "ix_info_record_activations_key",
        "info_record_activations",
        ["supplier", "component", "revision"],
    )
    op.create_table(
        "supplier_duplicates",
        sa.Column("event_seq", SEQ, autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("codes", JSONDoc, nullable=False),
        sa.Column("names", JSONDoc, nullable=False),
        sa.Column("systems", JSONDoc, nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("resolved", sa.Boolean(), nullable=False),
        sa.Column("detected_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("event_seq", name=op.f("pk_supplier_duplicates")),
    )
    op.create_index("ix_supplier_duplicates_key", "supplier_duplicates", ["kind", "key"])
    op.create_table(
        "impact_assessments",
        sa.Column("event_seq", SEQ, autoincrement=False, nullable=False),
        sa.Column("eco", sa.String(100), nullable=True),
        sa.Column("plant", sa.String(100), nullable=True),
        sa.Column("item", sa.String(100), nullable=True),
        sa.Column("superseded_revision", sa.String(40), nullable=True),
        sa.Column("purchase_orders", sa.Integer(), nullable=False),
        sa.Column("purchase_value", sa.Float(), nullable=False),
        sa.Column("earliest_due", sa.Date(), nullable=True),
        sa.Column("production_orders", sa.Integer(), nullable=False),
        sa.Column("production_quantity", sa.Float(), nullable=False),
        sa.Column("earliest_start", sa.Date(), nullable=True),
        sa.Column("read_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("event_seq", name=op.f("pk_impact_assessments")),
    )
    op.create_index(
        "ix_impact_assessments_scope", "impact_assessments", ["eco", "plant", "item", "read_at"]
    )
    op.create_index("ix_impact_assessments_read_at", "impact_assessments", ["read_at"])


def downgrade() -> None:
    for table in (
        "impact_assessments",
        "supplier_duplicates",
        "info_record_activations",
        "qualification_facts",
    ):
        op.drop_table(table)
