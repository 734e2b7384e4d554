"""Predicted ready times: sums of recent durations along each plant's remaining path, the
last plant deciding, checked against known durations and a seeded history's outcomes."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from collector.tables import eco_status
from contracts.readmodel import EcoState
from contracts.steps import StepKind, StepState
from dashboards.backtest import backtest
from dashboards.durations import PATH, Segment, Segments, StepRow, load_segments
from dashboards.prediction import (
    at_risk,
    effectivity_start,
    forecast,
    forecasts,
    recent_segments,
)
from tests.dashboards.history_seed import END, RISKY, SAFE, seed_history, seed_in_flight

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
KNOWN = T0 - timedelta(days=1)


def constant(plant: str, seconds: dict[StepKind, float], count: int = 25) -> list[Segment]:
    return [
        Segment(KNOWN, f"ECO-{n}", plant, kind, s)
        for kind, s in seconds.items()
        for n in range(count)
    ]


def waiting(plant: str, *kinds: StepKind) -> list[StepRow]:
    return [
        StepRow(kind=k.value, plant=plant, state=StepState.WAITING, state_since=None) for k in kinds
    ]


def test_the_remaining_path_is_summed_and_the_last_plant_decides() -> None:
    fast = dict.fromkeys(PATH, 60.0)
    slow = fast | {StepKind.ERP_CONFIRMATION: 3600.0}
    segments = Segments.of(constant("P100", fast) + constant("P200", slow))
    steps = [
        StepRow(
            kind=StepKind.ERP_ITEM_REVISION.value, plant=None, state="waiting", state_since=None
        ),
        *waiting("P100", *PATH[1:]),
        *waiting("P200", *PATH[1:]),
    ]
    result = forecast(T0, steps, segments, T0)
    assert result is not None
    assert result["p50"] == result["p90"] == T0 + timedelta(seconds=5 * 60 + 3600)
    assert [p["plant"] for p in result["plants"]] == ["P200", "P100"]
    assert result["plants"][1]["p90"] == T0 + timedelta(seconds=6 * 60)


def test_a_step_under_way_draws_only_durations_longer_than_it_has_taken() -> None:
    confirmation = [3600.0] * 20 + [7200.0] * 20
    segments = Segments.of(
        [Segment(KNOWN, "E", "P100", StepKind.ERP_CONFIRMATION, s) for s in confirmation]
        + constant("P100", {StepKind.MES_ROUTING: 60.0})
    )
    requested = T0 - timedelta(minutes=90)
    steps = [
        StepRow(
            kind=StepKind.ERP_PRODUCTION_VERSION.value,
            plant="P100",
            state="succeeded",
            state_since=requested,
        ),
        StepRow(
            kind=StepKind.ERP_CONFIRMATION.value,
            plant="P100",
            state="awaiting_confirmation",
            state_since=requested,
        ),
        *waiting("P100", StepKind.MES_ROUTING),
    ]
    result = forecast(T0 - timedelta(hours=2), steps, segments, T0)
    assert result is not None
    # 90 minutes waited: only the two-hour confirmations are still possible.
    assert result["p50"] == result["p90"] == T0 + timedelta(minutes=30, seconds=60)
    assert result["plants"][0]["holding"] == "erp.confirmation awaiting_confirmation"


def test_a_seeded_historys_outcomes_are_covered_by_the_p90_made_at_approval(
    engine: sa.Engine,
) -> None:
    assert seed_history(engine) > 200
    with engine.connect() as connection:
        # The segments of each ECO add up to its cycle time as the engine reported it.
        ready = connection.execute(
            sa.select(
                eco_status.c.eco, eco_status.c.approved_at, eco_status.c.cycle_time_seconds
            ).where(eco_status.c.state == EcoState.PRODUCTION_READY)
        ).all()
        segments = load_segments(
            connection, since=END - timedelta(days=400), until=END + timedelta(days=1)
        )
        result = backtest(connection, start=END - timedelta(days=20), end=END)
    by_plant: dict[tuple[str, str], float] = defaultdict(float)
    for found in segments.by_plant.values():
        for segment in found:
            by_plant[(segment.eco, segment.plant)] += segment.seconds
    slowest: dict[str, float] = defaultdict(float)
    for (eco, _plant), seconds in by_plant.items():
        slowest[eco] = max(slowest[eco], seconds)
    assert len(ready) > 200
    for row in ready:
        assert abs(slowest[row.eco] - row.cycle_time_seconds) < 0.01, row.eco
    assert result.count > 50
    assert result.p90_coverage >= 0.85
    assert 0.3 <= result.p50_coverage <= 0.7
    assert result.median_absolute_error_seconds > 0


def test_an_eco_predicted_after_its_effectivity_date_is_at_risk(engine: sa.Engine) -> None:
    seed_history(engine, days=30)
    seed_in_flight(engine)
    with engine.connect() as connection:
        predicted = forecasts(connection, END)
        risky = at_risk(connection, END)
    assert set(predicted) == {RISKY, SAFE}
    # Both wait on the same confirmation at the same plant: the same forecast.
    assert predicted[RISKY]["p90"] == predicted[SAFE]["p90"] > END
    assert [r["eco"] for r in risky] == [RISKY]
    (row,) = risky
    assert row["late_seconds"] == (row["p90"] - effectivity_start(END.date())).total_seconds()
    assert row["plant"] == "P100"
    assert row["holding"] == "erp.confirmation awaiting_confirmation"


def test_a_finished_ecos_page_reads_no_evidence(engine: sa.Engine) -> None:
    seed_history(engine, days=30)
    seed_in_flight(engine)
    read: list[str] = []

    def evidence() -> Segments:
        read.append("segments")
        return Segments()

    with engine.connect() as connection:
        finished = connection.execute(
            sa.select(eco_status.c.eco).where(eco_status.c.state == EcoState.PRODUCTION_READY)
        ).scalar()
        assert finished is not None
        assert forecasts(connection, END, [finished], segments=evidence) == {}
        assert read == []
        assert set(forecasts(connection, END, [RISKY], segments=evidence)) == {RISKY}
    assert read == ["segments"]


def test_the_evidence_is_read_again_once_another_eco_is_ready(engine: sa.Engine) -> None:
    seed_history(engine, days=30)
    seed_in_flight(engine)
    with engine.connect() as connection:
        first = recent_segments(connection, END)
        assert recent_segments(connection, END - timedelta(minutes=1)) is first
    assert not any(s.eco == RISKY for found in first.by_kind.values() for s in found)
    with engine.begin() as connection:
        connection.execute(
            eco_status.update()
            .where(eco_status.c.eco == RISKY)
            .values(state=EcoState.PRODUCTION_READY, production_ready_at=END - timedelta(hours=1))
        )
    with engine.connect() as connection:
        again = recent_segments(connection, END)
    assert any(s.eco == RISKY for found in again.by_kind.values() for s in found)
