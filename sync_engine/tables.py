"""The sync engine's tables (SQLAlchemy Core). Only :mod:`sync_engine.store` queries them.

- ``sync_ecos``: every ECO read from PLM, its approval order and where it stands.
- ``sync_steps``: one row per planned step (interfaces C step id) with its state, attempt,
  lease and last error; ``eco_approved_at`` orders ECOs that touch the same item.
- ``sync_step_dependencies``: which steps a step waits for.
- ``sync_outbox``: every CloudEvent the engine emits, written in the transaction that made
  the change; the autoincrement ``id`` is the event's ``sequence``; ``delivered_at`` is set
  once the collector acknowledged it.
- ``sync_dead_letters``: the last call of each step that stopped for a person (failed for
  good, or blocked by a business rejection): request and response, credentials removed.
- ``sync_plant_revisions``: what the engine last recorded of each plant's item revision
  in ERP and MES (from its step outcomes and reconciliation reads) and when each was last
  confirmed.
- ``sync_drift``: the (plant, item) pairs reconciliation last found drifting, with what
  it reported, so each drift is reported once and its resolution is noticed.
- ``sync_cursors``: small named positions (the PLM poll's ``updated_since``).
- ``sync_heartbeats``: one row per running engine process, touched every few seconds, so
  the console can tell when no engine is alive.
- ``sync_problems``: what people said about an inbox problem (acknowledged by whom,
  assignee, notes) and when it resolved.
- ``sync_operations`` and ``sync_operation_steps``: every operator action as an
  operation, the steps it acted on and how each ended.
- ``sync_supplier_duplicates``: the duplicate supplier records reconciliation last found
  between procurement's and ERP's supplier masters, so each is reported once and its end
  is noticed.
- ``sync_impact``: the open orders each stuck ECO (or plant behind) last put at risk, so an
  unchanged exposure is reported once and its end is noticed.
"""

from __future__ import annotations

import sqlalchemy as sa

from threadline.db import JSONDoc, UTCDateTime, metadata

AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
"""A 64-bit autoincrement key; SQLite only autoincrements an INTEGER PRIMARY KEY."""

