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
from dashboards.paging import frame
from dashboards.stats import percentile

PERCENTILES = (50, 90, 95)
MEASURES = ("to_confirmed_h", "confirmed_to_ready_h", "total_h")
"""approval -> ERP confirmed, ERP confirmed -> production-ready, approval -> ready."""

_COLUMNS = [
    "eco",
    "plant",
    "product_family",
    "approved_at",
    "erp_confirmed_at",
    "production_ready_at",
    "month",
    *MEASURES,
]


class Dimension(StrEnum):
    """What the report groups by."""

    PLANT = "plant"
    PRODUCT_FAMILY = "product_family"
    MONTH = "month"


def cycle_rows(engine: sa.Engine, start: date, end: date, *, by_plant: bool) -> pd.DataFrame:
    """ECOs (or ECO plants) that became production-ready from ``start`` to ``end`` inclusive.

    Columns: eco, plant (``None`` at ECO grain), product_family, approved_at,
    erp_confirmed_at, production_ready_at, month (``YYYY-MM``), to_confirmed_h,
    confirmed_to_ready_h, total_h.
    """
    low = datetime.combine(start, time.min, tzinfo=UTC)
    high = datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC)
    if by_plant:
        select = (
            sa.select(
                eco_plants.c.eco,
                eco_plants.c.plant,
                eco_status.c.product_family,
                eco_status.c.approved_at,
                eco_plants.c.erp_confirmed_at,
                eco_plants.c.production_ready_at,
            )
            .join(eco_status, eco_status.c.eco == eco_plants.c.eco)
            .where(
                eco_plants.c.production_ready_at >= low,
                eco_plants.c.production_ready_at < high,
                eco_status.c.approved_at.is_not(None),
            )
        )
    else:
        select = sa.select(
            eco_status.c.eco,
            sa.null().label("plant"),
            eco_status.c.product_family,
            eco_status.c.approved_at,
            eco_status.c.erp_confirmed_at,
            eco_status.c.production_ready_at,
        ).where(
            eco_status.c.production_ready_at >= low,
            eco_status.c.production_ready_at < high,
            eco_status.c.approved_at.is_not(None),
        )
    with engine.connect() as connection:
        result = connection.execute(select)
        rows = frame(result, list(result.keys()))
    return _with_durations(rows)


def _with_durations(rows: pd.DataFrame) -> pd.DataFrame:
    if rows.empty:
        return pd.DataFrame(columns=_COLUMNS)
    approved = pd.to_datetime(rows["approved_at"], utc=True)
    confirmed = pd.to_datetime(rows["erp_confirmed_at"], utc=True)
    ready = pd.to_datetime(rows["production_ready_at"], utc=True)
    hour = pd.Timedelta(hours=1)
    rows["month"] = ready.dt.strftime("%Y-%m")
    rows["to_confirmed_h"] = (confirmed - approved) / hour
    rows["confirmed_to_ready_h"] = (ready - confirmed) / hour
    rows["total_h"] = (ready - approved) / hour
    return rows[_COLUMNS]


def cycle_percentiles(rows: pd.DataFrame, by: Dimension) -> pd.DataFrame:
    """p50, p90 and p95 of each measure per group: one row per group, sorted by it.

    Columns: the dimension, count, then ``p<N>_<measure>`` for every measure and percentile.
    """
    columns = [by.value, "count"] + [f"p{p}_{m}" for m in MEASURES for p in PERCENTILES]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    records = []
    for group, part in rows.groupby(by.value, sort=True, dropna=False):
        record: dict[str, object] = {by.value: group, "count": len(part)}
        for measure in MEASURES:
            values = [float(v) for v in part[measure].dropna()]
            for p in PERCENTILES:
                record[f"p{p}_{measure}"] = percentile(values, p)
        records.append(record)
    return pd.DataFrame.from_records(records, columns=columns)


def monthly_trend(rows: pd.DataFrame) -> pd.DataFrame:
    """Per month: month, count, p50_total_h, p90_total_h, p95_total_h."""
    table = cycle_percentiles(rows, Dimension.MONTH)
    return table[["month", "count", *(f"p{p}_total_h" for p in PERCENTILES)]]
