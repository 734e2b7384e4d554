from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.model import Eco, Item, ItemKind
from contracts.plan import (
    AppliedWrite,
    PlannedStep,
    compensation,
    compensation_step,
    idempotency_key,
    plan,
    step_id,
)
from contracts.steps import StepKind
from tests.factories import ITEMS, make_eco


def _by_id(steps: tuple[PlannedStep, ...]) -> dict[str, PlannedStep]:
    return {s.step_id: s for s in steps}


def _ancestors(steps: dict[str, PlannedStep], sid: str) -> set[str]:
    seen: set[str] = set()
    todo = list(steps[sid].depends_on)
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(steps[current].depends_on)
    return seen


def test_the_example_eco_is_planned_per_design() -> None:
    steps = plan(make_eco(), ITEMS)
    ids = [s.step_id for s in steps]
    eco = "ECO-2026-00042"
    assert ids == [
        f"{eco}/erp.item_revision/-/ASM-1001",
        f"{eco}/erp.item_revision/-/CMP-2001",
        f"{eco}/erp.bom/P100/ASM-1001",
        f"{eco}/erp.routing/P100/ASM-1001",
        f"{eco}/erp.production_version/P100/ASM-1001",
        f"{eco}/erp.confirmation/P100/ASM-1001",
        f"{eco}/mes.routing/P100/ASM-1001",
        f"{eco}/erp.bom/P200/ASM-1001",
        f"{eco}/erp.production_version/P200/ASM-1001",
        f"{eco}/erp.confirmation/P200/ASM-1001",
        f"{eco}/procurement.supplier_notice/-/S010",
    ]
    by_id = _by_id(steps)
    pv = by_id[f"{eco}/erp.production_version/P100/ASM-1001"]
    assert set(pv.depends_on) == {
        f"{eco}/erp.item_revision/-/ASM-1001",
        f"{eco}/erp.bom/P100/ASM-1001",
        f"{eco}/erp.routing/P100/ASM-1001",
    }
    bom = by_id[f"{eco}/erp.bom/P100/ASM-1001"]
    # The BOM names a component whose new revision the ECO releases: released first.
    assert f"{eco}/erp.item_revision/-/CMP-2001" in bom.depends_on
    assert bom.payload["valid_from"] == "2026-03-16"
    assert by_id[f"{eco}/erp.item_revision/-/ASM-1001"].payload["description"] == "Pump housing"
    assert by_id[f"{eco}/mes.routing/P100/ASM-1001"].payload["operations"][0]["work_center"] == (
        "WC-P100-01"
    )


def test_a_purchased_component_gets_no_production_version() -> None:
    eco = make_eco(
        affected_items=[{"item": "CMP-2001", "old_revision": "A", "new_revision": "B"}],
        bom_changes=[],
        routing_changes=[],
    )
    kinds = [s.kind for s in plan(eco, ITEMS)]
    assert kinds == [StepKind.ERP_ITEM_REVISION, StepKind.SUPPLIER_NOTICE]


def test_an_item_unknown_to_plm_is_planned_from_the_eco() -> None:
    steps = plan(make_eco(), {})
    assert f"{make_eco().number}/erp.production_version/P200/ASM-1001" in _by_id(steps)
    assert not any(
        s.kind is StepKind.ERP_PRODUCTION_VERSION and s.item == "CMP-2001" for s in steps
    )


def test_step_ids_follow_the_agreed_shape() -> None:
    assert step_id("ECO-2026-00042", StepKind.ERP_ROUTING, "P100", "ASM-1001") == (
        "ECO-2026-00042/erp.routing/P100/ASM-1001"
    )
    assert step_id("ECO-2026-00042", StepKind.SUPPLIER_NOTICE, None, "S010") == (
        "ECO-2026-00042/procurement.supplier_notice/-/S010"
    )


def test_idempotency_keys_change_with_every_input() -> None:
    base = idempotency_key("ECO-2026-00042", StepKind.ERP_BOM, "P100/ASM-1001", "C")
    assert base == idempotency_key("ECO-2026-00042", StepKind.ERP_BOM, "P100/ASM-1001", "C")
    others = {
        idempotency_key("ECO-2026-00043", StepKind.ERP_BOM, "P100/ASM-1001", "C"),
        idempotency_key("ECO-2026-00042", StepKind.ERP_ROUTING, "P100/ASM-1001", "C"),
        idempotency_key("ECO-2026-00042", StepKind.ERP_BOM, "P200/ASM-1001", "C"),
        idempotency_key("ECO-2026-00042", StepKind.ERP_BOM, "P100/ASM-1001", "D"),
        idempotency_key("ECO-2026-00042", StepKind.ERP_BOM, "P100/ASM-1001", "C", 1),
    }
    assert base not in others and len(others) == 5


