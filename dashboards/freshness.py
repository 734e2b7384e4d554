"""How current the console's data is, from the collector's event store.

- *data as of*: the time of the newest stored event (never later than when the collector
  stored it), so a relay or collector that fell behind shows as an old time;
- the last reconciliation run: the latest plant reconciliation the ``reconciliations``
  read model holds (:func:`dashboards.drift.last_reconciliations`); older than twice the
  reconciliation interval is a warning.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from collector.tables import events
from dashboards.drift import last_reconciliations


@dataclass(frozen=True)
class Freshness:
    """What the read models reflect: events up to ``data_as_of``; the last reconciliation."""

    data_as_of: datetime | None
    last_reconciled_at: datetime | None

    def problems(self, *, now: datetime, reconcile_interval: timedelta) -> list[str]:
        """A warning when the last reconciliation is older than twice its interval."""
        if reconcile_interval <= timedelta(0):
            return []
        limit = 2 * reconcile_interval
        if self.last_reconciled_at is None:
            return [
                "No reconciliation has been recorded: ERP and MES have not been compared "
                "with what Threadline expects."
            ]
        age = now - self.last_reconciled_at
        if age <= limit:
            return []
        return [
            f"The last reconciliation ran {_minutes(age)} ago, more than twice its "
            f"{_minutes(reconcile_interval)} interval: drift may be missing."
        ]


def freshness(engine: sa.Engine) -> Freshness:
    """The newest stored event's time and when a plant was last reconciled."""
    with engine.connect() as connection:
        newest = connection.execute(
            sa.select(events.c.time, events.c.received_at).order_by(events.c.seq.desc()).limit(1)
        ).one_or_none()
    reconciled = last_reconciliations(engine).values()
    return Freshness(
        data_as_of=_moment(newest), last_reconciled_at=max(reconciled) if reconciled else None
    )


def _moment(row: sa.Row[Any, Any] | None) -> datetime | None:
    if row is None:
        return None
    happened: datetime | None = row.time
    stored: datetime = row.received_at
    return stored if happened is None else min(happened, stored)


def _minutes(delta: timedelta) -> str:
    minutes = max(1, round(delta.total_seconds() / 60))
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"
