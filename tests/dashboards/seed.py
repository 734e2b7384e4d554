"""A small, known operations picture seeded through the collector's own store.

Events are built with ``contracts.events.new_event`` exactly as the engine emits them and
appended with ``collector.store.EventStore``, so the projections the dashboards read are
the collector's, not hand-written rows. Times are relative to ``now`` so the "last 30
days" and "past SLA" figures mean the same whenever the tests run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from collector.samples import Emitter
from collector.store import EventStore
from contracts import events as ev
from contracts.operator_events import OperatorActionTaken
from contracts.steps import ErrorCategory, OperatorAction, StepKind, StepState, System

SOURCE = "/threadline/engine"
PLANT_KINDS = (
    StepKind.ERP_BOM,
    StepKind.ERP_ROUTING,
    StepKind.ERP_PRODUCTION_VERSION,
    StepKind.ERP_CONFIRMATION,
    StepKind.MES_ROUTING,
)


def error(kind: StepKind, code: str, message: str, category: ErrorCategory) -> ev.StepError:
    return ev.StepError(
        category=category, code=code, message=message, fingerprint=f"{kind.system}:{kind}:{code}"
    )


@dataclass(kw_only=True)
class Story(Emitter):
    """The events of one ECO, told in time order."""

    eco: str
    approved_at: datetime
    plants: list[str]
    items: dict[str, str]
    family: str = "PUMPS"
    suppliers: list[str] = field(default_factory=list)
    effectivity: date | None = None
    tick: timedelta = timedelta(milliseconds=10)

    def __post_init__(self) -> None:
        self.clock = self.approved_at
        self.sequence_prefix = self.eco[-5:]
        steps = len(self.items) * (1 + len(self.plants) * len(PLANT_KINDS)) + len(self.suppliers)
        self.emit(
            ev.EcoReceived(
                eco=self.eco,
                title=f"Change {self.eco}",
                approved_at=self.approved_at,
                effectivity=self.effectivity or self.approved_at.date(),
                items=list(self.items),
                revisions=self.items,
                product_families=[self.family] * len(self.items),
                plants=self.plants,
                suppliers=self.suppliers,
                steps=steps,
            ),
        )
        for item, revision in self.items.items():
            self.step(StepKind.ERP_ITEM_REVISION, StepState.WAITING, item=item, revision=revision)
            for plant in self.plants:
                for kind in PLANT_KINDS:
                    self.step(kind, StepState.WAITING, plant=plant, item=item, revision=revision)
        for supplier in self.suppliers:
            self.step(StepKind.SUPPLIER_NOTICE, StepState.WAITING, supplier=supplier)

    def at(self, when: datetime) -> Story:
        self.clock = when
        return self

    def item_revisions(self) -> None:
        for item, revision in self.items.items():
            for state in (StepState.PENDING, StepState.RUNNING, StepState.SUCCEEDED):
                self.step(StepKind.ERP_ITEM_REVISION, state, item=item, revision=revision)

    def plant_until(self, plant: str, last: StepKind, final: StepState, **extra: Any) -> None:
        """Run the plant's steps in order; ``last`` ends in ``final`` and later ones wait."""
        for item, revision in self.items.items():
            where: dict[str, Any] = {"plant": plant, "item": item, "revision": revision}
            for kind in PLANT_KINDS:
                self.step(kind, StepState.PENDING, **where)
                self.step(kind, StepState.RUNNING, attempt=1, **where)
                if kind == last:
                    self.step(kind, final, attempt=1, **where, **extra)
                    break
                if kind == StepKind.ERP_CONFIRMATION:
                    self.step(
                        kind,
                        StepState.AWAITING_CONFIRMATION,
                        attempt=1,
                        production_version=f"PV-{plant}",
                        **where,
                    )
                    requested = self.clock
                    self.emit(
                        ev.ProductionVersionConfirmed(
                            eco=self.eco,
                            plant=plant,
                            item=item,
                            revision=revision,
                            production_version=f"PV-{plant}",
                            requested_at=requested,
                            confirmed_at=self.clock,
                        ),
                    )
                    self.emit(
                        ev.PlantRevisionChanged(
                            plant=plant,
                            item=item,
                            new_revision=revision,
                            eco=self.eco,
                            effective_from=self.effectivity or self.approved_at.date(),
                        ),
                        subject=f"{plant}/{item}",
                    )
                self.step(kind, StepState.SUCCEEDED, attempt=1, **where)

    def notice(self, supplier: str, *, code: str | None = None, final: bool = False) -> str:
        kind = StepKind.SUPPLIER_NOTICE
        self.step(kind, StepState.PENDING, supplier=supplier)
        ident = self.step(kind, StepState.RUNNING, supplier=supplier, attempt=1)
        if code is None:
            self.emit(
                ev.SupplierNoticeSent(
                    eco=self.eco,
                    supplier=supplier,
                    notice_id=f"N-{self.eco}-{supplier}",
                    items=list(self.items),
                    attempt=1,
                ),
            )
            self.step(kind, StepState.SUCCEEDED, supplier=supplier, attempt=1)
            return ident
        category = ErrorCategory.BUSINESS if final else ErrorCategory.TRANSIENT
        problem = error(kind, code, f"{code.lower().replace('_', ' ')} for {supplier}", category)
        retry_at = None if final else self.clock + timedelta(minutes=10)
        if final:
            self.step(kind, StepState.FAILED, supplier=supplier, attempt=1, error=problem)
        else:
            self.step(
                kind,
                StepState.RETRYING,
                supplier=supplier,
                attempt=1,
                error=problem,
                next_attempt_at=retry_at,
            )
        self.emit(
            ev.SupplierNoticeFailed(
                eco=self.eco,
                supplier=supplier,
                attempt=1,
                error=problem,
                final=final,
                next_attempt_at=retry_at,
            ),
        )
        return ident

    def production_ready(self) -> None:
        self.emit(
            ev.EcoProductionReady(
                eco=self.eco,
                approved_at=self.approved_at,
                erp_confirmed_at=self.clock,
                production_ready_at=self.clock,
                cycle_time_seconds=(self.clock - self.approved_at).total_seconds(),
                plants=self.plants,
            ),
        )

    def operator_retry(self, ident: str, actor: str = "sam") -> None:
        self.emit(
            OperatorActionTaken(
                actor=actor,
                role="operator",
                action=OperatorAction.RETRY,
                eco=self.eco,
                step_ids=[ident],
                reason="checked with the supplier",
                outcome="queued",
                affected=1,
            ),
        )


