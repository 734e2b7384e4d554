"""Procurement: change notices to suppliers and their withdrawal; approved supplier lists,
qualifications, contracts and the supplier master."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from contracts.api import (
    ApprovedSupplier,
    ApprovedSupplierList,
    Contract,
    ContractList,
    Notice,
    NoticeRequest,
    NoticeWithdrawalRequest,
    Qualification,
    QualificationList,
    QualificationRequest,
    SupplierMaster,
)
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

    async def approved_suppliers(self, component: str) -> list[ApprovedSupplier]:
        """The approved supplier list of a purchased component."""
        body = await self.call("GET", f"/components/{component}/approved-suppliers", ok=(200,))
        return self.parse(ApprovedSupplierList, body).suppliers

    async def qualifications(self, **where: str) -> list[Qualification]:
        """Qualifications (``supplier``, ``component``, ``revision``, ``status``)."""
        body = await self.call("GET", "/qualifications", params=dict(where), ok=(200,))
        return self.parse(QualificationList, body).items

    async def request_qualification(self, request: Mapping[str, Any], key: str) -> Qualification:
        """Ask procurement to qualify a supplier; an open or decided one is answered as is."""
        body = await self.call(
            "POST",
            "/qualifications",
            json_body=self.request(QualificationRequest, request).model_dump(mode="json"),
            key=key,
            ok=(200, 201),
        )
        return self.parse(Qualification, body)

    async def contracts(self, supplier: str, component: str, on: date) -> list[Contract]:
        """The supplier's contracts for the component valid on ``on``."""
        params = {"supplier": supplier, "component": component, "on": on.isoformat()}
        body = await self.call("GET", "/contracts", params=params, ok=(200,))
        return self.parse(ContractList, body).items

    async def suppliers(self) -> SupplierMaster:
        """Procurement's supplier master."""
        return self.parse(SupplierMaster, await self.call("GET", "/suppliers", ok=(200,)))
