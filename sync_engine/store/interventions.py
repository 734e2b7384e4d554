"""Changes made on someone's behalf: an operator's retry or skip, and cancelling an ECO
(by an operator, or because PLM cancelled or superseded it) with the withdrawals that
compensate for what ERP has scheduled but not yet made effective.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from contracts import events as ev
from contracts.plan import idempotency_key, withdrawal_step
from contracts.steps import StepKind, StepState
from sync_engine.states import CANCELLABLE, EcoProgress, eco_allowed
from sync_engine.store.ecos import eco_progress, insert_steps, maybe_production_ready, move_eco
from sync_engine.store.steps import StepRecord, find_steps, get_step, transition


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
    is unknown or may not be cancelled (already cancelled, or rejected). Running steps are
    stopped when their call returns.
    """
    state = eco_progress(connection, number, lock=True)
    if state is None or not eco_allowed(state, EcoProgress.CANCELLED):
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
    values: dict[str, Any] = {"cancelled_at": now}
    if plm_status is not None:
        values["plm_status"] = plm_status
    event = ev.EcoCancelled(
        eco=number,
        cause=cause,
        reason=reason or cause,
        superseded_by=superseded_by,
        actor=actor,
        cancelled_steps=len(cancelled),
        withdrawals=withdrawals,
    )
    # The row is locked since it was read, so the ECO is still in ``state``.
    move_eco(connection, number, state, EcoProgress.CANCELLED, event, now=now, **values)
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


def schedule_withdrawal(connection: sa.Connection, bom: StepRecord, now: datetime) -> int:
    """Plan the withdrawal of a cancelled ECO's BOM version that ERP scheduled but has not
    made effective; return 1, or 0 if it is planned already."""
    planned = withdrawal_step(
        bom.eco, bom.plant or "", bom.item or "", bom.revision or "A", bom.external_id or ""
    )
    if get_step(connection, planned.step_id) is not None:
        return 0
    insert_steps(connection, [planned], bom.eco_approved_at, StepState.PENDING, now)
    return 1
