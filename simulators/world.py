"""The seeded plant world every simulator serves: plants, items, BOMs, routings, suppliers.

``build_world(seed)`` is a pure function of the seed: the same seed gives the same world,
down to the last quantity, because every random choice is drawn from one
``random.Random(seed)`` in a fixed order. The world is the starting state; what the
simulated systems change afterwards (released revisions, activated work centers, plant
revisions) lives in their own state, never in the world.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from contracts.model import (
    Bom,
    BomLine,
    Item,
    ItemKind,
    ItemRevision,
    Operation,
    Plant,
    Routing,
    Supplier,
    UnitOfMeasure,
    WorkCenter,
    next_revision,
    revision_key,
)

PLANT_TEMPLATES: tuple[tuple[str, str, str], ...] = (
    ("P100", "Dayton Assembly", "America/New_York"),
    ("P200", "Stuttgart Werk", "Europe/Berlin"),
    ("P300", "Monterrey Works", "America/Monterrey"),
    ("P400", "Suzhou Plant", "Asia/Shanghai"),
    ("P500", "Pune Fabrication", "Asia/Kolkata"),
)

FAMILIES: tuple[tuple[str, str], ...] = (
    ("Pumps", "pump"),
    ("Valves", "valve"),
    ("Compressors", "compressor"),
    ("Actuators", "actuator"),
    ("Controls", "controller"),
)

ASSEMBLY_NOUNS = (
    "housing",
    "drive module",
    "seal kit",
    "frame",
    "motor unit",
    "gearbox",
    "manifold",
    "control board",
    "impeller stage",
    "cover assembly",
    "bearing block",
    "harness",
)
COMPONENT_NOUNS: tuple[tuple[str, UnitOfMeasure], ...] = (
    ("hex bolt M8", UnitOfMeasure.EACH),
    ("O-ring 40x3", UnitOfMeasure.EACH),
    ("steel sheet 2mm", UnitOfMeasure.SQUARE_METRE),
    ("copper wire", UnitOfMeasure.METRE),
    ("epoxy paint", UnitOfMeasure.LITRE),
    ("ball bearing 6204", UnitOfMeasure.EACH),
    ("PCB blank", UnitOfMeasure.EACH),
    ("aluminium bar", UnitOfMeasure.KILOGRAM),
    ("gasket", UnitOfMeasure.EACH),
    ("thread locker", UnitOfMeasure.MILLILITRE),
    ("cable gland", UnitOfMeasure.EACH),
    ("spring washer", UnitOfMeasure.EACH),
    ("shaft blank", UnitOfMeasure.EACH),
    ("rubber hose", UnitOfMeasure.METRE),
    ("fastener kit", UnitOfMeasure.SET),
    ("grease", UnitOfMeasure.GRAM),
)
WORK_CENTER_NAMES = (
    "Laser cutting",
    "CNC machining",
    "Welding cell",
    "Paint line",
    "Assembly line",
    "Test bench",
    "Packing",
    "Press",
    "Deburring",
    "Heat treatment",
    "Inspection",
    "Kitting",
)
SUPPLIER_NAMES = (
    "Acme Fasteners",
    "Bolt & Nut Co",
    "Cascade Castings",
    "Delta Seals",
    "Everline Wire",
    "Fulcrum Bearings",
    "Granite Metals",
    "Harbor Plastics",
    "Ionic Electronics",
    "Juniper Coatings",
    "Keystone Springs",
    "Lumen PCB",
    "Meridian Hydraulics",
    "Northwind Rubber",
    "Orbit Motors",
    "Pioneer Alloys",
    "Quartz Sensors",
    "Redwood Pack",
    "Summit Gaskets",
    "Titan Forge",
    "Unity Cables",
    "Vertex Valves",
    "Westfield Steel",
    "Xeno Adhesives",
    "Yardley Tools",
)

FINISHED_GOODS = 30
UPPER_ASSEMBLIES = 35
LOWER_ASSEMBLIES = 65
COMPONENTS = 170
SUPPLIERS = 25
REVISIONS_SINCE = datetime(2019, 1, 7, tzinfo=UTC)
REVISIONS_UNTIL = datetime(2025, 12, 15, tzinfo=UTC)


@dataclass(frozen=True)
class World:
    """The starting state of the plant world (read-only by convention)."""

    seed: int
    plants: tuple[Plant, ...]
    items: Mapping[str, Item]
    revisions: Mapping[str, tuple[ItemRevision, ...]]
    """Every item's released revisions, oldest first; the last is PLM's current one."""
    item_plants: Mapping[str, tuple[str, ...]]
    """Where each item is built (assemblies, finished goods) or used (components); a
    component no BOM uses is listed at every plant, where it could be bought, but is in no
    plant's item master (:meth:`item_master`)."""
    boms: Mapping[tuple[str, str], Bom]
    """(plant, assembly) -> the BOM of the revision the plant builds today."""
    routings: Mapping[tuple[str, str], Routing]
    """(plant, item) -> the routing of the revision the plant builds today."""
    work_centers: tuple[WorkCenter, ...]
    suppliers: tuple[Supplier, ...]
    unreliable_suppliers: frozenset[str]
    """Suppliers whose notification portal often fails (502/504)."""
    invalid_contact_suppliers: frozenset[str]
    """Suppliers whose contact address bounces (422 INVALID_SUPPLIER_CONTACT)."""
    plant_revisions: Mapping[str, Mapping[str, str]]
    """plant -> item -> the revision ERP says the plant builds (some lag PLM)."""
    mes_revisions: Mapping[str, Mapping[str, str]]
    """plant -> item -> the revision MES runs (a few lag ERP)."""

    def plant(self, code: str) -> Plant | None:
        """The plant with this code, if any."""
        return next((p for p in self.plants if p.code == code), None)

    @property
    def plant_codes(self) -> tuple[str, ...]:
        """Every plant code, in order."""
        return tuple(p.code for p in self.plants)

    def item_master(self, plant: str) -> frozenset[str]:
        """The items ``plant`` uses: those it builds and the components its BOMs contain.

        A (plant, item) pair exists only here: ERP keeps a revision for it and the console
        counts it. What ERP later makes or its new BOMs consume joins the master there.
        """
        made = {
            number
            for number, plants in self.item_plants.items()
            if plant in plants and self.items[number].kind is not ItemKind.COMPONENT
        }
        used = {
            line.component
            for (at, _), bom in self.boms.items()
            if at == plant
            for line in bom.lines
        }
        return frozenset(made | used)

    def current_revision(self, item: str) -> str:
        """PLM's current revision of ``item``."""
        return self.revisions[item][-1].revision

    def work_centers_at(self, plant: str, *, active: bool | None = None) -> list[WorkCenter]:
        """The plant's work centers, optionally only the active or inactive ones."""
        return [
            wc
            for wc in self.work_centers
            if wc.plant == plant and (active is None or wc.active is active)
        ]

    def suppliers_of(self, component: str) -> list[str]:
        """Codes of the suppliers approved for ``component``."""
        return [s.code for s in self.suppliers if component in s.components]

    def items_of_kind(self, kind: ItemKind) -> list[str]:
        """Item numbers of one kind, in number order."""
        return [number for number, item in self.items.items() if item.kind is kind]

    def bom_lines(self, assembly: str) -> tuple[BomLine, ...]:
        """The assembly's BOM lines at the first plant that builds it."""
        for plant in self.item_plants[assembly]:
            bom = self.boms.get((plant, assembly))
            if bom is not None:
                return bom.lines
        return ()


