from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts.model import Bom, Eco, Plant, next_revision, revision_key
from tests.factories import eco_data, make_eco

revisions = st.from_regex(r"[A-Z]{1,3}", fullmatch=True)


def error_locations(exc: ValidationError) -> set[tuple[str | int, ...]]:
    return {tuple(e["loc"]) for e in exc.errors()}


def test_a_valid_eco_parses_and_is_frozen() -> None:
    eco = make_eco()
    assert eco.items == ("ASM-1001", "CMP-2001")
    assert eco.new_revision_of("CMP-2001") == "B"
    with pytest.raises(ValidationError):
        eco.title = "changed"  # type: ignore[misc]


def test_a_bad_eco_names_every_error_at_once() -> None:
    data = eco_data(
        affected_items=[{"item": "ASM-1001", "old_revision": "C", "new_revision": "B"}],
        effectivity="2026-03-01",
        bom_changes=[
            {
                "assembly": "ASM-1001",
                "revision": "B",
                "lines": [{"position": 10, "component": "CMP-2001", "quantity": "-1", "uom": "EA"}],
            }
        ],
        routing_changes=[],
    )
    with pytest.raises(ValidationError) as caught:
        Eco.model_validate(data)
    locations = error_locations(caught.value)
    assert ("affected_items", 0, "new_revision") in locations
    assert ("effectivity",) in locations
    assert ("bom_changes", 0, "lines", 0, "quantity") in locations
    messages = " ".join(e["msg"] for e in caught.value.errors())
    assert "must be greater than the revision C" in messages
    assert "before approval" in messages


def test_duplicate_bom_lines_and_unknown_units_are_refused() -> None:
    line = {"position": 10, "component": "CMP-2001", "quantity": "1", "uom": "EA"}
    with pytest.raises(ValidationError) as caught:
        make_eco(
            bom_changes=[
                {"assembly": "ASM-1001", "revision": "C", "lines": [line, line]},
            ],
            routing_changes=[],
        )
    assert "duplicate positions [10]" in str(caught.value)
    with pytest.raises(ValidationError) as caught:
        Bom.model_validate(
            {
                "assembly": "ASM-1",
                "revision": "A",
                "plant": "P100",
                "valid_from": "2026-01-10",
                "valid_to": "2026-01-01",
                "lines": [{**line, "uom": "BUCKET"}],
            }
        )
    assert error_locations(caught.value) == {("lines", 0, "uom"), ("valid_to",)}


def test_routing_changes_must_name_affected_plants_and_items() -> None:
    with pytest.raises(ValidationError) as caught:
        make_eco(
            routing_changes=[
                {
                    "item": "ASM-9999",
                    "revision": "C",
                    "plant": "P900",
                    "operations": [{"number": 10, "work_center": "WC-1", "description": "Cut"}],
                }
            ]
        )
    message = str(caught.value)
    assert "ASM-9999 is not an affected item" in message
    assert "P900" in message


def test_a_plant_needs_a_real_time_zone() -> None:
    assert Plant(code="P100", name="Lyon", timezone="Europe/Paris").timezone == "Europe/Paris"
    with pytest.raises(ValidationError, match="unknown time zone"):
        Plant(code="P100", name="Lyon", timezone="Mars/Olympus")


@given(old=revisions, new=revisions)
def test_a_revision_is_accepted_only_when_it_goes_forward(old: str, new: str) -> None:
    data = eco_data(
        affected_items=[{"item": "ASM-1001", "old_revision": old, "new_revision": new}],
        bom_changes=[],
        routing_changes=[],
    )
    if revision_key(new) > revision_key(old):
        assert Eco.model_validate(data).affected_items[0].new_revision == new
    else:
        with pytest.raises(ValidationError) as caught:
            Eco.model_validate(data)
        assert error_locations(caught.value) == {("affected_items", 0, "new_revision")}


@given(revision=revisions)
def test_next_revision_is_always_greater(revision: str) -> None:
    assert revision_key(next_revision(revision)) > revision_key(revision)


@given(days=st.integers(min_value=-400, max_value=400), hour=st.integers(0, 23))
def test_effectivity_is_never_before_the_approval_date(days: int, hour: int) -> None:
    approved = datetime(2026, 6, 15, hour, tzinfo=UTC)
    effectivity = approved.date() + timedelta(days=days)
    data = eco_data(approved_at=approved.isoformat(), effectivity=effectivity.isoformat())
    if days >= 0:
        assert Eco.model_validate(data).effectivity == effectivity
    else:
        with pytest.raises(ValidationError) as caught:
            Eco.model_validate(data)
        assert error_locations(caught.value) == {("effectivity",)}


@given(quantity=st.decimals(min_value=-1000, max_value=1000, places=3, allow_nan=False))
def test_bom_quantities_must_be_positive(quantity: object) -> None:
    line = {"position": 10, "component": "CMP-2001", "quantity": str(quantity), "uom": "EA"}
    data = eco_data(bom_changes=[{"assembly": "ASM-1001", "revision": "C", "lines": [line]}])
    if quantity > 0:  # type: ignore[operator]
        Eco.model_validate(data)
    else:
        with pytest.raises(ValidationError) as caught:
            Eco.model_validate(data)
        assert error_locations(caught.value) == {("bom_changes", 0, "lines", 0, "quantity")}
