"""Under AppTest, on seeded data: each Overview figure's link opens its list filtered to
exactly that many rows; filters live in the page address; every page says how current
its data is and warns when the pipeline is behind.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import pytest
import sqlalchemy as sa
import streamlit as st
from streamlit.testing.v1 import AppTest

from collector.samples import ENGINE_SOURCE
from collector.store import EventStore
from console.auth import Role
from console.routes import ROUTES
from contracts import events as ev
from sync_engine import store
from tests.dashboards.seed import Picture, seed
from threadline.db import create_engine

pytestmark = pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)

Open = Callable[..., AppTest]
FILES = {route.url_path: f"pages/{route.file}" for route in ROUTES}

# Overview figure (metric label, or the past-SLA delta) -> the label of its link.
LINKS = {
    "ECOs in flight": "ECOs in flight",
    "Awaiting ERP confirmation": "Waiting list",
    "past SLA": "1 past SLA",
    "Blocked plants": "Blocked plants",
    "Failed supplier notices": "Failed notices",
    "Drift": "Drift list",
    "On a prior revision": "Prior-revision list",
}


@pytest.fixture
def db(console_env: str) -> sa.Engine:
    engine = create_engine(console_env)
    yield engine
    engine.dispose()


@pytest.fixture
def picture(db: sa.Engine) -> Picture:
    return seed(db)


def figures(at: AppTest) -> dict[str, int]:
    shown = {metric.label: int(metric.value) for metric in at.metric if metric.value.isdigit()}
    awaiting = next(m for m in at.metric if m.label == "Awaiting ERP confirmation")
    shown["past SLA"] = int(awaiting.proto.delta.split()[0])
    return shown


def rows_shown(at: AppTest, page: str) -> int:
    """The rows a list page shows (every seeded list fits on one page)."""
    if page == "pages/supplier_notices.py":
        # One row per notice, each with a link to its ECO.
        return sum(1 for link in at.main.get("page_link") if link.proto.page == "eco")
    return len(at.dataframe[0].value) if at.dataframe else 0


def test_every_figure_link_opens_exactly_its_rows(open_app: Open, picture: Picture) -> None:
    overview = open_app(Role.VIEWER)
    shown = figures(overview)
    links = {link.proto.label: link.proto for link in overview.main.get("page_link")}
    assert shown["Blocked plants"] == picture.blocked_plants
    assert shown["past SLA"] == picture.awaiting_past_sla
    for figure, label in LINKS.items():
        link = links[label]
        page = FILES[link.page]
        at = open_app(Role.VIEWER, page, **parse_qs(link.query_string))
        assert rows_shown(at, page) == shown[figure], (figure, page, link.query_string)


def test_the_past_sla_link_filters_and_the_filter_clears(open_app: Open, picture: Picture) -> None:
    at = open_app(Role.VIEWER, "pages/awaiting_confirmation.py", past_sla="1")
    assert [(r.eco, r.plant) for r in at.dataframe[0].value.itertuples()] == [
        ("eco?eco=ECO-2026-00101", "P200")
    ]
    assert at.toggle(key="awaiting_past_sla").value is True
    assert any(info.value.startswith("Filtered: past SLA") for info in at.info)

    at.button(key="awaiting_clear").click().run()
    assert len(at.dataframe[0].value) == picture.awaiting
    assert at.toggle(key="awaiting_past_sla").value is False
    assert dict(at.query_params) == {}
    assert not at.info

    at.multiselect(key="awaiting_plants").select("P300").run()
    assert at.query_params["plant"] == "P300"  # the address can be shared
    assert list(at.dataframe[0].value["plant"]) == ["P300"]


def test_blocked_plants_link_shows_the_plant_and_why(open_app: Open, picture: Picture) -> None:
    at = open_app(Role.VIEWER, "pages/inbox.py", plant_state="blocked")
    table = at.dataframe[0].value
    assert [(r.eco, r.plant, r.state) for r in table.itertuples()] == [
        ("eco?eco=ECO-2026-00103", "P100", "blocked")
    ]
    assert table.iloc[0]["reason"] == "work center WC-P100-01 is inactive"
    at.button(key="inbox_show").click().run()
    assert "plant_state" not in at.query_params
    # The inbox again (its problems come from the engine's records, empty in this picture).
    assert [t.value for t in at.title] == ["Inbox"] and not at.dataframe


def data_as_of(at: AppTest) -> list[str]:
    return [c.value for c in at.caption if c.value.startswith("Data as of ")]


def banner_warnings(at: AppTest) -> list[str]:
    return [w.value for w in at.warning if w.value.startswith("The pipeline is behind")]


def newest_event_time(db: sa.Engine) -> datetime:
    with db.connect() as connection:
        value = connection.execute(
            sa.text("SELECT time FROM events ORDER BY seq DESC LIMIT 1")
        ).scalar_one()
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def test_every_page_says_how_current_it_is_and_warns_without_an_engine(
    open_app: Open, picture: Picture, db: sa.Engine
) -> None:
    stamp = newest_event_time(db).strftime("%H:%M:%S UTC")
    at = open_app(Role.ADMIN)
    for route in ROUTES:
        at.switch_page(f"pages/{route.file}").run()
        assert not at.exception, route.file
        assert data_as_of(at) == [f"Data as of {stamp}"], route.file
        (warning,) = banner_warnings(at)
        assert "No engine heartbeat for 60 s" in warning, route.file
        assert "No reconciliation has been recorded" in warning, route.file


def reconciled(db: sa.Engine, when: datetime) -> None:
    event = ev.new_event(
        ev.ReconciliationCompleted(
            plants=["P100", "P200"], drift=0, started_at=when, finished_at=when
        ),
        source=ENGINE_SOURCE,
        time=when,
    )
    EventStore(db).append([event], "engine")


def test_no_warning_while_the_pipeline_keeps_up_and_one_when_the_outbox_waits(
    open_app: Open, picture: Picture, db: sa.Engine
) -> None:
    now = datetime.now(UTC)
    reconciled(db, now - timedelta(minutes=5))
    with db.begin() as connection:
        store.beat(connection, "engine-test", now=now)
    at = open_app(Role.VIEWER, "pages/supplier_notices.py")
    assert banner_warnings(at) == []
    assert data_as_of(at) == [f"Data as of {(now - timedelta(minutes=5)):%H:%M:%S} UTC"]

    with store.writing(db) as connection:
        store.emit(
            connection,
            ev.EcoCancelled(eco="ECO-2026-00104", cause="operator", reason="test"),
            now=now - timedelta(seconds=45),
        )
    st.cache_data.clear()  # the banner's reads are cached for a few seconds
    at = open_app(Role.VIEWER, "pages/inbox.py")
    (warning,) = banner_warnings(at)
    assert "1 engine event not delivered to the collector" in warning
    assert "heartbeat" not in warning and "reconciliation" not in warning


def test_the_cycle_time_link_opens_the_report_for_the_same_days(
    open_app: Open, picture: Picture
) -> None:
    overview = open_app(Role.EXECUTIVE)
    link = next(
        link.proto for link in overview.main.get("page_link") if link.proto.page == "cycle-time"
    )
    recent = len(picture.recent_cycle_hours)
    assert any(f"{recent} ECOs production-ready" in c.value for c in overview.caption)
    at = open_app(Role.EXECUTIVE, FILES[link.page], **parse_qs(link.query_string))
    shown = {metric.label: metric.value for metric in at.metric}
    assert shown["ECOs production-ready"] == str(recent)
