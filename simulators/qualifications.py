"""Procurement's supplier qualifications: one record per (supplier, component, revision).

A request opens a sourcing task and a quality task. Each completes a seeded delay after the
request (around ``procurement.qualification_delay_seconds``); when both are done the
qualification is decided: ``qualified``, or ``rejected`` for a seeded share
(``procurement.qualification_reject_rate``). The draws come from a stream seeded by the
triple, so the outcome of a qualification does not depend on the order requests arrive in.
Nothing runs in the background: ``settle`` (before every request) applies each decision due
by now, stamped with its due time. An operator decides one earlier through
``POST /_admin/qualifications/{id}/approve`` or ``/reject``.

The current revision of every approved component starts qualified with its suppliers (a
seeded few still pending, decided ``SEEDED_PENDING`` after the start unless an operator
decides them first), so only a new revision has a gap.
Every decision is in the ledger: ``qualification.request``, ``qualification.approve``,
``qualification.reject`` (item = component); the seeded ones from before the start are not.

Bounded: the newest ``QUALIFICATION_CAP`` (20,000) requested records are kept besides the
seeded ones (one per approved pair).
"""

from __future__ import annotations

import heapq
import random
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from contracts.api import (
    DecisionRequest,
    Qualification,
    QualificationRequest,
    QualificationState,
    QualificationTask,
)
from contracts.model import ItemKind
from simulators.clock import Clock
from simulators.faults import FaultInjector
from simulators.ledger import Ledger
from simulators.problems import Problem
from simulators.sourcing import Sourcing
from simulators.world import World

QUALIFICATION_CAP = 20_000
SEEDED_PENDING = timedelta(days=14)
"""How long the qualifications pending at the start still take."""
SYSTEM = "procurement"
Triple = tuple[str, str, str]
TaskKind = Literal["sourcing", "quality"]
TASKS: tuple[TaskKind, ...] = ("sourcing", "quality")


@dataclass(slots=True)
class Record:
    """One qualification as procurement keeps it."""

    id: str
    triple: Triple
    requested_at: datetime
    status: QualificationState = "pending"
    eco: str | None = None
    due: dict[TaskKind, datetime] = field(default_factory=dict)
    """task kind -> when it completes (while pending)."""
    outcome: QualificationState = "qualified"
    decided_at: datetime | None = None
    reason: str | None = None
    seeded: bool = False

    def answer(self, now: datetime) -> Qualification:
        """The record as procurement answers it at ``now``."""
        supplier, component, revision = self.triple
        tasks = []
        for kind, due in self.due.items():
            done_at = due if due <= now else None
            if self.decided_at is not None:
                done_at = min(due, self.decided_at)
            tasks.append(
                QualificationTask(
                    kind=kind,
                    status="open" if done_at is None else "done",
                    due_at=due,
                    completed_at=done_at,
                )
            )
        return Qualification(
            id=self.id,
            supplier=supplier,
            component=component,
            revision=revision,
            status=self.status,
            requested_at=self.requested_at,
            decided_at=self.decided_at,
            reason=self.reason,
            eco=self.eco,
            tasks=tuple(tasks),
        )


