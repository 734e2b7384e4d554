"""Exceptions: every blocked or failed step, grouped by its error fingerprint, and the
(ECO, plant) pairs those steps stop.

Two lists, each one query under its filter: :func:`steps_select` (:class:`StepFilter`) and
:func:`plants_select` (:class:`PlantFilter`); the Overview's "blocked plants" is
:func:`count_plants` of the second, the rows the Exceptions page lists for that filter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa

from collector.tables import eco_plants, eco_status, step_status
from contracts.readmodel import PlantState
from contracts.steps import StepState
from dashboards import filters
from dashboards.filters import Query
from dashboards.paging import DEFAULT_LIMIT, Page, count_rows, frame, paginate

OPEN_STATES = (StepState.FAILED, StepState.BLOCKED)
"""Steps that wait for a person: a dead letter or a business rejection."""
STUCK_PLANT_STATES = (PlantState.BLOCKED, PlantState.FAILED)
"""Plants stopped by such a step."""

_FINGERPRINT = sa.func.coalesce(step_status.c.fingerprint, "unclassified")


@dataclass(frozen=True)
class StepFilter:
    """Open steps narrowed to states (failed, blocked), a fingerprint group or an ECO."""

    states: tuple[StepState, ...] = OPEN_STATES
    fingerprint: str | None = None
    eco: str | None = None

    @classmethod
    def from_query(cls, query: Query) -> StepFilter:
        """The filter a page address names: ``state`` (repeated), ``fingerprint``, ``eco``."""
        states = tuple(s for s in filters.members(query, "state", StepState) if s in OPEN_STATES)
        return cls(
            states=states or OPEN_STATES,
            fingerprint=filters.value(query, "fingerprint"),
            eco=filters.value(query, "eco"),
        )

    def to_query(self) -> dict[str, list[str]]:
        query: dict[str, list[str]] = {}
        if set(self.states) != set(OPEN_STATES):
            filters.put(query, "state", self.states)
        filters.put(query, "fingerprint", [self.fingerprint] if self.fingerprint else [])
        filters.put(query, "eco", [self.eco] if self.eco else [])
        return query

    def describe(self) -> list[str]:
        said: list[str] = []
        if set(self.states) != set(OPEN_STATES):
            said.append(f"state {', '.join(self.states)}")
        if self.fingerprint:
            said.append(f"fingerprint {self.fingerprint}")
        if self.eco:
            said.append(f"ECO {self.eco}")
        return said


@dataclass(frozen=True)
class PlantFilter:
    """(ECO, plant) pairs a blocked or failed step stops, narrowed to states or a plant."""

    states: tuple[PlantState, ...] = STUCK_PLANT_STATES
    plant: str | None = None

    @classmethod
    def from_query(cls, query: Query) -> PlantFilter:
        """The filter a page address names: ``plant_state`` (repeated), ``plant``."""
        states = tuple(
            s for s in filters.members(query, "plant_state", PlantState) if s in STUCK_PLANT_STATES
        )
        return cls(states=states or STUCK_PLANT_STATES, plant=filters.value(query, "plant"))

    def to_query(self) -> dict[str, list[str]]:
        """Always names the states, so the address says which list it shows."""
        query: dict[str, list[str]] = {}
        filters.put(query, "plant_state", self.states)
        filters.put(query, "plant", [self.plant] if self.plant else [])
        return query

    def describe(self) -> list[str]:
        said: list[str] = []
        if set(self.states) != set(STUCK_PLANT_STATES):
            said.append(f"plant state {', '.join(self.states)}")
        if self.plant:
            said.append(f"plant {self.plant}")
        return said


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


def steps_select(criteria: StepFilter) -> sa.Select[Any]:
    """The open-steps list's one query, the longest open first.

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
        .where(step_status.c.state.in_(criteria.states))
        .order_by(step_status.c.state_since, step_status.c.step_id)
    )
    if criteria.fingerprint is not None:
        select = select.where(_FINGERPRINT == criteria.fingerprint)
    if criteria.eco is not None:
        select = select.where(step_status.c.eco == criteria.eco)
    return select


def count_steps(connection: sa.Connection, criteria: StepFilter) -> int:
    """How many rows :func:`open_steps` lists for ``criteria``."""
    return count_rows(connection, steps_select(criteria))


def open_steps(
    engine: sa.Engine,
    criteria: StepFilter | None = None,
    *,
    fingerprint: str | None = None,
    eco: str | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
) -> Page:
    """One page of failed or blocked steps, the longest open first (see :func:`steps_select`).

    ``fingerprint`` and ``eco`` narrow a filter given without them.
    """
    criteria = criteria or StepFilter()
    if fingerprint is not None or eco is not None:
        criteria = StepFilter(
            states=criteria.states,
            fingerprint=fingerprint or criteria.fingerprint,
            eco=eco or criteria.eco,
        )
    with engine.connect() as connection:
        return paginate(connection, steps_select(criteria), limit=limit, offset=offset)


def plants_select(criteria: PlantFilter) -> sa.Select[Any]:
    """The stuck-plants list's one query, the longest stuck first.

    Columns: eco, title, plant, state, reason (the blocked or failed step's error),
    steps_done, steps_total, since.
    """
    select = (
        sa.select(
            eco_plants.c.eco,
            eco_status.c.title,
            eco_plants.c.plant,
            eco_plants.c.state,
            eco_plants.c.blocked_reason.label("reason"),
            eco_plants.c.steps_done,
            eco_plants.c.steps_total,
            eco_plants.c.updated_at.label("since"),
        )
        .select_from(eco_plants.outerjoin(eco_status, eco_status.c.eco == eco_plants.c.eco))
        .where(eco_plants.c.state.in_(criteria.states))
        .order_by(eco_plants.c.updated_at, eco_plants.c.eco, eco_plants.c.plant)
    )
    if criteria.plant is not None:
        select = select.where(eco_plants.c.plant == criteria.plant)
    return select


def count_plants(connection: sa.Connection, criteria: PlantFilter) -> int:
    """How many rows :func:`stuck_plants` lists for ``criteria``."""
    return count_rows(connection, plants_select(criteria))


def stuck_plants(
    engine: sa.Engine,
    criteria: PlantFilter = PlantFilter(),
    *,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
) -> Page:
    """One page of (ECO, plant) pairs stopped by a blocked or failed step."""
    with engine.connect() as connection:
        return paginate(connection, plants_select(criteria), limit=limit, offset=offset)
