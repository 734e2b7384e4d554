"""The Overview's figures: each one is the row count of the list it links to.

Every figure is a :class:`Figure`: the number and the filter of its list, counted by that
list's own query (``count_*`` next to the list in its module), so following the link with
the filter in the address shows exactly the rows counted. Cycle time is read with the
report's own rows for the same dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from contracts.readmodel import NoticeStatus, PlantState
from dashboards import cycle_time, filters
from dashboards.confirmations import ConfirmationFilter, count_awaiting
from dashboards.drift import DriftFilter, drift_select
from dashboards.eco_list import IN_FLIGHT, count_ecos
from dashboards.exceptions import PlantFilter, count_plants
from dashboards.filters import ListFilter, Query
from dashboards.notices import NoticeFilter, count_notices
from dashboards.paging import count_rows
from dashboards.revisions import count_behind
from dashboards.stats import percentile

CYCLE_DAYS = 30
"""Days in each cycle-time window, today included."""

AWAITING = ConfirmationFilter()
PAST_SLA = ConfirmationFilter(past_sla_only=True)
BLOCKED_PLANTS = PlantFilter(states=(PlantState.BLOCKED,))
FAILED_NOTICES = NoticeFilter(statuses=(NoticeStatus.FAILED,))
DRIFT = DriftFilter()


@dataclass(frozen=True)
class BehindFilter:
    """The prior-revision list's narrowing (:func:`dashboards.revisions.behind_pairs`'s
    ``plant`` and ``item``); empty: every pair behind."""

    plant: str | None = None
    item: str | None = None

    @classmethod
    def from_query(cls, query: Query) -> BehindFilter:
        return cls(plant=filters.value(query, "plant"), item=filters.value(query, "item"))

    def to_query(self) -> dict[str, list[str]]:
        query: dict[str, list[str]] = {}
        filters.put(query, "plant", [self.plant] if self.plant else [])
        filters.put(query, "item", [self.item] if self.item else [])
        return query

    def describe(self) -> list[str]:
        said = [f"plant {self.plant}"] if self.plant else []
        return said + ([f"item {self.item}"] if self.item else [])


BEHIND = BehindFilter()


@dataclass(frozen=True)
class Figure:
    """One Overview number and the filter of the list whose rows it counts."""

    value: int
    criteria: ListFilter


@dataclass(frozen=True)
class CycleWindow:
    """Cycle-time percentiles of the ECOs production-ready from ``start`` to ``end``
    (dates inclusive, as the cycle-time report reads a range)."""

    start: date
    end: date
    count: int
    p50_seconds: float | None
    p90_seconds: float | None


@dataclass(frozen=True)
class Kpis:
    """The Overview's figures, read at ``read_at``."""

    read_at: datetime
    ecos_in_flight: Figure
    awaiting_confirmation: Figure
    awaiting_past_sla: Figure
    blocked_plants: Figure
    failed_supplier_notices: Figure
    drift: Figure
    prior_revision: Figure
    plants_on_prior_revision: int
    cycle_recent: CycleWindow
    cycle_previous: CycleWindow


def overview_kpis(engine: sa.Engine, *, now: datetime | None = None) -> Kpis:
    """Every Overview figure; the counts read in one transaction so they agree."""
    now = now or datetime.now(UTC)
    today = now.date()
    with engine.connect() as connection:
        in_flight = count_ecos(connection, IN_FLIGHT)
        awaiting = count_awaiting(connection, AWAITING, now=now)
        past_sla = count_awaiting(connection, PAST_SLA, now=now)
        blocked = count_plants(connection, BLOCKED_PLANTS)
        failed = count_notices(connection, FAILED_NOTICES)
        drifting = count_rows(connection, drift_select(DRIFT))
        behind = count_behind(connection, today=today, plant=BEHIND.plant, item=BEHIND.item)
    window = timedelta(days=CYCLE_DAYS)
    recent = _cycle_window(engine, today - window + timedelta(days=1), today)
    previous = _cycle_window(engine, recent.start - window, recent.start - timedelta(days=1))
    return Kpis(
        read_at=now,
        ecos_in_flight=Figure(in_flight, IN_FLIGHT),
        awaiting_confirmation=Figure(awaiting, AWAITING),
        awaiting_past_sla=Figure(past_sla, PAST_SLA),
        blocked_plants=Figure(blocked, BLOCKED_PLANTS),
        failed_supplier_notices=Figure(failed, FAILED_NOTICES),
        drift=Figure(drifting, DRIFT),
        prior_revision=Figure(behind.pairs, BEHIND),
        plants_on_prior_revision=behind.plants,
        cycle_recent=recent,
        cycle_previous=previous,
    )


def _cycle_window(engine: sa.Engine, start: date, end: date) -> CycleWindow:
    rows = cycle_time.cycle_rows(engine, start, end, by_plant=False)
    values = [float(hours) * 3600 for hours in rows["total_h"].dropna()]
    return CycleWindow(
        start=start,
        end=end,
        count=len(rows),
        p50_seconds=percentile(values, 50),
        p90_seconds=percentile(values, 90),
    )
