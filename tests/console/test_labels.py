"""Every console table speaks people's words: no raw ``snake_case`` header on any page."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from collector.store import EventStore
from console import labels, routes
from console.auth import Role
from contracts.events import new_event
from contracts.readmodel import EcoState
from contracts.sourcing_events import ImpactAssessed
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


def _config(table: Any, name: str) -> dict[str, Any]:
    config = json.loads(table.proto.columns or "{}")
    entry: dict[str, Any] = config.get(f"col:{name}") or config.get(str(name)) or {}
    return entry


def _headers(at: AppTest) -> list[str]:
    shown = []
    for table in at.dataframe:
        shown.extend(_config(table, name).get("label") or str(name) for name in table.value.columns)
    return shown


def _raw_states(at: AppTest) -> list[str]:
    """Cells of status columns that show a state's code (``in_progress``)."""
    return [
        str(value)
        for table in at.dataframe
        for name in table.value.columns
        if name in labels.STATUS_COLUMNS
        for value in table.value[name]
        if isinstance(value, str) and SNAKE.search(value)
    ]


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
        assert not _raw_states(at), (route.file, _raw_states(at))
    assert seen > 50


def test_a_state_reads_as_words_and_other_cells_stay_as_they_are() -> None:
    assert labels.status_words(EcoState.PRODUCTION_READY) == "production ready"
    assert labels.status_words("awaiting_qualification") == "awaiting qualification"
    assert labels.status_words("retry queued") == "retry queued"
    assert labels.status_words("erp.production_version") == "erp.production_version"


@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)
def test_the_exposure_pages_po_value_has_thousands_separators(
    open_app: Callable[..., AppTest], console_env: str
) -> None:
    at_risk = ImpactAssessed(
        eco="ECO-2026-00001",
        plant="P100",
        item="CMP-2001",
        superseded_revision="A",
        purchase_orders=3,
        purchase_value=1234567.5,
        production_orders=0,
        production_quantity=0,
        read_at=datetime(2026, 4, 1, 12, tzinfo=UTC),
    )
    engine = create_engine(console_env)
    try:
        event = new_event(at_risk, source="/threadline/engine", time=at_risk.read_at)
        EventStore(engine).append([event], producer="engine")
    finally:
        engine.dispose()
    at = open_app(Role.VIEWER, "pages/exposure.py")
    (table,) = at.dataframe
    assert list(table.value["purchase_value"]) == [1234567.5]
    value = _config(table, "purchase_value")
    assert value["label"] == "PO value"
    assert value["type_config"]["format"] == "accounting"
