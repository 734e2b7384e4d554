"""Procurement: change notices to suppliers, and their withdrawal."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contracts.api import Notice, NoticeRequest, NoticeWithdrawalRequest
from contracts.steps import System
from sync_engine.connectors.base import Connector


class ProcurementConnector(Connector):
    """Calls to procurement."""

    system = System.PROCUREMENT

    async def send_notice(self, notice: Mapping[str, Any], key: str) -> str:
        """Send a notice; a supplier portal that does not answer is transient (502/504)."""
        request = self.request(NoticeRequest, notice)
        body = await self.call(
            "POST", "/notices", json_body=request.model_dump(mode="json"), key=key, ok=(200, 201)
        )
        return self.parse(Notice, body).id

    async def withdraw_notice(self, notice_id: str, message: str, key: str) -> str:
        """Tell the supplier of a sent notice that its change was withdrawn."""
        request = self.request(NoticeWithdrawalRequest, {"message": message})
        body = await self.call(
            "POST",
            f"/notices/{notice_id}/withdrawal",
            json_body=request.model_dump(mode="json"),
            key=key,
            ok=(200, 201),
        )
        return self.parse(Notice, body).id