class Qualifications:
    """Procurement's qualification records, their open tasks and their decisions."""

    def __init__(
        self,
        world: World,
        sourcing: Sourcing,
        ledger: Ledger,
        faults: FaultInjector,
        *,
        clock: Clock,
        cap: int = QUALIFICATION_CAP,
    ) -> None:
        self.world = world
        self._sourcing = sourcing
        self._ledger = ledger
        self._faults = faults
        self._clock = clock
        self._cap = cap
        self._seeded: dict[Triple, Record] = {}
        self._requested: OrderedDict[Triple, Record] = OrderedDict()
        self._by_id: dict[str, Triple] = {}
        self._pending: list[tuple[datetime, str]] = []
        self._listeners: list[Callable[[Qualification], None]] = []
        self._serial = 0
        start = clock()
        for seeded in sourcing.qualifications:
            triple = (seeded.supplier, seeded.component, seeded.revision)
            record = self._open(triple, start - timedelta(days=3), seeded=True)
            if seeded.status == "qualified":
                record.status = record.outcome = "qualified"
                record.decided_at = start - timedelta(days=1)
                record.due = {k: record.decided_at for k in record.due}
                record.reason = "approved with the current revision"
            else:
                # Waiting on the supplier's samples: decided weeks later, or by an operator.
                record.due = {k: start + SEEDED_PENDING for k in record.due}
                heapq.heappush(self._pending, (start + SEEDED_PENDING, record.id))
            self._seeded[triple] = record

    def on_decision(self, listener: Callable[[Qualification], None]) -> None:
        """Call ``listener`` with every qualification as it is approved or rejected."""
        self._listeners.append(listener)

    def _open(self, triple: Triple, at: datetime, *, seeded: bool = False) -> Record:
        """A new pending record with its tasks' due times and its seeded outcome."""
        self._serial += 1
        rng = random.Random(f"{self.world.seed}:qualification:{':'.join(triple)}")
        procurement = self._faults.faults.procurement
        median = procurement.qualification_delay_seconds
        due = {kind: at + timedelta(seconds=median * rng.uniform(0.5, 1.5)) for kind in TASKS}
        rejected = rng.random() < procurement.qualification_reject_rate
        record = Record(
            id=f"Q-{self._serial:06d}", triple=triple, requested_at=at, due=due, seeded=seeded
        )
        if rejected:
            record.outcome = "rejected"
        self._by_id[record.id] = triple
        return record

    def _find(self, triple: Triple) -> Record | None:
        return self._requested.get(triple) or self._seeded.get(triple)

    def settle(self, now: datetime | None = None) -> None:
        """Decide every qualification whose tasks are all complete by ``now``."""
        now = now or self._clock()
        while self._pending and self._pending[0][0] <= now:
            due, qid = heapq.heappop(self._pending)
            record = self.record(qid)
            if record is None or record.status != "pending":
                continue
            reason = (
                "quality found the part not conforming to the drawing"
                if record.outcome == "rejected"
                else "sourcing and quality approved the part"
            )
            self._decide(record, record.outcome, due, reason, key=None)

    def _decide(
        self,
        record: Record,
        status: QualificationState,
        at: datetime,
        reason: str,
        *,
        key: str | None,
    ) -> None:
        record.status = status
        record.decided_at = at
        record.reason = reason
        supplier, component, revision = record.triple
        operation = "qualification.approve" if status == "qualified" else "qualification.reject"
        self._ledger.append(
            SYSTEM,
            operation,
            key,
            at,
            item=component,
            revision=revision,
            supplier=supplier,
            qualification_id=record.id,
            reason=reason,
        )
        for listener in self._listeners:
            listener(record.answer(at))

    def record(self, qid: str) -> Record | None:
        """The record with this id, if kept."""
        triple = self._by_id.get(qid)
        if triple is None:
            return None
        record = self._find(triple)
        return record if record is not None and record.id == qid else None

    def get(self, qid: str) -> Qualification | None:
        """One qualification (after settling), if kept."""
        self.settle()
        record = self.record(qid)
        return record.answer(self._clock()) if record is not None else None

    def status(self, supplier: str, component: str, revision: str) -> Qualification | None:
        """The qualification of this triple (after settling), if procurement has one."""
        self.settle()
        record = self._find((supplier, component, revision))
        return record.answer(self._clock()) if record is not None else None

    def request(self, body: QualificationRequest, key: str | None) -> tuple[int, Qualification]:
        """Open a qualification, or answer the one this triple already has."""
        self.settle()
        if body.supplier not in {s.code for s in self.world.suppliers}:
            raise Problem(422, "SUPPLIER_NOT_FOUND", f"no supplier {body.supplier}")
        item = self.world.items.get(body.component)
        if item is None or item.kind is not ItemKind.COMPONENT:
            raise Problem(422, "COMPONENT_NOT_FOUND", f"no purchased component {body.component}")
        if not self._sourcing.is_approved(body.supplier, body.component):
            raise Problem(
                422,
                "SUPPLIER_NOT_APPROVED",
                f"{body.supplier} is not on the approved list of {body.component}",
                supplier=body.supplier,
                component=body.component,
            )
        triple = (body.supplier, body.component, body.revision)
        now = self._clock()
        existing = self._find(triple)
        if existing is not None:
            return 200, existing.answer(now)
        record = self._open(triple, now)
        record.eco = body.eco
        self._requested[triple] = record
        while len(self._requested) > self._cap:
            _, dropped = self._requested.popitem(last=False)
            self._by_id.pop(dropped.id, None)
        heapq.heappush(self._pending, (max(record.due.values()), record.id))
        self._ledger.append(
            SYSTEM,
            "qualification.request",
            key,
            now,
            item=body.component,
            revision=body.revision,
            supplier=body.supplier,
            qualification_id=record.id,
            eco=body.eco,
        )
        return 201, record.answer(now)

    def decide(self, qid: str, status: QualificationState, body: DecisionRequest) -> Qualification:
        """An operator approves (``qualified``) or rejects a qualification now."""
        self.settle()
        record = self.record(qid)
        if record is None:
            raise Problem(404, "QUALIFICATION_NOT_FOUND", f"no qualification {qid}")
        now = self._clock()
        if record.status == status:
            return record.answer(now)
        if record.status != "pending":
            raise Problem(
                409,
                "QUALIFICATION_DECIDED",
                f"qualification {qid} is already {record.status}",
                qualification_status=record.status,
            )
        self._decide(record, status, now, body.reason, key=None)
        return record.answer(now)

    def listing(
        self,
        *,
        supplier: str | None = None,
        component: str | None = None,
        revision: str | None = None,
        status: str | None = None,
    ) -> list[Qualification]:
        """Qualifications matching every filter given, seeded first, then oldest first."""
        self.settle()
        now = self._clock()
        records = [*self._seeded.values(), *self._requested.values()]
        return [
            r.answer(now)
            for r in records
            if (supplier is None or r.triple[0] == supplier)
            and (component is None or r.triple[1] == component)
            and (revision is None or r.triple[2] == revision)
            and (status is None or r.status == status)
        ]
