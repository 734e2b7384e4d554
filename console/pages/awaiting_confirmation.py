"""Awaiting ERP confirmation: production versions ERP has not confirmed, oldest first."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from console import login, state, widgets
from console.auth import Permission
from dashboards.confirmations import ConfirmationFilter
from dashboards.stats import humanize_seconds

AGES = {
    "any age": None,
    "over 15 minutes": timedelta(minutes=15),
    "over 1 hour": timedelta(hours=1),
    "over 4 hours": timedelta(hours=4),
    "over 1 day": timedelta(days=1),
}
KEY = "awaiting"

login.require(Permission.OPERATIONS)
st.title("Awaiting ERP confirmation")
url = state.database_url()
plants, families = state.awaiting_options(url)
columns = st.columns([2, 2, 1, 1])
chosen_plants = columns[0].multiselect(
    "Plant", plants, key="awaiting_plants", on_change=widgets.reset, args=(KEY,)
)
chosen_families = columns[1].multiselect(
    "Product family", families, key="awaiting_families", on_change=widgets.reset, args=(KEY,)
)
age = columns[2].selectbox(
    "Waiting", list(AGES), key="awaiting_age", on_change=widgets.reset, args=(KEY,)
)
past_sla = columns[3].toggle(
    "Past SLA only", key="awaiting_past_sla", on_change=widgets.reset, args=(KEY,)
)
criteria = ConfirmationFilter(
    plants=tuple(chosen_plants),
    product_families=tuple(chosen_families),
    min_age=AGES[age or "any age"],
    past_sla_only=past_sla,
)
page = state.awaiting(url, criteria, widgets.PAGE_SIZE, widgets.offset(KEY))
st.caption(f"{page.total} awaiting confirmation")
rows = page.rows.copy()
rows["eco"] = [widgets.eco_url(eco) for eco in rows["eco"]]
rows["waiting"] = [humanize_seconds(seconds) for seconds in rows["waiting_seconds"]]
st.dataframe(
    rows,
    hide_index=True,
    key="awaiting_table",
    column_order=[
        "eco",
        "plant",
        "item",
        "revision",
        "product_family",
        "waiting_since",
        "waiting",
        "sla_state",
        "sla_due_at",
    ],
    column_config={
        "eco": widgets.eco_link_column(),
        "plant": "Plant",
        "item": "Item",
        "revision": "Revision",
        "product_family": "Product family",
        "waiting_since": st.column_config.DatetimeColumn(
            "Waiting since", format="YYYY-MM-DD HH:mm"
        ),
        "waiting": "Waiting",
        "sla_state": "SLA",
        "sla_due_at": st.column_config.DatetimeColumn("SLA due", format="YYYY-MM-DD HH:mm"),
    },
)
widgets.pager(KEY, page)
