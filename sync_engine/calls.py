"""One claimed step's call to its system, chosen by the step's kind, and what came of it.

:class:`Caller` turns a step into the connector call its kind names and the call's answer
into an :class:`Outcome`: succeeded (with the system's id and status), awaiting
confirmation, or an error with its next state: ``retrying`` at the time
:func:`~sync_engine.retry.decide` gives, ``blocked`` for a business rejection, ``failed``
otherwise. A withdrawal the system refuses because the change is already effective, or
finds nothing to take back, has succeeded: the step records which.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

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
                        payload["item"], payload["revision"], payload["description"], key
                    )
                    return Outcome(step, StepState.SUCCEEDED)
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
