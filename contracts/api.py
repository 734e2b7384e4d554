"""The reference systems' request and response bodies, shared by the simulators and the
engine's connectors.

The simulators take the requests as bodies and name the answers in ``response_model=``;
the connectors send ``model_dump(mode="json")`` of the requests and ``model_validate`` each
answer once. Requests refuse unknown fields, as the systems do; answers ignore fields
they do not name, so a system may add one without breaking its clients. Times go out
in UTC with a ``Z``.

- PLM: ``EcoPage`` of ``EcoEntry`` (``GET /ecos``), ``EcoEntry`` (``GET /ecos/{number}``),
  ``contracts.model.Item`` (``GET /items/{number}``);
- ERP: ``ItemRevisionRequest`` -> ``ItemRevisionReleased``, ``BomRequest`` ->
  ``BomCreated``, ``BomWithdrawn``, ``RoutingRequest`` -> ``RoutingCreated``,
  ``RoutingWithdrawn``, ``ProductionVersionRequest`` -> ``ProductionVersionStatus``
  (202, then polled), ``ProductionVersionWithdrawn``,
  ``PlantRevisions``, ``PlantItems`` (the item master), ``WorkCenterActivated``;
- MES: ``MesRoutingRequest`` -> ``MesRoutingReleased``, ``PlantRevisions``;
- procurement: ``NoticeRequest`` -> ``Notice``, ``NoticeWithdrawalRequest`` -> ``Notice``,
  ``NoticeList``; qualifications, approved lists, contracts and supplier masters (the
  procurement governance block at the end lists those routes and ERP's purchasing ones).

A withdrawal of something already effective is refused with 409 ``ALREADY_EFFECTIVE``
(``BOM_ALREADY_EFFECTIVE`` for a BOM version), the problem naming ``effective_since``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from contracts.model import (
    BomLines,
    Code,
    Compliance,
    EcoNumber,
    ItemKind,
    ItemRevision,
    Operations,
    Revision,
)


def _in_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


UtcDateTime = Annotated[AwareDatetime, AfterValidator(_in_utc)]
"""A timezone-aware moment, kept in UTC (so it serialises as RFC 3339 with a ``Z``)."""

ProductionVersionState = Literal["pending", "active", "rejected", "withdrawn"]


class Request(BaseModel):
    """Base of request bodies: immutable, unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Answer(BaseModel):
    """Base of response bodies: immutable, unknown fields ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class EcoEntry(Answer):
    """One ECO of PLM's feed at its newest version."""

    updated_at: UtcDateTime
    eco: dict[str, Any] = Field(
        description="the ECO (contracts.model.Eco); kept raw so that a client can reject "
        "a malformed ECO by itself instead of the whole page"
    )


class EcoPage(Answer):
    """A page of PLM's feed, ordered by (updated_at, number)."""

    items: list[EcoEntry]
    next_cursor: str | None = Field(default=None, description="null on the last page for now")


class ItemRevisionRequest(Request):
    """Release an item revision (globally)."""

    description: str = ""
    compliance: Compliance | None = None


class ItemRevisionReleased(Answer):
    """An item revision ERP has released."""

    item: Code
    revision: Revision
    status: Literal["released"]
    compliance: Compliance | None = None


class BomRequest(Request):
    """An effective-dated BOM version of an assembly at one plant."""

    assembly: Code
    revision: Revision
    valid_from: date
    lines: BomLines


class BomCreated(Answer):
    """A BOM version ERP has written, already effective or scheduled for ``valid_from``."""

    bom_id: str
    plant: Code
    assembly: Code
    revision: Revision
    valid_from: date
    status: Literal["scheduled", "effective"]


class BomWithdrawn(Answer):
    """A BOM version ERP has withdrawn before it became effective."""

    bom_id: str
    status: Literal["withdrawn"]


class RoutingWithdrawn(Answer):
    """A routing ERP has withdrawn: no active production version used it."""

    routing_id: str
    status: Literal["withdrawn"]


