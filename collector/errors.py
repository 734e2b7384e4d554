"""The collector's errors.

CollectorError
├── Rejected: a request the collector refuses, answered as RFC 9457 problem+json
│   (400 unparsable, 401, 403, 413, 415, 422, 429); it names every problem found
├── StoreError (collector.store)
│   └── BadCursor: a pagination cursor that this collector did not hand out
├── PartlyPublished (collector.forwarder): a batch JetStream acknowledged only the head of
│   (the cause is the NATS error that stopped it)
└── BadRange (collector.replay): a ``--since`` that is neither a seq nor a zoned time
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PROBLEM_BASE = "https://threadline.dev/problems/collector/"


class CollectorError(Exception):
    """Base of every error the collector raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request: where (batch index, attribute or data path) and what."""

    message: str
    field: str | None = None
    index: int | None = None

    def as_json(self) -> dict[str, Any]:
        """The JSON form used in a problem document's ``errors`` list."""
        out: dict[str, Any] = {"message": self.message}
        if self.index is not None:
            out["index"] = self.index
        if self.field is not None:
            out["field"] = self.field
        return out


class Rejected(CollectorError):
    """A request refused with an HTTP status, a stable code and every problem found."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        problems: list[Problem] | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.title = title
        self.problems = problems or []
        self.headers = headers or {}
        super().__init__(f"{status} {code}: {title}")

    def document(self) -> dict[str, Any]:
        """The RFC 9457 problem document."""
        detail = "; ".join(_describe(p) for p in self.problems[:20]) or self.title
        if len(self.problems) > 20:
            detail += f"; and {len(self.problems) - 20} more"
        return {
            "type": PROBLEM_BASE + self.code.lower().replace("_", "-"),
            "title": self.title,
            "status": self.status,
            "code": self.code,
            "detail": detail,
            "errors": [p.as_json() for p in self.problems],
        }


def _describe(problem: Problem) -> str:
    where = []
    if problem.index is not None:
        where.append(f"event {problem.index}")
    if problem.field is not None:
        where.append(problem.field)
    return f"{' '.join(where)}: {problem.message}" if where else problem.message
