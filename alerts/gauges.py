"""Business gauges on the engine's ``/metrics``, for sites that alert with Prometheus.

Each gauge counts the rows of the console list (and the alert rule) it stands for,
through the same :mod:`dashboards` query; ``deploy/prometheus/threadline-rules.yml``
holds alerting rules equivalent to the shipped defaults over them. Every engine refreshes
its own gauges, so any one of them can be scraped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Gauge

from contracts.readmodel import NoticeStatus, PlantState
from contracts.sla import Stage
from contracts.steps import StepState
from dashboards.drift import drift_select
from dashboards.eco_list import IN_FLIGHT, IN_FLIGHT_STATES, ecos_select
from dashboards.exceptions import PlantFilter, StepFilter, plants_select, steps_select
from dashboards.notices import NoticeFilter, notices_select
from dashboards.prediction import at_risk
from dashboards.sla import overdue_by_stage
from sync_engine.health import pipeline_health


def _counts(connection: sa.Connection, select: sa.Select[Any], by: str) -> dict[str, int]:
    rows = select.order_by(None).subquery()
    column = rows.c[by]
    grouped = sa.select(column, sa.func.count()).group_by(column)
    return {str(key): int(n) for key, n in connection.execute(grouped)}


def _put(gauge: Gauge, counts: Mapping[str, float], always: Iterable[str] = ()) -> None:
    gauge.clear()
    for label in always:
        gauge.labels(label).set(0)
    for label, value in counts.items():
        gauge.labels(label).set(value)


class BusinessGauges:
    """ECOs in flight by stage, overdue work by stage, ECOs at risk, blocked plants, drift,
    failed notices, dead letters, the pipeline's lag; registered on ``registry``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.in_flight = Gauge(
            "threadline_ecos_in_flight", "ECOs in flight by stage", ["stage"], registry=registry
        )
        self.overdue = Gauge(
            "threadline_overdue", "Work overdue by stage", ["stage"], registry=registry
        )
        self.at_risk = Gauge(
            "threadline_ecos_at_risk",
            "ECOs predicted (p90) ready after their effectivity date, by the plant holding them",
            ["plant"],
            registry=registry,
        )
        self.blocked_plants = Gauge(
            "threadline_blocked_plants",
            "ECOs blocked at a plant by a business rejection, by plant",
            ["plant"],
            registry=registry,
        )
        self.drift_pairs = Gauge(
            "threadline_drift_pairs",
            "Drifting (plant, item) pairs by plant",
            ["plant"],
            registry=registry,
        )
        self.failed_notices = Gauge(
            "threadline_failed_supplier_notices",
            "Supplier notices given up, by supplier",
            ["supplier"],
            registry=registry,
        )
        self.dead_letters = Gauge(
            "threadline_dead_letters",
            "Dead-lettered steps by error fingerprint",
            ["fingerprint"],
            registry=registry,
        )
        self.outbox_age = Gauge(
            "threadline_outbox_oldest_age_seconds",
            "Age of the oldest engine event the collector has not acknowledged (0: none)",
            registry=registry,
        )
        self.heartbeat_age = Gauge(
            "threadline_engine_heartbeat_age_seconds",
            "Seconds since each engine process last recorded a heartbeat",
            ["engine"],
            registry=registry,
        )

    def refresh(self, connection: sa.Connection, *, now: datetime) -> None:
        """Read every gauge's rows again."""
        _put(
            self.in_flight,
            _counts(connection, ecos_select(IN_FLIGHT), "state"),
            [s.value for s in IN_FLIGHT_STATES],
        )
        overdue = overdue_by_stage(connection, now)
        _put(self.overdue, {s.value: n for s, n in overdue.items()}, [s.value for s in Stage])
        late: dict[str, float] = {}
        for row in at_risk(connection, now):
            late[row["plant"]] = late.get(row["plant"], 0) + 1
        _put(self.at_risk, late)
        blocked = plants_select(PlantFilter(states=(PlantState.BLOCKED,)))
        _put(self.blocked_plants, _counts(connection, blocked, "plant"))
        _put(self.drift_pairs, _counts(connection, drift_select(), "plant"))
        failed = notices_select(NoticeFilter(statuses=(NoticeStatus.FAILED,)))
        _put(self.failed_notices, _counts(connection, failed, "supplier"))
        dead = steps_select(StepFilter(states=(StepState.FAILED,)))
        _put(self.dead_letters, _counts(connection, dead, "fingerprint"))
        health = pipeline_health(connection, now=now)
        oldest = health.oldest_undelivered_at
        self.outbox_age.set(max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
        _put(
            self.heartbeat_age,
            {e.holder: max(0.0, (now - e.seen_at).total_seconds()) for e in health.engines},
        )
