"""The database outage drill: the database goes away for a minute in the middle of a burst.

PostgreSQL sits behind a loopback TCP proxy the test cuts (the shared server keeps
running); SQLite is taken by another process's exclusive lock for as long. While it is
gone the collector answers every batch 503 with ``Retry-After`` (never 500) and its health
check says the database is unreachable; the engine's calls, records and relay wait. Once
it is back the producer's refused batches are accepted, every ECO of the burst becomes
production-ready, every change reached the systems exactly once (the simulators' ledger)
and every outbox event is in the event store exactly once.

``THREADLINE_DRILL_OUTAGE_SECONDS`` shortens the outage when trying the drill by hand.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from collector.samples import many_propagations
from collector.testing import running_collector
from contracts.events import ENGINE
from simulators.app import SimulatorConfig, create_app
from simulators.generator import GeneratorConfig
from simulators.testing import serving
from sync_engine.testing import running_engine
from tests.e2e.proxy import TcpProxy
from tests.sync_engine.scenario import Db, assert_exactly_once, burst, wait_until

pytestmark = pytest.mark.e2e

OUTAGE_SECONDS = float(os.environ.get("THREADLINE_DRILL_OUTAGE_SECONDS", "60"))
TOKEN = "engine-token-for-the-outage-drill"
GRANT = {"producer": ENGINE, "sources": ["/threadline/"], "types": ["io.threadline."]}
ECOS = 24


@pytest.fixture
def sims() -> Iterator[str]:
    config = SimulatorConfig(
        seed=5, confirmation_delay=0.2, generator=GeneratorConfig(inactive_work_center_share=0.0)
    )
    with serving(create_app(config), name="simulators") as url:
        yield url


@contextmanager
def outage_switch(database_url: str) -> Iterator[tuple[str, Any]]:
    """The URL the services use, and a context manager that takes the database away."""
    url = sa.make_url(database_url)
    if url.get_backend_name() == "postgresql":
        with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:

            @contextmanager
            def gone() -> Iterator[None]:
                proxy.cut()
                try:
                    yield
                finally:
                    proxy.restore()

            yield url.set(port=proxy.port).render_as_string(hide_password=False), gone
        return

    @contextmanager
    def locked() -> Iterator[None]:
        # Another process holding the write lock is what "unreachable" means for a file.
        holder = sqlite3.connect(url.database or "", timeout=30, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()

    yield database_url, locked


def _batch(first: int) -> list[dict[str, Any]]:
    return list(many_propagations(1, first=first))


def test_a_minute_without_the_database_loses_and_repeats_nothing(
    database_url: str, sims: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="sync_engine.scheduler")
    db = Db(database_url)
    statuses: list[int] = []
    refused: list[list[dict[str, Any]]] = []
    with outage_switch(database_url) as (service_url, database_gone):
        with running_collector(service_url, {TOKEN: GRANT}) as collector:
            with running_engine(
                service_url,
                sims,
                collector_url=collector,
                collector_token=SecretStr(TOKEN),
                http_timeout=5.0,
            ):
                numbers = burst(sims, ECOS)
                wait_until(
                    lambda: sum(s.state.value == "succeeded" for s in db.steps()) >= 20,
                    60,
                    "the burst under way",
                )
                with (
                    httpx.Client(
                        base_url=collector, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60
                    ) as client,
                    database_gone(),
                ):
                    ends = time.monotonic() + OUTAGE_SECONDS
                    health: list[int] = []
                    first = 90_000
                    while time.monotonic() < ends:
                        batch = _batch(first)
                        first += 1
                        answer = client.post(
                            "/events",
                            json=batch,
                            headers={"Content-Type": "application/cloudevents-batch+json"},
                        )
                        statuses.append(answer.status_code)
                        if answer.status_code == 503:
                            assert int(answer.headers["Retry-After"]) > 0
                            refused.append(batch)
                        health.append(client.get("/readyz").status_code)
                        time.sleep(1.0)
                    assert 503 in health, health
                assert statuses and set(statuses) == {503}, statuses
                wait_until(lambda: db.ready(numbers), 240, "every ECO production-ready after")
                # The producer sends what was refused again, as Retry-After told it to.
                with httpx.Client(
                    base_url=collector, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
                ) as client:
                    for batch in refused:
                        answer = client.post(
                            "/events",
                            json=batch,
                            headers={"Content-Type": "application/cloudevents-batch+json"},
                        )
                        assert answer.status_code in (200, 202), answer.text
                outbox = {e["id"] for e in db.events()}
                wait_until(lambda: outbox <= _stored_ids(database_url), 60, "the outbox relayed")
    engine_log = [r.getMessage() for r in caplog.records if r.name == "sync_engine.scheduler"]
    # The outage is told once when it starts and once when it ends, not as a traceback a tick.
    assert sum("database unavailable" in m for m in engine_log) == 1, engine_log
    assert sum("database reachable again" in m for m in engine_log) == 1, engine_log
    assert not [m for m in engine_log if m.startswith("engine job")], engine_log
    assert_exactly_once(sims, db)
    stored = _stored(database_url)
    assert len(stored) == len(set(stored)), "an event stored twice"
    assert {e["id"] for b in refused for e in b} <= set(stored)
    db.close()


def _stored(database_url: str) -> list[str]:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(sa.text("SELECT id FROM events")).scalars())
    finally:
        engine.dispose()


def _stored_ids(database_url: str) -> set[str]:
    return set(_stored(database_url))
