"""Logging set-up shared by every service: one line per record, secrets redacted."""

from __future__ import annotations

import logging
import re

_SECRET = re.compile(r"(?i)(bearer\s+|token[\"'=:\s]+|password[\"'=:\s]+)([^\s\"',;]+)")


class RedactSecrets(logging.Filter):
    """Masks bearer tokens and passwords that slip into a log message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _SECRET.sub(lambda m: m.group(1) + "***", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def configure(level: str = "INFO") -> None:
    """Configure the root logger once for a service process."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
    )
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
