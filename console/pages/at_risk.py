"""At risk: in-flight ECOs predicted (p90) to be production-ready after their effectivity
date begins, by how much, and what the last plant waits on (:mod:`dashboards.prediction`).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from console import labels, login, state, widgets
from console.auth import Permission
from console.sections import data
from dashboards.stats import humanize_seconds

TIME = "YYYY-MM-DD HH:mm"

login.require(Permission.OPERATIONS)
st.title("At risk")
st.caption(
    "ECOs whose predicted production-ready time (p90) is after their effectivity date "
    "begins (00:00 UTC), from how long the same steps took at the same plants recently."
)
read_at, risky = data.at_risk(state.database_url())
st.caption(f"{len(risky)} at risk · predicted at {widgets.when(read_at)}")
if risky:
    rows = pd.DataFrame(risky)
    rows["late"] = [humanize_seconds(seconds) for seconds in rows["late_seconds"]]
    rows["eco"] = [widgets.eco_url(eco) for eco in rows["eco"]]
    labels.table(
        rows,
        hide_index=True,
        key="at_risk_table",
        column_order=["eco", "title", "effectivity", "p50", "p90", "late", "plant", "holding"],
        column_config={
            "eco": widgets.eco_link_column(),
            "title": "Title",
            "effectivity": st.column_config.DateColumn("Effective"),
            "p50": st.column_config.DatetimeColumn("p50", format=TIME),
            "p90": st.column_config.DatetimeColumn("p90", format=TIME),
            "late": "Late by (p90)",
            "plant": "Last plant",
            "holding": "Waiting on",
        },
    )
else:
    st.success("No ECO in flight is predicted to miss its effectivity date.")
