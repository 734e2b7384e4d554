"""The AsyncAPI document ``threadline contracts export`` writes, checked by the official
AsyncAPI parser (``@asyncapi/parser`` under the machine's Node.js, ``npm ci``)."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from contracts import asyncapi
from contracts.events import CATALOG
from contracts.subjects import subject_of
from tests.conftest import IN_CI
from threadline.cli import app

ROOT = Path(__file__).resolve().parents[2]
VALIDATOR = ROOT / "scripts" / "asyncapi-validate.mjs"
PARSER = ROOT / "node_modules" / "@asyncapi" / "parser"


def node() -> str:
    """The Node.js binary with the parser installed; a skip (a failure in CI) without."""
    binary = shutil.which("node")
    missing = None
    if binary is None:
        missing = "Node.js (node) is not on PATH"
    elif not PARSER.is_dir():
        missing = f"@asyncapi/parser is not installed: run `npm ci` in {ROOT}"
    if missing is not None:
        if IN_CI:
            pytest.fail(missing, pytrace=False)
        pytest.skip(missing)
    assert binary is not None
    return binary


def validate(document: Path) -> tuple[int, dict[str, Any]]:
    result = subprocess.run(
        [node(), str(VALIDATOR), str(document)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout)


@pytest.fixture
def exported(tmp_path: Path) -> Path:
    result = CliRunner().invoke(app, ["contracts", "export", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "asyncapi.yaml" in result.output
    return tmp_path / "out"


def test_the_official_parser_accepts_the_export_as_asyncapi_3(exported: Path) -> None:
    code, report = validate(exported / "asyncapi.yaml")
    assert report["errors"] == [], report["errors"]
    assert code == 0
    assert report["version"] == "3.0.0"


def test_the_parser_refuses_a_document_whose_schemas_are_missing(exported: Path) -> None:
    (exported / "io.threadline.eco.received.v1.json").unlink()
    code, report = validate(exported / "asyncapi.yaml")
    assert code == 1
    assert any("io.threadline.eco.received.v1" in e["path"] for e in report["errors"])


def test_every_catalog_type_is_a_message_referencing_its_schema(exported: Path) -> None:
    document = yaml.safe_load((exported / "asyncapi.yaml").read_text(encoding="utf-8"))
    messages = document["components"]["messages"]
    for event_type, entry in CATALOG.items():
        message = messages[event_type]
        envelope, specific = message["payload"]["allOf"]
        assert envelope == {"$ref": "#/components/schemas/CloudEvent"}
        reference = specific["properties"]["data"]["$ref"]
        schema = json.loads((exported / reference).read_text(encoding="utf-8"))
        assert schema["$id"] == entry.dataschema
        assert specific["properties"]["type"] == {"const": event_type}
        assert message["x-owner"] == sorted(entry.producers)
        assert message["x-version"] == int(event_type.rsplit(".v", 1)[1])
        assert message["x-deprecated"] is False
        assert specific["deprecated"] is False


def test_channels_are_the_collector_and_the_subjects_the_forwarder_publishes_to(
    exported: Path,
) -> None:
    document = yaml.safe_load((exported / "asyncapi.yaml").read_text(encoding="utf-8"))
    channels = document["channels"]
    assert channels["collector"]["address"] == "/events"
    assert set(channels["collector"]["messages"]) == {*CATALOG, "external"}
    nats = {
        channel["address"]: set(channel["messages"])
        for channel in channels.values()
        if channel["servers"] == [{"$ref": "#/servers/jetstream"}]
    }
    expected: dict[str, set[str]] = {"threadline.external.{type}": {"external"}}
    for event_type in CATALOG:
        expected.setdefault(subject_of(event_type), set()).add(event_type)
    assert nats == expected
    assert document["servers"]["collector"] == {
        "host": "127.0.0.1:8088",
        "protocol": "http",
        "description": "The CloudEvents collector.",
        "security": [{"$ref": "#/components/securitySchemes/producerToken"}],
    }
    assert document["servers"]["jetstream"]["protocol"] == "nats"
    sends = [op for op in document["operations"].values() if op["action"] == "send"]
    assert len(sends) == len(expected)


def test_a_deprecated_type_says_what_replaces_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = CATALOG["io.threadline.eco.rejected.v1"]
    monkeypatch.setitem(
        CATALOG, old.type, replace(old, deprecated_by="io.threadline.eco.rejected.v2")
    )
    message = asyncapi.document()["components"]["messages"][old.type]
    assert message["x-deprecated"] is True
    assert message["x-deprecated-by"] == "io.threadline.eco.rejected.v2"
    assert message["payload"]["allOf"][1]["deprecated"] is True
    assert {"name": "deprecated"} in message["tags"]


def test_deprecations_name_catalog_types() -> None:
    for entry in CATALOG.values():
        assert entry.deprecated_by is None or entry.deprecated_by in CATALOG, entry.type
