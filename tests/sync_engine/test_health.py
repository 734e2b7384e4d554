"""Pipeline health on both databases: a stale outbox, a missing heartbeat, a running engine."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from contracts import events as ev
from simulators.testing import running_simulators
from sync_engine import store
from sync_engine.health import HealthLimits, PipelineHealth, pipeline_health
from sync_engine.testing import running_engine
from tests.sync_engine.scenario import wait_until
from threadline.db import create_engine

LIMITS = HealthLimits(
    outbox_stale_after=timedelta(seconds=30), heartbeat_timeout=timedelta(seconds=60)
)


@pytest.fixture
def db(database_url: str) -> Iterator[sa.Engine]:
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


def health(db: sa.Engine, now: datetime) -> PipelineHealth:
    with db.connect() as connection:
        return pipeline_health(connection, now=now)


def emit_at(db: sa.Engine, when: datetime, eco: str) -> None:
    with store.writing(db) as connection:
        store.emit(connection, ev.EcoCancelled(eco=eco, reason="test", cause="operator"), now=when)


def outbox_problems(report: PipelineHealth) -> list[str]:
    return [p for p in report.problems(LIMITS) if "not delivered" in p]


def test_an_outbox_event_waiting_longer_than_the_limit_is_reported(db: sa.Engine) -> None:
    now = datetime.now(UTC)
    emit_at(db, now - timedelta(seconds=10), "ECO-2026-00001")
    fresh = health(db, now)
    assert (fresh.undelivered, outbox_problems(fresh)) == (1, [])

    emit_at(db, now - timedelta(seconds=45), "ECO-2026-00002")
    stale = health(db, now)
    assert stale.undelivered == 2
    assert stale.oldest_undelivered_at == now - timedelta(seconds=45)
    assert outbox_problems(stale) == [
        "2 engine events not delivered to the collector; the oldest waits for 45 s."
    ]

    with db.begin() as connection:
        rows = store.undelivered(connection, after=0, limit=10)
        store.mark_delivered(connection, [row_id for row_id, _ in rows], now)
    delivered = health(db, now)
    assert (delivered.undelivered, delivered.oldest_undelivered_at) == (0, None)
    assert outbox_problems(delivered) == []


def test_no_heartbeat_for_a_minute_is_reported(db: sa.Engine) -> None:
    now = datetime.now(UTC)
    assert health(db, now).problems(LIMITS) == [
        "No engine heartbeat for 60 s: no engine is running."
    ]

    with db.begin() as connection:
        store.beat(connection, "engine-a", now=now - timedelta(seconds=90))
    silent = health(db, now)
    assert silent.alive(LIMITS) == ()
    assert silent.problems(LIMITS) == [
        "No engine heartbeat for 60 s: the last, engine-a, was seen 90 s ago."
    ]

    with db.begin() as connection:
        store.beat(connection, "engine-b", now=now - timedelta(seconds=5))
    one_gone = health(db, now)
    assert [e.holder for e in one_gone.alive(LIMITS)] == ["engine-b"]
    assert one_gone.problems(LIMITS) == [
        "Engine engine-a stopped sending heartbeats 90 s ago without stopping cleanly."
    ]

    with db.begin() as connection:
        store.beat(connection, "engine-a", now=now)
    beating = health(db, now)
    assert beating.problems(LIMITS) == []
    started = {e.holder: e.started_at for e in beating.engines}
    assert started["engine-a"] == now - timedelta(seconds=90)  # the first beat, kept

    with db.begin() as connection:
        store.stop_beating(connection, "engine-a")
        store.stop_beating(connection, "engine-b")
    assert health(db, now).engines == ()


def test_a_running_engine_beats_and_a_clean_stop_forgets_it(
    database_url: str, db: sa.Engine
) -> None:
    with (
        running_simulators(seed=3) as sims,
        running_engine(database_url, sims, heartbeat_interval=0.1) as engine,
    ):
        first = wait_until(lambda: health(db, datetime.now(UTC)).engines, 10, "a heartbeat")
        assert [e.holder for e in first] == [engine.holder]
        wait_until(
            lambda: health(db, datetime.now(UTC)).engines[0].seen_at > first[0].seen_at,
            10,
            "a later heartbeat",
        )
        assert not [p for p in health(db, datetime.now(UTC)).problems(LIMITS) if "heartbeat" in p]
    assert health(db, datetime.now(UTC)).engines == ()
