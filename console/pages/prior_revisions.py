"""Plants on a prior revision: a heatmap of how late, and the list to act on.

A row is a (plant, item) pair the plant uses where ERP or MES runs an older revision than
the newest one approved and effective by today, with the ECO responsible and why it is
not there yet.
"""

from __future__ import annotations

import streamlit as st

from console import labels, login, state, widgets
from console.auth import Permission
from console.sections import impact_table
from dashboards.figures import lag_heatmap

KEY = "late"
ANY = "all"

login.require(Permission.OPERATIONS)
st.title("Plants on a prior revision")
url = state.database_url()
matrix = state.lag_matrix(url)
behind = matrix.items_behind
st.caption(
    f"{behind} item{' is' if behind == 1 else 's are'} run on an older revision (in ERP or "
    "MES) than the newest one approved and effective by today; the heatmap shows the "
    f"{len(matrix.days.index)} late the longest (days past effectivity). Click a cell to "
    "see its plant and item."
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
st.subheader("Running an older revision than the newest effective one")
rows = page.rows.copy()
rows["target_eco"] = [widgets.eco_url(eco) for eco in rows["target_eco"]]
labels.table(
    rows,
    hide_index=True,
    key="late_table",
    column_order=[
        "plant",
        "item",
        "erp_revision",
        "mes_revision",
        "target_revision",
        "behind_in",
        "target_eco",
        "eco_state",
        "reason",
        "target_effective",
        "days_late",
        "erp_confirmed_at",
        "mes_confirmed_at",
    ],
    column_config={
        "plant": "Plant",
        "item": "Item",
        "erp_revision": "ERP runs",
        "mes_revision": "MES runs",
        "target_revision": "Newest effective",
        "behind_in": "Behind in",
        "target_eco": widgets.eco_link_column(),
        "eco_state": "ECO state",
        "reason": "Why not there",
        "target_effective": st.column_config.DateColumn("Effective from"),
        "days_late": st.column_config.NumberColumn("Days late"),
        "erp_confirmed_at": st.column_config.DatetimeColumn("ERP confirmed"),
        "mes_confirmed_at": st.column_config.DatetimeColumn("MES confirmed"),
    },
)
widgets.pager(KEY, page)
impact_table.render_pairs(url, "prior_revisions_impact")
