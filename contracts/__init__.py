"""The canonical model, the CloudEvent catalog and the plan, shared by every Threadline service."""

from __future__ import annotations

from contracts.events import (
    CATALOG,
    STEP_EVENT_TYPES,
    EventData,
    EventType,
    UnknownEventType,
    lookup,
    new_event,
    parse_data,
    step_transition,
)
from contracts.model import (
    AffectedItem,
    Bom,
    BomChange,
    BomLine,
    Eco,
    EcoStatus,
    Item,
    ItemKind,
    ItemRevision,
    Operation,
    Plant,
    Routing,
    RoutingChange,
    Supplier,
    UnitOfMeasure,
    WorkCenter,
    next_revision,
    revision_key,
)

# ``plan`` itself stays ``contracts.plan.plan``: re-exported, it would hide the module.
from contracts.plan import PlannedStep, compensation_step, idempotency_key, withdrawal_step
from contracts.readmodel import EcoState, NoticeStatus, PlantState
from contracts.steps import ErrorCategory, OperatorAction, StepKind, StepState, System, step_id

__all__ = [
    "CATALOG",
    "STEP_EVENT_TYPES",
    "AffectedItem",
    "Bom",
    "BomChange",
    "BomLine",
    "Eco",
    "EcoState",
    "EcoStatus",
    "ErrorCategory",
    "EventData",
    "EventType",
    "Item",
    "ItemKind",
    "ItemRevision",
    "NoticeStatus",
    "Operation",
    "OperatorAction",
    "PlannedStep",
    "Plant",
    "PlantState",
    "Routing",
    "RoutingChange",
    "StepKind",
    "StepState",
    "Supplier",
    "System",
    "UnitOfMeasure",
    "UnknownEventType",
    "WorkCenter",
    "compensation_step",
    "idempotency_key",
    "lookup",
    "new_event",
    "next_revision",
    "parse_data",
    "revision_key",
    "step_id",
    "step_transition",
    "withdrawal_step",
]
