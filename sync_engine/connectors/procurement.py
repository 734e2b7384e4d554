"""Procurement: change notices to suppliers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from contracts.steps import System
from sync_engine.connectors.base import Connector


class NoticeSent(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    id: str
    supplier: str
    status: str


class ProcurementConnector(Connector):
    """Calls to procurement."""

    system = System.PROCUREMENT

    async def send_notice(self, notice: dict[str, Any], key: str) -> str:
        """Send a notice; a supplier portal that does not answer is transient (502/504)."""
        body = await self.call("POST", "/notices", json_body=notice, key=key, ok=(200, 201))
        return self.parse(NoticeSent, body).id
