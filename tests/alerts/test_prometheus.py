"""The shipped Prometheus alerting rules: valid for ``promtool`` (CI installs Debian's
prometheus package; there a missing promtool fails the test), over the gauges the engine
serves, and equivalent to the shipped alert rules."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerts.gauges import BusinessGauges
from alerts.rules import RuleKind, load_rules
from sync_engine.metrics import Metrics
from tests.conftest import IN_CI

RULES_FILE = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "threadline-rules.yml"
ALERT_OF = {
    RuleKind.OVERDUE: "ThreadlineWorkOverdue",
    RuleKind.PLANT_BLOCKED: "ThreadlinePlantBlocked",
    RuleKind.DEAD_LETTERS: "ThreadlineDeadLetters",
    RuleKind.FAILED_NOTICES: "ThreadlineFailedSupplierNotices",
    RuleKind.DRIFT: "ThreadlineDrift",
    RuleKind.AT_RISK: "ThreadlineEcoAtRisk",
    RuleKind.OUTBOX_BEHIND: "ThreadlineOutboxBehind",
    RuleKind.HEARTBEAT: "ThreadlineEngineHeartbeat",
}
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _alerts() -> dict[str, dict[str, Any]]:
    document = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    return {rule["alert"]: rule for group in document["groups"] for rule in group["rules"]}


def _seconds(text: str) -> float:
    return float(text[:-1]) * _UNITS[text[-1]]


def test_promtool_accepts_the_rules() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        message = "promtool is missing: install Debian's prometheus package"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    done = subprocess.run(
        [promtool, "check", "rules", str(RULES_FILE)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(_alerts())} rules found" in done.stdout


def test_every_metric_the_rules_read_is_served_by_the_engine() -> None:
    metrics = Metrics()
    BusinessGauges(metrics.registry)
    served = {m.name for m in metrics.registry.collect()}
    used = {
        name
        for rule in _alerts().values()
        for name in re.findall(r"\b(threadline_[a-z_]+)", rule["expr"])
    }
    assert used and used <= served


def test_the_rules_are_the_shipped_defaults() -> None:
    alerts = _alerts()
    for rule in load_rules().active():
        alert = alerts[ALERT_OF[rule.kind]]
        expr = alert["expr"]
        if rule.longer_than is None:
            assert expr.endswith(f">= {rule.at_least}"), (rule.name, expr)
            assert "for" not in alert
        elif "for" in alert:
            assert _seconds(alert["for"]) == rule.longer_than, rule.name
            assert expr.endswith("> 0")
        else:
            assert expr.endswith(f"> {rule.longer_than:g}"), (rule.name, expr)
