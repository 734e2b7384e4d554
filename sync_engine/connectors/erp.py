"""ERP: item revisions, effective-dated BOMs, routings and production versions, and the
withdrawal of those not yet effective."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contracts.api import (
    BomCreated,
    BomRequest,
    BomWithdrawn,
    ItemRevisionReleased,
    ItemRevisionRequest,
    PlantRevisions,
    ProductionVersionRequest,
    ProductionVersionStatus,
    ProductionVersionWithdrawn,
    RoutingCreated,
    RoutingRequest,
    RoutingWithdrawn,
)
from contracts.steps import System
from sync_engine.connectors.base import Connector


class ErpConnector(Connector):
    """Calls to ERP; writes carry the step's idempotency key."""

    system = System.ERP

    async def release_revision(self, item: str, revision: str, description: str, key: str) -> None:
        """Release an item revision (globally)."""
        request = self.request(ItemRevisionRequest, {"description": description})
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
