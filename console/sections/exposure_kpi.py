"""The Overview's "exposure" figure: open orders at risk, linking to the rows."""

from __future__ import annotations

import streamlit as st

from console import sourcing_state


def render(url: str) -> None:
    """Purchase-order value and production orders at risk, with a link to the rows."""
    total = sourcing_state.exposure(url)
    left, right, link = st.columns([1, 1, 1], vertical_alignment="bottom")
    left.metric("Exposure: purchase orders at risk", f"{total.purchase_value:,.0f}")
    right.metric("Exposure: production orders at risk", str(total.production_orders))
    link.page_link(
        "pages/exposure.py", label=f"{total.scopes} scopes at risk", icon=":material/list:"
    )
