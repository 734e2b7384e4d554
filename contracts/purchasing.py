"""The purchasing part of the plan: who supplies an ECO's purchased components, and what
each supplier needs before ERP may buy the new revision from it.

The suppliers come from procurement's approved lists of the affected purchased
components at the affected plants, not from the list PLM copied onto the ECO: PLM's list
is merged in (its suppliers are still notified) and the differences are reported. For
every affected component revision and approved supplier:

- a qualification gap (procurement knows no qualification of the supplier for the
  revision, or only a pending one) plans a qualification request, and the purchasing
  info record step waits for it;
- the purchasing info record is updated and activated in ERP per plant where the plant
  sources locally, and once for all plants sourced centrally. The step itself asks
  procurement for the qualification and the contract before it writes: it waits in
  ``awaiting_qualification`` while procurement has not approved, is blocked with
  procurement's reason when the qualification is rejected, and is blocked as an
  exception for sourcing when no contract covers the component. So no info record is
  ever activated before its qualification is approved, whatever was known at planning.

:class:`Sourcing` is what the engine read from procurement and ERP when it planned the
ECO; the plan is a pure function of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from contracts.model import Code, Eco, Item, ItemKind
from contracts.steps import StepKind

if TYPE_CHECKING:
    from contracts.plan import PlannedStep

CENTRAL = "central"
"""The sourcing mode of a plant whose purchasing is done once, centrally."""


class QualificationStatus(StrEnum):
    """Whether procurement has qualified a supplier for a component revision."""

    QUALIFIED = "qualified"  # approved: ERP may buy the revision from the supplier
    PENDING = "pending"  # requested; sourcing and quality are reviewing it
    REJECTED = "rejected"  # refused, with a reason
    NONE = "none"  # never requested


class ApprovedSource(BaseModel):
    """One approved-list entry: ``supplier`` may supply ``component`` to ``plant``."""

    model_config = ConfigDict(frozen=True)

    component: Code
    plant: Code
    supplier: Code


class Standing(BaseModel):
    """What procurement reports of one supplier for one component revision."""

    model_config = ConfigDict(frozen=True)

    supplier: Code
    component: Code
    revision: str
    qualification: QualificationStatus = QualificationStatus.NONE
    contract: bool = Field(default=False, description="a valid contract covers the component")


class Sourcing(BaseModel):
    """What procurement and ERP said about an ECO's purchased components when it was
    planned: approved lists, qualifications and contracts, each plant's sourcing mode."""

    model_config = ConfigDict(frozen=True)

    approved: tuple[ApprovedSource, ...] = ()
    standings: tuple[Standing, ...] = ()
    modes: Mapping[str, str] = Field(
        default_factory=dict, description="plant -> local or central (absent: local)"
    )

    def standing(self, supplier: str, component: str, revision: str) -> Standing:
        """The supplier's standing for the revision (none known: not qualified, no contract)."""
        for entry in self.standings:
            if (entry.supplier, entry.component, entry.revision) == (supplier, component, revision):
                return entry
        return Standing(supplier=supplier, component=component, revision=revision)


class SupplierDifferences(BaseModel):
    """How PLM's supplier list of an ECO differs from the approved lists."""

    model_config = ConfigDict(frozen=True)

    not_approved: tuple[str, ...] = ()  # on PLM's list, on no approved list of the ECO
    not_listed: tuple[str, ...] = ()  # approved for an affected component, missing in PLM


def purchased_components(eco: Eco, items: Mapping[str, Item]) -> tuple[str, ...]:
    """Affected items that may be bought, in ECO order: those PLM knows as purchased
    components, and those PLM could not say anything about that the ECO does not build
    (no BOM or routing change): procurement's approved lists then tell."""
    built = {c.assembly for c in eco.bom_changes} | {c.item for c in eco.routing_changes}
    return tuple(
        item
        for item in eco.items
        if (items[item].kind is ItemKind.COMPONENT if item in items else item not in built)
    )


def approved_suppliers(
    eco: Eco, items: Mapping[str, Item], sourcing: Sourcing
) -> dict[str, dict[str, tuple[str, ...]]]:
    """component -> supplier -> the affected plants it is approved for, in ECO order."""
    plants = set(eco.plants)
    found: dict[str, dict[str, list[str]]] = {}
    for component in purchased_components(eco, items):
        suppliers = found.setdefault(component, {})
        for plant in eco.plants:
            for entry in sourcing.approved:
                if entry.component == component and entry.plant == plant and plant in plants:
                    suppliers.setdefault(entry.supplier, []).append(plant)
    return {
        component: {supplier: tuple(at) for supplier, at in sorted(suppliers.items())}
        for component, suppliers in found.items()
    }


def suppliers_to_notify(
    eco: Eco, items: Mapping[str, Item], sourcing: Sourcing | None
) -> tuple[tuple[str, ...], SupplierDifferences]:
    """Every supplier the ECO's notice goes to (the approved ones, then PLM's others) and
    how PLM's list differs from the approved lists."""
    if sourcing is None:
        return eco.suppliers, SupplierDifferences()
    approved = sorted(
        {s for suppliers in approved_suppliers(eco, items, sourcing).values() for s in suppliers}
    )
    listed = set(eco.suppliers)
    merged = (*approved, *(s for s in eco.suppliers if s not in set(approved)))
    differences = SupplierDifferences(
        not_approved=tuple(s for s in eco.suppliers if s not in set(approved)),
        not_listed=tuple(s for s in approved if s not in listed),
    )
    return merged, differences


Make = Callable[..., "PlannedStep"]
"""The plan's step maker (``contracts.plan._make``), passed in so there is one of it."""


def purchasing_steps(
    eco: Eco,
    items: Mapping[str, Item],
    sourcing: Sourcing,
    release: Mapping[str, str],
    make: Make,
) -> Iterator[PlannedStep]:
    """The qualification requests and purchasing info record steps of the ECO.

    ``release`` maps each affected item to the step releasing its revision in ERP: an
    info record names the revision, so it waits for it.
    """
    revisions = {a.item: a.new_revision for a in eco.affected_items}
    for component, suppliers in approved_suppliers(eco, items, sourcing).items():
        revision = revisions[component]
        for supplier, plants in suppliers.items():
            standing = sourcing.standing(supplier, component, revision)
            depends = [release[component]]
            if standing.qualification in (QualificationStatus.NONE, QualificationStatus.PENDING):
                request = make(
                    eco,
                    StepKind.QUALIFICATION_REQUEST,
                    item=component,
                    revision=revision,
                    supplier=supplier,
                    payload={
                        "supplier": supplier,
                        "component": component,
                        "revision": revision,
                        "eco": eco.number,
                        "plants": list(plants),
                    },
                )
                depends.append(request.step_id)
                yield request
            local = [p for p in plants if sourcing.modes.get(p, "local") != CENTRAL]
            central = [p for p in plants if sourcing.modes.get(p, "local") == CENTRAL]
            targets: list[tuple[str | None, list[str]]] = [(p, [p]) for p in local]
            if central:
                targets.append((None, central))
            for plant, covered in targets:
                yield make(
                    eco,
                    StepKind.ERP_INFO_RECORD,
                    plant=plant,
                    item=component,
                    revision=revision,
                    supplier=supplier,
                    depends_on=tuple(depends),
                    payload={
                        "supplier": supplier,
                        "component": component,
                        "revision": revision,
                        "plants": covered,
                        "sourcing": CENTRAL if plant is None else "local",
                        "valid_from": eco.effectivity.isoformat(),
                        "planned_qualification": standing.qualification.value,
                        "planned_contract": standing.contract,
                    },
                )
