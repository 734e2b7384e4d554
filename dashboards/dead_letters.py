"""A step in trouble: the last call kept when it stopped (request and response, credentials
removed) and every attempt it made, with when, how it ended and the error's class and code.

The last call comes from the engine's dead letters (:func:`sync_engine.store.dead_letters.
last_dead_letter`); the attempts from the step's own CloudEvents the collector stored: each
``step.started`` opens attempt *n*, and the next transition of that attempt closes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa

from collector.tables import events, step_status
from contracts.events import STEP_EVENT_TYPES
from contracts.steps import StepState
from sync_engine.exchange import Exchange, redact
from sync_engine.store.dead_letters import DeadLetter, last_dead_letter

ATTEMPT_COLUMNS = [
    "attempt",
    "started",
    "ended",
    "outcome",
    "error_class",
    "error_code",
    "http_status",
    "message",
]
# Every step transition's event type, from the catalog.
_STEP_TYPES = sorted(set(STEP_EVENT_TYPES.values()))
# A step retried many times still has a bounded history to read.
_EVENT_LIMIT = 2_000


@dataclass(frozen=True)
class StepTrouble:
    """What went wrong with one step: its last kept call (if it stopped for a person) and
    its attempts, the first first."""

    step_id: str
    eco: str | None
    state: str | None
    last_call: DeadLetter | None
    attempts: pd.DataFrame

    @property
    def exchange(self) -> Exchange | None:
        """The last call's request and response, credentials removed (again, as shown)."""
        return None if self.last_call is None else redact(self.last_call.exchange)


def step_trouble(engine: sa.Engine, step_id: str) -> StepTrouble:
    """The last kept call and every attempt of ``step_id``."""
    with engine.connect() as connection:
        status = connection.execute(
            sa.select(step_status.c.eco, step_status.c.state).where(
                step_status.c.step_id == step_id
            )
        ).first()
        last_call = last_dead_letter(connection, step_id)
        eco = status.eco if status is not None else (last_call.eco if last_call else None)
        at = sa.func.coalesce(events.c.time, events.c.received_at)
        rows = (
            []
            if eco is None
            else connection.execute(
                sa.select(at.label("at"), events.c.data)
                .where(events.c.correlationid == eco, events.c.type.in_(_STEP_TYPES))
                .order_by(at, events.c.sequence, events.c.seq)
                .limit(_EVENT_LIMIT)
            ).all()
        )
    transitions = [
        (row.at, row.data)
        for row in rows
        if isinstance(row.data, dict) and row.data.get("step_id") == step_id
    ]
    return StepTrouble(
        step_id=step_id,
        eco=eco,
        state=status.state if status is not None else None,
        last_call=last_call,
        attempts=attempts(transitions),
    )


def attempts(transitions: list[tuple[Any, dict[str, Any]]]) -> pd.DataFrame:
    """One row per attempt from a step's transitions (time, event data), in time order."""
    found: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for at, data in transitions:
        to_state = data.get("to_state")
        if to_state == StepState.RUNNING:
            current = {
                "attempt": int(data.get("attempt") or len(found) + 1),
                "started": at,
                "ended": None,
                "outcome": "running",
                "error_class": None,
                "error_code": None,
                "http_status": None,
                "message": None,
            }
            found.append(current)
        elif current is not None and current["ended"] is None:
            error = data.get("error") or {}
            current.update(
                ended=at,
                outcome=to_state,
                error_class=error.get("category"),
                error_code=error.get("code"),
                http_status=error.get("http_status"),
                message=error.get("message"),
            )
    return pd.DataFrame(found, columns=ATTEMPT_COLUMNS)
