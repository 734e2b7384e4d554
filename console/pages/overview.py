"""Overview: the few figures an operations manager scans first, refreshing themselves.

Each figure links to the list it counts, filtered in the link's address to exactly the
rows counted (see :mod:`dashboards.overview`).
"""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from console import login, state, widgets
from console.auth import Permission
from console.sections import exposure_kpi, overdue
from dashboards.overview import Kpis
from dashboards.stats import humanize_seconds

REFRESH = timedelta(seconds=15)

user = login.require(Permission.OPERATIONS)
st.title("Overview")


@st.fragment(run_every=REFRESH)
def figures() -> None:
    kpis = state.kpis(state.database_url())
    top = st.columns(4, border=True)
    with top[0]:
        st.metric(
            "ECOs in flight",
            kpis.ecos_in_flight.value,
            help="Received and not yet production-ready, cancelled or rejected.",
        )
        widgets.figure_link(kpis.ecos_in_flight, "ECOs in flight")
    with top[1]:
        past_sla = kpis.awaiting_past_sla.value
        st.metric(
            "Awaiting ERP confirmation",
            kpis.awaiting_confirmation.value,
            delta=f"{past_sla} past SLA" if past_sla else None,
            delta_color="inverse",
            delta_arrow="off",
        )
        widgets.figure_link(kpis.awaiting_confirmation, "Waiting list")
        widgets.figure_link(kpis.awaiting_past_sla, f"{past_sla} past SLA", icon=":material/alarm:")
    with top[2]:
        st.metric(
            "Blocked plants",
            kpis.blocked_plants.value,
            help="(ECO, plant) pairs a business rejection paused.",
        )
        widgets.figure_link(kpis.blocked_plants, "Blocked plants")
    with top[3]:
        st.metric(
            "Drift",
            kpis.drift.value,
            help="(Plant, item) pairs where PLM, ERP, MES and Threadline disagree.",
        )
        widgets.figure_link(kpis.drift, "Drift list")
    bottom = st.columns(3, border=True)
    with bottom[0]:
        st.metric(
            "Failed supplier notices",
            kpis.failed_supplier_notices.value,
            help="Notices given up on: a person must act (retrying ones are not counted).",
        )
        widgets.figure_link(kpis.failed_supplier_notices, "Failed notices")
    with bottom[1]:
        plants = kpis.plants_on_prior_revision
        st.metric(
            "On a prior revision",
            kpis.prior_revision.value,
            help="(Plant, item) pairs where ERP or MES runs an older revision than the newest "
            "one approved and effective by today.",
        )
        st.caption(f"(plant, item) pairs, at {plants} plant{'' if plants == 1 else 's'}")
        widgets.figure_link(kpis.prior_revision, "Prior-revision list")
    with bottom[2]:
        _cycle_time(kpis)
    overdue.render(state.database_url())
    exposure_kpi.render(state.database_url())
    st.caption(f"Data read at {widgets.when(kpis.read_at)}; refreshes every {REFRESH.seconds} s.")


def _cycle_time(kpis: Kpis) -> None:
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
        st.page_link(
            "pages/cycle_time.py",
            label="Cycle time report",
            icon=":material/timer:",
            query_params={"start": recent.start.isoformat(), "end": recent.end.isoformat()},
        )


figures()
