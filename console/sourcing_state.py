"""Cached query results of the purchasing pages (see :mod:`console.state`)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import streamlit as st

from console.state import LIVE_TTL, REPORT_TTL, read_engine
from dashboards import impact, qualifications, status, suppliers
from dashboards.paging import Page
from dashboards.qualifications import QualificationFilter


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def waiting(url: str, criteria: QualificationFilter, limit: int, offset: int) -> Page:
    return qualifications.waiting_on_qualification(
        read_engine(url), criteria, limit=limit, offset=offset
    )


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def rejected(url: str, criteria: QualificationFilter) -> pd.DataFrame:
    return qualifications.rejected(read_engine(url), criteria)


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def contracts_missing(url: str, criteria: QualificationFilter) -> pd.DataFrame:
    return qualifications.contracts_missing(read_engine(url), criteria)


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def by_supplier(url: str, criteria: QualificationFilter) -> pd.DataFrame:
    return qualifications.by_supplier(read_engine(url), criteria, now=datetime.now(UTC))


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def options(url: str) -> tuple[list[str], list[str]]:
    suppliers, plants = qualifications.qualification_options(read_engine(url))
    return list(suppliers), list(plants)


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def duplicates(url: str) -> pd.DataFrame:
    return suppliers.duplicate_suppliers(read_engine(url))


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def supplier_view(url: str, supplier: str) -> dict[str, pd.DataFrame]:
    return suppliers.supplier_view(read_engine(url), supplier)


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def pivot(url: str, rows: str, columns: str) -> pd.DataFrame:
    return status.pivot(read_engine(url), rows, columns)


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def status_rows(url: str, criteria: status.StatusFilter, limit: int, offset: int) -> Page:
    return status.status_rows(read_engine(url), criteria, limit=limit, offset=offset)


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def impact_rows(
    url: str,
    eco: str | None = None,
    plant: str | None = None,
    item: str | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    return impact.current_impact(read_engine(url), eco=eco, plant=plant, item=item, limit=limit)


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def exposure(
    url: str, eco: str | None = None, plant: str | None = None, item: str | None = None
) -> impact.Exposure:
    return impact.exposure(read_engine(url), eco=eco, plant=plant, item=item)


@st.cache_data(ttl=REPORT_TTL, show_spinner=False)
def exposure_over_time(url: str, days: tuple[date, ...]) -> pd.DataFrame:
    return impact.exposure_over_time(read_engine(url), list(days))
