"""Overview: the few figures an operations manager scans first, refreshing themselves."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from console import login, state, widgets
from console.auth import Permission
from dashboards.stats import humanize_seconds

REFRESH = timedelta(seconds=15)

user = login.require(Permission.OPERATIONS)
st.title("Overview")


@st.fragment(run_every=REFRESH)
def figures() -> None:
    kpis = state.kpis(state.database_url())
    top = st.columns(3, border=True)
    with top[0]:
        st.metric("ECOs in flight", kpis.ecos_in_flight, help="Received and not yet done.")
        st.page_link("pages/exceptions.py", label="Exceptions", icon=":material/error:")
    with top[1]:
        st.metric(
            "Awaiting ERP confirmation",
            kpis.awaiting_confirmation,
            delta=f"{kpis.awaiting_past_sla} past SLA" if kpis.awaiting_past_sla else None,
            delta_color="inverse",
            delta_arrow="off",
        )
        st.page_link("pages/awaiting_confirmation.py", label="Waiting list", icon=":material/list:")
    with top[2]:
        st.metric("Blocked plants", kpis.blocked_plants, help="(ECO, plant) pairs paused.")
        st.page_link("pages/exceptions.py", label="Blocked steps", icon=":material/list:")
    bottom = st.columns(3, border=True)
    with bottom[0]:
        st.metric("Failed supplier notices", kpis.failed_supplier_notices)
        st.page_link("pages/supplier_notices.py", label="Failed notices", icon=":material/list:")
    with bottom[1]:
        st.metric(
            "Plants on a prior revision",
            kpis.plants_on_prior_revision,
            help=f"{kpis.items_on_prior_revision} (plant, item) pairs past effectivity.",
        )
        st.page_link("pages/prior_revisions.py", label="Heatmap", icon=":material/list:")
    with bottom[2]:
        recent, previous = kpis.cycle_recent, kpis.cycle_previous
        delta = None
        if recent.p50_seconds is not None and previous.p50_seconds is not None:
            change = recent.p50_seconds - previous.p50_seconds
            delta = f"{'+' if change >= 0 else '-'}{humanize_seconds(abs(change))} vs prior 30 d"
        st.metric(
            "Cycle time p50 · last 30 days",
            humanize_seconds(recent.p50_seconds),
            delta=delta,
            delta_color="inverse",
        )
        st.caption(
            f"p90 {humanize_seconds(recent.p90_seconds)} "
            f"(prior 30 days: p50 {humanize_seconds(previous.p50_seconds)}, "
            f"p90 {humanize_seconds(previous.p90_seconds)}); "
            f"{recent.count} ECOs production-ready"
        )
        if user.can(Permission.REPORTS):
            st.page_link("pages/cycle_time.py", label="Cycle time report", icon=":material/timer:")
    st.caption(f"Data read at {widgets.when(kpis.read_at)}; refreshes every {REFRESH.seconds} s.")


figures()
