"""Every console page's first view as the ``dashboards`` (and store) calls it makes, for
``console_queries.py`` to time.

Each :class:`PageView` names the page, runs exactly what the page's script and its
sections call before anything is clicked (read from ``console/pages`` and
``console/sections``), and lists the tables it reads that the seeded history does not fill
(the engine's own records, operator actions, alerts), so the output can say which figures
are of empty tables. Every page also shows the freshness banner (``console.login``), so
each view includes it. Rendering (plotly figures, tables) is not timed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from alerts import store as alert_store
from alerts.setup import AlertSetup
from contracts.readmodel import DriftCause
from dashboards import (
    audit,
    confirmations,
    cycle_time,
    dead_letters,
    drift,
    eco_list,
    ecos,
    freshness,
    impact,
    inbox,
    notices,
    overview,
    prediction,
    qualifications,
    rejected,
    revisions,
    sla,
    status,
    suppliers,
    traces,
)
from dashboards.exceptions import OPEN_STATES
from sync_engine import health
from sync_engine import store as engine_store
from sync_engine.ownership import load as load_ownership
from threadline.settings import Settings
from threadline.sla import sla_policy

PAGE_SIZE = 25
"""Rows on one page of a list (``console.widgets.PAGE_SIZE``)."""
OPERATIONS_LIMIT = 200
IMPACT_SHOWN = 500
"""Scopes a list of business impact shows (``console.sections.impact_table.SHOWN``)."""
EXPOSURE_DAYS = 30


@dataclass(frozen=True)
class PageView:
    """One page's first view: its name, what it runs, the tables it reads."""

    name: str
    run: Callable[[], object]
    reads: tuple[str, ...] = field(default=())
    goal_ms: float = 300.0


