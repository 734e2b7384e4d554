"""The reference ERP's state and write rules: item revisions, effective-dated BOMs,
routings, production versions, work centers and withdrawals.

A production version is answered 202 ``pending`` and becomes ``active`` (or ``rejected``)
``confirmation_delay_seconds`` after the request. Nothing runs in the background for it:
``settle`` (called before every request) applies every confirmation due by now, stamped
with its due time, so the outcome depends on the clock alone. Once active, the plant's
current revision of the item becomes the version's revision.

Like a real ERP it never takes a revision backwards (``erp_order``: 409
``REVISION_OUT_OF_ORDER`` or ``REVISION_NOT_RELEASED``); a replayed idempotency key gets
its first answer. What is not yet effective can be withdrawn (a cancelled ECO's
compensation, ``erp_withdrawals``). What each plant uses, and at which revision, is read in
``erp_plants``; the HTTP API is ``erp_app``.

Bounded: the newest ``RECORD_CAP`` (20,000) BOMs, routings, production versions and
released revisions are kept (``erp_records``); plant revisions are bounded by the world's
size.
"""

from __future__ import annotations

import heapq
import random
from collections import OrderedDict
from collections.abc import Callable
from datetime import date, datetime, timedelta

from contracts.api import (
    BomCreated,
    BomRequest,
    BomWithdrawn,
    ItemRevisionReleased,
    ItemRevisionRequest,
    PlantItems,
    PlantRevisions,
    ProductionVersionRequest,
    ProductionVersionStatus,
    ProductionVersionWithdrawn,
    RoutingCreated,
    RoutingRequest,
    RoutingWithdrawn,
    WorkCenterActivated,
)
from contracts.model import ItemKind
from simulators.clock import Clock
from simulators.erp_order import RevisionOrder
from simulators.erp_plants import PlantItemMasters
from simulators.erp_records import (
    RECORD_CAP,
    SYSTEM,
    BomRecord,
    ErpRecords,
    ProductionVersion,
    bounded,
)
from simulators.erp_withdrawals import Withdrawals
from simulators.faults import FaultInjector
from simulators.ledger import Ledger, caused_by, received_traceparent
from simulators.plm import Plm
from simulators.problems import Problem
from simulators.world import World, plant_today


