"""An engine-backed picture for the console's action tests.

The engine's own store plans an ECO and fails its supplier notices, and :meth:`relay`
moves the engine's outbox into the collector's store the way the relay would, so the
console shows rows the engine can act on and, after an action, the changed rows and
the audit trail.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from collector.store import EventStore
from contracts.plan import plan
from contracts.steps import StepKind
from sync_engine import reconcile, store
from sync_engine.errors import TransientError
from sync_engine.relay import with_sequence
from tests.factories import ITEMS, make_eco


class EngineWorld:
    """The engine's tables and the collector's projections over one database."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.events = EventStore(engine)

    def relay(self) -> int:
        """Deliver every undelivered outbox event to the collector's store."""
        with self.engine.begin() as connection:
            rows = store.undelivered(connection, after=0, limit=100_000)
        if not rows:
            return 0
        self.events.append([with_sequence(row_id, event) for row_id, event in rows], "engine")
        with self.engine.begin() as connection:
            store.mark_delivered(connection, [row_id for row_id, _ in rows], datetime.now(UTC))
        return len(rows)

    def failed_notices(self, number: str, suppliers: list[str]) -> list[str]:
        """Plan ``number`` and dead-letter its supplier notices; return their step ids."""
        eco = make_eco(number=number, suppliers=suppliers)
        now = datetime.now(UTC) - timedelta(minutes=30)
        with self.engine.begin() as connection:
            store.record_eco(connection, eco, ITEMS, plan(eco, ITEMS), now=now)
        self._run(StepKind.ERP_ITEM_REVISION, now, fail=False)
        failed = self._run(StepKind.SUPPLIER_NOTICE, now + timedelta(minutes=1), fail=True)
        # A reconciliation read: both plants still run the old assembly and component.
        with self.engine.begin() as connection:
            for plant in eco.plants:
                reconcile.record_plant(
                    connection,
                    plant,
                    {"ASM-1001": "B", "CMP-2001": "A"},
                    {"ASM-1001": "B"},
                    [],
                    now=now,
                    today=now.date(),
                )
        self.relay()
        return failed

    def _run(self, kind: StepKind, now: datetime, *, fail: bool) -> list[str]:
        done: list[str] = []
        with self.engine.begin() as connection:
            store.promote_ready(connection, now=now, limit=1000)
        with self.engine.begin() as connection:
            claimed = store.claim_due(
                connection, holder="test", now=now, lease_seconds=60, limit=100, kinds=[kind]
            )
            for step in claimed:
                if fail:
                    error = TransientError("HTTP_502", "procurement portal unreachable")
                    store.fail(connection, step, error, now=now, next_attempt_at=None)
                else:
                    store.succeed(connection, step, now=now)
                done.append(step.step_id)
        return done
