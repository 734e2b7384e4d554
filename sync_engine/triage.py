"""Operator commands on inbox problems: acknowledge, assign, add a note.

Each takes a reason (a note is its own), changes the problem's stored status in one
transaction with its ``operator.action`` event, and returns a
:class:`~sync_engine.acting.CommandResult`. Problems are keyed as
:mod:`sync_engine.store.problems` says (``step:<id>``, ``eco:<number>``,
``drift:<plant>/<item>``).
"""

from __future__ import annotations

import sqlalchemy as sa

from contracts.model import utcnow
from contracts.steps import OperatorAction
from sync_engine import store
from sync_engine.acting import CommandResult, audit, require_actor, require_reason
from sync_engine.errors import InvalidCommand


def _eco_and_steps(key: str) -> tuple[str | None, tuple[str, ...]]:
    kind, _, subject = key.partition(":")
    if kind == "step":
        return subject.split("/", 1)[0], (subject,)
    if kind == "eco":
        return subject, ()
    if kind == "drift":
        return None, ()
    if kind == "overdue":  # a step's stage, or an ECO's own
        eco = subject.split("/", 1)[0]
        return eco, (subject,) if "/" in subject else ()
    raise InvalidCommand(f"no such problem {key!r}: keys are step:, eco:, drift: or overdue:")


def acknowledge(
    engine: sa.Engine, key: str, *, actor: str, reason: str, role: str | None = None
) -> CommandResult:
    """``actor`` takes the problem on."""
    require_actor(actor)
    reason = require_reason(reason, "acknowledge a problem")
    eco, steps = _eco_and_steps(key)
    with store.writing(engine) as connection:
        store.acknowledge(connection, key, actor=actor, now=utcnow())
        result = CommandResult("acknowledged", f"Acknowledged by {actor}.", 0, steps)
        return audit(
            connection,
            OperatorAction.ACKNOWLEDGE,
            result,
            actor=actor,
            role=role,
            reason=reason,
            eco=eco,
            problem=key,
        )


def assign(
    engine: sa.Engine,
    key: str,
    assignee: str | None,
    *,
    actor: str,
    reason: str,
    role: str | None = None,
) -> CommandResult:
    """Give the problem to ``assignee`` (``None`` or empty: to nobody)."""
    require_actor(actor)
    reason = require_reason(reason, "assign a problem")
    eco, steps = _eco_and_steps(key)
    assignee = (assignee or "").strip() or None
    with store.writing(engine) as connection:
        store.assign(connection, key, assignee=assignee, now=utcnow())
        said = f"Assigned to {assignee}." if assignee else "Unassigned."
        return audit(
            connection,
            OperatorAction.ASSIGN,
            CommandResult("assigned", said, 0, steps),
            actor=actor,
            role=role,
            reason=reason,
            eco=eco,
            problem=key,
            filter={"assignee": assignee},
        )


def note(
    engine: sa.Engine, key: str, text: str, *, actor: str, role: str | None = None
) -> CommandResult:
    """Add a note to the problem (the note is the action's reason)."""
    require_actor(actor)
    text = require_reason(text, "add a note (it cannot be empty)")
    eco, steps = _eco_and_steps(key)
    with store.writing(engine) as connection:
        store.add_note(connection, key, by=actor, text=text, now=utcnow())
        return audit(
            connection,
            OperatorAction.NOTE,
            CommandResult("noted", "Note added.", 0, steps),
            actor=actor,
            role=role,
            reason=text,
            eco=eco,
            problem=key,
        )
