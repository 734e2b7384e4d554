"""The last call of every step that stopped for a person: a dead letter (``failed``) or a
business rejection (``blocked``), with the request and response, credentials removed.

A row is written each time such a step stops, so a step retried and stopped again has one
row per stop; :func:`last_dead_letter` reads the newest. A call refused before it was sent
(the payload breaks the contract) keeps the payload as the request's body and no response.
Rows written before the exchange was kept hold the payload itself as ``request`` and
``{"body": ...}`` as ``response``; :func:`last_dead_letter` reads both shapes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from contracts import events as ev
from sync_engine import tables as t
from sync_engine.errors import CallError
from sync_engine.exchange import Exchange, redact, redact_body
from sync_engine.store.steps import StepRecord

_REQUEST_KEYS = frozenset({"method", "url", "headers", "body"})


@dataclass(frozen=True)
class DeadLetter:
    """A step's last call as kept when it stopped, credentials removed."""

    step_id: str
    eco: str
    kind: str
    attempt: int
    category: str
    code: str
    message: str
    exchange: Exchange
    created_at: datetime


def record_dead_letter(
    connection: sa.Connection,
    step: StepRecord,
    info: ev.StepError,
    error: CallError,
    *,
    now: datetime,
) -> None:
    """Keep the call that stopped ``step`` (its exchange if one was made)."""
    exchange = error.exchange
    if exchange is None:
        request: dict[str, Any] = {"body": redact_body(step.payload)}
        response = None if error.payload is None else {"body": redact_body(error.payload)}
    else:
        request = dict(exchange["request"])
        response = None if exchange["response"] is None else dict(exchange["response"])
    connection.execute(
        sa.insert(t.dead_letters).values(
            step_id=step.step_id,
            eco=step.eco,
            kind=step.kind.value,
            attempt=step.attempt,
            category=info.category.value,
            code=info.code,
            message=info.message,
            request=request,
            response=response,
            created_at=now,
        )
    )


def last_dead_letter(connection: sa.Connection, step_id: str) -> DeadLetter | None:
    """The newest call kept for the step, if it ever stopped for a person."""
    row = connection.execute(
        sa.select(t.dead_letters)
        .where(t.dead_letters.c.step_id == step_id)
        .order_by(t.dead_letters.c.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return DeadLetter(
        step_id=row.step_id,
        eco=row.eco,
        kind=row.kind,
        attempt=row.attempt,
        category=row.category,
        code=row.code,
        message=row.message,
        exchange=redact({"request": _request(row.request), "response": row.response}),
        created_at=row.created_at,
    )


def _request(stored: Any) -> Mapping[str, Any]:
    # Older rows hold the step's payload itself.
    if isinstance(stored, Mapping) and "body" in stored and set(stored) <= _REQUEST_KEYS:
        return stored
    return {"body": stored}
