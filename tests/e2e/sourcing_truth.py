"""Ground truth for the purchasing lists, read only from procurement's own API: which
suppliers each approved ECO owes a notice (PLM's list and the approved lists of its
purchased components at its plants), and which of its suppliers' qualifications for the
components' new revisions procurement holds pending or rejected."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from tests.e2e.truth import Systems

Triple = tuple[str, str, str]


@dataclass(frozen=True)
class Sourcing:
    """Procurement's approved lists and qualifications, read together."""

    approved: Mapping[str, list[dict[str, Any]]]
    """component -> its approved suppliers (with the plants each approval holds for)."""
    qualifications: Mapping[Triple, str]
    """(supplier, component, revision) -> the newest qualification's status."""


def read_sourcing(url: str, systems: Systems) -> Sourcing:
    """The approved list of every purchased component, and every qualification."""
    components = [i["number"] for i in systems.world["items"] if i["kind"] == "component"]
    with httpx.Client(base_url=url, timeout=30) as client:
        approved = {
            c: client.get(f"/procurement/components/{c}/approved-suppliers").json()["suppliers"]
            for c in components
        }
        found = client.get("/procurement/qualifications").json()["items"]
    qualifications = {(q["supplier"], q["component"], q["revision"]): q["status"] for q in found}
    return Sourcing(approved=approved, qualifications=qualifications)


def approved_at(sourcing: Sourcing, eco: Mapping[str, Any]) -> set[tuple[str, str, str]]:
    """(supplier, component, new revision) approved at one of the ECO's plants."""
    plants = set(eco["plants"])
    return {
        (entry["supplier"], affected["item"], affected["new_revision"])
        for affected in eco["affected_items"]
        for entry in sourcing.approved.get(affected["item"], [])
        if plants & set(entry["plants"])
    }


def owed(sourcing: Sourcing, systems: Systems) -> dict[str, set[str]]:
    """ECO -> the approved-list suppliers it owes a notice besides PLM's own."""
    return {
        eco["number"]: {supplier for supplier, _, _ in approved_at(sourcing, eco)}
        for eco in systems.approved
    }


def qualifications(
    sourcing: Sourcing, systems: Systems, status: str, stopped: Collection[str] = ()
) -> set[Triple]:
    """(supplier, component, revision) an approved ECO's purchasing needs and procurement
    holds at ``status`` (``pending``: waiting; ``rejected``)."""
    return {
        triple
        for eco in systems.approved
        if eco["number"] not in stopped
        for triple in approved_at(sourcing, eco)
        if sourcing.qualifications.get(triple) == status
    }
