"""Exceptions: every blocked or failed step, grouped by its error fingerprint."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from collector.tables import step_status
from contracts.steps import StepState
from dashboards.paging import DEFAULT_LIMIT, Page, frame, paginate

OPEN_STATES = (StepState.FAILED, StepState.BLOCKED)
"""Steps that wait for a person: a dead letter or a business rejection."""

_FINGERPRINT = sa.func.coalesce(step_status.c.fingerprint, "unclassified")


def failure_groups(engine: sa.Engine) -> pd.DataFrame:
    """One row per fingerprint of open failures, the largest group first.

    Columns: fingerprint, steps, failed, blocked, ecos, kind, error_code, sample_message,
    last_seen.
    """
    open_steps = step_status.c.state.in_(OPEN_STATES)
    select = (
        sa.select(
            _FINGERPRINT.label("fingerprint"),
            sa.func.count().label("steps"),
            # One count per open state, each column named after its state.
            *(
                sa.func.sum(sa.case((step_status.c.state == state, 1), else_=0)).label(state.value)
                for state in OPEN_STATES
            ),
            sa.func.count(sa.distinct(step_status.c.eco)).label("ecos"),
            sa.func.min(step_status.c.kind).label("kind"),
            sa.func.min(step_status.c.error_code).label("error_code"),
            sa.func.min(step_status.c.error_message).label("sample_message"),
            sa.func.max(step_status.c.state_since).label("last_seen"),
        )
        .where(open_steps)
        .group_by(_FINGERPRINT)
        .order_by(sa.func.count().desc(), _FINGERPRINT)
    )
    with engine.connect() as connection:
        result = connection.execute(select)
        return frame(result, list(result.keys()))


def open_steps(
    engine: sa.Engine,
    *,
    fingerprint: str | None = None,
    eco: str | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
) -> Page:
    """One page of failed or blocked steps, the longest open first.

    Columns: step_id, eco, kind, system, plant, item, supplier, state, attempt,
    error_code, error_message, fingerprint, since.
    """
    select = (
        sa.select(
            step_status.c.step_id,
            step_status.c.eco,
            step_status.c.kind,
            step_status.c.system,
            step_status.c.plant,
            step_status.c.item,
            step_status.c.supplier,
            step_status.c.state,
            step_status.c.attempt,
            step_status.c.error_code,
            step_status.c.error_message,
            _FINGERPRINT.label("fingerprint"),
            step_status.c.state_since.label("since"),
        )
        .where(step_status.c.state.in_(OPEN_STATES))
        .order_by(step_status.c.state_since, step_status.c.step_id)
    )
    if fingerprint is not None:
        select = select.where(_FINGERPRINT == fingerprint)
    if eco is not None:
        select = select.where(step_status.c.eco == eco)
    with engine.connect() as connection:
        return paginate(connection, select, limit=limit, offset=offset)
