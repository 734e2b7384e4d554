"""Business impact: the open orders stuck ECOs and plants behind put at risk, as the
engine last read them from ERP (``impact_assessments``, one row per assessment).

The current exposure is the newest assessment of each (ECO, plant, item) that still puts
something at risk (kept by the collector in ``impact_scopes``); its totals are the
Overview's "exposure" figure, and the executives' report shows the totals over time (the
newest assessment of each scope by each day's end, from the assessments).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa

from collector.sourcing_tables import impact_assessments as ia
from collector.sourcing_tables import impact_scopes as scopes
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


def _newest(
    until: datetime | None = None, narrowed: Sequence[sa.ColumnElement[bool]] = ()
) -> sa.Subquery:
    # A scope is (ECO, plant, item), so narrowing to an ECO, plant or item before grouping
    # keeps exactly the scopes it would keep after, and lets the scope index find them.
    query = sa.select(sa.func.max(ia.c.event_seq).label("seq")).group_by(*_SCOPE)
    if until is not None:
        query = query.where(ia.c.read_at < until)
    return query.where(*narrowed).subquery()


def _narrowed(
    table: sa.Table, eco: str | None, plant: str | None, item: str | None
) -> list[sa.ColumnElement[bool]]:
    # On impact_scopes the scope's key columns (equal to eco, plant and item wherever
    # those are given) let its primary key find an ECO's scopes.
    names = ("scope_eco", "scope_plant", "scope_item") if table is scopes else COLUMNS[:3]
    pairs = zip((table.c[name] for name in names), (eco, plant, item), strict=True)
    return [column == value for column, value in pairs if value is not None]


def _exposed(table: sa.Table = ia) -> sa.ColumnElement[bool]:
    return sa.or_(table.c.purchase_orders > 0, table.c.production_orders > 0)


def current_impact(
    engine: sa.Engine,
    *,
    eco: str | None = None,
    plant: str | None = None,
    item: str | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """The newest assessment of every scope with something at risk (narrowed to an ECO,
    a plant or an item), the largest purchase value first; the ``limit`` largest only,
    when given (count them all with :func:`exposure`)."""
    query = (
        sa.select(*(scopes.c[c] for c in COLUMNS))
        .where(_exposed(scopes), *_narrowed(scopes, eco, plant, item))
        .order_by(scopes.c.purchase_value.desc(), scopes.c.plant, scopes.c.item, scopes.c.eco)
    )
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as connection:
        return frame(connection.execute(query), COLUMNS)


def exposure(
    engine: sa.Engine,
    *,
    until: datetime | None = None,
    eco: str | None = None,
    plant: str | None = None,
    item: str | None = None,
) -> Exposure:
    """The totals of :func:`current_impact` with the same narrowing (as they stood before
    ``until``: from the assessments then, not the newest of each scope now)."""
    if until is None:
        where = _narrowed(scopes, eco, plant, item)
        query = sa.select(*_totals(scopes)).where(_exposed(scopes), *where)
    else:
        where = _narrowed(ia, eco, plant, item)
        newest = _newest(until, where)
        query = (
            sa.select(*_totals(ia))
            .join(newest, newest.c.seq == ia.c.event_seq)
            .where(_exposed(), *where)
        )
    with engine.connect() as connection:
        row = connection.execute(query).one()
    return Exposure(int(row[0]), float(row[1]), int(row[2]), float(row[3]), int(row[4]))


def _totals(table: sa.Table) -> list[sa.ColumnElement[Any]]:
    return [
        sa.func.coalesce(sa.func.sum(table.c.purchase_orders), 0),
        sa.func.coalesce(sa.func.sum(table.c.purchase_value), 0.0),
        sa.func.coalesce(sa.func.sum(table.c.production_orders), 0),
        sa.func.coalesce(sa.func.sum(table.c.production_quantity), 0.0),
        sa.func.count(),
    ]


def exposure_over_time(engine: sa.Engine, days: list[date]) -> pd.DataFrame:
    """The exposure at the end of each day: day, purchase_value, purchase_orders,
    production_orders.

    The same totals as :func:`exposure` with ``until`` each day's end, in one pass: an
    assessment counts from its ``read_at`` until a newer one of its scope is read
    (``superseded``), so each day's total is what was read before its end minus what was
    superseded before it. The database sums the assessments by the first day each is read
    and superseded by; the days are added up here.
    """
    columns = ["day", "purchase_value", "purchase_orders", "production_orders"]
    if not days:
        return pd.DataFrame(columns=columns)
    ordered = sorted(set(days))
    ends = [datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC) for day in ordered]
    # A scope whose newest assessment was read before the first day ended counts the same
    # on every day; only the others (assessed since) are followed through their history.
    settled = sa.select(*_totals(scopes)[:3]).where(_exposed(scopes), scopes.c.read_at < ends[0])
    recent = sa.select(scopes.c.scope_eco, scopes.c.scope_plant, scopes.c.scope_item).where(
        scopes.c.read_at >= ends[0]
    )
    key = sa.tuple_(
        sa.func.coalesce(ia.c.eco, ""),
        sa.func.coalesce(ia.c.plant, ""),
        sa.func.coalesce(ia.c.item, ""),
    )
    superseded = (
        sa.func.min(ia.c.read_at)
        .over(partition_by=_SCOPE, order_by=ia.c.event_seq, rows=(1, None))
        .label("superseded")
    )
    spans = (
        sa.select(
            ia.c.read_at,
            superseded,
            ia.c.purchase_value,
            ia.c.purchase_orders,
            ia.c.production_orders,
            _exposed().label("exposed"),
        )
        .where(ia.c.read_at < max(ends), key.in_(recent))
        .subquery()
    )
    read, gone = _first_day(spans.c.read_at, ends), _first_day(spans.c.superseded, ends)
    query = (
        sa.select(
            read,
            gone,
            sa.func.sum(spans.c.purchase_value),
            sa.func.sum(spans.c.purchase_orders),
            sa.func.sum(spans.c.production_orders),
        )
        .where(spans.c.exposed)
        .group_by(read, gone)
    )
    with engine.connect() as connection:
        orders, value, runs = connection.execute(settled).one()
        totals = [[float(value), int(orders), int(runs)] for _ in ordered]
        for first, last, value, orders, runs in connection.execute(query):
            # Counted on the days from the one it was read by to the one it was superseded by.
            for index in range(first, len(ordered) if last is None else last):
                totals[index][0] += float(value)
                totals[index][1] += int(orders)
                totals[index][2] += int(runs)
    by_day = dict(zip(ordered, totals, strict=True))
    return pd.DataFrame([(day, *by_day[day]) for day in days], columns=columns)


def _first_day(moment: sa.ColumnElement[Any], ends: list[datetime]) -> sa.ColumnElement[Any]:
    """The index of the first of ``ends`` after ``moment`` (``None``: after them all, or no
    moment)."""
    return sa.case(*((moment < end, index) for index, end in enumerate(ends)), else_=sa.null())
