"""The canonical model: plants, items, revisions, BOMs, routings, suppliers and the ECO.

Every record is a frozen pydantic model. Validation reports every problem at once, each
with its field path: rules that span fields are field validators reading the fields
declared before them, so one bad field never hides another.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

REVISION_PATTERN = r"^[A-Z]{1,3}$"
ECO_NUMBER_PATTERN = r"^ECO-\d{4}-\d{5}$"


class Frozen(BaseModel):
    """Base of every canonical record: immutable, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def revision_key(revision: str) -> tuple[int, str]:
    """Sort key for revisions: ``A < B < ... < Z < AA < AB``."""
    return (len(revision), revision)


def next_revision(revision: str | None) -> str:
    """The revision after ``revision`` (``None`` -> ``A``, ``Z`` -> ``AA``)."""
    if revision is None:
        return "A"
    letters = list(revision)
    i = len(letters) - 1
    while i >= 0:
        if letters[i] != "Z":
            letters[i] = chr(ord(letters[i]) + 1)
            return "".join(letters)
        letters[i] = "A"
        i -= 1
    return "A" + "".join(letters)


Revision = Annotated[str, Field(pattern=REVISION_PATTERN, examples=["A", "B", "AA"])]
Code = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Z0-9][A-Z0-9._-]*$")]
EcoNumber = Annotated[str, Field(pattern=ECO_NUMBER_PATTERN, examples=["ECO-2026-00042"])]


def _valid_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc
    return name


TimeZone = Annotated[str, AfterValidator(_valid_timezone)]


class UnitOfMeasure(StrEnum):
    """Units a BOM line may be counted in."""

    EACH = "EA"  # pieces
    KILOGRAM = "KG"
    GRAM = "G"
    METRE = "M"
    MILLIMETRE = "MM"
    LITRE = "L"
    MILLILITRE = "ML"
    SQUARE_METRE = "M2"
    SET = "SET"  # a kit counted as one


class ItemKind(StrEnum):
    """What an item is in the product structure."""

    FINISHED_GOOD = "finished_good"  # sold, top of a BOM
    ASSEMBLY = "assembly"  # built in-house from other items
    COMPONENT = "component"  # purchased from suppliers


class Plant(Frozen):
    """A manufacturing site."""

    code: Code
    name: str = Field(min_length=1)
    timezone: TimeZone


class WorkCenter(Frozen):
    """Where an operation runs; an inactive one accepts no routing."""

    code: Code
    plant: Code
    name: str = Field(min_length=1)
    active: bool = True


class Item(Frozen):
    """A part number."""

    number: Code
    description: str = Field(min_length=1)
    kind: ItemKind
    product_family: str = Field(min_length=1)
    uom: UnitOfMeasure = UnitOfMeasure.EACH


COMPLIANCE_FIELDS = ("rohs", "reach", "conflict_minerals", "country_of_origin")
"""The attributes a regulated item revision must carry, in the order they are reported."""


class Compliance(Frozen):
    """An item revision's regulatory attributes; ``None`` where PLM has no declaration.

    ``regulated`` says whether the rules apply (purchased components and finished goods
    are regulated, in-house assemblies inherit from their components); a regulated revision
    lacking any of ``COMPLIANCE_FIELDS`` is not releasable.
    """

    regulated: bool
    rohs: Literal["compliant", "exempt", "non_compliant"] | None = None
    reach: Literal["compliant", "svhc_declared", "non_compliant"] | None = None
    conflict_minerals: Literal["conflict_free", "not_applicable", "undeterminable"] | None = None
    country_of_origin: str | None = Field(
        default=None, pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2"
    )

    def missing(self) -> tuple[str, ...]:
        """The attributes a regulated revision lacks (empty when unregulated or complete)."""
        if not self.regulated:
            return ()
        return tuple(name for name in COMPLIANCE_FIELDS if getattr(self, name) is None)


class ItemRevision(Frozen):
    """One released revision of an item."""

    item: Code
    revision: Revision
    description: str = ""
    released_at: AwareDatetime | None = None
    compliance: Compliance | None = None


