"""The reference ERP: item revisions, effective-dated BOMs, routings, production versions.

A production version is answered 202 ``pending`` and becomes ``active`` (or ``rejected``)
``confirmation_delay_seconds`` after the request. Nothing runs in the background for it:
``settle`` (called before every request) applies every confirmation due by now, stamped
with its due time, so the outcome depends on the clock alone. Once active, the plant's
current revision of the item becomes the version's revision.

What a plant uses is its item master (``GET /plants/{plant}/items``): the items it builds
and the components its BOMs contain, and only those pairs have a plant revision
(``GET /plants/{plant}/revisions``). A built item's revision is the one its active
production version uses. A purchased component's is the one the plant's effective BOMs
consume: a BOM consumes the newest released revision of each component when it is written,
and it counts from its ``valid_from`` (the plant's date) until withdrawn.

Like a real ERP it never takes a revision backwards: releasing a revision older than the
item's newest released one, or writing a BOM, routing or production version for a revision
older than the plant already has for the item (its current revision, or a newer one of the
same kind of record), is refused with 409 ``REVISION_OUT_OF_ORDER``; a BOM or routing for a
revision never released is refused with 409 ``REVISION_NOT_RELEASED``. A repeat of the same
revision is not older, and a replayed idempotency key gets its first answer.

What is not yet effective can be withdrawn (a cancelled ECO's compensation): a BOM version
before its ``valid_from``, a routing no active production version uses, a production
version still pending. Anything already effective is refused with 409 (``ALREADY_EFFECTIVE``,
``BOM_ALREADY_EFFECTIVE`` for a BOM version), the problem naming ``effective_since``.

Bounded: the newest ``RECORD_CAP`` (20,000) BOMs, routings, production versions and
released revisions are kept; plant revisions are bounded by the world's size.
"""

from __future__ import annotations

import heapq
import random
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from fastapi.responses import Response
from pydantic import BaseModel

from contracts.api import (
    BomCreated,
    BomRequest,
    BomWithdrawn,
    ItemRevisionReleased,
    ItemRevisionRequest,
    PlantItem,
    PlantItems,
    PlantRevisions,
    ProductionVersionRequest,
    ProductionVersionState,
    ProductionVersionStatus,
    ProductionVersionWithdrawn,
    RoutingCreated,
    RoutingRequest,
    RoutingWithdrawn,
    WorkCenterActivated,
)
from contracts.model import ItemKind, Revision, revision_key
from simulators.clock import Clock
from simulators.faults import FaultInjector
from simulators.idempotency import IdempotencyKey, IdempotencyStore
from simulators.ledger import Ledger
from simulators.plm import Plm
from simulators.problems import Problem, install_problem_handlers
from simulators.world import World, plant_today

RECORD_CAP = 20_000
SYSTEM = "erp"


@dataclass(slots=True)
class BomRecord:
    """One BOM version."""

    bom_id: str
    plant: str
    assembly: str
    revision: str
    valid_from: date
    withdrawn: bool = False
    consumes: dict[str, str] = field(default_factory=dict)
    """Component -> the revision this BOM consumes (the newest released when written)."""


@dataclass(slots=True)
class ProductionVersion:
    """One production version and its decided (but perhaps not yet due) outcome."""

    id: str
    plant: str
    item: str
    revision: str
    requested_at: datetime
    due: datetime
    outcome: Literal["active", "rejected", "withdrawn"]
    reason: str | None
    settled: bool = False

    @property
    def status(self) -> ProductionVersionState:
        """``pending`` until settled, then ``active`` or ``rejected``."""
        return self.outcome if self.settled else "pending"

    def answer(self) -> ProductionVersionStatus:
        """The production version as the API shows it."""
        active = self.settled and self.outcome == "active"
        return ProductionVersionStatus(
            id=self.id,
            status=self.status,
            plant=self.plant,
            item=self.item,
            revision=self.revision,
            requested_at=self.requested_at,
            activated_at=self.due if active else None,
            reason=self.reason if self.settled else None,
        )


