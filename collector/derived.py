"""The derived columns: counts and states recomputed from an ECO's merged rows.

:mod:`collector.projections` merges each event into the rows; after a batch, every ECO it
touched is derived again from its steps (a plant's state from the plant's steps, an ECO's
from all of them), so the result does not depend on the order events arrived in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from collector.rows import Row, Working, new_plant_row
from contracts.model import revision_key
from contracts.readmodel import EcoState, PlantState
from contracts.sla import SlaPolicy, Stage, stage_of
from contracts.steps import (
    COMPENSATION_KINDS,
    DONE_STATES,
    PURCHASING_KINDS,
    StepKind,
    StepState,
)

ACTIVE_STATES = frozenset({StepState.PENDING, StepState.RUNNING, StepState.RETRYING})
IN_FLIGHT = frozenset(
    {EcoState.RECEIVED, EcoState.IN_PROGRESS, EcoState.BLOCKED, EcoState.AWAITING_CONFIRMATION}
)
"""ECO states that still count against the ECO's SLA."""


@dataclass(frozen=True)
class ConfirmationSla:
    """How long an ERP confirmation may take: the SLA policy's ``erp_confirmation`` stage
    (by plant and product family, as the engine applies it), or fixed seconds by plant."""

    default_seconds: float = 900.0
    by_plant: Mapping[str, float] = field(default_factory=dict)
    policy: SlaPolicy | None = None
    qualification_seconds: float = 14400.0  # an info record waiting for its supplier

    @classmethod
    def from_policy(
        cls, policy: SlaPolicy, *, qualification_seconds: float = 14400.0
    ) -> ConfirmationSla:
        """The ERP-confirmation stage of the SLA policy (the engine reports it overdue), and
        how long an info record may wait for its supplier's qualification."""
        return cls(
            policy.seconds(Stage.ERP_CONFIRMATION),
            policy=policy,
            qualification_seconds=qualification_seconds,
        )

    def due(
        self, plant: str | None, requested_at: datetime, family: str | None = None
    ) -> datetime | None:
        """When a confirmation requested at ``requested_at`` becomes overdue."""
        if self.policy is not None:
            seconds = self.policy.seconds(Stage.ERP_CONFIRMATION, plant=plant, family=family)
        else:
            seconds = self.by_plant.get(plant or "", self.default_seconds)
        try:
            return requested_at + timedelta(seconds=seconds)
        except OverflowError:
            # A request time at the very end of the calendar has no due time.
            return None


def derive(work: Working, ecos: Iterable[str], sla: ConfirmationSla) -> None:
    """Recompute the derived columns of ``ecos`` and of every row they own.

    ``work`` must hold every step and plant row of those ECOs.
    """
    steps_by_eco: dict[str, list[Row]] = {}
    for step in work.steps.values():
        steps_by_eco.setdefault(step["eco"], []).append(step)
    plants_by_eco: dict[str, list[Row]] = {}
    for (eco, _plant), plant_row in work.plants.items():
        plants_by_eco.setdefault(eco, []).append(plant_row)
    for revision in work.revisions.values():
        revision["behind"] = _maybe_behind(revision)
    for eco in ecos:
        row = work.ecos[eco]
        steps = steps_by_eco.get(eco, [])
        for step in steps:
            _derive_step(step, sla, row["product_family"])
        for step in steps:
            if step["plant"] is None or step["kind"] in PURCHASING_KINDS:
                continue
            if (eco, step["plant"]) not in work.plants:
                plant_row = new_plant_row(eco, step["plant"])
                work.plants[(eco, step["plant"])] = plant_row
                plants_by_eco.setdefault(eco, []).append(plant_row)
        planned = [s for s in steps if s["kind"] not in COMPENSATION_KINDS]
        complete = row["steps_total"] > 0 and len(planned) >= row["steps_total"]
        cancelled = row["terminal_state"] == EcoState.CANCELLED
        plant_steps: dict[str, list[Row]] = {}
        for step in steps:
            # Purchasing is not plant work: the plant builds while suppliers are qualified.
            if step["plant"] is not None and step["kind"] not in PURCHASING_KINDS:
                plant_steps.setdefault(step["plant"], []).append(step)
        plants = plants_by_eco.get(eco, [])
        for plant_row in plants:
            _derive_plant(plant_row, plant_steps.get(plant_row["plant"], []), complete, cancelled)
        _derive_eco(row, steps, plants)


def _maybe_behind(row: Row) -> bool:
    """ERP or MES runs an older revision than some ECO targets for the pair (a superset of
    the pairs behind on any day: which ECOs count depends on the day and their state)."""
    targets = row["targets"] or {}
    if row["current_revision"] is None or not targets:
        return False
    newest = max(revision_key(revision) for revision, _ in targets.values())
    running = [r for r in (row["current_revision"], row["mes_revision"]) if r is not None]
    return any(revision_key(r) < newest for r in running)


