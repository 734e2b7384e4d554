"""How long each console page's queries take on five years of history (PostgreSQL).

    python -m benchmarks.console_queries [--database-url URL] [--reseed] [--repeat 7]

The first run creates the database ``threadline_console_bench`` on the local server and
seeds it through the collector's own store (``collector.store.EventStore``) with the
events of ``simulators.history.history_events``: about 50,000 ECOs over five years,
about four and a half million events, with every projection maintained as the collector does.
That takes a while, so the database is kept: a later run reuses it, and an interrupted
seeding resumes after the newest ECO stored (the store ignores events it already
holds). ``--reseed`` drops it and starts again.

Then every page's first view (exactly the dashboards calls the page and its sections
make, listed in ``benchmarks/console_pages.py``, the freshness banner included) runs
``--repeat`` times; the script prints the first (cold) time, the median and worst of the
others, the median CPU time in this process, and which pages read tables the history does
not fill (the engine's own records, operator actions, alerts), with the load average
before and after. Goals: every page under 300 ms, the Overview under 100 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from benchmarks.console_pages import banner, views
from collector.store import EventStore
from dashboards.durations import WINDOW, load_segments
from simulators.history import history_events
from simulators.world import build_world
from threadline.db import create_engine
from threadline.migrate import upgrade
from threadline.settings import Settings

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/threadline_console_bench"
# A fixed end keeps the history (and so a resumed seeding) identical from run to run.
END = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
YEARS = 5
ECOS_PER_DAY = 34.0  # about 27 a day once quiet weekends are counted: 50,000 in five years
SEED = 7
BATCH_EVENTS = 5_000
HISTORY_TABLES = ("events", "eco_status", "step_status", "eco_plants", "plant_revisions")


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


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as ``uptime`` prints them."""
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def measure(run: Callable[[], object], repeat: int) -> tuple[float, float, float, float]:
    """Cold, median and worst wall time of ``run`` and its median CPU time in this
    process (ms): on a shared machine the CPU time is the steadier figure."""
    times, cpu = [], []
    for _ in range(repeat + 1):
        started, used = time.perf_counter(), time.process_time()
        run()
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - used) * 1000)
    warm = times[1:]
    return times[0], statistics.median(warm), max(warm), statistics.median(cpu[1:])


def evidence(engine: sa.Engine) -> object:
    """The segments a forecast at :data:`END` draws from, read without the process's reuse."""
    with engine.connect() as connection:
        return load_segments(connection, since=END - WINDOW, until=END)


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
            for table in sa.inspect(connection).get_table_names()
        }
    print(", ".join(f"{table}: {counts[table]:,}" for table in HISTORY_TABLES))
    empty = sorted(table for table, count in counts.items() if count == 0)
    print(f"empty (the history does not fill them): {', '.join(empty)}")
    reader = create_engine(args.database_url, read_only=True)
    print(f"load average {load_average()}")
    print(f"{'page':<44} {'cold ms':>8} {'median ms':>10} {'worst ms':>9} {'cpu ms':>7}  goal")
    cold, median, worst, cpu = measure(lambda: banner(reader, now=END), args.repeat)
    name = "(freshness banner, in every page below)"
    print(f"{name:<44} {cold:8.1f} {median:10.1f} {worst:9.1f} {cpu:7.1f}")
    # Read by a forecast when an ECO is in flight (none is at the history's end), then
    # reused by the process for a minute: timed here uncached, as a cold first view pays it.
    cold, median, worst, cpu = measure(lambda: evidence(reader), args.repeat)
    name = "(forecast evidence, uncached, ECO in flight)"
    print(f"{name:<44} {cold:8.1f} {median:10.1f} {worst:9.1f} {cpu:7.1f}")
    over = []
    for view in views(reader, Settings(), now=END):
        cold, median, worst, cpu = measure(view.run, args.repeat)
        verdict = "ok" if median < view.goal_ms else "OVER"
        if verdict == "OVER":
            over.append(view.name)
        blank = [table for table in view.reads if counts.get(table, 0) == 0]
        note = f"  (reads empty {', '.join(blank)})" if blank else ""
        print(
            f"{view.name:<44} {cold:8.1f} {median:10.1f} {worst:9.1f} {cpu:7.1f}"
            f"  <{view.goal_ms:.0f} {verdict}{note}"
        )
    print(f"load average {load_average()}; over goal: {', '.join(over) or 'none'}")
    reader.dispose()
    engine.dispose()


if __name__ == "__main__":
    main()
