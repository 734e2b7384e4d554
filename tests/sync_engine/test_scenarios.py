"""The issue's "done when" scenarios, against the real simulators over loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from simulators.testing import running_simulators
from sync_engine.testing import running_engine
from tests.sync_engine.scenario import (
    Db,
    activate_inactive_work_centers,
    assert_exactly_once,
    burst,
    wait_until,
)

CONFIRMATION_DELAY = 0.3


@pytest.fixture
def sims() -> Iterator[str]:
    with running_simulators(seed=11, confirmation_delay=CONFIRMATION_DELAY) as url:
        yield url


@pytest.fixture
def db(database_url: str) -> Iterator[Db]:
    reader = Db(database_url)
    yield reader
    reader.close()


def test_twenty_ecos_without_faults_reach_production_exactly_once(
    sims: str, database_url: str, db: Db
) -> None:
    numbers = burst(sims, 20)
    activate_inactive_work_centers(sims, numbers)
    with running_engine(database_url, sims):
        wait_until(lambda: db.ready(numbers), 60, "20 ECOs production-ready")
    entries = assert_exactly_once(sims, db)
    assert any(e["system"] == "mes" for e in entries)
    ready = [e for e in db.events() if e["type"] == "io.threadline.eco.production_ready.v1"]
    assert sorted(e["subject"] for e in ready) == sorted(numbers)
