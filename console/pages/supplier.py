"""Supplier: one supplier's notices, qualifications, activated info records and the
notice or purchasing steps that failed or wait for a person (``?supplier=S010``)."""

from __future__ import annotations

import streamlit as st

from console import labels, login, sourcing_state, state, widgets
from console.auth import Permission

SECTIONS = {
    "failures": "Failures and blocks",
    "qualifications": "Qualifications",
    "info_records": "Info records activated",
    "notices": "Notices",
}

login.require(Permission.OPERATIONS)
st.title("Supplier")
url = state.database_url()
chosen = (widgets.address().get("supplier") or [""])[-1]
supplier = st.text_input("Supplier code", value=chosen, key="supplier_code").strip().upper()
if supplier and supplier != chosen:
    st.query_params["supplier"] = supplier
if supplier:
    view = sourcing_state.supplier_view(url, supplier)
    for name, title in SECTIONS.items():
        rows = view[name].copy()
        st.subheader(f"{title} ({len(rows)})")
        if "eco" in rows:
            rows["eco"] = [widgets.eco_url(eco) if eco else "" for eco in rows["eco"]]
        labels.table(
            rows,
            hide_index=True,
            key=f"supplier_{name}",
            column_config={"eco": widgets.eco_link_column()},
        )
