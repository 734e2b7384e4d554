"""Plants on a prior revision: (plant, item) pairs where ERP or MES runs an older revision
than the newest one approved and effective by a day.

A pair exists only where the plant uses the item (ERP reported a revision for it), so a
plant an ECO names but that does not use an item is never counted. The newest target is
the highest revision among the ECOs received for the pair that are effective by the day
and still approved in PLM: one cancelled or superseded there, or rejected by Threadline's
rules, no longer counts; one an operator cancelled in Threadline still does, since PLM
approves it and the plant runs behind it (its row says it was cancelled).
:func:`behind_pairs` is the one query: the Overview's figures (:func:`count_behind`), the
heatmap and the list all come from it, so a figure always equals its rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa

from collector.tables import eco_plants, eco_status, plant_revisions, step_status
from contracts.model import revision_key
from contracts.readmodel import EcoState, PlantState
from contracts.steps import DONE_STATES, PURCHASING_KINDS, StepState
from dashboards.paging import DEFAULT_LIMIT, Page, clamp

HEATMAP_ITEMS = 30
HEATMAP_PLANTS = 40

COLUMNS = [
    "plant",
    "item",
    "erp_revision",
    "mes_revision",
    "target_revision",
    "target_eco",
    "target_effective",
    "days_late",
    "behind_in",
    "eco_state",
    "reason",
    "erp_confirmed_at",
    "mes_confirmed_at",
    "product_family",
]
"""The columns of :func:`behind_pairs`, in order."""

DEAD_STATES = (EcoState.CANCELLED, EcoState.REJECTED)
"""ECO states whose targets may no longer count (see :data:`DEAD`)."""
OPERATOR_CANCELLED = sa.and_(
    eco_status.c.state == EcoState.CANCELLED,
    eco_status.c.state_reason.like("operator%"),
)
"""Cancelled by an operator (``eco.cancelled`` cause ``operator``, which the collector
keeps first in ``state_reason``): PLM still approves the ECO."""
DEAD = sa.and_(eco_status.c.state.in_(DEAD_STATES), sa.not_(OPERATOR_CANCELLED))
"""ECOs whose targets no longer count: cancelled or superseded in PLM, or rejected."""
IN_FLIGHT = frozenset({StepState.PENDING, StepState.RUNNING, StepState.RETRYING})
SETTLED = frozenset({*DONE_STATES, StepState.CANCELLED})
"""Step states that hold no later ECO back."""
UNSETTLED = sorted(s.value for s in StepState if s not in SETTLED)
"""The other step states, named rather than negated: a step in one of them is rare, so
``state IN`` reads ``ix_step_status_state`` where ``state NOT IN`` read every step of the
plants (a third of a second over five years)."""


@dataclass(frozen=True)
class BehindCount:
    """How many pairs are behind, and at how many plants."""

    plants: int
    pairs: int


def behind_pairs(
    engine: sa.Engine,
    *,
    today: date | None = None,
    plant: str | None = None,
    item: str | None = None,
) -> pd.DataFrame:
    """Every pair behind on ``today`` (UTC date by default), most days late first.

    Columns (:data:`COLUMNS`): the pair; the revisions ERP and MES run; the newest target,
    its ECO, effectivity and days late; where it is behind (ERP, MES or both); the ECO's
    state; why it is not there (in flight, waiting behind another ECO, blocked with the
    reason, failed, cancelled ...); when ERP and MES last confirmed their revisions.
    """
    today = today or datetime.now(UTC).date()
    with engine.connect() as connection:
        found = _behind_records(connection, today, plant=plant, item=item)
        _explain(connection, found)
    found.sort(key=lambda r: (r["target_effective"], r["plant"], r["item"]))
    return pd.DataFrame.from_records(found, columns=COLUMNS)


def _behind_records(
    connection: sa.Connection, today: date, *, plant: str | None, item: str | None
) -> list[dict[str, Any]]:
    """The pairs behind on ``today``, in no order, without their state and reason."""
    select = sa.select(
        plant_revisions.c.plant,
        plant_revisions.c.item,
        plant_revisions.c.current_revision,
        plant_revisions.c.mes_revision,
        plant_revisions.c.erp_confirmed_at,
        plant_revisions.c.mes_confirmed_at,
        plant_revisions.c.targets,
        plant_revisions.c.product_family,
    ).where(
        plant_revisions.c.behind.is_(True),
        plant_revisions.c.current_revision.is_not(None),
    )
    if plant is not None:
        select = select.where(plant_revisions.c.plant == plant)
    if item is not None:
        select = select.where(plant_revisions.c.item == item)
    candidates = connection.execute(select).all()
    dead = set(connection.execute(sa.select(eco_status.c.eco).where(DEAD)).scalars())
    return [
        record for record in (_behind(row, today, dead) for row in candidates) if record is not None
    ]


def _behind(row: Any, today: date, dead: set[str]) -> dict[str, Any] | None:
    targets: Mapping[str, Any] = row.targets or {}
    valid = [
        (revision_key(revision), str(revision), eco, date.fromisoformat(effective))
        for eco, (revision, effective) in targets.items()
        if eco not in dead and date.fromisoformat(effective) <= today
    ]
    if not valid:
        return None
    # The newest revision; of ECOs naming the same one, the earliest effective.
    key, revision, eco, effective = max(valid, key=lambda t: (t[0], -t[3].toordinal(), t[2]))
    erp_behind = revision_key(row.current_revision) < key
    mes_behind = row.mes_revision is not None and revision_key(row.mes_revision) < key
    if not (erp_behind or mes_behind):
        return None
    return {
        "plant": row.plant,
        "item": row.item,
        "erp_revision": row.current_revision,
        "mes_revision": row.mes_revision,
        "target_revision": revision,
        "target_eco": eco,
        "target_effective": effective,
        "days_late": (today - effective).days,
        "behind_in": "ERP and MES" if erp_behind and mes_behind else "ERP" if erp_behind else "MES",
        "eco_state": None,
        "reason": None,
        "erp_confirmed_at": row.erp_confirmed_at,
        "mes_confirmed_at": row.mes_confirmed_at,
        "product_family": row.product_family,
    }


def _explain(connection: sa.Connection, records: list[dict[str, Any]]) -> None:
    """Fill in each record's ECO state and why the pair is not at its target yet."""
    if not records:
        return
    ecos = sorted({r["target_eco"] for r in records})
    plants = sorted({r["plant"] for r in records})
    items = sorted({r["item"] for r in records})
    approved: dict[str, Any] = {}
    states: dict[str, str] = {}
    for chunk in _chunks(ecos):
        for eco_row in connection.execute(
            sa.select(eco_status.c.eco, eco_status.c.state, eco_status.c.approved_at).where(
                eco_status.c.eco.in_(chunk)
            )
        ):
            states[eco_row.eco] = eco_row.state
            approved[eco_row.eco] = eco_row.approved_at
    plant_rows: dict[tuple[str, str], Any] = {}
    steps: dict[tuple[str, str], list[Any]] = {}
    for chunk in _chunks(ecos):
        for plant_row in connection.execute(
            sa.select(
                eco_plants.c.eco,
                eco_plants.c.plant,
                eco_plants.c.state,
                eco_plants.c.blocked_reason,
            ).where(eco_plants.c.eco.in_(chunk), eco_plants.c.plant.in_(plants))
        ):
            plant_rows[(plant_row.eco, plant_row.plant)] = plant_row
    # Every step on these pairs, of any ECO: the responsible ECO's own, and earlier ones
    # it may be waiting behind.
    open_elsewhere: dict[tuple[str, str], list[Any]] = {}
    for chunk in _chunks(items):
        for step_row in connection.execute(
            sa.select(
                step_status.c.eco,
                step_status.c.plant,
                step_status.c.item,
                step_status.c.state,
                step_status.c.error_message,
                step_status.c.kind,
            ).where(
                step_status.c.item.in_(chunk),
                step_status.c.plant.in_(plants),
                # An info record does not change what the plant runs.
                step_status.c.kind.not_in(sorted(k.value for k in PURCHASING_KINDS)),
                sa.or_(step_status.c.eco.in_(ecos), step_status.c.state.in_(UNSETTLED)),
            )
        ):
            steps.setdefault((step_row.plant, step_row.item), []).append(step_row)
            if step_row.state not in SETTLED:
                open_elsewhere.setdefault((step_row.plant, step_row.item), []).append(step_row)
    earlier_ecos = sorted({s.eco for rows in open_elsewhere.values() for s in rows} - set(approved))
    for chunk in _chunks(earlier_ecos):
        for earlier_row in connection.execute(
            sa.select(eco_status.c.eco, eco_status.c.approved_at).where(eco_status.c.eco.in_(chunk))
        ):
            approved[earlier_row.eco] = earlier_row.approved_at
    for record in records:
        eco, pair = record["target_eco"], (record["plant"], record["item"])
        record["eco_state"] = states.get(eco)
        own = [s for s in steps.get(pair, []) if s.eco == eco]
        blockers = [
            s
            for s in open_elsewhere.get(pair, [])
            if s.eco != eco and _before(approved.get(s.eco), s.eco, approved.get(eco), eco)
        ]
        record["reason"] = _reason(record, own, blockers, plant_rows.get((eco, record["plant"])))


