"""Factories for domain objects: valid by default, overridable field by field."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from contracts.model import Eco

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
