"""What a bulk retry would do, shown before it does it.

:func:`classify` splits the steps a filter matches into those a retry would queue again
(failed or blocked, not superseded) and those it leaves alone, each with why: running
now, already queued, superseded, already succeeded, skipped or cancelled. The console
and ``threadline steps retry --dry-run`` show the :class:`Preview`; confirming acts on
its ``touch`` ids only (:func:`sync_engine.commands.retry_previewed`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from contracts.steps import StepState
from sync_engine.states import RETRYABLE
from sync_engine.store import StepRecord

_WHY = {
    StepState.RUNNING: "running now",
    StepState.PENDING: "already queued",
    StepState.WAITING: "already queued (waits for earlier steps)",
    StepState.RETRYING: "already retrying on its own",
    StepState.AWAITING_CONFIRMATION: "awaiting ERP confirmation",
    StepState.SUCCEEDED: "already succeeded",
    StepState.SKIPPED: "skipped",
    StepState.CANCELLED: "cancelled with its ECO",
}


@dataclass(frozen=True)
class Preview:
    """The steps a retry would touch and those it would leave alone (id -> why)."""

    touch: tuple[StepRecord, ...]
    left_alone: Mapping[str, str]

    @property
    def step_ids(self) -> list[str]:
        return [step.step_id for step in self.touch]

    @property
    def ecos(self) -> list[str]:
        return sorted({step.eco for step in self.touch})

    @property
    def plants(self) -> list[str]:
        return sorted({step.plant for step in self.touch if step.plant})

    @property
    def suppliers(self) -> list[str]:
        return sorted({step.supplier for step in self.touch if step.supplier})

    def within(self, step_ids: Sequence[str], why: str) -> Preview:
        """This preview narrowed to ``step_ids``: the other steps it would touch are left
        alone, with ``why``."""
        keep = set(step_ids)
        outside = {s.step_id: why for s in self.touch if s.step_id not in keep}
        touch = tuple(s for s in self.touch if s.step_id in keep)
        return Preview(touch, {**self.left_alone, **outside})

    def describe(self) -> str:
        """One paragraph: what it touches, then what it leaves alone by reason."""
        said = f"Would retry {len(self.touch)} step" + ("" if len(self.touch) == 1 else "s")
        if self.touch:
            said += f" of {len(self.ecos)} ECO" + ("" if len(self.ecos) == 1 else "s")
            if self.plants:
                said += f" at {', '.join(self.plants)}"
            if self.suppliers:
                said += f" for {', '.join(self.suppliers)}"
        said += "."
        reasons: dict[str, int] = {}
        for why in self.left_alone.values():
            reasons[why] = reasons.get(why, 0) + 1
        if reasons:
            said += " Leaves alone " + "; ".join(f"{n} {why}" for why, n in reasons.items())
            said += "."
        return said


def classify(steps: Sequence[StepRecord], superseded: Mapping[str, str]) -> Preview:
    """Split matched ``steps``; ``superseded`` maps step ids to why they are superseded."""
    touch = []
    left: dict[str, str] = {}
    for step in steps:
        if step.step_id in superseded:
            left[step.step_id] = superseded[step.step_id]
        elif step.state in RETRYABLE:
            touch.append(step)
        else:
            left[step.step_id] = _WHY[step.state]
    return Preview(tuple(touch), left)
