"""Plants on a prior revision: a heatmap of how late, and the list to act on."""

from __future__ import annotations

import streamlit as st

from console import login, state, widgets
from console.auth import Permission
from dashboards.figures import lag_heatmap

KEY = "late"
ANY = "all"

login.require(Permission.OPERATIONS)
st.title("Plants on a prior revision")
url = state.database_url()
matrix = state.lag_matrix(url)
behind = matrix.items_behind
st.caption(
    f"{behind} item{' is' if behind == 1 else 's are'} built on a superseded revision past "
    f"the new one's effectivity; the heatmap shows the {len(matrix.days.index)} late the "
    "longest (days past effectivity). Click a cell to see its plant and item."
)
event = st.plotly_chart(
    lag_heatmap(matrix), key="lag_heatmap", on_select="rerun", selection_mode="points"
)
points = event.selection.points if event is not None and event.selection else []
picked = None
if points:
    cell = points[0].get("customdata") or [points[0].get("x"), points[0].get("y")]
    picked = (str(cell[0]), str(cell[1]))
# Apply a click once, so the select boxes stay free to change afterwards.
if picked is not None and picked != st.session_state.get("late_picked"):
    st.session_state["late_picked"] = picked
    st.session_state["late_plant"], st.session_state["late_item"] = picked
    widgets.reset(KEY)
plants = [ANY, *sorted({str(p) for p in matrix.cells.get("plant", [])})]
items = [ANY, *sorted({str(i) for i in matrix.cells.get("item", [])})]
for key, options in (("late_plant", plants), ("late_item", items)):
    chosen = st.session_state.get(key)
    if chosen is not None and chosen not in options:
        options.append(chosen)
left, right = st.columns(2)
plant = left.selectbox("Plant", plants, key="late_plant", on_change=widgets.reset, args=(KEY,))
item = right.selectbox("Item", items, key="late_item", on_change=widgets.reset, args=(KEY,))
page = state.late_plants(
    url,
    None if plant in (None, ANY) else plant,
    None if item in (None, ANY) else item,
    widgets.PAGE_SIZE,
    widgets.offset(KEY),
)
st.subheader("Running a superseded revision past its effectivity")
rows = page.rows.copy()
rows["target_eco"] = [widgets.eco_url(eco) for eco in rows["target_eco"]]
st.dataframe(
    rows,
    hide_index=True,
    key="late_table",
    column_order=[
        "plant",
        "item",
        "current_revision",
        "target_revision",
        "target_eco",
        "target_effective",
        "days_late",
        "plant_state",
        "blocking_reason",
    ],
    column_config={
        "plant": "Plant",
        "item": "Item",
        "current_revision": "Builds",
        "target_revision": "Should build",
        "target_eco": widgets.eco_link_column(),
        "target_effective": st.column_config.DateColumn("Effective from"),
        "days_late": st.column_config.NumberColumn("Days late"),
        "plant_state": "Plant state",
        "blocking_reason": "Blocking reason",
    },
)
widgets.pager(KEY, page)
