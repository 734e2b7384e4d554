"""Memory of the simulators over an hour of ECO generation (simulated time).

Runs the simulators' state in-process on a clock that advances one simulated second per
step, approving ECOs at ``--rate`` per minute for ``--minutes`` simulated minutes, while an
engine-like driver reads the PLM feed with its cursor and writes every ECO's changes to
ERP, MES and procurement with idempotency keys (each write sent twice, like a retry). It
prints the process RSS every five simulated minutes: once the ECO, ledger and
idempotency caps are reached, RSS stays flat.

    python -m benchmarks.simulators_memory [--rate 600] [--minutes 60]
    python -m benchmarks.simulators_memory --history-days 1825 --ecos-per-day 27
"""

from __future__ import annotations

import argparse
import json
import time
from collections import deque
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from contracts.api import (
    BomRequest,
    ItemRevisionRequest,
    MesRoutingRequest,
    NoticeRequest,
    ProductionVersionRequest,
    RoutingRequest,
)
from simulators.app import SimulatorConfig, Simulators, build_simulators
from simulators.problems import Problem


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Driver:
    """Plays the engine: reads the feed and applies each ECO, every write sent twice."""

    def __init__(self, sims: Simulators) -> None:
        self.sims = sims
        self.after: tuple[datetime, str] | None = None
        self.mes_due: deque[tuple[datetime, str, MesRoutingRequest, str]] = deque()
        self.writes = 0

    def write(self, system: str, key: str, apply, *args) -> dict | None:
        """``apply(*args, key)`` through the idempotency store, twice (a retry)."""
        self.writes += 2
        try:
            for _ in range(2):
                response = self.sims.idempotency.run(system, key, partial(apply, *args, key))
        except Problem:
            return None
        return json.loads(response.body)

    def step(self, now: datetime) -> None:
        sims = self.sims
        sims.advance()
        while True:
            records, more = sims.plm.page(after=self.after, limit=500)
            for record in records:
                self.apply(record.eco(), now)
            if records:
                last = records[-1]
                self.after = (last.updated_at, last.number)
            if more is None:
                break
        while self.mes_due and self.mes_due[0][0] <= now:
            _, plant, request, key = self.mes_due.popleft()
            self.write("mes", key, sims.mes.create_routing, plant, request)

    def apply(self, eco, now: datetime) -> None:
        if eco.status != "approved":
            return
        sims, n = self.sims, eco.number
        for a in eco.affected_items:
            body = ItemRevisionRequest(description=eco.title)
            key = f"{n}/rev/{a.item}"
            self.write("erp", key, sims.erp.release_revision, a.item, a.new_revision, body)
        for plant in eco.plants:
            for change in eco.bom_changes:
                bom = BomRequest(
                    assembly=change.assembly,
                    revision=change.revision,
                    valid_from=eco.effectivity,
                    lines=change.lines,
                )
                key = f"{n}/bom/{plant}/{change.assembly}"
                self.write("erp", key, sims.erp.create_bom, plant, bom)
            for rc in (r for r in eco.routing_changes if r.plant == plant):
                routing = RoutingRequest(
                    item=rc.item, revision=rc.revision, operations=rc.operations
                )
                key = f"{n}/routing/{plant}/{rc.item}"
                if self.write("erp", key, sims.erp.create_routing, plant, routing) is None:
                    for op in rc.operations:
                        sims.erp.activate_work_center(plant, op.work_center, None)
                    self.write("erp", key, sims.erp.create_routing, plant, routing)
                pv_key = f"{n}/pv/{plant}/{rc.item}"
                pv_request = ProductionVersionRequest(item=rc.item, revision=rc.revision)
                pv = self.write(
                    "erp",
                    pv_key,
                    sims.erp.request_production_version,
                    plant,
                    pv_request,
                )
                if pv is not None:
                    mes = MesRoutingRequest(
                        item=rc.item,
                        revision=rc.revision,
                        production_version=pv["id"],
                        operations=rc.operations,
                    )
                    self.mes_due.append(
                        (now + timedelta(seconds=5), plant, mes, f"{n}/mes/{plant}")
                    )
        for supplier in eco.suppliers:
            notice = NoticeRequest(supplier=supplier, eco=n, items=list(eco.items))
            key = f"{n}/notice/{supplier}"
            self.write("procurement", key, sims.procurement.send, notice)


def stream_history(days: int, per_day: float) -> None:
    """Generate history as a backfill would and show it streams in flat memory."""
    from simulators.history import history_events
    from simulators.world import build_world

    world = build_world(7)
    end = datetime(2026, 11, 1, tzinfo=UTC)
    started = time.perf_counter()
    ecos = events = 0
    print(f"history: {days} days at {per_day:g} ECOs/day")
    print(f"{'ECOs':>7} {'events':>10} {'events/s':>9} {'RSS MB':>7}")
    for batch in history_events(world, days=days, end=end, ecos_per_day=per_day, seed=7):
        ecos += 1
        events += len(batch)
        if ecos % 5000 == 0:
            rate = events / (time.perf_counter() - started)
            print(f"{ecos:>7} {events:>10} {rate:>9.0f} {rss_mb():>7.1f}", flush=True)
    rate = events / (time.perf_counter() - started)
    print(f"{ecos:>7} {events:>10} {rate:>9.0f} {rss_mb():>7.1f}  (done)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=600.0, help="ECOs per simulated minute")
    parser.add_argument("--minutes", type=int, default=60, help="simulated minutes")
    parser.add_argument(
        "--history-days",
        type=int,
        default=0,
        help="instead: stream this many days of history and print events/s and RSS",
    )
    parser.add_argument("--ecos-per-day", type=float, default=27.0)
    args = parser.parse_args()
    if args.history_days:
        stream_history(args.history_days, args.ecos_per_day)
        return

    clock_now = [datetime(2026, 3, 2, 8, 0, tzinfo=UTC)]
    config = SimulatorConfig(eco_rate=args.rate, confirmation_delay=2.0)
    sims = build_simulators(config, clock=lambda: clock_now[0])
    driver = Driver(sims)
    started = time.perf_counter()
    print(f"rate {args.rate:g} ECOs/min for {args.minutes} simulated minutes")
    print(
        f"{'sim min':>7} {'ECOs made':>9} {'ECOs kept':>9} {'ledger':>7} {'dropped':>8} "
        f"{'idem keys':>9} {'writes':>8} {'RSS MB':>7} {'wall s':>7}"
    )
    for second in range(args.minutes * 60 + 1):
        driver.step(clock_now[0])
        if second % 300 == 0:
            made = sims.plm.pruned + len(sims.plm)
            print(
                f"{second // 60:>7} {made:>9} {len(sims.plm):>9} "
                f"{sims.ledger.last_seq - sims.ledger.dropped:>7} {sims.ledger.dropped:>8} "
                f"{len(sims.idempotency):>9} {driver.writes:>8} {rss_mb():>7.1f} "
                f"{time.perf_counter() - started:>7.1f}",
                flush=True,
            )
        clock_now[0] += timedelta(seconds=1)


if __name__ == "__main__":
    main()
