"""Engine burst: 1000 ECOs approved at once, every system answering after 20 ms.

Starts the simulators as their own process (so they do not share this process's CPU
and GIL with the engine), approves a burst of ECOs, then runs one engine on a fresh
PostgreSQL database until every ECO is production-ready. Prints steps per second and the
time to production-ready, and with ``--profile`` where the engine's own time goes.

    python benchmarks/engine_burst.py [--ecos 1000] [--latency-ms 20] [--engines 1] [--profile]

``--engines N`` adds N-1 engine processes (``threadline engine run``) on the same
database: steps are shared through ``FOR UPDATE SKIP LOCKED``.

PostgreSQL comes from THREADLINE_TEST_DATABASE_URL (default: the local server); a
throwaway database is created and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import sqlalchemy as sa

from simulators.testing import free_port
from sync_engine import store
from sync_engine.config import EngineConfig
from sync_engine.runner import SyncEngine
from sync_engine.scheduler import run_engine
from threadline.db import create_engine
from threadline.migrate import upgrade

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


def extra_engines(count: int, base: str, url: str) -> list[subprocess.Popen[bytes]]:
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
    }
    command = [sys.executable, "-m", "threadline", "engine", "run", "--metrics-port", "0"]
    return [
        subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(count)
    ]


def prepare(base: str, ecos: int, latency_ms: float) -> list[str]:
    with httpx.Client(base_url=base, timeout=60) as client:
        world = client.get("/plm/world").json()
        # Every ECO must be able to finish: no routing may hit an inactive work center.
        for wc in world["work_centers"]:
            if not wc["active"]:
                client.post(f"/erp/plants/{wc['plant']}/work-centers/{wc['code']}/activate")
        faults = {system: {"latency_ms": latency_ms} for system in ("plm", "erp", "mes")}
        faults["procurement"] = {"latency_ms": latency_ms, "unreliable_portal_rate": 0}
        client.put("/_admin/faults", json=faults).raise_for_status()
        numbers: list[str] = []
        while len(numbers) < ecos:
            count = min(1000, ecos - len(numbers))
            response = client.post("/_admin/ecos", json={"count": count})
            response.raise_for_status()
            numbers += response.json()["ecos"]
        return numbers


def database() -> tuple[sa.Engine, str, str]:
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"tl_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    url = sa.make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    return admin, name, url


async def burst(config: EngineConfig, url: str, numbers: list[str], profile: bool) -> None:
    db = create_engine(url, pool_size=8)
    stop = asyncio.Event()
    holder: dict[str, SyncEngine] = {}
    profiler = cProfile.Profile() if profile else None

    def progress() -> tuple[int, int, dict[str, int]]:
        with db.connect() as connection:
            states = store.eco_states(connection)
            counts = store.count_by_state(connection)
        ready = sum(1 for n in numbers if states.get(n) == "production_ready")
        return ready, len(states), counts

    async def watch() -> None:
        started = time.perf_counter()
        first_ready: float | None = None
        while True:
            await asyncio.sleep(1.0)
            ready, known, counts = await asyncio.to_thread(progress)
            elapsed = time.perf_counter() - started
            if ready and first_ready is None:
                first_ready = elapsed
            print(
                f"  {elapsed:6.1f}s  ecos planned {known:5d}  production-ready {ready:5d}  "
                f"steps succeeded {counts.get('succeeded', 0):6d}  "
                f"in flight {holder['engine'].in_flight:4d}",
                flush=True,
            )
            if ready == len(numbers):
                break
        elapsed = time.perf_counter() - started
        succeeded = counts.get("succeeded", 0)
        print()
        print(f"ECOs                         {len(numbers)}")
        print(f"steps succeeded              {succeeded}")
        print(f"time to all production-ready {elapsed:.1f} s")
        print(f"steps per second             {succeeded / elapsed:.0f}")
        print(f"first ECO production-ready   {first_ready:.1f} s")
        print(f"outbox events                {await asyncio.to_thread(backlog)}")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ecos", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--confirmation-delay", type=float, default=2.0)
    parser.add_argument("--engines", type=int, default=1, help="engines sharing the work")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    port = free_port()
    simulators = start_simulators(port, args.confirmation_delay)
    admin, name, url = database()
    try:
        base = f"http://127.0.0.1:{port}"
        numbers = prepare(base, args.ecos, args.latency_ms)
        print(f"{len(numbers)} ECOs approved; systems answer after {args.latency_ms:g} ms")
        config = EngineConfig().with_simulators(
            base,
            plm_poll_interval=0.5,
            dispatch_interval=0.05,
            confirmation_interval=0.25,
            reconcile_interval=3600.0,
            metrics_port=None,
        )
        others = extra_engines(args.engines - 1, base, url)
        try:
            asyncio.run(burst(config, url, numbers, args.profile))
        finally:
            for process in others:
                process.terminate()
                process.wait(timeout=30)
    finally:
        simulators.terminate()
        simulators.wait(timeout=10)
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
