"""The ECOs the engine knows and their lifecycle: recording one with its planned steps
(or its rejection), production readiness, and which ECOs were cancelled.

:func:`move_eco` is the one place an ECO's state changes; it checks
:data:`sync_engine.states.ECO_TRANSITIONS` and writes the event that records the change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from contracts import events as ev
from contracts.model import Eco, Item
from contracts.plan import PlannedStep
from contracts.steps import COMPENSATION_KINDS, PURCHASING_KINDS, StepKind, StepState
from sync_engine import logbook
from sync_engine import tables as t
from sync_engine.errors import TransitionNotAllowed
from sync_engine.states import ECO_EVENTS, EcoProgress, eco_allowed
from sync_engine.store.outbox import emit
from sync_engine.store.steps import DONE
from threadline.db import insert_ignoring_conflicts

NOT_PLANT_WORK = (
    StepKind.SUPPLIER_NOTICE.value,
    *sorted(kind.value for kind in COMPENSATION_KINDS | PURCHASING_KINDS),
)


def move_eco(
    connection: sa.Connection,
    number: str,
    old: EcoProgress | None,
    new: EcoProgress,
    data: ev.EventData,
    *,
    now: datetime,
    **values: Any,
) -> bool:
    """Move an ECO from ``old`` to ``new``, setting ``values`` too, and emit ``data``, the
    event that records it, in the same transaction.

    ``old`` is ``None`` for an ECO not stored yet, whose columns ``values`` then hold. The
    pair must be allowed (:class:`TransitionNotAllowed` otherwise) and ``data`` must be the
    new state's event. Returns ``False``, writing nothing, if the ECO is no longer in
    ``old`` (or, when new, is already stored).
    """
    if not eco_allowed(old, new):
        raise TransitionNotAllowed(f"{number}: {old} -> {new} is not allowed")
    if not isinstance(data, ECO_EVENTS[new]):
        raise TypeError(f"{type(data).__name__} does not record an ECO becoming {new}")
    if old is None:
        row = {**values, "number": number, "state": new.value}
        moved = insert_ignoring_conflicts(connection, t.ecos, [row])
    else:
        moved = connection.execute(
            sa.update(t.ecos)
            .where(t.ecos.c.number == number)
            .where(t.ecos.c.state == old.value)
            .values({**values, "state": new.value})
        ).rowcount
    if moved != 1:
        return False
    emit(connection, data, now=now)
    if old is not None:
        logbook.eco_moved(number, new.value)
    return True


def eco_progress(
    connection: sa.Connection, number: str, *, lock: bool = False
) -> EcoProgress | None:
    """Where a stored ECO stands; ``lock`` holds its row until the transaction ends."""
    query = sa.select(t.ecos.c.state).where(t.ecos.c.number == number)
    state = connection.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    return None if state is None else EcoProgress(state)


def eco_row(connection: sa.Connection, number: str) -> sa.Row[Any] | None:
    """The stored ECO, if the engine has seen it."""
    return connection.execute(sa.select(t.ecos).where(t.ecos.c.number == number)).one_or_none()


def eco_states(
    connection: sa.Connection, numbers: Sequence[str] | None = None
) -> dict[str, EcoProgress]:
    """The engine state of each of ``numbers`` it knows (of every known ECO without)."""
    query = sa.select(t.ecos.c.number, t.ecos.c.state)
    if numbers is not None:
        query = query.where(t.ecos.c.number.in_(sorted(set(numbers))))
    rows = connection.execute(query).all()
    return {row.number: EcoProgress(row.state) for row in rows}


def record_eco(
    connection: sa.Connection,
    eco: Eco,
    items: Mapping[str, Item],
    planned: Sequence[PlannedStep],
    *,
    now: datetime,
    plm_updated_at: datetime | None = None,
    old: EcoProgress | None = None,
    traceparent: str | None = None,
) -> bool:
    """Store a newly approved ECO with its planned steps (all ``waiting``); ``old`` is
    :attr:`EcoProgress.REJECTED` when PLM corrected an ECO the engine had refused.

    ``traceparent`` is the root of the ECO's trace: its steps' spans and events carry it.
    Returns ``False`` (and writes nothing) if the ECO is already known (or no longer in
    ``old``), so polling the same ECO twice, from one engine or two, plans it once.
    """
    families = sorted({items[i].product_family for i in eco.items if i in items})
    notified = [s.supplier for s in planned if s.kind is StepKind.SUPPLIER_NOTICE and s.supplier]
    approved = {s.supplier for s in planned if s.kind is StepKind.ERP_INFO_RECORD}
    added = [s for s in notified if s not in eco.suppliers]
    not_approved = [s for s in eco.suppliers if approved and s not in approved]
    received = ev.EcoReceived(
        eco=eco.number,
        title=eco.title,
        approved_at=eco.approved_at,
        effectivity=eco.effectivity,
        items=list(eco.items),
        revisions={a.item: a.new_revision for a in eco.affected_items},
        product_families=families,
        plants=list(eco.plants),
        suppliers=notified,
        steps=len(planned),
        suppliers_added=added or None,
        suppliers_not_approved=not_approved or None,
    )
    if not move_eco(
        connection,
        eco.number,
        old,
        EcoProgress.IN_PROGRESS,
        received,
        now=now,
        title=eco.title,
        plm_status=eco.status.value,
        approved_at=eco.approved_at,
        effectivity=eco.effectivity,
        plm_updated_at=plm_updated_at,
        received_at=now,
        document=eco.model_dump(mode="json"),
        product_family=families[0] if families else None,
        traceparent=traceparent,
    ):
        return False
    insert_steps(connection, planned, eco.approved_at, StepState.WAITING, now, traceparent)
    logbook.eco_planned(eco.number, len(planned), traceparent)
    return True


def insert_steps(
    connection: sa.Connection,
    planned: Sequence[PlannedStep],
    approved_at: datetime,
    state: StepState,
    now: datetime,
    traceparent: str | None = None,
) -> None:
    """Store planned steps in ``state`` with their dependencies; emit ``step.scheduled``.

    ``traceparent`` is the root of their ECO's trace."""
    if not planned:
        return
    connection.execute(
        sa.insert(t.steps),
        [
            {
                "step_id": p.step_id,
                "eco": p.eco,
                "eco_approved_at": approved_at,
                "kind": p.kind.value,
                "system": p.system.value,
                "plant": p.plant,
                "item": p.item,
                "revision": p.revision,
                "supplier": p.supplier,
                "state": state.value,
                "attempt": 0,
                "generation": 0,
                "idempotency_key": p.idempotency_key,
                "payload": p.payload,
                "created_at": now,
                "updated_at": now,
                "traceparent": traceparent,
            }
            for p in planned
        ],
    )
    dependencies = [{"step_id": p.step_id, "depends_on": d} for p in planned for d in p.depends_on]
    if dependencies:
        connection.execute(sa.insert(t.step_dependencies), dependencies)
    for p in planned:
        emit(
            connection,
            ev.StepScheduled(
                eco=p.eco,
                step_id=p.step_id,
                kind=p.kind,
                system=p.system,
                plant=p.plant,
                item=p.item,
                revision=p.revision,
                supplier=p.supplier,
                from_state=None,
                to_state=state,
                idempotency_key=p.idempotency_key,
            ),
            now=now,
            traceparent=traceparent,
        )


