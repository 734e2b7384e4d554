"""How well the predicted ready time made at approval matches what happened (backtest).

    python -m benchmarks.prediction_backtest [--days 365] [--ecos-per-day 6] [--seed 7]
                                             [--tested-days 90] [--database-url URL]

Seeds a fresh database (a temporary SQLite file unless ``--database-url`` names one)
through the collector's own store with ``simulators.history.history_events`` — the
history ``threadline up --history`` backfills: the same world, seed and rate by default —
then forecasts every ECO approved in the last ``--tested-days`` as at its approval, from
the segments of ECOs production-ready before then only, and compares with its actual
production-ready time. Prints the p90 coverage (goal at least 85 %), the p50 coverage,
the median absolute error of the p50, and the coverage of the naive sum of each kind's
p90 for comparison with the Monte Carlo p90.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from collector.store import EventStore
from dashboards.backtest import backtest
from dashboards.stats import humanize_seconds
from simulators.history import history_events
from simulators.world import build_world
from threadline.db import create_engine
from threadline.migrate import upgrade

END = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
BATCH_EVENTS = 5_000


def seed(url: str, *, days: int, ecos_per_day: float, world_seed: int) -> int:
    """Append the history's events through the collector's store; return how many ECOs."""
    upgrade(url)
    engine = create_engine(url)
    store = EventStore(engine)
    batch: list[dict[str, object]] = []
    ecos = 0
    try:
        world = build_world(world_seed)
        for events in history_events(
            world, days=days, end=END, ecos_per_day=ecos_per_day, seed=world_seed
        ):
            ecos += 1
            batch.extend(events)
            if len(batch) >= BATCH_EVENTS:
                store.append(batch, "engine")
                batch = []
        if batch:
            store.append(batch, "engine")
    finally:
        engine.dispose()
    return ecos


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--ecos-per-day", type=float, default=6.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--tested-days", type=int, default=90)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        url = args.database_url or f"sqlite+pysqlite:///{Path(scratch) / 'backtest.db'}"
        started = time.perf_counter()
        ecos = seed(url, days=args.days, ecos_per_day=args.ecos_per_day, world_seed=args.seed)
        seeded = time.perf_counter() - started
        engine = create_engine(url)
        try:
            started = time.perf_counter()
            with engine.connect() as connection:
                result = backtest(connection, start=END - timedelta(days=args.tested_days), end=END)
            elapsed = time.perf_counter() - started
        finally:
            engine.dispose()
    print(
        f"history: {ecos} ECOs over {args.days} days (seed {args.seed}), seeded in {seeded:.0f} s"
    )
    tested = f"{result.count} ECOs approved in the last {args.tested_days} days"
    print(f"tested: {tested} ({elapsed:.1f} s)")
    print(f"p90 coverage (Monte Carlo): {result.p90_coverage:.1%}  (goal >= 85 %)")
    print(f"p50 coverage: {result.p50_coverage:.1%}")
    print(
        "median absolute error of p50: "
        f"{humanize_seconds(result.median_absolute_error_seconds)} "
        f"({result.median_absolute_error_seconds:.0f} s)"
    )
    print(f"median cycle time of the tested ECOs: {humanize_seconds(result.median_cycle_seconds)}")
    print(f"median p90 - actual: {humanize_seconds(result.median_p90_margin_seconds)}")
    print(f"sum of each kind's p90, coverage: {result.sum_of_p90_coverage:.1%}")


if __name__ == "__main__":
    main()