class RoutingRequest(Request):
    """An item revision's routing at one plant."""

    item: Code
    revision: Revision
    operations: Operations


class RoutingCreated(Answer):
    """A routing ERP has created."""

    routing_id: str
    plant: Code
    item: Code
    revision: Revision
    operations: int = Field(description="how many operations the routing has")
    status: Literal["created"]


class ProductionVersionRequest(Request):
    """A production version: the plant builds ``item`` at ``revision`` once it is active."""

    item: Code
    revision: Revision


class ProductionVersionStatus(Answer):
    """A production version as ERP reports it: answered 202 ``pending``, then polled."""

    id: str
    status: ProductionVersionState
    plant: Code
    item: Code
    revision: Revision
    requested_at: UtcDateTime
    activated_at: UtcDateTime | None = None
    reason: str | None = Field(default=None, description="why ERP rejected it")


class ProductionVersionWithdrawn(Answer):
    """A production version ERP has withdrawn while it was still pending."""

    id: str
    status: Literal["withdrawn"]


class PlantRevisions(Answer):
    """The revision a system (ERP or MES) runs of every item at one plant."""

    plant: Code
    revisions: dict[str, str]


class PlantItem(Answer):
    """One item of a plant's item master and the revision ERP uses of it there."""

    item: Code
    kind: ItemKind
    revision: Revision
    source: Literal["made", "bom"] = Field(
        description="made: the plant builds it (the active production version's revision); "
        "bom: a purchased component its effective BOMs consume (their revision)"
    )


class PlantItems(Answer):
    """ERP's item master at one plant: exactly the items the plant uses."""

    plant: Code
    items: list[PlantItem]


class WorkCenterActivated(Answer):
    """A work center ERP has (re)activated."""

    plant: Code
    work_center: Code
    active: bool


class MesRoutingRequest(Request):
    """A routing released to the shop floor under an active production version."""

    item: Code
    revision: Revision
    production_version: str
    operations: Operations


class MesRoutingReleased(Answer):
    """A routing MES has released to the shop floor."""

    routing_id: str
    plant: Code
    item: Code
    revision: Revision
    production_version: str
    status: Literal["released"]


class NoticeRequest(Request):
    """A change notice to one supplier about one ECO."""

    supplier: Code
    eco: EcoNumber
    items: tuple[Code, ...] = ()
    message: str = ""


class NoticeWithdrawalRequest(Request):
    """Tell a supplier that the change of a notice sent earlier was withdrawn."""

    message: str = ""


class Notice(Answer):
    """A notice procurement has sent: a change, or the withdrawal of an earlier one."""

    id: str
    supplier: Code
    eco: EcoNumber
    items: tuple[Code, ...]
    message: str
    status: Literal["sent"]
    sent_at: UtcDateTime
    kind: Literal["change", "withdrawal"] = "change"
    withdraws: str | None = Field(default=None, description="the notice a withdrawal takes back")


class NoticeList(Answer):
    """Notices sent, oldest first."""

    items: list[Notice]


