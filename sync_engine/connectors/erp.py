"""ERP: item revisions, effective-dated BOMs, routings and production versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from contracts.steps import System
from sync_engine.connectors.base import Connector


class _Answer(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class RevisionReleased(_Answer):
    item: str
    revision: str
    status: Literal["released"]


class BomCreated(_Answer):
    bom_id: str
    status: Literal["scheduled", "effective"]


class BomWithdrawn(_Answer):
    bom_id: str
    status: Literal["withdrawn"]


class RoutingCreated(_Answer):
    routing_id: str


class ProductionVersionStatus(_Answer):
    """A production version as ERP reports it."""

    id: str
    status: Literal["pending", "active", "rejected"]
    plant: str
    item: str
    revision: str
    activated_at: datetime | None = None
    reason: str | None = None


class PlantRevisions(_Answer):
    plant: str
    revisions: dict[str, str]


class ErpConnector(Connector):
    """Calls to ERP; writes carry the step's idempotency key."""

    system = System.ERP

    async def release_revision(self, item: str, revision: str, description: str, key: str) -> None:
        """Release an item revision (globally)."""
        body = await self.call(
            "PUT",
            f"/items/{item}/revisions/{revision}",
            json_body={"description": description},
            key=key,
            ok=(200, 201),
        )
        self.parse(RevisionReleased, body)

    async def create_bom(self, plant: str, bom: dict[str, Any], key: str) -> BomCreated:
        """Write an effective-dated BOM version; ERP says whether it is already effective."""
        body = await self.call(
            "POST", f"/plants/{plant}/boms", json_body=bom, key=key, ok=(200, 201)
        )
        return self.parse(BomCreated, body)

    async def withdraw_bom(self, plant: str, bom_id: str, key: str) -> None:
        """Withdraw a BOM version ERP has not made effective."""
        body = await self.call("DELETE", f"/plants/{plant}/boms/{bom_id}", key=key, ok=(200,))
        self.parse(BomWithdrawn, body)

    async def create_routing(self, plant: str, routing: dict[str, Any], key: str) -> str:
        """Create a routing; an inactive work center is a business rejection."""
        body = await self.call(
            "POST", f"/plants/{plant}/routings", json_body=routing, key=key, ok=(200, 201)
        )
        return self.parse(RoutingCreated, body).routing_id

    async def request_production_version(
        self, plant: str, item: str, revision: str, key: str
    ) -> ProductionVersionStatus:
        """Ask for a production version; ERP answers 202 with it pending."""
        body = await self.call(
            "POST",
            f"/plants/{plant}/production-versions",
            json_body={"item": item, "revision": revision},
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
