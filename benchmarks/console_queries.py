"""How long each console page's queries take on five years of history (PostgreSQL).

    python benchmarks/console_queries.py [--database-url URL] [--reseed] [--repeat 7]

The first run creates the database ``threadline_console_bench`` on the local server and
seeds it through the collector's own store (``collector.store.EventStore``) with the
events of ``simulators.history.history_events``: about 50,000 ECOs over five years,
about four and a half million events, with every projection maintained as the collector does.
That takes a while, so the database is kept: a later run reuses it, and an interrupted
seeding resumes after the newest ECO stored (the store ignores events it already
holds). ``--reseed`` drops it and starts again.

Then each page's queries (exactly the dashboards functions the page calls) run
``--repeat`` times; the script prints the first (cold) time and the median and worst of
the others. Goals: every page under 300 ms, the Overview under 100 ms.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from collector.store import EventStore
from dashboards import (
    confirmations,
    cycle_time,
    ecos,
    exceptions,
    notices,
    overview,
    revisions,
)
from simulators.history import history_events
from simulators.world import build_world
from threadline.db import create_engine
from threadline.migrate import upgrade

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/threadline_console_bench"
# A fixed end keeps the history (and so a resumed seeding) identical from run to run.
END = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
YEARS = 5
ECOS_PER_DAY = 34.0  # about 27 a day once quiet weekends are counted: 50,000 in five years
SEED = 7
BATCH_EVENTS = 5_000


def ensure_database(url: str, *, reseed: bool) -> None:
    target = sa.make_url(url)
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.execute(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
        ).first()
        if exists and reseed:
            connection.exec_driver_sql(f'DROP DATABASE "{target.database}" WITH (FORCE)')
            exists = None
        if not exists:
            connection.exec_driver_sql(f'CREATE DATABASE "{target.database}"')
    admin.dispose()
    upgrade(url)


def seed(engine: sa.Engine, *, days: int, ecos_per_day: float) -> None:
    with engine.connect() as connection:
        latest = connection.execute(sa.text("SELECT max(approved_at) FROM eco_status")).scalar()
    if latest is not None and latest.tzinfo is None:
        latest = latest.replace(tzinfo=UTC)
    if latest is not None and latest >= END - timedelta(days=1):
        return  # seeded to the end already
    store = EventStore(engine, clock=lambda: END)
    world = build_world(SEED)
    stream = history_events(world, days=days, end=END, ecos_per_day=ecos_per_day, seed=SEED)
    started = time.perf_counter()
    batch: list[dict[str, Any]] = []
    ecos_done = events_done = 0
    for eco_events in stream:
        # Resume after the newest ECO stored; it is appended again in case it was cut
        # short (the store skips the events it already holds).
        approved = eco_events[0]["data"].get("approved_at") if eco_events else None
        if latest is not None and approved and datetime.fromisoformat(approved) < latest:
            continue
        batch.extend(eco_events)
        ecos_done += 1
        if len(batch) >= BATCH_EVENTS:
            store.append(batch, "engine")
            events_done += len(batch)
            batch = []
            if ecos_done % 2000 < 70:
                rate = events_done / (time.perf_counter() - started)
                print(f"  seeded {ecos_done} more ECOs ({rate:,.0f} events/s)", flush=True)
    if batch:
        store.append(batch, "engine")
        events_done += len(batch)
    if events_done:
        seconds = time.perf_counter() - started
        print(f"seeded {events_done:,} events in {seconds:,.0f} s", flush=True)
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")


def pages(engine: sa.Engine) -> dict[str, Callable[[], object]]:
    """Each page's queries, as the page runs them on first view."""
    now = END
    today = now.date()
    with engine.connect() as connection:
        recent = connection.execute(
            sa.text("SELECT eco FROM eco_status ORDER BY approved_at DESC LIMIT 1 OFFSET 40")
        ).scalar_one()
        old = connection.execute(
            sa.text("SELECT eco FROM eco_status ORDER BY approved_at LIMIT 1 OFFSET 100")
        ).scalar_one()

    def awaiting() -> object:
        confirmations.awaiting_filter_options(engine)
        return confirmations.awaiting_confirmation(engine, now=now)

    def prior() -> object:
        revisions.lag_matrix(engine, today=today)
        return revisions.late_plants(engine, today=today)

    def supplier_notices() -> object:
        groups = notices.notice_error_groups(engine)
        error = groups["error"].iloc[0] if not groups.empty else None
        return notices.failed_notices(engine, notices.NoticeFilter(error=error))

    def exception_groups() -> object:
        groups = exceptions.failure_groups(engine)
        fingerprint = groups["fingerprint"].iloc[0] if not groups.empty else None
        return exceptions.open_steps(engine, fingerprint=fingerprint)

    def eco_page(number: str) -> Callable[[], object]:
        def run() -> object:
            found = ecos.find_eco(engine, number)
            ecos.eco_summary(engine, number)
            ecos.eco_plant_rows(engine, number)
            ecos.eco_steps(engine, number)
            ecos.step_timeline(engine, found.correlationid or number, now=now)
            ecos.eco_operator_actions(engine, number)
            return ecos.raw_events(engine, number)

        return run

    def cycle(days: int, dimension: cycle_time.Dimension) -> Callable[[], object]:
        def run() -> object:
            start = today - timedelta(days=days)
            rows = cycle_time.cycle_rows(engine, start, today, by_plant=False)
            if dimension is cycle_time.Dimension.PLANT:
                rows = cycle_time.cycle_rows(engine, start, today, by_plant=True)
            cycle_time.monthly_trend(rows)
            return cycle_time.cycle_percentiles(rows, dimension)

        return run

    return {
        "Overview": lambda: overview.overview_kpis(engine, now=now),
        "Awaiting ERP confirmation": awaiting,
        "Plants on a prior revision": prior,
        "Failed supplier notices": supplier_notices,
        "Exceptions": exception_groups,
        f"ECO (recent, {recent})": eco_page(recent),
        f"ECO (old, {old})": eco_page(old),
        "ECO (prefix search)": lambda: ecos.find_eco(engine, recent[:-2]),
        "Cycle time, 180 days by family": cycle(180, cycle_time.Dimension.PRODUCT_FAMILY),
        "Cycle time, 180 days by plant": cycle(180, cycle_time.Dimension.PLANT),
        "Cycle time, 1 year by month": cycle(365, cycle_time.Dimension.MONTH),
        "Cycle time, 5 years by family": cycle(5 * 365, cycle_time.Dimension.PRODUCT_FAMILY),
    }


