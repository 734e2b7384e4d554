"""The catalog's purchasing, supplier-master and business-impact events.

Kept beside :mod:`contracts.events`, whose catalog ends with :func:`catalog_entries`. A
qualification's approval or rejection is procurement's fact: procurement may post it to
the collector itself (producer ``procurement``, with its own token), and the engine
records it when its poll sees it, so both own those two types.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import AwareDatetime, Field

from contracts.events import ENGINE, EventData, EventType, StepTransition
from contracts.model import Code, EcoNumber, Revision
from contracts.steps import StepState

PROCUREMENT = "procurement"
"""The procurement platform's producer name, for the qualification answers it posts."""


class StepAwaitingQualification(StepTransition):
    """A purchasing info record waits for procurement to approve the supplier's
    qualification for the component revision."""

    to_state: Literal[StepState.AWAITING_QUALIFICATION]
    qualification_id: str | None = None


class QualificationFact(EventData):
    """About one supplier's qualification for one component revision; its subject is
    ``<supplier>/<component>/<revision>``."""

    supplier: Code
    component: Code
    revision: Revision
    qualification_id: str = Field(min_length=1, max_length=200)
    eco: EcoNumber | None = Field(default=None, description="the ECO that asked for it")

    def event_subject(self) -> str | None:
        return f"{self.supplier}/{self.component}/{self.revision}"


class QualificationRequested(QualificationFact):
    """Threadline asked procurement to qualify a supplier; sourcing and quality review it."""

    plants: list[Code] = Field(default_factory=list)
    requested_at: AwareDatetime


class QualificationApproved(QualificationFact):
    """Procurement approved the qualification: purchasing may activate the info records."""

    approved_at: AwareDatetime


class QualificationRejected(QualificationFact):
    """Procurement rejected the qualification; its info records stay blocked."""

    reason: str = Field(min_length=1)
    rejected_at: AwareDatetime


class InfoRecordActivated(EventData):
    """ERP activated a purchasing info record: plants buy the revision from the supplier."""

    eco: EcoNumber
    supplier: Code
    component: Code
    revision: Revision
    plant: Code | None = Field(default=None, description="None: central sourcing")
    plants: list[Code]
    info_record: str = Field(min_length=1, max_length=200)
    activated_at: AwareDatetime

    def event_subject(self) -> str | None:
        return f"{self.supplier}/{self.component}/{self.revision}"


class SupplierRecordsDuplicated(EventData):
    """Reconciliation found one supplier under two records in procurement and ERP: one tax
    id under two codes, or one code under two names."""

    kind: Literal["tax_id", "code"]
    key: str = Field(min_length=1, max_length=200, description="the tax id or the code shared")
    codes: list[Code] = Field(min_length=1)
    names: list[str] = Field(min_length=1)
    systems: list[Literal["procurement", "erp"]] = Field(min_length=1)
    detail: str = Field(max_length=500)
    resolved: bool = Field(default=False, description="the records are one again")

    def event_subject(self) -> str | None:
        return f"{self.kind}/{self.key}"


class ImpactAssessed(EventData):
    """What a stuck ECO or a (plant, item) behind puts at risk, read from ERP at
    ``read_at``: open purchase orders still buying the superseded component revision and
    open production orders after the effectivity date on the superseded BOM or routing."""

    eco: EcoNumber | None = None
    plant: Code | None = None
    item: Code | None = None
    superseded_revision: Revision | None = None
    purchase_orders: int = Field(ge=0)
    purchase_value: float = Field(ge=0)
    earliest_due: date | None = None
    production_orders: int = Field(ge=0)
    production_quantity: float = Field(ge=0)
    earliest_start: date | None = None
    read_at: AwareDatetime

    def event_subject(self) -> str | None:
        if self.plant and self.item:
            return f"{self.plant}/{self.item}"
        return self.eco


def catalog_entries() -> list[EventType]:
    """This module's types, for :data:`contracts.events.CATALOG` (their one registry)."""
    both = frozenset({ENGINE, PROCUREMENT})
    return [
        EventType(
            "io.threadline.step.awaiting_qualification.v1",
            StepAwaitingQualification,
            "Info record held until the supplier is qualified",
        ),
        EventType(
            "io.threadline.procurement.qualification_requested.v1",
            QualificationRequested,
            "Supplier qualification requested",
        ),
        EventType(
            "io.threadline.procurement.qualification_approved.v1",
            QualificationApproved,
            "Supplier qualification approved",
            both,
        ),
        EventType(
            "io.threadline.procurement.qualification_rejected.v1",
            QualificationRejected,
            "Supplier qualification rejected",
            both,
        ),
        EventType(
            "io.threadline.erp.info_record_activated.v1",
            InfoRecordActivated,
            "Purchasing info record activated",
        ),
        EventType(
            "io.threadline.supplier.records_duplicated.v1",
            SupplierRecordsDuplicated,
            "Supplier records duplicated across procurement and ERP",
        ),
        EventType(
            "io.threadline.eco.impact_assessed.v1",
            ImpactAssessed,
            "Open orders at risk assessed",
        ),
    ]
