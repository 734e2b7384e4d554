"""Work against its SLA: what is overdue by stage, and every in-flight step's due time.

What is overdue is what the engine reported overdue and has not resolved (the
``step_status`` and ``eco_status`` read models keep its latest report per step and ECO);
the Overview's counts by stage are the rows of :func:`overdue_work`, so the figure and the
list it links to cannot disagree. Due times of work not yet overdue come from the same SLA
policy the engine applies (:mod:`contracts.sla`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

import sqlalchemy as sa

from collector.tables import eco_status, step_status
from contracts.sla import SlaPolicy, SlaState, Stage, stage_of
from contracts.steps import StepKind, StepState
from dashboards import filters
from dashboards.eco_list import IN_FLIGHT_STATES
from dashboards.filters import Query


class OverdueWork(TypedDict):
    """One piece of work past its due time: a step in a stage, or a whole ECO."""

    stage: Stage
    eco: str
    plant: str | None
    supplier: str | None
    item: str | None
    kind: str | None
    step_id: str | None  # None: the ECO's own stage (planning, or the whole ECO)
    since: datetime | None
    due_at: datetime
    late_seconds: float


class Deadline(TypedDict):
    """An in-flight step's (or the ECO's own) stage, due time and state at ``now``."""

    step_id: str | None
    kind: str | None
    plant: str | None
    stage: Stage
    since: datetime
    due_at: datetime
    sla_state: SlaState


@dataclass(frozen=True)
class OverdueFilter:
    """The overdue list's narrowing: one stage, or every stage."""

    stage: Stage | None = None

    @classmethod
    def from_query(cls, query: Query) -> OverdueFilter:
        stages = filters.members(query, "stage", Stage)
        return cls(stage=stages[-1] if stages else None)

    def to_query(self) -> dict[str, list[str]]:
        query: dict[str, list[str]] = {}
        filters.put(query, "stage", [self.stage.value] if self.stage else [])
        return query

    def describe(self) -> list[str]:
        return [f"stage {self.stage.value}"] if self.stage else []

    def keeps(self, row: OverdueWork) -> bool:
        return self.stage is None or row["stage"] == self.stage


EVERY_STAGE = OverdueFilter()


def overdue_work(
    connection: sa.Connection, now: datetime, criteria: OverdueFilter = EVERY_STAGE
) -> list[OverdueWork]:
    """Every piece of work overdue at ``now``, the latest first (most late first)."""
    steps = sa.select(
        step_status.c.sla_stage,
        step_status.c.eco,
        step_status.c.plant,
        step_status.c.supplier,
        step_status.c.item,
        step_status.c.kind,
        step_status.c.step_id,
        step_status.c.overdue_since,
        step_status.c.overdue_due_at,
    ).where(step_status.c.overdue)
    ecos = sa.select(
        eco_status.c.sla_stage,
        eco_status.c.eco,
        eco_status.c.overdue_since,
        eco_status.c.overdue_due_at,
    ).where(eco_status.c.overdue)
    if criteria.stage is not None:
        steps = steps.where(step_status.c.sla_stage == criteria.stage.value)
        ecos = ecos.where(eco_status.c.sla_stage == criteria.stage.value)
    rows = [_row(now, **row) for row in connection.execute(steps).mappings()]
    rows += [
        _row(now, plant=None, supplier=None, item=None, kind=None, step_id=None, **row)
        for row in connection.execute(ecos).mappings()
    ]
    rows = [row for row in rows if criteria.keeps(row)]
    return sorted(rows, key=lambda r: (-r["late_seconds"], r["eco"], r["step_id"] or ""))


def overdue_by_stage(connection: sa.Connection, now: datetime) -> dict[Stage, int]:
    """How many rows :func:`overdue_work` lists for each stage (absent: none)."""
    return dict(Counter(row["stage"] for row in overdue_work(connection, now)))


def _row(now: datetime, **row: Any) -> OverdueWork:
    due_at = row["overdue_due_at"]
    return OverdueWork(
        stage=Stage(row["sla_stage"]),
        eco=row["eco"],
        plant=row["plant"],
        supplier=row["supplier"],
        item=row["item"],
        kind=row["kind"],
        step_id=row["step_id"],
        since=row["overdue_since"],
        due_at=due_at,
        late_seconds=max(0.0, (now - due_at).total_seconds()),
    )


def eco_deadlines(
    connection: sa.Connection, eco: str, now: datetime, policy: SlaPolicy
) -> list[Deadline]:
    """The ECO's own deadline (while in flight) and each in-flight step's, soonest first.

    A step the engine reported overdue keeps the due time it reported; otherwise the
    stage's clock starts when the step entered its state (a waiting step counts only once
    the engine reports it held behind another ECO).
    """
    head = (
        connection.execute(sa.select(eco_status).where(eco_status.c.eco == eco))
        .mappings()
        .one_or_none()
    )
    if head is None:
        return []
    family = head["product_family"]
    deadlines: list[Deadline] = []
    approved = head["approved_at"]
    if approved is not None and head["state"] in IN_FLIGHT_STATES:
        seconds = policy.seconds(Stage.ECO, family=family)
        due_at = policy.due(approved, seconds)
        if due_at is not None:
            deadlines.append(_deadline(None, None, None, Stage.ECO, approved, due_at, now, policy))
    steps = connection.execute(
        sa.select(step_status)
        .where(step_status.c.eco == eco)
        .where(step_status.c.state.not_in([s.value for s in _SETTLED]))
    ).mappings()
    for step in steps:
        deadline = _step_deadline(step, now, policy, family)
        if deadline is not None:
            deadlines.append(deadline)
    return sorted(deadlines, key=lambda d: (d["due_at"], d["step_id"] or ""))


_SETTLED = frozenset(
    {
        StepState.SUCCEEDED,
        StepState.SKIPPED,
        StepState.CANCELLED,
        StepState.FAILED,
        StepState.BLOCKED,
    }
)


def _step_deadline(
    step: sa.RowMapping, now: datetime, policy: SlaPolicy, family: str | None
) -> Deadline | None:
    if step["overdue"] and step["overdue_due_at"] is not None:
        reported = Stage(step["sla_stage"])
        since, due_at = step["overdue_since"] or step["overdue_due_at"], step["overdue_due_at"]
        return _deadline(
            step["step_id"], step["kind"], step["plant"], reported, since, due_at, now, policy
        )
    stage = stage_of(step["kind"], step["state"], step["attempt"])
    if stage is None:
        return None
    since = step["state_since"]
    if stage is Stage.ERP_CONFIRMATION and step["requested_at"] is not None:
        since = step["requested_at"]
    if since is None or step["kind"] not in {kind.value for kind in StepKind}:
        return None
    seconds = policy.seconds(
        stage, kind=step["kind"], plant=step["plant"], supplier=step["supplier"], family=family
    )
    due_at = policy.due(since, seconds)
    if due_at is None:
        return None
    return _deadline(
        step["step_id"], step["kind"], step["plant"], stage, since, due_at, now, policy
    )


def _deadline(
    step_id: str | None,
    kind: str | None,
    plant: str | None,
    stage: Stage,
    since: datetime,
    due_at: datetime,
    now: datetime,
    policy: SlaPolicy,
) -> Deadline:
    return Deadline(
        step_id=step_id,
        kind=kind,
        plant=plant,
        stage=stage,
        since=since,
        due_at=due_at,
        sla_state=policy.state(since, due_at, now),
    )
