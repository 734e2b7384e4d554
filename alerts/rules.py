"""Alert rules as data: a TOML file (``THREADLINE_ALERT_RULES_FILE``) or the shipped
defaults (``defaults.toml`` beside this module, every rule explained in comments).

A file that cannot be read, is not TOML, or names an unknown kind, a missing threshold
or an unknown key raises :class:`AlertRulesError` naming the file, the line and the
problem, so a service refuses to start instead of running without its alerts.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from contracts.sla import Stage

DEFAULTS_FILE = Path(__file__).with_name("defaults.toml")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


class AlertRulesError(ValueError):
    """A rules file that cannot be used: ``file:line: problem``."""


class RuleKind(StrEnum):
    """What a rule watches."""

    OVERDUE = "overdue"  # work overdue by stage (count at or above ``at_least``)
    PLANT_BLOCKED = "plant_blocked"  # a plant blocked longer than ``longer_than``
    DEAD_LETTERS = "dead_letters"  # dead letters in one fingerprint group >= ``at_least``
    FAILED_NOTICES = "failed_notices"  # failed notices of one supplier >= ``at_least``
    DRIFT = "drift"  # drift at a plant present longer than ``longer_than``
    AT_RISK = "at_risk"  # an ECO predicted to miss its effectivity
    OUTBOX_BEHIND = "outbox_behind"  # the oldest undelivered engine event older than T
    HEARTBEAT = "heartbeat"  # an engine silent longer than T without stopping cleanly


NEEDS_DURATION = frozenset(
    {RuleKind.PLANT_BLOCKED, RuleKind.DRIFT, RuleKind.OUTBOX_BEHIND, RuleKind.HEARTBEAT}
)
NEEDS_COUNT = frozenset({RuleKind.DEAD_LETTERS, RuleKind.FAILED_NOTICES})


def seconds(value: object) -> float:
    """A duration: a number of seconds or text such as ``90s``, ``30m``, ``2h``, ``1d``."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    match = _DURATION.match(str(value))
    if match is None:
        raise ValueError(f"{value!r} is not a duration (write e.g. 90s, 30m, 2h or 1d)")
    return float(match.group(1)) * _UNITS[match.group(2)]


class Rule(BaseModel):
    """One rule: its name (unique), its kind and its threshold."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    kind: RuleKind
    longer_than: float | None = None
    at_least: int = Field(default=1, ge=1)
    stage: str | None = Field(default=None, description="overdue: only this stage")
    enabled: bool = True

    @field_validator("stage")
    @classmethod
    def _stage(cls, value: str | None) -> str | None:
        known = [stage.value for stage in Stage]
        if value is not None and value not in known:
            raise ValueError(f"must be one of {', '.join(known)}")
        return value

    @field_validator("longer_than", mode="before")
    @classmethod
    def _duration(cls, value: object) -> float | None:
        return None if value is None else seconds(value)

    def threshold(self) -> str:
        """The rule's condition in words."""
        if self.longer_than is not None:
            return f"longer than {describe_seconds(self.longer_than)}"
        return f"at least {self.at_least}"