class BomLine(Frozen):
    """One component of an assembly."""

    position: int = Field(gt=0)
    component: Code
    quantity: Decimal = Field(gt=0, max_digits=12, decimal_places=4)
    uom: UnitOfMeasure


NON_EMPTY = Field(json_schema_extra={"minItems": 1})
"""Marks a tuple that must not be empty; checked in its after-validator, because a
``min_length`` constraint also fires, misleadingly, when one of the elements is invalid."""


def _require_items(values: tuple[Any, ...], what: str) -> None:
    if not values:
        raise ValueError(f"at least one {what} is required")


def _no_duplicate_lines(lines: tuple[BomLine, ...]) -> tuple[BomLine, ...]:
    _require_items(lines, "line")
    positions = [line.position for line in lines]
    components = [line.component for line in lines]
    dup_positions = sorted({p for p in positions if positions.count(p) > 1})
    dup_components = sorted({c for c in components if components.count(c) > 1})
    problems = []
    if dup_positions:
        problems.append(f"duplicate positions {dup_positions}")
    if dup_components:
        problems.append(f"duplicate components {dup_components}")
    if problems:
        raise ValueError("; ".join(problems))
    return lines


BomLines = Annotated[tuple[BomLine, ...], NON_EMPTY, AfterValidator(_no_duplicate_lines)]


class Bom(Frozen):
    """An assembly's bill of materials at one plant, valid in a date window."""

    assembly: Code
    revision: Revision
    plant: Code
    valid_from: date
    valid_to: date | None = None
    lines: BomLines

    @field_validator("valid_to")
    @classmethod
    def _window_not_empty(cls, valid_to: date | None, info: ValidationInfo) -> date | None:
        valid_from = info.data.get("valid_from")
        if valid_to is not None and valid_from is not None and valid_to <= valid_from:
            raise ValueError(f"valid_to {valid_to} must be after valid_from {valid_from}")
        return valid_to


class Operation(Frozen):
    """One step of a routing."""

    number: int = Field(gt=0)
    work_center: Code
    description: str = Field(min_length=1)
    setup_minutes: Decimal = Field(default=Decimal(0), ge=0)
    run_minutes: Decimal = Field(default=Decimal(0), ge=0)


def _no_duplicate_operations(ops: tuple[Operation, ...]) -> tuple[Operation, ...]:
    _require_items(ops, "operation")
    numbers = [op.number for op in ops]
    dups = sorted({n for n in numbers if numbers.count(n) > 1})
    if dups:
        raise ValueError(f"duplicate operation numbers {dups}")
    return ops


Operations = Annotated[tuple[Operation, ...], NON_EMPTY, AfterValidator(_no_duplicate_operations)]


class Routing(Frozen):
    """How an item revision is made at one plant."""

    item: Code
    revision: Revision
    plant: Code
    operations: Operations


class Supplier(Frozen):
    """A supplier and the components it is an approved manufacturer of."""

    code: Code
    name: str = Field(min_length=1)
    contact_email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    components: tuple[Code, ...] = ()


class AffectedItem(Frozen):
    """An item the ECO moves from one revision to the next."""

    item: Code
    old_revision: Revision | None = None
    new_revision: Revision
    compliance: Compliance | None = Field(
        default=None, description="the new revision's attributes as PLM holds them"
    )

    @field_validator("new_revision")
    @classmethod
    def _goes_forward(cls, new: str, info: ValidationInfo) -> str:
        old = info.data.get("old_revision")
        if old is not None and revision_key(new) <= revision_key(old):
            raise ValueError(f"revision {new} must be greater than the revision {old} it replaces")
        return new


class BomChange(Frozen):
    """The new BOM of an assembly revision (the same at every affected plant)."""

    assembly: Code
    revision: Revision
    lines: BomLines


class RoutingChange(Frozen):
    """The new routing of an item revision at one plant."""

    item: Code
    revision: Revision
    plant: Code
    operations: Operations