def build_world(seed: int = 7) -> World:
    """The world for ``seed`` (deterministic)."""
    rng = random.Random(seed)
    plants = tuple(
        Plant(code=code, name=name, timezone=tz)
        for code, name, tz in PLANT_TEMPLATES[: rng.randint(3, 5)]
    )
    plant_codes = [p.code for p in plants]
    work_centers = _work_centers(rng, plant_codes)

    items: dict[str, Item] = {}
    family_of: dict[str, str] = {}
    pools: dict[str, dict[str, list[str]]] = {f: {"upper": [], "lower": []} for f, _ in FAMILIES}
    components: list[str] = []
    for n in range(COMPONENTS):
        noun, uom = COMPONENT_NOUNS[n % len(COMPONENT_NOUNS)]
        family = rng.choice(FAMILIES)[0]
        number = f"CMP-{3001 + n}"
        items[number] = Item(
            number=number,
            description=f"{noun.capitalize()} type {n // len(COMPONENT_NOUNS) + 1}",
            kind=ItemKind.COMPONENT,
            product_family=family,
            uom=uom,
        )
        components.append(number)
    for n in range(LOWER_ASSEMBLIES + UPPER_ASSEMBLIES):
        family, adjective = FAMILIES[n % len(FAMILIES)]
        level = "lower" if n < LOWER_ASSEMBLIES else "upper"
        number = f"ASM-{2001 + n}"
        noun = ASSEMBLY_NOUNS[rng.randrange(len(ASSEMBLY_NOUNS))]
        items[number] = Item(
            number=number,
            description=f"{adjective.capitalize()} {noun} {n + 1}",
            kind=ItemKind.ASSEMBLY,
            product_family=family,
        )
        pools[family][level].append(number)
        family_of[number] = family
    finished: list[str] = []
    for n in range(FINISHED_GOODS):
        family, adjective = FAMILIES[n % len(FAMILIES)]
        number = f"FG-{1001 + n}"
        items[number] = Item(
            number=number,
            description=f"{adjective.capitalize()} model {chr(65 + n % 26)}{100 + n * 10}",
            kind=ItemKind.FINISHED_GOOD,
            product_family=family,
        )
        finished.append(number)
        family_of[number] = family

    structure: dict[str, list[tuple[str, Decimal]]] = {}
    for family, _ in FAMILIES:
        for number in pools[family]["lower"]:
            structure[number] = [
                (c, _quantity(rng, items[c].uom)) for c in rng.sample(components, rng.randint(2, 5))
            ]
        for number in pools[family]["upper"]:
            lower = pools[family]["lower"]
            children = rng.sample(lower, min(len(lower), rng.randint(1, 3)))
            structure[number] = [(c, Decimal(rng.randint(1, 2))) for c in children] + [
                (c, _quantity(rng, items[c].uom)) for c in rng.sample(components, rng.randint(1, 3))
            ]
    for number in finished:
        upper = pools[family_of[number]]["upper"]
        children = rng.sample(upper, min(len(upper), rng.randint(2, 3)))
        structure[number] = [(c, Decimal(1)) for c in children] + [
            (c, _quantity(rng, items[c].uom)) for c in rng.sample(components, rng.randint(1, 3))
        ]

    item_plants = _item_plants(rng, plant_codes, finished, structure, list(items))
    revisions = _revision_histories(rng, items)
    plant_revisions, mes_revisions = _plant_revisions(rng, plant_codes, item_plants, revisions)
    boms, routings = _boms_and_routings(
        rng, structure, items, item_plants, revisions, plant_revisions, work_centers
    )
    suppliers, unreliable, invalid = _suppliers(rng, components)
    return World(
        seed=seed,
        plants=plants,
        items=items,
        revisions=revisions,
        item_plants=item_plants,
        boms=boms,
        routings=routings,
        work_centers=work_centers,
        suppliers=suppliers,
        unreliable_suppliers=unreliable,
        invalid_contact_suppliers=invalid,
        plant_revisions=plant_revisions,
        mes_revisions=mes_revisions,
    )


