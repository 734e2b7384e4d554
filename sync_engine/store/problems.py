"""What people said about inbox problems, and when each problem ended.

A problem is keyed by what it is about (:func:`step_key`, :func:`eco_key`,
:func:`drift_key`); the inbox (``dashboards.inbox``) finds the problems themselves in the
step, ECO and drift records. Here live only their status (new, acknowledged by whom,
resolved), assignee and notes: a problem nobody touched has no row and reads ``new``.
:func:`resolve_settled` (an engine job) marks a problem resolved once its step succeeded,
was skipped or cancelled, its ECO is no longer rejected, or its drift closed; each
change writes an ``operator.action`` event, so the audit trail holds every one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field

from contracts.operator_events import OperatorActionTaken
from contracts.steps import DONE_STATES, OperatorAction, StepState
from sync_engine import tables as t
from sync_engine.states import EcoProgress
from sync_engine.store.outbox import emit, lock_outbox

ENGINE_ACTOR = "engine"
"""Who resolves a problem whose cause went away."""


class ProblemStatus(StrEnum):
    """Where a problem stands for the people working it."""

    NEW = "new"  # nobody has said they are on it
    ACKNOWLEDGED = "acknowledged"  # someone is on it (``acknowledged_by``)
    RESOLVED = "resolved"  # its step succeeded or was skipped, or its cause went away


class Note(BaseModel):
    """One note on a problem."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    by: str
    text: str


class ProblemState(BaseModel):
    """A problem's stored status."""

    model_config = ConfigDict(frozen=True)

    key: str
    status: ProblemStatus = ProblemStatus.NEW
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    assignee: str | None = None
    notes: list[Note] = Field(default_factory=list)
    resolved_at: datetime | None = None
    updated_at: datetime | None = None


def step_key(step_id: str) -> str:
    return f"step:{step_id}"


def eco_key(number: str) -> str:
    return f"eco:{number}"


def drift_key(plant: str, item: str) -> str:
    return f"drift:{plant}/{item}"


def overdue_key(subject: str) -> str:
    """Work past its SLA: ``subject`` is the step id, or the ECO number for its own stage."""
    return f"overdue:{subject}"


def problem_states(
    connection: sa.Connection, keys: Iterable[str] | None = None
) -> dict[str, ProblemState]:
    """The stored status of ``keys`` (every stored problem when ``None``)."""
    query = sa.select(t.problems)
    if keys is not None:
        wanted = sorted(set(keys))
        found: dict[str, ProblemState] = {}
        for chunk in range(0, len(wanted), 500):
            rows = connection.execute(
                query.where(t.problems.c.key.in_(wanted[chunk : chunk + 500]))
            ).all()
            found.update({row.key: ProblemState.model_validate(dict(row._mapping)) for row in rows})
        return found
    rows = connection.execute(query).all()
    return {row.key: ProblemState.model_validate(dict(row._mapping)) for row in rows}


def _current(connection: sa.Connection, key: str) -> ProblemState:
    row = connection.execute(
        sa.select(t.problems).where(t.problems.c.key == key).with_for_update()
    ).one_or_none()
    return ProblemState(key=key) if row is None else ProblemState.model_validate(dict(row._mapping))


def _save(connection: sa.Connection, state: ProblemState, now: datetime) -> ProblemState:
    values: dict[str, Any] = state.model_dump(mode="python", exclude={"key"})
    values["status"] = state.status.value
    values["notes"] = [note.model_dump(mode="json") for note in state.notes]
    values["updated_at"] = now
    updated = connection.execute(
        sa.update(t.problems).where(t.problems.c.key == state.key).values(values)
    ).rowcount
    if not updated:
        connection.execute(sa.insert(t.problems).values(key=state.key, **values))
    return state.model_copy(update={"updated_at": now})


def acknowledge(connection: sa.Connection, key: str, *, actor: str, now: datetime) -> ProblemState:
    """``actor`` is on the problem (a resolved problem that came back is opened again)."""
    state = _current(connection, key)
    changed = state.model_copy(
        update={
            "status": ProblemStatus.ACKNOWLEDGED,
            "acknowledged_by": actor,
            "acknowledged_at": now,
            "resolved_at": None,
        }
    )
    return _save(connection, changed, now)


