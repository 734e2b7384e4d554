"""Purchasing info records held for a supplier's qualification: start waiting, poll
procurement, release the approved ones, block the rejected ones; and the purchasing facts
a succeeded step reports (a qualification requested, an info record activated).

A held step is ``awaiting_qualification`` from the first time it found the qualification
not approved (``requested_at``, which the qualification SLA counts from); procurement's
approval makes it ``pending`` again, and its call then activates the info record, which
ERP itself refuses before the approval.

An ECO planned while procurement or ERP could not say who supplies its components is
planned without its purchasing and remembered (:func:`mark_sourcing_pending`); its
purchasing steps are added once they answer (:func:`add_purchasing`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import sqlalchemy as sa

from contracts import sourcing_events as se
from contracts.model import Eco
from contracts.plan import PlannedStep
from contracts.steps import PURCHASING_KINDS as PURCHASING
from contracts.steps import StepKind, StepState
from sync_engine import tables as t
from sync_engine.errors import BusinessError
from sync_engine.states import EcoProgress
from sync_engine.store.cursors import set_cursor
from sync_engine.store.ecos import insert_steps
from sync_engine.store.outbox import emit
from sync_engine.store.steps import Move, StepRecord, apply_moves, step_error, step_record

REJECTED_CODE = "QUALIFICATION_REJECTED"
"""The error code of an info record whose supplier procurement refused to qualify."""


def await_qualifications(
    connection: sa.Connection,
    held: Sequence[tuple[StepRecord, str | None]],
    *,
    now: datetime,
) -> list[StepRecord | None]:
    """Claimed info record steps wait for their qualification (``(step, qualification id)``)."""
    moves = [
        Move(
            step,
            StepState.AWAITING_QUALIFICATION,
            {
                "requested_at": step.requested_at or now,
                "external_id": qualification,
                "next_attempt_at": None,
                "lease_holder": None,
                "lease_until": None,
            },
            event_fields={"qualification_id": qualification},
        )
        for step, qualification in held
    ]
    return apply_moves(connection, moves, now=now)


def awaiting_qualifications(
    connection: sa.Connection, *, limit: int, now: datetime | None = None
) -> list[StepRecord]:
    """Info records waiting for a qualification, longest waiting first; with ``now``, only
    those due for another look."""
    s = t.steps
    query = sa.select(s).where(s.c.state == StepState.AWAITING_QUALIFICATION.value)
    if now is not None:
        query = query.where(sa.or_(s.c.next_attempt_at.is_(None), s.c.next_attempt_at <= now))
    rows = connection.execute(query.order_by(s.c.requested_at, s.c.step_id).limit(limit)).all()
    return [step_record(row) for row in rows]


def release_qualified(
    connection: sa.Connection,
    steps: Sequence[StepRecord],
    *,
    now: datetime,
    reason: str = "procurement approved the qualification",
) -> list[StepRecord | None]:
    """Procurement approved: the held info records are due again."""
    moves = [
        Move(step, StepState.PENDING, {"next_attempt_at": None}, reason=reason) for step in steps
    ]
    return apply_moves(connection, moves, now=now)


def block_rejected(
    connection: sa.Connection, steps: Sequence[StepRecord], why: str, *, now: datetime
) -> list[StepRecord | None]:
    """Procurement rejected the qualification: the held info records stop for a person."""
    moves = [
        Move(
            step,
            StepState.BLOCKED,
            error=step_error(step.kind, BusinessError(REJECTED_CODE, why)),
        )
        for step in steps
    ]
    return apply_moves(connection, moves, now=now)


def defer_qualification_polls(connection: sa.Connection, due: Mapping[str, datetime]) -> None:
    """When to ask procurement again about each still-pending qualification."""
    if due:
        connection.execute(
            sa.update(t.steps)
            .where(t.steps.c.step_id == sa.bindparam("b_step_id"))
            .where(t.steps.c.state == StepState.AWAITING_QUALIFICATION.value)
            .values(next_attempt_at=sa.bindparam("b_due", type_=t.steps.c.next_attempt_at.type)),
            [{"b_step_id": step_id, "b_due": at} for step_id, at in due.items()],
        )


def record_decision(
    connection: sa.Connection,
    step: StepRecord,
    qualification: str,
    *,
    approved: bool,
    at: datetime,
    reason: str | None,
    now: datetime,
) -> None:
    """Report procurement's decision on a qualification one held step waited for."""
    fields = {
        "supplier": step.supplier or "",
        "component": step.item or "",
        "revision": step.revision or "A",
        "qualification_id": qualification,
        "eco": step.eco,
    }
    if approved:
        emit(connection, se.QualificationApproved(**fields, approved_at=at), now=now)
    else:
        emit(
            connection,
            se.QualificationRejected(**fields, reason=reason or "rejected", rejected_at=at),
            now=now,
        )


