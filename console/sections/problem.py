"""One inbox problem: its owner and runbook, status, notes, and what to do about it
(acknowledge, assign, note; retry or skip its step, each with a reason; what its ECO puts
at risk; its last call; edit its payload and retry)."""

from __future__ import annotations

import streamlit as st

from console import actions, state, widgets
from console.sections import dead_letters, edit_payload, impact_table
from dashboards.inbox import InboxRow


def render(row: InboxRow, can_act: bool) -> None:
    """Everything about ``row`` and the actions on it."""
    problem, owner = row.problem, row.owner
    key = problem.key
    st.markdown(
        widgets.escape(
            f"{problem.source} · owner {owner.team} · severity {owner.severity.value} · "
            f"status {row.status.value}"
            + (f" by {row.state.acknowledged_by}" if row.state.acknowledged_by else "")
            + (f" · assigned to {row.state.assignee}" if row.state.assignee else "")
        )
    )
    if owner.runbook:
        st.link_button("Open the runbook", owner.runbook, icon=":material/menu_book:")
    if not owner.retry_fixes:
        hint = owner.fix_hint or "the same call fails until the data is fixed"
        st.warning(widgets.escape(f"A retry cannot fix this: {hint}"), icon=":material/build:")
    for note in row.state.notes:
        st.caption(widgets.escape(f"{widgets.when(note.at)} {note.by}: {note.text}"))
    left, middle, right = st.columns(3)
    with left:
        st.text_input("Reason (required)", key="problem_reason", disabled=not can_act)
        reason = str(st.session_state.get("problem_reason") or "").strip()
        st.button(
            "Acknowledge",
            key="problem_ack",
            on_click=actions.acknowledge,
            args=(key, "problem_reason"),
            disabled=not can_act or not reason,
        )
        if problem.step_id:
            sure = owner.retry_fixes or st.checkbox(
                "Retry anyway", key="problem_retry_anyway", disabled=not can_act
            )
            st.button(
                "Retry this step",
                key="problem_retry",
                on_click=actions.retry,
                args=([problem.step_id], "problem_reason"),
                disabled=not can_act or not reason or not sure,
            )
            st.button(
                "Skip this step",
                key="problem_skip",
                on_click=actions.skip,
                args=(problem.step_id, "problem_reason"),
                disabled=not can_act or not reason,
            )
    with middle:
        st.text_input("Assign to", key="problem_assignee", disabled=not can_act)
        st.button(
            "Assign",
            key="problem_assign",
            on_click=actions.assign,
            args=(key, "problem_assignee", "problem_reason"),
            disabled=not can_act or not reason,
        )
    with right:
        st.text_area("Note", key="problem_note", height=80, disabled=not can_act)
        st.button(
            "Add the note",
            key="problem_add_note",
            on_click=actions.note,
            args=(key, "problem_note"),
            disabled=not can_act,
        )
    if problem.eco:
        st.page_link(
            "pages/eco.py",
            label=f"Open {widgets.escape(problem.eco)}",
            query_params={"eco": problem.eco},
            icon=":material/open_in_new:",
        )
        # What the problem's ECO being stuck puts at risk (open orders on the old revision).
        impact_table.render_eco(state.database_url(), problem.eco)
    dead_letters.render(problem.step_id)
    edit_payload.render(problem.step_id, can_act)
