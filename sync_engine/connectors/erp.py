"""ERP: item revisions, effective-dated BOMs, routings and production versions, and the
withdrawal of those not yet effective; purchasing info records, sourcing modes, open
purchase and production orders and the supplier master."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from contracts.api import (
    BomCreated,
    BomRequest,
    BomWithdrawn,
    ItemRevisionReleased,
    ItemRevisionRequest,
    PlantRevisions,
    ProductionOrderList,
    ProductionVersionRequest,
    ProductionVersionStatus,
    ProductionVersionWithdrawn,
    PurchaseOrderList,
    PurchasingInfoRecord,
    PurchasingInfoRecordRequest,
    RoutingCreated,
    RoutingRequest,
    RoutingWithdrawn,
    SourcingModes,
    SupplierMaster,
)
from contracts.steps import System
from sync_engine.connectors.base import Connector


class ErpConnector(Connector):
    """Calls to ERP; writes carry the step's idempotency key."""

    system = System.ERP

    async def release_revision(
        self,
        item: str,
        revision: str,
        description: str,
        key: str,
        compliance: Mapping[str, Any] | None = None,
    ) -> None:
        """Release an item revision (globally), with its compliance attributes if known."""
        body_fields: dict[str, Any] = {"description": description}
        if compliance is not None:
            body_fields["compliance"] = compliance
        request = self.request(ItemRevisionRequest, body_fields)
        body = await self.call(
            "PUT",
            f"/items/{item}/revisions/{revision}",
            json_body=request.model_dump(mode="json"),
            key=key,
            ok=(200, 201),
        )
        self.parse(ItemRevisionReleased, body)

    async def create_bom(self, plant: str, bom: Mapping[str, Any], key: str) -> BomCreated:
        """Write an effective-dated BOM version; ERP says whether it is already effective."""
        request = self.request(BomRequest, bom)
        body = await self.call(
            "POST",
            f"/plants/{plant}/boms",
            json_body=request.model_dump(mode="json"),
            key=key,
            ok=(200, 201),
        )
        return self.parse(BomCreated, body)

    async def withdraw_bom(self, plant: str, bom_id: str, key: str) -> None:
        """Withdraw a BOM version ERP has not made effective."""
        body = await self.call("DELETE", f"/plants/{plant}/boms/{bom_id}", key=key, ok=(200,))
        self.parse(BomWithdrawn, body)

    async def withdraw_routing(self, plant: str, routing_id: str, key: str) -> None:
        """Withdraw a routing no active production version uses."""
        body = await self.call(
            "DELETE", f"/plants/{plant}/routings/{routing_id}", key=key, ok=(200,)
        )
        self.parse(RoutingWithdrawn, body)

    async def withdraw_production_version(self, plant: str, pv_id: str, key: str) -> None:
        """Withdraw a production version still pending."""
        body = await self.call(
            "DELETE", f"/plants/{plant}/production-versions/{pv_id}", key=key, ok=(200,)
        )
        self.parse(ProductionVersionWithdrawn, body)

    async def create_routing(self, plant: str, routing: Mapping[str, Any], key: str) -> str:
        """Create a routing; an inactive work center is a business rejection."""
        request = self.request(RoutingRequest, routing)
        body = await self.call(
            "POST",
            f"/plants/{plant}/routings",
            json_body=request.model_dump(mode="json"),
            key=key,
            ok=(200, 201),
        )
        return self.parse(RoutingCreated, body).routing_id

    async def request_production_version(
        self, plant: str, item: str, revision: str, key: str
    ) -> ProductionVersionStatus:
        """Ask for a production version; ERP answers 202 with it pending."""
        request = self.request(ProductionVersionRequest, {"item": item, "revision": revision})
        body = await self.call(
            "POST",
            f"/plants/{plant}/production-versions",
            json_body=request.model_dump(mode="json"),
            key=key,
            ok=(200, 201, 202),
        )
        return self.parse(ProductionVersionStatus, body)

    async def production_version(self, pv_id: str) -> ProductionVersionStatus:
        """A production version's status."""
        body = await self.call("GET", f"/production-versions/{pv_id}", ok=(200,))
        return self.parse(ProductionVersionStatus, body)

    async def revisions(self, plant: str) -> dict[str, str]:
        """The plant's current revision of every item."""
        body = await self.call("GET", f"/plants/{plant}/revisions", ok=(200,))
        return self.parse(PlantRevisions, body).revisions

    async def sourcing_modes(self) -> dict[str, str]:
        """Every plant's sourcing mode (local or central)."""
        body = await self.call("GET", "/sourcing-modes", ok=(200,))
        return {m.plant: m.mode for m in self.parse(SourcingModes, body).items}

    async def put_info_record(self, record: Mapping[str, Any], key: str) -> PurchasingInfoRecord:
        """Create or update the purchasing info record of a supplier for a revision."""
        request = self.request(PurchasingInfoRecordRequest, record)
        body = await self.call(
            "PUT",
            "/purchasing-info-records",
            json_body=request.model_dump(mode="json"),
            key=key,
            ok=(200, 201),
        )
        return self.parse(PurchasingInfoRecord, body)

    async def activate_info_record(self, record_id: str, key: str) -> PurchasingInfoRecord:
        """Activate an info record; ERP refuses (409 QUALIFICATION_NOT_APPROVED) while
        procurement has not qualified the supplier for the revision."""
        body = await self.call(
            "POST", f"/purchasing-info-records/{record_id}/activate", key=key, ok=(200, 201)
        )
        return self.parse(PurchasingInfoRecord, body)

    async def purchase_orders(self, **where: str) -> PurchaseOrderList:
        """Open purchase orders (``plant``, ``supplier``, ``component``, ``revision``)."""
        body = await self.call("GET", "/purchase-orders", params=dict(where), ok=(200,))
        return self.parse(PurchaseOrderList, body)

    async def production_orders(
        self, *, starts_after: date | None = None, **where: str
    ) -> ProductionOrderList:
        """Open production orders (``plant``, ``item``, ``revision``), starting after a day."""
        params: dict[str, Any] = dict(where)
        if starts_after is not None:
            params["starts_after"] = starts_after.isoformat()
        body = await self.call("GET", "/production-orders", params=params, ok=(200,))
        return self.parse(ProductionOrderList, body)

    async def suppliers(self) -> SupplierMaster:
        """ERP's supplier master."""
        return self.parse(SupplierMaster, await self.call("GET", "/suppliers", ok=(200,)))
