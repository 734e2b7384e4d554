"""Collector ingest throughput and latency on PostgreSQL, projections on.

    python -m benchmarks.collector_ingest [--ecos 1000] [--single-ecos 300] [--runs 3]
        [--nats-url nats://127.0.0.1:4222]

Creates its own database (``tl_bench_collector`` on THREADLINE_TEST_DATABASE_URL's
server, default the local one), runs ``threadline collector serve`` (uvicorn, uvloop,
httptools) in a subprocess and posts realistic engine events (whole ECO propagations from
:mod:`collector.samples`) over real HTTP with a small keep-alive HTTP/1.1 client:

- batches of 100 events (``application/cloudevents-batch+json``), 8 connections;
- single events (structured mode), 128 connections, so group commit can join them;
- the raw ceiling: psycopg ``executemany`` of ``INSERT ... ON CONFLICT DO NOTHING`` of the
  same rows, 100 a transaction, into a bare table (same columns, the unique key only);
- one transaction per event (``EventStore.append`` of each event in turn, in process):
  what single events would cost without group commit;
- the HTTP floor: the same single-event requests against a bare uvicorn ASGI app that
  answers 202 at once (what HTTP alone costs on this machine);
- where the time goes, in process and in CPU (steadier than wall time on a shared
  machine): validating the batches (``parse_request``), storing them with every
  projection (``EventStore.append_many``, Python and PostgreSQL apart), and the bare
  insert of the raw ceiling.

Prints events/s and p50/p99 request latency for each, every run (``--runs``, default 3),
then the medians and two ratio lines: batches to the raw ceiling (goal 0.5) and single
events to one transaction per event (goal 8).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import nats
import orjson
import psycopg
import sqlalchemy as sa

from collector.app import create_engine_for_collector
from collector.auth import ProducerGrant
from collector.forwarder import ForwarderConfig
from collector.samples import many_propagations
from collector.store import EventStore, event_row
from collector.tables import PROJECTIONS, events
from collector.validation import parse_request
from threadline.migrate import upgrade

ADMIN_URL = os.environ.get(
    "THREADLINE_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
DATABASE = "tl_bench_collector"
TOKEN = "bench-token"


def database_url() -> str:
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        connection.exec_driver_sql(f"CREATE DATABASE {DATABASE}")
    admin.dispose()
    url = sa.make_url(ADMIN_URL).set(database=DATABASE).render_as_string(hide_password=False)
    upgrade(url)
    return url


def reset(url: str, *, forwarding: bool = False) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        names = ", ".join(table.name for table in (events, *PROJECTIONS))
        # A running forwarder keeps its cursor: seq must go on from where it was.
        connection.exec_driver_sql(
            f"TRUNCATE {names}" + ("" if forwarding else " RESTART IDENTITY")
        )
    engine.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    url: str, port: int, profile: str | None, workers: int, forward: ForwarderConfig | None
) -> subprocess.Popen[bytes]:
    nats = {}
    if forward is not None:
        nats = {
            "THREADLINE_NATS_URL": forward.url,
            "THREADLINE_NATS_STREAM": forward.stream,
            "THREADLINE_NATS_SUBJECT_PREFIX": forward.subject_prefix,
        }
    env = {
        **os.environ,
        **nats,
        "THREADLINE_DATABASE_URL": url,
        "THREADLINE_COLLECTOR_TOKENS": orjson.dumps(
            {
                TOKEN: {
                    "producer": "engine",
                    "sources": ["/threadline/"],
                    "types": ["io.threadline."],
                }
            }
        ).decode(),
        "THREADLINE_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "threadline", "collector", "serve", "--port", str(port)]
    command += ["--workers", str(workers)]
    if profile:
        # Sample the server (py-spy) to see where its time goes; written when it stops.
        command = ["py-spy", "record", "--format", "raw", "-o", profile, "--", *command]
    server = subprocess.Popen(command, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("the collector did not start")


def request_bytes(port: int, body: bytes, content_type: str) -> bytes:
    head = (
        f"POST /events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {TOKEN}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def client(
    port: int, requests: list[bytes], latencies: list[float], statuses: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for raw in requests:
            started = time.perf_counter()
            writer.write(raw)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            statuses.append(int(head.split(b" ", 2)[1]))
    finally:
        writer.close()


async def drive(port: int, requests: list[bytes], connections: int) -> tuple[float, list[float]]:
    shares = [requests[i::connections] for i in range(connections)]
    latencies: list[float] = []
    statuses: list[int] = []
    started = time.perf_counter()
    await asyncio.gather(*(client(port, share, latencies, statuses) for share in shares))
    elapsed = time.perf_counter() - started
    bad = [s for s in statuses if s != 202]
    if bad:
        raise RuntimeError(f"{len(bad)} requests were not accepted: {sorted(set(bad))}")
    return elapsed, latencies


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children still running (Linux /proc)."""
    total = 0.0
    pids = [pid]
    while pids:
        current = pids.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        pids.extend(int(child) for child in children)
    return total


