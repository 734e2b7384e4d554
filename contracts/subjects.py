"""Where each event type goes on NATS: ``<prefix>.<area>.<event>``.

The collector's forwarder publishes by these subjects and the AsyncAPI document lists
them, so both come from here. ``io.threadline.eco.received.v1`` goes to
``threadline.eco.received`` (every version of a type shares its subject; the type says
which one a message is); types from outside the catalog go to
``threadline.external.<type>``, with each character a subject token may not hold as ``_``.
"""

from __future__ import annotations

import re

DEFAULT_PREFIX = "threadline"
CATALOG_PREFIX = "io.threadline."
EXTERNAL_AREA = "external"
CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
"""Every message is a structured-mode CloudEvent (the CloudEvents NATS binding)."""

_VERSION = re.compile(r"\.v[0-9]+$")
_NOT_A_TOKEN = re.compile(r"[^A-Za-z0-9_-]")


def subject_of(event_type: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The NATS subject of ``event_type``."""
    if event_type.startswith(CATALOG_PREFIX):
        area_event = _VERSION.sub("", event_type[len(CATALOG_PREFIX) :])
        tokens = [_NOT_A_TOKEN.sub("_", token) for token in area_event.split(".") if token]
        if len(tokens) >= 2:
            return ".".join([prefix, *tokens])
    return f"{prefix}.{EXTERNAL_AREA}.{_NOT_A_TOKEN.sub('_', event_type) or '_'}"


def stream_subjects(prefix: str = DEFAULT_PREFIX) -> list[str]:
    """The subjects a stream holding every event is created with."""
    return [f"{prefix}.>"]
