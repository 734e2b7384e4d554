"""The ledger: every change a simulated system actually applied, in order.

Tests read it to prove exactly-once effects and ordering. It keeps the newest
``LEDGER_CAP`` entries (100,000); older ones are dropped and counted, so memory stays flat
however long the simulators run. Each entry keeps the W3C ``traceparent`` of the request
that made the change (:data:`received_traceparent`, set per request by the app), so a
change can be followed back to the ECO's trace.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any

from simulators.clock import rfc3339

LEDGER_CAP = 100_000

received_traceparent: ContextVar[str | None] = ContextVar("received_traceparent", default=None)
"""The ``traceparent`` of what is being served (``None`` outside a request)."""


@contextlib.contextmanager
def caused_by(traceparent: str | None) -> Iterator[None]:
    """Entries appended in the block carry ``traceparent``: the request's, or that of the
    request whose change comes due later (an ERP confirmation)."""
    token = received_traceparent.set(traceparent)
    try:
        yield
    finally:
        received_traceparent.reset(token)


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One applied change."""

    seq: int
    system: str
    operation: str
    idempotency_key: str | None
    at: datetime
    plant: str | None = None
    item: str | None = None
    revision: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    traceparent: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The entry as the admin API shows it."""
        return {
            "seq": self.seq,
            "system": self.system,
            "operation": self.operation,
            "idempotency_key": self.idempotency_key,
            "plant": self.plant,
            "item": self.item,
            "revision": self.revision,
            "at": rfc3339(self.at),
            "traceparent": self.traceparent,
            **self.details,
        }


class Ledger:
    """An append-only, capped list of applied changes with gap-free sequence numbers."""

    def __init__(self, cap: int = LEDGER_CAP) -> None:
        self._entries: deque[LedgerEntry] = deque(maxlen=cap)
        self._last_seq = 0

    @property
    def dropped(self) -> int:
        """How many of the oldest entries were dropped to respect the cap."""
        return self._last_seq - len(self._entries)

    @property
    def last_seq(self) -> int:
        """The sequence number of the newest entry (0 when empty)."""
        return self._last_seq

    def append(
        self,
        system: str,
        operation: str,
        idempotency_key: str | None,
        at: datetime,
        *,
        plant: str | None = None,
        item: str | None = None,
        revision: str | None = None,
        **details: Any,
    ) -> LedgerEntry:
        """Record one applied change (with the current request's ``traceparent``)."""
        self._last_seq += 1
        entry = LedgerEntry(
            self._last_seq,
            system,
            operation,
            idempotency_key,
            at,
            plant,
            item,
            revision,
            details,
            received_traceparent.get(),
        )
        self._entries.append(entry)
        return entry

    def after(
        self, seq: int = 0, *, system: str | None = None, limit: int | None = None
    ) -> list[LedgerEntry]:
        """Entries with a sequence number above ``seq``, oldest first."""
        first = self._last_seq - len(self._entries) + 1
        start = max(0, seq + 1 - first)
        selected = (
            e for e in islice(self._entries, start, None) if system is None or e.system == system
        )
        return list(islice(selected, limit))