def views(engine: sa.Engine, settings: Settings, *, now: datetime) -> list[PageView]:
    """Every page's first view on ``engine``'s data as of ``now``."""
    today = now.date()
    rules = load_ownership(settings.ownership_file)
    policy = sla_policy(settings)
    with engine.connect() as connection:
        recent, old = (
            connection.execute(
                sa.text(
                    f"SELECT eco FROM eco_status ORDER BY approved_at {order} LIMIT 1 OFFSET :n"
                )
                .bindparams(n=offset)
                .columns(eco=sa.String)
            ).scalar_one()
            for order, offset in (("DESC", 40), ("ASC", 100))
        )
        supplier = connection.execute(
            sa.text(
                "SELECT supplier FROM supplier_notices GROUP BY supplier ORDER BY count(*) DESC"
            )
        ).scalar()

    def with_banner(run: Callable[[], object]) -> Callable[[], object]:
        def page() -> object:
            banner(engine, now=now)
            return run()

        return page

    def forecasts(ecos_: tuple[str, ...] | None) -> object:
        with engine.connect() as connection:
            # As console.sections.data.forecasts: the evidence only for an ECO in flight.
            return prediction.forecasts(
                connection,
                now,
                ecos_,
                segments=lambda: prediction.recent_segments(connection, now),
            )

    def overview_page() -> object:
        kpis = overview.overview_kpis(engine, now=now)
        with engine.connect() as connection:
            sla.overdue_by_stage(connection, now)
        impact.exposure(engine)
        return kpis

    def inbox_page() -> object:
        rows = inbox.inbox(engine, rules, inbox.InboxFilter(), now=now)
        found = inbox.groups(rows)
        if found:
            problem = found[0].first.problem
            if problem.eco:
                impact.current_impact(engine, eco=problem.eco)
            if problem.step_id:
                dead_letters.step_trouble(engine, problem.step_id)
                with engine.connect() as connection:
                    engine_store.get_step(connection, problem.step_id)
        return found

    def operations_page() -> object:
        with engine.connect() as connection:
            found = engine_store.recent_operations(connection, limit=OPERATIONS_LIMIT)
            if found:
                engine_store.get_operation(connection, found[0].id)
        return found

    def alerts_page() -> object:
        setup = AlertSetup.from_settings(settings)
        with engine.connect() as connection:
            alert_store.target_statuses(connection, [t.id for t in setup.targets])
            return alert_store.recent(connection, since=now - timedelta(days=1))

    def awaiting_page() -> object:
        confirmations.awaiting_filter_options(engine)
        page = confirmations.awaiting_confirmation(engine, now=now, limit=PAGE_SIZE)
        wanted = tuple(sorted(set(page.rows["eco"]))) if not page.rows.empty else ()
        return forecasts(wanted) if wanted else page

    def impact_pairs() -> object:
        if impact.exposure(engine).scopes:
            return impact.current_impact(engine, limit=IMPACT_SHOWN)
        return None

    def prior_page() -> object:
        revisions.lag_matrix(engine, today=today)
        revisions.late_plants(engine, today=today, limit=PAGE_SIZE)
        return impact_pairs()

    def notices_page() -> object:
        groups = notices.notice_error_groups(engine)
        # Every group's list runs: a collapsed expander's body still executes.
        for error in groups["error"]:
            notices.failed_notices(engine, notices.NoticeFilter(error=error), limit=PAGE_SIZE)
        return groups

    def drift_page() -> object:
        drift.drift_plants(engine)
        page = drift.drift_page(engine, drift.DriftFilter(), limit=PAGE_SIZE, offset=0)
        suppliers.duplicate_suppliers(engine)
        impact_pairs()
        owned = tuple(c for c in DriftCause if c.threadline_owned)
        drift.drift_rows(engine, drift.DriftFilter((), owned))
        return page

    def overdue_page() -> object:
        with engine.connect() as connection:
            return sla.overdue_work(connection, now, sla.OverdueFilter())

    def at_risk_page() -> object:
        with engine.connect() as connection:
            return prediction.at_risk(
                connection, now, segments=lambda: prediction.recent_segments(connection, now)
            )

    def qualification_page() -> object:
        criteria = qualifications.QualificationFilter()
        qualifications.qualification_options(engine)
        qualifications.by_supplier(engine, criteria, now=now)
        qualifications.waiting_on_qualification(engine, criteria, now=now, limit=PAGE_SIZE)
        qualifications.rejected(engine, criteria)
        return qualifications.contracts_missing(engine, criteria)

    def eco_landing() -> object:
        eco_list.latest_ecos(engine, troubled=True)
        return eco_list.latest_ecos(engine, troubled=False)

    def eco_page(number: str) -> Callable[[], object]:
        def run() -> object:
            found = ecos.find_eco(engine, number)
            correlationid = found.correlationid or number
            ecos.eco_summary(engine, number)
            ecos.eco_plant_rows(engine, number)
            steps = ecos.eco_steps(engine, number)
            forecasts((number,))
            with engine.connect() as connection:
                sla.eco_deadlines(connection, number, now, policy)
            impact.current_impact(engine, eco=number)
            ecos.left_effective(engine, number)
            traces.eco_trace_id(engine, correlationid)
            ecos.step_timeline(engine, correlationid, now=now)
            open_ids = steps.loc[steps["state"].isin(OPEN_STATES), "step_id"].tolist()
            if open_ids:
                dead_letters.step_trouble(engine, open_ids[0])
            ecos.eco_operator_actions(engine, number)
            return ecos.raw_events(engine, correlationid, limit=PAGE_SIZE)

        return run

    def cycle(days: int, dimension: cycle_time.Dimension) -> Callable[[], object]:
        def run() -> object:
            start = today - timedelta(days=days)
            rows = cycle_time.cycle_rows(engine, start, today, by_plant=False)
            if dimension is cycle_time.Dimension.PLANT:
                rows = cycle_time.cycle_rows(engine, start, today, by_plant=True)
            cycle_time.monthly_trend(rows)
            table = cycle_time.cycle_percentiles(rows, dimension)
            days_shown = [today - timedelta(days=n) for n in range(EXPOSURE_DAYS - 1, -1, -1)]
            impact.exposure_over_time(engine, days_shown)
            return table

        return run

    def exposure_page() -> object:
        impact.exposure(engine)
        return impact.current_impact(engine, limit=IMPACT_SHOWN)

    def supplier_page() -> object:
        return suppliers.supplier_view(engine, supplier or "S010")

    steps = ("sync_steps",)
    found: list[PageView] = [
        PageView("Overview", overview_page, goal_ms=100.0),
        PageView("ECOs", lambda: eco_list.eco_list(engine, limit=PAGE_SIZE)),
        PageView(
            "Inbox",
            inbox_page,
            (*steps, "sync_dead_letters", "sync_problems", "sync_drift"),
        ),
        PageView("Operations", operations_page, ("sync_operations", "sync_operation_steps")),
        PageView("Alerts", alerts_page, ("alerts", "alert_targets")),
        PageView("Awaiting ERP confirmation", awaiting_page),
        PageView("Plants on a prior revision", prior_page),
        PageView("Failed supplier notices", notices_page),
        PageView("Drift", drift_page, ("drift", "reconciliations", "supplier_duplicates")),
        PageView("Overdue work", overdue_page),
        PageView("At risk", at_risk_page),
        PageView("Supplier qualification", qualification_page),
        PageView("Status (plant x stage)", lambda: status.pivot(engine, "plant", "stage")),
        PageView("Exposure", exposure_page),
        PageView(f"Supplier ({supplier})", supplier_page),
        PageView(
            "Rejected ECOs", lambda: rejected.rejected_ecos(engine, rejected.RejectedFilter())
        ),
        PageView(
            "Audit log",
            lambda: audit.audit_log(engine, audit.AuditFilter(), limit=PAGE_SIZE),
            ("operator_actions",),
        ),
        PageView("ECO (no search: landing lists)", eco_landing),
        PageView(f"ECO (recent, {recent})", eco_page(recent), ("sync_dead_letters",)),
        PageView(f"ECO (old, {old})", eco_page(old), ("sync_dead_letters",)),
        PageView("ECO (prefix search)", lambda: ecos.find_eco(engine, recent[:-2])),
        PageView("Cycle time, 180 days by family", cycle(180, cycle_time.Dimension.PRODUCT_FAMILY)),
        PageView("Cycle time, 180 days by plant", cycle(180, cycle_time.Dimension.PLANT)),
        PageView("Cycle time, 1 year by month", cycle(365, cycle_time.Dimension.MONTH)),
        PageView(
            "Cycle time, 5 years by family", cycle(5 * 365, cycle_time.Dimension.PRODUCT_FAMILY)
        ),
    ]
    return [PageView(v.name, with_banner(v.run), v.reads, v.goal_ms) for v in found]


def banner(engine: sa.Engine, *, now: datetime) -> object:
    """The freshness banner every page shows (``console.widgets.freshness_banner``)."""
    fresh = freshness.freshness(engine)
    with engine.connect() as connection:
        health.pipeline_health(connection, now=now)
    return fresh
