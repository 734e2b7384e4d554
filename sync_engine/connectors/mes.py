"""MES: routings released to the shop floor under an active production version."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from contracts.steps import System
from sync_engine.connectors.base import Connector
from sync_engine.connectors.erp import PlantRevisions


class RoutingReleased(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    routing_id: str


class MesConnector(Connector):
    """Calls to MES."""

    system = System.MES

    async def release_routing(
        self, plant: str, routing: dict[str, Any], production_version: str, key: str
    ) -> str:
        """Release the routing; MES refuses unless ERP has the production version active."""
        body = await self.call(
            "POST",
            f"/plants/{plant}/routings",
            json_body={**routing, "production_version": production_version},
            key=key,
            ok=(200, 201),
        )
        return self.parse(RoutingReleased, body).routing_id

    async def revisions(self, plant: str) -> dict[str, str]:
        """The revision MES runs of every item at the plant."""
        body = await self.call("GET", f"/plants/{plant}/revisions", ok=(200,))
        return self.parse(PlantRevisions, body).revisions
