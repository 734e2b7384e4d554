"""Named positions the engine keeps between runs: how far it has read each PLM feed
(``plm.<status>.updated_since``) and when each plant was last reconciled.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from sync_engine import tables as t
from threadline.db import insert_ignoring_conflicts


def get_cursor(connection: sa.Connection, name: str) -> str | None:
    """A named position, if stored."""
    value = connection.execute(
        sa.select(t.cursors.c.value).where(t.cursors.c.name == name)
    ).scalar_one_or_none()
    return None if value is None else str(value)


def set_cursor(connection: sa.Connection, name: str, value: str, *, now: datetime) -> None:
    """Store a named position."""
    if not insert_ignoring_conflicts(
        connection, t.cursors, [{"name": name, "value": value, "updated_at": now}]
    ):
        connection.execute(
            sa.update(t.cursors).where(t.cursors.c.name == name).values(value=value, updated_at=now)
        )
