"""The outbox relay against a collector answering through ``httpx.MockTransport``: order,
redelivery after a refusal, and events committed while a run is under way."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import sqlalchemy as sa

from contracts.plan import plan
from contracts.steps import System
from sync_engine import store
from sync_engine.config import EngineConfig
from sync_engine.relay import Relay
from sync_engine.runner import SyncEngine
from tests.factories import ITEMS, make_eco
from tests.sync_engine.helpers import T0, events, receive

COLLECTOR = "http://collector.test"


class Collector:
    """Keeps every batch it is sent; answers each with the next status of ``answers``."""

    def __init__(self, answers: list[int] | None = None) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.answers = list(answers or [])

    def __call__(self, request: httpx.Request) -> httpx.Response:
        status = self.answers.pop(0) if self.answers else 202
        if status < 300:
            self.batches.append(json.loads(request.content))
        return httpx.Response(status)

    def ids(self) -> list[str]:
        return [event["id"] for batch in self.batches for event in batch]


def database(engine: sa.Engine, after_read: Callable[[list[Any]], None] | None = None) -> Any:
    async def run(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with engine.begin() as connection:
            result = fn(connection, *args, **kwargs)
        if fn is store.undelivered and after_read is not None:
            after_read(result)
        return result

    return run


def backlog(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return store.outbox_backlog(connection)


async def test_batches_go_in_outbox_order_each_event_once(engine: sa.Engine) -> None:
    receive(engine, make_eco(number="ECO-2026-00001"))
    receive(engine, make_eco(number="ECO-2026-00002"))
    collector = Collector()
    async with httpx.AsyncClient(transport=httpx.MockTransport(collector)) as client:
        relay = Relay(database(engine), client, COLLECTOR, None, batch=5)
        delivered = await relay.run_once()
    outbox = events(engine)
    assert delivered == len(outbox) == 24
    assert collector.ids() == [e["id"] for e in outbox]
    assert [len(b) for b in collector.batches] == [5, 5, 5, 5, 4]
    sequences = [e["sequence"] for b in collector.batches for e in b]
    assert sequences == sorted(sequences) and len(set(sequences)) == 24
    assert backlog(engine) == 0


async def test_a_refused_batch_goes_again_with_the_same_events(engine: sa.Engine) -> None:
    receive(engine, make_eco())
    collector = Collector(answers=[202, 503])
    async with httpx.AsyncClient(transport=httpx.MockTransport(collector)) as client:
        relay = Relay(database(engine), client, COLLECTOR, None, batch=5, min_backoff=0.01)
        assert await relay.run_once() == 5
        assert backlog(engine) == 7
        while relay.paused:
            await asyncio.sleep(0.01)
        assert await relay.run_once() == 7
    assert collector.ids() == [e["id"] for e in events(engine)]
    assert backlog(engine) == 0


async def test_events_committed_as_a_run_finds_the_outbox_empty_go_in_that_run(
    engine: sa.Engine,
) -> None:
    receive(engine, make_eco(number="ECO-2026-00001"))
    late: list[Relay] = []

    def commit_once_drained(rows: list[Any]) -> None:
        # Another unit of work commits (and notifies) just as a read comes back empty.
        if not rows and late:
            receive(engine, make_eco(number="ECO-2026-00002"))
            late.pop().notify()

    collector = Collector()
    async with httpx.AsyncClient(transport=httpx.MockTransport(collector)) as client:
        relay = Relay(database(engine, commit_once_drained), client, COLLECTOR, None, batch=5)
        late.append(relay)
        delivered = await relay.run_once()
    assert delivered == 24
    assert collector.ids() == [e["id"] for e in events(engine)]


async def test_a_unit_of_work_that_writes_events_wakes_the_relay(database_url: str) -> None:
    db = sa.create_engine(database_url)
    collector = Collector()
    woken: list[str] = []
    config = EngineConfig(collector_url=COLLECTOR, relay_interval=3600.0)
    async with httpx.AsyncClient(transport=httpx.MockTransport(collector)) as client:
        engine = SyncEngine(config, db, {s: client for s in System})
        engine.on_outbox(lambda: woken.append("relay"))
        await engine.run_db(store.outbox_backlog)
        assert woken == []

        eco = make_eco()
        await engine.run_db(store.record_eco, eco, ITEMS, plan(eco, ITEMS), now=T0)
        assert woken == ["relay"]
        assert await engine.relay() == 12
        assert collector.ids() == [e["id"] for e in events(db)]
        await engine.stop()
    db.dispose()


async def test_a_mark_waiting_for_the_database_holds_back_no_batch(engine: sa.Engine) -> None:
    receive(engine, make_eco())
    collector = Collector()
    plain = database(engine)

    async def db(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if fn is store.mark_delivered:
            # Someone else holds the write lock until the next batch is out (SQLite's one
            # writer in a burst): the relay must keep sending meanwhile.
            while len(collector.batches) < 2:
                await asyncio.sleep(0.01)
        return await plain(fn, *args, **kwargs)

    async with httpx.AsyncClient(transport=httpx.MockTransport(collector)) as client:
        relay = Relay(db, client, COLLECTOR, None, batch=5)
        delivered = await asyncio.wait_for(relay.run_once(), 10)
    outbox = events(engine)
    assert delivered == len(outbox)
    assert collector.ids() == [e["id"] for e in outbox]
    assert backlog(engine) == 0, "every acknowledged row is marked by the end of the run"
