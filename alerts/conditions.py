"""What each rule kind finds: one :class:`Finding` per group of like rows.

Each kind reads the list the console shows for it, through that list's own query in
:mod:`dashboards` (so an alert's count is the number of rows its link opens) or the
engine's :mod:`sync_engine.health`, and groups the rows: blocked ECOs by plant, dead
letters by fingerprint, failed notices by supplier, drift by plant. A group that meets
the rule's threshold is a finding; its ``key`` names the group, so a group that keeps
meeting it stays one alert.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode

import sqlalchemy as sa

from alerts.rules import Rule, RuleKind, describe_seconds
from contracts.readmodel import NoticeStatus, PlantState
from contracts.sla import Stage
from contracts.steps import StepState
from dashboards.drift import DriftFilter, drift_select
from dashboards.exceptions import PlantFilter, StepFilter, plants_select, steps_select
from dashboards.filters import ListFilter
from dashboards.notices import NoticeFilter, notices_select
from dashboards.prediction import at_risk as predicted_late
from dashboards.sla import OverdueFilter, overdue_work
from sync_engine.health import HealthLimits, pipeline_health

_Row = TypeVar("_Row", bound=Mapping[Any, Any])

MAX_LINES = 10
"""Rows named in one message; the link lists them all."""

OVERVIEW = "overview"
EXCEPTIONS = "exceptions"
NOTICES = "supplier-notices"
DRIFT = "drift"
AWAITING = "awaiting-confirmation"
ECO = "eco"
OVERDUE = "overdue"
AT_RISK = "at-risk"


@dataclass(frozen=True)
class Finding:
    """One group of like rows that meets a rule: what it says and the page listing it."""

    rule: str
    key: str
    title: str
    lines: tuple[str, ...]
    count: int
    link: str
    """The console page and query (``exceptions?plant=P100``), relative to its base URL."""


def link(url_path: str, criteria: ListFilter | None = None) -> str:
    """The console address of ``url_path`` showing the rows ``criteria`` keeps."""
    query = urlencode(criteria.to_query(), doseq=True) if criteria is not None else ""
    return f"{url_path}?{query}" if query else url_path


def _grouped(rows: Iterable[_Row], by: str) -> list[tuple[str, list[_Row]]]:
    """``rows`` grouped by their column ``by``, in the order of its values."""
    groups: dict[str, list[_Row]] = {}
    for row in rows:
        groups.setdefault(str(row[by]), []).append(row)
    return sorted(groups.items())


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def plant_blocked(connection: sa.Connection, rule: Rule, now: datetime) -> list[Finding]:
    """Plants where ECOs have been blocked longer than the rule allows, one per plant."""
    assert rule.longer_than is not None
    cutoff = now - timedelta(seconds=rule.longer_than)
    select = plants_select(PlantFilter(states=(PlantState.BLOCKED,)))
    found: list[Finding] = []
    for plant, rows in _grouped(connection.execute(select).mappings(), "plant"):
        old = [row for row in rows if row["since"] <= cutoff]
        if not old:
            continue
        found.append(
            Finding(
                rule=rule.name,
                key=plant,
                title=f"Plant {plant} blocked for {_plural(len(old), 'ECO')} "
                f"longer than {describe_seconds(rule.longer_than)}",
                lines=tuple(
                    f"{row['eco']} at {plant}: {row['reason'] or 'blocked'} "
                    f"(since {row['since']:%Y-%m-%d %H:%M} UTC)"
                    for row in old[:MAX_LINES]
                ),
                count=len(old),
                link=link(EXCEPTIONS, PlantFilter(states=(PlantState.BLOCKED,), plant=plant)),
            )
        )
    return found


def dead_letters(connection: sa.Connection, rule: Rule, now: datetime) -> list[Finding]:
    """Fingerprint groups holding at least ``at_least`` dead-lettered steps."""
    select = steps_select(StepFilter(states=(StepState.FAILED,)))
    found: list[Finding] = []
    for fingerprint, rows in _grouped(connection.execute(select).mappings(), "fingerprint"):
        if len(rows) < rule.at_least:
            continue
        sample = rows[0]
        found.append(
            Finding(
                rule=rule.name,
                key=fingerprint,
                title=f"{_plural(len(rows), 'dead letter')} with one error: "
                f"{sample['error_code'] or fingerprint}",
                lines=tuple(
                    f"{row['eco']} {row['kind']}"
                    + (f" at {row['plant']}" if row["plant"] else "")
                    + (f" for {row['supplier']}" if row["supplier"] else "")
                    + f": {row['error_message'] or row['error_code'] or 'failed'}"
                    for row in rows[:MAX_LINES]
                ),
                count=len(rows),
                link=link(
                    EXCEPTIONS, StepFilter(states=(StepState.FAILED,), fingerprint=fingerprint)
                ),
            )
        )
    return found


def failed_notices(connection: sa.Connection, rule: Rule, now: datetime) -> list[Finding]:
    """Suppliers with at least ``at_least`` notices given up."""
    select = notices_select(NoticeFilter(statuses=(NoticeStatus.FAILED,)))
    found: list[Finding] = []
    for supplier, rows in _grouped(connection.execute(select).mappings(), "supplier"):
        if len(rows) < rule.at_least:
            continue
        found.append(
            Finding(
                rule=rule.name,
                key=supplier,
                title=f"{_plural(len(rows), 'notice')} to supplier {supplier} failed",
                lines=tuple(
                    f"{row['eco']} to {supplier}: {row['last_error'] or row['error']} "
                    f"after {_plural(int(row['attempts'] or 0), 'attempt')}"
                    for row in rows[:MAX_LINES]
                ),
                count=len(rows),
                link=link(
                    NOTICES, NoticeFilter(statuses=(NoticeStatus.FAILED,), supplier=supplier)
                ),
            )
        )
    return found


def drift(connection: sa.Connection, rule: Rule, now: datetime) -> list[Finding]:
    """Plants with a (plant, item) pair drifting longer than the rule allows."""
    assert rule.longer_than is not None
    cutoff = now - timedelta(seconds=rule.longer_than)
    found: list[Finding] = []
    for plant, rows in _grouped(connection.execute(drift_select()).mappings(), "plant"):
        old = [row for row in rows if row["since"] <= cutoff]
        if not old:
            continue
        found.append(
            Finding(
                rule=rule.name,
                key=plant,
                title=f"{_plural(len(old), 'item')} at plant {plant} drifting longer than "
                f"{describe_seconds(rule.longer_than)}",
                lines=tuple(
                    f"{row['item']} at {plant}: PLM {row['plm_revision'] or '-'}, "
                    f"ERP {row['erp_revision'] or '-'}, MES {row['mes_revision'] or '-'}"
                    + (f" ({row['eco']})" if row["eco"] else "")
                    + f": {row['detail']}"
                    for row in old[:MAX_LINES]
                ),
                count=len(old),
                link=link(DRIFT, DriftFilter(plants=(plant,))),
            )
        )
    return found


def outbox_behind(connection: sa.Connection, rule: Rule, now: datetime) -> list[Finding]:
    """The oldest engine event not delivered to the collector is older than allowed."""
    assert rule.longer_than is not None
    health = pipeline_health(connection, now=now)
    if health.oldest_undelivered_at is None:
        return []
    age = now - health.oldest_undelivered_at
    if age.total_seconds() <= rule.longer_than:
        return []
    return [
        Finding(
            rule=rule.name,
            key="outbox",
            title=f"{_plural(health.undelivered, 'engine event')} waiting for the collector "
            f"for {describe_seconds(age.total_seconds())}: the console is behind",
            lines=(f"oldest waiting since {health.oldest_undelivered_at:%Y-%m-%d %H:%M:%S} UTC",),
            count=health.undelivered,
            link=OVERVIEW,
        )
    ]


def heartbeat(connection: sa.Connection, rule: Rule, now: datetime) -> list[Finding]:
    """Engines silent longer than allowed without having stopped cleanly, one each."""
    assert rule.longer_than is not None
    health = pipeline_health(connection, now=now)
    limits = HealthLimits(heartbeat_timeout=timedelta(seconds=rule.longer_than))
    return [
        Finding(
            rule=rule.name,
            key=gone.holder,
            title=f"Engine {gone.holder} stopped sending heartbeats "
            f"{describe_seconds((now - gone.seen_at).total_seconds())} ago",
            lines=(
                f"last seen {gone.seen_at:%Y-%m-%d %H:%M:%S} UTC, "
                f"started {gone.started_at:%Y-%m-%d %H:%M} UTC",
            ),
            count=1,
            link=OVERVIEW,
        )
        for gone in health.gone(limits)
    ]


def overdue(connection: sa.Connection, rule: Rule, now: datetime) -> list[Finding]:
    """Stages with at least ``at_least`` pieces of work past their SLA, one per stage."""
    criteria = OverdueFilter(stage=Stage(rule.stage)) if rule.stage else OverdueFilter()
    found: list[Finding] = []
    for stage, rows in _grouped(overdue_work(connection, now, criteria), "stage"):
        if len(rows) < rule.at_least:
            continue
        found.append(
            Finding(
                rule=rule.name,
                key=stage,
                title=f"{_plural(len(rows), 'piece')} of work overdue in stage {stage}",
                lines=tuple(
                    f"{row['eco']}"
                    + (f" {row['kind']}" if row["kind"] else "")
                    + (f" at {row['plant']}" if row["plant"] else "")
                    + (f" for {row['supplier']}" if row["supplier"] else "")
                    + f": {describe_seconds(row['late_seconds'])} late"
                    for row in rows[:MAX_LINES]
                ),
                count=len(rows),
                link=link(OVERDUE, OverdueFilter(stage=Stage(stage))),
            )
        )
    return found


def at_risk(connection: sa.Connection, rule: Rule, now: datetime) -> list[Finding]:
    """ECOs predicted (p90) ready after their effectivity date, grouped by the plant
    predicted last (what holds them)."""
    found: list[Finding] = []
    for plant, rows in _grouped(predicted_late(connection, now), "plant"):
        if len(rows) < rule.at_least:
            continue
        found.append(
            Finding(
                rule=rule.name,
                key=plant,
                title=f"{_plural(len(rows), 'ECO')} held at plant {plant} predicted to miss "
                "the effectivity date",
                lines=tuple(
                    f"{row['eco']} effective {row['effectivity']:%Y-%m-%d}: p90 ready "
                    f"{row['p90']:%Y-%m-%d %H:%M} UTC, {describe_seconds(row['late_seconds'])} "
                    f"late; waiting on {row['holding'] or 'its remaining steps'}"
                    for row in rows[:MAX_LINES]
                ),
                count=len(rows),
                link=f"{ECO}?{urlencode({'eco': rows[0]['eco']})}" if len(rows) == 1 else AT_RISK,
            )
        )
    return found


Condition = Callable[[sa.Connection, Rule, datetime], list[Finding]]

CONDITIONS: Mapping[RuleKind, Condition] = {
    RuleKind.OVERDUE: overdue,
    RuleKind.AT_RISK: at_risk,
    RuleKind.PLANT_BLOCKED: plant_blocked,
    RuleKind.DEAD_LETTERS: dead_letters,
    RuleKind.FAILED_NOTICES: failed_notices,
    RuleKind.DRIFT: drift,
    RuleKind.OUTBOX_BEHIND: outbox_behind,
    RuleKind.HEARTBEAT: heartbeat,
}
"""The condition of each rule kind."""


def evaluate(connection: sa.Connection, rules: tuple[Rule, ...], now: datetime) -> list[Finding]:
    """Every finding of ``rules`` at ``now``, read in one transaction."""
    found: list[Finding] = []
    for rule in rules:
        condition = CONDITIONS.get(rule.kind)
        if condition is not None:
            found.extend(condition(connection, rule, now))
    return found