# --- Procurement governance -------------------------------------------------------------
#
# Routes (every write takes an ``Idempotency-Key``: a replayed key gets its first answer;
# every route is under the system's fault middleware like the rest; errors are problem
# details with a ``code``):
#
# procurement (``/procurement``)
#   GET  /components/{component}/approved-suppliers          -> ApprovedSupplierList
#        the approved manufacturer / supplier list of a purchased component (404
#        COMPONENT_NOT_FOUND for an unknown or non-purchased item)
#   GET  /qualifications?supplier=&component=&revision=&status= -> QualificationList
#   GET  /qualifications/{id}                                 -> Qualification (404
#        QUALIFICATION_NOT_FOUND)
#   POST /qualifications  QualificationRequest                -> Qualification, 201 when
#        opened, 200 with the existing record when one is open or decided for the same
#        (supplier, component, revision); ledger ``qualification.request`` (once per triple).
#        Opens a sourcing task and a quality task; both complete after a seeded delay on the
#        simulators' clock, then the qualification is qualified or (a seeded share)
#        rejected, ledger ``qualification.approve`` / ``qualification.reject`` with no key.
#        422 SUPPLIER_NOT_FOUND, COMPONENT_NOT_FOUND, SUPPLIER_NOT_APPROVED (not on the
#        component's approved list)
#   GET  /contracts?supplier=&component=&on=YYYY-MM-DD         -> ContractList (``on``: only
#        those valid that day)
#   GET  /suppliers                                           -> SupplierMaster
#   GET  /suppliers/{code}                                    -> SupplierRecord
# admin (``/_admin``, no faults)
#   POST /_admin/qualifications/{id}/approve  DecisionRequest -> Qualification; ledger
#        ``qualification.approve``; 409 QUALIFICATION_DECIDED if already rejected
#        (approving a qualified one again answers it unchanged)
#   POST /_admin/qualifications/{id}/reject   DecisionRequest -> Qualification; ledger
#        ``qualification.reject``; 409 QUALIFICATION_DECIDED if already qualified
# ERP (``/erp``)
#   GET  /sourcing-modes                                      -> SourcingModes
#   GET  /plants/{plant}/sourcing-mode                        -> SourcingMode (404
#        PLANT_NOT_FOUND)
#   PUT  /purchasing-info-records  PurchasingInfoRecordRequest -> PurchasingInfoRecord, 201
#        created (ledger ``purchasing_info_record.create``), 200 updated (ledger
#        ``purchasing_info_record.update``; unchanged: no entry). The record is keyed by
#        (supplier, component, revision, plant); ``plant`` is null under central sourcing
#        (one record for every central plant) and required under local sourcing: 422
#        SOURCING_MODE_MISMATCH otherwise. 422 SUPPLIER_NOT_FOUND, ITEM_NOT_FOUND; 409
#        REVISION_NOT_RELEASED (ERP was never sent that item revision)
#   GET  /purchasing-info-records?supplier=&component=&revision=&plant=&status=
#                                                             -> PurchasingInfoRecordList
#   GET  /purchasing-info-records/{id}                        -> PurchasingInfoRecord
#   POST /purchasing-info-records/{id}/activate               -> PurchasingInfoRecord; ledger
#        ``purchasing_info_record.activate`` (once; again: answered unchanged). 409
#        QUALIFICATION_NOT_APPROVED (the problem names ``qualification`` and
#        ``qualification_status``, both null when there is none) unless procurement
#        has qualified that supplier for that component revision. Activation
#        supersedes the record's older active revisions.
#   GET  /purchase-orders?plant=&supplier=&component=&revision= -> PurchaseOrderList (open)
#   GET  /production-orders?plant=&item=&revision=&starts_after=YYYY-MM-DD
#                                                             -> ProductionOrderList (open)
#   GET  /suppliers                                           -> SupplierMaster (ERP's)
# PLM (``/plm``)
#   GET  /items/{number}/revisions                            -> ItemRevisionList (with
#        ``compliance`` on each)
#   GET  /items/{number}/revisions/{revision}                 -> contracts.model.ItemRevision
#   ECOs carry ``compliance`` on each affected item (its new revision's attributes).
#   ERP's ``ItemRevisionRequest`` and ``ItemRevisionReleased`` carry ``compliance`` too.

QualificationState = Literal["pending", "qualified", "rejected"]
SourcingModeName = Literal["local", "central"]
InfoRecordState = Literal["inactive", "active", "superseded"]


class ApprovedSupplier(Answer):
    """One supplier on a component's approved manufacturer list."""

    supplier: Code
    name: str
    manufacturer: str = Field(description="the manufacturer the supplier sources the part from")
    plants: tuple[Code, ...] = Field(description="plants the approval holds for")


