"""Service-level agreements as data: how long each stage of a propagation may take.

A stage is a span of work with a clock: an ECO from PLM approval until the engine planned
it and until it is production-ready, a step while it is due (``pending``), running,
retrying or waiting behind an earlier ECO, an ERP confirmation, a supplier notice until it
is delivered. :class:`SlaPolicy` gives each stage a limit, by default and overridden per
product family, plant and supplier (the most specific wins: supplier, then plant, then
family); :func:`load_sla` reads it from a TOML file (see ``threadline/sla.toml``).

Errors: :class:`SlaFileError` (a ``ValueError``) names the file, the line and the problem.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from contracts.steps import StepKind, StepState


class Stage(StrEnum):
    """A span of work that has an SLA."""

    PLANNING = "planning"  # PLM approval until the engine planned the ECO
    PENDING = "pending"  # a step due, not yet claimed
    RUNNING = "running"  # a step's first call under way
    RETRYING = "retrying"  # a step failing transiently, from its first failure on
    WAITING = "waiting"  # a step held behind an earlier ECO's step on the same target
    ERP_CONFIRMATION = "erp_confirmation"  # ERP accepted a production version, not active yet
    SUPPLIER_NOTICE = "supplier_notice"  # a supplier notice from due until delivered
    ECO = "eco"  # the whole ECO, PLM approval until production-ready


STEP_STAGES = frozenset({Stage.PENDING, Stage.RUNNING, Stage.RETRYING, Stage.WAITING})
"""Stages with a limit per step kind (``[defaults.kinds."<kind>"]``)."""
ECO_STAGES = frozenset({Stage.PLANNING, Stage.ECO})
"""Stages of a whole ECO rather than of one step."""


class SlaState(StrEnum):
    """How a piece of work stands against its due time."""

    ON_TIME = "on time"  # less than the due-soon share of its SLA used
    DUE_SOON = "due soon"  # past the due-soon share, not yet due
    OVERDUE = "overdue"  # past its due time


def stage_of(kind: str, state: str, attempt: int, *, held: bool = False) -> Stage | None:
    """The stage a step in ``state`` is in, or ``None`` when no step SLA applies.

    ``attempt`` counts the calls made so far: a step due or running again after a failure
    stays in ``retrying``. ``held``: a ``waiting`` step is held behind an earlier ECO (a
    step waiting for its own ECO's dependencies is covered by the ECO's SLA only). A
    blocked or failed step needs a person; the inbox, not an SLA, follows it.
    """
    step_state = StepState(state)
    if step_state is StepState.AWAITING_CONFIRMATION:
        return Stage.ERP_CONFIRMATION if kind == StepKind.ERP_CONFIRMATION else None
    if step_state is StepState.WAITING:
        return Stage.WAITING if held else None
    if step_state not in (StepState.PENDING, StepState.RUNNING, StepState.RETRYING):
        return None
    if kind == StepKind.SUPPLIER_NOTICE:
        return Stage.SUPPLIER_NOTICE
    if step_state is StepState.RETRYING or attempt > 1:
        return Stage.RETRYING
    if step_state is StepState.RUNNING:
        return Stage.RUNNING
    return Stage.RETRYING if attempt > 0 else Stage.PENDING


class Limits(BaseModel):
    """Limits (seconds) of some stages; ``kinds`` narrows the step stages to one kind."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stages: dict[Stage, float] = Field(default_factory=dict)
    kinds: dict[StepKind, dict[Stage, float]] = Field(default_factory=dict)

    def get(self, stage: Stage, kind: str | None) -> float | None:
        """This level's limit for ``stage`` (of a step of ``kind``), if it sets one."""
        if kind is not None and stage in STEP_STAGES:
            by_kind = self.kinds.get(StepKind(kind), {})
            if stage in by_kind:
                return by_kind[stage]
        return self.stages.get(stage)


DEFAULT_LIMITS = Limits(
    stages={
        Stage.PLANNING: 300.0,
        Stage.PENDING: 600.0,
        Stage.RUNNING: 300.0,
        Stage.RETRYING: 1800.0,
        Stage.WAITING: 7200.0,
        Stage.ERP_CONFIRMATION: 900.0,
        Stage.SUPPLIER_NOTICE: 3600.0,
        Stage.ECO: 86400.0,
    }
)
"""The limits when no file says otherwise (the shipped ``threadline/sla.toml`` repeats them)."""


