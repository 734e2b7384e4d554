"""The exception inbox: every open problem, whatever its source, with its owner.

A *source* is a function ``(connection, now) -> list[Problem]`` registered in
:data:`SOURCES`; a new kind of problem is one more source, not a new page. Problems are
read from the engine's own records (through :mod:`sync_engine.store`), so the inbox, the
command line and the commands see the same steps. Each problem gets its owner team,
runbook, severity and fix hint from the ownership rules, and its status (new,
acknowledged, resolved), assignee and notes from the problem store; :func:`inbox` lists
them under an :class:`InboxFilter` (in the page address) and :func:`groups` groups them
by fingerprint.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from contracts.steps import StepKind, StepState
from dashboards import filters, sla
from dashboards.filters import Query
from sync_engine import store
from sync_engine.ownership import Owner, OwnershipRules, Severity
from sync_engine.store import ProblemState, ProblemStatus


@dataclass(frozen=True)
class Problem:
    """One open problem as its source found it."""

    key: str
    source: str
    fingerprint: str
    message: str
    since: datetime
    eco: str | None = None
    step_id: str | None = None
    system: str | None = None
    kind: str | None = None
    plant: str | None = None
    item: str | None = None
    supplier: str | None = None
    code: str | None = None
    state: str | None = None


Source = Callable[[sa.Connection, datetime], list[Problem]]
"""Finds one kind of open problem."""


def _step_problem(source: str, step: store.StepRecord) -> Problem:
    return Problem(
        key=store.step_key(step.step_id),
        source=source,
        fingerprint=step.fingerprint or f"{step.kind.value}:unclassified",
        message=step.last_error_message or "",
        since=step.updated_at,
        eco=step.eco,
        step_id=step.step_id,
        system=step.system.value,
        kind=step.kind.value,
        plant=step.plant,
        item=step.item,
        supplier=step.supplier,
        code=step.last_error_code,
        state=step.state.value,
    )


def blocked_steps(connection: sa.Connection, now: datetime) -> list[Problem]:
    """Steps a system refused by a business rule (not ERP's confirmation)."""
    return [
        _step_problem("blocked step", step)
        for step in store.find_steps(connection, states=[StepState.BLOCKED])
        if step.kind is not StepKind.ERP_CONFIRMATION
    ]


def dead_lettered_steps(connection: sa.Connection, now: datetime) -> list[Problem]:
    """Steps that ran out of retries or broke the contract (their last call is kept)."""
    return [
        _step_problem("dead-lettered step", step)
        for step in store.find_steps(connection, states=[StepState.FAILED])
        if step.kind is not StepKind.ERP_CONFIRMATION
    ]


def rejected_confirmations(connection: sa.Connection, now: datetime) -> list[Problem]:
    """Production versions ERP rejected (or whose confirmation failed)."""
    return [
        _step_problem("ERP confirmation rejected", step)
        for step in store.find_steps(
            connection,
            states=[StepState.BLOCKED, StepState.FAILED],
            kind=StepKind.ERP_CONFIRMATION,
        )
    ]


def rejected_ecos(connection: sa.Connection, now: datetime) -> list[Problem]:
    """ECOs the governance rules refused: PLM must correct them."""
    return [
        Problem(
            key=store.eco_key(row.number),
            source="rejected ECO",
            fingerprint="eco.rejected",
            message=f"{row.title or row.number} broke the governance rules",
            since=row.received_at,
            eco=row.number,
            system="plm",
            code="ECO_REJECTED",
        )
        for row in store.rejected_ecos(connection)
    ]


def drift_rows(connection: sa.Connection, now: datetime) -> list[Problem]:
    """(plant, item) pairs whose revisions disagree across PLM, ERP and MES."""
    return [
        Problem(
            key=store.drift_key(d.plant, d.item),
            source="drift",
            fingerprint=f"drift:{d.cause.value}",
            message=d.detail,
            since=d.since or now,
            eco=d.eco,
            plant=d.plant,
            item=d.item,
            code="DRIFT",
        )
        for d in store.open_drift(connection).values()
    ]


def overdue_work(connection: sa.Connection, now: datetime) -> list[Problem]:
    """Steps and ECOs past their stage's SLA (:mod:`dashboards.sla`)."""
    found = []
    for work in sla.overdue_work(connection, now):
        kind = StepKind(work["kind"]) if work["kind"] else None
        stage = work["stage"].value.replace("_", " ")
        found.append(
            Problem(
                key=store.overdue_key(work["step_id"] or work["eco"]),
                source="overdue work",
                fingerprint=f"overdue:{work['stage'].value}",
                message=f"{stage} overdue by {_late(work['late_seconds'])}",
                since=work["due_at"],
                eco=work["eco"],
                step_id=work["step_id"],
                system=kind.system.value if kind else None,
                kind=kind.value if kind else None,
                plant=work["plant"],
                item=work["item"],
                supplier=work["supplier"],
                code="OVERDUE",
            )
        )
    return found


def _late(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"


SOURCES: tuple[tuple[str, Source], ...] = (
    ("blocked", blocked_steps),
    ("dead_letter", dead_lettered_steps),
    ("confirmation", rejected_confirmations),
    ("rejected_eco", rejected_ecos),
    ("drift", drift_rows),
    ("overdue", overdue_work),
)
"""Every source of inbox problems, by name (add one here for a new kind of problem)."""


@dataclass(frozen=True)
class InboxRow:
    """A problem with its owner and its status."""

    problem: Problem
    owner: Owner
    state: ProblemState

    @property
    def status(self) -> ProblemStatus:
        """A problem still open reads new if it was resolved before it came back."""
        if self.state.status is ProblemStatus.RESOLVED:
            return ProblemStatus.NEW
        return self.state.status

    def age(self, now: datetime) -> timedelta:
        return now - self.problem.since


@dataclass(frozen=True)
class InboxFilter:
    """The inbox narrowed by owner team, plant, supplier, system, error code, minimum age
    and status; every field empty means everything."""

    teams: tuple[str, ...] = ()
    plants: tuple[str, ...] = ()
    suppliers: tuple[str, ...] = ()
    systems: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    min_age: timedelta | None = None
    statuses: tuple[ProblemStatus, ...] = ()
    fingerprint: str | None = None

    @classmethod
    def from_query(cls, query: Query) -> InboxFilter:
        """The filter a page address names: ``team``, ``plant``, ``supplier``, ``system``,
        ``code``, ``status`` (each repeatable), ``age`` (seconds), ``fingerprint``."""
        return cls(
            teams=filters.values(query, "team"),
            plants=filters.values(query, "plant"),
            suppliers=filters.values(query, "supplier"),
            systems=filters.values(query, "system"),
            codes=filters.values(query, "code"),
            min_age=filters.seconds(query, "age"),
            statuses=filters.members(query, "status", ProblemStatus),
            fingerprint=filters.value(query, "fingerprint"),
        )

    def to_query(self) -> dict[str, list[str]]:
        query: dict[str, list[str]] = {}
        for name, items in (
            ("team", self.teams),
            ("plant", self.plants),
            ("supplier", self.suppliers),
            ("system", self.systems),
            ("code", self.codes),
            ("status", self.statuses),
        ):
            filters.put(query, name, items)
        if self.min_age is not None:
            filters.put(query, "age", [int(self.min_age.total_seconds())])
        filters.put(query, "fingerprint", [self.fingerprint] if self.fingerprint else [])
        return query

    def describe(self) -> list[str]:
        said = [
            f"{label} {', '.join(items)}"
            for label, items in (
                ("team", self.teams),
                ("plant", self.plants),
                ("supplier", self.suppliers),
                ("system", self.systems),
                ("error", self.codes),
                ("status", self.statuses),
            )
            if items
        ]
        if self.min_age is not None:
            said.append(f"open at least {_duration(self.min_age)}")
        if self.fingerprint:
            said.append(f"fingerprint {self.fingerprint}")
        return said

    def keeps(self, row: InboxRow, now: datetime) -> bool:
        """Whether ``row`` passes every condition."""
        problem = row.problem
        return (
            _within(self.teams, row.owner.team)
            and _within(self.plants, problem.plant)
            and _within(self.suppliers, problem.supplier)
            and _within(self.systems, problem.system)
            and _within(self.codes, problem.code)
            and _within(self.statuses, row.status)
            and (self.min_age is None or row.age(now) >= self.min_age)
            and (self.fingerprint is None or problem.fingerprint == self.fingerprint)
        )


def _within(chosen: Sequence[str], value: str | None) -> bool:
    return not chosen or value in chosen


def _duration(age: timedelta) -> str:
    hours = age.total_seconds() / 3600
    return f"{hours:g} h" if hours >= 1 else f"{age.total_seconds() / 60:g} min"


def inbox(
    engine: sa.Engine,
    rules: OwnershipRules,
    criteria: InboxFilter,
    *,
    now: datetime,
) -> list[InboxRow]:
    """Every open problem of every source that ``criteria`` keeps, the most severe and
    then the oldest first."""
    with engine.connect() as connection:
        problems = [p for _, source in SOURCES for p in source(connection, now)]
        states = store.problem_states(connection, [p.key for p in problems])
    rows = [
        InboxRow(
            problem=p,
            owner=rules.owner(
                system=p.system,
                kind=p.kind,
                code=p.code,
                plant=p.plant,
                supplier=p.supplier,
                item=p.item,
                eco=p.eco,
            ),
            state=states.get(p.key) or ProblemState(key=p.key),
        )
        for p in problems
    ]
    order = list(Severity)
    kept = [row for row in rows if criteria.keeps(row, now)]
    return sorted(kept, key=lambda r: (order.index(r.owner.severity), r.problem.since))


@dataclass(frozen=True)
class Group:
    """The problems sharing one fingerprint."""

    fingerprint: str
    rows: list[InboxRow] = field(default_factory=list)

    @property
    def first(self) -> InboxRow:
        return self.rows[0]

    @property
    def step_ids(self) -> list[str]:
        return [r.problem.step_id for r in self.rows if r.problem.step_id]


def groups(rows: Sequence[InboxRow]) -> list[Group]:
    """``rows`` grouped by fingerprint, in the order their first row comes."""
    found: dict[str, Group] = {}
    for row in rows:
        found.setdefault(row.problem.fingerprint, Group(row.problem.fingerprint)).rows.append(row)
    return list(found.values())
