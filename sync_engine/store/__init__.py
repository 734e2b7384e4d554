"""The step store: every query on the engine's tables, and the one :func:`transition`.

Each function takes a :class:`sqlalchemy.Connection` inside a transaction the caller
opened (``with writing(engine) as connection``, or ``engine.begin()``), so a state change
and the CloudEvent that records it always commit together.

Claiming: on PostgreSQL due steps are selected ``FOR UPDATE SKIP LOCKED`` and leased
(``lease_holder``, ``lease_until``), so any number of engines share the work; a crashed
engine's lease expires and :func:`reap_expired` hands its steps back. On SQLite the
clause is not rendered: write transactions start with ``BEGIN IMMEDIATE`` and run one at a
time, and only one engine process runs (see :mod:`sync_engine.runner`).

Outbox order: on PostgreSQL every transaction that writes the outbox holds one
transaction-scoped advisory lock (:func:`lock_outbox`), so outbox ids commit in id order
and the relay never sees a later id before an earlier one. Writers take it first, before
any row lock, so two engines' transactions cannot deadlock on each other, and checks that
read other steps (is the ECO now production-ready? was it cancelled meanwhile?) see every
earlier write: taken last, two transactions finishing an ECO's last two steps could each
miss the other's and leave the ECO open. SQLite serialises writers anyway.

Modules, each importing only those listed before it: ``outbox`` (emit, the lock,
delivery), ``steps`` (the record, the one transition writer, queries), ``ecos`` (the ECO
lifecycle, :func:`move_eco`), ``superseded`` (a target never goes backwards),
``claims``, ``sla`` (the SLA sweep), ``plants`` (plant revisions), ``interventions``
(operator actions, cancellation, withdrawals), ``qualifications`` (info records held for a
supplier's qualification), ``dead_letters`` (the last call of a step stopped for a
person), ``outcomes`` and ``confirmations``; ``drift`` (what reconciliation reads and
remembers, after ``cursors``); ``suppliers`` (the duplicate supplier records reported),
``impact`` (business impact assessed), ``cursors`` (named positions) and ``heartbeats``
(which engine processes are alive, by holder name) stand alone; ``operations`` (operator
actions followed to their end) and ``problems`` (the inbox's statuses) come last. The
public names are re-exported here, so callers write ``store.claim_due(...)``.
"""

from __future__ import annotations

from sync_engine.store.claims import SETTLED, claim_due, promote_ready, reap_expired, waiting_behind
from sync_engine.store.confirmations import (
    Confirmation,
    await_confirmation,
    await_confirmations,
    awaiting_confirmations,
    confirm,
    confirm_many,
    defer_polls,
    reject_confirmation,
)
from sync_engine.store.cursors import get_cursor, set_cursor
from sync_engine.store.dead_letters import DeadLetter, last_dead_letter, record_dead_letter
from sync_engine.store.drift import (
    DriftRecord,
    EcoScope,
    last_reconciled,
    mark_reconciled,
    open_drift,
    reconciled_plants,
    report_drift,
    resolve_drift,
    step_states_at,
    threadline_ecos,
)
from sync_engine.store.ecos import (
    NOT_PLANT_WORK,
    eco_progress,
    eco_row,
    eco_states,
    move_eco,
    record_eco,
    record_rejected,
    rejected_documents,
)
from sync_engine.store.heartbeats import Heartbeat, beat, heartbeats, new_holder, stop_beating
from sync_engine.store.impact import ImpactScope, impact_scopes, record_impact
from sync_engine.store.interventions import (
    cancel_eco,
    record_plm_cancellation,
    requeue,
    requeue_edited,
    skip,
)
from sync_engine.store.operations import (
    Operation,
    OperationStatus,
    OperationStep,
    follow_operations,
    get_operation,
    recent_operations,
    start_operation,
)
from sync_engine.store.outbox import (
    OUTBOX_BUFFER,
    OUTBOX_LOCK_KEY,
    SOURCE,
    emit,
    flush_outbox,
    lock_outbox,
    mark_delivered,
    outbox_backlog,
    prune_delivered,
    undelivered,
    writing,
)
from sync_engine.store.outcomes import Success, fail, succeed, succeed_many
from sync_engine.store.plants import (
    confirm_revisions,
    expected_revisions,
    items_at,
    observe_revision,
    open_work,
    plants_in_use,
    record_revision,
    recorded_revisions,
    set_last_exception,
)
from sync_engine.store.problems import (
    ProblemState,
    ProblemStatus,
    acknowledge,
    add_note,
    assign,
    drift_key,
    eco_key,
    overdue_key,
    problem_states,
    rejected_ecos,
    resolve_settled,
    step_key,
)
from sync_engine.store.qualifications import (
    REJECTED_CODE,
    add_purchasing,
    await_qualifications,
    awaiting_qualifications,
    block_rejected,
    defer_qualification_polls,
    mark_sourcing_pending,
    record_decision,
    release_qualified,
    sourcing_pending,
)
from sync_engine.store.sla import sweep_slas
from sync_engine.store.steps import (
    DONE,
    FINAL,
    Move,
    StepRecord,
    apply_moves,
    count_by_state,
    find_steps,
    fingerprint,
    get_step,
    step_error,
    steps_of,
    transition,
)
from sync_engine.store.superseded import superseded
from sync_engine.store.suppliers import report_duplicates

