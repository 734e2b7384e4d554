"""The reference ERP's read side: each plant's item master and the revisions it uses.

What a plant uses is its item master (``GET /plants/{plant}/items``): the items it builds
and the components its BOMs contain, and only those pairs have a plant revision
(``GET /plants/{plant}/revisions``). A built item's revision is the one its active
production version uses. A purchased component's is the one the plant's effective BOMs
consume: a BOM consumes the newest released revision of each component when it is written,
and it counts from its ``valid_from`` (the plant's date) until withdrawn.

Bounded by the world's size: one entry per (plant, item) pair.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Literal

from contracts.api import PlantItem, PlantItems, PlantRevisions
from contracts.model import ItemKind, revision_key
from simulators.erp_records import BomRecord
from simulators.world import World

Source = Literal["made", "bom"]


class PlantItemMasters:
    """What each plant builds and consumes, and the revision it uses of each."""

    def __init__(self, world: World) -> None:
        self._world = world
        self._revisions = {p: dict(items) for p, items in world.plant_revisions.items()}
        masters = {p: world.item_master(p) for p in world.plant_codes}
        # What each plant builds; grows when a production version activates elsewhere.
        self._made = {
            p: {i for i in master if world.items[i].kind is not ItemKind.COMPONENT}
            for p, master in masters.items()
        }
        # The components each plant's world BOMs consume, at the plant's revision of them.
        self._consumed = {
            p: {i: self._revisions[p].get(i) or world.current_revision(i) for i in master}
            for p, master in masters.items()
        }
        for p, made in self._made.items():
            for item in made:
                self._consumed[p].pop(item, None)

    def current(self, plant: str, item: str) -> str | None:
        """The revision the plant's active production version uses, if it has one."""
        return self._revisions.get(plant, {}).get(item)

    def activate(self, plant: str, item: str, revision: str) -> str | None:
        """A production version of ``item`` at ``revision`` became active at the plant (which
        now builds the item); returns the revision it used before."""
        old = self._revisions.setdefault(plant, {}).get(item)
        self._revisions[plant][item] = revision
        self._made.setdefault(plant, set()).add(item)
        return old

    def master(
        self, plant: str, today: date, boms: Iterable[BomRecord]
    ) -> dict[str, tuple[str, Source]]:
        """The plant's item master on ``today`` (its date), given every BOM version ERP
        holds: item -> (the revision ERP uses there, why it is used)."""
        consumed = dict(self._consumed.get(plant, {}))
        for bom in boms:
            if bom.plant != plant or bom.withdrawn or bom.valid_from > today:
                continue
            for component, revision in bom.consumes.items():
                old = consumed.get(component)
                if old is None or revision_key(revision) > revision_key(old):
                    consumed[component] = revision
        revisions = self._revisions.get(plant, {})
        master: dict[str, tuple[str, Source]] = {
            item: (revision, "bom") for item, revision in consumed.items()
        }
        for item in self._made.get(plant, ()):
            master[item] = (revisions.get(item) or self._world.current_revision(item), "made")
        return dict(sorted(master.items()))

    def revisions(self, plant: str, today: date, boms: Iterable[BomRecord]) -> PlantRevisions:
        """The revision the plant uses of every item in its item master."""
        master = self.master(plant, today, boms)
        return PlantRevisions(plant=plant, revisions={i: r for i, (r, _) in master.items()})

    def items(self, plant: str, today: date, boms: Iterable[BomRecord]) -> PlantItems:
        """The plant's item master: what it builds and what its BOMs consume."""
        return PlantItems(
            plant=plant,
            items=[
                PlantItem(
                    item=item, kind=self._world.items[item].kind, revision=revision, source=source
                )
                for item, (revision, source) in self.master(plant, today, boms).items()
            ],
        )
