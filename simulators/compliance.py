"""Compliance attributes of item revisions as PLM holds them: RoHS, REACH, conflict minerals
and country of origin.

Purchased components and finished goods are regulated; in-house assemblies are not (they
inherit their components' declarations). The attributes of a revision are drawn from a
stream seeded by (seed, item, revision), so the ECO stream's other draws stay what they
were. A seeded share (``MISSING_SHARE``) of the regulated revisions the live ECO stream
releases lacks one or two attributes, so the governance rules have something to reject;
an ECO approved on demand lacks them only when asked to (``EcoShape.missing_compliance``),
so a test's ECOs go through unless it wants one rejected; the world's revisions and the
history's are complete, as they were released under the same rules.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from contracts.model import (
    COMPLIANCE_FIELDS,
    Compliance,
    Item,
    ItemKind,
    ItemRevision,
    next_revision,
    revision_key,
)
from simulators.world import World

MISSING_SHARE = 0.06
"""Share of regulated revisions the live ECO stream releases lacking some attributes."""
ORIGINS = ("DE", "US", "MX", "CN", "IN", "CZ", "PL", "JP", "TW", "IT")
REGULATED = frozenset({ItemKind.COMPONENT, ItemKind.FINISHED_GOOD})


def compliance_of(
    seed: int, item: Item, revision: str, *, share: float = 0.0, lacking: bool = False
) -> Compliance:
    """The attributes of ``item`` at ``revision``: complete, or, if the item is regulated,
    lacking one or two for a seeded ``share`` of revisions (all of them if ``lacking``)."""
    rng = random.Random(f"{seed}:compliance:{item.number}:{revision}")
    regulated = item.kind in REGULATED
    values: dict[str, str | None] = {
        "rohs": rng.choice(("compliant", "compliant", "compliant", "exempt")),
        "reach": rng.choice(("compliant", "compliant", "svhc_declared")),
        "conflict_minerals": rng.choice(("conflict_free", "conflict_free", "not_applicable")),
        "country_of_origin": rng.choice(ORIGINS),
    }
    if regulated and (rng.random() < share or lacking):
        for name in rng.sample(COMPLIANCE_FIELDS, rng.randint(1, 2)):
            values[name] = None
    return Compliance.model_validate({"regulated": regulated, **values})


def released_revisions(
    world: World, item: Item, latest: str, lacking: Mapping[tuple[str, str], Compliance]
) -> list[ItemRevision]:
    """``item``'s revisions up to PLM's ``latest``, oldest first, each with its attributes:
    ``lacking`` holds those live ECOs released without some; the others are complete."""
    seeded = world.revisions[item.number]
    released = [
        r.model_copy(update={"compliance": compliance_of(world.seed, item, r.revision)})
        for r in seeded
    ]
    revision = seeded[-1].revision
    while revision_key(revision) < revision_key(latest):
        revision = next_revision(revision)
        released.append(
            ItemRevision(
                item=item.number,
                revision=revision,
                description=f"{item.description}, revision {revision}",
                compliance=lacking.get((item.number, revision))
                or compliance_of(world.seed, item, revision),
            )
        )
    return released
