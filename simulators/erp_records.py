"""The reference ERP's records: BOM versions, routings and production versions.

ERP keeps the newest ``RECORD_CAP`` (20,000) of each kind of record; ``bounded`` drops the
oldest of an insertion-ordered mapping once it grows past its cap.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from contracts.api import ProductionVersionState, ProductionVersionStatus

RECORD_CAP = 20_000
SYSTEM = "erp"
"""ERP's name in the ledger and the idempotency store."""


@dataclass(slots=True)
class BomRecord:
    """One BOM version."""

    bom_id: str
    plant: str
    assembly: str
    revision: str
    valid_from: date
    withdrawn: bool = False
    consumes: dict[str, str] = field(default_factory=dict)
    """Component -> the revision this BOM consumes (the newest released when written)."""

    def dated_status(self, today: date) -> Literal["scheduled", "effective"]:
        """``effective`` from its ``valid_from`` on (``today`` is the plant's date)."""
        return "effective" if self.valid_from <= today else "scheduled"


@dataclass(slots=True)
class ProductionVersion:
    """One production version and its decided (but perhaps not yet due) outcome."""

    id: str
    plant: str
    item: str
    revision: str
    requested_at: datetime
    due: datetime
    outcome: Literal["active", "rejected", "withdrawn"]
    reason: str | None
    settled: bool = False
    traceparent: str | None = None  # of the request, for the ledger entry when it settles

    @property
    def status(self) -> ProductionVersionState:
        """``pending`` until settled, then ``active`` or ``rejected``."""
        return self.outcome if self.settled else "pending"

    def answer(self) -> ProductionVersionStatus:
        """The production version as the API shows it."""
        active = self.settled and self.outcome == "active"
        return ProductionVersionStatus(
            id=self.id,
            status=self.status,
            plant=self.plant,
            item=self.item,
            revision=self.revision,
            requested_at=self.requested_at,
            activated_at=self.due if active else None,
            reason=self.reason if self.settled else None,
        )


@dataclass(slots=True)
class ErpRecords:
    """Every BOM version, routing and production version ERP holds, oldest first."""

    boms: OrderedDict[str, BomRecord] = field(default_factory=OrderedDict)
    routings: OrderedDict[tuple[str, str, str], str] = field(default_factory=OrderedDict)
    """(plant, item, revision) -> routing id."""
    withdrawn_routings: OrderedDict[str, tuple[str, str, str]] = field(default_factory=OrderedDict)
    """Routing id -> the (plant, item, revision) it was for."""
    pvs: OrderedDict[str, ProductionVersion] = field(default_factory=OrderedDict)

    def active_version(self, plant: str, item: str, revision: str) -> ProductionVersion | None:
        """The active production version of an item revision at a plant, if any."""
        return next(
            (
                pv
                for pv in self.pvs.values()
                if (pv.plant, pv.item, pv.revision) == (plant, item, revision)
                and pv.status == "active"
            ),
            None,
        )


def bounded(records: OrderedDict[Any, Any], cap: int) -> None:
    """Drop the oldest records until at most ``cap`` remain."""
    while len(records) > cap:
        records.popitem(last=False)
