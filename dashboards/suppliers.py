"""Supplier-side reads: duplicate supplier records between procurement and ERP (a drift
row for sourcing) and, for one supplier, everything Threadline did with it."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from collector.sourcing_tables import (
    info_record_activations,
    qualification_facts,
    supplier_duplicates,
)
from collector.tables import step_status, supplier_notices
from contracts.steps import PURCHASING_KINDS, StepKind
from dashboards.paging import frame

DUPLICATE_COLUMNS = ("kind", "key", "codes", "names", "systems", "detail", "detected_at")


def duplicate_suppliers(engine: sa.Engine) -> pd.DataFrame:
    """The duplicate supplier records reconciliation reports now: the newest report of
    each (kind, key), unless it said the records are one again."""
    d = supplier_duplicates
    newest = (
        sa.select(d.c.kind, d.c.key, sa.func.max(d.c.event_seq).label("seq"))
        .group_by(d.c.kind, d.c.key)
        .subquery()
    )
    query = (
        sa.select(*(d.c[name] for name in DUPLICATE_COLUMNS))
        .join(newest, newest.c.seq == d.c.event_seq)
        .where(sa.not_(d.c.resolved))
        .order_by(d.c.kind, d.c.key)
    )
    with engine.connect() as connection:
        return frame(connection.execute(query), DUPLICATE_COLUMNS)


NOTICE_COLUMNS = ("eco", "status", "attempts", "last_error", "notice_id", "updated_at")
STEP_COLUMNS = ("eco", "kind", "plant", "item", "revision", "state", "error_message", "since")
QUALIFICATION_COLUMNS = ("component", "revision", "status", "eco", "reason", "at")
RECORD_COLUMNS = ("component", "revision", "plant", "info_record", "eco", "activated_at")


def supplier_view(engine: sa.Engine, supplier: str) -> dict[str, pd.DataFrame]:
    """One supplier's notices, qualifications, activated info records, and the purchasing
    or notice steps that failed or are blocked."""
    n, q, a, s = supplier_notices, qualification_facts, info_record_activations, step_status
    queries = {
        "notices": sa.select(*(n.c[c] for c in NOTICE_COLUMNS))
        .where(n.c.supplier == supplier)
        .order_by(n.c.updated_at.desc()),
        "qualifications": sa.select(*(q.c[c] for c in QUALIFICATION_COLUMNS))
        .where(q.c.supplier == supplier)
        .order_by(q.c.at.desc(), q.c.event_seq.desc()),
        "info_records": sa.select(*(a.c[c] for c in RECORD_COLUMNS))
        .where(a.c.supplier == supplier)
        .order_by(a.c.activated_at.desc()),
        "failures": sa.select(
            s.c.eco,
            s.c.kind,
            s.c.plant,
            s.c.item,
            s.c.revision,
            s.c.state,
            s.c.error_message,
            s.c.state_since.label("since"),
        )
        .where(s.c.supplier == supplier)
        .where(s.c.kind.in_(sorted({*PURCHASING_KINDS, StepKind.SUPPLIER_NOTICE})))
        .where(s.c.state.in_(("failed", "blocked", "retrying")))
        .order_by(s.c.state_since.desc()),
    }
    columns = {
        "notices": NOTICE_COLUMNS,
        "qualifications": QUALIFICATION_COLUMNS,
        "info_records": RECORD_COLUMNS,
        "failures": STEP_COLUMNS,
    }
    with engine.connect() as connection:
        return {
            name: frame(connection.execute(query.limit(500)), columns[name])
            for name, query in queries.items()
        }