class EcoStatus(StrEnum):
    """An ECO's status in PLM."""

    APPROVED = "approved"  # released for propagation
    CANCELLED = "cancelled"  # withdrawn in PLM
    SUPERSEDED = "superseded"  # replaced by a later ECO


def _unique(values: tuple[str, ...], what: str) -> tuple[str, ...]:
    dups = sorted({v for v in values if values.count(v) > 1})
    if dups:
        raise ValueError(f"duplicate {what} {dups}")
    return values


class Eco(Frozen):
    """An approved engineering change order, as PLM publishes it."""

    number: EcoNumber
    title: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1)
    status: EcoStatus = EcoStatus.APPROVED
    approved_at: AwareDatetime
    effectivity: date
    affected_items: tuple[AffectedItem, ...] = NON_EMPTY
    plants: tuple[Code, ...] = NON_EMPTY
    suppliers: tuple[Code, ...] = ()
    bom_changes: tuple[BomChange, ...] = ()
    routing_changes: tuple[RoutingChange, ...] = ()
    superseded_by: EcoNumber | None = None

    @field_validator("effectivity")
    @classmethod
    def _not_before_approval(cls, effectivity: date, info: ValidationInfo) -> date:
        approved_at = info.data.get("approved_at")
        if approved_at is not None and effectivity < approved_at.astimezone(UTC).date():
            raise ValueError(
                f"effectivity {effectivity} is before approval on {approved_at.date()}"
            )
        return effectivity

    @field_validator("affected_items")
    @classmethod
    def _items_unique(cls, items: tuple[AffectedItem, ...]) -> tuple[AffectedItem, ...]:
        _require_items(items, "affected item")
        _unique(tuple(i.item for i in items), "items")
        return items

    @field_validator("bom_changes")
    @classmethod
    def _boms_match_items(
        cls, changes: tuple[BomChange, ...], info: ValidationInfo
    ) -> tuple[BomChange, ...]:
        _unique(tuple(c.assembly for c in changes), "BOM assemblies")
        problems = _revision_problems(changes, info, lambda c: (c.assembly, c.revision))
        if problems:
            raise ValueError("; ".join(problems))
        return changes

    @field_validator("routing_changes")
    @classmethod
    def _routings_match_items(
        cls, changes: tuple[RoutingChange, ...], info: ValidationInfo
    ) -> tuple[RoutingChange, ...]:
        _unique(tuple(f"{c.item}@{c.plant}" for c in changes), "routing changes")
        problems = _revision_problems(changes, info, lambda c: (c.item, c.revision))
        plants = info.data.get("plants")
        stray = sorted({c.plant for c in changes} - set(plants or ()))
        if plants is not None and stray:
            problems.append(f"plants {stray} are not affected by the ECO")
        if problems:
            raise ValueError("; ".join(problems))
        return changes

    @field_validator("plants")
    @classmethod
    def _plants_unique(cls, plants: tuple[str, ...]) -> tuple[str, ...]:
        _require_items(plants, "plant")
        return _unique(plants, "plants")

    @field_validator("suppliers")
    @classmethod
    def _suppliers_unique(cls, suppliers: tuple[str, ...]) -> tuple[str, ...]:
        return _unique(suppliers, "suppliers")

    @property
    def items(self) -> tuple[str, ...]:
        """Every item number the ECO touches."""
        return tuple(i.item for i in self.affected_items)

    def new_revision_of(self, item: str) -> str | None:
        """The revision the ECO moves ``item`` to, if it touches it."""
        for affected in self.affected_items:
            if affected.item == item:
                return affected.new_revision
        return None


def _revision_problems(changes: Any, info: ValidationInfo, key: Any) -> list[str]:
    affected = info.data.get("affected_items")
    if affected is None:
        return []
    targets = {a.item: a.new_revision for a in affected}
    problems = []
    for change in changes:
        item, revision = key(change)
        if item not in targets:
            problems.append(f"{item} is not an affected item")
        elif targets[item] != revision:
            problems.append(f"{item} revision {revision} is not the new revision {targets[item]}")
    return problems


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)
