"""Ownership rules: who owns a problem, where its runbook is, how bad it is, what fixes it.

A TOML file (``THREADLINE_OWNERSHIP_FILE``; :data:`DEFAULT_FILE` ships with Threadline and
is what ``threadline up`` uses) holds ``[[rule]]`` tables. A rule matches on any of
``system``, ``kind`` (a step kind), ``code`` (an error code), ``plant`` and ``supplier``;
a key left out matches anything. The first matching rule wins, so specific rules go
first and a catch-all last::

    [[rule]]
    code = "INVALID_SUPPLIER_CONTACT"
    team = "procurement-master-data"
    runbook = "https://runbooks.example.com/supplier-contact"
    severity = "high"
    retry_fixes = false
    fix_hint = "needs a fix in procurement: {supplier}'s contact address bounces"

``fix_hint`` may name ``{supplier}``, ``{plant}``, ``{item}``, ``{eco}`` and ``{code}``.
A file that cannot be read, is not TOML or holds a rule that does not fit raises
:class:`OwnershipError` naming the file, the line and the problem; the engine and the
console load the rules at start, so a bad file stops them there.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from contracts.steps import StepKind, System
from sync_engine.errors import OwnershipError as OwnershipError  # raised by load

DEFAULT_FILE = Path(__file__).with_name("ownership.toml")
"""The commented default rules shipped with Threadline."""


class Severity(StrEnum):
    """How urgent a problem is, most urgent first."""

    CRITICAL = "critical"  # production stops or goes wrong
    HIGH = "high"  # a plant or supplier waits until someone acts
    MEDIUM = "medium"  # delays an ECO, no plant waits yet
    LOW = "low"  # cosmetic or informational


class Owner(BaseModel):
    """What the first matching rule says about a problem."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    team: str = Field(min_length=1)
    runbook: str | None = None
    severity: Severity = Severity.MEDIUM
    fix_hint: str | None = None
    retry_fixes: bool = Field(
        default=True, description="false: the same call fails until someone fixes the data"
    )


class Rule(Owner):
    """One ``[[rule]]``: what it matches (each key optional) and what it says."""

    system: System | None = None
    kind: StepKind | None = None
    code: str | None = None
    plant: str | None = None
    supplier: str | None = None

    def matches(self, facts: Mapping[str, str | None]) -> bool:
        """Whether every key this rule names equals the problem's."""
        return all(
            wanted is None or str(wanted) == facts.get(key)
            for key, wanted in (
                ("system", self.system),
                ("kind", self.kind),
                ("code", self.code),
                ("plant", self.plant),
                ("supplier", self.supplier),
            )
        )


UNOWNED = Owner(team="unassigned", severity=Severity.MEDIUM)
"""What a problem no rule matches gets."""


class OwnershipRules:
    """The loaded rules, in file order."""

    def __init__(self, rules: Sequence[Rule], source: Path | None = None) -> None:
        self.rules = tuple(rules)
        self.source = source

    def owner(
        self,
        *,
        system: str | None = None,
        kind: str | None = None,
        code: str | None = None,
        plant: str | None = None,
        supplier: str | None = None,
        item: str | None = None,
        eco: str | None = None,
    ) -> Owner:
        """The first matching rule's answer (its fix hint filled in), or :data:`UNOWNED`."""
        facts = {"system": system, "kind": kind, "code": code, "plant": plant}
        facts["supplier"] = supplier
        for rule in self.rules:
            if rule.matches(facts):
                hint = rule.fix_hint
                if hint:
                    names = {**facts, "item": item, "eco": eco}
                    hint = hint.format_map({k: v or "?" for k, v in names.items()})
                return Owner(
                    team=rule.team,
                    runbook=rule.runbook,
                    severity=rule.severity,
                    fix_hint=hint,
                    retry_fixes=rule.retry_fixes,
                )
        return UNOWNED

    @property
    def teams(self) -> list[str]:
        """Every team the rules name, in first-mention order, then ``unassigned``."""
        return list(dict.fromkeys([*(rule.team for rule in self.rules), UNOWNED.team]))


_HINT_FIELDS = re.compile(r"{([^}]*)}")
_HINT_NAMES = frozenset({"system", "kind", "code", "plant", "supplier", "item", "eco"})


def load(path: Path | None = None) -> OwnershipRules:
    """The rules in ``path`` (the shipped default when ``None``); :class:`OwnershipError`
    naming file, line and problem when it cannot be used."""
    path = path or DEFAULT_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise OwnershipError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise OwnershipError(f"{path}: {exc}") from exc
    return OwnershipRules(_rules(document, text, path), path)


def _rules(document: dict[str, Any], text: str, path: Path) -> list[Rule]:
    unknown = sorted(set(document) - {"rule"})
    if unknown:
        line = _line_of(text, rf"^[ \t]*\[?\[?[ \t]*{re.escape(unknown[0])}\b", 0)
        raise OwnershipError(f"{path}, line {line}: unknown key {unknown[0]!r} (only [[rule]])")
    entries = document.get("rule", [])
    if not isinstance(entries, list):
        line = _line_of(text, r"^[ \t]*rule\b|^[ \t]*\[rule\]", 0)
        raise OwnershipError(f"{path}, line {line}: 'rule' must be an array of tables [[rule]]")
    rules = []
    for index, entry in enumerate(entries):
        line = _line_of(text, r"^[ \t]*\[\[[ \t]*rule[ \t]*\]\]", index)
        try:
            rule = Rule.model_validate(entry)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"]) or "rule"
            key_line = _key_line(text, line, str(error["loc"][0])) if error["loc"] else line
            raise OwnershipError(
                f"{path}, line {key_line}: rule {index + 1}: {where}: {error['msg']}"
            ) from None
        for name in _HINT_FIELDS.findall(rule.fix_hint or ""):
            if name not in _HINT_NAMES:
                raise OwnershipError(
                    f"{path}, line {_key_line(text, line, 'fix_hint')}: rule {index + 1}: "
                    f"fix_hint names {{{name}}}; it may name "
                    + ", ".join(f"{{{n}}}" for n in sorted(_HINT_NAMES))
                )
        rules.append(rule)
    return rules


def _line_of(text: str, pattern: str, occurrence: int) -> int:
    """The 1-based line of the ``occurrence``-th match of ``pattern`` (1 if none)."""
    found = [m.start() for m in re.finditer(pattern, text, re.MULTILINE)]
    if occurrence >= len(found):
        return 1
    return text.count("\n", 0, found[occurrence]) + 1


def _key_line(text: str, start: int, key: str) -> int:
    """The line of ``key = ...`` in the rule starting at line ``start`` (``start`` if not
    found before the next table)."""
    lines = text.splitlines()
    for number in range(start, len(lines)):
        stripped = lines[number].strip()
        if stripped.startswith("["):
            break
        if re.match(rf"{re.escape(key)}\s*=", stripped):
            return number + 1
    return start
