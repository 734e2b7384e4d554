"""The Drift page's duplicate supplier records: one supplier under two records in
procurement and ERP, for sourcing to merge."""

from __future__ import annotations

import streamlit as st

from console import labels, sourcing_state


def render(url: str) -> None:
    """The duplicates reconciliation reports now, if any."""
    rows = sourcing_state.duplicates(url)
    if rows.empty:
        return
    st.subheader("Duplicate supplier records")
    st.caption(f"{len(rows)} suppliers recorded twice across procurement and ERP: for sourcing")
    shown = rows.copy()
    for column in ("codes", "names", "systems"):
        shown[column] = [", ".join(values) for values in shown[column]]
    labels.table(
        shown,
        hide_index=True,
        key="drift_supplier_duplicates",
        column_config={
            "kind": "Shared",
            "key": "Tax id or code",
            "codes": "Codes",
            "names": "Names",
            "systems": "Systems",
            "detail": "Records",
            "detected_at": st.column_config.DatetimeColumn("Found", format="YYYY-MM-DD HH:mm"),
        },
    )
