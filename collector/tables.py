"""The collector's tables: the append-only event store and the read models built from it.

Only :mod:`collector.store` (and the rebuild, through it) writes these tables; the
dashboards read them. Every projection row is a pure function of the events stored so far,
whatever order they arrived in: a row remembers the *ordering key* of the event that last
set each part of it (``*_key`` columns) and a late event with a smaller key changes nothing.

An ordering key is a string that sorts like ``(event time, sequence extension, global
seq)``: see :func:`collector.projections.order_key`. The global ``seq`` only breaks ties
between events that carry the same time and sequence, and it is stored with the event, so a
rebuild from the events table produces exactly the rows that incremental updates produced.

Indexes follow the console's pages: every list filters on a state or a key and sorts by a
time, paginated, over millions of events.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from collector.sourcing_tables import SOURCING_PROJECTIONS
from threadline.db import JSONDoc, UTCDateTime, metadata

# An attribute short enough for a B-tree key even with multi-byte characters; validation
# refuses longer values with a 422 before they reach the database.
KEY_LENGTH = 512
ORDER_KEY_LENGTH = 120

# SQLite only auto-increments an ``INTEGER PRIMARY KEY``; PostgreSQL gets a 64-bit identity.
SeqType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

events = sa.Table(
    "events",
    metadata,
    sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(KEY_LENGTH), nullable=False),
    sa.Column("id", sa.String(KEY_LENGTH), nullable=False),
    sa.Column("type", sa.String(KEY_LENGTH), nullable=False),
    sa.Column("subject", sa.String(KEY_LENGTH)),
    # Null when the producer sent no time; projections then order by received_at.
    sa.Column("time", UTCDateTime()),
    sa.Column("datacontenttype", sa.String(KEY_LENGTH)),
    sa.Column("dataschema", sa.Text()),
    sa.Column("correlationid", sa.String(KEY_LENGTH)),
    sa.Column("causationid", sa.String(KEY_LENGTH)),
    sa.Column("traceparent", sa.String(KEY_LENGTH)),
    # The producer's per-source ``sequence`` extension (zero-padded so it sorts as text).
    sa.Column("sequence", sa.String(KEY_LENGTH)),
    # The JSON value of ``data``: parsed JSON for JSON media types, a string for text ones.
    sa.Column("data", JSONDoc),
    # Binary ``data`` that is not text, base64-encoded as in the structured JSON format.
    sa.Column("data_base64", sa.Text()),
    # Every extension attribute not given a column above, by name.
    sa.Column("extensions", JSONDoc),
    # The producer name the bearer token maps to (never the token itself).
    sa.Column("producer", sa.String(100), nullable=False),
    sa.Column("received_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("source", "id"),
    sa.Index("ix_events_correlationid", "correlationid", "seq"),
    sa.Index("ix_events_subject", "subject", "seq"),
    sa.Index("ix_events_type", "type", "seq"),
    sa.Index("ix_events_time", "time"),
)
"""Every accepted CloudEvent, once (unique ``source`` + ``id``), in arrival order (``seq``)."""


def sla_report_columns() -> list[sa.Column[Any]]:
    """The engine's latest SLA report on a row: overdue (open) or resolved, and when due."""
    return [
        # contracts.sla.Stage of the latest report.
        sa.Column("sla_stage", sa.String(40)),
        # When that stage began and when it was due.
        sa.Column("overdue_since", UTCDateTime()),
        sa.Column("overdue_due_at", UTCDateTime()),
        # The latest report is an overdue one (not resolved since).
        sa.Column("overdue_open", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("overdue_key", sa.String(ORDER_KEY_LENGTH)),
    ]


eco_status = sa.Table(
    "eco_status",
    metadata,
    sa.Column("eco", sa.String(100), primary_key=True),
    sa.Column("title", sa.Text()),
    # received | in_progress | blocked | awaiting_confirmation | production_ready |
    # cancelled | rejected (see contracts.readmodel.EcoState).
    sa.Column("state", sa.String(40), nullable=False),
    sa.Column("approved_at", UTCDateTime()),
    sa.Column("effectivity", sa.Date()),
    # The product family of the first affected item (for cycle-time reports by family).
    sa.Column("product_family", sa.String(100)),
    sa.Column("plants_total", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("plants_done", sa.Integer(), nullable=False, server_default="0"),
    # How many steps the plan holds, from the received event (0 until it arrives).
    sa.Column("steps_total", sa.Integer(), nullable=False, server_default="0"),
    # Open steps needing a person: blocked (business rejection) and failed (dead letter).
    sa.Column("blocked_count", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("failed_count", sa.Integer(), nullable=False, server_default="0"),
    # The first ERP production-version confirmation of any plant.
    sa.Column("erp_confirmed_at", UTCDateTime()),
    sa.Column("production_ready_at", UTCDateTime()),
    # production_ready_at - approved_at, as the engine reported it.
    sa.Column("cycle_time_seconds", sa.Float()),
    sa.Column("cancelled_at", UTCDateTime()),
    sa.Column("rejected_at", UTCDateTime()),
    # Why the ECO was cancelled (cause and reason) or rejected (the violations).
    sa.Column("state_reason", sa.Text()),
    sa.Column("last_event_at", UTCDateTime()),
    sa.Column("last_event_seq", sa.BigInteger()),
    # Ordering keys: the received event whose facts the row holds, the terminal event
    # (cancelled / rejected / production-ready) that decides the state, the latest event.
    sa.Column("received_key", sa.String(ORDER_KEY_LENGTH)),
    sa.Column("terminal_key", sa.String(ORDER_KEY_LENGTH)),
    sa.Column("terminal_state", sa.String(40)),
    sa.Column("last_event_key", sa.String(ORDER_KEY_LENGTH)),
    # Past its SLA (planning, or the whole ECO) and still in flight, as the engine reported.
    sa.Column("overdue", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("overdue_reported_at", UTCDateTime()),
    *sla_report_columns(),
    sa.Index("ix_eco_status_state", "state", "last_event_at"),
    sa.Index("ix_eco_status_last_event_at", "last_event_at"),
    sa.Index("ix_eco_status_approved_at", "approved_at"),
    sa.Index("ix_eco_status_production_ready_at", "production_ready_at"),
    sa.Index("ix_eco_status_product_family", "product_family", "production_ready_at"),
    sa.Index("ix_eco_status_overdue", "overdue", "sla_stage"),
)
"""One row per ECO: where its propagation stands, its milestones and counts."""

eco_plants = sa.Table(
    "eco_plants",
    metadata,
    sa.Column("eco", sa.String(100), primary_key=True),
    sa.Column("plant", sa.String(100), primary_key=True),
    # waiting | in_progress | awaiting_confirmation | blocked | failed | production_ready |
    # cancelled (see contracts.readmodel.PlantState).
    sa.Column("state", sa.String(40), nullable=False),
    sa.Column("steps_total", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("steps_done", sa.Integer(), nullable=False, server_default="0"),
    # The first ERP production-version confirmation at this plant.
    sa.Column("erp_confirmed_at", UTCDateTime()),
    # When the plant's last step succeeded (null until every one of its steps is done).
    sa.Column("production_ready_at", UTCDateTime()),
    # The error message of a blocked or failed step of this plant.
    sa.Column("blocked_reason", sa.Text()),
    sa.Column("updated_at", UTCDateTime()),
    sa.Index("ix_eco_plants_plant", "plant", "state"),
    sa.Index("ix_eco_plants_production_ready_at", "production_ready_at"),
)
"""One row per (ECO, plant): how far that plant is."""

step_status = sa.Table(
    "step_status",
    metadata,
    sa.Column("step_id", sa.String(KEY_LENGTH), primary_key=True),
    sa.Column("eco", sa.String(100), nullable=False),
    sa.Column("kind", sa.String(60), nullable=False),
    sa.Column("system", sa.String(40), nullable=False),
    sa.Column("plant", sa.String(100)),
    sa.Column("item", sa.String(100)),
    sa.Column("revision", sa.String(40)),
    sa.Column("supplier", sa.String(100)),
    sa.Column("state", sa.String(40), nullable=False),
    sa.Column("attempt", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("error_code", sa.String(200)),
    sa.Column("error_message", sa.Text()),
    sa.Column("error_category", sa.String(40)),
    # Groups like failures (system, kind and code): the console's failure groups.
    sa.Column("fingerprint", sa.String(200)),
    sa.Column("next_attempt_at", UTCDateTime()),
    # The time of the transition into the current state.
    sa.Column("state_since", UTCDateTime()),
    # Awaiting ERP confirmation since (the latest awaiting_confirmation transition).
    sa.Column("requested_at", UTCDateTime()),
    # requested_at + the plant's confirmation SLA; null for steps without an SLA.
    sa.Column("sla_due_at", UTCDateTime()),
    # The engine reported the step overdue in its current stage (an awaited confirmation,
    # a step due, running, retrying or held too long) and it is still there.
    sa.Column("overdue", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("overdue_reported_at", UTCDateTime()),
    *sla_report_columns(),
    # A withdrawal found its change already effective (since then) and left it in place.
    sa.Column("effective_since", UTCDateTime()),
    # Why it is in its state: a skip (by hand, or superseded) or cancellation reason.
    sa.Column("reason", sa.Text()),
    sa.Column("last_event_at", UTCDateTime()),
    sa.Column("last_event_seq", sa.BigInteger()),
    sa.Column("last_event_key", sa.String(ORDER_KEY_LENGTH)),
    sa.Index("ix_step_status_eco", "eco", "plant"),
    sa.Index("ix_step_status_state", "state", "state_since"),
    sa.Index("ix_step_status_fingerprint", "fingerprint", "state"),
    sa.Index("ix_step_status_plant", "plant", "state"),
    sa.Index("ix_step_status_sla_due_at", "sla_due_at"),
    sa.Index("ix_step_status_overdue", "overdue", "sla_stage"),
)
"""One row per propagation step (``step_id`` as in interfaces C): its latest state.

Failure groups are the indexed query ``GROUP BY fingerprint`` over rows in state failed or
blocked (``ix_step_status_fingerprint``).
"""

plant_revisions = sa.Table(
    "plant_revisions",
    metadata,
    sa.Column("plant", sa.String(100), primary_key=True),
    sa.Column("item", sa.String(100), primary_key=True),
    # The revision ERP uses at the plant, from revision-changed and observed events; set
    # only for pairs the plant uses (ERP reported it), which are the pairs the console counts.
    sa.Column("current_revision", sa.String(40)),
    # The revision MES runs, from revision-changed (system mes) and observed events.
    sa.Column("mes_revision", sa.String(40)),
    # When the event that set each of them happened (ERP / MES last confirmed it).
    sa.Column("erp_confirmed_at", UTCDateTime()),
    sa.Column("mes_confirmed_at", UTCDateTime()),
    # The revision the newest ECO touching this item at this plant moves it to.
    sa.Column("target_revision", sa.String(40)),
    sa.Column("target_eco", sa.String(100)),
    sa.Column("target_effective", sa.Date()),
    # Every ECO received for the pair: {eco: [revision, effectivity ISO date]}; the
    # dashboards pick the newest approved and effective by a given day.
    sa.Column("targets", JSONDoc),
    sa.Column("product_family", sa.String(100)),
    # ERP or MES runs an older revision than some ECO's target: a superset of the pairs
    # behind on any day (the dashboards narrow it to ECOs still approved and effective).
    sa.Column("behind", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("updated_at", UTCDateTime()),
    sa.Column("current_key", sa.String(ORDER_KEY_LENGTH)),
    sa.Column("mes_key", sa.String(ORDER_KEY_LENGTH)),
    sa.Column("target_key", sa.String(ORDER_KEY_LENGTH)),
    sa.Index("ix_plant_revisions_behind", "behind", "plant"),
    sa.Index("ix_plant_revisions_target_eco", "target_eco"),
)
"""One row per (plant, item) an event named: what ERP and MES run against what ECOs target."""

supplier_notices = sa.Table(
    "supplier_notices",
    metadata,
    sa.Column("eco", sa.String(100), primary_key=True),
    sa.Column("supplier", sa.String(100), primary_key=True),
    sa.Column("step_id", sa.String(KEY_LENGTH)),
    # pending | sent | retrying | failed | skipped | cancelled (contracts.readmodel.NoticeStatus)
    sa.Column("status", sa.String(40), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text()),
    sa.Column("next_retry_at", UTCDateTime()),
    sa.Column("notice_id", sa.String(200)),
    sa.Column("updated_at", UTCDateTime()),
    sa.Column("last_event_key", sa.String(ORDER_KEY_LENGTH)),
    sa.Index("ix_supplier_notices_status", "status", "updated_at"),
    sa.Index("ix_supplier_notices_supplier", "supplier", "updated_at"),
)
"""One row per (ECO, supplier): whether the supplier has been told."""

operator_actions = sa.Table(
    "operator_actions",
    metadata,
    # The global seq of the operator.action event this row records.
    sa.Column("event_seq", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("role", sa.String(100)),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("eco", sa.String(100)),
    sa.Column("step_ids", JSONDoc),
    sa.Column("filter", JSONDoc),
    sa.Column("reason", sa.Text(), nullable=False, server_default=""),
    sa.Column("outcome", sa.String(200), nullable=False),
    sa.Column("affected", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Index("ix_operator_actions_at", "at"),
    sa.Index("ix_operator_actions_eco", "eco", "at"),
    sa.Index("ix_operator_actions_actor", "actor", "at"),
)
"""The audit trail: one row per operator action event (who, what, on what, why, outcome)."""

drift = sa.Table(
    "drift",
    metadata,
    sa.Column("plant", sa.String(100), primary_key=True),
    sa.Column("item", sa.String(100), primary_key=True),
    # Detected and not resolved since (by the later of the two events).
    sa.Column("open", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("plm_revision", sa.String(40)),
    sa.Column("erp_revision", sa.String(40)),
    sa.Column("mes_revision", sa.String(40)),
    # What Threadline expects: the revision of its latest ECO in effect at the plant.
    sa.Column("expected_revision", sa.String(40)),
    # The responsible ECO; null when the pair was changed outside Threadline.
    sa.Column("eco", sa.String(100)),
    sa.Column("eco_state", sa.String(40)),
    # contracts.readmodel.DriftCause
    sa.Column("cause", sa.String(40)),
    sa.Column("detail", sa.Text()),
    # When the pair was first found drifting; detected_at: the latest report of it.
    sa.Column("since", UTCDateTime()),
    sa.Column("detected_at", UTCDateTime()),
    sa.Column("resolved_at", UTCDateTime()),
    sa.Column("last_key", sa.String(ORDER_KEY_LENGTH)),
    sa.Index("ix_drift_open", "open", "plant", "since"),
    sa.Index("ix_drift_eco", "eco"),
)
"""One row per (plant, item) reconciliation found drifting: PLM, ERP, MES and Threadline."""

reconciliations = sa.Table(
    "reconciliations",
    metadata,
    sa.Column("plant", sa.String(100), primary_key=True),
    sa.Column("reconciled_at", UTCDateTime()),
)
"""When each plant was last compared with PLM, ERP and MES."""

PROJECTIONS: tuple[sa.Table, ...] = (
    eco_status,
    eco_plants,
    step_status,
    plant_revisions,
    supplier_notices,
    operator_actions,
    drift,
    reconciliations,
    *SOURCING_PROJECTIONS,
)
"""Every table rebuilt from ``events`` by ``threadline collector rebuild``."""

forwarder_cursors = sa.Table(
    "forwarder_cursors",
    metadata,
    # The JetStream stream the events go to: a new stream starts from the first event.
    sa.Column("stream", sa.String(KEY_LENGTH), primary_key=True),
    # The ``seq`` of the last event the stream acknowledged.
    sa.Column("seq", sa.BigInteger(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)
"""How far the NATS forwarder has got, per stream (never rebuilt: it is not a projection)."""

# Strings from event data that land in bounded columns; validation refuses longer ones so
# a valid event can never fail at the database.
FIELD_LIMITS: dict[str, int] = {
    "step_id": KEY_LENGTH,
    "eco": 100,
    "plant": 100,
    "item": 100,
    "supplier": 100,
    "code": 200,
    "fingerprint": 200,
    "notice_id": 200,
    "actor": 200,
    "role": 100,
    "outcome": 200,
    "production_version": 200,
}
LIST_LIMITS: dict[str, int] = {"plants": 100, "items": 100, "product_families": 100}


def limit_problems(data: Any) -> list[tuple[str, str]]:
    """``(field, message)`` for every string of catalog ``data`` too long for its column."""
    if not isinstance(data, dict):
        return []
    problems = []
    for name, value in _bounded_fields(data):
        limit = FIELD_LIMITS.get(name) or LIST_LIMITS[name.split("[", 1)[0]]
        if isinstance(value, str) and len(value) > limit:
            problems.append((name, f"longer than {limit} characters"))
    return problems


def _bounded_fields(data: dict[str, Any]) -> Iterable[tuple[str, Any]]:
    for name in FIELD_LIMITS:
        if name in data:
            yield name, data[name]
    error = data.get("error")
    if isinstance(error, dict):
        for name in ("code", "fingerprint"):
            if name in error:
                yield name, error[name]
    for name in LIST_LIMITS:
        values = data.get(name)
        if isinstance(values, list):
            for index, value in enumerate(values):
                yield f"{name}[{index}]", value
