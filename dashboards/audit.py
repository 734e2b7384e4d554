"""The audit log: every operator action across all ECOs — who, in which role, when, what,
why, what came of it, the steps it touched and the operation that followed it to its end.

The list is :func:`audit_select` under an :class:`AuditFilter` over the collector's
``operator_actions`` read model; each row's operation id and, once the operation ended,
its outcome come from the action's own event and the operation's ``operation_completed``
event (:func:`audit_log` adds them to a page, :func:`audit_export` to every row).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa

from collector.tables import events, operator_actions
from contracts.events import type_of
from contracts.operator_events import OperationCompleted
from contracts.steps import OperatorAction
from dashboards import filters
from dashboards.filters import Query
from dashboards.paging import DEFAULT_LIMIT, Page, count_rows, frame, paginate

COMPLETED_TYPE = type_of(OperationCompleted)
EXPORT_LIMIT = 50_000
"""Most rows one CSV export holds (the newest first)."""
COLUMNS = [
    "at",
    "actor",
    "role",
    "action",
    "eco",
    "reason",
    "outcome",
    "affected",
    "step_ids",
    "operation_id",
    "operation_outcome",
]


@dataclass(frozen=True)
class AuditFilter:
    """Operator actions narrowed to actors, roles, actions, an ECO, a date range (UTC days,
    inclusive) or one operation."""

    actor: str | None = None
    role: str | None = None
    actions: tuple[OperatorAction, ...] = ()
    eco: str | None = None
    since: date | None = None
    until: date | None = None
    operation: str | None = None

    @classmethod
    def from_query(cls, query: Query) -> AuditFilter:
        """The filter a page address names: ``actor``, ``role``, ``action`` (repeated),
        ``eco``, ``since`` and ``until`` (``YYYY-MM-DD``), ``operation``."""
        return cls(
            actor=filters.value(query, "actor"),
            role=filters.value(query, "role"),
            actions=filters.members(query, "action", OperatorAction),
            eco=filters.value(query, "eco"),
            since=_day(filters.value(query, "since")),
            until=_day(filters.value(query, "until")),
            operation=filters.value(query, "operation"),
        )

    def to_query(self) -> dict[str, list[str]]:
        query: dict[str, list[str]] = {}
        for name in ("actor", "role", "eco", "operation"):
            value = getattr(self, name)
            filters.put(query, name, [value] if value else [])
        filters.put(query, "action", self.actions)
        filters.put(query, "since", [self.since.isoformat()] if self.since else [])
        filters.put(query, "until", [self.until.isoformat()] if self.until else [])
        return query

    def describe(self) -> list[str]:
        said: list[str] = []
        if self.actor:
            said.append(f"by {self.actor}")
        if self.role:
            said.append(f"role {self.role}")
        if self.actions:
            said.append(f"action {', '.join(self.actions)}")
        if self.eco:
            said.append(f"ECO {self.eco}")
        if self.since:
            said.append(f"from {self.since.isoformat()}")
        if self.until:
            said.append(f"to {self.until.isoformat()}")
        if self.operation:
            said.append(f"operation {self.operation}")
        return said


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def audit_select(criteria: AuditFilter) -> sa.Select[Any]:
    """The list's one query, the newest action first.

    Columns: event_seq, at, actor, role, action, eco, reason, outcome, affected, step_ids.
    """
    actions = operator_actions
    select = sa.select(
        actions.c.event_seq,
        actions.c.at,
        actions.c.actor,
        actions.c.role,
        actions.c.action,
        actions.c.eco,
        actions.c.reason,
        actions.c.outcome,
        actions.c.affected,
        actions.c.step_ids,
    ).order_by(actions.c.at.desc(), actions.c.event_seq.desc())
    if criteria.actor:
        select = select.where(actions.c.actor == criteria.actor)
    if criteria.role:
        select = select.where(actions.c.role == criteria.role)
    if criteria.actions:
        select = select.where(actions.c.action.in_(criteria.actions))
    if criteria.eco:
        # Bulk actions across ECOs name no ECO; their step ids start with it.
        select = select.where(
            sa.or_(
                actions.c.eco == criteria.eco,
                sa.and_(
                    actions.c.eco.is_(None),
                    sa.cast(actions.c.step_ids, sa.Text).contains(
                        f'"{criteria.eco}/', autoescape=True
                    ),
                ),
            )
        )
    if criteria.since:
        select = select.where(actions.c.at >= _midnight(criteria.since))
    if criteria.until:
        select = select.where(actions.c.at < _midnight(criteria.until + timedelta(days=1)))
    if criteria.operation:
        # Operation ids are unique: the quoted id in the action's event names it.
        select = select.join(events, events.c.seq == actions.c.event_seq).where(
            sa.cast(events.c.data, sa.Text).contains(f'"{criteria.operation}"', autoescape=True)
        )
    return select


def count_actions(connection: sa.Connection, criteria: AuditFilter) -> int:
    """How many rows :func:`audit_log` lists for ``criteria``."""
    return count_rows(connection, audit_select(criteria))


def audit_log(
    engine: sa.Engine,
    criteria: AuditFilter = AuditFilter(),
    *,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
) -> Page:
    """One page of operator actions (see :data:`COLUMNS`), the newest first."""
    with engine.connect() as connection:
        page = paginate(connection, audit_select(criteria), limit=limit, offset=offset)
        rows = _with_operations(connection, page.rows)
    return Page(rows=rows, total=page.total, offset=page.offset, limit=page.limit)


def audit_export(engine: sa.Engine, criteria: AuditFilter = AuditFilter()) -> pd.DataFrame:
    """Every action under ``criteria`` (the newest :data:`EXPORT_LIMIT`), for a CSV file:
    the step ids joined by spaces."""
    with engine.connect() as connection:
        result = connection.execute(audit_select(criteria).limit(EXPORT_LIMIT))
        rows = _with_operations(connection, frame(result, list(result.keys())))
    rows["step_ids"] = [" ".join(ids or []) for ids in rows["step_ids"]]
    return rows


def _with_operations(connection: sa.Connection, rows: pd.DataFrame) -> pd.DataFrame:
    """The rows with each action's operation id and its operation's outcome, if it ended."""
    seqs = [int(seq) for seq in rows["event_seq"]]
    data = _data_of(connection, seqs)
    operation_ids = [_text(data.get(seq, {}).get("operation_id")) for seq in seqs]
    outcomes = _completed(connection, {o for o in operation_ids if o}, rows["at"])
    shown = rows.drop(columns=["event_seq"]).copy()
    shown["step_ids"] = [list(ids) if isinstance(ids, list) else [] for ids in shown["step_ids"]]
    shown["operation_id"] = operation_ids
    shown["operation_outcome"] = [outcomes.get(o) if o else None for o in operation_ids]
    return shown[COLUMNS]


def _data_of(connection: sa.Connection, seqs: Sequence[int]) -> dict[int, dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    for start in range(0, len(seqs), 1000):
        chunk = list(seqs[start : start + 1000])
        for row in connection.execute(
            sa.select(events.c.seq, events.c.data).where(events.c.seq.in_(chunk))
        ):
            if isinstance(row.data, dict):
                found[int(row.seq)] = row.data
    return found


def _completed(
    connection: sa.Connection, operation_ids: set[str], times: pd.Series
) -> dict[str, str]:
    """Each operation's summary from its ``operation_completed`` event, for the operations
    started at or after the earliest of ``times``."""
    if not operation_ids or times.empty:
        return {}
    earliest = pd.Timestamp(min(times)).to_pydatetime()
    summaries: dict[str, str] = {}
    for row in connection.execute(
        sa.select(events.c.data)
        .where(events.c.type == COMPLETED_TYPE)
        .where(sa.func.coalesce(events.c.time, events.c.received_at) >= earliest)
        .order_by(events.c.seq)
    ):
        data = row.data if isinstance(row.data, dict) else {}
        operation = _text(data.get("operation_id"))
        if operation in operation_ids:
            summaries[operation] = _text(data.get("summary")) or "done"
    return summaries


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
