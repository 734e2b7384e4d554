"""The Inbox and Operations pages under AppTest, on the engine's own records."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from console.auth import Role
from contracts.sourcing_events import ImpactAssessed
from sync_engine import store
from tests.console.test_actions import flash
from tests.console.world import EngineWorld
from threadline.db import create_engine
from threadline.settings import get_settings

pytestmark = pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)

Open = Callable[..., AppTest]
ECO = "ECO-2026-00500"
NOTICES = "procurement.supplier_notice:HTTP_502"


@pytest.fixture
def world(console_env: str) -> Iterator[EngineWorld]:
    engine = create_engine(console_env)
    yield EngineWorld(engine)
    engine.dispose()


def _rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> Path:
    path = tmp_path / "ownership.toml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("THREADLINE_OWNERSHIP_FILE", str(path))
    get_settings.cache_clear()
    st.cache_resource.clear()
    return path


def test_the_filter_lives_in_the_address_and_a_shared_link_opens_it(
    open_app: Open, world: EngineWorld
) -> None:
    world.failed_notices(ECO, ["S010", "S020"])
    at = open_app(Role.VIEWER, "pages/inbox.py", team="procurement-integration")
    assert at.multiselect(key="inbox_team").value == ["procurement-integration"]
    groups = at.dataframe[0].value
    assert list(groups["fingerprint"]) == [NOTICES]  # the drift belongs to plant engineering
    assert list(groups["problems"]) == [2] and list(groups["retry fixes"]) == ["yes"]
    at.multiselect(key="inbox_supplier").select("S020").run()
    assert at.query_params["supplier"] == "S020"
    rows = at.dataframe[1].value
    assert list(rows["supplier"]) == ["S020"] and list(rows["status"]) == ["new"]
    assert at.button(key="inbox_preview_open").disabled  # a viewer cannot act


def test_acknowledge_and_note_a_problem(open_app: Open, world: EngineWorld) -> None:
    first, _ = world.failed_notices(ECO, ["S010", "S020"])
    at = open_app(Role.OPERATOR, "pages/inbox.py", fingerprint=NOTICES)
    at.selectbox(key="inbox_problem").select(f"step:{first}").run()
    assert at.button(key="problem_ack").disabled
    at.text_input(key="problem_reason").input("I call the portal team").run()
    at.button(key="problem_ack").click().run()
    assert flash(at) == ["Acknowledged by operator."]
    at.text_area(key="problem_note").input("portal team says 10 minutes").run()
    at.button(key="problem_add_note").click().run()
    rows = at.dataframe[1].value.set_index("problem")
    assert rows.loc[f"step:{first}", "status"] == "acknowledged"
    notes = [c.value for c in at.caption if "portal team says" in c.value]
    assert len(notes) == 1 and "operator" in notes[0]


def test_edit_and_retry_names_every_error_and_shows_the_diff(
    open_app: Open, world: EngineWorld
) -> None:
    first, _ = world.failed_notices(ECO, ["S010", "S020"])
    at = open_app(Role.OPERATOR, "pages/inbox.py", fingerprint=NOTICES)
    at.selectbox(key="inbox_problem").select(f"step:{first}").run()
    editor = at.text_area(key=f"edit_{first}_json")
    payload = json.loads(editor.value)
    editor.input(json.dumps({**payload, "supplier": "S999", "items": "ASM"})).run()
    errors = [e.value.replace("\\", "") for e in at.error]
    assert any(e.startswith("items: Input should be a valid tuple") for e in errors)
    assert any(e.startswith("supplier: must stay 'S010'") for e in errors)
    assert at.button(key=f"edit_{first}_send").disabled
    edited = {**payload, "message": "ECO-2026-00500 corrected: effective next week"}
    at.text_area(key=f"edit_{first}_json").input(json.dumps(edited)).run()
    assert not at.error
    diff = next(c.value for c in at.code if c.language == "diff")
    assert '+  "message": "ECO-2026-00500 corrected: effective next week",' in diff
    at.text_input(key=f"edit_{first}_reason").input("message was wrong").run()
    at.button(key=f"edit_{first}_send").click().run()
    assert flash(at) == ["Sent 1 step again with the edited payload under a new idempotency key."]
    with world.engine.connect() as connection:
        step = store.get_step(connection, first)
    assert step is not None and step.payload == edited


def test_a_group_a_retry_cannot_fix_asks_to_be_sure_and_the_operation_is_followed(
    open_app: Open, world: EngineWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _rules(
        tmp_path,
        monkeypatch,
        '[[rule]]\ncode = "HTTP_502"\nteam = "portal"\nretry_fixes = false\n'
        'fix_hint = "needs a fix in procurement: {supplier}\'s portal is down"\n'
        '[[rule]]\nteam = "rest"\n',
    )
    world.failed_notices(ECO, ["S010"])
    at = open_app(Role.OPERATOR, "pages/inbox.py", fingerprint=NOTICES)
    assert "A retry cannot fix this: needs a fix in procurement: S010's portal is down" in [
        w.value.replace("\\", "") for w in at.warning
    ]
    at.button(key="inbox_preview_open").click().run()
    at.text_input(key="inbox_retry_reason").input("portal back").run()
    assert at.button(key="inbox_retry_confirm").disabled  # not sure yet
    at.checkbox(key="inbox_retry_anyway").check().run()
    at.button(key="inbox_retry_confirm").click().run()
    assert flash(at) == ["Queued 1 step for retry."]
    followed = [i.value.replace("\\", "") for i in at.info if i.value.startswith("Operation op")]
    assert len(followed) == 1 and followed[0].endswith("queued: 1 step")

    at.switch_page("pages/operations.py").run()
    table = at.dataframe[0].value
    assert list(table["action"]) == ["retry_bulk"] and list(table["reason"]) == ["portal back"]
    assert list(table["outcome"]) == ["queued: 1 step"]


def test_a_bad_ownership_file_is_named_on_the_page(
    open_app: Open, world: EngineWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _rules(tmp_path, monkeypatch, '[[rule]]\nteam = "a"\nseverity = "urgent"\n')
    at = open_app(Role.OPERATOR, "pages/inbox.py")
    (error,) = at.error
    assert str(path) in error.value.replace("\\", "") and "line 3" in error.value


def test_a_problem_shows_what_its_eco_puts_at_risk(open_app: Open, world: EngineWorld) -> None:
    first, _ = world.failed_notices(ECO, ["S010", "S020"])
    with world.engine.begin() as connection:
        store.emit(
            connection,
            ImpactAssessed(
                eco=ECO,
                plant="P100",
                item="CMP-2001",
                superseded_revision="A",
                purchase_orders=3,
                purchase_value=4500.0,
                production_orders=1,
                production_quantity=40.0,
                read_at=datetime.now(UTC),
            ),
            now=datetime.now(UTC),
        )
    world.relay()
    at = open_app(Role.OPERATOR, "pages/inbox.py", fingerprint=NOTICES)
    at.selectbox(key="inbox_problem").select(f"step:{first}").run()
    assert "Business impact" in [h.value for h in at.subheader]
    risk = [c.value for c in at.caption if "still buy a superseded revision" in c.value]
    assert risk and risk[0].startswith("3 open purchase orders (4,500.00)")
