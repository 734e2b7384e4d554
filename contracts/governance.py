"""The ECO governance rules beyond the model's own validation: what makes an approved
ECO unfit to propagate, each violation with the field path it concerns."""

from __future__ import annotations

from contracts.events import Violation
from contracts.model import Eco


def compliance_violations(eco: Eco) -> list[Violation]:
    """A regulated item revision must declare RoHS, REACH, conflict minerals and country
    of origin; one violation per attribute missing (a revision PLM says nothing about is
    not judged)."""
    return [
        Violation(
            path=f"affected_items.{index}.compliance.{name}",
            message=f"{affected.item} revision {affected.new_revision} is regulated "
            f"and declares no {name.replace('_', ' ')}",
        )
        for index, affected in enumerate(eco.affected_items)
        if affected.compliance is not None
        for name in affected.compliance.missing()
    ]
