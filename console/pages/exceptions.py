"""Exceptions: every blocked or failed step, grouped by error fingerprint."""

from __future__ import annotations

import streamlit as st

from console import actions, login, state, widgets
from console.auth import Permission
from contracts.steps import StepState

KEY = "exceptions"

login.require(Permission.OPERATIONS)
st.title("Exceptions")
can_act = actions.allowed()
actions.show_flash()
url = state.database_url()
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
fingerprint = st.selectbox(
    "Group",
    fingerprints,
    format_func=lambda value: f"{value} ({counts[value]} steps)",
    key="exceptions_group",
    on_change=widgets.reset,
    args=(KEY,),
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
page = state.open_steps(url, fingerprint, None, widgets.PAGE_SIZE, widgets.offset(KEY))
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
