"""Cached query results of the purchasing pages (see :mod:`console.state`)."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from console.state import LIVE_TTL, read_engine
from dashboards import qualifications, suppliers
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