class ApprovedSupplierList(Answer):
    """The approved manufacturer / supplier list of one purchased component."""

    component: Code
    suppliers: list[ApprovedSupplier]


class QualificationTask(Answer):
    """A sourcing or quality task a qualification request opened."""

    kind: Literal["sourcing", "quality"]
    status: Literal["open", "done"]
    due_at: UtcDateTime
    completed_at: UtcDateTime | None = None


class Qualification(Answer):
    """A supplier's qualification for one component revision."""

    id: str
    supplier: Code
    component: Code
    revision: Revision
    status: QualificationState
    requested_at: UtcDateTime
    decided_at: UtcDateTime | None = None
    reason: str | None = Field(default=None, description="why it was rejected or decided")
    eco: EcoNumber | None = Field(default=None, description="the ECO that asked for it")
    tasks: tuple[QualificationTask, ...] = ()


class QualificationList(Answer):
    """Qualifications, oldest first."""

    items: list[Qualification]


class QualificationRequest(Request):
    """Ask procurement to qualify a supplier for a component revision."""

    supplier: Code
    component: Code
    revision: Revision
    eco: EcoNumber | None = None
    reason: str = ""


class DecisionRequest(Request):
    """An operator's decision on a qualification (approve or reject), with its reason."""

    reason: str = Field(min_length=1)


class Contract(Answer):
    """A supply contract of one supplier for one component, valid in a date window."""

    id: str
    supplier: Code
    component: Code
    valid_from: date
    valid_to: date | None = Field(default=None, description="null: open-ended")
    price: Decimal
    currency: str


class ContractList(Answer):
    """Contracts, by supplier then component."""

    items: list[Contract]


class SupplierRecord(Answer):
    """One record of a supplier master (procurement's or ERP's)."""

    code: Code
    name: str
    tax_id: str


class SupplierMaster(Answer):
    """A system's supplier master, by code."""

    system: Literal["procurement", "erp"]
    items: list[SupplierRecord]


class SourcingMode(Answer):
    """How a plant buys: its own info records (local) or the central ones (central)."""

    plant: Code
    mode: SourcingModeName


class SourcingModes(Answer):
    """Every plant's sourcing mode."""

    items: list[SourcingMode]


class PurchasingInfoRecordRequest(Request):
    """Create or update the purchasing info record of a supplier for a component revision."""

    supplier: Code
    component: Code
    revision: Revision
    plant: Code | None = Field(default=None, description="null under central sourcing")
    price: Decimal = Field(gt=0, max_digits=14, decimal_places=4)
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")


class PurchasingInfoRecord(Answer):
    """A purchasing info record as ERP keeps it."""

    id: str
    supplier: Code
    component: Code
    revision: Revision
    plant: Code | None
    price: Decimal
    currency: str
    status: InfoRecordState
    updated_at: UtcDateTime
    activated_at: UtcDateTime | None = None


class PurchasingInfoRecordList(Answer):
    """Purchasing info records, by id."""

    items: list[PurchasingInfoRecord]


class PurchaseOrder(Answer):
    """An open purchase order line for a component revision."""

    id: str
    plant: Code
    supplier: Code
    component: Code
    revision: Revision
    due_date: date
    quantity: Decimal
    value: Decimal
    currency: str


class PurchaseOrderList(Answer):
    """Open purchase orders and when ERP answered."""

    read_at: UtcDateTime
    items: list[PurchaseOrder]


class ProductionOrder(Answer):
    """An open production order for an item revision."""

    id: str
    plant: Code
    item: Code
    revision: Revision
    start_date: date
    quantity: Decimal


class ProductionOrderList(Answer):
    """Open production orders and when ERP answered."""

    read_at: UtcDateTime
    items: list[ProductionOrder]


class ItemRevisionList(Answer):
    """An item's released revisions in PLM, oldest first."""

    item: Code
    revisions: list[ItemRevision]
