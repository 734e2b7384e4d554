"""MES: routings released to the shop floor under an active production version."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contracts.api import MesRoutingReleased, MesRoutingRequest, PlantRevisions
from contracts.steps import System
from sync_engine.connectors.base import Connector


class MesConnector(Connector):
    """Calls to MES."""

    system = System.MES

    async def release_routing(
        self, plant: str, routing: Mapping[str, Any], production_version: str, key: str
    ) -> str:
        """Release the routing; MES refuses unless ERP has the production version active."""
        request = self.request(
            MesRoutingRequest, {**routing, "production_version": production_version}
        )
        body = await self.call(
            "POST",
            f"/plants/{plant}/routings",
            json_body=request.model_dump(mode="json"),
            key=key,
            ok=(200, 201),
        )
        return self.parse(MesRoutingReleased, body).routing_id

    async def revisions(self, plant: str) -> dict[str, str]:
        """The revision MES runs of every item at the plant."""
        body = await self.call("GET", f"/plants/{plant}/revisions", ok=(200,))
        return self.parse(PlantRevisions, body).revisions
