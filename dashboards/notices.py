"""Supplier notices not delivered, grouped by the error that stopped them.

One filter, :class:`NoticeFilter`, narrows both the groups and their rows, so the
Overview's "failed supplier notices" (:func:`count_notices`) is the number of rows the
page lists for the same filter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa

from collector.tables import step_status, supplier_notices
from contracts.readmodel import NoticeStatus
from dashboards import filters
from dashboards.filters import Query
from dashboards.paging import DEFAULT_LIMIT, Page, count_rows, frame, paginate

FAILED_STATUSES = (NoticeStatus.FAILED, NoticeStatus.RETRYING)
"""Notices that did not reach the supplier: given up (failed) or between attempts."""

_JOINED = supplier_notices.outerjoin(
    step_status, step_status.c.step_id == supplier_notices.c.step_id
)
# The step's stable error code groups like failures; the message is the fallback for
# notices whose step the collector has not seen.
_ERROR = sa.func.coalesce(step_status.c.error_code, supplier_notices.c.last_error, "unknown")


@dataclass(frozen=True)
class NoticeFilter:
    """Undelivered notices narrowed to statuses, one error group or one supplier."""

    statuses: tuple[NoticeStatus, ...] = FAILED_STATUSES
    error: str | None = None
    supplier: str | None = None

    @classmethod
    def from_query(cls, query: Query) -> NoticeFilter:
        """The filter a page address names: ``status`` (repeated), ``error``, ``supplier``."""
        statuses = tuple(
            s for s in filters.members(query, "status", NoticeStatus) if s in FAILED_STATUSES
        )
        return cls(
            statuses=statuses or FAILED_STATUSES,
            error=filters.value(query, "error"),
            supplier=filters.value(query, "supplier"),
        )

    def to_query(self) -> dict[str, list[str]]:
        query: dict[str, list[str]] = {}
        if set(self.statuses) != set(FAILED_STATUSES):
            filters.put(query, "status", self.statuses)
        filters.put(query, "error", [self.error] if self.error else [])
        filters.put(query, "supplier", [self.supplier] if self.supplier else [])
        return query

    def describe(self) -> list[str]:
        said: list[str] = []
        if set(self.statuses) != set(FAILED_STATUSES):
            said.append(f"status {', '.join(self.statuses)}")
        if self.error:
            said.append(f"error {self.error}")
        if self.supplier:
            said.append(f"supplier {self.supplier}")
        return said


def _conditions(criteria: NoticeFilter) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = [supplier_notices.c.status.in_(criteria.statuses)]
    if criteria.error is not None:
        conditions.append(_ERROR == criteria.error)
    if criteria.supplier is not None:
        conditions.append(supplier_notices.c.supplier == criteria.supplier)
    return conditions


def notice_error_groups(engine: sa.Engine, criteria: NoticeFilter = NoticeFilter()) -> pd.DataFrame:
    """One row per error: error, notices, failed, retrying, last_seen; the largest first."""
    select = (
        sa.select(
            _ERROR.label("error"),
            sa.func.count().label("notices"),
            # One count per undelivered status, each column named after its status.
            *(
                sa.func.sum(sa.case((supplier_notices.c.status == status, 1), else_=0)).label(
                    status.value
                )
                for status in FAILED_STATUSES
            ),
            sa.func.max(supplier_notices.c.updated_at).label("last_seen"),
        )
        .select_from(_JOINED)
        .where(*_conditions(criteria))
        .group_by(_ERROR)
        .order_by(sa.func.count().desc(), _ERROR)
    )
    with engine.connect() as connection:
        result = connection.execute(select)
        return frame(result, list(result.keys()))


def notices_select(criteria: NoticeFilter) -> sa.Select[Any]:
    """The list's one query: notices not delivered, the most recently changed first.

    Columns: eco, supplier, status, attempts, last_error, next_retry_at, updated_at,
    step_id, error (the group).
    """
    return (
        sa.select(
            supplier_notices.c.eco,
            supplier_notices.c.supplier,
            supplier_notices.c.status,
            supplier_notices.c.attempts,
            supplier_notices.c.last_error,
            supplier_notices.c.next_retry_at,
            supplier_notices.c.updated_at,
            supplier_notices.c.step_id,
            _ERROR.label("error"),
        )
        .select_from(_JOINED)
        .where(*_conditions(criteria))
        .order_by(
            supplier_notices.c.updated_at.desc(),
            supplier_notices.c.eco,
            supplier_notices.c.supplier,
        )
    )


def count_notices(connection: sa.Connection, criteria: NoticeFilter) -> int:
    """How many rows :func:`failed_notices` lists for ``criteria`` (in all its groups)."""
    return count_rows(connection, notices_select(criteria))


def failed_notices(
    engine: sa.Engine,
    criteria: NoticeFilter = NoticeFilter(),
    *,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
) -> Page:
    """One page of notices not delivered (see :func:`notices_select`)."""
    with engine.connect() as connection:
        return paginate(connection, notices_select(criteria), limit=limit, offset=offset)
