"""Compliance attributes of item revisions as PLM holds them: RoHS, REACH, conflict minerals
and country of origin.

Purchased components and finished goods are regulated; in-house assemblies are not (they
inherit their components' declarations). The attributes of a revision are a pure function of
(seed, item, revision), drawn from their own stream, so PLM's ECOs and its item revisions
always agree and the ECO stream's other draws stay what they were. A seeded share
(``MISSING_SHARE``) of the regulated revisions PLM releases live lacks one or two attributes,
so the governance rules have something to reject; revisions released before the simulators
started (the world's and the history's) are complete, as they were released under the same
rules.
"""

from __future__ import annotations

import random

from contracts.model import COMPLIANCE_FIELDS, Compliance, Item, ItemKind

MISSING_SHARE = 0.06
"""Share of regulated revisions released live that lack some attributes."""
ORIGINS = ("DE", "US", "MX", "CN", "IN", "CZ", "PL", "JP", "TW", "IT")
REGULATED = frozenset({ItemKind.COMPONENT, ItemKind.FINISHED_GOOD})


def compliance_of(seed: int, item: Item, revision: str, *, complete: bool) -> Compliance:
    """The attributes of ``item`` at ``revision``; ``complete`` forbids missing ones."""
    rng = random.Random(f"{seed}:compliance:{item.number}:{revision}")
    regulated = item.kind in REGULATED
    values: dict[str, str | None] = {
        "rohs": rng.choice(("compliant", "compliant", "compliant", "exempt")),
        "reach": rng.choice(("compliant", "compliant", "svhc_declared")),
        "conflict_minerals": rng.choice(("conflict_free", "conflict_free", "not_applicable")),
        "country_of_origin": rng.choice(ORIGINS),
    }
    if regulated and not complete and rng.random() < MISSING_SHARE:
        for name in rng.sample(COMPLIANCE_FIELDS, rng.randint(1, 2)):
            values[name] = None
    return Compliance.model_validate({"regulated": regulated, **values})
