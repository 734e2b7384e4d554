"""One claimed step's call to its system, chosen by the step's kind, and what came of it.

:class:`Caller` turns a step into the connector call its kind names and the call's answer
into an :class:`Outcome`: succeeded (with the system's id and status), awaiting
confirmation or a supplier's qualification, or an error with its next state:
``retrying`` at the time :func:`~sync_engine.retry.decide` gives, ``blocked`` for a
business rejection, ``failed`` otherwise. A withdrawal the system refuses because the
change is already effective, or finds nothing to take back, has succeeded: the step
records which.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from contracts.model import utcnow
from contracts.steps import StepKind, StepState, System
from sync_engine import store
from sync_engine.connectors import ErpConnector, MesConnector, ProcurementConnector
from sync_engine.errors import BusinessError, CallError
from sync_engine.retry import RetryPolicy, decide

# A withdrawal's answers that end it: the change is already effective (left in place, to
# be reverted by a new ECO), or there is nothing to take back.
LEFT_EFFECTIVE = frozenset({"ALREADY_EFFECTIVE", "BOM_ALREADY_EFFECTIVE"})
NOTHING_TO_WITHDRAW = frozenset(
    {
        "BOM_NOT_FOUND",
        "ROUTING_NOT_FOUND",
        "PRODUCTION_VERSION_NOT_FOUND",
        "PRODUCTION_VERSION_REJECTED",
        "NOTICE_NOT_FOUND",
    }
)


@dataclass(frozen=True)
class Outcome:
    """What came of one claimed step's call, before it is recorded."""

    step: store.StepRecord
    to: StepState
    external_id: str | None = None
    external_status: str | None = None
    reason: str | None = None
    error: CallError | None = None
    next_attempt_at: datetime | None = None
    effective_since: datetime | None = None


