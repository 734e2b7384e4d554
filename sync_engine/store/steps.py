"""Stored steps: the record as read, the one writer of a step's state (:func:`apply_moves`
and :func:`transition`, checked against :data:`sync_engine.states.TRANSITIONS`), and the
queries that read steps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict

from contracts import events as ev
from contracts.steps import DONE_STATES, StepKind, StepState, System
from sync_engine import logbook
from sync_engine import tables as t
from sync_engine.errors import CallError, StaleStep, TransitionNotAllowed
from sync_engine.states import allowed
from sync_engine.store.outbox import emit, lock_outbox

DONE = tuple(s.value for s in DONE_STATES)


FINAL = tuple(s.value for s in StepState if s.is_final)


class StepRecord(BaseModel):
    """A stored step, as read; field names are the column names."""

    model_config = ConfigDict(frozen=True)

    step_id: str
    eco: str
    eco_approved_at: datetime
    kind: StepKind
    system: System
    plant: str | None
    item: str | None
    revision: str | None
    supplier: str | None
    state: StepState
    attempt: int
    generation: int
    next_attempt_at: datetime | None
    lease_until: datetime | None
    lease_holder: str | None
    idempotency_key: str
    payload: dict[str, Any]
    external_id: str | None
    external_status: str | None
    production_version: str | None
    requested_at: datetime | None
    overdue_at: datetime | None
    last_error_category: str | None
    last_error_code: str | None
    last_error_message: str | None
    last_error_status: int | None
    fingerprint: str | None
    created_at: datetime
    updated_at: datetime
    traceparent: str | None


def step_record(row: sa.Row[Any]) -> StepRecord:
    return StepRecord.model_validate(dict(row._mapping))


def fingerprint(kind: StepKind, code: str) -> str:
    """Groups like failures: the same kind of step failing with the same code."""
    return f"{kind.value}:{code}"


def step_error(kind: StepKind, error: CallError) -> ev.StepError:
    """The event form of a classified call error."""
    return ev.StepError(
        category=error.category,
        code=error.code,
        message=error.message[:2000],
        http_status=error.http_status,
        fingerprint=fingerprint(kind, error.code),
    )


@dataclass(frozen=True)
class Move:
    """One requested state change of a step, with the columns it sets."""

    step: StepRecord
    to: StepState
    changes: Mapping[str, Any] = field(default_factory=dict)
    error: ev.StepError | None = None
    reason: str | None = None
    actor: str | None = None
    event_fields: Mapping[str, Any] | None = None


def apply_moves(
    connection: sa.Connection, moves: Sequence[Move], *, now: datetime, locked: bool = False
) -> list[StepRecord | None]:
    """Apply state changes in bulk: the one place a step's state changes.

    Every move is checked against the transition table (:class:`TransitionNotAllowed`
    otherwise). A move applies only while its step is still in the state (and, when
    running, under the lease) it was read in: the current rows are read and locked first,
    and a stale move yields ``None`` and writes nothing. Each applied move writes its step
    event to the outbox in the same transaction. ``locked`` says the caller read (and
    locked) these very rows in this transaction, so they need no second read.
    """
    for move in moves:
        if not allowed(move.step.state, move.to):
            raise TransitionNotAllowed(
                f"{move.step.step_id}: {move.step.state} -> {move.to} is not allowed"
            )
    if not moves:
        return []
    lock_outbox(connection)
    ids = list({m.step.step_id for m in moves})
    current: dict[str, tuple[str, str | None]] = {}
    if locked:
        current = {m.step.step_id: (m.step.state.value, m.step.lease_holder) for m in moves}
    for chunk in range(0, 0 if locked else len(ids), 500):
        rows = connection.execute(
            sa.select(t.steps.c.step_id, t.steps.c.state, t.steps.c.lease_holder)
            .where(t.steps.c.step_id.in_(ids[chunk : chunk + 500]))
            .with_for_update()
        ).all()
        current.update({row.step_id: (row.state, row.lease_holder) for row in rows})
    results: list[StepRecord | None] = []
    applied: list[tuple[Move, StepRecord]] = []
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for move in moves:
        step = move.step
        state, holder = current.pop(step.step_id, (None, None))
        if state != step.state.value or (
            step.state is StepState.RUNNING and holder != step.lease_holder
        ):
            results.append(None)
            continue
        values: dict[str, Any] = {"state": move.to.value, "updated_at": now, **move.changes}
        if move.error is not None:
            values.update(
                last_error_category=move.error.category.value,
                last_error_code=move.error.code,
                last_error_message=move.error.message,
                last_error_status=move.error.http_status,
                fingerprint=move.error.fingerprint,
            )
        groups.setdefault(tuple(sorted(values)), []).append(
            {"b_step_id": step.step_id, **{f"b_{k}": v for k, v in values.items()}}
        )
        updated = step.model_copy(update={**values, "state": move.to})
        applied.append((move, updated))
        results.append(updated)
    for keys, params in groups.items():
        statement = (
            sa.update(t.steps)
            .where(t.steps.c.step_id == sa.bindparam("b_step_id"))
            .values({key: sa.bindparam(f"b_{key}", type_=t.steps.c[key].type) for key in keys})
        )
        connection.execute(statement, params)
    for move, updated in applied:
        _step_event(connection, move, updated, now)
        _log_move(move, updated)
    return results


def _log_move(move: Move, updated: StepRecord) -> None:
    step = move.step
    logbook.step_moved(
        eco=step.eco,
        step=step.step_id,
        kind=step.kind.value,
        plant=step.plant,
        target=step.item or step.supplier,
        supplier=step.supplier,
        to=updated.state,
        traceparent=step.traceparent,
        code=move.error.code if move.error else None,
        message=move.error.message if move.error else None,
        reason=move.reason,
    )


def _step_event(connection: sa.Connection, move: Move, updated: StepRecord, now: datetime) -> None:
    step = move.step
    data = ev.step_transition(
        move.to,
        eco=step.eco,
        step_id=step.step_id,
        kind=step.kind,
        system=step.system,
        plant=step.plant,
        item=step.item,
        revision=step.revision,
        supplier=step.supplier,
        from_state=step.state,
        attempt=updated.attempt,
        idempotency_key=updated.idempotency_key,
        error=move.error,
        next_attempt_at=updated.next_attempt_at,
        reason=move.reason,
        actor=move.actor,
        **(move.event_fields or {}),
    )
    emit(connection, data, now=now, traceparent=step.traceparent)


def transition(
    connection: sa.Connection,
    step: StepRecord,
    to: StepState,
    *,
    now: datetime,
    error: ev.StepError | None = None,
    reason: str | None = None,
    actor: str | None = None,
    event_fields: Mapping[str, Any] | None = None,
    **changes: Any,
) -> StepRecord:
    """Move one step (see :func:`apply_moves`); :class:`StaleStep` if it changed under us."""
    (updated,) = apply_moves(
        connection,
        [Move(step, to, changes, error, reason, actor, event_fields)],
        now=now,
    )
    if updated is None:
        raise StaleStep(f"{step.step_id} is no longer {step.state}")
    return updated


def get_step(connection: sa.Connection, step_id: str) -> StepRecord | None:
    """One step by id."""
    row = connection.execute(sa.select(t.steps).where(t.steps.c.step_id == step_id)).one_or_none()
    return None if row is None else step_record(row)


def steps_of(connection: sa.Connection, eco: str) -> list[StepRecord]:
    """Every step of an ECO, in plan order of creation."""
    rows = connection.execute(
        sa.select(t.steps).where(t.steps.c.eco == eco).order_by(t.steps.c.created_at)
    ).all()
    return [step_record(row) for row in rows]


def find_steps(
    connection: sa.Connection,
    *,
    states: Iterable[StepState] | None = None,
    kind: StepKind | None = None,
    fingerprint: str | None = None,
    eco: str | None = None,
    plant: str | None = None,
    step_ids: Sequence[str] | None = None,
    lock: bool = False,
) -> list[StepRecord]:
    """Steps matching every given filter, oldest first."""
    query = sa.select(t.steps)
    if states is not None:
        query = query.where(t.steps.c.state.in_([s.value for s in states]))
    if kind is not None:
        query = query.where(t.steps.c.kind == kind.value)
    if fingerprint is not None:
        query = query.where(t.steps.c.fingerprint == fingerprint)
    if eco is not None:
        query = query.where(t.steps.c.eco == eco)
    if plant is not None:
        query = query.where(t.steps.c.plant == plant)
    if step_ids is not None:
        query = query.where(t.steps.c.step_id.in_(list(step_ids)))
    query = query.order_by(t.steps.c.eco_approved_at, t.steps.c.step_id)
    if lock:
        query = query.with_for_update()
    return [step_record(row) for row in connection.execute(query).all()]


def count_by_state(connection: sa.Connection) -> dict[str, int]:
    """How many steps are in each state."""
    rows = connection.execute(
        sa.select(t.steps.c.state, sa.func.count()).group_by(t.steps.c.state)
    ).all()
    return {str(state): int(count) for state, count in rows}
