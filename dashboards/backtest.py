"""How good the predicted ready time is: forecasts made at approval against what happened.

For every ECO production-ready in the tested span, the forecast is made as at its PLM
approval (every step still waiting, only the segments known before then as evidence) and
compared with its actual production-ready time.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import sqlalchemy as sa

from collector.tables import eco_status
from contracts.readmodel import EcoState
from contracts.steps import StepState
from dashboards.durations import Segments, StepRow, load_segments, plant_paths, step_rows
from dashboards.prediction import forecast


@dataclass(frozen=True)
class Outcome:
    """One ECO's forecast at approval and its actual production-ready time."""

    eco: str
    approved_at: datetime
    p50: datetime
    p90: datetime
    actual: datetime
    sum_of_p90: datetime  # the naive approximation: each kind's p90 added up per plant


@dataclass(frozen=True)
class Backtest:
    """Every outcome and the figures the benchmark prints."""

    outcomes: list[Outcome]

    @property
    def count(self) -> int:
        return len(self.outcomes)

    @property
    def p90_coverage(self) -> float:
        """Share of ECOs ready by their p90."""
        return _share(o.actual <= o.p90 for o in self.outcomes)

    @property
    def p50_coverage(self) -> float:
        """Share of ECOs ready by their p50 (about half, if p50 is calibrated)."""
        return _share(o.actual <= o.p50 for o in self.outcomes)

    @property
    def median_absolute_error_seconds(self) -> float:
        """Median of |actual - p50|."""
        errors = [abs((o.actual - o.p50).total_seconds()) for o in self.outcomes]
        return statistics.median(errors) if errors else 0.0

    @property
    def median_cycle_seconds(self) -> float:
        """Median of actual - approval: the scale the error is read against."""
        cycles = [(o.actual - o.approved_at).total_seconds() for o in self.outcomes]
        return statistics.median(cycles) if cycles else 0.0

    @property
    def sum_of_p90_coverage(self) -> float:
        """Share ready by the naive approximation: each kind's p90 added up along a plant's
        path, the slowest plant's sum (it ignores that the ECO waits for its last plant)."""
        return _share(o.actual <= o.sum_of_p90 for o in self.outcomes)

    @property
    def median_p90_margin_seconds(self) -> float:
        """Median of p90 - actual: how much later than needed the p90 is."""
        margins = [(o.p90 - o.actual).total_seconds() for o in self.outcomes]
        return statistics.median(margins) if margins else 0.0


def _share(flags: object) -> float:
    values = list(flags)  # type: ignore[call-overload]
    return sum(values) / len(values) if values else 0.0


def backtest(connection: sa.Connection, *, start: datetime, end: datetime) -> Backtest:
    """Forecast at approval every ECO approved from ``start`` until ``end`` and ready."""
    segments = load_segments(connection, since=datetime.min.replace(tzinfo=start.tzinfo), until=end)
    tested = connection.execute(
        sa.select(eco_status.c.eco, eco_status.c.approved_at, eco_status.c.production_ready_at)
        .where(eco_status.c.state == EcoState.PRODUCTION_READY)
        .where(eco_status.c.approved_at >= start)
        .where(eco_status.c.approved_at < end)
        .order_by(eco_status.c.approved_at)
    ).all()
    steps = step_rows(connection, (row.eco for row in tested))
    outcomes = []
    for row in tested:
        at_approval = [
            StepRow(kind=s["kind"], plant=s["plant"], state=StepState.WAITING, state_since=None)
            for s in steps.get(row.eco, [])
        ]
        result = forecast(row.approved_at, at_approval, segments, row.approved_at, eco=row.eco)
        if result is None:
            continue
        outcomes.append(
            Outcome(
                eco=row.eco,
                approved_at=row.approved_at,
                p50=result["p50"],
                p90=result["p90"],
                actual=row.production_ready_at,
                sum_of_p90=_sum_of_p90(row.approved_at, at_approval, segments),
            )
        )
    return Backtest(outcomes)


def _sum_of_p90(approved_at: datetime, steps: list[StepRow], segments: Segments) -> datetime:
    latest = 0.0
    for plant, path in plant_paths(steps).items():
        total = 0.0
        for kind, on_path in path.items():
            samples = segments.recent(plant, kind, approved_at)
            if on_path and samples:
                total += float(np.quantile(samples, 0.9))
        latest = max(latest, total)
    return datetime.fromtimestamp(approved_at.timestamp() + latest, tz=approved_at.tzinfo)
