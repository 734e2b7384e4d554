"""The seeded sourcing world procurement and ERP share: approved manufacturer / supplier
lists, supply contracts, supplier masters, plant sourcing modes and qualifications already
granted when the simulators start.

``build_sourcing(world, today)`` is a pure function of the world's seed and the start date:
every draw comes from its own ``random.Random`` stream, so the plant world (``build_world``)
and the ECO stream stay what they were.

Procurement's approved lists start from the approved-manufacturer links PLM holds
(``World.suppliers``) but differ where a real procurement platform does: a few links PLM
still lists were withdrawn in procurement, a few suppliers procurement approved are unknown
to PLM, and some approvals hold only at some plants. Contracts cover most approved
(supplier, component) pairs; a seeded share has none and a few have expired. ERP's supplier
master repeats procurement's with two seeded duplicates: one tax id under two codes, and
one code under a different name.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from contracts.api import ApprovedSupplier, Contract, SourcingModeName, SupplierRecord
from contracts.model import ItemKind
from simulators.world import World

MANUFACTURERS = (
    "Bossard",
    "Würth",
    "SKF",
    "Freudenberg",
    "Parker Hannifin",
    "TE Connectivity",
    "Nexans",
    "Henkel",
    "Schaeffler",
    "Trelleborg",
    "Amphenol",
    "Lapp",
)
COUNTRIES = ("DE", "US", "MX", "CN", "IN", "FR", "IT", "JP")
WITHDRAWN_SHARE = 0.04
"""Share of PLM's approved links procurement has withdrawn."""
ADDED_SHARE = 0.05
"""Share of components with one more approved supplier than PLM lists."""
PLANT_LIMITED_SHARE = 0.1
"""Share of approvals that hold at only some of the component's plants."""
NO_CONTRACT_SHARE = 0.07
EXPIRED_CONTRACT_SHARE = 0.03
UNQUALIFIED_SHARE = 0.03
"""Share of approved suppliers whose qualification of the current revision is pending."""
DUPLICATE_CODE = "S990"
"""The second code ERP keeps for one supplier (same tax id)."""


@dataclass(frozen=True)
class SeededQualification:
    """A qualification decided (or still pending) before the simulators started."""

    supplier: str
    component: str
    revision: str
    status: str


@dataclass(frozen=True)
class Sourcing:
    """Procurement's and ERP's sourcing data as the simulators start."""

    approved: Mapping[str, tuple[ApprovedSupplier, ...]]
    """purchased component -> its approved suppliers (procurement's list)."""
    contracts: tuple[Contract, ...]
    procurement_suppliers: tuple[SupplierRecord, ...]
    erp_suppliers: tuple[SupplierRecord, ...]
    modes: Mapping[str, SourcingModeName]
    """plant -> local or central."""
    qualifications: tuple[SeededQualification, ...]
    prices: Mapping[tuple[str, str], Decimal]
    """(supplier, component) -> unit price."""

    def approved_at(self, component: str, plant: str) -> list[str]:
        """Codes of the suppliers approved for ``component`` at ``plant``."""
        return [a.supplier for a in self.approved.get(component, ()) if plant in a.plants]

    def is_approved(self, supplier: str, component: str) -> bool:
        """Whether ``supplier`` is on the component's approved list (at any plant)."""
        return any(a.supplier == supplier for a in self.approved.get(component, ()))


def record_id(supplier: str, component: str, revision: str, plant: str | None) -> str:
    """The id of ERP's purchasing info record with this key (``ALL`` for a central one)."""
    return f"PIR-{supplier}-{component}-{revision}-{plant or 'ALL'}"


