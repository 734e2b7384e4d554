"""Notification targets: Apprise URLs, and delivering one message to one of them.

A target is known by a digest of its URL and shown by a label that keeps only the
scheme and host with any password masked: Apprise URLs carry tokens and passwords, so
neither the URL nor Apprise's own debug output (which prints query strings) reaches a
log or the database. A delivery's error is Apprise's warning for that call, scrubbed of
the URL's parts.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

import apprise
from pydantic import SecretStr

# Apprise and urllib3 log request URLs (with their tokens) at debug level.
logging.getLogger("apprise").setLevel(logging.WARNING)
logging.getLogger("urllib3").setLevel(logging.WARNING)

_SEPARATORS = re.compile(r"[,\s]+")


class AlertTargetError(ValueError):
    """A configured alert URL Apprise cannot use (named by position, never by content)."""


@dataclass(frozen=True)
class Target:
    """One Apprise URL to notify."""

    id: str
    label: str
    url: SecretStr


def target(url: str) -> Target:
    """The target of one Apprise URL (raises :class:`AlertTargetError` if unusable)."""
    plugin = apprise.Apprise.instantiate(url)
    scheme = url.split("://", 1)[0] if "://" in url else "?"
    if plugin is None:
        raise AlertTargetError(
            f"{scheme}://… cannot be used: Apprise does not know the service or the URL "
            "is malformed"
        )
    return Target(
        id=hashlib.sha256(url.encode()).hexdigest()[:16],
        label=_label(str(plugin.url(privacy=True)), str(plugin.service_name)),  # type: ignore[no-untyped-call]
        url=SecretStr(url),
    )


def targets(text: str | None) -> tuple[Target, ...]:
    """The targets of ``THREADLINE_ALERT_URLS`` (comma or space separated)."""
    found: list[Target] = []
    for position, url in enumerate(u for u in _SEPARATORS.split(text or "") if u):
        try:
            found.append(target(url))
        except AlertTargetError as exc:
            raise AlertTargetError(f"THREADLINE_ALERT_URLS entry {position + 1}: {exc}") from exc
    return tuple(found)


def _label(private_url: str, service: str) -> str:
    parts = urlsplit(private_url)
    return f"{service} ({parts.scheme}://{parts.netloc})"


def _scrub(text: str, url: str) -> str:
    parts = urlsplit(url)
    secrets = {url, parts.password or "", parts.username or "", parts.query}
    secrets |= {value for _, value in parse_qsl(parts.query)}
    secrets |= {segment for segment in parts.path.split("/") if len(segment) >= 6}
    for secret in sorted((s for s in secrets if len(s) >= 3), key=len, reverse=True):
        text = text.replace(secret, "…")
    return text


def send(to: Target, title: str, body: str) -> str | None:
    """Deliver one message to ``to``: ``None`` when it was accepted, else why not."""
    url = to.url.get_secret_value()
    app = apprise.Apprise()
    app.add(url)
    try:
        with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:  # type: ignore[no-untyped-call]
            accepted = bool(app.notify(title=title, body=body))
        said = captured.getvalue().strip()
    except Exception as exc:  # a plugin bug must not stop the engine
        return _scrub(f"{type(exc).__name__}: {exc}", url)
    if accepted:
        return None
    return _scrub(said.splitlines()[-1] if said else "the target did not accept the message", url)
