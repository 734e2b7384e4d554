"""Production versions waiting for ERP's confirmation: start waiting, poll, confirm,
reject, and report the ones past their plant's SLA.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import sqlalchemy as sa

from contracts import events as ev
from contracts.steps import ErrorCategory, StepState, System
from sync_engine import logbook
from sync_engine import tables as t
from sync_engine.errors import CallError, StaleStep
from sync_engine.store.ecos import maybe_production_ready
from sync_engine.store.outbox import emit
from sync_engine.store.plants import record_mes_kept, record_plant_revision
from sync_engine.store.steps import (
    Move,
    StepRecord,
    apply_moves,
    step_error,
    step_record,
    transition,
)


def await_confirmations(
    connection: sa.Connection, steps: Sequence[StepRecord], *, now: datetime
) -> list[StepRecord | None]:
    """Claimed confirmation steps start waiting for ERP to activate their versions."""
    moves = [
        Move(
            step,
            StepState.AWAITING_CONFIRMATION,
            {"requested_at": now, "lease_holder": None, "lease_until": None},
            event_fields={"production_version": step.production_version},
        )
        for step in steps
    ]
    return apply_moves(connection, moves, now=now)


def await_confirmation(connection: sa.Connection, step: StepRecord, *, now: datetime) -> StepRecord:
    """One claimed confirmation step starts waiting (see :func:`await_confirmations`)."""
    (waiting,) = await_confirmations(connection, [step], now=now)
    if waiting is None:
        raise StaleStep(f"{step.step_id} is no longer {step.state}")
    return waiting


def awaiting_confirmations(
    connection: sa.Connection, *, limit: int, now: datetime | None = None
) -> list[StepRecord]:
    """Steps waiting for ERP to confirm a production version, longest waiting first;
    with ``now``, only those due for another look (see :func:`defer_polls`)."""
    query = sa.select(t.steps).where(t.steps.c.state == StepState.AWAITING_CONFIRMATION.value)
    if now is not None:
        query = query.where(
            sa.or_(t.steps.c.next_attempt_at.is_(None), t.steps.c.next_attempt_at <= now)
        )
    rows = connection.execute(query.order_by(t.steps.c.requested_at).limit(limit)).all()
    return [step_record(row) for row in rows]


def defer_polls(connection: sa.Connection, due: Mapping[str, datetime]) -> None:
    """When to ask ERP again about each still-pending confirmation (not a state change)."""
    if due:
        connection.execute(
            sa.update(t.steps)
            .where(t.steps.c.step_id == sa.bindparam("b_step_id"))
            .where(t.steps.c.state == StepState.AWAITING_CONFIRMATION.value)
            .values(next_attempt_at=sa.bindparam("b_due", type_=t.steps.c.next_attempt_at.type)),
            [{"b_step_id": step_id, "b_due": at} for step_id, at in due.items()],
        )


def confirm(
    connection: sa.Connection, step: StepRecord, *, now: datetime, confirmed_at: datetime
) -> StepRecord:
    """ERP reported the production version active: the plant builds the new revision."""
    done = transition(connection, step, StepState.SUCCEEDED, now=now)
    plant, item, revision = step.plant or "", step.item or "", step.revision or "A"
    requested_at = step.requested_at or now
    emit(
        connection,
        ev.ProductionVersionConfirmed(
            eco=step.eco,
            plant=plant,
            item=item,
            revision=revision,
            production_version=step.production_version or "",
            requested_at=requested_at,
            confirmed_at=confirmed_at,
        ),
        now=now,
    )
    record_plant_revision(connection, step, System.ERP, now)
    record_mes_kept(connection, step, now=now)
    connection.execute(
        sa.update(t.ecos)
        .where(t.ecos.c.number == step.eco)
        .where(t.ecos.c.first_confirmed_at.is_(None))
        .values(first_confirmed_at=confirmed_at)
    )
    maybe_production_ready(connection, step.eco, now)
    return done


def reject_confirmation(
    connection: sa.Connection, step: StepRecord, error: CallError, *, now: datetime
) -> StepRecord:
    """ERP rejected the production version, or answered its status out of contract."""
    info = step_error(step.kind, error)
    to = StepState.BLOCKED if error.category is ErrorCategory.BUSINESS else StepState.FAILED
    fields = (
        {"payload": error.payload}
        if to is StepState.FAILED and isinstance(error.payload, dict)
        else None
    )
    return transition(connection, step, to, now=now, error=info, event_fields=fields)


def mark_overdue(
    connection: sa.Connection, step: StepRecord, *, now: datetime, sla_seconds: float
) -> bool:
    """Emit ``confirmation_overdue`` once for a confirmation past its plant's SLA."""
    updated = connection.execute(
        sa.update(t.steps)
        .where(t.steps.c.step_id == step.step_id)
        .where(t.steps.c.overdue_at.is_(None))
        .values(overdue_at=now)
    )
    if updated.rowcount != 1:
        return False
    emit(
        connection,
        ev.ConfirmationOverdue(
            eco=step.eco,
            plant=step.plant or "",
            item=step.item or "",
            revision=step.revision or "A",
            requested_at=step.requested_at or now,
            sla_seconds=sla_seconds,
        ),
        now=now,
    )
    logbook.confirmation_overdue(step.eco, step.step_id, step.plant, sla_seconds)
    return True
