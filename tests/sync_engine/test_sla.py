"""The SLA sweep: work reported overdue once when it passes its due time, resolved once when
it leaves its stage, and the collector's read model listing exactly what is overdue."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from collector.store import EventStore
from contracts.sla import SlaPolicy, Stage, parse_sla
from contracts.steps import StepKind
from dashboards.sla import OverdueFilter, overdue_by_stage, overdue_work
from sync_engine import store
from sync_engine.relay import with_sequence
from tests.factories import APPROVED_AT, make_eco
from tests.sync_engine.helpers import T0, claim, events, later, receive, run_all

ECO = "ECO-2026-00042"
OVERDUE = "io.threadline.sla.work_overdue.v1"
RESOLVED = "io.threadline.sla.work_resolved.v1"

POLICY = parse_sla(
    """
    [defaults]
    planning = "1h"
    pending = "10m"
    running = "5m"
    eco = "1d"
    erp_confirmation = "15m"

    [plants.P200]
    erp_confirmation = "2m"
    """
)


def sweep(engine: sa.Engine, now: datetime, policy: SlaPolicy = POLICY) -> int:
    with store.writing(engine) as connection:
        return int(store.sweep_slas(connection, policy, now=now))


def sla_events(engine: sa.Engine) -> list[dict[str, Any]]:
    return [e for e in events(engine) if e["type"] in (OVERDUE, RESOLVED)]


def relay_to_collector(engine: sa.Engine) -> None:
    """What the relay would deliver, appended to the collector's store in the same DB."""
    with engine.connect() as connection:
        pending = store.undelivered(connection, after=0, limit=10_000)
    EventStore(engine).append([with_sequence(i, event) for i, event in pending], "engine")
    with engine.begin() as connection:
        store.mark_delivered(connection, [i for i, _ in pending], now=T0)


def test_a_running_step_past_its_sla_is_reported_once_and_resolved_when_done(
    engine: sa.Engine,
) -> None:
    receive(engine, make_eco())
    first, second = claim(engine)
    assert {first.kind, second.kind} == {StepKind.ERP_ITEM_REVISION}
    assert sweep(engine, later(299)) == 0
    assert sweep(engine, later(301)) == 2
    assert sweep(engine, later(400)) == 0
    reported = sla_events(engine)
    assert {e["data"]["step_id"] for e in reported} == {first.step_id, second.step_id}
    for overdue in reported:
        assert overdue["type"] == OVERDUE and overdue["subject"] == ECO
        assert overdue["data"]["stage"] == "running"
        assert overdue["data"]["due_at"] == later(300).isoformat().replace("+00:00", "Z")
    with store.writing(engine) as connection:
        store.succeed(connection, first, now=later(410))
    assert sweep(engine, later(420)) == 1
    resolved = sla_events(engine)[-1]
    assert resolved["type"] == RESOLVED and resolved["data"]["step_id"] == first.step_id
    assert resolved["data"]["overdue_seconds"] == 120


def test_the_read_model_lists_exactly_the_overdue_work_and_counts_it_by_stage(
    engine: sa.Engine,
) -> None:
    receive(engine, make_eco())
    claimed = claim(engine)
    sweep(engine, later(301))
    relay_to_collector(engine)
    with engine.connect() as connection:
        rows = overdue_work(connection, later(360))
        counts = overdue_by_stage(connection, later(360))
        running = overdue_work(connection, later(360), OverdueFilter(stage=Stage.RUNNING))
        pending = overdue_work(connection, later(360), OverdueFilter(stage=Stage.PENDING))
    assert sorted((r["stage"], r["eco"], r["step_id"]) for r in rows) == sorted(
        (Stage.RUNNING, ECO, step.step_id) for step in claimed
    )
    assert {r["late_seconds"] for r in rows} == {60}
    assert counts == {Stage.RUNNING: 2} and running == rows and pending == []
    with store.writing(engine) as connection:
        for step in claimed:
            store.succeed(connection, step, now=later(410))
    sweep(engine, later(420))
    relay_to_collector(engine)
    with engine.connect() as connection:
        assert overdue_work(connection, later(430)) == []