@dataclass(frozen=True)
class Caller:
    """Calls ERP, MES or procurement for a claimed step; ``rng`` draws the retry jitter."""

    erp: ErpConnector
    mes: MesConnector
    procurement: ProcurementConnector
    retry: Mapping[System, RetryPolicy]
    rng: random.Random

    async def call(self, step: store.StepRecord) -> Outcome:
        """Make the step's call and say what came of it (a call error included)."""
        payload, key, plant = step.payload, step.idempotency_key, step.plant or ""
        try:
            match step.kind:
                case StepKind.ERP_ITEM_REVISION:
                    await self.erp.release_revision(
                        payload["item"],
                        payload["revision"],
                        payload["description"],
                        key,
                        payload.get("compliance"),
                    )
                    return Outcome(step, StepState.SUCCEEDED)
                case StepKind.QUALIFICATION_REQUEST:
                    asked = await self.procurement.request_qualification(
                        {
                            "supplier": payload["supplier"],
                            "component": payload["component"],
                            "revision": payload["revision"],
                            "eco": step.eco,
                            "reason": f"{step.eco} releases revision {payload['revision']}",
                        },
                        key,
                    )
                    return Outcome(
                        step,
                        StepState.SUCCEEDED,
                        external_id=asked.id,
                        external_status=asked.status,
                    )
                case StepKind.ERP_INFO_RECORD:
                    return await self._info_record(step)
                case StepKind.ERP_BOM:
                    bom = await self.erp.create_bom(plant, payload, key)
                    return Outcome(
                        step,
                        StepState.SUCCEEDED,
                        external_id=bom.bom_id,
                        external_status=bom.status,
                    )
                case StepKind.ERP_ROUTING:
                    routing_id = await self.erp.create_routing(plant, payload, key)
                    return Outcome(step, StepState.SUCCEEDED, external_id=routing_id)
                case StepKind.ERP_PRODUCTION_VERSION:
                    pv = await self.erp.request_production_version(
                        plant, payload["item"], payload["revision"], key
                    )
                    return Outcome(
                        step, StepState.SUCCEEDED, external_id=pv.id, external_status=pv.status
                    )
                case StepKind.ERP_CONFIRMATION:
                    return Outcome(step, StepState.AWAITING_CONFIRMATION)
                case StepKind.MES_ROUTING:
                    routing_id = await self.mes.release_routing(
                        plant, payload, step.production_version or "", key
                    )
                    return Outcome(step, StepState.SUCCEEDED, external_id=routing_id)
                case StepKind.SUPPLIER_NOTICE:
                    notice_id = await self.procurement.send_notice(payload, key)
                    return Outcome(step, StepState.SUCCEEDED, external_id=notice_id)
                case (
                    StepKind.ERP_BOM_WITHDRAWAL
                    | StepKind.ERP_ROUTING_WITHDRAWAL
                    | StepKind.ERP_PRODUCTION_VERSION_WITHDRAWAL
                    | StepKind.SUPPLIER_WITHDRAWAL_NOTICE
                ):
                    return await self._withdraw(step)
        except CallError as exc:
            policy = self.retry[step.system]
            at = decide(policy, exc, step.attempt, utcnow(), self.rng.random())
            to = (
                StepState.RETRYING
                if at is not None
                else StepState.BLOCKED
                if isinstance(exc, BusinessError)
                else StepState.FAILED
            )
            return Outcome(step, to, error=exc, next_attempt_at=at)
        raise AssertionError(f"no executor for {step.kind}")

    async def _info_record(self, step: store.StepRecord) -> Outcome:
        """Update and activate a purchasing info record once procurement has qualified the
        supplier for the revision and a contract covers the component; wait while the
        qualification is pending (ERP refuses the activation then, too)."""
        payload, key = step.payload, step.idempotency_key
        supplier, component = payload["supplier"], payload["component"]
        revision = payload["revision"]
        found = await self.procurement.qualifications(
            supplier=supplier, component=component, revision=revision
        )
        qualification = found[-1] if found else None
        if qualification is None:
            raise BusinessError(
                "QUALIFICATION_MISSING",
                f"procurement has no qualification of {supplier} for {component} {revision}",
            )
        if qualification.status == "rejected":
            raise BusinessError(
                store.REJECTED_CODE,
                f"procurement rejected {supplier} for {component} {revision}: "
                f"{qualification.reason or 'no reason given'}",
            )
        if qualification.status == "pending":
            return Outcome(step, StepState.AWAITING_QUALIFICATION, external_id=qualification.id)
        on = date.fromisoformat(payload.get("valid_from") or utcnow().date().isoformat())
        covering = await self.procurement.contracts(supplier, component, on)
        if not covering:
            raise BusinessError(
                "CONTRACT_MISSING",
                f"no contract of {supplier} covers {component} on {on}: sourcing must add one",
            )
        record = await self.erp.put_info_record(
            {
                "supplier": supplier,
                "component": component,
                "revision": revision,
                "plant": step.plant,
                "price": covering[0].price,
                "currency": covering[0].currency,
            },
            key,
        )
        try:
            active = await self.erp.activate_info_record(record.id, f"{key}:activate")
        except BusinessError as exc:
            if exc.code == "QUALIFICATION_NOT_APPROVED":
                return Outcome(step, StepState.AWAITING_QUALIFICATION, external_id=qualification.id)
            raise
        return Outcome(
            step, StepState.SUCCEEDED, external_id=active.id, external_status=active.status
        )

    async def _withdraw(self, step: store.StepRecord) -> Outcome:
        """Take back what a cancelled ECO's step applied; the system decides what is
        already effective (then it stays, and the step records since when)."""
        payload, key, plant = step.payload, step.idempotency_key, step.plant or ""
        notice_id: str | None = None
        try:
            match step.kind:
                case StepKind.ERP_BOM_WITHDRAWAL:
                    await self.erp.withdraw_bom(plant, payload["bom_id"], key)
                case StepKind.ERP_ROUTING_WITHDRAWAL:
                    await self.erp.withdraw_routing(plant, payload["routing_id"], key)
                case StepKind.ERP_PRODUCTION_VERSION_WITHDRAWAL:
                    await self.erp.withdraw_production_version(
                        plant, payload["production_version"], key
                    )
                case _:
                    notice_id = await self.procurement.withdraw_notice(
                        payload["notice_id"], payload["message"], key
                    )
        except BusinessError as exc:
            if exc.code in LEFT_EFFECTIVE:
                problem = exc.payload if isinstance(exc.payload, dict) else {}
                since = problem.get("effective_since")
                return Outcome(
                    step,
                    StepState.SUCCEEDED,
                    reason=f"left effective: {exc.message}",
                    external_status="effective",
                    effective_since=(
                        datetime.fromisoformat(since) if isinstance(since, str) else utcnow()
                    ),
                )
            if exc.code in NOTHING_TO_WITHDRAW:
                return Outcome(
                    step,
                    StepState.SUCCEEDED,
                    reason=f"nothing withdrawn: {exc.message}",
                    external_status="absent",
                )
            raise
        return Outcome(
            step, StepState.SUCCEEDED, external_id=notice_id, external_status="withdrawn"
        )
