"""The CloudEvent catalog: every event type Threadline emits and the model of its ``data``.

Types are reverse-DNS and versioned: ``io.threadline.<area>.<event>.v<N>``. ``subject``
is the business key (the ECO number, or ``<plant>/<item>`` for plant-level facts) and the
``correlationid`` extension carries the ECO number through a whole propagation.

A new version of an event is a new type with its own model; old types stay in the
catalog for as long as stored events use them.
"""

from __future__ import annotations

import builtins
import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.model import Code, EcoNumber, Revision
from contracts.readmodel import DriftCause
from contracts.steps import ErrorCategory, StepKind, StepState, System

ENGINE = "engine"
"""The sync engine, the producer of every catalog type: its steps, ECOs, ERP, plant and
supplier facts, and the operator actions its commands record through its outbox."""

TYPE_PATTERN = re.compile(r"^io\.threadline\.[a-z_]+\.[a-z_]+\.v[1-9][0-9]*$")
DATASCHEMA_BASE = "urn:threadline:schema:"


class EventData(BaseModel):
    """Base of every event's data: immutable; unknown fields are refused.

    The event's ``subject`` and ``correlationid`` come from the data: the ECO number where
    the model has one; plant-level facts (:class:`PlantFact`) are keyed ``<plant>/<item>``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    def event_subject(self) -> str | None:
        """The business key the event is about (its CloudEvents ``subject``)."""
        return self.event_correlation()

    def event_correlation(self) -> str | None:
        """The ECO whose propagation the event belongs to (``correlationid``), if any."""
        eco = getattr(self, "eco", None)
        return eco if isinstance(eco, str) else None


class PlantFact(EventData):
    """Data about one (plant, item) pair: its events' subject is ``<plant>/<item>``."""

    plant: Code
    item: Code

    def event_subject(self) -> str | None:
        return f"{self.plant}/{self.item}"


class Violation(EventData):
    """One governance rule an ECO broke, with the field it concerns."""

    path: str
    message: str


class EcoReceived(EventData):
    """An approved ECO was read from PLM and planned."""

    eco: EcoNumber
    title: str
    approved_at: AwareDatetime
    effectivity: date
    items: list[str]
    revisions: dict[str, Revision] = Field(description="item -> the revision the ECO moves it to")
    product_families: list[str] = Field(default_factory=list)
    plants: list[str]
    suppliers: list[str] = Field(default_factory=list)
    steps: int = Field(ge=0, description="how many steps the plan holds")
    suppliers_added: list[str] | None = Field(
        default=None, description="approved for an affected component but not on PLM's list"
    )
    suppliers_not_approved: list[str] | None = Field(
        default=None, description="on PLM's list but on no approved list of the components"
    )


class EcoRejected(EventData):
    """An ECO broke governance rules and will not be propagated."""

    eco: str
    violations: list[Violation] = Field(min_length=1)
    title: str | None = Field(default=None, description="the ECO's title, if it had one")


class EcoCancelled(EventData):
    """An ECO stopped: cancelled or superseded in PLM, or cancelled by an operator."""

    eco: EcoNumber
    cause: Literal["plm_cancelled", "plm_superseded", "operator"]
    reason: str
    superseded_by: EcoNumber | None = None
    actor: str | None = None
    cancelled_steps: int = Field(default=0, ge=0)
    withdrawals: int = Field(
        default=0,
        ge=0,
        description="withdrawals scheduled: BOM versions, routings and production versions "
        "not yet effective, and notices to the suppliers already told",
    )
    left_effective: int = Field(
        default=0, ge=0, description="changes already effective, left for a new ECO to revert"
    )


class EcoProductionReady(EventData):
    """Every plant's last step succeeded: the ECO is in production."""

    eco: EcoNumber
    approved_at: AwareDatetime
    erp_confirmed_at: AwareDatetime | None = None
    production_ready_at: AwareDatetime
    cycle_time_seconds: float = Field(ge=0)
    plants: list[str]


class StepError(EventData):
    """Why a call failed, classified at the connector boundary."""

    category: ErrorCategory
    code: str = Field(description="a stable code: the problem's code, HTTP_503, TIMEOUT ...")
    message: str
    http_status: int | None = None
    fingerprint: str = Field(description="groups like failures: system, kind and code")


class StepTransition(EventData):
    """A step moved from one state to another."""

    eco: EcoNumber
    step_id: str
    kind: StepKind
    system: System
    plant: str | None = None
    item: str | None = None
    revision: Revision | None = None
    supplier: str | None = None
    from_state: StepState | None = None
    to_state: StepState
    attempt: int = Field(default=0, ge=0)
    idempotency_key: str
    error: StepError | None = None
    next_attempt_at: AwareDatetime | None = None
    reason: str | None = None
    actor: str | None = None


