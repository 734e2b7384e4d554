"""The Rejected ECOs page and a step's dead letter on the ECO page, under AppTest over the
engine's own store and the collector's projections (SQLite; the queries run on both
databases in tests/dashboards and tests/sync_engine)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import httpx
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from console.auth import Role
from contracts import events as ev
from dashboards.rejected import fix_for
from sync_engine import store
from sync_engine.errors import BusinessError
from sync_engine.exchange import exchange_of
from tests.console.world import EngineWorld
from tests.factories import make_eco
from tests.sync_engine.helpers import claim, receive
from threadline.db import create_engine

pytestmark = pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)

Open = Callable[..., AppTest]


@pytest.fixture
def world(console_env: str) -> Iterator[EngineWorld]:
    engine = create_engine(console_env)
    yield EngineWorld(engine)
    engine.dispose()


def table_with(at: AppTest, column: str) -> pd.DataFrame:
    return next(df.value for df in at.dataframe if column in df.value.columns)


def _refuse(world: EngineWorld, number: str, *paths: str) -> None:
    violations = [ev.Violation(path=path, message=f"{path} is wrong") for path in paths]
    with world.engine.begin() as connection:
        store.record_rejected(
            connection,
            number,
            violations,
            {"number": number, "title": f"Change {number[-3:]}"},
            now=datetime.now(UTC),
        )


def test_rejected_ecos_list_violations_with_what_to_fix(open_app: Open, world: EngineWorld) -> None:
    _refuse(world, "ECO-2026-00901", "effectivity", "plants")
    _refuse(world, "ECO-2026-00902", "affected_items.0.new_revision")
    world.relay()

    at = open_app(Role.VIEWER, "pages/rejected_ecos.py")
    assert "2 rejected ECOs" in [caption.value for caption in at.caption]
    table = table_with(at, "violations")
    assert sorted(table["eco"]) == ["eco?eco=ECO-2026-00901", "eco?eco=ECO-2026-00902"]
    assert sorted(table["title"]) == ["Change 901", "Change 902"]
    violations = table_with(at, "fix")
    assert set(zip(violations["eco"], violations["path"], violations["fix"], strict=True)) == {
        ("ECO-2026-00901", "effectivity", fix_for("effectivity")),
        ("ECO-2026-00901", "plants", fix_for("plants")),
        ("ECO-2026-00902", "affected_items.0.new_revision", fix_for("affected_items")),
    }

    at.selectbox(key="rejected_field").set_value("plants").run()
    assert at.query_params["field"] == "plants"
    assert list(table_with(at, "violations")["eco"]) == ["eco?eco=ECO-2026-00901"]


def test_a_shared_filtered_address_opens_the_filtered_list(
    open_app: Open, world: EngineWorld
) -> None:
    _refuse(world, "ECO-2026-00901", "plants")
    _refuse(world, "ECO-2026-00902", "title")
    world.relay()
    at = open_app(Role.VIEWER, "pages/rejected_ecos.py", eco="ECO-2026-00902")
    assert at.text_input(key="rejected_eco").value == "ECO-2026-00902"
    assert list(table_with(at, "violations")["eco"]) == ["eco?eco=ECO-2026-00902"]


def test_no_rejected_eco_says_so(open_app: Open, world: EngineWorld) -> None:
    at = open_app(Role.VIEWER, "pages/rejected_ecos.py")
    assert any("No ECO is rejected" in s.value for s in at.success)


def test_the_eco_page_shows_the_chosen_steps_last_call(open_app: Open, world: EngineWorld) -> None:
    eco = make_eco()
    receive(world.engine, eco)
    step = next(s for s in claim(world.engine) if s.kind.value == "erp.item_revision")
    request = httpx.Request(
        "PUT",
        "http://erp.test/erp/items/ASM-1001/revisions/C",
        headers={"Authorization": "Bearer tl-page-secret", "Idempotency-Key": "k-1"},
        json={"description": "Pump housing"},
    )
    response = httpx.Response(422, json={"code": "ITEM_LOCKED"}, request=request)
    error = BusinessError("ITEM_LOCKED", "item locked", http_status=422)
    error.exchange = exchange_of(request, response)
    with world.engine.begin() as connection:
        store.fail(connection, step, error, now=datetime.now(UTC), next_attempt_at=None)
    world.relay()

    at = open_app(Role.OPERATOR, "pages/eco.py", eco=eco.number)
    at.selectbox(key="eco_step").set_value(step.step_id).run()
    codes = [code.value for code in at.code]
    assert "PUT http://erp.test/erp/items/ASM-1001/revisions/C" in codes
    assert "HTTP 422" in codes
    shown = repr([j.value for j in at.json]) + repr(codes)
    assert "tl-page-secret" not in shown and "k-1" in shown
    attempts = table_with(at, "error_class")
    assert list(attempts["error_code"]) == ["ITEM_LOCKED"]
