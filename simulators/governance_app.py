"""The HTTP routes of procurement governance, added to the procurement, ERP and admin
sub-applications (so each system's fault middleware covers its own).

procurement: approved supplier lists, qualifications, contracts, the supplier master;
ERP: sourcing modes, purchasing info records, open purchase and production orders, its
supplier master; admin: an operator's approval or rejection of a qualification. The routes
and their errors are listed in ``contracts.api`` (procurement governance).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from fastapi import FastAPI
from fastapi.responses import Response

from contracts.api import (
    ApprovedSupplierList,
    ContractList,
    DecisionRequest,
    ProductionOrderList,
    PurchaseOrderList,
    PurchasingInfoRecord,
    PurchasingInfoRecordList,
    PurchasingInfoRecordRequest,
    Qualification,
    QualificationList,
    QualificationRequest,
    QualificationState,
    SourcingMode,
    SourcingModes,
    SupplierMaster,
    SupplierRecord,
)
from contracts.model import ItemKind
from simulators.erp_orders import Orders
from simulators.erp_purchasing import Purchasing
from simulators.erp_records import SYSTEM as ERP
from simulators.idempotency import IdempotencyKey, IdempotencyStore
from simulators.problems import Problem
from simulators.qualifications import SYSTEM as PROCUREMENT
from simulators.qualifications import Qualifications
from simulators.sourcing import Sourcing

Advance = Callable[[], None]


def add_procurement_routes(
    app: FastAPI,
    qualifications: Qualifications,
    sourcing: Sourcing,
    idempotency: IdempotencyStore,
    *,
    advance: Advance,
) -> None:
    """Approved lists, qualifications, contracts and the supplier master."""
    world = qualifications.world

    @app.get(
        "/components/{component}/approved-suppliers",
        response_model=ApprovedSupplierList,
        summary="The approved manufacturer / supplier list of a purchased component",
    )
    async def approved(component: str) -> ApprovedSupplierList:
        item = world.items.get(component)
        if item is None or item.kind is not ItemKind.COMPONENT:
            raise Problem(404, "COMPONENT_NOT_FOUND", f"no purchased component {component}")
        return ApprovedSupplierList(
            component=component, suppliers=list(sourcing.approved.get(component, ()))
        )

    @app.get(
        "/qualifications",
        response_model=QualificationList,
        summary="Qualifications by supplier, component, revision and status",
    )
    async def list_qualifications(
        supplier: str | None = None,
        component: str | None = None,
        revision: str | None = None,
        status: QualificationState | None = None,
    ) -> QualificationList:
        advance()
        items = qualifications.listing(
            supplier=supplier, component=component, revision=revision, status=status
        )
        return QualificationList(items=items)

    @app.get("/qualifications/{qid}", response_model=Qualification, summary="One qualification")
    async def get_qualification(qid: str) -> Qualification:
        advance()
        found = qualifications.get(qid)
        if found is None:
            raise Problem(404, "QUALIFICATION_NOT_FOUND", f"no qualification {qid}")
        return found

    @app.post(
        "/qualifications",
        status_code=201,
        response_model=Qualification,
        summary="Request a supplier's qualification for a component revision",
    )
    async def post_qualification(
        body: QualificationRequest, key: IdempotencyKey = None
    ) -> Response:
        advance()
        return idempotency.run(PROCUREMENT, key, lambda: qualifications.request(body, key))

    @app.get(
        "/contracts", response_model=ContractList, summary="Supply contracts, optionally valid on"
    )
    async def list_contracts(
        supplier: str | None = None, component: str | None = None, on: date | None = None
    ) -> ContractList:
        items = [
            c
            for c in sourcing.contracts
            if (supplier is None or c.supplier == supplier)
            and (component is None or c.component == component)
            and (on is None or (c.valid_from <= on and (c.valid_to is None or on <= c.valid_to)))
        ]
        return ContractList(items=items)

    @app.get("/suppliers", response_model=SupplierMaster, summary="Procurement's supplier master")
    async def suppliers() -> SupplierMaster:
        return SupplierMaster(system="procurement", items=list(sourcing.procurement_suppliers))

    @app.get("/suppliers/{code}", response_model=SupplierRecord, summary="One supplier record")
    async def supplier(code: str) -> SupplierRecord:
        for record in sourcing.procurement_suppliers:
            if record.code == code:
                return record
        raise Problem(404, "SUPPLIER_NOT_FOUND", f"no supplier {code}")


def add_erp_routes(
    app: FastAPI,
    purchasing: Purchasing,
    orders: Orders,
    idempotency: IdempotencyStore,
    *,
    advance: Advance,
) -> None:
    """Sourcing modes, purchasing info records, open orders and ERP's supplier master."""

    @app.get("/sourcing-modes", response_model=SourcingModes, summary="Every plant's sourcing")
    async def modes() -> SourcingModes:
        return purchasing.modes()

    @app.get(
        "/plants/{plant}/sourcing-mode",
        response_model=SourcingMode,
        summary="Whether a plant buys locally or centrally",
    )
    async def mode(plant: str) -> SourcingMode:
        return purchasing.mode(plant)

    @app.put(
        "/purchasing-info-records",
        response_model=PurchasingInfoRecord,
        summary="Create (201) or update (200) a purchasing info record",
    )
    async def put_record(body: PurchasingInfoRecordRequest, key: IdempotencyKey = None) -> Response:
        advance()
        return idempotency.run(ERP, key, lambda: purchasing.put(body, key))

    @app.get(
        "/purchasing-info-records",
        response_model=PurchasingInfoRecordList,
        summary="Purchasing info records by supplier, component, revision, plant and status",
    )
    async def list_records(
        supplier: str | None = None,
        component: str | None = None,
        revision: str | None = None,
        plant: str | None = None,
        status: str | None = None,
    ) -> PurchasingInfoRecordList:
        advance()
        items = purchasing.listing(
            supplier=supplier, component=component, revision=revision, plant=plant, status=status
        )
        return PurchasingInfoRecordList(items=items)

    @app.get(
        "/purchasing-info-records/{rid}",
        response_model=PurchasingInfoRecord,
        summary="One purchasing info record",
    )
    async def get_record(rid: str) -> PurchasingInfoRecord:
        record = purchasing.record(rid)
        if record is None:
            raise Problem(404, "INFO_RECORD_NOT_FOUND", f"no purchasing info record {rid}")
        return record

    @app.post(
        "/purchasing-info-records/{rid}/activate",
        response_model=PurchasingInfoRecord,
        summary="Activate a purchasing info record (its supplier must be qualified)",
    )
    async def activate(rid: str, key: IdempotencyKey = None) -> Response:
        advance()
        return idempotency.run(ERP, key, lambda: purchasing.activate(rid, key))

    @app.get(
        "/purchase-orders",
        response_model=PurchaseOrderList,
        summary="Open purchase orders by plant, supplier, component and revision",
    )
    async def purchase_orders(
        plant: str | None = None,
        supplier: str | None = None,
        component: str | None = None,
        revision: str | None = None,
    ) -> PurchaseOrderList:
        advance()
        return orders.purchase_orders(
            plant=plant, supplier=supplier, component=component, revision=revision
        )

    @app.get(
        "/production-orders",
        response_model=ProductionOrderList,
        summary="Open production orders by plant, item, revision and start",
    )
    async def production_orders(
        plant: str | None = None,
        item: str | None = None,
        revision: str | None = None,
        starts_after: date | None = None,
    ) -> ProductionOrderList:
        advance()
        return orders.production_orders(
            plant=plant, item=item, revision=revision, starts_after=starts_after
        )

    @app.get("/suppliers", response_model=SupplierMaster, summary="ERP's supplier master")
    async def suppliers() -> SupplierMaster:
        return purchasing.suppliers()


def add_admin_routes(app: FastAPI, qualifications: Qualifications, *, advance: Advance) -> None:
    """An operator decides a qualification now."""

    @app.post(
        "/qualifications/{qid}/approve",
        response_model=Qualification,
        summary="Approve a pending qualification now",
    )
    async def approve(qid: str, body: DecisionRequest) -> Qualification:
        advance()
        return qualifications.decide(qid, "qualified", body)

    @app.post(
        "/qualifications/{qid}/reject",
        response_model=Qualification,
        summary="Reject a pending qualification now",
    )
    async def reject(qid: str, body: DecisionRequest) -> Qualification:
        advance()
        return qualifications.decide(qid, "rejected", body)
