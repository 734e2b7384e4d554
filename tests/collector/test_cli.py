from __future__ import annotations

import os
import subprocess
import sys

import sqlalchemy as sa

from collector.samples import propagation_events
from collector.store import EventStore
from collector.tables import eco_status
from threadline.db import create_engine


def test_rebuild_command_restores_deleted_projections(sqlite_url: str, tmp_path) -> None:
    engine = create_engine(sqlite_url)
    stream = propagation_events()
    EventStore(engine).append(stream, "engine")
    with engine.begin() as connection:
        connection.execute(eco_status.delete())
    result = subprocess.run(
        [sys.executable, "-m", "threadline", "collector", "rebuild", "--database-url", sqlite_url],
        cwd=tmp_path,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert f"from {len(stream)} events" in result.stdout
    with engine.connect() as connection:
        state = connection.execute(sa.select(eco_status.c.state)).scalar_one()
    engine.dispose()
    assert state == "production_ready"
