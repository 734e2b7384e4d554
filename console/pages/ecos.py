"""ECOs by state: the list behind the Overview's "ECOs in flight".

The filter lives in the page address (``?state=in_progress&state=blocked``), so a
filtered list can be shared.
"""

from __future__ import annotations

import streamlit as st

from console import labels, login, state, widgets
from console.auth import Permission
from contracts.readmodel import EcoState
from dashboards.eco_list import EcoFilter

KEY = "ecos"


def _from_controls() -> EcoFilter:
    return EcoFilter(states=tuple(EcoState(s) for s in st.session_state.get("ecos_states") or ()))


login.require(Permission.OPERATIONS)
st.title("ECOs")
url = state.database_url()
criteria = EcoFilter.from_query(widgets.address())
widgets.follow_address(KEY, {"ecos_states": list(criteria.states)})
st.multiselect(
    "State",
    list(EcoState),
    format_func=lambda value: EcoState(value).value.replace("_", " "),
    key="ecos_states",
    placeholder="Every state",
    on_change=widgets.to_address,
    args=(KEY, _from_controls),
)
criteria = _from_controls()
widgets.active_filter(KEY, criteria, EcoFilter())
page = state.eco_rows(url, criteria, widgets.PAGE_SIZE, widgets.offset(KEY))
st.caption(f"{page.total} ECO{'' if page.total == 1 else 's'}")
rows = page.rows.copy()
rows["eco"] = [widgets.eco_url(eco) for eco in rows["eco"]]
labels.table(
    rows,
    hide_index=True,
    key="ecos_table",
    column_order=[
        "eco",
        "title",
        "state",
        "approved_at",
        "effectivity",
        "product_family",
        "plants_done",
        "plants_total",
        "blocked_count",
        "failed_count",
        "last_event_at",
    ],
    column_config={
        "eco": widgets.eco_link_column(),
        "title": "Title",
        "state": "State",
        "approved_at": st.column_config.DatetimeColumn("Approved", format="YYYY-MM-DD HH:mm"),
        "effectivity": st.column_config.DateColumn("Effective from"),
        "product_family": "Product family",
        "plants_done": st.column_config.NumberColumn("Plants done"),
        "plants_total": st.column_config.NumberColumn("Plants"),
        "blocked_count": st.column_config.NumberColumn("Blocked steps"),
        "failed_count": st.column_config.NumberColumn("Failed steps"),
        "last_event_at": st.column_config.DatetimeColumn("Last change", format="YYYY-MM-DD HH:mm"),
    },
)
widgets.pager(KEY, page)
