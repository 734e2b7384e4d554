"""How long each stage of a plant's propagation took recently: the prediction's evidence.

A plant's work runs along one path of step kinds (:data:`PATH`): the item revisions, then
the plant's BOMs, routings, production version, ERP's confirmation and the MES routing. A
*segment* is how long one kind took at one plant in one finished ECO: when its last step
of that kind finished, less when the previous kind on the path finished (PLM approval for
the first). The segments of a production-ready ECO add up to its plant's cycle time, and
the ERP confirmation's segment is the confirmation delay itself, with its own distribution.

:func:`load_segments` reads them once; :meth:`Segments.recent` picks the newest ones known
before a given time (the backtest asks for every ECO's approval time in turn).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypedDict

import sqlalchemy as sa

from collector.tables import eco_status, step_status
from contracts.readmodel import EcoState
from contracts.steps import DONE_STATES, StepKind

PATH: tuple[StepKind, ...] = (
    StepKind.ERP_ITEM_REVISION,
    StepKind.ERP_BOM,
    StepKind.ERP_ROUTING,
    StepKind.ERP_PRODUCTION_VERSION,
    StepKind.ERP_CONFIRMATION,
    StepKind.MES_ROUTING,
)
"""The step kinds a plant's production readiness waits for, in dependency order."""

GLOBAL_KINDS = frozenset({StepKind.ERP_ITEM_REVISION})
"""Kinds run once per ECO (no plant): they open every plant's path."""

NO_PLANT = ""
"""The path of an ECO with no plant work (item revisions only)."""

RECENT = 200
"""Segments kept per (plant, kind): the newest, so the prediction follows today's plants."""
MIN_SAMPLES = 20
"""Fewer segments than this at a plant: the kind's segments at every plant are used."""
WINDOW = timedelta(days=120)
"""How far back segments are read."""


class StepRow(TypedDict):
    """The parts of a ``step_status`` row the prediction reads."""

    kind: str
    plant: str | None
    state: str
    state_since: datetime | None


STEP_COLUMNS = (
    step_status.c.eco,
    step_status.c.kind,
    step_status.c.plant,
    step_status.c.state,
    step_status.c.state_since,
)


def step_rows(connection: sa.Connection, ecos: Iterable[str]) -> dict[str, list[StepRow]]:
    """The steps of ``ecos`` by ECO, read in chunks."""
    found: dict[str, list[StepRow]] = defaultdict(list)
    numbers = sorted(set(ecos))
    for start in range(0, len(numbers), 500):
        query = sa.select(*STEP_COLUMNS).where(step_status.c.eco.in_(numbers[start : start + 500]))
        for row in connection.execute(query):
            found[row.eco].append(
                StepRow(
                    kind=row.kind, plant=row.plant, state=row.state, state_since=row.state_since
                )
            )
    return found


@dataclass(frozen=True)
class Segment:
    """How long one kind took at one plant in one ECO, known from ``known_at`` on."""

    known_at: datetime  # when the ECO was production-ready
    eco: str
    plant: str
    kind: StepKind
    seconds: float


@dataclass
class Segments:
    """Segments by (plant, kind) and by kind, each in the order they became known."""

    by_plant: dict[tuple[str, StepKind], list[Segment]] = field(default_factory=dict)
    by_kind: dict[StepKind, list[Segment]] = field(default_factory=dict)

    @classmethod
    def of(cls, segments: Iterable[Segment]) -> Segments:
        by_plant: dict[tuple[str, StepKind], list[Segment]] = defaultdict(list)
        by_kind: dict[StepKind, list[Segment]] = defaultdict(list)
        for segment in sorted(segments, key=lambda s: s.known_at):
            by_plant[(segment.plant, segment.kind)].append(segment)
            by_kind[segment.kind].append(segment)
        return cls(dict(by_plant), dict(by_kind))

    def recent(self, plant: str, kind: StepKind, before: datetime) -> list[float]:
        """The newest segments of ``kind`` at ``plant`` known before ``before`` (seconds);
        the kind's at every plant when the plant has too few; empty when none is known."""
        found = _before(self.by_plant.get((plant, kind), []), before)
        if len(found) < MIN_SAMPLES:
            found = _before(self.by_kind.get(kind, []), before)
        return [segment.seconds for segment in found[-RECENT:]]