def test_a_step_that_left_its_stage_no_longer_counts_before_its_resolution_arrives(
    engine: sa.Engine,
) -> None:
    receive(engine, make_eco())
    claimed = claim(engine)
    sweep(engine, later(301))
    with store.writing(engine) as connection:
        for step in claimed:
            store.succeed(connection, step, now=later(410))
    relay_to_collector(engine)  # the successes, but no sweep has resolved the reports yet
    with engine.connect() as connection:
        assert overdue_work(connection, later(420)) == []


def test_a_confirmation_uses_its_plants_sla_and_the_eco_its_own(engine: sa.Engine) -> None:
    receive(engine, make_eco())
    for _ in range(6):
        claimed = claim(engine)
        with store.writing(engine) as connection:
            for step in claimed:
                if step.kind is StepKind.ERP_CONFIRMATION:
                    store.await_confirmation(connection, step, now=T0)
                else:
                    store.succeed(connection, step, now=T0, external_id="X")
    with engine.connect() as connection:
        awaiting = store.awaiting_confirmations(connection, limit=10)
    assert {s.plant for s in awaiting} == {"P100", "P200"}
    sweep(engine, later(150))
    reported = {(e["data"]["stage"], e["data"].get("plant")) for e in sla_events(engine)}
    assert reported == {("erp_confirmation", "P200")}
    day = APPROVED_AT + timedelta(days=1, seconds=1)
    sweep(engine, day)
    reported = {(e["data"]["stage"], e["data"].get("plant")) for e in sla_events(engine)}
    assert ("erp_confirmation", "P100") in reported and ("eco", None) in reported
    run_all(engine, day)
    sweep(engine, day + timedelta(seconds=5))
    resolved = {
        (e["data"]["stage"], e["data"].get("plant"))
        for e in sla_events(engine)
        if e["type"] == RESOLVED
    }
    assert resolved == {("erp_confirmation", "P100"), ("erp_confirmation", "P200"), ("eco", None)}
    relay_to_collector(engine)
    with engine.connect() as connection:
        assert overdue_work(connection, day + timedelta(seconds=10)) == []


def test_an_eco_planned_late_is_reported_overdue_and_resolved_once(engine: sa.Engine) -> None:
    receive(engine, make_eco())  # planned 30 minutes after its approval
    strict = POLICY.model_copy(
        update={"defaults": parse_sla('[defaults]\nplanning = "5m"').defaults}
    )
    assert sweep(engine, later(1), strict) == 2
    assert sweep(engine, later(2), strict) == 0
    planning = sla_events(engine)
    assert [e["type"] for e in planning] == [OVERDUE, RESOLVED]
    assert planning[1]["data"]["stage"] == "planning"
    assert planning[1]["data"]["overdue_seconds"] == 25 * 60
    relay_to_collector(engine)
    with engine.connect() as connection:
        assert overdue_work(connection, later(3)) == []


@pytest.mark.parametrize("dialect", [pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_two_engines_on_postgresql_report_each_crossing_once(database_url: str) -> None:
    from contracts.steps import System
    from sync_engine.config import EngineConfig
    from sync_engine.runner import SyncEngine
    from threadline.db import create_engine

    dbs = [create_engine(database_url) for _ in range(2)]
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    receive(dbs[0], make_eco(), now=an_hour_ago)
    claimed = claim(dbs[0], an_hour_ago)
    config = EngineConfig(sla=POLICY, lease_seconds=60)

    async def main() -> None:
        async with httpx.AsyncClient() as client:
            engines = [SyncEngine(config, db, {s: client for s in System}) for db in dbs]
            for _ in range(3):
                await asyncio.gather(*(engine.check_slas() for engine in engines))
            for engine in engines:
                await engine.stop()

    try:
        asyncio.run(main())
        reported = [
            (e["type"], e["data"]["stage"], e["data"].get("step_id")) for e in sla_events(dbs[0])
        ]
    finally:
        for db in dbs:
            db.dispose()
    # Planned months after its approval, running item revisions for an hour (SLA 5 minutes),
    # the whole ECO for months (SLA a day): each reported once, by one of the two engines.
    expected = [(OVERDUE, "running", step.step_id) for step in claimed]
    expected += [(OVERDUE, "planning", None), (RESOLVED, "planning", None), (OVERDUE, "eco", None)]
    assert sorted(reported, key=str) == sorted(expected, key=str)
