"""The ECO generator: approved ECOs consistent with the world, one at a time or in bursts.

Every ECO touches 1 to 5 items at 1 to all of the plants that build them, notifies 0 to 6
suppliers of the touched components, and carries a BOM change for every touched assembly
or finished good and a routing change per plant for items whose routing changes. The
generator remembers PLM's latest revision of every item, so a second ECO on an item moves
it past the first one's new revision, and approval times strictly increase.

Content and fates (later cancellation or supersession) come from two ``random.Random``
streams seeded from the world's seed, so the same seed gives the same ECO stream. Each
affected item carries its new revision's compliance attributes (``simulators.compliance``):
a seeded share of live ones lacks some; the history's are complete.

:func:`history_eco` draws the past ECOs the history plays out, from a stream per ECO.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from contracts.model import (
    AffectedItem,
    BomChange,
    BomLine,
    Eco,
    EcoStatus,
    ItemKind,
    Operation,
    RoutingChange,
    next_revision,
)
from simulators.compliance import MISSING_SHARE, compliance_of
from simulators.errors import SimulatorError
from simulators.world import World

LIVE_FIRST_SERIAL = 50001
"""Live ECO numbers start here each year; the history generator uses the serials below."""
LAST_SERIAL = 99999
HISTORY_ROUTING_CHANGE_SHARE = 0.75
HISTORY_MAX_EFFECTIVITY_DAYS = 21
HISTORY_MAX_SUPPLIERS = 6

TITLES = (
    "Stiffer {noun}",
    "Cost-reduced {noun}",
    "Second source for {noun}",
    "Corrosion-resistant {noun}",
    "Lighter {noun}",
    "Quieter {noun}",
    "Revised tolerances on {noun}",
    "New fastening of {noun}",
)
REASONS = (
    "Field failures under vibration",
    "Supplier discontinued a component",
    "Cost reduction programme",
    "Customer complaint about noise",
    "Regulatory change (RoHS)",
    "Manufacturing yield below target",
    "Design review finding",
    "Warranty returns analysis",
)


class Fate(StrEnum):
    """What later happens to a generated ECO in PLM."""

    CANCEL = "cancel"  # withdrawn
    SUPERSEDE = "supersede"  # replaced by a later ECO on the same items


@dataclass(frozen=True)
class ScheduledFate:
    """An ECO's fate and when PLM applies it."""

    eco: str
    fate: Fate
    due: datetime


class GeneratorConfig(BaseModel):
    """How ECOs are generated."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rate_per_minute: float = Field(default=0.0, ge=0, description="approved ECOs per minute")
    cancel_share: float = Field(default=0.04, ge=0, le=1)
    supersede_share: float = Field(default=0.03, ge=0, le=1)
    inactive_work_center_share: float = Field(
        default=0.05, ge=0, le=1, description="share whose routing uses an inactive work center"
    )
    routing_change_share: float = Field(default=0.75, ge=0, le=1)
    fate_delay_seconds: tuple[float, float] = Field(
        default=(20.0, 300.0), description="a fate is applied this long after approval"
    )
    max_effectivity_days: int = Field(default=21, ge=0)
    first_serial: int = Field(default=LIVE_FIRST_SERIAL, ge=1, le=LAST_SERIAL)


class EcoShape(BaseModel):
    """Options that force the shape of generated ECOs (tests use them)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    plants: tuple[str, ...] | None = Field(default=None, min_length=1)
    items: tuple[str, ...] | None = Field(default=None, min_length=1, max_length=5)
    suppliers: tuple[str, ...] | None = None
    inactive_work_center_plant: str | None = Field(
        default=None, description="the routing change at this plant uses an inactive work center"
    )
    effectivity_days: int | None = Field(default=None, ge=0, le=365)
    missing_compliance: bool = Field(
        default=False,
        description="a regulated affected item lacks compliance attributes (else all complete)",
    )


class ShapeError(SimulatorError, ValueError):
    """The requested shape does not fit the world (unknown plant, item, supplier ...)."""


class EcoNumbersExhausted(SimulatorError):
    """The year's live ECO numbers are used up."""


