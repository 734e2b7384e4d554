"""The reference ERP's revision order: like a real ERP it never takes a revision backwards.

Releasing a revision older than the item's newest released one, or writing a BOM, routing or
production version for a revision older than the plant already has for the item (its
current revision, or a newer one of the same kind of record), is refused with 409
``REVISION_OUT_OF_ORDER``; a BOM or routing for a revision never released is refused with
409 ``REVISION_NOT_RELEASED``. A repeat of the same revision is not older.

The released revisions are bounded like ERP's other records; the newest release per item
and the newest written per (kind of record, plant, item) are not: they are bounded by the
world's size.
"""

from __future__ import annotations

from collections import OrderedDict

from contracts.model import revision_key
from simulators.erp_records import RECORD_CAP, bounded
from simulators.problems import Problem
from simulators.world import World


class RevisionOrder:
    """What ERP was sent of each item, and the checks that keep revisions in order."""

    def __init__(self, world: World, *, cap: int = RECORD_CAP) -> None:
        self._cap = cap
        self._released: OrderedDict[tuple[str, str], None] = OrderedDict(
            ((r.item, r.revision), None) for history in world.revisions.values() for r in history
        )
        self._newest_release = {
            item: history[-1].revision for item, history in world.revisions.items() if history
        }
        self._newest_written: dict[tuple[str, str, str], str] = {}

    def newest_release(self, item: str) -> str | None:
        """The newest revision of ``item`` ERP released, if any."""
        return self._newest_release.get(item)

    def release(self, item: str, revision: str) -> bool:
        """Record a release of ``item`` at ``revision``; ``False`` for a repeat.

        Refuses a revision older than the item's newest released one.
        """
        newest = self._newest_release.get(item)
        if newest is not None and revision_key(revision) < revision_key(newest):
            raise Problem(
                409,
                "REVISION_OUT_OF_ORDER",
                f"{item} is released at {newest}; the older revision {revision} is refused",
                item=item,
                revision=revision,
                current_revision=newest,
            )
        if (item, revision) in self._released:
            return False
        self._newest_release[item] = revision
        self._released[(item, revision)] = None
        bounded(self._released, self._cap)
        return True

    def require_released(self, item: str, revision: str) -> None:
        """Refuse a record for an item revision ERP was never sent."""
        if (item, revision) not in self._released and self._newest_release.get(item) != revision:
            raise Problem(
                409,
                "REVISION_NOT_RELEASED",
                f"revision {revision} of {item} has not been released",
                item=item,
                revision=revision,
            )

    def require_in_order(
        self, record: str, plant: str, item: str, revision: str, *, current: str | None
    ) -> None:
        """Refuse a ``record`` (bom, routing, production_version) for a revision older than
        the plant already has for the item: its ``current`` revision there, or a newer
        record of the same kind."""
        written = self._newest_written.get((record, plant, item))
        has = [r for r in (current, written) if r is not None]
        newest = max(has, key=revision_key, default=None)
        if newest is not None and revision_key(revision) < revision_key(newest):
            raise Problem(
                409,
                "REVISION_OUT_OF_ORDER",
                f"{plant} already has revision {newest} of {item}; "
                f"a {record.replace('_', ' ')} for the older {revision} is refused",
                plant=plant,
                item=item,
                revision=revision,
                current_revision=newest,
            )

    def written(self, record: str, plant: str, item: str, revision: str) -> None:
        """Note that a ``record`` for ``revision`` was written at the plant."""
        key = (record, plant, item)
        old = self._newest_written.get(key)
        if old is None or revision_key(revision) > revision_key(old):
            self._newest_written[key] = revision
