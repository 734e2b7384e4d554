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
from contracts.steps import (
    COMPENSATION_KINDS,
    DONE_STATES,
    PURCHASING_KINDS,
    StepKind,
    StepState,
)

ACTIVE_STATES = frozenset({StepState.PENDING, StepState.RUNNING, StepState.RETRYING})


@dataclass(frozen=True)
class ConfirmationSla:
    """How long an ERP confirmation may take, by plant (seconds)."""

    default_seconds: float = 900.0
    by_plant: Mapping[str, float] = field(default_factory=dict)
    qualification_seconds: float = 14400.0  # an info record waiting for its supplier

    def due(self, plant: str | None, requested_at: datetime) -> datetime | None:
        """When a confirmation requested at ``requested_at`` becomes overdue."""
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
            _derive_step(step, sla)
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


def _derive_step(step: Row, sla: ConfirmationSla) -> None:
    requested_at = step["requested_at"]
    if step["kind"] == StepKind.ERP_CONFIRMATION and requested_at is not None:
        step["sla_due_at"] = sla.due(step["plant"], requested_at)
    elif step["kind"] == StepKind.ERP_INFO_RECORD and requested_at is not None:
        step["sla_due_at"] = requested_at + timedelta(seconds=sla.qualification_seconds)
    else:
        step["sla_due_at"] = None
    reported = step["overdue_reported_at"]
    step["overdue"] = (
        step["state"] == StepState.AWAITING_CONFIRMATION
        and reported is not None
        and (requested_at is None or reported >= requested_at)
    )


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
