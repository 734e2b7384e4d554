"""Past propagations as CloudEvents: what the engine would have emitted, ECO by ECO.

``history_events`` streams one list of events per ECO approved from midnight UTC ``days``
before ``end`` until ``end``, so a backfill of five years (about 50,000 ECOs and several
million events) never holds more than one ECO in memory. Each ECO is drawn from the world
(``simulators.generator.history_eco``), planned by the engine's own plan
(``contracts.plan``: item revisions, then per plant BOMs and routings, a production
version, its confirmation, the MES routing; supplier notices after the item revisions),
so its step ids, dependencies and idempotency keys are the engine's, and then played out
against a model of the plants (``simulators.playout``):
slow and drifting ERP confirmations, transient failures and retries, blocked routings an
operator retries, bouncing supplier contacts and cancellations, compensated as the engine
compensates them (``contracts.plan.compensation``: BOM versions not yet effective, routings
and production versions of plants not yet confirmed, a withdrawal notice to every supplier
already told). Only ECOs whose whole propagation ends before ``end`` are yielded: what is
still in flight is the live engine's.

Every choice comes from ``random.Random`` streams seeded by ``seed`` (one per ECO), event
ids are ``uuid5`` of (ECO, step, n) and ``sequence`` increases through the stream, so a
second run yields the same events and the collector stores them once. History ECO numbers
use serials below the live generator's (``ECO-<year>-00001`` up), so they never collide.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.model import Eco, ItemKind, revision_key
from simulators.changes import PlantsAfter, planned_changes
from simulators.generator import LIVE_FIRST_SERIAL, history_eco
from simulators.playout import SOURCE, Playout
from simulators.world import World

__all__ = [
    "SOURCE",
    "HistoryLeft",
    "PlannedEco",
    "final_revisions",
    "history_ecos",
    "history_events",
    "history_left",
    "play",
    "revision_at",
    "revision_index",
]

MAX_ECOS_PER_DAY = 100.0
WEEKEND_KEEP = 0.3
WEEK_SHARE = (5 + 2 * WEEKEND_KEEP) / 7


def revision_at(index: int) -> str:
    """The revision with this zero-based index (0 -> A, 25 -> Z, 26 -> AA)."""
    letters = ""
    n = index + 1
    while n > 0:
        n, rest = divmod(n - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def revision_index(revision: str) -> int:
    """The zero-based index of a revision (inverse of :func:`revision_at`)."""
    n = 0
    for letter in revision:
        n = n * 26 + (ord(letter) - 64)
    return n - 1


@dataclass(frozen=True)
class PlannedEco:
    """One history ECO as scheduled: its number, approval time and touched items."""

    number: str
    approved_at: datetime
    items: tuple[str, ...]


def play(
    world: World,
    planned: PlannedEco,
    revisions: dict[str, str],
    plant_revisions: dict[tuple[str, str], str],
    end: datetime,
    seed: int,
) -> tuple[Playout, list[dict[str, Any]]]:
    """Draw one scheduled ECO and play it out: the playout and its events up to ``end``.

    ``revisions`` (PLM's revision of every item) moves on to the ECO's new revisions and
    ``plant_revisions`` to what its confirmations make the plants build.
    """
    rng = random.Random(f"{seed}:history:{planned.number}")
    before = {item: revisions[item] for item in planned.items}
    eco = history_eco(world, planned.number, planned.approved_at, before, rng)
    revisions.update({a.item: a.new_revision for a in eco.affected_items})
    playout = Playout(world, eco, plant_revisions, end, rng)
    events = playout.run()
    plant_revisions.update(playout.left().versions)
    return playout, events


class _Schedule:
    """Approval times and touched items of the history ECOs, from their own streams."""

    def __init__(self, world: World, *, days: int, end: datetime, per_day: float, seed: int):
        self.world = world
        self.end = end
        # Day-aligned, so a simulator started a little earlier than the backfill (same UTC
        # day) computes the same schedule and hence the same final revisions.
        first_day = (end - timedelta(days=days)).date()
        self.start = datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC)
        self.per_day = per_day
        self.seed = seed
        self._makes = [n for n, i in world.items.items() if i.kind is not ItemKind.COMPONENT]
        self._components = world.items_of_kind(ItemKind.COMPONENT)

    def __iter__(self) -> Iterator[PlannedEco]:
        times = random.Random(f"{self.seed}:history:times")
        picks = random.Random(f"{self.seed}:history:items")
        # Weekends keep 30 % of their draws; scale up so a week averages per_day a day.
        rate = self.per_day / WEEK_SHARE / 86400.0
        at = self.start
        year, serial = 0, 0
        while True:
            at += timedelta(seconds=times.expovariate(rate) if rate > 0 else math.inf)
            if at > self.end:
                return
            if at.weekday() >= 5 and times.random() >= WEEKEND_KEEP:
                continue
            if at.year != year:
                year, serial = at.year, 0
            serial += 1
            if serial >= LIVE_FIRST_SERIAL:
                raise ValueError(f"more than {LIVE_FIRST_SERIAL - 1} history ECOs in {year}")
            yield PlannedEco(f"ECO-{year}-{serial:05d}", at, self._items(picks))

    def _items(self, rng: random.Random) -> tuple[str, ...]:
        if rng.random() < 0.2:
            return tuple(rng.sample(self._components, rng.randint(1, 3)))
        anchor = rng.choice(self._makes)
        children = [line.component for line in self.world.bom_lines(anchor)]
        return (anchor, *rng.sample(children, min(len(children), rng.randint(0, 4))))


def _touches(schedule: _Schedule) -> dict[str, int]:
    touches: dict[str, int] = {}
    for planned in schedule:
        for item in planned.items:
            touches[item] = touches.get(item, 0) + 1
    return touches


UNFINISHED_WINDOW = timedelta(days=14)
"""How far back from the end an ECO may still be in flight. Played-out propagations take
at most a few days (3.4 days over 10,000 ECOs), so older ECOs are always finished."""


def _finished_touches(
    world: World, schedule: _Schedule, end: datetime, seed: int
) -> dict[str, int]:
    """How many finished history ECOs touch each item.

    ECOs still in flight at ``end`` are left out of the history, so they must not use up
    revisions: only the recent ones can be, and only those are played out to find them.
    """
    touches = _touches(schedule)
    for planned in schedule:
        if planned.approved_at < end - UNFINISHED_WINDOW:
            continue
        rng = random.Random(f"{seed}:history:{planned.number}")
        labels = {item: world.current_revision(item) for item in planned.items}
        eco = history_eco(world, planned.number, planned.approved_at, labels, rng)
        playout = Playout(world, eco, {}, end, rng)
        playout.play()
        if playout.truncated:
            for item in planned.items:
                touches[item] -= 1
    return touches


def final_revisions(
    world: World, *, days: int, end: datetime, ecos_per_day: float, seed: int
) -> dict[str, str]:
    """PLM's revision of every item once the history up to ``end`` is played out.

    History ends at the world's current revision of an item when the item has room for
    all its finished history ECOs below it; otherwise it starts at ``A`` and ends higher.
    The live simulators start from these revisions (``advance_world``), so live ECOs
    continue the history instead of going back in time.
    """
    end = end.astimezone(UTC)
    schedule = _Schedule(world, days=days, end=end, per_day=ecos_per_day, seed=seed)
    touches = _finished_touches(world, schedule, end, seed)
    return {
        item: revision_at(max(revision_index(world.current_revision(item)), touches.get(item, 0)))
        for item in world.items
    }


def history_events(
    world: World,
    *,
    days: int,
    end: datetime,
    ecos_per_day: float,
    seed: int,
    first_sequence: int = 1,
) -> Iterator[list[dict[str, Any]]]:
    """The events of every ECO approved from midnight UTC ``days`` before ``end`` and
    finished (production-ready or cancelled) by ``end``, one list per ECO.

    Lists come in approval order; within a list events are in time order; ``sequence``
    increases through the whole stream, starting at ``first_sequence``.
    """
    sequence = first_sequence
    for events in _played(world, days=days, end=end, ecos_per_day=ecos_per_day, seed=seed):
        for event in events:
            event["sequence"] = f"{sequence:020d}"
            sequence += 1
        yield events


def history_ecos(
    world: World, *, days: int, end: datetime, ecos_per_day: float, seed: int
) -> Iterator[tuple[Eco, datetime | None]]:
    """The ECOs of :func:`history_events` as PLM approved them, in approval order, each with
    when PLM cancelled it (``None`` if it did not): what PLM lists of the past.

    An ECO is played out only where that decides something (a cancellation drawn, or
    recent enough to be still in flight at ``end`` and so left out), so listing years of
    history stays cheap.
    """
    end = end.astimezone(UTC)
    for eco, playout in _drawn(world, days=days, end=end, ecos_per_day=ecos_per_day, seed=seed):
        yield eco, None if playout is None else playout.plm_cancelled_at


@dataclass(frozen=True)
class HistoryLeft:
    """What a history left: PLM's ECOs and revisions, and what the plants run."""

    ecos: tuple[tuple[Eco, datetime | None], ...]
    """As :func:`history_ecos` lists them."""
    revisions: dict[str, str]
    """PLM's revision of every item, as :func:`final_revisions` gives them."""
    plants: PlantsAfter
    """Every (plant, item) pair the ECOs moved, as they left it."""


def history_left(
    world: World, *, days: int, end: datetime, ecos_per_day: float, seed: int
) -> HistoryLeft:
    """What the history up to ``end`` left, in one pass over its ECOs (no events made).

    Each ECO moves only the plants it names (``simulators.changes``); an ECO played out
    because it may have been cancelled leaves what its playout did.
    """
    end = end.astimezone(UTC)
    ecos = []
    revisions = {item: world.current_revision(item) for item in world.items}
    plants = PlantsAfter()
    for eco, playout in _drawn(world, days=days, end=end, ecos_per_day=ecos_per_day, seed=seed):
        ecos.append((eco, None if playout is None else playout.plm_cancelled_at))
        for affected in eco.affected_items:
            if revision_key(affected.new_revision) > revision_key(revisions[affected.item]):
                revisions[affected.item] = affected.new_revision
        plants.add(planned_changes(eco, world) if playout is None else playout.left())
    return HistoryLeft(ecos=tuple(ecos), revisions=revisions, plants=plants)


def _drawn(
    world: World, *, days: int, end: datetime, ecos_per_day: float, seed: int
) -> Iterator[tuple[Eco, Playout | None]]:
    """Each finished history ECO as drawn, with its playout where one was needed."""
    schedule = _Schedule(world, days=days, end=end, per_day=ecos_per_day, seed=seed)
    touches = _finished_touches(world, schedule, end, seed)
    revisions = {
        item: revision_at(
            max(0, revision_index(world.current_revision(item)) - touches.get(item, 0))
        )
        for item in world.items
    }
    for planned in schedule:
        before = {item: revisions[item] for item in planned.items}
        rng = random.Random(f"{seed}:history:{planned.number}")
        eco = history_eco(world, planned.number, planned.approved_at, before, rng)
        probe = random.Random()
        probe.setstate(rng.getstate())
        recent = planned.approved_at >= end - UNFINISHED_WINDOW
        playout = None
        if recent or Playout(world, eco, {}, end, probe).may_be_cancelled():
            playout = Playout(world, eco, {}, end, rng)
            playout.play()
            if playout.truncated:
                continue
        revisions.update({a.item: a.new_revision for a in eco.affected_items})
        yield eco, playout


def _played(
    world: World,
    *,
    days: int,
    end: datetime,
    ecos_per_day: float,
    seed: int,
) -> Iterator[list[dict[str, Any]]]:
    """The finished ECOs' events."""
    if days < 0:
        raise ValueError("days must not be negative")
    if not 0 <= ecos_per_day <= MAX_ECOS_PER_DAY:
        raise ValueError(f"ecos_per_day must be between 0 and {MAX_ECOS_PER_DAY}")
    end = end.astimezone(UTC)
    schedule = _Schedule(world, days=days, end=end, per_day=ecos_per_day, seed=seed)
    touches = _finished_touches(world, schedule, end, seed)
    revisions = {
        item: revision_at(
            max(0, revision_index(world.current_revision(item)) - touches.get(item, 0))
        )
        for item in world.items
    }
    plant_revisions = {
        (plant, item): revisions[item]
        for item, plants in world.item_plants.items()
        for plant in plants
    }
    for planned in schedule:
        before = {item: revisions[item] for item in planned.items}
        at_plants = {
            (plant, item): plant_revisions[(plant, item)]
            for item in before
            for plant in world.item_plants.get(item, ())
            if (plant, item) in plant_revisions
        }
        playout, events = play(world, planned, revisions, plant_revisions, end, seed)
        if playout.truncated:
            # Still in flight at the end: the live engine's business, so it never happened.
            revisions.update(before)
            plant_revisions.update(at_plants)
            continue
        yield events
