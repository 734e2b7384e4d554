"""The SLA and prediction queries the sections and pages read, cached for a few seconds
like every operations query (:mod:`console.state`)."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from console import state
from contracts.sla import SlaPolicy, Stage
from dashboards import prediction, sla
from dashboards.durations import Segments
from dashboards.sla import Deadline, OverdueFilter, OverdueWork
from threadline.sla import sla_policy

FORECAST_TTL = 30.0
"""Seconds a forecast is reused: it moves with the minutes, not the seconds."""


@st.cache_resource(show_spinner=False)
def policy() -> SlaPolicy:
    """The SLAs the engine applies (the service checked the file at start)."""
    return sla_policy(state.settings())


def _now() -> datetime:
    return datetime.now(UTC)


@st.cache_data(ttl=state.LIVE_TTL, show_spinner=False)
def overdue(url: str, criteria: OverdueFilter) -> tuple[datetime, list[OverdueWork]]:
    """When read, and the overdue work :func:`dashboards.sla.overdue_work` lists."""
    now = _now()
    with state.read_engine(url).connect() as connection:
        return now, sla.overdue_work(connection, now, criteria)


@st.cache_data(ttl=state.LIVE_TTL, show_spinner=False)
def overdue_counts(url: str) -> dict[Stage, int]:
    """Overdue work by stage: the row counts of the overdue list per stage."""
    with state.read_engine(url).connect() as connection:
        return sla.overdue_by_stage(connection, _now())


@st.cache_data(ttl=state.LIVE_TTL, show_spinner=False)
def deadlines(url: str, eco: str) -> list[Deadline]:
    """The ECO's and its in-flight steps' due times."""
    with state.read_engine(url).connect() as connection:
        return sla.eco_deadlines(connection, eco, _now(), policy())


@st.cache_data(ttl=state.REPORT_TTL, show_spinner=False)
def segments(url: str) -> Segments:
    """The recent durations forecasts draw from: they change as ECOs finish."""
    with state.read_engine(url).connect() as connection:
        return prediction.recent_segments(connection, _now())


@st.cache_data(ttl=FORECAST_TTL, show_spinner=False)
def forecasts(url: str, ecos: tuple[str, ...] | None = None) -> dict[str, prediction.Forecast]:
    """Forecasts of the in-flight ECOs among ``ecos`` (``None``: all in flight)."""
    with state.read_engine(url).connect() as connection:
        return prediction.forecasts(connection, _now(), ecos, segments=lambda: segments(url))


@st.cache_data(ttl=FORECAST_TTL, show_spinner=False)
def at_risk(url: str) -> tuple[datetime, list[prediction.AtRisk]]:
    """When read, and the ECOs predicted to be ready after their effectivity date."""
    now = _now()
    with state.read_engine(url).connect() as connection:
        return now, prediction.at_risk(connection, now, segments=lambda: segments(url))