__all__ = [
    "DONE",
    "FINAL",
    "NOT_PLANT_WORK",
    "OUTBOX_BUFFER",
    "OUTBOX_LOCK_KEY",
    "REJECTED_CODE",
    "SETTLED",
    "SOURCE",
    "Confirmation",
    "DeadLetter",
    "DriftRecord",
    "EcoScope",
    "Heartbeat",
    "ImpactScope",
    "Move",
    "Operation",
    "OperationStatus",
    "OperationStep",
    "ProblemState",
    "ProblemStatus",
    "StepRecord",
    "Success",
    "acknowledge",
    "add_note",
    "add_purchasing",
    "apply_moves",
    "assign",
    "await_confirmation",
    "await_confirmations",
    "await_qualifications",
    "awaiting_confirmations",
    "awaiting_qualifications",
    "beat",
    "block_rejected",
    "cancel_eco",
    "claim_due",
    "confirm",
    "confirm_many",
    "confirm_revisions",
    "count_by_state",
    "defer_polls",
    "defer_qualification_polls",
    "drift_key",
    "eco_key",
    "eco_progress",
    "eco_row",
    "eco_states",
    "emit",
    "expected_revisions",
    "fail",
    "find_steps",
    "fingerprint",
    "flush_outbox",
    "follow_operations",
    "get_cursor",
    "get_operation",
    "get_step",
    "heartbeats",
    "impact_scopes",
    "items_at",
    "last_dead_letter",
    "last_reconciled",
    "lock_outbox",
    "mark_delivered",
    "mark_reconciled",
    "mark_sourcing_pending",
    "move_eco",
    "new_holder",
    "observe_revision",
    "open_drift",
    "open_work",
    "outbox_backlog",
    "overdue_key",
    "plants_in_use",
    "problem_states",
    "promote_ready",
    "prune_delivered",
    "reap_expired",
    "recent_operations",
    "reconciled_plants",
    "record_dead_letter",
    "record_decision",
    "record_eco",
    "record_impact",
    "record_plm_cancellation",
    "record_rejected",
    "record_revision",
    "recorded_revisions",
    "reject_confirmation",
    "rejected_documents",
    "rejected_ecos",
    "release_qualified",
    "report_drift",
    "report_duplicates",
    "requeue",
    "requeue_edited",
    "resolve_drift",
    "resolve_settled",
    "set_cursor",
    "set_last_exception",
    "skip",
    "sourcing_pending",
    "start_operation",
    "step_error",
    "step_key",
    "step_states_at",
    "steps_of",
    "stop_beating",
    "succeed",
    "succeed_many",
    "superseded",
    "sweep_slas",
    "threadline_ecos",
    "transition",
    "undelivered",
    "waiting_behind",
    "writing",
]
