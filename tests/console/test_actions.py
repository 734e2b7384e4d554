"""Operator actions from the console go through sync_engine.commands, say what they did,
show the new status and are audited (on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
import streamlit as st
from streamlit.testing.v1 import AppTest

from console.auth import Role
from tests.console.world import EngineWorld
from threadline.db import create_engine

Open = Callable[..., AppTest]
ECO = "ECO-2026-00500"


@pytest.fixture
def world(console_env: str) -> Iterator[EngineWorld]:
    engine = create_engine(console_env)
    yield EngineWorld(engine)
    engine.dispose()


def status_of(at: AppTest, supplier: str) -> str:
    texts = [markdown.value for markdown in at.markdown]
    return texts[texts.index(supplier) + 1]


def flash(at: AppTest) -> list[str]:
    """The command's message (the freshness banner above every page is not one)."""
    shown = [element.value for kind in ("success", "info", "warning") for element in at.get(kind)]
    return [
        text for text in shown if not text.startswith(("The pipeline is behind", "Operation op\\-"))
    ]


def audit(engine: sa.Engine) -> list[tuple[str, str, str, str]]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT actor, role, action, outcome FROM operator_actions ORDER BY at")
        ).all()
    return [tuple(row) for row in rows]


def test_retry_a_row_shows_the_new_status_and_is_audited(
    open_app: Open, world: EngineWorld
) -> None:
    first, second = world.failed_notices(ECO, ["S010", "S020"])
    at = open_app(Role.OPERATOR, "pages/supplier_notices.py")
    assert status_of(at, "S010") == "failed"
    assert at.button(key=f"retry_{first}").disabled  # until a reason is given
    at.text_input(key="retry_reason_0").input("portal back").run()

    at.button(key=f"retry_{first}").click().run()

    assert flash(at) == ["Queued 1 step for retry."]
    assert status_of(at, "S010") == "retry queued"
    assert status_of(at, "S020") == "failed"

    world.relay()
    assert audit(world.engine) == [("operator", "operator", "retry", "queued")]
    st.cache_data.clear()  # what the few seconds of the results' time-to-live do
    at.run()
    assert "S010" not in [markdown.value for markdown in at.markdown]  # delivered: pending

    at.switch_page("pages/eco.py")
    at.query_params["eco"] = ECO
    at.run()
    history = next(df.value for df in at.dataframe if "actor" in df.value.columns)
    assert list(history["actor"]) == ["operator"]
    assert list(history.iloc[0]["step_ids"]) == [first]
    assert second not in list(history.iloc[0]["step_ids"])


def test_select_many_and_retry_then_click_again(open_app: Open, world: EngineWorld) -> None:
    steps = world.failed_notices(ECO, ["S010", "S020", "S030"])
    at = open_app(Role.ADMIN, "pages/supplier_notices.py")
    at.text_input(key="retry_reason_0").input("portal back").run()
    at.checkbox(key=f"pick_{steps[0]}").check().run()
    at.checkbox(key=f"pick_{steps[2]}").check().run()
    selected = next(b for b in at.button if b.key and b.key.startswith("retry_selected"))
    assert selected.label == "Retry selected (2)"

    selected.click().run()

    assert flash(at) == ["Queued 2 steps for retry."]
    assert [status_of(at, s) for s in ("S010", "S020", "S030")] == [
        "retry queued",
        "failed",
        "retry queued",
    ]
    assert at.text_input(key="retry_reason_0").value == ""  # a reason is given per action
    at.text_input(key="retry_reason_0").input("again").run()
    at.button(key=f"retry_{steps[0]}").click().run()
    assert flash(at) == ["The step is already pending; not queued again."]
    world.relay()
    assert [row[2:] for row in audit(world.engine)] == [
        ("retry_bulk", "queued"),
        ("retry", "already_queued"),
    ]


def test_inbox_skip_needs_a_reason_and_a_group_retry_is_previewed(
    open_app: Open, world: EngineWorld
) -> None:
    steps = world.failed_notices(ECO, ["S010", "S020"])
    at = open_app(Role.OPERATOR, "pages/inbox.py")
    groups = at.dataframe[0].value
    notices = groups.set_index("fingerprint").loc["procurement.supplier_notice:HTTP_502"]
    assert (notices["problems"], notices["team"]) == (2, "procurement-integration")
    assert set(groups["source"]) == {"dead-lettered step", "drift"}  # the world drifts too
    at.selectbox(key="inbox_group").select("procurement.supplier_notice:HTTP_502").run()
    assert at.query_params["fingerprint"] == "procurement.supplier_notice:HTTP_502"
    at.selectbox(key="inbox_problem").select(f"step:{steps[0]}").run()
    assert at.button(key="problem_skip").disabled  # until a reason is given

    at.text_input(key="problem_reason").input("Supplier told by phone").run()
    at.button(key="problem_skip").click().run()
    assert flash(at) == ["Skipped 1 step."]

    at.button(key="inbox_preview_open").click().run()
    said = at.container(key="inbox_preview_box").markdown[0].value
    assert said.startswith("Would retry 1 step of 1 ECO for S020\\.")
    assert "Leaves alone 1 skipped" in said
    assert at.button(key="inbox_retry_confirm").disabled
    at.text_input(key="inbox_retry_reason").input("portal back").run()
    at.button(key="inbox_retry_confirm").click().run()
    assert flash(at) == ["Queued 1 step for retry."]
    world.relay()
    with world.engine.connect() as connection:
        reasons = connection.execute(
            sa.text("SELECT action, reason FROM operator_actions ORDER BY at")
        ).all()
    assert [tuple(row) for row in reasons] == [
        ("skip", "Supplier told by phone"),
        ("retry_bulk", "portal back"),
    ]


def test_cancel_an_eco_from_its_page(open_app: Open, world: EngineWorld) -> None:
    world.failed_notices(ECO, ["S010"])
    at = open_app(Role.OPERATOR, "pages/eco.py", eco=ECO)
    at.button(key="eco_cancel").click().run()
    assert flash(at) == ["Say why the ECO is cancelled: a reason is required."]
    at.text_input(key="eco_cancel_reason").input("Superseded by a redesign")
    at.button(key="eco_cancel").click().run()
    assert flash(at)[0].startswith(f"Cancelled {ECO}:")
    world.relay()
    assert audit(world.engine)[-1] == ("operator", "operator", "cancel_eco", "cancelled")
