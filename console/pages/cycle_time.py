"""Cycle time from PLM approval to ERP confirmation to production readiness."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import streamlit as st

from console import labels, login, state, widgets
from console.auth import Permission
from console.sections import exposure_trend
from dashboards.cycle_time import (
    Dimension,
    cycle_percentiles,
    cycle_range_from_query,
    monthly_trend,
)
from dashboards.figures import cycle_histogram, cycle_trend_figure
from dashboards.stats import humanize_seconds, percentile

LABELS = {
    Dimension.PLANT: "Plant",
    Dimension.PRODUCT_FAMILY: "Product family",
    Dimension.MONTH: "Month",
}

login.require(Permission.REPORTS)
st.title("Cycle time")
st.caption("PLM approval → ERP confirmed → production-ready, by when ECOs became ready.")
today = datetime.now(UTC).date()
# A range in the address (the Overview's link: ?start=2026-11-02&end=2026-12-01) wins.
asked = cycle_range_from_query(widgets.address(), default=(today - timedelta(days=180), today))
widgets.follow_address("cycle", {"cycle_range": (asked[0], min(asked[1], today))})
left, right = st.columns([2, 3])
chosen = left.date_input("Production-ready between", max_value=today, key="cycle_range")
if not isinstance(chosen, tuple) or len(chosen) != 2:
    st.info("Choose the last day of the range.")
    st.stop()
start, end = chosen
by = (
    right.segmented_control(
        "By",
        list(Dimension),
        format_func=lambda value: LABELS[value],
        default=Dimension.PRODUCT_FAMILY,
        key="cycle_by",
    )
    or Dimension.PRODUCT_FAMILY
)
url = state.database_url()
ecos = state.cycle_rows(url, start, end, False)
rows = state.cycle_rows(url, start, end, True) if by is Dimension.PLANT else ecos
totals = [float(hours) * 3600 for hours in ecos["total_h"].dropna()]
figures = st.columns(4, border=True)
figures[0].metric("ECOs production-ready", len(ecos))
for column, p in zip(figures[1:], (50, 90, 95), strict=True):
    column.metric(f"p{p} approval → ready", humanize_seconds(percentile(totals, p)))
table = cycle_percentiles(rows, by).round(1)
st.subheader(f"By {LABELS[by].lower()} (hours)")
labels.table(table, hide_index=True, key="cycle_table")
st.download_button(
    "Download CSV",
    table.to_csv(index=False).encode("utf-8"),
    file_name=f"cycle-time-by-{by.value}-{start}-{end}.csv",
    mime="text/csv",
    key="cycle_csv",
)
trend, histogram = st.columns(2)
with trend:
    st.subheader("Monthly trend")
    st.plotly_chart(cycle_trend_figure(monthly_trend(ecos)), key="cycle_trend")
with histogram:
    st.subheader("Distribution")
    st.plotly_chart(cycle_histogram(ecos), key="cycle_histogram")
exposure_trend.render(url, end)
