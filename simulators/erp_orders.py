"""The reference ERP's open orders: purchase orders and production orders per plant.

Every plant day brings new orders, drawn from a stream seeded by (plant, day), so the same
seed and clock give the same orders: a few purchase order lines for components the plant's
BOMs consume, from a supplier approved at the plant, due weeks later; a production order or
three for items the plant builds, starting days to weeks later. An order is written with
the revision the plant uses on the day it is created and keeps it, which is why a stuck ECO
leaves orders buying or building a superseded revision. A purchase order is received on its
due date and a production order closes a few days after its start; both then leave the
open lists.

Nothing runs in the background: ``settle`` (before every request) writes the orders of
every plant day up to today and drops those closed. The simulators start with the orders of
the last ``BACKLOG_DAYS`` days; memory stays flat because closed orders are dropped.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from contracts.api import ProductionOrder, ProductionOrderList, PurchaseOrder, PurchaseOrderList
from contracts.model import ItemKind
from simulators.clock import Clock
from simulators.problems import Problem
from simulators.sourcing import Sourcing
from simulators.world import World, plant_today

BACKLOG_DAYS = 45
PURCHASE_ORDERS_PER_DAY = (3, 6)
PRODUCTION_ORDERS_PER_DAY = (1, 3)


@dataclass(frozen=True, slots=True)
class _Production:
    order: ProductionOrder
    closes_on: date


class Orders:
    """ERP's open purchase and production orders, moving with the clock."""

    def __init__(
        self,
        world: World,
        sourcing: Sourcing,
        *,
        revisions: Callable[[str], Mapping[str, str]],
        clock: Clock,
    ) -> None:
        self.world = world
        self._sourcing = sourcing
        self._revisions = revisions
        self._clock = clock
        self._purchase: dict[str, PurchaseOrder] = {}
        self._production: dict[str, _Production] = {}
        now = clock()
        self._through = {
            p.code: plant_today(p, now) - timedelta(days=BACKLOG_DAYS + 1) for p in world.plants
        }
        self.settle(now)

    def settle(self, now: datetime | None = None) -> None:
        """Write the orders of every plant day up to today; drop the closed ones."""
        now = now or self._clock()
        for plant in self.world.plants:
            today = plant_today(plant, now)
            through = self._through[plant.code]
            if through >= today:
                continue
            revisions = self._revisions(plant.code)
            while through < today:
                through += timedelta(days=1)
                self._write_day(plant.code, through, revisions)
            self._through[plant.code] = through
            self._close(plant.code, today)

    def _close(self, plant: str, today: date) -> None:
        for oid in [o.id for o in self._purchase.values() if o.plant == plant]:
            if self._purchase[oid].due_date < today:
                del self._purchase[oid]
        for oid in [k for k, p in self._production.items() if p.order.plant == plant]:
            if self._production[oid].closes_on < today:
                del self._production[oid]

    def _write_day(self, plant: str, day: date, revisions: Mapping[str, str]) -> None:
        rng = random.Random(f"{self.world.seed}:orders:{plant}:{day.isoformat()}")
        items = sorted(revisions)
        components = [
            i
            for i in items
            if self.world.items[i].kind is ItemKind.COMPONENT
            and self._sourcing.approved_at(i, plant)
        ]
        made = [i for i in items if self.world.items[i].kind is not ItemKind.COMPONENT]
        stamp = f"{plant}-{day:%Y%m%d}"
        for n in range(rng.randint(*PURCHASE_ORDERS_PER_DAY) if components else 0):
            component = rng.choice(components)
            supplier = rng.choice(self._sourcing.approved_at(component, plant))
            quantity = Decimal(rng.randint(10, 2000))
            price = self._sourcing.prices[(supplier, component)]
            order = PurchaseOrder(
                id=f"PO-{stamp}-{n + 1:02d}",
                plant=plant,
                supplier=supplier,
                component=component,
                revision=revisions[component],
                due_date=day + timedelta(days=rng.randint(7, 90)),
                quantity=quantity,
                value=(quantity * price).quantize(Decimal("0.01")),
                currency="EUR",
            )
            self._purchase[order.id] = order
        for n in range(rng.randint(*PRODUCTION_ORDERS_PER_DAY) if made else 0):
            item = rng.choice(made)
            start = day + timedelta(days=rng.randint(2, 40))
            production = ProductionOrder(
                id=f"MO-{stamp}-{n + 1:02d}",
                plant=plant,
                item=item,
                revision=revisions[item],
                start_date=start,
                quantity=Decimal(rng.randint(5, 500)),
            )
            closes_on = start + timedelta(days=rng.randint(1, 5))
            self._production[production.id] = _Production(production, closes_on)

    def _plant(self, plant: str | None) -> None:
        if plant is not None and self.world.plant(plant) is None:
            raise Problem(404, "PLANT_NOT_FOUND", f"no plant {plant}")

    def purchase_orders(
        self,
        *,
        plant: str | None = None,
        supplier: str | None = None,
        component: str | None = None,
        revision: str | None = None,
    ) -> PurchaseOrderList:
        """Open purchase orders matching every filter given, by id."""
        self._plant(plant)
        self.settle()
        items = [
            o
            for o in self._purchase.values()
            if (plant is None or o.plant == plant)
            and (supplier is None or o.supplier == supplier)
            and (component is None or o.component == component)
            and (revision is None or o.revision == revision)
        ]
        return PurchaseOrderList(read_at=self._clock(), items=sorted(items, key=lambda o: o.id))

    def production_orders(
        self,
        *,
        plant: str | None = None,
        item: str | None = None,
        revision: str | None = None,
        starts_after: date | None = None,
    ) -> ProductionOrderList:
        """Open production orders matching every filter given, by id."""
        self._plant(plant)
        self.settle()
        items = [
            p.order
            for p in self._production.values()
            if (plant is None or p.order.plant == plant)
            and (item is None or p.order.item == item)
            and (revision is None or p.order.revision == revision)
            and (starts_after is None or p.order.start_date > starts_after)
        ]
        return ProductionOrderList(read_at=self._clock(), items=sorted(items, key=lambda o: o.id))
