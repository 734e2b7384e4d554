"""Alert rules as data: the shipped defaults, and a bad file stopping the service at start
with the file, the line and the problem."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from alerts.rules import DEFAULTS_FILE, AlertRulesError, RuleKind, load_rules, parse_rules

GOOD = """\
[alerts]
reminder_every = "2h"

[[rule]]
name = "blocked"
kind = "plant_blocked"
longer_than = "45m"
"""


def test_the_shipped_defaults_cover_every_kind() -> None:
    rules = load_rules()
    assert {rule.kind for rule in rules.active()} == set(RuleKind)
    assert rules.source == str(DEFAULTS_FILE)


def test_durations_read_as_people_write_them() -> None:
    rules = parse_rules(GOOD, "rules.toml")
    assert rules.reminder_every == 7200
    assert rules.rules[0].longer_than == 2700


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (GOOD.replace('"plant_blocked"', '"plant_stuck"'), "rules.toml:6: rule 'blocked': kind: "),
        (GOOD.replace('longer_than = "45m"', 'longer_than = "soon"'), "rules.toml:7: rule"),
        (GOOD.replace('longer_than = "45m"', ""), "rules.toml:4: rule 'blocked': a plant_blocked"),
        (GOOD + "colour = 'red'\n", "rules.toml:8: rule 'blocked': colour: is not a known"),
        (GOOD.replace('"2h"', '"two hours"'), "rules.toml:2: [alerts] reminder_every: "),
        (GOOD.replace('name = "blocked"', 'name = "blocked'), "rules.toml:5: not valid TOML"),
        (GOOD + GOOD.split("\n\n", 1)[1], "rules.toml:8: the rule name 'blocked' is used twice"),
        (
            GOOD.replace('kind = "plant_blocked"', 'kind = "overdue"\nstage = "lunch"'),
            "rules.toml:7: rule 'blocked': stage: must be one of",
        ),
    ],
)
def test_a_bad_file_names_the_line_and_the_problem(text: str, said: str) -> None:
    with pytest.raises(AlertRulesError) as raised:
        parse_rules(text, "rules.toml")
    assert str(raised.value).startswith(said), str(raised.value)


def test_a_missing_file_is_named() -> None:
    with pytest.raises(AlertRulesError, match=r"nowhere\.toml: cannot be read"):
        load_rules(Path("nowhere.toml"))


def test_the_engine_refuses_to_start_with_a_bad_rules_file(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(GOOD.replace('"45m"', '"-"'), encoding="utf-8")
    env = os.environ | {
        "THREADLINE_ALERT_RULES_FILE": str(rules),
        "THREADLINE_DATABASE_URL": f"sqlite+pysqlite:///{tmp_path / 'threadline.db'}",
    }
    done = subprocess.run(
        [sys.executable, "-m", "threadline", "engine", "run", "--metrics-port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert f"error: {rules}:7: rule 'blocked': longer_than:" in done.stderr
    assert "Traceback" not in done.stderr


def test_up_refuses_to_start_with_a_bad_rules_file(tmp_path: Path) -> None:
    from simulators.testing import free_port

    rules = tmp_path / "rules.toml"
    rules.write_text(GOOD.replace('"plant_blocked"', '"plant_stuck"'), encoding="utf-8")
    ports = []
    for option in ("simulators", "collector", "console", "metrics"):
        ports += [f"--{option}-port", str(free_port())]
    done = subprocess.run(
        [sys.executable, "-m", "threadline", "up", "--history", "0", *ports],
        env=os.environ | {"THREADLINE_ALERT_RULES_FILE": str(rules)},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert f"error: {rules}:6: rule 'blocked': kind: must be one of" in done.stdout
    assert not (tmp_path / "threadline.db").exists(), "stopped before touching the database"
