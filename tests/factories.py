"""Factories for domain objects: valid by default, overridable field by field.

``ITEMS``, ``PLANTS`` and ``SUPPLIERS`` are the small world of the example ECO
(:func:`make_eco`): the items it touches, the plants it reaches, the supplier it tells.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from contracts.model import Eco, Item, ItemKind, Plant, Supplier

APPROVED_AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def eco_data(**overrides: Any) -> dict[str, Any]:
    """The JSON-shaped data of a valid ECO touching one assembly at two plants."""
    data: dict[str, Any] = {
        "number": "ECO-2026-00042",
        "title": "Stiffer bracket for the pump housing",
        "reason": "Field failures of the bracket under vibration",
        "approved_at": APPROVED_AT.isoformat(),
        "effectivity": date(2026, 3, 16).isoformat(),
        "affected_items": [
            {"item": "ASM-1001", "old_revision": "B", "new_revision": "C"},
            {"item": "CMP-2001", "old_revision": "A", "new_revision": "B"},
        ],
        "plants": ["P100", "P200"],
        "suppliers": ["S010"],
        "bom_changes": [
            {
                "assembly": "ASM-1001",
                "revision": "C",
                "lines": [
                    {"position": 10, "component": "CMP-2001", "quantity": "2", "uom": "EA"},
                    {"position": 20, "component": "CMP-2002", "quantity": "0.5", "uom": "KG"},
                ],
            }
        ],
        "routing_changes": [
            {
                "item": "ASM-1001",
                "revision": "C",
                "plant": "P100",
                "operations": [
                    {"number": 10, "work_center": "WC-P100-01", "description": "Weld"},
                    {"number": 20, "work_center": "WC-P100-02", "description": "Paint"},
                ],
            }
        ],
    }
    data.update(overrides)
    return data


def make_eco(**overrides: Any) -> Eco:
    """A valid :class:`Eco`."""
    return Eco.model_validate(eco_data(**overrides))


def make_item(number: str = "ASM-1001", **overrides: Any) -> Item:
    """A valid :class:`Item`: an assembly of the pump family unless told otherwise."""
    data: dict[str, Any] = {
        "number": number,
        "description": f"Item {number}",
        "kind": ItemKind.ASSEMBLY,
        "product_family": "Pumps",
    }
    return Item.model_validate(data | overrides)


def make_plant(code: str = "P100", **overrides: Any) -> Plant:
    """A valid :class:`Plant`."""
    data: dict[str, Any] = {"code": code, "name": f"Plant {code}", "timezone": "UTC"}
    return Plant.model_validate(data | overrides)


def make_supplier(code: str = "S010", **overrides: Any) -> Supplier:
    """A valid :class:`Supplier` with a contact address of its own."""
    data: dict[str, Any] = {
        "code": code,
        "name": f"Supplier {code}",
        "contact_email": f"{code.lower()}@example.com",
    }
    return Supplier.model_validate(data | overrides)


ITEMS = {
    "ASM-1001": make_item("ASM-1001", description="Pump housing"),
    "CMP-2001": make_item("CMP-2001", description="Bracket", kind=ItemKind.COMPONENT),
}
PLANTS = {
    "P100": make_plant("P100", name="Dayton Assembly", timezone="America/New_York"),
    "P200": make_plant("P200", name="Stuttgart Werk", timezone="Europe/Berlin"),
}
SUPPLIERS = {"S010": make_supplier("S010", name="Bracket Works", components=("CMP-2001",))}
