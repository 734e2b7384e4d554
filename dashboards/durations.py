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
from dashboards.sql import epoch_seconds

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


def load_segments(connection: sa.Connection, *, since: datetime, until: datetime) -> Segments:
    """The segments of every ECO production-ready from ``since`` until ``until``.

    A segment needs, of each kind at each plant, only whether a step is still open and
    when the last one finished (a step without ``state_since`` cannot end a segment
    later than the previous kind did), so the database groups the steps: one row per
    (ECO, kind, plant) rather than one per step, its time as epoch seconds. The steps are
    read by ECO number in chunks, through the index on ``step_status.eco``: joined to
    the ready ECOs, PostgreSQL scanned the whole table.
    """
    heads = connection.execute(
        sa.select(eco_status.c.eco, eco_status.c.approved_at, eco_status.c.production_ready_at)
        .where(eco_status.c.state == EcoState.PRODUCTION_READY)
        .where(eco_status.c.production_ready_at >= since)
        .where(eco_status.c.production_ready_at < until)
        .where(eco_status.c.approved_at.is_not(None))
    ).all()
    done = [state.value for state in DONE_STATES]
    query = (
        sa.select(
            step_status.c.eco,
            step_status.c.kind,
            step_status.c.plant,
            epoch_seconds(sa.func.max(step_status.c.state_since)),
            sa.func.sum(sa.case((step_status.c.state.in_(done), 0), else_=1)),
        )
        .where(step_status.c.kind.in_([kind.value for kind in PATH]))
        .group_by(step_status.c.eco, step_status.c.kind, step_status.c.plant)
    )
    numbers = sorted(head.eco for head in heads)
    groups: dict[str, list[_Group]] = defaultdict(list)
    for start in range(0, len(numbers), CHUNK):
        chunk = query.where(step_status.c.eco.in_(numbers[start : start + CHUNK]))
        for eco, kind, plant, finished, open_ in connection.execute(chunk):
            groups[eco].append((kind, plant, finished, open_))
    found: list[Segment] = []
    for eco, approved_at, ready_at in sorted(heads):
        found.extend(_grouped_segments(eco, approved_at, ready_at, groups[eco]))
    return Segments.of(found)


CHUNK = 1000
"""ECO numbers per query when reading their steps."""

_Group = tuple[str, str | None, float | None, int]
"""One (kind, plant) of an ECO's steps: when the last finished (epoch seconds), how many
are still open."""

_KINDS = {kind.value: kind for kind in PATH}


def _grouped_segments(
    eco: str, approved_at: datetime, known_at: datetime, groups: list[_Group]
) -> list[Segment]:
    """The segments of one production-ready ECO from its grouped steps, plants in name order.

    Along each plant's path, a kind all of whose steps are done ends a segment when its
    last step finished, less when the previous kind on the path did (approval for the
    first); a kind with a step still open gives none.
    """
    shared: dict[StepKind, tuple[float | None, int]] = {}
    paths: dict[str, dict[StepKind, tuple[float | None, int]]] = defaultdict(dict)
    for kind_name, plant, finished, open_ in groups:
        kind = _KINDS[kind_name]
        if kind in GLOBAL_KINDS:
            before, opened = shared.get(kind, (None, 0))
            if before is not None and (finished is None or before > finished):
                finished = before
            shared[kind] = (finished, opened + open_)
        elif plant is not None:
            paths[plant][kind] = (finished, open_)
    if not paths and shared:
        paths[NO_PLANT] = {}
    approved = approved_at.timestamp()
    found = []
    for plant in sorted(paths):
        by_kind = paths[plant]
        previous = approved
        for kind in PATH:
            group = shared.get(kind) or by_kind.get(kind)
            if group is None or group[1]:
                continue
            finished = previous if group[0] is None else group[0]
            # Rounded to the microsecond, as a timedelta between the two times would be.
            seconds = max(0.0, round(finished - previous, 6))
            found.append(Segment(known_at, eco, plant, kind, seconds))
            previous = max(previous, finished)
    return found
