"""Small pieces every page uses: escaped text, pagers, links and timestamps."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import quote

import streamlit as st

from dashboards.paging import Page

PAGE_SIZE = 25
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
