"""The SLA sweep: every in-flight step and ECO against its stage's due time.

Each sweep reads the steps not yet settled (and those still marked overdue) and the ECOs
in progress, works out the stage each is in now (:func:`contracts.sla.stage_of`; a
waiting step counts only while an earlier ECO holds it), and compares with the stage it
remembered (``sla_stage``, ``sla_since``):

- a new stage starts its clock (when the step entered its state; a confirmation's when
  it was requested) and resolves the old one's overdue mark with ``sla.work_resolved``;
- past the due time, once: ``overdue_at`` is set and ``sla.work_overdue`` emitted;
- finished work (succeeded, skipped, cancelled; an ECO production-ready or cancelled)
  resolves its mark.

An ECO's planning stage (PLM approval until planned) is known only once planned, so it is
checked once, the first time the sweep sees the ECO: planned late, it is reported overdue
and resolved together. ECO stages use the product family's overrides only (an ECO spans
plants and suppliers). The sweep runs under a lease, so one engine reports each crossing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from contracts.operator_events import WorkOverdue, WorkResolved
from contracts.sla import SlaPolicy, Stage, stage_of
from contracts.steps import FINAL_STATES, StepKind, StepState
from sync_engine import logbook
from sync_engine import tables as t
from sync_engine.states import EcoProgress
from sync_engine.store.claims import waiting_behind
from sync_engine.store.outbox import emit

SWEEP_LIMIT = 5000
"""Most steps one sweep looks at (the oldest first); the rest wait for the next sweep."""


def sweep_slas(connection: sa.Connection, policy: SlaPolicy, *, now: datetime) -> int:
    """Check every in-flight step and ECO against ``policy``; return the events emitted."""
    families = _families(connection)
    return _sweep_steps(connection, policy, families, now) + _sweep_ecos(connection, policy, now)


def _families(connection: sa.Connection) -> dict[str, str | None]:
    rows = connection.execute(
        sa.select(t.ecos.c.number, t.ecos.c.product_family).where(
            t.ecos.c.state == EcoProgress.IN_PROGRESS.value
        )
    )
    return {str(row.number): row.product_family for row in rows}


def _sweep_steps(
    connection: sa.Connection, policy: SlaPolicy, families: dict[str, str | None], now: datetime
) -> int:
    s = t.steps
    rows = connection.execute(
        sa.select(
            s.c.step_id,
            s.c.eco,
            s.c.kind,
            s.c.plant,
            s.c.item,
            s.c.supplier,
            s.c.state,
            s.c.attempt,
            s.c.requested_at,
            s.c.updated_at,
            s.c.sla_stage,
            s.c.sla_since,
            s.c.overdue_at,
        )
        .where(
            sa.or_(
                s.c.state.not_in([state.value for state in FINAL_STATES]),
                s.c.sla_stage.is_not(None),
            )
        )
        .order_by(s.c.updated_at)
        .limit(SWEEP_LIMIT)
    ).all()
    waiting = [str(r.step_id) for r in rows if r.state == StepState.WAITING]
    held = waiting_behind(connection, waiting)
    emitted = 0
    marks: dict[str, dict[str, Any]] = {}
    for row in rows:
        stage = stage_of(row.kind, row.state, row.attempt, held=str(row.step_id) in held)
        family = families.get(str(row.eco))
        emitted += _check_step(connection, policy, row, stage, family, now, marks)
    _write_marks(connection, marks)
    return emitted


def _write_marks(connection: sa.Connection, marks: dict[str, dict[str, Any]]) -> None:
    """Write the sweep's SLA marks: one statement per column set, not one per step."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for step_id, values in marks.items():
        groups.setdefault(tuple(sorted(values)), []).append(
            {"b_step_id": step_id, **{f"b_{k}": v for k, v in values.items()}}
        )
    s = t.steps
    for keys, params in groups.items():
        connection.execute(
            sa.update(s)
            .where(s.c.step_id == sa.bindparam("b_step_id"))
            .values({key: sa.bindparam(f"b_{key}", type_=s.c[key].type) for key in keys}),
            params,
        )


def _check_step(
    connection: sa.Connection,
    policy: SlaPolicy,
    row: Any,
    stage: Stage | None,
    family: str | None,
    now: datetime,
    marks: dict[str, dict[str, Any]],
) -> int:
    """Check one step; the columns to write go into ``marks`` (by step id)."""
    # A stage begins when the step entered its state: a confirmation when it was
    # requested; a hold behind an earlier ECO when the sweep first sees it.
    since = now if stage is Stage.WAITING else row.updated_at
    if stage is Stage.ERP_CONFIRMATION and row.requested_at is not None:
        since = row.requested_at
    same = row.sla_stage == (stage.value if stage else None) and (
        stage is not Stage.ERP_CONFIRMATION or row.sla_since == since
    )
    emitted = 0
    overdue_at = row.overdue_at
    if not same:
        if overdue_at is not None:
            emit(connection, _resolution(policy, row, family, now), now=now)
            emitted += 1
        marks[str(row.step_id)] = {
            "sla_stage": stage.value if stage else None,
            "sla_since": since if stage else None,
            "overdue_at": None,
        }
        overdue_at = None
        if stage is None:
            return emitted
    else:
        since = row.sla_since or since
    if stage is None or overdue_at is not None:
        return emitted
    seconds = _step_seconds(policy, stage, row, family)
    due_at = policy.due(since, seconds)
    if due_at is None or now <= due_at:
        return emitted
    marks.setdefault(str(row.step_id), {})["overdue_at"] = now
    data = WorkOverdue(**_step_fields(row, stage), since=since, due_at=due_at, sla_seconds=seconds)
    emit(connection, data, now=now)
    logbook.work_overdue(data)
    return emitted + 1


