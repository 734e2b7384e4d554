"""Failed supplier notices, grouped by the error that stopped them."""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlalchemy as sa

from collector.tables import step_status, supplier_notices
from contracts.readmodel import NoticeStatus
from dashboards.paging import DEFAULT_LIMIT, Page, frame, paginate

FAILED_STATUSES = (NoticeStatus.FAILED, NoticeStatus.RETRYING)
"""Notices that did not reach the supplier: given up (failed) or between attempts."""

_JOINED = supplier_notices.outerjoin(
    step_status, step_status.c.step_id == supplier_notices.c.step_id
)
# The step's stable error code groups like failures; the message is the fallback for
# notices whose step the collector has not seen.
_ERROR = sa.func.coalesce(step_status.c.error_code, supplier_notices.c.last_error, "unknown")


def notice_error_groups(
    engine: sa.Engine, *, statuses: tuple[str, ...] = FAILED_STATUSES
) -> pd.DataFrame:
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
        .where(supplier_notices.c.status.in_(statuses))
        .group_by(_ERROR)
        .order_by(sa.func.count().desc(), _ERROR)
    )
    with engine.connect() as connection:
        result = connection.execute(select)
        return frame(result, list(result.keys()))


def failed_notices(
    engine: sa.Engine,
    *,
    error: str | None = None,
    statuses: tuple[str, ...] = FAILED_STATUSES,
    supplier: str | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
) -> Page:
    """One page of notices not delivered, the most recently changed first.

    Columns: eco, supplier, status, attempts, last_error, next_retry_at, updated_at,
    step_id, error (the group).
    """
    select: sa.Select[Any] = (
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
        .where(supplier_notices.c.status.in_(statuses))
        .order_by(
            supplier_notices.c.updated_at.desc(),
            supplier_notices.c.eco,
            supplier_notices.c.supplier,
        )
    )
    if error is not None:
        select = select.where(_ERROR == error)
    if supplier is not None:
        select = select.where(supplier_notices.c.supplier == supplier)
    with engine.connect() as connection:
        return paginate(connection, select, limit=limit, offset=offset)
