"""What the console shares between reruns and sessions: engines and cached query results.

The engines live for the process (``st.cache_resource``); query results for a few seconds
(``st.cache_data``), keyed by the database URL and the arguments, so many people watching
the same page cost one query. An action clears the cached results so its effect shows on
the next rerun.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa
import streamlit as st

from console import sessions
from dashboards import (
    audit,
    confirmations,
    cycle_time,
    eco_list,
    ecos,
    exceptions,
    freshness,
    notices,
    overview,
    revisions,
)
from dashboards import rejected as rejected_ecos
from dashboards.paging import Page
from sync_engine import health
from threadline import logs
from threadline.db import create_engine
from threadline.settings import Settings, get_settings

LIVE_TTL = 5.0
"""Seconds an operations query result is reused."""
REPORT_TTL = 300.0
"""Seconds a report's rows are reused: they change once an ECO completes."""


def settings() -> Settings:
    """The process's settings."""
    return get_settings()


def database_url() -> str:
    """The database the console reads."""
    return settings().database_url


def _dispose(engine: sa.Engine) -> None:
    engine.dispose()


@st.cache_resource(show_spinner=False, on_release=_dispose)
def read_engine(url: str) -> sa.Engine:
    """The read-only engine for queries (READ ONLY transactions on PostgreSQL)."""
    return create_engine(url, read_only=True)


@st.cache_resource(show_spinner=False, on_release=_dispose)
def command_engine(url: str) -> sa.Engine:
    """The engine the operator commands write through (``sync_engine.commands``)."""
    return create_engine(url)


@st.cache_resource(show_spinner=False)
def configure_logging() -> bool:
    """Configure this process's logging once, like every service's (operator actions are
    logged from here); left alone when the host already did (a test runner)."""
    if logging.getLogger().handlers:
        return False
    current = settings()
    logs.configure(current.log_level, current.log_format)
    return True


def clear() -> None:
    """Forget every cached query result (after an action)."""
    st.cache_data.clear()


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def kpis(url: str) -> overview.Kpis:
    return overview.overview_kpis(read_engine(url))


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def data_freshness(url: str) -> freshness.Freshness:
    return freshness.freshness(read_engine(url))


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def pipeline_health(url: str) -> health.PipelineHealth:
    with read_engine(url).connect() as connection:
        return health.pipeline_health(connection, now=datetime.now(UTC))


def health_limits() -> health.HealthLimits:
    """When the pipeline counts as behind, from the settings."""
    current = settings()
    return health.HealthLimits(
        outbox_stale_after=timedelta(seconds=current.console_outbox_stale_after),
        heartbeat_timeout=timedelta(seconds=current.console_heartbeat_timeout),
    )


def reconcile_interval() -> timedelta:
    """How often the engines reconcile, from the settings."""
    return timedelta(seconds=settings().engine_reconcile_interval)


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def eco_rows(url: str, criteria: eco_list.EcoFilter, limit: int, offset: int) -> Page:
    return eco_list.eco_list(read_engine(url), criteria, limit=limit, offset=offset)


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def awaiting(url: str, criteria: confirmations.ConfirmationFilter, limit: int, offset: int) -> Page:
    return confirmations.awaiting_confirmation(
        read_engine(url), criteria, limit=limit, offset=offset
    )


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def awaiting_options(url: str) -> tuple[list[str], list[str]]:
    plants, families = confirmations.awaiting_filter_options(read_engine(url))
    return list(plants), list(families)


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def lag_matrix(url: str) -> revisions.LagMatrix:
    return revisions.lag_matrix(read_engine(url))


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def late_plants(url: str, plant: str | None, item: str | None, limit: int, offset: int) -> Page:
    return revisions.late_plants(
        read_engine(url), plant=plant, item=item, limit=limit, offset=offset
    )


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def notice_groups(url: str, criteria: notices.NoticeFilter) -> pd.DataFrame:
    return notices.notice_error_groups(read_engine(url), criteria)


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def failed_notices(url: str, criteria: notices.NoticeFilter, limit: int, offset: int) -> Page:
    return notices.failed_notices(read_engine(url), criteria, limit=limit, offset=offset)


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def stuck_plants(url: str, criteria: exceptions.PlantFilter, limit: int, offset: int) -> Page:
    return exceptions.stuck_plants(read_engine(url), criteria, limit=limit, offset=offset)


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def find_eco(url: str, text: str) -> ecos.EcoSearch:
    return ecos.find_eco(read_engine(url), text)


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def eco_detail(url: str, eco: str) -> tuple[dict[str, Any] | None, pd.DataFrame, pd.DataFrame]:
    engine = read_engine(url)
    return (
        ecos.eco_summary(engine, eco),
        ecos.eco_plant_rows(engine, eco),
        ecos.eco_steps(engine, eco),
    )


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def left_effective(url: str, eco: str) -> pd.DataFrame:
    return ecos.left_effective(read_engine(url), eco)


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def timeline(url: str, correlationid: str) -> pd.DataFrame:
    return ecos.step_timeline(read_engine(url), correlationid)


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def raw_events(url: str, correlationid: str, limit: int, offset: int) -> Page:
    return ecos.raw_events(read_engine(url), correlationid, limit=limit, offset=offset)


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def eco_actions(url: str, eco: str) -> pd.DataFrame:
    return ecos.eco_operator_actions(read_engine(url), eco)


@st.cache_data(ttl=REPORT_TTL, show_spinner=False)
def cycle_rows(url: str, start: date, end: date, by_plant: bool) -> pd.DataFrame:
    return cycle_time.cycle_rows(read_engine(url), start, end, by_plant=by_plant)


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def rejected(
    url: str, criteria: rejected_ecos.RejectedFilter, limit: int, offset: int
) -> tuple[Page, pd.DataFrame]:
    return rejected_ecos.rejected_ecos(read_engine(url), criteria, limit=limit, offset=offset)


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def audit_rows(url: str, criteria: audit.AuditFilter, limit: int, offset: int) -> Page:
    return audit.audit_log(read_engine(url), criteria, limit=limit, offset=offset)


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def audit_csv(url: str, criteria: audit.AuditFilter) -> str:
    return str(audit.audit_export(read_engine(url), criteria).to_csv(index=False))


@st.cache_resource(show_spinner=False)
def session_signer(url: str) -> sessions.SessionSigner:
    """The signer of password sign-in cookies (the same key the server's routes use)."""
    current = settings()
    configured = current.console_session_secret
    return sessions.signer_for(
        command_engine(url),
        configured=configured.get_secret_value() if configured else None,
        hours=current.console_session_hours,
        now=datetime.now(UTC),
    )