def backend_pids(url: str) -> list[int]:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT pid FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()"
            ),
            {"db": DATABASE},
        ).all()
    engine.dispose()
    return [row[0] for row in rows]


class CpuMeter:
    """CPU seconds the collector, its PostgreSQL backends and this client spend."""

    def __init__(self, server: int, url: str) -> None:
        self.server, self.url = server, url

    def __enter__(self) -> CpuMeter:
        self.backends = backend_pids(self.url)
        self.start = self._sample()
        return self

    def _sample(self) -> tuple[float, float, float]:
        client = os.times()
        return (
            cpu_seconds(self.server),
            sum(cpu_seconds(pid) for pid in self.backends),
            client.user + client.system,
        )

    def __exit__(self, *_exc: object) -> None:
        self.backends = sorted(set(self.backends) | set(backend_pids(self.url)))
        end = self._sample()
        self.used = tuple(b - a for a, b in zip(self.start, end, strict=True))

    def line(self, count: int) -> str:
        server, database, client = (1e6 * x / count for x in self.used)
        return (
            f"{'':34} CPU per event: collector {server:5.0f} us, PostgreSQL backends "
            f"{database:5.0f} us, load client {client:4.0f} us"
        )


def report(label: str, count: int, elapsed: float, latencies: Sequence[float]) -> float:
    ms = sorted(x * 1000 for x in latencies)
    p50 = statistics.median(ms) if ms else 0.0
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))] if ms else 0.0
    print(
        f"{label:<34} {count:>7} events {elapsed:6.2f} s {count / elapsed:>9,.0f} events/s"
        f"   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms"
    )
    return count / elapsed


