from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from contracts.model import Eco, ItemKind, revision_key
from simulators.generator import (
    EcoGenerator,
    EcoNumbersExhausted,
    EcoShape,
    GeneratorConfig,
    ShapeError,
)
from simulators.world import build_world

NOW = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def world():
    return build_world(7)


def test_the_same_seed_builds_the_same_world_and_another_seed_a_different_one(world) -> None:
    assert build_world(7) == world
    assert build_world(8) != world


def test_world_has_plants_items_structure_and_suppliers_as_a_plant_would(world) -> None:
    assert 3 <= len(world.plants) <= 5
    for plant in world.plants:
        ZoneInfo(plant.timezone)
        centers = world.work_centers_at(plant.code)
        assert 1 <= len(world.work_centers_at(plant.code, active=False)) <= 2 < len(centers)
    assert 280 <= len(world.items) <= 320
    kinds = {kind: world.items_of_kind(kind) for kind in ItemKind}
    assert all(kinds.values())
    for (plant, assembly), bom in world.boms.items():
        assert world.items[assembly].kind is not ItemKind.COMPONENT
        assert plant in world.item_plants[assembly]
        assert all(line.component in world.items for line in bom.lines)
        assert bom.revision == world.plant_revisions[plant][assembly]
    assert any(
        world.items[line.component].kind is ItemKind.ASSEMBLY
        for bom in world.boms.values()
        for line in bom.lines
    ), "multi-level: some BOMs contain assemblies"
    for (plant, _item), routing in world.routings.items():
        active = {wc.code for wc in world.work_centers_at(plant, active=True)}
        assert {op.work_center for op in routing.operations} <= active
    assert len(world.suppliers) == 25
    assert world.unreliable_suppliers and world.invalid_contact_suppliers
    assert all(s.components for s in world.suppliers)
    lagging = [
        (plant, item)
        for plant, items in world.plant_revisions.items()
        for item, revision in items.items()
        if revision != world.current_revision(item)
    ]
    assert lagging, "some plants run a prior revision"
    families = {item.product_family for item in world.items.values()}
    assert len(families) >= 3


def ecos(world, count, seed_config=None, shape=None):
    generator = EcoGenerator(world, config=seed_config or GeneratorConfig())
    return [generator.generate(NOW + timedelta(seconds=n), shape) for n in range(count)]


def test_the_same_seed_generates_the_same_eco_stream(world) -> None:
    first = ecos(world, 50)
    assert ecos(build_world(7), 50) == first
    assert [e for e, _ in ecos(build_world(8), 50)] != [e for e, _ in first]


def test_generated_ecos_are_consistent_with_the_world(world) -> None:
    generator = EcoGenerator(world, config=GeneratorConfig(inactive_work_center_share=0.3))
    latest: dict[str, str] = {}
    previous = None
    for n in range(300):
        eco, _fate = generator.generate(NOW + timedelta(minutes=n))
        Eco.model_validate(eco.model_dump(mode="json"))
        assert eco.number.startswith("ECO-2026-") and int(eco.number[-5:]) >= 50001
        assert 1 <= len(eco.affected_items) <= 5
        assert 1 <= len(eco.plants) <= len(world.plants)
        assert len(eco.suppliers) <= 6
        if previous is not None:
            assert eco.approved_at > previous.approved_at
        for affected in eco.affected_items:
            expected_old = latest.get(affected.item, world.current_revision(affected.item))
            assert affected.old_revision == expected_old
            latest[affected.item] = affected.new_revision
        makes = {i for i in eco.items if world.items[i].kind is not ItemKind.COMPONENT}
        assert {b.assembly for b in eco.bom_changes} == makes
        for change in eco.routing_changes:
            assert (change.plant, change.item) in world.routings
        previous = eco


def test_a_second_eco_on_an_item_moves_it_past_the_first(world) -> None:
    generator = EcoGenerator(world)
    shape = EcoShape(items=("ASM-2001", "CMP-3001"))
    first, _ = generator.generate(NOW, shape)
    second, _ = generator.generate(NOW, shape)
    assert second.approved_at > first.approved_at
    for item in shape.items:
        assert second.new_revision_of(item) is not None
        assert revision_key(second.new_revision_of(item)) > revision_key(
            first.new_revision_of(item)
        )
        old = {a.item: a.old_revision for a in second.affected_items}[item]
        assert old == first.new_revision_of(item)


def test_shares_of_fates_and_inactive_work_centers_follow_the_configuration(world) -> None:
    config = GeneratorConfig(cancel_share=0.2, supersede_share=0.1, inactive_work_center_share=0.2)
    generated = ecos(world, 1000, config)
    cancels = sum(1 for _, f in generated if f and f.fate == "cancel")
    supersedes = sum(1 for _, f in generated if f and f.fate == "supersede")
    assert 150 < cancels < 250 and 60 < supersedes < 140
    inactive = {wc.code for wc in world.work_centers if not wc.active}
    hits = sum(
        1
        for eco, _ in generated
        if any(op.work_center in inactive for r in eco.routing_changes for op in r.operations)
    )
    assert 100 < hits < 260
    for eco, fate in generated:
        if fate is not None:
            assert fate.due > eco.approved_at


def test_a_forced_inactive_work_center_lands_in_that_plants_routing(world) -> None:
    plant = world.plant_codes[1]
    inactive = {wc.code for wc in world.work_centers_at(plant, active=False)}
    for eco, _ in ecos(world, 20, shape=EcoShape(inactive_work_center_plant=plant)):
        assert plant in eco.plants
        at_plant = [r for r in eco.routing_changes if r.plant == plant]
        assert any(op.work_center in inactive for r in at_plant for op in r.operations)


def test_shapes_that_do_not_fit_the_world_are_refused(world) -> None:
    generator = EcoGenerator(world)
    with pytest.raises(ShapeError, match="unknown plants"):
        generator.generate(NOW, EcoShape(plants=("P999",)))
    with pytest.raises(ShapeError, match="unknown items"):
        generator.generate(NOW, EcoShape(items=("NOPE-1",)))
    with pytest.raises(ShapeError, match="routing"):
        generator.generate(
            NOW, EcoShape(items=("CMP-3001",), inactive_work_center_plant=world.plant_codes[0])
        )
    assert generator.revision_of("CMP-3001") == world.current_revision("CMP-3001")


def test_a_year_without_numbers_left_refuses_ecos_without_touching_revisions(world) -> None:
    generator = EcoGenerator(world, config=GeneratorConfig(first_serial=99999))
    shape = EcoShape(items=("ASM-2001",))
    last, _ = generator.generate(NOW, shape)
    assert last.number == "ECO-2026-99999"
    assert not generator.numbers_left(NOW)
    with pytest.raises(EcoNumbersExhausted):
        generator.generate(NOW, shape)
    assert generator.revision_of("ASM-2001") == last.new_revision_of("ASM-2001")
    next_year, _ = generator.generate(datetime(2027, 1, 2, tzinfo=UTC), shape)
    assert next_year.number == "ECO-2027-99999"