def record_rejected(
    connection: sa.Connection,
    number: str,
    violations: Sequence[ev.Violation],
    document: Mapping[str, Any],
    *,
    now: datetime,
    plm_updated_at: datetime | None = None,
    old: EcoProgress | None = None,
) -> bool:
    """Record an ECO that broke the contract and emit ``eco.rejected`` once per version
    PLM published: ``old`` is :attr:`EcoProgress.REJECTED` for a correction that still
    breaks it (the event then names the violations left)."""
    rejected = move_eco(
        connection,
        number,
        old,
        EcoProgress.REJECTED,
        ev.EcoRejected(
            eco=number,
            violations=list(violations),
            title=str(document.get("title") or "")[:200] or None,
        ),
        now=now,
        title=str(document.get("title") or "")[:200],
        plm_status=str(document.get("status") or "approved")[:20],
        plm_updated_at=plm_updated_at,
        received_at=now,
        document=dict(document),
    )
    if rejected:
        logbook.eco_rejected(number, violations)
    return rejected


def rejected_documents(connection: sa.Connection, numbers: Sequence[str]) -> dict[str, Any]:
    """The document PLM last published of each rejected ECO among ``numbers``, so a
    version read again is told from a correction."""
    if not numbers:
        return {}
    rows = connection.execute(
        sa.select(t.ecos.c.number, t.ecos.c.document)
        .where(t.ecos.c.number.in_(sorted(set(numbers))))
        .where(t.ecos.c.state == EcoProgress.REJECTED.value)
    ).all()
    return {str(row.number): row.document for row in rows}