def _quantity(rng: random.Random, uom: UnitOfMeasure) -> Decimal:
    if uom in (UnitOfMeasure.EACH, UnitOfMeasure.SET):
        return Decimal(rng.choice((1, 1, 2, 2, 4, 6, 8, 12)))
    return Decimal(rng.randint(5, 400)) / Decimal(100)


def _work_centers(rng: random.Random, plants: list[str]) -> tuple[WorkCenter, ...]:
    centers: list[WorkCenter] = []
    for plant in plants:
        count = rng.randint(8, 12)
        inactive = set(rng.sample(range(count), rng.randint(1, 2)))
        centers.extend(
            WorkCenter(
                code=f"WC-{plant}-{n + 1:02d}",
                plant=plant,
                name=f"{WORK_CENTER_NAMES[n % len(WORK_CENTER_NAMES)]} {n // 12 + 1}",
                active=n not in inactive,
            )
            for n in range(count)
        )
    return tuple(centers)


def _item_plants(
    rng: random.Random,
    plants: list[str],
    finished: list[str],
    structure: dict[str, list[tuple[str, Decimal]]],
    numbers: list[str],
) -> dict[str, tuple[str, ...]]:
    where: dict[str, set[str]] = {n: set() for n in numbers}
    for number in finished:
        where[number] = set(rng.sample(plants, rng.randint(1, len(plants))))
    # Parents come before children in this order: finished goods, upper, lower assemblies.
    order = finished + sorted(
        (n for n in structure if n.startswith("ASM-")), key=lambda n: -int(n[4:])
    )
    for parent in order:
        if not where[parent]:
            where[parent] = {rng.choice(plants)}
        for child, _ in structure[parent]:
            where[child] |= where[parent]
    return {
        n: tuple(p for p in plants if p in where[n]) if where[n] else tuple(plants) for n in numbers
    }


