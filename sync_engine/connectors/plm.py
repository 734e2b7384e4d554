"""PLM: the feed of ECOs (approved, cancelled, superseded) and item records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contracts.api import EcoPage
from contracts.model import Item
from contracts.steps import System
from sync_engine.connectors.base import Connector


class PlmConnector(Connector):
    """Calls to PLM (reads only)."""

    system = System.PLM

    async def ecos(
        self,
        status: str,
        *,
        updated_since: datetime | None = None,
        cursor: str | None = None,
        limit: int = 500,
    ) -> EcoPage:
        """One page of ECOs in ``status``, ordered by (updated_at, number).

        Each entry's ``eco`` stays raw, so that a malformed ECO is rejected by itself.
        """
        params: dict[str, Any] = {"status": status, "limit": limit}
        if cursor:
            params["cursor"] = cursor
        elif updated_since is not None:
            params["updated_since"] = updated_since.isoformat()
        body = await self.call("GET", "/ecos", params=params, ok=(200,))
        return self.parse(EcoPage, body)

    async def item(self, number: str) -> Item:
        """PLM's record of an item (kind, description, product family)."""
        body = await self.call("GET", f"/items/{number}", ok=(200,))
        return self.parse(Item, body)
