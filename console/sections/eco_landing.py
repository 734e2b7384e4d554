"""What the ECO page shows before a search: the ECOs that changed last and those with open
problems, each number a link to its page."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from console import labels, state, widgets
from dashboards.eco_list import latest_ecos

COLUMNS = ["eco", "title", "state", "plants_done", "plants_total", "blocked_count", "failed_count"]


def _table(rows: list[dict[str, object]], key: str, empty: str) -> None:
    if not rows:
        st.caption(empty)
        return
    frame = pd.DataFrame(rows)
    frame["eco"] = [widgets.eco_url(str(eco)) for eco in frame["eco"]]
    labels.table(
        frame,
        key=key,
        column_order=[*COLUMNS, "last_event_at"],
        column_config={
            "eco": widgets.eco_link_column(),
            "title": st.column_config.TextColumn("Title", width="large"),
            "blocked_count": st.column_config.NumberColumn("Blocked steps"),
            "failed_count": st.column_config.NumberColumn("Failed steps"),
            "last_event_at": st.column_config.DatetimeColumn("Last change"),
        },
    )


def render(url: str) -> None:
    """Recent ECOs and ECOs with open problems."""
    engine = state.read_engine(url)
    left, right = st.columns(2)
    with left:
        st.subheader("With open problems")
        _table(
            latest_ecos(engine, troubled=True),
            "eco_troubled",
            "No ECO has a blocked or failed step.",
        )
    with right:
        st.subheader("Changed last")
        _table(latest_ecos(engine, troubled=False), "eco_recent", "No ECO yet.")