def assign(
    connection: sa.Connection, key: str, *, assignee: str | None, now: datetime
) -> ProblemState:
    """Who works the problem (``None``: nobody)."""
    state = _current(connection, key)
    return _save(connection, state.model_copy(update={"assignee": assignee or None}), now)


def add_note(
    connection: sa.Connection, key: str, *, by: str, text: str, now: datetime
) -> ProblemState:
    """Add a note to the problem."""
    state = _current(connection, key)
    notes = [*state.notes, Note(at=now, by=by, text=text)]
    return _save(connection, state.model_copy(update={"notes": notes}), now)


def resolve_settled(connection: sa.Connection, *, now: datetime) -> list[str]:
    """Resolve every open problem whose cause went away; returns their keys."""
    lock_outbox(connection)
    rows = connection.execute(
        sa.select(t.problems.c.key)
        .where(t.problems.c.status != ProblemStatus.RESOLVED.value)
        .with_for_update()
    ).all()
    keys = [row.key for row in rows]
    gone = _gone(connection, keys)
    for key, why in gone.items():
        connection.execute(
            sa.update(t.problems)
            .where(t.problems.c.key == key)
            .values(status=ProblemStatus.RESOLVED.value, resolved_at=now, updated_at=now)
        )
        kind, _, subject = key.partition(":")
        emit(
            connection,
            OperatorActionTaken(
                actor=ENGINE_ACTOR,
                action=OperatorAction.RESOLVE,
                eco=subject.split("/", 1)[0] if kind in ("step", "eco", "overdue") else None,
                step_ids=[subject]
                if kind == "step" or (kind == "overdue" and "/" in subject)
                else [],
                reason=why,
                outcome="resolved",
                problem=key,
            ),
            now=now,
        )
    return list(gone)


def _gone(connection: sa.Connection, keys: list[str]) -> dict[str, str]:
    """Of ``keys``, those whose cause went away, each with why."""
    by_kind: dict[str, dict[str, str]] = {"step": {}, "eco": {}, "drift": {}}
    for key in keys:
        kind, _, subject = key.partition(":")
        by_kind.setdefault(kind, {})[subject] = key
    gone: dict[str, str] = {}
    steps = by_kind["step"]
    if steps:
        rows = connection.execute(
            sa.select(t.steps.c.step_id, t.steps.c.state).where(t.steps.c.step_id.in_(list(steps)))
        ).all()
        for row in rows:
            if StepState(row.state) in DONE_STATES or row.state == StepState.CANCELLED.value:
                gone[steps[row.step_id]] = f"its step {row.state}"
    ecos = by_kind["eco"]
    if ecos:
        rows = connection.execute(
            sa.select(t.ecos.c.number, t.ecos.c.state).where(t.ecos.c.number.in_(list(ecos)))
        ).all()
        for row in rows:
            if row.state != EcoProgress.REJECTED.value:
                gone[ecos[row.number]] = f"the ECO is {row.state.replace('_', ' ')} now"
    overdue = by_kind.get("overdue", {})
    if overdue:
        # Back on track once the SLA sweep cleared its mark (left the stage, or finished).
        for table, column in ((t.steps, t.steps.c.step_id), (t.ecos, t.ecos.c.number)):
            late = {
                row[0]
                for row in connection.execute(
                    sa.select(column).where(
                        column.in_(list(overdue)), table.c.overdue_at.is_not(None)
                    )
                )
            }
            for subject, key in overdue.items():
                if subject not in late and ("/" in subject) == (table is t.steps):
                    gone[key] = "the work is back within its SLA"
    drift = by_kind["drift"]
    if drift:
        still = {
            f"{row.plant}/{row.item}"
            for row in connection.execute(sa.select(t.drift.c.plant, t.drift.c.item))
        }
        gone.update({key: "the drift resolved" for pair, key in drift.items() if pair not in still})
    return gone


def rejected_ecos(connection: sa.Connection) -> Sequence[sa.Row[Any, Any, Any, Any]]:
    """Every ECO the engine refused (number, title, received_at, document), oldest first."""
    return connection.execute(
        sa.select(t.ecos.c.number, t.ecos.c.title, t.ecos.c.received_at, t.ecos.c.document)
        .where(t.ecos.c.state == EcoProgress.REJECTED.value)
        .order_by(t.ecos.c.received_at)
    ).all()