def stored(url: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        count = connection.execute(sa.select(sa.func.count()).select_from(events)).scalar_one()
    engine.dispose()
    return int(count)


def raw_ceiling(url: str, stream: list[dict[str, Any]]) -> tuple[float, list[float], float]:
    """The bare insert's throughput, latencies and PostgreSQL CPU seconds."""
    dsn = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    received_at = datetime.now(UTC)
    rows = [event_row(event, "engine", received_at) for event in stream]
    columns = [c.name for c in events.c if c.name != "seq"]
    placeholders = ", ".join(["%s"] * len(columns))
    insert = (
        f"INSERT INTO events_raw ({', '.join(columns)}) VALUES ({placeholders}) "
        "ON CONFLICT (source, id) DO NOTHING"
    )
    json_columns = {"data", "extensions"}
    values = [
        tuple(psycopg.types.json.Jsonb(row[c]) if c in json_columns else row[c] for c in columns)
        for row in rows
    ]
    latencies = []
    with psycopg.connect(dsn) as connection:
        connection.execute("DROP TABLE IF EXISTS events_raw")
        connection.execute(
            "CREATE TABLE events_raw (LIKE events INCLUDING DEFAULTS, UNIQUE (source, id))"
        )
        connection.commit()
        backend = connection.info.backend_pid
        cpu_before = cpu_seconds(backend)
        started = time.perf_counter()
        for position in range(0, len(values), 100):
            batch_started = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.executemany(insert, values[position : position + 100])
            connection.commit()
            latencies.append(time.perf_counter() - batch_started)
        elapsed = time.perf_counter() - started
        database_cpu = cpu_seconds(backend) - cpu_before
        connection.execute("DROP TABLE events_raw")
        connection.commit()
    return elapsed, latencies, database_cpu


def where_time_goes(url: str, stream: list[dict[str, Any]]) -> None:
    """CPU per event of validation and of the store (Python, PostgreSQL), in process."""
    grant = ProducerGrant(producer="engine", sources=("",), types=("io.threadline.",))
    bodies = [orjson.dumps(stream[i : i + 100]) for i in range(0, len(stream), 100)]
    started = time.process_time()
    parsed = [
        parse_request("application/cloudevents-batch+json", [], body, grant) for body in bodies
    ]
    validation = time.process_time() - started
    reset(url)
    engine = create_engine_for_collector(url)
    store = EventStore(engine)
    store.append_many([(parsed[0], "engine")])
    backends = backend_pids(url)
    database_before = sum(cpu_seconds(pid) for pid in backends)
    started = time.process_time()
    for batch in parsed[1:]:
        store.append_many([(batch, "engine")])
    python = time.process_time() - started
    database = sum(cpu_seconds(pid) for pid in backends) - database_before
    engine.dispose()
    stored_count = sum(len(batch) for batch in parsed[1:])
    print(
        f"in process, CPU per event: validation {1e6 * validation / len(stream):4.0f} us; "
        f"store with projections: Python {1e6 * python / stored_count:4.0f} us, "
        f"PostgreSQL {1e6 * database / stored_count:4.0f} us"
    )


BARE_SERVER = """
import sys, uvicorn

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    body = b'{"accepted":1,"duplicates":0}'
    await send({"type": "http.response.start", "status": 202,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})

uvicorn.run(app, port=int(sys.argv[1]), loop="uvloop", http="httptools",
            log_level="warning", access_log=False, lifespan="off")
"""


def http_floor(requests: list[bytes], connections: int) -> tuple[float, list[float]]:
    """The same single-event requests against a bare ASGI app answering 202 at once."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", BARE_SERVER, str(port)])
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        return asyncio.run(drive(port, requests, connections))
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)


def one_commit_each(url: str, stream: list[dict[str, Any]]) -> tuple[float, list[float]]:
    """What single events cost without group commit: EventStore.append per event."""
    reset(url)
    engine = create_engine_for_collector(url)
    store = EventStore(engine)
    latencies = []
    started = time.perf_counter()
    for event in stream:
        event_started = time.perf_counter()
        store.append([event], "engine")
        latencies.append(time.perf_counter() - event_started)
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed, latencies


def main() -> None:
    global DATABASE
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ecos", type=int, default=1000, help="ECOs posted in batches")
    parser.add_argument("--single-ecos", type=int, default=300, help="ECOs posted one by one")
    parser.add_argument("--batch-connections", type=int, default=8)
    parser.add_argument("--single-connections", type=int, default=128)
    parser.add_argument("--profile", help="py-spy the server, writing raw samples here")
    parser.add_argument("--workers", type=int, default=1, help="collector processes")
    parser.add_argument(
        "--nats-url",
        help="forward every stored event to this NATS JetStream (a stream of the run's own, "
        "deleted afterwards) and report how soon forwarding catches up",
    )
    parser.add_argument("--database", default=DATABASE, help="benchmark database (dropped)")
    parser.add_argument("--runs", type=int, default=3, help="runs; the ratios are of medians")
    args = parser.parse_args()
    DATABASE = args.database
    tag = uuid.uuid4().hex[:8]
    args.forward = (
        ForwarderConfig(args.nats_url, stream=f"TL_BENCH_{tag}", subject_prefix=f"tlbench{tag}")
        if args.nats_url
        else None
    )

    url = database_url()
    port = free_port()
    batch_stream = list(many_propagations(args.ecos))
    single_stream = list(many_propagations(args.single_ecos, first=args.ecos + 1))
    forwarding = f"forwarding to {args.nats_url}" if args.forward else "no forwarding"
    print(
        f"PostgreSQL database {DATABASE}; collector on port {port} ({args.workers} process); "
        f"projections on; {forwarding}; load average {os.getloadavg()[0]:.1f}"
    )
    rates: dict[str, list[float]] = {name: [] for name in ("batches", "ceiling", "single", "one")}
    try:
        for run in range(1, args.runs + 1):
            print(f"-- run {run} of {args.runs}; load average {os.getloadavg()[0]:.1f}")
            batch_rate, single_rate = measure_http(url, port, args, batch_stream, single_stream)
            rates["batches"].append(batch_rate)
            rates["single"].append(single_rate)
            elapsed, latencies, database_cpu = raw_ceiling(url, batch_stream)
            label = "raw ceiling (executemany, 100/tx)"
            rates["ceiling"].append(report(label, len(batch_stream), elapsed, latencies))
            per_event = 1e6 * database_cpu / len(batch_stream)
            print(f"{'':34} CPU per event: PostgreSQL {per_event:5.0f} us")
            elapsed, latencies = one_commit_each(url, single_stream[:2000])
            count = min(len(single_stream), 2000)
            rates["one"].append(report("one transaction per event", count, elapsed, latencies))
        where_time_goes(url, batch_stream)
        ratio_lines(rates)
    finally:
        # Also after a failure: no benchmark database (or stream) is left behind.
        drop_database()
        if args.forward is not None:
            asyncio.run(delete_stream(args.forward))


def ratio_lines(rates: dict[str, list[float]]) -> None:
    """The medians over the runs and the two ratios the goals are stated in."""
    median = {name: statistics.median(values) for name, values in rates.items()}
    runs = len(rates["batches"])
    print(f"\nmedian of {runs} run(s); load average {os.getloadavg()[0]:.1f}")
    print(f"batches {median['batches']:,.0f}/s   raw ceiling {median['ceiling']:,.0f}/s")
    print(f"single {median['single']:,.0f}/s   one transaction per event {median['one']:,.0f}/s")
    print(f"ratio batches to raw ceiling {median['batches'] / median['ceiling']:.2f} (goal 0.50)")
    single = median["single"] / median["one"]
    print(f"ratio single events to one transaction per event {single:.1f} (goal 8)")
    per_run = [b / c for b, c in zip(rates["batches"], rates["ceiling"], strict=True)]
    print("batches to ceiling, each run: " + ", ".join(f"{r:.2f}" for r in per_run))


def measure_http(
    url: str,
    port: int,
    args: argparse.Namespace,
    batch_stream: list[dict[str, Any]],
    single_stream: list[dict[str, Any]],
) -> tuple[float, float]:
    """Batches and single events through the collector, then the bare HTTP floor; return
    the two rates (events/s)."""
    reset(url, forwarding=args.forward is not None)  # a run before this one left its events
    server = start_server(url, port, args.profile, args.workers, args.forward)
    try:
        batches = [
            request_bytes(
                port,
                orjson.dumps(batch_stream[i : i + 100]),
                "application/cloudevents-batch+json",
            )
            for i in range(0, len(batch_stream), 100)
        ]
        with CpuMeter(server.pid, url) as meter:
            elapsed, latencies = asyncio.run(drive(port, batches, args.batch_connections))
        assert stored(url) == len(batch_stream)
        batch_rate = report("batches of 100 over HTTP", len(batch_stream), elapsed, latencies)
        print(meter.line(len(batch_stream)))
        if args.forward is not None:
            caught_up(port, len(batch_stream), elapsed)

        reset(url, forwarding=args.forward is not None)
        singles = [
            request_bytes(port, orjson.dumps(event), "application/cloudevents+json")
            for event in single_stream
        ]
        with CpuMeter(server.pid, url) as meter:
            elapsed, latencies = asyncio.run(drive(port, singles, args.single_connections))
        assert stored(url) == len(single_stream)
        single_rate = report("single events over HTTP", len(single_stream), elapsed, latencies)
        print(meter.line(len(single_stream)))
        if args.forward is not None:
            caught_up(port, len(batch_stream) + len(single_stream), elapsed)
        elapsed, latencies = http_floor(singles, args.single_connections)
        report("same requests, bare ASGI app (floor)", len(singles), elapsed, latencies)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)
    return batch_rate, single_rate


def published(port: int) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    for line in text.splitlines():
        if line.startswith("collector_forwarder_published_total "):
            return float(line.split()[1])
    return 0.0


def caught_up(port: int, total: int, ingest_seconds: float) -> None:
    """Wait until the forwarder has published ``total`` events; print how long it took."""
    started = time.perf_counter()
    while published(port) < total:
        if time.perf_counter() - started > 600:
            raise RuntimeError("the forwarder did not catch up within 10 minutes")
        time.sleep(0.05)
    behind = time.perf_counter() - started
    print(
        f"{'':34} NATS: all {total} events published {behind:5.2f} s after the last answer "
        f"(ingest took {ingest_seconds:.2f} s)"
    )


async def delete_stream(config: ForwarderConfig) -> None:
    client = await nats.connect(config.url)
    try:
        await client.jetstream().delete_stream(config.stream)
    finally:
        await client.close()


def drop_database() -> None:
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    admin.dispose()


if __name__ == "__main__":
    main()
