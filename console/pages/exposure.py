"""Exposure: what stuck ECOs and plants behind put at risk, the largest first: open
purchase orders still buying a superseded revision, and open production orders after the
effectivity date that would run on the superseded BOM or routing, as ERP last answered.

Narrowed by ``?eco=``, ``?plant=`` or ``?item=`` in the page address.
"""

from __future__ import annotations

import streamlit as st

from console import login, sourcing_state, state, widgets
from console.auth import Permission
from console.sections import impact_table
from dashboards import filters

login.require(Permission.OPERATIONS)
st.title("Exposure")
url = state.database_url()
query = widgets.address()
narrowed = {name: filters.value(query, name) for name in ("eco", "plant", "item")}
total = sourcing_state.exposure(url)
left, right = st.columns(2)
left.metric("Purchase orders at risk", f"{total.purchase_orders} ({total.purchase_value:,.2f})")
right.metric("Production orders at risk", str(total.production_orders))
said = [f"{name} {value}" for name, value in narrowed.items() if value]
if said:
    st.info(f"Filtered: {widgets.escape('; '.join(said))}", icon=":material/filter_alt:")
scopes = sourcing_state.exposure(url, **narrowed).scopes if said else total.scopes
rows = sourcing_state.impact_rows(url, **narrowed, limit=impact_table.SHOWN)
st.caption(f"{scopes:,} scopes with open orders at risk" + impact_table.shown(rows, scopes))
impact_table.table(rows, "exposure_rows")
