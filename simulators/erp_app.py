"""The reference ERP's HTTP API: a FastAPI sub-application over ``Erp``.

Every write runs through the idempotency store (a replayed key gets its first answer) after
``advance()`` has brought every system up to now; every answer is a ``contracts.api``
model named in ``response_model``.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from fastapi.responses import Response
from pydantic import BaseModel

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
from contracts.model import Revision
from simulators.erp import Erp
from simulators.erp_records import SYSTEM
from simulators.idempotency import IdempotencyKey, IdempotencyStore
from simulators.problems import Problem, install_problem_handlers


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