@dataclass(frozen=True)
class Picture:
    """What was seeded, as the figures a person should see."""

    now: datetime
    in_flight: int = 4
    awaiting: int = 3
    awaiting_past_sla: int = 1
    blocked_plants: int = 1
    failed_notices: int = 1
    retrying_notices: int = 1
    plants_behind: int = 2
    late_pairs: tuple[tuple[str, str, int], ...] = (
        ("P200", "ASM-1001", 7),
        ("P100", "ASM-1001", 5),
    )
    recent_cycle_hours: tuple[float, ...] = (24.0, 48.0, 72.0)
    previous_cycle_hours: tuple[float, ...] = (96.0, 120.0)
    failed_notice_step: str = "ECO-2026-00102/procurement.supplier_notice/-/S020"
    retrying_notice_step: str = "ECO-2026-00102/procurement.supplier_notice/-/S030"
    blocked_step: str = "ECO-2026-00103/erp.routing/P100/ASM-1001"


def stories(now: datetime) -> list[Story]:
    """The seeded ECOs (see :class:`Picture` for what they add up to)."""
    told: list[Story] = []
    # Completed ECOs: three ready in the last 30 days, two in the 30 before.
    done = [(1, 24.0), (2, 48.0), (3, 72.0), (40, 96.0), (45, 120.0)]
    for index, (days_ago, hours) in enumerate(done, start=1):
        ready = now - timedelta(days=days_ago)
        story = Story(
            eco=f"ECO-2026-{index:05d}",
            approved_at=ready - timedelta(hours=hours),
            plants=["P100"],
            items={f"CMP-20{index:02d}": "B"},
            family="PUMPS" if index % 2 else "VALVES",
            suppliers=["S010"],
        )
        story.item_revisions()
        story.notice("S010")
        story.plant_until("P100", StepKind.MES_ROUTING, StepState.SUCCEEDED)
        story.production_ready()
        told.append(_retimed(story, story.approved_at, ready))

    # A: P100 ready, P200 awaiting ERP confirmation for two hours (past a 15-minute SLA),
    # so P200 still builds the old ASM-1001 a week after the new one became effective.
    a = Story(
        eco="ECO-2026-00101",
        approved_at=now - timedelta(days=8),
        plants=["P100", "P200"],
        items={"ASM-1001": "C"},
        family="PUMPS",
        effectivity=(now - timedelta(days=7)).date(),
    )
    a.item_revisions()
    # Reconciliation had read what P200's ERP uses of ASM-1001 before A reached it.
    a.emit(
        ev.PlantRevisionObserved(
            plant="P200", item="ASM-1001", system=System.ERP, observed_revision="B"
        ),
        subject="P200/ASM-1001",
    )
    a.plant_until("P100", StepKind.MES_ROUTING, StepState.SUCCEEDED)
    a.at(now - timedelta(hours=2))
    a.plant_until(
        "P200",
        StepKind.ERP_CONFIRMATION,
        StepState.AWAITING_CONFIRMATION,
        production_version="PV-P200",
    )
    told.append(a)

    # B: two plants awaiting for five minutes; one supplier refused for good, one retrying.
    b = Story(
        eco="ECO-2026-00102",
        approved_at=now - timedelta(hours=1),
        plants=["P300", "P400"],
        items={"VLV-3001": "B"},
        family="VALVES",
        suppliers=["S020", "S030"],
        effectivity=(now + timedelta(days=7)).date(),
    )
    b.item_revisions()
    b.notice("S020", code="INVALID_SUPPLIER_CONTACT", final=True)
    b.notice("S030", code="HTTP_502")
    b.at(now - timedelta(minutes=5))
    for plant in ("P300", "P400"):
        b.plant_until(
            plant,
            StepKind.ERP_CONFIRMATION,
            StepState.AWAITING_CONFIRMATION,
            production_version=f"PV-{plant}",
        )
    told.append(b)

    # C: moves ASM-1001 to D, effective five days ago; P100's routing is blocked, so P100
    # still builds C (from A).
    c = Story(
        eco="ECO-2026-00103",
        approved_at=now - timedelta(days=6),
        plants=["P100"],
        items={"ASM-1001": "D"},
        family="PUMPS",
        effectivity=(now - timedelta(days=5)).date(),
    )
    c.item_revisions()
    c.at(now - timedelta(days=5))
    c.plant_until(
        "P100",
        StepKind.ERP_ROUTING,
        StepState.BLOCKED,
        error=error(
            StepKind.ERP_ROUTING,
            "WORK_CENTER_INACTIVE",
            "work center WC-P100-01 is inactive",
            ErrorCategory.BUSINESS,
        ),
    )
    c.operator_retry("ECO-2026-00103/erp.routing/P100/ASM-1001", actor="lin")
    told.append(c)

    # D: just received, nothing run yet.
    told.append(
        Story(
            eco="ECO-2026-00104",
            approved_at=now - timedelta(minutes=2),
            plants=["P100"],
            items={"HSG-4001": "A"},
            family="HOUSINGS",
            effectivity=(now + timedelta(days=14)).date(),
        )
    )
    return told


def _retimed(story: Story, start: datetime, end: datetime) -> Story:
    """Spread the story's events evenly from ``start`` to ``end`` (exactly)."""
    count = len(story.events)
    step = (end - start) / max(count - 1, 1)
    for index, event in enumerate(story.events):
        moment = end if index == count - 1 else start + step * index
        event["time"] = moment.isoformat().replace("+00:00", "Z")
        data = event["data"]
        if event["type"] == "io.threadline.eco.production_ready.v1":
            data["production_ready_at"] = event["time"]
            data["erp_confirmed_at"] = event["time"]
            data["cycle_time_seconds"] = (end - start).total_seconds()
    return story


def seed(engine: sa.Engine, now: datetime | None = None) -> Picture:
    """Append every story's events through the collector's store; return the picture."""
    now = now or datetime.now(UTC)
    store = EventStore(engine)
    for story in stories(now):
        store.append(story.events, "engine")
    return Picture(now=now)
