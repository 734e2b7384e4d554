"""Plotly figures built from the query results; nothing here reads the database."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from contracts.steps import StepState
from dashboards.cycle_time import PERCENTILES
from dashboards.revisions import LagMatrix

STATE_COLOURS: dict[str, str] = {
    StepState.WAITING: "#b0b7c3",
    StepState.PENDING: "#8fa8c8",
    StepState.RUNNING: "#4c78a8",
    StepState.AWAITING_CONFIRMATION: "#f2b134",
    StepState.RETRYING: "#f58518",
    StepState.SUCCEEDED: "#54a24b",
    StepState.FAILED: "#d62728",
    StepState.BLOCKED: "#9d3c9d",
    StepState.SKIPPED: "#7f7f7f",
    StepState.CANCELLED: "#3b3b3b",
}


def lag_heatmap(matrix: LagMatrix) -> go.Figure:
    """Item x plant heatmap of days past effectivity; empty cells are up to date."""
    days = matrix.days
    figure = go.Figure(
        go.Heatmap(
            z=days.to_numpy(dtype=float) if not days.empty else [],
            x=[str(plant) for plant in days.columns],
            y=[str(item) for item in days.index],
            colorscale="OrRd",
            colorbar={"title": "days late"},
            hovertemplate="item %{y}<br>plant %{x}<br>%{z} days past effectivity<extra></extra>",
            hoverongaps=False,
        )
    )
    if not matrix.cells.empty:
        # Heatmap cells cannot be selected in the browser; nearly invisible markers on the
        # cells can, so a click on a cell drills into it.
        figure.add_scatter(
            x=matrix.cells["plant"].astype(str),
            y=matrix.cells["item"].astype(str),
            mode="markers",
            marker={"size": 22, "opacity": 0.02, "symbol": "square", "color": "#000"},
            customdata=matrix.cells[["plant", "item", "days_late"]].astype(str).to_numpy(),
            hovertemplate=(
                "item %{customdata[1]}<br>plant %{customdata[0]}<br>"
                "%{customdata[2]} days past effectivity<extra></extra>"
            ),
            showlegend=False,
            name="cells",
        )
    figure.update_layout(
        xaxis_title="plant",
        yaxis_title="item",
        yaxis={"autorange": "reversed", "type": "category"},
        xaxis={"type": "category"},
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        height=max(260, 28 * len(days.index) + 120),
    )
    return figure


def step_timeline_figure(intervals: pd.DataFrame) -> go.Figure:
    """The ECO's steps over time, one lane per step, ordered by system and plant."""
    if intervals.empty:
        return go.Figure()
    shown = intervals.copy()
    # A final state has no duration; give it a visible sliver.
    too_short = shown["end"] <= shown["start"]
    shown.loc[too_short, "end"] = shown.loc[too_short, "start"] + pd.Timedelta(seconds=1)
    shown["lane"] = (
        shown["system"]
        + " · "
        + shown["plant"]
        + " · "
        + shown["kind"].str.split(".").str[-1]
        + " "
        + shown["item"]
    )
    lanes = shown.sort_values(["system", "plant", "kind", "item"])["lane"].unique().tolist()
    figure = px.timeline(
        shown,
        x_start="start",
        x_end="end",
        y="lane",
        color="state",
        color_discrete_map=STATE_COLOURS,
        category_orders={"lane": lanes},
        hover_data={"step_id": True, "lane": False},
    )
    figure.update_layout(
        yaxis_title=None,
        xaxis_title=None,
        legend_title="state",
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        height=max(260, 24 * len(lanes) + 120),
    )
    return figure


def cycle_trend_figure(trend: pd.DataFrame) -> go.Figure:
    """Monthly p50/p90/p95 of approval -> production-ready, in days."""
    figure = go.Figure()
    for p in PERCENTILES:
        column = f"p{p}_total_h"
        figure.add_scatter(
            x=trend["month"] if not trend.empty else [],
            y=(trend[column] / 24) if not trend.empty else [],
            mode="lines+markers",
            name=f"p{p}",
        )
    figure.update_layout(
        xaxis_title="month production-ready",
        yaxis_title="days from approval",
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        height=320,
    )
    return figure


def cycle_histogram(rows: pd.DataFrame) -> go.Figure:
    """Distribution of approval -> production-ready, in days."""
    values = (rows["total_h"].dropna() / 24) if not rows.empty else pd.Series(dtype=float)
    figure = go.Figure(go.Histogram(x=values, nbinsx=40, name="ECOs"))
    figure.update_layout(
        xaxis_title="days from approval to production-ready",
        yaxis_title="ECOs",
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        height=320,
        bargap=0.05,
    )
    return figure
