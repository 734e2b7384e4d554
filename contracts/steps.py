"""The shared vocabulary of propagation steps: which system, what kind, what state.

The engine owns the state machine (which transitions are allowed); the collector and the
console read these names from events, so they live here.
"""

from __future__ import annotations

from enum import StrEnum


class System(StrEnum):
    """The systems Threadline keeps in step."""

    PLM = "plm"
    ERP = "erp"
    MES = "mes"
    PROCUREMENT = "procurement"


class StepKind(StrEnum):
    """One kind of propagation step (DESIGN.md section 3), named ``<system>.<what>``."""

    ERP_ITEM_REVISION = "erp.item_revision"  # global, per affected item
    ERP_BOM = "erp.bom"  # per (assembly, plant), effective-dated
    ERP_ROUTING = "erp.routing"  # per (item, plant) where the routing changes
    ERP_PRODUCTION_VERSION = "erp.production_version"  # per (item, plant), answered 202
    ERP_CONFIRMATION = "erp.confirmation"  # per (item, plant), polled until active
    MES_ROUTING = "mes.routing"  # per (item, plant), after the confirmation
    SUPPLIER_NOTICE = "procurement.supplier_notice"  # per supplier
    # Purchasing: a component revision's suppliers on the approved lists of its plants.
    QUALIFICATION_REQUEST = "procurement.qualification_request"  # per (component, supplier) gap
    ERP_INFO_RECORD = "erp.purchasing_info_record"  # per plant (local sourcing) or once (central)
    # Compensations for a cancelled or superseded ECO: each takes back one applied write.
    ERP_BOM_WITHDRAWAL = "erp.bom_withdrawal"  # a BOM version not yet effective
    ERP_ROUTING_WITHDRAWAL = "erp.routing_withdrawal"  # a routing no active version uses
    ERP_PRODUCTION_VERSION_WITHDRAWAL = "erp.production_version_withdrawal"  # still pending
    SUPPLIER_WITHDRAWAL_NOTICE = "procurement.withdrawal_notice"  # to a notified supplier

    @property
    def system(self) -> System:
        """The system this kind of step calls."""
        return System(self.value.split(".", 1)[0])


class StepState(StrEnum):
    """Where a step stands."""

    WAITING = "waiting"  # dependencies not done yet
    PENDING = "pending"  # due: may be claimed
    RUNNING = "running"  # claimed by an engine under a lease
    AWAITING_CONFIRMATION = "awaiting_confirmation"  # ERP accepted, confirmation pending
    AWAITING_QUALIFICATION = "awaiting_qualification"  # held until procurement qualifies
    RETRYING = "retrying"  # transient failure; due again at next_attempt_at
    SUCCEEDED = "succeeded"  # applied
    FAILED = "failed"  # attempts exhausted or contract broken: a dead letter
    BLOCKED = "blocked"  # business rejection: needs a person; the plant pauses
    SKIPPED = "skipped"  # resolved by hand, with a reason
    CANCELLED = "cancelled"  # the ECO was cancelled or superseded

    @property
    def is_final(self) -> bool:
        """Whether nothing more happens to the step without an operator."""
        return self in FINAL_STATES


FINAL_STATES = frozenset(
    {StepState.SUCCEEDED, StepState.FAILED, StepState.SKIPPED, StepState.CANCELLED}
)
"""States in which nothing more happens to a step without an operator."""

DONE_STATES = frozenset({StepState.SUCCEEDED, StepState.SKIPPED})
"""States that let a step's dependants go ahead."""

WITHDRAWAL_OF: dict[StepKind, StepKind] = {
    StepKind.ERP_BOM: StepKind.ERP_BOM_WITHDRAWAL,
    StepKind.ERP_ROUTING: StepKind.ERP_ROUTING_WITHDRAWAL,
    StepKind.ERP_PRODUCTION_VERSION: StepKind.ERP_PRODUCTION_VERSION_WITHDRAWAL,
    StepKind.SUPPLIER_NOTICE: StepKind.SUPPLIER_WITHDRAWAL_NOTICE,
}
"""The compensation that takes back what a step of each kind applied.

Item revisions are master data other ECOs build on, and MES runs a routing from its
release (it takes one only under an active production version), so neither has a
withdrawal: a released MES routing is always effective and needs a new ECO to revert.
"""

PURCHASING_KINDS = frozenset({StepKind.QUALIFICATION_REQUEST, StepKind.ERP_INFO_RECORD})
"""Kinds that let purchasing buy an ECO's component revisions. They are not plant work: a
plant builds the new revision while its suppliers are still being qualified (what that
leaves at risk is the ECO's business impact)."""

COMPENSATION_KINDS = frozenset(WITHDRAWAL_OF.values())
"""Kinds that compensate for a cancelled ECO: they run although the ECO is cancelled."""


class ErrorCategory(StrEnum):
    """How a failed call is classified at the connector boundary."""

    TRANSIENT = "transient"  # timeout, connection error, 5xx, 429: retried
    BUSINESS = "business"  # a coded 4xx problem: blocked until a person acts
    CONTRACT = "contract"  # a response that breaks the contract: a dead letter


def step_id(eco: str, kind: StepKind, plant: str | None, target: str | None) -> str:
    """A step's identity: ``{eco}/{kind}/{plant or '-'}/{item or supplier or '-'}``."""
    return f"{eco}/{kind.value}/{plant or '-'}/{target or '-'}"


class OperatorAction(StrEnum):
    """What an operator can do from the console or the command line."""

    RETRY = "retry"
    RETRY_BULK = "retry_bulk"
    SKIP = "skip"
    CANCEL_ECO = "cancel_eco"
    RECONCILE = "reconcile"  # reconcile plants with PLM, ERP and MES now
    RESYNC = "resync"  # queue again the steps that would end a (plant, item) drift
    ACKNOWLEDGE_ALERT = "acknowledge_alert"  # no more reminders of a firing alert
    SILENCE_ALERT = "silence_alert"  # no notifications of an alert for a while
    EDIT_RETRY = "edit_retry"  # send a step again with an edited payload
    ACKNOWLEDGE = "acknowledge"  # an inbox problem: someone is on it
    ASSIGN = "assign"  # an inbox problem: who works it
    NOTE = "note"  # an inbox problem: a note added
    RESOLVE = "resolve"  # an inbox problem ended (its step succeeded or was skipped)
    REPLAY = "replay"  # publish stored events to NATS JetStream again
    PRUNE_EVENTS = "prune_events"  # delete stored events older than some days
