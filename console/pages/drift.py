"""Drift: every (plant, item) where PLM, ERP, MES and Threadline disagree, with the ECO
responsible (or "changed outside Threadline") and since when; operators reconcile now and
re-sync the drift Threadline's own steps explain."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from console import actions, labels, login, state, widgets
from console.auth import Permission
from console.sections import impact_table, supplier_duplicates
from contracts.readmodel import DriftCause
from dashboards import drift
from dashboards.paging import Page

KEY = "drift"
REASON_KEY = "drift_reason"


@st.cache_data(ttl=state.LIVE_TTL, show_spinner=False)
def _page(url: str, where: drift.DriftFilter, limit: int, offset: int) -> Page:
    return drift.drift_page(state.read_engine(url), where, limit=limit, offset=offset)


@st.cache_data(ttl=state.LIVE_TTL, show_spinner=False)
def _plants(url: str) -> list[str]:
    return drift.drift_plants(state.read_engine(url))


@st.cache_data(ttl=state.LIVE_TTL, show_spinner=False)
def _owned(url: str, plants: tuple[str, ...]) -> list[drift.DriftRow]:
    owned = tuple(c for c in DriftCause if c.threadline_owned)
    return drift.drift_rows(state.read_engine(url), drift.DriftFilter(plants, owned))


login.require(Permission.OPERATIONS)
st.title("Drift")
st.caption(
    "Pairs where what PLM approved, what ERP and MES run and what Threadline expects disagree."
)
can_act = actions.allowed()
actions.show_flash()
url = state.database_url()
asked = drift.DriftFilter.from_query({k: st.query_params.get_all(k) for k in st.query_params})
left, right = st.columns(2)
plants = left.multiselect(
    "Plant",
    _plants(url),
    default=[p for p in asked.plants if p in _plants(url)],
    key="drift_plants",
)
causes = right.multiselect(
    "Cause",
    list(DriftCause),
    default=list(asked.causes),
    format_func=lambda cause: drift.CAUSE_LABELS[DriftCause(cause)],
    key="drift_causes",
)
where = drift.DriftFilter(tuple(plants), tuple(DriftCause(c) for c in causes), asked.eco)
st.button(
    "Reconcile now",
    key="drift_reconcile",
    on_click=actions.reconcile_now,
    disabled=not can_act,
    help="Compare every plant with PLM, ERP and MES now.",
)
page = _page(url, where, widgets.PAGE_SIZE, widgets.offset(KEY))
described = "; ".join(where.describe())
st.caption(f"{page.total} drifting pairs" + (f" ({described})" if described else ""))
if page.total == 0:
    st.success("PLM, ERP, MES and Threadline agree on every pair reconciled.")
else:
    rows: pd.DataFrame = page.rows.copy()
    rows["eco"] = [widgets.eco_url(eco) if isinstance(eco, str) else None for eco in rows["eco"]]
    rows["cause"] = [drift.CAUSE_LABELS[DriftCause(c)] for c in rows["cause"]]
    labels.table(
        rows,
        hide_index=True,
        key="drift_table",
        column_order=[
            "plant",
            "item",
            "plm_revision",
            "erp_revision",
            "mes_revision",
            "expected_revision",
            "eco",
            "eco_state",
            "cause",
            "detail",
            "since",
        ],
        column_config={
            "plant": "Plant",
            "item": "Item",
            "plm_revision": "PLM",
            "erp_revision": "ERP",
            "mes_revision": "MES",
            "expected_revision": "Threadline expects",
            "eco": widgets.eco_link_column("Responsible ECO"),
            "eco_state": "ECO state",
            "cause": "Cause",
            "detail": "Why",
            "since": st.column_config.DatetimeColumn("Since", format="YYYY-MM-DD HH:mm"),
        },
    )
    widgets.pager(KEY, page)
supplier_duplicates.render(url)
impact_table.render_pairs(url, "drift_impact")
owned = _owned(url, tuple(plants))
if owned and can_act:
    with st.expander("Re-sync drift Threadline's steps explain"):
        choice = st.selectbox(
            "Drift",
            [f"{row['plant']}/{row['item']}" for row in owned],
            key="drift_resync_choice",
        )
        st.text_input("Reason (required)", key=REASON_KEY)
        st.button(
            "Re-sync",
            key="drift_resync",
            on_click=actions.resync_drift,
            args=(choice, REASON_KEY),
            type="primary",
            help="Queue again the responsible ECO's failed or blocked steps at the plant.",
        )