def eco_cancelled(connection: sa.Connection, number: str) -> bool:
    """Whether the ECO was cancelled (a step of it that ends now stops)."""
    return eco_progress(connection, number) is EcoProgress.CANCELLED


def cancelled_among(connection: sa.Connection, numbers: set[str]) -> set[str]:
    """The cancelled ECOs among ``numbers``."""
    if not numbers:
        return set()
    rows = connection.execute(
        sa.select(t.ecos.c.number)
        .where(t.ecos.c.number.in_(sorted(numbers)))
        .where(t.ecos.c.state == EcoProgress.CANCELLED.value)
    ).all()
    return {str(row.number) for row in rows}


def maybe_production_ready(connection: sa.Connection, number: str, now: datetime) -> bool:
    """Mark one ECO production-ready if its plant work is all done (see below)."""
    return bool(production_ready_many(connection, {number}, now))


def production_ready_many(connection: sa.Connection, numbers: set[str], now: datetime) -> list[str]:
    """Mark the ECOs among ``numbers`` whose plant work is all done production-ready and
    emit ``eco.production_ready`` for each, once."""
    if not numbers:
        return []
    candidates = sorted(numbers)
    still_open = {
        str(row.eco)
        for row in connection.execute(
            sa.select(t.steps.c.eco)
            .where(t.steps.c.eco.in_(candidates))
            .where(t.steps.c.kind.not_in(NOT_PLANT_WORK))
            .where(t.steps.c.state.not_in(DONE))
            .distinct()
        ).all()
    }
    ready = [n for n in candidates if n not in still_open]
    if not ready:
        return []
    rows = connection.execute(
        sa.select(
            t.ecos.c.number, t.ecos.c.approved_at, t.ecos.c.first_confirmed_at, t.ecos.c.document
        )
        .where(t.ecos.c.number.in_(ready))
        .where(t.ecos.c.state == EcoProgress.IN_PROGRESS.value)
        .with_for_update()
    ).all()
    moved = []
    for row in sorted(rows, key=lambda r: str(r.number)):
        approved_at: datetime = row.approved_at
        event = ev.EcoProductionReady(
            eco=row.number,
            approved_at=approved_at,
            erp_confirmed_at=row.first_confirmed_at,
            production_ready_at=now,
            cycle_time_seconds=max(0.0, (now - approved_at).total_seconds()),
            plants=list(row.document.get("plants", [])),
        )
        if move_eco(
            connection,
            row.number,
            EcoProgress.IN_PROGRESS,
            EcoProgress.PRODUCTION_READY,
            event,
            now=now,
            production_ready_at=now,
        ):
            moved.append(str(row.number))
    return moved
