"""Engine burst: 1000 ECOs approved at once, every system answering after 20 ms.

Starts the simulators as their own process (so they do not share this process's CPU
and GIL with the engine), approves a burst of ECOs, then runs one engine on a fresh
PostgreSQL database until every ECO is production-ready. Prints steps per second and the
time to production-ready, and with ``--profile`` where the engine's own time goes.

    python -m benchmarks.engine_burst [--ecos 1000] [--latency-ms 20] [--engines 1]
        [--transports aiohttp,httpcore] [--profile]

For each transport under the engine's httpx clients (``--transports``) the same burst is
also run by a bare driver (:mod:`benchmarks.engine_ceiling`: the same connectors, plan,
ordering and bulkheads, no database), each on its own fresh simulators process started
with the same seed, and a line ``ratio to ceiling 0.NN`` compares the two.

``--engines N`` adds N-1 engine processes (``threadline engine run``) on the same
database: steps are shared through ``FOR UPDATE SKIP LOCKED``.

PostgreSQL comes from THREADLINE_TEST_DATABASE_URL (default: the local server); a
throwaway database is created and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import os
import pstats
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TypeVar

import httpx
import sqlalchemy as sa
from pydantic import SecretStr

from benchmarks import freshness
from benchmarks.collector_ingest import TOKEN
from benchmarks.engine_ceiling import Ceiling, run_ceiling
from simulators.testing import free_port
from sync_engine import store
from sync_engine.config import EngineConfig
from sync_engine.runner import SyncEngine
from sync_engine.scheduler import run_engine
from threadline.db import create_engine
from threadline.migrate import upgrade

T = TypeVar("T")
STALLED_SECONDS = 45.0
"""No step succeeding for this long ends the burst (a blocked step holds later ECOs)."""

ADMIN_URL = os.environ.get(
    "THREADLINE_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def start_simulators(port: int, confirmation_delay: float) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "threadline",
            "simulators",
            "serve",
            "--port",
            str(port),
            "--seed",
            "7",
            "--confirmation-delay",
            str(confirmation_delay),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).raise_for_status()
            return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the simulators did not start")


def extra_engines(count: int, base: str, url: str, transport: str) -> list[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "THREADLINE_DATABASE_URL": url,
        "THREADLINE_PLM_URL": f"{base}/plm",
        "THREADLINE_ERP_URL": f"{base}/erp",
        "THREADLINE_MES_URL": f"{base}/mes",
        "THREADLINE_PROCUREMENT_URL": f"{base}/procurement",
        "THREADLINE_COLLECTOR_URL": "",
        "THREADLINE_ENGINE_PLM_POLL_INTERVAL": "0.5",
        "THREADLINE_ENGINE_DISPATCH_INTERVAL": "0.05",
        "THREADLINE_ENGINE_CONFIRMATION_INTERVAL": "0.25",
        "THREADLINE_LOG_LEVEL": "WARNING",
        "THREADLINE_ENGINE_HTTP_TRANSPORT": transport,
    }
    command = [sys.executable, "-m", "threadline", "engine", "run", "--metrics-port", "0"]
    return [
        subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(count)
    ]


def prepare(base: str, ecos: int, latency_ms: float, qualification_delay: float = 2.0) -> list[str]:
    with httpx.Client(base_url=base, timeout=60) as client:
        world = client.get("/plm/world").json()
        # Every ECO must be able to finish: no routing may hit an inactive work center.
        for wc in world["work_centers"]:
            if not wc["active"]:
                client.post(f"/erp/plants/{wc['plant']}/work-centers/{wc['code']}/activate")
        faults = {system: {"latency_ms": latency_ms} for system in ("plm", "erp", "mes")}
        # Qualifications decided after seconds, like ERP's confirmations, not the default
        # three minutes of people's work: the burst measures the engine, not the wait.
        faults["procurement"] = {
            "latency_ms": latency_ms,
            "unreliable_portal_rate": 0,
            "qualification_delay_seconds": qualification_delay,
        }
        client.put("/_admin/faults", json=faults).raise_for_status()
        numbers: list[str] = []
        while len(numbers) < ecos:
            count = min(1000, ecos - len(numbers))
            response = client.post("/_admin/ecos", json={"count": count})
            response.raise_for_status()
            numbers += response.json()["ecos"]
        return numbers


@contextlib.contextmanager
def fresh_database(dialect: str, role: str) -> Iterator[str]:
    """A migrated, throwaway database of ``dialect``; dropped (or deleted) afterwards."""
    if dialect == "sqlite":
        with tempfile.TemporaryDirectory(prefix=f"tl_bench_{role}_") as folder:
            url = f"sqlite+pysqlite:///{folder}/{role}.db"
            upgrade(url)
            yield url
        return
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"tl_bench_{role}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    url = sa.make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


async def burst(config: EngineConfig, url: str, numbers: list[str], profile: bool) -> float:
    db = create_engine(url, pool_size=8)
    stop = asyncio.Event()
    holder: dict[str, SyncEngine] = {}
    rate: list[float] = []
    profiler = cProfile.Profile() if profile else None

    def progress() -> tuple[int, int, dict[str, int]]:
        with db.connect() as connection:
            states = store.eco_states(connection)
            counts = store.count_by_state(connection)
        ready = sum(1 for n in numbers if states.get(n) == "production_ready")
        return ready, len(states), counts

    async def watch() -> None:
        started = time.perf_counter()
        cpu_started = time.process_time()
        first_ready: float | None = None
        last_change, last_succeeded = started, -1
        while True:
            await asyncio.sleep(1.0)
            ready, known, counts = await asyncio.to_thread(progress)
            now = time.perf_counter()
            elapsed = now - started
            if ready and first_ready is None:
                first_ready = elapsed
            print(
                f"  {elapsed:6.1f}s  ecos planned {known:5d}  production-ready {ready:5d}  "
                f"steps succeeded {counts.get('succeeded', 0):6d}  "
                f"in flight {holder['engine'].in_flight:4d}",
                flush=True,
            )
            if counts.get("succeeded", 0) != last_succeeded or not known:
                # Planning on a loaded machine may take longer than the stall limit.
                last_change, last_succeeded = now, counts.get("succeeded", 0)
            if ready == len(numbers):
                break
            # Reading and planning a large burst on a busy machine can take longer than
            # that before the first call: a stall is counted from the first success.
            if last_succeeded > 0 and now - last_change > STALLED_SECONDS:
                # Steps held behind a blocked one never finish: measure up to the last success.
                elapsed = last_change - started
                print(f"\nSTALLED: {len(numbers) - ready} ECOs not production-ready; {counts}")
                break
        succeeded = counts.get("succeeded", 0)
        print()
        print(f"ECOs                         {len(numbers)} ({ready} production-ready)")
        print(f"steps succeeded              {succeeded}")
        print(f"time to the last step        {elapsed:.1f} s")
        print(f"steps per second             {succeeded / elapsed:.0f}")
        rate.append(succeeded / elapsed)
        cpu = time.process_time() - cpu_started
        per_step = 1000 * cpu / max(succeeded, 1)
        print(f"engine process CPU           {cpu:.1f} s, {per_step:.2f} ms a step")
        print(f"first ECO production-ready   {first_ready or 0.0:.1f} s")
        print(f"outbox events                {await asyncio.to_thread(backlog)}")
        if config.collector_url:
            # The relay runs inside the engine: keep it running until the outbox is out.
            delivered = await asyncio.to_thread(freshness.drain, db)
            print(f"outbox delivered to the collector: {'all' if delivered else 'NOT all'}")
        stop.set()

    def backlog() -> int:
        with db.connect() as connection:
            return store.outbox_backlog(connection)

    def started(engine: SyncEngine) -> None:
        holder["engine"] = engine
        asyncio.get_running_loop().create_task(watch())

    if profiler is not None:
        profiler.enable()
    await run_engine(config, db, stop, started=started)
    if profiler is not None:
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
        print("\nwhere the engine's event-loop thread spends its time (tottime):")
        print(out.getvalue())
    db.dispose()
    return rate[0] if rate else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ecos", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--confirmation-delay", type=float, default=2.0)
    parser.add_argument(
        "--qualification-delay", type=float, default=2.0, help="procurement's median, seconds"
    )
    parser.add_argument(
        "--dispatch-interval", type=float, default=0.2, help="seconds (the engine default)"
    )
    parser.add_argument("--engines", type=int, default=1, help="engines sharing the work")
    parser.add_argument(
        "--transports", default="aiohttp,httpcore", help="comma-separated: aiohttp, httpcore"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the event loop")
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument(
        "--freshness",
        action="store_true",
        help="relay to a collector on the same kind of database; print p50/p95 freshness",
    )
    parser.add_argument("--skip-ceiling", action="store_true", help="the engine only")
    parser.add_argument("--spy", help="py-spy the engine's threads into SPY.<transport>.txt")
    args = parser.parse_args()

    transports = [t.strip() for t in args.transports.split(",") if t.strip()]
    figures: dict[str, tuple[Ceiling, float]] = {}
    for transport in transports:
        if args.skip_ceiling:
            print(f"\n== transport {transport}: the engine")
            with_simulators(args, partial(engine_run, args, transport=transport))
            continue
        print(f"\n== transport {transport}: the ceiling (bare driver, no database)")
        ceiling = with_simulators(args, partial(ceiling_run, transport=transport))
        print(f"ceiling: {ceiling.steps} steps in {ceiling.seconds:.1f} s, {ceiling.calls} calls")
        print(f"ceiling steps per second     {ceiling.rate:.0f}")
        print(f"\n== transport {transport}: the engine")
        rate = with_simulators(args, partial(engine_run, args, transport=transport))
        figures[transport] = (ceiling, rate)
    print(
        f"\n{args.ecos} ECOs, systems at {args.latency_ms:g} ms, {args.engines} engine(s); {load()}"
    )
    for transport, (ceiling, rate) in figures.items():
        print(
            f"{transport:9s} engine {rate:5.0f} steps/s  ceiling {ceiling.rate:5.0f} steps/s  "
            f"ratio to ceiling {rate / ceiling.rate if ceiling.rate else 0:.2f}"
        )


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} {five:.1f} {fifteen:.1f}"


def with_simulators(args: argparse.Namespace, work: Callable[[str, list[str]], T]) -> T:
    """Run ``work(base_url, eco_numbers)`` against a fresh simulators process and burst."""
    port = free_port()
    simulators = start_simulators(port, args.confirmation_delay)
    try:
        base = f"http://127.0.0.1:{port}"
        numbers = prepare(base, args.ecos, args.latency_ms, args.qualification_delay)
        print(
            f"{len(numbers)} ECOs approved; systems answer after {args.latency_ms:g} ms; {load()}"
        )
        return work(base, numbers)
    finally:
        simulators.terminate()
        simulators.wait(timeout=10)


def engine_config(base: str, transport: str, dispatch_interval: float = 0.2) -> EngineConfig:
    return EngineConfig().with_simulators(
        base,
        plm_poll_interval=0.5,
        dispatch_interval=dispatch_interval,
        confirmation_interval=0.25,
        reconcile_interval=3600.0,
        metrics_port=None,
        http_transport=transport,
    )


def ceiling_run(base: str, numbers: list[str], transport: str) -> Ceiling:
    return asyncio.run(run_ceiling(engine_config(base, transport), numbers))


def engine_run(args: argparse.Namespace, base: str, numbers: list[str], transport: str) -> float:
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(fresh_database(args.database, "engine"))
        config = engine_config(base, transport, args.dispatch_interval)
        collector_url = None
        if args.freshness:
            collector_url = stack.enter_context(fresh_database(args.database, "collector"))
            port = free_port()
            collector = freshness.start_collector(collector_url, port)
            stack.callback(collector.wait, timeout=30)
            stack.callback(collector.terminate)
            config = config.model_copy(
                update={
                    "collector_url": f"http://127.0.0.1:{port}",
                    "collector_token": SecretStr(TOKEN),
                }
            )
        others = extra_engines(args.engines - 1, base, url, transport)
        for process in others:
            stack.callback(process.wait, timeout=30)
            stack.callback(process.terminate)
        if args.spy:
            # py-spy samples every thread of this process: the event loop and the database.
            output = f"{args.spy}.{transport}.txt"
            command = ["py-spy", "record", "--pid", str(os.getpid()), "--format", "raw"]
            spy = subprocess.Popen([*command, "--rate", "50", "-o", output, "--nonblocking"])
            stack.callback(spy.wait, timeout=60)
            stack.callback(spy.send_signal, signal.SIGINT)
        rate = asyncio.run(burst(config, url, numbers, args.profile))
        if collector_url is not None:
            print(f"{args.database}: {freshness.line(freshness.lags(collector_url))}; {load()}")
            print("\n".join(freshness.breakdown(collector_url)))
        return rate


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
