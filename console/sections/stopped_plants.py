"""The (ECO, plant) pairs a blocked or failed step stops: the Overview's "blocked plants"
figure, exactly, opened from the inbox address with ``?plant_state=...``."""

from __future__ import annotations

import streamlit as st

from console import labels, state, widgets
from contracts.readmodel import PlantState
from dashboards.exceptions import STUCK_PLANT_STATES, PlantFilter

KEY = "stopped_plants"


def _from_controls() -> PlantFilter:
    chosen = tuple(st.session_state.get("stuck_plant_states") or ())
    plant = PlantFilter.from_query(widgets.address()).plant
    return PlantFilter(states=chosen or STUCK_PLANT_STATES, plant=plant)


def render(criteria: PlantFilter) -> None:
    """The stopped plants under ``criteria`` (states bound to the page address)."""
    widgets.follow_address(KEY, {"stuck_plant_states": list(criteria.states)})
    st.multiselect(
        "Plant state",
        list(STUCK_PLANT_STATES),
        format_func=lambda value: PlantState(value).value.replace("_", " "),
        key="stuck_plant_states",
        on_change=widgets.to_address,
        args=(KEY, _from_controls),
    )
    criteria = _from_controls()
    widgets.active_filter(KEY, criteria, PlantFilter())
    url = state.database_url()
    page = state.stuck_plants(url, criteria, widgets.PAGE_SIZE, widgets.offset(KEY))
    st.caption(f"{page.total} (ECO, plant) pairs stopped")
    rows = page.rows.copy()
    rows["eco"] = [widgets.eco_url(eco) for eco in rows["eco"]]
    labels.table(
        rows,
        hide_index=True,
        key="plants_table",
        column_order=["eco", "plant", "state", "reason", "steps_done", "steps_total", "since"],
        column_config={
            "eco": widgets.eco_link_column(),
            "plant": "Plant",
            "state": "State",
            "reason": "Why",
            "steps_done": st.column_config.NumberColumn("Steps done"),
            "steps_total": st.column_config.NumberColumn("Steps"),
            "since": st.column_config.DatetimeColumn("Since", format="YYYY-MM-DD HH:mm"),
        },
    )
    widgets.pager(KEY, page)
