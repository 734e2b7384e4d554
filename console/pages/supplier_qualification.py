"""Supplier qualification: purchasing info records waiting for their supplier's
qualification (by supplier, plant, age and SLA), those procurement rejected, and those no
contract covers (exceptions for sourcing).

The filter lives in the page address (``?supplier=S010&plant=P100&past_sla=1``), so a
filtered view can be shared.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from console import labels, login, sourcing_state, state, widgets
from console.auth import Permission
from dashboards.qualifications import QualificationFilter
from dashboards.stats import humanize_seconds

KEY = "qualification"
DATETIME = "YYYY-MM-DD HH:mm"


def _from_controls() -> QualificationFilter:
    return QualificationFilter(
        suppliers=tuple(st.session_state.get("qualification_suppliers") or ()),
        plants=tuple(st.session_state.get("qualification_plants") or ()),
        past_sla_only=bool(st.session_state.get("qualification_past_sla")),
    )


def _blocked_table(rows: pd.DataFrame, key: str, reason: str) -> None:
    frame = rows.copy()
    frame["eco"] = [widgets.eco_url(eco) for eco in frame["eco"]]
    labels.table(
        frame,
        hide_index=True,
        key=key,
        column_order=["eco", "supplier", "plant", "component", "revision", "reason", "since"],
        column_config={
            "eco": widgets.eco_link_column(),
            "supplier": "Supplier",
            "plant": "Plant",
            "component": "Component",
            "revision": "Revision",
            "reason": reason,
            "since": st.column_config.DatetimeColumn("Since", format=DATETIME),
        },
    )


login.require(Permission.OPERATIONS)
st.title("Supplier qualification")
url = state.database_url()
criteria = QualificationFilter.from_query(widgets.address())
widgets.follow_address(
    KEY,
    {
        "qualification_suppliers": list(criteria.suppliers),
        "qualification_plants": list(criteria.plants),
        "qualification_past_sla": criteria.past_sla_only,
    },
)
criteria = _from_controls()
suppliers, plants = sourcing_state.options(url)
columns = st.columns([2, 2, 1])
follow = widgets.to_address
bound = (KEY, _from_controls)
columns[0].multiselect(
    "Supplier",
    sorted({*suppliers, *criteria.suppliers}),
    key="qualification_suppliers",
    on_change=follow,
    args=bound,
)
columns[1].multiselect(
    "Plant",
    sorted({*plants, *criteria.plants}),
    key="qualification_plants",
    on_change=follow,
    args=bound,
)
columns[2].toggle("Past SLA only", key="qualification_past_sla", on_change=follow, args=bound)
widgets.active_filter(KEY, criteria, QualificationFilter())

summary = sourcing_state.by_supplier(url, criteria)
if len(summary):
    labels.table(
        summary,
        hide_index=True,
        key="qualification_summary",
        column_config={
            "supplier": "Supplier",
            "waiting": "Waiting",
            "past_sla": "Past SLA",
            "oldest_since": st.column_config.DatetimeColumn("Waiting since", format=DATETIME),
            "rejected": "Rejected",
            "no_contract": "No contract",
        },
    )

st.subheader("Waiting on qualification")
page = sourcing_state.waiting(url, criteria, widgets.PAGE_SIZE, widgets.offset(KEY))
st.caption(f"{page.total} info records waiting on their supplier's qualification")
rows = page.rows.copy()
rows["eco"] = [widgets.eco_url(eco) for eco in rows["eco"]]
rows["waiting"] = [humanize_seconds(seconds) for seconds in rows["waiting_seconds"]]
labels.table(
    rows,
    hide_index=True,
    key="qualification_waiting",
    column_order=[
        "eco",
        "supplier",
        "plant",
        "component",
        "revision",
        "waiting_since",
        "waiting",
        "sla_state",
        "sla_due_at",
    ],
    column_config={
        "eco": widgets.eco_link_column(),
        "supplier": "Supplier",
        "plant": "Plant",
        "component": "Component",
        "revision": "Revision",
        "waiting_since": st.column_config.DatetimeColumn("Waiting since", format=DATETIME),
        "waiting": "Waiting",
        "sla_state": "SLA",
        "sla_due_at": st.column_config.DatetimeColumn("SLA due", format=DATETIME),
    },
)
widgets.pager(KEY, page)

st.subheader("Rejected")
rejected = sourcing_state.rejected(url, criteria)
st.caption(f"{len(rejected)} info records blocked: procurement rejected the supplier")
_blocked_table(rejected, "qualification_rejected", "Why")

st.subheader("Contracts missing")
missing = sourcing_state.contracts_missing(url, criteria)
st.caption(f"{len(missing)} info records blocked: no contract covers the component")
_blocked_table(missing, "qualification_contracts", "What sourcing must do")
