"""Production versions waiting for ERP's confirmation: start waiting, poll, confirm,
reject, and report the ones past their plant's SLA.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from contracts import events as ev
from contracts.steps import ErrorCategory, StepState, System
from sync_engine import tables as t
from sync_engine.errors import CallError, StaleStep
from sync_engine.store.ecos import production_ready_many
from sync_engine.store.outbox import emit
from sync_engine.store.plants import Applied, applied_revision, mes_kept, record_applied
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


@dataclass(frozen=True)
class Confirmation:
    """ERP reported a step's production version active, at ``confirmed_at``."""

    step: StepRecord
    confirmed_at: datetime


def confirm_many(
    connection: sa.Connection, confirmations: Sequence[Confirmation], *, now: datetime
) -> list[StepRecord | None]:
    """ERP reported these production versions active: each plant builds the new revision
    (``None`` for a step no longer awaiting confirmation).

    Set-wise, like :func:`~sync_engine.store.outcomes.succeed_many`: one statement per
    table for the whole poll, whatever the number of versions.
    """
    moves = [Move(c.step, StepState.SUCCEEDED) for c in confirmations]
    results = apply_moves(connection, moves, now=now)
    done = [(c, r) for c, r in zip(confirmations, results, strict=True) if r is not None]
    kept = {step.step_id for step in mes_kept(connection, [r for _, r in done])}
    changes: list[Applied] = []
    for confirmation, step in done:
        emit(
            connection,
            ev.ProductionVersionConfirmed(
                eco=step.eco,
                plant=step.plant or "",
                item=step.item or "",
                revision=step.revision or "A",
                production_version=step.production_version or "",
                requested_at=step.requested_at or now,
                confirmed_at=confirmation.confirmed_at,
            ),
            now=now,
        )
        changes.append(applied_revision(step, System.ERP))
        if step.step_id in kept:
            changes.append(applied_revision(step, System.MES))
    record_applied(connection, changes, now=now)
    first: dict[str, datetime] = {}
    for confirmation, step in done:
        first.setdefault(step.eco, confirmation.confirmed_at)
    if first:
        connection.execute(
            sa.update(t.ecos)
            .where(t.ecos.c.number == sa.bindparam("b_eco"))
            .where(t.ecos.c.first_confirmed_at.is_(None))
            .values(
                first_confirmed_at=sa.bindparam("b_at", type_=t.ecos.c.first_confirmed_at.type)
            ),
            [{"b_eco": eco, "b_at": at} for eco, at in first.items()],
        )
    production_ready_many(connection, set(first), now)
    return results


def confirm(
    connection: sa.Connection, step: StepRecord, *, now: datetime, confirmed_at: datetime
) -> StepRecord:
    """ERP reported one production version active (see :func:`confirm_many`)."""
    (done,) = confirm_many(connection, [Confirmation(step, confirmed_at)], now=now)
    if done is None:
        raise StaleStep(f"{step.step_id} is no longer {step.state}")
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