def _revision_histories(
    rng: random.Random, items: dict[str, Item]
) -> dict[str, tuple[ItemRevision, ...]]:
    span = (REVISIONS_UNTIL - REVISIONS_SINCE).total_seconds()
    histories: dict[str, tuple[ItemRevision, ...]] = {}
    for number, item in items.items():
        count = rng.randint(1, 8)
        times = sorted(
            REVISIONS_SINCE + timedelta(seconds=int(rng.random() * span)) for _ in range(count)
        )
        revision: str | None = None
        history = []
        for at in times:
            revision = next_revision(revision)
            history.append(
                ItemRevision(
                    item=number,
                    revision=revision,
                    description=f"{item.description}, revision {revision}",
                    released_at=at,
                )
            )
        histories[number] = tuple(history)
    return histories


def _plant_revisions(
    rng: random.Random,
    plants: list[str],
    item_plants: Mapping[str, tuple[str, ...]],
    revisions: Mapping[str, tuple[ItemRevision, ...]],
) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    erp: dict[str, dict[str, str]] = {p: {} for p in plants}
    mes: dict[str, dict[str, str]] = {p: {} for p in plants}
    for number, where in item_plants.items():
        history = revisions[number]
        for plant in where:
            lags = len(history) > 1 and rng.random() < 0.06
            erp_rev = history[-2 if lags else -1].revision
            erp[plant][number] = erp_rev
            erp_index = next(i for i, r in enumerate(history) if r.revision == erp_rev)
            mes_lags = erp_index > 0 and rng.random() < 0.02
            mes[plant][number] = history[erp_index - 1].revision if mes_lags else erp_rev
    return erp, mes


def _boms_and_routings(
    rng: random.Random,
    structure: dict[str, list[tuple[str, Decimal]]],
    items: dict[str, Item],
    item_plants: Mapping[str, tuple[str, ...]],
    revisions: Mapping[str, tuple[ItemRevision, ...]],
    plant_revisions: Mapping[str, Mapping[str, str]],
    work_centers: tuple[WorkCenter, ...],
) -> tuple[dict[tuple[str, str], Bom], dict[tuple[str, str], Routing]]:
    boms: dict[tuple[str, str], Bom] = {}
    routings: dict[tuple[str, str], Routing] = {}
    for assembly, children in structure.items():
        lines = tuple(
            BomLine(position=10 * (i + 1), component=c, quantity=q, uom=items[c].uom)
            for i, (c, q) in enumerate(children)
        )
        for plant in item_plants[assembly]:
            revision = plant_revisions[plant][assembly]
            released = next(r for r in revisions[assembly] if r.revision == revision)
            assert released.released_at is not None
            boms[(plant, assembly)] = Bom(
                assembly=assembly,
                revision=revision,
                plant=plant,
                valid_from=released.released_at.date(),
                lines=lines,
            )
            active = [wc for wc in work_centers if wc.plant == plant and wc.active]
            routings[(plant, assembly)] = Routing(
                item=assembly,
                revision=revision,
                plant=plant,
                operations=_operations(rng, active),
            )
    return boms, routings


