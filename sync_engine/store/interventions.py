"""Changes made on someone's behalf: an operator's retry (with an edited payload, too) or
skip, and cancelling an ECO (by an operator, or because PLM cancelled or superseded it)
with the compensation that takes back, per target, what it applied and is not yet
effective.

Compensation (``contracts.plan.compensation``, which the simulators' history plays too):
a BOM version ERP scheduled, a routing and a production version of a plant whose version
is not confirmed active, and a notice to a supplier (who is told the change was
withdrawn). What the engine knows is effective (a BOM version effective when written, a
confirmed production version and the routing it uses, a routing MES runs) is left in
place for a new ECO to revert; so is whatever ERP
refuses to withdraw because it became effective meanwhile (the withdrawal step then
records ``effective_since``). A step whose call was under way when the ECO stopped is
compensated when its result arrives (:func:`schedule_compensation`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from contracts import events as ev
from contracts.plan import AppliedWrite, PlannedStep, compensation, idempotency_key
from contracts.steps import COMPENSATION_KINDS, StepKind, StepState
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


def requeue_edited(
    connection: sa.Connection,
    step: StepRecord,
    payload: dict[str, Any],
    *,
    now: datetime,
    actor: str,
    reason: str,
) -> StepRecord:
    """An operator's edit and retry: the step is due again with ``payload`` under a new
    idempotency key (the old key would be answered with the old payload's outcome)."""
    generation = step.generation + 1
    return transition(
        connection,
        step,
        StepState.PENDING,
        now=now,
        actor=actor,
        reason=reason,
        attempt=0,
        next_attempt_at=None,
        generation=generation,
        payload=payload,
        idempotency_key=idempotency_key(
            step.eco,
            step.kind,
            f"{step.plant or '-'}/{step.item or step.supplier or '-'}",
            step.revision,
            generation,
        ),
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
    """Stop an ECO: cancel its open steps and plan the withdrawal of what it applied and
    is not yet effective. Returns (cancelled step ids, withdrawals scheduled), or ``None``
    if the ECO is unknown or may not be cancelled (already cancelled, or rejected).
    Running steps are stopped (or compensated) when their call returns.
    """
    state = eco_progress(connection, number, lock=True)
    if state is None or not eco_allowed(state, EcoProgress.CANCELLED):
        return None
    steps = find_steps(connection, eco=number, lock=True)
    confirmed = _confirmed(steps)
    cancelled = []
    applied: list[AppliedWrite] = []
    for step in steps:
        if step.kind in COMPENSATION_KINDS:
            continue
        if step.state in CANCELLABLE:
            transition(connection, step, StepState.CANCELLED, now=now, actor=actor, reason=reason)
            cancelled.append(step.step_id)
        elif step.state is StepState.SUCCEEDED:
            applied.append(_applied(step, confirmed))
    planned = compensation(applied)
    withdrawals = _schedule(connection, planned.withdrawals, steps, now)
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
        left_effective=len(planned.left_effective),
    )
    # The row is locked since it was read, so the ECO is still in ``state``.
    move_eco(connection, number, state, EcoProgress.CANCELLED, event, now=now, **values)
    return cancelled, withdrawals


def _confirmed(steps: list[StepRecord]) -> set[tuple[str | None, str | None]]:
    return {
        (s.plant, s.item)
        for s in steps
        if s.kind is StepKind.ERP_CONFIRMATION and s.state is StepState.SUCCEEDED
    }


def _applied(step: StepRecord, confirmed: set[tuple[str | None, str | None]]) -> AppliedWrite:
    """A succeeded step as compensation sees it; ``confirmed`` holds the (plant, item)
    pairs whose production version ERP confirmed active."""
    return AppliedWrite(
        step_id=step.step_id,
        eco=step.eco,
        kind=step.kind,
        plant=step.plant,
        item=step.item,
        revision=step.revision,
        supplier=step.supplier,
        external_id=step.external_id,
        effective_when_written=step.external_status == "effective",
        plant_confirmed=(step.plant, step.item) in confirmed,
    )


def _schedule(
    connection: sa.Connection,
    planned: Sequence[PlannedStep],
    known: list[StepRecord],
    now: datetime,
) -> int:
    """Store the planned withdrawals not stored yet; return how many were new."""
    stored = {s.step_id for s in known}
    fresh = [p for p in planned if p.step_id not in stored]
    fresh = [p for p in fresh if get_step(connection, p.step_id) is None]
    if not fresh:
        return 0
    approved_at = known[0].eco_approved_at
    ready = [p for p in fresh if not p.depends_on]
    waiting = [p for p in fresh if p.depends_on]
    trace = known[0].traceparent
    insert_steps(connection, ready, approved_at, StepState.PENDING, now, trace)
    insert_steps(connection, waiting, approved_at, StepState.WAITING, now, trace)
    return len(fresh)


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


def schedule_compensation(connection: sa.Connection, step: StepRecord, now: datetime) -> int:
    """A cancelled ECO's step whose call was under way succeeded: plan the withdrawal of
    its write unless it is known effective; return 1, or 0 if nothing was planned."""
    planned = compensation([_applied(step, set())])
    return _schedule(connection, planned.withdrawals, [step], now)