def _before(segments: list[Segment], before: datetime) -> list[Segment]:
    keys = [segment.known_at for segment in segments]
    return segments[: bisect.bisect_left(keys, before)]


def plant_paths(
    steps: Iterable[StepRow],
) -> dict[str, dict[StepKind, list[StepRow]]]:
    """An ECO's steps on each plant's path, by kind (the global kinds under every plant;
    an ECO with item revisions only has one path, :data:`NO_PLANT`)."""
    steps = list(steps)
    shared: dict[StepKind, list[StepRow]] = defaultdict(list)
    paths: dict[str, dict[StepKind, list[StepRow]]] = defaultdict(lambda: defaultdict(list))
    on_path = {kind.value for kind in PATH}
    for step in steps:
        kind = step["kind"]
        if kind not in on_path:
            continue
        if StepKind(str(kind)) in GLOBAL_KINDS:
            shared[StepKind(str(kind))].append(step)
        elif step["plant"] is not None:
            paths[str(step["plant"])][StepKind(str(kind))].append(step)
    if not paths and shared:
        paths[NO_PLANT] = defaultdict(list)  # only item revisions: they alone decide
    return {
        plant: {kind: shared.get(kind, []) or by_kind.get(kind, []) for kind in PATH}
        for plant, by_kind in paths.items()
    }


def segments_of(
    eco: str, approved_at: datetime, known_at: datetime, steps: Iterable[StepRow]
) -> list[Segment]:
    """The segments of one production-ready ECO (its steps as ``step_status`` rows)."""
    found = []
    for plant, path in plant_paths(steps).items():
        previous = approved_at
        for kind in PATH:
            done = path[kind]
            if not done or any(s["state"] not in DONE_STATES for s in done):
                continue
            finished = max(_time(s["state_since"]) or previous for s in done)
            found.append(
                Segment(known_at, eco, plant, kind, max(0.0, (finished - previous).total_seconds()))
            )
            previous = max(previous, finished)
    return found


def _time(value: object) -> datetime | None:
    return value if isinstance(value, datetime) else None


def load_segments(connection: sa.Connection, *, since: datetime, until: datetime) -> Segments:
    """The segments of every ECO production-ready from ``since`` until ``until``."""
    ready = (
        sa.select(eco_status.c.eco, eco_status.c.approved_at, eco_status.c.production_ready_at)
        .where(eco_status.c.state == EcoState.PRODUCTION_READY)
        .where(eco_status.c.production_ready_at >= since)
        .where(eco_status.c.production_ready_at < until)
        .where(eco_status.c.approved_at.is_not(None))
        .subquery()
    )
    query = sa.select(*STEP_COLUMNS, ready.c.approved_at, ready.c.production_ready_at).join(
        ready, ready.c.eco == step_status.c.eco
    )
    query = query.where(step_status.c.kind.in_([kind.value for kind in PATH]))
    ecos: dict[str, tuple[datetime, datetime]] = {}
    steps: dict[str, list[StepRow]] = defaultdict(list)
    for row in connection.execute(query):
        ecos[row.eco] = (row.approved_at, row.production_ready_at)
        steps[row.eco].append(
            StepRow(kind=row.kind, plant=row.plant, state=row.state, state_since=row.state_since)
        )
    found: list[Segment] = []
    for eco, (approved_at, ready_at) in ecos.items():
        found.extend(segments_of(eco, approved_at, ready_at, steps[eco]))
    return Segments.of(found)
