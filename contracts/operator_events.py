"""The catalog's operator and SLA events: what a person did, how an operation ended, and
work that passed (or left) its SLA.

Kept beside :mod:`contracts.events`, whose catalog lists them among its own types.
"""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, Field

from contracts.events import EventData
from contracts.model import Code, EcoNumber
from contracts.sla import Stage
from contracts.steps import OperatorAction, StepKind


class OperatorActionTaken(EventData):
    """A person acted: who, what, on what, why, and what came of it."""

    actor: str = Field(min_length=1)
    role: str | None = None
    action: OperatorAction
    eco: EcoNumber | None = None
    step_ids: list[str] = Field(default_factory=list)
    filter: dict[str, Any] | None = None
    reason: str = ""
    outcome: str = Field(description="queued, already succeeded, already queued ...")
    affected: int = Field(default=0, ge=0)
    operation_id: str | None = Field(
        default=None, description="the operation that follows the action to its end"
    )
    problem: str | None = Field(default=None, description="the inbox problem's key")
    before: dict[str, Any] | None = Field(
        default=None, description="an edited payload as it was (edit and retry)"
    )
    after: dict[str, Any] | None = Field(
        default=None, description="an edited payload as it was sent again"
    )


class OperationCompleted(EventData):
    """An operator's operation ended: every step it acted on settled, and how."""

    operation_id: str = Field(min_length=1)
    action: OperatorAction
    actor: str = Field(min_length=1)
    role: str | None = None
    reason: str = Field(min_length=1)
    eco: EcoNumber | None = None
    steps: int = Field(ge=0)
    succeeded: int = Field(default=0, ge=0)
    failed_again: int = Field(default=0, ge=0)
    skipped: int = Field(default=0, ge=0)
    cancelled: int = Field(default=0, ge=0)
    codes: dict[str, int] = Field(
        default_factory=dict, description="error code of each step that failed again, counted"
    )
    summary: str = Field(description='e.g. "done: 10 succeeded, 2 failed again (CODE)"')
    started_at: AwareDatetime


class SlaWork(EventData):
    """A piece of work with an SLA: a stage of one step (``step_id``) or of a whole ECO."""

    stage: Stage
    eco: EcoNumber
    step_id: str | None = Field(default=None, description="None: the ECO's own stage")
    kind: StepKind | None = None
    plant: Code | None = None
    item: Code | None = None
    supplier: Code | None = None
    since: AwareDatetime = Field(description="when the stage began")
    due_at: AwareDatetime
    sla_seconds: float = Field(gt=0)


class WorkOverdue(SlaWork):
    """Work passed its due time and is still in the same stage."""


class WorkResolved(SlaWork):
    """Overdue work left its stage: done, moved on, or back on track."""

    overdue_seconds: float = Field(ge=0, description="how long it was past its due time")
