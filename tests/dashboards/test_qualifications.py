"""The Supplier qualification lists over projections the collector built from events, on
SQLite and PostgreSQL, and the same after a rebuild."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa

from collector.derived import ConfirmationSla
from collector.sourcing_tables import info_record_activations, qualification_facts
from collector.store import EventStore
from dashboards import impact, qualifications, status, suppliers
from dashboards.qualifications import QualificationFilter
from tests.dashboards.sourcing_seed import SLA_SECONDS, Held, seed_impact, seed_purchasing


def _held(rows: pd.DataFrame) -> set[Held]:
    columns = ["eco", "supplier", "plant", "component", "revision"]
    return {Held(*row) for row in rows[columns].itertuples(index=False)}


def _picture(engine: sa.Engine, now: datetime) -> dict[str, Any]:
    return {
        "waiting": _held(qualifications.waiting_on_qualification(engine, now=now).rows),
        "past_sla": _held(
            qualifications.waiting_on_qualification(
                engine, QualificationFilter(past_sla_only=True), now=now
            ).rows
        ),
        "rejected": _held(qualifications.rejected(engine)),
        "contracts_missing": _held(qualifications.contracts_missing(engine)),
    }


def test_waiting_rejected_and_contracts_missing_as_seeded(engine: sa.Engine) -> None:
    now = datetime.now(UTC)
    expected = seed_purchasing(engine, now)
    assert _picture(engine, now) == expected
    page = qualifications.waiting_on_qualification(engine, now=now)
    first = page.rows.iloc[0]
    assert (first["eco"], first["sla_state"]) == ("ECO-2026-00301", "overdue")
    assert first["waiting_seconds"] > SLA_SECONDS
    central = qualifications.waiting_on_qualification(
        engine, QualificationFilter(plants=("central",)), now=now
    )
    assert list(central.rows["supplier"]) == ["S020"]
    with engine.connect() as connection:
        assert qualifications.count_waiting(connection, QualificationFilter(), now=now) == 2
    summary = qualifications.by_supplier(engine, now=now).set_index("supplier")
    assert summary.loc["S010", "past_sla"] == 1
    assert summary.loc["S030", "rejected"] == 1
    assert summary.loc["S040", "no_contract"] == 1
    assert "S050" not in summary.index  # activated: nothing left to do


def test_the_same_picture_after_a_rebuild(engine: sa.Engine) -> None:
    now = datetime.now(UTC)
    expected = seed_purchasing(engine, now)
    with engine.connect() as connection:
        facts = connection.execute(sa.select(qualification_facts.c.status)).scalars().all()
        activated = connection.execute(sa.select(info_record_activations.c.info_record)).all()
    assert facts == ["qualified"] and [tuple(a) for a in activated] == [("PIR-000001",)]
    EventStore(engine, sla=ConfirmationSla(qualification_seconds=SLA_SECONDS)).rebuild()
    assert _picture(engine, now) == expected
    with engine.connect() as connection:
        assert connection.execute(sa.select(qualification_facts.c.status)).scalars().all() == [
            "qualified"
        ]


def test_exposure_is_the_newest_assessment_of_each_scope_still_at_risk(engine: sa.Engine) -> None:
    now = datetime.now(UTC)
    current = seed_impact(engine, now)
    rows = impact.current_impact(engine)
    assert {(r.eco, r.plant, r.item, r.purchase_orders) for r in rows.itertuples()} == {
        (c.eco, c.plant, c.item, c.purchase_orders) for c in current
    }
    total = impact.exposure(engine)
    assert (total.purchase_orders, total.purchase_value, total.production_orders) == (3, 900.0, 2)
    assert list(impact.current_impact(engine, item="ASM-1001")["production_orders"]) == [2]
    trend = impact.exposure_over_time(engine, [now.date() - timedelta(days=1), now.date()])
    assert list(trend["purchase_value"]) == [0.0, 900.0]


def test_status_pivot_and_its_cells_rows(engine: sa.Engine) -> None:
    seed_purchasing(engine)
    table = status.pivot(engine, "supplier", "stage")
    assert table.loc["S010", "purchasing"] == 1
    assert "S050" not in table.index  # its info record is activated: nothing in flight
    page = status.status_rows(engine, status.StatusFilter(plant="-", stage="purchasing"))
    assert list(page.rows["supplier"]) == ["S020"]  # the central info record
    assert status.StatusFilter.from_query({"plant": ["P100"]}).to_query() == {"plant": ["P100"]}


def test_supplier_view_lists_what_was_done_with_one_supplier(engine: sa.Engine) -> None:
    seed_purchasing(engine)
    view = suppliers.supplier_view(engine, "S050")
    assert list(view["qualifications"]["status"]) == ["qualified"]
    assert list(view["info_records"]["info_record"]) == ["PIR-000001"]
    assert suppliers.supplier_view(engine, "S030")["failures"]["state"].tolist() == ["blocked"]
