"""The operations a session started, at the top of the page it was on, followed live
until every step settled (``done: 10 succeeded, 2 failed again (CODE)``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import streamlit as st

from console import state, widgets
from sync_engine import store
from sync_engine.store.operations import FAILED_AGAIN

SHOWN = 3
"""How many of the session's newest operations the top of a page shows."""
REFRESH = timedelta(seconds=2)


@st.cache_data(ttl=1.0, show_spinner=False)
def operation(url: str, operation_id: str) -> store.Operation | None:
    """One operation with its steps, read at most once a second."""
    with state.read_engine(url).connect() as connection:
        return store.get_operation(connection, operation_id)


def line(found: store.Operation) -> str:
    """How an operation reads in one line."""
    return f"Operation {found.id} ({found.action.value}, {found.actor}): {found.summary}"


def show(found: store.Operation) -> None:
    """One operation as a status box: green when every step succeeded, amber when some
    failed again, blue while it runs."""
    text = widgets.escape(line(found))
    failed = any(s.outcome in FAILED_AGAIN for s in found.steps)
    if found.status is not store.OperationStatus.DONE:
        st.info(text, icon=":material/progress_activity:")
    elif failed:
        st.warning(text, icon=":material/warning:")
    else:
        st.success(text, icon=":material/check_circle:")


@st.fragment(run_every=REFRESH)
def _followed(ids: Sequence[str]) -> None:
    url = state.database_url()
    for operation_id in ids[:SHOWN]:
        found = operation(url, operation_id)
        if found is not None:
            show(found)


def render(ids: Sequence[str]) -> None:
    """Show the newest of ``ids`` (this session's operations), refreshed every few
    seconds."""
    _followed(tuple(ids))
