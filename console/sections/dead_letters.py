"""What went wrong with one step, for its inbox row and the ECO page: the last call kept
when it stopped (request and response, credentials removed) and every attempt."""

from __future__ import annotations

from typing import Any

import streamlit as st

from console import labels, state, widgets
from dashboards.dead_letters import StepTrouble, step_trouble


@st.cache_data(ttl=state.LIVE_TTL, show_spinner=False)
def _trouble(url: str, step_id: str) -> StepTrouble:
    return step_trouble(state.read_engine(url), step_id)


def render(step_id: str | None) -> None:
    """Show ``step_id``'s last kept call and its attempts (nothing for no step)."""
    if not step_id:
        return
    trouble = _trouble(state.database_url(), step_id)
    st.markdown(f"**What went wrong with {widgets.escape(step_id)}**")
    key = f"dead_letter_{step_id}"
    letter = trouble.last_call
    exchange = trouble.exchange
    if letter is None or exchange is None:
        st.caption("No call was kept for this step: it has not stopped for a person.")
    else:
        request, response = exchange["request"], exchange["response"]
        st.markdown(
            widgets.escape(
                f"Last call, attempt {letter.attempt}, {widgets.when(letter.created_at)}: "
                f"{letter.category} {letter.code} — {letter.message}"
            )
        )
        sent, answered = st.columns(2)
        with sent:
            st.caption("Request")
            line = f"{request['method']} {request['url']}".strip()
            st.code(line or "not sent: refused before the call", language=None)
            _json("Headers", request["headers"])
            _json("Body", request["body"])
        with answered:
            st.caption("Response")
            if response is None:
                st.code("no response (timed out, unreachable, or never sent)", language=None)
            else:
                st.code(f"HTTP {response['status']}", language=None)
                _json("Headers", response["headers"])
                _json("Body", response["body"])
    st.caption("Attempts")
    if trouble.attempts.empty:
        st.caption("No attempt recorded yet.")
        return
    labels.table(
        trouble.attempts,
        hide_index=True,
        key=f"{key}_attempts",
        column_config={
            "started": st.column_config.DatetimeColumn("Started", format="YYYY-MM-DD HH:mm:ss"),
            "ended": st.column_config.DatetimeColumn("Ended", format="YYYY-MM-DD HH:mm:ss"),
            "error_class": st.column_config.TextColumn("Error class"),
            "error_code": st.column_config.TextColumn("Error code"),
        },
    )


def _json(label: str, value: Any) -> None:
    # No expander: the section may itself sit in one (an inbox row), and they do not nest.
    st.caption(label)
    if isinstance(value, dict | list) and value:
        st.json(value, expanded=label == "Body")
    elif value is None or value == {} or value == []:
        st.caption("none")
    else:
        st.code(str(value), language=None)
