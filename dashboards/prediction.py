"""When an in-flight ECO will be production-ready (p50 and p90), and which ECOs are at risk.

For each plant the ECO names, the kinds still open on the plant's path
(:data:`dashboards.durations.PATH`) each draw a duration from the recent segments of that
kind at that plant; the kind under way draws only from segments longer than it has already
taken (less what it has taken). The draws are summed along the path, the ECO is ready
when its last plant is, and p50 and p90 are read from :data:`DRAWS` such Monte Carlo sums
with a fixed seed: a quantile of a sum is not the sum of the quantiles, and resampling
keeps each kind's own shape (the ERP confirmation's long tail included). Quantiles of
resampled data, never means, so a few extreme durations move the figures little.

An ECO is **at risk** when its p90 is after the start (00:00 UTC) of its effectivity date.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time
from time import monotonic
from typing import TypedDict

import numpy as np
import sqlalchemy as sa

from collector.tables import eco_status
from contracts.readmodel import EcoState
from contracts.steps import DONE_STATES
from dashboards.durations import (
    PATH,
    WINDOW,
    Segments,
    StepRow,
    load_segments,
    plant_paths,
    step_rows,
)
from dashboards.eco_list import IN_FLIGHT_STATES

DRAWS = 2000
SEED = 20261201


class PlantForecast(TypedDict):
    """One plant's predicted production readiness and the kind it waits on."""

    plant: str
    p50: datetime
    p90: datetime
    holding: str | None  # e.g. "erp.confirmation awaiting_confirmation"; None: done


class Forecast(TypedDict):
    """An ECO's predicted production readiness, from its plants'."""

    eco: str
    p50: datetime
    p90: datetime
    plants: list[PlantForecast]


class AtRisk(TypedDict):
    """An ECO predicted (p90) to be ready after its effectivity date begins."""

    eco: str
    title: str | None
    effectivity: date
    p50: datetime
    p90: datetime
    late_seconds: float  # p90 less the start of the effectivity date
    plant: str  # the plant predicted last
    holding: str | None  # what that plant waits on


def forecast(
    approved_at: datetime,
    steps: Iterable[StepRow],
    segments: Segments,
    now: datetime,
    *,
    known_before: datetime | None = None,
    eco: str = "",
) -> Forecast | None:
    """The forecast of one ECO from its steps (``step_status`` rows) at ``now``.

    Segments known before ``known_before`` (default ``now``) are the evidence; ``None``
    when the ECO has no plant work yet.
    """
    paths = plant_paths(steps)
    if not paths:
        return None
    known_before = known_before or now
    rng = np.random.default_rng(SEED)
    plant_draws: dict[str, np.ndarray] = {}
    holding: dict[str, str | None] = {}
    for plant, path in sorted(paths.items()):
        previous = approved_at
        remaining = np.zeros(DRAWS)
        current: str | None = None
        for kind in PATH:
            if not path[kind]:
                continue
            open_steps = [s for s in path[kind] if s["state"] not in DONE_STATES]
            if not open_steps:
                previous = max(previous, max(_time(s["state_since"], previous) for s in path[kind]))
                continue
            samples = np.asarray(segments.recent(plant, kind, known_before), dtype=float)
            if current is None:
                current = f"{kind.value} {open_steps[0]['state']}"
                elapsed = max(0.0, (now - previous).total_seconds())
                longer = samples[samples > elapsed] - elapsed
                # Longer than anything seen: as long again as if it started now.
                remaining += _draw(rng, longer if longer.size else samples)
            else:
                remaining += _draw(rng, samples)
        start = now if current is not None else previous
        plant_draws[plant] = remaining + _epoch(start)
        holding[plant] = current
    ready = np.max(np.stack(list(plant_draws.values())), axis=0)
    plants = [
        PlantForecast(
            plant=plant,
            p50=_datetime(np.quantile(draws, 0.5)),
            p90=_datetime(np.quantile(draws, 0.9)),
            holding=holding[plant],
        )
        for plant, draws in plant_draws.items()
    ]
    return Forecast(
        eco=eco,
        p50=_datetime(np.quantile(ready, 0.5)),
        p90=_datetime(np.quantile(ready, 0.9)),
        plants=sorted(plants, key=lambda p: (p["p50"], p["plant"]), reverse=True),
    )


def _draw(rng: np.random.Generator, samples: np.ndarray) -> np.ndarray:
    if samples.size == 0:
        return np.zeros(DRAWS)
    return rng.choice(samples, size=DRAWS, replace=True)


