"""What the inbox pages read, cached like :mod:`console.state`: the ownership rules (once
per process; a bad file stops the page with the file, line and problem named), the
inbox's rows, bulk-retry previews, steps and operations."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import streamlit as st

from console import state
from dashboards import inbox
from sync_engine import commands, store
from sync_engine.ownership import OwnershipError, OwnershipRules, load
from sync_engine.preview import Preview


@st.cache_resource(show_spinner=False)
def _rules(path: str | None) -> OwnershipRules | str:
    try:
        return load(None if path is None else Path(path))
    except OwnershipError as exc:
        return str(exc)


def rules() -> OwnershipRules:
    """The ownership rules the settings name; stops the page when they cannot be used."""
    path = state.settings().ownership_file
    loaded = _rules(None if path is None else str(path))
    if isinstance(loaded, str):
        st.error(f"The ownership rules cannot be used: {loaded}", icon=":material/error:")
        st.stop()
    return loaded


@st.cache_data(ttl=state.LIVE_TTL, show_spinner=False)
def _rows(url: str, path: str | None, criteria: inbox.InboxFilter) -> list[inbox.InboxRow]:
    loaded = _rules(path)
    assert isinstance(loaded, OwnershipRules)
    return inbox.inbox(state.read_engine(url), loaded, criteria, now=datetime.now(UTC))


def rows(criteria: inbox.InboxFilter) -> list[inbox.InboxRow]:
    """The inbox under ``criteria`` (call :func:`rules` first)."""
    path = state.settings().ownership_file
    return _rows(state.database_url(), None if path is None else str(path), criteria)


@st.cache_data(ttl=1.0, show_spinner=False)
def preview(url: str, fingerprint: str) -> Preview:
    return commands.preview_retry(state.read_engine(url), fingerprint=fingerprint)


@st.cache_data(ttl=1.0, show_spinner=False)
def step(url: str, step_id: str) -> store.StepRecord | None:
    with state.read_engine(url).connect() as connection:
        return store.get_step(connection, step_id)


@st.cache_data(ttl=2.0, show_spinner=False)
def operations(url: str, limit: int) -> list[store.Operation]:
    with state.read_engine(url).connect() as connection:
        return store.recent_operations(connection, limit=limit)
