"""Overdue work: every step and ECO past its stage's SLA, the latest first.

The stage filter lives in the page address (``?stage=retrying``); the Overview's counts by
stage link here with it, and show exactly these rows.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from console import labels, login, state, widgets
from console.auth import Permission
from console.sections import data
from console.sections.overdue import STAGE_LABELS
from contracts.sla import Stage
from dashboards.sla import OverdueFilter
from dashboards.stats import humanize_seconds

KEY = "overdue"
EVERY = "every stage"


def _from_controls() -> OverdueFilter:
    chosen = st.session_state.get("overdue_stage") or EVERY
    stages = {STAGE_LABELS[stage]: stage for stage in Stage}
    return OverdueFilter(stage=stages.get(chosen))


login.require(Permission.OPERATIONS)
st.title("Overdue work")
url = state.database_url()
criteria = OverdueFilter.from_query(widgets.address())
widgets.follow_address(
    KEY, {"overdue_stage": STAGE_LABELS[criteria.stage] if criteria.stage else EVERY}
)
st.selectbox(
    "Stage",
    [EVERY, *STAGE_LABELS.values()],
    key="overdue_stage",
    on_change=widgets.to_address,
    args=(KEY, _from_controls),
)
criteria = _from_controls()
widgets.active_filter(KEY, criteria, OverdueFilter())
read_at, overdue = data.overdue(url, criteria)
st.caption(f"{len(overdue)} overdue · read at {widgets.when(read_at)}")
if overdue:
    rows = pd.DataFrame(overdue)
    rows["stage"] = [STAGE_LABELS[stage] for stage in rows["stage"]]
    rows["late"] = [humanize_seconds(seconds) for seconds in rows["late_seconds"]]
    rows["eco"] = [widgets.eco_url(eco) for eco in rows["eco"]]
    labels.table(
        rows,
        hide_index=True,
        key="overdue_table",
        column_order=["stage", "eco", "plant", "supplier", "step_id", "due_at", "late"],
        column_config={
            "stage": "Stage",
            "eco": widgets.eco_link_column(),
            "plant": "Plant",
            "supplier": "Supplier",
            "step_id": "Step (none: the ECO)",
            "due_at": st.column_config.DatetimeColumn("Due", format="YYYY-MM-DD HH:mm"),
            "late": "Late by",
        },
    )
else:
    st.success("Nothing is overdue.")
