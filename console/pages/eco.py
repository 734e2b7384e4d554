"""One ECO by number or correlation id (``?eco=`` makes a shareable link): where it stands,
what a cancelled ECO left effective, its steps over time, who acted on it, and the raw
CloudEvents."""

from __future__ import annotations

import streamlit as st

from console import actions, labels, login, state, widgets
from console.auth import Permission
from console.sections import dead_letters, eco_landing, forecast, impact_table, trace
from dashboards.exceptions import OPEN_STATES
from dashboards.figures import step_timeline_figure
from dashboards.stats import humanize_seconds

KEY = "eco_events"

login.require(Permission.INVESTIGATE)
st.title("ECO")
can_act = actions.allowed()
url = state.database_url()


def _search() -> None:
    text = str(st.session_state.get("eco_search") or "").strip()
    if text:
        st.query_params["eco"] = text
    else:
        st.query_params.pop("eco", None)
    widgets.reset(KEY)


wanted = st.query_params.get("eco", "")
if "eco_search" not in st.session_state or st.session_state.get("eco_shown") != wanted:
    st.session_state["eco_search"] = wanted
    st.session_state["eco_shown"] = wanted
st.text_input(
    "ECO number or correlation id",
    key="eco_search",
    on_change=_search,
    placeholder="ECO-2026-00042",
)
actions.show_flash()
if not wanted:
    st.info("Type an ECO number (or its first characters) or a correlation id.")
    eco_landing.render(url)
    st.stop()
found = state.find_eco(url, wanted)
if found.eco is None and found.correlationid is None:
    if found.matches:
        st.write("Matching ECOs:")
        for match in found.matches:
            st.page_link("pages/eco.py", label=widgets.escape(match), query_params={"eco": match})
    else:
        st.warning(f"No ECO or correlation id {widgets.escape(wanted)}.")
    st.stop()
correlationid = found.correlationid or wanted
eco = found.eco
if eco is not None:
    summary, plants, steps = state.eco_detail(url, eco)
    if summary is not None:
        st.subheader(widgets.escape(f"{eco} · {summary.get('title') or ''}"))
        # Two rows, so a long state and the dates show whole at 1,400 px.
        first = st.columns([2, 1, 1], border=True)
        first[0].metric("State", str(labels.status_words(summary["state"])))
        first[1].metric("Plants done", f"{summary['plants_done']} of {summary['plants_total']}")
        first[2].metric("Cycle time", humanize_seconds(summary.get("cycle_time_seconds")))
        second = st.columns(2, border=True)
        second[0].metric("Approved (UTC)", widgets.short(summary.get("approved_at")))
        second[1].metric("ERP confirmed (UTC)", widgets.short(summary.get("erp_confirmed_at")))
        if summary.get("state_reason"):
            st.caption(widgets.escape(f"Reason: {summary['state_reason']}"))
    labels.table(plants, hide_index=True, key="eco_plants")
    forecast.render_eco(url, eco)
    impact_table.render_eco(url, eco)
    effective = state.left_effective(url, eco)
    if not effective.empty:
        st.subheader("Effective — needs a new ECO to revert")
        st.caption(
            "The ECO stopped after these changes took effect, so they were not withdrawn; "
            "everything else it applied was withdrawn and notified suppliers were told."
        )
        labels.table(
            effective,
            hide_index=True,
            key="eco_left_effective",
            column_config={
                "since": st.column_config.DatetimeColumn("Since", format="YYYY-MM-DD HH:mm:ss"),
            },
        )
else:
    st.caption(widgets.escape(f"Events with correlation id {correlationid}"))

trace.render(url, correlationid)
st.subheader("Timeline")
intervals = state.timeline(url, correlationid)
if intervals.empty:
    st.caption("No step events yet.")
else:
    st.plotly_chart(step_timeline_figure(intervals), key="eco_timeline")

if eco is not None:
    st.subheader("Steps")
    labels.table(
        steps,
        hide_index=True,
        key="eco_steps",
        column_config={
            "waits_behind": st.column_config.TextColumn(
                "Waits behind", help="The earlier ECO whose step on the same target must end first"
            ),
            "reason": st.column_config.TextColumn("Reason"),
        },
    )
    open_ids = steps.loc[steps["state"].isin(OPEN_STATES), "step_id"].tolist()
    st.subheader("Operator actions")
    with st.container(border=True):
        columns = st.columns(3)
        with columns[0]:
            retry_reason = st.text_input("Reason for retrying (required)", key="eco_retry_reason")
            st.button(
                f"Retry its failed and blocked steps ({len(open_ids)})",
                key="eco_retry_all",
                on_click=actions.retry_eco,
                args=(eco, "eco_retry_reason"),
                disabled=not can_act or not open_ids or not retry_reason.strip(),
            )
            chosen = st.selectbox("Step", open_ids, key="eco_step")
            st.button(
                "Retry this step",
                key="eco_retry_step",
                on_click=actions.retry,
                args=([chosen] if chosen else [], "eco_retry_reason"),
                disabled=not can_act or chosen is None or not retry_reason.strip(),
            )
        with columns[1]:
            st.text_input("Reason for skipping (required)", key="eco_skip_reason")
            st.button(
                "Skip this step",
                key="eco_skip",
                on_click=actions.skip,
                args=(chosen, "eco_skip_reason"),
                disabled=not can_act or chosen is None,
            )
        with columns[2]:
            st.text_input("Reason for cancelling (required)", key="eco_cancel_reason")
            st.button(
                "Cancel this ECO",
                key="eco_cancel",
                on_click=actions.cancel,
                args=(eco, "eco_cancel_reason"),
                disabled=not can_act,
            )
    dead_letters.render(chosen)
    history = state.eco_actions(url, eco)
    if history.empty:
        st.caption("Nobody has acted on this ECO.")
    else:
        labels.table(
            history,
            hide_index=True,
            key="eco_actions",
            column_config={
                "at": st.column_config.DatetimeColumn("At", format="YYYY-MM-DD HH:mm:ss"),
                "step_ids": st.column_config.ListColumn("Steps"),
            },
        )

st.subheader("CloudEvents")
page = state.raw_events(url, correlationid, widgets.PAGE_SIZE, widgets.offset(KEY))
labels.table(page.rows.drop(columns=["event"]), hide_index=True, key="eco_events_table")
for event in page.rows.itertuples(index=False):
    with st.expander(widgets.escape(f"#{event.seq} {event.type}")):
        st.json(event.event, expanded=True)
widgets.pager(KEY, page)