ecos = sa.Table(
    "sync_ecos",
    metadata,
    sa.Column("number", sa.String(20), primary_key=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("plm_status", sa.String(20), nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("approved_at", UTCDateTime(), nullable=True),
    sa.Column("effectivity", sa.Date(), nullable=True),
    sa.Column("plm_updated_at", UTCDateTime(), nullable=True),
    sa.Column("received_at", UTCDateTime(), nullable=False),
    sa.Column("first_confirmed_at", UTCDateTime(), nullable=True),
    sa.Column("production_ready_at", UTCDateTime(), nullable=True),
    sa.Column("cancelled_at", UTCDateTime(), nullable=True),
    sa.Column("document", JSONDoc, nullable=False),
    # The first affected item's product family: it picks the ECO's SLA overrides.
    sa.Column("product_family", sa.String(100), nullable=True),
    # The SLA stage the sweep last saw the ECO in (contracts.sla.Stage) and when it was
    # reported overdue in it (null: not overdue).
    sa.Column("sla_stage", sa.String(40), nullable=True),
    sa.Column("overdue_at", UTCDateTime(), nullable=True),
    # The W3C traceparent of the ECO's trace root, recorded when the ECO was received.
    sa.Column("traceparent", sa.String(55), nullable=True),
)

steps = sa.Table(
    "sync_steps",
    metadata,
    sa.Column("step_id", sa.String(200), primary_key=True),
    sa.Column("eco", sa.String(20), sa.ForeignKey("sync_ecos.number"), nullable=False, index=True),
    sa.Column("eco_approved_at", UTCDateTime(), nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("system", sa.String(20), nullable=False),
    sa.Column("plant", sa.String(40), nullable=True),
    sa.Column("item", sa.String(40), nullable=True, index=True),
    sa.Column("revision", sa.String(3), nullable=True),
    sa.Column("supplier", sa.String(40), nullable=True),
    sa.Column("state", sa.String(30), nullable=False),
    sa.Column("attempt", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("generation", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
    sa.Column("lease_until", UTCDateTime(), nullable=True),
    sa.Column("lease_holder", sa.String(200), nullable=True),
    sa.Column("idempotency_key", sa.String(64), nullable=False),
    sa.Column("payload", JSONDoc, nullable=False),
    sa.Column("external_id", sa.String(100), nullable=True),
    sa.Column("external_status", sa.String(40), nullable=True),
    sa.Column("production_version", sa.String(100), nullable=True),
    sa.Column("requested_at", UTCDateTime(), nullable=True),
    # When the step was reported overdue in its SLA stage (null: not overdue).
    sa.Column("overdue_at", UTCDateTime(), nullable=True),
    # The SLA stage the sweep last saw the step in (contracts.sla.Stage) and since when.
    sa.Column("sla_stage", sa.String(40), nullable=True),
    sa.Column("sla_since", UTCDateTime(), nullable=True),
    sa.Column("last_error_category", sa.String(20), nullable=True),
    sa.Column("last_error_code", sa.String(100), nullable=True),
    sa.Column("last_error_message", sa.Text(), nullable=True),
    sa.Column("last_error_status", sa.Integer(), nullable=True),
    sa.Column("fingerprint", sa.String(200), nullable=True, index=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    # The ECO's trace root (as on sync_ecos), so a claimed step's span needs no join.
    sa.Column("traceparent", sa.String(55), nullable=True),
    sa.Index("ix_sync_steps_state_next_attempt_at", "state", "next_attempt_at"),
    # Ordering: an earlier ECO's open step of the same kind on the same item.
    sa.Index("ix_sync_steps_item_kind_plant", "item", "kind", "plant"),
)

step_dependencies = sa.Table(
    "sync_step_dependencies",
    metadata,
    sa.Column("step_id", sa.String(200), sa.ForeignKey("sync_steps.step_id"), primary_key=True),
    sa.Column(
        "depends_on",
        sa.String(200),
        sa.ForeignKey("sync_steps.step_id"),
        primary_key=True,
        index=True,
    ),
)

outbox = sa.Table(
    "sync_outbox",
    metadata,
    sa.Column("id", AutoId, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(64), nullable=False, unique=True),
    sa.Column("type", sa.String(100), nullable=False),
    sa.Column("subject", sa.String(200), nullable=True),
    sa.Column("event", JSONDoc, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("delivered_at", UTCDateTime(), nullable=True),
    # The relay's and the console's "oldest undelivered" read only the rows still waiting.
    sa.Index(
        "ix_sync_outbox_undelivered",
        "id",
        postgresql_where=sa.text("delivered_at IS NULL"),
        sqlite_where=sa.text("delivered_at IS NULL"),
    ),
)

dead_letters = sa.Table(
    "sync_dead_letters",
    metadata,
    sa.Column("id", AutoId, primary_key=True, autoincrement=True),
    sa.Column("step_id", sa.String(200), nullable=False, index=True),
    sa.Column("eco", sa.String(20), nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("attempt", sa.Integer(), nullable=False),
    sa.Column("category", sa.String(20), nullable=False),
    sa.Column("code", sa.String(100), nullable=False),
    sa.Column("message", sa.Text(), nullable=False),
    sa.Column("request", JSONDoc, nullable=False),
    sa.Column("response", JSONDoc, nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

plant_revisions = sa.Table(
    "sync_plant_revisions",
    metadata,
    sa.Column("plant", sa.String(40), primary_key=True),
    sa.Column("item", sa.String(40), primary_key=True),
    sa.Column("erp_revision", sa.String(3), nullable=True),
    sa.Column("mes_revision", sa.String(3), nullable=True),
    sa.Column("last_exception", sa.String(200), nullable=True),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    # When ERP / MES last reported (a step outcome or a reconciliation read) that revision.
    sa.Column("erp_confirmed_at", UTCDateTime(), nullable=True),
    sa.Column("mes_confirmed_at", UTCDateTime(), nullable=True),
)

drift = sa.Table(
    "sync_drift",
    metadata,
    sa.Column("plant", sa.String(40), primary_key=True),
    sa.Column("item", sa.String(40), primary_key=True),
    # What the last drift_detected event said, so the same drift is reported once.
    sa.Column("fingerprint", sa.String(300), nullable=False),
    sa.Column("plm_revision", sa.String(3), nullable=True),
    sa.Column("erp_revision", sa.String(3), nullable=True),
    sa.Column("mes_revision", sa.String(3), nullable=True),
    sa.Column("expected_revision", sa.String(3), nullable=True),
    sa.Column("eco", sa.String(20), nullable=True),
    sa.Column("eco_state", sa.String(40), nullable=True),
    sa.Column("cause", sa.String(20), nullable=False),
    sa.Column("detail", sa.String(500), nullable=False),
    sa.Column("since", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

cursors = sa.Table(
    "sync_cursors",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("value", sa.String(400), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

heartbeats = sa.Table(
    "sync_heartbeats",
    metadata,
    sa.Column("holder", sa.String(200), primary_key=True),
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("seen_at", UTCDateTime(), nullable=False),
)

problems = sa.Table(
    "sync_problems",
    metadata,
    # "step:<step id>", "eco:<number>" or "drift:<plant>/<item>" (dashboards.inbox).
    sa.Column("key", sa.String(300), primary_key=True),
    sa.Column("status", sa.String(20), nullable=False, index=True),
    sa.Column("acknowledged_by", sa.String(200), nullable=True),
    sa.Column("acknowledged_at", UTCDateTime(), nullable=True),
    sa.Column("assignee", sa.String(200), nullable=True),
    sa.Column("notes", JSONDoc, nullable=False),
    sa.Column("resolved_at", UTCDateTime(), nullable=True),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

operations = sa.Table(
    "sync_operations",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("action", sa.String(30), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("role", sa.String(40), nullable=True),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("status", sa.String(20), nullable=False, index=True),
    sa.Column("summary", sa.String(1000), nullable=True),
    sa.Column("filter", JSONDoc, nullable=True),
    # Steps the action was asked about but did not touch, each with why.
    sa.Column("left_out", JSONDoc, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("finished_at", UTCDateTime(), nullable=True),
)

operation_steps = sa.Table(
    "sync_operation_steps",
    metadata,
    sa.Column("operation_id", sa.String(40), sa.ForeignKey("sync_operations.id"), primary_key=True),
    sa.Column("step_id", sa.String(200), primary_key=True),
    # The state the step settled in after the action (None while it is on its way).
    sa.Column("outcome", sa.String(30), nullable=True),
    sa.Column("code", sa.String(100), nullable=True),
    sa.Column("settled_at", UTCDateTime(), nullable=True),
)

supplier_duplicates = sa.Table(
    "sync_supplier_duplicates",
    metadata,
    sa.Column("kind", sa.String(20), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    # What the last supplier.records_duplicated event said, so it is reported once.
    sa.Column("fingerprint", sa.String(500), nullable=False),
    sa.Column("since", UTCDateTime(), nullable=False),
)

impact = sa.Table(
    "sync_impact",
    metadata,
    # One row per scope last assessed with something at risk: an ECO at a plant for an
    # item ("-" for no ECO: a (plant, item) behind that no ECO of Threadline's explains).
    sa.Column("eco", sa.String(20), primary_key=True),
    sa.Column("plant", sa.String(40), primary_key=True),
    sa.Column("item", sa.String(40), primary_key=True),
    # What the last eco.impact_assessed event said, so an unchanged exposure is not repeated.
    sa.Column("fingerprint", sa.String(300), nullable=False),
    sa.Column("read_at", UTCDateTime(), nullable=False),
)
