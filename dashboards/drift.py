"""Drift: (plant, item) pairs where PLM, ERP, MES and Threadline's expectation disagree.

Rows come from the collector's ``drift`` read model, projected from reconciliation's
``plant.drift_detected`` and ``drift_resolved`` events; an open row is a drift the last
reconciliation of its plant still found. The figure and the list use one query
(:func:`drift_select`), so a count always equals the rows it links to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

import sqlalchemy as sa

from collector.tables import drift, reconciliations
from contracts.readmodel import DriftCause
from dashboards.paging import DEFAULT_LIMIT, Page, paginate

COLUMNS = (
    drift.c.plant,
    drift.c.item,
    drift.c.plm_revision,
    drift.c.erp_revision,
    drift.c.mes_revision,
    drift.c.expected_revision,
    drift.c.eco,
    drift.c.eco_state,
    drift.c.cause,
    drift.c.detail,
    drift.c.since,
    drift.c.detected_at,
)

CAUSE_LABELS: Mapping[DriftCause, str] = {
    DriftCause.IN_FLIGHT: "in flight",
    DriftCause.BLOCKED: "blocked",
    DriftCause.FAILED: "failed",
    DriftCause.CANCELLED: "cancelled in Threadline",
    DriftCause.REJECTED: "rejected by Threadline",
    DriftCause.NOT_RECEIVED: "not propagated by Threadline",
    DriftCause.OUTSIDE: "changed outside Threadline",
}
"""How the console names each cause."""


class DriftRow(TypedDict):
    """One open drift as the list shows it."""

    plant: str
    item: str
    plm_revision: str | None
    erp_revision: str | None
    mes_revision: str | None
    expected_revision: str | None
    eco: str | None
    eco_state: str | None
    cause: DriftCause
    detail: str
    since: datetime


@dataclass(frozen=True)
class DriftFilter:
    """Which open drift rows a list keeps (empty: all of them)."""

    plants: tuple[str, ...] = ()
    causes: tuple[DriftCause, ...] = ()
    eco: str | None = None

    def to_query(self) -> dict[str, list[str]]:
        """Page-address query parameters that give this filter back (:meth:`from_query`)."""
        query: dict[str, list[str]] = {}
        if self.plants:
            query["plant"] = list(self.plants)
        if self.causes:
            query["cause"] = [c.value for c in self.causes]
        if self.eco:
            query["eco"] = [self.eco]
        return query

    @classmethod
    def from_query(cls, query: Mapping[str, Sequence[str]]) -> DriftFilter:
        """The filter a page address names; unknown causes are ignored."""
        known = {c.value: c for c in DriftCause}
        causes = tuple(dict.fromkeys(known[v] for v in query.get("cause", ()) if v in known))
        plants = tuple(dict.fromkeys(v for v in query.get("plant", ()) if v))
        eco = next((v for v in query.get("eco", ()) if v), None)
        return cls(plants=plants, causes=causes, eco=eco)

    def describe(self) -> list[str]:
        """What the filter keeps, one phrase per condition."""
        phrases = []
        if self.plants:
            phrases.append(f"plant {', '.join(self.plants)}")
        if self.causes:
            phrases.append(f"cause {', '.join(CAUSE_LABELS[c] for c in self.causes)}")
        if self.eco:
            phrases.append(f"ECO {self.eco}")
        return phrases

    def where(self) -> list[sa.ColumnElement[bool]]:
        """The filter's conditions over the ``drift`` table (open rows only)."""
        conditions: list[sa.ColumnElement[bool]] = [drift.c.open.is_(True)]
        if self.plants:
            conditions.append(drift.c.plant.in_(self.plants))
        if self.causes:
            conditions.append(drift.c.cause.in_([c.value for c in self.causes]))
        if self.eco:
            conditions.append(drift.c.eco == self.eco)
        return conditions


def drift_select(where: DriftFilter = DriftFilter()) -> sa.Select[Any]:
    """The open drift rows ``where`` keeps, oldest drift first."""
    return (
        sa.select(*COLUMNS)
        .where(*where.where())
        .order_by(drift.c.since, drift.c.plant, drift.c.item)
    )


def drift_page(
    engine: sa.Engine,
    where: DriftFilter = DriftFilter(),
    *,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
) -> Page:
    """One page of open drift and how many rows there are in all."""
    with engine.connect() as connection:
        return paginate(connection, drift_select(where), limit=limit, offset=offset)


def drift_count(engine: sa.Engine, where: DriftFilter = DriftFilter()) -> int:
    """How many open drift rows ``where`` keeps: the figure of the list it links to."""
    with engine.connect() as connection:
        query = sa.select(sa.func.count()).select_from(
            drift_select(where).order_by(None).subquery()
        )
        return int(connection.execute(query).scalar_one())


def drift_rows(engine: sa.Engine, where: DriftFilter = DriftFilter()) -> list[DriftRow]:
    """Every open drift row ``where`` keeps."""
    with engine.connect() as connection:
        rows = connection.execute(drift_select(where)).mappings().all()
    return [
        DriftRow(
            plant=row["plant"],
            item=row["item"],
            plm_revision=row["plm_revision"],
            erp_revision=row["erp_revision"],
            mes_revision=row["mes_revision"],
            expected_revision=row["expected_revision"],
            eco=row["eco"],
            eco_state=row["eco_state"],
            cause=DriftCause(row["cause"]),
            detail=row["detail"] or "",
            since=row["since"],
        )
        for row in rows
    ]


def drift_plants(engine: sa.Engine) -> list[str]:
    """Every plant reconciled or drifting (the plant filter's choices)."""
    with engine.connect() as connection:
        reconciled = connection.execute(sa.select(reconciliations.c.plant)).scalars().all()
        drifting = connection.execute(sa.select(drift.c.plant).distinct()).scalars().all()
    return sorted(set(reconciled) | set(drifting))


def last_reconciliations(engine: sa.Engine) -> dict[str, datetime]:
    """When each plant was last compared with PLM, ERP and MES."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(reconciliations.c.plant, reconciliations.c.reconciled_at).where(
                reconciliations.c.reconciled_at.is_not(None)
            )
        ).all()
    return {row.plant: row.reconciled_at for row in rows}