def _before(at: Any, eco: str, other_at: Any, other: str) -> bool:
    if at is None or other_at is None:
        return eco < other
    return bool((at, eco) < (other_at, other))


def _reason(record: dict[str, Any], own: list[Any], blockers: list[Any], plant: Any) -> str:
    states = {s.state for s in own}
    problem = next(
        (s for s in sorted(own, key=lambda s: str(s.kind)) if s.state == StepState.BLOCKED), None
    )
    if problem is not None:
        return f"blocked: {problem.error_message or problem.kind}"
    failed = next((s for s in own if s.state == StepState.FAILED), None)
    if failed is not None:
        return f"failed: {failed.error_message or failed.kind}"
    if StepState.CANCELLED in states:
        return "cancelled"
    if plant is not None and plant.state in (PlantState.BLOCKED, PlantState.FAILED):
        return f"{plant.state} at the plant: {plant.blocked_reason or 'see the ECO'}"
    if blockers and StepState.WAITING in states:
        first = min(blockers, key=lambda s: s.eco)
        return f"waiting behind {first.eco}"
    if StepState.AWAITING_CONFIRMATION in states:
        return "awaiting ERP confirmation"
    if states & IN_FLIGHT or StepState.WAITING in states:
        return "in flight"
    if not own:
        return "no step of the ECO changes it at this plant"
    if record["behind_in"] == "MES":
        return "applied in ERP; MES has not taken it"
    return "applied; ERP reports an older revision"


