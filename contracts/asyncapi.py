"""The AsyncAPI 3.0 document of Threadline's events, for integration teams' catalogs and
code generators.

It describes the collector's side of both interfaces: the HTTP channel it receives
CloudEvents on (``POST /events``) and the NATS JetStream subjects it publishes every
stored event to (:mod:`contracts.subjects`). Every catalog type is one message: a
structured-mode CloudEvent whose ``data`` references the type's JSON Schema, written next
to the document by :func:`contracts.schemas.export` (``<type>.json``). Each message names
its owner (the producers that may emit it, ``x-owner``), its version (``x-version``) and
whether it is deprecated (``x-deprecated``, and the type replacing it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from contracts.events import CATALOG, EventType
from contracts.subjects import (
    CATALOG_PREFIX,
    DEFAULT_PREFIX,
    EXTERNAL_AREA,
    stream_subjects,
    subject_of,
)

ASYNCAPI_FILE = "asyncapi.yaml"
ASYNCAPI_VERSION = "3.0.0"
STRUCTURED = "application/cloudevents+json"

# The CloudEvents 1.0 context attributes Threadline's producers set, as JSON Schema.
ENVELOPE: dict[str, Any] = {
    "type": "object",
    "description": "A CloudEvent 1.0 in the JSON event format (structured mode).",
    "required": ["specversion", "id", "source", "type"],
    "properties": {
        "specversion": {"type": "string", "const": "1.0"},
        "id": {"type": "string", "minLength": 1},
        "source": {"type": "string", "format": "uri-reference", "minLength": 1},
        "type": {"type": "string", "minLength": 1},
        "time": {"type": "string", "format": "date-time"},
        "subject": {"type": "string", "description": "The ECO number, or <plant>/<item>."},
        "datacontenttype": {"type": "string"},
        "dataschema": {"type": "string", "format": "uri"},
        "correlationid": {"type": "string", "description": "The ECO the event belongs to."},
        "causationid": {"type": "string"},
        "traceparent": {
            "type": "string",
            "description": "W3C trace context (CloudEvents distributed tracing extension).",
        },
        "sequence": {"type": "string", "description": "The producer's per-source order."},
        "data": {},
    },
}


@dataclass(frozen=True)
class Servers:
    """Where the collector and the NATS server are (``threadline`` settings by default)."""

    collector_url: str = "http://127.0.0.1:8088"
    nats_url: str = "nats://127.0.0.1:4222"
    stream: str = "THREADLINE"
    subject_prefix: str = DEFAULT_PREFIX


def document(servers: Servers | None = None) -> dict[str, Any]:
    """The AsyncAPI 3.0 document, as a ``dict`` ready for YAML or JSON."""
    servers = servers or Servers()
    entries = [CATALOG[name] for name in sorted(CATALOG)]
    messages = {entry.type: _message(entry) for entry in entries}
    messages["external"] = _external_message()
    subjects: dict[str, list[str]] = {}
    for entry in entries:
        subjects.setdefault(subject_of(entry.type, servers.subject_prefix), []).append(entry.type)
    channels: dict[str, Any] = {"collector": _collector_channel(entries)}
    operations: dict[str, Any] = {"receiveEvents": _receive_operation(entries)}
    for subject, types in subjects.items():
        key = _channel_key(subject, servers.subject_prefix)
        channels[key] = {
            "address": subject,
            "title": subject,
            "description": f"Every stored event of {_types_phrase(types)}, in store order.",
            "servers": [{"$ref": "#/servers/jetstream"}],
            "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in types},
        }
        operations[f"publish.{key}"] = _publish_operation(key, types)
    external = f"{servers.subject_prefix}.{EXTERNAL_AREA}.{{type}}"
    channels["external"] = {
        "address": external,
        "title": external,
        "description": "Stored events whose type is not in the catalog (a producer's own).",
        "servers": [{"$ref": "#/servers/jetstream"}],
        "parameters": {
            "type": {"description": "The event's type, each '.' and other non-token '_'."}
        },
        "messages": {"external": {"$ref": "#/components/messages/external"}},
    }
    operations["publish.external"] = _publish_operation("external", ["external"])
    subjects_of_stream = stream_subjects(servers.subject_prefix)
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "id": "urn:threadline:events",
        "info": {
            "title": "Threadline events",
            "version": "1.0.0",
            "description": (
                "CloudEvents that Threadline's sync engine emits while it propagates "
                "engineering change orders to ERP, MES and procurement. Producers POST "
                "them to the collector; the collector stores each once and publishes "
                "every stored event, in store order and at least once, to the JetStream "
                f"stream {servers.stream} (subjects {', '.join(subjects_of_stream)}), "
                "with Nats-Msg-Id = <source>#<id> for de-duplication."
            ),
        },
        "defaultContentType": STRUCTURED,
        "servers": {
            "collector": _server(servers.collector_url, "http", "The CloudEvents collector."),
            "jetstream": _server(
                servers.nats_url, "nats", f"NATS JetStream, stream {servers.stream}."
            ),
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": {"CloudEvent": ENVELOPE},
            "securitySchemes": {
                "producerToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A producer's token (THREADLINE_COLLECTOR_TOKENS).",
                }
            },
        },
    }


def write(directory: Path, servers: Servers | None = None) -> Path:
    """Write ``asyncapi.yaml`` into ``directory`` (beside the schemas it references)."""
    path = directory / ASYNCAPI_FILE
    text = yaml.safe_dump(document(servers), sort_keys=False, allow_unicode=True, width=100)
    path.write_text(text, encoding="utf-8")
    return path


def _server(url: str, protocol: str, description: str) -> dict[str, Any]:
    parts = urlsplit(url)
    server: dict[str, Any] = {
        "host": parts.netloc or url,
        "protocol": protocol,
        "description": description,
    }
    if parts.path.strip("/"):
        server["pathname"] = parts.path.rstrip("/")
    if protocol == "http":
        server["security"] = [{"$ref": "#/components/securitySchemes/producerToken"}]
    return server


def _message(entry: EventType) -> dict[str, Any]:
    owners = sorted(entry.producers)
    deprecated = entry.deprecated_by is not None
    description = f"{entry.model.__doc__ or entry.description} Emitted by {', '.join(owners)}."
    if deprecated:
        description += f" Deprecated: producers emit {entry.deprecated_by} instead."
    message: dict[str, Any] = {
        "name": entry.type,
        "title": entry.description,
        "summary": entry.description,
        "description": description,
        "contentType": STRUCTURED,
        "payload": {
            "allOf": [
                {"$ref": "#/components/schemas/CloudEvent"},
                {
                    "type": "object",
                    "deprecated": deprecated,
                    "properties": {
                        "type": {"const": entry.type},
                        "dataschema": {"const": entry.dataschema},
                        "data": {"$ref": f"./{entry.type}.json"},
                    },
                },
            ]
        },
        "tags": [{"name": f"owner:{owner}"} for owner in owners]
        + [{"name": f"area:{_area(entry.type)}"}],
        "x-owner": owners,
        "x-version": entry.version,
        "x-deprecated": deprecated,
    }
    if deprecated:
        message["x-deprecated-by"] = entry.deprecated_by
        message["tags"].append({"name": "deprecated"})
    return message


def _external_message() -> dict[str, Any]:
    return {
        "name": "external",
        "title": "A producer's own event",
        "summary": "An event of a type outside the catalog, stored and forwarded as sent.",
        "contentType": STRUCTURED,
        "payload": {"$ref": "#/components/schemas/CloudEvent"},
        "x-owner": ["any producer whose token grants the type"],
        "x-deprecated": False,
    }


def _collector_channel(entries: list[EventType]) -> dict[str, Any]:
    messages = {e.type: {"$ref": f"#/components/messages/{e.type}"} for e in entries}
    messages["external"] = {"$ref": "#/components/messages/external"}
    return {
        "address": "/events",
        "title": "POST /events",
        "description": (
            "The collector's receiver: CloudEvents 1.0 in structured, batched "
            "(application/cloudevents-batch+json) or binary (ce-* headers) mode, answered "
            "202 after the commit. A catalog type is accepted only from its owner."
        ),
        "servers": [{"$ref": "#/servers/collector"}],
        "messages": messages,
    }


def _receive_operation(entries: list[EventType]) -> dict[str, Any]:
    refs = [{"$ref": f"#/channels/collector/messages/{e.type}"} for e in entries]
    refs.append({"$ref": "#/channels/collector/messages/external"})
    return {
        "action": "receive",
        "title": "Store events",
        "summary": "Producers post CloudEvents; each is stored once (source + id).",
        "channel": {"$ref": "#/channels/collector"},
        "messages": refs,
        "bindings": {"http": {"method": "POST", "bindingVersion": "0.3.0"}},
    }


def _publish_operation(key: str, names: list[str]) -> dict[str, Any]:
    return {
        "action": "send",
        "title": f"Forward to {key}",
        "summary": "Every stored event of these types, in store order, at least once.",
        "channel": {"$ref": f"#/channels/{key}"},
        "messages": [{"$ref": f"#/channels/{key}/messages/{name}"} for name in names],
    }


def _channel_key(subject: str, prefix: str) -> str:
    return subject[len(prefix) + 1 :] if subject.startswith(prefix + ".") else subject


def _area(event_type: str) -> str:
    return event_type[len(CATALOG_PREFIX) :].split(".", 1)[0]


def _types_phrase(types: list[str]) -> str:
    return " and ".join(types)
