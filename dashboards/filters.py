"""A list's filter as page-address query parameters, and back.

Every list the console shows takes a frozen filter object; the Overview links to a list
with the filter that gives exactly the rows its figure counts, written into the link's
query string (``to_query``) and read back by the page (``from_query``). Parameters map a
name to its values; a name absent means "not filtered on this".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from enum import StrEnum
from typing import Protocol, TypeVar

Query = Mapping[str, Sequence[str]]
"""A page address's query parameters: each name with its values, in order."""

E = TypeVar("E", bound=StrEnum)
TRUE = "1"


class ListFilter(Protocol):
    """What every list filter offers the console."""

    def to_query(self) -> dict[str, list[str]]:
        """The query parameters that give this filter back through ``from_query``."""
        ...

    def describe(self) -> list[str]:
        """What the filter keeps, in words, one phrase per condition; empty: everything."""
        ...


def values(query: Query, name: str) -> tuple[str, ...]:
    """Every non-empty value of ``name``, de-duplicated, in order."""
    return tuple(dict.fromkeys(v for v in query.get(name, ()) if v))


def value(query: Query, name: str) -> str | None:
    """The last non-empty value of ``name``."""
    found = values(query, name)
    return found[-1] if found else None


def flag(query: Query, name: str) -> bool:
    """Whether ``name`` is set to a true value (``1``, ``true``, ``yes``)."""
    return (value(query, name) or "").lower() in (TRUE, "true", "yes")


def seconds(query: Query, name: str) -> timedelta | None:
    """``name`` as a whole number of seconds, when it is one."""
    text = value(query, name)
    if text is None or not text.isdigit():
        return None
    return timedelta(seconds=int(text))


def members(query: Query, name: str, enum: type[E]) -> tuple[E, ...]:
    """The values of ``name`` that are members of ``enum`` (others are ignored)."""
    known = {member.value: member for member in enum}
    return tuple(known[v] for v in values(query, name) if v in known)


def put(query: dict[str, list[str]], name: str, items: Iterable[object]) -> None:
    """Add ``name`` with ``items`` as text, unless there are none."""
    texts = [str(item) for item in items]
    if texts:
        query[name] = texts
