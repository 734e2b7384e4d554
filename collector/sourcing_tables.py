"""The purchasing read models: facts kept one row per event, in the order they were stored.

Each fact is recorded once (the events table already refused a repeat) and never changed,
so these tables are order independent by construction; the current picture is the
newest fact per key, chosen by the dashboards' queries. ``event_seq`` ties a row to its
event, and ``threadline collector rebuild`` writes them again from the events.

- ``qualification_facts``: a qualification requested, approved or rejected, per
  (supplier, component, revision);
- ``info_record_activations``: a purchasing info record ERP activated (``plant`` null
  under central sourcing);
- ``supplier_duplicates``: one supplier found under two records in procurement and ERP;
- ``impact_assessments``: what a stuck ECO or a (plant, item) behind puts at risk, as
  read from ERP at ``read_at``.
"""

from __future__ import annotations

import sqlalchemy as sa

from threadline.db import JSONDoc, UTCDateTime, metadata

qualification_facts = sa.Table(
    "qualification_facts",
    metadata,
    sa.Column("event_seq", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("supplier", sa.String(100), nullable=False),
    sa.Column("component", sa.String(100), nullable=False),
    sa.Column("revision", sa.String(40), nullable=False),
    sa.Column("qualification_id", sa.String(200), nullable=False),
    sa.Column("eco", sa.String(100)),
    # requested | qualified | rejected
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("reason", sa.Text()),
    sa.Column("plants", JSONDoc),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Index("ix_qualification_facts_key", "supplier", "component", "revision"),
)

info_record_activations = sa.Table(
    "info_record_activations",
    metadata,
    sa.Column("event_seq", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("eco", sa.String(100), nullable=False),
    sa.Column("supplier", sa.String(100), nullable=False),
    sa.Column("component", sa.String(100), nullable=False),
    sa.Column("revision", sa.String(40), nullable=False),
    sa.Column("plant", sa.String(100)),
    sa.Column("plants", JSONDoc, nullable=False),
    sa.Column("info_record", sa.String(200), nullable=False),
    sa.Column("activated_at", UTCDateTime(), nullable=False),
    sa.Index("ix_info_record_activations_key", "supplier", "component", "revision"),
)

supplier_duplicates = sa.Table(
    "supplier_duplicates",
    metadata,
    sa.Column("event_seq", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("key", sa.String(200), nullable=False),
    sa.Column("codes", JSONDoc, nullable=False),
    sa.Column("names", JSONDoc, nullable=False),
    sa.Column("systems", JSONDoc, nullable=False),
    sa.Column("detail", sa.Text(), nullable=False),
    sa.Column("resolved", sa.Boolean(), nullable=False),
    sa.Column("detected_at", UTCDateTime(), nullable=False),
    sa.Index("ix_supplier_duplicates_key", "kind", "key"),
)

impact_assessments = sa.Table(
    "impact_assessments",
    metadata,
    sa.Column("event_seq", sa.BigInteger(), primary_key=True, autoincrement=False),
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
    sa.Column("read_at", UTCDateTime(), nullable=False),
    sa.Index("ix_impact_assessments_scope", "eco", "plant", "item", "read_at"),
    sa.Index("ix_impact_assessments_read_at", "read_at"),
)

impact_scopes = sa.Table(
    "impact_scopes",
    metadata,
    # The scope (ECO, plant, item), empty for none: the key of the newest assessment.
    sa.Column("scope_eco", sa.String(100), primary_key=True),
    sa.Column("scope_plant", sa.String(100), primary_key=True),
    sa.Column("scope_item", sa.String(100), primary_key=True),
    *(sa.Column(c.name, c.type, nullable=c.nullable) for c in impact_assessments.c),
    # The impact lists show the largest purchase value first: read backwards, the index
    # gives the first page without sorting every scope at risk.
    sa.Index("ix_impact_scopes_purchase_value", "purchase_value"),
)
"""The newest assessment of each scope (the row of ``impact_assessments`` with the highest
``event_seq``): what is at risk now, read without grouping every assessment ever made."""

SOURCING_PROJECTIONS: tuple[sa.Table, ...] = (
    qualification_facts,
    info_record_activations,
    supplier_duplicates,
    impact_assessments,
    impact_scopes,
)
"""The purchasing tables ``threadline collector rebuild`` writes again."""