class Erp:
    """ERP's state."""

    def __init__(
        self,
        world: World,
        plm: Plm,
        ledger: Ledger,
        faults: FaultInjector,
        *,
        clock: Clock,
        cap: int = RECORD_CAP,
    ) -> None:
        self.world = world
        self._plm = plm
        self._ledger = ledger
        self._faults = faults
        self._clock = clock
        self._cap = cap
        self._reject_rng = random.Random(f"{world.seed}:erp:confirmation")
        self._order = RevisionOrder(world, cap=cap)
        self._masters = PlantItemMasters(world)
        self._records = ErpRecords(
            routings=OrderedDict(
                ((r.plant, r.item, r.revision), f"RT-{r.plant}-{r.item}-{r.revision}")
                for r in world.routings.values()
            )
        )
        self._withdrawals = Withdrawals(world, self._records, ledger, clock=clock, cap=cap)
        self._pending: list[tuple[datetime, str]] = []
        self._activation_listeners: list[Callable[[ProductionVersion], None]] = []
        self._active = {(wc.plant, wc.code): wc.active for wc in world.work_centers}
        self._serial = 0

    def _next_id(self, prefix: str) -> str:
        self._serial += 1
        return f"{prefix}-{self._serial:06d}"

    def settle(self, now: datetime | None = None) -> None:
        """Apply every production-version outcome due by ``now``, in due order."""
        now = now or self._clock()
        while self._pending and self._pending[0][0] <= now:
            _, pv_id = heapq.heappop(self._pending)
            pv = self._records.pvs.get(pv_id)
            if pv is None or pv.settled:
                continue
            pv.settled = True
            if pv.outcome == "active":
                old = self._masters.activate(pv.plant, pv.item, pv.revision)
                with caused_by(pv.traceparent):
                    self._ledger.append(
                        SYSTEM,
                        "production_version.activate",
                        None,
                        pv.due,
                        plant=pv.plant,
                        item=pv.item,
                        revision=pv.revision,
                        production_version=pv.id,
                        previous_revision=old,
                    )
                for listener in self._activation_listeners:
                    listener(pv)

    def on_activation(self, listener: Callable[[ProductionVersion], None]) -> None:
        """Call ``listener`` with every production version as it becomes active (MES
        keeps running its routing under a new version whose ECO did not change it)."""
        self._activation_listeners.append(listener)

    def routing_required(self, plant: str, item: str, revision: str) -> bool:
        """Whether an ECO changes the routing of this item revision at this plant."""
        return self._plm.routing_required(plant, item, revision)

    def _plant(self, plant: str) -> None:
        if self.world.plant(plant) is None:
            raise Problem(404, "PLANT_NOT_FOUND", f"no plant {plant}")

    def _item(self, item: str, *, status: int = 422) -> None:
        if item not in self.world.items:
            raise Problem(status, "ITEM_NOT_FOUND", f"no item {item}")

    def require_released(self, item: str, revision: str) -> None:
        """Refuse (409 ``REVISION_NOT_RELEASED``) a revision ERP was never sent."""
        self._order.require_released(item, revision)

    def _in_order(self, record: str, plant: str, item: str, revision: str) -> None:
        current = self._masters.current(plant, item)
        self._order.require_in_order(record, plant, item, revision, current=current)

    def release_revision(
        self, item: str, revision: str, body: ItemRevisionRequest, key: str | None
    ) -> tuple[int, ItemRevisionReleased]:
        """Release an item revision (a repeat is a no-op)."""
        self._item(item, status=404)
        if self._order.release(item, revision):
            self._ledger.append(
                SYSTEM,
                "item_revision.release",
                key,
                self._clock(),
                item=item,
                revision=revision,
                description=body.description,
                compliance=body.compliance.model_dump(mode="json") if body.compliance else None,
            )
        return 200, ItemRevisionReleased(
            item=item, revision=revision, status="released", compliance=body.compliance
        )

    def _today(self, plant: str) -> date:
        where = self.world.plant(plant)
        assert where is not None
        return plant_today(where, self._clock())

    def create_bom(self, plant: str, body: BomRequest, key: str | None) -> tuple[int, BomCreated]:
        """A new BOM version of an assembly at a plant."""
        self._plant(plant)
        self._item(body.assembly)
        if self.world.items[body.assembly].kind is ItemKind.COMPONENT:
            raise Problem(422, "NOT_AN_ASSEMBLY", f"{body.assembly} is a purchased component")
        missing = [line.component for line in body.lines if line.component not in self.world.items]
        if missing:
            raise Problem(422, "COMPONENT_NOT_FOUND", f"unknown components {missing}")
        self._order.require_released(body.assembly, body.revision)
        self._in_order("bom", plant, body.assembly, body.revision)
        self._order.written("bom", plant, body.assembly, body.revision)
        bom = BomRecord(
            self._next_id(f"BOM-{plant}"),
            plant,
            body.assembly,
            body.revision,
            body.valid_from,
            consumes={
                line.component: self._order.newest_release(line.component)
                or self.world.current_revision(line.component)
                for line in body.lines
                if self.world.items[line.component].kind is ItemKind.COMPONENT
            },
        )
        self._records.boms[bom.bom_id] = bom
        bounded(self._records.boms, self._cap)
        self._ledger.append(
            SYSTEM,
            "bom.create",
            key,
            self._clock(),
            plant=plant,
            item=body.assembly,
            revision=body.revision,
            bom_id=bom.bom_id,
            valid_from=body.valid_from.isoformat(),
        )
        return 201, BomCreated(
            bom_id=bom.bom_id,
            plant=plant,
            assembly=bom.assembly,
            revision=bom.revision,
            valid_from=bom.valid_from,
            status=bom.dated_status(self._today(plant)),
        )

    def withdraw_bom(self, plant: str, bom_id: str, key: str | None) -> tuple[int, BomWithdrawn]:
        """Withdraw a BOM version ERP has not made effective yet."""
        self._plant(plant)
        return self._withdrawals.bom(plant, bom_id, key)

    def withdraw_routing(
        self, plant: str, routing_id: str, key: str | None
    ) -> tuple[int, RoutingWithdrawn]:
        """Withdraw a routing no active production version uses yet."""
        self._plant(plant)
        return self._withdrawals.routing(plant, routing_id, key)

    def withdraw_production_version(
        self, plant: str, pv_id: str, key: str | None
    ) -> tuple[int, ProductionVersionWithdrawn]:
        """Withdraw a production version that is still pending: it will never activate."""
        self._plant(plant)
        self.settle()
        return self._withdrawals.production_version(plant, pv_id, key)

    def create_routing(
        self, plant: str, body: RoutingRequest, key: str | None
    ) -> tuple[int, RoutingCreated]:
        """A routing for an item revision at a plant; every work center must be active."""
        self._plant(plant)
        self._item(body.item)
        self._order.require_released(body.item, body.revision)
        self._in_order("routing", plant, body.item, body.revision)
        for op in body.operations:
            active = self._active.get((plant, op.work_center))
            if active is None:
                raise Problem(
                    422,
                    "WORK_CENTER_NOT_FOUND",
                    f"work center {op.work_center} does not exist at {plant}",
                    work_center=op.work_center,
                )
            if not active:
                raise Problem(
                    422,
                    "WORK_CENTER_INACTIVE",
                    f"work center {op.work_center} at {plant} is inactive "
                    f"(operation {op.number}); activate it before retrying",
                    work_center=op.work_center,
                    plant=plant,
                )
        routing_id = self._next_id(f"RT-{plant}")
        self._order.written("routing", plant, body.item, body.revision)
        self._records.routings[(plant, body.item, body.revision)] = routing_id
        bounded(self._records.routings, self._cap)
        self._ledger.append(
            SYSTEM,
            "routing.create",
            key,
            self._clock(),
            plant=plant,
            item=body.item,
            revision=body.revision,
            routing_id=routing_id,
        )
        return 201, RoutingCreated(
            routing_id=routing_id,
            plant=plant,
            item=body.item,
            revision=body.revision,
            operations=len(body.operations),
            status="created",
        )

    def request_production_version(
        self, plant: str, body: ProductionVersionRequest, key: str | None
    ) -> tuple[int, ProductionVersionStatus]:
        """A pending production version, decided now and due after the confirmation delay."""
        self._plant(plant)
        self._item(body.item)
        self._in_order("production_version", plant, body.item, body.revision)
        wanted = (plant, body.item, body.revision)
        if self._plm.routing_required(*wanted) and wanted not in self._records.routings:
            raise Problem(
                409,
                "ROUTING_MISSING",
                f"the ECO changes the routing of {body.item} {body.revision} at {plant}, "
                "and that routing has not been created",
            )
        faults = self._faults.faults.erp
        now = self._clock()
        rejected = self._reject_rng.random() < faults.confirmation_reject_rate
        pv = ProductionVersion(
            id=self._next_id("PV"),
            plant=plant,
            item=body.item,
            revision=body.revision,
            requested_at=now,
            due=now + timedelta(seconds=faults.confirmation_delay_seconds),
            outcome="rejected" if rejected else "active",
            reason="Capacity check failed at the plant" if rejected else None,
            traceparent=received_traceparent.get(),
        )
        self._order.written("production_version", plant, body.item, body.revision)
        self._records.pvs[pv.id] = pv
        bounded(self._records.pvs, self._cap)
        heapq.heappush(self._pending, (pv.due, pv.id))
        self._ledger.append(
            SYSTEM,
            "production_version.request",
            key,
            now,
            plant=plant,
            item=body.item,
            revision=body.revision,
            production_version=pv.id,
        )
        self.settle(now)
        return 202, pv.answer()

    def production_version(self, pv_id: str) -> ProductionVersion | None:
        """A production version (after settling what is due)."""
        self.settle()
        return self._records.pvs.get(pv_id)

    def revisions(self, plant: str) -> PlantRevisions:
        """The revision the plant uses of every item in its item master."""
        self._plant(plant)
        self.settle()
        return self._masters.revisions(plant, self._today(plant), self._records.boms.values())

    def items(self, plant: str) -> PlantItems:
        """The plant's item master: what it builds and what its BOMs consume."""
        self._plant(plant)
        self.settle()
        return self._masters.items(plant, self._today(plant), self._records.boms.values())

    def activate_work_center(
        self, plant: str, code: str, key: str | None
    ) -> tuple[int, WorkCenterActivated]:
        """Activate a work center (what a planner does before a blocked routing is retried)."""
        self._plant(plant)
        active = self._active.get((plant, code))
        if active is None:
            raise Problem(404, "WORK_CENTER_NOT_FOUND", f"no work center {code} at {plant}")
        if not active:
            self._active[(plant, code)] = True
            self._ledger.append(
                SYSTEM, "work_center.activate", key, self._clock(), plant=plant, work_center=code
            )
        return 200, WorkCenterActivated(plant=plant, work_center=code, active=True)

    def work_center_active(self, plant: str, code: str) -> bool | None:
        """Whether a work center is active (``None`` if it does not exist)."""
        return self._active.get((plant, code))
