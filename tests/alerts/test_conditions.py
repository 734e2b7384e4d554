"""What each rule kind finds in the seeded picture, grouped as one alert per group, each
linking to the console list that shows exactly its rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa

from alerts.conditions import evaluate
from alerts.rules import Rule, RuleKind
from collector.samples import Emitter
from console.routes import ROUTES
from contracts.operator_events import OperatorActionTaken, WorkOverdue
from contracts.sla import Stage
from contracts.steps import StepKind
from dashboards.exceptions import PlantFilter, count_plants
from dashboards.notices import NoticeFilter, count_notices
from tests.alerts.conftest import tell
from tests.dashboards.seed import seed

RULES = (
    Rule(name="blocked", kind=RuleKind.PLANT_BLOCKED, longer_than=3600),
    Rule(name="notices", kind=RuleKind.FAILED_NOTICES, at_least=1),
    Rule(name="dead", kind=RuleKind.DEAD_LETTERS, at_least=1),
    Rule(name="risk", kind=RuleKind.AT_RISK),
    Rule(name="overdue", kind=RuleKind.OVERDUE),
)


def test_each_kind_finds_its_groups_in_the_seeded_picture(engine: sa.Engine) -> None:
    picture = seed(engine)
    with engine.connect() as connection:
        found = {(f.rule, f.key): f for f in evaluate(connection, RULES, picture.now)}
    assert set(found) == {
        ("blocked", "P100"),  # C's routing, blocked five days ago
        ("notices", "S020"),  # B's notice, refused for good
        ("dead", "procurement:procurement.supplier_notice:INVALID_SUPPLIER_CONTACT"),
        ("risk", "P200"),  # A, effective a week ago, still waits for ERP at P200
        ("risk", "P100"),  # C, effective five days ago, blocked at P100
    }
    blocked = found[("blocked", "P100")]
    assert blocked.lines == (
        "ECO-2026-00103 at P100: work center WC-P100-01 is inactive "
        f"(since {blocked_since(engine):%Y-%m-%d %H:%M} UTC)",
    )
    assert "ECO-2026-00101" in found[("risk", "P200")].lines[0]
    assert found[("risk", "P200")].link == "eco?eco=ECO-2026-00101"
    # Each link opens a page that exists and lists exactly the rows counted.
    pages = {route.url_path for route in ROUTES}
    assert {urlsplit(f.link).path for f in found.values()} <= pages
    query = parse_qs(urlsplit(blocked.link).query)
    with engine.connect() as connection:
        assert count_plants(connection, PlantFilter.from_query(query)) == blocked.count == 1
        notices = found[("notices", "S020")]
        notice_query = parse_qs(urlsplit(notices.link).query)
        assert count_notices(connection, NoticeFilter.from_query(notice_query)) == notices.count


def blocked_since(engine: sa.Engine) -> object:
    from collector.tables import eco_plants

    with engine.connect() as connection:
        return connection.execute(
            sa.select(eco_plants.c.updated_at).where(eco_plants.c.state == "blocked")
        ).scalar_one()


def test_a_blocked_plant_younger_than_the_rule_allows_is_not_an_alert(engine: sa.Engine) -> None:
    picture = seed(engine)
    patient = Rule(name="blocked", kind=RuleKind.PLANT_BLOCKED, longer_than=6 * 86400)
    with engine.connect() as connection:
        assert evaluate(connection, (patient,), picture.now) == []


def test_overdue_work_is_one_alert_per_stage(engine: sa.Engine) -> None:
    picture = seed(engine)
    # A at P200 and B at P300 have waited for ERP past their SLA.
    for eco, plant, item in (
        ("ECO-2026-00101", "P200", "ASM-1001"),
        ("ECO-2026-00102", "P300", "VLV-3001"),
    ):
        story = Emitter(eco=eco, clock=picture.now, sequence_prefix="OVR")
        story.emit(
            WorkOverdue(
                stage=Stage.ERP_CONFIRMATION,
                eco=eco,
                step_id=f"{eco}/erp.confirmation/{plant}/{item}",
                kind=StepKind.ERP_CONFIRMATION,
                plant=plant,
                item=item,
                since=picture.now - timedelta(hours=2),
                due_at=picture.now - timedelta(hours=1),
                sla_seconds=3600,
            )
        )
        tell(engine, story)
    rules = (
        Rule(name="overdue", kind=RuleKind.OVERDUE, at_least=2, stage="erp_confirmation"),
        Rule(name="one", kind=RuleKind.OVERDUE, at_least=3),
    )
    with engine.connect() as connection:
        (finding,) = evaluate(connection, rules, picture.now)
    assert (finding.rule, finding.key, finding.count) == ("overdue", "erp_confirmation", 2)
    assert finding.title == "2 pieces of work overdue in stage erp_confirmation"
    assert finding.link == "overdue?stage=erp_confirmation"


def test_the_pipeline_behind_an_old_outbox_event_and_a_silent_engine(engine: sa.Engine) -> None:
    from contracts.steps import OperatorAction
    from sync_engine import store as engine_store

    now = datetime.now(UTC)
    with engine_store.writing(engine) as connection:
        engine_store.beat(connection, "engine-old", now=now - timedelta(minutes=10))
        engine_store.beat(connection, "engine-live", now=now)
        engine_store.emit(
            connection,
            OperatorActionTaken(
                actor="ada", action=OperatorAction.RECONCILE, outcome="queued", reason="now"
            ),
            now=now - timedelta(minutes=7),
        )
    rules = (
        Rule(name="outbox", kind=RuleKind.OUTBOX_BEHIND, longer_than=300),
        Rule(name="heartbeat", kind=RuleKind.HEARTBEAT, longer_than=120),
    )
    with engine.connect() as connection:
        found = {(f.rule, f.key): f for f in evaluate(connection, rules, now)}
    assert set(found) == {("outbox", "outbox"), ("heartbeat", "engine-old")}
    assert found[("outbox", "outbox")].title.startswith("1 engine event waiting for the collector")
    assert found[("heartbeat", "engine-old")].title == (
        "Engine engine-old stopped sending heartbeats 10 min ago"
    )
    patient = (Rule(name="outbox", kind=RuleKind.OUTBOX_BEHIND, longer_than=600),)
    with engine.connect() as connection:
        assert evaluate(connection, patient, now) == []
