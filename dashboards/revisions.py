"""Plants on a prior revision: where a plant still builds what an ECO superseded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pandas as pd
import sqlalchemy as sa

from collector.tables import eco_plants, plant_revisions
from dashboards.overview import late_revision_filter
from dashboards.paging import DEFAULT_LIMIT, Page, frame, paginate

HEATMAP_ITEMS = 30
HEATMAP_PLANTS = 40


@dataclass(frozen=True)
class LagMatrix:
    """Days past effectivity per (item, plant) for the items lagging longest.

    ``days`` has items as rows and plants as columns; a cell is empty where the plant is
    not behind on that item. ``cells`` holds one row per (item, plant) shown, with the
    revisions, the ECO and how many days late it is.
    """

    days: pd.DataFrame
    cells: pd.DataFrame
    items_behind: int


def lag_matrix(
    engine: sa.Engine,
    *,
    today: date | None = None,
    max_items: int = HEATMAP_ITEMS,
    max_plants: int = HEATMAP_PLANTS,
) -> LagMatrix:
    """The heatmap's data: the ``max_items`` items whose oldest late plant is the latest."""
    today = today or datetime.now(UTC).date()
    late = late_revision_filter(today)
    with engine.connect() as connection:
        items_behind = int(
            connection.execute(
                sa.select(sa.func.count(sa.distinct(plant_revisions.c.item))).where(*late)
            ).scalar_one()
        )
        worst = (
            sa.select(plant_revisions.c.item)
            .where(*late)
            .group_by(plant_revisions.c.item)
            .order_by(sa.func.min(plant_revisions.c.target_effective), plant_revisions.c.item)
            .limit(max_items)
            .subquery()
        )
        result = connection.execute(
            sa.select(
                plant_revisions.c.item,
                plant_revisions.c.plant,
                plant_revisions.c.current_revision,
                plant_revisions.c.target_revision,
                plant_revisions.c.target_eco,
                plant_revisions.c.target_effective,
                plant_revisions.c.product_family,
            )
            .where(*late, plant_revisions.c.item.in_(sa.select(worst.c.item)))
            .order_by(plant_revisions.c.item, plant_revisions.c.plant)
        )
        cells = frame(result, list(result.keys()))
    cells["days_late"] = [(today - effective).days for effective in cells["target_effective"]]
    if cells.empty:
        return LagMatrix(days=pd.DataFrame(), cells=cells, items_behind=items_behind)
    plants = sorted(cells["plant"].unique())[:max_plants]
    cells = cells[cells["plant"].isin(plants)].reset_index(drop=True)
    # One row per (plant, item) in the table, so a plain pivot is exact (and much faster).
    days = cells.pivot(index="item", columns="plant", values="days_late").reindex(columns=plants)
    return LagMatrix(days=days, cells=cells, items_behind=items_behind)


def late_plants(
    engine: sa.Engine,
    *,
    today: date | None = None,
    plant: str | None = None,
    item: str | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
) -> Page:
    """One page of (plant, item) building a superseded revision past its effectivity.

    The most days late first. Columns: plant, item, current_revision, target_revision,
    target_eco, target_effective, product_family, plant_state, blocking_reason, days_late.
    """
    today = today or datetime.now(UTC).date()
    select = (
        sa.select(
            plant_revisions.c.plant,
            plant_revisions.c.item,
            plant_revisions.c.current_revision,
            plant_revisions.c.target_revision,
            plant_revisions.c.target_eco,
            plant_revisions.c.target_effective,
            plant_revisions.c.product_family,
        )
        .where(*late_revision_filter(today))
        .order_by(
            plant_revisions.c.target_effective, plant_revisions.c.plant, plant_revisions.c.item
        )
    )
    if plant is not None:
        select = select.where(plant_revisions.c.plant == plant)
    if item is not None:
        select = select.where(plant_revisions.c.item == item)
    with engine.connect() as connection:
        page = paginate(connection, select, limit=limit, offset=offset)
        # The plant's state for just this page's rows, by primary key, after the limit.
        pairs = list(zip(page.rows["target_eco"], page.rows["plant"], strict=True))
        states = (
            {
                (row.eco, row.plant): (row.state, row.blocked_reason)
                for row in connection.execute(
                    sa.select(
                        eco_plants.c.eco,
                        eco_plants.c.plant,
                        eco_plants.c.state,
                        eco_plants.c.blocked_reason,
                    ).where(sa.tuple_(eco_plants.c.eco, eco_plants.c.plant).in_(pairs))
                )
            }
            if pairs
            else {}
        )
    rows = page.rows
    rows["plant_state"] = [states.get(pair, (None, None))[0] for pair in pairs]
    rows["blocking_reason"] = [states.get(pair, (None, None))[1] for pair in pairs]
    rows["days_late"] = [(today - day).days for day in rows["target_effective"]]
    return page
