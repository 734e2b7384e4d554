"""The ECO page's trace: the trace id its CloudEvents carry, linked to the tracing UI
through ``THREADLINE_TRACE_URL_TEMPLATE`` (e.g. ``http://jaeger:16686/trace/{trace_id}``)."""

from __future__ import annotations

import streamlit as st

from console import state
from dashboards import traces


@st.cache_data(ttl=state.LIVE_TTL, show_spinner=False)
def _trace_id(url: str, correlationid: str) -> str | None:
    return traces.eco_trace_id(state.read_engine(url), correlationid)


def render(url: str, correlationid: str) -> None:
    """Show the correlation's trace id, with a link when a URL template is configured."""
    trace_id = _trace_id(url, correlationid)
    if trace_id is None:
        st.caption("No trace recorded for these events.")
        return
    # A trace id is 32 hex digits (checked by the query), safe in Markdown.
    link = traces.trace_url(state.settings().trace_url_template, trace_id)
    if link is None:
        st.markdown(f"**Trace** `{trace_id}`", help="Set THREADLINE_TRACE_URL_TEMPLATE to link it")
    else:
        st.markdown(f"**Trace** [`{trace_id}`]({link})")
