"""The Supplier qualification page under AppTest, on seeded purchasing stories."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from streamlit.testing.v1 import AppTest

from console.auth import Role
from tests.dashboards.sourcing_seed import Held, seed_impact, seed_purchasing
from threadline.db import create_engine

pytestmark = pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)

PAGE = "pages/supplier_qualification.py"


@pytest.fixture
def seeded(console_env: str) -> dict[str, set[Held]]:
    engine = create_engine(console_env)
    try:
        return seed_purchasing(engine, datetime.now(UTC))
    finally:
        engine.dispose()


def test_waiting_rejected_and_contracts_missing(
    open_app: Callable[..., AppTest], seeded: dict[str, set[Held]]
) -> None:
    at = open_app(Role.VIEWER, PAGE)
    summary, waiting, rejected, missing = (frame.value for frame in at.dataframe)
    assert set(summary["supplier"]) == {"S010", "S020", "S030", "S040"}
    assert sorted(zip(waiting["supplier"], waiting["plant"], strict=True)) == [
        ("S010", "P100"),
        ("S020", "central"),
    ]
    assert list(waiting["sla_state"]) == ["overdue", "on time"]
    assert all(link.endswith("eco=ECO-2026-00301") for link in waiting["eco"][:1])
    assert list(rejected["supplier"]) == ["S030"]
    assert "porosity" in rejected["reason"][0]
    assert list(missing["supplier"]) == ["S040"]


def test_the_filter_lives_in_the_address(
    open_app: Callable[..., AppTest], seeded: dict[str, set[Held]]
) -> None:
    at = open_app(Role.VIEWER, PAGE, past_sla="1")
    waiting = at.dataframe[1].value
    assert list(waiting["supplier"]) == ["S010"]
    assert any("past SLA" in info.value for info in at.info)
    at = open_app(Role.VIEWER, PAGE, supplier="S030")
    assert list(at.dataframe[2].value["supplier"]) == ["S030"]
    assert at.dataframe[1].value.empty


@pytest.fixture
def impacts(seeded: dict[str, set[Held]], console_env: str) -> None:
    engine = create_engine(console_env)
    try:
        seed_impact(engine)
    finally:
        engine.dispose()


def test_status_pivot_cells_link_to_their_rows(
    open_app: Callable[..., AppTest], impacts: None
) -> None:
    at = open_app(Role.VIEWER, "pages/status.py")
    pivot = at.dataframe[0].value.set_index("Plant")
    assert pivot.loc["P100", "purchasing"].startswith("status?plant=P100&stage=purchasing&n=")
    at = open_app(Role.VIEWER, "pages/status.py", plant="P100", stage="purchasing")
    rows = at.dataframe[1].value
    assert set(rows["supplier"]) == {"S010", "S040"}  # waiting and without a contract


def test_exposure_page_overview_figure_and_eco_section(
    open_app: Callable[..., AppTest], impacts: None
) -> None:
    at = open_app(Role.VIEWER, "pages/exposure.py")
    rows = at.dataframe[0].value
    assert sorted(rows["item"]) == ["ASM-1001", "CMP-2001"]
    at = open_app(Role.VIEWER)
    figures = {metric.label: metric.value for metric in at.metric}
    assert figures["Exposure: purchase orders at risk"] == "900"
    assert figures["Exposure: production orders at risk"] == "2"
    at = open_app(Role.VIEWER, "pages/eco.py", eco="ECO-2026-00301")
    assert "Business impact" in [header.value for header in at.subheader]


def test_supplier_view(open_app: Callable[..., AppTest], impacts: None) -> None:
    at = open_app(Role.VIEWER, "pages/supplier.py", supplier="S030")
    failures = at.dataframe[0].value
    assert list(failures["state"]) == ["blocked"]
    at = open_app(Role.VIEWER, "pages/supplier.py", supplier="S050")
    assert list(at.dataframe[1].value["status"]) == ["qualified"]
    assert list(at.dataframe[2].value["info_record"]) == ["PIR-000001"]
