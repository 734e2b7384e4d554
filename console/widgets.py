"""Small pieces every page uses: escaped text, pagers, links, timestamps, filters bound
to the page address, and the freshness banner the router shows above every page."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import streamlit as st

from console import state
from dashboards.confirmations import ConfirmationFilter
from dashboards.drift import DriftFilter
from dashboards.eco_list import EcoFilter
from dashboards.exceptions import PlantFilter, StepFilter
from dashboards.filters import ListFilter
from dashboards.notices import NoticeFilter
from dashboards.overview import BehindFilter, Figure
from dashboards.paging import Page

PAGE_SIZE = 25
FRESHNESS_REFRESH = timedelta(seconds=15)
LIST_PAGES: dict[type, str] = {
    EcoFilter: "pages/ecos.py",
    ConfirmationFilter: "pages/awaiting_confirmation.py",
    PlantFilter: "pages/inbox.py",
    StepFilter: "pages/inbox.py",
    NoticeFilter: "pages/supplier_notices.py",
    DriftFilter: "pages/drift.py",
    BehindFilter: "pages/prior_revisions.py",
}
"""The page that lists the rows of each filter type."""
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def escape(text: object) -> str:
    """Stored text made inert for ``st.markdown``: no links, images, emphasis or HTML."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", "" if text is None else str(text))


def eco_url(eco: str) -> str:
    """The ECO page's address for ``eco`` (shareable)."""
    return f"eco?eco={quote(eco)}"


def eco_link_column(label: str = "ECO") -> Any:
    """A dataframe column of ECO page links showing the ECO number."""
    return st.column_config.LinkColumn(label, display_text=r"eco\?eco=(.*)$")


def when(value: datetime | None) -> str:
    """A timestamp as people here read it: UTC, to the second."""
    if value is None or (isinstance(value, float)) or value != value:
        return "—"
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def short(value: datetime | None) -> str:
    """A timestamp for a narrow figure: ``11-22 08:05`` (UTC)."""
    if when(value) == "—" or value is None:
        return "—"
    return value.strftime("%m-%d %H:%M")


def offset(key: str) -> int:
    """The current offset of the pager ``key``."""
    return int(st.session_state.get(f"{key}_offset", 0))


def pager(key: str, page: Page) -> None:
    """Previous/next buttons and a caption saying which rows are shown."""
    if page.total == 0:
        return
    first = page.offset + 1
    last = page.offset + len(page.rows)
    left, middle, right = st.columns([1, 3, 1])
    left.button(
        "Previous",
        key=f"{key}_previous",
        disabled=not page.has_previous,
        on_click=_move,
        args=(key, max(0, page.offset - page.limit)),
    )
    middle.caption(f"Rows {first} to {last} of {page.total}")
    right.button(
        "Next",
        key=f"{key}_next",
        disabled=not page.has_next,
        on_click=_move,
        args=(key, page.offset + page.limit),
    )


def reset(key: str) -> None:
    """Back to the first page (after a filter changed)."""
    st.session_state[f"{key}_offset"] = 0


def _move(key: str, to: int) -> None:
    st.session_state[f"{key}_offset"] = to


def figure_link(figure: Figure, label: str, icon: str = ":material/list:") -> None:
    """A link to the list a figure counts, filtered in its address to exactly those rows."""
    st.page_link(
        LIST_PAGES[type(figure.criteria)],
        label=label,
        icon=icon,
        query_params=figure.criteria.to_query(),
    )


def address() -> dict[str, list[str]]:
    """The page address's query parameters, each name with all its values."""
    return {name: st.query_params.get_all(name) for name in st.query_params}


def follow_address(key: str, controls: Mapping[str, object]) -> None:
    """Set the page's filter controls (session-state key to value) from its address when
    the address changed since they were last set: a followed link, a shared address, a
    cleared filter. The pager ``key`` starts over."""
    seen = _snapshot()
    if st.session_state.get(f"{key}_address") == seen:
        return
    for name, value in controls.items():
        st.session_state[name] = value
    st.session_state[f"{key}_address"] = seen
    reset(key)


def to_address(key: str, criteria: Callable[[], ListFilter]) -> None:
    """A filter control's ``on_change``: put the filter the controls now give into the
    page address (so it can be shared) and start the pager ``key`` over."""
    st.query_params.from_dict(criteria().to_query())
    st.session_state[f"{key}_address"] = _snapshot()
    reset(key)


def active_filter(key: str, criteria: ListFilter, cleared: ListFilter) -> None:
    """Say what the list is filtered to, with a button back to ``cleared``."""
    said = criteria.describe()
    if not said:
        return
    text, button = st.columns([5, 1], vertical_alignment="center")
    text.info(f"Filtered: {escape('; '.join(said))}", icon=":material/filter_alt:")
    button.button(
        "Clear filter", key=f"{key}_clear", on_click=_clear, args=(cleared.to_query(), key)
    )


def _clear(query: dict[str, list[str]], key: str) -> None:
    # The controls follow the address on the next run (see follow_address).
    st.query_params.from_dict(query)
    reset(key)


def _snapshot() -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple(sorted((name, tuple(values)) for name, values in address().items()))


@st.fragment(run_every=FRESHNESS_REFRESH)
def database_unavailable() -> None:
    """What a page shows instead of its content while the database cannot be reached."""
    st.error(
        "**The database is unreachable.** Threadline's figures cannot be read right now; "
        "nothing is lost — the engine and collector wait and resume when it is back. "
        "This page shows again once the database answers.",
        icon=":material/cloud_off:",
    )
    st.button("Try again", key="database_retry", icon=":material/refresh:")


def freshness_banner() -> None:
    """How current the data is, and a warning when the pipeline is behind (every page)."""
    url = state.database_url()
    now = datetime.now(UTC)
    fresh = state.data_freshness(url)
    problems = state.pipeline_health(url).problems(state.health_limits())
    problems += fresh.problems(now=now, reconcile_interval=state.reconcile_interval())
    with st.container(key="freshness"):
        st.caption(f"Data as of {as_of(fresh.data_as_of, now)}")
        if problems:
            st.warning(
                "The pipeline is behind; what you see may be out of date.\n\n"
                + "\n".join(f"- {escape(problem)}" for problem in problems),
                icon=":material/warning:",
            )


def as_of(moment: datetime | None, now: datetime) -> str:
    """``12:04:31 UTC`` today, else with the date; ``no events yet`` without one."""
    if moment is None:
        return "no events yet"
    if moment.date() == now.date():
        return moment.strftime("%H:%M:%S UTC")
    return when(moment)