class StepScheduled(StepTransition):
    """A step was planned (``waiting``) or became due (``pending``)."""

    to_state: Literal[StepState.WAITING, StepState.PENDING]


class StepStarted(StepTransition):
    """A step was claimed and its call is under way."""

    to_state: Literal[StepState.RUNNING]


class StepSucceeded(StepTransition):
    """A step's change was applied (for a withdrawal: the system's answer was final)."""

    to_state: Literal[StepState.SUCCEEDED]
    effective_since: AwareDatetime | None = Field(
        default=None,
        description="a withdrawal found the change already effective (since then), so "
        "it was left in place: it needs a new ECO to revert",
    )


class StepRetrying(StepTransition):
    """A transient failure; the step runs again at ``next_attempt_at``."""

    to_state: Literal[StepState.RETRYING]
    error: StepError
    next_attempt_at: AwareDatetime


class StepFailed(StepTransition):
    """Attempts exhausted or the contract broken: a dead letter."""

    to_state: Literal[StepState.FAILED]
    error: StepError
    payload: dict[str, Any] | None = Field(
        default=None, description="the response that broke the contract, kept for inspection"
    )


class StepBlocked(StepTransition):
    """A business rejection: the plant pauses until a person acts."""

    to_state: Literal[StepState.BLOCKED]
    error: StepError


class StepSkipped(StepTransition):
    """An operator resolved the step by hand."""

    to_state: Literal[StepState.SKIPPED]
    reason: str = Field(min_length=1)
    actor: str = Field(min_length=1)


class StepCancelled(StepTransition):
    """The ECO was cancelled or superseded before the step ran."""

    to_state: Literal[StepState.CANCELLED]


class StepAwaitingConfirmation(StepTransition):
    """ERP accepted a production version; the engine polls until it is active."""

    to_state: Literal[StepState.AWAITING_CONFIRMATION]
    production_version: str | None = None


class ProductionVersionConfirmed(EventData):
    """ERP reported a production version active."""

    eco: EcoNumber
    plant: Code
    item: Code
    revision: Revision
    production_version: str
    requested_at: AwareDatetime
    confirmed_at: AwareDatetime


class ConfirmationOverdue(EventData):
    """An ERP confirmation has waited longer than the plant's SLA."""

    eco: EcoNumber
    plant: Code
    item: Code
    revision: Revision
    requested_at: AwareDatetime
    sla_seconds: float = Field(gt=0)


class PlantRevisionChanged(PlantFact):
    """A system now runs an item at a new revision at a plant, through an ECO's step.

    ERP (the default): a built item's production version is active, or an effective BOM
    consumes a component's new revision. MES: the new routing was released, or MES kept
    its routing under the new production version (the ECO did not change it).
    """

    old_revision: Revision | None = None
    new_revision: Revision
    eco: EcoNumber
    effective_from: date
    system: Literal[System.ERP, System.MES] = System.ERP


class PlantRevisionObserved(PlantFact):
    """Reconciliation read a plant's revision that differs from what was last recorded."""

    system: Literal[System.ERP, System.MES]
    observed_revision: Revision | None = None
    expected_revision: Revision | None = None
    eco: EcoNumber | None = None


class ReconciliationException(PlantFact):
    """Reconciliation found something a person must look at."""

    kind: Literal["erp_mes_disagree", "stale_revision"]
    detail: str
    erp_revision: Revision | None = None
    mes_revision: Revision | None = None
    expected_revision: Revision | None = None
    eco: EcoNumber | None = None


class DriftDetected(PlantFact):
    """Reconciliation found PLM, ERP, MES and Threadline's expectation disagreeing for a
    (plant, item) pair, or the same drift changed (another cause, other revisions).

    ``responsible_eco`` is the ECO whose revision the pair should have (Threadline's, or
    PLM's when Threadline has not propagated it); ``None`` with cause ``outside``.
    """

    plm_revision: Revision | None = None
    erp_revision: Revision | None = None
    mes_revision: Revision | None = None
    expected_revision: Revision | None = None
    responsible_eco: EcoNumber | None = None
    eco_state: str | None = Field(default=None, max_length=40)
    cause: DriftCause
    detail: str = Field(max_length=500)
    since: AwareDatetime = Field(description="when this pair was first found drifting")

    def event_correlation(self) -> str | None:
        return self.responsible_eco


class DriftResolved(PlantFact):
    """A drifting (plant, item) pair agrees again in PLM, ERP, MES and Threadline."""

    revision: Revision | None = Field(default=None, description="the revision all agree on")
    since: AwareDatetime = Field(description="when the drift was first found")


