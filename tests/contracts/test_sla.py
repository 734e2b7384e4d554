"""SLA files: the shipped defaults, overrides by family, plant, supplier and step kind, and
bad files refused with the line that is wrong."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from contracts.sla import (
    DEFAULT_LIMITS,
    SlaFileError,
    SlaState,
    Stage,
    load_sla,
    parse_sla,
    stage_of,
)
from contracts.steps import StepKind, StepState
from tests.threadline.test_supervisor import free_port
from threadline.cli import app
from threadline.settings import get_settings
from threadline.sla import SHIPPED_SLA_FILE
from threadline.up import Up, UpOptions

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)

OVERRIDDEN = """
due_soon = 0.5

[defaults]
retrying = "20m"
eco = "2d"

[defaults.kinds."erp.routing"]
retrying = "15m"

[families.PUMPS]
eco = "3d"
retrying = "25m"

[plants.P100]
erp_confirmation = "10m"
retrying = 600

[plants.P100.kinds."erp.routing"]
retrying = "5m"

[suppliers.S010]
supplier_notice = "4h"
"""


def test_the_shipped_file_states_the_built_in_defaults() -> None:
    policy = load_sla(SHIPPED_SLA_FILE)
    assert policy.defaults == DEFAULT_LIMITS
    assert policy.due_soon == 0.8
    assert policy.seconds(Stage.ERP_CONFIRMATION, plant="P100") == 900


def test_the_most_specific_limit_wins() -> None:
    policy = parse_sla(OVERRIDDEN)
    routing = StepKind.ERP_ROUTING.value
    bom = StepKind.ERP_BOM.value
    assert policy.seconds(Stage.RETRYING, kind=bom) == 1200
    assert policy.seconds(Stage.RETRYING, kind=routing) == 900
    assert policy.seconds(Stage.RETRYING, kind=bom, family="PUMPS") == 1500
    assert policy.seconds(Stage.RETRYING, kind=bom, plant="P100", family="PUMPS") == 600
    assert policy.seconds(Stage.RETRYING, kind=routing, plant="P100") == 300
    # P200 sets nothing of its own: the default for the kind.
    assert policy.seconds(Stage.RETRYING, kind=routing, plant="P200") == 900
    assert policy.seconds(Stage.ECO, family="PUMPS") == 3 * 86400
    assert policy.seconds(Stage.ECO, family="VALVES") == 2 * 86400
    assert policy.seconds(Stage.SUPPLIER_NOTICE, supplier="S010") == 4 * 3600
    assert policy.seconds(Stage.SUPPLIER_NOTICE, supplier="S011") == 3600
    assert policy.seconds(Stage.PLANNING) == DEFAULT_LIMITS.stages[Stage.PLANNING]


def test_due_soon_and_overdue_follow_the_share_of_the_sla_used() -> None:
    policy = parse_sla(OVERRIDDEN)
    due = T0 + timedelta(minutes=10)
    assert policy.state(T0, due, T0 + timedelta(minutes=4)) is SlaState.ON_TIME
    assert policy.state(T0, due, T0 + timedelta(minutes=5)) is SlaState.DUE_SOON
    assert policy.state(T0, due, due) is SlaState.DUE_SOON
    assert policy.state(T0, due, due + timedelta(seconds=1)) is SlaState.OVERDUE


@pytest.mark.parametrize(
    ("state", "attempt", "held", "kind", "stage"),
    [
        (StepState.PENDING, 0, False, StepKind.ERP_BOM, Stage.PENDING),
        (StepState.RUNNING, 1, False, StepKind.ERP_BOM, Stage.RUNNING),
        (StepState.RETRYING, 1, False, StepKind.ERP_BOM, Stage.RETRYING),
        (StepState.RUNNING, 2, False, StepKind.ERP_BOM, Stage.RETRYING),
        (StepState.PENDING, 2, False, StepKind.ERP_BOM, Stage.RETRYING),
        (StepState.WAITING, 0, True, StepKind.ERP_BOM, Stage.WAITING),
        (StepState.WAITING, 0, False, StepKind.ERP_BOM, None),
        (
            StepState.AWAITING_CONFIRMATION,
            1,
            False,
            StepKind.ERP_CONFIRMATION,
            Stage.ERP_CONFIRMATION,
        ),
        (StepState.RETRYING, 3, False, StepKind.SUPPLIER_NOTICE, Stage.SUPPLIER_NOTICE),
        (StepState.BLOCKED, 1, False, StepKind.ERP_ROUTING, None),
        (StepState.SUCCEEDED, 1, False, StepKind.ERP_ROUTING, None),
    ],
)
def test_a_steps_stage_follows_its_state_and_attempts(
    state: StepState, attempt: int, held: bool, kind: StepKind, stage: Stage | None
) -> None:
    assert stage_of(kind.value, state.value, attempt, held=held) is stage


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ('[defaults]\npending = "10m"\nrunning = "ten minutes"\n', 3, "is not a duration"),
        ('[defaults]\npending = "10m"\n\n[plants.P100]\nlunch = "1h"\n', 5, "unknown stage"),
        ('[defaults.kinds."erp.bomb"]\nretrying = "5m"\n', 1, "unknown step kind"),
        ('[defaults.kinds."erp.bom"]\neco = "5m"\n', 2, "unknown stage 'eco'"),
        ("due_soon = 0.8\n[defaults]\npending = -5\n", 3, "not a positive duration"),
        ("due_soon = 1.5\n", 1, "due_soon must be a share"),
        ('[default]\npending = "10m"\n', 1, "unknown setting 'default'"),
        ('[defaults]\npending = "10m"\npending = "5m"\n', 3, "not valid TOML"),
        ('[defaults]\nrunning = "5m"\n[plants]\nP100 = "5m"\n', 4, "plants.P100 must be a table"),
    ],
)
def test_a_bad_file_is_refused_naming_file_line_and_problem(
    tmp_path: Path, text: str, line: int, problem: str
) -> None:
    path = tmp_path / "sla.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SlaFileError) as caught:
        load_sla(path)
    assert caught.value.line == line
    assert problem in caught.value.problem
    assert str(caught.value).startswith(f"{path}, line {line}: ")


def test_a_missing_file_is_named() -> None:
    with pytest.raises(SlaFileError, match=r"nowhere\.toml: cannot be read"):
        load_sla("/nowhere.toml")


@pytest.fixture
def bad_sla_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "sla.toml"
    path.write_text('[defaults]\npending = "10m"\nretrying = "soon"\n', encoding="utf-8")
    monkeypatch.setenv("THREADLINE_SLA_FILE", str(path))
    monkeypatch.setenv("THREADLINE_DATABASE_URL", f"sqlite+pysqlite:///{tmp_path / 'x.db'}")
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


@pytest.mark.parametrize("command", [["engine", "run"], ["collector", "serve", "--port", "0"]])
def test_a_service_does_not_start_on_a_bad_sla_file(bad_sla_file: Path, command: list[str]) -> None:
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 2
    assert f"{bad_sla_file}, line 3: " in result.output
    assert "'soon' is not a duration" in result.output


def test_threadline_up_stops_before_starting_anything_on_a_bad_sla_file(
    bad_sla_file: Path, tmp_path: Path
) -> None:
    ports = [free_port() for _ in range(4)]
    options = UpOptions(
        database_url=f"sqlite+pysqlite:///{tmp_path / 'up.db'}",
        simulators_port=ports[0],
        collector_port=ports[1],
        console_port=ports[2],
        metrics_port=ports[3],
    )
    out = io.StringIO()
    assert Up(options, tmp_path, out=out).run() == 2
    assert f"error: {bad_sla_file}, line 3: " in out.getvalue()
    assert not (tmp_path / "up.db").exists()