def _step_seconds(policy: SlaPolicy, stage: Stage, row: Any, family: str | None) -> float:
    return policy.seconds(
        stage, kind=row.kind, plant=row.plant, supplier=row.supplier, family=family
    )


def _step_fields(row: Any, stage: Stage) -> dict[str, Any]:
    return {
        "stage": stage,
        "eco": row.eco,
        "step_id": row.step_id,
        "kind": StepKind(row.kind),
        "plant": row.plant,
        "item": row.item,
        "supplier": row.supplier,
    }


def _resolution(policy: SlaPolicy, row: Any, family: str | None, now: datetime) -> WorkResolved:
    """The resolution of the overdue mark a step carries for its remembered stage."""
    stage = Stage(row.sla_stage)
    since = row.sla_since or row.overdue_at
    seconds = _step_seconds(policy, stage, row, family)
    due_at = policy.due(since, seconds) or row.overdue_at
    return WorkResolved(
        **_step_fields(row, stage),
        since=since,
        due_at=due_at,
        sla_seconds=seconds,
        overdue_seconds=max(0.0, (now - due_at).total_seconds()),
    )


def _sweep_ecos(connection: sa.Connection, policy: SlaPolicy, now: datetime) -> int:
    e = t.ecos
    rows = connection.execute(
        sa.select(
            e.c.number,
            e.c.state,
            e.c.approved_at,
            e.c.received_at,
            e.c.product_family,
            e.c.sla_stage,
            e.c.overdue_at,
        ).where(
            sa.or_(
                e.c.state == EcoProgress.IN_PROGRESS.value,
                e.c.overdue_at.is_not(None),
                e.c.sla_stage.is_(None),
            )
        )
    ).all()
    emitted = 0
    planned = [str(row.number) for row in rows if row.approved_at and row.sla_stage is None]
    if planned:
        # The planning stage is checked once: from now on the ECO is in its ECO stage.
        connection.execute(
            sa.update(e)
            .where(e.c.number == sa.bindparam("b_number"))
            .values(sla_stage=Stage.ECO.value),
            [{"b_number": number} for number in planned],
        )
    for row in rows:
        if row.approved_at is None:
            continue
        in_flight = row.state == EcoProgress.IN_PROGRESS
        if row.sla_stage is None:
            emitted += _check_planning(connection, policy, row, now, report=in_flight)
        seconds = policy.seconds(Stage.ECO, family=row.product_family)
        due_at = policy.due(row.approved_at, seconds)
        if due_at is None:
            continue
        work = {"stage": Stage.ECO, "eco": row.number, "since": row.approved_at}
        work |= {"due_at": due_at, "sla_seconds": seconds}
        if in_flight and row.overdue_at is None and now > due_at:
            _mark_eco(connection, row.number, now)
            overdue = WorkOverdue(**work)
            emit(connection, overdue, now=now)
            logbook.work_overdue(overdue)
            emitted += 1
        elif not in_flight and row.overdue_at is not None:
            _mark_eco(connection, row.number, None)
            late = max(0.0, (now - due_at).total_seconds())
            emit(connection, WorkResolved(**work, overdue_seconds=late), now=now)
            emitted += 1
    return emitted


def _check_planning(
    connection: sa.Connection, policy: SlaPolicy, row: Any, now: datetime, *, report: bool
) -> int:
    """Check once how long the ECO took to be planned (``report``: only while in flight,
    so ECOs finished before the sweep existed are not reported); the caller marks it
    checked."""
    if not report:
        return 0
    seconds = policy.seconds(Stage.PLANNING, family=row.product_family)
    due_at = policy.due(row.approved_at, seconds)
    if due_at is None or row.received_at <= due_at:
        return 0
    work = {"stage": Stage.PLANNING, "eco": row.number, "since": row.approved_at}
    work |= {"due_at": due_at, "sla_seconds": seconds}
    late = (row.received_at - due_at).total_seconds()
    overdue = WorkOverdue(**work)
    emit(connection, overdue, now=now)
    logbook.work_overdue(overdue)
    emit(connection, WorkResolved(**work, overdue_seconds=late), now=now)
    return 2


def _mark_eco(connection: sa.Connection, number: str, overdue_at: datetime | None) -> None:
    connection.execute(
        sa.update(t.ecos).where(t.ecos.c.number == number).values(overdue_at=overdue_at)
    )