class ReconciliationCompleted(EventData):
    """One reconciliation run compared the listed plants (each read from ERP and MES)."""

    plants: list[Code] = Field(description="plants compared in this run")
    skipped: list[Code] = Field(default_factory=list, description="plants ERP or MES missed")
    drift: int = Field(ge=0, description="pairs drifting after the run, in those plants")
    started_at: AwareDatetime
    finished_at: AwareDatetime


class SupplierNoticeSent(EventData):
    """Procurement accepted a notice to a supplier."""

    eco: EcoNumber
    supplier: Code
    notice_id: str
    items: list[str]
    attempt: int = Field(ge=1)


class SupplierNoticeFailed(EventData):
    """A notice to a supplier could not be delivered (this attempt or for good)."""

    eco: EcoNumber
    supplier: Code
    attempt: int = Field(ge=1)
    error: StepError
    final: bool = Field(description="no automatic retry follows")
    next_attempt_at: AwareDatetime | None = None


@dataclass(frozen=True)
class EventType:
    """One catalog entry: the type, the model of its data and who may emit it.

    ``producers`` names the producers (the collector's token grants name theirs) that own
    the type; the collector refuses it from anyone else and projections ignore it.
    """

    type: str
    model: builtins.type[EventData]
    description: str
    producers: frozenset[str] = frozenset({ENGINE})
    deprecated_by: str | None = None
    """The type that replaces this one; producers move to it, consumers read both."""

    @property
    def dataschema(self) -> str:
        """The absolute URI naming this type's data schema."""
        return f"{DATASCHEMA_BASE}{self.type}"

    @property
    def version(self) -> int:
        """The ``N`` of the type's ``.v<N>`` suffix."""
        return int(self.type.rsplit(".v", 1)[1])


def _entries() -> list[EventType]:
    # Imported here: the sourcing models build on EventData and StepTransition, defined above.
    from contracts.operator_events import (
        OperationCompleted,
        OperatorActionTaken,
        WorkOverdue,
        WorkResolved,
    )
    from contracts.sourcing_events import catalog_entries as sourcing_entries

    step = "io.threadline.step.{}.v1"
    return [
        EventType("io.threadline.eco.received.v1", EcoReceived, "ECO received and planned"),
        EventType("io.threadline.eco.rejected.v1", EcoRejected, "ECO broke governance rules"),
        EventType("io.threadline.eco.cancelled.v1", EcoCancelled, "ECO cancelled or superseded"),
        EventType(
            "io.threadline.eco.production_ready.v1", EcoProductionReady, "ECO production-ready"
        ),
        EventType(step.format("scheduled"), StepScheduled, "Step planned or due"),
        EventType(step.format("started"), StepStarted, "Step claimed and running"),
        EventType(step.format("succeeded"), StepSucceeded, "Step applied"),
        EventType(step.format("retrying"), StepRetrying, "Step failed transiently"),
        EventType(step.format("failed"), StepFailed, "Step dead-lettered"),
        EventType(step.format("blocked"), StepBlocked, "Step rejected by business rule"),
        EventType(step.format("skipped"), StepSkipped, "Step resolved by hand"),
        EventType(step.format("cancelled"), StepCancelled, "Step cancelled with its ECO"),
        EventType(
            step.format("awaiting_confirmation"),
            StepAwaitingConfirmation,
            "Production version requested; awaiting ERP",
        ),
        EventType(
            "io.threadline.erp.production_version_confirmed.v1",
            ProductionVersionConfirmed,
            "ERP production version active",
        ),
        EventType(
            "io.threadline.erp.confirmation_overdue.v1",
            ConfirmationOverdue,
            "ERP confirmation past its SLA",
        ),
        EventType(
            "io.threadline.plant.revision_changed.v1",
            PlantRevisionChanged,
            "Plant moved to a new revision",
        ),
        EventType(
            "io.threadline.plant.revision_observed.v1",
            PlantRevisionObserved,
            "Reconciliation observed a different revision",
        ),
        EventType(
            "io.threadline.plant.reconciliation_exception.v1",
            ReconciliationException,
            "Reconciliation found a disagreement",
        ),
        EventType("io.threadline.plant.drift_detected.v1", DriftDetected, "Plant revisions drift"),
        EventType(
            "io.threadline.plant.drift_resolved.v1", DriftResolved, "Plant revisions agree again"
        ),
        EventType(
            "io.threadline.plant.reconciled.v1",
            ReconciliationCompleted,
            "Plants reconciled with PLM, ERP and MES",
        ),
        EventType("io.threadline.supplier.notice_sent.v1", SupplierNoticeSent, "Supplier notified"),
        EventType(
            "io.threadline.supplier.notice_failed.v1",
            SupplierNoticeFailed,
            "Supplier notice failed",
        ),
        EventType("io.threadline.operator.action.v1", OperatorActionTaken, "An operator acted"),
        EventType("io.threadline.sla.work_overdue.v1", WorkOverdue, "Work past its SLA"),
        EventType(
            "io.threadline.sla.work_resolved.v1", WorkResolved, "Overdue work left its stage"
        ),
        EventType(
            "io.threadline.operator.operation_completed.v1",
            OperationCompleted,
            "An operator's operation reached its end",
        ),
        *sourcing_entries(),
    ]


