"""The engine's log says what happened to ECOs: a record per ECO planned, step transition
and operator action, with the ECO, step, plant and trace id as fields."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from contracts.plan import plan
from contracts.steps import StepKind
from sync_engine import commands, store
from sync_engine.errors import BusinessError
from tests.factories import ITEMS, make_eco
from tests.sync_engine.helpers import T0, claim, events
from threadline import tracing


def business(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "sync_engine"]


def test_planning_a_blocked_step_and_a_retry_are_each_one_record(
    engine: sa.Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sync_engine")
    eco = make_eco()
    steps = plan(eco, ITEMS)
    root = tracing.start_trace("eco.received", eco.number)
    trace = tracing.trace_id(root)
    with store.writing(engine) as connection:
        store.record_eco(connection, eco, ITEMS, steps, now=T0, traceparent=root)
    (planned,) = business(caplog)
    assert planned.getMessage() == f"{eco.number} planned into {len(steps)} steps"
    assert (planned.eco, planned.trace_id) == (eco.number, trace)  # type: ignore[attr-defined]

    caplog.clear()
    revision = next(s for s in claim(engine) if s.kind is StepKind.ERP_ITEM_REVISION)
    moved = business(caplog)
    assert {r.getMessage().rsplit(" ", 1)[1] for r in moved} == {"pending", "running"}
    assert all(r.trace_id == trace and r.eco == eco.number for r in moved)  # type: ignore[attr-defined]

    caplog.clear()
    with store.writing(engine) as connection:
        store.fail(
            connection,
            revision,
            BusinessError("ITEM_LOCKED", "the item is locked for editing"),
            now=T0,
            next_attempt_at=None,
        )
    (blocked,) = business(caplog)
    assert blocked.levelno == logging.WARNING
    assert blocked.getMessage() == (
        f"{eco.number} erp.item_revision {revision.item} blocked: ITEM_LOCKED "
        "(the item is locked for editing)"
    )
    assert blocked.step == revision.step_id  # type: ignore[attr-defined]

    caplog.clear()
    commands.retry_step(engine, revision.step_id, actor="ada", reason="unlocked", role="operator")
    records = business(caplog)
    assert [r.getMessage() for r in records] == [
        f"{eco.number} erp.item_revision {revision.item} pending: unlocked",
        f"ada retry on {eco.number}: queued, 1 affected (reason: unlocked)",
    ]
    assert all(r.eco == eco.number for r in records)  # type: ignore[attr-defined]

    # The events of the change carry the ECO's trace too.
    assert {tracing.trace_id(event.get("traceparent")) for event in events(engine)} == {trace}