class EcoGenerator:
    """Generates approved ECOs against a world, remembering PLM's latest revisions."""

    def __init__(self, world: World, *, config: GeneratorConfig | None = None) -> None:
        self.world = world
        self.config = config or GeneratorConfig()
        self._rng = random.Random(f"{world.seed}:eco")
        self._fate_rng = random.Random(f"{world.seed}:fate")
        self._revisions = {number: world.current_revision(number) for number in world.items}
        self._year: int | None = None
        self._serial = self.config.first_serial - 1
        self._last_approved: datetime | None = None
        self._make_items = {
            n: None for n, i in world.items.items() if i.kind is not ItemKind.COMPONENT
        }
        self._components = world.items_of_kind(ItemKind.COMPONENT)

    def revision_of(self, item: str) -> str:
        """PLM's latest revision of ``item`` (after every ECO generated so far)."""
        return self._revisions[item]

    def generate(
        self, now: datetime, shape: EcoShape | None = None, *, fates: bool = True
    ) -> tuple[Eco, ScheduledFate | None]:
        """One approved ECO at ``now`` (or just after the previous one) and its fate, if any."""
        forced, shape = shape, shape or EcoShape()
        self._check(shape)
        items = list(shape.items) if shape.items else self._pick_items(shape)
        plants = self._pick_plants(items, shape)
        regulated = (self.world.items[i].kind is not ItemKind.ASSEMBLY for i in items)
        if shape.missing_compliance and not any(regulated):
            raise ShapeError("no affected item is regulated (a component or finished good)")
        inactive_at = shape.inactive_work_center_plant
        if inactive_at is not None and self._plant_with_routing(items, [inactive_at]) is None:
            raise ShapeError(f"no touched assembly has a routing at {inactive_at}")
        if inactive_at is None and self._rng.random() < self.config.inactive_work_center_share:
            inactive_at = self._plant_with_routing(items, plants)
        approved_at = self._approval_time(now)
        # The stream's ECOs lack compliance attributes at the seeded share; forced ones
        # (``shape`` given) only when asked to.
        share = MISSING_SHARE if forced is None else 0.0
        eco = self._build(
            approved_at, items, plants, shape, inactive_at, title=None, compliance_share=share
        )
        return eco, (self._fate(eco) if fates else None)

    def supersede(self, eco: Eco, now: datetime) -> Eco:
        """A new approved ECO replacing ``eco``: the same items and plants, newer revisions."""
        approved_at = self._approval_time(now)
        shape = EcoShape(suppliers=eco.suppliers)
        return self._build(
            approved_at,
            list(eco.items),
            list(eco.plants),
            shape,
            None,
            title=f"Supersedes {eco.number}: {eco.title}"[:200],
        )

    def _check(self, shape: EcoShape) -> None:
        world = self.world
        unknown = [p for p in shape.plants or () if world.plant(p) is None]
        inactive_at = shape.inactive_work_center_plant
        if inactive_at and world.plant(inactive_at) is None:
            unknown.append(inactive_at)
        if unknown:
            raise ShapeError(f"unknown plants {sorted(set(unknown))}")
        missing = [i for i in shape.items or () if i not in world.items]
        if missing:
            raise ShapeError(f"unknown items {missing}")
        if shape.items and len(set(shape.items)) != len(shape.items):
            raise ShapeError("items repeat")
        codes = {s.code for s in world.suppliers}
        strangers = [s for s in shape.suppliers or () if s not in codes]
        if strangers:
            raise ShapeError(f"unknown suppliers {strangers}")

    def _approval_time(self, now: datetime) -> datetime:
        approved_at = now.astimezone(UTC)
        if self._last_approved is not None and approved_at <= self._last_approved:
            approved_at = self._last_approved + timedelta(milliseconds=1)
        self._last_approved = approved_at
        return approved_at

    def numbers_left(self, at: datetime) -> bool:
        """Whether an ECO approved at ``at`` still gets a live number."""
        return at.astimezone(UTC).year != self._year or self._serial < LAST_SERIAL

    def _next_number(self, approved_at: datetime) -> str:
        if approved_at.year != self._year:
            self._year = approved_at.year
            self._serial = self.config.first_serial - 1
        if self._serial >= LAST_SERIAL:
            raise EcoNumbersExhausted(f"no ECO numbers left in {self._year}")
        self._serial += 1
        return f"ECO-{self._year}-{self._serial:05d}"

    def _pick_items(self, shape: EcoShape) -> list[str]:
        rng, world = self._rng, self.world
        at = shape.inactive_work_center_plant
        if at is None and rng.random() < 0.2:
            return rng.sample(self._components, rng.randint(1, 3))
        candidates = [
            n
            for n in self._make_items
            if (at is None or (at, n) in world.routings)
            and (shape.plants is None or set(shape.plants) & set(world.item_plants[n]))
        ]
        if not candidates:
            raise ShapeError("no assembly is built at the requested plants")
        anchor = rng.choice(candidates)
        children = [line.component for line in world.bom_lines(anchor)]
        return [anchor, *rng.sample(children, min(len(children), rng.randint(0, 4)))]

    def _pick_plants(self, items: list[str], shape: EcoShape) -> list[str]:
        order = self.world.plant_codes
        if shape.plants:
            chosen = set(shape.plants)
        else:
            makes = [i for i in items if i in self._make_items] or items
            candidates = sorted(
                {p for i in makes for p in self.world.item_plants[i]}, key=order.index
            )
            chosen = set(self._rng.sample(candidates, self._rng.randint(1, len(candidates))))
        if shape.inactive_work_center_plant:
            chosen.add(shape.inactive_work_center_plant)
        return [p for p in order if p in chosen]

    def _plant_with_routing(self, items: list[str], plants: list[str]) -> str | None:
        for item in items:
            for plant in plants:
                if (plant, item) in self.world.routings:
                    return plant
        return None

    def _build(
        self,
        approved_at: datetime,
        items: list[str],
        plants: list[str],
        shape: EcoShape,
        inactive_at: str | None,
        *,
        title: str | None,
        compliance_share: float = 0.0,
    ) -> Eco:
        rng, world = self._rng, self.world
        number = self._next_number(approved_at)
        share, lacking = compliance_share, shape.missing_compliance
        affected = []
        for item in items:
            old = self._revisions[item]
            new = next_revision(old)
            self._revisions[item] = new
            compliance = compliance_of(
                world.seed, world.items[item], new, share=share, lacking=lacking
            )
            lacking = lacking and not compliance.regulated  # the first regulated one lacks
            affected.append(
                AffectedItem(item=item, old_revision=old, new_revision=new, compliance=compliance)
            )
        new_of = {a.item: a.new_revision for a in affected}
        makes = [i for i in items if i in self._make_items]
        bom_changes = [
            BomChange(assembly=m, revision=new_of[m], lines=self._changed_lines(m, items))
            for m in makes
        ]
        routing_changes = []
        inactive_pending = inactive_at
        for item in makes:
            changes_routing = rng.random() < self.config.routing_change_share
            for plant in plants:
                routing = world.routings.get((plant, item))
                forced = inactive_pending == plant and routing is not None
                if routing is None or not (changes_routing or forced):
                    continue
                operations = self._changed_operations(routing.operations, plant, forced)
                if forced:
                    inactive_pending = None
                routing_changes.append(
                    RoutingChange(
                        item=item, revision=new_of[item], plant=plant, operations=operations
                    )
                )
        if shape.suppliers is not None:
            suppliers = list(shape.suppliers)
        else:
            linked: list[str] = []
            for item in items:
                linked.extend(s for s in world.suppliers_of(item) if s not in linked)
            suppliers = rng.sample(linked, min(len(linked), rng.randint(0, 6)))
        days = shape.effectivity_days
        if days is None:
            days = rng.randint(0, self.config.max_effectivity_days)
        noun = world.items[items[0]].description.lower()
        return Eco(
            number=number,
            title=title or rng.choice(TITLES).format(noun=noun)[:200],
            reason=rng.choice(REASONS),
            status=EcoStatus.APPROVED,
            approved_at=approved_at,
            effectivity=approved_at.date() + timedelta(days=days),
            affected_items=tuple(affected),
            plants=tuple(plants),
            suppliers=tuple(suppliers),
            bom_changes=tuple(bom_changes),
            routing_changes=tuple(routing_changes),
        )

    def _changed_lines(self, assembly: str, items: list[str]) -> tuple[BomLine, ...]:
        rng, world = self._rng, self.world
        lines = list(world.bom_lines(assembly))
        if lines:
            i = rng.randrange(len(lines))
            bump = Decimal(rng.choice((1, 2))) if lines[i].quantity >= 1 else Decimal("0.05")
            lines[i] = lines[i].model_copy(update={"quantity": lines[i].quantity + bump})
        present = {line.component for line in lines}
        extra = [
            c
            for c in items
            if c != assembly and world.items[c].kind is ItemKind.COMPONENT and c not in present
        ]
        if not extra and rng.random() < 0.25:
            extra = [c for c in [rng.choice(self._components)] if c not in present]
        position = max((line.position for line in lines), default=0)
        for component in extra:
            position += 10
            uom = world.items[component].uom
            lines.append(BomLine(position=position, component=component, quantity=1, uom=uom))
        return tuple(lines)

    def _changed_operations(
        self, operations: tuple[Operation, ...], plant: str, use_inactive: bool
    ) -> tuple[Operation, ...]:
        rng = self._rng
        changed = list(operations)
        i = rng.randrange(len(changed))
        run = changed[i].run_minutes + Decimal(rng.randint(-20, 30)) / Decimal(10)
        changed[i] = changed[i].model_copy(update={"run_minutes": max(run, Decimal("0.5"))})
        if use_inactive:
            inactive = self.world.work_centers_at(plant, active=False)
            j = rng.randrange(len(changed))
            changed[j] = changed[j].model_copy(update={"work_center": rng.choice(inactive).code})
        return tuple(changed)

    def _fate(self, eco: Eco) -> ScheduledFate | None:
        rng, config = self._fate_rng, self.config
        draw = rng.random()
        low, high = config.fate_delay_seconds
        due = eco.approved_at + timedelta(seconds=rng.uniform(low, high))
        if draw < config.cancel_share:
            return ScheduledFate(eco.number, Fate.CANCEL, due)
        if draw < config.cancel_share + config.supersede_share:
            return ScheduledFate(eco.number, Fate.SUPERSEDE, due)
        return None


