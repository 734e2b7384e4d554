"""The plan: a pure function from an ECO to its propagation steps (DESIGN.md section 3).

The engine stores these steps and the simulators' history plays them out, so both name
the same steps, dependencies and idempotency keys.

For every affected item the ECO releases the new revision in ERP once (globally). For
every plant it writes the effective-dated BOM of each changed assembly and each changed
routing; then, for every item the plant builds in-house, it requests a production
version and waits for ERP to confirm it; only then does MES get the new routing (where
the ECO changes one: MES keeps running the routing it has otherwise). Every
affected supplier is notified once the item revisions are released.

With what procurement and ERP report of the purchased components (``sourcing``), the
suppliers come from the approved lists and each gets its purchasing info records, after
its qualification where there is a gap (:mod:`contracts.purchasing`).

A production version waits for every BOM and routing of its plant in the ECO, so a
business rejection anywhere in a plant holds the whole plant back: no plant is left
half-synchronised.

A cancelled or superseded ECO is compensated per target (:func:`compensation`): what it
wrote and is not known to be effective is withdrawn, suppliers already notified are told,
and what is effective is left for a new ECO to revert. The engine and the history both
plan their withdrawals with it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from contracts.model import Eco, Item, ItemKind, RoutingChange
from contracts.purchasing import Sourcing, purchasing_steps, suppliers_to_notify
from contracts.steps import WITHDRAWAL_OF, StepKind, System, step_id

BUILT_IN_HOUSE = frozenset({ItemKind.FINISHED_GOOD, ItemKind.ASSEMBLY})


class StepTarget(BaseModel):
    """Which step, of which ECO, on which target: what a planned step and an applied
    write have in common."""

    model_config = ConfigDict(frozen=True)

    step_id: str
    eco: str
    kind: StepKind
    plant: str | None = None
    item: str | None = None
    revision: str | None = None
    supplier: str | None = None


class PlannedStep(StepTarget):
    """One step of an ECO's plan, before it is stored."""

    depends_on: tuple[str, ...] = ()
    idempotency_key: str
    payload: dict[str, Any]

    @property
    def system(self) -> System:
        """The system the step calls."""
        return self.kind.system


