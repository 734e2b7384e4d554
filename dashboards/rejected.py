"""Rejected ECOs: every ECO the governance rules refused, each violation with its field path
and what to fix in PLM.

An ECO stays here until PLM publishes a corrected version, which the engine plans (it then
leaves the list) or refuses again (its violations are then the new version's). The list is
:func:`rejected_select` under a :class:`RejectedFilter`; the violations come from each listed
ECO's newest ``eco.rejected`` event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa

from collector.tables import eco_status, events
from contracts.events import EcoRejected, type_of
from contracts.readmodel import EcoState
from dashboards import filters
from dashboards.filters import Query
from dashboards.paging import DEFAULT_LIMIT, Page, count_rows, paginate

REJECTED_TYPE = type_of(EcoRejected)
VIOLATION_COLUMNS = ["eco", "path", "problem", "fix"]
AFTER_FIX = "Save the corrected ECO in PLM: Threadline takes it up again on its next poll."

FIXES: dict[str, str] = {
    "number": "Give the ECO a number of the form ECO-YYYY-NNNNN.",
    "title": "Give the ECO a title of 1 to 200 characters.",
    "reason": "State why the change is made.",
    "status": "Set the status to approved, cancelled or superseded.",
    "approved_at": "Approve the ECO again, so it carries an approval time with its time zone.",
    "effectivity": "Set the effectivity date on or after the day the ECO was approved.",
    "affected_items": "List each affected item once, each new revision after the one it replaces.",
    "plants": "List at least one affected plant, each once.",
    "suppliers": "List each supplier once.",
    "bom_changes": "Give one BOM change per affected assembly, at the assembly's new revision.",
    "routing_changes": "Give one routing change per item and plant, at the item's new revision, "
    "for affected plants only.",
    "superseded_by": "Name the superseding ECO by its number (ECO-YYYY-NNNNN).",
}
"""What to change in PLM, by the ECO field a violation's path starts with."""
GENERAL_FIX = "Correct this field of the ECO."


def fix_for(path: str) -> str:
    """What to fix in PLM for a violation at ``path`` (``affected_items.0.new_revision``)."""
    return FIXES.get(path.split(".", 1)[0], GENERAL_FIX)


@dataclass(frozen=True)
class RejectedFilter:
    """Rejected ECOs whose number starts with ``eco``, or that broke a rule on ``field``."""

    eco: str | None = None
    field: str | None = None

    @classmethod
    def from_query(cls, query: Query) -> RejectedFilter:
        """The filter a page address names: ``eco`` (a number or its start), ``field``."""
        return cls(eco=filters.value(query, "eco"), field=filters.value(query, "field"))

    def to_query(self) -> dict[str, list[str]]:
        query: dict[str, list[str]] = {}
        filters.put(query, "eco", [self.eco] if self.eco else [])
        filters.put(query, "field", [self.field] if self.field else [])
        return query

    def describe(self) -> list[str]:
        said: list[str] = []
        if self.eco:
            said.append(f"ECO {self.eco}…")
        if self.field:
            said.append(f"field {self.field}")
        return said


def rejected_select(criteria: RejectedFilter) -> sa.Select[Any]:
    """The list's one query, the latest refused first.

    Columns: eco, title, rejected_at (first refused), reason (the violations in words),
    last_event_at.
    """
    select = (
        sa.select(
            eco_status.c.eco,
            eco_status.c.title,
            eco_status.c.rejected_at,
            eco_status.c.state_reason.label("reason"),
            eco_status.c.last_event_at,
        )
        .where(eco_status.c.state == EcoState.REJECTED)
        .order_by(eco_status.c.last_event_at.desc(), eco_status.c.eco)
    )
    if criteria.eco:
        select = select.where(eco_status.c.eco.startswith(criteria.eco.upper(), autoescape=True))
    if criteria.field:
        # The reason lists each violation as "<path>: <message>", joined by "; ".
        select = select.where(
            sa.or_(
                eco_status.c.state_reason.startswith(criteria.field, autoescape=True),
                eco_status.c.state_reason.contains(f"; {criteria.field}", autoescape=True),
            )
        )
    return select


def count_rejected(connection: sa.Connection, criteria: RejectedFilter) -> int:
    """How many rows :func:`rejected_ecos` lists for ``criteria``."""
    return count_rows(connection, rejected_select(criteria))


def rejected_ecos(
    engine: sa.Engine,
    criteria: RejectedFilter = RejectedFilter(),
    *,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
) -> tuple[Page, pd.DataFrame]:
    """One page of rejected ECOs and the violations of each: eco, path, problem, fix."""
    with engine.connect() as connection:
        page = paginate(connection, rejected_select(criteria), limit=limit, offset=offset)
        violations = _violations(connection, list(page.rows["eco"]))
    return page, violations


def _violations(connection: sa.Connection, numbers: Sequence[str]) -> pd.DataFrame:
    if not numbers:
        return pd.DataFrame(columns=VIOLATION_COLUMNS)
    rows = connection.execute(
        sa.select(events.c.subject, events.c.data)
        .where(events.c.type == REJECTED_TYPE, events.c.subject.in_(list(numbers)))
        .order_by(events.c.seq)
    ).all()
    newest: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if isinstance(row.data, dict):
            newest[str(row.subject)] = list(row.data.get("violations") or [])
    found = [
        {
            "eco": eco,
            "path": str(violation.get("path") or "-"),
            "problem": str(violation.get("message") or ""),
            "fix": fix_for(str(violation.get("path") or "")),
        }
        for eco in numbers
        for violation in newest.get(eco, [])
    ]
    return pd.DataFrame(found, columns=VIOLATION_COLUMNS)
