"""Under AppTest: the Overview's overdue counts by stage open exactly those rows on the
overdue list, the At risk page lists the ECOs predicted late, and the ECO page and the
awaiting list show p50 and p90."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import parse_qs

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from console.auth import Role
from contracts.sla import Stage
from tests.dashboards.history_seed import RISKY, SAFE, report_overdue, seed_history, seed_in_flight
from threadline.db import create_engine

pytestmark = pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)

Open = Callable[..., AppTest]
OVERDUE = {
    Stage.PENDING: 2,
    Stage.RUNNING: 1,
    Stage.RETRYING: 3,
    Stage.SUPPLIER_NOTICE: 1,
    Stage.ECO: 2,
}


@pytest.fixture
def db(console_env: str) -> Iterator[sa.Engine]:
    engine = create_engine(console_env)
    yield engine
    engine.dispose()


def test_overdue_counts_by_stage_open_exactly_their_rows(open_app: Open, db: sa.Engine) -> None:
    report_overdue(db, OVERDUE)
    overview = open_app(Role.VIEWER)
    assert next(m for m in overview.metric if m.label == "Overdue work").value == "9"
    links = [
        link.proto
        for link in overview.main.get("page_link")
        if link.proto.page == "overdue" and link.proto.query_string
    ]
    assert len(links) == len(OVERDUE)
    for link in links:
        count = int(link.label.split()[0])
        at = open_app(Role.VIEWER, "pages/overdue.py", **parse_qs(link.query_string))
        table = at.dataframe[0].value
        assert len(table) == count, link.label
        assert len(set(table["stage"])) == 1
    everything = open_app(Role.VIEWER, "pages/overdue.py")
    assert len(everything.dataframe[0].value) == sum(OVERDUE.values())
    at = open_app(Role.VIEWER, "pages/overdue.py", stage="retrying")
    assert at.selectbox(key="overdue_stage").value == "retrying"
    assert all(step.startswith("ECO-") for step in at.dataframe[0].value["step_id"])


def test_the_at_risk_page_lists_ecos_predicted_after_their_effectivity(
    open_app: Open, db: sa.Engine
) -> None:
    seed_history(db, days=30)
    seed_in_flight(db)
    at = open_app(Role.VIEWER, "pages/at_risk.py")
    table = at.dataframe[0].value
    assert list(table["eco"]) == [f"eco?eco={RISKY}"]
    assert table.iloc[0]["holding"] == "erp.confirmation awaiting_confirmation"
    assert table.iloc[0]["p90"] >= table.iloc[0]["p50"]
    assert table.iloc[0]["late"] != "—"


def test_the_eco_page_and_the_awaiting_list_show_p50_and_p90(open_app: Open, db: sa.Engine) -> None:
    seed_history(db, days=30)
    seed_in_flight(db)
    at = open_app(Role.VIEWER, "pages/eco.py", eco=SAFE)
    assert "Predicted production-ready" in [s.value for s in at.subheader]
    forecast = next(df.value for df in at.dataframe if "holding" in df.value.columns)
    assert list(forecast["plant"]) == ["P100"]
    assert any(c.value.startswith("p50 ") and " · p90 " in c.value for c in at.caption)
    due = next(df.value for df in at.dataframe if "sla_state" in df.value.columns)
    assert "ERP confirmation" in set(due["stage"]) and "whole ECO" in set(due["stage"])

    awaiting = open_app(Role.VIEWER, "pages/awaiting_confirmation.py")
    listed = next(df.value for df in awaiting.dataframe if "holding" in df.value.columns)
    assert sorted(listed["eco"]) == [f"eco?eco={RISKY}", f"eco?eco={SAFE}"]