def history_eco(
    world: World,
    number: str,
    approved_at: datetime,
    revisions: Mapping[str, str],
    rng: random.Random,
) -> Eco:
    """A past approved ECO moving every item of ``revisions`` (item -> its revision before)
    to the next revision.

    Plants, routing changes, suppliers, effectivity, title and reason are drawn from
    ``rng``, the history's stream of this ECO. BOM changes carry the world's lines and
    routing changes the world's operations: the history records where a change went and
    how long it took, not what it changed.
    """
    items = list(revisions)
    makes = [i for i in items if world.items[i].kind is not ItemKind.COMPONENT]
    order = world.plant_codes
    candidates = sorted(
        {p for i in (makes or items) for p in world.item_plants[i]}, key=order.index
    )
    chosen = set(rng.sample(candidates, rng.randint(1, len(candidates))))
    plants = [p for p in order if p in chosen]
    routed = [
        (item, plant)
        for item in makes
        if rng.random() < HISTORY_ROUTING_CHANGE_SHARE
        for plant in plants
        if (plant, item) in world.routings
    ]
    linked: list[str] = []
    for item in items:
        linked.extend(s for s in world.suppliers_of(item) if s not in linked)
    suppliers = rng.sample(linked, min(len(linked), rng.randint(0, HISTORY_MAX_SUPPLIERS)))
    effectivity = approved_at.date() + timedelta(days=rng.randint(0, HISTORY_MAX_EFFECTIVITY_DAYS))
    noun = world.items[items[0]].description.lower()
    title = rng.choice(TITLES).format(noun=noun)[:200]
    reason = rng.choice(REASONS)
    new = {item: next_revision(old) for item, old in revisions.items()}
    return Eco(
        number=number,
        title=title,
        reason=reason,
        approved_at=approved_at,
        effectivity=effectivity,
        affected_items=tuple(
            AffectedItem(
                item=item,
                old_revision=old,
                new_revision=new[item],
                compliance=compliance_of(world.seed, world.items[item], new[item]),
            )
            for item, old in revisions.items()
        ),
        plants=tuple(plants),
        suppliers=tuple(suppliers),
        bom_changes=tuple(
            BomChange(assembly=m, revision=new[m], lines=world.bom_lines(m)) for m in makes
        ),
        routing_changes=tuple(
            RoutingChange(
                item=item,
                revision=new[item],
                plant=plant,
                operations=world.routings[(plant, item)].operations,
            )
            for item, plant in routed
        ),
    )


def seconds_between(rng: random.Random, rate_per_minute: float) -> float:
    """A Poisson process's gap between two ECOs at ``rate_per_minute``."""
    return rng.expovariate(rate_per_minute / 60.0)
