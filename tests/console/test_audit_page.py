"""The Audit log page under AppTest: who may open it, the rows, the filter in the address
and the CSV export (SQLite; the query runs on both databases in tests/dashboards)."""

from __future__ import annotations

import io
from collections.abc import Callable

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from console import state
from console.auth import Role
from dashboards.audit import AuditFilter
from tests.dashboards.test_audit import _seed
from threadline.db import create_engine

pytestmark = pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)

Open = Callable[..., AppTest]
PAGE = "pages/audit_log.py"


@pytest.fixture
def seeded(console_env: str) -> None:
    engine = create_engine(console_env)
    try:
        _seed(engine)
    finally:
        engine.dispose()


def table(at: AppTest) -> pd.DataFrame:
    return next(df.value for df in at.dataframe if "operation_outcome" in df.value.columns)


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.EXECUTIVE, Role.ADMIN])
def test_operators_executives_and_admins_read_every_action(
    open_app: Open, seeded: None, role: Role
) -> None:
    at = open_app(role, PAGE)
    assert "3 actions" in [caption.value for caption in at.caption]
    rows = table(at)
    assert list(rows["actor"]) == ["ada@example.com", "cli:lin", "ada@example.com"]
    assert rows.iloc[0].operation_outcome.startswith("done: 1 succeeded, 1 failed again")
    # Read-only: the page offers no action, only paging and the export.
    assert {button.key for button in at.button} <= {"audit_previous", "audit_next", "sign_out"}
    assert at.get("download_button")


def test_viewers_do_not_see_the_audit_log(open_app: Open, seeded: None) -> None:
    at = open_app(Role.VIEWER)
    with pytest.raises(ValueError, match="navigation page"):
        at.switch_page(PAGE)


def test_the_filter_lives_in_the_address_and_the_export_follows_it(
    open_app: Open, seeded: None
) -> None:
    at = open_app(Role.OPERATOR, PAGE, actor="cli:lin")
    assert at.text_input(key="audit_actor").value == "cli:lin"
    assert list(table(at)["action"]) == ["skip"]

    at.text_input(key="audit_actor").input("").run()
    at.multiselect(key="audit_actions").set_value(["retry", "retry_bulk"]).run()
    assert at.query_params["action"] == ["retry", "retry_bulk"]
    assert list(table(at)["action"]) == ["retry_bulk", "retry"]
    assert at.get("download_button")
    # The button serves what the page's filter exports.
    address = {k: v if isinstance(v, list) else [v] for k, v in at.query_params.items()}
    shown = AuditFilter.from_query(address)
    exported = pd.read_csv(io.StringIO(state.audit_csv(state.database_url(), shown)))
    assert list(exported["action"]) == ["retry_bulk", "retry"]
    assert list(exported.columns)[:4] == ["at", "actor", "role", "action"]