def record_purchasing_success(
    connection: sa.Connection, step: StepRecord, external_id: str | None, now: datetime
) -> None:
    """The purchasing fact a succeeded step reports: a qualification requested of
    procurement, or an info record ERP activated."""
    payload = step.payload
    if step.kind is StepKind.QUALIFICATION_REQUEST:
        emit(
            connection,
            se.QualificationRequested(
                eco=step.eco,
                supplier=payload["supplier"],
                component=payload["component"],
                revision=payload["revision"],
                qualification_id=external_id or "-",
                plants=list(payload.get("plants") or []),
                requested_at=now,
            ),
            now=now,
        )
    elif step.kind is StepKind.ERP_INFO_RECORD:
        emit(
            connection,
            se.InfoRecordActivated(
                eco=step.eco,
                supplier=payload["supplier"],
                component=payload["component"],
                revision=payload["revision"],
                plant=step.plant,
                plants=list(payload.get("plants") or []),
                info_record=external_id or "-",
                activated_at=now,
            ),
            now=now,
        )


PENDING_SOURCING = "sourcing.pending:"
"""Cursor name prefix of an ECO planned while procurement or ERP could not say who
supplies its components: its purchasing is added once they answer."""


def mark_sourcing_pending(connection: sa.Connection, numbers: Sequence[str], now: datetime) -> None:
    """Remember ECOs planned without their purchasing."""
    for number in numbers:
        set_cursor(connection, f"{PENDING_SOURCING}{number}", "1", now=now)


def sourcing_pending(connection: sa.Connection, *, limit: int = 100) -> list[Eco]:
    """ECOs whose purchasing is still to be added (cancelled ones are forgotten)."""
    names = connection.execute(
        sa.select(t.cursors.c.name)
        .where(t.cursors.c.name.startswith(PENDING_SOURCING))
        .order_by(t.cursors.c.name)
        .limit(limit)
    ).scalars()
    numbers = [name.removeprefix(PENDING_SOURCING) for name in names]
    rows = connection.execute(
        sa.select(t.ecos.c.number, t.ecos.c.state, t.ecos.c.document).where(
            t.ecos.c.number.in_(numbers)
        )
    ).all()
    live = (EcoProgress.IN_PROGRESS.value, EcoProgress.PRODUCTION_READY.value)
    gone = [row.number for row in rows if row.state not in live]
    if gone:
        connection.execute(
            sa.delete(t.cursors).where(
                t.cursors.c.name.in_([f"{PENDING_SOURCING}{n}" for n in gone])
            )
        )
    return [Eco.model_validate(row.document) for row in rows if row.state in live]


def add_purchasing(
    connection: sa.Connection, eco: Eco, planned: Sequence[PlannedStep], *, now: datetime
) -> int:
    """Add the purchasing steps and the notices to approved suppliers the ECO's plan now
    has and its stored steps lack; forget that it was pending. Returns how many."""
    known = set(
        connection.execute(sa.select(t.steps.c.step_id).where(t.steps.c.eco == eco.number))
        .scalars()
        .all()
    )
    added = [
        step
        for step in planned
        if step.step_id not in known
        and (step.kind in PURCHASING or step.kind is StepKind.SUPPLIER_NOTICE)
    ]
    insert_steps(connection, added, eco.approved_at, StepState.WAITING, now)
    connection.execute(
        sa.delete(t.cursors).where(t.cursors.c.name == f"{PENDING_SOURCING}{eco.number}")
    )
    return len(added)
