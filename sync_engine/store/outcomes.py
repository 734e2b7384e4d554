"""Recording what a claimed step's call did: applied (in bulk), or failed (retrying, a
dead letter, blocked for a person, or stopped because its ECO was cancelled).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from contracts import events as ev
from contracts.steps import (
    COMPENSATION_KINDS,
    PURCHASING_KINDS,
    WITHDRAWAL_OF,
    ErrorCategory,
    StepKind,
    StepState,
    System,
)
from sync_engine import tables as t
from sync_engine.errors import CallError, StaleStep
from sync_engine.store.dead_letters import record_dead_letter
from sync_engine.store.ecos import (
    cancelled_among,
    eco_cancelled,
    production_ready_many,
)
from sync_engine.store.interventions import schedule_compensation
from sync_engine.store.outbox import emit
from sync_engine.store.plants import applied_revision, record_applied, record_bom_effective
from sync_engine.store.qualifications import record_purchasing_success
from sync_engine.store.steps import Move, StepRecord, apply_moves, step_error, transition


@dataclass(frozen=True)
class Success:
    """A running step's call applied, with what the system answered."""

    step: StepRecord
    external_id: str | None = None
    external_status: str | None = None
    reason: str | None = None
    effective_since: datetime | None = None  # a withdrawal found the change effective


def succeed_many(
    connection: sa.Connection, successes: Sequence[Success], *, now: datetime
) -> list[StepRecord | None]:
    """Record applied calls in bulk (``None`` for a step whose lease was lost)."""
    moves = [
        Move(
            s.step,
            StepState.SUCCEEDED,
            {
                "external_id": s.external_id,
                "external_status": s.external_status,
                "lease_holder": None,
                "lease_until": None,
            },
            reason=s.reason,
            event_fields={"effective_since": s.effective_since} if s.effective_since else None,
        )
        for s in successes
    ]
    results = apply_moves(connection, moves, now=now)
    done = [(s, r) for s, r in zip(successes, results, strict=True) if r is not None]
    versions = [
        {"b_eco": r.eco, "b_plant": r.plant, "b_item": r.item, "b_pv": s.external_id}
        for s, r in done
        if r.kind is StepKind.ERP_PRODUCTION_VERSION
    ]
    if versions:
        # The confirmation polls this version, and MES is told it.
        connection.execute(
            sa.update(t.steps)
            .where(t.steps.c.eco == sa.bindparam("b_eco"))
            .where(t.steps.c.plant == sa.bindparam("b_plant"))
            .where(t.steps.c.item == sa.bindparam("b_item"))
            .where(
                # Not IN: an expanding list cannot be sent with executemany.
                sa.or_(
                    t.steps.c.kind == StepKind.ERP_CONFIRMATION.value,
                    t.steps.c.kind == StepKind.MES_ROUTING.value,
                )
            )
            .values(production_version=sa.bindparam("b_pv")),
            versions,
        )
    cancelled = cancelled_among(connection, {r.eco for _, r in done if r.kind in WITHDRAWAL_OF})
    # A released MES routing makes MES run its revision at the plant: all in one go.
    routed = [applied_revision(r, System.MES) for _, r in done if r.kind is StepKind.MES_ROUTING]
    record_applied(connection, routed, now=now)
    for success, step in done:
        if step.kind is StepKind.ERP_BOM and success.external_status == "effective":
            record_bom_effective(connection, step, now=now)
        elif step.kind is StepKind.SUPPLIER_NOTICE:
            emit(
                connection,
                ev.SupplierNoticeSent(
                    eco=step.eco,
                    supplier=step.supplier or "",
                    notice_id=success.external_id or "",
                    items=list(step.payload.get("items", [])),
                    attempt=max(1, step.attempt),
                ),
                now=now,
            )
        elif step.kind in PURCHASING_KINDS:
            record_purchasing_success(connection, step, success.external_id, now)
        if step.eco in cancelled:
            # The call was under way when its ECO stopped: take back what it wrote.
            schedule_compensation(connection, step, now)
    production_ready_many(connection, {r.eco for _, r in done}, now)
    return results


def succeed(
    connection: sa.Connection,
    step: StepRecord,
    *,
    now: datetime,
    external_id: str | None = None,
    external_status: str | None = None,
    reason: str | None = None,
) -> StepRecord:
    """Record one running step's call as applied (see :func:`succeed_many`)."""
    (done,) = succeed_many(
        connection, [Success(step, external_id, external_status, reason)], now=now
    )
    if done is None:
        raise StaleStep(f"{step.step_id} is no longer {step.state}")
    return done


def fail(
    connection: sa.Connection,
    step: StepRecord,
    error: CallError,
    *,
    now: datetime,
    next_attempt_at: datetime | None,
) -> StepRecord:
    """Record a failed call: ``retrying`` until ``next_attempt_at``; otherwise ``failed``
    (a dead letter) or ``blocked`` (a business rejection), either keeping the call in
    ``sync_dead_letters``. A step of a cancelled ECO stops.
    """
    info = step_error(step.kind, error)
    release = {"lease_holder": None, "lease_until": None}
    if step.kind not in COMPENSATION_KINDS and eco_cancelled(connection, step.eco):
        return transition(
            connection,
            step,
            StepState.CANCELLED,
            now=now,
            error=info,
            reason="ECO cancelled",
            **release,
        )
    if error.category is ErrorCategory.BUSINESS:
        blocked = transition(connection, step, StepState.BLOCKED, now=now, error=info, **release)
        record_dead_letter(connection, step, info, error, now=now)
        return blocked
    if error.category is ErrorCategory.TRANSIENT and next_attempt_at is not None:
        failed = transition(
            connection,
            step,
            StepState.RETRYING,
            now=now,
            error=info,
            next_attempt_at=next_attempt_at,
            **release,
        )
        _notice_failed(connection, failed, info, now, final=False)
        return failed
    response = error.payload if isinstance(error.payload, dict) else None
    failed = transition(
        connection,
        step,
        StepState.FAILED,
        now=now,
        error=info,
        event_fields={"payload": response},
        **release,
    )
    record_dead_letter(connection, step, info, error, now=now)
    _notice_failed(connection, failed, info, now, final=True)
    return failed


def _notice_failed(
    connection: sa.Connection, step: StepRecord, info: ev.StepError, now: datetime, *, final: bool
) -> None:
    if step.kind is not StepKind.SUPPLIER_NOTICE:
        return
    emit(
        connection,
        ev.SupplierNoticeFailed(
            eco=step.eco,
            supplier=step.supplier or "",
            attempt=max(1, step.attempt),
            error=info,
            final=final,
            next_attempt_at=step.next_attempt_at,
        ),
        now=now,
    )
