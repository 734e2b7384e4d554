"""Shared helpers for the engine's storage tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from contracts.model import Eco
from contracts.plan import plan
from contracts.steps import StepKind, StepState
from sync_engine import store
from sync_engine import tables as t
from tests.factories import ITEMS

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def receive(engine: sa.Engine, eco: Eco, now: datetime = T0) -> bool:
    with engine.begin() as connection:
        return store.record_eco(connection, eco, ITEMS, plan(eco, ITEMS), now=now)


def claim(engine: sa.Engine, now: datetime = T0, holder: str = "h1", limit: int = 100):
    with engine.begin() as connection:
        store.promote_ready(connection, now=now, limit=limit)
        return store.claim_due(connection, holder=holder, now=now, lease_seconds=30, limit=limit)


def run_all(engine: sa.Engine, now: datetime = T0, rounds: int = 20) -> None:
    """Drive every step to success as a well-behaved set of systems would."""
    for _ in range(rounds):
        claimed = claim(engine, now)
        with engine.begin() as connection:
            waiting = store.awaiting_confirmations(connection, limit=100)
            for step in waiting:
                store.confirm(connection, step, now=now, confirmed_at=now)
        if not claimed and not waiting:
            return
        with engine.begin() as connection:
            for step in claimed:
                if step.kind is StepKind.ERP_CONFIRMATION:
                    store.await_confirmation(connection, step, now=now)
                elif step.kind is StepKind.ERP_PRODUCTION_VERSION:
                    store.succeed(connection, step, now=now, external_id=f"PV-{step.plant}")
                elif step.kind is StepKind.ERP_BOM:
                    store.succeed(
                        connection,
                        step,
                        now=now,
                        external_id=f"BOM-{step.plant}",
                        external_status="scheduled",
                    )
                else:
                    store.succeed(connection, step, now=now, external_id="X")


def events(engine: sa.Engine) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(sa.select(t.outbox).order_by(t.outbox.c.id)).all()
    return [dict(row.event) | {"_id": row.id} for row in rows]


def states(engine: sa.Engine, eco: str) -> dict[str, StepState]:
    with engine.connect() as connection:
        return {s.step_id: s.state for s in store.steps_of(connection, eco)}


def later(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)
