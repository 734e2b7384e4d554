"""Failed supplier notices, grouped by error: retry one row, or select many and retry.

The filter lives in the page address (``?status=failed``, ``&error=HTTP_502``,
``&supplier=S010``), so the Overview's figure opens exactly the notices it counts.
"""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from console import actions, login, state, widgets
from console.auth import Permission
from contracts.readmodel import NoticeStatus
from dashboards.notices import FAILED_STATUSES, NoticeFilter

STATUSES = {
    "Not delivered": FAILED_STATUSES,
    "Failed for good": (NoticeStatus.FAILED,),
    "Retrying automatically": (NoticeStatus.RETRYING,),
}
WIDTHS = [0.5, 1.8, 1.0, 1.2, 0.8, 3.2, 1.8, 1.0]
HEADERS = ["", "ECO", "Supplier", "Status", "Tries", "Last error", "Next automatic retry", ""]
KEY = "notices"


def _label(statuses: tuple[NoticeStatus, ...]) -> str:
    return next(
        (label for label, shown in STATUSES.items() if set(shown) == set(statuses)),
        "Not delivered",
    )


def _from_controls() -> NoticeFilter:
    return NoticeFilter(
        statuses=STATUSES[st.session_state.get("notices_status") or "Not delivered"],
        error=criteria.error,
        supplier=criteria.supplier,
    )


login.require(Permission.OPERATIONS)
st.title("Failed supplier notices")
can_act = actions.allowed()
criteria = NoticeFilter.from_query(widgets.address())
widgets.follow_address(KEY, {"notices_status": _label(criteria.statuses)})
st.segmented_control(
    "Show",
    list(STATUSES),
    key="notices_status",
    on_change=widgets.to_address,
    args=(KEY, _from_controls),
)
criteria = _from_controls()
widgets.active_filter(KEY, criteria, NoticeFilter())


@st.fragment(run_every=timedelta(seconds=5))
def notices() -> None:
    actions.show_flash()
    url = state.database_url()
    groups = state.notice_groups(url, criteria)
    if groups.empty:
        st.success(
            "No notice matches this filter."
            if criteria.describe()
            else "Every supplier notice was delivered."
        )
        return
    st.caption(f"{int(groups['notices'].sum())} notices in {len(groups)} error groups")
    for index, group in enumerate(groups.itertuples(index=False)):
        count = int(group.notices)
        title = f"{group.error} · {count} notice{'' if count == 1 else 's'}"
        with st.expander(widgets.escape(title), expanded=index == 0):
            _group(url, index, str(group.error))


def _group(url: str, index: int, error: str) -> None:
    key = f"notices_{index}"
    narrowed = NoticeFilter(statuses=criteria.statuses, error=error, supplier=criteria.supplier)
    page = state.failed_notices(url, narrowed, widgets.PAGE_SIZE, widgets.offset(key))
    reason_key = f"retry_reason_{index}"
    reason = st.text_input("Reason for retrying (required)", key=reason_key, disabled=not can_act)
    can_retry = can_act and bool(reason.strip())
    for column, header in zip(st.columns(WIDTHS), HEADERS, strict=True):
        column.markdown(f"**{header}**" if header else "")
    step_ids: list[str] = []
    for row in page.rows.itertuples(index=False):
        step_id = row.step_id if isinstance(row.step_id, str) else None
        cells = st.columns(WIDTHS, vertical_alignment="center")
        if step_id is not None:
            step_ids.append(step_id)
            cells[0].checkbox(
                "Select", key=f"pick_{step_id}", label_visibility="collapsed", disabled=not can_act
            )
        cells[1].page_link(
            "pages/eco.py", label=widgets.escape(row.eco), query_params={"eco": row.eco}
        )
        cells[2].markdown(widgets.escape(row.supplier))
        status = actions.row_status(step_id, row.status, row.updated_at) if step_id else row.status
        cells[3].markdown(widgets.escape(status))
        cells[4].markdown(str(row.attempts))
        cells[5].markdown(widgets.escape(row.last_error or ""))
        cells[6].markdown(widgets.escape(widgets.when(row.next_retry_at)))
        if step_id is not None:
            cells[7].button(
                "Retry",
                key=f"retry_{step_id}",
                on_click=actions.retry,
                args=([step_id], reason_key),
                disabled=not can_retry,
            )
    selected = [step_id for step_id in step_ids if st.session_state.get(f"pick_{step_id}")]
    st.button(
        f"Retry selected ({len(selected)})",
        key=f"retry_selected_{index}",
        on_click=actions.retry,
        args=(selected, reason_key),
        disabled=not can_retry or not selected,
        type="primary",
    )
    widgets.pager(key, page)


notices()
