"""What is at risk now (the newest assessment of each scope, kept by the collector) and
the executives' exposure over time, day by day, against the assessments themselves."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from alembic import command

from collector.samples import Emitter
from collector.sourcing_tables import impact_scopes
from collector.store import EventStore
from contracts import sourcing_events as se
from dashboards import impact
from tests.dashboards.sourcing_seed import seed_impact
from threadline.db import create_engine
from threadline.migrate import alembic_config, upgrade

FIRST = date(2026, 10, 1)
DAYS = [FIRST + timedelta(days=n) for n in range(8)]


def _at(day: int, hour: int) -> datetime:
    return datetime.combine(FIRST + timedelta(days=day), time(hour), tzinfo=UTC)


def _assessed(
    plant: str, item: str, orders: int, value: float, runs: int, read_at: datetime
) -> se.ImpactAssessed:
    return se.ImpactAssessed(
        eco="ECO-2026-00401",
        plant=plant,
        item=item,
        superseded_revision="B",
        purchase_orders=orders,
        purchase_value=value,
        earliest_due=None,
        production_orders=runs,
        production_quantity=10.0 * runs,
        earliest_start=None,
        read_at=read_at,
    )


def test_each_days_exposure_is_the_newest_assessment_of_each_scope_by_its_end(
    engine: sa.Engine,
) -> None:
    out = Emitter(eco="ECO-2026-00401", clock=_at(-3, 0))
    for data in (
        _assessed("P100", "CMP-2001", 2, 300.0, 0, _at(-2, 9)),  # before the range
        _assessed("P100", "CMP-2001", 4, 700.0, 0, _at(2, 10)),  # grows on day 2
        _assessed("P100", "CMP-2001", 0, 0.0, 0, _at(5, 23)),  # cleared on day 5
        _assessed("P200", "ASM-1001", 0, 0.0, 3, _at(1, 8)),
        _assessed("P400", "CMP-2003", 1, 20.0, 0, _at(-3, 5)),  # unchanged through the range
        _assessed("P300", "CMP-2002", 1, 50.0, 0, _at(7, 1)),
        _assessed("P300", "CMP-2002", 1, 60.0, 0, _at(9, 1)),  # after the range
    ):
        out.emit(data)
    EventStore(engine).append(out.events, "engine")

    trend = impact.exposure_over_time(engine, DAYS)

    assert list(trend["day"]) == DAYS
    assert list(trend["purchase_value"]) == [320.0, 320.0, 720.0, 720.0, 720.0, 20.0, 20.0, 70.0]
    assert list(trend["purchase_orders"]) == [3, 3, 5, 5, 5, 1, 1, 2]
    assert list(trend["production_orders"]) == [0, 3, 3, 3, 3, 3, 3, 3]
    for row in trend.itertuples():
        then = impact.exposure(
            engine, until=datetime.combine(row.day, time.min, tzinfo=UTC) + timedelta(days=1)
        )
        assert (row.purchase_value, row.purchase_orders, row.production_orders) == (
            then.purchase_value,
            then.purchase_orders,
            then.production_orders,
        )


def _scopes(engine: sa.Engine) -> set[tuple[object, ...]]:
    rows = impact.current_impact(engine)
    return {
        (r.eco, r.plant, r.item, r.purchase_orders, r.purchase_value) for r in rows.itertuples()
    }


def test_a_rebuild_keeps_the_newest_assessment_of_each_scope(engine: sa.Engine) -> None:
    current = seed_impact(engine)
    expected = {(c.eco, c.plant, c.item, c.purchase_orders, c.purchase_value) for c in current}
    assert _scopes(engine) == expected
    EventStore(engine).rebuild()
    assert _scopes(engine) == expected
    assert impact.exposure(engine).scopes == len(expected)


def test_the_migration_fills_the_newest_assessments_from_those_stored(
    empty_database_url: str,
) -> None:
    upgrade(empty_database_url)
    engine = create_engine(empty_database_url)
    try:
        current = seed_impact(engine)
        command.downgrade(alembic_config(empty_database_url), "0031-1")
        assert not sa.inspect(engine).has_table(impact_scopes.name)
        upgrade(empty_database_url)
        expected = {(c.eco, c.plant, c.item, c.purchase_orders, c.purchase_value) for c in current}
        assert _scopes(engine) == expected
    finally:
        engine.dispose()
