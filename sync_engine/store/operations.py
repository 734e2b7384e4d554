"""Operations: every operator action that changes steps, followed to its end.

An operation (:func:`start_operation`, in the command's own transaction) names the steps
the action touched and those it left out, with why. :func:`follow_operations` (an engine
job) reads each open operation's steps: a step in a settled state (succeeded, failed,
blocked, skipped, cancelled) records how it ended; once every step has, the operation is
``done`` with a summary such as ``done: 10 succeeded, 2 failed again
(INVALID_SUPPLIER_CONTACT)`` and an ``operation_completed`` event. Until then it is
``queued`` (no step picked up yet) or ``running``: it never reads as a success early.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict

from contracts.operator_events import OperationCompleted
from contracts.steps import OperatorAction, StepState
from sync_engine import tables as t
from sync_engine.store.outbox import emit, lock_outbox

S = StepState

SETTLED = frozenset({S.SUCCEEDED, S.FAILED, S.BLOCKED, S.SKIPPED, S.CANCELLED})
"""States in which a step has answered the operation: nothing more happens without a person."""
FAILED_AGAIN = frozenset({S.FAILED, S.BLOCKED})


class OperationStatus(StrEnum):
    """Where an operation stands."""

    QUEUED = "queued"  # its steps wait to be picked up
    RUNNING = "running"  # some steps are running, retrying or have settled
    DONE = "done"  # every step settled


class OperationStep(BaseModel):
    """One step of an operation: its current state and, once settled, how it ended."""

    model_config = ConfigDict(frozen=True)

    step_id: str
    state: StepState | None
    outcome: StepState | None
    code: str | None
    settled_at: datetime | None


class Operation(BaseModel):
    """An operation as stored, with its steps."""

    model_config = ConfigDict(frozen=True)

    id: str
    action: OperatorAction
    actor: str
    role: str | None
    reason: str
    status: OperationStatus
    summary: str
    filter: dict[str, Any] | None
    left_out: list[dict[str, str]]
    created_at: datetime
    finished_at: datetime | None
    steps: list[OperationStep]


def new_operation_id() -> str:
    """A short unique operation id."""
    return f"op-{uuid.uuid4().hex[:12]}"


def start_operation(
    connection: sa.Connection,
    *,
    action: OperatorAction,
    actor: str,
    role: str | None,
    reason: str,
    step_ids: Sequence[str],
    now: datetime,
    left_out: Mapping[str, str] | None = None,
    filter: dict[str, Any] | None = None,
    operation_id: str | None = None,
) -> str:
    """Record a new operation over ``step_ids``; ``left_out`` maps the steps it was asked
    about but left alone to why. Returns its id."""
    operation_id = operation_id or new_operation_id()
    ids = list(dict.fromkeys(step_ids))
    connection.execute(
        sa.insert(t.operations).values(
            id=operation_id,
            action=action.value,
            actor=actor,
            role=role,
            reason=reason,
            status=OperationStatus.QUEUED.value,
            summary=f"queued: {_steps(len(ids))}",
            filter=filter,
            left_out=[{"step_id": k, "why": v} for k, v in (left_out or {}).items()],
            created_at=now,
        )
    )
    if ids:
        rows = [{"operation_id": operation_id, "step_id": step_id} for step_id in ids]
        connection.execute(sa.insert(t.operation_steps), rows)
    return operation_id


def _steps(n: int) -> str:
    return f"{n} step" + ("" if n == 1 else "s")


def summary(status: OperationStatus, steps: Sequence[OperationStep]) -> str:
    """How an operation reads: ``done: 10 succeeded, 2 failed again (CODE)`` when every
    step settled, else what is settled so far and what is still on its way."""
    outcomes = Counter(s.outcome for s in steps if s.outcome is not None)
    codes = Counter(s.code or "unclassified" for s in steps if s.outcome in FAILED_AGAIN)
    parts = []
    if outcomes[S.SUCCEEDED]:
        parts.append(f"{outcomes[S.SUCCEEDED]} succeeded")
    failed = outcomes[S.FAILED] + outcomes[S.BLOCKED]
    if failed:
        parts.append(f"{failed} failed again ({', '.join(sorted(codes))})")
    parts.extend(f"{outcomes[s]} {s.value}" for s in (S.SKIPPED, S.CANCELLED) if outcomes[s])
    if status is OperationStatus.DONE:
        return "done: " + (", ".join(parts) or "no steps")
    open_states = Counter(s.state for s in steps if s.outcome is None)
    retrying = open_states[S.RETRYING]
    running = open_states[S.RUNNING] + open_states[S.AWAITING_CONFIRMATION]
    waiting = sum(open_states.values()) - retrying - running
    if running:
        parts.append(f"{running} running")
    if retrying:
        parts.append(f"{retrying} still retrying")
    if waiting:
        parts.append(f"{waiting} queued")
    return f"{status.value}: " + ", ".join(parts)


def _operation_rows(connection: sa.Connection, where: Any, limit: int | None) -> list[Operation]:
    query = sa.select(t.operations).where(where).order_by(t.operations.c.created_at.desc())
    if limit is not None:
        query = query.limit(limit)
    rows = connection.execute(query).all()
    if not rows:
        return []
    ids = [row.id for row in rows]
    step_rows = connection.execute(
        sa.select(
            t.operation_steps.c.operation_id,
            t.operation_steps.c.step_id,
            t.operation_steps.c.outcome,
            t.operation_steps.c.code,
            t.operation_steps.c.settled_at,
            t.steps.c.state,
        )
        .select_from(
            t.operation_steps.outerjoin(t.steps, t.steps.c.step_id == t.operation_steps.c.step_id)
        )
        .where(t.operation_steps.c.operation_id.in_(ids))
        .order_by(t.operation_steps.c.step_id)
    ).all()
    by_operation: dict[str, list[OperationStep]] = {i: [] for i in ids}
    for row in step_rows:
        by_operation[row.operation_id].append(
            OperationStep(
                step_id=row.step_id,
                state=row.state,
                outcome=row.outcome,
                code=row.code,
                settled_at=row.settled_at,
            )
        )
    return [
        Operation.model_validate(
            {**row._mapping, "summary": row.summary or "", "steps": by_operation[row.id]}
        )
        for row in rows
    ]


def get_operation(connection: sa.Connection, operation_id: str) -> Operation | None:
    """One operation with its steps."""
    found = _operation_rows(connection, t.operations.c.id == operation_id, None)
    return found[0] if found else None


def recent_operations(
    connection: sa.Connection, *, limit: int = 50, open_only: bool = False
) -> list[Operation]:
    """The newest operations first (only those not done, with ``open_only``)."""
    where: Any = sa.true()
    if open_only:
        where = t.operations.c.status != OperationStatus.DONE.value
    return _operation_rows(connection, where, limit)


def follow_operations(connection: sa.Connection, *, now: datetime) -> list[str]:
    """Record how each open operation's steps ended; finish those whose steps all settled
    (with their ``operation_completed`` event). Returns the ids finished."""
    # Taken first, as every outbox writer does; it also keeps two engines from finishing
    # the same operation twice.
    lock_outbox(connection)
    finished = []
    for operation in _operation_rows(
        connection, t.operations.c.status != OperationStatus.DONE.value, None
    ):
        steps = []
        for step in operation.steps:
            if step.outcome is None and (step.state is None or step.state in SETTLED):
                step = _settle(connection, operation.id, step, now)
            steps.append(step)
        status = OperationStatus.QUEUED
        if all(s.outcome is not None for s in steps):
            status = OperationStatus.DONE
        elif any(s.outcome is not None or s.state not in (S.PENDING, S.WAITING) for s in steps):
            status = OperationStatus.RUNNING
        said = summary(status, steps)
        if status is operation.status and said == operation.summary:
            continue
        values: dict[str, Any] = {"status": status.value, "summary": said}
        if status is OperationStatus.DONE:
            values["finished_at"] = now
            emit(connection, _completed(operation, steps, said), now=now)
            finished.append(operation.id)
        connection.execute(
            sa.update(t.operations).where(t.operations.c.id == operation.id).values(values)
        )
    return finished


def _settle(
    connection: sa.Connection, operation_id: str, step: OperationStep, now: datetime
) -> OperationStep:
    # A step gone from the store (never expected) counts as cancelled, so the operation ends.
    outcome = step.state or S.CANCELLED
    code = None
    if outcome in FAILED_AGAIN:
        code = connection.execute(
            sa.select(t.steps.c.last_error_code).where(t.steps.c.step_id == step.step_id)
        ).scalar()
    connection.execute(
        sa.update(t.operation_steps)
        .where(
            t.operation_steps.c.operation_id == operation_id,
            t.operation_steps.c.step_id == step.step_id,
        )
        .values(outcome=outcome.value, code=code, settled_at=now)
    )
    return step.model_copy(update={"outcome": outcome, "code": code, "settled_at": now})


def _completed(
    operation: Operation, steps: Sequence[OperationStep], said: str
) -> OperationCompleted:
    outcomes = Counter(s.outcome for s in steps)
    ecos = {s.step_id.split("/", 1)[0] for s in steps}
    return OperationCompleted(
        operation_id=operation.id,
        action=operation.action,
        actor=operation.actor,
        role=operation.role,
        reason=operation.reason,
        eco=ecos.pop() if len(ecos) == 1 else None,
        steps=len(steps),
        succeeded=outcomes[S.SUCCEEDED],
        failed_again=outcomes[S.FAILED] + outcomes[S.BLOCKED],
        skipped=outcomes[S.SKIPPED],
        cancelled=outcomes[S.CANCELLED],
        codes=dict(Counter(s.code or "unclassified" for s in steps if s.outcome in FAILED_AGAIN)),
        summary=said,
        started_at=operation.created_at,
    )
