"""Rejected ECOs: what the governance rules refused, each violation with its field path and
what to fix in PLM. A corrected ECO saved in PLM is taken up again and leaves this list.

The filter lives in the page address (``?eco=ECO-2026&field=effectivity``), so a filtered
list can be shared.
"""

from __future__ import annotations

import streamlit as st

from console import labels, login, state, widgets
from console.auth import Permission
from dashboards.rejected import AFTER_FIX, FIXES, RejectedFilter

KEY = "rejected"
ANY_FIELD = "any field"


def _from_controls() -> RejectedFilter:
    field = st.session_state.get("rejected_field") or ANY_FIELD
    return RejectedFilter(
        eco=str(st.session_state.get("rejected_eco") or "").strip() or None,
        field=None if field == ANY_FIELD else field,
    )


login.require(Permission.OPERATIONS)
st.title("Rejected ECOs")
st.caption(
    "ECOs PLM approved that break Threadline's governance rules, so nothing was sent. " + AFTER_FIX
)
url = state.database_url()
criteria = RejectedFilter.from_query(widgets.address())
fields = [ANY_FIELD, *FIXES]
if criteria.field and criteria.field not in fields:
    fields.append(criteria.field)  # a field from a shared address
widgets.follow_address(
    KEY, {"rejected_eco": criteria.eco or "", "rejected_field": criteria.field or ANY_FIELD}
)
left, right = st.columns(2)
left.text_input(
    "ECO number (or its start)",
    key="rejected_eco",
    on_change=widgets.to_address,
    args=(KEY, _from_controls),
)
right.selectbox(
    "Broken field",
    fields,
    key="rejected_field",
    on_change=widgets.to_address,
    args=(KEY, _from_controls),
)
criteria = _from_controls()
widgets.active_filter(KEY, criteria, RejectedFilter())
page, violations = state.rejected(url, criteria, widgets.PAGE_SIZE, widgets.offset(KEY))
st.caption(f"{page.total} rejected ECO{'' if page.total == 1 else 's'}")
if page.total == 0:
    st.success("No ECO is rejected: every approved ECO PLM published met the rules.")
    st.stop()
rows = page.rows.copy()
rows["eco"] = [widgets.eco_url(eco) for eco in rows["eco"]]
rows["violations"] = [int((violations["eco"] == eco).sum()) for eco in page.rows["eco"]]
labels.table(
    rows,
    hide_index=True,
    key="rejected_table",
    column_order=["eco", "title", "violations", "rejected_at", "last_event_at"],
    column_config={
        "eco": widgets.eco_link_column(),
        "title": st.column_config.TextColumn("Title"),
        "violations": st.column_config.NumberColumn("Violations"),
        "rejected_at": st.column_config.DatetimeColumn("First refused", format="YYYY-MM-DD HH:mm"),
        "last_event_at": st.column_config.DatetimeColumn("Last refused", format="YYYY-MM-DD HH:mm"),
    },
)
widgets.pager(KEY, page)
st.subheader("What to fix in PLM")
labels.table(
    violations,
    hide_index=True,
    key="rejected_violations",
    column_config={
        "eco": st.column_config.TextColumn("ECO"),
        "path": st.column_config.TextColumn("Field", help="The field path in the ECO document"),
        "problem": st.column_config.TextColumn("Problem"),
        "fix": st.column_config.TextColumn("Fix in PLM"),
    },
)
