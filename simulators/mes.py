"""The reference MES: takes a routing only for a production version ERP has activated.

That ordering rule is the point of this system: a routing for a pending, rejected or
unknown production version is refused with 409 ``PRODUCTION_VERSION_NOT_ACTIVE``. On
success the MES's current revision of the item at the plant becomes the routing's.

MES runs only what a plant builds with a routing (no purchased component). When ERP
activates a production version whose ECO did not change the item's routing at the plant,
MES keeps running the routing it has, now for the new revision; where the ECO changed it,
MES runs the new revision only once it has received the new routing.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from fastapi import FastAPI
from fastapi.responses import Response

from contracts.api import MesRoutingReleased, MesRoutingRequest, PlantRevisions
from contracts.model import revision_key
from simulators.clock import Clock
from simulators.erp import Erp
from simulators.erp_records import ProductionVersion
from simulators.idempotency import IdempotencyKey, IdempotencyStore
from simulators.ledger import Ledger
from simulators.problems import Problem, install_problem_handlers
from simulators.world import World

RECORD_CAP = 20_000
SYSTEM = "mes"


class Mes:
    """MES's state."""

    def __init__(
        self, world: World, erp: Erp, ledger: Ledger, *, clock: Clock, cap: int = RECORD_CAP
    ) -> None:
        self.world = world
        self._erp = erp
        self._ledger = ledger
        self._clock = clock
        self._cap = cap
        self._revisions = {
            p: {item: rev for item, rev in items.items() if (p, item) in world.routings}
            for p, items in world.mes_revisions.items()
        }
        self._routings: OrderedDict[str, tuple[str, str, str]] = OrderedDict()
        self._serial = 0
        erp.on_activation(self._version_active)

    def _version_active(self, pv: ProductionVersion) -> None:
        if self._erp.routing_required(pv.plant, pv.item, pv.revision):
            return
        running = self._revisions.get(pv.plant, {}).get(pv.item)
        if running is not None and revision_key(pv.revision) > revision_key(running):
            self._revisions[pv.plant][pv.item] = pv.revision

    def _plant(self, plant: str) -> None:
        if self.world.plant(plant) is None:
            raise Problem(404, "PLANT_NOT_FOUND", f"no plant {plant}")

    def create_routing(
        self, plant: str, body: MesRoutingRequest, key: str | None
    ) -> tuple[int, MesRoutingReleased]:
        """Release a routing, if ERP has the production version active for it."""
        self._plant(plant)
        if body.item not in self.world.items:
            raise Problem(422, "ITEM_NOT_FOUND", f"no item {body.item}")
        pv = self._erp.production_version(body.production_version)
        if pv is None or pv.status != "active":
            state = "unknown to ERP" if pv is None else pv.status
            raise Problem(
                409,
                "PRODUCTION_VERSION_NOT_ACTIVE",
                f"production version {body.production_version} is {state}",
                production_version=body.production_version,
            )
        if (pv.plant, pv.item, pv.revision) != (plant, body.item, body.revision):
            raise Problem(
                409,
                "PRODUCTION_VERSION_MISMATCH",
                f"production version {pv.id} is for {pv.item} {pv.revision} at {pv.plant}",
                production_version=pv.id,
            )
        for op in body.operations:
            if self._erp.work_center_active(plant, op.work_center) is None:
                raise Problem(
                    422,
                    "WORK_CENTER_NOT_FOUND",
                    f"work center {op.work_center} does not exist at {plant}",
                    work_center=op.work_center,
                )
        self._serial += 1
        routing_id = f"MRT-{plant}-{self._serial:06d}"
        self._routings[routing_id] = (plant, body.item, body.revision)
        while len(self._routings) > self._cap:
            self._routings.popitem(last=False)
        old = self._revisions.setdefault(plant, {}).get(body.item)
        self._revisions[plant][body.item] = body.revision
        self._ledger.append(
            SYSTEM,
            "routing.release",
            key,
            self._clock(),
            plant=plant,
            item=body.item,
            revision=body.revision,
            routing_id=routing_id,
            production_version=pv.id,
            previous_revision=old,
        )
        return 201, MesRoutingReleased(
            routing_id=routing_id,
            plant=plant,
            item=body.item,
            revision=body.revision,
            production_version=pv.id,
            status="released",
        )

    def revisions(self, plant: str) -> PlantRevisions:
        """The revision MES runs of every item at the plant."""
        self._plant(plant)
        revisions = dict(sorted(self._revisions.get(plant, {}).items()))
        return PlantRevisions(plant=plant, revisions=revisions)


def create_mes_app(
    mes: Mes, idempotency: IdempotencyStore, *, advance: Callable[[], None]
) -> FastAPI:
    """The MES sub-application; ``advance()`` brings every system up to now first."""
    app = FastAPI(
        title="Reference MES",
        version="1.0",
        description="Shop-floor routings, released only under an active production version.",
    )
    install_problem_handlers(app)

    @app.post(
        "/plants/{plant}/routings",
        status_code=201,
        response_model=MesRoutingReleased,
        summary="Release a routing",
    )
    async def post_routing(
        plant: str, body: MesRoutingRequest, key: IdempotencyKey = None
    ) -> Response:
        advance()
        return idempotency.run(SYSTEM, key, lambda: mes.create_routing(plant, body, key))

    @app.get(
        "/plants/{plant}/revisions",
        response_model=PlantRevisions,
        summary="The revision MES runs of every item",
    )
    async def get_revisions(plant: str) -> PlantRevisions:
        advance()
        return mes.revisions(plant)

    return app
