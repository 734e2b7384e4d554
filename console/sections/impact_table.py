"""The business-impact rows: open orders a stuck ECO or a plant behind puts at risk,
as ERP last answered. Shown on the ECO page, the prior-revision and drift pages and the
Exposure page."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from console import labels, sourcing_state, widgets

DATE = "YYYY-MM-DD"
SHOWN = 500
"""Rows a list of scopes shows, the largest first: years of stuck ECOs leave tens of
thousands of scopes at risk, more than anyone reads and than a page can fetch quickly."""


def table(rows: pd.DataFrame, key: str) -> None:
    """The rows as a table, ECOs as links."""
    shown = rows.copy()
    shown["eco"] = [widgets.eco_url(eco) if eco else "" for eco in shown["eco"]]
    labels.table(
        shown,
        hide_index=True,
        key=key,
        column_config={
            "eco": widgets.eco_link_column(),
            "plant": "Plant",
            "item": "Item",
            "superseded_revision": "Superseded revision",
            "purchase_orders": "Purchase orders",
            # Money, as in every other table: thousands separated (1,234.00).
            "purchase_value": st.column_config.NumberColumn("PO value", format="accounting"),
            "earliest_due": st.column_config.DateColumn("Earliest due", format=DATE),
            "production_orders": "Production orders",
            "production_quantity": st.column_config.NumberColumn("Quantity", format="%.0f"),
            "earliest_start": st.column_config.DateColumn("Earliest start", format=DATE),
            "read_at": st.column_config.DatetimeColumn("Read from ERP", format="YYYY-MM-DD HH:mm"),
        },
    )


def render_eco(url: str, eco: str) -> None:
    """The ECO page's section: what the ECO's being stuck puts at risk."""
    rows = sourcing_state.impact_rows(url, eco=eco)
    if rows.empty:
        return
    st.subheader("Business impact")
    value = rows["purchase_value"].sum()
    st.caption(
        f"{int(rows['purchase_orders'].sum())} open purchase orders ({value:,.2f}) still buy "
        f"a superseded revision; {int(rows['production_orders'].sum())} production orders "
        "after the effectivity date would run on the superseded BOM or routing"
    )
    table(rows, "eco_impact")


def shown(rows: pd.DataFrame, total: int) -> str:
    """How many of ``total`` scopes the table shows, when not all of them."""
    return f"; the {len(rows):,} largest shown" if len(rows) < total else ""


def render_pairs(url: str, key: str) -> None:
    """The prior-revision and drift pages' section: exposure of the pairs behind."""
    total = sourcing_state.exposure(url).scopes
    if not total:
        return
    rows = sourcing_state.impact_rows(url, limit=SHOWN)
    title = f"Business impact: {total:,} (plant, item) pairs with open orders at risk"
    with st.expander(title + shown(rows, total)):
        table(rows, key)