CATALOG: dict[str, EventType] = {entry.type: entry for entry in _entries()}
"""Every known event type, by its ``type`` attribute."""

TYPE_OF_MODEL: dict[builtins.type[EventData], str] = {
    entry.model: entry.type for entry in CATALOG.values()
}
"""Every catalog model's event type: the one place a model is tied to its type."""

STEP_EVENT_TYPES: dict[StepState, str] = {
    StepState.WAITING: "io.threadline.step.scheduled.v1",
    StepState.PENDING: "io.threadline.step.scheduled.v1",
    StepState.RUNNING: "io.threadline.step.started.v1",
    StepState.SUCCEEDED: "io.threadline.step.succeeded.v1",
    StepState.RETRYING: "io.threadline.step.retrying.v1",
    StepState.FAILED: "io.threadline.step.failed.v1",
    StepState.BLOCKED: "io.threadline.step.blocked.v1",
    StepState.SKIPPED: "io.threadline.step.skipped.v1",
    StepState.CANCELLED: "io.threadline.step.cancelled.v1",
    StepState.AWAITING_CONFIRMATION: "io.threadline.step.awaiting_confirmation.v1",
    StepState.AWAITING_QUALIFICATION: "io.threadline.step.awaiting_qualification.v1",
}
"""The event type that records a step's arrival in each state."""


def step_transition(to_state: StepState, **fields: Any) -> StepTransition:
    """The data of the event that records a step's arrival in ``to_state``.

    Picks the state's catalog model (``STEP_EVENT_TYPES``) and validates ``fields`` with it.
    """
    model = CATALOG[STEP_EVENT_TYPES[to_state]].model
    data = model.model_validate({**fields, "to_state": to_state})
    assert isinstance(data, StepTransition)
    return data


class UnknownEventType(KeyError):
    """The type (or the data model) is not in the catalog."""


_OWNED = frozenset((entry.type, p) for entry in CATALOG.values() for p in entry.producers)


def owns(producer: str, event_type: str) -> bool:
    """Whether ``producer`` owns the catalog type ``event_type``: it alone may emit it, and
    only its events of that type feed the read models."""
    return (event_type, producer) in _OWNED


def type_of(data: EventData | builtins.type[EventData]) -> str:
    """The catalog type of an event's data (or of its model class)."""
    model = data if isinstance(data, builtins.type) else type(data)
    try:
        return TYPE_OF_MODEL[model]
    except KeyError:
        raise UnknownEventType(model.__name__) from None


def lookup(event_type: str) -> EventType:
    """The catalog entry for ``event_type``."""
    try:
        return CATALOG[event_type]
    except KeyError:
        raise UnknownEventType(event_type) from None


def parse_data(event_type: str, data: Any) -> EventData:
    """Validate ``data`` against its type's model (raises pydantic ``ValidationError``)."""
    return lookup(event_type).model.model_validate(data)


def new_event(
    data: EventData,
    *,
    source: str,
    time: datetime,
    subject: str | None = None,
    correlationid: str | None = None,
    causationid: str | None = None,
    event_id: str | None = None,
    **extensions: str,
) -> dict[str, Any]:
    """A structured-mode CloudEvent (a JSON-ready ``dict``) carrying ``data``.

    The type comes from the data's class (:func:`type_of`); ``subject`` and
    ``correlationid`` default to what the data names (:meth:`EventData.event_subject`).
    """
    entry = CATALOG[type_of(data)]
    subject = subject if subject is not None else data.event_subject()
    correlationid = correlationid if correlationid is not None else data.event_correlation()
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": event_id or str(uuid.uuid4()),
        "source": source,
        "type": entry.type,
        "time": time.isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "dataschema": entry.dataschema,
        "data": data.model_dump(mode="json", exclude_none=True),
    }
    if subject is not None:
        event["subject"] = subject
    if correlationid is not None:
        event["correlationid"] = correlationid
    if causationid is not None:
        event["causationid"] = causationid
    event.update(extensions)
    return event
