"""Awaiting ERP confirmation: production versions ERP has not confirmed yet, oldest first.

The list and the Overview's two figures (awaiting, past SLA) are one query,
:func:`awaiting_select`, under a :class:`ConfirmationFilter`: :func:`count_awaiting`
counts what :func:`awaiting_confirmation` lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from collector.tables import eco_status, plant_revisions, step_status
from contracts.steps import StepState
from dashboards import filters
from dashboards.filters import Query
from dashboards.paging import DEFAULT_LIMIT, Page, count_rows, paginate_waiting

# The item's family where the plant's revision row knows it, else the ECO's.
_FAMILY = sa.func.coalesce(plant_revisions.c.product_family, eco_status.c.product_family)
_JOINED = step_status.outerjoin(eco_status, eco_status.c.eco == step_status.c.eco).outerjoin(
    plant_revisions,
    sa.and_(
        plant_revisions.c.plant == step_status.c.plant,
        plant_revisions.c.item == step_status.c.item,
    ),
)
_SINCE = sa.func.coalesce(step_status.c.requested_at, step_status.c.state_since)


@dataclass(frozen=True)
class ConfirmationFilter:
    """What the list is narrowed to; empty means everything awaiting confirmation."""

    plants: tuple[str, ...] = ()
    product_families: tuple[str, ...] = ()
    min_age: timedelta | None = None
    past_sla_only: bool = False

    @classmethod
    def from_query(cls, query: Query) -> ConfirmationFilter:
        """The filter a page address names (see :meth:`to_query`)."""
        return cls(
            plants=filters.values(query, "plant"),
            product_families=filters.values(query, "family"),
            min_age=filters.seconds(query, "min_age"),
            past_sla_only=filters.flag(query, "past_sla"),
        )

    def to_query(self) -> dict[str, list[str]]:
        """``plant``, ``family`` (repeated), ``min_age`` (seconds), ``past_sla=1``."""
        query: dict[str, list[str]] = {}
        filters.put(query, "plant", self.plants)
        filters.put(query, "family", self.product_families)
        if self.min_age is not None:
            filters.put(query, "min_age", [int(self.min_age.total_seconds())])
        if self.past_sla_only:
            filters.put(query, "past_sla", [filters.TRUE])
        return query

    def describe(self) -> list[str]:
        """The conditions in words."""
        said: list[str] = []
        if self.plants:
            said.append(f"plant {', '.join(self.plants)}")
        if self.product_families:
            said.append(f"product family {', '.join(self.product_families)}")
        if self.min_age is not None:
            said.append(f"waiting over {_age(self.min_age)}")
        if self.past_sla_only:
            said.append("past SLA")
        return said


def awaiting_select(criteria: ConfirmationFilter, *, now: datetime) -> sa.Select[Any]:
    """The list's one query: steps awaiting ERP confirmation under ``criteria``, oldest first.

    Columns: eco, title, plant, item, revision, product_family, waiting_since, sla_due_at,
    sla_state (``overdue`` | ``on time`` | ``no SLA``), step_id.
    """
    overdue = _overdue(now)
    conditions: list[sa.ColumnElement[bool]] = [
        step_status.c.state == StepState.AWAITING_CONFIRMATION
    ]
    if criteria.plants:
        conditions.append(step_status.c.plant.in_(criteria.plants))
    if criteria.product_families:
        conditions.append(_FAMILY.in_(criteria.product_families))
    if criteria.min_age is not None:
        conditions.append(_SINCE <= now - criteria.min_age)
    if criteria.past_sla_only:
        conditions.append(overdue)
    return (
        sa.select(
            step_status.c.eco,
            eco_status.c.title,
            step_status.c.plant,
            step_status.c.item,
            step_status.c.revision,
            _FAMILY.label("product_family"),
            _SINCE.label("waiting_since"),
            step_status.c.sla_due_at,
            sa.case(
                (overdue, "overdue"),
                (step_status.c.sla_due_at.is_(None), "no SLA"),
                else_="on time",
            ).label("sla_state"),
            step_status.c.step_id,
        )
        .select_from(_JOINED)
        .where(*conditions)
        .order_by(_SINCE, step_status.c.step_id)
    )


def count_awaiting(
    connection: sa.Connection, criteria: ConfirmationFilter, *, now: datetime
) -> int:
    """How many rows :func:`awaiting_confirmation` lists for ``criteria``."""
    return count_rows(connection, awaiting_select(criteria, now=now))


def awaiting_confirmation(
    engine: sa.Engine,
    criteria: ConfirmationFilter = ConfirmationFilter(),
    *,
    now: datetime | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
) -> Page:
    """One page of steps awaiting ERP confirmation, the longest waiting first.

    Columns: those of :func:`awaiting_select`, with waiting_seconds after waiting_since.
    """
    now = now or datetime.now(UTC)
    with engine.connect() as connection:
        return paginate_waiting(
            connection, awaiting_select(criteria, now=now), now=now, limit=limit, offset=offset
        )


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


def _overdue(now: datetime) -> sa.ColumnElement[bool]:
    # Reported overdue by the engine, or past its due time now (the report may lag).
    return sa.or_(step_status.c.overdue, step_status.c.sla_due_at < now)


def _age(age: timedelta) -> str:
    minutes = int(age.total_seconds() // 60)
    if minutes % 1440 == 0 and minutes:
        days = minutes // 1440
        return f"{days} day{'' if days == 1 else 's'}"
    if minutes % 60 == 0 and minutes:
        hours = minutes // 60
        return f"{hours} hour{'' if hours == 1 else 's'}"
    return f"{minutes} minutes"
