"""The purchasing steps of a history ECO played out, as the engine runs them.

The plan comes from procurement's approved lists (``simulators.sourcing``): every supplier
approved for an affected purchased component at an affected plant gets a qualification
request for the new revision, and a purchasing info record per plant under local sourcing
or once under central. What the history models of them:

- a qualification request succeeds like any call (``procurement.qualification_requested``);
  sourcing and quality decide it hours to days later, a share of them rejected;
- an info record step finds the qualification not yet decided and waits in
  ``awaiting_qualification`` until the engine's poll sees the decision, which procurement
  announced when it made it (``procurement.qualification_approved`` or ``..._rejected``):
  approved, it runs and ERP activates the record (``erp.info_record_activated``);
  rejected, it is blocked until an operator skips it;
- a supplier without a contract for the component blocks its info records as an exception
  for sourcing (``CONTRACT_MISSING``) until a buyer signs one and an operator retries.

When an ECO first gets stuck (a step blocked or waiting on a qualification) the engine
assesses what that puts at risk (``eco.impact_assessed``): the open purchase orders at the
plant still buying the superseded revisions of its components and the production orders
after the effectivity date that would build its items on the superseded BOM, drawn from
the ECO's own stream (``impact``), so the reports have exposure over the past.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from contracts import events as ev
from contracts import sourcing_events as se
from contracts.model import Eco, ItemKind
from contracts.purchasing import ApprovedSource, Sourcing, Standing
from contracts.steps import PURCHASING_KINDS, ErrorCategory, OperatorAction, StepKind, StepState
from simulators.playstep import OPERATORS, PlayStep, synthetic_id
from simulators.sourcing import Sourcing as SourcingWorld
from simulators.sourcing import build_sourcing, record_id
from simulators.world import World

if TYPE_CHECKING:
    from simulators.playout import Playout

QUALIFICATION_HOURS = 9.0
"""Median time sourcing and quality take to decide a qualification in the history."""
REJECT_SHARE = 0.1
CONTRACT_HOURS = 20.0
"""Median time until sourcing signs a missing contract and an operator retries."""
SKIP_HOURS = 6.0
PLANNING_DAY = date(2026, 1, 1)
"""Contract windows do not matter to the history: a pair with a contract has one."""

NOT_PLANT_WORK = PURCHASING_KINDS | {StepKind.SUPPLIER_NOTICE}
"""Steps a plant does not wait for to build (as the engine's readiness counts them)."""

S = StepState
Triple = tuple[str, str, str]
_WORLDS: dict[int, SourcingWorld] = {}


def sourcing_world(world: World) -> SourcingWorld:
    """The sourcing world of ``world``'s seed (built once per seed: it is seed-determined
    in everything the history reads)."""
    found = _WORLDS.get(world.seed)
    if found is None:
        found = _WORLDS[world.seed] = build_sourcing(world, PLANNING_DAY)
    return found


def plan_sourcing(world: World, eco: Eco) -> Sourcing:
    """What the engine would read from procurement and ERP when planning ``eco``: the
    approved lists of its components, no qualification of their new revisions yet, which
    suppliers have a contract, each plant's sourcing mode."""
    found = sourcing_world(world)
    contracted = {(c.supplier, c.component) for c in found.contracts}
    approved: list[ApprovedSource] = []
    standings: list[Standing] = []
    for affected in eco.affected_items:
        component = affected.item
        if world.items[component].kind is not ItemKind.COMPONENT:
            continue
        for entry in found.approved.get(component, ()):
            approved.extend(
                ApprovedSource(component=component, plant=plant, supplier=entry.supplier)
                for plant in entry.plants
            )
            standings.append(
                Standing(
                    supplier=entry.supplier,
                    component=component,
                    revision=affected.new_revision,
                    contract=(entry.supplier, component) in contracted,
                )
            )
    return Sourcing(approved=tuple(approved), standings=tuple(standings), modes=found.modes)


def received_suppliers(eco: Eco, steps: list[PlayStep]) -> dict[str, Any]:
    """The supplier fields of ``eco.received`` as the engine fills them from its plan."""
    notified = [s.supplier for s in steps if s.kind is StepKind.SUPPLIER_NOTICE and s.supplier]
    approved = {s.supplier for s in steps if s.kind is StepKind.ERP_INFO_RECORD}
    added = [s for s in notified if s not in eco.suppliers]
    not_approved = [s for s in eco.suppliers if approved and s not in approved]
    return {
        "suppliers": notified,
        "suppliers_added": added or None,
        "suppliers_not_approved": not_approved or None,
    }


@dataclass(slots=True)
class Decision:
    """How procurement decided one qualification the ECO requested."""

    qualification_id: str
    decided_at: datetime
    approved: bool


class PurchasingPlay:
    """Plays one ECO's qualification requests and info records (for a ``Playout``)."""

    def __init__(self, playout: Playout) -> None:
        self.p = playout
        self.decisions: dict[Triple, Decision] = {}

    @staticmethod
    def triple(step: PlayStep) -> Triple:
        return (step.supplier or "", step.item or "", step.revision or "")

    def requested(self, step: PlayStep, at: datetime) -> None:
        """A qualification request succeeded at ``at``: report it and draw its decision."""
        p, key = self.p, self.triple(step)
        supplier, component, revision = key
        qid = synthetic_id("Q-", f"{p.number}|{'/'.join(key)}")
        hours = p.rng.lognormvariate(math.log(QUALIFICATION_HOURS), 0.8)
        approved = p.rng.random() >= REJECT_SHARE
        decision = self.decisions[key] = Decision(qid, at + timedelta(hours=hours), approved)
        data = se.QualificationRequested(
            eco=p.number,
            supplier=supplier,
            component=component,
            revision=revision,
            qualification_id=qid,
            plants=list(step.planned.payload.get("plants") or []),
            requested_at=at,
        )
        p.add(at, data, f"{step.step_id}|requested")
        self._decided(key, decision)

    def _decided(self, key: Triple, decision: Decision) -> None:
        """Procurement's decision, as it announces it when it is made."""
        p = self.p
        supplier, component, revision = key
        fields = {
            "eco": p.number,
            "supplier": supplier,
            "component": component,
            "revision": revision,
            "qualification_id": decision.qualification_id,
        }
        data: ev.EventData
        if decision.approved:
            data = se.QualificationApproved(**fields, approved_at=decision.decided_at)
        else:
            reason = "quality found the part not conforming to the drawing"
            data = se.QualificationRejected(
                **fields, reason=reason, rejected_at=decision.decided_at
            )
        p.add(decision.decided_at, data, f"{p.number}|qualification|{'/'.join(key)}")

    def _error(self, code: str, message: str) -> ev.StepError:
        return ev.StepError(
            category=ErrorCategory.BUSINESS,
            code=code,
            message=message,
            http_status=None,
            fingerprint=f"{StepKind.ERP_INFO_RECORD.value}:{code}",
        )

    def _start(self, step: PlayStep, at: datetime) -> datetime:
        p = self.p
        step.attempt += 1
        p.move(step, S.RUNNING, at)
        return at + p._seconds(0.8)

    def run_info_record(self, step: PlayStep, ready: datetime) -> None:
        """Play one info record step from due to active, or to skipped."""
        p, key = self.p, self.triple(step)
        p.move(step, S.PENDING, ready)
        at = self._start(step, ready + timedelta(seconds=p.rng.uniform(0.2, 4)))
        if not step.planned.payload.get("planned_contract", True):
            message = f"no contract covers {step.item} from {step.supplier}: sourcing to act"
            p.move(step, S.BLOCKED, at, error=self._error("CONTRACT_MISSING", message))
            actor = p.rng.choice(OPERATORS)
            at += timedelta(hours=p.rng.lognormvariate(math.log(CONTRACT_HOURS), 0.6))
            reason = "Sourcing signed a frame contract with the supplier"
            p._operator(at, actor, OperatorAction.RETRY, [step.step_id], reason, "queued")
            step.attempt = 0
            p.move(step, S.PENDING, at, reason=reason, actor=actor)
            at = self._start(step, at + timedelta(seconds=p.rng.uniform(0.2, 4)))
        decision = self.decisions.get(key)
        if decision is not None:
            waits = decision.decided_at > at
            if waits:
                qid = decision.qualification_id
                p.move(step, S.AWAITING_QUALIFICATION, at, qualification_id=qid)
                at = decision.decided_at + timedelta(seconds=p.rng.uniform(1, 60))
            if not decision.approved:
                self._rejected(step, at)
                return
            if waits:
                p.move(step, S.PENDING, at, reason="procurement approved the qualification")
                at = self._start(step, at + timedelta(seconds=p.rng.uniform(0.2, 4)))
        p.move(step, S.SUCCEEDED, at)
        step.done_at = at
        supplier, component, revision = key
        data = se.InfoRecordActivated(
            eco=p.number,
            supplier=supplier,
            component=component,
            revision=revision,
            plant=step.plant,
            plants=list(step.planned.payload.get("plants") or []),
            info_record=record_id(supplier, component, revision, step.plant),
            activated_at=at,
        )
        p.add(at, data, f"{step.step_id}|activated")

    def _rejected(self, step: PlayStep, at: datetime) -> None:
        p = self.p
        supplier, component, revision = self.triple(step)
        why = f"procurement rejected {supplier} for {component} {revision}"
        p.move(step, S.BLOCKED, at, error=self._error("QUALIFICATION_REJECTED", why))
        acted = at + timedelta(hours=p.rng.lognormvariate(math.log(SKIP_HOURS), 0.6))
        actor = p.rng.choice(OPERATORS)
        reason = "Sourcing buys the revision from the other approved suppliers"
        p._operator(acted, actor, OperatorAction.SKIP, [step.step_id], reason, "skipped")
        p.move(step, S.SKIPPED, acted, reason=reason, actor=actor)
        step.done_at = acted

    def assess_impact(self, steps: list[PlayStep]) -> None:
        """Report what the ECO puts at risk when it first gets stuck, if it does."""
        stuck = [
            (at, step)
            for step in steps
            for at, state in step.trail
            if state in (S.BLOCKED, S.AWAITING_QUALIFICATION)
        ]
        if not stuck:
            return
        at, step = min(stuck, key=lambda pair: pair[0])
        p = self.p
        rng = random.Random(f"{p.number}:impact")
        plant = step.plant or (step.planned.payload.get("plants") or p.eco.plants)[0]
        old = {a.item: a.old_revision for a in p.eco.affected_items}
        found = sourcing_world(p.world)
        day = at.date()
        # One assessment per item, as the engine reads them: what still buys or builds the
        # item's superseded revision at the plant.
        for item in p.items:
            if old[item] is None:
                continue
            orders: list[tuple[date, float]] = []
            runs: list[tuple[date, int]] = []
            if p.world.items[item].kind is ItemKind.COMPONENT:
                entries = found.approved.get(item, ())
                price = max((found.prices[(e.supplier, item)] for e in entries), default=10)
                orders.extend(
                    (day + timedelta(days=rng.randint(3, 60)), float(price) * rng.randint(10, 2000))
                    for _ in range(rng.randint(0, 3))
                )
            else:
                first = max(day, p.effectivity)
                runs.extend(
                    (first + timedelta(days=rng.randint(1, 30)), rng.randint(5, 500))
                    for _ in range(rng.randint(0, 2))
                )
            if not orders and not runs:
                continue
            data = se.ImpactAssessed(
                eco=p.number,
                plant=plant,
                item=item,
                superseded_revision=old[item],
                purchase_orders=len(orders),
                purchase_value=round(sum(v for _, v in orders), 2),
                earliest_due=min((d for d, _ in orders), default=None),
                production_orders=len(runs),
                production_quantity=float(sum(q for _, q in runs)),
                earliest_start=min((d for d, _ in runs), default=None),
                read_at=at + timedelta(seconds=rng.uniform(5, 120)),
            )
            p.add(data.read_at, data, f"{p.number}|impact|{item}")
