"""Every console page under AppTest, on seeded data: figures match, filters work, roles hold.

Page tests run on SQLite (the queries themselves are tested on both databases in
tests/dashboards); the action tests in test_actions.py run on both.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from console.auth import Role
from console.login import USER_KEY
from tests.console.conftest import APP, PASSWORD
from tests.dashboards.seed import Picture, seed
from threadline.db import create_engine

pytestmark = pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)

Open = Callable[..., AppTest]


@pytest.fixture
def picture(console_env: str) -> Picture:
    engine = create_engine(console_env)
    try:
        return seed(engine)
    finally:
        engine.dispose()


def metrics(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def test_sign_in_with_the_users_file(open_app: Open, picture: Picture) -> None:
    at = open_app(None)
    assert not at.metric
    at.text_input(key="login_username").input("operator")
    at.text_input(key="login_password").input("wrong")
    at.button[0].click().run()
    assert [error.value for error in at.error] == ["Unknown username or wrong password."]
    assert not at.metric

    at.text_input(key="login_password").input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception
    assert metrics(at)["ECOs in flight"] == str(picture.in_flight)
    assert at.session_state[USER_KEY].role is Role.OPERATOR


def test_sign_out(open_app: Open, picture: Picture) -> None:
    at = open_app(Role.OPERATOR)
    assert "Signed in as Operator Person (operator)" in [c.value for c in at.sidebar.caption]
    at.sidebar.button(key="sign_out").click().run()
    assert not at.metric
    assert at.text_input(key="login_username") is not None


def test_a_shared_link_opens_its_page_after_signing_in(open_app: Open, picture: Picture) -> None:
    at = open_app(None, "pages/eco.py", eco="ECO-2026-00103")
    assert not at.subheader
    at.text_input(key="login_username").input("viewer")
    at.text_input(key="login_password").input(PASSWORD)
    at.button[0].click().run()
    assert at.subheader[0].value.startswith("ECO\\-2026\\-00103")


def test_overview_figures_match_the_database(open_app: Open, picture: Picture) -> None:
    at = open_app(Role.VIEWER)

    shown = metrics(at)
    assert shown["ECOs in flight"] == str(picture.in_flight)
    assert shown["Awaiting ERP confirmation"] == str(picture.awaiting)
    assert shown["Blocked plants"] == str(picture.blocked_plants)
    assert shown["Failed supplier notices"] == str(picture.failed_notices)
    assert shown["On a prior revision"] == str(len(picture.late_pairs))
    assert f"(plant, item) pairs, at {picture.plants_behind} plants" in [
        c.value for c in at.caption
    ]
    assert shown["Cycle time p50 · last 30 days"] == "2.0 d"  # p50 of 24, 48 and 72 hours
    past_sla = next(m for m in at.metric if m.label == "Awaiting ERP confirmation")
    assert past_sla.proto.delta == f"{picture.awaiting_past_sla} past SLA"
    links = {link.label: link.proto.page for link in at.get("page_link")}
    assert "Waiting list" in links and "Failed notices" in links
    assert "Cycle time report" not in links  # a viewer has no reports
    assert any(c.value.startswith("Data read at ") for c in at.caption)


def test_awaiting_confirmation_filters(open_app: Open, picture: Picture) -> None:
    at = open_app(Role.VIEWER, "pages/awaiting_confirmation.py")
    table = at.dataframe[0].value
    assert len(table) == picture.awaiting
    assert table.iloc[0]["sla_state"] == "overdue"
    assert list(table["waiting_since"]) == sorted(table["waiting_since"])

    at.multiselect(key="awaiting_plants").select("P300").run()
    assert list(at.dataframe[0].value["plant"]) == ["P300"]
    at.multiselect(key="awaiting_plants").unselect("P300").run()
    at.toggle(key="awaiting_past_sla").set_value(True).run()
    assert list(at.dataframe[0].value["plant"]) == ["P200"]
    at.toggle(key="awaiting_past_sla").set_value(False).run()
    at.multiselect(key="awaiting_families").select("VALVES").run()
    assert sorted(at.dataframe[0].value["plant"]) == ["P300", "P400"]


def test_plants_on_a_prior_revision_drill_down(open_app: Open, picture: Picture) -> None:
    at = open_app(Role.VIEWER, "pages/prior_revisions.py")
    table = at.dataframe[0].value
    assert [(r.plant, r.item, r.days_late) for r in table.itertuples()] == list(picture.late_pairs)
    at.selectbox(key="late_plant").select("P100").run()
    table = at.dataframe[0].value
    assert list(table["plant"]) == ["P100"]
    assert table.iloc[0]["reason"] == "blocked: work center WC-P100-01 is inactive"
    assert (table.iloc[0]["erp_revision"], table.iloc[0]["target_revision"]) == ("C", "D")


def test_eco_page_from_the_query_parameter(open_app: Open, picture: Picture) -> None:
    at = open_app(Role.VIEWER, "pages/eco.py", eco="ECO-2026-00103")
    assert at.subheader[0].value.startswith("ECO\\-2026\\-00103")
    assert metrics(at)["State"] == "blocked"
    engine = create_engine(picture_url(at))
    with engine.connect() as connection:
        stored = connection.execute(
            sa.text("SELECT count(*) FROM events WHERE correlationid = 'ECO-2026-00103'")
        ).scalar_one()
    engine.dispose()
    assert f"Rows 1 to {min(stored, 25)} of {stored}" in [c.value for c in at.caption]
    history = next(df.value for df in at.dataframe if "actor" in df.value.columns)
    assert list(history["actor"]) == ["lin"]
    assert all(button.disabled for button in at.button if button.key and "eco_" in button.key)


def test_eco_search_lists_close_matches(open_app: Open, picture: Picture) -> None:
    at = open_app(Role.VIEWER, "pages/eco.py")
    at.text_input(key="eco_search").input("ECO-2026-0010").run()
    labels = sorted(link.label for link in at.get("page_link"))
    assert labels == [f"ECO\\-2026\\-0010{n}" for n in range(1, 5)]
    at.text_input(key="eco_search").input("ECO-1999").run()
    assert any(warning.value.startswith("No ECO") for warning in at.warning)


def test_cycle_time_report(open_app: Open, picture: Picture) -> None:
    at = open_app(Role.EXECUTIVE, "pages/cycle_time.py")
    done = len(picture.recent_cycle_hours) + len(picture.previous_cycle_hours)
    assert metrics(at)["ECOs production-ready"] == str(done)
    families = at.dataframe[0].value.set_index("product_family")
    assert families.loc["PUMPS", "count"] == 3 and families.loc["VALVES", "count"] == 2
    assert families.loc["PUMPS", "p50_total_h"] == 72.0

    at.button_group(key="cycle_by").set_value("plant").run()
    plants = at.dataframe[0].value
    assert list(plants.columns[:2]) == ["plant", "count"]
    assert at.get("download_button")

    today = datetime.now(UTC).date()
    at.date_input(key="cycle_range").set_value((today, today)).run()
    assert metrics(at)["ECOs production-ready"] == "0"


@pytest.mark.parametrize("role", [Role.VIEWER, Role.OPERATOR])
def test_reports_need_executive_or_admin(open_app: Open, picture: Picture, role: Role) -> None:
    at = open_app(role)
    with pytest.raises(ValueError, match="navigation page"):
        at.switch_page("pages/cycle_time.py")


def test_viewers_cannot_act(open_app: Open, picture: Picture) -> None:
    at = open_app(Role.VIEWER, "pages/supplier_notices.py")
    retry = [button for button in at.button if button.key and button.key.startswith("retry")]
    assert retry and all(button.disabled for button in retry)


def picture_url(at: AppTest) -> str:
    from threadline.settings import get_settings

    return get_settings().database_url


AUTH_SECRETS = {
    "auth": {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "a-long-enough-cookie-secret",
        "client_id": "threadline",
        "client_secret": "not-a-real-secret",
        "server_metadata_url": "https://id.example.com/.well-known/openid-configuration",
    }
}


def test_openid_connect_user_gets_the_role_from_a_claim(console_env: str, picture: Picture) -> None:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.secrets.update(AUTH_SECRETS)
    at.user = {
        "is_logged_in": True,
        "email": "ada@example.com",
        "name": "Ada Lovelace",
        "threadline_role": "operator",
    }
    at.run()
    assert not at.exception, at.exception
    user = at.session_state[USER_KEY]
    assert (user.username, user.role, user.source) == ("ada@example.com", Role.OPERATOR, "oidc")
    assert metrics(at)["ECOs in flight"] == str(picture.in_flight)


def test_openid_connect_user_without_a_role_is_refused(console_env: str, picture: Picture) -> None:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.secrets.update(AUTH_SECRETS)
    at.user = {"is_logged_in": True, "email": "stranger@example.com"}
    at.run()
    assert not at.metric
    assert "Your account has no console role." in at.error[0].value
    assert at.button(key="oidc").label == "Sign in with your organisation's account"
