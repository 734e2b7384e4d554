"""Cycle time: PLM approval -> ERP confirmed -> production-ready, in percentiles.

Two grains: per ECO (by product family and by month) and per (ECO, plant) (by plant, where
each plant has its own confirmation and readiness). Durations are in hours.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

import pandas as pd
import sqlalchemy as sa

from collector.tables import eco_plants, eco_status
from dashboards import filters
from dashboards.filters import Query
from dashboards.paging import report_frame
from dashboards.sql import epoch_seconds

PERCENTILES = (50, 90, 95)
MEASURES = ("to_confirmed_h", "confirmed_to_ready_h", "total_h")
"""approval -> ERP confirmed, ERP confirmed -> production-ready, approval -> ready."""

_COLUMNS = ["eco", "plant", "product_family", "month", *MEASURES]


class Dimension(StrEnum):
    """What the report groups by."""

    PLANT = "plant"
    PRODUCT_FAMILY = "product_family"
    MONTH = "month"


def cycle_range_from_query(query: Query, *, default: tuple[date, date]) -> tuple[date, date]:
    """The report's date range a page address names (``start``, ``end``: ISO dates)."""
    found = []
    for name, fallback in zip(("start", "end"), default, strict=True):
        text = filters.value(query, name)
        try:
            found.append(date.fromisoformat(text) if text else fallback)
        except ValueError:
            found.append(fallback)
    start, end = found
    return (start, end) if start <= end else default


def cycle_rows(engine: sa.Engine, start: date, end: date, *, by_plant: bool) -> pd.DataFrame:
    """ECOs (or ECO plants) that became production-ready from ``start`` to ``end`` inclusive.

    Columns: eco, plant (``None`` at ECO grain), product_family, month (``YYYY-MM`` of
    readiness), to_confirmed_h, confirmed_to_ready_h, total_h. Durations are computed in
    the database.
    """
    low = datetime.combine(start, time.min, tzinfo=UTC)
    high = datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC)
    source = eco_plants if by_plant else eco_status
    ready = source.c.production_ready_at
    # Seconds since the epoch come back as plain floats: cheap to fetch, and the
    # subtractions and months below are vectorised instead of done per row.
    select = sa.select(
        source.c.eco,
        (eco_plants.c.plant if by_plant else sa.null()).label("plant"),
        eco_status.c.product_family,
        epoch_seconds(eco_status.c.approved_at).label("approved"),
        epoch_seconds(source.c.erp_confirmed_at).label("confirmed"),
        epoch_seconds(ready).label("ready"),
    ).where(ready >= low, ready < high, eco_status.c.approved_at.is_not(None))
    if by_plant:
        select = select.join_from(eco_plants, eco_status, eco_status.c.eco == eco_plants.c.eco)
    with engine.connect() as connection:
        rows = report_frame(connection, select)
    if rows.empty:
        return pd.DataFrame(columns=_COLUMNS)
    approved, confirmed, done = (rows[c].astype(float) for c in ("approved", "confirmed", "ready"))
    rows["to_confirmed_h"] = (confirmed - approved) / 3600
    rows["confirmed_to_ready_h"] = (done - confirmed) / 3600
    rows["total_h"] = (done - approved) / 3600
    ready_at = pd.to_datetime(done, unit="s", utc=True)
    months = ready_at.dt.year * 100 + ready_at.dt.month
    # A few dozen distinct months: name each once, then look them up for every row.
    names = {ym: f"{ym // 100:04d}-{ym % 100:02d}" for ym in months.unique()}
    rows["month"] = months.map(names)
    return rows[_COLUMNS]


def cycle_percentiles(rows: pd.DataFrame, by: Dimension) -> pd.DataFrame:
    """p50, p90 and p95 of each measure per group: one row per group, sorted by it.

    Columns: the dimension, count, then ``p<N>_<measure>`` for every measure and percentile.
    """
    columns = [by.value, "count"] + [f"p{p}_{m}" for m in MEASURES for p in PERCENTILES]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    grouped = rows.groupby(by.value, sort=True, dropna=False)
    # One vectorised pass; pandas' default (linear) is dashboards.stats.percentile's definition.
    quantiles = grouped[list(MEASURES)].quantile([p / 100 for p in PERCENTILES]).unstack()
    sizes = grouped.size()
    table = pd.DataFrame({by.value: sizes.index, "count": sizes.to_numpy()})
    for measure in MEASURES:
        for p in PERCENTILES:
            table[f"p{p}_{measure}"] = quantiles[(measure, p / 100)].to_numpy()
    return table[columns]


def monthly_trend(rows: pd.DataFrame) -> pd.DataFrame:
    """Per month: month, count, p50_total_h, p90_total_h, p95_total_h."""
    table = cycle_percentiles(rows, Dimension.MONTH)
    return table[["month", "count", *(f"p{p}_total_h" for p in PERCENTILES)]]
