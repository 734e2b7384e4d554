"""The reference ERP's purchasing: info records, plant sourcing modes, the supplier master.

A purchasing info record says ERP may buy ``component`` at ``revision`` from ``supplier``
at ``price``: under local sourcing one per plant, under central sourcing one for every
central plant (``plant`` null). ``PUT /purchasing-info-records`` creates or updates one by
that key, for a revision ERP has released (409 ``REVISION_NOT_RELEASED`` otherwise);
``POST .../{id}/activate`` activates it, and only if procurement has qualified
the supplier for that component revision (409 ``QUALIFICATION_NOT_APPROVED`` otherwise;
the reference ERP reads the qualification from the procurement it shares a world with).
Activating a revision supersedes the active record of an older revision of the same
supplier, component and plant.

The world starts with an active record for every approved supplier of every component a
plant's BOMs consume, at the revision the plant uses. Bounded: the newest
``RECORD_CAP`` (20,000) records written are kept besides the seeded ones.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from contracts.api import (
    PurchasingInfoRecord,
    PurchasingInfoRecordRequest,
    SourcingMode,
    SourcingModes,
    SupplierMaster,
)
from contracts.model import ItemKind, revision_key
from simulators.clock import Clock
from simulators.erp_records import RECORD_CAP, SYSTEM
from simulators.ledger import Ledger
from simulators.problems import Problem
from simulators.qualifications import Qualifications
from simulators.sourcing import Sourcing, record_id
from simulators.world import World

Key = tuple[str, str, str, str | None]


class Purchasing:
    """ERP's purchasing info records, sourcing modes and supplier master."""

    def __init__(
        self,
        world: World,
        sourcing: Sourcing,
        qualifications: Qualifications,
        ledger: Ledger,
        *,
        require_released: Callable[[str, str], None],
        clock: Clock,
        cap: int = RECORD_CAP,
    ) -> None:
        self.world = world
        self._require_released = require_released
        self._sourcing = sourcing
        self._qualifications = qualifications
        self._ledger = ledger
        self._clock = clock
        self._cap = cap
        self._seeded: dict[str, PurchasingInfoRecord] = {}
        self._written: OrderedDict[str, PurchasingInfoRecord] = OrderedDict()
        start = clock()
        for plant in world.plant_codes:
            at = None if sourcing.modes[plant] == "central" else plant
            for component in sorted(world.item_master(plant)):
                if world.items[component].kind is not ItemKind.COMPONENT:
                    continue
                revision = world.plant_revisions[plant].get(component)
                revision = revision or world.current_revision(component)
                for supplier in sourcing.approved_at(component, plant):
                    rid = record_id(supplier, component, revision, at)
                    self._seeded[rid] = PurchasingInfoRecord(
                        id=rid,
                        supplier=supplier,
                        component=component,
                        revision=revision,
                        plant=at,
                        price=sourcing.prices[(supplier, component)],
                        currency="EUR",
                        status="active",
                        updated_at=start,
                        activated_at=start,
                    )

    def mode(self, plant: str) -> SourcingMode:
        """The plant's sourcing mode."""
        mode = self._sourcing.modes.get(plant)
        if mode is None:
            raise Problem(404, "PLANT_NOT_FOUND", f"no plant {plant}")
        return SourcingMode(plant=plant, mode=mode)

    def modes(self) -> SourcingModes:
        """Every plant's sourcing mode."""
        return SourcingModes(items=[self.mode(p) for p in self.world.plant_codes])

    def suppliers(self) -> SupplierMaster:
        """ERP's supplier master (with its duplicates)."""
        return SupplierMaster(system="erp", items=list(self._sourcing.erp_suppliers))

    def record(self, rid: str) -> PurchasingInfoRecord | None:
        """One info record, if kept."""
        return self._written.get(rid) or self._seeded.get(rid)

    def _store(self, record: PurchasingInfoRecord) -> None:
        self._written[record.id] = record
        self._written.move_to_end(record.id)
        while len(self._written) > self._cap:
            self._written.popitem(last=False)

    def _check(self, body: PurchasingInfoRecordRequest) -> None:
        if body.supplier not in {s.code for s in self.world.suppliers}:
            raise Problem(422, "SUPPLIER_NOT_FOUND", f"no supplier {body.supplier}")
        item = self.world.items.get(body.component)
        if item is None or item.kind is not ItemKind.COMPONENT:
            raise Problem(422, "ITEM_NOT_FOUND", f"no purchased component {body.component}")
        self._require_released(body.component, body.revision)
        if body.plant is None:
            if "central" not in self._sourcing.modes.values():
                raise Problem(
                    422, "SOURCING_MODE_MISMATCH", "no plant buys centrally: name the plant"
                )
            return
        mode = self.mode(body.plant).mode
        if mode != "local":
            raise Problem(
                422,
                "SOURCING_MODE_MISMATCH",
                f"{body.plant} buys centrally: its info record has no plant",
                plant=body.plant,
            )

    def put(
        self, body: PurchasingInfoRecordRequest, key: str | None
    ) -> tuple[int, PurchasingInfoRecord]:
        """Create the record of this key (201) or update its price (200)."""
        self._check(body)
        rid = record_id(body.supplier, body.component, body.revision, body.plant)
        now = self._clock()
        old = self.record(rid)
        if old is not None and (old.price, old.currency) == (body.price, body.currency):
            return 200, old
        record = PurchasingInfoRecord(
            id=rid,
            supplier=body.supplier,
            component=body.component,
            revision=body.revision,
            plant=body.plant,
            price=body.price,
            currency=body.currency,
            status=old.status if old is not None else "inactive",
            updated_at=now,
            activated_at=old.activated_at if old is not None else None,
        )
        self._store(record)
        operation = "purchasing_info_record.update" if old else "purchasing_info_record.create"
        self._ledger.append(
            SYSTEM,
            operation,
            key,
            now,
            plant=body.plant,
            item=body.component,
            revision=body.revision,
            supplier=body.supplier,
            info_record=rid,
            price=str(body.price),
            currency=body.currency,
        )
        return 200 if old is not None else 201, record

    def activate(self, rid: str, key: str | None) -> tuple[int, PurchasingInfoRecord]:
        """Activate a record whose supplier procurement has qualified for its revision."""
        record = self.record(rid)
        if record is None:
            raise Problem(404, "INFO_RECORD_NOT_FOUND", f"no purchasing info record {rid}")
        if record.status == "active":
            return 200, record
        qualification = self._qualifications.status(
            record.supplier, record.component, record.revision
        )
        if qualification is None or qualification.status != "qualified":
            state = qualification.status if qualification is not None else None
            raise Problem(
                409,
                "QUALIFICATION_NOT_APPROVED",
                f"{record.supplier} is not qualified for {record.component} revision "
                f"{record.revision}"
                + (f" (qualification {qualification.id} is {state})" if qualification else ""),
                qualification=qualification.id if qualification is not None else None,
                qualification_status=state,
            )
        now = self._clock()
        for older in self._active_older(record):
            self._store(older.model_copy(update={"status": "superseded", "updated_at": now}))
        active = record.model_copy(update={"status": "active", "activated_at": now})
        self._store(active)
        self._ledger.append(
            SYSTEM,
            "purchasing_info_record.activate",
            key,
            now,
            plant=record.plant,
            item=record.component,
            revision=record.revision,
            supplier=record.supplier,
            info_record=rid,
            qualification_id=qualification.id,
        )
        return 200, active

    def _active_older(self, record: PurchasingInfoRecord) -> list[PurchasingInfoRecord]:
        same = (record.supplier, record.component, record.plant)
        return [
            r
            for r in self._all()
            if (r.supplier, r.component, r.plant) == same
            and r.status == "active"
            and revision_key(r.revision) < revision_key(record.revision)
        ]

    def _all(self) -> list[PurchasingInfoRecord]:
        merged = dict(self._seeded)
        merged.update(self._written)
        return list(merged.values())

    def listing(
        self,
        *,
        supplier: str | None = None,
        component: str | None = None,
        revision: str | None = None,
        plant: str | None = None,
        status: str | None = None,
    ) -> list[PurchasingInfoRecord]:
        """Records matching every filter given, by id (``plant`` also matches central
        records when the plant buys centrally)."""
        central = plant is not None and self._sourcing.modes.get(plant) == "central"
        return sorted(
            (
                r
                for r in self._all()
                if (supplier is None or r.supplier == supplier)
                and (component is None or r.component == component)
                and (revision is None or r.revision == revision)
                and (plant is None or r.plant == plant or (central and r.plant is None))
                and (status is None or r.status == status)
            ),
            key=lambda r: r.id,
        )
