"""What one history ECO left at the plants, and what a whole history left there.

ERP's revision of a (plant, item) pair is defined in ``erp_plants``: a built item runs the
revision of its active production version, a purchased component the one the plant's
effective BOMs consume. So an ECO leaves

- at every plant it names, for every item built in-house, the production version of the
  new revision active (unless a cancellation withdrew it before ERP activated it);
- MES running that revision where the ECO did not change the routing (MES keeps its
  routing under the new version), or once MES took the new routing where it did;
- at every plant it names, each touched component consumed at the new revision from the
  ECO's effectivity (midnight there) on: what is not effective yet is not consumed yet.

Only the plants an ECO names move: another plant building the same item keeps its
revision until an ECO names it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from contracts.model import Eco, revision_key
from contracts.plan import built_in_house
from contracts.steps import StepKind, StepState
from simulators.playstep import PlayStep, state_at
from simulators.world import World

Pair = tuple[str, str]
"""(plant, item)"""


@dataclass(frozen=True)
class PlantChanges:
    """What one ECO left at the plants, per (plant, item)."""

    versions: Mapping[Pair, str]
    """Production versions left active: ERP's revision of a built item."""
    mes: Mapping[Pair, str]
    """What MES runs of a built item because of the ECO."""
    components: Mapping[Pair, tuple[str, datetime]]
    """Components the plant consumes at the new revision, and from when."""


def effective_from(world: World, plant: str, day: date) -> datetime:
    """When a BOM valid from ``day`` becomes effective at ``plant``: midnight there."""
    where = world.plant(plant)
    assert where is not None
    return datetime.combine(day, time(), tzinfo=ZoneInfo(where.timezone)).astimezone(UTC)


def planned_changes(eco: Eco, world: World) -> PlantChanges:
    """What an ECO leaves when its whole propagation succeeds."""
    new = {a.item: a.new_revision for a in eco.affected_items}
    built = built_in_house(eco, world.items)
    versions = {(plant, item): new[item] for plant in eco.plants for item in built}
    return PlantChanges(
        versions=versions,
        mes=mes_follows(eco, versions, lambda _plant, _item: True),
        components=component_changes(eco, world),
    )


def mes_follows(
    eco: Eco, versions: Mapping[Pair, str], routed: Callable[[str, str], bool]
) -> dict[Pair, str]:
    """What MES runs after ``versions`` became active: the new revision where the ECO kept
    the routing, and where it changed it only if MES took the new routing (``routed``)."""
    changed = {(c.plant, c.item) for c in eco.routing_changes}
    return {
        (plant, item): revision
        for (plant, item), revision in versions.items()
        if (plant, item) not in changed or routed(plant, item)
    }


def component_changes(
    eco: Eco, world: World, *, before: datetime | None = None
) -> dict[Pair, tuple[str, datetime]]:
    """The ECO's components at its plants, from its effectivity; with ``before`` (when it
    was cancelled) only where it had become effective by then (ERP keeps what is)."""
    built = set(built_in_house(eco, world.items))
    changes = {}
    for plant in eco.plants:
        since = effective_from(world, plant, eco.effectivity)
        if before is not None and since > before:
            continue
        for affected in eco.affected_items:
            if affected.item not in built:
                changes[(plant, affected.item)] = (affected.new_revision, since)
    return changes


def cancelled_changes(
    eco: Eco,
    world: World,
    steps: Iterable[PlayStep],
    withdrawals: Iterable[PlayStep],
    cancelled_at: datetime,
    end: datetime,
) -> PlantChanges:
    """What a cancelled ECO left: the production versions requested, active by ``end``
    and not withdrawn, MES after them, and the components already effective when it
    stopped."""
    steps = list(steps)
    done = {
        (s.kind, s.plant, s.item): s
        for s in steps
        if state_at(s, cancelled_at) is StepState.SUCCEEDED
    }
    confirmations = {(s.plant, s.item): s for s in steps if s.kind is StepKind.ERP_CONFIRMATION}
    withdrawn = {
        (s.plant, s.item)
        for s in withdrawals
        if s.kind is StepKind.ERP_PRODUCTION_VERSION_WITHDRAWAL and s.active_at is None
    }
    versions: dict[tuple[str, str], str] = {}
    for (plant, item), confirmation in confirmations.items():
        assert plant is not None and item is not None and confirmation.revision is not None
        requested = (StepKind.ERP_PRODUCTION_VERSION, plant, item) in done
        active = confirmation.active_at is not None and confirmation.active_at <= end
        if requested and active and (plant, item) not in withdrawn:
            versions[(plant, item)] = confirmation.revision
    return PlantChanges(
        versions=versions,
        mes=mes_follows(
            eco, versions, lambda plant, item: (StepKind.MES_ROUTING, plant, item) in done
        ),
        components=component_changes(eco, world, before=cancelled_at),
    )


@dataclass
class PlantsAfter:
    """Every (plant, item) pair a history's ECOs moved, folded in approval order."""

    erp_made: dict[Pair, str] = field(default_factory=dict)
    mes: dict[Pair, str] = field(default_factory=dict)
    components: dict[Pair, list[tuple[str, datetime]]] = field(default_factory=dict)

    def add(self, changes: PlantChanges) -> None:
        """Fold in one ECO's changes (ERP never takes a revision backwards)."""
        _raise(self.erp_made, changes.versions.items())
        _raise(self.mes, changes.mes.items())
        for pair, change in changes.components.items():
            self.components.setdefault(pair, []).append(change)

    def erp(self, now: datetime) -> dict[Pair, str]:
        """ERP's revision of every pair moved, at ``now``: components only from the
        changes effective by then."""
        revisions = dict(self.erp_made)
        effective = (
            (pair, revision)
            for pair, changes in self.components.items()
            for revision, since in changes
            if since <= now
        )
        _raise(revisions, effective)
        return revisions


def _raise(revisions: dict[Pair, str], changes: Iterable[tuple[Pair, str]]) -> None:
    for pair, revision in changes:
        held = revisions.get(pair)
        if held is None or revision_key(revision) > revision_key(held):
            revisions[pair] = revision
