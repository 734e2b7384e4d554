"""A planned step as the history's playout moves it, and the ids the history gives what
it plays: event ids and the systems' ids for writes, the same on every run."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from contracts.plan import PlannedStep
from contracts.steps import StepKind, StepState, System

OPERATORS = ("maria.keller", "j.chen", "ops-oncall", "a.okafor", "p.novak")
"""The operators who act in the history."""
NAMESPACE = uuid.UUID("6f1d8a52-3c1e-4f7b-9a64-2f0d1c5e7b11")
_NAMESPACE_BYTES = NAMESPACE.bytes


def event_id(key: str) -> str:
    """``str(uuid.uuid5(NAMESPACE, key))``, formatted directly: a backfill makes millions."""
    digest = hashlib.sha1(_NAMESPACE_BYTES + key.encode()).hexdigest()
    variant = "89ab"[int(digest[16], 16) & 0x3]
    return f"{digest[:8]}-{digest[8:12]}-5{digest[13:16]}-{variant}{digest[17:20]}-{digest[20:32]}"


def synthetic_id(prefix: str, key: str, width: int = 8) -> str:
    """A system's id for a write, as the history names it: the same on every run."""
    return f"{prefix}{uuid.uuid5(NAMESPACE, key).hex[:width].upper()}"


@dataclass(slots=True)
class PlayStep:
    """A planned step as the playout moves it: the plan's step and its simulated state."""

    planned: PlannedStep
    deps: tuple[int, ...]
    """Indexes of the steps this one waits for (``planned.depends_on``, resolved)."""
    state: StepState | None = None
    attempt: int = 0
    done_at: datetime | None = None
    trail: list[tuple[datetime, StepState]] = field(default_factory=list)
    emitted: int = 0
    active_at: datetime | None = None
    """For a confirmation, when ERP activated the production version; for a withdrawal,
    since when ERP had the write it was to take back effective (so refused)."""
    system: System = field(init=False)

    def __post_init__(self) -> None:
        self.system = self.planned.system  # asked on every transition: computed once

    @property
    def step_id(self) -> str:
        return self.planned.step_id

    @property
    def kind(self) -> StepKind:
        return self.planned.kind

    @property
    def plant(self) -> str | None:
        return self.planned.plant

    @property
    def item(self) -> str | None:
        return self.planned.item

    @property
    def revision(self) -> str | None:
        return self.planned.revision

    @property
    def supplier(self) -> str | None:
        return self.planned.supplier


def state_at(step: PlayStep, at: datetime) -> StepState | None:
    """The state the step was in at ``at`` (``None`` before it was scheduled)."""
    before = [state for when, state in step.trail if when <= at]
    return before[-1] if before else None
