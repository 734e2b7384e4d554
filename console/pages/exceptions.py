"""Exceptions: every blocked or failed step grouped by error fingerprint, and the
(ECO, plant) pairs those steps stop.

The view and its filter live in the page address: ``?fingerprint=...`` opens a failure
group, ``?plant_state=blocked`` the blocked plants (the Overview's figure, exactly).
"""

from __future__ import annotations

import streamlit as st

from console import actions, login, state, widgets
from console.auth import Permission
from contracts.readmodel import PlantState
from contracts.steps import StepState
from dashboards.exceptions import STUCK_PLANT_STATES, PlantFilter, StepFilter

KEY = "exceptions"
VIEWS = {"steps": "Failure groups", "plants": "Stopped plants"}


def _view_from_controls() -> PlantFilter | StepFilter:
    if st.session_state.get("exceptions_view") == "plants":
        return _plants_from_controls()
    return StepFilter()


def _plants_from_controls() -> PlantFilter:
    chosen = tuple(st.session_state.get("stuck_plant_states") or ())
    return PlantFilter(states=chosen or STUCK_PLANT_STATES, plant=plant_criteria.plant)


def _steps_from_controls() -> StepFilter:
    return StepFilter(fingerprint=st.session_state.get("exceptions_group"))


login.require(Permission.OPERATIONS)
st.title("Exceptions")
can_act = actions.allowed()
actions.show_flash()
url = state.database_url()
query = widgets.address()
plant_criteria = PlantFilter.from_query(query)
step_criteria = StepFilter.from_query(query)
view = "plants" if "plant_state" in query else "steps"
widgets.follow_address(
    KEY,
    {
        "exceptions_view": view,
        "stuck_plant_states": list(plant_criteria.states),
        "exceptions_group": step_criteria.fingerprint,
    },
)
st.segmented_control(
    "Show",
    list(VIEWS),
    format_func=VIEWS.__getitem__,
    key="exceptions_view",
    on_change=widgets.to_address,
    args=(KEY, _view_from_controls),
)

if view == "plants":
    st.multiselect(
        "Plant state",
        list(STUCK_PLANT_STATES),
        format_func=lambda value: PlantState(value).value.replace("_", " "),
        key="stuck_plant_states",
        on_change=widgets.to_address,
        args=(KEY, _plants_from_controls),
    )
    plant_criteria = _plants_from_controls()
    widgets.active_filter(KEY, plant_criteria, PlantFilter())
    page = state.stuck_plants(url, plant_criteria, widgets.PAGE_SIZE, widgets.offset(KEY))
    st.caption(f"{page.total} (ECO, plant) pairs stopped")
    rows = page.rows.copy()
    rows["eco"] = [widgets.eco_url(eco) for eco in rows["eco"]]
    st.dataframe(
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
    st.stop()

groups = state.failure_groups(url)
if groups.empty:
    st.success("No step is failed or blocked.")
    st.stop()
st.caption(f"{int(groups['steps'].sum())} open steps in {len(groups)} groups")
st.dataframe(
    groups,
    hide_index=True,
    key="groups_table",
    column_config={
        "fingerprint": "Fingerprint",
        "steps": "Steps",
        StepState.FAILED.value: "Failed",
        StepState.BLOCKED.value: "Blocked",
        "ecos": "ECOs",
        "kind": "Kind",
        "error_code": "Error",
        "sample_message": "Sample message",
        "last_seen": st.column_config.DatetimeColumn("Last seen", format="YYYY-MM-DD HH:mm"),
    },
)
fingerprints = groups["fingerprint"].tolist()
counts = dict(zip(groups["fingerprint"], groups["steps"], strict=True))
if st.session_state.get("exceptions_group") not in counts:
    # No group named, or one that has closed since: the largest group.
    st.session_state["exceptions_group"] = fingerprints[0]
fingerprint = st.selectbox(
    "Group",
    fingerprints,
    format_func=lambda value: f"{value} ({counts[value]} steps)",
    key="exceptions_group",
    on_change=widgets.to_address,
    args=(KEY, _steps_from_controls),
)
if fingerprint is None:
    st.stop()
st.button(
    f"Retry all {counts[fingerprint]} steps in this group",
    key="retry_group",
    on_click=actions.retry_fingerprint,
    args=(fingerprint,),
    disabled=not can_act,
    type="primary",
)
step_criteria = StepFilter(states=step_criteria.states, fingerprint=fingerprint)
page = state.open_steps(url, step_criteria, widgets.PAGE_SIZE, widgets.offset(KEY))
rows = page.rows.copy()
rows["eco"] = [widgets.eco_url(eco) for eco in rows["eco"]]
st.dataframe(
    rows,
    hide_index=True,
    key="steps_table",
    column_order=[
        "eco",
        "kind",
        "plant",
        "item",
        "supplier",
        "state",
        "attempt",
        "error_code",
        "error_message",
        "since",
        "step_id",
    ],
    column_config={
        "eco": widgets.eco_link_column(),
        "since": st.column_config.DatetimeColumn("Since", format="YYYY-MM-DD HH:mm"),
        "step_id": "Step",
    },
)
widgets.pager(KEY, page)

st.subheader("Act on one step")
step_ids = page.rows["step_id"].tolist()
step_id = st.selectbox("Step", step_ids, key="exceptions_step")
left, right = st.columns(2)
with left:
    st.button(
        "Retry this step",
        key="retry_step",
        on_click=actions.retry,
        args=([step_id] if step_id else [],),
        disabled=not can_act or step_id is None,
    )
    if step_id:
        st.page_link(
            "pages/eco.py",
            label=f"Open {widgets.escape(step_id.split('/', 1)[0])}",
            query_params={"eco": step_id.split("/", 1)[0]},
            icon=":material/open_in_new:",
        )
with right:
    st.text_input("Reason for skipping (required)", key="skip_reason", disabled=not can_act)
    st.button(
        "Skip this step",
        key="skip_step",
        on_click=actions.skip,
        args=(step_id, "skip_reason"),
        disabled=not can_act or step_id is None,
    )
