"""Logging set-up shared by every service: one line per record, secrets redacted.

``text`` writes a readable line; ``json`` one JSON object per line (``time``, ``level``,
``logger``, ``message`` and, when the record names them, ``eco``, ``step``, ``plant``,
``supplier`` and ``trace_id``; the current span's trace id otherwise). Business records
pass those fields with ``extra=fields(...)``. HTTP chatter (``httpx``, ``httpcore``,
uvicorn's access lines) is logged at DEBUG, so at INFO the log says what happened to ECOs.
Bearer tokens, passwords, cookies and ``Authorization`` values are masked in messages and
tracebacks alike.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

import orjson

from threadline import tracing

_SECRET = re.compile(
    r"(?i)((?:proxy-)?authorization[\"'=:\s]+(?:[a-z]+\s+)?|bearer\s+|basic\s+"
    r"|(?:token|password|secret)[\"'=:\s]+)([^\s\"',;]+)"
)
_COOKIE = re.compile(r"(?i)((?:set-)?cookie[\"'=:\s]+)([^\r\n\"']+)")

FIELDS = ("eco", "step", "plant", "supplier", "trace_id")
"""The business fields a record may carry, in the order JSON shows them."""

CHATTY = ("httpx", "httpcore", "uvicorn.access")
"""Loggers whose INFO lines are request-by-request noise: they are logged at DEBUG."""


def redact(text: str) -> str:
    """``text`` with bearer tokens, passwords, cookies and authorization values masked."""
    masked = _SECRET.sub(lambda m: m.group(1) + "***", text)
    return _COOKIE.sub(lambda m: m.group(1) + "***", masked)


def fields(**values: str | None) -> dict[str, str]:
    """The ``extra`` of a business record: the given :data:`FIELDS` that have a value."""
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise ValueError(f"not a log field: {', '.join(sorted(unknown))}")
    return {name: value for name, value in values.items() if value is not None}


class RedactSecrets(logging.Filter):
    """Masks bearer tokens and passwords that slip into a log message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class DemoteChatter(logging.Filter):
    """Logs the :data:`CHATTY` loggers' records at DEBUG (dropped below ``threshold``)."""

    def __init__(self, threshold: int) -> None:
        super().__init__()
        self.threshold = threshold

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO and record.name.startswith(CHATTY):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return record.levelno >= self.threshold


class TextFormatter(logging.Formatter):
    """``12:04:31 INFO sync_engine.store.steps: message``; tracebacks redacted."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")

    def formatException(self, ei: Any) -> str:
        return redact(super().formatException(ei))


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = str(value)
        if "trace_id" not in entry:
            current = tracing.current_trace_id()
            if current is not None:
                entry["trace_id"] = current
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return orjson.dumps(entry).decode()


def configure(level: str = "INFO", log_format: str = "text") -> None:
    """Configure the root logger once for a service process (``text`` or ``json``)."""
    if log_format not in ("text", "json"):
        raise ValueError(f"log format {log_format!r}: use text or json")
    threshold = logging.getLevelName(level.upper())
    if not isinstance(threshold, int):
        raise ValueError(f"log level {level!r}: use DEBUG, INFO, WARNING or ERROR")
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(RedactSecrets())
    handler.addFilter(DemoteChatter(threshold))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(threshold)
    logging.captureWarnings(True)  # a warning is a record too, not a stray stderr line