def build_sourcing(world: World, today: date) -> Sourcing:
    """The sourcing world of ``world`` as of ``today`` (deterministic)."""
    rng = random.Random(f"{world.seed}:sourcing")
    names = {s.code: s.name for s in world.suppliers}
    codes = list(names)
    approved: dict[str, tuple[ApprovedSupplier, ...]] = {}
    prices: dict[tuple[str, str], Decimal] = {}
    for component in (n for n, i in world.items.items() if i.kind is ItemKind.COMPONENT):
        linked = [c for c in world.suppliers_of(component) if rng.random() >= WITHDRAWN_SHARE]
        if rng.random() < ADDED_SHARE:
            extra = [c for c in codes if c not in linked]
            linked.append(rng.choice(extra))
        plants = world.item_plants[component]
        entries = []
        for code in linked:
            at = plants
            if len(plants) > 1 and rng.random() < PLANT_LIMITED_SHARE:
                at = tuple(sorted(rng.sample(plants, len(plants) - 1)))
            entries.append(
                ApprovedSupplier(
                    supplier=code,
                    name=names[code],
                    manufacturer=rng.choice(MANUFACTURERS),
                    plants=at,
                )
            )
            prices[(code, component)] = Decimal(rng.randint(5, 50_000)) / Decimal(100)
        approved[component] = tuple(entries)
    contracts = _contracts(rng, approved, prices, today)
    procurement, erp = _supplier_masters(rng, names)
    modes = _modes(rng, world.plant_codes)
    qualifications = tuple(
        SeededQualification(
            supplier=entry.supplier,
            component=component,
            revision=world.current_revision(component),
            status="pending" if rng.random() < UNQUALIFIED_SHARE else "qualified",
        )
        for component, entries in approved.items()
        for entry in entries
    )
    return Sourcing(
        approved=approved,
        contracts=contracts,
        procurement_suppliers=procurement,
        erp_suppliers=erp,
        modes=modes,
        qualifications=qualifications,
        prices=prices,
    )


def _contracts(
    rng: random.Random,
    approved: Mapping[str, tuple[ApprovedSupplier, ...]],
    prices: Mapping[tuple[str, str], Decimal],
    today: date,
) -> tuple[Contract, ...]:
    contracts = []
    for component, entries in approved.items():
        for entry in entries:
            draw = rng.random()
            if draw < NO_CONTRACT_SHARE:
                continue
            start = today - timedelta(days=rng.randint(30, 900))
            if draw < NO_CONTRACT_SHARE + EXPIRED_CONTRACT_SHARE:
                end: date | None = today - timedelta(days=rng.randint(1, 25))
            else:
                end = None if rng.random() < 0.3 else today + timedelta(days=rng.randint(60, 1100))
            contracts.append(
                Contract(
                    id=f"CT-{entry.supplier}-{component}",
                    supplier=entry.supplier,
                    component=component,
                    valid_from=start,
                    valid_to=end,
                    price=prices[(entry.supplier, component)],
                    currency="EUR",
                )
            )
    return tuple(sorted(contracts, key=lambda c: (c.supplier, c.component)))


def _supplier_masters(
    rng: random.Random, names: Mapping[str, str]
) -> tuple[tuple[SupplierRecord, ...], tuple[SupplierRecord, ...]]:
    procurement = tuple(
        SupplierRecord(
            code=code, name=name, tax_id=f"{rng.choice(COUNTRIES)}{rng.randrange(10**9):09d}"
        )
        for code, name in names.items()
    )
    twice, renamed = rng.sample(range(len(procurement)), 2)
    erp = list(procurement)
    erp[renamed] = erp[renamed].model_copy(update={"name": f"{erp[renamed].name} Holding"})
    erp.append(erp[twice].model_copy(update={"code": DUPLICATE_CODE}))
    return procurement, tuple(erp)


def _modes(rng: random.Random, plants: tuple[str, ...]) -> dict[str, SourcingModeName]:
    modes: dict[str, SourcingModeName] = {
        p: "central" if rng.random() < 0.5 else "local" for p in plants
    }
    if len(plants) > 1 and len(set(modes.values())) == 1:
        # Both kinds exist in every world with two plants or more.
        modes[plants[-1]] = "local" if modes[plants[-1]] == "central" else "central"
    return modes