def _operations(rng: random.Random, centers: list[WorkCenter]) -> tuple[Operation, ...]:
    chosen = rng.sample(centers, min(len(centers), rng.randint(2, 5)))
    return tuple(
        Operation(
            number=10 * (i + 1),
            work_center=wc.code,
            description=wc.name.rsplit(" ", 1)[0],
            setup_minutes=Decimal(rng.randint(0, 60)),
            run_minutes=Decimal(rng.randint(5, 240)) / Decimal(10),
        )
        for i, wc in enumerate(chosen)
    )


def _suppliers(
    rng: random.Random, components: list[str]
) -> tuple[tuple[Supplier, ...], frozenset[str], frozenset[str]]:
    codes = [f"S{10 * (n + 1):03d}" for n in range(SUPPLIERS)]
    approved: dict[str, list[str]] = {c: [] for c in codes}
    for component in components:
        for code in rng.sample(codes, rng.randint(1, 3)):
            approved[code].append(component)
    invalid = frozenset(rng.sample(codes, 2))
    unreliable = frozenset(rng.sample([c for c in codes if c not in invalid], 3))
    suppliers = []
    for code, name in zip(codes, SUPPLIER_NAMES, strict=True):
        slug = name.lower().replace(" & ", "-").replace(" ", "-")
        email = f"noreply@{slug}.invalid" if code in invalid else f"orders@{slug}.example.com"
        suppliers.append(
            Supplier(code=code, name=name, contact_email=email, components=tuple(approved[code]))
        )
    return tuple(suppliers), unreliable, invalid


def plant_today(plant: Plant, now: datetime) -> date:
    """The calendar date at the plant at ``now``."""
    return now.astimezone(ZoneInfo(plant.timezone)).date()


def advance_world(
    world: World,
    revisions: Mapping[str, str],
    *,
    erp: Mapping[tuple[str, str], str] | None = None,
    mes: Mapping[tuple[str, str], str] | None = None,
) -> World:
    """The world after PLM released ``revisions`` (item -> revision, not lower than today's).

    ``erp`` and ``mes`` (plant, item) -> revision are what the plants run where ECOs moved
    them (a history's, ``simulators.history.history_left``); MES follows ERP where ``mes``
    says nothing of a pair ERP moved. A pair neither names keeps its seeded lag: a plant
    that lagged one revision still lags one, the others build the newest revision, and MES
    keeps its lag behind ERP. BOMs and routings are of the revision the plant builds.
    """
    moved, ran = erp or {}, mes or {}
    histories = {}
    for number, history in world.revisions.items():
        extended = list(history)
        target = revisions.get(number, history[-1].revision)
        while revision_key(extended[-1].revision) < revision_key(target):
            revision = next_revision(extended[-1].revision)
            extended.append(
                ItemRevision(
                    item=number,
                    revision=revision,
                    description=f"{world.items[number].description}, revision {revision}",
                )
            )
        histories[number] = tuple(extended)

    erp_at: dict[str, dict[str, str]] = {p: {} for p in world.plant_revisions}
    mes_at: dict[str, dict[str, str]] = {p: {} for p in world.mes_revisions}
    for plant, items in world.plant_revisions.items():
        for number, revision in items.items():
            if (plant, number) in moved:
                erp_at[plant][number] = moved[(plant, number)]
                mes_at[plant][number] = ran.get((plant, number), moved[(plant, number)])
                continue
            history, old = histories[number], world.revisions[number]
            erp_lag = _index(old, old[-1].revision) - _index(old, revision)
            at = max(0, len(history) - 1 - erp_lag)
            mes_lag = _index(old, revision) - _index(old, world.mes_revisions[plant][number])
            erp_at[plant][number] = history[at].revision
            mes_at[plant][number] = history[max(0, at - mes_lag)].revision
    boms = {
        key: bom.model_copy(update={"revision": erp_at[key[0]][key[1]]})
        for key, bom in world.boms.items()
    }
    routings = {
        key: routing.model_copy(update={"revision": erp_at[key[0]][key[1]]})
        for key, routing in world.routings.items()
    }
    return replace(
        world,
        revisions=histories,
        plant_revisions=erp_at,
        mes_revisions=mes_at,
        boms=boms,
        routings=routings,
    )


def _index(history: tuple[ItemRevision, ...], revision: str) -> int:
    return next(i for i, r in enumerate(history) if r.revision == revision)
