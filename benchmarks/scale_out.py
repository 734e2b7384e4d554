"""Scale out: two collector processes and two engine processes take one burst, on PostgreSQL.

One simulators process (``threadline simulators serve``), two ``threadline collector serve``
processes and two ``threadline engine run`` processes share a fresh PostgreSQL database.
The engines share the steps through ``FOR UPDATE SKIP LOCKED``; one of them at a time
holds the relay lease, so both send the outbox through a small round-robin HTTP proxy in
this process that hands each batch to the next collector. Once every ECO is
production-ready and the outbox is relayed, it checks that nothing was lost or applied
twice: each idempotency key in the simulators' ledger applied once and every succeeded
step's change in it, and every outbox event in the event store exactly once. Prints the
figures and each process's CPU over the burst.

    python -m benchmarks.scale_out [--ecos 300] [--latency-ms 20]

PostgreSQL comes from THREADLINE_TEST_DATABASE_URL (default: the local server); a
throwaway database is created and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import sqlalchemy as sa
from aiohttp import ClientSession, web

from simulators.testing import free_port
from sync_engine import store
from sync_engine.tables import outbox
from threadline.db import create_engine

TOKEN = "scale-out-engine-token-0123456789"
GRANT = {"producer": "engine", "sources": ["/threadline/"], "types": ["io.threadline."]}
PASSED_HEADERS = ("content-type", "retry-after")
TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Figures:
    """What one run measured and what its checks found."""

    ecos: int = 0
    steps: int = 0
    seconds: float = 0.0
    events_stored: int = 0
    batches_per_collector: list[int] = field(default_factory=list)
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    applied_twice: dict[str, int] = field(default_factory=dict)
    not_applied: list[str] = field(default_factory=list)
    stored_twice: int = 0
    not_stored: int = 0

    @property
    def exactly_once(self) -> bool:
        return not (self.applied_twice or self.not_applied or self.stored_twice or self.not_stored)

    def lines(self) -> list[str]:
        rate = self.steps / self.seconds if self.seconds else 0.0
        out = [
            f"ECOs                          {self.ecos}",
            f"steps succeeded               {self.steps}",
            f"seconds to all ready+relayed  {self.seconds:.1f}",
            f"steps per second              {rate:.0f}",
            f"events stored                 {self.events_stored}",
            "batches per collector         " + " / ".join(map(str, self.batches_per_collector)),
            "CPU over the burst (s, cores):",
        ]
        for name, cpu in self.cpu_seconds.items():
            out.append(f"  {name:<26}  {cpu:7.1f}  {cpu / self.seconds if self.seconds else 0:.2f}")
        verdict = "yes" if self.exactly_once else "NO"
        out.append(
            f"exactly once                  {verdict} (applied twice {len(self.applied_twice)}, "
            f"not applied {len(self.not_applied)}, stored twice {self.stored_twice}, "
            f"outbox events not stored {self.not_stored})"
        )
        return out


class RoundRobin:
    """An HTTP proxy handing each request to the next backend in turn."""

    def __init__(self, backends: list[str]) -> None:
        self.backends = backends
        self.counts = [0] * len(backends)
        self._next = 0
        self._session: ClientSession | None = None

    async def handle(self, request: web.Request) -> web.Response:
        index = self._next % len(self.backends)
        self._next += 1
        self.counts[index] += 1
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        async with self._session.request(
            request.method,
            self.backends[index] + request.path_qs,
            data=await request.read(),
            headers=headers,
        ) as answer:
            body = await answer.read()
            kept = {k: v for k, v in answer.headers.items() if k.lower() in PASSED_HEADERS}
            return web.Response(status=answer.status, body=body, headers=kept)

    @contextmanager
    def serving(self) -> Iterator[str]:
        """Serve on a free loopback port in a thread of its own; yield the URL."""
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()
        port = free_port()

        async def start() -> web.AppRunner:
            self._session = ClientSession()
            app = web.Application(client_max_size=64 * 1024 * 1024)
            app.router.add_route("*", "/{tail:.*}", self.handle)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            return runner

        async def stop(runner: web.AppRunner) -> None:
            await runner.cleanup()
            if self._session is not None:
                await self._session.close()

        runner = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=30)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            asyncio.run_coroutine_threadsafe(stop(runner), loop).result(timeout=30)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            loop.close()


def spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "threadline", *args]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1).raise_for_status()
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {timeout:.0f} s")


def cpu_seconds(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def service_env(database_url: str, simulators: str, collector: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREADLINE_")}
    env.update(
        {
            "THREADLINE_DATABASE_URL": database_url,
            "THREADLINE_PLM_URL": f"{simulators}/plm",
            "THREADLINE_ERP_URL": f"{simulators}/erp",
            "THREADLINE_MES_URL": f"{simulators}/mes",
            "THREADLINE_PROCUREMENT_URL": f"{simulators}/procurement",
            "THREADLINE_COLLECTOR_URL": collector,
            "THREADLINE_COLLECTOR_TOKEN": TOKEN,
            "THREADLINE_COLLECTOR_TOKENS": json.dumps({TOKEN: GRANT}),
            "THREADLINE_ENGINE_PLM_POLL_INTERVAL": "0.5",
            "THREADLINE_ENGINE_DISPATCH_INTERVAL": "0.05",
            "THREADLINE_ENGINE_CONFIRMATION_INTERVAL": "0.25",
            "THREADLINE_LOG_LEVEL": "WARNING",
        }
    )
    return env


def check(db: sa.Engine, simulators: str, figures: Figures) -> None:
    """Fill in what the ledger and the event store say about exactly once."""
    with httpx.Client(base_url=simulators, timeout=60) as client:
        body = client.get("/_admin/ledger").json()
    if body["dropped"]:
        raise RuntimeError(f"the ledger dropped {body['dropped']} entries: run fewer ECOs")
    keys = Counter(e["idempotency_key"] for e in body["entries"] if e["idempotency_key"])
    figures.applied_twice = {k: n for k, n in keys.items() if n > 1}
    with db.connect() as connection:
        steps = store.find_steps(connection)
        sent = {str(e["id"]) for e in connection.execute(sa.select(outbox.c.event)).scalars()}
        stored = list(connection.execute(sa.text("SELECT id FROM events")).scalars())
    figures.not_applied = [
        s.step_id
        for s in steps
        if s.state.value == "succeeded"
        and s.kind.value != "erp.confirmation"
        and s.idempotency_key not in keys
    ]
    figures.steps = sum(s.state.value == "succeeded" for s in steps)
    figures.events_stored = len(stored)
    figures.stored_twice = len(stored) - len(set(stored))
    figures.not_stored = len(sent - set(stored))


def done(db: sa.Engine, numbers: list[str]) -> bool:
    with db.connect() as connection:
        states = store.eco_states(connection)
        backlog = store.outbox_backlog(connection)
    return backlog == 0 and all(states.get(n) == "production_ready" for n in numbers)


def run(
    database_url: str,
    ecos: int,
    latency_ms: float,
    *,
    timeout: float = 600,
    verify: Callable[[str], object] | None = None,
) -> Figures:
    """One scale-out burst on a migrated PostgreSQL database; return the figures.

    ``verify`` is called with the simulators' URL once the burst is done, while they run.
    """
    from benchmarks.engine_burst import prepare, start_simulators

    sim_port = free_port()
    simulators_process = start_simulators(sim_port, confirmation_delay=0.5)
    simulators = f"http://127.0.0.1:{sim_port}"
    processes: dict[str, subprocess.Popen[bytes]] = {"simulators": simulators_process}
    db = create_engine(database_url)
    try:
        ports = [free_port(), free_port()]
        collectors = [f"http://127.0.0.1:{p}" for p in ports]
        base_env = service_env(database_url, simulators, "")
        for i, port in enumerate(ports, 1):
            name = f"collector {i}"
            processes[name] = spawn(["collector", "serve", "--port", str(port)], base_env)
            wait_healthy(f"{collectors[i - 1]}/readyz", processes[name])
        proxy = RoundRobin(collectors)
        with proxy.serving() as relay_url:
            env = service_env(database_url, simulators, relay_url)
            for i in (1, 2):
                processes[f"engine {i}"] = spawn(["engine", "run", "--metrics-port", "0"], env)
            time.sleep(3)  # let both engines import and start before the burst
            figures = Figures(ecos=ecos)
            before = {n: cpu_seconds(p.pid) for n, p in processes.items()}
            me = time.process_time()
            started = time.perf_counter()
            numbers = prepare(simulators, ecos, latency_ms)
            deadline = time.monotonic() + timeout
            while not done(db, numbers):
                exited = [n for n, p in processes.items() if p.poll() is not None]
                if exited or time.monotonic() > deadline:
                    raise RuntimeError(f"burst not finished (exited: {exited or 'none'})")
                time.sleep(0.5)
            figures.seconds = time.perf_counter() - started
            figures.cpu_seconds = {n: cpu_seconds(p.pid) - before[n] for n, p in processes.items()}
            figures.cpu_seconds["proxy and checks (here)"] = time.process_time() - me
            figures.batches_per_collector = list(proxy.counts)
        check(db, simulators, figures)
        if verify is not None:
            verify(simulators)
        return figures
    finally:
        for process in reversed(processes.values()):
            process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        db.dispose()


def main() -> None:
    from benchmarks.engine_burst import fresh_database

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ecos", type=int, default=300)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    args = parser.parse_args()
    with fresh_database("postgresql", "scale_out") as url:
        figures = run(url, args.ecos, args.latency_ms)
    print(f"{args.ecos} ECOs, systems at {args.latency_ms:g} ms, 2 collectors, 2 engines")
    print("\n".join(figures.lines()))
    raise SystemExit(0 if figures.exactly_once else 1)


if __name__ == "__main__":
    main()
