"""The Supplier qualification page under AppTest, on seeded purchasing stories."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from streamlit.testing.v1 import AppTest

from console.auth import Role
from tests.dashboards.sourcing_seed import Held, seed_purchasing
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
