"""The Overview page's key figures, each one indexed count or a small window of rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from collector.tables import eco_plants, eco_status, plant_revisions, step_status, supplier_notices
from contracts.readmodel import EcoState, NoticeStatus, PlantState
from contracts.steps import StepState
from dashboards.stats import percentile

IN_FLIGHT_STATES = (
    EcoState.RECEIVED,
    EcoState.IN_PROGRESS,
    EcoState.BLOCKED,
    EcoState.AWAITING_CONFIRMATION,
)
"""ECO states that still need work (not production-ready, cancelled or rejected)."""

CYCLE_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class CycleWindow:
    """Cycle-time percentiles of the ECOs that became production-ready in a window."""

    start: datetime
    end: datetime
    count: int
    p50_seconds: float | None
    p90_seconds: float | None


@dataclass(frozen=True)
class Kpis:
    """The Overview's figures, read at ``read_at``."""

    read_at: datetime
    ecos_in_flight: int
    awaiting_confirmation: int
    awaiting_past_sla: int
    blocked_plants: int
    failed_supplier_notices: int
    plants_on_prior_revision: int
    items_on_prior_revision: int
    cycle_recent: CycleWindow
    cycle_previous: CycleWindow


def overview_kpis(engine: sa.Engine, *, now: datetime | None = None) -> Kpis:
    """Every Overview figure, read in one transaction so they agree with each other."""
    now = now or datetime.now(UTC)
    with engine.connect() as connection:
        in_flight = _count(connection, eco_status, eco_status.c.state.in_(IN_FLIGHT_STATES))
        awaiting = step_status.c.state == StepState.AWAITING_CONFIRMATION
        past_sla = sa.or_(step_status.c.overdue, step_status.c.sla_due_at < now)
        waiting_row = connection.execute(
            sa.select(
                sa.func.count(),
                sa.func.coalesce(sa.func.sum(sa.case((past_sla, 1), else_=0)), 0),
            ).where(awaiting)
        ).one()
        blocked = _count(connection, eco_plants, eco_plants.c.state == PlantState.BLOCKED)
        failed = _count(
            connection, supplier_notices, supplier_notices.c.status == NoticeStatus.FAILED
        )
        behind_row = connection.execute(
            sa.select(sa.func.count(sa.distinct(plant_revisions.c.plant)), sa.func.count()).where(
                *late_revision_filter(now.date())
            )
        ).one()
        recent = _cycle_window(connection, now - CYCLE_WINDOW, now)
        previous = _cycle_window(connection, now - 2 * CYCLE_WINDOW, now - CYCLE_WINDOW)
    return Kpis(
        read_at=now,
        ecos_in_flight=in_flight,
        awaiting_confirmation=int(waiting_row[0]),
        awaiting_past_sla=int(waiting_row[1]),
        blocked_plants=blocked,
        failed_supplier_notices=failed,
        plants_on_prior_revision=int(behind_row[0]),
        items_on_prior_revision=int(behind_row[1]),
        cycle_recent=recent,
        cycle_previous=previous,
    )


def late_revision_filter(today: date) -> tuple[sa.ColumnElement[bool], ...]:
    """(plant, item) rows building a superseded revision past the new one's effectivity."""
    return (plant_revisions.c.behind.is_(True), plant_revisions.c.target_effective <= today)


def _count(connection: sa.Connection, table: sa.Table, where: sa.ColumnElement[bool]) -> int:
    return int(
        connection.execute(sa.select(sa.func.count()).select_from(table).where(where)).scalar_one()
    )


def _cycle_window(connection: sa.Connection, start: datetime, end: datetime) -> CycleWindow:
    values = [
        float(value)
        for value in connection.execute(
            sa.select(eco_status.c.cycle_time_seconds).where(
                eco_status.c.production_ready_at >= start,
                eco_status.c.production_ready_at < end,
                eco_status.c.cycle_time_seconds.is_not(None),
            )
        ).scalars()
    ]
    return CycleWindow(
        start=start,
        end=end,
        count=len(values),
        p50_seconds=percentile(values, 50),
        p90_seconds=percentile(values, 90),
    )