def _bounded(records: OrderedDict[Any, Any], cap: int) -> None:
    while len(records) > cap:
        records.popitem(last=False)


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
        self._released: OrderedDict[tuple[str, str], None] = OrderedDict(
            ((r.item, r.revision), None) for history in world.revisions.values() for r in history
        )
        # Not capped: one entry per item, and per (kind of record, plant, item).
        self._newest_release = {
            item: history[-1].revision for item, history in world.revisions.items() if history
        }
        self._newest_written: dict[tuple[str, str, str], str] = {}
        self._boms: OrderedDict[str, BomRecord] = OrderedDict()
        self._routings: OrderedDict[tuple[str, str, str], str] = OrderedDict(
            ((r.plant, r.item, r.revision), f"RT-{r.plant}-{r.item}-{r.revision}")
            for r in world.routings.values()
        )
        self._pvs: OrderedDict[str, ProductionVersion] = OrderedDict()
        self._withdrawn_routings: OrderedDict[str, tuple[str, str, str]] = OrderedDict()
        self._pending: list[tuple[datetime, str]] = []
        self._revisions = {p: dict(items) for p, items in world.plant_revisions.items()}
        masters = {p: world.item_master(p) for p in world.plant_codes}
        # What each plant builds; grows when a production version activates elsewhere.
        self._made = {
            p: {i for i in master if world.items[i].kind is not ItemKind.COMPONENT}
            for p, master in masters.items()
        }
        # The components each plant's world BOMs consume, at the plant's revision of them.
        self._consumed = {
            p: {i: self._revisions[p].get(i) or world.current_revision(i) for i in master}
            for p, master in masters.items()
        }
        for p, made in self._made.items():
            for item in made:
                self._consumed[p].pop(item, None)
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
            pv = self._pvs.get(pv_id)
            if pv is None or pv.settled:
                continue
            pv.settled = True
            if pv.outcome == "active":
                old = self._revisions.setdefault(pv.plant, {}).get(pv.item)
                self._revisions[pv.plant][pv.item] = pv.revision
                self._made.setdefault(pv.plant, set()).add(pv.item)
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

    def _released_revision(self, item: str, revision: str) -> None:
        """Refuse a record for an item revision ERP was never sent."""
        if (item, revision) not in self._released and self._newest_release.get(item) != revision:
            raise Problem(
                409,
                "REVISION_NOT_RELEASED",
                f"revision {revision} of {item} has not been released",
                item=item,
                revision=revision,
            )

    def _in_order(self, record: str, plant: str, item: str, revision: str) -> None:
        """Refuse a ``record`` (bom, routing, production_version) for a revision older than
        the plant already has for the item."""
        has = [
            r
            for r in (
                self._revisions.get(plant, {}).get(item),
                self._newest_written.get((record, plant, item)),
            )
            if r is not None
        ]
        newest = max(has, key=revision_key, default=None)
        if newest is not None and revision_key(revision) < revision_key(newest):
            raise Problem(
                409,
                "REVISION_OUT_OF_ORDER",
                f"{plant} already has revision {newest} of {item}; "
                f"a {record.replace('_', ' ')} for the older {revision} is refused",
                plant=plant,
                item=item,
                revision=revision,
                current_revision=newest,
            )

    def _written(self, record: str, plant: str, item: str, revision: str) -> None:
        key = (record, plant, item)
        old = self._newest_written.get(key)
        if old is None or revision_key(revision) > revision_key(old):
            self._newest_written[key] = revision

    def release_revision(
        self, item: str, revision: str, body: ItemRevisionRequest, key: str | None
    ) -> tuple[int, ItemRevisionReleased]:
        """Release an item revision (a repeat is a no-op)."""
        self._item(item, status=404)
        newest = self._newest_release.get(item)
        if newest is not None and revision_key(revision) < revision_key(newest):
            raise Problem(
                409,
                "REVISION_OUT_OF_ORDER",
                f"{item} is released at {newest}; the older revision {revision} is refused",
                item=item,
                revision=revision,
                current_revision=newest,
            )
        if (item, revision) not in self._released:
            self._newest_release[item] = revision
            self._released[(item, revision)] = None
            _bounded(self._released, self._cap)
            self._ledger.append(
                SYSTEM,
                "item_revision.release",
                key,
                self._clock(),
                item=item,
                revision=revision,
                description=body.description,
            )
        return 200, ItemRevisionReleased(item=item, revision=revision, status="released")

    def _dated_status(self, bom: BomRecord) -> Literal["scheduled", "effective"]:
        plant = self.world.plant(bom.plant)
        assert plant is not None
        return "effective" if bom.valid_from <= plant_today(plant, self._clock()) else "scheduled"

    def _bom_status(self, bom: BomRecord) -> Literal["scheduled", "effective", "withdrawn"]:
        return "withdrawn" if bom.withdrawn else self._dated_status(bom)

    def create_bom(self, plant: str, body: BomRequest, key: str | None) -> tuple[int, BomCreated]:
        """A new BOM version of an assembly at a plant."""
        self._plant(plant)
        self._item(body.assembly)
        if self.world.items[body.assembly].kind is ItemKind.COMPONENT:
            raise Problem(422, "NOT_AN_ASSEMBLY", f"{body.assembly} is a purchased component")
        missing = [line.component for line in body.lines if line.component not in self.world.items]
        if missing:
            raise Problem(422, "COMPONENT_NOT_FOUND", f"unknown components {missing}")
        self._released_revision(body.assembly, body.revision)
        self._in_order("bom", plant, body.assembly, body.revision)
        self._written("bom", plant, body.assembly, body.revision)
        bom = BomRecord(
            self._next_id(f"BOM-{plant}"),
            plant,
            body.assembly,
            body.revision,
            body.valid_from,
            consumes={
                line.component: self._newest_release.get(line.component)
                or self.world.current_revision(line.component)
                for line in body.lines
                if self.world.items[line.component].kind is ItemKind.COMPONENT
            },
        )
        self._boms[bom.bom_id] = bom
        _bounded(self._boms, self._cap)
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
            status=self._dated_status(bom),
        )

    def withdraw_bom(self, plant: str, bom_id: str, key: str | None) -> tuple[int, BomWithdrawn]:
        """Withdraw a BOM version ERP has not made effective yet."""
        self._plant(plant)
        bom = self._boms.get(bom_id)
        if bom is None or bom.plant != plant:
            raise Problem(404, "BOM_NOT_FOUND", f"no BOM {bom_id} at {plant}")
        status = self._bom_status(bom)
        if status == "effective":
            raise Problem(
                409,
                "BOM_ALREADY_EFFECTIVE",
                f"BOM {bom_id} has been effective at {plant} since {bom.valid_from}",
                effective_since=self._effective_since(bom).isoformat(),
            )
        if status != "withdrawn":
            bom.withdrawn = True
            self._ledger.append(
                SYSTEM,
                "bom.withdraw",
                key,
                self._clock(),
                plant=plant,
                item=bom.assembly,
                revision=bom.revision,
                bom_id=bom_id,
            )
        return 200, BomWithdrawn(bom_id=bom_id, status="withdrawn")

    def _effective_since(self, bom: BomRecord) -> datetime:
        """The moment a BOM version became effective: its ``valid_from`` at the plant."""
        plant = self.world.plant(bom.plant)
        assert plant is not None
        midnight = datetime.combine(
            bom.valid_from, datetime.min.time(), tzinfo=ZoneInfo(plant.timezone)
        )
        return midnight.astimezone(UTC)

    def _active_version(self, plant: str, item: str, revision: str) -> ProductionVersion | None:
        return next(
            (
                pv
                for pv in self._pvs.values()
                if (pv.plant, pv.item, pv.revision) == (plant, item, revision)
                and pv.status == "active"
            ),
            None,
        )

    def withdraw_routing(
        self, plant: str, routing_id: str, key: str | None
    ) -> tuple[int, RoutingWithdrawn]:
        """Withdraw a routing no active production version uses yet."""
        self._plant(plant)
        withdrawn = self._withdrawn_routings.get(routing_id)
        if withdrawn is not None and withdrawn[0] == plant:
            return 200, RoutingWithdrawn(routing_id=routing_id, status="withdrawn")
        target = next((k for k, v in self._routings.items() if v == routing_id), None)
        if target is None or target[0] != plant:
            raise Problem(404, "ROUTING_NOT_FOUND", f"no routing {routing_id} at {plant}")
        _, item, revision = target
        active = self._active_version(*target)
        if active is not None:
            raise Problem(
                409,
                "ALREADY_EFFECTIVE",
                f"routing {routing_id} of {item} {revision} is in use at {plant}: production "
                f"version {active.id} has been active since {active.due.isoformat()}",
                effective_since=active.due.isoformat(),
                production_version=active.id,
            )
        del self._routings[target]
        self._withdrawn_routings[routing_id] = target
        _bounded(self._withdrawn_routings, self._cap)
        self._ledger.append(
            SYSTEM,
            "routing.withdraw",
            key,
            self._clock(),
            plant=plant,
            item=item,
            revision=revision,
            routing_id=routing_id,
        )
        return 200, RoutingWithdrawn(routing_id=routing_id, status="withdrawn")

    def withdraw_production_version(
        self, plant: str, pv_id: str, key: str | None
    ) -> tuple[int, ProductionVersionWithdrawn]:
        """Withdraw a production version that is still pending: it will never activate."""
        self._plant(plant)
        self.settle()
        pv = self._pvs.get(pv_id)
        if pv is None or pv.plant != plant:
            raise Problem(
                404, "PRODUCTION_VERSION_NOT_FOUND", f"no production version {pv_id} at {plant}"
            )
        if pv.status == "active":
            raise Problem(
                409,
                "ALREADY_EFFECTIVE",
                f"production version {pv_id} of {pv.item} {pv.revision} has been active at "
                f"{plant} since {pv.due.isoformat()}",
                effective_since=pv.due.isoformat(),
            )
        if pv.status == "rejected":
            raise Problem(
                409,
                "PRODUCTION_VERSION_REJECTED",
                f"production version {pv_id} was rejected: there is nothing to withdraw",
            )
        if pv.status == "pending":
            pv.settled = True
            pv.outcome = "withdrawn"
            pv.reason = "withdrawn before it became active"
            self._ledger.append(
                SYSTEM,
                "production_version.withdraw",
                key,
                self._clock(),
                plant=plant,
                item=pv.item,
                revision=pv.revision,
                production_version=pv_id,
            )
        return 200, ProductionVersionWithdrawn(id=pv_id, status="withdrawn")

    def create_routing(
        self, plant: str, body: RoutingRequest, key: str | None
    ) -> tuple[int, RoutingCreated]:
        """A routing for an item revision at a plant; every work center must be active."""
        self._plant(plant)
        self._item(body.item)
        self._released_revision(body.item, body.revision)
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
        self._written("routing", plant, body.item, body.revision)
        self._routings[(plant, body.item, body.revision)] = routing_id
        _bounded(self._routings, self._cap)
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
        if self._plm.routing_required(*wanted) and wanted not in self._routings:
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
        )
        self._written("production_version", plant, body.item, body.revision)
        self._pvs[pv.id] = pv
        _bounded(self._pvs, self._cap)
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
        return self._pvs.get(pv_id)

    def _master(self, plant: str) -> dict[str, tuple[str, Literal["made", "bom"]]]:
        """The plant's item master: item -> (the revision ERP uses there, why it is used)."""
        self.settle()
        where = self.world.plant(plant)
        assert where is not None
        today = plant_today(where, self._clock())
        consumed = dict(self._consumed.get(plant, {}))
        for bom in self._boms.values():
            if bom.plant != plant or bom.withdrawn or bom.valid_from > today:
                continue
            for component, revision in bom.consumes.items():
                old = consumed.get(component)
                if old is None or revision_key(revision) > revision_key(old):
                    consumed[component] = revision
        revisions = self._revisions.get(plant, {})
        master: dict[str, tuple[str, Literal["made", "bom"]]] = {
            item: (revision, "bom") for item, revision in consumed.items()
        }
        for item in self._made.get(plant, ()):
            master[item] = (revisions.get(item) or self.world.current_revision(item), "made")
        return dict(sorted(master.items()))

    def revisions(self, plant: str) -> PlantRevisions:
        """The revision the plant uses of every item in its item master."""
        self._plant(plant)
        master = self._master(plant)
        return PlantRevisions(plant=plant, revisions={i: r for i, (r, _) in master.items()})

    def items(self, plant: str) -> PlantItems:
        """The plant's item master: what it builds and what its BOMs consume."""
        self._plant(plant)
        return PlantItems(
            plant=plant,
            items=[
                PlantItem(
                    item=item, kind=self.world.items[item].kind, revision=revision, source=source
                )
                for item, (revision, source) in self._master(plant).items()
            ],
        )

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


