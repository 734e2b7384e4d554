"""The engine's business gauges count the rows of the lists they stand for."""

from __future__ import annotations

import sqlalchemy as sa
from prometheus_client import CollectorRegistry

from alerts.gauges import BusinessGauges
from tests.dashboards.seed import seed


def _samples(registry: CollectorRegistry, name: str) -> dict[str, float]:
    found: dict[str, float] = {}
    for metric in registry.collect():
        for sample in metric.samples:
            if sample.name == name:
                found[",".join(sample.labels.values())] = sample.value
    return found


def test_gauges_count_what_the_seeded_picture_holds(engine: sa.Engine) -> None:
    picture = seed(engine)
    registry = CollectorRegistry()
    gauges = BusinessGauges(registry)
    with engine.connect() as connection:
        gauges.refresh(connection, now=picture.now)
    in_flight = _samples(registry, "threadline_ecos_in_flight")
    assert sum(in_flight.values()) == picture.in_flight
    # A waits for ERP, B has a notice given up and C a blocked routing, D has just come in.
    assert in_flight == {"received": 1, "in_progress": 0, "blocked": 2, "awaiting_confirmation": 1}
    assert _samples(registry, "threadline_blocked_plants") == {"P100": picture.blocked_plants}
    assert _samples(registry, "threadline_failed_supplier_notices") == {
        "S020": picture.failed_notices
    }
    assert _samples(registry, "threadline_drift_pairs") == {}
    assert _samples(registry, "threadline_outbox_oldest_age_seconds") == {"": 0.0}
    # A and C passed their effectivity dates days ago and are not ready.
    assert _samples(registry, "threadline_ecos_at_risk") == {"P200": 1, "P100": 1}
    overdue = _samples(registry, "threadline_overdue")
    assert set(overdue) >= {"erp_confirmation", "eco"} and all(v >= 0 for v in overdue.values())
