"""One page of a list: the rows shown and how many there are in all."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa

DEFAULT_LIMIT = 25
MAX_LIMIT = 500


@dataclass(frozen=True)
class Page:
    """``rows`` of a list that has ``total`` rows, starting at ``offset``."""

    rows: pd.DataFrame
    total: int
    offset: int
    limit: int

    @property
    def has_next(self) -> bool:
        """Whether rows follow this page."""
        return self.offset + len(self.rows) < self.total

    @property
    def has_previous(self) -> bool:
        """Whether rows precede this page."""
        return self.offset > 0


def clamp(limit: int, offset: int) -> tuple[int, int]:
    """A limit within ``1..MAX_LIMIT`` and a non-negative offset."""
    return max(1, min(limit, MAX_LIMIT)), max(0, offset)


def frame(
    result: sa.CursorResult[Any] | Sequence[sa.Row[Any]], columns: Sequence[str]
) -> pd.DataFrame:
    """The rows as a DataFrame with exactly ``columns``, even when there are none."""
    rows = result.fetchall() if isinstance(result, sa.CursorResult) else result
    return pd.DataFrame.from_records([tuple(row) for row in rows], columns=list(columns))


def report_frame(connection: sa.Connection, select: sa.Select[Any]) -> pd.DataFrame:
    """A report's rows as a DataFrame, read from the driver's cursor as plain tuples.

    For selects whose columns need no conversion on the way out (numbers, text): five years
    of a report is tens of thousands of rows, and SQLAlchemy's row objects cost about
    2 µs each on top of the driver's fetch.
    """
    result = connection.execute(select)
    try:
        rows = result.cursor.fetchall()
    finally:
        result.close()
    return pd.DataFrame.from_records(rows, columns=list(result.keys()))


def count_rows(connection: sa.Connection, select: sa.Select[Any]) -> int:
    """How many rows ``select`` gives: a list's figure and its pager's total alike."""
    return int(
        connection.execute(
            sa.select(sa.func.count()).select_from(select.order_by(None).subquery())
        ).scalar_one()
    )


def paginate(
    connection: sa.Connection,
    select: sa.Select[Any],
    *,
    limit: int,
    offset: int,
) -> Page:
    """Run ``select`` (already ordered) for one page, and count its rows in all."""
    limit, offset = clamp(limit, offset)
    total = count_rows(connection, select)
    result = connection.execute(select.limit(limit).offset(offset))
    return Page(rows=frame(result, list(result.keys())), total=total, offset=offset, limit=limit)


def paginate_waiting(
    connection: sa.Connection,
    select: sa.Select[Any],
    *,
    now: datetime,
    limit: int,
    offset: int,
) -> Page:
    """:func:`paginate` for a list of things waiting: its ``waiting_since`` column is
    followed by ``waiting_seconds``, how long each row has waited at ``now``."""
    page = paginate(connection, select, limit=limit, offset=offset)
    rows = page.rows
    rows.insert(
        rows.columns.get_loc("waiting_since") + 1,
        "waiting_seconds",
        [(now - since).total_seconds() for since in rows["waiting_since"]],
    )
    return page
