"""What the ECO page offers before a search: the ECOs that changed last, and the troubled."""

from __future__ import annotations

import sqlalchemy as sa

from collector.tables import eco_status
from dashboards.eco_list import latest_ecos
from tests.dashboards.seed import seed
from threadline.db import create_engine


def test_latest_ecos_newest_first_and_the_troubled_ones(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        picture = seed(engine)
        with engine.connect() as connection:
            rows = connection.execute(
                sa.select(eco_status.c.eco, eco_status.c.last_event_at).order_by(
                    eco_status.c.last_event_at.desc(), eco_status.c.eco
                )
            ).all()
        recent = latest_ecos(engine, troubled=False, limit=3)
        assert [row["eco"] for row in recent] == [eco for eco, _ in rows[:3]]

        troubled = {row["eco"] for row in latest_ecos(engine, troubled=True)}
        assert picture.blocked_step.split("/")[0] in troubled
        assert picture.failed_notice_step.split("/")[0] in troubled
        assert all(
            row["blocked_count"] > 0 or row["failed_count"] > 0 or row["state"] == "blocked"
            for row in latest_ecos(engine, troubled=True)
        )
        assert len(troubled) < len(rows)
    finally:
        engine.dispose()