def _written(
    step: PlannedStep, *, effective: bool = False, confirmed: bool = False, answered: bool = True
) -> AppliedWrite:
    return AppliedWrite(
        step_id=step.step_id,
        eco=step.eco,
        kind=step.kind,
        plant=step.plant,
        item=step.item,
        revision=step.revision,
        supplier=step.supplier,
        external_id=f"X-{step.kind.value}-{step.plant}" if answered else None,
        effective_when_written=effective,
        plant_confirmed=confirmed,
    )


def test_a_cancelled_eco_withdraws_what_is_not_effective_and_leaves_what_is() -> None:
    """P100 confirmed its version (its BOM was effective when written); P200 still waits:
    P200's BOM and version are withdrawn, the supplier told, P100 left for a new ECO."""
    eco = "ECO-2026-00042"
    writes = [
        _written(s, effective=s.plant == "P100", confirmed=s.plant == "P100")
        for s in plan(make_eco(), ITEMS)
        if s.step_id != f"{eco}/erp.confirmation/P200/ASM-1001"
    ]
    planned = compensation(writes)
    assert [w.step_id for w in planned.withdrawals] == [
        f"{eco}/erp.bom_withdrawal/P200/ASM-1001",
        f"{eco}/erp.production_version_withdrawal/P200/ASM-1001",
        f"{eco}/procurement.withdrawal_notice/-/S010",
    ]
    assert planned.withdrawals[0].payload == {"bom_id": "X-erp.bom-P200"}
    assert planned.withdrawals[1].payload == {"production_version": "X-erp.production_version-P200"}
    assert all(not w.depends_on for w in planned.withdrawals)
    assert {(w.kind, w.plant) for w in planned.left_effective} == {
        (StepKind.ERP_BOM, "P100"),
        (StepKind.ERP_ROUTING, "P100"),
        (StepKind.ERP_PRODUCTION_VERSION, "P100"),
        (StepKind.MES_ROUTING, "P100"),
    }


def test_a_routing_is_withdrawn_after_its_plants_version() -> None:
    steps = {s.kind: s for s in plan(make_eco(), ITEMS) if s.plant == "P100"}
    routing, version = steps[StepKind.ERP_ROUTING], steps[StepKind.ERP_PRODUCTION_VERSION]
    planned = compensation([_written(routing), _written(version)])
    withdraw_routing, withdraw_version = planned.withdrawals
    assert withdraw_routing == compensation_step(
        routing.eco,
        StepKind.ERP_ROUTING,
        plant="P100",
        item="ASM-1001",
        revision=routing.revision,
        external_id="X-erp.routing-P100",
        depends_on=(withdraw_version.step_id,),
    )
    assert withdraw_version.kind is StepKind.ERP_PRODUCTION_VERSION_WITHDRAWAL
    assert not withdraw_version.depends_on
    # Without the version's withdrawal (its request never went out) nothing holds it.
    (alone,) = compensation([_written(routing)]).withdrawals
    assert alone.kind is StepKind.ERP_ROUTING_WITHDRAWAL and not alone.depends_on
    assert planned.left_effective == ()


def test_what_has_no_withdrawal_or_no_answer_is_neither_withdrawn_nor_left() -> None:
    steps = plan(make_eco(), ITEMS)
    releases = [s for s in steps if s.kind is StepKind.ERP_ITEM_REVISION]
    confirmations = [s for s in steps if s.kind is StepKind.ERP_CONFIRMATION]
    unanswered = [_written(s, answered=False) for s in steps if s.kind is StepKind.ERP_BOM]
    planned = compensation([*map(_written, releases + confirmations), *unanswered])
    assert planned.withdrawals == () and planned.left_effective == ()
    # A BOM ERP took as effective is left whatever else is known of its plant.
    bom = next(s for s in steps if s.kind is StepKind.ERP_BOM)
    left = compensation([_written(bom, effective=True)])
    assert left.withdrawals == () and [w.step_id for w in left.left_effective] == [bom.step_id]


PLANTS = ["P100", "P200", "P300", "P400"]
ITEM_NUMBERS = ["ASM-1001", "ASM-1002", "FG-3001", "CMP-2001", "CMP-2002"]


