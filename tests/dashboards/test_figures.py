"""The Plotly figures carry the query results they are built from."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from dashboards import cycle_time, ecos, revisions
from dashboards.figures import (
    cycle_histogram,
    cycle_trend_figure,
    lag_heatmap,
    step_timeline_figure,
)
from tests.dashboards.seed import seed


def test_figures_show_the_seeded_data(tmp_path) -> None:
    from threadline.db import create_engine
    from threadline.migrate import upgrade

    url = f"sqlite+pysqlite:///{tmp_path / 'figures.db'}"
    upgrade(url)
    engine: sa.Engine = create_engine(url)
    picture = seed(engine)

    matrix = revisions.lag_matrix(engine, today=picture.now.date())
    heatmap = lag_heatmap(matrix)
    cells = heatmap.data[0]
    assert list(cells.y) == ["ASM-1001"] and list(cells.x) == ["P100", "P200"]
    assert [list(row) for row in cells.z] == [[5.0, 7.0]]
    clickable = heatmap.data[1]
    assert sorted(map(tuple, clickable.customdata)) == [
        ("P100", "ASM-1001", "5"),
        ("P200", "ASM-1001", "7"),
    ]

    timeline = ecos.step_timeline(engine, "ECO-2026-00103", now=picture.now)
    figure = step_timeline_figure(timeline)
    states = {trace.name for trace in figure.data}
    assert {"blocked", "succeeded", "waiting"} <= states

    rows = cycle_time.cycle_rows(
        engine, (picture.now - timedelta(days=60)).date(), picture.now.date(), by_plant=False
    )
    trend = cycle_trend_figure(cycle_time.monthly_trend(rows))
    assert [trace.name for trace in trend.data] == ["p50", "p90", "p95"]
    histogram = cycle_histogram(rows)
    assert sorted(histogram.data[0].x) == sorted(rows["total_h"] / 24)
    engine.dispose()
