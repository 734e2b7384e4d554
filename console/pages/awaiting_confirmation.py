"""Awaiting ERP confirmation: production versions ERP has not confirmed, oldest first.

The filter lives in the page address (``?plant=P100&past_sla=1``), so a filtered list can
be shared and the Overview's figures open exactly the rows they count.
"""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from console import labels, login, state, widgets
from console.auth import Permission
from console.sections import forecast
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


def _age_label(age: timedelta | None) -> str:
    for label, value in AGES.items():
        if value == age:
            return label
    assert age is not None
    label = f"over {humanize_seconds(age.total_seconds())}"  # an age from a shared address
    AGES[label] = age
    return label


def _from_controls() -> ConfirmationFilter:
    return ConfirmationFilter(
        plants=tuple(st.session_state.get("awaiting_plants") or ()),
        product_families=tuple(st.session_state.get("awaiting_families") or ()),
        min_age=AGES[st.session_state.get("awaiting_age") or "any age"],
        past_sla_only=bool(st.session_state.get("awaiting_past_sla")),
    )


login.require(Permission.OPERATIONS)
st.title("Awaiting ERP confirmation")
url = state.database_url()
criteria = ConfirmationFilter.from_query(widgets.address())
widgets.follow_address(
    KEY,
    {
        "awaiting_plants": list(criteria.plants),
        "awaiting_families": list(criteria.product_families),
        "awaiting_age": _age_label(criteria.min_age),
        "awaiting_past_sla": criteria.past_sla_only,
    },
)
criteria = _from_controls()
plants, families = state.awaiting_options(url)
# A shared address may name a plant with nothing awaiting now: keep it choosable.
plant_options = sorted({*plants, *criteria.plants})
family_options = sorted({*families, *criteria.product_families})
columns = st.columns([2, 2, 1, 1])
follow = widgets.to_address
bound = (KEY, _from_controls)
columns[0].multiselect("Plant", plant_options, key="awaiting_plants", on_change=follow, args=bound)
columns[1].multiselect(
    "Product family", family_options, key="awaiting_families", on_change=follow, args=bound
)
columns[2].selectbox("Waiting", list(AGES), key="awaiting_age", on_change=follow, args=bound)
columns[3].toggle("Past SLA only", key="awaiting_past_sla", on_change=follow, args=bound)
widgets.active_filter(KEY, criteria, ConfirmationFilter())
page = state.awaiting(url, criteria, widgets.PAGE_SIZE, widgets.offset(KEY))
st.caption(f"{page.total} awaiting confirmation")
rows = page.rows.copy()
rows["eco"] = [widgets.eco_url(eco) for eco in rows["eco"]]
rows["waiting"] = [humanize_seconds(seconds) for seconds in rows["waiting_seconds"]]
labels.table(
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
forecast.render_for(url, page.rows["eco"])