def measure(name: str, run: Callable[[], object], repeat: int) -> tuple[float, float, float]:
    times = []
    for _ in range(repeat + 1):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    warm = times[1:]
    return times[0], statistics.median(warm), max(warm)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--reseed", action="store_true", help="drop and seed again")
    parser.add_argument("--years", type=float, default=YEARS)
    parser.add_argument("--ecos-per-day", type=float, default=ECOS_PER_DAY)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seed-only", action="store_true", help="seed, then stop")
    args = parser.parse_args()

    ensure_database(args.database_url, reseed=args.reseed)
    engine = create_engine(args.database_url)
    seed(engine, days=int(args.years * 365.25), ecos_per_day=args.ecos_per_day)
    if args.seed_only:
        return
    with engine.connect() as connection:
        counts = {
            table: connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("events", "eco_status", "step_status", "eco_plants", "plant_revisions")
        }
    print(", ".join(f"{table}: {count:,}" for table, count in counts.items()))
    reader = create_engine(args.database_url, read_only=True)
    print(f"{'page':<44} {'cold ms':>8} {'median ms':>10} {'worst ms':>9}  goal")
    for name, run in pages(reader).items():
        cold, median, worst = measure(name, run, args.repeat)
        goal = 100 if name == "Overview" else 300
        verdict = "ok" if median < goal else "OVER"
        print(f"{name:<44} {cold:8.1f} {median:10.1f} {worst:9.1f}  <{goal} {verdict}")
    reader.dispose()
    engine.dispose()


if __name__ == "__main__":
    main()