class SlaPolicy(BaseModel):
    """Every stage's limit, by default and per product family, plant and supplier."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    due_soon: float = Field(default=0.8, gt=0, lt=1, description="share of an SLA that is 'soon'")
    defaults: Limits = DEFAULT_LIMITS
    families: dict[str, Limits] = Field(default_factory=dict)
    plants: dict[str, Limits] = Field(default_factory=dict)
    suppliers: dict[str, Limits] = Field(default_factory=dict)

    def seconds(
        self,
        stage: Stage,
        *,
        kind: str | None = None,
        plant: str | None = None,
        supplier: str | None = None,
        family: str | None = None,
    ) -> float:
        """The limit of ``stage`` for this work: the most specific level that sets it."""
        levels = (
            self.suppliers.get(supplier or ""),
            self.plants.get(plant or ""),
            self.families.get(family or ""),
            self.defaults,
            DEFAULT_LIMITS,
        )
        for level in levels:
            if level is not None:
                limit = level.get(stage, kind)
                if limit is not None:
                    return limit
        raise AssertionError(f"no default limit for {stage}")

    def due(self, since: datetime, seconds: float) -> datetime | None:
        """When work started at ``since`` with an SLA of ``seconds`` is due."""
        try:
            return since + timedelta(seconds=seconds)
        except OverflowError:
            return None

    def state(self, since: datetime, due_at: datetime, now: datetime) -> SlaState:
        """Whether work started at ``since`` and due at ``due_at`` is on time at ``now``."""
        if now > due_at:
            return SlaState.OVERDUE
        if now >= since + (due_at - since) * self.due_soon:
            return SlaState.DUE_SOON
        return SlaState.ON_TIME


class SlaFileError(ValueError):
    """An SLA file that cannot be used: names the file, the line and what is wrong."""

    def __init__(self, path: str, line: int | None, problem: str) -> None:
        where = f"{path}, line {line}" if line is not None else path
        super().__init__(f"{where}: {problem}")
        self.path = path
        self.line = line
        self.problem = problem


DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
SECTIONS = frozenset({"families", "plants", "suppliers"})


def parse_duration(value: Any) -> float:
    """Seconds from a number of seconds or a string such as ``"90s"``, ``"15m"``, ``"2h"``."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = DURATION.match(value) if isinstance(value, str) else None
        if match is None:
            raise ValueError(f"{value!r} is not a duration (seconds, or like '15m', '2h', '3d')")
        seconds = float(match.group(1)) * UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"{value!r} is not a positive duration")
    return seconds


def parse_sla(text: str, path: str = "<sla>") -> SlaPolicy:
    """The policy a TOML document describes (raises :class:`SlaFileError`)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None) or _line_of_message(str(exc))
        raise SlaFileError(path, line, f"not valid TOML: {exc}") from exc
    locate = _Locator(text)
    try:
        return _policy(document)
    except _Problem as problem:
        raise SlaFileError(path, locate(problem.path), problem.message) from None


def load_sla(path: str | Path) -> SlaPolicy:
    """The policy in the TOML file at ``path`` (raises :class:`SlaFileError`)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SlaFileError(str(path), None, f"cannot be read: {exc}") from exc
    return parse_sla(text, str(path))


class _Problem(Exception):
    def __init__(self, path: tuple[str, ...], message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def _policy(document: Mapping[str, Any]) -> SlaPolicy:
    values: dict[str, Any] = {}
    for key, value in document.items():
        if key == "due_soon":
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
                raise _Problem((key,), "due_soon must be a share between 0 and 1, like 0.8")
            values["due_soon"] = float(value)
        elif key == "defaults":
            values["defaults"] = _limits(value, (key,))
        elif key in SECTIONS:
            table = _table(value, (key,))
            values[key] = {name: _limits(v, (key, name)) for name, v in table.items()}
        else:
            known = ", ".join(["due_soon", "defaults", *sorted(SECTIONS)])
            raise _Problem((key,), f"unknown setting {key!r} (known: {known})")
    return SlaPolicy.model_validate(values)


def _limits(value: Any, path: tuple[str, ...]) -> Limits:
    table = _table(value, path)
    stages: dict[Stage, float] = {}
    kinds: dict[StepKind, dict[Stage, float]] = {}
    for key, limit in table.items():
        if key == "kinds":
            for kind, by_stage in _table(limit, (*path, key)).items():
                kinds[_kind(kind, (*path, key, kind))] = {
                    _stage(name, (*path, key, kind, name), STEP_STAGES): _seconds(
                        seconds, (*path, key, kind, name)
                    )
                    for name, seconds in _table(by_stage, (*path, key, kind)).items()
                }
        else:
            stages[_stage(key, (*path, key), frozenset(Stage))] = _seconds(limit, (*path, key))
    return Limits(stages=stages, kinds=kinds)


def _table(value: Any, path: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Problem(path, f"{'.'.join(path)} must be a table")
    return value


def _stage(name: str, path: tuple[str, ...], allowed: frozenset[Stage]) -> Stage:
    if name not in {stage.value for stage in allowed}:
        known = ", ".join(sorted(stage.value for stage in allowed))
        raise _Problem(path, f"unknown stage {name!r} (known: {known})")
    return Stage(name)


def _kind(name: str, path: tuple[str, ...]) -> StepKind:
    try:
        return StepKind(name)
    except ValueError:
        known = ", ".join(kind.value for kind in StepKind)
        raise _Problem(path, f"unknown step kind {name!r} (known: {known})") from None


def _seconds(value: Any, path: tuple[str, ...]) -> float:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise _Problem(path, f"{'.'.join(path)}: {exc}") from None


def _line_of_message(message: str) -> int | None:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else None


_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")
_ASSIGN = re.compile(r"^\s*((?:\"[^\"]*\"|[A-Za-z0-9_.\- ]+?))\s*=")


def _split_key(key: str) -> tuple[str, ...]:
    parts = re.findall(r'"([^"]*)"|([^.\s"]+)', key)
    return tuple(quoted or bare for quoted, bare in parts)


class _Locator:
    """Finds the line of a key path in a TOML text (headers and ``key =`` lines)."""

    def __init__(self, text: str) -> None:
        self.lines: list[tuple[int, tuple[str, ...]]] = []
        table: tuple[str, ...] = ()
        for number, line in enumerate(text.splitlines(), start=1):
            header = _HEADER.match(line)
            if header is not None:
                table = _split_key(header.group(1))
                self.lines.append((number, table))
                continue
            assign = _ASSIGN.match(line)
            if assign is not None:
                self.lines.append((number, table + _split_key(assign.group(1))))

    def __call__(self, path: tuple[str, ...]) -> int | None:
        # The exact key first, then the closest enclosing table that is written out.
        for length in range(len(path), 0, -1):
            for number, found in self.lines:
                if found == path[:length]:
                    return number
        return None
