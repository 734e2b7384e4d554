"""Audit log: every operator action across all ECOs, read-only — who, in which role, when,
what, why, what came of it, the steps it touched and its operation.

The filter lives in the page address (``?actor=ada&action=retry&since=2026-11-01``), so a
filtered log can be shared; **Download CSV** exports every row the filter keeps.
"""

from __future__ import annotations

import streamlit as st

from console import labels, login, state, widgets
from console.auth import Permission, Role
from contracts.steps import OperatorAction
from dashboards.audit import EXPORT_LIMIT, AuditFilter

KEY = "audit"
ANY_ROLE = "any role"


def _from_controls() -> AuditFilter:
    role = st.session_state.get("audit_role") or ANY_ROLE

    def text(name: str) -> str | None:
        return str(st.session_state.get(name) or "").strip() or None

    return AuditFilter(
        actor=text("audit_actor"),
        role=None if role == ANY_ROLE else role,
        actions=tuple(OperatorAction(a) for a in st.session_state.get("audit_actions") or ()),
        eco=text("audit_eco"),
        since=st.session_state.get("audit_since"),
        until=st.session_state.get("audit_until"),
        operation=text("audit_operation"),
    )


login.require(Permission.AUDIT)
st.title("Audit log")
st.caption("Every operator action, from the console and the command line. Read-only.")
url = state.database_url()
criteria = AuditFilter.from_query(widgets.address())
roles = [ANY_ROLE, *(role.value for role in Role)]
if criteria.role and criteria.role not in roles:
    roles.append(criteria.role)  # a role from a shared address (cli, an old name)
widgets.follow_address(
    KEY,
    {
        "audit_actor": criteria.actor or "",
        "audit_role": criteria.role or ANY_ROLE,
        "audit_actions": list(criteria.actions),
        "audit_eco": criteria.eco or "",
        "audit_since": criteria.since,
        "audit_until": criteria.until,
        "audit_operation": criteria.operation or "",
    },
)
ON_CHANGE = widgets.to_address
ARGS = (KEY, _from_controls)
first, second, third = st.columns(3)
first.text_input(
    "Who",
    key="audit_actor",
    placeholder="ada@example.com or cli:ada",
    on_change=ON_CHANGE,
    args=ARGS,
)
second.selectbox("Role", roles, key="audit_role", on_change=ON_CHANGE, args=ARGS)
third.multiselect(
    "What",
    list(OperatorAction),
    format_func=lambda value: OperatorAction(value).value.replace("_", " "),
    key="audit_actions",
    placeholder="Every action",
    on_change=ON_CHANGE,
    args=ARGS,
)
first, second, third, fourth = st.columns(4)
first.text_input(
    "ECO", key="audit_eco", placeholder="ECO-2026-00042", on_change=ON_CHANGE, args=ARGS
)
second.date_input("From (UTC day)", value=None, key="audit_since", on_change=ON_CHANGE, args=ARGS)
third.date_input("To (UTC day)", value=None, key="audit_until", on_change=ON_CHANGE, args=ARGS)
fourth.text_input("Operation id", key="audit_operation", on_change=ON_CHANGE, args=ARGS)
criteria = _from_controls()
widgets.active_filter(KEY, criteria, AuditFilter())
page = state.audit_rows(url, criteria, widgets.PAGE_SIZE, widgets.offset(KEY))
st.caption(f"{page.total} action{'' if page.total == 1 else 's'}")
rows = page.rows.copy()
rows["eco"] = [widgets.eco_url(eco) if isinstance(eco, str) else None for eco in rows["eco"]]
labels.table(
    rows,
    hide_index=True,
    key="audit_table",
    column_config={
        "at": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm:ss"),
        "actor": st.column_config.TextColumn("Who"),
        "role": st.column_config.TextColumn("Role"),
        "action": st.column_config.TextColumn("What"),
        "eco": widgets.eco_link_column(),
        "reason": st.column_config.TextColumn("Reason"),
        "outcome": st.column_config.TextColumn("Outcome"),
        "affected": st.column_config.NumberColumn("Steps affected"),
        "step_ids": st.column_config.ListColumn("Steps"),
        "operation_id": st.column_config.TextColumn("Operation"),
        "operation_outcome": st.column_config.TextColumn(
            "Operation outcome", help="How the operation ended, once its steps settled"
        ),
    },
)
widgets.pager(KEY, page)
if page.total:
    st.download_button(
        "Download CSV",
        data=state.audit_csv(url, criteria),
        file_name="threadline-audit.csv",
        mime="text/csv",
        key="audit_csv",
        icon=":material/download:",
        help=f"Every action the filter keeps (the newest {EXPORT_LIMIT:,}).",
    )
