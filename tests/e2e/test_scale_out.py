"""Scale out on PostgreSQL: two collector processes and two engine processes take one burst
from one simulators process, and nothing is lost or applied twice (the simulators' ledger
and the event store checked)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from benchmarks.scale_out import run
from tests.conftest import PostgresDatabases
from tests.sync_engine.scenario import Db, assert_exactly_once

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

ECOS = 40


@pytest.fixture
def postgres_url(postgres: PostgresDatabases) -> Iterator[str]:
    name = postgres.migrated()
    yield postgres.url(name)
    postgres.drop(name)


def test_two_collectors_and_two_engines_apply_and_store_everything_once(
    postgres_url: str,
) -> None:
    db = Db(postgres_url)
    ledger: list[dict[str, object]] = []
    try:
        figures = run(
            postgres_url,
            ECOS,
            latency_ms=10,
            timeout=120,
            verify=lambda simulators: ledger.extend(assert_exactly_once(simulators, db)),
        )
        assert db.ready(list(db.eco_states()))
    finally:
        db.close()
    assert figures.exactly_once, "\n".join(figures.lines())
    assert figures.steps > ECOS * 5
    assert ledger, "the simulators' ledger is empty"
    # Both collectors stored part of the stream.
    assert all(batches > 0 for batches in figures.batches_per_collector), (
        figures.batches_per_collector
    )
    assert figures.events_stored >= figures.steps
