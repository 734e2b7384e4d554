"""The Overview's overdue work: how much is past its SLA in each stage, each count a link
to the overdue list filtered to exactly those rows."""

from __future__ import annotations

import streamlit as st

from console.sections import data
from contracts.sla import Stage
from dashboards.sla import OverdueFilter

OVERDUE_PAGE = "pages/overdue.py"

STAGE_LABELS: dict[Stage, str] = {
    Stage.PLANNING: "planning",
    Stage.PENDING: "due, not claimed",
    Stage.RUNNING: "running",
    Stage.RETRYING: "retrying",
    Stage.WAITING: "behind another ECO",
    Stage.ERP_CONFIRMATION: "ERP confirmation",
    Stage.SUPPLIER_NOTICE: "supplier notice",
    Stage.ECO: "whole ECO",
}
"""How each stage reads on the console."""


def render(url: str) -> None:
    """A bordered block: overdue work in total and by stage, each count linked."""
    counts = data.overdue_counts(url)
    total = sum(counts.values())
    with st.container(border=True):
        st.metric(
            "Overdue work",
            total,
            help="Steps and ECOs past their stage's SLA (the SLA file's limits), as the "
            "engine reported them and not yet resolved.",
        )
        st.page_link(OVERDUE_PAGE, label="Overdue list", icon=":material/alarm:")
        for stage in Stage:
            if counts.get(stage):
                st.page_link(
                    OVERDUE_PAGE,
                    label=f"{counts[stage]} {STAGE_LABELS[stage]}",
                    icon=":material/schedule:",
                    query_params=OverdueFilter(stage=stage).to_query(),
                )