class AlertRules(BaseModel):
    """Every rule and how often alerts are evaluated and reminded of."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    evaluate_every: float = 30.0
    reminder_every: float = 3600.0
    rules: tuple[Rule, ...] = ()
    source: str = Field(default="", exclude=True, description="the file read")

    @field_validator("evaluate_every", "reminder_every", mode="before")
    @classmethod
    def _duration(cls, value: object) -> float:
        return seconds(value)

    def active(self) -> tuple[Rule, ...]:
        """The enabled rules."""
        return tuple(rule for rule in self.rules if rule.enabled)


def describe_seconds(value: float) -> str:
    """``1800`` as ``30 min``."""
    if value < 60:
        return f"{round(value, 1):g} s"
    if value < 7200:
        return f"{round(value / 60, 1):g} min"
    if value < 172800:
        return f"{round(value / 3600, 1):g} h"
    return f"{round(value / 86400, 1):g} d"


def load_rules(path: Path | None = None) -> AlertRules:
    """The rules in ``path`` (``None``: the shipped defaults); see :class:`AlertRulesError`."""
    path = path or DEFAULTS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AlertRulesError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
    return parse_rules(text, str(path))


def parse_rules(text: str, source: str) -> AlertRules:
    """The rules ``text`` holds (``source`` names it in errors)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        raise AlertRulesError(
            f"{source}:{line.group(1) if line else 1}: not valid TOML: {exc}"
        ) from exc
    lines = text.splitlines()
    raw_rules = document.pop("rule", [])
    settings = document.pop("alerts", {})
    if document:
        key = sorted(document)[0]
        raise AlertRulesError(
            f"{source}:{_line_of(lines, key, 0, len(lines))}: unknown section or key {key!r} "
            "(expected [alerts] and [[rule]] tables)"
        )
    if not isinstance(raw_rules, list):
        raise AlertRulesError(
            f"{source}:{_line_of(lines, 'rule', 0, len(lines))}: "
            "write each rule as a [[rule]] table"
        )
    rules = [_rule(rule, lines, index, source) for index, rule in enumerate(raw_rules)]
    names = [rule.name for rule in rules]
    for index, name in enumerate(names):
        if name in names[:index]:
            start, _ = _block(lines, index)
            raise AlertRulesError(
                f"{source}:{start}: the rule name {name!r} is used twice; names must be unique"
            )
    try:
        return AlertRules.model_validate({**settings, "rules": rules, "source": source})
    except ValidationError as exc:
        error = exc.errors()[0]
        key = str(error["loc"][0]) if error["loc"] else "alerts"
        start = _section_line(lines, "alerts")
        raise AlertRulesError(
            f"{source}:{_line_of(lines, key, start - 1, len(lines))}: [alerts] {key}: "
            f"{_message(error)}"
        ) from exc


def _rule(raw: dict[str, Any], lines: Sequence[str], index: int, source: str) -> Rule:
    start, end = _block(lines, index)
    try:
        rule = Rule.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = str(error["loc"][0]) if error["loc"] else "rule"
        line = _line_of(lines, key, start - 1, end) if error["type"] != "missing" else start
        name = raw.get("name", f"number {index + 1}")
        raise AlertRulesError(f"{source}:{line}: rule {name!r}: {key}: {_message(error)}") from exc
    if rule.kind in NEEDS_DURATION and rule.longer_than is None:
        raise AlertRulesError(
            f"{source}:{start}: rule {rule.name!r}: a {rule.kind.value} rule needs "
            'longer_than (e.g. longer_than = "30m")'
        )
    if rule.kind not in NEEDS_DURATION and rule.longer_than is not None:
        raise AlertRulesError(
            f"{source}:{_line_of(lines, 'longer_than', start - 1, end)}: rule {rule.name!r}: "
            f"a {rule.kind.value} rule takes at_least, not longer_than"
        )
    return rule


def _message(error: Any) -> str:
    if error["type"] == "missing":
        return "is required"
    if error["type"] == "extra_forbidden":
        return "is not a known setting"
    if error["type"] == "enum":
        return f"must be one of {', '.join(kind.value for kind in RuleKind)}"
    return str(error["msg"]).removeprefix("Value error, ")


def _headers(lines: Sequence[str]) -> list[int]:
    return [i for i, line in enumerate(lines) if re.match(r"^\s*\[\[\s*rule\s*\]\]", line)]


def _block(lines: Sequence[str], index: int) -> tuple[int, int]:
    """The 1-based line of the ``index``-th ``[[rule]]`` header and the 0-based end of its
    table (the next header, or the end of the file)."""
    headers = _headers(lines)
    if index >= len(headers):
        return 1, len(lines)
    following = [i for i, line in enumerate(lines) if re.match(r"^\s*\[", line)]
    end = next((i for i in following if i > headers[index]), len(lines))
    return headers[index] + 1, end


def _section_line(lines: Sequence[str], name: str) -> int:
    for i, line in enumerate(lines):
        if re.match(rf"^\s*\[\s*{re.escape(name)}\s*\]", line):
            return i + 1
    return 1


def _line_of(lines: Sequence[str], key: str, start: int, end: int) -> int:
    """The 1-based line assigning ``key`` between ``start`` and ``end`` (0-based)."""
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
    for i in range(max(0, start), min(end, len(lines))):
        if pattern.match(lines[i]):
            return i + 1
    return max(1, start + 1)
