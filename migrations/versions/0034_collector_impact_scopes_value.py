"""Collector: impact scopes indexed by purchase value, so the largest at risk (the impact
lists' first page) are read from the top of the index instead of sorting every scope.

Revision ID: 0034
Revises: 0031
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0034"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f("ix_impact_scopes_purchase_value"), "impact_scopes", ["purchase_value"])


def downgrade() -> None:
    op.drop_index(op.f("ix_impact_scopes_purchase_value"), table_name="impact_scopes")
