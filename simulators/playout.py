"""One history ECO played out: its plan, every transition's time, and its events.

The model of the plants behind the history:

- ERP confirmations take hours, by plant and product family, and drift over the months;
- calls fail transiently now and then (503, 429, timeouts) and are retried with backoff;
  the few unreliable supplier portals fail often;
- a share of routings is refused with ``WORK_CENTER_INACTIVE``: the plant waits until an
  operator retries (``operator.action``), or now and then cancels the ECO;
- notices to suppliers with a bouncing contact are blocked until an operator skips them;
- a share of ECOs is cancelled in PLM mid-way: what its succeeded steps wrote and the
  engine did not know effective is withdrawn as the engine would withdraw it
  (``contracts.plan.compensation``), and ERP refuses what became effective meanwhile;
- an ECO whose propagation would reach past the history's end is marked ``truncated``:
  the history leaves it out, because what is still in flight belongs to the live engine
  (a console could otherwise offer to retry a step no engine holds).

The steps, their dependencies and idempotency keys are the engine's own: the playout
plays out what ``contracts.plan`` plans for the ECO (and ``compensation`` for a cancelled
one), wrapping each planned step with the simulated state it moves through.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from typing import Any

from contracts import events as ev
from contracts.model import Eco
from contracts.operator_events import OperatorActionTaken
from contracts.plan import AppliedWrite, PlannedStep, compensation, plan
from contracts.steps import ErrorCategory, OperatorAction, StepKind, StepState, step_id
from simulators.changes import (
    PlantChanges,
    cancelled_changes,
    effective_from,
    planned_changes,
)
from simulators.playpurchase import (
    NOT_PLANT_WORK,
    PurchasingPlay,
    plan_sourcing,
    received_suppliers,
)
from simulators.playstep import OPERATORS, PlayStep, event_id, state_at, synthetic_id
from simulators.world import World

SOURCE = "/threadline/history"

PLANT_CONFIRMATION_HOURS = {"P100": 1.5, "P200": 3.0, "P300": 2.2, "P400": 6.0, "P500": 4.0}
FAMILY_FACTOR = {
    "Pumps": 1.0,
    "Valves": 0.8,
    "Compressors": 1.5,
    "Actuators": 1.15,
    "Controls": 0.9,
}
CANCEL_SHARE = 0.03
INACTIVE_SHARE = 0.06
OPERATOR_CANCEL_SHARE = 0.15
TRANSIENT_SHARE = 0.03
UNRELIABLE_PORTAL_SHARE = 0.35
MAX_ATTEMPTS = 6

S = StepState


class Playout:
    """Plays one ECO out: its planned steps, every transition's time, the events.

    ``rng`` is the ECO's own stream; the playout draws the ECO's fates (a refused routing,
    a cancellation in PLM) from it first, then every time and failure.
    """

    def __init__(
        self,
        world: World,
        eco: Eco,
        plant_revisions: dict[tuple[str, str], str],
        end: datetime,
        rng: random.Random,
    ) -> None:
        self.world = world
        self.eco = eco
        self.number = eco.number
        self.approved_at = eco.approved_at
        self.items = eco.items
        self.new = {a.item: a.new_revision for a in eco.affected_items}
        self.effectivity = eco.effectivity
        self.end = end
        self.rng = rng
        self.plant_revisions = plant_revisions
        self.pending: list[tuple[datetime, int, ev.EventData, str]] = []
        self.counter = 0
        self.steps: list[PlayStep] = []
        """The planned steps as played out (set by :meth:`run`; withdrawals not included)."""
        self.inactive: tuple[str, str] | None = None
        self.cancel_at: datetime | None = None
        self.cancel_cause = "plm_cancelled"
        self.cancel_actor: str | None = None
        self.truncated = False
        """Whether the ECO's propagation reaches past ``end`` (set by :meth:`run`)."""
        self.plm_cancelled_at: datetime | None = None
        """When PLM cancelled the ECO, if it did (set by :meth:`run`)."""
        self.cancelled_at: datetime | None = None
        """When the ECO was cancelled, in PLM or by an operator (set by :meth:`run`)."""
        self.withdrawals: list[PlayStep] = []
        """What the cancellation withdrew, as played out (set by :meth:`run`)."""
        self.purchasing = PurchasingPlay(self)

    def may_be_cancelled(self) -> bool:
        """Whether the ECO's fates (drawn first, as :meth:`run` draws them) include a
        cancellation in PLM or a refused routing an operator may cancel the ECO over; use
        a playout whose ``rng`` is a copy, then drop it."""
        self._draw_fates()
        return self.cancel_at is not None or self.inactive is not None

    def add(self, at: datetime, data: ev.EventData, key: str) -> None:
        self.counter += 1
        self.pending.append((at, self.counter, data, key))

    def _draw_fates(self) -> None:
        rng = self.rng
        routed = [(change.item, change.plant) for change in self.eco.routing_changes]
        if routed and rng.random() < INACTIVE_SHARE:
            self.inactive = routed[rng.randrange(len(routed))]
        if rng.random() < CANCEL_SHARE:
            self.cancel_at = self.approved_at + timedelta(hours=rng.uniform(0.2, 30))

    def _external_id(self, step: PlayStep) -> str | None:
        """What the system answered the step's write with: deterministic, from its id."""
        match step.kind:
            case StepKind.ERP_BOM:
                return synthetic_id(f"BOM-{step.plant}-", step.step_id)
            case StepKind.ERP_ROUTING:
                return synthetic_id(f"RT-{step.plant}-", step.step_id)
            case StepKind.ERP_PRODUCTION_VERSION:
                # Named after the confirmation that polls it (:meth:`_confirm`).
                kind = StepKind.ERP_CONFIRMATION
                return synthetic_id("PV-", step_id(self.number, kind, step.plant, step.item))
            case StepKind.SUPPLIER_NOTICE:
                return synthetic_id("N-", step.step_id, 10)
            case _:
                return None

    def _plan(self) -> list[PlayStep]:
        planned = plan(self.eco, self.world.items, plan_sourcing(self.world, self.eco))
        index = {step.step_id: n for n, step in enumerate(planned)}
        return [PlayStep(step, tuple(index[d] for d in step.depends_on)) for step in planned]

    def move(
        self,
        step: PlayStep,
        to: StepState,
        at: datetime,
        *,
        error: ev.StepError | None = None,
        next_attempt_at: datetime | None = None,
        reason: str | None = None,
        actor: str | None = None,
        production_version: str | None = None,
        effective_since: datetime | None = None,
        **extra: Any,
    ) -> None:
        fields: dict[str, Any] = {
            "eco": self.number,
            "step_id": step.step_id,
            "kind": step.kind,
            "system": step.system,
            "plant": step.plant,
            "item": step.item,
            "revision": step.revision,
            "supplier": step.supplier,
            "from_state": step.state,
            "attempt": step.attempt,
            "idempotency_key": step.planned.idempotency_key,
            "error": error,
            "next_attempt_at": next_attempt_at,
            "reason": reason,
            "actor": actor,
            **extra,
        }
        if production_version is not None:
            fields["production_version"] = production_version
        if effective_since is not None:
            fields["effective_since"] = effective_since
        data = ev.step_transition(to, **fields)
        step.emitted += 1
        self.add(at, data, f"{step.step_id}|{step.emitted}")
        step.state = to
        step.trail.append((at, to))

    def _error(self, step: PlayStep, code: str, message: str, status: int | None) -> ev.StepError:
        business = code in ("WORK_CENTER_INACTIVE", "INVALID_SUPPLIER_CONTACT")
        return ev.StepError(
            category=ErrorCategory.BUSINESS if business else ErrorCategory.TRANSIENT,
            code=code,
            message=message,
            http_status=status,
            fingerprint=f"{step.kind.value}:{code}",
        )

    def _seconds(self, median: float, sigma: float = 0.5) -> timedelta:
        return timedelta(seconds=self.rng.lognormvariate(math.log(median), sigma))

    def _confirmation_delay(self, step: PlayStep, at: datetime) -> timedelta:
        assert step.plant is not None and step.item is not None
        months = (at.year - 2020) * 12 + at.month
        years_back = (self.end - at).days / 365.0
        drift = (1 + 0.3 * math.sin(2 * math.pi * months / 12)) * (1 + 0.2 * years_back)
        family = self.world.items[step.item].product_family
        hours = (
            PLANT_CONFIRMATION_HOURS.get(step.plant, 3.0)
            * FAMILY_FACTOR.get(family, 1.0)
            * drift
            * self.rng.lognormvariate(0, 0.45)
        )
        return timedelta(hours=hours)

    def _transient(self, step: PlayStep) -> tuple[str, str, int | None] | None:
        rng = self.rng
        if step.kind is StepKind.SUPPLIER_NOTICE:
            share = (
                UNRELIABLE_PORTAL_SHARE
                if step.supplier in self.world.unreliable_suppliers
                else TRANSIENT_SHARE
            )
            if rng.random() < share:
                return "SUPPLIER_PORTAL_UNREACHABLE", "the supplier portal did not answer", 502
            return None
        if rng.random() >= TRANSIENT_SHARE:
            return None
        return rng.choice(
            (
                ("HTTP_503", "service temporarily unavailable", 503),
                ("HTTP_429", "rate limited; retry after 1 s", 429),
                ("TIMEOUT", "no answer within 10 s", None),
            )
        )

    def _run(self, step: PlayStep, ready: datetime) -> None:
        """Play one step from due to done (or to blocked)."""
        if step.kind is StepKind.ERP_INFO_RECORD:
            return self.purchasing.run_info_record(step, ready)
        rng = self.rng
        self.move(step, S.PENDING, ready)
        at = ready + timedelta(seconds=rng.uniform(0.2, 4))
        blocked_code = None
        if step.kind is StepKind.ERP_ROUTING and (step.item, step.plant) == self.inactive:
            blocked_code = "WORK_CENTER_INACTIVE"
        if (
            step.kind is StepKind.SUPPLIER_NOTICE
            and step.supplier in self.world.invalid_contact_suppliers
        ):
            blocked_code = "INVALID_SUPPLIER_CONTACT"
        while True:
            step.attempt += 1
            self.move(step, S.RUNNING, at)
            at += self._seconds(0.8)
            failure = self._transient(step)
            if blocked_code is not None:
                self._block(step, at, blocked_code)
                return
            if failure is not None and step.attempt < MAX_ATTEMPTS:
                code, message, status = failure
                backoff = timedelta(seconds=min(600, 2**step.attempt) * rng.uniform(0.5, 1.5))
                error = self._error(step, code, message, status)
                self.move(step, S.RETRYING, at, error=error, next_attempt_at=at + backoff)
                if step.kind is StepKind.SUPPLIER_NOTICE:
                    self._notice_failed(step, at, error, final=False, next_at=at + backoff)
                at += backoff
                continue
            break
        if step.kind is StepKind.ERP_CONFIRMATION:
            self._confirm(step, at)
            return
        self.move(step, S.SUCCEEDED, at)
        step.done_at = at
        if step.kind is StepKind.QUALIFICATION_REQUEST:
            self.purchasing.requested(step, at)
        if step.kind is StepKind.SUPPLIER_NOTICE:
            assert step.supplier is not None
            notice = ev.SupplierNoticeSent(
                eco=self.number,
                supplier=step.supplier,
                notice_id=self._external_id(step) or "",
                items=list(self.items),
                attempt=step.attempt,
            )
            self.add(at, notice, f"{step.step_id}|sent")

    def _confirm(self, step: PlayStep, at: datetime) -> None:
        assert step.plant is not None and step.item is not None and step.revision is not None
        pv = synthetic_id("PV-", step.step_id)
        self.move(step, S.AWAITING_CONFIRMATION, at, production_version=pv)
        confirmed = step.active_at = at + self._confirmation_delay(step, at)
        seen = confirmed + timedelta(seconds=self.rng.uniform(0.5, 5))
        self.move(step, S.SUCCEEDED, seen)
        step.done_at = seen
        data = ev.ProductionVersionConfirmed(
            eco=self.number,
            plant=step.plant,
            item=step.item,
            revision=step.revision,
            production_version=pv,
            requested_at=at,
            confirmed_at=confirmed,
        )
        key = f"{step.step_id}|confirmed"
        self.add(seen, data, key)
        where = (step.plant, step.item)
        changed = ev.PlantRevisionChanged(
            plant=step.plant,
            item=step.item,
            old_revision=self.plant_revisions.get(where),
            new_revision=step.revision,
            eco=self.number,
            effective_from=self.effectivity,
        )
        key = f"{step.step_id}|revision"
        self.add(seen, changed, key)

    def _block(self, step: PlayStep, at: datetime, code: str) -> None:
        rng = self.rng
        if code == "WORK_CENTER_INACTIVE":
            message = f"work center at {step.plant} is inactive; activate it before retrying"
            status = 422
        else:
            message = f"the contact address of {step.supplier} bounces"
            status = 422
        error = self._error(step, code, message, status)
        self.move(step, S.BLOCKED, at, error=error)
        if step.kind is StepKind.SUPPLIER_NOTICE:
            self._notice_failed(step, at, error, final=True, next_at=None)
        actor = rng.choice(OPERATORS)
        acted = at + timedelta(hours=rng.uniform(0.3, 30))
        if step.kind is StepKind.SUPPLIER_NOTICE:
            reason = "Buyer informed the supplier by phone; contact to be corrected"
            self._operator(acted, actor, OperatorAction.SKIP, [step.step_id], reason, "skipped")
            self.move(step, S.SKIPPED, acted, reason=reason, actor=actor)
            step.done_at = acted
            return
        if rng.random() < OPERATOR_CANCEL_SHARE:
            reason = "Routing to be redesigned; a new ECO will follow"
            self._operator(acted, actor, OperatorAction.CANCEL_ECO, [], reason, "cancelled")
            if self.cancel_at is None or acted < self.cancel_at:
                self.cancel_at, self.cancel_cause, self.cancel_actor = acted, "operator", actor
            return
        reason = "Planner reactivated the work center"
        self._operator(acted, actor, OperatorAction.RETRY, [step.step_id], reason, "queued")
        step.attempt = 0
        self.move(step, S.PENDING, acted, reason=reason, actor=actor)
        at = acted + timedelta(seconds=rng.uniform(0.2, 4))
        step.attempt = 1
        self.move(step, S.RUNNING, at)
        at += self._seconds(0.8)
        self.move(step, S.SUCCEEDED, at)
        step.done_at = at

    def _operator(
        self,
        at: datetime,
        actor: str,
        action: OperatorAction,
        step_ids: list[str],
        reason: str,
        outcome: str,
    ) -> None:
        data = OperatorActionTaken(
            actor=actor,
            role="operator",
            action=action,
            eco=self.number,
            step_ids=step_ids,
            reason=reason,
            outcome=outcome,
            affected=max(1, len(step_ids)),
        )
        key = f"{self.number}|operator|{self.counter}"
        self.add(at, data, key)

    def _notice_failed(
        self,
        step: PlayStep,
        at: datetime,
        error: ev.StepError,
        *,
        final: bool,
        next_at: datetime | None,
    ) -> None:
        assert step.supplier is not None
        data = ev.SupplierNoticeFailed(
            eco=self.number,
            supplier=step.supplier,
            attempt=step.attempt,
            error=error,
            final=final,
            next_attempt_at=next_at,
        )
        key = f"{step.step_id}|failed|{step.attempt}"
        self.add(at, data, key)

    def run(self) -> list[dict[str, Any]]:
        """Every event of the ECO up to ``end``, in time order."""
        self.play()
        return self._render()

    def play(self) -> None:
        """Play the ECO out without rendering its events: what it left (:meth:`left`) and
        whether it is ``truncated`` are known after this."""
        self._draw_fates()
        steps = self.steps = self._plan()
        received = self.approved_at + timedelta(seconds=self.rng.uniform(1, 30))
        families = sorted({self.world.items[i].product_family for i in self.items})
        self.add(
            received,
            ev.EcoReceived(
                eco=self.number,
                title=self.eco.title,
                approved_at=self.approved_at,
                effectivity=self.effectivity,
                items=list(self.items),
                revisions=dict(self.new),
                product_families=families,
                plants=list(self.eco.plants),
                steps=len(steps),
                **received_suppliers(self.eco, steps),
            ),
            f"{self.number}|received",
        )
        for step in steps:
            self.move(step, S.WAITING, received)
        for step in steps:
            deps = [steps[d].done_at for d in step.deps]
            if any(d is None for d in deps):
                continue
            ready = max((d for d in deps if d is not None), default=received)
            self._run(step, ready + timedelta(milliseconds=self.rng.uniform(5, 200)))
        plant_work = [s for s in steps if s.kind not in NOT_PLANT_WORK]
        ready_at = None
        if all(s.done_at is not None for s in plant_work):
            ready_at = max((s.done_at for s in plant_work if s.done_at), default=received)
        if self.cancel_at is not None and (ready_at is None or self.cancel_at < ready_at):
            self._cancel(steps, self.cancel_at)
        elif ready_at is not None:
            self._production_ready(steps, ready_at)
        self.purchasing.assess_impact(steps)
        self.truncated = any(at > self.end for at, *_ in self.pending)

    def left(self) -> PlantChanges:
        """What the played-out ECO left at the plants (after :meth:`play`)."""
        if self.cancelled_at is None:
            return planned_changes(self.eco, self.world)
        return cancelled_changes(
            self.eco, self.world, self.steps, self.withdrawals, self.cancelled_at, self.end
        )

    def _production_ready(self, steps: list[PlayStep], at: datetime) -> None:
        confirmed = [s.done_at for s in steps if s.kind is StepKind.ERP_CONFIRMATION and s.done_at]
        data = ev.EcoProductionReady(
            eco=self.number,
            approved_at=self.approved_at,
            erp_confirmed_at=min(confirmed) if confirmed else None,
            production_ready_at=at,
            cycle_time_seconds=(at - self.approved_at).total_seconds(),
            plants=list(self.eco.plants),
        )
        self.add(at, data, f"{self.number}|ready")

    def _cancel(self, steps: list[PlayStep], at: datetime) -> None:
        """Stop the ECO at ``at`` as the engine does: cancel its open steps, then withdraw
        what its succeeded steps wrote and the engine did not know effective."""
        self.pending = [e for e in self.pending if e[0] <= at]
        if self.cancel_cause != "operator":
            self.plm_cancelled_at = at
        reason = "ECO cancelled in PLM" if self.cancel_cause != "operator" else "ECO cancelled"
        states = {s.step_id: state_at(s, at) for s in steps}
        done = {(s.kind, s.plant, s.item): s for s in steps if states[s.step_id] is S.SUCCEEDED}
        cancelled = 0
        applied: list[AppliedWrite] = []
        for step in steps:
            state = states[step.step_id]
            if state is S.SUCCEEDED:
                confirmed = (StepKind.ERP_CONFIRMATION, step.plant, step.item) in done
                applied.append(self._applied(step, confirmed))
            if state is None or state.is_final:
                continue
            step.state = state
            self.move(step, S.CANCELLED, at, reason=reason, actor=self.cancel_actor)
            cancelled += 1
        planned = compensation(applied)
        self.cancelled_at = at
        withdrawals = self.withdrawals = self._wrap(planned.withdrawals)
        # The engine stores the due withdrawals first; a routing's waits for its version's.
        in_order = sorted(withdrawals, key=lambda w: bool(w.deps))
        for withdrawal in in_order:
            self.move(withdrawal, S.WAITING if withdrawal.deps else S.PENDING, at)
        data = ev.EcoCancelled(
            eco=self.number,
            cause="operator" if self.cancel_cause == "operator" else "plm_cancelled",
            reason="Routing to be redesigned"
            if self.cancel_cause == "operator"
            else self.eco.reason,
            actor=self.cancel_actor,
            cancelled_steps=cancelled,
            withdrawals=len(withdrawals),
            left_effective=len(planned.left_effective),
        )
        self.add(at, data, f"{self.number}|cancelled")
        # ERP activates a requested version when it is due, whatever the engine last saw.
        activated = {
            (s.plant, s.item): s.active_at
            for s in steps
            if s.kind is StepKind.ERP_CONFIRMATION
            and (StepKind.ERP_PRODUCTION_VERSION, s.plant, s.item) in done
        }
        for withdrawal in in_order:
            self._withdraw(withdrawal, withdrawals, at, activated)

    def _applied(self, step: PlayStep, confirmed: bool) -> AppliedWrite:
        """A succeeded step as the engine's compensation sees it."""
        assert step.done_at is not None
        written = step.kind is StepKind.ERP_BOM and self._effective_from(step) <= step.done_at
        return AppliedWrite(
            step_id=step.step_id,
            eco=self.number,
            kind=step.kind,
            plant=step.plant,
            item=step.item,
            revision=step.revision,
            supplier=step.supplier,
            external_id=self._external_id(step),
            effective_when_written=written,
            plant_confirmed=confirmed,
        )

    def _effective_from(self, step: PlayStep) -> datetime:
        """When the ECO's BOM versions become effective at the step's plant: midnight
        there on the effectivity date."""
        return effective_from(self.world, step.plant or "", self.effectivity)

    def _wrap(self, planned: tuple[PlannedStep, ...]) -> list[PlayStep]:
        index = {p.step_id: n for n, p in enumerate(planned)}
        return [PlayStep(p, tuple(index[d] for d in p.depends_on)) for p in planned]

    def _withdraw(
        self,
        step: PlayStep,
        withdrawals: list[PlayStep],
        at: datetime,
        activated: dict[tuple[str | None, str | None], datetime | None],
    ) -> None:
        """Play one withdrawal, after those it waits for. ERP refuses to take back what is
        effective when it is called; the withdrawal then records since when."""
        ready = at + timedelta(milliseconds=self.rng.uniform(5, 200))
        if step.deps:
            finished = [withdrawals[d].done_at for d in step.deps]
            ready += max(d for d in finished if d is not None) - at
            self.move(step, S.PENDING, ready)  # promoted once what it waits for is done
        step.attempt = 1
        started = ready + timedelta(seconds=self.rng.uniform(0.2, 3))
        self.move(step, S.RUNNING, started)
        step.done_at = started + self._seconds(0.8)
        since: datetime | None = None
        match step.kind:
            case StepKind.ERP_BOM_WITHDRAWAL:
                since = self._effective_from(step)
            case StepKind.ERP_PRODUCTION_VERSION_WITHDRAWAL:
                since = activated.get((step.plant, step.item))
            case StepKind.ERP_ROUTING_WITHDRAWAL if step.deps:
                # Its version's withdrawal ran first: ERP kept the routing if it kept that.
                since = withdrawals[step.deps[0]].active_at
        if since is None or since > started:
            self.move(step, S.SUCCEEDED, step.done_at)
            return
        step.active_at = since
        (taken_back,) = step.planned.payload.values()  # an ERP withdrawal names one id
        reason = f"left effective: {taken_back} at {step.plant} since {since.isoformat()}"
        self.move(step, S.SUCCEEDED, step.done_at, reason=reason, effective_since=since)

    def _render(self) -> list[dict[str, Any]]:
        self.pending.sort(key=lambda e: (e[0], e[1]))
        rendered = []
        self.truncated = False
        for at, _, data, key in self.pending:
            if at > self.end:
                self.truncated = True
                break
            rendered.append(
                ev.new_event(
                    data,
                    source=SOURCE,
                    time=at,
                    correlationid=self.number,
                    event_id=event_id(key),
                )
            )
        return rendered