def create_erp_app(
    erp: Erp, idempotency: IdempotencyStore, *, advance: Callable[[], None]
) -> FastAPI:
    """The ERP sub-application; ``advance()`` brings every system up to now first."""
    app = FastAPI(
        title="Reference ERP",
        version="1.0",
        description="Item revisions, BOMs, routings and production versions per plant.",
    )
    install_problem_handlers(app)

    def run(key: str | None, apply: Callable[[], tuple[int, BaseModel]]) -> Response:
        advance()
        return idempotency.run(SYSTEM, key, apply)

    @app.put(
        "/items/{item}/revisions/{revision}",
        response_model=ItemRevisionReleased,
        summary="Release an item revision",
    )
    async def put_revision(
        item: str, revision: Revision, body: ItemRevisionRequest, key: IdempotencyKey = None
    ) -> Response:
        return run(key, lambda: erp.release_revision(item, revision, body, key))

    @app.post(
        "/plants/{plant}/boms",
        status_code=201,
        response_model=BomCreated,
        summary="Create a BOM version",
    )
    async def post_bom(plant: str, body: BomRequest, key: IdempotencyKey = None) -> Response:
        return run(key, lambda: erp.create_bom(plant, body, key))

    @app.delete(
        "/plants/{plant}/boms/{bom_id}",
        response_model=BomWithdrawn,
        summary="Withdraw a BOM not yet effective",
    )
    async def delete_bom(plant: str, bom_id: str, key: IdempotencyKey = None) -> Response:
        return run(key, lambda: erp.withdraw_bom(plant, bom_id, key))

    @app.delete(
        "/plants/{plant}/routings/{routing_id}",
        response_model=RoutingWithdrawn,
        summary="Withdraw a routing no active production version uses",
    )
    async def delete_routing(plant: str, routing_id: str, key: IdempotencyKey = None) -> Response:
        return run(key, lambda: erp.withdraw_routing(plant, routing_id, key))

    @app.delete(
        "/plants/{plant}/production-versions/{pv_id}",
        response_model=ProductionVersionWithdrawn,
        summary="Withdraw a production version still pending",
    )
    async def delete_production_version(
        plant: str, pv_id: str, key: IdempotencyKey = None
    ) -> Response:
        return run(key, lambda: erp.withdraw_production_version(plant, pv_id, key))

    @app.post(
        "/plants/{plant}/routings",
        status_code=201,
        response_model=RoutingCreated,
        summary="Create a routing",
    )
    async def post_routing(
        plant: str, body: RoutingRequest, key: IdempotencyKey = None
    ) -> Response:
        return run(key, lambda: erp.create_routing(plant, body, key))

    @app.post(
        "/plants/{plant}/production-versions",
        status_code=202,
        response_model=ProductionVersionStatus,
        summary="Request a production version (confirmed asynchronously)",
    )
    async def post_production_version(
        plant: str, body: ProductionVersionRequest, key: IdempotencyKey = None
    ) -> Response:
        return run(key, lambda: erp.request_production_version(plant, body, key))

    @app.get(
        "/production-versions/{pv_id}",
        response_model=ProductionVersionStatus,
        summary="A production version's status",
    )
    async def get_production_version(pv_id: str) -> ProductionVersionStatus:
        advance()
        pv = erp.production_version(pv_id)
        if pv is None:
            raise Problem(404, "PRODUCTION_VERSION_NOT_FOUND", f"no production version {pv_id}")
        return pv.answer()

    @app.get(
        "/plants/{plant}/revisions",
        response_model=PlantRevisions,
        summary="The revision the plant uses of every item in its item master",
    )
    async def get_revisions(plant: str) -> PlantRevisions:
        advance()
        return erp.revisions(plant)

    @app.get(
        "/plants/{plant}/items",
        response_model=PlantItems,
        summary="The plant's item master: the items it builds and its BOMs consume",
    )
    async def get_items(plant: str) -> PlantItems:
        advance()
        return erp.items(plant)

    @app.post(
        "/plants/{plant}/work-centers/{code}/activate",
        response_model=WorkCenterActivated,
        summary="Activate a work center",
    )
    async def activate(plant: str, code: str, key: IdempotencyKey = None) -> Response:
        return run(key, lambda: erp.activate_work_center(plant, code, key))

    return app