@st.composite
def ecos(draw: st.DrawFn) -> tuple[Eco, dict[str, Item]]:
    items = draw(st.lists(st.sampled_from(ITEM_NUMBERS), min_size=1, max_size=5, unique=True))
    plants = draw(st.lists(st.sampled_from(PLANTS), min_size=1, max_size=4, unique=True))
    built = [i for i in items if not i.startswith("CMP")]
    boms = draw(st.lists(st.sampled_from(built), unique=True)) if built else []
    pairs = [(i, p) for i in built for p in plants]
    routings = draw(st.lists(st.sampled_from(pairs), unique=True)) if pairs else []
    suppliers = draw(st.lists(st.sampled_from(["S010", "S020", "S030"]), unique=True))
    known = draw(st.lists(st.sampled_from(items), unique=True))
    revision = {i: draw(st.sampled_from(["B", "C", "AA"])) for i in items}
    approved = datetime(2026, 3, 2, tzinfo=UTC) + timedelta(days=draw(st.integers(0, 300)))
    eco = Eco.model_validate(
        {
            "number": f"ECO-2026-{draw(st.integers(1, 99999)):05d}",
            "title": "Change",
            "reason": "Because",
            "approved_at": approved.isoformat(),
            "effectivity": (approved.date() + timedelta(days=7)).isoformat(),
            "affected_items": [{"item": i, "new_revision": revision[i]} for i in items],
            "plants": plants,
            "suppliers": suppliers,
            "bom_changes": [
                {
                    "assembly": a,
                    "revision": revision[a],
                    "lines": [
                        {"position": 10, "component": "CMP-2001", "quantity": "1", "uom": "EA"}
                    ],
                }
                for a in boms
            ],
            "routing_changes": [
                {
                    "item": i,
                    "revision": revision[i],
                    "plant": p,
                    "operations": [
                        {"number": 10, "work_center": f"WC-{p}-01", "description": "Op"}
                    ],
                }
                for i, p in routings
            ],
        }
    )
    kind = {"ASM": ItemKind.ASSEMBLY, "FG-": ItemKind.FINISHED_GOOD, "CMP": ItemKind.COMPONENT}
    catalog = {
        i: Item(number=i, description=i, kind=kind[i[:3]], product_family="F") for i in known
    }
    return eco, catalog


@settings(max_examples=150, deadline=None)
@given(ecos())
def test_plans_hold_their_invariants(case: tuple[Eco, dict[str, Item]]) -> None:
    eco, items = case
    steps = plan(eco, items)
    by_id = _by_id(steps)
    assert len(by_id) == len(steps), "step ids are unique"
    keys = [s.idempotency_key for s in steps]
    assert len(set(keys)) == len(keys), "idempotency keys are unique"
    assert plan(eco, items) == steps, "planning is deterministic"

    # Dependencies name planned steps and form no cycle (Kahn's algorithm drains them all).
    indegree = {sid: len(s.depends_on) for sid, s in by_id.items()}
    for s in steps:
        assert set(s.depends_on) <= set(by_id)
    ready = [sid for sid, n in indegree.items() if n == 0]
    drained = 0
    while ready:
        current = ready.pop()
        drained += 1
        for s in steps:
            if current in s.depends_on:
                indegree[s.step_id] -= 1
                if indegree[s.step_id] == 0:
                    ready.append(s.step_id)
    assert drained == len(steps), "the dependency graph is acyclic"

    releases = {s.step_id for s in steps if s.kind is StepKind.ERP_ITEM_REVISION}
    assert len(releases) == len(eco.items)
    for s in steps:
        ancestors = _ancestors(by_id, s.step_id)
        if s.kind is StepKind.MES_ROUTING:
            confirmation = step_id(eco.number, StepKind.ERP_CONFIRMATION, s.plant, s.item)
            assert confirmation in ancestors, "MES routing only after its confirmation"
        if s.kind is StepKind.ERP_PRODUCTION_VERSION:
            plant_writes = {
                w.step_id
                for w in steps
                if w.plant == s.plant and w.kind in (StepKind.ERP_ROUTING, StepKind.ERP_BOM)
            }
            assert plant_writes <= ancestors, "routing and BOM before the production version"
        if s.kind is StepKind.SUPPLIER_NOTICE:
            assert releases <= ancestors, "notices after every item revision"
        if s.kind is StepKind.ERP_ITEM_REVISION:
            assert not s.depends_on
    assert {s.supplier for s in steps if s.kind is StepKind.SUPPLIER_NOTICE} == set(eco.suppliers)
    for kind in (StepKind.ERP_ROUTING, StepKind.MES_ROUTING):
        assert {(r.item, r.plant) for r in eco.routing_changes} == {
            (s.item, s.plant) for s in steps if s.kind is kind
        }
    assert len([s for s in steps if s.kind is StepKind.ERP_BOM]) == len(eco.bom_changes) * len(
        eco.plants
    )
