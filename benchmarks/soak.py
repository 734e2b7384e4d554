"""Soak: ``threadline up`` at a steady ECO rate, watching that nothing grows without bound.

Runs ``threadline up`` in a temporary folder on free ports (SQLite in that folder unless
``--database-url`` names another database), and every ``--every`` minutes prints each child
process's resident memory, the database's size and the stored events. At the end it fits a
least-squares slope to each series over the first and the second half of the run: a series
whose second-half slope is still clearly positive (and not much smaller than the first half's)
is called growing. The event store grows by design (it is append-only);
``threadline db prune --events-older-than DAYS`` bounds it.

    python -m benchmarks.soak [--minutes 60] [--every 5] [--eco-rate 10] [--database-url URL]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from simulators.testing import free_port
from threadline.db import create_engine

SERVICES = ("simulators", "collector", "engine", "console")
MIB = 1024 * 1024


def descendants(pid: int) -> dict[int, str]:
    """Every live descendant of ``pid`` with its command line (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z":
            parents[int(entry.name)] = int(fields[1])
    found: dict[int, str] = {}
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        for child in frontier:
            try:
                cmdline = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            found[child] = cmdline.decode(errors="replace")
    return found


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def service_rss(up_pid: int) -> dict[str, float]:
    """RSS per service in MiB: each service's process and its own children (the console's
    Streamlit, for one) added up."""
    totals = dict.fromkeys(SERVICES, 0.0)
    for pid, cmdline in descendants(up_pid).items():
        words = cmdline.split()
        name = next((w for w in words if w in SERVICES), None)
        if name is None and "streamlit" in cmdline:
            name = "console"
        if name is not None:
            totals[name] += rss_mib(pid)
    return totals


def database_size(url: str, workdir: Path) -> tuple[float, int]:
    """The database's size in MiB and the number of stored events."""
    # Read-only: on SQLite a writing engine begins IMMEDIATE and would queue for the lock.
    engine = create_engine(url, read_only=True)
    try:
        with engine.connect() as conn:
            events = int(conn.execute(sa.text("SELECT count(*) FROM events")).scalar_one())
            if engine.dialect.name == "postgresql":
                size = int(
                    conn.execute(
                        sa.text("SELECT pg_database_size(current_database())")
                    ).scalar_one()
                )
            else:
                size = sum(p.stat().st_size for p in workdir.glob("threadline.db*"))
    finally:
        engine.dispose()
    return size / MIB, events


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (minute, value) points, per minute."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    var = sum((x - mx) ** 2 for x, _ in points)
    return 0.0 if var == 0 else sum((x - mx) * (y - my) for x, y in points) / var


def verdict(name: str, points: list[tuple[float, float]]) -> str:
    half = len(points) // 2
    first, second = slope(points[: half + 1]), slope(points[half:])
    level = max(abs(y) for _, y in points) or 1.0
    # Growing: the second half still climbs by more than 0.5 % of the level per minute and
    # has not flattened to under half of the first half's climb.
    growing = second > 0.005 * level and second > 0.5 * first
    word = "GROWS" if growing else "steady"
    return f"{name:<14} first half {first:+9.3f}/min  second half {second:+9.3f}/min  {word}"


def start_up(args: argparse.Namespace, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    url = args.database_url or f"sqlite:///{workdir / 'threadline.db'}"
    ports = [free_port() for _ in range(4)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREADLINE_")}
    command = [
        sys.executable,
        "-m",
        "threadline",
        "up",
        "--database-url",
        url,
        "--history",
        str(args.history),
        "--eco-rate",
        str(args.eco_rate),
        "--simulators-port",
        str(ports[0]),
        "--collector-port",
        str(ports[1]),
        "--console-port",
        str(ports[2]),
        "--metrics-port",
        str(ports[3]),
    ]
    log = (workdir / "up.log").open("wb")
    process = subprocess.Popen(command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    return process, url


def wait_until_up(process: subprocess.Popen[bytes], workdir: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    log = workdir / "up.log"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"threadline up exited with {process.returncode}:\n{log.read_text()}")
        if "Threadline is up" in log.read_text(errors="replace"):
            return
        time.sleep(2)
    raise SystemExit(f"threadline up did not come up in {timeout:.0f} s:\n{log.read_text()}")


def run(args: argparse.Namespace, workdir: Path) -> int:
    process, url = start_up(args, workdir)
    series: dict[str, list[tuple[float, float]]] = {}
    try:
        wait_until_up(process, workdir, timeout=300)
        start = time.monotonic()
        print(f"threadline up in {workdir}, {args.eco_rate} ECOs/min for {args.minutes} min")
        header = " ".join(f"{s + ' MiB':>15}" for s in SERVICES)
        print(f"{'min':>5} {header} {'db MiB':>8} {'events':>8}", flush=True)
        minute = 0.0
        while True:
            rss = service_rss(process.pid)
            size, events = database_size(url, workdir)
            for name, value in (*rss.items(), ("database MiB", size), ("events", events)):
                series.setdefault(name, []).append((minute, float(value)))
            row = " ".join(f"{rss[s]:>15.1f}" for s in SERVICES)
            print(f"{minute:>5.1f} {row} {size:>8.2f} {events:>8}", flush=True)
            if minute >= args.minutes:
                break
            if process.poll() is not None:
                print(f"threadline up exited with {process.returncode}; see {workdir}/up.log")
                return 1
            time.sleep(max(0.0, start + (minute + args.every) * 60 - time.monotonic()))
            minute = (time.monotonic() - start) / 60
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
    print()
    for name, points in series.items():
        print(verdict(name, points))
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--every", type=float, default=5.0, help="Minutes between samples.")
    parser.add_argument("--eco-rate", type=float, default=10.0, help="ECOs approved a minute.")
    parser.add_argument("--history", type=int, default=0, help="Days of history to backfill.")
    parser.add_argument("--database-url", help="Default: SQLite in the temporary folder.")
    parser.add_argument("--keep", action="store_true", help="Keep the temporary folder.")
    args = parser.parse_args()
    if args.keep:
        workdir = Path(tempfile.mkdtemp(prefix="threadline-soak-"))
        raise SystemExit(run(args, workdir))
    with tempfile.TemporaryDirectory(prefix="threadline-soak-") as folder:
        raise SystemExit(run(args, Path(folder)))


if __name__ == "__main__":
    main()
