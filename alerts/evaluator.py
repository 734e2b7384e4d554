"""One evaluation of the alert rules, run by the engine's scheduler.

Every engine refreshes its business gauges; only the holder of the
``sync_engine.alerts`` lease evaluates the rules, records alert state and delivers what
is owed, so several engines on PostgreSQL send one notification. Each owed message is
also claimed row by row (:func:`alerts.store.claim_owed`), so a lease changing hands in
the middle of a delivery cannot send it twice. A target that fails is recorded, retried
later with a growing pause, and never raises out of the job.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from alerts import conditions, store
from alerts.gauges import BusinessGauges
from alerts.notify import Target, send
from alerts.rules import Rule
from alerts.setup import AlertSetup
from alerts.store import Alert, Message
from contracts.model import utcnow
from sync_engine.runner import ALERTS_LEASE, SyncEngine
from threadline import leases

log = logging.getLogger(__name__)

MAX_RETRY_PAUSE = timedelta(minutes=15)
_PREFIX = {Message.FIRED: "FIRING", Message.REMINDER: "STILL FIRING", Message.RESOLVED: "RESOLVED"}

Db = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Cycle:
    """What one evaluation did (``None`` from :meth:`Alerting.run_once`: not the leader)."""

    findings: int
    recorded: store.Recorded
    delivered: int
    failed: int


def message(alert: Alert, kind: Message, console_url: str, rule: Rule | None) -> tuple[str, str]:
    """The title and body ``alert`` sends as ``kind``: its rows and a link to them."""
    threshold = f" ({rule.threshold()})" if rule is not None else ""
    lines = [f"- {line}" for line in alert.lines]
    if alert.count > len(alert.lines):
        lines.append(f"- … and {alert.count - len(alert.lines)} more")
    said = {
        Message.FIRED: f"Threadline alert {alert.rule}{threshold} fired at "
        f"{alert.fired_at:%Y-%m-%d %H:%M} UTC.",
        Message.REMINDER: f"Threadline alert {alert.rule}{threshold} has been firing since "
        f"{alert.fired_at:%Y-%m-%d %H:%M} UTC; nobody has acknowledged it.",
        Message.RESOLVED: f"Threadline alert {alert.rule} resolved at "
        f"{(alert.resolved_at or alert.last_seen_at):%Y-%m-%d %H:%M} UTC.",
    }[kind]
    opened = f"Open in the console: {console_link(console_url, alert.link)}"
    body = "\n".join([said, "", *lines, "", opened])
    return f"[{_PREFIX[kind]}] {alert.title}", body


def console_link(console_url: str, path: str) -> str:
    """The absolute console address of ``path``."""
    return f"{console_url.rstrip('/')}/{path.lstrip('/')}"


class Alerting:
    """The alert job of one engine."""

    def __init__(
        self,
        setup: AlertSetup,
        *,
        holder: str,
        run_db: Db,
        read_db: Db,
        lease_ttl: timedelta,
        gauges: BusinessGauges | None = None,
    ) -> None:
        self.setup = setup
        self.holder = holder
        self.run_db = run_db
        self.read_db = read_db
        self.lease_ttl = lease_ttl
        self.gauges = gauges
        self._targets = {t.id: t for t in setup.targets}
        self._rules = {rule.name: rule for rule in setup.rules.rules}

    @classmethod
    def for_engine(cls, engine: SyncEngine) -> Alerting:
        """The alert job of ``engine``: its database, lease holder name and ``/metrics``."""
        setup = engine.config.alerts
        every = setup.rules.evaluate_every
        return cls(
            setup,
            holder=engine.holder,
            run_db=engine.run_db,
            read_db=engine.read_db,
            lease_ttl=timedelta(seconds=max(engine.config.lease_seconds, 5 * every)),
            gauges=BusinessGauges(engine.metrics.registry),
        )

    async def run_once(self, now: datetime | None = None) -> Cycle | None:
        """Refresh the gauges; if this engine leads, evaluate, record and notify."""
        now = now or utcnow()
        if self.gauges is not None:
            await self.read_db(self.gauges.refresh, now=now)
        leading = await self.run_db(
            leases.try_acquire, ALERTS_LEASE, self.holder, self.lease_ttl, now
        )
        if not leading:
            return None
        rules = self.setup.rules
        findings = await self.read_db(conditions.evaluate, rules.active(), now)
        recorded = await self.run_db(
            store.record,
            findings,
            targets=list(self._targets),
            reminder_every=timedelta(seconds=rules.reminder_every),
            now=now,
            # Missing from two evaluations in a row (the second comes one interval later).
            resolve_after=timedelta(seconds=1.5 * rules.evaluate_every),
        )
        due: list[Alert] = await self.run_db(store.claim_owed, now=now, hold=self.lease_ttl)
        delivered = failed = 0
        for alert in due:
            ok, bad = await self._deliver(alert, now)
            delivered += ok
            failed += bad
        return Cycle(len(findings), recorded, delivered, failed)

    async def release(self) -> None:
        """Give the lease up (on a clean stop)."""
        await self.run_db(leases.release, ALERTS_LEASE, self.holder)

    async def _deliver(self, alert: Alert, now: datetime) -> tuple[int, int]:
        assert alert.owed is not None
        title, body = message(
            alert, alert.owed, self.setup.console_url, self._rules.get(alert.rule)
        )
        succeeded: list[str] = []
        failed: list[str] = []
        for target_id in alert.owed_targets:
            to: Target | None = self._targets.get(target_id)
            if to is None:
                continue  # no longer configured
            error = await asyncio.to_thread(send, to, title, body)
            await self.run_db(store.record_target, to.id, to.label, error, utcnow())
            if error is None:
                succeeded.append(to.id)
                log.info("alert %s: %s message sent to %s", alert.rule, alert.owed.value, to.label)
            else:
                failed.append(to.id)
                log.warning(
                    "alert %s: %s message to %s failed (attempt %d): %s",
                    alert.rule,
                    alert.owed.value,
                    to.label,
                    alert.delivery_attempts + 1,
                    error,
                )
        pause = timedelta(seconds=max(5.0, self.setup.rules.evaluate_every))
        retry_at = now + min(MAX_RETRY_PAUSE, pause * 2**alert.delivery_attempts)
        await self.run_db(
            store.delivered, alert, succeeded=succeeded, failed=failed, retry_at=retry_at, now=now
        )
        return len(succeeded), len(failed)
