"""Every console table speaks people's words: no raw ``snake_case`` header on any page."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from console import labels, routes
from console.auth import Role
from tests.dashboards.seed import seed
from threadline.db import create_engine

SNAKE = re.compile(r"[a-z0-9]_[a-z0-9]")


def test_names_read_as_words_with_their_units() -> None:
    assert labels.label("p50_to_confirmed_h") == "p50 to confirmed (h)"
    assert labels.label("error_message") == "Error"
    assert labels.label("steps_done") == "Steps done"
    assert labels.label("duration_seconds") == "Duration (s)"
    assert labels.label("blocked_count") == "Blocked"
    assert labels.label("erp_confirmed_at") == "ERP confirmed at"


def test_every_column_is_labelled_dated_in_the_viewers_zone_and_the_key_pinned() -> None:
    frame = pd.DataFrame(
        {"step_id": ["s1"], "since": [datetime(2026, 3, 1, 12, tzinfo=UTC)], "days_late": [2]}
    )
    config = labels.configure(
        frame, {"days_late": st.column_config.NumberColumn("Late (days)")}, zone="Europe/Berlin"
    )
    assert [config[name]["label"] for name in frame.columns] == ["Step", "Since", "Late (days)"]
    assert config["step_id"]["pinned"] is True
    assert config["since"]["type_config"]["timezone"] == "Europe/Berlin"
    assert config["since"]["help"] == "Times in your time zone, Europe/Berlin (UTC+01:00)."


def _headers(at: AppTest) -> list[str]:
    shown = []
    for table in at.dataframe:
        config = json.loads(table.proto.columns or "{}")
        for name in table.value.columns:
            entry = config.get(f"col:{name}") or config.get(str(name)) or {}
            shown.append(entry.get("label") or str(name))
    return shown


@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)
def test_no_page_shows_a_raw_column_name(
    open_app: Callable[..., AppTest], console_env: str
) -> None:
    engine = create_engine(console_env)
    try:
        seed(engine)
    finally:
        engine.dispose()
    at = open_app(Role.ADMIN)
    seen = 0
    for route in routes.ROUTES:
        at.switch_page(f"pages/{route.file}").run()
        assert not at.exception, (route.file, at.exception)
        headers = _headers(at)
        seen += len(headers)
        raw = [header for header in headers if SNAKE.search(header)]
        assert not raw, (route.file, raw)
    assert seen > 50
