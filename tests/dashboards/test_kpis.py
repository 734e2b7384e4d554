"""Every Overview figure equals the rows of the list it links to, on seeded data.

Each figure's filter goes through a page address and back (``to_query`` → query string →
``from_query``), as the console's link does; the list function the page calls then gives
exactly that many rows, and they are the seeded rows a person would expect.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlencode

import pandas as pd
import pytest
import sqlalchemy as sa

from dashboards import (
    confirmations,
    cycle_time,
    drift,
    eco_list,
    exceptions,
    notices,
    overview,
    revisions,
)
from dashboards.filters import ListFilter
from dashboards.overview import Figure, Kpis
from dashboards.paging import MAX_LIMIT, Page
from tests.dashboards.seed import Picture, seed

Rows = Callable[[sa.Engine, ListFilter, Picture], Page]

# The list each filter type opens, called as its page calls it.
LISTS: dict[type, Rows] = {
    eco_list.EcoFilter: lambda engine, criteria, picture: eco_list.eco_list(
        engine, criteria, limit=MAX_LIMIT
    ),
    confirmations.ConfirmationFilter: lambda engine, criteria, picture: (
        confirmations.awaiting_confirmation(engine, criteria, now=picture.now, limit=MAX_LIMIT)
    ),
    exceptions.PlantFilter: lambda engine, criteria, picture: exceptions.stuck_plants(
        engine, criteria, limit=MAX_LIMIT
    ),
    notices.NoticeFilter: lambda engine, criteria, picture: notices.failed_notices(
        engine, criteria, limit=MAX_LIMIT
    ),
    drift.DriftFilter: lambda engine, criteria, picture: drift.drift_page(
        engine, criteria, limit=MAX_LIMIT
    ),
    overview.BehindFilter: lambda engine, criteria, picture: whole(
        revisions.behind_pairs(
            engine, today=picture.now.date(), plant=criteria.plant, item=criteria.item
        )
    ),
}

# What each figure's rows are, as seeded (see tests/dashboards/seed.py).
EXPECTED: dict[str, tuple[tuple[str, ...], set[tuple[str, ...]]]] = {
    "ecos_in_flight": (("eco",), {(f"ECO-2026-0010{n}",) for n in range(1, 5)}),
    "awaiting_confirmation": (
        ("eco", "plant"),
        {("ECO-2026-00101", "P200"), ("ECO-2026-00102", "P300"), ("ECO-2026-00102", "P400")},
    ),
    "awaiting_past_sla": (("eco", "plant"), {("ECO-2026-00101", "P200")}),
    "blocked_plants": (("eco", "plant"), {("ECO-2026-00103", "P100")}),
    "failed_supplier_notices": (("eco", "supplier"), {("ECO-2026-00102", "S020")}),
    "drift": (("plant", "item"), set()),  # nothing reconciled in the seed
}


@pytest.fixture
def picture(engine: sa.Engine) -> Picture:
    return seed(engine)


def whole(rows: pd.DataFrame) -> Page:
    """A list the page shows whole, as a page of every row."""
    return Page(rows=rows, total=len(rows), offset=0, limit=max(len(rows), 1))


def expected(name: str, picture: Picture) -> tuple[tuple[str, ...], set[tuple[str, ...]]]:
    if name == "prior_revision":
        return ("plant", "item"), {(plant, item) for plant, item, _ in picture.late_pairs}
    return EXPECTED[name]


def figures(kpis: Kpis) -> dict[str, Figure]:
    return {name: value for name, value in vars(kpis).items() if isinstance(value, Figure)}


def through_the_address(criteria: ListFilter) -> ListFilter:
    """The filter as the linked page reads it back from the link's query string."""
    query_string = urlencode(criteria.to_query(), doseq=True)
    parsed = type(criteria).from_query(parse_qs(query_string))
    assert parsed == criteria
    return parsed


def test_every_figure_is_the_row_count_of_its_linked_list(
    engine: sa.Engine, picture: Picture
) -> None:
    shown = figures(overview.overview_kpis(engine, now=picture.now))
    assert set(shown) == {*EXPECTED, "prior_revision"}  # a new figure needs its rows here
    for name, figure in shown.items():
        criteria = through_the_address(figure.criteria)
        page = LISTS[type(criteria)](engine, criteria, picture)
        columns, rows_expected = expected(name, picture)
        rows = {tuple(row) for row in page.rows[list(columns)].itertuples(index=False)}
        assert (figure.value, page.total, len(page.rows)) == (len(rows_expected),) * 3, name
        assert rows == rows_expected, name


def test_failed_notices_figure_equals_its_groups(engine: sa.Engine, picture: Picture) -> None:
    figure = overview.overview_kpis(engine, now=picture.now).failed_supplier_notices
    assert isinstance(figure.criteria, notices.NoticeFilter)
    groups = notices.notice_error_groups(engine, figure.criteria)
    assert int(groups["notices"].sum()) == figure.value == picture.failed_notices
    assert list(groups["error"]) == ["INVALID_SUPPLIER_CONTACT"]


def test_cycle_time_is_the_reports_rows_for_the_same_dates(
    engine: sa.Engine, picture: Picture
) -> None:
    kpis = overview.overview_kpis(engine, now=picture.now)
    for window, hours in (
        (kpis.cycle_recent, picture.recent_cycle_hours),
        (kpis.cycle_previous, picture.previous_cycle_hours),
    ):
        rows = cycle_time.cycle_rows(engine, window.start, window.end, by_plant=False)
        assert window.count == len(rows) == len(hours)
        assert sorted(rows["total_h"].round(3)) == sorted(hours)
    assert (kpis.cycle_recent.end - kpis.cycle_recent.start).days == overview.CYCLE_DAYS - 1
    assert kpis.cycle_previous.end.toordinal() == kpis.cycle_recent.start.toordinal() - 1


@pytest.mark.parametrize(
    "criteria",
    [
        confirmations.ConfirmationFilter(
            plants=("P100", "P200"), product_families=("PUMPS",), past_sla_only=True
        ),
        exceptions.PlantFilter(plant="P100"),
        exceptions.StepFilter(fingerprint="erp:erp.routing:WORK_CENTER_INACTIVE", eco="E-1"),
        notices.NoticeFilter(error="HTTP_502", supplier="S030"),
        eco_list.EcoFilter(states=eco_list.IN_FLIGHT_STATES),
        eco_list.EcoFilter(),
        overview.BehindFilter(plant="P100", item="ASM-1001"),
    ],
)
def test_a_filter_survives_the_page_address(criteria: ListFilter) -> None:
    through_the_address(criteria)


def test_an_address_with_unknown_values_filters_on_what_it_knows() -> None:
    parsed = notices.NoticeFilter.from_query({"status": ["failed", "sent", "bogus"]})
    assert parsed.statuses == ("failed",)  # delivered notices are not this list's rows
    assert eco_list.EcoFilter.from_query({"state": ["nope"]}) == eco_list.EcoFilter()
    assert confirmations.ConfirmationFilter.from_query({"min_age": ["soon"]}).min_age is None
