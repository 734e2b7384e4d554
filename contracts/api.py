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
  ``NoticeList``.

A withdrawal of something already effective is refused with 409 ``ALREADY_EFFECTIVE``
(``BOM_ALREADY_EFFECTIVE`` for a BOM version), the problem naming ``effective_since``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from contracts.model import BomLines, Code, EcoNumber, ItemKind, Operations, Revision


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


class ItemRevisionReleased(Answer):
    """An item revision ERP has released."""

    item: Code
    revision: Revision
    status: Literal["released"]


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
