"""Business impact: the open orders stuck ECOs and plants behind put at risk, as the
engine last read them from ERP (``impact_assessments``, one row per assessment).

The current exposure is the newest assessment of each (ECO, plant, item) that still puts
something at risk; its totals are the Overview's "exposure" figure, and the executives'
report shows the totals over time (the newest assessment of each scope by each day's end).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pandas as pd
import sqlalchemy as sa

from collector.sourcing_tables import impact_assessments as ia
from dashboards.paging import frame

COLUMNS = (
    "eco",
    "plant",
    "item",
    "superseded_revision",
    "purchase_orders",
    "purchase_value",
    "earliest_due",
    "production_orders",
    "production_quantity",
    "earliest_start",
    "read_at",
)
_SCOPE = (sa.func.coalesce(ia.c.eco, "-"), ia.c.plant, ia.c.item)


@dataclass(frozen=True)
class Exposure:
    """What is at risk now, in all."""

    purchase_orders: int
    purchase_value: float
    production_orders: int
    production_quantity: float
    scopes: int


def _newest(until: datetime | None = None) -> sa.Subquery:
    query = sa.select(sa.func.max(ia.c.event_seq).label("seq")).group_by(*_SCOPE)
    if until is not None:
        query = query.where(ia.c.read_at < until)
    return query.subquery()


def _exposed() -> sa.ColumnElement[bool]:
    return sa.or_(ia.c.purchase_orders > 0, ia.c.production_orders > 0)


def current_impact(
    engine: sa.Engine,
    *,
    eco: str | None = None,
    plant: str | None = None,
    item: str | None = None,
) -> pd.DataFrame:
    """The newest assessment of every scope with something at risk (narrowed to an ECO,
    a plant or an item), the largest purchase value first."""
    newest = _newest()
    query = sa.select(*(ia.c[c] for c in COLUMNS)).join(newest, newest.c.seq == ia.c.event_seq)
    query = query.where(_exposed())
    for column, value in ((ia.c.eco, eco), (ia.c.plant, plant), (ia.c.item, item)):
        if value is not None:
            query = query.where(column == value)
    query = query.order_by(ia.c.purchase_value.desc(), ia.c.plant, ia.c.item, ia.c.eco)
    with engine.connect() as connection:
        return frame(connection.execute(query), COLUMNS)


def exposure(engine: sa.Engine, *, until: datetime | None = None) -> Exposure:
    """The totals of :func:`current_impact` (as they stood before ``until``)."""
    newest = _newest(until)
    query = (
        sa.select(
            sa.func.coalesce(sa.func.sum(ia.c.purchase_orders), 0),
            sa.func.coalesce(sa.func.sum(ia.c.purchase_value), 0.0),
            sa.func.coalesce(sa.func.sum(ia.c.production_orders), 0),
            sa.func.coalesce(sa.func.sum(ia.c.production_quantity), 0.0),
            sa.func.count(),
        )
        .join(newest, newest.c.seq == ia.c.event_seq)
        .where(_exposed())
    )
    with engine.connect() as connection:
        row = connection.execute(query).one()
    return Exposure(int(row[0]), float(row[1]), int(row[2]), float(row[3]), int(row[4]))


def exposure_over_time(engine: sa.Engine, days: list[date]) -> pd.DataFrame:
    """The exposure at the end of each day: day, purchase_value, purchase_orders,
    production_orders."""
    rows = []
    for day in days:
        end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)
        total = exposure(engine, until=end)
        rows.append((day, total.purchase_value, total.purchase_orders, total.production_orders))
    return pd.DataFrame(
        rows, columns=["day", "purchase_value", "purchase_orders", "production_orders"]
    )
