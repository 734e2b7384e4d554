"""Changes made on someone's behalf: an operator's retry or skip, and cancelling an ECO
(by an operator, or because PLM cancelled or superseded it) with the withdrawals that
compensate for what ERP has scheduled but not yet made effective.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from contracts import events as ev
from contracts.plan import idempotency_key
from contracts.steps import StepKind, StepState
from sync_engine import tables as t
from sync_engine.states import CANCELLABLE
from sync_engine.store.ecos import EcoState, maybe_production_ready, schedule_withdrawal
from sync_engine.store.outbox import emit
from sync_engine.store.steps import StepRecord, find_steps, transition


def requeue(
    connection: sa.Connection, step: StepRecord, *, now: datetime, actor: str, reason: str
) -> StepRecord:
    """An operator's retry: a failed or blocked step is due again with fresh attempts.

    A blocked step gets a new idempotency key: the system rejected it, so nothing was
    applied, and it would answer the old key with its first (rejecting) response.
    """
    changes: dict[str, Any] = {"attempt": 0, "next_attempt_at": None}
    if step.state is StepState.BLOCKED:
        generation = step.generation + 1
        changes["generation"] = generation
        changes["idempotency_key"] = idempotency_key(
            step.eco,
            step.kind,
            f"{step.plant or '-'}/{step.item or step.supplier or '-'}",
            step.revision,
            generation,
        )
    return transition(
        connection,
        step,
        StepState.PENDING,
        now=now,
        actor=actor,
        reason=reason or "operator retry",
        **changes,
    )


def skip(
    connection: sa.Connection, step: StepRecord, *, now: datetime, actor: str, reason: str
) -> StepRecord:
    """An operator resolved the step by hand; dependants may go ahead."""
    skipped = transition(
        connection,
        step,
        StepState.SKIPPED,
        now=now,
        actor=actor,
        reason=reason,
        lease_holder=None,
        lease_until=None,
    )
    maybe_production_ready(connection, step.eco, now)
    return skipped


def cancel_eco(
    connection: sa.Connection,
    number: str,
    *,
    now: datetime,
    cause: str,
    reason: str,
    actor: str | None = None,
    superseded_by: str | None = None,
    plm_status: str | None = None,
) -> tuple[list[str], int] | None:
    """Stop an ECO: cancel its open steps and withdraw the BOM versions ERP has not made
    effective. Returns (cancelled step ids, withdrawals scheduled), or ``None`` if the ECO
    was already cancelled. Running steps are stopped when their call returns.
    """
    values: dict[str, Any] = {"state": EcoState.CANCELLED, "cancelled_at": now}
    if plm_status is not None:
        values["plm_status"] = plm_status
    updated = connection.execute(
        sa.update(t.ecos)
        .where(t.ecos.c.number == number)
        .where(t.ecos.c.state.in_([EcoState.IN_PROGRESS, EcoState.PRODUCTION_READY]))
        .values(values)
    )
    if updated.rowcount != 1:
        return None
    cancelled = []
    withdrawals = 0
    for step in find_steps(connection, eco=number, lock=True):
        if step.state in CANCELLABLE and step.kind is not StepKind.ERP_BOM_WITHDRAWAL:
            transition(connection, step, StepState.CANCELLED, now=now, actor=actor, reason=reason)
            cancelled.append(step.step_id)
        elif (
            step.kind is StepKind.ERP_BOM
            and step.state is StepState.SUCCEEDED
            and step.external_status == "scheduled"
        ):
            withdrawals += schedule_withdrawal(connection, step, now)
    emit(
        connection,
        ev.EcoCancelled(
            eco=number,
            cause=cause,
            reason=reason or cause,
            superseded_by=superseded_by,
            actor=actor,
            cancelled_steps=len(cancelled),
            withdrawals=withdrawals,
        ),
        now=now,
    )
    return cancelled, withdrawals


def record_plm_cancellation(
    connection: sa.Connection,
    number: str,
    *,
    now: datetime,
    status: str,
    superseded_by: str | None,
) -> bool:
    """PLM reports an ECO cancelled or superseded: compensate if it is known and open."""
    cause = "plm_superseded" if status == "superseded" else "plm_cancelled"
    reason = f"superseded by {superseded_by}" if superseded_by else f"{status} in PLM"
    return (
        cancel_eco(
            connection,
            number,
            now=now,
            cause=cause,
            reason=reason,
            superseded_by=superseded_by,
            plm_status=status,
        )
        is not None
    )
