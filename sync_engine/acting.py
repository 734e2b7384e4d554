"""What every operator command shares: its result, its audit event and its operation.

Used by :mod:`sync_engine.commands` and :mod:`sync_engine.bulk`; nothing else writes an
``operator.action`` event for a person.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from contracts.model import utcnow
from contracts.operator_events import OperatorActionTaken
from contracts.steps import OperatorAction
from sync_engine import logbook, store
from sync_engine.errors import InvalidCommand


@dataclass(frozen=True)
class CommandResult:
    """What a command did, in words a person reads and in numbers."""

    outcome: str
    """``queued``, ``already_succeeded``, ``already_queued``, ``not_found``, ``not_allowed``
    or ``cancelled``."""
    message: str
    affected: int
    step_ids: tuple[str, ...]
    operation_id: str | None = None
    """The operation following the changed steps to their end (``None``: nothing changed)."""
    left_out: Mapping[str, str] = field(default_factory=dict)
    """Steps asked about but not touched, each with why."""


def plural(n: int, word: str) -> str:
    """``1 step``, ``2 steps``."""
    return f"{n} {word}" + ("" if n == 1 else "s")


def audit(
    connection: sa.Connection,
    action: OperatorAction,
    result: CommandResult,
    *,
    actor: str,
    role: str | None,
    reason: str,
    eco: str | None,
    filter: dict[str, Any] | None = None,
    **extra: Any,
) -> CommandResult:
    """Write the action's ``operator.action`` event (in the command's transaction)."""
    store.emit(
        connection,
        OperatorActionTaken(
            actor=actor,
            role=role,
            action=action,
            eco=eco,
            step_ids=list(result.step_ids),
            filter=filter,
            reason=reason,
            outcome=result.outcome,
            affected=result.affected,
            operation_id=result.operation_id,
            **extra,
        ),
        now=utcnow(),
    )
    logbook.operator_action(
        action.value,
        result.outcome,
        actor=actor,
        reason=reason,
        eco=eco,
        affected=result.affected,
    )
    return result


def require_actor(actor: str) -> None:
    """Refuse an action nobody is named for."""
    if not actor.strip():
        raise InvalidCommand("actor is required: every operator action names who took it")


def require_reason(reason: str, what: str) -> str:
    """The reason, stripped; refuse an action without one (``what`` says which)."""
    if not reason.strip():
        raise InvalidCommand(f"a reason is required to {what}")
    return reason.strip()


def start_operation(
    connection: sa.Connection,
    action: OperatorAction,
    step_ids: Sequence[str],
    *,
    actor: str,
    role: str | None,
    reason: str,
    now: datetime,
    left_out: Mapping[str, str] | None = None,
    filter: dict[str, Any] | None = None,
) -> str:
    """Record the operation that follows the action's ``step_ids`` to their end."""
    return store.start_operation(
        connection,
        action=action,
        actor=actor,
        role=role,
        reason=reason,
        step_ids=step_ids,
        now=now,
        left_out=left_out,
        filter=filter,
    )


def eco_of(step_id: str) -> str | None:
    """The ECO a step id names (for a step that is not stored)."""
    head = step_id.split("/", 1)[0]
    return head if head.startswith("ECO-") else None
