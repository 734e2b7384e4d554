"""ECOs by state: the list behind the Overview's "ECOs in flight".

:func:`ecos_select` under an :class:`EcoFilter` is the one query; :func:`count_ecos`
counts what :func:`eco_list` pages through.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from collector.tables import eco_status
from contracts.readmodel import EcoState
from dashboards import filters
from dashboards.filters import Query
from dashboards.paging import DEFAULT_LIMIT, Page, count_rows, paginate

IN_FLIGHT_STATES = (
    EcoState.RECEIVED,
    EcoState.IN_PROGRESS,
    EcoState.BLOCKED,
    EcoState.AWAITING_CONFIRMATION,
)
"""ECO states that still need work (not production-ready, cancelled or rejected)."""


@dataclass(frozen=True)
class EcoFilter:
    """ECOs in any of ``states`` (none: every ECO)."""

    states: tuple[EcoState, ...] = ()

    @classmethod
    def from_query(cls, query: Query) -> EcoFilter:
        """The filter a page address names: ``state`` (repeated)."""
        return cls(states=filters.members(query, "state", EcoState))

    def to_query(self) -> dict[str, list[str]]:
        query: dict[str, list[str]] = {}
        filters.put(query, "state", self.states)
        return query

    def describe(self) -> list[str]:
        if not self.states:
            return []
        if set(self.states) == set(IN_FLIGHT_STATES):
            return ["in flight (received, in progress, blocked or awaiting confirmation)"]
        return [f"state {', '.join(self.states)}"]


IN_FLIGHT = EcoFilter(states=IN_FLIGHT_STATES)


def ecos_select(criteria: EcoFilter) -> sa.Select[Any]:
    """The list's one query: ECOs under ``criteria``, the earliest approved first.

    Columns: eco, title, state, approved_at, effectivity, product_family, plants_done,
    plants_total, blocked_count, failed_count, last_event_at.
    """
    select = sa.select(
        eco_status.c.eco,
        eco_status.c.title,
        eco_status.c.state,
        eco_status.c.approved_at,
        eco_status.c.effectivity,
        eco_status.c.product_family,
        eco_status.c.plants_done,
        eco_status.c.plants_total,
        eco_status.c.blocked_count,
        eco_status.c.failed_count,
        eco_status.c.last_event_at,
    ).order_by(eco_status.c.approved_at, eco_status.c.eco)
    if criteria.states:
        select = select.where(eco_status.c.state.in_(criteria.states))
    return select


def count_ecos(connection: sa.Connection, criteria: EcoFilter) -> int:
    """How many rows :func:`eco_list` lists for ``criteria``."""
    return count_rows(connection, ecos_select(criteria))


def eco_list(
    engine: sa.Engine,
    criteria: EcoFilter = EcoFilter(),
    *,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
) -> Page:
    """One page of ECOs (see :func:`ecos_select`)."""
    with engine.connect() as connection:
        return paginate(connection, ecos_select(criteria), limit=limit, offset=offset)


def latest_ecos(engine: sa.Engine, *, troubled: bool, limit: int = 10) -> list[dict[str, Any]]:
    """The ECOs that changed last; with ``troubled``, only those with a blocked or failed
    step or in the blocked state (what an ECO search most often starts from)."""
    select = (
        ecos_select(EcoFilter())
        .order_by(None)
        .order_by(eco_status.c.last_event_at.desc(), eco_status.c.eco)
        .limit(limit)
    )
    if troubled:
        select = select.where(
            sa.or_(
                eco_status.c.blocked_count > 0,
                eco_status.c.failed_count > 0,
                eco_status.c.state == EcoState.BLOCKED,
            )
        )
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(select).mappings()]
