from __future__ import annotations

import re
from pathlib import Path

from threadline.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_configuration_table_names_every_setting() -> None:
    text = README.read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `((?:THREADLINE|OTEL)_[A-Z_]+)` \|", text, re.M))
    # A standard variable read under its own name (OTEL_EXPORTER_OTLP_ENDPOINT) is an alias.
    expected = {
        str(field.validation_alias or f"THREADLINE_{name.upper()}")
        for name, field in Settings.model_fields.items()
    }
    assert expected - documented == set(), "settings missing from the README"
    assert documented - expected == set(), "the README documents settings that do not exist"


def test_the_quick_start_is_two_commands_running_the_product_and_the_tests() -> None:
    text = README.read_text(encoding="utf-8")
    quick_start = text.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line for line in quick_start.strip().splitlines() if line.strip()]
    assert len(commands) == 2
    assert "threadline up" in commands[0]
    assert "pytest" in commands[1]
