"""PLM lists the backfilled history's ECOs; the engine starts where that history ended."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from simulators.app import SimulatorConfig, create_app
from simulators.testing import serving
from sync_engine.testing import running_engine
from tests.sync_engine.scenario import Db, activate_inactive_work_centers, burst, wait_until


def test_the_engine_does_not_propagate_the_history_plm_lists(database_url: str) -> None:
    end = datetime.now(UTC) - timedelta(seconds=5)
    config = SimulatorConfig(seed=11, history_days=10, history_end=end, confirmation_delay=0.3)
    db = Db(database_url)
    try:
        with serving(create_app(config), name="simulators") as sims:
            with httpx.Client(base_url=sims, timeout=10) as client:
                listed = client.get("/plm/ecos", params={"limit": 500}).json()["items"]
            assert listed, "PLM lists the history's ECOs"
            live = burst(sims, 2)
            activate_inactive_work_centers(sims, live)
            with running_engine(database_url, sims, plm_start=end):
                wait_until(lambda: db.ready(live), 60, "the live ECOs to finish")
            assert set(db.eco_states()) == set(live)
    finally:
        db.close()
