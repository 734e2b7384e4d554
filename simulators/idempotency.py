"""Idempotent writes: a repeated ``Idempotency-Key`` gets the first answer, applied once.

Only successful answers are remembered. A rejected write (a coded problem, an injected
fault) changed nothing, so the same key may try again once the cause is fixed — that is
how an operator's retry after reactivating a work center goes through.

The store keeps the newest ``IDEMPOTENCY_CAP`` keys (50,000 across all systems); a key
older than that is forgotten, which real systems do after a retention window too.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Header
from fastapi.responses import Response
from pydantic import BaseModel

IDEMPOTENCY_CAP = 50_000

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=300,
        description="a repeated key returns the first answer and applies nothing twice",
    ),
]


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """The first answer to a key, kept serialised to stay small."""

    status: int
    body: bytes

    def response(self) -> Response:
        """The answer again, marked as a replay."""
        return Response(
            self.body,
            status_code=self.status,
            media_type="application/json",
            headers={"Idempotent-Replayed": "true"},
        )


class IdempotencyStore:
    """First answers by (system, key), bounded."""

    def __init__(self, cap: int = IDEMPOTENCY_CAP) -> None:
        self._cap = cap
        self._answers: OrderedDict[tuple[str, str], StoredResponse] = OrderedDict()

    def __len__(self) -> int:
        return len(self._answers)

    def run(
        self, system: str, key: str | None, apply: Callable[[], tuple[int, BaseModel]]
    ) -> Response:
        """The stored answer for ``key``, or ``apply()``'s answer (remembered if 2xx)."""
        if key is not None:
            stored = self._answers.get((system, key))
            if stored is not None:
                return stored.response()
        status, body = apply()
        encoded = body.model_dump_json().encode()
        if key is not None and 200 <= status < 300:
            self._answers[(system, key)] = StoredResponse(status, encoded)
            while len(self._answers) > self._cap:
                self._answers.popitem(last=False)
        return Response(encoded, status_code=status, media_type="application/json")
