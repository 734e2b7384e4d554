"""The reference ERP's withdrawals: taking back what is not yet effective.

A cancelled ECO's compensation withdraws a BOM version before its ``valid_from``, a routing
no active production version uses, a production version still pending. Anything already
effective is refused with 409 (``ALREADY_EFFECTIVE``, ``BOM_ALREADY_EFFECTIVE`` for a BOM
version), the problem naming ``effective_since``. Withdrawing what is already withdrawn is
a no-op that answers the same.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from contracts.api import BomWithdrawn, ProductionVersionWithdrawn, RoutingWithdrawn
from simulators.clock import Clock
from simulators.erp_records import RECORD_CAP, SYSTEM, BomRecord, ErpRecords, bounded
from simulators.ledger import Ledger
from simulators.problems import Problem
from simulators.world import World, plant_today


class Withdrawals:
    """Withdraws ERP's records that are not yet effective, with a ledger entry for each."""

    def __init__(
        self,
        world: World,
        records: ErpRecords,
        ledger: Ledger,
        *,
        clock: Clock,
        cap: int = RECORD_CAP,
    ) -> None:
        self._world = world
        self._records = records
        self._ledger = ledger
        self._clock = clock
        self._cap = cap

    def bom(self, plant: str, bom_id: str, key: str | None) -> tuple[int, BomWithdrawn]:
        """Withdraw a BOM version ERP has not made effective yet."""
        bom = self._records.boms.get(bom_id)
        if bom is None or bom.plant != plant:
            raise Problem(404, "BOM_NOT_FOUND", f"no BOM {bom_id} at {plant}")
        if bom.withdrawn:
            return 200, BomWithdrawn(bom_id=bom_id, status="withdrawn")
        where = self._world.plant(plant)
        assert where is not None
        if bom.dated_status(plant_today(where, self._clock())) == "effective":
            raise Problem(
                409,
                "BOM_ALREADY_EFFECTIVE",
                f"BOM {bom_id} has been effective at {plant} since {bom.valid_from}",
                effective_since=self._effective_since(bom).isoformat(),
            )
        bom.withdrawn = True
        self._ledger.append(
            SYSTEM,
            "bom.withdraw",
            key,
            self._clock(),
            plant=plant,
            item=bom.assembly,
            revision=bom.revision,
            bom_id=bom_id,
        )
        return 200, BomWithdrawn(bom_id=bom_id, status="withdrawn")

    def _effective_since(self, bom: BomRecord) -> datetime:
        """The moment a BOM version became effective: its ``valid_from`` at the plant."""
        plant = self._world.plant(bom.plant)
        assert plant is not None
        midnight = datetime.combine(
            bom.valid_from, datetime.min.time(), tzinfo=ZoneInfo(plant.timezone)
        )
        return midnight.astimezone(UTC)

    def routing(self, plant: str, routing_id: str, key: str | None) -> tuple[int, RoutingWithdrawn]:
        """Withdraw a routing no active production version uses yet."""
        withdrawn = self._records.withdrawn_routings.get(routing_id)
        if withdrawn is not None and withdrawn[0] == plant:
            return 200, RoutingWithdrawn(routing_id=routing_id, status="withdrawn")
        routings = self._records.routings
        target = next((k for k, v in routings.items() if v == routing_id), None)
        if target is None or target[0] != plant:
            raise Problem(404, "ROUTING_NOT_FOUND", f"no routing {routing_id} at {plant}")
        _, item, revision = target
        active = self._records.active_version(*target)
        if active is not None:
            raise Problem(
                409,
                "ALREADY_EFFECTIVE",
                f"routing {routing_id} of {item} {revision} is in use at {plant}: production "
                f"version {active.id} has been active since {active.due.isoformat()}",
                effective_since=active.due.isoformat(),
                production_version=active.id,
            )
        del routings[target]
        self._records.withdrawn_routings[routing_id] = target
        bounded(self._records.withdrawn_routings, self._cap)
        self._ledger.append(
            SYSTEM,
            "routing.withdraw",
            key,
            self._clock(),
            plant=plant,
            item=item,
            revision=revision,
            routing_id=routing_id,
        )
        return 200, RoutingWithdrawn(routing_id=routing_id, status="withdrawn")

    def production_version(
        self, plant: str, pv_id: str, key: str | None
    ) -> tuple[int, ProductionVersionWithdrawn]:
        """Withdraw a production version that is still pending (ERP settled what is due
        first): it will never activate."""
        pv = self._records.pvs.get(pv_id)
        if pv is None or pv.plant != plant:
            raise Problem(
                404, "PRODUCTION_VERSION_NOT_FOUND", f"no production version {pv_id} at {plant}"
            )
        if pv.status == "active":
            raise Problem(
                409,
                "ALREADY_EFFECTIVE",
                f"production version {pv_id} of {pv.item} {pv.revision} has been active at "
                f"{plant} since {pv.due.isoformat()}",
                effective_since=pv.due.isoformat(),
            )
        if pv.status == "rejected":
            raise Problem(
                409,
                "PRODUCTION_VERSION_REJECTED",
                f"production version {pv_id} was rejected: there is nothing to withdraw",
            )
        if pv.status == "pending":
            pv.settled = True
            pv.outcome = "withdrawn"
            pv.reason = "withdrawn before it became active"
            self._ledger.append(
                SYSTEM,
                "production_version.withdraw",
                key,
                self._clock(),
                plant=plant,
                item=pv.item,
                revision=pv.revision,
                production_version=pv_id,
            )
        return 200, ProductionVersionWithdrawn(id=pv_id, status="withdrawn")
