"""The executives' report of exposure over time: the value of purchase orders and the
production orders at risk at the end of each day."""

from __future__ import annotations

from datetime import date, timedelta

import plotly.express as px
import streamlit as st

from console import sourcing_state

DAYS = 30


def render(url: str, end: date) -> None:
    """The last ``DAYS`` days up to ``end``."""
    days = tuple(end - timedelta(days=n) for n in range(DAYS - 1, -1, -1))
    rows = sourcing_state.exposure_over_time(url, days)
    if not rows[["purchase_value", "production_orders"]].to_numpy().any():
        return
    st.subheader("Exposure over time")
    figure = px.line(
        rows,
        x="day",
        y=["purchase_value", "production_orders"],
        labels={"value": "", "variable": ""},
    )
    st.plotly_chart(figure, key="exposure_trend")
