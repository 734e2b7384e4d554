"""Status: in-flight work pivoted by any two of plant, supplier, product family and
workflow stage; each cell links to the rows it counts, listed below it (the cell's
values are in the page address: ``?plant=P100&stage=purchasing``)."""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from console import labels, login, sourcing_state, state, widgets
from console.auth import Permission
from dashboards.status import DIMENSIONS, StatusFilter

KEY = "status"
NAMES = {"plant": "Plant", "supplier": "Supplier", "family": "Product family", "stage": "Stage"}


def _name(dimension: str) -> str:
    return NAMES[dimension]


login.require(Permission.OPERATIONS)
st.title("Status")
url = state.database_url()
criteria = StatusFilter.from_query(widgets.address())
dimensions: list[str] = list(DIMENSIONS)
pick, across = st.columns(2)
rows_by: str = pick.selectbox("Rows", dimensions, format_func=_name, key="status_rows") or "plant"
others = [d for d in dimensions if d != rows_by]
columns_by: str = (
    across.selectbox(
        "Columns",
        others,
        index=others.index("stage") if "stage" in others else 0,
        format_func=_name,
        key="status_columns",
    )
    or others[0]
)
table = sourcing_state.pivot(url, rows_by, columns_by)
if table.empty:
    st.info("Nothing in flight.")
else:
    links = table.copy().astype(object)
    for row in table.index:
        for column in table.columns:
            count = int(table.loc[row, column])
            cell = urlencode({rows_by: row, columns_by: column, "n": count})
            links.loc[row, column] = f"status?{cell}" if count else ""
    links.index.name = NAMES[rows_by]
    labels.table(
        links.reset_index(),
        hide_index=True,
        key="status_pivot",
        column_config={
            str(column): st.column_config.LinkColumn(str(column), display_text=r"n=(\d+)$")
            for column in table.columns
        },
    )
widgets.active_filter(KEY, criteria, StatusFilter())
if criteria.describe():
    page = sourcing_state.status_rows(url, criteria, widgets.PAGE_SIZE, widgets.offset(KEY))
    st.caption(f"{page.total} steps in flight")
    shown = page.rows.copy()
    shown["eco"] = [widgets.eco_url(eco) for eco in shown["eco"]]
    labels.table(
        shown.drop(columns=["step_id"]),
        hide_index=True,
        key="status_steps",
        column_config={
            "eco": widgets.eco_link_column(),
            "since": st.column_config.DatetimeColumn("Since", format="YYYY-MM-DD HH:mm"),
        },
    )
    widgets.pager(KEY, page)
