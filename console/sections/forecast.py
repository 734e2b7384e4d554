"""Predicted production-ready times (p50, p90) and SLA due times, for the ECO page and the
awaiting list (:mod:`dashboards.prediction`, :mod:`dashboards.sla`)."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import streamlit as st

from console import labels, widgets
from console.sections import data
from console.sections.overdue import STAGE_LABELS

TIME = "YYYY-MM-DD HH:mm"


def render_eco(url: str, eco: str) -> None:
    """The ECO's predicted ready time by plant and the due time of its open work."""
    predicted = data.forecasts(url, (eco,)).get(eco)
    if predicted is not None:
        st.subheader("Predicted production-ready")
        st.caption(
            f"p50 {widgets.short(predicted['p50'])} · p90 {widgets.short(predicted['p90'])}, "
            "from how long the same steps took at the same plants recently."
        )
        labels.table(
            pd.DataFrame(predicted["plants"]),
            hide_index=True,
            key="eco_forecast",
            column_config={
                "plant": "Plant",
                "p50": st.column_config.DatetimeColumn("p50", format=TIME),
                "p90": st.column_config.DatetimeColumn("p90", format=TIME),
                "holding": "Waiting on",
            },
        )
    deadlines = data.deadlines(url, eco)
    if deadlines:
        st.subheader("Due times")
        rows = pd.DataFrame(deadlines)
        rows["stage"] = [STAGE_LABELS[stage] for stage in rows["stage"]]
        rows["sla_state"] = [str(state) for state in rows["sla_state"]]
        labels.table(
            rows,
            hide_index=True,
            key="eco_deadlines",
            column_order=["stage", "step_id", "plant", "since", "due_at", "sla_state"],
            column_config={
                "stage": "Stage",
                "step_id": "Step (none: the ECO)",
                "plant": "Plant",
                "since": st.column_config.DatetimeColumn("Since", format=TIME),
                "due_at": st.column_config.DatetimeColumn("Due", format=TIME),
                "sla_state": "SLA",
            },
        )


def render_for(url: str, ecos: Iterable[str]) -> None:
    """Predicted ready times of the listed ECOs (one row per ECO and plant)."""
    wanted = tuple(sorted(set(ecos)))
    if not wanted:
        return
    predicted = data.forecasts(url, wanted)
    rows = [
        {"eco": widgets.eco_url(eco), "plant": p["plant"], "p50": p["p50"], "p90": p["p90"]}
        | {"holding": p["holding"]}
        for eco in wanted
        if eco in predicted
        for p in predicted[eco]["plants"]
    ]
    if not rows:
        return
    st.subheader("Predicted production-ready")
    labels.table(
        pd.DataFrame(rows),
        hide_index=True,
        key="forecasts_listed",
        column_config={
            "eco": widgets.eco_link_column(),
            "plant": "Plant",
            "p50": st.column_config.DatetimeColumn("p50", format=TIME),
            "p90": st.column_config.DatetimeColumn("p90", format=TIME),
            "holding": "Waiting on",
        },
    )
