"""Supplier qualification: purchasing info records held for a supplier's qualification,
those blocked because procurement rejected it, and those blocked because no contract
covers the component (the exceptions sourcing must resolve).

All three lists read the info record steps of ``step_status`` under one
:class:`QualificationFilter`; a central info record (one for every centrally sourced
plant) has no plant and shows as ``central``. :func:`count_waiting` counts what
:func:`waiting_on_qualification` lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa

from collector.tables import eco_status, step_status
from contracts.steps import StepKind, StepState
from dashboards import filters
from dashboards.filters import Query
from dashboards.paging import DEFAULT_LIMIT, Page, count_rows, frame, paginate_waiting

CENTRAL = "central"
"""How an info record for every centrally sourced plant names its plant."""
REJECTED_CODE = "QUALIFICATION_REJECTED"
CONTRACT_MISSING_CODE = "CONTRACT_MISSING"

_RECORD = step_status.c.kind == StepKind.ERP_INFO_RECORD
_PLANT = sa.func.coalesce(step_status.c.plant, CENTRAL)
_SINCE = sa.func.coalesce(step_status.c.requested_at, step_status.c.state_since)
_JOINED = step_status.outerjoin(eco_status, eco_status.c.eco == step_status.c.eco)
_WAITING = sa.and_(_RECORD, step_status.c.state == StepState.AWAITING_QUALIFICATION)


def _blocked(code: str) -> sa.ColumnElement[bool]:
    return sa.and_(
        _RECORD, step_status.c.state == StepState.BLOCKED, step_status.c.error_code == code
    )


@dataclass(frozen=True)
class QualificationFilter:
    """What the lists are narrowed to; empty means every info record held or blocked."""

    suppliers: tuple[str, ...] = ()
    plants: tuple[str, ...] = ()
    past_sla_only: bool = False

    @classmethod
    def from_query(cls, query: Query) -> QualificationFilter:
        """The filter a page address names (see :meth:`to_query`)."""
        return cls(
            suppliers=filters.values(query, "supplier"),
            plants=filters.values(query, "plant"),
            past_sla_only=filters.flag(query, "past_sla"),
        )

    def to_query(self) -> dict[str, list[str]]:
        """``supplier``, ``plant`` (repeated; ``central`` for central records), ``past_sla=1``."""
        query: dict[str, list[str]] = {}
        filters.put(query, "supplier", self.suppliers)
        filters.put(query, "plant", self.plants)
        if self.past_sla_only:
            filters.put(query, "past_sla", [filters.TRUE])
        return query

    def describe(self) -> list[str]:
        """The conditions in words."""
        said: list[str] = []
        if self.suppliers:
            said.append(f"supplier {', '.join(self.suppliers)}")
        if self.plants:
            said.append(f"plant {', '.join(self.plants)}")
        if self.past_sla_only:
            said.append("past SLA")
        return said

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        """The supplier and plant conditions (the SLA one applies to waiting rows only)."""
        found: list[sa.ColumnElement[bool]] = []
        if self.suppliers:
            found.append(step_status.c.supplier.in_(self.suppliers))
        if self.plants:
            found.append(_PLANT.in_(self.plants))
        return found


def waiting_select(criteria: QualificationFilter, *, now: datetime) -> sa.Select[Any]:
    """Info records waiting for their supplier's qualification, the longest waiting first.

    Columns: eco, title, supplier, plant, component, revision, waiting_since, sla_due_at,
    sla_state (``overdue`` | ``on time``), step_id.
    """
    overdue = step_status.c.sla_due_at < now
    conditions = [_WAITING, *criteria.conditions()]
    if criteria.past_sla_only:
        conditions.append(overdue)
    return (
        sa.select(
            step_status.c.eco,
            eco_status.c.title,
            step_status.c.supplier,
            _PLANT.label("plant"),
            step_status.c.item.label("component"),
            step_status.c.revision,
            _SINCE.label("waiting_since"),
            step_status.c.sla_due_at,
            sa.case((overdue, "overdue"), else_="on time").label("sla_state"),
            step_status.c.step_id,
        )
        .select_from(_JOINED)
        .where(*conditions)
        .order_by(_SINCE, step_status.c.step_id)
    )


def count_waiting(
    connection: sa.Connection, criteria: QualificationFilter, *, now: datetime
) -> int:
    """How many rows :func:`waiting_on_qualification` lists for ``criteria``."""
    return count_rows(connection, waiting_select(criteria, now=now))


def waiting_on_qualification(
    engine: sa.Engine,
    criteria: QualificationFilter = QualificationFilter(),
    *,
    now: datetime | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
) -> Page:
    """One page of info records waiting on qualification, with waiting_seconds."""
    now = now or datetime.now(UTC)
    with engine.connect() as connection:
        return paginate_waiting(
            connection, waiting_select(criteria, now=now), now=now, limit=limit, offset=offset
        )


BLOCKED_COLUMNS = (
    "eco",
    "supplier",
    "plant",
    "component",
    "revision",
    "reason",
    "since",
    "step_id",
)


def _blocked_rows(engine: sa.Engine, code: str, criteria: QualificationFilter) -> pd.DataFrame:
    query = (
        sa.select(
            step_status.c.eco,
            step_status.c.supplier,
            _PLANT.label("plant"),
            step_status.c.item.label("component"),
            step_status.c.revision,
            step_status.c.error_message.label("reason"),
            step_status.c.state_since.label("since"),
            step_status.c.step_id,
        )
        .where(_blocked(code), *criteria.conditions())
        .order_by(step_status.c.state_since, step_status.c.step_id)
    )
    with engine.connect() as connection:
        return frame(connection.execute(query), BLOCKED_COLUMNS)


def rejected(
    engine: sa.Engine, criteria: QualificationFilter = QualificationFilter()
) -> pd.DataFrame:
    """Info records blocked because procurement rejected the supplier, with its reason."""
    return _blocked_rows(engine, REJECTED_CODE, criteria)


def contracts_missing(
    engine: sa.Engine, criteria: QualificationFilter = QualificationFilter()
) -> pd.DataFrame:
    """Info records blocked because no contract of the supplier covers the component."""
    return _blocked_rows(engine, CONTRACT_MISSING_CODE, criteria)


SUMMARY_COLUMNS = ("supplier", "waiting", "past_sla", "oldest_since", "rejected", "no_contract")


def by_supplier(
    engine: sa.Engine, criteria: QualificationFilter = QualificationFilter(), *, now: datetime
) -> pd.DataFrame:
    """Per supplier: info records waiting (and past SLA, and since when), rejected, and
    without a contract."""
    waiting = sa.and_(_WAITING, *criteria.conditions())
    query = (
        sa.select(
            step_status.c.supplier,
            sa.func.count().filter(_WAITING),
            sa.func.count().filter(sa.and_(_WAITING, step_status.c.sla_due_at < now)),
            sa.func.min(_SINCE).filter(_WAITING),
            sa.func.count().filter(_blocked(REJECTED_CODE)),
            sa.func.count().filter(_blocked(CONTRACT_MISSING_CODE)),
        )
        .where(
            sa.or_(waiting, _blocked(REJECTED_CODE), _blocked(CONTRACT_MISSING_CODE)),
            *criteria.conditions(),
        )
        .group_by(step_status.c.supplier)
        .order_by(step_status.c.supplier)
    )
    with engine.connect() as connection:
        return frame(connection.execute(query), SUMMARY_COLUMNS)


def qualification_options(engine: sa.Engine) -> tuple[Sequence[str], Sequence[str]]:
    """The suppliers and plants that have an info record waiting or blocked."""
    held = sa.or_(_WAITING, _blocked(REJECTED_CODE), _blocked(CONTRACT_MISSING_CODE))
    with engine.connect() as connection:
        suppliers = connection.execute(
            sa.select(step_status.c.supplier)
            .where(held)
            .distinct()
            .order_by(step_status.c.supplier)
        ).scalars()
        plants = connection.execute(
            sa.select(_PLANT).where(held).distinct().order_by(_PLANT)
        ).scalars()
        return [s for s in suppliers if s], [p for p in plants if p]
