"""JSON Schema export of the event catalog."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from contracts.events import CATALOG, EventType

INDEX_FILE = "index.json"


def schema_of(entry: EventType) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one event type's ``data``."""
    schema = entry.model.model_json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": entry.dataschema,
        "title": entry.type,
        "description": entry.description,
        **{k: v for k, v in schema.items() if k not in ("title", "description")},
    }


def catalog_schemas() -> dict[str, dict[str, Any]]:
    """Every catalog type's schema, by type."""
    return {event_type: schema_of(entry) for event_type, entry in sorted(CATALOG.items())}


def export(directory: Path) -> list[Path]:
    """Write ``<type>.json`` for every catalog type and an ``index.json``; return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    index = []
    for event_type, schema in catalog_schemas().items():
        path = directory / f"{event_type}.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)
        index.append(
            {
                "type": event_type,
                "file": path.name,
                "dataschema": schema["$id"],
                "description": schema["description"],
            }
        )
    index_path = directory / INDEX_FILE
    index_path.write_text(
        json.dumps({"types": index}, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    written.append(index_path)
    return written
