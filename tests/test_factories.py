from __future__ import annotations

import pytest
from pydantic import ValidationError

from contracts.model import ItemKind
from tests.factories import (
    ITEMS,
    PLANTS,
    SUPPLIERS,
    make_eco,
    make_item,
    make_plant,
    make_supplier,
)


def test_the_example_eco_stays_inside_the_small_world() -> None:
    eco = make_eco()
    assert set(eco.items) == set(ITEMS)
    assert set(eco.plants) == set(PLANTS)
    assert set(eco.suppliers) == set(SUPPLIERS)
    components = {number for number, item in ITEMS.items() if item.kind is ItemKind.COMPONENT}
    assert {c for s in SUPPLIERS.values() for c in s.components} <= components


def test_overrides_are_validated_like_any_record() -> None:
    assert make_item("CMP-9", kind=ItemKind.COMPONENT).kind is ItemKind.COMPONENT
    with pytest.raises(ValidationError, match="unknown time zone"):
        make_plant(timezone="Mars/Olympus")
    with pytest.raises(ValidationError, match="contact_email"):
        make_supplier(contact_email="nobody")
    with pytest.raises(ValidationError, match="number"):
        make_item("lower case")
