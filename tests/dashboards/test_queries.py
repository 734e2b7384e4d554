"""The dashboards' queries over projections the collector built from seeded events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from contracts.readmodel import NoticeStatus
from dashboards import confirmations, cycle_time, ecos, exceptions, notices, overview, revisions
from dashboards.confirmations import ConfirmationFilter
from dashboards.notices import NoticeFilter
from dashboards.stats import percentile
from tests.dashboards.seed import Picture, seed

HOUR = 3600.0


@pytest.fixture
def picture(engine: sa.Engine) -> Picture:
    return seed(engine)


def test_overview_figures(engine: sa.Engine, picture: Picture) -> None:
    kpis = overview.overview_kpis(engine, now=picture.now)

    assert kpis.ecos_in_flight.value == picture.in_flight
    assert kpis.awaiting_confirmation.value == picture.awaiting
    assert kpis.awaiting_past_sla.value == picture.awaiting_past_sla
    assert kpis.blocked_plants.value == picture.blocked_plants
    assert kpis.failed_supplier_notices.value == picture.failed_notices
    assert kpis.plants_on_prior_revision == picture.plants_behind
    assert kpis.prior_revision.value == len(picture.late_pairs)
    recent = [h * HOUR for h in picture.recent_cycle_hours]
    previous = [h * HOUR for h in picture.previous_cycle_hours]
    assert kpis.cycle_recent.count == len(recent)
    assert kpis.cycle_recent.p50_seconds == pytest.approx(percentile(recent, 50))
    assert kpis.cycle_recent.p90_seconds == pytest.approx(percentile(recent, 90))
    assert kpis.cycle_previous.count == len(previous)
    assert kpis.cycle_previous.p50_seconds == pytest.approx(percentile(previous, 50))


def test_awaiting_confirmation_oldest_first_with_sla_state(
    engine: sa.Engine, picture: Picture
) -> None:
    page = confirmations.awaiting_confirmation(engine, now=picture.now)

    assert page.total == picture.awaiting
    rows = page.rows
    assert list(rows["waiting_since"]) == sorted(rows["waiting_since"])
    first = rows.iloc[0]
    assert (first["eco"], first["plant"], first["sla_state"]) == (
        "ECO-2026-00101",
        "P200",
        "overdue",
    )
    assert first["waiting_seconds"] == pytest.approx(2 * HOUR, abs=60)
    assert set(rows["sla_state"][1:]) == {"on time"}


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        (ConfirmationFilter(plants=("P300",)), {("ECO-2026-00102", "P300")}),
        (
            ConfirmationFilter(product_families=("VALVES",)),
            {("ECO-2026-00102", "P300"), ("ECO-2026-00102", "P400")},
        ),
        (ConfirmationFilter(min_age=timedelta(hours=1)), {("ECO-2026-00101", "P200")}),
        (ConfirmationFilter(past_sla_only=True), {("ECO-2026-00101", "P200")}),
        (ConfirmationFilter(plants=("P999",)), set()),
    ],
)
def test_awaiting_confirmation_filters(
    engine: sa.Engine, picture: Picture, criteria: ConfirmationFilter, expected: set[object]
) -> None:
    page = confirmations.awaiting_confirmation(engine, criteria, now=picture.now)
    assert set(zip(page.rows["eco"], page.rows["plant"], strict=True)) == expected
    assert page.total == len(expected)


def test_awaiting_confirmation_pages(engine: sa.Engine, picture: Picture) -> None:
    first = confirmations.awaiting_confirmation(engine, now=picture.now, limit=2)
    second = confirmations.awaiting_confirmation(engine, now=picture.now, limit=2, offset=2)
    assert (len(first.rows), first.has_next, first.has_previous) == (2, True, False)
    assert (len(second.rows), second.has_next, second.has_previous) == (1, False, True)
    assert set(first.rows["step_id"]).isdisjoint(second.rows["step_id"])
    plants, families = confirmations.awaiting_filter_options(engine)
    assert list(plants) == ["P200", "P300", "P400"]
    assert list(families) == ["PUMPS", "VALVES"]


def test_plants_on_a_prior_revision(engine: sa.Engine, picture: Picture) -> None:
    today = picture.now.date()
    matrix = revisions.lag_matrix(engine, today=today)
    page = revisions.late_plants(engine, today=today)

    expected = {(plant, item): days for plant, item, days in picture.late_pairs}
    assert matrix.items_behind == len({item for _, item in expected})
    shown = {(plant, item): matrix.days.loc[item, plant] for plant, item in expected}
    assert shown == expected
    assert [(r.plant, r.item, r.days_late) for r in page.rows.itertuples()] == [
        (plant, item, days) for plant, item, days in picture.late_pairs
    ]
    blocked = page.rows.set_index("plant").loc["P100"]
    assert blocked["reason"] == "blocked: work center WC-P100-01 is inactive"
    assert blocked["erp_revision"] == "C" and blocked["target_revision"] == "D"
    assert blocked["target_eco"] == "ECO-2026-00103" and blocked["behind_in"] == "ERP"
    awaiting = page.rows.set_index("plant").loc["P200"]
    assert awaiting["erp_revision"] == "B" and awaiting["target_revision"] == "C"
    assert awaiting["reason"] == "awaiting ERP confirmation"
    only = revisions.late_plants(engine, today=today, plant="P100")
    assert list(only.rows["plant"]) == ["P100"]


def test_failed_supplier_notices_grouped_by_error(engine: sa.Engine, picture: Picture) -> None:
    groups = notices.notice_error_groups(engine)
    assert dict(zip(groups["error"], groups["notices"], strict=True)) == {
        "INVALID_SUPPLIER_CONTACT": 1,
        "HTTP_502": 1,
    }
    failed = notices.failed_notices(engine, NoticeFilter(statuses=(NoticeStatus.FAILED,)))
    assert list(failed.rows["step_id"]) == [picture.failed_notice_step]
    grouped = notices.failed_notices(engine, NoticeFilter(error="HTTP_502"))
    row = grouped.rows.iloc[0]
    assert (row["step_id"], row["status"], row["attempts"]) == (
        picture.retrying_notice_step,
        "retrying",
        1,
    )
    assert row["next_retry_at"] is not None


def test_exceptions_grouped_by_fingerprint(engine: sa.Engine, picture: Picture) -> None:
    groups = exceptions.failure_groups(engine).set_index("fingerprint")
    assert groups.loc["erp:erp.routing:WORK_CENTER_INACTIVE", "blocked"] == 1
    notice_group = "procurement:procurement.supplier_notice:INVALID_SUPPLIER_CONTACT"
    assert groups.loc[notice_group, "failed"] == 1
    assert int(groups["steps"].sum()) == 2
    page = exceptions.open_steps(engine, fingerprint="erp:erp.routing:WORK_CENTER_INACTIVE")
    assert list(page.rows["step_id"]) == [picture.blocked_step]
    assert exceptions.open_steps(engine, eco="ECO-2026-00101").total == 0


def test_eco_search(engine: sa.Engine, picture: Picture) -> None:
    assert ecos.find_eco(engine, " ECO-2026-00103 ").eco == "ECO-2026-00103"
    partial = ecos.find_eco(engine, "eco-2026-001")
    assert partial.eco is None
    assert set(partial.matches) == {f"ECO-2026-0010{n}" for n in range(1, 5)}
    assert ecos.find_eco(engine, "nothing%").matches == ()


def test_eco_detail_timeline_events_and_actions(engine: sa.Engine, picture: Picture) -> None:
    eco = "ECO-2026-00103"
    summary = ecos.eco_summary(engine, eco)
    assert summary is not None and summary["state"] == "blocked"
    assert list(ecos.eco_plant_rows(engine, eco)["state"]) == ["blocked"]
    timeline = ecos.step_timeline(engine, eco, now=picture.now)
    routing = timeline[timeline["step_id"] == picture.blocked_step]
    assert list(routing["state"]) == ["waiting", "pending", "running", "blocked"]
    assert (routing["end"] >= routing["start"]).all()

    with engine.connect() as connection:
        stored = connection.execute(
            sa.text("SELECT count(*) FROM events WHERE correlationid = :eco"), {"eco": eco}
        ).scalar_one()
    first = ecos.raw_events(engine, eco, limit=10)
    last = ecos.raw_events(engine, eco, limit=10, offset=(stored - 1) // 10 * 10)
    assert first.total == stored and len(first.rows) == 10
    assert list(first.rows["seq"]) == sorted(first.rows["seq"])
    event = first.rows.iloc[0]["event"]
    assert event["specversion"] == "1.0" and event["type"] == "io.threadline.eco.received.v1"
    assert event["correlationid"] == eco and event["data"]["eco"] == eco
    assert not last.has_next

    actions = ecos.eco_operator_actions(engine, eco)
    assert list(actions["actor"]) == ["lin"]
    assert list(actions.iloc[0]["step_ids"]) == [picture.blocked_step]


def test_cycle_time_percentiles(engine: sa.Engine, picture: Picture) -> None:
    start = (picture.now - timedelta(days=60)).date()
    end = picture.now.date()
    rows = cycle_time.cycle_rows(engine, start, end, by_plant=False)
    hours = sorted(picture.recent_cycle_hours + picture.previous_cycle_hours)
    assert sorted(rows["total_h"].round(3)) == hours

    families = cycle_time.cycle_percentiles(rows, cycle_time.Dimension.PRODUCT_FAMILY)
    by_family = families.set_index("product_family")
    pumps = [24.0, 72.0, 120.0]
    assert by_family.loc["PUMPS", "count"] == 3
    assert by_family.loc["PUMPS", "p50_total_h"] == pytest.approx(percentile(pumps, 50))
    assert by_family.loc["PUMPS", "p95_total_h"] == pytest.approx(percentile(pumps, 95))
    assert by_family.loc["VALVES", "p90_total_h"] == pytest.approx(percentile([48.0, 96.0], 90))

    trend = cycle_time.monthly_trend(rows)
    assert trend["count"].sum() == len(hours)
    ready_days = (1, 2, 3, 40, 45)  # as seeded
    months = {(picture.now - timedelta(days=d)).strftime("%Y-%m") for d in ready_days}
    assert set(trend["month"]) == months
    recent_only = cycle_time.cycle_rows(
        engine, (picture.now - timedelta(days=30)).date(), end, by_plant=False
    )
    assert len(recent_only) == len(picture.recent_cycle_hours)
    plants = cycle_time.cycle_rows(engine, start, end, by_plant=True)
    by_plant = cycle_time.cycle_percentiles(plants, cycle_time.Dimension.PLANT)
    # Five single-plant ECOs and ECO-2026-00101's P100 became ready in the range.
    assert by_plant.set_index("plant").loc["P100", "count"] == len(hours) + 1


def test_empty_database_gives_empty_results(engine: sa.Engine) -> None:
    kpis = overview.overview_kpis(engine)
    assert (kpis.ecos_in_flight.value, kpis.cycle_recent.p50_seconds) == (0, None)
    assert revisions.lag_matrix(engine).days.empty
    assert notices.notice_error_groups(engine).empty
    assert exceptions.failure_groups(engine).empty
    assert confirmations.awaiting_confirmation(engine).total == 0
    today = datetime.now(UTC).date()
    rows = cycle_time.cycle_rows(engine, today, today, by_plant=True)
    assert cycle_time.cycle_percentiles(rows, cycle_time.Dimension.PLANT).empty
