"""Projection rows as plain ``dict``s: what a new row holds, and the rows one batch works on.

A row has one key per column of its table in :mod:`collector.tables`; a new row is what
the table holds for a key before any event has filled it in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from contracts.readmodel import EcoState, NoticeStatus, PlantState
from contracts.steps import StepKind, StepState

Row = dict[str, Any]

SLA_REPORT: Row = {
    "sla_stage": None,
    "overdue_since": None,
    "overdue_due_at": None,
    "overdue_open": False,
    "overdue_key": None,
}
"""The SLA report columns of a step or ECO row before any report."""


@dataclass(frozen=True)
class Needs:
    """The projection rows a batch of events reads and writes."""

    ecos: frozenset[str]
    plants: frozenset[str]
    items: frozenset[str]
    reconciled: frozenset[str] = frozenset()  # plants whose last reconciliation time moves


@dataclass
class Working:
    """The rows one batch works on, keyed by primary key."""

    ecos: dict[str, Row] = field(default_factory=dict)
    plants: dict[tuple[str, str], Row] = field(default_factory=dict)
    steps: dict[str, Row] = field(default_factory=dict)
    revisions: dict[tuple[str, str], Row] = field(default_factory=dict)
    notices: dict[tuple[str, str], Row] = field(default_factory=dict)
    actions: list[Row] = field(default_factory=list)
    drift: dict[tuple[str, str], Row] = field(default_factory=dict)
    reconciliations: dict[str, Row] = field(default_factory=dict)


def new_eco_row(eco: str) -> Row:
    """An ``eco_status`` row before any event has filled it."""
    return {
        "eco": eco,
        "title": None,
        "state": EcoState.RECEIVED.value,
        "approved_at": None,
        "effectivity": None,
        "product_family": None,
        "plants_total": 0,
        "plants_done": 0,
        "steps_total": 0,
        "blocked_count": 0,
        "failed_count": 0,
        "erp_confirmed_at": None,
        "production_ready_at": None,
        "cycle_time_seconds": None,
        "cancelled_at": None,
        "rejected_at": None,
        "state_reason": None,
        "last_event_at": None,
        "last_event_seq": None,
        "received_key": None,
        "terminal_key": None,
        "terminal_state": None,
        "last_event_key": None,
        "overdue": False,
        "overdue_reported_at": None,
        **SLA_REPORT,
    }


def new_plant_row(eco: str, plant: str) -> Row:
    """An ``eco_plants`` row before any step of the plant has reported."""
    return {
        "eco": eco,
        "plant": plant,
        "state": PlantState.WAITING.value,
        "steps_total": 0,
        "steps_done": 0,
        "erp_confirmed_at": None,
        "production_ready_at": None,
        "blocked_reason": None,
        "updated_at": None,
    }


def new_step_row(step_id: str, eco: str, kind: str) -> Row:
    """A ``step_status`` row before its first transition is known."""
    return {
        "step_id": step_id,
        "eco": eco,
        "kind": str(kind),
        "system": StepKind(kind).system.value,
        "plant": None,
        "item": None,
        "revision": None,
        "supplier": None,
        "state": StepState.WAITING.value,
        "attempt": 0,
        "error_code": None,
        "error_message": None,
        "error_category": None,
        "fingerprint": None,
        "next_attempt_at": None,
        "state_since": None,
        "requested_at": None,
        "sla_due_at": None,
        "overdue": False,
        "overdue_reported_at": None,
        **SLA_REPORT,
        "effective_since": None,
        "reason": None,
        "last_event_at": None,
        "last_event_seq": None,
        "last_event_key": None,
    }


def new_revision_row(plant: str, item: str) -> Row:
    """A ``plant_revisions`` row before anything is known of the pair."""
    return {
        "plant": plant,
        "item": item,
        "current_revision": None,
        "mes_revision": None,
        "erp_confirmed_at": None,
        "mes_confirmed_at": None,
        "target_revision": None,
        "target_eco": None,
        "target_effective": None,
        "targets": {},
        "product_family": None,
        "behind": False,
        "updated_at": None,
        "current_key": None,
        "mes_key": None,
        "target_key": None,
    }


def new_notice_row(eco: str, supplier: str) -> Row:
    """A ``supplier_notices`` row before any attempt is known."""
    return {
        "eco": eco,
        "supplier": supplier,
        "step_id": None,
        "status": NoticeStatus.PENDING.value,
        "attempts": 0,
        "last_error": None,
        "next_retry_at": None,
        "notice_id": None,
        "updated_at": None,
        "last_event_key": None,
    }


def new_drift_row(plant: str, item: str) -> Row:
    """A ``drift`` row before any drift of the pair is known."""
    return {
        "plant": plant,
        "item": item,
        "open": False,
        "plm_revision": None,
        "erp_revision": None,
        "mes_revision": None,
        "expected_revision": None,
        "eco": None,
        "eco_state": None,
        "cause": None,
        "detail": None,
        "since": None,
        "detected_at": None,
        "resolved_at": None,
        "last_key": None,
    }