def _time(value: object, default: datetime) -> datetime:
    return value if isinstance(value, datetime) else default


def _epoch(moment: datetime) -> float:
    return moment.timestamp()


def _datetime(seconds: float) -> datetime:
    return datetime.fromtimestamp(float(seconds), tz=UTC)


REUSE_SECONDS = 60.0
"""How long one process reuses the evidence it read while no ECO became ready."""

_read: dict[tuple[object, ...], tuple[float, Segments]] = {}


def recent_segments(connection: sa.Connection, now: datetime) -> Segments:
    """The evidence a forecast at ``now`` uses: segments of ECOs ready in the last window.

    The segments change only as ECOs enter or leave the window, so a process reuses
    what it read for :data:`REUSE_SECONDS` while the window holds the same ready ECOs
    (their count, first and last ready time; a cheap read of ``eco_status``): the At risk
    page, an ECO's page and the confirmations page then share one read.
    """
    since = now - WINDOW
    count, first, last = connection.execute(
        sa.select(
            sa.func.count(),
            sa.func.min(eco_status.c.production_ready_at),
            sa.func.max(eco_status.c.production_ready_at),
        )
        .where(eco_status.c.state == EcoState.PRODUCTION_READY)
        .where(eco_status.c.production_ready_at >= since)
        .where(eco_status.c.production_ready_at < now)
        .where(eco_status.c.approved_at.is_not(None))
    ).one()
    key = (connection.engine.url.render_as_string(), count, first, last)
    clock = monotonic()
    kept = _read.get(key)
    if kept is not None and clock < kept[0]:
        return kept[1]
    segments = load_segments(connection, since=since, until=now)
    _read.clear()  # one window per process is enough: the previous one is stale
    _read[key] = (clock + REUSE_SECONDS, segments)
    return segments


Evidence = Segments | Callable[[], Segments]
"""Segments, or a function that reads them (when a forecast needs them)."""


def forecasts(
    connection: sa.Connection,
    now: datetime,
    ecos: Iterable[str] | None = None,
    *,
    segments: Evidence | None = None,
) -> dict[str, Forecast]:
    """The forecast of every in-flight ECO (or of those of ``ecos`` in flight), by ECO.

    ``segments``: the evidence, when the caller already read it or knows how to (a
    function, called only when an ECO is in flight: a finished ECO's page needs none);
    default: read now.
    """
    query = sa.select(
        eco_status.c.eco, eco_status.c.approved_at, eco_status.c.title, eco_status.c.effectivity
    ).where(eco_status.c.state.in_([s.value for s in IN_FLIGHT_STATES]))
    if ecos is not None:
        query = query.where(eco_status.c.eco.in_(sorted(set(ecos))))
    heads = {row.eco: row for row in connection.execute(query) if row.approved_at is not None}
    if not heads:
        return {}
    steps = step_rows(connection, heads)
    if segments is None:
        segments = recent_segments(connection, now)
    elif callable(segments):
        segments = segments()
    found = {}
    for eco, head in heads.items():
        result = forecast(head.approved_at, steps[eco], segments, now, eco=eco)
        if result is not None:
            found[eco] = result
    return found


def effectivity_start(effectivity: date) -> datetime:
    """When an effectivity date begins (00:00 UTC): the ECO must be ready by then."""
    return datetime.combine(effectivity, time(0), tzinfo=UTC)


def at_risk(
    connection: sa.Connection, now: datetime, *, segments: Evidence | None = None
) -> list[AtRisk]:
    """In-flight ECOs whose p90 is after their effectivity date begins, the latest first."""
    predicted = forecasts(connection, now, segments=segments)
    if not predicted:
        return []
    heads = connection.execute(
        sa.select(eco_status.c.eco, eco_status.c.title, eco_status.c.effectivity).where(
            eco_status.c.eco.in_(sorted(predicted))
        )
    ).all()
    found = []
    for head in heads:
        if head.effectivity is None:
            continue
        result = predicted[head.eco]
        late = (result["p90"] - effectivity_start(head.effectivity)).total_seconds()
        if late <= 0:
            continue
        last = result["plants"][0]
        found.append(
            AtRisk(
                eco=head.eco,
                title=head.title,
                effectivity=head.effectivity,
                p50=result["p50"],
                p90=result["p90"],
                late_seconds=late,
                plant=last["plant"],
                holding=last["holding"],
            )
        )
    return sorted(found, key=lambda r: (-r["late_seconds"], r["eco"]))
