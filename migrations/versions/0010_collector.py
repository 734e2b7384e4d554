"""Collector: the append-only events table and the projections the console reads.

Revision ID: 0010
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from threadline.db import JSONDoc

revision = "0010"
down_revision = "0001"
branch_labels = ("collector",)
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("source", sa.String(512), nullable=False),
        sa.Column("id", sa.String(512), nullable=False),
        sa.Column("type", sa.String(512), nullable=False),
        sa.Column("subject", sa.String(512), nullable=True),
        sa.Column("time", TS, nullable=True),
        sa.Column("datacontenttype", sa.String(512), nullable=True),
        sa.Column("dataschema", sa.Text(), nullable=True),
        sa.Column("correlationid", sa.String(512), nullable=True),
        sa.Column("causationid", sa.String(512), nullable=True),
        sa.Column("traceparent", sa.String(512), nullable=True),
        sa.Column("sequence", sa.String(512), nullable=True),
        sa.Column("data", JSONDoc, nullable=True),
        sa.Column("data_base64", sa.Text(), nullable=True),
        sa.Column("extensions", JSONDoc, nullable=True),
        sa.Column("producer", sa.String(100), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_events")),
        sa.UniqueConstraint("source", "id", name=op.f("uq_events_source_id")),
    )
    op.create_index(op.f("ix_events_correlationid"), "events", ["correlationid", "seq"])
    op.create_index(op.f("ix_events_subject"), "events", ["subject", "seq"])
    op.create_index(op.f("ix_events_type"), "events", ["type", "seq"])
    op.create_index(op.f("ix_events_time"), "events", ["time"])

    op.create_table(
        "eco_status",
        sa.Column("eco", sa.String(100), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("state", sa.String(40), nullable=False),
        sa.Column("approved_at", TS, nullable=True),
        sa.Column("effectivity", sa.Date(), nullable=True),
        sa.Column("product_family", sa.String(100), nullable=True),
        sa.Column("plants_total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("plants_done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("steps_total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("blocked_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("failed_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("erp_confirmed_at", TS, nullable=True),
        sa.Column("production_ready_at", TS, nullable=True),
        sa.Column("cycle_time_seconds", sa.Float(), nullable=True),
        sa.Column("cancelled_at", TS, nullable=True),
        sa.Column("rejected_at", TS, nullable=True),
        sa.Column("state_reason", sa.Text(), nullable=True),
        sa.Column("last_event_at", TS, nullable=True),
        sa.Column("last_event_seq", sa.BigInteger(), nullable=True),
        sa.Column("received_key", sa.String(120), nullable=True),
        sa.Column("terminal_key", sa.String(120), nullable=True),
        sa.Column("terminal_state", sa.String(40), nullable=True),
        sa.Column("last_event_key", sa.String(120), nullable=True),
        sa.PrimaryKeyConstraint("eco", name=op.f("pk_eco_status")),
    )
    op.create_index(op.f("ix_eco_status_state"), "eco_status", ["state", "last_event_at"])
    op.create_index(op.f("ix_eco_status_last_event_at"), "eco_status", ["last_event_at"])
    op.create_index(op.f("ix_eco_status_approved_at"), "eco_status", ["approved_at"])
    op.create_index(
        op.f("ix_eco_status_production_ready_at"), "eco_status", ["production_ready_at"]
    )
    op.create_index(
        op.f("ix_eco_status_product_family"),
        "eco_status",
        ["product_family", "production_ready_at"],
    )

    op.create_table(
        "eco_plants",
        sa.Column("eco", sa.String(100), nullable=False),
        sa.Column("plant", sa.String(100), nullable=False),
        sa.Column("state", sa.String(40), nullable=False),
        sa.Column("steps_total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("steps_done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("erp_confirmed_at", TS, nullable=True),
        sa.Column("production_ready_at", TS, nullable=True),
        sa.Column("blocked_reason", sa.Text(), nullable=True),
        sa.Column("updated_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("eco", "plant", name=op.f("pk_eco_plants")),
    )
    op.create_index(op.f("ix_eco_plants_plant"), "eco_plants", ["plant", "state"])
    op.create_index(
        op.f("ix_eco_plants_production_ready_at"), "eco_plants", ["production_ready_at"]
    )

    op.create_table(
        "step_status",
        sa.Column("step_id", sa.String(512), nullable=False),
        sa.Column("eco", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(60), nullable=False),
        sa.Column("system", sa.String(40), nullable=False),
        sa.Column("plant", sa.String(100), nullable=True),
        sa.Column("item", sa.String(100), nullable=True),
        sa.Column("revision", sa.String(40), nullable=True),
        sa.Column("supplier", sa.String(100), nullable=True),
        sa.Column("state", sa.String(40), nullable=False),
        sa.Column("attempt", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error_code", sa.String(200), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("error_category", sa.String(40), nullable=True),
        sa.Column("fingerprint", sa.String(200), nullable=True),
        sa.Column("next_attempt_at", TS, nullable=True),
        sa.Column("state_since", TS, nullable=True),
        sa.Column("requested_at", TS, nullable=True),
        sa.Column("sla_due_at", TS, nullable=True),
        sa.Column("overdue", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("overdue_reported_at", TS, nullable=True),
        sa.Column("last_event_at", TS, nullable=True),
        sa.Column("last_event_seq", sa.BigInteger(), nullable=True),
        sa.Column("last_event_key", sa.String(120), nullable=True),
        sa.PrimaryKeyConstraint("step_id", name=op.f("pk_step_status")),
    )
    op.create_index(op.f("ix_step_status_eco"), "step_status", ["eco", "plant"])
    op.create_index(op.f("ix_step_status_state"), "step_status", ["state", "state_since"])
    op.create_index(op.f("ix_step_status_fingerprint"), "step_status", ["fingerprint", "state"])
    op.create_index(op.f("ix_step_status_plant"), "step_status", ["plant", "state"])
    op.create_index(op.f("ix_step_status_sla_due_at"), "step_status", ["sla_due_at"])

    op.create_table(
        "plant_revisions",
        sa.Column("plant", sa.String(100), nullable=False),
        sa.Column("item", sa.String(100), nullable=False),
        sa.Column("current_revision", sa.String(40), nullable=True),
        sa.Column("mes_revision", sa.String(40), nullable=True),
        sa.Column("target_revision", sa.String(40), nullable=True),
        sa.Column("target_eco", sa.String(100), nullable=True),
        sa.Column("target_effective", sa.Date(), nullable=True),
        sa.Column("product_family", sa.String(100), nullable=True),
        sa.Column("behind", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("updated_at", TS, nullable=True),
        sa.Column("current_key", sa.String(120), nullable=True),
        sa.Column("mes_key", sa.String(120), nullable=True),
        sa.Column("target_key", sa.String(120), nullable=True),
        sa.PrimaryKeyConstraint("plant", "item", name=op.f("pk_plant_revisions")),
    )
    op.create_index(op.f("ix_plant_revisions_behind"), "plant_revisions", ["behind", "plant"])
    op.create_index(op.f("ix_plant_revisions_target_eco"), "plant_revisions", ["target_eco"])

    op.create_table(
        "supplier_notices",
        sa.Column("eco", sa.String(100), nullable=False),
        sa.Column("supplier", sa.String(100), nullable=False),
        sa.Column("step_id", sa.String(512), nullable=True),
        sa.Column("status", sa.String(40), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_retry_at", TS, nullable=True),
        sa.Column("notice_id", sa.String(200), nullable=True),
        sa.Column("updated_at", TS, nullable=True),
        sa.Column("last_event_key", sa.String(120), nullable=True),
        sa.PrimaryKeyConstraint("eco", "supplier", name=op.f("pk_supplier_notices")),
    )
    op.create_index(
        op.f("ix_supplier_notices_status"), "supplier_notices", ["status", "updated_at"]
    )
    op.create_index(
        op.f("ix_supplier_notices_supplier"), "supplier_notices", ["supplier", "updated_at"]
    )

    op.create_table(
        "operator_actions",
        sa.Column("event_seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("role", sa.String(100), nullable=True),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("eco", sa.String(100), nullable=True),
        sa.Column("step_ids", JSONDoc, nullable=True),
        sa.Column("filter", JSONDoc, nullable=True),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("outcome", sa.String(200), nullable=False),
        sa.Column("affected", sa.Integer(), server_default="0", nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("event_seq", name=op.f("pk_operator_actions")),
    )
    op.create_index(op.f("ix_operator_actions_at"), "operator_actions", ["at"])
    op.create_index(op.f("ix_operator_actions_eco"), "operator_actions", ["eco", "at"])
    op.create_index(op.f("ix_operator_actions_actor"), "operator_actions", ["actor", "at"])


def downgrade() -> None:
    for table in (
        "operator_actions",
        "supplier_notices",
        "plant_revisions",
        "step_status",
        "eco_plants",
        "eco_status",
        "events",
    ):
        op.drop_table(table)