def _chunks(values: list[str], size: int = 500) -> Iterable[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def count_behind(
    connection: sa.Connection,
    *,
    today: date | None = None,
    plant: str | None = None,
    item: str | None = None,
) -> BehindCount:
    """The Overview's figures: the rows of :func:`behind_pairs` and their plants.

    The same pairs, without the state and reason :func:`behind_pairs` looks up for each
    row: they never decide whether a pair is listed, and the figure does not show them.
    """
    today = today or datetime.now(UTC).date()
    found = _behind_records(connection, today, plant=plant, item=item)
    return BehindCount(plants=len({r["plant"] for r in found}), pairs=len(found))


@dataclass(frozen=True)
class LagMatrix:
    """Days past effectivity per (item, plant) for the items lagging longest.

    ``days`` has items as rows and plants as columns; a cell is empty where the plant is
    not behind on that item. ``cells`` holds one row per (item, plant) shown (the columns
    of :func:`behind_pairs`).
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
    rows = behind_pairs(engine, today=today)
    items_behind = int(rows["item"].nunique())
    if rows.empty:
        return LagMatrix(days=pd.DataFrame(), cells=rows, items_behind=0)
    worst = (
        rows.groupby("item")["target_effective"]
        .min()
        .reset_index()
        .sort_values(["target_effective", "item"])["item"]
        .head(max_items)
    )
    cells = rows[rows["item"].isin(set(worst))].sort_values(["item", "plant"])
    plants = sorted(cells["plant"].unique())[:max_plants]
    cells = cells[cells["plant"].isin(plants)].reset_index(drop=True)
    # One row per (plant, item), so a plain pivot is exact.
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
    """One page of :func:`behind_pairs` (with the same filters), most days late first."""
    limit, offset = clamp(limit, offset)
    rows = behind_pairs(engine, today=today, plant=plant, item=item)
    shown = rows.iloc[offset : offset + limit].reset_index(drop=True)
    return Page(rows=shown, total=len(rows), offset=offset, limit=limit)
