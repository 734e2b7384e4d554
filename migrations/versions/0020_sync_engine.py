"""Sync engine: ECOs, steps and their dependencies, outbox, dead letters, reconciliation.

Revision ID: 0020
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from threadline.db import JSONDoc

revision = "0020"
down_revision = "0001"
branch_labels = ("sync_engine",)
depends_on = None

AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sync_ecos",
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("plm_status", sa.String(20), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("effectivity", sa.Date(), nullable=True),
        sa.Column("plm_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("production_ready_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("document", JSONDoc, nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_sync_ecos")),
    )
    op.create_table(
        "sync_steps",
        sa.Column("step_id", sa.String(200), nullable=False),
        sa.Column("eco", sa.String(20), nullable=False),
        sa.Column("eco_approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("system", sa.String(20), nullable=False),
        sa.Column("plant", sa.String(40), nullable=True),
        sa.Column("item", sa.String(40), nullable=True),
        sa.Column("revision", sa.String(3), nullable=True),
        sa.Column("supplier", sa.String(40), nullable=True),
        sa.Column("state", sa.String(30), nullable=False),
        sa.Column("attempt", sa.Integer(), server_default="0", nullable=False),
        sa.Column("generation", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_holder", sa.String(200), nullable=True),
        sa.Column("idempotency_key", sa.String(64), nullable=False),
        sa.Column("payload", JSONDoc, nullable=False),
        sa.Column("external_id", sa.String(100), nullable=True),
        sa.Column("external_status", sa.String(40), nullable=True),
        sa.Column("production_version", sa.String(100), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overdue_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error_category", sa.String(20), nullable=True),
        sa.Column("last_error_code", sa.String(100), nullable=True),
        sa.Column("last_error_message", sa.Text(), nullable=True),
        sa.Column("last_error_status", sa.Integer(), nullable=True),
        sa.Column("fingerprint", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["eco"], ["sync_ecos.number"], name=op.f("fk_sync_steps_eco_sync_ecos")
        ),
        sa.PrimaryKeyConstraint("step_id", name=op.f("pk_sync_steps")),
    )
    op.create_index(op.f("ix_sync_steps_eco"), "sync_steps", ["eco"])
    op.create_index(op.f("ix_sync_steps_item"), "sync_steps", ["item"])
    op.create_index(op.f("ix_sync_steps_fingerprint"), "sync_steps", ["fingerprint"])
    op.create_index(
        "ix_sync_steps_state_next_attempt_at", "sync_steps", ["state", "next_attempt_at"]
    )
    op.create_index("ix_sync_steps_item_kind_plant", "sync_steps", ["item", "kind", "plant"])
    op.create_table(
        "sync_step_dependencies",
        sa.Column("step_id", sa.String(200), nullable=False),
        sa.Column("depends_on", sa.String(200), nullable=False),
        sa.ForeignKeyConstraint(
            ["step_id"],
            ["sync_steps.step_id"],
            name=op.f("fk_sync_step_dependencies_step_id_sync_steps"),
        ),
        sa.ForeignKeyConstraint(
            ["depends_on"],
            ["sync_steps.step_id"],
            name=op.f("fk_sync_step_dependencies_depends_on_sync_steps"),
        ),
        sa.PrimaryKeyConstraint("step_id", "depends_on", name=op.f("pk_sync_step_dependencies")),
    )
    op.create_index(
        op.f("ix_sync_step_dependencies_depends_on"), "sync_step_dependencies", ["depends_on"]
    )
    op.create_table(
        "sync_outbox",
        sa.Column("id", AutoId, autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("subject", sa.String(200), nullable=True),
        sa.Column("event", JSONDoc, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_outbox")),
        sa.UniqueConstraint("event_id", name=op.f("uq_sync_outbox_event_id")),
    )
    op.create_table(
        "sync_dead_letters",
        sa.Column("id", AutoId, autoincrement=True, nullable=False),
        sa.Column("step_id", sa.String(200), nullable=False),
        sa.Column("eco", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(20), nullable=False),
        sa.Column("code", sa.String(100), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("request", JSONDoc, nullable=False),
        sa.Column("response", JSONDoc, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_dead_letters")),
    )
    op.create_index(op.f("ix_sync_dead_letters_step_id"), "sync_dead_letters", ["step_id"])
    op.create_table(
        "sync_plant_revisions",
        sa.Column("plant", sa.String(40), nullable=False),
        sa.Column("item", sa.String(40), nullable=False),
        sa.Column("erp_revision", sa.String(3), nullable=True),
        sa.Column("mes_revision", sa.String(3), nullable=True),
        sa.Column("last_exception", sa.String(200), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("plant", "item", name=op.f("pk_sync_plant_revisions")),
    )
    op.create_table(
        "sync_cursors",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("value", sa.String(400), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sync_cursors")),
    )


def downgrade() -> None:
    op.drop_table("sync_cursors")
    op.drop_table("sync_plant_revisions")
    op.drop_index(op.f("ix_sync_dead_letters_step_id"), table_name="sync_dead_letters")
    op.drop_table("sync_dead_letters")
    op.drop_table("sync_outbox")
    op.drop_index(op.f("ix_sync_step_dependencies_depends_on"), table_name="sync_step_dependencies")
    op.drop_table("sync_step_dependencies")
    op.drop_index("ix_sync_steps_item_kind_plant", table_name="sync_steps")
    op.drop_index("ix_sync_steps_state_next_attempt_at", table_name="sync_steps")
    op.drop_index(op.f("ix_sync_steps_fingerprint"), table_name="sync_steps")
    op.drop_index(op.f("ix_sync_steps_item"), table_name="sync_steps")
    op.drop_index(op.f("ix_sync_steps_eco"), table_name="sync_steps")
    op.drop_table("sync_steps")
