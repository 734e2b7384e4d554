"""Awaiting ERP confirmation: production versions ERP has not confirmed yet, oldest first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from collector.tables import eco_status, plant_revisions, step_status
from contracts.steps import StepState
from dashboards.paging import DEFAULT_LIMIT, Page, paginate

# The item's family where the plant's revision row knows it, else the ECO's.
_FAMILY = sa.func.coalesce(plant_revisions.c.product_family, eco_status.c.product_family)
_JOINED = step_status.outerjoin(eco_status, eco_status.c.eco == step_status.c.eco).outerjoin(
    plant_revisions,
    sa.and_(
        plant_revisions.c.plant == step_status.c.plant,
        plant_revisions.c.item == step_status.c.item,
    ),
)


@dataclass(frozen=True)
class ConfirmationFilter:
    """What the list is narrowed to; empty means everything."""

    plants: tuple[str, ...] = ()
    product_families: tuple[str, ...] = ()
    min_age: timedelta | None = None
    past_sla_only: bool = False


def awaiting_confirmation(
    engine: sa.Engine,
    criteria: ConfirmationFilter = ConfirmationFilter(),
    *,
    now: datetime | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
) -> Page:
    """One page of steps awaiting ERP confirmation, the longest waiting first.

    Columns: eco, title, plant, item, revision, product_family, waiting_since,
    waiting_seconds, sla_due_at, sla_state (``overdue`` | ``on time`` | ``no SLA``), step_id.
    """
    now = now or datetime.now(UTC)
    family = _FAMILY
    overdue = sa.or_(step_status.c.overdue, step_status.c.sla_due_at < now)
    since = sa.func.coalesce(step_status.c.requested_at, step_status.c.state_since)
    select = (
        sa.select(
            step_status.c.eco,
            eco_status.c.title,
            step_status.c.plant,
            step_status.c.item,
            step_status.c.revision,
            family.label("product_family"),
            since.label("waiting_since"),
            step_status.c.sla_due_at,
            sa.case(
                (overdue, "overdue"),
                (step_status.c.sla_due_at.is_(None), "no SLA"),
                else_="on time",
            ).label("sla_state"),
            step_status.c.step_id,
        )
        .select_from(_JOINED)
        .where(step_status.c.state == StepState.AWAITING_CONFIRMATION)
        .order_by(since, step_status.c.step_id)
    )
    if criteria.plants:
        select = select.where(step_status.c.plant.in_(criteria.plants))
    if criteria.product_families:
        select = select.where(family.in_(criteria.product_families))
    if criteria.min_age is not None:
        select = select.where(since <= now - criteria.min_age)
    if criteria.past_sla_only:
        select = select.where(overdue)
    with engine.connect() as connection:
        page = paginate(connection, select, limit=limit, offset=offset)
    rows = page.rows
    rows.insert(
        rows.columns.get_loc("waiting_since") + 1,
        "waiting_seconds",
        [(now - since_at).total_seconds() for since_at in rows["waiting_since"]],
    )
    return page


def awaiting_filter_options(engine: sa.Engine) -> tuple[Sequence[str], Sequence[str]]:
    """The plants and product families that currently have something awaiting confirmation."""
    awaiting = step_status.c.state == StepState.AWAITING_CONFIRMATION
    with engine.connect() as connection:
        plants = (
            connection.execute(
                sa.select(step_status.c.plant)
                .where(awaiting, step_status.c.plant.is_not(None))
                .distinct()
                .order_by(step_status.c.plant)
            )
            .scalars()
            .all()
        )
        families = (
            connection.execute(
                sa.select(_FAMILY)
                .select_from(_JOINED)
                .where(awaiting, _FAMILY.is_not(None))
                .distinct()
                .order_by(_FAMILY)
            )
            .scalars()
            .all()
        )
    return plants, families