def _derive_step(step: Row, sla: ConfirmationSla, family: str | None) -> None:
    requested_at = step["requested_at"]
    if step["kind"] == StepKind.ERP_CONFIRMATION and requested_at is not None:
        step["sla_due_at"] = sla.due(step["plant"], requested_at, family)
    elif step["kind"] == StepKind.ERP_INFO_RECORD and requested_at is not None:
        step["sla_due_at"] = requested_at + timedelta(seconds=sla.qualification_seconds)
    else:
        step["sla_due_at"] = None
    step["overdue"] = _still_overdue(step)


def _still_overdue(step: Row) -> bool:
    """The engine's latest report on the step is open and the step is still in that
    stage (a report the step has left, whose resolution is not in yet, no longer counts)."""
    stage = step["sla_stage"]
    if not step["overdue_open"] or stage is None:
        return False
    if stage == Stage.WAITING:
        return bool(step["state"] == StepState.WAITING)
    if stage_of(step["kind"], step["state"], step["attempt"]) != stage:
        return False
    if stage == Stage.ERP_CONFIRMATION:
        # A confirmation requested again after its report is a new wait.
        reported, requested_at = step["overdue_reported_at"], step["requested_at"]
        return reported is not None and (requested_at is None or reported >= requested_at)
    return True


def _derive_plant(row: Row, steps: list[Row], complete: bool, cancelled: bool = False) -> None:
    """A plant's state from its steps. A cancelled ECO's plant is cancelled, whatever its
    withdrawals are doing, unless one of them needs a person (blocked or failed)."""
    problems = sorted(
        (s for s in steps if s["state"] in (StepState.BLOCKED, StepState.FAILED)),
        key=lambda s: str(s["step_id"]),
    )
    compensations = [s["state"] for s in steps if s["kind"] in COMPENSATION_KINDS]
    steps = [s for s in steps if s["kind"] not in COMPENSATION_KINDS]
    states = [step["state"] for step in steps]
    done = sum(state in DONE_STATES for state in states)
    row["steps_total"] = len(steps)
    row["steps_done"] = done
    row["updated_at"] = max((s["last_event_at"] for s in steps if s["last_event_at"]), default=None)
    row["blocked_reason"] = problems[0]["error_message"] if problems else None
    row["production_ready_at"] = None
    if cancelled:
        state = (
            PlantState.BLOCKED
            if StepState.BLOCKED in compensations
            else PlantState.FAILED
            if StepState.FAILED in compensations
            else PlantState.CANCELLED
        )
    elif not steps:
        state = PlantState.WAITING
    elif StepState.BLOCKED in states:
        state = PlantState.BLOCKED
    elif StepState.FAILED in states:
        state = PlantState.FAILED
    elif done == len(states) and complete:
        state = PlantState.PRODUCTION_READY
        row["production_ready_at"] = max(s["state_since"] for s in steps)
    elif all(s in DONE_STATES or s == StepState.CANCELLED for s in states) and (
        StepState.CANCELLED in states
    ):
        state = PlantState.CANCELLED
    elif StepState.AWAITING_CONFIRMATION in states and not ACTIVE_STATES.intersection(states):
        state = PlantState.AWAITING_CONFIRMATION
    elif all(s == StepState.WAITING for s in states):
        state = PlantState.WAITING
    else:
        state = PlantState.IN_PROGRESS
    row["state"] = state.value


def _derive_eco(row: Row, steps: list[Row], plants: list[Row]) -> None:
    states = [step["state"] for step in steps]
    row["blocked_count"] = states.count(StepState.BLOCKED)
    row["failed_count"] = states.count(StepState.FAILED)
    row["plants_done"] = sum(p["state"] == PlantState.PRODUCTION_READY for p in plants)
    if row["received_key"] is None:
        row["plants_total"] = len(plants)
    if row["terminal_state"] is not None:
        state = EcoState(row["terminal_state"])
    elif row["blocked_count"] or row["failed_count"]:
        state = EcoState.BLOCKED
    elif StepState.AWAITING_CONFIRMATION in states and not ACTIVE_STATES.intersection(states):
        state = EcoState.AWAITING_CONFIRMATION
    elif any(s != StepState.WAITING for s in states):
        state = EcoState.IN_PROGRESS
    else:
        state = EcoState.RECEIVED
    row["state"] = state.value
    row["overdue"] = bool(row["overdue_open"]) and state in IN_FLIGHT