def idempotency_key(
    eco: str, kind: StepKind, target: str, revision: str | None, generation: int = 0
) -> str:
    """A stable key from (ECO, step, target, revision): the same on every engine and run.

    ``generation`` is raised only when an operator retries a step the system rejected as a
    business error: nothing was applied then, and the system answers a repeated key with
    its first (rejecting) response.
    """
    parts = [eco, kind.value, target, revision or "-"]
    if generation:
        parts.append(f"g{generation}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:40]


def _make(
    eco: Eco,
    kind: StepKind,
    *,
    plant: str | None = None,
    item: str | None = None,
    revision: str | None = None,
    supplier: str | None = None,
    depends_on: tuple[str, ...] = (),
    payload: dict[str, Any],
) -> PlannedStep:
    # A purchasing step is about a component from one supplier: both name its target.
    target = f"{item}:{supplier}" if item and supplier else item or supplier
    sid = step_id(eco.number, kind, plant, target)
    return PlannedStep(
        step_id=sid,
        eco=eco.number,
        kind=kind,
        plant=plant,
        item=item,
        revision=revision,
        supplier=supplier,
        depends_on=tuple(sorted(set(depends_on))),
        idempotency_key=idempotency_key(
            eco.number, kind, f"{plant or '-'}/{target or '-'}", revision
        ),
        payload=payload,
    )


def built_in_house(eco: Eco, items: Mapping[str, Item]) -> tuple[str, ...]:
    """Affected items that plants build (so need a production version), in ECO order.

    An item is built in-house if PLM says it is an assembly or finished good, or if the ECO
    changes its BOM or a routing of it (PLM data missing must not drop a change).
    """
    changed = {c.assembly for c in eco.bom_changes} | {c.item for c in eco.routing_changes}
    return tuple(
        item
        for item in eco.items
        if item in changed or (item in items and items[item].kind in BUILT_IN_HOUSE)
    )


def plan(
    eco: Eco, items: Mapping[str, Item], sourcing: Sourcing | None = None
) -> tuple[PlannedStep, ...]:
    """The ECO's steps with their dependencies, in a stable order.

    ``items`` holds PLM's record of the affected items (kind and description); an item
    missing from it is planned from the ECO alone. Without ``sourcing`` the notices go to
    PLM's suppliers and no purchasing is planned.
    """
    steps: list[PlannedStep] = []
    revisions = {a.item: a.new_revision for a in eco.affected_items}
    release: dict[str, str] = {}
    for affected in eco.affected_items:
        record = items.get(affected.item)
        step = _make(
            eco,
            StepKind.ERP_ITEM_REVISION,
            item=affected.item,
            revision=affected.new_revision,
            payload={
                "item": affected.item,
                "revision": affected.new_revision,
                "description": record.description if record else eco.title,
                # ERP's item revision carries what PLM declared (RoHS, REACH, ...).
                **(
                    {"compliance": affected.compliance.model_dump(mode="json")}
                    if affected.compliance is not None
                    else {}
                ),
            },
        )
        release[affected.item] = step.step_id
        steps.append(step)

    routings: dict[tuple[str, str], RoutingChange] = {
        (c.item, c.plant): c for c in eco.routing_changes
    }
    in_house = built_in_house(eco, items)
    for plant in eco.plants:
        plant_writes: list[str] = []
        for bom in eco.bom_changes:
            components = [line.component for line in bom.lines if line.component in release]
            step = _make(
                eco,
                StepKind.ERP_BOM,
                plant=plant,
                item=bom.assembly,
                revision=bom.revision,
                depends_on=(release[bom.assembly], *(release[c] for c in components)),
                payload={
                    "assembly": bom.assembly,
                    "revision": bom.revision,
                    "valid_from": eco.effectivity.isoformat(),
                    "lines": [line.model_dump(mode="json") for line in bom.lines],
                },
            )
            plant_writes.append(step.step_id)
            steps.append(step)
        for (item, routing_plant), change in routings.items():
            if routing_plant != plant:
                continue
            step = _make(
                eco,
                StepKind.ERP_ROUTING,
                plant=plant,
                item=item,
                revision=change.revision,
                depends_on=(release[item],),
                payload={
                    "item": item,
                    "revision": change.revision,
                    "operations": [op.model_dump(mode="json") for op in change.operations],
                },
            )
            plant_writes.append(step.step_id)
            steps.append(step)
        for item in in_house:
            revision = revisions[item]
            version = _make(
                eco,
                StepKind.ERP_PRODUCTION_VERSION,
                plant=plant,
                item=item,
                revision=revision,
                depends_on=(release[item], *plant_writes),
                payload={"item": item, "revision": revision},
            )
            confirmation = _make(
                eco,
                StepKind.ERP_CONFIRMATION,
                plant=plant,
                item=item,
                revision=revision,
                depends_on=(version.step_id,),
                payload={"item": item, "revision": revision},
            )
            steps.extend((version, confirmation))
            routed = routings.get((item, plant))
            if routed is None:
                continue
            steps.append(
                _make(
                    eco,
                    StepKind.MES_ROUTING,
                    plant=plant,
                    item=item,
                    revision=revision,
                    depends_on=(confirmation.step_id,),
                    payload={
                        "item": item,
                        "revision": revision,
                        "operations": [op.model_dump(mode="json") for op in routed.operations],
                    },
                )
            )

    steps.extend(
        _make(
            eco,
            StepKind.SUPPLIER_NOTICE,
            supplier=supplier,
            depends_on=tuple(release.values()),
            payload={
                "supplier": supplier,
                "eco": eco.number,
                "items": list(eco.items),
                "message": (f"{eco.number} {eco.title}: effective {eco.effectivity.isoformat()}"),
            },
        )
        for supplier in suppliers_to_notify(eco, items, sourcing)[0]
    )
    if sourcing is not None:
        steps.extend(purchasing_steps(eco, items, sourcing, release, _make))
    return tuple(steps)


def withdrawal_step(eco: str, plant: str, assembly: str, revision: str, bom_id: str) -> PlannedStep:
    """The compensating step that withdraws a BOM version written for a cancelled ECO."""
    return compensation_step(
        eco, StepKind.ERP_BOM, plant=plant, item=assembly, revision=revision, external_id=bom_id
    )


def compensation_step(
    eco: str,
    kind: StepKind,
    *,
    plant: str | None = None,
    item: str | None = None,
    revision: str | None = None,
    supplier: str | None = None,
    external_id: str,
    depends_on: tuple[str, ...] = (),
) -> PlannedStep:
    """The step that takes back what a step of ``kind`` applied for a cancelled ECO.

    ``external_id`` is what the system answered the write with (the BOM, routing,
    production version or notice id). The withdrawal has its own key, from the same
    (ECO, kind, target, revision) as any step.
    """
    withdrawal = WITHDRAWAL_OF[kind]
    target = item or supplier
    payload: dict[str, Any]
    match withdrawal:
        case StepKind.ERP_BOM_WITHDRAWAL:
            payload = {"bom_id": external_id}
        case StepKind.ERP_ROUTING_WITHDRAWAL:
            payload = {"routing_id": external_id}
        case StepKind.ERP_PRODUCTION_VERSION_WITHDRAWAL:
            payload = {"production_version": external_id}
        case _:
            payload = {
                "notice_id": external_id,
                "message": f"{eco} was withdrawn: disregard its change notice",
            }
    return PlannedStep(
        step_id=step_id(eco, withdrawal, plant, target),
        eco=eco,
        kind=withdrawal,
        plant=plant,
        item=item,
        revision=revision,
        supplier=supplier,
        depends_on=tuple(sorted(set(depends_on))),
        idempotency_key=idempotency_key(
            eco, withdrawal, f"{plant or '-'}/{target or '-'}", revision
        ),
        payload=payload,
    )


class AppliedWrite(StepTarget):
    """A step of a cancelled ECO that had succeeded: what compensation needs to know of it."""

    external_id: str | None = None
    """What the system answered the write with (BOM, routing, production version or
    notice id); a write without one cannot be withdrawn."""
    effective_when_written: bool = False
    """ERP answered the BOM version effective (its ``valid_from`` had come)."""
    plant_confirmed: bool = False
    """ERP had confirmed the plant's production version of the item active."""


class Compensation(BaseModel):
    """What a cancelled ECO's compensation does with the writes it applied."""

    model_config = ConfigDict(frozen=True)

    withdrawals: tuple[PlannedStep, ...]
    """The withdrawal steps, in the order of the writes, with their dependencies."""
    left_effective: tuple[AppliedWrite, ...]
    """Writes known to be effective: left in place for a new ECO to revert."""


def known_effective(write: AppliedWrite) -> bool:
    """Whether a succeeded write is effective by what the engine itself saw: a BOM version
    ERP answered effective, a routing or production version of a plant whose production
    version ERP confirmed active, a routing MES released (MES runs it)."""
    match write.kind:
        case StepKind.ERP_BOM:
            return write.effective_when_written
        case StepKind.ERP_ROUTING | StepKind.ERP_PRODUCTION_VERSION:
            return write.plant_confirmed
        case StepKind.MES_ROUTING:
            return True
        case _:
            return False


def compensation(writes: Iterable[AppliedWrite]) -> Compensation:
    """Which of a cancelled ECO's succeeded writes are withdrawn, and in what order.

    Every write not known effective that has a withdrawal (``WITHDRAWAL_OF``) and an
    external id is withdrawn; item revisions and confirmations are neither. A routing's
    withdrawal waits for its plant's production version to be withdrawn first, so ERP
    never keeps a version whose routing is gone. What ERP finds effective meanwhile it
    refuses to withdraw, and the withdrawal records since when.
    """
    applied: list[AppliedWrite] = []
    effective: list[AppliedWrite] = []
    for write in writes:
        if known_effective(write):
            effective.append(write)
        elif write.kind in WITHDRAWAL_OF and write.external_id:
            applied.append(write)
    versions = {
        (w.plant, w.item): w.step_id for w in applied if w.kind is StepKind.ERP_PRODUCTION_VERSION
    }
    planned = {
        w.step_id: compensation_step(
            w.eco,
            w.kind,
            plant=w.plant,
            item=w.item,
            revision=w.revision,
            supplier=w.supplier,
            external_id=w.external_id or "",
        )
        for w in applied
    }
    for write in applied:
        version = versions.get((write.plant, write.item))
        if write.kind is StepKind.ERP_ROUTING and version is not None:
            planned[write.step_id] = planned[write.step_id].model_copy(
                update={"depends_on": (planned[version].step_id,)}
            )
    return Compensation(withdrawals=tuple(planned.values()), left_effective=tuple(effective))
