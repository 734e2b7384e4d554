"""Transaction status by plant, supplier, product family and workflow stage: the
in-flight steps (not succeeded, skipped or cancelled, of ECOs not yet finished) counted
by any two of the four, and the rows behind each count under a :class:`StatusFilter`.

A step's workflow stage is named after what it does (:data:`STAGES`); a step with no
plant (an item release, a notice, a central info record) is at plant ``-``, one with no
supplier at supplier ``-``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa

from collector.tables import eco_status, step_status
from contracts.readmodel import EcoState
from contracts.steps import StepKind, StepState
from dashboards import filters
from dashboards.filters import Query
from dashboards.paging import DEFAULT_LIMIT, Page, paginate

NONE = "-"
STAGES: dict[StepKind, str] = {
    StepKind.ERP_ITEM_REVISION: "release",
    StepKind.ERP_BOM: "bom and routing",
    StepKind.ERP_ROUTING: "bom and routing",
    StepKind.ERP_PRODUCTION_VERSION: "production version",
    StepKind.ERP_CONFIRMATION: "erp confirmation",
    StepKind.MES_ROUTING: "shop floor",
    StepKind.SUPPLIER_NOTICE: "supplier notice",
    StepKind.QUALIFICATION_REQUEST: "qualification",
    StepKind.ERP_INFO_RECORD: "purchasing",
    StepKind.ERP_BOM_WITHDRAWAL: "withdrawal",
    StepKind.ERP_ROUTING_WITHDRAWAL: "withdrawal",
    StepKind.ERP_PRODUCTION_VERSION_WITHDRAWAL: "withdrawal",
    StepKind.SUPPLIER_WITHDRAWAL_NOTICE: "withdrawal",
}
"""The workflow stage of each kind of step, in workflow order."""

_STAGE = sa.case(
    *((step_status.c.kind == kind.value, stage) for kind, stage in STAGES.items()),
    else_=NONE,
)
DIMENSIONS: dict[str, Any] = {
    "plant": sa.func.coalesce(step_status.c.plant, NONE),
    "supplier": sa.func.coalesce(step_status.c.supplier, NONE),
    "family": sa.func.coalesce(eco_status.c.product_family, NONE),
    "stage": _STAGE,
}
"""The four ways in-flight work is counted, by their address names."""

_DONE = (StepState.SUCCEEDED.value, StepState.SKIPPED.value, StepState.CANCELLED.value)
_FINISHED = (
    EcoState.PRODUCTION_READY.value,
    EcoState.CANCELLED.value,
    EcoState.REJECTED.value,
)
_JOINED = step_status.join(eco_status, eco_status.c.eco == step_status.c.eco)
# Purchasing of a production-ready ECO is still in flight; the rest of it is done.
_IN_FLIGHT = sa.and_(
    step_status.c.state.not_in(_DONE),
    sa.or_(eco_status.c.state.not_in(_FINISHED), _STAGE.in_(("qualification", "purchasing"))),
    eco_status.c.state != EcoState.CANCELLED.value,
)


@dataclass(frozen=True)
class StatusFilter:
    """One cell of the pivot, or any part of it: each dimension's value, if narrowed."""

    plant: str | None = None
    supplier: str | None = None
    family: str | None = None
    stage: str | None = None

    @classmethod
    def from_query(cls, query: Query) -> StatusFilter:
        """The filter a page address names (see :meth:`to_query`)."""
        return cls(**{name: filters.value(query, name) for name in DIMENSIONS})

    def to_query(self) -> dict[str, list[str]]:
        """``plant``, ``supplier``, ``family``, ``stage``."""
        query: dict[str, list[str]] = {}
        for name in DIMENSIONS:
            value = getattr(self, name)
            if value is not None:
                filters.put(query, name, [value])
        return query

    def describe(self) -> list[str]:
        """The conditions in words."""
        return [f"{name} {getattr(self, name)}" for name in DIMENSIONS if getattr(self, name)]

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        """The SQL conditions."""
        return [
            DIMENSIONS[name] == getattr(self, name)
            for name in DIMENSIONS
            if getattr(self, name) is not None
        ]


def pivot(engine: sa.Engine, rows: str, columns: str) -> pd.DataFrame:
    """In-flight steps counted by ``rows`` x ``columns`` (two of :data:`DIMENSIONS`): a
    frame indexed by the row values, one column per column value, zeros where none."""
    row_key, column_key = DIMENSIONS[rows], DIMENSIONS[columns]
    query = (
        sa.select(row_key, column_key, sa.func.count())
        .select_from(_JOINED)
        .where(_IN_FLIGHT)
        .group_by(row_key, column_key)
    )
    with engine.connect() as connection:
        found = pd.DataFrame(connection.execute(query).all(), columns=[rows, columns, "n"])
    if found.empty:
        return pd.DataFrame()
    table = found.pivot_table(index=rows, columns=columns, values="n", aggfunc="sum")
    table = table.fillna(0).astype(int)
    if columns == "stage" or rows == "stage":
        order = list(dict.fromkeys(STAGES.values()))
        if columns == "stage":
            table = table[[s for s in order if s in table.columns]]
        else:
            table = table.loc[[s for s in order if s in table.index]]
    return table


def status_rows(
    engine: sa.Engine, criteria: StatusFilter, *, limit: int = DEFAULT_LIMIT, offset: int = 0
) -> Page:
    """The in-flight steps one cell counts: eco, stage, kind, plant, supplier, family,
    item, revision, state, since, error_message, step_id; the oldest first."""
    query = (
        sa.select(
            step_status.c.eco,
            _STAGE.label("stage"),
            step_status.c.kind,
            DIMENSIONS["plant"].label("plant"),
            DIMENSIONS["supplier"].label("supplier"),
            DIMENSIONS["family"].label("family"),
            step_status.c.item,
            step_status.c.revision,
            step_status.c.state,
            step_status.c.state_since.label("since"),
            step_status.c.error_message,
            step_status.c.step_id,
        )
        .select_from(_JOINED)
        .where(_IN_FLIGHT, *criteria.conditions())
        .order_by(step_status.c.state_since, step_status.c.step_id)
    )
    with engine.connect() as connection:
        return paginate(connection, query, limit=limit, offset=offset)
